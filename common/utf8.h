/* UTF-8 as RFC 3629 defines it: shortest form only, no surrogates, nothing above U+10FFFF. */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stddef.h>

/* The length (1 to 4) of the valid UTF-8 sequence at s[0..n), or 0 when it is not one; then
 * 'why' (if not NULL) gets a static phrase such as "overlong encoding". n must be at least 1. */
size_t utf8_seq(const char *s, size_t n, const char **why);

/* Offset of the first byte of s[0..n) that does not start a valid sequence, or n when all of
 * it is valid UTF-8. */
size_t utf8_valid_prefix(const char *s, size_t n);

/* Copies the C string 'src' into dst[0..dstlen) (dstlen >= 4), each byte that does not start a
 * valid sequence replaced by U+FFFD, cut on a character boundary when dst is full; always
 * NUL-terminated. Returns the bytes written, the NUL not counted. */
size_t utf8_repair(char *dst, size_t dstlen, const char *src);

/* A malloc'd copy of the C string 'src' with each byte that does not start a valid sequence
 * replaced by U+FFFD; the caller frees it. NULL: out of memory. */
char *utf8_repair_dup(const char *src);

#endif
