/* The replies refgw makes itself (not relayed): JSON errors in OpenAI's shape. */
#ifndef REFGW_GWERROR_H
#define REFGW_GWERROR_H

#include "exchange.h"

/* Sent when there is no memory for the error itself. */
#define GWERROR_OOM_JSON "{\"error\":{\"message\":\"out of memory\"}}"

/* {"error":{"message","type","param","code"}} (ecode NULL: a null code); malloc'd, NULL when out
 * of memory. */
char *gwerror_json(const char *type, const char *ecode, const char *msg);
/* The JSON and its newline as the whole reply. */
void gwerror_send_json(struct exchange *x, int code, const char *json);
void gwerror_send(struct exchange *x, int code, const char *type, const char *ecode,
                  const char *msg);
/* A request the guard (or a transport) would not take, in the same shape. */
void gwerror_reject(struct exchange *x, int status, const char *message);

#endif
