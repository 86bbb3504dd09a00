/* The provider's ledger: bounded list of request records plus per-correlation-id attempt
 * counters. */
#include "ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strhash.h"

#define ATTEMPT_BUCKETS 4096
#define ATTEMPT_MAX_KEYS (1u << 20)

struct attempt {
    char *cid;
    uint64_t count;
    struct attempt *next;
};

struct ledger {
    size_t capacity;
    size_t count; /* records in the list */
    uint64_t dropped;
    uint64_t next_seq;
    struct ledger_record *head, *tail;
    struct attempt *buckets[ATTEMPT_BUCKETS];
    size_t attempt_keys;
    FILE *jsonl;
    uint64_t file_errors;
};

struct ledger *ledger_new(size_t capacity, const char *jsonl_path, char *err, size_t errlen)
{
    struct ledger *l = calloc(1, sizeof *l);
    if (l == NULL) {
        snprintf(err, errlen, "ledger: out of memory");
        return NULL;
    }
    l->capacity = capacity ? capacity : LEDGER_DEFAULT_CAPACITY;
    l->next_seq = 1;
    if (jsonl_path) {
        l->jsonl = fopen(jsonl_path, "a");
        if (l->jsonl == NULL) {
            snprintf(err, errlen, "ledger file %s: %s", jsonl_path, strerror(errno));
            free(l);
            return NULL;
        }
    }
    return l;
}

static void record_free(struct ledger_record *r)
{
    if (r == NULL)
        return;
    timeline_free(&r->token_times);
    timeline_free(&r->reasoning_times);
    free(r);
}

static void attempts_clear(struct ledger *l)
{
    for (size_t i = 0; i < ATTEMPT_BUCKETS; i++) {
        struct attempt *a = l->buckets[i];
        while (a) {
            struct attempt *n = a->next;
            free(a->cid);
            free(a);
            a = n;
        }
        l->buckets[i] = NULL;
    }
    l->attempt_keys = 0;
}

void ledger_free(struct ledger *l)
{
    if (l == NULL)
        return;
    struct ledger_record *r = l->head;
    while (r) {
        struct ledger_record *n = r->next;
        record_free(r);
        r = n;
    }
    attempts_clear(l);
    if (l->jsonl)
        fclose(l->jsonl);
    free(l);
}

static void unlink_record(struct ledger *l, struct ledger_record *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    l->count--;
}

struct ledger_record *ledger_open(struct ledger *l, uint64_t now_ns)
{
    struct ledger_record *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->seq = l->next_seq++;
    snprintf(r->request_id, sizeof r->request_id, "req_tg%016llx", (unsigned long long)r->seq);
    r->t_accept_ns = now_ns;
    r->id_source = "none";
    r->api = "?";
    r->profile = "?";
    r->max_tokens = LEDGER_NONE;
    r->usage_reported = LEDGER_NONE;
    r->close_code = LEDGER_NONE;
    r->usage_via = "none";
    r->attempt = 1;
    r->status = 200;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->count++;
    return r;
}

void ledger_set_correlation(struct ledger *l, struct ledger_record *r, const char *cid)
{
    snprintf(r->correlation_id, sizeof r->correlation_id, "%s", cid);
    uint64_t b = strhash(r->correlation_id) % ATTEMPT_BUCKETS;
    for (struct attempt *a = l->buckets[b]; a; a = a->next) {
        if (strcmp(a->cid, r->correlation_id) == 0) {
            r->attempt = ++a->count;
            return;
        }
    }
    r->attempt = 1;
    if (l->attempt_keys >= ATTEMPT_MAX_KEYS)
        return; /* counting stops past the cap; the record still says attempt 1 */
    struct attempt *a = calloc(1, sizeof *a);
    if (a == NULL)
        return;
    a->cid = strdup(r->correlation_id);
    if (a->cid == NULL) {
        free(a);
        return;
    }
    a->count = 1;
    a->next = l->buckets[b];
    l->buckets[b] = a;
    l->attempt_keys++;
}

/* Appends t_ns to a timeline whose count is *n, up to LEDGER_MAX_TOKENS. */
static int times_append(struct timeline *tl, uint64_t *n, uint64_t t_ns)
{
    if (*n >= LEDGER_MAX_TOKENS || timeline_append(tl, t_ns) != 0)
        return -1;
    (*n)++;
    return 0;
}

/* A background response generates on after its stream drops, by design and for a resume: its
 * tail starts at a cancel, not at that close. */
static int in_tail(const struct ledger_record *r, uint64_t t_ns)
{
    return r->t_peer_closed_ns != LEDGER_NO_TIME && t_ns > r->t_peer_closed_ns &&
           (!r->background || r->close_kind == LEDGER_CLOSE_CANCEL_API);
}

int ledger_add_token(struct ledger_record *r, uint64_t t_ns)
{
    if (times_append(&r->token_times, &r->generated_tokens, t_ns) != 0)
        return -1;
    if (r->generated_tokens == 1)
        r->t_first_token_ns = t_ns;
    if (in_tail(r, t_ns))
        r->tail_tokens++;
    return 0;
}

int ledger_add_reasoning(struct ledger_record *r, uint64_t t_ns)
{
    if (times_append(&r->reasoning_times, &r->reasoning_tokens, t_ns) != 0)
        return -1;
    if (in_tail(r, t_ns))
        r->reasoning_tail_tokens++;
    return 0;
}

void ledger_finish(struct ledger *l, struct ledger_record *r)
{
    if (r->done)
        return;
    r->done = 1;
    if (l->jsonl) {
        cJSON *j = ledger_record_json(r);
        char *s = j ? cJSON_PrintUnformatted(j) : NULL;
        if (s == NULL || fprintf(l->jsonl, "%s\n", s) < 0 || fflush(l->jsonl) != 0)
            l->file_errors++;
        free(s);
        cJSON_Delete(j);
    }
    /* drop the oldest finished records beyond capacity; active ones are never dropped */
    struct ledger_record *c = l->head;
    while (l->count > l->capacity && c) {
        struct ledger_record *n = c->next;
        if (c->done) {
            unlink_record(l, c);
            record_free(c);
            l->dropped++;
        }
        c = n;
    }
}

void ledger_reset(struct ledger *l)
{
    struct ledger_record *r = l->head;
    while (r) {
        struct ledger_record *n = r->next;
        if (r->done) {
            unlink_record(l, r);
            record_free(r);
        }
        r = n;
    }
    attempts_clear(l);
    l->dropped = 0;
}

/* The finished records and attempt counters of the correlation ids that start with 'prefix';
 * the drop count stays: a drop may have hit any scope. */
void ledger_reset_prefix(struct ledger *l, const char *prefix)
{
    size_t n = strlen(prefix);
    struct ledger_record *r = l->head;
    while (r) {
        struct ledger_record *next = r->next;
        if (r->done && strncmp(r->correlation_id, prefix, n) == 0) {
            unlink_record(l, r);
            record_free(r);
        }
        r = next;
    }
    for (size_t i = 0; i < ATTEMPT_BUCKETS; i++) {
        struct attempt **pp = &l->buckets[i];
        while (*pp) {
            struct attempt *a = *pp;
            if (strncmp(a->cid, prefix, n) == 0) {
                *pp = a->next;
                free(a->cid);
                free(a);
                l->attempt_keys--;
            } else {
                pp = &a->next;
            }
        }
    }
}

size_t ledger_count(const struct ledger *l)
{
    return l->count;
}

uint64_t ledger_dropped(const struct ledger *l)
{
    return l->dropped;
}

size_t ledger_capacity(const struct ledger *l)
{
    return l->capacity;
}

uint64_t ledger_file_errors(const struct ledger *l)
{
    return l->file_errors;
}

const char *ledger_close_name(enum ledger_close c)
{
    switch (c) {
    case LEDGER_CLOSE_NONE:
        return NULL;
    case LEDGER_CLOSE_FIN:
        return "fin";
    case LEDGER_CLOSE_RST:
        return "rst";
    case LEDGER_CLOSE_CANCEL_API:
        return "cancel_api";
    case LEDGER_CLOSE_RST_STREAM:
        return "rst_stream";
    case LEDGER_CLOSE_GOAWAY:
        return "goaway";
    }
    return NULL;
}

const char *ledger_stop_name(enum ledger_stop s)
{
    switch (s) {
    case LEDGER_STOP_NONE:
        return NULL;
    case LEDGER_STOP_NATURAL:
        return "natural";
    case LEDGER_STOP_MAX_TOKENS:
        return "max_tokens";
    case LEDGER_STOP_DISCONNECT:
        return "disconnect";
    case LEDGER_STOP_CANCEL:
        return "cancel";
    case LEDGER_STOP_ERROR_FAULT:
        return "error_fault";
    case LEDGER_STOP_TRUNCATE_FAULT:
        return "truncate_fault";
    case LEDGER_STOP_HTTP_ERROR:
        return "http_error";
    }
    return NULL;
}

static cJSON *add_time(cJSON *o, const char *k, uint64_t t)
{
    if (t == LEDGER_NO_TIME)
        return cJSON_AddNullToObject(o, k);
    return cJSON_AddNumberToObject(o, k, (double)t);
}

/* The times of a timeline as an array of numbers under k. */
static void add_times(cJSON *o, const char *k, const struct timeline *tl)
{
    cJSON *arr = cJSON_AddArrayToObject(o, k);
    struct timeline_reader rd;
    uint64_t t;
    timeline_read(&rd, tl);
    while (arr && timeline_next(&rd, &t))
        cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)t));
}

static cJSON *add_str_or_null(cJSON *o, const char *k, const char *v)
{
    return v ? cJSON_AddStringToObject(o, k, v) : cJSON_AddNullToObject(o, k);
}

cJSON *ledger_record_json(const struct ledger_record *r)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    /* cJSON numbers are doubles: exact for ns times up to 2^53 (104 days of uptime) */
    cJSON_AddNumberToObject(o, "seq", (double)r->seq);
    cJSON_AddStringToObject(o, "request_id", r->request_id);
    cJSON_AddStringToObject(o, "correlation_id", r->correlation_id);
    cJSON_AddStringToObject(o, "id_source", r->id_source);
    cJSON_AddBoolToObject(o, "rid_propagated", r->rid_propagated);
    cJSON_AddBoolToObject(o, "sigv4", r->sigv4);
    cJSON_AddStringToObject(o, "api", r->api);
    cJSON_AddStringToObject(o, "profile", r->profile);
    cJSON_AddStringToObject(o, "model", r->model);
    cJSON_AddBoolToObject(o, "stream", r->stream);
    cJSON_AddBoolToObject(o, "background", r->background);
    if (r->max_tokens == LEDGER_NONE)
        cJSON_AddNullToObject(o, "max_tokens");
    else
        cJSON_AddNumberToObject(o, "max_tokens", (double)r->max_tokens);
    cJSON_AddNumberToObject(o, "natural_length", (double)r->natural_length);
    cJSON_AddBoolToObject(o, "include_usage", r->include_usage);
    cJSON_AddNumberToObject(o, "attempt", (double)r->attempt);
    cJSON_AddNumberToObject(o, "status", r->status);
    add_str_or_null(o, "fault", r->fault[0] ? r->fault : NULL);
    add_time(o, "t_accept_ns", r->t_accept_ns);
    add_time(o, "t_first_token_ns", r->t_first_token_ns);
    add_times(o, "token_t_ns", &r->token_times);
    add_time(o, "t_peer_closed_ns", r->t_peer_closed_ns);
    add_str_or_null(o, "close_kind", ledger_close_name(r->close_kind));
    if (r->close_code >= 0)
        cJSON_AddNumberToObject(o, "close_code", (double)r->close_code);
    else
        cJSON_AddNullToObject(o, "close_code");
    add_str_or_null(o, "protocol", r->protocol);
    add_time(o, "t_gen_stop_ns", r->t_gen_stop_ns);
    add_str_or_null(o, "stop_reason", ledger_stop_name(r->stop_reason));
    cJSON_AddNumberToObject(o, "generated_tokens", (double)r->generated_tokens);
    cJSON_AddNumberToObject(o, "written_tokens", (double)r->written_tokens);
    cJSON_AddNumberToObject(o, "tail_tokens", (double)r->tail_tokens);
    cJSON_AddNumberToObject(o, "billed_input_tokens", (double)r->billed_input_tokens);
    cJSON_AddNumberToObject(o, "billed_output_tokens", (double)r->billed_output_tokens);
    cJSON_AddNumberToObject(o, "reasoning_length", (double)r->reasoning_length);
    add_times(o, "reasoning_t_ns", &r->reasoning_times);
    cJSON_AddNumberToObject(o, "reasoning_tokens", (double)r->reasoning_tokens);
    cJSON_AddNumberToObject(o, "reasoning_at_close", (double)r->reasoning_at_close);
    cJSON_AddNumberToObject(o, "reasoning_tail_tokens", (double)r->reasoning_tail_tokens);
    cJSON_AddNumberToObject(o, "billed_reasoning_tokens", (double)r->billed_reasoning_tokens);
    cJSON_AddBoolToObject(o, "tool_call", r->tool_call);
    if (r->tool_call)
        cJSON_AddNumberToObject(o, "tool_text_tokens", (double)r->tool_text_tokens);
    else
        cJSON_AddNullToObject(o, "tool_text_tokens");
    if (r->usage_reported == LEDGER_NONE)
        cJSON_AddNullToObject(o, "usage_reported");
    else
        cJSON_AddNumberToObject(o, "usage_reported", (double)r->usage_reported);
    cJSON_AddStringToObject(o, "usage_via", r->usage_via);
    cJSON_AddStringToObject(o, "state", r->done ? "done" : "active");
    return o;
}

cJSON *ledger_query_json(const struct ledger *l, const char *cid)
{
    return ledger_query_prefix_json(l, cid, NULL);
}

cJSON *ledger_query_prefix_json(const struct ledger *l, const char *cid, const char *prefix)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON *arr = cJSON_AddArrayToObject(o, "records");
    size_t n = 0;
    for (const struct ledger_record *r = l->head; arr && r; r = r->next) {
        if (cid && strcmp(cid, r->correlation_id) != 0)
            continue;
        if (prefix && strncmp(r->correlation_id, prefix, plen) != 0)
            continue;
        cJSON *j = ledger_record_json(r);
        if (j == NULL) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToArray(arr, j);
        n++;
    }
    cJSON_AddNumberToObject(o, "count", (double)n);
    cJSON_AddNumberToObject(o, "dropped", (double)l->dropped);
    cJSON_AddNumberToObject(o, "capacity", (double)l->capacity);
    return o;
}

/* CSV field: the ids we write are ours or client-supplied, so quote when needed (RFC 4180). */
static int csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL)
        return fputs(s, f);
    if (fputc('"', f) == EOF)
        return EOF;
    for (; *s; s++) {
        if (*s == '"' && fputc('"', f) == EOF)
            return EOF;
        if (fputc(*s, f) == EOF)
            return EOF;
    }
    return fputc('"', f);
}

char *ledger_invoice_csv(const struct ledger *l)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    fputs("request_id,correlation_id,api,model,profile,outcome,billed_input_tokens,"
          "billed_output_tokens,price_in_per_mtok,price_out_per_mtok,cost_usd\n",
          f);
    for (const struct ledger_record *r = l->head; r; r = r->next) {
        if (!r->done)
            continue;
        double cost = (double)r->billed_input_tokens * r->price_in_per_mtok / 1e6 +
                      (double)r->billed_output_tokens * r->price_out_per_mtok / 1e6;
        const char *outcome = ledger_stop_name(r->stop_reason);
        fprintf(f, "%s,", r->request_id);
        csv_field(f, r->correlation_id);
        fprintf(f, ",%s,", r->api);
        csv_field(f, r->model);
        fprintf(f, ",%s,%s,%llu,%llu,%.4f,%.4f,%.8f\n", r->profile, outcome ? outcome : "active",
                (unsigned long long)r->billed_input_tokens,
                (unsigned long long)r->billed_output_tokens, r->price_in_per_mtok,
                r->price_out_per_mtok, cost);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
