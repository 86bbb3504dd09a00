/* UTF-8 validation (RFC 3629 section 4) and repair: text a peer sent is checked before it is
 * echoed, so every reply stays valid UTF-8 JSON. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t utf8_seq(const char *str, size_t n, const char **why)
{
    const unsigned char *s = (const unsigned char *)str;
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c < 0xc2) {
        *why = c < 0xc0 ? "unexpected continuation byte" : "overlong encoding";
        return 0;
    } else if (c < 0xe0) {
        len = 2;
    } else if (c < 0xf0) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* below: an overlong form of U+0000..U+07FF */
        else if (c == 0xed)
            hi = 0x9f; /* above: U+D800..U+DFFF, UTF-16 surrogates */
    } else if (c < 0xf5) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* below: overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above: past U+10FFFF */
    } else {
        *why = "byte that never appears in UTF-8";
        return 0;
    }
    if (n < 2 || s[1] < 0x80 || s[1] > 0xbf) {
        *why = "incomplete sequence";
        return 0;
    }
    if (s[1] < lo || s[1] > hi) {
        *why = c == 0xed   ? "encoded UTF-16 surrogate"
               : c == 0xf4 ? "code point above U+10FFFF"
                           : "overlong encoding";
        return 0;
    }
    for (size_t k = 2; k < len; k++) {
        if (k >= n || s[k] < 0x80 || s[k] > 0xbf) {
            *why = "incomplete sequence";
            return 0;
        }
    }
    return len;
}

size_t utf8_valid_prefix(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(s + i, n - i, NULL);
        if (k == 0)
            return i;
        i += k;
    }
    return n;
}

size_t utf8_repair(char *dst, size_t dstlen, const char *src)
{
    static const char fffd[] = "\xef\xbf\xbd";
    size_t n = strlen(src), i = 0, o = 0;
    while (i < n) {
        size_t k = utf8_seq(src + i, n - i, NULL);
        const char *piece = k ? src + i : fffd;
        size_t plen = k ? k : 3;
        if (o + plen >= dstlen)
            break;
        memcpy(dst + o, piece, plen);
        o += plen;
        i += k ? k : 1;
    }
    dst[o] = '\0';
    return o;
}

char *utf8_repair_dup(const char *src)
{
    size_t n = strlen(src);
    char *out = malloc(n * 3 + 1); /* each bad byte grows to three */
    if (out)
        utf8_repair(out, n * 3 + 1, src);
    return out;
}
