/* Parquet file metadata (the footer) from its Thrift compact bytes: whole,
 * lean (what readers never use left out), or deferred (row groups located,
 * decoded one by one on first use). */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "pq_meta_int.h"

/* ---------------- small structs ---------------- */

static lh_status f_empty(tc *t, int id, int type, void *obj, bool *handled)
{
    return LH_OK;
}

static lh_status f_time_unit(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_time_unit *u = obj;
    if (type == T_STRUCT && id >= 1 && id <= 3) {
        *handled = true;
        *u = (lh_pq_time_unit)id;
        return lh_tc_struct(t, "TimeUnit", f_empty, NULL);
    }
    return LH_OK;
}

static lh_status f_logical_member(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_logical_type *lt = obj;
    switch (lt->kind) {
    case LH_PQ_LT_DECIMAL:
        F_I32(1, &lt->scale);
        F_I32(2, &lt->precision);
        break;
    case LH_PQ_LT_TIME:
    case LH_PQ_LT_TIMESTAMP:
        F_BOOL(1, &lt->is_adjusted_to_utc);
        if (id == 2 && type == T_STRUCT) {
            *handled = true;
            return lh_tc_struct(t, "TimeUnit", f_time_unit, &lt->unit);
        }
        break;
    case LH_PQ_LT_INTEGER:
        if (id == 1 && type == T_I8) {
            *handled = true;
            uint8_t b = 0;
            LH_TRY(tc_u8(t, &b));
            lt->bit_width = (int8_t)b;
            return LH_OK;
        }
        F_BOOL(2, &lt->is_signed);
        break;
    default: break;
    }
    return LH_OK;
}

static lh_status f_logical(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_logical_type *lt = obj;
    if (type != T_STRUCT) return LH_OK;
    *handled = true;
    /* Unknown members (FLOAT16, VARIANT, GEOMETRY, ...) are kept as UNKNOWN so
     * the caller can report "unsupported type" rather than corrupt data. */
    switch (id) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8:
    case 10: case 11: case 12: case 13: case 14:
        lt->kind = (lh_pq_logical)id;
        return lh_tc_struct(t, "LogicalType", f_logical_member, lt);
    default:
        lt->kind = LH_PQ_LT_UNKNOWN;
        return lh_tc_skip_struct(t);
    }
}

static lh_status f_schema(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_schema_element *e = obj;
    int32_t v = 0;
    if (id == 1 && type == T_I32) {
        *handled = true;
        LH_TRY(tc_i32(t, &v));
        if (v < 0 || v > 7) return tc_fail(t, "bad physical type");
        e->has_type = true;
        e->type = (lh_pq_type)v;
        return LH_OK;
    }
    F_I32(2, &e->type_length);
    if (id == 3 && type == T_I32) {
        *handled = true;
        LH_TRY(tc_i32(t, &v));
        if (v < 0 || v > 2) return tc_fail(t, "bad repetition type");
        e->has_repetition = true;
        e->repetition = (lh_pq_repetition)v;
        return LH_OK;
    }
    if (id == 4 && type == T_BINARY) {
        *handled = true;
        return lh_tc_string(t, &e->name);
    }
    F_I32(5, &e->num_children);
    F_I32(6, &e->converted_type);
    F_I32(7, &e->logical.scale);
    F_I32(8, &e->logical.precision);
    F_I32(9, &e->field_id);
    if (id == 10 && type == T_STRUCT) {
        *handled = true;
        int32_t scale = e->logical.scale, precision = e->logical.precision;
        memset(&e->logical, 0, sizeof e->logical);
        e->logical.scale = scale;
        e->logical.precision = precision;
        return lh_tc_struct(t, "LogicalType", f_logical, &e->logical);
    }
    return LH_OK;
}

static lh_status f_kv(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_kv *kv = obj;
    if (type != T_BINARY) return LH_OK;
    if (id == 1) {
        *handled = true;
        return lh_tc_string(t, &kv->key);
    }
    if (id == 2) {
        *handled = true;
        return lh_tc_string(t, &kv->value);
    }
    return LH_OK;
}

lh_status lh_pq_tc_statistics(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_statistics *s = obj;
    if (type == T_BINARY && id >= 1 && id <= 6 && id != 3 && id != 4) {
        *handled = true;
        switch (id) {
        case 1: s->has_max = true; return lh_tc_bytes(t, &s->max);
        case 2: s->has_min = true; return lh_tc_bytes(t, &s->min);
        case 5: s->has_max_value = true; return lh_tc_bytes(t, &s->max_value);
        default: s->has_min_value = true; return lh_tc_bytes(t, &s->min_value);
        }
    }
    if (type == T_I64 && id == 3) {
        *handled = true;
        s->has_null_count = true;
        return tc_i64(t, &s->null_count);
    }
    if (type == T_I64 && id == 4) {
        *handled = true;
        s->has_distinct_count = true;
        return tc_i64(t, &s->distinct_count);
    }
    if (is_bool(type) && id == 7) {
        *handled = true;
        s->has_is_max_value_exact = true;
        s->is_max_value_exact = type == T_TRUE;
    }
    if (is_bool(type) && id == 8) {
        *handled = true;
        s->has_is_min_value_exact = true;
        s->is_min_value_exact = type == T_TRUE;
    }
    return LH_OK;
}

static lh_status f_enc_stats(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_page_encoding_stats *s = obj;
    int32_t v = 0;
    if (type != T_I32) return LH_OK;
    if (id == 1) {
        *handled = true;
        LH_TRY(tc_i32(t, &v));
        s->page_type = (lh_pq_page_type)v;
    } else if (id == 2) {
        *handled = true;
        LH_TRY(tc_i32(t, &v));
        s->encoding = (lh_pq_encoding)v;
    } else if (id == 3) {
        *handled = true;
        LH_TRY(tc_i32(t, &s->count));
    }
    return LH_OK;
}

static lh_status f_column_meta(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_column_meta *m = obj;
    int32_t v = 0;
    /* encodings, path_in_schema, key-value metadata, encoding stats: a few
     * allocations per column chunk, thousands per large footer */
    if (t->lean && (id == 2 || id == 3 || id == 8 || id == 13)) return LH_OK;
    if (id == 1 && type == T_I32) {
        *handled = true;
        LH_TRY(tc_i32(t, &v));
        if (v < 0 || v > 7) return tc_fail(t, "bad physical type");
        m->type = (lh_pq_type)v;
        return LH_OK;
    }
    if (id == 2 && type == T_LIST) {
        *handled = true;
        int et = 0;
        size_t n = 0;
        LH_TRY(tc_list(t, &et, &n));
        if (n && et != T_I32) return tc_fail(t, "encodings are not i32");
        if (m->encodings) return tc_fail(t, "duplicate encodings");
        m->encodings = n ? lh_calloc(n, sizeof *m->encodings) : NULL;
        m->num_encodings = n;
        for (size_t i = 0; i < n; i++) {
            LH_TRY(tc_i32(t, &v));
            m->encodings[i] = (lh_pq_encoding)v;
        }
        return LH_OK;
    }
    if (id == 3 && type == T_LIST) {
        *handled = true;
        int et = 0;
        size_t n = 0;
        LH_TRY(tc_list(t, &et, &n));
        if (n && et != T_BINARY) return tc_fail(t, "path_in_schema is not strings");
        if (m->path_in_schema) return tc_fail(t, "duplicate path_in_schema");
        m->path_in_schema = n ? lh_calloc(n, sizeof(char *)) : NULL;
        m->path_len = n;
        for (size_t i = 0; i < n; i++) LH_TRY(lh_tc_string(t, &m->path_in_schema[i]));
        return LH_OK;
    }
    if (id == 4 && type == T_I32) {
        *handled = true;
        LH_TRY(tc_i32(t, &v));
        m->codec = (lh_pq_codec)v;
        return LH_OK;
    }
    F_I64(5, &m->num_values);
    F_I64(6, &m->total_uncompressed_size);
    F_I64(7, &m->total_compressed_size);
    if (id == 8 && type == T_LIST) {
        *handled = true;
        return lh_tc_struct_list(t, "KeyValue", (void **)&m->key_value_metadata,
                                 &m->num_key_value_metadata, sizeof(lh_pq_kv), NULL, f_kv);
    }
    F_I64(9, &m->data_page_offset);
    if (id == 10 && type == T_I64) {
        *handled = true;
        m->has_index_page_offset = true;
        return tc_i64(t, &m->index_page_offset);
    }
    if (id == 11 && type == T_I64) {
        *handled = true;
        m->has_dictionary_page_offset = true;
        return tc_i64(t, &m->dictionary_page_offset);
    }
    if (id == 12 && type == T_STRUCT) {
        *handled = true;
        m->has_statistics = true;
        return lh_tc_struct(t, "Statistics", lh_pq_tc_statistics, &m->statistics);
    }
    if (id == 13 && type == T_LIST) {
        *handled = true;
        return lh_tc_struct_list(t, "PageEncodingStats", (void **)&m->encoding_stats,
                                 &m->num_encoding_stats, sizeof(lh_pq_page_encoding_stats), NULL,
                              f_enc_stats);
    }
    if (id == 14 && type == T_I64) {
        *handled = true;
        m->has_bloom_filter = true;
        return tc_i64(t, &m->bloom_filter_offset);
    }
    F_I32(15, &m->bloom_filter_length);
    return LH_OK;
}

static lh_status f_column_chunk(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_column_chunk *c = obj;
    if (id == 1 && type == T_BINARY) {
        *handled = true;
        return lh_tc_string(t, &c->file_path);
    }
    F_I64(2, &c->file_offset);
    if (id == 3 && type == T_STRUCT) {
        *handled = true;
        c->has_meta_data = true;
        return lh_tc_struct(t, "ColumnMetaData", f_column_meta, &c->meta_data);
    }
    if (id == 4 && type == T_I64) {
        *handled = true;
        c->has_offset_index = true;
        return tc_i64(t, &c->offset_index_offset);
    }
    F_I32(5, &c->offset_index_length);
    if (id == 6 && type == T_I64) {
        *handled = true;
        c->has_column_index = true;
        return tc_i64(t, &c->column_index_offset);
    }
    F_I32(7, &c->column_index_length);
    return LH_OK;
}

static void column_chunk_init(void *p)
{
    lh_pq_column_chunk *c = p;
    lh_pq_statistics_init(&c->meta_data.statistics);
}

static lh_status f_row_group(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_row_group *g = obj;
    if (id == 1 && type == T_LIST) {
        *handled = true;
        return lh_tc_struct_list(t, "ColumnChunk", (void **)&g->columns, &g->num_columns,
                                 sizeof(lh_pq_column_chunk), column_chunk_init, f_column_chunk);
    }
    F_I64(2, &g->total_byte_size);
    F_I64(3, &g->num_rows);
    if (id == 5 && type == T_I64) {
        *handled = true;
        g->has_file_offset = true;
        return tc_i64(t, &g->file_offset);
    }
    if (id == 6 && type == T_I64) {
        *handled = true;
        g->has_total_compressed_size = true;
        return tc_i64(t, &g->total_compressed_size);
    }
    if (id == 7 && type == T_I16) {
        *handled = true;
        int32_t v = 0;
        LH_TRY(tc_i32(t, &v));
        if (v < INT16_MIN || v > INT16_MAX) return tc_fail(t, "i16 out of range");
        g->ordinal = (int16_t)v;
    }
    return LH_OK;
}

static void row_group_init(void *p)
{
    ((lh_pq_row_group *)p)->ordinal = -1;
}

static lh_status f_row_group_rows(tc *t, int id, int type, void *obj, bool *handled)
{
    F_I64(3, (int64_t *)obj);
    return LH_OK;
}

/* The row group list of a deferred read: each struct walked over (its
 * num_rows kept), its bytes recorded. */
static lh_status locate_row_groups(tc *t)
{
    int et = 0;
    size_t n = 0;
    LH_TRY(tc_list(t, &et, &n));
    if (n && et != T_STRUCT) return tc_fail(t, "list element is not a struct");
    if (*t->spans) return tc_fail(t, "duplicate list field");
    if (n > t->budget / sizeof **t->spans) return tc_fail(t, "list too large for its input");
    t->budget -= n * sizeof **t->spans;
    *t->spans = n ? lh_calloc(n, sizeof **t->spans) : NULL;
    *t->num_spans = n;
    for (size_t i = 0; i < n; i++) {
        lh_pq_row_group_span *sp = &(*t->spans)[i];
        sp->offset = (size_t)(t->p - t->start);
        LH_TRY(lh_tc_struct(t, "RowGroup", f_row_group_rows, &sp->num_rows));
        sp->len = (size_t)(t->p - t->start) - sp->offset;
        if (sp->num_rows < 0)
            return lh_error_set(t->err, LH_ERR_CORRUPT, "row group %zu: negative num_rows", i);
    }
    return LH_OK;
}

static void schema_init(void *p)
{
    lh_pq_schema_element *e = p;
    e->converted_type = LH_PQ_CT_NONE;
    e->field_id = -1;
}

static lh_status f_column_order(tc *t, int id, int type, void *obj, bool *handled)
{
    bool *type_defined = obj;
    if (id != 1) *type_defined = false;
    return LH_OK;
}

static lh_status f_file_meta(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_file_meta *m = obj;
    F_I32(1, &m->version);
    if (id == 2 && type == T_LIST) {
        *handled = true;
        return lh_tc_struct_list(t, "SchemaElement", (void **)&m->schema, &m->num_schema,
                                 sizeof(lh_pq_schema_element), schema_init, f_schema);
    }
    F_I64(3, &m->num_rows);
    if (id == 4 && type == T_LIST) {
        *handled = true;
        if (t->spans) return locate_row_groups(t);
        return lh_tc_struct_list(t, "RowGroup", (void **)&m->row_groups, &m->num_row_groups,
                                 sizeof(lh_pq_row_group), row_group_init, f_row_group);
    }
    if (id == 5 && type == T_LIST) {
        *handled = true;
        return lh_tc_struct_list(t, "KeyValue", (void **)&m->key_value_metadata,
                                 &m->num_key_value_metadata, sizeof(lh_pq_kv), NULL, f_kv);
    }
    if (id == 6 && type == T_BINARY) {
        *handled = true;
        return lh_tc_string(t, &m->created_by);
    }
    if (id == 7 && type == T_LIST) {
        *handled = true;
        int et = 0;
        size_t n = 0;
        LH_TRY(tc_list(t, &et, &n));
        bool all_type_order = n > 0 && et == T_STRUCT;
        for (size_t i = 0; i < n; i++) {
            if (et != T_STRUCT) {
                LH_TRY(lh_tc_skip(t, et));
                continue;
            }
            LH_TRY(lh_tc_struct(t, "ColumnOrder", f_column_order, &all_type_order));
        }
        m->type_defined_column_orders = all_type_order;
        return LH_OK;
    }
    if (id == 8 && type == T_STRUCT) return tc_fail(t, "encrypted files are not supported");
    return LH_OK;
}


/* Every column chunk read must carry its ColumnMetaData. */
static lh_status check_row_group(const lh_pq_row_group *g, lh_error *err)
{
    if (g->num_rows < 0) return lh_error_set(err, LH_ERR_CORRUPT, "negative num_rows");
    for (size_t c = 0; c < g->num_columns; c++)
        if (!g->columns[c].has_meta_data)
            return lh_error_set(err, LH_ERR_CORRUPT, "column %zu: no ColumnMetaData", c);
    return LH_OK;
}

static lh_status file_meta_read(tc *t, lh_pq_file_meta *m, lh_error *err)
{
    LH_TRY(lh_tc_struct(t, "FileMetaData", f_file_meta, m));
    if (!m->num_schema) return lh_error_set(err, LH_ERR_CORRUPT, "parquet footer has no schema");
    for (size_t i = 0; i < m->num_schema; i++)
        if (!m->schema[i].name)
            return lh_error_set(err, LH_ERR_CORRUPT, "parquet schema element %zu has no name", i);
    for (size_t g = 0; g < m->num_row_groups; g++)
        if (check_row_group(&m->row_groups[g], err) != LH_OK)
            return lh_error_prefix(err, "row group %zu", g);
    return LH_OK;
}

lh_status lh_pq_file_meta_read(const uint8_t *data, size_t len, lh_pq_file_meta *m,
                               lh_error *err)
{
    tc t;
    lh_tc_begin(&t, data, len, false, err);
    return file_meta_read(&t, m, err);
}

lh_status lh_pq_file_meta_read_lean(const uint8_t *data, size_t len, lh_pq_file_meta *m,
                                    lh_error *err)
{
    tc t;
    lh_tc_begin(&t, data, len, true, err);
    return file_meta_read(&t, m, err);
}

lh_status lh_pq_file_meta_read_deferred(const uint8_t *data, size_t len, lh_pq_file_meta *m,
                                        lh_pq_row_group_span **spans, size_t *num_spans,
                                        lh_error *err)
{
    *spans = NULL;
    *num_spans = 0;
    tc t;
    lh_tc_begin(&t, data, len, true, err);
    t.spans = spans;
    t.num_spans = num_spans;
    return file_meta_read(&t, m, err);
}

lh_status lh_pq_row_group_read_lean(const uint8_t *data, size_t len, lh_pq_row_group *g,
                                    lh_error *err)
{
    tc t;
    lh_tc_begin(&t, data, len, true, err);
    memset(g, 0, sizeof *g);
    row_group_init(g);
    LH_TRY(lh_tc_struct(&t, "RowGroup", f_row_group, g));
    return check_row_group(g, err);
}

