/* Decimal digits of an unsigned integer, written without the C library's formatting: the
 * per-token path prints several numbers for every token it sends. */
#ifndef TG_DECIMAL_H
#define TG_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define DECIMAL_U64_MAX 20 /* digits in UINT64_MAX */

/* Writes v's decimal digits to out (at least DECIMAL_U64_MAX bytes, no NUL added); returns
 * how many it wrote. */
size_t decimal_u64(uint64_t v, char *out);

#endif
