/* The vendor generation endpoints: POST /v1/chat/completions, /v1/responses, /v1/messages. */
#ifndef MP_GENERATE_H
#define MP_GENERATE_H

#include "request.h"

struct mock;
struct exchange;

/* Answers one generation request in 'api''s shape; every outcome replies to 'req'. */
void generate_handle(struct mock *m, struct exchange *x, enum api api);

#endif
