/* refgw's metering log (--metering-log): what the gateway would bill each request, one JSON
 * line per request once all of it is over, for tailgate's billing reconciliation. */
#ifndef REFGW_METERLOG_H
#define REFGW_METERLOG_H

#include <stdint.h>
#include <stdio.h>

struct meterlog_line {
    const char *request_id;
    const char *path;
    int status; /* what the client got, or would have got, from attempt 1 */
    int client_closed;
    const char *client_close; /* fin, rst, rst_stream, goaway; NULL: it did not leave */
    uint32_t upstream_attempts;
    int fallback; /* the answer relayed (or meant) came from the fallback upstream */
    uint64_t output_tokens, input_tokens;
    uint64_t t_ms; /* since refgw started */
};

/* Writes and flushes one line; 0, or -1 when it could not. */
int meterlog_write(FILE *f, const struct meterlog_line *l);

#endif
