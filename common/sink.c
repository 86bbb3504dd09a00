/* A sink's transport-neutral half: the state every transport shares, the callbacks to its
 * owner, and the drain counting that tells when a marked write (a token) left for the peer. */
#include "sink.h"

#include <stdlib.h>
#include <string.h>

void sink_init(struct sink *s, const struct sink_ops *ops)
{
    memset(s, 0, sizeof *s);
    s->ops = ops;
    s->state = SINK_OPEN;
}

void sink_set_callbacks(struct sink *s, const struct sink_callbacks *cb)
{
    s->cb = *cb;
}

static int mark_push(struct sink *s, uint64_t end)
{
    if (s->mark_head + s->mark_n == s->mark_cap) {
        if (s->mark_head > 0) {
            memmove(s->mark_end, s->mark_end + s->mark_head, s->mark_n * sizeof *s->mark_end);
            s->mark_head = 0;
        } else {
            size_t cap = s->mark_cap ? s->mark_cap * 2 : 16;
            if (cap > SINK_MARKS_MAX)
                return -1;
            uint64_t *tmp = realloc(s->mark_end, cap * sizeof *tmp);
            if (tmp == NULL)
                return -1;
            s->mark_end = tmp;
            s->mark_cap = cap;
        }
    }
    s->mark_end[s->mark_head + s->mark_n++] = end;
    return 0;
}

void sink_queued(struct sink *s, size_t len, size_t sent, int mark)
{
    s->queued += len;
    s->drained += sent;
    for (int k = 0; k < mark; k++) {
        if (sent == len)
            s->marks_done++;
        else if (mark_push(s, s->queued) != 0)
            s->marks_done++; /* queue cap reached: count it as done rather than lose it */
    }
    if (sent > 0 && s->cb.drain_cb)
        s->cb.drain_cb(s, s->cb.arg);
}

void sink_drained(struct sink *s, uint64_t len)
{
    if (len == 0)
        return;
    s->drained += len;
    while (s->mark_n && s->mark_end[s->mark_head] <= s->drained) {
        s->mark_head++;
        s->mark_n--;
        s->marks_done++;
    }
    if (s->mark_n == 0)
        s->mark_head = 0;
    if (s->cb.drain_cb)
        s->cb.drain_cb(s, s->cb.arg);
}

void sink_closed(struct sink *s, enum sink_close kind, uint32_t code)
{
    s->state = SINK_DONE;
    if (s->cb.close_cb)
        s->cb.close_cb(s, kind, code, s->cb.arg);
}

void sink_completed(struct sink *s)
{
    s->state = SINK_DONE;
    if (s->cb.complete_cb)
        s->cb.complete_cb(s, s->cb.arg);
}

void sink_header(struct sink *s, const char *name, const char *value)
{
    if (s->state == SINK_OPEN)
        s->ops->header(s, name, value);
}

void sink_start(struct sink *s, int status)
{
    if (s->state == SINK_OPEN)
        s->ops->start(s, status);
}

void sink_write(struct sink *s, const char *data, size_t len, int mark)
{
    if (s->state != SINK_OPEN || len == 0)
        return;
    s->ops->write(s, data, len, mark);
}

void sink_cork(struct sink *s, char *buf, size_t cap)
{
    if (s->state == SINK_OPEN && s->ops->cork)
        s->ops->cork(s, buf, cap);
}

void sink_uncork(struct sink *s)
{
    if (s->ops->uncork)
        s->ops->uncork(s);
}

/* The state changes before the transport is told: it may complete the response at once, and
 * complete_cb must find the sink already ended. */
void sink_end(struct sink *s, const char *trailer_name, const char *trailer_value)
{
    if (s->state != SINK_OPEN)
        return;
    s->state = SINK_FLUSHING;
    s->ops->end(s, trailer_name, trailer_value);
}

void sink_reply(struct sink *s, int status, const char *body, size_t len)
{
    if (s->state != SINK_OPEN)
        return;
    s->state = SINK_FLUSHING;
    s->ops->reply(s, status, body, len);
}

void sink_cut(struct sink *s)
{
    if (s->state != SINK_OPEN)
        return;
    s->state = SINK_FLUSHING;
    s->ops->cut(s);
}

void sink_abort(struct sink *s)
{
    if (s->state != SINK_OPEN)
        return;
    memset(&s->cb, 0, sizeof s->cb);
    s->state = SINK_DONE;
    s->ops->abort(s); /* unhooks the transport's own callbacks first */
}

void sink_detach(struct sink *s)
{
    s->ops->detach(s);
    memset(&s->cb, 0, sizeof s->cb);
}

uint64_t sink_unsent(const struct sink *s)
{
    return s->ops->unsent(s);
}

uint64_t sink_marks_done(const struct sink *s)
{
    return s->marks_done;
}

enum sink_state sink_state(const struct sink *s)
{
    return s->state;
}

void sink_free(struct sink *s)
{
    if (s == NULL)
        return;
    sink_detach(s);
    free(s->mark_end);
    s->ops->free(s);
}
