/* End reasons: who or what ended each user request, from its last client attempt and the
 * mock's record of its upstream, for every client end and every upstream close, with the
 * clock offset between them applied. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "endreason.h"

/* The mock's clock runs 1 s ahead of the client's in every row. */
#define OFF 1e9

static const char *reason(enum chaos_end end, long status, const char *upstream)
{
    struct chaos_record r;
    memset(&r, 0, sizeof r);
    r.end = end;
    r.http_status = status;
    r.t_end_ns = 5000000000ull; /* the user's attempt ended at 5 s, client clock */
    cJSON *u = upstream ? cJSON_Parse(upstream) : NULL;
    const char *name = end_reason_name(end_reason_of(&r, u, OFF));
    cJSON_Delete(u);
    return name;
}

/* the gateway hung up on the upstream at 4 s (client clock) while it still generated */
#define CUT_EARLY "{\"close_kind\":\"fin\",\"stop_reason\":\"disconnect\",\"t_peer_closed_ns\":5e9}"
/* ... 1 ms before the client stamped its end: its own give-up, passed on */
#define CUT_LATE "{\"close_kind\":\"rst\",\"stop_reason\":\"disconnect\",\"t_peer_closed_ns\":5.999e9}"
#define NATURAL "{\"close_kind\":null,\"stop_reason\":\"natural\",\"t_peer_closed_ns\":null}"
#define STALLED "{\"close_kind\":null,\"stop_reason\":null,\"t_peer_closed_ns\":null}"

static void end_reason_should_name_who_ended_each_request(void)
{
    CHECK_EQ_STR(reason(CHAOS_END_COMPLETE, 200, NATURAL), "completed");
    CHECK_EQ_STR(reason(CHAOS_END_FIN, 200, CUT_EARLY), "client_aborted");
    CHECK_EQ_STR(reason(CHAOS_END_RST, 200, NATURAL), "client_aborted");
    CHECK_EQ_STR(reason(CHAOS_END_KILLED, 200, NULL), "client_aborted");
    CHECK_EQ_STR(reason(CHAOS_END_SUPERSEDED, 200, CUT_EARLY), "client_aborted");
    CHECK_EQ_STR(reason(CHAOS_END_DROP, 200, STALLED), "network_closed");
    /* the user waited: the gateway cut the upstream first, whatever the user then got */
    CHECK_EQ_STR(reason(CHAOS_END_TRUNCATED, 200, CUT_EARLY), "gateway_deadline");
    CHECK_EQ_STR(reason(CHAOS_END_HTTP_ERROR, 504, CUT_EARLY), "gateway_deadline");
    CHECK_EQ_STR(reason(CHAOS_END_ERROR, 0, CUT_EARLY), "gateway_deadline");
    /* ... also when the user's error came first (the gateway ended both at once) */
    CHECK_EQ_STR(reason(CHAOS_END_ERROR, 0, CUT_LATE), "gateway_deadline");
    /* nothing cut the silent upstream in time */
    CHECK_EQ_STR(reason(CHAOS_END_TIMEOUT, 200, CUT_LATE), "upstream_timeout");
    CHECK_EQ_STR(reason(CHAOS_END_TIMEOUT, 200, STALLED), "upstream_timeout");
    CHECK_EQ_STR(reason(CHAOS_END_HTTP_ERROR, 504, NULL), "upstream_timeout");
    CHECK_EQ_STR(reason(CHAOS_END_HTTP_ERROR, 408, NATURAL), "upstream_timeout");
    /* the gateway failed the user for another reason */
    CHECK_EQ_STR(reason(CHAOS_END_HTTP_ERROR, 502, NATURAL), "error");
    CHECK_EQ_STR(reason(CHAOS_END_TRUNCATED, 200, NATURAL), "error");
    CHECK_EQ_STR(reason(CHAOS_END_ERROR, 0, NULL), "error");
    CHECK_EQ_STR(end_reason_name(end_reason_of(NULL, NULL, 0)), "error");
    CHECK_EQ_STR(end_reason_name(END_REASON_COUNT), "?");
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(end_reason_should_name_who_ended_each_request),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
