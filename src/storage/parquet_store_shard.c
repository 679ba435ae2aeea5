/* ParquetStore re-shard: the table rewritten onto another shard count. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/model/keys.h"
#include "pstore_internal.h"

/* Rows a group's rewrite reads between progress reports. */
#define PROGRESS_ROWS 16384

/* One (bucket, origin) group: its partitions under every old shard, and
 * the files it is rewritten into, one per new shard that gets rows. */
typedef struct group {
    lh_part *parts; /* a run of group_parts' copies; they point into the snapshot */
    size_t nparts;
    lh_delta_add *adds;
    size_t nadds;
    lh_arena arena; /* the adds' strings, the shard keys */
    uint64_t rows;
    lh_status rc;
    lh_error err;
} group;

typedef struct job {
    lh_pstore *ps;
    int shards;
    group *groups;
} job;

/* Stream the group entity by entity (as stored: not deduped) into the
 * files of the new shards, in file order as their footers say; an entity's
 * rows all go to one shard. */
static lh_status shard_group(lh_pstore *ps, int shards, group *g)
{
    lh_error *err = &g->err;
    size_t nslots = shards > 1 ? (size_t)shards : 1;
    lh_part_writer **w = lh_calloc(nslots, sizeof *w);
    const char **keys = lh_calloc(nslots, sizeof *keys);
    lh_entity_stream *es = NULL;
    uint64_t unreported = 0;
    lh_status rc = lh_entity_stream_open(ps, g->parts, g->nparts, NULL, 0, NULL, &es, err);
    while (rc == LH_OK) {
        lh_statement *rows;
        size_t n = 0;
        rc = lh_entity_stream_next(es, &rows, &n, err);
        if (rc != LH_OK || n == 0) break;
        char key[LH_SHARD_MAX];
        lh_shard_key(rows[0].entity_id, shards, key);
        size_t k = shards > 1 ? (size_t)strtoul(key, NULL, 16) : 0;
        if (!keys[k]) keys[k] = lh_arena_strdup(&g->arena, key);
        for (size_t i = 0; i < n; i++) rows[i].shard = keys[k];
        lh_stmt_sort(rows, n); /* the rows of several input files */
        if (!w[k]) rc = lh_part_writer_open(ps, "part", &rows[0], false, &w[k], err);
        if (rc == LH_OK) rc = lh_part_writer_add(w[k], rows, n, err);
        g->rows += n;
        if ((unreported += n) >= PROGRESS_ROWS) {
            lh_pstore_report_progress(ps, unreported);
            unreported = 0;
        }
    }
    lh_pstore_report_progress(ps, unreported);
    lh_entity_stream_free(es);
    if (rc == LH_OK) {
        size_t open = 0;
        for (size_t k = 0; k < nslots; k++) open += w[k] != NULL;
        g->adds = lh_arena_alloc(&g->arena, (open ? open : 1) * sizeof *g->adds);
    }
    for (size_t k = 0; k < nslots; k++) {
        if (rc == LH_OK && w[k]) {
            rc = lh_part_writer_finish(w[k], &g->arena, &g->adds[g->nadds], err);
            if (rc == LH_OK) g->nadds++;
        }
        lh_part_writer_free(w[k]); /* an unfinished file is discarded */
    }
    free(w);
    free(keys);
    return rc;
}

static void shard_task(void *ctx, size_t i)
{
    job *j = ctx;
    j->groups[i].rc = shard_group(j->ps, j->shards, &j->groups[i]);
}

/* Partitions of one group compare equal. */
static int group_key_cmp(const lh_part *a, const lh_part *b)
{
    int c = strcmp(a->bucket, b->bucket);
    return c ? c : strcmp(a->origin, b->origin);
}

static int group_cmp(const void *x, const void *y)
{
    const lh_part *a = x, *b = y;
    int c = group_key_cmp(a, b);
    return c ? c : strcmp(a->shard, b->shard);
}

/* Group the partitions by (bucket, origin), whatever their shard: runs of
 * one sorted copy (*all, the caller frees it), so the groups of thousands
 * of origins cost their partitions, not a partition list each as long as
 * the table's (which grew with the square of the origins: gigabytes for
 * ten thousand). */
static group *group_parts(const lh_parts *parts, lh_part **all, size_t *ngroups)
{
    lh_part *sorted = lh_malloc((parts->len ? parts->len : 1) * sizeof *sorted);
    if (parts->len) memcpy(sorted, parts->items, parts->len * sizeof *sorted);
    qsort(sorted, parts->len, sizeof *sorted, group_cmp);
    group *gs = lh_calloc(parts->len ? parts->len : 1, sizeof *gs);
    size_t n = 0;
    for (size_t i = 0; i < parts->len; i++) {
        group *g = n ? &gs[n - 1] : NULL;
        if (!g || group_key_cmp(&g->parts[0], &sorted[i]) != 0) {
            g = &gs[n++];
            g->parts = &sorted[i];
            lh_arena_init(&g->arena, 4096);
        }
        g->nparts++;
    }
    *all = sorted;
    *ngroups = n;
    return gs;
}

/* Every file of the table out, the new files in: one commit, so readers
 * see the old layout or the new one, never a mix. */
static lh_status commit(lh_pstore *ps, int shards, const lh_delta_snapshot *snap,
                        const lh_parts *parts, const group *gs, size_t ngroups,
                        lh_pstore_report *rep, int64_t *version, bool *maybe_committed,
                        lh_error *err)
{
    lh_delta_txn *txn = NULL;
    LH_TRY(lh_delta_txn_new(ps->st, ps->table, snap, &txn, err));
    lh_delta_txn_read_partition(txn, NULL, 0); /* any add meanwhile conflicts */
    lh_status rc = LH_OK;
    int64_t now = lh_now_us() / 1000;
    for (size_t i = 0; rc == LH_OK && i < ngroups; i++)
        for (size_t k = 0; rc == LH_OK && k < gs[i].nadds; k++) {
            rc = lh_delta_txn_add(txn, &gs[i].adds[k], err);
            rep->files_added++;
        }
    for (size_t i = 0; rc == LH_OK && i < parts->len; i++)
        for (size_t f = 0; rc == LH_OK && f < parts->items[i].num_files; f++) {
            rc = lh_delta_txn_remove(txn, parts->items[i].files[f], false, now, err);
            rep->files_removed++;
        }
    if (rc == LH_OK) {
        /* the count in the commit itself: a re-shard killed before it
         * recorded it is completed from here (lh_pstore_layout_repair) */
        char count[16];
        snprintf(count, sizeof count, "%d", shards);
        lh_delta_kv param = {LH_PSTORE_SHARDS_PARAM, count};
        lh_delta_txn_set_operation(txn, "OPTIMIZE", &param, 1);
        rc = lh_delta_txn_commit(txn, version, err);
        /* in the log despite the error, or maybe: the caller treats the
         * table as re-sharded (the fence stays until `unlock` checks) */
        if (rc != LH_OK && lh_delta_txn_outcome(txn, NULL) != LH_DELTA_NOT_COMMITTED)
            *maybe_committed = true;
    }
    lh_delta_txn_free(txn);
    return rc;
}

/* Record the count with the store's owner (config.yml), still under the
 * fence: an append that waited for it reads the new count once its marker
 * is registered. */
static lh_status record_shards(lh_pstore *ps, int shards, lh_error *err)
{
    if (ps->opts.layout.set_shards)
        LH_TRY(ps->opts.layout.set_shards(ps->opts.layout.ctx, shards, err));
    ps->opts.shards = shards;
    return LH_OK;
}

static lh_status reshard(lh_pstore *ps, int shards, lh_pstore_report *rep, bool *committed,
                         lh_error *err)
{
    lh_delta_snapshot *snap = NULL;
    lh_parts parts;
    LH_TRY(lh_pstore_parts(ps, &snap, &parts, err));
    if (!snap) return record_shards(ps, shards, err); /* no table yet */
    lh_status rc = lh_pstore_check_rewritable(ps, snap, err);
    if (rc != LH_OK) {
        lh_parts_free(&parts);
        lh_delta_snapshot_free(snap);
        return rc;
    }
    size_t ngroups = 0;
    lh_part *grouped = NULL;
    group *gs = group_parts(&parts, &grouped, &ngroups);
    job j = {ps, shards, gs};
    uint64_t *sizes = lh_calloc(ngroups ? ngroups : 1, sizeof *sizes);
    for (size_t i = 0; i < ngroups; i++)
        for (size_t k = 0; k < gs[i].nparts; k++) sizes[i] += gs[i].parts[k].bytes;
    lh_pstore_run_tasks(ps, ngroups, sizes, shard_task, &j);
    free(sizes);
    for (size_t i = 0; i < ngroups; i++) {
        if (gs[i].rc != LH_OK && rc == LH_OK) {
            *err = gs[i].err;
            rc = gs[i].rc;
        }
        rep->rows_in += gs[i].rows;
        rep->partitions += gs[i].nadds;
    }
    rep->rows_out = rep->rows_in;
    /* a failed group leaves the table as it was: nothing is committed */
    int64_t version = -1;
    bool maybe = false;
    if (rc == LH_OK && parts.len)
        rc = commit(ps, shards, snap, &parts, gs, ngroups, rep, &version, &maybe, err);
    *committed = (rc == LH_OK && version >= 0) || maybe;
    /* not in the log: the new files are nobody's (a full disk would keep
     * them until vacuum, in the space a retry needs) */
    if (rc != LH_OK && !maybe)
        for (size_t i = 0; i < ngroups; i++) lh_pstore_discard_adds(ps, gs[i].adds, gs[i].nadds);
    /* recorded at once, before the checkpoint: the window in which a kill
     * leaves the table and the recorded count apart stays short */
    if (rc == LH_OK) rc = record_shards(ps, shards, err);
    if (rc == LH_OK && version >= 0) lh_pstore_checkpoint(ps, version, rep);
    for (size_t i = 0; i < ngroups; i++) lh_arena_free(&gs[i].arena);
    free(gs);
    free(grouped);
    lh_parts_free(&parts);
    lh_delta_snapshot_free(snap);
    return rc;
}

lh_status lh_pstore_reshard(lh_pstore *ps, int shards, lh_pstore_report *rep, lh_error *err)
{
    lh_pstore_report ignored;
    if (!rep) rep = &ignored;
    memset(rep, 0, sizeof *rep);
    rep->checkpoint_version = -1;
    if (shards < 0 || shards > LH_PSTORE_MAX_RESHARD)
        return lh_error_set(err, LH_ERR_INVALID,
                            "re-shard: %d shards: the count must be 0 to %d (every new shard "
                            "is written at once, a row group of each in memory)",
                            shards, LH_PSTORE_MAX_RESHARD);
    lh_fence *lock = NULL, *merge = NULL;
    /* sticky: a run killed after its commit must leave the fence for
     * `unlock`, which records the committed count before writers go on */
    LH_TRY(lh_pstore_maintenance_fence(ps, LH_FENCE_STICKY, &lock, &merge, err));
    bool committed = false;
    lh_status rc = reshard(ps, shards, rep, &committed, err);
    if (rc != LH_OK && committed) {
        /* The table is (or may be) in the new layout, its count not
         * recorded: writers let on now would write the old one. The fence
         * stays, as after a kill here, for `unlock` to read the log and
         * record the count it finds committed. */
        lh_error_prefix(err, "re-shard: the table is or may be committed in %d shard(s) and the "
                             "count is not recorded (the write fence stays held: `maintenance "
                             "unlock` records the committed count)",
                        shards);
        lh_fence_keep(merge);
        lh_fence_keep(lock);
        return rc;
    }
    rc = lh_fence_release_keep(merge, rc, err);
    return lh_fence_release_keep(lock, rc, err);
}

lh_status lh_pstore_layout_repair(lh_pstore *ps, bool repair, lh_pstore_layout_state *state,
                                  lh_error *err)
{
    state->committed = -1;
    state->recorded = ps->opts.shards;
    state->differs = false;
    if (ps->opts.layout.get_shards)
        LH_TRY(ps->opts.layout.get_shards(ps->opts.layout.ctx, &state->recorded, err));
    int64_t version = -1;
    lh_error e;
    lh_status rc = lh_delta_latest_version(ps->st, ps->table, &version, &e);
    if (rc == LH_ERR_NOT_FOUND) return LH_OK; /* no table */
    if (rc != LH_OK) {
        *err = e;
        return rc;
    }
    char *value = NULL;
    rc = lh_delta_commit_param(ps->st, ps->table, version, LH_PSTORE_SHARDS_PARAM, &value, &e);
    if (rc == LH_ERR_NOT_FOUND) return LH_OK; /* only a checkpoint is left of it */
    if (rc != LH_OK) {
        *err = e;
        return rc;
    }
    if (!value) return LH_OK; /* the newest commit is no re-shard */
    char *end;
    long n = strtol(value, &end, 10);
    bool valid = *value && !*end && n >= 0 && n <= LH_PSTORE_MAX_RESHARD;
    free(value);
    if (!valid)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: commit %" PRId64 ": %s is not a shard count",
                            ps->table, version, LH_PSTORE_SHARDS_PARAM);
    state->committed = (int)n;
    /* counts <= 1 are one layout: a single shard "0" */
    state->differs = n != state->recorded && !(n <= 1 && state->recorded <= 1);
    if (!state->differs || !repair) return LH_OK;
    return record_shards(ps, (int)n, err);
}
