/* The provider's ledger: one record per upstream request, every token's generation time, how
 * the peer left and what the emulated vendor bills. Bounded: the oldest finished records are
 * dropped first, and every drop is counted. */
#ifndef MP_LEDGER_H
#define MP_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "timeline.h"

#define LEDGER_DEFAULT_CAPACITY 50000
#define LEDGER_MAX_TOKENS (1u << 20) /* per record; also the hard cap on a generation */
#define LEDGER_ID_MAX 128
#define LEDGER_NO_TIME 0 /* a time field that did not happen */
#define LEDGER_NONE (-1) /* an optional count that is absent */

enum ledger_close {
    LEDGER_CLOSE_NONE,
    LEDGER_CLOSE_FIN,
    LEDGER_CLOSE_RST,
    LEDGER_CLOSE_CANCEL_API,
    LEDGER_CLOSE_RST_STREAM, /* HTTP/2: the peer reset the stream; the connection stayed */
    LEDGER_CLOSE_GOAWAY,     /* HTTP/2: the connection ended after the peer's GOAWAY */
};

enum ledger_stop {
    LEDGER_STOP_NONE, /* still generating */
    LEDGER_STOP_NATURAL,
    LEDGER_STOP_MAX_TOKENS,
    LEDGER_STOP_DISCONNECT,
    LEDGER_STOP_CANCEL,
    LEDGER_STOP_ERROR_FAULT,
    LEDGER_STOP_TRUNCATE_FAULT,
    LEDGER_STOP_HTTP_ERROR,
};

struct ledger_record {
    uint64_t seq;
    char request_id[48];
    char correlation_id[LEDGER_ID_MAX];
    const char *id_source; /* header, user, metadata, marker, none */
    int rid_propagated; /* the request carried X-Request-Id */
    int sigv4;          /* the request was SigV4-signed (Bedrock; the signature not checked) */
    const char *api; /* chat, responses, messages */
    const char *profile;
    char model[LEDGER_ID_MAX];
    int stream;
    int background;
    int64_t max_tokens; /* LEDGER_NONE when the request set none */
    uint64_t natural_length;
    int include_usage;
    uint64_t attempt;
    int status;
    char fault[128];
    uint64_t t_accept_ns;
    uint64_t t_first_token_ns;
    struct timeline token_times; /* generation time of each token */
    uint64_t generated_tokens;
    uint64_t written_tokens;
    uint64_t emitted_at_close; /* written_tokens when the peer left */
    uint64_t t_peer_closed_ns;
    enum ledger_close close_kind;
    int64_t close_code;   /* HTTP/2 error code of a rst_stream or goaway close; else LEDGER_NONE */
    const char *protocol; /* how the request came: "http/1.1", "h2" (static) */
    uint64_t t_gen_stop_ns;
    enum ledger_stop stop_reason;
    uint64_t tail_tokens; /* visible tokens generated after t_peer_closed_ns */
    /* Reasoning (hidden or shown), apart from the visible tokens above: planned, each one's
     * time, how many were done when the peer left and after it, and how many were billed. */
    uint64_t reasoning_length; /* planned reasoning tokens (before the cap) */
    struct timeline reasoning_times; /* generation time of each reasoning token */
    uint64_t reasoning_tokens;        /* reasoning tokens generated */
    uint64_t reasoning_at_close;      /* reasoning tokens generated when the peer left */
    uint64_t reasoning_tail_tokens;   /* reasoning tokens generated after t_peer_closed_ns */
    uint64_t billed_reasoning_tokens; /* of billed_output_tokens, reasoning */
    int tool_call;                    /* visible tokens from tool_text_tokens on are arguments */
    uint64_t tool_text_tokens;
    uint64_t billed_input_tokens;
    uint64_t billed_output_tokens;
    int64_t usage_reported; /* LEDGER_NONE when the wire carried no usage */
    const char *usage_via;  /* usage, trailer, none */
    double price_in_per_mtok;
    double price_out_per_mtok;
    int done;
    struct ledger_record *prev, *next;
};

struct ledger;

/* Returns NULL with err filled. 'jsonl_path' may be NULL; else finished records are appended
 * to it as JSON lines. Borrows nothing. */
struct ledger *ledger_new(size_t capacity, const char *jsonl_path, char *err, size_t errlen);
void ledger_free(struct ledger *l);

/* A new active record, owned by the ledger; NULL on out of memory. Active records are never
 * dropped. Its attempt number counts earlier records with the same correlation id, so set
 * correlation_id through ledger_set_correlation. */
struct ledger_record *ledger_open(struct ledger *l, uint64_t now_ns);
/* Sets the correlation id and the attempt number. */
void ledger_set_correlation(struct ledger *l, struct ledger_record *r, const char *cid);
/* Appends a token time. Returns 0, or -1 at LEDGER_MAX_TOKENS or out of memory. */
int ledger_add_token(struct ledger_record *r, uint64_t t_ns);
/* Appends a reasoning token time. Returns 0, or -1 at LEDGER_MAX_TOKENS or out of memory. */
int ledger_add_reasoning(struct ledger_record *r, uint64_t t_ns);
/* Marks the record finished; may drop the oldest finished records to respect the capacity,
 * 'r' itself included: do not touch 'r' after this call. */
void ledger_finish(struct ledger *l, struct ledger_record *r);
/* Empties the ledger and the attempt counters. Active records stay (they are still running) but
 * will not be listed twice. */
void ledger_reset(struct ledger *l);
/* Forgets the finished records and attempt counters of the correlation ids starting with
 * 'prefix' (a scope's reset); running records and the drop count stay. */
void ledger_reset_prefix(struct ledger *l, const char *prefix);

size_t ledger_count(const struct ledger *l);
uint64_t ledger_dropped(const struct ledger *l);
size_t ledger_capacity(const struct ledger *l);
uint64_t ledger_file_errors(const struct ledger *l);

/* JSON of one record; NULL on out of memory. Caller owns it. */
cJSON *ledger_record_json(const struct ledger_record *r);
/* {"records":[...],"count","dropped","capacity"}; 'cid' NULL for every record. Caller owns it. */
cJSON *ledger_query_json(const struct ledger *l, const char *cid);
/* The same, only records whose correlation id starts with 'prefix' (NULL: every one). */
cJSON *ledger_query_prefix_json(const struct ledger *l, const char *cid, const char *prefix);
/* Invoice as CSV, one line per finished record; malloc'd, caller frees; NULL on OOM. */
char *ledger_invoice_csv(const struct ledger *l);

const char *ledger_close_name(enum ledger_close c);
const char *ledger_stop_name(enum ledger_stop s);

#endif
