/* The chaos client against a real mockprov over loopback: every user action, exact delivered
 * counts, and what the provider saw (FIN, RST, attempts) from its ledger. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <event2/event.h>

#include "chaos/client.h"
#include "chaos/proxy.h"
#include "check.h"
#include "harness.h"

#define MAX_RECORDS 64

static struct proc mock;
static char mock_url[64];
static struct proc small_mock; /* --sndbuf 16384: backpressure shows after a few KB */
static char small_url[64];

struct collected {
    struct chaos_record recs[MAX_RECORDS];
    size_t n;
    struct event_base *base;
    int done;
    /* optional probe run while the client runs */
    void (*probe)(void *arg);
    void *probe_arg;
    uint32_t probe_ms;
};

static void on_record(void *arg, const struct chaos_record *r)
{
    struct collected *c = arg;
    if (c->n < MAX_RECORDS)
        c->recs[c->n++] = *r;
}

static void on_done(void *arg)
{
    struct collected *c = arg;
    c->done = 1;
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
    static const enum chaos_style styles[] = {CHAOS_STYLE_OPENAI_CHAT, CHAOS_STYLE_RESPONSES,
                                              CHAOS_STYLE_ANTHROPIC};
    for (size_t i = 0; i < 3; i++) {
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
        int ok = strcmp(str(r, "close_kind"), "fin") == 0 && harness_num(r, "written_tokens") == 3;
        const char *src = str(r, "id_source");
        int header = strcmp(src, "header") == 0;
        cJSON_Delete(r);
        CHECK(ok);
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
    /* while the reader stalled, generation ran ahead of what could be written */
    CHECK_EQ_INT(p.generated, 400);
    CHECK(p.written >= 5 && p.written < 300);
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
    CHECK(span_ms >= 440 && span_ms < 520);
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
    CHECK(held_ms >= 790 && held_ms < 1200);
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

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(chaos_client_should_close_with_a_fin_after_k_tokens_in_every_style),
        CASE(chaos_client_should_reset_after_k_tokens),
        CASE(chaos_client_should_fire_at_a_time_and_at_the_first_byte),
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
