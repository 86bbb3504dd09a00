/* refgw's upstream leg over HTTP/2 (--upstream-http 2) against an independent peer: Debian's
 * nghttpd (nghttp2-server, scripts/deps.sh h2) over TLS with a throwaway certificate made here,
 * whose -v frame log is what refgw's libcurl put on the wire. The client leg is HTTP/1.1 over
 * raw sockets, so a client leaving is a TCP close. nghttpd serves a file and does not pace it:
 * the long one (about 37 MB of " tok<i>") is far from its end when its client leaves, and since
 * that client reads nothing, refgw has paused the transfer for it by then (the sink's 256 KB
 * mark), which is the removal libcurl 7.88 must not leak (an ASan build fails on exit if it
 * does). The binary is $REFGW_BIN (default build/refgw). */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "check.h"
#include "clock.h"
#include "h2peer.h"
#include "harness.h"

#define LONG_TOKENS 4000000 /* the long file (37 MB, past the 32 MB stream window libcurl
                             * opens): its client leaves near its start, its stream unended */
#define SHORT_TOKENS 2000   /* the short one: read to its end */
/* DATA frames (16 KB each by nghttpd's default) sent on the long stream before its client
 * leaves: 2 MB, well past the 256 KB refgw holds for a client before pausing */
#define SENT_FRAMES 128

static char dir[64];
static char ca_file[128];
static const char *skip_reason; /* set: every case is SKIP with this */

/* ---- the peer -------------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        s[fread(s, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return s;
}


/* How many connections carried a request. */
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

/* The session and stream of the request with this X-Request-Id: 0 when not found. */
static int stream_of(const char *log, const char *rid, int *session)
{
    char tail[128];
    snprintf(tail, sizeof tail, ") x-request-id: %s\n", rid);
    const char *p = log ? strstr(log, tail) : NULL;
    *session = 0;
    if (p == NULL)
        return 0;
    const char *open = p;
    while (open > log && strncmp(open, "(stream_id=", 11) != 0)
        open--;
    *session = h2peer_session_at(log, p);
    return atoi(open + 11);
}

/* DATA frames nghttpd sent on stream 'id' (any session), *ended set when one had END_STREAM. */
static int data_frames(const char *log, int id, int *ended)
{
    char last[64];
    snprintf(last, sizeof last, "flags=0x01, stream_id=%d>", id);
    int n = 0;
    *ended = 0;
    for (const char *line = log; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *d = strstr(line, "send DATA frame");
        if (d != NULL && d < line + len) {
            const char *p = strstr(d, "stream_id=");
            if (p != NULL && p < line + len && atoi(p + 10) == id) {
                n++;
                if (strstr(d, last) != NULL && strstr(d, last) < line + len)
                    *ended = 1;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return n;
}

/* RST_STREAM frames nghttpd received for stream 'id'; *code gets the first one's error code
 * name (such as "STREAM_CLOSED"), "" without one. */
static int resets(const char *log, int id, char *code, size_t codelen)
{
    char head[96];
    snprintf(head, sizeof head, "recv RST_STREAM frame <length=4, flags=0x00, stream_id=%d>", id);
    int n = 0;
    *code = '\0';
    for (const char *p = log; p && (p = strstr(p, head)) != NULL; p += strlen(head)) {
        const char *e = strstr(p, "(error_code=");
        if (n++ == 0 && e != NULL) {
            e += 12;
            size_t k = strcspn(e, "(");
            snprintf(code, codelen, "%.*s", (int)(k < 40 ? k : 40), e);
        }
    }
    return n;
}

/* Polls until nghttpd sent 'frames' DATA frames on the stream of request 'rid'. */
static void wait_sent(const struct h2peer *p, const char *rid, int frames)
{
    for (int i = 0; i < 200; i++) {
        char *log = slurp(p->log);
        int sess, ended;
        int id = stream_of(log, rid, &sess);
        int n = id > 0 ? data_frames(log, id, &ended) : 0;
        free(log);
        if (n >= frames)
            return;
        harness_sleep_ms(50);
    }
}

/* ---- refgw ----------------------------------------------------------------------------------- */

static int start_refgw(struct proc *gw, const char *mode, const struct h2peer *p,
                       const char *extra)
{
    if (harness_proc_init(gw) != 0)
        return -1;
    char port_file[128], log[128], url[64];
    snprintf(port_file, sizeof port_file, "%s/port", gw->dir);
    snprintf(log, sizeof log, "%s/metering.jsonl", gw->dir);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", p->port);
    const char *bin = getenv("REFGW_BIN") ? getenv("REFGW_BIN") : "build/refgw";
    const char *argv[] = {bin,           "--mode",          mode,      "--listen",
                          "127.0.0.1:0", "--port-file",     port_file, "--upstream",
                          url,           "--upstream-http", "2",       "--upstream-ca",
                          ca_file,       "--metering-log",  log,       extra,
                          NULL};
    return harness_start(gw, argv, port_file);
}

/* The metering line of request 'rid' (polled up to 10 s), or NULL. */
static cJSON *metering_line(const struct proc *gw, const char *rid)
{
    char path[128];
    snprintf(path, sizeof path, "%s/metering.jsonl", gw->dir);
    for (int i = 0; i < 200; i++) {
        char *all = slurp(path);
        for (char *line = all ? strtok(all, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            cJSON *o = cJSON_Parse(line);
            const char *r = harness_str(o, "request_id");
            if (r && strcmp(r, rid) == 0) {
                free(all);
                return o;
            }
            cJSON_Delete(o);
        }
        free(all);
        harness_sleep_ms(50);
    }
    return NULL;
}

/* A chunked HTTP/1.1 body decoded in place; its length, or -1 when the framing is broken. */
static long dechunk(char *body)
{
    char *in = body, *out = body;
    for (;;) {
        char *end;
        long n = strtol(in, &end, 16);
        if (end == in || n < 0 || strncmp(end, "\r\n", 2) != 0)
            return -1;
        in = end + 2;
        if (n == 0)
            return out - body;
        if ((long)strlen(in) < n + 2 || strncmp(in + n, "\r\n", 2) != 0)
            return -1;
        memmove(out, in, (size_t)n);
        out += n;
        in += n + 2;
    }
}

/* What one leaving client did to its upstream stream, and what the next request on the
 * connection got. */
struct leave_run {
    int started;
    char *log;           /* the peer's frame log */
    int leave_sess, leave_id, after_sess, after_id;
    int leave_frames, leave_ended; /* DATA frames sent on the left stream, END_STREAM among them */
    int leave_resets;
    int reset_alone; /* the reset reached the peer before the next request was sent */
    char leave_code[48];
    int after_status;
    int after_exact; /* the short file arrived whole and unchanged */
    cJSON *leave_meter, *after_meter;
    int exit_status;
};

static void leave_run_cleanup(struct leave_run *r)
{
    free(r->log);
    cJSON_Delete(r->leave_meter);
    cJSON_Delete(r->after_meter);
}

#define CHAT "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"

/* refgw in 'mode' (plus 'extra', or NULL) before nghttpd: a client asks for the long file,
 * stops reading at once, and leaves with a TCP reset once nghttpd has sent SENT_FRAMES on its stream;
 * once refgw has dealt with that (a reset, or the stream's end for naive), a second client
 * asks for the short file and reads it to its end. */
static int reset_logged(const struct h2peer *p, const char *rid)
{
    char *log = slurp(p->log);
    int sess;
    int id = stream_of(log, rid, &sess);
    char code[48];
    int n = id > 0 ? resets(log, id, code, sizeof code) : 0;
    free(log);
    return n > 0;
}

static void leave_run(const char *mode, const char *extra, const char *tag, struct leave_run *r)
{
    memset(r, 0, sizeof *r);
    struct h2peer p;
    struct proc gw;
    if (h2peer_start(&p, dir, tag) != 0)
        return;
    if (start_refgw(&gw, mode, &p, extra) != 0) {
        free(h2peer_stop(&p));
        return;
    }
    r->started = 1;
    char rid_leave[64], rid_after[64], hdr[128];
    snprintf(rid_leave, sizeof rid_leave, "%s-leave", tag);
    snprintf(rid_after, sizeof rid_after, "%s-after", tag);
    snprintf(hdr, sizeof hdr, "X-Request-Id: %s\r\n", rid_leave);
    int fd = harness_connect(gw.port, 4096);
    if (fd >= 0 && harness_post(fd, "/v1/chat/completions", hdr, CHAT) == 0) {
        char *acc = NULL;
        size_t len = 0;
        harness_read_tokens(fd, 1, 5000, &acc, &len);
        free(acc);
        wait_sent(&p, rid_leave, SENT_FRAMES);
        /* with bytes unread a close is a reset whatever we do: do it on purpose */
        harness_close_rst(fd);
    } else if (fd >= 0) {
        close(fd);
    }
    /* the leaving request's metering line is written once refgw is done with its upstream */
    r->leave_meter = metering_line(&gw, rid_leave);
    /* a cancelling mode's reset must reach the peer by itself, with nothing else asked of that
     * connection by a client (naive sends none: no wait) */
    for (int i = 0; strcmp(mode, "naive") != 0 && i < 200 && !r->reset_alone; i++) {
        r->reset_alone = reset_logged(&p, rid_leave);
        if (!r->reset_alone)
            harness_sleep_ms(25);
    }
    char req[512];
    snprintf(req, sizeof req,
             "POST /v1/short HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "X-Request-Id: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             rid_after, strlen(CHAT), CHAT);
    char *body = NULL;
    r->after_status = harness_raw_http(gw.port, req, &body);
    char want_path[128];
    snprintf(want_path, sizeof want_path, "%s/htdocs/v1/short", dir);
    char *want = slurp(want_path);
    long n = body ? dechunk(body) : -1;
    r->after_exact = want && n == (long)strlen(want) && memcmp(body, want, (size_t)n) == 0;
    free(want);
    free(body);
    r->after_meter = metering_line(&gw, rid_after);
    r->exit_status = harness_stop(&gw);
    r->log = h2peer_stop(&p);
    r->leave_id = stream_of(r->log, rid_leave, &r->leave_sess);
    r->after_id = stream_of(r->log, rid_after, &r->after_sess);
    r->leave_frames = r->leave_id ? data_frames(r->log, r->leave_id, &r->leave_ended) : 0;
    r->leave_resets = r->leave_id ? resets(r->log, r->leave_id, r->leave_code,
                                           sizeof r->leave_code)
                                  : 0;
}

static void print_run(const struct leave_run *r)
{
    char *a = r->leave_meter ? cJSON_PrintUnformatted(r->leave_meter) : NULL;
    char *b = r->after_meter ? cJSON_PrintUnformatted(r->after_meter) : NULL;
    fprintf(stderr,
            "  leave: session %d stream %d, %d DATA frames (ended %d), %d resets (%s, alone %d)\n"
            "  after: session %d stream %d, status %d, exact %d; %d connections\n"
            "  metering: %s\n            %s\n",
            r->leave_sess, r->leave_id, r->leave_frames, r->leave_ended, r->leave_resets,
            r->leave_code, r->reset_alone, r->after_sess, r->after_id, r->after_status, r->after_exact,
            connections(r->log), a ? a : "(none)", b ? b : "(none)");
    free(a);
    free(b);
}

#define SKIP_WITHOUT_PEER()                                                                  \
    do {                                                                                     \
        if (skip_reason) {                                                                   \
            check_skip(skip_reason);                                                         \
            return;                                                                          \
        }                                                                                    \
    } while (0)

/* ---- cases ----------------------------------------------------------------------------------- */

/* What every run shares: the next request rode the same connection and got its file whole,
 * and refgw exited cleanly (under ASan: nothing leaked, the paused removal included). */
static int next_request_shared_the_connection(const struct leave_run *r, int after_id)
{
    return r->leave_sess > 0 && r->after_sess == r->leave_sess && r->leave_id == 1 &&
           r->after_id == after_id &&
           connections(r->log) == 1 && r->after_status == 200 && r->after_exact &&
           r->after_meter && harness_num(r->after_meter, "status") == 200;
}

static int left_with_a_reset(const cJSON *m)
{
    return m && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "client_closed")) &&
           harness_str(m, "client_close") && strcmp(harness_str(m, "client_close"), "rst") == 0;
}

static void check_cancelled(const char *mode, const char *extra, const char *tag)
{
    SKIP_WITHOUT_PEER();
    struct leave_run r;
    leave_run(mode, extra, tag, &r);
    CHECK(r.started);
    /* one reset of the left stream, while it was running (no END_STREAM sent), on its own
     * (refgw's GET of / carries it out: libcurl 7.88 holds a lone RST_STREAM back), and
     * libcurl's code for it: STREAM_CLOSED in 7.x, CANCEL in later versions */
    int reset = r.leave_resets == 1 && r.reset_alone && !r.leave_ended &&
                r.leave_frames >= SENT_FRAMES && strstr(r.log, "recv (stream_id=3) :path: /\n") &&
                (strcmp(r.leave_code, "STREAM_CLOSED") == 0 ||
                 strcmp(r.leave_code, "CANCEL") == 0);
    /* stream 3 was that GET, so the next request is stream 5 */
    int shared = next_request_shared_the_connection(&r, 5);
    int metered = left_with_a_reset(r.leave_meter) &&
                  harness_num(r.leave_meter, "upstream_attempts") == 1;
    if (!reset || !shared || !metered)
        print_run(&r);
    int rc = r.exit_status;
    leave_run_cleanup(&r);
    CHECK(reset);
    CHECK(shared);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
}

static void refgw_fixed_should_reset_the_upstream_stream_and_keep_the_connection_over_h2(void)
{
    check_cancelled("fixed", NULL, "fixed");
}

/* The leak mode cancels on a TCP close just as fixed does: on this leg nothing tells them
 * apart. */
static void refgw_ignore_stream_reset_should_reset_the_upstream_on_a_tcp_close_over_h2(void)
{
    check_cancelled("fixed", "--ignore-stream-reset", "isr");
}

static void refgw_naive_should_read_the_left_stream_to_its_end_over_h2(void)
{
    SKIP_WITHOUT_PEER();
    struct leave_run r;
    leave_run("naive", NULL, "naive", &r);
    CHECK(r.started);
    /* every byte of the long file sent, no reset: the upstream was never told */
    int read_on = r.leave_resets == 0 && r.leave_ended;
    int shared = next_request_shared_the_connection(&r, 3);
    int metered = left_with_a_reset(r.leave_meter);
    if (!read_on || !shared || !metered)
        print_run(&r);
    int rc = r.exit_status;
    leave_run_cleanup(&r);
    CHECK(read_on);
    CHECK(shared);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
}

/* ---- fixtures -------------------------------------------------------------------------------- */

static int have(const char *prog)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

static int write_tokens(const char *name, int n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/htdocs/v1/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    for (int i = 0; i < n; i++)
        fprintf(f, " tok%d", i);
    fputc('\n', f);
    return fclose(f) == 0 ? 0 : -1;
}

static int make_fixtures(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/htdocs", dir);
    if (mkdir(path, 0755) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/htdocs/v1", dir);
    if (mkdir(path, 0755) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/htdocs/v1/chat", dir);
    if (mkdir(path, 0755) != 0)
        return -1;
    if (write_tokens("chat/completions", LONG_TOKENS) != 0 ||
        write_tokens("short", SHORT_TOKENS) != 0)
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
        CASE(refgw_fixed_should_reset_the_upstream_stream_and_keep_the_connection_over_h2),
        CASE(refgw_ignore_stream_reset_should_reset_the_upstream_on_a_tcp_close_over_h2),
        CASE(refgw_naive_should_read_the_left_stream_to_its_end_over_h2),
    };
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/tg-gwh2-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP2))
        skip_reason = "this libcurl has no HTTP/2";
    else if (!have("nghttpd"))
        skip_reason = "no nghttpd (Debian nghttp2-server: scripts/deps.sh h2)";
    else if (!have("openssl"))
        skip_reason = "no openssl for the peer's certificate (scripts/deps.sh h2)";
    else if (make_fixtures() != 0)
        skip_reason = "could not make the peer's files and certificate";
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, getenv("TG_H2_KEEP") ? "true %s" : "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
