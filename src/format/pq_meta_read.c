/* Thrift compact protocol parser for the parquet footer, page headers and
 * bloom filter headers. Every read is bounds-checked against the input;
 * nesting depth and list sizes are limited so hostile input can neither
 * recurse deeply nor make us allocate much more than its own size. Unknown
 * fields, and known field ids carrying an unexpected wire type, are skipped. */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/format/pq_meta.h"

enum {
    T_STOP = 0, T_TRUE = 1, T_FALSE = 2, T_I8 = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6,
    T_DOUBLE = 7, T_BINARY = 8, T_LIST = 9, T_SET = 10, T_MAP = 11, T_STRUCT = 12, T_UUID = 13,
};

#define TC_MAX_DEPTH 32
/* Hard cap on list sizes on top of "one byte per element at least". */
#define TC_MAX_LIST (1u << 24)

typedef struct tc {
    const uint8_t *start, *p, *end;
    int depth;
    size_t budget;     /* bytes the struct arrays may still allocate */
    const char *what;  /* struct being parsed, for error messages */
    int field;         /* field id being parsed */
    bool lean;         /* skip what readers never use (lh_pq_file_meta_read_lean) */
    /* lh_pq_file_meta_read_deferred: row groups are located here, not decoded */
    lh_pq_row_group_span **spans;
    size_t *num_spans;
    lh_error *err;
} tc;

static lh_status tc_fail(tc *t, const char *why)
{
    return lh_error_set(t->err, LH_ERR_CORRUPT, "thrift %s field %d at byte %zu: %s",
                        t->what ? t->what : "?", t->field, (size_t)(t->p - t->start), why);
}

static lh_status tc_u8(tc *t, uint8_t *v)
{
    if (t->p >= t->end) return tc_fail(t, "truncated");
    *v = *t->p++;
    return LH_OK;
}

static lh_status tc_varint(tc *t, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (t->p >= t->end) return tc_fail(t, "truncated varint");
        uint8_t b = *t->p++;
        if (shift == 63 && (b & 0x7e)) return tc_fail(t, "varint overflow");
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return LH_OK;
        }
    }
    return tc_fail(t, "varint too long");
}

static lh_status tc_i64(tc *t, int64_t *v)
{
    uint64_t u = 0;
    LH_TRY(tc_varint(t, &u));
    *v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
    return LH_OK;
}

static lh_status tc_i32(tc *t, int32_t *v)
{
    int64_t x = 0;
    LH_TRY(tc_i64(t, &x));
    if (x < INT32_MIN || x > INT32_MAX) return tc_fail(t, "i32 out of range");
    *v = (int32_t)x;
    return LH_OK;
}

static lh_status tc_binary(tc *t, const uint8_t **data, size_t *n)
{
    uint64_t len = 0;
    LH_TRY(tc_varint(t, &len));
    if (len > (uint64_t)(t->end - t->p)) return tc_fail(t, "binary length past end");
    *data = t->p;
    *n = (size_t)len;
    t->p += len;
    return LH_OK;
}

static lh_status tc_string(tc *t, char **out)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    LH_TRY(tc_binary(t, &d, &n));
    free(*out);
    *out = lh_strndup((const char *)d, n);
    return LH_OK;
}

static lh_status tc_bytes(tc *t, lh_buf *b)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    LH_TRY(tc_binary(t, &d, &n));
    lh_buf_reset(b);
    lh_buf_append(b, d, n);
    return LH_OK;
}

/* Field header; *type = T_STOP at the end of the struct. */
static lh_status tc_field(tc *t, int *type, int *id)
{
    uint8_t b = 0;
    LH_TRY(tc_u8(t, &b));
    *type = b & 0x0f;
    if (*type == T_STOP) return LH_OK;
    int delta = b >> 4;
    if (delta) {
        *id += delta;
    } else {
        int64_t v;
        LH_TRY(tc_i64(t, &v));
        if (v < INT16_MIN || v > INT16_MAX) return tc_fail(t, "field id out of range");
        *id = (int)v;
    }
    t->field = *id;
    return LH_OK;
}

static lh_status tc_list(tc *t, int *etype, size_t *size)
{
    uint8_t b = 0;
    LH_TRY(tc_u8(t, &b));
    *etype = b & 0x0f;
    uint64_t n = b >> 4;
    if (n == 15) LH_TRY(tc_varint(t, &n));
    /* every element takes at least one byte */
    if (n > (uint64_t)(t->end - t->p) || n > TC_MAX_LIST) return tc_fail(t, "list too long");
    *size = (size_t)n;
    return LH_OK;
}

static bool is_bool(int type) { return type == T_TRUE || type == T_FALSE; }

/* Move past a varint without decoding it (at most 10 bytes, the 10th
 * holding one bit), as tc_varint checks it. */
static lh_status tc_skip_varint(tc *t)
{
    for (int i = 0; i < 10; i++) {
        if (t->p >= t->end) return tc_fail(t, "truncated varint");
        uint8_t b = *t->p++;
        if (i == 9 && (b & 0x7e)) return tc_fail(t, "varint overflow");
        if (!(b & 0x80)) return LH_OK;
    }
    return tc_fail(t, "varint too long");
}

static lh_status tc_need(tc *t, size_t n)
{
    return (size_t)(t->end - t->p) < n ? tc_fail(t, "truncated") : LH_OK;
}

/* One nesting level of tc_skip: a struct's fields, or the items left of a
 * list, set or map (a map counts keys and values, keys first). */
typedef struct skip_frame {
    bool is_struct;
    uint8_t t1, t2; /* element type; a map's key and value types */
    uint64_t left;
} skip_frame;

/* Skip a value of wire type `type`, nested values included, without a
 * call per value: a lookup walks every row group's column chunks this way
 * (hundreds of kilobytes of footer). Booleans take a byte inside lists; a
 * boolean struct field is all header. */
static lh_status tc_skip(tc *t, int type)
{
    skip_frame st[TC_MAX_DEPTH];
    int sp = 0, cur = type;
    for (;;) {
        uint64_t n = 0;
        uint8_t b = 0;
        switch (cur) {
        case T_TRUE:
        case T_FALSE:
        case T_I8:
            LH_TRY(tc_need(t, 1));
            t->p++;
            break;
        case T_I16:
        case T_I32:
        case T_I64: LH_TRY(tc_skip_varint(t)); break;
        case T_DOUBLE:
            LH_TRY(tc_need(t, 8));
            t->p += 8;
            break;
        case T_UUID:
            LH_TRY(tc_need(t, 16));
            t->p += 16;
            break;
        case T_BINARY:
            LH_TRY(tc_varint(t, &n));
            if (n > (uint64_t)(t->end - t->p)) return tc_fail(t, "binary length past end");
            t->p += n;
            break;
        case T_LIST:
        case T_SET:
        case T_MAP:
        case T_STRUCT: {
            if (sp + t->depth >= TC_MAX_DEPTH) return tc_fail(t, "nesting too deep");
            skip_frame *f = &st[sp++];
            f->is_struct = cur == T_STRUCT;
            f->left = 0;
            if (cur == T_LIST || cur == T_SET) {
                int et;
                size_t len;
                LH_TRY(tc_list(t, &et, &len));
                f->t1 = f->t2 = (uint8_t)et;
                f->left = len;
            } else if (cur == T_MAP) {
                LH_TRY(tc_varint(t, &n));
                if (n > (uint64_t)(t->end - t->p)) return tc_fail(t, "map too long");
                if (n) {
                    LH_TRY(tc_u8(t, &b));
                    f->t1 = b >> 4;
                    f->t2 = b & 0x0f;
                    f->left = 2 * n;
                }
            }
            break;
        }
        default: return tc_fail(t, "unknown wire type");
        }
        /* the next value to skip, or done when every level is */
        cur = -1;
        while (sp > 0 && cur < 0) {
            skip_frame *f = &st[sp - 1];
            if (f->is_struct) {
                LH_TRY(tc_u8(t, &b));
                int ft = b & 0x0f;
                if (ft == T_STOP) {
                    sp--;
                    continue;
                }
                if (!(b >> 4)) LH_TRY(tc_skip_varint(t)); /* a long-form field id */
                if (!is_bool(ft)) cur = ft;
            } else if (f->left == 0) {
                sp--;
            } else {
                cur = f->left-- % 2 == 0 ? f->t1 : f->t2;
            }
        }
        if (cur < 0) return LH_OK;
    }
}

static lh_status tc_skip_struct(tc *t)
{
    return tc_skip(t, T_STRUCT);
}

/* Per-struct parsing: a field callback decides by (id, wire type); anything it
 * does not claim is skipped. */
typedef lh_status (*tc_field_fn)(tc *t, int id, int type, void *obj, bool *handled);

static lh_status tc_struct(tc *t, const char *what, tc_field_fn fn, void *obj)
{
    if (++t->depth > TC_MAX_DEPTH) return tc_fail(t, "nesting too deep");
    const char *saved_what = t->what;
    int saved_field = t->field;
    t->what = what;
    t->field = 0;
    int id = 0, type;
    for (;;) {
        LH_TRY(tc_field(t, &type, &id));
        if (type == T_STOP) break;
        bool handled = false;
        LH_TRY(fn(t, id, type, obj, &handled));
        if (!handled && !is_bool(type)) LH_TRY(tc_skip(t, type)); /* a bool field is all header */
    }
    t->what = saved_what;
    t->field = saved_field;
    t->depth--;
    return LH_OK;
}

/* Helpers for typed fields: claim the field only if the wire type matches. */
#define F_I32(fid, dst)                                                   \
    if (id == (fid) && type == T_I32) {                                   \
        *handled = true;                                                  \
        return tc_i32(t, (dst));                                          \
    }
#define F_I64(fid, dst)                                                   \
    if (id == (fid) && type == T_I64) {                                   \
        *handled = true;                                                  \
        return tc_i64(t, (dst));                                          \
    }
#define F_BOOL(fid, dst)                                                  \
    if (id == (fid) && is_bool(type)) {                                   \
        *handled = true;                                                  \
        *(dst) = type == T_TRUE;                                          \
        return LH_OK;                                                     \
    }

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
        return tc_struct(t, "TimeUnit", f_empty, NULL);
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
            return tc_struct(t, "TimeUnit", f_time_unit, &lt->unit);
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
        return tc_struct(t, "LogicalType", f_logical_member, lt);
    default:
        lt->kind = LH_PQ_LT_UNKNOWN;
        return tc_skip_struct(t);
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
        return tc_string(t, &e->name);
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
        return tc_struct(t, "LogicalType", f_logical, &e->logical);
    }
    return LH_OK;
}

static lh_status f_kv(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_kv *kv = obj;
    if (type != T_BINARY) return LH_OK;
    if (id == 1) {
        *handled = true;
        return tc_string(t, &kv->key);
    }
    if (id == 2) {
        *handled = true;
        return tc_string(t, &kv->value);
    }
    return LH_OK;
}

static lh_status f_stats(tc *t, int id, int type, void *obj, bool *handled)
{
    lh_pq_statistics *s = obj;
    if (type == T_BINARY && id >= 1 && id <= 6 && id != 3 && id != 4) {
        *handled = true;
        switch (id) {
        case 1: s->has_max = true; return tc_bytes(t, &s->max);
        case 2: s->has_min = true; return tc_bytes(t, &s->min);
        case 5: s->has_max_value = true; return tc_bytes(t, &s->max_value);
        default: s->has_min_value = true; return tc_bytes(t, &s->min_value);
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

/* Read a list of structs into a freshly zeroed array; *count is set before
 * parsing so a partial parse can still be freed by the owner. */
static lh_status tc_struct_list(tc *t, const char *what, void **arr, size_t *count,
                                size_t elem, void (*init)(void *), tc_field_fn fn)
{
    int et = 0;
    size_t n = 0;
    LH_TRY(tc_list(t, &et, &n));
    if (n && et != T_STRUCT) return tc_fail(t, "list element is not a struct");
    if (*arr) return tc_fail(t, "duplicate list field");
    /* decoded structs are much larger than their (possibly empty) wire form */
    if (n > t->budget / elem) return tc_fail(t, "list too large for its input");
    t->budget -= n * elem;
    *arr = n ? lh_calloc(n, elem) : NULL;
    *count = n;
    for (size_t i = 0; i < n; i++)
        if (init) init((char *)*arr + i * elem);
    for (size_t i = 0; i < n; i++) LH_TRY(tc_struct(t, what, fn, (char *)*arr + i * elem));
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
        int et;
        size_t n;
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
        int et;
        size_t n;
        LH_TRY(tc_list(t, &et, &n));
        if (n && et != T_BINARY) return tc_fail(t, "path_in_schema is not strings");
        if (m->path_in_schema) return tc_fail(t, "duplicate path_in_schema");
        m->path_in_schema = n ? lh_calloc(n, sizeof(char *)) : NULL;
        m->path_len = n;
        for (size_t i = 0; i < n; i++) LH_TRY(tc_string(t, &m->path_in_schema[i]));
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
        return tc_struct_list(t, "KeyValue", (void **)&m->key_value_metadata,
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
        return tc_struct(t, "Statistics", f_stats, &m->statistics);
    }
    if (id == 13 && type == T_LIST) {
        *handled = true;
        return tc_struct_list(t, "PageEncodingStats", (void **)&m->encoding_stats,
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
        return tc_string(t, &c->file_path);
    }
    F_I64(2, &c->file_offset);
    if (id == 3 && type == T_STRUCT) {
        *handled = true;
        c->has_meta_data = true;
        return tc_struct(t, "ColumnMetaData", f_column_meta, &c->meta_data);
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
        return tc_struct_list(t, "ColumnChunk", (void **)&g->columns, &g->num_columns,
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
        LH_TRY(tc_struct(t, "RowGroup", f_row_group_rows, &sp->num_rows));
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
        return tc_struct_list(t, "SchemaElement", (void **)&m->schema, &m->num_schema,
                              sizeof(lh_pq_schema_element), schema_init, f_schema);
    }
    F_I64(3, &m->num_rows);
    if (id == 4 && type == T_LIST) {
        *handled = true;
        if (t->spans) return locate_row_groups(t);
        return tc_struct_list(t, "RowGroup", (void **)&m->row_groups, &m->num_row_groups,
                              sizeof(lh_pq_row_group), row_group_init, f_row_group);
    }
    if (id == 5 && type == T_LIST) {
        *handled = true;
        return tc_struct_list(t, "KeyValue", (void **)&m->key_value_metadata,
                              &m->num_key_value_metadata, sizeof(lh_pq_kv), NULL, f_kv);
    }
    if (id == 6 && type == T_BINARY) {
        *handled = true;
        return tc_string(t, &m->created_by);
    }
    if (id == 7 && type == T_LIST) {
        *handled = true;
        int et;
        size_t n;
        LH_TRY(tc_list(t, &et, &n));
        bool all_type_order = n > 0 && et == T_STRUCT;
        for (size_t i = 0; i < n; i++) {
            if (et != T_STRUCT) {
                LH_TRY(tc_skip(t, et));
                continue;
            }
            LH_TRY(tc_struct(t, "ColumnOrder", f_column_order, &all_type_order));
        }
        m->type_defined_column_orders = all_type_order;
        return LH_OK;
    }
    if (id == 8 && type == T_STRUCT) return tc_fail(t, "encrypted files are not supported");
    return LH_OK;
}

/* lean: leave out what readers never use (see lh_pq_file_meta_read_lean) */
static void tc_begin(tc *t, const uint8_t *data, size_t len, bool lean, lh_error *err)
{
    memset(t, 0, sizeof *t);
    t->lean = lean;
    t->start = t->p = data;
    t->end = len ? data + len : data;
    t->err = err;
    /* 64x the input covers real footers (~10x) with room to spare */
    t->budget = len < (SIZE_MAX >> 7) ? len * 64 + ((size_t)1 << 16) : SIZE_MAX;
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
    LH_TRY(tc_struct(t, "FileMetaData", f_file_meta, m));
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
    tc_begin(&t, data, len, false, err);
    return file_meta_read(&t, m, err);
}

lh_status lh_pq_file_meta_read_lean(const uint8_t *data, size_t len, lh_pq_file_meta *m,
                                    lh_error *err)
{
    tc t;
    tc_begin(&t, data, len, true, err);
    return file_meta_read(&t, m, err);
}

lh_status lh_pq_file_meta_read_deferred(const uint8_t *data, size_t len, lh_pq_file_meta *m,
                                        lh_pq_row_group_span **spans, size_t *num_spans,
                                        lh_error *err)
{
    *spans = NULL;
    *num_spans = 0;
    tc t;
    tc_begin(&t, data, len, true, err);
    t.spans = spans;
    t.num_spans = num_spans;
    return file_meta_read(&t, m, err);
}

lh_status lh_pq_row_group_read_lean(const uint8_t *data, size_t len, lh_pq_row_group *g,
                                    lh_error *err)
{
    tc t;
    tc_begin(&t, data, len, true, err);
    memset(g, 0, sizeof *g);
    row_group_init(g);
    LH_TRY(tc_struct(&t, "RowGroup", f_row_group, g));
    return check_row_group(g, err);
}

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
        return tc_struct_list(t, "PageLocation", (void **)&x->pages, &x->num_pages,
                              sizeof *x->pages, NULL, f_page_location);
    }
    return LH_OK;
}

lh_status lh_pq_offset_index_read(const uint8_t *data, size_t len, lh_pq_offset_index *x,
                                  lh_error *err)
{
    memset(x, 0, sizeof *x);
    tc t;
    tc_begin(&t, data, len, false, err);
    return tc_struct(&t, "OffsetIndex", f_offset_index, x);
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
        for (size_t i = 0; i < n; i++) LH_TRY(tc_bytes(t, &b[i]));
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
    tc_begin(&t, data, len, false, err);
    ci_parse cp = {x, {false}, false};
    LH_TRY(tc_struct(&t, "ColumnIndex", f_column_index, &cp));
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
        return tc_struct(t, "Statistics", f_stats, &h->statistics);
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
        return tc_struct(t, "Statistics", f_stats, &h->statistics);
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
        return tc_struct(t, "DataPageHeader", f_data_page, &h->data_page_header);
    case 7:
        *handled = true;
        h->has_dictionary_page_header = true;
        return tc_struct(t, "DictionaryPageHeader", f_dict_page, &h->dictionary_page_header);
    case 8:
        *handled = true;
        h->has_data_page_header_v2 = true;
        h->data_page_header_v2.is_compressed = true; /* default when absent */
        return tc_struct(t, "DataPageHeaderV2", f_data_page_v2, &h->data_page_header_v2);
    default: return LH_OK;
    }
}

lh_status lh_pq_page_header_read(const uint8_t *data, size_t len, lh_pq_page_header *h,
                                 size_t *used, lh_error *err)
{
    tc t;
    tc_begin(&t, data, len, false, err);
    page_seen ps = {.h = h};
    LH_TRY(tc_struct(&t, "PageHeader", f_page_header, &ps));
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
        return tc_struct(t, "BloomFilterHeader", f_union_member1, ok);
    }
    return LH_OK;
}

lh_status lh_pq_bloom_header_read(const uint8_t *data, size_t len, lh_pq_bloom_header *h,
                                  size_t *used, lh_error *err)
{
    tc t;
    tc_begin(&t, data, len, false, err);
    bloom_seen bs = {.h = h};
    LH_TRY(tc_struct(&t, "BloomFilterHeader", f_bloom, &bs));
    if (!bs.num_bytes || h->num_bytes < 0)
        return lh_error_set(err, LH_ERR_CORRUPT, "BloomFilterHeader lacks numBytes");
    if (!bs.algorithm_ok || !bs.hash_ok || !bs.compression_ok)
        return lh_error_set(err, LH_ERR_UNSUPPORTED,
                            "bloom filter is not BLOCK/XXHASH/UNCOMPRESSED");
    if (used) *used = (size_t)(t.p - t.start);
    return LH_OK;
}
