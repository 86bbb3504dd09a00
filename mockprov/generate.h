/* The vendor generation endpoints: POST /v1/chat/completions, /v1/responses, /v1/messages. */
#ifndef MP_GENERATE_H
#define MP_GENERATE_H

#include "request.h"

struct mock;
struct evhttp_request;

/* Answers one generation request in 'api''s shape; every outcome replies to 'req'. */
void generate_handle(struct mock *m, struct evhttp_request *req, enum api api);

#endif
