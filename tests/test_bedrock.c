/* mockprov's AWS Bedrock APIs over real loopback sockets: ConverseStream and
 * InvokeModelWithResponseStream decoded from their event-stream framing (common/eventstream),
 * each billing semantic x {FIN, RST} with exact ledger values, the completed streams whose usage
 * is what the ledger bills, Converse and InvokeModel bodies, errors in Bedrock's shape, in-stream
 * exceptions, SigV4 noticed, /metrics per api. Requests go as HTTP/1.0 so the body is the raw
 * event stream (no chunked coding to undo). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"
#include "clock.h"
#include "eventstream.h"
#include "harness.h"

#define K 3
#define TIMING "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 10\r\nx-tailgate-jitter: 0\r\n"
#define FAST "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 1000\r\nx-tailgate-jitter: 0\r\n"
#define MODEL_PATH "/model/anthropic.claude-3-haiku-20240307-v1%3A0"
#define MODEL "anthropic.claude-3-haiku-20240307-v1:0"
#define SIGNED                                                                                     \
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/"           \
    "aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff\r\nx-amz-date: "                  \
    "20260101T000000Z\r\n"

static struct proc mock;

static const char *path_of(const char *api)
{
    return strcmp(api, "bedrock") == 0 ? MODEL_PATH "/converse-stream"
                                       : MODEL_PATH "/invoke-with-response-stream";
}

static const char *body_of(const char *api)
{
    if (strcmp(api, "bedrock") == 0)
        return "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"abcdefgh\"}]}]}";
    return "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":1000,"
           "\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}";
}

/* ---- one event stream, read from a socket ------------------------------------------------- */

struct stream {
    struct eventstream_decoder d;
    char head[8192];
    size_t hlen;
    int head_done;
    cJSON *events; /* [{type, kind, data}], data the payload's JSON (a chunk's: decoded) */
    int tokens;    /* events carrying a " tok<i>" text delta */
    int bad;       /* a message that did not decode */
};

static void stream_init(struct stream *s)
{
    memset(s, 0, sizeof *s);
    eventstream_decoder_init(&s->d, 0);
    s->events = cJSON_CreateArray();
}

static void stream_cleanup(struct stream *s)
{
    eventstream_decoder_cleanup(&s->d);
    cJSON_Delete(s->events);
}

/* A chunk's {"bytes": base64} as the JSON it carries, or NULL. */
static cJSON *unchunk(const cJSON *payload)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(payload, "bytes");
    if (!cJSON_IsString(b))
        return NULL;
    size_t n = strlen(b->valuestring);
    unsigned char *out = malloc(n / 4 * 3 + 4);
    if (out == NULL)
        return NULL;
    int m = EVP_DecodeBlock(out, (const unsigned char *)b->valuestring, (int)n);
    while (m > 0 && n > 0 && b->valuestring[n - 1] == '=') { /* padding decodes as zeros */
        m--;
        n--;
    }
    cJSON *j = m > 0 ? cJSON_ParseWithLength((const char *)out, (size_t)m) : NULL;
    free(out);
    return j;
}

static const char *delta_text(const cJSON *ev)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
    const cJSON *t =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(data, "delta"), "text");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static void take(struct stream *s, const struct eventstream_message *m)
{
    size_t tl, kl;
    const char *type = eventstream_header_str(m, ":event-type", &tl);
    if (type == NULL)
        type = eventstream_header_str(m, ":exception-type", &tl);
    const char *kind = eventstream_header_str(m, ":message-type", &kl);
    cJSON *data = cJSON_ParseWithLength(m->payload, m->payload_len);
    if (type == NULL || kind == NULL || data == NULL) {
        s->bad = 1;
        cJSON_Delete(data);
        return;
    }
    cJSON *ev = cJSON_CreateObject();
    char buf[128];
    snprintf(buf, sizeof buf, "%.*s", (int)tl, type);
    cJSON_AddStringToObject(ev, "type", buf);
    snprintf(buf, sizeof buf, "%.*s", (int)kl, kind);
    cJSON_AddStringToObject(ev, "kind", buf);
    if (strcmp(cJSON_GetObjectItem(ev, "type")->valuestring, "chunk") == 0) {
        cJSON *inner = unchunk(data);
        cJSON_Delete(data);
        if (inner == NULL) {
            s->bad = 1;
            cJSON_Delete(ev);
            return;
        }
        data = inner;
    }
    cJSON_AddItemToObject(ev, "data", data);
    cJSON_AddItemToArray(s->events, ev);
    const char *t = delta_text(ev);
    if (t && strncmp(t, " tok", 4) == 0)
        s->tokens++;
}

/* Reads until 'want' tokens arrived (0: to EOF), or timeout_ms. Returns the tokens seen. */
static int stream_read(struct stream *s, int fd, int want, int timeout_ms)
{
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char buf[16384];
    while (want == 0 || s->tokens < want) {
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            break;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
            break;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        const char *p = buf;
        size_t len = (size_t)n;
        if (!s->head_done) {
            size_t room = sizeof s->head - 1 - s->hlen, c = len < room ? len : room;
            memcpy(s->head + s->hlen, p, c);
            s->hlen += c;
            s->head[s->hlen] = '\0';
            char *end = strstr(s->head, "\r\n\r\n");
            if (end == NULL)
                continue;
            s->head_done = 1;
            size_t body_at = (size_t)(end + 4 - s->head);
            size_t consumed_before = s->hlen - c; /* of this read: what the head already had */
            p = buf + (body_at - consumed_before);
            len = (size_t)n - (body_at - consumed_before);
            s->head[body_at] = '\0';
        }
        struct eventstream_message m;
        if (eventstream_feed(&s->d, p, len) != 0)
            return -1;
        int rc;
        while ((rc = eventstream_next(&s->d, &m)) == 1)
            take(s, &m);
        if (rc < 0)
            s->bad = 1;
    }
    return s->tokens;
}

static int post10(int fd, const char *path, const char *headers, const char *body)
{
    char head[4096];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s\r\n%s",
                     path, strlen(body), headers ? headers : "", body);
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    return harness_send_all(fd, head, (size_t)n);
}

/* A whole stream: the events and the head. */
static int stream_whole(struct stream *s, const char *path, const char *headers, const char *body)
{
    int fd = harness_connect(mock.port, 0);
    if (fd < 0 || post10(fd, path, headers, body) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    stream_read(s, fd, 0, 10000);
    close(fd);
    return s->bad ? -1 : 0;
}

static const char *ev_type(const struct stream *s, int i)
{
    const cJSON *t = cJSON_GetObjectItem(cJSON_GetArrayItem(s->events, i), "type");
    return cJSON_IsString(t) ? t->valuestring : "";
}

static const cJSON *ev_data(const struct stream *s, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(s->events, i), "data");
}

/* The types of every event, joined by ','; chunks by their inner type. */
static void types_of(const struct stream *s, char *out, size_t cap)
{
    out[0] = '\0';
    for (int i = 0; i < cJSON_GetArraySize(s->events); i++) {
        const char *t = ev_type(s, i);
        if (strcmp(t, "chunk") == 0)
            t = cJSON_GetObjectItem(ev_data(s, i), "type")->valuestring;
        size_t have = strlen(out);
        snprintf(out + have, cap - have, "%s%s", have ? "," : "", t);
    }
}

/* ---- completed streams ----------------------------------------------------------------------- */

static void bedrock_should_stream_converse_events_with_the_usage_it_bills(void)
{
    struct stream s;
    stream_init(&s);
    CHECK(stream_whole(&s, MODEL_PATH "/converse-stream",
                       FAST SIGNED "x-tailgate-length: 5\r\nX-Request-Id: br-conv-done\r\n",
                       body_of("bedrock")) == 0);
    char types[1024];
    types_of(&s, types, sizeof types);
    CHECK_EQ_STR(types, "messageStart,contentBlockDelta,contentBlockDelta,contentBlockDelta,"
                        "contentBlockDelta,contentBlockDelta,contentBlockStop,messageStop,"
                        "metadata");
    CHECK(strstr(s.head, "HTTP/1.0 200") == s.head || strstr(s.head, "HTTP/1.1 200") == s.head);
    CHECK(strstr(s.head, "Content-Type: application/vnd.amazon.eventstream\r\n") != NULL);
    CHECK_EQ_STR(cJSON_GetObjectItem(ev_data(&s, 0), "role")->valuestring, "assistant");
    for (int i = 0; i < 5; i++) {
        char want[16];
        snprintf(want, sizeof want, " tok%d", i);
        CHECK_EQ_STR(delta_text(cJSON_GetArrayItem(s.events, 1 + i)), want);
        CHECK_EQ_INT(harness_num(ev_data(&s, 1 + i), "contentBlockIndex"), 0);
    }
    CHECK_EQ_STR(cJSON_GetObjectItem(ev_data(&s, 7), "stopReason")->valuestring, "end_turn");
    const cJSON *u = cJSON_GetObjectItem(ev_data(&s, 8), "usage");
    const cJSON *mx = cJSON_GetObjectItem(ev_data(&s, 8), "metrics");
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(mx, "latencyMs")));
    cJSON *r = harness_ledger_done(mock.port, "br-conv-done", 10000);
    CHECK(r != NULL);
    int ok = harness_num(u, "outputTokens") == 5 &&
             harness_num(u, "outputTokens") == harness_num(r, "billed_output_tokens") &&
             harness_num(u, "inputTokens") == harness_num(r, "billed_input_tokens") &&
             harness_num(u, "inputTokens") == 2 && harness_num(u, "totalTokens") == 7 &&
             harness_num(r, "usage_reported") == 5 &&
             strcmp(harness_str(r, "api"), "bedrock") == 0 &&
             strcmp(harness_str(r, "model"), MODEL) == 0 &&
             cJSON_IsTrue(cJSON_GetObjectItem(r, "sigv4")) &&
             strcmp(harness_str(r, "stop_reason"), "natural") == 0 &&
             harness_num(r, "written_tokens") == 5;
    if (!ok) {
        char *p = cJSON_PrintUnformatted(r);
        fprintf(stderr, "  record %s\n", p);
        free(p);
    }
    cJSON_Delete(r);
    stream_cleanup(&s);
    CHECK(ok);

    /* the cap: inferenceConfig.maxTokens */
    stream_init(&s);
    CHECK(stream_whole(&s, MODEL_PATH "/converse-stream",
                       FAST "x-tailgate-length: 50\r\nX-Request-Id: br-conv-cap\r\n",
                       "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"abcdefgh\"}]}],"
                       "\"inferenceConfig\":{\"maxTokens\":2}}") == 0);
    CHECK_EQ_INT(s.tokens, 2);
    int n = cJSON_GetArraySize(s.events);
    CHECK_EQ_STR(cJSON_GetObjectItem(ev_data(&s, n - 2), "stopReason")->valuestring, "max_tokens");
    CHECK_EQ_INT(harness_num(cJSON_GetObjectItem(ev_data(&s, n - 1), "usage"), "outputTokens"), 2);
    r = harness_ledger_done(mock.port, "br-conv-cap", 10000);
    CHECK(r != NULL);
    ok = harness_num(r, "billed_output_tokens") == 2 &&
         strcmp(harness_str(r, "stop_reason"), "max_tokens") == 0 &&
         cJSON_IsFalse(cJSON_GetObjectItem(r, "sigv4"));
    cJSON_Delete(r);
    stream_cleanup(&s);
    CHECK(ok);
}

static void bedrock_should_stream_invoke_chunks_with_invocation_metrics(void)
{
    struct stream s;
    stream_init(&s);
    CHECK(stream_whole(&s, MODEL_PATH "/invoke-with-response-stream",
                       FAST SIGNED "x-tailgate-length: 4\r\nX-Request-Id: br-inv-done\r\n",
                       body_of("bedrock-invoke")) == 0);
    char types[1024];
    types_of(&s, types, sizeof types);
    /* Anthropic's events, each in a chunk, without its ping */
    CHECK_EQ_STR(types, "message_start,content_block_start,content_block_delta,"
                        "content_block_delta,content_block_delta,content_block_delta,"
                        "content_block_stop,message_delta,message_stop");
    CHECK_EQ_INT(s.tokens, 4);
    int n = cJSON_GetArraySize(s.events);
    const cJSON *im = cJSON_GetObjectItem(ev_data(&s, n - 1), "amazon-bedrock-invocationMetrics");
    const cJSON *du = cJSON_GetObjectItem(ev_data(&s, n - 2), "usage");
    cJSON *r = harness_ledger_done(mock.port, "br-inv-done", 10000);
    CHECK(r != NULL);
    int ok = harness_num(im, "outputTokenCount") == 4 && harness_num(im, "inputTokenCount") == 2 &&
             harness_num(du, "output_tokens") == 4 &&
             harness_num(im, "outputTokenCount") == harness_num(r, "billed_output_tokens") &&
             harness_num(im, "inputTokenCount") == harness_num(r, "billed_input_tokens") &&
             cJSON_IsNumber(cJSON_GetObjectItem(im, "invocationLatency")) &&
             harness_num(im, "firstByteLatency") <= harness_num(im, "invocationLatency") &&
             strcmp(harness_str(r, "api"), "bedrock-invoke") == 0 &&
             strcmp(harness_str(r, "model"), MODEL) == 0 &&
             cJSON_IsTrue(cJSON_GetObjectItem(r, "sigv4")) && harness_num(r, "usage_reported") == 4;
    if (!ok) {
        char *p = cJSON_PrintUnformatted(r);
        fprintf(stderr, "  record %s\n", p);
        free(p);
    }
    cJSON_Delete(r);
    stream_cleanup(&s);
    CHECK(ok);
}

/* ---- a user leaving ------------------------------------------------------------------------- */

struct billing_row {
    const char *profile;
    int billed; /* after K written and one lag token */
    const char *bill;
};

static const struct billing_row billing[] = {
    {"vendor-a-pre", 0, "zero"},
    {"vendor-b-post", K, "emitted"},
    {"selfhosted-abort", K + 1, "generated"},
};

/* Reads K tokens, closes (FIN or RST), returns the finished record; *burst when more than K
 * came in the read that brought the K-th (a late timer: the premise did not hold). */
static cJSON *abort_once(const char *api, const char *profile, const char *cid, int rst, int *burst)
{
    char headers[512];
    snprintf(headers, sizeof headers,
             TIMING "x-tailgate-profile: %s\r\nx-tailgate-length: 50\r\nX-Request-Id: %s\r\n",
             profile, cid);
    int fd = harness_connect(mock.port, 0);
    if (fd < 0 || post10(fd, path_of(api), headers, body_of(api)) != 0)
        return NULL;
    struct stream s;
    stream_init(&s);
    int got = stream_read(&s, fd, K, 5000);
    stream_cleanup(&s);
    if (rst)
        harness_close_rst(fd);
    else
        harness_close_fin(fd);
    *burst = got > K;
    if (got < K || (got > K && !check_under_valgrind()))
        return NULL;
    return harness_ledger_done(mock.port, cid, 10000);
}

static cJSON *abort_after_k(const char *api, const char *profile, const char *cid, int rst)
{
    int burst = 0;
    cJSON *r = abort_once(api, profile, cid, rst, &burst);
    if (r != NULL || !burst)
        return r;
    char again[96];
    snprintf(again, sizeof again, "%s-again", cid);
    fprintf(stderr, "  %s: token %d came with token %d (a late timer); measuring again\n", cid,
            K + 1, K);
    return abort_once(api, profile, again, rst, &burst);
}

static void bedrock_should_bill_each_api_semantic_and_close_kind_exactly(void)
{
    static const char *const apis[] = {"bedrock", "bedrock-invoke"};
    int n = 0;
    for (size_t a = 0; a < 2; a++) {
        for (size_t b = 0; b < sizeof billing / sizeof billing[0]; b++) {
            for (int rst = 0; rst <= 1; rst++) {
                char cid[64];
                snprintf(cid, sizeof cid, "bill-%s-%s-%s", apis[a], billing[b].bill,
                         rst ? "rst" : "fin");
                cJSON *r = abort_after_k(apis[a], billing[b].profile, cid, rst);
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
                int ok = billed == by_semantic && harness_num(r, "tail_tokens") <= 1 &&
                         harness_num(r, "billed_input_tokens") == 2 &&
                         (!rst || strcmp(harness_str(r, "close_kind"), "rst") == 0) &&
                         strcmp(harness_str(r, "stop_reason"), "disconnect") == 0 &&
                         strcmp(harness_str(r, "api"), apis[a]) == 0 &&
                         strcmp(harness_str(r, "model"), MODEL) == 0 &&
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
    }
    CHECK_EQ_INT(n, 12);
}

/* ---- bodies and errors ---------------------------------------------------------------------- */

static void bedrock_should_answer_converse_and_invoke_bodies(void)
{
    const char *hdrs[] = {"x-tailgate-ttft-ms: 0", "x-tailgate-tps: 1000", "x-tailgate-length: 3",
                          "X-Request-Id: br-conv-body", NULL};
    char *body = NULL;
    int st = harness_http(mock.port, "POST", MODEL_PATH "/converse", hdrs, body_of("bedrock"),
                          &body, NULL);
    CHECK_EQ_INT(st, 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    const cJSON *msg = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "output"), "message");
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "content"), 0);
    const cJSON *u = cJSON_GetObjectItem(j, "usage");
    int ok = strcmp(harness_str(msg, "role"), "assistant") == 0 &&
             strcmp(harness_str(c0, "text"), " tok0 tok1 tok2") == 0 &&
             strcmp(harness_str(j, "stopReason"), "end_turn") == 0 &&
             harness_num(u, "outputTokens") == 3 && harness_num(u, "inputTokens") == 2 &&
             harness_num(u, "totalTokens") == 5 &&
             cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metrics"), "latencyMs"));
    cJSON_Delete(j);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "br-conv-body", 10000);
    CHECK(r != NULL);
    ok = harness_num(r, "billed_output_tokens") == 3 &&
         !cJSON_IsTrue(cJSON_GetObjectItem(r, "stream")) &&
         strcmp(harness_str(r, "api"), "bedrock") == 0;
    cJSON_Delete(r);
    CHECK(ok);

    const char *ih[] = {"x-tailgate-ttft-ms: 0", "x-tailgate-tps: 1000", "x-tailgate-length: 2",
                        "X-Request-Id: br-inv-body", NULL};
    st = harness_http(mock.port, "POST", MODEL_PATH "/invoke", ih, body_of("bedrock-invoke"), &body,
                      NULL);
    CHECK_EQ_INT(st, 200);
    j = cJSON_Parse(body);
    free(body);
    c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0);
    ok = strcmp(harness_str(j, "type"), "message") == 0 &&
         strcmp(harness_str(c0, "text"), " tok0 tok1") == 0 &&
         harness_num(cJSON_GetObjectItem(j, "usage"), "output_tokens") == 2;
    cJSON_Delete(j);
    CHECK(ok);
}

static void bedrock_should_answer_errors_in_bedrock_shape(void)
{
    static const struct {
        const char *path;
        const char *fault; /* x-tailgate-fault, or NULL */
        const char *body;
        int status;
        const char *type; /* x-amzn-errortype */
        const char *message_prefix;
    } rows[] = {
        {MODEL_PATH "/converse", "status=429", NULL, 429, "ThrottlingException",
         "Too many requests, please wait before trying again."},
        {MODEL_PATH "/converse-stream", "status=429", NULL, 429, "ThrottlingException",
         "Too many requests"},
        {MODEL_PATH "/invoke-with-response-stream", "status=500", NULL, 500,
         "InternalServerException", "Injected server error"},
        {MODEL_PATH "/converse-stream", NULL, "{\"messages\":[]}", 400, "ValidationException",
         "The model returned the following errors: messages"},
        {MODEL_PATH "/converse", NULL, "{\"messages\":[{\"role\":\"system\",\"content\":[]}]}", 400,
         "ValidationException", "1 validation error detected: Value at 'messages.1"},
        {MODEL_PATH "/converse", NULL,
         "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"x\"}]}],"
         "\"inferenceConfig\":{\"maxTokens\":0}}",
         400, "ValidationException", "1 validation error detected: Value at 'inferenceConfig"},
        {MODEL_PATH "/converse", NULL, "{not json", 400, "ValidationException",
         "Malformed input request"},
        {MODEL_PATH "/invoke", NULL, "{\"max_tokens\":5,\"messages\":[]}", 400,
         "ValidationException", "Malformed input request: #: required key [anthropic_version]"},
        {MODEL_PATH "/nosuch", NULL, "{}", 404, "UnknownOperationException", "Unknown operation"},
        {"/model/bad%20id/converse", NULL, "{}", 400, "ValidationException",
         "The provided model identifier is invalid."},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char fault[96];
        snprintf(fault, sizeof fault, "x-tailgate-fault: %s", rows[i].fault ? rows[i].fault : "");
        const char *hdrs[] = {rows[i].fault ? fault : "x-tailgate-ttft-ms: 0", NULL};
        char *body = NULL, *head = NULL;
        int st = harness_http(mock.port, "POST", rows[i].path, hdrs,
                              rows[i].body ? rows[i].body : body_of("bedrock"), &body, &head);
        if (strstr(rows[i].path, "invoke") && rows[i].body == NULL) {
            free(body);
            free(head);
            st = harness_http(mock.port, "POST", rows[i].path, hdrs, body_of("bedrock-invoke"),
                              &body, &head);
        }
        char want[128];
        snprintf(want, sizeof want, "x-amzn-errortype: %s\r\n", rows[i].type);
        cJSON *j = cJSON_Parse(body);
        const char *m = harness_str(j, "message");
        int ok = st == rows[i].status && head && strcasestr(head, want) != NULL &&
                 strcasestr(head, "x-amzn-RequestId: ") != NULL && m &&
                 strncmp(m, rows[i].message_prefix, strlen(rows[i].message_prefix)) == 0 &&
                 cJSON_GetArraySize(j) == 1;
        if (!ok)
            fprintf(stderr, "  row %zu: %d %s%s\n", i, st, head ? head : "", body ? body : "");
        cJSON_Delete(j);
        free(body);
        free(head);
        CHECK(ok);
    }
}

static void bedrock_should_send_an_exception_message_mid_stream(void)
{
    static const char *const apis[] = {"bedrock", "bedrock-invoke"};
    for (int a = 0; a < 2; a++) {
        struct stream s;
        stream_init(&s);
        char cid[64], hdrs[256];
        snprintf(cid, sizeof cid, "br-exc-%s", apis[a]);
        snprintf(hdrs, sizeof hdrs,
                 FAST "x-tailgate-length: 10\r\nx-tailgate-fault: error-after=2\r\n"
                      "X-Request-Id: %s\r\n",
                 cid);
        CHECK(stream_whole(&s, path_of(apis[a]), hdrs, body_of(apis[a])) == 0);
        int n = cJSON_GetArraySize(s.events);
        const cJSON *last = cJSON_GetArrayItem(s.events, n - 1);
        int ok = s.tokens == 2 && strcmp(harness_str(last, "kind"), "exception") == 0 &&
                 strcmp(harness_str(last, "type"), "internalServerException") == 0 &&
                 harness_str(cJSON_GetObjectItem(last, "data"), "message") != NULL;
        if (!ok) {
            char *p = cJSON_PrintUnformatted(s.events);
            fprintf(stderr, "  %s: %s\n", apis[a], p);
            free(p);
        }
        stream_cleanup(&s);
        CHECK(ok);
        cJSON *r = harness_ledger_done(mock.port, cid, 10000);
        CHECK(r != NULL);
        ok = strcmp(harness_str(r, "stop_reason"), "error_fault") == 0 &&
             harness_num(r, "generated_tokens") == 2;
        if (!ok) {
            char *p = cJSON_PrintUnformatted(r);
            fprintf(stderr, "  %s record: %s\n", apis[a], p);
            free(p);
        }
        cJSON_Delete(r);
        CHECK(ok);
    }
}

/* /metrics counts each Bedrock API's requests (a mock of its own: exact counts) */
static void bedrock_should_count_requests_per_api_in_metrics(void)
{
    struct proc own;
    CHECK(harness_start_mock(&own, NULL) == 0);
    int ok = 1;
    for (int a = 0; a < 3 && ok; a++) {
        const char *api = a < 2 ? "bedrock" : "bedrock-invoke";
        int fd = harness_connect(own.port, 0);
        ok =
            fd >= 0 && post10(fd, path_of(api), FAST "x-tailgate-length: 2\r\n", body_of(api)) == 0;
        char *acc = NULL;
        size_t len = 0;
        if (ok)
            harness_read_all(fd, 10000, &acc, &len);
        free(acc);
        if (fd >= 0)
            close(fd);
    }
    char *body = NULL;
    int st = harness_http(own.port, "GET", "/metrics", NULL, NULL, &body, NULL);
    ok = ok && st == 200 && body &&
         strstr(body, "tailgate_mock_requests_total{api=\"bedrock\"} 2\n") != NULL &&
         strstr(body, "tailgate_mock_requests_total{api=\"bedrock-invoke\"} 1\n") != NULL &&
         strstr(body, "tailgate_mock_time_to_first_token_seconds_count{api=\"bedrock\"} 2\n") !=
             NULL;
    if (!ok)
        fprintf(stderr, "  metrics: %s\n", body ? body : "(none)");
    free(body);
    harness_stop(&own);
    CHECK(ok);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(bedrock_should_stream_converse_events_with_the_usage_it_bills),
        CASE(bedrock_should_stream_invoke_chunks_with_invocation_metrics),
        CASE(bedrock_should_bill_each_api_semantic_and_close_kind_exactly),
        CASE(bedrock_should_answer_converse_and_invoke_bodies),
        CASE(bedrock_should_answer_errors_in_bedrock_shape),
        CASE(bedrock_should_send_an_exception_message_mid_stream),
        CASE(bedrock_should_count_requests_per_api_in_metrics),
    };
    if (harness_start_mock(&mock, NULL) != 0) {
        fprintf(stderr, "could not start the mock\n");
        return 1;
    }
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    harness_stop(&mock);
    return rc;
}
