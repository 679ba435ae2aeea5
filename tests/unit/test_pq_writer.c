/* Parquet writer: Thrift compact bytes of metadata structs against known
 * wire bytes, RLE hybrid encoding, and whole files checked structurally. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/format/pq_bloom.h"
#include "lh/format/pq_meta.h"
#include "lh/format/pq_reader.h"
#include "lh/core/hash.h"
#include "lh/format/pq_writer.h"
#include "format/pq_enc.h"
#include "test.h"

static int bytes_eq(const lh_buf *b, const char *hex)
{
    lh_buf want = LH_BUF_INIT;
    for (const char *p = hex; *p;) {
        if (*p == ' ') { p++; continue; }
        unsigned v;
        sscanf(p, "%2x", &v);
        lh_buf_append_byte(&want, (uint8_t)v);
        p += 2;
    }
    int ok = want.len == b->len && memcmp(want.data, b->data, b->len) == 0;
    if (!ok) {
        fprintf(stderr, "  got:");
        for (size_t i = 0; i < b->len; i++) fprintf(stderr, " %02X", (uint8_t)b->data[i]);
        fprintf(stderr, "\n");
    }
    lh_buf_free(&want);
    return ok;
}

static void test_bloom_header(void)
{
    lh_buf b = LH_BUF_INIT;
    lh_pq_bloom_header h = {.num_bytes = 1024};
    lh_pq_bloom_header_write(&h, &b);
    CHECK(bytes_eq(&b, "15 80 10 1C 1C 00 00 1C 1C 00 00 1C 1C 00 00 00"));
    lh_buf_free(&b);
}

static void test_schema_bytes(void)
{
    lh_pq_schema_element els[4];
    memset(els, 0, sizeof els);
    els[0] = (lh_pq_schema_element){.name = "schema", .has_repetition = true,
                                    .repetition = LH_PQ_REQUIRED, .num_children = 3,
                                    .converted_type = -1, .field_id = -1};
    els[1] = (lh_pq_schema_element){.name = "id", .has_type = true, .type = LH_PQ_BYTE_ARRAY,
                                    .has_repetition = true, .repetition = LH_PQ_OPTIONAL,
                                    .converted_type = LH_PQ_CT_UTF8, .field_id = -1,
                                    .logical = {.kind = LH_PQ_LT_STRING}};
    els[2] = (lh_pq_schema_element){.name = "ts", .has_type = true, .type = LH_PQ_INT64,
                                    .has_repetition = true, .repetition = LH_PQ_OPTIONAL,
                                    .converted_type = LH_PQ_CT_TIMESTAMP_MICROS, .field_id = -1,
                                    .logical = {.kind = LH_PQ_LT_TIMESTAMP,
                                                .is_adjusted_to_utc = true,
                                                .unit = LH_PQ_MICROS}};
    els[3] = (lh_pq_schema_element){.name = "flag", .has_type = true, .type = LH_PQ_BOOLEAN,
                                    .has_repetition = true, .repetition = LH_PQ_OPTIONAL,
                                    .converted_type = -1, .field_id = -1};
    lh_pq_file_meta m;
    lh_pq_file_meta_init(&m);
    m.schema = els;
    m.num_schema = 4;
    m.type_defined_column_orders = true;
    lh_buf b = LH_BUF_INIT;
    lh_pq_file_meta_write(&m, &b);
    /* version 1, list of 4 structs, root, the three leaves as in the spec,
     * num_rows 0, empty row group list, 3 TYPE_ORDERs. */
    CHECK(bytes_eq(&b, "15 02 19 4C 35 00 18 06 73 63 68 65 6D 61 15 06 00"
                       " 15 0C 25 02 18 02 69 64 25 00 4C 1C 00 00 00"
                       " 15 04 25 02 18 02 74 73 25 14 4C 8C 11 1C 2C 00 00 00 00 00"
                       " 15 00 25 02 18 04 66 6C 61 67 00"
                       " 16 00 19 0C 39 3C 1C 00 00 1C 00 00 1C 00 00 00"));
    lh_buf_free(&b);
}

static void test_page_header_bytes(void)
{
    lh_pq_page_header h;
    lh_pq_page_header_init(&h);
    h.type = LH_PQ_DATA_PAGE;
    h.uncompressed_page_size = 8;
    h.compressed_page_size = 8;
    h.has_data_page_header = true;
    h.data_page_header.num_values = 5;
    h.data_page_header.encoding = LH_PQ_ENC_PLAIN;
    h.data_page_header.definition_level_encoding = LH_PQ_ENC_RLE;
    h.data_page_header.repetition_level_encoding = LH_PQ_ENC_RLE;
    lh_buf b = LH_BUF_INIT;
    lh_pq_page_header_write(&h, &b);
    CHECK(bytes_eq(&b, "15 00 15 10 15 10 2C 15 0A 15 00 15 06 15 06 00 00"));
    lh_pq_page_header_free(&h);
    lh_buf_free(&b);
}

static void test_rle(void)
{
    lh_buf b = LH_BUF_INIT;
    uint32_t five[5] = {1, 1, 1, 1, 1};
    lh_pq_rle_encode(five, 5, 1, &b); /* short: one padded bit-packed group */
    CHECK(bytes_eq(&b, "03 1F"));
    lh_buf_reset(&b);
    uint32_t pat[4] = {1, 0, 1, 1};
    lh_pq_rle_encode(pat, 4, 1, &b);
    CHECK(bytes_eq(&b, "03 0D"));
    lh_buf_reset(&b);
    uint32_t run[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    lh_pq_rle_encode(run, 10, 1, &b);
    CHECK(bytes_eq(&b, "14 01"));
    lh_buf_reset(&b);
    /* 3 literals then a run of 12: 5 of the run are lent to round the
     * literals up to 8, the remaining 7... stay literal too (< 8): 2 groups. */
    uint32_t mix[15] = {2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    lh_pq_rle_encode(mix, 15, 3, &b);
    CHECK(bytes_eq(&b, "05 1A DB B6 6D DB 16"));
    lh_buf_reset(&b);
    uint32_t mix2[20] = {2, 3, 4, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    lh_pq_rle_encode(mix2, 20, 3, &b); /* 8 packed (2,3,4,7x5), then RLE 12 x 7 */
    CHECK(bytes_eq(&b, "03 1A FF FF 18 07"));
    lh_buf_free(&b);
    CHECK_INT(lh_pq_bit_width(0), 0);
    CHECK_INT(lh_pq_bit_width(1), 1);
    CHECK_INT(lh_pq_bit_width(255), 8);
    CHECK_INT(lh_pq_bit_width(256), 9);
}

/* Write rows into dir/key and return the file bytes in out. */
static lh_pq_writer *write_file(const char *dir, const lh_pq_col_spec *cols, size_t ncols,
                                const lh_pq_writer_opts *o, size_t nrows,
                                void (*row)(size_t i, lh_pq_value *v, char *sbuf),
                                lh_buf *out)
{
    lh_error err;
    lh_storage *st;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_storage_writer *sink;
    CHECK_OK(lh_storage_writer_open(st, "t.parquet", &sink, &err), &err);
    lh_pq_writer *w;
    CHECK_OK(lh_pq_writer_new(sink, cols, ncols, o, &w, &err), &err);
    lh_pq_writer_add_kv(w, "k", "v");
    lh_pq_value v[8];
    char sbuf[64];
    for (size_t i = 0; i < nrows; i++) {
        memset(v, 0, sizeof v);
        row(i, v, sbuf);
        CHECK_OK(lh_pq_writer_append(w, v, &err), &err);
    }
    CHECK_OK(lh_pq_writer_finish(w, &err), &err);
    CHECK_OK(lh_storage_writer_commit(sink, &err), &err);
    lh_storage_writer_free(sink);
    lh_buf_reset(out);
    CHECK_OK(lh_storage_read(st, "t.parquet", out, &err), &err);
    lh_storage_free(st);
    return w;
}

static void row_basic(size_t i, lh_pq_value *v, char *sbuf)
{
    int n = snprintf(sbuf, 64, "name-%03zu", i % 300);
    v[0].v.s.p = sbuf;
    v[0].v.s.len = (size_t)n;
    v[0].is_null = i % 10 == 3;
    v[1].v.i64 = (int64_t)i - 500;
    v[2].v.b = i % 2 == 0;
}

static void test_write_basic(void)
{
    char *dir = lh_test_tmpdir();
    lh_pq_col_spec cols[3] = {
        {.name = "s", .kind = LH_PQK_STRING, .dictionary = true, .statistics = true,
         .bloom_filter = true},
        {.name = "n", .kind = LH_PQK_INT64, .required = true, .statistics = true},
        {.name = "b", .kind = LH_PQK_BOOL, .required = true, .statistics = true},
    };
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    o.row_group_rows = 400;
    o.dict_page_size = 600; /* ~50 entries of 12 bytes: forces the PLAIN fallback */
    lh_buf f = LH_BUF_INIT;
    lh_pq_writer *w = write_file(dir, cols, 3, &o, 1000, row_basic, &f);
    CHECK(f.len > 12 && memcmp(f.data, "PAR1", 4) == 0 && memcmp(f.data + f.len - 4, "PAR1", 4) == 0);
    const lh_pq_file_meta *m = lh_pq_writer_meta(w);
    CHECK_INT(m->num_rows, 1000);
    CHECK_INT(lh_pq_writer_rows(w), 1000);
    CHECK_INT(m->num_row_groups, 3);
    CHECK_INT(m->row_groups[2].num_rows, 200);
    CHECK_INT(m->num_key_value_metadata, 1);
    const lh_pq_column_meta *s = &m->row_groups[0].columns[0].meta_data;
    CHECK_INT(s->num_values, 400);
    CHECK(s->has_dictionary_page_offset);
    CHECK_INT(s->num_encodings, 3);
    /* dictionary page, dictionary-encoded data page(s), then PLAIN pages */
    CHECK_INT(s->num_encoding_stats, 3);
    CHECK_INT(s->statistics.null_count, 40);
    CHECK(s->statistics.min_value.len == 8 && memcmp(s->statistics.min_value.data, "name-000", 8) == 0);
    CHECK(s->statistics.max_value.len == 8 && memcmp(s->statistics.max_value.data, "name-299", 8) == 0);
    CHECK(s->has_bloom_filter && s->bloom_filter_length > 0);
    /* The bloom filter in the file answers for present values. */
    uint64_t off = (uint64_t)s->bloom_filter_offset;
    CHECK(off + (uint64_t)s->bloom_filter_length <= f.len);
    size_t nb = 32; /* header < 32 bytes <= bitset: the bitset is the largest power of 2 */
    while (nb * 2 <= (size_t)s->bloom_filter_length) nb *= 2;
    const uint8_t *bits = (const uint8_t *)f.data + off + (size_t)s->bloom_filter_length - nb;
    CHECK(lh_pq_bloom_check_bits(bits, nb, lh_pq_bloom_hash("name-124", 8)));
    CHECK(lh_pq_bloom_check_bits(bits, nb, lh_pq_bloom_hash("name-299", 8)));
    int fp = 0;
    for (int i = 0; i < 100; i++) {
        char k[16];
        int kn = snprintf(k, sizeof k, "other-%d", i);
        fp += lh_pq_bloom_check_bits(bits, nb, lh_pq_bloom_hash(k, (size_t)kn));
    }
    CHECK(fp < 10);
    const lh_pq_column_meta *n = &m->row_groups[1].columns[1].meta_data;
    CHECK(!n->has_dictionary_page_offset);
    CHECK_INT(n->statistics.null_count, 0);
    int64_t mn, mx;
    memcpy(&mn, n->statistics.min_value.data, 8);
    memcpy(&mx, n->statistics.max_value.data, 8);
    CHECK_INT(mn, -100);
    CHECK_INT(mx, 299);
    CHECK(n->statistics.has_min); /* legacy signed bounds for ints */
    const lh_pq_column_meta *b = &m->row_groups[0].columns[2].meta_data;
    CHECK(b->statistics.min_value.len == 1 && b->statistics.min_value.data[0] == 0);
    CHECK(b->statistics.max_value.len == 1 && b->statistics.max_value.data[0] == 1);
    /* footer length matches */
    uint32_t flen;
    memcpy(&flen, f.data + f.len - 8, 4);
    lh_buf foot = LH_BUF_INIT;
    lh_pq_file_meta_write(m, &foot);
    CHECK_INT(flen, foot.len);
    CHECK(memcmp(f.data + f.len - 8 - flen, foot.data, flen) == 0);
    lh_buf_free(&foot);
    lh_pq_writer_free(w);
    lh_buf_free(&f);
    lh_test_rmtree(dir);
    free(dir);
}

/* A file write_file wrote, open for reading; close_written frees it all. */
typedef struct written {
    char *dir;
    lh_storage *st;
    lh_pq_reader *rd;
    lh_pq_writer *w;
    lh_buf *bytes;
} written;

static written open_written(char *dir, lh_pq_writer *w, lh_buf *bytes)
{
    written wf = {dir, NULL, NULL, w, bytes};
    lh_error err;
    CHECK_OK(lh_storage_open(dir, &wf.st, &err), &err);
    CHECK_OK(lh_pq_reader_open(wf.st, "t.parquet", &wf.rd, &err), &err);
    return wf;
}

static void close_written(written *wf)
{
    lh_pq_reader_free(wf->rd);
    lh_storage_free(wf->st);
    lh_pq_writer_free(wf->w);
    lh_buf_free(wf->bytes);
    lh_test_rmtree(wf->dir);
    free(wf->dir);
}

/* "u": every value new (a hash); "r": values repeat. sbuf holds both. */
static void row_unique(size_t i, lh_pq_value *v, char *sbuf)
{
    int n = snprintf(sbuf, 64, "%016llx", (unsigned long long)lh_xxh64(&i, sizeof i, 7));
    v[0].v.s.p = sbuf;
    v[0].v.s.len = (size_t)n;
    int m = snprintf(sbuf + 32, 32, "value-%02zu", i % 40);
    v[1].v.s.p = sbuf + 32;
    v[1].v.s.len = (size_t)m;
}

/* A column whose first values are all distinct drops its dictionary after
 * the probe (its first pages stay dictionary-encoded) and the file's later
 * chunks are PLAIN from the start; a repetitive column keeps it. The
 * values read back either way. */
static void test_dictionary_probe(void)
{
    char *dir = lh_test_tmpdir();
    lh_pq_col_spec cols[2] = {
        {.name = "u", .kind = LH_PQK_STRING, .required = true, .dictionary = true,
         .statistics = true},
        {.name = "r", .kind = LH_PQK_STRING, .required = true, .dictionary = true,
         .statistics = true},
    };
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    o.row_group_rows = 3000;
    lh_buf f = LH_BUF_INIT;
    lh_pq_writer *w = write_file(dir, cols, 2, &o, 7000, row_unique, &f);
    const lh_pq_file_meta *m = lh_pq_writer_meta(w);
    CHECK_INT(m->num_row_groups, 3);
    const lh_pq_column_meta *u0 = &m->row_groups[0].columns[0].meta_data;
    CHECK(u0->has_dictionary_page_offset);
    CHECK_INT(u0->num_encoding_stats, 3); /* dictionary, indices, then PLAIN */
    for (int rg = 1; rg < 3; rg++) {
        const lh_pq_column_meta *u = &m->row_groups[rg].columns[0].meta_data;
        CHECK(!u->has_dictionary_page_offset);
        const lh_pq_column_meta *r = &m->row_groups[rg].columns[1].meta_data;
        CHECK(r->has_dictionary_page_offset);
        CHECK_INT(r->num_encoding_stats, 2); /* dictionary and indices only */
    }
    lh_error err;
    written wf = open_written(dir, w, &f);
    lh_pq_reader *rd = wf.rd;
    char sbuf[64];
    size_t row = 0;
    lh_pq_column cu, cr;
    lh_pq_column_init(&cu);
    lh_pq_column_init(&cr);
    for (size_t rg = 0; rg < 3; rg++) {
        CHECK_OK(lh_pq_reader_read_column(rd, rg, 0, &cu, &err), &err);
        CHECK_OK(lh_pq_reader_read_column(rd, rg, 1, &cr, &err), &err);
        for (size_t k = 0; k < cu.num_values; k++, row++) {
            lh_pq_value v[2];
            row_unique(row, v, sbuf);
            size_t nu, nr;
            const char *pu = lh_pq_column_bytes(&cu, k, &nu), *pr = lh_pq_column_bytes(&cr, k, &nr);
            CHECK(nu == v[0].v.s.len && memcmp(pu, v[0].v.s.p, nu) == 0);
            CHECK(nr == v[1].v.s.len && memcmp(pr, v[1].v.s.p, nr) == 0);
        }
    }
    lh_pq_column_free(&cu);
    lh_pq_column_free(&cr);
    CHECK_INT(row, 7000);
    close_written(&wf);
}

/* "s": repeating strings, some NULL; "n": the row number. */
static void row_ranged(size_t i, lh_pq_value *v, char *sbuf)
{
    int n = snprintf(sbuf, 64, "k%zu", i / 10);
    v[0].v.s.p = sbuf;
    v[0].v.s.len = (size_t)n;
    v[0].is_null = i % 7 == 3;
    v[1].v.i64 = (int64_t)i;
}

/* A ranged read decodes just the pages holding the rows asked for (pages
 * of 1000 rows here) and says where they start; past the end it is empty. */
static void test_read_column_rows(void)
{
    char *dir = lh_test_tmpdir();
    lh_pq_col_spec cols[2] = {
        {.name = "s", .kind = LH_PQK_STRING, .dictionary = true, .statistics = true},
        {.name = "n", .kind = LH_PQK_INT64, .required = true, .statistics = true},
    };
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    o.data_page_rows = 1000;
    o.page_index = true;
    lh_buf f = LH_BUF_INIT;
    lh_pq_writer *w = write_file(dir, cols, 2, &o, 7000, row_ranged, &f);
    CHECK_INT(lh_pq_writer_meta(w)->num_row_groups, 1);
    lh_error err;
    written wf = open_written(dir, w, &f);
    lh_pq_reader *rd = wf.rd;
    static const uint64_t ranges[][4] = {
        /* first, count -> col_first, levels */
        {2500, 100, 2000, 1000}, {999, 2, 0, 2000}, {6990, 500, 6000, 1000},
        {0, 7000, 0, 7000}, {7000, 10, 7000, 0}};
    lh_pq_column col;
    lh_pq_column_init(&col);
    char sbuf[64];
    for (size_t t = 0; t < sizeof ranges / sizeof *ranges; t++) {
        for (size_t leaf = 0; leaf < 2; leaf++) {
            uint64_t first = 99;
            CHECK_OK(lh_pq_reader_read_column_rows(rd, 0, leaf, ranges[t][0], ranges[t][1], &col,
                                                   &first, &err), &err);
            CHECK_INT(first, ranges[t][2]);
            CHECK_INT(col.num_levels, ranges[t][3]);
            size_t vi = 0;
            for (size_t k = 0; k < col.num_levels; k++) {
                size_t row = (size_t)first + k;
                lh_pq_value v[2];
                row_ranged(row, v, sbuf);
                if (leaf == 1) {
                    CHECK_INT(((const int64_t *)col.values)[vi++], (int64_t)row);
                    continue;
                }
                CHECK_INT(col.def_levels[k], v[0].is_null ? 0 : 1);
                if (v[0].is_null) continue;
                size_t len;
                const char *p = lh_pq_column_bytes(&col, vi++, &len);
                CHECK(len == v[0].v.s.len && memcmp(p, v[0].v.s.p, len) == 0);
            }
        }
    }
    lh_pq_column_free(&col);
    close_written(&wf);
}

static void row_none(size_t i, lh_pq_value *v, char *sbuf)
{
    (void)i; (void)v; (void)sbuf;
}

static void test_write_empty_and_errors(void)
{
    char *dir = lh_test_tmpdir();
    lh_pq_col_spec cols[1] = {{.name = "s", .kind = LH_PQK_STRING, .required = true}};
    lh_buf f = LH_BUF_INIT;
    lh_pq_writer *w = write_file(dir, cols, 1, NULL, 0, row_none, &f);
    CHECK_INT(lh_pq_writer_meta(w)->num_row_groups, 0);
    CHECK(f.len > 12);
    lh_error err;
    lh_pq_value v = {.is_null = true};
    CHECK_RC(lh_pq_writer_append(w, &v, &err), LH_ERR_INVALID); /* after finish */
    lh_pq_writer_free(w);

    lh_storage *st;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_storage_writer *sink;
    CHECK_OK(lh_storage_writer_open(st, "u.parquet", &sink, &err), &err);
    CHECK_OK(lh_pq_writer_new(sink, cols, 1, NULL, &w, &err), &err);
    CHECK_RC(lh_pq_writer_append(w, &v, &err), LH_ERR_INVALID); /* NULL in required */
    CHECK(strstr(err.msg, "required column s") != NULL);
    lh_pq_writer_free(w);
    lh_pq_col_spec dup[2] = {{.name = "a"}, {.name = "a"}};
    CHECK_RC(lh_pq_writer_new(sink, dup, 2, NULL, &w, &err), LH_ERR_INVALID);
    lh_storage_writer_free(sink);
    lh_storage_free(st);
    lh_buf_free(&f);
    lh_test_rmtree(dir);
    free(dir);
}

static void row_long(size_t i, lh_pq_value *v, char *sbuf)
{
    static char big[200];
    memset(big, 'z', sizeof big);
    memcpy(big + 60, "\xc3\xa9", 2); /* a 2-byte char straddling the 64-byte cut */
    v[0].v.s.p = i == 0 ? big : "a";
    v[0].v.s.len = i == 0 ? sizeof big : 1;
    (void)sbuf;
}

static void test_stats_truncation(void)
{
    char *dir = lh_test_tmpdir();
    lh_pq_col_spec cols[1] = {{.name = "s", .kind = LH_PQK_STRING, .statistics = true}};
    lh_buf f = LH_BUF_INIT;
    lh_pq_writer *w = write_file(dir, cols, 1, NULL, 2, row_long, &f);
    const lh_pq_statistics *s = &lh_pq_writer_meta(w)->row_groups[0].columns[0].meta_data.statistics;
    CHECK(s->min_value.len == 1 && s->min_value.data[0] == 'a');
    CHECK(!s->has_is_min_value_exact);
    CHECK(s->has_is_max_value_exact && !s->is_max_value_exact);
    /* prefix up to the 2-byte char (ends at 62 <= 64), then 'z'+1 = '{' */
    CHECK_INT(s->max_value.len, 64);
    CHECK(s->max_value.data[63] == '{');
    lh_pq_writer_free(w);
    lh_buf_free(&f);
    lh_test_rmtree(dir);
    free(dir);
}

/* optional group a { optional binary s; optional group m (MAP) {
 *   repeated group key_value { required binary key; optional int64 value } } } */
static const lh_pq_node NESTED[] = {
    {.name = "a", .num_children = 2, .repetition = LH_PQ_OPTIONAL, .converted_type = -1},
    {.name = "s", .repetition = LH_PQ_OPTIONAL, .kind = LH_PQK_STRING, .statistics = true},
    {.name = "m", .num_children = 1, .repetition = LH_PQ_OPTIONAL,
     .converted_type = LH_PQ_CT_MAP, .logical = LH_PQ_LT_MAP},
    {.name = "key_value", .num_children = 2, .repetition = LH_PQ_REPEATED, .converted_type = -1},
    {.name = "key", .repetition = LH_PQ_REQUIRED, .kind = LH_PQK_STRING, .dictionary = true},
    {.name = "value", .repetition = LH_PQ_OPTIONAL, .kind = LH_PQK_INT64},
};

static void test_nested(void)
{
    char *dir = lh_test_tmpdir();
    lh_error err;
    lh_storage *st;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_storage_writer *sink;
    CHECK_OK(lh_storage_writer_open(st, "n.parquet", &sink, &err), &err);
    lh_pq_writer *w;
    CHECK_OK(lh_pq_writer_new_nested(sink, NESTED, 6, NULL, &w, &err), &err);
    CHECK_INT(lh_pq_writer_num_leaves(w), 3);
    int d, r;
    lh_pq_writer_leaf_levels(w, 0, &d, &r);
    CHECK(d == 2 && r == 0);
    lh_pq_writer_leaf_levels(w, 1, &d, &r);
    CHECK(d == 3 && r == 1);
    lh_pq_writer_leaf_levels(w, 2, &d, &r);
    CHECK(d == 4 && r == 1);
    const lh_pq_file_meta *m = lh_pq_writer_meta(w);
    CHECK_INT(m->num_schema, 7);
    CHECK_INT(m->schema[0].num_children, 1);
    /* row 1: a = {s: "x", m: {k1: 5, k2: null}} */
    lh_pq_value sv = {.v.s = {"x", 1}}, k1 = {.v.s = {"k1", 2}}, k2 = {.v.s = {"k2", 2}};
    lh_pq_value five = {.v.i64 = 5}, nul = {.is_null = true};
    CHECK_OK(lh_pq_writer_put(w, 0, 2, 0, &sv, &err), &err);
    CHECK_OK(lh_pq_writer_put(w, 1, 3, 0, &k1, &err), &err);
    CHECK_OK(lh_pq_writer_put(w, 1, 3, 1, &k2, &err), &err);
    CHECK_OK(lh_pq_writer_put(w, 2, 4, 0, &five, &err), &err);
    CHECK_OK(lh_pq_writer_put(w, 2, 3, 1, &nul, &err), &err);
    CHECK_OK(lh_pq_writer_end_row(w, &err), &err);
    /* row 2: a = null, via JSON */
    json_t *row = json_loads("{\"a\": null}", 0, NULL);
    CHECK_OK(lh_pq_writer_append_json(w, row, &err), &err);
    json_decref(row);
    row = json_loads("{\"a\": {\"s\": \"y\", \"m\": {}}}", 0, NULL);
    CHECK_OK(lh_pq_writer_append_json(w, row, &err), &err);
    json_decref(row);
    lh_pq_value v1 = {0};
    CHECK_RC(lh_pq_writer_append(w, &v1, &err), LH_ERR_INVALID); /* flat API on nested */
    CHECK_OK(lh_pq_writer_finish(w, &err), &err);
    CHECK_INT(m->num_rows, 3);
    const lh_pq_column_meta *c = &m->row_groups[0].columns[1].meta_data;
    CHECK_INT(c->num_values, 4); /* k1, k2, null map, empty map */
    CHECK_INT(c->path_len, 4);
    CHECK_STR(c->path_in_schema[3], "key");
    CHECK_INT(m->row_groups[0].columns[0].meta_data.statistics.null_count, 1);
    lh_pq_writer_free(w);
    lh_storage_writer_free(sink);

    /* level validation poisons the writer */
    CHECK_OK(lh_storage_writer_open(st, "bad.parquet", &sink, &err), &err);
    CHECK_OK(lh_pq_writer_new_nested(sink, NESTED, 6, NULL, &w, &err), &err);
    CHECK_RC(lh_pq_writer_put(w, 1, 3, 1, &k1, &err), LH_ERR_INVALID); /* rep>0 first */
    CHECK_RC(lh_pq_writer_end_row(w, &err), LH_ERR_INVALID);
    lh_pq_writer_free(w);
    CHECK_OK(lh_pq_writer_new_nested(sink, NESTED, 6, NULL, &w, &err), &err);
    CHECK_RC(lh_pq_writer_put(w, 0, 5, 0, &sv, &err), LH_ERR_INVALID);
    lh_pq_writer_free(w);
    CHECK_OK(lh_pq_writer_new_nested(sink, NESTED, 6, NULL, &w, &err), &err);
    row = json_loads("{\"a\": {\"s\": 3}}", 0, NULL);
    CHECK_RC(lh_pq_writer_append_json(w, row, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "field s") != NULL);
    json_decref(row);
    lh_pq_writer_free(w);
    CHECK_RC(lh_pq_writer_new_nested(sink, NESTED, 3, NULL, &w, &err), LH_ERR_INVALID);
    lh_storage_writer_free(sink);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* A sink that fails once more than limit bytes were written. */
typedef struct failing_sink {
    lh_storage_writer base;
    size_t limit;
} failing_sink;

static lh_status failing_write(lh_storage_writer *w, const void *data, size_t n, lh_error *err)
{
    failing_sink *f = (failing_sink *)w;
    (void)data;
    if (w->offset + n > f->limit) return lh_error_set(err, LH_ERR_IO, "disk full");
    w->offset += n;
    return LH_OK;
}

static void test_sink_failure(void)
{
    lh_pq_col_spec cols[2] = {
        {.name = "s", .kind = LH_PQK_STRING, .dictionary = true, .bloom_filter = true},
        {.name = "n", .kind = LH_PQK_INT64, .statistics = true},
    };
    size_t limits[] = {0, 3, 100, 5000, 20000};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        failing_sink sink;
        memset(&sink, 0, sizeof sink);
        sink.base.write = failing_write;
        sink.limit = limits[k];
        lh_pq_writer_opts o;
        lh_pq_writer_opts_init(&o);
        o.row_group_rows = 100;
        lh_pq_writer *w;
        lh_error err;
        CHECK_OK(lh_pq_writer_new(&sink.base, cols, 2, &o, &w, &err), &err);
        lh_status st = LH_OK;
        char buf[32];
        for (int i = 0; i < 1000 && st == LH_OK; i++) {
            lh_pq_value v[2] = {{.v.s = {buf, (size_t)snprintf(buf, sizeof buf, "v%d", i)}},
                                {.v.i64 = i}};
            st = lh_pq_writer_append(w, v, &err);
        }
        if (st == LH_OK) st = lh_pq_writer_finish(w, &err);
        CHECK_INT(st, LH_ERR_IO);
        CHECK(strstr(err.msg, "disk full") != NULL);
        lh_pq_value v[2] = {{.is_null = true}, {.is_null = true}};
        CHECK_RC(lh_pq_writer_append(w, v, &err), LH_ERR_INVALID);
        CHECK(lh_pq_writer_finish(w, &err) != LH_OK);
        lh_pq_writer_free(w);
    }
}

static void row_nan(size_t i, lh_pq_value *v, char *sbuf)
{
    (void)sbuf;
    double vals[] = {NAN, 0.0, 1.5, -0.0, NAN};
    v[0].v.f64 = vals[i % 5];
    v[1].v.f64 = NAN;
}

static void test_double_stats(void)
{
    char *dir = lh_test_tmpdir();
    lh_pq_col_spec cols[2] = {
        {.name = "d", .kind = LH_PQK_DOUBLE, .required = true, .statistics = true, .dictionary = true},
        {.name = "nan", .kind = LH_PQK_DOUBLE, .statistics = true},
    };
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    o.page_index = true;
    lh_buf f = LH_BUF_INIT;
    lh_pq_writer *w = write_file(dir, cols, 2, &o, 10, row_nan, &f);
    const lh_pq_row_group *rg = &lh_pq_writer_meta(w)->row_groups[0];
    const lh_pq_statistics *s = &rg->columns[0].meta_data.statistics;
    double lo, hi;
    CHECK(s->has_min_value && s->has_max_value);
    memcpy(&lo, s->min_value.data, 8);
    memcpy(&hi, s->max_value.data, 8);
    CHECK(lo == 0.0 && signbit(lo)); /* zero min is -0.0 */
    CHECK(hi == 1.5);
    s = &rg->columns[1].meta_data.statistics;
    CHECK(!s->has_min_value && !s->has_max_value); /* NaN never bounds */
    CHECK_INT(s->null_count, 0);
    CHECK(rg->columns[1].has_column_index && rg->columns[1].has_offset_index);
    lh_pq_writer_free(w);
    lh_buf_free(&f);
    lh_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    RUN(test_double_stats);
    RUN(test_sink_failure);
    RUN(test_nested);
    RUN(test_rle);
    RUN(test_write_basic);
    RUN(test_dictionary_probe);
    RUN(test_read_column_rows);
    RUN(test_write_empty_and_errors);
    RUN(test_stats_truncation);
    RUN(test_bloom_header);
    RUN(test_schema_bytes);
    RUN(test_page_header_bytes);
    return lh_test_report();
}
