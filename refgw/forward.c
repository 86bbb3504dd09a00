/* The headers refgw forwards to its upstream (forward.h). */
#include "forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What reaches the upstream: the vendors' headers, and the mock's x-tailgate-* controls. */
static const char *const forwarded_names[] = {
    "Content-Type",
    "Authorization",
    "x-api-key",
    "anthropic-version",
    "Idempotency-Key",
    "X-Request-Id",
    "x-tailgate-fault",
    "x-tailgate-jitter",
    "x-tailgate-length",
    "x-tailgate-profile",
    "x-tailgate-seed",
    "x-tailgate-tps",
    "x-tailgate-ttft-ms",
    "x-goog-api-key",
    "api-key", /* Azure OpenAI's */
    "x-tailgate-reasoning-tokens",
    "x-tailgate-reasoning-tps",
    "x-tailgate-reasoning-content",
    "x-tailgate-tool-call",
    "x-tailgate-tool-text",
    /* Bedrock's SigV4 headers, as the client signed them */
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
};

static int slist_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *tmp = curl_slist_append(*list, line);
    if (tmp == NULL)
        return -1;
    *list = tmp;
    return 0;
}

/* One forwarded header, "Name: value" ("Name;" for an empty value: "Name:" alone would tell
 * curl to drop it). */
static int header_add(struct curl_slist **list, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (line == NULL)
        return -1;
    if (*value)
        snprintf(line, n, "%s: %s", name, value);
    else
        snprintf(line, n, "%s;", name);
    int rc = slist_add(list, line);
    free(line);
    return rc;
}

int forward_headers(const struct exchange *x, int strip_request_id, struct curl_slist **list)
{
    int strip = strip_request_id;
    for (size_t i = 0; i < sizeof forwarded_names / sizeof forwarded_names[0]; i++) {
        const char *name = forwarded_names[i];
        const char *value = exchange_header(x, name);
        if (value == NULL || (strip && strcasecmp(name, "X-Request-Id") == 0))
            continue;
        if (header_add(list, name, value) != 0)
            return -1;
    }
    /* curl would add a form Content-Type to a POST, and "Expect: 100-continue" to a large one
     * (a round trip the client did not ask for) */
    if (exchange_header(x, "Content-Type") == NULL && slist_add(list, "Content-Type:") != 0)
        return -1;
    return slist_add(list, "Expect:");
}
