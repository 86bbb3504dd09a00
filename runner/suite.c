/* Suite files: {"suite": ..., "scenarios": [paths relative to the suite]} expanded into the
 * scenario files they name, a member not found beside its suite looked up in the library. */
#include "suite.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonfile.h"
#include "jsonpath.h"
#include "library.h"

static int expand_suite(const char *path, const char *text, size_t len, char **paths, size_t max,
                        int lookup, char *err, size_t errlen);

int suite_expand(const char *name, char **paths, size_t max, char *err, size_t errlen)
{
    size_t len;
    char path[LIBRARY_MAX_PATH];
    if (library_resolve(name, 1, path, sizeof path, err, errlen) != 0)
        return -1;
    char *text = jsonfile_read(path, &len, err, errlen);
    if (text == NULL)
        return -1;
    int n = expand_suite(path, text, len, paths, max, 1, err, errlen);
    free(text);
    return n;
}

int suite_expand_buffer(const char *path, const char *data, size_t len, char **paths, size_t max,
                        char *err, size_t errlen)
{
    char *text = jsonfile_copy(path, data, len, err, errlen);
    if (text == NULL)
        return -1;
    int n = expand_suite(path, text, len, paths, max, 0, err, errlen);
    free(text);
    return n;
}

/* 'lookup': a member missing beside the suite is looked up in the library as a name is */
static int expand_suite(const char *path, const char *text, size_t len, char **paths, size_t max,
                        int lookup, char *err, size_t errlen)
{
    cJSON *root = jsonfile_parse(path, text, len, err, errlen);
    int n = -1;
    struct jctx c = {path, text, err, errlen};
    if (root == NULL)
        goto done;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "scenarios");
    if (!cJSON_GetObjectItem(root, "suite")) {
        /* a single scenario */
        paths[0] = strdup(path);
        n = paths[0] ? 1 : -1;
        goto done;
    }
    static const char *const keys[] = {"suite", "description", "scenarios"};
    if (jctx_check_keys(&c, root, "", keys, 3) != 0)
        goto done;
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0 ||
        (size_t)cJSON_GetArraySize(list) > max) {
        jctx_fail(&c, "scenarios", "expected an array of 1 to %zu scenario files", max);
        goto done;
    }
    char dirbuf[512];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    const char *dir = dirname(dirbuf);
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, list)
    {
        char p[64];
        snprintf(p, sizeof p, "scenarios[%d]", i);
        if (!cJSON_IsString(e)) {
            jctx_fail(&c, p, "expected a file name");
            for (int k = 0; k < i; k++)
                free(paths[k]);
            goto done;
        }
        size_t plen = strlen(dir) + strlen(e->valuestring) + 2;
        paths[i] = malloc(plen);
        if (paths[i] == NULL) {
            for (int k = 0; k < i; k++)
                free(paths[k]);
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        snprintf(paths[i], plen, "%s/%s", dir, e->valuestring);
        char found[LIBRARY_MAX_PATH], ferr[8];
        if (lookup && access(paths[i], F_OK) != 0 && !strchr(e->valuestring, '/') &&
            library_resolve(e->valuestring, 0, found, sizeof found, ferr, sizeof ferr) == 0) {
            free(paths[i]);
            paths[i] = strdup(found);
            if (paths[i] == NULL) {
                for (int k = 0; k < i; k++)
                    free(paths[k]);
                snprintf(err, errlen, "out of memory");
                goto done;
            }
        }
        i++;
    }
    n = i;
done:
    cJSON_Delete(root);
    return n;
}
