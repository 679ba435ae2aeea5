/* lh-delta: drive the Delta log module from the interop tests.
 *
 *   lh-delta create ROOT PREFIX SCHEMA PARTCOLS [key=value ...]
 *       SCHEMA "id:string,ts:timestamp,flag:boolean"; PARTCOLS "a,b" or "-"
 *   lh-delta partdir deltars|hive col=value ...   (value "\N" = null)
 *   lh-delta commit ROOT PREFIX JSON
 *       {"operation":..,"params":{..},"read":bool,"adds":[{"path":..,"pv":{..},
 *        "stats":..,"dataChange":bool}],"remove_where":[{col:value}],
 *        "remove_all":bool,"remove_paths":[..],"dataChange":bool}
 *       sizes and modification times of adds come from the storage
 *   lh-delta append-each ROOT PREFIX PVJSON FILE...   one blind append per file
 *   lh-delta snapshot ROOT PREFIX [VERSION]           JSON on stdout
 *   lh-delta vacuum ROOT PREFIX RETENTION_MS [dry]    JSON list of paths
 *   lh-delta checkpoint ROOT PREFIX [VERSION]         write a checkpoint
 * Exit 0 on success; otherwise 1 with "<status>: <message>" on stderr. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/delta_internal.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/format/delta.h"

static int fail(lh_status rc, const lh_error *err)
{
    fprintf(stderr, "%s: %s\n", lh_status_name(rc), err->msg);
    return 1;
}

static int cmd_create(lh_storage *st, const char *prefix, int argc, char **argv)
{
    lh_error err;
    char *schema = lh_strdup(argv[0]);
    lh_delta_field fields[64];
    size_t nf = 0;
    for (char *tok = strtok(schema, ","); tok && nf < 64; tok = strtok(NULL, ",")) {
        char *colon = strchr(tok, ':');
        if (!colon) return fprintf(stderr, "bad schema field %s\n", tok), 2;
        *colon = 0;
        fields[nf++] = (lh_delta_field){tok, colon + 1, true};
    }
    char *parts = lh_strdup(argv[1]);
    const char *pcols[16];
    size_t np = 0;
    if (strcmp(parts, "-") != 0)
        for (char *tok = strtok(parts, ","); tok && np < 16; tok = strtok(NULL, ",")) pcols[np++] = tok;
    lh_delta_kv conf[32];
    size_t nc = 0;
    for (int i = 2; i < argc && nc < 32; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) continue;
        *eq = 0;
        conf[nc++] = (lh_delta_kv){argv[i], eq + 1};
    }
    lh_delta_table_spec spec = {fields, nf, pcols, np, conf, nc, NULL, NULL};
    int64_t v;
    lh_status rc = lh_delta_create(st, prefix, &spec, &v, &err);
    free(schema);
    free(parts);
    if (rc != LH_OK) return fail(rc, &err);
    printf("%" PRId64 "\n", v);
    return 0;
}

static int cmd_partdir(int argc, char **argv)
{
    lh_delta_escape style = strcmp(argv[0], "hive") == 0 ? LH_DELTA_ESCAPE_HIVE : LH_DELTA_ESCAPE_DELTARS;
    lh_delta_kv kv[16];
    int n = 0;
    for (int i = 1; i < argc && n < 16; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) return 2;
        *eq = 0;
        kv[n++] = (lh_delta_kv){argv[i], strcmp(eq + 1, "\\N") == 0 ? NULL : eq + 1};
    }
    lh_buf b = LH_BUF_INIT;
    lh_delta_partition_dir(kv, (size_t)n, style, &b);
    printf("%s\n", b.data ? b.data : "");
    lh_buf_free(&b);
    return 0;
}

/* JSON object of partition values -> kv array (borrowed strings). */
static size_t pv_from_json(json_t *obj, lh_delta_kv *kv, size_t cap)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (n < cap) kv[n++] = (lh_delta_kv){k, json_is_string(v) ? json_string_value(v) : NULL};
    }
    return n;
}

static bool matches(const lh_delta_file *f, json_t *where)
{
    const char *k;
    json_t *v;
    json_object_foreach(where, k, v) {
        bool found;
        const char *fv = lh_delta_map_get(&f->partition_values, k, &found);
        const char *wv = json_is_string(v) ? json_string_value(v) : NULL;
        if (!fv != !wv || (fv && strcmp(fv, wv) != 0)) return false;
    }
    return true;
}

static lh_status add_file(lh_storage *st, const char *prefix, lh_delta_txn *t, const char *path,
                          json_t *pvobj, const char *stats, bool data_change, lh_error *err)
{
    char *key = lh_delta_key(prefix, path);
    lh_stat fst = {0, 0};
    lh_status rc = lh_storage_stat(st, key, &fst, err);
    free(key);
    if (rc != LH_OK) return rc;
    lh_delta_kv pv[16];
    size_t npv = pvobj ? pv_from_json(pvobj, pv, 16) : 0;
    lh_delta_add a = {path, pv, npv, (int64_t)fst.size, fst.mtime_ms, data_change, stats};
    return lh_delta_txn_add(t, &a, err);
}

static int cmd_commit(lh_storage *st, const char *prefix, const char *spec_text)
{
    lh_error err;
    json_error_t jerr;
    json_t *spec = json_loads(spec_text, 0, &jerr);
    if (!spec) return fprintf(stderr, "bad JSON: %s\n", jerr.text), 2;
    bool removes = json_object_get(spec, "remove_where") || json_is_true(json_object_get(spec, "remove_all")) ||
                   json_object_get(spec, "remove_paths");
    lh_delta_snapshot *s = NULL;
    lh_status rc = LH_OK;
    if (removes || json_is_true(json_object_get(spec, "read")))
        rc = lh_delta_snapshot_load(st, prefix, LH_DELTA_LATEST, &s, &err);
    lh_delta_txn *t = NULL;
    if (rc == LH_OK) rc = lh_delta_txn_new(st, prefix, s, &t, &err);
    bool rm_change = !json_is_false(json_object_get(spec, "dataChange"));
    json_t *where = json_object_get(spec, "remove_where");
    json_t *paths = json_object_get(spec, "remove_paths");
    if (rc == LH_OK && s) {
        size_t i;
        json_t *w;
        json_array_foreach(where, i, w) {
            lh_delta_kv kv[16];
            lh_delta_txn_read_partition(t, kv, pv_from_json(w, kv, 16));
        }
        for (size_t k = 0; rc == LH_OK && k < lh_delta_snapshot_num_files(s); k++) {
            const lh_delta_file *f = lh_delta_snapshot_file(s, k);
            bool rm = json_is_true(json_object_get(spec, "remove_all"));
            json_array_foreach(where, i, w) rm = rm || matches(f, w);
            json_array_foreach(paths, i, w) rm = rm || strcmp(json_string_value(w), f->path) == 0;
            if (rm) rc = lh_delta_txn_remove(t, f, rm_change, 0, &err);
        }
    }
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(spec, "adds"), i, a) {
        if (rc != LH_OK) break;
        rc = add_file(st, prefix, t, json_string_value(json_object_get(a, "path")),
                      json_object_get(a, "pv"), json_string_value(json_object_get(a, "stats")),
                      !json_is_false(json_object_get(a, "dataChange")), &err);
    }
    json_t *op = json_object_get(spec, "operation");
    if (rc == LH_OK && json_is_string(op)) {
        lh_delta_kv params[16];
        json_t *p = json_object_get(spec, "params");
        lh_delta_txn_set_operation(t, json_string_value(op), params, p ? pv_from_json(p, params, 16) : 0);
    }
    int64_t v = -1;
    if (rc == LH_OK) rc = lh_delta_txn_commit(t, &v, &err);
    lh_delta_txn_free(t);
    lh_delta_snapshot_free(s);
    json_decref(spec);
    if (rc != LH_OK) return fail(rc, &err);
    printf("%" PRId64 "\n", v);
    return 0;
}

static int cmd_append_each(lh_storage *st, const char *prefix, const char *pvtext, int argc,
                           char **argv)
{
    lh_error err;
    json_t *pv = json_loads(pvtext, 0, NULL);
    for (int i = 0; i < argc; i++) {
        lh_delta_txn *t;
        lh_status rc = lh_delta_txn_new(st, prefix, NULL, &t, &err);
        if (rc == LH_OK) rc = add_file(st, prefix, t, argv[i], pv, NULL, true, &err);
        int64_t v;
        if (rc == LH_OK) rc = lh_delta_txn_commit(t, &v, &err);
        lh_delta_txn_free(t);
        if (rc != LH_OK) {
            json_decref(pv);
            return fail(rc, &err);
        }
        printf("%" PRId64 "\n", v);
        fflush(stdout);
    }
    json_decref(pv);
    return 0;
}

static json_t *map_json(const lh_delta_map *m)
{
    json_t *o = json_object();
    for (size_t i = 0; i < m->len; i++)
        json_object_set_new(o, m->items[i].key, m->items[i].value ? json_string(m->items[i].value) : json_null());
    return o;
}

static json_t *file_json(const lh_delta_file *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(f->path));
    json_object_set_new(o, "raw_path", json_string(f->raw_path));
    json_object_set_new(o, "pv", map_json(&f->partition_values));
    json_object_set_new(o, "size", json_integer(f->size));
    json_object_set_new(o, "modificationTime", json_integer(f->modification_time));
    json_object_set_new(o, "dataChange", json_boolean(f->data_change));
    json_object_set_new(o, "stats", f->stats ? json_string(f->stats) : json_null());
    json_object_set_new(o, "version", json_integer(f->version));
    if (f->tags.len) json_object_set_new(o, "tags", map_json(&f->tags));
    return o;
}

static int cmd_snapshot(lh_storage *st, const char *prefix, int64_t version)
{
    lh_error err;
    lh_delta_snapshot *s;
    lh_status rc = lh_delta_snapshot_load(st, prefix, version, &s, &err);
    if (rc != LH_OK) return fail(rc, &err);
    const lh_delta_metadata *m = lh_delta_snapshot_metadata(s);
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(lh_delta_snapshot_version(s)));
    json_object_set_new(o, "id", json_string(m->id));
    json_t *fields = json_array(), *pcols = json_array(), *files = json_array(), *tombs = json_array();
    for (size_t i = 0; i < m->num_fields; i++) {
        json_t *f = json_object();
        json_object_set_new(f, "name", json_string(m->fields[i].name));
        json_object_set_new(f, "type", json_string(m->fields[i].type));
        json_object_set_new(f, "nullable", json_boolean(m->fields[i].nullable));
        json_array_append_new(fields, f);
    }
    for (size_t i = 0; i < m->partition_columns.len; i++)
        json_array_append_new(pcols, json_string(m->partition_columns.items[i]));
    for (size_t i = 0; i < lh_delta_snapshot_num_files(s); i++)
        json_array_append_new(files, file_json(lh_delta_snapshot_file(s, i)));
    for (size_t i = 0; i < lh_delta_snapshot_num_tombstones(s); i++)
        json_array_append_new(tombs, file_json(lh_delta_snapshot_tombstone(s, i)));
    json_object_set_new(o, "fields", fields);
    json_object_set_new(o, "partitionColumns", pcols);
    json_object_set_new(o, "configuration", map_json(&m->configuration));
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "tombstones", tombs);
    json_t *txns = json_object();
    for (size_t i = 0; i < lh_delta_snapshot_num_app_txns(s); i++) {
        const lh_delta_app_txn *t = lh_delta_snapshot_app_txn(s, i);
        json_object_set_new(txns, t->app_id, json_integer(t->version));
    }
    json_object_set_new(o, "txns", txns);
    const lh_delta_protocol *p = lh_delta_snapshot_protocol(s);
    json_object_set_new(o, "minReaderVersion", json_integer(p->min_reader_version));
    json_object_set_new(o, "minWriterVersion", json_integer(p->min_writer_version));
    const char *ci = lh_delta_snapshot_commit_info(s);
    json_object_set_new(o, "commitInfo", ci ? json_loads(ci, 0, NULL) : json_null());
    char *text = json_dumps(o, JSON_COMPACT);
    printf("%s\n", text);
    free(text);
    json_decref(o);
    lh_delta_snapshot_free(s);
    return 0;
}

static int cmd_vacuum(lh_storage *st, const char *prefix, int64_t retention_ms, bool dry)
{
    lh_error err;
    lh_strlist out;
    lh_strlist_init(&out);
    size_t n;
    lh_status rc = lh_delta_vacuum(st, prefix, retention_ms, lh_now_us() / 1000, dry, &out, &n, &err);
    if (rc != LH_OK) {
        lh_strlist_free(&out);
        return fail(rc, &err);
    }
    json_t *a = json_array();
    for (size_t i = 0; i < out.len; i++) json_array_append_new(a, json_string(out.items[i]));
    char *text = json_dumps(a, JSON_COMPACT);
    printf("%s\n", text);
    free(text);
    json_decref(a);
    lh_strlist_free(&out);
    return 0;
}

static int cmd_checkpoint(lh_storage *st, const char *prefix, int64_t version)
{
    lh_error err;
    lh_delta_snapshot *s;
    lh_status rc = lh_delta_snapshot_load(st, prefix, version, &s, &err);
    if (rc == LH_OK) rc = lh_delta_checkpoint_write(st, s, &err);
    if (rc == LH_OK) printf("%" PRId64 "\n", lh_delta_snapshot_version(s));
    lh_delta_snapshot_free(s);
    return rc == LH_OK ? 0 : fail(rc, &err);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "partdir") == 0) return cmd_partdir(argc - 2, argv + 2);
    if (argc < 4) {
        fprintf(stderr, "usage: lh-delta create|commit|append-each|snapshot|vacuum ROOT PREFIX ...\n");
        return 2;
    }
    lh_error err;
    lh_storage *st;
    lh_status rc = lh_storage_open(argv[2], &st, &err);
    if (rc != LH_OK) return fail(rc, &err);
    const char *cmd = argv[1], *prefix = strcmp(argv[3], ".") == 0 ? "" : argv[3];
    int ret = 2;
    if (strcmp(cmd, "create") == 0 && argc >= 6)
        ret = cmd_create(st, prefix, argc - 4, argv + 4);
    else if (strcmp(cmd, "commit") == 0 && argc == 5)
        ret = cmd_commit(st, prefix, argv[4]);
    else if (strcmp(cmd, "append-each") == 0 && argc >= 5)
        ret = cmd_append_each(st, prefix, argv[4], argc - 5, argv + 5);
    else if (strcmp(cmd, "snapshot") == 0)
        ret = cmd_snapshot(st, prefix, argc >= 5 ? strtoll(argv[4], NULL, 10) : LH_DELTA_LATEST);
    else if (strcmp(cmd, "checkpoint") == 0)
        ret = cmd_checkpoint(st, prefix, argc >= 5 ? strtoll(argv[4], NULL, 10) : LH_DELTA_LATEST);
    else if (strcmp(cmd, "vacuum") == 0 && argc >= 5)
        ret = cmd_vacuum(st, prefix, strtoll(argv[4], NULL, 10), argc >= 6 && strcmp(argv[5], "dry") == 0);
    else
        fprintf(stderr, "lh-delta: bad command or arguments\n");
    lh_storage_free(st);
    return ret;
}
