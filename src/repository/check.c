/* Dataset health check (see check.h). Reads only: never repairs. */
#include "lh/repository/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/format/delta.h"
#include "lh/model/keys.h"
#include "lh/repository/dataset.h"
#include "lh/storage/fence.h"
#include "lh/storage/stmt_table.h"

/* Findings listed per kind beyond this many are summarised in one line. */
#define CHECK_LIST_MAX 50

void lh_check_report_init(lh_check_report *r)
{
    memset(r, 0, sizeof *r);
    lh_strlist_init(&r->problems);
    lh_strlist_init(&r->notes);
    r->version = -1;
    r->journal_rows = -1;
}

void lh_check_report_free(lh_check_report *r)
{
    lh_strlist_free(&r->problems);
    lh_strlist_free(&r->notes);
}

static void add(lh_strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(lh_strlist *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    if (s) lh_strlist_push_owned(l, s);
}

/* ------------------------------------------------------------------ locks */

typedef enum holder_state {
    HOLDER_ALIVE,      /* or elsewhere, or unrecorded, or cannot tell */
    HOLDER_DEAD,       /* a process of this host that is gone */
    HOLDER_TAKEN_OVER, /* a leased lock whose holder is gone: the next writer takes it */
} holder_state;

static holder_state holder_of(lh_storage *st, const char *key)
{
    lh_buf data = LH_BUF_INIT;
    lh_error e;
    bool abandoned = false;
    holder_state state = HOLDER_ALIVE;
    if (lh_storage_read(st, key, &data, &e) == LH_OK && data.len) {
        if (lh_fence_leased_here(data.data, data.len)) {
            /* the lease knows better than a pid (reused, or in another pid
             * namespace) */
            if (lh_storage_lease_abandoned(st, key, data.data, data.len, false, &abandoned, &e) ==
                    LH_OK &&
                abandoned)
                state = HOLDER_TAKEN_OVER;
        } else if (lh_fence_holder_dead(data.data, data.len)) {
            state = HOLDER_DEAD;
        }
    }
    lh_buf_free(&data);
    return state;
}

/* marker: an append's, which maintenance removes once its process is gone
 * (on this host), so blocks nobody; a lock of a dead holder that is not
 * leased (sticky, or of an older version) blocks every writer. */
static void check_lock(lh_storage *st, const char *key, bool marker, lh_check_report *rep)
{
    char who[512];
    lh_fence_describe(st, key, who, sizeof who);
    const char *slash = strchr(key, '/');
    int dslen = slash ? (int)(slash - key) : (int)strlen(key);
    switch (holder_of(st, key)) {
    case HOLDER_DEAD:
        if (marker) {
            add(&rep->notes,
                "lock: `%s` was left by %s, which is gone: the next maintenance removes it", key,
                who);
            break;
        }
        add(&rep->problems,
            "stale-lock: `%s` is held by %s, which is no longer running; release it with "
            "`ftm-lakehouse -d %.*s maintenance unlock`",
            key, who, dslen, key);
        break;
    case HOLDER_TAKEN_OVER:
        add(&rep->notes, "lock: `%s` was left by %s, which is gone: the next writer takes it over",
            key, who);
        break;
    default: add(&rep->notes, "lock: `%s` is held by %s", key, who);
    }
}

static lh_status check_locks(lh_storage *st, const char *dataset, lh_check_report *rep,
                             lh_error *err)
{
    static const char *const names[] = {".LOCK", ".LOCK-MERGE"};
    for (size_t i = 0; i < 2; i++) {
        lh_buf key = LH_BUF_INIT;
        lh_buf_printf(&key, "%s/%s", dataset, names[i]);
        bool exists = false;
        lh_status rc = lh_storage_exists(st, key.data, &exists, err);
        if (rc == LH_OK && exists) check_lock(st, key.data, false, rep);
        lh_buf_free(&key);
        LH_TRY(rc);
    }
    lh_buf dir = LH_BUF_INIT;
    lh_buf_printf(&dir, "%s/.LOCK-APPENDS", dataset);
    lh_strlist markers;
    lh_strlist_init(&markers);
    lh_status rc = lh_storage_list(st, dir.data, LH_LIST_RECURSIVE, &markers, err);
    for (size_t i = 0; rc == LH_OK && i < markers.len; i++)
        check_lock(st, markers.items[i], true, rep);
    lh_strlist_free(&markers);
    lh_buf_free(&dir);
    return rc;
}

/* ------------------------------------------------------------------ files */

typedef struct pfile {
    const lh_delta_file *f;
    const char *shard, *bucket, *origin;
} pfile;

static int pfile_cmp(const void *a, const void *b)
{
    const pfile *x = a, *y = b;
    int c = strcmp(x->shard, y->shard);
    if (!c) c = strcmp(x->bucket, y->bucket);
    if (!c) c = strcmp(x->origin, y->origin);
    if (!c) c = strcmp(x->f->path, y->f->path);
    return c;
}

static bool is_merged(const lh_delta_file *f)
{
    const char *base = strrchr(f->path, '/');
    base = base ? base + 1 : f->path;
    return strncmp(base, "merged-", 7) == 0;
}

static int key_cmp(const void *a, const void *b)
{
    const lh_statement *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (!c) c = strcmp(x->fragment, y->fragment);
    if (!c) c = strcmp(x->role ? x->role : "", y->role ? y->role : "");
    if (!c) c = (x->role != NULL) - (y->role != NULL);
    return c;
}

/* The (shard, bucket, origin) of f, or a problem when a value is missing or
 * not a safe name. */
static bool partition_ok(const lh_delta_file *f, int shards, pfile *pf, lh_check_report *rep)
{
    static const char *const cols[3] = {"shard", "bucket", "origin"};
    const char *vals[3];
    for (int c = 0; c < 3; c++) {
        vals[c] = lh_delta_map_get(&f->partition_values, cols[c], NULL);
        lh_error e;
        if (!vals[c] || !*vals[c]) {
            add(&rep->problems, "partition: %s has no %s value", f->path, cols[c]);
            return false;
        }
        if (lh_name_check(vals[c], cols[c], c == 2, &e) != LH_OK) {
            add(&rep->problems, "partition: %s: %s", f->path, e.msg);
            return false;
        }
    }
    /* a shard key is lowercase hex of the width the count gives */
    char *end;
    long s = strtol(vals[0], &end, 16);
    long max = shards > 1 ? shards : 1;
    bool lower = strspn(vals[0], "0123456789abcdef") == strlen(vals[0]);
    if (*end || !lower || s >= max || (int)strlen(vals[0]) != lh_shard_width(shards)) {
        char last[LH_SHARD_MAX];
        snprintf(last, sizeof last, "%0*lx", lh_shard_width(shards), max - 1);
        add(&rep->problems, "partition: %s has shard `%s`, not a key of %ld shard(s) (0..%s)",
            f->path, vals[0], max, last);
        return false;
    }
    pf->shard = vals[0];
    pf->bucket = vals[1];
    pf->origin = vals[2];
    return true;
}

/* Quick mode: the footer parses, names the statement columns, and counts
 * the rows the log says. */
static bool check_footer(lh_storage *st, const char *key, const pfile *pf, lh_check_report *rep)
{
    lh_stmt_file *f = NULL;
    lh_error e;
    if (lh_stmt_file_open(st, key, pf->shard, pf->bucket, pf->origin, &f, &e) != LH_OK) {
        add(&rep->problems, "bad-parquet: %s: %s", pf->f->path, e.msg);
        return false;
    }
    int64_t n = lh_stmt_file_num_rows(f), logged = lh_delta_file_num_records(pf->f);
    lh_stmt_file_free(f);
    if (logged >= 0 && logged != n) {
        add(&rep->problems, "row-count-mismatch: %s holds %lld rows, the log says %lld",
            pf->f->path, (long long)n, (long long)logged);
        return false;
    }
    rep->rows += (uint64_t)n;
    return true;
}

/* The current entity's rows, across row groups (copies: the row group's
 * batch is reused), and what was found so far. */
typedef struct entity_scan {
    lh_stmt_batch keep;
    bool unsorted_reported;
    size_t dupes;
    char *first_dupe;
} entity_scan;

/* Sort rows by (id, fragment, role) and count the rows repeating the one
 * before; *first gets the id of the first repeat (pointing into rows). */
static size_t count_dupes(lh_stmt_batch *rows, const char **first)
{
    *first = NULL;
    if (rows->len < 2) return 0;
    qsort(rows->rows, rows->len, sizeof *rows->rows, key_cmp);
    size_t dupes = 0;
    for (size_t i = 1; i < rows->len; i++)
        if (key_cmp(&rows->rows[i - 1], &rows->rows[i]) == 0) {
            if (!dupes) *first = rows->rows[i].id;
            dupes++;
        }
    return dupes;
}

/* One entity's rows: each statement once per (id, fragment, role). */
static void end_entity(entity_scan *es)
{
    const char *first;
    size_t dupes = count_dupes(&es->keep, &first);
    if (dupes && !es->dupes) es->first_dupe = lh_strdup(first); /* keep is cleared */
    es->dupes += dupes;
    lh_stmt_batch_clear(&es->keep);
}

/* One row group of a clean partition's single merged file, in file order.
 * Merge output is in entity order (streaming reads rely on it: a row out
 * of it is a problem of its own), so duplicates are found an entity at a
 * time: memory is one row group plus the largest entity. */
static void scan_sorted(const pfile *pf, const lh_stmt_batch *rows, int64_t first_row,
                        entity_scan *es, lh_check_report *rep)
{
    for (size_t i = 0; i < rows->len; i++) {
        const lh_statement *cur = &rows->rows[i];
        if (es->keep.len) {
            const char *prev = es->keep.rows[0].entity_id;
            int c = strcmp(cur->entity_id, prev);
            if (c < 0 && !es->unsorted_reported) {
                es->unsorted_reported = true;
                add(&rep->problems, "unsorted-file: %s: row %lld (entity %s) comes after entity %s; "
                    "merge output must be in entity order", pf->f->path,
                    (long long)(first_row + (int64_t)i), cur->entity_id, prev);
            }
            if (c) end_entity(es);
        }
        lh_stmt_batch_push(&es->keep, cur);
    }
}

/* A nullCount that says fewer nulls than the file holds makes readers that
 * skip files by it (delta-rs: `deleted_at IS NULL`, the live view) miss
 * its rows; our writers before 2026-12-03 said 0 for every such column. */
static void check_null_counts(const pfile *pf, const int64_t *nulls, lh_check_report *rep)
{
    if (!pf->f->stats) return;
    /* the data-file columns, in the order of the cells nulls counts */
    lh_pq_col_spec cols[LH_STMT_FILE_NCOLS];
    lh_pq_writer_opts opts;
    lh_stmt_writer_profile(pf->bucket, cols, &opts);
    json_t *stats = json_loads(pf->f->stats, 0, NULL);
    json_t *counts = json_object_get(stats, "nullCount");
    for (size_t c = 0; c < LH_STMT_FILE_NCOLS; c++) {
        json_t *v = json_object_get(counts, cols[c].name);
        if (!json_is_integer(v) || json_integer_value(v) == nulls[c]) continue;
        add(&rep->problems,
            "stats-null-count: %s holds %lld null(s) in `%s`, the log says %lld: readers that "
            "skip files by it miss rows (`maintenance optimize --force` rewrites the files)",
            pf->f->path, (long long)nulls[c], cols[c].name, (long long)json_integer_value(v));
        break;
    }
    json_decref(stats);
}

/* Read every row of one live file, row group by row group (memory: one
 * row group); with es, check order and duplicates on the way; with all,
 * keep the rows (a clean partition of several files). */
static bool read_file(lh_storage *st, const char *key, const pfile *pf, entity_scan *es,
                      lh_stmt_batch *all, lh_check_report *rep)
{
    lh_stmt_file *f = NULL;
    lh_error e;
    lh_status rc = lh_stmt_file_open(st, key, pf->shard, pf->bucket, pf->origin, &f, &e);
    lh_stmt_batch rows;
    lh_stmt_batch_init(&rows);
    int64_t seen = 0, nulls[LH_STMT_FILE_NCOLS] = {0};
    lh_pq_value cells[LH_STMT_FILE_NCOLS];
    for (size_t rg = 0; rc == LH_OK && rg < lh_stmt_file_row_groups(f); rg++) {
        lh_stmt_batch *into = all ? all : &rows;
        size_t before = into->len;
        rc = lh_stmt_file_read(f, rg, into, &e);
        if (rc != LH_OK) break;
        for (size_t i = before; i < into->len; i++) {
            lh_stmt_file_values(&into->rows[i], NULL, cells);
            lh_stmt_count_nulls(cells, 1, nulls);
        }
        if (es) scan_sorted(pf, &rows, seen, es, rep);
        seen += (int64_t)(into->len - before);
        lh_stmt_batch_clear(&rows);
    }
    lh_stmt_batch_free(&rows);
    lh_stmt_file_free(f);
    if (es) end_entity(es);
    if (rc != LH_OK) {
        add(&rep->problems, "bad-parquet: %s: %s", pf->f->path, e.msg);
        return false;
    }
    check_null_counts(pf, nulls, rep);
    rep->rows += (uint64_t)seen;
    return true;
}

/* The file exists with the logged size, then (quick) its footer or (full)
 * every row. */
static bool check_file(lh_storage *st, const char *prefix, const pfile *pf, bool quick,
                       entity_scan *es, lh_stmt_batch *all, lh_strlist *vanished,
                       lh_check_report *rep)
{
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/%s", prefix, pf->f->path);
    lh_stat sb;
    lh_error e;
    bool ok = false;
    lh_status rc = lh_storage_stat(st, key.data, &sb, &e);
    if (rc == LH_ERR_NOT_FOUND) {
        /* judged at the end against the table's latest version: a merge
         * since the snapshot may have removed it and vacuum deleted it */
        lh_strlist_push(vanished, pf->f->path);
    } else if (rc != LH_OK) {
        add(&rep->problems, "unreadable-file: %s: %s", pf->f->path, e.msg);
    } else if (pf->f->size >= 0 && (uint64_t)pf->f->size != sb.size) {
        add(&rep->problems, "size-mismatch: %s has %llu bytes, the log says %lld", pf->f->path,
            (unsigned long long)sb.size, (long long)pf->f->size);
    } else {
        size_t before = rep->problems.len;
        ok = quick ? check_footer(st, key.data, pf, rep) : read_file(st, key.data, pf, es, all, rep);
        /* deleted while being read (after the stat): the same case as
         * above, not a file that does not parse */
        if (!ok && lh_storage_stat(st, key.data, &sb, &e) == LH_ERR_NOT_FOUND) {
            while (rep->problems.len > before) free(rep->problems.items[--rep->problems.len]);
            lh_strlist_push(vanished, pf->f->path);
        }
    }
    lh_buf_free(&key);
    return ok;
}

static void report_dupes(const pfile *pf, size_t dupes, const char *first, lh_check_report *rep)
{
    if (dupes)
        add(&rep->problems,
            "duplicate-statement: merged partition shard=%s/bucket=%s/origin=%s holds %zu "
            "duplicate row(s), e.g. id %s",
            pf->shard, pf->bucket, pf->origin, dupes, first);
}

/* Rows of a clean partition of several files: each statement once per
 * (id, fragment, role). Holds the partition. */
static void check_dupes(const pfile *pf, lh_stmt_batch *rows, lh_check_report *rep)
{
    const char *first;
    size_t dupes = count_dupes(rows, &first);
    report_dupes(pf, dupes, first, rep);
}

static void check_files(lh_storage *st, const char *prefix, const lh_delta_snapshot *snap,
                        int shards, bool quick, lh_strlist *vanished, lh_check_report *rep)
{
    size_t n = lh_delta_snapshot_num_files(snap);
    pfile *pfs = lh_calloc(n ? n : 1, sizeof *pfs);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        pfs[np].f = lh_delta_snapshot_file(snap, i);
        if (partition_ok(pfs[np].f, shards, &pfs[np], rep)) np++;
    }
    qsort(pfs, np, sizeof *pfs, pfile_cmp);
    lh_stmt_batch all;
    lh_stmt_batch_init(&all);
    for (size_t i = 0; i < np;) {
        size_t j = i;
        bool clean = true;
        for (; j < np && strcmp(pfs[j].shard, pfs[i].shard) == 0 &&
               strcmp(pfs[j].bucket, pfs[i].bucket) == 0 &&
               strcmp(pfs[j].origin, pfs[i].origin) == 0;
             j++)
            if (!is_merged(pfs[j].f)) clean = false; /* no short circuit: j must move */
        if (clean && j - i == 1 && !quick) {
            /* the usual merged partition: one sorted file, streamed */
            entity_scan es = {0};
            lh_stmt_batch_init(&es.keep);
            if (check_file(st, prefix, &pfs[i], quick, &es, NULL, vanished, rep))
                report_dupes(&pfs[i], es.dupes, es.first_dupe, rep);
            lh_stmt_batch_free(&es.keep);
            free(es.first_dupe);
        } else {
            bool all_ok = true;
            for (size_t k = i; k < j; k++)
                all_ok = check_file(st, prefix, &pfs[k], quick, NULL, clean && !quick ? &all : NULL,
                                    vanished, rep) &&
                         all_ok;
            if (clean && all_ok && !quick) check_dupes(&pfs[i], &all, rep);
            lh_stmt_batch_clear(&all);
        }
        i = j;
    }
    lh_stmt_batch_free(&all);
    free(pfs);
}

/* Data files the snapshot does not reference: those a commit removed
 * (replaced by a merge, kept until vacuum) apart from true orphans (a
 * killed writer's, or another tool's). */
static lh_status check_orphans(lh_storage *st, const char *prefix, const lh_delta_snapshot *snap,
                               lh_check_report *rep, lh_error *err)
{
    size_t nt = snap ? lh_delta_snapshot_num_tombstones(snap) : 0;
    const char **removed = lh_malloc((nt ? nt : 1) * sizeof *removed);
    for (size_t i = 0; i < nt; i++) removed[i] = lh_delta_snapshot_tombstone(snap, i)->path;
    qsort(removed, nt, sizeof *removed, lh_str_ptr_cmp);
    size_t replaced = 0;
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_storage_list(st, prefix, LH_LIST_RECURSIVE, &keys, err);
    size_t plen = strlen(prefix);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        const char *rel = keys.items[i] + plen + 1;
        if (rel[0] == '_' || rel[0] == '.' || strstr(rel, "/_") || strstr(rel, "/.")) continue;
        if (snap && lh_delta_snapshot_find(snap, rel)) continue;
        if (nt && bsearch(&rel, removed, nt, sizeof *removed, lh_str_ptr_cmp)) {
            replaced++;
            continue;
        }
        rep->orphans++;
        if (rep->orphans <= CHECK_LIST_MAX) add(&rep->notes, "orphan: %s", rel);
    }
    if (rep->orphans > CHECK_LIST_MAX)
        add(&rep->notes, "orphan: ... %zu more", rep->orphans - CHECK_LIST_MAX);
    if (replaced)
        add(&rep->notes, "replaced: %zu file(s) the log removed, kept until vacuum", replaced);
    lh_strlist_free(&keys);
    free(removed);
    return rc;
}

/* What killed writers left in the dataset (never read; vacuum removes it:
 * in the table at once, elsewhere once a minute old). */
static lh_status check_debris(lh_storage *st, const char *dataset, lh_check_report *rep,
                              lh_error *err)
{
    size_t n = 0;
    LH_TRY(lh_storage_remove_debris(st, dataset, INT64_MAX, true, &n, err));
    if (n)
        add(&rep->notes,
            "debris: %zu temp file(s) or upload(s) of writes in flight or killed in `%s` (vacuum "
            "removes them)",
            n, dataset);
    return LH_OK;
}

/* The table's columns against the statement columns: readable either way,
 * but a column it lacks stops appends (until `maintenance migrate`), one
 * this version does not know stops the rewrites. */
static void check_schema(const lh_delta_snapshot *snap, const char *dataset, lh_check_report *rep)
{
    const lh_delta_metadata *m = lh_delta_snapshot_metadata(snap);
    for (int c = 0; c < LH_STMT_NCOLS; c++)
        if (!lh_delta_metadata_field(m, lh_stmt_col_names[c]))
            add(&rep->notes,
                "migration: the table has no column `%s` (an older version created it): appends "
                "are refused until `ftm-lakehouse -d %s maintenance migrate`",
                lh_stmt_col_names[c], dataset);
    for (size_t i = 0; i < m->num_fields; i++) {
        if (lh_stmt_col_index(m->fields[i].name) < 0)
            add(&rep->notes,
                "schema: column `%s` is unknown to this version: merge, compact and re-shard "
                "refuse the table%s",
                m->fields[i].name, m->fields[i].nullable ? "" : ", and so do appends (required)");
    }
}

/* Files of the checked version that were not in storage: missing when the
 * table's latest version still references them, else removed by a commit
 * made while the check ran (a merge, then vacuum, as `optimize` does) and
 * no finding about the lake. */
static void settle_vanished(lh_storage *st, const char *prefix, const lh_strlist *vanished,
                            lh_check_report *rep)
{
    lh_delta_snapshot *latest = NULL;
    lh_error e;
    if (lh_delta_snapshot_load(st, prefix, LH_DELTA_LATEST, &latest, &e) != LH_OK) latest = NULL;
    size_t moved = 0;
    for (size_t i = 0; i < vanished->len; i++) {
        if (latest && lh_delta_snapshot_version(latest) > rep->version &&
            !lh_delta_snapshot_find(latest, vanished->items[i]))
            moved++;
        else
            add(&rep->problems, "missing-file: %s is in the log but not in storage",
                vanished->items[i]);
    }
    if (moved)
        add(&rep->notes,
            "concurrent: %zu file(s) of version %lld were removed by version %lld, committed "
            "while the check ran, and deleted (not checked)",
            moved, (long long)rep->version, (long long)lh_delta_snapshot_version(latest));
    lh_delta_snapshot_free(latest);
}

lh_status lh_check_dataset(lh_storage *st, const char *dataset, int shards, lh_journal *journal,
                           bool quick, lh_check_report *rep, lh_error *err)
{
    LH_TRY(lh_name_check(dataset, "dataset", false, err));
    lh_buf prefix = LH_BUF_INIT;
    lh_buf_printf(&prefix, "%s/statements", dataset);
    lh_delta_snapshot *snap = NULL;
    lh_error e;
    lh_status rc = lh_delta_snapshot_load(st, prefix.data, LH_DELTA_LATEST, &snap, &e);
    bool replayed = rc == LH_OK || rc == LH_ERR_NOT_FOUND;
    if (rc == LH_OK) {
        rep->version = lh_delta_snapshot_version(snap);
        rep->files = lh_delta_snapshot_num_files(snap);
        check_schema(snap, dataset, rep);
        lh_strlist vanished;
        lh_strlist_init(&vanished);
        check_files(st, prefix.data, snap, shards, quick, &vanished, rep);
        if (vanished.len) settle_vanished(st, prefix.data, &vanished, rep);
        lh_strlist_free(&vanished);
    } else if (rc == LH_ERR_NOT_FOUND) {
        add(&rep->notes, "table: %s has no Delta log", prefix.data);
    } else {
        add(&rep->problems, "delta-log: %s does not replay: %s", prefix.data, e.msg);
    }
    /* without a snapshot every file would look unreferenced */
    rc = replayed ? check_orphans(st, prefix.data, snap, rep, err) : LH_OK;
    if (rc == LH_OK) rc = check_debris(st, dataset, rep, err);
    if (rc == LH_OK) rc = check_locks(st, dataset, rep, err);
    if (rc == LH_OK && journal) {
        int64_t n = 0;
        if (lh_journal_count(journal, &n, &e) == LH_OK) rep->journal_rows = n;
        else add(&rep->problems, "journal: cannot count rows: %s", e.msg);
    }
    lh_delta_snapshot_free(snap);
    lh_buf_free(&prefix);
    return rc;
}
