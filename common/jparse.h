/* Reading exactly one JSON document from bytes a peer or a file gave us: strict RFC 8259
 * syntax, valid UTF-8, no NUL (raw or \u0000) and nothing but whitespace after the value; an
 * error says where (byte, line, column) and quotes the text there. */
#ifndef COMMON_JPARSE_H
#define COMMON_JPARSE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define JPARSE_MAX_DEPTH 512  /* nested arrays and objects; cJSON's own limit is 1000 */
#define JPARSE_MAX_NUMBER 63  /* characters in a number: cJSON reads at most 63 */
#define JPARSE_EXCERPT_MAX 24 /* source bytes quoted after "near" */

struct jparse_error {
    size_t offset;                         /* byte offset of the problem */
    unsigned line, column;                 /* 1-based; the column counts characters, not bytes */
    int at_end;                            /* the input ended where more was needed */
    char what[96];                         /* "expected ',' or '}' after an object member" */
    char near[JPARSE_EXCERPT_MAX * 4 + 8]; /* the text at offset, escaped; "" when at_end */
};

/* Parses text[0..len) (no terminator needed) as one JSON value. Returns the tree (caller
 * cJSON_Deletes it), or NULL with err filled. Borrows 'text'. */
cJSON *jparse_text(const char *text, size_t len, struct jparse_error *err);

/* Writes err as "FILE:LINE:COL: what near 'text'" (or "... at end of file"), or with 'file'
 * NULL as "line L, column C (byte B): what near 'text'" (or "... at end of input"). */
void jparse_message(const struct jparse_error *err, const char *file, char *buf, size_t len);

/* Reads a whole file of at most 'max' bytes. Returns it NUL-terminated (caller frees) with
 * *len set, or NULL with err as "PATH: is a directory (DIR_HINT)", "PATH: <strerror>" or
 * "PATH: larger than MAX". 'dir_hint' may be NULL. */
char *jparse_read_file(const char *path, size_t max, const char *dir_hint, size_t *len, char *err,
                       size_t errlen);

/* jparse_read_file then jparse_text: a syntax error reads "PATH:LINE:COL: what near '...'".
 * When 'text' is not NULL it takes the file's bytes (caller frees) on success, for locating
 * keys in later messages. Returns the tree (caller deletes), or NULL with err filled. */
cJSON *jparse_file(const char *path, size_t max, const char *dir_hint, char **text, char *err,
                   size_t errlen);

#endif
