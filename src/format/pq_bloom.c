/* Split-block bloom filter, see pq_bloom.h. */
#include "lh/format/pq_bloom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/hash.h"
#include "lh/core/mem.h"

static const uint32_t SALT[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                 0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

static size_t pow2_clamp(double bytes)
{
    size_t n = LH_PQ_BLOOM_MIN_BYTES;
    while ((double)n < bytes && n < LH_PQ_BLOOM_MAX_BYTES) n <<= 1;
    return n;
}

size_t lh_pq_bloom_size(uint64_t ndv, double fpp)
{
    if (!(fpp > 0.0 && fpp < 1.0)) fpp = 0.01;
    if (ndv == 0) return LH_PQ_BLOOM_MIN_BYTES;
    double bits = -8.0 * (double)ndv / log(1.0 - pow(fpp, 1.0 / 8.0));
    return pow2_clamp(bits / 8.0);
}

void lh_pq_bloom_init(lh_pq_bloom *b, size_t num_bytes)
{
    b->num_bytes = pow2_clamp((double)num_bytes);
    b->bits = lh_calloc(b->num_bytes, 1);
}

void lh_pq_bloom_free(lh_pq_bloom *b)
{
    free(b->bits);
    b->bits = NULL;
    b->num_bytes = 0;
}

uint64_t lh_pq_bloom_hash(const void *value, size_t len)
{
    return lh_xxh64(value, len, 0);
}

static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline size_t block_of(uint64_t h, size_t nblocks)
{
    return (size_t)(((h >> 32) * (uint64_t)nblocks) >> 32);
}

void lh_pq_bloom_insert_hash(lh_pq_bloom *b, uint64_t h)
{
    uint8_t *blk = b->bits + 32 * block_of(h, b->num_bytes / 32);
    uint32_t x = (uint32_t)h;
    for (int w = 0; w < 8; w++) {
        uint32_t y = x * SALT[w];
        st32(blk + 4 * w, ld32(blk + 4 * w) | (1u << (y >> 27)));
    }
}

void lh_pq_bloom_insert(lh_pq_bloom *b, const void *value, size_t len)
{
    lh_pq_bloom_insert_hash(b, lh_pq_bloom_hash(value, len));
}

bool lh_pq_bloom_check_bits(const uint8_t *bits, size_t num_bytes, uint64_t h)
{
    if (num_bytes < 32 || num_bytes % 32) return true;
    const uint8_t *blk = bits + 32 * block_of(h, num_bytes / 32);
    uint32_t x = (uint32_t)h;
    for (int w = 0; w < 8; w++) {
        uint32_t y = x * SALT[w];
        if (!(ld32(blk + 4 * w) & (1u << (y >> 27)))) return false;
    }
    return true;
}

bool lh_pq_bloom_check(const lh_pq_bloom *b, const void *value, size_t len)
{
    return lh_pq_bloom_check_bits(b->bits, b->num_bytes, lh_pq_bloom_hash(value, len));
}
