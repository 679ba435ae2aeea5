/* Parquet reader: footer, schema tree (leaf paths and max levels), accessors,
 * row-group pruning. Page decoding lives in pq_read_chunk.c. */
#include <stdlib.h>
#include <string.h>

#include "format/pq_reader_int.h"
#include "lh/core/hash.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/format/pq_bloom.h"

#define SCHEMA_MAX_DEPTH 64

void lh_pq_column_init(lh_pq_column *c)
{
    memset(c, 0, sizeof *c);
    lh_buf_init(&c->bytes);
}

void lh_pq_column_free(lh_pq_column *c)
{
    free(c->def_levels);
    free(c->rep_levels);
    free(c->values);
    free(c->offsets);
    free(c->dict_idx);
    lh_buf_free(&c->bytes);
    memset(c, 0, sizeof *c);
}

lh_status lh_pq_reader_bytes(lh_pq_reader *r, uint64_t off, size_t n, lh_buf *buf,
                             const uint8_t **out, lh_error *err)
{
    if (off > r->size || n > r->size - off)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: range %llu+%zu outside the file (%llu bytes)",
                            r->name, (unsigned long long)off, n, (unsigned long long)r->size);
    if (r->mem) {
        *out = r->mem + off;
        return LH_OK;
    }
    if (!r->sr)
        return lh_error_set(err, LH_ERR_INTERNAL, "%s: read after the file was released", r->name);
    lh_buf_reset(buf);
    lh_buf_reserve(buf, n);
    lh_status rc = lh_storage_reader_pread(r->sr, off, buf->data, n, err);
    if (rc != LH_OK) return lh_error_prefix(err, "%s", r->name);
    buf->len = n;
    *out = (const uint8_t *)buf->data;
    return LH_OK;
}

static bool is_timestamp(const lh_pq_schema_element *e, int *unit)
{
    if (e->logical.kind == LH_PQ_LT_TIMESTAMP) {
        *unit = e->logical.unit;
        return true;
    }
    if (e->logical.kind == LH_PQ_LT_NONE) {
        if (e->converted_type == LH_PQ_CT_TIMESTAMP_MILLIS) {
            *unit = LH_PQ_MILLIS;
            return true;
        }
        if (e->converted_type == LH_PQ_CT_TIMESTAMP_MICROS) {
            *unit = LH_PQ_MICROS;
            return true;
        }
    }
    return false;
}

typedef struct schema_walk {
    lh_pq_reader *r;
    size_t next;        /* next schema element to visit */
    size_t cap;
    lh_error *err;
} schema_walk;

static lh_status walk(schema_walk *w, const char *prefix, int depth, int16_t def, int16_t rep)
{
    lh_pq_reader *r = w->r;
    const lh_pq_file_meta *m = &r->meta;
    if (w->next >= m->num_schema)
        return lh_error_set(w->err, LH_ERR_CORRUPT, "%s: schema ends inside a group", r->name);
    if (depth > SCHEMA_MAX_DEPTH)
        return lh_error_set(w->err, LH_ERR_CORRUPT, "%s: schema nested too deep", r->name);
    size_t idx = w->next++;
    const lh_pq_schema_element *e = &m->schema[idx];
    if (e->has_repetition && e->repetition != LH_PQ_REQUIRED) def++;
    if (e->has_repetition && e->repetition == LH_PQ_REPEATED) rep++;
    char *path = prefix[0] ? lh_asprintf("%s.%s", prefix, e->name) : lh_strdup(e->name);
    lh_status rc = LH_OK;
    if (e->has_type) {
        if (e->num_children > 0) {
            rc = lh_error_set(w->err, LH_ERR_CORRUPT, "%s: schema leaf %s has children",
                              r->name, path);
            goto out;
        }
        if (r->num_leaves == w->cap)
            r->leaves = lh_grow(r->leaves, &w->cap, r->num_leaves + 1, sizeof *r->leaves);
        lh_pq_leaf_int *l = &r->leaves[r->num_leaves++];
        memset(l, 0, sizeof *l);
        l->pub.name = e->name;
        l->pub.path = path;
        path = NULL;
        l->pub.type = e->type;
        l->pub.element = e;
        l->pub.max_def = def;
        l->pub.max_rep = rep;
        l->schema_index = idx;
        int unit;
        if (e->type == LH_PQ_INT64 && is_timestamp(e, &unit) &&
            (unit == LH_PQ_MILLIS || unit == LH_PQ_NANOS))
            l->ts_unit = unit;
        l->is_string = e->logical.kind == LH_PQ_LT_STRING || e->logical.kind == LH_PQ_LT_JSON ||
                       e->logical.kind == LH_PQ_LT_ENUM || e->converted_type == LH_PQ_CT_UTF8 ||
                       e->converted_type == 4 /* ENUM */ || e->converted_type == 19 /* JSON */;
        if (e->type == LH_PQ_FIXED_LEN_BYTE_ARRAY && e->type_length < 0) {
            rc = lh_error_set(w->err, LH_ERR_CORRUPT, "%s: leaf %s has a negative type_length",
                              r->name, l->pub.path);
        }
        goto out;
    }
    if (e->num_children <= 0) {
        rc = lh_error_set(w->err, LH_ERR_UNSUPPORTED, "%s: schema element %s is an empty group",
                          r->name, path);
        goto out;
    }
    for (int32_t c = 0; c < e->num_children && rc == LH_OK; c++)
        rc = walk(w, path, depth + 1, def, rep);
out:
    free(path);
    return rc;
}

static lh_status build_schema(lh_pq_reader *r, lh_error *err)
{
    const lh_pq_file_meta *m = &r->meta;
    const lh_pq_schema_element *root = &m->schema[0];
    if (root->has_type)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: schema root is not a group", r->name);
    schema_walk w = {.r = r, .next = 1, .err = err};
    for (int32_t c = 0; c < root->num_children; c++) LH_TRY(walk(&w, "", 1, 0, 0));
    if (w.next != m->num_schema)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: schema has %zu elements, tree uses %zu",
                            r->name, m->num_schema, w.next);
    return LH_OK;
}

/* A decoded row group against the schema. */
static lh_status check_row_group(const lh_pq_reader *r, size_t g, const lh_pq_row_group *rg,
                                 lh_error *err)
{
    if (rg->num_columns != r->num_leaves)
        return lh_error_set(err, LH_ERR_CORRUPT,
                            "%s: row group %zu has %zu columns, schema has %zu leaves",
                            r->name, g, rg->num_columns, r->num_leaves);
    if (rg->num_rows != r->spans[g].num_rows)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: row group %zu: num_rows changed on decoding",
                            r->name, g);
    for (size_t c = 0; c < rg->num_columns; c++) {
        const lh_pq_column_chunk *cc = &rg->columns[c];
        if (cc->file_path && cc->file_path[0])
            return lh_error_set(err, LH_ERR_UNSUPPORTED,
                                "%s: row group %zu column %s lives in another file",
                                r->name, g, r->leaves[c].pub.path);
        if (cc->meta_data.type != r->leaves[c].pub.type)
            return lh_error_set(err, LH_ERR_CORRUPT,
                                "%s: row group %zu column %s: chunk type %d != schema type %d",
                                r->name, g, r->leaves[c].pub.path, (int)cc->meta_data.type,
                                (int)r->leaves[c].pub.type);
    }
    return LH_OK;
}

lh_status lh_pq_reader_row_group(lh_pq_reader *r, size_t rg, const lh_pq_row_group **out,
                                 lh_error *err)
{
    *out = NULL;
    if (rg >= r->num_rgs)
        return lh_error_set(err, LH_ERR_INVALID, "%s: no row group %zu (%zu in the file)", r->name,
                            rg, r->num_rgs);
    lh_pq_row_group *g = &r->rgs[rg];
    if (!r->rg_ready[rg]) {
        const lh_pq_row_group_span *sp = &r->spans[rg];
        lh_status rc = lh_pq_row_group_read_lean(r->footer + sp->offset, sp->len, g, err);
        if (rc != LH_OK) lh_error_prefix(err, "%s: footer: row group %zu", r->name, rg);
        else rc = check_row_group(r, rg, g, err);
        if (rc != LH_OK) {
            lh_pq_row_group_free(g);
            return rc;
        }
        r->rg_ready[rg] = true;
    }
    *out = g;
    return LH_OK;
}

static lh_pq_reader *reader_new(const char *name)
{
    lh_pq_reader *r = lh_calloc(1, sizeof *r);
    r->name = lh_strdup(name ? name : "(parquet)");
    lh_pq_file_meta_init(&r->meta);
    r->max_levels = LH_PQ_DEFAULT_MAX_LEVELS;
    r->max_bytes = LH_PQ_DEFAULT_MAX_BYTES;
    lh_pq_column_init(&r->dict);
    return r;
}

/* Check magic numbers and parse the footer. */
static lh_status reader_load(lh_pq_reader *r, lh_error *err)
{
    if (r->size < 12)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: %llu bytes is too small for parquet",
                            r->name, (unsigned long long)r->size);
    lh_buf tmp = LH_BUF_INIT;
    const uint8_t *p = NULL;
    lh_status rc = lh_pq_reader_bytes(r, r->size - 8, 8, &tmp, &p, err);
    if (rc != LH_OK) goto out;
    if (memcmp(p + 4, "PARE", 4) == 0) {
        rc = lh_error_set(err, LH_ERR_UNSUPPORTED, "%s: encrypted parquet footer", r->name);
        goto out;
    }
    if (memcmp(p + 4, "PAR1", 4) != 0) {
        rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: no PAR1 magic at the end", r->name);
        goto out;
    }
    uint64_t flen = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                    (uint64_t)p[3] << 24;
    if (flen > r->size - 12) {
        rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: footer length %llu exceeds the file",
                          r->name, (unsigned long long)flen);
        goto out;
    }
    r->data_end = r->size - 8 - flen;
    rc = lh_pq_reader_bytes(r, 0, 4, &tmp, &p, err);
    if (rc != LH_OK) goto out;
    if (memcmp(p, "PAR1", 4) != 0) {
        rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: no PAR1 magic at the start", r->name);
        goto out;
    }
    /* kept: row groups are decoded from it when first used */
    rc = lh_pq_reader_bytes(r, r->data_end, (size_t)flen, &r->footer_buf, &r->footer, err);
    if (rc != LH_OK) goto out;
    rc = lh_pq_file_meta_read_deferred(r->footer, (size_t)flen, &r->meta, &r->spans, &r->num_rgs,
                                       err);
    if (rc != LH_OK) {
        lh_error_prefix(err, "%s: footer", r->name);
        goto out;
    }
    r->rgs = lh_calloc(r->num_rgs ? r->num_rgs : 1, sizeof *r->rgs);
    r->rg_ready = lh_calloc(r->num_rgs ? r->num_rgs : 1, sizeof *r->rg_ready);
    rc = build_schema(r, err);
out:
    lh_buf_free(&tmp);
    return rc;
}

lh_status lh_pq_reader_open_mem(const void *data, size_t len, const char *name,
                                lh_pq_reader **out, lh_error *err)
{
    *out = NULL;
    lh_pq_reader *r = reader_new(name);
    r->mem = data;
    r->size = len;
    lh_status rc = reader_load(r, err);
    if (rc != LH_OK) {
        lh_pq_reader_free(r);
        return rc;
    }
    *out = r;
    return LH_OK;
}

lh_status lh_pq_reader_open(lh_storage *st, const char *key, lh_pq_reader **out, lh_error *err)
{
    *out = NULL;
    lh_pq_reader *r = reader_new(key);
    lh_status rc = lh_storage_reader_open(st, key, &r->sr, err);
    if (rc == LH_OK) {
        r->size = lh_storage_reader_size(r->sr);
        rc = reader_load(r, err);
    }
    if (rc != LH_OK) {
        lh_pq_reader_free(r);
        return rc;
    }
    *out = r;
    return LH_OK;
}

void lh_pq_reader_release(lh_pq_reader *r)
{
    if (r->sr) lh_storage_reader_free(r->sr);
    r->sr = NULL;
}

void lh_pq_reader_free(lh_pq_reader *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->num_leaves; i++) free((char *)r->leaves[i].pub.path);
    free(r->leaves);
    lh_pq_file_meta_free(&r->meta);
    for (size_t i = 0; r->rgs && i < r->num_rgs; i++) lh_pq_row_group_free(&r->rgs[i]);
    free(r->rgs);
    free(r->rg_ready);
    free(r->spans);
    lh_buf_free(&r->footer_buf);
    if (r->sr) lh_storage_reader_free(r->sr);
    lh_buf_free(&r->chunk);
    lh_buf_free(&r->page);
    lh_pq_column_free(&r->dict);
    free(r->u32);
    free(r->u64);
    free(r->u64b);
    free(r->name);
    free(r);
}

void lh_pq_reader_set_limits(lh_pq_reader *r, size_t max_levels, size_t max_bytes)
{
    if (max_levels) r->max_levels = max_levels;
    if (max_bytes) r->max_bytes = max_bytes;
}

const lh_pq_file_meta *lh_pq_reader_meta(const lh_pq_reader *r) { return &r->meta; }
size_t lh_pq_reader_num_leaves(const lh_pq_reader *r) { return r->num_leaves; }

const lh_pq_leaf *lh_pq_reader_leaf(const lh_pq_reader *r, size_t i)
{
    return i < r->num_leaves ? &r->leaves[i].pub : NULL;
}

int lh_pq_reader_find(const lh_pq_reader *r, const char *path)
{
    for (size_t i = 0; i < r->num_leaves; i++)
        if (strcmp(r->leaves[i].pub.path, path) == 0) return (int)i;
    int found = -1;
    for (size_t i = 0; i < r->num_leaves; i++) {
        if (strcmp(r->leaves[i].pub.name, path) == 0) {
            if (found >= 0) return -1; /* ambiguous */
            found = (int)i;
        }
    }
    return found;
}

size_t lh_pq_reader_num_row_groups(const lh_pq_reader *r) { return r->num_rgs; }

int64_t lh_pq_reader_row_group_rows(const lh_pq_reader *r, size_t rg)
{
    return rg < r->num_rgs ? r->spans[rg].num_rows : 0;
}

lh_status lh_pq_reader_chunk(lh_pq_reader *r, size_t rg, size_t leaf,
                             const lh_pq_row_group **g, lh_error *err)
{
    LH_TRY(lh_pq_reader_row_group(r, rg, g, err));
    if (leaf >= r->num_leaves)
        return lh_error_set(err, LH_ERR_INVALID, "%s: no leaf %zu", r->name, leaf);
    return LH_OK;
}

lh_status lh_pq_reader_stats(lh_pq_reader *r, size_t rg, size_t leaf,
                             const lh_pq_statistics **out, lh_error *err)
{
    *out = NULL;
    const lh_pq_row_group *g;
    LH_TRY(lh_pq_reader_chunk(r, rg, leaf, &g, err));
    const lh_pq_column_meta *cm = &g->columns[leaf].meta_data;
    if (cm->has_statistics) *out = &cm->statistics;
    return LH_OK;
}

/* Read and parse one page-index struct of a chunk at [off, off + len). */
static lh_status index_bytes(lh_pq_reader *r, int64_t off, int32_t len, lh_buf *tmp,
                             const uint8_t **p, lh_error *err)
{
    if (off < 4 || len <= 0 || (uint64_t)off > r->data_end ||
        (uint64_t)len > r->data_end - (uint64_t)off)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: page index at %lld+%d outside the data area",
                            r->name, (long long)off, (int)len);
    return lh_pq_reader_bytes(r, (uint64_t)off, (size_t)len, tmp, p, err);
}

/* The page index agrees with itself and with the row group. */
static lh_status check_page_index(const lh_pq_reader *r, size_t rg, size_t leaf,
                                  const lh_pq_column_index *ci, const lh_pq_offset_index *oi,
                                  int64_t nrows, lh_error *err)
{
    const char *why = NULL;
    if (ci->num_pages != oi->num_pages) why = "column and offset index differ in page count";
    for (size_t i = 0; !why && i < oi->num_pages; i++) {
        int64_t f = oi->pages[i].first_row_index;
        if (i == 0 ? f != 0 : f <= oi->pages[i - 1].first_row_index || f >= nrows)
            why = "page first rows do not ascend from 0 within the row group";
    }
    if (!why) return LH_OK;
    return lh_error_set(err, LH_ERR_CORRUPT, "%s: row group %zu, column %s: %s", r->name, rg,
                        r->leaves[leaf].pub.path, why);
}

lh_status lh_pq_reader_page_index(lh_pq_reader *r, size_t rg, size_t leaf,
                                  lh_pq_column_index *ci, lh_pq_offset_index *oi, bool *has,
                                  lh_error *err)
{
    memset(ci, 0, sizeof *ci);
    memset(oi, 0, sizeof *oi);
    *has = false;
    const lh_pq_row_group *g;
    LH_TRY(lh_pq_reader_chunk(r, rg, leaf, &g, err));
    const lh_pq_column_chunk *cc = &g->columns[leaf];
    if (!cc->has_column_index || !cc->has_offset_index) return LH_OK;
    lh_buf tmp = LH_BUF_INIT;
    const uint8_t *p;
    lh_status rc = index_bytes(r, cc->column_index_offset, cc->column_index_length, &tmp, &p, err);
    if (rc == LH_OK) rc = lh_pq_column_index_read(p, (size_t)cc->column_index_length, ci, err);
    if (rc == LH_OK)
        rc = index_bytes(r, cc->offset_index_offset, cc->offset_index_length, &tmp, &p, err);
    if (rc == LH_OK) rc = lh_pq_offset_index_read(p, (size_t)cc->offset_index_length, oi, err);
    if (rc != LH_OK)
        lh_error_prefix(err, "%s: row group %zu, column %s: page index", r->name, rg,
                        r->leaves[leaf].pub.path);
    if (rc == LH_OK) rc = check_page_index(r, rg, leaf, ci, oi, g->num_rows, err);
    lh_buf_free(&tmp);
    if (rc != LH_OK) {
        lh_pq_column_index_free(ci);
        lh_pq_offset_index_free(oi);
        return rc;
    }
    *has = true;
    return LH_OK;
}

/* ---- pruning ---- */

static int64_t le_i64(const void *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)((const uint8_t *)p)[i] << (8 * i);
    if (n == 4) return (int64_t)(int32_t)(uint32_t)v;
    return (int64_t)v;
}

static double le_double(const void *p, size_t n)
{
    if (n == 4) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    double d;
    memcpy(&d, p, 8);
    return d;
}

/* Convert a stored timestamp bound to micros (floor), as read_column does. */
static int64_t ts_micros(int unit, int64_t v)
{
    if (unit == LH_PQ_MILLIS) return (int64_t)((uint64_t)v * 1000u);
    if (unit == LH_PQ_NANOS) return v / 1000 - (v % 1000 < 0);
    return v;
}

/* -1: value below min, 1: above max, 0: within or unknown. */
static int outside_bounds(const lh_pq_leaf_int *l, const lh_pq_statistics *s, const void *value,
                          size_t len)
{
    const lh_pq_schema_element *e = l->pub.element;
    const lh_buf *mn = NULL, *mx = NULL;
    /* min_value/max_value use the column order; legacy min/max are signed
     * and only trusted for signed numeric types. */
    if (s->has_min_value) mn = &s->min_value;
    if (s->has_max_value) mx = &s->max_value;
    bool numeric = l->pub.type == LH_PQ_INT32 || l->pub.type == LH_PQ_INT64 ||
                   l->pub.type == LH_PQ_FLOAT || l->pub.type == LH_PQ_DOUBLE;
    if (numeric && !mn && s->has_min) mn = &s->min;
    if (numeric && !mx && s->has_max) mx = &s->max;
    bool unsigned_int = (e->logical.kind == LH_PQ_LT_INTEGER && !e->logical.is_signed) ||
                        (e->converted_type >= 11 && e->converted_type <= 14);
    switch (l->pub.type) {
    case LH_PQ_BYTE_ARRAY:
    case LH_PQ_FIXED_LEN_BYTE_ARRAY:
        if (e->logical.kind == LH_PQ_LT_DECIMAL || e->converted_type == 5) return 0;
        if (mn && lh_bytes_cmp(value, len, mn->data, mn->len) < 0) return -1;
        if (mx && lh_bytes_cmp(value, len, mx->data, mx->len) > 0) return 1;
        return 0;
    case LH_PQ_INT32:
    case LH_PQ_INT64: {
        size_t w = l->pub.type == LH_PQ_INT32 ? 4 : 8;
        if (unsigned_int || len != w) return 0;
        int64_t v = le_i64(value, len);
        if (mn && mn->len == w && v < ts_micros(l->ts_unit, le_i64(mn->data, w))) return -1;
        if (mx && mx->len == w && v > ts_micros(l->ts_unit, le_i64(mx->data, w))) return 1;
        return 0;
    }
    case LH_PQ_FLOAT:
    case LH_PQ_DOUBLE: {
        size_t w = l->pub.type == LH_PQ_FLOAT ? 4 : 8;
        if (len != w) return 0;
        double v = le_double(value, w);
        if (v != v) return 0;
        if (mn && mn->len == w) {
            double b = le_double(mn->data, w);
            if (b == b && v < b) return -1;
        }
        if (mx && mx->len == w) {
            double b = le_double(mx->data, w);
            if (b == b && v > b) return 1;
        }
        return 0;
    }
    case LH_PQ_BOOLEAN:
        if (len != 1) return 0;
        if (mn && mn->len == 1 && ((const uint8_t *)value)[0] < (uint8_t)mn->data[0]) return -1;
        if (mx && mx->len == 1 && ((const uint8_t *)value)[0] > (uint8_t)mx->data[0]) return 1;
        return 0;
    default: return 0; /* INT96: statistics order undefined */
    }
}

static lh_status bloom_check(lh_pq_reader *r, size_t rg, size_t leaf, const lh_pq_column_meta *cm,
                             const void *value, size_t len, bool *may, lh_error *err)
{
    if (cm->bloom_filter_offset < 4 || (uint64_t)cm->bloom_filter_offset >= r->data_end)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: row group %zu, column %s: bloom filter offset %lld outside the data area",
                            r->name, rg, r->leaves[leaf].pub.path, (long long)cm->bloom_filter_offset);
    uint64_t off = (uint64_t)cm->bloom_filter_offset;
    /* header is small; read at most 256 bytes of it unless the length is known */
    uint64_t avail = r->data_end - off;
    size_t hlen = cm->bloom_filter_length > 0 && (uint64_t)cm->bloom_filter_length <= avail
                      ? (size_t)cm->bloom_filter_length
                      : (size_t)(avail < 256 ? avail : 256);
    lh_buf tmp = LH_BUF_INIT;
    const uint8_t *p;
    lh_status rc = lh_pq_reader_bytes(r, off, hlen, &tmp, &p, err);
    lh_pq_bloom_header h = {0};
    size_t used = 0;
    if (rc == LH_OK) rc = lh_pq_bloom_header_read(p, hlen, &h, &used, err);
    if (rc == LH_OK) {
        if ((uint64_t)h.num_bytes > avail - used || h.num_bytes % 32 || h.num_bytes == 0 ||
            (size_t)h.num_bytes > LH_PQ_BLOOM_MAX_BYTES) {
            rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: row group %zu, column %s: bloom filter of %d bytes does not fit",
                              r->name, rg, r->leaves[leaf].pub.path, h.num_bytes);
        } else {
            lh_buf bits = LH_BUF_INIT;
            rc = lh_pq_reader_bytes(r, off + used, (size_t)h.num_bytes, &bits, &p, err);
            if (rc == LH_OK)
                *may = lh_pq_bloom_check_bits(p, (size_t)h.num_bytes, lh_pq_bloom_hash(value, len));
            lh_buf_free(&bits);
        }
    } else if (rc == LH_ERR_UNSUPPORTED) {
        rc = LH_OK; /* unknown filter kind: cannot prune */
    } else {
        lh_error_prefix(err, "%s: row group %zu, column %s: bloom filter", r->name, rg,
                        r->leaves[leaf].pub.path);
    }
    lh_buf_free(&tmp);
    return rc;
}

lh_status lh_pq_reader_may_contain(lh_pq_reader *r, size_t rg, size_t leaf, const void *value,
                                   size_t len, bool *may_contain, lh_error *err)
{
    *may_contain = true;
    const lh_pq_row_group *g;
    LH_TRY(lh_pq_reader_chunk(r, rg, leaf, &g, err));
    const lh_pq_column_meta *cm = &g->columns[leaf].meta_data;
    const lh_pq_leaf_int *l = &r->leaves[leaf];
    if (g->num_rows == 0) {
        *may_contain = false;
        return LH_OK;
    }
    if (cm->has_statistics) {
        const lh_pq_statistics *s = &cm->statistics;
        if (l->pub.max_rep == 0 && s->has_null_count && s->null_count == g->num_rows) {
            *may_contain = false; /* all null: equality never holds */
            return LH_OK;
        }
        if (outside_bounds(l, s, value, len) != 0) {
            *may_contain = false;
            return LH_OK;
        }
    }
    /* The filter hashes stored values; converted timestamps are not those. */
    if (cm->has_bloom_filter && !l->ts_unit && l->pub.type != LH_PQ_INT96)
        return bloom_check(r, rg, leaf, cm, value, len, may_contain, err);
    return LH_OK;
}
