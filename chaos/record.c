/* A client record as JSON (results and the runner's join read it). */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *chaos_record_json(const struct chaos_record *r)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "correlation_id", r->correlation_id);
    cJSON_AddStringToObject(o, "style", chaos_style_name(r->style));
    cJSON_AddStringToObject(o, "action", chaos_action_name(r->action));
    if (r->action == CHAOS_COMPLETE)
        cJSON_AddNullToObject(o, "trigger");
    else
        cJSON_AddStringToObject(o, "trigger", chaos_trigger_name(r->trigger));
    cJSON_AddNumberToObject(o, "index", r->index);
    cJSON_AddNumberToObject(o, "attempt", r->attempt);
    if (r->trigger_at < 0)
        cJSON_AddNullToObject(o, "trigger_at");
    else
        cJSON_AddNumberToObject(o, "trigger_at", (double)r->trigger_at);
    const char *tk[] = {"t_send_ns", "t_first_byte_ns", "t_abort_ns", "t_end_ns"};
    uint64_t tv[] = {r->t_send_ns, r->t_first_byte_ns, r->t_abort_ns, r->t_end_ns};
    for (int i = 0; i < 4; i++) {
        if (tv[i])
            cJSON_AddNumberToObject(o, tk[i], (double)tv[i]);
        else
            cJSON_AddNullToObject(o, tk[i]);
    }
    cJSON_AddNumberToObject(o, "delivered_tokens", (double)r->delivered_tokens);
    cJSON_AddNumberToObject(o, "total_tokens", (double)r->total_tokens);
    cJSON_AddNumberToObject(o, "gaps", (double)r->gaps);
    cJSON_AddNumberToObject(o, "duplicates", (double)r->duplicates);
    cJSON_AddNumberToObject(o, "reorders", (double)r->reorders);
    cJSON_AddNumberToObject(o, "arrivals", r->arrivals);
    cJSON_AddBoolToObject(o, "terminal_seen", r->terminal_seen);
    cJSON_AddStringToObject(o, "end", chaos_end_name(r->end));
    cJSON_AddNumberToObject(o, "http_status", (double)r->http_status);
    if (r->error[0])
        cJSON_AddStringToObject(o, "error", r->error);
    else
        cJSON_AddNullToObject(o, "error");
    cJSON_AddNumberToObject(o, "local_port", r->local_port);
    if (r->cancel_status)
        cJSON_AddNumberToObject(o, "cancel_status", (double)r->cancel_status);
    else
        cJSON_AddNullToObject(o, "cancel_status");
    if (r->superseded_by[0])
        cJSON_AddStringToObject(o, "superseded_by", r->superseded_by);
    else
        cJSON_AddNullToObject(o, "superseded_by");
    return o;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int end_parse(const char *s)
{
    for (int e = 0; s && e < CHAOS_END_COUNT; e++)
        if (strcmp(chaos_end_name((enum chaos_end)e), s) == 0)
            return e;
    return -1;
}

int chaos_record_from_json(const cJSON *o, struct chaos_record *r)
{
    memset(r, 0, sizeof *r);
    const char *cid = str(o, "correlation_id"), *action = str(o, "action"), *end = str(o, "end");
    const char *style = str(o, "style"), *trigger = str(o, "trigger");
    int a = action ? chaos_action_parse(action) : -1, e = end_parse(end);
    int st = style ? chaos_style_parse(style) : -1;
    if (cid == NULL || strlen(cid) >= sizeof r->correlation_id || a < 0 || e < 0 || st < 0 ||
        num(o, "attempt") < 1)
        return -1;
    snprintf(r->correlation_id, sizeof r->correlation_id, "%s", cid);
    r->style = (enum chaos_style)st;
    r->action = (enum chaos_action)a;
    r->end = (enum chaos_end)e;
    r->trigger = trigger == NULL                  ? CHAOS_AT_FIRST_BYTE
                 : strcmp(trigger, "tokens") == 0 ? CHAOS_AT_TOKENS
                 : strcmp(trigger, "ms") == 0     ? CHAOS_AT_MS
                                                  : CHAOS_AT_FIRST_BYTE;
    r->attempt = (uint32_t)num(o, "attempt");
    r->index = (uint32_t)num(o, "index");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "trigger_at");
    r->trigger_at = cJSON_IsNumber(at) ? (int64_t)at->valuedouble : -1;
    r->t_send_ns = (uint64_t)num(o, "t_send_ns");
    r->t_first_byte_ns = (uint64_t)num(o, "t_first_byte_ns");
    r->t_abort_ns = (uint64_t)num(o, "t_abort_ns");
    r->t_end_ns = (uint64_t)num(o, "t_end_ns");
    r->delivered_tokens = (uint64_t)num(o, "delivered_tokens");
    r->total_tokens = (uint64_t)num(o, "total_tokens");
    r->gaps = (uint64_t)num(o, "gaps");
    r->duplicates = (uint64_t)num(o, "duplicates");
    r->reorders = (uint64_t)num(o, "reorders");
    r->arrivals = (uint32_t)num(o, "arrivals");
    r->terminal_seen = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "terminal_seen"));
    r->http_status = (long)num(o, "http_status");
    const char *err = str(o, "error");
    snprintf(r->error, sizeof r->error, "%s", err ? err : "");
    r->local_port = (int)num(o, "local_port");
    r->cancel_status = (long)num(o, "cancel_status");
    const char *sup = str(o, "superseded_by");
    snprintf(r->superseded_by, sizeof r->superseded_by, "%s", sup ? sup : "");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(o, "trace_us");
    int n = cJSON_GetArraySize(tr);
    if (n > CHAOS_TRACE_MAX)
        return -1;
    if (n > 0) {
        r->trace_us = malloc((size_t)n * sizeof *r->trace_us);
        if (r->trace_us == NULL)
            return -1;
        const cJSON *t;
        cJSON_ArrayForEach(t, tr) r->trace_us[r->ntrace++] =
            cJSON_IsNumber(t) ? (uint32_t)t->valuedouble : 0;
    }
    return 0;
}
