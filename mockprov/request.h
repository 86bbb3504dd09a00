/* Incoming vendor requests: validation and the few fields the mock acts on. */
#ifndef MP_REQUEST_H
#define MP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

enum api {
    API_CHAT,           /* OpenAI Chat Completions */
    API_RESPONSES,      /* OpenAI Responses */
    API_MESSAGES,       /* Anthropic Messages */
    API_GEMINI,         /* Google Gemini generateContent / streamGenerateContent */
    API_COMPLETIONS,    /* OpenAI's legacy text completions (POST /v1/completions) */
    API_OLLAMA,         /* Ollama's /api/chat and /api/generate */
    API_AZURE,          /* Azure OpenAI's chat completions (rendered as API_CHAT, annotated) */
    API_BEDROCK,        /* AWS Bedrock Converse / ConverseStream */
    API_BEDROCK_INVOKE, /* AWS Bedrock InvokeModel[WithResponseStream], an Anthropic body */
};

#define REQUEST_ID_MAX 128
#define REQUEST_MODEL_MAX 128

struct request {
    enum api api;
    char model[REQUEST_MODEL_MAX];
    int stream;
    int json_stream; /* Gemini streamGenerateContent without alt=sse: a JSON array */
    int ollama_generate; /* Ollama /api/generate ("response"), else /api/chat ("message") */
    int sigv4;           /* Bedrock: the request was SigV4-signed (not verified) */
    int background;
    int include_usage;
    int64_t max_tokens; /* -1: none */
    char cid[REQUEST_ID_MAX];
    const char *id_source; /* header, user, metadata, marker, none */
    uint64_t input_tokens;
};

/* A client error, rendered by wire_error_body in the vendor's shape. */
struct request_error {
    int status;
    const char *type;  /* invalid_request_error, ... */
    const char *code;  /* OpenAI code or NULL */
    char param[64];    /* offending field or "" */
    char message[512];
};

/* OpenAI's words for a body that is not JSON; request_parse adds where and what. */
#define REQUEST_MSG_BAD_JSON                                                                      \
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "     \
    "using your HTTP library correctly.)"

const char *request_api_name(enum api api);

/* Parses and validates a request body for 'api'. 'rid_header' is the X-Request-Id header or
 * NULL. Returns 0, or -1 with err filled (status 400). Borrows everything. */
int request_parse(enum api api, const char *body, size_t len, const char *rid_header,
                  struct request *out, struct request_error *err);

/* Gemini's request: the model and the method come from the path
 * (/v1beta/models/{model}:{method}), so the caller passes them; stream: streamGenerateContent,
 * json_stream: without alt=sse. The body's contents[].parts[].text, systemInstruction and
 * generationConfig.maxOutputTokens (or their snake_case spellings, which Google's JSON mapping
 * accepts too) are what the mock acts on. Same contract as request_parse. */
int request_parse_gemini(const char *model, int stream, int json_stream, const char *body,
                         size_t len, const char *rid_header, struct request *out,
                         struct request_error *err);

/* Ollama's request: /api/chat (messages[].content) or, when 'generate', /api/generate (prompt,
 * system). The model is required, stream defaults to true, options.num_predict caps the answer
 * (-1 or -2: no cap). Errors are Ollama's: status 400 and a message. Same contract as
 * request_parse. */
int request_parse_ollama(int generate, const char *body, size_t len, const char *rid_header,
                         struct request *out, struct request_error *err);

/* Azure OpenAI's chat completions body: Chat Completions', whose model may be left out (the
 * deployment in the path names it: 'deployment', or NULL on the /openai/v1/ route, where the
 * model is required). Same contract as request_parse. */
int request_parse_azure(const char *deployment, const char *body, size_t len,
                        const char *rid_header, struct request *out, struct request_error *err);
/* Bedrock's request: the model and the operation come from the path
 * (/model/{modelId}/converse[-stream], /model/{modelId}/invoke[-with-response-stream]), so the
 * caller passes them; api: API_BEDROCK (Converse: messages[].content[].text, system[].text,
 * inferenceConfig.maxTokens) or API_BEDROCK_INVOKE (an Anthropic Messages body without the
 * model, with anthropic_version). Errors are Bedrock's ValidationException. Same contract as
 * request_parse. */
int request_parse_bedrock(enum api api, const char *model, int stream, const char *body, size_t len,
                          const char *rid_header, struct request *out, struct request_error *err);

/* 1 when 's' is usable as a correlation id (printable, no spaces, < REQUEST_ID_MAX). */
int request_id_ok(const char *s, size_t len);

#endif
