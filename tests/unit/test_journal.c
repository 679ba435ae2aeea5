/* JournalStore on SQLite: insert, count, iterate, flush (rotation, ordering,
 * failing consumer, leftover segments, writes during a flush), clear, URIs,
 * tables made by the reference, several processes at once and kill -9. */
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include "journal_procs.h"

static char *tmp;

static char *db_uri(const char *name)
{
    return lh_asprintf("sqlite:///%s/%s.db", tmp, name); /* sqlite:////abs */
}

/* SQLAlchemy's SQLite URLs, as the reference reads LAKEHOUSE_JOURNAL_URI:
 * sqlite:////abs is /abs, sqlite:///rel is rel (in the working directory),
 * so both sides of one setting open one file. */
/* The journal at the URI fmt formats opens. */
static void opens(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void opens(const char *fmt, ...)
{
    char uri[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(uri, sizeof uri, fmt, ap);
    va_end(ap);
    lh_error err;
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(uri, "ds", NULL, &j, &err), &err);
    lh_journal_free(j);
}

static void test_uris(void)
{
    lh_error err;
    lh_journal *j = NULL;
    opens("sqlite:///%s/u2.db", tmp); /* SQLAlchemy's sqlite:////abs */
    opens("sqlite+pysqlite:///%s/u5.db", tmp);
    char *plain = lh_asprintf("%s/u3.db", tmp);
    opens("%s", plain);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmp) == 0);
    opens("sqlite:///u1.db"); /* relative */
    opens("sqlite+pysqlite:///u6.db");
    /* a setting written when sqlite:///abs meant /abs: refused while only
     * the absolute file is there (a new relative journal would strand the
     * rows of the old one), with the URI that names it */
    char *moved = lh_asprintf("sqlite:///%s/u2.db", tmp + 1);
    CHECK_RC(lh_journal_open(moved, "ds", NULL, &j, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "for that file write sqlite:////") != NULL);
    free(moved);
    CHECK(chdir(cwd) == 0);
    CHECK(access("/u1.db", F_OK) != 0); /* not at the root */
    CHECK(access("/u6.db", F_OK) != 0);
    /* the query (driver arguments) is no part of the name, which is
     * percent-decoded, as SQLAlchemy parses the URL */
    opens("sqlite:///%s/u7.db?timeout=30&check_same_thread=false", tmp);
    opens("sqlite:///%s/u%%208%%3Fx%%25.db", tmp);
    char *literal = lh_asprintf("%s/u7.db?timeout=30&check_same_thread=false", tmp);
    CHECK(access(literal, F_OK) != 0);
    free(literal);
    const char *made[] = {"u1.db", "u2.db", "u5.db", "u6.db", "u7.db", "u 8?x%.db"};
    for (size_t i = 0; i < sizeof made / sizeof *made; i++) {
        char *path = lh_asprintf("%s/%s", tmp, made[i]);
        CHECK(access(path, F_OK) == 0);
        free(path);
    }
    CHECK(access(plain, F_OK) == 0);
    free(plain);

    CHECK_OK(lh_journal_open("sqlite:///:memory:", "mem", NULL, &j, &err), &err);
    if (j) {
        insert_n(j, "m", 0, 3, "0");
        CHECK_INT(count(j), 3);
        jt_collect c;
        jt_collect_init(&c);
        CHECK_OK(lh_journal_flush(j, 0, jt_consume, &c, NULL, &err), &err);
        CHECK_INT(c.ids.len, 3);
        lh_strlist_free(&c.ids);
        lh_journal_free(j);
    }
    CHECK_RC(lh_journal_open("s3://bucket/x", "ds", NULL, &j, &err), LH_ERR_UNSUPPORTED);
    CHECK_RC(lh_journal_open("sqlite:///:memory:", "a\"b", NULL, &j, &err), LH_ERR_INVALID);
    CHECK_RC(lh_journal_open("sqlite:///:memory:", "", NULL, &j, &err), LH_ERR_INVALID);
    CHECK_RC(lh_journal_open("", "ds", NULL, &j, &err), LH_ERR_INVALID);
}

/* A journal file the Python reference created: its table has no shard
 * column, and a segment it left behind must be drained too. */
static void test_reference_tables(void)
{
    char *path = lh_asprintf("%s/ref.db", tmp);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    const char *ddl_fmt =
        "CREATE TABLE \"%s\" (id TEXT NOT NULL, entity_id TEXT NOT NULL, dataset TEXT NOT NULL, "
        "bucket TEXT NOT NULL, origin TEXT NOT NULL, source TEXT, schema TEXT NOT NULL, "
        "prop TEXT NOT NULL, prop_type TEXT, value TEXT NOT NULL, original_value TEXT, lang TEXT, "
        "external BOOLEAN NOT NULL, first_seen DATETIME NOT NULL, last_seen DATETIME NOT NULL, "
        "fragment TEXT NOT NULL, role TEXT, deleted_at DATETIME);"
        "INSERT INTO \"%s\" VALUES ('%s', 'p1', 'ds', 'thing', 'o1', NULL, 'Person', 'name', "
        "'name', 'Jane', NULL, NULL, 0, '2026-11-30 04:30:30.240300', "
        "'2026-11-30 04:30:30.240300', '', NULL, NULL);";
    char *sql = lh_asprintf(ddl_fmt, "journal_ds", "journal_ds", "live-row");
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    free(sql);
    sql = lh_asprintf(ddl_fmt, "journal_ds-seg-20260101T000000abcd",
                      "journal_ds-seg-20260101T000000abcd", "seg-row");
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    free(sql);
    sqlite3_close(db);

    lh_error err;
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(path, "ds", NULL, &j, &err), &err);
    if (j) {
        insert_n(j, "c", 0, 2, "0");
        CHECK_INT(count(j), 4);
        jt_collect c;
        jt_collect_init(&c);
        CHECK_OK(lh_journal_flush(j, 0, jt_consume, &c, NULL, &err), &err);
        CHECK_INT(c.ids.len, 4);
        if (c.ids.len == 4) {
            CHECK_STR(c.ids.items[0], "seg-row");
            CHECK_STR(c.ids.items[1], "live-row"); /* NULL shard sorts first */
        }
        lh_strlist_free(&c.ids);
        CHECK_INT(count(j), 0);
        lh_journal_free(j);
    }
    free(path);
}

/* A flush drops its segment without rewriting the freed pages: Debian's
 * SQLite zero-fills them unless told otherwise, which made the drop of a
 * large segment cost a third of the flush. Seen from outside: the dropped
 * rows' bytes are still in the file, in pages now on the free list. */
static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    lh_buf b = LH_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) lh_buf_append(&b, chunk, n);
    fclose(f);
    bool found = false;
    size_t len = strlen(needle);
    for (size_t i = 0; !found && i + len <= b.len; i++)
        found = memcmp(b.data + i, needle, len) == 0;
    lh_buf_free(&b);
    return found;
}

static void test_drop_keeps_pages(void)
{
    char *path = lh_asprintf("%s/drop.db", tmp);
    lh_error err;
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(path, "ds", NULL, &j, &err), &err);
    if (!j) return;
    insert_n(j, "dropped-entity", 0, 2000, "0");
    jt_collect c;
    jt_collect_init(&c);
    CHECK_OK(lh_journal_flush(j, 0, jt_consume, &c, NULL, &err), &err);
    CHECK_INT(c.ids.len, 2000);
    lh_strlist_free(&c.ids);
    CHECK_INT(count(j), 0);
    lh_journal_free(j); /* the last connection checkpoints the WAL */
    CHECK(file_has(path, "dropped-entity-stmt-0019"));
    free(path);
}

/* Timestamps repeat from row to row (the reader parses each distinct text
 * once): interleaved values and a tombstone among live rows come back
 * each as written. */
typedef struct ts_check {
    size_t rows, wrong;
} ts_check;

static int64_t ts_of(int i, int which)
{
    static const int64_t base = 1714566896123456LL;
    int pattern[] = {0, 0, 1, 0, 2, 2, 1};
    return base + which * 1000 + pattern[i % 7];
}

static lh_status check_ts(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    (void)err;
    ts_check *c = ctx;
    for (size_t k = 0; k < b->len; k++, c->rows++) {
        const lh_statement *s = &b->rows[k];
        int i = atoi(strrchr(s->id, '-') + 1);
        int64_t deleted = i % 5 == 3 ? ts_of(i, 2) : LH_TS_NULL;
        if (s->first_seen != ts_of(i, 0) || s->last_seen != ts_of(i, 1) || s->deleted_at != deleted)
            c->wrong++;
    }
    return LH_OK;
}

static void test_timestamps_repeat(void)
{
    char *path = lh_asprintf("%s/ts.db", tmp);
    lh_error err;
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(path, "ds", NULL, &j, &err), &err);
    free(path);
    if (!j) return;
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    char id[64];
    for (int i = 0; i < 50; i++) {
        lh_statement s = jt_stmt(id, sizeof id, "ts-entity", i, "0");
        s.first_seen = ts_of(i, 0);
        s.last_seen = ts_of(i, 1);
        if (i % 5 == 3) s.deleted_at = ts_of(i, 2);
        lh_stmt_batch_push(&b, &s);
    }
    CHECK_OK(lh_journal_insert_batch(j, &b, &err), &err);
    lh_stmt_batch_free(&b);
    ts_check c = {0};
    lh_journal_flush_opts o = {.unordered = true};
    CHECK_OK(lh_journal_flush_with(j, &o, check_ts, &c, NULL, &err), &err);
    CHECK_INT(c.rows, 50);
    CHECK_INT(c.wrong, 0);
    lh_journal_free(j);
}

/* A dataset name as long as a lake allows (255 characters): the flush
 * lock file beside the database is named after the table, and that name
 * must still fit a file name, or no flush could ever move the rows. */
static void test_long_dataset_name(void)
{
    char ds[256];
    memset(ds, 'a', 255);
    ds[255] = 0;
    char *path = lh_asprintf("%s/long.db", tmp);
    lh_error err;
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(path, ds, NULL, &j, &err), &err);
    free(path);
    if (!j) return;
    insert_n(j, "long", 0, 5, "0");
    jt_collect c;
    jt_collect_init(&c);
    CHECK_OK(lh_journal_flush(j, 0, jt_consume, &c, NULL, &err), &err);
    CHECK_INT(c.ids.len, 5);
    lh_strlist_free(&c.ids);
    CHECK_INT(count(j), 0);
    int64_t cleared = -1;
    CHECK_OK(lh_journal_clear(j, &cleared, &err), &err); /* takes the lock too */
    CHECK_INT(cleared, 0);
    lh_journal_free(j);
}

int main(void)
{
    tmp = lh_test_tmpdir();
    jt_uri_fn = db_uri;
    jt_tmp = tmp;
    RUN(test_roundtrip);
    RUN(test_iterate_entities);
    RUN(test_flush);
    RUN(test_flush_unordered);
    RUN(test_write_during_flush);
    RUN(test_clear_and_writer);
    RUN(test_uris);
    RUN(test_reference_tables);
    RUN(test_drop_keeps_pages);
    RUN(test_timestamps_repeat);
    RUN(test_long_dataset_name);
    RUN(test_reentrant);
    RUN(test_shard_option);
    RUN(test_concurrent);
    RUN(test_kill);
    lh_test_rmtree(tmp);
    free(tmp);
    return lh_test_report();
}
