/* lh-pstore: drive the ParquetStore from interop tests.
 *
 *   lh-pstore LAKE DATASET SHARDS append < statements.jsonl
 *   lh-pstore LAKE DATASET SHARDS merge [force] | compact | vacuum | destroy | unlock
 *   lh-pstore LAKE DATASET SHARDS dump [raw]   (live statements as JSON lines)
 *   lh-pstore LAKE DATASET SHARDS changed SINCE_ISO
 *   lh-pstore LAKE DATASET SHARDS delete-origin ORIGIN   (prints the rows dropped)
 *
 * Statement JSON lines as the model reads and writes them (stmt_io.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/timeutil.h"
#include "lh/model/stmt_io.h"
#include "lh/storage/parquet_store.h"
#include "lh/storage/stmt_table.h"

static int die(const lh_error *e)
{
    fprintf(stderr, "lh-pstore: %s\n", e->msg);
    return 1;
}

static int append(lh_pstore *ps)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    lh_error err;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (lh_stmt_parse_json(line, (size_t)n, &b, &err) != LH_OK) {
            fprintf(stderr, "lh-pstore: bad statement line: %s\n", err.msg);
            free(line);
            lh_stmt_batch_free(&b);
            return 2;
        }
    }
    free(line);
    lh_status rc = lh_pstore_append(ps, &b, &err);
    lh_stmt_batch_free(&b);
    return rc == LH_OK ? 0 : die(&err);
}

static lh_status dump_fn(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    lh_buf out = LH_BUF_INIT;
    for (size_t i = 0; i < n; i++) lh_stmt_write_json(&out, &rows[i]);
    fwrite(out.data, 1, out.len, stdout);
    lh_buf_free(&out);
    return LH_OK;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: lh-pstore LAKE DATASET SHARDS COMMAND [ARG]\n");
        return 2;
    }
    lh_error err;
    lh_storage *st = NULL;
    if (lh_storage_open(argv[1], &st, &err) != LH_OK) return die(&err);
    lh_pstore_opts o;
    lh_pstore_opts_init(&o);
    o.shards = atoi(argv[3]);
    lh_pstore *ps = NULL;
    if (lh_pstore_open(st, argv[2], &o, &ps, &err) != LH_OK) return die(&err);
    const char *cmd = argv[4];
    const char *arg = argc > 5 ? argv[5] : "";
    int rc = 0;
    lh_status s = LH_OK;
    lh_pstore_report rep;
    if (strcmp(cmd, "append") == 0) {
        rc = append(ps);
    } else if (strcmp(cmd, "merge") == 0) {
        s = lh_pstore_merge(ps, strcmp(arg, "force") == 0, &rep, &err);
    } else if (strcmp(cmd, "compact") == 0) {
        s = lh_pstore_compact(ps, &rep, &err);
    } else if (strcmp(cmd, "vacuum") == 0) {
        size_t deleted = 0;
        s = lh_pstore_vacuum(ps, 0, &deleted, NULL, &err);
        if (s == LH_OK) printf("%zu\n", deleted);
    } else if (strcmp(cmd, "delete-origin") == 0) {
        int64_t deleted = 0;
        s = lh_pstore_delete_origin(ps, arg, &deleted, &err);
        if (s == LH_OK) printf("%lld\n", (long long)deleted);
    } else if (strcmp(cmd, "destroy") == 0) {
        s = lh_pstore_destroy(ps, &err);
    } else if (strcmp(cmd, "unlock") == 0) {
        bool released = false;
        s = lh_pstore_unlock(ps, &released, &err);
        if (s == LH_OK) printf("%s\n", released ? "released" : "none");
    } else if (strcmp(cmd, "dump") == 0) {
        lh_pstore_filter q;
        lh_pstore_filter_init(&q);
        q.include_tombstones = strcmp(arg, "raw") == 0;
        s = lh_pstore_query_statements(ps, &q, dump_fn, NULL, &err);
    } else if (strcmp(cmd, "entity") == 0) { /* one entity's live rows: a pruned read */
        lh_pstore_filter q;
        lh_pstore_filter_init(&q);
        q.entity_ids = &arg;
        q.num_entity_ids = 1;
        s = lh_pstore_query_statements(ps, &q, dump_fn, NULL, &err);
    } else if (strcmp(cmd, "changed") == 0) {
        int64_t since = 0;
        lh_strlist ids;
        lh_strlist_init(&ids);
        s = lh_time_parse_iso(arg, strlen(arg), &since, &err);
        if (s == LH_OK) s = lh_pstore_changed_entity_ids(ps, since, &ids, &err);
        for (size_t i = 0; s == LH_OK && i < ids.len; i++) puts(ids.items[i]);
        lh_strlist_free(&ids);
    } else {
        fprintf(stderr, "lh-pstore: unknown command %s\n", cmd);
        rc = 2;
    }
    if (s != LH_OK) rc = die(&err);
    lh_pstore_free(ps);
    lh_storage_free(st);
    return rc;
}
