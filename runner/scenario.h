/* Scenarios: what users and the network do, which vendor profile answers, which gates must
 * hold. Everything is validated before a run: an error names the file, the line, the key path,
 * what was expected, and the nearest valid name. Suites (suite.h), the metric names (metric.h)
 * and the nearest-name hint (didyoumean.h) come with this header. */
#ifndef RUNNER_SCENARIO_H
#define RUNNER_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "chaos/client.h"
#include "didyoumean.h"
#include "gate.h"
#include "jsonfile.h"
#include "metric.h"
#include "placeholder.h"
#include "suite.h"

#define SCENARIO_MAX_GATES 32
#define SCENARIO_MAX_FILE JSONFILE_MAX_BYTES
#define SCENARIO_MAX_PER_RUN (SUITE_MAX_SCENARIOS * 4) /* files one run may name */

#define SCENARIO_MAX_MOCKS PLACEHOLDER_MAX_MOCKS

/* What one provider's mock answers with in a scenario ("mocks": {NAME: {...}}), the scenario's
 * own profile, schedule and model filled in where it says nothing. */
struct scenario_mock {
    char name[PLACEHOLDER_NAME_MAX];
    int line; /* where the scenario names it */
    char profile[64];
    char schedule[256];
    cJSON *overrides; /* owned, may be NULL */
    char fault[128];
};

/* The settings one mock is given for a scenario (borrowed from it). */
struct scenario_mock_settings {
    const char *fault, *profile, *schedule;
    const cJSON *overrides;
};

struct scenario {
    char file[512];
    char name[64];
    char description[512];
    enum chaos_style api; /* the client style in --direct runs */
    char profile[64];     /* preset, or "" with a schedule */
    char schedule[256];
    cJSON *overrides; /* for POST /_tailgate/profile; owned */
    uint32_t requests, concurrency;
    double rate_per_s;           /* 0: closed model (concurrency only) */
    struct chaos_range think_ms; /* closed model: a slot's pause between user requests */
    int isolate;                 /* closed model: the next request waits until the mock finished */
    struct chaos_user users[CHAOS_MAX_USERS];
    size_t nusers;
    char user_kind[CHAOS_MAX_USERS][GATE_MAX_TAG_VALUE]; /* users[i].kind, "" none: a tag */
    cJSON *toxics_client; /* Toxiproxy-shaped toxics per leg; owned, may be NULL */
    cJSON *toxics_upstream;
    uint32_t settle_ms;
    uint32_t settle_quiet_ms; /* the settle ends once the mocks were idle this long, no new request */
    double price_in, price_out; /* USD per million tokens; <0: the profile's */
    double requests_per_day;
    uint32_t timeout_ms;
    char fault[128]; /* server-side fault for every request ("" none) */
    int api_given;   /* "api" was set: a pass-through gateway is spoken to in it */
    int http;        /* enum chaos_http the users speak; -1: the gateway's (default 1.1) */
    uint32_t users_per_connection; /* HTTP/2: streams per connection; 0 the client's default */
    int non_streaming;             /* "stream": false: every request asks for one JSON body */
    struct gate gates[SCENARIO_MAX_GATES];
    size_t ngates;
    struct scenario_mock mocks[SCENARIO_MAX_MOCKS]; /* "mocks": the named providers' */
    size_t nmocks;
};

/* The settings of the mock named 'name' ("" the default: the scenario's own keys; a named one
 * the scenario does not set: its profile, schedule and model, and no fault). */
void scenario_mock_settings(const struct scenario *sc, const char *name,
                            struct scenario_mock_settings *out);

/* Loads and validates. Returns 0, or -1 with err as "FILE:LINE: KEY.PATH: what was wrong".
 * On success the caller must scenario_cleanup(). */
int scenario_load(const char *path, struct scenario *out, char *err, size_t errlen);
/* scenario_load on a file's bytes already in memory; 'path' names it in errors and gives the
 * scenario its default name. Borrows 'data'. */
int scenario_parse_buffer(const char *path, const char *data, size_t len, struct scenario *out,
                          char *err, size_t errlen);
void scenario_cleanup(struct scenario *s);

#endif
