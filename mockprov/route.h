/* mockprov's routes: vendor endpoints, admin API, /metrics, for requests from either
 * transport. */
#ifndef MP_ROUTE_H
#define MP_ROUTE_H

struct evhttp_request;
struct exchange;
struct mock;

/* Answers one request. */
void route_request(struct mock *m, struct exchange *x);
/* Answers a request a transport would not take (431, 413, 408, ...) in the shape of the API
 * its path names: 'path' when given, else the exchange's. */
void route_reject(struct mock *m, struct exchange *x, int status, const char *message,
                  const char *path);

/* The same for HTTP/2 (h2conn.h's callbacks); 'arg' is the mock. */
void route_h2_cb(struct exchange *x, void *arg);
void route_h2_reject_cb(struct exchange *x, int status, const char *message, void *arg);

/* The same for evhttp (httpd.h's callbacks); 'arg' is the mock. */
void route_cb(struct evhttp_request *req, void *arg);
void route_reject_cb(struct evhttp_request *req, int status, const char *message,
                     const char *path, void *arg);

#endif
