/* Correlation ids to small numbers: the join's index, so each request finds its own records
 * on both sides in one pass over each, not in a scan of every record per request. */
#ifndef RUNNER_CIDMAP_H
#define RUNNER_CIDMAP_H

#include <stddef.h>
#include <stdint.h>

#define CIDMAP_NONE SIZE_MAX

struct cidmap {
    size_t cap;        /* slots, a power of two at least twice the entries it was made for */
    size_t n, max;     /* entries, and the most it takes */
    const char **keys; /* borrowed: each must outlive the map */
    size_t *vals;
};

/* A map for at most max_entries ids. Returns 0, or -1 when out of memory. */
int cidmap_init(struct cidmap *m, size_t max_entries);
void cidmap_free(struct cidmap *m);

/* The number stored for id, or CIDMAP_NONE. */
size_t cidmap_get(const struct cidmap *m, const char *id);

/* Stores v for id (replacing what it had); id is borrowed. Returns 0, or -1 past max_entries. */
int cidmap_put(struct cidmap *m, const char *id, size_t v);

#endif
