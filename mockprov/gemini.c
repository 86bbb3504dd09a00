/* Google Gemini's wire format. Shapes follow a recorded gemini-2.5-flash stream (every chunk
 * carries candidates[0].content {parts, role "model"}, index, a cumulative usageMetadata,
 * modelVersion and responseId; the last one adds finishReason) and the error handling of the JS
 * SDK (googleapis/js-genai _api_client.ts): see ../shared/WIRE.md section 6. */
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

/* A GenerateContentResponse. text_raw: JSON (a hole template) when set, else 'text' as a string.
 * count_raw and total_raw likewise, else the numbers. finish NULL: none (a middle chunk). */
static cJSON *response(const struct wire_gen *g, const char *text_raw, const char *text,
                       const char *count_raw, const char *total_raw, uint64_t count,
                       const char *finish)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *cands = cJSON_AddArrayToObject(o, "candidates");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(cands, c);
    cJSON *content = cJSON_AddObjectToObject(c, "content");
    cJSON *parts = cJSON_AddArrayToObject(content, "parts");
    cJSON *p = cJSON_CreateObject();
    cJSON_AddItemToArray(parts, p);
    if (text_raw)
        cJSON_AddRawToObject(p, "text", text_raw);
    else
        cJSON_AddStringToObject(p, "text", text);
    cJSON_AddStringToObject(content, "role", "model");
    if (finish)
        cJSON_AddStringToObject(c, "finishReason", finish);
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *u = cJSON_AddObjectToObject(o, "usageMetadata");
    cJSON_AddNumberToObject(u, "promptTokenCount", (double)g->input_tokens);
    if (count_raw)
        cJSON_AddRawToObject(u, "candidatesTokenCount", count_raw);
    else
        cJSON_AddNumberToObject(u, "candidatesTokenCount", (double)count);
    if (total_raw)
        cJSON_AddRawToObject(u, "totalTokenCount", total_raw);
    else
        cJSON_AddNumberToObject(u, "totalTokenCount", (double)(g->input_tokens + count));
    cJSON *details = cJSON_AddArrayToObject(u, "promptTokensDetails");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToArray(details, d);
    cJSON_AddStringToObject(d, "modality", "TEXT");
    cJSON_AddNumberToObject(d, "tokenCount", (double)g->input_tokens);
    cJSON_AddStringToObject(o, "modelVersion", g->model);
    cJSON_AddStringToObject(o, "responseId", g->id);
    return o;
}

char *gemini_token_template(const struct wire_gen *g)
{
    static const char text_hole[] = {'"', WIRE_HOLE_TEXT, '"', '\0'};
    static const char count_hole[] = {WIRE_HOLE_COUNT, '\0'};
    static const char total_hole[] = {WIRE_HOLE_TOTAL, '\0'};
    return frame(g, response(g, text_hole, NULL, count_hole, total_hole, 0, NULL), 1);
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

char *gemini_stream_close(const struct wire_gen *g, uint64_t n, enum wire_end end, int64_t usage)
{
    uint64_t count = usage >= 0 ? (uint64_t)usage : n;
    /* the last chunk carries no new text: every token went out in its own chunk */
    char *s = frame(g, response(g, NULL, "", NULL, NULL, count, finish_reason(end)), n > 0);
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
    char *s = frame(g, o, n > 0);
    return g->json_stream ? close_array(s) : s;
}

char *gemini_body(const struct wire_gen *g, const char *text, uint64_t n, enum wire_end end,
                  int64_t usage)
{
    uint64_t count = usage >= 0 ? (uint64_t)usage : n;
    cJSON *o = response(g, NULL, text, NULL, NULL, count, finish_reason(end));
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
