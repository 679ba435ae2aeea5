/* The Thrift compact protocol reader of the parquet metadata parsers: what
 * is too large to inline (see pq_meta_int.h). */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "pq_meta_int.h"

lh_status lh_tc_string(tc *t, char **out)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    LH_TRY(tc_binary(t, &d, &n));
    free(*out);
    *out = lh_strndup((const char *)d, n);
    return LH_OK;
}

lh_status lh_tc_bytes(tc *t, lh_buf *b)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    LH_TRY(tc_binary(t, &d, &n));
    lh_buf_reset(b);
    lh_buf_append(b, d, n);
    return LH_OK;
}

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
lh_status lh_tc_skip(tc *t, int type)
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
                int et = 0;
                size_t len = 0;
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

lh_status lh_tc_skip_struct(tc *t)
{
    return lh_tc_skip(t, T_STRUCT);
}

/* Per-struct parsing: a field callback decides by (id, wire type); anything it
 * does not claim is skipped. */
lh_status lh_tc_struct(tc *t, const char *what, tc_field_fn fn, void *obj)
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
        /* a bool field is all header */
        if (!handled && !is_bool(type)) LH_TRY(lh_tc_skip(t, type));
    }
    t->what = saved_what;
    t->field = saved_field;
    t->depth--;
    return LH_OK;
}

/* Read a list of structs into a freshly zeroed array; *count is set before
 * parsing so a partial parse can still be freed by the owner. */
lh_status lh_tc_struct_list(tc *t, const char *what, void **arr, size_t *count,
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
    for (size_t i = 0; i < n; i++) LH_TRY(lh_tc_struct(t, what, fn, (char *)*arr + i * elem));
    return LH_OK;
}

/* lean: leave out what readers never use (see lh_pq_file_meta_read_lean) */
void lh_tc_begin(tc *t, const uint8_t *data, size_t len, bool lean, lh_error *err)
{
    memset(t, 0, sizeof *t);
    t->lean = lean;
    t->start = t->p = data;
    t->end = len ? data + len : data;
    t->err = err;
    /* 64x the input covers real footers (~10x) with room to spare */
    t->budget = len < (SIZE_MAX >> 7) ? len * 64 + ((size_t)1 << 16) : SIZE_MAX;
}
