/* The names of styles, actions, triggers, ends and protocols, as scenarios and records spell
 * them. */
#include <string.h>

#include "action.h"
#include "client.h"

static const char *const style_names[] = {"openai-chat", "responses",     "anthropic", "custom",
                                          "gemini",      "completions",   "ollama",    "azure",
                                          "bedrock",     "bedrock-invoke"};
_Static_assert(sizeof style_names / sizeof style_names[0] == CHAOS_STYLE_COUNT, "a name each");
static const char *const end_names[] = {"complete",   "fin",        "rst",   "drop",
                                        "killed",     "superseded", "http_error", "error",
                                        "timeout",    "truncated"};
_Static_assert(sizeof end_names / sizeof end_names[0] == CHAOS_END_COUNT, "one name per end");

const char *chaos_style_name(enum chaos_style s)
{
    return (unsigned)s < CHAOS_STYLE_COUNT ? style_names[s] : "?";
}

const char *chaos_action_name(enum chaos_action a)
{
    const struct action_row *row = action_row(a);
    return row ? row->name : "?";
}

const char *chaos_trigger_name(enum chaos_trigger t)
{
    return t == CHAOS_AT_TOKENS ? "tokens" : t == CHAOS_AT_MS ? "ms" : "first_byte";
}

const char *chaos_end_name(enum chaos_end e)
{
    return (unsigned)e < CHAOS_END_COUNT ? end_names[e] : "?";
}

static int find_name(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static const char *const http_names[] = {"1.1", "2", "h2c"};

const char *chaos_http_name(enum chaos_http h)
{
    return (unsigned)h < 3 ? http_names[h] : "?";
}

int chaos_http_parse(const char *s)
{
    return find_name(http_names, 3, s);
}

int chaos_style_parse(const char *s)
{
    return find_name(style_names, CHAOS_STYLE_COUNT, s);
}

int chaos_action_parse(const char *s)
{
    const struct action_row *row;
    for (size_t i = 0; s && (row = action_at(i)) != NULL; i++)
        if (strcmp(row->name, s) == 0)
            return (int)row->action;
    return -1;
}
