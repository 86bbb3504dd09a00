/* Azure OpenAI's content filter annotations and platform errors, as its REST reference and the
 * openai SDK's Azure handling describe them: the first streamed chunk carries only
 * prompt_filter_results (its id empty, so the SDK's stream helper merges nothing from it), each
 * content chunk's choice content_filter_results for hate, self_harm, sexual and violence, the
 * finish chunk's choice an empty one; routing, quota and server errors are {code, message}. */
#include "azure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *categories(void)
{
    static const char *const names[] = {"hate", "self_harm", "sexual", "violence"};
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cJSON *c = cJSON_AddObjectToObject(o, names[i]);
        cJSON_AddBoolToObject(c, "filtered", 0);
        cJSON_AddStringToObject(c, "severity", "safe");
    }
    return o;
}

void azure_choice_filters(cJSON *choice, int empty)
{
    if (empty)
        cJSON_AddObjectToObject(choice, "content_filter_results");
    else
        cJSON_AddItemToObject(choice, "content_filter_results", categories());
}

void azure_prompt_filters(cJSON *o)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "prompt_filter_results");
    cJSON *p = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, p);
    cJSON_AddNumberToObject(p, "prompt_index", 0);
    cJSON_AddItemToObject(p, "content_filter_results", categories());
}

char *azure_prompt_filter_event(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddArrayToObject(o, "choices");
    cJSON_AddNumberToObject(o, "created", 0);
    cJSON_AddStringToObject(o, "id", "");
    cJSON_AddStringToObject(o, "model", "");
    cJSON_AddStringToObject(o, "object", "");
    azure_prompt_filters(o);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (json == NULL)
        return NULL;
    size_t n = strlen(json) + 16;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "data: %s\n\n", json);
    free(json);
    return out;
}

char *azure_error_body(int status, const char *code, const char *message)
{
    char num[16];
    snprintf(num, sizeof num, "%d", status);
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code ? code : num);
    cJSON_AddStringToObject(e, "message", message ? message : "");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
