/* The text of a scenario or suite file: read or copied, NUL-terminated, and parsed. */
#ifndef RUNNER_JSONFILE_H
#define RUNNER_JSONFILE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define JSONFILE_MAX_BYTES (1u << 20)

/* The file's bytes, NUL-terminated, with their count in *len; the caller frees them. NULL with
 * err as "PATH: is a directory (...)" for a folder (tailgate takes files; a shell glob names a
 * folder's), or the system's reason. */
char *jsonfile_read(const char *path, size_t *len, char *err, size_t errlen);
/* The text as a file holds it: a malloc'd copy of 'data' ending in a NUL, since the key locator
 * reads C strings (the parse has rejected any NUL inside by then). NULL with err past
 * JSONFILE_MAX_BYTES or out of memory. Borrows 'data'. */
char *jsonfile_copy(const char *path, const char *data, size_t len, char *err, size_t errlen);
/* Exactly one JSON value of 'text' (len bytes), owned by the caller, or NULL with err as
 * "FILE:LINE:COL: what near '...'". */
cJSON *jsonfile_parse(const char *path, const char *text, size_t len, char *err, size_t errlen);

#endif
