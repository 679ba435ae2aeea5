/* Shared by the journal unit tests: statement factory, collecting consumer,
 * and the single-process tests run against each backend (the multi-process
 * and kill -9 tests are in journal_procs.h). */
#ifndef LH_TEST_JOURNAL_COMMON_H
#define LH_TEST_JOURNAL_COMMON_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include "lh/core/buf.h"

#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/model/keys.h"
#include "lh/storage/journal.h"
#include "test.h"

static lh_statement jt_stmt(char *idbuf, size_t cap, const char *entity, int n, const char *shard)
{
    snprintf(idbuf, cap, "%s-stmt-%06d", entity, n);
    lh_statement s = {
        .shard = shard,
        .id = idbuf,
        .entity_id = entity,
        .dataset = "ds",
        .bucket = "thing",
        .origin = "default",
        .schema = "Person",
        .prop = "name",
        .prop_type = "name",
        .value = "Jane \"Doe\"\t\\ \xc3\xa9\n",
        .external = false,
        .first_seen = 1714566896123456LL,
        .last_seen = 1714566896123457LL,
        .fragment = "",
        .deleted_at = LH_TS_NULL,
    };
    return s;
}

/* Collects the ids handed over; fails on demand after `fail_after` batches. */
typedef struct jt_collect {
    lh_strlist ids;
    int batches;
    int fail_after; /* -1 = never */
    size_t max_batch;
    char last_key[256];
    bool ordered_ok;
} jt_collect;

static void jt_collect_init(jt_collect *c)
{
    memset(c, 0, sizeof *c);
    lh_strlist_init(&c->ids);
    c->fail_after = -1;
    c->ordered_ok = true;
}

static lh_status jt_consume(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    jt_collect *c = ctx;
    if (c->fail_after >= 0 && c->batches >= c->fail_after)
        return lh_error_set(err, LH_ERR_IO, "consumer refuses batch %d", c->batches);
    c->batches++;
    if (b->len > c->max_batch) c->max_batch = b->len;
    for (size_t i = 0; i < b->len; i++) {
        const lh_statement *s = &b->rows[i];
        char key[256];
        snprintf(key, sizeof key, "%s|%s|%s", s->shard ? s->shard : "", s->entity_id, s->id);
        if (strcmp(key, c->last_key) < 0) c->ordered_ok = false;
        snprintf(c->last_key, sizeof c->last_key, "%s", key);
        lh_strlist_push(&c->ids, s->id);
    }
    return LH_OK;
}

/* The backend under test: jt_open_uri(name) gives the URI for a test (a
 * fresh SQLite file, or the one PostgreSQL database) and sets jt_ds to a
 * dataset name unique to that test. */
static char *(*jt_uri_fn)(const char *name);
static bool jt_postgres;
static char jt_ds[64];
static const char *jt_tmp; /* scratch dir for the process tests */

static char *jt_open_uri(const char *name)
{
    snprintf(jt_ds, sizeof jt_ds, "ds_%s", name);
    return jt_uri_fn(name);
}

static const char *jt_other_ds(void)
{
    static char other[80];
    snprintf(other, sizeof other, "%s_other", jt_ds);
    return other;
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
    char *uri = jt_open_uri("rt");
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(uri, jt_ds, NULL, &j, &err), &err);
    if (!j) goto out;
    CHECK(strncmp(lh_journal_table(j), "journal_", 8) == 0);
    CHECK(lh_journal_is_postgres(j) == jt_postgres);
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

/* A journal (fresh per test name) holding 100 rows of four entities in
 * three shards, inserted out of order: e3, e1, e2, e0. NULL on failure. */
static lh_journal *jt_open_four(const char *name, char **uri)
{
    lh_error err;
    *uri = jt_open_uri(name);
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(*uri, jt_ds, NULL, &j, &err), &err);
    if (!j) return NULL;
    insert_n(j, "e3", 0, 30, "2");
    insert_n(j, "e1", 0, 30, "1");
    insert_n(j, "e2", 0, 30, "1");
    insert_n(j, "e0", 0, 10, "0");
    return j;
}

/* Several entities' live rows at once, filtered in the database: ids
 * with JSON specials match, unknown ids match nothing, tombstones are
 * left out, rows of a segment count as those of the live table. */
static void test_iterate_entities(void)
{
    lh_error err;
    char *uri = NULL;
    lh_journal *j = jt_open_four("entities", &uri);
    if (!j) goto out;
    const char *odd = "q\"x\\ \xc3\xa9\t";
    insert_n(j, odd, 0, 5, "1");
    char id[128];
    lh_statement tomb = jt_stmt(id, sizeof id, "e0", 99, "0");
    tomb.deleted_at = 1714566899000000LL;
    CHECK_OK(lh_journal_insert(j, &tomb, 1, &err), &err);
    const char *ids[] = {"e1", "e0", "missing", odd};
    jt_collect c;
    jt_collect_init(&c);
    CHECK_OK(lh_journal_iterate_entities(j, ids, 4, jt_consume, &c, &err), &err);
    CHECK_INT(c.ids.len, 30 + 10 + 5);
    for (size_t i = 0; i < c.ids.len; i++)
        CHECK(strncmp(c.ids.items[i], "e2-", 3) != 0 && strncmp(c.ids.items[i], "e3-", 3) != 0 &&
              strstr(c.ids.items[i], "-stmt-000099") == NULL);
    lh_strlist_free(&c.ids);
    /* a flush whose consumer fails leaves the rows in a segment */
    jt_collect_init(&c);
    c.fail_after = 0;
    CHECK(lh_journal_flush(j, 10, jt_consume, &c, NULL, &err) != LH_OK);
    lh_strlist_free(&c.ids);
    jt_collect_init(&c);
    CHECK_OK(lh_journal_iterate_entities(j, ids, 4, jt_consume, &c, &err), &err);
    CHECK_INT(c.ids.len, 30 + 10 + 5);
    lh_strlist_free(&c.ids);
    jt_collect_init(&c);
    CHECK_OK(lh_journal_iterate_entities(j, ids, 0, jt_consume, &c, &err), &err);
    CHECK_INT(c.ids.len, 0);
    lh_strlist_free(&c.ids);
    lh_journal_free(j);
out:
    free(uri);
}

static void test_flush(void)
{
    lh_error err;
    char *uri = NULL;
    lh_journal *j = jt_open_four("flush", &uri);
    if (!j) goto out;
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
    if (c.ids.len == 105) {
        CHECK(strncmp(c.ids.items[0], "e0-stmt-000000", 14) == 0);
        CHECK(strncmp(c.ids.items[99], "e3-stmt-000029", 14) == 0);
        CHECK(strncmp(c.ids.items[100], "e4-", 3) == 0);
    }
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

/* A consumer that takes the rows (swaps the batch for an empty one, as
 * lh_relay_send does) and a segment_done hook that fails on demand. */
typedef struct jt_taker {
    jt_collect c;
    int segments_done;
    int fail_segments; /* segment_done calls that fail */
    char *last_segment;  /* the name segment_done was last given */
    const char *stored;  /* segment_stored says this one is in the store */
    int asked;           /* segment_stored calls */
    int64_t rotated;     /* the rotation time segment_stored was last given */
} jt_taker;

static lh_status jt_segment_stored(void *ctx, const char *segment, int64_t rotated_us, bool *done,
                                   lh_error *err)
{
    (void)err;
    jt_taker *t = ctx;
    t->asked++;
    t->rotated = rotated_us;
    *done = t->stored && strcmp(segment, t->stored) == 0;
    return LH_OK;
}

static lh_status jt_take(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    jt_taker *t = ctx;
    LH_TRY(jt_consume(&t->c, b, err));
    lh_stmt_batch taken;
    lh_stmt_batch_init(&taken);
    lh_stmt_batch tmp = *(lh_stmt_batch *)b;
    *(lh_stmt_batch *)b = taken;
    lh_stmt_batch_free(&tmp);
    return LH_OK;
}

static lh_status jt_segment_done(void *ctx, const char *segment, lh_error *err)
{
    jt_taker *t = ctx;
    CHECK(segment && *segment);
    free(t->last_segment);
    t->last_segment = lh_strdup(segment);
    t->segments_done++;
    if (t->fail_segments > 0) {
        t->fail_segments--;
        return lh_error_set(err, LH_ERR_IO, "segment not durable");
    }
    return LH_OK;
}

static void test_flush_unordered(void)
{
    lh_error err;
    char *uri = NULL;
    lh_journal *j = jt_open_four("unordered", &uri);
    if (!j) goto out;
    lh_journal_flush_opts o = {.batch_size = 7, .unordered = true, .segment_done = jt_segment_done};
    lh_journal_flush_stats st;

    /* segment_done fails: every row was handed over, yet the segment stays */
    jt_taker t = {.fail_segments = 1};
    jt_collect_init(&t.c);
    CHECK_RC(lh_journal_flush_with(j, &o, jt_take, &t, &st, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "segment not durable") != NULL);
    CHECK_INT(t.c.ids.len, 100);
    CHECK_INT(st.rows, 100); /* counted though the consumer took the rows */
    CHECK_INT(t.segments_done, 1);
    CHECK_INT(count(j), 100);
    lh_strlist_free(&t.c.ids);

    /* the next flush re-delivers it, then the new rows; storage order, no sort */
    insert_n(j, "e4", 0, 5, "3");
    free(t.last_segment);
    memset(&t, 0, sizeof t);
    jt_collect_init(&t.c);
    CHECK_OK(lh_journal_flush_with(j, &o, jt_take, &t, &st, &err), &err);
    CHECK_INT(t.c.ids.len, 105);
    CHECK_INT(st.rows, 105);
    CHECK_INT(st.segments, 2);
    CHECK_INT(t.segments_done, 2);
    CHECK_INT(t.c.max_batch, 7);
    CHECK(!t.c.ordered_ok);
    lh_strlist_sort(&t.c.ids);
    size_t distinct = t.c.ids.len ? 1 : 0;
    for (size_t i = 1; i < t.c.ids.len; i++) distinct += strcmp(t.c.ids.items[i - 1], t.c.ids.items[i]) != 0;
    CHECK_INT(distinct, 105);
    CHECK_INT(count(j), 0);
    lh_strlist_free(&t.c.ids);
    free(t.last_segment);

    /* a segment whose rows the store holds already (its flush committed,
     * then could not drop it: a full disk) is dropped unread, once */
    lh_journal_flush_opts so = o;
    so.segment_stored = jt_segment_stored;
    insert_n(j, "e5", 0, 6, "5");
    memset(&t, 0, sizeof t);
    t.fail_segments = 1;
    jt_collect_init(&t.c);
    CHECK_RC(lh_journal_flush_with(j, &so, jt_take, &t, &st, &err), LH_ERR_IO);
    CHECK_INT(t.asked, 0); /* no leftover then */
    CHECK_INT(count(j), 6);
    char *left = t.last_segment;
    lh_strlist_free(&t.c.ids);
    insert_n(j, "e6", 0, 4, "6");
    memset(&t, 0, sizeof t);
    t.stored = left;
    jt_collect_init(&t.c);
    CHECK_OK(lh_journal_flush_with(j, &so, jt_take, &t, &st, &err), &err);
    CHECK_INT(t.asked, 1);
    /* read from the segment's name: the second it was rotated, just now */
    CHECK(t.rotated <= lh_now_us() && t.rotated > lh_now_us() - 600 * 1000000LL);
    CHECK_INT(t.c.ids.len, 4); /* only the new rows */
    CHECK_INT(st.segments, 2);
    CHECK_INT(count(j), 0);
    lh_strlist_free(&t.c.ids);
    free(t.last_segment);
    free(left);
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
    char *uri = jt_open_uri("during");
    lh_journal *j = NULL, *k = NULL;
    CHECK_OK(lh_journal_open(uri, jt_ds, NULL, &j, &err), &err);
    CHECK_OK(lh_journal_open(uri, jt_ds, NULL, &k, &err), &err);
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
    CHECK_OK(lh_journal_open(uri, jt_other_ds(), NULL, &o, &err), &err);
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
    char *uri = jt_open_uri("clear");
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(uri, jt_ds, NULL, &j, &err), &err);
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


/* With the dataset's shard count in the options, rows without a shard get
 * the entity's shard key (and the flush groups by it); given shards stay. */
static lh_status check_shards(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    (void)err;
    for (size_t i = 0; i < b->len; i++) {
        const lh_statement *s = &b->rows[i];
        char want[LH_SHARD_MAX];
        lh_shard_key(s->entity_id, 32, want);
        if (strcmp(s->entity_id, "given") == 0) CHECK_STR(s->shard, "zz");
        else CHECK_STR(s->shard, want);
        *(int *)ctx += 1;
    }
    return LH_OK;
}

static void test_shard_option(void)
{
    lh_error err;
    char *uri = jt_open_uri("shards");
    lh_journal_options opts = {.shards = 32};
    lh_journal *j = NULL;
    CHECK_OK(lh_journal_open(uri, jt_ds, &opts, &j, &err), &err);
    if (j) {
        const char *ents[] = {"a", "a", "b", "given", "a", "c", "c"};
        lh_statement rows[7];
        char ids[7][64];
        for (int i = 0; i < 7; i++)
            rows[i] = jt_stmt(ids[i], sizeof ids[i], ents[i], i,
                              strcmp(ents[i], "given") == 0 ? "zz" : NULL);
        CHECK_OK(lh_journal_insert(j, rows, 7, &err), &err);
        CHECK(rows[0].shard == NULL); /* the caller's rows are untouched */
        int seen = 0;
        jt_collect c;
        jt_collect_init(&c);
        CHECK_OK(lh_journal_iterate(j, 0, check_shards, &seen, &err), &err);
        CHECK_INT(seen, 7);
        CHECK_OK(lh_journal_flush(j, 0, jt_consume, &c, NULL, &err), &err);
        CHECK(c.ordered_ok);
        CHECK_INT(c.ids.len, 7);
        lh_strlist_free(&c.ids);
        lh_journal_free(j);
    }
    free(uri);
}

/* A consumer that calls back into the handle feeding it is refused (its
 * writes would run inside the scan's transaction); the flush fails and
 * keeps every row. */
static lh_journal *jt_self;
static lh_status consume_reentrant(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    (void)ctx;
    return lh_journal_insert_batch(jt_self, b, err);
}

/* The documented licence to modify the batch in place. */
static lh_status consume_mutating(void *ctx, const lh_stmt_batch *cb, lh_error *err)
{
    lh_stmt_batch *b = (lh_stmt_batch *)cb;
    for (size_t i = 0; i < b->len / 2; i++) {
        lh_statement t = b->rows[i];
        b->rows[i] = b->rows[b->len - 1 - i];
        b->rows[b->len - 1 - i] = t;
    }
    for (size_t i = 0; i < b->len; i++) b->rows[i].shard = "zz";
    lh_statement first = b->rows[0];
    for (int i = 0; i < 300; i++) lh_stmt_batch_push(b, &first); /* grows it */
    *(int *)ctx += 1;
    return LH_OK;
}

static void test_reentrant(void)
{
    lh_error err;
    char *uri = jt_open_uri("reent");
    CHECK_OK(lh_journal_open(uri, jt_ds, NULL, &jt_self, &err), &err);
    if (jt_self) {
        insert_n(jt_self, "r", 0, 5, "0");
        CHECK_RC(lh_journal_flush(jt_self, 0, consume_reentrant, NULL, NULL, &err), LH_ERR_INVALID);
        CHECK(strstr(err.msg, "second handle") != NULL);
        CHECK_RC(lh_journal_iterate(jt_self, 0, consume_reentrant, NULL, &err), LH_ERR_INVALID);
        CHECK_INT(count(jt_self), 5);
        insert_n(jt_self, "m", 0, 20, "1");
        int calls = 0;
        CHECK_OK(lh_journal_iterate(jt_self, 3, consume_mutating, &calls, &err), &err);
        CHECK_INT(calls, 9);
        CHECK_INT(count(jt_self), 25);
        jt_collect c;
        jt_collect_init(&c);
        CHECK_OK(lh_journal_flush(jt_self, 0, jt_consume, &c, NULL, &err), &err);
        CHECK_INT(c.ids.len, 25);
        lh_strlist_free(&c.ids);
        lh_journal_free(jt_self);
        jt_self = NULL;
    }
    free(uri);
}

#endif
