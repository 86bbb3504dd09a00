/* A location in a JSON document, named by its key path (users[1].action), and the validation
 * of the keys and values found there. Every error is written into the context's buffer as
 * "FILE:LINE: KEY.PATH: what was wrong"; nothing is printed. */
#ifndef RUNNER_JSONPATH_H
#define RUNNER_JSONPATH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "chaos/client.h"

/* The document being validated: 'file' names it in errors, 'text' is its NUL-terminated source
 * (for finding lines), 'err' receives the message. All borrowed. */
struct jctx {
    const char *file;
    const char *text;
    char *err;
    size_t errlen;
};

/* The line of a key path ("users[1].action", "" the top) in c->text: each key is searched
 * after the previous one, and an index [i] walks to that element of the array that follows.
 * Keys are found by their quoted name, so a value spelling a later key's name can mislead it:
 * lines are a guide. */
int jctx_line_of(const struct jctx *c, const char *path);
/* Fills c->err as "FILE:LINE: PATH: message" (message from fmt). Returns -1. */
int jctx_fail(const struct jctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Every key of object 'o' at 'path' must be in 'allowed' (n of them). Returns 0, or -1 with
 * c->err naming the first unknown key, the nearest allowed one and the list. */
int jctx_check_keys(const struct jctx *c, const cJSON *o, const char *path,
                    const char *const *allowed, size_t n);

/* The getters read o's member 'key' (o at 'path'): an absent key is 0 with *out untouched; a
 * present one of the wrong type or out of range is -1 with c->err filled. */
/* A number in [lo, hi]. */
int jctx_get_num(const struct jctx *c, const cJSON *o, const char *key, const char *path, double lo,
                 double hi, double *out);
/* A whole number in [lo, hi]. */
int jctx_get_u32(const struct jctx *c, const cJSON *o, const char *key, const char *path,
                 uint32_t lo, uint32_t hi, uint32_t *out);
/* true or false, as 1 or 0. */
int jctx_get_bool(const struct jctx *c, const cJSON *o, const char *key, const char *path,
                  int *out);
/* A string shorter than outlen, copied into out. */
int jctx_get_str(const struct jctx *c, const cJSON *o, const char *key, const char *path, char *out,
                 size_t outlen);
/* [lo, hi] or a single number, whole, 0 <= lo <= hi <= 100000000; *present set to 1 when
 * the key is there. */
int jctx_get_range(const struct jctx *c, const cJSON *o, const char *key, const char *path,
                   struct chaos_range *r, int *present);

#endif
