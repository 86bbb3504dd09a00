/* The gateway process: the runner starts a described gateway in its own process group and
 * stops the whole group. */
#ifndef RUNNER_GWPROC_H
#define RUNNER_GWPROC_H

#include <stddef.h>

#include "gateway.h"

/* Writes the rendered 'files' into the run folder, starts the process (when there is a command)
 * with stdout/stderr appended to 'log_path', then probes readiness. Returns 0, or -1 with err
 * (the process is stopped again on failure). */
int gateway_start(struct gateway *g, const char *log_path, char *err, size_t errlen);
/* 1 while the started process is alive (always 1 for an external gateway). */
int gateway_alive(struct gateway *g);
/* SIGTERM to the whole group, SIGKILL after 3 s. Safe to call twice and with no process. */
void gateway_stop(struct gateway *g);

/* A free loopback port (bind to 0 and release), or -1. */
int gateway_free_port(void);

#endif
