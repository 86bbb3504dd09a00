/* Incoming vendor requests: validation per API and correlation-id extraction: header,
 * then the body's user fields, then a [tg:<id>] marker, because gateways drop headers.
 * Gemini has no user field: header, then the marker. */
#include "request.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jparse.h"

const char *request_api_name(enum api api)
{
    switch (api) {
    case API_CHAT:
        return "chat";
    case API_RESPONSES:
        return "responses";
    case API_MESSAGES:
        return "messages";
    case API_GEMINI:
        return "gemini";
    case API_COMPLETIONS:
        return "completions";
    case API_OLLAMA:
        return "ollama";
    case API_AZURE:
        return "azure";
    case API_BEDROCK:
        return "bedrock";
    case API_BEDROCK_INVOKE:
        return "bedrock-invoke";
    }
    return "?";
}

static int fail(struct request_error *err, const char *param, const char *fmt, const char *a)
{
    err->status = 400;
    err->type = "invalid_request_error";
    err->code = param && *param ? "invalid_value" : NULL;
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    snprintf(err->message, sizeof err->message, fmt, a ? a : "");
    if (strncmp(err->message, "Missing required", 16) == 0)
        err->code = "missing_required_parameter"; /* OpenAI's code for an absent field */
    return -1;
}

int request_id_ok(const char *s, size_t len)
{
    if (len == 0 || len >= REQUEST_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == '"' ||
            s[i] == '\\')
            return 0;
    return 1;
}

static void set_cid(struct request *r, const char *s, size_t len, const char *source)
{
    memcpy(r->cid, s, len);
    r->cid[len] = '\0';
    r->id_source = source;
}

/* "[tg:<id>]" anywhere in the text */
static int find_marker_in(const char *text, struct request *r)
{
    const char *m = strstr(text, "[tg:");
    if (m == NULL)
        return 0;
    m += 4;
    const char *end = strchr(m, ']');
    if (end == NULL || !request_id_ok(m, (size_t)(end - m)))
        return 0;
    set_cid(r, m, (size_t)(end - m), "marker");
    return 1;
}

/* The marker in any text part of the last user message's content (a string or parts). */
static int find_marker(const cJSON *content, struct request *r)
{
    if (cJSON_IsString(content))
        return find_marker_in(content->valuestring, r);
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(t) && find_marker_in(t->valuestring, r))
            return 1;
    }
    return 0;
}

/* Counts text bytes of a content value (string, or array of parts with "text"). */
static uint64_t content_bytes(const cJSON *content)
{
    uint64_t n = 0;
    if (cJSON_IsString(content))
        return strlen(content->valuestring);
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(t))
            n += strlen(t->valuestring);
    }
    return n;
}

static int content_ok(const cJSON *content)
{
    if (cJSON_IsString(content))
        return 1;
    if (!cJSON_IsArray(content))
        return 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        if (!cJSON_IsObject(part))
            return 0;
    }
    return 1;
}

/* Validates a messages array (chat, messages) or an input array (responses); sums text bytes;
 * finds the last user text. */
static int walk_messages(const cJSON *msgs, const char *field, int require_role,
                         uint64_t *bytes, const cJSON **last_user, struct request_error *err)
{
    const cJSON *m;
    int i = 0;
    char param[64];
    cJSON_ArrayForEach(m, msgs)
    {
        snprintf(param, sizeof param, "%s[%d]", field, i);
        if (!cJSON_IsObject(m))
            return fail(err, param, "Invalid type for '%s': expected an object.", param);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (require_role && !cJSON_IsString(role)) {
            char rp[64];
            snprintf(rp, sizeof rp, "%.58s.role", param);
            return fail(err, rp, "Missing required parameter: '%s'.", rp);
        }
        if (content && !cJSON_IsNull(content) && !content_ok(content))
            return fail(err, param, "Invalid type for '%s.content': expected a string or an "
                                    "array of content parts.", param);
        if (content)
            *bytes += content_bytes(content);
        if (content && cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0)
            *last_user = content;
        i++;
    }
    return 0;
}

static int get_bool(const cJSON *o, const char *k, int *out, struct request_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return fail(err, k, "Invalid type for '%s': expected a boolean.", k);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_cap(const cJSON *o, const char *k, int64_t *out, struct request_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v))
        return fail(err, k, "Invalid type for '%s': expected an integer.", k);
    /* range first: casting an out-of-range double to an integer is undefined */
    if (!(v->valuedouble >= 1 && v->valuedouble <= 1e9))
        return fail(err, k, "Invalid '%s': expected an integer between 1 and 1000000000.", k);
    if (v->valuedouble != (double)(int64_t)v->valuedouble)
        return fail(err, k, "Invalid type for '%s': expected an integer.", k);
    *out = (int64_t)v->valuedouble;
    return 0;
}

/* stream_options.include_usage (chat and legacy completions). */
static int stream_options(const cJSON *root, struct request *r, struct request_error *err)
{
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so))
            return fail(err, "stream_options", "Invalid type for '%s': expected an object.",
                        "stream_options");
        if (get_bool(so, "include_usage", &r->include_usage, err) != 0) {
            snprintf(err->param, sizeof err->param, "stream_options.include_usage");
            snprintf(err->message, sizeof err->message,
                     "Invalid type for 'stream_options.include_usage': expected a boolean.");
            return -1;
        }
    }
    return 0;
}

/* The user field as the correlation id, when no header gave one. */
static void user_cid(const cJSON *root, struct request *r)
{
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(root, "user");
    if (r->cid[0] == '\0' && cJSON_IsString(user) &&
        request_id_ok(user->valuestring, strlen(user->valuestring)))
        set_cid(r, user->valuestring, strlen(user->valuestring), "user");
}

static int parse_chat(const cJSON *root, struct request *r, uint64_t *bytes,
                      const cJSON **last_user, struct request_error *err)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (msgs == NULL)
        return fail(err, "messages", "Missing required parameter: '%s'.", "messages");
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return fail(err, "messages", "Invalid '%s': expected a non-empty array.", "messages");
    if (walk_messages(msgs, "messages", 1, bytes, last_user, err) != 0)
        return -1;
    if (get_cap(root, "max_tokens", &r->max_tokens, err) != 0 ||
        get_cap(root, "max_completion_tokens", &r->max_tokens, err) != 0)
        return -1;
    if (stream_options(root, r, err) != 0)
        return -1;
    user_cid(root, r);
    return 0;
}

static int parse_responses(const cJSON *root, struct request *r, uint64_t *bytes,
                           const cJSON **last_user, struct request_error *err)
{
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    if (input == NULL)
        return fail(err, "input", "Missing required parameter: '%s'.", "input");
    if (cJSON_IsString(input)) {
        *bytes += strlen(input->valuestring);
        *last_user = input;
    } else if (cJSON_IsArray(input)) {
        if (walk_messages(input, "input", 0, bytes, last_user, err) != 0)
            return -1;
    } else {
        return fail(err, "input", "Invalid type for '%s': expected a string or an array.",
                    "input");
    }
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(root, "instructions");
    if (cJSON_IsString(ins))
        *bytes += strlen(ins->valuestring);
    if (get_cap(root, "max_output_tokens", &r->max_tokens, err) != 0 ||
        get_bool(root, "background", &r->background, err) != 0)
        return -1;
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(root, "user");
    if (r->cid[0] == '\0' && cJSON_IsString(user) &&
        request_id_ok(user->valuestring, strlen(user->valuestring)))
        set_cid(r, user->valuestring, strlen(user->valuestring), "user");
    r->include_usage = 1;
    return 0;
}

static int parse_messages(const cJSON *root, struct request *r, uint64_t *bytes,
                          const cJSON **last_user, struct request_error *err)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (msgs == NULL)
        return fail(err, "messages", "messages: Field required%s", "");
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return fail(err, "messages", "messages: expected a non-empty array%s", "");
    if (walk_messages(msgs, "messages", 1, bytes, last_user, err) != 0)
        return -1;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "max_tokens");
    if (mt == NULL || cJSON_IsNull(mt))
        return fail(err, "max_tokens", "max_tokens: Field required%s", "");
    if (get_cap(root, "max_tokens", &r->max_tokens, err) != 0)
        return -1;
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "system");
    if (sys)
        *bytes += content_bytes(sys);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(meta, "user_id");
    if (r->cid[0] == '\0' && cJSON_IsString(uid) &&
        request_id_ok(uid->valuestring, strlen(uid->valuestring)))
        set_cid(r, uid->valuestring, strlen(uid->valuestring), "metadata");
    r->include_usage = 1;
    return 0;
}

/* The legacy completions body: prompt is a string, or an array of one prompt (a string, or
 * token ids: each id counts as one token). The mock answers one choice, so several prompts are
 * refused rather than answered with one. OpenAI's default max_tokens of 16 is not applied: the
 * mock's length is the profile's unless the request caps it. */
static int parse_completions(const cJSON *root, struct request *r, uint64_t *bytes,
                             const cJSON **last_user, struct request_error *err)
{
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    if (prompt == NULL || cJSON_IsNull(prompt))
        return fail(err, "prompt", "Missing required parameter: '%s'.", "prompt");
    if (cJSON_IsArray(prompt)) {
        int n = cJSON_GetArraySize(prompt);
        const cJSON *first = cJSON_GetArrayItem(prompt, 0);
        if (n == 0)
            return fail(err, "prompt", "Invalid '%s': expected a non-empty array.", "prompt");
        if (cJSON_IsNumber(first)) {
            const cJSON *id;
            cJSON_ArrayForEach(id, prompt)
            {
                if (!cJSON_IsNumber(id))
                    return fail(err, "prompt",
                                "Invalid type for '%s': expected an array of integers.", "prompt");
                *bytes += 4; /* a token id is one token */
            }
        } else if (n == 1 && cJSON_IsString(first)) {
            *bytes += strlen(first->valuestring);
            *last_user = first;
        } else if (cJSON_IsString(first)) {
            return fail(err, "prompt",
                        "Invalid '%s': the mock answers one prompt per request (got several).",
                        "prompt");
        } else {
            return fail(err, "prompt",
                        "Invalid type for '%s': expected a string, an array of strings or an "
                        "array of integers.",
                        "prompt");
        }
    } else if (cJSON_IsString(prompt)) {
        *bytes += strlen(prompt->valuestring);
        *last_user = prompt;
    } else {
        return fail(err, "prompt",
                    "Invalid type for '%s': expected a string, an array of strings or an array "
                    "of integers.",
                    "prompt");
    }
    const cJSON *suffix = cJSON_GetObjectItemCaseSensitive(root, "suffix");
    if (cJSON_IsString(suffix))
        *bytes += strlen(suffix->valuestring);
    if (get_cap(root, "max_tokens", &r->max_tokens, err) != 0 || stream_options(root, r, err) != 0)
        return -1;
    user_cid(root, r);
    return 0;
}

/* The OpenAI and Anthropic bodies: the model and stream flag in the body, then the API's
 * own fields. */
static int parse_named(enum api api, const cJSON *root, struct request *r, uint64_t *bytes,
                       const cJSON **last_user, struct request_error *err)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    /* Azure: a body without a model (or with an empty one) takes the deployment's name, which
     * parse_root set; on /openai/v1/ there is none, and the model is required */
    if (api == API_AZURE && cJSON_IsString(model) && model->valuestring[0] == '\0')
        model = NULL;
    if (model == NULL && api == API_AZURE && r->model[0] != '\0')
        return get_bool(root, "stream", &r->stream, err) != 0
                   ? -1
                   : parse_chat(root, r, bytes, last_user, err);
    if (model == NULL)
        return fail(err, "model", "Missing required parameter: '%s'.", "model");
    if (!cJSON_IsString(model) || strlen(model->valuestring) >= sizeof r->model)
        return fail(err, "model", "Invalid type for '%s': expected a string (under 128 bytes).",
                    "model");
    snprintf(r->model, sizeof r->model, "%s", model->valuestring);
    if (get_bool(root, "stream", &r->stream, err) != 0)
        return -1;
    return api == API_CHAT || api == API_AZURE ? parse_chat(root, r, bytes, last_user, err)
           : api == API_RESPONSES              ? parse_responses(root, r, bytes, last_user, err)
           : api == API_COMPLETIONS            ? parse_completions(root, r, bytes, last_user, err)
                                               : parse_messages(root, r, bytes, last_user, err);
}

/* ---- Gemini ----------------------------------------------------------------------------------
 * Google's JSON mapping of the proto request: field names in lowerCamelCase or snake_case, the
 * errors in its words ("* GenerateContentRequest.contents: contents is not specified"). */

static const cJSON *either(const cJSON *o, const char *camel, const char *snake)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, camel);
    return v ? v : cJSON_GetObjectItemCaseSensitive(o, snake);
}

static int gfail(struct request_error *err, const char *fmt, const char *a)
{
    fail(err, NULL, fmt, a);
    err->type = "INVALID_ARGUMENT";
    err->code = NULL;
    return -1;
}

/* A Content: {role?, parts: [{text?}, ...]}. Sums the text bytes. */
static int gemini_content(const cJSON *c, const char *where, uint64_t *bytes,
                          struct request_error *err)
{
    char msg[256];
    if (!cJSON_IsObject(c)) {
        snprintf(msg, sizeof msg, "Invalid value at '%.60s' "
                                  "(type.googleapis.com/google.ai.generativelanguage.v1beta."
                                  "Content): expected an object.", where);
        return gfail(err, "%s", msg);
    }
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(c, "role");
    if (role && !cJSON_IsNull(role) &&
        (!cJSON_IsString(role) || (strcmp(role->valuestring, "user") != 0 &&
                                   strcmp(role->valuestring, "model") != 0 &&
                                   role->valuestring[0] != '\0')))
        return gfail(err, "Please use a valid role: user, model.%s", "");
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(c, "parts");
    if (!cJSON_IsArray(parts) || cJSON_GetArraySize(parts) == 0) {
        snprintf(msg, sizeof msg, "* GenerateContentRequest.%.60s.parts: contents.parts must "
                                  "not be empty.\n", where);
        return gfail(err, "%s", msg);
    }
    const cJSON *part;
    int i = 0;
    cJSON_ArrayForEach(part, parts)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsObject(part) || (t && !cJSON_IsString(t))) {
            snprintf(msg, sizeof msg, "Invalid value at '%.60s.parts[%d]%s': expected %s.", where,
                     i, cJSON_IsObject(part) ? ".text" : "",
                     cJSON_IsObject(part) ? "a string (TYPE_STRING)" : "a Part object");
            return gfail(err, "%s", msg);
        }
        if (t)
            *bytes += strlen(t->valuestring);
        i++;
    }
    return 0;
}

static int parse_gemini(const cJSON *root, struct request *r, uint64_t *bytes,
                        const cJSON **last_user, struct request_error *err)
{
    const cJSON *contents = cJSON_GetObjectItemCaseSensitive(root, "contents");
    if (contents == NULL || cJSON_IsNull(contents) ||
        (cJSON_IsArray(contents) && cJSON_GetArraySize(contents) == 0))
        return gfail(err, "* GenerateContentRequest.contents: contents is not specified\n%s",
                     "");
    if (!cJSON_IsArray(contents))
        return gfail(err, "Invalid value at 'contents' (type.googleapis.com/google.ai."
                          "generativelanguage.v1beta.Content): expected a list of Content.%s",
                     "");
    const cJSON *c;
    int i = 0;
    cJSON_ArrayForEach(c, contents)
    {
        char where[32];
        snprintf(where, sizeof where, "contents[%d]", i++);
        if (gemini_content(c, where, bytes, err) != 0)
            return -1;
        /* a content without a role is the user's (single-turn requests leave it out) */
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(c, "role");
        if (!cJSON_IsString(role) || strcmp(role->valuestring, "model") != 0)
            *last_user = cJSON_GetObjectItemCaseSensitive(c, "parts");
    }
    const cJSON *sys = either(root, "systemInstruction", "system_instruction");
    if (sys && !cJSON_IsNull(sys) && gemini_content(sys, "system_instruction", bytes, err) != 0)
        return -1;
    const cJSON *gc = either(root, "generationConfig", "generation_config");
    if (gc && !cJSON_IsNull(gc)) {
        if (!cJSON_IsObject(gc))
            return gfail(err, "Invalid value at 'generation_config' (type.googleapis.com/google."
                              "ai.generativelanguage.v1beta.GenerationConfig): expected an "
                              "object.%s", "");
        const cJSON *mt = either(gc, "maxOutputTokens", "max_output_tokens");
        if (mt && !cJSON_IsNull(mt)) {
            /* range first: casting an out-of-range double to an integer is undefined */
            if (!cJSON_IsNumber(mt) || !(mt->valuedouble >= 1 && mt->valuedouble <= 1e9) ||
                mt->valuedouble != (double)(int64_t)mt->valuedouble)
                return gfail(err, "Invalid value at 'generation_config.max_output_tokens' "
                                  "(TYPE_INT32): expected an integer from 1 to 1000000000.%s",
                             "");
            r->max_tokens = (int64_t)mt->valuedouble;
        }
    }
    r->include_usage = 1; /* usageMetadata rides on every chunk */
    return 0;
}

static int parse_root(enum api api, const char *path_model, const char *body, size_t len,
                      const char *rid_header, struct request *out, struct request_error *err);

/* ---- Bedrock ---------------------------------------------------------------------------------
 * Converse's own body, or InvokeModel's Anthropic body; every error a ValidationException with
 * Bedrock's wording ("Malformed input request: ..."). */

static int bfail(struct request_error *err, const char *fmt, const char *a)
{
    fail(err, NULL, fmt, a);
    err->type = "ValidationException";
    err->code = NULL;
    return -1;
}

static int parse_converse(const cJSON *root, struct request *r, uint64_t *bytes,
                          const cJSON **last_user, struct request_error *err)
{
    char msg[160];
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return bfail(err,
                     "The model returned the following errors: messages: expected a "
                     "non-empty array of messages.%s",
                     "");
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role) ||
            (strcmp(role->valuestring, "user") != 0 &&
             strcmp(role->valuestring, "assistant") != 0)) {
            snprintf(msg, sizeof msg,
                     "1 validation error detected: Value at 'messages.%d."
                     "member.role' failed to satisfy constraint: Member must "
                     "satisfy enum value set: [user, assistant]",
                     i + 1);
            return bfail(err, "%s", msg);
        }
        if (!cJSON_IsArray(content) || !content_ok(content)) {
            snprintf(msg, sizeof msg,
                     "Malformed input request: messages[%d].content: expected "
                     "an array of content blocks.",
                     i);
            return bfail(err, "%s", msg);
        }
        *bytes += content_bytes(content);
        if (strcmp(role->valuestring, "user") == 0)
            *last_user = content;
        i++;
    }
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "system");
    if (sys && !cJSON_IsArray(sys))
        return bfail(err,
                     "Malformed input request: system: expected an array of system "
                     "content blocks.%s",
                     "");
    if (sys)
        *bytes += content_bytes(sys);
    const cJSON *ic = cJSON_GetObjectItemCaseSensitive(root, "inferenceConfig");
    if (ic && !cJSON_IsObject(ic))
        return bfail(err, "Malformed input request: inferenceConfig: expected an object.%s", "");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(ic, "maxTokens");
    if (mt) {
        /* range first: casting an out-of-range double to an integer is undefined */
        if (!cJSON_IsNumber(mt) || !(mt->valuedouble >= 1 && mt->valuedouble <= 1e9) ||
            mt->valuedouble != (double)(int64_t)mt->valuedouble)
            return bfail(err,
                         "1 validation error detected: Value at 'inferenceConfig."
                         "maxTokens' failed to satisfy constraint: Member must have value "
                         "greater than or equal to 1%s",
                         "");
        r->max_tokens = (int64_t)mt->valuedouble;
    }
    r->include_usage = 1; /* the metadata event carries usage */
    return 0;
}

static int parse_invoke(const cJSON *root, struct request *r, uint64_t *bytes,
                        const cJSON **last_user, struct request_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "anthropic_version");
    if (!cJSON_IsString(v))
        return bfail(err,
                     "Malformed input request: #: required key [anthropic_version] not "
                     "found, please reformat your input and try again.%s",
                     "");
    if (parse_messages(root, r, bytes, last_user, err) != 0) {
        char m[sizeof err->message];
        snprintf(m, sizeof m, "%s", err->message);
        return bfail(err, "Malformed input request: %s", m);
    }
    return 0;
}

int request_parse_bedrock(enum api api, const char *model, int stream, const char *body, size_t len,
                          const char *rid_header, struct request *out, struct request_error *err)
{
    memset(err, 0, sizeof *err);
    if ((api != API_BEDROCK && api != API_BEDROCK_INVOKE) || model == NULL || *model == '\0' ||
        strlen(model) >= REQUEST_MODEL_MAX) {
        bfail(err, "The provided model identifier is invalid.%s", "");
        return -1;
    }
    if (parse_root(api, model, body, len, rid_header, out, err) != 0)
        return -1;
    out->stream = stream;
    return 0;
}

int request_parse(enum api api, const char *body, size_t len, const char *rid_header,
                  struct request *out, struct request_error *err)
{
    if (api == API_GEMINI) {
        memset(err, 0, sizeof *err);
        return gfail(err, "Gemini's model comes from the path: use request_parse_gemini.%s", "");
    }
    if (api == API_BEDROCK || api == API_BEDROCK_INVOKE) {
        memset(err, 0, sizeof *err);
        return bfail(err, "Bedrock's model comes from the path: use request_parse_bedrock.%s", "");
    }
    return parse_root(api, NULL, body, len, rid_header, out, err);
}

int request_parse_gemini(const char *model, int stream, int json_stream, const char *body,
                         size_t len, const char *rid_header, struct request *out,
                         struct request_error *err)
{
    memset(err, 0, sizeof *err);
    if (model == NULL || *model == '\0' || strlen(model) >= REQUEST_MODEL_MAX) {
        fail(err, NULL, "models/%.128s is not found for API version v1beta.", model ? model : "");
        err->status = 404;
        err->type = "NOT_FOUND";
        err->code = NULL;
        return -1;
    }
    if (parse_root(API_GEMINI, model, body, len, rid_header, out, err) != 0)
        return -1;
    out->stream = stream;
    out->json_stream = stream && json_stream;
    return 0;
}

int request_parse_azure(const char *deployment, const char *body, size_t len,
                        const char *rid_header, struct request *out, struct request_error *err)
{
    if (deployment && strlen(deployment) >= REQUEST_MODEL_MAX)
        deployment = NULL;
    return parse_root(API_AZURE, deployment, body, len, rid_header, out, err);
}

static int parse_root(enum api api, const char *path_model, const char *body, size_t len,
                      const char *rid_header, struct request *out, struct request_error *err)
{
    struct request r;
    memset(&r, 0, sizeof r);
    memset(err, 0, sizeof *err);
    r.api = api;
    r.max_tokens = -1;
    r.id_source = "none";
    if (rid_header && request_id_ok(rid_header, strlen(rid_header)))
        set_cid(&r, rid_header, strlen(rid_header), "header");

    /* exactly one JSON value, valid UTF-8, no NUL: so every string echoed back (the model) is
     * the one the client sent and the reply stays valid UTF-8 JSON */
    struct jparse_error je;
    cJSON *root = jparse_text(body, len, &je);
    if (root == NULL) {
        char where[sizeof err->message - 160];
        jparse_message(&je, NULL, where, sizeof where);
        if (api == API_GEMINI)
            return gfail(err, "Invalid JSON payload received. %s", where);
        if (api == API_BEDROCK || api == API_BEDROCK_INVOKE)
            return bfail(err,
                         "Malformed input request, please reformat your input and try "
                         "again. %s",
                         where);
        return fail(err, NULL, REQUEST_MSG_BAD_JSON " Problem at %s", where);
    }
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        if (api == API_GEMINI)
            gfail(err, "Invalid JSON payload received. Expected an object at the root.%s", "");
        else if (api == API_BEDROCK || api == API_BEDROCK_INVOKE)
            bfail(err, "Malformed input request: expected a JSON object.%s", "");
        else
            fail(err, NULL, "The request body must be a JSON object.%s", "");
        goto done;
    }
    uint64_t bytes = 0;
    const cJSON *last_user = NULL;
    int prc;
    if (api == API_GEMINI) {
        snprintf(r.model, sizeof r.model, "%s", path_model);
        prc = parse_gemini(root, &r, &bytes, &last_user, err);
    } else if (api == API_BEDROCK || api == API_BEDROCK_INVOKE) {
        snprintf(r.model, sizeof r.model, "%s", path_model);
        prc = api == API_BEDROCK ? parse_converse(root, &r, &bytes, &last_user, err)
                                 : parse_invoke(root, &r, &bytes, &last_user, err);
    } else {
        if (api == API_AZURE && path_model) /* the deployment: the model when the body has none */
            snprintf(r.model, sizeof r.model, "%s", path_model);
        prc = parse_named(api, root, &r, &bytes, &last_user, err);
    }
    if (prc != 0)
        goto done;
    if (r.cid[0] == '\0' && last_user)
        find_marker(last_user, &r);
    /* a deterministic stand-in for a tokenizer: about 4 bytes a token */
    r.input_tokens = (bytes + 3) / 4;
    if (r.input_tokens == 0)
        r.input_tokens = 1;
    *out = r;
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

/* ---- Ollama ----------------------------------------------------------------------------------
 * Its server's words for what it refuses ("model is required"); every error is 400 with a
 * message, the shape wire_error_body gives API_OLLAMA. */

static int ofail(struct request_error *err, const char *fmt, const char *a)
{
    fail(err, NULL, fmt, a);
    err->code = NULL;
    return -1;
}

/* /api/chat's messages: each an object whose content is a string; sums the bytes and keeps
 * the last user content for the marker. */
static int ollama_messages(const cJSON *msgs, uint64_t *bytes, const cJSON **last_user,
                           struct request_error *err)
{
    if (msgs == NULL || cJSON_IsNull(msgs) ||
        (cJSON_IsArray(msgs) && cJSON_GetArraySize(msgs) == 0))
        return ofail(err, "messages is required%s", "");
    if (!cJSON_IsArray(msgs))
        return ofail(err,
                     "json: cannot unmarshal %s into Go struct field ChatRequest.messages of "
                     "type []api.Message",
                     "value");
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        if (!cJSON_IsObject(m))
            return ofail(err,
                         "json: cannot unmarshal %s into Go struct field ChatRequest.messages "
                         "of type api.Message",
                         "value");
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if ((role && !cJSON_IsNull(role) && !cJSON_IsString(role)) ||
            (content && !cJSON_IsNull(content) && !cJSON_IsString(content)))
            return ofail(err,
                         "json: cannot unmarshal value into Go struct field Message.messages.%s "
                         "of type string",
                         role && !cJSON_IsNull(role) && !cJSON_IsString(role) ? "role" : "content");
        if (cJSON_IsString(content)) {
            *bytes += strlen(content->valuestring);
            if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0)
                *last_user = content;
        }
    }
    return 0;
}

static int parse_ollama(int generate, const cJSON *root, struct request *r, uint64_t *bytes,
                        const cJSON **last_user, struct request_error *err)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model == NULL || cJSON_IsNull(model) ||
        (cJSON_IsString(model) && model->valuestring[0] == '\0'))
        return ofail(err, "model is required%s", "");
    if (!cJSON_IsString(model) || strlen(model->valuestring) >= sizeof r->model)
        return ofail(err, "invalid model name%s", "");
    snprintf(r->model, sizeof r->model, "%s", model->valuestring);
    r->stream = 1; /* Ollama streams unless told not to */
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (stream && !cJSON_IsNull(stream)) {
        if (!cJSON_IsBool(stream))
            return ofail(err, "json: cannot unmarshal %s into Go struct field .stream of type bool",
                         "value");
        r->stream = cJSON_IsTrue(stream);
    }
    if (generate) {
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "system");
        if ((prompt && !cJSON_IsNull(prompt) && !cJSON_IsString(prompt)) ||
            (sys && !cJSON_IsNull(sys) && !cJSON_IsString(sys)))
            return ofail(err,
                         "json: cannot unmarshal %s into Go struct field "
                         "GenerateRequest.prompt of type string",
                         "value");
        if (!cJSON_IsString(prompt) || prompt->valuestring[0] == '\0')
            return ofail(err, "prompt is required%s", ""); /* an empty one only loads the model */
        *bytes += strlen(prompt->valuestring);
        *last_user = prompt;
        if (cJSON_IsString(sys))
            *bytes += strlen(sys->valuestring);
    } else if (ollama_messages(cJSON_GetObjectItemCaseSensitive(root, "messages"), bytes, last_user,
                               err) != 0) {
        return -1;
    }
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "options");
    if (opts && !cJSON_IsNull(opts) && !cJSON_IsObject(opts))
        return ofail(err,
                     "json: cannot unmarshal %s into Go struct field .options of type "
                     "map[string]interface {}",
                     "value");
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(opts, "num_predict");
    if (np && !cJSON_IsNull(np)) {
        /* range first: casting an out-of-range double to an integer is undefined */
        if (!cJSON_IsNumber(np) || !(np->valuedouble >= -2 && np->valuedouble <= 1e9) ||
            np->valuedouble != (double)(int64_t)np->valuedouble)
            return ofail(err,
                         "option \"num_predict\" must be an integer from -2 to "
                         "1000000000%s",
                         "");
        if (np->valuedouble >= 1) /* -1: no cap, -2: fill the context; 0 caps nothing here */
            r->max_tokens = (int64_t)np->valuedouble;
    }
    r->include_usage = 1; /* the final line always carries eval_count */
    return 0;
}

int request_parse_ollama(int generate, const char *body, size_t len, const char *rid_header,
                         struct request *out, struct request_error *err)
{
    struct request r;
    memset(&r, 0, sizeof r);
    memset(err, 0, sizeof *err);
    r.api = API_OLLAMA;
    r.ollama_generate = generate != 0;
    r.max_tokens = -1;
    r.id_source = "none";
    if (rid_header && request_id_ok(rid_header, strlen(rid_header)))
        set_cid(&r, rid_header, strlen(rid_header), "header");
    struct jparse_error je;
    cJSON *root = jparse_text(body, len, &je);
    if (root == NULL) {
        char where[sizeof err->message - 32];
        jparse_message(&je, NULL, where, sizeof where);
        return ofail(err, "invalid JSON: %s", where);
    }
    int rc = -1;
    uint64_t bytes = 0;
    const cJSON *last_user = NULL;
    if (!cJSON_IsObject(root)) {
        ofail(err, "json: cannot unmarshal %s into Go value of type api.ChatRequest", "value");
        goto done;
    }
    if (parse_ollama(generate, root, &r, &bytes, &last_user, err) != 0)
        goto done;
    if (r.cid[0] == '\0' && last_user)
        find_marker(last_user, &r);
    r.input_tokens = (bytes + 3) / 4; /* the same stand-in for a tokenizer */
    if (r.input_tokens == 0)
        r.input_tokens = 1;
    *out = r;
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}
