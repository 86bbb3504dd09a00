/* Token scanner: a four-state matcher for "tok" followed by decimal digits. */
#include "scanner.h"

#include <stdlib.h>
#include <string.h>

enum { S_NONE, S_T, S_TO, S_TOK, S_DIGITS };

#define MAX_DIGITS 12

void scanner_init(struct scanner *s)
{
    memset(s, 0, sizeof *s);
    s->last = -1;
}

void scanner_cleanup(struct scanner *s)
{
    free(s->seen);
    s->seen = NULL;
    s->seen_bytes = 0;
}

/* Marks index i seen; returns 1 if it was already seen, 0 if not, -1 when untracked. */
static int mark_seen(struct scanner *s, uint64_t i)
{
    if (i >= SCANNER_MAX_INDEX)
        return -1;
    size_t byte = (size_t)(i / 8);
    if (byte >= s->seen_bytes) {
        size_t want = s->seen_bytes ? s->seen_bytes : 64;
        while (want <= byte)
            want *= 2;
        uint8_t *tmp = realloc(s->seen, want);
        if (tmp == NULL) {
            s->oom = 1;
            return -1;
        }
        memset(tmp + s->seen_bytes, 0, want - s->seen_bytes);
        s->seen = tmp;
        s->seen_bytes = want;
    }
    int was = (s->seen[byte] >> (i % 8)) & 1;
    s->seen[byte] |= (uint8_t)(1u << (i % 8));
    return was;
}

static void complete(struct scanner *s, uint64_t i)
{
    s->tokens++;
    int was = mark_seen(s, i);
    if (was == 1) {
        s->dups++;
    } else if (i > s->next) {
        s->gaps += i - s->next;
        s->next = i + 1;
    } else if (i == s->next) {
        s->next = i + 1;
    } else {
        /* an index below the cursor we had not seen: it was counted as a gap, now it came late */
        s->reorders++;
        if (s->gaps)
            s->gaps--;
    }
    s->last = (int64_t)i;
}

/* Advances the matcher by one byte. Returns 1 when the byte ends a token's digits; *done then
 * holds the finished index (the byte itself is matched afresh). */
static int advance(int *state, int *digits, uint64_t *value, uint64_t *done, char c)
{
    int finished = 0;
    if (*state == S_DIGITS) {
        if (c >= '0' && c <= '9' && *digits < MAX_DIGITS) {
            *value = *value * 10 + (uint64_t)(c - '0');
            (*digits)++;
            return 0;
        }
        *done = *value;
        finished = 1;
        *state = S_NONE;
    }
    switch (*state) {
    case S_NONE:
        *state = c == 't' ? S_T : S_NONE;
        break;
    case S_T:
        *state = c == 'o' ? S_TO : c == 't' ? S_T : S_NONE;
        break;
    case S_TO:
        *state = c == 'k' ? S_TOK : c == 't' ? S_T : S_NONE;
        break;
    case S_TOK:
        if (c >= '0' && c <= '9') {
            *state = S_DIGITS;
            *value = (uint64_t)(c - '0');
            *digits = 1;
        } else {
            *state = c == 't' ? S_T : S_NONE;
        }
        break;
    }
    return finished;
}

uint64_t scanner_feed(struct scanner *s, const char *buf, size_t len)
{
    uint64_t n = 0, done;
    for (size_t i = 0; i < len; i++) {
        if (advance(&s->state, &s->digits, &s->value, &done, buf[i])) {
            complete(s, done);
            n++;
        }
    }
    return n;
}

uint64_t scanner_finish(struct scanner *s)
{
    if (s->state != S_DIGITS)
        return 0;
    complete(s, s->value);
    s->state = S_NONE;
    return 1;
}

size_t scanner_offset_of(const struct scanner *s, const char *buf, size_t len, uint64_t k)
{
    if (k == 0)
        return 0;
    int state = s->state, digits = s->digits;
    uint64_t value = s->value, done, got = 0;
    for (size_t i = 0; i < len; i++)
        if (advance(&state, &digits, &value, &done, buf[i]) && ++got == k)
            return i + 1;
    return len + 1;
}
