/* Thrift compact-protocol serializer for the parquet metadata structs, and
 * their init/free functions. Fields are written in increasing id order so
 * the short header form is used whenever the id delta fits in 4 bits. */
#include <stdlib.h>
#include <string.h>

#include "lh/format/pq_meta.h"

enum { T_TRUE = 1, T_FALSE = 2, T_I8 = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6, T_DOUBLE = 7,
       T_BINARY = 8, T_LIST = 9, T_STRUCT = 12 };

#define TW_DEPTH 16

typedef struct tw {
    lh_buf *out;
    int16_t last[TW_DEPTH]; /* previous field id per open struct */
    int depth;
} tw;

static void varint(tw *w, uint64_t v)
{
    while (v >= 0x80) {
        lh_buf_append_byte(w->out, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    lh_buf_append_byte(w->out, (uint8_t)v);
}

static uint64_t zigzag(int64_t n)
{
    return ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
}

static void field(tw *w, int16_t id, int type)
{
    int16_t delta = (int16_t)(id - w->last[w->depth]);
    if (delta > 0 && delta <= 15) {
        lh_buf_append_byte(w->out, (uint8_t)(delta << 4 | type));
    } else {
        lh_buf_append_byte(w->out, (uint8_t)type);
        varint(w, zigzag(id));
    }
    w->last[w->depth] = id;
}

static void begin(tw *w, int16_t id) /* struct field; id 0 = list element */
{
    if (id) field(w, id, T_STRUCT);
    w->depth++;
    w->last[w->depth] = 0;
}

static void end(tw *w)
{
    lh_buf_append_byte(w->out, 0);
    w->depth--;
}

static void f_i32(tw *w, int16_t id, int32_t v)
{
    field(w, id, T_I32);
    varint(w, zigzag(v));
}

static void f_i64(tw *w, int16_t id, int64_t v)
{
    field(w, id, T_I64);
    varint(w, zigzag(v));
}

static void f_bool(tw *w, int16_t id, bool v)
{
    field(w, id, v ? T_TRUE : T_FALSE);
}

static void f_bin(tw *w, int16_t id, const void *p, size_t n)
{
    field(w, id, T_BINARY);
    varint(w, n);
    lh_buf_append(w->out, p, n);
}

static void f_str(tw *w, int16_t id, const char *s)
{
    f_bin(w, id, s ? s : "", s ? strlen(s) : 0);
}

static void list(tw *w, int16_t id, size_t n, int elem_type)
{
    field(w, id, T_LIST);
    if (n < 15) {
        lh_buf_append_byte(w->out, (uint8_t)(n << 4 | elem_type));
    } else {
        lh_buf_append_byte(w->out, (uint8_t)(0xF0 | elem_type));
        varint(w, n);
    }
}

static void empty_struct(tw *w, int16_t id)
{
    begin(w, id);
    end(w);
}

static void w_kvs(tw *w, int16_t id, const lh_pq_kv *kv, size_t n)
{
    list(w, id, n, T_STRUCT);
    for (size_t i = 0; i < n; i++) {
        begin(w, 0);
        f_str(w, 1, kv[i].key);
        if (kv[i].value) f_str(w, 2, kv[i].value);
        end(w);
    }
}

static void w_stats(tw *w, int16_t id, const lh_pq_statistics *s)
{
    begin(w, id);
    if (s->has_max) f_bin(w, 1, s->max.data, s->max.len);
    if (s->has_min) f_bin(w, 2, s->min.data, s->min.len);
    if (s->has_null_count) f_i64(w, 3, s->null_count);
    if (s->has_distinct_count) f_i64(w, 4, s->distinct_count);
    if (s->has_max_value) f_bin(w, 5, s->max_value.data, s->max_value.len);
    if (s->has_min_value) f_bin(w, 6, s->min_value.data, s->min_value.len);
    if (s->has_is_max_value_exact) f_bool(w, 7, s->is_max_value_exact);
    if (s->has_is_min_value_exact) f_bool(w, 8, s->is_min_value_exact);
    end(w);
}

static void w_logical(tw *w, const lh_pq_logical_type *lt)
{
    begin(w, 10);
    begin(w, (int16_t)lt->kind);
    switch (lt->kind) {
    case LH_PQ_LT_DECIMAL:
        f_i32(w, 1, lt->scale);
        f_i32(w, 2, lt->precision);
        break;
    case LH_PQ_LT_TIME:
    case LH_PQ_LT_TIMESTAMP:
        f_bool(w, 1, lt->is_adjusted_to_utc);
        begin(w, 2);
        empty_struct(w, (int16_t)(lt->unit ? lt->unit : LH_PQ_MICROS));
        end(w);
        break;
    case LH_PQ_LT_INTEGER:
        field(w, 1, T_I8);
        lh_buf_append_byte(w->out, (uint8_t)lt->bit_width);
        f_bool(w, 2, lt->is_signed);
        break;
    default: /* STRING, MAP, LIST, ENUM, DATE, UNKNOWN, JSON, BSON, UUID: empty */
        break;
    }
    end(w);
    end(w);
}

static void w_schema(tw *w, const lh_pq_schema_element *e)
{
    begin(w, 0);
    if (e->has_type) f_i32(w, 1, (int32_t)e->type);
    if (e->has_type && e->type == LH_PQ_FIXED_LEN_BYTE_ARRAY) f_i32(w, 2, e->type_length);
    if (e->has_repetition) f_i32(w, 3, (int32_t)e->repetition);
    f_str(w, 4, e->name);
    if (!e->has_type) f_i32(w, 5, e->num_children);
    if (e->converted_type >= 0) f_i32(w, 6, e->converted_type);
    if (e->converted_type == 5 || e->logical.kind == LH_PQ_LT_DECIMAL) {
        f_i32(w, 7, e->logical.scale);
        f_i32(w, 8, e->logical.precision);
    }
    if (e->field_id >= 0) f_i32(w, 9, e->field_id);
    if (e->logical.kind != LH_PQ_LT_NONE) w_logical(w, &e->logical);
    end(w);
}

static void w_colmeta(tw *w, const lh_pq_column_meta *m)
{
    begin(w, 3);
    f_i32(w, 1, (int32_t)m->type);
    list(w, 2, m->num_encodings, T_I32);
    for (size_t i = 0; i < m->num_encodings; i++) varint(w, zigzag((int32_t)m->encodings[i]));
    list(w, 3, m->path_len, T_BINARY);
    for (size_t i = 0; i < m->path_len; i++) {
        size_t n = strlen(m->path_in_schema[i]);
        varint(w, n);
        lh_buf_append(w->out, m->path_in_schema[i], n);
    }
    f_i32(w, 4, (int32_t)m->codec);
    f_i64(w, 5, m->num_values);
    f_i64(w, 6, m->total_uncompressed_size);
    f_i64(w, 7, m->total_compressed_size);
    if (m->num_key_value_metadata) w_kvs(w, 8, m->key_value_metadata, m->num_key_value_metadata);
    f_i64(w, 9, m->data_page_offset);
    if (m->has_index_page_offset) f_i64(w, 10, m->index_page_offset);
    if (m->has_dictionary_page_offset) f_i64(w, 11, m->dictionary_page_offset);
    if (m->has_statistics) w_stats(w, 12, &m->statistics);
    if (m->num_encoding_stats) {
        list(w, 13, m->num_encoding_stats, T_STRUCT);
        for (size_t i = 0; i < m->num_encoding_stats; i++) {
            begin(w, 0);
            f_i32(w, 1, (int32_t)m->encoding_stats[i].page_type);
            f_i32(w, 2, (int32_t)m->encoding_stats[i].encoding);
            f_i32(w, 3, m->encoding_stats[i].count);
            end(w);
        }
    }
    if (m->has_bloom_filter) {
        f_i64(w, 14, m->bloom_filter_offset);
        if (m->bloom_filter_length > 0) f_i32(w, 15, m->bloom_filter_length);
    }
    end(w);
}

static void w_chunk(tw *w, const lh_pq_column_chunk *c)
{
    begin(w, 0);
    if (c->file_path) f_str(w, 1, c->file_path);
    f_i64(w, 2, c->file_offset);
    if (c->has_meta_data) w_colmeta(w, &c->meta_data);
    if (c->has_offset_index) {
        f_i64(w, 4, c->offset_index_offset);
        f_i32(w, 5, c->offset_index_length);
    }
    if (c->has_column_index) {
        f_i64(w, 6, c->column_index_offset);
        f_i32(w, 7, c->column_index_length);
    }
    end(w);
}

static void w_row_group(tw *w, const lh_pq_row_group *g)
{
    begin(w, 0);
    list(w, 1, g->num_columns, T_STRUCT);
    for (size_t i = 0; i < g->num_columns; i++) w_chunk(w, &g->columns[i]);
    f_i64(w, 2, g->total_byte_size);
    f_i64(w, 3, g->num_rows);
    if (g->has_file_offset) f_i64(w, 5, g->file_offset);
    if (g->has_total_compressed_size) f_i64(w, 6, g->total_compressed_size);
    if (g->ordinal >= 0) {
        field(w, 7, T_I16);
        varint(w, zigzag(g->ordinal));
    }
    end(w);
}

void lh_pq_file_meta_write(const lh_pq_file_meta *m, lh_buf *out)
{
    tw w = {.out = out};
    f_i32(&w, 1, m->version ? m->version : 1);
    list(&w, 2, m->num_schema, T_STRUCT);
    for (size_t i = 0; i < m->num_schema; i++) w_schema(&w, &m->schema[i]);
    f_i64(&w, 3, m->num_rows);
    list(&w, 4, m->num_row_groups, T_STRUCT);
    for (size_t i = 0; i < m->num_row_groups; i++) w_row_group(&w, &m->row_groups[i]);
    if (m->num_key_value_metadata) w_kvs(&w, 5, m->key_value_metadata, m->num_key_value_metadata);
    if (m->created_by) f_str(&w, 6, m->created_by);
    if (m->type_defined_column_orders) {
        size_t leaves = 0;
        for (size_t i = 1; i < m->num_schema; i++)
            if (m->schema[i].has_type) leaves++;
        list(&w, 7, leaves, T_STRUCT);
        for (size_t i = 0; i < leaves; i++) {
            begin(&w, 0);
            empty_struct(&w, 1); /* TYPE_ORDER */
            end(&w);
        }
    }
    lh_buf_append_byte(out, 0);
}

void lh_pq_page_header_write(const lh_pq_page_header *h, lh_buf *out)
{
    tw w = {.out = out};
    f_i32(&w, 1, (int32_t)h->type);
    f_i32(&w, 2, h->uncompressed_page_size);
    f_i32(&w, 3, h->compressed_page_size);
    if (h->has_crc) f_i32(&w, 4, h->crc);
    if (h->has_data_page_header) {
        const lh_pq_data_page_header *d = &h->data_page_header;
        begin(&w, 5);
        f_i32(&w, 1, d->num_values);
        f_i32(&w, 2, (int32_t)d->encoding);
        f_i32(&w, 3, (int32_t)d->definition_level_encoding);
        f_i32(&w, 4, (int32_t)d->repetition_level_encoding);
        if (d->has_statistics) w_stats(&w, 5, &d->statistics);
        end(&w);
    }
    if (h->has_dictionary_page_header) {
        const lh_pq_dictionary_page_header *d = &h->dictionary_page_header;
        begin(&w, 7);
        f_i32(&w, 1, d->num_values);
        f_i32(&w, 2, (int32_t)d->encoding);
        if (d->has_is_sorted) f_bool(&w, 3, d->is_sorted);
        end(&w);
    }
    if (h->has_data_page_header_v2) {
        const lh_pq_data_page_header_v2 *d = &h->data_page_header_v2;
        begin(&w, 8);
        f_i32(&w, 1, d->num_values);
        f_i32(&w, 2, d->num_nulls);
        f_i32(&w, 3, d->num_rows);
        f_i32(&w, 4, (int32_t)d->encoding);
        f_i32(&w, 5, d->definition_levels_byte_length);
        f_i32(&w, 6, d->repetition_levels_byte_length);
        f_bool(&w, 7, d->is_compressed);
        if (d->has_statistics) w_stats(&w, 8, &d->statistics);
        end(&w);
    }
    lh_buf_append_byte(out, 0);
}

void lh_pq_bloom_header_write(const lh_pq_bloom_header *h, lh_buf *out)
{
    tw w = {.out = out};
    f_i32(&w, 1, h->num_bytes);
    for (int16_t id = 2; id <= 4; id++) { /* BLOCK, XXHASH, UNCOMPRESSED */
        begin(&w, id);
        empty_struct(&w, 1);
        end(&w);
    }
    lh_buf_append_byte(out, 0);
}

void lh_pq_offset_index_write(const lh_pq_offset_index *x, lh_buf *out)
{
    tw w = {.out = out};
    list(&w, 1, x->num_pages, T_STRUCT);
    for (size_t i = 0; i < x->num_pages; i++) {
        begin(&w, 0);
        f_i64(&w, 1, x->pages[i].offset);
        f_i32(&w, 2, x->pages[i].compressed_page_size);
        f_i64(&w, 3, x->pages[i].first_row_index);
        end(&w);
    }
    lh_buf_append_byte(out, 0);
}

void lh_pq_column_index_write(const lh_pq_column_index *x, lh_buf *out)
{
    tw w = {.out = out};
    size_t n = x->num_pages;
    /* bool list elements: type 1, values 1 = true, 2 = false (C++/Java/Rust) */
    list(&w, 1, n, T_TRUE);
    for (size_t i = 0; i < n; i++) lh_buf_append_byte(out, x->null_pages[i] ? 1 : 2);
    for (int16_t id = 2; id <= 3; id++) {
        const lh_buf *b = id == 2 ? x->min_values : x->max_values;
        list(&w, id, n, T_BINARY);
        for (size_t i = 0; i < n; i++) {
            varint(&w, b[i].len);
            lh_buf_append(out, b[i].data, b[i].len);
        }
    }
    f_i32(&w, 4, (int32_t)x->boundary_order);
    list(&w, 5, n, T_I64);
    for (size_t i = 0; i < n; i++) varint(&w, zigzag(x->null_counts[i]));
    lh_buf_append_byte(out, 0);
}

void lh_pq_offset_index_free(lh_pq_offset_index *x)
{
    free(x->pages);
    memset(x, 0, sizeof *x);
}

void lh_pq_column_index_free(lh_pq_column_index *x)
{
    /* a partly parsed index may lack some arrays */
    for (size_t i = 0; i < x->num_pages; i++) {
        if (x->min_values) lh_buf_free(&x->min_values[i]);
        if (x->max_values) lh_buf_free(&x->max_values[i]);
    }
    free(x->null_pages);
    free(x->min_values);
    free(x->max_values);
    free(x->null_counts);
    memset(x, 0, sizeof *x);
}

/* ---- lifetime ---- */

void lh_pq_statistics_init(lh_pq_statistics *s)
{
    memset(s, 0, sizeof *s);
}

void lh_pq_statistics_free(lh_pq_statistics *s)
{
    lh_buf_free(&s->min_value);
    lh_buf_free(&s->max_value);
    lh_buf_free(&s->min);
    lh_buf_free(&s->max);
    lh_pq_statistics_init(s);
}

void lh_pq_file_meta_init(lh_pq_file_meta *m)
{
    memset(m, 0, sizeof *m);
    m->version = 1;
}

static void free_kvs(lh_pq_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static void free_colmeta(lh_pq_column_meta *m)
{
    free(m->encodings);
    for (size_t i = 0; i < m->path_len; i++) free(m->path_in_schema[i]);
    free(m->path_in_schema);
    lh_pq_statistics_free(&m->statistics);
    free(m->encoding_stats);
    free_kvs(m->key_value_metadata, m->num_key_value_metadata);
}

void lh_pq_row_group_free(lh_pq_row_group *g)
{
    for (size_t c = 0; c < g->num_columns; c++) {
        free(g->columns[c].file_path);
        free_colmeta(&g->columns[c].meta_data);
    }
    free(g->columns);
    memset(g, 0, sizeof *g);
    g->ordinal = -1;
}

void lh_pq_file_meta_free(lh_pq_file_meta *m)
{
    for (size_t i = 0; i < m->num_schema; i++) free(m->schema[i].name);
    free(m->schema);
    for (size_t g = 0; g < m->num_row_groups; g++) lh_pq_row_group_free(&m->row_groups[g]);
    free(m->row_groups);
    free_kvs(m->key_value_metadata, m->num_key_value_metadata);
    free(m->created_by);
    lh_pq_file_meta_init(m);
}

void lh_pq_page_header_init(lh_pq_page_header *h)
{
    memset(h, 0, sizeof *h);
    h->data_page_header_v2.is_compressed = true;
}

void lh_pq_page_header_free(lh_pq_page_header *h)
{
    lh_pq_statistics_free(&h->data_page_header.statistics);
    lh_pq_statistics_free(&h->data_page_header_v2.statistics);
    lh_pq_page_header_init(h);
}
