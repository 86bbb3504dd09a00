/* mockprov's admin API under /_tailgate/: who may call it, health, clock, ledger, profile
 * switch and schedule, queued faults, reset, invoice. */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mock_internal.h"
#include "adminguard.h"
#include "clock.h"
#include "exchange.h"
#include "gen.h"
#include "h1exchange.h"
#include "jparse.h"
#include "reply.h"
#include "version.h"

int admin_allowed(struct mock *m, struct exchange *x)
{
    struct evhttp_request *req = h1exchange_request(x);
    if (req == NULL) {
        /* who sent it (the peer address, a page's Origin) is read off the HTTP/1.1 request */
        reply_error(m, x, API_CHAT, 403, "permission_error", NULL, NULL,
                    "The admin API answers HTTP/1.1 only.");
        return 0;
    }
    struct adminguard_request rq;
    adminguard_read(req, &rq);
    if (!m->cfg.admin_any && !rq.peer_loopback) {
        reply_error(m, x, API_CHAT, 403, "permission_error", NULL, NULL,
                    "The admin API answers loopback peers only (start with --admin-any).");
        return 0;
    }
    /* whatever the token says: the check is about who sent the request (a web page), not what
     * it knows */
    char msg[256];
    if (adminguard_check(&rq, m->cfg.admin_hosts, m->cfg.admin_nhosts, msg, sizeof msg) !=
        ADMINGUARD_OK) {
        reply_error(m, x, API_CHAT, 403, "permission_error", NULL, NULL, msg);
        return 0;
    }
    if (m->cfg.admin_token) {
        const char *auth = exchange_header(x, "Authorization");
        if (!adminguard_bearer_ok(auth, m->cfg.admin_token)) {
            reply_error(m, x, API_CHAT, 401, "authentication_error", NULL, NULL,
                        "The admin API needs 'Authorization: Bearer <token>'.");
            return 0;
        }
    }
    return 1;
}

static void send_cjson(struct mock *m, struct exchange *x, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (s == NULL) {
        reply_error(m, x, API_CHAT, 500, NULL, NULL, NULL, "out of memory");
        return;
    }
    reply_json(x, 200, s);
    free(s);
}

static cJSON *profile_json(const struct profile *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "summary", p->summary);
    cJSON_AddStringToObject(o, "on_disconnect", profile_disconnect_name(p->on_disconnect));
    cJSON_AddNumberToObject(o, "stop_lag_tokens", p->stop_lag_tokens);
    cJSON_AddNumberToObject(o, "stop_lag_ms", p->stop_lag_ms);
    cJSON_AddStringToObject(o, "bill", profile_bill_name(p->bill));
    cJSON_AddStringToObject(o, "report", profile_report_name(p->report));
    cJSON_AddNumberToObject(o, "ttft_ms", p->ttft_ms);
    cJSON_AddNumberToObject(o, "tps", p->tps);
    cJSON_AddNumberToObject(o, "jitter", p->jitter);
    cJSON_AddNumberToObject(o, "natural_length", p->natural_length);
    cJSON_AddNumberToObject(o, "price_in_per_mtok", p->price_in_per_mtok);
    cJSON_AddNumberToObject(o, "price_out_per_mtok", p->price_out_per_mtok);
    cJSON_AddStringToObject(o, "reasoning_bill", profile_reasoning_bill_name(p->reasoning_bill));
    cJSON_AddNumberToObject(o, "reasoning_tokens", p->reasoning_tokens);
    cJSON_AddNumberToObject(o, "reasoning_tps", p->reasoning_tps);
    cJSON_AddBoolToObject(o, "reasoning_content", p->reasoning_content);
    cJSON_AddBoolToObject(o, "tool_call", p->tool_call);
    cJSON_AddNumberToObject(o, "tool_text_tokens", p->tool_text_tokens);
    return o;
}

/* The schedule in force for 'scope' (NULL: the mock's own) and when it started. */
static const struct schedule *scope_schedule(struct mock *m, const struct scope *scope,
                                             uint64_t *start_ns)
{
    if (scope && scope->has_sched) {
        *start_ns = scope->sched_start_ns;
        return &scope->sched;
    }
    *start_ns = m->sched_start_ns;
    return &m->sched;
}

static cJSON *profile_state_json(struct mock *m, const struct scope *scope)
{
    cJSON *o = cJSON_CreateObject();
    uint64_t start;
    const struct schedule *sc = scope_schedule(m, scope, &start);
    uint64_t since = (clock_now_ns() - start) / 1000000ull;
    cJSON_AddItemToObject(o, "current", profile_json(schedule_at(sc, since)));
    if (scope)
        cJSON_AddStringToObject(o, "scope", scope->prefix);
    cJSON *sched = cJSON_AddArrayToObject(o, "schedule");
    for (size_t i = 0; i < sc->n; i++) {
        cJSON *st = cJSON_CreateObject();
        cJSON_AddNumberToObject(st, "at_ms", (double)sc->steps[i].at_ms);
        cJSON_AddStringToObject(st, "profile", sc->steps[i].profile->name);
        cJSON_AddItemToArray(sched, st);
    }
    cJSON_AddNumberToObject(o, "schedule_elapsed_ms", (double)since);
    cJSON *names = cJSON_AddArrayToObject(o, "presets");
    for (size_t i = 0; i < profile_count(); i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(profile_at(i)->name));
    return o;
}

static cJSON *parse_admin_body(struct mock *m, struct exchange *x)
{
    struct jparse_error je;
    cJSON *j = jparse_text(x->body, x->body_len, &je);
    if (j == NULL) {
        char where[320], msg[512];
        jparse_message(&je, NULL, where, sizeof where);
        snprintf(msg, sizeof msg, "%s Problem at %s", REQUEST_MSG_BAD_JSON, where);
        reply_error(m, x, API_CHAT, 400, NULL, NULL, NULL, msg);
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        reply_error(m, x, API_CHAT, 400, NULL, NULL, NULL,
                    "The request body must be a JSON object.");
        return NULL;
    }
    return j;
}

/* Applies {"ttft_ms","tps","jitter","natural_length","stop_lag_tokens","stop_lag_ms", prices,
 * reasoning and tool-call settings} to p.
 * Returns 0, or -1 with err naming the key. */
static int apply_overrides(const cJSON *o, struct profile *p, char *err, size_t errlen)
{
    static const struct {
        const char *key;
        double lo, hi;
    } keys[] = {{"ttft_ms", 0, 3600000},
                {"tps", 0.01, 1e6},
                {"jitter", 0, 1},
                {"natural_length", 1, LEDGER_MAX_TOKENS},
                {"stop_lag_tokens", 0, 1000000},
                {"stop_lag_ms", 0, 3600000},
                {"price_in_per_mtok", 0, 1e6},
                {"price_out_per_mtok", 0, 1e6},
                {"reasoning_tokens", 0, LEDGER_MAX_TOKENS},
                {"reasoning_tps", 0, 1e6},
                {"reasoning_content", 0, 1},
                {"tool_call", 0, 1},
                {"tool_text_tokens", 0, LEDGER_MAX_TOKENS}};
    const cJSON *item;
    cJSON_ArrayForEach(item, o)
    {
        size_t k = 0;
        while (k < sizeof keys / sizeof keys[0] && strcmp(keys[k].key, item->string) != 0)
            k++;
        if (k == sizeof keys / sizeof keys[0]) {
            snprintf(err, errlen,
                     "overrides: unknown key '%.24s' (ttft_ms, tps, jitter, "
                     "natural_length, stop_lag_tokens, stop_lag_ms, price_in_per_mtok, "
                     "price_out_per_mtok, reasoning_tokens, reasoning_tps, "
                     "reasoning_content, tool_call, tool_text_tokens)",
                     item->string);
            return -1;
        }
        double v = item->valuedouble;
        if (!cJSON_IsNumber(item) || !(v >= keys[k].lo && v <= keys[k].hi)) {
            snprintf(err, errlen, "overrides.%s: expected a number from %g to %g", keys[k].key,
                     keys[k].lo, keys[k].hi);
            return -1;
        }
        switch (k) {
        case 0:
            p->ttft_ms = (uint32_t)v;
            break;
        case 1:
            p->tps = v;
            break;
        case 2:
            p->jitter = v;
            break;
        case 3:
            p->natural_length = (uint32_t)v;
            break;
        case 4:
            p->stop_lag_tokens = (uint32_t)v;
            break;
        case 5:
            p->stop_lag_ms = (uint32_t)v;
            break;
        case 6:
            p->price_in_per_mtok = v;
            break;
        case 7:
            p->price_out_per_mtok = v;
            break;
        case 8:
            p->reasoning_tokens = (uint32_t)v;
            break;
        case 9:
            p->reasoning_tps = v;
            break;
        case 10:
            p->reasoning_content = v != 0;
            break;
        case 11:
            p->tool_call = v != 0;
            break;
        default:
            p->tool_text_tokens = (uint32_t)v;
            break;
        }
    }
    return 0;
}

static void admin_profile_post(struct mock *m, struct exchange *x, const char *scope_name)
{
    cJSON *j = parse_admin_body(m, x);
    if (j == NULL)
        return;
    struct scope *scope = NULL;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(j, "schedule");
    const cJSON *over = cJSON_GetObjectItemCaseSensitive(j, "overrides");
    char spec[256], err[256];
    const char *bad_param = NULL;
    struct schedule s;
    struct profile_set *set = NULL;
    if (cJSON_IsString(name) && sched == NULL) {
        snprintf(spec, sizeof spec, "0s:%.200s", name->valuestring);
    } else if (cJSON_IsString(sched) && name == NULL) {
        snprintf(spec, sizeof spec, "%.250s", sched->valuestring);
    } else {
        snprintf(err, sizeof err,
                 "Expected {\"name\":\"PRESET\"} or "
                 "{\"schedule\":\"0s:A,30s:B\"}, optionally with \"overrides\".");
        goto fail;
    }
    bad_param = name ? "name" : "schedule";
    if (schedule_parse(spec, &s, err, sizeof err) != 0)
        goto fail;
    bad_param = "overrides";
    if (over && !cJSON_IsObject(over)) {
        snprintf(err, sizeof err, "overrides: expected an object");
        goto fail;
    }
    if (over) {
        if (m->nsets >= MOCK_MAX_PROFILE_SETS) {
            snprintf(err, sizeof err, "overrides: more than %d profile changes in one run",
                     MOCK_MAX_PROFILE_SETS);
            goto fail;
        }
        set = calloc(1, sizeof *set);
        if (set == NULL) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < s.n; i++) {
            set->p[i] = *s.steps[i].profile;
            if (apply_overrides(over, &set->p[i], err, sizeof err) != 0)
                goto fail;
            s.steps[i].profile = &set->p[i];
        }
    }
    if (scope_name && (scope = scope_get(&m->scopes, scope_name)) == NULL) {
        bad_param = "scope";
        snprintf(err, sizeof err, "scope: more than %d scopes at once (reset one, or the mock)",
                 SCOPE_MAX);
        goto fail;
    }
    if (set) {
        set->next = m->sets;
        m->sets = set;
        m->nsets++;
    }
    cJSON_Delete(j);
    if (scope) {
        scope->sched = s;
        scope->has_sched = 1;
        scope->sched_start_ns = clock_now_ns();
    } else {
        m->sched = s;
        m->sched_start_ns = clock_now_ns();
    }
    send_cjson(m, x, profile_state_json(m, scope));
    return;
fail:
    free(set);
    cJSON_Delete(j);
    reply_error(m, x, API_CHAT, 400, NULL, NULL, bad_param, err);
}

static void admin_faults_post(struct mock *m, struct exchange *x, const char *scope_name)
{
    cJSON *j = parse_admin_body(m, x);
    if (j == NULL)
        return;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "fault");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "count");
    char err[256];
    struct fault tmp;
    if (!cJSON_IsString(f) || fault_parse(f->valuestring, &tmp, err, sizeof err) != 0) {
        if (!cJSON_IsString(f))
            snprintf(err, sizeof err, "Expected {\"fault\":\"status=429\",\"count\":N}.");
        cJSON_Delete(j);
        reply_error(m, x, API_CHAT, 400, NULL, NULL, "fault", err);
        return;
    }
    double count = cJSON_IsNumber(c) ? c->valuedouble : (c == NULL ? 1 : -1);
    if (count < 0 || count > 1e9 || count != (double)(uint64_t)count) {
        cJSON_Delete(j);
        reply_error(m, x, API_CHAT, 400, NULL, NULL, "count",
                    "Invalid 'count': expected an integer from 0 to 1000000000.");
        return;
    }
    struct scope *scope = scope_name ? scope_get(&m->scopes, scope_name) : NULL;
    if (scope_name && scope == NULL) {
        cJSON_Delete(j);
        reply_error(m, x, API_CHAT, 400, NULL, NULL, "scope",
                    "scope: too many scopes at once (reset one, or the mock)");
        return;
    }
    char *fault = scope ? scope->queued_fault : m->queued_fault;
    uint64_t *left = scope ? &scope->queued_fault_count : &m->queued_fault_count;
    snprintf(fault, FAULT_TEXT_MAX, "%s", f->valuestring);
    *left = (uint64_t)count;
    cJSON_Delete(j);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "fault", fault);
    cJSON_AddNumberToObject(o, "count", (double)*left);
    if (scope)
        cJSON_AddStringToObject(o, "scope", scope->prefix);
    send_cjson(m, x, o);
}

/* How late the mock ran since the last full reset: what tells a run that the mock, not the
 * gateway, was the bottleneck. It is the mock's, whatever the scope: a scope's reset leaves it,
 * since the other scopes' runs are still measuring it. */
/* Every api's token-lag histogram added up: /metrics keeps one per api. */
static void lag_total(const struct mock *m, struct metrics_histogram *h)
{
    memset(h, 0, sizeof *h);
    for (int a = 0; a < METRICS_APIS; a++) {
        const struct metrics_histogram *s = &m->mx.hist[METRICS_TOKEN_LAG][a];
        for (size_t i = 0; i < sizeof h->bucket / sizeof h->bucket[0]; i++)
            h->bucket[i] += s->bucket[i];
        h->count += s->count;
        h->sum_ns += s->sum_ns;
    }
}

static cJSON *lag_json(const struct mock *m)
{
    const struct mock_lag *l = &m->lag;
    struct metrics_histogram h; /* since the reset */
    lag_total(m, &h);
    for (size_t i = 0; i < sizeof h.bucket / sizeof h.bucket[0]; i++)
        h.bucket[i] -= l->base.bucket[i];
    h.count -= l->base.count;
    h.sum_ns -= l->base.sum_ns;
    uint64_t late = m->mx.tokens_late - l->base_late;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tokens_timed", (double)h.count);
    cJSON_AddNumberToObject(o, "tokens_late", (double)late);
    cJSON_AddNumberToObject(o, "late_share", h.count ? (double)late / (double)h.count : 0);
    cJSON_AddNumberToObject(o, "p50_ms",
                            metrics_quantile(&h, METRICS_TOKEN_LAG, 0.50, l->max_ns) / 1e6);
    cJSON_AddNumberToObject(o, "p99_ms",
                            metrics_quantile(&h, METRICS_TOKEN_LAG, 0.99, l->max_ns) / 1e6);
    cJSON_AddNumberToObject(o, "max_ms", (double)l->max_ns / 1e6);
    cJSON_AddNumberToObject(o, "burst_max", (double)l->burst_max);
    /* a mock that keeps its loop quick but runs every stream slower than asked lags little
     * behind its slid timetables; this says how much of the asked rate it kept */
    double asked = (double)l->planned_ns, got = (double)l->planned_ns + (double)l->slid_ns;
    cJSON_AddNumberToObject(o, "rate_share", got > 0 ? asked / got : 1);
    cJSON_AddNumberToObject(o, "max_burst", (double)m->cfg.max_burst);
    return o;
}

static void admin_reset(struct mock *m, struct exchange *x, const char *scope_name)
{
    if (scope_name) {
        /* a scope's records and settings only: the other scopes' runs go on */
        ledger_reset_prefix(m->ledger, scope_name);
        scope_remove(&m->scopes, scope_name);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "reset", 1);
        cJSON_AddStringToObject(o, "scope", scope_name);
        send_cjson(m, x, o);
        return;
    }
    ledger_reset(m->ledger);
    scope_clear(&m->scopes);
    m->queued_fault_count = 0;
    memset(&m->lag, 0, sizeof m->lag); /* the next scenario's lag is its own */
    lag_total(m, &m->lag.base);
    m->lag.base_late = m->mx.tokens_late;
    /* forget finished background responses; running ones stay reachable until they end */
    for (struct gen *g = m->gens; g; g = g->next) {
        if (g->stored && g->finished) {
            g->stored = 0;
            m->stored--;
            gen_maybe_finish(g);
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "reset", 1);
    send_cjson(m, x, o);
}

/* The ledger's filter from its query: correlation_id=CID, or id=CID (its first name). Anything
 * else is refused by name rather than ignored: an ignored filter answers with every record, which
 * reads as the filter having matched. Returns 0, or -1 with *bad (the parameter) and msg set. */
static int query_cid(const struct evkeyvalq *q, const char **cid, const char **bad, char *msg,
                     size_t len)
{
    const struct evkeyval *kv;
    TAILQ_FOREACH(kv, q, next)
    {
        if (strcmp(kv->key, "scope") == 0)
            continue; /* read by admin_handle */
        if (strcmp(kv->key, "correlation_id") != 0 && strcmp(kv->key, "id") != 0) {
            *bad = kv->key;
            snprintf(msg, len,
                     "Unknown query parameter '%.64s': the ledger takes correlation_id "
                     "(or its older name id) and scope.",
                     kv->key);
            return -1;
        }
        if (*cid && strcmp(*cid, kv->value) != 0) {
            *bad = kv->key;
            snprintf(msg, len, "Query parameter '%s' names a second correlation id: the ledger "
                     "filters by one.", kv->key);
            return -1;
        }
        *cid = kv->value;
    }
    return 0;
}

/* Streams still generating for correlation ids in the scope: linear over the live gens. */
static size_t scope_active(const struct mock *m, const char *prefix)
{
    size_t n = 0;
    for (const struct gen *g = m->gens; g; g = g->next)
        n += !g->finished && g->rec && scope_covers(prefix, g->rec->correlation_id);
    return n;
}

/* ?scope=PREFIX on any admin route: the settings, records and streams of the correlation ids
 * starting with PREFIX. Returns 0 with *scope set (NULL when not given), or -1 having replied. */
static int query_scope(struct mock *m, struct exchange *x, char *out, size_t len,
                       const char **scope)
{
    *scope = NULL;
    if (x->query == NULL)
        return 0;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(x->query, &q) != 0) {
        reply_error(m, x, API_CHAT, 400, NULL, NULL, NULL, "Malformed query string.");
        return -1;
    }
    const char *v = evhttp_find_header(&q, "scope");
    int ok = v == NULL || (scope_prefix_ok(v) && strlen(v) < len);
    if (v && ok) {
        snprintf(out, len, "%s", v);
        *scope = out;
    }
    evhttp_clear_headers(&q);
    if (!ok) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Invalid 'scope': expected 1 to %d bytes of printable ASCII without spaces, "
                 "quotes or backslashes.",
                 SCOPE_PREFIX_MAX - 1);
        reply_error(m, x, API_CHAT, 400, NULL, NULL, "scope", msg);
        return -1;
    }
    return 0;
}

void admin_handle(struct mock *m, struct exchange *x, const char *path)
{
    if (!admin_allowed(m, x))
        return;
    int get = strcmp(x->method, "GET") == 0, post = strcmp(x->method, "POST") == 0;
    char scope_buf[SCOPE_PREFIX_MAX];
    const char *scope = NULL;
    if (query_scope(m, x, scope_buf, sizeof scope_buf, &scope) != 0)
        return;
    if (strcmp(path, "health") == 0 && get) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ok");
        cJSON_AddStringToObject(o, "version", version_number());
        cJSON_AddNumberToObject(o, "active_streams",
                                (double)(scope ? scope_active(m, scope) : m->active));
        if (scope)
            cJSON_AddStringToObject(o, "scope", scope);
        cJSON_AddNumberToObject(o, "ledger_records", (double)ledger_count(m->ledger));
        cJSON_AddNumberToObject(o, "ledger_dropped", (double)ledger_dropped(m->ledger));
        cJSON_AddNumberToObject(o, "uptime_ms",
                                (double)((clock_now_ns() - m->t_start_ns) / 1000000ull));
        cJSON_AddItemToObject(o, "token_lag", lag_json(m));
        send_cjson(m, x, o);
    } else if (strcmp(path, "clock") == 0 && get) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "mono_ns", (double)clock_now_ns());
        send_cjson(m, x, o);
    } else if (strcmp(path, "ledger") == 0 && get) {
        struct evkeyvalq q;
        TAILQ_INIT(&q);
        const char *query = x->query;
        if (query && evhttp_parse_query_str(query, &q) != 0) {
            reply_error(m, x, API_CHAT, 400, NULL, NULL, NULL, "Malformed query string.");
            return;
        }
        const char *cid = NULL, *bad = NULL;
        char msg[256];
        if (query_cid(&q, &cid, &bad, msg, sizeof msg) != 0) {
            reply_error(m, x, API_CHAT, 400, NULL, NULL, bad, msg);
            evhttp_clear_headers(&q);
            return;
        }
        cJSON *o = ledger_query_prefix_json(m->ledger, cid, scope);
        evhttp_clear_headers(&q);
        send_cjson(m, x, o);
    } else if (strcmp(path, "profile") == 0 && get) {
        send_cjson(m, x, profile_state_json(m, scope ? scope_find(&m->scopes, scope) : NULL));
    } else if (strcmp(path, "profile") == 0 && post) {
        admin_profile_post(m, x, scope);
    } else if (strcmp(path, "faults") == 0 && post) {
        admin_faults_post(m, x, scope);
    } else if (strcmp(path, "reset") == 0 && post) {
        admin_reset(m, x, scope);
    } else if (strcmp(path, "invoice.csv") == 0 && get) {
        char *csv = ledger_invoice_csv(m->ledger);
        if (csv == NULL) {
            reply_error(m, x, API_CHAT, 500, NULL, NULL, NULL, "out of memory");
            return;
        }
        exchange_add_header(x, "Content-Type", "text/csv");
        exchange_reply(x, 200, csv, strlen(csv));
        free(csv);
    } else {
        int known = strcmp(path, "health") == 0 || strcmp(path, "clock") == 0 ||
                    strcmp(path, "ledger") == 0 || strcmp(path, "profile") == 0 ||
                    strcmp(path, "faults") == 0 || strcmp(path, "reset") == 0 ||
                    strcmp(path, "invoice.csv") == 0;
        char msg[200];
        snprintf(msg, sizeof msg,
                 known ? "Method not allowed for /_tailgate/%.64s."
                       : "Unknown admin route /_tailgate/%.64s.",
                 path);
        reply_error(m, x, API_CHAT, known ? 405 : 404, NULL, NULL, NULL, msg);
    }
}
