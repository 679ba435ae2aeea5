/* Parquet split-block bloom filter (BloomFilter.md): z blocks of 32 bytes
 * (8 little-endian u32 words), XXH64 (seed 0) of the value's plain bytes
 * without length prefix (UTF-8 bytes for strings, 8 LE bytes for INT64,
 * 4 LE bytes for INT32). The bitset bytes are exactly the on-disk form. */
#ifndef LH_FORMAT_PQ_BLOOM_H
#define LH_FORMAT_PQ_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LH_PQ_BLOOM_MIN_BYTES 32
#define LH_PQ_BLOOM_MAX_BYTES (128u * 1024 * 1024)

typedef struct lh_pq_bloom {
    uint8_t *bits; /* owned */
    size_t num_bytes; /* multiple of 32, power of two */
} lh_pq_bloom;

/* Bitset size for ndv distinct values at false-positive rate fpp (0 < fpp < 1):
 * m = -8 ndv / ln(1 - fpp^(1/8)) bits, rounded up to a power of two bytes,
 * clamped to [32 B, 128 MiB]. */
size_t lh_pq_bloom_size(uint64_t ndv, double fpp);

/* Empty filter of num_bytes (rounded up to a power of two >= 32). */
void lh_pq_bloom_init(lh_pq_bloom *b, size_t num_bytes);
void lh_pq_bloom_free(lh_pq_bloom *b);

uint64_t lh_pq_bloom_hash(const void *value, size_t len);
void lh_pq_bloom_insert_hash(lh_pq_bloom *b, uint64_t h);
void lh_pq_bloom_insert(lh_pq_bloom *b, const void *value, size_t len);

/* Check against a raw bitset (e.g. read from a file; num_bytes a multiple of
 * 32, else the answer is conservatively true). */
bool lh_pq_bloom_check_bits(const uint8_t *bits, size_t num_bytes, uint64_t h);
bool lh_pq_bloom_check(const lh_pq_bloom *b, const void *value, size_t len);

#endif
