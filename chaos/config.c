/* Checks a chaos client's config before anything starts; every error names its field. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "scanner.h"

int chaos_config_validate(const struct chaos_config *cfg, char *err, size_t errlen)
{
    if ((unsigned)cfg->http > CHAOS_HTTP_H2C) {
        snprintf(err, errlen, "http: expected 1.1, 2 or h2c");
        return -1;
    }
    int tls = cfg->req.url && strncmp(cfg->req.url, "https://", 8) == 0;
    if (cfg->req.url == NULL || (!tls && strncmp(cfg->req.url, "http://", 7) != 0)) {
        snprintf(err, errlen, "request.url: expected http://HOST:PORT");
        return -1;
    }
    if (cfg->http == CHAOS_HTTP_2 && !tls) {
        /* curl would quietly speak HTTP/1.1 to an http:// URL: a run would test the wrong leg */
        snprintf(err, errlen, "http: 2 is HTTP/2 over TLS and needs an https:// URL (h2c is "
                              "HTTP/2 in cleartext)");
        return -1;
    }
    if (cfg->http == CHAOS_HTTP_H2C && tls) {
        snprintf(err, errlen, "http: h2c is HTTP/2 in cleartext and needs an http:// URL (2 is "
                              "HTTP/2 over TLS)");
        return -1;
    }
    if (cfg->users_per_connection > 1000) {
        snprintf(err, errlen, "users_per_connection: expected 1 to 1000");
        return -1;
    }
    if ((unsigned)cfg->req.style >= CHAOS_STYLE_COUNT) {
        snprintf(err, errlen, "request.style: unknown");
        return -1;
    }
    if (cfg->req.style == CHAOS_STYLE_CUSTOM && cfg->req.body_template == NULL) {
        snprintf(err, errlen, "request.body_template: required for the custom style");
        return -1;
    }
    if (cfg->nusers == 0 || cfg->nusers > CHAOS_MAX_USERS) {
        snprintf(err, errlen, "users: expected 1 to %d kinds of user", CHAOS_MAX_USERS);
        return -1;
    }
    if (cfg->requests == 0 || cfg->requests > 10000000) {
        snprintf(err, errlen, "requests: expected 1 to 10000000");
        return -1;
    }
    if (!(cfg->rate_per_s >= 0 && cfg->rate_per_s <= 100000)) {
        snprintf(err, errlen, "traffic.rate_per_s: expected 0 to 100000");
        return -1;
    }
    if (cfg->shard_count > 1 && cfg->shard_index >= cfg->shard_count) {
        snprintf(err, errlen, "shard: index %u is not below the count %u", cfg->shard_index,
                 cfg->shard_count);
        return -1;
    }
    if (cfg->concurrency == 0 || cfg->concurrency > 100000) {
        snprintf(err, errlen, "concurrency: expected 1 to 100000");
        return -1;
    }
    if (cfg->req.terminal_marker &&
        (cfg->req.terminal_marker[0] == '\0' ||
         strlen(cfg->req.terminal_marker) > SCANNER_MARKER_MAX)) {
        snprintf(err, errlen, "request.terminal_marker: expected 1 to %d bytes",
                 SCANNER_MARKER_MAX);
        return -1;
    }
    if (cfg->think_ms.lo > cfg->think_ms.hi) {
        snprintf(err, errlen, "traffic.think_ms: low end above high end");
        return -1;
    }
    if (cfg->req.nheaders > CHAOS_MAX_HEADERS) {
        snprintf(err, errlen, "request.headers: at most %d", CHAOS_MAX_HEADERS);
        return -1;
    }
    double total = 0;
    for (size_t i = 0; i < cfg->nusers; i++) {
        const struct chaos_user *u = &cfg->users[i];
        if ((unsigned)u->action >= CHAOS_ACTION_COUNT) {
            snprintf(err, errlen, "users[%zu].action: unknown", i);
            return -1;
        }
        if (!(u->weight >= 0 && u->weight <= 1e9)) {
            snprintf(err, errlen, "users[%zu].weight: expected 0 to 1e9", i);
            return -1;
        }
        total += u->weight;
        if (u->at.lo > u->at.hi) {
            snprintf(err, errlen, "users[%zu].at: low end above high end", i);
            return -1;
        }
        if (u->action == CHAOS_NETWORK_DROP && cfg->drop == NULL) {
            snprintf(err, errlen, "users[%zu].action: network_drop needs the chaos proxy in "
                                  "front of the gateway (no drop hook configured)", i);
            return -1;
        }
        if (u->action == CHAOS_BACKGROUND && u->background_ms == 0) {
            snprintf(err, errlen, "users[%zu].background_ms: required for background", i);
            return -1;
        }
        if (u->retries > 100) {
            snprintf(err, errlen, "users[%zu].retries: expected 0 to 100", i);
            return -1;
        }
        if (u->action == CHAOS_HALF_CLOSE && cfg->http != CHAOS_HTTP_1_1) {
            /* a stream's half-close is the END_STREAM every request already sends */
            snprintf(err, errlen, "users[%zu].action: half_close is HTTP/1.1 only (over HTTP/2 "
                                  "every request half-closes its stream already)", i);
            return -1;
        }
        if (cfg->req.non_streaming && u->action != CHAOS_COMPLETE && u->trigger != CHAOS_AT_MS) {
            /* the answer arrives whole at its end: a token or first-byte trigger would act
             * only once nothing is left to abandon */
            snprintf(err, errlen, "users[%zu]: a non-streaming request is abandoned on a timer: "
                                  "give after_ms", i);
            return -1;
        }
        if (u->task_requests > CHAOS_TASK_MAX) {
            snprintf(err, errlen, "users[%zu].task.requests: expected 1 to %d", i,
                     CHAOS_TASK_MAX);
            return -1;
        }
        if (u->task_requests > 1 &&
            !(u->action == CHAOS_COMPLETE || u->action == CHAOS_TAB_CLOSE ||
              u->action == CHAOS_RESET || u->action == CHAOS_STOP_BUTTON)) {
            snprintf(err, errlen, "users[%zu].task: a task is left with complete, tab_close, "
                                  "stop_button or reset", i);
            return -1;
        }
        if (u->task_requests > 1 && u->retries) {
            snprintf(err, errlen, "users[%zu].task: a task's requests are not retried", i);
            return -1;
        }
        if (u->action == CHAOS_STOP_BUTTON && u->cancel_call && cfg->req.cancel_url == NULL) {
            snprintf(err, errlen, "users[%zu].cancel_call: needs request.cancel_url", i);
            return -1;
        }
    }
    if (total <= 0) {
        snprintf(err, errlen, "users: the weights add up to 0");
        return -1;
    }
    return 0;
}
