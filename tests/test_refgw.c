/* refgw over real loopback, in front of mockprov: each mode's handling of a client that leaves
 * mid-stream (read from the mock's ledger), header forwarding, pass-through, upstream errors,
 * the metering log (usage vs count), many streams and backpressure; and refgw's meter from
 * tables at every split point. The refgw binary is $REFGW_BIN (default build/refgw). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "check.h"
#include "clock.h"
#include "harness.h"
#include "refgw/meter.h"

/* Close after K tokens. At 10 tokens/s the next token is 100 ms away when the client closes,
 * so every count below is exact. Jitter 0 keeps the timing exact. Under valgrind 100 ms is no
 * bound (a late mock sends overdue tokens in a burst, a slow client reads more than K at once):
 * what depends on it is a CHECK_TIMING. */
#define K 3
#define LENGTH 40
#define TIMING                                                                                     \
    "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 10\r\nx-tailgate-jitter: 0\r\n"                      \
    "x-tailgate-length: 40\r\n"
#define FAST                                                                                       \
    "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 1000\r\nx-tailgate-jitter: 0\r\n"                    \
    "x-tailgate-length: 40\r\n"
/* slow mode's delay: the abort lands 50 ms after a token and 50 ms before the next */
#define SLOW_MS 250
#define INPUT_TOKENS 2 /* "abcdefgh": the mock bills 4 bytes a token */

static struct proc mock;
static char mock_url[64];

/* ---- starting refgw -------------------------------------------------------------------------- */

/* Starts `$REFGW_BIN --mode M --listen 127.0.0.1:0 --port-file F --upstream URL --metering-log
 * DIR/metering.jsonl --metering METERING args...` through harness_start and waits (bounded) for
 * its port. Stop it with harness_stop. Returns 0 or -1. */
static int start_refgw(struct proc *p, const char *mode, const char *upstream, const char *metering,
                       const char *const *args)
{
    if (harness_proc_init(p) != 0)
        return -1;
    char port_file[128], log[128];
    snprintf(port_file, sizeof port_file, "%s/port", p->dir);
    snprintf(log, sizeof log, "%s/metering.jsonl", p->dir);
    const char *bin = getenv("REFGW_BIN") ? getenv("REFGW_BIN") : "build/refgw";
    const char *fixed[] = {bin,           "--mode",     mode,         "--listen", "127.0.0.1:0",
                           "--port-file", port_file,    "--upstream", upstream,   "--metering-log",
                           log,           "--metering", metering};
    const char *argv[64];
    size_t n = 0;
    for (; n < sizeof fixed / sizeof fixed[0]; n++)
        argv[n] = fixed[n];
    for (int i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return harness_start(p, argv, port_file);
}

/* ---- reading what happened ------------------------------------------------------------------- */

/* Polls the mock's ledger until it holds n finished records for cid; returns the array (caller
 * frees) or NULL after timeout_ms. */
static cJSON *ledger_wait(const char *cid, int n, int timeout_ms)
{
    return harness_ledger_all_done(mock.port, cid, n, timeout_ms);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *acc = NULL;
    size_t len = 0;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        char *tmp = realloc(acc, len + n + 1);
        if (tmp == NULL)
            break;
        acc = tmp;
        memcpy(acc + len, buf, n);
        len += n;
        acc[len] = '\0';
    }
    fclose(f);
    return acc;
}

/* The metering lines whose request_id starts with 'prefix', once there are n of them (polls
 * up to timeout_ms); an array the caller frees, or NULL. */
static cJSON *metering_wait(const struct proc *gw, const char *prefix, int n, int timeout_ms)
{
    char path[128];
    snprintf(path, sizeof path, "%s/metering.jsonl", gw->dir);
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (clock_now_ns() < deadline) {
        char *all = slurp(path);
        cJSON *arr = cJSON_CreateArray();
        for (char *line = all ? strtok(all, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            cJSON *o = cJSON_Parse(line);
            const char *rid = harness_str(o, "request_id");
            if (rid && strncmp(rid, prefix, strlen(prefix)) == 0)
                cJSON_AddItemToArray(arr, o);
            else
                cJSON_Delete(o);
        }
        free(all);
        if (cJSON_GetArraySize(arr) >= n)
            return arr;
        cJSON_Delete(arr);
        harness_sleep_ms(20);
    }
    return NULL;
}

/* The one metering line for request id 'rid', or NULL. */
static cJSON *metering_line(const struct proc *gw, const char *rid, int timeout_ms)
{
    cJSON *arr = metering_wait(gw, rid, 1, timeout_ms);
    cJSON *line = NULL;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        if (strcmp(harness_str(o, "request_id"), rid) == 0)
            line = cJSON_Duplicate(o, 1);
    }
    cJSON_Delete(arr);
    return line;
}

static void print_json(const char *what, const cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    fprintf(stderr, "  %s: %s\n", what, s ? s : "(none)");
    free(s);
}

static int is_true(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static int is_null(const cJSON *o, const char *key)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* ---- driving one request --------------------------------------------------------------------- */

static void chat_body(char *buf, size_t n, const char *cid)
{
    snprintf(buf, n,
             "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
             "\"user\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}",
             cid);
}

struct abort_run {
    int got;             /* tokens read before the close */
    uint64_t t_abort_ns; /* just before close() */
    cJSON *records;      /* the mock's finished records for the correlation id */
    cJSON *meter;        /* refgw's metering line */
    int exit_status;     /* refgw's, after SIGTERM */
};

static void abort_run_cleanup(struct abort_run *r)
{
    cJSON_Delete(r->records);
    cJSON_Delete(r->meter);
}

/* Starts refgw in 'mode', streams a chat completion through it with X-Request-Id cid (and cid
 * as the body's user), reads K tokens, closes with a FIN, waits for 'want' finished ledger
 * records and the metering line, stops refgw. Returns 0 when refgw started. */
static int abort_run(const char *mode, const char *metering, const char *const *args,
                     const char *cid, int want, struct abort_run *r)
{
    memset(r, 0, sizeof *r);
    struct proc gw;
    if (start_refgw(&gw, mode, mock_url, metering, args) != 0)
        return -1;
    char headers[512], body[512];
    snprintf(headers, sizeof headers, "%sX-Request-Id: %s\r\n", TIMING, cid);
    chat_body(body, sizeof body, cid);
    int fd = harness_connect(gw.port, 0);
    if (fd >= 0 && harness_post(fd, "/v1/chat/completions", headers, body) == 0) {
        char *acc = NULL;
        size_t len = 0;
        r->got = harness_read_tokens(fd, K, 5000, &acc, &len);
        free(acc);
        r->t_abort_ns = clock_now_ns();
        harness_close_fin(fd);
        r->records = ledger_wait(cid, want, 15000);
        r->meter = metering_line(&gw, cid, 15000);
    } else if (fd >= 0) {
        close(fd);
    }
    r->exit_status = harness_stop(&gw);
    return 0;
}

/* ---- cases: what each mode does when the client leaves --------------------------------------- */

static void refgw_naive_should_read_upstream_to_its_end_after_the_client_left(void)
{
    struct abort_run r;
    CHECK(abort_run("naive", "usage", NULL, "gw-naive-1", 1, &r) == 0);
    const cJSON *rec = cJSON_GetArrayItem(r.records, 0);
    int ok = cJSON_GetArraySize(r.records) == 1 && harness_num(rec, "generated_tokens") == LENGTH &&
             harness_num(rec, "written_tokens") == LENGTH && is_null(rec, "close_kind") &&
             strcmp(harness_str(rec, "stop_reason"), "natural") == 0 &&
             harness_num(rec, "attempt") == 1;
    /* the gateway that trusts the usage chunk meters everything: the client got K */
    int metered =
        r.meter && harness_num(r.meter, "output_tokens") == LENGTH &&
        harness_num(r.meter, "input_tokens") == INPUT_TOKENS && is_true(r.meter, "client_closed") &&
        harness_num(r.meter, "upstream_attempts") == 1 && harness_num(r.meter, "status") == 200 &&
        strcmp(harness_str(r.meter, "path"), "/v1/chat/completions") == 0;
    if (!ok || !metered || r.got != K) {
        fprintf(stderr, "  the client read %d tokens\n", r.got);
        print_json("records", r.records);
        print_json("metering", r.meter);
    }
    int rc = r.exit_status, got = r.got;
    abort_run_cleanup(&r);
    CHECK(ok);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
    CHECK_TIMING(got == K);
}

static void refgw_fixed_should_close_the_upstream_within_a_token(void)
{
    struct abort_run r;
    CHECK(abort_run("fixed", "usage", NULL, "gw-fixed-1", 1, &r) == 0);
    const cJSON *rec = cJSON_GetArrayItem(r.records, 0);
    double close_lag_ms = (harness_num(rec, "t_peer_closed_ns") - (double)r.t_abort_ns) / 1e6;
    /* the mock's default profile stops one token after the close */
    int ok = cJSON_GetArraySize(r.records) == 1 && harness_str(rec, "close_kind") &&
             harness_num(rec, "tail_tokens") <= 1 &&
             strcmp(harness_str(rec, "stop_reason"), "disconnect") == 0 && close_lag_ms >= 0 &&
             is_true(rec, "rid_propagated");
    /* the client left with K tokens, the next 100 ms away, and refgw closed the upstream (a FIN:
     * nothing unread behind it) before that token */
    int within_a_token =
        r.got == K && harness_str(rec, "close_kind") &&
        strcmp(harness_str(rec, "close_kind"), "fin") == 0 &&
        harness_num(rec, "generated_tokens") == K + harness_num(rec, "tail_tokens") &&
        close_lag_ms < 90;
    /* no usage object ever reached it: the usage-trusting gateway meters nothing */
    int metered = r.meter && harness_num(r.meter, "output_tokens") == 0 &&
                  is_true(r.meter, "client_closed") &&
                  harness_num(r.meter, "upstream_attempts") == 1 &&
                  harness_num(r.meter, "status") == 200;
    if (!ok || !metered || !within_a_token) {
        fprintf(stderr, "  close lag %.1f ms, the client read %d tokens\n", close_lag_ms, r.got);
        print_json("records", r.records);
        print_json("metering", r.meter);
    }
    int rc = r.exit_status;
    abort_run_cleanup(&r);
    CHECK(ok);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
    CHECK_TIMING(within_a_token);
}

static void refgw_slow_should_close_the_upstream_slow_ms_after_the_client_left(void)
{
    char slow[16];
    snprintf(slow, sizeof slow, "%d", SLOW_MS);
    const char *args[] = {"--slow-ms", slow, NULL};
    struct abort_run r;
    CHECK(abort_run("slow", "count", args, "gw-slow-1", 1, &r) == 0);
    const cJSON *rec = cJSON_GetArrayItem(r.records, 0);
    double lag_ms = (harness_num(rec, "t_peer_closed_ns") - (double)r.t_abort_ns) / 1e6;
    /* K tokens by 200 ms, the close just after; tokens at 300 and 400 ms still come, the abort
     * lands at ~450 ms, then the profile's one lag token */
    /* slow mode never closes sooner than SLOW_MS after the client */
    int ok = cJSON_GetArraySize(r.records) == 1 && lag_ms >= SLOW_MS &&
             harness_num(rec, "tail_tokens") <= 1;
    int metered = r.meter && is_true(r.meter, "client_closed");
    /* ... and no later than a few ms past it: a FIN, tokens at 300 and 400 ms, the lag token;
     * counting what it forwarded: the K tokens the client had when it left */
    int on_time = r.got == K && lag_ms < SLOW_MS + 45 && harness_str(rec, "close_kind") &&
                  strcmp(harness_str(rec, "close_kind"), "fin") == 0 &&
                  harness_num(rec, "generated_tokens") == K + 2 + 1 &&
                  harness_num(rec, "tail_tokens") == 1 &&
                  harness_num(r.meter, "output_tokens") == K;
    if (!ok || !metered || !on_time) {
        fprintf(stderr, "  lag %.1f ms, the client read %d tokens\n", lag_ms, r.got);
        print_json("records", r.records);
        print_json("metering", r.meter);
    }
    int rc = r.exit_status;
    abort_run_cleanup(&r);
    CHECK(ok);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
    CHECK_TIMING(on_time);
}

static void refgw_retry_should_send_the_request_again_and_read_it_to_the_end(void)
{
    struct abort_run r;
    CHECK(abort_run("retry", "usage", NULL, "gw-retry-1", 2, &r) == 0);
    const cJSON *first = NULL, *second = NULL, *rec;
    cJSON_ArrayForEach(rec, r.records)
    {
        if (harness_num(rec, "attempt") == 1)
            first = rec;
        else if (harness_num(rec, "attempt") == 2)
            second = rec;
    }
    int ok = cJSON_GetArraySize(r.records) == 2 && first && second &&
             harness_str(first, "close_kind") && harness_num(first, "tail_tokens") <= 1 &&
             is_null(second, "close_kind") && harness_num(second, "generated_tokens") == LENGTH &&
             strcmp(harness_str(second, "stop_reason"), "natural") == 0 &&
             is_true(second, "rid_propagated") &&
             harness_num(second, "t_accept_ns") >= harness_num(first, "t_peer_closed_ns");
    /* the second answer's usage is metered though nobody received it */
    int metered = r.meter && harness_num(r.meter, "upstream_attempts") == 2 &&
                  harness_num(r.meter, "output_tokens") == LENGTH &&
                  harness_num(r.meter, "input_tokens") == INPUT_TOKENS &&
                  is_true(r.meter, "client_closed");
    /* the client left with K tokens and refgw dropped the first attempt with nothing unread */
    int prompt = r.got == K && first && harness_str(first, "close_kind") &&
                 strcmp(harness_str(first, "close_kind"), "fin") == 0;
    if (!ok || !metered || !prompt) {
        fprintf(stderr, "  the client read %d tokens\n", r.got);
        print_json("records", r.records);
        print_json("metering", r.meter);
    }
    int rc = r.exit_status;
    abort_run_cleanup(&r);
    CHECK(ok);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
    CHECK_TIMING(prompt);
}

static void refgw_strip_headers_should_drop_the_request_id_but_not_the_body(void)
{
    struct abort_run r;
    CHECK(abort_run("strip-headers", "usage", NULL, "gw-strip-1", 1, &r) == 0);
    const cJSON *rec = cJSON_GetArrayItem(r.records, 0);
    int ok = cJSON_GetArraySize(r.records) == 1 &&
             cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rec, "rid_propagated")) &&
             strcmp(harness_str(rec, "id_source"), "user") == 0 &&
             strcmp(harness_str(rec, "correlation_id"), "gw-strip-1") == 0 &&
             harness_str(rec, "close_kind") && harness_num(rec, "tail_tokens") <= 1;
    /* refgw itself saw the header: its own log still carries the id */
    int metered = r.meter != NULL && is_true(r.meter, "client_closed");
    /* the client left with K tokens and refgw closed the upstream with nothing unread */
    int prompt = r.got == K && harness_str(rec, "close_kind") &&
                 strcmp(harness_str(rec, "close_kind"), "fin") == 0;
    if (!ok || !metered || !prompt) {
        fprintf(stderr, "  the client read %d tokens\n", r.got);
        print_json("records", r.records);
        print_json("metering", r.meter);
    }
    int rc = r.exit_status;
    abort_run_cleanup(&r);
    CHECK(ok);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
    CHECK_TIMING(prompt);
}

/* ---- pass-through ---------------------------------------------------------------------------- */

/* Splits a raw response at the blank line and removes chunked framing (when the headers say
 * so). Returns the body (malloc'd) or NULL; *head gets the header block (malloc'd). */
static char *dechunk(const char *raw, char **head)
{
    *head = NULL;
    const char *sep = raw ? strstr(raw, "\r\n\r\n") : NULL;
    if (sep == NULL)
        return NULL;
    *head = strndup(raw, (size_t)(sep - raw));
    const char *p = sep + 4;
    if (*head == NULL || strstr(*head, "Transfer-Encoding: chunked") == NULL)
        return strdup(p);
    const char *stop = p + strlen(p);
    size_t cap = (size_t)(stop - p) + 1, len = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    for (;;) {
        char *end;
        unsigned long n = strtoul(p, &end, 16);
        if (end == p || strncmp(end, "\r\n", 2) != 0) {
            free(out);
            return NULL; /* framing broken or cut short */
        }
        p = end + 2;
        if (n == 0)
            break;
        if ((size_t)(stop - p) < n + 2 || strncmp(p + n, "\r\n", 2) != 0) {
            free(out);
            return NULL;
        }
        memcpy(out + len, p, n);
        len += n;
        p += n + 2;
    }
    out[len] = '\0';
    return out;
}

/* One whole response (Connection: close) from 'port'. */
static char *fetch(int port, const char *path, const char *headers, const char *body)
{
    int fd = harness_connect(port, 0);
    if (fd < 0)
        return NULL;
    char *acc = NULL;
    size_t len = 0;
    if (harness_post(fd, path, headers, body) == 0)
        harness_read_all(fd, 10000, &acc, &len);
    close(fd);
    return acc;
}

static const char *header_value(const char *head, const char *name, char *buf, size_t n)
{
    const char *h = head ? strcasestr(head, name) : NULL;
    if (h == NULL)
        return NULL;
    h += strlen(name);
    size_t i = 0;
    while (h[i] && h[i] != '\r' && i + 1 < n) {
        buf[i] = h[i];
        i++;
    }
    buf[i] = '\0';
    return buf;
}

/* The same bytes as straight from the mock, but for ids and timestamps (same width, hex). */
static int same_but_ids(const char *a, const char *b)
{
    if (a == NULL || b == NULL || strlen(a) != strlen(b))
        return 0;
    for (size_t i = 0; a[i]; i++) {
        if (a[i] == b[i])
            continue;
        int ha = (a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f');
        int hb = (b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f');
        if (!ha || !hb)
            return 0;
    }
    return 1;
}

/* The tokens (' tok<N>"') start with exactly tok0..tok(n-1) in order, and none is past them
 * (the Responses final events repeat the last one). One pass, no strstr: ASan's checks would
 * make repeated searches over 23 MB quadratic. */
static int tokens_in_order(const char *s, int n)
{
    long seen = 0;
    for (const char *p = s; *p; p++) {
        if (p[0] != ' ' || p[1] != 't' || p[2] != 'o' || p[3] != 'k' || p[4] < '0' || p[4] > '9')
            continue;
        long v = 0;
        const char *q = p + 4;
        while (*q >= '0' && *q <= '9' && v < 100000000)
            v = v * 10 + (*q++ - '0');
        if (*q != '"')
            continue;
        if (v >= n || (seen < n && v != seen))
            return 0;
        seen++;
        p = q;
    }
    return seen >= n;
}

static void refgw_should_pass_a_full_stream_through_unchanged_per_api(void)
{
    struct proc gw;
    CHECK(start_refgw(&gw, "fixed", mock_url, "count", NULL) == 0);
    static const struct {
        const char *path, *body, *end;
    } apis[] = {
        {"/v1/chat/completions",
         "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}",
         "\"completion_tokens\":40,\"total_tokens\":42}}\n\ndata: [DONE]\n\n"},
        {"/v1/responses", "{\"model\":\"m\",\"stream\":true,\"input\":\"abcdefgh\"}",
         "event: response.completed"},
        {"/v1/messages",
         "{\"model\":\"m\",\"stream\":true,\"max_tokens\":1000,"
         "\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}",
         "\"usage\":{\"output_tokens\":40}}\n\nevent: message_stop"},
    };
    int ok[3] = {0}, same[3] = {0}, ctype[3] = {0};
    for (size_t a = 0; a < 3; a++) {
        char headers[512];
        snprintf(headers, sizeof headers, "%sX-Request-Id: gw-pass-%zu\r\nConnection: close\r\n",
                 FAST, a);
        char *via = fetch(gw.port, apis[a].path, headers, apis[a].body);
        snprintf(headers, sizeof headers, "%sX-Request-Id: gw-direct-%zu\r\nConnection: close\r\n",
                 FAST, a);
        char *direct = fetch(mock.port, apis[a].path, headers, apis[a].body);
        char *hv = NULL, *hd = NULL;
        char *bv = dechunk(via, &hv), *bd = dechunk(direct, &hd);
        char cv[128], cd[128];
        const char *tv = header_value(hv, "\r\nContent-Type: ", cv, sizeof cv);
        const char *td = header_value(hd, "\r\nContent-Type: ", cd, sizeof cd);
        ok[a] = bv && tokens_in_order(bv, LENGTH) && strstr(bv, apis[a].end) != NULL &&
                strncmp(via, "HTTP/1.1 200 ", 13) == 0;
        same[a] = same_but_ids(bv, bd);
        ctype[a] = tv && td && strcmp(tv, td) == 0 &&
                   strcmp(tv, "text/event-stream; "
                              "charset=utf-8") == 0;
        if (!ok[a] || !same[a] || !ctype[a])
            fprintf(stderr, "  %s via refgw:\n%s\n  direct:\n%s\n", apis[a].path,
                    via ? via : "(none)", direct ? direct : "(none)");
        free(via);
        free(direct);
        free(hv);
        free(hd);
        free(bv);
        free(bd);
    }
    /* counting mode counts each token once, though the final events repeat the whole text */
    cJSON *lines = metering_wait(&gw, "gw-pass-", 3, 5000);
    int metered = cJSON_GetArraySize(lines) == 3;
    const cJSON *o;
    cJSON_ArrayForEach(o, lines)
    {
        metered &= harness_num(o, "output_tokens") == LENGTH &&
                   harness_num(o, "input_tokens") == INPUT_TOKENS &&
                   harness_num(o, "status") == 200 &&
                   cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "client_closed")) &&
                   harness_num(o, "upstream_attempts") == 1;
    }
    if (!metered)
        print_json("metering", lines);
    cJSON_Delete(lines);
    int rc = harness_stop(&gw);
    for (int a = 0; a < 3; a++) {
        CHECK(ok[a]);
        CHECK(same[a]);
        CHECK(ctype[a]);
    }
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
}

static void refgw_should_forward_the_allowed_headers_only(void)
{
    /* the mock's 400 for a bad x-tailgate-* value shows the header arrived; a header outside
     * the list (here a bogus profile name under another name) must not */
    struct proc gw;
    CHECK(start_refgw(&gw, "fixed", mock_url, "usage", NULL) == 0);
    char *b1 =
        fetch(gw.port, "/v1/chat/completions", "x-tailgate-tps: nope\r\nConnection: close\r\n",
              "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    char *b2 = fetch(gw.port, "/v1/chat/completions",
                     "x-other-tps: nope\r\nX-Request-Id: gw-hdr-1\r\nIdempotency-Key: k1\r\n"
                     "x-tailgate-length: 2\r\nx-tailgate-tps: 1000\r\nConnection: close\r\n",
                     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    cJSON *recs = ledger_wait("gw-hdr-1", 1, 5000);
    int rc = harness_stop(&gw);
    const cJSON *rec = cJSON_GetArrayItem(recs, 0);
    int relayed_400 =
        b1 && strncmp(b1, "HTTP/1.1 400 ", 13) == 0 && strstr(b1, "x-tailgate-tps") != NULL;
    int plain_200 = b2 && strncmp(b2, "HTTP/1.1 200 ", 13) == 0 &&
                    strstr(b2, "Content-Type: application/json") != NULL &&
                    strstr(b2, " tok0 tok1") != NULL;
    int via_header =
        rec && is_true(rec, "rid_propagated") && harness_num(rec, "generated_tokens") == 2;
    if (!relayed_400 || !plain_200 || !via_header)
        fprintf(stderr, "  b1: %s\n  b2: %s\n", b1 ? b1 : "(none)", b2 ? b2 : "(none)");
    free(b1);
    free(b2);
    cJSON_Delete(recs);
    CHECK(relayed_400);
    CHECK(plain_200);
    CHECK(via_header);
    CHECK_EQ_INT(rc, 0);
}

/* ---- errors and routes ----------------------------------------------------------------------- */

static int error_shaped(const char *body, const char *type)
{
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    int ok = cJSON_IsObject(e) && harness_str(e, "message") != NULL && harness_str(e, "type") &&
             strcmp(harness_str(e, "type"), type) == 0 &&
             cJSON_GetObjectItemCaseSensitive(e, "param") != NULL &&
             cJSON_GetObjectItemCaseSensitive(e, "code") != NULL;
    cJSON_Delete(j);
    return ok;
}

/* --upstream-idle-timeout: an upstream silent past it is cut by the gateway itself, with its
 * client still waiting: a 504 in OpenAI's shape before the answer began (a non-streaming
 * request during a long time to first token), a cut stream after (a stall after 3 tokens). The
 * mock sees the hang-up at about the deadline. */
static void refgw_should_cut_a_silent_upstream_at_its_deadline(void)
{
    const char *args[] = {"--upstream-idle-timeout", "300ms", NULL};
    struct proc gw;
    CHECK(start_refgw(&gw, "fixed", mock_url, "usage", args) == 0);
    char body[512];
    const char *whole = "{\"model\":\"m\",\"stream\":false,\"user\":\"gw-deadline-ttft\","
                        "\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}";
    const char *slow_first[] = {"X-Request-Id: gw-deadline-ttft", "x-tailgate-ttft-ms: 3000", NULL};
    char *b1 = NULL;
    int s1 = harness_http(gw.port, "POST", "/v1/chat/completions", slow_first, whole, &b1, NULL);
    cJSON *r1 = ledger_wait("gw-deadline-ttft", 1, 10000);
    chat_body(body, sizeof body, "gw-deadline-stall");
    char headers[512];
    snprintf(headers, sizeof headers,
             "%sX-Request-Id: gw-deadline-stall\r\nx-tailgate-fault: stall-after=3,stall-ms=3000"
             "\r\n",
             TIMING);
    int fd = harness_connect(gw.port, 0);
    char *acc = NULL;
    size_t len = 0;
    long got = -1;
    if (fd >= 0 && harness_post(fd, "/v1/chat/completions", headers, body) == 0)
        got = harness_read_all(fd, 10000, &acc, &len); /* to the gateway's cut */
    if (fd >= 0)
        close(fd);
    cJSON *r2 = ledger_wait("gw-deadline-stall", 1, 10000);
    int rc = harness_stop(&gw);
    CHECK_EQ_INT(s1, 504);
    CHECK(b1 && strstr(b1, "\"code\":\"gateway_timeout\"") != NULL);
    CHECK(error_shaped(b1, "upstream_error"));
    const cJSON *a = cJSON_GetArrayItem(r1, 0), *b = cJSON_GetArrayItem(r2, 0);
    CHECK(a && b);
    if (a && b) {
        CHECK_EQ_STR(harness_str(a, "close_kind"), "fin");
        /* cut before its first token: nothing written, then the profile's one lag token */
        CHECK_EQ_INT(harness_num(a, "written_tokens"), 0);
        CHECK_EQ_INT(harness_num(a, "generated_tokens"), 1);
        CHECK_EQ_STR(harness_str(b, "close_kind"), "fin");
        CHECK_EQ_INT(harness_num(b, "written_tokens"), 3);
        double silent_ms =
            (harness_num(b, "t_peer_closed_ns") -
             cJSON_GetArrayItem(cJSON_GetObjectItem(b, "token_t_ns"), 2)->valuedouble) /
            1e6;
        CHECK_TIMING(silent_ms >= 300 && silent_ms < 600);
    }
    CHECK(got > 0 && acc && strstr(acc, " tok2") && !strstr(acc, "[DONE]")); /* cut short */
    CHECK_EQ_INT(rc, 0);
    free(acc);
    free(b1);
    cJSON_Delete(r1);
    cJSON_Delete(r2);
}

static void refgw_should_answer_502_when_the_upstream_fails(void)
{
    /* a port nobody listens on: take one from the kernel, then close it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof a;
    int dead = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &sl) == 0)
        dead = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    CHECK(dead > 0);
    char dead_url[64];
    snprintf(dead_url, sizeof dead_url, "http://127.0.0.1:%d", dead);
    struct proc gw, gw2;
    CHECK(start_refgw(&gw, "fixed", dead_url, "usage", NULL) == 0);
    const char *h[] = {"X-Request-Id: gw-refused", NULL};
    char *b1 = NULL;
    int s1 = harness_http(gw.port, "POST", "/v1/chat/completions", h, "{}", &b1, NULL);
    cJSON *m1 = metering_line(&gw, "gw-refused", 5000);
    int rc1 = harness_stop(&gw);
    if (start_refgw(&gw2, "fixed", mock_url, "usage", NULL) != 0) {
        free(b1);
        cJSON_Delete(m1);
        CHECK(!"refgw started");
    }
    const char *h529[] = {"x-tailgate-fault: status=529", NULL};
    const char *h429[] = {"x-tailgate-fault: status=429,retry-after=1", NULL};
    const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    char *b2 = NULL, *b3 = NULL;
    int s2 = harness_http(gw2.port, "POST", "/v1/chat/completions", h529, body, &b2, NULL);
    int s3 = harness_http(gw2.port, "POST", "/v1/chat/completions", h429, body, &b3, NULL);
    int rc2 = harness_stop(&gw2);
    int e1 = error_shaped(b1, "upstream_error"), e2 = error_shaped(b2, "upstream_error");
    int e3 = b3 && strstr(b3, "\"code\":\"rate_limit_exceeded\"") != NULL;
    int m1ok = m1 && harness_num(m1, "status") == 502 &&
               harness_num(m1, "upstream_attempts") == 1 &&
               cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m1, "client_closed"));
    if (!e1 || !e2 || !e3 || !m1ok) {
        fprintf(stderr, "  refused: %s\n  529: %s\n  429: %s\n", b1 ? b1 : "", b2 ? b2 : "",
                b3 ? b3 : "");
        print_json("metering", m1);
    }
    free(b1);
    free(b2);
    free(b3);
    cJSON_Delete(m1);
    CHECK_EQ_INT(s1, 502);
    CHECK(e1);
    CHECK(m1ok);
    CHECK_EQ_INT(s2, 502); /* a 5xx is the upstream's failure: the client gets a 502 */
    CHECK(e2);
    CHECK_EQ_INT(s3, 429); /* anything else is relayed as it is */
    CHECK(e3);
    CHECK_EQ_INT(rc1, 0);
    CHECK_EQ_INT(rc2, 0);
}

static void refgw_should_answer_health_and_unknown_routes_in_json(void)
{
    struct proc gw;
    CHECK(start_refgw(&gw, "naive", mock_url, "usage", NULL) == 0);
    char *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL;
    int s1 = harness_http(gw.port, "GET", "/healthz", NULL, NULL, &b1, NULL);
    int s2 = harness_http(gw.port, "GET", "/nowhere", NULL, NULL, &b2, NULL);
    int s3 = harness_http(gw.port, "GET", "/v1/chat/completions", NULL, NULL, &b3, NULL);
    int s4 = harness_http(gw.port, "POST", "/other", NULL, "{}", &b4, NULL);
    /* malformed HTTP is evhttp's to reject; refgw must simply survive it */
    int fd = harness_connect(gw.port, 0);
    if (fd >= 0) {
        const char junk[] = "GARBAGE \x01\x02 HTTP/9.9\r\nno colon here\r\n\r\n";
        if (send(fd, junk, sizeof junk - 1, MSG_NOSIGNAL) < 0)
            fprintf(stderr, "  send: %s\n", strerror(errno));
        char *acc = NULL;
        size_t len = 0;
        harness_read_all(fd, 2000, &acc, &len);
        free(acc);
        close(fd);
    }
    int s5 = harness_http(gw.port, "GET", "/healthz", NULL, NULL, NULL, NULL);
    int rc = harness_stop(&gw);
    int ok1 = b1 && strcmp(b1, "{\"status\":\"ok\"}\n") == 0;
    int ok2 = error_shaped(b2, "invalid_request_error");
    int ok3 = error_shaped(b3, "invalid_request_error");
    int ok4 = error_shaped(b4, "invalid_request_error");
    free(b1);
    free(b2);
    free(b3);
    free(b4);
    CHECK_EQ_INT(s1, 200);
    CHECK(ok1);
    CHECK_EQ_INT(s2, 404);
    CHECK(ok2);
    CHECK_EQ_INT(s3, 405);
    CHECK(ok3);
    CHECK_EQ_INT(s4, 404);
    CHECK(ok4);
    CHECK_EQ_INT(s5, 200);
    CHECK_EQ_INT(rc, 0);
}

/* ---- metering: usage vs count ---------------------------------------------------------------- */

/* One completed and one cancelled stream through a fixed-mode refgw metering 'how'. */
static int meter_pair(const char *how, const char *prefix, cJSON **done, cJSON **cancelled)
{
    *done = *cancelled = NULL;
    struct proc gw;
    if (start_refgw(&gw, "fixed", mock_url, how, NULL) != 0)
        return -1;
    char cid[64], headers[512], body[512];
    snprintf(cid, sizeof cid, "%s-done", prefix);
    snprintf(headers, sizeof headers, "%sX-Request-Id: %s\r\nConnection: close\r\n", FAST, cid);
    chat_body(body, sizeof body, cid);
    free(fetch(gw.port, "/v1/chat/completions", headers, body));
    *done = metering_line(&gw, cid, 5000);
    snprintf(cid, sizeof cid, "%s-cancel", prefix);
    snprintf(headers, sizeof headers, "%sX-Request-Id: %s\r\n", TIMING, cid);
    chat_body(body, sizeof body, cid);
    int fd = harness_connect(gw.port, 0);
    if (fd >= 0 && harness_post(fd, "/v1/chat/completions", headers, body) == 0) {
        char *acc = NULL;
        size_t len = 0;
        harness_read_tokens(fd, K, 5000, &acc, &len);
        free(acc);
    }
    if (fd >= 0)
        harness_close_fin(fd);
    *cancelled = metering_line(&gw, cid, 5000);
    return harness_stop(&gw);
}

static void refgw_should_meter_usage_or_count_for_done_and_cancelled_streams(void)
{
    cJSON *ud, *uc, *cd, *cc;
    int rc1 = meter_pair("usage", "gw-mu", &ud, &uc);
    int rc2 = meter_pair("count", "gw-mc", &cd, &cc);
    /* usage: what the wire said, nothing when the stream was cut; count: what was forwarded */
    int ok = ud && uc && cd && cc && harness_num(ud, "output_tokens") == LENGTH &&
             harness_num(uc, "output_tokens") == 0 && harness_num(cd, "output_tokens") == LENGTH &&
             harness_num(cc, "output_tokens") == K &&
             harness_num(ud, "input_tokens") == INPUT_TOKENS &&
             harness_num(uc, "input_tokens") == 0 &&
             cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ud, "client_closed")) &&
             is_true(uc, "client_closed") && is_true(cc, "client_closed") &&
             harness_num(ud, "t_ms") >= 0 && harness_num(uc, "t_ms") >= harness_num(ud, "t_ms");
    if (!ok) {
        print_json("usage done", ud);
        print_json("usage cancelled", uc);
        print_json("count done", cd);
        print_json("count cancelled", cc);
    }
    cJSON_Delete(ud);
    cJSON_Delete(uc);
    cJSON_Delete(cd);
    cJSON_Delete(cc);
    CHECK(ok);
    CHECK_EQ_INT(rc1, 0);
    CHECK_EQ_INT(rc2, 0);
}

/* ---- load and backpressure ------------------------------------------------------------------- */

#define MANY 200
#define MANY_LENGTH 40 /* at 20 tokens/s: 2 s for a stream read to its end */

static void refgw_should_carry_hundreds_of_streams_at_once(void)
{
    struct proc gw;
    CHECK(start_refgw(&gw, "fixed", mock_url, "usage", NULL) == 0);
    static int fds[MANY];
    static char *acc[MANY];
    static size_t len[MANY];
    static int open_[MANY];
    int started = 0;
    for (int i = 0; i < MANY; i++) {
        char cid[32], headers[512], body[512];
        snprintf(cid, sizeof cid, "gw-many-%03d", i);
        /* A stream to be cut pauses after tok2 until the client has left: however late the
         * client reads it (200 streams opened one by one, under valgrind too), it cannot run to
         * its end first. */
        snprintf(headers, sizeof headers,
                 "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 20\r\nx-tailgate-jitter: 0\r\n"
                 "x-tailgate-length: %d\r\nX-Request-Id: %s\r\nConnection: close\r\n%s",
                 MANY_LENGTH, cid,
                 i % 2 == 0 ? "x-tailgate-fault: stall-after=3,stall-ms=60000\r\n" : "");
        chat_body(body, sizeof body, cid);
        acc[i] = NULL;
        len[i] = 0;
        fds[i] = harness_connect(gw.port, 0);
        open_[i] = fds[i] >= 0 && harness_post(fds[i], "/v1/chat/completions", headers, body) == 0;
        started += open_[i];
    }
    /* even streams leave after K tokens, odd ones read to the end */
    uint64_t deadline = clock_now_ns() + 30000000000ull;
    int left = started;
    while (left > 0 && clock_now_ns() < deadline) {
        struct pollfd pfd[MANY];
        int map[MANY], n = 0;
        for (int i = 0; i < MANY; i++) {
            if (open_[i]) {
                pfd[n].fd = fds[i];
                pfd[n].events = POLLIN;
                pfd[n].revents = 0;
                map[n++] = i;
            }
        }
        if (poll(pfd, (nfds_t)n, 100) <= 0)
            continue;
        for (int j = 0; j < n; j++) {
            if (!(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = map[j];
            char buf[16384];
            ssize_t r = recv(fds[i], buf, sizeof buf, 0);
            if (r > 0) {
                char *tmp = realloc(acc[i], len[i] + (size_t)r + 1);
                if (tmp == NULL)
                    continue;
                acc[i] = tmp;
                memcpy(acc[i] + len[i], buf, (size_t)r);
                len[i] += (size_t)r;
                acc[i][len[i]] = '\0';
            }
            int enough = i % 2 == 0 && acc[i] && strstr(acc[i], " tok2\"") != NULL;
            if (r <= 0 || enough) {
                harness_close_fin(fds[i]);
                open_[i] = 0;
                left--;
            }
        }
    }
    for (int i = 0; i < MANY; i++)
        if (open_[i])
            close(fds[i]);
    int complete = 0, cut = 0;
    for (int i = 0; i < MANY; i++) {
        if (i % 2 == 1)
            complete += acc[i] && tokens_in_order(acc[i], MANY_LENGTH) &&
                        strstr(acc[i], "data: [DONE]\n\n\r\n0\r\n\r\n") != NULL;
        else
            cut += acc[i] && strstr(acc[i], " tok2\"") != NULL;
        free(acc[i]);
    }
    cJSON *lines = metering_wait(&gw, "gw-many-", MANY, 20000);
    int rc = harness_stop(&gw);
    int metered = cJSON_GetArraySize(lines) == MANY;
    const cJSON *o;
    cJSON_ArrayForEach(o, lines)
    {
        int i = atoi(harness_str(o, "request_id") + 8);
        int closed = is_true(o, "client_closed");
        metered &= (i % 2 == 0) ? closed && harness_num(o, "output_tokens") == 0
                                : !closed && harness_num(o, "output_tokens") == MANY_LENGTH;
    }
    if (!metered)
        print_json("metering", lines);
    cJSON_Delete(lines);
    /* every cut stream's upstream closed with a FIN within a token */
    int fins = 0;
    for (int i = 0; i < MANY; i += 2) {
        char cid[32];
        snprintf(cid, sizeof cid, "gw-many-%03d", i);
        cJSON *recs = ledger_wait(cid, 1, 5000);
        const cJSON *rec = cJSON_GetArrayItem(recs, 0);
        fins += rec && harness_str(rec, "close_kind") &&
                strcmp(harness_str(rec, "close_kind"), "fin") == 0 &&
                harness_num(rec, "tail_tokens") <= 1;
        cJSON_Delete(recs);
    }
    CHECK_EQ_INT(started, MANY);
    CHECK_EQ_INT(complete, MANY / 2);
    CHECK_EQ_INT(cut, MANY / 2);
    CHECK(metered);
    CHECK_EQ_INT(fins, MANY / 2);
    CHECK_EQ_INT(rc, 0);
}

#define BIG_LENGTH 40000 /* ~9 MB of chat chunks: past every buffer on the way */

/* Reads to EOF (or timeout) into a buffer that doubles: the harness's append copies the whole
 * buffer per read under ASan's allocator, quadratic over 23 MB. Returns the bytes, malloc'd. */
static char *read_big(int fd, int timeout_ms)
{
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    while (buf && clock_now_ns() < deadline) {
        if (cap - len < 65536 + 1) {
            char *tmp = realloc(buf, cap * 2);
            if (tmp == NULL)
                break;
            buf = tmp;
            cap *= 2;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, buf + len, 65536, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

static void refgw_should_hold_back_the_upstream_for_a_slow_reader_and_lose_nothing(void)
{
    struct proc gw;
    CHECK(start_refgw(&gw, "fixed", mock_url, "count", NULL) == 0);
    char headers[512], body[512];
    snprintf(headers, sizeof headers,
             "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 1000000\r\nx-tailgate-jitter: 0\r\n"
             "x-tailgate-length: %d\r\nX-Request-Id: gw-big\r\nConnection: close\r\n",
             BIG_LENGTH);
    chat_body(body, sizeof body, "gw-big");
    int fd = harness_connect(gw.port, 4096);
    char *acc = NULL;
    if (fd >= 0 && harness_post(fd, "/v1/chat/completions", headers, body) == 0) {
        harness_sleep_ms(1500); /* not reading: refgw's output fills and it pauses upstream */
        acc = read_big(fd, 60000);
    }
    if (fd >= 0)
        close(fd);
    cJSON *m = metering_line(&gw, "gw-big", 10000);
    int rc = harness_stop(&gw);
    char *head = NULL;
    char *b = dechunk(acc, &head);
    int all = b && tokens_in_order(b, BIG_LENGTH) && strstr(b, "data: [DONE]\n\n") != NULL;
    int metered = m && harness_num(m, "output_tokens") == BIG_LENGTH;
    if (!metered)
        print_json("metering", m);
    free(acc);
    free(head);
    free(b);
    cJSON_Delete(m);
    CHECK(all);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
}

/* ---- the command line ------------------------------------------------------------------------ */

/* Over HTTP/1.1 a client leaving is a TCP close, never a stream reset: the leak mode cancels
 * exactly as fixed does, which is why every HTTP/1.1 test passes it. */
static void refgw_ignore_stream_reset_should_still_cancel_on_a_tcp_close(void)
{
    const char *const args[] = {"--ignore-stream-reset", NULL};
    struct abort_run r;
    CHECK(abort_run("fixed", "usage", args, "gw-isr-1", 1, &r) == 0);
    const cJSON *rec = cJSON_GetArrayItem(r.records, 0);
    int ok = cJSON_GetArraySize(r.records) == 1 && harness_str(rec, "close_kind") &&
             strcmp(harness_str(rec, "close_kind"), "fin") == 0 &&
             strcmp(harness_str(rec, "stop_reason"), "disconnect") == 0 &&
             harness_num(rec, "tail_tokens") <= 1 && harness_num(rec, "generated_tokens") < LENGTH;
    int metered = r.meter && is_true(r.meter, "client_closed") &&
                  harness_str(r.meter, "client_close") &&
                  strcmp(harness_str(r.meter, "client_close"), "fin") == 0 &&
                  harness_num(r.meter, "upstream_attempts") == 1;
    if (!ok || !metered) {
        print_json("records", r.records);
        print_json("metering", r.meter);
    }
    int rc = r.exit_status;
    abort_run_cleanup(&r);
    CHECK(ok);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
}

/* An https:// upstream over HTTP/1.1 (the default even where libcurl would offer h2): the mock
 * with --tls, trusted through the CA file it wrote; an abort is still a FIN under the session. */
static void refgw_should_relay_an_https_upstream_and_abort_it_with_a_fin(void)
{
    struct proc tm;
    char ca[160], url[96], port_file[160];
    CHECK(harness_proc_init(&tm) == 0);
    snprintf(ca, sizeof ca, "%s/ca.pem", tm.dir);
    snprintf(port_file, sizeof port_file, "%s/port", tm.dir);
    const char *tb = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    const char *margv[] = {tb,        "mock",  "--port",    "0", "--port-file",
                           port_file, "--tls", "--ca-file", ca,  NULL};
    if (harness_start(&tm, margv, port_file) != 0) {
        CHECK(!"the TLS mock started");
        return;
    }
    snprintf(url, sizeof url, "https://127.0.0.1:%d", tm.port);
    const char *const args[] = {"--upstream-ca", ca, NULL};
    struct proc gw;
    int started = start_refgw(&gw, "fixed", url, "usage", args) == 0;
    CHECK(started);
    int got = -1;
    cJSON *recs = NULL, *line = NULL;
    if (started) {
        char headers[512], body[512];
        snprintf(headers, sizeof headers, "%sX-Request-Id: gw-tls-1\r\n", TIMING);
        chat_body(body, sizeof body, "gw-tls-1");
        int fd = harness_connect(gw.port, 0);
        if (fd >= 0 && harness_post(fd, "/v1/chat/completions", headers, body) == 0) {
            char *acc = NULL;
            size_t len = 0;
            got = harness_read_tokens(fd, K, 5000, &acc, &len);
            free(acc);
            harness_close_fin(fd);
        } else if (fd >= 0) {
            close(fd);
        }
        line = metering_line(&gw, "gw-tls-1", 15000);
    }
    int rc = started ? harness_stop(&gw) : -1;
    /* the mock's ledger over its TLS admin API, trusting its CA (the harness's ledger helpers
     * speak plain HTTP) */
    for (int i = 0; i < 150 && recs == NULL; i++) {
        CURL *c = curl_easy_init();
        char lurl[160];
        snprintf(lurl, sizeof lurl, "%s/_tailgate/ledger?id=gw-tls-1", url);
        struct {
            char *p;
            size_t n;
        } buf = {NULL, 0};
        FILE *mem = open_memstream(&buf.p, &buf.n);
        curl_easy_setopt(c, CURLOPT_URL, lurl);
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        /* the admin API answers HTTP/1.1 only; ALPN would pick h2 */
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_cleanup(c);
        fclose(mem);
        cJSON *j = cc == CURLE_OK ? cJSON_Parse(buf.p) : NULL;
        free(buf.p);
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "records");
        const cJSON *rec = cJSON_GetArrayItem(arr, 0);
        if (rec && harness_str(rec, "state") && strcmp(harness_str(rec, "state"), "done") == 0)
            recs = cJSON_Duplicate(arr, 1);
        cJSON_Delete(j);
        if (recs == NULL)
            harness_sleep_ms(100);
    }
    harness_stop(&tm);
    const cJSON *rec = cJSON_GetArrayItem(recs, 0);
    int ok = cJSON_GetArraySize(recs) == 1 && harness_str(rec, "close_kind") &&
             strcmp(harness_str(rec, "close_kind"), "fin") == 0 &&
             harness_num(rec, "tail_tokens") <= 1 && harness_num(rec, "generated_tokens") < LENGTH;
    int metered = line && harness_num(line, "status") == 200 && is_true(line, "client_closed");
    if (!ok || !metered) {
        fprintf(stderr, "  the client read %d tokens\n", got);
        print_json("records", recs);
        print_json("metering", line);
    }
    cJSON_Delete(recs);
    cJSON_Delete(line);
    CHECK(ok);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
    CHECK_TIMING(got == K);
}

static void refgw_should_exit_2_with_one_line_naming_the_flag(void)
{
    const char *bin = getenv("REFGW_BIN") ? getenv("REFGW_BIN") : "build/refgw";
    static const struct {
        const char *args, *flag;
    } cases[] = {
        {"--upstream http://127.0.0.1:1", "--mode"},
        {"--mode naive", "--upstream"},
        {"--mode bogus --upstream http://127.0.0.1:1", "--mode"},
        {"--mode naive --upstream ftp://x", "--upstream"},
        {"--mode naive --upstream http://127.0.0.1:1 --listen nope", "--listen"},
        {"--mode naive --upstream http://127.0.0.1:1 --listen 127.0.0.1:70000", "--listen"},
        {"--mode slow --upstream http://127.0.0.1:1 --slow-ms -5", "--slow-ms"},
        {"--mode naive --upstream http://127.0.0.1:1 --metering tokens", "--metering"},
        {"--mode naive --upstream http://127.0.0.1:1 --bogus", "--bogus"},
        {"--mode naive --upstream http://127.0.0.1:1 extra", "extra"},
        {"--upstream http://127.0.0.1:1 --mode", "--mode"},
        {"--mode fixed --upstream http://127.0.0.1:1 --upstream-http 3", "--upstream-http"},
        {"--mode fixed --upstream http://127.0.0.1:1 --upstream-http 2", "--upstream-http"},
        {"--mode fixed --upstream http://127.0.0.1:1 --upstream-ca ca.pem", "--upstream-ca"},
        {"--mode naive --upstream http://127.0.0.1:1 --ignore-stream-reset",
         "--ignore-stream-reset"},
        {"--mode strip-headers --upstream http://127.0.0.1:1 --ignore-stream-reset",
         "--ignore-stream-reset"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s %s 2>&1 >/dev/null", bin, cases[i].args);
        FILE *f = popen(cmd, "r");
        CHECK(f != NULL);
        char out[1024] = "";
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = '\0';
        int st = pclose(f);
        int lines = 0;
        for (char *p = out; *p; p++)
            lines += *p == '\n';
        int ok = WIFEXITED(st) && WEXITSTATUS(st) == 2 && lines == 1 &&
                 strstr(out, cases[i].flag) != NULL;
        if (!ok)
            fprintf(stderr, "  '%s' exited %d: %s", cases[i].args, WEXITSTATUS(st), out);
        CHECK(ok);
    }
}

/* ---- the meter, from tables ------------------------------------------------------------------ */

static void meter_should_find_usage_in_each_vendor_shape(void)
{
    static const struct {
        const char *json;
        int64_t out, in;
    } rows[] = {
        /* OpenAI chat: the usage chunk, and the ordinary chunks before it */
        {"{\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":40,"
         "\"total_tokens\":47}}",
         40, 7},
        {"{\"choices\":[{\"delta\":{\"content\":\" tok1\"}}],\"usage\":null}", -1, -1},
        /* Responses: only the terminal events count; earlier ones carry "usage": null */
        {"{\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":5,"
         "\"output_tokens\":12}}}",
         12, 5},
        {"{\"type\":\"response.incomplete\",\"response\":{\"usage\":{\"input_tokens\":5,"
         "\"output_tokens\":3}}}",
         3, 5},
        {"{\"type\":\"response.created\",\"response\":{\"usage\":null}}", -1, -1},
        {"{\"type\":\"response.output_text.delta\",\"usage\":{\"output_tokens\":9}}", -1, -1},
        /* Anthropic: message_start knows the input; its output is a placeholder */
        {"{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":4,"
         "\"output_tokens\":1}}}",
         -1, 4},
        {"{\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":15}}", 15, -1},
        /* non-streaming bodies */
        {"{\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":2,"
         "\"completion_tokens\":8}}",
         8, 2},
        {"{\"type\":\"message\",\"usage\":{\"input_tokens\":1,\"output_tokens\":5}}", 5, 1},
        /* Gemini: usageMetadata on every chunk and on the generateContent body; thoughts are
         * billed as output; a stream without alt=sse is one array, its last usage wins */
        {"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" tok0\"}],\"role\":\"model\"}}],"
         "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":5,"
         "\"totalTokenCount\":9},\"modelVersion\":\"g\"}",
         5, 4},
        {"{\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":5,"
         "\"thoughtsTokenCount\":30,\"totalTokenCount\":39}}",
         35, 4},
        {"{\"usageMetadata\":{\"promptTokenCount\":4,\"totalTokenCount\":4}}", -1, 4},
        {"[{\"usageMetadata\":{\"promptTokenCount\":2,\"candidatesTokenCount\":1}},"
         "{\"usageMetadata\":{\"promptTokenCount\":2,\"candidatesTokenCount\":3}},"
         "{\"error\":{\"code\":500}}]",
         3, 2},
        {"{\"usageMetadata\":null}", -1, -1},
        {"[{\"usageMetadata\":{\"candidatesTokenCount\":-1}}]", -1, -1},
        /* junk */
        {"{\"usage\":{\"completion_tokens\":-3}}", -1, -1},
        {"{\"usage\":{\"completion_tokens\":\"7\"}}", -1, -1},
        {"[1,2]", -1, -1},
        {"{\"usage\":{\"completion_tokens\":4", -1, -1},
        {"", -1, -1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t out, in;
        int found = meter_usage_from_json(rows[i].json, strlen(rows[i].json), &out, &in);
        int want_found = rows[i].out >= 0 || rows[i].in >= 0;
        if (out != rows[i].out || in != rows[i].in || found != want_found)
            fprintf(stderr, "  row %zu: out %lld in %lld\n", i, (long long)out, (long long)in);
        CHECK_EQ_INT(out, rows[i].out);
        CHECK_EQ_INT(in, rows[i].in);
        CHECK_EQ_INT(found, want_found);
    }
}

/* A chat stream whose usage chunk says 3 output tokens, CRLF line ends on some lines. */
static const char chat_stream[] =
    "data: {\"choices\":[{\"delta\":{\"content\":\" tok0\"}}],\"usage\":null}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" tok1\"}}],\"usage\":null}\r\n\r\n"
    ": a comment with \"usage\":{\"completion_tokens\":99}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" tok2\"}}],\"usage\":null}\n\n"
    "data:{\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3}}\r\n\r\n"
    "data: [DONE]\n\n";

static const char anthropic_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":6,"
    "\"output_tokens\":1}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\" tok0\"}}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":1}}"; /* no final newline */

static void feed_split(struct meter *m, const char *ct, const char *s, size_t cut)
{
    size_t n = strlen(s);
    meter_begin(m, ct);
    meter_feed(m, s, cut);
    meter_count(m, s, cut);
    meter_feed(m, s + cut, n - cut);
    meter_count(m, s + cut, n - cut);
    meter_end(m);
    meter_count_end(m);
}

static void meter_should_read_sse_usage_at_every_split_point(void)
{
    for (size_t cut = 0; cut <= sizeof chat_stream - 1; cut++) {
        struct meter m;
        meter_init(&m);
        feed_split(&m, "text/event-stream; charset=utf-8", chat_stream, cut);
        int ok = m.output_tokens == 3 && m.input_tokens == 2 && m.tokens == 3 &&
                 m.responses_with_usage == 1 && m.oversized == 0;
        meter_cleanup(&m);
        if (!ok)
            fprintf(stderr, "  chat cut at %zu\n", cut);
        CHECK(ok);
    }
    for (size_t cut = 0; cut <= sizeof anthropic_stream - 1; cut++) {
        struct meter m;
        meter_init(&m);
        feed_split(&m, "Text/Event-Stream", anthropic_stream, cut);
        int ok = m.output_tokens == 1 && m.input_tokens == 6 && m.tokens == 1;
        meter_cleanup(&m);
        if (!ok)
            fprintf(stderr, "  anthropic cut at %zu\n", cut);
        CHECK(ok);
    }
}

/* A Gemini SSE stream: usageMetadata cumulative on every chunk, no [DONE]. */
static const char gemini_stream[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" tok0\"}],\"role\":\"model\"},"
    "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":2,\"candidatesTokenCount\":1,"
    "\"totalTokenCount\":3}}\n\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" tok1\"}],\"role\":\"model\"},"
    "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":2,\"candidatesTokenCount\":2,"
    "\"totalTokenCount\":4}}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}],\"role\":\"model\"},"
    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":2,"
    "\"candidatesTokenCount\":2,\"totalTokenCount\":4}}\n\n";

static void meter_should_read_gemini_usage_at_every_split_point(void)
{
    for (size_t cut = 0; cut <= sizeof gemini_stream - 1; cut++) {
        struct meter m;
        meter_init(&m);
        feed_split(&m, "text/event-stream", gemini_stream, cut);
        int ok = m.output_tokens == 2 && m.input_tokens == 2 && m.tokens == 2 &&
                 m.responses_with_usage == 1 && m.oversized == 0;
        meter_cleanup(&m);
        if (!ok)
            fprintf(stderr, "  gemini cut at %zu\n", cut);
        CHECK(ok);
    }
    /* cut after its first chunk, the gateway knows one token: the running count */
    struct meter m;
    meter_init(&m);
    meter_begin(&m, "text/event-stream");
    meter_feed(&m, gemini_stream,
               strstr(gemini_stream, "data: {\"candidates\":[{\"content\":"
                                     "{\"parts\":[{\"text\":\" tok1") -
                   gemini_stream);
    meter_end(&m);
    int ok = m.output_tokens == 1 && m.input_tokens == 2;
    meter_cleanup(&m);
    CHECK(ok);
    /* the same chunks as one JSON array (no alt=sse), byte by byte */
    static const char array[] =
        "[{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":2,\"candidatesTokenCount\":1}}"
        ",\r\n{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":2,"
        "\"candidatesTokenCount\":2}}]";
    meter_init(&m);
    meter_begin(&m, "application/json; charset=UTF-8");
    for (size_t i = 0; i < sizeof array - 1; i++)
        meter_feed(&m, array + i, 1);
    meter_end(&m);
    ok = m.output_tokens == 2 && m.input_tokens == 2 && m.responses_with_usage == 1;
    meter_cleanup(&m);
    CHECK(ok);
}

static void meter_should_read_a_json_body_byte_by_byte(void)
{
    static const char body[] =
        "{\n  \"type\": \"message\",\n  \"content\": [{\"text\": \" tok0 tok1\"}],\n"
        "  \"usage\": {\"input_tokens\": 3, \"output_tokens\": 2}\n}\n";
    struct meter m;
    meter_init(&m);
    meter_begin(&m, "application/json");
    for (size_t i = 0; i < sizeof body - 1; i++) {
        meter_feed(&m, body + i, 1);
        meter_count(&m, body + i, 1);
    }
    meter_end(&m);
    meter_count_end(&m);
    int ok = m.output_tokens == 2 && m.input_tokens == 3 && m.tokens == 2;
    meter_cleanup(&m);
    CHECK(ok);
}

static void meter_should_count_each_token_once_whatever_the_framing(void)
{
    static const struct {
        const char *text;
        uint64_t tokens;
    } rows[] = {
        {" tok0 tok1 tok2", 3},
        {"\" tok0\"\" tok1\" then the whole text again: \" tok0 tok1\"", 2},
        {" tok0 tok1 tok1 tok2", 3},         /* a duplicate counts once */
        {" tok0 tok5", 2},                   /* a gap: what was forwarded, not what is missing */
        {" tokx tok tok 3 tok0", 1},         /* no digits: not a token */
        {"  tok0", 1},                       /* the space before may repeat */
        {"tok0 stok1 tok2", 1},              /* needs the leading space */
        {" tok1234567890123456789 tok0", 1}, /* past the digit cap: void */
        {" tok7", 1},                        /* cut at the very end */
        {"", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t n = strlen(rows[i].text);
        for (size_t cut = 0; cut <= n; cut++) {
            struct meter m;
            meter_init(&m);
            meter_count(&m, rows[i].text, cut);
            meter_count(&m, rows[i].text + cut, n - cut);
            meter_count_end(&m);
            if (m.tokens != rows[i].tokens)
                fprintf(stderr, "  row %zu cut %zu: %llu tokens\n", i, cut,
                        (unsigned long long)m.tokens);
            CHECK_EQ_INT(m.tokens, rows[i].tokens);
        }
    }
}

static void meter_should_skip_a_line_over_the_cap_and_go_on(void)
{
    size_t big = METER_LINE_MAX + 100;
    char *s = malloc(big + 200);
    CHECK(s != NULL);
    size_t n = (size_t)snprintf(s, 200, "data: {\"usage\":{\"completion_tokens\":77},\"pad\":\"");
    memset(s + n, 'x', big - n);
    n = big;
    n += (size_t)snprintf(s + n, 200, "\"}\n\ndata: {\"usage\":{\"completion_tokens\":5}}\n\n");
    struct meter m;
    meter_init(&m);
    meter_begin(&m, "text/event-stream");
    /* in pieces, as curl hands them over */
    for (size_t off = 0; off < n; off += 16384)
        meter_feed(&m, s + off, n - off < 16384 ? n - off : 16384);
    meter_end(&m);
    free(s);
    int ok = m.output_tokens == 5 && m.oversized == 1;
    meter_cleanup(&m);
    CHECK(ok);
}

static void meter_should_sum_usage_over_responses_and_not_count_a_cut_one(void)
{
    static const char done[] = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,"
                               "\"completion_tokens\":40}}\n\n";
    static const char cut[] = "data: {\"choices\":[{\"delta\":{\"content\":\" tok0\"}}],"
                              "\"usage\":null}\n\ndata: {\"choi";
    struct meter m;
    meter_init(&m);
    meter_begin(&m, "text/event-stream");
    meter_feed(&m, cut, sizeof cut - 1);
    meter_end(&m);
    meter_end(&m); /* twice is harmless */
    meter_begin(&m, "text/event-stream");
    meter_feed(&m, done, sizeof done - 1);
    meter_end(&m);
    int ok = m.output_tokens == 40 && m.input_tokens == 2 && m.responses_with_usage == 1;
    meter_cleanup(&m);
    CHECK(ok);
}

/* ---- Bedrock --------------------------------------------------------------------------------- */

/* Appends one event-stream message (type, payload) to buf at *at. */
static int es_put(char *buf, size_t cap, size_t *at, const char *type, const char *payload)
{
    struct eventstream_header h[3] = {
        {":event-type", 11, EVENTSTREAM_STRING, type, strlen(type)},
        {":content-type", 13, EVENTSTREAM_STRING, "application/json", 16},
        {":message-type", 13, EVENTSTREAM_STRING, "event", 5},
    };
    long n = eventstream_encode(buf + *at, cap - *at, h, 3, payload, strlen(payload));
    if (n < 0)
        return -1;
    *at += (size_t)n;
    return 0;
}

/* An InvokeModel chunk: {"bytes": base64 of the Anthropic event}. */
static int es_chunk(char *buf, size_t cap, size_t *at, const char *event)
{
    char b64[1024], payload[1100];
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)event, (int)strlen(event));
    snprintf(payload, sizeof payload, "{\"bytes\":\"%s\"}", b64);
    return es_put(buf, cap, at, "chunk", payload);
}

/* Feeds a binary stream in two parts cut at 'cut', and ends it. */
static void feed_bin(struct meter *m, const char *ct, const char *s, size_t n, size_t cut)
{
    meter_begin(m, ct);
    meter_feed(m, s, cut);
    meter_feed(m, s + cut, n - cut);
    meter_end(m);
}

static void meter_should_read_bedrock_usage_at_every_split_point(void)
{
    char conv[2048], inv[4096];
    size_t cl = 0, il = 0;
    CHECK(es_put(conv, sizeof conv, &cl, "messageStart", "{\"role\":\"assistant\"}") == 0);
    CHECK(es_put(conv, sizeof conv, &cl, "contentBlockDelta",
                 "{\"contentBlockIndex\":0,\"delta\":{\"text\":\" tok0\"}}") == 0);
    CHECK(es_put(conv, sizeof conv, &cl, "contentBlockDelta",
                 "{\"contentBlockIndex\":0,\"delta\":{\"text\":\" tok1\"}}") == 0);
    CHECK(es_put(conv, sizeof conv, &cl, "contentBlockStop", "{\"contentBlockIndex\":0}") == 0);
    CHECK(es_put(conv, sizeof conv, &cl, "messageStop", "{\"stopReason\":\"end_turn\"}") == 0);
    size_t before_meta = cl;
    CHECK(es_put(conv, sizeof conv, &cl, "metadata",
                 "{\"usage\":{\"inputTokens\":2,\"outputTokens\":2,\"totalTokens\":4},"
                 "\"metrics\":{\"latencyMs\":5}}") == 0);
    CHECK(es_chunk(inv, sizeof inv, &il,
                   "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":2,"
                   "\"output_tokens\":1}}}") == 0);
    CHECK(es_chunk(inv, sizeof inv, &il,
                   "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                   "\"text_delta\",\"text\":\" tok0\"}}") == 0);
    size_t before_delta = il;
    CHECK(es_chunk(inv, sizeof inv, &il,
                   "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
                   "\"usage\":{\"output_tokens\":3}}") == 0);
    CHECK(es_chunk(inv, sizeof inv, &il, "{\"type\":\"message_stop\"}") == 0);
    for (size_t cut = 0; cut <= cl; cut++) {
        struct meter m;
        meter_init(&m);
        feed_bin(&m, "application/vnd.amazon.eventstream", conv, cl, cut);
        int ok = m.output_tokens == 2 && m.input_tokens == 2 && m.responses_with_usage == 1 &&
                 m.oversized == 0;
        meter_cleanup(&m);
        if (!ok)
            fprintf(stderr, "  converse cut at %zu\n", cut);
        CHECK(ok);
    }
    for (size_t cut = 0; cut <= il; cut++) {
        struct meter m;
        meter_init(&m);
        feed_bin(&m, "application/vnd.amazon.eventstream", inv, il, cut);
        int ok = m.output_tokens == 3 && m.input_tokens == 2 && m.responses_with_usage == 1;
        meter_cleanup(&m);
        if (!ok)
            fprintf(stderr, "  invoke cut at %zu\n", cut);
        CHECK(ok);
    }
    /* cut before the usage: ConverseStream's gateway learns nothing (usage rides only on the
     * last event), InvokeModel's the input only */
    struct meter m;
    meter_init(&m);
    feed_bin(&m, "application/vnd.amazon.eventstream", conv, before_meta, before_meta);
    int ok = m.output_tokens == 0 && m.input_tokens == 0 && m.responses_with_usage == 0;
    meter_cleanup(&m);
    CHECK(ok);
    meter_init(&m);
    feed_bin(&m, "application/vnd.amazon.eventstream", inv, before_delta, before_delta);
    ok = m.output_tokens == 0 && m.input_tokens == 2;
    meter_cleanup(&m);
    CHECK(ok);
    /* the token counter over the forwarded bytes reads inside the framing: InvokeModel's
     * tokens are base64 in its chunks */
    for (size_t cut = 0; cut <= il; cut += 7) {
        meter_init(&m);
        meter_begin(&m, "application/vnd.amazon.eventstream");
        meter_count(&m, inv, cut);
        meter_count(&m, inv + cut, il - cut);
        meter_count_end(&m);
        meter_end(&m);
        ok = m.tokens == 1;
        meter_cleanup(&m);
        if (!ok)
            fprintf(stderr, "  invoke count cut at %zu\n", cut);
        CHECK(ok);
    }
    meter_init(&m);
    meter_begin(&m, "application/vnd.amazon.eventstream");
    for (size_t i = 0; i < cl; i++)
        meter_count(&m, conv + i, 1);
    meter_count_end(&m);
    meter_end(&m);
    ok = m.tokens == 2;
    meter_cleanup(&m);
    CHECK(ok);
    /* a corrupt message: nothing after it is metered, nothing crashes */
    char bad[2048];
    memcpy(bad, conv, cl);
    bad[9] ^= 1; /* the first prelude's CRC */
    meter_init(&m);
    feed_bin(&m, "application/vnd.amazon.eventstream", bad, cl, cl / 2);
    ok = m.output_tokens == 0 && m.oversized == 1;
    meter_cleanup(&m);
    CHECK(ok);
}

/* Reads until k of the mock's tokens went by (binary-safe: event-stream framing has NULs), or
 * EOF, or timeout. Returns the count. */
static int read_bin_tokens(int fd, int k, int timeout_ms)
{
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char buf[16384];
    int n = 0;
    while (n < k && clock_now_ns() < deadline) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            break;
        for (const char *p = buf; (p = memmem(p, (size_t)(buf + r - p), " tok", 4)) != NULL; p += 4)
            n++;
    }
    return n;
}

#define BEDROCK_CONVERSE_BODY                                                                      \
    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"abcdefgh\"}]}]}"
#define BEDROCK_INVOKE_BODY                                                                        \
    "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":100,\"messages\":[{\"role\":"    \
    "\"user\",\"content\":\"abcdefgh\"}]}"

/* Bedrock's routes pass through refgw (the model id's %3A kept, the SigV4 headers forwarded: the
 * mock records the signature) and are metered from their event-stream messages: ConverseStream's
 * metadata usage, InvokeModel's chunks decoded, Converse's body. A ConverseStream the client left
 * is cut upstream within a token, and a gateway that trusts usage meters nothing for it. */
static void refgw_should_relay_bedrock_and_meter_its_usage(void)
{
    struct proc gw;
    CHECK(start_refgw(&gw, "fixed", mock_url, "usage", NULL) == 0);
    static const struct {
        const char *path, *body;
    } rows[] = {
        {"/model/anthropic.claude-v2%3A1/converse-stream", BEDROCK_CONVERSE_BODY},
        {"/model/anthropic.claude-v2%3A1/invoke-with-response-stream", BEDROCK_INVOKE_BODY},
        {"/model/anthropic.claude-v2%3A1/converse", BEDROCK_CONVERSE_BODY},
    };
    int relayed = 1;
    for (size_t a = 0; a < 3; a++) {
        char headers[512];
        snprintf(headers, sizeof headers,
                 "%sX-Request-Id: gw-br-%zu\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/"
                 "20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00\r\n"
                 "x-amz-date: 20260101T000000Z\r\nConnection: close\r\n",
                 FAST, a);
        char *via = fetch(gw.port, rows[a].path, headers, rows[a].body);
        int ok = via && strncmp(via, "HTTP/1.1 200 ", 13) == 0 &&
                 (a == 2 ? strstr(via, "application/json") != NULL
                         : strstr(via, "Content-Type: application/vnd.amazon.eventstream") != NULL);
        if (!ok)
            fprintf(stderr, "  %s via refgw: %.300s\n", rows[a].path, via ? via : "(none)");
        relayed = relayed && ok;
        free(via);
    }
    cJSON *lines = metering_wait(&gw, "gw-br-", 3, 5000);
    int metered = cJSON_GetArraySize(lines) == 3;
    const cJSON *o;
    cJSON_ArrayForEach(o, lines)
    {
        metered = metered && harness_num(o, "output_tokens") == LENGTH &&
                  harness_num(o, "input_tokens") == INPUT_TOKENS &&
                  harness_num(o, "status") == 200 &&
                  strncmp(harness_str(o, "path"), "/model/anthropic.claude-v2%3A1/", 31) == 0;
    }
    if (!metered)
        print_json("metering", lines);
    cJSON_Delete(lines);
    cJSON *recs = ledger_wait("gw-br-0", 1, 5000);
    const cJSON *r0 = cJSON_GetArrayItem(recs, 0);
    int signed_ok = r0 && is_true(r0, "sigv4") &&
                    strcmp(harness_str(r0, "model"), "anthropic.claude-v2:1") == 0 &&
                    strcmp(harness_str(r0, "api"), "bedrock") == 0;
    if (!signed_ok)
        print_json("records", recs);
    cJSON_Delete(recs);

    char headers[512];
    snprintf(headers, sizeof headers, "%sX-Request-Id: gw-br-cancel\r\n", TIMING);
    int fd = harness_connect(gw.port, 0);
    int got = -1;
    if (fd >= 0 && harness_post(fd, rows[0].path, headers, rows[0].body) == 0)
        got = read_bin_tokens(fd, K, 5000);
    if (fd >= 0)
        harness_close_fin(fd);
    recs = ledger_wait("gw-br-cancel", 1, 15000);
    cJSON *cut = metering_line(&gw, "gw-br-cancel", 15000);
    int rc = harness_stop(&gw);
    const cJSON *rec = cJSON_GetArrayItem(recs, 0);
    int cancelled = rec && strcmp(harness_str(rec, "api"), "bedrock") == 0 &&
                    harness_str(rec, "close_kind") &&
                    strcmp(harness_str(rec, "stop_reason"), "disconnect") == 0 &&
                    harness_num(rec, "tail_tokens") <= 1 && cut && is_true(cut, "client_closed") &&
                    harness_num(cut, "output_tokens") == 0 && harness_num(cut, "input_tokens") == 0;
    int exact = got == K && rec && strcmp(harness_str(rec, "close_kind"), "fin") == 0 &&
                harness_num(rec, "generated_tokens") == K + harness_num(rec, "tail_tokens");
    if (!cancelled || !exact) {
        fprintf(stderr, "  the client read %d tokens\n", got);
        print_json("records", recs);
        print_json("metering", cut);
    }
    cJSON_Delete(recs);
    cJSON_Delete(cut);
    CHECK(relayed);
    CHECK(metered);
    CHECK(signed_ok);
    CHECK(cancelled);
    CHECK_TIMING(exact);
    CHECK_EQ_INT(rc, 0);
}

/* ---- legacy completions and Ollama through refgw --------------------------------------------- */

#define CMPL_BODY                                                                                  \
    "{\"model\":\"m\",\"prompt\":\"abcdefgh\",\"stream\":true,\"stream_options\":{\"include_"      \
    "usage\":true}}"
#define OLLAMA_BODY                                                                                \
    "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}"

/* Everything before the last line of an NDJSON body (the token lines; the done line's durations
 * differ from run to run). */
static char *before_last_line(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    if (n > 0 && s[n - 1] == '\n')
        n--;
    while (n > 0 && s[n - 1] != '\n')
        n--;
    return strndup(s, n);
}

/* The legacy completions stream, Azure OpenAI's (its path and api-version, the api-key header)
 * and Ollama's chat and generate (NDJSON, streamed by default,
 * and stream:false) pass through unchanged and are metered from their usage chunk or done line
 * (eval_count, prompt_eval_count); a client that leaves an Ollama stream has it cut upstream. */
static void refgw_should_relay_completions_and_ollama_and_meter_their_usage(void)
{
    struct proc gw;
    CHECK(start_refgw(&gw, "fixed", mock_url, "usage", NULL) == 0);
    static const struct {
        const char *path, *body, *end, *ctype;
        int ndjson, streamed;
    } rows[] = {
        {"/v1/completions", CMPL_BODY, "data: [DONE]", "text/event-stream; charset=utf-8", 0, 1},
        {"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
         "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":"
         "\"user\",\"content\":\"abcdefgh\"}]}",
         "\"content_filter_results\":{}", "text/event-stream; charset=utf-8", 0, 1},
        {"/api/chat", OLLAMA_BODY, "\"done\":true", "application/x-ndjson", 1, 1},
        {"/api/generate", "{\"model\":\"llama3.2\",\"prompt\":\"abcdefgh\"}", "\"done\":true",
         "application/x-ndjson", 1, 1},
        {"/api/chat",
         "{\"model\":\"llama3.2\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":"
         "\"abcdefgh\"}]}",
         "\"done\":true", "application/json", 0, 0},
    };
    enum { NROWS = sizeof rows / sizeof rows[0] };
    for (size_t a = 0; a < NROWS; a++) {
        char headers[512];
        snprintf(headers, sizeof headers,
                 "%sX-Request-Id: gw-vend-%zu\r\napi-key: k\r\nConnection: close\r\n", FAST, a);
        char *via = fetch(gw.port, rows[a].path, headers, rows[a].body);
        snprintf(headers, sizeof headers, "%sX-Request-Id: gw-vendd-%zu\r\nConnection: close\r\n",
                 FAST, a);
        char *direct = fetch(mock.port, rows[a].path, headers, rows[a].body);
        char *hv = NULL, *hd = NULL;
        char *bv = dechunk(via, &hv), *bd = dechunk(direct, &hd);
        if (bv == NULL && via && strstr(via, "\r\n\r\n")) /* a whole body: not chunked */
            bv = strdup(strstr(via, "\r\n\r\n") + 4);
        if (bd == NULL && direct && strstr(direct, "\r\n\r\n"))
            bd = strdup(strstr(direct, "\r\n\r\n") + 4);
        char cv[128];
        const char *tv = header_value(hv ? hv : via, "\r\nContent-Type: ", cv, sizeof cv);
        int ok = bv && strstr(bv, rows[a].end) != NULL && strstr(bv, " tok39") != NULL &&
                 strncmp(via, "HTTP/1.1 200 ", 13) == 0 && tv && strcmp(tv, rows[a].ctype) == 0;
        if (rows[a].streamed)
            ok = ok && tokens_in_order(bv, LENGTH);
        int same;
        if (rows[a].ndjson) {
            char *lv = before_last_line(bv), *ld = before_last_line(bd);
            same = same_but_ids(lv, ld);
            free(lv);
            free(ld);
        } else {
            same = rows[a].streamed ? same_but_ids(bv, bd) : bv && bd;
        }
        if (!ok || !same)
            fprintf(stderr, "  %s via refgw:\n%s\n  direct:\n%s\n", rows[a].path,
                    via ? via : "(none)", direct ? direct : "(none)");
        free(via);
        free(direct);
        free(hv);
        free(hd);
        free(bv);
        free(bd);
        CHECK(ok);
        CHECK(same);
    }
    cJSON *lines = metering_wait(&gw, "gw-vend-", NROWS, 5000);
    int metered = cJSON_GetArraySize(lines) == NROWS;
    const cJSON *o;
    cJSON_ArrayForEach(o, lines)
    {
        metered &= harness_num(o, "output_tokens") == LENGTH &&
                   harness_num(o, "input_tokens") == INPUT_TOKENS &&
                   harness_num(o, "status") == 200 &&
                   cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "client_closed"));
    }
    if (!metered)
        print_json("metering", lines);
    cJSON_Delete(lines);
    CHECK(metered);

    /* the client leaves an Ollama stream after K tokens (a FIN): refgw closes its upstream */
    char headers[512];
    snprintf(headers, sizeof headers, "%sX-Request-Id: gw-ollama-cancel\r\n", TIMING);
    int fd = harness_connect(gw.port, 0);
    int got = -1;
    if (fd >= 0 && harness_post(fd, "/api/chat", headers, OLLAMA_BODY) == 0) {
        char *acc = NULL;
        size_t len = 0;
        got = harness_read_tokens(fd, K, 5000, &acc, &len);
        free(acc);
    }
    if (fd >= 0)
        harness_close_fin(fd);
    cJSON *recs = ledger_wait("gw-ollama-cancel", 1, 15000);
    cJSON *cut = metering_line(&gw, "gw-ollama-cancel", 15000);
    int rc = harness_stop(&gw);
    const cJSON *rec = cJSON_GetArrayItem(recs, 0);
    int cancelled = rec && strcmp(harness_str(rec, "api"), "ollama") == 0 &&
                    harness_str(rec, "close_kind") &&
                    strcmp(harness_str(rec, "stop_reason"), "disconnect") == 0 &&
                    harness_num(rec, "tail_tokens") <= 1 && cut && is_true(cut, "client_closed") &&
                    harness_num(cut, "output_tokens") == 0; /* no done line: no usage seen */
    int exact = got == K && rec && strcmp(harness_str(rec, "close_kind"), "fin") == 0 &&
                harness_num(rec, "written_tokens") == K;
    if (!cancelled || !exact) {
        print_json("ledger", recs);
        print_json("metering", cut);
    }
    cJSON_Delete(recs);
    cJSON_Delete(cut);
    CHECK(cancelled);
    CHECK_TIMING(exact);
    CHECK_EQ_INT(rc, 0);
}

/* Ollama's done line and body give its counts to the meter, as NDJSON split at every byte */
static void meter_should_read_ollama_counts_at_every_split_point(void)
{
    static const char s[] =
        "{\"model\":\"m\",\"created_at\":\"2026-01-01T00:00:00.000000000Z\",\"message\":{\"role\":"
        "\"assistant\",\"content\":\" tok0\"},\"done\":false}\n"
        "{\"model\":\"m\",\"created_at\":\"2026-01-01T00:00:00.000000000Z\",\"message\":{\"role\":"
        "\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":"
        "5,\"load_duration\":0,\"prompt_eval_count\":9,\"prompt_eval_duration\":2,\"eval_count\":"
        "41,\"eval_duration\":3}\n";
    size_t n = sizeof s - 1;
    int all = 1;
    for (size_t cutp = 0; cutp <= n; cutp++) {
        struct meter m;
        meter_init(&m);
        meter_begin(&m, "application/x-ndjson");
        meter_feed(&m, s, cutp);
        meter_feed(&m, s + cutp, n - cutp);
        meter_end(&m);
        all &= m.output_tokens == 41 && m.input_tokens == 9 && m.responses_with_usage == 1;
        meter_cleanup(&m);
    }
    CHECK(all);
    int64_t out, in;
    CHECK_EQ_INT(meter_usage_from_json("{\"done\":true,\"eval_count\":4,\"prompt_eval_count\":2}",
                                       50, &out, &in),
                 1);
    CHECK_EQ_INT(out, 4);
    CHECK_EQ_INT(in, 2);
    /* a cut stream (no done line) reports nothing */
    struct meter m;
    meter_init(&m);
    meter_begin(&m, "application/x-ndjson");
    meter_feed(&m, s, 120);
    meter_end(&m);
    CHECK_EQ_INT(m.responses_with_usage, 0);
    meter_cleanup(&m);
}

/* ---- Gemini through refgw -------------------------------------------------------------------- */

#define GEMINI_SSE "/v1beta/models/gemini-test:streamGenerateContent?alt=sse"
#define GEMINI_BODY "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"abcdefgh\"}]}]}"

/* Gemini's three answers pass through unchanged and are metered from usageMetadata; a stream the
 * client left is cut upstream within a token, and the gateway that trusts usage meters the
 * running count of the last chunk it saw (Gemini's chunks all carry one). */
static void refgw_should_relay_gemini_and_meter_its_usage(void)
{
    struct proc gw;
    CHECK(start_refgw(&gw, "fixed", mock_url, "usage", NULL) == 0);
    static const struct {
        const char *path, *end, *ctype;
    } rows[] = {
        {GEMINI_SSE, "\"finishReason\":\"STOP\"", "text/event-stream"},
        {"/v1beta/models/gemini-test:streamGenerateContent", "\"finishReason\":\"STOP\"",
         "application/json; charset=UTF-8"},
        {"/v1beta/models/gemini-test:generateContent", "\"finishReason\":\"STOP\"",
         "application/json"},
    };
    int ok[3] = {0}, same[3] = {0};
    for (size_t a = 0; a < 3; a++) {
        char headers[512];
        snprintf(headers, sizeof headers,
                 "%sX-Request-Id: gw-gem-%zu\r\nx-goog-api-key: k\r\nConnection: close\r\n", FAST,
                 a);
        char *via = fetch(gw.port, rows[a].path, headers, GEMINI_BODY);
        snprintf(headers, sizeof headers, "%sX-Request-Id: gw-gemd-%zu\r\nConnection: close\r\n",
                 FAST, a);
        char *direct = fetch(mock.port, rows[a].path, headers, GEMINI_BODY);
        char *hv = NULL, *hd = NULL;
        char *bv = dechunk(via, &hv), *bd = dechunk(direct, &hd);
        if (bv == NULL && via && strstr(via, "\r\n\r\n")) /* generateContent: not chunked */
            bv = strdup(strstr(via, "\r\n\r\n") + 4);
        if (bd == NULL && direct && strstr(direct, "\r\n\r\n"))
            bd = strdup(strstr(direct, "\r\n\r\n") + 4);
        char cv[128];
        const char *tv = header_value(hv ? hv : via, "\r\nContent-Type: ", cv, sizeof cv);
        ok[a] = bv && strstr(bv, rows[a].end) != NULL && strstr(bv, " tok39") != NULL &&
                strstr(bv, "[DONE]") == NULL && strncmp(via, "HTTP/1.1 200 ", 13) == 0 && tv &&
                strcmp(tv, rows[a].ctype) == 0;
        if (a < 2)
            ok[a] = ok[a] && tokens_in_order(bv, LENGTH);
        same[a] = same_but_ids(bv, bd);
        if (!ok[a] || !same[a])
            fprintf(stderr, "  %s via refgw:\n%s\n  direct:\n%s\n", rows[a].path,
                    via ? via : "(none)", direct ? direct : "(none)");
        free(via);
        free(direct);
        free(hv);
        free(hd);
        free(bv);
        free(bd);
    }
    cJSON *lines = metering_wait(&gw, "gw-gem-", 3, 5000);
    int metered = cJSON_GetArraySize(lines) == 3;
    const cJSON *o;
    cJSON_ArrayForEach(o, lines)
    {
        metered &= harness_num(o, "output_tokens") == LENGTH &&
                   harness_num(o, "input_tokens") == INPUT_TOKENS &&
                   harness_num(o, "status") == 200 &&
                   strncmp(harness_str(o, "path"), "/v1beta/models/gemini-test:", 27) == 0 &&
                   cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "client_closed"));
    }
    if (!metered)
        print_json("metering", lines);
    cJSON_Delete(lines);

    /* a tool call: the functionCall part's args carry the argument tokens, metered from
     * candidatesTokenCount like text */
    char th[512];
    snprintf(th, sizeof th,
             "%sx-tailgate-tool-call: 1\r\nx-tailgate-tool-text: 2\r\nX-Request-Id: gw-gem-tool\r\n"
             "x-goog-api-key: k\r\nConnection: close\r\n",
             FAST);
    char *tv = fetch(gw.port, GEMINI_SSE, th, GEMINI_BODY);
    char *thd = NULL, *tb = dechunk(tv, &thd);
    int called = tb &&
                 strstr(tb, "{\"functionCall\":{\"name\":\"tailgate_lookup\",\"args\":"
                            "{\"query\":\" tok2 tok3 tok4") != NULL &&
                 strstr(tb, " tok38 tok39\"}}}") != NULL && strstr(tb, "\"text\":\" tok1\"");
    free(tv);
    free(thd);
    free(tb);
    cJSON *tm = metering_line(&gw, "gw-gem-tool", 5000);
    int tool_metered = tm && harness_num(tm, "output_tokens") == LENGTH;
    if (!tool_metered)
        print_json("tool metering", tm);
    cJSON_Delete(tm);

    /* the client leaves after K tokens (a FIN) */
    char headers[512];
    snprintf(headers, sizeof headers, "%sX-Request-Id: gw-gem-cancel\r\n", TIMING);
    int fd = harness_connect(gw.port, 0);
    int got = -1;
    if (fd >= 0 && harness_post(fd, GEMINI_SSE, headers, GEMINI_BODY) == 0) {
        char *acc = NULL;
        size_t len = 0;
        got = harness_read_tokens(fd, K, 5000, &acc, &len);
        free(acc);
    }
    if (fd >= 0)
        harness_close_fin(fd);
    cJSON *recs = ledger_wait("gw-gem-cancel", 1, 15000);
    cJSON *cut = metering_line(&gw, "gw-gem-cancel", 15000);
    int rc = harness_stop(&gw);
    const cJSON *rec = cJSON_GetArrayItem(recs, 0);
    int cancelled = rec && strcmp(harness_str(rec, "api"), "gemini") == 0 &&
                    harness_str(rec, "close_kind") &&
                    strcmp(harness_str(rec, "stop_reason"), "disconnect") == 0 &&
                    harness_num(rec, "tail_tokens") <= 1 && cut && is_true(cut, "client_closed") &&
                    harness_num(cut, "output_tokens") <= K + 1 &&
                    harness_num(cut, "input_tokens") == INPUT_TOKENS;
    int exact = got == K && rec && strcmp(harness_str(rec, "close_kind"), "fin") == 0 &&
                harness_num(rec, "generated_tokens") == K + harness_num(rec, "tail_tokens") &&
                harness_num(cut, "output_tokens") == K;
    if (!cancelled || !exact) {
        fprintf(stderr, "  the client read %d tokens\n", got);
        print_json("records", recs);
        print_json("metering", cut);
    }
    cJSON_Delete(recs);
    cJSON_Delete(cut);
    for (int a = 0; a < 3; a++) {
        CHECK(ok[a]);
        CHECK(same[a]);
    }
    CHECK(metered);
    CHECK(called);
    CHECK(tool_metered);
    CHECK(cancelled);
    CHECK_TIMING(exact);
    CHECK_EQ_INT(rc, 0);
}

/* Gemini's key (x-goog-api-key) and the query (alt=sse, key=) reach the upstream: a listener
 * of the test's own stands in for it and reads the request refgw sends */
static void refgw_should_forward_the_gemini_key_and_query(void)
{
    int lport = 0;
    int lfd = harness_listen(&lport);
    CHECK(lfd >= 0);
    char up[64];
    snprintf(up, sizeof up, "http://127.0.0.1:%d", lport);
    struct proc gw;
    CHECK(start_refgw(&gw, "fixed", up, "usage", NULL) == 0);
    int cfd = harness_connect(gw.port, 0);
    int sent = cfd >= 0 && harness_post(cfd, GEMINI_SSE "&key=q1",
                                        "x-goog-api-key: secret-1\r\nx-other: no\r\n"
                                        "X-Request-Id: gw-gem-key\r\nConnection: close\r\n",
                                        GEMINI_BODY) == 0;
    char req[8192];
    size_t have = 0;
    int ufd = -1;
    struct pollfd pl = {lfd, POLLIN, 0};
    if (sent && poll(&pl, 1, 10000) == 1)
        ufd = accept(lfd, NULL, NULL);
    while (ufd >= 0 && have + 1 < sizeof req && !harness_request_complete(req, have)) {
        struct pollfd pu = {ufd, POLLIN, 0};
        if (poll(&pu, 1, 10000) != 1)
            break;
        ssize_t n = recv(ufd, req + have, sizeof req - 1 - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    req[have] = '\0';
    static const char reply[] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" tok0\"}],\"role\":\"model\"},"
        "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":2,"
        "\"candidatesTokenCount\":1,\"totalTokenCount\":3}}\n\n";
    if (ufd >= 0) {
        harness_send_all(ufd, reply, sizeof reply - 1);
        close(ufd);
    }
    char *acc = NULL;
    size_t len = 0;
    if (cfd >= 0) {
        harness_read_all(cfd, 10000, &acc, &len);
        close(cfd);
    }
    cJSON *line = metering_line(&gw, "gw-gem-key", 5000);
    int rc = harness_stop(&gw);
    close(lfd);
    int forwarded = strncmp(req,
                            "POST /v1beta/models/gemini-test:streamGenerateContent?alt=sse&key=q1 "
                            "HTTP/1.1\r\n",
                            79) == 0 &&
                    strcasestr(req, "\r\nx-goog-api-key: secret-1\r\n") != NULL &&
                    strcasestr(req, "x-other") == NULL && strstr(req, GEMINI_BODY) != NULL;
    int relayed = acc && strstr(acc, "\"finishReason\":\"STOP\"") != NULL;
    int metered =
        line && harness_num(line, "output_tokens") == 1 && harness_num(line, "input_tokens") == 2;
    if (!forwarded || !relayed || !metered) {
        fprintf(stderr, "  upstream saw:\n%s\n  client got:\n%s\n", req, acc ? acc : "(none)");
        print_json("metering", line);
    }
    free(acc);
    cJSON_Delete(line);
    CHECK(forwarded);
    CHECK(relayed);
    CHECK(metered);
    CHECK_EQ_INT(rc, 0);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(meter_should_find_usage_in_each_vendor_shape),
        CASE(meter_should_read_sse_usage_at_every_split_point),
        CASE(meter_should_read_gemini_usage_at_every_split_point),
        CASE(meter_should_read_bedrock_usage_at_every_split_point),
        CASE(meter_should_read_a_json_body_byte_by_byte),
        CASE(meter_should_count_each_token_once_whatever_the_framing),
        CASE(meter_should_skip_a_line_over_the_cap_and_go_on),
        CASE(meter_should_sum_usage_over_responses_and_not_count_a_cut_one),
        CASE(refgw_naive_should_read_upstream_to_its_end_after_the_client_left),
        CASE(refgw_fixed_should_close_the_upstream_within_a_token),
        CASE(refgw_slow_should_close_the_upstream_slow_ms_after_the_client_left),
        CASE(refgw_retry_should_send_the_request_again_and_read_it_to_the_end),
        CASE(refgw_strip_headers_should_drop_the_request_id_but_not_the_body),
        CASE(refgw_should_pass_a_full_stream_through_unchanged_per_api),
        CASE(refgw_should_forward_the_allowed_headers_only),
        CASE(refgw_should_answer_502_when_the_upstream_fails),
        CASE(refgw_should_cut_a_silent_upstream_at_its_deadline),
        CASE(refgw_should_answer_health_and_unknown_routes_in_json),
        CASE(refgw_should_meter_usage_or_count_for_done_and_cancelled_streams),
        CASE(refgw_should_carry_hundreds_of_streams_at_once),
        CASE(refgw_should_hold_back_the_upstream_for_a_slow_reader_and_lose_nothing),
        CASE(refgw_ignore_stream_reset_should_still_cancel_on_a_tcp_close),
        CASE(refgw_should_relay_an_https_upstream_and_abort_it_with_a_fin),
        CASE(refgw_should_exit_2_with_one_line_naming_the_flag),
        CASE(refgw_should_relay_completions_and_ollama_and_meter_their_usage),
        CASE(meter_should_read_ollama_counts_at_every_split_point),
        CASE(refgw_should_relay_gemini_and_meter_its_usage),
        CASE(refgw_should_relay_bedrock_and_meter_its_usage),
        CASE(refgw_should_forward_the_gemini_key_and_query),
    };
    if (harness_start_mock(&mock, NULL) != 0) {
        printf("FAIL refgw_should_start_the_mock\n");
        return 1;
    }
    snprintf(mock_url, sizeof mock_url, "http://127.0.0.1:%d", mock.port);
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    harness_stop(&mock);
    return rc;
}
