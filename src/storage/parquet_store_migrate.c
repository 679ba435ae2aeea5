/* ParquetStore migrations of a table an older writer created: the columns
 * it lacks and the table properties it was created without. */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "pstore_internal.h"

/* Commit a metadata update of snap's table as `operation` with one
 * operation parameter. */
static lh_status commit_metadata(lh_pstore *ps, const lh_delta_snapshot *snap,
                                 const char *schema_string, const lh_delta_kv *set, size_t n,
                                 const char *operation, const lh_delta_kv *param,
                                 int64_t *version, lh_error *err)
{
    lh_delta_txn *txn = NULL;
    LH_TRY(lh_delta_txn_new(ps->st, ps->table, snap, &txn, err));
    lh_status rc = lh_delta_txn_update_metadata(txn, schema_string, set, n, err);
    if (rc == LH_OK) {
        lh_delta_txn_set_operation(txn, operation, param, 1);
        rc = lh_delta_txn_commit(txn, version, err);
    }
    lh_delta_txn_free(txn);
    return rc;
}

lh_status lh_pstore_check_columns(const lh_pstore *ps, const lh_delta_snapshot *snap,
                                  lh_error *err)
{
    const lh_delta_metadata *m = lh_delta_snapshot_metadata(snap);
    lh_buf missing = LH_BUF_INIT;
    for (int c = 0; c < LH_STMT_NCOLS; c++)
        if (!lh_delta_metadata_field(m, lh_stmt_col_names[c]))
            lh_buf_printf(&missing, "%s`%s`", missing.len ? ", " : "", lh_stmt_col_names[c]);
    lh_status rc = LH_OK;
    if (missing.len)
        rc = lh_error_set(err, LH_ERR_UNSUPPORTED,
                          "statement table \"%s\" has no column %s (an older version created "
                          "it): run `ftm-lakehouse -d %s maintenance migrate` first",
                          ps->table, missing.data, ps->dataset);
    /* another writer may have retyped a column (delta-rs schema_mode
     * "overwrite"): our files would contradict the table's schema, and
     * readers that trust it misread them, as delta-rs refuses such an
     * append for the reference */
    for (int c = 0; rc == LH_OK && c < LH_STMT_NCOLS; c++) {
        const lh_delta_field *f = lh_delta_metadata_field(m, lh_stmt_col_names[c]);
        if (f && strcmp(f->type, lh_stmt_col_type(c)) != 0)
            rc = lh_error_set(err, LH_ERR_UNSUPPORTED,
                              "statement table \"%s\" has column `%s` of type %.100s, not %s: "
                              "another writer changed its schema",
                              ps->table, lh_stmt_col_names[c], f->type, lh_stmt_col_type(c));
    }
    /* a required column this writer does not know would be NULL in its files */
    for (size_t i = 0; rc == LH_OK && i < m->num_fields; i++) {
        if (lh_stmt_col_index(m->fields[i].name) < 0 && !m->fields[i].nullable)
            rc = lh_error_set(err, LH_ERR_UNSUPPORTED,
                              "statement table \"%s\" has a required column `%s` this writer "
                              "does not know (a newer version created it)",
                              ps->table, m->fields[i].name);
    }
    lh_buf_free(&missing);
    return rc;
}

lh_status lh_pstore_check_rewritable(const lh_pstore *ps, const lh_delta_snapshot *snap,
                                     lh_error *err)
{
    /* Before any file is rewritten: a table whose protocol the commit will
     * refuse (a writer feature delta-rs added) would be left with a copy
     * of every rewritten partition as orphans. */
    LH_TRY(lh_delta_check_writable(snap, ps->table, err));
    const lh_delta_metadata *m = lh_delta_snapshot_metadata(snap);
    for (size_t i = 0; i < m->num_fields; i++) {
        if (lh_stmt_col_index(m->fields[i].name) < 0)
            return lh_error_set(err, LH_ERR_UNSUPPORTED,
                                "statement table \"%s\" has a column `%s` this version does not "
                                "know: rewriting its files would drop its values",
                                ps->table, m->fields[i].name);
    }
    return LH_OK;
}

/* The statement columns the table of snap lacks (nullable: older files
 * read NULL there). */
static size_t missing_columns(const lh_delta_snapshot *snap, lh_delta_field out[LH_STMT_NCOLS])
{
    const lh_delta_metadata *m = lh_delta_snapshot_metadata(snap);
    size_t n = 0;
    for (int c = 0; c < LH_STMT_NCOLS; c++)
        if (!lh_delta_metadata_field(m, lh_stmt_col_names[c]))
            out[n++] = (lh_delta_field){lh_stmt_col_names[c], lh_stmt_col_type(c), true};
    return n;
}

/* The store's table properties the table of snap differs in. */
static size_t owed_properties(const lh_delta_snapshot *snap, lh_delta_kv out[LH_PSTORE_NCONF])
{
    size_t n = 0;
    for (size_t i = 0; i < LH_PSTORE_NCONF; i++) {
        const lh_delta_kv *want = &lh_pstore_table_configuration[i];
        const char *now = lh_delta_snapshot_config(snap, want->key, NULL);
        if (!now || strcmp(now, want->value) != 0) out[n++] = *want;
    }
    return n;
}

static lh_status add_missing_columns(lh_pstore *ps, void *ctx, lh_error *err)
{
    lh_strlist *added = ctx;
    lh_delta_snapshot *snap = NULL;
    LH_TRY(lh_pstore_snapshot(ps, &snap, err));
    if (!snap) return LH_OK;
    lh_delta_field missing[LH_STMT_NCOLS];
    size_t n = missing_columns(snap, missing);
    lh_status rc = LH_OK;
    if (n) {
        lh_buf schema = LH_BUF_INIT, fields = LH_BUF_INIT;
        rc = lh_delta_schema_add_fields(lh_delta_snapshot_metadata(snap)->schema_string, missing,
                                        n, &schema, err);
        /* the operation parameter lists the new fields, as delta-rs's does */
        lh_buf_append_byte(&fields, '[');
        for (size_t i = 0; i < n; i++) {
            if (i) lh_buf_append_byte(&fields, ',');
            lh_buf_append_str(&fields, "{\"name\":");
            lh_buf_append_json_str(&fields, missing[i].name, strlen(missing[i].name));
            lh_buf_append_str(&fields, ",\"type\":");
            lh_buf_append_json_str(&fields, missing[i].type, strlen(missing[i].type));
            lh_buf_append_str(&fields, ",\"nullable\":true,\"metadata\":{}}");
        }
        lh_buf_append_byte(&fields, ']');
        if (rc == LH_OK) {
            lh_delta_kv kv = {"fields", fields.data};
            int64_t version;
            rc = commit_metadata(ps, snap, schema.data, NULL, 0, "ADD COLUMN", &kv, &version, err);
        }
        for (size_t i = 0; rc == LH_OK && i < n; i++) lh_strlist_push(added, missing[i].name);
        lh_buf_free(&schema);
        lh_buf_free(&fields);
    }
    lh_delta_snapshot_free(snap);
    return rc;
}

static lh_status set_properties(lh_pstore *ps, void *ctx, lh_error *err)
{
    lh_strlist *changed = ctx;
    lh_delta_snapshot *snap = NULL;
    LH_TRY(lh_pstore_snapshot(ps, &snap, err));
    if (!snap) return LH_OK;
    lh_delta_kv set[LH_PSTORE_NCONF];
    size_t n = owed_properties(snap, set);
    lh_buf props = LH_BUF_INIT;
    lh_buf_append_byte(&props, '{');
    for (size_t i = 0; i < n; i++) {
        if (i) lh_buf_append_byte(&props, ',');
        lh_buf_append_json_str(&props, set[i].key, strlen(set[i].key));
        lh_buf_append_byte(&props, ':');
        lh_buf_append_json_str(&props, set[i].value, strlen(set[i].value));
    }
    lh_buf_append_byte(&props, '}');
    lh_status rc = LH_OK;
    int64_t version = -1;
    if (n) {
        lh_delta_kv kv = {"properties", props.data};
        rc = commit_metadata(ps, snap, NULL, set, n, "SET TBLPROPERTIES", &kv, &version, err);
        for (size_t i = 0; rc == LH_OK && i < n; i++) lh_strlist_push(changed, set[i].key);
    }
    lh_buf_free(&props);
    lh_delta_snapshot_free(snap);
    if (rc != LH_OK || version < 0) return rc;
    /* as the reference: checkpoint, then drop the log the new retention
     * has expired (readers then load the checkpoint, not every commit) */
    rc = lh_delta_snapshot_load(ps->st, ps->table, version, &snap, err);
    if (rc == LH_OK) rc = lh_delta_checkpoint_and_cleanup(ps->st, snap, NULL, err);
    lh_delta_snapshot_free(snap);
    return rc;
}

/* Whether the table owes anything by count (read without the fence, as the
 * reference: an up-to-date table does not wait for writers or merges;
 * the job re-reads under the fence). */
static lh_status owes(lh_pstore *ps, bool columns, bool *owed, lh_error *err)
{
    *owed = false;
    lh_delta_snapshot *snap = NULL;
    LH_TRY(lh_pstore_snapshot(ps, &snap, err));
    if (!snap) return LH_OK;
    lh_delta_field f[LH_STMT_NCOLS];
    lh_delta_kv kv[LH_PSTORE_NCONF];
    *owed = columns ? missing_columns(snap, f) > 0 : owed_properties(snap, kv) > 0;
    lh_delta_snapshot_free(snap);
    return LH_OK;
}

lh_status lh_pstore_evolve_schema(lh_pstore *ps, lh_strlist *added, lh_error *err)
{
    bool owed;
    LH_TRY(owes(ps, true, &owed, err));
    return owed ? lh_pstore_fenced(ps, add_missing_columns, added, err) : LH_OK;
}

lh_status lh_pstore_configure_table(lh_pstore *ps, lh_strlist *changed, lh_error *err)
{
    bool owed;
    LH_TRY(owes(ps, false, &owed, err));
    return owed ? lh_pstore_fenced(ps, set_properties, changed, err) : LH_OK;
}
