/* The Prometheus pages: the mock's histograms (exact counts after a known set of requests, the
 * bucket a value on a bound falls in), HELP and TYPE for every family, tailgate_build_info on
 * the mock and the chaos proxy, and the proxy's Toxiproxy byte counters equal to the bytes
 * sent through it. Real processes over loopback; a fresh mock per case, so counts start at 0. */
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "metrics.h"
#include "promfile.h"
#include "results.h"
#include "version.h"

#define TTFT "tailgate_mock_time_to_first_token_seconds"
#define CLOSE_DET "tailgate_mock_close_detection_seconds"
#define STOP_LAG "tailgate_mock_stop_lag_seconds"

/* The value of the sample whose name and labels are exactly 'series', or -1 when absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

static double bucket(const char *text, const char *family, const char *api, const char *le)
{
    char s[256];
    snprintf(s, sizeof s, "%s_bucket{api=\"%s\",le=\"%s\"}", family, api, le);
    return sample(text, s);
}

static double part(const char *text, const char *family, const char *suffix, const char *api)
{
    char s[256];
    snprintf(s, sizeof s, "%s_%s{api=\"%s\"}", family, suffix, api);
    return sample(text, s);
}

/* 1 when the buckets of family{api} are cumulative, in order, and end in +Inf == _count. */
static int buckets_consistent(const char *text, const char *family, const char *api)
{
    char prefix[256];
    int n = snprintf(prefix, sizeof prefix, "%s_bucket{api=\"%s\",le=\"", family, api);
    double last = 0, inf = -1;
    int seen = 0;
    for (const char *p = strstr(text, prefix); p; p = strstr(p + 1, prefix)) {
        const char *sp = strchr(p, ' ');
        if (sp == NULL)
            return 0;
        double v = strtod(sp + 1, NULL);
        if (v < last)
            return 0;
        last = v;
        seen++;
        if (strncmp(p + n, "+Inf\"", 5) == 0)
            inf = v;
        else if (inf >= 0)
            return 0; /* a bucket after +Inf */
    }
    return seen >= 2 && inf >= 0 && inf == part(text, family, "count", api);
}

static char *get_metrics(int port)
{
    char *body = NULL;
    if (harness_http(port, "GET", "/metrics", NULL, NULL, &body, NULL) != 200) {
        free(body);
        return NULL;
    }
    return body;
}

static int start_mock(struct proc *m)
{
    return harness_start_mock(m, NULL);
}

/* A stream read to its end (Connection: close: the mock closes once the reply is done). */
static int stream_to_end(int port, const char *cid, int ttft_ms)
{
    char headers[512];
    snprintf(headers, sizeof headers,
             "x-tailgate-ttft-ms: %d\r\nx-tailgate-tps: 1000\r\nx-tailgate-jitter: 0\r\n"
             "x-tailgate-length: 5\r\nX-Request-Id: %s\r\nConnection: close\r\n",
             ttft_ms, cid);
    int fd = harness_connect(port, 0);
    if (fd < 0)
        return -1;
    char *acc = NULL;
    size_t len = 0;
    int rc = harness_post(fd, "/v1/chat/completions", headers,
                          "{\"model\":\"m\",\"stream\":true,"
                          "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    if (rc == 0)
        harness_read_all(fd, 10000, &acc, &len);
    close(fd);
    rc = acc && strstr(acc, "[DONE]") ? 0 : -1;
    free(acc);
    return rc;
}

/* A stream the client leaves (FIN) after 2 tokens; 'profile' decides the stop. */
static int stream_abort(int port, const char *cid, const char *profile)
{
    char headers[512];
    snprintf(headers, sizeof headers,
             "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 10\r\nx-tailgate-jitter: 0\r\n"
             "x-tailgate-length: 1000\r\nx-tailgate-profile: %s\r\nX-Request-Id: %s\r\n",
             profile, cid);
    int fd = harness_connect(port, 0);
    if (fd < 0)
        return -1;
    char *acc = NULL;
    size_t len = 0;
    int got = -1;
    if (harness_post(fd, "/v1/chat/completions", headers,
                     "{\"model\":\"m\",\"stream\":true,"
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}") == 0)
        got = harness_read_tokens(fd, 2, 5000, &acc, &len);
    free(acc);
    harness_close_fin(fd);
    return got >= 2 ? 0 : -1;
}

static void metrics_should_count_each_histogram_exactly_after_known_requests(void)
{
    struct proc m;
    CHECK(start_mock(&m) == 0);
    /* 3 streams read to the end, one of them with a 300 ms first token; 1 left after 2 tokens,
     * its generation stopped 2 s later by selfhosted-lag */
    int ok = stream_to_end(m.port, "pm-done-1", 0) == 0 &&
             stream_to_end(m.port, "pm-done-2", 0) == 0 &&
             stream_to_end(m.port, "pm-done-3", 300) == 0 &&
             stream_abort(m.port, "pm-abort-1", "selfhosted-lag") == 0;
    cJSON *r = ok ? harness_ledger_done(m.port, "pm-abort-1", 15000) : NULL;
    cJSON *done3 = ok ? harness_ledger_done(m.port, "pm-done-3", 5000) : NULL;
    char *t = r ? get_metrics(m.port) : NULL;
    harness_stop(&m);
    int stop_reason_ok =
        r && strcmp(harness_str(r, "stop_reason") ? harness_str(r, "stop_reason") : "",
                    "disconnect") == 0;
    cJSON_Delete(r);
    cJSON_Delete(done3);
    CHECK(ok);
    CHECK(t != NULL);
    CHECK(stop_reason_ok);
    int counts_ok = part(t, TTFT, "count", "chat") == 4 &&
                    part(t, CLOSE_DET, "count", "chat") == 1 &&
                    part(t, STOP_LAG, "count", "chat") == 1;
    /* the other APIs' series are there, at zero */
    int others_zero = part(t, TTFT, "count", "responses") == 0 &&
                      part(t, TTFT, "count", "messages") == 0 &&
                      part(t, STOP_LAG, "count", "messages") == 0 &&
                      bucket(t, CLOSE_DET, "responses", "+Inf") == 0;
    int consistent = 1;
    static const char *const fams[] = {TTFT, CLOSE_DET, STOP_LAG};
    static const char *const apis[] = {"chat", "responses", "messages"};
    for (int f = 0; f < 3; f++)
        for (int a = 0; a < 3; a++)
            consistent = consistent && buckets_consistent(t, fams[f], apis[a]);
    /* timers never fire early: the 300 ms first token is above 0.25 s, the 2 s stop above 1 s
     * (lower bounds only, so a loaded machine cannot fail them) */
    double ttft_le_025 = bucket(t, TTFT, "chat", "0.25");
    double stop_le_1 = bucket(t, STOP_LAG, "chat", "1");
    double stop_sum = part(t, STOP_LAG, "sum", "chat");
    double ttft_sum = part(t, TTFT, "sum", "chat");
    /* every close the mock noticed is one close-detection observation */
    double closes = sample(t, "tailgate_mock_peer_closes_total{kind=\"fin\"}");
    free(t);
    CHECK(counts_ok);
    CHECK(others_zero);
    CHECK(consistent);
    CHECK(ttft_le_025 >= 0 && ttft_le_025 <= 3);
    CHECK_EQ_INT(stop_le_1, 0);
    CHECK(stop_sum >= 2.0);
    CHECK(ttft_sum >= 0.3);
    CHECK_EQ_INT(closes, 1);
}

static void metrics_should_put_a_value_on_a_bound_in_that_bucket(void)
{
    struct metrics_histogram h;
    memset(&h, 0, sizeof h);
    metrics_observe(&h, METRICS_TTFT, 0);
    metrics_observe(&h, METRICS_TTFT, 1000000);     /* 0.001 exactly: le="0.001" */
    metrics_observe(&h, METRICS_TTFT, 1000001);     /* just above: le="0.0025" */
    metrics_observe(&h, METRICS_TTFT, 60000000000); /* 60 s: the last finite bucket */
    metrics_observe(&h, METRICS_TTFT, 60000000001); /* past it: +Inf only */
    CHECK_EQ_INT(h.bucket[0], 2);
    CHECK_EQ_INT(h.bucket[1], 1);
    CHECK_EQ_INT(h.bucket[14], 1);
    CHECK_EQ_INT(h.bucket[15], 1);
    CHECK_EQ_INT(h.count, 5);
    CHECK(h.sum_ns == 1000000ull + 1000001ull + 60000000000ull + 60000000001ull);
    memset(&h, 0, sizeof h);
    metrics_observe(&h, METRICS_STOP_LAG, 0); /* a vendor that stops at once: le="0.0001" */
    metrics_observe(&h, METRICS_STOP_LAG, 100001);
    CHECK_EQ_INT(h.bucket[0], 1);
    CHECK_EQ_INT(h.bucket[1], 1);
}

/* Every sample belongs to a family with HELP then TYPE, each family declared once. */
static int every_family_described(const char *t, char *why, size_t whylen)
{
    char names[128][128];
    int n = 0;
    for (const char *p = t; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        char name[128];
        if (strncmp(p, "# TYPE ", 7) == 0) {
            if (sscanf(p + 7, "%127s", name) != 1 || n >= 128)
                return 0;
            char help[160];
            snprintf(help, sizeof help, "# HELP %s ", name);
            if (strstr(t, help) == NULL || strstr(t, help) > p) {
                snprintf(why, whylen, "%s: no HELP before TYPE", name);
                return 0;
            }
            for (int i = 0; i < n; i++)
                if (strcmp(names[i], name) == 0) {
                    snprintf(why, whylen, "%s: declared twice", name);
                    return 0;
                }
            snprintf(names[n++], sizeof names[0], "%s", name);
        } else if (*p != '#' && *p != '\n') {
            size_t k = strcspn(p, "{ ");
            if (k >= sizeof name)
                return 0;
            memcpy(name, p, k);
            name[k] = '\0';
            int found = 0;
            for (int i = 0; i < n && !found; i++) {
                size_t l = strlen(names[i]);
                found = strncmp(name, names[i], l) == 0 &&
                        (name[l] == '\0' || strcmp(name + l, "_bucket") == 0 ||
                         strcmp(name + l, "_sum") == 0 || strcmp(name + l, "_count") == 0);
            }
            if (!found) {
                snprintf(why, whylen, "%s: sample without TYPE", name);
                return 0;
            }
        }
    }
    return n > 0;
}

static void metrics_should_describe_every_family_and_carry_build_info(void)
{
    struct proc m;
    CHECK(start_mock(&m) == 0);
    char *t = get_metrics(m.port);
    harness_stop(&m);
    CHECK(t != NULL);
    char want[256];
    snprintf(want, sizeof want, "tailgate_build_info{version=\"%s\",revision=\"%s\"}",
             version_number(), version_revision());
    double v = sample(t, want);
    char why[256] = "";
    int described = every_family_described(t, why, sizeof why);
    free(t);
    if (!described)
        fprintf(stderr, "  %s\n", why);
    CHECK_EQ_INT(v, 1);
    CHECK(described);
}

static int read_file_port(const char *path)
{
    FILE *f = fopen(path, "r");
    int port = -1;
    if (f) {
        if (fscanf(f, "%d", &port) != 1)
            port = -1;
        fclose(f);
    }
    return port;
}

/* Reads exactly n bytes (poll with a deadline). Returns 0, or -1. */
static int read_exact(int fd, size_t n, int timeout_ms)
{
    char buf[4096];
    size_t got = 0;
    while (got < n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return -1;
        size_t want = n - got < sizeof buf ? n - got : sizeof buf;
        ssize_t r = recv(fd, buf, want, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void metrics_should_count_the_proxy_bytes_exactly(void)
{
    int up_port = 0;
    int lfd = harness_listen(&up_port);
    CHECK(lfd >= 0);
    struct proc p;
    CHECK(harness_proc_init(&p) == 0);
    char upstream[64], port_file[128], api_file[128];
    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", up_port);
    snprintf(port_file, sizeof port_file, "%s/listen", p.dir);
    snprintf(api_file, sizeof api_file, "%s/api", p.dir);
    const char *bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    const char *args[] = {bin,       "chaos",           "proxy",       "--name",
                          "pm-link", "--listen",        "127.0.0.1:0", "--upstream",
                          upstream,  "--api",           "127.0.0.1:0", "--port-file",
                          port_file, "--api-port-file", api_file,      NULL};
    if (harness_start(&p, args, api_file) != 0) {
        close(lfd);
        CHECK(!"the chaos proxy did not start");
    }
    int listen_port = read_file_port(port_file);
    /* 1000 bytes client -> upstream, 2345 back, each read whole on the far side */
    static char up_data[1000], down_data[2345];
    memset(up_data, 'u', sizeof up_data);
    memset(down_data, 'd', sizeof down_data);
    int cfd = listen_port > 0 ? harness_connect(listen_port, 0) : -1;
    int ok = cfd >= 0 && harness_send_all(cfd, up_data, sizeof up_data) == 0;
    struct pollfd pfd = {lfd, POLLIN, 0};
    int sfd = ok && poll(&pfd, 1, 10000) == 1 ? accept(lfd, NULL, NULL) : -1;
    ok = ok && sfd >= 0 && read_exact(sfd, sizeof up_data, 10000) == 0 &&
         harness_send_all(sfd, down_data, sizeof down_data) == 0 &&
         read_exact(cfd, sizeof down_data, 10000) == 0;
    char *live = ok ? get_metrics(p.port) : NULL;
    if (cfd >= 0)
        harness_close_fin(cfd);
    if (sfd >= 0)
        harness_close_fin(sfd);
    close(lfd);
    /* the counters are the proxy's, not the connection's: they stay once it is gone */
    int gone = 0;
    for (int i = 0; ok && i < 200 && !gone; i++) {
        char *list = NULL;
        harness_http(p.port, "GET", "/proxies/pm-link/connections", NULL, NULL, &list, NULL);
        gone = list && strcmp(list, "[]") == 0;
        free(list);
        if (!gone)
            harness_sleep_ms(25);
    }
    char *after = ok ? get_metrics(p.port) : NULL;
    harness_stop(&p);
    char labels[2][256];
    for (int d = 0; d < 2; d++)
        snprintf(labels[d], sizeof labels[d],
                 "{direction=\"%s\",listener=\"127.0.0.1:%d\",proxy=\"pm-link\","
                 "upstream=\"127.0.0.1:%d\"}",
                 d == 0 ? "upstream" : "downstream", listen_port, up_port);
    double v[2][2][2]; /* [page][direction][received, sent] */
    char *pages[2] = {live, after};
    for (int pg = 0; pg < 2; pg++)
        for (int d = 0; d < 2; d++) {
            char s[640];
            snprintf(s, sizeof s, "toxiproxy_proxy_received_bytes_total%s", labels[d]);
            v[pg][d][0] = pages[pg] ? sample(pages[pg], s) : -1;
            snprintf(s, sizeof s, "toxiproxy_proxy_sent_bytes_total%s", labels[d]);
            v[pg][d][1] = pages[pg] ? sample(pages[pg], s) : -1;
        }
    char want[256];
    snprintf(want, sizeof want, "tailgate_build_info{version=\"%s\",revision=\"%s\"}",
             version_number(), version_revision());
    double info = live ? sample(live, want) : -1;
    char why[256] = "";
    int described = live && every_family_described(live, why, sizeof why);
    if (live && !described)
        fprintf(stderr, "  %s\n", why);
    free(live);
    free(after);
    CHECK(ok);
    CHECK(gone);
    for (int pg = 0; pg < 2; pg++) {
        CHECK_EQ_INT(v[pg][0][0], 1000);
        CHECK_EQ_INT(v[pg][0][1], 1000);
        CHECK_EQ_INT(v[pg][1][0], 2345);
        CHECK_EQ_INT(v[pg][1][1], 2345);
    }
    CHECK_EQ_INT(info, 1);
    CHECK(described);
}

static void promfile_should_write_each_scenario_histogram_exactly(void)
{
    /* 3 requests: close lag 5 ms, 400 ms and none (a completed one); tail 0, 3, none */
    static struct scenario sc;
    snprintf(sc.name, sizeof sc.name, "tab\"close");
    struct req_result reqs[3];
    memset(reqs, 0, sizeof reqs);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < M_N_SAMPLE; k++)
            reqs[i].sample[k] = NAN;
    reqs[0].sample[M_CLOSE_LAG_MS] = 5;
    reqs[1].sample[M_CLOSE_LAG_MS] = 400;
    reqs[0].sample[M_TAIL_TOKENS] = 0;
    reqs[1].sample[M_TAIL_TOKENS] = 3;
    for (int i = 0; i < 3; i++)
        reqs[i].sample[M_TTFT_MS] = 10;
    struct scenario_result sr;
    memset(&sr, 0, sizeof sr);
    sr.sc = &sc;
    sr.reqs = reqs;
    sr.nreqs = 3;
    sr.pass = 1;
    struct run_result r;
    memset(&r, 0, sizeof r);
    r.sr = &sr;
    r.n = 1;
    char *t = promfile_build(&r);
    CHECK(t != NULL);
    char why[256] = "";
    int described = every_family_described(t, why, sizeof why);
    const char *L = "{scenario=\"tab\\\"close\"";
    char s1[256];
    double v[12];
    int k = 0;
#define AT(fmt, ...) (snprintf(s1, sizeof s1, fmt, __VA_ARGS__), sample(t, s1))
    v[k++] = AT("tailgate_run_scenario_pass%s}", L);
    v[k++] = AT("tailgate_run_close_lag_seconds_bucket%s,le=\"0.005\"}", L);
    v[k++] = AT("tailgate_run_close_lag_seconds_bucket%s,le=\"0.25\"}", L);
    v[k++] = AT("tailgate_run_close_lag_seconds_bucket%s,le=\"0.5\"}", L);
    v[k++] = AT("tailgate_run_close_lag_seconds_bucket%s,le=\"+Inf\"}", L);
    v[k++] = AT("tailgate_run_close_lag_seconds_count%s}", L);
    v[k++] = AT("tailgate_run_close_lag_seconds_sum%s}", L);
    v[k++] = AT("tailgate_run_tail_tokens_bucket%s,le=\"0\"}", L);
    v[k++] = AT("tailgate_run_tail_tokens_bucket%s,le=\"4\"}", L);
    v[k++] = AT("tailgate_run_tail_tokens_count%s}", L);
    v[k++] = AT("tailgate_run_time_to_first_token_seconds_count%s}", L);
    v[k++] = AT("tailgate_run_time_to_first_token_seconds_bucket%s,le=\"0.01\"}", L);
#undef AT
    free(t);
    if (!described)
        fprintf(stderr, "  %s\n", why);
    CHECK(described);
    CHECK_EQ_INT(v[0], 1);
    CHECK_EQ_INT(v[1], 1);
    CHECK_EQ_INT(v[2], 1);
    CHECK_EQ_INT(v[3], 2);
    CHECK_EQ_INT(v[4], 2);
    CHECK_EQ_INT(v[5], 2);
    CHECK(fabs(v[6] - 0.405) < 1e-9);
    CHECK_EQ_INT(v[7], 1);
    CHECK_EQ_INT(v[8], 2);
    CHECK_EQ_INT(v[9], 2);
    CHECK_EQ_INT(v[10], 3);
    CHECK_EQ_INT(v[11], 3);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct check_case cases[] = {
        CASE(metrics_should_put_a_value_on_a_bound_in_that_bucket),
        CASE(metrics_should_describe_every_family_and_carry_build_info),
        CASE(metrics_should_count_each_histogram_exactly_after_known_requests),
        CASE(metrics_should_count_the_proxy_bytes_exactly),
        CASE(promfile_should_write_each_scenario_histogram_exactly),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
