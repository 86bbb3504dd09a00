/* The vendor generation endpoints (Chat Completions, Responses, Messages): parse the request and
 * its x-tailgate-* headers, open its ledger record, then answer with an injected HTTP fault, a
 * queued background response, or a gen with its first reader (the exchange's sink, over
 * whichever transport carried the request). */
#include "generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mock_internal.h"
#include "clock.h"
#include "exchange.h"
#include "gen.h"
#include "httpguard.h"
#include "reply.h"
#include "sink.h"
#include "store.h"

static int header_num(const struct exchange *x, const char *name, double lo, double hi, double *out,
                      char *err, size_t errlen)
{
    const char *v = exchange_header(x, name);
    if (v == NULL)
        return 0;
    char *end;
    double d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !(d >= lo && d <= hi)) {
        snprintf(err, errlen, "Invalid header '%s': '%s' (expected a number from %g to %g).", name,
                 v, lo, hi);
        return -1;
    }
    *out = d;
    return 1;
}

static void http_fault_reply(struct mock *m, struct exchange *x, struct gen *g)
{
    const struct fault *f = &g->fault;
    char v[32];
    if (f->retry_after >= 0) {
        snprintf(v, sizeof v, "%lld", (long long)f->retry_after);
        exchange_add_header(x, "retry-after", v);
        snprintf(v, sizeof v, "%lld", (long long)f->retry_after * 1000);
        exchange_add_header(x, "retry-after-ms", v);
    }
    if (f->should_retry >= 0)
        exchange_add_header(x, "x-should-retry", f->should_retry ? "true" : "false");
    int bedrock = g->rq.api == API_BEDROCK || g->rq.api == API_BEDROCK_INVOKE;
    const char *msg = f->status == 429 && g->rq.api == API_GEMINI
                          ? "Resource has been exhausted (e.g. check quota). (tailgate fault)"
                      : g->rq.api == API_OLLAMA ? "server busy, please try again. (tailgate fault)"
                      : f->status == 429 && g->rq.api == API_AZURE
                          ? "Requests to the ChatCompletions_Create Operation have exceeded the "
                            "token rate limit of your current tier. Please retry after the time "
                            "retry-after gives. (tailgate fault)"
                      : f->status == 429 && bedrock
                          ? "Too many requests, please wait before trying again. (tailgate fault)"
                      : f->status == 429 ? "Rate limit reached for requests (tailgate fault)."
                      : f->status == 529 ? "Overloaded"
                                         : "Injected server error (tailgate fault).";
    if (bedrock)
        exchange_add_header(x, "x-amzn-errortype", wire_error_type(g->rq.api, f->status));
    const char *code = g->rq.api == API_MESSAGES ? NULL
                       : f->status == 429        ? "rate_limit_exceeded"
                                                 : NULL;
    char *body = wire_error_body(g->rq.api, f->status, NULL, code, NULL, msg, g->rec->request_id);
    exchange_add_header(x, g->rq.api == API_MESSAGES ? "request-id" : "x-request-id",
                        g->rec->request_id);
    if (bedrock)
        exchange_add_header(x, "x-amzn-RequestId", g->rec->request_id);
    m->mx.http_errors++;
    reply_json(x, f->status, body ? body : "{}");
    free(body);
}

/* The checks every body gets before it is parsed: 411, 413. Returns 0, or -1 answered. */
static int body_ok(struct mock *m, struct exchange *x, enum api api)
{
    char err[256];
    if (x->lacks_length) {
        reply_error(m, x, api, 411, NULL, NULL, NULL, HTTPGUARD_LENGTH_REQUIRED);
        return -1;
    }
    if (x->body_len > m->cfg.max_body) {
        snprintf(err, sizeof err, "Request body of %zu bytes exceeds the limit of %zu bytes.",
                 x->body_len, m->cfg.max_body);
        reply_error(m, x, api, 413, NULL, NULL, NULL, err);
        return -1;
    }
    return 0;
}

static void generate_start(struct mock *m, struct exchange *x, struct request rq, const char *rid);

void generate_handle(struct mock *m, struct exchange *x, enum api api)
{
    if (body_ok(m, x, api) != 0)
        return;
    const char *rid = exchange_header(x, "X-Request-Id");
    struct request rq;
    struct request_error rerr;
    if (request_parse(api, x->body, x->body_len, rid, &rq, &rerr) != 0) {
        reply_error(m, x, api, rerr.status, rerr.type, rerr.code, rerr.param, rerr.message);
        return;
    }
    generate_start(m, x, rq, rid);
}

void generate_handle_gemini(struct mock *m, struct exchange *x, const char *model, int stream,
                            int json_stream)
{
    if (body_ok(m, x, API_GEMINI) != 0)
        return;
    const char *rid = exchange_header(x, "X-Request-Id");
    struct request rq;
    struct request_error rerr;
    if (request_parse_gemini(model, stream, json_stream, x->body, x->body_len, rid, &rq, &rerr) !=
        0) {
        reply_error(m, x, API_GEMINI, rerr.status, rerr.type, rerr.code, rerr.param, rerr.message);
        return;
    }
    generate_start(m, x, rq, rid);
}

/* A SigV4-signed request (AWS's SDKs sign every Bedrock call): the Authorization scheme, or a
 * presigned query's algorithm. The signature is not checked: the mock has no secret to check it
 * with, and a gateway that re-signs is doing its job. */
static int sigv4_signed(const struct exchange *x)
{
    const char *a = exchange_header(x, "Authorization");
    if (a && strncmp(a, "AWS4-HMAC-SHA256 ", 17) == 0)
        return 1;
    return x->query && strstr(x->query, "X-Amz-Algorithm=AWS4-HMAC-SHA256") != NULL;
}

void generate_handle_bedrock(struct mock *m, struct exchange *x, enum api api, const char *model,
                             int stream)
{
    if (body_ok(m, x, api) != 0)
        return;
    const char *rid = exchange_header(x, "X-Request-Id");
    struct request rq;
    struct request_error rerr;
    if (request_parse_bedrock(api, model, stream, x->body, x->body_len, rid, &rq, &rerr) != 0) {
        reply_error(m, x, api, rerr.status, rerr.type, rerr.code, rerr.param, rerr.message);
        return;
    }
    rq.sigv4 = sigv4_signed(x);
    generate_start(m, x, rq, rid);
}

void generate_handle_azure(struct mock *m, struct exchange *x, const char *deployment)
{
    if (body_ok(m, x, API_AZURE) != 0)
        return;
    const char *rid = exchange_header(x, "X-Request-Id");
    struct request rq;
    struct request_error rerr;
    if (request_parse_azure(deployment, x->body, x->body_len, rid, &rq, &rerr) != 0) {
        reply_error(m, x, API_AZURE, rerr.status, rerr.type, rerr.code, rerr.param, rerr.message);
        return;
    }
    generate_start(m, x, rq, rid);
}

void generate_handle_ollama(struct mock *m, struct exchange *x, int generate)
{
    if (body_ok(m, x, API_OLLAMA) != 0)
        return;
    const char *rid = exchange_header(x, "X-Request-Id");
    struct request rq;
    struct request_error rerr;
    if (request_parse_ollama(generate, x->body, x->body_len, rid, &rq, &rerr) != 0) {
        reply_error(m, x, API_OLLAMA, rerr.status, rerr.type, rerr.code, rerr.param, rerr.message);
        return;
    }
    generate_start(m, x, rq, rid);
}

/* A parsed request: its profile and faults from the x-tailgate-* headers, its ledger record,
 * then the reply (a fault, a queued background response, or a gen with its first reader). */
static void generate_start(struct mock *m, struct exchange *x, struct request rq, const char *rid)
{
    char err[256];
    struct gen *g = NULL;
    enum api api = rq.api;
    const struct profile *prof = mock_profile_for(m, rq.cid);
    const char *pname = exchange_header(x, "x-tailgate-profile");
    if (pname) {
        prof = profile_find(pname);
        if (prof == NULL) {
            snprintf(err, sizeof err,
                     "Unknown x-tailgate-profile '%.64s' (see 'tailgate "
                     "profiles').",
                     pname);
            reply_error(m, x, api, 400, NULL, NULL, "x-tailgate-profile", err);
            goto done;
        }
    }
    double ttft = prof->ttft_ms, tps = prof->tps, jit = prof->jitter, nat = prof->natural_length;
    double seed = -1;
    double rtok = prof->reasoning_tokens, rtps = prof->reasoning_tps;
    double rshow = prof->reasoning_content, tool = prof->tool_call,
           tool_text = prof->tool_text_tokens;
    if (header_num(x, "x-tailgate-ttft-ms", 0, 3600000, &ttft, err, sizeof err) < 0 ||
        header_num(x, "x-tailgate-tps", 0.01, 1e6, &tps, err, sizeof err) < 0 ||
        header_num(x, "x-tailgate-jitter", 0, 1, &jit, err, sizeof err) < 0 ||
        header_num(x, "x-tailgate-length", 1, LEDGER_MAX_TOKENS, &nat, err, sizeof err) < 0 ||
        header_num(x, "x-tailgate-seed", 0, 9007199254740991.0, &seed, err, sizeof err) < 0 ||
        header_num(x, "x-tailgate-reasoning-tokens", 0, LEDGER_MAX_TOKENS, &rtok, err, sizeof err) <
            0 ||
        header_num(x, "x-tailgate-reasoning-tps", 0.01, 1e6, &rtps, err, sizeof err) < 0 ||
        header_num(x, "x-tailgate-reasoning-content", 0, 1, &rshow, err, sizeof err) < 0 ||
        header_num(x, "x-tailgate-tool-call", 0, 1, &tool, err, sizeof err) < 0 ||
        header_num(x, "x-tailgate-tool-text", 0, LEDGER_MAX_TOKENS, &tool_text, err, sizeof err) <
            0) {
        reply_error(m, x, api, 400, NULL, NULL, NULL, err);
        goto done;
    }
    struct fault fault;
    fault_init(&fault);
    const char *fspec = exchange_header(x, "x-tailgate-fault");
    /* a scope's queued faults are its own: requests outside it never take them */
    struct scope *scope = scope_match(&m->scopes, rq.cid);
    if (fspec == NULL && scope && scope->queued_fault_count > 0) {
        fspec = scope->queued_fault;
        scope->queued_fault_count--;
    } else if (fspec == NULL && scope == NULL && m->queued_fault_count > 0) {
        fspec = m->queued_fault;
        m->queued_fault_count--;
    }
    if (fspec && fault_parse(fspec, &fault, err, sizeof err) != 0) {
        reply_error(m, x, api, 400, NULL, NULL, "x-tailgate-fault", err);
        goto done;
    }
    if (fault.slow_first_ms >= 0)
        ttft = (double)fault.slow_first_ms;

    g = calloc(1, sizeof *g);
    if (g == NULL) {
        reply_error(m, x, api, 500, NULL, NULL, NULL, "out of memory");
        goto done;
    }
    g->m = m;
    g->rq = rq;
    g->prof = prof;
    g->fault = fault;
    g->trailer_value = -1;
    g->rec = ledger_open(m->ledger, clock_now_ns());
    if (g->rec == NULL || wire_gen_init(&g->w, &rq, g->rec->seq, (int64_t)time(NULL)) != 0) {
        reply_error(m, x, api, 500, NULL, NULL, NULL, "out of memory");
        goto fail;
    }
    m->nreq++;
    m->mx.requests[api]++;
    uint64_t rseed = seed >= 0 ? (uint64_t)seed : m->cfg.seed * 1000003ull + g->rec->seq;
    engine_init(&g->eng, rseed, (uint64_t)ttft, tps, jit);
    /* reasoning runs at its own rate from the same first-token wait; its jitter is seeded
     * apart, so turning reasoning on leaves the visible tokens' gaps as they were */
    engine_init(&g->reng, rseed ^ 0x5245415330ull, (uint64_t)ttft, rtps > 0 ? rtps : tps, jit);
    /* the cap counts reasoning and visible tokens alike (max_completion_tokens, Anthropic's
     * max_tokens with a thinking budget) */
    g->rlimit = (uint64_t)rtok;
    g->limit = (uint64_t)nat;
    if (rq.max_tokens >= 0 && (uint64_t)rq.max_tokens < g->rlimit + g->limit) {
        uint64_t cap = (uint64_t)rq.max_tokens;
        if (cap < g->rlimit)
            g->rlimit = cap;
        g->limit = cap - g->rlimit;
        g->limit_is_cap = 1;
    }
    struct wire_shape shape = {g->rlimit, rshow != 0, tool != 0, (uint64_t)tool_text, g->limit};
    if ((shape.reasoning || shape.tool_call) && wire_gen_shape(&g->w, &shape) != 0) {
        reply_error(m, x, api, 500, NULL, NULL, NULL, "out of memory");
        goto fail;
    }

    struct ledger_record *r = g->rec;
    if (rq.cid[0] == '\0')
        snprintf(rq.cid, sizeof rq.cid, "%s", r->request_id);
    ledger_set_correlation(m->ledger, r, rq.cid);
    r->id_source = rq.id_source;
    r->rid_propagated = rid != NULL;
    r->sigv4 = rq.sigv4;
    r->api = request_api_name(api);
    r->protocol = strcmp(x->protocol, "h2") == 0 ? "h2" : "http/1.1";
    r->profile = prof->name;
    snprintf(r->model, sizeof r->model, "%s", rq.model);
    r->stream = rq.stream;
    r->background = rq.background;
    r->max_tokens = rq.max_tokens;
    r->natural_length = (uint64_t)nat;
    r->reasoning_length = (uint64_t)rtok;
    r->tool_call = g->w.shape.tool_call; /* as the wire can stage it */
    r->tool_text_tokens = g->w.shape.tool_text;
    r->include_usage = rq.include_usage;
    r->billed_input_tokens = rq.input_tokens;
    r->price_in_per_mtok = prof->price_in_per_mtok;
    r->price_out_per_mtok = prof->price_out_per_mtok;
    if (fspec)
        snprintf(r->fault, sizeof r->fault, "%s", fault.text);
    g->next = m->gens;
    if (m->gens)
        m->gens->prev = g;
    m->gens = g;
    m->active++;

    if (fault.status) {
        r->status = fault.status;
        r->billed_input_tokens = 0;
        g->stopped = 1;
        r->t_gen_stop_ns = clock_now_ns();
        r->stop_reason = LEDGER_STOP_HTTP_ERROR;
        http_fault_reply(m, x, g);
        gen_maybe_finish(g);
        goto done;
    }
    if (rq.background && api == API_RESPONSES) {
        if (m->stored >= MOCK_STORE_MAX)
            store_evict_oldest(m);
        g->stored = 1;
        m->stored++;
    }
    if (rq.background && !rq.stream) {
        const struct wire_tally none = {0, 0, -1, -1};
        char *obj = wire_response_object(&g->w, &none, "queued");
        reply_headers(x, api, r->request_id, NULL);
        reply_json(x, 200, obj ? obj : "{}");
        free(obj);
    } else {
        struct sink *sk = exchange_take_sink(x);
        struct reader *rd = sk ? gen_attach(g, sk, rq.stream, !rq.background) : NULL;
        if (rd == NULL) {
            if (sk != NULL)
                sink_abort(sk); /* the exchange is the sink's now: the peer sees a drop */
            sink_free(sk);
            reply_error(m, x, api, 500, NULL, NULL, NULL, "out of memory"); /* when no sink */
            gen_stop(g, LEDGER_STOP_HTTP_ERROR);
            gen_maybe_finish(g);
            goto done;
        }
        exchange_tune(x, m->cfg.sndbuf, !rq.stream);
        if (rq.stream) {
            gen_stream_start(rd);
            char *open = wire_stream_open(&g->w, -1);
            if (open)
                gen_write(rd, open, strlen(open), 0);
            free(open);
        }
    }
    gen_arm(g, g->rlimit ? engine_next_delay_ns(&g->reng, 0) : engine_next_delay_ns(&g->eng, 0),
            clock_now_ns());
    goto done;
fail:
    if (g->rec) {
        g->rec->stop_reason = LEDGER_STOP_HTTP_ERROR;
        g->rec->status = 500;
        ledger_finish(m->ledger, g->rec);
        g->rec = NULL;
    }
    gen_free(g);
done:;
}
