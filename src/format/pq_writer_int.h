/* Internal: the parquet writer object shared by pq_writer.c (pages, chunks,
 * row groups, footer) and pq_writer_schema.c (construction, schemas). */
#ifndef LH_FORMAT_PQ_WRITER_INT_H
#define LH_FORMAT_PQ_WRITER_INT_H

#include "lh/core/buf.h"
#include "lh/format/pq_bloom.h"
#include "lh/format/pq_writer.h"
#include "pq_writer_col.h"

/* Longest single value accepted: a page must fit an i32 size. */
#define LH_PQ_MAX_VALUE_LEN ((size_t)1 << 30)

typedef struct lh_pq_pending_bloom {
    size_t rg, col;
    lh_pq_bloom bloom;
} lh_pq_pending_bloom;

/* Page index of one chunk, written at finish. */
typedef struct lh_pq_pending_index {
    size_t rg, col;
    bool has_column_index;
    lh_pq_column_index cidx;
    lh_pq_offset_index oidx;
} lh_pq_pending_index;

struct lh_pq_writer {
    lh_storage_writer *sink;
    lh_pq_writer_opts o;
    lh_pq_wcol *cols;
    size_t ncols;
    lh_pq_file_meta meta;
    size_t rg_cap;
    size_t rg_rows;
    lh_pq_pending_bloom *blooms;
    size_t nblooms, blooms_cap;
    lh_pq_pending_index *indexes;
    size_t nindexes, indexes_cap;
    lh_buf body, comp, hdr;
    bool started, finished, failed;
    bool nested;
};

/* A writer with nleaves columns and nelems schema elements after the root,
 * both left for the caller to initialise. */
lh_pq_writer *lh_pq_writer_alloc(lh_storage_writer *sink, const lh_pq_writer_opts *o,
                                 size_t nleaves, size_t nelems, int32_t root_children);

#endif
