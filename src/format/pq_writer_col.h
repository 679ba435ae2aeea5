/* Internal: per-column state of the parquet writer (pq_writer.c) and the
 * column-level encoders in pq_writer_col.c. */
#ifndef LH_FORMAT_PQ_WRITER_COL_H
#define LH_FORMAT_PQ_WRITER_COL_H

#include "pq_enc.h"
#include "lh/format/pq_writer.h"

#define LH_PQ_PAGE_MAX_VALUES 20000 /* default rows per data page */
/* Values of a chunk after which its dictionary must have paid off. */
#define LH_PQ_DICT_PROBE_VALUES 1024

typedef struct lh_pq_wcol {
    lh_pq_col_spec spec; /* name owned */
    lh_pq_type type;
    int max_def, max_rep;
    char **path; /* names from the root's child to the leaf */
    size_t path_len;
    size_t row_entries; /* level entries received for the current row */

    /* dictionary of the current chunk: PLAIN-encoded entries + hash table */
    bool dict_mode;      /* values of the current page go to the dictionary */
    bool fallback_pending; /* dictionary full inside a row: switch at the row end */
    /* The probe of a chunk's first values found the column (nearly) unique:
     * its dictionary costs hashing and bytes and saves none, so this chunk
     * goes on PLAIN and the file's later chunks start PLAIN. */
    bool dict_unprofitable;
    uint32_t probe_values; /* non-null values of the chunk probed so far */
    uint64_t probe_plain;  /* their PLAIN size */
    lh_buf dict_plain;
    uint32_t dict_n;
    uint64_t *dict_off;  /* offset of the value bytes (after a length prefix) */
    uint32_t *dict_len;
    uint64_t *dict_hash;
    /* page_epoch of the page that last bounded each entry: a repeat of an
     * entry within a page changes neither bounds nor the bloom hashes */
    uint32_t *dict_stamp;
    uint32_t page_epoch; /* the current page's number within the chunk, from 1 */
    size_t dict_cap;
    uint32_t *table;     /* index+1, 0 = empty; table_cap a power of two */
    size_t table_cap;
    /* dictionary index of the last value added to the current page, -1 = none:
     * sorted data repeats values in runs, and a repeat needs no hash, lookup,
     * bounds or bloom update */
    int64_t last_idx;

    /* current page */
    uint32_t *defs, *reps, *idx;
    size_t defs_cap, reps_cap, idx_cap;
    size_t page_levels, page_values;
    lh_buf page_plain;
    int bool_bits;

    /* current chunk: data pages (headers + compressed bodies) */
    lh_buf chunk;
    int64_t chunk_uncomp;
    int64_t num_values;
    int32_t pages_dict, pages_plain;

    /* chunk statistics */
    int64_t nulls;
    bool has_minmax;
    lh_buf smin, smax; /* plain bytes of min/max (strings: raw bytes) */

    /* page index of the current chunk (offsets relative to the chunk buffer) */
    bool page_index;
    bool p_has;         /* current page has a non-NaN value bound */
    lh_buf pmin, pmax;  /* current page bounds */
    int64_t p_nulls;    /* current page null count */
    int64_t chunk_rows, page_first_row;
    lh_pq_column_index cidx;
    lh_pq_offset_index oidx;
    size_t pidx_cap;

    /* distinct value hashes for the bloom filter (0 tracked apart) */
    uint64_t *hset;
    size_t hset_cap, hset_n;
    bool hset_zero;
} lh_pq_wcol;

/* path: leaf path (copied; NULL = just spec->name). */
void lh_pq_wcol_init(lh_pq_wcol *c, const lh_pq_col_spec *spec, int max_def, int max_rep,
                     const char *const *path, size_t path_len);
void lh_pq_wcol_free(lh_pq_wcol *c);
/* Reset the chunk state after a row group was written. */
void lh_pq_wcol_reset_chunk(lh_pq_wcol *c);

/* Record one level entry (levels already validated); v is used only when
 * def == max_def. dict_limit: dictionary bytes limit; *fell_back is set
 * (and nothing recorded) when the value did not fit the dictionary: the
 * caller flushes the page, clears dict_mode and calls again. */
void lh_pq_wcol_add(lh_pq_wcol *c, int def, int rep, const lh_pq_value *v, size_t dict_limit,
                    bool *fell_back);

/* Encode the current page (levels + values) into body; *encoding gets the
 * values encoding. Resets the page. */
void lh_pq_wcol_page_body(lh_pq_wcol *c, lh_buf *body, lh_pq_encoding *encoding,
                          size_t *num_levels);

/* Approximate bytes buffered for this column (row-group accounting). */
size_t lh_pq_wcol_buffered(const lh_pq_wcol *c);
/* Bit width of the current dictionary's indices. */
static inline int lh_pq_wcol_dict_width(const lh_pq_wcol *c)
{
    int w = lh_pq_bit_width(c->dict_n ? c->dict_n - 1 : 0);
    return w ? w : 1;
}

/* Approximate size of the current page once encoded (checked after every
 * row, so inline). */
static inline size_t lh_pq_wcol_page_estimate(const lh_pq_wcol *c)
{
    size_t levels = (c->max_def ? c->page_levels / 8 + 8 : 0) +
                    (c->max_rep ? c->page_levels / 8 + 8 : 0);
    if (c->dict_mode)
        return levels + 1 + (c->page_values * (size_t)lh_pq_wcol_dict_width(c) + 7) / 8;
    return levels + c->page_plain.len;
}

/* Record the page just appended to the chunk in the page index: header at
 * chunk offset rel, size bytes with its header, values = its non-null count;
 * resets the page bounds. */
void lh_pq_wcol_index_page(lh_pq_wcol *c, int64_t rel, int32_t size, size_t values, size_t trunc);

/* Compute the boundary order of the chunk's column index. */
void lh_pq_wcol_index_finish(lh_pq_wcol *c);

/* Fill chunk statistics; trunc = maximum string bound length. */
void lh_pq_wcol_stats(const lh_pq_wcol *c, size_t trunc, lh_pq_statistics *st);

/* Mark the writer unusable (a row was left half-written). pq_writer.c. */
void lh_pq_writer_poison(lh_pq_writer *w);

#endif
