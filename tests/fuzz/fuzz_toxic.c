/* Fuzz target: toxics in Toxiproxy's JSON shape (chaos/toxic.c). The input is a create body,
 * optionally followed by a NUL and an update body. A parsed toxic must validate, print and parse
 * back to itself; an update must keep the toxic's identity, or leave it untouched on failure. */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "toxic.h"

static int same(const struct toxic *a, const struct toxic *b)
{
    /* every attribute is an int64_t of the union; slicer has the most (three) */
    return strcmp(a->name, b->name) == 0 && a->type == b->type && a->stream == b->stream &&
           a->toxicity == b->toxicity && a->a.slicer.average_size == b->a.slicer.average_size &&
           a->a.slicer.size_variation == b->a.slicer.size_variation &&
           a->a.slicer.delay == b->a.slicer.delay;
}

static void check_valid(const struct toxic *t)
{
    char err[256];
    FUZZ_CHECK(toxic_validate(t, err, sizeof err) == 0);
    FUZZ_CHECK(toxic_type_name(t->type) != NULL);
    FUZZ_CHECK(strlen(t->name) >= 1 && strlen(t->name) <= TOXIC_NAME_MAX);
}

/* toxic_to_json, printed and parsed again, is the same toxic */
static void check_roundtrip(const struct toxic *t)
{
    cJSON *j = toxic_to_json(t);
    FUZZ_CHECK(j != NULL);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    FUZZ_CHECK(s != NULL);
    cJSON *back = cJSON_Parse(s);
    free(s);
    FUZZ_CHECK(back != NULL);
    struct toxic u;
    char err[256];
    FUZZ_CHECK(toxic_parse(back, &u, err, sizeof err) == 0);
    cJSON_Delete(back);
    FUZZ_CHECK(same(t, &u));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t n1 = nul ? (size_t)(nul - text) : size;
    cJSON *create = cJSON_ParseWithLength(text, n1);
    struct toxic t, keep;
    memset(&t, 0x5a, sizeof t);
    keep = t;
    char err[256];
    int rc = toxic_parse(create, &t, err, sizeof err);
    cJSON_Delete(create);
    if (rc != 0) {
        FUZZ_CHECK(rc == TOXIC_EBODY || rc == TOXIC_ETYPE || rc == TOXIC_ESTREAM);
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        FUZZ_CHECK(memcmp(&t, &keep, sizeof t) == 0); /* untouched on failure */
        return 0;
    }
    check_valid(&t);
    check_roundtrip(&t);
    if (nul == NULL)
        return 0;
    cJSON *update = cJSON_ParseWithLength(nul + 1, size - n1 - 1);
    struct toxic u = t;
    rc = toxic_update(&u, update, err, sizeof err);
    cJSON_Delete(update);
    if (rc != 0) {
        FUZZ_CHECK(rc == TOXIC_EBODY);
        FUZZ_CHECK(same(&u, &t));
        return 0;
    }
    check_valid(&u);
    FUZZ_CHECK(strcmp(u.name, t.name) == 0 && u.type == t.type && u.stream == t.stream);
    check_roundtrip(&u);
    return 0;
}
