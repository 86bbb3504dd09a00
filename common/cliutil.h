/* Small helpers the command-line front ends share (./tailgate's and refgw's). They return codes
 * and never print: the caller words the message. */
#ifndef TG_CLIUTIL_H
#define TG_CLIUTIL_H

#include <stddef.h>

struct event_base;

/* A decimal number in 0..max with nothing after it (no sign, no spaces). Returns 0, or -1 with
 * '*out' untouched. */
int cliutil_parse_u64(const char *s, unsigned long long max, unsigned long long *out);
/* "HOST:PORT" or "[V6]:PORT" into 'host' (NUL-terminated) and 'port'. Returns 0, or -1 when the
 * form is wrong, the port is above 65535 or the host does not fit in 'hostlen'. */
int cliutil_parse_hostport(const char *s, char *host, size_t hostlen, int *port);
/* Raises the soft RLIMIT_NOFILE to the hard limit. Returns 0, or -1 if it could not. */
int cliutil_raise_nofile(void);
/* Writes "PORT\n" to 'path' through 'path'.tmp and a rename, so a poller never reads a
 * half-written file. Returns 0, or -1 (errno set by the failing call). */
int cliutil_write_port_file(const char *path, int port);
/* An event base with sub-millisecond timers (timerfd), or NULL. */
struct event_base *cliutil_new_base(void);

/* Writes text to DIR/NAME. Returns 0, or -1 with err naming the path. */
int cliutil_write_text(const char *dir, const char *name, const char *text, char *err,
                       size_t errlen);

/* Stops a child we started: SIGTERM (to its whole process group when 'group'), then SIGKILL
 * after grace_ms. Returns its exit status (128 + signal when killed by one), or -1 when it had
 * to be killed. Reaps it either way. */
int cliutil_stop_child(int pid, int group, int grace_ms);

#endif
