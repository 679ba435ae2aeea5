/* Parquet reader: Thrift compact parsing (known bytes, unknown fields,
 * truncation, limits), level/value decoders, reading pyarrow/DuckDB-written
 * seed files (tests/fuzz/corpus/pq, made by tests/fuzz/gen_corpus.py),
 * pruning by statistics and bloom filters, and corrupted input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/pq_dec.h"
#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/format/pq_meta.h"
#include "lh/format/pq_reader.h"
#include "pq_check.h"
#include "test.h"

static char *corpus_path(const char *name)
{
    /* LH_TEST_DATA is <src>/tests/data, which need not exist */
    const char *d = getenv("LH_TEST_DATA");
    char *base = lh_strdup(d ? d : "tests/data");
    char *slash = strrchr(base, '/');
    if (slash) *slash = 0;
    else strcpy(base, ".");
    char *path = lh_asprintf("%s/fuzz/corpus/pq/%s", base, name);
    free(base);
    return path;
}

static void load(const char *name, lh_buf *out)
{
    char *path = corpus_path(name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        free(path);
        return;
    }
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) lh_buf_append(out, tmp, n);
    fclose(f);
    free(path);
}

/* ---- Thrift ---- */

static void test_schema_bytes(void)
{
    /* FileMetaData{version 2, schema [root(REQUIRED, 3 children), id (B4),
     * ts (B4), flag (B4)], num_rows 0, row_groups []} */
    static const uint8_t b[] = {
        0x15, 0x04, 0x19, 0x4C,
        0x35, 0x00, 0x18, 0x06, 's', 'c', 'h', 'e', 'm', 'a', 0x15, 0x06, 0x00,
        0x15, 0x0C, 0x25, 0x02, 0x18, 0x02, 0x69, 0x64, 0x25, 0x00, 0x4C, 0x1C, 0x00, 0x00, 0x00,
        0x15, 0x04, 0x25, 0x02, 0x18, 0x02, 0x74, 0x73, 0x25, 0x14, 0x4C, 0x8C, 0x11, 0x1C,
        0x2C, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x15, 0x00, 0x25, 0x02, 0x18, 0x04, 0x66, 0x6C, 0x61, 0x67, 0x00,
        0x16, 0x00, 0x19, 0x0C,
        /* unknown field 20 (long form, list of 2 i32) must be skipped */
        0x09, 0x28, 0x25, 0x02, 0x04,
        0x00};
    lh_pq_file_meta m;
    lh_pq_file_meta_init(&m);
    lh_error err;
    CHECK_OK(lh_pq_file_meta_read(b, sizeof b, &m, &err), &err);
    CHECK_INT(m.version, 2);
    CHECK_INT(m.num_schema, 4);
    if (m.num_schema == 4) {
        CHECK_STR(m.schema[0].name, "schema");
        CHECK_INT(m.schema[0].num_children, 3);
        CHECK_STR(m.schema[1].name, "id");
        CHECK_INT(m.schema[1].type, LH_PQ_BYTE_ARRAY);
        CHECK_INT(m.schema[1].repetition, LH_PQ_OPTIONAL);
        CHECK_INT(m.schema[1].converted_type, LH_PQ_CT_UTF8);
        CHECK_INT(m.schema[1].logical.kind, LH_PQ_LT_STRING);
        CHECK_INT(m.schema[2].type, LH_PQ_INT64);
        CHECK_INT(m.schema[2].converted_type, LH_PQ_CT_TIMESTAMP_MICROS);
        CHECK_INT(m.schema[2].logical.kind, LH_PQ_LT_TIMESTAMP);
        CHECK(m.schema[2].logical.is_adjusted_to_utc);
        CHECK_INT(m.schema[2].logical.unit, LH_PQ_MICROS);
        CHECK_STR(m.schema[3].name, "flag");
        CHECK_INT(m.schema[3].converted_type, LH_PQ_CT_NONE);
        CHECK_INT(m.schema[3].field_id, -1);
    }
    lh_pq_file_meta_free(&m);

    /* every truncation fails cleanly */
    for (size_t n = 0; n < sizeof b; n++) {
        lh_pq_file_meta_init(&m);
        CHECK_RC(lh_pq_file_meta_read(b, n, &m, &err), LH_ERR_CORRUPT);
        lh_pq_file_meta_free(&m);
    }
}

/* An unknown field holding every wire type, nested (booleans as struct
 * fields and as list elements, a set, a map of structs, a uuid, a
 * long-form field id) is skipped whole; every truncation of it fails. */
static void test_skip_every_type(void)
{
    static const uint8_t head[] = {
        0x15, 0x04, 0x19, 0x2C, 0x35, 0x00, 0x18, 0x01, 'r', 0x15, 0x02, 0x00,
        0x15, 0x0C, 0x25, 0x02, 0x18, 0x01, 'a', 0x00, 0x16, 0x00, 0x19, 0x0C};
    static const uint8_t unknown[] = {
        0x0C, 0x2A,                                     /* field 21 (long form): struct */
        0x11, 0x12, 0x13, 0x7F, 0x14, 0x04, 0x15, 0x96, 0x01, /* bools, i8, i16, i32 */
        0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F,             /* i64 */
        0x17, 1, 2, 3, 4, 5, 6, 7, 8,                   /* double */
        0x18, 0x03, 'a', 'b', 'c',                      /* binary */
        0x19, 0x31, 0x01, 0x02, 0x01,                   /* list of 3 bools */
        0x1A, 0x25, 0x02, 0x04,                         /* set of 2 i32 */
        0x1B, 0x02, 0x8C, 0x01, 'k', 0x00, 0x01, 'l', 0x11, 0x00, /* map binary -> struct */
        0x1D, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, /* uuid */
        0x0C, 0x64, 0x19, 0x1C, 0x00, 0x00,             /* field 50: struct{list of 1 struct} */
        0x08, 0x66, 0x02, 'x', 'y',                     /* field 51 (long form): binary */
        0x00};
    lh_buf b = LH_BUF_INIT;
    lh_buf_append(&b, head, sizeof head);
    lh_buf_append(&b, unknown, sizeof unknown);
    lh_buf_append_byte(&b, 0x00);
    lh_pq_file_meta m;
    lh_pq_file_meta_init(&m);
    lh_error err;
    CHECK_OK(lh_pq_file_meta_read((const uint8_t *)b.data, b.len, &m, &err), &err);
    CHECK_INT(m.version, 2);
    CHECK_INT(m.num_schema, 2);
    lh_pq_file_meta_free(&m);
    for (size_t n = sizeof head; n < b.len; n++) {
        lh_pq_file_meta_init(&m);
        CHECK_RC(lh_pq_file_meta_read((const uint8_t *)b.data, n, &m, &err), LH_ERR_CORRUPT);
        lh_pq_file_meta_free(&m);
    }
    lh_buf_free(&b);
}

static void test_thrift_limits(void)
{
    lh_error err;
    lh_pq_file_meta m;
    /* 100 nested structs in an unknown field */
    uint8_t deep[256];
    size_t n = 0;
    for (int i = 0; i < 100; i++) deep[n++] = 0x1C; /* field +1, struct */
    for (int i = 0; i < 101; i++) deep[n++] = 0x00;
    lh_pq_file_meta_init(&m);
    CHECK_RC(lh_pq_file_meta_read(deep, n, &m, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "deep") != NULL);
    lh_pq_file_meta_free(&m);
    /* a list claiming 2^31 schema elements in a few bytes */
    static const uint8_t big[] = {0x15, 0x02, 0x19, 0xFC, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00};
    lh_pq_file_meta_init(&m);
    CHECK_RC(lh_pq_file_meta_read(big, sizeof big, &m, &err), LH_ERR_CORRUPT);
    lh_pq_file_meta_free(&m);
    /* 100000 empty ColumnChunk structs: cheap on the wire, big in memory */
    lh_buf amp = LH_BUF_INIT;
    static const uint8_t head[] = {0x15, 0x02, 0x39, 0x1C, /* field 4: one RowGroup */
                                   0x19, 0xFC, 0xA0, 0x8D, 0x06}; /* field 1: 100000 structs */
    lh_buf_append(&amp, head, sizeof head);
    for (int i = 0; i < 100000; i++) lh_buf_append_byte(&amp, 0);
    lh_buf_append(&amp, "\0\0\0", 3);
    lh_pq_file_meta_init(&m);
    CHECK_RC(lh_pq_file_meta_read((const uint8_t *)amp.data, amp.len, &m, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "too large") != NULL);
    lh_pq_file_meta_free(&m);
    lh_buf_free(&amp);
    /* a known field with the wrong wire type is skipped (id 1 as binary) */
    static const uint8_t wrong[] = {0x18, 0x01, 'x', 0x00};
    lh_pq_file_meta_init(&m);
    CHECK_RC(lh_pq_file_meta_read(wrong, sizeof wrong, &m, &err), LH_ERR_CORRUPT); /* no schema */
    CHECK(strstr(err.msg, "no schema") != NULL);
    lh_pq_file_meta_free(&m);
}

static void test_page_header_roundtrip(void)
{
    lh_pq_page_header h, g;
    lh_pq_page_header_init(&h);
    h.type = LH_PQ_DATA_PAGE_V2;
    h.uncompressed_page_size = 1234;
    h.compressed_page_size = 567;
    h.has_data_page_header_v2 = true;
    h.data_page_header_v2.num_values = 100;
    h.data_page_header_v2.num_nulls = 3;
    h.data_page_header_v2.num_rows = 90;
    h.data_page_header_v2.encoding = LH_PQ_ENC_RLE_DICTIONARY;
    h.data_page_header_v2.definition_levels_byte_length = 12;
    h.data_page_header_v2.repetition_levels_byte_length = 7;
    h.data_page_header_v2.is_compressed = false;
    lh_buf b = LH_BUF_INIT;
    lh_pq_page_header_write(&h, &b);
    lh_pq_page_header_init(&g);
    size_t used = 0;
    lh_error err;
    CHECK_OK(lh_pq_page_header_read((const uint8_t *)b.data, b.len, &g, &used, &err), &err);
    CHECK_INT(used, b.len);
    CHECK_INT(g.type, LH_PQ_DATA_PAGE_V2);
    CHECK_INT(g.uncompressed_page_size, 1234);
    CHECK_INT(g.compressed_page_size, 567);
    CHECK(g.has_data_page_header_v2);
    CHECK_INT(g.data_page_header_v2.num_rows, 90);
    CHECK_INT(g.data_page_header_v2.encoding, LH_PQ_ENC_RLE_DICTIONARY);
    CHECK_INT(g.data_page_header_v2.repetition_levels_byte_length, 7);
    CHECK(!g.data_page_header_v2.is_compressed);
    lh_pq_page_header_free(&g);
    for (size_t n = 0; n < b.len; n++) {
        lh_pq_page_header_init(&g);
        CHECK_RC(lh_pq_page_header_read((const uint8_t *)b.data, n, &g, &used, &err), LH_ERR_CORRUPT);
        lh_pq_page_header_free(&g);
    }
    lh_buf_free(&b);

    /* bloom header bytes from the spec (numBytes 1024) */
    static const uint8_t bh[] = {0x15, 0x80, 0x10, 0x1C, 0x1C, 0x00, 0x00, 0x1C, 0x1C,
                                 0x00, 0x00, 0x1C, 0x1C, 0x00, 0x00, 0x00};
    lh_pq_bloom_header bl = {0};
    CHECK_OK(lh_pq_bloom_header_read(bh, sizeof bh, &bl, &used, &err), &err);
    CHECK_INT(bl.num_bytes, 1024);
    CHECK_INT(used, 16);
}

/* ---- decoders ---- */

static void test_rle(void)
{
    uint32_t v[16];
    lh_pq_rle d;
    static const uint8_t run[] = {0x0A, 0x01}; /* RLE run of 5 ones */
    lh_pq_rle_init(&d, run, sizeof run, 1);
    CHECK(lh_pq_rle_get(&d, v, 5));
    CHECK(v[0] == 1 && v[4] == 1);
    CHECK(!lh_pq_rle_get(&d, v, 1)); /* exhausted */
    static const uint8_t bp[] = {0x03, 0x0D}; /* bit-packed 1,0,1,1,0,0,0,0 */
    lh_pq_rle_init(&d, bp, sizeof bp, 1);
    CHECK(lh_pq_rle_get(&d, v, 4));
    CHECK(v[0] == 1 && v[1] == 0 && v[2] == 1 && v[3] == 1);
    /* width 3, values 0..7 bit-packed: 0x88 0xC6 0xFA */
    static const uint8_t bp3[] = {0x03, 0x88, 0xC6, 0xFA};
    lh_pq_rle_init(&d, bp3, sizeof bp3, 3);
    CHECK(lh_pq_rle_get(&d, v, 8));
    for (uint32_t i = 0; i < 8; i++) CHECK_INT(v[i], i);
    /* RLE value wider than the bit width is corrupt */
    static const uint8_t badv[] = {0x02, 0x05};
    lh_pq_rle_init(&d, badv, sizeof badv, 2);
    CHECK(!lh_pq_rle_get(&d, v, 1));
    /* width 0 with no data yields zeros */
    lh_pq_rle_init(&d, NULL, 0, 0);
    CHECK(lh_pq_rle_get(&d, v, 3));
    CHECK(v[2] == 0);
    /* legacy MSB-first bit packing, width 3: 0..7 -> 05 39 77 */
    static const uint8_t msb[] = {0x05, 0x39, 0x77};
    size_t used;
    CHECK(lh_pq_bitpacked_msb(msb, sizeof msb, 3, v, 8, &used));
    CHECK_INT(used, 3);
    for (uint32_t i = 0; i < 8; i++) CHECK_INT(v[i], i);
    CHECK(!lh_pq_bitpacked_msb(msb, 2, 3, v, 8, &used));
    CHECK_INT(lh_pq_dec_bit_width(0), 0);
    CHECK_INT(lh_pq_dec_bit_width(1), 1);
    CHECK_INT(lh_pq_dec_bit_width(4), 3);
}

static void test_dbp(void)
{
    /* Encodings.md example: 1 2 3 4 5 -> block 128, 4 miniblocks, 5 values,
     * first 1, min delta 1, widths 0: header 80 01 04 05 02, block 02 00 00 00 00 */
    static const uint8_t e1[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00};
    uint64_t v[8];
    size_t used;
    uint64_t total;
    CHECK(lh_pq_dbp_count(e1, sizeof e1, &total));
    CHECK_INT(total, 5);
    CHECK(lh_pq_dbp_decode(e1, sizeof e1, v, 5, &used));
    for (int i = 0; i < 5; i++) CHECK_INT(v[i], i + 1);
    CHECK_INT(used, sizeof e1);
    /* 7 5 3 1 2 3 4 5: min delta -2, deltas 0 0 0 3 3 3 3 at width 2 */
    static const uint8_t e2[] = {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0x00, 0x00, 0x00,
                                 0xC0, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK(lh_pq_dbp_decode(e2, sizeof e2, v, 8, &used));
    static const int64_t want[] = {7, 5, 3, 1, 2, 3, 4, 5};
    for (int i = 0; i < 8; i++) CHECK_INT((int64_t)v[i], want[i]);
    CHECK_INT(used, sizeof e2);
    CHECK(!lh_pq_dbp_decode(e2, 11, v, 8, &used)); /* truncated miniblock */
    static const uint8_t bad[] = {0x81, 0x01, 0x04, 0x01, 0x00}; /* block 129 */
    CHECK(!lh_pq_dbp_count(bad, sizeof bad, &total));
    /* INT96: Julian day 2440589 (1970-01-02), 1 s */
    uint8_t i96[12] = {0};
    uint64_t ns = 1000000000u;
    for (int i = 0; i < 8; i++) i96[i] = (uint8_t)(ns >> (8 * i));
    uint32_t day = 2440589;
    for (int i = 0; i < 4; i++) i96[8 + i] = (uint8_t)(day >> (8 * i));
    CHECK_INT(lh_pq_int96_to_micros(i96), 86400000000LL + 1000000);
}

/* ---- whole files ---- */

static void test_empty(void)
{
    lh_buf data = LH_BUF_INIT;
    load("empty.parquet", &data);
    lh_pq_reader *r = NULL;
    lh_error err;
    CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, "empty", &r, &err), &err);
    if (r) {
        lh_pq_column c;
        lh_pq_column_init(&c);
        for (size_t g = 0; g < lh_pq_reader_num_row_groups(r); g++) {
            CHECK_INT(lh_pq_reader_row_group_rows(r, g), 0);
            CHECK_OK(lh_pq_reader_read_column(r, g, 0, &c, &err), &err);
            CHECK_INT(c.num_levels, 0);
            CHECK(c.def_levels != NULL && c.rep_levels == NULL);
            CHECK(c.offsets != NULL && c.offsets[0] == 0);
        }
        CHECK_RC(lh_pq_reader_read_column(r, 99, 0, &c, &err), LH_ERR_INVALID);
        CHECK_INT(lh_pq_reader_find(r, "nope"), -1);
        lh_pq_column_free(&c);
        lh_pq_reader_free(r);
    }
    lh_buf_free(&data);
}

static void check_flat(const char *file)
{
    lh_buf data = LH_BUF_INIT;
    load(file, &data);
    lh_pq_reader *r = NULL;
    lh_error err;
    CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, file, &r, &err), &err);
    if (!r) {
        lh_buf_free(&data);
        return;
    }
    CHECK_INT(lh_pq_reader_num_leaves(r), 7);
    CHECK_INT(lh_pq_reader_num_row_groups(r), 1);
    CHECK_INT(lh_pq_reader_row_group_rows(r, 0), 20);
    lh_pq_column c;
    lh_pq_column_init(&c);
    int s = lh_pq_reader_find(r, "s");
    CHECK_INT(s, 0);
    CHECK_OK(lh_pq_reader_read_column(r, 0, (size_t)s, &c, &err), &err);
    CHECK_INT(c.num_levels, 20);
    CHECK_INT(c.num_values, 16); /* rows 3, 8, 13, 18 are null */
    CHECK(c.def_levels && c.def_levels[3] == 0 && c.def_levels[0] == 1);
    CHECK(c.rep_levels == NULL);
    if (c.num_values == 16) {
        CHECK_INT(c.offsets[1] - c.offsets[0], 4); /* "v0é" */
        CHECK(memcmp(c.bytes.data, "v0\xc3\xa9", 4) == 0);
        CHECK_INT(c.offsets[2] - c.offsets[1], 0); /* row 1 is "" */
    }
    int i64 = lh_pq_reader_find(r, "i64");
    CHECK_OK(lh_pq_reader_read_column(r, 0, (size_t)i64, &c, &err), &err);
    CHECK_INT(c.type, LH_PQ_INT64);
    CHECK_INT(c.num_values, 15);
    if (c.num_values == 15) {
        CHECK_INT(((int64_t *)c.values)[0], -5);
        CHECK_INT(((int64_t *)c.values)[1], 1000003 - 5);
        CHECK_INT(((int64_t *)c.values)[2], 3 * 1000003 - 5); /* row 2 is null */
    }
    CHECK_OK(lh_pq_reader_read_column(r, 0, (size_t)lh_pq_reader_find(r, "i32"), &c, &err), &err);
    CHECK_INT(c.num_values, 20);
    CHECK(c.def_levels && c.def_levels[19] == 1); /* pyarrow: nullable without nulls */
    if (c.num_values == 20) CHECK_INT(((int32_t *)c.values)[19], 12);
    CHECK_OK(lh_pq_reader_read_column(r, 0, (size_t)lh_pq_reader_find(r, "b"), &c, &err), &err);
    CHECK_INT(c.num_values, 16);
    if (c.num_values == 16) {
        CHECK_INT(((uint8_t *)c.values)[0], 0); /* row 1 */
        CHECK_INT(((uint8_t *)c.values)[1], 0); /* row 2 */
        CHECK_INT(((uint8_t *)c.values)[2], 1); /* row 3 */
    }
    CHECK_OK(lh_pq_reader_read_column(r, 0, (size_t)lh_pq_reader_find(r, "d"), &c, &err), &err);
    if (c.num_values == 20) CHECK(((double *)c.values)[3] == 2.5);
    CHECK_OK(lh_pq_reader_read_column(r, 0, (size_t)lh_pq_reader_find(r, "ts"), &c, &err), &err);
    if (c.num_values == 20) CHECK_INT(((int64_t *)c.values)[0], 1704164645123456LL);
    lh_pq_column_free(&c);
    lh_pq_reader_free(r);
    lh_buf_free(&data);
}

static void test_flat_files(void)
{
    static const char *files[] = {"plain_v1.parquet", "dict_v1.parquet", "dict_v2.parquet",
                                  "delta.parquet", "codec_snappy.parquet", "codec_zstd_v2.parquet",
                                  "codec_gzip.parquet", "codec_lz4.parquet", "codec_brotli_v2.parquet"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) check_flat(files[i]);
}

static bool same_buf(const lh_buf *a, const lh_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* A lean row group (lg) equals the full one (fg) in everything reading
 * needs and leaves out only what it says it does; *paths counts what the
 * full one carried of that. */
static void check_lean_row_group(const lh_pq_row_group *fg, const lh_pq_row_group *lg,
                                 size_t *paths)
{
    CHECK_INT(lg->num_rows, fg->num_rows);
    CHECK_INT(lg->num_columns, fg->num_columns);
    for (size_t c = 0; c < fg->num_columns && c < lg->num_columns; c++) {
        const lh_pq_column_meta *f = &fg->columns[c].meta_data, *l = &lg->columns[c].meta_data;
        CHECK(l->type == f->type && l->codec == f->codec);
        CHECK_INT(l->num_values, f->num_values);
        CHECK_INT(l->total_compressed_size, f->total_compressed_size);
        CHECK_INT(l->total_uncompressed_size, f->total_uncompressed_size);
        CHECK_INT(l->data_page_offset, f->data_page_offset);
        CHECK(l->has_dictionary_page_offset == f->has_dictionary_page_offset);
        CHECK_INT(l->dictionary_page_offset, f->dictionary_page_offset);
        CHECK(l->has_bloom_filter == f->has_bloom_filter);
        CHECK_INT(l->bloom_filter_offset, f->bloom_filter_offset);
        CHECK(l->has_statistics == f->has_statistics);
        const lh_pq_statistics *fs = &f->statistics, *ls = &l->statistics;
        CHECK(ls->has_null_count == fs->has_null_count && ls->null_count == fs->null_count);
        CHECK(ls->has_min_value == fs->has_min_value && same_buf(&ls->min_value, &fs->min_value));
        CHECK(ls->has_max_value == fs->has_max_value && same_buf(&ls->max_value, &fs->max_value));
        CHECK(ls->has_min == fs->has_min && same_buf(&ls->min, &fs->min));
        CHECK(ls->has_max == fs->has_max && same_buf(&ls->max, &fs->max));
        CHECK(ls->has_is_max_value_exact == fs->has_is_max_value_exact &&
              ls->is_max_value_exact == fs->is_max_value_exact);
        CHECK(!l->num_encodings && !l->path_len && !l->num_encoding_stats &&
              !l->num_key_value_metadata);
        *paths += f->path_len;
    }
}

/* The lean footer equals the full one in everything reading needs, and so
 * does the deferred one (what lh_pq_reader_open decodes) with its row
 * groups decoded one by one from their spans. */
static void check_lean(const char *name)
{
    lh_buf file = LH_BUF_INIT;
    load(name, &file);
    CHECK(file.len > 12);
    if (file.len <= 12) return;
    const uint8_t *end = (const uint8_t *)file.data + file.len;
    uint32_t flen = (uint32_t)end[-8] | (uint32_t)end[-7] << 8 | (uint32_t)end[-6] << 16 |
                    (uint32_t)end[-5] << 24;
    const uint8_t *footer = end - 8 - flen;
    lh_pq_file_meta full, lean, deferred;
    lh_pq_file_meta_init(&full);
    lh_pq_file_meta_init(&lean);
    lh_pq_file_meta_init(&deferred);
    lh_pq_row_group_span *spans = NULL;
    size_t nspans = 0;
    lh_error err;
    CHECK_OK(lh_pq_file_meta_read(footer, flen, &full, &err), &err);
    CHECK_OK(lh_pq_file_meta_read_lean(footer, flen, &lean, &err), &err);
    CHECK_OK(lh_pq_file_meta_read_deferred(footer, flen, &deferred, &spans, &nspans, &err), &err);
    CHECK_INT(lean.num_rows, full.num_rows);
    CHECK_INT(lean.num_schema, full.num_schema);
    CHECK_INT(lean.num_key_value_metadata, full.num_key_value_metadata);
    CHECK_INT(lean.num_row_groups, full.num_row_groups);
    CHECK_INT(deferred.num_rows, full.num_rows);
    CHECK_INT(deferred.num_schema, full.num_schema);
    CHECK_INT(deferred.num_key_value_metadata, full.num_key_value_metadata);
    CHECK(deferred.num_row_groups == 0 && !deferred.row_groups);
    CHECK_INT(nspans, full.num_row_groups);
    size_t paths = 0, ignored = 0;
    for (size_t g = 0; g < full.num_row_groups && g < lean.num_row_groups; g++) {
        check_lean_row_group(&full.row_groups[g], &lean.row_groups[g], &paths);
        if (g >= nspans) continue;
        CHECK_INT(spans[g].num_rows, full.row_groups[g].num_rows);
        lh_pq_row_group dg;
        CHECK_OK(lh_pq_row_group_read_lean(footer + spans[g].offset, spans[g].len, &dg, &err),
                 &err);
        check_lean_row_group(&full.row_groups[g], &dg, &ignored);
        lh_pq_row_group_free(&dg);
    }
    CHECK(paths > 0); /* the full decode did carry what lean leaves out */
    free(spans);
    lh_pq_file_meta_free(&full);
    lh_pq_file_meta_free(&lean);
    lh_pq_file_meta_free(&deferred);
    lh_buf_free(&file);
}

/* A page index as pyarrow writes it (several pages per row group, null
 * values, the last row group short). */
static void test_page_index(void)
{
    lh_buf data = LH_BUF_INIT;
    load("page_index.parquet", &data);
    lh_pq_reader *r = NULL;
    lh_error err;
    CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, "page_index.parquet", &r, &err), &err);
    if (r) {
        CHECK_INT(lh_pq_reader_num_row_groups(r), 3);
        lh_pq_column col;
        lh_pq_column_init(&col);
        for (size_t g = 0; g < lh_pq_reader_num_row_groups(r); g++) {
            CHECK_OK(lh_pq_reader_read_column(r, g, 0, &col, &err), &err);
            check_page_index(r, g, 0, &col, true);
        }
        lh_pq_column_free(&col);
        lh_pq_column_index ci;
        lh_pq_offset_index oi;
        bool has = true;
        CHECK_RC(lh_pq_reader_page_index(r, 3, 0, &ci, &oi, &has, &err), LH_ERR_INVALID);
        lh_pq_reader_free(r);
    }
    /* no page index: none reported */
    lh_buf plain = LH_BUF_INIT;
    load("plain_v1.parquet", &plain);
    CHECK_OK(lh_pq_reader_open_mem(plain.data, plain.len, "plain_v1.parquet", &r, &err), &err);
    if (r) {
        lh_pq_column_index ci;
        lh_pq_offset_index oi;
        bool has = true;
        CHECK_OK(lh_pq_reader_page_index(r, 0, 0, &ci, &oi, &has, &err), &err);
        CHECK(!has);
        lh_pq_reader_free(r);
    }
    lh_buf_free(&plain);
    lh_buf_free(&data);
}

static void test_lean_footer(void)
{
    static const char *files[] = {"dict_v2.parquet", "bloom.parquet", "duckdb_bloom.parquet",
                                  "codec_zstd.parquet", "delta_checkpoint.parquet"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) check_lean(files[i]);
}

static void test_nested(void)
{
    lh_buf data = LH_BUF_INIT;
    load("nested.parquet", &data);
    lh_pq_reader *r = NULL;
    lh_error err;
    CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, "nested.parquet", &r, &err), &err);
    if (!r) {
        lh_buf_free(&data);
        return;
    }
    int k = lh_pq_reader_find(r, "m.key_value.key");
    int v = lh_pq_reader_find(r, "m.key_value.value");
    int t = lh_pq_reader_find(r, "tags.list.element");
    CHECK(k >= 0 && v >= 0 && t >= 0);
    if (k < 0 || v < 0 || t < 0) goto out;
    const lh_pq_leaf *lk = lh_pq_reader_leaf(r, (size_t)k), *lv = lh_pq_reader_leaf(r, (size_t)v);
    CHECK_INT(lk->max_def, 2);
    CHECK_INT(lk->max_rep, 1);
    CHECK_INT(lv->max_def, 3);
    lh_pq_column c;
    lh_pq_column_init(&c);
    /* m: [("k1","x")], None, [], [("k2",None),("k3","z")] */
    CHECK_OK(lh_pq_reader_read_column(r, 0, (size_t)v, &c, &err), &err);
    static const int16_t vd[] = {3, 0, 1, 2, 3}, vr[] = {0, 0, 0, 0, 1};
    CHECK_INT(c.num_levels, 5);
    CHECK_INT(c.num_values, 2);
    for (size_t i = 0; i < 5 && c.num_levels == 5; i++) {
        CHECK_INT(c.def_levels[i], vd[i]);
        CHECK_INT(c.rep_levels[i], vr[i]);
    }
    /* tags: ["a","b"], [], None, ["c",None] */
    CHECK_OK(lh_pq_reader_read_column(r, 0, (size_t)t, &c, &err), &err);
    static const int16_t td[] = {3, 3, 1, 0, 3, 2}, tr[] = {0, 1, 0, 0, 0, 1};
    CHECK_INT(c.num_levels, 6);
    for (size_t i = 0; i < 6 && c.num_levels == 6; i++) {
        CHECK_INT(c.def_levels[i], td[i]);
        CHECK_INT(c.rep_levels[i], tr[i]);
    }
    /* reuse the column for a flat leaf */
    CHECK_OK(lh_pq_reader_read_column(r, 0, (size_t)lh_pq_reader_find(r, "id"), &c, &err), &err);
    CHECK_INT(c.num_values, 4);
    CHECK(c.rep_levels == NULL);
    lh_pq_column_free(&c);
out:
    lh_pq_reader_free(r);
    lh_buf_free(&data);
}

static void test_timestamps(void)
{
    lh_buf data = LH_BUF_INIT;
    lh_error err;
    lh_pq_reader *r = NULL;
    lh_pq_column c;
    lh_pq_column_init(&c);
    load("ts_units.parquet", &data);
    CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, "ts", &r, &err), &err);
    if (r) {
        CHECK_OK(lh_pq_reader_read_column(r, 0, 0, &c, &err), &err);
        if (c.num_values) CHECK_INT(((int64_t *)c.values)[0], 1704164645123000LL);
        CHECK_OK(lh_pq_reader_read_column(r, 0, 1, &c, &err), &err);
        if (c.num_values) CHECK_INT(((int64_t *)c.values)[0], 1704164645123456LL);
        lh_pq_reader_free(r);
    }
    lh_buf_reset(&data);
    load("int96.parquet", &data);
    CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, "int96", &r, &err), &err);
    if (r) {
        CHECK_INT(lh_pq_reader_leaf(r, 0)->type, LH_PQ_INT96);
        CHECK_OK(lh_pq_reader_read_column(r, 0, 0, &c, &err), &err);
        CHECK_INT(c.type, LH_PQ_INT64);
        if (c.num_values) CHECK_INT(((int64_t *)c.values)[1], 1704164682123456LL);
        lh_pq_reader_free(r);
    }
    lh_pq_column_free(&c);
    lh_buf_free(&data);
}

static void test_prune(void)
{
    lh_buf data = LH_BUF_INIT;
    lh_error err;
    lh_pq_reader *r = NULL;
    load("bloom.parquet", &data);
    CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, "bloom", &r, &err), &err);
    if (!r) {
        lh_buf_free(&data);
        return;
    }
    CHECK_INT(lh_pq_reader_num_row_groups(r), 2);
    bool may;
    /* name5 lives in row group 0 only; within rg 1's min/max? "name5" >
     * "name39" so stats prune; "name25x" sits inside rg 1's range and
     * is absent: only the bloom filter can say no (fpp 1%). */
    CHECK_OK(lh_pq_reader_may_contain(r, 0, 0, "name5", 5, &may, &err), &err);
    CHECK(may);
    CHECK_OK(lh_pq_reader_may_contain(r, 1, 0, "name5", 5, &may, &err), &err);
    CHECK(!may);
    CHECK_OK(lh_pq_reader_may_contain(r, 1, 0, "name25", 6, &may, &err), &err);
    CHECK(may);
    int absent = 0;
    for (int i = 0; i < 50; i++) {
        char v[32];
        int n = snprintf(v, sizeof v, "name2%dx", i);
        CHECK_OK(lh_pq_reader_may_contain(r, 1, 0, v, (size_t)n, &may, &err), &err);
        absent += !may;
    }
    CHECK(absent >= 40);
    int64_t x = 7;
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(x >> (8 * i));
    CHECK_OK(lh_pq_reader_may_contain(r, 0, 1, le, 8, &may, &err), &err);
    CHECK(may);
    CHECK_OK(lh_pq_reader_may_contain(r, 1, 1, le, 8, &may, &err), &err);
    CHECK(!may);
    const lh_pq_statistics *st = NULL;
    CHECK_OK(lh_pq_reader_stats(r, 1, 1, &st, &err), &err);
    CHECK(st && st->has_min_value && st->min_value.len == 8);
    CHECK_RC(lh_pq_reader_stats(r, 2, 1, &st, &err), LH_ERR_INVALID);
    lh_pq_reader_free(r);
    lh_buf_free(&data);
}

/* No false negatives: every stored value may be contained in its row group
 * (statistics in every order/unit, bloom filters), for every seed file. */
static void no_false_negatives(const char *file, lh_pq_reader *r)
{
    lh_error err;
    lh_pq_column c;
    lh_pq_column_init(&c);
    for (size_t g = 0; g < lh_pq_reader_num_row_groups(r); g++) {
        for (size_t l = 0; l < lh_pq_reader_num_leaves(r); l++) {
            if (lh_pq_reader_leaf(r, l)->max_rep > 0) continue;
            CHECK_OK(lh_pq_reader_read_column(r, g, l, &c, &err), &err);
            size_t w = c.type == LH_PQ_BOOLEAN ? 1 : c.type == LH_PQ_INT32 || c.type == LH_PQ_FLOAT ? 4 : 8;
            for (size_t i = 0; i < c.num_values; i++) {
                const void *v;
                size_t n;
                if (c.offsets) {
                    v = c.bytes.data + c.offsets[i];
                    n = (size_t)(c.offsets[i + 1] - c.offsets[i]);
                } else {
                    v = (const uint8_t *)c.values + i * w;
                    n = w;
                }
                bool may = false;
                CHECK_OK(lh_pq_reader_may_contain(r, g, l, v, n, &may, &err), &err);
                if (!may) {
                    fprintf(stderr, "%s: rg %zu leaf %s value %zu pruned\n", file, g,
                            lh_pq_reader_leaf(r, l)->path, i);
                    CHECK(may);
                    break;
                }
            }
        }
    }
    lh_pq_column_free(&c);
}

static void test_no_false_negatives(void)
{
    static const char *files[] = {"plain_v1.parquet", "dict_v2.parquet", "delta.parquet",
                                  "ts_units.parquet", "int96.parquet", "rowgroups.parquet",
                                  "bloom.parquet", "duckdb_bloom.parquet", "duckdb_v2.parquet",
                                  "duckdb_zstd.parquet", "nested.parquet", "empty.parquet"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        lh_buf data = LH_BUF_INIT;
        load(files[i], &data);
        lh_pq_reader *r = NULL;
        lh_error err;
        CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, files[i], &r, &err), &err);
        if (r) no_false_negatives(files[i], r);
        lh_pq_reader_free(r);
        lh_buf_free(&data);
    }
    /* the DuckDB file has a bloom filter on a dictionary column */
    lh_buf data = LH_BUF_INIT;
    load("duckdb_bloom.parquet", &data);
    lh_pq_reader *r = NULL;
    lh_error err;
    CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, "duckdb_bloom", &r, &err), &err);
    if (r) {
        const lh_pq_row_group *g = NULL;
        CHECK_OK(lh_pq_reader_row_group(r, 0, &g, &err), &err);
        CHECK(g && g->columns[0].meta_data.has_bloom_filter);
        int absent = 0;
        for (int i = 0; i < 30; i++) {
            char v[16];
            int n = snprintf(v, sizeof v, "str%dz", i);
            bool may;
            CHECK_OK(lh_pq_reader_may_contain(r, 0, 0, v, (size_t)n, &may, &err), &err);
            absent += !may;
        }
        CHECK(absent >= 20);
    }
    lh_pq_reader_free(r);
    lh_buf_free(&data);
}

/* The storage-backed reader reads the same as the in-memory one. */
static void test_storage_open(void)
{
    char *dir = corpus_path("");
    lh_storage *st = NULL;
    lh_error err;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    free(dir);
    if (!st) return;
    lh_pq_reader *r = NULL;
    CHECK_OK(lh_pq_reader_open(st, "rowgroups.parquet", &r, &err), &err);
    if (r) {
        CHECK_INT(lh_pq_reader_num_row_groups(r), 4);
        lh_pq_column c;
        lh_pq_column_init(&c);
        int64_t total = 0;
        for (size_t g = 0; g < lh_pq_reader_num_row_groups(r); g++) {
            CHECK_OK(lh_pq_reader_read_column(r, g, 0, &c, &err), &err);
            total += (int64_t)c.num_levels;
        }
        CHECK_INT(total, 20);
        bool may;
        CHECK_OK(lh_pq_reader_may_contain(r, 0, 0, "zzz", 3, &may, &err), &err);
        CHECK(!may);
        lh_pq_column_free(&c);
        lh_pq_reader_free(r);
    }
    CHECK_RC(lh_pq_reader_open(st, "absent.parquet", &r, &err), LH_ERR_NOT_FOUND);
    CHECK_RC(lh_pq_reader_open(st, "../pq/x", &r, &err), LH_ERR_INVALID);
    lh_storage_free(st);
}

/* Corrupt every byte of a few files in turn: no crash, no leak, and failures
 * are LH_ERR_CORRUPT / UNSUPPORTED. */
static void mutate_file(const char *file, size_t step)
{
    lh_buf data = LH_BUF_INIT;
    load(file, &data);
    lh_pq_column c;
    lh_pq_column_init(&c);
    int bad = 0;
    for (size_t pos = 0; pos < data.len; pos += step) {
        for (int variant = 0; variant < 3; variant++) {
            char saved = data.data[pos];
            size_t len = data.len;
            if (variant == 0) data.data[pos] ^= 0x5a;
            else if (variant == 1) data.data[pos] = (char)0xff;
            else len = pos; /* truncation */
            lh_pq_reader *r = NULL;
            lh_error err;
            lh_status rc = lh_pq_reader_open_mem(data.data, len, file, &r, &err);
            if (rc == LH_OK) {
                lh_pq_reader_set_limits(r, 1 << 16, 1 << 20);
                for (size_t g = 0; g < lh_pq_reader_num_row_groups(r); g++)
                    for (size_t l = 0; l < lh_pq_reader_num_leaves(r); l++) {
                        rc = lh_pq_reader_read_column(r, g, l, &c, &err);
                        if (rc != LH_OK && rc != LH_ERR_CORRUPT && rc != LH_ERR_UNSUPPORTED) bad++;
                        bool may;
                        lh_pq_reader_may_contain(r, g, l, "x", 1, &may, &err);
                    }
                lh_pq_reader_free(r);
            } else if (rc != LH_ERR_CORRUPT && rc != LH_ERR_UNSUPPORTED) {
                bad++;
            }
            data.data[pos] = saved;
        }
    }
    CHECK_INT(bad, 0);
    lh_pq_column_free(&c);
    lh_buf_free(&data);
}

static void test_corrupt(void)
{
    mutate_file("dict_v1.parquet", 1);
    mutate_file("nested_v2.parquet", 1);
    mutate_file("delta.parquet", 1);
    mutate_file("codec_snappy_v2.parquet", 3);
    /* error names file, row group, column, page */
    lh_buf data = LH_BUF_INIT;
    load("plain_v1.parquet", &data);
    lh_pq_reader *r = NULL;
    lh_error err;
    CHECK_OK(lh_pq_reader_open_mem(data.data, data.len, "plain_v1.parquet", &r, &err), &err);
    if (r) {
        const lh_pq_row_group *g = NULL;
        CHECK_OK(lh_pq_reader_row_group(r, 0, &g, &err), &err);
        const lh_pq_column_meta *cm = &g->columns[0].meta_data;
        /* smash the first page's data (after its header) */
        memset(data.data + cm->data_page_offset + 20, 0xff, 8);
        lh_pq_column c;
        lh_pq_column_init(&c);
        CHECK_RC(lh_pq_reader_read_column(r, 0, 0, &c, &err), LH_ERR_CORRUPT);
        CHECK(strstr(err.msg, "plain_v1.parquet: row group 0, column s, page 0") != NULL);
        lh_pq_column_free(&c);
        lh_pq_reader_free(r);
    }
    lh_buf_free(&data);
    CHECK_RC(lh_pq_reader_open_mem("PAR1", 4, "tiny", &r, &err), LH_ERR_CORRUPT);
}

int main(void)
{
    RUN(test_schema_bytes);
    RUN(test_thrift_limits);
    RUN(test_page_header_roundtrip);
    RUN(test_rle);
    RUN(test_dbp);
    RUN(test_empty);
    RUN(test_flat_files);
    RUN(test_lean_footer);
    RUN(test_skip_every_type);
    RUN(test_page_index);
    RUN(test_nested);
    RUN(test_timestamps);
    RUN(test_prune);
    RUN(test_no_false_negatives);
    RUN(test_storage_open);
    RUN(test_corrupt);
    return lh_test_report();
}
