/* lh-pqwrite: write a parquet file with the C writer, for interop tests.
 *
 *   lh-pqwrite [options] <out.parquet> <spec>
 *
 * spec: comma-separated columns "name:kind[:flags]", kind one of string,
 * timestamp, bool, int64, int32, double; flags letters r (required),
 * d (dictionary), s (statistics), b (bloom filter). Rows are JSON arrays on
 * stdin, one per line (null = NULL; timestamps as integer microseconds),
 * unless --gen N generates N deterministic rows (see gen_value).
 * A line holding a JSON object is shredded by field name instead
 * (lh_pq_writer_append_json). With --nested 1, spec is a JSON array of schema
 * nodes, depth-first: {"name", "children": n (groups), "rep": "required" |
 * "optional" | "repeated", "ann": "map" | "list", "kind", "flags": "ds"}
 * and every input line must be an object.
 * Options: --codec NAME, --level N, --page-size N, --dict-size N,
 * --rg-rows N, --rg-bytes N, --trunc N, --fpp X, --kv key=value,
 * --created-by S, --page-index 1, --runs K (--gen strings repeat in runs of
 * K rows, as sorted data does), --cycle C (--gen strings cycle through C
 * values, so a value recurs in later pages). Prints {"rows":N,"row_groups":K} on success. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/error.h"
#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/format/pq_codec.h"
#include "lh/format/pq_writer.h"

#define MAXCOLS 256

static int fail(const char *what, const lh_error *err)
{
    fprintf(stderr, "lh-pqwrite: %s: %s\n", what, err ? err->msg : "");
    return 1;
}

static int parse_codec(const char *s, lh_pq_codec *c)
{
    for (int i = 0; i <= 7; i++) {
        const char *n = lh_pq_codec_name((lh_pq_codec)i);
        if (n && strcasecmp(n, s) == 0) {
            *c = (lh_pq_codec)i;
            return 0;
        }
    }
    return -1;
}

static int parse_spec(char *spec, lh_pq_col_spec *cols, size_t *ncols, double fpp)
{
    *ncols = 0;
    for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
        if (*ncols == MAXCOLS) return -1;
        lh_pq_col_spec *c = &cols[(*ncols)++];
        memset(c, 0, sizeof *c);
        char *kind = strchr(tok, ':');
        if (!kind) return -1;
        *kind++ = 0;
        char *flags = strchr(kind, ':');
        if (flags) *flags++ = 0;
        c->name = tok;
        if (!strcmp(kind, "string")) c->kind = LH_PQK_STRING;
        else if (!strcmp(kind, "timestamp")) c->kind = LH_PQK_TIMESTAMP_US;
        else if (!strcmp(kind, "bool")) c->kind = LH_PQK_BOOL;
        else if (!strcmp(kind, "int64")) c->kind = LH_PQK_INT64;
        else if (!strcmp(kind, "int32")) c->kind = LH_PQK_INT32;
        else if (!strcmp(kind, "double")) c->kind = LH_PQK_DOUBLE;
        else return -1;
        c->bloom_fpp = fpp;
        for (const char *f = flags ? flags : ""; *f; f++) {
            if (*f == 'r') c->required = true;
            else if (*f == 'd') c->dictionary = true;
            else if (*f == 's') c->statistics = true;
            else if (*f == 'b') c->bloom_filter = true;
            else return -1;
        }
    }
    return 0;
}

/* Row i, column j of --gen data; the interop test recomputes the same. */
static void gen_value(const lh_pq_col_spec *c, size_t j, uint64_t i, uint64_t runs,
                      uint64_t cycle, char *sbuf, size_t sn, lh_pq_value *v)
{
    memset(v, 0, sizeof *v);
    if (!c->required && (i + j) % 17 == 0) {
        v->is_null = true;
        return;
    }
    switch (c->kind) {
    case LH_PQK_STRING: {
        uint64_t k = cycle ? i / runs % cycle : i / runs;
        int n = snprintf(sbuf, sn, "s%zu-%llu", j, (unsigned long long)(k * 7919 % 100003));
        v->v.s.p = sbuf;
        v->v.s.len = (size_t)n;
        break;
    }
    case LH_PQK_TIMESTAMP_US: v->v.i64 = 1700000000000000LL + (int64_t)i * 1000003; break;
    case LH_PQK_INT64: v->v.i64 = (int64_t)i * 3 - 1000000; break;
    case LH_PQK_INT32: v->v.i32 = (int32_t)(i % 65536) - 32768; break;
    case LH_PQK_DOUBLE: v->v.f64 = (double)i * 0.5; break;
    case LH_PQK_BOOL: v->v.b = i % 3 == 0; break;
    }
}

static int kind_of(const char *kind, lh_pq_kind *k)
{
    static const char *names[] = {"string", "timestamp", "bool", "int64", "int32", "double"};
    static const lh_pq_kind kinds[] = {LH_PQK_STRING, LH_PQK_TIMESTAMP_US, LH_PQK_BOOL,
                                       LH_PQK_INT64, LH_PQK_INT32, LH_PQK_DOUBLE};
    for (int i = 0; i < 6; i++)
        if (kind && !strcmp(kind, names[i])) {
            *k = kinds[i];
            return 0;
        }
    return -1;
}

/* Nested schema nodes from JSON (strings stay owned by root). */
static int parse_nodes(json_t *root, lh_pq_node *nodes, size_t *n)
{
    if (!json_is_array(root) || json_array_size(root) > MAXCOLS) return -1;
    *n = json_array_size(root);
    for (size_t i = 0; i < *n; i++) {
        json_t *o = json_array_get(root, i);
        lh_pq_node *d = &nodes[i];
        memset(d, 0, sizeof *d);
        d->name = json_string_value(json_object_get(o, "name"));
        d->num_children = (int)json_integer_value(json_object_get(o, "children"));
        const char *rep = json_string_value(json_object_get(o, "rep"));
        d->repetition = !rep || !strcmp(rep, "optional") ? LH_PQ_OPTIONAL
                        : !strcmp(rep, "required")       ? LH_PQ_REQUIRED
                                                         : LH_PQ_REPEATED;
        const char *ann = json_string_value(json_object_get(o, "ann"));
        d->converted_type = LH_PQ_CT_NONE;
        if (ann && !strcmp(ann, "map")) {
            d->converted_type = LH_PQ_CT_MAP;
            d->logical = LH_PQ_LT_MAP;
        } else if (ann && !strcmp(ann, "list")) {
            d->converted_type = LH_PQ_CT_LIST;
            d->logical = LH_PQ_LT_LIST;
        }
        if (!d->num_children && kind_of(json_string_value(json_object_get(o, "kind")), &d->kind))
            return -1;
        const char *flags = json_string_value(json_object_get(o, "flags"));
        d->dictionary = flags && strchr(flags, 'd');
        d->statistics = flags && strchr(flags, 's');
    }
    return 0;
}

static int json_value(const lh_pq_col_spec *c, json_t *j, lh_pq_value *v)
{
    memset(v, 0, sizeof *v);
    if (json_is_null(j)) {
        v->is_null = true;
        return 0;
    }
    switch (c->kind) {
    case LH_PQK_STRING:
        if (!json_is_string(j)) return -1;
        v->v.s.p = json_string_value(j);
        v->v.s.len = json_string_length(j);
        return 0;
    case LH_PQK_TIMESTAMP_US:
    case LH_PQK_INT64:
        if (!json_is_integer(j)) return -1;
        v->v.i64 = json_integer_value(j);
        return 0;
    case LH_PQK_INT32:
        if (!json_is_integer(j)) return -1;
        v->v.i32 = (int32_t)json_integer_value(j);
        return 0;
    case LH_PQK_DOUBLE:
        if (!json_is_number(j)) return -1;
        v->v.f64 = json_number_value(j);
        return 0;
    case LH_PQK_BOOL:
        if (!json_is_boolean(j)) return -1;
        v->v.b = json_is_true(j);
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    double fpp = 0.01;
    long long gen = -1;
    uint64_t runs = 1, cycle = 0;
    int nested = 0;
    const char *kvs[64];
    int nkv = 0;
    int a = 1;
    for (; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
        const char *opt = argv[a];
        if (a + 1 >= argc) return fail("missing option value", NULL);
        const char *val = argv[++a];
        if (!strcmp(opt, "--codec")) {
            if (parse_codec(val, &o.codec)) return fail("unknown codec", NULL);
        } else if (!strcmp(opt, "--level")) o.level = atoi(val);
        else if (!strcmp(opt, "--page-size")) o.data_page_size = strtoull(val, NULL, 10);
        else if (!strcmp(opt, "--dict-size")) o.dict_page_size = strtoull(val, NULL, 10);
        else if (!strcmp(opt, "--rg-rows")) o.row_group_rows = strtoull(val, NULL, 10);
        else if (!strcmp(opt, "--rg-bytes")) o.row_group_bytes = strtoull(val, NULL, 10);
        else if (!strcmp(opt, "--trunc")) o.stats_truncate_len = strtoull(val, NULL, 10);
        else if (!strcmp(opt, "--fpp")) fpp = atof(val);
        else if (!strcmp(opt, "--gen")) gen = atoll(val);
        else if (!strcmp(opt, "--runs") && atoll(val) > 0) runs = (uint64_t)atoll(val);
        else if (!strcmp(opt, "--cycle") && atoll(val) >= 0) cycle = (uint64_t)atoll(val);
        else if (!strcmp(opt, "--nested")) nested = atoi(val);
        else if (!strcmp(opt, "--page-index")) o.page_index = atoi(val) != 0;
        else if (!strcmp(opt, "--created-by")) o.created_by = val;
        else if (!strcmp(opt, "--kv") && nkv < 64) kvs[nkv++] = val;
        else return fail("unknown option", NULL);
    }
    if (argc - a != 2) {
        fprintf(stderr, "usage: lh-pqwrite [options] <out.parquet> <spec>\n");
        return 2;
    }
    char *spec = lh_strdup(argv[a + 1]);
    static lh_pq_col_spec cols[MAXCOLS];
    static lh_pq_node nodes[MAXCOLS];
    size_t ncols = 0, nnodes = 0;
    json_t *schema_json = NULL;
    if (nested) {
        json_error_t jerr;
        schema_json = json_loads(spec, 0, &jerr);
        if (!schema_json || parse_nodes(schema_json, nodes, &nnodes)) return fail("bad nested spec", NULL);
    } else if (parse_spec(spec, cols, &ncols, fpp)) {
        return fail("bad spec", NULL);
    }

    /* The output path becomes storage root (its directory) + key (basename). */
    char *path = lh_strdup(argv[a]);
    char *slash = strrchr(path, '/');
    const char *dir = ".", *key = path;
    if (slash) {
        *slash = 0;
        dir = *path ? path : "/";
        key = slash + 1;
    }
    lh_error err;
    lh_storage *st;
    if (lh_storage_open(dir, &st, &err) != LH_OK) return fail("open storage", &err);
    lh_storage_writer *sink;
    if (lh_storage_writer_open(st, key, &sink, &err) != LH_OK) return fail("open output", &err);
    lh_pq_writer *w;
    lh_status wst = nested ? lh_pq_writer_new_nested(sink, nodes, nnodes, &o, &w, &err)
                           : lh_pq_writer_new(sink, cols, ncols, &o, &w, &err);
    if (wst != LH_OK) return fail("writer", &err);
    for (int i = 0; i < nkv; i++) {
        char *kv = lh_strdup(kvs[i]);
        char *eq = strchr(kv, '=');
        if (eq) *eq = 0;
        lh_pq_writer_add_kv(w, kv, eq ? eq + 1 : NULL);
        free(kv);
    }
    lh_pq_value vals[MAXCOLS];
    int rc = 0;
    if (gen >= 0) {
        static char sbufs[MAXCOLS][64];
        for (long long i = 0; i < gen && !rc; i++) {
            for (size_t j = 0; j < ncols; j++)
                gen_value(&cols[j], j, (uint64_t)i, runs, cycle, sbufs[j], sizeof sbufs[j], &vals[j]);
            if (lh_pq_writer_append(w, vals, &err) != LH_OK) rc = fail("append", &err);
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        long lineno = 0;
        while (!rc && (n = getline(&line, &cap, stdin)) > 0) {
            lineno++;
            json_error_t jerr;
            json_t *row = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &jerr);
            if (row && json_is_object(row)) {
                if (lh_pq_writer_append_json(w, row, &err) != LH_OK) rc = fail("append_json", &err);
                json_decref(row);
                continue;
            }
            if (!row || !json_is_array(row) || json_array_size(row) != ncols) {
                fprintf(stderr, "lh-pqwrite: line %ld: expected a JSON array of %zu values%s%s\n",
                        lineno, ncols, row ? "" : ": ", row ? "" : jerr.text);
                rc = 1;
            }
            for (size_t j = 0; !rc && j < ncols; j++)
                if (json_value(&cols[j], json_array_get(row, j), &vals[j])) {
                    fprintf(stderr, "lh-pqwrite: line %ld: column %s: bad value\n", lineno,
                            cols[j].name);
                    rc = 1;
                }
            if (!rc && lh_pq_writer_append(w, vals, &err) != LH_OK) rc = fail("append", &err);
            json_decref(row);
        }
        free(line);
    }
    if (!rc && lh_pq_writer_finish(w, &err) != LH_OK) rc = fail("finish", &err);
    if (!rc && lh_storage_writer_commit(sink, &err) != LH_OK) rc = fail("commit", &err);
    if (!rc)
        printf("{\"rows\":%llu,\"row_groups\":%zu}\n", (unsigned long long)lh_pq_writer_rows(w),
               lh_pq_writer_meta(w)->num_row_groups);
    lh_pq_writer_free(w);
    lh_storage_writer_free(sink);
    lh_storage_free(st);
    free(path);
    free(spec);
    json_decref(schema_json);
    return rc;
}
