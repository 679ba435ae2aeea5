/* lh-pqread: print a parquet file through lh_pq_reader, for interop tests
 * and manual inspection.
 *
 *   lh-pqread [--levels] [--meta] [--max-levels N] <file> [column...]
 *
 * Default: one JSON object per row with the selected non-repeated leaves
 * (all of them when none is named), keyed by dotted path. Strings are JSON
 * strings, other byte arrays "0x<hex>", timestamps INT64 microseconds,
 * floats numbers (NaN/Infinity as strings).
 * --levels: one line per level entry: {"c":path,"g":rowgroup,"d":def,"r":rep,"v":value}.
 * --meta: one line per leaf with its path, physical type and max levels. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/format/pq_reader.h"

static bool leaf_is_string(const lh_pq_leaf *l)
{
    const lh_pq_schema_element *e = l->element;
    return e->logical.kind == LH_PQ_LT_STRING || e->logical.kind == LH_PQ_LT_JSON ||
           e->logical.kind == LH_PQ_LT_ENUM || e->converted_type == LH_PQ_CT_UTF8 ||
           e->converted_type == 4 || e->converted_type == 19;
}

static void put_value(lh_buf *o, const lh_pq_leaf *l, const lh_pq_column *c, size_t i)
{
    switch (c->type) {
    case LH_PQ_BOOLEAN: lh_buf_append_str(o, ((uint8_t *)c->values)[i] ? "true" : "false"); break;
    case LH_PQ_INT32: lh_buf_printf(o, "%" PRId32, ((int32_t *)c->values)[i]); break;
    case LH_PQ_INT64: lh_buf_printf(o, "%" PRId64, ((int64_t *)c->values)[i]); break;
    case LH_PQ_FLOAT:
    case LH_PQ_DOUBLE: {
        double d = c->type == LH_PQ_FLOAT ? ((float *)c->values)[i] : ((double *)c->values)[i];
        if (isnan(d)) lh_buf_append_str(o, "\"NaN\"");
        else if (isinf(d)) lh_buf_append_str(o, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        else lh_buf_printf(o, c->type == LH_PQ_FLOAT ? "%.9g" : "%.17g", d);
        break;
    }
    default: {
        size_t n = (size_t)(c->offsets[i + 1] - c->offsets[i]);
        const char *p = n ? c->bytes.data + c->offsets[i] : "";
        if (leaf_is_string(l)) {
            lh_buf_append_json_str(o, p, n);
        } else {
            lh_buf_append_str(o, "\"0x");
            for (size_t k = 0; k < n; k++) lh_buf_printf(o, "%02x", (uint8_t)p[k]);
            lh_buf_append_str(o, "\"");
        }
    }
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: lh-pqread [--levels] [--meta] [--max-levels N] <file> [column...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    bool levels = false, meta = false;
    size_t max_levels = 0;
    int a = 1;
    for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
        if (strcmp(argv[a], "--levels") == 0) levels = true;
        else if (strcmp(argv[a], "--meta") == 0) meta = true;
        else if (strcmp(argv[a], "--max-levels") == 0 && a + 1 < argc) max_levels = strtoull(argv[++a], NULL, 10);
        else return usage();
    }
    if (a >= argc) return usage();
    const char *file = argv[a++];
    lh_error err;
    lh_error_clear(&err);
    lh_buf data = LH_BUF_INIT;
    FILE *f = fopen(file, "rb");
    if (!f) {
        perror(file);
        return 1;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) lh_buf_append(&data, chunk, n);
    fclose(f);
    lh_pq_reader *r = NULL;
    int rc = 1;
    size_t *cols = NULL, ncols = 0;
    lh_pq_column *out = NULL;
    lh_buf o = LH_BUF_INIT;
    if (lh_pq_reader_open_mem(data.data, data.len, file, &r, &err) != LH_OK) goto fail;
    if (max_levels) lh_pq_reader_set_limits(r, max_levels, 0);
    size_t nl = lh_pq_reader_num_leaves(r);
    if (meta) {
        for (size_t i = 0; i < nl; i++) {
            const lh_pq_leaf *l = lh_pq_reader_leaf(r, i);
            lh_buf_reset(&o);
            lh_buf_append_str(&o, "{\"path\":");
            lh_buf_append_json_str(&o, l->path, strlen(l->path));
            lh_buf_printf(&o, ",\"type\":%d,\"max_def\":%d,\"max_rep\":%d}\n", (int)l->type,
                          l->max_def, l->max_rep);
            fputs(o.data, stdout);
        }
        rc = 0;
        goto done;
    }
    cols = lh_calloc(nl + (size_t)argc, sizeof *cols);
    if (a < argc) {
        for (; a < argc; a++) {
            int k = lh_pq_reader_find(r, argv[a]);
            if (k < 0) {
                fprintf(stderr, "lh-pqread: no column %s\n", argv[a]);
                goto done;
            }
            cols[ncols++] = (size_t)k;
        }
    } else {
        for (size_t i = 0; i < nl; i++)
            if (levels || lh_pq_reader_leaf(r, i)->max_rep == 0) cols[ncols++] = i;
    }
    if (!levels) {
        for (size_t k = 0; k < ncols; k++)
            if (lh_pq_reader_leaf(r, cols[k])->max_rep > 0) {
                fprintf(stderr, "lh-pqread: %s is repeated; use --levels\n",
                        lh_pq_reader_leaf(r, cols[k])->path);
                goto done;
            }
    }
    out = lh_calloc(ncols ? ncols : 1, sizeof *out);
    for (size_t k = 0; k < ncols; k++) lh_pq_column_init(&out[k]);
    size_t *vi = lh_calloc(ncols ? ncols : 1, sizeof *vi);
    for (size_t g = 0; g < lh_pq_reader_num_row_groups(r); g++) {
        for (size_t k = 0; k < ncols; k++) {
            if (lh_pq_reader_read_column(r, g, cols[k], &out[k], &err) != LH_OK) {
                free(vi);
                goto fail;
            }
            vi[k] = 0;
        }
        if (levels) {
            for (size_t k = 0; k < ncols; k++) {
                const lh_pq_leaf *l = lh_pq_reader_leaf(r, cols[k]);
                const lh_pq_column *c = &out[k];
                for (size_t i = 0; i < c->num_levels; i++) {
                    lh_buf_reset(&o);
                    lh_buf_append_str(&o, "{\"c\":");
                    lh_buf_append_json_str(&o, l->path, strlen(l->path));
                    int d = c->def_levels ? c->def_levels[i] : l->max_def;
                    lh_buf_printf(&o, ",\"g\":%zu,\"d\":%d,\"r\":%d,\"v\":", g, d,
                                  c->rep_levels ? c->rep_levels[i] : 0);
                    if (d == l->max_def) put_value(&o, l, c, vi[k]++);
                    else lh_buf_append_str(&o, "null");
                    lh_buf_append_str(&o, "}\n");
                    fputs(o.data, stdout);
                }
            }
            continue;
        }
        int64_t rows = lh_pq_reader_row_group_rows(r, g);
        for (int64_t i = 0; i < rows; i++) {
            lh_buf_reset(&o);
            lh_buf_append_byte(&o, '{');
            for (size_t k = 0; k < ncols; k++) {
                const lh_pq_leaf *l = lh_pq_reader_leaf(r, cols[k]);
                const lh_pq_column *c = &out[k];
                if (k) lh_buf_append_byte(&o, ',');
                lh_buf_append_json_str(&o, l->path, strlen(l->path));
                lh_buf_append_byte(&o, ':');
                if (c->def_levels && c->def_levels[i] < l->max_def) lh_buf_append_str(&o, "null");
                else put_value(&o, l, c, vi[k]++);
            }
            lh_buf_append_str(&o, "}\n");
            fputs(o.data, stdout);
        }
    }
    free(vi);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "lh-pqread: [%s] %s\n", lh_status_name(err.code), err.msg);
done:
    for (size_t k = 0; out && k < ncols; k++) lh_pq_column_free(&out[k]);
    free(out);
    free(cols);
    lh_buf_free(&o);
    lh_pq_reader_free(r);
    lh_buf_free(&data);
    return rc;
}
