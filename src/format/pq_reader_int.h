/* Private state of the parquet reader, shared by pq_reader.c (footer,
 * schema, pruning) and pq_read_chunk.c (pages, values). */
#ifndef LH_FORMAT_PQ_READER_INT_H
#define LH_FORMAT_PQ_READER_INT_H

#include "lh/format/pq_reader.h"

/* Decoded-size guards: hostile footers can claim huge counts in tiny files,
 * so output grows only as decoded data demands and stays under these caps. */
#define LH_PQ_DEFAULT_MAX_LEVELS ((size_t)1 << 27)
#define LH_PQ_DEFAULT_MAX_BYTES ((size_t)1 << 31)
#define LH_PQ_MAX_PAGE_SIZE ((size_t)1 << 30)

typedef struct lh_pq_leaf_int {
    lh_pq_leaf pub;
    size_t schema_index;
    int ts_unit; /* 0: not a timestamp needing conversion; else LH_PQ_MILLIS/NANOS */
    bool is_string;
} lh_pq_leaf_int;

struct lh_pq_reader {
    char *name;
    const uint8_t *mem;     /* in-memory file, or NULL */
    lh_storage_reader *sr;  /* storage-backed file, or NULL */
    uint64_t size;          /* file size */
    uint64_t data_end;      /* offset of the footer (end of page data) */
    lh_pq_file_meta meta;   /* without row groups: those are decoded on first use */
    const uint8_t *footer;  /* the footer's bytes (into mem or footer_buf) */
    lh_buf footer_buf;
    lh_pq_row_group_span *spans;
    size_t num_rgs;
    lh_pq_row_group *rgs;   /* rgs[i] valid once rg_ready[i] */
    bool *rg_ready;
    lh_pq_leaf_int *leaves;
    size_t num_leaves;
    size_t max_levels, max_bytes;
    /* scratch reused across chunks */
    lh_buf chunk;       /* chunk bytes (storage mode) */
    lh_buf page;        /* decompressed page */
    lh_pq_column dict;  /* decoded dictionary */
    uint32_t *u32;      /* levels / indices */
    size_t u32_cap;
    uint64_t *u64;      /* delta-decoded values / lengths */
    size_t u64_cap;
    uint64_t *u64b;
    size_t u64b_cap;
};

/* Read bytes [off, off + n) of the file: *out points into the mapping (memory)
 * or into buf (storage). */
lh_status lh_pq_reader_bytes(lh_pq_reader *r, uint64_t off, size_t n, lh_buf *buf,
                             const uint8_t **out, lh_error *err);

/* Row group rg, decoded, after checking that leaf is one of the file's:
 * (*g)->columns[leaf] is then the chunk to read. */
lh_status lh_pq_reader_chunk(lh_pq_reader *r, size_t rg, size_t leaf,
                             const lh_pq_row_group **g, lh_error *err);

#endif
