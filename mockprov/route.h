/* mockprov's routes: vendor endpoints, admin API, /metrics. */
#ifndef MP_ROUTE_H
#define MP_ROUTE_H

struct evhttp_request;

/* Answers one request; 'arg' is the mock. */
void route_cb(struct evhttp_request *req, void *arg);
/* Answers a request the guard or evhttp would not take, in the shape of the API its path
 * names; 'arg' is the mock. */
void route_reject_cb(struct evhttp_request *req, int status, const char *message,
                     const char *path, void *arg);

#endif
