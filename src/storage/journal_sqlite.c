/* SQLite journal backend: WAL mode, busy timeout, one IMMEDIATE transaction
 * per inserted batch, DDL rotation, flush lock by flock(2) on a file beside
 * the database. Table layout and value formats match SQLAlchemy's, so the
 * Python reference reads and writes the same file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lh/core/hash.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "storage/journal_impl.h"
#include "storage/libsqlite_dyn.h"

/* timestamps as SQLAlchemy renders the reference's journal_table on SQLite */
#define SQ_TS "DATETIME"

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

typedef struct sq_journal {
    lh_journal base;
    sqlite3 *db;
    char *path;
    char *lock_path; /* NULL for :memory: */
    int lock_fd;
} sq_journal;

static lh_status sq_err(sqlite3 *db, int rc, lh_error *err, const char *what)
{
    lh_status code = LH_ERR_IO;
    int prim = rc & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) code = LH_ERR_BUSY;
    else if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB) code = LH_ERR_CORRUPT;
    else if (prim == SQLITE_NOMEM) code = LH_ERR_NOMEM;
    /* "disk I/O error" alone does not say that the disk is full: the
     * system's errno of the failed call does */
    int sys = db && (prim == SQLITE_IOERR || prim == SQLITE_FULL || prim == SQLITE_CANTOPEN)
                  ? sqlite3_system_errno(db)
                  : 0;
    return lh_error_set(err, code, "%s: %s (sqlite %d%s%s)", what, db ? sqlite3_errmsg(db) : "?",
                        rc, sys ? ": " : "", sys ? strerror(sys) : "");
}

static lh_status sq_exec(sq_journal *q, const char *sql, lh_error *err)
{
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return sq_err(q->db, rc, err, sql);
    return LH_OK;
}

static void sq_rollback(sq_journal *q)
{
    if (!sqlite3_get_autocommit(q->db)) sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

/* 1 = table has a shard column, 0 = it has not, -1 = no such table. */
static int table_shape(sq_journal *q, const char *table, lh_error *err, lh_status *rc)
{
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "PRAGMA table_info(");
    lh_journal_quote(&sql, table);
    lh_buf_append_str(&sql, ")");
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(q->db, sql.data, -1, &st, NULL);
    lh_buf_free(&sql);
    *rc = LH_OK;
    if (src != SQLITE_OK) {
        *rc = sq_err(q->db, src, err, "table_info");
        return -1;
    }
    int cols = 0, shard = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        cols++;
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (name && strcmp(name, "shard") == 0) shard = 1;
    }
    if (src != SQLITE_DONE) *rc = sq_err(q->db, src, err, "table_info");
    sqlite3_finalize(st);
    return cols == 0 ? -1 : shard;
}

/* The live table exists and has our shard column (a table the reference
 * created lacks it; adding a nullable column is a catalog-only change). */
static lh_status ensure_live(sq_journal *q, lh_error *err)
{
    lh_buf sql = LH_BUF_INIT;
    lh_journal_create_sql(&sql, q->base.table, true, SQ_TS);
    lh_status rc = sq_exec(q, sql.data, err);
    lh_buf_free(&sql);
    if (rc != LH_OK) return rc;
    int shape = table_shape(q, q->base.table, err, &rc);
    if (rc != LH_OK || shape != 0) return rc;
    lh_buf_init(&sql);
    lh_buf_append_str(&sql, "ALTER TABLE ");
    lh_journal_quote(&sql, q->base.table);
    lh_buf_append_str(&sql, " ADD COLUMN shard TEXT");
    int src = sqlite3_exec(q->db, sql.data, NULL, NULL, NULL);
    lh_buf_free(&sql);
    /* Another process won the race to add it. */
    if (src != SQLITE_OK && !strstr(sqlite3_errmsg(q->db), "duplicate column"))
        return sq_err(q->db, src, err, "adding the shard column");
    return LH_OK;
}

static void fmt_ts(int64_t us, char out[LH_ISO_MAX])
{
    lh_time_format_iso(us, out);
    char *t = strchr(out, 'T');
    if (t) *t = ' ';
}

static lh_status bind_text(sqlite3_stmt *st, int idx, const char *v)
{
    int rc = v ? sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
    return rc == SQLITE_OK ? LH_OK : LH_ERR_INTERNAL;
}

static lh_status insert_once(sq_journal *q, const lh_statement *rows, size_t n, lh_error *err,
                             bool *schema_changed)
{
    *schema_changed = false;
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "INSERT INTO ");
    lh_journal_quote(&sql, q->base.table);
    lh_buf_printf(&sql, " (%s) VALUES (?", lh_journal_col_list);
    for (int i = 1; i < JCOL_COUNT; i++) lh_buf_append_str(&sql, ", ?");
    lh_buf_append_str(&sql, ")");

    lh_status rc = sq_exec(q, "BEGIN IMMEDIATE", err);
    if (rc != LH_OK) {
        lh_buf_free(&sql);
        return rc;
    }
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(q->db, sql.data, -1, &st, NULL);
    lh_buf_free(&sql);
    if (src != SQLITE_OK) {
        const char *msg = sqlite3_errmsg(q->db);
        *schema_changed = strstr(msg, "no column named") || strstr(msg, "no such table");
        rc = sq_err(q->db, src, err, "prepare insert");
        sq_rollback(q);
        return rc;
    }
    for (size_t i = 0; i < n && rc == LH_OK; i++) {
        const lh_statement *s = &rows[i];
        char fs[LH_ISO_MAX], ls[LH_ISO_MAX], da[LH_ISO_MAX];
        fmt_ts(s->first_seen, fs);
        fmt_ts(s->last_seen, ls);
        if (s->deleted_at != LH_TS_NULL) fmt_ts(s->deleted_at, da);
        const char *role = s->role && *s->role ? s->role : NULL;
        const char *v[JCOL_COUNT] = {
            s->id, s->entity_id, s->dataset, s->bucket, s->origin, s->source, s->schema,
            s->prop, s->prop_type, s->value, s->original_value, s->lang, NULL, fs, ls,
            s->fragment ? s->fragment : "", role,
            s->deleted_at != LH_TS_NULL ? da : NULL, s->shard,
        };
        for (int c = 0; c < JCOL_COUNT; c++) {
            if (c == JCOL_EXTERNAL) sqlite3_bind_int(st, c + 1, s->external ? 1 : 0);
            else bind_text(st, c + 1, v[c]);
        }
        src = sqlite3_step(st);
        if (src != SQLITE_DONE) {
            rc = sq_err(q->db, src, err, "insert");
            lh_error_prefix(err, "row %zu (id %s)", i, s->id);
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    if (rc == LH_OK) rc = sq_exec(q, "COMMIT", err);
    if (rc != LH_OK) sq_rollback(q);
    return rc;
}

static lh_status sq_insert(lh_journal *j, const lh_statement *rows, size_t n, lh_error *err)
{
    sq_journal *q = (sq_journal *)j;
    bool changed;
    lh_status rc = insert_once(q, rows, n, err, &changed);
    if (rc != LH_OK && changed) {
        /* The reference rotated and recreated the table without our column. */
        LH_TRY(ensure_live(q, err));
        rc = insert_once(q, rows, n, err, &changed);
    }
    return rc;
}

static lh_status sq_segments(lh_journal *j, lh_strlist *out, lh_error *err)
{
    sq_journal *q = (sq_journal *)j;
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT name FROM sqlite_master WHERE type = 'table' "
                      "AND substr(name, 1, length(?1)) = ?1 ORDER BY name";
    int src = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) return sq_err(q->db, src, err, "listing segments");
    sqlite3_bind_text(st, 1, j->seg_prefix, -1, SQLITE_STATIC);
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        lh_strlist_push(out, (const char *)sqlite3_column_text(st, 0));
    lh_status rc = src == SQLITE_DONE ? LH_OK : sq_err(q->db, src, err, "listing segments");
    sqlite3_finalize(st);
    return rc;
}

static lh_status sq_rotate(lh_journal *j, const char *seg, bool *rotated, lh_error *err)
{
    sq_journal *q = (sq_journal *)j;
    *rotated = false;
    /* IMMEDIATE: waits out in-flight insert transactions, then blocks new
     * ones until the fresh table exists. */
    LH_TRY(sq_exec(q, "BEGIN IMMEDIATE", err));
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "SELECT 1 FROM ");
    lh_journal_quote(&sql, j->table);
    lh_buf_append_str(&sql, " LIMIT 1");
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(q->db, sql.data, -1, &st, NULL);
    lh_status rc = LH_OK;
    bool has_rows = false;
    if (src != SQLITE_OK) {
        rc = sq_err(q->db, src, err, "probing the live table");
    } else {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) has_rows = true;
        else if (src != SQLITE_DONE) rc = sq_err(q->db, src, err, "probing the live table");
        sqlite3_finalize(st);
    }
    if (rc == LH_OK && has_rows) {
        lh_buf_reset(&sql);
        lh_buf_append_str(&sql, "ALTER TABLE ");
        lh_journal_quote(&sql, j->table);
        lh_buf_append_str(&sql, " RENAME TO ");
        lh_journal_quote(&sql, seg);
        rc = sq_exec(q, sql.data, err);
        if (rc == LH_OK) {
            lh_buf_reset(&sql);
            lh_journal_create_sql(&sql, j->table, false, SQ_TS);
            rc = sq_exec(q, sql.data, err);
        }
    }
    lh_buf_free(&sql);
    if (rc == LH_OK) rc = sq_exec(q, "COMMIT", err);
    if (rc != LH_OK) {
        sq_rollback(q);
        return rc;
    }
    *rotated = has_rows;
    return LH_OK;
}

/* The last timestamp text of a column and its value: the rows of one
 * import share their timestamps, so most rows skip the parse. */
typedef struct ts_memo {
    char text[48];
    size_t len; /* 0: empty */
    int64_t us;
} ts_memo;

static int64_t col_ts(sqlite3_stmt *st, int c, ts_memo *memo, bool *bad)
{
    const char *t = (const char *)sqlite3_column_text(st, c);
    if (!t) return LH_TS_NULL;
    size_t n = (size_t)sqlite3_column_bytes(st, c);
    if (n && n == memo->len && memcmp(t, memo->text, n) == 0) return memo->us;
    int64_t us;
    lh_error e;
    if (lh_time_parse_iso(t, n, &us, &e) != LH_OK) {
        *bad = true;
        return LH_TS_NULL;
    }
    if (n < sizeof memo->text) {
        memcpy(memo->text, t, n);
        memo->len = n;
        memo->us = us;
    }
    return us;
}

static lh_status sq_scan(lh_journal *j, const char *table, const char *entity_ids, bool ordered,
                         size_t batch_size, lh_journal_consumer fn, void *ctx,
                         lh_journal_flush_stats *stats, lh_error *err)
{
    sq_journal *q = (sq_journal *)j;
    lh_status rc;
    int shape = table_shape(q, table, err, &rc);
    if (rc != LH_OK) return rc;
    if (shape < 0) return lh_error_set(err, LH_ERR_NOT_FOUND, "no table %s", table);
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "SELECT ");
    for (int c = 0; c < JCOL_COUNT; c++) {
        if (c) lh_buf_append_str(&sql, ", ");
        if (c == JCOL_SHARD && !shape) lh_buf_append_str(&sql, "NULL");
        else lh_journal_quote(&sql, lh_journal_col_names[c]);
    }
    lh_buf_append_str(&sql, " FROM ");
    lh_journal_quote(&sql, table);
    if (entity_ids)
        lh_buf_append_str(&sql, " WHERE entity_id IN (SELECT value FROM json_each(?1)) "
                                "AND deleted_at IS NULL");
    if (ordered && shape) lh_buf_append_str(&sql, " ORDER BY shard, entity_id, id");
    else if (ordered) lh_buf_append_str(&sql, " ORDER BY entity_id, id");
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(q->db, sql.data, -1, &st, NULL);
    lh_buf_free(&sql);
    if (src != SQLITE_OK) return sq_err(q->db, src, err, "select");
    if (entity_ids) sqlite3_bind_text(st, 1, entity_ids, -1, SQLITE_STATIC);

    lh_stmt_batch batch;
    lh_stmt_batch_init(&batch);
    int64_t row = 0;
    ts_memo first_memo = {0}, last_memo = {0}, deleted_memo = {0};
    for (;;) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            lh_journal_rowtext r;
            bool bad = false;
            for (int c = 0; c < JCOL_COUNT; c++)
                r.v[c] = (const char *)sqlite3_column_text(st, c);
            r.external = sqlite3_column_int(st, JCOL_EXTERNAL) != 0;
            r.first_seen = col_ts(st, JCOL_FIRST_SEEN, &first_memo, &bad);
            r.last_seen = col_ts(st, JCOL_LAST_SEEN, &last_memo, &bad);
            r.deleted_at = col_ts(st, JCOL_DELETED_AT, &deleted_memo, &bad);
            if (bad) {
                rc = lh_error_set(err, LH_ERR_CORRUPT, "table %s row %lld (id %s): bad timestamp",
                                  table, (long long)row, r.v[JCOL_ID] ? r.v[JCOL_ID] : "?");
                break;
            }
            lh_journal_push_row(&batch, &r);
            row++;
            if (batch.len < batch_size) continue;
        } else if (src != SQLITE_DONE) {
            rc = sq_err(q->db, src, err, "select");
            break;
        }
        if (batch.len) {
            rc = lh_journal_hand_over(&batch, fn, ctx, stats, err);
            if (rc != LH_OK) break;
        }
        if (src == SQLITE_DONE) break;
    }
    sqlite3_finalize(st);
    lh_stmt_batch_free(&batch);
    return rc;
}

static lh_status sq_drop(lh_journal *j, const char *table, lh_error *err)
{
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "DROP TABLE IF EXISTS ");
    lh_journal_quote(&sql, table);
    lh_status rc = sq_exec((sq_journal *)j, sql.data, err);
    lh_buf_free(&sql);
    return rc;
}

static lh_status sq_count(lh_journal *j, const char *table, int64_t *out, lh_error *err)
{
    sq_journal *q = (sq_journal *)j;
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "SELECT count(*) FROM ");
    lh_journal_quote(&sql, table);
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(q->db, sql.data, -1, &st, NULL);
    lh_buf_free(&sql);
    if (src != SQLITE_OK) {
        if (strstr(sqlite3_errmsg(q->db), "no such table"))
            return lh_error_set(err, LH_ERR_NOT_FOUND, "no table %s", table);
        return sq_err(q->db, src, err, "count");
    }
    lh_status rc = LH_OK;
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    else rc = sq_err(q->db, src, err, "count");
    sqlite3_finalize(st);
    return rc;
}

static lh_status sq_delete_live(lh_journal *j, lh_error *err)
{
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "DELETE FROM ");
    lh_journal_quote(&sql, j->table);
    lh_status rc = sq_exec((sq_journal *)j, sql.data, err);
    lh_buf_free(&sql);
    return rc;
}

static lh_status sq_read_begin(lh_journal *j, lh_error *err)
{
    return sq_exec((sq_journal *)j, "BEGIN", err);
}

static void sq_read_end(lh_journal *j)
{
    sq_rollback((sq_journal *)j);
}

static lh_status sq_lock(lh_journal *j, lh_error *err)
{
    sq_journal *q = (sq_journal *)j;
    if (!q->lock_path) return LH_OK;
    int fd = open(q->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return lh_error_errno(err, LH_ERR_IO, errno, "open %s", q->lock_path);
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        close(fd);
        return lh_error_errno(err, LH_ERR_IO, e, "flock %s", q->lock_path);
    }
    q->lock_fd = fd;
    return LH_OK;
}

static void sq_unlock(lh_journal *j)
{
    sq_journal *q = (sq_journal *)j;
    if (q->lock_fd >= 0) {
        close(q->lock_fd); /* releases the flock */
        q->lock_fd = -1;
    }
}

static void sq_free(lh_journal *j)
{
    sq_journal *q = (sq_journal *)j;
    sq_unlock(j);
    sqlite3_close_v2(q->db);
    free(q->path);
    free(q->lock_path);
    lh_journal_free_base(j);
    free(q);
}

/* The flush lock's file, beside the database and named after the table.
 * A dataset name may be 255 characters, which with the database's name
 * makes a file name no filesystem takes (ENAMETOOLONG: no flush could ever
 * run, the rows stayed in the journal): such a table goes by its SHA-1. */
static char *lock_path_for(const char *path, const char *table)
{
    char *lock = lh_asprintf("%s-flush-%s.lock", path, table);
    const char *slash = strrchr(lock, '/');
    if (strlen(slash ? slash + 1 : lock) <= NAME_MAX) return lock;
    free(lock);
    char hex[LH_SHA1_HEX_LEN + 1];
    lh_sha1_hex(table, strlen(table), hex);
    return lh_asprintf("%s-flush-%s.lock", path, hex);
}

static const lh_journal_ops sq_ops = {
    .insert = sq_insert,
    .segments = sq_segments,
    .rotate = sq_rotate,
    .scan = sq_scan,
    .drop = sq_drop,
    .count = sq_count,
    .delete_live = sq_delete_live,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .lock = sq_lock,
    .unlock = sq_unlock,
    .free = sq_free,
};

lh_status lh_journal_sqlite_open(const char *path, lh_journal **out, lh_journal *proto,
                                 lh_error *err)
{
    LH_TRY(lh_libsqlite_load(err));
    sq_journal *q = lh_calloc(1, sizeof *q);
    lh_journal_init_base(&q->base, &sq_ops, proto);
    q->lock_fd = -1;
    q->path = lh_strdup(path);
    bool memory = strcmp(path, ":memory:") == 0;
    q->base.memory = memory;
    if (!memory) q->lock_path = lock_path_for(path, q->base.table);
    lh_status rc = LH_OK;
    if (q->base.existing && !memory && access(path, F_OK) != 0) {
        rc = lh_error_set(err, LH_ERR_NOT_FOUND, "no journal file %s", path);
        goto fail;
    }
    int src = sqlite3_open_v2(path, &q->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              NULL);
    if (src != SQLITE_OK) {
        rc = sq_err(q->db, src, err, "open");
        goto fail;
    }
    sqlite3_busy_timeout(q->db, q->base.busy_ms);
    if (!memory && (rc = sq_exec(q, "PRAGMA journal_mode=WAL", err)) != LH_OK) goto fail;
    rc = sq_exec(q, q->base.relaxed_sync ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                 err);
    if (rc != LH_OK) goto fail;
    /* Debian builds SQLite with SECURE_DELETE: dropping a flushed segment
     * would zero-fill and rewrite every one of its pages (3 s of a 10 s
     * flush of 3M statements). The rows live on in the lake; FAST still
     * clears what it can without extra I/O. */
    if ((rc = sq_exec(q, "PRAGMA secure_delete=FAST", err)) != LH_OK) goto fail;
    if ((rc = ensure_live(q, err)) != LH_OK) goto fail;
    *out = &q->base;
    return LH_OK;
fail:
    sq_free(&q->base);
    return rc;
}
