/* Internal parquet encoders shared by the writer (RLE/bit-packed hybrid). */
#ifndef LH_FORMAT_PQ_ENC_H
#define LH_FORMAT_PQ_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "lh/core/buf.h"

/* Bits needed to represent max (0 for 0). Inline: the writer sizes pages
 * with it after every row. */
static inline int lh_pq_bit_width(uint64_t max)
{
    return max ? 64 - __builtin_clzll(max) : 0;
}

/* Append v[0..n) as RLE/bit-packed hybrid runs of width bits (no length
 * prefix). Runs of >= 8 equal values become RLE runs; the rest is bit-packed
 * in groups of 8, only the final group being padded. */
void lh_pq_rle_encode(const uint32_t *v, size_t n, int width, lh_buf *out);

void lh_pq_uleb(lh_buf *out, uint64_t v);

#endif
