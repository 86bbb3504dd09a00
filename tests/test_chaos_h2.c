/* The chaos client over HTTP/2 against an independent peer: Debian's nghttpd (nghttp2-server,
 * scripts/deps.sh h2) with a throwaway certificate made here, whose -v frame log is what the
 * client put on the wire. nghttpd serves a file and does not pace it, so the file is large
 * (about 8 MB of " tok<i>", a million tokens): a user that acts at ACT_AT tokens meets the
 * streams beside it still running. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "chaos/client.h"
#include "check.h"
#include "h2peer.h"

#define TOKENS 1000000
/* tab_close acts at this token, a tenth into its stream: the users start together and nghttpd
 * sends a connection's streams in turn, so the others are running and far from their end */
#define ACT_AT 100000
/* reset acts at its first bytes but starts last (hold_cb), once the others are answered: curl
 * retries a request that got nothing back from a connection that died, on a new one */
#define RESET_AT 5
#define MAX_RECORDS 16

static char dir[64];
static char ca_file[128];
static const char *skip_reason; /* set: every case is SKIP with this */

struct collected {
    struct chaos_record recs[MAX_RECORDS];
    size_t n;
    struct event_base *base;
    int done;
};

static void on_record(void *arg, const struct chaos_record *r)
{
    struct collected *c = arg;
    if (c->n < MAX_RECORDS) {
        c->recs[c->n] = *r;
        c->recs[c->n].trace_us = NULL; /* owned by the client */
        c->recs[c->n].ntrace = 0;
        c->n++;
    }
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

/* Runs the client to its end (bounded: 60 s). Returns 0 when it reported done. */
static int run(struct chaos_config *cfg, struct collected *out)
{
    memset(out, 0, sizeof *out);
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    out->base = event_base_new_with_config(ec);
    event_config_free(ec);
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
    struct timeval tv = {60, 0};
    evtimer_add(deadline, &tv);
    int rc = chaos_client_start(c, err, sizeof err);
    if (rc == 0)
        event_base_dispatch(out->base);
    else
        fprintf(stderr, "  chaos_client_start: %s\n", err);
    chaos_client_free(c);
    event_free(deadline);
    event_base_free(out->base);
    return rc == 0 && out->done ? 0 : -1;
}

/* ---- the peer ------------------------------------------------------------------------------ */

static char *last_log; /* the latest peer log: freed by the next peer_stop, or at the end */

/* Stops the peer; returns its log (kept until the next call; NULL if unreadable). */
static char *peer_stop(struct h2peer *p)
{
    free(last_log);
    last_log = h2peer_stop(p);
    return last_log;
}

static int count(const char *log, const char *needle)
{
    int n = 0;
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Waits (at most 10 s) until the peer has logged 'needle' n times: what it does after the
 * client has gone (a connection's close) comes a moment later. */
static void wait_logged(const struct h2peer *p, const char *needle, int n)
{
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(p->log, "r");
        char line[512];
        int seen = 0;
        while (f && fgets(line, sizeof line, f))
            seen += strstr(line, needle) != NULL;
        if (f)
            fclose(f);
        if (seen >= n)
            return;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
}

/* How many connections carried a request (the readiness probe's carries none). */
static int connections(const char *log)
{
    int seen[64] = {0}, n = 0;
    for (const char *p = log; (p = strstr(p, "recv HEADERS frame")) != NULL; p++) {
        int id = h2peer_session_at(log, p);
        if (id > 0 && id < 64 && !seen[id]++)
            n++;
    }
    return n;
}

/* The session that carried the request with this X-Request-Id, 0 if none. */
static int session_of(const char *log, const char *cid)
{
    char tail[128];
    snprintf(tail, sizeof tail, ") x-request-id: %s\n", cid);
    const char *p = strstr(log, tail);
    return p ? h2peer_session_at(log, p) : 0;
}

/* The stream id nghttpd gave the request with this X-Request-Id on session 'sid'; -1 none. */
static int stream_of(const char *log, int sid, const char *cid)
{
    char tail[128];
    snprintf(tail, sizeof tail, ") x-request-id: %s\n", cid);
    const char *p = strstr(log, tail);
    if (p == NULL)
        return -1;
    const char *open = p;
    while (open > log && strncmp(open, "(stream_id=", 11) != 0)
        open--;
    char head[32];
    snprintf(head, sizeof head, "[id=%d]", sid);
    const char *line = open;
    while (line > log && line[-1] != '\n')
        line--;
    if (strncmp(line, head, strlen(head)) != 0)
        return -1;
    return atoi(open + 11);
}

/* How many times nghttpd sent stream 'id' a DATA frame with END_STREAM (flags=0x01); *first
 * is where the first one is logged. */
static int ended_at(const char *log, int sess, int id, const char **first)
{
    char s[64];
    snprintf(s, sizeof s, "flags=0x01, stream_id=%d>", id);
    int n = 0;
    for (const char *p = log; (p = strstr(p, s)) != NULL; p += strlen(s)) {
        const char *line = p;
        while (line > log && line[-1] != '\n')
            line--;
        const char *d = strstr(line, "send DATA frame");
        if (d != NULL && d < p && h2peer_session_at(log, line) == sess && n++ == 0 && first)
            *first = line;
    }
    return n;
}

static int ended(const char *log, int sess, int id)
{
    return ended_at(log, sess, id, NULL);
}

/* The RST_STREAM frames nghttpd received for stream 'id', with this error code's name. */
static int resets(const char *log, int id, const char *code)
{
    char head[96], want[64];
    snprintf(head, sizeof head, "recv RST_STREAM frame <length=4, flags=0x00, stream_id=%d>", id);
    snprintf(want, sizeof want, "(error_code=%s(", code);
    int n = 0;
    for (const char *p = log; (p = strstr(p, head)) != NULL; p += strlen(head)) {
        const char *next = strchr(p, '\n');
        n += next && strncmp(next + 1 + strspn(next + 1, " "), want, strlen(want)) == 0;
    }
    return n;
}

/* RST_STREAMs for stream 'id' that came while it was open: before its END_STREAM. libcurl 7.88
 * also resets a stream it has read to its Content-Length when the END_STREAM flag is still
 * unread; that one comes after the end, closes nothing, and is not counted. */
static int early_resets(const char *log, int sess, int id)
{
    const char *end = NULL;
    ended_at(log, sess, id, &end);
    char head[96];
    snprintf(head, sizeof head, "recv RST_STREAM frame <length=4, flags=0x00, stream_id=%d>", id);
    int n = 0;
    for (const char *p = log; (p = strstr(p, head)) != NULL; p += strlen(head))
        n += h2peer_session_at(log, p) == sess && (end == NULL || p < end);
    return n;
}

static const struct chaos_record *rec_of(const struct collected *c, const char *cid)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->recs[i].correlation_id, cid) == 0)
            return &c->recs[i];
    return NULL;
}

static void config(struct chaos_config *cfg, const struct h2peer *p, uint32_t users,
                   uint32_t per_conn)
{
    static char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", p->port);
    memset(cfg, 0, sizeof *cfg);
    cfg->req.url = url;
    cfg->req.style = CHAOS_STYLE_CUSTOM;
    cfg->req.method = "GET";
    cfg->req.path = "/big";
    cfg->req.body_template = "{}";
    cfg->req.ca_file = ca_file;
    cfg->http = CHAOS_HTTP_2;
    cfg->users_per_connection = per_conn;
    cfg->requests = users;
    cfg->concurrency = users;
    cfg->timeout_ms = 50000;
}

/* A mix of one acting user and 'users - 1' complete ones: the seed whose plans give exactly
 * that with the acting user last, its index in *acting. */
static void one_acting(struct chaos_config *cfg, enum chaos_action a, uint32_t act_at,
                       uint32_t *acting)
{
    cfg->users[0] = (struct chaos_user){.action = a, .weight = 1, .trigger = CHAOS_AT_TOKENS,
                                        .at = {act_at, act_at}};
    cfg->users[1] = (struct chaos_user){.action = CHAOS_COMPLETE, .weight = 2};
    cfg->nusers = 2;
    for (uint64_t seed = 1; seed < 1000; seed++) {
        cfg->seed = seed;
        int n = 0;
        for (uint32_t i = 0; i < cfg->requests; i++) {
            int64_t at;
            if (chaos_plan(cfg, i, &at) == 0) {
                n++;
                *acting = i;
            }
        }
        if (n == 1 && *acting == cfg->requests - 1)
            return; /* the last to start: requests start in order (hold_cb holds it) */
    }
}

/* may_start: the acting user starts once the peer has answered every other one (its log shows
 * their response HEADERS): curl may send a request's body late while it reads the streams
 * already running, and an action before the others were answered would meet no stream. */
struct hold {
    const struct h2peer *p;
    uint32_t acting, others;
};

static int hold_cb(void *arg, uint32_t index)
{
    struct hold *h = arg;
    if (index != h->acting)
        return 1;
    FILE *f = fopen(h->p->log, "r");
    if (f == NULL)
        return 0;
    char line[512];
    uint32_t n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, "send HEADERS frame") != NULL;
    fclose(f);
    return n >= h->others;
}

#define SKIP_WITHOUT_PEER()                                                                  \
    do {                                                                                     \
        if (skip_reason) {                                                                   \
            check_skip(skip_reason);                                                         \
            return;                                                                          \
        }                                                                                    \
    } while (0)

/* ---- cases --------------------------------------------------------------------------------- */

static struct collected col;

static void chaos_client_should_reset_only_its_stream_on_tab_close_over_h2(void)
{
    SKIP_WITHOUT_PEER();
    struct h2peer p;
    CHECK(h2peer_start(&p, dir, "tab_close") == 0);
    struct chaos_config cfg;
    config(&cfg, &p, 3, 3);
    cfg.id_prefix = "tc";
    uint32_t acting = 0;
    one_acting(&cfg, CHAOS_TAB_CLOSE, ACT_AT, &acting);
    int rc = run(&cfg, &col);
    char *log = peer_stop(&p);
    CHECK(log != NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(col.n, 3);
    /* one connection carried the three users */
    CHECK_EQ_INT(connections(log), 1);
    int conn = session_of(log, "tc-0");
    CHECK_EQ_INT(count(log, "recv HEADERS frame"), 3);
    CHECK_EQ_INT(count(log, "recv GOAWAY frame") <= 1, 1); /* curl's goodbye at the end only */
    for (uint32_t i = 0; i < 3; i++) {
        char cid[32];
        snprintf(cid, sizeof cid, "tc-%u", i);
        int sid = stream_of(log, conn, cid);
        const struct chaos_record *r = rec_of(&col, cid);
        CHECK(sid > 0 && r != NULL);
        if (i == acting) {
            /* CANCEL, as a browser says it */
            CHECK_EQ_INT(resets(log, sid, "CANCEL"), 1);
            CHECK_EQ_INT(early_resets(log, conn, sid), 1);
            CHECK_EQ_INT(ended(log, conn, sid), 0);
            CHECK_EQ_STR(chaos_end_name(r->end), "fin");
            CHECK_EQ_INT(r->delivered_tokens, ACT_AT);
        } else {
            /* the others ran to their end on the same connection */
            const char *end = NULL;
            CHECK_EQ_INT(ended_at(log, conn, sid, &end), 1);
            CHECK(strstr(log, "recv RST_STREAM") < end); /* still running then */
            CHECK_EQ_INT(early_resets(log, conn, sid), 0);
            CHECK_EQ_STR(chaos_end_name(r->end), "complete");
            CHECK_EQ_INT(r->total_tokens, TOKENS);
            CHECK_EQ_INT(r->gaps + r->duplicates + r->reorders, 0);
        }
    }
}

static void chaos_client_should_open_a_second_connection_past_n_users_over_h2(void)
{
    SKIP_WITHOUT_PEER();
    struct h2peer p;
    CHECK(h2peer_start(&p, dir, "share") == 0);
    struct chaos_config cfg;
    config(&cfg, &p, 3, 2); /* N = 2: three users need two connections */
    cfg.id_prefix = "sh";
    cfg.users[0] = (struct chaos_user){.action = CHAOS_COMPLETE, .weight = 1};
    cfg.nusers = 1;
    int rc = run(&cfg, &col);
    char *log = peer_stop(&p);
    CHECK(log != NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(col.n, 3);
    CHECK_EQ_INT(connections(log), 2);
    CHECK_EQ_INT(count(log, "recv HEADERS frame"), 3);
    int first = session_of(log, "sh-0"), on_first = 0;
    for (uint32_t i = 0; i < 3; i++) {
        char cid[32];
        snprintf(cid, sizeof cid, "sh-%u", i);
        on_first += session_of(log, cid) == first;
        int sess = session_of(log, cid), sid = stream_of(log, sess, cid);
        CHECK_EQ_INT(ended(log, sess, sid), 1);
        CHECK_EQ_INT(early_resets(log, sess, sid), 0);
        const struct chaos_record *r = rec_of(&col, cid);
        CHECK(r != NULL);
        CHECK_EQ_STR(chaos_end_name(r->end), "complete");
        CHECK_EQ_INT(r->total_tokens, TOKENS);
    }
    /* two streams on one connection, the third on its own */
    CHECK_EQ_INT(on_first == 2 || on_first == 1, 1);
}

static void chaos_client_should_drop_the_whole_connection_on_reset_over_h2(void)
{
    SKIP_WITHOUT_PEER();
    struct h2peer p;
    CHECK(h2peer_start(&p, dir, "reset") == 0);
    struct chaos_config cfg;
    config(&cfg, &p, 3, 3);
    cfg.id_prefix = "rs";
    uint32_t acting = 0;
    one_acting(&cfg, CHAOS_RESET, RESET_AT, &acting);
    struct hold h = {&p, acting, 2};
    cfg.may_start = hold_cb;
    cfg.may_start_arg = &h;
    int rc = run(&cfg, &col);
    wait_logged(&p, "] closed", 2); /* the probe's connection and this one */
    char *log = peer_stop(&p);
    CHECK(log != NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(col.n, 3);
    CHECK_EQ_INT(connections(log), 1);
    CHECK_EQ_INT(count(log, "recv HEADERS frame"), 3);
    /* a killed browser: no RST_STREAM, no GOAWAY, only the TCP reset, and every stream on the
     * connection ends with it (none got its END_STREAM out) */
    CHECK_EQ_INT(count(log, "recv RST_STREAM frame"), 0);
    CHECK_EQ_INT(count(log, "recv GOAWAY frame"), 0);
    /* (nghttpd may log an END_STREAM it handed to its kernel before the reset came back, so
     * the streams' ends are judged by what the client got) */
    CHECK_EQ_INT(count(log, "] closed"), 2);
    for (uint32_t i = 0; i < 3; i++) {
        char cid[32];
        snprintf(cid, sizeof cid, "rs-%u", i);
        const struct chaos_record *r = rec_of(&col, cid);
        CHECK(r != NULL);
        CHECK(stream_of(log, session_of(log, "rs-0"), cid) > 0);
        if (i == acting) {
            CHECK_EQ_STR(chaos_end_name(r->end), "rst");
            CHECK_EQ_INT(r->delivered_tokens, RESET_AT);
        } else {
            CHECK_EQ_STR(chaos_end_name(r->end), "error");
            CHECK(r->total_tokens < TOKENS);
        }
    }
}

/* background: the stream stops being read (its window fills: the peer can send 6 MiB of its
 * 10 MB), the others run on beside it, and on resume every token comes, in order. */
static void chaos_client_should_pause_only_its_stream_on_background_over_h2(void)
{
    SKIP_WITHOUT_PEER();
    struct h2peer p;
    CHECK(h2peer_start(&p, dir, "background") == 0);
    struct chaos_config cfg;
    config(&cfg, &p, 3, 3);
    cfg.id_prefix = "bg";
    uint32_t acting = 0;
    one_acting(&cfg, CHAOS_BACKGROUND, ACT_AT, &acting);
    cfg.users[0].background_ms = 300;
    int rc = run(&cfg, &col);
    char *log = peer_stop(&p);
    CHECK(log != NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(col.n, 3);
    CHECK_EQ_INT(connections(log), 1);
    int conn = session_of(log, "bg-0");
    for (uint32_t i = 0; i < 3; i++) {
        char cid[32];
        snprintf(cid, sizeof cid, "bg-%u", i);
        int sid = stream_of(log, conn, cid);
        const struct chaos_record *r = rec_of(&col, cid);
        CHECK(sid > 0 && r != NULL);
        CHECK_EQ_INT(ended(log, conn, sid), 1);
        CHECK_EQ_INT(early_resets(log, conn, sid), 0);
        CHECK_EQ_STR(chaos_end_name(r->end), "complete");
        CHECK_EQ_INT(r->total_tokens, TOKENS);
        CHECK_EQ_INT(r->gaps + r->duplicates + r->reorders, 0);
        if (i == acting)
            CHECK_EQ_INT(r->delivered_tokens, ACT_AT); /* when it stopped reading */
    }
}

static void chaos_client_should_name_what_http2_cannot_do(void)
{
    struct chaos_config cfg;
    struct h2peer p = {.port = 1};
    char err[256];
    struct event_base *base = event_base_new();
    config(&cfg, &p, 1, 6);
    cfg.users[0] = (struct chaos_user){.action = CHAOS_HALF_CLOSE, .weight = 1};
    cfg.nusers = 1;
    CHECK(chaos_client_new(base, &cfg, err, sizeof err) == NULL);
    CHECK(strstr(err, "half_close is HTTP/1.1 only") != NULL);
    cfg.users[0].action = CHAOS_COMPLETE;
    cfg.req.url = "http://127.0.0.1:1";
    CHECK(chaos_client_new(base, &cfg, err, sizeof err) == NULL);
    CHECK(strstr(err, "needs an https:// URL") != NULL);
    cfg.http = CHAOS_HTTP_H2C;
    struct chaos_client *c = chaos_client_new(base, &cfg, err, sizeof err);
    CHECK(c != NULL); /* h2c: prior knowledge on an http:// URL */
    chaos_client_free(c);
    cfg.http = CHAOS_HTTP_2;
    cfg.req.url = "https://127.0.0.1:1";
    cfg.req.ca_file = "/nonexistent/ca.pem";
    CHECK(chaos_client_new(base, &cfg, err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/ca.pem: cannot load the CA file") != NULL);
    CHECK_EQ_INT(chaos_http_parse("h2c"), CHAOS_HTTP_H2C);
    CHECK_EQ_INT(chaos_http_parse("2"), CHAOS_HTTP_2);
    CHECK_EQ_INT(chaos_http_parse("1.1"), CHAOS_HTTP_1_1);
    CHECK_EQ_INT(chaos_http_parse("http2"), -1);
    event_base_free(base);
}

/* ---- setup --------------------------------------------------------------------------------- */

static int have(const char *prog)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

static int make_fixtures(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/htdocs", dir);
    if (mkdir(path, 0755) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/htdocs/big", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    for (int i = 0; i < TOKENS; i++)
        fprintf(f, " tok%d", i);
    fputc('\n', f);
    if (fclose(f) != 0)
        return -1;
    /* a throwaway self-signed certificate for 127.0.0.1, for this peer only */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem "
             ">/dev/null 2>&1",
             dir, dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(ca_file, sizeof ca_file, "%s/cert.pem", dir);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(chaos_client_should_reset_only_its_stream_on_tab_close_over_h2),
        CASE(chaos_client_should_open_a_second_connection_past_n_users_over_h2),
        CASE(chaos_client_should_drop_the_whole_connection_on_reset_over_h2),
        CASE(chaos_client_should_pause_only_its_stream_on_background_over_h2),
        CASE(chaos_client_should_name_what_http2_cannot_do),
    };
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/tg-h2-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP2))
        skip_reason = "this libcurl has no HTTP/2";
    else if (!have("nghttpd"))
        skip_reason = "no nghttpd (Debian nghttp2-server: scripts/deps.sh h2)";
    else if (!have("openssl"))
        skip_reason = "no openssl for the peer's certificate (scripts/deps.sh h2)";
    else if (make_fixtures() != 0)
        skip_reason = "could not make the peer's file and certificate";
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    free(last_log);
    char cmd[128];
    snprintf(cmd, sizeof cmd, getenv("TG_H2_KEEP") ? "true %s" : "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
