/* Toxic parsing, validation and Toxiproxy's JSON shape, from tables. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "toxic.h"

static int parse(const char *json, struct toxic *t, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(json);
    if (j == NULL) {
        snprintf(err, errlen, "test: bad JSON %s", json);
        return 99;
    }
    int rc = toxic_parse(j, t, err, errlen);
    cJSON_Delete(j);
    return rc;
}

/* Every type with its attributes, and what the parse must give. */
static const struct {
    const char *json;
    const char *name;
    enum toxic_type type;
    enum toxic_stream stream;
    double toxicity;
    int64_t a0, a1, a2; /* attributes in the order of the type's table */
} GOOD[] = {
    {"{\"type\":\"latency\",\"attributes\":{\"latency\":100,\"jitter\":10}}",
     "latency_downstream", TOXIC_LATENCY, TOXIC_DOWNSTREAM, 1.0, 100, 10, 0},
    {"{\"type\":\"latency\"}", "latency_downstream", TOXIC_LATENCY, TOXIC_DOWNSTREAM, 1.0, 0, 0, 0},
    {"{\"type\":\"bandwidth\",\"stream\":\"upstream\",\"attributes\":{\"rate\":50}}",
     "bandwidth_upstream", TOXIC_BANDWIDTH, TOXIC_UPSTREAM, 1.0, 50, 0, 0},
    {"{\"type\":\"slicer\",\"attributes\":{\"average_size\":64,\"size_variation\":32,"
     "\"delay\":10}}",
     "slicer_downstream", TOXIC_SLICER, TOXIC_DOWNSTREAM, 1.0, 64, 32, 10},
    {"{\"type\":\"limit_data\",\"name\":\"cut\",\"attributes\":{\"bytes\":1000}}", "cut",
     TOXIC_LIMIT_DATA, TOXIC_DOWNSTREAM, 1.0, 1000, 0, 0},
    {"{\"type\":\"reset_peer\",\"toxicity\":0.5,\"attributes\":{\"timeout\":20}}",
     "reset_peer_downstream", TOXIC_RESET_PEER, TOXIC_DOWNSTREAM, 0.5, 20, 0, 0},
    {"{\"type\":\"timeout\",\"attributes\":{\"timeout\":0}}", "timeout_downstream",
     TOXIC_TIMEOUT, TOXIC_DOWNSTREAM, 1.0, 0, 0, 0},
    {"{\"type\":\"slow_close\",\"stream\":\"\",\"attributes\":{\"delay\":300}}",
     "slow_close_downstream", TOXIC_SLOW_CLOSE, TOXIC_DOWNSTREAM, 1.0, 300, 0, 0},
    {"{\"type\":\"blackhole\",\"toxicity\":0,\"attributes\":{\"rst_after_ms\":30000}}",
     "blackhole_downstream", TOXIC_BLACKHOLE, TOXIC_DOWNSTREAM, 0.0, 30000, 0, 0},
    {"{\"type\":\"stall\",\"stream\":\"upstream\",\"attributes\":{\"duration_ms\":3600000}}",
     "stall_upstream", TOXIC_STALL, TOXIC_UPSTREAM, 1.0, 3600000, 0, 0},
    {"{\"type\":\"limit_data\",\"name\":null,\"stream\":null,\"attributes\":null}",
     "limit_data_downstream", TOXIC_LIMIT_DATA, TOXIC_DOWNSTREAM, 1.0, 0, 0, 0},
    {"{\"type\":\"limit_data\",\"attributes\":{\"bytes\":9007199254740992}}",
     "limit_data_downstream", TOXIC_LIMIT_DATA, TOXIC_DOWNSTREAM, 1.0, 9007199254740992LL, 0, 0},
};

static void attrs_of(const struct toxic *t, int64_t a[3])
{
    a[0] = a[1] = a[2] = 0;
    switch (t->type) {
    case TOXIC_LATENCY:
        a[0] = t->a.latency.latency;
        a[1] = t->a.latency.jitter;
        break;
    case TOXIC_BANDWIDTH:
        a[0] = t->a.bandwidth.rate;
        break;
    case TOXIC_SLICER:
        a[0] = t->a.slicer.average_size;
        a[1] = t->a.slicer.size_variation;
        a[2] = t->a.slicer.delay;
        break;
    case TOXIC_LIMIT_DATA:
        a[0] = t->a.limit_data.bytes;
        break;
    case TOXIC_RESET_PEER:
        a[0] = t->a.reset_peer.timeout;
        break;
    case TOXIC_TIMEOUT:
        a[0] = t->a.timeout.timeout;
        break;
    case TOXIC_SLOW_CLOSE:
        a[0] = t->a.slow_close.delay;
        break;
    case TOXIC_BLACKHOLE:
        a[0] = t->a.blackhole.rst_after_ms;
        break;
    case TOXIC_STALL:
        a[0] = t->a.stall.duration_ms;
        break;
    default:
        break;
    }
}

static void toxic_should_parse_every_type_with_toxiproxy_defaults(void)
{
    for (size_t i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++) {
        struct toxic t;
        char err[256] = "";
        int rc = parse(GOOD[i].json, &t, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "  row %zu: %s\n", i, err);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_STR(t.name, GOOD[i].name);
        CHECK_EQ_INT(t.type, GOOD[i].type);
        CHECK_EQ_INT(t.stream, GOOD[i].stream);
        CHECK(t.toxicity == GOOD[i].toxicity);
        int64_t a[3];
        attrs_of(&t, a);
        CHECK_EQ_INT(a[0], GOOD[i].a0);
        CHECK_EQ_INT(a[1], GOOD[i].a1);
        CHECK_EQ_INT(a[2], GOOD[i].a2);
    }
}

/* Bad input: the code the API maps to Toxiproxy's message, and the field the error names. */
static const struct {
    const char *json;
    int rc;
    const char *names; /* the error text starts with this */
} BAD[] = {
    {"{}", TOXIC_ETYPE, "type: missing"},
    {"{\"type\":\"latncy\"}", TOXIC_ETYPE, "type: 'latncy' is not one of latency"},
    {"{\"type\":5}", TOXIC_ETYPE, "type: a number is not one of"},
    {"{\"type\":\"\"}", TOXIC_ETYPE, "type: '' is not one of"},
    {"{\"type\":\"latency\",\"stream\":\"sideways\"}", TOXIC_ESTREAM, "stream: 'sideways'"},
    {"{\"type\":\"latency\",\"stream\":1}", TOXIC_ESTREAM, "stream: expected upstream or"},
    {"{\"type\":\"latency\",\"toxicity\":1.5}", TOXIC_EBODY, "toxicity: expected a number from 0"},
    {"{\"type\":\"latency\",\"toxicity\":-0.1}", TOXIC_EBODY, "toxicity: expected"},
    {"{\"type\":\"latency\",\"toxicity\":\"1\"}", TOXIC_EBODY, "toxicity: expected a number from 0 "
                                                          "to 1, got a string"},
    {"{\"type\":\"latency\",\"toxcity\":1}", TOXIC_EBODY, "toxcity: unknown field"},
    {"{\"type\":\"latency\",\"attributes\":{\"latency\":-5}}", TOXIC_EBODY,
     "attributes.latency: expected an integer 0..3600000 (ms), got -5"},
    {"{\"type\":\"latency\",\"attributes\":{\"latency\":3600001}}", TOXIC_EBODY,
     "attributes.latency: expected an integer 0..3600000"},
    {"{\"type\":\"latency\",\"attributes\":{\"jitter\":1e300}}", TOXIC_EBODY,
     "attributes.jitter: expected an integer"},
    {"{\"type\":\"latency\",\"attributes\":{\"latency\":1.5}}", TOXIC_EBODY,
     "attributes.latency: expected an integer 0..3600000 (ms), got 1.5"},
    {"{\"type\":\"latency\",\"attributes\":{\"latency\":\"100\"}}", TOXIC_EBODY,
     "attributes.latency: expected an integer 0..3600000 (ms), got a string"},
    {"{\"type\":\"latency\",\"attributes\":{\"latency\":null}}", TOXIC_EBODY,
     "attributes.latency: expected an integer"},
    {"{\"type\":\"latency\",\"attributes\":{\"rate\":1}}", TOXIC_EBODY,
     "attributes.rate: unknown attribute of latency (expected latency, jitter)"},
    {"{\"type\":\"latency\",\"attributes\":[1]}", TOXIC_EBODY, "attributes: expected an object"},
    {"{\"type\":\"bandwidth\",\"attributes\":{\"rate\":-1}}", TOXIC_EBODY, "attributes.rate"},
    {"{\"type\":\"bandwidth\",\"attributes\":{\"rate\":1e12}}", TOXIC_EBODY, "attributes.rate"},
    {"{\"type\":\"slicer\"}", TOXIC_EBODY,
     "attributes.average_size: expected an integer 1..1048576 (bytes), got 0"},
    {"{\"type\":\"slicer\",\"attributes\":{\"average_size\":10,\"size_variation\":10}}",
     TOXIC_EBODY, "attributes.size_variation: must be smaller than average_size (10), got 10"},
    {"{\"type\":\"slicer\",\"attributes\":{\"average_size\":10,\"delay\":-1}}", TOXIC_EBODY,
     "attributes.delay"},
    {"{\"type\":\"limit_data\",\"attributes\":{\"bytes\":-1}}", TOXIC_EBODY, "attributes.bytes"},
    {"{\"type\":\"limit_data\",\"attributes\":{\"bytes\":1e300}}", TOXIC_EBODY,
     "attributes.bytes"},
    {"{\"type\":\"reset_peer\",\"attributes\":{\"timeout\":-1}}", TOXIC_EBODY,
     "attributes.timeout"},
    {"{\"type\":\"timeout\",\"attributes\":{\"timeout\":1e9}}", TOXIC_EBODY,
     "attributes.timeout: expected an integer 0..3600000 (ms), got 1e+09"},
    {"{\"type\":\"slow_close\",\"attributes\":{\"delay\":-1}}", TOXIC_EBODY, "attributes.delay"},
    {"{\"type\":\"blackhole\",\"attributes\":{\"rst_after_ms\":-1}}", TOXIC_EBODY,
     "attributes.rst_after_ms"},
    {"{\"type\":\"blackhole\",\"attributes\":{\"timeout\":5}}", TOXIC_EBODY,
     "attributes.timeout: unknown attribute of blackhole (expected rst_after_ms)"},
    {"{\"type\":\"stall\",\"attributes\":{\"duration_ms\":3600001}}", TOXIC_EBODY,
     "attributes.duration_ms"},
    {"{\"type\":\"latency\",\"name\":5}", TOXIC_EBODY, "name: expected a string"},
    {"{\"type\":\"latency\",\"name\":\"a/b\"}", TOXIC_EBODY, "name: 'a/b' has"},
    {"{\"type\":\"latency\",\"name\":\"a b\"}", TOXIC_EBODY, "name: 'a b' has"},
    {"{\"type\":\"latency\",\"name\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxx\"}",
     TOXIC_EBODY, "name: expected 1..64 bytes, got 65"},
    {"[]", TOXIC_EBODY, "expected a JSON object, got an array"},
    {"null", TOXIC_EBODY, "expected a JSON object, got null"},
    {"\"latency\"", TOXIC_EBODY, "expected a JSON object, got a string"},
};

static void toxic_should_reject_bad_input_naming_the_field(void)
{
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        struct toxic t;
        memset(&t, 0x5a, sizeof t);
        struct toxic before = t;
        char err[256] = "";
        int rc = parse(BAD[i].json, &t, err, sizeof err);
        if (rc != BAD[i].rc || strncmp(err, BAD[i].names, strlen(BAD[i].names)) != 0)
            fprintf(stderr, "  row %zu %s: rc %d, err '%s'\n", i, BAD[i].json, rc, err);
        CHECK_EQ_INT(rc, BAD[i].rc);
        CHECK(strncmp(err, BAD[i].names, strlen(BAD[i].names)) == 0);
        CHECK(memcmp(&t, &before, sizeof t) == 0); /* untouched on failure */
    }
}

static void toxic_should_print_toxiproxy_shape(void)
{
    struct toxic t;
    char err[256];
    CHECK_EQ_INT(parse("{\"type\":\"latency\",\"attributes\":{\"latency\":100,\"jitter\":10}}",
                       &t, err, sizeof err),
                 0);
    cJSON *j = toxic_to_json(&t);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    CHECK(s != NULL);
    int ok = strcmp(s, "{\"attributes\":{\"latency\":100,\"jitter\":10},"
                       "\"name\":\"latency_downstream\",\"type\":\"latency\","
                       "\"stream\":\"downstream\",\"toxicity\":1}") == 0;
    if (!ok)
        fprintf(stderr, "  got %s\n", s);
    free(s);
    CHECK(ok);
}

/* through the text a client reads, not just the tree */
static void toxic_should_round_trip_every_type(void)
{
    for (size_t i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++) {
        struct toxic a, b;
        char err[256];
        CHECK_EQ_INT(parse(GOOD[i].json, &a, err, sizeof err), 0);
        cJSON *j = toxic_to_json(&a);
        CHECK(j != NULL);
        char *s = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        CHECK(s != NULL);
        int rc = parse(s, &b, err, sizeof err);
        free(s);
        CHECK_EQ_INT(rc, 0);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
    }
}

/* cJSON alone prints 2^53 - 1 as 9.00719925474099e+15 and 0.259007199254740992 to 15 digits */
static void toxic_should_print_every_number_exactly(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"{\"type\":\"limit_data\",\"attributes\":{\"bytes\":9007199254740991}}",
         "\"bytes\":9007199254740991}"},
        {"{\"type\":\"limit_data\",\"attributes\":{\"bytes\":9007199254740992}}",
         "\"bytes\":9007199254740992}"},
        {"{\"type\":\"limit_data\",\"toxicity\":0.259007199254740992}",
         "\"toxicity\":0.25900719925474097}"},
        {"{\"type\":\"limit_data\",\"toxicity\":0.25,\"attributes\":{\"bytes\":4096}}",
         "\"bytes\":4096}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct toxic t;
        char err[256];
        CHECK_EQ_INT(parse(cases[i].in, &t, err, sizeof err), 0);
        cJSON *j = toxic_to_json(&t);
        char *s = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        CHECK(s != NULL);
        int ok = strstr(s, cases[i].want) != NULL;
        if (!ok)
            fprintf(stderr, "  got %s, want %s\n", s, cases[i].want);
        free(s);
        CHECK(ok);
    }
}

static void toxic_should_name_every_type(void)
{
    static const char *names[] = {"latency", "bandwidth", "slicer", "limit_data", "reset_peer",
                                  "timeout", "slow_close", "blackhole", "stall"};
    CHECK_EQ_INT(sizeof names / sizeof names[0], TOXIC_TYPE_COUNT);
    for (int i = 0; i < TOXIC_TYPE_COUNT; i++) {
        enum toxic_type t;
        CHECK_EQ_STR(toxic_type_name((enum toxic_type)i), names[i]);
        CHECK_EQ_INT(toxic_type_parse(names[i], &t), 0);
        CHECK_EQ_INT(t, i);
    }
    enum toxic_type t;
    CHECK_EQ_INT(toxic_type_parse("corrupt", &t), -1);
    CHECK(toxic_type_name(TOXIC_TYPE_COUNT) == NULL);
    CHECK_EQ_STR(toxic_stream_name(TOXIC_UPSTREAM), "upstream");
    CHECK_EQ_STR(toxic_stream_name(TOXIC_DOWNSTREAM), "downstream");
}

static int update(struct toxic *t, const char *json, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(json);
    int rc = toxic_update(t, j, err, errlen);
    cJSON_Delete(j);
    return rc;
}

static void toxic_should_update_attributes_and_toxicity_only(void)
{
    struct toxic t;
    char err[256];
    CHECK_EQ_INT(parse("{\"type\":\"latency\",\"name\":\"lat\",\"attributes\":{\"latency\":100,"
                       "\"jitter\":10}}",
                       &t, err, sizeof err),
                 0);
    /* merged over the current attributes, as Toxiproxy decodes over a copy */
    CHECK_EQ_INT(update(&t, "{\"attributes\":{\"jitter\":20},\"toxicity\":0.25}", err, sizeof err),
                 0);
    CHECK_EQ_INT(t.a.latency.latency, 100);
    CHECK_EQ_INT(t.a.latency.jitter, 20);
    CHECK(t.toxicity == 0.25);
    /* a client that sends the whole toxic back */
    CHECK_EQ_INT(update(&t, "{\"name\":\"lat\",\"type\":\"latency\",\"stream\":\"downstream\","
                            "\"attributes\":{\"latency\":5}}",
                        err, sizeof err),
                 0);
    CHECK_EQ_INT(t.a.latency.latency, 5);
    struct toxic before = t;
    static const struct {
        const char *json, *names;
    } bad[] = {
        {"{\"type\":\"bandwidth\"}", "type: cannot change from 'latency'"},
        {"{\"stream\":\"upstream\"}", "stream: cannot change from 'downstream'"},
        {"{\"name\":\"other\"}", "name: cannot change from 'lat'"},
        {"{\"attributes\":{\"latency\":-1}}", "attributes.latency"},
        {"{\"attributes\":{\"rate\":1}}", "attributes.rate: unknown attribute"},
        {"{\"toxicity\":2}", "toxicity: expected"},
        {"{\"enabled\":true}", "enabled: unknown field"},
        {"[1]", "expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = update(&t, bad[i].json, err, sizeof err);
        if (rc != TOXIC_EBODY || strncmp(err, bad[i].names, strlen(bad[i].names)) != 0)
            fprintf(stderr, "  row %zu: rc %d err '%s'\n", i, rc, err);
        CHECK_EQ_INT(rc, TOXIC_EBODY);
        CHECK(strncmp(err, bad[i].names, strlen(bad[i].names)) == 0);
        CHECK(memcmp(&t, &before, sizeof t) == 0);
    }
}

static void toxic_should_validate_ranges_set_in_code(void)
{
    struct toxic t;
    char err[256];
    CHECK_EQ_INT(parse("{\"type\":\"bandwidth\",\"attributes\":{\"rate\":10}}", &t, err,
                       sizeof err),
                 0);
    CHECK_EQ_INT(toxic_validate(&t, err, sizeof err), 0);
    t.a.bandwidth.rate = -3;
    CHECK_EQ_INT(toxic_validate(&t, err, sizeof err), -1);
    CHECK(strncmp(err, "attributes.rate", 15) == 0);
    t.a.bandwidth.rate = 10;
    t.toxicity = 1.01;
    CHECK_EQ_INT(toxic_validate(&t, err, sizeof err), -1);
    CHECK(strncmp(err, "toxicity", 8) == 0);
    t.toxicity = 1;
    t.name[0] = '\0';
    CHECK_EQ_INT(toxic_validate(&t, err, sizeof err), -1);
    CHECK(strncmp(err, "name", 4) == 0);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(toxic_should_parse_every_type_with_toxiproxy_defaults),
        CASE(toxic_should_reject_bad_input_naming_the_field),
        CASE(toxic_should_print_toxiproxy_shape),
        CASE(toxic_should_round_trip_every_type),
        CASE(toxic_should_print_every_number_exactly),
        CASE(toxic_should_name_every_type),
        CASE(toxic_should_update_attributes_and_toxicity_only),
        CASE(toxic_should_validate_ranges_set_in_code),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
