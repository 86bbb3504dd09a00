/* The mock as the runner reaches it: a `tailgate mock` child it starts, or one already running
 * (possibly on another host), through its admin API only. */
#ifndef RUNNER_MOCKCTL_H
#define RUNNER_MOCKCTL_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "placeholder.h"
#include "scenario.h"

struct mockctl {
    char name[PLACEHOLDER_NAME_MAX]; /* "" the default mock; else {{MOCK_URL_<name>}}'s */
    char url[128];                   /* base URL of mockprov */
    pid_t pid;                       /* the child we started, or 0 */
    char dir[64];                    /* its port-file folder, or "" */
    /* Set before mockctl_start: the child serves TLS and writes its CA to out_dir/mock-ca.pem
     * (ca_file), which the admin calls trust. */
    int tls;
    char ca_file[640];
    /* Set before mockctl_start for a shard: every admin call carries ?scope=SCOPE, so the
     * mock's settings, ledger and stream counts are this shard's alone (docs/sharding.md). */
    char scope[64];
    /* Set before mockctl_start: "Authorization: Bearer T" for a mock started with
     * --admin-token T (one reached across hosts), or "". */
    char auth[320];
};

/* Reaches mock_url, or (NULL) starts `self_exe mock` with its log in out_dir/mock.log
 * (mock-<name>.log for a named mock, its CA in mock-ca-<name>.pem), and checks its health. Returns
 * 0, or -1 with err filled (a started child is left for mockctl_stop). */
int mockctl_start(struct mockctl *m, const char *mock_url, const char *self_exe,
                  const char *out_dir, char *err, size_t errlen);
/* Stops the child we started (SIGTERM, then SIGKILL); safe to call twice. */
void mockctl_stop(struct mockctl *m);
/* 0 once the child we started has exited (always 1 for a mock we did not start). */
int mockctl_alive(struct mockctl *m);
/* GET of an admin path; the parsed 200 answer (caller owns it), or NULL. */
cJSON *mockctl_get(const struct mockctl *m, const char *path);
/* POST of an admin path; returns the HTTP status (0 when unreachable); *out malloc'd or NULL. */
long mockctl_post(const struct mockctl *m, const char *path, const char *json, char **out);
/* Offset mock clock - our clock, and its uncertainty (NAN when the mock did not answer). */
void mockctl_clock(const struct mockctl *m, double *offset_ns, double *uncertainty_ns);
/* How late the mock ran since its last reset (health's token_lag): p99 in ms, the share of
 * tokens more than 5 ms late, how many were timed. Returns 0, or -1 (all NAN) when the mock
 * did not answer or does not say. */
int mockctl_lag(const struct mockctl *m, double *p99_ms, double *late_share, double *timed,
                double *rate_share);
/* Resets the mock and applies a scenario's fault and profile for it ('file' names the scenario
 * in errors). Returns 0, or -1 with err. */
int mockctl_configure(const struct mockctl *m, const struct scenario_mock_settings *set,
                      const char *file, char *err, size_t errlen);

#endif
