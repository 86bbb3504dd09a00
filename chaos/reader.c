/* What an attempt reads: tokens counted and traced, the action fired within the chunk that
 * reaches its trigger. */
#include "reader.h"

#include <stdint.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "attempt.h"
#include "clock.h"
#include "task.h"
#include "trigger.h"
#include "unframe.h"

/* Notes the arrival of tokens counted since the last call (one time per chunk). */
static void trace(struct xfer *x)
{
    uint32_t us = (uint32_t)((clock_now_ns() - x->rec.t_send_ns) / 1000);
    while (x->rec.ntrace < x->sc.tokens && x->rec.ntrace < CHAOS_TRACE_MAX) {
        if (x->rec.ntrace == x->trace_cap) {
            /* sized to what arrives: a record costs 4 bytes per token it traces */
            uint32_t cap = x->trace_cap ? x->trace_cap * 2 : 64;
            if (cap > CHAOS_TRACE_MAX)
                cap = CHAOS_TRACE_MAX;
            uint32_t *tmp = realloc(x->trace, cap * sizeof *tmp);
            if (tmp == NULL)
                return; /* the trace stops short; ntrace says how far it got */
            x->trace = tmp;
            x->trace_cap = cap;
            x->rec.trace_us = tmp;
        }
        x->rec.trace_us[x->rec.ntrace++] = us;
    }
}

static size_t take(struct xfer *x, char *data, size_t len);
static size_t take_framed(struct xfer *x, char *data, size_t len);

size_t reader_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * nmemb;
    if (x->is_cancel_call)
        return len;
    if (x->discard || x->teardown == ACTION_CLOSE_RST || x->teardown == ACTION_CLOSE_SILENT)
        return len; /* HTTP/2: read by nobody (a stream about to be reset, a dead connection) */
    if (x->pause_pending) {
        x->pause_pending = 0;
        return CURL_WRITEFUNC_PAUSE; /* curl keeps this chunk and hands it over on resume */
    }
    if (x->uf)
        return take_framed(x, data, len);
    uint64_t before = x->sc.tokens;
    size_t taken = take(x, data, len);
    if (x->sc.tokens > before)
        x->rec.arrivals++;
    return taken;
}

/* A Bedrock stream's chunk: each whole event-stream message's text goes to take() as an SSE
 * chunk would, so a trigger acts within the message that brings the K-th token. A pause keeps
 * the messages not yet taken in the decoder; curl then hands this chunk over again, and those
 * bytes are skipped. Broken framing counts nothing more (the stream reads on to its end). */
static size_t take_framed(struct xfer *x, char *data, size_t len)
{
    size_t skip = x->uf_skip < len ? x->uf_skip : len;
    x->uf_skip -= skip;
    if (len > skip && unframe_feed(x->uf, data + skip, len - skip) != 0)
        return len;
    uint64_t before = x->sc.tokens;
    const char *t;
    size_t tl, ret = len;
    while (ret == len && unframe_next(x->uf, &t, &tl) == 1) {
        if (tl == 0)
            continue;
        size_t r = take(x, (char *)t, tl);
        if (r == 0) {
            ret = 0; /* the action failed the transfer */
        } else if (r == CURL_WRITEFUNC_PAUSE) {
            x->uf_skip = len;
            ret = CURL_WRITEFUNC_PAUSE;
        }
    }
    if (x->sc.tokens > before)
        x->rec.arrivals++;
    return ret;
}

/* What reader_write_cb returns for an action's wish. */
static size_t fire_return(enum fire_result f, size_t len)
{
    /* FIRE_FAIL: curl fails the transfer and closes the socket through our hook */
    return f == FIRE_FAIL ? 0 : f == FIRE_PAUSE ? CURL_WRITEFUNC_PAUSE : len; /* DISCARD: len */
}

/* Counts the chunk's tokens, acting at the trigger. Returns what reader_write_cb returns. */
/* Counts a chunk's tokens, for the attempt and its task. */
static void feed(struct xfer *x, const char *data, size_t len)
{
    uint64_t before = x->sc.tokens;
    scanner_feed(&x->sc, data, len);
    if (x->task)
        x->task->tokens += x->sc.tokens - before;
    trace(x);
}

static size_t take(struct xfer *x, char *data, size_t len)
{
    /* a task's requests share its trigger: whoever reaches it acts for all */
    int acted = x->task ? x->task->fired : x->fired;
    if (x->task && acted && !x->fired)
        return len; /* its task was left: what comes before its own close is read by nobody */
    if (x->rec.t_first_byte_ns == 0) {
        x->rec.t_first_byte_ns = clock_now_ns();
        x->rec.local_port = attempt_local_port(x);
        if (!acted && x->user->action != CHAOS_COMPLETE &&
            x->user->trigger == CHAOS_AT_FIRST_BYTE) {
            enum fire_result f = trigger_fire(x, 1);
            if (f != FIRE_GO_ON)
                return fire_return(f, len);
            acted = 1;
        }
    }
    if (!acted && x->user->action != CHAOS_COMPLETE && x->user->trigger == CHAOS_AT_TOKENS) {
        uint64_t want = (uint64_t)x->rec.trigger_at;
        uint64_t have = x->task ? x->task->tokens : x->sc.tokens;
        uint64_t need = want > have ? want - have : 0;
        size_t off = scanner_offset_of(&x->sc, data, len, need);
        if (off <= len) {
            /* count exactly up to the K-th token, act there */
            feed(x, data, off);
            enum fire_result f = trigger_fire(x, 1);
            if (f != FIRE_GO_ON)
                return fire_return(f, len);
            feed(x, data + off, len - off);
            return len;
        }
    }
    feed(x, data, len);
    return len;
}

/* ---- attempts ------------------------------------------------------------------------------ */
