/* The validation of a chaos client's config. */
#ifndef CHAOS_CONFIG_H
#define CHAOS_CONFIG_H

#include <stddef.h>

#include "client.h"

/* 0, or -1 with err naming the field that is wrong. */
int chaos_config_validate(const struct chaos_config *cfg, char *err, size_t errlen);

#endif
