/* Parquet writer construction: options, the flat schema from column specs,
 * nested schemas from a depth-first node list (definition and repetition
 * levels of every leaf), and schema element annotations per kind. */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/format/pq_codec.h"
#include "pq_writer_int.h"

void lh_pq_writer_opts_init(lh_pq_writer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->codec = LH_PQ_SNAPPY;
}

static void schema_leaf(lh_pq_schema_element *e, const char *name, lh_pq_kind kind,
                        lh_pq_repetition rep)
{
    memset(e, 0, sizeof *e);
    e->name = lh_strdup(name);
    e->has_type = true;
    e->has_repetition = true;
    e->repetition = rep;
    e->converted_type = LH_PQ_CT_NONE;
    e->field_id = -1;
    switch (kind) {
    case LH_PQK_STRING:
        e->type = LH_PQ_BYTE_ARRAY;
        e->converted_type = LH_PQ_CT_UTF8;
        e->logical.kind = LH_PQ_LT_STRING;
        break;
    case LH_PQK_TIMESTAMP_US:
        e->type = LH_PQ_INT64;
        e->converted_type = LH_PQ_CT_TIMESTAMP_MICROS;
        e->logical.kind = LH_PQ_LT_TIMESTAMP;
        e->logical.is_adjusted_to_utc = true;
        e->logical.unit = LH_PQ_MICROS;
        break;
    case LH_PQK_BOOL: e->type = LH_PQ_BOOLEAN; break;
    case LH_PQK_INT64: e->type = LH_PQ_INT64; break;
    case LH_PQK_INT32: e->type = LH_PQ_INT32; break;
    case LH_PQK_DOUBLE: e->type = LH_PQ_DOUBLE; break;
    }
}

static lh_status check_opts(const lh_pq_writer_opts *opts, lh_pq_writer_opts *o, lh_error *err)
{
    if (opts) *o = *opts;
    else lh_pq_writer_opts_init(o);
    if (!lh_pq_codec_name(o->codec) || o->codec == LH_PQ_LZO)
        return lh_error_set(err, LH_ERR_UNSUPPORTED, "parquet writer: codec %d", (int)o->codec);
    if (!o->data_page_size) o->data_page_size = 1u << 20;
    if (!o->data_page_rows) o->data_page_rows = LH_PQ_PAGE_MAX_VALUES;
    if (!o->dict_page_size) o->dict_page_size = 1u << 20;
    if (!o->row_group_rows) o->row_group_rows = 1000000;
    if (!o->row_group_bytes) o->row_group_bytes = (size_t)128 << 20;
    if (!o->stats_truncate_len) o->stats_truncate_len = 64;
    /* Page sizes are i32 on the wire; keep the limits well inside. */
    if (o->data_page_size > ((size_t)1 << 30)) o->data_page_size = (size_t)1 << 30;
    if (o->dict_page_size > ((size_t)1 << 30)) o->dict_page_size = (size_t)1 << 30;
    return LH_OK;
}

lh_pq_writer *lh_pq_writer_alloc(lh_storage_writer *sink, const lh_pq_writer_opts *o,
                                  size_t nleaves, size_t nelems, int32_t root_children)
{
    lh_pq_writer *w = lh_calloc(1, sizeof *w);
    w->sink = sink;
    w->o = *o;
    w->o.created_by = NULL;
    w->ncols = nleaves;
    w->cols = lh_calloc(nleaves ? nleaves : 1, sizeof *w->cols);
    lh_pq_file_meta_init(&w->meta);
    w->meta.version = 1;
    w->meta.created_by = o->created_by ? lh_strdup(o->created_by)
                                       : lh_strdup("ftm-lakehouse-c version " LH_VERSION);
    w->meta.type_defined_column_orders = true;
    w->meta.num_schema = nelems + 1;
    w->meta.schema = lh_calloc(nelems + 1, sizeof *w->meta.schema);
    lh_pq_schema_element *root = &w->meta.schema[0];
    root->name = lh_strdup("schema");
    root->has_repetition = true;
    root->repetition = LH_PQ_REQUIRED;
    root->num_children = root_children;
    root->converted_type = LH_PQ_CT_NONE;
    root->field_id = -1;
    return w;
}

lh_status lh_pq_writer_new(lh_storage_writer *sink, const lh_pq_col_spec *cols, size_t ncols,
                           const lh_pq_writer_opts *opts, lh_pq_writer **out, lh_error *err)
{
    *out = NULL;
    lh_pq_writer_opts o;
    LH_TRY(check_opts(opts, &o, err));
    for (size_t i = 0; i < ncols; i++) {
        if (!cols[i].name || !*cols[i].name)
            return lh_error_set(err, LH_ERR_INVALID, "parquet writer: column %zu has no name", i);
        if ((unsigned)cols[i].kind > LH_PQK_DOUBLE)
            return lh_error_set(err, LH_ERR_INVALID, "parquet writer: column %s: bad kind %d",
                                cols[i].name, (int)cols[i].kind);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cols[i].name, cols[j].name) == 0)
                return lh_error_set(err, LH_ERR_INVALID, "parquet writer: duplicate column %s",
                                    cols[i].name);
    }
    lh_pq_writer *w = lh_pq_writer_alloc(sink, &o, ncols, ncols, (int32_t)ncols);
    for (size_t i = 0; i < ncols; i++) {
        lh_pq_wcol_init(&w->cols[i], &cols[i], cols[i].required ? 0 : 1, 0, NULL, 0);
        w->cols[i].page_index = o.page_index;
        schema_leaf(&w->meta.schema[i + 1], cols[i].name, cols[i].kind,
                    cols[i].required ? LH_PQ_REQUIRED : LH_PQ_OPTIONAL);
    }
    *out = w;
    return LH_OK;
}

#define MAX_DEPTH 32

lh_status lh_pq_writer_new_nested(lh_storage_writer *sink, const lh_pq_node *nodes,
                                  size_t nnodes, const lh_pq_writer_opts *opts,
                                  lh_pq_writer **out, lh_error *err)
{
    *out = NULL;
    lh_pq_writer_opts o;
    LH_TRY(check_opts(opts, &o, err));
    /* First pass: validate the tree, count leaves and top-level fields. */
    int remaining[MAX_DEPTH + 1];
    int sp = 0;
    size_t nleaves = 0;
    int32_t top = 0;
    for (size_t i = 0; i < nnodes; i++) {
        const lh_pq_node *n = &nodes[i];
        if (!n->name || !*n->name)
            return lh_error_set(err, LH_ERR_INVALID, "parquet writer: schema node %zu has no name", i);
        if (n->num_children < 0 || (unsigned)n->repetition > LH_PQ_REPEATED ||
            (!n->num_children && (unsigned)n->kind > LH_PQK_DOUBLE))
            return lh_error_set(err, LH_ERR_INVALID, "parquet writer: schema node %s is invalid",
                                n->name);
        if (sp > 0) remaining[sp]--;
        else top++;
        if (n->num_children > 0) {
            if (sp == MAX_DEPTH)
                return lh_error_set(err, LH_ERR_INVALID, "parquet writer: schema nested too deep at %s",
                                    n->name);
            remaining[++sp] = n->num_children;
        } else {
            nleaves++;
        }
        while (sp > 0 && remaining[sp] == 0) sp--;
    }
    if (sp > 0)
        return lh_error_set(err, LH_ERR_INVALID, "parquet writer: schema ends inside a group");

    lh_pq_writer *w = lh_pq_writer_alloc(sink, &o, nleaves, nnodes, top);
    struct {
        int remaining, def, rep;
    } st[MAX_DEPTH + 1];
    const char *path[MAX_DEPTH + 1];
    st[0].def = st[0].rep = 0;
    sp = 0;
    size_t leaf = 0;
    for (size_t i = 0; i < nnodes; i++) {
        const lh_pq_node *n = &nodes[i];
        if (sp > 0) st[sp].remaining--;
        int def = st[sp].def + (n->repetition != LH_PQ_REQUIRED);
        int rep = st[sp].rep + (n->repetition == LH_PQ_REPEATED);
        path[sp] = n->name;
        lh_pq_schema_element *e = &w->meta.schema[i + 1];
        if (n->num_children > 0) {
            memset(e, 0, sizeof *e);
            e->name = lh_strdup(n->name);
            e->has_repetition = true;
            e->repetition = n->repetition;
            e->num_children = n->num_children;
            e->converted_type = n->converted_type;
            e->logical.kind = n->logical;
            e->field_id = -1;
            sp++;
            st[sp].remaining = n->num_children;
            st[sp].def = def;
            st[sp].rep = rep;
        } else {
            schema_leaf(e, n->name, n->kind, n->repetition);
            lh_pq_col_spec spec = {.name = n->name, .kind = n->kind,
                                   .required = n->repetition == LH_PQ_REQUIRED,
                                   .dictionary = n->dictionary, .statistics = n->statistics};
            lh_pq_wcol_init(&w->cols[leaf], &spec, def, rep, path, (size_t)sp + 1);
            w->cols[leaf++].page_index = o.page_index;
        }
        while (sp > 0 && st[sp].remaining == 0) sp--;
    }
    w->nested = true;
    *out = w;
    return LH_OK;
}

size_t lh_pq_writer_num_leaves(const lh_pq_writer *w)
{
    return w->ncols;
}

void lh_pq_writer_leaf_levels(const lh_pq_writer *w, size_t leaf, int *max_def, int *max_rep)
{
    *max_def = leaf < w->ncols ? w->cols[leaf].max_def : 0;
    *max_rep = leaf < w->ncols ? w->cols[leaf].max_rep : 0;
}

