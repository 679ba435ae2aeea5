/* ParquetStore reads: the live view per (shard, bucket) pair, pruned by
 * partition values, grouped by entity. */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "pstore_internal.h"

void lh_pstore_filter_init(lh_pstore_filter *q)
{
    memset(q, 0, sizeof *q);
    q->changed_since = LH_TS_NULL;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct reader {
    lh_pstore *ps;
    const lh_pstore_filter *q;
    const char **ids; /* sorted copy of q->entity_ids */
    lh_strlist shards; /* shards the ids live in; empty = all */
} reader;

static bool has_id(const reader *r, const char *id)
{
    if (!r->ids) return true;
    return bsearch(&id, r->ids, r->q->num_entity_ids, sizeof *r->ids, cmp_cstr) != NULL;
}

static bool has_schema(const lh_pstore_filter *q, const char *schema)
{
    if (!q->num_schemata) return true;
    for (size_t i = 0; i < q->num_schemata; i++)
        if (strcmp(q->schemata[i], schema) == 0) return true;
    return false;
}

/* Row-level filters: they restrict which statements are seen at all. */
static bool row_visible(const lh_pstore_filter *q, const lh_statement *s)
{
    if (q->dataset && strcmp(q->dataset, s->dataset) != 0) return false;
    return true;
}

static bool row_matches(const reader *r, const lh_statement *s)
{
    const lh_pstore_filter *q = r->q;
    if (!has_id(r, s->entity_id)) return false;
    if (!has_schema(q, s->schema)) return false;
    if (q->prop && strcmp(q->prop, s->prop) != 0) return false;
    if (q->prop && q->value && strcmp(q->value, s->value) != 0) return false;
    if (q->changed_since != LH_TS_NULL && s->last_seen < q->changed_since) return false;
    return true;
}

static bool part_wanted(const reader *r, const lh_part *p)
{
    const lh_pstore_filter *q = r->q;
    if (q->origin && strcmp(q->origin, p->origin) != 0) return false;
    if (q->bucket && strcmp(q->bucket, p->bucket) != 0) return false;
    if (r->shards.len && !lh_strlist_contains(&r->shards, p->shard)) return false;
    return true;
}

static int entity_order(const void *a, const void *b)
{
    return lh_stmt_cmp(a, b);
}

/* Live (or raw) rows of the wanted partitions of one (shard, bucket) pair,
 * in entity order. */
static lh_status read_pair(reader *r, const lh_part *parts, size_t n, lh_stmt_batch *rows,
                           lh_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!part_wanted(r, &parts[i])) continue;
        size_t base = rows->len;
        LH_TRY(lh_part_read(r->ps, &parts[i], rows, err));
        lh_statement *part_rows = rows->rows + base;
        size_t m = rows->len - base;
        if (!r->q->include_tombstones) {
            lh_stmt_sort(part_rows, m);
            m = lh_stmt_dedupe(part_rows, m, INT64_MAX);
        }
        /* drop rows the row-level filters hide */
        size_t k = 0;
        for (size_t j = 0; j < m; j++)
            if (row_visible(r->q, &part_rows[j])) part_rows[k++] = part_rows[j];
        rows->len = base + k;
    }
    if (rows->len) qsort(rows->rows, rows->len, sizeof *rows->rows, entity_order);
    return LH_OK;
}

typedef lh_status (*pair_fn)(reader *r, const lh_stmt_batch *rows, lh_pstore_entity_fn fn,
                             void *ctx, lh_error *err);

static lh_status each_pair(lh_pstore *ps, const lh_pstore_filter *q, pair_fn per_pair,
                           lh_pstore_entity_fn fn, void *ctx, lh_error *err)
{
    reader r = {ps, q, NULL, {0}};
    lh_strlist_init(&r.shards);
    lh_delta_snapshot *snap = NULL;
    lh_status rc = lh_pstore_snapshot(ps, &snap, err);
    if (rc != LH_OK || !snap) return rc;
    if (q->entity_ids) {
        r.ids = lh_malloc((q->num_entity_ids + 1) * sizeof *r.ids);
        memcpy(r.ids, q->entity_ids, q->num_entity_ids * sizeof *r.ids);
        qsort(r.ids, q->num_entity_ids, sizeof *r.ids, cmp_cstr);
        lh_arena a;
        lh_arena_init(&a, 4096);
        for (size_t i = 0; i < q->num_entity_ids; i++) {
            const char *sh = lh_pstore_entity_shard(q->entity_ids[i], ps->opts.shards, &a);
            if (!lh_strlist_contains(&r.shards, sh)) lh_strlist_push(&r.shards, sh);
        }
        lh_arena_free(&a);
    }
    lh_parts parts;
    rc = lh_parts_of(snap, &parts, err);
    lh_stmt_batch rows;
    lh_stmt_batch_init(&rows);
    for (size_t i = 0; rc == LH_OK && i < parts.len;) {
        size_t j = i + 1;
        while (j < parts.len && strcmp(parts.items[i].shard, parts.items[j].shard) == 0 &&
               strcmp(parts.items[i].bucket, parts.items[j].bucket) == 0)
            j++;
        lh_stmt_batch_clear(&rows);
        rc = read_pair(&r, &parts.items[i], j - i, &rows, err);
        if (rc == LH_OK && rows.len) rc = per_pair(&r, &rows, fn, ctx, err);
        i = j;
    }
    lh_stmt_batch_free(&rows);
    lh_parts_free(&parts);
    lh_delta_snapshot_free(snap);
    lh_strlist_free(&r.shards);
    free(r.ids);
    return rc;
}

static lh_status entities_of_pair(reader *r, const lh_stmt_batch *rows, lh_pstore_entity_fn fn,
                                  void *ctx, lh_error *err)
{
    for (size_t i = 0; i < rows->len;) {
        size_t j = i + 1;
        bool match = row_matches(r, &rows->rows[i]);
        while (j < rows->len && strcmp(rows->rows[i].entity_id, rows->rows[j].entity_id) == 0) {
            match = match || row_matches(r, &rows->rows[j]);
            j++;
        }
        /* the id and schema filters are about the entity, not one row */
        if (match && has_id(r, rows->rows[i].entity_id)) LH_TRY(fn(ctx, &rows->rows[i], j - i, err));
        i = j;
    }
    return LH_OK;
}

static lh_status statements_of_pair(reader *r, const lh_stmt_batch *rows,
                                    lh_pstore_entity_fn fn, void *ctx, lh_error *err)
{
    /* hand matching rows over entity by entity */
    size_t start = 0, n = 0;
    lh_statement *buf = lh_malloc((rows->len + 1) * sizeof *buf);
    lh_status rc = LH_OK;
    for (size_t i = 0; rc == LH_OK && i <= rows->len; i++) {
        bool boundary = i == rows->len ||
                        (n && strcmp(buf[start].entity_id, rows->rows[i].entity_id) != 0);
        if (boundary && n) {
            rc = fn(ctx, buf + start, n, err);
            start += n;
            n = 0;
        }
        if (i < rows->len && row_matches(r, &rows->rows[i])) buf[start + n++] = rows->rows[i];
    }
    free(buf);
    return rc;
}

lh_status lh_pstore_query(lh_pstore *ps, const lh_pstore_filter *q, lh_pstore_entity_fn fn,
                          void *ctx, lh_error *err)
{
    lh_pstore_filter dflt;
    if (!q) {
        lh_pstore_filter_init(&dflt);
        q = &dflt;
    }
    return each_pair(ps, q, entities_of_pair, fn, ctx, err);
}

lh_status lh_pstore_query_statements(lh_pstore *ps, const lh_pstore_filter *q,
                                     lh_pstore_entity_fn fn, void *ctx, lh_error *err)
{
    lh_pstore_filter dflt;
    if (!q) {
        lh_pstore_filter_init(&dflt);
        q = &dflt;
    }
    return each_pair(ps, q, statements_of_pair, fn, ctx, err);
}

typedef struct changed_ctx {
    int64_t since;
    lh_strlist *out;
} changed_ctx;

static lh_status collect_changed(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    changed_ctx *c = ctx;
    for (size_t i = 0; i < n; i++)
        if (rows[i].first_seen >= c->since ||
            (rows[i].deleted_at != LH_TS_NULL && rows[i].deleted_at >= c->since)) {
            lh_strlist_push(c->out, rows[i].entity_id);
            break;
        }
    return LH_OK;
}

lh_status lh_pstore_changed_entity_ids(lh_pstore *ps, int64_t since, lh_strlist *out,
                                       lh_error *err)
{
    lh_pstore_filter q;
    lh_pstore_filter_init(&q);
    q.include_tombstones = true;
    changed_ctx c = {since, out};
    LH_TRY(each_pair(ps, &q, entities_of_pair, collect_changed, &c, err));
    lh_strlist_sort(out);
    return LH_OK;
}
