/* Request bodies (chaos_request_body in client.h) and the templates behind them. */
#ifndef CHAOS_BODY_H
#define CHAOS_BODY_H

#include <stdint.h>

#include "client.h"

/* The style's vendor path, e.g. /v1/chat/completions; Gemini's names the model and whether it
 * streams, so it is written into 'buf'. */
const char *body_default_path(const struct chaos_request_spec *req, char *buf, size_t len);

/* Replaces {{name}} placeholders; values are inserted JSON-escaped when 'json' (without the
 * quotes the template already has). malloc'd, NULL past CLIENT_BODY_MAX or on OOM. */
char *body_fill(const char *tmpl, const char *prompt, const char *cid, uint32_t max_tokens,
                int json);

#endif
