/* The mock as the runner reaches it: the `tailgate mock` child it starts (or one already running
 * elsewhere), its admin API, and the clock offset between the two processes. */
#include "mockctl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cliutil.h"
#include "clock.h"
#include "fetch.h"
#include "jparse.h"

static long http(const struct mockctl *m, const char *method, const char *url, const char *body,
                 char **out)
{
    const char *headers[] = {m->auth, NULL};
    return fetch_ca(method, url, m->auth[0] ? headers : NULL, body, 30000,
                    m->tls ? m->ca_file : NULL, out, NULL);
}

/* The admin URL of path, with the shard's scope when there is one (the scope is made of
 * characters a query may hold as they are: letters, digits and ':'). */
static void admin_url(const struct mockctl *m, const char *path, char *url, size_t len)
{
    if (m->scope[0])
        snprintf(url, len, "%s%s%cscope=%s", m->url, path, strchr(path, '?') ? '&' : '?', m->scope);
    else
        snprintf(url, len, "%s%s", m->url, path);
}

cJSON *mockctl_get(const struct mockctl *m, const char *path)
{
    char url[512], *body = NULL;
    admin_url(m, path, url, sizeof url);
    long st = http(m, "GET", url, NULL, &body);
    /* strict: a reply that is not exactly one JSON value is no answer */
    struct jparse_error je;
    cJSON *j = st == 200 && body ? jparse_text(body, strlen(body), &je) : NULL;
    free(body);
    return j;
}

long mockctl_post(const struct mockctl *m, const char *path, const char *json, char **out)
{
    char url[512];
    admin_url(m, path, url, sizeof url);
    return http(m, "POST", url, json, out);
}

/* " (see LOG)" when the mock's log exists (the child creates it before it runs the mock). */
static void log_note(const char *log_path, char *out, size_t len)
{
    if (access(log_path, F_OK) == 0)
        snprintf(out, len, " (see %s)", log_path);
    else
        out[0] = '\0';
}

int mockctl_start(struct mockctl *m, const char *mock_url, const char *self_exe,
                  const char *out_dir, char *err, size_t errlen)
{
    char label[PLACEHOLDER_NAME_MAX + 4] = ""; /* " 'name'" in messages about a named mock */
    if (m->name[0])
        snprintf(label, sizeof label, " '%s'", m->name);
    if (mock_url) {
        snprintf(m->url, sizeof m->url, "%s", mock_url);
    } else {
        snprintf(m->dir, sizeof m->dir, "/tmp/tailgate-run.XXXXXX");
        if (mkdtemp(m->dir) == NULL) {
            snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
            return -1;
        }
        char port_file[128], log[600];
        snprintf(port_file, sizeof port_file, "%s/port", m->dir);
        if (m->name[0])
            snprintf(log, sizeof log, "%s/mock-%s.log", out_dir, m->name);
        else
            snprintf(log, sizeof log, "%s/mock.log", out_dir);
        if (m->tls && m->name[0])
            snprintf(m->ca_file, sizeof m->ca_file, "%s/mock-ca-%s.pem", out_dir, m->name);
        else if (m->tls)
            snprintf(m->ca_file, sizeof m->ca_file, "%s/" GATEWAY_MOCK_CA_NAME, out_dir);
        pid_t parent = getpid();
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(err, errlen, "fork: %s", strerror(errno));
            return -1;
        }
        if (pid == 0) {
            /* a runner that dies without its cleanup must not leave the mock running */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(125);
            FILE *f = freopen(log, "a", stdout);
            if (f)
                dup2(fileno(f), 2);
            if (m->tls)
                execl(self_exe, self_exe, "mock", "--port", "0", "--port-file", port_file, "--tls",
                      "--ca-file", m->ca_file, (char *)NULL);
            else
                execl(self_exe, self_exe, "mock", "--port", "0", "--port-file", port_file,
                      (char *)NULL);
            _exit(127);
        }
        m->pid = pid;
        int port = -1;
        for (int i = 0; i < 500 && port < 0; i++) { /* 5 s */
            FILE *f = fopen(port_file, "r");
            if (f) {
                if (fscanf(f, "%d", &port) != 1)
                    port = -1;
                fclose(f);
            }
            int st;
            if (port < 0 && waitpid(pid, &st, WNOHANG) == pid) {
                m->pid = 0;
                char note[640];
                log_note(log, note, sizeof note);
                snprintf(err, errlen, "mockprov%s exited at start%s", label, note);
                return -1;
            }
            if (port < 0) {
                struct timespec ts = {0, 10 * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
        if (port < 0) {
            char note[640];
            log_note(log, note, sizeof note);
            snprintf(err, errlen, "mockprov%s did not start within 5 s%s", label, note);
            return -1;
        }
        snprintf(m->url, sizeof m->url, "%s://127.0.0.1:%d", m->tls ? "https" : "http", port);
    }
    cJSON *h = mockctl_get(m, "/_tailgate/health");
    int ok = h != NULL;
    cJSON_Delete(h);
    if (!ok) {
        snprintf(err, errlen, "mockprov%s unreachable at %s/_tailgate/health", label, m->url);
        return -1;
    }
    return 0;
}

void mockctl_stop(struct mockctl *m)
{
    if (m->pid > 0)
        cliutil_stop_child(m->pid, 0, 3000);
    m->pid = 0;
    if (m->dir[0]) {
        char p[128];
        snprintf(p, sizeof p, "%s/port", m->dir);
        unlink(p);
        rmdir(m->dir);
        m->dir[0] = '\0';
    }
}

int mockctl_alive(struct mockctl *m)
{
    int st;
    if (m->pid > 0) {
        if (waitpid(m->pid, &st, WNOHANG) != m->pid)
            return 1;
        m->pid = 0; /* reaped: nothing left to stop */
        return 0;
    }
    /* ours and reaped: it exited. One we did not start is not pinged here: a blocking call on
     * the loop that carries the users would delay them; the settle and ledger calls tell. */
    return m->dir[0] ? 0 : 1;
}

/* Clock offset mock - runner. A mock this runner started is its child on this host and reads
 * the same CLOCK_MONOTONIC: the offset is 0, exactly (an estimate would only add its error,
 * and a token generated a few hundred microseconds before a user left would count as its
 * tail). Otherwise from a few ping-pongs; keep the fastest: its midpoint is the best estimate,
 * and half its round trip the uncertainty. */
void mockctl_clock(const struct mockctl *m, double *offset_ns, double *uncertainty_ns)
{
    if (m->pid > 0) {
        *offset_ns = 0;
        *uncertainty_ns = 0;
        return;
    }
    double best_rtt = INFINITY, offset = 0;
    for (int i = 0; i < 7; i++) {
        uint64_t t0 = clock_now_ns();
        cJSON *j = mockctl_get(m, "/_tailgate/clock");
        uint64_t t1 = clock_now_ns();
        const cJSON *mono = cJSON_GetObjectItem(j, "mono_ns");
        if (cJSON_IsNumber(mono) && (double)(t1 - t0) < best_rtt) {
            best_rtt = (double)(t1 - t0);
            offset = mono->valuedouble - ((double)t0 + (double)(t1 - t0) / 2);
        }
        cJSON_Delete(j);
    }
    *offset_ns = isinf(best_rtt) ? 0 : offset;
    *uncertainty_ns = isinf(best_rtt) ? NAN : best_rtt / 2;
}

int mockctl_lag(const struct mockctl *m, double *p99_ms, double *late_share, double *timed,
                double *rate_share)
{
    cJSON *h = mockctl_get(m, "/_tailgate/health");
    const cJSON *l = cJSON_GetObjectItem(h, "token_lag");
    const cJSON *p = cJSON_GetObjectItem(l, "p99_ms"), *s = cJSON_GetObjectItem(l, "late_share"),
                *n = cJSON_GetObjectItem(l, "tokens_timed");
    int ok = cJSON_IsNumber(p) && cJSON_IsNumber(s) && cJSON_IsNumber(n);
    *p99_ms = ok ? p->valuedouble : NAN;
    *late_share = ok ? s->valuedouble : NAN;
    *timed = ok ? n->valuedouble : NAN;
    const cJSON *rs = cJSON_GetObjectItem(l, "rate_share"); /* a mock of 1.1.0's first cut: none */
    *rate_share = ok && cJSON_IsNumber(rs) ? rs->valuedouble : NAN;
    cJSON_Delete(h);
    return ok ? 0 : -1;
}

int mockctl_configure(const struct mockctl *m, const struct scenario_mock_settings *set,
                      const char *file, char *err, size_t errlen)
{
    char who[PLACEHOLDER_NAME_MAX + 16] = "mockprov";
    if (m->name[0])
        snprintf(who, sizeof who, "mockprov '%s'", m->name);
    char *b = NULL;
    long st = mockctl_post(m, "/_tailgate/reset", "{}", &b);
    /* a mock that ignores ?scope= would reset (and configure) itself for every shard at once:
     * its answer names the scope when it honours it */
    cJSON *rj = m->scope[0] && b ? cJSON_Parse(b) : NULL;
    const cJSON *echo = cJSON_GetObjectItem(rj, "scope");
    int scoped = !m->scope[0] || (cJSON_IsString(echo) && strcmp(echo->valuestring, m->scope) == 0);
    cJSON_Delete(rj);
    free(b);
    if (st != 200) {
        snprintf(err, errlen, "%s reset failed (status %ld)", who, st);
        return -1;
    }
    if (!scoped) {
        snprintf(err, errlen,
                 "the mock at %s does not keep settings per scope (a shard needs "
                 "tailgate mock from this version or later)",
                 m->url);
        return -1;
    }
    if (set->fault[0]) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "fault", set->fault);
        cJSON_AddNumberToObject(f, "count", 1e9);
        char *fj = cJSON_PrintUnformatted(f);
        cJSON_Delete(f);
        st = mockctl_post(m, "/_tailgate/faults", fj, &b);
        free(fj);
        free(b);
        if (st != 200) {
            snprintf(err, errlen, "%s: %s refused the fault '%s'", file, who, set->fault);
            return -1;
        }
    }
    cJSON *p = cJSON_CreateObject();
    if (set->schedule[0])
        cJSON_AddStringToObject(p, "schedule", set->schedule);
    else
        cJSON_AddStringToObject(p, "name", set->profile);
    if (set->overrides)
        cJSON_AddItemToObject(p, "overrides", cJSON_Duplicate(set->overrides, 1));
    char *json = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    st = mockctl_post(m, "/_tailgate/profile", json, &b);
    free(json);
    if (st != 200) {
        snprintf(err, errlen, "%s: %s refused the profile: %.200s", file, who,
                 b ? b : "(no answer)");
        free(b);
        return -1;
    }
    free(b);
    return 0;
}
