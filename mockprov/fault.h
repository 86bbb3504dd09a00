/* Server-side faults a request asks for (x-tailgate-fault header or POST /_tailgate/faults). */
#ifndef MP_FAULT_H
#define MP_FAULT_H

#include <stddef.h>
#include <stdint.h>

#define FAULT_TEXT_MAX 128

struct fault {
    int status;            /* 0: none; else an HTTP error before the stream */
    int64_t retry_after;   /* seconds, -1: no header */
    int should_retry;      /* -1: no header, 0 false, 1 true */
    int64_t error_after;   /* -1: none */
    int64_t stall_after;   /* -1: none */
    int64_t stall_ms;
    int64_t truncate_after; /* -1: none */
    int64_t slow_first_ms;  /* -1: none */
    char text[FAULT_TEXT_MAX];
};

/* No faults. */
void fault_init(struct fault *f);

/* Parses "status=429,retry-after=2", "error-after=5", "stall-after=3,stall-ms=2000",
 * "truncate-after=4", "slow-first-token-ms=3000". Returns 0, or -1 with err naming the key;
 * 'f' is untouched on failure. */
int fault_parse(const char *spec, struct fault *f, char *err, size_t errlen);

#endif
