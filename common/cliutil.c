/* Small helpers the command-line front ends share. */
#include "cliutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include <event2/event.h>

int cliutil_parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    /* strtoull accepts a sign and wraps "-1" to the maximum: refuse it up front */
    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int cliutil_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    /* the last colon: a bracketed IPv6 address has colons of its own */
    const char *colon = strrchr(s, ':');
    unsigned long long v;
    if (colon == NULL || colon == s || cliutil_parse_u64(colon + 1, 65535, &v) != 0)
        return -1;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (h[0] == '[') {
        if (hl < 3 || h[hl - 1] != ']')
            return -1;
        h++;
        hl -= 2;
    }
    if (hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)v;
    return 0;
}

int cliutil_raise_nofile(void)
{
    /* thousands of concurrent streams need thousands of descriptors */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return -1;
    }
    return 0;
}

int cliutil_write_port_file(const char *path, int port)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    int ok = fprintf(f, "%d\n", port) > 0;
    ok &= fclose(f) == 0;
    /* rename is atomic: a poller never reads a half-written file */
    if (!ok || rename(tmp, path) != 0)
        return -1;
    return 0;
}

/* Token timers need sub-millisecond precision, and curl's timers are whole milliseconds: plain
 * epoll timeouts round up to the kernel tick (4 ms seen here); timerfd does not. */
struct event_base *cliutil_new_base(void)
{
    struct event_config *cfg = event_config_new();
    if (cfg == NULL)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

int cliutil_stop_child(int pid, int group, int grace_ms)
{
    pid_t target = group ? -pid : pid;
    kill(target, SIGTERM);
    int st = 0;
    for (int waited = 0; waited < grace_ms; waited += 10) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            if (group)
                kill(target, SIGKILL); /* whatever it left behind in its group */
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(target, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

int cliutil_write_text(const char *dir, const char *name, const char *text, char *err,
                       size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    int ok = f != NULL && fputs(text, f) != EOF;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
