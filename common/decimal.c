/* Decimal digits of an unsigned integer. */
#include "decimal.h"

#include <string.h>

size_t decimal_u64(uint64_t v, char *out)
{
    char tmp[DECIMAL_U64_MAX];
    size_t k = sizeof tmp;
    do {
        tmp[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t n = sizeof tmp - k;
    memcpy(out, tmp + k, n);
    return n;
}
