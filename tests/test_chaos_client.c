/* The chaos client against a real mockprov over loopback: every user action, exact delivered
 * counts, and what the provider saw (FIN, RST, attempts) from its ledger; and against a raw
 * peer (a plain poll() server written here) for the exact wire sequence of each action. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "chaos/action.h"
#include "chaos/client.h"
#include "chaos/proxy.h"
#include "body.h"
#include "check.h"
#include "harness.h"

#define MAX_RECORDS 64

static struct proc mock;
static char mock_url[64];
static struct proc small_mock; /* --sndbuf 16384: backpressure shows after a few KB */
static char small_url[64];

#define TRACE_KEPT 16 /* arrival times kept per collected record */

struct collected {
    struct chaos_record recs[MAX_RECORDS];
    uint32_t traces[MAX_RECORDS][TRACE_KEPT]; /* the records' trace_us point here */
    size_t n;
    struct event_base *base;
    int done;
    uint64_t t_done_ns;
    /* optional probe run while the client runs */
    void (*probe)(void *arg);
    void *probe_arg;
    uint32_t probe_ms;
};

static void on_record(void *arg, const struct chaos_record *r)
{
    struct collected *c = arg;
    if (c->n < MAX_RECORDS) {
        /* the client owns r's trace: keep the first few arrival times */
        struct chaos_record *kept = &c->recs[c->n];
        *kept = *r;
        kept->ntrace = r->ntrace < TRACE_KEPT ? r->ntrace : TRACE_KEPT;
        if (kept->ntrace > 0)
            memcpy(c->traces[c->n], r->trace_us, kept->ntrace * sizeof *r->trace_us);
        kept->trace_us = c->traces[c->n];
        c->n++;
    }
}

static void on_done(void *arg)
{
    struct collected *c = arg;
    c->done = 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c->t_done_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    event_base_loopbreak(c->base);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void probe_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct collected *c = arg;
    c->probe(c->probe_arg);
}

/* A config talking to the mock with the given timing headers and one kind of user. */
static void base_config(struct chaos_config *cfg, const char *tps, const char *length,
                        struct chaos_user user)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->req.url = mock_url;
    cfg->req.style = CHAOS_STYLE_OPENAI_CHAT;
    static char h_tps[64], h_len[64];
    snprintf(h_tps, sizeof h_tps, "x-tailgate-tps: %s", tps);
    snprintf(h_len, sizeof h_len, "x-tailgate-length: %s", length);
    cfg->req.headers[0] = h_tps;
    cfg->req.headers[1] = h_len;
    cfg->req.headers[2] = "x-tailgate-ttft-ms: 0";
    cfg->req.headers[3] = "x-tailgate-jitter: 0";
    cfg->req.nheaders = 4;
    cfg->users[0] = user;
    cfg->users[0].weight = 1;
    cfg->nusers = 1;
    cfg->requests = 1;
    cfg->concurrency = 1;
    cfg->timeout_ms = 20000;
}

/* Runs the client to completion (bounded: 30 s). Returns 0 when it reported done. */
static int run(struct chaos_config *cfg, struct collected *out, const char *prefix)
{
    memset(out->recs, 0, sizeof out->recs);
    out->n = 0;
    out->done = 0;
    /* as the CLI does: timerfd timers on CLOCK_MONOTONIC, not the coarse 4 ms clock */
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    out->base = event_base_new_with_config(ec);
    event_config_free(ec);
    cfg->id_prefix = prefix;
    cfg->on_record = on_record;
    cfg->record_arg = out;
    cfg->on_done = on_done;
    cfg->done_arg = out;
    char err[256];
    struct chaos_client *c = chaos_client_new(out->base, cfg, err, sizeof err);
    if (c == NULL) {
        fprintf(stderr, "  chaos_client_new: %s\n", err);
        event_base_free(out->base);
        return -1;
    }
    struct event *deadline = evtimer_new(out->base, deadline_cb, out->base);
    struct timeval tv = {30, 0};
    evtimer_add(deadline, &tv);
    struct event *probe = NULL;
    if (out->probe) {
        probe = evtimer_new(out->base, probe_cb, out);
        struct timeval pt = {out->probe_ms / 1000, (out->probe_ms % 1000) * 1000};
        evtimer_add(probe, &pt);
    }
    int rc = chaos_client_start(c, err, sizeof err);
    if (rc == 0)
        event_base_dispatch(out->base);
    else
        fprintf(stderr, "  chaos_client_start: %s\n", err);
    chaos_client_free(c);
    if (probe)
        event_free(probe);
    event_free(deadline);
    event_base_free(out->base);
    out->probe = NULL;
    return rc == 0 && out->done ? 0 : -1;
}

static cJSON *ledger(const char *cid)
{
    return harness_ledger_done(mock.port, cid, 10000);
}

static const char *str(const cJSON *o, const char *k)
{
    const char *s = harness_str(o, k);
    return s ? s : "(null)";
}

static struct collected col;

static void chaos_client_should_close_with_a_fin_after_k_tokens_in_every_style(void)
{
    static const enum chaos_style styles[] = {
        CHAOS_STYLE_OPENAI_CHAT, CHAOS_STYLE_RESPONSES,   CHAOS_STYLE_ANTHROPIC,
        CHAOS_STYLE_GEMINI,      CHAOS_STYLE_COMPLETIONS, CHAOS_STYLE_OLLAMA,
        CHAOS_STYLE_AZURE,       CHAOS_STYLE_BEDROCK,     CHAOS_STYLE_BEDROCK_INVOKE};
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++) {
        struct chaos_config cfg;
        struct chaos_user u = {.action = CHAOS_TAB_CLOSE, .trigger = CHAOS_AT_TOKENS,
                               .at = {3, 3}};
        base_config(&cfg, "10", "50", u);
        cfg.req.style = styles[i];
        char prefix[32];
        snprintf(prefix, sizeof prefix, "tab-%zu", i);
        CHECK(run(&cfg, &col, prefix) == 0);
        CHECK_EQ_INT(col.n, 1);
        CHECK_EQ_INT(col.recs[0].delivered_tokens, 3);
        CHECK_EQ_INT(col.recs[0].end, CHAOS_END_FIN);
        CHECK(col.recs[0].t_abort_ns > col.recs[0].t_first_byte_ns);
        cJSON *r = ledger(col.recs[0].correlation_id);
        CHECK(r != NULL);
        int fin = strcmp(str(r, "close_kind"), "fin") == 0;
        double written = harness_num(r, "written_tokens");
        const char *src = str(r, "id_source");
        int header = strcmp(src, "header") == 0;
        if (!fin || written != 3)
            fprintf(stderr, "  %s: close_kind %s, written_tokens %.0f\n", prefix,
                    str(r, "close_kind"), written);
        cJSON_Delete(r);
        CHECK(fin);
        /* the FIN reached the mock before its 4th token, 100 ms after the 3rd */
        CHECK_TIMING(written == 3);
        CHECK(header);
    }
}

static void chaos_client_should_reset_after_k_tokens(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_RESET, .trigger = CHAOS_AT_TOKENS, .at = {4, 4}};
    base_config(&cfg, "10", "50", u);
    CHECK(run(&cfg, &col, "rst") == 0);
    CHECK_EQ_INT(col.recs[0].delivered_tokens, 4);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_RST);
    cJSON *r = ledger(col.recs[0].correlation_id);
    CHECK(r != NULL);
    int ok = strcmp(str(r, "close_kind"), "rst") == 0;
    cJSON_Delete(r);
    CHECK(ok);
}

static void chaos_client_should_fire_at_a_time_and_at_the_first_byte(void)
{
    struct chaos_config cfg;
    /* tokens at 0, 100, 200 ms; the close at 250 ms sees exactly three */
    struct chaos_user u = {.action = CHAOS_TAB_CLOSE, .trigger = CHAOS_AT_MS, .at = {250, 250}};
    base_config(&cfg, "10", "50", u);
    CHECK(run(&cfg, &col, "at-ms") == 0);
    CHECK_EQ_INT(col.recs[0].delivered_tokens, 3);
    double after = (double)(col.recs[0].t_abort_ns - col.recs[0].t_send_ns) / 1e6;
    if (!(after >= 250 && after < 400))
        fprintf(stderr, "  fired after %.1f ms\n", after);
    CHECK(after >= 250 && after < 400);

    struct chaos_user f = {.action = CHAOS_RESET, .trigger = CHAOS_AT_FIRST_BYTE};
    base_config(&cfg, "10", "50", f);
    CHECK(run(&cfg, &col, "first-byte") == 0);
    CHECK_EQ_INT(col.recs[0].delivered_tokens, 0);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_RST);
}

/* "stream": false: the answer comes as one body at its end, in every style, and a user who
 * leaves on a timer before it closes a connection that has received nothing yet. */
static void chaos_client_should_ask_for_one_body_without_streaming(void)
{
    static const enum chaos_style styles[] = {
        CHAOS_STYLE_OPENAI_CHAT, CHAOS_STYLE_RESPONSES,   CHAOS_STYLE_ANTHROPIC,
        CHAOS_STYLE_GEMINI,      CHAOS_STYLE_COMPLETIONS, CHAOS_STYLE_OLLAMA,
        CHAOS_STYLE_AZURE,       CHAOS_STYLE_BEDROCK,     CHAOS_STYLE_BEDROCK_INVOKE};
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++) {
        struct chaos_config cfg;
        struct chaos_user all = {.action = CHAOS_COMPLETE};
        base_config(&cfg, "200", "20", all);
        cfg.req.style = styles[i];
        cfg.req.non_streaming = 1;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "ns-all-%zu", i);
        CHECK(run(&cfg, &col, prefix) == 0);
        CHECK_EQ_INT(col.n, 1);
        CHECK_EQ_STR(chaos_end_name(col.recs[0].end), "complete");
        CHECK_EQ_INT(col.recs[0].total_tokens, 20);
        CHECK_EQ_INT(col.recs[0].terminal_seen, 1);
        CHECK_EQ_INT(col.recs[0].arrivals >= 1, 1);
        cJSON *r = ledger(col.recs[0].correlation_id);
        CHECK(r != NULL);
        CHECK(cJSON_IsFalse(cJSON_GetObjectItem(r, "stream")));
        CHECK_EQ_STR(str(r, "stop_reason"), "natural");
        cJSON_Delete(r);

        /* tokens at 0, 100, 200 ms; the user leaves at 250, before the body */
        struct chaos_user leave = {.action = CHAOS_TAB_CLOSE, .trigger = CHAOS_AT_MS,
                                   .at = {250, 250}};
        base_config(&cfg, "10", "50", leave);
        cfg.req.style = styles[i];
        cfg.req.non_streaming = 1;
        snprintf(prefix, sizeof prefix, "ns-leave-%zu", i);
        CHECK(run(&cfg, &col, prefix) == 0);
        CHECK_EQ_STR(chaos_end_name(col.recs[0].end), "fin");
        CHECK_EQ_INT(col.recs[0].delivered_tokens, 0);
        CHECK_EQ_INT(col.recs[0].t_first_byte_ns, 0);
        r = ledger(col.recs[0].correlation_id);
        CHECK(r != NULL);
        CHECK_EQ_STR(str(r, "close_kind"), "fin");
        CHECK_EQ_INT(harness_num(r, "written_tokens"), 0);
        CHECK(harness_num(r, "generated_tokens") < 50); /* it stopped at the close */
        cJSON_Delete(r);
    }
    /* a token trigger would act only once nothing is left to abandon */
    struct chaos_config cfg;
    struct chaos_user tok = {.action = CHAOS_TAB_CLOSE, .trigger = CHAOS_AT_TOKENS, .at = {3, 3}};
    base_config(&cfg, "10", "50", tok);
    cfg.req.non_streaming = 1;
    char err[256];
    struct event_base *base = event_base_new();
    CHECK(chaos_client_new(base, &cfg, err, sizeof err) == NULL);
    CHECK(strstr(err, "users[0]: a non-streaming request is abandoned on a timer") != NULL);
    event_base_free(base);
}

static const struct chaos_record *rec_named(const char *cid)
{
    for (size_t i = 0; i < col.n; i++)
        if (strcmp(col.recs[i].correlation_id, cid) == 0)
            return &col.recs[i];
    return NULL;
}

/* An agent task: a tool loop sends its next request once one completes; the user's trigger
 * counts over the whole task, and at it the request in flight is left and none starts after.
 * A fan-out runs its requests at once, and all of them are left at the same trigger. */
static void chaos_client_should_leave_a_whole_agent_task_at_once(void)
{
    struct chaos_config cfg;
    /* a tool loop of 3 requests of 10 tokens, left at the task's 15th token: the first read
     * whole, the second closed after its 5th, the third never sent */
    struct chaos_user loop = {.action = CHAOS_TAB_CLOSE, .trigger = CHAOS_AT_TOKENS,
                              .at = {15, 15}, .task_requests = 3};
    base_config(&cfg, "100", "10", loop);
    CHECK(run(&cfg, &col, "loop") == 0);
    CHECK_EQ_INT(col.n, 2);
    const struct chaos_record *a = rec_named("loop-0"), *b = rec_named("loop-0-t1");
    CHECK(a != NULL && b != NULL && rec_named("loop-0-t2") == NULL);
    if (a && b) {
        CHECK_EQ_STR(chaos_end_name(a->end), "complete");
        CHECK_EQ_INT(a->total_tokens, 10);
        CHECK_EQ_STR(chaos_end_name(b->end), "fin");
        CHECK_EQ_INT(b->delivered_tokens, 5);
        CHECK_EQ_INT(a->index, 0);
        CHECK_EQ_INT(b->index, 0);
        CHECK(b->t_send_ns >= a->t_end_ns); /* one after another */
        cJSON *r = ledger("loop-0-t1");
        CHECK(r != NULL);
        CHECK_EQ_STR(str(r, "close_kind"), "fin");
        cJSON_Delete(r);
    }

    /* a fan-out of 3, left 250 ms in (tokens at 0, 100, 200 ms): each closed after 3 */
    struct chaos_user fan = {.action = CHAOS_TAB_CLOSE, .trigger = CHAOS_AT_MS, .at = {250, 250},
                             .task_requests = 3, .task_parallel = 1};
    base_config(&cfg, "10", "50", fan);
    CHECK(run(&cfg, &col, "fan") == 0);
    CHECK_EQ_INT(col.n, 3);
    const char *const fan_ids[] = {"fan-0", "fan-0-t1", "fan-0-t2"};
    for (size_t i = 0; i < 3; i++) {
        const struct chaos_record *r = rec_named(fan_ids[i]);
        CHECK(r != NULL);
        if (r == NULL)
            continue;
        CHECK_EQ_STR(chaos_end_name(r->end), "fin");
        CHECK_EQ_INT(r->delivered_tokens, 3);
        cJSON *l = ledger(fan_ids[i]);
        CHECK(l != NULL);
        CHECK_EQ_STR(str(l, "close_kind"), "fin");
        cJSON_Delete(l);
    }

    /* a fan-out reset at the task's 4th token: whoever delivers it resets, and the others
     * with it */
    struct chaos_user kill = {.action = CHAOS_RESET, .trigger = CHAOS_AT_TOKENS, .at = {4, 4},
                              .task_requests = 2, .task_parallel = 1};
    base_config(&cfg, "10", "50", kill);
    CHECK(run(&cfg, &col, "kill") == 0);
    CHECK_EQ_INT(col.n, 2);
    uint64_t delivered = 0;
    for (size_t i = 0; i < col.n; i++) {
        CHECK_EQ_STR(chaos_end_name(col.recs[i].end), "rst");
        delivered += col.recs[i].delivered_tokens;
    }
    CHECK_EQ_INT(delivered, 4);

    /* refused: a task is left at once, not backgrounded or retried */
    struct chaos_user bg = {.action = CHAOS_BACKGROUND, .background_ms = 100, .task_requests = 2};
    base_config(&cfg, "10", "50", bg);
    char err[256];
    struct event_base *base = event_base_new();
    CHECK(chaos_client_new(base, &cfg, err, sizeof err) == NULL);
    CHECK(strstr(err, "users[0].task: a task is left with complete") != NULL);
    event_base_free(base);
}

/* Bedrock's streams through their event-stream framing: every token of a whole stream counted
 * from the decoded payloads (InvokeModel's base64 chunks decoded) with the proper end seen, an
 * RST after 4, and a reader who stops for a while (curl hands a paused chunk over again: its
 * messages are counted once) with every token in order. */
static void chaos_client_should_count_bedrock_tokens_through_event_stream_framing(void)
{
    static const enum chaos_style styles[] = {CHAOS_STYLE_BEDROCK, CHAOS_STYLE_BEDROCK_INVOKE};
    for (size_t i = 0; i < 2; i++) {
        struct chaos_config cfg;
        char prefix[32];
        struct chaos_user all = {.action = CHAOS_COMPLETE};
        base_config(&cfg, "500", "40", all);
        cfg.req.style = styles[i];
        snprintf(prefix, sizeof prefix, "br-all-%zu", i);
        CHECK(run(&cfg, &col, prefix) == 0);
        struct chaos_record *rc = &col.recs[0];
        CHECK_EQ_STR(chaos_end_name(rc->end), "complete");
        CHECK_EQ_INT(rc->total_tokens, 40);
        CHECK_EQ_INT(rc->gaps + rc->duplicates + rc->reorders, 0);
        CHECK_EQ_INT(rc->terminal_seen, 1);

        struct chaos_user rst = {.action = CHAOS_RESET, .trigger = CHAOS_AT_TOKENS, .at = {4, 4}};
        base_config(&cfg, "10", "50", rst);
        cfg.req.style = styles[i];
        snprintf(prefix, sizeof prefix, "br-rst-%zu", i);
        CHECK(run(&cfg, &col, prefix) == 0);
        CHECK_EQ_INT(col.recs[0].delivered_tokens, 4);
        CHECK_EQ_INT(col.recs[0].end, CHAOS_END_RST);
        cJSON *r = ledger(col.recs[0].correlation_id);
        CHECK(r != NULL);
        int ok = strcmp(str(r, "close_kind"), "rst") == 0 &&
                 strcmp(str(r, "api"), i == 0 ? "bedrock" : "bedrock-invoke") == 0;
        cJSON_Delete(r);
        CHECK(ok);

        struct chaos_user bg = {.action = CHAOS_BACKGROUND,
                                .trigger = CHAOS_AT_TOKENS,
                                .at = {5, 5},
                                .background_ms = 300};
        base_config(&cfg, "200", "60", bg);
        cfg.req.style = styles[i];
        snprintf(prefix, sizeof prefix, "br-bg-%zu", i);
        CHECK(run(&cfg, &col, prefix) == 0);
        rc = &col.recs[0];
        CHECK_EQ_INT(rc->delivered_tokens, 5);
        CHECK_EQ_INT(rc->total_tokens, 60);
        CHECK_EQ_INT(rc->gaps + rc->duplicates + rc->reorders, 0);
        CHECK_EQ_INT(rc->end, CHAOS_END_COMPLETE);
        CHECK_EQ_INT(rc->terminal_seen, 1);
    }
}

/* Bedrock's requests: Converse's body and path (the model id's ':' percent-encoded), and
 * InvokeModel's Anthropic body with anthropic_version and no model or stream field. */
static void chaos_client_should_build_bedrock_requests(void)
{
    struct chaos_request_spec req = {.style = CHAOS_STYLE_BEDROCK,
                                     .model = "anthropic.claude-3-haiku-20240307-v1:0",
                                     .prompt = "hi",
                                     .max_tokens = 7};
    char err[128], buf[200];
    char *body = chaos_request_body(&req, "br-1", err, sizeof err);
    cJSON *o = body ? cJSON_Parse(body) : NULL;
    const cJSON *m0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "messages"), 0);
    const cJSON *b0 = cJSON_GetArrayItem(cJSON_GetObjectItem(m0, "content"), 0);
    CHECK_EQ_STR(str(m0, "role"), "user");
    CHECK_EQ_STR(str(b0, "text"), "hi [tg:br-1]");
    CHECK_EQ_INT(harness_num(cJSON_GetObjectItem(o, "inferenceConfig"), "maxTokens"), 7);
    CHECK(cJSON_GetObjectItem(o, "model") == NULL && cJSON_GetObjectItem(o, "stream") == NULL);
    cJSON_Delete(o);
    free(body);
    CHECK_EQ_STR(body_default_path(&req, buf, sizeof buf),
                 "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream");
    req.non_streaming = 1;
    CHECK_EQ_STR(body_default_path(&req, buf, sizeof buf),
                 "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
    req.style = CHAOS_STYLE_BEDROCK_INVOKE;
    CHECK_EQ_STR(body_default_path(&req, buf, sizeof buf),
                 "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke");
    req.non_streaming = 0;
    CHECK_EQ_STR(body_default_path(&req, buf, sizeof buf),
                 "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream");
    body = chaos_request_body(&req, "br-2", err, sizeof err);
    o = body ? cJSON_Parse(body) : NULL;
    m0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "messages"), 0);
    CHECK_EQ_STR(str(o, "anthropic_version"), "bedrock-2023-05-31");
    CHECK_EQ_STR(str(m0, "content"), "hi [tg:br-2]");
    CHECK_EQ_INT(harness_num(o, "max_tokens"), 7);
    CHECK(cJSON_GetObjectItem(o, "model") == NULL && cJSON_GetObjectItem(o, "stream") == NULL);
    cJSON_Delete(o);
    free(body);
}

/* Gemini's request: the model and streaming in the path, the prompt a user content's text
 * part carrying the correlation id, max tokens as generationConfig.maxOutputTokens. */
static void chaos_client_should_build_gemini_requests(void)
{
    struct chaos_request_spec req = {.style = CHAOS_STYLE_GEMINI, .model = "gemini-test",
                                     .prompt = "hi", .max_tokens = 7};
    char err[128], buf[160];
    char *body = chaos_request_body(&req, "gm-1", err, sizeof err);
    cJSON *o = body ? cJSON_Parse(body) : NULL;
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "contents"), 0);
    const cJSON *p0 = cJSON_GetArrayItem(cJSON_GetObjectItem(c0, "parts"), 0);
    CHECK_EQ_STR(str(c0, "role"), "user");
    CHECK_EQ_STR(str(p0, "text"), "hi [tg:gm-1]");
    CHECK_EQ_INT(harness_num(cJSON_GetObjectItem(o, "generationConfig"), "maxOutputTokens"), 7);
    CHECK(cJSON_GetObjectItem(o, "stream") == NULL && cJSON_GetObjectItem(o, "model") == NULL);
    cJSON_Delete(o);
    free(body);
    CHECK_EQ_STR(body_default_path(&req, buf, sizeof buf),
                 "/v1beta/models/gemini-test:streamGenerateContent?alt=sse");
    req.non_streaming = 1;
    CHECK_EQ_STR(body_default_path(&req, buf, sizeof buf),
                 "/v1beta/models/gemini-test:generateContent");
    CHECK_EQ_INT(chaos_style_parse("gemini"), CHAOS_STYLE_GEMINI);
    CHECK_EQ_STR(chaos_style_name(CHAOS_STYLE_GEMINI), "gemini");
}

/* The legacy completions request: a prompt carrying the correlation id, usage asked for, the
 * user field; Ollama's: messages, options.num_predict, stream true (its default, said). */
static void chaos_client_should_build_completions_and_ollama_requests(void)
{
    struct chaos_request_spec req = {
        .style = CHAOS_STYLE_COMPLETIONS, .model = "m", .prompt = "hi", .max_tokens = 7};
    char err[128], buf[160];
    char *body = chaos_request_body(&req, "cm-1", err, sizeof err);
    cJSON *o = body ? cJSON_Parse(body) : NULL;
    CHECK_EQ_STR(str(o, "prompt"), "hi [tg:cm-1]");
    CHECK_EQ_STR(str(o, "user"), "cm-1");
    CHECK_EQ_INT(harness_num(o, "max_tokens"), 7);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "stream")));
    CHECK(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(o, "stream_options"), "include_usage")));
    CHECK(cJSON_GetObjectItem(o, "messages") == NULL);
    cJSON_Delete(o);
    free(body);
    CHECK_EQ_STR(body_default_path(&req, buf, sizeof buf), "/v1/completions");
    CHECK_EQ_INT(chaos_style_parse("completions"), CHAOS_STYLE_COMPLETIONS);

    req.style = CHAOS_STYLE_OLLAMA;
    req.non_streaming = 1;
    body = chaos_request_body(&req, "ol-1", err, sizeof err);
    o = body ? cJSON_Parse(body) : NULL;
    const cJSON *m0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "messages"), 0);
    CHECK_EQ_STR(str(m0, "role"), "user");
    CHECK_EQ_STR(str(m0, "content"), "hi [tg:ol-1]");
    CHECK_EQ_INT(harness_num(cJSON_GetObjectItem(o, "options"), "num_predict"), 7);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "stream")));
    CHECK(cJSON_GetObjectItem(o, "user") == NULL);
    cJSON_Delete(o);
    free(body);
    CHECK_EQ_STR(body_default_path(&req, buf, sizeof buf), "/api/chat");
    CHECK_EQ_STR(chaos_style_name(CHAOS_STYLE_OLLAMA), "ollama");

    req.style = CHAOS_STYLE_AZURE;
    req.non_streaming = 0;
    CHECK_EQ_STR(body_default_path(&req, buf, sizeof buf),
                 "/openai/deployments/m/chat/completions?api-version=2024-10-21");
    body = chaos_request_body(&req, "az-1", err, sizeof err);
    o = body ? cJSON_Parse(body) : NULL;
    CHECK_EQ_STR(str(o, "user"), "az-1");
    CHECK(cJSON_GetObjectItem(o, "messages") != NULL && cJSON_GetObjectItem(o, "stream_options"));
    cJSON_Delete(o);
    free(body);
    CHECK_EQ_INT(chaos_style_parse("azure"), CHAOS_STYLE_AZURE);
}

static void chaos_client_should_read_everything_in_the_control_group(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_COMPLETE};
    base_config(&cfg, "1000", "40", u);
    cfg.requests = 6;
    cfg.concurrency = 3;
    CHECK(run(&cfg, &col, "ctl") == 0);
    CHECK_EQ_INT(col.n, 6);
    for (size_t i = 0; i < col.n; i++) {
        CHECK_EQ_INT(col.recs[i].delivered_tokens, 40);
        CHECK_EQ_INT(col.recs[i].gaps, 0);
        CHECK_EQ_INT(col.recs[i].end, CHAOS_END_COMPLETE);
        CHECK_EQ_INT(col.recs[i].http_status, 200);
        CHECK(col.recs[i].t_abort_ns == 0);
    }
}

struct stall_probe {
    double generated, written;
};

static void probe_ledger(void *arg)
{
    struct stall_probe *p = arg;
    char *body = NULL;
    harness_http(small_mock.port, "GET", "/_tailgate/ledger?id=bg-resume-0", NULL, NULL, &body,
                 NULL);
    cJSON *j = cJSON_Parse(body);
    free(body);
    cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "records"), 0);
    p->generated = harness_num(r, "generated_tokens");
    p->written = harness_num(r, "written_tokens");
    cJSON_Delete(j);
}

static void chaos_client_should_background_then_resume_with_every_token_in_order(void)
{
    struct chaos_config cfg;
    /* 400 tokens at 400/s with a 4 KiB receive buffer: a 1.5 s stall after 5 tokens leaves
     * hundreds of tokens (over 100 KB) generated but not read */
    struct chaos_user u = {.action = CHAOS_BACKGROUND, .trigger = CHAOS_AT_TOKENS, .at = {5, 5},
                           .background_ms = 1500};
    base_config(&cfg, "400", "400", u);
    cfg.req.url = small_url;
    cfg.rcvbuf = 4096;
    struct stall_probe p = {-1, -1};
    col.probe = probe_ledger;
    col.probe_arg = &p;
    col.probe_ms = 1200;
    CHECK(run(&cfg, &col, "bg-resume") == 0);
    struct chaos_record *r = &col.recs[0];
    CHECK_EQ_INT(r->delivered_tokens, 5);
    CHECK_EQ_INT(r->total_tokens, 400);
    CHECK_EQ_INT(r->gaps, 0);
    CHECK_EQ_INT(r->duplicates, 0);
    CHECK_EQ_INT(r->reorders, 0);
    CHECK_EQ_INT(r->end, CHAOS_END_COMPLETE);
    /* while the reader stalled, generation ran ahead of what could be written; a probe on a
     * timer, so it says so only when the 400 tokens took the 1 s they are due in */
    CHECK_TIMING(p.generated == 400);
    CHECK_TIMING(p.written >= 5 && p.written < 300);
    double stalled = (double)(r->t_end_ns - r->t_abort_ns) / 1e6;
    CHECK(stalled >= 1500);
}

static void chaos_client_should_background_then_be_killed(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_BACKGROUND, .trigger = CHAOS_AT_TOKENS, .at = {3, 3},
                           .background_ms = 300, .background_kill = 1};
    base_config(&cfg, "20", "200", u);
    CHECK(run(&cfg, &col, "bg-kill") == 0);
    CHECK_EQ_INT(col.recs[0].delivered_tokens, 3);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_KILLED);
    cJSON *r = ledger(col.recs[0].correlation_id);
    CHECK(r != NULL);
    double closed_after = (harness_num(r, "t_peer_closed_ns") - harness_num(r, "t_accept_ns")) /
                          1e6;
    int ok = strcmp(str(r, "close_kind"), "rst") == 0;
    cJSON_Delete(r);
    CHECK(ok);
    CHECK(closed_after >= 300);
}

static void chaos_client_should_retry_after_a_reset_with_one_correlation_id(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_RESET, .trigger = CHAOS_AT_TOKENS, .at = {2, 2},
                           .retries = 1, .retry_delay_ms = 50};
    base_config(&cfg, "100", "10", u);
    CHECK(run(&cfg, &col, "retry") == 0);
    CHECK_EQ_INT(col.n, 2);
    CHECK_EQ_INT(col.recs[0].attempt, 1);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_RST);
    CHECK_EQ_INT(col.recs[1].attempt, 2);
    CHECK_EQ_INT(col.recs[1].end, CHAOS_END_COMPLETE);
    CHECK_EQ_INT(col.recs[1].delivered_tokens, 10);
    CHECK_EQ_STR(col.recs[0].correlation_id, col.recs[1].correlation_id);
    cJSON *recs = harness_ledger_all_done(mock.port, col.recs[0].correlation_id, 2, 5000);
    int n = cJSON_GetArraySize(recs);
    double a2 = harness_num(cJSON_GetArrayItem(recs, 1), "attempt");
    cJSON_Delete(recs);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(a2, 2);
}

static void chaos_client_should_supersede_and_leave_the_old_stream_closed(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_SUPERSEDE, .trigger = CHAOS_AT_TOKENS, .at = {2, 2}};
    base_config(&cfg, "50", "20", u);
    CHECK(run(&cfg, &col, "sup") == 0);
    CHECK_EQ_INT(col.n, 2);
    struct chaos_record *old = col.recs[0].end == CHAOS_END_SUPERSEDED ? &col.recs[0]
                                                                        : &col.recs[1];
    struct chaos_record *fresh = old == &col.recs[0] ? &col.recs[1] : &col.recs[0];
    CHECK_EQ_INT(old->end, CHAOS_END_SUPERSEDED);
    CHECK_EQ_INT(old->delivered_tokens, 2);
    CHECK_EQ_STR(old->superseded_by, fresh->correlation_id);
    CHECK_EQ_INT(fresh->end, CHAOS_END_COMPLETE);
    CHECK_EQ_INT(fresh->delivered_tokens, 20);
    cJSON *r = ledger(old->correlation_id);
    CHECK(r != NULL);
    int ok = strcmp(str(r, "close_kind"), "fin") == 0;
    cJSON_Delete(r);
    CHECK(ok);
}

static void chaos_client_should_press_stop_and_call_the_cancel_endpoint(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_STOP_BUTTON, .trigger = CHAOS_AT_TOKENS, .at = {2, 2},
                           .cancel_call = 1};
    base_config(&cfg, "50", "100", u);
    static char cancel_url[128];
    /* the mock has no such response: the call is made and answered 404 */
    snprintf(cancel_url, sizeof cancel_url, "%s/v1/responses/{{id}}/cancel", mock_url);
    cfg.req.cancel_url = cancel_url;
    CHECK(run(&cfg, &col, "stop") == 0);
    CHECK_EQ_INT(col.n, 1);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_FIN);
    CHECK_EQ_INT(col.recs[0].cancel_status, 404);
}

static void chaos_client_should_send_a_custom_template(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_COMPLETE};
    base_config(&cfg, "1000", "7", u);
    cfg.req.style = CHAOS_STYLE_CUSTOM;
    cfg.req.path = "/v1/chat/completions";
    cfg.req.prompt = "say \"hi\"";
    cfg.req.max_tokens = 99;
    cfg.req.body_template = "{\"model\":\"custom\",\"stream\":true,\"max_tokens\":{{max_tokens}},"
                            "\"user\":\"{{id}}\",\"messages\":[{\"role\":\"user\",\"content\":"
                            "\"{{prompt}}\"}]}";
    CHECK(run(&cfg, &col, "custom") == 0);
    CHECK_EQ_INT(col.recs[0].delivered_tokens, 7);
    cJSON *r = ledger(col.recs[0].correlation_id);
    CHECK(r != NULL);
    int ok = strcmp(str(r, "model"), "custom") == 0 && harness_num(r, "max_tokens") == 99;
    cJSON_Delete(r);
    CHECK(ok);
}

static void chaos_client_should_pace_arrivals_at_the_rate(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_COMPLETE};
    base_config(&cfg, "100", "30", u); /* each answer takes 0.3 s: arrivals must not wait */
    cfg.requests = 10;
    cfg.concurrency = 100;
    cfg.rate_per_s = 20;
    CHECK(run(&cfg, &col, "rate") == 0);
    CHECK_EQ_INT(col.n, 10);
    uint64_t first = UINT64_MAX, last = 0;
    for (size_t i = 0; i < col.n; i++) {
        first = col.recs[i].t_send_ns < first ? col.recs[i].t_send_ns : first;
        last = col.recs[i].t_send_ns > last ? col.recs[i].t_send_ns : last;
    }
    double span_ms = (double)(last - first) / 1e6;
    /* nine gaps of 50 ms */
    CHECK_TIMING(span_ms >= 440 && span_ms < 520);
}

static void chaos_client_should_record_http_errors(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_COMPLETE};
    base_config(&cfg, "100", "5", u);
    cfg.req.headers[cfg.req.nheaders++] = "x-tailgate-fault: status=429,retry-after=1";
    CHECK(run(&cfg, &col, "e429") == 0);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_HTTP_ERROR);
    CHECK_EQ_INT(col.recs[0].http_status, 429);
}

struct drop_probe {
    char cid[64];
    int closed_while_held; /* the mock saw a close during the blackhole */
    int probed;
};

static struct proxy *drop_proxy;

static int drop_hook(void *arg, int port, uint32_t rst_after_ms, char *err, size_t errlen)
{
    (void)arg;
    if (proxy_drop_connection(drop_proxy, port, rst_after_ms) != 0) {
        snprintf(err, errlen, "no connection from port %d", port);
        return -1;
    }
    return 0;
}

static void probe_held(void *arg)
{
    struct drop_probe *p = arg;
    char path[128], *body = NULL;
    snprintf(path, sizeof path, "/_tailgate/ledger?id=%s", p->cid);
    harness_http(mock.port, "GET", path, NULL, NULL, &body, NULL);
    cJSON *j = cJSON_Parse(body);
    free(body);
    cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "records"), 0);
    p->closed_while_held = !cJSON_IsNull(cJSON_GetObjectItem(r, "t_peer_closed_ns"));
    p->probed = r != NULL;
    cJSON_Delete(j);
}

static void chaos_client_should_blackhole_then_reset_on_a_network_drop(void)
{
    /* the probe runs in the client's loop, which also runs the proxy: build both on it */
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_NETWORK_DROP, .trigger = CHAOS_AT_TOKENS,
                           .at = {3, 3}, .drop_rst_after_ms = 800, .drop_give_up_ms = 1200};
    base_config(&cfg, "10", "100", u);
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    struct event_base *b = event_base_new_with_config(ec);
    event_config_free(ec);
    char err[256], upstream[64], url[64];
    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", mock.port);
    drop_proxy = proxy_new(b, "client", "127.0.0.1:0", upstream, err, sizeof err);
    CHECK(drop_proxy != NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", proxy_listen_port(drop_proxy));
    cfg.req.url = url;
    cfg.drop = drop_hook;
    struct drop_probe p = {"drop-0", 0, 0};
    col.probe = probe_held;
    col.probe_arg = &p;
    col.probe_ms = 700; /* 300 ms of tokens, then 400 ms into the 800 ms hold */
    /* run() makes its own base; this test needs the proxy on the same loop, so inline it */
    memset(col.recs, 0, sizeof col.recs);
    col.n = 0;
    col.done = 0;
    col.base = b;
    cfg.id_prefix = "drop";
    cfg.on_record = on_record;
    cfg.record_arg = &col;
    cfg.on_done = on_done;
    cfg.done_arg = &col;
    struct chaos_client *c = chaos_client_new(b, &cfg, err, sizeof err);
    CHECK(c != NULL);
    struct event *probe = evtimer_new(b, probe_cb, &col);
    struct timeval pt = {0, 700000}, dl = {20, 0};
    evtimer_add(probe, &pt);
    struct event *deadline = evtimer_new(b, deadline_cb, b);
    evtimer_add(deadline, &dl);
    CHECK(chaos_client_start(c, err, sizeof err) == 0);
    event_base_dispatch(b);
    chaos_client_free(c);
    event_free(probe);
    event_free(deadline);
    proxy_free(drop_proxy);
    drop_proxy = NULL;
    event_base_free(b);
    col.probe = NULL;
    CHECK(col.done);
    CHECK_EQ_INT(col.recs[0].delivered_tokens, 3);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_DROP);
    CHECK(p.probed);
    CHECK_EQ_INT(p.closed_while_held, 0); /* no FIN reached the mock during the blackhole */
    cJSON *r = ledger("drop-0");
    CHECK(r != NULL);
    double held_ms = (harness_num(r, "t_peer_closed_ns") / 1e6) -
                     (double)col.recs[0].t_abort_ns / 1e6;
    int rst = strcmp(str(r, "close_kind"), "rst") == 0;
    cJSON_Delete(r);
    CHECK(rst);
    CHECK(held_ms >= 790); /* the proxy's RST timer never fires early */
    CHECK_TIMING(held_ms < 1200);
}

static void chaos_plan_should_be_reproducible_from_the_seed(void)
{
    struct chaos_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nusers = 3;
    cfg.users[0] = (struct chaos_user){.action = CHAOS_COMPLETE, .weight = 2};
    cfg.users[1] = (struct chaos_user){.action = CHAOS_TAB_CLOSE, .weight = 1,
                                       .trigger = CHAOS_AT_TOKENS, .at = {3, 20}};
    cfg.users[2] = (struct chaos_user){.action = CHAOS_RESET, .weight = 1,
                                       .trigger = CHAOS_AT_MS, .at = {100, 900}};
    size_t count[3] = {0};
    int differs = 0;
    for (uint32_t i = 0; i < 4000; i++) {
        int64_t a1, a2, b;
        cfg.seed = 42;
        size_t u1 = chaos_plan(&cfg, i, &a1);
        size_t u2 = chaos_plan(&cfg, i, &a2);
        cfg.seed = 43;
        size_t v = chaos_plan(&cfg, i, &b);
        CHECK_EQ_INT(u1, u2);
        CHECK_EQ_INT(a1, a2);
        differs |= v != u1 || b != a1;
        count[u1]++;
        if (u1 == 0)
            CHECK_EQ_INT(a1, -1);
        if (u1 == 1)
            CHECK(a1 >= 3 && a1 <= 20);
        if (u1 == 2)
            CHECK(a1 >= 100 && a1 <= 900);
    }
    CHECK(differs);
    /* weights 2:1:1 over 4000 draws */
    CHECK(count[0] > 1800 && count[0] < 2200);
    CHECK(count[1] > 850 && count[1] < 1150);
}

static void chaos_client_should_reject_bad_config_naming_the_field(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_NETWORK_DROP};
    base_config(&cfg, "10", "10", u);
    char err[256] = "";
    struct event_base *b = event_base_new();
    struct chaos_client *c = chaos_client_new(b, &cfg, err, sizeof err);
    CHECK(c == NULL);
    CHECK(strstr(err, "users[0].action") && strstr(err, "proxy"));
    base_config(&cfg, "10", "10", (struct chaos_user){.action = CHAOS_BACKGROUND});
    c = chaos_client_new(b, &cfg, err, sizeof err);
    CHECK(c == NULL);
    CHECK(strstr(err, "users[0].background_ms") != NULL);
    base_config(&cfg, "10", "10", (struct chaos_user){.action = CHAOS_COMPLETE});
    cfg.req.url = "ftp://x";
    c = chaos_client_new(b, &cfg, err, sizeof err);
    CHECK(c == NULL);
    CHECK(strstr(err, "request.url") != NULL);
    base_config(&cfg, "10", "10", (struct chaos_user){.action = CHAOS_COMPLETE});
    cfg.users[0].at = (struct chaos_range){9, 3};
    c = chaos_client_new(b, &cfg, err, sizeof err);
    CHECK(c == NULL);
    CHECK(strstr(err, "users[0].at") != NULL);
    event_base_free(b);
}

static void chaos_client_cli_should_exit_2_on_usage_errors(void)
{
    const char *bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    const char *cases[] = {
        "chaos client",
        "chaos client --url http://127.0.0.1:1 --style soap",
        "chaos client --url http://127.0.0.1:1 --user action=explode",
        "chaos client --url http://127.0.0.1:1 --user action=tab_close,after-tokens=-3",
        "chaos client --url http://127.0.0.1:1 --user action=tab_close,after-tokens=9..2",
        "chaos client --url http://127.0.0.1:1 --user action=tab_close,colour=red",
        "chaos client --url http://127.0.0.1:1 --requests 0",
        "chaos client --url http://127.0.0.1:1 --user action=network_drop",
        "chaos client --url http://127.0.0.1:1 --header nocolon",
        "chaos",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", bin, cases[i]);
        int st = system(cmd);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 2))
            fprintf(stderr, "  '%s' exited %d\n", cases[i], WEXITSTATUS(st));
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    }
}

/* ---- a raw peer --------------------------------------------------------------------------
 * A plain poll() server on its own thread, sharing no code with tailgate: it answers every
 * request with an SSE stream written token by token, and records what the wire told it (a FIN
 * is recv() == 0, an RST is ECONNRESET) and how its writes fared afterwards. */

#define PEER_CONNS 4
#define PEER_PROBE_WRITES 6 /* writes tried after a FIN before giving up on a failure */
#define PEER_PROBE_WAIT_MS 50 /* between them, unless the RST arrives first */

enum peer_after {
    PEER_PROBE,        /* after the FIN: a write, wait for the RST (bounded), another, ... */
    PEER_KEEP_WRITING, /* after the FIN: keep_writes more tokens at the interval, then close */
};

struct peer_conn {
    int fd;
    char req[8192];
    size_t got;
    int streaming, after_phase, closed;
    int sent;              /* stream tokens written */
    uint64_t next_ns;      /* the next write is due */
    uint64_t t_request_ns; /* the whole request had arrived */
    int seq_request, seq_fin; /* order of events across connections */
    int fin, rst;          /* recv() said 0 / ECONNRESET */
    int writes_after, ok_after; /* writes tried and accepted after the FIN */
    int fail_at;           /* first failed write after the FIN (1-based), 0 none */
    int fail_errno;
    uint64_t t_closed_ns;  /* the peer closed its end */
};

struct peer {
    int lfd, port;
    int stop[2];
    pthread_t th;
    /* the script, the same for every connection */
    int tokens, interval_ms, batch, done_marker;
    const char *tail; /* written after the tokens (a custom terminal event), or NULL */
    enum peer_after after;
    int keep_writes;
    /* what it saw */
    struct peer_conn conns[PEER_CONNS];
    int nconns, seq;
    uint64_t stop_by_ns; /* stopping: until every connection is over, or this time */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int peer_send(int fd, const char *buf, size_t len)
{
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    return n == (ssize_t)len ? 0 : -1;
}

static void peer_close(struct peer_conn *k)
{
    k->t_closed_ns = now_ns(); /* before: the client may see the FIN before we run again */
    close(k->fd);
    k->closed = 1;
}

static void stream_step(struct peer *pr, struct peer_conn *k)
{
    char buf[65536];
    size_t o = 0;
    if (pr->batch) {
        for (int i = 0; i < pr->tokens; i++)
            o += (size_t)harness_sse_token(buf + o, sizeof buf - o, i);
        k->sent = pr->tokens;
    } else {
        o = (size_t)harness_sse_token(buf, sizeof buf, k->sent++);
    }
    if (peer_send(k->fd, buf, o) != 0 && errno == ECONNRESET) {
        /* the RST came between poll() and this write, which took the error */
        k->rst = 1;
        k->seq_fin = ++pr->seq;
        peer_close(k);
        return;
    }
    k->next_ns = now_ns() + (uint64_t)pr->interval_ms * 1000000;
    if (k->sent < pr->tokens)
        return;
    if (pr->done_marker)
        peer_send(k->fd, "data: [DONE]\n\n", 14);
    if (pr->tail)
        peer_send(k->fd, pr->tail, strlen(pr->tail));
    peer_close(k); /* Connection: close: the end of the body */
}

/* After the FIN: one write per step. */
static void after_step(struct peer *pr, struct peer_conn *k)
{
    char buf[128];
    size_t len = (size_t)harness_sse_token(buf, sizeof buf, 100000 + k->writes_after);
    k->writes_after++;
    if (peer_send(k->fd, buf, len) == 0) {
        k->ok_after++;
    } else if (k->fail_at == 0) {
        k->fail_at = k->writes_after;
        k->fail_errno = errno;
    }
    k->next_ns = now_ns() + (uint64_t)(pr->after == PEER_PROBE ? PEER_PROBE_WAIT_MS
                                                                : pr->interval_ms) *
                                1000000;
    int limit = pr->after == PEER_PROBE ? PEER_PROBE_WRITES : pr->keep_writes;
    if (k->fail_at || k->writes_after >= limit)
        peer_close(k);
}

/* The client's end said something while we stream: its FIN, its RST, or bytes. */
static void stream_read(struct peer *pr, struct peer_conn *k)
{
    char buf[4096];
    ssize_t n = recv(k->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0 || (n < 0 && errno == EAGAIN))
        return;
    if (n == 0) {
        k->fin = 1;
        k->seq_fin = ++pr->seq;
        k->after_phase = 1;
        k->next_ns = now_ns(); /* the first write after the FIN goes out at once */
    } else {
        k->rst = errno == ECONNRESET;
        k->seq_fin = ++pr->seq;
        peer_close(k);
    }
}

static void request_read(struct peer *pr, struct peer_conn *k)
{
    ssize_t n = recv(k->fd, k->req + k->got, sizeof k->req - k->got, MSG_DONTWAIT);
    if (n <= 0) {
        if (n == 0 || errno != EAGAIN)
            peer_close(k);
        return;
    }
    k->got += (size_t)n;
    if (!harness_request_complete(k->req, k->got))
        return;
    k->t_request_ns = now_ns();
    k->seq_request = ++pr->seq;
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Connection: close\r\n\r\n";
    peer_send(k->fd, head, sizeof head - 1);
    k->streaming = 1;
    k->next_ns = now_ns();
}

static void *peer_main(void *arg)
{
    struct peer *pr = arg;
    for (;;) {
        struct pollfd pf[PEER_CONNS + 2];
        int idx[PEER_CONNS + 2], n = 0;
        pf[n] = (struct pollfd){pr->stop[0], POLLIN, 0};
        idx[n++] = -1;
        pf[n] = (struct pollfd){pr->lfd, POLLIN, 0};
        idx[n++] = -2;
        uint64_t now = now_ns(), due = now + 100000000ull;
        for (int i = 0; i < pr->nconns; i++) {
            struct peer_conn *k = &pr->conns[i];
            if (k->closed)
                continue;
            /* after the FIN the socket stays readable (EOF): ask only for errors (the RST) */
            pf[n] = (struct pollfd){k->fd, (short)(k->after_phase ? 0 : POLLIN), 0};
            idx[n++] = i;
            if ((k->streaming || k->after_phase) && k->next_ns < due)
                due = k->next_ns;
        }
        int open = n - 2;
        if (pr->stop_by_ns && (open == 0 || now >= pr->stop_by_ns))
            break;
        int wait = due > now ? (int)((due - now + 999999) / 1000000) : 0;
        if (poll(pf, (nfds_t)n, wait) < 0 && errno != EINTR)
            break;
        if (pf[0].revents && pr->stop_by_ns == 0) {
            /* the client is gone: what it left on the wire still arrives, so see it out */
            char b;
            if (read(pr->stop[0], &b, 1) == 1)
                pr->stop_by_ns = now_ns() + 3000000000ull;
            pf[0].events = 0;
        }
        if ((pf[1].revents & POLLIN) && pr->nconns < PEER_CONNS) {
            int fd = accept(pr->lfd, NULL, NULL);
            if (fd >= 0) {
                pr->conns[pr->nconns++] = (struct peer_conn){.fd = fd};
                continue; /* poll it with the others before reading anyone's FIN */
            }
        }
        /* Two passes: requests first, then FINs and RSTs. Within one wake the order of events
         * on different connections is lost; causally a request can only come first. */
        for (int j = 2; j < n; j++) {
            struct peer_conn *k = &pr->conns[idx[j]];
            if (pf[j].revents && !k->streaming && !k->after_phase)
                request_read(pr, k);
        }
        for (int j = 2; j < n; j++) {
            struct peer_conn *k = &pr->conns[idx[j]];
            if (k->closed)
                continue;
            if (k->streaming && !k->after_phase && pf[j].revents)
                stream_read(pr, k);
            if (k->closed)
                continue;
            uint64_t t = now_ns();
            int rst_arrived = k->after_phase && (pf[j].revents & (POLLERR | POLLHUP));
            if (k->after_phase && (t >= k->next_ns || rst_arrived))
                after_step(pr, k);
            else if (k->streaming && !k->after_phase && t >= k->next_ns)
                stream_step(pr, k);
        }
    }
    return NULL;
}

static int peer_start(struct peer *pr)
{
    pr->lfd = harness_listen(&pr->port);
    if (pr->lfd < 0 || pipe(pr->stop) != 0)
        return -1;
    return pthread_create(&pr->th, NULL, peer_main, pr) == 0 ? 0 : -1;
}

/* Stops the thread once every connection is over (3 s at most); what it saw stays readable. */
static void peer_stop(struct peer *pr)
{
    if (write(pr->stop[1], "x", 1) != 1)
        return;
    pthread_join(pr->th, NULL);
    for (int i = 0; i < pr->nconns; i++)
        if (!pr->conns[i].closed)
            close(pr->conns[i].fd);
    close(pr->lfd);
    close(pr->stop[0]);
    close(pr->stop[1]);
}

static struct peer peer;
static char peer_url[64];

/* Runs one client config against a fresh peer with the given script. */
static int run_peer(struct chaos_config *cfg, const char *prefix)
{
    if (peer_start(&peer) != 0)
        return -1;
    snprintf(peer_url, sizeof peer_url, "http://127.0.0.1:%d", peer.port);
    cfg->req.url = peer_url;
    int rc = run(cfg, &col, prefix);
    peer_stop(&peer);
    return rc;
}

static void peer_script(int tokens, int interval_ms, enum peer_after after)
{
    memset(&peer, 0, sizeof peer);
    peer.tokens = tokens;
    peer.interval_ms = interval_ms;
    peer.done_marker = 1;
    peer.after = after;
}

static int is_broken_pipe(int e)
{
    return e == EPIPE || e == ECONNRESET;
}

static void chaos_client_should_close_like_a_browser_fin_then_rst_on_the_next_write(void)
{
    /* tab_close and stop_button put the same on the wire: a FIN, then nothing read, so the
     * peer's first write after the FIN is accepted by its kernel and draws an RST, and its
     * second write fails. On loopback the RST comes back within the first write's send path;
     * the peer still waits for it (POLLERR, bounded) before writing again. */
    static const enum chaos_action actions[] = {CHAOS_TAB_CLOSE, CHAOS_STOP_BUTTON};
    for (size_t i = 0; i < 2; i++) {
        struct chaos_config cfg;
        struct chaos_user u = {.action = actions[i], .trigger = CHAOS_AT_TOKENS, .at = {3, 3}};
        base_config(&cfg, "10", "50", u);
        peer_script(100, 20, PEER_PROBE);
        CHECK(run_peer(&cfg, chaos_action_name(actions[i])) == 0);
        struct chaos_record *r = &col.recs[0];
        struct peer_conn *k = &peer.conns[0];
        CHECK_EQ_INT(col.n, 1);
        CHECK_EQ_INT(peer.nconns, 1);
        CHECK_EQ_INT(r->end, CHAOS_END_FIN);
        CHECK_EQ_INT(r->delivered_tokens, 3);
        CHECK_EQ_INT(r->total_tokens, 3); /* nothing read after t_abort */
        CHECK_EQ_INT(r->arrivals, 3);
        CHECK(r->t_abort_ns > r->t_first_byte_ns);
        CHECK(r->t_end_ns >= r->t_abort_ns);
        CHECK_EQ_INT(k->fin, 1);
        CHECK_EQ_INT(k->rst, 0);
        CHECK(k->ok_after <= 1 && k->fail_at == k->ok_after + 1);
        /* 1, unless a token of the peer's timer left between the FIN's arrival and the
         * peer's read of it, and drew the RST first */
        CHECK_TIMING(k->ok_after == 1);
        if (!is_broken_pipe(k->fail_errno))
            fprintf(stderr, "  second write: %s\n", strerror(k->fail_errno));
        CHECK(is_broken_pipe(k->fail_errno));
    }
}

static void chaos_client_should_reset_with_an_rst_and_no_fin(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_RESET, .trigger = CHAOS_AT_TOKENS, .at = {3, 3}};
    base_config(&cfg, "10", "50", u);
    peer_script(100, 20, PEER_PROBE);
    CHECK(run_peer(&cfg, "raw-rst") == 0);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_RST);
    CHECK_EQ_INT(col.recs[0].delivered_tokens, 3);
    CHECK_EQ_INT(col.recs[0].total_tokens, 3);
    CHECK_EQ_INT(peer.conns[0].rst, 1);
    CHECK_EQ_INT(peer.conns[0].fin, 0);
}

static void chaos_client_should_half_close_and_drain_until_the_peer_closes(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_HALF_CLOSE, .trigger = CHAOS_AT_TOKENS, .at = {3, 3}};
    base_config(&cfg, "10", "50", u);
    peer_script(100, 20, PEER_KEEP_WRITING);
    peer.keep_writes = 5;
    CHECK(run_peer(&cfg, "raw-half") == 0);
    struct chaos_record *r = &col.recs[0];
    struct peer_conn *k = &peer.conns[0];
    CHECK_EQ_INT(r->end, CHAOS_END_FIN);
    CHECK_EQ_INT(r->delivered_tokens, 3);
    CHECK_EQ_INT(r->total_tokens, 3); /* what it drains after the FIN is not delivered */
    CHECK_EQ_INT(k->fin, 1);
    CHECK_EQ_INT(k->rst, 0);
    CHECK_EQ_INT(k->ok_after, 5); /* a half-closed client still reads: every write succeeds */
    CHECK_EQ_INT(k->fail_at, 0);
    CHECK(k->t_closed_ns > 0);
    if (col.t_done_ns < k->t_closed_ns)
        fprintf(stderr, "  done %.1f ms before the peer closed; abort->end %.1f ms\n",
                (double)(k->t_closed_ns - col.t_done_ns) / 1e6,
                (double)(r->t_end_ns - r->t_abort_ns) / 1e6);
    CHECK(col.t_done_ns >= k->t_closed_ns); /* it held the socket until the peer closed */
}

static void chaos_client_should_supersede_with_the_new_request_before_the_old_fin(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_SUPERSEDE, .trigger = CHAOS_AT_TOKENS, .at = {3, 3}};
    base_config(&cfg, "10", "50", u);
    peer_script(30, 10, PEER_PROBE);
    CHECK(run_peer(&cfg, "raw-sup") == 0);
    CHECK_EQ_INT(col.n, 2);
    CHECK_EQ_INT(peer.nconns, 2);
    struct chaos_record *old = col.recs[0].end == CHAOS_END_SUPERSEDED ? &col.recs[0]
                                                                        : &col.recs[1];
    struct chaos_record *fresh = old == &col.recs[0] ? &col.recs[1] : &col.recs[0];
    struct peer_conn *ko = &peer.conns[0], *kn = &peer.conns[1];
    CHECK_EQ_INT(old->end, CHAOS_END_SUPERSEDED);
    CHECK_EQ_INT(old->delivered_tokens, 3);
    CHECK_EQ_INT(old->total_tokens, 3);
    CHECK_EQ_STR(old->superseded_by, fresh->correlation_id);
    CHECK_EQ_INT(fresh->end, CHAOS_END_COMPLETE);
    CHECK_EQ_INT(fresh->total_tokens, 30);
    CHECK(fresh->t_send_ns < old->t_abort_ns);
    /* on the wire: the replacement's request, then the old stream's FIN, then its RST */
    CHECK(kn->seq_request > 0);
    CHECK(kn->seq_request < ko->seq_fin);
    CHECK_EQ_INT(ko->fin, 1);
    CHECK(ko->ok_after <= 1 && ko->fail_at == ko->ok_after + 1);
    /* 1, unless a token of the peer's 10 ms timer left between the FIN's arrival and the
     * peer's read of it, and drew the RST first */
    CHECK_TIMING(ko->ok_after == 1);
}

static void chaos_client_should_be_killed_in_the_background_with_an_rst(void)
{
    struct chaos_config cfg;
    struct chaos_user u = {.action = CHAOS_BACKGROUND, .trigger = CHAOS_AT_TOKENS, .at = {3, 3},
                           .background_ms = 300, .background_kill = 1};
    base_config(&cfg, "10", "50", u);
    peer_script(400, 5, PEER_PROBE);
    CHECK(run_peer(&cfg, "raw-kill") == 0);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_KILLED);
    CHECK_EQ_INT(col.recs[0].delivered_tokens, 3);
    if (peer.conns[0].rst != 1)
        fprintf(stderr, "  peer: fin %d sent %d closed %d after %d fail_at %d (%s)\n",
                peer.conns[0].fin, peer.conns[0].sent, peer.conns[0].closed,
                peer.conns[0].writes_after, peer.conns[0].fail_at,
                strerror(peer.conns[0].fail_errno));
    CHECK_EQ_INT(peer.conns[0].rst, 1);
    CHECK_EQ_INT(peer.conns[0].fin, 0);
}

static void chaos_client_should_tell_a_complete_stream_from_a_truncated_one(void)
{
    struct {
        int done_marker;
        enum chaos_action action; /* a trigger that never comes does not count as acting */
        enum chaos_end end;
        int terminal;
        uint32_t at; /* the trigger: 50 never comes in a 5-token stream */
    } rows[] = {
        {1, CHAOS_COMPLETE, CHAOS_END_COMPLETE, 1, 50},
        {0, CHAOS_COMPLETE, CHAOS_END_TRUNCATED, 0, 50},
        {0, CHAOS_TAB_CLOSE, CHAOS_END_TRUNCATED, 0, 50},
        /* a backgrounded user who came back reads to the end: a cut stream is truncated */
        {0, CHAOS_BACKGROUND, CHAOS_END_TRUNCATED, 0, 2},
        {1, CHAOS_BACKGROUND, CHAOS_END_COMPLETE, 1, 2},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct chaos_config cfg;
        struct chaos_user u = {.action = rows[i].action, .trigger = CHAOS_AT_TOKENS,
                               .at = {rows[i].at, rows[i].at}, .background_ms = 20};
        base_config(&cfg, "10", "50", u);
        peer_script(5, 1, PEER_PROBE);
        peer.done_marker = rows[i].done_marker;
        CHECK(run_peer(&cfg, "raw-end") == 0);
        struct chaos_record *r = &col.recs[0];
        CHECK_EQ_INT(r->end, rows[i].end);
        CHECK_EQ_INT(r->terminal_seen, rows[i].terminal);
        CHECK_EQ_INT(r->http_status, 200);
        CHECK_EQ_INT(r->total_tokens, 5);
        CHECK_EQ_INT(r->t_abort_ns != 0, rows[i].at < 5);
        cJSON *j = chaos_record_json(r);
        const char *end = harness_str(j, "end");
        int seen = cJSON_IsTrue(cJSON_GetObjectItem(j, "terminal_seen"));
        double arrivals = harness_num(j, "arrivals");
        int same = end && strcmp(end, chaos_end_name(rows[i].end)) == 0;
        cJSON_Delete(j);
        CHECK(same);
        CHECK_EQ_INT(seen, rows[i].terminal);
        CHECK_EQ_INT(arrivals, r->arrivals);
    }
    CHECK_EQ_STR(chaos_end_name(CHAOS_END_TRUNCATED), "truncated");
}

static void chaos_client_should_check_a_custom_terminal_marker(void)
{
    struct {
        const char *marker, *tail;
        enum chaos_end end;
        int terminal;
    } rows[] = {
        {"event: end", "event: end\n\n", CHAOS_END_COMPLETE, 1},
        {"event: end", NULL, CHAOS_END_TRUNCATED, 0},
        {NULL, NULL, CHAOS_END_COMPLETE, 1}, /* not checked: ended OK is all we know */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct chaos_config cfg;
        base_config(&cfg, "10", "50", (struct chaos_user){.action = CHAOS_COMPLETE});
        cfg.req.style = CHAOS_STYLE_CUSTOM;
        cfg.req.body_template = "{\"q\":\"{{prompt}}\",\"id\":\"{{id}}\"}";
        cfg.req.terminal_marker = rows[i].marker;
        peer_script(4, 1, PEER_PROBE);
        peer.done_marker = 0;
        peer.tail = rows[i].tail;
        CHECK(run_peer(&cfg, "raw-custom") == 0);
        CHECK_EQ_INT(col.recs[0].end, rows[i].end);
        CHECK_EQ_INT(col.recs[0].terminal_seen, rows[i].terminal);
        CHECK_EQ_INT(col.recs[0].total_tokens, 4);
    }
}

static void chaos_client_should_count_one_arrival_for_a_batched_write(void)
{
    struct chaos_config cfg;
    base_config(&cfg, "10", "50", (struct chaos_user){.action = CHAOS_COMPLETE});
    peer_script(10, 1, PEER_PROBE);
    peer.batch = 1;
    CHECK(run_peer(&cfg, "raw-batch") == 0);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_COMPLETE);
    CHECK_EQ_INT(col.recs[0].total_tokens, 10);
    CHECK_EQ_INT(col.recs[0].arrivals, 1);
    CHECK_EQ_INT(col.recs[0].ntrace, 10);
    CHECK_EQ_INT(col.recs[0].trace_us[0], col.recs[0].trace_us[9]); /* one arrival time */
    /* one token per write, 30 ms apart: many arrivals (a loaded loop may merge a few) */
    base_config(&cfg, "10", "50", (struct chaos_user){.action = CHAOS_COMPLETE});
    peer_script(10, 30, PEER_PROBE);
    CHECK(run_peer(&cfg, "raw-spaced") == 0);
    CHECK_EQ_INT(col.recs[0].total_tokens, 10);
    CHECK(col.recs[0].arrivals > 1 && col.recs[0].arrivals <= 10);
}

static void chaos_client_should_think_between_requests_in_a_slot(void)
{
    struct chaos_config cfg;
    base_config(&cfg, "10", "50", (struct chaos_user){.action = CHAOS_COMPLETE});
    cfg.requests = 3;
    cfg.concurrency = 1;
    cfg.think_ms = (struct chaos_range){150, 150};
    peer_script(3, 1, PEER_PROBE);
    CHECK(run_peer(&cfg, "raw-think") == 0);
    CHECK_EQ_INT(col.n, 3);
    for (size_t i = 1; i < col.n; i++) {
        CHECK_EQ_INT(col.recs[i].index, i);
        CHECK_EQ_INT(col.recs[i].end, CHAOS_END_COMPLETE);
        CHECK(col.recs[i].t_send_ns >= col.recs[i - 1].t_end_ns + 150000000ull);
    }
    /* nothing is left to start after the last request: no think before the done report */
}

struct gatekeeper {
    uint32_t hold_ms[4];    /* request i may start this long after it was first asked about */
    uint32_t asked[4];      /* asks per index */
    uint32_t highest;       /* highest index asked about */
    uint64_t first_ask_ns[4], opened_ns[4];
};

static int may_start_cb(void *arg, uint32_t index)
{
    struct gatekeeper *g = arg;
    if (index >= 4)
        return 0;
    g->asked[index]++;
    g->highest = index > g->highest ? index : g->highest;
    uint64_t t = now_ns();
    if (g->first_ask_ns[index] == 0)
        g->first_ask_ns[index] = t;
    if (t < g->first_ask_ns[index] + (uint64_t)g->hold_ms[index] * 1000000)
        return 0;
    if (g->opened_ns[index] == 0)
        g->opened_ns[index] = t;
    return 1;
}

static void chaos_client_should_start_a_request_only_when_may_start_says_so(void)
{
    struct chaos_config cfg;
    base_config(&cfg, "10", "50", (struct chaos_user){.action = CHAOS_COMPLETE});
    cfg.requests = 2;
    cfg.concurrency = 2; /* the slot is free at once: only may_start holds request 1 back */
    struct gatekeeper g;
    memset(&g, 0, sizeof g);
    g.hold_ms[1] = 100;
    cfg.may_start = may_start_cb;
    cfg.may_start_arg = &g;
    peer_script(3, 1, PEER_PROBE);
    CHECK(run_peer(&cfg, "raw-gate") == 0);
    CHECK_EQ_INT(col.n, 2);
    struct chaos_record *r1 = col.recs[0].index == 1 ? &col.recs[0] : &col.recs[1];
    CHECK_EQ_INT(r1->index, 1);
    CHECK_EQ_INT(g.asked[0], 1);
    CHECK(g.asked[1] >= 2); /* asked again on the timer */
    CHECK_EQ_INT(g.highest, 1);
    CHECK(g.opened_ns[1] >= g.first_ask_ns[1] + 100000000ull);
    CHECK(r1->t_send_ns >= g.opened_ns[1]);
    /* the ask comes before every user request, never for what is not one */
    CHECK(g.first_ask_ns[1] >= g.opened_ns[0]);
}

static void chaos_client_should_wait_for_may_start_before_the_first_request(void)
{
    /* index 0 held too: starting is not an error while may_start says not yet */
    struct chaos_config cfg;
    base_config(&cfg, "10", "50", (struct chaos_user){.action = CHAOS_COMPLETE});
    struct gatekeeper g;
    memset(&g, 0, sizeof g);
    g.hold_ms[0] = 100;
    cfg.may_start = may_start_cb;
    cfg.may_start_arg = &g;
    peer_script(3, 1, PEER_PROBE);
    CHECK(run_peer(&cfg, "raw-gate0") == 0);
    CHECK_EQ_INT(col.n, 1);
    CHECK_EQ_INT(col.recs[0].end, CHAOS_END_COMPLETE);
    CHECK(g.asked[0] >= 2);
    CHECK(g.opened_ns[0] >= g.first_ask_ns[0] + 100000000ull);
    CHECK(col.recs[0].t_send_ns >= g.opened_ns[0]);
}

/* The docs carry the same table as chaos/action.c, row for row. */
static void chaos_action_table_should_be_the_one_in_the_docs(void)
{
    FILE *f = fopen("docs/runner.md", "r");
    CHECK(f != NULL);
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    const struct action_row *row;
    size_t i = 0;
    for (; (row = action_at(i)) != NULL; i++) {
        char line[2048];
        snprintf(line, sizeof line, "| `%s` | %s | %s | %s | %s | %s |", row->name, row->sends,
                 row->when, row->reads_after, row->t_abort, row->h2);
        if (strstr(doc, line) == NULL)
            fprintf(stderr, "  docs/runner.md lacks the row:\n  %s\n", line);
        CHECK(strstr(doc, line) != NULL);
        CHECK(action_row(row->action) == row);
        CHECK_EQ_INT(chaos_action_parse(row->name), row->action);
    }
    CHECK_EQ_INT(i, CHAOS_ACTION_COUNT);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(chaos_client_should_close_with_a_fin_after_k_tokens_in_every_style),
        CASE(chaos_client_should_reset_after_k_tokens),
        CASE(chaos_client_should_fire_at_a_time_and_at_the_first_byte),
        CASE(chaos_client_should_ask_for_one_body_without_streaming),
        CASE(chaos_client_should_leave_a_whole_agent_task_at_once),
        CASE(chaos_client_should_build_gemini_requests),
        CASE(chaos_client_should_build_completions_and_ollama_requests),
        CASE(chaos_client_should_build_bedrock_requests),
        CASE(chaos_client_should_count_bedrock_tokens_through_event_stream_framing),
        CASE(chaos_client_should_read_everything_in_the_control_group),
        CASE(chaos_client_should_background_then_resume_with_every_token_in_order),
        CASE(chaos_client_should_background_then_be_killed),
        CASE(chaos_client_should_retry_after_a_reset_with_one_correlation_id),
        CASE(chaos_client_should_supersede_and_leave_the_old_stream_closed),
        CASE(chaos_client_should_press_stop_and_call_the_cancel_endpoint),
        CASE(chaos_client_should_send_a_custom_template),
        CASE(chaos_client_should_pace_arrivals_at_the_rate),
        CASE(chaos_client_should_record_http_errors),
        CASE(chaos_client_should_blackhole_then_reset_on_a_network_drop),
        CASE(chaos_plan_should_be_reproducible_from_the_seed),
        CASE(chaos_client_should_reject_bad_config_naming_the_field),
        CASE(chaos_client_cli_should_exit_2_on_usage_errors),
        CASE(chaos_client_should_close_like_a_browser_fin_then_rst_on_the_next_write),
        CASE(chaos_client_should_reset_with_an_rst_and_no_fin),
        CASE(chaos_client_should_half_close_and_drain_until_the_peer_closes),
        CASE(chaos_client_should_supersede_with_the_new_request_before_the_old_fin),
        CASE(chaos_client_should_be_killed_in_the_background_with_an_rst),
        CASE(chaos_client_should_tell_a_complete_stream_from_a_truncated_one),
        CASE(chaos_client_should_check_a_custom_terminal_marker),
        CASE(chaos_client_should_count_one_arrival_for_a_batched_write),
        CASE(chaos_client_should_think_between_requests_in_a_slot),
        CASE(chaos_client_should_start_a_request_only_when_may_start_says_so),
        CASE(chaos_client_should_wait_for_may_start_before_the_first_request),
        CASE(chaos_action_table_should_be_the_one_in_the_docs),
    };
    if (harness_start_mock(&mock, NULL) != 0) {
        printf("FAIL chaos_client_should_start_the_mock\n");
        return 1;
    }
    snprintf(mock_url, sizeof mock_url, "http://127.0.0.1:%d", mock.port);
    const char *small_args[] = {"--sndbuf", "16384", NULL};
    if (harness_start_mock(&small_mock, small_args) != 0) {
        printf("FAIL chaos_client_should_start_the_mock\n");
        harness_stop(&mock);
        return 1;
    }
    snprintf(small_url, sizeof small_url, "http://127.0.0.1:%d", small_mock.port);
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    harness_stop(&small_mock);
    harness_stop(&mock);
    return rc;
}
