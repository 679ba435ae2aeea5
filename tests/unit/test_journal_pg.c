/* JournalStore on PostgreSQL: the shared journal tests (roundtrip, flush,
 * writes during a flush, clear, several processes, kill -9) against a real
 * server this test starts on loopback and stops; plus what is specific to
 * postgres (advisory-lock key shared with the reference, tables the
 * reference created). Skips only when the server binaries are missing. */
#include <libpq-fe.h>
#include <zlib.h>

#include "journal_procs.h"
#include "pg_server.h"

static lh_pg_server pg;
static char *tmp;

static char *pg_uri(const char *name)
{
    (void)name;
    return lh_strdup(pg.uri);
}

static void psql(const char *sql)
{
    PGconn *c = PQconnectdb(pg.uri);
    CHECK(PQstatus(c) == CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fprintf(stderr, "psql: %s: %s\n", sql, PQresultErrorMessage(r));
    CHECK(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(c);
}

/* Tables as the reference creates them (no shard column), with a live row
 * and a leftover segment; our open adds the column, the flush drains both. */
static void test_reference_tables(void)
{
    const char *ddl =
        "CREATE TABLE \"%s\" (id TEXT NOT NULL, entity_id TEXT NOT NULL, dataset TEXT NOT NULL, "
        "bucket TEXT NOT NULL, origin TEXT NOT NULL, source TEXT, schema TEXT NOT NULL, "
        "prop TEXT NOT NULL, prop_type TEXT, value TEXT NOT NULL, original_value TEXT, lang TEXT, "
        "external BOOLEAN NOT NULL, first_seen TIMESTAMP WITH TIME ZONE NOT NULL, "
        "last_seen TIMESTAMP WITH TIME ZONE NOT NULL, fragment TEXT NOT NULL, role TEXT, "
        "deleted_at TIMESTAMP WITH TIME ZONE);"
        "INSERT INTO \"%s\" VALUES ('%s', 'p1', 'ds', 'thing', 'o1', NULL, 'Person', 'name', "
        "'name', 'Jane', NULL, NULL, true, '2026-11-30 04:30:30.240300+00', "
        "'2026-11-30 04:30:30.240301+00', '', NULL, NULL);";
    char *sql = lh_asprintf(ddl, "journal_refds", "journal_refds", "live-row");
    psql(sql);
    free(sql);
    sql = lh_asprintf(ddl, "journal_refds-seg-20260101T000000abcd",
                      "journal_refds-seg-20260101T000000abcd", "seg-row");
    psql(sql);
    free(sql);
    lh_error err;
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(pg.uri, "refds", NULL, &j, &err), &err);
    if (!j) return;
    CHECK(lh_journal_is_postgres(j));
    strcpy(jt_ds, "refds");
    insert_n(j, "c", 0, 2, "0");
    CHECK_INT(count(j), 4);
    jt_collect c;
    jt_collect_init(&c);
    CHECK_OK(lh_journal_flush(j, 0, jt_consume, &c, NULL, &err), &err);
    CHECK_INT(c.ids.len, 4);
    if (c.ids.len == 4) {
        CHECK_STR(c.ids.items[0], "seg-row");
        CHECK_STR(c.ids.items[3], "live-row"); /* NULL shard sorts last on postgres */
    }
    lh_strlist_free(&c.ids);
    CHECK_INT(count(j), 0);
    lh_journal_free(j);
}

/* The flush lock is pg_advisory_lock(crc32(table)), the reference's key: a
 * session holding it makes our flush wait. */
static void test_advisory_lock(void)
{
    lh_error err;
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(pg.uri, "lockds", NULL, &j, &err), &err);
    if (!j) return;
    insert_n(j, "l", 0, 3, "0");
    unsigned long key = crc32(0L, (const Bytef *)"journal_lockds", 14);
    PGconn *c = PQconnectdb(pg.uri);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%lu)", key);
    PGresult *r = PQexec(c, sql);
    CHECK_STR(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        lh_journal *k = NULL;
        if (lh_journal_open(pg.uri, "lockds", NULL, &k, &err) != LH_OK) _exit(3);
        jt_collect cc;
        jt_collect_init(&cc);
        lh_status rc = lh_journal_flush(k, 0, jt_consume, &cc, NULL, &err);
        _exit(rc == LH_OK && cc.ids.len == 3 ? 0 : 4);
    }
    usleep(300 * 1000);
    int status;
    CHECK(waitpid(child, &status, WNOHANG) == 0); /* still waiting for the lock */
    CHECK_INT(count(j), 3);
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lu)", key);
    PQclear(PQexec(c, sql));
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(count(j), 0);
    PQfinish(c);
    lh_journal_free(j);
}

/* The consumer cuts the journal's connection (as a server restart or a
 * proxy would) after its first batch: the flush fails, nothing is dropped,
 * and the next flush on the same handle re-dials, sets its session up
 * again and moves every row. */
static lh_status cut_connection(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    jt_collect *c = ctx;
    if (c->batches == 0)
        psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE pid <> pg_backend_pid() AND datname = current_database()");
    return jt_consume(ctx, b, err);
}

static void test_connection_lost_during_flush(void)
{
    lh_error err;
    char *uri = NULL;
    lh_journal *j = jt_open_four("cut", &uri);
    if (!j) goto out;
    jt_collect c;
    jt_collect_init(&c);
    CHECK(lh_journal_flush(j, 7, cut_connection, &c, NULL, &err) != LH_OK);
    lh_strlist_free(&c.ids);
    jt_collect_init(&c);
    lh_journal_flush_stats st;
    CHECK_OK(lh_journal_flush(j, 7, jt_consume, &c, &st, &err), &err);
    CHECK_INT(c.ids.len, 100);
    CHECK(c.ordered_ok);
    CHECK_INT(count(j), 0);
    lh_strlist_free(&c.ids);
    lh_journal_free(j);
out:
    free(uri);
}

static void test_bad_server(void)
{
    lh_error err;
    lh_journal *j = NULL;
    CHECK_RC(lh_journal_open("postgresql://postgres@127.0.0.1:1/none", "ds", NULL, &j, &err),
             LH_ERR_IO);
    CHECK(strstr(err.msg, "connect") != NULL);
    /* the segment prefix ("journal_{ds}-seg-") would exceed postgres'
     * 63-byte identifiers: no segment could be told by its name, so rows
     * are refused; the empty journal opens, counts and flushes */
    char name[64];
    memset(name, 'x', 51);
    name[51] = 0;
    CHECK_OK(lh_journal_open(pg.uri, name, NULL, &j, &err), &err);
    if (!j) return;
    CHECK_RC(lh_journal_check_writable(j, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "too long") != NULL);
    CHECK(strstr(err.msg, "max 50 bytes") != NULL);
    CHECK_INT(count(j), 0);
    jt_collect c;
    jt_collect_init(&c);
    CHECK_OK(lh_journal_flush(j, 0, jt_consume, &c, NULL, &err), &err);
    CHECK_INT(c.ids.len, 0);
    lh_strlist_free(&c.ids);
    lh_journal_free(j);
}

/* Dataset names of 32 to 50 bytes: the full segment name is longer than
 * postgres' 63-byte identifiers, and the server cuts the reference's
 * segment names (its rename and listing work on the cut name). Ours are
 * cut alike: the dataset's journal works, a segment the reference left
 * behind is drained, and flush after flush rotates under the one name. */
static void test_long_dataset_names(void)
{
    const size_t lens[] = {32, 40, 50};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        char ds[64];
        memset(ds, 'a' + (char)k, lens[k]);
        ds[lens[k]] = 0;
        snprintf(jt_ds, sizeof jt_ds, "%s", ds);
        lh_error err;
        lh_journal *j = NULL;
        CHECK_OK(lh_journal_open(pg.uri, ds, NULL, &j, &err), &err);
        if (!j) continue;
        /* the reference's leftover: postgres cuts its name to 63 bytes */
        char *seg = lh_asprintf("journal_%s-seg-20260101T000000abcd", ds);
        char *sql = lh_asprintf(
            "CREATE TABLE \"%s\" (LIKE \"journal_%s\"); INSERT INTO \"%s\" (id, entity_id, "
            "dataset, bucket, origin, schema, prop, value, external, first_seen, last_seen, "
            "fragment) VALUES ('seg-row', 'p1', 'ds', 'thing', 'o1', 'Person', 'name', 'Jane', "
            "false, now(), now(), '')",
            seg, ds, seg);
        psql(sql);
        free(sql);
        free(seg);
        for (int round = 0; round < 3; round++) {
            insert_n(j, "long", round * 10, 10, NULL);
            CHECK_INT(count(j), round == 0 ? 11 : 10);
            jt_collect c;
            jt_collect_init(&c);
            CHECK_OK(lh_journal_flush(j, 0, jt_consume, &c, NULL, &err), &err);
            CHECK_INT(c.ids.len, round == 0 ? 11 : 10);
            lh_strlist_free(&c.ids);
            CHECK_INT(count(j), 0);
        }
        lh_journal_free(j);
    }
}

int main(void)
{
    if (!lh_pg_start(&pg)) {
        if (pg.missing) {
            printf("SKIP: %s\n", pg.skip_reason);
            return 0;
        }
        lh_pg_stop(&pg);
        fprintf(stderr, "cannot start the test postgres server: %s\n", pg.skip_reason);
        return 1;
    }
    tmp = lh_test_tmpdir();
    jt_uri_fn = pg_uri;
    jt_postgres = true;
    jt_tmp = tmp;
    RUN(test_roundtrip);
    RUN(test_iterate_entities);
    RUN(test_flush);
    RUN(test_flush_unordered);
    RUN(test_write_during_flush);
    RUN(test_clear_and_writer);
    RUN(test_reference_tables);
    RUN(test_advisory_lock);
    RUN(test_bad_server);
    RUN(test_long_dataset_names);
    RUN(test_connection_lost_during_flush);
    RUN(test_reentrant);
    RUN(test_shard_option);
    RUN(test_concurrent);
    RUN(test_kill);
    lh_pg_stop(&pg);
    lh_test_rmtree(tmp);
    free(tmp);
    return lh_test_report();
}
