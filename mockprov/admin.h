/* mockprov's admin API under /_tailgate/. */
#ifndef MP_ADMIN_H
#define MP_ADMIN_H

struct exchange;
struct mock;

/* Returns 1 when the caller may use the admin API; else 0 after replying 403 or 401. Over
 * HTTP/2 always 0: who sent a request is read off the HTTP/1.1 one. */
int admin_allowed(struct mock *m, struct exchange *x);
/* Answers /_tailgate/<path> ('path' without the prefix); every outcome replies to 'x'. */
void admin_handle(struct mock *m, struct exchange *x, const char *path);

#endif
