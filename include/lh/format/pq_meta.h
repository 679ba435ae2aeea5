/* Parquet file metadata (the Thrift structs of parquet.thrift that this
 * project reads and writes), decoupled from the wire format: the writer fills
 * these and serializes them with the Thrift compact protocol; the reader
 * parses footers and page headers into them. Unknown Thrift fields are
 * skipped on read. All strings and byte arrays are owned by the enclosing
 * object and released by its *_free function. */
#ifndef LH_FORMAT_PQ_META_H
#define LH_FORMAT_PQ_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"

typedef enum lh_pq_type {
    LH_PQ_BOOLEAN = 0,
    LH_PQ_INT32 = 1,
    LH_PQ_INT64 = 2,
    LH_PQ_INT96 = 3,
    LH_PQ_FLOAT = 4,
    LH_PQ_DOUBLE = 5,
    LH_PQ_BYTE_ARRAY = 6,
    LH_PQ_FIXED_LEN_BYTE_ARRAY = 7,
} lh_pq_type;

typedef enum lh_pq_repetition {
    LH_PQ_REQUIRED = 0,
    LH_PQ_OPTIONAL = 1,
    LH_PQ_REPEATED = 2,
} lh_pq_repetition;

/* ConvertedType (legacy annotation); -1 = absent. */
enum {
    LH_PQ_CT_NONE = -1,
    LH_PQ_CT_UTF8 = 0,
    LH_PQ_CT_MAP = 1,
    LH_PQ_CT_MAP_KEY_VALUE = 2,
    LH_PQ_CT_LIST = 3,
    LH_PQ_CT_TIMESTAMP_MILLIS = 9,
    LH_PQ_CT_TIMESTAMP_MICROS = 10,
    LH_PQ_CT_INT_32 = 17, /* signed ints */
    LH_PQ_CT_INT_64 = 18,
};

/* LogicalType union member id (parquet.thrift field id); 0 = absent. */
typedef enum lh_pq_logical {
    LH_PQ_LT_NONE = 0,
    LH_PQ_LT_STRING = 1,
    LH_PQ_LT_MAP = 2,
    LH_PQ_LT_LIST = 3,
    LH_PQ_LT_ENUM = 4,
    LH_PQ_LT_DECIMAL = 5,
    LH_PQ_LT_DATE = 6,
    LH_PQ_LT_TIME = 7,
    LH_PQ_LT_TIMESTAMP = 8,
    LH_PQ_LT_INTEGER = 10,
    LH_PQ_LT_UNKNOWN = 11,
    LH_PQ_LT_JSON = 12,
    LH_PQ_LT_BSON = 13,
    LH_PQ_LT_UUID = 14,
} lh_pq_logical;

typedef enum lh_pq_time_unit {
    LH_PQ_MILLIS = 1,
    LH_PQ_MICROS = 2,
    LH_PQ_NANOS = 3,
} lh_pq_time_unit;

typedef struct lh_pq_logical_type {
    lh_pq_logical kind;
    bool is_adjusted_to_utc;   /* TIMESTAMP / TIME */
    lh_pq_time_unit unit;      /* TIMESTAMP / TIME */
    int8_t bit_width;          /* INTEGER */
    bool is_signed;            /* INTEGER */
    int32_t scale, precision;  /* DECIMAL */
} lh_pq_logical_type;

typedef struct lh_pq_schema_element {
    char *name;
    bool has_type;             /* leaves only */
    lh_pq_type type;
    int32_t type_length;       /* FIXED_LEN_BYTE_ARRAY */
    bool has_repetition;       /* absent on the root */
    lh_pq_repetition repetition;
    int32_t num_children;      /* groups: > 0; leaves: 0 */
    int32_t converted_type;    /* LH_PQ_CT_* or LH_PQ_CT_NONE */
    lh_pq_logical_type logical;
    int32_t field_id;          /* -1 = absent */
} lh_pq_schema_element;

typedef enum lh_pq_encoding {
    LH_PQ_ENC_PLAIN = 0,
    LH_PQ_ENC_PLAIN_DICTIONARY = 2,
    LH_PQ_ENC_RLE = 3,
    LH_PQ_ENC_BIT_PACKED = 4,
    LH_PQ_ENC_DELTA_BINARY_PACKED = 5,
    LH_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    LH_PQ_ENC_DELTA_BYTE_ARRAY = 7,
    LH_PQ_ENC_RLE_DICTIONARY = 8,
    LH_PQ_ENC_BYTE_STREAM_SPLIT = 9,
} lh_pq_encoding;

typedef enum lh_pq_codec {
    LH_PQ_UNCOMPRESSED = 0,
    LH_PQ_SNAPPY = 1,
    LH_PQ_GZIP = 2,
    LH_PQ_LZO = 3,
    LH_PQ_BROTLI = 4,
    LH_PQ_LZ4 = 5,      /* deprecated Hadoop framing */
    LH_PQ_ZSTD = 6,
    LH_PQ_LZ4_RAW = 7,
} lh_pq_codec;

typedef enum lh_pq_page_type {
    LH_PQ_DATA_PAGE = 0,
    LH_PQ_INDEX_PAGE = 1,
    LH_PQ_DICTIONARY_PAGE = 2,
    LH_PQ_DATA_PAGE_V2 = 3,
} lh_pq_page_type;

/* Statistics: min/max as the plain-encoded bytes of the physical type (for
 * BYTE_ARRAY the raw bytes without length prefix). */
typedef struct lh_pq_statistics {
    bool has_null_count;
    int64_t null_count;
    bool has_distinct_count;
    int64_t distinct_count;
    bool has_min_value, has_max_value; /* min_value/max_value (fields 6, 5) */
    lh_buf min_value, max_value;
    bool has_min, has_max;             /* deprecated min/max (fields 2, 1) */
    lh_buf min, max;
    bool is_max_value_exact, has_is_max_value_exact;
    bool is_min_value_exact, has_is_min_value_exact;
} lh_pq_statistics;

typedef struct lh_pq_page_encoding_stats {
    lh_pq_page_type page_type;
    lh_pq_encoding encoding;
    int32_t count;
} lh_pq_page_encoding_stats;

typedef struct lh_pq_kv {
    char *key;
    char *value; /* may be NULL */
} lh_pq_kv;

typedef struct lh_pq_column_meta {
    lh_pq_type type;
    lh_pq_encoding *encodings;
    size_t num_encodings;
    char **path_in_schema;
    size_t path_len;
    lh_pq_codec codec;
    int64_t num_values;
    int64_t total_uncompressed_size;
    int64_t total_compressed_size;
    int64_t data_page_offset;
    bool has_dictionary_page_offset;
    int64_t dictionary_page_offset;
    bool has_index_page_offset;
    int64_t index_page_offset;
    bool has_statistics;
    lh_pq_statistics statistics;
    lh_pq_page_encoding_stats *encoding_stats;
    size_t num_encoding_stats;
    bool has_bloom_filter;
    int64_t bloom_filter_offset;
    int32_t bloom_filter_length; /* 0 = absent */
    lh_pq_kv *key_value_metadata;
    size_t num_key_value_metadata;
} lh_pq_column_meta;

typedef struct lh_pq_column_chunk {
    char *file_path; /* NULL = same file */
    int64_t file_offset;
    bool has_meta_data;
    lh_pq_column_meta meta_data;
    bool has_offset_index;
    int64_t offset_index_offset;
    int32_t offset_index_length;
    bool has_column_index;
    int64_t column_index_offset;
    int32_t column_index_length;
} lh_pq_column_chunk;

typedef struct lh_pq_row_group {
    lh_pq_column_chunk *columns;
    size_t num_columns;
    int64_t total_byte_size;
    int64_t num_rows;
    bool has_file_offset;
    int64_t file_offset;
    bool has_total_compressed_size;
    int64_t total_compressed_size;
    int16_t ordinal; /* -1 = absent */
} lh_pq_row_group;

typedef struct lh_pq_file_meta {
    int32_t version;
    lh_pq_schema_element *schema; /* depth-first, root first */
    size_t num_schema;
    int64_t num_rows;
    lh_pq_row_group *row_groups;
    size_t num_row_groups;
    lh_pq_kv *key_value_metadata;
    size_t num_key_value_metadata;
    char *created_by;
    /* column_orders: TYPE_DEFINED_ORDER for every leaf when set */
    bool type_defined_column_orders;
} lh_pq_file_meta;

typedef struct lh_pq_data_page_header {
    int32_t num_values;
    lh_pq_encoding encoding;
    lh_pq_encoding definition_level_encoding;
    lh_pq_encoding repetition_level_encoding;
    bool has_statistics;
    lh_pq_statistics statistics;
} lh_pq_data_page_header;

typedef struct lh_pq_dictionary_page_header {
    int32_t num_values;
    lh_pq_encoding encoding;
    bool has_is_sorted;
    bool is_sorted;
} lh_pq_dictionary_page_header;

typedef struct lh_pq_data_page_header_v2 {
    int32_t num_values;
    int32_t num_nulls;
    int32_t num_rows;
    lh_pq_encoding encoding;
    int32_t definition_levels_byte_length;
    int32_t repetition_levels_byte_length;
    bool is_compressed; /* default true */
    bool has_statistics;
    lh_pq_statistics statistics;
} lh_pq_data_page_header_v2;

typedef struct lh_pq_page_header {
    lh_pq_page_type type;
    int32_t uncompressed_page_size;
    int32_t compressed_page_size;
    bool has_crc;
    int32_t crc;
    bool has_data_page_header;
    lh_pq_data_page_header data_page_header;
    bool has_dictionary_page_header;
    lh_pq_dictionary_page_header dictionary_page_header;
    bool has_data_page_header_v2;
    lh_pq_data_page_header_v2 data_page_header_v2;
} lh_pq_page_header;

typedef struct lh_pq_bloom_header {
    int32_t num_bytes; /* algorithm BLOCK, hash XXHASH, UNCOMPRESSED are implied */
} lh_pq_bloom_header;

/* Page index (PageIndex.md): per data page of a chunk. */
typedef struct lh_pq_page_location {
    int64_t offset;               /* file offset of the page header */
    int32_t compressed_page_size; /* header included */
    int64_t first_row_index;      /* within the row group */
} lh_pq_page_location;

typedef struct lh_pq_offset_index {
    lh_pq_page_location *pages;
    size_t num_pages;
} lh_pq_offset_index;

typedef enum lh_pq_boundary_order {
    LH_PQ_UNORDERED = 0,
    LH_PQ_ASCENDING = 1,
    LH_PQ_DESCENDING = 2,
} lh_pq_boundary_order;

typedef struct lh_pq_column_index {
    size_t num_pages;
    bool *null_pages;     /* page holds only nulls (its bounds are empty) */
    lh_buf *min_values, *max_values;
    lh_pq_boundary_order boundary_order;
    int64_t *null_counts;
} lh_pq_column_index;

void lh_pq_offset_index_free(lh_pq_offset_index *x);
void lh_pq_column_index_free(lh_pq_column_index *x);

/* ---- serialization (Thrift compact protocol), pq_meta_write.c ---- */
void lh_pq_offset_index_write(const lh_pq_offset_index *x, lh_buf *out);
void lh_pq_column_index_write(const lh_pq_column_index *x, lh_buf *out);
void lh_pq_file_meta_write(const lh_pq_file_meta *m, lh_buf *out);
void lh_pq_page_header_write(const lh_pq_page_header *h, lh_buf *out);
void lh_pq_bloom_header_write(const lh_pq_bloom_header *h, lh_buf *out);

/* ---- parsing, pq_meta_read.c: bounds-checked, never reads past len;
 * nesting depth and list sizes are limited; *used gets the bytes consumed.
 * Errors are LH_ERR_CORRUPT naming the struct and field. ---- */
lh_status lh_pq_file_meta_read(const uint8_t *data, size_t len, lh_pq_file_meta *m,
                               lh_error *err);
/* The same, leaving out of each column chunk what reading data never needs:
 * encodings, path_in_schema, key_value_metadata, encoding_stats (empty). */
lh_status lh_pq_file_meta_read_lean(const uint8_t *data, size_t len, lh_pq_file_meta *m,
                                    lh_error *err);
/* Where one row group's Thrift struct sits in the footer bytes. */
typedef struct lh_pq_row_group_span {
    size_t offset, len;
    int64_t num_rows; /* checked non-negative */
} lh_pq_row_group_span;
/* The lean read of a footer without decoding its row groups, for readers
 * that use a few of hundreds (a lookup): the row groups are only walked
 * over (every byte still checked), and *spans (num_row_groups of them,
 * owned by the caller) locates each for lh_pq_row_group_read_lean. m gets
 * no row groups: m->row_groups NULL, m->num_row_groups 0. */
lh_status lh_pq_file_meta_read_deferred(const uint8_t *data, size_t len, lh_pq_file_meta *m,
                                        lh_pq_row_group_span **spans, size_t *num_spans,
                                        lh_error *err);
/* One row group of a footer, leaned as lh_pq_file_meta_read_lean does:
 * data/len its span. Every column chunk must carry its ColumnMetaData.
 * g is the caller's to free (lh_pq_row_group_free), also after a failure. */
lh_status lh_pq_row_group_read_lean(const uint8_t *data, size_t len, lh_pq_row_group *g,
                                    lh_error *err);
/* Page index structs (PageIndex.md); x is reset first and is the caller's
 * to free, also after a failure. A column index must carry null_pages,
 * min_values and max_values, all as long as each other (and null_counts,
 * when present). */
lh_status lh_pq_offset_index_read(const uint8_t *data, size_t len, lh_pq_offset_index *x,
                                  lh_error *err);
lh_status lh_pq_column_index_read(const uint8_t *data, size_t len, lh_pq_column_index *x,
                                  lh_error *err);
lh_status lh_pq_page_header_read(const uint8_t *data, size_t len, lh_pq_page_header *h,
                                 size_t *used, lh_error *err);
lh_status lh_pq_bloom_header_read(const uint8_t *data, size_t len, lh_pq_bloom_header *h,
                                  size_t *used, lh_error *err);

/* ---- lifetime ---- */
void lh_pq_statistics_init(lh_pq_statistics *s);
void lh_pq_statistics_free(lh_pq_statistics *s);
void lh_pq_file_meta_init(lh_pq_file_meta *m);
void lh_pq_file_meta_free(lh_pq_file_meta *m);
void lh_pq_row_group_free(lh_pq_row_group *g); /* leaves it empty */
void lh_pq_page_header_init(lh_pq_page_header *h);
void lh_pq_page_header_free(lh_pq_page_header *h);

#endif
