/* A string's 64-bit FNV-1a hash. */
#include "strhash.h"

uint64_t strhash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* the FNV offset basis */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull; /* the FNV prime */
    return h;
}
