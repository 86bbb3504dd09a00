/* Integration-test helpers: spawn ./tailgate on a free loopback port, speak raw HTTP over
 * sockets we control (so a test decides exactly when to FIN or RST), and read the mock's
 * ledger through its admin API with libcurl. */
#ifndef TG_HARNESS_H
#define TG_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct proc {
    pid_t pid;
    int port;
    char dir[64]; /* temp folder for the port file etc. */
};

/* Clears 'p' and makes its temp folder (p->dir), for port files and logs. Returns 0 or -1. */
int harness_proc_init(struct proc *p);
/* Starts 'args' (NULL-terminated; args[0] the program) with stdout to /dev/null and waits
 * (bounded) until 'port_file' holds a port. $TAILGATE_WRAP, if set, prefixes the command
 * (valgrind). 'p' comes from harness_proc_init. Returns 0, or -1 if it did not come up in 20 s
 * (then it is stopped and its folder removed). */
int harness_start(struct proc *p, const char *const *args, const char *port_file);
/* Starts `$TAILGATE_BIN mock --port 0 --port-file F args...` (args NULL-terminated, or NULL)
 * through harness_start. */
int harness_start_mock(struct proc *p, const char *const *args);
/* SIGTERM, then SIGKILL after 5 s; returns the exit status (or -1). Removes the temp folder. */
int harness_stop(struct proc *p);

/* A blocking TCP connection to 127.0.0.1:port, or -1. rcvbuf > 0 shrinks the receive buffer. */
int harness_connect(int port, int rcvbuf);
/* Sends a POST with a JSON body; 'headers' is extra "Name: value\r\n" lines or NULL. */
int harness_post(int fd, const char *path, const char *headers, const char *body);
/* Reads until 'k' tokens (" tok<i>") have arrived, or EOF, or timeout_ms. Returns the count of
 * tokens seen. Appends everything read to *acc (malloc'd, may be NULL). */
int harness_read_tokens(int fd, int k, int timeout_ms, char **acc, size_t *acc_len);
/* Reads to EOF (or timeout); returns bytes read, appends to *acc. */
long harness_read_all(int fd, int timeout_ms, char **acc, size_t *acc_len);
/* Sends 'request' (a whole HTTP request, byte for byte: the test picks every header; it should
 * say Connection: close) to 127.0.0.1:port and reads the answer to EOF (bounded: 10 s). Returns
 * the status, or -1; *body (if not NULL) receives what follows the head, malloc'd. */
int harness_raw_http(int port, const char *request, char **body);
/* Closes with a FIN (after draining what is readable, so the kernel does not send an RST). */
void harness_close_fin(int fd);
/* Closes with an RST (SO_LINGER 0). */
void harness_close_rst(int fd);
/* A listening TCP socket on 127.0.0.1, port chosen by the kernel into *port; the fd, or -1. */
int harness_listen(int *port);

/* Writes the OpenAI-style SSE event carrying token " tok<i>" into buf; returns its length. */
int harness_sse_token(char *buf, size_t len, int i);
/* 1 once buf holds a whole HTTP request: the headers and Content-Length bytes of body. */
int harness_request_complete(const char *buf, size_t len);

/* HTTP request with libcurl; returns the status (or -1), body malloc'd into *body. 'headers'
 * is a NULL-terminated list of "Name: value" or NULL. method "GET" or "POST". */
int harness_http(int port, const char *method, const char *path, const char *const *headers,
                 const char *body, char **out, char **out_headers);
/* Polls GET /_tailgate/ledger?id=cid until the first record is "done" (bounded by timeout_ms);
 * returns that record (caller frees with cJSON_Delete) or NULL. */
cJSON *harness_ledger_done(int port, const char *cid, int timeout_ms);
/* Polls the ledger records of 'cid' until ready(records, arg) says yes (bounded by timeout_ms);
 * returns a copy of the records array (caller frees) or NULL. */
cJSON *harness_ledger_wait(int port, const char *cid,
                          int (*ready)(const cJSON *records, void *arg), void *arg,
                          int timeout_ms);
/* The records array once 'cid' has at least n records, all finished; or NULL. */
cJSON *harness_ledger_all_done(int port, const char *cid, int n, int timeout_ms);

/* Number field of a JSON object, or -1 when missing or null. */
double harness_num(const cJSON *o, const char *key);
/* String field, or NULL. */
const char *harness_str(const cJSON *o, const char *key);
/* Writes all n bytes (MSG_NOSIGNAL). Returns 0, or -1 when the peer is gone. */
int harness_send_all(int fd, const char *p, size_t n);
/* A process's CPU time so far (user + system) in clock ticks, from /proc; -1 if unreadable. */
long harness_cpu_ticks(int pid);
/* A process's VmRSS in KiB, from /proc; -1 if unreadable. */
long harness_rss_kb(int pid);
/* Milliseconds to sleep without busy waiting. */
void harness_sleep_ms(int ms);

#endif
