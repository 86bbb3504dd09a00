/* Token scanner: a four-state matcher for "tok" followed by decimal digits, and a watch for
 * terminal markers over a rolling tail of the bytes before. */
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

/* The index of the next byte the matcher must see from i on: in S_NONE every byte but 't'
 * leaves the state as it is, so memchr jumps to the next 't' (or to len when there is none). */
static size_t skip(int state, const char *buf, size_t i, size_t len)
{
    if (state != S_NONE || i >= len)
        return i;
    const char *t = memchr(buf + i, 't', len - i);
    return t ? (size_t)(t - buf) : len;
}

int scanner_watch(struct scanner *s, const char *const *markers, size_t n)
{
    if (n > SCANNER_MARKERS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t ml = markers[i] ? strlen(markers[i]) : 0;
        if (ml == 0 || ml > SCANNER_MARKER_MAX)
            return -1;
    }
    for (size_t i = 0; i < n; i++)
        s->markers[i] = markers[i];
    s->nmarkers = n;
    s->ntail = 0;
    s->marker_seen = 0;
    return 0;
}

/* A marker inside buf is found there; one that began in an earlier feed ends within the first
 * SCANNER_MARKER_MAX - 1 bytes of buf, so the tail joined to that head holds it whole. */
static void watch(struct scanner *s, const char *buf, size_t len)
{
    if (s->nmarkers == 0 || s->marker_seen || len == 0)
        return;
    enum { TAIL = sizeof s->tail };
    char joint[2 * TAIL];
    size_t head = len < TAIL ? len : TAIL;
    memcpy(joint, s->tail, s->ntail);
    memcpy(joint + s->ntail, buf, head);
    for (size_t i = 0; i < s->nmarkers; i++) {
        size_t ml = strlen(s->markers[i]);
        if (memmem(joint, s->ntail + head, s->markers[i], ml) ||
            memmem(buf, len, s->markers[i], ml)) {
            s->marker_seen = 1;
            return;
        }
    }
    if (len >= TAIL) {
        memcpy(s->tail, buf + len - TAIL, TAIL);
        s->ntail = TAIL;
        return;
    }
    size_t keep = TAIL - len < s->ntail ? TAIL - len : s->ntail;
    memmove(s->tail, s->tail + s->ntail - keep, keep);
    memcpy(s->tail + keep, buf, len);
    s->ntail = keep + len;
}

uint64_t scanner_feed(struct scanner *s, const char *buf, size_t len)
{
    uint64_t n = 0, done;
    watch(s, buf, len);
    for (size_t i = skip(s->state, buf, 0, len); i < len; i = skip(s->state, buf, i + 1, len)) {
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
    for (size_t i = skip(state, buf, 0, len); i < len; i = skip(state, buf, i + 1, len))
        if (advance(&state, &digits, &value, &done, buf[i]) && ++got == k)
            return i + 1;
    return len + 1;
}
