/* Shared by the journal unit tests: statement factory, collecting consumer,
 * and the crash/concurrency harness run against each backend. */
#ifndef LH_TEST_JOURNAL_COMMON_H
#define LH_TEST_JOURNAL_COMMON_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "lh/core/mem.h"
#include "lh/core/str.h"
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

#endif
