/* Fuzz target: the chaos proxy API's request bodies (chaos/proxyapi.c): the JSON read, a proxy
 * (create/update), /populate's list and the drop extension, each on the same input. */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "proxyapi.h"
#include "toxic.h"

static void check_err(const char *err, size_t len)
{
    FUZZ_CHECK(memchr(err, '\0', len) != NULL);
    FUZZ_CHECK(err[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    int status = 0;
    cJSON *j = proxyapi_parse_json((const char *)data, size, &status, err, sizeof err);
    if (j == NULL) {
        FUZZ_CHECK(status == 400 || status == 413);
        check_err(err, sizeof err);
        return 0;
    }
    struct proxyapi_body b;
    if (proxyapi_parse_proxy(j, &b, err, sizeof err) == 0) {
        FUZZ_CHECK(b.enabled >= -1 && b.enabled <= 1);
        /* borrowed from the tree: readable to their NUL */
        FUZZ_CHECK(b.name == NULL || strlen(b.name) < size);
        FUZZ_CHECK(b.listen == NULL || strlen(b.listen) < size);
        FUZZ_CHECK(b.upstream == NULL || strlen(b.upstream) < size);
    } else {
        check_err(err, sizeof err);
    }
    struct proxyapi_body bodies[PROXYAPI_MAX_PROXIES];
    int n = -1;
    if (proxyapi_parse_populate(j, bodies, &n, err, sizeof err) == 0) {
        FUZZ_CHECK(n >= 0 && n <= PROXYAPI_MAX_PROXIES);
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(bodies[i].name && bodies[i].name[0]);
            FUZZ_CHECK(bodies[i].upstream && bodies[i].upstream[0]);
            for (int k = 0; k < i; k++)
                FUZZ_CHECK(strcmp(bodies[k].name, bodies[i].name) != 0);
        }
    } else {
        FUZZ_CHECK(n == 0);
        check_err(err, sizeof err);
    }
    int port = -1;
    uint32_t rst = 0;
    if (proxyapi_parse_drop(j, &port, &rst, err, sizeof err) == 0) {
        FUZZ_CHECK(port >= 1 && port <= 65535);
        FUZZ_CHECK(rst <= TOXIC_MAX_MS);
    } else {
        check_err(err, sizeof err);
    }
    cJSON_Delete(j);
    return 0;
}
