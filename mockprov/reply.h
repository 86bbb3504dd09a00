/* What mockprov sends back outside a stream: JSON bodies, errors in each API's shape, headers. */
#ifndef MP_REPLY_H
#define MP_REPLY_H

#include <stddef.h>

#include "request.h"

struct exchange;
struct mock;
struct sink;

/* Adds the API's request-id and version headers, and Content-Type unless content_type is NULL
 * (reply_json adds application/json). Borrows the strings. */
void reply_headers(struct exchange *x, enum api api, const char *rid, const char *content_type);
/* The same headers on a sink (common/sink.h), before it starts or replies. */
void reply_sink_headers(struct sink *sk, enum api api, const char *rid, const char *content_type);
/* Replies on a sink with 'json' plus a newline; the caller set Content-Type. */
void reply_sink_json(struct sink *sk, int code, const char *json);
/* Sends 'json' plus a newline with 'code' and Content-Type application/json. */
void reply_json(struct exchange *x, int code, const char *json);
/* Sends an HTTP error in the API's shape; a 4xx counts as a bad request. NULLs are omitted. */
void reply_error(struct mock *m, struct exchange *x, enum api api, int code, const char *type,
                 const char *ecode, const char *param, const char *msg);

#endif
