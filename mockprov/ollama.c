/* Ollama's wire format, as its server writes it (api/types.go ChatResponse, GenerateResponse and
 * Metrics; server/routes.go streamResponse: one json.Marshal a line, application/x-ndjson):
 * every line has model, created_at (RFC 3339 in UTC with nanoseconds) and done; chat carries
 * message {role, content[, thinking]}, generate response[, thinking]; the last line adds
 * done_reason and the metrics, durations in ns. */
#include "ollama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

/* One object a line. */
static char *line(cJSON *o)
{
    char *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (json == NULL)
        return NULL;
    size_t n = strlen(json) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s\n", json);
    free(json);
    return out;
}

/* {model, created_at}: the generation's start, as Go's time.Time marshals it in UTC. */
static cJSON *head(const struct wire_gen *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", g->model);
    char ts[48];
    time_t s = (time_t)g->created;
    struct tm tm;
    if (gmtime_r(&s, &tm) == NULL ||
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S.000000000Z", &tm) == 0)
        snprintf(ts, sizeof ts, "1970-01-01T00:00:00Z");
    cJSON_AddStringToObject(o, "created_at", ts);
    return o;
}

/* The token's text: chat's message {role, content, thinking?}, generate's response and
 * thinking. Raw values when *_raw. */
static void add_text(cJSON *o, const struct wire_gen *g, const char *content_raw,
                     const char *content, const char *thinking_raw, const char *thinking)
{
    cJSON *dst = o;
    if (!g->ollama_generate) {
        dst = cJSON_AddObjectToObject(o, "message");
        cJSON_AddStringToObject(dst, "role", "assistant");
    }
    const char *key = g->ollama_generate ? "response" : "content";
    if (content_raw)
        cJSON_AddRawToObject(dst, key, content_raw);
    else
        cJSON_AddStringToObject(dst, key, content ? content : "");
    if (thinking_raw)
        cJSON_AddRawToObject(dst, "thinking", thinking_raw);
    else if (thinking)
        cJSON_AddStringToObject(dst, "thinking", thinking);
}

static const char text_hole[] = {'"', WIRE_HOLE_TEXT, '"', '\0'};

char *ollama_token_template(const struct wire_gen *g)
{
    cJSON *o = head(g);
    add_text(o, g, text_hole, NULL, NULL, NULL);
    cJSON_AddBoolToObject(o, "done", 0);
    return line(o);
}

char *ollama_thinking_template(const struct wire_gen *g)
{
    cJSON *o = head(g);
    add_text(o, g, NULL, "", text_hole, NULL);
    cJSON_AddBoolToObject(o, "done", 0);
    return line(o);
}

/* done true, done_reason, then the metrics in api.Metrics' order. */
static void add_done(cJSON *o, const struct wire_gen *g, const struct wire_tally *t,
                     enum wire_end end)
{
    cJSON_AddBoolToObject(o, "done", 1);
    cJSON_AddStringToObject(o, "done_reason", end == WIRE_END_LENGTH ? "length" : "stop");
    uint64_t eval = t->usage >= 0 ? (uint64_t)t->usage : t->tokens + t->reasoning;
    uint64_t first = g->ttft_ns <= g->elapsed_ns ? g->ttft_ns : g->elapsed_ns;
    cJSON_AddNumberToObject(o, "total_duration", (double)g->elapsed_ns);
    cJSON_AddNumberToObject(o, "load_duration", 0);
    cJSON_AddNumberToObject(o, "prompt_eval_count", (double)g->input_tokens);
    cJSON_AddNumberToObject(o, "prompt_eval_duration", (double)first);
    cJSON_AddNumberToObject(o, "eval_count", (double)eval);
    cJSON_AddNumberToObject(o, "eval_duration", (double)(g->elapsed_ns - first));
}

char *ollama_stream_close(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end)
{
    cJSON *o = head(g);
    add_text(o, g, NULL, "", NULL, NULL);
    add_done(o, g, t, end);
    return line(o);
}

char *ollama_stream_error(const struct wire_gen *g)
{
    (void)g;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error",
                            "an error was encountered while running the model: "
                            "unexpected EOF (tailgate fault)");
    return line(o);
}

char *ollama_body(const struct wire_gen *g, const struct wire_tally *t, const char *reasoning,
                  const char *text, enum wire_end end)
{
    cJSON *o = head(g);
    add_text(o, g, NULL, text, NULL, g->shape.reasoning > 0 ? reasoning : NULL);
    add_done(o, g, t, end);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *ollama_error_body(const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message ? message : "");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
