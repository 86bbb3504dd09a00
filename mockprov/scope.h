/* Settings scoped by a correlation-id prefix: a profile (schedule) and a queued fault that apply
 * only to requests whose correlation id starts with the scope's prefix, so several runs (the
 * shards of one run) share one mock without taking each other's settings. */
#ifndef MP_SCOPE_H
#define MP_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "fault.h"
#include "profile.h"

#define SCOPE_MAX 256       /* scopes at once: a shard each; linear scans stay cheap */
#define SCOPE_PREFIX_MAX 64 /* bytes of a prefix, its NUL included */

struct scope {
    char prefix[SCOPE_PREFIX_MAX];
    int has_sched; /* else the mock's own schedule answers */
    struct schedule sched;
    uint64_t sched_start_ns;
    char queued_fault[FAULT_TEXT_MAX];
    uint64_t queued_fault_count;
};

struct scope_table {
    struct scope *s[SCOPE_MAX];
    size_t n;
};

/* 1 when p is usable as a scope: 1 to SCOPE_PREFIX_MAX - 1 bytes that a correlation id may hold
 * (printable ASCII, no space, quote or backslash). */
int scope_prefix_ok(const char *p);
/* The scope named exactly 'prefix', or NULL. */
struct scope *scope_find(struct scope_table *t, const char *prefix);
/* The scope named 'prefix', made (no settings of its own) when there is none. NULL when the
 * table is full or out of memory. */
struct scope *scope_get(struct scope_table *t, const char *prefix);
/* The scope whose prefix begins 'cid' (the longest when several do), or NULL. */
struct scope *scope_match(const struct scope_table *t, const char *cid);
/* 1 when 'cid' starts with 'prefix'. */
int scope_covers(const char *prefix, const char *cid);
/* Forgets the scope named 'prefix' (nothing when there is none). */
void scope_remove(struct scope_table *t, const char *prefix);
/* Forgets every scope. */
void scope_clear(struct scope_table *t);

#endif
