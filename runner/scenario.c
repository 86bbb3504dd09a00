/* Scenario files. A validation error reads "FILE:LINE: users[1].action: unknown value
 * 'tab_clse'; expected one of ...; did you mean 'tab_close'?" */
#include "scenario.h"

#include <ctype.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "jsonfile.h"
#include "jsonpath.h"
#include "profile.h"
#include "request.h"

/* The action names, in the client's order, and "a, b or c" of them for messages. */
static size_t action_list(const char **names, char *text, size_t textlen)
{
    size_t n = 0;
    text[0] = '\0';
    for (; n < CHAOS_ACTION_COUNT; n++)
        names[n] = chaos_action_name((enum chaos_action)n);
    for (size_t i = 0; i < n; i++)
        snprintf(text + strlen(text), textlen - strlen(text), "%s%s",
                 i == 0       ? ""
                 : i + 1 == n ? " or "
                              : ", ",
                 names[i]);
    return n;
}

/* A kind tags a user's requests for sub-metric gates (tail_tokens{kind:mobile}): a name that
 * reads unambiguously inside the braces and in a key path. */
static int kind_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n >= GATE_MAX_TAG_VALUE)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)k[i]) && k[i] != '_' && k[i] != '-')
            return 0;
    return 1;
}

static int parse_user(const struct jctx *c, const cJSON *o, size_t i, struct chaos_user *u,
                      char *kind)
{
    static const char *const keys[] = {
        "action",        "weight",        "after_tokens", "after_ms",
        "at_first_byte", "background_ms", "kill",         "drop_rst_after_ms",
        "give_up_ms",    "cancel",        "retries",      "retry_delay_ms",
        "new_key",       "note",          "kind",         "task"};
    char path[32];
    snprintf(path, sizeof path, "users[%zu]", i);
    if (!cJSON_IsObject(o))
        return jctx_fail(c, path, "expected an object");
    if (jctx_check_keys(c, o, path, keys, sizeof keys / sizeof keys[0]) != 0)
        return -1;
    memset(u, 0, sizeof *u);
    u->weight = 1;
    u->trigger = CHAOS_AT_TOKENS;
    u->at.lo = u->at.hi = 5;
    u->drop_give_up_ms = 2000;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "action");
    char apath[48];
    snprintf(apath, sizeof apath, "%s.action", path);
    const char *names[CHAOS_ACTION_COUNT];
    char list[256];
    size_t nnames = action_list(names, list, sizeof list);
    if (!cJSON_IsString(a))
        return jctx_fail(c, apath, "required: one of %s", list);
    int act = chaos_action_parse(a->valuestring);
    if (act < 0) {
        const char *dym = scenario_did_you_mean(a->valuestring, names, nnames);
        return jctx_fail(c, apath, "unknown value '%s'%s%s%s; expected one of %s", a->valuestring,
                         dym ? "; did you mean '" : "", dym ? dym : "", dym ? "'" : "", list);
    }
    u->action = (enum chaos_action)act;
    kind[0] = '\0';
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (k && !(cJSON_IsString(k) && kind_ok(k->valuestring))) {
        char kpath[48];
        snprintf(kpath, sizeof kpath, "%s.kind", path);
        return jctx_fail(c, kpath, "expected a name of 1 to %d letters, digits, '_' or '-'",
                         GATE_MAX_TAG_VALUE - 1);
    }
    if (k)
        snprintf(kind, GATE_MAX_TAG_VALUE, "%s", k->valuestring);
    int has_tokens = 0, has_ms = 0, first = 0;
    if (jctx_get_num(c, o, "weight", path, 0, 1e9, &u->weight) != 0 ||
        jctx_get_range(c, o, "after_tokens", path, &u->at, &has_tokens) != 0)
        return -1;
    struct chaos_range ms = {0, 0};
    if (jctx_get_range(c, o, "after_ms", path, &ms, &has_ms) != 0 ||
        jctx_get_bool(c, o, "at_first_byte", path, &first) != 0)
        return -1;
    if (has_tokens + has_ms + first > 1) {
        char p2[48];
        snprintf(p2, sizeof p2, "%s.after_ms", path);
        return jctx_fail(c, p2, "give one trigger: after_tokens, after_ms or at_first_byte");
    }
    if (has_ms) {
        u->trigger = CHAOS_AT_MS;
        u->at = ms;
    } else if (first) {
        u->trigger = CHAOS_AT_FIRST_BYTE;
    }
    int kill = 0, cancel = 0, newkey = 0;
    if (jctx_get_u32(c, o, "background_ms", path, 1, 3600000, &u->background_ms) != 0 ||
        jctx_get_bool(c, o, "kill", path, &kill) != 0 ||
        jctx_get_u32(c, o, "drop_rst_after_ms", path, 0, 3600000, &u->drop_rst_after_ms) != 0 ||
        jctx_get_u32(c, o, "give_up_ms", path, 1, 3600000, &u->drop_give_up_ms) != 0 ||
        jctx_get_bool(c, o, "cancel", path, &cancel) != 0 ||
        jctx_get_u32(c, o, "retries", path, 0, 100, &u->retries) != 0 ||
        jctx_get_u32(c, o, "retry_delay_ms", path, 0, 600000, &u->retry_delay_ms) != 0 ||
        jctx_get_bool(c, o, "new_key", path, &newkey) != 0)
        return -1;
    u->background_kill = kill;
    u->cancel_call = cancel;
    u->retry_new_key = newkey;
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(o, "task");
    if (task) {
        static const char *const tkeys[] = {"requests", "parallel"};
        char tpath[48];
        snprintf(tpath, sizeof tpath, "%s.task", path);
        int parallel = 0;
        if (!cJSON_IsObject(task))
            return jctx_fail(c, tpath, "expected {\"requests\": N, \"parallel\": false}");
        if (jctx_check_keys(c, task, tpath, tkeys, 2) != 0 ||
            jctx_get_u32(c, task, "requests", tpath, 1, CHAOS_TASK_MAX, &u->task_requests) != 0 ||
            jctx_get_bool(c, task, "parallel", tpath, &parallel) != 0)
            return -1;
        if (u->task_requests == 0)
            return jctx_fail(c, tpath, "requests: required (1 to %d)", CHAOS_TASK_MAX);
        u->task_parallel = parallel;
        if (u->task_requests > 1 && !(u->action == CHAOS_COMPLETE || u->action == CHAOS_TAB_CLOSE ||
                                      u->action == CHAOS_RESET || u->action == CHAOS_STOP_BUTTON))
            return jctx_fail(c, tpath,
                             "a task is left with complete, tab_close, stop_button or "
                             "reset, not %s",
                             chaos_action_name(u->action));
        if (u->task_requests > 1 && u->retries)
            return jctx_fail(c, tpath, "a task's requests are not retried: drop retries");
    }
    if (u->action == CHAOS_BACKGROUND && u->background_ms == 0) {
        char p2[48];
        snprintf(p2, sizeof p2, "%s.background_ms", path);
        return jctx_fail(c, p2, "required for the background action");
    }
    return 0;
}

/* "model" at 'path' into *overrides (a key already there is replaced). */
static int parse_model(const struct jctx *c, const cJSON *o, const char *path, cJSON **overrides)
{
    /* the mock's profile overrides by another name where the scenario's reads better; a
     * reasoning model thinks reasoning_tokens first (at reasoning_tps, 0: tps; shown as
     * DeepSeek's reasoning_content in chat when set), and tool_call makes the visible tokens
     * after the first tool_text_tokens one tool call's arguments (docs/mockprov.md) */
    static const char *const keys[] = {
        "ttft_ms",           "tps",         "jitter",           "length",
        "stop_lag_tokens",   "stop_lag_ms", "reasoning_tokens", "reasoning_tps",
        "reasoning_content", "tool_call",   "tool_text_tokens"};
    static const char *const admin[] = {
        "ttft_ms",           "tps",         "jitter",           "natural_length",
        "stop_lag_tokens",   "stop_lag_ms", "reasoning_tokens", "reasoning_tps",
        "reasoning_content", "tool_call",   "tool_text_tokens"};
    static const double lo[] = {0, 0.01, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    static const double hi[] = {3600000, 1e6, 1, 1048576, 1e6,    3600000,
                                1048576, 1e6, 1, 1,       1048576};
    enum { NKEYS = sizeof keys / sizeof keys[0] };
    if (!cJSON_IsObject(o))
        return jctx_fail(c, path, "expected an object");
    if (jctx_check_keys(c, o, path, keys, NKEYS) != 0)
        return -1;
    for (size_t i = 0; i < NKEYS; i++) {
        double v = -1;
        const cJSON *flag = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        if (cJSON_IsBool(flag) && hi[i] == 1)
            v = cJSON_IsTrue(flag); /* reasoning_content, tool_call: true or 1 */
        else if (jctx_get_num(c, o, keys[i], path, lo[i], hi[i], &v) != 0)
            return -1;
        if (v >= 0) {
            if (*overrides == NULL)
                *overrides = cJSON_CreateObject();
            cJSON_DeleteItemFromObjectCaseSensitive(*overrides, admin[i]);
            cJSON_AddNumberToObject(*overrides, admin[i], v);
        }
    }
    return 0;
}

/* The fault, profile and schedule a mock answers with, the keys under 'prefix' ("" or
 * "mocks.NAME."): a fault the mock can parse, one of profile and schedule, a known preset. */
static int check_answer(const struct jctx *c, const char *prefix, const char *fault,
                        const char *profile, const char *schedule)
{
    char path[PLACEHOLDER_NAME_MAX + 32];
    if (fault[0]) {
        struct fault f;
        char ferr[200];
        if (fault_parse(fault, &f, ferr, sizeof ferr) != 0) {
            snprintf(path, sizeof path, "%sfault", prefix);
            return jctx_fail(c, path, "%s", ferr);
        }
    }
    if (profile[0] && schedule[0]) {
        snprintf(path, sizeof path, "%sschedule", prefix);
        return jctx_fail(c, path, "give either profile or schedule, not both");
    }
    if (profile[0] && profile_find(profile) == NULL) {
        const char *names[16];
        size_t n = profile_count() < 16 ? profile_count() : 16;
        for (size_t i = 0; i < n; i++)
            names[i] = profile_at(i)->name;
        const char *dym = scenario_did_you_mean(profile, names, n);
        snprintf(path, sizeof path, "%sprofile", prefix);
        return jctx_fail(c, path, "unknown preset '%s'%s%s%s (see 'tailgate profiles')", profile,
                         dym ? "; did you mean '" : "", dym ? dym : "", dym ? "'" : "");
    }
    if (schedule[0]) {
        struct schedule sch;
        char serr[256];
        if (schedule_parse(schedule, &sch, serr, sizeof serr) != 0) {
            snprintf(path, sizeof path, "%sschedule", prefix);
            return jctx_fail(c, path, "%s", serr);
        }
    }
    return 0;
}

/* The retry-after seconds a (valid) fault spec sends, 0 when none. */
static int64_t retry_after_of(const char *spec)
{
    struct fault f;
    char ferr[200];
    if (spec[0] == '\0' || fault_parse(spec, &f, ferr, sizeof ferr) != 0)
        return 0;
    return f.retry_after > 0 ? f.retry_after : 0;
}

/* "mocks": per provider of a gateway that routes to several, its own profile or schedule,
 * model and fault; what one leaves out is the scenario's (its fault excepted). */
static int parse_mocks(const struct jctx *c, const cJSON *o, struct scenario *s)
{
    static const char *const keys[] = {"profile", "schedule", "model", "fault"};
    if (!cJSON_IsObject(o) || cJSON_GetArraySize(o) > SCENARIO_MAX_MOCKS)
        return jctx_fail(c, "mocks",
                         "expected an object of at most %d providers, NAME: {\"profile\": ..., "
                         "\"model\": {...}, \"fault\": ...}",
                         SCENARIO_MAX_MOCKS);
    const cJSON *e;
    cJSON_ArrayForEach(e, o)
    {
        char path[PLACEHOLDER_NAME_MAX + 16], prefix[PLACEHOLDER_NAME_MAX + 24];
        size_t n = strlen(e->string);
        int ok = n > 0 && n < PLACEHOLDER_NAME_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)e->string[i]) || e->string[i] == '_';
        snprintf(path, sizeof path, "mocks.%.*s", PLACEHOLDER_NAME_MAX, e->string);
        if (!ok)
            return jctx_fail(c, path,
                             "a mock's name is 1 to %d letters, digits and '_', as in "
                             "{{MOCK_URL_<name>}}",
                             PLACEHOLDER_NAME_MAX - 1);
        if (!cJSON_IsObject(e))
            return jctx_fail(c, path,
                             "expected {\"profile\": ..., \"model\": {...}, \"fault\": ...}");
        if (jctx_check_keys(c, e, path, keys, sizeof keys / sizeof keys[0]) != 0)
            return -1;
        struct scenario_mock *m = &s->mocks[s->nmocks++];
        snprintf(m->name, sizeof m->name, "%s", e->string);
        m->line = jctx_line_of(c, path);
        if (jctx_get_str(c, e, "profile", path, m->profile, sizeof m->profile) != 0 ||
            jctx_get_str(c, e, "schedule", path, m->schedule, sizeof m->schedule) != 0 ||
            jctx_get_str(c, e, "fault", path, m->fault, sizeof m->fault) != 0)
            return -1;
        snprintf(prefix, sizeof prefix, "%s.", path);
        if (check_answer(c, prefix, m->fault, m->profile, m->schedule) != 0)
            return -1;
        if (!m->profile[0] && !m->schedule[0]) {
            snprintf(m->profile, sizeof m->profile, "%s", s->profile);
            snprintf(m->schedule, sizeof m->schedule, "%s", s->schedule);
        }
        m->overrides = s->overrides ? cJSON_Duplicate(s->overrides, 1) : NULL;
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(e, "model");
        char mpath[PLACEHOLDER_NAME_MAX + 32];
        snprintf(mpath, sizeof mpath, "%smodel", prefix);
        if (model && parse_model(c, model, mpath, &m->overrides) != 0)
            return -1;
    }
    return 0;
}

void scenario_mock_settings(const struct scenario *sc, const char *name,
                            struct scenario_mock_settings *out)
{
    out->fault = name[0] ? "" : sc->fault;
    out->profile = sc->profile;
    out->schedule = sc->schedule;
    out->overrides = sc->overrides;
    for (size_t i = 0; name[0] && i < sc->nmocks; i++)
        if (strcmp(sc->mocks[i].name, name) == 0) {
            out->fault = sc->mocks[i].fault;
            out->profile = sc->mocks[i].profile;
            out->schedule = sc->mocks[i].schedule;
            out->overrides = sc->mocks[i].overrides;
        }
}

/* The distinct values users of 's' have for tag 'key', "a, b" into out; 1 if 'value' is one. */
static int tag_values(const struct scenario *s, enum gate_tag_key key, const char *value, char *out,
                      size_t outlen)
{
    int found = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->nusers; i++) {
        const char *v =
            key == GATE_TAG_ACTION ? chaos_action_name(s->users[i].action) : s->user_kind[i];
        if (v == NULL || v[0] == '\0')
            continue;
        found |= strcmp(v, value) == 0;
        size_t j = 0;
        while (j < i && strcmp(v, key == GATE_TAG_ACTION ? chaos_action_name(s->users[j].action)
                                                         : s->user_kind[j]) != 0)
            j++;
        if (j == i)
            snprintf(out + strlen(out), outlen - strlen(out), "%s%s", out[0] ? ", " : "", v);
    }
    return found;
}

/* A sub-metric's tags must name what some user of this scenario has: a gate over requests
 * that cannot exist measures nothing and would only ever fail for want of samples. */
static int check_tags(const struct jctx *c, const char *path, const struct gate *g,
                      const struct scenario *s)
{
    for (size_t t = 0; t < g->ntags; t++) {
        const struct gate_tag *tag = &g->tags[t];
        char have[400];
        if (tag_values(s, tag->key, tag->value, have, sizeof have))
            continue;
        if (tag->key == GATE_TAG_ACTION && chaos_action_parse(tag->value) < 0) {
            const char *names[CHAOS_ACTION_COUNT];
            char list[256];
            size_t n = action_list(names, list, sizeof list);
            const char *dym = scenario_did_you_mean(tag->value, names, n);
            return jctx_fail(c, path, "unknown action '%s'%s%s%s; expected one of %s", tag->value,
                             dym ? "; did you mean '" : "", dym ? dym : "", dym ? "'" : "", list);
        }
        if (have[0] == '\0')
            return jctx_fail(c, path,
                             "no user of this scenario has a kind: give users[i].kind "
                             "\"%s\" to gate its requests",
                             tag->value);
        return jctx_fail(c, path, "no user of this scenario has %s '%s' (its users have: %s)",
                         gate_tag_key_text(tag->key), tag->value, have);
    }
    if (g->ntags < 2)
        return 0;
    for (size_t i = 0; i < s->nusers; i++) {
        size_t t = 0;
        while (t < g->ntags && strcmp(g->tags[t].value, g->tags[t].key == GATE_TAG_ACTION
                                                            ? chaos_action_name(s->users[i].action)
                                                            : s->user_kind[i]) == 0)
            t++;
        if (t == g->ntags)
            return 0;
    }
    return jctx_fail(c, path, "no user of this scenario has all of these tags at once");
}

/* One threshold of an array: a string, or k6's object form. Fills expr, abort and delay. */
static int parse_threshold(const struct jctx *c, const cJSON *e, const char *epath,
                           const char **expr, int *abort, uint64_t *delay)
{
    static const char *const okeys[] = {"threshold", "abortOnFail", "delayAbortEval"};
    *abort = 0;
    *delay = 0;
    if (cJSON_IsString(e)) {
        *expr = e->valuestring;
        return 0;
    }
    if (!cJSON_IsObject(e))
        return jctx_fail(c, epath,
                         "expected a threshold: a string like \"p(95)<=16\" or an object "
                         "like {\"threshold\": \"p(95)<=16\", \"abortOnFail\": true, "
                         "\"delayAbortEval\": \"10s\"}");
    const cJSON *it;
    cJSON_ArrayForEach(it, e)
    {
        size_t i = 0;
        while (i < 3 && strcmp(it->string, okeys[i]) != 0)
            i++;
        if (i < 3)
            continue;
        char full[240];
        snprintf(full, sizeof full, "%s.%s", epath, it->string);
        const char *dym = scenario_did_you_mean(it->string, okeys, 3);
        return jctx_fail(c, full,
                         "unsupported threshold option%s%s%s; supported: threshold, "
                         "abortOnFail, delayAbortEval",
                         dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
    }
    char tpath[176];
    snprintf(tpath, sizeof tpath, "%s.threshold", epath);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "threshold");
    if (!cJSON_IsString(t))
        return jctx_fail(c, t ? tpath : epath, "%s: an expression like \"p(95)<=16\"",
                         t ? "expected a string" : "required: threshold");
    *expr = t->valuestring;
    if (jctx_get_bool(c, e, "abortOnFail", epath, abort) != 0)
        return -1;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "delayAbortEval");
    if (d) {
        char dpath[176], derr[200];
        snprintf(dpath, sizeof dpath, "%s.delayAbortEval", epath);
        if (!cJSON_IsString(d))
            return jctx_fail(c, dpath,
                             "expected a duration string, e.g. \"10s\", \"1m30s\" or "
                             "\"500ms\"");
        if (gate_parse_duration(d->valuestring, delay, derr, sizeof derr) != 0)
            return jctx_fail(c, dpath, "%s", derr);
    }
    return 0;
}

static int parse_gates(const struct jctx *c, const cJSON *o, struct scenario *s)
{
    if (!cJSON_IsObject(o))
        return jctx_fail(c, "gates", "expected an object of metric: [thresholds]");
    const cJSON *m;
    cJSON_ArrayForEach(m, o)
    {
        char path[128], gerr[400];
        snprintf(path, sizeof path, "gates.%s", m->string);
        struct gate key;
        memset(&key, 0, sizeof key);
        if (gate_parse_metric(m->string, &key, gerr, sizeof gerr) != 0)
            return jctx_fail(c, path, "%s", gerr);
        int scalar;
        if (!scenario_metric_known(key.base, &scalar)) {
            const char *all[SCENARIO_METRIC_MAX]; /* the samples, then the scalars */
            size_t n = 0;
            for (int sc = 0; sc < 2; sc++) {
                for (int i = 0; n < SCENARIO_METRIC_MAX; i++) {
                    const char *name = scenario_metric_name(sc, i);
                    if (name == NULL)
                        break;
                    all[n++] = name;
                }
            }
            const char *dym = scenario_did_you_mean(key.base, all, n);
            return jctx_fail(c, path, "unknown metric%s%s%s (see docs/runner.md for the list)",
                             dym ? "; did you mean '" : "", dym ? dym : "", dym ? "'" : "");
        }
        if (scalar && key.ntags)
            return jctx_fail(c, path,
                             "'%s' is one number per scenario: it has no sub-metrics (tags "
                             "go on per-request metrics, e.g. tail_tokens{action:tab_close})",
                             key.base);
        if (check_tags(c, path, &key, s) != 0)
            return -1;
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) == 0)
            return jctx_fail(c, path,
                             "expected a non-empty array of thresholds like \"p(95)<=16\" "
                             "or {\"threshold\": \"p(95)<=16\", \"abortOnFail\": true}");
        enum gate_type type = scenario_metric_type(key.base);
        const cJSON *e;
        int k = 0;
        cJSON_ArrayForEach(e, m)
        {
            char epath[160], tpath[176];
            snprintf(epath, sizeof epath, "%s[%d]", path, k++);
            snprintf(tpath, sizeof tpath, "%s%s", epath, cJSON_IsObject(e) ? ".threshold" : "");
            const char *expr = NULL;
            int abort;
            uint64_t delay;
            if (parse_threshold(c, e, epath, &expr, &abort, &delay) != 0)
                return -1;
            if (s->ngates == SCENARIO_MAX_GATES)
                return jctx_fail(c, epath, "more than %d gates", SCENARIO_MAX_GATES);
            struct gate *g = &s->gates[s->ngates];
            if (gate_parse(m->string, expr, g, gerr, sizeof gerr) != 0 ||
                gate_check_type(g, type, gerr, sizeof gerr) != 0)
                return jctx_fail(c, tpath, "%s", gerr);
            g->abort_on_fail = abort;
            g->delay_abort_ns = delay;
            s->ngates++;
        }
    }
    return 0;
}

static int parse_network(const struct jctx *c, const cJSON *o, struct scenario *s)
{
    static const char *const keys[] = {"client", "upstream"};
    if (!cJSON_IsObject(o))
        return jctx_fail(c, "network", "expected {\"client\": [toxics], \"upstream\": [toxics]}");
    if (jctx_check_keys(c, o, "network", keys, 2) != 0)
        return -1;
    for (int leg = 0; leg < 2; leg++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, keys[leg]);
        if (arr == NULL)
            continue;
        char path[48];
        snprintf(path, sizeof path, "network.%s", keys[leg]);
        if (!cJSON_IsArray(arr))
            return jctx_fail(c, path, "expected an array of toxics in Toxiproxy's shape");
        const cJSON *t;
        int i = 0;
        cJSON_ArrayForEach(t, arr)
        {
            char tp[64];
            snprintf(tp, sizeof tp, "%s[%d]", path, i++);
            if (!cJSON_IsObject(t) || !cJSON_IsString(cJSON_GetObjectItem(t, "type")))
                return jctx_fail(c, tp, "expected {\"type\": ..., \"attributes\": {...}}");
        }
        cJSON *copy = cJSON_Duplicate(arr, 1);
        if (leg == 0)
            s->toxics_client = copy;
        else
            s->toxics_upstream = copy;
    }
    return 0;
}

void scenario_cleanup(struct scenario *s)
{
    for (size_t i = 0; i < s->nmocks; i++) {
        cJSON_Delete(s->mocks[i].overrides);
        s->mocks[i].overrides = NULL;
    }
    s->nmocks = 0;
    cJSON_Delete(s->overrides);
    cJSON_Delete(s->toxics_client);
    cJSON_Delete(s->toxics_upstream);
    s->overrides = s->toxics_client = s->toxics_upstream = NULL;
}

static int parse_scenario(const char *path, const char *text, size_t len, struct scenario *out,
                          char *err, size_t errlen);

int scenario_load(const char *path, struct scenario *out, char *err, size_t errlen)
{
    size_t len;
    char *text = jsonfile_read(path, &len, err, errlen);
    if (text == NULL)
        return -1;
    int rc = parse_scenario(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

int scenario_parse_buffer(const char *path, const char *data, size_t len, struct scenario *out,
                          char *err, size_t errlen)
{
    char *text = jsonfile_copy(path, data, len, err, errlen);
    if (text == NULL)
        return -1;
    int rc = parse_scenario(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

static int parse_scenario(const char *path, const char *text, size_t len, struct scenario *out,
                          char *err, size_t errlen)
{
    static const char *const keys[] = {"name",
                                       "description",
                                       "api",
                                       "profile",
                                       "schedule",
                                       "model",
                                       "traffic",
                                       "users",
                                       "network",
                                       "settle_ms",
                                       "settle_quiet_ms",
                                       "price",
                                       "requests_per_day",
                                       "gates",
                                       "timeout_ms",
                                       "fault",
                                       "http",
                                       "users_per_connection",
                                       "stream",
                                       "mocks"};
    struct jctx c = {path, text, err, errlen};
    struct scenario s;
    memset(&s, 0, sizeof s);
    cJSON *root = jsonfile_parse(path, text, len, err, errlen);
    int rc = -1;
    if (root == NULL)
        goto done;
    if (!cJSON_IsObject(root)) {
        jctx_fail(&c, "(top)", "expected a JSON object");
        goto done;
    }
    if (cJSON_GetObjectItem(root, "suite")) {
        jctx_fail(&c, "suite", "this is a suite file, not a scenario");
        goto done;
    }
    if (jctx_check_keys(&c, root, "", keys, sizeof keys / sizeof keys[0]) != 0)
        goto done;
    snprintf(s.file, sizeof s.file, "%s", path);
    char stem[256];
    snprintf(stem, sizeof stem, "%s", path);
    char *base = basename(stem);
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = '\0';
    snprintf(s.name, sizeof s.name, "%.63s", base);
    s.requests = 20;
    s.concurrency = 4;
    s.settle_ms = 3000;
    s.price_in = s.price_out = -1;
    s.requests_per_day = 100000;
    s.timeout_ms = 60000;
    char api[32] = "openai-chat";
    if (jctx_get_str(&c, root, "name", "", s.name, sizeof s.name) != 0 ||
        jctx_get_str(&c, root, "description", "", s.description, sizeof s.description) != 0 ||
        jctx_get_str(&c, root, "api", "", api, sizeof api) != 0 ||
        jctx_get_str(&c, root, "profile", "", s.profile, sizeof s.profile) != 0 ||
        jctx_get_str(&c, root, "schedule", "", s.schedule, sizeof s.schedule) != 0)
        goto done;
    /* the name prefixes every correlation id ("<name>-<i>"): one the mock cannot take (empty, a
     * space, a quote, a byte outside printable ASCII) matches no ledger record, and the gates
     * then judge requests that seem to have cost nothing */
    if (!request_id_ok(s.name, strlen(s.name))) {
        jctx_fail(&c, "name",
                  "'%s' cannot prefix correlation ids: expected printable ASCII without spaces, "
                  "quotes or backslashes%s",
                  s.name,
                  cJSON_GetObjectItem(root, "name") ? "" : " (the file's name is the default)");
        goto done;
    }
    int st = chaos_style_parse(api);
    if (st < 0 || st == CHAOS_STYLE_CUSTOM) {
        jctx_fail(&c, "api",
                  "expected openai-chat, responses, anthropic, gemini, completions, ollama, azure, "
                  "bedrock or bedrock-invoke");
        goto done;
    }
    s.api = (enum chaos_style)st;
    s.api_given = cJSON_GetObjectItem(root, "api") != NULL;
    if (jctx_get_str(&c, root, "fault", "", s.fault, sizeof s.fault) != 0 ||
        check_answer(&c, "", s.fault, s.profile, s.schedule) != 0)
        goto done;
    if (!s.profile[0] && !s.schedule[0])
        snprintf(s.profile, sizeof s.profile, "%s", PROFILE_DEFAULT);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && parse_model(&c, model, "model", &s.overrides) != 0)
        goto done;
    const cJSON *mocks = cJSON_GetObjectItemCaseSensitive(root, "mocks");
    if (mocks && parse_mocks(&c, mocks, &s) != 0)
        goto done;
    const cJSON *traffic = cJSON_GetObjectItemCaseSensitive(root, "traffic");
    if (traffic) {
        static const char *const tkeys[] = {"requests",   "concurrency", "rate_per_s",
                                            "duration_s", "think_ms",    "isolate"};
        if (!cJSON_IsObject(traffic)) {
            jctx_fail(&c, "traffic",
                      "expected {\"requests\": N, \"concurrency\": C} or "
                      "{\"rate_per_s\": R, \"duration_s\": D, \"concurrency\": C}");
            goto done;
        }
        double duration = 0;
        int has_think = 0;
        if (jctx_check_keys(&c, traffic, "traffic", tkeys, 6) != 0 ||
            jctx_get_range(&c, traffic, "think_ms", "traffic", &s.think_ms, &has_think) != 0 ||
            jctx_get_bool(&c, traffic, "isolate", "traffic", &s.isolate) != 0 ||
            jctx_get_u32(&c, traffic, "requests", "traffic", 1, 1000000, &s.requests) != 0 ||
            jctx_get_u32(&c, traffic, "concurrency", "traffic", 1, 10000, &s.concurrency) != 0 ||
            jctx_get_num(&c, traffic, "rate_per_s", "traffic", 0.01, 10000, &s.rate_per_s) != 0 ||
            jctx_get_num(&c, traffic, "duration_s", "traffic", 0.1, 86400, &duration) != 0)
            goto done;
        int has_rate = cJSON_GetObjectItem(traffic, "rate_per_s") != NULL;
        int has_dur = cJSON_GetObjectItem(traffic, "duration_s") != NULL;
        if (has_rate != has_dur) {
            jctx_fail(&c, has_rate ? "traffic.rate_per_s" : "traffic.duration_s",
                      "rate_per_s and duration_s go together (an arrival rate over a duration)");
            goto done;
        }
        if (has_rate && cJSON_GetObjectItem(traffic, "requests")) {
            jctx_fail(&c, "traffic.requests", "give requests, or rate_per_s with duration_s");
            goto done;
        }
        if (has_rate) {
            double n = s.rate_per_s * duration;
            if (n < 1 || n > 1000000) {
                jctx_fail(&c, "traffic.rate_per_s",
                          "rate x duration must make 1 to 1000000 requests");
                goto done;
            }
            s.requests = (uint32_t)n;
            if (!cJSON_GetObjectItem(traffic, "concurrency"))
                s.concurrency = 10000; /* open model: arrivals never wait on answers */
        }
    }
    const cJSON *users = cJSON_GetObjectItemCaseSensitive(root, "users");
    if (users == NULL || !cJSON_IsArray(users) || cJSON_GetArraySize(users) == 0 ||
        cJSON_GetArraySize(users) > CHAOS_MAX_USERS) {
        jctx_fail(&c, "users", "required: an array of 1 to %d kinds of user", CHAOS_MAX_USERS);
        goto done;
    }
    const cJSON *u;
    cJSON_ArrayForEach(u, users)
    {
        if (parse_user(&c, u, s.nusers, &s.users[s.nusers], s.user_kind[s.nusers]) != 0)
            goto done;
        s.nusers++;
    }
    int stream = 1;
    if (jctx_get_bool(&c, root, "stream", "", &stream) != 0)
        goto done;
    s.non_streaming = !stream;
    for (size_t i = 0; s.non_streaming && i < s.nusers; i++) {
        const struct chaos_user *su = &s.users[i];
        if (su->action != CHAOS_COMPLETE && su->trigger != CHAOS_AT_MS) {
            char up[32];
            snprintf(up, sizeof up, "users[%zu]", i);
            jctx_fail(&c, up,
                      "with \"stream\": false the answer arrives whole at its end: "
                      "abandon it with after_ms (a client timeout, a navigation)");
            goto done;
        }
    }
    double total = 0;
    for (size_t i = 0; i < s.nusers; i++)
        total += s.users[i].weight;
    if (total <= 0) {
        jctx_fail(&c, "users", "the weights add up to 0");
        goto done;
    }
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(root, "network");
    if (net && parse_network(&c, net, &s) != 0)
        goto done;
    const cJSON *price = cJSON_GetObjectItemCaseSensitive(root, "price");
    if (price) {
        static const char *const pkeys[] = {"input_per_mtok", "output_per_mtok"};
        if (!cJSON_IsObject(price)) {
            jctx_fail(&c, "price", "expected {\"input_per_mtok\": X, \"output_per_mtok\": Y}");
            goto done;
        }
        if (jctx_check_keys(&c, price, "price", pkeys, 2) != 0 ||
            jctx_get_num(&c, price, "input_per_mtok", "price", 0, 1e6, &s.price_in) != 0 ||
            jctx_get_num(&c, price, "output_per_mtok", "price", 0, 1e6, &s.price_out) != 0)
            goto done;
    }
    if (jctx_get_u32(&c, root, "settle_ms", "", 0, 600000, &s.settle_ms) != 0 ||
        jctx_get_u32(&c, root, "settle_quiet_ms", "", 0, 600000, &s.settle_quiet_ms) != 0 ||
        jctx_get_num(&c, root, "requests_per_day", "", 0, 1e12, &s.requests_per_day) != 0 ||
        jctx_get_u32(&c, root, "timeout_ms", "", 100, 3600000, &s.timeout_ms) != 0 ||
        jctx_get_u32(&c, root, "users_per_connection", "", 1, 1000, &s.users_per_connection) != 0)
        goto done;
    /* the scenario's "http" wins over the gateway description's, which is the default */
    const cJSON *http = cJSON_GetObjectItemCaseSensitive(root, "http");
    s.http = http ? chaos_http_parse(cJSON_GetStringValue(http)) : -1;
    if (http && s.http < 0) {
        jctx_fail(&c, "http", "expected \"1.1\", \"2\" (HTTP/2 over TLS) or \"h2c\"");
        goto done;
    }
    const cJSON *gates = cJSON_GetObjectItemCaseSensitive(root, "gates");
    if (gates && parse_gates(&c, gates, &s) != 0)
        goto done;
    /* a fault with a retry-after invites a gateway to come back that much later, after the
     * mocks went idle: unless the scenario says, the settle waits for that quiet */
    if (!cJSON_GetObjectItemCaseSensitive(root, "settle_quiet_ms")) {
        int64_t secs = retry_after_of(s.fault);
        for (size_t i = 0; i < s.nmocks; i++) {
            int64_t m = retry_after_of(s.mocks[i].fault);
            secs = m > secs ? m : secs;
        }
        if (secs > 0)
            s.settle_quiet_ms = (uint32_t)(secs > 600 ? 600000 : secs * 1000 + 500);
    }
    *out = s;
    memset(&s, 0, sizeof s);
    rc = 0;
done:
    scenario_cleanup(&s);
    cJSON_Delete(root);
    return rc;
}
