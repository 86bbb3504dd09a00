/* refgw's own replies (gwerror.h): errors in OpenAI's shape, as JSON bodies on an exchange. */
#include "gwerror.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* An error in OpenAI's shape: {"error":{"message","type","param","code"}}, and a newline.
 * NULL: out of memory. */
char *gwerror_json(const char *type, const char *ecode, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNullToObject(e, "param");
    if (ecode)
        cJSON_AddStringToObject(e, "code", ecode);
    else
        cJSON_AddNullToObject(e, "code");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The JSON and its newline as the whole reply. */
void gwerror_send_json(struct exchange *x, int code, const char *json)
{
    size_t n = strlen(json);
    char *body = malloc(n + 1);
    exchange_add_header(x, "Content-Type", "application/json");
    if (body == NULL) {
        exchange_reply(x, code, json, n); /* without its newline rather than not at all */
        return;
    }
    memcpy(body, json, n);
    body[n] = '\n';
    exchange_reply(x, code, body, n + 1);
    free(body);
}

void gwerror_send(struct exchange *x, int code, const char *type, const char *ecode,
                  const char *msg)
{
    char *s = gwerror_json(type, ecode, msg);
    gwerror_send_json(x, code, s ? s : GWERROR_OOM_JSON);
    free(s);
}

/* A request the guard (or a transport) would not take, in the same shape. */
void gwerror_reject(struct exchange *x, int status, const char *message)
{
    gwerror_send(x, status, status >= 500 ? "server_error" : "invalid_request_error", NULL,
                 message);
}
