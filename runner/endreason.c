/* The end reason of a user request (endreason.h), from its last client attempt and the mock's
 * view of its upstream. */
#include "endreason.h"

#include <math.h>
#include <string.h>

#include "jget.h"

#define END_REASON_SLACK_NS 5e6

static const char *const names[] = {"completed",        "client_aborted",   "network_closed",
                                    "upstream_timeout", "gateway_deadline", "error"};
_Static_assert(sizeof names / sizeof names[0] == END_REASON_COUNT, "one name per reason");

const char *end_reason_name(enum end_reason r)
{
    return (unsigned)r < END_REASON_COUNT ? names[r] : "?";
}

enum end_reason end_reason_of(const struct chaos_record *last, const cJSON *upstream,
                              double clock_offset_ns)
{
    if (last == NULL)
        return END_ERROR;
    switch (last->end) {
    case CHAOS_END_COMPLETE:
        return END_COMPLETED; /* a backgrounded user who came back and read on too */
    case CHAOS_END_DROP:
        return END_NETWORK_CLOSED;
    case CHAOS_END_FIN:
    case CHAOS_END_RST:
    case CHAOS_END_KILLED:
    case CHAOS_END_SUPERSEDED:
        return END_CLIENT_ABORTED;
    default:
        break;
    }
    /* the user waited and did not get the answer: who ended it? The gateway, if the mock saw it
     * hang up on a request still generating. When the user's client gave up by its own timeout,
     * only a hang-up before that counts: at or after it the gateway was passing the give-up on
     * (the client stamps its end just after its close: END_REASON_SLACK_NS covers that and the
     * clocks' offset) */
    const char *ck = upstream ? jget_str(upstream, "close_kind") : NULL;
    const char *sr = upstream ? jget_str(upstream, "stop_reason") : NULL;
    double closed = upstream ? jget_num(upstream, "t_peer_closed_ns") - clock_offset_ns : NAN;
    int hung_up = ck && strcmp(ck, "none") != 0 && sr && strcmp(sr, "disconnect") == 0;
    if (hung_up && (last->end != CHAOS_END_TIMEOUT ||
                    closed < (double)last->t_end_ns - END_REASON_SLACK_NS))
        return END_GATEWAY_DEADLINE;
    if (last->end == CHAOS_END_TIMEOUT || last->http_status == 504 || last->http_status == 408)
        return END_UPSTREAM_TIMEOUT;
    return END_ERROR;
}
_Static_assert(END_REASON_COUNT <= 8, "end_reasons in results.h holds them all");
