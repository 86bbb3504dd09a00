/* The gateway under test: its description (docs/gateway.md). gwproc.h starts and stops its
 * process. */
#ifndef RUNNER_GATEWAY_H
#define RUNNER_GATEWAY_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "chaos/client.h"
#include "placeholder.h"

#define GATEWAY_MAX_ARGS 64
#define GATEWAY_MAX_ENV 32
#define GATEWAY_MAX_FILES 8

/* A config file the gateway reads: rendered from its template when the description loads,
 * written into the run folder just before the process starts. */
struct gateway_file {
    char path[256]; /* relative to the run folder, checked not to leave it */
    char *text;     /* the template with its placeholders replaced */
};

struct gateway {
    char name[64];
    char *argv[GATEWAY_MAX_ARGS + 1]; /* NULL-terminated; argv[0] NULL: already running */
    char cwd[512];
    char *env[GATEWAY_MAX_ENV]; /* "NAME=value" after substitution */
    size_t nenv;
    char url[512];
    char ready_path[256]; /* "" : TCP connect */
    unsigned ready_timeout_ms;
    enum chaos_style style;
    int passthrough;      /* forwards every vendor API: scenarios pick the style */
    enum chaos_http http; /* what the users speak to it ("http"); a scenario's wins */
    char path[256];
    char *headers[CHAOS_MAX_HEADERS]; /* "Name: value" */
    size_t nheaders;
    char body_template[4096];
    char method[16];
    char terminal_marker[64]; /* custom style: text that marks a properly ended answer */
    char cancel_method[16];
    char cancel_url[512];
    char metering_file[512];
    char metering_url[512]; /* or an HTTP endpoint answering JSON lines or an array */
    char metering_id_field[64];
    char metering_tokens_field[64];
    char run_dir[1024]; /* where 'files' go: {{RUN_DIR}} */
    struct gateway_file files[GATEWAY_MAX_FILES];
    size_t nfiles;
    int mock_tls;           /* the gateway reaches the mock over TLS: the runner starts it so */
    char tls_ca_file[1024]; /* the client leg trusts this CA (PEM) for an https:// url */
    int tls_insecure;       /* or no verification at all */
    pid_t pid;              /* running process group leader, or 0 */
    volatile sig_atomic_t *interrupted; /* set by a signal handler: stop waiting for readiness */
};

/* Loads a description file, substituting placeholders and rendering its 'files' templates (read
 * relative to the description's folder). Returns 0, or -1 with err as
 * "FILE:LINE: key: what was wrong". */
int gateway_load(const char *path, const struct placeholder_vars *vars, struct gateway *g,
                 char *err, size_t errlen);
/* gateway_load on the description's bytes in memory; 'path' names it in errors and its folder
 * is where the 'files' templates are read from. Borrows 'data'. */
int gateway_parse_buffer(const char *path, const char *data, size_t len,
                         const struct placeholder_vars *vars, struct gateway *g, char *err,
                         size_t errlen);
/* From command-line flags: cmd is split on spaces (no shell); either may be NULL. */
int gateway_from_flags(const char *cmd, const char *url, const char *style,
                       const struct placeholder_vars *vars, struct gateway *g, char *err,
                       size_t errlen);
void gateway_cleanup(struct gateway *g);

/* 1 when the description at 'path' says "mock_tls": true (read before the mock starts; errors
 * are gateway_load's to report). */
int gateway_file_mock_tls(const char *path);

#endif
