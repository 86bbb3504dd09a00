/* OpenAI's legacy text completions wire format. Shapes follow the API reference's completion
 * object and its streamed chunks (object "text_completion" in both; each choice has text, index,
 * logprobs and finish_reason; the stream has no role chunk; the usage chunk has an empty choices
 * array, as chat's does), see ../shared/WIRE.md. Reasoning, where a profile asks for it, is
 * hidden and only counted, as a reasoning model's is behind this endpoint; it has no tool calls. */
#include "completions.h"
#include "strappend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* data: JSON, then the blank line that ends the event. */
static char *frame(cJSON *o)
{
    char *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (json == NULL)
        return NULL;
    size_t n = strlen(json) + 16;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "data: %s\n\n", json);
    free(json);
    return out;
}

static const char *finish_reason(enum wire_end end)
{
    return end == WIRE_END_LENGTH ? "length" : "stop";
}

/* {id, object, created, [choices,] model}: the choices go in by the caller, before the model,
 * in the order OpenAI sends them. */
static cJSON *head(const struct wire_gen *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", g->id);
    cJSON_AddStringToObject(o, "object", "text_completion");
    cJSON_AddNumberToObject(o, "created", (double)g->created);
    return o;
}

/* choices: [{text (raw hole when text_raw), index 0, logprobs null, finish_reason}]. */
static void add_choice(cJSON *o, const char *text_raw, const char *text, const char *finish)
{
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    if (text_raw)
        cJSON_AddRawToObject(c, "text", text_raw);
    else
        cJSON_AddStringToObject(c, "text", text);
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON_AddNullToObject(c, "logprobs");
    if (finish)
        cJSON_AddStringToObject(c, "finish_reason", finish);
    else
        cJSON_AddNullToObject(c, "finish_reason");
}

static void add_usage(cJSON *o, const struct wire_gen *g, uint64_t usage)
{
    cJSON *u = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)g->input_tokens);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)usage);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(g->input_tokens + usage));
}

char *completions_token_template(const struct wire_gen *g)
{
    static const char text_hole[] = {'"', WIRE_HOLE_TEXT, '"', '\0'};
    cJSON *o = head(g);
    add_choice(o, text_hole, NULL, NULL);
    cJSON_AddStringToObject(o, "model", g->model);
    cJSON_AddNullToObject(o, "system_fingerprint");
    if (g->include_usage)
        cJSON_AddNullToObject(o, "usage"); /* every chunk says null until the usage chunk */
    return frame(o);
}

char *completions_stream_close(const struct wire_gen *g, const struct wire_tally *t,
                               enum wire_end end)
{
    cJSON *fin = head(g);
    add_choice(fin, NULL, "", finish_reason(end));
    cJSON_AddStringToObject(fin, "model", g->model);
    cJSON_AddNullToObject(fin, "system_fingerprint");
    if (g->include_usage)
        cJSON_AddNullToObject(fin, "usage");
    char *acc = frame(fin);
    if (g->include_usage && t->usage >= 0) {
        cJSON *u = head(g);
        cJSON_AddArrayToObject(u, "choices");
        cJSON_AddStringToObject(u, "model", g->model);
        cJSON_AddNullToObject(u, "system_fingerprint");
        add_usage(u, g, (uint64_t)t->usage);
        str_append(&acc, frame(u));
    }
    str_append(&acc, strdup("data: [DONE]\n\n"));
    return acc;
}

char *completions_body(const struct wire_gen *g, const struct wire_tally *t, const char *text,
                       enum wire_end end)
{
    cJSON *o = head(g);
    cJSON_AddStringToObject(o, "model", g->model);
    add_choice(o, NULL, text, finish_reason(end));
    add_usage(o, g, t->usage >= 0 ? (uint64_t)t->usage : t->tokens + t->reasoning);
    cJSON_AddNullToObject(o, "system_fingerprint");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
