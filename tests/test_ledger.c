/* Tests for mockprov/ledger: records, attempt numbers, the capacity bound, JSON, the invoice CSV
 * and the JSON-lines file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "ledger.h"
#include "runner/join.h"

static struct ledger *new_ledger(size_t capacity)
{
    char err[256] = "";
    struct ledger *l = ledger_new(capacity, NULL, err, sizeof err);
    if (l == NULL)
        fprintf(stderr, "  ledger_new: %s\n", err);
    return l;
}

/* The seq numbers listed by ledger_query_json, written as "1,2,3" into buf. */
static void listed_seqs(const struct ledger *l, const char *cid, char *buf, size_t len)
{
    buf[0] = '\0';
    cJSON *q = ledger_query_json(l, cid);
    const cJSON *rec;
    size_t off = 0;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(q, "records"))
    {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "seq");
        off += (size_t)snprintf(buf + off, len - off, "%s%d", off ? "," : "", seq->valueint);
    }
    cJSON_Delete(q);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -12345.0;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is_null(const cJSON *o, const char *k)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int is_bool(const cJSON *o, const char *k, int want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsBool(v) && cJSON_IsTrue(v) == want;
}

/* ---- open / finish / query ---------------------------------------------------------------- */

static void ledger_should_open_finish_and_query(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    CHECK_EQ_INT(ledger_count(l), 0);
    CHECK_EQ_INT(ledger_capacity(l), 10);
    struct ledger_record *r = ledger_open(l, 1000);
    CHECK(r != NULL);
    CHECK_EQ_INT(r->seq, 1);
    CHECK_EQ_STR(r->request_id, "req_tg0000000000000001");
    CHECK_EQ_INT(r->t_accept_ns, 1000);
    CHECK_EQ_INT(r->attempt, 1);
    CHECK_EQ_INT(r->status, 200);
    CHECK_EQ_INT(r->max_tokens, LEDGER_NONE);
    CHECK_EQ_INT(r->usage_reported, LEDGER_NONE);
    CHECK_EQ_STR(r->id_source, "none");
    CHECK_EQ_STR(r->usage_via, "none");
    CHECK_EQ_INT(r->done, 0);
    CHECK_EQ_INT(ledger_count(l), 1);
    struct ledger_record *r2 = ledger_open(l, 2000);
    CHECK(r2 != NULL);
    CHECK_EQ_INT(r2->seq, 2);
    CHECK_EQ_STR(r2->request_id, "req_tg0000000000000002");
    ledger_finish(l, r);
    CHECK_EQ_INT(r->done, 1);
    CHECK_EQ_INT(ledger_count(l), 2);
    CHECK_EQ_INT(ledger_dropped(l), 0);

    cJSON *q = ledger_query_json(l, NULL);
    CHECK(q != NULL);
    CHECK_EQ_INT(num(q, "count"), 2);
    CHECK_EQ_INT(num(q, "dropped"), 0);
    CHECK_EQ_INT(num(q, "capacity"), 10);
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(q, "records");
    CHECK_EQ_INT(cJSON_GetArraySize(recs), 2);
    CHECK_EQ_STR(str(cJSON_GetArrayItem(recs, 0), "state"), "done");
    CHECK_EQ_STR(str(cJSON_GetArrayItem(recs, 1), "state"), "active");
    cJSON_Delete(q);
    ledger_finish(l, r2);
    ledger_free(l);
}

static void ledger_should_filter_query_by_correlation_id(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    const char *cids[] = {"a", "b", "a", "c", "a"};
    for (size_t i = 0; i < 5; i++) {
        struct ledger_record *r = ledger_open(l, 100 + i);
        ledger_set_correlation(l, r, cids[i]);
        ledger_finish(l, r);
    }
    char seqs[64];
    listed_seqs(l, "a", seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "1,3,5");
    listed_seqs(l, "b", seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "2");
    listed_seqs(l, "zzz", seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "");
    listed_seqs(l, NULL, seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "1,2,3,4,5");
    cJSON *q = ledger_query_json(l, "a");
    CHECK_EQ_INT(num(q, "count"), 3);
    cJSON_Delete(q);
    ledger_free(l);
}

static void ledger_finish_should_be_idempotent(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    struct ledger_record *r = ledger_open(l, 1);
    ledger_finish(l, r);
    ledger_finish(l, r);
    CHECK_EQ_INT(ledger_count(l), 1);
    CHECK_EQ_INT(r->done, 1);
    ledger_free(l);
}

static void ledger_new_should_default_zero_capacity(void)
{
    struct ledger *l = new_ledger(0);
    CHECK(l != NULL);
    CHECK_EQ_INT(ledger_capacity(l), LEDGER_DEFAULT_CAPACITY);
    ledger_free(l);
}

/* ---- attempt numbers ---------------------------------------------------------------------- */

static void attempt_should_count_per_correlation_id(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    static const struct {
        const char *cid;
        uint64_t attempt;
    } rows[] = {
        {"job-1", 1}, {"job-1", 2}, {"job-2", 1}, {"job-1", 3}, {"job-2", 2}, {"job-3", 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct ledger_record *r = ledger_open(l, 10 * (i + 1));
        CHECK(r != NULL);
        ledger_set_correlation(l, r, rows[i].cid);
        CHECK_EQ_STR(r->correlation_id, rows[i].cid);
        CHECK_EQ_INT(r->attempt, rows[i].attempt);
        ledger_finish(l, r);
    }
    ledger_free(l);
}

static void attempt_should_count_active_and_dropped_records(void)
{
    /* attempts count requests seen, not records kept: a dropped record still counted */
    struct ledger *l = new_ledger(1);
    CHECK(l != NULL);
    struct ledger_record *a = ledger_open(l, 1);
    ledger_set_correlation(l, a, "x");
    struct ledger_record *b = ledger_open(l, 2);
    ledger_set_correlation(l, b, "x");
    CHECK_EQ_INT(b->attempt, 2);
    ledger_finish(l, a); /* dropped at once: the ledger holds one record and b is active */
    ledger_finish(l, b);
    struct ledger_record *c = ledger_open(l, 3);
    ledger_set_correlation(l, c, "x");
    CHECK_EQ_INT(c->attempt, 3);
    ledger_finish(l, c);
    CHECK_EQ_INT(ledger_count(l), 1);
    CHECK_EQ_INT(ledger_dropped(l), 2);
    ledger_free(l);
}

static void attempt_should_truncate_long_correlation_id(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    char cid[LEDGER_ID_MAX + 10];
    memset(cid, 'k', sizeof cid - 1);
    cid[sizeof cid - 1] = '\0';
    struct ledger_record *r = ledger_open(l, 1);
    ledger_set_correlation(l, r, cid);
    CHECK_EQ_INT(strlen(r->correlation_id), LEDGER_ID_MAX - 1);
    ledger_finish(l, r);
    ledger_free(l);
}

/* ---- capacity ----------------------------------------------------------------------------- */

static void ledger_should_drop_oldest_finished_beyond_capacity(void)
{
    struct ledger *l = new_ledger(3);
    CHECK(l != NULL);
    for (int i = 0; i < 5; i++) {
        struct ledger_record *r = ledger_open(l, (uint64_t)(i + 1));
        CHECK(r != NULL);
        ledger_finish(l, r);
    }
    CHECK_EQ_INT(ledger_count(l), 3);
    CHECK_EQ_INT(ledger_dropped(l), 2);
    char seqs[64];
    listed_seqs(l, NULL, seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "3,4,5");
    cJSON *q = ledger_query_json(l, NULL);
    CHECK_EQ_INT(num(q, "count"), 3);
    CHECK_EQ_INT(num(q, "dropped"), 2);
    CHECK_EQ_INT(num(q, "capacity"), 3);
    cJSON_Delete(q);
    ledger_free(l);
}

static void ledger_should_drop_oldest_when_finished_out_of_order(void)
{
    struct ledger *l = new_ledger(3);
    CHECK(l != NULL);
    struct ledger_record *r[5];
    for (int i = 0; i < 5; i++) {
        r[i] = ledger_open(l, (uint64_t)(i + 1));
        CHECK(r[i] != NULL);
    }
    /* all five open: over capacity, but active records are never dropped */
    CHECK_EQ_INT(ledger_count(l), 5);
    ledger_finish(l, r[4]); /* seq 5 finishes first and is the only finished one: dropped */
    CHECK_EQ_INT(ledger_count(l), 4);
    CHECK_EQ_INT(ledger_dropped(l), 1);
    ledger_finish(l, r[1]); /* seq 2: dropped */
    CHECK_EQ_INT(ledger_count(l), 3);
    CHECK_EQ_INT(ledger_dropped(l), 2);
    ledger_finish(l, r[0]);
    ledger_finish(l, r[2]);
    ledger_finish(l, r[3]);
    CHECK_EQ_INT(ledger_count(l), 3);
    CHECK_EQ_INT(ledger_dropped(l), 2);
    char seqs[64];
    listed_seqs(l, NULL, seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "1,3,4");
    ledger_free(l);
}

static void ledger_should_never_drop_active_records(void)
{
    struct ledger *l = new_ledger(2);
    CHECK(l != NULL);
    struct ledger_record *a1 = ledger_open(l, 1);
    struct ledger_record *a2 = ledger_open(l, 2);
    struct ledger_record *a3 = ledger_open(l, 3);
    CHECK(a1 != NULL && a2 != NULL && a3 != NULL);
    for (int i = 0; i < 4; i++) {
        struct ledger_record *r = ledger_open(l, (uint64_t)(10 + i));
        ledger_finish(l, r);
    }
    /* three active over a capacity of two: every finished one is dropped, none active */
    CHECK_EQ_INT(ledger_count(l), 3);
    CHECK_EQ_INT(ledger_dropped(l), 4);
    char seqs[64];
    listed_seqs(l, NULL, seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "1,2,3");
    /* the active records are still valid and writable */
    CHECK_EQ_INT(ledger_add_token(a1, 50), 0);
    ledger_finish(l, a1);
    CHECK_EQ_INT(ledger_count(l), 2);
    CHECK_EQ_INT(ledger_dropped(l), 5);
    listed_seqs(l, NULL, seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "2,3");
    ledger_finish(l, a2);
    ledger_finish(l, a3);
    listed_seqs(l, NULL, seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "2,3");
    ledger_free(l);
}

/* ---- tokens ------------------------------------------------------------------------------- */

static void add_token_should_record_times_and_first_token(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    struct ledger_record *r = ledger_open(l, 100);
    for (uint64_t i = 0; i < 100; i++)
        CHECK_EQ_INT(ledger_add_token(r, 1000 + i), 0);
    CHECK_EQ_INT(r->generated_tokens, 100);
    CHECK_EQ_INT(r->t_first_token_ns, 1000);
    cJSON *j = ledger_record_json(r);
    const cJSON *times = cJSON_GetObjectItemCaseSensitive(j, "token_t_ns");
    CHECK_EQ_INT(cJSON_GetArraySize(times), 100);
    CHECK_EQ_INT(cJSON_GetArrayItem(times, 0)->valuedouble, 1000);
    CHECK_EQ_INT(cJSON_GetArrayItem(times, 99)->valuedouble, 1099);
    cJSON_Delete(j);
    CHECK_EQ_INT(r->tail_tokens, 0);
    ledger_finish(l, r);
    ledger_free(l);
}

static void tail_tokens_should_count_tokens_after_peer_closed(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    struct ledger_record *r = ledger_open(l, 100);
    CHECK_EQ_INT(ledger_add_token(r, 1000), 0);
    CHECK_EQ_INT(ledger_add_token(r, 1100), 0);
    r->t_peer_closed_ns = 1150;
    r->close_kind = LEDGER_CLOSE_FIN;
    CHECK_EQ_INT(ledger_add_token(r, 1150), 0); /* at the close: not after it */
    CHECK_EQ_INT(ledger_add_token(r, 1151), 0);
    CHECK_EQ_INT(ledger_add_token(r, 1300), 0);
    CHECK_EQ_INT(r->generated_tokens, 5);
    CHECK_EQ_INT(r->tail_tokens, 2);
    ledger_finish(l, r);
    cJSON *j = ledger_record_json(r);
    CHECK_EQ_INT(num(j, "tail_tokens"), 2);
    CHECK_EQ_INT(num(j, "t_peer_closed_ns"), 1150);
    CHECK_EQ_STR(str(j, "close_kind"), "fin");
    cJSON_Delete(j);
    ledger_free(l);
}

/* Reasoning tokens: their own times and tail, apart from the visible ones, in the JSON. */
static void reasoning_tokens_should_keep_their_own_times_and_tail(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    struct ledger_record *r = ledger_open(l, 100);
    CHECK_EQ_INT(ledger_add_reasoning(r, 1000), 0);
    CHECK_EQ_INT(ledger_add_reasoning(r, 1100), 0);
    r->t_peer_closed_ns = 1150;
    r->close_kind = LEDGER_CLOSE_FIN;
    r->reasoning_at_close = 2;
    CHECK_EQ_INT(ledger_add_reasoning(r, 1150), 0); /* at the close: not after it */
    CHECK_EQ_INT(ledger_add_reasoning(r, 1200), 0);
    CHECK_EQ_INT(ledger_add_token(r, 1300), 0);
    r->reasoning_length = 4;
    r->billed_reasoning_tokens = 2;
    r->tool_call = 1;
    r->tool_text_tokens = 0;
    CHECK_EQ_INT(r->reasoning_tokens, 4);
    CHECK_EQ_INT(r->reasoning_tail_tokens, 1);
    CHECK_EQ_INT(r->generated_tokens, 1);
    CHECK_EQ_INT(r->tail_tokens, 1);
    CHECK_EQ_INT(r->t_first_token_ns, 1300); /* the first visible token */
    ledger_finish(l, r);
    cJSON *j = ledger_record_json(r);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "reasoning_t_ns")), 4);
    CHECK_EQ_INT(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "reasoning_t_ns"), 3)->valuedouble,
                 1200);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "token_t_ns")), 1);
    CHECK_EQ_INT(num(j, "reasoning_tokens"), 4);
    CHECK_EQ_INT(num(j, "reasoning_length"), 4);
    CHECK_EQ_INT(num(j, "reasoning_at_close"), 2);
    CHECK_EQ_INT(num(j, "reasoning_tail_tokens"), 1);
    CHECK_EQ_INT(num(j, "billed_reasoning_tokens"), 2);
    CHECK_EQ_INT(num(j, "tail_tokens"), 1);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "tool_call")));
    CHECK_EQ_INT(num(j, "tool_text_tokens"), 0);
    cJSON_Delete(j);
    /* a plain record: no reasoning, no tool call */
    struct ledger_record *p = ledger_open(l, 100);
    ledger_finish(l, p);
    j = ledger_record_json(p);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "reasoning_t_ns")), 0);
    CHECK_EQ_INT(num(j, "reasoning_tokens"), 0);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "tool_call")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "tool_text_tokens")));
    cJSON_Delete(j);
    ledger_free(l);
}

/* ---- record JSON -------------------------------------------------------------------------- */

static void record_json_should_give_null_for_events_that_did_not_happen(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    struct ledger_record *r = ledger_open(l, 5000);
    cJSON *j = ledger_record_json(r);
    CHECK(j != NULL);
    CHECK_EQ_INT(num(j, "seq"), 1);
    CHECK_EQ_STR(str(j, "request_id"), "req_tg0000000000000001");
    CHECK_EQ_STR(str(j, "correlation_id"), "");
    CHECK_EQ_STR(str(j, "id_source"), "none");
    CHECK(is_bool(j, "rid_propagated", 0));
    CHECK(is_null(j, "max_tokens"));
    CHECK(is_null(j, "fault"));
    CHECK_EQ_INT(num(j, "t_accept_ns"), 5000);
    CHECK(is_null(j, "t_first_token_ns"));
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "token_t_ns")), 0);
    CHECK(is_null(j, "t_peer_closed_ns"));
    CHECK(is_null(j, "close_kind"));
    CHECK(is_null(j, "t_gen_stop_ns"));
    CHECK(is_null(j, "stop_reason"));
    CHECK(is_null(j, "usage_reported"));
    CHECK_EQ_STR(str(j, "usage_via"), "none");
    CHECK_EQ_STR(str(j, "state"), "active");
    cJSON_Delete(j);
    ledger_finish(l, r);
    ledger_free(l);
}

static void record_json_should_carry_every_field(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    struct ledger_record *r = ledger_open(l, 1000);
    ledger_set_correlation(l, r, "job-7");
    r->id_source = "header";
    r->rid_propagated = 1;
    r->api = "chat";
    r->profile = "vendor-b-post";
    snprintf(r->model, sizeof r->model, "gpt-test");
    r->stream = 1;
    r->background = 0;
    r->max_tokens = 64;
    r->natural_length = 256;
    r->include_usage = 1;
    r->status = 200;
    snprintf(r->fault, sizeof r->fault, "stall-after=1,stall-ms=5");
    CHECK_EQ_INT(ledger_add_token(r, 2000), 0);
    CHECK_EQ_INT(ledger_add_token(r, 2500), 0);
    CHECK_EQ_INT(ledger_add_token(r, 3000), 0);
    r->written_tokens = 2;
    r->t_peer_closed_ns = 2700;
    r->close_kind = LEDGER_CLOSE_RST;
    r->t_gen_stop_ns = 3100;
    r->stop_reason = LEDGER_STOP_DISCONNECT;
    r->tail_tokens = 1;
    r->billed_input_tokens = 12;
    r->billed_output_tokens = 2;
    r->usage_reported = 2;
    r->usage_via = "usage";
    ledger_finish(l, r);

    cJSON *j = ledger_record_json(r);
    CHECK(j != NULL);
    CHECK_EQ_STR(str(j, "correlation_id"), "job-7");
    CHECK_EQ_STR(str(j, "id_source"), "header");
    CHECK(is_bool(j, "rid_propagated", 1));
    CHECK_EQ_STR(str(j, "api"), "chat");
    CHECK_EQ_STR(str(j, "profile"), "vendor-b-post");
    CHECK_EQ_STR(str(j, "model"), "gpt-test");
    CHECK(is_bool(j, "stream", 1));
    CHECK(is_bool(j, "background", 0));
    CHECK_EQ_INT(num(j, "max_tokens"), 64);
    CHECK_EQ_INT(num(j, "natural_length"), 256);
    CHECK(is_bool(j, "include_usage", 1));
    CHECK_EQ_INT(num(j, "attempt"), 1);
    CHECK_EQ_INT(num(j, "status"), 200);
    CHECK_EQ_STR(str(j, "fault"), "stall-after=1,stall-ms=5");
    CHECK_EQ_INT(num(j, "t_accept_ns"), 1000);
    CHECK_EQ_INT(num(j, "t_first_token_ns"), 2000);
    const cJSON *times = cJSON_GetObjectItemCaseSensitive(j, "token_t_ns");
    CHECK_EQ_INT(cJSON_GetArraySize(times), 3);
    CHECK_EQ_INT(cJSON_GetArrayItem(times, 0)->valuedouble, 2000);
    CHECK_EQ_INT(cJSON_GetArrayItem(times, 1)->valuedouble, 2500);
    CHECK_EQ_INT(cJSON_GetArrayItem(times, 2)->valuedouble, 3000);
    CHECK_EQ_INT(num(j, "t_peer_closed_ns"), 2700);
    CHECK_EQ_STR(str(j, "close_kind"), "rst");
    CHECK_EQ_INT(num(j, "t_gen_stop_ns"), 3100);
    CHECK_EQ_STR(str(j, "stop_reason"), "disconnect");
    CHECK_EQ_INT(num(j, "generated_tokens"), 3);
    CHECK_EQ_INT(num(j, "written_tokens"), 2);
    CHECK_EQ_INT(num(j, "tail_tokens"), 1);
    CHECK_EQ_INT(num(j, "billed_input_tokens"), 12);
    CHECK_EQ_INT(num(j, "billed_output_tokens"), 2);
    CHECK_EQ_INT(num(j, "usage_reported"), 2);
    CHECK_EQ_STR(str(j, "usage_via"), "usage");
    CHECK_EQ_STR(str(j, "state"), "done");
    cJSON_Delete(j);
    ledger_free(l);
}

static void record_json_should_report_zero_usage_as_number(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    struct ledger_record *r = ledger_open(l, 1);
    r->usage_reported = 0; /* a vendor that says 0 is not the same as one that says nothing */
    r->max_tokens = 0;
    cJSON *j = ledger_record_json(r);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "usage_reported")));
    CHECK_EQ_INT(num(j, "usage_reported"), 0);
    CHECK_EQ_INT(num(j, "max_tokens"), 0);
    cJSON_Delete(j);
    ledger_finish(l, r);
    ledger_free(l);
}

static void close_and_stop_names_should_cover_every_value(void)
{
    CHECK(ledger_close_name(LEDGER_CLOSE_NONE) == NULL);
    CHECK_EQ_STR(ledger_close_name(LEDGER_CLOSE_FIN), "fin");
    CHECK_EQ_STR(ledger_close_name(LEDGER_CLOSE_RST), "rst");
    CHECK_EQ_STR(ledger_close_name(LEDGER_CLOSE_CANCEL_API), "cancel_api");
    CHECK(ledger_stop_name(LEDGER_STOP_NONE) == NULL);
    CHECK_EQ_STR(ledger_stop_name(LEDGER_STOP_NATURAL), "natural");
    CHECK_EQ_STR(ledger_stop_name(LEDGER_STOP_MAX_TOKENS), "max_tokens");
    CHECK_EQ_STR(ledger_stop_name(LEDGER_STOP_DISCONNECT), "disconnect");
    CHECK_EQ_STR(ledger_stop_name(LEDGER_STOP_CANCEL), "cancel");
    CHECK_EQ_STR(ledger_stop_name(LEDGER_STOP_ERROR_FAULT), "error_fault");
    CHECK_EQ_STR(ledger_stop_name(LEDGER_STOP_TRUNCATE_FAULT), "truncate_fault");
    CHECK_EQ_STR(ledger_stop_name(LEDGER_STOP_HTTP_ERROR), "http_error");
}

/* ---- invoice CSV -------------------------------------------------------------------------- */

#define INVOICE_HEADER                                                                        \
    "request_id,correlation_id,api,model,profile,outcome,billed_input_tokens,"                \
    "billed_output_tokens,price_in_per_mtok,price_out_per_mtok,cost_usd\n"

static struct ledger_record *billed(struct ledger *l, const char *cid, const char *model,
                                    uint64_t in, uint64_t out, double pin, double pout)
{
    struct ledger_record *r = ledger_open(l, 1);
    if (r == NULL)
        return NULL;
    ledger_set_correlation(l, r, cid);
    r->api = "chat";
    r->profile = "vendor-a-pre";
    snprintf(r->model, sizeof r->model, "%s", model);
    r->stop_reason = LEDGER_STOP_NATURAL;
    r->billed_input_tokens = in;
    r->billed_output_tokens = out;
    r->price_in_per_mtok = pin;
    r->price_out_per_mtok = pout;
    return r;
}

static void invoice_should_have_header_only_when_empty(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    char *csv = ledger_invoice_csv(l);
    CHECK(csv != NULL);
    int ok = strcmp(csv, INVOICE_HEADER) == 0;
    free(csv);
    ledger_free(l);
    CHECK(ok);
}

static void invoice_should_price_each_finished_row(void)
{
    struct ledger *l = new_ledger(10);
    CHECK(l != NULL);
    struct ledger_record *r = billed(l, "job-1", "gpt-test", 1000, 500, 2.5, 10.0);
    CHECK(r != NULL);
    ledger_finish(l, r);
    struct ledger_record *r2 = billed(l, "job-2", "gpt-test", 3, 0, 3.0, 15.0);
    r2->stop_reason = LEDGER_STOP_DISCONNECT;
    ledger_finish(l, r2);
    struct ledger_record *active = billed(l, "job-3", "gpt-test", 1, 1, 1.0, 1.0);
    char *csv = ledger_invoice_csv(l);
    CHECK(csv != NULL);
    /* 1000 * 2.5/M + 500 * 10/M = 0.0025 + 0.005 = 0.0075; the active record is not billed */
    const char *want = INVOICE_HEADER
        "req_tg0000000000000001,job-1,chat,gpt-test,vendor-a-pre,natural,1000,500,2.5000,"
        "10.0000,0.00750000\n"
        "req_tg0000000000000002,job-2,chat,gpt-test,vendor-a-pre,disconnect,3,0,3.0000,"
        "15.0000,0.00000900\n";
    int ok = strcmp(csv, want) == 0;
    if (!ok)
        fprintf(stderr, "  got:\n%s", csv);
    free(csv);
    ledger_finish(l, active);
    ledger_free(l);
    CHECK(ok);
}

static void invoice_should_quote_fields_per_rfc4180(void)
{
    static const struct {
        const char *cid;
        const char *model;
        const char *want_fields; /* correlation_id,api,model as written */
    } rows[] = {
        {"a,b", "m", "\"a,b\",chat,m"},
        {"say\"hi\"", "m", "\"say\"\"hi\"\"\",chat,m"},
        {"x", "model,with,commas", "x,chat,\"model,with,commas\""},
        {"x", "line\nbreak", "x,chat,\"line\nbreak\""},
        {"x", "cr\rhere", "x,chat,\"cr\rhere\""},
        {"plain-id", "m", "plain-id,chat,m"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct ledger *l = new_ledger(10);
        CHECK(l != NULL);
        struct ledger_record *r = billed(l, rows[i].cid, rows[i].model, 0, 0, 1.0, 1.0);
        ledger_finish(l, r);
        char *csv = ledger_invoice_csv(l);
        CHECK(csv != NULL);
        char want[512];
        snprintf(want, sizeof want,
                 INVOICE_HEADER "req_tg0000000000000001,%s,vendor-a-pre,natural,0,0,1.0000,"
                                "1.0000,0.00000000\n",
                 rows[i].want_fields);
        int ok = strcmp(csv, want) == 0;
        if (!ok)
            fprintf(stderr, "  row %zu got:\n%s", i, csv);
        free(csv);
        ledger_free(l);
        CHECK(ok);
    }
}

/* ---- JSON-lines file ---------------------------------------------------------------------- */

static void jsonl_should_get_one_line_per_finished_record(void)
{
    char dir[] = "/tmp/tg_ledger_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/ledger.jsonl", dir);
    char err[256] = "";
    struct ledger *l = ledger_new(2, path, err, sizeof err);
    CHECK(l != NULL);
    const char *cids[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        struct ledger_record *r = ledger_open(l, (uint64_t)(i + 1));
        ledger_set_correlation(l, r, cids[i]);
        ledger_finish(l, r);
    }
    struct ledger_record *active = ledger_open(l, 9);
    CHECK_EQ_INT(ledger_file_errors(l), 0);

    /* every finished record reaches the file, including the one dropped from memory */
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0, ok = f != NULL;
    while (ok && fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        cJSON *j = cJSON_Parse(line);
        ok = len > 0 && line[len - 1] == '\n' && j != NULL && n < 3 &&
             num(j, "seq") == n + 1 && str(j, "correlation_id") != NULL &&
             strcmp(str(j, "correlation_id"), cids[n]) == 0 && str(j, "state") != NULL &&
             strcmp(str(j, "state"), "done") == 0;
        cJSON_Delete(j);
        n++;
    }
    if (f)
        fclose(f);
    ledger_finish(l, active);
    ledger_free(l);

    /* the file is appended to, never truncated, by a second ledger */
    l = ledger_new(2, path, err, sizeof err);
    struct ledger_record *r = l ? ledger_open(l, 1) : NULL;
    if (r)
        ledger_finish(l, r);
    ledger_free(l);
    int lines = 0;
    f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        lines++;
    if (f)
        fclose(f);

    unlink(path);
    rmdir(dir);
    CHECK(ok);
    CHECK_EQ_INT(n, 3); /* the active record is not written until it finishes */
    CHECK_EQ_INT(lines, 5); /* + the active one, finished before the free, + the new one */
}

static void ledger_new_should_fail_on_unwritable_path(void)
{
    char err[256] = "";
    struct ledger *l = ledger_new(10, "/nonexistent-dir/x/ledger.jsonl", err, sizeof err);
    CHECK(l == NULL);
    CHECK_EQ_STR(err, "ledger file /nonexistent-dir/x/ledger.jsonl: No such file or directory");
}

/* ---- reset and free ----------------------------------------------------------------------- */

static void reset_should_clear_finished_records_and_attempts(void)
{
    struct ledger *l = new_ledger(2);
    CHECK(l != NULL);
    for (int i = 0; i < 4; i++) {
        struct ledger_record *r = ledger_open(l, (uint64_t)(i + 1));
        ledger_set_correlation(l, r, "job");
        ledger_finish(l, r);
    }
    struct ledger_record *active = ledger_open(l, 10);
    ledger_set_correlation(l, active, "job");
    CHECK_EQ_INT(active->attempt, 5);
    CHECK_EQ_INT(ledger_dropped(l), 2);
    ledger_reset(l);
    /* the running record stays; finished ones, drops and attempt counters are gone */
    CHECK_EQ_INT(ledger_count(l), 1);
    CHECK_EQ_INT(ledger_dropped(l), 0);
    char seqs[64];
    listed_seqs(l, NULL, seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "5");
    struct ledger_record *r = ledger_open(l, 20);
    ledger_set_correlation(l, r, "job");
    CHECK_EQ_INT(r->attempt, 1);
    CHECK_EQ_INT(r->seq, 6); /* seq keeps rising: request ids stay unique across resets */
    ledger_finish(l, r);
    ledger_finish(l, active);
    listed_seqs(l, NULL, seqs, sizeof seqs);
    CHECK_EQ_STR(seqs, "5,6");
    ledger_free(l);
}

static void ledger_free_should_accept_null(void)
{
    ledger_free(NULL);
}

/* The runner reads the header fact under its name and under the one ledgers of older runs used
 * ("rid_header"): both mean the request carried X-Request-Id. */
static void join_should_read_rid_propagated_under_its_old_name_too(void)
{
    cJSON *ledger = cJSON_Parse(
        "{\"records\":[{\"correlation_id\":\"new\",\"rid_propagated\":true},"
        "{\"correlation_id\":\"old\",\"rid_header\":true},"
        "{\"correlation_id\":\"none\",\"rid_propagated\":false}],\"dropped\":0}");
    CHECK(ledger != NULL);
    static const char *ids[] = {"new", "old", "none"};
    struct chaos_record recs[3];
    memset(recs, 0, sizeof recs);
    for (int i = 0; i < 3; i++) {
        snprintf(recs[i].correlation_id, sizeof recs[i].correlation_id, "%s", ids[i]);
        recs[i].attempt = 1;
        recs[i].index = (uint32_t)i;
        recs[i].end = CHAOS_END_COMPLETE;
        recs[i].http_status = 200;
        recs[i].t_send_ns = 1000000000ull;
        recs[i].t_end_ns = 2000000000ull;
    }
    struct scenario_result res;
    memset(&res, 0, sizeof res);
    join_requests(&res, recs, 3, ledger, 3e9, 0);
    cJSON_Delete(ledger);
    double got[3] = {-1, -1, -1};
    for (size_t k = 0; k < res.nreqs; k++) {
        for (int i = 0; i < 3; i++)
            if (strcmp(res.reqs[k].cid, ids[i]) == 0)
                got[i] = res.reqs[k].sample[M_RID_PROPAGATED];
        free(res.reqs[k].gen_ms);
        free(res.reqs[k].del_ms);
        free(res.reqs[k].delivery_ms);
    }
    size_t n = res.nreqs;
    free(res.reqs);
    CHECK_EQ_INT(n, 3);
    CHECK(got[0] == 1 && got[1] == 1 && got[2] == 0);
}

/* The ledger writes the fact as "rid_propagated", the runner's name, and no longer as
 * "rid_header". */
static void record_json_should_name_the_header_fact_rid_propagated(void)
{
    struct ledger *l = new_ledger(4);
    CHECK(l != NULL);
    struct ledger_record *r = ledger_open(l, 1000);
    CHECK(r != NULL);
    ledger_set_correlation(l, r, "cid-rid");
    r->rid_propagated = 1;
    cJSON *j = ledger_record_json(r);
    int ok = j && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "rid_propagated")) &&
             cJSON_GetObjectItemCaseSensitive(j, "rid_header") == NULL;
    cJSON_Delete(j);
    ledger_finish(l, r);
    ledger_free(l);
    CHECK(ok);
}

static const struct check_case cases[] = {
    CASE(ledger_should_open_finish_and_query),
    CASE(ledger_should_filter_query_by_correlation_id),
    CASE(ledger_finish_should_be_idempotent),
    CASE(ledger_new_should_default_zero_capacity),
    CASE(attempt_should_count_per_correlation_id),
    CASE(attempt_should_count_active_and_dropped_records),
    CASE(attempt_should_truncate_long_correlation_id),
    CASE(ledger_should_drop_oldest_finished_beyond_capacity),
    CASE(ledger_should_drop_oldest_when_finished_out_of_order),
    CASE(ledger_should_never_drop_active_records),
    CASE(add_token_should_record_times_and_first_token),
    CASE(tail_tokens_should_count_tokens_after_peer_closed),
    CASE(reasoning_tokens_should_keep_their_own_times_and_tail),
    CASE(record_json_should_give_null_for_events_that_did_not_happen),
    CASE(record_json_should_carry_every_field),
    CASE(record_json_should_report_zero_usage_as_number),
    CASE(close_and_stop_names_should_cover_every_value),
    CASE(invoice_should_have_header_only_when_empty),
    CASE(invoice_should_price_each_finished_row),
    CASE(invoice_should_quote_fields_per_rfc4180),
    CASE(jsonl_should_get_one_line_per_finished_record),
    CASE(ledger_new_should_fail_on_unwritable_path),
    CASE(reset_should_clear_finished_records_and_attempts),
    CASE(ledger_free_should_accept_null),
    CASE(join_should_read_rid_propagated_under_its_old_name_too),
    CASE(record_json_should_name_the_header_fact_rid_propagated),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
