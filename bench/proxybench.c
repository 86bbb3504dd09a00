/* Chaos proxy overhead: the same SSE streams from `tailgate mock`, straight and through
 * `tailgate chaos proxy` (no toxics), alternated in one run. Per-event delay is the client's
 * CLOCK_MONOTONIC receive time minus the mock ledger's generation time of that token (same host,
 * same clock); throughput is a fast SSE stream and a raw TCP blast (through a second proxy the
 * tool creates on the proxy's API). Prints a Markdown table. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define PB_MAX_REPLY (64u * 1024 * 1024) /* one response kept in memory */
#define PB_MAX_TOKENS 100000
#define PB_IO_TIMEOUT_MS 30000
#define PB_BLAST_CHUNK (256 * 1024)

struct opts {
    int mock_port, proxy_port, api_port;
    int rounds, tokens, tps, bulk_tokens;
    long long blast_mb;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* ---- one SSE stream --------------------------------------------------------------------- */

struct stream {
    char *buf;
    size_t len;
    uint64_t *arrive; /* arrive[i]: when byte-range chunk i ended */
    size_t *chunk_end;
    size_t nchunks, cap_chunks;
    uint64_t t_first, t_done;
};

static void stream_free(struct stream *s)
{
    free(s->buf);
    free(s->arrive);
    free(s->chunk_end);
    memset(s, 0, sizeof *s);
}

/* Sends a streaming chat request and reads until "[DONE]" (or EOF). keep_chunks: remember when
 * each read arrived (for per-token times). Returns 0, or -1. */
static int run_stream(int port, const char *cid, int tokens, int tps, int keep_chunks,
                      struct stream *s)
{
    memset(s, 0, sizeof *s);
    int fd = dial(port);
    if (fd < 0)
        return -1;
    static const char body[] = "{\"model\":\"bench\",\"stream\":true,"
                               "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nX-Request-Id: %s\r\n"
                     "x-tailgate-length: %d\r\nx-tailgate-tps: %d\r\nx-tailgate-ttft-ms: 0\r\n"
                     "x-tailgate-jitter: 0\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     cid, tokens, tps, sizeof body - 1, body);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16;
    s->buf = malloc(cap);
    int rc = -1;
    uint64_t deadline = now_ns() + (uint64_t)PB_IO_TIMEOUT_MS * 1000000ull;
    while (s->buf && now_ns() < deadline) {
        if (s->len + 65536 > cap) {
            if (cap >= PB_MAX_REPLY)
                break;
            char *tmp = realloc(s->buf, cap * 2);
            if (tmp == NULL)
                break;
            s->buf = tmp;
            cap *= 2;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 1000) <= 0)
            continue;
        ssize_t r = recv(fd, s->buf + s->len, cap - s->len - 1, 0);
        uint64_t t = now_ns();
        if (r <= 0)
            break;
        if (s->t_first == 0)
            s->t_first = t;
        s->len += (size_t)r;
        s->buf[s->len] = '\0';
        if (keep_chunks) {
            if (s->nchunks == s->cap_chunks) {
                size_t nc = s->cap_chunks ? s->cap_chunks * 2 : 1024;
                uint64_t *a = realloc(s->arrive, nc * sizeof *a);
                if (a == NULL)
                    break;
                s->arrive = a;
                size_t *e = realloc(s->chunk_end, nc * sizeof *e);
                if (e == NULL)
                    break;
                s->chunk_end = e;
                s->cap_chunks = nc;
            }
            s->arrive[s->nchunks] = t;
            s->chunk_end[s->nchunks++] = s->len;
        }
        /* "[DONE]" is the last event; look only at the tail that can hold it */
        size_t from = s->len > (size_t)r + 16 ? s->len - (size_t)r - 16 : 0;
        if (memmem(s->buf + from, s->len - from, "[DONE]", 6) != NULL) {
            s->t_done = t;
            rc = 0;
            break;
        }
    }
    close(fd);
    return rc;
}

/* For each token " tok<i>", when the read holding its last digit arrived. */
static int token_arrivals(const struct stream *s, uint64_t *out, int max)
{
    int seen = 0;
    size_t chunk = 0;
    for (const char *p = s->buf; (p = memmem(p, s->len - (size_t)(p - s->buf), " tok", 4)) != NULL;
         p += 4) {
        const char *d = p + 4;
        if (*d < '0' || *d > '9')
            continue;
        long idx = strtol(d, (char **)&d, 10);
        size_t last = (size_t)(d - s->buf) - 1;
        while (chunk < s->nchunks && s->chunk_end[chunk] <= last)
            chunk++;
        if (idx >= 0 && idx < max && chunk < s->nchunks && out[idx] == 0) {
            out[idx] = s->arrive[chunk];
            seen++;
        }
    }
    return seen;
}

/* ---- the mock's ledger ------------------------------------------------------------------- */

struct membuf {
    char *p;
    size_t n;
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct membuf *b = arg;
    size_t n = size * nmemb;
    char *tmp = realloc(b->p, b->n + n + 1);
    if (tmp == NULL)
        return 0;
    memcpy(tmp + b->n, data, n);
    b->n += n;
    tmp[b->n] = '\0';
    b->p = tmp;
    return n;
}

static cJSON *http_json(const char *method, int port, const char *path, const char *body,
                        long *status)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct membuf b = {NULL, 0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    *status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    cJSON *j = b.p ? cJSON_Parse(b.p) : NULL;
    free(b.p);
    return j;
}

/* The generation times of cid's tokens; returns how many, or -1. */
static int ledger_times(int mock_port, const char *cid, uint64_t *out, int max)
{
    char path[256];
    snprintf(path, sizeof path, "/_tailgate/ledger?id=%s", cid);
    for (int attempt = 0; attempt < 50; attempt++) {
        long st;
        cJSON *j = http_json("GET", mock_port, path, NULL, &st);
        cJSON *rec = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "records"), 0);
        cJSON *state = cJSON_GetObjectItemCaseSensitive(rec, "state");
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(rec, "token_t_ns");
        if (cJSON_IsString(state) && strcmp(state->valuestring, "done") == 0 &&
            cJSON_IsArray(arr)) {
            int n = 0;
            cJSON *it;
            cJSON_ArrayForEach(it, arr)
            {
                if (n < max)
                    out[n++] = (uint64_t)it->valuedouble;
            }
            cJSON_Delete(j);
            return n;
        }
        cJSON_Delete(j);
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* ---- the raw TCP blast ------------------------------------------------------------------- */

struct blast {
    int lfd, port;
    long long bytes;
    int conns;
};

static void *blast_main(void *arg)
{
    struct blast *b = arg;
    static char chunk[PB_BLAST_CHUNK];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < b->conns; i++) {
        int fd = accept(b->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        long long left = b->bytes;
        while (left > 0) {
            ssize_t w = send(fd, chunk, left < PB_BLAST_CHUNK ? (size_t)left : PB_BLAST_CHUNK,
                             MSG_NOSIGNAL);
            if (w <= 0)
                break;
            left -= w;
        }
        close(fd);
    }
    return NULL;
}

/* Reads to EOF from port; returns bytes/s, or -1. */
static double blast_read(int port, long long want)
{
    int fd = dial(port);
    if (fd < 0)
        return -1;
    static char buf[PB_BLAST_CHUNK];
    long long got = 0;
    uint64_t t0 = 0, t1 = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            break;
        if (t0 == 0)
            t0 = now_ns();
        got += r;
        t1 = now_ns();
    }
    close(fd);
    if (got != want || t1 <= t0)
        return -1;
    return (double)got / ((double)(t1 - t0) / 1e9);
}

/* ---- statistics and main ----------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)((double)(n - 1) * p + 0.5);
    return v[i];
}

static void usage(void)
{
    fprintf(stderr, "usage: proxybench --mock-port P --proxy-port Q --api-port A [--rounds 8]\n"
                    "                  [--tokens 200] [--tps 200] [--bulk-tokens 1000]\n"
                    "                  [--blast-mb 512]\n");
}

int main(int argc, char **argv)
{
    struct opts o = {0, 0, 0, 8, 200, 200, 1000, 512};
    static const struct option lo[] = {
        {"mock-port", required_argument, NULL, 'm'}, {"proxy-port", required_argument, NULL, 'p'},
        {"api-port", required_argument, NULL, 'a'},  {"rounds", required_argument, NULL, 'r'},
        {"tokens", required_argument, NULL, 'n'},    {"tps", required_argument, NULL, 't'},
        {"bulk-tokens", required_argument, NULL, 'b'},
        {"blast-mb", required_argument, NULL, 'B'},  {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        long v = optarg ? strtol(optarg, NULL, 10) : 0;
        switch (c) {
        case 'm': o.mock_port = (int)v; break;
        case 'p': o.proxy_port = (int)v; break;
        case 'a': o.api_port = (int)v; break;
        case 'r': o.rounds = (int)v; break;
        case 'n': o.tokens = (int)v; break;
        case 't': o.tps = (int)v; break;
        case 'b': o.bulk_tokens = (int)v; break;
        case 'B': o.blast_mb = v; break;
        default: usage(); return 2;
        }
    }
    if (o.mock_port <= 0 || o.proxy_port <= 0 || o.api_port <= 0 || o.rounds < 1 ||
        o.tokens < 1 || o.tokens > PB_MAX_TOKENS || o.tps < 1 || o.bulk_tokens < 1 ||
        o.bulk_tokens > PB_MAX_TOKENS || o.blast_mb < 1) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    size_t cap = (size_t)o.rounds * (size_t)o.tokens;
    double *delay[2] = {calloc(cap, sizeof(double)), calloc(cap, sizeof(double))};
    size_t nd[2] = {0, 0};
    uint64_t *gen = calloc(PB_MAX_TOKENS, sizeof *gen);
    uint64_t *arr = calloc(PB_MAX_TOKENS, sizeof *arr);
    if (!delay[0] || !delay[1] || !gen || !arr) {
        fprintf(stderr, "proxybench: out of memory\n");
        return 1;
    }
    const int port[2] = {o.mock_port, o.proxy_port};
    int failures = 0;
    /* per-event delay: alternate which path goes first so neither always runs warm */
    for (int r = 0; r < o.rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int path = (r + k) % 2;
            char cid[64];
            snprintf(cid, sizeof cid, "pb-%d-%d-%d", (int)getpid(), r, path);
            struct stream s;
            if (run_stream(port[path], cid, o.tokens, o.tps, 1, &s) != 0) {
                failures++;
                stream_free(&s);
                continue;
            }
            memset(arr, 0, (size_t)o.tokens * sizeof *arr);
            int seen = token_arrivals(&s, arr, o.tokens);
            int ng = ledger_times(o.mock_port, cid, gen, o.tokens);
            stream_free(&s);
            if (seen != o.tokens || ng != o.tokens) {
                failures++;
                continue;
            }
            for (int i = 0; i < o.tokens; i++)
                delay[path][nd[path]++] = (double)(int64_t)(arr[i] - gen[i]) / 1e6;
        }
    }
    /* SSE throughput: a stream asked at the mock's top rate, best of three each */
    double sse[2] = {0, 0};
    for (int r = 0; r < 3; r++) {
        for (int path = 0; path < 2; path++) {
            char cid[64];
            snprintf(cid, sizeof cid, "pb-bulk-%d-%d-%d", (int)getpid(), r, path);
            struct stream s;
            if (run_stream(port[path], cid, o.bulk_tokens, 1000000, 0, &s) == 0 &&
                s.t_done > s.t_first) {
                double bps = (double)s.len / ((double)(s.t_done - s.t_first) / 1e9);
                if (bps > sse[path])
                    sse[path] = bps;
            } else {
                failures++;
            }
            stream_free(&s);
        }
    }
    /* raw TCP: a blast server here, a second proxy to it on the API */
    double raw[2] = {0, 0};
    struct blast b = {-1, 0, o.blast_mb * 1024 * 1024, 6};
    b.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    pthread_t thr;
    int have_blast = b.lfd >= 0 && bind(b.lfd, (struct sockaddr *)&a, sizeof a) == 0 &&
                     listen(b.lfd, 8) == 0 &&
                     getsockname(b.lfd, (struct sockaddr *)&a, &al) == 0 &&
                     pthread_create(&thr, NULL, blast_main, &b) == 0;
    if (have_blast) {
        b.port = ntohs(a.sin_port);
        char body[256];
        snprintf(body, sizeof body,
                 "{\"name\":\"proxybench-blast\",\"listen\":\"127.0.0.1:0\","
                 "\"upstream\":\"127.0.0.1:%d\"}",
                 b.port);
        long st;
        cJSON *pj = http_json("POST", o.api_port, "/proxies", body, &st);
        cJSON *lj = cJSON_GetObjectItemCaseSensitive(pj, "listen");
        int bport = cJSON_IsString(lj) && strrchr(lj->valuestring, ':')
                        ? atoi(strrchr(lj->valuestring, ':') + 1)
                        : -1;
        cJSON_Delete(pj);
        for (int r = 0; r < 3; r++) {
            for (int path = 0; path < 2; path++) {
                double bps = path == 0 || bport > 0
                                 ? blast_read(path == 0 ? b.port : bport, b.bytes)
                                 : -1;
                if (bps < 0)
                    failures++;
                else if (bps > raw[path])
                    raw[path] = bps;
            }
        }
        shutdown(b.lfd, SHUT_RDWR); /* wakes the blast thread if a connection never came */
        pthread_join(thr, NULL);
        cJSON_Delete(http_json("DELETE", o.api_port, "/proxies/proxybench-blast", NULL, &st));
    } else {
        failures++;
    }
    if (b.lfd >= 0)
        close(b.lfd);

    double p50[2], p99[2];
    for (int path = 0; path < 2; path++) {
        p50[path] = pct(delay[path], nd[path], 0.50);
        p99[path] = pct(delay[path], nd[path], 0.99);
    }
    printf("| path | SSE event delay p50 | SSE event delay p99 | SSE stream | raw TCP |\n");
    printf("|---|---:|---:|---:|---:|\n");
    printf("| direct to the mock | %.3f ms | %.3f ms | %.1f MB/s | %.0f MB/s |\n", p50[0], p99[0],
           sse[0] / 1e6, raw[0] / 1e6);
    printf("| through the proxy | %.3f ms | %.3f ms | %.1f MB/s | %.0f MB/s |\n", p50[1], p99[1],
           sse[1] / 1e6, raw[1] / 1e6);
    printf("| **proxy overhead** | **+%.3f ms** | **+%.3f ms** | **x%.2f** | **x%.2f** |\n",
           p50[1] - p50[0], p99[1] - p99[0], sse[0] > 0 ? sse[1] / sse[0] : 0,
           raw[0] > 0 ? raw[1] / raw[0] : 0);
    printf("\nDelay: mock ledger generation time to client receive time, %zu events per path "
           "(%d rounds x %d tokens at %d tok/s, alternating paths). SSE stream: %d tokens asked "
           "at 1,000,000 tok/s; the mock paces them, so this column shows the proxy keeps up, not "
           "its capacity. Raw TCP: %lld MiB from a local blaster, straight and through a second "
           "proxy made on the API: the proxy's capacity. Best of 3 for both; %d failures.\n",
           nd[0], o.rounds, o.tokens, o.tps, o.bulk_tokens, o.blast_mb, failures);
    free(delay[0]);
    free(delay[1]);
    free(gen);
    free(arr);
    curl_global_cleanup();
    return failures ? 1 : 0;
}
