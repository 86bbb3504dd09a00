/* Run outputs: results.json, junit.xml and summary.md, written together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cliutil.h"
#include "junit.h"
#include "results.h"
#include "promfile.h"
#include "resultsjson.h"
#include "utf8.h"

static int not_utf8(const char *s)
{
    return s && utf8_valid_prefix(s, strlen(s)) != strlen(s);
}

/* Paths and URLs from the command line may hold bytes that are not UTF-8; results.json must stay
 * valid UTF-8 JSON or the report reader (strict) refuses it. Each bad byte becomes U+FFFD; on
 * out of memory the string stays as it was. */
static void repair_strings(cJSON *o)
{
    for (cJSON *it = o ? o->child : NULL; it; it = it->next) {
        if (not_utf8(it->string) && !(it->type & cJSON_StringIsConst)) {
            char *fixed = utf8_repair_dup(it->string);
            char *copy = fixed ? cJSON_malloc(strlen(fixed) + 1) : NULL;
            if (copy) {
                memcpy(copy, fixed, strlen(fixed) + 1);
                cJSON_free(it->string);
                it->string = copy;
            }
            free(fixed);
        }
        if (cJSON_IsString(it) && not_utf8(it->valuestring)) {
            char *fixed = utf8_repair_dup(it->valuestring);
            if (fixed)
                cJSON_SetValuestring(it, fixed);
            free(fixed);
        }
        repair_strings(it);
    }
}

int report_write_run(const char *dir, const struct run_result *r, char *err, size_t errlen)
{
    cJSON *o = resultsjson_build(r);
    repair_strings(o);
    char *json = cJSON_Print(o);
    cJSON_Delete(o);
    char *xml = junit_build(r);
    char *md = report_summary_md(r);
    int rc = -1;
    if (json == NULL || xml == NULL || md == NULL) {
        snprintf(err, errlen, "report: out of memory");
        goto done;
    }
    if (cliutil_write_text(dir, "results.json", json, err, errlen) != 0 ||
        cliutil_write_text(dir, "junit.xml", xml, err, errlen) != 0 ||
        cliutil_write_text(dir, "summary.md", md, err, errlen) != 0 ||
        promfile_write(dir, r, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    free(json);
    free(xml);
    free(md);
    return rc;
}
