/* Parquet level and value decoders: RLE/bit-packing hybrid, legacy
 * BIT_PACKED, DELTA_BINARY_PACKED, INT96 timestamps. */
#include <string.h>

#include "format/pq_dec.h"

int lh_pq_dec_bit_width(uint64_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

bool lh_pq_dec_uleb(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end) return false;
        uint8_t b = *p++;
        if (shift == 63 && (b & 0x7e)) return false;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            *pp = p;
            return true;
        }
    }
    return false;
}

/* bw bits (<= 64) at bit offset bit of an LSB-first packed stream of nbytes;
 * bytes past the end read as zero (callers check what they require). */
static inline uint64_t read_bits(const uint8_t *base, size_t nbytes, uint64_t bit, int bw)
{
    if (bw == 0) return 0;
    uint64_t byte = bit >> 3;
    int shift = (int)(bit & 7);
    uint64_t v = 0;
    int need = (shift + bw + 7) / 8;
    if (byte + (uint64_t)need <= nbytes && need <= 8) {
        for (int i = 0; i < need; i++) v |= (uint64_t)base[byte + i] << (8 * i);
        v >>= shift;
    } else {
        for (int i = 0; i < need && i < 8; i++)
            if (byte + i < nbytes) v |= (uint64_t)base[byte + i] << (8 * i);
        v >>= shift;
        if (need == 9 && byte + 8 < nbytes) v |= (uint64_t)base[byte + 8] << (64 - shift);
    }
    if (bw < 64) v &= ((uint64_t)1 << bw) - 1;
    return v;
}

void lh_pq_rle_init(lh_pq_rle *d, const uint8_t *p, size_t n, int bit_width)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->end = n ? p + n : p;
    d->bw = bit_width;
}

static bool rle_next_run(lh_pq_rle *d)
{
    uint64_t h;
    if (!lh_pq_dec_uleb(&d->p, d->end, &h)) return false;
    if (h & 1) {
        uint64_t values = (h >> 1) * 8;
        uint64_t bytes = (h >> 1) * (uint64_t)d->bw;
        size_t avail = (size_t)(d->end - d->p);
        /* Writers may cut the padding of the last run: keep what is there. */
        if (bytes > avail) {
            bytes = avail;
            if (d->bw) values = bytes * 8 / (uint64_t)d->bw;
        }
        d->bp = d->p;
        d->bp_bytes = (size_t)bytes;
        d->bp_bit = 0;
        d->bp_left = values;
        d->p += bytes;
    } else {
        int nb = (d->bw + 7) / 8;
        if (d->end - d->p < nb) return false;
        uint32_t v = 0;
        for (int i = 0; i < nb; i++) v |= (uint32_t)d->p[i] << (8 * i);
        d->p += nb;
        if (d->bw < 32 && (v >> d->bw)) return false;
        d->rle_value = v;
        d->rle_left = h >> 1;
    }
    return true;
}

bool lh_pq_rle_get(lh_pq_rle *d, uint32_t *out, size_t count)
{
    if (d->bw < 0 || d->bw > 32) return false;
    size_t i = 0;
    while (i < count) {
        if (d->rle_left) {
            size_t k = count - i;
            if (k > d->rle_left) k = (size_t)d->rle_left;
            for (size_t j = 0; j < k; j++) out[i + j] = d->rle_value;
            i += k;
            d->rle_left -= k;
        } else if (d->bp_left) {
            size_t k = count - i;
            if (k > d->bp_left) k = (size_t)d->bp_left;
            for (size_t j = 0; j < k; j++) {
                out[i + j] = (uint32_t)read_bits(d->bp, d->bp_bytes, d->bp_bit, d->bw);
                d->bp_bit += (uint64_t)d->bw;
            }
            i += k;
            d->bp_left -= k;
        } else if (d->p >= d->end) {
            /* Width 0 needs no data: everything is 0. */
            if (d->bw != 0) return false;
            memset(out + i, 0, (count - i) * sizeof *out);
            return true;
        } else if (!rle_next_run(d)) {
            return false;
        }
    }
    return true;
}

bool lh_pq_bitpacked_msb(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t count,
                         size_t *used)
{
    if (bw < 0 || bw > 32) return false;
    uint64_t bits = (uint64_t)count * (uint64_t)bw;
    uint64_t bytes = (bits + 7) / 8;
    if (bytes > n) return false;
    uint64_t bit = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t v = 0;
        for (int b = 0; b < bw; b++, bit++)
            v = (v << 1) | ((p[bit >> 3] >> (7 - (bit & 7))) & 1);
        out[i] = v;
    }
    *used = (size_t)bytes;
    return true;
}

typedef struct dbp_hdr {
    uint64_t block, mb, total;
    uint64_t first;
    const uint8_t *p;
} dbp_hdr;

static bool dbp_header(const uint8_t *p, size_t n, dbp_hdr *h)
{
    const uint8_t *end = p + n;
    uint64_t z;
    if (!lh_pq_dec_uleb(&p, end, &h->block) || !lh_pq_dec_uleb(&p, end, &h->mb) ||
        !lh_pq_dec_uleb(&p, end, &h->total) || !lh_pq_dec_uleb(&p, end, &z))
        return false;
    if (h->block == 0 || h->block % 128 || h->block > (1u << 20)) return false;
    if (h->mb == 0 || h->block % h->mb || (h->block / h->mb) % 32) return false;
    h->first = (z >> 1) ^ (~(z & 1) + 1);
    h->p = p;
    return true;
}

bool lh_pq_dbp_count(const uint8_t *p, size_t n, uint64_t *total)
{
    dbp_hdr h;
    if (!dbp_header(p, n, &h)) return false;
    *total = h.total;
    return true;
}

bool lh_pq_dbp_decode(const uint8_t *start, size_t n, uint64_t *out, size_t count, size_t *used)
{
    dbp_hdr h;
    if (!dbp_header(start, n, &h) || count > h.total) return false;
    const uint8_t *p = h.p, *end = start + n;
    uint64_t per_mb = h.block / h.mb;
    uint64_t cur = h.first;
    size_t i = 0;
    if (count) out[i++] = cur;
    while (i < count) {
        uint64_t z;
        if (!lh_pq_dec_uleb(&p, end, &z)) return false;
        uint64_t min_delta = (z >> 1) ^ (~(z & 1) + 1);
        if ((uint64_t)(end - p) < h.mb) return false;
        const uint8_t *widths = p;
        p += h.mb;
        for (uint64_t m = 0; m < h.mb && i < count; m++) {
            int w = widths[m];
            if (w > 64) return false;
            uint64_t bytes = per_mb * (uint64_t)w / 8;
            size_t avail = (size_t)(end - p);
            size_t have = bytes < avail ? (size_t)bytes : avail;
            uint64_t k = count - i < per_mb ? count - i : per_mb;
            /* the values we need must be present even if padding is cut */
            if ((k * (uint64_t)w + 7) / 8 > have) return false;
            for (uint64_t j = 0; j < k; j++) {
                cur += read_bits(p, have, j * (uint64_t)w, w) + min_delta;
                out[i++] = cur;
            }
            p += have;
        }
    }
    *used = (size_t)(p - start);
    return true;
}

int64_t lh_pq_int96_to_micros(const uint8_t b[12])
{
    uint64_t nanos = 0;
    uint32_t day = 0;
    for (int i = 0; i < 8; i++) nanos |= (uint64_t)b[i] << (8 * i);
    for (int i = 0; i < 4; i++) day |= (uint32_t)b[8 + i] << (8 * i);
    int64_t d = (int64_t)(int32_t)day - 2440588;
    /* wrapping arithmetic: garbage in, garbage out, but no UB */
    return (int64_t)((uint64_t)d * UINT64_C(86400000000) + nanos / 1000);
}
