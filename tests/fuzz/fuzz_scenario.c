/* Fuzz target: scenario and suite files (runner/scenario.c), each input read as both. A loaded
 * scenario keeps its limits; a refused one says where, in "FILE:LINE: ..." form. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "gate.h"
#include "request.h"
#include "scenario.h"

#define FUZZ_FILE "scenarios/fuzz.json"

static void check_err(const char *err, size_t len)
{
    FUZZ_CHECK(memchr(err, '\0', len) != NULL);
    FUZZ_CHECK(strncmp(err, FUZZ_FILE ":", strlen(FUZZ_FILE ":")) == 0);
}

static void check_scenario(const struct scenario *s)
{
    FUZZ_CHECK(strcmp(s->file, FUZZ_FILE) == 0);
    FUZZ_CHECK(memchr(s->name, '\0', sizeof s->name) && s->name[0]);
    /* the name prefixes the correlation ids the mock must accept */
    FUZZ_CHECK(request_id_ok(s->name, strlen(s->name)));
    FUZZ_CHECK(s->nusers >= 1 && s->nusers <= CHAOS_MAX_USERS);
    FUZZ_CHECK(s->ngates <= SCENARIO_MAX_GATES);
    FUZZ_CHECK(s->requests >= 1 && s->requests <= 1000000);
    FUZZ_CHECK(s->concurrency >= 1 && s->concurrency <= 10000);
    FUZZ_CHECK(s->timeout_ms >= 100 && s->timeout_ms <= 3600000);
    FUZZ_CHECK(s->settle_ms <= 600000);
    FUZZ_CHECK((s->profile[0] != '\0') != (s->schedule[0] != '\0'));
    FUZZ_CHECK(s->think_ms.lo <= s->think_ms.hi);
    double total = 0;
    for (size_t i = 0; i < s->nusers; i++) {
        const struct chaos_user *u = &s->users[i];
        FUZZ_CHECK(u->weight >= 0 && u->weight <= 1e9);
        FUZZ_CHECK(u->at.lo <= u->at.hi);
        FUZZ_CHECK(u->retries <= 100);
        total += u->weight;
    }
    FUZZ_CHECK(total > 0);
    for (size_t i = 0; i < s->ngates; i++) {
        const struct gate *g = &s->gates[i];
        int scalar;
        FUZZ_CHECK(scenario_metric_known(g->base, &scalar));
        FUZZ_CHECK(scalar == (g->agg == GATE_VALUE));
        FUZZ_CHECK(isfinite(g->threshold));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    struct scenario s;
    err[0] = '\0';
    if (scenario_parse_buffer(FUZZ_FILE, (const char *)data, size, &s, err, sizeof err) == 0) {
        check_scenario(&s);
        scenario_cleanup(&s);
    } else {
        check_err(err, sizeof err);
    }
    char *paths[SUITE_MAX_SCENARIOS];
    int n = suite_expand_buffer(FUZZ_FILE, (const char *)data, size, paths, SUITE_MAX_SCENARIOS,
                                err, sizeof err);
    FUZZ_CHECK(n >= -1 && n <= SUITE_MAX_SCENARIOS);
    if (n < 0)
        check_err(err, sizeof err);
    for (int i = 0; i < n; i++) {
        FUZZ_CHECK(paths[i] != NULL);
        free(paths[i]);
    }
    return 0;
}
