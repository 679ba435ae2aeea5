/* Streaming parquet writer. Flat schemas (every column a top-level leaf)
 * take one row at a time (lh_pq_writer_append); nested schemas (Delta
 * checkpoints) take level entries per leaf or JSON records. Values are
 * encoded into per-column page buffers as they arrive, and a row group is
 * flushed to the sink when it reaches its row or byte limit, so memory is
 * bounded by one row group (plus the bloom filters and page indexes of the
 * row groups written so far, which go at the end of the file).
 *
 * Files are read by pyarrow, parquet-rs (delta-rs) and DuckDB. */
#ifndef LH_FORMAT_PQ_WRITER_H
#define LH_FORMAT_PQ_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/format/pq_meta.h"

typedef enum lh_pq_kind {
    LH_PQK_STRING,       /* BYTE_ARRAY, LogicalType STRING (UTF8) */
    LH_PQK_TIMESTAMP_US, /* INT64, TIMESTAMP(MICROS, isAdjustedToUTC=true) */
    LH_PQK_BOOL,         /* BOOLEAN */
    LH_PQK_INT64,        /* INT64 */
    LH_PQK_INT32,        /* INT32 */
    LH_PQK_DOUBLE,       /* DOUBLE */
} lh_pq_kind;

typedef struct lh_pq_col_spec {
    const char *name;
    lh_pq_kind kind;
    bool required;     /* REQUIRED repetition (no definition levels) */
    bool dictionary;   /* dictionary-encode (falls back to PLAIN past the limit) */
    bool statistics;   /* write min/max/null_count in the chunk metadata */
    bool bloom_filter; /* split-block bloom filter (xxh64) */
    double bloom_fpp;  /* false-positive rate; 0 = 0.01 */
} lh_pq_col_spec;

typedef struct lh_pq_writer_opts {
    lh_pq_codec codec;       /* SNAPPY, ZSTD, GZIP, LZ4_RAW, UNCOMPRESSED */
    int level;               /* codec level, 0 = default */
    size_t data_page_size;   /* bytes, 0 = 1 MiB (at most 1 GiB) */
    size_t data_page_rows;   /* rows (level entries) per data page, 0 = 20,000 */
    size_t dict_page_size;   /* bytes, 0 = 1 MiB (at most 1 GiB) */
    size_t row_group_rows;   /* 0 = 1,000,000 */
    size_t row_group_bytes;  /* flush a row group past this many buffered bytes, 0 = 128 MiB */
    const char *created_by;  /* NULL = "ftm-lakehouse-c version ..." */
    /* String min/max longer than this are truncated (min: UTF-8 prefix; max:
     * prefix with the last code point incremented; is_*_exact = false).
     * 0 = 64 (as parquet-rs); SIZE_MAX = never. */
    size_t stats_truncate_len;
    /* Write the page index (ColumnIndex for statistics columns, OffsetIndex
     * for all) after the bloom filters, as parquet-rs does by default. */
    bool page_index;
} lh_pq_writer_opts;

void lh_pq_writer_opts_init(lh_pq_writer_opts *o);

/* One cell. For strings p/len (len may be 0); is_null for NULL. */
typedef struct lh_pq_value {
    bool is_null;
    union {
        struct {
            const char *p;
            size_t len;
        } s;
        int64_t i64;
        int32_t i32;
        double f64;
        bool b;
    } v;
} lh_pq_value;

typedef struct lh_pq_writer lh_pq_writer;

/* The writer writes into sink (not owned; the caller commits or aborts it
 * after lh_pq_writer_finish). cols is copied. */
lh_status lh_pq_writer_new(lh_storage_writer *sink, const lh_pq_col_spec *cols, size_t ncols,
                           const lh_pq_writer_opts *opts, lh_pq_writer **out, lh_error *err);
/* Append one row: vals[ncols]. A NULL in a required column is LH_ERR_INVALID. */
lh_status lh_pq_writer_append(lh_pq_writer *w, const lh_pq_value *vals, lh_error *err);
/* Append n rows, row-major: vals[n * ncols]. The same file as n appends,
 * written column by column between the row-group checks (each column's
 * buffers stay in cache). On an invalid row the rows before it are
 * written and the error names it. *done (may be NULL): rows written. */
lh_status lh_pq_writer_append_rows(lh_pq_writer *w, const lh_pq_value *vals, size_t n,
                                   size_t *done, lh_error *err);
/* Add a key/value pair to the file footer (copied). */
void lh_pq_writer_add_kv(lh_pq_writer *w, const char *key, const char *value);
/* Flush the last row group and write the footer. */
lh_status lh_pq_writer_finish(lh_pq_writer *w, lh_error *err);
/* ---- nested schemas (Delta checkpoints) ----
 * The schema is a tree given depth-first (root excluded): a group node has
 * num_children > 0 and its children follow it; a leaf has num_children 0.
 * Values are written per leaf with explicit definition/repetition levels
 * (parquet Dremel encoding, see the spec B13), then the row is closed with
 * lh_pq_writer_end_row. Pages and row groups end only at row boundaries.
 * Flat writers may use this API too (max_def 0 or 1, max_rep 0). */
typedef struct lh_pq_node {
    const char *name;
    int num_children;          /* > 0 group, 0 leaf */
    lh_pq_repetition repetition;
    int converted_type;        /* groups: LH_PQ_CT_MAP, LH_PQ_CT_LIST, LH_PQ_CT_MAP_KEY_VALUE
                                * or LH_PQ_CT_NONE (-1); leaves: ignored (derived from kind) */
    lh_pq_logical logical;     /* groups: LH_PQ_LT_MAP, LH_PQ_LT_LIST or LH_PQ_LT_NONE */
    /* leaves only: */
    lh_pq_kind kind;
    bool dictionary, statistics;
} lh_pq_node;

lh_status lh_pq_writer_new_nested(lh_storage_writer *sink, const lh_pq_node *nodes,
                                  size_t nnodes, const lh_pq_writer_opts *opts,
                                  lh_pq_writer **out, lh_error *err);
size_t lh_pq_writer_num_leaves(const lh_pq_writer *w);
void lh_pq_writer_leaf_levels(const lh_pq_writer *w, size_t leaf, int *max_def, int *max_rep);
/* One level entry of leaf: v is read only when def == max_def (a value);
 * def < max_def marks a null/empty at that depth. rep 0 starts the row's
 * first entry of this leaf; later entries of the same row need rep > 0. */
lh_status lh_pq_writer_put(lh_pq_writer *w, size_t leaf, int def, int rep,
                           const lh_pq_value *v, lh_error *err);
/* Close the row: every leaf must have received at least one entry.
 * Any error from put, end_row or append_json leaves a row half-written and
 * makes the writer unusable (later calls fail; discard the file). */
lh_status lh_pq_writer_end_row(lh_pq_writer *w, lh_error *err);

/* Append one record given as a JSON object (jansson json_t), shredded into
 * levels against the schema: a group takes an object (missing key or null =
 * null), a MAP-annotated group an object {key: value}, a LIST-annotated
 * group an array, any other repeated field an array; leaves take strings,
 * integers (also timestamps, microseconds), numbers or booleans per kind.
 * Unknown keys are ignored. Works for flat and nested writers. */
struct json_t;
lh_status lh_pq_writer_append_json(lh_pq_writer *w, const struct json_t *record, lh_error *err);

/* After finish: the footer metadata (for Delta stats: row count, min/max, nulls). */
const lh_pq_file_meta *lh_pq_writer_meta(const lh_pq_writer *w);
uint64_t lh_pq_writer_rows(const lh_pq_writer *w);
void lh_pq_writer_free(lh_pq_writer *w);

#endif
