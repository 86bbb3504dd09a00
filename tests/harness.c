/* Integration-test helpers. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cliutil.h"
#include "clock.h"
#include "fetch.h"

void harness_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int read_port(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int port = -1;
    if (fscanf(f, "%d", &port) != 1)
        port = -1;
    fclose(f);
    return port;
}

int harness_proc_init(struct proc *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/tgtest.XXXXXX");
    if (mkdtemp(p->dir) == NULL) {
        p->dir[0] = '\0';
        return -1;
    }
    return 0;
}

#define HARNESS_ARGV_MAX 64
#define HARNESS_WRAP_MAX 16 /* words of $TAILGATE_WRAP */

int harness_start(struct proc *p, const char *const *args, const char *port_file)
{
    const char *wrap = getenv("TAILGATE_WRAP");
    char *argv[HARNESS_ARGV_MAX];
    int n = 0;
    char wrapbuf[512];
    if (wrap && *wrap) {
        snprintf(wrapbuf, sizeof wrapbuf, "%s", wrap);
        for (char *t = strtok(wrapbuf, " "); t && n < HARNESS_WRAP_MAX; t = strtok(NULL, " "))
            argv[n++] = t;
    }
    for (int i = 0; args[i] && n < HARNESS_ARGV_MAX - 1; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        harness_stop(p);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1); /* the URL line; stderr stays for diagnostics */
        execvp(argv[0], argv);
        _exit(127);
    }
    p->pid = pid;
    for (int i = 0; i < 2000; i++) { /* 20 s: generous for valgrind */
        int port = read_port(port_file);
        if (port > 0) {
            p->port = port;
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            p->pid = 0;
            break;
        }
        harness_sleep_ms(10);
    }
    harness_stop(p);
    return -1;
}

int harness_start_mock(struct proc *p, const char *const *args)
{
    if (harness_proc_init(p) != 0)
        return -1;
    char port_file[128];
    snprintf(port_file, sizeof port_file, "%s/port", p->dir);
    const char *bin = getenv("TAILGATE_BIN");
    if (bin == NULL)
        bin = "./tailgate";
    const char *argv[HARNESS_ARGV_MAX];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "mock";
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = port_file;
    for (int i = 0; args && args[i] && n < HARNESS_ARGV_MAX - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return harness_start(p, argv, port_file);
}

int harness_stop(struct proc *p)
{
    int rc = -1;
    if (p->pid > 0)
        rc = cliutil_stop_child(p->pid, 0, 5000);
    p->pid = 0;
    if (p->dir[0]) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not remove %s\n", p->dir);
        p->dir[0] = '\0';
    }
    return rc;
}

int harness_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
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

int harness_post(int fd, const char *path, const char *headers, const char *body)
{
    char head[4096];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     path, strlen(body), headers ? headers : "");
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    size_t bl = strlen(body);
    return send(fd, body, bl, MSG_NOSIGNAL) == (ssize_t)bl ? 0 : -1;
}

static int append(char **acc, size_t *len, const char *buf, size_t n)
{
    char *tmp = realloc(*acc, *len + n + 1);
    if (tmp == NULL)
        return -1;
    memcpy(tmp + *len, buf, n);
    *len += n;
    tmp[*len] = '\0';
    *acc = tmp;
    return 0;
}

static int count_tokens(const char *s)
{
    int n = 0;
    for (const char *p = strstr(s, " tok"); p; p = strstr(p + 4, " tok"))
        if (p[4] >= '0' && p[4] <= '9')
            n++;
    return n;
}

/* Reads once with a deadline; returns bytes, 0 on EOF, -1 on timeout or error. */
static ssize_t read_some(int fd, uint64_t deadline_ns, char *buf, size_t len)
{
    uint64_t now = clock_now_ns();
    if (now >= deadline_ns)
        return -1;
    struct pollfd pfd = {fd, POLLIN, 0};
    int r = poll(&pfd, 1, (int)((deadline_ns - now) / 1000000ull) + 1);
    if (r <= 0)
        return -1;
    ssize_t n = recv(fd, buf, len, 0);
    return n < 0 ? -1 : n;
}

int harness_read_tokens(int fd, int k, int timeout_ms, char **acc, size_t *acc_len)
{
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char buf[16384];
    for (;;) {
        int have = *acc ? count_tokens(*acc) : 0;
        if (have >= k)
            return have;
        ssize_t n = read_some(fd, deadline, buf, sizeof buf);
        if (n <= 0)
            return have;
        if (append(acc, acc_len, buf, (size_t)n) != 0)
            return -1;
    }
}

long harness_read_all(int fd, int timeout_ms, char **acc, size_t *acc_len)
{
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char buf[16384];
    long total = 0;
    for (;;) {
        ssize_t n = read_some(fd, deadline, buf, sizeof buf);
        if (n <= 0)
            return total;
        if (append(acc, acc_len, buf, (size_t)n) != 0)
            return -1;
        total += n;
    }
}

int harness_raw_http(int port, const char *request, char **body)
{
    if (body)
        *body = NULL;
    int fd = harness_connect(port, 0);
    if (fd < 0)
        return -1;
    size_t n = strlen(request);
    char *acc = NULL;
    size_t len = 0;
    int status = -1;
    if (send(fd, request, n, MSG_NOSIGNAL) == (ssize_t)n && harness_read_all(fd, 10000, &acc,
                                                                             &len) > 0) {
        const char *sp = strchr(acc, ' ');
        const char *head_end = strstr(acc, "\r\n\r\n");
        if (strncmp(acc, "HTTP/1.", 7) == 0 && sp && head_end) {
            status = atoi(sp + 1);
            if (body)
                *body = strdup(head_end + 4);
        }
    }
    free(acc);
    close(fd);
    return status;
}

void harness_close_fin(int fd)
{
    /* Unread bytes at close() make the kernel send an RST instead of a FIN: drain first. */
    char buf[16384];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
    close(fd);
}

void harness_close_rst(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

int harness_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int harness_sse_token(char *buf, size_t len, int i)
{
    return snprintf(buf, len, "data: {\"choices\":[{\"delta\":{\"content\":\" tok%d\"}}]}\n\n", i);
}

int harness_request_complete(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - buf) + 4, clen = 0;
    /* every header line starts before 'end'; the last one's newline is past it */
    for (const char *p = buf; p < end;) {
        if (strncasecmp(p, "content-length:", 15) == 0)
            clen = (size_t)atol(p + 15);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return len >= head + clen;
}

int harness_http(int port, const char *method, const char *path, const char *const *headers,
                 const char *body, char **out, char **out_headers)
{
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    return (int)fetch(method, url, headers, body, 20000, out, out_headers);
}

cJSON *harness_ledger_wait(int port, const char *cid,
                          int (*ready)(const cJSON *records, void *arg), void *arg,
                          int timeout_ms)
{
    char path[256];
    snprintf(path, sizeof path, "/_tailgate/ledger?id=%s", cid);
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (clock_now_ns() < deadline) {
        char *body = NULL;
        int st = harness_http(port, "GET", path, NULL, NULL, &body, NULL);
        cJSON *j = st == 200 ? cJSON_Parse(body) : NULL;
        free(body);
        cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "records");
        if (recs && ready(recs, arg)) {
            cJSON *copy = cJSON_Duplicate(recs, 1);
            cJSON_Delete(j);
            return copy;
        }
        cJSON_Delete(j);
        harness_sleep_ms(20);
    }
    return NULL;
}

/* At least n records, every one finished. */
static int n_done(const cJSON *records, void *arg)
{
    if (cJSON_GetArraySize(records) < *(int *)arg)
        return 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, records)
    {
        const char *state = harness_str(r, "state");
        if (state == NULL || strcmp(state, "done") != 0)
            return 0;
    }
    return 1;
}

cJSON *harness_ledger_all_done(int port, const char *cid, int n, int timeout_ms)
{
    return harness_ledger_wait(port, cid, n_done, &n, timeout_ms);
}

cJSON *harness_ledger_done(int port, const char *cid, int timeout_ms)
{
    cJSON *recs = harness_ledger_all_done(port, cid, 1, timeout_ms);
    cJSON *first = recs ? cJSON_DetachItemFromArray(recs, 0) : NULL;
    cJSON_Delete(recs);
    return first;
}

double harness_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

const char *harness_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int harness_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

long harness_cpu_ticks(int pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *p = strrchr(line, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                            &st) != 2)
        return -1;
    return (long)(ut + st);
}

long harness_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}
