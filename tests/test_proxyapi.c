/* The Toxiproxy-compatible API over HTTP (libcurl against an in-process server on a helper
 * thread): status codes and exact bodies, Toxiproxy's error bodies for bad input, and every
 * truncation of a toxic body; then `tailgate chaos proxy` as a process: usage errors exit 2
 * naming the flag, and a clean run. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "check.h"
#include "clock.h"
#include "harness.h"
#include "proxyapi.h"

struct fix {
    struct event_base *base;
    struct proxyapi *api;
    int port;
    int stop[2];
    struct event *stop_ev;
    pthread_t thr;
    int started;
};

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void *loop_main(void *arg)
{
    struct fix *f = arg;
    event_base_loop(f->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int fix_start_admin(struct fix *f, const char *token, const char *const *hosts, size_t n);

static int fix_start(struct fix *f)
{
    return fix_start_admin(f, NULL, NULL, 0);
}

/* With proxyapi_set_admin(token, hosts) before the loop runs. */
static int fix_start_admin(struct fix *f, const char *token, const char *const *hosts, size_t n)
{
    memset(f, 0, sizeof *f);
    f->stop[0] = f->stop[1] = -1;
    char err[256];
    f->base = event_base_new();
    if (f->base == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, f->stop) != 0)
        return -1;
    f->api = proxyapi_new(f->base, "127.0.0.1:0", 1, err, sizeof err);
    if (f->api == NULL) {
        fprintf(stderr, "  proxyapi_new: %s\n", err);
        return -1;
    }
    f->port = proxyapi_port(f->api);
    if (proxyapi_set_admin(f->api, token, hosts, n, err, sizeof err) != 0) {
        fprintf(stderr, "  proxyapi_set_admin: %s\n", err);
        return -1;
    }
    f->stop_ev = event_new(f->base, f->stop[1], EV_READ, stop_cb, f->base);
    if (f->stop_ev == NULL || event_add(f->stop_ev, NULL) != 0)
        return -1;
    if (pthread_create(&f->thr, NULL, loop_main, f) != 0)
        return -1;
    f->started = 1;
    return 0;
}

static void fix_stop(struct fix *f)
{
    if (f->started) {
        if (write(f->stop[0], "x", 1) != 1)
            fprintf(stderr, "  test: cannot stop the loop\n");
        pthread_join(f->thr, NULL);
    }
    proxyapi_free(f->api);
    if (f->stop_ev)
        event_free(f->stop_ev);
    for (int i = 0; i < 2; i++)
        if (f->stop[i] >= 0)
            close(f->stop[i]);
    if (f->base)
        event_base_free(f->base);
}

/* ---- the API, step by step ----------------------------------------------------------------- */

/* A step; "{P1}" in the path, body or expected body is the first proxy's port. An expected body
 * ending in '*' is a prefix. */
struct step {
    const char *method, *path, *body;
    int status;
    const char *expect;
};

#define ERR(msg, code) "{\"error\":\"" msg "\",\"status\":" #code "}\n"

static const struct step STEPS[] = {
    {"GET", "/version", NULL, 200, "{\"version\": \"" PROXYAPI_VERSION "\"}\n"},
    {"GET", "/proxies", NULL, 200, "{}"},
    {"POST", "/proxies",
     "{\"name\":\"p1\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:1\"}", 201,
     "{\"name\":\"p1\",\"listen\":\"127.0.0.1:{P1}\",\"upstream\":\"127.0.0.1:1\","
     "\"enabled\":true,\"toxics\":[]}"},
    {"POST", "/proxies", "{\"name\":\"p1\",\"upstream\":\"127.0.0.1:1\"}", 409,
     ERR("proxy already exists", 409)},
    {"POST", "/proxies", "{\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:1\"}", 400,
     ERR("missing required field: name", 400)},
    {"POST", "/proxies", "{\"name\":\"x\"}", 400, ERR("missing required field: upstream", 400)},
    {"POST", "/proxies", "{\"name\":", 400,
     "{\"error\":\"bad request body: invalid JSON at byte *"},
    {"POST", "/proxies", "", 400, ERR("bad request body: empty (expected JSON)", 400)},
    {"POST", "/proxies", "[]", 400,
     ERR("bad request body: expected a JSON object, got an array", 400)},
    {"POST", "/proxies", "{\"name\":\"x\",\"upstream\":\"127.0.0.1:1\",\"enabled\":\"yes\"}", 400,
     ERR("bad request body: enabled: expected true or false, got a string", 400)},
    {"POST", "/proxies", "{\"name\":\"x\",\"upstream\":\"127.0.0.1:1\",\"listn\":\"a:1\"}", 400,
     ERR("bad request body: listn: unknown field (expected name, listen, upstream, enabled)",
         400)},
    {"POST", "/proxies", "{\"name\":\"x\",\"upstream\":\"nohost\"}", 400,
     ERR("bad request body: upstream: 'nohost' is not host:port", 400)},
    {"POST", "/proxies", "{\"name\":\"a/b\",\"upstream\":\"127.0.0.1:1\"}", 400,
     "{\"error\":\"bad request body: name: 'a/b' has*"},
    {"POST", "/proxies",
     "{\"name\":\"x\",\"upstream\":\"127.0.0.1:1\",\"listen\":\"127.0.0.1:{P1}\"}", 500,
     ERR("listen tcp 127.0.0.1:{P1}: bind: Address already in use", 500)},
    {"GET", "/proxies/nope", NULL, 404, ERR("proxy not found", 404)},
    {"GET", "/proxies/nope/toxics", NULL, 404, ERR("proxy not found", 404)},
    {"POST", "/proxies/p1/toxics", "{\"type\":\"latncy\"}", 400,
     ERR("invalid toxic type: type: 'latncy' is not one of latency, bandwidth, slicer, "
         "limit_data, reset_peer, timeout, slow_close, blackhole, stall",
         400)},
    {"POST", "/proxies/p1/toxics", "{\"type\":\"latency\",\"stream\":\"sideways\"}", 400,
     ERR("stream was invalid, can be either upstream or downstream: stream: 'sideways' is "
         "neither upstream nor downstream",
         400)},
    {"POST", "/proxies/p1/toxics", "{\"type\":\"latency\",\"attributes\":{\"latency\":-1}}", 400,
     ERR("bad request body: attributes.latency: expected an integer 0..3600000 (ms), got -1",
         400)},
    {"POST", "/proxies/p1/toxics", "{\"type\":\"latency\",\"attributes\":{\"lag\":1}}", 400,
     ERR("bad request body: attributes.lag: unknown attribute of latency (expected latency, "
         "jitter)",
         400)},
    {"POST", "/proxies/p1/toxics", "{\"type\":\"latency\",\"toxicity\":7}", 400,
     ERR("bad request body: toxicity: expected a number from 0 to 1, got 7", 400)},
    {"POST", "/proxies/p1/toxics", "{\"type\":\"latency\",\"attributes\":{\"latency\":100}}", 200,
     "{\"attributes\":{\"latency\":100,\"jitter\":0},\"name\":\"latency_downstream\",\"type\":"
     "\"latency\",\"stream\":\"downstream\",\"toxicity\":1}"},
    {"POST", "/proxies/p1/toxics", "{\"type\":\"latency\"}", 409,
     ERR("toxic already exists", 409)},
    {"POST", "/proxies/p1/toxics",
     "{\"type\":\"bandwidth\",\"stream\":\"upstream\",\"attributes\":{\"rate\":5}}", 200,
     "{\"attributes\":{\"rate\":5},\"name\":\"bandwidth_upstream\"*"},
    /* Toxiproxy's order: the upstream chain first */
    {"GET", "/proxies/p1/toxics", NULL, 200,
     "[{\"attributes\":{\"rate\":5},\"name\":\"bandwidth_upstream\",\"type\":\"bandwidth\","
     "\"stream\":\"upstream\",\"toxicity\":1},{\"attributes\":{\"latency\":100,\"jitter\":0},"
     "\"name\":\"latency_downstream\",\"type\":\"latency\",\"stream\":\"downstream\","
     "\"toxicity\":1}]"},
    {"GET", "/proxies/p1/toxics/latency_downstream", NULL, 200,
     "{\"attributes\":{\"latency\":100,\"jitter\":0},\"name\":\"latency_downstream\"*"},
    {"POST", "/proxies/p1/toxics/latency_downstream", "{\"attributes\":{\"jitter\":5}}", 200,
     "{\"attributes\":{\"latency\":100,\"jitter\":5},*"},
    {"PATCH", "/proxies/p1/toxics/latency_downstream", "{\"toxicity\":0.5}", 200,
     "{\"attributes\":{\"latency\":100,\"jitter\":5},\"name\":\"latency_downstream\",\"type\":"
     "\"latency\",\"stream\":\"downstream\",\"toxicity\":0.5}"},
    {"POST", "/proxies/p1/toxics/latency_downstream", "{\"attributes\":{\"jitter\":-5}}", 400,
     ERR("bad request body: attributes.jitter: expected an integer 0..3600000 (ms), got -5",
         400)},
    {"POST", "/proxies/p1/toxics/latency_downstream", "{\"type\":\"timeout\"}", 400,
     ERR("bad request body: type: cannot change from 'latency' (delete the toxic and add a new "
         "one)",
         400)},
    {"GET", "/proxies/p1/toxics/nope", NULL, 404, ERR("toxic not found", 404)},
    {"POST", "/proxies/p1/toxics/nope", "{}", 404, ERR("toxic not found", 404)},
    {"DELETE", "/proxies/p1/toxics/latency_downstream", NULL, 204, ""},
    {"DELETE", "/proxies/p1/toxics/latency_downstream", NULL, 404, ERR("toxic not found", 404)},
    {"POST", "/proxies/p1", "{\"enabled\":false}", 200,
     "{\"name\":\"p1\",\"listen\":\"127.0.0.1:{P1}\",\"upstream\":\"127.0.0.1:1\","
     "\"enabled\":false,*"},
    {"PATCH", "/proxies/p1", "{\"enabled\":true}", 200,
     "{\"name\":\"p1\",\"listen\":\"127.0.0.1:{P1}\",\"upstream\":\"127.0.0.1:1\","
     "\"enabled\":true,*"},
    {"POST", "/proxies/p1", "{\"enabled\":1}", 400,
     ERR("bad request body: enabled: expected true or false, got a number", 400)},
    {"POST", "/proxies/p1", "{\"upstream\":\"nohost:x\"}", 400,
     ERR("bad request body: upstream: port 'x' is not 1..65535", 400)},
    {"POST", "/proxies/p1/drop", "{\"client_port\":1}", 404,
     ERR("connection not found: no client on port 1", 404)},
    {"POST", "/proxies/p1/drop", "{\"client_port\":\"x\"}", 400,
     ERR("bad request body: client_port: expected an integer 1..65535", 400)},
    {"POST", "/proxies/p1/drop", "{\"client_port\":5,\"rst_after_ms\":-1}", 400,
     ERR("bad request body: rst_after_ms: expected an integer 0..3600000", 400)},
    {"POST", "/proxies/p1/drop", "{\"port\":5}", 400,
     ERR("bad request body: port: unknown field (expected client_port, rst_after_ms)", 400)},
    {"POST", "/proxies/p1/drop", "[{\"client_port\":1}]", 400,
     ERR("bad request body: expected a JSON object, got an array", 400)},
    {"GET", "/proxies/p1/connections", NULL, 200, "[]"},
    {"POST", "/reset", NULL, 204, ""},
    {"GET", "/proxies/p1/toxics", NULL, 200, "[]"},
    {"POST", "/populate", "[{\"name\":\"p2\",\"upstream\":\"127.0.0.1:2\"}]", 201,
     "{\"proxies\":[{\"name\":\"p2\",\"listen\":\"127.0.0.1:*"},
    {"POST", "/populate", "{}", 400,
     "{\"error\":\"bad request body: expected an array of proxies, got an object\","
     "\"status\":400,\"proxies\":[]}"},
    {"POST", "/populate", "[{\"name\":\"p3\"}]", 400,
     "{\"error\":\"missing required field: upstream at proxy 1\",\"status\":400,"
     "\"proxies\":[]}"},
    {"POST", "/populate", "[{\"name\":\"p3\",\"upstream\":\"127.0.0.1:3\"},{\"name\":\"p3\","
                          "\"upstream\":\"127.0.0.1:3\"}]",
     400, "{\"error\":\"duplicate proxy name \\\"p3\\\"\",\"status\":400,\"proxies\":[]}"},
    {"PUT", "/proxies", "{}", 405, ERR("method not allowed", 405)},
    {"DELETE", "/version", NULL, 405, ERR("method not allowed", 405)},
    {"GET", "/nope", NULL, 404, ERR("not found", 404)},
    {"GET", "/proxies/p1/toxics/a/b", NULL, 404, ERR("not found", 404)},
    {"DELETE", "/proxies/p2", NULL, 204, ""},
    {"DELETE", "/proxies/p1", NULL, 204, ""},
    {"GET", "/proxies/p1", NULL, 404, ERR("proxy not found", 404)},
    {"GET", "/proxies", NULL, 200, "{}"},
};

/* Replaces every "{P1}" with the port. Caller frees. */
static char *fill(const char *s, int port)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *out = malloc(n + 64);
    char num[16];
    snprintf(num, sizeof num, "%d", port);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (strncmp(s + i, "{P1}", 4) == 0 && port > 0) {
            memcpy(out + o, num, strlen(num));
            o += strlen(num);
            i += 4;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return out;
}

static int matches(const char *got, const char *want)
{
    size_t wl = strlen(want);
    if (wl > 0 && want[wl - 1] == '*')
        return strncmp(got, want, wl - 1) == 0;
    return strcmp(got, want) == 0;
}

static void steps(struct fix *f)
{
    int p1 = 0;
    for (size_t i = 0; i < sizeof STEPS / sizeof STEPS[0]; i++) {
        const struct step *s = &STEPS[i];
        char *path = fill(s->path, p1), *body = fill(s->body, p1), *want = fill(s->expect, p1);
        char *got = NULL;
        int st = harness_http(f->port, s->method, path, NULL, body, &got, NULL);
        if (p1 == 0 && st == 201 && strcmp(s->path, "/proxies") == 0) {
            /* learn p1's port from its creation */
            cJSON *j = cJSON_Parse(got);
            const char *listen = harness_str(j, "listen");
            p1 = listen && strrchr(listen, ':') ? atoi(strrchr(listen, ':') + 1) : 0;
            cJSON_Delete(j);
            free(want);
            want = fill(s->expect, p1);
        }
        int ok = st == s->status && got && matches(got, want);
        if (!ok)
            fprintf(stderr, "  step %zu %s %s: %d %s\n    want %d %s\n", i, s->method, path, st,
                    got ? got : "(null)", s->status, want);
        free(path);
        free(body);
        free(want);
        free(got);
        CHECK(ok);
    }
}

static void proxyapi_should_answer_like_toxiproxy(void)
{
    struct fix f;
    if (fix_start(&f) == 0)
        steps(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

static void truncations(struct fix *f)
{
    static const char full[] =
        "{\"name\":\"t\",\"type\":\"latency\",\"stream\":\"upstream\",\"toxicity\":0.5,"
        "\"attributes\":{\"latency\":100,\"jitter\":10}}";
    char *got = NULL;
    CHECK_EQ_INT(harness_http(f->port, "POST", "/proxies", NULL,
                              "{\"name\":\"p\",\"upstream\":\"127.0.0.1:1\"}", &got, NULL),
                 201);
    free(got);
    char part[sizeof full];
    for (size_t n = 1; n < sizeof full - 1; n++) {
        memcpy(part, full, n);
        part[n] = '\0';
        got = NULL;
        int st = harness_http(f->port, "POST", "/proxies/p/toxics", NULL, part, &got, NULL);
        cJSON *j = got ? cJSON_Parse(got) : NULL;
        int shaped = j && harness_num(j, "status") == 400 &&
                     strncmp(harness_str(j, "error") ? harness_str(j, "error") : "",
                             "bad request body: invalid JSON at byte ", 39) == 0;
        if (st != 400 || !shaped)
            fprintf(stderr, "  prefix %zu: %d %s\n", n, st, got ? got : "(null)");
        cJSON_Delete(j);
        free(got);
        CHECK_EQ_INT(st, 400);
        CHECK(shaped);
    }
    got = NULL;
    CHECK_EQ_INT(harness_http(f->port, "POST", "/proxies/p/toxics", NULL, full, &got, NULL), 200);
    free(got);
}

static void proxyapi_should_reject_every_truncation_of_a_toxic(void)
{
    struct fix f;
    if (fix_start(&f) == 0)
        truncations(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

/* A POST of exactly 'len' body bytes (NUL included); the status, and the body into *out. */
static int raw_post(int port, const char *path, const char *body, size_t len, char **out)
{
    *out = NULL;
    int fd = harness_connect(port, 0);
    if (fd < 0)
        return -1;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     path, len);
    char *acc = NULL;
    size_t acc_len = 0;
    int status = -1;
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n &&
        send(fd, body, len, MSG_NOSIGNAL) == (ssize_t)len)
        harness_read_all(fd, 10000, &acc, &acc_len);
    close(fd);
    const char *sep = acc ? strstr(acc, "\r\n\r\n") : NULL;
    if (sep && sscanf(acc, "HTTP/1.1 %d", &status) == 1)
        *out = strdup(sep + 4);
    free(acc);
    return status;
}

#define RAW(lit) lit, sizeof lit - 1 /* a literal with its length: NUL bytes count */
#define BAD_JSON(at) "bad request body: invalid JSON at byte " at

static void proxyapi_should_reject_a_body_that_is_not_exactly_one_json_value(void)
{
    static const struct {
        const char *body;
        size_t len;
        const char *expect;
    } rows[] = {
        {RAW("{\"name\":\"p\",\"upstream\":\"127.0.0.1:1\"} x"),
         ERR(BAD_JSON("38 (line 1, column 39): unexpected text after the JSON value near 'x'"),
             400)},
        {RAW("{\"name\":\"p\",\"upstream\":\"127.0.0.1:1\"}{}"),
         ERR(BAD_JSON("37 (line 1, column 38): unexpected text after the JSON value near '{}'"),
             400)},
        {RAW("{\"name\":\"p\",\"upstream\":\"127.0.0.1:1\"}\0"),
         ERR(BAD_JSON("37 (line 1, column 38): NUL byte after the JSON value near '\\\\x00'"),
             400)},
        {RAW("{\"name\":\"p\xff\",\"upstream\":\"127.0.0.1:1\"}"),
         ERR(BAD_JSON("10 (line 1, column 11): invalid UTF-8 in a string (byte that never "
                      "appears in UTF-8) near '\\\\xff\\\",\\\"upstream\\\":\\\"127.0.0.1'"),
             400)},
        {RAW("{\"name\":\"\\ud800\",\"upstream\":\"127.0.0.1:1\"}"),
         ERR(BAD_JSON("9 (line 1, column 10): lone UTF-16 high surrogate \\\\ud800 in a string "
                      "(a \\\\udc00-\\\\udfff must follow) near '\\\\ud800\\\",\\\"upstream\\\":"
                      "\\\"127.'"),
             400)},
        {RAW("{\"name\":"), ERR(BAD_JSON("8 (line 1, column 9): expected a JSON value at end of "
                                         "input"),
                                400)},
    };
    struct fix f;
    if (fix_start(&f) != 0) {
        check_failed = 1;
        fix_stop(&f);
        return;
    }
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *got = NULL;
        int st = raw_post(f.port, "/proxies", rows[i].body, rows[i].len, &got);
        int ok = st == 400 && got && strcmp(got, rows[i].expect) == 0;
        if (!ok)
            fprintf(stderr, "  row %zu: %d %s    want %s", i, st, got ? got : "(null)\n",
                    rows[i].expect);
        free(got);
        if (!ok) {
            check_failed = 1;
            break;
        }
    }
    fix_stop(&f);
}

static void limits(struct fix *f)
{
    static const char *const browser[] = {"User-Agent: Mozilla/5.0", NULL};
    char *got = NULL;
    CHECK_EQ_INT(harness_http(f->port, "GET", "/proxies", browser, NULL, &got, NULL), 403);
    CHECK_EQ_STR(got, ERR("User agent not allowed", 403));
    free(got);
    size_t n = PROXYAPI_MAX_BODY + 10;
    char *big = malloc(n + 1);
    CHECK(big != NULL);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    got = NULL;
    int st = harness_http(f->port, "POST", "/proxies", NULL, big, &got, NULL);
    free(big);
    int ok = st == 413 && got && strcmp(got, ERR("bad request body: larger than 65536 bytes",
                                                 413)) == 0;
    free(got);
    CHECK(ok);
    /* PROXYAPI_MAX_PROXIES, then a clear error */
    for (int i = 0; i < PROXYAPI_MAX_PROXIES; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"name\":\"p%d\",\"upstream\":\"127.0.0.1:1\"}", i);
        got = NULL;
        st = harness_http(f->port, "POST", "/proxies", NULL, body, &got, NULL);
        free(got);
        CHECK_EQ_INT(st, 201);
    }
    got = NULL;
    st = harness_http(f->port, "POST", "/proxies", NULL,
                      "{\"name\":\"one_more\",\"upstream\":\"127.0.0.1:1\"}", &got, NULL);
    ok = st == 400 && got && strcmp(got, ERR("bad request body: proxies: at most 64", 400)) == 0;
    free(got);
    CHECK(ok);
}

static void proxyapi_should_refuse_browsers_and_bound_its_input(void)
{
    struct fix f;
    if (fix_start(&f) == 0)
        limits(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

/* ---- web pages: DNS rebinding and cross-site requests ------------------------------------- */

#define FOREIGN_HOST(h)                                                                        \
    ERR("admin API: refused Host '" h "': not a loopback name or address (see --admin-host)", 403)
#define FOREIGN_ORIGIN(o)                                                                      \
    ERR("admin API: refused a cross-site request: Origin '" o "' is not a loopback origin (see " \
        "--admin-host)",                                                                       \
        403)
#define NOT_JSON(m, got)                                                                       \
    ERR("admin API: refused " m " without Content-Type application/json (got " got ")", 403)
#define NEEDS_TOKEN ERR("admin API: needs 'Authorization: Bearer <token>'", 401)
#define TOKEN "Authorization: Bearer s3cret\r\n"
#define CREATE_P "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:1\"}"

/* One raw request; 'head' is the header lines after the request line (each ending in CRLF).
 * Returns the status; *out gets the body (NULL: not wanted). */
static int api_raw(int port, const char *method, const char *path, const char *head,
                   const char *body, char **out)
{
    char req[2048];
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             method, path, head, body ? strlen(body) : 0, body ? body : "");
    return harness_raw_http(port, req, out);
}

/* One raw exchange as a table row: a status and the exact body (a prefix when it ends in '*'). */
struct raw_step {
    const char *method, *path, *head, *body;
    int status;
    const char *expect;
};

static void raw_steps(int port, const struct raw_step *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *got = NULL;
        int st = api_raw(port, rows[i].method, rows[i].path, rows[i].head, rows[i].body, &got);
        int ok = st == rows[i].status && got && matches(got, rows[i].expect);
        if (!ok)
            fprintf(stderr, "  row %zu %s %s: %d %s\n    want %d %s\n", i, rows[i].method,
                    rows[i].path, st, got ? got : "(null)", rows[i].status, rows[i].expect);
        free(got);
        CHECK(ok);
    }
}

static const struct raw_step WEB_PAGES[] = {
    /* a page whose name resolves to 127.0.0.1 (DNS rebinding) reads nothing */
    {"GET", "/proxies", "Host: evil.example\r\n", NULL, 403, FOREIGN_HOST("evil.example")},
    {"GET", "/version", "Host: evil.example:8474\r\n", NULL, 403,
     FOREIGN_HOST("evil.example:8474")},
    /* a cross-site form or no-cors fetch creates nothing, with or without its Origin */
    {"POST", "/proxies", "Host: 127.0.0.1\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\n",
     CREATE_P, 403, FOREIGN_ORIGIN("http://evil.example")},
    {"POST", "/proxies", "Host: 127.0.0.1\r\nContent-Type: text/plain\r\n", CREATE_P, 403,
     NOT_JSON("POST", "'text/plain'")},
    {"POST", "/reset", "Host: 127.0.0.1\r\nOrigin: http://evil.example\r\n", NULL, 403,
     FOREIGN_ORIGIN("http://evil.example")},
    {"DELETE", "/proxies/p", "Host: 127.0.0.1\r\nOrigin: null\r\n", NULL, 403,
     FOREIGN_ORIGIN("null")},
    {"GET", "/proxies", "Host: 127.0.0.1\r\n", NULL, 200, "{}"},
    /* what the Toxiproxy clients send passes: loopback Host with its port, JSON bodies, and
     * body-less POST /reset and DELETE */
    {"POST", "/proxies", "Host: localhost:8474\r\nContent-Type: application/json\r\n", CREATE_P,
     201, "{\"name\":\"p\",\"listen\":\"127.0.0.1:*"},
    {"GET", "/version", "Host: [::1]:8474\r\n", NULL, 200,
     "{\"version\": \"" PROXYAPI_VERSION "\"}\n"},
    {"POST", "/reset", "Host: 127.0.0.1:8474\r\n", NULL, 204, ""},
    {"DELETE", "/proxies/p", "Host: 127.0.0.1:8474\r\n", NULL, 204, ""},
    {"DELETE", "/proxies/p", "Host: 127.0.0.1:8474\r\n", NULL, 404, ERR("proxy not found", 404)},
};

static void web_pages(struct fix *f)
{
    raw_steps(f->port, WEB_PAGES, sizeof WEB_PAGES / sizeof WEB_PAGES[0]);
    /* an HTTP/1.0 client from loopback may leave Host out */
    CHECK_EQ_INT(harness_raw_http(f->port, "GET /version HTTP/1.0\r\n\r\n", NULL), 200);
}

static void proxyapi_should_refuse_what_a_web_page_sends(void)
{
    struct fix f;
    if (fix_start(&f) == 0)
        web_pages(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

static const struct raw_step GUARDED[] = {
    {"GET", "/version", "Host: example.test\r\n" TOKEN, NULL, 200,
     "{\"version\": \"" PROXYAPI_VERSION "\"}\n"},
    {"GET", "/version", "Host: EXAMPLE.TEST:8474\r\n" TOKEN, NULL, 200,
     "{\"version\": \"" PROXYAPI_VERSION "\"}\n"},
    {"GET", "/version", "Host: example.test\r\n", NULL, 401, NEEDS_TOKEN},
    {"GET", "/version", "Host: example.test\r\nAuthorization: Bearer s3cre\r\n", NULL, 401,
     NEEDS_TOKEN},
    {"GET", "/version", "Host: 127.0.0.1\r\n", NULL, 401, NEEDS_TOKEN},
    /* a valid token does not let a web page in */
    {"GET", "/proxies", "Host: evil.example\r\n" TOKEN, NULL, 403, FOREIGN_HOST("evil.example")},
    {"POST", "/proxies",
     "Host: example.test\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\n" TOKEN,
     CREATE_P, 403, FOREIGN_ORIGIN("http://evil.example")},
    {"POST", "/proxies", "Host: example.test\r\n" TOKEN, CREATE_P, 403, NOT_JSON("POST", "none")},
    {"GET", "/proxies", "Host: example.test\r\n" TOKEN, NULL, 200, "{}"},
    /* a page on the allowed name itself may call, with the token */
    {"POST", "/reset",
     "Host: example.test\r\nOrigin: https://example.test\r\nContent-Type: application/json\r\n" TOKEN,
     "{}", 204, ""},
};

static void proxyapi_should_ask_for_its_token_and_answer_its_admin_hosts(void)
{
    static const char *const hosts[] = {"example.test"};
    struct fix f;
    if (fix_start_admin(&f, "s3cret", hosts, 1) == 0)
        raw_steps(f.port, GUARDED, sizeof GUARDED / sizeof GUARDED[0]);
    else
        check_failed = 1;
    fix_stop(&f);
    /* hosts without a token, or a name that is not one, are refused up front */
    char err[128];
    struct event_base *base = event_base_new();
    struct proxyapi *a = base ? proxyapi_new(base, "127.0.0.1:0", 1, err, sizeof err) : NULL;
    int r0 = a ? proxyapi_set_admin(a, NULL, hosts, 1, err, sizeof err) : 0;
    char err0[128];
    snprintf(err0, sizeof err0, "%s", err);
    static const char *const bad[] = {"example.test:80"};
    int r1 = a ? proxyapi_set_admin(a, "t", bad, 1, err, sizeof err) : 0;
    proxyapi_free(a);
    if (base)
        event_base_free(base);
    CHECK(a != NULL);
    CHECK_EQ_INT(r0, -1);
    CHECK_EQ_STR(err0, "api: admin hosts need an admin token");
    CHECK_EQ_INT(r1, -1);
    CHECK_EQ_STR(err, "api: 'example.test:80' is not a host name or address");
}

/* ---- the command line ---------------------------------------------------------------------- */

struct run {
    int status;  /* exit code, or 128+signal, or -1 */
    char out[4096], errout[4096];
};

static const char *bin(void)
{
    const char *b = getenv("TAILGATE_BIN");
    return b ? b : "./tailgate";
}

static void slurp(int fd, char *buf, size_t cap)
{
    size_t n = strlen(buf);
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
}

/* Runs `tailgate chaos proxy args...` to its end (bounded: killed after 10 s). */
static void run_cli(const char *const *args, struct run *r)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    int po[2], pe[2];
    if (pipe(po) != 0)
        return;
    if (pipe(pe) != 0) {
        close(po[0]);
        close(po[1]);
        return;
    }
    const char *argv[32] = {bin(), "chaos", "proxy"};
    int n = 3;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    int st = 0;
    uint64_t t0 = clock_now_ns();
    while (pid > 0) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        if (clock_now_ns() - t0 > 10000000000ull) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        harness_sleep_ms(5);
    }
    slurp(po[0], r->out, sizeof r->out);
    slurp(pe[0], r->errout, sizeof r->errout);
    close(po[0]);
    close(pe[0]);
}

static void chaos_proxy_cli_should_exit_2_naming_the_flag(void)
{
    static const struct {
        const char *args[12];
        const char *err; /* the one stderr line, before "; see 'tailgate chaos proxy --help'" */
    } rows[] = {
        {{NULL}, "tailgate chaos proxy: --listen: give --listen and --upstream, or --api (or "
                 "both)\n"},
        {{"--listen", "127.0.0.1:0", NULL}, "tailgate chaos proxy: --upstream: required with "
                                            "--listen\n"},
        {{"--upstream", "127.0.0.1:1", NULL}, "tailgate chaos proxy: --listen: required with "
                                              "--upstream\n"},
        {{"--listen", NULL}, "tailgate chaos proxy: option '--listen' needs a value\n"},
        {{"--bogus", NULL}, "tailgate chaos proxy: unknown option '--bogus'\n"},
        {{"--api", "127.0.0.1:0", "extra", NULL},
         "tailgate chaos proxy: unexpected argument 'extra'\n"},
        {{"--api", "127.0.0.1:0", "--seed", "-1", NULL},
         "tailgate chaos proxy: --seed: expected an unsigned integer, got '-1'\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--toxic", "{", NULL},
         "tailgate chaos proxy: --toxic: not valid JSON: line 1, column 2 (byte 1): expected "
         "'\"' to start an object key at end of input\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--toxic",
          "{\"type\":\"stall\"} x", NULL},
         "tailgate chaos proxy: --toxic: not valid JSON: line 1, column 18 (byte 17): unexpected "
         "text after the JSON value near 'x'\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--toxic",
          "{\"type\":\"latency\",\"attributes\":{\"latency\":-1}}", NULL},
         "tailgate chaos proxy: --toxic: attributes.latency: expected an integer 0..3600000 "
         "(ms), got -1\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--toxic",
          "{\"type\":\"bogus\"}", NULL},
         "tailgate chaos proxy: --toxic: type: 'bogus' is not one of latency, bandwidth, "
         "slicer, limit_data, reset_peer, timeout, slow_close, blackhole, stall\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--toxic",
          "{\"type\":\"stall\"}", "--toxic", "{\"type\":\"stall\"}", NULL},
         "tailgate chaos proxy: --toxic: two toxics named 'stall_downstream'\n"},
        {{"--listen", "nohost", "--upstream", "127.0.0.1:1", NULL},
         "tailgate chaos proxy: --listen: 'nohost' is not host:port\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:0", NULL},
         "tailgate chaos proxy: --upstream: port '0' is not 1..65535\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--name", "a/b", NULL},
         "tailgate chaos proxy: --name: 'a/b' has a space, control character or one of / ? # "
         "%\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--api-port-file", "x", NULL},
         "tailgate chaos proxy: --api-port-file: needs --api\n"},
        {{"--api", "127.0.0.1:0", "--toxic", "{\"type\":\"stall\"}", NULL},
         "tailgate chaos proxy: --toxic: needs --listen and --upstream\n"},
        {{"--api", "127.0.0.1:0", "--admin-host", "example.test", NULL},
         "tailgate chaos proxy: --admin-host: needs --admin-token (an API others can reach must "
         "ask for a token)\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--admin-token", "t", NULL},
         "tailgate chaos proxy: --admin-token: needs --api\n"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--admin-host", "a.test",
          NULL},
         "tailgate chaos proxy: --admin-host: needs --api\n"},
        {{"--api", "127.0.0.1:0", "--admin-token", "t", "--admin-host", "http://a.test", NULL},
         "tailgate chaos proxy: --admin-host: not a host name or address (no scheme, no port): "
         "'http://a.test'\n"},
        {{"--api", "127.0.0.1:0", "--admin-token", "", NULL},
         "tailgate chaos proxy: --admin-token: must not be empty\n"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct run r;
        run_cli(rows[i].args, &r);
        char want[512];
        snprintf(want, sizeof want, "%.*s; see 'tailgate chaos proxy --help'\n",
                 (int)strlen(rows[i].err) - 1, rows[i].err);
        if (r.status != 2 || strcmp(r.errout, want) != 0)
            fprintf(stderr, "  row %zu: exit %d, stderr: %s", i, r.status, r.errout);
        CHECK_EQ_INT(r.status, 2);
        CHECK_EQ_STR(r.errout, want);
        CHECK_EQ_STR(r.out, "");
    }
}

static void chaos_proxy_cli_should_exit_3_when_the_port_is_taken(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 1) == 0 &&
             getsockname(s, (struct sockaddr *)&a, &l) == 0;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(a.sin_port));
    const char *const args[] = {"--api", addr, NULL};
    struct run r;
    if (ok)
        run_cli(args, &r);
    close(s);
    CHECK(ok);
    CHECK_EQ_INT(r.status, 3);
    CHECK(strstr(r.errout, "--api: api: listen tcp") != NULL);
}

/* Starts the proxy with an API and a toxic, reads its API port file, checks what the API says,
 * stops it with SIGTERM: exit 0. */
static void chaos_proxy_cli_should_run_until_sigterm(void)
{
    char dir[] = "/tmp/tgproxy.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char pf[64], apf[64];
    snprintf(pf, sizeof pf, "%s/port", dir);
    snprintf(apf, sizeof apf, "%s/api", dir);
    int po[2];
    CHECK(pipe(po) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        close(po[0]);
        execl(bin(), bin(), "chaos", "proxy", "--listen", "127.0.0.1:0", "--upstream",
              "127.0.0.1:1", "--api", "127.0.0.1:0", "--api-port-file", apf, "--port-file", pf,
              "--name", "gw", "--seed", "9", "--toxic",
              "{\"type\":\"latency\",\"attributes\":{\"latency\":5}}", (char *)NULL);
        _exit(127);
    }
    close(po[1]);
    int api = -1, port = -1;
    for (int i = 0; i < 1000 && api < 0; i++) { /* 10 s */
        FILE *fp = fopen(apf, "r");
        if (fp) {
            if (fscanf(fp, "%d", &api) != 1)
                api = -1;
            fclose(fp);
        }
        if (api < 0)
            harness_sleep_ms(10);
    }
    FILE *fp = fopen(pf, "r");
    if (fp) {
        if (fscanf(fp, "%d", &port) != 1)
            port = -1;
        fclose(fp);
    }
    char *got = NULL;
    int st = api > 0 ? harness_http(api, "GET", "/proxies/gw", NULL, NULL, &got, NULL) : -1;
    char want[256];
    snprintf(want, sizeof want,
             "{\"name\":\"gw\",\"listen\":\"127.0.0.1:%d\",\"upstream\":\"127.0.0.1:1\","
             "\"enabled\":true,\"toxics\":[{\"attributes\":{\"latency\":5,\"jitter\":0},"
             "\"name\":\"latency_downstream\",\"type\":\"latency\",\"stream\":\"downstream\","
             "\"toxicity\":1}]}",
             port);
    int body_ok = got && strcmp(got, want) == 0;
    if (!body_ok)
        fprintf(stderr, "  got %s\n  want %s\n", got ? got : "(null)", want);
    free(got);
    kill(pid, SIGTERM);
    int ws = 0, exited = 0;
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            exited = 1;
            break;
        }
        harness_sleep_ms(10);
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &ws, 0);
    }
    char out[512] = "";
    slurp(po[0], out, sizeof out);
    close(po[0]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  could not remove %s\n", dir);
    char want_out[128];
    snprintf(want_out, sizeof want_out, "127.0.0.1:%d\nhttp://127.0.0.1:%d\n", port, api);
    CHECK(api > 0 && port > 0);
    CHECK_EQ_INT(st, 200);
    CHECK(body_ok);
    CHECK(exited && WIFEXITED(ws));
    CHECK_EQ_INT(WEXITSTATUS(ws), 0);
    CHECK_EQ_STR(out, want_out);
}

/* --admin-token and --admin-host reach the API */
static void chaos_proxy_cli_should_guard_its_api_with_the_admin_flags(void)
{
    struct proc p;
    CHECK(harness_proc_init(&p) == 0);
    char apf[128];
    snprintf(apf, sizeof apf, "%s/api", p.dir);
    const char *args[] = {bin(),           "chaos",         "proxy",       "--api",
                          "127.0.0.1:0",   "--api-port-file", apf,         "--admin-token",
                          "s3cret",        "--admin-host",  "example.test", NULL};
    CHECK(harness_start(&p, args, apf) == 0);
    char *b[2] = {NULL};
    int s0 = api_raw(p.port, "GET", "/version", "Host: example.test:1\r\n" TOKEN, NULL, NULL);
    int s1 = api_raw(p.port, "GET", "/version", "Host: example.test:1\r\n", NULL, &b[0]);
    int s2 = api_raw(p.port, "GET", "/version", "Host: evil.example\r\n" TOKEN, NULL, &b[1]);
    int rc = harness_stop(&p);
    CHECK_EQ_INT(s0, 200);
    CHECK_EQ_INT(s1, 401);
    CHECK_EQ_STR(b[0], NEEDS_TOKEN);
    CHECK_EQ_INT(s2, 403);
    CHECK_EQ_STR(b[1], FOREIGN_HOST("evil.example"));
    CHECK_EQ_INT(rc, 0);
    free(b[0]);
    free(b[1]);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct check_case cases[] = {
        CASE(proxyapi_should_answer_like_toxiproxy),
        CASE(proxyapi_should_reject_every_truncation_of_a_toxic),
        CASE(proxyapi_should_reject_a_body_that_is_not_exactly_one_json_value),
        CASE(proxyapi_should_refuse_browsers_and_bound_its_input),
        CASE(proxyapi_should_refuse_what_a_web_page_sends),
        CASE(proxyapi_should_ask_for_its_token_and_answer_its_admin_hosts),
        CASE(chaos_proxy_cli_should_exit_2_naming_the_flag),
        CASE(chaos_proxy_cli_should_exit_3_when_the_port_is_taken),
        CASE(chaos_proxy_cli_should_run_until_sigterm),
        CASE(chaos_proxy_cli_should_guard_its_api_with_the_admin_flags),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
