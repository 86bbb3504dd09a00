/* Fuzz target: mockprov's request body parsers (request_parse, request_parse_gemini,
 * request_parse_azure, request_parse_ollama, request_parse_bedrock), for each API (Gemini as a
 * stream of either framing and as generateContent, Azure with and without a deployment, Ollama's
 * chat and generate, Bedrock's Converse and InvokeModel, streaming or not), with and without an
 * X-Request-Id header. Checks what a parsed request promises the server. */
#include <string.h>

#include "fuzz.h"
#include "request.h"

static void check_ok(const struct request *r, enum api api, const char *rid)
{
    FUZZ_CHECK(r->api == api);
    FUZZ_CHECK(memchr(r->model, '\0', sizeof r->model) != NULL);
    FUZZ_CHECK(memchr(r->cid, '\0', sizeof r->cid) != NULL);
    FUZZ_CHECK(r->stream == 0 || r->stream == 1);
    FUZZ_CHECK(r->json_stream == 0 || (r->json_stream == 1 && r->stream == 1));
    FUZZ_CHECK(api == API_GEMINI || r->json_stream == 0);
    FUZZ_CHECK(r->background == 0 || r->background == 1);
    FUZZ_CHECK(r->include_usage == 0 || r->include_usage == 1);
    FUZZ_CHECK(r->max_tokens == -1 || (r->max_tokens >= 1 && r->max_tokens <= 1000000000));
    FUZZ_CHECK(r->input_tokens >= 1);
    FUZZ_CHECK(r->id_source != NULL);
    FUZZ_CHECK(api == API_OLLAMA || r->ollama_generate == 0);
    static const char *const sources[] = {"header", "user", "metadata", "marker", "none"};
    int known = 0;
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        known |= strcmp(r->id_source, sources[i]) == 0;
    FUZZ_CHECK(known);
    /* an id is always one the ledger and the wire can carry verbatim */
    if (strcmp(r->id_source, "none") == 0)
        FUZZ_CHECK(r->cid[0] == '\0');
    else
        FUZZ_CHECK(request_id_ok(r->cid, strlen(r->cid)));
    /* a usable header wins over everything in the body */
    if (rid && request_id_ok(rid, strlen(rid))) {
        FUZZ_CHECK(strcmp(r->id_source, "header") == 0);
        FUZZ_CHECK(strcmp(r->cid, rid) == 0);
    }
    /* only the OpenAI chat-shaped APIs may go without usage on the wire */
    if (api != API_CHAT && api != API_COMPLETIONS && api != API_AZURE)
        FUZZ_CHECK(r->include_usage == 1);
    /* Ollama has no user field either */
    if (api == API_OLLAMA)
        FUZZ_CHECK(strcmp(r->id_source, "user") != 0 && strcmp(r->id_source, "metadata") != 0 &&
                   r->model[0] != '\0' && r->background == 0);
    /* Azure's body may leave the model out: the deployment names it */
    if (api == API_AZURE)
        FUZZ_CHECK(r->model[0] != '\0' && r->background == 0);
    /* Gemini has no user field: the id is the header's or the marker's */
    if (api == API_GEMINI) {
        FUZZ_CHECK(strcmp(r->id_source, "user") != 0 && strcmp(r->id_source, "metadata") != 0);
        FUZZ_CHECK(strcmp(r->model, "gemini-2.5-flash") == 0);
        FUZZ_CHECK(r->background == 0);
    }
    /* Bedrock: the model from the path; Converse has no user field either */
    if (api == API_BEDROCK || api == API_BEDROCK_INVOKE) {
        FUZZ_CHECK(strcmp(r->model, "anthropic.claude-v2:1") == 0);
        FUZZ_CHECK(r->background == 0);
        FUZZ_CHECK(strcmp(r->id_source, "user") != 0);
        if (api == API_BEDROCK)
            FUZZ_CHECK(strcmp(r->id_source, "metadata") != 0);
    }
}

static void check_err(const struct request_error *e)
{
    FUZZ_CHECK(e->status == 400);
    FUZZ_CHECK(e->type != NULL);
    FUZZ_CHECK(memchr(e->param, '\0', sizeof e->param) != NULL);
    FUZZ_CHECK(memchr(e->message, '\0', sizeof e->message) != NULL);
    FUZZ_CHECK(e->message[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    static const char *const rids[] = {NULL, "fz-rid-1", "bad id"};
    for (int api = API_CHAT; api <= API_MESSAGES; api++) {
        for (size_t h = 0; h < sizeof rids / sizeof rids[0]; h++) {
            struct request r;
            struct request_error e;
            memset(&r, 0, sizeof r);
            if (request_parse((enum api)api, body, size, rids[h], &r, &e) == 0)
                check_ok(&r, (enum api)api, rids[h]);
            else
                check_err(&e);
        }
    }
    for (size_t h = 0; h < sizeof rids / sizeof rids[0]; h++) {
        struct request r;
        struct request_error e;
        memset(&r, 0, sizeof r);
        if (request_parse(API_COMPLETIONS, body, size, rids[h], &r, &e) == 0)
            check_ok(&r, API_COMPLETIONS, rids[h]);
        else
            check_err(&e);
        for (int with = 0; with <= 1; with++) { /* the deployments route, then /openai/v1/ */
            memset(&r, 0, sizeof r);
            if (request_parse_azure(with ? NULL : "fz-deploy", body, size, rids[h], &r, &e) == 0)
                check_ok(&r, API_AZURE, rids[h]);
            else
                check_err(&e);
        }
        for (int gen = 0; gen <= 1; gen++) {
            memset(&r, 0, sizeof r);
            if (request_parse_ollama(gen, body, size, rids[h], &r, &e) == 0) {
                check_ok(&r, API_OLLAMA, rids[h]);
                FUZZ_CHECK(r.ollama_generate == gen);
            } else {
                check_err(&e);
            }
        }
    }
    for (int mode = 0; mode < 3; mode++) { /* alt=sse, the JSON array, generateContent */
        for (size_t h = 0; h < sizeof rids / sizeof rids[0]; h++) {
            struct request r;
            struct request_error e;
            memset(&r, 0, sizeof r);
            if (request_parse_gemini("gemini-2.5-flash", mode < 2, mode == 1, body, size, rids[h],
                                     &r, &e) == 0) {
                check_ok(&r, API_GEMINI, rids[h]);
                FUZZ_CHECK(r.stream == (mode < 2) && r.json_stream == (mode == 1));
            } else {
                check_err(&e);
                FUZZ_CHECK(strcmp(e.type, "INVALID_ARGUMENT") == 0);
            }
        }
    }
    for (int mode = 0; mode < 4; mode++) { /* Converse, ConverseStream, Invoke, InvokeStream */
        enum api api = mode < 2 ? API_BEDROCK : API_BEDROCK_INVOKE;
        for (size_t h = 0; h < sizeof rids / sizeof rids[0]; h++) {
            struct request r;
            struct request_error e;
            memset(&r, 0, sizeof r);
            if (request_parse_bedrock(api, "anthropic.claude-v2:1", mode % 2, body, size, rids[h],
                                      &r, &e) == 0) {
                check_ok(&r, api, rids[h]);
                FUZZ_CHECK(r.stream == mode % 2);
            } else {
                check_err(&e);
                FUZZ_CHECK(strcmp(e.type, "ValidationException") == 0);
            }
        }
    }
    return 0;
}
