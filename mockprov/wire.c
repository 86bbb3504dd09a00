/* Vendor wire formats. Shapes follow the vendors' API
 * references and what the official SDKs parse; every JSON value is built with
 * cJSON. The per-token event is printed once per generation as a template with holes, because
 * it is the hot path (one event per token per stream). */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine.h"
#include "gemini.h"

/* ---- small helpers -------------------------------------------------------------------- */

static char *frame(const char *event, cJSON *data)
{
    char *json = data ? cJSON_PrintUnformatted(data) : NULL;
    cJSON_Delete(data);
    if (json == NULL)
        return NULL;
    size_t n = strlen(json) + (event ? strlen(event) : 0) + 32;
    char *out = malloc(n);
    if (out) {
        if (event)
            snprintf(out, n, "event: %s\ndata: %s\n\n", event, json);
        else
            snprintf(out, n, "data: %s\n\n", json);
    }
    free(json);
    return out;
}

/* Appends 'add' to *acc (both malloc'd); frees 'add'. On failure frees *acc and sets NULL. */
static void cat(char **acc, char *add)
{
    if (*acc == NULL) {
        free(add);
        return;
    }
    if (add == NULL) {
        free(*acc);
        *acc = NULL;
        return;
    }
    size_t a = strlen(*acc), b = strlen(add);
    char *tmp = realloc(*acc, a + b + 1);
    if (tmp == NULL) {
        free(*acc);
        free(add);
        *acc = NULL;
        return;
    }
    memcpy(tmp + a, add, b + 1);
    free(add);
    *acc = tmp;
}

static char *empty(void)
{
    return calloc(1, 1);
}

char *wire_text(uint64_t n)
{
    size_t len = engine_text_len(n);
    char *s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        int w = engine_token_text(i, s + off, len + 1 - off);
        if (w < 0) {
            free(s);
            return NULL;
        }
        off += (size_t)w;
    }
    s[off] = '\0';
    return s;
}

static cJSON *add_raw_seq(cJSON *o)
{
    static const char hole[] = {WIRE_HOLE_SEQ, '\0'};
    return cJSON_AddRawToObject(o, "sequence_number", hole);
}

/* ---- ids and template ------------------------------------------------------------------ */

static cJSON *chat_chunk(const struct wire_gen *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", g->id);
    cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
    cJSON_AddNumberToObject(o, "created", (double)g->created);
    cJSON_AddStringToObject(o, "model", g->model);
    cJSON_AddNullToObject(o, "system_fingerprint");
    return o;
}

static cJSON *chat_choice(cJSON *chunk, const char *finish)
{
    cJSON *choices = cJSON_AddArrayToObject(chunk, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *delta = cJSON_AddObjectToObject(c, "delta");
    cJSON_AddNullToObject(c, "logprobs");
    if (finish)
        cJSON_AddStringToObject(c, "finish_reason", finish);
    else
        cJSON_AddNullToObject(c, "finish_reason");
    return delta;
}

static char *build_template(const struct wire_gen *g)
{
    static const char text_hole[] = {'"', WIRE_HOLE_TEXT, '"', '\0'};
    cJSON *o;
    const char *event = NULL;
    switch (g->api) {
    case API_CHAT: {
        o = chat_chunk(g);
        cJSON *delta = chat_choice(o, NULL);
        cJSON_AddRawToObject(delta, "content", text_hole);
        if (g->include_usage)
            cJSON_AddNullToObject(o, "usage");
        break;
    }
    case API_RESPONSES:
        event = "response.output_text.delta";
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", event);
        add_raw_seq(o);
        cJSON_AddStringToObject(o, "item_id", g->item_id);
        cJSON_AddNumberToObject(o, "output_index", 0);
        cJSON_AddNumberToObject(o, "content_index", 0);
        cJSON_AddRawToObject(o, "delta", text_hole);
        cJSON_AddArrayToObject(o, "logprobs");
        break;
    case API_MESSAGES: {
        event = "content_block_delta";
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", event);
        cJSON_AddNumberToObject(o, "index", 0);
        cJSON *d = cJSON_AddObjectToObject(o, "delta");
        cJSON_AddStringToObject(d, "type", "text_delta");
        cJSON_AddRawToObject(d, "text", text_hole);
        break;
    }
    case API_GEMINI:
        return gemini_token_template(g);
    default:
        return NULL;
    }
    return frame(event, o);
}

int wire_gen_init(struct wire_gen *g, const struct request *rq, uint64_t seq, int64_t now_s)
{
    memset(g, 0, sizeof *g);
    g->api = rq->api;
    switch (rq->api) {
    case API_CHAT:
        snprintf(g->id, sizeof g->id, "chatcmpl-tg%016llx", (unsigned long long)seq);
        break;
    case API_RESPONSES:
        snprintf(g->id, sizeof g->id, "resp_tg%016llx", (unsigned long long)seq);
        snprintf(g->item_id, sizeof g->item_id, "msg_tg%016llx", (unsigned long long)seq);
        break;
    case API_MESSAGES:
        snprintf(g->id, sizeof g->id, "msg_tg%016llx", (unsigned long long)seq);
        break;
    case API_GEMINI:
        snprintf(g->id, sizeof g->id, "tg%016llx", (unsigned long long)seq);
        break;
    }
    snprintf(g->model, sizeof g->model, "%s", rq->model);
    g->created = now_s;
    g->input_tokens = rq->input_tokens;
    g->include_usage = rq->include_usage;
    g->background = rq->background;
    g->json_stream = rq->api == API_GEMINI && rq->json_stream;
    g->max_tokens = rq->max_tokens;
    g->tmpl = build_template(g);
    return g->tmpl ? 0 : -1;
}

void wire_gen_cleanup(struct wire_gen *g)
{
    free(g->tmpl);
    g->tmpl = NULL;
}

int wire_stream_token(const struct wire_gen *g, uint64_t i, char *buf, size_t len)
{
    char text[32], seq[32], count[32], total[32];
    int tl = engine_token_text(i, text, sizeof text);
    int sl = snprintf(seq, sizeof seq, "%llu",
                      (unsigned long long)(i + WIRE_RESP_FIRST_DELTA));
    int cl = snprintf(count, sizeof count, "%llu", (unsigned long long)(i + 1));
    int ttl = snprintf(total, sizeof total, "%llu",
                       (unsigned long long)(g->input_tokens + i + 1));
    if (tl < 0 || sl < 0 || cl < 0 || ttl < 0)
        return -1;
    const char *p = g->tmpl;
    if (g->json_stream && i == 0)
        p += GEMINI_ARRAY_SEP_LEN; /* the array's first element */
    size_t o = 0;
    for (; *p; p++) {
        const char *ins = NULL;
        size_t il = 0;
        if (*p == WIRE_HOLE_SEQ) {
            ins = seq;
            il = (size_t)sl;
        } else if (*p == WIRE_HOLE_TEXT) {
            ins = text;
            il = (size_t)tl;
        } else if (*p == WIRE_HOLE_COUNT) {
            ins = count;
            il = (size_t)cl;
        } else if (*p == WIRE_HOLE_TOTAL) {
            ins = total;
            il = (size_t)ttl;
        }
        if (ins) {
            if (o + il >= len)
                return -1;
            memcpy(buf + o, ins, il);
            o += il;
        } else {
            if (o + 1 >= len)
                return -1;
            buf[o++] = *p;
        }
    }
    buf[o] = '\0';
    return (int)o;
}

const char *wire_stream_content_type(const struct wire_gen *g)
{
    if (g->api == API_GEMINI)
        return g->json_stream ? "application/json; charset=UTF-8" : "text/event-stream";
    return "text/event-stream; charset=utf-8";
}

/* ---- Responses objects ------------------------------------------------------------------ */

static cJSON *resp_usage(const struct wire_gen *g, int64_t usage)
{
    if (usage < 0)
        return cJSON_CreateNull();
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "input_tokens", (double)g->input_tokens);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(u, "input_tokens_details"), "cached_tokens",
                            0);
    cJSON_AddNumberToObject(u, "output_tokens", (double)usage);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(u, "output_tokens_details"),
                            "reasoning_tokens", 0);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(g->input_tokens + (uint64_t)usage));
    return u;
}

static cJSON *resp_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "output_text");
    cJSON_AddStringToObject(p, "text", text);
    cJSON_AddArrayToObject(p, "annotations");
    cJSON_AddArrayToObject(p, "logprobs");
    return p;
}

/* The message item; text NULL gives an empty content list. */
static cJSON *resp_item(const struct wire_gen *g, const char *status, const char *text)
{
    cJSON *it = cJSON_CreateObject();
    cJSON_AddStringToObject(it, "id", g->item_id);
    cJSON_AddStringToObject(it, "type", "message");
    cJSON_AddStringToObject(it, "status", status);
    cJSON_AddStringToObject(it, "role", "assistant");
    cJSON *content = cJSON_AddArrayToObject(it, "content");
    if (text)
        cJSON_AddItemToArray(content, resp_part(text));
    return it;
}

/* Response object; 'text' NULL gives "output":[] (before the output item exists). */
static cJSON *resp_object(const struct wire_gen *g, const char *status, const char *text,
                          const char *item_status, int64_t usage, const char *incomplete)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", g->id);
    cJSON_AddStringToObject(r, "object", "response");
    cJSON_AddNumberToObject(r, "created_at", (double)g->created);
    cJSON_AddStringToObject(r, "status", status);
    cJSON_AddBoolToObject(r, "background", g->background);
    cJSON_AddNullToObject(r, "error");
    if (incomplete)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "incomplete_details"), "reason",
                                incomplete);
    else
        cJSON_AddNullToObject(r, "incomplete_details");
    cJSON_AddNullToObject(r, "instructions");
    if (g->max_tokens < 0)
        cJSON_AddNullToObject(r, "max_output_tokens");
    else
        cJSON_AddNumberToObject(r, "max_output_tokens", (double)g->max_tokens);
    cJSON_AddStringToObject(r, "model", g->model);
    cJSON *out = cJSON_AddArrayToObject(r, "output");
    if (text)
        cJSON_AddItemToArray(out, resp_item(g, item_status, text));
    cJSON_AddBoolToObject(r, "parallel_tool_calls", 1);
    cJSON_AddNullToObject(r, "previous_response_id");
    cJSON *reas = cJSON_AddObjectToObject(r, "reasoning");
    cJSON_AddNullToObject(reas, "effort");
    cJSON_AddNullToObject(reas, "summary");
    cJSON_AddBoolToObject(r, "store", 1);
    cJSON_AddNumberToObject(r, "temperature", 1.0);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "text"), "format"),
                            "type", "text");
    cJSON_AddStringToObject(r, "tool_choice", "auto");
    cJSON_AddArrayToObject(r, "tools");
    cJSON_AddNumberToObject(r, "top_p", 1.0);
    cJSON_AddStringToObject(r, "truncation", "disabled");
    cJSON_AddItemToObject(r, "usage", resp_usage(g, usage));
    cJSON_AddNullToObject(r, "user");
    cJSON_AddObjectToObject(r, "metadata");
    return r;
}

static cJSON *resp_event(const char *type, uint64_t seq)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNumberToObject(e, "sequence_number", (double)seq);
    return e;
}

char *wire_response_object(const struct wire_gen *g, uint64_t n, const char *status,
                           int64_t usage)
{
    char *text = wire_text(n);
    if (text == NULL)
        return NULL;
    int done = strcmp(status, "completed") == 0;
    int fresh = strcmp(status, "queued") == 0 && n == 0;
    const char *item_status = done ? "completed"
                              : (strcmp(status, "in_progress") == 0 ||
                                 strcmp(status, "queued") == 0)
                                  ? "in_progress"
                                  : "incomplete";
    cJSON *r = resp_object(g, status, fresh ? NULL : text, item_status, usage,
                           strcmp(status, "incomplete") == 0 ? "max_output_tokens" : NULL);
    free(text);
    char *s = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return s;
}

/* ---- stream open / close ----------------------------------------------------------------- */

char *wire_stream_open(const struct wire_gen *g, int64_t starting_after)
{
    if (g->api == API_GEMINI)
        return gemini_stream_open(g);
    char *acc = empty();
    switch (g->api) {
    case API_CHAT: {
        cJSON *o = chat_chunk(g);
        cJSON *delta = chat_choice(o, NULL);
        cJSON_AddStringToObject(delta, "role", "assistant");
        cJSON_AddStringToObject(delta, "content", "");
        if (g->include_usage)
            cJSON_AddNullToObject(o, "usage");
        cat(&acc, frame(NULL, o));
        break;
    }
    case API_RESPONSES: {
        static const char *const names[] = {"response.created", "response.in_progress",
                                            "response.output_item.added",
                                            "response.content_part.added"};
        for (int64_t seq = 0; seq < WIRE_RESP_FIRST_DELTA; seq++) {
            if (seq <= starting_after)
                continue;
            cJSON *e = resp_event(names[seq], (uint64_t)seq);
            if (seq < 2) {
                cJSON_AddItemToObject(e, "response",
                                      resp_object(g, "in_progress", NULL, NULL, -1, NULL));
            } else if (seq == 2) {
                cJSON_AddNumberToObject(e, "output_index", 0);
                cJSON_AddItemToObject(e, "item", resp_item(g, "in_progress", NULL));
            } else {
                cJSON_AddStringToObject(e, "item_id", g->item_id);
                cJSON_AddNumberToObject(e, "output_index", 0);
                cJSON_AddNumberToObject(e, "content_index", 0);
                cJSON *p = resp_part("");
                cJSON_DeleteItemFromObject(p, "logprobs");
                cJSON_AddItemToObject(e, "part", p);
            }
            cat(&acc, frame(names[seq], e));
        }
        break;
    }
    case API_MESSAGES: {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "message_start");
        cJSON *m = cJSON_AddObjectToObject(e, "message");
        cJSON_AddStringToObject(m, "id", g->id);
        cJSON_AddStringToObject(m, "type", "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddArrayToObject(m, "content");
        cJSON_AddStringToObject(m, "model", g->model);
        cJSON_AddNullToObject(m, "stop_reason");
        cJSON_AddNullToObject(m, "stop_sequence");
        cJSON *u = cJSON_AddObjectToObject(m, "usage");
        cJSON_AddNumberToObject(u, "input_tokens", (double)g->input_tokens);
        cJSON_AddNumberToObject(u, "output_tokens", 1);
        cat(&acc, frame("message_start", e));
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "content_block_start");
        cJSON_AddNumberToObject(e, "index", 0);
        cJSON *cb = cJSON_AddObjectToObject(e, "content_block");
        cJSON_AddStringToObject(cb, "type", "text");
        cJSON_AddStringToObject(cb, "text", "");
        cat(&acc, frame("content_block_start", e));
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "ping");
        cat(&acc, frame("ping", e));
        break;
    }
    case API_GEMINI:
        break;
    }
    return acc;
}

static char *chat_close(const struct wire_gen *g, enum wire_end end, int64_t usage)
{
    char *acc = empty();
    cJSON *fin = chat_chunk(g);
    chat_choice(fin, end == WIRE_END_LENGTH ? "length" : "stop");
    if (g->include_usage)
        cJSON_AddNullToObject(fin, "usage");
    cat(&acc, frame(NULL, fin));
    if (g->include_usage && usage >= 0) {
        cJSON *u = chat_chunk(g);
        cJSON_AddArrayToObject(u, "choices");
        cJSON *us = cJSON_AddObjectToObject(u, "usage");
        cJSON_AddNumberToObject(us, "prompt_tokens", (double)g->input_tokens);
        cJSON_AddNumberToObject(us, "completion_tokens", (double)usage);
        cJSON_AddNumberToObject(us, "total_tokens", (double)(g->input_tokens + (uint64_t)usage));
        cat(&acc, frame(NULL, u));
    }
    if (acc)
        cat(&acc, strdup("data: [DONE]\n\n"));
    return acc;
}

static char *responses_close(const struct wire_gen *g, uint64_t n, enum wire_end end,
                             int64_t usage, int64_t starting_after)
{
    char *text = wire_text(n);
    if (text == NULL)
        return NULL;
    const char *item_status = end == WIRE_END_STOP ? "completed" : "incomplete";
    uint64_t base = WIRE_RESP_FIRST_DELTA + n;
    char *acc = empty();
    for (uint64_t k = 0; k < 4 && acc; k++) {
        uint64_t seq = base + k;
        if ((int64_t)seq <= starting_after)
            continue;
        cJSON *e;
        const char *name;
        if (k == 0) {
            name = "response.output_text.done";
            e = resp_event(name, seq);
            cJSON_AddStringToObject(e, "item_id", g->item_id);
            cJSON_AddNumberToObject(e, "output_index", 0);
            cJSON_AddNumberToObject(e, "content_index", 0);
            cJSON_AddStringToObject(e, "text", text);
            cJSON_AddArrayToObject(e, "logprobs");
        } else if (k == 1) {
            name = "response.content_part.done";
            e = resp_event(name, seq);
            cJSON_AddStringToObject(e, "item_id", g->item_id);
            cJSON_AddNumberToObject(e, "output_index", 0);
            cJSON_AddNumberToObject(e, "content_index", 0);
            cJSON_AddItemToObject(e, "part", resp_part(text));
        } else if (k == 2) {
            name = "response.output_item.done";
            e = resp_event(name, seq);
            cJSON_AddNumberToObject(e, "output_index", 0);
            cJSON_AddItemToObject(e, "item", resp_item(g, item_status, text));
        } else {
            /* A cancelled response has no event of its own in the SDKs' lists; response.incomplete
             * is a lifecycle event every SDK version accepts, and status says "cancelled". */
            const char *status = end == WIRE_END_STOP     ? "completed"
                                 : end == WIRE_END_LENGTH ? "incomplete"
                                                          : "cancelled";
            name = end == WIRE_END_STOP ? "response.completed" : "response.incomplete";
            e = resp_event(name, seq);
            cJSON_AddItemToObject(
                e, "response",
                resp_object(g, status, text, item_status, usage,
                            end == WIRE_END_LENGTH ? "max_output_tokens" : NULL));
        }
        cat(&acc, frame(name, e));
    }
    free(text);
    return acc;
}

static char *messages_close(uint64_t n, enum wire_end end, int64_t usage)
{
    char *acc = empty();
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "content_block_stop");
    cJSON_AddNumberToObject(e, "index", 0);
    cat(&acc, frame("content_block_stop", e));
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "message_delta");
    cJSON *d = cJSON_AddObjectToObject(e, "delta");
    cJSON_AddStringToObject(d, "stop_reason", end == WIRE_END_LENGTH ? "max_tokens" : "end_turn");
    cJSON_AddNullToObject(d, "stop_sequence");
    /* the SDK reads usage.output_tokens unconditionally: always send it */
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(e, "usage"), "output_tokens",
                            (double)(usage >= 0 ? (uint64_t)usage : n));
    cat(&acc, frame("message_delta", e));
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "message_stop");
    cat(&acc, frame("message_stop", e));
    return acc;
}

char *wire_stream_close(const struct wire_gen *g, uint64_t n, enum wire_end end, int64_t usage,
                        int64_t starting_after)
{
    switch (g->api) {
    case API_CHAT:
        return chat_close(g, end, usage);
    case API_RESPONSES:
        return responses_close(g, n, end, usage, starting_after);
    case API_MESSAGES:
        return messages_close(n, end, usage);
    case API_GEMINI:
        return gemini_stream_close(g, n, end, usage);
    }
    return NULL;
}

char *wire_stream_error(const struct wire_gen *g, uint64_t n)
{
    cJSON *e = cJSON_CreateObject();
    switch (g->api) {
    case API_CHAT: {
        /* recorded OpenAI behaviour: a bare data frame with an error object, no [DONE] */
        cJSON *er = cJSON_AddObjectToObject(e, "error");
        cJSON_AddStringToObject(er, "message", "The server had an error while processing your "
                                               "request. Sorry about that!");
        cJSON_AddStringToObject(er, "type", "server_error");
        cJSON_AddNullToObject(er, "param");
        cJSON_AddNullToObject(er, "code");
        return frame(NULL, e);
    }
    case API_RESPONSES:
        cJSON_AddStringToObject(e, "type", "error");
        cJSON_AddStringToObject(e, "code", "server_error");
        cJSON_AddStringToObject(e, "message", "The model failed to generate a response.");
        cJSON_AddNullToObject(e, "param");
        cJSON_AddNumberToObject(e, "sequence_number", (double)(WIRE_RESP_FIRST_DELTA + n));
        return frame("error", e);
    case API_MESSAGES: {
        cJSON_AddStringToObject(e, "type", "error");
        cJSON *er = cJSON_AddObjectToObject(e, "error");
        cJSON_AddStringToObject(er, "type", "overloaded_error");
        cJSON_AddStringToObject(er, "message", "Overloaded");
        return frame("error", e);
    }
    case API_GEMINI:
        cJSON_Delete(e);
        return gemini_stream_error(g, n);
    }
    cJSON_Delete(e);
    return NULL;
}

char *wire_body(const struct wire_gen *g, uint64_t n, enum wire_end end, int64_t usage)
{
    if (usage < 0)
        usage = (int64_t)n;
    if (g->api == API_RESPONSES)
        return wire_response_object(g, n,
                                    end == WIRE_END_STOP     ? "completed"
                                    : end == WIRE_END_LENGTH ? "incomplete"
                                                             : "cancelled",
                                    usage);
    char *text = wire_text(n);
    if (text == NULL)
        return NULL;
    if (g->api == API_GEMINI) {
        char *s = gemini_body(g, text, n, end, usage);
        free(text);
        return s;
    }
    cJSON *o = cJSON_CreateObject();
    if (g->api == API_CHAT) {
        cJSON_AddStringToObject(o, "id", g->id);
        cJSON_AddStringToObject(o, "object", "chat.completion");
        cJSON_AddNumberToObject(o, "created", (double)g->created);
        cJSON_AddStringToObject(o, "model", g->model);
        cJSON *choices = cJSON_AddArrayToObject(o, "choices");
        cJSON *c = cJSON_CreateObject();
        cJSON_AddItemToArray(choices, c);
        cJSON_AddNumberToObject(c, "index", 0);
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", text);
        cJSON_AddNullToObject(m, "refusal");
        cJSON_AddNullToObject(c, "logprobs");
        cJSON_AddStringToObject(c, "finish_reason", end == WIRE_END_LENGTH ? "length" : "stop");
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)g->input_tokens);
        cJSON_AddNumberToObject(u, "completion_tokens", (double)usage);
        cJSON_AddNumberToObject(u, "total_tokens", (double)(g->input_tokens + (uint64_t)usage));
        cJSON_AddNullToObject(o, "system_fingerprint");
    } else {
        cJSON_AddStringToObject(o, "id", g->id);
        cJSON_AddStringToObject(o, "type", "message");
        cJSON_AddStringToObject(o, "role", "assistant");
        cJSON_AddStringToObject(o, "model", g->model);
        cJSON *content = cJSON_AddArrayToObject(o, "content");
        cJSON *t = cJSON_CreateObject();
        cJSON_AddItemToArray(content, t);
        cJSON_AddStringToObject(t, "type", "text");
        cJSON_AddStringToObject(t, "text", text);
        cJSON_AddStringToObject(o, "stop_reason", end == WIRE_END_LENGTH ? "max_tokens"
                                                                         : "end_turn");
        cJSON_AddNullToObject(o, "stop_sequence");
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "input_tokens", (double)g->input_tokens);
        cJSON_AddNumberToObject(u, "output_tokens", (double)usage);
    }
    free(text);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

const char *wire_error_type(enum api api, int status)
{
    if (api == API_GEMINI)
        return gemini_status(status);
    if (api == API_MESSAGES) {
        switch (status) {
        case 400:
            return "invalid_request_error";
        case 401:
            return "authentication_error";
        case 403:
            return "permission_error";
        case 404:
        case 405:
            return "not_found_error";
        case 413:
            return "request_too_large";
        case 429:
            return "rate_limit_error";
        case 504:
            return "timeout_error";
        case 529:
            return "overloaded_error";
        default:
            return status >= 500 ? "api_error" : "invalid_request_error";
        }
    }
    switch (status) {
    case 401:
        return "invalid_request_error";
    case 429:
        return "requests";
    default:
        return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

char *wire_error_body(enum api api, int status, const char *type, const char *code,
                      const char *param, const char *message, const char *request_id)
{
    if (api == API_GEMINI)
        return gemini_error_body(status, message); /* its status word follows the code */
    if (type == NULL)
        type = wire_error_type(api, status);
    cJSON *o = cJSON_CreateObject();
    if (api == API_MESSAGES) {
        cJSON_AddStringToObject(o, "type", "error");
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "type", type);
        cJSON_AddStringToObject(e, "message", message);
        if (request_id)
            cJSON_AddStringToObject(o, "request_id", request_id);
    } else {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "message", message);
        cJSON_AddStringToObject(e, "type", type);
        if (param && *param)
            cJSON_AddStringToObject(e, "param", param);
        else
            cJSON_AddNullToObject(e, "param");
        if (code)
            cJSON_AddStringToObject(e, "code", code);
        else
            cJSON_AddNullToObject(e, "code");
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
