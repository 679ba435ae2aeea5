/* Parquet reader: footer parsing, column projection, row-group-at-a-time
 * decoding into columnar buffers, row-group pruning by statistics and bloom
 * filters. Never reads outside the file; corrupt input is LH_ERR_CORRUPT
 * naming the file, row group, column and page.
 *
 * Leaf columns are addressed by their index in depth-first schema order
 * (0 = first leaf). Nested columns come with definition/repetition levels
 * so callers (the Delta checkpoint reader) can assemble records.
 *
 * A reader keeps scratch buffers: use one reader per thread. */
#ifndef LH_FORMAT_PQ_READER_H
#define LH_FORMAT_PQ_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/format/pq_meta.h"

typedef struct lh_pq_reader lh_pq_reader;

typedef struct lh_pq_leaf {
    const char *name;            /* leaf name */
    const char *path;            /* dotted path from the root ("add.partitionValues.key_value.key") */
    lh_pq_type type;
    const lh_pq_schema_element *element;
    int16_t max_def, max_rep;
} lh_pq_leaf;

/* Decoded values of one column chunk (one row group). Values are dense: only
 * non-null values are stored; def_levels/rep_levels (NULL when the maximum
 * level is 0) tell where they go. Timestamps of any unit and INT96 are
 * converted to INT64 microseconds since the epoch (UTC). */
typedef struct lh_pq_column {
    lh_pq_type type;     /* physical type after conversion (INT96 -> INT64) */
    size_t num_levels;   /* slots including nulls (= rows for flat columns) */
    size_t num_values;   /* non-null values */
    int16_t *def_levels; /* num_levels entries; NULL iff the leaf's max_def is 0 */
    int16_t *rep_levels; /* num_levels entries; NULL iff the leaf's max_rep is 0 */
    /* fixed-width values: num_values entries of type int32_t/int64_t/float/double/uint8_t(bool) */
    void *values;
    /* BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY: value i is bytes[offsets[i]..offsets[i+1]) */
    uint64_t *offsets; /* num_values + 1 entries */
    lh_buf bytes;
    size_t values_cap, levels_cap;
    /* Set by the caller: BYTE_ARRAY values of dictionary pages are not
     * copied; dict_idx[i] is value i's entry in dict (value i is then empty
     * in bytes), LH_PQ_NO_DICT for a value stored in bytes. dict is the
     * reader's, valid until the reader decodes its next chunk; NULL when
     * the chunk has no dictionary. A consumer that maps each entry once
     * (not each value) saves a copy per value. */
    bool keep_dict;
    uint32_t *dict_idx; /* num_values entries, with keep_dict */
    size_t dict_idx_cap;
    const struct lh_pq_column *dict;
} lh_pq_column;

#define LH_PQ_NO_DICT UINT32_MAX

/* Bytes of byte-array value i (dense index), wherever they are. */
static inline const char *lh_pq_column_bytes(const lh_pq_column *c, size_t i, size_t *len)
{
    const lh_pq_column *src = c;
    uint64_t at = i;
    if (c->dict && c->dict_idx[i] != LH_PQ_NO_DICT) {
        src = c->dict;
        at = c->dict_idx[i];
    }
    *len = (size_t)(src->offsets[at + 1] - src->offsets[at]);
    return src->bytes.data + src->offsets[at];
}

void lh_pq_column_init(lh_pq_column *c);
void lh_pq_column_free(lh_pq_column *c);

/* Open key in st (the storage must outlive the reader). Reads and checks the footer. */
lh_status lh_pq_reader_open(lh_storage *st, const char *key, lh_pq_reader **out, lh_error *err);
/* Open an in-memory file (data must outlive the reader). */
lh_status lh_pq_reader_open_mem(const void *data, size_t len, const char *name,
                                lh_pq_reader **out, lh_error *err);
void lh_pq_reader_free(lh_pq_reader *r);
/* Close the file (its descriptor, on local storage) while the footer and
 * what was decoded stay: for a caller done with the file's bytes that keeps
 * the reader, so holding many readers does not hold as many descriptors.
 * A read after it is an error. */
void lh_pq_reader_release(lh_pq_reader *r);

/* The footer's file-level fields (schema, num_rows, key-value metadata,
 * created_by) as lh_pq_file_meta_read_deferred decodes them: no row groups
 * (row_groups NULL, num_row_groups 0). Row groups are decoded when first
 * used, so opening a file of hundreds costs a walk over the footer only:
 * see lh_pq_reader_num_row_groups and lh_pq_reader_row_group. */
const lh_pq_file_meta *lh_pq_reader_meta(const lh_pq_reader *r);
size_t lh_pq_reader_num_leaves(const lh_pq_reader *r);
const lh_pq_leaf *lh_pq_reader_leaf(const lh_pq_reader *r, size_t i);
/* Leaf index by dotted path or, for flat files, by name; -1 if absent. */
int lh_pq_reader_find(const lh_pq_reader *r, const char *path);
size_t lh_pq_reader_num_row_groups(const lh_pq_reader *r);
int64_t lh_pq_reader_row_group_rows(const lh_pq_reader *r, size_t rg);
/* Row group rg, decoded (once) as lh_pq_file_meta_read_lean decodes it:
 * column chunks carry no encodings, path_in_schema, key-value metadata or
 * encoding stats. Valid until the reader is freed. */
lh_status lh_pq_reader_row_group(lh_pq_reader *r, size_t rg, const lh_pq_row_group **out,
                                 lh_error *err);

/* Decode one column chunk of row group rg into col (reset first, buffers reused). */
lh_status lh_pq_reader_read_column(lh_pq_reader *r, size_t rg, size_t leaf, lh_pq_column *col,
                                   lh_error *err);

/* Rows [first, first + count) of row group rg: decodes only the data pages
 * holding them (and the dictionary if one of those needs it); pages
 * before are skipped undecoded, reading stops after the last. col then
 * holds every row of the decoded pages: *col_first is the row number of
 * its first level. Nested leaves decode the whole chunk (*col_first 0). */
lh_status lh_pq_reader_read_column_rows(lh_pq_reader *r, size_t rg, size_t leaf, uint64_t first,
                                        uint64_t count, lh_pq_column *col, uint64_t *col_first,
                                        lh_error *err);

/* Pruning for an equality predicate leaf == value (bytes of the plain value:
 * for strings the UTF-8 bytes, for INT64 8 little-endian bytes; timestamps
 * as INT64 microseconds, like lh_pq_column). Sets
 * *may_contain=false only when statistics or the bloom filter prove the row
 * group holds no such value. */
lh_status lh_pq_reader_may_contain(lh_pq_reader *r, size_t rg, size_t leaf, const void *value,
                                   size_t len, bool *may_contain, lh_error *err);

/* The page index of row group rg's chunk of leaf (PageIndex.md): *has
 * false when the file has none for it. Checked: as many pages in both
 * parts, first rows ascending from 0 within the row group. On success with
 * *has, free ci and oi with lh_pq_column_index_free and
 * lh_pq_offset_index_free. */
lh_status lh_pq_reader_page_index(lh_pq_reader *r, size_t rg, size_t leaf,
                                  lh_pq_column_index *ci, lh_pq_offset_index *oi, bool *has,
                                  lh_error *err);

/* Lower the decoding guards (level entries and byte-array bytes per chunk;
 * 0 keeps the default). Chunks needing more fail with LH_ERR_CORRUPT. Used
 * by the fuzzer to keep memory small. */
void lh_pq_reader_set_limits(lh_pq_reader *r, size_t max_levels, size_t max_bytes);

/* Chunk statistics of row group rg, leaf (*out NULL when absent), as
 * stored: timestamps in the file's unit, INT96 bounds meaningless. */
lh_status lh_pq_reader_stats(lh_pq_reader *r, size_t rg, size_t leaf,
                             const lh_pq_statistics **out, lh_error *err);

#endif
