/* mockprov's legacy OpenAI completions and Ollama endpoints over real loopback sockets: each x
 * every billing semantic x {FIN, RST} with exact ledger values, completed streams whose usage is
 * what the ledger bills, the non-streaming bodies, caps, faults, bad input in each vendor's
 * shape, /metrics per api. One mock process for the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

/* Close after K tokens. At 10 tokens/s the next token is 100 ms away when the client closes,
 * so "generated before the close" is exactly K. Jitter 0 keeps the timing exact. */
#define K 3
#define TIMING "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 10\r\nx-tailgate-jitter: 0\r\n"

static struct proc mock;

struct api_case {
    const char *name; /* for case ids */
    const char *api;  /* the ledger's api */
    const char *path;
    const char *body; /* a streaming request whose prompt is 8 bytes: 2 input tokens */
    const char *model;
};

static const struct api_case apis[] = {
    {"completions", "completions", "/v1/completions",
     "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"abcdefgh\",\"stream\":true,"
     "\"stream_options\":{\"include_usage\":true}}",
     "gpt-3.5-turbo-instruct"},
    {"ollama-chat", "ollama", "/api/chat",
     "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}",
     "llama3.2"},
    {"ollama-generate", "ollama", "/api/generate",
     "{\"model\":\"llama3.2\",\"prompt\":\"abcdefgh\"}", "llama3.2"},
    {"azure", "azure", "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
     "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":"
     "\"user\",\"content\":\"abcdefgh\"}]}",
     "gpt-4o"},
};
#define NAPIS (sizeof apis / sizeof apis[0])

/* Opens a stream, reads K tokens, closes (FIN or RST), returns the finished ledger record;
 * *burst when more than K came in the read that brought the K-th. */
static cJSON *abort_once(const struct api_case *a, const char *profile, const char *cid, int rst,
                         int *burst)
{
    char headers[512];
    snprintf(headers, sizeof headers,
             "%sx-tailgate-profile: %s\r\nx-tailgate-length: 50\r\nX-Request-Id: %s\r\n", TIMING,
             profile, cid);
    int fd = harness_connect(mock.port, 0);
    if (fd < 0 || harness_post(fd, a->path, headers, a->body) != 0)
        return NULL;
    char *acc = NULL;
    size_t len = 0;
    int got = harness_read_tokens(fd, K, 5000, &acc, &len);
    free(acc);
    if (rst)
        harness_close_rst(fd);
    else
        harness_close_fin(fd);
    *burst = got > K;
    if (got < K || (got > K && !check_under_valgrind()))
        return NULL;
    return harness_ledger_done(mock.port, cid, 10000);
}

/* abort_once, measured again under a new id when a late timer sent token K+1 with token K. */
static cJSON *abort_after_k(const struct api_case *a, const char *profile, const char *cid, int rst)
{
    int burst = 0;
    cJSON *r = abort_once(a, profile, cid, rst, &burst);
    if (r != NULL || !burst)
        return r;
    char again[96];
    snprintf(again, sizeof again, "%s-again", cid);
    fprintf(stderr, "  %s: token %d came with token %d (a late timer); measuring again\n", cid,
            K + 1, K);
    return abort_once(a, profile, again, rst, &burst);
}

static const struct {
    const char *profile;
    int billed; /* billed output after K written + 1 lag token */
    const char *bill;
} billing[] = {
    {"vendor-a-pre", 0, "zero"},
    {"vendor-b-post", K, "emitted"},
    {"selfhosted-abort", K + 1, "generated"},
};

/* each API x every billing semantic x {FIN, RST}: exact ledger values */
static void vendors_should_bill_each_api_semantic_and_close_kind_exactly(void)
{
    int n = 0;
    for (size_t a = 0; a < NAPIS; a++) {
        for (size_t b = 0; b < sizeof billing / sizeof billing[0]; b++) {
            for (int rst = 0; rst <= 1; rst++) {
                char cid[64];
                snprintf(cid, sizeof cid, "bill-%s-%s-%s", apis[a].name, billing[b].bill,
                         rst ? "rst" : "fin");
                cJSON *r = abort_after_k(&apis[a], billing[b].profile, cid, rst);
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
                         strcmp(harness_str(r, "api"), apis[a].api) == 0 &&
                         strcmp(harness_str(r, "model"), apis[a].model) == 0 &&
                         strcmp(harness_str(r, "id_source"), "header") == 0 &&
                         cJSON_IsNull(cJSON_GetObjectItem(r, "usage_reported")) &&
                         harness_num(r, "t_gen_stop_ns") >= harness_num(r, "t_peer_closed_ns");
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
    CHECK_EQ_INT(n, 24);
}

/* Streams a request to its end at 1,000 tokens/s; returns everything read (head included). */
static char *stream_to_end(const char *path, const char *extra_headers, const char *body)
{
    int fd = harness_connect(mock.port, 0);
    if (fd < 0)
        return NULL;
    char headers[512];
    snprintf(headers, sizeof headers,
             "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 1000\r\nConnection: close\r\n%s",
             extra_headers ? extra_headers : "");
    char *acc = NULL;
    size_t len = 0;
    if (harness_post(fd, path, headers, body) == 0)
        harness_read_all(fd, 5000, &acc, &len);
    close(fd);
    return acc;
}

static int count_of(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + strlen(what), what))
        n++;
    return n;
}

/* The JSON of the last "data: " event before [DONE] whose text holds 'needle', or NULL. */
static cJSON *sse_event_with(const char *sse, const char *needle)
{
    for (const char *p = strstr(sse, "data: "); p; p = strstr(p + 1, "data: ")) {
        const char *end = strstr(p, "\n\n");
        if (end == NULL)
            return NULL;
        const char *hit = strstr(p, needle);
        if (hit && hit < end)
            return cJSON_ParseWithLength(p + 6, (size_t)(end - p - 6));
    }
    return NULL;
}

static void check_done_record(const char *cid, double tokens, double billed, double usage,
                              const char *via, const char *stop)
{
    cJSON *r = harness_ledger_done(mock.port, cid, 5000);
    CHECK(r != NULL);
    int ok = harness_num(r, "generated_tokens") == tokens &&
             harness_num(r, "written_tokens") == tokens &&
             harness_num(r, "billed_output_tokens") == billed &&
             harness_num(r, "usage_reported") == usage &&
             strcmp(harness_str(r, "usage_via"), via) == 0 &&
             strcmp(harness_str(r, "stop_reason"), stop) == 0 &&
             cJSON_IsNull(cJSON_GetObjectItem(r, "close_kind"));
    if (!ok) {
        char *s = cJSON_PrintUnformatted(r);
        fprintf(stderr, "  %s: %s\n", cid, s);
        free(s);
    }
    cJSON_Delete(r);
    CHECK(ok);
}

/* a completed completions stream: 5 text chunks, the finish chunk, the usage chunk (what the
 * ledger bills), [DONE]; without include_usage no usage chunk and none reported */
static void completions_should_end_a_stream_with_the_usage_it_bills(void)
{
    char *out = stream_to_end("/v1/completions",
                              "x-tailgate-length: 5\r\nX-Request-Id: cmpl-done\r\n", apis[0].body);
    CHECK(out != NULL);
    cJSON *fin = sse_event_with(out, "\"finish_reason\":\"stop\"");
    cJSON *usage = sse_event_with(out, "\"usage\":{");
    int framing = strstr(out, "Content-Type: text/event-stream; charset=utf-8\r\n") != NULL &&
                  strstr(out, "data: [DONE]\n\n\r\n0\r\n\r\n") != NULL &&
                  count_of(out, "data: ") == 8 &&
                  count_of(out, "\"object\":\"text_completion\"") == 7 &&
                  count_of(out, "\"text\":\" tok") == 5 && strstr(out, " tok4") &&
                  !strstr(out, " tok5") && !strstr(out, "\"role\"") && !strstr(out, "delta");
    if (!framing)
        fprintf(stderr, "  got: %s\n", out);
    free(out);
    CHECK(framing);
    CHECK(fin != NULL);
    CHECK(usage != NULL);
    const cJSON *u = cJSON_GetObjectItem(usage, "usage");
    int ok = strcmp(harness_str(fin, "id"), harness_str(usage, "id")) == 0 &&
             strncmp(harness_str(fin, "id"), "cmpl-", 5) == 0 &&
             strcmp(harness_str(fin, "model"), "gpt-3.5-turbo-instruct") == 0 &&
             strcmp(harness_str(cJSON_GetArrayItem(cJSON_GetObjectItem(fin, "choices"), 0), "text"),
                    "") == 0 &&
             cJSON_GetArraySize(cJSON_GetObjectItem(usage, "choices")) == 0 &&
             harness_num(u, "prompt_tokens") == 2 && harness_num(u, "completion_tokens") == 5 &&
             harness_num(u, "total_tokens") == 7;
    cJSON_Delete(fin);
    cJSON_Delete(usage);
    CHECK(ok);
    check_done_record("cmpl-done", 5, 5, 5, "usage", "natural");

    out = stream_to_end("/v1/completions", "x-tailgate-length: 3\r\nX-Request-Id: cmpl-nousage\r\n",
                        "{\"model\":\"m\",\"prompt\":[\"x\"],\"stream\":true}");
    CHECK(out != NULL);
    ok = strstr(out, "\"usage\"") == NULL && strstr(out, "data: [DONE]\n\n") != NULL &&
         count_of(out, "\"text\":\" tok") == 3;
    free(out);
    CHECK(ok);
    check_done_record("cmpl-nousage", 3, 3, -1, "none", "natural");

    /* max_tokens caps it: finish_reason length */
    out = stream_to_end("/v1/completions", "x-tailgate-length: 10\r\nX-Request-Id: cmpl-cap\r\n",
                        "{\"model\":\"m\",\"prompt\":\"x\",\"stream\":true,\"max_tokens\":2,"
                        "\"stream_options\":{\"include_usage\":true}}");
    CHECK(out != NULL);
    ok = strstr(out, "\"finish_reason\":\"length\"") && strstr(out, " tok1") &&
         !strstr(out, " tok2") && strstr(out, "\"completion_tokens\":2,");
    free(out);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "cmpl-cap", 5000);
    CHECK(r != NULL);
    ok = harness_num(r, "generated_tokens") == 2 && harness_num(r, "max_tokens") == 2 &&
         harness_num(r, "billed_output_tokens") == 2 &&
         strcmp(harness_str(r, "stop_reason"), "max_tokens") == 0;
    cJSON_Delete(r);
    CHECK(ok);
}

/* stream false: one text_completion body with the whole text and its usage */
static void completions_should_answer_a_non_stream_request_with_usage(void)
{
    const char *hdrs[] = {"x-tailgate-length: 4", "x-tailgate-tps: 1000", "x-tailgate-ttft-ms: 0",
                          NULL};
    char *body = NULL;
    int st = harness_http(mock.port, "POST", "/v1/completions", hdrs,
                          "{\"model\":\"m\",\"prompt\":\"say [tg:cmpl-body]\",\"user\":\"u1\"}",
                          &body, NULL);
    CHECK_EQ_INT(st, 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    CHECK(j != NULL);
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    const cJSON *u = cJSON_GetObjectItem(j, "usage");
    int ok = strcmp(harness_str(j, "object"), "text_completion") == 0 &&
             strcmp(harness_str(c, "text"), " tok0 tok1 tok2 tok3") == 0 &&
             strcmp(harness_str(c, "finish_reason"), "stop") == 0 &&
             cJSON_IsNull(cJSON_GetObjectItem(c, "logprobs")) &&
             harness_num(u, "prompt_tokens") == 5 && harness_num(u, "completion_tokens") == 4 &&
             harness_num(u, "total_tokens") == 9;
    cJSON_Delete(j);
    CHECK(ok);
    /* the user field wins over the marker, as for chat */
    cJSON *r = harness_ledger_done(mock.port, "u1", 5000);
    CHECK(r != NULL);
    ok = harness_num(r, "usage_reported") == 4 && harness_num(r, "billed_output_tokens") == 4 &&
         strcmp(harness_str(r, "id_source"), "user") == 0 &&
         !cJSON_IsTrue(cJSON_GetObjectItem(r, "stream"));
    cJSON_Delete(r);
    CHECK(ok);
}

static const cJSON *error_of(const cJSON *j)
{
    return cJSON_GetObjectItem(j, "error");
}

/* bad completions bodies are 400s in OpenAI's shape, naming the field */
static void completions_should_reject_bad_input_in_openai_shape(void)
{
    static const struct {
        const char *body, *param, *code;
    } rows[] = {
        {"{\"model\":\"m\"}", "prompt", "missing_required_parameter"},
        {"{\"model\":\"m\",\"prompt\":7}", "prompt", "invalid_value"},
        {"{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}", "prompt", "invalid_value"},
        {"{\"model\":\"m\",\"prompt\":[1,\"b\"]}", "prompt", "invalid_value"},
        {"{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":0}", "max_tokens", "invalid_value"},
        {"{\"prompt\":\"x\"}", "model", "missing_required_parameter"},
        {"{\"model\":\"m\",\"prompt\":\"x\",\"stream_options\":3}", "stream_options",
         "invalid_value"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *body = NULL;
        int st =
            harness_http(mock.port, "POST", "/v1/completions", NULL, rows[i].body, &body, NULL);
        cJSON *j = cJSON_Parse(body);
        const cJSON *e = error_of(j);
        int ok = st == 400 && strcmp(harness_str(e, "type"), "invalid_request_error") == 0 &&
                 strcmp(harness_str(e, "param"), rows[i].param) == 0 &&
                 strcmp(harness_str(e, "code"), rows[i].code) == 0 && harness_str(e, "message");
        if (!ok)
            fprintf(stderr, "  row %zu: %d %s\n", i, st, body ? body : "");
        cJSON_Delete(j);
        free(body);
        CHECK(ok);
    }
    char *body = NULL;
    int st = harness_http(mock.port, "GET", "/v1/completions", NULL, NULL, &body, NULL);
    CHECK_EQ_INT(st, 405);
    cJSON *j = cJSON_Parse(body);
    CHECK(harness_str(error_of(j), "message") != NULL);
    cJSON_Delete(j);
    free(body);
}

/* The done line of an NDJSON body: the last line, parsed. */
static cJSON *last_line(const char *s)
{
    const char *last = NULL;
    for (const char *p = strstr(s, "{\"model\""); p; p = strstr(p + 1, "{\"model\""))
        last = p;
    if (last == NULL)
        return NULL;
    const char *end = strchr(last, '\n');
    return end ? cJSON_ParseWithLength(last, (size_t)(end - last)) : NULL;
}

/* the durations add up: load + prompt_eval + eval == total, each >= 0 */
static int durations_add_up(const cJSON *d)
{
    double total = harness_num(d, "total_duration"), load = harness_num(d, "load_duration"),
           pe = harness_num(d, "prompt_eval_duration"), ev = harness_num(d, "eval_duration");
    return total > 0 && load == 0 && pe >= 0 && ev >= 0 && load + pe + ev == total;
}

/* a completed Ollama stream: one line a token (message.content or response), the done line
 * with done_reason stop and eval_count the ledger's bill; num_predict caps it (length) */
static void ollama_should_end_a_stream_with_the_eval_count_it_bills(void)
{
    for (int gen = 0; gen <= 1; gen++) {
        const struct api_case *a = &apis[1 + gen];
        char cid[64], hdr[128];
        snprintf(cid, sizeof cid, "ollama-done-%d", gen);
        snprintf(hdr, sizeof hdr, "x-tailgate-length: 5\r\nX-Request-Id: %s\r\n", cid);
        char *out = stream_to_end(a->path, hdr, a->body);
        CHECK(out != NULL);
        const char *tok = gen ? "\"response\":\" tok"
                              : "\"message\":{\"role\":\"assistant\","
                                "\"content\":\" tok";
        int framing = strstr(out, "Content-Type: application/x-ndjson\r\n") != NULL &&
                      count_of(out, "\"done\":false}\n") == 5 && count_of(out, tok) == 5 &&
                      count_of(out, "\"done\":true") == 1 && strstr(out, " tok4") &&
                      !strstr(out, " tok5") && !strstr(out, "data:") && !strstr(out, "[DONE]") &&
                      count_of(out, "\"created_at\":\"") == 6 &&
                      (gen ? !strstr(out, "\"message\"") : !strstr(out, "\"response\""));
        if (!framing)
            fprintf(stderr, "  got: %s\n", out);
        cJSON *d = last_line(out);
        free(out);
        CHECK(framing);
        CHECK(d != NULL);
        int ok = cJSON_IsTrue(cJSON_GetObjectItem(d, "done")) &&
                 strcmp(harness_str(d, "done_reason"), "stop") == 0 &&
                 strcmp(harness_str(d, "model"), "llama3.2") == 0 &&
                 harness_num(d, "eval_count") == 5 && harness_num(d, "prompt_eval_count") == 2 &&
                 durations_add_up(d);
        if (!ok) {
            char *s = cJSON_PrintUnformatted(d);
            fprintf(stderr, "  done line: %s\n", s);
            free(s);
        }
        cJSON_Delete(d);
        CHECK(ok);
        check_done_record(cid, 5, 5, 5, "usage", "natural");
    }
    char *out =
        stream_to_end("/api/chat", "x-tailgate-length: 10\r\nX-Request-Id: ollama-cap\r\n",
                      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                      "\"options\":{\"num_predict\":2}}");
    CHECK(out != NULL);
    cJSON *d = last_line(out);
    int ok = d && strcmp(harness_str(d, "done_reason"), "length") == 0 &&
             harness_num(d, "eval_count") == 2 && strstr(out, " tok1") && !strstr(out, " tok2");
    free(out);
    cJSON_Delete(d);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "ollama-cap", 5000);
    CHECK(r != NULL);
    ok = harness_num(r, "generated_tokens") == 2 && harness_num(r, "max_tokens") == 2 &&
         harness_num(r, "billed_output_tokens") == 2 &&
         strcmp(harness_str(r, "stop_reason"), "max_tokens") == 0;
    cJSON_Delete(r);
    CHECK(ok);
}

/* "stream": false: one JSON object, the done line with the whole text; the marker in the last
 * user message is the correlation id */
static void ollama_should_answer_stream_false_with_one_object(void)
{
    const char *hdrs[] = {"x-tailgate-length: 4", "x-tailgate-tps: 1000", "x-tailgate-ttft-ms: 0",
                          NULL};
    static const char *const bodies[] = {
        "{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":\"system\",\"content\":\"be "
        "brief\"},{\"role\":\"user\",\"content\":\"hi [tg:ollama-body-0]\"}]}",
        "{\"model\":\"m\",\"stream\":false,\"system\":\"be brief\",\"prompt\":\"hi "
        "[tg:ollama-body-1]\"}",
    };
    for (int gen = 0; gen <= 1; gen++) {
        char *body = NULL, *head = NULL;
        int st = harness_http(mock.port, "POST", gen ? "/api/generate" : "/api/chat", hdrs,
                              bodies[gen], &body, &head);
        CHECK_EQ_INT(st, 200);
        cJSON *j = cJSON_Parse(body);
        const char *text = gen ? harness_str(j, "response")
                               : harness_str(cJSON_GetObjectItem(j, "message"), "content");
        int ok = j && text && strcmp(text, " tok0 tok1 tok2 tok3") == 0 &&
                 cJSON_IsTrue(cJSON_GetObjectItem(j, "done")) &&
                 strcmp(harness_str(j, "done_reason"), "stop") == 0 &&
                 harness_num(j, "eval_count") == 4 && harness_num(j, "prompt_eval_count") == 8 &&
                 durations_add_up(j) && strcasestr(head, "content-type: application/json");
        if (!ok)
            fprintf(stderr, "  got: %s\n", body ? body : "");
        cJSON_Delete(j);
        free(body);
        free(head);
        CHECK(ok);
        char cid[32];
        snprintf(cid, sizeof cid, "ollama-body-%d", gen);
        cJSON *r = harness_ledger_done(mock.port, cid, 5000);
        CHECK(r != NULL);
        ok = harness_num(r, "usage_reported") == 4 && harness_num(r, "billed_output_tokens") == 4 &&
             harness_num(r, "billed_input_tokens") == 8 &&
             strcmp(harness_str(r, "id_source"), "marker") == 0 &&
             !cJSON_IsTrue(cJSON_GetObjectItem(r, "stream"));
        cJSON_Delete(r);
        CHECK(ok);
    }
}

/* Ollama's errors: {"error": "..."} with the status, nothing else */
static void ollama_should_reject_bad_input_in_its_shape(void)
{
    static const struct {
        const char *path, *method, *body;
        int status;
        const char *message; /* a prefix */
    } rows[] = {
        {"/api/chat", "POST", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400,
         "model is required"},
        {"/api/chat", "POST", "{\"model\":\"\",\"messages\":[]}", 400, "model is required"},
        {"/api/chat", "POST", "{\"model\":\"m\"}", 400, "messages is required"},
        {"/api/chat", "POST", "{\"model\":\"m\",\"messages\":[{\"content\":7}]}", 400,
         "json: cannot unmarshal"},
        {"/api/chat", "POST", "{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{}]}", 400,
         "json: cannot unmarshal"},
        {"/api/generate", "POST", "{\"model\":\"m\"}", 400, "prompt is required"},
        {"/api/generate", "POST",
         "{\"model\":\"m\",\"prompt\":\"x\",\"options\":{\"num_predict\":"
         "1.5}}",
         400, "option \"num_predict\""},
        {"/api/generate", "POST", "[1]", 400, "json: cannot unmarshal"},
        {"/api/generate", "POST", "{\"model\":", 400, "invalid JSON"},
        {"/api/chat", "GET", NULL, 405, "method not allowed"},
        {"/api/tags", "GET", NULL, 404, "Unknown request URL"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *body = NULL;
        int st =
            harness_http(mock.port, rows[i].method, rows[i].path, NULL, rows[i].body, &body, NULL);
        cJSON *j = cJSON_Parse(body);
        const char *msg = harness_str(j, "error");
        int ok = st == rows[i].status && cJSON_GetArraySize(j) == 1 && msg &&
                 strncmp(msg, rows[i].message, strlen(rows[i].message)) == 0;
        if (!ok)
            fprintf(stderr, "  row %zu: %d %s\n", i, st, body ? body : "");
        cJSON_Delete(j);
        free(body);
        CHECK(ok);
    }
}

/* faults: a 429 in each shape; an error mid-stream as the vendor writes it, no terminal line */
static void vendors_should_inject_faults_in_each_shape(void)
{
    const char *hdrs[] = {"x-tailgate-fault: status=429,retry-after=2", NULL};
    char *body = NULL, *head = NULL;
    int st = harness_http(mock.port, "POST", "/api/chat", hdrs, apis[1].body, &body, &head);
    CHECK_EQ_INT(st, 429);
    cJSON *j = cJSON_Parse(body);
    int ok =
        cJSON_GetArraySize(j) == 1 && harness_str(j, "error") && strstr(head, "retry-after: 2");
    cJSON_Delete(j);
    free(body);
    free(head);
    CHECK(ok);
    st = harness_http(mock.port, "POST", "/v1/completions", hdrs, apis[0].body, &body, NULL);
    CHECK_EQ_INT(st, 429);
    j = cJSON_Parse(body);
    ok = strcmp(harness_str(error_of(j), "code"), "rate_limit_exceeded") == 0 &&
         strcmp(harness_str(error_of(j), "type"), "requests") == 0;
    cJSON_Delete(j);
    free(body);
    CHECK(ok);

    static const char *const marks[] = {"data: {\"error\":{\"message\":", "{\"error\":\"",
                                        "{\"error\":\"", "data: {\"error\":{\"message\":"};
    for (size_t a = 0; a < NAPIS; a++) {
        char cid[64], hdr[160];
        snprintf(cid, sizeof cid, "err-%s", apis[a].name);
        snprintf(hdr, sizeof hdr,
                 "x-tailgate-length: 10\r\nx-tailgate-fault: error-after=2\r\nX-Request-Id: %s\r\n",
                 cid);
        char *out = stream_to_end(apis[a].path, hdr, apis[a].body);
        CHECK(out != NULL);
        ok = strstr(out, marks[a]) != NULL && strstr(out, " tok1") && !strstr(out, " tok2") &&
             !strstr(out, "[DONE]") && !strstr(out, "\"done\":true");
        if (!ok)
            fprintf(stderr, "  %s got: %s\n", apis[a].name, out);
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

/* a reasoning model: Ollama shows its thinking (message.thinking / thinking) and counts it in
 * eval_count; the completions endpoint hides it and counts it in completion_tokens */
static void vendors_should_count_reasoning_in_the_usage(void)
{
    const char *hdr = "x-tailgate-length: 3\r\nx-tailgate-reasoning-tokens: 2\r\n"
                      "X-Request-Id: think-ollama\r\n";
    char *out = stream_to_end("/api/chat", hdr, apis[1].body);
    CHECK(out != NULL);
    cJSON *d = last_line(out);
    int ok = count_of(out, "\"content\":\"\",\"thinking\":\" think") == 2 &&
             count_of(out, "\"content\":\" tok") == 3 && d && harness_num(d, "eval_count") == 5;
    if (!ok)
        fprintf(stderr, "  got: %s\n", out);
    free(out);
    cJSON_Delete(d);
    CHECK(ok);
    check_done_record("think-ollama", 3, 5, 5, "usage", "natural");

    out = stream_to_end("/v1/completions",
                        "x-tailgate-length: 3\r\nx-tailgate-reasoning-tokens: 2\r\n"
                        "x-tailgate-tool-call: 1\r\nX-Request-Id: think-cmpl\r\n",
                        apis[0].body);
    CHECK(out != NULL);
    ok = !strstr(out, "think") && count_of(out, "\"text\":\" tok") == 3 &&
         strstr(out, "\"completion_tokens\":5,") && !strstr(out, "tool");
    if (!ok)
        fprintf(stderr, "  got: %s\n", out);
    free(out);
    CHECK(ok);
    cJSON *r = harness_ledger_done(mock.port, "think-cmpl", 5000);
    CHECK(r != NULL);
    ok = harness_num(r, "usage_reported") == 5 && harness_num(r, "generated_tokens") == 3 &&
         !cJSON_IsTrue(cJSON_GetObjectItem(r, "tool_call"));
    cJSON_Delete(r);
    CHECK(ok);
}

/* Azure OpenAI: the prompt's filter results first, each content chunk's choice annotated, the
 * usage chunk the ledger's bill; the body without a model takes the deployment's name; the
 * /openai/v1/ route needs no api-version but a model; errors in Azure's shape */
static void azure_should_stream_annotated_chunks_and_answer_its_errors(void)
{
    char *out = stream_to_end(apis[3].path,
                              "x-tailgate-length: 5\r\nX-Request-Id: az-done\r\n"
                              "api-key: k\r\n",
                              apis[3].body);
    CHECK(out != NULL);
    cJSON *first = sse_event_with(out, "prompt_filter_results");
    cJSON *usage = sse_event_with(out, "\"usage\":{");
    int ok = first && cJSON_GetArraySize(cJSON_GetObjectItem(first, "choices")) == 0 &&
             strcmp(harness_str(first, "id"), "") == 0 &&
             count_of(out, "\"content_filter_results\":{\"hate\":{\"filtered\":false,"
                           "\"severity\":\"safe\"}") == 1 + 1 + 5 &&
             count_of(out, "\"content_filter_results\":{}") == 1 &&
             strstr(out, "apim-request-id: req_tg") && strstr(out, "data: [DONE]\n\n") && usage &&
             harness_num(cJSON_GetObjectItem(usage, "usage"), "completion_tokens") == 5 &&
             strcmp(harness_str(usage, "model"), "gpt-4o") == 0;
    if (!ok)
        fprintf(stderr, "  got: %s\n", out);
    free(out);
    cJSON_Delete(first);
    cJSON_Delete(usage);
    CHECK(ok);
    check_done_record("az-done", 5, 5, 5, "usage", "natural");

    static const struct {
        const char *path, *body;
        int status;
        const char *code, *message; /* Azure's shape when code, else OpenAI's with param */
    } rows[] = {
        {"/openai/deployments/gpt-4o/chat/completions", "{}", 404, "404", "Resource not found"},
        {"/openai/deployments/gpt-4o/chat/completions?api-version=2024", "{}", 400, "BadRequest",
         "API version not supported"},
        {"/openai/deployments/gpt-4o/embeddings?api-version=2024-10-21", "{}", 404, "404",
         "Resource not found"},
        {"/openai/deployments/a%20b/chat/completions?api-version=2024-10-21", "{}", 404, "404",
         "Resource not found"},
        {"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "{}", 400, NULL,
         "messages"},
        {"/openai/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         400, NULL, "model"},
        {"/openai/v1/chat/completions",
         "{\"model\":\"\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, NULL,
         "model"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *body = NULL;
        int st = harness_http(mock.port, "POST", rows[i].path, NULL, rows[i].body, &body, NULL);
        cJSON *j = cJSON_Parse(body);
        const cJSON *e = error_of(j);
        int good =
            st == rows[i].status &&
            (rows[i].code ? cJSON_GetArraySize((cJSON *)e) == 2 &&
                                strcmp(harness_str(e, "code"), rows[i].code) == 0 &&
                                strcmp(harness_str(e, "message"), rows[i].message) == 0
                          : strcmp(harness_str(e, "param"), rows[i].message) == 0 &&
                                strcmp(harness_str(e, "type"), "invalid_request_error") == 0);
        if (!good)
            fprintf(stderr, "  row %zu: %d %s\n", i, st, body ? body : "");
        cJSON_Delete(j);
        free(body);
        CHECK(good);
    }
    /* /openai/v1/ with a model, and a whole body */
    const char *hdrs[] = {"x-tailgate-length: 3", "x-tailgate-tps: 1000", "x-tailgate-ttft-ms: 0",
                          "X-Request-Id: az-v1", NULL};
    char *body = NULL;
    int st =
        harness_http(mock.port, "POST", "/openai/v1/chat/completions?api-version=preview", hdrs,
                     "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                     "\"content\":\"x\"}]}",
                     &body, NULL);
    CHECK_EQ_INT(st, 200);
    cJSON *j = cJSON_Parse(body);
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    ok = c && cJSON_GetObjectItem(c, "content_filter_results") &&
         cJSON_GetObjectItem(j, "prompt_filter_results") &&
         strcmp(harness_str(j, "model"), "gpt-4o-mini") == 0 &&
         harness_num(cJSON_GetObjectItem(j, "usage"), "completion_tokens") == 3;
    if (!ok)
        fprintf(stderr, "  got: %s\n", body ? body : "");
    cJSON_Delete(j);
    free(body);
    CHECK(ok);
    /* a 429 fault: Azure's code "429" and its retry-after */
    const char *fh[] = {"x-tailgate-fault: status=429,retry-after=3", NULL};
    char *head = NULL;
    st = harness_http(mock.port, "POST", apis[3].path, fh, apis[3].body, &body, &head);
    CHECK_EQ_INT(st, 429);
    j = cJSON_Parse(body);
    ok = strcmp(harness_str(error_of(j), "code"), "429") == 0 && head &&
         strstr(head, "retry-after: 3");
    cJSON_Delete(j);
    free(body);
    free(head);
    CHECK(ok);
}

/* /metrics counts each under its own api label */
static void vendors_should_count_requests_per_api_in_metrics(void)
{
    struct proc m2;
    if (harness_start_mock(&m2, NULL) != 0) {
        CHECK(0);
        return;
    }
    const char *hdrs[] = {"x-tailgate-length: 2", "x-tailgate-tps: 1000", "x-tailgate-ttft-ms: 0",
                          NULL};
    char *body = NULL;
    int ok = 1;
    for (size_t a = 0; a < 3; a++) {
        ok &= harness_http(m2.port, "POST", apis[a].path, hdrs,
                           a == 0 ? "{\"model\":\"m\",\"prompt\":\"x\"}"
                                  : "{\"model\":\"m\",\"prompt\":\"x\",\"stream\":false,"
                                    "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                           &body, NULL) == 200;
        free(body);
    }
    CHECK(ok);
    int st = harness_http(m2.port, "GET", "/metrics", NULL, NULL, &body, NULL);
    CHECK_EQ_INT(st, 200);
    ok = body && strstr(body, "tailgate_mock_requests_total{api=\"completions\"} 1\n") &&
         strstr(body, "tailgate_mock_requests_total{api=\"ollama\"} 2\n") &&
         strstr(body, "tailgate_mock_requests_total{api=\"chat\"} 0\n") &&
         strstr(body, "tailgate_mock_time_to_first_token_seconds_count{api=\"ollama\"} 2\n") &&
         strstr(body, "tailgate_mock_time_to_first_token_seconds_count{api=\"completions\"} 1\n");
    if (!ok)
        fprintf(stderr, "  metrics: %s\n", body ? body : "");
    free(body);
    CHECK(ok);
    CHECK_EQ_INT(harness_stop(&m2), 0);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(vendors_should_bill_each_api_semantic_and_close_kind_exactly),
        CASE(completions_should_end_a_stream_with_the_usage_it_bills),
        CASE(completions_should_answer_a_non_stream_request_with_usage),
        CASE(completions_should_reject_bad_input_in_openai_shape),
        CASE(ollama_should_end_a_stream_with_the_eval_count_it_bills),
        CASE(ollama_should_answer_stream_false_with_one_object),
        CASE(ollama_should_reject_bad_input_in_its_shape),
        CASE(vendors_should_inject_faults_in_each_shape),
        CASE(vendors_should_count_reasoning_in_the_usage),
        CASE(azure_should_stream_annotated_chunks_and_answer_its_errors),
        CASE(vendors_should_count_requests_per_api_in_metrics),
    };
    if (harness_start_mock(&mock, NULL) != 0) {
        printf("FAIL vendors_should_start (could not start the mock)\n");
        return 1;
    }
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    int exit_status = harness_stop(&mock);
    printf("%s vendors_should_shut_down_cleanly\n", exit_status == 0 ? "PASS" : "FAIL");
    return rc || exit_status != 0;
}
