/* The stop button's cancel call, to the users' HTTP/2 origin or over a curl transfer. */
#include "cancelcall.h"

#include <stdio.h>
#include <stdlib.h>

#include "attempt.h"
#include "body.h"
#include "clientstate.h"
#include "h2pool.h"

/* Sends the stop button's cancel call. 'x' is held (cancel_outstanding) until it answers. */
void cancelcall_start(struct xfer *x)
{
    struct chaos_client *c = x->c;
    const struct chaos_request_spec *req = &c->cfg.req;
    char *url = body_fill(req->cancel_url, "", x->rec.correlation_id, 0, 0);
    const char *method = req->cancel_method ? req->cancel_method : "POST";
    char path[2048];
    /* over HTTP/2 a new stream on the users' connections when it goes to their origin */
    int h2 = url && c->h2 && h2pool_path_of(c->h2, url, path, sizeof path) == 0;
    struct xfer *k = url ? attempt_new(c, h2 ? NULL : url, method) : NULL;
    free(url);
    if (k) {
        static const struct chaos_user none = {.action = CHAOS_COMPLETE, .weight = 1};
        k->user = &none;
        k->is_cancel_call = 1;
        k->owner = x;
        if (req->cancel_body)
            k->body = body_fill(req->cancel_body, "", x->rec.correlation_id, 0, 1);
        char h[256];
        snprintf(h, sizeof h, "X-Request-Id: %s", x->rec.correlation_id);
        k->headers = curl_slist_append(k->headers, h);
        k->headers = curl_slist_append(k->headers, "Content-Type: application/json");
        attempt_link(k);
        char err[128];
        if (attempt_send(k, method, path, err, sizeof err) == 0)
            return;
        attempt_unlink(k);
        attempt_free(k);
    }
    x->rec.cancel_status = -1;
    x->cancel_outstanding = 0;
    if (x->rec.t_end_ns) /* the user request already ended: release its record now */
        attempt_finish(x, x->rec.end, x->rec.http_status, NULL);
}
