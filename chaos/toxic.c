/* Toxics: names, attributes, validation and Toxiproxy's JSON shape. One table describes every
 * attribute, so parsing, range checks and printing cannot drift apart. */
#include "toxic.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOXIC_MAX_ATTRS 3

struct attr_spec {
    const char *name;
    size_t off; /* of the int64_t inside struct toxic */
    int64_t lo, hi;
    const char *unit;
};

struct type_spec {
    const char *name;
    int nattr;
    struct attr_spec attr[TOXIC_MAX_ATTRS];
};

#define OFF(f) offsetof(struct toxic, a.f)

/* Indexed by enum toxic_type. Names and units are Toxiproxy's (README "Toxics"). */
static const struct type_spec TYPES[TOXIC_TYPE_COUNT] = {
    [TOXIC_LATENCY] = {"latency", 2,
                       {{"latency", OFF(latency.latency), 0, TOXIC_MAX_MS, "ms"},
                        {"jitter", OFF(latency.jitter), 0, TOXIC_MAX_MS, "ms"}}},
    [TOXIC_BANDWIDTH] = {"bandwidth", 1,
                         {{"rate", OFF(bandwidth.rate), 0, TOXIC_MAX_RATE, "KB/s"}}},
    [TOXIC_SLICER] = {"slicer", 3,
                      {{"average_size", OFF(slicer.average_size), 1, TOXIC_MAX_SLICE, "bytes"},
                       {"size_variation", OFF(slicer.size_variation), 0, TOXIC_MAX_SLICE,
                        "bytes"},
                       {"delay", OFF(slicer.delay), 0, TOXIC_MAX_SLICE_DELAY_US, "us"}}},
    [TOXIC_LIMIT_DATA] = {"limit_data", 1,
                          {{"bytes", OFF(limit_data.bytes), 0, TOXIC_MAX_BYTES, "bytes"}}},
    [TOXIC_RESET_PEER] = {"reset_peer", 1,
                          {{"timeout", OFF(reset_peer.timeout), 0, TOXIC_MAX_MS, "ms"}}},
    [TOXIC_TIMEOUT] = {"timeout", 1, {{"timeout", OFF(timeout.timeout), 0, TOXIC_MAX_MS, "ms"}}},
    [TOXIC_SLOW_CLOSE] = {"slow_close", 1,
                          {{"delay", OFF(slow_close.delay), 0, TOXIC_MAX_MS, "ms"}}},
    [TOXIC_BLACKHOLE] = {"blackhole", 1,
                         {{"rst_after_ms", OFF(blackhole.rst_after_ms), 0, TOXIC_MAX_MS, "ms"}}},
    [TOXIC_STALL] = {"stall", 1,
                     {{"duration_ms", OFF(stall.duration_ms), 0, TOXIC_MAX_MS, "ms"}}},
};

static const char TYPE_LIST[] =
    "latency, bandwidth, slicer, limit_data, reset_peer, timeout, slow_close, blackhole, stall";

static int64_t *attr_ptr(struct toxic *t, const struct attr_spec *a);
static int parse_attributes(struct toxic *t, const cJSON *attrs, char *err, size_t errlen);
static int parse_toxicity(const cJSON *v, double *out, char *err, size_t errlen);
static int check_name(const char *s, char *err, size_t errlen);
static const char *json_kind(const cJSON *v);
static cJSON *add_number(cJSON *o, const char *name, double v);

const char *toxic_type_name(enum toxic_type t)
{
    return (unsigned)t < TOXIC_TYPE_COUNT ? TYPES[t].name : NULL;
}

const char *toxic_stream_name(enum toxic_stream s)
{
    return s == TOXIC_UPSTREAM ? "upstream" : "downstream";
}

int toxic_type_parse(const char *s, enum toxic_type *out)
{
    for (int i = 0; s && i < TOXIC_TYPE_COUNT; i++) {
        if (strcmp(s, TYPES[i].name) == 0) {
            *out = (enum toxic_type)i;
            return 0;
        }
    }
    return -1;
}

int toxic_parse(const cJSON *j, struct toxic *out, char *err, size_t errlen)
{
    struct toxic t;
    memset(&t, 0, sizeof t);
    t.stream = TOXIC_DOWNSTREAM;
    t.toxicity = 1.0;
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "expected a JSON object, got %s", json_kind(j));
        return TOXIC_EBODY;
    }
    /* Reject unknown keys first: a typo such as "toxcity" would otherwise pass silently with
     * the default 1.0, which is the opposite of what the writer meant. */
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        const char *k = it->string;
        if (strcmp(k, "name") && strcmp(k, "type") && strcmp(k, "stream") &&
            strcmp(k, "toxicity") && strcmp(k, "attributes")) {
            snprintf(err, errlen, "%s: unknown field (expected name, type, stream, toxicity, "
                                  "attributes)", k);
            return TOXIC_EBODY;
        }
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (type == NULL) {
        snprintf(err, errlen, "type: missing (one of %s)", TYPE_LIST);
        return TOXIC_ETYPE;
    }
    if (!cJSON_IsString(type) || toxic_type_parse(type->valuestring, &t.type) != 0) {
        snprintf(err, errlen, "type: %s%s%s is not one of %s",
                 cJSON_IsString(type) ? "'" : "",
                 cJSON_IsString(type) ? type->valuestring : json_kind(type),
                 cJSON_IsString(type) ? "'" : "", TYPE_LIST);
        return TOXIC_ETYPE;
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(j, "stream");
    if (stream && !cJSON_IsNull(stream)) {
        /* Toxiproxy treats "" like a missing stream */
        if (!cJSON_IsString(stream)) {
            snprintf(err, errlen, "stream: expected upstream or downstream, got %s",
                     json_kind(stream));
            return TOXIC_ESTREAM;
        }
        if (strcmp(stream->valuestring, "upstream") == 0) {
            t.stream = TOXIC_UPSTREAM;
        } else if (strcmp(stream->valuestring, "downstream") == 0 ||
                   stream->valuestring[0] == '\0') {
            t.stream = TOXIC_DOWNSTREAM;
        } else {
            snprintf(err, errlen, "stream: '%.40s' is neither upstream nor downstream",
                     stream->valuestring);
            return TOXIC_ESTREAM;
        }
    }
    const cJSON *tox = cJSON_GetObjectItemCaseSensitive(j, "toxicity");
    if (tox && parse_toxicity(tox, &t.toxicity, err, errlen) != 0)
        return TOXIC_EBODY;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (name && !cJSON_IsNull(name) && !(cJSON_IsString(name) && name->valuestring[0] == '\0')) {
        if (!cJSON_IsString(name)) {
            snprintf(err, errlen, "name: expected a string, got %s", json_kind(name));
            return TOXIC_EBODY;
        }
        if (check_name(name->valuestring, err, errlen) != 0)
            return TOXIC_EBODY;
        snprintf(t.name, sizeof t.name, "%s", name->valuestring);
    } else {
        snprintf(t.name, sizeof t.name, "%s_%s", TYPES[t.type].name, toxic_stream_name(t.stream));
    }
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(j, "attributes");
    if (parse_attributes(&t, attrs, err, errlen) != 0)
        return TOXIC_EBODY;
    if (toxic_validate(&t, err, errlen) != 0)
        return TOXIC_EBODY;
    *out = t;
    return 0;
}

int toxic_update(struct toxic *out, const cJSON *j, char *err, size_t errlen)
{
    struct toxic t = *out;
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "expected a JSON object, got %s", json_kind(j));
        return TOXIC_EBODY;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        const char *k = it->string;
        if (strcmp(k, "attributes") == 0 || strcmp(k, "toxicity") == 0)
            continue;
        /* Clients often send the whole toxic back; the identity fields must not change. */
        const char *now = NULL;
        if (strcmp(k, "name") == 0)
            now = t.name;
        else if (strcmp(k, "type") == 0)
            now = TYPES[t.type].name;
        else if (strcmp(k, "stream") == 0)
            now = toxic_stream_name(t.stream);
        if (now == NULL) {
            snprintf(err, errlen, "%s: unknown field (an update takes attributes, toxicity)", k);
            return TOXIC_EBODY;
        }
        if (cJSON_IsNull(it) || (cJSON_IsString(it) && strcmp(it->valuestring, now) == 0))
            continue;
        snprintf(err, errlen, "%s: cannot change from '%s' (delete the toxic and add a new one)",
                 k, now);
        return TOXIC_EBODY;
    }
    const cJSON *tox = cJSON_GetObjectItemCaseSensitive(j, "toxicity");
    if (tox && parse_toxicity(tox, &t.toxicity, err, errlen) != 0)
        return TOXIC_EBODY;
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(j, "attributes");
    if (parse_attributes(&t, attrs, err, errlen) != 0)
        return TOXIC_EBODY;
    if (toxic_validate(&t, err, errlen) != 0)
        return TOXIC_EBODY;
    *out = t;
    return 0;
}

int toxic_validate(const struct toxic *t, char *err, size_t errlen)
{
    if ((unsigned)t->type >= TOXIC_TYPE_COUNT) {
        snprintf(err, errlen, "type: unknown");
        return -1;
    }
    if (!(t->toxicity >= 0.0 && t->toxicity <= 1.0)) {
        snprintf(err, errlen, "toxicity: expected a number from 0 to 1");
        return -1;
    }
    if (check_name(t->name, err, errlen) != 0)
        return -1;
    const struct type_spec *ts = &TYPES[t->type];
    for (int i = 0; i < ts->nattr; i++) {
        const struct attr_spec *a = &ts->attr[i];
        int64_t v = *attr_ptr((struct toxic *)t, a);
        if (v < a->lo || v > a->hi) {
            snprintf(err, errlen, "attributes.%s: expected an integer %lld..%lld (%s), got %lld",
                     a->name, (long long)a->lo, (long long)a->hi, a->unit, (long long)v);
            return -1;
        }
    }
    /* Toxiproxy's slicer splits until a piece is within size_variation of average_size; a
     * variation as large as the average would allow empty pieces. */
    if (t->type == TOXIC_SLICER && t->a.slicer.size_variation >= t->a.slicer.average_size) {
        snprintf(err, errlen,
                 "attributes.size_variation: must be smaller than average_size (%lld), got %lld",
                 (long long)t->a.slicer.average_size, (long long)t->a.slicer.size_variation);
        return -1;
    }
    return 0;
}

cJSON *toxic_to_json(const struct toxic *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *attrs = cJSON_AddObjectToObject(o, "attributes");
    if (attrs == NULL)
        goto fail;
    const struct type_spec *ts = &TYPES[t->type];
    for (int i = 0; i < ts->nattr; i++) {
        int64_t v = *attr_ptr((struct toxic *)t, &ts->attr[i]);
        if (add_number(attrs, ts->attr[i].name, (double)v) == NULL)
            goto fail;
    }
    if (cJSON_AddStringToObject(o, "name", t->name) == NULL ||
        cJSON_AddStringToObject(o, "type", ts->name) == NULL ||
        cJSON_AddStringToObject(o, "stream", toxic_stream_name(t->stream)) == NULL ||
        add_number(o, "toxicity", t->toxicity) == NULL)
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

/* cJSON prints a number with 15 significant digits whenever those come within an epsilon of
 * it: limit_data's 2^53 bytes would read 9.00719925474099e+15, no integer for a client and 2
 * less. Such a number goes out as raw text that reads back exactly (an integer in full); every
 * other stays a plain cJSON number. */
static cJSON *add_number(cJSON *o, const char *name, double v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%1.15g", v);
    if (strtod(buf, NULL) == v)
        return cJSON_AddNumberToObject(o, name, v);
    if (v == floor(v) && fabs(v) <= (double)TOXIC_MAX_BYTES) {
        snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        snprintf(buf, sizeof buf, "%.16g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, sizeof buf, "%.17g", v);
    }
    return cJSON_AddRawToObject(o, name, buf);
}

static int64_t *attr_ptr(struct toxic *t, const struct attr_spec *a)
{
    return (int64_t *)((char *)t + a->off);
}

/* Sets the attributes present in 'attrs'; the others keep their value (0 on creation, the
 * current one on update, as Toxiproxy decodes over its defaults). */
static int parse_attributes(struct toxic *t, const cJSON *attrs, char *err, size_t errlen)
{
    if (attrs == NULL || cJSON_IsNull(attrs))
        return 0;
    if (!cJSON_IsObject(attrs)) {
        snprintf(err, errlen, "attributes: expected an object, got %s", json_kind(attrs));
        return -1;
    }
    const struct type_spec *ts = &TYPES[t->type];
    const cJSON *it;
    cJSON_ArrayForEach(it, attrs)
    {
        const struct attr_spec *a = NULL;
        for (int i = 0; i < ts->nattr; i++)
            if (strcmp(it->string, ts->attr[i].name) == 0)
                a = &ts->attr[i];
        if (a == NULL) {
            char known[96] = "";
            size_t n = 0;
            for (int i = 0; i < ts->nattr; i++)
                n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "",
                                      ts->attr[i].name);
            snprintf(err, errlen, "attributes.%s: unknown attribute of %s (expected %s)",
                     it->string, ts->name, known);
            return -1;
        }
        double d = it->valuedouble;
        if (!cJSON_IsNumber(it) || d != floor(d) || d < (double)a->lo || d > (double)a->hi) {
            if (cJSON_IsNumber(it))
                snprintf(err, errlen, "attributes.%s: expected an integer %lld..%lld (%s), got %g",
                         a->name, (long long)a->lo, (long long)a->hi, a->unit, d);
            else
                snprintf(err, errlen, "attributes.%s: expected an integer %lld..%lld (%s), got %s",
                         a->name, (long long)a->lo, (long long)a->hi, a->unit, json_kind(it));
            return -1;
        }
        *attr_ptr(t, a) = (int64_t)d;
    }
    return 0;
}

static int parse_toxicity(const cJSON *v, double *out, char *err, size_t errlen)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0 && v->valuedouble <= 1.0)) {
        if (cJSON_IsNumber(v))
            snprintf(err, errlen, "toxicity: expected a number from 0 to 1, got %g",
                     v->valuedouble);
        else
            snprintf(err, errlen, "toxicity: expected a number from 0 to 1, got %s",
                     json_kind(v));
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

/* A name is a URL path segment of the API: printable, no '/', bounded. */
static int check_name(const char *s, char *err, size_t errlen)
{
    size_t n = strlen(s);
    if (n == 0 || n > TOXIC_NAME_MAX) {
        snprintf(err, errlen, "name: expected 1..%d bytes, got %zu", TOXIC_NAME_MAX, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '%') {
            snprintf(err, errlen, "name: '%.64s' has a space, control character or one of / ? # %%",
                     s);
            return -1;
        }
    }
    return 0;
}

static const char *json_kind(const cJSON *v)
{
    if (v == NULL)
        return "nothing";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "invalid JSON";
}
