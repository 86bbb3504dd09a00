/* refgw's metering: an incremental line splitter over the upstream body, a usage extractor for
 * the vendor shapes (Bedrock's inside its event-stream messages), and a counter of the mock's
 * self-identifying tokens. */
#include "meter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "jparse.h"

#define METER_LINE_START 256 /* first allocation; doubles up to METER_LINE_MAX */

void meter_init(struct meter *m)
{
    memset(m, 0, sizeof *m);
    m->out_seen = m->in_seen = -1;
}

void meter_cleanup(struct meter *m)
{
    eventstream_decoder_cleanup(&m->esd);
    eventstream_decoder_cleanup(&m->count_esd);
    free(m->line);
    m->line = NULL;
    m->len = m->cap = 0;
}

void meter_begin(struct meter *m, const char *content_type)
{
    m->open = 1;
    m->sse = m->ndjson = 0;
    m->es = 0;
    /* media types are case-insensitive (RFC 9110 8.3.1) */
    for (const char *p = content_type; p && *p; p++) {
        if (strncasecmp(p, "text/event-stream", 17) == 0) {
            m->sse = 1;
            break;
        }
        if (strncasecmp(p, "application/x-ndjson", 20) == 0) {
            m->ndjson = 1;
            break;
        }
        if (strncasecmp(p, "application/vnd.amazon.eventstream", 34) == 0) {
            m->es = 1;
            eventstream_decoder_cleanup(&m->esd); /* a previous response's, if it was not ended */
            eventstream_decoder_init(&m->esd, METER_LINE_MAX);
            m->count_es = 1;
            eventstream_decoder_cleanup(&m->count_esd);
            eventstream_decoder_init(&m->count_esd, METER_LINE_MAX);
            break;
        }
    }
    m->len = 0;
    m->skipping = 0;
    m->out_seen = m->in_seen = -1;
}

/* Appends to the current line. Returns 0, 1 over the cap, -1 out of memory. */
static int line_append(struct meter *m, const char *data, size_t n)
{
    if (m->len + n > METER_LINE_MAX)
        return 1;
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : METER_LINE_START;
        while (cap < m->len + n + 1)
            cap *= 2;
        if (cap > METER_LINE_MAX + 1)
            cap = METER_LINE_MAX + 1;
        char *tmp = realloc(m->line, cap);
        if (tmp == NULL)
            return -1;
        m->line = tmp;
        m->cap = cap;
    }
    memcpy(m->line + m->len, data, n);
    m->len += n;
    m->line[m->len] = '\0';
    return 0;
}

static double json_count(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 9e15)
        return -1;
    return floor(v->valuedouble);
}

/* Gemini's usageMetadata: cumulative on every chunk, so the last one seen wins. Output is what
 * Google bills as output: candidates plus thoughts. Returns 1 if it found any. */
static int gemini_usage(const cJSON *o, int64_t *out, int64_t *in)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "usageMetadata");
    if (!cJSON_IsObject(u))
        return 0;
    double ov = json_count(u, "candidatesTokenCount");
    double th = json_count(u, "thoughtsTokenCount");
    double iv = json_count(u, "promptTokenCount");
    int found = 0;
    if (ov >= 0 || th >= 0) {
        *out = (int64_t)((ov > 0 ? ov : 0) + (th > 0 ? th : 0));
        found = 1;
    }
    if (iv >= 0) {
        *in = (int64_t)iv;
        found = 1;
    }
    return found;
}

/* Ollama's done line (or stream:false body): eval_count is the output, thinking included;
 * prompt_eval_count the input. Returns 1 if it found any. */
static int ollama_usage(const cJSON *o, int64_t *out, int64_t *in)
{
    double ov = json_count(o, "eval_count");
    double iv = json_count(o, "prompt_eval_count");
    if (ov >= 0)
        *out = (int64_t)ov;
    if (iv >= 0)
        *in = (int64_t)iv;
    return ov >= 0 || iv >= 0;
}

int meter_usage_from_json(const char *json, size_t len, int64_t *out, int64_t *in)
{
    *out = *in = -1;
    struct jparse_error je;
    cJSON *o = jparse_text(json, len, &je); /* one event's data: exactly one JSON value */
    if (cJSON_IsArray(o)) {
        /* Gemini's stream without alt=sse: one array of chunks, the last usage wins */
        int found = 0;
        const cJSON *el;
        cJSON_ArrayForEach(el, o)
        {
            int64_t eo = -1, ei = -1;
            if (cJSON_IsObject(el) && gemini_usage(el, &eo, &ei)) {
                *out = eo;
                *in = ei;
                found = 1;
            }
        }
        cJSON_Delete(o);
        return found;
    }
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return 0;
    }
    if (gemini_usage(o, out, in) || ollama_usage(o, out, in)) {
        cJSON_Delete(o);
        return 1;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    const cJSON *u = NULL;
    int output_counts = 1;
    if (strcmp(t, "message_start") == 0) {
        /* Anthropic: input is known at the start; its output_tokens is a placeholder, the real
         * count comes in message_delta (cumulative, the last one wins) */
        u = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "message"),
                                             "usage");
        output_counts = 0;
    } else if (strcmp(t, "response.completed") == 0 || strcmp(t, "response.incomplete") == 0) {
        /* Responses: the terminal event carries the response object with its usage */
        u = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "response"),
                                             "usage");
    } else if (strncmp(t, "response.", 9) != 0) {
        /* a chat chunk ("usage": null until the usage chunk), message_delta, or a whole
         * non-streaming body of any of the three APIs */
        u = cJSON_GetObjectItemCaseSensitive(o, "usage");
    }
    int found = 0;
    if (cJSON_IsObject(u)) {
        double ov = json_count(u, "completion_tokens");
        if (ov < 0)
            ov = json_count(u, "output_tokens");
        if (ov < 0)
            ov = json_count(u, "outputTokens"); /* Bedrock's Converse */
        double iv = json_count(u, "prompt_tokens");
        if (iv < 0)
            iv = json_count(u, "input_tokens");
        if (iv < 0)
            iv = json_count(u, "inputTokens");
        if (output_counts && ov >= 0) {
            *out = (int64_t)ov;
            found = 1;
        }
        if (iv >= 0) {
            *in = (int64_t)iv;
            found = 1;
        }
    }
    cJSON_Delete(o);
    return found;
}

static void take_usage(struct meter *m, const char *json, size_t len)
{
    int64_t out, in;
    if (!meter_usage_from_json(json, len, &out, &in))
        return;
    if (out >= 0)
        m->out_seen = out;
    if (in >= 0)
        m->in_seen = in;
}

/* One complete SSE line (WHATWG HTML 9.2.6: "data:" then one optional space). */
static void sse_line(struct meter *m)
{
    if (m->len < 5 || memcmp(m->line, "data:", 5) != 0)
        return;
    const char *p = m->line + 5;
    if (*p == ' ')
        p++;
    /* most lines are token deltas: parse only the ones that can carry a usage object (every
     * Gemini chunk does) */
    if (strstr(p, "\"usage\"") == NULL && strstr(p, "\"usageMetadata\"") == NULL)
        return;
    take_usage(m, p, m->len - (size_t)(p - m->line));
}

/* One complete NDJSON line: only the done line carries counts. */
static void ndjson_line(struct meter *m)
{
    if (strstr(m->line, "eval_count\"") == NULL)
        return;
    take_usage(m, m->line, m->len);
}

static void line_done(struct meter *m)
{
    if (m->sse)
        sse_line(m);
    else
        ndjson_line(m);
}

/* 1 when the message is an InvokeModelWithResponseStream chunk. */
static int is_chunk(const struct eventstream_message *msg)
{
    size_t tl;
    const char *type = eventstream_header_str(msg, ":event-type", &tl);
    return type && tl == 5 && memcmp(type, "chunk", 5) == 0;
}

/* A chunk's {"bytes": base64} decoded (malloc'd, *n set), or NULL. */
static char *chunk_bytes(const struct eventstream_message *msg, size_t *n)
{
    cJSON *c = cJSON_ParseWithLength(msg->payload, msg->payload_len);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(c, "bytes");
    size_t bl = cJSON_IsString(b) ? strlen(b->valuestring) : 0;
    unsigned char *raw = bl && bl % 4 == 0 ? malloc(bl / 4 * 3 + 1) : NULL;
    int got = -1;
    if (raw) {
        got = EVP_DecodeBlock(raw, (const unsigned char *)b->valuestring, (int)bl);
        for (size_t i = bl; got > 0 && i > 0 && b->valuestring[i - 1] == '='; i--)
            got--; /* EVP_DecodeBlock counts the padding as zero bytes */
    }
    cJSON_Delete(c);
    if (got <= 0) {
        free(raw);
        return NULL;
    }
    *n = (size_t)got;
    return (char *)raw;
}

/* One event-stream message: its JSON payload, or a chunk's decoded bytes. */
static void es_message(struct meter *m, const struct eventstream_message *msg)
{
    size_t tl;
    if (eventstream_header_str(msg, ":event-type", &tl) == NULL)
        return; /* an exception carries no usage */
    if (!is_chunk(msg)) {
        if (memmem(msg->payload, msg->payload_len, "\"usage\"", 7) != NULL)
            take_usage(m, msg->payload, msg->payload_len);
        return;
    }
    size_t n;
    char *raw = chunk_bytes(msg, &n);
    if (raw)
        take_usage(m, raw, n);
    free(raw);
}

/* Bedrock's event stream: whole messages as they complete. A corrupt stream meters nothing more
 * (the decoder stays failed), as a gateway that cannot frame it could not. */
static int es_feed(struct meter *m, const char *data, size_t len)
{
    if (eventstream_feed(&m->esd, data, len) != 0)
        return m->esd.failed ? 0 : -1;
    struct eventstream_message msg;
    int rc;
    while ((rc = eventstream_next(&m->esd, &msg)) == 1)
        es_message(m, &msg);
    if (rc < 0)
        m->oversized++;
    return 0;
}

int meter_feed(struct meter *m, const char *data, size_t len)
{
    if (!m->open)
        return 0;
    if (m->es)
        return es_feed(m, data, len);
    int rc = 0;
    if (!m->sse && !m->ndjson) {
        if (m->skipping)
            return 0;
        int r = line_append(m, data, len);
        if (r != 0) {
            m->skipping = 1;
            m->oversized++;
            m->len = 0;
            rc = r < 0 ? -1 : 0;
        }
        return rc;
    }
    const char *p = data, *end = data + len;
    while (p < end) {
        /* SSE lines end with CRLF, LF or CR; a CRLF yields one empty line extra, harmless */
        const char *eol = p;
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        if (!m->skipping) {
            int r = line_append(m, p, (size_t)(eol - p));
            if (r != 0) {
                m->skipping = 1;
                m->oversized++;
                m->len = 0;
                if (r < 0)
                    rc = -1;
            }
        }
        if (eol == end)
            break;
        if (!m->skipping && m->len > 0)
            line_done(m);
        m->skipping = 0;
        m->len = 0;
        p = eol + 1;
    }
    return rc;
}

void meter_end(struct meter *m)
{
    if (!m->open)
        return;
    if (!m->es && !m->skipping && m->len > 0) {
        if (m->sse || m->ndjson)
            line_done(m); /* a last line without its newline */
        else
            take_usage(m, m->line, m->len);
    }
    if (m->out_seen >= 0 || m->in_seen >= 0)
        m->responses_with_usage++;
    if (m->out_seen > 0)
        m->output_tokens += (uint64_t)m->out_seen;
    if (m->in_seen > 0)
        m->input_tokens += (uint64_t)m->in_seen;
    m->open = 0;
    m->len = 0;
    m->skipping = 0;
    /* the buffer may have grown to the cap: give it back while the request lives on (the
     * token counter's decoder is meter_count_end's to free: forwarding may outlast this) */
    eventstream_decoder_cleanup(&m->esd);
    free(m->line);
    m->line = NULL;
    m->len = m->cap = 0;
}

static void token_seen(struct meter *m)
{
    if (m->tok_digits >= 1 && m->tok_digits <= METER_TOKEN_DIGITS_MAX &&
        m->tok_value >= m->next_index) {
        m->tokens++;
        m->next_index = m->tok_value + 1;
    }
    m->tok_state = 0;
    m->tok_digits = 0;
    m->tok_value = 0;
}

static void count_bytes(struct meter *m, const char *data, size_t len);

void meter_count(struct meter *m, const char *data, size_t len)
{
    if (!m->count_es) {
        count_bytes(m, data, len);
        return;
    }
    if (eventstream_feed(&m->count_esd, data, len) != 0)
        return; /* a corrupt stream counts nothing more */
    struct eventstream_message msg;
    while (eventstream_next(&m->count_esd, &msg) == 1) {
        size_t n;
        char *raw = is_chunk(&msg) ? chunk_bytes(&msg, &n) : NULL;
        if (raw)
            count_bytes(m, raw, n);
        else if (!is_chunk(&msg))
            count_bytes(m, msg.payload, msg.payload_len);
        free(raw);
    }
}

static void count_bytes(struct meter *m, const char *data, size_t len)
{
    static const char pat[] = " tok";
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (m->tok_state == 4) {
            if (c >= '0' && c <= '9') {
                /* past the cap the digits are consumed but the token is void */
                if (m->tok_digits < METER_TOKEN_DIGITS_MAX)
                    m->tok_value = m->tok_value * 10 + (uint64_t)(c - '0');
                if (m->tok_digits <= METER_TOKEN_DIGITS_MAX)
                    m->tok_digits++;
                continue;
            }
            token_seen(m); /* then this character may start the next match */
        }
        if (c == pat[m->tok_state])
            m->tok_state++;
        else
            m->tok_state = c == ' ' ? 1 : 0;
    }
}

void meter_count_end(struct meter *m)
{
    if (m->count_es) {
        eventstream_decoder_cleanup(&m->count_esd);
        m->count_es = 0;
    }
    if (m->tok_state == 4)
        token_seen(m);
    m->tok_state = 0;
    m->tok_digits = 0;
    m->tok_value = 0;
}
