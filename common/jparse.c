/* One JSON document from untrusted bytes. A strict RFC 8259 scan runs first because cJSON is
 * lenient where it matters here (it skips any byte <= 0x20, NUL included, accepts "01" and "1.",
 * copies invalid UTF-8 into strings and cuts a string at \u0000) and says nothing about what
 * went wrong; cJSON then builds the tree from text the scan has accepted. */
#include "jparse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utf8.h"

struct scan {
    const unsigned char *s;
    size_t n, i;
    struct jparse_error *err;
};

static int value(struct scan *sc, unsigned depth);

static void excerpt(const unsigned char *s, size_t n, size_t at, char *out, size_t outlen)
{
    size_t o = 0, i = at;
    out[0] = '\0';
    while (i < n && i - at < JPARSE_EXCERPT_MAX && o + 8 < outlen) {
        unsigned char c = s[i];
        if (c == '\n' && i > at)
            break; /* one line: the rest is the reader's next line */
        if (c == '\n') {
            memcpy(out + o, "\\n", 2); /* the problem is the line's end itself */
            o += 2;
            break;
        }
        size_t k = c >= 0x80 ? utf8_seq((const char *)s + i, n - i, NULL) : 1;
        if (c >= 0x80 && k > 1) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
            continue;
        }
        if (c == '\t' || c == '\r')
            o += (size_t)snprintf(out + o, outlen - o, "\\%c", c == '\t' ? 't' : 'r');
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
        i++;
    }
    out[o] = '\0';
}

static void locate(const unsigned char *s, size_t at, struct jparse_error *e)
{
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < at; i++) {
        if (s[i] == '\n') {
            line++;
            col = 1;
        } else if ((s[i] & 0xc0) != 0x80) {
            col++; /* a continuation byte belongs to the character before it */
        }
    }
    e->line = line;
    e->column = col;
}

/* Fills the error for offset 'at' and returns -1. */
static int fail_at(struct scan *sc, size_t at, const char *fmt, ...)
{
    struct jparse_error *e = sc->err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->what, sizeof e->what, fmt, ap);
    va_end(ap);
    e->offset = at;
    e->at_end = at >= sc->n;
    locate(sc->s, at < sc->n ? at : sc->n, e);
    excerpt(sc->s, sc->n, at, e->near, sizeof e->near);
    return -1;
}

/* A byte where 'expected' should be: a NUL says so, since the excerpt alone shows "\x00". */
static int unexpected(struct scan *sc, const char *expected)
{
    if (sc->i < sc->n && sc->s[sc->i] == '\0')
        return fail_at(sc, sc->i, "NUL byte; %s", expected);
    return fail_at(sc, sc->i, "%s", expected);
}

static void skip_ws(struct scan *sc)
{
    /* RFC 8259 section 2: exactly these four */
    while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' || sc->s[sc->i] == '\n' ||
                             sc->s[sc->i] == '\r'))
        sc->i++;
}

static int hex4(const unsigned char *p, size_t avail, unsigned *out)
{
    unsigned v = 0;
    if (avail < 4)
        return -1;
    for (int k = 0; k < 4; k++) {
        unsigned char c = p[k];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* \uXXXX at sc->i (the backslash), with a surrogate pair taken whole. */
static int unicode_escape(struct scan *sc)
{
    size_t at = sc->i;
    unsigned cp, lo;
    if (hex4(sc->s + at + 2, sc->n - at - 2, &cp) != 0)
        return fail_at(sc, at, "invalid \\u escape: expected 4 hex digits");
    if (cp == 0)
        /* every consumer holds C strings: a NUL would silently cut the string there */
        return fail_at(sc, at, "\\u0000 (NUL) is not accepted in a string");
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return fail_at(sc, at, "lone UTF-16 low surrogate \\u%04x in a string", cp);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        const unsigned char *p = sc->s + at + 6;
        size_t avail = sc->n - at - 6;
        if (avail < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, avail - 2, &lo) != 0 ||
            lo < 0xdc00 || lo > 0xdfff)
            return fail_at(sc, at,
                           "lone UTF-16 high surrogate \\u%04x in a string (a \\udc00-\\udfff "
                           "must follow)",
                           cp);
        sc->i += 12;
        return 0;
    }
    sc->i += 6;
    return 0;
}

static int string(struct scan *sc)
{
    size_t open = sc->i++;
    while (sc->i < sc->n) {
        unsigned char c = sc->s[sc->i];
        if (c == '"') {
            sc->i++;
            return 0;
        }
        if (c == '\\') {
            if (sc->i + 1 >= sc->n)
                break;
            unsigned char e = sc->s[sc->i + 1];
            if (e == 'u') {
                if (unicode_escape(sc) != 0)
                    return -1;
            } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
                sc->i += 2;
            } else {
                return fail_at(sc, sc->i,
                               "invalid escape in a string (expected one of "
                               "\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
            }
        } else if (c == '\0') {
            return fail_at(sc, sc->i, "NUL byte in a string");
        } else if (c < 0x20) {
            return fail_at(sc, sc->i, "unescaped control character U+%04X in a string", c);
        } else if (c >= 0x80) {
            const char *why = "invalid UTF-8";
            size_t k = utf8_seq((const char *)sc->s + sc->i, sc->n - sc->i, &why);
            if (k == 0)
                return fail_at(sc, sc->i, "invalid UTF-8 in a string (%s)", why);
            sc->i += k;
        } else {
            sc->i++;
        }
    }
    return fail_at(sc, open, "unterminated string (no closing '\"')");
}

static int number(struct scan *sc)
{
    size_t start = sc->i;
    const unsigned char *s = sc->s;
    if (s[sc->i] == '-')
        sc->i++;
    if (sc->i >= sc->n || s[sc->i] < '0' || s[sc->i] > '9')
        return fail_at(sc, sc->i, "expected a digit in a number");
    if (s[sc->i] == '0' && sc->i + 1 < sc->n && s[sc->i + 1] >= '0' && s[sc->i + 1] <= '9')
        return fail_at(sc, start, "leading zero in a number");
    while (sc->i < sc->n && s[sc->i] >= '0' && s[sc->i] <= '9')
        sc->i++;
    if (sc->i < sc->n && s[sc->i] == '.') {
        sc->i++;
        if (sc->i >= sc->n || s[sc->i] < '0' || s[sc->i] > '9')
            return fail_at(sc, sc->i, "expected a digit after the decimal point");
        while (sc->i < sc->n && s[sc->i] >= '0' && s[sc->i] <= '9')
            sc->i++;
    }
    if (sc->i < sc->n && (s[sc->i] == 'e' || s[sc->i] == 'E')) {
        sc->i++;
        if (sc->i < sc->n && (s[sc->i] == '+' || s[sc->i] == '-'))
            sc->i++;
        if (sc->i >= sc->n || s[sc->i] < '0' || s[sc->i] > '9')
            return fail_at(sc, sc->i, "expected a digit in the exponent");
        while (sc->i < sc->n && s[sc->i] >= '0' && s[sc->i] <= '9')
            sc->i++;
    }
    if (sc->i - start > JPARSE_MAX_NUMBER)
        return fail_at(sc, start, "number longer than %d characters", JPARSE_MAX_NUMBER);
    return 0;
}

static int literal(struct scan *sc)
{
    static const char *const words[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        size_t len = strlen(words[k]);
        if (sc->n - sc->i >= len && memcmp(sc->s + sc->i, words[k], len) == 0) {
            sc->i += len;
            return 0;
        }
    }
    return fail_at(sc, sc->i, "invalid literal (expected true, false or null)");
}

static int object(struct scan *sc, unsigned depth)
{
    sc->i++;
    skip_ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == '}') {
        sc->i++;
        return 0;
    }
    for (;;) {
        if (sc->i >= sc->n || sc->s[sc->i] != '"')
            return unexpected(sc, "expected '\"' to start an object key");
        if (string(sc) != 0)
            return -1;
        skip_ws(sc);
        if (sc->i >= sc->n || sc->s[sc->i] != ':')
            return unexpected(sc, "expected ':' after an object key");
        sc->i++;
        skip_ws(sc);
        if (value(sc, depth) != 0)
            return -1;
        skip_ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == '}') {
            sc->i++;
            return 0;
        }
        if (sc->i >= sc->n || sc->s[sc->i] != ',')
            return unexpected(sc, "expected ',' or '}' after an object member");
        sc->i++;
        skip_ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == '}')
            return fail_at(sc, sc->i, "trailing comma before '}'");
    }
}

static int array(struct scan *sc, unsigned depth)
{
    sc->i++;
    skip_ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == ']') {
        sc->i++;
        return 0;
    }
    for (;;) {
        if (value(sc, depth) != 0)
            return -1;
        skip_ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == ']') {
            sc->i++;
            return 0;
        }
        if (sc->i >= sc->n || sc->s[sc->i] != ',')
            return unexpected(sc, "expected ',' or ']' after an array element");
        sc->i++;
        skip_ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == ']')
            return fail_at(sc, sc->i, "trailing comma before ']'");
    }
}

/* A value at sc->i (whitespace already skipped). */
static int value(struct scan *sc, unsigned depth)
{
    if (sc->i >= sc->n)
        return fail_at(sc, sc->i, "expected a JSON value");
    unsigned char c = sc->s[sc->i];
    if (c == '{' || c == '[') {
        if (depth >= JPARSE_MAX_DEPTH)
            return fail_at(sc, sc->i, "nested deeper than %d arrays and objects", JPARSE_MAX_DEPTH);
        return c == '{' ? object(sc, depth + 1) : array(sc, depth + 1);
    }
    if (c == '"')
        return string(sc);
    if (c == '-' || (c >= '0' && c <= '9'))
        return number(sc);
    if (c == 't' || c == 'f' || c == 'n')
        return literal(sc);
    return unexpected(sc, "expected a JSON value");
}

cJSON *jparse_text(const char *text, size_t len, struct jparse_error *err)
{
    memset(err, 0, sizeof *err);
    struct scan sc = {(const unsigned char *)text, len, 0, err};
    if (text == NULL) {
        sc.n = 0;
        sc.s = (const unsigned char *)"";
    }
    /* RFC 8259 section 8.1: a parser may ignore a byte order mark; editors do write one */
    if (sc.n >= 3 && memcmp(sc.s, "\xef\xbb\xbf", 3) == 0)
        sc.i = 3;
    size_t first = sc.i;
    skip_ws(&sc);
    if (sc.i >= sc.n) {
        fail_at(&sc, sc.n, "empty document (expected a JSON value)");
        return NULL;
    }
    if (value(&sc, 0) != 0)
        return NULL;
    skip_ws(&sc);
    if (sc.i < sc.n) {
        if (sc.s[sc.i] == '\0')
            fail_at(&sc, sc.i, "NUL byte after the JSON value");
        else
            fail_at(&sc, sc.i, "unexpected text after the JSON value");
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)sc.s + first, sc.n - first, NULL, 0);
    if (root == NULL)
        fail_at(&sc, first, "out of memory building the JSON tree");
    return root;
}

void jparse_message(const struct jparse_error *err, const char *file, char *buf, size_t len)
{
    char where[64];
    if (file)
        snprintf(where, sizeof where, "%u:%u", err->line, err->column);
    else
        snprintf(where, sizeof where, "line %u, column %u (byte %zu)", err->line, err->column,
                 err->offset);
    if (err->at_end)
        snprintf(buf, len, "%s%s%s: %s at end of %s", file ? file : "", file ? ":" : "", where,
                 err->what, file ? "file" : "input");
    else
        snprintf(buf, len, "%s%s%s: %s near '%s'", file ? file : "", file ? ":" : "", where,
                 err->what, err->near);
}

static void size_text(size_t n, char *buf, size_t len)
{
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        snprintf(buf, len, "%zu MiB", n >> 20);
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, len, "%zu KiB", n >> 10);
    else
        snprintf(buf, len, "%zu bytes", n);
}

char *jparse_read_file(const char *path, size_t max, const char *dir_hint, size_t *len, char *err,
                       size_t errlen)
{
    char *buf = NULL;
    char limit[32];
    size_text(max, limit, sizeof limit);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory%s%s%s", path, dir_hint ? " (" : "",
                 dir_hint ? dir_hint : "", dir_hint ? ")" : "");
        goto fail;
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
        snprintf(err, errlen, "%s: larger than %s", path, limit);
        goto fail;
    }
    /* a regular file's size is known; a pipe grows the buffer up to the cap */
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096, n = 0;
    buf = malloc(cap + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                snprintf(err, errlen, "%s: larger than %s", path, limit);
                goto fail;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        snprintf(err, errlen, "%s: larger than %s", path, limit);
        goto fail;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    free(buf);
    if (fd >= 0)
        close(fd);
    return NULL;
}

cJSON *jparse_file(const char *path, size_t max, const char *dir_hint, char **text, char *err,
                   size_t errlen)
{
    size_t len;
    char *buf = jparse_read_file(path, max, dir_hint, &len, err, errlen);
    if (buf == NULL)
        return NULL;
    struct jparse_error je;
    cJSON *root = jparse_text(buf, len, &je);
    if (root == NULL) {
        jparse_message(&je, path, err, errlen);
        free(buf);
        return NULL;
    }
    if (text)
        *text = buf;
    else
        free(buf);
    return root;
}
