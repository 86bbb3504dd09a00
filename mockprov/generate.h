/* The vendor generation endpoints: POST /v1/chat/completions, /v1/responses, /v1/messages,
 * /v1beta/models/{model}:generateContent and :streamGenerateContent, /v1/completions, Ollama's
 * /api/chat and /api/generate, Azure's /openai/ routes, Bedrock's
 * /model/{modelId}/converse[-stream] and /model/{modelId}/invoke[-with-response-stream]. */
#ifndef MP_GENERATE_H
#define MP_GENERATE_H

#include "request.h"

struct mock;
struct exchange;

/* Answers one generation request in 'api''s shape; every outcome replies to 'req'. */
void generate_handle(struct mock *m, struct exchange *x, enum api api);
/* The same for Gemini, whose model and method the route took from the path: stream for
 * streamGenerateContent, json_stream when it is not alt=sse. */
void generate_handle_gemini(struct mock *m, struct exchange *x, const char *model, int stream,
                            int json_stream);
/* The same for Azure OpenAI's chat completions; 'deployment' from the path (NULL on
 * /openai/v1/). */
void generate_handle_azure(struct mock *m, struct exchange *x, const char *deployment);
/* The same for Ollama's /api/chat, or /api/generate when 'generate'. */
void generate_handle_ollama(struct mock *m, struct exchange *x, int generate);
/* The same for Bedrock (api API_BEDROCK or API_BEDROCK_INVOKE), whose model and operation the
 * route took from the path; records whether the request was SigV4-signed. */
void generate_handle_bedrock(struct mock *m, struct exchange *x, enum api api, const char *model,
                             int stream);

#endif
