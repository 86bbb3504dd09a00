/* Fuzz target: a parsed request (request_parse and its Gemini, Azure, Ollama and Bedrock forms)
 * rendered into every vendor wire format (wire.c, gemini.c, completions.c, azure.c, ollama.c,
 * bedrock.c), plain or with reasoning and a tool call: stream open, each reasoning and token
 * event, the turns between parts, close, in-stream error, non-stream body, Responses snapshots and
 * the error body; Bedrock's streams framed as event-stream messages. Every SSE event must frame and
 * every data line must be JSON (every NDJSON line, for Ollama), with the request's model echoed
 * exactly; a Gemini array stream must be one JSON array. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bedrock.h"
#include "engine.h"
#include "eventstream.h"
#include "fuzz.h"
#include "request.h"
#include "wire.h"

#define FUZZ_WIRE_MAX_TOKENS 24

/* The whole text is one JSON value. Returns it (caller frees). */
static cJSON *parse_exact(const char *s, size_t n)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    FUZZ_CHECK(j != NULL);
    FUZZ_CHECK(end == s + n);
    return j;
}

/* The model named in a JSON object, at "model" or "response.model" or "message.model", or
 * Gemini's "modelVersion". */
static void check_model(const cJSON *j, const char *model)
{
    /* Azure's prompt-filter event comes before the completion exists: its model is "" */
    if (cJSON_GetObjectItemCaseSensitive(j, "prompt_filter_results") &&
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "choices")) == 0)
        return;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
    if (m == NULL)
        m = cJSON_GetObjectItemCaseSensitive(j, "modelVersion");
    if (m == NULL)
        m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "response"),
                                             "model");
    if (m == NULL)
        m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "message"),
                                             "model");
    if (m != NULL) {
        FUZZ_CHECK(cJSON_IsString(m));
        FUZZ_CHECK(strcmp(m->valuestring, model) == 0);
    }
}

/* SSE as the SDKs read it: events end with a blank line; each line is "event: NAME" or
 * "data: JSON" ("data: [DONE]" for chat). Returns the number of events. */
static size_t check_sse(const char *s, const char *model)
{
    FUZZ_CHECK(s != NULL);
    size_t events = 0;
    const char *p = s;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        FUZZ_CHECK(end != NULL);
        int data_lines = 0;
        for (const char *line = p; line < end;) {
            const char *nl = memchr(line, '\n', (size_t)(end - line));
            const char *le = nl ? nl : end;
            if (strncmp(line, "event: ", 7) == 0) {
                FUZZ_CHECK(le > line + 7);
            } else {
                FUZZ_CHECK(strncmp(line, "data: ", 6) == 0);
                const char *d = line + 6;
                size_t dn = (size_t)(le - d);
                if (!(dn == 6 && memcmp(d, "[DONE]", 6) == 0)) {
                    cJSON *j = parse_exact(d, dn);
                    check_model(j, model);
                    cJSON_Delete(j);
                }
                data_lines++;
            }
            line = le + 1;
        }
        FUZZ_CHECK(data_lines == 1);
        events++;
        p = end + 2;
    }
    return events;
}

static void check_body(char *s, const char *model)
{
    FUZZ_CHECK(s != NULL);
    cJSON *j = parse_exact(s, strlen(s));
    check_model(j, model);
    cJSON_Delete(j);
    free(s);
}

/* A Gemini stream without alt=sse: open, every reasoning and visible token, then the close or
 * the error, is one JSON array of objects, each naming the model. */
static void check_array(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end,
                        int error, const char *model)
{
    size_t cap = 64 + (t->reasoning + t->tokens + 2) * WIRE_TOKEN_EVENT_MAX;
    char *s = malloc(cap);
    FUZZ_CHECK(s != NULL);
    char *open = wire_stream_open(g, -1);
    FUZZ_CHECK(open != NULL);
    size_t off = (size_t)snprintf(s, cap, "%s", open);
    free(open);
    for (uint64_t j = 0; j < t->reasoning; j++) {
        int w = wire_stream_reasoning(g, j, s + off, cap - off);
        FUZZ_CHECK(w > 0);
        off += (size_t)w;
    }
    uint64_t elements = t->reasoning + 1;
    for (uint64_t i = 0; i < t->tokens; i++) {
        int w = wire_stream_token(g, i, s + off, cap - off);
        if (wire_held(g, i)) {
            /* Gemini's call: nothing per argument token, the whole part with the last one */
            FUZZ_CHECK(w == 0);
            char *call = wire_stream_call(g, i);
            if (call) {
                FUZZ_CHECK(off + strlen(call) < cap);
                memcpy(s + off, call, strlen(call) + 1);
                off += strlen(call);
                elements++;
            }
            free(call);
            continue;
        }
        FUZZ_CHECK(w > 0);
        off += (size_t)w;
        elements++;
    }
    char *last = error ? wire_stream_error(g, t->tokens) : wire_stream_close(g, t, end, -1);
    FUZZ_CHECK(last != NULL && off + strlen(last) < cap);
    memcpy(s + off, last, strlen(last) + 1);
    free(last);
    cJSON *a = parse_exact(s, strlen(s));
    FUZZ_CHECK(cJSON_IsArray(a) && (uint64_t)cJSON_GetArraySize(a) == elements);
    const cJSON *el;
    cJSON_ArrayForEach(el, a)
    {
        FUZZ_CHECK(cJSON_IsObject(el));
        check_model(el, model);
    }
    cJSON_Delete(a);
    free(s);
}

/* NDJSON as Ollama writes it: each line one JSON object naming the model. Returns the lines. */
static size_t check_ndjson(const char *s, const char *model)
{
    FUZZ_CHECK(s != NULL);
    size_t lines = 0;
    for (const char *p = s; *p;) {
        const char *nl = strchr(p, '\n');
        FUZZ_CHECK(nl != NULL);
        cJSON *j = parse_exact(p, (size_t)(nl - p));
        FUZZ_CHECK(cJSON_IsObject(j));
        check_model(j, model);
        cJSON_Delete(j);
        lines++;
        p = nl + 1;
    }
    return lines;
}

/* A stream's text in its framing: NDJSON for Ollama, else SSE. */
static size_t check_frames(const struct wire_gen *g, const char *s, const char *model)
{
    return g->api == API_OLLAMA ? check_ndjson(s, model) : check_sse(s, model);
}

/* One event must frame, its JSON data echo the model, and it must carry 'tok' (if any). */
static void check_event(const struct wire_gen *g, const char *ev, int w, size_t cap,
                        const char *model, const char *tok)
{
    FUZZ_CHECK(w >= 0 && (size_t)w < cap && strlen(ev) == (size_t)w);
    if (w == 0)
        return; /* hidden reasoning: counted, not sent */
    FUZZ_CHECK(check_frames(g, ev, model) == 1);
    FUZZ_CHECK(strstr(ev, tok) != NULL);
}

static void render(const struct request *rq, uint64_t h)
{
    struct wire_gen g;
    FUZZ_CHECK(wire_gen_init(&g, rq, h & 0xffff, 1700000000) == 0);
    uint64_t n = (h >> 16) % (FUZZ_WIRE_MAX_TOKENS + 1);
    enum wire_end end = (enum wire_end)((h >> 24) % 3);
    int64_t usage = (h >> 28) & 1 ? (int64_t)n : -1;
    /* reasoning (hidden or shown) and a tool call after some text, from the hash's high bits */
    struct wire_shape shape = {(h >> 40) % 6, (int)((h >> 44) & 1), (int)((h >> 45) & 1),
                               (h >> 46) % 4, n};
    if ((h >> 50) & 1)
        FUZZ_CHECK(wire_gen_shape(&g, &shape) == 0);
    /* visible tokens come only after the whole reasoning; with none, it may have stopped
     * within the reasoning */
    uint64_t r = n > 0 ? g.shape.reasoning : (h >> 52) % (g.shape.reasoning + 1);
    int64_t after = (int64_t)((h >> 32) % (n + r + 30)) - 1;
    struct wire_tally t = {r, n, usage >= 0 ? usage + (int64_t)r : -1,
                           usage >= 0 ? (int64_t)r : -1};

    if (g.json_stream) {
        /* an error comes after a visible token, never within the reasoning */
        check_array(&g, &t, end, 0, rq->model);
        if (n > 0 || r == 0)
            check_array(&g, &t, end, 1, rq->model);
        check_body(wire_body(&g, &t, end), rq->model);
        wire_gen_cleanup(&g);
        return;
    }

    char *open = wire_stream_open(&g, after);
    check_frames(&g, open, rq->model);
    free(open);
    /* every token event fits the buffer the server gives it: a dropped event is a lost token */
    for (uint64_t j = 0; j < r; j++) {
        char ev[WIRE_TOKEN_EVENT_MAX], tok[32];
        int w = wire_stream_reasoning(&g, j, ev, sizeof ev);
        engine_reasoning_text(j, tok, sizeof tok);
        check_event(&g, ev, w, sizeof ev, rq->model, tok);
    }
    for (uint64_t i = 0; i < n; i++) {
        if (wire_turn_at(&g, i)) {
            char *turn = wire_stream_turn(&g, i, after);
            check_frames(&g, turn, rq->model);
            free(turn);
        }
        char ev[WIRE_TOKEN_EVENT_MAX], tok[32];
        int w = wire_stream_token(&g, i, ev, sizeof ev);
        engine_token_text(i, tok, sizeof tok);
        if (wire_held(&g, i)) {
            FUZZ_CHECK(w == 0);
            char *call = wire_stream_call(&g, i); /* Gemini's whole call, with the last one */
            if (call)
                FUZZ_CHECK(check_sse(call, rq->model) == 1 && strstr(call, tok) != NULL);
            free(call);
            continue;
        }
        FUZZ_CHECK(w > 0);
        check_event(&g, ev, w, sizeof ev, rq->model, tok);
    }
    char *close = wire_stream_close(&g, &t, end, after);
    check_frames(&g, close, rq->model);
    free(close);
    char *err = wire_stream_error(&g, n);
    FUZZ_CHECK(check_frames(&g, err, rq->model) == 1);
    free(err);
    check_body(wire_body(&g, &t, end), rq->model);
    static const char *const statuses[] = {"queued", "in_progress", "completed", "incomplete",
                                           "cancelled"};
    if (rq->api == API_RESPONSES)
        for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
            check_body(wire_response_object(&g, &t, statuses[i]), rq->model);
    char *text = wire_text(n);
    FUZZ_CHECK(text != NULL && strlen(text) == engine_text_len(n));
    free(text);
    char *rtext = wire_reasoning_text(r);
    FUZZ_CHECK(rtext != NULL && strlen(rtext) == engine_reasoning_text_len(r));
    free(rtext);
    /* a tool call's arguments are always one JSON object */
    char *args = wire_tool_arguments(0, n);
    FUZZ_CHECK(args != NULL);
    cJSON *a = parse_exact(args, strlen(args));
    FUZZ_CHECK(cJSON_IsObject(a));
    cJSON_Delete(a);
    free(args);
    wire_gen_cleanup(&g);
}

/* Bedrock: a stream's text framed as event-stream messages decodes to one JSON payload per
 * event (a chunk's bytes base64 of one Anthropic event), in order, with nothing left over. */
static void check_framed(const struct wire_gen *g, const char *text)
{
    char *bin = NULL;
    size_t blen = 0;
    FUZZ_CHECK(bedrock_frame(g, text, strlen(text), &bin, &blen) == 0);
    struct eventstream_decoder d;
    eventstream_decoder_init(&d, 0);
    FUZZ_CHECK(eventstream_feed(&d, bin, blen) == 0);
    struct eventstream_message m;
    int rc;
    while ((rc = eventstream_next(&d, &m)) == 1) {
        size_t vl;
        FUZZ_CHECK(eventstream_header_str(&m, ":message-type", &vl) != NULL);
        cJSON *j = parse_exact(m.payload, m.payload_len);
        if (g->framing == WIRE_FRAMING_CHUNKS &&
            eventstream_header_str(&m, ":event-type", &vl) != NULL)
            FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "bytes")));
        cJSON_Delete(j);
    }
    FUZZ_CHECK(rc == 0 && eventstream_pending(&d) == 0);
    eventstream_decoder_cleanup(&d);
    free(bin);
}

/* A Bedrock request rendered: open, each token, close and error, each framed. */
static void render_bedrock(const struct request *rq, uint64_t h)
{
    struct wire_gen g;
    FUZZ_CHECK(wire_gen_init(&g, rq, h, 1) == 0);
    uint64_t n = h % FUZZ_WIRE_MAX_TOKENS;
    char *open = wire_stream_open(&g, -1);
    FUZZ_CHECK(open != NULL);
    check_framed(&g, open);
    free(open);
    for (uint64_t i = 0; i < n; i++) {
        char ev[WIRE_TOKEN_EVENT_MAX];
        int w = wire_stream_token(&g, i, ev, sizeof ev);
        FUZZ_CHECK(w > 0);
        check_framed(&g, ev);
    }
    struct wire_tally t = {0, n, (int64_t)n, 0};
    char *close = wire_stream_close(&g, &t, (enum wire_end)((h >> 8) % 2), -1);
    FUZZ_CHECK(close != NULL);
    check_framed(&g, close);
    free(close);
    char *err = wire_stream_error(&g, n);
    FUZZ_CHECK(err != NULL);
    check_framed(&g, err);
    free(err);
    char *body = wire_body(&g, &t, WIRE_END_STOP);
    FUZZ_CHECK(body != NULL);
    cJSON_Delete(parse_exact(body, strlen(body)));
    free(body);
    wire_gen_cleanup(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t h = fuzz_hash(data, size);
    for (int api = API_CHAT; api <= API_MESSAGES; api++) {
        struct request rq;
        struct request_error e;
        if (request_parse((enum api)api, (const char *)data, size, NULL, &rq, &e) == 0) {
            render(&rq, h);
            continue;
        }
        /* the 400 the server answers with, in the vendor's shape */
        char *body =
            wire_error_body((enum api)api, e.status, e.type, e.code, e.param, e.message, "req_fz");
        FUZZ_CHECK(body != NULL);
        cJSON *j = parse_exact(body, strlen(body));
        const cJSON *eo = cJSON_GetObjectItemCaseSensitive(j, "error");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(eo, "message");
        FUZZ_CHECK(cJSON_IsString(msg) && strcmp(msg->valuestring, e.message) == 0);
        cJSON_Delete(j);
        free(body);
    }
    /* legacy completions, Azure (the deployment's name when the body has no model) and Ollama's
     * chat and generate: rendered, or the error body in the vendor's shape (Ollama's message is
     * the whole error) */
    for (int k = 0; k < 4; k++) {
        struct request rq;
        struct request_error e;
        int rc = k == 0 ? request_parse(API_COMPLETIONS, (const char *)data, size, NULL, &rq, &e)
                 : k == 1
                     ? request_parse_azure("fz-deploy", (const char *)data, size, NULL, &rq, &e)
                     : request_parse_ollama(k == 3, (const char *)data, size, NULL, &rq, &e);
        if (rc == 0) {
            render(&rq, h);
            continue;
        }
        enum api api = k == 0 ? API_COMPLETIONS : k == 1 ? API_AZURE : API_OLLAMA;
        char *body = wire_error_body(api, e.status, e.type, e.code, e.param, e.message, "req_fz");
        FUZZ_CHECK(body != NULL);
        cJSON *j = parse_exact(body, strlen(body));
        const cJSON *eo = cJSON_GetObjectItemCaseSensitive(j, "error");
        const cJSON *msg = api == API_OLLAMA ? eo : cJSON_GetObjectItemCaseSensitive(eo, "message");
        FUZZ_CHECK(cJSON_IsString(msg) && strcmp(msg->valuestring, e.message) == 0);
        cJSON_Delete(j);
        free(body);
    }
    /* Gemini: the model from the path, SSE or the JSON array */
    for (int json_stream = 0; json_stream <= 1; json_stream++) {
        struct request rq;
        struct request_error e;
        if (request_parse_gemini("gemini-2.5-flash", 1, json_stream, (const char *)data, size, NULL,
                                 &rq, &e) == 0) {
            render(&rq, h);
            continue;
        }
        char *body =
            wire_error_body(API_GEMINI, e.status, e.type, e.code, e.param, e.message, "req_fz");
        FUZZ_CHECK(body != NULL);
        cJSON *j = parse_exact(body, strlen(body));
        const cJSON *eo = cJSON_GetObjectItemCaseSensitive(j, "error");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(eo, "message");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(eo, "code");
        FUZZ_CHECK(cJSON_IsString(msg) && strcmp(msg->valuestring, e.message) == 0);
        FUZZ_CHECK(cJSON_IsNumber(code) && code->valueint == e.status);
        cJSON_Delete(j);
        free(body);
    }
    /* Bedrock: ConverseStream and InvokeModelWithResponseStream, framed; errors {"message"} */
    for (int api = API_BEDROCK; api <= API_BEDROCK_INVOKE; api++) {
        struct request rq;
        struct request_error e;
        if (request_parse_bedrock((enum api)api, "anthropic.claude-v2:1", 1, (const char *)data,
                                  size, NULL, &rq, &e) == 0) {
            render_bedrock(&rq, h);
            continue;
        }
        char *body =
            wire_error_body((enum api)api, e.status, e.type, e.code, e.param, e.message, "req_fz");
        FUZZ_CHECK(body != NULL);
        cJSON *j = parse_exact(body, strlen(body));
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
        FUZZ_CHECK(cJSON_IsString(msg) && strcmp(msg->valuestring, e.message) == 0);
        FUZZ_CHECK(cJSON_GetArraySize(j) == 1);
        cJSON_Delete(j);
        free(body);
    }
    return 0;
}
