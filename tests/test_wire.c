/* Tests for mockprov/wire: golden checks of every SSE event against the fields the official
 * SDKs need, non-stream and error bodies, and every split point of each stream fed to an
 * incremental SSE frame splitter. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "wire.h"

/* ---- a small incremental SSE frame splitter ----------------------------------------------- */

/* One event as a client sees it: the event field (NULL when absent) and the joined data lines. */
struct sse_event {
    char *event;
    char *data;
};

#define SSE_MAX_EVENT_BYTES (64 * 1024) /* a pending frame larger than this is an error */
#define SSE_MAX_EVENTS 256

struct sse_splitter {
    char buf[SSE_MAX_EVENT_BYTES];
    size_t len;
    struct sse_event ev[SSE_MAX_EVENTS];
    size_t n;
    int error;
};

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Parses one frame (without its blank line): "event:" and "data:" fields, one optional space
 * after the colon, several data lines joined with '\n', ':' comments ignored. A frame with
 * neither field is dropped (the SDKs' SSE rules). */
static void frame_emit(struct sse_splitter *sp, const char *f, size_t n)
{
    char *event = NULL, *data = NULL;
    size_t dlen = 0;
    const char *p = f, *end = f + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t ll = (size_t)(le - p);
        const char *v = NULL;
        size_t vl = 0;
        int is_data = 0;
        if (ll >= 6 && memcmp(p, "event:", 6) == 0) {
            v = p + 6;
        } else if (ll >= 5 && memcmp(p, "data:", 5) == 0) {
            v = p + 5;
            is_data = 1;
        }
        if (v) {
            if (v < le && *v == ' ')
                v++;
            vl = (size_t)(le - v);
            if (is_data) {
                char *tmp = realloc(data, dlen + vl + 2);
                if (tmp == NULL) {
                    sp->error = 1;
                    break;
                }
                data = tmp;
                if (dlen)
                    data[dlen++] = '\n';
                memcpy(data + dlen, v, vl);
                dlen += vl;
                data[dlen] = '\0';
            } else {
                free(event);
                event = dup_n(v, vl);
            }
        }
        p = nl ? nl + 1 : end;
    }
    if ((event == NULL && data == NULL) || sp->error || sp->n == SSE_MAX_EVENTS) {
        sp->error |= sp->n == SSE_MAX_EVENTS;
        free(event);
        free(data);
        return;
    }
    sp->ev[sp->n].event = event;
    sp->ev[sp->n].data = data ? data : dup_n("", 0);
    sp->n++;
}

/* Appends bytes; emits every frame a blank line ("\n\n") has closed. The search restarts one
 * byte back, since a split can fall between the two newlines. */
static void splitter_feed(struct sse_splitter *sp, const char *bytes, size_t n)
{
    if (sp->len + n > sizeof sp->buf) {
        sp->error = 1;
        return;
    }
    size_t from = sp->len ? sp->len - 1 : 0;
    memcpy(sp->buf + sp->len, bytes, n);
    sp->len += n;
    size_t start = 0;
    for (size_t i = from; i + 1 < sp->len; i++) {
        if (sp->buf[i] == '\n' && sp->buf[i + 1] == '\n') {
            frame_emit(sp, sp->buf + start, i - start);
            start = i + 2;
            i++;
        }
    }
    memmove(sp->buf, sp->buf + start, sp->len - start);
    sp->len -= start;
}

static struct sse_splitter *splitter_new(void)
{
    return calloc(1, sizeof(struct sse_splitter));
}

static void splitter_free(struct sse_splitter *sp)
{
    if (sp == NULL)
        return;
    for (size_t i = 0; i < sp->n; i++) {
        free(sp->ev[i].event);
        free(sp->ev[i].data);
    }
    free(sp);
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* ---- a parsed stream: the SSE events and their JSON ---------------------------------------- */

struct stream {
    struct sse_splitter *sp;
    cJSON *json[SSE_MAX_EVENTS]; /* NULL where data is not JSON ([DONE]) */
    size_t n;
};

/* Splits 'text' into events and parses each data as JSON. Returns 0, or -1 when the text does
 * not end on a frame boundary or the splitter failed. */
static int stream_parse(const char *text, struct stream *s)
{
    memset(s, 0, sizeof *s);
    s->sp = splitter_new();
    if (s->sp == NULL || text == NULL)
        return -1;
    splitter_feed(s->sp, text, strlen(text));
    s->n = s->sp->n;
    for (size_t i = 0; i < s->n; i++)
        s->json[i] = cJSON_Parse(s->sp->ev[i].data);
    return s->sp->error || s->sp->len != 0 ? -1 : 0;
}

static void stream_free(struct stream *s)
{
    for (size_t i = 0; i < s->n; i++)
        cJSON_Delete(s->json[i]);
    splitter_free(s->sp);
    memset(s, 0, sizeof *s);
}

/* ---- JSON path helpers: "choices.0.delta.content" ----------------------------------------- */

static const cJSON *jpath(const cJSON *o, const char *path)
{
    char seg[64];
    const char *p = path;
    while (o && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (cJSON_IsArray(o) && seg[0] >= '0' && seg[0] <= '9')
            o = cJSON_GetArrayItem(o, atoi(seg));
        else
            o = cJSON_GetObjectItemCaseSensitive(o, seg);
        p += n;
        if (*p == '.')
            p++;
    }
    return o;
}

static const char *jstr(const cJSON *o, const char *path)
{
    const cJSON *v = jpath(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long jnum(const cJSON *o, const char *path)
{
    const cJSON *v = jpath(o, path);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -999999;
}

static int jnull(const cJSON *o, const char *path)
{
    return cJSON_IsNull(jpath(o, path));
}

static int jhas(const cJSON *o, const char *path)
{
    return jpath(o, path) != NULL;
}

static int jsize(const cJSON *o, const char *path)
{
    const cJSON *v = jpath(o, path);
    return cJSON_IsArray(v) || cJSON_IsObject(v) ? cJSON_GetArraySize(v) : -1;
}

static int jbool(const cJSON *o, const char *path, int want)
{
    const cJSON *v = jpath(o, path);
    return cJSON_IsBool(v) && cJSON_IsTrue(v) == want;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- fixtures ----------------------------------------------------------------------------- */

/* The plain-text endings: n visible tokens, no reasoning. */
static char *close_n(const struct wire_gen *g, uint64_t n, enum wire_end end, int64_t usage,
                     int64_t after)
{
    struct wire_tally t = {0, n, usage, usage < 0 ? -1 : 0};
    return wire_stream_close(g, &t, end, after);
}

static char *body_n(const struct wire_gen *g, uint64_t n, enum wire_end end, int64_t usage)
{
    struct wire_tally t = {0, n, usage, usage < 0 ? -1 : 0};
    return wire_body(g, &t, end);
}

static char *object_n(const struct wire_gen *g, uint64_t n, const char *status, int64_t usage)
{
    struct wire_tally t = {0, n, usage, usage < 0 ? -1 : 0};
    return wire_response_object(g, &t, status);
}

#define CREATED 1700000000
#define INPUT_TOKENS 7

static int gen_init(struct wire_gen *g, enum api api, int include_usage, int64_t max_tokens)
{
    struct request rq;
    memset(&rq, 0, sizeof rq);
    rq.api = api;
    snprintf(rq.model, sizeof rq.model, "test-model");
    rq.include_usage = include_usage;
    rq.max_tokens = max_tokens;
    rq.input_tokens = INPUT_TOKENS;
    rq.id_source = "none";
    return wire_gen_init(g, &rq, 1, CREATED);
}

/* open + tokens [0, n) + close, as one malloc'd string. */
static char *whole_stream(const struct wire_gen *g, uint64_t n, enum wire_end end, int64_t usage)
{
    char *open = wire_stream_open(g, -1);
    char *close = close_n(g, n, end, usage, -1);
    size_t cap =
        (open ? strlen(open) : 0) + (close ? strlen(close) : 0) + n * WIRE_TOKEN_EVENT_MAX + 1;
    char *s = malloc(cap);
    if (s && open && close) {
        size_t off = strlen(open);
        memcpy(s, open, off);
        for (uint64_t i = 0; i < n; i++) {
            int w = wire_stream_token(g, i, s + off, cap - off);
            if (w < 0) {
                free(s);
                s = NULL;
                break;
            }
            off += (size_t)w;
        }
        if (s)
            memcpy(s + off, close, strlen(close) + 1);
    } else {
        free(s);
        s = NULL;
    }
    free(open);
    free(close);
    return s;
}

/* ---- gen ids and text --------------------------------------------------------------------- */

static void wire_gen_should_make_ids_per_api(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_CHAT, 0, -1), 0);
    CHECK_EQ_STR(g.id, "chatcmpl-tg0000000000000001");
    wire_gen_cleanup(&g);
    CHECK(g.tmpl == NULL);
    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, -1), 0);
    CHECK_EQ_STR(g.id, "resp_tg0000000000000001");
    CHECK_EQ_STR(g.item_id, "msg_tg0000000000000001");
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(gen_init(&g, API_MESSAGES, 1, 8), 0);
    CHECK_EQ_STR(g.id, "msg_tg0000000000000001");
    CHECK_EQ_STR(g.model, "test-model");
    CHECK_EQ_INT(g.created, CREATED);
    CHECK_EQ_INT(g.input_tokens, INPUT_TOKENS);
    CHECK_EQ_INT(g.max_tokens, 8);
    wire_gen_cleanup(&g);
}

static void wire_text_should_join_token_texts(void)
{
    char *t0 = wire_text(0), *t3 = wire_text(3), *t12 = wire_text(12);
    int ok = t0 && t3 && t12 && strcmp(t0, "") == 0 && strcmp(t3, " tok0 tok1 tok2") == 0 &&
             strcmp(t12, " tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 tok8 tok9 tok10 tok11") == 0;
    free(t0);
    free(t3);
    free(t12);
    CHECK(ok);
}

static void wire_stream_token_should_fail_when_buffer_too_small(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_MESSAGES, 1, -1), 0);
    char buf[WIRE_TOKEN_EVENT_MAX];
    int n = wire_stream_token(&g, 12, buf, sizeof buf);
    CHECK(n > 0);
    CHECK_EQ_INT(strlen(buf), n);
    char small[WIRE_TOKEN_EVENT_MAX];
    int fit = wire_stream_token(&g, 12, small, (size_t)n + 1);
    int short_by_one = wire_stream_token(&g, 12, small, (size_t)n);
    int tiny = wire_stream_token(&g, 12, small, 1);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(fit, n);
    CHECK_EQ_STR(small, buf);
    CHECK_EQ_INT(short_by_one, -1);
    CHECK_EQ_INT(tiny, -1);
}

/* ---- chat completions --------------------------------------------------------------------- */

static void chat_stream_should_match_sdk_requirements(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_CHAT, 1, -1), 0);
    char *text = whole_stream(&g, 3, WIRE_END_STOP, 3);
    CHECK(text != NULL);
    struct stream s;
    int rc = stream_parse(text, &s);
    /* the stream ends with the [DONE] marker and a blank line, and has no event: line */
    int done_last = ends_with(text, "\n\ndata: [DONE]\n\n");
    int no_event = strstr(text, "event:") == NULL;
    free(text);
    CHECK_EQ_INT(rc, 0);
    CHECK(done_last);
    CHECK(no_event);
    /* role chunk, 3 tokens, finish chunk, usage chunk, [DONE] */
    CHECK_EQ_INT(s.n, 7);
    for (size_t i = 0; i < s.n; i++)
        CHECK(s.sp->ev[i].event == NULL);
    for (size_t i = 0; i < 6; i++) {
        const cJSON *c = s.json[i];
        CHECK(c != NULL);
        CHECK_EQ_STR(jstr(c, "id"), "chatcmpl-tg0000000000000001");
        CHECK_EQ_STR(jstr(c, "object"), "chat.completion.chunk");
        CHECK_EQ_INT(jnum(c, "created"), CREATED);
        CHECK_EQ_STR(jstr(c, "model"), "test-model");
    }
    /* first delta: role assistant, empty content, usage null */
    const cJSON *first = s.json[0];
    CHECK_EQ_INT(jsize(first, "choices"), 1);
    CHECK_EQ_INT(jnum(first, "choices.0.index"), 0);
    CHECK_EQ_STR(jstr(first, "choices.0.delta.role"), "assistant");
    CHECK_EQ_STR(jstr(first, "choices.0.delta.content"), "");
    CHECK(jnull(first, "choices.0.finish_reason"));
    CHECK(jnull(first, "usage"));
    /* token chunks */
    for (int i = 0; i < 3; i++) {
        const cJSON *c = s.json[1 + i];
        char want[32];
        snprintf(want, sizeof want, " tok%d", i);
        CHECK_EQ_STR(jstr(c, "choices.0.delta.content"), want);
        CHECK(!jhas(c, "choices.0.delta.role"));
        CHECK(jnull(c, "choices.0.finish_reason"));
        CHECK(jnull(c, "usage"));
    }
    /* finish chunk */
    const cJSON *fin = s.json[4];
    CHECK_EQ_STR(jstr(fin, "choices.0.finish_reason"), "stop");
    CHECK_EQ_INT(jsize(fin, "choices.0.delta"), 0);
    CHECK(jnull(fin, "usage"));
    /* usage chunk: truthy id, choices [], the three counts */
    const cJSON *u = s.json[5];
    CHECK(jstr(u, "id") != NULL && jstr(u, "id")[0] != '\0');
    CHECK_EQ_INT(jsize(u, "choices"), 0);
    CHECK_EQ_INT(jnum(u, "usage.prompt_tokens"), INPUT_TOKENS);
    CHECK_EQ_INT(jnum(u, "usage.completion_tokens"), 3);
    CHECK_EQ_INT(jnum(u, "usage.total_tokens"), INPUT_TOKENS + 3);
    CHECK_EQ_STR(s.sp->ev[6].data, "[DONE]");
    CHECK(s.json[6] == NULL);
    stream_free(&s);
    wire_gen_cleanup(&g);
}

static void chat_stream_should_say_length_when_capped(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_CHAT, 1, 2), 0);
    char *close = close_n(&g, 2, WIRE_END_LENGTH, 2, -1);
    struct stream s;
    int rc = stream_parse(close, &s);
    free(close);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.n, 3);
    CHECK_EQ_STR(jstr(s.json[0], "choices.0.finish_reason"), "length");
    CHECK_EQ_INT(jnum(s.json[1], "usage.completion_tokens"), 2);
    CHECK_EQ_STR(s.sp->ev[2].data, "[DONE]");
    stream_free(&s);
}

static void chat_stream_should_omit_usage_without_include_usage(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_CHAT, 0, -1), 0);
    char *text = whole_stream(&g, 2, WIRE_END_STOP, 2);
    struct stream s;
    int rc = stream_parse(text, &s);
    int no_usage = text && strstr(text, "usage") == NULL;
    free(text);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(rc, 0);
    CHECK(no_usage);
    /* role chunk, 2 tokens, finish chunk, [DONE] */
    CHECK_EQ_INT(s.n, 5);
    CHECK_EQ_STR(jstr(s.json[3], "choices.0.finish_reason"), "stop");
    CHECK_EQ_STR(s.sp->ev[4].data, "[DONE]");
    stream_free(&s);
}

static void chat_stream_should_omit_usage_chunk_when_usage_negative(void)
{
    /* a profile that reports nothing on the wire: usage:null chunks, no usage chunk */
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_CHAT, 1, -1), 0);
    char *close = close_n(&g, 4, WIRE_END_STOP, -1, -1);
    struct stream s;
    int rc = stream_parse(close, &s);
    free(close);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_STR(jstr(s.json[0], "choices.0.finish_reason"), "stop");
    CHECK(jnull(s.json[0], "usage"));
    CHECK_EQ_STR(s.sp->ev[1].data, "[DONE]");
    stream_free(&s);
}

static void chat_stream_should_report_zero_usage(void)
{
    /* vendor-*-pre bill zero for a cancelled stream and say so in the usage chunk */
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_CHAT, 1, -1), 0);
    char *close = close_n(&g, 4, WIRE_END_STOP, 0, -1);
    struct stream s;
    int rc = stream_parse(close, &s);
    free(close);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.n, 3);
    CHECK_EQ_INT(jnum(s.json[1], "usage.completion_tokens"), 0);
    CHECK_EQ_INT(jnum(s.json[1], "usage.total_tokens"), INPUT_TOKENS);
    stream_free(&s);
}

/* ---- responses ---------------------------------------------------------------------------- */

static const char *const resp_open_names[] = {"response.created", "response.in_progress",
                                              "response.output_item.added",
                                              "response.content_part.added"};

static void responses_stream_should_match_sdk_requirements(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, -1), 0);
    char *text = whole_stream(&g, 3, WIRE_END_STOP, 3);
    CHECK(text != NULL);
    struct stream s;
    int rc = stream_parse(text, &s);
    int no_done = strstr(text, "[DONE]") == NULL;
    free(text);
    CHECK_EQ_INT(rc, 0);
    CHECK(no_done);
    CHECK_EQ_INT(s.n, 4 + 3 + 4);
    /* every event: an event: line equal to data.type, sequence numbers 0, 1, 2, ... */
    for (size_t i = 0; i < s.n; i++) {
        CHECK(s.json[i] != NULL);
        CHECK(s.sp->ev[i].event != NULL);
        CHECK_EQ_STR(jstr(s.json[i], "type"), s.sp->ev[i].event);
        CHECK_EQ_INT(jnum(s.json[i], "sequence_number"), i);
    }
    for (size_t i = 0; i < 4; i++)
        CHECK_EQ_STR(s.sp->ev[i].event, resp_open_names[i]);
    /* created / in_progress: the response, in progress, no output yet */
    for (size_t i = 0; i < 2; i++) {
        const cJSON *r = jpath(s.json[i], "response");
        CHECK_EQ_STR(jstr(r, "id"), "resp_tg0000000000000001");
        CHECK_EQ_STR(jstr(r, "object"), "response");
        CHECK_EQ_INT(jnum(r, "created_at"), CREATED);
        CHECK_EQ_STR(jstr(r, "status"), "in_progress");
        CHECK_EQ_STR(jstr(r, "model"), "test-model");
        CHECK_EQ_INT(jsize(r, "output"), 0);
        CHECK(jnull(r, "usage"));
        CHECK(jnull(r, "max_output_tokens"));
        CHECK(jbool(r, "background", 0));
    }
    /* output_item.added: index 0 = output.length, message item, no content yet */
    const cJSON *added = s.json[2];
    CHECK_EQ_INT(jnum(added, "output_index"), 0);
    CHECK_EQ_STR(jstr(added, "item.id"), "msg_tg0000000000000001");
    CHECK_EQ_STR(jstr(added, "item.type"), "message");
    CHECK_EQ_STR(jstr(added, "item.status"), "in_progress");
    CHECK_EQ_STR(jstr(added, "item.role"), "assistant");
    CHECK_EQ_INT(jsize(added, "item.content"), 0);
    /* content_part.added: same item, content_index 0, empty output_text */
    const cJSON *part = s.json[3];
    CHECK_EQ_STR(jstr(part, "item_id"), "msg_tg0000000000000001");
    CHECK_EQ_INT(jnum(part, "output_index"), 0);
    CHECK_EQ_INT(jnum(part, "content_index"), 0);
    CHECK_EQ_STR(jstr(part, "part.type"), "output_text");
    CHECK_EQ_STR(jstr(part, "part.text"), "");
    CHECK_EQ_INT(jsize(part, "part.annotations"), 0);
    /* deltas: sequence 4 + i, the token's text, the required logprobs */
    for (int i = 0; i < 3; i++) {
        const cJSON *d = s.json[4 + i];
        char want[32];
        snprintf(want, sizeof want, " tok%d", i);
        CHECK_EQ_STR(s.sp->ev[4 + i].event, "response.output_text.delta");
        CHECK_EQ_INT(jnum(d, "sequence_number"), WIRE_RESP_FIRST_DELTA + i);
        CHECK_EQ_STR(jstr(d, "item_id"), "msg_tg0000000000000001");
        CHECK_EQ_INT(jnum(d, "output_index"), 0);
        CHECK_EQ_INT(jnum(d, "content_index"), 0);
        CHECK_EQ_STR(jstr(d, "delta"), want);
        CHECK_EQ_INT(jsize(d, "logprobs"), 0);
    }
    /* closing events */
    CHECK_EQ_STR(s.sp->ev[7].event, "response.output_text.done");
    CHECK_EQ_STR(jstr(s.json[7], "text"), " tok0 tok1 tok2");
    CHECK_EQ_STR(jstr(s.json[7], "item_id"), "msg_tg0000000000000001");
    CHECK_EQ_STR(s.sp->ev[8].event, "response.content_part.done");
    CHECK_EQ_STR(jstr(s.json[8], "part.type"), "output_text");
    CHECK_EQ_STR(jstr(s.json[8], "part.text"), " tok0 tok1 tok2");
    CHECK_EQ_STR(s.sp->ev[9].event, "response.output_item.done");
    CHECK_EQ_STR(jstr(s.json[9], "item.id"), "msg_tg0000000000000001");
    CHECK_EQ_STR(jstr(s.json[9], "item.type"), "message");
    CHECK_EQ_STR(jstr(s.json[9], "item.status"), "completed");
    CHECK_EQ_STR(jstr(s.json[9], "item.content.0.text"), " tok0 tok1 tok2");
    CHECK_EQ_STR(s.sp->ev[10].event, "response.completed");
    const cJSON *r = jpath(s.json[10], "response");
    CHECK_EQ_STR(jstr(r, "id"), "resp_tg0000000000000001");
    CHECK_EQ_STR(jstr(r, "status"), "completed");
    CHECK(jnull(r, "incomplete_details"));
    CHECK_EQ_INT(jsize(r, "output"), 1);
    CHECK_EQ_STR(jstr(r, "output.0.content.0.type"), "output_text");
    CHECK_EQ_STR(jstr(r, "output.0.content.0.text"), " tok0 tok1 tok2");
    CHECK_EQ_INT(jnum(r, "usage.input_tokens"), INPUT_TOKENS);
    CHECK_EQ_INT(jnum(r, "usage.output_tokens"), 3);
    CHECK_EQ_INT(jnum(r, "usage.total_tokens"), INPUT_TOKENS + 3);
    CHECK_EQ_INT(jnum(r, "usage.input_tokens_details.cached_tokens"), 0);
    CHECK_EQ_INT(jnum(r, "usage.output_tokens_details.reasoning_tokens"), 0);
    stream_free(&s);
    wire_gen_cleanup(&g);
}

static void responses_open_should_drop_events_at_or_before_starting_after(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, -1), 0);
    for (int64_t after = -1; after <= 5; after++) {
        char *open = wire_stream_open(&g, after);
        struct stream s;
        int rc = stream_parse(open, &s);
        free(open);
        CHECK_EQ_INT(rc, 0);
        int64_t first = after + 1;
        size_t want = first >= 4 ? 0 : (size_t)(4 - first);
        CHECK_EQ_INT(s.n, want);
        for (size_t i = 0; i < s.n; i++) {
            CHECK_EQ_INT(jnum(s.json[i], "sequence_number"), first + (int64_t)i);
            CHECK_EQ_STR(s.sp->ev[i].event, resp_open_names[first + (int64_t)i]);
        }
        stream_free(&s);
    }
    wire_gen_cleanup(&g);
}

static void responses_close_should_drop_events_at_or_before_starting_after(void)
{
    static const char *const names[] = {"response.output_text.done", "response.content_part.done",
                                        "response.output_item.done", "response.completed"};
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, -1), 0);
    /* 3 tokens: closing events are 7, 8, 9, 10 */
    static const struct {
        int64_t after;
        size_t n;
        int64_t first;
    } rows[] = {{-1, 4, 7}, {5, 4, 7},  {6, 4, 7},   {7, 3, 8},
                {8, 2, 9},  {9, 1, 10}, {10, 0, 11}, {100, 0, 0}};
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        char *close = close_n(&g, 3, WIRE_END_STOP, 3, rows[k].after);
        struct stream s;
        int rc = stream_parse(close, &s);
        free(close);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(s.n, rows[k].n);
        for (size_t i = 0; i < s.n; i++) {
            CHECK_EQ_INT(jnum(s.json[i], "sequence_number"), rows[k].first + (int64_t)i);
            CHECK_EQ_STR(s.sp->ev[i].event, names[rows[k].first + (int64_t)i - 7]);
        }
        stream_free(&s);
    }
    wire_gen_cleanup(&g);
}

static void responses_close_should_end_cancelled_with_incomplete_event(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, -1), 0);
    char *close = close_n(&g, 2, WIRE_END_CANCELLED, 2, -1);
    struct stream s;
    int rc = stream_parse(close, &s);
    free(close);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.n, 4);
    CHECK_EQ_INT(jnum(s.json[0], "sequence_number"), 6);
    CHECK_EQ_STR(jstr(s.json[0], "text"), " tok0 tok1");
    CHECK_EQ_STR(jstr(s.json[2], "item.status"), "incomplete");
    CHECK_EQ_STR(s.sp->ev[3].event, "response.incomplete");
    CHECK_EQ_STR(jstr(s.json[3], "type"), "response.incomplete");
    CHECK_EQ_INT(jnum(s.json[3], "sequence_number"), 9);
    CHECK_EQ_STR(jstr(s.json[3], "response.status"), "cancelled");
    CHECK(jnull(s.json[3], "response.incomplete_details"));
    CHECK_EQ_STR(jstr(s.json[3], "response.output.0.content.0.text"), " tok0 tok1");
    CHECK_EQ_INT(jnum(s.json[3], "response.usage.output_tokens"), 2);
    stream_free(&s);
}

static void responses_close_should_end_capped_with_max_output_tokens(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, 2), 0);
    char *close = close_n(&g, 2, WIRE_END_LENGTH, 2, -1);
    struct stream s;
    int rc = stream_parse(close, &s);
    free(close);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.n, 4);
    CHECK_EQ_STR(s.sp->ev[3].event, "response.incomplete");
    CHECK_EQ_STR(jstr(s.json[3], "response.status"), "incomplete");
    CHECK_EQ_STR(jstr(s.json[3], "response.incomplete_details.reason"), "max_output_tokens");
    CHECK_EQ_INT(jnum(s.json[3], "response.max_output_tokens"), 2);
    stream_free(&s);
}

static void responses_close_should_give_null_usage_when_negative(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, -1), 0);
    char *close = close_n(&g, 1, WIRE_END_STOP, -1, -1);
    struct stream s;
    int rc = stream_parse(close, &s);
    free(close);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.n, 4);
    CHECK(jnull(s.json[3], "response.usage"));
    stream_free(&s);
}

/* ---- anthropic messages ------------------------------------------------------------------- */

static void messages_stream_should_match_sdk_requirements(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_MESSAGES, 1, 64), 0);
    char *text = whole_stream(&g, 3, WIRE_END_STOP, 3);
    CHECK(text != NULL);
    struct stream s;
    int rc = stream_parse(text, &s);
    free(text);
    CHECK_EQ_INT(rc, 0);
    static const char *const names[] = {
        "message_start",       "content_block_start", "ping",
        "content_block_delta", "content_block_delta", "content_block_delta",
        "content_block_stop",  "message_delta",       "message_stop"};
    CHECK_EQ_INT(s.n, sizeof names / sizeof names[0]);
    /* event: lines are mandatory and equal data.type */
    for (size_t i = 0; i < s.n; i++) {
        CHECK(s.json[i] != NULL);
        CHECK_EQ_STR(s.sp->ev[i].event, names[i]);
        CHECK_EQ_STR(jstr(s.json[i], "type"), names[i]);
    }
    const cJSON *m = jpath(s.json[0], "message");
    CHECK_EQ_STR(jstr(m, "id"), "msg_tg0000000000000001");
    CHECK_EQ_STR(jstr(m, "type"), "message");
    CHECK_EQ_STR(jstr(m, "role"), "assistant");
    CHECK_EQ_INT(jsize(m, "content"), 0);
    CHECK_EQ_STR(jstr(m, "model"), "test-model");
    CHECK(jnull(m, "stop_reason"));
    CHECK(jnull(m, "stop_sequence"));
    CHECK_EQ_INT(jnum(m, "usage.input_tokens"), INPUT_TOKENS);
    CHECK_EQ_INT(jnum(m, "usage.output_tokens"), 1);
    CHECK_EQ_INT(jnum(s.json[1], "index"), 0);
    CHECK_EQ_STR(jstr(s.json[1], "content_block.type"), "text");
    CHECK_EQ_STR(jstr(s.json[1], "content_block.text"), "");
    for (int i = 0; i < 3; i++) {
        char want[32];
        snprintf(want, sizeof want, " tok%d", i);
        CHECK_EQ_INT(jnum(s.json[3 + i], "index"), 0);
        CHECK_EQ_STR(jstr(s.json[3 + i], "delta.type"), "text_delta");
        CHECK_EQ_STR(jstr(s.json[3 + i], "delta.text"), want);
    }
    CHECK_EQ_INT(jnum(s.json[6], "index"), 0);
    CHECK_EQ_STR(jstr(s.json[7], "delta.stop_reason"), "end_turn");
    CHECK(jnull(s.json[7], "delta.stop_sequence"));
    CHECK_EQ_INT(jnum(s.json[7], "usage.output_tokens"), 3);
    stream_free(&s);
    wire_gen_cleanup(&g);
}

static void messages_close_should_always_carry_output_tokens(void)
{
    static const struct {
        enum wire_end end;
        uint64_t n;
        int64_t usage;
        const char *stop;
        long long out;
    } rows[] = {
        {WIRE_END_STOP, 5, 5, "end_turn", 5},
        {WIRE_END_LENGTH, 4, 4, "max_tokens", 4},
        {WIRE_END_STOP, 5, 0, "end_turn", 0},  /* a zero bill is said as 0 */
        {WIRE_END_STOP, 5, -1, "end_turn", 5}, /* no usage: the SDK still needs the field */
    };
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_MESSAGES, 1, 4), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *close = close_n(&g, rows[i].n, rows[i].end, rows[i].usage, -1);
        struct stream s;
        int rc = stream_parse(close, &s);
        free(close);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(s.n, 3);
        CHECK_EQ_STR(s.sp->ev[1].event, "message_delta");
        CHECK_EQ_STR(jstr(s.json[1], "delta.stop_reason"), rows[i].stop);
        CHECK_EQ_INT(jnum(s.json[1], "usage.output_tokens"), rows[i].out);
        CHECK_EQ_STR(s.sp->ev[2].event, "message_stop");
        stream_free(&s);
    }
    wire_gen_cleanup(&g);
}

/* ---- in-stream errors --------------------------------------------------------------------- */

static void stream_error_should_take_each_vendor_shape(void)
{
    struct wire_gen g;
    struct stream s;
    char *e;

    CHECK_EQ_INT(gen_init(&g, API_CHAT, 1, -1), 0);
    e = wire_stream_error(&g, 2);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(stream_parse(e, &s), 0);
    free(e);
    CHECK_EQ_INT(s.n, 1);
    CHECK(s.sp->ev[0].event == NULL);
    CHECK_EQ_STR(jstr(s.json[0], "error.type"), "server_error");
    CHECK_EQ_STR(jstr(s.json[0], "error.message"),
                 "The server had an error while processing your request. Sorry about that!");
    stream_free(&s);

    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, -1), 0);
    e = wire_stream_error(&g, 2);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(stream_parse(e, &s), 0);
    free(e);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.sp->ev[0].event, "error");
    CHECK_EQ_STR(jstr(s.json[0], "type"), "error");
    CHECK_EQ_STR(jstr(s.json[0], "code"), "server_error");
    CHECK(jnull(s.json[0], "param"));
    CHECK_EQ_INT(jnum(s.json[0], "sequence_number"), 6);
    stream_free(&s);

    CHECK_EQ_INT(gen_init(&g, API_MESSAGES, 1, 8), 0);
    e = wire_stream_error(&g, 2);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(stream_parse(e, &s), 0);
    free(e);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.sp->ev[0].event, "error");
    CHECK_EQ_STR(jstr(s.json[0], "type"), "error");
    CHECK_EQ_STR(jstr(s.json[0], "error.type"), "overloaded_error");
    CHECK_EQ_STR(jstr(s.json[0], "error.message"), "Overloaded");
    stream_free(&s);
}

/* ---- escaping ------------------------------------------------------------------------------ */

static void wire_should_escape_model_in_every_event(void)
{
    static const enum api apis[] = {API_CHAT, API_RESPONSES, API_MESSAGES, API_GEMINI};
    const char *model = "we\"ird\\model\n";
    for (size_t k = 0; k < 4; k++) {
        struct request rq;
        memset(&rq, 0, sizeof rq);
        rq.api = apis[k];
        snprintf(rq.model, sizeof rq.model, "%s", model);
        rq.include_usage = 1;
        rq.max_tokens = -1;
        rq.input_tokens = 1;
        struct wire_gen g;
        CHECK_EQ_INT(wire_gen_init(&g, &rq, 9, CREATED), 0);
        char *text = whole_stream(&g, 2, WIRE_END_STOP, 2);
        wire_gen_cleanup(&g);
        struct stream s;
        int rc = stream_parse(text, &s);
        free(text);
        CHECK_EQ_INT(rc, 0);
        CHECK(s.n >= (apis[k] == API_GEMINI ? 3u : 5u));
        int models = 0;
        for (size_t i = 0; i < s.n; i++) {
            const char *m = jstr(s.json[i], "model");
            if (m == NULL)
                m = jstr(s.json[i], "response.model");
            if (m == NULL)
                m = jstr(s.json[i], "message.model");
            if (m == NULL)
                m = jstr(s.json[i], "modelVersion");
            if (m) {
                CHECK_EQ_STR(m, model);
                models++;
            }
        }
        CHECK(models >= 1);
        stream_free(&s);
    }
}

/* ---- non-stream bodies -------------------------------------------------------------------- */

static void chat_body_should_be_a_chat_completion(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_CHAT, 0, -1), 0);
    char *body = body_n(&g, 2, WIRE_END_STOP, -1);
    char *capped = body_n(&g, 2, WIRE_END_LENGTH, 0);
    wire_gen_cleanup(&g);
    cJSON *o = cJSON_Parse(body), *c = cJSON_Parse(capped);
    free(body);
    free(capped);
    CHECK(o != NULL && c != NULL);
    CHECK_EQ_STR(jstr(o, "id"), "chatcmpl-tg0000000000000001");
    CHECK_EQ_STR(jstr(o, "object"), "chat.completion");
    CHECK_EQ_INT(jnum(o, "created"), CREATED);
    CHECK_EQ_STR(jstr(o, "model"), "test-model");
    CHECK_EQ_INT(jsize(o, "choices"), 1);
    CHECK_EQ_INT(jnum(o, "choices.0.index"), 0);
    CHECK_EQ_STR(jstr(o, "choices.0.message.role"), "assistant");
    CHECK_EQ_STR(jstr(o, "choices.0.message.content"), " tok0 tok1");
    CHECK_EQ_STR(jstr(o, "choices.0.finish_reason"), "stop");
    /* usage < 0 means "bill what was generated" for a body */
    CHECK_EQ_INT(jnum(o, "usage.prompt_tokens"), INPUT_TOKENS);
    CHECK_EQ_INT(jnum(o, "usage.completion_tokens"), 2);
    CHECK_EQ_INT(jnum(o, "usage.total_tokens"), INPUT_TOKENS + 2);
    CHECK_EQ_STR(jstr(c, "choices.0.finish_reason"), "length");
    CHECK_EQ_INT(jnum(c, "usage.completion_tokens"), 0);
    CHECK_EQ_INT(jnum(c, "usage.total_tokens"), INPUT_TOKENS);
    cJSON_Delete(o);
    cJSON_Delete(c);
}

static void messages_body_should_be_an_anthropic_message(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_MESSAGES, 1, 8), 0);
    char *body = body_n(&g, 2, WIRE_END_STOP, 2);
    char *capped = body_n(&g, 8, WIRE_END_LENGTH, 8);
    wire_gen_cleanup(&g);
    cJSON *o = cJSON_Parse(body), *c = cJSON_Parse(capped);
    free(body);
    free(capped);
    CHECK(o != NULL && c != NULL);
    CHECK_EQ_STR(jstr(o, "id"), "msg_tg0000000000000001");
    CHECK_EQ_STR(jstr(o, "type"), "message");
    CHECK_EQ_STR(jstr(o, "role"), "assistant");
    CHECK_EQ_STR(jstr(o, "model"), "test-model");
    CHECK_EQ_INT(jsize(o, "content"), 1);
    CHECK_EQ_STR(jstr(o, "content.0.type"), "text");
    CHECK_EQ_STR(jstr(o, "content.0.text"), " tok0 tok1");
    CHECK_EQ_STR(jstr(o, "stop_reason"), "end_turn");
    CHECK(jnull(o, "stop_sequence"));
    CHECK_EQ_INT(jnum(o, "usage.input_tokens"), INPUT_TOKENS);
    CHECK_EQ_INT(jnum(o, "usage.output_tokens"), 2);
    CHECK_EQ_STR(jstr(c, "stop_reason"), "max_tokens");
    CHECK_EQ_INT(jnum(c, "usage.output_tokens"), 8);
    cJSON_Delete(o);
    cJSON_Delete(c);
}

static void responses_body_should_be_a_response_object(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, 50), 0);
    char *body = body_n(&g, 2, WIRE_END_STOP, -1);
    char *cancelled = body_n(&g, 1, WIRE_END_CANCELLED, 1);
    wire_gen_cleanup(&g);
    cJSON *o = cJSON_Parse(body), *c = cJSON_Parse(cancelled);
    free(body);
    free(cancelled);
    CHECK(o != NULL && c != NULL);
    CHECK_EQ_STR(jstr(o, "id"), "resp_tg0000000000000001");
    CHECK_EQ_STR(jstr(o, "object"), "response");
    CHECK_EQ_INT(jnum(o, "created_at"), CREATED);
    CHECK_EQ_STR(jstr(o, "status"), "completed");
    CHECK_EQ_INT(jnum(o, "max_output_tokens"), 50);
    CHECK_EQ_INT(jsize(o, "output"), 1);
    CHECK_EQ_STR(jstr(o, "output.0.id"), "msg_tg0000000000000001");
    CHECK_EQ_STR(jstr(o, "output.0.type"), "message");
    CHECK_EQ_STR(jstr(o, "output.0.status"), "completed");
    CHECK_EQ_STR(jstr(o, "output.0.role"), "assistant");
    CHECK_EQ_STR(jstr(o, "output.0.content.0.type"), "output_text");
    CHECK_EQ_STR(jstr(o, "output.0.content.0.text"), " tok0 tok1");
    CHECK_EQ_INT(jnum(o, "usage.input_tokens"), INPUT_TOKENS);
    CHECK_EQ_INT(jnum(o, "usage.output_tokens"), 2);
    CHECK_EQ_INT(jnum(o, "usage.total_tokens"), INPUT_TOKENS + 2);
    CHECK_EQ_STR(jstr(c, "status"), "cancelled");
    CHECK_EQ_STR(jstr(c, "output.0.status"), "incomplete");
    CHECK_EQ_STR(jstr(c, "output.0.content.0.text"), " tok0");
    cJSON_Delete(o);
    cJSON_Delete(c);
}

static void response_object_should_reflect_status(void)
{
    static const struct {
        const char *status;
        uint64_t n;
        int64_t usage;
        int outputs;
        const char *item_status; /* NULL when no output item */
        const char *incomplete;  /* NULL for incomplete_details: null */
    } rows[] = {
        {"queued", 0, -1, 0, NULL, NULL},
        {"queued", 1, -1, 1, "in_progress", NULL},
        {"in_progress", 0, -1, 1, "in_progress", NULL},
        {"in_progress", 3, -1, 1, "in_progress", NULL},
        {"completed", 3, 3, 1, "completed", NULL},
        {"incomplete", 3, 3, 1, "incomplete", "max_output_tokens"},
        {"cancelled", 2, 2, 1, "incomplete", NULL},
    };
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, API_RESPONSES, 1, -1), 0);
    g.background = 1;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *s = object_n(&g, rows[i].n, rows[i].status, rows[i].usage);
        cJSON *o = cJSON_Parse(s);
        free(s);
        CHECK(o != NULL);
        CHECK_EQ_STR(jstr(o, "status"), rows[i].status);
        CHECK(jbool(o, "background", 1));
        CHECK(jnull(o, "max_output_tokens"));
        CHECK_EQ_INT(jsize(o, "output"), rows[i].outputs);
        if (rows[i].item_status)
            CHECK_EQ_STR(jstr(o, "output.0.status"), rows[i].item_status);
        if (rows[i].incomplete)
            CHECK_EQ_STR(jstr(o, "incomplete_details.reason"), rows[i].incomplete);
        else
            CHECK(jnull(o, "incomplete_details"));
        if (rows[i].usage < 0)
            CHECK(jnull(o, "usage"));
        else
            CHECK_EQ_INT(jnum(o, "usage.output_tokens"), rows[i].usage);
        cJSON_Delete(o);
    }
    wire_gen_cleanup(&g);
}

/* ---- error bodies ------------------------------------------------------------------------- */

static void error_body_should_take_openai_shape(void)
{
    static const struct {
        int status;
        const char *type, *code, *param, *message;
        const char *want;
    } rows[] = {
        {400, NULL, "invalid_value", "messages", "Bad messages.",
         "{\"error\":{\"message\":\"Bad messages.\",\"type\":\"invalid_request_error\","
         "\"param\":\"messages\",\"code\":\"invalid_value\"}}"},
        {400, NULL, NULL, "", "Bad body.",
         "{\"error\":{\"message\":\"Bad body.\",\"type\":\"invalid_request_error\","
         "\"param\":null,\"code\":null}}"},
        {429, NULL, "rate_limit_exceeded", NULL, "Slow down.",
         "{\"error\":{\"message\":\"Slow down.\",\"type\":\"requests\",\"param\":null,"
         "\"code\":\"rate_limit_exceeded\"}}"},
        {500, "custom_type", NULL, NULL, "Say \"hi\".",
         "{\"error\":{\"message\":\"Say \\\"hi\\\".\",\"type\":\"custom_type\",\"param\":null,"
         "\"code\":null}}"},
    };
    static const enum api apis[] = {API_CHAT, API_RESPONSES};
    for (size_t a = 0; a < 2; a++) {
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            char *s = wire_error_body(apis[a], rows[i].status, rows[i].type, rows[i].code,
                                      rows[i].param, rows[i].message, "req_ignored");
            int ok = s && strcmp(s, rows[i].want) == 0;
            if (!ok)
                fprintf(stderr, "  got %s\n", s ? s : "(null)");
            free(s);
            CHECK(ok);
        }
    }
}

static void error_body_should_take_anthropic_shape(void)
{
    char *s = wire_error_body(API_MESSAGES, 529, NULL, "ignored", "ignored", "Overloaded",
                              "req_tg0000000000000003");
    char *t = wire_error_body(API_MESSAGES, 400, "invalid_request_error", NULL, NULL,
                              "max_tokens: Field required", NULL);
    int ok_s = s && strcmp(s, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                              "\"message\":\"Overloaded\"},\"request_id\":"
                              "\"req_tg0000000000000003\"}") == 0;
    int ok_t = t && strcmp(t, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                              "\"message\":\"max_tokens: Field required\"}}") == 0;
    if (!ok_s || !ok_t)
        fprintf(stderr, "  got %s\n  and %s\n", s ? s : "(null)", t ? t : "(null)");
    free(s);
    free(t);
    CHECK(ok_s);
    CHECK(ok_t);
}

static void error_type_should_follow_each_api_vocabulary(void)
{
    static const struct {
        int status;
        const char *openai;
        const char *anthropic;
    } rows[] = {
        {400, "invalid_request_error", "invalid_request_error"},
        {401, "invalid_request_error", "authentication_error"},
        {403, "invalid_request_error", "permission_error"},
        {404, "invalid_request_error", "not_found_error"},
        {413, "invalid_request_error", "request_too_large"},
        {429, "requests", "rate_limit_error"},
        {500, "server_error", "api_error"},
        {503, "server_error", "api_error"},
        {504, "server_error", "timeout_error"},
        {529, "server_error", "overloaded_error"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CHECK_EQ_STR(wire_error_type(API_CHAT, rows[i].status), rows[i].openai);
        CHECK_EQ_STR(wire_error_type(API_RESPONSES, rows[i].status), rows[i].openai);
        CHECK_EQ_STR(wire_error_type(API_MESSAGES, rows[i].status), rows[i].anthropic);
    }
}

/* ---- every split point -------------------------------------------------------------------- */

static int same_events(const struct sse_splitter *a, const struct sse_splitter *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!same_str(a->ev[i].event, b->ev[i].event) || !same_str(a->ev[i].data, b->ev[i].data))
            return 0;
    return 1;
}

/* Feeds the whole stream in two pieces at every split point; the events must not change. */
/* Feeds 'text' (malloc'd, freed here) split in two at every byte: the events must be the same
 * 'want_events' every time. */
static void check_split_text(char *text, size_t want_events)
{
    CHECK(text != NULL);
    size_t len = strlen(text);
    struct sse_splitter *whole = splitter_new();
    CHECK(whole != NULL);
    splitter_feed(whole, text, len);
    int whole_ok = !whole->error && whole->len == 0 && whole->n == want_events;
    size_t bad_split = len + 1;
    for (size_t k = 0; whole_ok && k <= len; k++) {
        struct sse_splitter *sp = splitter_new();
        if (sp == NULL) {
            bad_split = k;
            break;
        }
        splitter_feed(sp, text, k);
        splitter_feed(sp, text + k, len - k);
        int ok = !sp->error && sp->len == 0 && same_events(whole, sp);
        splitter_free(sp);
        if (!ok) {
            bad_split = k;
            break;
        }
    }
    free(text);
    splitter_free(whole);
    CHECK(whole_ok);
    if (bad_split <= len)
        fprintf(stderr, "  split at byte %zu changed the events\n", bad_split);
    CHECK(bad_split == len + 1);
}

static void check_split_points(enum api api, size_t want_events)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, api, 1, -1), 0);
    char *text = whole_stream(&g, 3, WIRE_END_STOP, 3);
    wire_gen_cleanup(&g);
    check_split_text(text, want_events);
}

static void chat_stream_should_parse_same_at_every_split_point(void)
{
    check_split_points(API_CHAT, 7);
}

static void responses_stream_should_parse_same_at_every_split_point(void)
{
    check_split_points(API_RESPONSES, 11);
}

static void messages_stream_should_parse_same_at_every_split_point(void)
{
    check_split_points(API_MESSAGES, 9);
}

/* A truncated stream gives exactly the events whose blank line arrived, in order. */
static void check_truncations(enum api api)
{
    struct wire_gen g;
    CHECK_EQ_INT(gen_init(&g, api, 1, -1), 0);
    char *text = whole_stream(&g, 3, WIRE_END_STOP, 3);
    wire_gen_cleanup(&g);
    CHECK(text != NULL);
    size_t len = strlen(text);
    struct sse_splitter *whole = splitter_new();
    CHECK(whole != NULL);
    splitter_feed(whole, text, len);
    size_t bad = len + 1;
    for (size_t cut = 0; cut < len; cut++) {
        size_t closed = 0; /* "\n\n" wholly inside the prefix */
        for (size_t i = 0; i + 1 < cut; i++)
            if (text[i] == '\n' && text[i + 1] == '\n') {
                closed++;
                i++;
            }
        struct sse_splitter *sp = splitter_new();
        if (sp == NULL) {
            bad = cut;
            break;
        }
        splitter_feed(sp, text, cut);
        int ok = !sp->error && sp->n == closed && sp->n < whole->n;
        for (size_t i = 0; ok && i < sp->n; i++)
            ok = same_str(sp->ev[i].event, whole->ev[i].event) &&
                 same_str(sp->ev[i].data, whole->ev[i].data);
        splitter_free(sp);
        if (!ok) {
            bad = cut;
            break;
        }
    }
    free(text);
    splitter_free(whole);
    if (bad <= len)
        fprintf(stderr, "  truncation at byte %zu gave the wrong events\n", bad);
    CHECK(bad == len + 1);
}

static void stream_should_yield_only_closed_events_when_truncated(void)
{
    check_truncations(API_CHAT);
    if (check_failed)
        return;
    check_truncations(API_RESPONSES);
    if (check_failed)
        return;
    check_truncations(API_MESSAGES);
}

static void splitter_should_handle_comments_and_multiline_data(void)
{
    /* the test's own splitter, against the SDKs' SSE rules */
    const char *text = ": keep-alive\n\nevent: a\ndata: x\ndata:y\n\ndata:  two spaces\n\n"
                       "event: only\n\nid: 1\n\n";
    struct sse_splitter *sp = splitter_new();
    CHECK(sp != NULL);
    for (const char *p = text; *p; p++)
        splitter_feed(sp, p, 1);
    int ok = !sp->error && sp->len == 0 && sp->n == 3 && same_str(sp->ev[0].event, "a") &&
             same_str(sp->ev[0].data, "x\ny") && sp->ev[1].event == NULL &&
             same_str(sp->ev[1].data, " two spaces") && same_str(sp->ev[2].event, "only") &&
             same_str(sp->ev[2].data, "");
    splitter_free(sp);
    CHECK(ok);
}

/* ---- Gemini -------------------------------------------------------------------------------- */

static int gemini_init(struct wire_gen *g, int json_stream, int64_t max_tokens)
{
    struct request rq;
    memset(&rq, 0, sizeof rq);
    rq.api = API_GEMINI;
    snprintf(rq.model, sizeof rq.model, "gemini-test");
    rq.include_usage = 1;
    rq.stream = 1;
    rq.json_stream = json_stream;
    rq.max_tokens = max_tokens;
    rq.input_tokens = INPUT_TOKENS;
    rq.id_source = "none";
    return wire_gen_init(g, &rq, 1, CREATED);
}

/* One chunk as a recorded gemini-2.5-flash stream has it: candidates[0] with content {parts
 * [{text}], role "model"} and index 0, a cumulative usageMetadata, modelVersion, responseId. */
static int gemini_chunk_ok(const cJSON *c, const char *text, long long count, const char *finish)
{
    int ok = jsize(c, "candidates") == 1 && jsize(c, "candidates.0.content.parts") == 1 &&
             same_str(jstr(c, "candidates.0.content.parts.0.text"), text) &&
             same_str(jstr(c, "candidates.0.content.role"), "model") &&
             jnum(c, "candidates.0.index") == 0 &&
             same_str(jstr(c, "candidates.0.finishReason"), finish) &&
             jnum(c, "usageMetadata.promptTokenCount") == INPUT_TOKENS &&
             jnum(c, "usageMetadata.candidatesTokenCount") == count &&
             jnum(c, "usageMetadata.totalTokenCount") == INPUT_TOKENS + count &&
             same_str(jstr(c, "usageMetadata.promptTokensDetails.0.modality"), "TEXT") &&
             jnum(c, "usageMetadata.promptTokensDetails.0.tokenCount") == INPUT_TOKENS &&
             same_str(jstr(c, "modelVersion"), "gemini-test") &&
             same_str(jstr(c, "responseId"), "tg0000000000000001");
    if (!ok) {
        char *p = cJSON_PrintUnformatted(c);
        fprintf(stderr, "  chunk: %s\n", p ? p : "(null)");
        free(p);
    }
    return ok;
}

static void gemini_stream_should_match_the_recorded_shape(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gemini_init(&g, 0, -1), 0);
    CHECK_EQ_STR(g.id, "tg0000000000000001");
    CHECK_EQ_STR(wire_stream_content_type(&g), "text/event-stream");
    char *open = wire_stream_open(&g, -1);
    CHECK(open != NULL && *open == '\0'); /* nothing before the first token */
    free(open);
    char *text = whole_stream(&g, 3, WIRE_END_STOP, 3);
    wire_gen_cleanup(&g);
    CHECK(text != NULL);
    /* no [DONE] and no event: line: the stream ends on a blank line, then EOF */
    int framing = strstr(text, "[DONE]") == NULL && strstr(text, "event:") == NULL &&
                  ends_with(text, "}\n\n") && strncmp(text, "data: {", 7) == 0;
    struct stream s;
    int rc = stream_parse(text, &s);
    free(text);
    CHECK(framing);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.n, 4);
    int ok = gemini_chunk_ok(s.json[0], " tok0", 1, NULL) &&
             gemini_chunk_ok(s.json[1], " tok1", 2, NULL) &&
             gemini_chunk_ok(s.json[2], " tok2", 3, NULL) &&
             gemini_chunk_ok(s.json[3], "", 3, "STOP") && s.sp->ev[0].event == NULL;
    stream_free(&s);
    CHECK(ok);
}

static void gemini_stream_should_say_max_tokens_when_capped(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gemini_init(&g, 0, 2), 0);
    char *text = whole_stream(&g, 2, WIRE_END_LENGTH, 2);
    wire_gen_cleanup(&g);
    struct stream s;
    CHECK_EQ_INT(stream_parse(text, &s), 0);
    free(text);
    int ok = s.n == 3 && gemini_chunk_ok(s.json[2], "", 2, "MAX_TOKENS");
    stream_free(&s);
    CHECK(ok);
}

static void gemini_array_stream_should_be_one_json_array(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gemini_init(&g, 1, -1), 0);
    CHECK_EQ_STR(wire_stream_content_type(&g), "application/json; charset=UTF-8");
    char *text = whole_stream(&g, 3, WIRE_END_STOP, 3);
    wire_gen_cleanup(&g);
    CHECK(text != NULL);
    int framing = text[0] == '[' && ends_with(text, "}]") && strstr(text, "data:") == NULL;
    cJSON *a = cJSON_Parse(text);
    free(text);
    CHECK(framing);
    CHECK(cJSON_IsArray(a));
    int ok = cJSON_GetArraySize(a) == 4 &&
             gemini_chunk_ok(cJSON_GetArrayItem(a, 0), " tok0", 1, NULL) &&
             gemini_chunk_ok(cJSON_GetArrayItem(a, 2), " tok2", 3, NULL) &&
             gemini_chunk_ok(cJSON_GetArrayItem(a, 3), "", 3, "STOP");
    cJSON_Delete(a);
    CHECK(ok);
}

static void gemini_stream_error_should_take_google_shape(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gemini_init(&g, 0, -1), 0);
    char *e = wire_stream_error(&g, 2);
    wire_gen_cleanup(&g);
    struct stream s;
    CHECK_EQ_INT(stream_parse(e, &s), 0);
    free(e);
    /* the JS SDK throws ApiError on a chunk with "error" and a code from 400 to 599 */
    int ok = s.n == 1 && jnum(s.json[0], "error.code") == 500 &&
             same_str(jstr(s.json[0], "error.status"), "INTERNAL") &&
             jstr(s.json[0], "error.message") != NULL && !jhas(s.json[0], "candidates");
    stream_free(&s);
    CHECK(ok);
    /* in an array stream the error is the array's last element: the body still parses */
    CHECK_EQ_INT(gemini_init(&g, 1, -1), 0);
    char *open = wire_stream_open(&g, -1);
    char tok[WIRE_TOKEN_EVENT_MAX];
    int n = wire_stream_token(&g, 0, tok, sizeof tok);
    e = wire_stream_error(&g, 1);
    wire_gen_cleanup(&g);
    CHECK(open != NULL && n > 0 && e != NULL);
    char body[2 * WIRE_TOKEN_EVENT_MAX];
    snprintf(body, sizeof body, "%s%s%s", open, tok, e);
    free(open);
    free(e);
    cJSON *a = cJSON_Parse(body);
    ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) == 2 &&
         jnum(cJSON_GetArrayItem(a, 1), "error.code") == 500;
    cJSON_Delete(a);
    CHECK(ok);
}

static void gemini_body_should_be_a_generate_content_response(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(gemini_init(&g, 0, -1), 0);
    char *b = body_n(&g, 4, WIRE_END_STOP, 4);
    char *capped = body_n(&g, 2, WIRE_END_LENGTH, -1);
    wire_gen_cleanup(&g);
    cJSON *o = cJSON_Parse(b), *c = cJSON_Parse(capped);
    free(b);
    free(capped);
    int ok = gemini_chunk_ok(o, " tok0 tok1 tok2 tok3", 4, "STOP") &&
             gemini_chunk_ok(c, " tok0 tok1", 2, "MAX_TOKENS");
    cJSON_Delete(o);
    cJSON_Delete(c);
    CHECK(ok);
}

static void gemini_error_body_should_take_google_shape(void)
{
    static const struct {
        int status;
        const char *word;
    } rows[] = {{400, "INVALID_ARGUMENT"},   {401, "UNAUTHENTICATED"}, {403, "PERMISSION_DENIED"},
                {404, "NOT_FOUND"},          {405, "NOT_FOUND"},       {413, "INVALID_ARGUMENT"},
                {429, "RESOURCE_EXHAUSTED"}, {500, "INTERNAL"},        {503, "UNAVAILABLE"},
                {504, "DEADLINE_EXCEEDED"},  {529, "UNAVAILABLE"},     {502, "INTERNAL"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK_EQ_STR(wire_error_type(API_GEMINI, rows[i].status), rows[i].word);
    /* type, code and param are OpenAI's and Anthropic's words: Gemini's shape has none */
    char *s =
        wire_error_body(API_GEMINI, 400, "invalid_request_error", "ignored", "ignored",
                        "* GenerateContentRequest.contents: contents is not specified\n", "req_1");
    CHECK_EQ_STR(s, "{\"error\":{\"code\":400,\"message\":\"* GenerateContentRequest.contents: "
                    "contents is not specified\\n\",\"status\":\"INVALID_ARGUMENT\"}}");
    free(s);
    s = wire_error_body(API_GEMINI, 429, NULL, NULL, NULL, "quota", NULL);
    CHECK_EQ_STR(s, "{\"error\":{\"code\":429,\"message\":\"quota\",\"status\":"
                    "\"RESOURCE_EXHAUSTED\"}}");
    free(s);
}

static void gemini_stream_should_parse_same_at_every_split_point(void)
{
    check_split_points(API_GEMINI, 4);
    if (check_failed)
        return;
    check_truncations(API_GEMINI);
}

/* ---- reasoning and tool calls ------------------------------------------------------------ */

static int shaped_init(struct wire_gen *g, enum api api, uint64_t r, int shown, int tool,
                       uint64_t k)
{
    if (gen_init(g, api, 1, -1) != 0)
        return -1;
    struct wire_shape sh = {r, shown, tool, k, 0}; /* visible: Gemini's calls only */
    return wire_gen_shape(g, &sh);
}

static void append_str(char **acc, size_t *len, const char *add)
{
    if (*acc == NULL || add == NULL)
        return;
    size_t n = strlen(add);
    char *tmp = realloc(*acc, *len + n + 1);
    if (tmp == NULL) {
        free(*acc);
        *acc = NULL;
        return;
    }
    memcpy(tmp + *len, add, n + 1);
    *len += n;
    *acc = tmp;
}

/* What a live reader gets: the opening, r reasoning events, n visible tokens with the turns
 * between parts, then the close of the tally (r, n, usage, usage_r). */
static char *shaped_stream(const struct wire_gen *g, uint64_t r, uint64_t n, enum wire_end end,
                           int64_t usage, int64_t usage_r)
{
    char *acc = calloc(1, 1);
    size_t len = 0;
    char *open = wire_stream_open(g, -1);
    append_str(&acc, &len, open);
    free(open);
    char ev[WIRE_TOKEN_EVENT_MAX];
    for (uint64_t j = 0; j < r && acc; j++) {
        if (wire_stream_reasoning(g, j, ev, sizeof ev) < 0) {
            free(acc);
            return NULL;
        }
        append_str(&acc, &len, ev);
    }
    for (uint64_t i = 0; i < n && acc; i++) {
        if (wire_turn_at(g, i)) {
            char *t = wire_stream_turn(g, i, -1);
            append_str(&acc, &len, t);
            free(t);
        }
        if (wire_stream_token(g, i, ev, sizeof ev) < 0) {
            free(acc);
            return NULL;
        }
        append_str(&acc, &len, ev);
        char *call = wire_stream_call(g, i); /* Gemini's held call, whole with its last token */
        if (call)
            append_str(&acc, &len, call);
        free(call);
    }
    struct wire_tally t = {r, n, usage, usage_r};
    char *close = wire_stream_close(g, &t, end, -1);
    if (close == NULL) {
        free(acc);
        return NULL;
    }
    append_str(&acc, &len, close);
    free(close);
    return acc;
}

/* Joins the string at 'path' of every event whose 'key' is 'value' (NULL: every event). */
static char *join_field(const struct stream *s, const char *key, const char *value,
                        const char *path)
{
    char *acc = calloc(1, 1);
    size_t len = 0;
    for (size_t i = 0; i < s->n && acc; i++) {
        if (s->json[i] == NULL)
            continue;
        if (key && !same_str(jstr(s->json[i], key), value))
            continue;
        const char *v = jstr(s->json[i], path);
        if (v)
            append_str(&acc, &len, v);
    }
    return acc;
}

/* Responses: every event's sequence number is its position, and its event line its type. */
static int responses_numbered(const struct stream *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->json[i] == NULL || jnum(s->json[i], "sequence_number") != (long long)i ||
            !same_str(s->sp->ev[i].event, jstr(s->json[i], "type")))
            return 0;
    return 1;
}

static void chat_reasoning_should_be_hidden_and_counted_in_usage(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(shaped_init(&g, API_CHAT, 4, 0, 0, 0), 0);
    char *text = shaped_stream(&g, 4, 3, WIRE_END_STOP, 7, 4);
    wire_gen_cleanup(&g);
    CHECK(text != NULL);
    int hidden = strstr(text, "think") == NULL && strstr(text, "reasoning_content") == NULL;
    struct stream s;
    int rc = stream_parse(text, &s);
    free(text);
    CHECK_EQ_INT(rc, 0);
    CHECK(hidden);
    /* role chunk, 3 tokens, finish, usage, [DONE]: reasoning only counts */
    CHECK_EQ_INT(s.n, 7);
    char *content = join_field(&s, NULL, NULL, "choices.0.delta.content");
    CHECK_EQ_STR(content, " tok0 tok1 tok2");
    free(content);
    CHECK_EQ_STR(jstr(s.json[4], "choices.0.finish_reason"), "stop");
    CHECK_EQ_INT(jnum(s.json[5], "usage.completion_tokens"), 7);
    CHECK_EQ_INT(jnum(s.json[5], "usage.completion_tokens_details.reasoning_tokens"), 4);
    CHECK_EQ_INT(jnum(s.json[5], "usage.total_tokens"), INPUT_TOKENS + 7);
    stream_free(&s);
}

static void chat_reasoning_content_should_carry_think_tokens_first(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(shaped_init(&g, API_CHAT, 4, 1, 0, 0), 0);
    char *text = shaped_stream(&g, 4, 3, WIRE_END_STOP, 7, 4);
    struct wire_tally t = {4, 3, -1, -1};
    char *tbody = wire_body(&g, &t, WIRE_END_STOP);
    wire_gen_cleanup(&g);
    struct stream s;
    int rc = stream_parse(text, &s);
    free(text);
    CHECK_EQ_INT(rc, 0);
    /* role, 4 reasoning_content chunks, 3 content chunks, finish, usage, [DONE] */
    CHECK_EQ_INT(s.n, 11);
    for (int j = 0; j < 4; j++) {
        char want[32];
        snprintf(want, sizeof want, " think%d", j);
        CHECK_EQ_STR(jstr(s.json[1 + j], "choices.0.delta.reasoning_content"), want);
        CHECK(!jhas(s.json[1 + j], "choices.0.delta.content"));
    }
    char *content = join_field(&s, NULL, NULL, "choices.0.delta.content");
    CHECK_EQ_STR(content, " tok0 tok1 tok2");
    free(content);
    CHECK_EQ_INT(jnum(s.json[9], "usage.completion_tokens_details.reasoning_tokens"), 4);
    stream_free(&s);
    /* the non-stream body says the same */
    cJSON *b = cJSON_Parse(tbody);
    free(tbody);
    CHECK(b != NULL);
    CHECK_EQ_STR(jstr(b, "choices.0.message.reasoning_content"), " think0 think1 think2 think3");
    CHECK_EQ_STR(jstr(b, "choices.0.message.content"), " tok0 tok1 tok2");
    CHECK_EQ_INT(jnum(b, "usage.completion_tokens"), 7);
    CHECK_EQ_INT(jnum(b, "usage.completion_tokens_details.reasoning_tokens"), 4);
    cJSON_Delete(b);
}

static void responses_reasoning_should_be_a_reasoning_item_with_summary_events(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(shaped_init(&g, API_RESPONSES, 3, 0, 0, 0), 0);
    CHECK_EQ_INT(wire_seq_reasoning(&g, 0), 4);
    CHECK_EQ_INT(wire_seq_token(&g, 0), 12);
    char *text = shaped_stream(&g, 3, 2, WIRE_END_STOP, 5, 3);
    wire_gen_cleanup(&g);
    struct stream s;
    int rc = stream_parse(text, &s);
    free(text);
    CHECK_EQ_INT(rc, 0);
    static const char *const types[] = {"response.created",
                                        "response.in_progress",
                                        "response.output_item.added",
                                        "response.reasoning_summary_part.added",
                                        "response.reasoning_summary_text.delta",
                                        "response.reasoning_summary_text.delta",
                                        "response.reasoning_summary_text.delta",
                                        "response.reasoning_summary_text.done",
                                        "response.reasoning_summary_part.done",
                                        "response.output_item.done",
                                        "response.output_item.added",
                                        "response.content_part.added",
                                        "response.output_text.delta",
                                        "response.output_text.delta",
                                        "response.output_text.done",
                                        "response.content_part.done",
                                        "response.output_item.done",
                                        "response.completed"};
    CHECK_EQ_INT(s.n, 18);
    for (size_t i = 0; i < 18; i++)
        CHECK_EQ_STR(jstr(s.json[i], "type"), types[i]);
    CHECK(responses_numbered(&s));
    CHECK_EQ_STR(jstr(s.json[2], "item.type"), "reasoning");
    CHECK_EQ_STR(jstr(s.json[2], "item.id"), "rs_tg0000000000000001");
    CHECK_EQ_INT(jnum(s.json[4], "output_index"), 0);
    CHECK_EQ_INT(jnum(s.json[4], "summary_index"), 0);
    CHECK_EQ_STR(jstr(s.json[4], "delta"), " think0");
    CHECK_EQ_STR(jstr(s.json[7], "text"), " think0 think1 think2");
    CHECK_EQ_STR(jstr(s.json[9], "item.summary.0.text"), " think0 think1 think2");
    CHECK_EQ_INT(jnum(s.json[10], "output_index"), 1);
    CHECK_EQ_INT(jnum(s.json[12], "output_index"), 1);
    CHECK_EQ_STR(jstr(s.json[12], "delta"), " tok0");
    const cJSON *done = s.json[17];
    CHECK_EQ_INT(jsize(done, "response.output"), 2);
    CHECK_EQ_STR(jstr(done, "response.output.0.type"), "reasoning");
    CHECK_EQ_STR(jstr(done, "response.output.1.content.0.text"), " tok0 tok1");
    CHECK_EQ_INT(jnum(done, "response.usage.output_tokens"), 5);
    CHECK_EQ_INT(jnum(done, "response.usage.output_tokens_details.reasoning_tokens"), 3);
    stream_free(&s);
}

static void messages_thinking_should_come_first_and_be_signed_before_its_stop(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(shaped_init(&g, API_MESSAGES, 2, 0, 0, 0), 0);
    char *text = shaped_stream(&g, 2, 2, WIRE_END_STOP, 4, 2);
    wire_gen_cleanup(&g);
    struct stream s;
    int rc = stream_parse(text, &s);
    free(text);
    CHECK_EQ_INT(rc, 0);
    static const char *const types[] = {
        "message_start",       "content_block_start", "ping",
        "content_block_delta", "content_block_delta", "content_block_delta",
        "content_block_stop",  "content_block_start", "content_block_delta",
        "content_block_delta", "content_block_stop",  "message_delta",
        "message_stop"};
    CHECK_EQ_INT(s.n, 13);
    for (size_t i = 0; i < 13; i++) {
        CHECK_EQ_STR(jstr(s.json[i], "type"), types[i]);
        CHECK_EQ_STR(s.sp->ev[i].event, types[i]);
    }
    CHECK_EQ_STR(jstr(s.json[1], "content_block.type"), "thinking");
    CHECK_EQ_INT(jnum(s.json[1], "index"), 0);
    CHECK_EQ_STR(jstr(s.json[3], "delta.type"), "thinking_delta");
    CHECK_EQ_STR(jstr(s.json[3], "delta.thinking"), " think0");
    CHECK_EQ_STR(jstr(s.json[4], "delta.thinking"), " think1");
    CHECK_EQ_STR(jstr(s.json[5], "delta.type"), "signature_delta");
    CHECK(jstr(s.json[5], "delta.signature") != NULL && jstr(s.json[5], "delta.signature")[0]);
    CHECK_EQ_INT(jnum(s.json[5], "index"), 0);
    CHECK_EQ_INT(jnum(s.json[6], "index"), 0);
    CHECK_EQ_STR(jstr(s.json[7], "content_block.type"), "text");
    CHECK_EQ_INT(jnum(s.json[7], "index"), 1);
    CHECK_EQ_STR(jstr(s.json[8], "delta.text"), " tok0");
    CHECK_EQ_INT(jnum(s.json[8], "index"), 1);
    CHECK_EQ_INT(jnum(s.json[10], "index"), 1);
    CHECK_EQ_STR(jstr(s.json[11], "delta.stop_reason"), "end_turn");
    CHECK_EQ_INT(jnum(s.json[11], "usage.output_tokens"), 4);
    stream_free(&s);
}

/* The arguments a client assembles from a tool-call stream, per API. */
static char *stream_arguments(enum api api, const struct stream *s)
{
    if (api == API_CHAT)
        return join_field(s, NULL, NULL, "choices.0.delta.tool_calls.0.function.arguments");
    if (api == API_RESPONSES)
        return join_field(s, "type", "response.function_call_arguments.delta", "delta");
    return join_field(s, "type", "content_block_delta", "delta.partial_json");
}

/* Text then a tool call whose arguments carry the rest of the tokens, per API: the arguments
 * parse as JSON and hold the tokens; the finish/stop reason says tool call. */
static void tool_call_stream_should_carry_tokens_in_json_arguments_per_api(void)
{
    static const struct {
        enum api api;
        size_t events;
        const char *reason_path;
        const char *reason;
    } rows[] = {
        /* role, 2 text, call head, 3 args, args close, finish, usage, [DONE] */
        {API_CHAT, 11, "choices.0.finish_reason", "tool_calls"},
        /* created, in_progress, message (2 + 2 + 3), function_call (2 + 3 + 3), completed */
        {API_RESPONSES, 18, "response.output.1.type", "function_call"},
        /* start, text start, ping, 2 text, stop, tool_use start, open, 3 args, close, stop,
         * message_delta, message_stop */
        {API_MESSAGES, 15, "delta.stop_reason", "tool_use"},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        struct wire_gen g;
        CHECK_EQ_INT(shaped_init(&g, rows[k].api, 0, 0, 1, 2), 0);
        char *text = shaped_stream(&g, 0, 5, WIRE_END_STOP, 5, 0);
        wire_gen_cleanup(&g);
        struct stream s;
        int rc = stream_parse(text, &s);
        free(text);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(s.n, rows[k].events);
        char *args = stream_arguments(rows[k].api, &s);
        CHECK_EQ_STR(args, "{\"query\":\" tok2 tok3 tok4\"}");
        cJSON *a = cJSON_Parse(args);
        free(args);
        CHECK(a != NULL);
        CHECK_EQ_STR(jstr(a, "query"), " tok2 tok3 tok4");
        cJSON_Delete(a);
        /* the finish/stop reason is in the last event carrying JSON before the end */
        size_t last = rows[k].api == API_RESPONSES ? s.n - 1
                      : rows[k].api == API_CHAT    ? s.n - 3
                                                   : s.n - 2;
        CHECK_EQ_STR(jstr(s.json[last], rows[k].reason_path), rows[k].reason);
        if (rows[k].api == API_CHAT) {
            CHECK_EQ_STR(jstr(s.json[3], "choices.0.delta.tool_calls.0.id"),
                         "call_tg0000000000000001");
            CHECK_EQ_STR(jstr(s.json[3], "choices.0.delta.tool_calls.0.type"), "function");
            CHECK_EQ_STR(jstr(s.json[3], "choices.0.delta.tool_calls.0.function.name"),
                         WIRE_TOOL_NAME);
            CHECK_EQ_INT(jnum(s.json[4], "choices.0.delta.tool_calls.0.index"), 0);
            char *content = join_field(&s, NULL, NULL, "choices.0.delta.content");
            CHECK_EQ_STR(content, " tok0 tok1");
            free(content);
            /* no reasoning: the usage keeps its three counts alone */
            CHECK_EQ_INT(jnum(s.json[s.n - 2], "usage.completion_tokens"), 5);
            CHECK(!jhas(s.json[s.n - 2], "usage.completion_tokens_details"));
        } else if (rows[k].api == API_RESPONSES) {
            CHECK(responses_numbered(&s));
            CHECK_EQ_STR(jstr(s.json[9], "item.type"), "function_call");
            CHECK_EQ_STR(jstr(s.json[9], "item.call_id"), "call_tg0000000000000001");
            CHECK_EQ_STR(jstr(s.json[15], "type"), "response.function_call_arguments.done");
            CHECK_EQ_STR(jstr(s.json[15], "arguments"), "{\"query\":\" tok2 tok3 tok4\"}");
            CHECK_EQ_STR(jstr(s.json[17], "response.output.0.content.0.text"), " tok0 tok1");
            CHECK_EQ_STR(jstr(s.json[17], "response.output.1.arguments"),
                         "{\"query\":\" tok2 tok3 tok4\"}");
        } else {
            CHECK_EQ_STR(jstr(s.json[6], "content_block.type"), "tool_use");
            CHECK_EQ_STR(jstr(s.json[6], "content_block.id"), "toolu_tg0000000000000001");
            CHECK_EQ_INT(jnum(s.json[7], "index"), 1);
            CHECK_EQ_STR(jstr(s.json[8], "delta.type"), "input_json_delta");
        }
        stream_free(&s);
    }
}

/* A Responses cancel mid-arguments: the closing events still give arguments that parse. */
static void responses_cancel_mid_arguments_should_close_them_as_json(void)
{
    struct wire_gen g;
    CHECK_EQ_INT(shaped_init(&g, API_RESPONSES, 2, 0, 1, 0), 0);
    struct wire_tally t = {2, 3, 5, 2};
    char *close = wire_stream_close(&g, &t, WIRE_END_CANCELLED, -1);
    char *obj = wire_response_object(&g, &t, "cancelled");
    wire_gen_cleanup(&g);
    struct stream s;
    int rc = stream_parse(close, &s);
    free(close);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.n, 4);
    CHECK_EQ_STR(jstr(s.json[0], "delta"), WIRE_TOOL_ARGS_CLOSE);
    /* reasoning: 2 + 2 + 3 events from 2; the call opens at 9, its 3 deltas at 11..13 */
    CHECK_EQ_INT(jnum(s.json[0], "sequence_number"), 14);
    CHECK_EQ_STR(jstr(s.json[1], "arguments"), "{\"query\":\" tok0 tok1 tok2\"}");
    CHECK_EQ_STR(jstr(s.json[2], "item.status"), "incomplete");
    CHECK_EQ_STR(jstr(s.json[3], "type"), "response.incomplete");
    CHECK_EQ_STR(jstr(s.json[3], "response.status"), "cancelled");
    CHECK_EQ_INT(jsize(s.json[3], "response.output"), 2);
    CHECK_EQ_INT(jnum(s.json[3], "response.usage.output_tokens_details.reasoning_tokens"), 2);
    stream_free(&s);
    cJSON *o = cJSON_Parse(obj);
    free(obj);
    CHECK(o != NULL);
    CHECK_EQ_STR(jstr(o, "output.1.type"), "function_call");
    cJSON *a = cJSON_Parse(jstr(o, "output.1.arguments"));
    CHECK(a != NULL);
    CHECK_EQ_STR(jstr(a, "query"), " tok0 tok1 tok2");
    cJSON_Delete(a);
    cJSON_Delete(o);
}

/* A cap that falls within the reasoning: no visible part opens, the reason says length. */
static void cap_within_reasoning_should_end_with_length_per_api(void)
{
    static const struct {
        enum api api;
        const char *path;
        const char *want;
    } rows[] = {{API_CHAT, "choices.0.finish_reason", "length"},
                {API_RESPONSES, "response.incomplete_details.reason", "max_output_tokens"},
                {API_MESSAGES, "delta.stop_reason", "max_tokens"}};
    for (size_t k = 0; k < 3; k++) {
        struct wire_gen g;
        CHECK_EQ_INT(shaped_init(&g, rows[k].api, 3, 1, 0, 0), 0);
        char *text = shaped_stream(&g, 3, 0, WIRE_END_LENGTH, 3, 3);
        wire_gen_cleanup(&g);
        struct stream s;
        int rc = stream_parse(text, &s);
        int no_text = strstr(text, " tok") == NULL;
        free(text);
        CHECK_EQ_INT(rc, 0);
        CHECK(no_text);
        size_t at =
            rows[k].api == API_RESPONSES ? s.n - 1 : s.n - (rows[k].api == API_CHAT ? 3 : 2);
        CHECK_EQ_STR(jstr(s.json[at], rows[k].path), rows[k].want);
        if (rows[k].api == API_RESPONSES) {
            CHECK(responses_numbered(&s));
            CHECK_EQ_INT(jsize(s.json[s.n - 1], "response.output"), 1);
        }
        stream_free(&s);
    }
}

/* Non-stream bodies carry reasoning, text and the tool call in each vendor's shape. */
static void bodies_should_carry_reasoning_and_the_tool_call_per_api(void)
{
    struct wire_tally t = {2, 4, -1, -1};
    struct wire_gen g;
    CHECK_EQ_INT(shaped_init(&g, API_CHAT, 2, 0, 1, 1), 0);
    char *chat = wire_body(&g, &t, WIRE_END_STOP);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(shaped_init(&g, API_MESSAGES, 2, 0, 1, 1), 0);
    char *msg = wire_body(&g, &t, WIRE_END_STOP);
    wire_gen_cleanup(&g);
    CHECK_EQ_INT(shaped_init(&g, API_RESPONSES, 2, 0, 1, 1), 0);
    char *resp = wire_body(&g, &t, WIRE_END_STOP);
    wire_gen_cleanup(&g);
    cJSON *c = cJSON_Parse(chat), *m = cJSON_Parse(msg), *r = cJSON_Parse(resp);
    free(chat);
    free(msg);
    free(resp);
    CHECK(c && m && r);
    CHECK_EQ_STR(jstr(c, "choices.0.message.content"), " tok0");
    CHECK(!jhas(c, "choices.0.message.reasoning_content")); /* hidden */
    CHECK_EQ_STR(jstr(c, "choices.0.message.tool_calls.0.function.arguments"),
                 "{\"query\":\" tok1 tok2 tok3\"}");
    CHECK_EQ_STR(jstr(c, "choices.0.finish_reason"), "tool_calls");
    CHECK_EQ_INT(jnum(c, "usage.completion_tokens"), 6);
    CHECK_EQ_INT(jnum(c, "usage.completion_tokens_details.reasoning_tokens"), 2);
    CHECK_EQ_INT(jsize(m, "content"), 3);
    CHECK_EQ_STR(jstr(m, "content.0.type"), "thinking");
    CHECK_EQ_STR(jstr(m, "content.0.thinking"), " think0 think1");
    CHECK(jstr(m, "content.0.signature") != NULL);
    CHECK_EQ_STR(jstr(m, "content.1.text"), " tok0");
    CHECK_EQ_STR(jstr(m, "content.2.type"), "tool_use");
    CHECK_EQ_STR(jstr(m, "content.2.input.query"), " tok1 tok2 tok3");
    CHECK_EQ_STR(jstr(m, "stop_reason"), "tool_use");
    CHECK_EQ_INT(jnum(m, "usage.output_tokens"), 6);
    CHECK_EQ_INT(jsize(r, "output"), 3);
    CHECK_EQ_STR(jstr(r, "output.0.summary.0.text"), " think0 think1");
    CHECK_EQ_STR(jstr(r, "output.1.content.0.text"), " tok0");
    CHECK_EQ_STR(jstr(r, "output.2.arguments"), "{\"query\":\" tok1 tok2 tok3\"}");
    CHECK_EQ_STR(jstr(r, "output.2.status"), "completed");
    CHECK_EQ_INT(jnum(r, "usage.output_tokens_details.reasoning_tokens"), 2);
    cJSON_Delete(c);
    cJSON_Delete(m);
    cJSON_Delete(r);
}

/* Every shape (reasoning hidden or shown, text, tool call alone or after text) at every split
 * point, per API. */
static void shaped_streams_should_parse_same_at_every_split_point(void)
{
    static const struct {
        uint64_t r;
        int shown, tool;
        uint64_t k;
        size_t want[3]; /* chat, responses, messages */
    } rows[] = {
        {3, 0, 0, 0, {6, 18, 14}},  /* reasoning, then text */
        {3, 1, 0, 0, {9, 18, 14}},  /* reasoning shown on chat */
        {0, 0, 1, 0, {8, 10, 10}},  /* a bare tool call */
        {2, 1, 1, 1, {10, 22, 17}}, /* reasoning, one text token, a tool call */
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        for (int a = 0; a < 3; a++) {
            struct wire_gen g;
            CHECK_EQ_INT(
                shaped_init(&g, (enum api)a, rows[k].r, rows[k].shown, rows[k].tool, rows[k].k), 0);
            char *text = shaped_stream(&g, rows[k].r, 2, WIRE_END_STOP, 2 + (int64_t)rows[k].r,
                                       (int64_t)rows[k].r);
            wire_gen_cleanup(&g);
            check_split_text(text, rows[k].want[a]);
            if (check_failed) {
                fprintf(stderr, "  row %zu api %d\n", k, a);
                return;
            }
        }
    }
}

/* Gemini: thought parts first, counted in thoughtsTokenCount apart from the candidates and
 * inside the total; over SSE at every split point, and as one JSON array. */
/* A Gemini call goes out whole in one chunk after its last argument token: nothing per
 * argument token, then {"functionCall":{name, args}} with the tokens in args, counted as
 * candidates; as the array's first element when nothing came before it. */
static void gemini_call_should_go_out_whole_after_its_last_argument_token(void)
{
    for (uint64_t r = 0; r <= 2; r += 2) {
        struct wire_gen g;
        CHECK_EQ_INT(gemini_init(&g, 1, -1), 0);
        struct wire_shape sh = {r, 0, 1, 0, 3};
        CHECK_EQ_INT(wire_gen_shape(&g, &sh), 0);
        char ev[WIRE_TOKEN_EVENT_MAX];
        int held = wire_stream_token(&g, 0, ev, sizeof ev) == 0 && wire_held(&g, 2) &&
                   wire_stream_call(&g, 1) == NULL && wire_call_tokens(&g, 2) == 3;
        char *text = shaped_stream(&g, r, 3, WIRE_END_STOP, (int64_t)(3 + r), (int64_t)r);
        wire_gen_cleanup(&g);
        CHECK(held);
        CHECK(text != NULL);
        cJSON *a = cJSON_Parse(text);
        free(text);
        CHECK(cJSON_IsArray(a));
        CHECK_EQ_INT(cJSON_GetArraySize(a), (int)r + 2);
        cJSON *c = cJSON_GetArrayItem(a, (int)r), *last = cJSON_GetArrayItem(a, (int)r + 1);
        int ok =
            same_str(jstr(c, "candidates.0.content.parts.0.functionCall.name"), WIRE_TOOL_NAME) &&
            same_str(jstr(c, "candidates.0.content.parts.0.functionCall.args.query"),
                     " tok0 tok1 tok2") &&
            jnum(c, "usageMetadata.candidatesTokenCount") == 3 &&
            jnum(c, "usageMetadata.totalTokenCount") == INPUT_TOKENS + 3 + (double)r &&
            same_str(jstr(last, "candidates.0.finishReason"), "STOP") &&
            jnum(last, "usageMetadata.candidatesTokenCount") == 3;
        cJSON_Delete(a);
        CHECK(ok);
    }
}

static void gemini_reasoning_should_come_as_thought_parts_with_thoughts_token_count(void)
{
    for (int json = 0; json <= 1; json++) {
        struct wire_gen g;
        CHECK_EQ_INT(gemini_init(&g, json, -1), 0);
        struct wire_shape sh = {3, 0, 0, 0, 2};
        CHECK_EQ_INT(wire_gen_shape(&g, &sh), 0);
        char *text = shaped_stream(&g, 3, 2, WIRE_END_STOP, 5, 3);
        struct wire_tally t = {3, 2, -1, -1};
        char *body = wire_body(&g, &t, WIRE_END_STOP);
        wire_gen_cleanup(&g);
        CHECK(text != NULL && body != NULL);
        cJSON *chunks[6] = {NULL};
        size_t n = 0;
        cJSON *arr = NULL;
        struct stream s;
        memset(&s, 0, sizeof s);
        if (json) {
            arr = cJSON_Parse(text);
            CHECK(cJSON_IsArray(arr));
            n = (size_t)cJSON_GetArraySize(arr);
            for (size_t i = 0; i < n && i < 6; i++)
                chunks[i] = cJSON_GetArrayItem(arr, (int)i);
            free(text);
        } else {
            CHECK_EQ_INT(stream_parse(text, &s), 0);
            n = s.n;
            for (size_t i = 0; i < n && i < 6; i++)
                chunks[i] = s.json[i];
            check_split_text(text, 6);
        }
        CHECK_EQ_INT(n, 6);
        int ok = 1;
        for (int j = 0; j < 3; j++) {
            char want[32];
            snprintf(want, sizeof want, " think%d", j);
            ok &= same_str(jstr(chunks[j], "candidates.0.content.parts.0.text"), want) &&
                  jbool(chunks[j], "candidates.0.content.parts.0.thought", 1) &&
                  jnum(chunks[j], "usageMetadata.candidatesTokenCount") == 0 &&
                  jnum(chunks[j], "usageMetadata.thoughtsTokenCount") == j + 1 &&
                  jnum(chunks[j], "usageMetadata.totalTokenCount") == INPUT_TOKENS + j + 1;
        }
        for (int i = 0; i < 2; i++) {
            char want[32];
            snprintf(want, sizeof want, " tok%d", i);
            ok &= same_str(jstr(chunks[3 + i], "candidates.0.content.parts.0.text"), want) &&
                  !jhas(chunks[3 + i], "candidates.0.content.parts.0.thought") &&
                  jnum(chunks[3 + i], "usageMetadata.candidatesTokenCount") == i + 1 &&
                  jnum(chunks[3 + i], "usageMetadata.thoughtsTokenCount") == 3 &&
                  jnum(chunks[3 + i], "usageMetadata.totalTokenCount") == INPUT_TOKENS + 3 + i + 1;
        }
        ok &= same_str(jstr(chunks[5], "candidates.0.finishReason"), "STOP") &&
              jnum(chunks[5], "usageMetadata.candidatesTokenCount") == 2 &&
              jnum(chunks[5], "usageMetadata.thoughtsTokenCount") == 3 &&
              jnum(chunks[5], "usageMetadata.totalTokenCount") == INPUT_TOKENS + 5;
        stream_free(&s);
        cJSON_Delete(arr);
        cJSON *b = cJSON_Parse(body);
        free(body);
        ok &= b &&
              same_str(jstr(b, "candidates.0.content.parts.0.text"), " think0 think1 think2") &&
              jbool(b, "candidates.0.content.parts.0.thought", 1) &&
              same_str(jstr(b, "candidates.0.content.parts.1.text"), " tok0 tok1") &&
              jnum(b, "usageMetadata.candidatesTokenCount") == 2 &&
              jnum(b, "usageMetadata.thoughtsTokenCount") == 3;
        cJSON_Delete(b);
        CHECK(ok);
    }
}

static const struct check_case cases[] = {
    CASE(wire_gen_should_make_ids_per_api),
    CASE(wire_text_should_join_token_texts),
    CASE(wire_stream_token_should_fail_when_buffer_too_small),
    CASE(chat_reasoning_should_be_hidden_and_counted_in_usage),
    CASE(chat_reasoning_content_should_carry_think_tokens_first),
    CASE(responses_reasoning_should_be_a_reasoning_item_with_summary_events),
    CASE(messages_thinking_should_come_first_and_be_signed_before_its_stop),
    CASE(tool_call_stream_should_carry_tokens_in_json_arguments_per_api),
    CASE(responses_cancel_mid_arguments_should_close_them_as_json),
    CASE(cap_within_reasoning_should_end_with_length_per_api),
    CASE(bodies_should_carry_reasoning_and_the_tool_call_per_api),
    CASE(shaped_streams_should_parse_same_at_every_split_point),
    CASE(gemini_reasoning_should_come_as_thought_parts_with_thoughts_token_count),
    CASE(gemini_call_should_go_out_whole_after_its_last_argument_token),
    CASE(chat_stream_should_match_sdk_requirements),
    CASE(chat_stream_should_say_length_when_capped),
    CASE(chat_stream_should_omit_usage_without_include_usage),
    CASE(chat_stream_should_omit_usage_chunk_when_usage_negative),
    CASE(chat_stream_should_report_zero_usage),
    CASE(responses_stream_should_match_sdk_requirements),
    CASE(responses_open_should_drop_events_at_or_before_starting_after),
    CASE(responses_close_should_drop_events_at_or_before_starting_after),
    CASE(responses_close_should_end_cancelled_with_incomplete_event),
    CASE(responses_close_should_end_capped_with_max_output_tokens),
    CASE(responses_close_should_give_null_usage_when_negative),
    CASE(messages_stream_should_match_sdk_requirements),
    CASE(messages_close_should_always_carry_output_tokens),
    CASE(stream_error_should_take_each_vendor_shape),
    CASE(wire_should_escape_model_in_every_event),
    CASE(chat_body_should_be_a_chat_completion),
    CASE(messages_body_should_be_an_anthropic_message),
    CASE(responses_body_should_be_a_response_object),
    CASE(response_object_should_reflect_status),
    CASE(error_body_should_take_openai_shape),
    CASE(error_body_should_take_anthropic_shape),
    CASE(error_type_should_follow_each_api_vocabulary),
    CASE(splitter_should_handle_comments_and_multiline_data),
    CASE(chat_stream_should_parse_same_at_every_split_point),
    CASE(responses_stream_should_parse_same_at_every_split_point),
    CASE(messages_stream_should_parse_same_at_every_split_point),
    CASE(stream_should_yield_only_closed_events_when_truncated),
    CASE(gemini_stream_should_match_the_recorded_shape),
    CASE(gemini_stream_should_say_max_tokens_when_capped),
    CASE(gemini_array_stream_should_be_one_json_array),
    CASE(gemini_stream_error_should_take_google_shape),
    CASE(gemini_body_should_be_a_generate_content_response),
    CASE(gemini_error_body_should_take_google_shape),
    CASE(gemini_stream_should_parse_same_at_every_split_point),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
