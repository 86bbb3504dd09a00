/* A client record as JSON (results and the runner's join read it). */
#include "client.h"

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
