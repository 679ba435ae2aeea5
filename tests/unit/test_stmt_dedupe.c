/* Dedupe semantics of merge and live reads (stmt_table.h), case by case. */
#include <stdint.h>
#include <stdio.h>

#include "lh/storage/stmt_table.h"
#include "test.h"

static lh_statement row(const char *ent, const char *id, const char *prop, int64_t first,
                        int64_t last, int64_t deleted, const char *fragment, const char *role)
{
    lh_statement s = {0};
    s.entity_id = ent;
    s.id = id;
    s.prop = prop;
    s.value = "v";
    s.schema = "Person";
    s.first_seen = first;
    s.last_seen = last;
    s.deleted_at = deleted;
    s.fragment = fragment;
    s.role = role;
    return s;
}

#define N LH_TS_NULL

static size_t run(lh_statement *rows, size_t n, int64_t cutoff)
{
    lh_stmt_sort(rows, n);
    return lh_stmt_dedupe(rows, n, cutoff);
}

static void test_latest_wins_first_seen_folds(void)
{
    lh_statement rows[] = {
        row("e1", "a", "name", 5, 10, N, "", NULL),
        row("e1", "a", "name", 2, 30, N, "", NULL),
        row("e1", "a", "name", 7, 20, N, "", NULL),
        row("e1", "b", "name", 1, 1, N, "", NULL),
    };
    size_t n = run(rows, 4, INT64_MAX);
    CHECK_INT(n, 2);
    CHECK_STR(rows[0].id, "a");
    CHECK_INT(rows[0].last_seen, 30);
    CHECK_INT(rows[0].first_seen, 2);
    CHECK_STR(rows[1].id, "b");
}

static void test_tombstones(void)
{
    /* a tombstone shadows the live row; it wins a last_seen tie */
    lh_statement rows[] = {
        row("e1", "a", "name", 1, 50, N, "", NULL),
        row("e1", "a", "name", 1, 50, 50, "", NULL),
        row("e1", "b", "name", 1, 10, N, "", NULL),
        row("e1", "b", "name", 1, 5, 5, "", NULL), /* older tombstone: row re-added */
    };
    lh_statement copy[4];
    memcpy(copy, rows, sizeof rows);
    size_t n = run(rows, 4, INT64_MAX); /* live view */
    CHECK_INT(n, 1);
    CHECK_STR(rows[0].id, "b");
    /* merge with grace: tombstones after the cutoff stay, to keep shadowing */
    n = run(copy, 4, 40);
    CHECK_INT(n, 2);
    CHECK_STR(copy[0].id, "a");
    CHECK_INT(copy[0].deleted_at, 50);
    /* past grace they go with the row they shadow */
    memcpy(copy, rows, sizeof rows);
    lh_statement again[] = {
        row("e1", "a", "name", 1, 50, N, "", NULL),
        row("e1", "a", "name", 1, 50, 50, "", NULL),
    };
    n = run(again, 2, 60);
    CHECK_INT(n, 0);
}

static void test_roles_group_separately(void)
{
    lh_statement rows[] = {
        row("e1", "a", "name", 1, 10, N, "", NULL),
        row("e1", "a", "name", 1, 20, N, "", "analyst"),
        row("e1", "a", "name", 1, 30, N, "", NULL),
    };
    size_t n = run(rows, 3, INT64_MAX);
    CHECK_INT(n, 2);
    CHECK(rows[0].role == NULL);
    CHECK_INT(rows[0].last_seen, 30);
    CHECK_STR(rows[1].role, "analyst");
}

static void test_fragment_supersession(void)
{
    /* page text emitted twice: the newer emission replaces every older value */
    lh_statement rows[] = {
        row("d1", "x1", "bodyText", 1, 10, N, "p1", NULL),
        row("d1", "x2", "bodyText", 1, 10, N, "p1", NULL),
        row("d1", "x3", "bodyText", 3, 20, N, "p1", NULL),
        row("d1", "x1", "bodyText", 1, 20, N, "p1", NULL),
        row("d1", "y1", "bodyText", 1, 10, N, "p2", NULL), /* other fragment untouched */
    };
    size_t n = run(rows, 5, INT64_MAX);
    CHECK_INT(n, 3);
    CHECK_STR(rows[0].id, "x1");
    CHECK_INT(rows[0].last_seen, 20);
    CHECK_STR(rows[1].id, "x3");
    CHECK_STR(rows[2].id, "y1");
}

static void test_sort_order(void)
{
    lh_statement rows[] = {
        row("e2", "a", "name", 1, 1, N, "", NULL),
        row("e1", "b", "name", 1, 1, N, "", NULL),
        row("e1", "a", "alias", 1, 1, N, "", NULL),
        row("e1", "c", "name", 1, 1, N, "f", NULL),
    };
    lh_stmt_sort(rows, 4);
    CHECK_STR(rows[0].id, "a");
    CHECK_STR(rows[1].id, "b");
    CHECK_STR(rows[2].id, "c");
    CHECK_STR(rows[3].entity_id, "e2");
}

/* Rows in order but for the last pair: the in-order pass must look at
 * every pair before it skips the sort. */
static void test_sort_order_late_inversion(void)
{
    lh_statement rows[] = {
        row("e1", "a", "name", 1, 1, N, "", NULL),
        row("e1", "b", "name", 1, 1, N, "", NULL),
        row("e2", "a", "name", 1, 1, N, "", NULL),
        row("e1", "c", "name", 1, 1, N, "", NULL),
    };
    lh_stmt_sort(rows, 4);
    CHECK_STR(rows[2].id, "c");
    CHECK_STR(rows[3].entity_id, "e2");
    lh_stmt_sort(rows, 4); /* in order now: unchanged */
    CHECK_STR(rows[0].id, "a");
    CHECK_STR(rows[3].entity_id, "e2");
}

/* An import's batch keeps one row per (id, origin, fragment, role), the
 * last one given, in the place of the first: the reference's write buffer
 * (a dict by dedupe_key) does, so an entity repeated in the input is not
 * stored twice, and a batch is full with so many distinct rows. */
static void test_batch_index_fold(void)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_stmt_index *x = lh_stmt_index_new();
    lh_statement rows[] = {
        row("e1", "a", "name", 1, 10, N, "", NULL),
        row("e1", "b", "name", 1, 10, N, "", NULL),
        row("e1", "a", "name", 2, 20, N, "", NULL),  /* again: replaces the first */
        row("e1", "a", "name", 3, 30, N, "", "x"),   /* another role */
        row("e1", "a", "name", 4, 40, N, "f1", NULL), /* another fragment */
        row("e1", "a", "name", 5, 50, N, "", ""),    /* "" role is no role */
    };
    for (size_t i = 0; i < 6; i++) {
        rows[i].origin = "bulk";
        size_t from = b.len;
        lh_stmt_batch_push(&b, &rows[i]);
        lh_stmt_index_fold(x, &b, from);
    }
    lh_statement other = row("e1", "b", "name", 6, 60, N, "", NULL);
    other.origin = "crawl"; /* another origin */
    size_t from = b.len;
    lh_stmt_batch_push(&b, &other);
    lh_stmt_batch_push(&b, &other); /* twice in one go */
    CHECK_INT(lh_stmt_index_fold(x, &b, from), 1);
    CHECK_INT(b.len, 5);
    CHECK_STR(b.rows[0].id, "a");
    CHECK_INT(b.rows[0].last_seen, 50);
    CHECK_INT(b.rows[0].first_seen, 5);
    CHECK_STR(b.rows[1].id, "b");
    CHECK_STR(b.rows[1].origin, "bulk");
    CHECK_STR(b.rows[2].role, "x");
    CHECK_STR(b.rows[3].fragment, "f1");
    CHECK_STR(b.rows[4].origin, "crawl");
    /* a batch handed on: the next one starts afresh, the same rows again */
    lh_stmt_batch_clear(&b);
    lh_stmt_index_reset(x);
    lh_stmt_batch_push(&b, &rows[0]);
    CHECK_INT(lh_stmt_index_fold(x, &b, 0), 0);
    CHECK_INT(b.len, 1);
    /* many distinct rows (the table grows), each given twice */
    char ids[3000][8];
    for (size_t i = 0; i < 3000; i++) {
        snprintf(ids[i], sizeof ids[i], "i%zu", i);
        lh_statement s = row("e2", ids[i], "name", 1, (int64_t)i, N, "", NULL);
        s.origin = "bulk";
        from = b.len;
        lh_stmt_batch_push(&b, &s);
        lh_stmt_batch_push(&b, &s);
        lh_stmt_index_fold(x, &b, from);
    }
    CHECK_INT(b.len, 3001);
    CHECK_STR(b.rows[3000].id, "i2999");
    lh_stmt_index_free(x);
    lh_stmt_batch_free(&b);
}

int main(void)
{
    RUN(test_latest_wins_first_seen_folds);
    RUN(test_tombstones);
    RUN(test_roles_group_separately);
    RUN(test_fragment_supersession);
    RUN(test_sort_order);
    RUN(test_sort_order_late_inversion);
    RUN(test_batch_index_fold);
    return lh_test_report();
}
