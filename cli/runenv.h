/* `tailgate run` settings from the environment, for what CI passes that way: TAILGATE_OUT,
 * TAILGATE_SEED, TAILGATE_MOCK_URL, TAILGATE_GATEWAY, TAILGATE_GATEWAY_URL, TAILGATE_FLOOR (and
 * TAILGATE_SCENARIOS, read by the scenario library). Flags parsed afterwards override them. */
#ifndef TG_CLI_RUNENV_H
#define TG_CLI_RUNENV_H

#include <stddef.h>

#include "runner/run.h"

/* Applies the environment to 'cfg' before the flags are parsed. An empty variable counts as
 * unset (CI templates pass empty inputs). A gateway variable is ignored when argv holds a mode
 * flag (--gateway, --gateway-url, --direct; --gateway-cmd keeps TAILGATE_GATEWAY_URL), so a flag
 * always wins. Also exports TAILGATE_REFGW, the shipped reference gateway's path, when unset, for
 * the gateway descriptions that start it. Returns 0, or -1 with err naming the variable. Borrows
 * the environment's strings into cfg. */
int runenv_apply(struct run_config *cfg, int argc, char *const *argv, char *err, size_t errlen);

#endif
