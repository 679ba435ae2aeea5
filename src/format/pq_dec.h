/* Private parquet value/level decoders used by pq_reader.c. They work on
 * plain byte ranges and never read outside [p, p + n); a false return means
 * the input is truncated or malformed (the caller names file/column/page). */
#ifndef LH_FORMAT_PQ_DEC_H
#define LH_FORMAT_PQ_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RLE / bit-packing hybrid decoder (levels, dictionary indices, booleans). */
typedef struct lh_pq_rle {
    const uint8_t *p, *end;
    int bw;
    uint64_t rle_left;   /* values left in the current RLE run */
    uint32_t rle_value;
    uint64_t bp_left;    /* values left in the current bit-packed run */
    const uint8_t *bp;   /* start of the current bit-packed run */
    size_t bp_bytes;     /* bytes available to that run */
    uint64_t bp_bit;     /* next bit offset in the run */
} lh_pq_rle;

void lh_pq_rle_init(lh_pq_rle *d, const uint8_t *p, size_t n, int bit_width);
/* Decode exactly count values into out (bit width must be <= 32). */
bool lh_pq_rle_get(lh_pq_rle *d, uint32_t *out, size_t count);

/* Legacy BIT_PACKED levels: MSB-first, ceil(count*bw/8) bytes; *used gets them. */
bool lh_pq_bitpacked_msb(const uint8_t *p, size_t n, int bit_width, uint32_t *out,
                         size_t count, size_t *used);

/* Bits needed for values 0..max (0 for max 0). */
int lh_pq_dec_bit_width(uint64_t max);

/* Unsigned LEB128 at *p (advancing it); false if truncated or > 64 bits. */
bool lh_pq_dec_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* DELTA_BINARY_PACKED: *total gets the value count from the header. */
bool lh_pq_dbp_count(const uint8_t *p, size_t n, uint64_t *total);
/* Decode the first count (<= header total) values into out (wrapping 64-bit
 * arithmetic); *used gets the bytes through the last miniblock read, which is
 * where the following section starts when count == total. */
bool lh_pq_dbp_decode(const uint8_t *p, size_t n, uint64_t *out, size_t count, size_t *used);

/* INT96 (nanos of day, Julian day) -> microseconds since the epoch. */
int64_t lh_pq_int96_to_micros(const uint8_t b[12]);

#endif
