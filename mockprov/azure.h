/* Azure OpenAI's additions to the Chat Completions wire: the content filter annotations
 * (prompt_filter_results in a first chunk of its own and in a body, content_filter_results on
 * each choice) and Azure's platform error shape {"error": {"code", "message"}}. wire.c calls in
 * here for a generation it renders as chat with azure set; nothing here calls back into it. */
#ifndef MP_AZURE_H
#define MP_AZURE_H

#include <cjson/cJSON.h>

/* Adds content_filter_results to a choice: the four categories, not filtered, severity safe;
 * 'empty': {} as Azure puts on the choice that carries finish_reason. */
void azure_choice_filters(cJSON *choice, int empty);
/* Adds prompt_filter_results (prompt 0, the four categories safe) to 'o'. */
void azure_prompt_filters(cJSON *o);
/* The SSE event Azure sends before the role chunk: choices [], id "", created 0, model "",
 * object "", and the prompt's filter results. malloc'd; NULL on OOM. */
char *azure_prompt_filter_event(void);
/* {"error":{"code": code (NULL: the status as text, as Azure's 429 has it), "message"}}.
 * malloc'd; NULL on OOM. */
char *azure_error_body(int status, const char *code, const char *message);

#endif
