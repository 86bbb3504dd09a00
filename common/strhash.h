/* A string's 64-bit FNV-1a hash: the one the ledger's attempt buckets, the proxy API's seeds
 * and the runner's correlation-id index use. */
#ifndef TG_STRHASH_H
#define TG_STRHASH_H

#include <stdint.h>

uint64_t strhash(const char *s);

#endif
