/* Column-level encoding for the parquet writer: dictionary with hash table,
 * PLAIN, definition levels, chunk statistics and distinct-hash collection
 * for bloom filters. */
#include "pq_writer_col.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/hash.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "pq_enc.h"

static lh_pq_type physical(lh_pq_kind k)
{
    switch (k) {
    case LH_PQK_STRING: return LH_PQ_BYTE_ARRAY;
    case LH_PQK_TIMESTAMP_US:
    case LH_PQK_INT64: return LH_PQ_INT64;
    case LH_PQK_BOOL: return LH_PQ_BOOLEAN;
    case LH_PQK_INT32: return LH_PQ_INT32;
    case LH_PQK_DOUBLE: return LH_PQ_DOUBLE;
    }
    return LH_PQ_BYTE_ARRAY;
}

void lh_pq_wcol_init(lh_pq_wcol *c, const lh_pq_col_spec *spec, int max_def, int max_rep,
                     const char *const *path, size_t path_len)
{
    memset(c, 0, sizeof *c);
    c->spec = *spec;
    c->spec.name = lh_strdup(spec->name);
    c->type = physical(spec->kind);
    c->max_def = max_def;
    c->max_rep = max_rep;
    if (!path) {
        path = &spec->name;
        path_len = 1;
    }
    c->path = lh_calloc(path_len, sizeof *c->path);
    for (size_t i = 0; i < path_len; i++) c->path[i] = lh_strdup(path[i]);
    c->path_len = path_len;
    lh_pq_wcol_reset_chunk(c);
}

void lh_pq_wcol_free(lh_pq_wcol *c)
{
    free((char *)c->spec.name);
    for (size_t i = 0; i < c->path_len; i++) free(c->path[i]);
    free(c->path);
    free(c->reps);
    lh_buf_free(&c->dict_plain);
    free(c->dict_off);
    free(c->dict_len);
    free(c->dict_hash);
    free(c->dict_stamp);
    free(c->table);
    free(c->defs);
    free(c->idx);
    lh_buf_free(&c->page_plain);
    lh_buf_free(&c->chunk);
    lh_buf_free(&c->smin);
    lh_buf_free(&c->smax);
    lh_buf_free(&c->pmin);
    lh_buf_free(&c->pmax);
    lh_pq_column_index_free(&c->cidx);
    lh_pq_offset_index_free(&c->oidx);
    free(c->hset);
    memset(c, 0, sizeof *c);
}

void lh_pq_wcol_reset_chunk(lh_pq_wcol *c)
{
    c->dict_mode = c->spec.dictionary && c->type != LH_PQ_BOOLEAN && !c->dict_unprofitable;
    c->fallback_pending = false;
    c->probe_values = 0;
    c->probe_plain = 0;
    c->last_idx = -1;
    lh_buf_reset(&c->dict_plain);
    c->dict_n = 0;
    c->page_epoch = 1;
    if (c->table) memset(c->table, 0, c->table_cap * sizeof *c->table);
    lh_buf_reset(&c->chunk);
    c->chunk_uncomp = 0;
    c->num_values = 0;
    c->pages_dict = c->pages_plain = 0;
    c->nulls = 0;
    c->has_minmax = false;
    lh_buf_reset(&c->smin);
    lh_buf_reset(&c->smax);
    c->p_has = false;
    c->p_nulls = 0;
    c->chunk_rows = c->page_first_row = 0;
    lh_pq_column_index_free(&c->cidx); /* normally moved out by the writer */
    lh_pq_offset_index_free(&c->oidx);
    c->pidx_cap = 0;
    /* The bloom hash set can be large: release it rather than keep it. */
    free(c->hset);
    c->hset = NULL;
    c->hset_cap = c->hset_n = 0;
    c->hset_zero = false;
}

/* ---- value bytes ---- */

static void le_bytes(uint8_t *out, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) out[i] = (uint8_t)(v >> (8 * i));
}

/* Plain bytes of a non-null value (no length prefix). */
static const void *value_bytes(const lh_pq_wcol *c, const lh_pq_value *v, uint8_t tmp[8],
                               size_t *len)
{
    switch (c->spec.kind) {
    case LH_PQK_STRING:
        *len = v->v.s.len;
        return v->v.s.len ? v->v.s.p : "";
    case LH_PQK_TIMESTAMP_US:
    case LH_PQK_INT64:
        le_bytes(tmp, (uint64_t)v->v.i64, 8);
        *len = 8;
        return tmp;
    case LH_PQK_INT32:
        le_bytes(tmp, (uint32_t)v->v.i32, 4);
        *len = 4;
        return tmp;
    case LH_PQK_DOUBLE: {
        uint64_t u;
        memcpy(&u, &v->v.f64, 8);
        le_bytes(tmp, u, 8);
        *len = 8;
        return tmp;
    }
    case LH_PQK_BOOL:
        tmp[0] = v->v.b ? 1 : 0;
        *len = 1;
        return tmp;
    }
    *len = 0;
    return tmp;
}

static int64_t ld_le(const void *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)((const uint8_t *)p)[i] << (8 * i);
    if (n == 4) return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

static double ld_double(const void *p)
{
    uint64_t u = (uint64_t)ld_le(p, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* Compare plain bytes in the column's sort order (TYPE_DEFINED_ORDER). */
static int cmp_values(const lh_pq_wcol *c, const void *a, size_t an, const void *b, size_t bn)
{
    switch (c->type) {
    case LH_PQ_BYTE_ARRAY: return lh_bytes_cmp(a, an, b, bn);
    case LH_PQ_INT32:
    case LH_PQ_INT64: {
        int64_t x = ld_le(a, (int)an), y = ld_le(b, (int)bn);
        return x < y ? -1 : x > y;
    }
    case LH_PQ_DOUBLE: {
        double x = ld_double(a), y = ld_double(b);
        if (x == y) { /* -0.0 sorts before +0.0 for the bounds */
            bool sx = signbit(x) != 0, sy = signbit(y) != 0;
            return sx == sy ? 0 : (sx ? -1 : 1);
        }
        return x < y ? -1 : 1;
    }
    default: return memcmp(a, b, 1);
    }
}

static void set_buf(lh_buf *b, const void *p, size_t n)
{
    lh_buf_reset(b);
    lh_buf_append(b, p, n);
}

static void update_bounds(const lh_pq_wcol *c, bool *has, lh_buf *mn, lh_buf *mx, const void *p,
                          size_t n)
{
    if (!*has) {
        set_buf(mn, p, n);
        set_buf(mx, p, n);
        *has = true;
        return;
    }
    if (cmp_values(c, p, n, mn->data, mn->len) < 0) set_buf(mn, p, n);
    else if (cmp_values(c, p, n, mx->data, mx->len) > 0) set_buf(mx, p, n);
}

/* With a page index, values bound their page and each page's bounds fold
 * into the chunk's when it is written (lh_pq_wcol_index_page): two
 * comparisons per value, not four. */
static void update_stats(lh_pq_wcol *c, const void *p, size_t n)
{
    if (c->type == LH_PQ_DOUBLE && isnan(ld_double(p))) return; /* NaN never bounds */
    if (c->page_index) update_bounds(c, &c->p_has, &c->pmin, &c->pmax, p, n);
    else update_bounds(c, &c->has_minmax, &c->smin, &c->smax, p, n);
}

/* ---- distinct hashes (bloom) ---- */

static void hset_add(lh_pq_wcol *c, uint64_t h)
{
    if (h == 0) {
        if (!c->hset_zero) c->hset_n++;
        c->hset_zero = true;
        return;
    }
    if ((c->hset_n + 1) * 2 > c->hset_cap) {
        size_t ncap = c->hset_cap ? c->hset_cap * 2 : 1024;
        uint64_t *nt = lh_calloc(ncap, sizeof *nt);
        for (size_t i = 0; i < c->hset_cap; i++) {
            uint64_t k = c->hset[i];
            if (!k) continue;
            size_t j = (size_t)k & (ncap - 1);
            while (nt[j]) j = (j + 1) & (ncap - 1);
            nt[j] = k;
        }
        free(c->hset);
        c->hset = nt;
        c->hset_cap = ncap;
    }
    size_t j = (size_t)h & (c->hset_cap - 1);
    while (c->hset[j]) {
        if (c->hset[j] == h) return;
        j = (j + 1) & (c->hset_cap - 1);
    }
    c->hset[j] = h;
    c->hset_n++;
}

/* ---- dictionary ---- */

static void table_grow(lh_pq_wcol *c)
{
    size_t ncap = c->table_cap ? c->table_cap * 2 : 1024;
    uint32_t *nt = lh_calloc(ncap, sizeof *nt);
    for (uint32_t i = 0; i < c->dict_n; i++) {
        size_t j = (size_t)c->dict_hash[i] & (ncap - 1);
        while (nt[j]) j = (j + 1) & (ncap - 1);
        nt[j] = i + 1;
    }
    free(c->table);
    c->table = nt;
    c->table_cap = ncap;
}

/* Index of the value in the dictionary, inserting it; -1 when inserting
 * would exceed limit bytes. */
static int64_t dict_lookup(lh_pq_wcol *c, const void *p, size_t n, uint64_t h, size_t limit)
{
    if ((size_t)(c->dict_n + 1) * 2 > c->table_cap) table_grow(c);
    size_t j = (size_t)h & (c->table_cap - 1);
    while (c->table[j]) {
        uint32_t i = c->table[j] - 1;
        if (c->dict_hash[i] == h && c->dict_len[i] == n &&
            memcmp(c->dict_plain.data + c->dict_off[i], p, n) == 0)
            return i;
        j = (j + 1) & (c->table_cap - 1);
    }
    size_t prefix = c->type == LH_PQ_BYTE_ARRAY ? 4 : 0;
    if (c->dict_plain.len + prefix + n > limit || c->dict_n == UINT32_MAX - 1) return -1;
    if (c->dict_n + 1 > c->dict_cap) {
        size_t cap = c->dict_cap;
        c->dict_off = lh_grow(c->dict_off, &cap, c->dict_n + 1, sizeof *c->dict_off);
        cap = c->dict_cap;
        c->dict_len = lh_grow(c->dict_len, &cap, c->dict_n + 1, sizeof *c->dict_len);
        cap = c->dict_cap;
        c->dict_hash = lh_grow(c->dict_hash, &cap, c->dict_n + 1, sizeof *c->dict_hash);
        cap = c->dict_cap;
        c->dict_stamp = lh_grow(c->dict_stamp, &cap, c->dict_n + 1, sizeof *c->dict_stamp);
        c->dict_cap = cap;
    }
    if (prefix) lh_buf_append_u32le(&c->dict_plain, (uint32_t)n);
    c->dict_off[c->dict_n] = c->dict_plain.len;
    c->dict_len[c->dict_n] = (uint32_t)n;
    c->dict_hash[c->dict_n] = h;
    c->dict_stamp[c->dict_n] = 0;
    lh_buf_append(&c->dict_plain, p, n);
    c->table[j] = c->dict_n + 1;
    return c->dict_n++;
}

/* Whether the chunk's probed values take no fewer bytes as dictionary
 * entries plus bit-packed indices than PLAIN (the cost rule parquet-mr
 * applies at a chunk's first page): then every value is new, nearly, and
 * the dictionary only adds work (statement ids). */
static bool dict_unprofitable(const lh_pq_wcol *c)
{
    uint64_t indices = ((uint64_t)c->probe_values * (uint64_t)lh_pq_wcol_dict_width(c) + 7) / 8;
    return (uint64_t)c->dict_plain.len + indices >= c->probe_plain;
}

/* ---- values ---- */

static inline void push_level(lh_pq_wcol *c, int d, int r)
{
    if (c->max_def) {
        if (c->page_levels >= c->defs_cap)
            c->defs = lh_grow(c->defs, &c->defs_cap, c->page_levels + 1, sizeof *c->defs);
        c->defs[c->page_levels] = (uint32_t)d;
    }
    if (c->max_rep) {
        if (c->page_levels >= c->reps_cap)
            c->reps = lh_grow(c->reps, &c->reps_cap, c->page_levels + 1, sizeof *c->reps);
        c->reps[c->page_levels] = (uint32_t)r;
    }
    c->page_levels++;
    c->row_entries++;
}

static inline void push_index(lh_pq_wcol *c, uint32_t i)
{
    if (c->page_values >= c->idx_cap)
        c->idx = lh_grow(c->idx, &c->idx_cap, c->page_values + 1, sizeof *c->idx);
    c->idx[c->page_values++] = i;
}

void lh_pq_wcol_add(lh_pq_wcol *c, int def, int rep, const lh_pq_value *v, size_t dict_limit,
                    bool *fell_back)
{
    *fell_back = false;
    if (def < c->max_def) {
        c->nulls++;
        c->p_nulls++;
        push_level(c, def, rep);
        return;
    }
    uint8_t tmp[8];
    size_t n;
    const void *p = value_bytes(c, v, tmp, &n);
    if (c->dict_mode && c->probe_values >= LH_PQ_DICT_PROBE_VALUES && c->row_entries == 0) {
        /* once per chunk, at a row start (pages end at row boundaries) */
        bool unprofitable = dict_unprofitable(c);
        c->probe_values = 0;
        c->probe_plain = UINT64_MAX;
        if (unprofitable) {
            c->dict_unprofitable = true;
            *fell_back = true;
            return;
        }
    }
    if (c->dict_mode && c->probe_plain != UINT64_MAX) {
        c->probe_values++;
        c->probe_plain += n + (c->type == LH_PQ_BYTE_ARRAY ? 4 : 0);
    }
    if (c->dict_mode && c->last_idx >= 0 && c->dict_len[c->last_idx] == n &&
        memcmp(c->dict_plain.data + c->dict_off[c->last_idx], p, n) == 0) {
        push_index(c, (uint32_t)c->last_idx);
        push_level(c, def, rep);
        return;
    }
    uint64_t h = 0;
    bool hashed = c->dict_mode || (c->spec.bloom_filter && c->type != LH_PQ_BOOLEAN);
    if (hashed) h = lh_xxh64(p, n, 0);
    if (c->dict_mode) {
        uint32_t before = c->dict_n;
        int64_t i = dict_lookup(c, p, n, h, dict_limit);
        if (i < 0 && c->max_rep > 0 && c->row_entries > 0) {
            /* Pages end at row boundaries: let the dictionary overshoot
             * until the row is complete. */
            i = dict_lookup(c, p, n, h, SIZE_MAX);
            c->fallback_pending = true;
        }
        if (i < 0) {
            *fell_back = true;
            return;
        }
        push_index(c, (uint32_t)i);
        c->last_idx = i;
        push_level(c, def, rep);
        /* An entry already in the dictionary is in the chunk bounds and
         * the bloom hashes; only its page's bounds may lack it. */
        bool inserted = c->dict_n != before;
        if (inserted && c->spec.bloom_filter) hset_add(c, h);
        if (!c->spec.statistics || c->dict_stamp[i] == c->page_epoch) return;
        c->dict_stamp[i] = c->page_epoch;
        if (inserted || c->page_index) update_stats(c, p, n);
        return;
    }
    if (c->type == LH_PQ_BOOLEAN) {
        if (c->bool_bits == 0) lh_buf_append_byte(&c->page_plain, 0);
        if (v->v.b) c->page_plain.data[c->page_plain.len - 1] |= (char)(1u << c->bool_bits);
        c->bool_bits = (c->bool_bits + 1) & 7;
    } else {
        if (c->type == LH_PQ_BYTE_ARRAY) lh_buf_append_u32le(&c->page_plain, (uint32_t)n);
        lh_buf_append(&c->page_plain, p, n);
    }
    c->page_values++;
    if (c->spec.statistics) update_stats(c, p, n);
    if (c->spec.bloom_filter && c->type != LH_PQ_BOOLEAN) hset_add(c, h);
    push_level(c, def, rep);
}

size_t lh_pq_wcol_buffered(const lh_pq_wcol *c)
{
    return c->chunk.len + c->dict_plain.len + lh_pq_wcol_page_estimate(c);
}

/* V1 levels: u32 LE byte length, then RLE/bit-packed runs. */
static void levels_section(const uint32_t *lv, size_t n, int max, lh_buf *body)
{
    size_t at = body->len;
    lh_buf_append_u32le(body, 0);
    lh_pq_rle_encode(lv, n, lh_pq_bit_width((uint64_t)max), body);
    uint32_t len = (uint32_t)(body->len - at - 4);
    for (int i = 0; i < 4; i++) body->data[at + i] = (char)(uint8_t)(len >> (8 * i));
}

void lh_pq_wcol_page_body(lh_pq_wcol *c, lh_buf *body, lh_pq_encoding *encoding,
                          size_t *num_levels)
{
    lh_buf_reset(body);
    if (c->max_rep) levels_section(c->reps, c->page_levels, c->max_rep, body);
    if (c->max_def) levels_section(c->defs, c->page_levels, c->max_def, body);
    if (c->dict_mode && c->page_values > 0) {
        int w = lh_pq_wcol_dict_width(c);
        lh_buf_append_byte(body, (uint8_t)w);
        lh_pq_rle_encode(c->idx, c->page_values, w, body);
        *encoding = LH_PQ_ENC_RLE_DICTIONARY;
    } else {
        lh_buf_append(body, c->page_plain.data, c->page_plain.len);
        *encoding = LH_PQ_ENC_PLAIN;
    }
    *num_levels = c->page_levels;
    c->page_epoch++;
    c->page_levels = c->page_values = 0;
    c->last_idx = -1;
    lh_buf_reset(&c->page_plain);
    c->bool_bits = 0;
}

/* ---- statistics ---- */

/* Longest prefix of s no longer than limit that ends on a UTF-8 boundary. */
static size_t utf8_prefix(const char *s, size_t n, size_t limit)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = lh_utf8_decode(s + i, n - i, &cp);
        if (i + k > limit) break;
        i += k;
    }
    return i;
}

/* Upper bound of length <= limit for a string s longer than limit: a prefix
 * whose last code point is incremented (same byte length). false if none. */
static bool utf8_upper(const char *s, size_t n, size_t limit, lh_buf *out)
{
    size_t end = utf8_prefix(s, n, limit);
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && ((uint8_t)s[start] & 0xC0) == 0x80) start--;
        uint32_t cp;
        size_t k = lh_utf8_decode(s + start, end - start, &cp);
        uint32_t next = cp + 1;
        if (next == 0xD800) next = 0xE000;
        char enc[4];
        if (k == end - start && next <= 0x10FFFF && lh_utf8_encode(next, enc) == k) {
            lh_buf_reset(out);
            lh_buf_append(out, s, start);
            lh_buf_append(out, enc, k);
            return true;
        }
        end = start;
    }
    return false;
}

/* Written bounds for min mn / max mx: strings longer than trunc are
 * truncated (exact flags false), zero doubles are -0.0 / +0.0. */
static void write_bounds(const lh_pq_wcol *c, const lh_buf *mn, const lh_buf *mx, size_t trunc,
                         lh_buf *omin, lh_buf *omax, bool *min_exact, bool *max_exact)
{
    *min_exact = *max_exact = true;
    lh_buf_reset(omin);
    lh_buf_reset(omax);
    if (c->type == LH_PQ_BYTE_ARRAY && mn->len > trunc && lh_utf8_valid(mn->data, mn->len)) {
        lh_buf_append(omin, mn->data, utf8_prefix(mn->data, mn->len, trunc));
        *min_exact = false;
    } else {
        lh_buf_append(omin, mn->data, mn->len);
    }
    if (c->type == LH_PQ_BYTE_ARRAY && mx->len > trunc && lh_utf8_valid(mx->data, mx->len) &&
        utf8_upper(mx->data, mx->len, trunc, omax)) {
        *max_exact = false;
    } else {
        lh_buf_reset(omax);
        lh_buf_append(omax, mx->data, mx->len);
    }
    if (c->type == LH_PQ_DOUBLE) {
        double lo = ld_double(mn->data), hi = ld_double(mx->data);
        uint64_t u;
        if (lo == 0) {
            lo = -0.0;
            memcpy(&u, &lo, 8);
            le_bytes((uint8_t *)omin->data, u, 8);
        }
        if (hi == 0) {
            hi = 0.0;
            memcpy(&u, &hi, 8);
            le_bytes((uint8_t *)omax->data, u, 8);
        }
    }
}

void lh_pq_wcol_stats(const lh_pq_wcol *c, size_t trunc, lh_pq_statistics *st)
{
    lh_pq_statistics_init(st);
    st->has_null_count = true;
    st->null_count = c->nulls;
    if (!c->has_minmax) return;
    st->has_min_value = st->has_max_value = true;
    bool min_exact, max_exact;
    write_bounds(c, &c->smin, &c->smax, trunc, &st->min_value, &st->max_value, &min_exact,
                 &max_exact);
    if (!min_exact) st->has_is_min_value_exact = true; /* is_min_value_exact = false */
    if (!max_exact) st->has_is_max_value_exact = true;
    if (c->type == LH_PQ_INT32 || c->type == LH_PQ_INT64 || c->type == LH_PQ_DOUBLE) {
        /* Legacy min/max use signed order, which is right for these types. */
        st->has_min = st->has_max = true;
        lh_buf_append(&st->min, st->min_value.data, st->min_value.len);
        lh_buf_append(&st->max, st->max_value.data, st->max_value.len);
    }
}

void lh_pq_wcol_index_page(lh_pq_wcol *c, int64_t rel, int32_t size, size_t values, size_t trunc)
{
    size_t i = c->oidx.num_pages;
    if (i == c->pidx_cap) {
        size_t cap = c->pidx_cap ? c->pidx_cap * 2 : 16;
        c->oidx.pages = lh_realloc(c->oidx.pages, cap * sizeof *c->oidx.pages);
        c->cidx.null_pages = lh_realloc(c->cidx.null_pages, cap * sizeof *c->cidx.null_pages);
        c->cidx.min_values = lh_realloc(c->cidx.min_values, cap * sizeof *c->cidx.min_values);
        c->cidx.max_values = lh_realloc(c->cidx.max_values, cap * sizeof *c->cidx.max_values);
        c->cidx.null_counts = lh_realloc(c->cidx.null_counts, cap * sizeof *c->cidx.null_counts);
        c->pidx_cap = cap;
    }
    c->oidx.pages[i] = (lh_pq_page_location){rel, size, c->page_first_row};
    c->oidx.num_pages = c->cidx.num_pages = i + 1;
    lh_buf_init(&c->cidx.min_values[i]);
    lh_buf_init(&c->cidx.max_values[i]);
    /* A page of NaNs only has values but no bounds (or statistics are off
     * and the column index is not written): use the widest double bounds. */
    c->cidx.null_pages[i] = values == 0;
    c->cidx.null_counts[i] = c->p_nulls;
    if (values > 0 && c->p_has) {
        bool a, b;
        write_bounds(c, &c->pmin, &c->pmax, trunc, &c->cidx.min_values[i], &c->cidx.max_values[i],
                     &a, &b);
    } else if (values > 0) {
        static const uint8_t lo[8] = {0, 0, 0, 0, 0, 0, 0xf0, 0xff}; /* -inf */
        static const uint8_t hi[8] = {0, 0, 0, 0, 0, 0, 0xf0, 0x7f}; /* +inf */
        lh_buf_append(&c->cidx.min_values[i], lo, 8);
        lh_buf_append(&c->cidx.max_values[i], hi, 8);
    }
    if (c->p_has && c->spec.statistics) {
        update_bounds(c, &c->has_minmax, &c->smin, &c->smax, c->pmin.data, c->pmin.len);
        update_bounds(c, &c->has_minmax, &c->smin, &c->smax, c->pmax.data, c->pmax.len);
    }
    c->p_has = false;
    c->p_nulls = 0;
    c->page_first_row = c->chunk_rows;
    c->last_idx = -1;
}

/* Boundary order of the page index bounds (null pages skipped). */
void lh_pq_wcol_index_finish(lh_pq_wcol *c)
{
    bool asc = true, desc = true;
    const lh_pq_column_index *x = &c->cidx;
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < x->num_pages; i++) {
        if (x->null_pages[i]) continue;
        if (prev != SIZE_MAX) {
            int lo = cmp_values(c, x->min_values[prev].data, x->min_values[prev].len,
                                x->min_values[i].data, x->min_values[i].len);
            int hi = cmp_values(c, x->max_values[prev].data, x->max_values[prev].len,
                                x->max_values[i].data, x->max_values[i].len);
            if (lo > 0 || hi > 0) asc = false;
            if (lo < 0 || hi < 0) desc = false;
        }
        prev = i;
    }
    c->cidx.boundary_order = asc ? LH_PQ_ASCENDING : desc ? LH_PQ_DESCENDING : LH_PQ_UNORDERED;
}
