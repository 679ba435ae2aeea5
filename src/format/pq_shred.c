/* Record shredding (Dremel): JSON records to definition/repetition levels
 * over the writer's schema, for nested files such as Delta checkpoints. */
#include <jansson.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/format/pq_writer.h"
#include "pq_writer_col.h"

#define MAX_ELEMS 4096

typedef struct shred {
    lh_pq_writer *w;
    const lh_pq_schema_element *el;
    size_t nel;
    size_t *next;     /* index of the element after the subtree of i */
    size_t *leaf0;    /* first leaf index of the subtree of i */
    int *rep;         /* repetition level of element i */
    lh_error *err;
} shred;

static size_t index_tree(shred *s, size_t i, size_t *leaf, int rep)
{
    const lh_pq_schema_element *e = &s->el[i];
    if (i > 0 && e->repetition == LH_PQ_REPEATED) rep++;
    s->rep[i] = rep;
    s->leaf0[i] = *leaf;
    size_t j = i + 1;
    if (e->num_children == 0 && i > 0) (*leaf)++;
    for (int c = 0; c < e->num_children && j < s->nel; c++) j = index_tree(s, j, leaf, rep);
    s->next[i] = j;
    return j;
}

static size_t leaf_end(const shred *s, size_t i)
{
    return s->next[i] < s->nel ? s->leaf0[s->next[i]] : lh_pq_writer_num_leaves(s->w);
}

/* Null (or empty) at definition level d for every leaf under element i. */
static lh_status nulls(shred *s, size_t i, int d, int r)
{
    lh_pq_value v = {.is_null = true};
    for (size_t l = s->leaf0[i]; l < leaf_end(s, i); l++)
        LH_TRY(lh_pq_writer_put(s->w, l, d, r, &v, s->err));
    return LH_OK;
}

static lh_status leaf_value(shred *s, size_t i, const json_t *j, int d, int r)
{
    const lh_pq_schema_element *e = &s->el[i];
    lh_pq_value v;
    memset(&v, 0, sizeof v);
    bool ok;
    switch (e->type) {
    case LH_PQ_BYTE_ARRAY:
        ok = json_is_string(j);
        if (ok) {
            v.v.s.p = json_string_value(j);
            v.v.s.len = json_string_length(j);
        }
        break;
    case LH_PQ_INT64:
        ok = json_is_integer(j);
        if (ok) v.v.i64 = json_integer_value(j);
        break;
    case LH_PQ_INT32:
        ok = json_is_integer(j) && json_integer_value(j) >= INT32_MIN &&
             json_integer_value(j) <= INT32_MAX;
        if (ok) v.v.i32 = (int32_t)json_integer_value(j);
        break;
    case LH_PQ_DOUBLE:
        ok = json_is_number(j);
        if (ok) v.v.f64 = json_number_value(j);
        break;
    case LH_PQ_BOOLEAN:
        ok = json_is_boolean(j);
        if (ok) v.v.b = json_is_true(j);
        break;
    default:
        ok = false;
    }
    if (!ok)
        return lh_error_set(s->err, LH_ERR_INVALID, "parquet writer: field %s: JSON value of the wrong type",
                            e->name);
    return lh_pq_writer_put(s->w, s->leaf0[i], d, r, &v, s->err);
}

static lh_status field(shred *s, size_t i, const json_t *j, int d, int r);

/* Children of group i, present at definition level d. */
static lh_status children(shred *s, size_t i, const json_t *obj, int d, int r)
{
    if (!json_is_object(obj))
        return lh_error_set(s->err, LH_ERR_INVALID, "parquet writer: field %s: expected a JSON object",
                            s->el[i].name);
    for (size_t c = i + 1; c < s->next[i]; c = s->next[c])
        LH_TRY(field(s, c, json_object_get(obj, s->el[c].name), d, r));
    return LH_OK;
}

/* The items of repeated element i (a JSON array; NULL = none). */
static lh_status repeated(shred *s, size_t i, const json_t *arr, int d, int r)
{
    if (arr && !json_is_null(arr) && !json_is_array(arr))
        return lh_error_set(s->err, LH_ERR_INVALID, "parquet writer: field %s: expected a JSON array",
                            s->el[i].name);
    size_t n = arr ? json_array_size(arr) : 0;
    if (n == 0) return nulls(s, i, d, r);
    for (size_t k = 0; k < n; k++) {
        const json_t *item = json_array_get(arr, k);
        int rr = k == 0 ? r : s->rep[i];
        if (s->el[i].num_children == 0) {
            if (json_is_null(item))
                return lh_error_set(s->err, LH_ERR_INVALID, "parquet writer: field %s: null item",
                                    s->el[i].name);
            LH_TRY(leaf_value(s, i, item, d + 1, rr));
        } else {
            LH_TRY(children(s, i, item, d + 1, rr));
        }
    }
    return LH_OK;
}

static bool is_map(const lh_pq_schema_element *e)
{
    return e->logical.kind == LH_PQ_LT_MAP || e->converted_type == LH_PQ_CT_MAP ||
           e->converted_type == LH_PQ_CT_MAP_KEY_VALUE;
}

static bool is_list(const lh_pq_schema_element *e)
{
    return e->logical.kind == LH_PQ_LT_LIST || e->converted_type == LH_PQ_CT_LIST;
}

/* MAP {k: v} / LIST [x] as the array of items of their repeated child. */
static lh_status annotated(shred *s, size_t i, const json_t *j, int d, int r)
{
    const lh_pq_schema_element *e = &s->el[i];
    size_t c = i + 1;
    if (e->num_children != 1 || s->el[c].repetition != LH_PQ_REPEATED)
        return lh_error_set(s->err, LH_ERR_INVALID,
                            "parquet writer: %s %s needs one repeated child", is_map(e) ? "map" : "list",
                            e->name);
    const lh_pq_schema_element *kv = &s->el[c];
    json_t *items = json_array();
    lh_status st = LH_OK;
    if (is_map(e)) {
        if (!json_is_object(j) || kv->num_children != 2)
            st = lh_error_set(s->err, LH_ERR_INVALID, "parquet writer: map %s: expected a JSON object",
                              e->name);
        const char *k;
        json_t *v;
        size_t vi = s->next[c + 1];
        json_object_foreach((json_t *)j, k, v) {
            if (st != LH_OK) break;
            json_t *o = json_object();
            json_object_set_new(o, s->el[c + 1].name, json_string(k));
            json_object_set(o, s->el[vi].name, v);
            json_array_append_new(items, o);
        }
    } else if (!json_is_array(j)) {
        st = lh_error_set(s->err, LH_ERR_INVALID, "parquet writer: list %s: expected a JSON array",
                          e->name);
    } else if (kv->num_children == 0) { /* 2-level list: the repeated leaf holds the items */
        json_array_extend(items, (json_t *)j);
    } else {
        size_t k;
        json_t *v;
        json_array_foreach((json_t *)j, k, v) {
            json_t *o = json_object();
            json_object_set(o, s->el[c + 1].name, v);
            json_array_append_new(items, o);
        }
    }
    if (st == LH_OK) st = repeated(s, c, items, d, r);
    json_decref(items);
    return st;
}

static lh_status field(shred *s, size_t i, const json_t *j, int d, int r)
{
    const lh_pq_schema_element *e = &s->el[i];
    if (e->repetition == LH_PQ_REPEATED) return repeated(s, i, j, d, r);
    if (!j || json_is_null(j)) {
        if (e->repetition == LH_PQ_REQUIRED)
            return lh_error_set(s->err, LH_ERR_INVALID, "parquet writer: required field %s is missing",
                                e->name);
        return nulls(s, i, d, r);
    }
    int dd = d + (e->repetition == LH_PQ_OPTIONAL);
    if (e->num_children == 0) return leaf_value(s, i, j, dd, r);
    if (is_map(e) || is_list(e)) return annotated(s, i, j, dd, r);
    return children(s, i, j, dd, r);
}

lh_status lh_pq_writer_append_json(lh_pq_writer *w, const struct json_t *record, lh_error *err)
{
    const lh_pq_file_meta *m = lh_pq_writer_meta(w);
    if (m->num_schema > MAX_ELEMS)
        return lh_error_set(err, LH_ERR_UNSUPPORTED, "parquet writer: schema too large to shred");
    shred s = {.w = w, .el = m->schema, .nel = m->num_schema, .err = err};
    s.next = lh_calloc(m->num_schema, sizeof *s.next);
    s.leaf0 = lh_calloc(m->num_schema, sizeof *s.leaf0);
    s.rep = lh_calloc(m->num_schema, sizeof *s.rep);
    size_t leaf = 0;
    index_tree(&s, 0, &leaf, 0);
    lh_status st = children(&s, 0, record, 0, 0);
    if (st == LH_OK) st = lh_pq_writer_end_row(w, err);
    else lh_pq_writer_poison(w);
    free(s.next);
    free(s.leaf0);
    free(s.rep);
    return st;
}
