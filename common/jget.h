/* Reading one field of a parsed JSON object, tolerant of absence and of the wrong type. */
#ifndef COMMON_JGET_H
#define COMMON_JGET_H

#include <cjson/cJSON.h>

/* The number at o[k], or NAN when absent or not a number. */
double jget_num(const cJSON *o, const char *k);
/* The string at o[k], or NULL; borrowed from o. */
const char *jget_str(const cJSON *o, const char *k);

#endif
