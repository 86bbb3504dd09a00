/* Run outputs: results.json, junit.xml and summary.md, written together. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cliutil.h"
#include "junit.h"
#include "results.h"
#include "resultsjson.h"

int report_write_run(const char *dir, const struct run_result *r, char *err, size_t errlen)
{
    cJSON *o = resultsjson_build(r);
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
        cliutil_write_text(dir, "summary.md", md, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    free(json);
    free(xml);
    free(md);
    return rc;
}
