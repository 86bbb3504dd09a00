/* The chaos client: users who misbehave on purpose. libcurl's multi-socket API on a libevent
 * loop drives a fixed number of streams; each user follows a plan (an action and when to do it)
 * drawn from a seeded mix, and every attempt ends in one client record. */
#ifndef CHAOS_CLIENT_H
#define CHAOS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct event_base;

enum chaos_style {
    CHAOS_STYLE_OPENAI_CHAT,
    CHAOS_STYLE_RESPONSES,
    CHAOS_STYLE_ANTHROPIC,
    CHAOS_STYLE_CUSTOM,
    CHAOS_STYLE_GEMINI,         /* Google's generateContent: streamGenerateContent?alt=sse */
    CHAOS_STYLE_COMPLETIONS,    /* OpenAI's legacy text completions: POST /v1/completions */
    CHAOS_STYLE_OLLAMA,         /* Ollama's /api/chat: NDJSON lines, "done": true at the end */
    CHAOS_STYLE_AZURE,          /* Azure OpenAI: /openai/deployments/{model}/chat/completions */
    CHAOS_STYLE_BEDROCK,        /* AWS Bedrock ConverseStream, AWS event-stream framing */
    CHAOS_STYLE_BEDROCK_INVOKE, /* Bedrock InvokeModelWithResponseStream, Anthropic chunks */
    CHAOS_STYLE_COUNT
};

/* What each does to the socket, when, and what t_abort is: the table in chaos/action.c (the
 * same table as "Socket semantics" in docs/runner.md). */
enum chaos_action {
    CHAOS_COMPLETE,     /* control group: read to the end */
    CHAOS_TAB_CLOSE,    /* close(): FIN, no further reads */
    CHAOS_RESET,        /* RST */
    CHAOS_NETWORK_DROP, /* blackhole at the proxy: no FIN, socket held open */
    CHAOS_BACKGROUND,   /* stop reading for a while, then resume or be killed */
    CHAOS_STOP_BUTTON,  /* close like tab_close, and optionally call the cancel endpoint */
    CHAOS_SUPERSEDE,    /* send a new request, then close this one like tab_close */
    CHAOS_HALF_CLOSE,   /* shutdown(SHUT_WR), read and discard until the peer's FIN */
    CHAOS_ACTION_COUNT
};

/* The protocol the users speak to the gateway (see "Socket semantics" in docs/runner.md). */
enum chaos_http {
    CHAOS_HTTP_1_1, /* a connection per attempt, as a browser abandons one on a close */
    CHAOS_HTTP_2,   /* HTTP/2 over TLS by ALPN (an https:// URL); users share connections */
    CHAOS_HTTP_H2C, /* HTTP/2 in cleartext with prior knowledge (an http:// URL) */
};

#define CHAOS_USERS_PER_CONNECTION 6 /* HTTP/2: streams one connection carries by default */

enum chaos_trigger {
    CHAOS_AT_TOKENS,     /* after K delivered tokens */
    CHAOS_AT_MS,         /* T ms after the request was sent */
    CHAOS_AT_FIRST_BYTE, /* at the first body byte */
};

/* How an attempt ended, as the client saw it. */
enum chaos_end {
    CHAOS_END_COMPLETE,
    CHAOS_END_FIN,
    CHAOS_END_RST,
    CHAOS_END_DROP,
    CHAOS_END_KILLED,
    CHAOS_END_SUPERSEDED,
    CHAOS_END_HTTP_ERROR,
    CHAOS_END_ERROR,
    CHAOS_END_TIMEOUT,
    CHAOS_END_TRUNCATED, /* curl finished OK, status < 400, but no terminal event; no action */
    CHAOS_END_COUNT
};

#define CHAOS_MAX_USERS 16
#define CHAOS_MAX_HEADERS 32
#define CHAOS_ID_MAX 96
#define CHAOS_TRACE_MAX 4096 /* arrival times kept per attempt, for the token-counter charts */
#define CHAOS_MAY_START_POLL_MS 2 /* may_start said not yet: ask again after this */

/* A closed range [lo, hi] drawn uniformly with the seeded generator; lo == hi is a constant. */
struct chaos_range {
    uint32_t lo, hi;
};

/* One kind of user in the mix. */
struct chaos_user {
    enum chaos_action action;
    double weight; /* share of requests; the mix is normalised */
    enum chaos_trigger trigger;
    struct chaos_range at;       /* tokens or ms, per trigger */
    uint32_t background_ms;      /* how long a backgrounded app stops reading */
    int background_kill;         /* 1: the OS kills it (RST) instead of resuming */
    uint32_t drop_rst_after_ms;  /* network_drop: the proxy RSTs after this NAT-like hold; 0 never */
    uint32_t drop_give_up_ms;    /* network_drop: the client abandons the dead socket after this */
    int cancel_call;             /* stop_button: also call the cancel endpoint */
    uint32_t retries;            /* resend after a drop/reset/close, this many times */
    uint32_t retry_delay_ms;
    int retry_new_key;           /* 1: a new Idempotency-Key per attempt, else the same */
    /* >1: an agent task of this many requests, one after another (each once the one before
     * completed: a tool loop) or with task_parallel all at once (a fan-out). The user's action
     * is the task's: its trigger counts from the task's start over all its requests (tokens
     * delivered to any of them, ms since the first was sent, the first byte of any), and at it
     * every request in flight gets the action and none starts after. */
    uint32_t task_requests;
    int task_parallel;
};

#define CHAOS_TASK_MAX 16 /* requests in one task */

/* What a request looks like on the wire. */
struct chaos_request_spec {
    enum chaos_style style;
    const char *url;    /* base URL of the gateway (or mock), e.g. http://127.0.0.1:8080 */
    const char *path;   /* NULL: the style's vendor path */
    const char *method; /* custom style only; default POST */
    const char *model;
    const char *prompt;
    uint32_t max_tokens; /* 0: none (anthropic needs one: 1024 then) */
    const char *body_template; /* custom: {{prompt}}, {{id}}, {{max_tokens}} */
    /* 1: "stream": false, the answer arrives as one JSON body at its end (vendor styles); a
     * user leaves it on a timer (after_ms), as a client timeout or a navigation does */
    int non_streaming;
    const char *headers[CHAOS_MAX_HEADERS]; /* "Name: value" */
    size_t nheaders;
    const char *ca_file; /* https://: trust this CA file (PEM) instead of the system's */
    int tls_insecure;    /* https://: no certificate verification at all */
    const char *cancel_method;   /* stop_button cancel call; default POST */
    const char *cancel_url;      /* template with {{id}} */
    const char *cancel_body;     /* template with {{id}}, or NULL */
    /* custom style: a substring that marks a properly ended response (at most 64 bytes); NULL:
     * not checked. The vendor styles know theirs ([DONE], response.completed or
     * response.incomplete, message_stop). */
    const char *terminal_marker;
};

/* One attempt of one user request. Times are CLOCK_MONOTONIC ns; 0 = did not happen. */
struct chaos_record {
    char correlation_id[CHAOS_ID_MAX];
    enum chaos_style style;
    enum chaos_action action;
    enum chaos_trigger trigger;
    uint32_t attempt;    /* 1 for the first send */
    uint32_t index;      /* the user's request number */
    int64_t trigger_at;  /* the drawn K or T; -1 for complete */
    uint64_t t_send_ns, t_first_byte_ns, t_abort_ns, t_end_ns;
    uint64_t delivered_tokens; /* before t_abort (all of them when there was no abort) */
    uint64_t total_tokens;     /* received in all, after a resume too */
    uint64_t gaps, duplicates, reorders;
    uint32_t arrivals;   /* reads (write callbacks) that brought at least one token */
    int terminal_seen;   /* the vendor's terminal event was in the body (no marker: ended OK) */
    enum chaos_end end;
    long http_status;
    char error[128];     /* curl's words when end is ERROR or TIMEOUT */
    int local_port;
    long cancel_status;  /* stop_button cancel call: HTTP status, 0 none, -1 failed */
    char superseded_by[CHAOS_ID_MAX];
    uint32_t ntrace;    /* arrival times of the first delivered tokens (at most CHAOS_TRACE_MAX) */
    uint32_t *trace_us; /* ntrace of them, us after t_send_ns; owned by the client and valid only
                         * during on_record: copy what you keep */
};

struct chaos_config {
    struct chaos_request_spec req;
    struct chaos_user users[CHAOS_MAX_USERS];
    size_t nusers;
    uint64_t seed;
    uint32_t requests;    /* user requests in all (retries and supersedes come on top) */
    uint32_t concurrency; /* in flight at once (the cap with an arrival rate) */
    double rate_per_s;    /* >0: start requests at this rate (open model), else back to back */
    const char *id_prefix; /* correlation ids are <prefix>-<index> */
    /* shard_count > 1: only the user requests whose index i has i % shard_count ==
     * shard_index, each with the plan and arrival time it has in the whole run */
    uint32_t shard_index, shard_count;
    uint32_t timeout_ms;  /* per attempt; 0: 60 s */
    int rcvbuf;           /* >0: SO_RCVBUF of each socket (small ones make backpressure visible) */
    enum chaos_http http;
    /* HTTP/2: at most this many streams share a connection (a new one opens past it), as tabs
     * on one origin share the browser's; 0: CHAOS_USERS_PER_CONNECTION */
    uint32_t users_per_connection;
    /* Closed model only: a slot waits this long (drawn per request with the seed) after a user
     * request finishes before it starts the next; 0 = none. */
    struct chaos_range think_ms;
    /* When set, asked before user request 'index' starts: 0 = not yet, ask again after
     * CHAOS_MAY_START_POLL_MS. Not asked for retries, supersede follow-ups or cancel calls. */
    int (*may_start)(void *arg, uint32_t index);
    void *may_start_arg;
    /* network_drop: blackhole the proxied connection whose client port is 'port'. */
    int (*drop)(void *arg, int port, uint32_t rst_after_ms, char *err, size_t errlen);
    void *drop_arg;
    void (*on_record)(void *arg, const struct chaos_record *r); /* r borrowed for the call */
    void *record_arg;
    void (*on_done)(void *arg); /* every request, retry and cleanup finished */
    void *done_arg;
};

/* Counters of faults seen during a run, by kind. */
struct chaos_stats {
    uint64_t started, finished, aborted, http_errors, errors, timeouts, retries, drops_failed;
};

struct chaos_client;

/* Validates the config (err names the field) and prepares; returns NULL with err filled.
 * Borrows the config's strings for the client's lifetime. Give it a base made with
 * EVENT_BASE_FLAG_PRECISE_TIMER: the default clock is coarse (4 ms here). */
struct chaos_client *chaos_client_new(struct event_base *base, const struct chaos_config *cfg,
                                      char *err, size_t errlen);
/* Starts sending. Returns 0, or -1 with err filled. */
int chaos_client_start(struct chaos_client *c, char *err, size_t errlen);
/* Stops everything at once (open sockets closed) and frees; NULL is fine. Not from inside an
 * on_record callback. */
void chaos_client_free(struct chaos_client *c);
struct chaos_stats chaos_client_stats(const struct chaos_client *c);

/* The plan request 'index' follows: which user kind, and its trigger value. Deterministic in
 * (seed, index). Returns the index into cfg->users. */
size_t chaos_plan(const struct chaos_config *cfg, uint32_t index, int64_t *trigger_at);

const char *chaos_style_name(enum chaos_style s);
const char *chaos_action_name(enum chaos_action a);
const char *chaos_trigger_name(enum chaos_trigger t);
const char *chaos_end_name(enum chaos_end e);
const char *chaos_http_name(enum chaos_http h); /* "1.1", "2", "h2c" */
int chaos_http_parse(const char *s);            /* -1 if unknown */
/* Name to value; -1 if unknown. */
int chaos_style_parse(const char *s);
int chaos_action_parse(const char *s);

/* The record as JSON; caller owns it; NULL on OOM. */
cJSON *chaos_record_json(const struct chaos_record *r);
/* The record back from its JSON (with "trace_us" when the line has it: r->trace_us is then
 * malloc'd, the caller frees it). Returns 0, or -1 when a field is missing or wrong. */
int chaos_record_from_json(const cJSON *o, struct chaos_record *r);

/* The request body for a style (custom: the template filled in); malloc'd, NULL with err. */
char *chaos_request_body(const struct chaos_request_spec *req, const char *cid, char *err,
                         size_t errlen);

#endif
