/* Vendor wire formats. Shapes follow the vendors' API references and what the official SDKs
 * parse; every JSON value is built with cJSON. The per-token events (reasoning, text, tool-call
 * arguments) are printed once per generation as templates with holes, because they are the hot
 * path (one event per token per stream). */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bedrock.h"
#include "engine.h"
#include "azure.h"
#include "completions.h"
#include "gemini.h"
#include "holes.h"
#include "ollama.h"
#include "strappend.h"

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

static char *empty(void)
{
    return calloc(1, 1);
}

/* The first n words of a kind, 'len' bytes in all, written by 'word' one at a time. */
static char *words(uint64_t n, size_t len, int (*word)(uint64_t, char *, size_t))
{
    char *s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        int w = word(i, s + off, len + 1 - off);
        if (w < 0) {
            free(s);
            return NULL;
        }
        off += (size_t)w;
    }
    s[off] = '\0';
    return s;
}

char *wire_text(uint64_t n)
{
    return words(n, engine_text_len(n), engine_token_text);
}

char *wire_reasoning_text(uint64_t n)
{
    return words(n, engine_reasoning_text_len(n), engine_reasoning_text);
}

char *wire_tool_arguments(uint64_t from, uint64_t to)
{
    if (to < from)
        to = from;
    size_t a = strlen(WIRE_TOOL_ARGS_OPEN), z = strlen(WIRE_TOOL_ARGS_CLOSE);
    size_t len = a + engine_text_len(to) - engine_text_len(from) + z;
    char *s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, WIRE_TOOL_ARGS_OPEN, a);
    size_t off = a;
    for (uint64_t i = from; i < to; i++) {
        int w = engine_token_text(i, s + off, len + 1 - off);
        if (w < 0) {
            free(s);
            return NULL;
        }
        off += (size_t)w;
    }
    memcpy(s + off, WIRE_TOOL_ARGS_CLOSE, z + 1);
    return s;
}

static cJSON *add_raw_seq(cJSON *o)
{
    static const char hole[] = {WIRE_HOLE_SEQ, '\0'};
    return cJSON_AddRawToObject(o, "sequence_number", hole);
}

/* ---- layout: the parts and where their events fall ----------------------------------------- */

static int has_reasoning(const struct wire_gen *g)
{
    return g->shape.reasoning > 0;
}

/* The text part exists unless a tool call starts at the first visible token. */
static int has_text(const struct wire_gen *g)
{
    return !g->shape.tool_call || g->shape.tool_text > 0;
}

static enum wire_part first_part(const struct wire_gen *g)
{
    if (has_reasoning(g))
        return WIRE_PART_REASONING;
    return has_text(g) ? WIRE_PART_TEXT : WIRE_PART_TOOL;
}

static enum wire_part part_of_token(const struct wire_gen *g, uint64_t i)
{
    return g->shape.tool_call && i >= g->shape.tool_text ? WIRE_PART_TOOL : WIRE_PART_TEXT;
}

/* Output index (Responses) or content block index (Anthropic) of a part. */
static int part_index(const struct wire_gen *g, enum wire_part p)
{
    int k = 0;
    if (p == WIRE_PART_REASONING)
        return 0;
    k += has_reasoning(g);
    if (p == WIRE_PART_TEXT)
        return k;
    return k + has_text(g);
}

/* Responses: sequence number of a part's first event. Each part before it is two opening
 * events, its tokens (all of them: a later part exists only once the earlier ones are whole)
 * and three closing events. */
static uint64_t part_seq(const struct wire_gen *g, enum wire_part p)
{
    uint64_t s = 2;
    if (p == WIRE_PART_REASONING)
        return s;
    if (has_reasoning(g))
        s += 5 + g->shape.reasoning;
    if (p == WIRE_PART_TEXT)
        return s;
    if (has_text(g))
        s += 5 + g->shape.tool_text;
    return s;
}

/* Tokens of part p in the tally. */
static uint64_t part_len(const struct wire_gen *g, enum wire_part p, const struct wire_tally *t)
{
    uint64_t k = g->shape.tool_text;
    switch (p) {
    case WIRE_PART_REASONING:
        return t->reasoning;
    case WIRE_PART_TEXT:
        return g->shape.tool_call && t->tokens > k ? k : t->tokens;
    case WIRE_PART_TOOL:
        return t->tokens > k ? t->tokens - k : 0;
    }
    return 0;
}

/* A part is open once the stream opened it (the first part) or its first token came. */
static int part_opened(const struct wire_gen *g, enum wire_part p, const struct wire_tally *t)
{
    if (p == first_part(g))
        return 1;
    switch (p) {
    case WIRE_PART_REASONING:
        return 0;
    case WIRE_PART_TEXT:
        return has_text(g) && t->tokens > 0;
    case WIRE_PART_TOOL:
        return g->shape.tool_call && t->tokens > g->shape.tool_text;
    }
    return 0;
}

static enum wire_part last_part(const struct wire_gen *g, const struct wire_tally *t)
{
    if (part_opened(g, WIRE_PART_TOOL, t))
        return WIRE_PART_TOOL;
    if (part_opened(g, WIRE_PART_TEXT, t))
        return WIRE_PART_TEXT;
    return WIRE_PART_REASONING;
}

int64_t wire_seq_reasoning(const struct wire_gen *g, uint64_t j)
{
    return (int64_t)(part_seq(g, WIRE_PART_REASONING) + 2 + j);
}

int64_t wire_seq_token(const struct wire_gen *g, uint64_t i)
{
    enum wire_part p = part_of_token(g, i);
    uint64_t idx = p == WIRE_PART_TOOL ? i - g->shape.tool_text : i;
    return (int64_t)(part_seq(g, p) + 2 + idx);
}

int wire_turn_at(const struct wire_gen *g, uint64_t i)
{
    if (i == 0)
        return has_reasoning(g);
    return g->shape.tool_call && i == g->shape.tool_text;
}

/* ---- ids and templates ------------------------------------------------------------------- */

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

static cJSON *chat_choice(const struct wire_gen *g, cJSON *chunk, const char *finish)
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
    if (g->azure)
        azure_choice_filters(c, finish != NULL);
    return delta;
}

/* The chat tool_calls delta: {index:0, [id, type, name,] function:{arguments}} */
static cJSON *chat_tool_delta(const struct wire_gen *g, cJSON *delta, int head)
{
    cJSON *tc = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(delta, "tool_calls"), tc);
    cJSON_AddNumberToObject(tc, "index", 0);
    if (head) {
        cJSON_AddStringToObject(tc, "id", g->call_id);
        cJSON_AddStringToObject(tc, "type", "function");
    }
    cJSON *fn = cJSON_AddObjectToObject(tc, "function");
    if (head)
        cJSON_AddStringToObject(fn, "name", WIRE_TOOL_NAME);
    return fn;
}

static char *build_template(const struct wire_gen *g, enum wire_part part)
{
    static const char text_hole[] = {'"', WIRE_HOLE_TEXT, '"', '\0'};
    cJSON *o;
    const char *event = NULL;
    switch (g->api) {
    case API_CHAT: {
        if (part == WIRE_PART_REASONING && !g->shape.reasoning_shown)
            return NULL;
        o = chat_chunk(g);
        cJSON *delta = chat_choice(g, o, NULL);
        if (part == WIRE_PART_TOOL)
            cJSON_AddRawToObject(chat_tool_delta(g, delta, 0), "arguments", text_hole);
        else
            cJSON_AddRawToObject(
                delta, part == WIRE_PART_REASONING ? "reasoning_content" : "content", text_hole);
        if (g->include_usage)
            cJSON_AddNullToObject(o, "usage");
        break;
    }
    case API_RESPONSES:
        event = part == WIRE_PART_REASONING ? "response.reasoning_summary_text.delta"
                : part == WIRE_PART_TOOL    ? "response.function_call_arguments.delta"
                                            : "response.output_text.delta";
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", event);
        add_raw_seq(o);
        cJSON_AddStringToObject(o, "item_id",
                                part == WIRE_PART_REASONING ? g->rs_id
                                : part == WIRE_PART_TOOL    ? g->fc_id
                                                            : g->item_id);
        cJSON_AddNumberToObject(o, "output_index", part_index(g, part));
        if (part == WIRE_PART_TEXT)
            cJSON_AddNumberToObject(o, "content_index", 0);
        else if (part == WIRE_PART_REASONING)
            cJSON_AddNumberToObject(o, "summary_index", 0);
        cJSON_AddRawToObject(o, "delta", text_hole);
        if (part == WIRE_PART_TEXT)
            cJSON_AddArrayToObject(o, "logprobs");
        break;
    case API_MESSAGES: {
        event = "content_block_delta";
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", event);
        cJSON_AddNumberToObject(o, "index", part_index(g, part));
        cJSON *d = cJSON_AddObjectToObject(o, "delta");
        if (part == WIRE_PART_REASONING) {
            cJSON_AddStringToObject(d, "type", "thinking_delta");
            cJSON_AddRawToObject(d, "thinking", text_hole);
        } else if (part == WIRE_PART_TOOL) {
            cJSON_AddStringToObject(d, "type", "input_json_delta");
            cJSON_AddRawToObject(d, "partial_json", text_hole);
        } else {
            cJSON_AddStringToObject(d, "type", "text_delta");
            cJSON_AddRawToObject(d, "text", text_hole);
        }
        break;
    }
    case API_GEMINI:
        /* a functionCall part goes out whole (wire_stream_call), never by token */
        if (part == WIRE_PART_TOOL)
            return strdup("");
        return part == WIRE_PART_REASONING ? gemini_thought_template(g) : gemini_token_template(g);
    case API_COMPLETIONS:
        /* no reasoning on this endpoint's wire, no tool calls (generate turns them off) */
        return part == WIRE_PART_TEXT ? completions_token_template(g) : NULL;
    case API_OLLAMA:
        if (part == WIRE_PART_TOOL)
            return NULL;
        return part == WIRE_PART_REASONING ? ollama_thinking_template(g) : ollama_token_template(g);
    case API_BEDROCK:
        return bedrock_token_template(g);
    default:
        return NULL;
    }
    return frame(event, o);
}

static int build_templates(struct wire_gen *g)
{
    free(g->tmpl);
    free(g->rtmpl);
    free(g->atmpl);
    g->rtmpl = g->atmpl = NULL;
    g->tmpl = build_template(g, WIRE_PART_TEXT);
    if (g->tmpl == NULL)
        return -1;
    /* chat's reasoning is hidden unless asked for; Bedrock's and legacy completions' always are */
    int shown = g->api == API_CHAT ? g->shape.reasoning_shown
                                   : g->api != API_COMPLETIONS && g->api != API_BEDROCK;
    if (has_reasoning(g) && shown) {
        g->rtmpl = build_template(g, WIRE_PART_REASONING);
        if (g->rtmpl == NULL)
            return -1;
    }
    if (g->shape.tool_call) {
        g->atmpl = build_template(g, WIRE_PART_TOOL);
        if (g->atmpl == NULL)
            return -1;
    }
    return 0;
}

int wire_gen_init(struct wire_gen *g, const struct request *rq, uint64_t seq, int64_t now_s)
{
    memset(g, 0, sizeof *g);
    /* Azure OpenAI is Chat Completions with its annotations; Bedrock's InvokeModel is Messages */
    g->api = rq->api == API_AZURE            ? API_CHAT
             : rq->api == API_BEDROCK_INVOKE ? API_MESSAGES
                                             : rq->api;
    g->azure = rq->api == API_AZURE;
    if (rq->stream && rq->api == API_BEDROCK)
        g->framing = WIRE_FRAMING_EVENTSTREAM;
    else if (rq->stream && rq->api == API_BEDROCK_INVOKE)
        g->framing = WIRE_FRAMING_CHUNKS;
    unsigned long long q = (unsigned long long)seq;
    switch (rq->api) {
    case API_CHAT:
    case API_AZURE:
        snprintf(g->id, sizeof g->id, "chatcmpl-tg%016llx", q);
        snprintf(g->call_id, sizeof g->call_id, "call_tg%016llx", q);
        break;
    case API_RESPONSES:
        snprintf(g->id, sizeof g->id, "resp_tg%016llx", q);
        snprintf(g->item_id, sizeof g->item_id, "msg_tg%016llx", q);
        snprintf(g->rs_id, sizeof g->rs_id, "rs_tg%016llx", q);
        snprintf(g->fc_id, sizeof g->fc_id, "fc_tg%016llx", q);
        snprintf(g->call_id, sizeof g->call_id, "call_tg%016llx", q);
        break;
    case API_MESSAGES:
    case API_BEDROCK_INVOKE:
        snprintf(g->id, sizeof g->id, "msg_tg%016llx", q);
        snprintf(g->call_id, sizeof g->call_id, "toolu_tg%016llx", q);
        break;
    case API_GEMINI:
    case API_OLLAMA: /* Ollama's lines carry no id: this one is the mock's own */
    case API_BEDROCK:
        snprintf(g->id, sizeof g->id, "tg%016llx", q);
        break;
    case API_COMPLETIONS:
        snprintf(g->id, sizeof g->id, "cmpl-tg%016llx", q);
        break;
    }
    snprintf(g->model, sizeof g->model, "%s", rq->model);
    g->created = now_s;
    g->input_tokens = rq->input_tokens;
    g->include_usage = rq->include_usage;
    g->background = rq->background;
    g->json_stream = rq->api == API_GEMINI && rq->json_stream;
    g->ollama_generate = rq->api == API_OLLAMA && rq->ollama_generate;
    g->max_tokens = rq->max_tokens;
    return build_templates(g);
}

int wire_gen_shape(struct wire_gen *g, const struct wire_shape *s)
{
    g->shape = *s;
    /* the legacy completions endpoint has no tool calls; Ollama's are not staged */
    if (g->api == API_COMPLETIONS || g->api == API_OLLAMA)
        g->shape.tool_call = 0;
    if (g->api == API_BEDROCK) { /* Converse's reasoning is hidden, its tool calls not staged */
        g->shape.reasoning_shown = 0;
        g->shape.tool_call = 0;
    }
    return build_templates(g);
}

void wire_gen_cleanup(struct wire_gen *g)
{
    free(g->tmpl);
    free(g->rtmpl);
    free(g->atmpl);
    g->tmpl = g->rtmpl = g->atmpl = NULL;
}

/* Where a token's template starts: a Gemini array's first element has no separator. */
static const char *tmpl_start(const struct wire_gen *g, const char *tmpl, int first)
{
    return g->json_stream && first ? tmpl + GEMINI_ARRAY_SEP_LEN : tmpl;
}

int wire_stream_token(const struct wire_gen *g, uint64_t i, char *buf, size_t len)
{
    if (wire_held(g, i)) {
        if (len == 0)
            return -1;
        buf[0] = '\0';
        return 0;
    }
    char text[32];
    if (engine_token_text(i, text, sizeof text) < 0)
        return -1;
    const char *t = part_of_token(g, i) == WIRE_PART_TOOL && g->atmpl ? g->atmpl : g->tmpl;
    /* Gemini counts visible tokens as candidates, the whole reasoning apart (the template
     * carries it) and in the total */
    struct holes h = {wire_seq_token(g, i), text, i + 1,
                      g->input_tokens + g->shape.reasoning + i + 1};
    return holes_fill(tmpl_start(g, t, i == 0 && !has_reasoning(g)), &h, buf, len);
}

int wire_held(const struct wire_gen *g, uint64_t i)
{
    return g->api == API_GEMINI && part_of_token(g, i) == WIRE_PART_TOOL;
}

uint64_t wire_call_tokens(const struct wire_gen *g, uint64_t i)
{
    return wire_held(g, i) ? i + 1 - g->shape.tool_text : 0;
}

char *wire_stream_call(const struct wire_gen *g, uint64_t i)
{
    if (!wire_held(g, i) || i + 1 != g->shape.visible)
        return NULL;
    char *args = wire_tool_arguments(g->shape.tool_text, i + 1);
    if (args == NULL)
        return NULL;
    char *s = gemini_call_chunk(g, args, i + 1, g->shape.tool_text == 0 && !has_reasoning(g));
    free(args);
    return s;
}

int wire_stream_reasoning(const struct wire_gen *g, uint64_t j, char *buf, size_t len)
{
    if (g->rtmpl == NULL) {
        if (len == 0)
            return -1;
        buf[0] = '\0';
        return 0; /* hidden: it only counts */
    }
    char text[32];
    if (engine_reasoning_text(j, text, sizeof text) < 0)
        return -1;
    struct holes h = {wire_seq_reasoning(g, j), text, j + 1, g->input_tokens + j + 1};
    return holes_fill(tmpl_start(g, g->rtmpl, j == 0), &h, buf, len);
}

const char *wire_stream_content_type(const struct wire_gen *g)
{
    if (g->framing != WIRE_FRAMING_SSE)
        return BEDROCK_CONTENT_TYPE;
    if (g->api == API_GEMINI)
        return g->json_stream ? "application/json; charset=UTF-8" : "text/event-stream";
    if (g->api == API_OLLAMA)
        return "application/x-ndjson";
    return "text/event-stream; charset=utf-8";
}

/* ---- Responses objects ------------------------------------------------------------------ */

static cJSON *resp_usage(const struct wire_gen *g, const struct wire_tally *t)
{
    if (t->usage < 0)
        return cJSON_CreateNull();
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "input_tokens", (double)g->input_tokens);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(u, "input_tokens_details"), "cached_tokens", 0);
    cJSON_AddNumberToObject(u, "output_tokens", (double)t->usage);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(u, "output_tokens_details"), "reasoning_tokens",
                            (double)(t->usage_reasoning > 0 ? t->usage_reasoning : 0));
    cJSON_AddNumberToObject(u, "total_tokens", (double)(g->input_tokens + (uint64_t)t->usage));
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

static cJSON *summary_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "summary_text");
    cJSON_AddStringToObject(p, "text", text);
    return p;
}

/* A part's text as of the tally: reasoning text, message text, or tool-call arguments (NULL
 * on OOM). */
static char *part_text(const struct wire_gen *g, enum wire_part p, const struct wire_tally *t)
{
    switch (p) {
    case WIRE_PART_REASONING:
        return wire_reasoning_text(t->reasoning);
    case WIRE_PART_TEXT:
        return wire_text(part_len(g, WIRE_PART_TEXT, t));
    case WIRE_PART_TOOL:
        return wire_tool_arguments(g->shape.tool_text, t->tokens);
    }
    return NULL;
}

/* The output item of part p; text NULL gives it empty (as it is when added). */
static cJSON *resp_item_of(const struct wire_gen *g, enum wire_part p, const char *status,
                           const char *text)
{
    cJSON *it = cJSON_CreateObject();
    switch (p) {
    case WIRE_PART_REASONING: {
        cJSON_AddStringToObject(it, "id", g->rs_id);
        cJSON_AddStringToObject(it, "type", "reasoning");
        cJSON *sum = cJSON_AddArrayToObject(it, "summary");
        if (text)
            cJSON_AddItemToArray(sum, summary_part(text));
        break;
    }
    case WIRE_PART_TEXT: {
        cJSON_AddStringToObject(it, "id", g->item_id);
        cJSON_AddStringToObject(it, "type", "message");
        cJSON_AddStringToObject(it, "status", status);
        cJSON_AddStringToObject(it, "role", "assistant");
        cJSON *content = cJSON_AddArrayToObject(it, "content");
        if (text)
            cJSON_AddItemToArray(content, resp_part(text));
        break;
    }
    case WIRE_PART_TOOL:
        cJSON_AddStringToObject(it, "id", g->fc_id);
        cJSON_AddStringToObject(it, "type", "function_call");
        cJSON_AddStringToObject(it, "status", status);
        cJSON_AddStringToObject(it, "arguments", text ? text : "");
        cJSON_AddStringToObject(it, "call_id", g->call_id);
        cJSON_AddStringToObject(it, "name", WIRE_TOOL_NAME);
        break;
    }
    return it;
}

/* Response object; items NULL gives "output":[] (before the first output item exists); else
 * every opened part's item, the last one with 'item_status'. */
static cJSON *resp_object(const struct wire_gen *g, const char *status, const struct wire_tally *t,
                          const char *item_status, const char *incomplete)
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
    if (item_status) {
        enum wire_part last = last_part(g, t);
        for (int p = WIRE_PART_REASONING; p <= (int)last; p++) {
            if (!part_opened(g, (enum wire_part)p, t))
                continue;
            char *text = part_text(g, (enum wire_part)p, t);
            if (text == NULL) {
                cJSON_Delete(r);
                return NULL;
            }
            cJSON_AddItemToArray(out,
                                 resp_item_of(g, (enum wire_part)p,
                                              p == (int)last ? item_status : "completed", text));
            free(text);
        }
    }
    cJSON_AddBoolToObject(r, "parallel_tool_calls", 1);
    cJSON_AddNullToObject(r, "previous_response_id");
    cJSON *reas = cJSON_AddObjectToObject(r, "reasoning");
    if (has_reasoning(g)) {
        cJSON_AddStringToObject(reas, "effort", "medium");
        cJSON_AddStringToObject(reas, "summary", "detailed");
    } else {
        cJSON_AddNullToObject(reas, "effort");
        cJSON_AddNullToObject(reas, "summary");
    }
    cJSON_AddBoolToObject(r, "store", 1);
    cJSON_AddNumberToObject(r, "temperature", 1.0);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "text"), "format"),
                            "type", "text");
    cJSON_AddStringToObject(r, "tool_choice", "auto");
    cJSON *tools = cJSON_AddArrayToObject(r, "tools");
    if (g->shape.tool_call) {
        cJSON *tl = cJSON_CreateObject();
        cJSON_AddItemToArray(tools, tl);
        cJSON_AddStringToObject(tl, "type", "function");
        cJSON_AddStringToObject(tl, "name", WIRE_TOOL_NAME);
    }
    cJSON_AddNumberToObject(r, "top_p", 1.0);
    cJSON_AddStringToObject(r, "truncation", "disabled");
    cJSON_AddItemToObject(r, "usage", resp_usage(g, t));
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

char *wire_response_object(const struct wire_gen *g, const struct wire_tally *t, const char *status)
{
    int done = strcmp(status, "completed") == 0;
    int fresh = strcmp(status, "queued") == 0 && t->tokens == 0 && t->reasoning == 0;
    const char *item_status =
        done                                                                    ? "completed"
        : (strcmp(status, "in_progress") == 0 || strcmp(status, "queued") == 0) ? "in_progress"
                                                                                : "incomplete";
    cJSON *r = resp_object(g, status, t, fresh ? NULL : item_status,
                           strcmp(status, "incomplete") == 0 ? "max_output_tokens" : NULL);
    if (r == NULL)
        return NULL;
    char *s = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return s;
}

/* ---- parts opening and closing ------------------------------------------------------------ */

/* Responses: appends event 'e' named 'name' unless its number is at or before the cursor. */
static void resp_emit(char **acc, const char *name, cJSON *e, uint64_t seq, int64_t after)
{
    if ((int64_t)seq <= after) {
        cJSON_Delete(e);
        return;
    }
    str_append(acc, frame(name, e));
}

static cJSON *msg_block_event(const char *type, int index)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNumberToObject(e, "index", index);
    return e;
}

static cJSON *msg_delta_event(int index, const char *type, const char *key, const char *value)
{
    cJSON *e = msg_block_event("content_block_delta", index);
    cJSON *d = cJSON_AddObjectToObject(e, "delta");
    cJSON_AddStringToObject(d, "type", type);
    cJSON_AddStringToObject(d, key, value);
    return e;
}

#define WIRE_SIGNATURE "dGFpbGdhdGUgbW9jayB0aGlua2luZyBzaWduYXR1cmU=" /* opaque to clients */

/* The events that open part p (the tally's counts before its first token). */
static void part_start(char **acc, const struct wire_gen *g, enum wire_part p, int64_t after)
{
    int idx = part_index(g, p);
    switch (g->api) {
    case API_CHAT:
        if (p == WIRE_PART_TOOL) {
            /* the call's head: id, type, name, and the arguments' opening framing */
            cJSON *o = chat_chunk(g);
            cJSON *fn = chat_tool_delta(g, chat_choice(g, o, NULL), 1);
            cJSON_AddStringToObject(fn, "arguments", WIRE_TOOL_ARGS_OPEN);
            if (g->include_usage)
                cJSON_AddNullToObject(o, "usage");
            str_append(acc, frame(NULL, o));
        }
        break;
    case API_RESPONSES: {
        uint64_t s = part_seq(g, p);
        cJSON *e = resp_event("response.output_item.added", s);
        cJSON_AddNumberToObject(e, "output_index", idx);
        cJSON_AddItemToObject(e, "item", resp_item_of(g, p, "in_progress", NULL));
        resp_emit(acc, "response.output_item.added", e, s, after);
        const char *name = p == WIRE_PART_REASONING ? "response.reasoning_summary_part.added"
                           : p == WIRE_PART_TEXT    ? "response.content_part.added"
                                                    : "response.function_call_arguments.delta";
        e = resp_event(name, s + 1);
        if (p == WIRE_PART_REASONING) {
            cJSON_AddStringToObject(e, "item_id", g->rs_id);
            cJSON_AddNumberToObject(e, "output_index", idx);
            cJSON_AddNumberToObject(e, "summary_index", 0);
            cJSON_AddItemToObject(e, "part", summary_part(""));
        } else if (p == WIRE_PART_TEXT) {
            cJSON_AddStringToObject(e, "item_id", g->item_id);
            cJSON_AddNumberToObject(e, "output_index", idx);
            cJSON_AddNumberToObject(e, "content_index", 0);
            cJSON *pt = resp_part("");
            cJSON_DeleteItemFromObject(pt, "logprobs");
            cJSON_AddItemToObject(e, "part", pt);
        } else {
            cJSON_AddStringToObject(e, "item_id", g->fc_id);
            cJSON_AddNumberToObject(e, "output_index", idx);
            cJSON_AddStringToObject(e, "delta", WIRE_TOOL_ARGS_OPEN);
        }
        resp_emit(acc, name, e, s + 1, after);
        break;
    }
    case API_MESSAGES: {
        cJSON *e = msg_block_event("content_block_start", idx);
        cJSON *cb = cJSON_AddObjectToObject(e, "content_block");
        if (p == WIRE_PART_REASONING) {
            cJSON_AddStringToObject(cb, "type", "thinking");
            cJSON_AddStringToObject(cb, "thinking", "");
            cJSON_AddStringToObject(cb, "signature", "");
        } else if (p == WIRE_PART_TEXT) {
            cJSON_AddStringToObject(cb, "type", "text");
            cJSON_AddStringToObject(cb, "text", "");
        } else {
            cJSON_AddStringToObject(cb, "type", "tool_use");
            cJSON_AddStringToObject(cb, "id", g->call_id);
            cJSON_AddStringToObject(cb, "name", WIRE_TOOL_NAME);
            cJSON_AddObjectToObject(cb, "input");
        }
        str_append(acc, frame("content_block_start", e));
        if (p == WIRE_PART_TOOL)
            str_append(acc,
                frame("content_block_delta", msg_delta_event(idx, "input_json_delta",
                                                             "partial_json", WIRE_TOOL_ARGS_OPEN)));
        break;
    }
    case API_GEMINI:
    case API_COMPLETIONS:
    case API_OLLAMA:
    case API_AZURE: /* rendered as API_CHAT */
        break; /* its chunks carry their parts whole */
    case API_BEDROCK:
    case API_BEDROCK_INVOKE:
        break; /* Gemini's chunks carry their parts whole; Converse has one text block */
    }
}

/* The events that close part p after its tokens in the tally; 'status' is its item's. */
static void part_stop(char **acc, const struct wire_gen *g, enum wire_part p,
                      const struct wire_tally *t, const char *status, int64_t after)
{
    int idx = part_index(g, p);
    switch (g->api) {
    case API_CHAT:
        if (p == WIRE_PART_TOOL) {
            cJSON *o = chat_chunk(g);
            cJSON_AddStringToObject(chat_tool_delta(g, chat_choice(g, o, NULL), 0), "arguments",
                                    WIRE_TOOL_ARGS_CLOSE);
            if (g->include_usage)
                cJSON_AddNullToObject(o, "usage");
            str_append(acc, frame(NULL, o));
        }
        break;
    case API_RESPONSES: {
        char *text = part_text(g, p, t);
        if (text == NULL) {
            free(*acc);
            *acc = NULL;
            return;
        }
        uint64_t s = part_seq(g, p) + 2 + part_len(g, p, t);
        const char *n0, *n1, *n2 = "response.output_item.done";
        cJSON *e0, *e1;
        if (p == WIRE_PART_REASONING) {
            n0 = "response.reasoning_summary_text.done";
            e0 = resp_event(n0, s);
            cJSON_AddStringToObject(e0, "item_id", g->rs_id);
            cJSON_AddNumberToObject(e0, "output_index", idx);
            cJSON_AddNumberToObject(e0, "summary_index", 0);
            cJSON_AddStringToObject(e0, "text", text);
            n1 = "response.reasoning_summary_part.done";
            e1 = resp_event(n1, s + 1);
            cJSON_AddStringToObject(e1, "item_id", g->rs_id);
            cJSON_AddNumberToObject(e1, "output_index", idx);
            cJSON_AddNumberToObject(e1, "summary_index", 0);
            cJSON_AddItemToObject(e1, "part", summary_part(text));
        } else if (p == WIRE_PART_TEXT) {
            n0 = "response.output_text.done";
            e0 = resp_event(n0, s);
            cJSON_AddStringToObject(e0, "item_id", g->item_id);
            cJSON_AddNumberToObject(e0, "output_index", idx);
            cJSON_AddNumberToObject(e0, "content_index", 0);
            cJSON_AddStringToObject(e0, "text", text);
            cJSON_AddArrayToObject(e0, "logprobs");
            n1 = "response.content_part.done";
            e1 = resp_event(n1, s + 1);
            cJSON_AddStringToObject(e1, "item_id", g->item_id);
            cJSON_AddNumberToObject(e1, "output_index", idx);
            cJSON_AddNumberToObject(e1, "content_index", 0);
            cJSON_AddItemToObject(e1, "part", resp_part(text));
        } else {
            /* the arguments' closing framing as their last delta, so they parse as JSON */
            n0 = "response.function_call_arguments.delta";
            e0 = resp_event(n0, s);
            cJSON_AddStringToObject(e0, "item_id", g->fc_id);
            cJSON_AddNumberToObject(e0, "output_index", idx);
            cJSON_AddStringToObject(e0, "delta", WIRE_TOOL_ARGS_CLOSE);
            n1 = "response.function_call_arguments.done";
            e1 = resp_event(n1, s + 1);
            cJSON_AddStringToObject(e1, "item_id", g->fc_id);
            cJSON_AddNumberToObject(e1, "output_index", idx);
            cJSON_AddStringToObject(e1, "name", WIRE_TOOL_NAME);
            cJSON_AddStringToObject(e1, "arguments", text);
        }
        resp_emit(acc, n0, e0, s, after);
        resp_emit(acc, n1, e1, s + 1, after);
        cJSON *e2 = resp_event(n2, s + 2);
        cJSON_AddNumberToObject(e2, "output_index", idx);
        cJSON_AddItemToObject(e2, "item", resp_item_of(g, p, status, text));
        resp_emit(acc, n2, e2, s + 2, after);
        free(text);
        break;
    }
    case API_MESSAGES:
        if (p == WIRE_PART_REASONING)
            str_append(acc, frame("content_block_delta",
                           msg_delta_event(idx, "signature_delta", "signature", WIRE_SIGNATURE)));
        else if (p == WIRE_PART_TOOL)
            str_append(acc, frame("content_block_delta",
                           msg_delta_event(idx, "input_json_delta", "partial_json",
                                           WIRE_TOOL_ARGS_CLOSE)));
        str_append(acc, frame("content_block_stop", msg_block_event("content_block_stop", idx)));
        break;
    case API_GEMINI:
    case API_COMPLETIONS:
    case API_OLLAMA:
    case API_AZURE: /* rendered as API_CHAT */
    case API_BEDROCK:
    case API_BEDROCK_INVOKE:
        break;
    }
}

/* ---- stream open / turn / close -------------------------------------------------------------- */

char *wire_stream_open(const struct wire_gen *g, int64_t starting_after)
{
    if (g->api == API_GEMINI)
        return gemini_stream_open(g);
    if (g->api == API_COMPLETIONS || g->api == API_OLLAMA)
        return empty(); /* no role chunk: the first token's chunk opens the stream */
    if (g->api == API_BEDROCK)
        return bedrock_stream_open(g);
    char *acc = empty();
    const struct wire_tally none = {0, 0, -1, -1};
    switch (g->api) {
    case API_CHAT: {
        if (g->azure)
            str_append(&acc, azure_prompt_filter_event());
        cJSON *o = chat_chunk(g);
        cJSON *delta = chat_choice(g, o, NULL);
        cJSON_AddStringToObject(delta, "role", "assistant");
        cJSON_AddStringToObject(delta, "content", "");
        if (g->include_usage)
            cJSON_AddNullToObject(o, "usage");
        str_append(&acc, frame(NULL, o));
        part_start(&acc, g, first_part(g), starting_after);
        break;
    }
    case API_RESPONSES: {
        static const char *const names[] = {"response.created", "response.in_progress"};
        for (int64_t seq = 0; seq < 2; seq++) {
            cJSON *e = resp_event(names[seq], (uint64_t)seq);
            cJSON_AddItemToObject(e, "response", resp_object(g, "in_progress", &none, NULL, NULL));
            resp_emit(&acc, names[seq], e, (uint64_t)seq, starting_after);
        }
        part_start(&acc, g, first_part(g), starting_after);
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
        str_append(&acc, frame("message_start", e));
        part_start(&acc, g, first_part(g), starting_after);
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "ping");
        str_append(&acc, frame("ping", e));
        break;
    }
    case API_GEMINI:
    case API_COMPLETIONS:
    case API_OLLAMA:
    case API_AZURE: /* rendered as API_CHAT */
    case API_BEDROCK:
    case API_BEDROCK_INVOKE:
        break;
    }
    return acc;
}

char *wire_stream_turn(const struct wire_gen *g, uint64_t i, int64_t starting_after)
{
    char *acc = empty();
    if (!wire_turn_at(g, i))
        return acc;
    enum wire_part prev = i == 0 ? WIRE_PART_REASONING : WIRE_PART_TEXT;
    /* the earlier part is whole: all its tokens came before this one */
    struct wire_tally t = {g->shape.reasoning, i, -1, -1};
    part_stop(&acc, g, prev, &t, "completed", starting_after);
    part_start(&acc, g, part_of_token(g, i), starting_after);
    return acc;
}

static const char *chat_finish(const struct wire_gen *g, const struct wire_tally *t,
                               enum wire_end end)
{
    if (end == WIRE_END_LENGTH)
        return "length";
    return last_part(g, t) == WIRE_PART_TOOL ? "tool_calls" : "stop";
}

static void chat_usage(cJSON *us, const struct wire_gen *g, int64_t usage, int64_t reasoning)
{
    cJSON_AddNumberToObject(us, "prompt_tokens", (double)g->input_tokens);
    cJSON_AddNumberToObject(us, "completion_tokens", (double)usage);
    cJSON_AddNumberToObject(us, "total_tokens", (double)(g->input_tokens + (uint64_t)usage));
    /* only for a reasoning model: a plain stream's usage stays the three counts it had */
    if (has_reasoning(g))
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(us, "completion_tokens_details"),
                                "reasoning_tokens", (double)(reasoning > 0 ? reasoning : 0));
}

static void chat_close(char **acc, const struct wire_gen *g, const struct wire_tally *t,
                       enum wire_end end)
{
    cJSON *fin = chat_chunk(g);
    chat_choice(g, fin, chat_finish(g, t, end));
    if (g->include_usage)
        cJSON_AddNullToObject(fin, "usage");
    str_append(acc, frame(NULL, fin));
    if (g->include_usage && t->usage >= 0) {
        cJSON *u = chat_chunk(g);
        cJSON_AddArrayToObject(u, "choices");
        chat_usage(cJSON_AddObjectToObject(u, "usage"), g, t->usage, t->usage_reasoning);
        str_append(acc, frame(NULL, u));
    }
    str_append(acc, strdup("data: [DONE]\n\n"));
}

static void responses_close(char **acc, const struct wire_gen *g, const struct wire_tally *t,
                            enum wire_end end, int64_t starting_after)
{
    enum wire_part last = last_part(g, t);
    uint64_t seq = part_seq(g, last) + 2 + part_len(g, last, t) + 3;
    /* A cancelled response has no event of its own in the SDKs' lists; response.incomplete
     * is a lifecycle event every SDK version accepts, and status says "cancelled". */
    const char *status = end == WIRE_END_STOP     ? "completed"
                         : end == WIRE_END_LENGTH ? "incomplete"
                                                  : "cancelled";
    const char *item_status = end == WIRE_END_STOP ? "completed" : "incomplete";
    const char *name = end == WIRE_END_STOP ? "response.completed" : "response.incomplete";
    cJSON *r =
        resp_object(g, status, t, item_status, end == WIRE_END_LENGTH ? "max_output_tokens" : NULL);
    if (r == NULL) {
        free(*acc);
        *acc = NULL;
        return;
    }
    cJSON *e = resp_event(name, seq);
    cJSON_AddItemToObject(e, "response", r);
    resp_emit(acc, name, e, seq, starting_after);
}

static void messages_close(char **acc, const struct wire_gen *g, const struct wire_tally *t,
                           enum wire_end end)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "message_delta");
    cJSON *d = cJSON_AddObjectToObject(e, "delta");
    cJSON_AddStringToObject(d, "stop_reason",
                            end == WIRE_END_LENGTH              ? "max_tokens"
                            : last_part(g, t) == WIRE_PART_TOOL ? "tool_use"
                                                                : "end_turn");
    cJSON_AddNullToObject(d, "stop_sequence");
    /* the SDK reads usage.output_tokens unconditionally: always send it (thinking included) */
    cJSON_AddNumberToObject(
        cJSON_AddObjectToObject(e, "usage"), "output_tokens",
        (double)(t->usage >= 0 ? (uint64_t)t->usage : t->tokens + t->reasoning));
    str_append(acc, frame("message_delta", e));
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "message_stop");
    str_append(acc, frame("message_stop", e));
}

char *wire_stream_close(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end,
                        int64_t starting_after)
{
    if (g->api == API_GEMINI)
        return gemini_stream_close(g, t, end);
    if (g->api == API_COMPLETIONS)
        return completions_stream_close(g, t, end);
    if (g->api == API_OLLAMA)
        return ollama_stream_close(g, t, end);
    if (g->api == API_BEDROCK)
        return bedrock_stream_close(g, t, end);
    char *acc = empty();
    part_stop(&acc, g, last_part(g, t), t, end == WIRE_END_STOP ? "completed" : "incomplete",
              starting_after);
    switch (g->api) {
    case API_CHAT:
        chat_close(&acc, g, t, end);
        break;
    case API_RESPONSES:
        responses_close(&acc, g, t, end, starting_after);
        break;
    case API_MESSAGES:
        messages_close(&acc, g, t, end);
        break;
    case API_GEMINI:
    case API_COMPLETIONS:
    case API_OLLAMA:
    case API_AZURE: /* rendered as API_CHAT */
    case API_BEDROCK:
    case API_BEDROCK_INVOKE:
        break;
    }
    return acc;
}

char *wire_stream_error(const struct wire_gen *g, uint64_t n)
{
    cJSON *e = cJSON_CreateObject();
    switch (g->api) {
    case API_CHAT:
    case API_COMPLETIONS: {
        /* recorded OpenAI behaviour: a bare data frame with an error object, no [DONE] */
        cJSON *er = cJSON_AddObjectToObject(e, "error");
        cJSON_AddStringToObject(er, "message",
                                "The server had an error while processing your "
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
        cJSON_AddNumberToObject(e, "sequence_number", (double)wire_seq_token(g, n));
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
    case API_OLLAMA:
        cJSON_Delete(e);
        return ollama_stream_error(g);
    case API_AZURE: /* rendered as API_CHAT */
        break;
    case API_BEDROCK:
    case API_BEDROCK_INVOKE:
        cJSON_Delete(e);
        return bedrock_stream_error(g, n);
    }
    cJSON_Delete(e);
    return NULL;
}

char *wire_body(const struct wire_gen *g, const struct wire_tally *tally, enum wire_end end)
{
    struct wire_tally t = *tally;
    if (t.usage < 0) {
        t.usage = (int64_t)(t.tokens + t.reasoning);
        t.usage_reasoning = (int64_t)t.reasoning;
    }
    if (g->api == API_RESPONSES)
        return wire_response_object(g, &t,
                                    end == WIRE_END_STOP     ? "completed"
                                    : end == WIRE_END_LENGTH ? "incomplete"
                                                             : "cancelled");
    if (g->api == API_COMPLETIONS || g->api == API_OLLAMA) {
        /* neither carries a tool call: every visible token is text */
        char *text = wire_text(t.tokens);
        char *reasoning = wire_reasoning_text(t.reasoning);
        char *s = text && reasoning ? g->api == API_COMPLETIONS
                                          ? completions_body(g, &t, text, end)
                                          : ollama_body(g, &t, reasoning, text, end)
                                    : NULL;
        free(text);
        free(reasoning);
        return s;
    }
    if (g->api == API_BEDROCK) {
        char *text = wire_text(t.tokens);
        char *s = text ? bedrock_body(g, &t, t.tokens ? text : NULL, end) : NULL;
        free(text);
        return s;
    }
    if (g->api == API_GEMINI) {
        int call = part_opened(g, WIRE_PART_TOOL, &t);
        char *text = wire_text(part_len(g, WIRE_PART_TEXT, &t));
        char *reasoning = wire_reasoning_text(t.reasoning);
        char *args = call ? wire_tool_arguments(g->shape.tool_text, t.tokens) : NULL;
        char *s = text && reasoning && (!call || args)
                      ? gemini_body(g, &t, reasoning, has_text(g) ? text : NULL, args, end)
                      : NULL;
        free(text);
        free(reasoning);
        free(args);
        return s;
    }
    int tool = part_opened(g, WIRE_PART_TOOL, &t);
    int text_open = part_opened(g, WIRE_PART_TEXT, &t);
    char *text = wire_text(part_len(g, WIRE_PART_TEXT, &t));
    char *reasoning = wire_reasoning_text(t.reasoning);
    char *args = tool ? wire_tool_arguments(g->shape.tool_text, t.tokens) : NULL;
    if (text == NULL || reasoning == NULL || (tool && args == NULL)) {
        free(text);
        free(reasoning);
        free(args);
        return NULL;
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
        if (text_open)
            cJSON_AddStringToObject(m, "content", text);
        else
            cJSON_AddNullToObject(m, "content"); /* OpenAI's content for a bare tool call */
        if (g->shape.reasoning_shown && has_reasoning(g))
            cJSON_AddStringToObject(m, "reasoning_content", reasoning);
        cJSON_AddNullToObject(m, "refusal");
        if (tool) {
            cJSON *tc = cJSON_CreateObject();
            cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "tool_calls"), tc);
            cJSON_AddStringToObject(tc, "id", g->call_id);
            cJSON_AddStringToObject(tc, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(tc, "function");
            cJSON_AddStringToObject(fn, "name", WIRE_TOOL_NAME);
            cJSON_AddStringToObject(fn, "arguments", args);
        }
        cJSON_AddNullToObject(c, "logprobs");
        cJSON_AddStringToObject(c, "finish_reason", chat_finish(g, &t, end));
        if (g->azure)
            azure_choice_filters(c, 0);
        chat_usage(cJSON_AddObjectToObject(o, "usage"), g, t.usage, t.usage_reasoning);
        cJSON_AddNullToObject(o, "system_fingerprint");
        if (g->azure)
            azure_prompt_filters(o);
    } else {
        cJSON_AddStringToObject(o, "id", g->id);
        cJSON_AddStringToObject(o, "type", "message");
        cJSON_AddStringToObject(o, "role", "assistant");
        cJSON_AddStringToObject(o, "model", g->model);
        cJSON *content = cJSON_AddArrayToObject(o, "content");
        if (has_reasoning(g)) {
            cJSON *th = cJSON_CreateObject();
            cJSON_AddItemToArray(content, th);
            cJSON_AddStringToObject(th, "type", "thinking");
            cJSON_AddStringToObject(th, "thinking", reasoning);
            cJSON_AddStringToObject(th, "signature", WIRE_SIGNATURE);
        }
        if (text_open) {
            cJSON *tb = cJSON_CreateObject();
            cJSON_AddItemToArray(content, tb);
            cJSON_AddStringToObject(tb, "type", "text");
            cJSON_AddStringToObject(tb, "text", text);
        }
        if (tool) {
            cJSON *tu = cJSON_CreateObject();
            cJSON_AddItemToArray(content, tu);
            cJSON_AddStringToObject(tu, "type", "tool_use");
            cJSON_AddStringToObject(tu, "id", g->call_id);
            cJSON_AddStringToObject(tu, "name", WIRE_TOOL_NAME);
            /* Anthropic's input is an object: the arguments parsed */
            cJSON *input = cJSON_Parse(args);
            cJSON_AddItemToObject(tu, "input", input ? input : cJSON_CreateObject());
        }
        cJSON_AddStringToObject(o, "stop_reason",
                                end == WIRE_END_LENGTH ? "max_tokens"
                                : tool                 ? "tool_use"
                                                       : "end_turn");
        cJSON_AddNullToObject(o, "stop_sequence");
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "input_tokens", (double)g->input_tokens);
        cJSON_AddNumberToObject(u, "output_tokens", (double)t.usage);
    }
    free(text);
    free(reasoning);
    free(args);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Azure's error code for a status: its 429's is the number, a not found "404", as it sends them. */
static const char *azure_code(int status, const char *code)
{
    if (code != NULL && strcmp(code, "rate_limit_exceeded") != 0)
        return code;
    switch (status) {
    case 401:
        return "401";
    case 404:
        return "404";
    case 405:
        return "MethodNotAllowed";
    case 408:
        return "Timeout";
    case 411:
        return "LengthRequired";
    case 413:
        return "RequestEntityTooLarge";
    case 429:
        return NULL; /* the number */
    default:
        return status >= 500 ? "InternalServerError" : "BadRequest";
    }
}

const char *wire_error_type(enum api api, int status)
{
    if (api == API_GEMINI)
        return gemini_status(status);
    if (api == API_OLLAMA)
        return "error"; /* Ollama's errors have a message and no type */
    if (api == API_BEDROCK || api == API_BEDROCK_INVOKE)
        return bedrock_error_type(status);
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
    if (api == API_OLLAMA)
        return ollama_error_body(message);
    /* Azure answers a body it rejects as OpenAI does; its routing (a BadRequest code among
     * them), quota and server errors have a code and a message only */
    if (api == API_AZURE && (status != 400 || (code && strcmp(code, "BadRequest") == 0)))
        return azure_error_body(status, azure_code(status, code), message);
    if (api == API_BEDROCK || api == API_BEDROCK_INVOKE)
        return bedrock_error_body(message); /* its type goes in x-amzn-errortype */
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
