/* Request bodies: what each vendor style puts on the wire, and the templates of the custom style
 * and the cancel call. */
#include "body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (1 << 20) /* request bodies we build */

const char *body_default_path(const struct chaos_request_spec *req, char *buf, size_t len)
{
    switch (req->style) {
    case CHAOS_STYLE_OPENAI_CHAT:
        return "/v1/chat/completions";
    case CHAOS_STYLE_RESPONSES:
        return "/v1/responses";
    case CHAOS_STYLE_ANTHROPIC:
        return "/v1/messages";
    case CHAOS_STYLE_CUSTOM:
        return "/";
    case CHAOS_STYLE_COMPLETIONS:
        return "/v1/completions";
    case CHAOS_STYLE_OLLAMA:
        return "/api/chat";
    case CHAOS_STYLE_AZURE:
        /* the model names the deployment; a GA api-version */
        snprintf(buf, len, "/openai/deployments/%.100s/chat/completions?api-version=2024-10-21",
                 req->model ? req->model : "tailgate-mock");
        return buf;
    case CHAOS_STYLE_GEMINI:
        snprintf(buf, len, "/v1beta/models/%.100s:%s",
                 req->model ? req->model : "tailgate-mock",
                 req->non_streaming ? "generateContent" : "streamGenerateContent?alt=sse");
        return buf;
    case CHAOS_STYLE_BEDROCK:
    case CHAOS_STYLE_BEDROCK_INVOKE: {
        /* the SDKs percent-encode the model id's ':' */
        char model[3 * 100 + 1];
        size_t o = 0;
        for (const char *p = req->model ? req->model : "tailgate-mock"; *p && o < 300; p++) {
            if (*p == ':') {
                memcpy(model + o, "%3A", 3);
                o += 3;
            } else {
                model[o++] = *p;
            }
        }
        model[o] = '\0';
        int invoke = req->style == CHAOS_STYLE_BEDROCK_INVOKE;
        snprintf(buf, len, "/model/%s/%s", model,
                 invoke ? (req->non_streaming ? "invoke" : "invoke-with-response-stream")
                        : (req->non_streaming ? "converse" : "converse-stream"));
        return buf;
    }
    case CHAOS_STYLE_COUNT:
        break;
    }
    return "/";
}

char *body_fill(const char *tmpl, const char *prompt, const char *cid, uint32_t max_tokens,
                int json)
{
    char num[16];
    snprintf(num, sizeof num, "%u", max_tokens);
    char *esc_prompt = NULL;
    if (json) {
        cJSON *s = cJSON_CreateString(prompt);
        char *q = s ? cJSON_PrintUnformatted(s) : NULL;
        cJSON_Delete(s);
        if (q == NULL)
            return NULL;
        size_t ql = strlen(q);
        memmove(q, q + 1, ql - 2); /* drop the quotes */
        q[ql - 2] = '\0';
        esc_prompt = q;
    }
    const char *vals[3] = {json ? esc_prompt : prompt, cid, num};
    const char *keys[3] = {"{{prompt}}", "{{id}}", "{{max_tokens}}"};
    size_t cap = strlen(tmpl) + 1;
    for (const char *p = tmpl; (p = strstr(p, "{{")) != NULL; p += 2)
        cap += strlen(vals[0]) + strlen(cid) + 16;
    char *out = cap <= BODY_MAX ? malloc(cap) : NULL;
    if (out == NULL) {
        free(esc_prompt);
        return NULL;
    }
    size_t o = 0;
    for (const char *p = tmpl; *p;) {
        int hit = 0;
        for (int k = 0; k < 3; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(p, keys[k], kl) == 0) {
                size_t vl = strlen(vals[k]);
                memcpy(out + o, vals[k], vl);
                o += vl;
                p += kl;
                hit = 1;
                break;
            }
        }
        if (!hit)
            out[o++] = *p++;
    }
    out[o] = '\0';
    free(esc_prompt);
    return out;
}

char *chaos_request_body(const struct chaos_request_spec *req, const char *cid, char *err,
                         size_t errlen)
{
    const char *prompt = req->prompt ? req->prompt : "Tell me a long story.";
    if (req->style == CHAOS_STYLE_CUSTOM) {
        if (req->body_template == NULL) {
            snprintf(err, errlen, "request.body_template: required for the custom style");
            return NULL;
        }
        char *b = body_fill(req->body_template, prompt, cid, req->max_tokens, 1);
        if (b == NULL)
            snprintf(err, errlen, "request.body_template: too large or out of memory");
        return b;
    }
    /* the correlation id rides in the body too: gateways drop headers, all pass the prompt */
    char text[4096];
    snprintf(text, sizeof text, "%.3900s [tg:%s]", prompt, cid);
    cJSON *o = cJSON_CreateObject();
    if (req->style == CHAOS_STYLE_GEMINI) {
        /* the model and streaming are in the path; the prompt is a user content's text part */
        cJSON *part = cJSON_CreateObject();
        cJSON_AddStringToObject(part, "text", text);
        cJSON *parts = cJSON_CreateArray();
        cJSON_AddItemToArray(parts, part);
        cJSON *content = cJSON_CreateObject();
        cJSON_AddStringToObject(content, "role", "user");
        cJSON_AddItemToObject(content, "parts", parts);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "contents"), content);
        if (req->max_tokens)
            cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "generationConfig"),
                                    "maxOutputTokens", req->max_tokens);
        char *g = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (g == NULL)
            snprintf(err, errlen, "request body: out of memory");
        return g;
    }
    if (req->style == CHAOS_STYLE_BEDROCK) {
        /* Converse: the model and streaming are in the path; content is a list of blocks */
        cJSON *block = cJSON_CreateObject();
        cJSON_AddStringToObject(block, "text", text);
        cJSON *msg = cJSON_CreateObject();
        cJSON_AddStringToObject(msg, "role", "user");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(msg, "content"), block);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "messages"), msg);
        if (req->max_tokens)
            cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "inferenceConfig"), "maxTokens",
                                    req->max_tokens);
        char *b = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (b == NULL)
            snprintf(err, errlen, "request body: out of memory");
        return b;
    }
    if (req->style == CHAOS_STYLE_BEDROCK_INVOKE) {
        /* InvokeModel's Anthropic body: no model or stream field, anthropic_version required */
        cJSON_AddStringToObject(o, "anthropic_version", "bedrock-2023-05-31");
    } else {
        cJSON_AddStringToObject(o, "model", req->model ? req->model : "tailgate-mock");
        cJSON_AddBoolToObject(o, "stream", !req->non_streaming);
    }
    if (req->style == CHAOS_STYLE_COMPLETIONS) {
        /* a prompt, not messages; usage as chat asks for it */
        cJSON_AddStringToObject(o, "prompt", text);
        if (!req->non_streaming)
            cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "stream_options"), "include_usage", 1);
        if (req->max_tokens)
            cJSON_AddNumberToObject(o, "max_tokens", req->max_tokens);
        cJSON_AddStringToObject(o, "user", cid);
        char *c = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (c == NULL)
            snprintf(err, errlen, "request body: out of memory");
        return c;
    }
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "role", "user");
    cJSON_AddStringToObject(msg, "content", text);
    cJSON *msgs = cJSON_CreateArray();
    cJSON_AddItemToArray(msgs, msg);
    switch (req->style) {
    case CHAOS_STYLE_OPENAI_CHAT:
    case CHAOS_STYLE_AZURE:
        cJSON_AddItemToObject(o, "messages", msgs);
        if (!req->non_streaming)
            cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "stream_options"), "include_usage",
                                  1);
        if (req->max_tokens)
            cJSON_AddNumberToObject(o, "max_tokens", req->max_tokens);
        cJSON_AddStringToObject(o, "user", cid);
        break;
    case CHAOS_STYLE_RESPONSES:
        cJSON_AddItemToObject(o, "input", msgs);
        if (req->max_tokens)
            cJSON_AddNumberToObject(o, "max_output_tokens", req->max_tokens);
        cJSON_AddStringToObject(o, "user", cid);
        break;
    case CHAOS_STYLE_BEDROCK_INVOKE:
        cJSON_AddItemToObject(o, "messages", msgs);
        cJSON_AddNumberToObject(o, "max_tokens", req->max_tokens ? req->max_tokens : 1024);
        break;
    case CHAOS_STYLE_ANTHROPIC:
        cJSON_AddItemToObject(o, "messages", msgs);
        cJSON_AddNumberToObject(o, "max_tokens", req->max_tokens ? req->max_tokens : 1024);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "user_id", cid);
        break;
    case CHAOS_STYLE_OLLAMA:
        /* no user field: the correlation id rides in the prompt's marker (and the header) */
        cJSON_AddItemToObject(o, "messages", msgs);
        if (req->max_tokens)
            cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "options"), "num_predict",
                                    req->max_tokens);
        break;
    case CHAOS_STYLE_CUSTOM:
    case CHAOS_STYLE_GEMINI:
    case CHAOS_STYLE_COMPLETIONS:
    case CHAOS_STYLE_BEDROCK:
    case CHAOS_STYLE_COUNT:
        cJSON_Delete(msgs);
        break;
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL)
        snprintf(err, errlen, "request body: out of memory");
    return s;
}
