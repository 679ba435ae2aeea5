/* JournalStore on SQLite: insert, count, iterate, flush (rotation, ordering,
 * failing consumer, leftover segments, writes during a flush), clear, URIs,
 * tables made by the reference, several processes at once and kill -9. */
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include "journal_common.h"

static char *tmp;

static char *db_uri(const char *name)
{
    return lh_asprintf("sqlite://%s/%s", tmp, name);
}

static void insert_n(lh_journal *j, const char *entity, int from, int n, const char *shard)
{
    lh_error err;
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    char id[128];
    for (int i = from; i < from + n; i++) {
        lh_statement s = jt_stmt(id, sizeof id, entity, i, shard);
        lh_stmt_batch_push(&b, &s);
    }
    CHECK_OK(lh_journal_insert_batch(j, &b, &err), &err);
    lh_stmt_batch_free(&b);
}

static int64_t count(lh_journal *j)
{
    lh_error err;
    int64_t n = -1;
    CHECK_OK(lh_journal_count(j, &n, &err), &err);
    return n;
}

static lh_status check_roundtrip(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    int *seen = ctx;
    for (size_t i = 0; i < b->len; i++) {
        const lh_statement *s = &b->rows[i];
        (*seen)++;
        CHECK_STR(s->value, "Jane \"Doe\"\t\\ \xc3\xa9\n");
        CHECK_STR(s->dataset, "ds");
        CHECK_STR(s->canonical_id, s->entity_id);
        CHECK_INT(s->first_seen, 1714566896123456LL);
        CHECK_INT(s->last_seen, 1714566896123457LL);
        if (strcmp(s->entity_id, "e-null") == 0) {
            CHECK_STR(s->fragment, "");
            CHECK(s->source == NULL);
            CHECK(s->lang == NULL);
            CHECK(s->role == NULL);
            CHECK(s->shard == NULL);
            CHECK(s->deleted_at == LH_TS_NULL);
            CHECK(!s->external);
        } else {
            CHECK_STR(s->source, "src");
            CHECK_STR(s->lang, "deu");
            CHECK_STR(s->role, "analyst");
            CHECK_STR(s->fragment, "frag");
            CHECK_STR(s->shard, "0a");
            CHECK_INT(s->deleted_at, 1714566899000000LL);
            CHECK(s->external);
        }
    }
    return LH_OK;
}

static void test_roundtrip(void)
{
    lh_error err;
    char *uri = db_uri("rt.db");
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(uri, "ds", NULL, &j, &err), &err);
    if (!j) goto out;
    CHECK_STR(lh_journal_table(j), "journal_ds");
    CHECK(!lh_journal_is_postgres(j));
    char id[128];
    lh_statement rows[2];
    rows[0] = jt_stmt(id, sizeof id, "e-null", 1, NULL);
    char id2[128];
    rows[1] = jt_stmt(id2, sizeof id2, "e-full", 2, "0a");
    rows[1].source = "src";
    rows[1].lang = "deu";
    rows[1].role = "analyst";
    rows[1].fragment = "frag";
    rows[1].external = true;
    rows[1].deleted_at = 1714566899000000LL;
    CHECK_OK(lh_journal_insert(j, rows, 2, &err), &err);
    CHECK_INT(count(j), 2);
    int seen = 0;
    CHECK_OK(lh_journal_iterate(j, 1, check_roundtrip, &seen, &err), &err);
    CHECK_INT(seen, 2);
    seen = 0;
    /* iterate_entity skips tombstones */
    CHECK_OK(lh_journal_iterate_entity(j, "e-full", check_roundtrip, &seen, &err), &err);
    CHECK_INT(seen, 0);
    CHECK_OK(lh_journal_iterate_entity(j, "e-null", check_roundtrip, &seen, &err), &err);
    CHECK_INT(seen, 1);
    seen = 0;
    CHECK_OK(lh_journal_flush(j, 10, check_roundtrip, &seen, NULL, &err), &err);
    CHECK_INT(seen, 2);
    CHECK_INT(count(j), 0);

    /* required column missing: rejected, nothing written */
    rows[0].value = NULL;
    CHECK_RC(lh_journal_insert(j, rows, 2, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "value") != NULL);
    CHECK_INT(count(j), 0);
    lh_journal_free(j);
out:
    free(uri);
}

static void test_flush(void)
{
    lh_error err;
    char *uri = db_uri("flush.db");
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(uri, "ds", NULL, &j, &err), &err);
    if (!j) goto out;
    insert_n(j, "e3", 0, 30, "2");
    insert_n(j, "e1", 0, 30, "1");
    insert_n(j, "e2", 0, 30, "1");
    insert_n(j, "e0", 0, 10, "0");
    CHECK_INT(count(j), 100);

    /* a failing consumer keeps everything */
    jt_collect c;
    jt_collect_init(&c);
    c.fail_after = 2;
    lh_journal_flush_stats st;
    CHECK_RC(lh_journal_flush(j, 7, jt_consume, &c, &st, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "consumer refuses") != NULL);
    CHECK(strstr(err.msg, "journal_ds") != NULL);
    CHECK_INT(c.ids.len, 14);
    CHECK_INT(count(j), 100);
    lh_strlist_free(&c.ids);

    /* new rows after the failed flush land in the live table */
    insert_n(j, "e4", 0, 5, "3");
    CHECK_INT(count(j), 105);

    /* next flush: leftover segment first, ordered, in batches of <= 7 */
    jt_collect_init(&c);
    CHECK_OK(lh_journal_flush(j, 7, jt_consume, &c, &st, &err), &err);
    CHECK_INT(c.ids.len, 105);
    CHECK_INT(st.rows, 105);
    CHECK_INT(st.segments, 2);
    CHECK_INT(c.max_batch, 7);
    /* first segment fully ordered: e0 (shard 0) first */
    CHECK(strncmp(c.ids.items[0], "e0-stmt-000000", 14) == 0);
    CHECK(strncmp(c.ids.items[99], "e3-stmt-000029", 14) == 0);
    CHECK(strncmp(c.ids.items[100], "e4-", 3) == 0);
    CHECK_INT(count(j), 0);
    lh_strlist_free(&c.ids);

    /* empty flush is a no-op */
    jt_collect_init(&c);
    CHECK_OK(lh_journal_flush(j, 0, jt_consume, &c, &st, &err), &err);
    CHECK_INT(c.ids.len, 0);
    CHECK_INT(st.segments, 0);
    lh_strlist_free(&c.ids);
    lh_journal_free(j);
out:
    free(uri);
}

/* The consumer writes into the journal (through another handle) while the
 * flush drains: those rows are not part of this flush and survive it. */
typedef struct during_ctx {
    lh_journal *other;
    jt_collect c;
    int inserted;
} during_ctx;

static lh_status consume_and_write(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    during_ctx *d = ctx;
    insert_n(d->other, "late", d->inserted, 3, "f");
    d->inserted += 3;
    return jt_consume(&d->c, b, err);
}

static void test_write_during_flush(void)
{
    lh_error err;
    char *uri = db_uri("during.db");
    lh_journal *j = NULL, *k = NULL;
    CHECK_OK(lh_journal_open(uri, "ds", NULL, &j, &err), &err);
    CHECK_OK(lh_journal_open(uri, "ds", NULL, &k, &err), &err);
    if (!j || !k) goto out;
    insert_n(j, "a", 0, 20, "0");
    during_ctx d = {.other = k};
    jt_collect_init(&d.c);
    CHECK_OK(lh_journal_flush(j, 5, consume_and_write, &d, NULL, &err), &err);
    CHECK_INT(d.c.ids.len, 20);
    CHECK(d.c.ordered_ok);
    CHECK_INT(count(j), 12);
    lh_strlist_free(&d.c.ids);
    jt_collect c;
    jt_collect_init(&c);
    CHECK_OK(lh_journal_flush(k, 0, jt_consume, &c, NULL, &err), &err);
    CHECK_INT(c.ids.len, 12);
    lh_strlist_free(&c.ids);

    /* another dataset in the same file is independent */
    lh_journal *o = NULL;
    CHECK_OK(lh_journal_open(uri, "other", NULL, &o, &err), &err);
    if (o) {
        insert_n(o, "x", 0, 4, NULL);
        CHECK_INT(count(o), 4);
        CHECK_INT(count(j), 0);
        int64_t del = 0;
        CHECK_OK(lh_journal_clear(o, &del, &err), &err);
        CHECK_INT(del, 4);
        CHECK_INT(count(o), 0);
        lh_journal_free(o);
    }
out:
    lh_journal_free(j);
    lh_journal_free(k);
    free(uri);
}

static void test_clear_and_writer(void)
{
    lh_error err;
    char *uri = db_uri("clear.db");
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(uri, "ds", NULL, &j, &err), &err);
    if (!j) goto out;
    lh_journal_writer *w = lh_journal_writer_new(j, 4);
    char id[128];
    for (int i = 0; i < 10; i++) {
        lh_statement s = jt_stmt(id, sizeof id, "w", i, "0");
        CHECK_OK(lh_journal_writer_add(w, &s, &err), &err);
    }
    CHECK_INT(lh_journal_writer_pending(w), 2);
    CHECK_INT(count(j), 8);
    CHECK_OK(lh_journal_writer_flush(w, &err), &err);
    CHECK_INT(count(j), 10);
    lh_statement bad = jt_stmt(id, sizeof id, "w", 99, "0");
    bad.origin = NULL;
    CHECK_RC(lh_journal_writer_add(w, &bad, &err), LH_ERR_INVALID);
    lh_journal_writer_free(w);

    /* a failed flush leaves a segment; clear removes it and the live rows */
    jt_collect c;
    jt_collect_init(&c);
    c.fail_after = 0;
    CHECK_RC(lh_journal_flush(j, 0, jt_consume, &c, NULL, &err), LH_ERR_IO);
    insert_n(j, "v", 0, 3, "0");
    CHECK_INT(count(j), 13);
    int64_t del = 0;
    CHECK_OK(lh_journal_clear(j, &del, &err), &err);
    CHECK_INT(del, 13);
    CHECK_INT(count(j), 0);
    lh_strlist_free(&c.ids);
    lh_journal_free(j);
out:
    free(uri);
}

static void test_uris(void)
{
    lh_error err;
    lh_journal *j = NULL;
    char *abs = lh_asprintf("sqlite:///%s/u1.db", tmp + 1); /* sqlite:///abs */
    CHECK_OK(lh_journal_open(abs, "ds", NULL, &j, &err), &err);
    lh_journal_free(j);
    free(abs);
    char *sa = lh_asprintf("sqlite:///%s/u2.db", tmp); /* SQLAlchemy's sqlite:////abs */
    CHECK_OK(lh_journal_open(sa, "ds", NULL, &j, &err), &err);
    lh_journal_free(j);
    free(sa);
    char *plain = lh_asprintf("%s/u3.db", tmp);
    CHECK_OK(lh_journal_open(plain, "ds", NULL, &j, &err), &err);
    lh_journal_free(j);
    char *path = lh_asprintf("%s/u1.db", tmp);
    CHECK(access(path, F_OK) == 0);
    free(path);
    path = lh_asprintf("%s/u2.db", tmp);
    CHECK(access(path, F_OK) == 0);
    free(path);
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

int main(void)
{
    tmp = lh_test_tmpdir();
    RUN(test_roundtrip);
    RUN(test_flush);
    RUN(test_write_during_flush);
    RUN(test_clear_and_writer);
    RUN(test_uris);
    RUN(test_reference_tables);
    lh_test_rmtree(tmp);
    free(tmp);
    return lh_test_report();
}
