/* What of a client's request reaches the upstream: the vendors' headers and the mock's
 * x-tailgate-* controls, by an allow-list. */
#ifndef REFGW_FORWARD_H
#define REFGW_FORWARD_H

#include <curl/curl.h>

#include "exchange.h"

/* Appends the upstream request's headers to *list: the allow-list, nothing curl would add on its
 * own (a form Content-Type, Expect: 100-continue); strip_request_id leaves X-Request-Id out.
 * Looked up by name (an exchange has no header walk), the first of each. 0, or -1 when out of
 * memory. */
int forward_headers(const struct exchange *x, int strip_request_id, struct curl_slist **list);

#endif
