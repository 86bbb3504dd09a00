/* How each user request ended, in one word from a fixed set: who or what ended it. */
#ifndef RUNNER_ENDREASON_H
#define RUNNER_ENDREASON_H

#include <cjson/cJSON.h>

#include "chaos/client.h"

enum end_reason {
    END_COMPLETED,        /* read to the vendor's end */
    END_CLIENT_ABORTED,   /* the user left: closed the tab, reset, stopped, superseded, killed */
    END_NETWORK_CLOSED,   /* the network went (network_drop) */
    END_UPSTREAM_TIMEOUT, /* nothing cut a silent upstream: a 504 or 408, or the client's limit */
    END_GATEWAY_DEADLINE, /* the gateway cut the upstream itself while its user still waited */
    END_ERROR,            /* anything else: the gateway failed the user */
    END_REASON_COUNT
};

const char *end_reason_name(enum end_reason r);

/* 'last': the request's last client attempt (the one the user ended with); 'upstream': the
 * mock's record of its last upstream attempt, NULL when the gateway never sent one;
 * clock_offset_ns: the mock's clock minus the client's. */
enum end_reason end_reason_of(const struct chaos_record *last, const cJSON *upstream,
                              double clock_offset_ns);

#endif
