/* Parquet page indexes (OffsetIndex, ColumnIndex), page headers and bloom
 * filter headers from their Thrift compact bytes. */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "pq_meta_int.h"

/* ---------------- page index ---------------- */

static lh_status f_page_location(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_page_location *p = obj;
    F_I64(1, &p->offset);
    F_I32(2, &p->compressed_page_size);
    F_I64(3, &p->first_row_index);
    return LH_OK;
}

static lh_status f_offset_index(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_offset_index *x = obj;
    if (id == 1 && type == T_LIST) {
        *handled = true;
        return lh_tc_struct_list(t, "PageLocation", (void **)&x->pages, &x->num_pages,
                                 sizeof *x->pages, NULL, f_page_location);
    }
    return LH_OK;
}

lh_status lh_pq_offset_index_read(const uint8_t *data, size_t len, lh_pq_offset_index *x,
                                  lh_error *err)
{
    memset(x, 0, sizeof *x);
    tc t;
    lh_tc_begin(&t, data, len, false, err);
    return lh_tc_struct(&t, "OffsetIndex", f_offset_index, x);
}

typedef struct ci_parse {
    lh_pq_column_index *x;
    bool seen[6];
    bool have_pages; /* x->num_pages set by the first list */
} ci_parse;

/* A list field of the column index: its length must be the page count
 * (set by the first list read). */
static lh_status ci_list(tc *t, ci_parse *cp, int id, int want, size_t *n)
{
    int et = 0;
    LH_TRY(tc_list(t, &et, n));
    if (*n && et != want && !(want == T_TRUE && et == T_FALSE))
        return tc_fail(t, "list of the wrong element type");
    if (cp->seen[id]) return tc_fail(t, "duplicate list field");
    cp->seen[id] = true;
    if (cp->have_pages && *n != cp->x->num_pages)
        return tc_fail(t, "list length differs from the page count");
    cp->have_pages = true;
    cp->x->num_pages = *n;
    return LH_OK;
}

static lh_status f_column_index(tc *t, int id, int type, void *obj, bool *handled)
{
    ci_parse *cp = obj;
    lh_pq_column_index *x = cp->x;
    size_t n = 0;
    if (id == 1 && type == T_LIST) {
        *handled = true;
        LH_TRY(ci_list(t, cp, 1, T_TRUE, &n));
        x->null_pages = lh_calloc(n ? n : 1, sizeof *x->null_pages);
        for (size_t i = 0; i < n; i++) {
            uint8_t b = 0;
            LH_TRY(tc_u8(t, &b));
            x->null_pages[i] = b == 1; /* list bools: 1 true, 2 (or 0) false */
        }
        return LH_OK;
    }
    if ((id == 2 || id == 3) && type == T_LIST) {
        *handled = true;
        LH_TRY(ci_list(t, cp, id, T_BINARY, &n));
        lh_buf *b = lh_calloc(n ? n : 1, sizeof *b);
        if (id == 2) x->min_values = b;
        else x->max_values = b;
        for (size_t i = 0; i < n; i++) LH_TRY(lh_tc_bytes(t, &b[i]));
        return LH_OK;
    }
    if (id == 4 && type == T_I32) {
        *handled = true;
        int32_t v = 0;
        LH_TRY(tc_i32(t, &v));
        x->boundary_order = v == 1 ? LH_PQ_ASCENDING : v == 2 ? LH_PQ_DESCENDING : LH_PQ_UNORDERED;
        return LH_OK;
    }
    if (id == 5 && type == T_LIST) {
        *handled = true;
        LH_TRY(ci_list(t, cp, 5, T_I64, &n));
        x->null_counts = lh_calloc(n ? n : 1, sizeof *x->null_counts);
        for (size_t i = 0; i < n; i++) LH_TRY(tc_i64(t, &x->null_counts[i]));
        return LH_OK;
    }
    return LH_OK;
}

lh_status lh_pq_column_index_read(const uint8_t *data, size_t len, lh_pq_column_index *x,
                                  lh_error *err)
{
    memset(x, 0, sizeof *x);
    tc t;
    lh_tc_begin(&t, data, len, false, err);
    ci_parse cp = {x, {false}, false};
    LH_TRY(lh_tc_struct(&t, "ColumnIndex", f_column_index, &cp));
    if (!cp.seen[1] || !cp.seen[2] || !cp.seen[3])
        return lh_error_set(err, LH_ERR_CORRUPT,
                            "ColumnIndex lacks null_pages, min_values or max_values");
    return LH_OK;
}

/* ---------------- page headers ---------------- */

static lh_status f_data_page(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_data_page_header *h = obj;
    int32_t v = 0;
    F_I32(1, &h->num_values);
    if (type == T_I32 && id >= 2 && id <= 4) {
        *handled = true;
        LH_TRY(tc_i32(t, &v));
        if (id == 2) h->encoding = (lh_pq_encoding)v;
        else if (id == 3) h->definition_level_encoding = (lh_pq_encoding)v;
        else h->repetition_level_encoding = (lh_pq_encoding)v;
        return LH_OK;
    }
    if (id == 5 && type == T_STRUCT) {
        *handled = true;
        h->has_statistics = true;
        return lh_tc_struct(t, "Statistics", lh_pq_tc_statistics, &h->statistics);
    }
    return LH_OK;
}

static lh_status f_dict_page(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_dictionary_page_header *h = obj;
    F_I32(1, &h->num_values);
    if (id == 2 && type == T_I32) {
        *handled = true;
        int32_t v = 0;
        LH_TRY(tc_i32(t, &v));
        h->encoding = (lh_pq_encoding)v;
        return LH_OK;
    }
    if (id == 3 && is_bool(type)) {
        *handled = true;
        h->has_is_sorted = true;
        h->is_sorted = type == T_TRUE;
    }
    return LH_OK;
}

static lh_status f_data_page_v2(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_data_page_header_v2 *h = obj;
    F_I32(1, &h->num_values);
    F_I32(2, &h->num_nulls);
    F_I32(3, &h->num_rows);
    if (id == 4 && type == T_I32) {
        *handled = true;
        int32_t v = 0;
        LH_TRY(tc_i32(t, &v));
        h->encoding = (lh_pq_encoding)v;
        return LH_OK;
    }
    F_I32(5, &h->definition_levels_byte_length);
    F_I32(6, &h->repetition_levels_byte_length);
    F_BOOL(7, &h->is_compressed);
    if (id == 8 && type == T_STRUCT) {
        *handled = true;
        h->has_statistics = true;
        return lh_tc_struct(t, "Statistics", lh_pq_tc_statistics, &h->statistics);
    }
    return LH_OK;
}

typedef struct page_seen {
    lh_pq_page_header *h;
    bool type, usize, csize;
} page_seen;

static lh_status f_page_header(tc *t, int id, int type, void *obj, bool *handled)
{
    page_seen *ps = obj;
    lh_pq_page_header *h = ps->h;
    int32_t v = 0;
    if (type == T_I32 && id >= 1 && id <= 4) {
        *handled = true;
        LH_TRY(tc_i32(t, &v));
        switch (id) {
        case 1: h->type = (lh_pq_page_type)v; ps->type = true; break;
        case 2: h->uncompressed_page_size = v; ps->usize = true; break;
        case 3: h->compressed_page_size = v; ps->csize = true; break;
        default: h->has_crc = true; h->crc = v; break;
        }
        return LH_OK;
    }
    if (type != T_STRUCT) return LH_OK;
    switch (id) {
    case 5:
        *handled = true;
        h->has_data_page_header = true;
        return lh_tc_struct(t, "DataPageHeader", f_data_page, &h->data_page_header);
    case 7:
        *handled = true;
        h->has_dictionary_page_header = true;
        return lh_tc_struct(t, "DictionaryPageHeader", f_dict_page, &h->dictionary_page_header);
    case 8:
        *handled = true;
        h->has_data_page_header_v2 = true;
        h->data_page_header_v2.is_compressed = true; /* default when absent */
        return lh_tc_struct(t, "DataPageHeaderV2", f_data_page_v2, &h->data_page_header_v2);
    default: return LH_OK;
    }
}

lh_status lh_pq_page_header_read(const uint8_t *data, size_t len, lh_pq_page_header *h,
                                 size_t *used, lh_error *err)
{
    tc t;
    lh_tc_begin(&t, data, len, false, err);
    page_seen ps = {.h = h};
    LH_TRY(lh_tc_struct(&t, "PageHeader", f_page_header, &ps));
    if (!ps.type || !ps.usize || !ps.csize)
        return lh_error_set(err, LH_ERR_CORRUPT, "PageHeader lacks type or sizes");
    if (h->uncompressed_page_size < 0 || h->compressed_page_size < 0)
        return lh_error_set(err, LH_ERR_CORRUPT, "PageHeader has a negative page size");
    if (used) *used = (size_t)(t.p - t.start);
    return LH_OK;
}

/* ---------------- bloom filter header ---------------- */

typedef struct bloom_seen {
    lh_pq_bloom_header *h;
    bool num_bytes, algorithm_ok, hash_ok, compression_ok;
} bloom_seen;

/* Union whose only known member (id 1) must be present. */
static lh_status f_union_member1(tc *t, int id, int type, void *obj, bool *handled)
{
    if (id == 1 && type == T_STRUCT) *(bool *)obj = true;
    return LH_OK;
}

static lh_status f_bloom(tc *t, int id, int type, void *obj, bool *handled)
{
    bloom_seen *bs = obj;
    if (id == 1 && type == T_I32) {
        *handled = true;
        bs->num_bytes = true;
        return tc_i32(t, &bs->h->num_bytes);
    }
    if (type == T_STRUCT && id >= 2 && id <= 4) {
        *handled = true;
        bool *ok = id == 2 ? &bs->algorithm_ok : id == 3 ? &bs->hash_ok : &bs->compression_ok;
        return lh_tc_struct(t, "BloomFilterHeader", f_union_member1, ok);
    }
    return LH_OK;
}

lh_status lh_pq_bloom_header_read(const uint8_t *data, size_t len, lh_pq_bloom_header *h,
                                  size_t *used, lh_error *err)
{
    tc t;
    lh_tc_begin(&t, data, len, false, err);
    bloom_seen bs = {.h = h};
    LH_TRY(lh_tc_struct(&t, "BloomFilterHeader", f_bloom, &bs));
    if (!bs.num_bytes || h->num_bytes < 0)
        return lh_error_set(err, LH_ERR_CORRUPT, "BloomFilterHeader lacks numBytes");
    if (!bs.algorithm_ok || !bs.hash_ok || !bs.compression_ok)
        return lh_error_set(err, LH_ERR_UNSUPPORTED,
                            "bloom filter is not BLOCK/XXHASH/UNCOMPRESSED");
    if (used) *used = (size_t)(t.p - t.start);
    return LH_OK;
}
