/* One attempt of one user request, from its start to its record: a curl transfer on a
 * connection of its own (HTTP/1.1), or a stream of the HTTP/2 pool. */
#include "attempt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "body.h"
#include "clientstate.h"
#include "clock.h"
#include "curlev.h"
#include "h2pool.h"
#include "reader.h"
#include "retry.h"
#include "sockport.h"
#include "task.h"
#include "teardown.h"
#include "terminal.h"
#include "think.h"
#include "trigger.h"
#include "unframe.h"

void attempt_free(struct xfer *x)
{
    if (x == NULL)
        return;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    scanner_cleanup(&x->sc);
    if (x->uf)
        unframe_cleanup(x->uf);
    free(x->uf);
    free(x->trace);
    if (x->trigger_ev)
        event_free(x->trigger_ev);
    free(x);
}

/* The local port under the attempt: its socket's, or over HTTP/2 its connection's. */
int attempt_local_port(const struct xfer *x)
{
    return x->easy ? sock_local_port(x->fd) : h2stream_local_port(x->hs);
}

void attempt_link(struct xfer *x)
{
    struct chaos_client *c = x->c;
    x->prev = NULL;
    x->next = c->xfers;
    if (c->xfers)
        c->xfers->prev = x;
    c->xfers = x;
}

void attempt_unlink(struct xfer *x)
{
    /* on the list: it has a predecessor there, or it is the head */
    if (x->prev || x->c->xfers == x) {
        if (x->prev)
            x->prev->next = x->next;
        else
            x->c->xfers = x->next;
        if (x->next)
            x->next->prev = x->prev;
    }
    x->next = x->prev = NULL;
}

void attempt_finish(struct xfer *x, enum chaos_end end, long status, const char *error)
{
    struct chaos_client *c = x->c;
    if (x->trigger_ev)
        evtimer_del(x->trigger_ev);
    if (!x->is_cancel_call && x->rec.t_end_ns == 0) {
        scanner_finish(&x->sc);
        x->rec.t_end_ns = clock_now_ns();
        x->rec.end = end;
        x->rec.http_status = status;
        if (error)
            snprintf(x->rec.error, sizeof x->rec.error, "%s", error);
        x->rec.total_tokens = x->sc.tokens;
        if (!x->rec.t_abort_ns)
            x->rec.delivered_tokens = x->sc.tokens;
        x->rec.gaps = x->sc.gaps;
        x->rec.duplicates = x->sc.dups;
        x->rec.reorders = x->sc.reorders;
        if (x->sc.nmarkers)
            x->rec.terminal_seen = x->sc.marker_seen;
        long port = 0;
        if (x->rec.local_port == 0 && x->easy &&
            curl_easy_getinfo(x->easy, CURLINFO_LOCAL_PORT, &port) == CURLE_OK)
            x->rec.local_port = (int)port;
    }
    attempt_unlink(x);
    if (x->is_follow_up)
        trigger_release_superseded(x); /* it ended before its request went out */
    if (x->cancel_outstanding)
        return; /* held until its cancel call answers; the record goes out then */
    x->next = c->dead;
    c->dead = x;
    client_schedule_reap(c);
    if (x->is_cancel_call) {
        struct xfer *owner = x->owner;
        if (owner) {
            owner->rec.cancel_status = status ? status : -1;
            owner->cancel_outstanding = 0;
            if (owner->rec.t_end_ns)
                attempt_finish(owner, owner->rec.end, owner->rec.http_status, NULL);
        }
        return;
    }
    c->stats.finished++;
    if (end == CHAOS_END_HTTP_ERROR)
        c->stats.http_errors++;
    else if (end == CHAOS_END_ERROR)
        c->stats.errors++;
    else if (end == CHAOS_END_TIMEOUT)
        c->stats.timeouts++;
    if (c->cfg.on_record)
        c->cfg.on_record(c->cfg.record_arg, &x->rec);
    int dropped = end == CHAOS_END_DROP || end == CHAOS_END_RST || end == CHAOS_END_FIN ||
                  end == CHAOS_END_ERROR || end == CHAOS_END_TIMEOUT;
    if (x->retries_left > 0 && dropped && retry_schedule(x) == 0)
        return; /* still in flight: its retry carries it */
    if (x->task) {
        task_member_done(x); /* the task holds the slot until its last request ends */
        return;
    }
    think_free_slot(c, x->is_follow_up ? NULL : &x->rec);
}

/* A transfer the server ended without error: complete, an HTTP error, or cut short. */
static void finish_ended(struct xfer *x, long status)
{
    if (status >= 400) {
        attempt_finish(x, CHAOS_END_HTTP_ERROR, status, NULL);
        return;
    }
    /* Without the vendor's terminal event it was cut short somewhere (a user who left still
     * ends as the action says; one who came back, a resumed background, read on to the end and
     * is judged like a complete one). No marker to look for: OK is all we know. */
    x->rec.terminal_seen = x->sc.nmarkers ? x->sc.marker_seen : 1;
    int left = x->fired && x->abort_end != CHAOS_END_COMPLETE;
    enum chaos_end e = left                   ? x->abort_end
                       : x->rec.terminal_seen ? CHAOS_END_COMPLETE
                                              : CHAOS_END_TRUNCATED;
    attempt_finish(x, e, status, NULL);
}

/* A finished transfer, still in the multi handle (curlev's contract). */
void attempt_done_cb(void *arg, CURL *easy, CURLcode rc)
{
    (void)arg;
    struct xfer *x = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    /* the port before the removal: that can close the socket */
    if (x->rec.local_port == 0)
        x->rec.local_port = sock_local_port(x->fd);
    x->removed = 1;
    curlev_remove(x->c->cv, x->easy);
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    /* Once the user acted, the attempt ends as the action says, however curl saw it go: our
     * own abort from the write callback, or a dropped link that reset us first. */
    if (x->fired && x->abort_end != CHAOS_END_COMPLETE && rc != CURLE_OK)
        attempt_finish(x, x->abort_end, status, NULL);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        attempt_finish(x, CHAOS_END_TIMEOUT, status, curl_easy_strerror(rc));
    else if (rc != CURLE_OK)
        attempt_finish(x, CHAOS_END_ERROR, status, curl_easy_strerror(rc));
    else
        finish_ended(x, status);
}

/* HTTP/2: the stream ended (h2pool's on_end), as attempt_done_cb for a curl transfer. */
static void h2_end_cb(void *arg, enum h2pool_end end, uint32_t code, const char *why)
{
    (void)code;
    struct xfer *x = arg;
    x->hs = NULL;
    long status = x->h2_status;
    if (x->fired && x->abort_end != CHAOS_END_COMPLETE && end != H2POOL_END_OK)
        attempt_finish(x, x->abort_end, status, NULL);
    else if (end == H2POOL_END_TIMEOUT)
        attempt_finish(x, CHAOS_END_TIMEOUT, status, "Timeout was reached");
    else if (end != H2POOL_END_OK)
        attempt_finish(x, CHAOS_END_ERROR, status, why);
    else
        finish_ended(x, status);
}

static void h2_sent_cb(void *arg)
{
    struct xfer *x = arg;
    if (x->is_follow_up)
        trigger_release_superseded(x); /* the replacement's request is going out */
}

static void h2_status_cb(void *arg, int status)
{
    ((struct xfer *)arg)->h2_status = status;
}

static void h2_data_cb(void *arg, const uint8_t *data, size_t len)
{
    reader_write_cb((char *)data, 1, len, arg);
}

static const struct h2pool_stream_cbs h2_cbs = {
    .on_sent = h2_sent_cb, .on_status = h2_status_cb, .on_data = h2_data_cb, .on_end = h2_end_cb};

/* A new attempt; with a URL, a curl transfer to it (HTTP/1.1 on a connection of its own),
 * without one an HTTP/2 stream to be sent by attempt_send. */
struct xfer *attempt_new(struct chaos_client *c, const char *url, const char *method)
{
    struct xfer *x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    x->c = c;
    x->fd = -1;
    scanner_init(&x->sc);
    enum chaos_style st = c->cfg.req.style;
    if ((st == CHAOS_STYLE_BEDROCK || st == CHAOS_STYLE_BEDROCK_INVOKE) &&
        !c->cfg.req.non_streaming) {
        x->uf = malloc(sizeof *x->uf);
        if (x->uf == NULL) {
            attempt_free(x);
            return NULL;
        }
        unframe_init(x->uf, st == CHAOS_STYLE_BEDROCK_INVOKE);
    }
    x->trigger_ev = evtimer_new(c->base, trigger_ev_cb, x);
    if (x->trigger_ev == NULL || (url && (x->easy = curl_easy_init()) == NULL)) {
        attempt_free(x);
        return NULL;
    }
    if (url == NULL)
        return x;
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, reader_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, teardown_open_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, teardown_close_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, x);
    /* one connection per attempt: what a close or a reset does must hit this request only */
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (c->cfg.req.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg.req.ca_file);
    if (c->cfg.req.tls_insecure) { /* the description's "tls": {"insecure": true} */
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    return x;
}

/* Sends the attempt, its headers and body set: a curl transfer, or a stream on 'path' of the
 * HTTP/2 pool's origin. 0, or -1 with err filled (the attempt is not linked then). */
int attempt_send(struct xfer *x, const char *method, const char *path, char *err, size_t errlen)
{
    struct chaos_client *c = x->c;
    if (x->easy) {
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
        if (x->body)
            curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
        return curlev_add(c->cv, x->easy, err, errlen);
    }
    const char *hv[CHAOS_MAX_HEADERS + 8];
    size_t nh = 0;
    for (struct curl_slist *l = x->headers; l && nh < sizeof hv / sizeof hv[0]; l = l->next)
        hv[nh++] = l->data;
    x->hs = h2pool_request(c->h2, method, path, hv, nh, x->body, x->body ? strlen(x->body) : 0,
                           &h2_cbs, x, err, errlen);
    if (x->hs == NULL)
        return -1;
    x->rec.local_port = h2stream_local_port(x->hs);
    return 0;
}

/* Starts one attempt; NULL if it could not be. follow_up: a supersede replacement. */
struct xfer *attempt_start(struct chaos_client *c, uint32_t index, const char *cid,
                           uint32_t attempt, const struct chaos_user *user, int64_t trigger_at,
                           uint32_t retries_left, const char *idem_key, int follow_up,
                           struct task *task)
{
    const struct chaos_request_spec *req = &c->cfg.req;
    char url[2048], path[2048];
    char vpath[160];
    snprintf(url, sizeof url, "%s%s", req->url,
             req->path ? req->path : body_default_path(req, vpath, sizeof vpath));
    const char *method = req->style == CHAOS_STYLE_CUSTOM && req->method ? req->method : "POST";
    int h2 = c->h2 && h2pool_path_of(c->h2, url, path, sizeof path) == 0;
    struct xfer *x = attempt_new(c, h2 ? NULL : url, method);
    if (x == NULL)
        return NULL;
    char err[128];
    x->body = chaos_request_body(req, cid, err, sizeof err);
    if (x->body == NULL) {
        attempt_free(x);
        return NULL;
    }
    if (terminal_watch(x) != 0) {
        attempt_free(x);
        return NULL;
    }
    x->is_follow_up = follow_up;
    x->task = task;
    if (follow_up && x->easy) {
        curl_easy_setopt(x->easy, CURLOPT_PREREQFUNCTION, trigger_prereq_cb);
        curl_easy_setopt(x->easy, CURLOPT_PREREQDATA, x);
    }
    x->user = user;
    x->retries_left = retries_left;
    x->abort_end = CHAOS_END_COMPLETE;
    snprintf(x->idem_key, sizeof x->idem_key, "%s", idem_key ? idem_key : cid);
    struct chaos_record *r = &x->rec;
    snprintf(r->correlation_id, sizeof r->correlation_id, "%s", cid);
    r->style = req->style;
    r->action = user->action;
    r->trigger = user->trigger;
    r->attempt = attempt;
    r->index = index;
    r->trigger_at = trigger_at;
    char h[256];
    snprintf(h, sizeof h, "X-Request-Id: %s", cid);
    x->headers = curl_slist_append(x->headers, h);
    x->headers = curl_slist_append(x->headers, "Content-Type: application/json");
    x->headers = curl_slist_append(x->headers, "Expect:");
    if (user->retries || attempt > 1) {
        snprintf(h, sizeof h, "Idempotency-Key: %s", x->idem_key);
        x->headers = curl_slist_append(x->headers, h);
    }
    for (size_t i = 0; i < req->nheaders; i++)
        x->headers = curl_slist_append(x->headers, req->headers[i]);
    attempt_link(x);
    r->t_send_ns = clock_now_ns();
    c->stats.started++;
    if (attempt_send(x, method, path, err, sizeof err) != 0) {
        attempt_unlink(x);
        attempt_free(x);
        return NULL;
    }
    if (task)
        task->live++; /* its ms trigger is the task's (task_start) */
    else if (user->action != CHAOS_COMPLETE && user->trigger == CHAOS_AT_MS)
        trigger_arm(x, (uint32_t)trigger_at);
    return x;
}

/* ---- agent tasks ---------------------------------------------------------------------------- */
