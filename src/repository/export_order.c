/* Matching entities in ftmq's order and slice (export.h): each entity is
 * aggregated once and kept with its sort key; the best offset + limit
 * stay in memory, and when they outgrow the memory budget, sorted runs go
 * to unlinked temp files, merged at the end. Memory is bounded by the
 * budget, not by the dataset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lh/core/mem.h"
#include "lh/repository/export.h"

/* Runs merged into one when there are this many: open files stay few,
 * and merging them is a scan of this many heads per entity. */
enum { MAX_RUNS = 64 };

typedef struct oentry {
    bool has;    /* has a sort value; entities without one sort last */
    int64_t num; /* numeric sort value (thousandths) */
    char *str;   /* string sort value, NULL when numeric or none */
    char *id;
    char *line;  /* the aggregated entity, newline included */
    size_t len;
} oentry;

typedef struct orderer {
    lh_equery_order o;
    uint64_t keep; /* offset + limit: no entity after these is wanted */
    size_t budget; /* bytes of entries in memory before a run is spilled */
    lh_aggregator *agg;
    lh_buf line;
    oentry *v;
    size_t n, cap, bytes;
    FILE **runs;
    size_t nruns;
    lh_progress_fn progress;
    void *progress_ctx;
} orderer;

static void entry_free(oentry *e)
{
    free(e->str);
    free(e->id);
    free(e->line);
}

static int entry_cmp_with(const lh_equery_order *o, const oentry *a, const oentry *b)
{
    if (o->sort_prop) {
        if (a->has != b->has) return a->has ? -1 : 1; /* NULLS LAST either way */
        if (a->has) {
            int c = o->numeric ? (a->num > b->num) - (a->num < b->num) : strcmp(a->str, b->str);
            if (c) return o->descending ? -c : c;
        }
    }
    return strcmp(a->id, b->id);
}

static int entry_cmp(const void *a, const void *b, void *order)
{
    return entry_cmp_with(order, a, b);
}

/* Sorted, and cut to the entries that can still be wanted. */
static void sort_and_cut(orderer *r)
{
    if (r->n > 1) qsort_r(r->v, r->n, sizeof *r->v, entry_cmp, &r->o);
    while (r->n > r->keep) entry_free(&r->v[--r->n]);
    r->bytes = 0;
    for (size_t i = 0; i < r->n; i++) r->bytes += r->v[i].len + 64;
}

/* ---- runs on disk ---- */

static lh_status put(FILE *f, const void *p, size_t n, lh_error *err)
{
    if (n && fwrite(p, 1, n, f) != n)
        return lh_error_errno(err, LH_ERR_IO, errno, "writing a sort run to the temp directory");
    return LH_OK;
}

static lh_status put_str(FILE *f, const char *s, size_t n, lh_error *err)
{
    uint64_t len = s ? n + 1 : 0; /* 0: NULL */
    LH_TRY(put(f, &len, sizeof len, err));
    return put(f, s, s ? n : 0, err);
}

/* An empty run file, unlinked at once: gone with the process, whatever
 * ends it. */
static lh_status new_run(FILE **out, lh_error *err)
{
    const char *dir = getenv("TMPDIR");
    char *path = lh_asprintf("%s/ftm-lakehouse-sort-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        lh_status rc = lh_error_errno(err, LH_ERR_IO, errno, "creating a sort run in %s", path);
        free(path);
        return rc;
    }
    unlink(path);
    free(path);
    if (!(*out = fdopen(fd, "w+b"))) {
        close(fd);
        return lh_error_errno(err, LH_ERR_IO, errno, "opening a sort run");
    }
    return LH_OK;
}

static lh_status write_entry(FILE *f, const oentry *e, lh_error *err)
{
    uint8_t has = e->has;
    LH_TRY(put(f, &has, 1, err));
    LH_TRY(put(f, &e->num, sizeof e->num, err));
    LH_TRY(put_str(f, e->str, e->str ? strlen(e->str) : 0, err));
    LH_TRY(put_str(f, e->id, strlen(e->id), err));
    return put_str(f, e->line, e->len, err);
}

/* Written, and back at its start for reading. */
static lh_status rewind_run(FILE *f, lh_error *err)
{
    if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
        return lh_error_errno(err, LH_ERR_IO, errno, "writing a sort run to the temp directory");
    return LH_OK;
}

static void add_run(orderer *r, FILE *f)
{
    r->runs = lh_realloc(r->runs, (r->nruns + 1) * sizeof *r->runs);
    r->runs[r->nruns++] = f;
}

static lh_status compact_runs(orderer *r, lh_error *err);

/* The entries in memory, sorted, into a run of their own. */
static lh_status spill(orderer *r, lh_error *err)
{
    sort_and_cut(r);
    FILE *f;
    LH_TRY(new_run(&f, err));
    add_run(r, f);
    lh_status rc = LH_OK;
    for (size_t i = 0; rc == LH_OK && i < r->n; i++) rc = write_entry(f, &r->v[i], err);
    for (size_t i = 0; i < r->n; i++) entry_free(&r->v[i]);
    r->n = r->bytes = 0;
    if (rc == LH_OK) rc = rewind_run(f, err);
    if (rc == LH_OK && r->nruns >= MAX_RUNS) rc = compact_runs(r, err);
    return rc;
}

static lh_status get(FILE *f, void *p, size_t n, lh_error *err)
{
    if (n && fread(p, 1, n, f) != n)
        return lh_error_errno(err, LH_ERR_IO, ferror(f) ? errno : EIO, "reading a sort run back");
    return LH_OK;
}

static lh_status get_str(FILE *f, char **s, size_t *n, lh_error *err)
{
    uint64_t len;
    *s = NULL;
    LH_TRY(get(f, &len, sizeof len, err));
    if (!len) return LH_OK;
    *s = lh_malloc(len);
    (*s)[len - 1] = '\0';
    if (n) *n = len - 1;
    return get(f, *s, len - 1, err);
}

/* The next entry of a run; *at_end when there is none. */
static lh_status read_entry(FILE *f, oentry *e, bool *at_end, lh_error *err)
{
    memset(e, 0, sizeof *e);
    int c = fgetc(f);
    *at_end = c == EOF;
    if (*at_end) return ferror(f) ? lh_error_errno(err, LH_ERR_IO, errno, "reading a sort run back")
                                  : LH_OK;
    e->has = c != 0;
    lh_status rc = get(f, &e->num, sizeof e->num, err);
    if (rc == LH_OK) rc = get_str(f, &e->str, NULL, err);
    if (rc == LH_OK) rc = get_str(f, &e->id, NULL, err);
    if (rc == LH_OK) rc = get_str(f, &e->line, &e->len, err);
    if (rc == LH_OK && !e->id) rc = lh_error_set(err, LH_ERR_IO, "a sort run is damaged");
    if (rc != LH_OK) entry_free(e);
    return rc;
}

/* ---- collecting and emitting ---- */

/* The entity's sort value: the least (descending: greatest) value of the
 * sort property, numbers as DuckDB casts them (in e->num), strings in
 * *best; false when the reference would leave the entity out (no row of
 * the property and no `id` row). */
static bool sort_key(const lh_equery_order *o, const lh_statement *rows, size_t n, oentry *e,
                     const char **best)
{
    bool listed = false;
    *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].prop, "id") == 0) listed = true;
        if (strcmp(rows[i].prop, o->sort_prop) != 0) continue;
        listed = true;
        if (o->numeric) {
            int64_t x;
            if (!lh_equery_numeric(rows[i].value, &x)) continue;
            if (!e->has || (o->descending ? x > e->num : x < e->num)) e->num = x;
            e->has = true;
        } else if (!*best || (strcmp(rows[i].value, *best) < 0) != o->descending) {
            *best = rows[i].value;
            e->has = true;
        }
    }
    return listed;
}

static lh_status on_entity(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    orderer *r = ctx;
    if (!n) return LH_OK;
    oentry e = {0};
    const char *best = NULL;
    if (r->o.sort_prop && !sort_key(&r->o, rows, n, &e, &best)) return LH_OK;
    lh_buf_reset(&r->line);
    for (size_t i = 0; i < n; i++) LH_TRY(lh_aggregator_add(r->agg, &rows[i], &r->line, err));
    LH_TRY(lh_aggregator_finish(r->agg, &r->line, err));
    e.str = best ? lh_strdup(best) : NULL;
    e.id = lh_strdup(rows[0].entity_id); /* the reference's id column in a lake */
    e.len = r->line.len;
    e.line = lh_strndup(r->line.data, r->line.len);
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->v = lh_realloc(r->v, r->cap * sizeof *r->v);
    }
    r->v[r->n++] = e;
    r->bytes += e.len + 64;
    if (r->progress) r->progress(r->progress_ctx, 1);
    if (r->keep < SIZE_MAX / 4 && r->n >= 2 * r->keep + 1024) sort_and_cut(r);
    return r->bytes > r->budget ? spill(r, err) : LH_OK;
}

typedef struct emitter {
    FILE *f;
    uint64_t seen, written;
    const lh_equery_order *o;
} emitter;

/* Where merged entries go: true from done ends the merge. */
typedef struct entry_sink {
    lh_status (*put)(void *ctx, const oentry *e, lh_error *err);
    bool (*done)(const void *ctx);
    void *ctx;
} entry_sink;

/* The next entry in order: written unless it is before the offset (an
 * emitter's entry_sink put). */
static lh_status emit(void *ctx, const oentry *e, lh_error *err)
{
    emitter *m = ctx;
    if (m->seen++ < (uint64_t)m->o->offset) return LH_OK;
    if (fwrite(e->line, 1, e->len, m->f) != e->len)
        return lh_error_errno(err, LH_ERR_IO, errno, "writing entities");
    m->written++;
    return LH_OK;
}

static bool done(const void *ctx)
{
    const emitter *m = ctx;
    return m->o->limit >= 0 && m->written >= (uint64_t)m->o->limit;
}

/* Merge the runs into sink: the least head of all of them, again and
 * again (at most MAX_RUNS of them). */
static lh_status merge_runs(orderer *r, const entry_sink *sink, lh_error *err)
{
    oentry *heads = lh_calloc(r->nruns ? r->nruns : 1, sizeof *heads);
    bool *live = lh_calloc(r->nruns ? r->nruns : 1, sizeof *live);
    lh_status rc = LH_OK;
    for (size_t i = 0; rc == LH_OK && i < r->nruns; i++) {
        bool end;
        rc = read_entry(r->runs[i], &heads[i], &end, err);
        live[i] = rc == LH_OK && !end;
    }
    while (rc == LH_OK && !sink->done(sink->ctx)) {
        size_t best = r->nruns;
        for (size_t i = 0; i < r->nruns; i++)
            if (live[i] && (best == r->nruns || entry_cmp_with(&r->o, &heads[i], &heads[best]) < 0))
                best = i;
        if (best == r->nruns) break;
        rc = sink->put(sink->ctx, &heads[best], err);
        entry_free(&heads[best]);
        live[best] = false;
        bool end;
        if (rc == LH_OK) rc = read_entry(r->runs[best], &heads[best], &end, err);
        live[best] = rc == LH_OK && !end;
    }
    for (size_t i = 0; i < r->nruns; i++)
        if (live[i]) entry_free(&heads[i]);
    free(heads);
    free(live);
    return rc;
}

typedef struct run_writer {
    FILE *f;
    uint64_t written, keep;
} run_writer;

static lh_status run_put(void *ctx, const oentry *e, lh_error *err)
{
    run_writer *w = ctx;
    w->written++;
    return write_entry(w->f, e, err);
}

static bool run_done(const void *ctx)
{
    const run_writer *w = ctx;
    return w->written >= w->keep;
}

/* The runs merged into one (cut to the entries still wanted), so that the
 * open files stay few. */
static lh_status compact_runs(orderer *r, lh_error *err)
{
    run_writer w = {.keep = r->keep};
    LH_TRY(new_run(&w.f, err));
    entry_sink sink = {run_put, run_done, &w};
    lh_status rc = merge_runs(r, &sink, err);
    if (rc == LH_OK) rc = rewind_run(w.f, err);
    for (size_t i = 0; i < r->nruns; i++) fclose(r->runs[i]);
    r->nruns = 0;
    add_run(r, w.f);
    return rc;
}

lh_status lh_export_entities_ordered(lh_pstore *ps, const lh_model *m, const lh_pstore_filter *q,
                                     int agg_flags, const lh_equery_order *order,
                                     size_t memory_budget, FILE *f, lh_progress_fn progress,
                                     void *progress_ctx, uint64_t *entities, lh_error *err)
{
    orderer r = {0};
    r.o = *order;
    r.budget = memory_budget;
    r.keep = order->limit < 0 ? SIZE_MAX : (uint64_t)order->limit + (uint64_t)order->offset;
    r.agg = lh_aggregator_new(m, agg_flags);
    r.progress = progress;
    r.progress_ctx = progress_ctx;
    emitter out = {.f = f, .o = order};
    /* the reference orders the whole table: an entity in two buckets is one */
    lh_pstore_filter whole;
    if (q) whole = *q;
    else lh_pstore_filter_init(&whole);
    whole.whole_entities = true;
    lh_status rc = lh_pstore_query(ps, &whole, on_entity, &r, err);
    if (rc == LH_OK && r.nruns) rc = spill(&r, err); /* the rest joins the runs */
    if (rc == LH_OK && r.nruns) {
        entry_sink sink = {emit, done, &out};
        rc = merge_runs(&r, &sink, err);
    } else if (rc == LH_OK) {
        sort_and_cut(&r);
        for (size_t i = 0; rc == LH_OK && i < r.n && !done(&out); i++) rc = emit(&out, &r.v[i], err);
    }
    for (size_t i = 0; i < r.n; i++) entry_free(&r.v[i]);
    free(r.v);
    for (size_t i = 0; i < r.nruns; i++) fclose(r.runs[i]);
    free(r.runs);
    lh_buf_free(&r.line);
    lh_aggregator_free(r.agg);
    *entities = out.written;
    return rc;
}
