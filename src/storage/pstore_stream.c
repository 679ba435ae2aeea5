/* Entity-at-a-time reads over a set of partition files: a k-way merge by
 * entity_id over files that are sorted (ours, and merge output), holding one
 * row group per file, with a binary heap of the files' current entities (a
 * bulk import leaves dozens of files per partition); files of unknown order
 * are loaded and sorted. */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "pstore_internal.h"

#define CURSOR_ARENA_BLOCK 4096

typedef struct cursor {
    lh_stmt_file *f;
    size_t rg, nrg;  /* the next of nrg row groups to read */
    size_t *rgs;     /* with wanted ids: the row groups that may hold them */
    lh_stmt_batch rows; /* the current row group */
    size_t pos;
} cursor;

struct lh_entity_stream {
    cursor *cs;
    size_t n;
    /* cursors that have a current row, least (entity_id, cursor) on top */
    size_t *heap, heap_len;
    bool heap_ready;
    size_t *take; /* the cursors of the entity handed out */
    lh_stmt_batch out;      /* the entity handed out (streaming) */
    lh_stmt_batch all;      /* every row, sorted (fallback) */
    size_t all_pos;
    bool fallback;
    const char *const *ids; /* sorted; NULL = every entity */
    size_t num_ids;
    /* rows a filter looks for; NULL = every entity. Used over one file
     * only: with several, an entity's rows in one file could be dropped
     * while another file holds its matching row. */
    const lh_stmt_pred *pred;
};

/* Append the rows of the cursor's k-th row group to out: with wanted ids,
 * only theirs (and only row groups whose statistics admit them are read). */
static lh_status read_rg(const lh_entity_stream *s, const cursor *c, size_t k,
                         lh_stmt_batch *out, lh_error *err)
{
    if (!s->ids && s->pred) return lh_stmt_file_read_where(c->f, k, s->pred, out, err);
    if (!s->ids) return lh_stmt_file_read(c->f, k, out, err);
    return lh_stmt_file_read_ids(c->f, c->rgs[k], s->ids, s->num_ids, out, err);
}

static int entity_cmp(const void *a, const void *b)
{
    return lh_stmt_cmp(a, b);
}

/* Make the cursor's current row available; false when exhausted. retire
 * (may be NULL): the batch that takes the spent row group, whose rows it
 * holds shallow copies of; without it the row group is dropped. */
static lh_status cursor_fill(const lh_entity_stream *s, cursor *c, lh_stmt_batch *retire,
                             bool *has, lh_error *err)
{
    while (c->pos >= c->rows.len) {
        if (c->rg >= c->nrg) {
            lh_stmt_file_release(c->f);
            *has = false;
            return LH_OK;
        }
        if (retire && c->rows.len) {
            lh_stmt_batch *spent = lh_malloc(sizeof *spent);
            *spent = c->rows;
            lh_stmt_batch_init(&c->rows);
            lh_stmt_batch_hold(retire, spent);
        }
        lh_stmt_batch_clear(&c->rows);
        c->pos = 0;
        LH_TRY(read_rg(s, c, c->rg++, &c->rows, err));
        /* its last row group read: the file's descriptor goes, so a
         * partition of thousands of files (or a pair of thousands of
         * origins) holds few open at once, not one per file */
        if (c->rg >= c->nrg) lh_stmt_file_release(c->f);
    }
    *has = true;
    return LH_OK;
}

static const char *cur_entity(const lh_entity_stream *s, size_t i)
{
    const cursor *c = &s->cs[i];
    return c->rows.rows[c->pos].entity_id;
}

static bool heap_less(const lh_entity_stream *s, size_t a, size_t b)
{
    int c = strcmp(cur_entity(s, a), cur_entity(s, b));
    return c < 0 || (c == 0 && a < b);
}

static void heap_push(lh_entity_stream *s, size_t i)
{
    size_t k = s->heap_len++;
    while (k > 0) {
        size_t parent = (k - 1) / 2;
        if (!heap_less(s, i, s->heap[parent])) break;
        s->heap[k] = s->heap[parent];
        k = parent;
    }
    s->heap[k] = i;
}

static size_t heap_pop(lh_entity_stream *s)
{
    size_t top = s->heap[0], last = s->heap[--s->heap_len], k = 0;
    for (;;) {
        size_t child = 2 * k + 1;
        if (child >= s->heap_len) break;
        if (child + 1 < s->heap_len && heap_less(s, s->heap[child + 1], s->heap[child])) child++;
        if (!heap_less(s, s->heap[child], last)) break;
        s->heap[k] = s->heap[child];
        k = child;
    }
    if (s->heap_len) s->heap[k] = last;
    return top;
}

/* The fallback's read of one file: its rows (those a cursor holds
 * already, then the rest) into s->all, and the file closed. */
static lh_status load_all(lh_entity_stream *s, cursor *c, lh_error *err)
{
    for (size_t i = c->pos; i < c->rows.len; i++) lh_stmt_batch_push(&s->all, &c->rows.rows[i]);
    lh_stmt_batch_clear(&c->rows);
    c->pos = 0;
    while (c->rg < c->nrg) LH_TRY(read_rg(s, c, c->rg++, &s->all, err));
    lh_stmt_file_release(c->f);
    return LH_OK;
}

lh_status lh_entity_stream_open(lh_pstore *ps, const lh_part *parts, size_t n,
                                const char *const *ids, size_t num_ids,
                                const lh_stmt_pred *pred, lh_entity_stream **out,
                                lh_error *err)
{
    *out = NULL;
    lh_entity_stream *s = lh_calloc(1, sizeof *s);
    s->ids = num_ids ? ids : NULL;
    s->num_ids = num_ids;
    lh_stmt_batch_init(&s->out);
    lh_stmt_batch_init(&s->all);
    size_t nfiles = 0;
    for (size_t i = 0; i < n; i++) nfiles += parts[i].num_files;
    s->cs = lh_calloc(nfiles ? nfiles : 1, sizeof *s->cs);
    s->heap = lh_calloc(nfiles ? nfiles : 1, sizeof *s->heap);
    s->take = lh_calloc(nfiles ? nfiles : 1, sizeof *s->take);
    lh_status rc = LH_OK;
    lh_buf key = LH_BUF_INIT;
    for (size_t i = 0; rc == LH_OK && i < n; i++) {
        const lh_part *p = &parts[i];
        for (size_t k = 0; rc == LH_OK && k < p->num_files; k++) {
            lh_buf_reset(&key);
            lh_buf_printf(&key, "%s/%s", lh_pstore_table(ps), p->files[k]->path);
            cursor *c = &s->cs[s->n];
            rc = lh_stmt_file_open(ps->st, key.data, p->shard, p->bucket, p->origin, &c->f, err);
            /* The version this read began with names it. A merge committed
             * since then replaces files and vacuums them at once (as the
             * reference's optimize does): the usual reason, and a retry reads
             * the new version. `check` tells a file really lost. */
            if (rc == LH_ERR_NOT_FOUND)
                lh_error_suffix(err, " (a concurrent `optimize` may have replaced it since this "
                                     "read began: run again; `maintenance check` names lost "
                                     "files)");
            if (rc != LH_OK) break;
            lh_stmt_batch_init(&c->rows);
            /* a row group of each file is held at once: with thousands of
             * small files (a pair of thousands of origins) a 64 KiB first
             * block each came to hundreds of MB for a few rows; larger row
             * groups take more blocks (a value larger than one, its own) */
            c->rows.arena.block_size = CURSOR_ARENA_BLOCK;
            s->n++;
            if (s->ids)
                rc = lh_stmt_file_candidates(c->f, s->ids, s->num_ids, &c->rgs, &c->nrg, err);
            else
                c->nrg = lh_stmt_file_row_groups(c->f);
            if (rc != LH_OK) break;
            if (!lh_stmt_file_sorted(c->f) && !s->fallback) {
                /* files of unknown order (the reference's appends): load
                 * them all, those read so far too */
                s->fallback = true;
                for (size_t j = 0; rc == LH_OK && j + 1 < s->n; j++) rc = load_all(s, &s->cs[j], err);
                s->heap_len = 0;
            }
            /* The file is read now, before the next opens: a file of one
             * row group (an import's, a small partition's merge output) is
             * closed at once, so the descriptors held do not grow with the
             * number of files. */
            if (pred && nfiles == 1 && !s->fallback) s->pred = pred;
            if (rc == LH_OK && s->fallback) {
                rc = load_all(s, c, err);
            } else if (rc == LH_OK) {
                bool has = false;
                rc = cursor_fill(s, c, NULL, &has, err);
                if (rc == LH_OK && has) heap_push(s, s->n - 1);
            }
        }
    }
    lh_buf_free(&key);
    s->heap_ready = !s->fallback;
    if (rc == LH_OK && s->fallback && s->all.len > 1)
        qsort(s->all.rows, s->all.len, sizeof *s->all.rows, entity_cmp);
    if (rc != LH_OK) {
        lh_entity_stream_free(s);
        return rc;
    }
    *out = s;
    return LH_OK;
}

/* The fallback's next entity: a view into s->all. */
static void next_loaded(lh_entity_stream *s, lh_statement **rows, size_t *n)
{
    size_t i = s->all_pos, j = i;
    while (j < s->all.len && strcmp(s->all.rows[i].entity_id, s->all.rows[j].entity_id) == 0)
        j++;
    *rows = s->all.rows + i;
    *n = j - i;
    s->all_pos = j;
}

/* Load every cursor's first row group and order the cursors, once. */
static lh_status heap_init(lh_entity_stream *s, lh_error *err)
{
    if (s->heap_ready) return LH_OK;
    for (size_t i = 0; i < s->n; i++) {
        bool has = false;
        LH_TRY(cursor_fill(s, &s->cs[i], NULL, &has, err));
        if (has) heap_push(s, i);
    }
    s->heap_ready = true;
    return LH_OK;
}

/* The next entity as a view into its cursor's row group, when no other
 * file holds it and it provably ends inside that row group; false when it
 * must be copied (next_into). The rows are consumed: the caller may
 * reorder them. */
static bool next_view(lh_entity_stream *s, lh_statement **rows, size_t *n)
{
    size_t top = s->heap[0];
    cursor *c = &s->cs[top];
    const char *e = cur_entity(s, top);
    /* the second least cursor is a child of the root */
    for (size_t k = 1; k <= 2 && k < s->heap_len; k++)
        if (strcmp(cur_entity(s, s->heap[k]), e) == 0) return false;
    size_t end = c->pos + 1;
    while (end < c->rows.len && (c->rows.rows[end].entity_id == e ||
                                 strcmp(c->rows.rows[end].entity_id, e) == 0))
        end++;
    /* at the row group's end the entity may go on in the next one */
    if (end == c->rows.len && c->rg < c->nrg) return false;
    heap_pop(s);
    *rows = c->rows.rows + c->pos;
    *n = end - c->pos;
    c->pos = end;
    /* refilling now would free the view: a cursor at its end stays out */
    if (end < c->rows.len) heap_push(s, top);
    return true;
}

/* next_into and next_shallow: with shallow, rows are pushed as they are
 * and dst holds the row groups they point into once they are spent. */
static lh_status next_rows(lh_entity_stream *s, lh_stmt_batch *dst, bool shallow, size_t *n,
                           lh_error *err)
{
    lh_statement *(*push)(lh_stmt_batch *, const lh_statement *) =
        shallow ? lh_stmt_batch_push_shallow : lh_stmt_batch_push;
    *n = 0;
    if (s->fallback) {
        /* s->all outlives the caller's batches: shallow copies may point into it */
        lh_statement *rows;
        next_loaded(s, &rows, n);
        for (size_t i = 0; i < *n; i++) push(dst, &rows[i]);
        return LH_OK;
    }
    LH_TRY(heap_init(s, err));
    if (!s->heap_len) return LH_OK;
    /* the entity's key points into a batch that may be refilled below: copy it */
    char *want = lh_strdup(cur_entity(s, s->heap[0]));
    size_t ntake = 0;
    while (s->heap_len && strcmp(cur_entity(s, s->heap[0]), want) == 0)
        s->take[ntake++] = heap_pop(s); /* ascending cursor order: ties pop by index */
    size_t start = dst->len;
    lh_status rc = LH_OK;
    for (size_t t = 0; rc == LH_OK && t < ntake; t++) {
        cursor *c = &s->cs[s->take[t]];
        for (;;) {
            bool has = false;
            rc = cursor_fill(s, c, shallow ? dst : NULL, &has, err);
            if (rc != LH_OK || !has) break;
            const lh_statement *r = &c->rows.rows[c->pos];
            if (strcmp(r->entity_id, want) != 0) {
                heap_push(s, s->take[t]);
                break;
            }
            push(dst, r);
            c->pos++;
        }
    }
    free(want);
    *n = dst->len - start;
    return rc;
}

lh_status lh_entity_stream_next_into(lh_entity_stream *s, lh_stmt_batch *dst, size_t *n,
                                     lh_error *err)
{
    return next_rows(s, dst, false, n, err);
}

lh_status lh_entity_stream_next_shallow(lh_entity_stream *s, lh_stmt_batch *dst, size_t *n,
                                        lh_error *err)
{
    return next_rows(s, dst, true, n, err);
}

lh_status lh_entity_stream_next(lh_entity_stream *s, lh_statement **rows, size_t *n,
                                lh_error *err)
{
    *rows = NULL;
    *n = 0;
    if (s->fallback) {
        next_loaded(s, rows, n);
        return LH_OK;
    }
    LH_TRY(heap_init(s, err));
    if (!s->heap_len) return LH_OK;
    if (next_view(s, rows, n)) return LH_OK;
    lh_stmt_batch_clear(&s->out);
    LH_TRY(lh_entity_stream_next_into(s, &s->out, n, err));
    *rows = s->out.rows;
    return LH_OK;
}

void lh_entity_stream_free(lh_entity_stream *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        lh_stmt_file_free(s->cs[i].f);
        lh_stmt_batch_free(&s->cs[i].rows);
        free(s->cs[i].rgs);
    }
    free(s->cs);
    free(s->heap);
    free(s->take);
    lh_stmt_batch_free(&s->out);
    lh_stmt_batch_free(&s->all);
    free(s);
}

static int origin_then_file_order(const void *a, const void *b)
{
    const lh_statement *x = a, *y = b;
    int c = strcmp(x->origin, y->origin);
    return c ? c : lh_stmt_cmp(x, y);
}

size_t lh_entity_dedupe(lh_statement *rows, size_t n, int64_t keep_tombstones_after)
{
    if (n > 1) qsort(rows, n, sizeof *rows, origin_then_file_order);
    size_t out = 0, origins = 0;
    for (size_t i = 0; i < n; origins++) {
        size_t j = i + 1;
        while (j < n && strcmp(rows[i].origin, rows[j].origin) == 0) j++;
        size_t kept = lh_stmt_dedupe(rows + i, j - i, keep_tombstones_after);
        memmove(rows + out, rows + i, kept * sizeof *rows);
        out += kept;
        i = j;
    }
    /* one origin: the rows are in file order already */
    if (origins > 1) lh_stmt_sort(rows, out);
    return out;
}
