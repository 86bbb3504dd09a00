/* mockprov's admin API under /_tailgate/. */
#ifndef MP_ADMIN_H
#define MP_ADMIN_H

#include <event2/http.h>

struct mock;
struct evhttp_request;

/* Returns 1 when the caller may use the admin API; else 0 after replying 403 or 401. */
int admin_allowed(struct mock *m, struct evhttp_request *req);
/* Answers /_tailgate/<path> ('path' without the prefix); every outcome replies to 'req'. */
void admin_handle(struct mock *m, struct evhttp_request *req, const char *path,
                  enum evhttp_cmd_type method);

#endif
