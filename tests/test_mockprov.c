/* mockprov over real loopback sockets: every API x billing semantic x {FIN, RST}, faults, bad
 * input, background responses, the admin API. One mock process per case group. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "jparse.h"
#include "request.h"
#include "utf8.h"

/* Close after K tokens. At 10 tokens/s the next token is 100 ms away when the client closes,
 * so "generated before the close" is exactly K. Jitter 0 keeps the timing exact. */
#define K 3
#define TIMING "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 10\r\nx-tailgate-jitter: 0\r\n"

static struct proc mock;

static const char *path_of(const char *api)
{
    if (strcmp(api, "chat") == 0)
        return "/v1/chat/completions";
    if (strcmp(api, "responses") == 0)
        return "/v1/responses";
    if (strcmp(api, "gemini") == 0)
        return "/v1beta/models/gemini-test:streamGenerateContent?alt=sse";
    return "/v1/messages";
}

static const char *stream_body(const char *api)
{
    if (strcmp(api, "chat") == 0)
        return "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
               "\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}";
    if (strcmp(api, "responses") == 0)
        return "{\"model\":\"m\",\"stream\":true,\"input\":\"abcdefgh\"}";
    if (strcmp(api, "gemini") == 0) /* the model and streaming are in the path */
        return "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"abcdefgh\"}]}]}";
    return "{\"model\":\"m\",\"stream\":true,\"max_tokens\":1000,"
           "\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}";
}

/* Opens a stream with the given profile and length, reads K tokens, closes (FIN or RST), and
 * returns the finished ledger record; *burst when more than K came in the read that brought
 * the K-th. */
static cJSON *abort_once(const char *api, const char *profile, const char *cid, int rst, int length,
                         const char *timing, int *burst)
{
    char headers[512];
    snprintf(headers, sizeof headers,
             "%sx-tailgate-profile: %s\r\nx-tailgate-length: %d\r\nX-Request-Id: %s\r\n", timing,
             profile, length, cid);
    int fd = harness_connect(mock.port, 0);
    if (fd < 0 || harness_post(fd, path_of(api), headers, stream_body(api)) != 0)
        return NULL;
    char *acc = NULL;
    size_t len = 0;
    int got = harness_read_tokens(fd, K, 5000, &acc, &len);
    free(acc);
    if (rst)
        harness_close_rst(fd);
    else
        harness_close_fin(fd);
    /* Under valgrind a late mock sends overdue tokens in a burst, so more than K can come in
     * the read that brought the K-th: the record still comes back, and the counts that depend
     * on when the close came are the callers' CHECK_TIMING. */
    *burst = got > K;
    if (got < K || (got > K && !check_under_valgrind()))
        return NULL;
    return harness_ledger_done(mock.port, cid, 10000);
}

/* abort_once, measured again (under a new id) when a late mock timer sent token K+1 in the same
 * read as token K: the case's premise, a close between two tokens 100 ms apart, did not hold,
 * so that run cannot judge the exact counts. Twice in a row is a failure. */
static cJSON *abort_after_k(const char *api, const char *profile, const char *cid, int rst,
                            int length, const char *timing)
{
    int burst = 0;
    cJSON *r = abort_once(api, profile, cid, rst, length, timing, &burst);
    if (r != NULL || !burst)
        return r;
    char again[96];
    snprintf(again, sizeof again, "%s-again", cid);
    fprintf(stderr, "  %s: token %d came with token %d (a late timer); measuring again\n", cid,
            K + 1, K);
    return abort_once(api, profile, again, rst, length, timing, &burst);
}

struct billing_row {
    const char *profile;
    int billed;       /* expected billed output after K written + 1 lag token */
    const char *bill; /* for the case name */
};

static const struct billing_row billing[] = {
    {"vendor-a-pre", 0, "zero"},
    {"vendor-b-post", K, "emitted"},
    {"selfhosted-abort", K + 1, "generated"},
};

static const char *const apis[] = {"chat", "responses", "messages"};

/* every API x every billing semantic x {FIN, RST}: exact ledger values */
static void mockprov_should_bill_each_api_semantic_and_close_kind_exactly(void)
{
    int n = 0;
    for (size_t a = 0; a < 3; a++) {
        for (size_t b = 0; b < sizeof billing / sizeof billing[0]; b++) {
            for (int rst = 0; rst <= 1; rst++) {
                char cid[64];
                snprintf(cid, sizeof cid, "bill-%s-%s-%s", apis[a], billing[b].bill,
                         rst ? "rst" : "fin");
                cJSON *r = abort_after_k(apis[a], billing[b].profile, cid, rst, 50, TIMING);
                if (r == NULL)
                    fprintf(stderr, "  case %s: no finished record\n", cid);
                CHECK(r != NULL);
                double gen = harness_num(r, "generated_tokens");
                double written = harness_num(r, "written_tokens");
                double billed = harness_num(r, "billed_output_tokens");
                /* what the semantic bills, whenever the close came */
                const char *bill = billing[b].bill;
                double by_semantic = strcmp(bill, "zero") == 0      ? 0
                                     : strcmp(bill, "emitted") == 0 ? written
                                                                    : gen;
                int ok = billed == by_semantic && harness_num(r, "tail_tokens") <= 1 &&
                         harness_num(r, "billed_input_tokens") == 2 &&
                         (!rst || strcmp(harness_str(r, "close_kind"), "rst") == 0) &&
                         strcmp(harness_str(r, "stop_reason"), "disconnect") == 0 &&
                         strcmp(harness_str(r, "api"), apis[a]) == 0 &&
                         cJSON_IsNull(cJSON_GetObjectItem(r, "usage_reported")) &&
                         harness_num(r, "t_gen_stop_ns") >= harness_num(r, "t_peer_closed_ns");
                /* the close came between token K and token K+1, 100 ms later (a FIN with no
                 * token landing after the drain, so no RST behind it) */
                int closed_before_token_k1 =
                    gen == K + 1 && written == K && harness_num(r, "tail_tokens") == 1 &&
                    billed == billing[b].billed &&
                    strcmp(harness_str(r, "close_kind"), rst ? "rst" : "fin") == 0;
                if (!ok || !closed_before_token_k1) {
                    char *s = cJSON_PrintUnformatted(r);
                    fprintf(stderr, "  case %s: %s\n", cid, s);
                    free(s);
                }
                cJSON_Delete(r);
                CHECK(ok);
                CHECK_TIMING(closed_before_token_k1);
                n++;
            }
        }
    }
    CHECK_EQ_INT(n, 18);
}

static void mockprov_should_keep_generating_for_a_runaway_vendor(void)
{
    cJSON *r = abort_after_k("chat", "runaway", "runaway-1", 0, 8, TIMING);
    CHECK(r != NULL);
    CHECK_EQ_INT(harness_num(r, "generated_tokens"), 8);
    CHECK_EQ_INT(harness_num(r, "tail_tokens"), 8 - K);
    CHECK_EQ_INT(harness_num(r, "billed_output_tokens"), 8);
    CHECK_EQ_STR(harness_str(r, "stop_reason"), "natural");
    CHECK_EQ_STR(harness_str(r, "close_kind"), "fin");
    cJSON_Delete(r);
}

static void mockprov_should_stop_at_once_for_the_stop_at_once_preset(void)
{
    /* no token after the close: the tail is the gateway's alone */
    for (int rst = 0; rst <= 1; rst++) {
        cJSON *r = abort_after_k("chat", "stop-at-once", rst ? "at-once-rst" : "at-once-fin", rst,
                                 50, TIMING);
        CHECK(r != NULL);
        CHECK_EQ_INT(harness_num(r, "generated_tokens"), K);
        CHECK_EQ_INT(harness_num(r, "tail_tokens"), 0);
        CHECK_EQ_INT(harness_num(r, "billed_output_tokens"), K);
        CHECK_EQ_STR(harness_str(r, "stop_reason"), "disconnect");
        cJSON_Delete(r);
    }
}

static void mockprov_should_stop_after_the_profile_lag_in_ms(void)
{
    /* selfhosted-lag stops 2000 ms after the close. Tokens every 160 ms: the 12th after the
     * close lands at 1920 ms, the 13th would be at 2080 ms: 80 ms of margin either side. */
    cJSON *r = abort_after_k("messages", "selfhosted-lag", "lag-ms-1", 0, 1000,
                             "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 6.25\r\n"
                             "x-tailgate-jitter: 0\r\n");
    CHECK(r != NULL);
    double tail = harness_num(r, "tail_tokens"), gen = harness_num(r, "generated_tokens");
    double billed = harness_num(r, "billed_output_tokens");
    double lag_ms = (harness_num(r, "t_gen_stop_ns") - harness_num(r, "t_peer_closed_ns")) / 1e6;
    cJSON_Delete(r);
    CHECK(billed == gen);  /* selfhosted-lag bills what it generated */
    CHECK(lag_ms >= 1990); /* the lag's timer never fires early */
    /* 12 tokens, not 13: the client closed within the 80 ms margin, the stop came on time */
    CHECK_TIMING(tail == 12 && gen == K + 12 && lag_ms < 2200);
}

/* ---- completion and usage on the wire ---------------------------------------------------- */

static char *stream_to_end(const char *api, const char *extra_headers, const char *body)
{
    int fd = harness_connect(mock.port, 0);
    if (fd < 0)
        return NULL;
    char headers[512];
    snprintf(headers, sizeof headers, "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 1000\r\n%s",
             extra_headers ? extra_headers : "");
    char *acc = NULL;
    size_t len = 0;
    if (harness_post(fd, path_of(api), headers, body ? body : stream_body(api)) == 0)
        harness_read_all(fd, 5000, &acc, &len);
    close(fd);
    return acc;
}

static void mockprov_should_report_usage_at_natural_end_per_api(void)
{
    for (size_t a = 0; a < 3; a++) {
        char cid[64], hdr[128];
        snprintf(cid, sizeof cid, "natural-%s", apis[a]);
        snprintf(hdr, sizeof hdr,
                 "x-tailgate-length: 5\r\nX-Request-Id: %s\r\n"
                 "Connection: close\r\n",
                 cid);
        char *out = stream_to_end(apis[a], hdr, NULL);
        CHECK(out != NULL);
        int ends_right =
            strcmp(apis[a], "chat") == 0 ? strstr(out, "data: [DONE]\n\n\r\n0\r\n\r\n") != NULL
            : strcmp(apis[a], "responses") == 0 ? strstr(out, "event: response.completed") != NULL
                                                : strstr(out, "event: message_stop") != NULL;
        int has_tok4 = strstr(out, " tok4") != NULL && strstr(out, " tok5") == NULL;
        free(out);
        CHECK(ends_right);
        CHECK(has_tok4);
        cJSON *r = harness_ledger_done(mock.port, cid, 5000);
        CHECK(r != NULL);
        int ok = harness_num(r, "generated_tokens") == 5 && harness_num(r, "written_tokens") == 5 &&
                 harness_num(r, "billed_output_tokens") == 5 &&
                 harness_num(r, "usage_reported") == 5 &&
                 strcmp(harness_str(r, "usage_via"), "usage") == 0 &&
                 strcmp(harness_str(r, "stop_reason"), "natural") == 0 &&
                 cJSON_IsNull(cJSON_GetObjectItem(r, "close_kind"));
        cJSON_Delete(r);
        CHECK(ok);
    }
}

static void mockprov_should_not_report_usage_without_include_usage(void)
{
    char *out = stream_to_end("chat",
                              "x-tailgate-length: 3\r\nX-Request-Id: no-usage\r\n"
                              "Connection: close\r\n",
                              "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                              "\"content\":\"x\"}]}");
    CHECK(out != NULL);
    int no_usage_chunk = strstr(out, "\"usage\":{") == NULL && strstr(out, "[DONE]") != NULL;
    free(out);
    CHECK(no_usage_chunk);
    cJSON *r = harness_ledger_done(mock.port, "no-usage", 5000);
    CHECK(r != NULL);
    int ok = cJSON_IsNull(cJSON_GetObjectItem(r, "usage_reported")) &&
             harness_num(r, "billed_output_tokens") == 3;
    cJSON_Delete(r);
    CHECK(ok);
}

static void mockprov_should_honour_token_caps_per_api(void)
{
    static const char *const bodies[] = {
        "{\"model\":\"m\",\"stream\":true,\"max_completion_tokens\":2,\"messages\":[{\"role\":"
        "\"user\",\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"stream\":true,\"max_output_tokens\":2,\"input\":\"x\"}",
        "{\"model\":\"m\",\"stream\":true,\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
        "\"content\":\"x\"}]}",
    };
    static const char *const marks[] = {"\"finish_reason\":\"length\"", "response.incomplete",
                                        "\"stop_reason\":\"max_tokens\""};
    for (size_t a = 0; a < 3; a++) {
        char cid[64], hdr[128];
        snprintf(cid, sizeof cid, "cap-%s", apis[a]);
        snprintf(hdr, sizeof hdr,
                 "x-tailgate-length: 10\r\nX-Request-Id: %s\r\n"
                 "Connection: close\r\n",
                 cid);
        char *out = stream_to_end(apis[a], hdr, bodies[a]);
        CHECK(out != NULL);
        int marked = strstr(out, marks[a]) != NULL && strstr(out, " tok2") == NULL;
        free(out);
        CHECK(marked);
        cJSON *r = harness_ledger_done(mock.port, cid, 5000);
        CHECK(r != NULL);
        int ok = harness_num(r, "generated_tokens") == 2 && harness_num(r, "max_tokens") == 2 &&
                 strcmp(harness_str(r, "stop_reason"), "max_tokens") == 0;
        cJSON_Delete(r);
        CHECK(ok);
    }
}

static void mockprov_should_answer_non_stream_requests_with_usage(void)
{
    const char *hdrs[] = {"x-tailgate-length: 4", "x-tailgate-tps: 1000", "x-tailgate-ttft-ms: 0",
                          "X-Request-Id: nonstream-1", NULL};
    char *body = NULL;
    int st = harness_http(mock.port, "POST", "/v1/chat/completions", hdrs,
                          "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                          &body, NULL);
    CHECK_EQ_INT(st, 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    CHECK(j != NULL);
    cJSON *msg =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
    int ok = harness_str(msg, "content") &&
             strcmp(harness_str(msg, "content"), " tok0 tok1 tok2 tok3") == 0 &&
             harness_num(cJSON_GetObjectItem(j, "usage"), "completion_tokens") == 4;
    cJSON_Delete(j);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "nonstream-1", 5000);
    CHECK(r != NULL);
    ok = harness_num(r, "usage_reported") == 4 && !cJSON_IsTrue(cJSON_GetObjectItem(r, "stream"));
    cJSON_Delete(r);
    CHECK(ok);
}

static int generated_at_least(const cJSON *records, void *arg)
{
    return harness_num(cJSON_GetArrayItem(records, 0), "generated_tokens") >= *(double *)arg;
}

static void mockprov_should_record_a_non_stream_disconnect(void)
{
    int fd = harness_connect(mock.port, 0);
    CHECK(fd >= 0);
    CHECK(harness_post(fd, "/v1/messages",
                       TIMING "x-tailgate-length: 100\r\nX-Request-Id: nonstream-cut\r\n"
                              "x-tailgate-profile: silent-emitted\r\n",
                       "{\"model\":\"m\",\"max_tokens\":500,\"messages\":[{\"role\":\"user\","
                       "\"content\":\"x\"}]}") == 0);
    /* close once token 2 exists (t = 200 ms); token 3 is then 100 ms away */
    double three = 3;
    cJSON_Delete(harness_ledger_wait(mock.port, "nonstream-cut", generated_at_least, &three, 5000));
    harness_close_fin(fd);
    cJSON *r = harness_ledger_done(mock.port, "nonstream-cut", 5000);
    CHECK(r != NULL);
    int ok = harness_num(r, "generated_tokens") == 4 && harness_num(r, "written_tokens") == 0 &&
             harness_num(r, "billed_output_tokens") == 0 &&
             strcmp(harness_str(r, "close_kind"), "fin") == 0;
    cJSON_Delete(r);
    CHECK(ok);
}

/* ---- correlation ids --------------------------------------------------------------------- */

static void mockprov_should_take_the_correlation_id_from_each_source_and_count_attempts(void)
{
    struct {
        const char *path, *body, *hdr, *cid, *source;
    } rows[] = {
        {"/v1/chat/completions",
         "{\"model\":\"m\",\"user\":\"u-1\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         NULL, "u-1", "user"},
        {"/v1/messages",
         "{\"model\":\"m\",\"max_tokens\":5,\"metadata\":{\"user_id\":\"md-1\"},\"messages\":"
         "[{\"role\":\"user\",\"content\":\"x\"}]}",
         NULL, "md-1", "metadata"},
        {"/v1/responses",
         "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"hello [tg:mk-1] there\"}]}",
         NULL, "mk-1", "marker"},
        {"/v1/chat/completions",
         "{\"model\":\"m\",\"user\":\"u-2\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         "X-Request-Id: hdr-1", "hdr-1", "header"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        for (int attempt = 1; attempt <= 2; attempt++) {
            const char *hdrs[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", rows[i].hdr,
                                  NULL};
            int st = harness_http(mock.port, "POST", rows[i].path, hdrs, rows[i].body, NULL, NULL);
            CHECK_EQ_INT(st, 200);
        }
        char path[128];
        snprintf(path, sizeof path, "/_tailgate/ledger?id=%s", rows[i].cid);
        char *body = NULL;
        CHECK_EQ_INT(harness_http(mock.port, "GET", path, NULL, NULL, &body, NULL), 200);
        cJSON *j = cJSON_Parse(body);
        free(body);
        cJSON *recs = cJSON_GetObjectItem(j, "records");
        int ok =
            cJSON_GetArraySize(recs) == 2 &&
            harness_num(cJSON_GetArrayItem(recs, 0), "attempt") == 1 &&
            harness_num(cJSON_GetArrayItem(recs, 1), "attempt") == 2 &&
            strcmp(harness_str(cJSON_GetArrayItem(recs, 0), "id_source"), rows[i].source) == 0 &&
            cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 0), "rid_propagated")) ==
                (rows[i].hdr != NULL);
        if (!ok)
            fprintf(stderr, "  row %zu (%s) wrong\n", i, rows[i].cid);
        cJSON_Delete(j);
        CHECK(ok);
    }
}

/* ---- faults ------------------------------------------------------------------------------ */

static void mockprov_should_answer_429_and_529_in_each_vendor_shape(void)
{
    const char *hdrs[] = {"x-tailgate-fault: status=429,retry-after=7,should-retry=false",
                          "X-Request-Id: f429", NULL};
    char *body = NULL, *head = NULL;
    int st = harness_http(mock.port, "POST", "/v1/chat/completions", hdrs, stream_body("chat"),
                          &body, &head);
    CHECK_EQ_INT(st, 429);
    cJSON *j = cJSON_Parse(body);
    cJSON *e = cJSON_GetObjectItem(j, "error");
    int ok = harness_str(e, "message") && strcmp(harness_str(e, "type"), "requests") == 0 &&
             strcmp(harness_str(e, "code"), "rate_limit_exceeded") == 0 &&
             cJSON_IsNull(cJSON_GetObjectItem(e, "param")) && strstr(head, "retry-after: 7") &&
             strstr(head, "x-should-retry: false") && strstr(head, "x-request-id: req_tg");
    cJSON_Delete(j);
    free(body);
    free(head);
    CHECK(ok);

    const char *h2[] = {"x-tailgate-fault: status=529", NULL};
    st = harness_http(mock.port, "POST", "/v1/messages", h2, stream_body("messages"), &body, NULL);
    CHECK_EQ_INT(st, 529);
    j = cJSON_Parse(body);
    free(body);
    e = cJSON_GetObjectItem(j, "error");
    ok = strcmp(harness_str(j, "type"), "error") == 0 &&
         strcmp(harness_str(e, "type"), "overloaded_error") == 0 && harness_str(j, "request_id");
    cJSON_Delete(j);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "f429", 5000);
    CHECK(r != NULL);
    ok = harness_num(r, "status") == 429 && harness_num(r, "generated_tokens") == 0 &&
         strcmp(harness_str(r, "stop_reason"), "http_error") == 0;
    cJSON_Delete(r);
    CHECK(ok);
}

static void mockprov_should_send_an_error_event_mid_stream_per_api(void)
{
    static const char *const marks[] = {"data: {\"error\":{",
                                        "event: error\ndata: {\"type\":"
                                        "\"error\",\"code\":\"server_error\"",
                                        "event: error\ndata: {\"type\":\"error\",\"error\":{"
                                        "\"type\":\"overloaded_error\""};
    for (size_t a = 0; a < 3; a++) {
        char cid[64], hdr[160];
        snprintf(cid, sizeof cid, "err-%s", apis[a]);
        snprintf(hdr, sizeof hdr,
                 "x-tailgate-length: 10\r\nx-tailgate-fault: error-after=2\r\n"
                 "X-Request-Id: %s\r\nConnection: close\r\n",
                 cid);
        char *out = stream_to_end(apis[a], hdr, NULL);
        CHECK(out != NULL);
        int ok = strstr(out, marks[a]) != NULL && strstr(out, " tok1") && !strstr(out, " tok2") &&
                 !strstr(out, "[DONE]") && !strstr(out, "message_stop") &&
                 !strstr(out, "response.completed");
        if (!ok)
            fprintf(stderr, "  %s got: %s\n", apis[a], out);
        free(out);
        CHECK(ok);
        cJSON *r = harness_ledger_done(mock.port, cid, 5000);
        CHECK(r != NULL);
        ok = harness_num(r, "generated_tokens") == 2 &&
             harness_num(r, "billed_output_tokens") == 0 &&
             strcmp(harness_str(r, "stop_reason"), "error_fault") == 0;
        cJSON_Delete(r);
        CHECK(ok);
    }
}

static void mockprov_should_truncate_a_stream_without_terminal_event(void)
{
    char *out = stream_to_end("chat",
                              "x-tailgate-length: 10\r\nx-tailgate-fault: truncate-after=2"
                              "\r\nX-Request-Id: trunc-1\r\n",
                              NULL);
    CHECK(out != NULL);
    /* the connection ended after tok1: no [DONE], and no last chunk of the chunked body */
    int ok = strstr(out, " tok1") && !strstr(out, " tok2") && !strstr(out, "[DONE]") &&
             !strstr(out, "\r\n0\r\n\r\n");
    free(out);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "trunc-1", 5000);
    CHECK(r != NULL);
    ok = strcmp(harness_str(r, "stop_reason"), "truncate_fault") == 0 &&
         harness_num(r, "generated_tokens") == 2;
    cJSON_Delete(r);
    CHECK(ok);
}

static void mockprov_should_stall_mid_stream_and_delay_the_first_token(void)
{
    char *out = stream_to_end("responses",
                              "x-tailgate-length: 4\r\n"
                              "x-tailgate-fault: stall-after=2,stall-ms=300,"
                              "slow-first-token-ms=200\r\n"
                              "X-Request-Id: stall-1\r\nConnection: close\r\n",
                              NULL);
    CHECK(out != NULL);
    int complete = strstr(out, "response.completed") != NULL;
    free(out);
    CHECK(complete);
    cJSON *r = harness_ledger_done(mock.port, "stall-1", 5000);
    CHECK(r != NULL);
    cJSON *t = cJSON_GetObjectItem(r, "token_t_ns");
    double ttft = (harness_num(r, "t_first_token_ns") - harness_num(r, "t_accept_ns")) / 1e6;
    double gap =
        (cJSON_GetArrayItem(t, 2)->valuedouble - cJSON_GetArrayItem(t, 1)->valuedouble) / 1e6;
    double gap0 =
        (cJSON_GetArrayItem(t, 1)->valuedouble - cJSON_GetArrayItem(t, 0)->valuedouble) / 1e6;
    cJSON_Delete(r);
    /* tokens keep a fixed timetable: a late token 1 shortens the gap to token 2, so allow for
     * a loaded machine below the 300 ms stall as well as above it */
    CHECK(ttft >= 200 && ttft < 400);
    CHECK(gap >= 250 && gap < 600);
    CHECK(gap0 < 100);
}

static void mockprov_should_apply_queued_admin_faults_to_the_next_requests(void)
{
    char *body = NULL;
    CHECK_EQ_INT(harness_http(mock.port, "POST", "/_tailgate/faults", NULL,
                              "{\"fault\":\"status=429,retry-after=1\",\"count\":2}", &body, NULL),
                 200);
    free(body);
    const char *hdrs[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", NULL};
    int st1 = harness_http(mock.port, "POST", "/v1/responses", hdrs,
                           "{\"model\":\"m\",\"input\":\"x\"}", NULL, NULL);
    int st2 = harness_http(mock.port, "POST", "/v1/responses", hdrs,
                           "{\"model\":\"m\",\"input\":\"x\"}", NULL, NULL);
    int st3 = harness_http(mock.port, "POST", "/v1/responses", hdrs,
                           "{\"model\":\"m\",\"input\":\"x\"}", NULL, NULL);
    CHECK_EQ_INT(st1, 429);
    CHECK_EQ_INT(st2, 429);
    CHECK_EQ_INT(st3, 200);
}

/* ---- Responses background: create, resume, cancel ---------------------------------------- */

static char *json_str_dup(const char *json, const char *key)
{
    cJSON *j = cJSON_Parse(json);
    const char *v = harness_str(j, key);
    char *out = v ? strdup(v) : NULL;
    cJSON_Delete(j);
    return out;
}

static void mockprov_should_create_resume_and_cancel_a_background_response(void)
{
    const char *hdrs[] = {"x-tailgate-length: 1000",
                          "x-tailgate-tps: 50",
                          "x-tailgate-ttft-ms: 0",
                          "x-tailgate-jitter: 0",
                          "x-tailgate-profile: vendor-b-post",
                          "X-Request-Id: bg-1",
                          NULL};
    char *body = NULL;
    int st = harness_http(mock.port, "POST", "/v1/responses", hdrs,
                          "{\"model\":\"m\",\"background\":true,\"input\":\"abcd\"}", &body, NULL);
    CHECK_EQ_INT(st, 200);
    char *id = json_str_dup(body, "id");
    char *status = json_str_dup(body, "status");
    free(body);
    int created = id && status && strcmp(status, "queued") == 0;
    free(status);
    if (!created)
        free(id);
    CHECK(created);

    /* resume from sequence 5: the first event must be 6 (token 2), even before it exists */
    int fd = harness_connect(mock.port, 0);
    char req[256];
    snprintf(req, sizeof req,
             "GET /v1/responses/%s?stream=true&starting_after=5 HTTP/1.1\r\n"
             "Host: x\r\n\r\n",
             id);
    int sent = fd >= 0 && send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req);
    char *acc = NULL;
    size_t len = 0;
    if (sent)
        harness_read_tokens(fd, 2, 5000, &acc, &len);
    int resumed = acc && strstr(acc, "\"sequence_number\":6,") &&
                  !strstr(acc, "\"sequence_number\":5,") &&
                  !strstr(acc, "\"sequence_number\":0,") && !strstr(acc, " tok1\"");
    if (!resumed)
        fprintf(stderr, "  resume got: %.600s\n", acc ? acc : "(nothing)");
    free(acc);
    acc = NULL;
    len = 0;

    /* cancel: the reader's stream ends readable with usage; a second cancel is idempotent */
    char path[160];
    snprintf(path, sizeof path, "/v1/responses/%s/cancel", id);
    char *c1 = NULL, *c2 = NULL;
    int s1 = harness_http(mock.port, "POST", path, NULL, NULL, &c1, NULL);
    int s2 = harness_http(mock.port, "POST", path, NULL, NULL, &c2, NULL);
    if (fd >= 0)
        harness_read_all(fd, 3000, &acc, &len);
    if (fd >= 0)
        close(fd);
    char *st1 = c1 ? json_str_dup(c1, "status") : NULL;
    int same = c1 && c2 && strcmp(c1, c2) == 0;
    int reader_end = acc && strstr(acc, "event: response.incomplete") &&
                     strstr(acc, "\"status\":\"cancelled\"") && strstr(acc, "\r\n0\r\n\r\n");
    free(c1);
    free(c2);
    free(acc);
    snprintf(path, sizeof path, "/v1/responses/%s", id);
    char *snap = NULL;
    int s3 = harness_http(mock.port, "GET", path, NULL, NULL, &snap, NULL);
    char *snap_status = snap ? json_str_dup(snap, "status") : NULL;
    free(snap);
    free(id);
    int cancelled = st1 && strcmp(st1, "cancelled") == 0 && snap_status &&
                    strcmp(snap_status, "cancelled") == 0;
    free(st1);
    free(snap_status);
    CHECK(resumed);
    CHECK_EQ_INT(s1, 200);
    CHECK_EQ_INT(s2, 200);
    CHECK_EQ_INT(s3, 200);
    CHECK(same);
    CHECK(cancelled);
    CHECK(reader_end);
    cJSON *r = harness_ledger_done(mock.port, "bg-1", 5000);
    CHECK(r != NULL);
    int ok = strcmp(harness_str(r, "close_kind"), "cancel_api") == 0 &&
             strcmp(harness_str(r, "stop_reason"), "cancel") == 0 &&
             cJSON_IsTrue(cJSON_GetObjectItem(r, "background")) &&
             harness_num(r, "tail_tokens") == 1 &&
             harness_num(r, "usage_reported") == harness_num(r, "generated_tokens") - 1 &&
             harness_num(r, "billed_output_tokens") == harness_num(r, "generated_tokens") - 1;
    if (!ok) {
        char *s = cJSON_PrintUnformatted(r);
        fprintf(stderr, "  record: %s\n", s);
        free(s);
    }
    cJSON_Delete(r);
    CHECK(ok);
}

static int count_of(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s ? strstr(s, what) : NULL; p; p = strstr(p + strlen(what), what))
        n++;
    return n;
}

struct bg_probe {
    double generated_at_least;
};

static int bg_generated(const cJSON *records, void *arg)
{
    const struct bg_probe *p = arg;
    const cJSON *r = cJSON_GetArrayItem(records, 0);
    return r && harness_str(r, "close_kind") &&
           harness_num(r, "generated_tokens") >= p->generated_at_least;
}

/* A background stream read for 5 tokens and dropped, then resumed after the 5th (sequence 8):
 * the record keeps the drop (close_kind, its time), generation goes on meanwhile without being
 * written (nor counted as a tail), and written_tokens adds the first stream's 5 to the resumed
 * stream's 115. It used to show no close at all and the resumed stream's count alone. */
static void mockprov_should_count_every_stream_of_a_resumed_background_response(void)
{
    /* the stall holds the 6th token for 600 ms: the drop comes before it, so the first stream
     * wrote exactly 5; 120 tokens at 50/s then take 2.4 s, time enough to resume mid-way */
    const char *hdrs = "x-tailgate-length: 120\r\nx-tailgate-tps: 50\r\nx-tailgate-ttft-ms: 0\r\n"
                       "x-tailgate-jitter: 0\r\nx-tailgate-profile: vendor-b-post\r\n"
                       "x-tailgate-fault: stall-after=5,stall-ms=600\r\n"
                       "X-Request-Id: bg-resume-count\r\n";
    int fd = harness_connect(mock.port, 0);
    CHECK(fd >= 0);
    int posted = harness_post(fd, "/v1/responses", hdrs,
                              "{\"model\":\"m\",\"background\":true,\"stream\":true,"
                              "\"input\":\"x\"}") == 0;
    char *first = NULL;
    size_t flen = 0;
    int got = posted ? harness_read_tokens(fd, 5, 5000, &first, &flen) : -1;
    char *id = NULL;
    const char *at = first ? strstr(first, "\"id\":\"resp_") : NULL;
    if (at) {
        at += 6;
        id = strndup(at, strcspn(at, "\""));
    }
    free(first);
    harness_close_fin(fd);
    CHECK_EQ_INT(got, 5);
    CHECK(id != NULL);

    /* dropped and generating on: the close is recorded, nothing more is written */
    struct bg_probe p = {12};
    cJSON *mid = harness_ledger_wait(mock.port, "bg-resume-count", bg_generated, &p, 5000);
    const cJSON *m0 = cJSON_GetArrayItem(mid, 0);
    int mid_ok = m0 && strcmp(harness_str(m0, "close_kind"), "fin") == 0 &&
                 harness_num(m0, "t_peer_closed_ns") > 0 &&
                 harness_num(m0, "written_tokens") == 5 &&
                 harness_num(m0, "generated_tokens") >= 12 && harness_num(m0, "tail_tokens") == 0 &&
                 strcmp(harness_str(m0, "state"), "active") == 0;
    if (!mid_ok) {
        char *txt = mid ? cJSON_PrintUnformatted(mid) : NULL;
        fprintf(stderr, "  while detached: %s\n", txt ? txt : "(no record)");
        free(txt);
    }
    cJSON_Delete(mid);

    /* resume after token 4 (sequence 8) and read to the end */
    int rfd = harness_connect(mock.port, 0);
    char req[256];
    snprintf(req, sizeof req,
             "GET /v1/responses/%s?stream=true&starting_after=8 HTTP/1.1\r\n"
             "Host: x\r\nConnection: close\r\n\r\n",
             id);
    free(id);
    char *rest = NULL;
    size_t rlen = 0;
    if (rfd >= 0 && harness_send_all(rfd, req, strlen(req)) == 0)
        harness_read_all(rfd, 10000, &rest, &rlen);
    if (rfd >= 0)
        close(rfd);
    int deltas = count_of(rest, "event: response.output_text.delta");
    int from_5 = rest && strstr(rest, "\"sequence_number\":9,") &&
                 !strstr(rest, "\"sequence_number\":8,") &&
                 strstr(rest, "event: response.completed");
    free(rest);
    CHECK(mid_ok);
    CHECK_EQ_INT(deltas, 115);
    CHECK(from_5);
    cJSON *r = harness_ledger_done(mock.port, "bg-resume-count", 5000);
    CHECK(r != NULL);
    int gen = (int)harness_num(r, "generated_tokens"), wr = (int)harness_num(r, "written_tokens");
    int tail = (int)harness_num(r, "tail_tokens");
    const char *ck = harness_str(r, "close_kind"), *sr = harness_str(r, "stop_reason");
    int kept = ck && strcmp(ck, "fin") == 0 && harness_num(r, "t_peer_closed_ns") > 0 && sr &&
               strcmp(sr, "natural") == 0;
    cJSON_Delete(r);
    CHECK_EQ_INT(gen, 120);
    CHECK_EQ_INT(wr, 120); /* 5 on the first stream + 115 on the resumed one */
    CHECK_EQ_INT(tail, 0);
    CHECK(kept);
}

static void mockprov_should_send_the_emitted_count_as_a_trailer_on_cancel(void)
{
    const char *hdrs[] = {"x-tailgate-length: 1000",  "x-tailgate-tps: 50",
                          "x-tailgate-ttft-ms: 0",    "x-tailgate-profile: vendor-a-post",
                          "X-Request-Id: bg-trailer", NULL};
    char *body = NULL;
    CHECK_EQ_INT(harness_http(mock.port, "POST", "/v1/responses", hdrs,
                              "{\"model\":\"m\",\"background\":true,\"input\":\"x\"}", &body, NULL),
                 200);
    char *id = json_str_dup(body, "id");
    free(body);
    CHECK(id != NULL);
    int fd = harness_connect(mock.port, 0);
    char req[256];
    snprintf(req, sizeof req, "GET /v1/responses/%s?stream=true HTTP/1.1\r\nHost: x\r\n\r\n", id);
    int sent = fd >= 0 && send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req);
    char *acc = NULL;
    size_t len = 0;
    if (sent)
        harness_read_tokens(fd, 3, 5000, &acc, &len);
    char path[160], *hdr = NULL;
    snprintf(path, sizeof path, "/v1/responses/%s/cancel", id);
    free(id);
    int st = harness_http(mock.port, "POST", path, NULL, "{}", NULL, &hdr);
    if (fd >= 0) {
        harness_read_all(fd, 3000, &acc, &len);
        close(fd);
    }
    /* usage stays null on the wire; the count rides in the chunked body's trailer */
    int ok = st == 200 && acc && strstr(acc, "Trailer: x-emitted-tokens-on-cancel") &&
             strstr(acc, "\r\n0\r\nx-emitted-tokens-on-cancel: ") &&
             strstr(acc, "\"usage\":null") && hdr && strstr(hdr, "x-emitted-tokens-on-cancel: ");
    if (!ok)
        fprintf(stderr, "  stream tail: %s\n", acc ? acc + (len > 600 ? len - 600 : 0) : "-");
    free(acc);
    free(hdr);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "bg-trailer", 5000);
    CHECK(r != NULL);
    ok = strcmp(harness_str(r, "usage_via"), "trailer") == 0 &&
         harness_num(r, "usage_reported") == harness_num(r, "billed_output_tokens");
    cJSON_Delete(r);
    CHECK(ok);
}

static void mockprov_should_answer_404_for_unknown_responses_and_400_for_bad_cursor(void)
{
    char *body = NULL;
    CHECK_EQ_INT(harness_http(mock.port, "GET", "/v1/responses/resp_nope", NULL, NULL, &body, NULL),
                 404);
    int shaped = strstr(body, "\"error\":{") && strstr(body, "resp_nope");
    free(body);
    CHECK(shaped);
    CHECK_EQ_INT(
        harness_http(mock.port, "POST", "/v1/responses/resp_nope/cancel", NULL, "{}", NULL, NULL),
        404);
}

/* ---- slow readers ------------------------------------------------------------------------- */

static void mockprov_should_generate_ahead_of_a_stalled_reader_without_blocking_others(void)
{
    /* A reader that never reads: 20,000 tokens (~5 MB of SSE) overflow every kernel buffer on
     * the way (4 MB send buffer at most here), so the mock's own buffer must take the rest while
     * generation keeps its pace. */
    int stalled = harness_connect(mock.port, 4096);
    CHECK(stalled >= 0);
    CHECK(harness_post(stalled, "/v1/chat/completions",
                       "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 20000\r\n"
                       "x-tailgate-length: 20000\r\nX-Request-Id: stalled-1\r\n",
                       stream_body("chat")) == 0);
    /* meanwhile another stream completes normally */
    char *out = stream_to_end("messages", "x-tailgate-length: 20\r\nConnection: close\r\n", NULL);
    int other_done = out && strstr(out, "message_stop");
    free(out);
    double gen = -1, wr = -1;
    for (int i = 0; i < 300 && gen < 20000; i++) { /* bounded: 30 s */
        char *body = NULL;
        harness_http(mock.port, "GET", "/_tailgate/ledger?id=stalled-1", NULL, NULL, &body, NULL);
        cJSON *j = cJSON_Parse(body);
        free(body);
        cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "records"), 0);
        gen = harness_num(r, "generated_tokens");
        wr = harness_num(r, "written_tokens");
        cJSON_Delete(j);
        if (gen < 20000)
            harness_sleep_ms(100);
    }
    harness_close_rst(stalled);
    CHECK(other_done);
    CHECK_EQ_INT(gen, 20000);
    CHECK(wr > 0 && wr < 15000);
}

/* ---- bad input ---------------------------------------------------------------------------- */

static void mockprov_should_reject_bad_input_in_the_vendor_shape(void)
{
    struct {
        const char *method, *path, *hdr, *body;
        int status;
        const char *needle; /* must appear in the body */
    } rows[] = {
        {"POST", "/v1/chat/completions", NULL, "{not json", 400,
         "\"type\":\"invalid_request_error\""},
        {"POST", "/v1/chat/completions", NULL, "[1,2]", 400, "JSON object"},
        {"POST", "/v1/chat/completions", NULL, "{\"messages\":[]}", 400, "\"param\":\"model\""},
        {"POST", "/v1/chat/completions", NULL,
         "{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"
         "}",
         400, "\"param\":\"stream\""},
        {"POST", "/v1/chat/completions", NULL, "{\"model\":\"m\",\"messages\":{}}", 400,
         "\"param\":\"messages\""},
        {"POST", "/v1/chat/completions", NULL,
         "{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         400, "\"param\":\"max_tokens\""},
        {"POST", "/v1/responses", NULL, "{\"model\":\"m\",\"input\":5}", 400,
         "\"param\":\"input\""},
        {"POST", "/v1/messages", NULL,
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400,
         "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\""},
        {"POST", "/v1/chat/completions", "x-tailgate-tps: fast",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400,
         "x-tailgate-tps"},
        {"POST", "/v1/chat/completions", "x-tailgate-fault: explode=1",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "explode"},
        {"POST", "/v1/chat/completions", "x-tailgate-profile: nosuch",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "nosuch"},
        {"GET", "/v1/chat/completions", NULL, NULL, 405, "\"error\":{"},
        {"POST", "/v1/nothing", NULL, "{}", 404, "\"code\":\"unknown_url\""},
        {"GET", "/v1/messages/x", NULL, NULL, 404, "\"not_found_error\""},
        {"GET", "/_tailgate/nothing", NULL, NULL, 404, "\"error\":{"},
        {"POST", "/_tailgate/profile", NULL, "{\"name\":\"nosuch\"}", 400, "nosuch"},
        {"POST", "/_tailgate/profile", NULL, "garbage", 400, "could not parse the JSON body"},
        {"POST", "/_tailgate/profile", NULL, "[1]", 400, "JSON object"},
        {"POST", "/_tailgate/faults", NULL, "{\"fault\":\"status=99\"}", 400, "status"},
        {"GET", "/_tailgate/reset", NULL, NULL, 405, "Method not allowed"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *hdrs[] = {rows[i].hdr, NULL};
        char *body = NULL;
        int st =
            harness_http(mock.port, rows[i].method, rows[i].path, hdrs, rows[i].body, &body, NULL);
        int ok = st == rows[i].status && body && strstr(body, rows[i].needle);
        if (!ok)
            fprintf(stderr, "  row %zu %s %s: %d %s\n", i, rows[i].method, rows[i].path, st,
                    body ? body : "");
        free(body);
        CHECK(ok);
    }
}

/* ---- bodies that are not exactly one JSON value; UTF-8 in every reply --------------------- */

/* One request of exactly 'len' body bytes (NUL included) on its own connection; the reply's
 * status, and its body (malloc'd, NUL-terminated) with its length. */
static int raw_request(const char *method, const char *path, const char *headers, const char *body,
                       size_t len, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    int fd = harness_connect(mock.port, 0);
    if (fd < 0)
        return -1;
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                     method, path, len, headers ? headers : "");
    char *acc = NULL;
    size_t acc_len = 0;
    int status = -1;
    if (n > 0 && (size_t)n < sizeof head && send(fd, head, (size_t)n, MSG_NOSIGNAL) == n &&
        (len == 0 || send(fd, body, len, MSG_NOSIGNAL) == (ssize_t)len))
        harness_read_all(fd, 10000, &acc, &acc_len);
    close(fd);
    const char *sep = acc ? strstr(acc, "\r\n\r\n") : NULL;
    if (sep && sscanf(acc, "HTTP/1.1 %d", &status) == 1) {
        *out_len = acc_len - (size_t)(sep + 4 - acc);
        *out = malloc(*out_len + 1);
        if (*out) {
            memcpy(*out, sep + 4, *out_len);
            (*out)[*out_len] = '\0';
        }
    }
    free(acc);
    return status;
}

/* The reply is strict JSON (jparse: one value, valid UTF-8) in the API's error shape with
 * type invalid_request_error; returns its message, or NULL. */
static char *error_message_of(const char *api, const char *body, size_t len)
{
    struct jparse_error je;
    cJSON *j = body ? jparse_text(body, len, &je) : NULL;
    if (j == NULL) {
        fprintf(stderr, "  reply is not strict JSON: %s\n", body ? je.what : "(none)");
        return NULL;
    }
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    int shape = strcmp(api, "messages") == 0
                    ? harness_str(j, "type") && strcmp(harness_str(j, "type"), "error") == 0 &&
                          harness_str(j, "request_id") != NULL && cJSON_GetArraySize(j) == 3 &&
                          cJSON_GetArraySize(e) == 2
                    : cJSON_GetArraySize(j) == 1 && cJSON_GetArraySize(e) == 4 &&
                          cJSON_IsNull(cJSON_GetObjectItem(e, "param")) &&
                          cJSON_IsNull(cJSON_GetObjectItem(e, "code"));
    const char *type = harness_str(e, "type"), *msg = harness_str(e, "message");
    char *out =
        shape && type && strcmp(type, "invalid_request_error") == 0 && msg ? strdup(msg) : NULL;
    if (out == NULL)
        fprintf(stderr, "  not the %s error shape: %s\n", api, body);
    cJSON_Delete(j);
    return out;
}

#define RB(lit) lit, sizeof lit - 1 /* a literal with its length: NUL bytes count */

static void mockprov_should_reject_a_body_that_is_not_exactly_one_json_value_per_api(void)
{
    /* the same valid prefix for every API, so the positions below hold for all three */
    static const struct {
        const char *what;
        const char *body;
        size_t len;
        const char *where;
    } rows[] = {
        {"trailing garbage", RB("{\"model\":\"m\"} x"),
         "line 1, column 15 (byte 14): unexpected text after the JSON value near 'x'"},
        {"two concatenated values", RB("{\"model\":\"m\"}{\"model\":\"m\"}"),
         "line 1, column 14 (byte 13): unexpected text after the JSON value near "
         "'{\"model\":\"m\"}'"},
        {"NUL then a second value", RB("{\"model\":\"m\"}\0{\"x\":1}"),
         "line 1, column 14 (byte 13): NUL byte after the JSON value near '\\x00{\"x\":1}'"},
        {"cut at an embedded NUL", RB("{\"model\":\"gp\0t-4o\"}"),
         "line 1, column 13 (byte 12): NUL byte in a string near '\\x00t-4o\"}'"},
        {"invalid UTF-8 model", RB("{\"model\":\"gpt\xff\xfe\"}"),
         "line 1, column 14 (byte 13): invalid UTF-8 in a string (byte that never appears in "
         "UTF-8) near '\\xff\\xfe\"}'"},
        {"overlong encoding", RB("{\"model\":\"\xc1\xbf\"}"),
         "line 1, column 11 (byte 10): invalid UTF-8 in a string (overlong encoding) near "
         "'\\xc1\\xbf\"}'"},
        {"lone surrogate escape", RB("{\"model\":\"\\udc00\"}"),
         "line 1, column 11 (byte 10): lone UTF-16 low surrogate \\udc00 in a string near "
         "'\\udc00\"}'"},
        {"escaped NUL", RB("{\"model\":\"a\\u0000\"}"),
         "line 1, column 12 (byte 11): \\u0000 (NUL) is not accepted in a string near "
         "'\\u0000\"}'"},
    };
    for (size_t a = 0; a < 3; a++) {
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            char *body;
            size_t blen;
            int st = raw_request("POST", path_of(apis[a]), NULL, rows[i].body, rows[i].len, &body,
                                 &blen);
            char *msg = st == 400 ? error_message_of(apis[a], body, blen) : NULL;
            char want[640];
            snprintf(want, sizeof want, "%s Problem at %s", REQUEST_MSG_BAD_JSON, rows[i].where);
            int ok = msg && strcmp(msg, want) == 0;
            if (!ok)
                fprintf(stderr, "  %s, %s: %d %s\n", apis[a], rows[i].what, st,
                        msg ? msg : (body ? body : ""));
            free(msg);
            free(body);
            CHECK_EQ_INT(st, 400);
            CHECK(ok);
        }
    }
    /* the admin API: the same rule and words */
    char *body;
    size_t blen;
    int st = raw_request("POST", "/_tailgate/faults", NULL, RB("{\"fault\":\"status=429\"}\0"),
                         &body, &blen);
    char *msg = st == 400 ? error_message_of("chat", body, blen) : NULL;
    int ok =
        msg && strcmp(msg, REQUEST_MSG_BAD_JSON " Problem at line 1, column 23 (byte 22): "
                                                "NUL byte after the JSON value near '\\x00'") == 0;
    if (!ok)
        fprintf(stderr, "  admin: %d %s\n", st, msg ? msg : (body ? body : ""));
    free(msg);
    free(body);
    CHECK_EQ_INT(st, 400);
    CHECK(ok);
}

static void mockprov_should_echo_a_multibyte_model_exactly_in_valid_utf8(void)
{
    const char *model = "caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80";
    static const char body[] = "{\"model\":\"caf\\u00e9-\\u20ac-\\ud83d\\ude00\",\"messages\":"
                               "[{\"role\":\"user\",\"content\":\"hi\"}]}";
    char *out;
    size_t len;
    int st = raw_request("POST", "/v1/chat/completions",
                         "x-tailgate-length: 2\r\nx-tailgate-ttft-ms: 0\r\n", body, sizeof body - 1,
                         &out, &len);
    CHECK_EQ_INT(st, 200);
    struct jparse_error je;
    cJSON *j = out ? jparse_text(out, len, &je) : NULL;
    free(out);
    CHECK(j != NULL);
    int ok = harness_str(j, "model") && strcmp(harness_str(j, "model"), model) == 0;
    cJSON_Delete(j);
    CHECK(ok);
}

static void mockprov_should_keep_replies_valid_utf8_when_echoing_raw_bytes(void)
{
    /* a header and a URL are not JSON: their raw bytes reach error messages, repaired */
    static const struct {
        const char *api, *method, *path, *hdr;
        int status;
        const char *needle;
    } rows[] = {
        {"chat", "POST", "/v1/chat/completions", "x-tailgate-profile: caf\xff\xc3\r\n", 400,
         "Unknown x-tailgate-profile 'caf\xef\xbf\xbd\xef\xbf\xbd' (see 'tailgate profiles')."},
        {"messages", "POST", "/v1/messages", "x-tailgate-fault: status=4\xe2\x82\r\n", 400,
         "\xef\xbf\xbd\xef\xbf\xbd"},
        {"chat", "POST", "/v1/nothing\xc3", NULL, 404,
         "Unknown request URL: POST /v1/nothing\xef\xbf\xbd."},
        {"responses", "GET", "/v1/responses/resp_\xed\xa0\x80", NULL, 404,
         "No response found with id 'resp_\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd'."},
    };
    static const char chat[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                               "\"content\":\"x\"}]}";
    static const char anth[] = "{\"model\":\"m\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\","
                               "\"content\":\"x\"}]}";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int post = strcmp(rows[i].method, "POST") == 0;
        const char *b = !post ? "" : strcmp(rows[i].api, "messages") == 0 ? anth : chat;
        char *out;
        size_t len;
        int st = raw_request(rows[i].method, rows[i].path, rows[i].hdr, b, strlen(b), &out, &len);
        int valid = out && utf8_valid_prefix(out, len) == len;
        struct jparse_error je;
        cJSON *j = out ? jparse_text(out, len, &je) : NULL;
        const char *msg = harness_str(cJSON_GetObjectItem(j, "error"), "message");
        int ok = st == rows[i].status && valid && msg && strstr(msg, rows[i].needle) != NULL;
        if (!ok)
            fprintf(stderr, "  row %zu: %d %s\n", i, st, out ? out : "");
        cJSON_Delete(j);
        free(out);
        CHECK(ok);
    }
}

static void mockprov_should_reject_a_body_over_the_cap_with_413(void)
{
    struct proc small;
    const char *args[] = {"--max-body", "1000", NULL};
    CHECK(harness_start_mock(&small, args) == 0);
    char *big = malloc(4000);
    CHECK(big != NULL);
    memset(big, 'a', 3999);
    big[3999] = '\0';
    memcpy(big, "{\"model\":\"m\",\"x\":\"", 18);
    big[3997] = '"';
    big[3998] = '}';
    char *body = NULL;
    int st = harness_http(small.port, "POST", "/v1/messages", NULL, big, &body, NULL);
    free(big);
    int ok = st == 413 && body && strstr(body, "request_too_large");
    free(body);
    int rc = harness_stop(&small);
    CHECK(ok);
    CHECK_EQ_INT(rc, 0);
}

/* ---- admin API ---------------------------------------------------------------------------- */

static void mockprov_should_bound_the_ledger_and_count_drops(void)
{
    struct proc small;
    char dir_file[128];
    snprintf(dir_file, sizeof dir_file, "/tmp/tg-ledger-%d.jsonl", (int)getpid());
    unlink(dir_file);
    const char *args[] = {"--ledger-max", "3", "--ledger-file", dir_file, NULL};
    CHECK(harness_start_mock(&small, args) == 0);
    const char *hdrs[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", NULL};
    for (int i = 0; i < 5; i++)
        harness_http(small.port, "POST", "/v1/responses", hdrs, "{\"model\":\"m\",\"input\":\"x\"}",
                     NULL, NULL);
    char *body = NULL;
    harness_http(small.port, "GET", "/_tailgate/ledger", NULL, NULL, &body, NULL);
    cJSON *j = cJSON_Parse(body);
    free(body);
    int count = (int)harness_num(j, "count"), dropped = (int)harness_num(j, "dropped");
    int first_seq =
        (int)harness_num(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "records"), 0), "seq");
    cJSON_Delete(j);
    harness_http(small.port, "GET", "/_tailgate/health", NULL, NULL, &body, NULL);
    int health_says = body && strstr(body, "\"ledger_dropped\":2");
    free(body);
    harness_http(small.port, "GET", "/metrics", NULL, NULL, &body, NULL);
    int metrics_say = body && strstr(body, "tailgate_mock_ledger_dropped_total 2") &&
                      strstr(body, "tailgate_mock_requests_total{api=\"responses\"} 5");
    free(body);
    harness_stop(&small);
    int lines = 0;
    FILE *f = fopen(dir_file, "r");
    char line[65536];
    while (f && fgets(line, sizeof line, f))
        lines++;
    if (f)
        fclose(f);
    unlink(dir_file);
    CHECK_EQ_INT(count, 3);
    CHECK_EQ_INT(dropped, 2);
    CHECK_EQ_INT(first_seq, 3);
    CHECK(health_says);
    CHECK(metrics_say);
    CHECK_EQ_INT(lines, 5);
}

/* GET 'path' on the ledger: the status, and into ids the correlation ids listed ("a,b"), or the
 * error's param and message when it was refused. */
static int ledger_get(int port, const char *path, char *ids, size_t len, char *param, size_t plen,
                      char *msg, size_t mlen)
{
    char *body = NULL;
    int st = harness_http(port, "GET", path, NULL, NULL, &body, NULL);
    cJSON *j = cJSON_Parse(body ? body : "");
    free(body);
    ids[0] = param[0] = msg[0] = '\0';
    size_t off = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(j, "records"))
    {
        const char *cid = harness_str(rec, "correlation_id");
        int n = snprintf(ids + off, len - off, "%s%s", off ? "," : "", cid ? cid : "?");
        if (n > 0 && (size_t)n < len - off)
            off += (size_t)n;
    }
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    const char *p = harness_str(e, "param"), *m = harness_str(e, "message");
    const char *t = harness_str(e, "type");
    snprintf(param, plen, "%s", p ? p : "");
    snprintf(msg, mlen, "%s|%s", t ? t : "", m ? m : "");
    cJSON_Delete(j);
    return st;
}

/* The ledger filters by ?correlation_id= (and by ?id=, its older name); a parameter it does not
 * know is a 400 naming it, not a filter silently ignored (which answered with every record). */
/* One request with X-Request-Id 'cid'; its HTTP status. */
static int scoped_request(int port, const char *cid)
{
    char rid[96];
    snprintf(rid, sizeof rid, "X-Request-Id: %s", cid);
    const char *hdrs[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", rid, NULL};
    return harness_http(port, "POST", "/v1/responses", hdrs, "{\"model\":\"m\",\"input\":\"x\"}",
                        NULL, NULL);
}

/* "cid=profile,..." of every ledger record, in order. */
static void ledger_profiles(int port, char *out, size_t len)
{
    char *body = NULL;
    harness_http(port, "GET", "/_tailgate/ledger", NULL, NULL, &body, NULL);
    cJSON *j = cJSON_Parse(body ? body : "");
    free(body);
    size_t off = 0;
    out[0] = '\0';
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(j, "records"))
    {
        const char *cid = harness_str(rec, "correlation_id"), *p = harness_str(rec, "profile");
        int n =
            snprintf(out + off, len - off, "%s%s=%s", off ? "," : "", cid ? cid : "?", p ? p : "?");
        if (n > 0 && (size_t)n < len - off)
            off += (size_t)n;
    }
    cJSON_Delete(j);
}

/* ?scope=PREFIX: a profile and a queued fault for the correlation ids starting with PREFIX alone
 * (the longest prefix wins), the ledger and health of the scope alone, a reset of the scope that
 * leaves the rest, every answer naming the scope; a scope no id could start with is a 400. */
static void mockprov_should_keep_settings_records_and_streams_per_scope(void)
{
    struct proc own;
    CHECK(harness_start_mock(&own, NULL) == 0);
    char *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL;
    int st_prof = harness_http(own.port, "POST", "/_tailgate/profile?scope=sA:", NULL,
                               "{\"name\":\"runaway\"}", &b1, NULL);
    int st_long = harness_http(own.port, "POST", "/_tailgate/profile?scope=sA:x", NULL,
                               "{\"name\":\"vendor-a-pre\"}", NULL, NULL);
    int st_fault = harness_http(own.port, "POST", "/_tailgate/faults?scope=sB:", NULL,
                                "{\"fault\":\"status=429\",\"count\":5}", &b2, NULL);
    int st_a = scoped_request(own.port, "sA:1"), st_ax = scoped_request(own.port, "sA:x1");
    int st_b = scoped_request(own.port, "sB:1"), st_o = scoped_request(own.port, "other-1");
    char all[512], only_a[256], pa[64], ma[256], after[512];
    ledger_profiles(own.port, all, sizeof all);
    int st_la = ledger_get(own.port, "/_tailgate/ledger?scope=sA:x", only_a, sizeof only_a, pa,
                           sizeof pa, ma, sizeof ma);
    int st_h = harness_http(own.port, "GET", "/_tailgate/health?scope=sB:", NULL, NULL, &b3, NULL);
    int st_r = harness_http(own.port, "POST", "/_tailgate/reset?scope=sA:", NULL, "{}", &b4, NULL);
    ledger_profiles(own.port, after, sizeof after);
    int st_a2 = scoped_request(own.port, "sA:2");
    char again[512], pb[64], mb[256], ids[64];
    ledger_profiles(own.port, again, sizeof again);
    int st_bad = ledger_get(own.port, "/_tailgate/ledger?scope=a%20b", ids, sizeof ids, pb,
                            sizeof pb, mb, sizeof mb);
    harness_stop(&own);
    CHECK_EQ_INT(st_prof, 200);
    CHECK(b1 && strstr(b1, "\"scope\":\"sA:\"") && strstr(b1, "\"name\":\"runaway\""));
    CHECK_EQ_INT(st_long, 200);
    CHECK_EQ_INT(st_fault, 200);
    CHECK(b2 && strstr(b2, "\"scope\":\"sB:\""));
    CHECK_EQ_INT(st_a, 200);
    CHECK_EQ_INT(st_ax, 200);
    CHECK_EQ_INT(st_b, 429);
    CHECK_EQ_INT(st_o, 200);
    CHECK_EQ_STR(all, "sA:1=runaway,sA:x1=vendor-a-pre,sB:1=vendor-b-post,other-1=vendor-b-post");
    CHECK_EQ_INT(st_la, 200);
    CHECK_EQ_STR(only_a, "sA:x1");
    CHECK_EQ_INT(st_h, 200);
    CHECK(b3 && strstr(b3, "\"active_streams\":0") && strstr(b3, "\"scope\":\"sB:\""));
    CHECK_EQ_INT(st_r, 200);
    CHECK(b4 && strstr(b4, "\"scope\":\"sA:\""));
    /* the reset forgets every record its prefix begins (sA:x1 too), the others' stay; sA: is
     * gone, so sA:2 takes the mock's own profile */
    CHECK_EQ_STR(after, "sB:1=vendor-b-post,other-1=vendor-b-post");
    CHECK_EQ_INT(st_a2, 200);
    CHECK_EQ_STR(again, "sB:1=vendor-b-post,other-1=vendor-b-post,sA:2=vendor-b-post");
    CHECK_EQ_INT(st_bad, 400);
    CHECK_EQ_STR(pb, "scope");
    free(b1);
    free(b2);
    free(b3);
    free(b4);
}

static void mockprov_should_filter_the_ledger_by_correlation_id_and_refuse_unknown_parameters(void)
{
    struct proc own;
    CHECK(harness_start_mock(&own, NULL) == 0);
    const char *ids[] = {"flt-a", "flt-b"};
    int sent = 0;
    for (int i = 0; i < 2; i++) {
        char rid[64];
        snprintf(rid, sizeof rid, "X-Request-Id: %s", ids[i]);
        const char *hdrs[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", rid, NULL};
        sent += harness_http(own.port, "POST", "/v1/responses", hdrs,
                             "{\"model\":\"m\",\"input\":\"x\"}", NULL, NULL) == 200;
    }
    char got[6][128], param[6][64], msg[6][256];
    int st[6];
    static const char *paths[] = {
        "/_tailgate/ledger?correlation_id=flt-a",
        "/_tailgate/ledger?id=flt-b",
        "/_tailgate/ledger?correlation_id=flt-b&id=flt-b",
        "/_tailgate/ledger",
        "/_tailgate/ledger?cid=flt-a",
        "/_tailgate/ledger?correlation_id=flt-a&id=flt-b",
    };
    for (int i = 0; i < 6; i++)
        st[i] = ledger_get(own.port, paths[i], got[i], sizeof got[i], param[i], sizeof param[i],
                           msg[i], sizeof msg[i]);
    harness_stop(&own);
    CHECK_EQ_INT(sent, 2);
    CHECK_EQ_INT(st[0], 200);
    CHECK_EQ_STR(got[0], "flt-a");
    CHECK_EQ_INT(st[1], 200);
    CHECK_EQ_STR(got[1], "flt-b");
    CHECK_EQ_INT(st[2], 200);
    CHECK_EQ_STR(got[2], "flt-b");
    CHECK_EQ_INT(st[3], 200);
    CHECK_EQ_STR(got[3], "flt-a,flt-b");
    CHECK_EQ_INT(st[4], 400);
    CHECK_EQ_STR(got[4], "");
    CHECK_EQ_STR(param[4], "cid");
    CHECK_EQ_STR(msg[4], "invalid_request_error|Unknown query parameter 'cid': the ledger takes "
                         "correlation_id (or its older name id) and scope.");
    CHECK_EQ_INT(st[5], 400);
    CHECK_EQ_STR(param[5], "id");
    CHECK_EQ_STR(msg[5], "invalid_request_error|Query parameter 'id' names a second correlation "
                         "id: the ledger filters by one.");
}

static void mockprov_should_switch_profiles_by_admin_call_and_schedule(void)
{
    char *body = NULL;
    CHECK_EQ_INT(harness_http(mock.port, "POST", "/_tailgate/profile", NULL,
                              "{\"schedule\":\"0s:vendor-a-pre,400ms:silent-emitted\"}", &body,
                              NULL),
                 200);
    free(body);
    const char *h1[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", "X-Request-Id: sw-1",
                        NULL};
    const char *h2[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", "X-Request-Id: sw-2",
                        NULL};
    harness_http(mock.port, "POST", "/v1/responses", h1, "{\"model\":\"m\",\"input\":\"x\"}", NULL,
                 NULL);
    /* wait for the switch itself, seen through the admin API (bounded: 5 s) */
    int current = 0;
    for (int i = 0; i < 250 && !current; i++) {
        harness_http(mock.port, "GET", "/_tailgate/profile", NULL, NULL, &body, NULL);
        current = body && strstr(body, "\"current\":{\"name\":\"silent-emitted\"");
        free(body);
        if (!current)
            harness_sleep_ms(20);
    }
    harness_http(mock.port, "POST", "/v1/responses", h2, "{\"model\":\"m\",\"input\":\"x\"}", NULL,
                 NULL);
    CHECK_EQ_INT(harness_http(mock.port, "POST", "/_tailgate/profile", NULL,
                              "{\"name\":\"vendor-b-post\"}", NULL, NULL),
                 200);
    cJSON *r1 = harness_ledger_done(mock.port, "sw-1", 5000);
    cJSON *r2 = harness_ledger_done(mock.port, "sw-2", 5000);
    int ok = r1 && r2 && strcmp(harness_str(r1, "profile"), "vendor-a-pre") == 0 &&
             strcmp(harness_str(r2, "profile"), "silent-emitted") == 0;
    cJSON_Delete(r1);
    cJSON_Delete(r2);
    CHECK(current);
    CHECK(ok);
}

static void mockprov_should_apply_profile_overrides_without_request_headers(void)
{
    char *body = NULL;
    int st = harness_http(mock.port, "POST", "/_tailgate/profile", NULL,
                          "{\"name\":\"runaway\",\"overrides\":{\"natural_length\":3,"
                          "\"tps\":1000,\"ttft_ms\":0,\"price_out_per_mtok\":1000}}",
                          &body, NULL);
    free(body);
    CHECK_EQ_INT(st, 200);
    const char *h[] = {"X-Request-Id: ovr-1", NULL};
    harness_http(mock.port, "POST", "/v1/responses", h, "{\"model\":\"m\",\"input\":\"x\"}", NULL,
                 NULL);
    cJSON *r = harness_ledger_done(mock.port, "ovr-1", 5000);
    int ok = r && harness_num(r, "generated_tokens") == 3 &&
             strcmp(harness_str(r, "profile"), "runaway") == 0;
    cJSON_Delete(r);
    st = harness_http(mock.port, "POST", "/_tailgate/profile", NULL,
                      "{\"name\":\"runaway\",\"overrides\":{\"speed\":3}}", &body, NULL);
    int named = body && strstr(body, "speed") && strstr(body, "\"param\":\"overrides\"");
    free(body);
    int st2 = harness_http(mock.port, "POST", "/_tailgate/profile", NULL,
                           "{\"name\":\"runaway\",\"overrides\":{\"tps\":-1}}", NULL, NULL);
    harness_http(mock.port, "POST", "/_tailgate/profile", NULL, "{\"name\":\"vendor-b-post\"}",
                 NULL, NULL);
    CHECK(ok);
    CHECK_EQ_INT(st, 400);
    CHECK(named);
    CHECK_EQ_INT(st2, 400);
}

static void mockprov_should_write_an_invoice_and_reset(void)
{
    char *body = NULL;
    CHECK_EQ_INT(harness_http(mock.port, "POST", "/_tailgate/reset", NULL, "{}", &body, NULL), 200);
    free(body);
    const char *hdrs[] = {"x-tailgate-length: 500", "x-tailgate-tps: 100000",
                          "x-tailgate-ttft-ms: 0",  "x-tailgate-profile: vendor-a-pre",
                          "X-Request-Id: inv-1",    NULL};
    /* 4000 bytes of prompt = 1000 input tokens; 500 output; vendor-a-pre: 2.50 and 10.00 per M */
    char prompt[4100];
    memset(prompt, 'p', 4000);
    prompt[4000] = '\0';
    char req[4300];
    snprintf(req, sizeof req, "{\"model\":\"m\",\"input\":\"%s\"}", prompt);
    CHECK_EQ_INT(harness_http(mock.port, "POST", "/v1/responses", hdrs, req, NULL, NULL), 200);
    cJSON *r = harness_ledger_done(mock.port, "inv-1", 5000);
    cJSON_Delete(r);
    harness_http(mock.port, "GET", "/_tailgate/invoice.csv", NULL, NULL, &body, NULL);
    int ok = body &&
             strncmp(body, "request_id,correlation_id,api,model,profile,outcome,", 52) == 0 &&
             strstr(body, ",inv-1,responses,m,vendor-a-pre,natural,1000,500,2.5000,10.0000,"
                          "0.00750000\n");
    if (!ok)
        fprintf(stderr, "  invoice: %s\n", body ? body : "");
    free(body);
    CHECK(ok);
}

static void mockprov_should_guard_the_admin_api_with_a_token(void)
{
    struct proc guarded;
    const char *args[] = {"--admin-token", "s3cret", NULL};
    CHECK(harness_start_mock(&guarded, args) == 0);
    const char *good[] = {"Authorization: Bearer s3cret", NULL};
    const char *bad[] = {"Authorization: Bearer nope", NULL};
    int s0 = harness_http(guarded.port, "GET", "/_tailgate/health", NULL, NULL, NULL, NULL);
    int s1 = harness_http(guarded.port, "GET", "/_tailgate/health", bad, NULL, NULL, NULL);
    int s2 = harness_http(guarded.port, "GET", "/_tailgate/health", good, NULL, NULL, NULL);
    int rc = harness_stop(&guarded);
    CHECK_EQ_INT(s0, 401);
    CHECK_EQ_INT(s1, 401);
    CHECK_EQ_INT(s2, 200);
    CHECK_EQ_INT(rc, 0);
}

/* ---- the admin API against web pages (DNS rebinding, cross-site requests) ----------------- */

#define PERM(msg)                                                                                  \
    "{\"error\":{\"message\":\"" msg                                                               \
    "\",\"type\":\"permission_error\",\"param\":null,\"code\":null}}\n"
#define FOREIGN_HOST(h)                                                                            \
    PERM("admin API: refused Host '" h "': not a loopback name or address (see --admin-host)")
#define FOREIGN_ORIGIN(o)                                                                          \
    PERM("admin API: refused a cross-site request: Origin '" o "' is not a loopback origin (see "  \
         "--admin-host)")
#define NOT_JSON(got)                                                                              \
    PERM("admin API: refused POST without Content-Type application/json (got " got ")")
#define TOKEN "Authorization: Bearer s3cret\r\n"

/* One raw request to the admin API; 'head' is the header lines after the request line (each
 * ending in CRLF), 'body' may be NULL. Returns the status; *out gets the body. */
static int admin_raw(int port, const char *method, const char *path, const char *head,
                     const char *body, char **out)
{
    char req[2048];
    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", method, path,
             head, body ? strlen(body) : 0, body ? body : "");
    return harness_raw_http(port, req, out);
}

/* GET /_tailgate/ledger's "count", or -1. */
static int ledger_count(int port, const char *const *headers)
{
    char *body = NULL;
    int st = harness_http(port, "GET", "/_tailgate/ledger", headers, NULL, &body, NULL);
    cJSON *j = st == 200 ? cJSON_Parse(body) : NULL;
    int n = (int)harness_num(j, "count");
    cJSON_Delete(j);
    free(body);
    return n;
}

static void mockprov_should_refuse_a_foreign_host_on_the_admin_api(void)
{
    char *b0 = NULL, *b1 = NULL, *b2 = NULL;
    /* what a page at http://evil.example:PORT sends once its name resolves to 127.0.0.1 */
    int s0 = admin_raw(mock.port, "GET", "/_tailgate/ledger", "Host: evil.example\r\n", NULL, &b0);
    int s1 = admin_raw(mock.port, "GET", "/metrics", "Host: evil.example:8080\r\n", NULL, &b1);
    int s2 = admin_raw(mock.port, "GET", "/_tailgate/health", "Host: localhost.evil.example\r\n",
                       NULL, &b2);
    /* loopback names and addresses, with or without a port, and no Host at all on HTTP/1.0 */
    int ok[5];
    char hosts[4][64];
    snprintf(hosts[0], sizeof hosts[0], "Host: 127.0.0.1:%d\r\n", mock.port);
    snprintf(hosts[1], sizeof hosts[1], "Host: localhost:%d\r\n", mock.port);
    snprintf(hosts[2], sizeof hosts[2], "Host: [::1]:%d\r\n", mock.port);
    snprintf(hosts[3], sizeof hosts[3], "Host: tailgate.localhost\r\n");
    for (int i = 0; i < 4; i++)
        ok[i] = admin_raw(mock.port, "GET", "/_tailgate/ledger", hosts[i], NULL, NULL);
    ok[4] = harness_raw_http(mock.port, "GET /_tailgate/health HTTP/1.0\r\n\r\n", NULL);
    CHECK_EQ_INT(s0, 403);
    CHECK_EQ_STR(b0, FOREIGN_HOST("evil.example"));
    CHECK_EQ_INT(s1, 403);
    CHECK_EQ_STR(b1, FOREIGN_HOST("evil.example:8080"));
    CHECK_EQ_INT(s2, 403);
    CHECK_EQ_STR(b2, FOREIGN_HOST("localhost.evil.example"));
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(ok[i], 200);
    free(b0);
    free(b1);
    free(b2);
}

static void mockprov_should_refuse_a_cross_site_post_and_leave_the_fault_unset(void)
{
    struct proc p;
    CHECK(harness_start_mock(&p, NULL) == 0);
    const char *hdrs[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", "X-Request-Id: xs-1",
                          NULL};
    const char *req = "{\"model\":\"m\",\"input\":\"x\"}";
    int g0 = harness_http(p.port, "POST", "/v1/responses", hdrs, req, NULL, NULL);
    char *b[4] = {NULL};
    /* a form or a no-cors fetch from a page: text/plain, the page's Origin */
    int s0 = admin_raw(p.port, "POST", "/_tailgate/faults",
                       "Host: 127.0.0.1\r\nOrigin: http://evil.example\r\n"
                       "Content-Type: text/plain;charset=UTF-8\r\n",
                       "{\"fault\":\"status=429\",\"count\":5}", &b[0]);
    int s1 =
        admin_raw(p.port, "POST", "/_tailgate/reset",
                  "Host: 127.0.0.1\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\n",
                  "{}", &b[1]);
    /* the same without an Origin (an older browser's form), and a "null" one (a sandboxed frame) */
    int s2 = admin_raw(p.port, "POST", "/_tailgate/faults",
                       "Host: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n",
                       "{\"fault\":\"status=429\",\"count\":5}", &b[2]);
    int s3 = admin_raw(p.port, "POST", "/_tailgate/faults",
                       "Host: 127.0.0.1\r\nOrigin: null\r\nContent-Type: application/json\r\n",
                       "{\"fault\":\"status=429\",\"count\":5}", &b[3]);
    /* no fault was queued and the ledger was not reset: the next request is answered 200 and
     * both records are there (the vendor API itself answers any Host) */
    const char *hdrs2[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", "X-Request-Id: xs-2",
                           "Host: gateway-upstream.example", NULL};
    int g1 = harness_http(p.port, "POST", "/v1/responses", hdrs2, req, NULL, NULL);
    cJSON *r1 = harness_ledger_done(p.port, "xs-1", 5000);
    cJSON *r2 = harness_ledger_done(p.port, "xs-2", 5000);
    int count = ledger_count(p.port, NULL);
    int rc = harness_stop(&p);
    CHECK_EQ_INT(g0, 200);
    CHECK_EQ_INT(s0, 403);
    CHECK_EQ_STR(b[0], FOREIGN_ORIGIN("http://evil.example"));
    CHECK_EQ_INT(s1, 403);
    CHECK_EQ_STR(b[1], FOREIGN_ORIGIN("http://evil.example"));
    CHECK_EQ_INT(s2, 403);
    CHECK_EQ_STR(b[2], NOT_JSON("'application/x-www-form-urlencoded'"));
    CHECK_EQ_INT(s3, 403);
    CHECK_EQ_STR(b[3], FOREIGN_ORIGIN("null"));
    CHECK_EQ_INT(g1, 200);
    CHECK(r1 != NULL && r2 != NULL);
    CHECK_EQ_INT(harness_num(r1, "status"), 200);
    CHECK_EQ_INT(harness_num(r2, "status"), 200);
    CHECK(harness_str(r2, "fault") == NULL);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_INT(rc, 0);
    cJSON_Delete(r1);
    cJSON_Delete(r2);
    for (int i = 0; i < 4; i++)
        free(b[i]);
}

static void mockprov_should_refuse_web_pages_even_with_a_valid_token(void)
{
    struct proc p;
    const char *args[] = {"--admin-token", "s3cret", NULL};
    CHECK(harness_start_mock(&p, args) == 0);
    char *b[3] = {NULL};
    int s0 =
        admin_raw(p.port, "GET", "/_tailgate/ledger", "Host: evil.example\r\n" TOKEN, NULL, &b[0]);
    int s1 = admin_raw(
        p.port, "POST", "/_tailgate/faults",
        "Host: 127.0.0.1\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\n" TOKEN,
        "{\"fault\":\"status=429\"}", &b[1]);
    int s2 = admin_raw(p.port, "POST", "/_tailgate/faults", "Host: 127.0.0.1\r\n" TOKEN,
                       "{\"fault\":\"status=429\"}", &b[2]);
    /* the page's fault did not land: a legitimate call with the token sees the request answered */
    const char *good[] = {"Authorization: Bearer s3cret", NULL};
    const char *hdrs[] = {"x-tailgate-length: 1", "x-tailgate-ttft-ms: 0", NULL};
    int g0 = harness_http(p.port, "POST", "/v1/responses", hdrs,
                          "{\"model\":\"m\",\"input\":\"x\"}", NULL, NULL);
    int s3 = admin_raw(p.port, "POST", "/_tailgate/faults",
                       "Host: 127.0.0.1\r\nContent-Type: application/json; charset=utf-8\r\n" TOKEN,
                       "{\"fault\":\"status=429\",\"count\":1}", NULL);
    int g1 = harness_http(p.port, "POST", "/v1/responses", hdrs,
                          "{\"model\":\"m\",\"input\":\"x\"}", NULL, NULL);
    int count = ledger_count(p.port, good);
    int rc = harness_stop(&p);
    CHECK_EQ_INT(s0, 403);
    CHECK_EQ_STR(b[0], FOREIGN_HOST("evil.example"));
    CHECK_EQ_INT(s1, 403);
    CHECK_EQ_STR(b[1], FOREIGN_ORIGIN("http://evil.example"));
    CHECK_EQ_INT(s2, 403);
    CHECK_EQ_STR(b[2], NOT_JSON("none"));
    CHECK_EQ_INT(g0, 200);
    CHECK_EQ_INT(s3, 200);
    CHECK_EQ_INT(g1, 429);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_INT(rc, 0);
    for (int i = 0; i < 3; i++)
        free(b[i]);
}

static void mockprov_should_answer_an_admin_host_given_with_a_token(void)
{
    struct proc p;
    const char *args[] = {"--admin-token", "s3cret", "--admin-host", "example.test", NULL};
    CHECK(harness_start_mock(&p, args) == 0);
    char *b[3] = {NULL};
    int s0 =
        admin_raw(p.port, "GET", "/_tailgate/health", "Host: example.test\r\n" TOKEN, NULL, NULL);
    int s1 =
        admin_raw(p.port, "GET", "/_tailgate/health", "Host: example.test:8080\r\n", NULL, &b[0]);
    int s2 =
        admin_raw(p.port, "GET", "/_tailgate/health", "Host: evil.example\r\n" TOKEN, NULL, &b[1]);
    int s3 = admin_raw(p.port, "POST", "/_tailgate/faults",
                       "Host: EXAMPLE.test:8080\r\nOrigin: https://example.test\r\n"
                       "Content-Type: application/json\r\n" TOKEN,
                       "{\"fault\":\"status=529\",\"count\":0}", &b[2]);
    int rc = harness_stop(&p);
    CHECK_EQ_INT(s0, 200);
    CHECK_EQ_INT(s1, 401);
    CHECK_EQ_STR(b[0],
                 "{\"error\":{\"message\":\"The admin API needs 'Authorization: Bearer "
                 "<token>'.\",\"type\":\"authentication_error\",\"param\":null,\"code\":null}}\n");
    CHECK_EQ_INT(s2, 403);
    CHECK_EQ_STR(b[1], FOREIGN_HOST("evil.example"));
    CHECK_EQ_INT(s3, 200);
    CHECK_EQ_STR(b[2], "{\"fault\":\"status=529\",\"count\":0}\n");
    CHECK_EQ_INT(rc, 0);
    for (int i = 0; i < 3; i++)
        free(b[i]);
}

static void mockprov_should_exit_2_on_admin_hosts_without_a_token(void)
{
    const char *bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    static const struct {
        const char *args, *err;
    } rows[] = {
        {"--admin-host example.test",
         "tailgate mock: --admin-host needs --admin-token (an admin API others can reach must "
         "ask for a token); see 'tailgate mock --help'\n"},
        {"--admin-host example.test --admin-any",
         "tailgate mock: --admin-host needs --admin-token (an admin API others can reach must "
         "ask for a token); see 'tailgate mock --help'\n"},
        {"--admin-token t --admin-host http://example.test",
         "tailgate mock: --admin-host: 'http://example.test' is not a host name or address (no "
         "scheme, no port); see 'tailgate mock --help'\n"},
        {"--admin-token t --admin-host example.test:80",
         "tailgate mock: --admin-host: 'example.test:80' is not a host name or address (no "
         "scheme, no port); see 'tailgate mock --help'\n"},
        {"--admin-token ''", "tailgate mock: --admin-token: must not be empty; see 'tailgate mock "
                             "--help'\n"},
    };
    char dir[] = "/tmp/tgadmin.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char cmd[512], errf[64], got[512] = "";
        snprintf(errf, sizeof errf, "%s/err", dir);
        /* bounded: a mock that wrongly starts is stopped after 10 s */
        snprintf(cmd, sizeof cmd, "timeout -k 1 10 %s mock --port 0 %s >/dev/null 2>%s", bin,
                 rows[i].args, errf);
        int st = system(cmd);
        FILE *f = fopen(errf, "r");
        size_t n = f ? fread(got, 1, sizeof got - 1, f) : 0;
        got[n] = '\0';
        if (f)
            fclose(f);
        unlink(errf);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 2) || strcmp(got, rows[i].err) != 0)
            fprintf(stderr, "  '%s' exited %d: %s", rows[i].args, WEXITSTATUS(st), got);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
        CHECK_EQ_STR(got, rows[i].err);
    }
    rmdir(dir);
}

static void mockprov_should_exit_2_on_usage_errors(void)
{
    const char *bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    const char *cases[] = {
        "mock --port 70000", "mock --profile nosuch", "mock --schedule 5s:runaway",
        "mock --bogus",      "nosuchcommand",         "mock --ledger-max 0"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", bin, cases[i]);
        int st = system(cmd);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 2))
            fprintf(stderr, "  '%s' exited %d\n", cases[i], WEXITSTATUS(st));
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    }
}

/* ---- Gemini ---------------------------------------------------------------------------------- */

/* every billing semantic x {FIN, RST} on a Gemini SSE stream: exact ledger values, as for the
 * other APIs (the same abort_after_k, the same premise) */
static void mockprov_should_bill_gemini_streams_per_semantic_and_close_kind(void)
{
    int n = 0;
    for (size_t b = 0; b < sizeof billing / sizeof billing[0]; b++) {
        for (int rst = 0; rst <= 1; rst++) {
            char cid[64];
            snprintf(cid, sizeof cid, "bill-gemini-%s-%s", billing[b].bill, rst ? "rst" : "fin");
            cJSON *r = abort_after_k("gemini", billing[b].profile, cid, rst, 50, TIMING);
            if (r == NULL)
                fprintf(stderr, "  case %s: no finished record\n", cid);
            CHECK(r != NULL);
            double gen = harness_num(r, "generated_tokens");
            double written = harness_num(r, "written_tokens");
            double billed = harness_num(r, "billed_output_tokens");
            const char *bill = billing[b].bill;
            double by_semantic = strcmp(bill, "zero") == 0      ? 0
                                 : strcmp(bill, "emitted") == 0 ? written
                                                                : gen;
            /* usage_reported stays null: the cut stream never reached its last chunk (the
             * running usageMetadata the gateway saw counts what it was sent, not the bill) */
            int ok = billed == by_semantic && harness_num(r, "tail_tokens") <= 1 &&
                     harness_num(r, "billed_input_tokens") == 2 &&
                     (!rst || strcmp(harness_str(r, "close_kind"), "rst") == 0) &&
                     strcmp(harness_str(r, "stop_reason"), "disconnect") == 0 &&
                     strcmp(harness_str(r, "api"), "gemini") == 0 &&
                     strcmp(harness_str(r, "model"), "gemini-test") == 0 &&
                     strcmp(harness_str(r, "protocol"), "http/1.1") == 0 &&
                     cJSON_IsNull(cJSON_GetObjectItem(r, "usage_reported")) &&
                     harness_num(r, "t_gen_stop_ns") >= harness_num(r, "t_peer_closed_ns");
            int closed_before_token_k1 =
                gen == K + 1 && written == K && harness_num(r, "tail_tokens") == 1 &&
                billed == billing[b].billed &&
                strcmp(harness_str(r, "close_kind"), rst ? "rst" : "fin") == 0;
            if (!ok || !closed_before_token_k1) {
                char *p = cJSON_PrintUnformatted(r);
                fprintf(stderr, "  case %s: %s\n", cid, p);
                free(p);
            }
            cJSON_Delete(r);
            CHECK(ok);
            CHECK_TIMING(closed_before_token_k1);
            n++;
        }
    }
    CHECK_EQ_INT(n, 6);
}

/* The JSON of the last "data: " event in an SSE body, or NULL. */
static cJSON *last_sse_json(const char *sse)
{
    const char *last = NULL;
    for (const char *p = strstr(sse, "data: "); p; p = strstr(p + 1, "data: "))
        last = p;
    if (last == NULL)
        return NULL;
    last += 6;
    const char *end = strstr(last, "\n\n");
    return end ? cJSON_ParseWithLength(last, (size_t)(end - last)) : NULL;
}

static const cJSON *gemini_usage(const cJSON *chunk)
{
    return cJSON_GetObjectItem(chunk, "usageMetadata");
}

static const char *gemini_finish(const cJSON *chunk)
{
    return harness_str(cJSON_GetArrayItem(cJSON_GetObjectItem(chunk, "candidates"), 0),
                       "finishReason");
}

/* a completed stream: 5 token chunks, the last chunk's finishReason and usageMetadata, no
 * [DONE], and usageMetadata's numbers are what the ledger bills */
static void mockprov_should_end_a_gemini_stream_with_the_usage_it_bills(void)
{
    char *out = stream_to_end("gemini",
                              "x-tailgate-length: 5\r\nX-Request-Id: gem-done\r\n"
                              "Connection: close\r\n",
                              NULL);
    CHECK(out != NULL);
    cJSON *last = last_sse_json(out);
    int framing = strstr(out, "Content-Type: text/event-stream\r\n") != NULL &&
                  strstr(out, "[DONE]") == NULL && strstr(out, "event:") == NULL &&
                  strstr(out, "\"finishReason\":\"STOP\"") != NULL &&
                  strstr(out, "}\n\n\r\n0\r\n\r\n") != NULL && count_of(out, "data: ") == 6 &&
                  count_of(out, "\"text\":\" tok") == 5 && strstr(out, " tok4") &&
                  !strstr(out, " tok5");
    if (!framing)
        fprintf(stderr, "  got: %s\n", out);
    free(out);
    CHECK(framing);
    CHECK(last != NULL);
    double cands = harness_num(gemini_usage(last), "candidatesTokenCount");
    double prompt = harness_num(gemini_usage(last), "promptTokenCount");
    double total = harness_num(gemini_usage(last), "totalTokenCount");
    int finish_stop = gemini_finish(last) && strcmp(gemini_finish(last), "STOP") == 0;
    cJSON_Delete(last);
    CHECK(finish_stop);
    CHECK_EQ_INT(cands, 5);
    CHECK_EQ_INT(prompt, 2);
    CHECK_EQ_INT(total, 7);
    cJSON *r = harness_ledger_done(mock.port, "gem-done", 5000);
    CHECK(r != NULL);
    double billed_out = harness_num(r, "billed_output_tokens");
    double billed_in = harness_num(r, "billed_input_tokens");
    int ok = harness_num(r, "generated_tokens") == 5 && harness_num(r, "written_tokens") == 5 &&
             harness_num(r, "usage_reported") == 5 &&
             strcmp(harness_str(r, "usage_via"), "usage") == 0 &&
             strcmp(harness_str(r, "stop_reason"), "natural") == 0 &&
             strcmp(harness_str(r, "api"), "gemini") == 0 &&
             strcmp(harness_str(r, "id_source"), "header") == 0 &&
             cJSON_IsNull(cJSON_GetObjectItem(r, "close_kind"));
    cJSON_Delete(r);
    CHECK(ok);
    CHECK_EQ_INT(billed_out, cands);
    CHECK_EQ_INT(billed_in, prompt);

    /* generationConfig.maxOutputTokens caps it: MAX_TOKENS */
    out = stream_to_end("gemini",
                        "x-tailgate-length: 10\r\nX-Request-Id: gem-cap\r\n"
                        "Connection: close\r\n",
                        "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
                        "\"generationConfig\":{\"maxOutputTokens\":2}}");
    CHECK(out != NULL);
    last = last_sse_json(out);
    int capped = gemini_finish(last) && strcmp(gemini_finish(last), "MAX_TOKENS") == 0 &&
                 harness_num(gemini_usage(last), "candidatesTokenCount") == 2 &&
                 strstr(out, " tok1") && !strstr(out, " tok2");
    cJSON_Delete(last);
    free(out);
    CHECK(capped);
    r = harness_ledger_done(mock.port, "gem-cap", 5000);
    CHECK(r != NULL);
    ok = harness_num(r, "generated_tokens") == 2 && harness_num(r, "max_tokens") == 2 &&
         harness_num(r, "billed_output_tokens") == 2 &&
         strcmp(harness_str(r, "stop_reason"), "max_tokens") == 0;
    cJSON_Delete(r);
    CHECK(ok);
}

/* generateContent: one JSON body; streamGenerateContent without alt=sse: one JSON array */
static void mockprov_should_answer_gemini_generate_content_and_array_streams(void)
{
    const char *hdrs[] = {"x-tailgate-length: 4", "x-tailgate-tps: 1000", "x-tailgate-ttft-ms: 0",
                          "x-goog-api-key: test-key", NULL};
    char *body = NULL, *head = NULL;
    int st = harness_http(mock.port, "POST", "/v1beta/models/gemini-test:generateContent", hdrs,
                          "{\"contents\":[{\"parts\":[{\"text\":\"hi [tg:gem-body]\"}]}]}", &body,
                          &head);
    CHECK_EQ_INT(st, 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "candidates"), 0);
    const cJSON *p0 =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "content"), "parts"), 0);
    int ok = harness_str(p0, "text") &&
             strcmp(harness_str(p0, "text"), " tok0 tok1 tok2 tok3") == 0 &&
             strcmp(gemini_finish(j), "STOP") == 0 &&
             harness_num(gemini_usage(j), "candidatesTokenCount") == 4 &&
             harness_num(gemini_usage(j), "promptTokenCount") == 4 &&
             harness_num(gemini_usage(j), "totalTokenCount") == 8 &&
             strcmp(harness_str(j, "modelVersion"), "gemini-test") == 0 &&
             harness_str(j, "responseId") != NULL &&
             strstr(head, "Content-Type: application/json") != NULL;
    cJSON_Delete(j);
    free(head);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "gem-body", 5000);
    CHECK(r != NULL);
    ok = harness_num(r, "usage_reported") == 4 && harness_num(r, "billed_output_tokens") == 4 &&
         !cJSON_IsTrue(cJSON_GetObjectItem(r, "stream")) &&
         strcmp(harness_str(r, "id_source"), "marker") == 0 &&
         !cJSON_IsTrue(cJSON_GetObjectItem(r, "rid_propagated"));
    cJSON_Delete(r);
    CHECK(ok);

    /* no alt (and alt=json): Google's default framing, a JSON array of the same chunks; the
     * API key may come as ?key= */
    static const char *const paths[] = {
        "/v1beta/models/gemini-test:streamGenerateContent?key=k",
        "/v1beta/models/gemini-test:streamGenerateContent?alt=json",
        "/v1/models/gemini-test:streamGenerateContent",
    };
    for (size_t i = 0; i < 3; i++) {
        char cid[64], rid[96];
        snprintf(cid, sizeof cid, "gem-array-%zu", i);
        snprintf(rid, sizeof rid, "X-Request-Id: %s", cid);
        const char *h[] = {"x-tailgate-length: 3", "x-tailgate-tps: 1000", "x-tailgate-ttft-ms: 0",
                           rid, NULL};
        st = harness_http(mock.port, "POST", paths[i], h,
                          "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}", &body, &head);
        CHECK_EQ_INT(st, 200);
        cJSON *a = cJSON_Parse(body);
        ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) == 4 &&
             strcmp(gemini_finish(cJSON_GetArrayItem(a, 3)), "STOP") == 0 &&
             harness_num(gemini_usage(cJSON_GetArrayItem(a, 3)), "candidatesTokenCount") == 3 &&
             harness_num(gemini_usage(cJSON_GetArrayItem(a, 1)), "candidatesTokenCount") == 2 &&
             strstr(head, "application/json") != NULL && strstr(body, "data:") == NULL;
        if (!ok)
            fprintf(stderr, "  %s: %s\n", paths[i], body);
        cJSON_Delete(a);
        free(body);
        free(head);
        CHECK(ok);
        r = harness_ledger_done(mock.port, cid, 5000);
        CHECK(r != NULL);
        ok = harness_num(r, "usage_reported") == 3 &&
             cJSON_IsTrue(cJSON_GetObjectItem(r, "stream")) &&
             strcmp(harness_str(r, "api"), "gemini") == 0;
        cJSON_Delete(r);
        CHECK(ok);
    }
}

/* bad input answers Google's shape, exactly {"error":{"code","message","status"}} */
static void mockprov_should_reject_bad_gemini_input_in_google_shape(void)
{
    static const struct {
        const char *method, *path, *body;
        int status;
        const char *word, *message; /* message: a prefix */
    } rows[] = {
        {"POST", "/v1beta/models/m:generateContent", "{\"contents\":[", 400, "INVALID_ARGUMENT",
         "Invalid JSON payload received."},
        {"POST", "/v1beta/models/m:streamGenerateContent?alt=sse", "{}", 400, "INVALID_ARGUMENT",
         "* GenerateContentRequest.contents: contents is not specified"},
        {"POST", "/v1beta/models/m:generateContent", "{\"contents\":[{\"parts\":[]}]}", 400,
         "INVALID_ARGUMENT", "* GenerateContentRequest.contents[0].parts"},
        {"POST", "/v1beta/models/m:streamGenerateContent?alt=proto",
         "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}]}", 400, "INVALID_ARGUMENT",
         "Invalid value at 'alt' (proto)"},
        {"POST", "/v1beta/models/m:countTokens", "{}", 404, "NOT_FOUND",
         "Method not found: 'countTokens'"},
        {"POST", "/v1beta/models/bad%20model:generateContent", "{}", 404, "NOT_FOUND",
         "models/bad%20model is not found"},
        {"POST", "/v1beta/models/:generateContent", "{}", 404, "NOT_FOUND", "models/ is not"},
        {"GET", "/v1beta/models/m:generateContent", NULL, 404, "NOT_FOUND",
         "Method not found: use POST"},
        {"POST", "/v1beta/tunedModels/x:generateContent", "{}", 404, "NOT_FOUND",
         "Unknown request URL: POST /v1beta/tunedModels/x:generateContent."},
        {"POST", "/v1beta/models/m:generateContent?alt=json&%zz", "{}", 400, "INVALID_ARGUMENT",
         "Malformed query string."},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *body = NULL;
        int st =
            harness_http(mock.port, rows[i].method, rows[i].path, NULL, rows[i].body, &body, NULL);
        cJSON *j = cJSON_Parse(body);
        const cJSON *e = cJSON_GetObjectItem(j, "error");
        const char *msg = harness_str(e, "message");
        int ok = st == rows[i].status && cJSON_GetArraySize(j) == 1 && cJSON_GetArraySize(e) == 3 &&
                 harness_num(e, "code") == rows[i].status && harness_str(e, "status") &&
                 strcmp(harness_str(e, "status"), rows[i].word) == 0 && msg &&
                 strncmp(msg, rows[i].message, strlen(rows[i].message)) == 0;
        if (!ok)
            fprintf(stderr, "  row %zu: %d %s\n", i, st, body ? body : "(none)");
        cJSON_Delete(j);
        free(body);
        CHECK(ok);
    }
}

/* the server-side faults, in Gemini's shapes */
static void mockprov_should_inject_faults_into_gemini_streams(void)
{
    const char *hdrs[] = {"x-tailgate-fault: status=429,retry-after=3", NULL};
    char *body = NULL, *head = NULL;
    int st = harness_http(mock.port, "POST", path_of("gemini"), hdrs, stream_body("gemini"), &body,
                          &head);
    CHECK_EQ_INT(st, 429);
    cJSON *j = cJSON_Parse(body);
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    int ok = harness_num(e, "code") == 429 && harness_str(e, "status") &&
             strcmp(harness_str(e, "status"), "RESOURCE_EXHAUSTED") == 0 &&
             strstr(head, "retry-after: 3") != NULL;
    cJSON_Delete(j);
    free(body);
    free(head);
    CHECK(ok);

    /* error-after: the error object the JS SDK throws on, then the stream ends */
    char *out = stream_to_end("gemini",
                              "x-tailgate-length: 10\r\nx-tailgate-fault: error-after=2"
                              "\r\nX-Request-Id: gem-err\r\nConnection: close\r\n",
                              NULL);
    CHECK(out != NULL);
    ok = strstr(out, "data: {\"error\":{\"code\":500,") != NULL &&
         strstr(out, "\"status\":\"INTERNAL\"}}\n\n") != NULL && strstr(out, " tok1") &&
         !strstr(out, " tok2") && !strstr(out, "finishReason");
    if (!ok)
        fprintf(stderr, "  got: %s\n", out);
    free(out);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "gem-err", 5000);
    CHECK(r != NULL);
    ok = harness_num(r, "generated_tokens") == 2 && harness_num(r, "billed_output_tokens") == 0 &&
         strcmp(harness_str(r, "stop_reason"), "error_fault") == 0;
    cJSON_Delete(r);
    CHECK(ok);

    /* truncate-after: no finishReason, no last chunk of the chunked body */
    out = stream_to_end("gemini",
                        "x-tailgate-length: 10\r\nx-tailgate-fault: truncate-after=2"
                        "\r\nX-Request-Id: gem-trunc\r\n",
                        NULL);
    CHECK(out != NULL);
    ok = strstr(out, " tok1") && !strstr(out, " tok2") && !strstr(out, "finishReason") &&
         !strstr(out, "\r\n0\r\n\r\n");
    free(out);
    CHECK(ok);
    r = harness_ledger_done(mock.port, "gem-trunc", 5000);
    CHECK(r != NULL);
    ok = strcmp(harness_str(r, "stop_reason"), "truncate_fault") == 0 &&
         harness_num(r, "generated_tokens") == 2;
    cJSON_Delete(r);
    CHECK(ok);
}

/* /metrics counts Gemini's requests under api="gemini" (a mock of its own: exact counts) */
static void mockprov_should_count_gemini_in_its_metrics(void)
{
    struct proc own;
    CHECK(harness_start_mock(&own, NULL) == 0);
    const char *hdrs[] = {"x-tailgate-length: 2", "x-tailgate-ttft-ms: 0", "x-tailgate-tps: 1000",
                          NULL};
    int a = harness_http(own.port, "POST", "/v1beta/models/m:generateContent", hdrs,
                         "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}]}", NULL, NULL);
    int b = harness_http(own.port, "POST", "/v1beta/models/m:streamGenerateContent?alt=sse", hdrs,
                         "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}]}", NULL, NULL);
    int c =
        harness_http(own.port, "POST", "/v1beta/models/m:generateContent", hdrs, "{}", NULL, NULL);
    /* 3 reasoning tokens and a call of 3 argument tokens after 1 of text; chat: 2 reasoning */
    const char *think[] = {"x-tailgate-length: 4",           "x-tailgate-ttft-ms: 0",
                           "x-tailgate-tps: 1000",           "x-tailgate-reasoning-tokens: 3",
                           "x-tailgate-reasoning-tps: 1000", "x-tailgate-tool-call: 1",
                           "x-tailgate-tool-text: 1",        NULL};
    int d = harness_http(own.port, "POST", "/v1beta/models/m:streamGenerateContent?alt=sse", think,
                         "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}]}", NULL, NULL);
    const char *chat[] = {"x-tailgate-length: 2",           "x-tailgate-ttft-ms: 0",
                          "x-tailgate-tps: 1000",           "x-tailgate-reasoning-tokens: 2",
                          "x-tailgate-reasoning-tps: 1000", NULL};
    int e = harness_http(own.port, "POST", "/v1/chat/completions", chat,
                         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                         NULL, NULL);
    char *body = NULL;
    harness_http(own.port, "GET", "/metrics", NULL, NULL, &body, NULL);
    int ok =
        body && strstr(body, "tailgate_mock_requests_total{api=\"gemini\"} 3\n") &&
        strstr(body, "tailgate_mock_requests_total{api=\"chat\"} 1\n") &&
        strstr(body, "tailgate_mock_bad_requests_total 1\n") &&
        strstr(body, "tailgate_mock_tokens_generated_total 10\n") &&
        strstr(body, "tailgate_mock_reasoning_tokens_generated_total{api=\"gemini\"} 3\n") &&
        strstr(body, "tailgate_mock_reasoning_tokens_generated_total{api=\"chat\"} 2\n") &&
        strstr(body, "tailgate_mock_reasoning_tokens_generated_total{api=\"messages\"} 0\n") &&
        strstr(body, "tailgate_mock_tool_argument_tokens_generated_total{api=\"gemini\"} 3\n") &&
        strstr(body, "tailgate_mock_tool_argument_tokens_generated_total{api=\"chat\"} 0\n") &&
        strstr(body, "tailgate_mock_time_to_first_token_seconds_count{api=\"gemini\"} 3\n");
    if (!ok)
        fprintf(stderr, "  metrics: %s\n", body ? body : "(none)");
    free(body);
    harness_stop(&own);
    CHECK_EQ_INT(a, 200);
    CHECK_EQ_INT(b, 200);
    CHECK_EQ_INT(c, 400);
    CHECK_EQ_INT(d, 200);
    CHECK_EQ_INT(e, 200);
    CHECK(ok);
}

/* ---- reasoning and tool calls -------------------------------------------------------------- */

/* Reasoning tokens 100 ms apart, visible ones 1 ms apart: a close between two reasoning tokens
 * has 100 ms of margin either side. */
/* The APIs that stage reasoning: Gemini's thought parts too */
static const char *const rapis[] = {"chat", "responses", "messages", "gemini"};

#define THINK                                                                                      \
    "x-tailgate-ttft-ms: 0\r\nx-tailgate-jitter: 0\r\nx-tailgate-tps: 1000\r\n"                    \
    "x-tailgate-reasoning-tps: 10\r\n"

static int count_str(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Reads until 'needle' has come (bounded by timeout_ms). Returns 1 when it came. */
static int read_until(int fd, const char *needle, int timeout_ms, char **acc, size_t *len)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (*acc && strstr(*acc, needle))
            return 1;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) < 0)
            return 0;
        if (!(pfd.revents & (POLLIN | POLLHUP)))
            continue;
        char buf[16384];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return *acc && strstr(*acc, needle);
        char *tmp = realloc(*acc, *len + (size_t)n + 1);
        if (tmp == NULL)
            return 0;
        memcpy(tmp + *len, buf, (size_t)n);
        *len += (size_t)n;
        tmp[*len] = '\0';
        *acc = tmp;
        waited -= 50; /* data came: the wait was not idle */
    }
    return *acc && strstr(*acc, needle);
}

struct reasoning_at_least {
    double n;
};

static int has_reasoning(const cJSON *records, void *arg)
{
    const struct reasoning_at_least *w = arg;
    const cJSON *r = cJSON_GetArrayItem(records, 0);
    return r && harness_num(r, "reasoning_tokens") >= w->n;
}

/* Opens a reasoning stream and closes it (FIN) once 'k' reasoning tokens exist: seen on the wire
 * where the API shows reasoning, in the ledger where it hides them (chat). Returns the finished
 * record. */
static cJSON *leave_during_thinking(const char *api, const char *profile, const char *cid,
                                    int reasoning, int length, int k)
{
    char headers[512];
    snprintf(headers, sizeof headers,
             THINK "x-tailgate-profile: %s\r\nx-tailgate-reasoning-tokens: %d\r\n"
                   "x-tailgate-length: %d\r\nX-Request-Id: %s\r\n",
             profile, reasoning, length, cid);
    int fd = harness_connect(mock.port, 0);
    if (fd < 0 || harness_post(fd, path_of(api), headers, stream_body(api)) != 0)
        return NULL;
    int came;
    if (strcmp(api, "chat") == 0) {
        struct reasoning_at_least w = {k};
        cJSON *recs = harness_ledger_wait(mock.port, cid, has_reasoning, &w, 5000);
        came = recs != NULL;
        cJSON_Delete(recs);
    } else {
        char needle[32], *acc = NULL;
        size_t len = 0;
        snprintf(needle, sizeof needle, " think%d\"", k - 1);
        came = read_until(fd, needle, 5000, &acc, &len);
        free(acc);
    }
    harness_close_fin(fd);
    return came ? harness_ledger_done(mock.port, cid, 10000) : NULL;
}

static void mockprov_should_report_reasoning_usage_equal_to_the_ledger_per_api(void)
{
    static const char *const marks[] = {"\"completion_tokens_details\":{\"reasoning_tokens\":6}",
                                        "\"output_tokens_details\":{\"reasoning_tokens\":6}",
                                        "\"type\":\"thinking_delta\"", "\"thought\":true"};
    /* Gemini: 2 prompt tokens ("abcdefgh"), 4 candidates, 6 thoughts */
    static const char *const totals[] = {
        "\"completion_tokens\":10", "\"output_tokens\":10", "\"usage\":{\"output_tokens\":10}",
        "\"candidatesTokenCount\":4,\"thoughtsTokenCount\":6,\"totalTokenCount\":12"};
    for (size_t a = 0; a < 4; a++) {
        char cid[64], hdr[256];
        snprintf(cid, sizeof cid, "think-done-%s", rapis[a]);
        snprintf(hdr, sizeof hdr,
                 "x-tailgate-reasoning-tokens: 6\r\nx-tailgate-reasoning-tps: "
                 "1000\r\nx-tailgate-length: 4\r\nX-Request-Id: %s\r\n"
                 "Connection: close\r\n",
                 cid);
        char *out = stream_to_end(rapis[a], hdr, NULL);
        CHECK(out != NULL);
        int marked = strstr(out, marks[a]) != NULL && strstr(out, totals[a]) != NULL;
        /* reasoning is shown where the API shows it (one " thinkN" per token), hidden in chat */
        int thinks = count_str(out, " think");
        int toks = count_str(out, " tok");
        free(out);
        CHECK(marked);
        /* Responses: 6 deltas, then the whole text in summary_text.done, summary_part.done,
         * output_item.done and response.completed */
        CHECK_EQ_INT(thinks, a == 0 ? 0 : a == 1 ? 6 + 4 * 6 : 6); /* Gemini: one a chunk */
        CHECK(toks >= 4);
        cJSON *r = harness_ledger_done(mock.port, cid, 5000);
        CHECK(r != NULL);
        const cJSON *rt = cJSON_GetObjectItem(r, "reasoning_t_ns");
        const cJSON *vt = cJSON_GetObjectItem(r, "token_t_ns");
        double last_r = cJSON_GetArrayItem(rt, 5) ? cJSON_GetArrayItem(rt, 5)->valuedouble : -1;
        double first_v = cJSON_GetArrayItem(vt, 0) ? cJSON_GetArrayItem(vt, 0)->valuedouble : -1;
        int ok = harness_num(r, "reasoning_tokens") == 6 && cJSON_GetArraySize(rt) == 6 &&
                 harness_num(r, "reasoning_length") == 6 &&
                 harness_num(r, "generated_tokens") == 4 &&
                 harness_num(r, "billed_output_tokens") == 10 &&
                 harness_num(r, "billed_reasoning_tokens") == 6 &&
                 harness_num(r, "usage_reported") == 10 &&
                 harness_num(r, "reasoning_tail_tokens") == 0 && last_r > 0 && last_r <= first_v &&
                 strcmp(harness_str(r, "stop_reason"), "natural") == 0;
        if (!ok) {
            char *s = cJSON_PrintUnformatted(r);
            fprintf(stderr, "  %s: %s\n", cid, s);
            free(s);
        }
        cJSON_Delete(r);
        CHECK(ok);
    }
}

/* A runaway vendor keeps thinking after the user left: the reasoning tail is every reasoning
 * token after the close, the visible tail every visible token, all billed. */
static void mockprov_should_leave_a_reasoning_tail_when_a_user_leaves_during_thinking(void)
{
    for (size_t a = 0; a < 4; a++) {
        char cid[64];
        snprintf(cid, sizeof cid, "think-tail-%s", rapis[a]);
        cJSON *r = leave_during_thinking(rapis[a], "runaway", cid, 8, 3, K);
        CHECK(r != NULL);
        double at_close = harness_num(r, "reasoning_at_close");
        int ok = harness_num(r, "reasoning_tokens") == 8 &&
                 harness_num(r, "generated_tokens") == 3 && harness_num(r, "tail_tokens") == 3 &&
                 harness_num(r, "written_tokens") == 0 &&
                 harness_num(r, "reasoning_tail_tokens") == 8 - at_close &&
                 harness_num(r, "billed_output_tokens") == 11 &&
                 harness_num(r, "billed_reasoning_tokens") == 8 &&
                 strcmp(harness_str(r, "close_kind"), "fin") == 0 &&
                 strcmp(harness_str(r, "stop_reason"), "natural") == 0;
        if (!ok) {
            char *s = cJSON_PrintUnformatted(r);
            fprintf(stderr, "  %s: %s\n", cid, s);
            free(s);
        }
        cJSON_Delete(r);
        CHECK(ok);
        CHECK_TIMING(at_close == K);
    }
}

/* A close during thinking, per profile: the reasoning done before it is billed as each preset
 * says (zero, before_cancel, generated); one token of lag after the close. */
static void mockprov_should_bill_reasoning_before_a_cancel_per_profile(void)
{
    static const struct {
        const char *api, *profile;
        int billed; /* K reasoning tokens at the close, one more after it */
    } rows[] = {
        {"chat", "vendor-b-post", K},     {"responses", "vendor-b-post", K},
        {"messages", "vendor-b-post", K}, {"gemini", "vendor-b-post", K},
        {"messages", "vendor-a-pre", 0},  {"messages", "selfhosted-abort", K + 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char cid[64];
        snprintf(cid, sizeof cid, "think-bill-%zu", i);
        cJSON *r = leave_during_thinking(rows[i].api, rows[i].profile, cid, 40, 5, K);
        CHECK(r != NULL);
        double at_close = harness_num(r, "reasoning_at_close");
        double rgen = harness_num(r, "reasoning_tokens");
        double billed = harness_num(r, "billed_output_tokens");
        double rbilled = harness_num(r, "billed_reasoning_tokens");
        int ok = harness_num(r, "generated_tokens") == 0 && rgen == at_close + 1 &&
                 harness_num(r, "reasoning_tail_tokens") == 1 && billed == rbilled &&
                 strcmp(harness_str(r, "stop_reason"), "disconnect") == 0;
        if (!ok) {
            char *s = cJSON_PrintUnformatted(r);
            fprintf(stderr, "  %s %s: %s\n", rows[i].api, rows[i].profile, s);
            free(s);
        }
        cJSON_Delete(r);
        CHECK(ok);
        CHECK_TIMING(at_close == K && billed == rows[i].billed);
    }
}

/* A close during the text after the reasoning: vendor-b-post bills the whole reasoning and the
 * K tokens emitted. */
static void mockprov_should_bill_reasoning_and_emitted_text_when_cancelled_during_text(void)
{
    for (size_t a = 0; a < 4; a++) {
        char cid[64];
        snprintf(cid, sizeof cid, "think-text-%s", rapis[a]);
        cJSON *r = abort_after_k(rapis[a], "vendor-b-post", cid, 0, 50,
                                 TIMING "x-tailgate-reasoning-tokens: 4\r\n"
                                        "x-tailgate-reasoning-tps: 1000\r\n");
        CHECK(r != NULL);
        int ok = harness_num(r, "reasoning_tokens") == 4 &&
                 harness_num(r, "reasoning_at_close") == 4 &&
                 harness_num(r, "reasoning_tail_tokens") == 0 &&
                 harness_num(r, "billed_reasoning_tokens") == 4 &&
                 strcmp(harness_str(r, "stop_reason"), "disconnect") == 0;
        double written = harness_num(r, "written_tokens"), gen = harness_num(r, "generated_tokens");
        double billed = harness_num(r, "billed_output_tokens");
        cJSON_Delete(r);
        CHECK(ok);
        CHECK_TIMING(written == K && gen == K + 1 && billed == K + 4);
    }
}

static void mockprov_should_stream_and_answer_a_tool_call_per_api(void)
{
    static const char *const reasons[] = {"\"finish_reason\":\"tool_calls\"",
                                          "\"type\":\"response.function_call_arguments.done\"",
                                          "\"stop_reason\":\"tool_use\""};
    static const char *const bodies[] = {
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"input\":\"x\"}",
        "{\"model\":\"m\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"
        "}"};
    static const char *const args_path[3][6] = {
        {"choices", "0", "message", "tool_calls", "0", "function"},
        {"output", "1", NULL, NULL, NULL, NULL},
        {"content", "1", "input", NULL, NULL, NULL}};
    for (size_t a = 0; a < 3; a++) {
        char cid[64], hdr[256];
        snprintf(cid, sizeof cid, "tool-%s", apis[a]);
        snprintf(hdr, sizeof hdr,
                 "x-tailgate-tool-call: 1\r\nx-tailgate-tool-text: 2\r\n"
                 "x-tailgate-length: 6\r\nX-Request-Id: %s\r\n"
                 "Connection: close\r\n",
                 cid);
        char *out = stream_to_end(apis[a], hdr, NULL);
        CHECK(out != NULL);
        int reason = strstr(out, reasons[a]) != NULL;
        int every = 1;
        for (int i = 0; i < 6; i++) {
            char t[32];
            snprintf(t, sizeof t, " tok%d\"", i);
            every &= strstr(out, t) != NULL;
        }
        free(out);
        CHECK(reason);
        CHECK(every);
        cJSON *r = harness_ledger_done(mock.port, cid, 5000);
        CHECK(r != NULL);
        int ok = cJSON_IsTrue(cJSON_GetObjectItem(r, "tool_call")) &&
                 harness_num(r, "tool_text_tokens") == 2 &&
                 harness_num(r, "generated_tokens") == 6 &&
                 harness_num(r, "billed_output_tokens") == 6;
        cJSON_Delete(r);
        CHECK(ok);
        /* the same as one JSON body: the arguments parse and hold the tokens */
        char rid[96];
        snprintf(rid, sizeof rid, "X-Request-Id: %s-body", cid);
        const char *h[] = {"x-tailgate-tool-call: 1",
                           "x-tailgate-tool-text: 2",
                           "x-tailgate-length: 6",
                           "x-tailgate-tps: 1000",
                           "x-tailgate-ttft-ms: 0",
                           rid,
                           NULL};
        char *body = NULL;
        int st = harness_http(mock.port, "POST", path_of(apis[a]), h, bodies[a], &body, NULL);
        CHECK_EQ_INT(st, 200);
        cJSON *j = cJSON_Parse(body);
        free(body);
        const cJSON *o = j;
        for (int k = 0; k < 6 && args_path[a][k] && o; k++)
            o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(args_path[a][k]))
                                 : cJSON_GetObjectItem(o, args_path[a][k]);
        cJSON *parsed = NULL;
        const cJSON *query;
        if (a == 2) {
            query = cJSON_GetObjectItem(o, "query");
        } else {
            const cJSON *args = cJSON_GetObjectItem(o, "arguments");
            parsed = cJSON_IsString(args) ? cJSON_Parse(args->valuestring) : NULL;
            query = cJSON_GetObjectItem(parsed, "query");
        }
        int holds =
            cJSON_IsString(query) && strcmp(query->valuestring, " tok2 tok3 tok4 tok5") == 0;
        cJSON_Delete(parsed);
        cJSON_Delete(j);
        CHECK(holds);
    }
}

/* An agent that stops mid tool call: generation stops one token after, the emitted arguments
 * are billed. */
static void mockprov_should_stop_a_tool_call_cancelled_mid_arguments(void)
{
    for (size_t a = 0; a < 3; a++) {
        char cid[64];
        snprintf(cid, sizeof cid, "tool-cut-%s", apis[a]);
        cJSON *r = abort_after_k(apis[a], "vendor-b-post", cid, 0, 50,
                                 TIMING "x-tailgate-tool-call: 1\r\n");
        CHECK(r != NULL);
        int ok = cJSON_IsTrue(cJSON_GetObjectItem(r, "tool_call")) &&
                 harness_num(r, "tool_text_tokens") == 0 &&
                 harness_num(r, "reasoning_tokens") == 0 &&
                 strcmp(harness_str(r, "stop_reason"), "disconnect") == 0;
        double written = harness_num(r, "written_tokens"), gen = harness_num(r, "generated_tokens");
        double billed = harness_num(r, "billed_output_tokens"),
               tail = harness_num(r, "tail_tokens");
        cJSON_Delete(r);
        CHECK(ok);
        CHECK_TIMING(written == K && gen == K + 1 && billed == K && tail == 1);
    }
}

/* Gemini sends a call whole: one functionCall part after the text, its args holding every
 * argument token, finishReason STOP; the body has the same part. */
static void mockprov_should_send_a_gemini_function_call_whole(void)
{
    char *out = stream_to_end("gemini",
                              "x-tailgate-tool-call: 1\r\nx-tailgate-tool-text: 2\r\n"
                              "x-tailgate-length: 6\r\nX-Request-Id: tool-gemini\r\n"
                              "Connection: close\r\n",
                              NULL);
    CHECK(out != NULL);
    int whole = count_str(out, "\"functionCall\"") == 1 &&
                strstr(out, "{\"functionCall\":{\"name\":\"tailgate_lookup\",\"args\":{\"query\":"
                            "\" tok2 tok3 tok4 tok5\"}}}") != NULL &&
                strstr(out, "\"finishReason\":\"STOP\"") != NULL &&
                count_str(out, "\"text\":\" tok") == 2;
    free(out);
    CHECK(whole);
    cJSON *r = harness_ledger_done(mock.port, "tool-gemini", 5000);
    CHECK(r != NULL);
    int ok = cJSON_IsTrue(cJSON_GetObjectItem(r, "tool_call")) &&
             harness_num(r, "tool_text_tokens") == 2 && harness_num(r, "generated_tokens") == 6 &&
             harness_num(r, "written_tokens") == 6 && harness_num(r, "billed_output_tokens") == 6;
    cJSON_Delete(r);
    CHECK(ok);
    const char *h[] = {"x-tailgate-tool-call: 1",
                       "x-tailgate-tool-text: 2",
                       "x-tailgate-length: 6",
                       "x-tailgate-tps: 1000",
                       "x-tailgate-ttft-ms: 0",
                       "X-Request-Id: tool-gemini-body",
                       NULL};
    char *body = NULL;
    int st = harness_http(mock.port, "POST", "/v1beta/models/gemini-test:generateContent", h,
                          stream_body("gemini"), &body, NULL);
    CHECK_EQ_INT(st, 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    const cJSON *parts = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "candidates"), 0), "content"),
        "parts");
    const cJSON *text = cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "text");
    const cJSON *query = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 1), "functionCall"),
                            "args"),
        "query");
    const cJSON *count =
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usageMetadata"), "candidatesTokenCount");
    int holds = cJSON_GetArraySize(parts) == 2 && cJSON_IsString(text) &&
                strcmp(text->valuestring, " tok0 tok1") == 0 && cJSON_IsString(query) &&
                strcmp(query->valuestring, " tok2 tok3 tok4 tok5") == 0 && cJSON_IsNumber(count) &&
                count->valuedouble == 6;
    cJSON_Delete(j);
    CHECK(holds);
}

/* A close while Gemini holds the call's arguments back: the client got the K text tokens and
 * none of the arguments, so vendor-b-post bills K; a close during the text the same. */
static void mockprov_should_bill_a_gemini_call_cancelled_before_it_went_out(void)
{
    static const char *const hdrs[] = {TIMING "x-tailgate-tool-call: 1\r\n"
                                              "x-tailgate-tool-text: 3\r\n",
                                       TIMING "x-tailgate-tool-call: 1\r\n"
                                              "x-tailgate-tool-text: 40\r\n"};
    for (size_t c = 0; c < 2; c++) {
        char cid[64];
        snprintf(cid, sizeof cid, "tool-cut-gemini-%zu", c);
        cJSON *r = abort_after_k("gemini", "vendor-b-post", cid, 0, 50, hdrs[c]);
        CHECK(r != NULL);
        int ok = cJSON_IsTrue(cJSON_GetObjectItem(r, "tool_call")) &&
                 strcmp(harness_str(r, "stop_reason"), "disconnect") == 0;
        double written = harness_num(r, "written_tokens"), gen = harness_num(r, "generated_tokens");
        double billed = harness_num(r, "billed_output_tokens");
        cJSON_Delete(r);
        CHECK(ok);
        CHECK_TIMING(written == K && gen == K + 1 && billed == K);
    }
}

static void mockprov_should_take_reasoning_and_tool_calls_from_profile_overrides(void)
{
    char *body = NULL;
    int st = harness_http(mock.port, "POST", "/_tailgate/profile", NULL,
                          "{\"name\":\"vendor-b-post\",\"overrides\":{\"reasoning_tokens\":3,"
                          "\"reasoning_tps\":1000,\"tool_call\":1,\"tool_text_tokens\":1,"
                          "\"natural_length\":3,\"tps\":1000,\"ttft_ms\":0}}",
                          &body, NULL);
    int listed = body && strstr(body, "\"reasoning_bill\":\"before_cancel\"") &&
                 strstr(body, "\"reasoning_tokens\":3");
    free(body);
    const char *h[] = {"X-Request-Id: ovr-think", NULL};
    char *reply = NULL;
    int st2 = harness_http(mock.port, "POST", "/v1/chat/completions", h,
                           "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                           &reply, NULL);
    int shaped = reply && strstr(reply, "\"reasoning_tokens\":3") &&
                 strstr(reply, "\"finish_reason\":\"tool_calls\"") &&
                 strstr(reply, "\"content\":\" tok0\"");
    free(reply);
    harness_http(mock.port, "POST", "/_tailgate/profile", NULL, "{\"name\":\"vendor-b-post\"}",
                 NULL, NULL);
    /* a header outside its range is refused in the vendor's shape */
    const char *bad[] = {"x-tailgate-tool-call: 2", NULL};
    char *err = NULL;
    int st3 = harness_http(mock.port, "POST", "/v1/messages", bad,
                           "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
                           "\"content\":\"x\"}]}",
                           &err, NULL);
    int named = err && strstr(err, "x-tailgate-tool-call") && strstr(err, "invalid_request_error");
    free(err);
    cJSON *r = harness_ledger_done(mock.port, "ovr-think", 5000);
    int ok = r && harness_num(r, "reasoning_tokens") == 3 &&
             harness_num(r, "generated_tokens") == 3 && harness_num(r, "billed_output_tokens") == 6;
    cJSON_Delete(r);
    CHECK_EQ_INT(st, 200);
    CHECK(listed);
    CHECK_EQ_INT(st2, 200);
    CHECK(shaped);
    CHECK(ok);
    CHECK_EQ_INT(st3, 400);
    CHECK(named);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(mockprov_should_bill_each_api_semantic_and_close_kind_exactly),
        CASE(mockprov_should_keep_generating_for_a_runaway_vendor),
        CASE(mockprov_should_stop_at_once_for_the_stop_at_once_preset),
        CASE(mockprov_should_stop_after_the_profile_lag_in_ms),
        CASE(mockprov_should_report_usage_at_natural_end_per_api),
        CASE(mockprov_should_not_report_usage_without_include_usage),
        CASE(mockprov_should_honour_token_caps_per_api),
        CASE(mockprov_should_answer_non_stream_requests_with_usage),
        CASE(mockprov_should_record_a_non_stream_disconnect),
        CASE(mockprov_should_take_the_correlation_id_from_each_source_and_count_attempts),
        CASE(mockprov_should_answer_429_and_529_in_each_vendor_shape),
        CASE(mockprov_should_send_an_error_event_mid_stream_per_api),
        CASE(mockprov_should_truncate_a_stream_without_terminal_event),
        CASE(mockprov_should_stall_mid_stream_and_delay_the_first_token),
        CASE(mockprov_should_apply_queued_admin_faults_to_the_next_requests),
        CASE(mockprov_should_create_resume_and_cancel_a_background_response),
        CASE(mockprov_should_count_every_stream_of_a_resumed_background_response),
        CASE(mockprov_should_send_the_emitted_count_as_a_trailer_on_cancel),
        CASE(mockprov_should_answer_404_for_unknown_responses_and_400_for_bad_cursor),
        CASE(mockprov_should_generate_ahead_of_a_stalled_reader_without_blocking_others),
        CASE(mockprov_should_reject_bad_input_in_the_vendor_shape),
        CASE(mockprov_should_reject_a_body_that_is_not_exactly_one_json_value_per_api),
        CASE(mockprov_should_echo_a_multibyte_model_exactly_in_valid_utf8),
        CASE(mockprov_should_keep_replies_valid_utf8_when_echoing_raw_bytes),
        CASE(mockprov_should_reject_a_body_over_the_cap_with_413),
        CASE(mockprov_should_bound_the_ledger_and_count_drops),
        CASE(mockprov_should_filter_the_ledger_by_correlation_id_and_refuse_unknown_parameters),
        CASE(mockprov_should_keep_settings_records_and_streams_per_scope),
        CASE(mockprov_should_switch_profiles_by_admin_call_and_schedule),
        CASE(mockprov_should_apply_profile_overrides_without_request_headers),
        CASE(mockprov_should_write_an_invoice_and_reset),
        CASE(mockprov_should_guard_the_admin_api_with_a_token),
        CASE(mockprov_should_refuse_a_foreign_host_on_the_admin_api),
        CASE(mockprov_should_refuse_a_cross_site_post_and_leave_the_fault_unset),
        CASE(mockprov_should_refuse_web_pages_even_with_a_valid_token),
        CASE(mockprov_should_answer_an_admin_host_given_with_a_token),
        CASE(mockprov_should_exit_2_on_admin_hosts_without_a_token),
        CASE(mockprov_should_exit_2_on_usage_errors),
        CASE(mockprov_should_bill_gemini_streams_per_semantic_and_close_kind),
        CASE(mockprov_should_end_a_gemini_stream_with_the_usage_it_bills),
        CASE(mockprov_should_answer_gemini_generate_content_and_array_streams),
        CASE(mockprov_should_reject_bad_gemini_input_in_google_shape),
        CASE(mockprov_should_inject_faults_into_gemini_streams),
        CASE(mockprov_should_count_gemini_in_its_metrics),
        CASE(mockprov_should_report_reasoning_usage_equal_to_the_ledger_per_api),
        CASE(mockprov_should_leave_a_reasoning_tail_when_a_user_leaves_during_thinking),
        CASE(mockprov_should_bill_reasoning_before_a_cancel_per_profile),
        CASE(mockprov_should_bill_reasoning_and_emitted_text_when_cancelled_during_text),
        CASE(mockprov_should_stream_and_answer_a_tool_call_per_api),
        CASE(mockprov_should_stop_a_tool_call_cancelled_mid_arguments),
        CASE(mockprov_should_send_a_gemini_function_call_whole),
        CASE(mockprov_should_bill_a_gemini_call_cancelled_before_it_went_out),
        CASE(mockprov_should_take_reasoning_and_tool_calls_from_profile_overrides),
    };
    if (harness_start_mock(&mock, NULL) != 0) {
        printf("FAIL mockprov_should_start (could not start the mock)\n");
        return 1;
    }
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    int exit_status = harness_stop(&mock);
    /* a clean SIGTERM shutdown (and, under ASan/valgrind, no leak report) */
    printf("%s mockprov_should_shut_down_cleanly\n", exit_status == 0 ? "PASS" : "FAIL");
    return rc || exit_status != 0;
}
