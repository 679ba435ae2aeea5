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

typedef struct reader {
    lh_pstore *ps;
    const lh_pstore_filter *q;
    const char **ids; /* sorted copy of q->entity_ids */
    lh_strlist shards; /* shards the ids live in; empty = all */
} reader;

static bool has_id(const reader *r, const char *id)
{
    if (!r->ids) return true;
    return bsearch(&id, r->ids, r->q->num_entity_ids, sizeof *r->ids, lh_str_ptr_cmp) != NULL;
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
    if (q->prop_type && (!s->prop_type || strcmp(q->prop_type, s->prop_type) != 0)) return false;
    if ((q->prop || q->prop_type) && q->value && strcmp(q->value, s->value) != 0) return false;
    if (q->changed_since != LH_TS_NULL && s->last_seen < q->changed_since) return false;
    return true;
}

static bool part_wanted(const reader *r, const lh_part *p)
{
    const lh_pstore_filter *q = r->q;
    if (q->origin && strcmp(q->origin, p->origin) != 0) return false;
    if (q->bucket && strcmp(q->bucket, p->bucket) != 0) return false;
    if (q->buckets) {
        size_t i = 0;
        while (i < q->num_buckets && strcmp(q->buckets[i], p->bucket) != 0) i++;
        if (i == q->num_buckets) return false;
    }
    if (r->shards.len && !lh_strlist_contains(&r->shards, p->shard)) return false;
    return true;
}

struct lh_pstore_cursor {
    reader r;
    bool by_statement;    /* row-level matches only, else whole entities */
    lh_delta_snapshot *own_snap;
    lh_parts parts;
    size_t next;          /* the first part of the next pair */
    lh_part *wanted;      /* the current pair's wanted parts, held by es */
    lh_stmt_pred pred;    /* held by es */
    lh_entity_stream *es; /* NULL between pairs */
    lh_statement *match;  /* by_statement's matching rows */
    size_t match_cap;
    bool done;
    /* Where the read is, to resume it on a newer snapshot when a file of
     * its own is gone (see resume): the pair being opened or streamed
     * (bucket NULL with whole_entities) and the last entity handed out
     * from it (NULL: none yet). */
    char *pair_shard, *pair_bucket;
    lh_buf last_entity; /* len 0: none */
    /* entities of the pair up to this one were handed out before a
     * resume (NULL: none) */
    char *skip_through;
    int resumes;
};

/* How often one read moves on to a newer snapshot: each time a merge
 * replaced and vacuumed files it had yet to read. */
#define MAX_RESUMES 8

/* Order of part p against the pair (shard, bucket); bucket NULL: the
 * shard alone. */
static int pair_cmp(const lh_part *p, const char *shard, const char *bucket)
{
    int c = strcmp(p->shard, shard);
    return c || !bucket ? c : strcmp(p->bucket, bucket);
}

/* Open the stream over the next (shard, bucket) pair (or shard, see
 * whole_entities) holding a wanted part; c->done past the last. */
static lh_status open_next_pair(lh_pstore_cursor *c, lh_error *err)
{
    const lh_pstore_filter *q = c->r.q;
    const lh_part *parts = c->parts.items;
    while (!c->es && c->next < c->parts.len) {
        size_t i = c->next, j = i + 1;
        while (j < c->parts.len && strcmp(parts[i].shard, parts[j].shard) == 0 &&
               (q->whole_entities || strcmp(parts[i].bucket, parts[j].bucket) == 0))
            j++;
        c->next = j;
        if (!c->pair_shard || pair_cmp(&parts[i], c->pair_shard, c->pair_bucket) != 0) {
            free(c->skip_through); /* only the resumed pair had entities handed out */
            c->skip_through = NULL;
        }
        free(c->pair_shard);
        free(c->pair_bucket);
        c->pair_shard = lh_strdup(parts[i].shard);
        c->pair_bucket = q->whole_entities ? NULL : lh_strdup(parts[i].bucket);
        lh_buf_reset(&c->last_entity);
        size_t m = 0;
        for (size_t k = i; k < j; k++)
            if (part_wanted(&c->r, &parts[k])) c->wanted[m++] = parts[k];
        if (!m) continue;
        bool filtered = q->num_schemata || c->pred.value;
        LH_TRY(lh_entity_stream_open(c->r.ps, c->wanted, m, c->r.ids,
                                     c->r.ids ? q->num_entity_ids : 0,
                                     filtered ? &c->pred : NULL, &c->es, err));
    }
    if (!c->es) c->done = true;
    return LH_OK;
}

/* The cursor's partitions from here on (the stream over the old ones
 * freed before), with room for a pair's wanted ones. */
static void adopt_parts(lh_pstore_cursor *c, lh_parts parts)
{
    if (c->parts.items) lh_parts_free(&c->parts);
    c->parts = parts;
    free(c->wanted);
    c->wanted = lh_malloc((parts.len ? parts.len : 1) * sizeof *c->wanted);
}

lh_status lh_pstore_cursor_open(lh_pstore *ps, const lh_pstore_filter *q,
                                const lh_delta_snapshot *snap, bool by_statement,
                                lh_pstore_cursor **out, lh_error *err)
{
    *out = NULL;
    lh_pstore_cursor *c = lh_calloc(1, sizeof *c);
    c->r = (reader){ps, q, NULL, {0}};
    lh_strlist_init(&c->r.shards);
    c->by_statement = by_statement;
    bool by_value = q->prop || q->prop_type;
    c->pred = (lh_stmt_pred){q->schemata, q->num_schemata, q->prop,
                             by_value ? q->value : NULL, q->prop_type};
    lh_status rc = LH_OK;
    if (!snap) {
        rc = lh_pstore_snapshot(ps, &c->own_snap, err);
        snap = c->own_snap;
    }
    lh_parts parts = {0};
    if (rc == LH_OK && snap) rc = lh_parts_of(snap, &parts, err);
    if (rc != LH_OK) {
        lh_pstore_cursor_free(c);
        return rc;
    }
    adopt_parts(c, parts);
    c->done = !snap;
    if (q->entity_ids) {
        c->r.ids = lh_malloc((q->num_entity_ids + 1) * sizeof *c->r.ids);
        memcpy(c->r.ids, q->entity_ids, q->num_entity_ids * sizeof *c->r.ids);
        qsort(c->r.ids, q->num_entity_ids, sizeof *c->r.ids, lh_str_ptr_cmp);
        lh_arena a;
        lh_arena_init(&a, 4096);
        for (size_t i = 0; i < q->num_entity_ids; i++) {
            const char *sh = lh_pstore_entity_shard(q->entity_ids[i], ps->opts.shards, &a);
            if (!lh_strlist_contains(&c->r.shards, sh)) lh_strlist_push(&c->r.shards, sh);
        }
        lh_arena_free(&a);
    }
    *out = c;
    return LH_OK;
}

/* A file of the cursor's snapshot is gone: the usual cause is a merge that
 * replaced it and vacuumed it at once (retention 0, as the reference's
 * optimize). Where the cursor owns its snapshot, it goes on from the
 * newest one at the pair it was in, after the last entity it handed out:
 * pairs come in (shard, bucket) order and entities in id order within a
 * pair, in every snapshot of one shard layout. *resumed false: the error
 * stands (a pinned snapshot, no newer version, another shard layout since,
 * too many resumes). */
static lh_status resume(lh_pstore_cursor *c, bool *resumed, lh_error *err)
{
    *resumed = false;
    if (!c->own_snap || c->resumes >= MAX_RESUMES || !c->pair_shard) return LH_OK;
    lh_pstore_layout_state layout;
    lh_error e;
    if (lh_pstore_layout_repair(c->r.ps, false, &layout, &e) != LH_OK || layout.differs ||
        layout.recorded != c->r.ps->opts.shards)
        return LH_OK;
    lh_delta_snapshot *snap = NULL;
    if (lh_pstore_snapshot(c->r.ps, &snap, &e) != LH_OK || !snap ||
        lh_delta_snapshot_version(snap) <= lh_delta_snapshot_version(c->own_snap)) {
        lh_delta_snapshot_free(snap);
        return LH_OK;
    }
    lh_parts parts;
    lh_status rc = lh_parts_of(snap, &parts, err);
    if (rc != LH_OK) {
        lh_delta_snapshot_free(snap);
        return rc;
    }
    /* the stream holds parts of the old snapshot */
    lh_entity_stream_free(c->es);
    c->es = NULL;
    adopt_parts(c, parts);
    lh_delta_snapshot_free(c->own_snap);
    c->own_snap = snap;
    c->next = 0;
    while (c->next < parts.len && pair_cmp(&parts.items[c->next], c->pair_shard, c->pair_bucket) < 0)
        c->next++;
    if (c->last_entity.len) {
        free(c->skip_through);
        c->skip_through = lh_strdup(c->last_entity.data);
        lh_buf_reset(&c->last_entity);
    }
    c->resumes++;
    *resumed = true;
    return LH_OK;
}

/* The live view (or raw rows) entity by entity, row-level filters applied:
 * an entity is passed whole when one of its rows matches every filter (or,
 * by_statement, only those rows). */
lh_status lh_pstore_cursor_next(lh_pstore_cursor *c, const lh_statement **rows, size_t *n,
                                lh_error *err)
{
    *rows = NULL;
    *n = 0;
    const lh_pstore_filter *q = c->r.q;
    while (!c->done) {
        lh_statement *got = NULL;
        size_t k = 0;
        bool opening = !c->es;
        lh_status rc = opening ? open_next_pair(c, err) : lh_entity_stream_next(c->es, &got, &k, err);
        if (rc == LH_ERR_NOT_FOUND) {
            bool resumed;
            LH_TRY(resume(c, &resumed, err));
            if (resumed) continue;
        }
        if (rc != LH_OK) return rc;
        if (opening) continue;
        if (k == 0) { /* the next pair's open forgets skip_through */
            lh_entity_stream_free(c->es);
            c->es = NULL;
            continue;
        }
        if (c->skip_through && strcmp(got[0].entity_id, c->skip_through) <= 0) continue;
        lh_buf_reset(&c->last_entity);
        lh_buf_append_str(&c->last_entity, got[0].entity_id);
        if (!has_id(&c->r, got[0].entity_id)) continue;
        if (!q->include_tombstones) k = lh_entity_dedupe(got, k, INT64_MAX);
        size_t v = 0;
        for (size_t i = 0; i < k; i++)
            if (row_visible(q, &got[i])) got[v++] = got[i];
        if (!v || (q->match && !q->match(q->match_ctx, got, v))) continue;
        if (c->by_statement) {
            if (c->match_cap < v) c->match = lh_grow(c->match, &c->match_cap, v, sizeof *c->match);
            size_t m = 0;
            for (size_t i = 0; i < v; i++)
                if (row_matches(&c->r, &got[i])) c->match[m++] = got[i];
            if (!m) continue;
            *rows = c->match;
            *n = m;
            return LH_OK;
        }
        for (size_t i = 0; i < v; i++)
            if (row_matches(&c->r, &got[i])) {
                *rows = got;
                *n = v;
                return LH_OK;
            }
    }
    return LH_OK;
}

void lh_pstore_cursor_free(lh_pstore_cursor *c)
{
    if (!c) return;
    lh_entity_stream_free(c->es);
    free(c->wanted);
    free(c->match);
    free(c->r.ids);
    lh_strlist_free(&c->r.shards);
    free(c->pair_shard);
    free(c->pair_bucket);
    lh_buf_free(&c->last_entity);
    free(c->skip_through);
    if (c->parts.items) lh_parts_free(&c->parts);
    lh_delta_snapshot_free(c->own_snap);
    free(c);
}

static lh_status each_entity(lh_pstore *ps, const lh_pstore_filter *q, bool by_statement,
                             lh_pstore_entity_fn fn, void *ctx, lh_error *err)
{
    lh_pstore_filter dflt;
    if (!q) {
        lh_pstore_filter_init(&dflt);
        q = &dflt;
    }
    lh_pstore_cursor *c = NULL;
    LH_TRY(lh_pstore_cursor_open(ps, q, NULL, by_statement, &c, err));
    lh_status rc;
    for (;;) {
        const lh_statement *rows;
        size_t n;
        rc = lh_pstore_cursor_next(c, &rows, &n, err);
        if (rc != LH_OK || n == 0) break;
        rc = fn(ctx, rows, n, err);
        if (rc != LH_OK) break;
    }
    lh_pstore_cursor_free(c);
    return rc;
}

lh_status lh_pstore_query(lh_pstore *ps, const lh_pstore_filter *q, lh_pstore_entity_fn fn,
                          void *ctx, lh_error *err)
{
    return each_entity(ps, q, false, fn, ctx, err);
}

lh_status lh_pstore_query_statements(lh_pstore *ps, const lh_pstore_filter *q,
                                     lh_pstore_entity_fn fn, void *ctx, lh_error *err)
{
    return each_entity(ps, q, true, fn, ctx, err);
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
    /* an entity's rows in every bucket of its shard together (a schema
     * change can leave an entity in two buckets): each id once */
    q.whole_entities = true;
    changed_ctx c = {since, out};
    LH_TRY(each_entity(ps, &q, false, collect_changed, &c, err));
    lh_strlist_sort(out);
    return LH_OK;
}

/* one tombstone, as the scan found it */
typedef struct tomb {
    char *id, *schema;
    const char *origin; /* the snapshot's */
    int64_t at;
    bool hash;
} tomb;

typedef struct tombs {
    tomb *items;
    size_t len, cap;
    const char *origin; /* of the file being read */
} tombs;

static lh_status add_tomb(void *ctx, const char *entity_id, int64_t deleted_at, const char *schema,
                          const char *prop, lh_error *err)
{
    (void)err;
    tombs *t = ctx;
    if (t->len == t->cap) t->items = lh_grow(t->items, &t->cap, t->len + 1, sizeof *t->items);
    t->items[t->len++] = (tomb){lh_strdup(entity_id), lh_strdup(schema), t->origin, deleted_at,
                                strcmp(prop, "contentHash") == 0};
    return LH_OK;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const tomb *)a)->id, ((const tomb *)b)->id);
}

static void push_unique(lh_strlist *l, const char *s)
{
    if (!lh_strlist_contains(l, s)) lh_strlist_push(l, s);
}

lh_status lh_pstore_deleted_since(lh_pstore *ps, int64_t since, lh_pstore_deleted_list *out,
                                  lh_error *err)
{
    /* A few columns, not the rows: every tombstone's entity_id, deleted_at,
     * schema and prop (a row group without one is skipped by its
     * statistics), grouped by entity: all of an entity's tombstones
     * describe it, the latest decides. */
    memset(out, 0, sizeof *out);
    lh_delta_snapshot *snap = NULL;
    lh_parts parts;
    LH_TRY(lh_pstore_parts(ps, &snap, &parts, err));
    tombs t = {0};
    lh_status rc = LH_OK;
    lh_buf key = LH_BUF_INIT;
    for (size_t i = 0; rc == LH_OK && snap && i < parts.len; i++) {
        const lh_part *p = &parts.items[i];
        t.origin = p->origin;
        for (size_t k = 0; rc == LH_OK && k < p->num_files; k++) {
            lh_buf_reset(&key);
            lh_buf_printf(&key, "%s/%s", lh_pstore_table(ps), p->files[k]->path);
            lh_stmt_file *f = NULL;
            rc = lh_stmt_file_open(ps->st, key.data, p->shard, p->bucket, p->origin, &f, err);
            for (size_t rg = 0; rc == LH_OK && rg < lh_stmt_file_row_groups(f); rg++)
                rc = lh_stmt_file_tombstones(f, rg, add_tomb, &t, err);
            lh_stmt_file_free(f);
        }
    }
    lh_buf_free(&key);
    if (t.len) qsort(t.items, t.len, sizeof *t.items, by_id);
    for (size_t i = 0; i < t.len;) {
        size_t j = i;
        int64_t latest = t.items[i].at;
        while (j < t.len && strcmp(t.items[j].id, t.items[i].id) == 0) {
            if (t.items[j].at > latest) latest = t.items[j].at;
            j++;
        }
        if (rc == LH_OK && latest >= since) {
            if (out->len == out->cap)
                out->items = lh_grow(out->items, &out->cap, out->len + 1, sizeof *out->items);
            lh_pstore_deleted *d = &out->items[out->len++];
            memset(d, 0, sizeof *d);
            d->entity_id = lh_strdup(t.items[i].id);
            d->deleted_at = latest;
            lh_strlist_init(&d->origins);
            lh_strlist_init(&d->schemata);
            for (size_t k = i; k < j; k++) {
                push_unique(&d->origins, t.items[k].origin);
                push_unique(&d->schemata, t.items[k].schema);
                d->content_hash = d->content_hash || t.items[k].hash;
            }
        }
        i = j;
    }
    for (size_t i = 0; i < t.len; i++) {
        free(t.items[i].id);
        free(t.items[i].schema);
    }
    free(t.items);
    if (snap) lh_parts_free(&parts);
    lh_delta_snapshot_free(snap);
    if (rc != LH_OK) lh_pstore_deleted_list_free(out);
    return rc;
}

void lh_pstore_deleted_list_free(lh_pstore_deleted_list *l)
{
    for (size_t i = 0; i < l->len; i++) {
        free(l->items[i].entity_id);
        lh_strlist_free(&l->items[i].origins);
        lh_strlist_free(&l->items[i].schemata);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}
