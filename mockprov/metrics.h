/* mockprov's Prometheus /metrics (text format 0.0.4). */
#ifndef MP_METRICS_H
#define MP_METRICS_H

struct mock;
struct evhttp_request;

/* Replies 200 with every counter and gauge. The caller checked admin_allowed. */
void metrics_reply(struct mock *m, struct evhttp_request *req);

#endif
