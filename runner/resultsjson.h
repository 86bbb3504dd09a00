/* results.json: the whole run as one JSON document (the format consumers read). */
#ifndef RUNNER_RESULTSJSON_H
#define RUNNER_RESULTSJSON_H

#include <cjson/cJSON.h>

#include "results.h"

/* The document; caller owns it; NULL on OOM. */
cJSON *resultsjson_build(const struct run_result *r);

#endif
