/* Correlation ids to small numbers: open addressing, FNV-1a, linear probing. */
#include "cidmap.h"

#include "strhash.h"

#include <stdlib.h>
#include <string.h>

int cidmap_init(struct cidmap *m, size_t max_entries)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * max_entries + 1) {
        if (cap > SIZE_MAX / 4)
            return -1;
        cap *= 2;
    }
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    if (m->keys == NULL || m->vals == NULL) {
        cidmap_free(m);
        return -1;
    }
    m->cap = cap;
    m->max = max_entries;
    return 0;
}

void cidmap_free(struct cidmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* The slot holding id, or the empty one where it would go (the table is never full). */
static size_t slot_of(const struct cidmap *m, const char *id)
{
    size_t i = (size_t)strhash(id) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], id) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

size_t cidmap_get(const struct cidmap *m, const char *id)
{
    if (m->cap == 0 || id == NULL)
        return CIDMAP_NONE;
    size_t i = slot_of(m, id);
    return m->keys[i] ? m->vals[i] : CIDMAP_NONE;
}

int cidmap_put(struct cidmap *m, const char *id, size_t v)
{
    if (m->cap == 0 || id == NULL)
        return -1;
    size_t i = slot_of(m, id);
    if (m->keys[i] == NULL) {
        if (m->n == m->max)
            return -1;
        m->keys[i] = id;
        m->n++;
    }
    m->vals[i] = v;
    return 0;
}
