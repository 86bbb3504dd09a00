/* `tailgate mock` against hostile and broken clients, over loopback: each malformed request
 * answered in the vendor's error shape with the status of its cause, a client that uploads or
 * pipelines while its stream runs held to a bounded size (and its stream still measured), and a
 * mock out of file descriptors that neither spins nor floods its log. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "clock.h"
#include "harness.h"

static struct proc mock;

/* Under AddressSanitizer freed memory sits in its quarantine and counts in RSS, so RSS says
 * nothing there, nor under valgrind (its allocator and its translations of the mock's code);
 * the guard's counter in /metrics is checked in every build. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANS_HELD 0
#else
#define RSS_MEANS_HELD (!check_under_valgrind())
#endif

static long capped_total(void)
{
    char *body = NULL;
    int st = harness_http(mock.port, "GET", "/metrics", NULL, NULL, &body, NULL);
    const char *p = body ? strstr(body, "\ntailgate_mock_http_inputs_capped_total ") : NULL;
    long v = st == 200 && p ? strtol(p + 40, NULL, 10) : -1;
    free(body);
    return v;
}

/* Sends 'req' (len bytes) and reads to the server's close (10 s at most). Returns the status;
 * *body gets the body (malloc'd), *closed whether the mock closed. */
static int exchange(const char *req, size_t len, char **body, int *closed)
{
    int fd = harness_connect(mock.port, 0);
    if (fd < 0)
        return -1;
    harness_send_all(fd, req, len);
    char *acc = NULL;
    size_t n = 0;
    uint64_t t0 = clock_now_ns();
    harness_read_all(fd, 10000, &acc, &n);
    *closed = clock_now_ns() - t0 < 9000000000ull;
    close(fd);
    int status = -1;
    if (acc)
        sscanf(acc, "HTTP/1.1 %d", &status);
    const char *b = acc ? strstr(acc, "\r\n\r\n") : NULL;
    *body = strdup(b ? b + 4 : "");
    free(acc);
    return status;
}

/* ---- malformed requests, in each vendor's shape ---------------------------------------- */

struct bad {
    const char *name;
    const char *fmt; /* %s: the path */
    size_t pad;      /* then this many 'a' */
    int status;
    const char *openai_type; /* error.type of the OpenAI shape */
    const char *anthropic_type;
};

static void mockguard_should_reject_each_malformed_request_in_the_vendors_shape(void)
{
    static char many[8192];
    char *w = many;
    w += sprintf(w, "POST %%s HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 120; i++)
        w += sprintf(w, "X-H%d: v\r\n", i);
    sprintf(w, "Content-Length: 2\r\n\r\n{}");
    const struct bad cases[] = {
        {"head over 32 KiB", "POST %s HTTP/1.1\r\nHost: a\r\nX-Big: ", 40000, 431,
         "invalid_request_error", "invalid_request_error"},
        {"120 header fields", many, 0, 431, "invalid_request_error", "invalid_request_error"},
        {"body over --max-body",
         "POST %s HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
         "Content-Length: 5000\r\n\r\n",
         5000, 413, "invalid_request_error", "request_too_large"},
        {"Content-Length and Transfer-Encoding",
         "POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
         "2\r\n{}\r\n0\r\n\r\n",
         0, 400, "invalid_request_error", "invalid_request_error"},
        {"bad chunk size",
         "POST %s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n", 0, 400,
         "invalid_request_error", "invalid_request_error"},
        {"unknown method", "BREW %s HTTP/1.1\r\nHost: a\r\n\r\n", 0, 501, "server_error",
         "api_error"},
        {"no length", "POST %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0, 411,
         "invalid_request_error", "invalid_request_error"},
        {"head cut short (timeout)", "POST %s HTTP/1.1\r\nHost: a\r\n", 0, 408,
         "invalid_request_error", "invalid_request_error"},
        {"body cut short (timeout)", "POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{",
         0, 408, "invalid_request_error", "invalid_request_error"},
    };
    static const char *const paths[] = {"/v1/chat/completions", "/v1/responses", "/v1/messages"};
    int failed = 0, n = 0;
    for (size_t p = 0; p < 3; p++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char *req = malloc(strlen(cases[i].fmt) + 64 + cases[i].pad);
            int hl = sprintf(req, cases[i].fmt, paths[p]);
            memset(req + hl, 'a', cases[i].pad);
            char *body = NULL;
            int closed = 0;
            int status = exchange(req, (size_t)hl + cases[i].pad, &body, &closed);
            free(req);
            cJSON *o = cJSON_Parse(body);
            cJSON *e = cJSON_GetObjectItem(o, "error");
            const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
            const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
            int anthropic = p == 2;
            int ok = status == cases[i].status && closed && type != NULL && msg != NULL &&
                     strcmp(type, anthropic ? cases[i].anthropic_type : cases[i].openai_type) ==
                         0 &&
                     (!anthropic ||
                      strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "type")), "error") == 0);
            if (!ok) {
                fprintf(stderr, "  %s %s: status %d closed %d body %.300s\n", paths[p],
                        cases[i].name, status, closed, body);
                failed = 1;
            }
            cJSON_Delete(o);
            free(body);
            n++;
        }
    }
    CHECK(!failed);
    CHECK_EQ_INT(n, 27);
}

/* ---- what a client sends while its stream runs -------------------------------------------- */

static const char *const STREAM_HEAD =
    "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 50\r\nx-tailgate-length: 5000\r\n"
    "X-Request-Id: %s\r\nContent-Length: %zu\r\n\r\n%s";
static const char *const STREAM_BODY =
    "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static int open_stream(const char *cid)
{
    char req[1024];
    int n = snprintf(req, sizeof req, STREAM_HEAD, cid, strlen(STREAM_BODY), STREAM_BODY);
    int fd = harness_connect(mock.port, 0);
    if (fd < 0 || harness_send_all(fd, req, (size_t)n) != 0)
        return -1;
    char *acc = NULL;
    size_t len = 0;
    int got = harness_read_tokens(fd, 3, 5000, &acc, &len);
    free(acc);
    /* under valgrind a late mock sends overdue tokens together: more than 3 in one read */
    return got == 3 || (got > 3 && check_under_valgrind()) ? fd : -1;
}

static void mockguard_should_hold_an_upload_during_a_stream_to_a_bounded_size(void)
{
    long capped0 = capped_total();
    int fd = open_stream("upload-1");
    CHECK(fd >= 0);
    long rss0 = harness_rss_kb(mock.pid);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static char junk[65536];
    memset(junk, 'j', sizeof junk);
    size_t sent = 0;
    uint64_t until = clock_now_ns() + 3000000000ull;
    char buf[16384];
    while (sent < 200u * 1024 * 1024 && clock_now_ns() < until) {
        ssize_t wr = send(fd, junk, sizeof junk, MSG_NOSIGNAL);
        if (wr > 0)
            sent += (size_t)wr;
        else {
            struct pollfd p = {fd, POLLOUT, 0};
            poll(&p, 1, 10);
        }
        while (recv(fd, buf, sizeof buf, 0) > 0) {
        }
    }
    long rss1 = harness_rss_kb(mock.pid);
    /* let the mock read (and drop) what is in flight, so the FIN is the next thing it reads */
    int queued = 1;
    for (int i = 0; i < 500 && queued > 0; i++) {
        if (ioctl(fd, SIOCOUTQ, &queued) != 0)
            break;
        if (queued > 0)
            harness_sleep_ms(10);
        while (recv(fd, buf, sizeof buf, 0) > 0) {
        }
    }
    fcntl(fd, F_SETFL, 0);
    harness_close_fin(fd);
    cJSON *r = harness_ledger_done(mock.port, "upload-1", 10000);

    fprintf(stderr, "  uploaded %zu MB during the stream; mock RSS %ld -> %ld KiB\n",
            sent >> 20, rss0, rss1);
    CHECK(r != NULL);
    char close_kind[16], stop[32];
    snprintf(close_kind, sizeof close_kind, "%s", harness_str(r, "close_kind"));
    snprintf(stop, sizeof stop, "%s", harness_str(r, "stop_reason"));
    double written = harness_num(r, "written_tokens");
    cJSON_Delete(r);
    CHECK_EQ_INT(capped_total() - capped0, 1);
    CHECK(!RSS_MEANS_HELD || rss1 - rss0 < 16 * 1024); /* the upload is not kept */
    CHECK(strcmp(close_kind, "fin") == 0 || strcmp(close_kind, "rst") == 0); /* measured */
    CHECK_EQ_STR(stop, "disconnect");
    CHECK(written >= 3);
    CHECK_TIMING(sent > 16u * 1024 * 1024); /* in the 3 s the mock had to read it */
    /* a FIN: the mock read the upload in flight within 5 s, and no token (20 ms apart) landed
     * between the client's last read and its close */
    CHECK_TIMING(strcmp(close_kind, "fin") == 0);
}

static void mockguard_should_hold_pipelined_requests_during_a_stream_to_a_bounded_size(void)
{
    long capped0 = capped_total();
    int fd = open_stream("pipeline-1");
    CHECK(fd >= 0);
    long rss0 = harness_rss_kb(mock.pid);
    const char *one = "GET /_tailgate/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    size_t ol = strlen(one);
    char *many = malloc(ol * 10000);
    for (int i = 0; i < 10000; i++)
        memcpy(many + (size_t)i * ol, one, ol);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t sent = 0, off = 0;
    char buf[16384];
    uint64_t until = clock_now_ns() + 3000000000ull;
    while (sent < 100u * 1024 * 1024 && clock_now_ns() < until) {
        ssize_t wr = send(fd, many + off, ol * 10000 - off, MSG_NOSIGNAL);
        if (wr > 0) {
            sent += (size_t)wr;
            off = (off + (size_t)wr) % (ol * 10000);
        } else {
            struct pollfd p = {fd, POLLOUT, 0};
            poll(&p, 1, 10);
        }
        while (recv(fd, buf, sizeof buf, 0) > 0) {
        }
    }
    free(many);
    long rss1 = harness_rss_kb(mock.pid);
    fcntl(fd, F_SETFL, 0);
    harness_close_rst(fd);
    cJSON *r = harness_ledger_done(mock.port, "pipeline-1", 10000);
    fprintf(stderr, "  pipelined %zu MB of requests during the stream; mock RSS %ld -> %ld KiB\n",
            sent >> 20, rss0, rss1);
    CHECK(r != NULL);
    char close_kind[16];
    snprintf(close_kind, sizeof close_kind, "%s", harness_str(r, "close_kind"));
    cJSON_Delete(r);
    CHECK_EQ_INT(capped_total() - capped0, 1);
    CHECK(!RSS_MEANS_HELD || rss1 - rss0 < 16 * 1024);
    CHECK_EQ_STR(close_kind, "rst");
    CHECK_TIMING(sent > 16u * 1024 * 1024); /* in the 3 s the mock had to read it */
}

/* ---- out of descriptors --------------------------------------------------------------------- */

static void mockguard_should_not_spin_or_flood_its_log_when_out_of_descriptors(void)
{
    char dir[] = "/tmp/tg-emfile-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char port_file[128], log_file[128];
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    snprintf(log_file, sizeof log_file, "%s/stderr", dir);
    const char *bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {48, 48};
        setrlimit(RLIMIT_NOFILE, &rl);
        int lf = open(log_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(lf, 2);
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1);
        execl(bin, bin, "mock", "--port", "0", "--port-file", port_file, (char *)NULL);
        _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 400 && port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port == 0)
            harness_sleep_ms(25);
    }
    int fds[120];
    for (int i = 0; i < 120; i++)
        fds[i] = port ? harness_connect(port, 0) : -1;
    long hz = sysconf(_SC_CLK_TCK);
    long c0 = harness_cpu_ticks(pid);
    uint64_t t0 = clock_now_ns();
    harness_sleep_ms(3000); /* the measurement: what the mock does with these 3 s */
    long c1 = harness_cpu_ticks(pid);
    double wall = (double)(clock_now_ns() - t0) / 1e9;
    /* it still answers once descriptors free up */
    for (int i = 0; i < 120; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    int health = -1;
    for (int i = 0; i < 100 && health != 200; i++) {
        health = harness_http(port, "GET", "/_tailgate/health", NULL, NULL, NULL, NULL);
        if (health != 200)
            harness_sleep_ms(20);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    FILE *lf = fopen(log_file, "r");
    int lines = 0, emfile = 0;
    char line[512];
    while (lf && fgets(line, sizeof line, lf)) {
        lines++;
        emfile += strstr(line, "Too many open files") != NULL;
    }
    if (lf)
        fclose(lf);
    unlink(port_file);
    unlink(log_file);
    rmdir(dir);
    double cpu = (double)(c1 - c0) / (double)hz / wall;
    fprintf(stderr, "  out of descriptors: %.1f%% of a core, %d log lines in %.1f s\n", cpu * 100,
            lines, wall);
    CHECK(port > 0);
    CHECK(c0 >= 0 && c1 >= 0);
    CHECK(emfile >= 1);
    CHECK(lines <= 5); /* at most one a second */
    CHECK(cpu < 0.25); /* a spinning loop takes a whole core */
    CHECK_EQ_INT(health, 200);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static const char *const args[] = {"--max-body",     "1024", "--header-timeout", "300ms",
                                       "--body-timeout", "300ms", NULL};
    if (harness_start_mock(&mock, args) != 0) {
        printf("FAIL mockguard_could_not_start_the_mock\n");
        return 1;
    }
    static const struct check_case cases[] = {
        CASE(mockguard_should_reject_each_malformed_request_in_the_vendors_shape),
        CASE(mockguard_should_hold_an_upload_during_a_stream_to_a_bounded_size),
        CASE(mockguard_should_hold_pipelined_requests_during_a_stream_to_a_bounded_size),
        CASE(mockguard_should_not_spin_or_flood_its_log_when_out_of_descriptors),
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    const char *wrap = getenv("TAILGATE_WRAP");
    if (wrap != NULL && *wrap != '\0') { /* the last case measures the mock's own CPU */
        printf("SKIP mockguard_should_not_spin_or_flood_its_log_when_out_of_descriptors: it "
               "measures the mock's CPU use, which valgrind multiplies\n");
        n--;
    }
    int rc = check_run(cases, n, argc, argv);
    harness_stop(&mock);
    return rc;
}
