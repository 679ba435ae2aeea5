/* `statements sql`: SQLite virtual tables over the ParquetStore's cursor. */
#include "lh/storage/stmt_sql.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libsqlite_dyn.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/storage/stmt_table.h"
#include "pstore_internal.h"

/* What both tables read, and the first failure of the store while SQLite
 * ran (SQLite keeps only a message; the status is kept here). */
typedef struct sql_env {
    lh_pstore *ps;
    const lh_delta_snapshot *snap;
    lh_status rc;
    lh_error err;
} sql_env;

typedef struct table_kind {
    sql_env *env;
    bool raw;
} table_kind;

typedef struct vtab {
    sqlite3_vtab base;
    table_kind *kind;
} vtab;

/* Columns an equality can be pushed into the store's filter for. */
enum { EQ_ENTITY, EQ_PROP, EQ_SCHEMA, EQ_DATASET, EQ_ORIGIN, EQ_BUCKET, EQ_SHARD, EQ_N };
#define COL_CANONICAL_ID LH_STMT_NCOLS /* the live view's extra column */

static int eq_of_column(int col)
{
    switch (col) {
    case LH_COL_ENTITY_ID: case COL_CANONICAL_ID: return EQ_ENTITY;
    case LH_COL_PROP: return EQ_PROP;
    case LH_COL_SCHEMA: return EQ_SCHEMA;
    case LH_COL_DATASET: return EQ_DATASET;
    case LH_COL_ORIGIN: return EQ_ORIGIN;
    case LH_COL_BUCKET: return EQ_BUCKET;
    case LH_COL_SHARD: return EQ_SHARD;
    default: return -1;
    }
}

typedef struct vcursor {
    sqlite3_vtab_cursor base;
    char *eq[EQ_N]; /* pushed-down values (copies), NULL = none */
    const char *entity_ids[1], *schemata[1];
    lh_pstore_filter q;
    lh_pstore_cursor *cur;
    const lh_statement *rows;
    size_t n, i;
    sqlite3_int64 rowid;
    bool eof;
} vcursor;

static int fail(sqlite3_vtab *tab, sql_env *env, lh_status rc, const lh_error *err)
{
    if (env->rc == LH_OK) {
        env->rc = rc;
        env->err = *err;
    }
    sqlite3_free(tab->zErrMsg);
    tab->zErrMsg = sqlite3_mprintf("%s", err->msg);
    return SQLITE_ERROR;
}

static int x_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                     sqlite3_vtab **out, char **errmsg)
{
    (void)argc;
    (void)argv;
    (void)errmsg;
    table_kind *kind = aux;
    char decl[1024];
    size_t len = (size_t)snprintf(decl, sizeof decl, "CREATE TABLE x(");
    for (int c = 0; c < LH_STMT_NCOLS; c++) {
        const char *type = c == LH_COL_EXTERNAL ? "INTEGER" : "TEXT";
        len += (size_t)snprintf(decl + len, sizeof decl - len, "%s\"%s\" %s", c ? ", " : "",
                                lh_stmt_col_names[c], type);
    }
    snprintf(decl + len, sizeof decl - len, "%s)", kind->raw ? "" : ", canonical_id TEXT");
    int rc = sqlite3_declare_vtab(db, decl);
    if (rc != SQLITE_OK) return rc;
    vtab *t = lh_calloc(1, sizeof *t);
    t->kind = kind;
    *out = &t->base;
    return SQLITE_OK;
}

static int x_disconnect(sqlite3_vtab *tab)
{
    sqlite3_free(tab->zErrMsg);
    free(tab);
    return SQLITE_OK;
}

/* idxNum: a bit per pushed-down column kind, their values in argv in
 * kind order. SQLite checks every constraint again (omit stays 0): the
 * store's filter need only narrow, never decide. The store compares bytes,
 * so only an equality SQLite decides bytewise too is pushed: one under
 * another collation (`= 'X' COLLATE NOCASE`) would drop rows it keeps. */
static int x_best_index(sqlite3_vtab *tab, sqlite3_index_info *info)
{
    (void)tab;
    int used = 0, where[EQ_N];
    for (int k = 0; k < EQ_N; k++) where[k] = -1;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (!c->usable || c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
        const char *coll = sqlite3_vtab_collation(info, i);
        if (coll && strcasecmp(coll, "BINARY") != 0) continue;
        int k = eq_of_column(c->iColumn);
        if (k >= 0 && where[k] < 0) {
            where[k] = i;
            used |= 1 << k;
        }
    }
    int arg = 1;
    double cost = 1e7;
    for (int k = 0; k < EQ_N; k++) {
        if (where[k] < 0) continue;
        info->aConstraintUsage[where[k]].argvIndex = arg++;
        cost /= k == EQ_ENTITY ? 1e4 : 4;
    }
    info->idxNum = used;
    info->estimatedCost = cost;
    info->estimatedRows = (sqlite3_int64)cost;
    return SQLITE_OK;
}

static int x_open(sqlite3_vtab *tab, sqlite3_vtab_cursor **out)
{
    (void)tab;
    vcursor *c = lh_calloc(1, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static void cursor_reset(vcursor *c)
{
    lh_pstore_cursor_free(c->cur);
    c->cur = NULL;
    for (int k = 0; k < EQ_N; k++) {
        free(c->eq[k]);
        c->eq[k] = NULL;
    }
    c->rows = NULL;
    c->n = c->i = 0;
}

static int x_close(sqlite3_vtab_cursor *cur)
{
    vcursor *c = (vcursor *)cur;
    cursor_reset(c);
    free(c);
    return SQLITE_OK;
}

/* The next row of the store's cursor, or eof. */
static int advance(vcursor *c)
{
    vtab *t = (vtab *)c->base.pVtab;
    if (c->i + 1 < c->n) {
        c->i++;
        c->rowid++;
        return SQLITE_OK;
    }
    lh_error err;
    lh_status rc = lh_pstore_cursor_next(c->cur, &c->rows, &c->n, &err);
    if (rc != LH_OK) return fail(&t->base, t->kind->env, rc, &err);
    c->i = 0;
    c->rowid++;
    c->eof = c->n == 0;
    return SQLITE_OK;
}

static int x_next(sqlite3_vtab_cursor *cur);

static int x_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc,
                    sqlite3_value **argv)
{
    (void)idx_str;
    vcursor *c = (vcursor *)cur;
    vtab *t = (vtab *)cur->pVtab;
    cursor_reset(c);
    int arg = 0;
    for (int k = 0; k < EQ_N && arg < argc; k++) {
        if (!(idx_num & (1 << k))) continue;
        sqlite3_value *val = argv[arg++];
        /* Text only: a number (from a column of numeric affinity, as in a
         * join) makes SQLite compare numerically, so '05' equals 5, which
         * its text "5" would not; NULL equals nothing, SQLite says so. */
        if (sqlite3_value_type(val) != SQLITE_TEXT) continue;
        c->eq[k] = lh_strdup((const char *)sqlite3_value_text(val));
    }
    lh_pstore_filter *q = &c->q;
    lh_pstore_filter_init(q);
    q->include_tombstones = t->kind->raw;
    if (c->eq[EQ_ENTITY]) {
        c->entity_ids[0] = c->eq[EQ_ENTITY];
        q->entity_ids = c->entity_ids;
        q->num_entity_ids = 1;
    }
    if (c->eq[EQ_SCHEMA]) {
        c->schemata[0] = c->eq[EQ_SCHEMA];
        q->schemata = c->schemata;
        q->num_schemata = 1;
    }
    q->prop = c->eq[EQ_PROP];
    q->dataset = c->eq[EQ_DATASET];
    q->origin = c->eq[EQ_ORIGIN];
    q->bucket = c->eq[EQ_BUCKET];
    c->rowid = 0;
    c->eof = false;
    lh_error err;
    sql_env *env = t->kind->env;
    lh_status rc = lh_pstore_cursor_open(env->ps, q, env->snap, true, &c->cur, &err);
    if (rc != LH_OK) return fail(&t->base, env, rc, &err);
    return x_next(cur); /* the first row */
}

static int x_next(sqlite3_vtab_cursor *cur)
{
    vcursor *c = (vcursor *)cur;
    /* a shard filter matches partitions, not rows: skip the others here */
    for (;;) {
        int src = advance(c);
        if (src != SQLITE_OK || c->eof || !c->eq[EQ_SHARD]) return src;
        if (strcmp(c->rows[c->i].shard, c->eq[EQ_SHARD]) == 0) return SQLITE_OK;
    }
}

static int x_eof(sqlite3_vtab_cursor *cur)
{
    return ((vcursor *)cur)->eof;
}

static void result_text(sqlite3_context *ctx, const char *s)
{
    if (s) sqlite3_result_text(ctx, s, -1, SQLITE_TRANSIENT);
    else sqlite3_result_null(ctx);
}

static void result_time(sqlite3_context *ctx, int64_t us)
{
    if (us == LH_TS_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    char iso[LH_ISO_MAX];
    lh_time_format_iso(us, iso);
    sqlite3_result_text(ctx, iso, -1, SQLITE_TRANSIENT);
}

static int x_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    vcursor *c = (vcursor *)cur;
    const lh_statement *s = &c->rows[c->i];
    switch (col) {
    case LH_COL_SHARD: result_text(ctx, s->shard); break;
    case LH_COL_ID: result_text(ctx, s->id); break;
    case LH_COL_ENTITY_ID: case COL_CANONICAL_ID: result_text(ctx, s->entity_id); break;
    case LH_COL_DATASET: result_text(ctx, s->dataset); break;
    case LH_COL_BUCKET: result_text(ctx, s->bucket); break;
    case LH_COL_ORIGIN: result_text(ctx, s->origin); break;
    case LH_COL_SOURCE: result_text(ctx, s->source); break;
    case LH_COL_SCHEMA: result_text(ctx, s->schema); break;
    case LH_COL_PROP: result_text(ctx, s->prop); break;
    case LH_COL_PROP_TYPE: result_text(ctx, s->prop_type); break;
    case LH_COL_VALUE: result_text(ctx, s->value); break;
    case LH_COL_ORIGINAL_VALUE: result_text(ctx, s->original_value); break;
    case LH_COL_LANG: result_text(ctx, s->lang); break;
    case LH_COL_EXTERNAL: sqlite3_result_int64(ctx, s->external); break;
    case LH_COL_FIRST_SEEN: result_time(ctx, s->first_seen); break;
    case LH_COL_LAST_SEEN: result_time(ctx, s->last_seen); break;
    case LH_COL_FRAGMENT: result_text(ctx, s->fragment); break;
    case LH_COL_ROLE: result_text(ctx, s->role); break;
    case LH_COL_DELETED_AT: result_time(ctx, s->deleted_at); break;
    default: sqlite3_result_null(ctx); break;
    }
    return SQLITE_OK;
}

static int x_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = ((vcursor *)cur)->rowid;
    return SQLITE_OK;
}

/* Eponymous-only (no xCreate): the module's name is the table's, in every
 * connection, and no CREATE VIRTUAL TABLE can make another. */
static const sqlite3_module MODULE = {
    .iVersion = 1,
    .xCreate = NULL,
    .xConnect = x_connect,
    .xBestIndex = x_best_index,
    .xDisconnect = x_disconnect,
    .xDestroy = x_disconnect,
    .xOpen = x_open,
    .xClose = x_close,
    .xFilter = x_filter,
    .xNext = x_next,
    .xEof = x_eof,
    .xColumn = x_column,
    .xRowid = x_rowid,
};

/* Step one prepared statement to its end, rows to fn. */
static lh_status run_one(sqlite3 *db, sqlite3_stmt *stmt, sql_env *env, size_t *stmt_no,
                         lh_stmt_sql_row_fn fn, void *ctx, lh_error *err)
{
    int ncols = sqlite3_column_count(stmt);
    const char **names = lh_calloc((size_t)(ncols ? ncols : 1), sizeof *names);
    const char **values = lh_calloc((size_t)(ncols ? ncols : 1), sizeof *values);
    for (int i = 0; i < ncols; i++) names[i] = sqlite3_column_name(stmt, i);
    lh_status rc = ncols ? fn(ctx, *stmt_no, 0, ncols, names, NULL, err) : LH_OK;
    uint64_t row = 0;
    int src = SQLITE_DONE;
    while (rc == LH_OK && (src = sqlite3_step(stmt)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++) values[i] = (const char *)sqlite3_column_text(stmt, i);
        rc = fn(ctx, *stmt_no, row++, ncols, names, values, err);
    }
    if (rc == LH_OK && src != SQLITE_DONE) {
        if (env->rc != LH_OK) {
            rc = env->rc;
            *err = env->err;
        } else {
            rc = lh_error_set(err, LH_ERR_INVALID, "SQL: %s", sqlite3_errmsg(db));
        }
    }
    if (ncols) ++*stmt_no;
    free(names);
    free(values);
    return rc;
}

lh_status lh_stmt_sql_run(lh_pstore *ps, const char *sql, lh_stmt_sql_row_fn fn, void *ctx,
                          lh_error *err)
{
    LH_TRY(lh_libsqlite_load(err));
    lh_delta_snapshot *snap = NULL;
    LH_TRY(lh_pstore_snapshot(ps, &snap, err));
    sql_env env = {ps, snap, LH_OK, {0}};
    table_kind live = {&env, false}, raw = {&env, true};
    sqlite3 *db = NULL;
    lh_status rc = LH_OK;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL) !=
        SQLITE_OK)
        rc = lh_error_set(err, LH_ERR_NOMEM, "SQL: cannot open an in-memory database");
    if (rc == LH_OK &&
        (sqlite3_create_module_v2(db, "statement", &MODULE, &live, NULL) != SQLITE_OK ||
         sqlite3_create_module_v2(db, "statement_raw", &MODULE, &raw, NULL) != SQLITE_OK))
        rc = lh_error_set(err, LH_ERR_INTERNAL, "SQL: %s", sqlite3_errmsg(db));
    const char *next = sql;
    size_t stmt_no = 0;
    while (rc == LH_OK && next && *next) {
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(db, next, -1, &stmt, &tail) != SQLITE_OK) {
            rc = lh_error_set(err, LH_ERR_INVALID, "SQL: %s", sqlite3_errmsg(db));
            break;
        }
        if (stmt) rc = run_one(db, stmt, &env, &stmt_no, fn, ctx, err);
        sqlite3_finalize(stmt);
        next = tail;
    }
    sqlite3_close_v2(db);
    lh_delta_snapshot_free(snap);
    return rc;
}
