/* The payloads of an AWS event stream, for the token scanner. A chunk's {"bytes": "..."} is
 * parsed with cJSON and decoded with OpenSSL's EVP_DecodeBlock. */
#include "unframe.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

void unframe_init(struct unframe *u, int chunks)
{
    memset(u, 0, sizeof *u);
    eventstream_decoder_init(&u->d, UNFRAME_MESSAGE_MAX);
    u->chunks = chunks;
}

void unframe_cleanup(struct unframe *u)
{
    eventstream_decoder_cleanup(&u->d);
    free(u->out);
    u->out = NULL;
    u->out_cap = 0;
}

int unframe_feed(struct unframe *u, const char *data, size_t len)
{
    if (u->failed)
        return -1;
    if (eventstream_feed(&u->d, data, len) != 0) {
        u->failed = 1;
        return -1;
    }
    return 0;
}

/* Room for n bytes in u->out. */
static int reserve(struct unframe *u, size_t n)
{
    if (n <= u->out_cap)
        return 0;
    char *p = realloc(u->out, n);
    if (p == NULL)
        return -1;
    u->out = p;
    u->out_cap = n;
    return 0;
}

/* A chunk's bytes decoded into u->out; returns the length or -1. */
static long decode_chunk(struct unframe *u, const char *payload, size_t plen)
{
    cJSON *j = cJSON_ParseWithLength(payload, plen);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "bytes");
    long n = -1;
    if (cJSON_IsString(b)) {
        size_t bl = strlen(b->valuestring);
        if (bl % 4 == 0 && bl <= UNFRAME_MESSAGE_MAX && reserve(u, bl / 4 * 3 + 1) == 0) {
            int m = EVP_DecodeBlock((unsigned char *)u->out, (const unsigned char *)b->valuestring,
                                    (int)bl);
            /* EVP_DecodeBlock counts the padding as zero bytes */
            for (size_t i = bl; m > 0 && i > 0 && b->valuestring[i - 1] == '='; i--)
                m--;
            n = m;
        }
    }
    cJSON_Delete(j);
    return n;
}

int unframe_next(struct unframe *u, const char **text, size_t *len)
{
    if (u->failed)
        return -1;
    struct eventstream_message m;
    int rc = eventstream_next(&u->d, &m);
    if (rc <= 0) {
        if (rc < 0)
            u->failed = 1;
        return rc;
    }
    size_t tl;
    const char *type = eventstream_header_str(&m, ":event-type", &tl);
    if (u->chunks && type && tl == 5 && memcmp(type, "chunk", 5) == 0) {
        long n = decode_chunk(u, m.payload, m.payload_len);
        if (n < 0) {
            u->failed = 1;
            return -1;
        }
        *text = u->out;
        *len = (size_t)n;
        return 1;
    }
    /* events and exceptions alike: their JSON as it came */
    *text = m.payload;
    *len = m.payload_len;
    return 1;
}
