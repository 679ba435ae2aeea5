/* Private to the parquet metadata parsers (pq_meta_read.c, the file
 * metadata; pq_page_meta_read.c, page indexes, page and bloom filter
 * headers): a Thrift compact protocol reader (pq_thrift_read.c). Every read
 * is bounds-checked against the input; nesting depth and list sizes are
 * limited so hostile input can neither recurse deeply nor make us allocate
 * much more than its own size. Unknown fields, and known field ids carrying
 * an unexpected wire type, are skipped. The primitives are inline: the
 * footer walk of a lookup runs them over hundreds of kilobytes. */
#ifndef LH_FORMAT_PQ_META_INT_H
#define LH_FORMAT_PQ_META_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "lh/core/buf.h"
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

static inline lh_status tc_fail(tc *t, const char *why)
{
    return lh_error_set(t->err, LH_ERR_CORRUPT, "thrift %s field %d at byte %zu: %s",
                        t->what ? t->what : "?", t->field, (size_t)(t->p - t->start), why);
}

static inline lh_status tc_u8(tc *t, uint8_t *v)
{
    if (t->p >= t->end) return tc_fail(t, "truncated");
    *v = *t->p++;
    return LH_OK;
}

static inline lh_status tc_varint(tc *t, uint64_t *v)
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

static inline lh_status tc_i64(tc *t, int64_t *v)
{
    uint64_t u = 0;
    LH_TRY(tc_varint(t, &u));
    *v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
    return LH_OK;
}

static inline lh_status tc_i32(tc *t, int32_t *v)
{
    int64_t x = 0;
    LH_TRY(tc_i64(t, &x));
    if (x < INT32_MIN || x > INT32_MAX) return tc_fail(t, "i32 out of range");
    *v = (int32_t)x;
    return LH_OK;
}

static inline lh_status tc_binary(tc *t, const uint8_t **data, size_t *n)
{
    uint64_t len = 0;
    LH_TRY(tc_varint(t, &len));
    if (len > (uint64_t)(t->end - t->p)) return tc_fail(t, "binary length past end");
    *data = t->p;
    *n = (size_t)len;
    t->p += len;
    return LH_OK;
}

/* Field header; *type = T_STOP at the end of the struct. */
static inline lh_status tc_field(tc *t, int *type, int *id)
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

static inline lh_status tc_list(tc *t, int *etype, size_t *size)
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

static inline bool is_bool(int type) { return type == T_TRUE || type == T_FALSE; }

lh_status lh_tc_string(tc *t, char **out);
lh_status lh_tc_bytes(tc *t, lh_buf *b);
/* Skip a value of wire type `type`, nested values included. */
lh_status lh_tc_skip(tc *t, int type);
lh_status lh_tc_skip_struct(tc *t);

/* Per-struct parsing: a field callback decides by (id, wire type); anything it
 * does not claim is skipped. */
typedef lh_status (*tc_field_fn)(tc *t, int id, int type, void *obj, bool *handled);
lh_status lh_tc_struct(tc *t, const char *what, tc_field_fn fn, void *obj);

/* Read a list of structs into a freshly zeroed array; *count is set before
 * parsing so a partial parse can still be freed by the owner. */
lh_status lh_tc_struct_list(tc *t, const char *what, void **arr, size_t *count, size_t elem,
                            void (*init)(void *), tc_field_fn fn);

/* lean: leave out what readers never use (see lh_pq_file_meta_read_lean) */
void lh_tc_begin(tc *t, const uint8_t *data, size_t len, bool lean, lh_error *err);

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

/* Statistics (footer column chunks and data page headers). */
lh_status lh_pq_tc_statistics(tc *t, int id, int type, void *obj, bool *handled);

#endif
