/* File order and dedupe of statement rows: the semantics the reference's
 * merge and live reads share (see stmt_table.h). */
#include <stdlib.h>
#include <string.h>

#include "lh/storage/stmt_table.h"

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* NULL sorts first, then byte-wise. */
static int cmp_nullable(const char *a, const char *b)
{
    if (!a || !b) return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_desc_nulls_last(int64_t a, int64_t b)
{
    if (a == b) return 0;
    if (a == LH_TS_NULL) return 1;
    if (b == LH_TS_NULL) return -1;
    return a > b ? -1 : 1;
}

int lh_stmt_cmp(const lh_statement *a, const lh_statement *b)
{
    int c;
    if ((c = cmp_str(a->entity_id, b->entity_id))) return c;
    if ((c = cmp_str(a->fragment, b->fragment))) return c;
    if ((c = cmp_nullable(a->role, b->role))) return c;
    if ((c = cmp_str(a->prop, b->prop))) return c;
    if ((c = cmp_str(a->id, b->id))) return c;
    if ((c = cmp_desc_nulls_last(a->last_seen, b->last_seen))) return c;
    return cmp_desc_nulls_last(a->deleted_at, b->deleted_at);
}

static int qsort_cmp(const void *a, const void *b)
{
    return lh_stmt_cmp(a, b);
}

void lh_stmt_sort(lh_statement *rows, size_t n)
{
    /* An entity's rows mostly come from one sorted file: a pass that finds
     * them in order costs n - 1 comparisons, a merge sort n log n. */
    size_t i = 1;
    while (i < n && lh_stmt_cmp(&rows[i - 1], &rows[i]) <= 0) i++;
    if (i < n) qsort(rows, n, sizeof *rows, qsort_cmp);
}

static bool nz(const char *s)
{
    return s && *s;
}

static bool same_role(const lh_statement *a, const lh_statement *b)
{
    return cmp_nullable(a->role, b->role) == 0;
}

static bool same_row_key(const lh_statement *a, const lh_statement *b)
{
    return strcmp(a->entity_id, b->entity_id) == 0 && strcmp(a->id, b->id) == 0 &&
           same_role(a, b) && strcmp(a->prop, b->prop) == 0;
}

static bool same_fragment_group(const lh_statement *a, const lh_statement *b)
{
    return strcmp(a->entity_id, b->entity_id) == 0 && strcmp(a->fragment, b->fragment) == 0 &&
           same_role(a, b) && strcmp(a->prop, b->prop) == 0;
}

static bool keep(const lh_statement *s, int64_t keep_tombstones_after)
{
    if (s->deleted_at == LH_TS_NULL) return true;
    if (keep_tombstones_after == INT64_MAX) return false;
    return s->deleted_at > keep_tombstones_after;
}

size_t lh_stmt_dedupe(lh_statement *rows, size_t n, int64_t keep_tombstones_after)
{
    size_t out = 0, i = 0;
    while (i < n) {
        if (!nz(rows[i].fragment)) {
            /* rows of one (entity_id, id, role) are adjacent; the first is the
             * latest (last_seen DESC, tombstone first on a tie) */
            size_t j = i + 1;
            int64_t first = rows[i].first_seen;
            while (j < n && !nz(rows[j].fragment) && same_row_key(&rows[i], &rows[j])) {
                if (rows[j].first_seen < first) first = rows[j].first_seen;
                j++;
            }
            lh_statement win = rows[i];
            win.first_seen = first;
            if (keep(&win, keep_tombstones_after)) rows[out++] = win;
            i = j;
            continue;
        }
        /* a fragment group: survivors are the rows at its latest last_seen */
        size_t g = i + 1;
        int64_t latest = rows[i].last_seen;
        while (g < n && same_fragment_group(&rows[i], &rows[g])) {
            if (rows[g].last_seen > latest) latest = rows[g].last_seen;
            g++;
        }
        size_t k = i;
        while (k < g) {
            size_t j = k + 1;
            int64_t first = rows[k].first_seen;
            while (j < g && strcmp(rows[j].id, rows[k].id) == 0) {
                if (rows[j].first_seen < first) first = rows[j].first_seen;
                j++;
            }
            lh_statement win = rows[k]; /* latest of this id */
            win.first_seen = first;
            if (win.last_seen == latest && keep(&win, keep_tombstones_after)) rows[out++] = win;
            k = j;
        }
        i = g;
    }
    return out;
}
