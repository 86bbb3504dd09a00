/* refgw's metering log: one JSON line per finished request (meterlog.h). */
#include "meterlog.h"

#include <stdlib.h>

#include <cjson/cJSON.h>

int meterlog_write(FILE *f, const struct meterlog_line *l)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "request_id", l->request_id);
    cJSON_AddStringToObject(o, "path", l->path);
    cJSON_AddNumberToObject(o, "status", l->status);
    cJSON_AddBoolToObject(o, "client_closed", l->client_closed);
    if (l->client_close)
        cJSON_AddStringToObject(o, "client_close", l->client_close);
    else
        cJSON_AddNullToObject(o, "client_close");
    cJSON_AddNumberToObject(o, "upstream_attempts", l->upstream_attempts);
    if (l->fallback)
        cJSON_AddTrueToObject(o, "fallback");
    cJSON_AddNumberToObject(o, "output_tokens", (double)l->output_tokens);
    cJSON_AddNumberToObject(o, "input_tokens", (double)l->input_tokens);
    cJSON_AddNumberToObject(o, "t_ms", (double)l->t_ms);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    /* one write per line and a flush: a reader tailing the file never sees half a record */
    int rc = s == NULL || fprintf(f, "%s\n", s) < 0 || fflush(f) != 0 ? -1 : 0;
    free(s);
    return rc;
}
