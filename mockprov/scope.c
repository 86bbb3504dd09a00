/* Settings scoped by a correlation-id prefix (scope.h). */
#include "scope.h"

#include <stdlib.h>
#include <string.h>

int scope_prefix_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n >= SCOPE_PREFIX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f || p[i] == '"' ||
            p[i] == '\\')
            return 0;
    return 1;
}

/* linear scans: at most SCOPE_MAX scopes */
struct scope *scope_find(struct scope_table *t, const char *prefix)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->s[i]->prefix, prefix) == 0)
            return t->s[i];
    return NULL;
}

struct scope *scope_get(struct scope_table *t, const char *prefix)
{
    struct scope *s = scope_find(t, prefix);
    if (s || t->n == SCOPE_MAX || !scope_prefix_ok(prefix))
        return s;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    memcpy(s->prefix, prefix, strlen(prefix) + 1);
    t->s[t->n++] = s;
    return s;
}

int scope_covers(const char *prefix, const char *cid)
{
    return strncmp(cid, prefix, strlen(prefix)) == 0;
}

struct scope *scope_match(const struct scope_table *t, const char *cid)
{
    struct scope *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t n = strlen(t->s[i]->prefix);
        if (n > best_len && strncmp(cid, t->s[i]->prefix, n) == 0) {
            best = t->s[i];
            best_len = n;
        }
    }
    return best;
}

void scope_remove(struct scope_table *t, const char *prefix)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->s[i]->prefix, prefix) != 0)
            continue;
        free(t->s[i]);
        t->s[i] = t->s[--t->n];
        t->s[t->n] = NULL;
        return;
    }
}

void scope_clear(struct scope_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->s[i]);
        t->s[i] = NULL;
    }
    t->n = 0;
}
