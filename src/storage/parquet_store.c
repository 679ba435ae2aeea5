/* ParquetStore: table lifecycle, append, partition IO (see parquet_store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/hash.h"
#include "lh/core/mem.h"
#include "lh/core/settings.h"
#include "lh/core/timeutil.h"
#include "lh/core/uuid.h"
#include "lh/format/pq_writer.h"
#include "lh/model/keys.h"
#include "lh/storage/fence.h"
#include "pstore_internal.h"

/* The reference's table properties: nothing time-travels far. */
const lh_delta_kv lh_pstore_table_configuration[LH_PSTORE_NCONF] = {
    {"delta.logRetentionDuration", "interval 1 days"},
    {"delta.deletedFileRetentionDuration", "interval 1 hours"},
};

void lh_pstore_opts_init(lh_pstore_opts *o)
{
    memset(o, 0, sizeof *o);
    o->shards = 0;
    o->grace_period_days = 30;
    o->lock_max_retries = -1;
    o->workers = 0;
    lh_settings s;
    lh_error e;
    if (lh_settings_load(&s, &e) == LH_OK) {
        o->grace_period_days = s.grace_period_days;
        o->lock_max_retries = s.lock_max_retries;
        o->workers = s.workers;
        lh_settings_free(&s);
    }
}

lh_status lh_pstore_open(lh_storage *st, const char *dataset, const lh_pstore_opts *opts,
                         lh_pstore **out, lh_error *err)
{
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/statements", dataset);
    lh_status rc = lh_storage_check_key(key.data, err);
    if (rc != LH_OK) {
        lh_buf_free(&key);
        return lh_error_prefix(err, "dataset `%s`", dataset);
    }
    lh_pstore *ps = lh_calloc(1, sizeof *ps);
    ps->st = st;
    ps->dataset = lh_strdup(dataset);
    ps->table = lh_buf_detach(&key, NULL);
    if (opts)
        ps->opts = *opts;
    else
        lh_pstore_opts_init(&ps->opts);
    pthread_mutex_init(&ps->progress_mu, NULL);
    *out = ps;
    return LH_OK;
}

void lh_pstore_set_progress(lh_pstore *ps, lh_pstore_progress_fn fn, void *ctx)
{
    ps->progress = fn;
    ps->progress_ctx = ctx;
}

void lh_pstore_report_progress(lh_pstore *ps, uint64_t n)
{
    if (!ps->progress || !n) return;
    pthread_mutex_lock(&ps->progress_mu);
    ps->progress(ps->progress_ctx, n);
    pthread_mutex_unlock(&ps->progress_mu);
}

void lh_pstore_free(lh_pstore *ps)
{
    if (!ps) return;
    pthread_mutex_destroy(&ps->progress_mu);
    free(ps->dataset);
    free(ps->table);
    free(ps);
}

const char *lh_pstore_table(const lh_pstore *ps)
{
    return ps->table;
}

lh_status lh_pstore_exists(lh_pstore *ps, bool *exists, lh_error *err)
{
    return lh_delta_exists(ps->st, ps->table, exists, err);
}

lh_status lh_pstore_version(lh_pstore *ps, int64_t *version, lh_error *err)
{
    lh_status rc = lh_delta_latest_version(ps->st, ps->table, version, err);
    if (rc == LH_ERR_NOT_FOUND) {
        *version = -1;
        return LH_OK;
    }
    return rc;
}

lh_status lh_pstore_snapshot(lh_pstore *ps, lh_delta_snapshot **snap, lh_error *err)
{
    *snap = NULL;
    lh_status rc = lh_delta_snapshot_load(ps->st, ps->table, LH_DELTA_LATEST, snap, err);
    if (rc != LH_ERR_NOT_FOUND) return rc;
    /* no table, or a log file gone while replaying (which stays an error):
     * the second listing is paid only here */
    bool exists = true;
    lh_error e2;
    if (lh_delta_exists(ps->st, ps->table, &exists, &e2) == LH_OK && !exists) return LH_OK;
    /* a table another writer created after the first listing is loaded,
     * not reported missing */
    if (exists) rc = lh_delta_snapshot_load(ps->st, ps->table, LH_DELTA_LATEST, snap, err);
    return rc;
}

/* ------------------------------------------------------------- partitions */

static int part_cmp(const void *a, const void *b)
{
    const lh_part *x = a, *y = b;
    int c;
    if ((c = strcmp(x->shard, y->shard))) return c;
    if ((c = strcmp(x->bucket, y->bucket))) return c;
    return strcmp(x->origin, y->origin);
}

static bool is_merged(const char *path)
{
    const char *base = strrchr(path, '/');
    return lh_str_startswith(base ? base + 1 : path, LH_MERGED_PREFIX);
}

lh_status lh_pstore_parts(lh_pstore *ps, lh_delta_snapshot **snap, lh_parts *parts,
                          lh_error *err)
{
    parts->items = NULL;
    parts->len = 0;
    LH_TRY(lh_pstore_snapshot(ps, snap, err));
    if (!*snap) return LH_OK;
    lh_status rc = lh_parts_of(*snap, parts, err);
    if (rc != LH_OK) {
        lh_delta_snapshot_free(*snap);
        *snap = NULL;
    }
    return rc;
}

lh_status lh_parts_of(const lh_delta_snapshot *snap, lh_parts *out, lh_error *err)
{
    out->items = NULL;
    out->len = 0;
    size_t n = lh_delta_snapshot_num_files(snap);
    if (!n) return LH_OK;
    /* files are sorted by path, but partition values come from the log:
     * group through a sorted array of (partition, file) pairs */
    lh_part *tmp = lh_calloc(n, sizeof *tmp);
    for (size_t i = 0; i < n; i++) {
        const lh_delta_file *f = lh_delta_snapshot_file(snap, i);
        const char *v[3];
        for (int k = 0; k < 3; k++) {
            v[k] = lh_delta_map_get(&f->partition_values, lh_stmt_partition_cols[k], NULL);
            if (!v[k]) {
                free(tmp);
                return lh_error_set(err, LH_ERR_CORRUPT,
                                    "delta log: file `%s` has no partition value for `%s`",
                                    f->path, lh_stmt_partition_cols[k]);
            }
        }
        tmp[i].shard = v[0];
        tmp[i].bucket = v[1];
        tmp[i].origin = v[2];
        tmp[i].files = (const lh_delta_file **)(uintptr_t)f; /* stash, unpacked below */
    }
    qsort(tmp, n, sizeof *tmp, part_cmp);
    out->items = lh_calloc(n, sizeof *out->items);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && part_cmp(&tmp[i], &tmp[j]) == 0) j++;
        lh_part *p = &out->items[out->len++];
        *p = tmp[i];
        p->files = lh_calloc(j - i, sizeof *p->files);
        p->num_files = 0;
        p->clean = true;
        p->bytes = 0;
        for (size_t k = i; k < j; k++) {
            const lh_delta_file *f = (const lh_delta_file *)(uintptr_t)tmp[k].files;
            p->files[p->num_files++] = f;
            p->clean = p->clean && is_merged(f->path);
            p->bytes += f->size > 0 ? (uint64_t)f->size : 0;
        }
        i = j;
    }
    free(tmp);
    return LH_OK;
}

void lh_parts_free(lh_parts *p)
{
    for (size_t i = 0; i < p->len; i++) free(p->items[i].files);
    free(p->items);
    p->items = NULL;
    p->len = 0;
}

/* ------------------------------------------------------------------ write */

/* nulls: the file's null count per column, counted as the rows went in:
 * the footer has none for the columns written without statistics (source,
 * role, deleted_at...), and a nullCount of 0 tells Delta readers a column
 * has no nulls (delta-rs then skipped every file for `deleted_at IS NULL`). */
static void stats_of(const lh_pq_file_meta *m, const lh_pq_col_spec *cols, size_t ncols,
                     const int64_t *nulls, lh_buf *out)
{
    lh_delta_col_stats st[LH_STMT_FILE_NCOLS];
    char tmp_min[LH_STMT_FILE_NCOLS][40], tmp_max[LH_STMT_FILE_NCOLS][40];
    for (size_t c = 0; c < ncols; c++) {
        lh_delta_col_stats *s = &st[c];
        memset(s, 0, sizeof *s);
        s->name = cols[c].name;
        s->null_count = nulls[c];
        s->kind = cols[c].kind == LH_PQK_STRING ? LH_DELTA_STAT_STRING
                  : cols[c].kind == LH_PQK_BOOL ? LH_DELTA_STAT_BOOL
                                                : LH_DELTA_STAT_TIMESTAMP_US;
        bool minmax = cols[c].statistics && cols[c].kind != LH_PQK_BOOL && m->num_row_groups;
        for (size_t g = 0; g < m->num_row_groups; g++) {
            const lh_pq_column_meta *cm = &m->row_groups[g].columns[c].meta_data;
            const lh_pq_statistics *ps = &cm->statistics;
            if (!minmax) continue;
            if (!cm->has_statistics || !ps->has_min_value || !ps->has_max_value) {
                minmax = false;
                continue;
            }
            if (s->kind == LH_DELTA_STAT_STRING) {
                /* long strings: no bound rather than a truncated max */
                if (ps->min_value.len > 32 || ps->max_value.len > 32) {
                    minmax = false;
                    continue;
                }
                if (g == 0 || lh_bytes_cmp(ps->min_value.data, ps->min_value.len, tmp_min[c],
                                           strlen(tmp_min[c])) < 0) {
                    memcpy(tmp_min[c], ps->min_value.data, ps->min_value.len);
                    tmp_min[c][ps->min_value.len] = 0;
                }
                if (g == 0 || lh_bytes_cmp(ps->max_value.data, ps->max_value.len, tmp_max[c],
                                           strlen(tmp_max[c])) > 0) {
                    memcpy(tmp_max[c], ps->max_value.data, ps->max_value.len);
                    tmp_max[c][ps->max_value.len] = 0;
                }
            } else if (ps->min_value.len == 8 && ps->max_value.len == 8) {
                int64_t lo, hi;
                memcpy(&lo, ps->min_value.data, 8);
                memcpy(&hi, ps->max_value.data, 8);
                if (g == 0 || lo < s->min.i) s->min.i = lo;
                if (g == 0 || hi > s->max.i) s->max.i = hi;
            } else {
                minmax = false;
            }
        }
        s->has_min_max = minmax;
        if (minmax && s->kind == LH_DELTA_STAT_STRING) {
            /* strings with NUL bytes cannot be represented: drop the bound */
            s->min.s = tmp_min[c];
            s->max.s = tmp_max[c];
        }
    }
    lh_delta_stats_json((int64_t)m->num_rows, st, ncols, out);
}

struct lh_part_writer {
    lh_pstore *ps;
    char *shard, *bucket, *origin;
    lh_buf rel, key;
    lh_pq_col_spec cols[LH_STMT_FILE_NCOLS];
    lh_storage_writer *sink;
    lh_pq_writer *w;
    bool data_change;
    uint64_t rows;
    int64_t nulls[LH_STMT_FILE_NCOLS]; /* per column, for the add's stats */
    lh_pq_value *span; /* PART_SPAN rows of values, handed to the writer at once */
};

/* Rows handed to the parquet writer at once: it encodes them column by
 * column, each column's buffers staying in cache. */
#define PART_SPAN 256

/* Row group bounds of appended (not yet merged) files: rows, and buffered
 * (mostly compressed) bytes, about a quarter of the decoded size. */
#define APPEND_ROW_GROUP_ROWS 5000
#define APPEND_ROW_GROUP_BYTES ((size_t)1 << 20)

lh_status lh_part_writer_open(lh_pstore *ps, const char *prefix, const lh_statement *first,
                              bool data_change, lh_part_writer **out, lh_error *err)
{
    *out = NULL;
    lh_delta_kv pv[3] = {{"shard", first->shard}, {"bucket", first->bucket},
                         {"origin", first->origin}};
    lh_uuid u;
    char us[LH_UUID_STR_LEN + 1];
    LH_TRY(lh_uuid4_new(&u, err));
    lh_uuid_format(&u, us);
    lh_part_writer *pw = lh_calloc(1, sizeof *pw);
    pw->span = lh_calloc(PART_SPAN * LH_STMT_FILE_NCOLS, sizeof *pw->span);
    pw->ps = ps;
    pw->shard = lh_strdup(first->shard);
    pw->bucket = lh_strdup(first->bucket);
    pw->origin = lh_strdup(first->origin);
    pw->data_change = data_change;
    lh_delta_partition_dir(pv, 3, LH_DELTA_ESCAPE_DELTARS, &pw->rel);
    if (strcmp(prefix, LH_MERGED_PREFIX) == 0)
        lh_buf_printf(&pw->rel, "/%s%s.zstd.parquet", prefix, us);
    else
        lh_buf_printf(&pw->rel, "/%s-00000-%s-c000.zstd.parquet", prefix, us);
    lh_buf_printf(&pw->key, "%s/%s", ps->table, pw->rel.data);
    lh_pq_writer_opts wopts;
    lh_stmt_writer_profile(first->bucket, pw->cols, &wopts);
    /* Appended files wait for a merge, which holds one row group of every
     * file of a partition at once (tens of files after a big import):
     * small row groups keep that bounded. Merge output keeps the profile's. */
    if (strcmp(prefix, LH_MERGED_PREFIX) != 0) {
        if (wopts.row_group_rows > APPEND_ROW_GROUP_ROWS) wopts.row_group_rows = APPEND_ROW_GROUP_ROWS;
        wopts.row_group_bytes = APPEND_ROW_GROUP_BYTES; /* pages of long text */
    }
    lh_status rc = lh_storage_writer_open(ps->st, pw->key.data, &pw->sink, err);
    if (rc == LH_OK)
        rc = lh_pq_writer_new(pw->sink, pw->cols, LH_STMT_FILE_NCOLS, &wopts, &pw->w, err);
    if (rc == LH_OK) lh_pq_writer_add_kv(pw->w, LH_STMT_SORT_KEY, LH_STMT_SORT_ORDER);
    if (rc != LH_OK) {
        lh_error_prefix(err, "writing `%s`", pw->key.data);
        lh_part_writer_free(pw);
        return rc;
    }
    *out = pw;
    return LH_OK;
}

lh_status lh_part_writer_add(lh_part_writer *pw, const lh_statement *rows, size_t n,
                             lh_error *err)
{
    for (size_t i = 0; i < n; i += PART_SPAN) {
        size_t k = n - i < PART_SPAN ? n - i : PART_SPAN;
        /* the rows are alive together: a shared address is a shared string */
        for (size_t r = 0; r < k; r++)
            lh_stmt_file_values(&rows[i + r], r ? pw->span + (r - 1) * LH_STMT_FILE_NCOLS : NULL,
                                pw->span + r * LH_STMT_FILE_NCOLS);
        lh_stmt_count_nulls(pw->span, k, pw->nulls);
        size_t done = 0;
        lh_status rc = lh_pq_writer_append_rows(pw->w, pw->span, k, &done, err);
        if (rc != LH_OK) {
            const lh_statement *bad = &rows[i + (done < k ? done : 0)];
            return lh_error_prefix(err, "writing `%s`: statement `%s` of entity `%s`",
                                   pw->key.data, bad->id, bad->entity_id);
        }
    }
    pw->rows += n;
    return LH_OK;
}

uint64_t lh_part_writer_rows(const lh_part_writer *pw)
{
    return pw->rows;
}

lh_status lh_part_writer_finish(lh_part_writer *pw, lh_arena *arena, lh_delta_add *add,
                                lh_error *err)
{
    lh_buf stats = LH_BUF_INIT;
    lh_status rc = lh_pq_writer_finish(pw->w, err);
    uint64_t size = lh_storage_writer_offset(pw->sink);
    if (rc == LH_OK) stats_of(lh_pq_writer_meta(pw->w), pw->cols, LH_STMT_FILE_NCOLS, pw->nulls,
                                  &stats);
    if (rc == LH_OK) rc = lh_storage_writer_commit(pw->sink, err);
    if (rc != LH_OK) {
        lh_error_prefix(err, "writing `%s`", pw->key.data);
        lh_buf_free(&stats);
        return rc;
    }
    memset(add, 0, sizeof *add);
    add->path = lh_arena_strdup(arena, pw->rel.data);
    lh_delta_kv *apv = lh_arena_alloc(arena, 3 * sizeof *apv);
    apv[0].key = "shard";
    apv[0].value = lh_arena_strdup(arena, pw->shard);
    apv[1].key = "bucket";
    apv[1].value = lh_arena_strdup(arena, pw->bucket);
    apv[2].key = "origin";
    apv[2].value = lh_arena_strdup(arena, pw->origin);
    add->partition_values = apv;
    add->num_partition_values = 3;
    add->size = (int64_t)size;
    add->modification_time = lh_now_us() / 1000;
    add->data_change = pw->data_change;
    add->stats = lh_arena_strdup(arena, stats.data);
    lh_buf_free(&stats);
    return LH_OK;
}

void lh_part_writer_free(lh_part_writer *pw)
{
    if (!pw) return;
    lh_pq_writer_free(pw->w);
    free(pw->span);
    lh_storage_writer_free(pw->sink); /* aborts an uncommitted file */
    lh_buf_free(&pw->rel);
    lh_buf_free(&pw->key);
    free(pw->shard);
    free(pw->bucket);
    free(pw->origin);
    free(pw);
}

lh_status lh_part_write(lh_pstore *ps, const char *prefix, const lh_statement *rows, size_t n,
                        bool data_change, lh_arena *arena, lh_delta_add *add, lh_error *err)
{
    lh_part_writer *pw = NULL;
    LH_TRY(lh_part_writer_open(ps, prefix, &rows[0], data_change, &pw, err));
    lh_status rc = lh_part_writer_add(pw, rows, n, err);
    if (rc == LH_OK) rc = lh_part_writer_finish(pw, arena, add, err);
    lh_part_writer_free(pw);
    return rc;
}

/* ----------------------------------------------------------------- create */

static lh_status table_exists(void *ctx, bool *exists, lh_error *err)
{
    return lh_pstore_exists(ctx, exists, err);
}

static lh_status ensure_table(lh_pstore *ps, lh_error *err)
{
    bool exists = false;
    LH_TRY(lh_pstore_exists(ps, &exists, err));
    if (exists) return LH_OK;
    /* under .LOCK, so two first imports cannot both create version 0. The
     * caller holds an append marker: once another writer has created the
     * table, waiting on for .LOCK could meet maintenance that took it and
     * waits for that marker, each until its retries run out. */
    lh_fence *f = NULL;
    LH_TRY(lh_fence_acquire_unless(ps->st, ps->dataset, LH_FENCE_LOCK, ps->opts.lock_max_retries,
                                   table_exists, ps, &f, err));
    if (!f) return LH_OK; /* created by the writer that held .LOCK */
    lh_status rc = lh_pstore_exists(ps, &exists, err);
    if (rc == LH_OK && !exists) {
        lh_delta_field fields[LH_STMT_NCOLS];
        for (int c = 0; c < LH_STMT_NCOLS; c++) {
            fields[c].name = lh_stmt_col_names[c];
            fields[c].type = lh_stmt_col_type(c);
            fields[c].nullable = lh_stmt_col_nullable(c);
        }
        lh_delta_table_spec spec = {0};
        spec.fields = fields;
        spec.num_fields = LH_STMT_NCOLS;
        spec.partition_columns = lh_stmt_partition_cols;
        spec.num_partition_columns = LH_STMT_NPART;
        spec.configuration = lh_pstore_table_configuration;
        spec.num_configuration = LH_PSTORE_NCONF;
        int64_t v = 0;
        rc = lh_delta_create(ps->st, ps->table, &spec, &v, err);
        if (rc == LH_ERR_EXISTS) rc = LH_OK; /* created by a writer that ignores .LOCK */
    }
    return lh_fence_release_keep(f, rc, err);
}

/* ----------------------------------------------------------------- append */

const char *lh_pstore_entity_shard(const char *entity_id, int shards, lh_arena *arena)
{
    if (shards <= 1) return "0";
    char out[LH_SHARD_MAX];
    lh_shard_key(entity_id, shards, out);
    return lh_arena_strdup(arena, out);
}

static bool same_partition(const lh_statement *a, const lh_statement *b)
{
    return strcmp(a->shard, b->shard) == 0 && strcmp(a->bucket, b->bucket) == 0 &&
           strcmp(a->origin, b->origin) == 0;
}

static lh_status check_row(const lh_statement *s, size_t i, lh_error *err)
{
    const char *missing = !s->id ? "id" : !s->entity_id ? "entity_id" : !s->prop ? "prop"
                          : !s->value ? "value" : !s->schema ? "schema" : !s->bucket ? "bucket"
                          : !s->origin ? "origin" : !s->dataset ? "dataset" : NULL;
    if (!missing && (s->first_seen == LH_TS_NULL || s->last_seen == LH_TS_NULL))
        missing = s->first_seen == LH_TS_NULL ? "first_seen" : "last_seen";
    if (missing)
        return lh_error_set(err, LH_ERR_INVALID, "statement %zu (%s): `%s` is required", i,
                            s->id ? s->id : "?", missing);
    return LH_OK;
}

/* The strings of one append call's adds, kept until the txn goes. */
typedef struct stage {
    lh_arena arena;
    struct stage *next;
} stage;

struct lh_pstore_txn {
    lh_pstore *ps;
    lh_fence *marker;
    pthread_mutex_t mu; /* appends run on several threads: guards what follows */
    stage *stages;
    lh_delta_add *adds;
    size_t len, cap;
    uint64_t rows;
    /* the table as the txn began (NULL: none yet): its protocol was checked
     * before any file was written, and the commit is checked against every
     * version since (a writer that changed the protocol meanwhile wins) */
    lh_delta_snapshot *read;
    int shards; /* the layout's count when the marker was registered */
    char *param_key, *param_value; /* an extra operationParameters entry */
};

int lh_pstore_txn_shards(const lh_pstore_txn *t)
{
    return t->shards;
}

lh_status lh_pstore_txn_begin(lh_pstore *ps, lh_pstore_txn **out, lh_error *err)
{
    *out = NULL;
    lh_pstore_txn *t = lh_calloc(1, sizeof *t);
    t->ps = ps;
    pthread_mutex_init(&t->mu, NULL);
    lh_status rc = lh_fence_acquire(ps->st, ps->dataset, LH_FENCE_APPEND,
                                    ps->opts.lock_max_retries, &t->marker, err);
    if (rc == LH_OK) rc = lh_pstore_snapshot(ps, &t->read, err);
    if (rc == LH_OK && t->read) rc = lh_delta_check_writable(t->read, ps->table, err);
    if (rc == LH_OK && t->read) rc = lh_pstore_check_columns(ps, t->read, err);
    /* asked only now: a re-shard that ran while this append waited for the
     * fence has recorded its count by the time the marker is registered */
    t->shards = ps->opts.shards;
    if (rc == LH_OK && ps->opts.layout.get_shards)
        rc = ps->opts.layout.get_shards(ps->opts.layout.ctx, &t->shards, err);
    if (rc != LH_OK) {
        lh_pstore_txn_free(t);
        return rc;
    }
    *out = t;
    return LH_OK;
}

/* Index of the partition of s in keys (added when new). */
static size_t partition_index(lh_statement ***keys, size_t *nkeys, size_t *cap,
                              lh_statement *s)
{
    for (size_t k = 0; k < *nkeys; k++)
        if (same_partition((*keys)[k], s)) return k;
    if (*nkeys == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *keys = lh_realloc(*keys, *cap * sizeof **keys);
    }
    (*keys)[*nkeys] = s;
    return (*nkeys)++;
}

lh_status lh_pstore_txn_append(lh_pstore_txn *t, lh_stmt_batch *batch, lh_error *err)
{
    lh_pstore *ps = t->ps;
    size_t n = batch->len;
    if (n == 0) return LH_OK;
    for (size_t i = 0; i < n; i++) {
        LH_TRY(check_row(&batch->rows[i], i, err));
        if (!batch->rows[i].fragment) batch->rows[i].fragment = "";
    }
    lh_stmt_batch_assign_shards(batch, 0, t->shards);
    /* bucket rows by partition (few distinct ones), then sort each in file order */
    lh_statement **keys = NULL;
    size_t nkeys = 0, kcap = 0, last = 0;
    uint32_t *part = lh_malloc(n * sizeof *part);
    for (size_t i = 0; i < n; i++) {
        if (!(nkeys && same_partition(keys[last], &batch->rows[i])))
            last = partition_index(&keys, &nkeys, &kcap, &batch->rows[i]);
        part[i] = (uint32_t)last;
    }
    size_t *start = lh_calloc(nkeys + 1, sizeof *start);
    for (size_t i = 0; i < n; i++) start[part[i] + 1]++;
    for (size_t k = 0; k < nkeys; k++) start[k + 1] += start[k];
    lh_statement *sorted = lh_malloc(n * sizeof *sorted);
    size_t *fill = lh_malloc((nkeys + 1) * sizeof *fill);
    memcpy(fill, start, (nkeys + 1) * sizeof *fill);
    for (size_t i = 0; i < n; i++) sorted[fill[part[i]]++] = batch->rows[i];
    memcpy(batch->rows, sorted, n * sizeof *sorted);
    free(sorted);
    free(fill);
    free(part);
    free(keys);
    /* written without the lock, then staged under it, failed or not: a
     * file written before a failure is the txn's to delete */
    stage *sg = lh_calloc(1, sizeof *sg);
    lh_arena_init(&sg->arena, 4096);
    lh_delta_add *adds = lh_calloc(nkeys ? nkeys : 1, sizeof *adds);
    size_t written = 0;
    lh_status rc = LH_OK;
    for (size_t k = 0; rc == LH_OK && k < nkeys; k++) {
        lh_statement *rows = batch->rows + start[k];
        size_t m = start[k + 1] - start[k];
        lh_stmt_sort(rows, m);
        rc = lh_part_write(ps, "part", rows, m, true, &sg->arena, &adds[written], err);
        if (rc == LH_OK) written++;
    }
    free(start);
    pthread_mutex_lock(&t->mu);
    if (written) {
        t->adds = lh_grow(t->adds, &t->cap, t->len + written, sizeof *t->adds);
        memcpy(t->adds + t->len, adds, written * sizeof *adds);
        t->len += written;
    }
    sg->next = t->stages;
    t->stages = sg;
    if (rc == LH_OK) t->rows += n;
    pthread_mutex_unlock(&t->mu);
    free(adds);
    return rc;
}

uint64_t lh_pstore_txn_rows(const lh_pstore_txn *t)
{
    return t->rows;
}

lh_status lh_pstore_txn_commit(lh_pstore_txn *t, lh_error *err)
{
    lh_pstore *ps = t->ps;
    lh_status rc = LH_OK;
    if (t->len) {
        /* the table is created only now: an import that fails leaves no trace */
        if (!t->read) {
            rc = ensure_table(ps, err);
            if (rc == LH_OK) rc = lh_pstore_snapshot(ps, &t->read, err);
            if (rc == LH_OK && !t->read)
                rc = lh_error_set(err, LH_ERR_NOT_FOUND, "Delta table \"%s\" vanished after its creation",
                                  ps->table);
        }
        lh_delta_txn *txn = NULL;
        if (rc == LH_OK) rc = lh_delta_txn_new(ps->st, ps->table, t->read, &txn, err);
        for (size_t i = 0; rc == LH_OK && i < t->len; i++) rc = lh_delta_txn_add(txn, &t->adds[i], err);
        if (rc == LH_OK) {
            lh_delta_kv params[] = {{"mode", "Append"},
                                    {"partitionBy", "[\"shard\",\"bucket\",\"origin\"]"},
                                    {t->param_key, t->param_value}};
            lh_delta_txn_set_operation(txn, "WRITE", params, t->param_key ? 3 : 2);
            int64_t v;
            rc = lh_delta_txn_commit(txn, &v, err);
            /* a commit in the log despite the error (or maybe in it)
             * references the staged files: they stay, for vacuum to judge */
            if (rc != LH_OK && lh_delta_txn_outcome(txn, NULL) != LH_DELTA_NOT_COMMITTED) {
                lh_error_suffix(err, "; its %zu new file(s) are kept", t->len);
                t->len = 0;
            }
        }
        lh_delta_txn_free(txn);
    }
    if (rc == LH_OK) t->len = 0; /* committed: free() must not delete them */
    return rc;
}

void lh_pstore_txn_set_param(lh_pstore_txn *t, const char *key, const char *value)
{
    free(t->param_key);
    free(t->param_value);
    t->param_key = value ? lh_strdup(key) : NULL;
    t->param_value = value ? lh_strdup(value) : NULL;
}

lh_status lh_pstore_find_commit_param(lh_pstore *ps, const char *key, const char *value,
                                      int64_t since_ms, bool *found, lh_error *err)
{
    *found = false;
    int64_t v;
    LH_TRY(lh_pstore_version(ps, &v, err));
    lh_status rc = LH_OK;
    for (; v >= 0 && !*found; v--) {
        char *got = NULL;
        int64_t ts;
        rc = lh_delta_commit_param_ts(ps->st, ps->table, v, key, &got, &ts, err);
        if (rc == LH_ERR_NOT_FOUND) {
            rc = LH_OK;
            break;
        }
        if (rc != LH_OK) break;
        *found = got && strcmp(got, value) == 0;
        free(got);
        if (ts >= 0 && ts < since_ms) break;
    }
    return rc;
}

void lh_pstore_discard_adds(lh_pstore *ps, const lh_delta_add *adds, size_t n)
{
    if (!n) return;
    /* one request per thousand files on S3, where a failed re-shard leaves
     * a file per partition */
    lh_strlist keys;
    lh_strlist_init(&keys);
    for (size_t i = 0; i < n; i++)
        lh_strlist_push_owned(&keys, lh_asprintf("%s/%s", ps->table, adds[i].path));
    lh_error ignore;
    lh_storage_delete_many(ps->st, (const char *const *)keys.items, keys.len, &ignore);
    lh_strlist_free(&keys);
}

void lh_pstore_txn_free(lh_pstore_txn *t)
{
    if (!t) return;
    free(t->param_key);
    free(t->param_value);
    lh_error ignore;
    /* not committed: the staged files are nobody's; remove them now rather
     * than leaving them to vacuum */
    lh_pstore_discard_adds(t->ps, t->adds, t->len);
    lh_fence_release(t->marker, &ignore);
    lh_delta_snapshot_free(t->read);
    free(t->adds);
    while (t->stages) {
        stage *next = t->stages->next;
        lh_arena_free(&t->stages->arena);
        free(t->stages);
        t->stages = next;
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

lh_status lh_pstore_append(lh_pstore *ps, lh_stmt_batch *batch, lh_error *err)
{
    if (batch->len == 0) return LH_OK;
    lh_pstore_txn *t = NULL;
    LH_TRY(lh_pstore_txn_begin(ps, &t, err));
    lh_status rc = lh_pstore_txn_append(t, batch, err);
    if (rc == LH_OK) rc = lh_pstore_txn_commit(t, err);
    lh_pstore_txn_free(t);
    return rc;
}

lh_status lh_pstore_num_rows(lh_pstore *ps, int64_t *rows, lh_error *err)
{
    *rows = 0;
    lh_delta_snapshot *snap = NULL;
    LH_TRY(lh_pstore_snapshot(ps, &snap, err));
    if (!snap) return LH_OK;
    for (size_t i = 0; i < lh_delta_snapshot_num_files(snap); i++) {
        int64_t n = lh_delta_file_num_records(lh_delta_snapshot_file(snap, i));
        if (n > 0) *rows += n;
    }
    lh_delta_snapshot_free(snap);
    return LH_OK;
}
