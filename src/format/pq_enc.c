/* RLE / bit-packing hybrid encoder (Encodings.md), see pq_enc.h. */
#include "pq_enc.h"

void lh_pq_uleb(lh_buf *out, uint64_t v)
{
    while (v >= 0x80) {
        lh_buf_append_byte(out, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    lh_buf_append_byte(out, (uint8_t)v);
}

static void emit_rle(lh_buf *out, uint32_t value, size_t count, int width)
{
    lh_pq_uleb(out, (uint64_t)count << 1);
    for (int b = 0; b < (width + 7) / 8; b++) lh_buf_append_byte(out, (uint8_t)(value >> (8 * b)));
}

static void emit_packed(lh_buf *out, const uint32_t *v, size_t count, int width)
{
    size_t groups = (count + 7) / 8;
    lh_pq_uleb(out, (uint64_t)groups << 1 | 1);
    uint64_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < groups * 8; i++) {
        uint64_t x = i < count ? v[i] : 0;
        acc |= x << bits;
        bits += width;
        while (bits >= 8) {
            lh_buf_append_byte(out, (uint8_t)acc);
            acc >>= 8;
            bits -= 8;
        }
    }
    /* groups*8*width is a multiple of 8 bits, so nothing is left over. */
}

void lh_pq_rle_encode(const uint32_t *v, size_t n, int width, lh_buf *out)
{
    size_t i = 0, lit = 0; /* v[lit..i) are pending literals */
    while (i < n) {
        size_t r = 1;
        while (i + r < n && v[i + r] == v[i]) r++;
        if (r < 8) {
            i += r;
            continue;
        }
        /* A bit-packed run in the middle must hold a multiple of 8 values:
         * lend the run's first values to the literals to round them up. */
        size_t pending = i - lit, pad = (8 - pending % 8) % 8;
        if (pad) {
            if (r - pad < 8) {
                i += r;
                continue;
            }
            i += pad;
            r -= pad;
        }
        if (i > lit) emit_packed(out, v + lit, i - lit, width);
        emit_rle(out, v[i], r, width);
        i += r;
        lit = i;
    }
    if (n > lit) emit_packed(out, v + lit, n - lit, width);
}
