/* Column chunk decoding: walk the pages of one chunk (dictionary page, V1 and
 * V2 data pages), decompress, decode levels and values into lh_pq_column.
 * Every count and length from the file is checked before it is used. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "format/pq_dec.h"
#include "format/pq_reader_int.h"
#include "lh/core/mem.h"
#include "lh/format/pq_codec.h"

typedef struct chunk_ctx {
    lh_pq_reader *r;
    size_t rg, page;
    const lh_pq_leaf_int *leaf;
    const lh_pq_column_meta *cm;
    lh_pq_column *col;
    bool have_dict;
    size_t value_size; /* bytes per decoded fixed-width value; 0 for byte arrays */
    lh_error *err;
    /* a ranged read (flat leaves): only data pages holding rows [lo, hi)
     * are decoded; the dictionary page waits until one of them needs it */
    bool ranged;
    uint64_t lo, hi;
    uint64_t next_row;  /* row number of the next data page's first row */
    uint64_t first_row; /* of the first decoded page */
    bool decoded_any;
    lh_pq_page_header dict_hdr; /* the dictionary page, decoded when needed */
    bool dict_stashed;          /* dict_hdr holds it (and must be freed) */
    const uint8_t *dict_body;   /* NULL: not waiting (none, or decoded) */
} chunk_ctx;

static lh_status fail(chunk_ctx *c, lh_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static lh_status fail(chunk_ctx *c, lh_status code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lh_error_set(c->err, code, "%s: row group %zu, column %s, page %zu: %s", c->r->name,
                        c->rg, c->leaf->pub.path, c->page, msg);
}

#define CORRUPT(...) fail(c, LH_ERR_CORRUPT, __VA_ARGS__)

static size_t value_size(lh_pq_type t)
{
    switch (t) {
    case LH_PQ_BOOLEAN: return 1;
    case LH_PQ_INT32:
    case LH_PQ_FLOAT: return 4;
    case LH_PQ_INT64:
    case LH_PQ_INT96: /* converted to INT64 micros */
    case LH_PQ_DOUBLE: return 8;
    default: return 0;
    }
}

static uint32_t *scratch_u32(lh_pq_reader *r, size_t n)
{
    if (n > r->u32_cap) r->u32 = lh_grow(r->u32, &r->u32_cap, n, sizeof *r->u32);
    return r->u32;
}

static uint64_t *scratch_u64(uint64_t **p, size_t *cap, size_t n)
{
    if (n > *cap) *p = lh_grow(*p, cap, n, sizeof **p);
    return *p;
}

/* ---- output growth ---- */

static lh_status reserve_values(chunk_ctx *c, lh_pq_column *col, size_t vsize, size_t extra)
{
    size_t need = col->num_values + extra;
    if (need < col->num_values || need > c->r->max_levels)
        return CORRUPT("more than %zu values", c->r->max_levels);
    if (vsize) {
        if (need > col->values_cap) col->values = lh_grow(col->values, &col->values_cap, need, vsize);
    } else {
        if (need + 1 > col->values_cap)
            col->offsets = lh_grow(col->offsets, &col->values_cap, need + 1, sizeof(uint64_t));
        col->offsets[0] = 0; /* offsets[0] stays 0 from here on */
        if (col->keep_dict) {
            /* every value is in bytes until a dictionary page says otherwise */
            if (need > col->dict_idx_cap)
                col->dict_idx = lh_grow(col->dict_idx, &col->dict_idx_cap, need, sizeof(uint32_t));
            for (size_t i = col->num_values; i < need; i++) col->dict_idx[i] = LH_PQ_NO_DICT;
        }
    }
    return LH_OK;
}

static lh_status append_bytes(chunk_ctx *c, lh_pq_column *col, const void *p, size_t n)
{
    if (n > c->r->max_bytes || col->bytes.len > c->r->max_bytes - n)
        return CORRUPT("decoded byte arrays exceed %zu bytes", c->r->max_bytes);
    lh_buf_append(&col->bytes, p, n);
    col->offsets[++col->num_values] = col->bytes.len;
    return LH_OK;
}

/* Buffers are reused across columns of different shapes: drop those that
 * belong to another shape so each capacity describes the array it sizes. */
static void col_prepare(lh_pq_column *col, lh_pq_type type, int16_t max_def, int16_t max_rep)
{
    size_t vsize = value_size(type);
    if ((vsize && col->offsets) || (!vsize && col->values) ||
        (col->values && value_size(col->type) != vsize)) {
        free(col->values);
        free(col->offsets);
        col->values = NULL;
        col->offsets = NULL;
        col->values_cap = 0;
    }
    if ((max_def > 0) != (col->def_levels != NULL) || (max_rep > 0) != (col->rep_levels != NULL)) {
        free(col->def_levels);
        free(col->rep_levels);
        col->def_levels = col->rep_levels = NULL;
        col->levels_cap = 0;
    }
    col->type = type == LH_PQ_INT96 ? LH_PQ_INT64 : type;
    col->num_levels = col->num_values = 0;
    lh_buf_reset(&col->bytes);
}

/* ---- PLAIN ---- */

static lh_status decode_plain(chunk_ctx *c, lh_pq_column *out, lh_pq_type type, const uint8_t *p,
                              size_t n, size_t count)
{
    size_t vs = value_size(type);
    if (count == 0) return LH_OK; /* an all-null page: values may still be unallocated */
    LH_TRY(reserve_values(c, out, vs, count));
    if (count == 0) return LH_OK;
    switch (type) {
    case LH_PQ_BOOLEAN: {
        if ((count + 7) / 8 > n) return CORRUPT("PLAIN booleans truncated");
        uint8_t *v = (uint8_t *)out->values + out->num_values;
        for (size_t i = 0; i < count; i++) v[i] = (p[i >> 3] >> (i & 7)) & 1;
        out->num_values += count;
        return LH_OK;
    }
    case LH_PQ_INT32:
    case LH_PQ_INT64:
    case LH_PQ_FLOAT:
    case LH_PQ_DOUBLE:
        if (count > n / vs) return CORRUPT("PLAIN values truncated (%zu values in %zu bytes)", count, n);
        memcpy((uint8_t *)out->values + out->num_values * vs, p, count * vs);
        out->num_values += count;
        return LH_OK;
    case LH_PQ_INT96: {
        if (count > n / 12) return CORRUPT("PLAIN INT96 values truncated");
        int64_t *v = (int64_t *)out->values + out->num_values;
        for (size_t i = 0; i < count; i++) v[i] = lh_pq_int96_to_micros(p + 12 * i);
        out->num_values += count;
        return LH_OK;
    }
    case LH_PQ_BYTE_ARRAY: {
        size_t pos = 0;
        for (size_t i = 0; i < count; i++) {
            if (n - pos < 4) return CORRUPT("PLAIN byte array %zu truncated", i);
            uint32_t len = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 |
                           (uint32_t)p[pos + 2] << 16 | (uint32_t)p[pos + 3] << 24;
            pos += 4;
            if (len > n - pos) return CORRUPT("PLAIN byte array %zu longer than the page", i);
            LH_TRY(append_bytes(c, out, p + pos, len));
            pos += len;
        }
        return LH_OK;
    }
    case LH_PQ_FIXED_LEN_BYTE_ARRAY: {
        size_t w = (size_t)c->leaf->pub.element->type_length;
        if (w && count > n / w) return CORRUPT("PLAIN fixed-length values truncated");
        for (size_t i = 0; i < count; i++) LH_TRY(append_bytes(c, out, p + i * w, w));
        return LH_OK;
    }
    }
    return CORRUPT("unknown physical type");
}

/* ---- dictionary indices ---- */

static lh_status decode_dict_indices(chunk_ctx *c, const uint8_t *p, size_t n, size_t count)
{
    lh_pq_reader *r = c->r;
    lh_pq_column *out = c->col, *d = &r->dict;
    if (!c->have_dict) return CORRUPT("dictionary-encoded page without a dictionary page");
    if (n < 1) return CORRUPT("dictionary indices: missing bit width");
    int bw = p[0];
    if (bw > 32) return CORRUPT("dictionary index bit width %d", bw);
    uint32_t *idx = scratch_u32(r, count);
    lh_pq_rle dec;
    lh_pq_rle_init(&dec, p + 1, n - 1, bw);
    if (!lh_pq_rle_get(&dec, idx, count)) return CORRUPT("dictionary indices truncated");
    size_t vs = c->value_size;
    LH_TRY(reserve_values(c, out, vs, count));
    for (size_t i = 0; i < count; i++) {
        if (idx[i] >= d->num_values)
            return CORRUPT("dictionary index %u out of range (%zu entries)", idx[i], d->num_values);
        if (vs) {
            memcpy((uint8_t *)out->values + (out->num_values++) * vs,
                   (uint8_t *)d->values + (size_t)idx[i] * vs, vs);
        } else if (out->keep_dict) {
            out->dict_idx[out->num_values] = idx[i];
            out->offsets[out->num_values + 1] = out->bytes.len;
            out->num_values++;
        } else {
            uint64_t a = d->offsets[idx[i]], b = d->offsets[idx[i] + 1];
            LH_TRY(append_bytes(c, out, b > a ? d->bytes.data + a : "", (size_t)(b - a)));
        }
    }
    return LH_OK;
}

/* ---- DELTA encodings ---- */

/* Decode a DELTA_BINARY_PACKED run of exactly its header count into r->u64;
 * returns the count and the bytes used. */
static lh_status dbp_all(chunk_ctx *c, uint64_t **buf, size_t *cap, const uint8_t *p, size_t n,
                         size_t *count, size_t *used, const char *what)
{
    uint64_t total;
    if (!lh_pq_dbp_count(p, n, &total)) return CORRUPT("%s: bad DELTA_BINARY_PACKED header", what);
    /* every value after the first needs at least one miniblock bit or a
     * width byte; cap by levels limit rather than bytes (width 0 is legal) */
    if (total > c->r->max_levels) return CORRUPT("%s: %llu values", what, (unsigned long long)total);
    uint64_t *v = scratch_u64(buf, cap, (size_t)total ? (size_t)total : 1);
    if (!lh_pq_dbp_decode(p, n, v, (size_t)total, used))
        return CORRUPT("%s: DELTA_BINARY_PACKED data truncated", what);
    *count = (size_t)total;
    return LH_OK;
}

static lh_status decode_dbp(chunk_ctx *c, const uint8_t *p, size_t n, size_t count)
{
    lh_pq_reader *r = c->r;
    uint64_t total;
    if (!lh_pq_dbp_count(p, n, &total)) return CORRUPT("bad DELTA_BINARY_PACKED header");
    if (total < count) return CORRUPT("DELTA_BINARY_PACKED holds %llu of %zu values",
                                      (unsigned long long)total, count);
    uint64_t *v = scratch_u64(&r->u64, &r->u64_cap, count ? count : 1);
    size_t used;
    if (!lh_pq_dbp_decode(p, n, v, count, &used)) return CORRUPT("DELTA_BINARY_PACKED truncated");
    lh_pq_column *out = c->col;
    LH_TRY(reserve_values(c, out, c->value_size, count));
    if (c->leaf->pub.type == LH_PQ_INT32) {
        int32_t *o = (int32_t *)out->values + out->num_values;
        for (size_t i = 0; i < count; i++) o[i] = (int32_t)(uint32_t)v[i];
    } else if (c->leaf->pub.type == LH_PQ_INT64) {
        int64_t *o = (int64_t *)out->values + out->num_values;
        for (size_t i = 0; i < count; i++) o[i] = (int64_t)v[i];
    } else {
        return CORRUPT("DELTA_BINARY_PACKED for a non-integer column");
    }
    out->num_values += count;
    return LH_OK;
}

static lh_status check_fixed_len(chunk_ctx *c, uint64_t len)
{
    if (c->leaf->pub.type == LH_PQ_FIXED_LEN_BYTE_ARRAY &&
        len != (uint64_t)c->leaf->pub.element->type_length)
        return CORRUPT("fixed-length value of %llu bytes", (unsigned long long)len);
    return LH_OK;
}

static lh_status decode_dlba(chunk_ctx *c, const uint8_t *p, size_t n, size_t count)
{
    lh_pq_reader *r = c->r;
    if (c->value_size) return CORRUPT("DELTA_LENGTH_BYTE_ARRAY for a fixed-width column");
    size_t total, used;
    LH_TRY(dbp_all(c, &r->u64, &r->u64_cap, p, n, &total, &used, "lengths"));
    if (total < count) return CORRUPT("DELTA_LENGTH_BYTE_ARRAY holds %zu of %zu values", total, count);
    LH_TRY(reserve_values(c, c->col, 0, count));
    size_t pos = used;
    for (size_t i = 0; i < count; i++) {
        uint64_t len = r->u64[i];
        if (len > n - pos) return CORRUPT("DELTA_LENGTH_BYTE_ARRAY value %zu truncated", i);
        LH_TRY(check_fixed_len(c, len));
        LH_TRY(append_bytes(c, c->col, p + pos, (size_t)len));
        pos += (size_t)len;
    }
    return LH_OK;
}

static lh_status decode_dba(chunk_ctx *c, const uint8_t *p, size_t n, size_t count)
{
    lh_pq_reader *r = c->r;
    if (c->value_size) return CORRUPT("DELTA_BYTE_ARRAY for a fixed-width column");
    size_t np, nl, used1, used2;
    LH_TRY(dbp_all(c, &r->u64b, &r->u64b_cap, p, n, &np, &used1, "prefix lengths"));
    LH_TRY(dbp_all(c, &r->u64, &r->u64_cap, p + used1, n - used1, &nl, &used2, "suffix lengths"));
    if (np < count || nl < count) return CORRUPT("DELTA_BYTE_ARRAY holds fewer than %zu values", count);
    lh_pq_column *out = c->col;
    LH_TRY(reserve_values(c, out, 0, count));
    size_t pos = used1 + used2;
    uint64_t prev_off = 0, prev_len = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t pre = r->u64b[i], suf = r->u64[i];
        if (pre > prev_len) return CORRUPT("DELTA_BYTE_ARRAY prefix %zu too long", i);
        if (suf > n - pos) return CORRUPT("DELTA_BYTE_ARRAY suffix %zu truncated", i);
        LH_TRY(check_fixed_len(c, pre + suf));
        if (pre + suf > c->r->max_bytes || out->bytes.len > c->r->max_bytes - (pre + suf))
            return CORRUPT("decoded byte arrays exceed %zu bytes", c->r->max_bytes);
        uint64_t start = out->bytes.len;
        /* the prefix comes from the previous value, already in out->bytes */
        lh_buf_reserve(&out->bytes, (size_t)(pre + suf));
        if (pre) {
            memmove(out->bytes.data + start, out->bytes.data + prev_off, (size_t)pre);
            out->bytes.len += (size_t)pre;
        }
        lh_buf_append(&out->bytes, p + pos, (size_t)suf);
        pos += (size_t)suf;
        out->offsets[++out->num_values] = out->bytes.len;
        prev_off = start;
        prev_len = pre + suf;
    }
    return LH_OK;
}

static lh_status decode_bss(chunk_ctx *c, const uint8_t *p, size_t n, size_t count)
{
    lh_pq_type t = c->leaf->pub.type;
    size_t k;
    if (t == LH_PQ_FLOAT || t == LH_PQ_INT32) k = 4;
    else if (t == LH_PQ_DOUBLE || t == LH_PQ_INT64) k = 8;
    else if (t == LH_PQ_FIXED_LEN_BYTE_ARRAY) k = (size_t)c->leaf->pub.element->type_length;
    else return CORRUPT("BYTE_STREAM_SPLIT for an unsupported type");
    if (k == 0) return CORRUPT("BYTE_STREAM_SPLIT with zero-width values");
    if (n % k) return CORRUPT("BYTE_STREAM_SPLIT section not a multiple of %zu", k);
    size_t stride = n / k;
    if (stride < count) return CORRUPT("BYTE_STREAM_SPLIT holds %zu of %zu values", stride, count);
    lh_pq_column *out = c->col;
    LH_TRY(reserve_values(c, out, c->value_size, count));
    uint8_t tmp[256];
    uint8_t *big = k > sizeof tmp ? lh_malloc(k) : tmp;
    lh_status rc = LH_OK;
    for (size_t i = 0; i < count && rc == LH_OK; i++) {
        uint8_t *dst = c->value_size ? (uint8_t *)out->values + out->num_values * k : big;
        for (size_t b = 0; b < k; b++) dst[b] = p[b * stride + i];
        if (c->value_size) out->num_values++;
        else rc = append_bytes(c, out, big, k);
    }
    if (big != tmp) free(big);
    return rc;
}

static lh_status decode_rle_bool(chunk_ctx *c, const uint8_t *p, size_t n, size_t count)
{
    if (c->leaf->pub.type != LH_PQ_BOOLEAN) return CORRUPT("RLE values for a non-boolean column");
    if (n < 4) return CORRUPT("RLE booleans: missing length");
    uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (len > n - 4) return CORRUPT("RLE booleans: length past the page");
    uint32_t *v = scratch_u32(c->r, count);
    lh_pq_rle dec;
    lh_pq_rle_init(&dec, p + 4, len, 1);
    if (!lh_pq_rle_get(&dec, v, count)) return CORRUPT("RLE booleans truncated");
    LH_TRY(reserve_values(c, c->col, 1, count));
    uint8_t *o = (uint8_t *)c->col->values + c->col->num_values;
    for (size_t i = 0; i < count; i++) o[i] = (uint8_t)v[i];
    c->col->num_values += count;
    return LH_OK;
}

static lh_status decode_values(chunk_ctx *c, lh_pq_encoding enc, const uint8_t *p, size_t n,
                               size_t count)
{
    if (count == 0) return LH_OK;
    switch (enc) {
    case LH_PQ_ENC_PLAIN: return decode_plain(c, c->col, c->leaf->pub.type, p, n, count);
    case LH_PQ_ENC_PLAIN_DICTIONARY:
    case LH_PQ_ENC_RLE_DICTIONARY: return decode_dict_indices(c, p, n, count);
    case LH_PQ_ENC_RLE: return decode_rle_bool(c, p, n, count);
    case LH_PQ_ENC_DELTA_BINARY_PACKED: return decode_dbp(c, p, n, count);
    case LH_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return decode_dlba(c, p, n, count);
    case LH_PQ_ENC_DELTA_BYTE_ARRAY: return decode_dba(c, p, n, count);
    case LH_PQ_ENC_BYTE_STREAM_SPLIT: return decode_bss(c, p, n, count);
    default: return fail(c, LH_ERR_UNSUPPORTED, "value encoding %d", (int)enc);
    }
}

/* ---- levels ---- */

/* Decode count levels into dst (int16), checking each against max. With
 * prefixed (V1 RLE) the section starts with its u32 byte length. *used gets
 * the bytes of the section. */
static lh_status decode_levels(chunk_ctx *c, lh_pq_encoding enc, bool prefixed, const uint8_t *p,
                               size_t n, int16_t max, int16_t *dst, size_t count, size_t *used,
                               const char *what)
{
    int bw = lh_pq_dec_bit_width((uint64_t)max);
    uint32_t *v = scratch_u32(c->r, count ? count : 1);
    if (enc == LH_PQ_ENC_BIT_PACKED && prefixed) {
        if (!lh_pq_bitpacked_msb(p, n, bw, v, count, used))
            return CORRUPT("%s levels (BIT_PACKED) truncated", what);
    } else if (enc == LH_PQ_ENC_RLE || !prefixed) {
        size_t len = n, off = 0;
        if (prefixed) {
            if (n < 4) return CORRUPT("%s levels: missing length", what);
            len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                  (uint32_t)p[3] << 24;
            off = 4;
            if (len > n - 4) return CORRUPT("%s levels: length %zu past the page", what, len);
        }
        lh_pq_rle dec;
        lh_pq_rle_init(&dec, p + off, len, bw);
        if (!lh_pq_rle_get(&dec, v, count)) return CORRUPT("%s levels truncated", what);
        *used = off + len;
    } else {
        return fail(c, LH_ERR_UNSUPPORTED, "%s level encoding %d", what, (int)enc);
    }
    for (size_t i = 0; i < count; i++) {
        if (v[i] > (uint32_t)max) return CORRUPT("%s level %u above maximum %d", what, v[i], max);
        dst[i] = (int16_t)v[i];
    }
    return LH_OK;
}

static lh_status reserve_levels(chunk_ctx *c, size_t n)
{
    lh_pq_column *col = c->col;
    size_t need = col->num_levels + n;
    if (need < n || need > c->r->max_levels)
        return CORRUPT("more than %zu level entries", c->r->max_levels);
    if (need > col->levels_cap || (c->leaf->pub.max_def > 0 && !col->def_levels) ||
        (c->leaf->pub.max_rep > 0 && !col->rep_levels)) {
        size_t cap = col->levels_cap * 2;
        if (cap < need) cap = need;
        if (cap < 64) cap = 64;
        if (c->leaf->pub.max_def > 0)
            col->def_levels = lh_realloc(col->def_levels, cap * sizeof(int16_t));
        if (c->leaf->pub.max_rep > 0)
            col->rep_levels = lh_realloc(col->rep_levels, cap * sizeof(int16_t));
        col->levels_cap = cap;
    }
    return LH_OK;
}

/* Count values present (def == max_def) among this page's levels. */
static size_t count_present(const lh_pq_column *col, size_t from, size_t n, int16_t max_def)
{
    if (max_def == 0) return n;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += col->def_levels[from + i] == max_def;
    return k;
}

/* ---- pages ---- */

static lh_status decompress(chunk_ctx *c, const uint8_t *src, size_t n, size_t ulen,
                            const uint8_t **out)
{
    if (c->cm->codec == LH_PQ_UNCOMPRESSED) {
        *out = src;
        return LH_OK;
    }
    if (ulen > LH_PQ_MAX_PAGE_SIZE || ulen > c->r->max_bytes)
        return CORRUPT("page of %zu bytes uncompressed", ulen);
    lh_buf *b = &c->r->page;
    lh_buf_reset(b);
    lh_buf_reserve(b, ulen ? ulen : 1);
    lh_status rc = lh_pq_decompress(c->cm->codec, src, n, b->data, ulen, c->err);
    if (rc != LH_OK) {
        char msg[LH_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", c->err->msg);
        return fail(c, rc, "%s", msg);
    }
    b->len = ulen;
    *out = (const uint8_t *)b->data;
    return LH_OK;
}

static lh_status read_dict_page(chunk_ctx *c, const lh_pq_page_header *h, const uint8_t *body)
{
    if (c->have_dict) return CORRUPT("second dictionary page");
    if (!h->has_dictionary_page_header) return CORRUPT("dictionary page without its header");
    const lh_pq_dictionary_page_header *dh = &h->dictionary_page_header;
    if (dh->encoding != LH_PQ_ENC_PLAIN && dh->encoding != LH_PQ_ENC_PLAIN_DICTIONARY)
        return fail(c, LH_ERR_UNSUPPORTED, "dictionary encoding %d", (int)dh->encoding);
    if (dh->num_values < 0) return CORRUPT("negative dictionary size");
    size_t clen = (size_t)h->compressed_page_size, ulen = (size_t)h->uncompressed_page_size;
    const uint8_t *p;
    LH_TRY(decompress(c, body, clen, ulen, &p));
    size_t n = c->cm->codec == LH_PQ_UNCOMPRESSED ? clen : ulen;
    lh_pq_column *d = &c->r->dict;
    d->num_values = 0;
    d->num_levels = 0;
    lh_buf_reset(&d->bytes);
    if ((size_t)dh->num_values > n * 8 + 1 && c->leaf->pub.type != LH_PQ_FIXED_LEN_BYTE_ARRAY)
        return CORRUPT("dictionary of %d entries in %zu bytes", dh->num_values, n);
    LH_TRY(decode_plain(c, d, c->leaf->pub.type, p, n, (size_t)dh->num_values));
    c->have_dict = true;
    return LH_OK;
}

/* The level entries of data page h (*n), checked against its header and
 * against what the chunk has left. */
static lh_status data_page_levels(chunk_ctx *c, const lh_pq_page_header *h, size_t levels_left,
                                  size_t *n)
{
    bool v2 = h->type == LH_PQ_DATA_PAGE_V2;
    if (v2 ? !h->has_data_page_header_v2 : !h->has_data_page_header)
        return CORRUPT("data page without its header");
    int32_t nv = v2 ? h->data_page_header_v2.num_values : h->data_page_header.num_values;
    if (nv < 0) return CORRUPT("negative num_values");
    if ((size_t)nv > levels_left) return CORRUPT("page holds more values than the chunk");
    *n = (size_t)nv;
    return LH_OK;
}

/* Decode data page h of n level entries (data_page_levels). */
static lh_status read_data_page(chunk_ctx *c, const lh_pq_page_header *h, const uint8_t *body,
                                size_t n, size_t *levels_left)
{
    const lh_pq_leaf *lf = &c->leaf->pub;
    lh_pq_column *col = c->col;
    bool v2 = h->type == LH_PQ_DATA_PAGE_V2;
    size_t clen = (size_t)h->compressed_page_size, ulen = (size_t)h->uncompressed_page_size;
    LH_TRY(reserve_levels(c, n));
    size_t base = col->num_levels;
    const uint8_t *p;
    size_t len, used;
    lh_pq_encoding enc;
    if (!v2) {
        const lh_pq_data_page_header *dh = &h->data_page_header;
        enc = dh->encoding;
        LH_TRY(decompress(c, body, clen, ulen, &p));
        len = c->cm->codec == LH_PQ_UNCOMPRESSED ? clen : ulen;
        if (lf->max_rep > 0) {
            LH_TRY(decode_levels(c, dh->repetition_level_encoding, true, p, len, lf->max_rep,
                                 col->rep_levels + base, n, &used, "repetition"));
            p += used;
            len -= used;
        }
        if (lf->max_def > 0) {
            LH_TRY(decode_levels(c, dh->definition_level_encoding, true, p, len, lf->max_def,
                                 col->def_levels + base, n, &used, "definition"));
            p += used;
            len -= used;
        }
    } else {
        const lh_pq_data_page_header_v2 *dh = &h->data_page_header_v2;
        enc = dh->encoding;
        int32_t rl = dh->repetition_levels_byte_length, dl = dh->definition_levels_byte_length;
        if (rl < 0 || dl < 0 || (size_t)rl + (size_t)dl > clen || (size_t)rl + (size_t)dl > ulen)
            return CORRUPT("level lengths %d + %d exceed the page", rl, dl);
        if (lf->max_rep > 0)
            LH_TRY(decode_levels(c, LH_PQ_ENC_RLE, false, body, (size_t)rl, lf->max_rep,
                                 col->rep_levels + base, n, &used, "repetition"));
        if (lf->max_def > 0)
            LH_TRY(decode_levels(c, LH_PQ_ENC_RLE, false, body + rl, (size_t)dl, lf->max_def,
                                 col->def_levels + base, n, &used, "definition"));
        const uint8_t *vals = body + rl + dl;
        size_t vclen = clen - (size_t)rl - (size_t)dl, vulen = ulen - (size_t)rl - (size_t)dl;
        if (dh->is_compressed && c->cm->codec != LH_PQ_UNCOMPRESSED && vulen > 0) {
            LH_TRY(decompress(c, vals, vclen, vulen, &p));
            len = vulen;
        } else if (vulen == 0) {
            p = vals;
            len = 0;
        } else {
            p = vals;
            len = vclen;
        }
    }
    size_t present = count_present(col, base, n, lf->max_def);
    col->num_levels += n;
    *levels_left -= n;
    LH_TRY(decode_values(c, enc, p, len, present));
    return LH_OK;
}

/* Millis / nanos timestamps become micros (floor for nanos, as Delta does). */
static void convert_timestamps(const lh_pq_leaf_int *l, lh_pq_column *col)
{
    int64_t *v = col->values;
    if (l->ts_unit == LH_PQ_MILLIS) {
        for (size_t i = 0; i < col->num_values; i++) v[i] = (int64_t)((uint64_t)v[i] * 1000u);
    } else if (l->ts_unit == LH_PQ_NANOS) {
        for (size_t i = 0; i < col->num_values; i++) {
            int64_t q = v[i] / 1000;
            if (v[i] % 1000 < 0) q--;
            v[i] = q;
        }
    }
}

static lh_status check_rows(chunk_ctx *c, int64_t rows)
{
    const lh_pq_column *col = c->col;
    size_t got = col->num_levels;
    if (c->leaf->pub.max_rep > 0) {
        got = 0;
        for (size_t i = 0; i < col->num_levels; i++) got += col->rep_levels[i] == 0;
    }
    if ((uint64_t)rows != got)
        return CORRUPT("chunk holds %zu rows, row group has %lld", got, (long long)rows);
    return LH_OK;
}

/* A data page of n level entries in a ranged read: whether to decode it
 * (the rows it holds overlap [lo, hi)); *past when it starts at or after
 * hi. Decodes the waiting dictionary when the page is the first to need it. */
static lh_status page_wanted(chunk_ctx *c, const lh_pq_page_header *h, size_t n, bool *want,
                             bool *past)
{
    bool v2 = h->type == LH_PQ_DATA_PAGE_V2;
    uint64_t from = c->next_row, to = from + n; /* flat: one level per row */
    c->next_row = to;
    *past = from >= c->hi;
    *want = to > c->lo && from < c->hi;
    if (!*want) return LH_OK;
    if (!c->decoded_any) c->first_row = from;
    c->decoded_any = true;
    lh_pq_encoding enc = v2 ? h->data_page_header_v2.encoding : h->data_page_header.encoding;
    if (c->dict_body &&
        (enc == LH_PQ_ENC_RLE_DICTIONARY || enc == LH_PQ_ENC_PLAIN_DICTIONARY)) {
        const uint8_t *body = c->dict_body;
        c->dict_body = NULL;
        LH_TRY(read_dict_page(c, &c->dict_hdr, body));
    }
    return LH_OK;
}

/* A page's CRC32 (zlib's, over the page as stored), when its writer gave
 * one: a flipped bit in an uncompressed or snappy page would otherwise
 * decode into another value unnoticed. Checked for the pages read only. */
static lh_status check_crc(chunk_ctx *c, const lh_pq_page_header *h, const uint8_t *body,
                           size_t clen)
{
    if (!h->has_crc) return LH_OK;
    uint32_t got = (uint32_t)crc32(0L, body, (uInt)clen);
    if (got == (uint32_t)h->crc) return LH_OK;
    return CORRUPT("the page's checksum does not match its bytes (CRC32 %08x, its header "
                   "says %08x): the file is damaged",
                   got, (uint32_t)h->crc);
}

/* The pages of a chunk (data, size bytes): decode them all, or those of a
 * ranged read. */
static lh_status walk_pages(chunk_ctx *c, const uint8_t *data, size_t size)
{
    size_t levels_left = (size_t)c->cm->num_values, pos = 0;
    while (levels_left > 0) {
        if (pos >= size)
            return CORRUPT("chunk ends with %zu of %lld values missing", levels_left,
                           (long long)c->cm->num_values);
        lh_pq_page_header h;
        lh_pq_page_header_init(&h);
        size_t used;
        lh_status rc = lh_pq_page_header_read(data + pos, size - pos, &h, &used, c->err);
        if (rc != LH_OK) {
            char msg[LH_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", c->err->msg);
            lh_pq_page_header_free(&h);
            return fail(c, rc, "page header: %s", msg);
        }
        pos += used;
        size_t clen = (size_t)h.compressed_page_size;
        if (clen > size - pos) {
            lh_pq_page_header_free(&h);
            return CORRUPT("page of %zu bytes runs past the chunk", clen);
        }
        const uint8_t *body = data + pos;
        pos += clen;
        bool data_page = h.type == LH_PQ_DATA_PAGE || h.type == LH_PQ_DATA_PAGE_V2;
        bool want = true, past = false;
        if (h.type == LH_PQ_DICTIONARY_PAGE && (rc = check_crc(c, &h, body, clen)) != LH_OK) {
            lh_pq_page_header_free(&h);
            return rc;
        }
        if (h.type == LH_PQ_DICTIONARY_PAGE && c->ranged) {
            if (c->have_dict || c->dict_stashed) {
                lh_pq_page_header_free(&h);
                return CORRUPT("second dictionary page");
            }
            c->dict_hdr = h; /* owned by the context from here */
            c->dict_stashed = true;
            c->dict_body = body;
            c->page++;
            continue;
        }
        if (h.type == LH_PQ_DICTIONARY_PAGE) {
            rc = read_dict_page(c, &h, body);
        } else if (data_page) {
            size_t n = 0;
            rc = data_page_levels(c, &h, levels_left, &n);
            if (rc == LH_OK && c->ranged) rc = page_wanted(c, &h, n, &want, &past);
            if (rc == LH_OK && want) rc = check_crc(c, &h, body, clen);
            if (rc == LH_OK && want) rc = read_data_page(c, &h, body, n, &levels_left);
            else if (rc == LH_OK) levels_left -= n; /* skipped: only counted */
        }
        /* index pages and unknown page types are skipped */
        lh_pq_page_header_free(&h);
        if (rc != LH_OK || past) return rc; /* past: later pages hold later rows */
        c->page++;
    }
    return LH_OK;
}

static lh_status read_chunk(chunk_ctx *c, size_t leaf)
{
    lh_pq_reader *r = c->r;
    size_t rg = c->rg;
    lh_pq_column *col = c->col;
    lh_error *err = c->err;
    const lh_pq_row_group *g;
    LH_TRY(lh_pq_reader_chunk(r, rg, leaf, &g, err));
    const lh_pq_column_meta *cm = &g->columns[leaf].meta_data;
    c->leaf = &r->leaves[leaf];
    c->cm = cm;
    const lh_pq_leaf *lf = &r->leaves[leaf].pub;
    c->value_size = value_size(lf->type);
    col_prepare(col, lf->type, lf->max_def, lf->max_rep);
    col_prepare(&r->dict, lf->type, 0, 0);
    col->dict = NULL;
    if (!c->value_size) LH_TRY(reserve_values(c, col, 0, 0));
    LH_TRY(reserve_levels(c, 0)); /* level arrays exist even for empty chunks */

    if (cm->num_values < 0) return CORRUPT("negative num_values in the chunk metadata");
    if (cm->num_values == 0) return check_rows(c, g->num_rows);
    if (cm->total_compressed_size < 0) return CORRUPT("negative chunk size");
    int64_t start = cm->data_page_offset;
    if (cm->has_dictionary_page_offset && cm->dictionary_page_offset > 0 &&
        cm->dictionary_page_offset < start)
        start = cm->dictionary_page_offset;
    if (start < 4 || (uint64_t)start > r->data_end)
        return CORRUPT("chunk offset %lld outside the data area", (long long)start);
    uint64_t avail = r->data_end - (uint64_t)start;
    size_t size = (uint64_t)cm->total_compressed_size < avail ? (size_t)cm->total_compressed_size
                                                              : (size_t)avail;
    const uint8_t *data;
    lh_status rc = lh_pq_reader_bytes(r, (uint64_t)start, size, &r->chunk, &data, err);
    if (rc != LH_OK) return rc;

    if ((uint64_t)cm->num_values > r->max_levels)
        return CORRUPT("%lld values exceed the limit", (long long)cm->num_values);
    rc = walk_pages(c, data, size);
    if (c->dict_stashed) lh_pq_page_header_free(&c->dict_hdr);
    if (rc != LH_OK) return rc;
    if (!c->ranged) LH_TRY(check_rows(c, g->num_rows));
    if (r->leaves[leaf].ts_unit) convert_timestamps(&r->leaves[leaf], col);
    if (col->keep_dict && c->have_dict) col->dict = &r->dict;
    return LH_OK;
}

lh_status lh_pq_reader_read_column(lh_pq_reader *r, size_t rg, size_t leaf, lh_pq_column *col,
                                   lh_error *err)
{
    chunk_ctx cx = {.r = r, .rg = rg, .col = col, .err = err};
    return read_chunk(&cx, leaf);
}

lh_status lh_pq_reader_read_column_rows(lh_pq_reader *r, size_t rg, size_t leaf, uint64_t first,
                                        uint64_t count, lh_pq_column *col, uint64_t *col_first,
                                        lh_error *err)
{
    *col_first = 0;
    chunk_ctx cx = {.r = r, .rg = rg, .col = col, .err = err};
    /* nested leaves: rows and level entries differ, decode it all */
    cx.ranged = leaf < r->num_leaves && r->leaves[leaf].pub.max_rep == 0;
    cx.lo = first;
    cx.hi = first + count < first ? UINT64_MAX : first + count;
    lh_status rc = read_chunk(&cx, leaf);
    if (rc == LH_OK && cx.ranged) *col_first = cx.decoded_any ? cx.first_row : first;
    return rc;
}
