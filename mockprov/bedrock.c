/* AWS Bedrock's wire format. ConverseStream (docs.aws.amazon.com/bedrock/latest/APIReference/
 * API_runtime_ConverseStream.html): messageStart, contentBlockDelta per token, contentBlockStop,
 * messageStop, metadata; each an event-stream message with :event-type, :content-type
 * application/json and :message-type event, in-stream errors as :message-type exception with
 * :exception-type. InvokeModelWithResponseStream: chunk events whose payload {"bytes"} is the
 * base64 of one Anthropic Messages event's JSON. Reasoning is hidden and counted; tool calls are
 * not staged on this wire (the ledger says so). */
#include "bedrock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "eventstream.h"
#include "strappend.h"

/* The internal SSE event for 'name' with 'o' as data; frees 'o'. */
static char *event(const char *name, cJSON *o)
{
    char *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (json == NULL)
        return NULL;
    size_t n = strlen(json) + strlen(name) + 32;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "event: %s\ndata: %s\n\n", name, json);
    free(json);
    return s;
}

static const char *stop_reason(enum wire_end end)
{
    return end == WIRE_END_LENGTH ? "max_tokens" : "end_turn";
}

char *bedrock_token_template(const struct wire_gen *g)
{
    (void)g;
    static const char text_hole[] = {'"', WIRE_HOLE_TEXT, '"', '\0'};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "contentBlockIndex", 0);
    cJSON_AddRawToObject(cJSON_AddObjectToObject(o, "delta"), "text", text_hole);
    return event("contentBlockDelta", o);
}

char *bedrock_stream_open(const struct wire_gen *g)
{
    (void)g;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "role", "assistant");
    return event("messageStart", o);
}

static uint64_t output_tokens(const struct wire_tally *t)
{
    return t->usage >= 0 ? (uint64_t)t->usage : t->tokens + t->reasoning;
}

static cJSON *usage(const struct wire_gen *g, const struct wire_tally *t)
{
    cJSON *u = cJSON_CreateObject();
    uint64_t out = output_tokens(t);
    cJSON_AddNumberToObject(u, "inputTokens", (double)g->input_tokens);
    cJSON_AddNumberToObject(u, "outputTokens", (double)out);
    cJSON_AddNumberToObject(u, "totalTokens", (double)(g->input_tokens + out));
    return u;
}

static cJSON *metrics(const struct wire_gen *g)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "latencyMs", (double)g->latency_ms);
    return m;
}

char *bedrock_stream_close(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end)
{
    char *acc = strdup("");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "contentBlockIndex", 0);
    str_append(&acc, event("contentBlockStop", o));
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stopReason", stop_reason(end));
    str_append(&acc, event("messageStop", o));
    o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "usage", usage(g, t));
    cJSON_AddItemToObject(o, "metrics", metrics(g));
    str_append(&acc, event("metadata", o));
    return acc;
}

char *bedrock_stream_error(const struct wire_gen *g, uint64_t n)
{
    (void)g;
    (void)n;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message",
                            "The server encountered an internal error while "
                            "processing the request.");
    return event(BEDROCK_EXCEPTION "internalServerException", o);
}

char *bedrock_body(const struct wire_gen *g, const struct wire_tally *t, const char *text,
                   enum wire_end end)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *msg = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "output"), "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    cJSON *content = cJSON_AddArrayToObject(msg, "content");
    if (text) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "text", text);
        cJSON_AddItemToArray(content, b);
    }
    cJSON_AddStringToObject(o, "stopReason", stop_reason(end));
    cJSON_AddItemToObject(o, "usage", usage(g, t));
    cJSON_AddItemToObject(o, "metrics", metrics(g));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *bedrock_error_body(const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", message);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

const char *bedrock_error_type(int status)
{
    switch (status) {
    case 400:
    case 411:
    case 413:
        return "ValidationException";
    case 401:
    case 403:
        return "AccessDeniedException";
    case 404:
    case 405:
        return "ResourceNotFoundException";
    case 408:
        return "ModelTimeoutException";
    case 424:
        return "ModelErrorException";
    case 429:
        return "ThrottlingException";
    case 503:
    case 529:
        return "ServiceUnavailableException";
    default:
        return status >= 500 ? "InternalServerException" : "ValidationException";
    }
}

/* ---- event-stream framing ----------------------------------------------------------------- */

struct outbuf {
    char *p;
    size_t len, cap;
};

/* Appends one message with the three headers Bedrock sends. Returns 0, or -1 on OOM. */
static int put_message(struct outbuf *o, const char *kind, const char *name, size_t nlen,
                       const char *payload, size_t plen)
{
    int exc = strcmp(kind, "exception") == 0;
    struct eventstream_header h[3] = {
        {exc ? ":exception-type" : ":event-type", exc ? 15 : 11, EVENTSTREAM_STRING, name, nlen},
        {":content-type", 13, EVENTSTREAM_STRING, "application/json", 16},
        {":message-type", 13, EVENTSTREAM_STRING, kind, strlen(kind)},
    };
    size_t need = eventstream_size(h, 3, plen);
    if (need == 0)
        return -1;
    if (o->len + need > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + need)
            cap *= 2;
        char *np = realloc(o->p, cap);
        if (np == NULL)
            return -1;
        o->p = np;
        o->cap = cap;
    }
    long n = eventstream_encode(o->p + o->len, o->cap - o->len, h, 3, payload, plen);
    if (n < 0)
        return -1;
    o->len += (size_t)n;
    return 0;
}

/* An Anthropic event as InvokeModelWithResponseStream sends it: a chunk whose bytes are the
 * base64 of the event's JSON; message_stop gains the invocation metrics Bedrock adds. */
static int put_chunk(struct outbuf *o, const char *name, size_t nlen, const char *json, size_t jlen,
                     uint64_t *out_tokens, const struct wire_gen *g)
{
    if (nlen == 4 && memcmp(name, "ping", 4) == 0)
        return 0; /* Bedrock does not relay Anthropic's pings */
    cJSON *ev = cJSON_ParseWithLength(json, jlen);
    if (ev == NULL)
        return -1;
    int rc = -1;
    char *text = NULL, *payload = NULL, *b64 = NULL;
    if (nlen == 5 && memcmp(name, "error", 5) == 0) {
        const cJSON *er = cJSON_GetObjectItemCaseSensitive(ev, "error");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(er, "message");
        char *body = bedrock_error_body(cJSON_IsString(m) ? m->valuestring : "error");
        rc = body ? put_message(o, "exception", "internalServerException", 23, body, strlen(body))
                  : -1;
        free(body);
        goto done;
    }
    if (nlen == 13 && memcmp(name, "message_delta", 13) == 0) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(ev, "usage");
        const cJSON *ot = cJSON_GetObjectItemCaseSensitive(u, "output_tokens");
        if (cJSON_IsNumber(ot) && ot->valuedouble >= 0)
            *out_tokens = (uint64_t)ot->valuedouble;
    }
    if (nlen == 12 && memcmp(name, "message_stop", 12) == 0) {
        /* the counts of the message_delta before it, in the same write */
        cJSON *im = cJSON_AddObjectToObject(ev, "amazon-bedrock-invocationMetrics");
        cJSON_AddNumberToObject(im, "inputTokenCount", (double)g->input_tokens);
        cJSON_AddNumberToObject(im, "outputTokenCount", (double)*out_tokens);
        cJSON_AddNumberToObject(im, "invocationLatency", (double)g->latency_ms);
        cJSON_AddNumberToObject(im, "firstByteLatency", (double)g->first_byte_ms);
    }
    text = cJSON_PrintUnformatted(ev);
    if (text == NULL)
        goto done;
    size_t tl = strlen(text);
    b64 = malloc(4 * ((tl + 2) / 3) + 1);
    if (b64 == NULL)
        goto done;
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)text, (int)tl);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "bytes", b64);
    payload = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    if (payload)
        rc = put_message(o, "event", "chunk", 5, payload, strlen(payload));
done:
    free(payload);
    free(b64);
    free(text);
    cJSON_Delete(ev);
    return rc;
}

int bedrock_frame(const struct wire_gen *g, const char *text, size_t len, char **out,
                  size_t *outlen)
{
    struct outbuf o = {NULL, 0, 0};
    uint64_t out_tokens = 0;
    size_t at = 0;
    while (at < len) {
        /* one event: an optional "event: NAME\n", then "data: JSON\n", then a blank line */
        const char *ev = text + at, *end = memmem(ev, len - at, "\n\n", 2);
        if (end == NULL)
            goto fail;
        const char *name = "message";
        size_t nlen = 7;
        const char *p = ev;
        if (strncmp(p, "event: ", 7) == 0) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (nl == NULL)
                goto fail;
            name = p + 7;
            nlen = (size_t)(nl - name);
            p = nl + 1;
        }
        if ((size_t)(end - p) < 6 || strncmp(p, "data: ", 6) != 0)
            goto fail;
        const char *json = p + 6;
        size_t jlen = (size_t)(end - json);
        size_t xl = sizeof BEDROCK_EXCEPTION - 1;
        int rc;
        if (g->framing == WIRE_FRAMING_CHUNKS)
            rc = put_chunk(&o, name, nlen, json, jlen, &out_tokens, g);
        else if (nlen > xl && memcmp(name, BEDROCK_EXCEPTION, xl) == 0)
            rc = put_message(&o, "exception", name + xl, nlen - xl, json, jlen);
        else
            rc = put_message(&o, "event", name, nlen, json, jlen);
        if (rc != 0)
            goto fail;
        at = (size_t)(end + 2 - text);
    }
    *out = o.p ? o.p : malloc(1);
    *outlen = o.len;
    return *out ? 0 : -1;
fail:
    free(o.p);
    return -1;
}
