/* PostgreSQL journal backend over libpq: inserts by COPY (text format, one
 * autocommitted statement per batch), rotation as ALTER TABLE RENAME + CREATE
 * TABLE in one transaction under a lock_timeout, ordered drains through a
 * server-side cursor, and the flush lock as a session advisory lock keyed
 * like the reference's (crc32 of the table name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "storage/journal_impl.h"
#include "storage/libpq_dyn.h"

#define COPY_CHUNK (1 << 20)
/* timestamps as SQLAlchemy renders the reference's journal_table on postgres */
#define PG_TS "TIMESTAMP WITH TIME ZONE"

typedef struct pg_journal {
    lh_journal base;
    PGconn *conn;
    long long lock_key;
    bool locked;
    /* The live table has our shard column. The reference's DDL has none and
     * we add it, but a role that may insert without owning the table cannot:
     * it writes without the column, as the reference does (a flush derives
     * the shard of a row that has none). */
    bool shard_col;
    /* The dataset's name leaves no room for segment names: nothing can be
     * journalled, and a journal with nothing in it flushes, counts and
     * clears as empty (see lh_journal_pg_open). */
    bool too_long;
    bool create_denied; /* the last ensure_live may not CREATE (42501) */
} pg_journal;

static lh_status too_long_err(pg_journal *p, lh_error *err)
{
    return lh_error_set(err, LH_ERR_INVALID,
                        "dataset name \"%s\" too long for a postgres journal (max %zu bytes)",
                        p->base.dataset, (size_t)(63 - strlen("journal_-seg-")));
}

static lh_status code_for(const char *sqlstate)
{
    if (!sqlstate) return LH_ERR_IO;
    if (strcmp(sqlstate, "42P01") == 0) return LH_ERR_NOT_FOUND;
    if (strcmp(sqlstate, "55P03") == 0 || strcmp(sqlstate, "40P01") == 0 ||
        strcmp(sqlstate, "40001") == 0)
        return LH_ERR_BUSY;
    if (strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0) return LH_ERR_INVALID;
    return LH_ERR_IO;
}

/* Error from a result (res may be NULL after a connection failure); clears res. */
static lh_status res_err(pg_journal *p, PGresult *res, lh_error *err, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg) msg = PQerrorMessage(p->conn);
    char clean[512];
    snprintf(clean, sizeof clean, "%s", msg);
    size_t n = strlen(clean);
    while (n && (clean[n - 1] == '\n' || clean[n - 1] == ' ')) clean[--n] = 0;
    lh_status rc = lh_error_set(err, code_for(state), "%s: %s [%s]", what, clean,
                                state ? state : "no sqlstate");
    PQclear(res);
    return rc;
}

static bool state_is(PGresult *res, const char *state)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s && strcmp(s, state) == 0;
}

/* Run sql; an error says what was being done (not the SQL: a rotation's
 * is three statements of DDL). */
static lh_status pg_exec(pg_journal *p, const char *sql, const char *what, lh_error *err)
{
    PGresult *res = PQexec(p->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return res_err(p, res, err, what);
    PQclear(res);
    return LH_OK;
}

static void quiet_notices(void *arg, const char *message);

/* What every session of ours is set to: a new one after a reconnect too
 * (PQreset dials with the conninfo only), else text would cross in the
 * server's default encoding. */
static lh_status session_setup(pg_journal *p, lh_error *err)
{
    PQsetNoticeProcessor(p->conn, quiet_notices, NULL);
    if (PQsetClientEncoding(p->conn, "UTF8") != 0)
        return lh_error_set(err, LH_ERR_IO, "client encoding: %s", PQerrorMessage(p->conn));
    return pg_exec(p, "SET TIME ZONE 'UTC'", "setting the session's time zone", err);
}

/* Seconds a connection may take when neither the URI nor PGCONNECT_TIMEOUT
 * says: libpq's default is to wait forever, and a server that accepts but
 * does not answer (stopped, or a firewall's half-open port) hung a flush
 * or import with no word. */
#define DEFAULT_CONNECT_TIMEOUT "30"

static PGconn *connect_bounded(const char *conninfo)
{
    const char *env = getenv("PGCONNECT_TIMEOUT");
    if (env && *env) return PQconnectdb(conninfo);
    /* the default first: the expanded conninfo's own connect_timeout,
     * coming later, overrides it (PQreset reconnects with both) */
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {DEFAULT_CONNECT_TIMEOUT, conninfo, NULL};
    return PQconnectdbParams(keys, values, 1);
}

/* A dropped connection is re-dialled once before a statement. Not within a
 * flush: its advisory lock died with the old session, and going on
 * without it would let another flusher drain the same segment. */
static lh_status ensure_conn(pg_journal *p, lh_error *err)
{
    if (PQstatus(p->conn) == CONNECTION_OK) return LH_OK;
    PQreset(p->conn);
    if (PQstatus(p->conn) != CONNECTION_OK)
        return lh_error_set(err, LH_ERR_IO, "reconnect: %s", PQerrorMessage(p->conn));
    bool was_locked = p->locked;
    p->locked = false;
    LH_TRY(session_setup(p, err));
    if (was_locked)
        return lh_error_set(err, LH_ERR_IO,
                            "the connection dropped during a flush, and the flush lock with it: "
                            "the rows not yet moved stay in the journal; flush again");
    return LH_OK;
}

static void pg_rollback(pg_journal *p)
{
    if (PQtransactionStatus(p->conn) != PQTRANS_IDLE) PQclear(PQexec(p->conn, "ROLLBACK"));
}

/* 1 = has the shard column, 0 = has not, -1 = no such table. */
static int table_shape(pg_journal *p, const char *table, lh_error *err, lh_status *rc)
{
    lh_buf q = LH_BUF_INIT;
    lh_journal_quote(&q, table);
    const char *params[1] = {q.data};
    PGresult *res = PQexecParams(
        p->conn,
        "SELECT to_regclass($1) IS NOT NULL, EXISTS (SELECT 1 FROM pg_attribute WHERE "
        "attrelid = to_regclass($1) AND attname = 'shard' AND NOT attisdropped)",
        1, NULL, params, NULL, NULL, 0);
    lh_buf_free(&q);
    *rc = LH_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *rc = res_err(p, res, err, "table shape");
        return -1;
    }
    int shape = PQgetvalue(res, 0, 0)[0] != 't' ? -1 : PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    return shape;
}

/* table is the live table and not there (yet): it is made by the first
 * insert, and reads as empty until then. */
static bool live_absent(pg_journal *p, const char *table, lh_error *err, lh_status *rc)
{
    *rc = LH_OK;
    if (strcmp(table, p->base.table) != 0) return false;
    return table_shape(p, table, err, rc) < 0 && *rc == LH_OK;
}

static lh_status ensure_live(pg_journal *p, lh_error *err)
{
    lh_status rc;
    int shape = table_shape(p, p->base.table, err, &rc);
    if (rc != LH_OK) return rc;
    p->shard_col = true;
    if (shape == 1) return LH_OK;
    lh_buf sql = LH_BUF_INIT;
    if (shape < 0) {
        lh_journal_create_sql(&sql, p->base.table, true, PG_TS);
    } else {
        lh_buf_append_str(&sql, "ALTER TABLE ");
        lh_journal_quote(&sql, p->base.table);
        lh_buf_append_str(&sql, " ADD COLUMN IF NOT EXISTS shard TEXT");
    }
    PGresult *res = PQexec(p->conn, sql.data);
    lh_buf_free(&sql);
    p->create_denied = shape < 0 && state_is(res, "42501");
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        return LH_OK;
    }
    /* Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog:
     * on its index (23505), its table (42P07), the table's row type (42710),
     * or the column another ALTER added (42701). The other one committed. */
    if (state_is(res, "23505") || state_is(res, "42P07") || state_is(res, "42710") ||
        state_is(res, "42701")) {
        PQclear(res);
        return LH_OK;
    }
    /* Not the owner of a table the reference made (42501 on the ALTER):
     * a role granted INSERT writes to it all the same, as the reference's
     * writers do; refusing failed every import and flush of that role. */
    if (shape == 0 && state_is(res, "42501")) {
        PQclear(res);
        p->shard_col = false;
        return LH_OK;
    }
    return res_err(p, res, err, "creating the journal table");
}

static void copy_field(lh_buf *b, const char *v)
{
    if (!v) {
        lh_buf_append_str(b, "\\N");
        return;
    }
    for (const char *s = v; *s; s++) {
        switch (*s) {
        case '\\': lh_buf_append_str(b, "\\\\"); break;
        case '\t': lh_buf_append_str(b, "\\t"); break;
        case '\n': lh_buf_append_str(b, "\\n"); break;
        case '\r': lh_buf_append_str(b, "\\r"); break;
        default: lh_buf_append_byte(b, (uint8_t)*s);
        }
    }
}

static void copy_ts(lh_buf *b, int64_t us)
{
    if (us == LH_TS_NULL) {
        lh_buf_append_str(b, "\\N");
        return;
    }
    char iso[LH_ISO_MAX];
    lh_time_format_iso(us, iso);
    lh_buf_append_str(b, iso);
    lh_buf_append_str(b, "+00");
}

static lh_status put_copy(pg_journal *p, lh_buf *b, lh_error *err)
{
    if (b->len && PQputCopyData(p->conn, b->data, (int)b->len) != 1)
        return lh_error_set(err, LH_ERR_IO, "COPY data: %s", PQerrorMessage(p->conn));
    lh_buf_reset(b);
    return LH_OK;
}

static lh_status copy_once(pg_journal *p, const lh_statement *rows, size_t n, lh_error *err,
                           bool *retry)
{
    *retry = false;
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "COPY ");
    lh_journal_quote(&sql, p->base.table);
    /* the column list without its last name, "shard", when the table has none */
    size_t cols = strlen(lh_journal_col_list);
    if (!p->shard_col) cols -= strlen(", \"shard\"");
    lh_buf_printf(&sql, " (%.*s) FROM STDIN", (int)cols, lh_journal_col_list);
    PGresult *res = PQexec(p->conn, sql.data);
    lh_buf_free(&sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        *retry = state_is(res, "42703") || state_is(res, "42P01");
        return res_err(p, res, err, "COPY");
    }
    PQclear(res);
    lh_buf b = LH_BUF_INIT;
    lh_status rc = LH_OK;
    for (size_t i = 0; i < n && rc == LH_OK; i++) {
        const lh_statement *s = &rows[i];
        const char *role = s->role && *s->role ? s->role : NULL;
        const char *v[JCOL_COUNT] = {
            s->id, s->entity_id, s->dataset, s->bucket, s->origin, s->source, s->schema,
            s->prop, s->prop_type, s->value, s->original_value, s->lang, s->external ? "t" : "f",
            NULL, NULL, s->fragment ? s->fragment : "", role, NULL, s->shard,
        };
        for (int c = 0; c < JCOL_COUNT; c++) {
            if (c == JCOL_SHARD && !p->shard_col) continue; /* the last column */
            if (c) lh_buf_append_byte(&b, '\t');
            if (c == JCOL_FIRST_SEEN) copy_ts(&b, s->first_seen);
            else if (c == JCOL_LAST_SEEN) copy_ts(&b, s->last_seen);
            else if (c == JCOL_DELETED_AT) copy_ts(&b, s->deleted_at);
            else copy_field(&b, v[c]);
        }
        lh_buf_append_byte(&b, '\n');
        if (b.len >= COPY_CHUNK) rc = put_copy(p, &b, err);
    }
    if (rc == LH_OK) rc = put_copy(p, &b, err);
    lh_buf_free(&b);
    /* On a local failure, abort the COPY so nothing of the batch commits. */
    if (PQputCopyEnd(p->conn, rc == LH_OK ? NULL : "aborted by client") != 1 && rc == LH_OK)
        rc = lh_error_set(err, LH_ERR_IO, "COPY end: %s", PQerrorMessage(p->conn));
    while ((res = PQgetResult(p->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == LH_OK) {
            rc = res_err(p, res, err, "COPY");
            continue;
        }
        PQclear(res);
    }
    return rc;
}

/* A writer makes the live table before it reads its input: a role that
 * may not (no CREATE on the schema) is refused before anything is done. */
static lh_status pg_writable(lh_journal *j, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    if (p->too_long) return too_long_err(p, err);
    LH_TRY(ensure_conn(p, err));
    return ensure_live(p, err);
}

static lh_status pg_insert(lh_journal *j, const lh_statement *rows, size_t n, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    if (p->too_long) return too_long_err(p, err);
    LH_TRY(ensure_conn(p, err));
    bool retry;
    lh_status rc = copy_once(p, rows, n, err, &retry);
    if (rc != LH_OK && retry) {
        /* The reference recreated the table without our column, or it is gone. */
        LH_TRY(ensure_live(p, err));
        rc = copy_once(p, rows, n, err, &retry);
    }
    return rc;
}

static lh_status pg_segments(lh_journal *j, lh_strlist *out, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    LH_TRY(ensure_conn(p, err));
    const char *params[1] = {j->seg_prefix};
    PGresult *res = PQexecParams(
        p->conn,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
        "AND left(c.relname, length($1)) = $1 ORDER BY c.relname COLLATE \"C\"",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) return res_err(p, res, err, "listing segments");
    for (int i = 0; i < PQntuples(res); i++) lh_strlist_push(out, PQgetvalue(res, i, 0));
    PQclear(res);
    return LH_OK;
}

static lh_status pg_rotate(lh_journal *j, const char *seg, bool *rotated, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    *rotated = false;
    /* Cut to postgres' 63-byte identifiers as the server cuts the
     * reference's segment names (its RENAME takes the cut name): the
     * prefix fits (checked at open), so the cut falls in the ASCII stamp
     * and the name still lists as a segment of this table. A cut name is
     * no less unique: a flush drains every segment before it rotates,
     * under the advisory lock the reference's flush takes too, and a clash
     * would fail the RENAME with every row kept. */
    char name[64];
    snprintf(name, sizeof name, "%s", seg);
    seg = name;
    LH_TRY(ensure_conn(p, err));
    lh_status absent_rc;
    if (live_absent(p, j->table, err, &absent_rc)) return LH_OK;
    LH_TRY(absent_rc);
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "SELECT 1 FROM ");
    lh_journal_quote(&sql, j->table);
    lh_buf_append_str(&sql, " LIMIT 1");
    PGresult *res = PQexec(p->conn, sql.data);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        lh_buf_free(&sql);
        return res_err(p, res, err, "probing the live table");
    }
    bool has_rows = PQntuples(res) > 0;
    PQclear(res);
    if (has_rows && p->too_long) {
        /* another writer (the reference's) put rows under the cut name:
         * no segment name would list as this dataset's */
        lh_buf_free(&sql);
        return too_long_err(p, err);
    }
    if (!has_rows) {
        lh_buf_free(&sql);
        return LH_OK;
    }
    /* The rename's exclusive lock waits out in-flight COPYs; writers queued
     * behind it re-resolve the name and land in the fresh table. lock_timeout
     * bounds how long new inserts queue behind us. */
    lh_buf_reset(&sql);
    lh_buf_printf(&sql, "BEGIN; SET LOCAL lock_timeout = '%dms'; ALTER TABLE ", j->busy_ms);
    lh_journal_quote(&sql, j->table);
    lh_buf_append_str(&sql, " RENAME TO ");
    lh_journal_quote(&sql, seg);
    lh_buf_append_str(&sql, "; ");
    lh_journal_create_sql(&sql, j->table, false, PG_TS);
    lh_buf_append_str(&sql, "; COMMIT");
    char what[160];
    snprintf(what, sizeof what, "renaming the live table to %s", seg);
    lh_status rc = pg_exec(p, sql.data, what, err);
    lh_buf_free(&sql);
    if (rc != LH_OK) {
        pg_rollback(p);
        return rc;
    }
    *rotated = true;
    return LH_OK;
}

static int64_t parse_i64(const char *s)
{
    return strtoll(s, NULL, 10);
}

static lh_status pg_scan(lh_journal *j, const char *table, const char *entity_ids, bool ordered,
                         size_t batch_size, lh_journal_consumer fn, void *ctx,
                         lh_journal_flush_stats *stats, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    LH_TRY(ensure_conn(p, err));
    lh_status rc;
    int shape = table_shape(p, table, err, &rc);
    if (rc != LH_OK) return rc;
    if (shape < 0 && strcmp(table, j->table) == 0) return LH_OK; /* not made yet: empty */
    if (shape < 0) return lh_error_set(err, LH_ERR_NOT_FOUND, "no table %s", table);

    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "DECLARE lh_journal_scan NO SCROLL CURSOR FOR SELECT ");
    for (int c = 0; c < JCOL_COUNT; c++) {
        if (c) lh_buf_append_str(&sql, ", ");
        const char *name = lh_journal_col_names[c];
        if (c == JCOL_SHARD && !shape) lh_buf_append_str(&sql, "NULL::text");
        else if (c == JCOL_FIRST_SEEN || c == JCOL_LAST_SEEN || c == JCOL_DELETED_AT)
            lh_buf_printf(&sql, "(extract(epoch FROM \"%s\") * 1000000)::bigint", name);
        else lh_journal_quote(&sql, name);
    }
    lh_buf_append_str(&sql, " FROM ");
    lh_journal_quote(&sql, table);
    if (entity_ids)
        lh_buf_append_str(&sql, " WHERE entity_id IN (SELECT json_array_elements_text($1::json)) "
                                "AND deleted_at IS NULL");
    if (ordered && shape)
        lh_buf_append_str(&sql, " ORDER BY shard COLLATE \"C\", entity_id COLLATE \"C\", id COLLATE \"C\"");
    else if (ordered) lh_buf_append_str(&sql, " ORDER BY entity_id COLLATE \"C\", id COLLATE \"C\"");

    if ((rc = pg_exec(p, "BEGIN", "beginning a read", err)) != LH_OK) {
        lh_buf_free(&sql);
        return rc;
    }
    const char *params[1] = {entity_ids};
    PGresult *res = PQexecParams(p->conn, sql.data, entity_ids ? 1 : 0, NULL, params, NULL, NULL, 0);
    lh_buf_free(&sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = res_err(p, res, err, "declare cursor");
        pg_rollback(p);
        return rc;
    }
    PQclear(res);
    char *fetch = lh_asprintf("FETCH FORWARD %zu FROM lh_journal_scan",
                              batch_size > 1000000 ? (size_t)1000000 : batch_size);
    lh_stmt_batch batch;
    lh_stmt_batch_init(&batch);
    for (;;) {
        res = PQexec(p->conn, fetch);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = res_err(p, res, err, "fetch");
            break;
        }
        int nt = PQntuples(res);
        for (int i = 0; i < nt; i++) {
            lh_journal_rowtext r;
            for (int c = 0; c < JCOL_COUNT; c++)
                r.v[c] = PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
            r.external = r.v[JCOL_EXTERNAL] && r.v[JCOL_EXTERNAL][0] == 't';
            r.first_seen = r.v[JCOL_FIRST_SEEN] ? parse_i64(r.v[JCOL_FIRST_SEEN]) : LH_TS_NULL;
            r.last_seen = r.v[JCOL_LAST_SEEN] ? parse_i64(r.v[JCOL_LAST_SEEN]) : LH_TS_NULL;
            r.deleted_at = r.v[JCOL_DELETED_AT] ? parse_i64(r.v[JCOL_DELETED_AT]) : LH_TS_NULL;
            lh_journal_push_row(&batch, &r);
        }
        PQclear(res);
        if (batch.len && (batch.len >= batch_size || nt == 0)) {
            rc = lh_journal_hand_over(&batch, fn, ctx, stats, err);
            if (rc != LH_OK) break;
        }
        if (nt == 0) break;
    }
    free(fetch);
    lh_stmt_batch_free(&batch);
    /* A read-only transaction: COMMIT and ROLLBACK are the same; either frees
     * the cursor and the table lock before a DROP. */
    pg_rollback(p);
    return rc;
}

static lh_status pg_drop(lh_journal *j, const char *table, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    LH_TRY(ensure_conn(p, err));
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "DROP TABLE IF EXISTS ");
    lh_journal_quote(&sql, table);
    char what[160];
    snprintf(what, sizeof what, "dropping %s", table);
    lh_status rc = pg_exec(p, sql.data, what, err);
    lh_buf_free(&sql);
    return rc;
}

/* The table's oid beside its name: postgres gives a table its oid when it
 * is made (a rotation's RENAME keeps it) and no two living tables share one;
 * an oid comes round again only after some 4 billion new objects. */
static lh_status pg_segment_key(lh_journal *j, const char *segment, char **out, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    *out = NULL;
    LH_TRY(ensure_conn(p, err));
    lh_buf q = LH_BUF_INIT;
    lh_journal_quote(&q, segment);
    const char *params[1] = {q.data};
    PGresult *res =
        PQexecParams(p->conn, "SELECT to_regclass($1)::oid", 1, NULL, params, NULL, NULL, 0);
    lh_buf_free(&q);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) return res_err(p, res, err, "segment oid");
    if (PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return lh_error_set(err, LH_ERR_NOT_FOUND, "no table %s", segment);
    }
    *out = lh_asprintf("%s@%s", segment, PQgetvalue(res, 0, 0));
    PQclear(res);
    return LH_OK;
}

static lh_status pg_count(lh_journal *j, const char *table, int64_t *out, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    LH_TRY(ensure_conn(p, err));
    lh_status absent_rc;
    if (live_absent(p, table, err, &absent_rc)) {
        *out = 0;
        return LH_OK;
    }
    LH_TRY(absent_rc);
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "SELECT count(*) FROM ");
    lh_journal_quote(&sql, table);
    PGresult *res = PQexec(p->conn, sql.data);
    lh_buf_free(&sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) return res_err(p, res, err, "count");
    *out = parse_i64(PQgetvalue(res, 0, 0));
    PQclear(res);
    return LH_OK;
}

static lh_status pg_delete_live(lh_journal *j, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    LH_TRY(ensure_conn(p, err));
    lh_status absent_rc;
    if (live_absent(p, j->table, err, &absent_rc)) return LH_OK;
    LH_TRY(absent_rc);
    lh_buf sql = LH_BUF_INIT;
    lh_buf_append_str(&sql, "DELETE FROM ");
    lh_journal_quote(&sql, j->table);
    lh_status rc = pg_exec(p, sql.data, "clearing the live table", err);
    lh_buf_free(&sql);
    return rc;
}

static lh_status pg_lock(lh_journal *j, lh_error *err)
{
    pg_journal *p = (pg_journal *)j;
    LH_TRY(ensure_conn(p, err));
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%lld)", p->lock_key);
    LH_TRY(pg_exec(p, sql, "taking the flush lock", err));
    p->locked = true;
    return LH_OK;
}

static void pg_unlock(lh_journal *j)
{
    pg_journal *p = (pg_journal *)j;
    if (!p->locked) return;
    p->locked = false;
    if (PQstatus(p->conn) != CONNECTION_OK) return; /* died with the session */
    pg_rollback(p);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lld)", p->lock_key);
    PQclear(PQexec(p->conn, sql));
}

static void pg_free(lh_journal *j)
{
    pg_journal *p = (pg_journal *)j;
    if (p->conn) {
        pg_unlock(j);
        PQfinish(p->conn);
    }
    lh_journal_free_base(j);
    free(p);
}

static const lh_journal_ops pg_ops = {
    .insert = pg_insert,
    .segments = pg_segments,
    .rotate = pg_rotate,
    .scan = pg_scan,
    .drop = pg_drop,
    .segment_key = pg_segment_key,
    .writable = pg_writable,
    .count = pg_count,
    .delete_live = pg_delete_live,
    .lock = pg_lock,
    .unlock = pg_unlock,
    .free = pg_free,
};

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs ("relation exists, skipping") are not errors */
}

lh_status lh_journal_pg_open(const char *conninfo, lh_journal **out, lh_journal *proto,
                             lh_error *err)
{
    LH_TRY(lh_libpq_load(err));
    pg_journal *p = lh_calloc(1, sizeof *p);
    lh_journal_init_base(&p->base, &pg_ops, proto);
    lh_status rc;
    p->base.postgres = true;
    const char *tbl = p->base.table;
    /* The segment prefix ("{table}-seg-") must fit postgres' 63-byte
     * identifiers: the server cuts longer names, and a cut prefix would no
     * longer tell the segments (the reference's too) from other tables.
     * The stamp after it may be cut (see pg_rotate).
     * A longer name (FollowTheMoney sets no limit; a bulk import or a
     * SQLite journal takes it) is refused when rows are to go in, not at
     * open: refusing the open failed every optimize, make, check and
     * flush --all of such a dataset, with nothing journalled to flush. */
    p->too_long = strlen(p->base.seg_prefix) > 63;
    p->lock_key = (long long)crc32(0L, (const Bytef *)tbl, (uInt)strlen(tbl));
    p->conn = connect_bounded(conninfo);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(p->conn));
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n') msg[--n] = 0;
        rc = lh_error_set(err, LH_ERR_IO, "connect: %s", msg);
        goto fail;
    }
    if ((rc = session_setup(p, err)) != LH_OK) goto fail;
    /* The live table is made here, as the reference makes it, but not for
     * a check (it must not write) nor when the role may not CREATE: a
     * flush, count or check of a dataset never journalled has nothing to
     * do, and failed for that role. Until a writer makes it (the first
     * insert, or lh_journal_check_writable, which refuses that role) the
     * missing table reads as empty. */
    p->shard_col = true;
    if (!p->too_long && !p->base.existing) {
        rc = ensure_live(p, err);
        if (rc != LH_OK && p->create_denied) rc = LH_OK;
        if (rc != LH_OK) goto fail;
    }
    *out = &p->base;
    return LH_OK;
fail:
    pg_free(&p->base);
    return rc;
}
