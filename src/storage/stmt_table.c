/* Statement table layout: columns, writer profiles, Delta schema, file IO. */
#include "lh/storage/stmt_table.h"

#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/format/pq_reader.h"

const char *const lh_stmt_col_names[LH_STMT_NCOLS] = {
    "shard",  "id",        "entity_id", "dataset",        "bucket", "origin",   "source",
    "schema", "prop",      "prop_type", "value",          "original_value",     "lang",
    "external", "first_seen", "last_seen", "fragment", "role", "deleted_at",
};

const char *const lh_stmt_partition_cols[LH_STMT_NPART] = {"shard", "bucket", "origin"};

int lh_stmt_col_index(const char *name)
{
    for (int c = 0; c < LH_STMT_NCOLS; c++)
        if (strcmp(name, lh_stmt_col_names[c]) == 0) return c;
    return -1;
}

typedef enum { T_STR, T_BOOL, T_TS } col_type;

static const struct {
    col_type type;
    bool nullable;
} COLS[LH_STMT_NCOLS] = {
    [LH_COL_SHARD] = {T_STR, false},      [LH_COL_ID] = {T_STR, false},
    [LH_COL_ENTITY_ID] = {T_STR, false},  [LH_COL_DATASET] = {T_STR, false},
    [LH_COL_BUCKET] = {T_STR, false},     [LH_COL_ORIGIN] = {T_STR, false},
    [LH_COL_SOURCE] = {T_STR, true},      [LH_COL_SCHEMA] = {T_STR, false},
    [LH_COL_PROP] = {T_STR, false},       [LH_COL_PROP_TYPE] = {T_STR, true},
    [LH_COL_VALUE] = {T_STR, false},      [LH_COL_ORIGINAL_VALUE] = {T_STR, true},
    [LH_COL_LANG] = {T_STR, true},        [LH_COL_EXTERNAL] = {T_BOOL, false},
    [LH_COL_FIRST_SEEN] = {T_TS, false},  [LH_COL_LAST_SEEN] = {T_TS, false},
    [LH_COL_FRAGMENT] = {T_STR, false},   [LH_COL_ROLE] = {T_STR, true},
    [LH_COL_DELETED_AT] = {T_TS, true},
};

static bool is_partition_col(int c)
{
    return c == LH_COL_SHARD || c == LH_COL_BUCKET || c == LH_COL_ORIGIN;
}

const char *lh_stmt_col_type(int c)
{
    return COLS[c].type == T_STR ? "string" : COLS[c].type == T_BOOL ? "boolean" : "timestamp";
}

bool lh_stmt_col_nullable(int c)
{
    return COLS[c].nullable;
}

/* Columns the reference gives chunk statistics and a dictionary. */
static bool has_stats(int c)
{
    switch (c) {
    case LH_COL_ID: case LH_COL_ENTITY_ID: case LH_COL_SCHEMA: case LH_COL_PROP:
    case LH_COL_DATASET: case LH_COL_LANG: case LH_COL_FRAGMENT: case LH_COL_FIRST_SEEN:
    case LH_COL_LAST_SEEN: case LH_COL_VALUE:
        return true;
    default:
        return false;
    }
}

static bool is_large_bucket(const char *bucket)
{
    return strcmp(bucket, "document") == 0 || strcmp(bucket, "page") == 0;
}

void lh_stmt_writer_profile(const char *bucket, lh_pq_col_spec *cols, lh_pq_writer_opts *opts)
{
    bool large = is_large_bucket(bucket);
    lh_pq_writer_opts_init(opts);
    opts->codec = LH_PQ_ZSTD;
    /* Level 1, not 3: merges (bound by the writer thread) run ~15% faster
     * for files ~1% larger (3M generated statements). */
    opts->level = 1;
    opts->dict_page_size = 1u << 20;
    opts->data_page_size = large ? 16u << 20 : 2u << 20;
    /* A lookup decodes only the pages holding its entity's rows: pages of
     * 2,000 rows make one ~20% cheaper at 3M statements than pages of a
     * whole row group, for files 0.6% larger. */
    opts->data_page_rows = 2000;
    /* Smaller than the reference's (DuckDB 122880, delta-rs 1M): a lookup
     * decodes one row group per file it cannot rule out, and reads stream
     * one row group per file at a time. 20k rows cost ~5% in file size and
     * make a lookup at 1M statements ~4x cheaper than 100k did. */
    opts->row_group_rows = large ? 10000 : 20000;
    /* Page bounds (ColumnIndex + OffsetIndex, as parquet-rs writes by
     * default): a lookup decodes only the entity_id pages that can hold its
     * entity, and other readers prune pages with them too. */
    opts->page_index = true;
    size_t i = 0;
    for (int c = 0; c < LH_STMT_NCOLS; c++) {
        if (is_partition_col(c)) continue;
        lh_pq_col_spec *s = &cols[i++];
        memset(s, 0, sizeof *s);
        s->name = lh_stmt_col_names[c];
        s->kind = COLS[c].type == T_STR ? LH_PQK_STRING
                  : COLS[c].type == T_BOOL ? LH_PQK_BOOL : LH_PQK_TIMESTAMP_US;
        s->required = !COLS[c].nullable;
        s->statistics = has_stats(c);
        s->dictionary = COLS[c].type == T_STR && !(c == LH_COL_VALUE && large);
        s->bloom_filter = c == LH_COL_PROP || c == LH_COL_FRAGMENT ||
                          (c == LH_COL_VALUE && !large);
        s->bloom_fpp = 0.01;
    }
}

static const char *str_field(const lh_statement *s, int c)
{
    switch (c) {
    case LH_COL_SHARD: return s->shard;
    case LH_COL_ID: return s->id;
    case LH_COL_ENTITY_ID: return s->entity_id;
    case LH_COL_DATASET: return s->dataset;
    case LH_COL_BUCKET: return s->bucket;
    case LH_COL_ORIGIN: return s->origin;
    case LH_COL_SOURCE: return s->source;
    case LH_COL_SCHEMA: return s->schema;
    case LH_COL_PROP: return s->prop;
    case LH_COL_PROP_TYPE: return s->prop_type;
    case LH_COL_VALUE: return s->value;
    case LH_COL_ORIGINAL_VALUE: return s->original_value;
    case LH_COL_LANG: return s->lang;
    case LH_COL_FRAGMENT: return s->fragment ? s->fragment : "";
    case LH_COL_ROLE: return s->role;
    default: return NULL;
    }
}

static const char **str_slot(lh_statement *s, int c)
{
    switch (c) {
    case LH_COL_SHARD: return &s->shard;
    case LH_COL_ID: return &s->id;
    case LH_COL_ENTITY_ID: return &s->entity_id;
    case LH_COL_DATASET: return &s->dataset;
    case LH_COL_BUCKET: return &s->bucket;
    case LH_COL_ORIGIN: return &s->origin;
    case LH_COL_SOURCE: return &s->source;
    case LH_COL_SCHEMA: return &s->schema;
    case LH_COL_PROP: return &s->prop;
    case LH_COL_PROP_TYPE: return &s->prop_type;
    case LH_COL_VALUE: return &s->value;
    case LH_COL_ORIGINAL_VALUE: return &s->original_value;
    case LH_COL_LANG: return &s->lang;
    case LH_COL_FRAGMENT: return &s->fragment;
    case LH_COL_ROLE: return &s->role;
    default: return NULL;
    }
}

static int64_t *ts_slot(lh_statement *s, int c)
{
    switch (c) {
    case LH_COL_FIRST_SEEN: return &s->first_seen;
    case LH_COL_LAST_SEEN: return &s->last_seen;
    case LH_COL_DELETED_AT: return &s->deleted_at;
    default: return NULL;
    }
}

void lh_stmt_file_values(const lh_statement *s, const lh_pq_value *prev, lh_pq_value *vals)
{
    size_t i = 0;
    for (int c = 0; c < LH_STMT_NCOLS; c++) {
        if (is_partition_col(c)) continue;
        lh_pq_value *v = &vals[i];
        const lh_pq_value *pv = prev ? &prev[i] : NULL;
        i++;
        memset(v, 0, sizeof *v);
        if (COLS[c].type == T_STR) {
            /* rows read from a file share their dictionary entries' copies */
            const char *p = str_field(s, c);
            v->is_null = p == NULL;
            v->v.s.p = p;
            if (p && pv && pv->v.s.p == p) v->v.s.len = pv->v.s.len;
            else v->v.s.len = p ? strlen(p) : 0;
        } else if (COLS[c].type == T_BOOL) {
            v->v.b = s->external;
        } else {
            int64_t t = *ts_slot((lh_statement *)s, c);
            v->is_null = t == LH_TS_NULL;
            v->v.i64 = t;
        }
    }
}

void lh_stmt_count_nulls(const lh_pq_value *vals, size_t rows, int64_t *nulls)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < LH_STMT_FILE_NCOLS; c++)
            nulls[c] += vals[r * LH_STMT_FILE_NCOLS + c].is_null;
}

/* A subset of a row group's rows: ascending row numbers. */
typedef struct row_sel {
    const uint32_t *rows; /* NULL = every row */
    size_t n;
} row_sel;

/* Copies of a chunk's dictionary entries, made when first used: the rows
 * that share an entry share its copy. */
typedef struct dict_copies {
    const char **copy;
    size_t cap;
} dict_copies;

static void interned_reset(dict_copies *in, const lh_pq_column *dict)
{
    size_t n = dict ? dict->num_values : 0;
    if (n > in->cap) {
        free(in->copy);
        in->copy = lh_calloc(n, sizeof *in->copy);
        in->cap = n;
    } else if (n) {
        memset(in->copy, 0, n * sizeof *in->copy);
    }
}

/* Value vi of a string column as a string in out's arena. */
static const char *string_at(lh_stmt_batch *out, const lh_pq_column *col, size_t vi,
                             dict_copies *in, const char **prev, size_t *prev_len, size_t *len)
{
    const char *v = lh_pq_column_bytes(col, vi, len);
    uint32_t di = col->dict ? col->dict_idx[vi] : LH_PQ_NO_DICT;
    if (di != LH_PQ_NO_DICT) {
        if (!in->copy[di]) in->copy[di] = lh_arena_strndup(&out->arena, v, *len);
        return in->copy[di];
    }
    /* a value equal to the column's previous one shares its copy: sorted
     * files repeat entity_id, schema, dataset... row after row */
    if (!*prev || *len != *prev_len || memcmp(*prev, v, *len) != 0)
        *prev = lh_arena_strndup(&out->arena, v, *len);
    *prev_len = *len;
    return *prev;
}

/* Fill column c of the selected rows, stored at rows[base..], from col:
 * rows [first, first + its levels) of a row group of n rows, all of them
 * or (a ranged read) those of the pages holding the selection. */
static lh_status fill_column(lh_stmt_batch *out, size_t base, size_t n, const row_sel *sel,
                             int c, const lh_pq_column *col, size_t first,
                             const lh_pq_leaf *leaf, const char *key, dict_copies *in,
                             lh_error *err)
{
    bool whole = first == 0 && col->num_levels == n;
    bool covers = sel->rows && sel->n && first <= sel->rows[0] &&
                  sel->rows[sel->n - 1] < first + col->num_levels &&
                  first + col->num_levels <= n;
    if (!whole && !covers)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: column %s has %zu values for %zu rows",
                            key, lh_stmt_col_names[c], col->num_levels, n);
    n = col->num_levels;
    size_t vi = 0, k = 0;
    const char *prev = NULL;
    size_t prev_len = 0;
    /* the field's place in a row, found once rather than per row */
    lh_statement probe;
    size_t str_off = 0;
    if (COLS[c].type == T_STR) {
        interned_reset(in, col->dict);
        str_off = (size_t)((char *)str_slot(&probe, c) - (char *)&probe);
    }
    for (size_t r = 0; r < n; r++) {
        bool present = !col->def_levels || col->def_levels[r] == leaf->max_def;
        if (sel->rows) {
            if (k >= sel->n) break;
            if (sel->rows[k] != first + r) {
                vi += present; /* every present value, whatever its type, takes one slot */
                continue;
            }
        }
        lh_statement *s = &out->rows[base + (sel->rows ? k++ : r)];
        if (COLS[c].type == T_STR) {
            const char **slot = (const char **)((char *)s + str_off);
            if (!present) {
                *slot = c == LH_COL_FRAGMENT ? "" : NULL;
                continue;
            }
            if (col->type != LH_PQ_BYTE_ARRAY)
                return lh_error_set(err, LH_ERR_CORRUPT, "%s: column %s is not a string", key,
                                    lh_stmt_col_names[c]);
            size_t len;
            const char *p = string_at(out, col, vi++, in, &prev, &prev_len, &len);
            /* the reference collapses an empty role to NULL */
            *slot = (c == LH_COL_ROLE && len == 0) ? NULL : p;
        } else if (COLS[c].type == T_BOOL) {
            /* another writer may have retyped the column: no booleans to read */
            if (present && col->type != LH_PQ_BOOLEAN)
                return lh_error_set(err, LH_ERR_CORRUPT, "%s: column %s is not a boolean", key,
                                    lh_stmt_col_names[c]);
            s->external = present ? ((const uint8_t *)col->values)[vi++] != 0 : false;
        } else {
            int64_t *slot = ts_slot(s, c);
            if (!present) {
                *slot = LH_TS_NULL;
                continue;
            }
            if (col->type != LH_PQ_INT64)
                return lh_error_set(err, LH_ERR_CORRUPT, "%s: column %s is not a timestamp",
                                    key, lh_stmt_col_names[c]);
            *slot = ((const int64_t *)col->values)[vi++];
        }
    }
    return LH_OK;
}

struct lh_stmt_file {
    lh_pq_reader *r;
    char *key, *shard, *bucket, *origin;
    int leaf_of[LH_STMT_NCOLS];
    lh_pq_column col;
    dict_copies interned;
    bool sorted;
};

lh_status lh_stmt_file_open(lh_storage *st, const char *key, const char *shard,
                            const char *bucket, const char *origin, lh_stmt_file **out,
                            lh_error *err)
{
    *out = NULL;
    lh_pq_reader *r = NULL;
    LH_TRY(lh_pq_reader_open(st, key, &r, err));
    const char *required[] = {"id", "entity_id", "prop", "value", "schema"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (lh_pq_reader_find(r, required[i]) < 0) {
            lh_pq_reader_free(r);
            return lh_error_set(err, LH_ERR_CORRUPT, "%s: not a statement file (no column `%s`)",
                                key, required[i]);
        }
    lh_stmt_file *f = lh_calloc(1, sizeof *f);
    f->r = r;
    f->key = lh_strdup(key);
    f->shard = lh_strdup(shard);
    f->bucket = lh_strdup(bucket);
    f->origin = lh_strdup(origin);
    for (int c = 0; c < LH_STMT_NCOLS; c++)
        f->leaf_of[c] = is_partition_col(c) ? -1 : lh_pq_reader_find(r, lh_stmt_col_names[c]);
    lh_pq_column_init(&f->col);
    f->col.keep_dict = true;
    /* our files say how they are sorted; merge output (ours or the
     * reference's DuckDB COPY ... ORDER BY entity_id, ...) is sorted too */
    const lh_pq_file_meta *m = lh_pq_reader_meta(r);
    for (size_t i = 0; i < m->num_key_value_metadata; i++)
        if (strcmp(m->key_value_metadata[i].key, LH_STMT_SORT_KEY) == 0 &&
            m->key_value_metadata[i].value &&
            lh_str_startswith(m->key_value_metadata[i].value, "entity_id"))
            f->sorted = true;
    const char *base = strrchr(key, '/');
    if (lh_str_startswith(base ? base + 1 : key, "merged-")) f->sorted = true;
    *out = f;
    return LH_OK;
}

void lh_stmt_file_release(lh_stmt_file *f)
{
    lh_pq_reader_release(f->r);
}

void lh_stmt_file_free(lh_stmt_file *f)
{
    if (!f) return;
    lh_pq_column_free(&f->col);
    free(f->interned.copy);
    lh_pq_reader_free(f->r);
    free(f->key);
    free(f->shard);
    free(f->bucket);
    free(f->origin);
    free(f);
}

size_t lh_stmt_file_row_groups(const lh_stmt_file *f)
{
    return lh_pq_reader_num_row_groups(f->r);
}

int64_t lh_stmt_file_num_rows(const lh_stmt_file *f)
{
    int64_t n = 0;
    for (size_t rg = 0; rg < lh_pq_reader_num_row_groups(f->r); rg++)
        n += lh_pq_reader_row_group_rows(f->r, rg);
    return n;
}

bool lh_stmt_file_sorted(const lh_stmt_file *f)
{
    return f->sorted;
}

/* Bounds of row group rg's entity_id column; *has false when either is
 * missing. */
static lh_status entity_bounds(lh_stmt_file *f, size_t rg, const lh_buf **min, const lh_buf **max,
                               bool *has, lh_error *err)
{
    const lh_pq_statistics *st;
    LH_TRY(lh_pq_reader_stats(f->r, rg, (size_t)f->leaf_of[LH_COL_ENTITY_ID], &st, err));
    *has = st && st->has_min_value && st->has_max_value;
    if (*has) {
        *min = &st->min_value;
        *max = &st->max_value;
    }
    return LH_OK;
}

static int id_cmp(const char *id, const lh_buf *bound)
{
    return lh_bytes_cmp(id, strlen(id), bound->data, bound->len);
}

/* Does any of ids (sorted byte-wise) fall within [min, max]? The first id
 * >= min decides. */
static bool ids_within(const char *const *ids, size_t n, const lh_buf *min, const lh_buf *max)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (id_cmp(ids[mid], min) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && id_cmp(ids[lo], max) <= 0;
}

lh_status lh_stmt_file_may_contain(lh_stmt_file *f, size_t rg, const char *const *ids, size_t n,
                                   bool *may, lh_error *err)
{
    *may = true;
    const lh_buf *mn, *mx;
    bool has;
    LH_TRY(entity_bounds(f, rg, &mn, &mx, &has, err));
    if (has) *may = ids_within(ids, n, mn, mx);
    return LH_OK;
}

/* Every row group may_contain admits: decodes every row group's metadata. */
static lh_status scan_candidates(lh_stmt_file *f, const char *const *ids, size_t n,
                                 size_t *rgs, size_t *count, lh_error *err)
{
    *count = 0;
    for (size_t rg = 0; rg < lh_stmt_file_row_groups(f); rg++) {
        bool may;
        LH_TRY(lh_stmt_file_may_contain(f, rg, ids, n, &may, err));
        if (may) rgs[(*count)++] = rg;
    }
    return LH_OK;
}

lh_status lh_stmt_file_candidates(lh_stmt_file *f, const char *const *ids, size_t n,
                                  size_t **out, size_t *count, lh_error *err)
{
    size_t nrg = lh_stmt_file_row_groups(f);
    size_t *rgs = lh_malloc((nrg ? nrg : 1) * sizeof *rgs);
    *out = rgs;
    *count = 0;
    if (!f->sorted || !nrg) return scan_candidates(f, ids, n, rgs, count, err);
    /* Sorted: row group bounds ascend (an entity may straddle a boundary,
     * so a max can equal the next min). Per id, the first row group whose
     * max >= id, then on while min <= id. */
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const lh_buf *mn, *mx;
        bool has;
        size_t lo = from, hi = nrg;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            LH_TRY(entity_bounds(f, mid, &mn, &mx, &has, err));
            if (!has) return scan_candidates(f, ids, n, rgs, count, err);
            if (id_cmp(ids[i], mx) > 0) lo = mid + 1;
            else hi = mid;
        }
        from = lo;
        for (size_t rg = lo; rg < nrg; rg++) {
            LH_TRY(entity_bounds(f, rg, &mn, &mx, &has, err));
            if (!has) return scan_candidates(f, ids, n, rgs, count, err);
            if (id_cmp(ids[i], mn) < 0) break;
            if (!*count || rgs[*count - 1] < rg) rgs[(*count)++] = rg;
        }
    }
    return LH_OK;
}

/* Append the selected rows of row group rg (nrows rows) to out. decoded: a
 * column (LH_COL_*) the caller already decoded into f->col for this row
 * group from row decoded_first on, used as is; -1 for none. */
static lh_status read_rows(lh_stmt_file *f, size_t rg, size_t nrows, const row_sel *sel,
                           int decoded, uint64_t decoded_first, lh_stmt_batch *out,
                           lh_error *err)
{
    size_t take = sel->rows ? sel->n : nrows;
    if (!take) return LH_OK;
    const char *pshard = lh_arena_strdup(&out->arena, f->shard);
    const char *pbucket = lh_arena_strdup(&out->arena, f->bucket);
    const char *porigin = lh_arena_strdup(&out->arena, f->origin);
    size_t base = out->len;
    lh_statement blank = {0};
    blank.shard = pshard;
    blank.bucket = pbucket;
    blank.origin = porigin;
    blank.fragment = "";
    blank.first_seen = blank.last_seen = blank.deleted_at = LH_TS_NULL;
    if (out->len + take > out->cap) {
        /* the first read sized to its rows: a reader holding a row group
         * of each of thousands of small files (as many origins) would
         * otherwise hold room for 256 rows each */
        while (out->len + take > out->cap) out->cap = out->cap ? out->cap * 2 : take;
        out->rows = lh_realloc(out->rows, out->cap * sizeof *out->rows);
    }
    /* strings are filled column by column, straight into the arena */
    for (size_t i = 0; i < take; i++) out->rows[out->len++] = blank;
    lh_status rc = LH_OK;
    /* the column in hand first: the next read replaces it */
    int order[LH_STMT_NCOLS], k = 0;
    if (decoded >= 0) order[k++] = decoded;
    for (int c = 0; c < LH_STMT_NCOLS; c++)
        if (c != decoded) order[k++] = c;
    for (int i = 0; rc == LH_OK && i < LH_STMT_NCOLS; i++) {
        int c = order[i];
        if (f->leaf_of[c] < 0) continue;
        uint64_t first = c == decoded ? decoded_first : 0;
        size_t leaf = (size_t)f->leaf_of[c];
        /* selected rows (a lookup's entity, sorted files keep it together):
         * only the pages holding them are decoded */
        if (c != decoded && sel->rows)
            rc = lh_pq_reader_read_column_rows(f->r, rg, leaf, sel->rows[0],
                                               sel->rows[sel->n - 1] - sel->rows[0] + 1, &f->col,
                                               &first, err);
        else if (c != decoded)
            rc = lh_pq_reader_read_column(f->r, rg, leaf, &f->col, err);
        if (rc == LH_OK)
            rc = fill_column(out, base, nrows, sel, c, &f->col, (size_t)first,
                             lh_pq_reader_leaf(f->r, leaf), f->key, &f->interned, err);
    }
    for (size_t i = base; rc == LH_OK && i < out->len; i++) {
        lh_statement *s = &out->rows[i];
        if (!s->id || !s->entity_id || !s->prop || !s->value || !s->schema ||
            s->first_seen == LH_TS_NULL || s->last_seen == LH_TS_NULL)
            rc = lh_error_set(err, LH_ERR_CORRUPT,
                              "%s: row %zu of row group %zu lacks a required value", f->key,
                              sel->rows ? (size_t)sel->rows[i - base] : i - base, rg);
        if (!s->dataset) s->dataset = "";
    }
    if (rc != LH_OK) out->len = base;
    return rc;
}

lh_status lh_stmt_file_read(lh_stmt_file *f, size_t rg, lh_stmt_batch *out, lh_error *err)
{
    int64_t nrows = lh_pq_reader_row_group_rows(f->r, rg);
    if (nrows <= 0) return LH_OK;
    row_sel all = {NULL, 0};
    return read_rows(f, rg, (size_t)nrows, &all, -1, 0, out, err);
}

/* Decode rows [first, first + count) of row group rg's entity_id column
 * (of nrows) into f->col, which then holds whole pages from row *col_first
 * (0 and every row for a full read: count == nrows). Every value must be
 * a string: the column is optional in files other writers made (Spark's),
 * but never null. */
static lh_status read_entity_ids(lh_stmt_file *f, size_t rg, size_t nrows, uint64_t first,
                                 uint64_t count, uint64_t *col_first, lh_error *err)
{
    size_t leaf = (size_t)f->leaf_of[LH_COL_ENTITY_ID];
    *col_first = 0;
    if (first == 0 && count == nrows)
        LH_TRY(lh_pq_reader_read_column(f->r, rg, leaf, &f->col, err));
    else
        LH_TRY(lh_pq_reader_read_column_rows(f->r, rg, leaf, first, count, &f->col, col_first,
                                             err));
    const lh_pq_column *c = &f->col;
    if (c->type != LH_PQ_BYTE_ARRAY || c->num_values != c->num_levels ||
        *col_first > first || *col_first + c->num_levels < first + count ||
        *col_first + c->num_levels > nrows)
        return lh_error_set(err, LH_ERR_CORRUPT,
                            "%s: column entity_id of row group %zu is not %zu non-null strings",
                            f->key, rg, nrows);
    return LH_OK;
}

/* The rows of row group rg (of nrows) that can hold ids: from the first to
 * the last entity_id page whose bounds admit one, by the page index; all
 * rows when the chunk has none. *count 0: no page admits any. */
static lh_status id_rows(lh_stmt_file *f, size_t rg, const char *const *ids, size_t n,
                         size_t nrows, uint64_t *first, uint64_t *count, lh_error *err)
{
    *first = 0;
    *count = nrows;
    lh_pq_column_index ci;
    lh_pq_offset_index oi;
    bool has = false;
    LH_TRY(lh_pq_reader_page_index(f->r, rg, (size_t)f->leaf_of[LH_COL_ENTITY_ID], &ci, &oi,
                                   &has, err));
    if (!has) return LH_OK;
    size_t lo = SIZE_MAX, hi = 0;
    for (size_t p = 0; p < ci.num_pages; p++) {
        if (ci.null_pages[p] || !ids_within(ids, n, &ci.min_values[p], &ci.max_values[p]))
            continue;
        if (lo == SIZE_MAX) lo = p;
        hi = p;
    }
    if (lo == SIZE_MAX) {
        *count = 0;
    } else {
        *first = (uint64_t)oi.pages[lo].first_row_index;
        uint64_t end = hi + 1 < oi.num_pages ? (uint64_t)oi.pages[hi + 1].first_row_index : nrows;
        *count = end - *first;
    }
    lh_pq_column_index_free(&ci);
    lh_pq_offset_index_free(&oi);
    return LH_OK;
}

/* Whether byte-array value i (i > 0) equals value i - 1: rows of one
 * entity follow each other in a sorted file. */
static bool same_as_previous(const lh_pq_column *c, size_t i)
{
    size_t a, b;
    const char *v = lh_pq_column_bytes(c, i, &a), *p = lh_pq_column_bytes(c, i - 1, &b);
    return a == b && (v == p || memcmp(v, p, a) == 0);
}

static bool id_wanted(const char *const *ids, size_t n, const char *v, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = lh_bytes_cmp(ids[mid], strlen(ids[mid]), v, len);
        if (cmp == 0) return true;
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

lh_status lh_stmt_file_read_ids(lh_stmt_file *f, size_t rg, const char *const *ids, size_t n,
                                lh_stmt_batch *out, lh_error *err)
{
    int64_t nrows = lh_pq_reader_row_group_rows(f->r, rg);
    if (nrows <= 0 || !n) return LH_OK;
    if ((uint64_t)nrows > UINT32_MAX)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: row group %zu has %lld rows", f->key, rg,
                            (long long)nrows);
    /* the entity_id column alone picks the rows: a lookup decodes the other
     * columns only where a wanted entity lives, and copies only its rows;
     * the page index narrows even that to the pages that can hold them */
    uint64_t first, count, col_first;
    LH_TRY(id_rows(f, rg, ids, n, (size_t)nrows, &first, &count, err));
    if (!count) return LH_OK;
    LH_TRY(read_entity_ids(f, rg, (size_t)nrows, first, count, &col_first, err));
    const lh_pq_column *c = &f->col;
    uint32_t *rows = NULL;
    size_t len = 0, cap = 0;
    bool prev_wanted = false;
    for (size_t i = 0; i < c->num_values; i++) {
        size_t vlen;
        const char *v = lh_pq_column_bytes(c, i, &vlen);
        bool wanted = i && same_as_previous(c, i) ? prev_wanted : id_wanted(ids, n, v, vlen);
        prev_wanted = wanted;
        if (!wanted) continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 64;
            rows = lh_realloc(rows, cap * sizeof *rows);
        }
        rows[len++] = (uint32_t)(col_first + i);
    }
    row_sel sel = {rows, len};
    lh_status rc = LH_OK;
    if (len)
        rc = read_rows(f, rg, (size_t)nrows, &sel, LH_COL_ENTITY_ID, col_first, out, err);
    free(rows);
    return rc;
}

/* True when value i of a string column is one of set[0..n): decided once
 * per dictionary entry (memo: 0 unknown, 1 no, 2 yes). */
static bool value_in(const lh_pq_column *c, size_t i, const char *const *set, size_t n,
                     uint8_t *memo)
{
    uint32_t di = c->dict ? c->dict_idx[i] : LH_PQ_NO_DICT;
    if (di != LH_PQ_NO_DICT && memo[di]) return memo[di] == 2;
    size_t len;
    const char *v = lh_pq_column_bytes(c, i, &len);
    bool in = false;
    for (size_t k = 0; k < n && !in; k++) in = strlen(set[k]) == len && memcmp(set[k], v, len) == 0;
    if (di != LH_PQ_NO_DICT) memo[di] = in ? 2 : 1;
    return in;
}

/* ok[r] &= (row r's value of column c is in set): nulls never are. */
static lh_status match_column(lh_stmt_file *f, size_t rg, int c, size_t nrows,
                              const char *const *set, size_t n, bool *ok, lh_error *err)
{
    int leaf = f->leaf_of[c];
    if (leaf < 0) { /* a column the file predates: NULL everywhere */
        memset(ok, 0, nrows * sizeof *ok);
        return LH_OK;
    }
    LH_TRY(lh_pq_reader_read_column(f->r, rg, (size_t)leaf, &f->col, err));
    const lh_pq_column *col = &f->col;
    if (col->type != LH_PQ_BYTE_ARRAY || col->num_levels != nrows)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: column %s of row group %zu is not %zu strings",
                            f->key, lh_stmt_col_names[c], rg, nrows);
    size_t nd = col->dict ? col->dict->num_values : 0;
    uint8_t *memo = nd ? lh_calloc(nd, 1) : NULL;
    const lh_pq_leaf *lf = lh_pq_reader_leaf(f->r, (size_t)leaf);
    for (size_t r = 0, vi = 0; r < nrows; r++) {
        bool present = !col->def_levels || col->def_levels[r] == lf->max_def;
        if (!present) {
            ok[r] = false;
            continue;
        }
        if (ok[r]) ok[r] = value_in(col, vi, set, n, memo);
        vi++;
    }
    free(memo);
    return LH_OK;
}

lh_status lh_stmt_file_read_where(lh_stmt_file *f, size_t rg, const lh_stmt_pred *pred,
                                  lh_stmt_batch *out, lh_error *err)
{
    int64_t nrows = lh_pq_reader_row_group_rows(f->r, rg);
    if (nrows <= 0) return LH_OK;
    if ((uint64_t)nrows > UINT32_MAX)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: row group %zu has %lld rows", f->key, rg,
                            (long long)nrows);
    size_t n = (size_t)nrows;
    bool *ok = lh_malloc(n * sizeof *ok);
    for (size_t r = 0; r < n; r++) ok[r] = true;
    lh_status rc = LH_OK;
    if (pred->num_schemata)
        rc = match_column(f, rg, LH_COL_SCHEMA, n, pred->schemata, pred->num_schemata, ok, err);
    if (rc == LH_OK && pred->prop)
        rc = match_column(f, rg, LH_COL_PROP, n, &pred->prop, 1, ok, err);
    if (rc == LH_OK && pred->prop_type)
        rc = match_column(f, rg, LH_COL_PROP_TYPE, n, &pred->prop_type, 1, ok, err);
    if (rc == LH_OK && (pred->prop || pred->prop_type) && pred->value)
        rc = match_column(f, rg, LH_COL_VALUE, n, &pred->value, 1, ok, err);
    /* keep whole entities: runs of equal entity_id (the file is sorted) */
    uint64_t col_first = 0;
    if (rc == LH_OK) rc = read_entity_ids(f, rg, n, 0, n, &col_first, err);
    const lh_pq_column *c = &f->col;
    uint32_t *rows = NULL;
    size_t len = 0;
    if (rc == LH_OK) {
        rows = lh_malloc(n * sizeof *rows);
        size_t start = 0;
        bool keep = ok[0];
        for (size_t i = 1; i <= n; i++) {
            if (i < n && same_as_previous(c, i)) {
                keep = keep || ok[i];
                continue;
            }
            /* the run [start, i) ends */
            if (keep || start == 0 || i == n)
                for (size_t k = start; k < i; k++) rows[len++] = (uint32_t)k;
            start = i;
            keep = i < n && ok[i];
        }
    }
    free(ok);
    row_sel sel = {rows, len};
    if (rc == LH_OK && len) rc = read_rows(f, rg, n, &sel, LH_COL_ENTITY_ID, 0, out, err);
    free(rows);
    return rc;
}

/* Column c's string at each of rows[0..n) into out (NULL column: "") */
static lh_status strings_at(lh_stmt_file *f, size_t rg, int c, size_t nrows, const uint32_t *rows,
                            size_t n, lh_strlist *out, lh_error *err)
{
    int leaf = f->leaf_of[c];
    if (leaf < 0) {
        for (size_t i = 0; i < n; i++) lh_strlist_push(out, "");
        return LH_OK;
    }
    LH_TRY(lh_pq_reader_read_column(f->r, rg, (size_t)leaf, &f->col, err));
    const lh_pq_column *col = &f->col;
    const lh_pq_leaf *lf = lh_pq_reader_leaf(f->r, (size_t)leaf);
    if (col->type != LH_PQ_BYTE_ARRAY || col->num_levels != nrows)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: column %s of row group %zu is not %zu strings",
                            f->key, lh_stmt_col_names[c], rg, nrows);
    lh_buf v = LH_BUF_INIT;
    for (size_t r = 0, vi = 0, k = 0; r < nrows && k < n; r++) {
        bool present = !col->def_levels || col->def_levels[r] == lf->max_def;
        if (r == rows[k]) {
            size_t len = 0;
            const char *p = present ? lh_pq_column_bytes(col, vi, &len) : "";
            lh_buf_reset(&v);
            lh_buf_append(&v, p, len);
            lh_strlist_push(out, v.data ? v.data : "");
            k++;
        }
        if (present) vi++;
    }
    lh_buf_free(&v);
    return LH_OK;
}

lh_status lh_stmt_file_tombstones(lh_stmt_file *f, size_t rg, lh_stmt_tombstone_fn fn, void *ctx,
                                  lh_error *err)
{
    int leaf = f->leaf_of[LH_COL_DELETED_AT];
    if (leaf < 0) return LH_OK; /* a file that predates tombstones */
    const lh_pq_row_group *g;
    LH_TRY(lh_pq_reader_row_group(f->r, rg, &g, err));
    const lh_pq_statistics *st;
    LH_TRY(lh_pq_reader_stats(f->r, rg, (size_t)leaf, &st, err));
    if (st && st->has_null_count && st->null_count >= g->num_rows) return LH_OK; /* none here */
    size_t nrows = (size_t)g->num_rows;
    LH_TRY(lh_pq_reader_read_column(f->r, rg, (size_t)leaf, &f->col, err));
    const lh_pq_column *c = &f->col;
    const lh_pq_leaf *lf = lh_pq_reader_leaf(f->r, (size_t)leaf);
    if (c->type != LH_PQ_INT64 || c->num_levels != nrows)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: column deleted_at of row group %zu is not %zu "
                            "timestamps", f->key, rg, nrows);
    uint32_t *rows = lh_malloc((nrows ? nrows : 1) * sizeof *rows);
    int64_t *when = lh_malloc((nrows ? nrows : 1) * sizeof *when);
    size_t n = 0;
    const int64_t *v = c->values;
    for (size_t r = 0, vi = 0; r < nrows; r++) {
        if (c->def_levels && c->def_levels[r] != lf->max_def) continue;
        when[n] = v[vi++];
        rows[n++] = (uint32_t)r;
    }
    lh_strlist ids, schemata, props;
    lh_strlist_init(&ids);
    lh_strlist_init(&schemata);
    lh_strlist_init(&props);
    lh_status rc = n ? strings_at(f, rg, LH_COL_ENTITY_ID, nrows, rows, n, &ids, err) : LH_OK;
    if (rc == LH_OK && n) rc = strings_at(f, rg, LH_COL_SCHEMA, nrows, rows, n, &schemata, err);
    if (rc == LH_OK && n) rc = strings_at(f, rg, LH_COL_PROP, nrows, rows, n, &props, err);
    for (size_t i = 0; rc == LH_OK && i < n; i++)
        rc = fn(ctx, ids.items[i], when[i], schemata.items[i], props.items[i], err);
    lh_strlist_free(&ids);
    lh_strlist_free(&schemata);
    lh_strlist_free(&props);
    free(rows);
    free(when);
    return rc;
}

lh_status lh_stmt_read_file(lh_storage *st, const char *key, const char *shard,
                            const char *bucket, const char *origin, lh_stmt_batch *out,
                            lh_error *err)
{
    lh_stmt_file *f = NULL;
    LH_TRY(lh_stmt_file_open(st, key, shard, bucket, origin, &f, err));
    lh_status rc = LH_OK;
    for (size_t rg = 0; rc == LH_OK && rg < lh_stmt_file_row_groups(f); rg++)
        rc = lh_stmt_file_read(f, rg, out, err);
    lh_stmt_file_free(f);
    return rc;
}
