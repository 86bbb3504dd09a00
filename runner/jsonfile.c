/* The text of a scenario or suite file, read from disk or copied from memory, NUL-terminated
 * for the key locator (jsonpath.h), and parsed as exactly one JSON value. */
#include "jsonfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jparse.h"

char *jsonfile_read(const char *path, size_t *len, char *err, size_t errlen)
{
    char hint[600];
    snprintf(hint, sizeof hint, "name scenario or suite files, e.g. %.500s/*.json", path);
    return jparse_read_file(path, JSONFILE_MAX_BYTES, hint, len, err, errlen);
}

char *jsonfile_copy(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    char *text = len <= JSONFILE_MAX_BYTES ? malloc(len + 1) : NULL;
    if (text == NULL) {
        snprintf(err, errlen, "%s: %s", path,
                 len > JSONFILE_MAX_BYTES ? "larger than 1 MiB" : "out of memory");
        return NULL;
    }
    memcpy(text, data, len);
    text[len] = '\0';
    return text;
}

cJSON *jsonfile_parse(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    struct jparse_error je;
    cJSON *root = jparse_text(text, len, &je);
    if (root == NULL)
        jparse_message(&je, path, err, errlen);
    return root;
}
