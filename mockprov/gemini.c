/* Google Gemini's wire format. Shapes follow a recorded gemini-2.5-flash stream (every chunk
 * carries candidates[0].content {parts, role "model"}, index, a cumulative usageMetadata,
 * modelVersion and responseId; the last one adds finishReason) and the error handling of the JS
 * SDK (googleapis/js-genai _api_client.ts): see ../shared/WIRE.md section 6. Reasoning comes
 * first as thought parts ("thought": true) counted in thoughtsTokenCount, apart from
 * candidatesTokenCount and inside totalTokenCount (the SDK's usageMetadata fields). A tool call is
 * one functionCall part {name, args}, sent whole once its last argument token exists. */
#include "gemini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* SSE framing (a blank line ends the event; no event: line), or an array element. */
static char *frame(const struct wire_gen *g, cJSON *o, int sep)
{
    char *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (json == NULL)
        return NULL;
    size_t n = strlen(json) + 16;
    char *out = malloc(n);
    if (out) {
        if (g->json_stream)
            snprintf(out, n, "%s%s", sep ? GEMINI_ARRAY_SEP : "", json);
        else
            snprintf(out, n, "data: %s\n\n", json);
    }
    free(json);
    return out;
}

static const char *finish_reason(enum wire_end end)
{
    switch (end) {
    case WIRE_END_STOP:
        return "STOP";
    case WIRE_END_LENGTH:
        return "MAX_TOKENS";
    case WIRE_END_CANCELLED:
        break;
    }
    return "OTHER";
}

/* One part: text_raw (a hole template) when set, else 'text'; a thought part when 'thought'. */
static cJSON *part(const char *text_raw, const char *text, int thought)
{
    cJSON *p = cJSON_CreateObject();
    if (text_raw)
        cJSON_AddRawToObject(p, "text", text_raw);
    else
        cJSON_AddStringToObject(p, "text", text);
    if (thought)
        cJSON_AddBoolToObject(p, "thought", 1);
    return p;
}

/* A usage count: the raw hole when set, else the number. */
static void add_count(cJSON *u, const char *key, const char *raw, uint64_t n)
{
    if (raw)
        cJSON_AddRawToObject(u, key, raw);
    else
        cJSON_AddNumberToObject(u, key, (double)n);
}

/* A GenerateContentResponse with 'parts' (taken). The counts as add_count: candidates, thoughts
 * (present once the generation reasons), total (NULL raw: the sum). finish NULL: none (a
 * middle chunk). */
static cJSON *response(const struct wire_gen *g, cJSON *parts, const char *count_raw,
                       uint64_t count, const char *thoughts_raw, uint64_t thoughts,
                       const char *total_raw, const char *finish)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *cands = cJSON_AddArrayToObject(o, "candidates");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(cands, c);
    cJSON *content = cJSON_AddObjectToObject(c, "content");
    cJSON_AddItemToObject(content, "parts", parts);
    cJSON_AddStringToObject(content, "role", "model");
    if (finish)
        cJSON_AddStringToObject(c, "finishReason", finish);
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *u = cJSON_AddObjectToObject(o, "usageMetadata");
    cJSON_AddNumberToObject(u, "promptTokenCount", (double)g->input_tokens);
    add_count(u, "candidatesTokenCount", count_raw, count);
    if (g->shape.reasoning > 0)
        add_count(u, "thoughtsTokenCount", thoughts_raw, thoughts);
    add_count(u, "totalTokenCount", total_raw, g->input_tokens + count + thoughts);
    cJSON *details = cJSON_AddArrayToObject(u, "promptTokensDetails");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToArray(details, d);
    cJSON_AddStringToObject(d, "modality", "TEXT");
    cJSON_AddNumberToObject(d, "tokenCount", (double)g->input_tokens);
    cJSON_AddStringToObject(o, "modelVersion", g->model);
    cJSON_AddStringToObject(o, "responseId", g->id);
    return o;
}

static cJSON *one_part(cJSON *p)
{
    cJSON *parts = cJSON_CreateArray();
    cJSON_AddItemToArray(parts, p);
    return parts;
}

static const char text_hole[] = {'"', WIRE_HOLE_TEXT, '"', '\0'};
static const char count_hole[] = {WIRE_HOLE_COUNT, '\0'};
static const char total_hole[] = {WIRE_HOLE_TOTAL, '\0'};

char *gemini_token_template(const struct wire_gen *g)
{
    /* every reasoning token came before the first visible one */
    return frame(g,
                 response(g, one_part(part(text_hole, NULL, 0)), count_hole, 0, NULL,
                          g->shape.reasoning, total_hole, NULL),
                 1);
}

char *gemini_thought_template(const struct wire_gen *g)
{
    return frame(
        g,
        response(g, one_part(part(text_hole, NULL, 1)), NULL, 0, count_hole, 0, total_hole, NULL),
        1);
}

/* The args object of a call: its arguments' JSON text parsed (the mock writes it, so it
 * parses), else an empty object. */
static cJSON *call_part(const char *args)
{
    cJSON *p = cJSON_CreateObject();
    cJSON *fc = cJSON_AddObjectToObject(p, "functionCall");
    cJSON_AddStringToObject(fc, "name", WIRE_TOOL_NAME);
    cJSON *a = cJSON_Parse(args);
    cJSON_AddItemToObject(fc, "args", a ? a : cJSON_CreateObject());
    return p;
}

char *gemini_call_chunk(const struct wire_gen *g, const char *args, uint64_t count, int first)
{
    uint64_t total = g->input_tokens + g->shape.reasoning + count;
    char raw[32];
    snprintf(raw, sizeof raw, "%llu", (unsigned long long)total);
    char *s = frame(
        g, response(g, one_part(call_part(args)), NULL, count, NULL, g->shape.reasoning, raw, NULL),
        !first);
    return s;
}

/* Whether the stream wrote any chunk for the tally: a held call goes out only with the last
 * planned token. */
static int wrote_any(const struct wire_gen *g, uint64_t tokens, uint64_t reasoning)
{
    if (reasoning > 0)
        return 1;
    if (!g->shape.tool_call)
        return tokens > 0;
    return (tokens < g->shape.tool_text ? tokens : g->shape.tool_text) > 0 ||
           (tokens > g->shape.tool_text && tokens >= g->shape.visible);
}

char *gemini_stream_open(const struct wire_gen *g)
{
    return strdup(g->json_stream ? "[" : "");
}

/* An array stream's last element, then its closing bracket. */
static char *close_array(char *last)
{
    if (last == NULL)
        return NULL;
    size_t n = strlen(last);
    char *out = realloc(last, n + 2);
    if (out == NULL) {
        free(last);
        return NULL;
    }
    memcpy(out + n, "]", 2);
    return out;
}

/* The tally's counts: candidates (visible) and thoughts (reasoning). */
static void counts(const struct wire_tally *t, uint64_t *count, uint64_t *thoughts)
{
    *thoughts =
        t->usage >= 0 && t->usage_reasoning >= 0 ? (uint64_t)t->usage_reasoning : t->reasoning;
    *count = t->usage >= 0 ? (uint64_t)t->usage - (*thoughts <= (uint64_t)t->usage ? *thoughts : 0)
                           : t->tokens;
}

char *gemini_stream_close(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end)
{
    uint64_t count, thoughts;
    counts(t, &count, &thoughts);
    /* the last chunk carries no new text: every token went out in its own chunk */
    char *s = frame(g,
                    response(g, one_part(part(NULL, "", 0)), NULL, count, NULL, thoughts, NULL,
                             finish_reason(end)),
                    wrote_any(g, t->tokens, t->reasoning));
    return g->json_stream ? close_array(s) : s;
}

char *gemini_stream_error(const struct wire_gen *g, uint64_t n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(e, "code", 500);
    cJSON_AddStringToObject(e, "message",
                            "An internal error has occurred. Please retry or "
                            "report in "
                            "https://developers.generativeai.google/guide/"
                            "troubleshooting");
    cJSON_AddStringToObject(e, "status", "INTERNAL");
    /* an error comes after visible tokens (so after the whole reasoning), or before any */
    char *s = frame(g, o, wrote_any(g, n, n > 0 ? g->shape.reasoning : 0));
    return g->json_stream ? close_array(s) : s;
}

char *gemini_body(const struct wire_gen *g, const struct wire_tally *t, const char *reasoning,
                  const char *text, const char *args, enum wire_end end)
{
    uint64_t count, thoughts;
    counts(t, &count, &thoughts);
    cJSON *parts = cJSON_CreateArray();
    if (g->shape.reasoning > 0)
        cJSON_AddItemToArray(parts, part(NULL, reasoning, 1));
    if (text)
        cJSON_AddItemToArray(parts, part(NULL, text, 0));
    if (args)
        cJSON_AddItemToArray(parts, call_part(args));
    cJSON *o = response(g, parts, NULL, count, NULL, thoughts, NULL, finish_reason(end));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

const char *gemini_status(int status)
{
    switch (status) {
    case 400:
        return "INVALID_ARGUMENT";
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
    case 405: /* Google routes by method and path: another method finds no route */
        return "NOT_FOUND";
    case 409:
        return "ABORTED";
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 499:
        return "CANCELLED";
    case 501:
        return "UNIMPLEMENTED";
    case 503:
    case 529:
        return "UNAVAILABLE";
    case 408:
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
    }
}

char *gemini_error_body(int status, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(e, "code", status);
    cJSON_AddStringToObject(e, "message", message ? message : "");
    cJSON_AddStringToObject(e, "status", gemini_status(status));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
