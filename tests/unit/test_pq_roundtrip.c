/* Writer -> reader round trips inside the project: every kind, nulls,
 * dictionary fallback, several pages and row groups, every codec, bloom
 * filter pruning and nested levels. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/format/pq_reader.h"
#include "lh/format/pq_writer.h"
#include "pq_check.h"
#include "test.h"

#define NCOLS 6
#define NROWS 5000

static const lh_pq_col_spec COLS[NCOLS] = {
    {.name = "s", .kind = LH_PQK_STRING, .dictionary = true, .statistics = true, .bloom_filter = true},
    {.name = "t", .kind = LH_PQK_TIMESTAMP_US, .required = true, .dictionary = true, .statistics = true},
    {.name = "b", .kind = LH_PQK_BOOL, .statistics = true},
    {.name = "n", .kind = LH_PQK_INT64, .statistics = true, .bloom_filter = true},
    {.name = "i", .kind = LH_PQK_INT32, .required = true, .dictionary = true},
    {.name = "d", .kind = LH_PQK_DOUBLE, .dictionary = true, .statistics = true},
};

static void row(size_t r, lh_pq_value *v, char *sbuf)
{
    memset(v, 0, NCOLS * sizeof *v);
    int n = r % 7 ? snprintf(sbuf, 64, "v%zu", r % 1500) : 0; /* some empty strings */
    v[0].is_null = r % 11 == 0;
    v[0].v.s.p = sbuf;
    v[0].v.s.len = (size_t)n;
    v[1].v.i64 = 1700000000000000LL + (int64_t)(r % 100) * 1000000;
    v[2].is_null = r % 5 == 0;
    v[2].v.b = r % 3 == 0;
    v[3].is_null = r % 13 == 0;
    v[3].v.i64 = (int64_t)r * -77777;
    v[4].v.i32 = (int32_t)(r % 9) - 4;
    v[5].is_null = r % 2 == 0;
    v[5].v.f64 = (double)r / 8;
}

/* keep_dict reads the same values as a copying read (want), counting
 * those left in the dictionary and those copied. */
static void check_keep_dict(lh_pq_reader *rd, size_t g, size_t c, const lh_pq_column *want,
                            size_t *from_dict, size_t *copied)
{
    lh_error err;
    lh_pq_column kd;
    lh_pq_column_init(&kd);
    kd.keep_dict = true;
    CHECK_OK(lh_pq_reader_read_column(rd, g, c, &kd, &err), &err);
    CHECK_INT(kd.num_values, want->num_values);
    size_t bytes = 0;
    for (size_t k = 0; k < kd.num_values && k < want->num_values; k++) {
        size_t len;
        const char *p = lh_pq_column_bytes(&kd, k, &len);
        size_t wlen = (size_t)(want->offsets[k + 1] - want->offsets[k]);
        CHECK(len == wlen && memcmp(p, want->bytes.data + want->offsets[k], len) == 0);
        if (kd.dict && kd.dict_idx[k] != LH_PQ_NO_DICT) {
            (*from_dict)++;
        } else {
            (*copied)++;
            bytes += len;
        }
    }
    CHECK_INT(kd.bytes.len, bytes); /* only PLAIN values were copied */
    lh_pq_column_free(&kd);
}

static void write_read(lh_pq_codec codec)
{
    char *dir = lh_test_tmpdir();
    lh_error err;
    lh_storage *st;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_storage_writer *sink;
    CHECK_OK(lh_storage_writer_open(st, "rt.parquet", &sink, &err), &err);
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    o.codec = codec;
    o.row_group_rows = 2000;
    o.data_page_size = 1500;
    o.dict_page_size = 4000; /* "s" falls back to PLAIN, the others stay */
    o.page_index = codec != LH_PQ_GZIP;
    lh_pq_writer *w;
    CHECK_OK(lh_pq_writer_new(sink, COLS, NCOLS, &o, &w, &err), &err);
    lh_pq_value v[NCOLS];
    char sbuf[64];
    for (size_t r = 0; r < NROWS; r++) {
        row(r, v, sbuf);
        CHECK_OK(lh_pq_writer_append(w, v, &err), &err);
    }
    CHECK_OK(lh_pq_writer_finish(w, &err), &err);
    CHECK_OK(lh_storage_writer_commit(sink, &err), &err);
    lh_storage_writer_free(sink);
    lh_pq_writer_free(w);

    lh_pq_reader *rd;
    CHECK_OK(lh_pq_reader_open(st, "rt.parquet", &rd, &err), &err);
    CHECK_INT(lh_pq_reader_num_row_groups(rd), 3);
    CHECK_INT(lh_pq_reader_num_leaves(rd), NCOLS);
    lh_pq_column col;
    lh_pq_column_init(&col);
    size_t base = 0, from_dict = 0, copied = 0;
    int bad = 0;
    for (size_t g = 0; g < lh_pq_reader_num_row_groups(rd); g++) {
        size_t rows = (size_t)lh_pq_reader_row_group_rows(rd, g);
        for (size_t c = 0; c < NCOLS; c++) {
            lh_status rs = lh_pq_reader_read_column(rd, g, c, &col, &err);
            CHECK_OK(rs, &err);
            if (rs != LH_OK) continue;
            CHECK_INT(col.num_levels, rows);
            size_t k = 0;
            for (size_t r = 0; r < rows; r++) {
                row(base + r, v, sbuf);
                bool present = col.def_levels ? col.def_levels[r] == 1 : true;
                if (present == v[c].is_null) {
                    bad++;
                    continue;
                }
                if (!present) continue;
                switch (COLS[c].kind) {
                case LH_PQK_STRING:
                    bad += col.offsets[k + 1] - col.offsets[k] != v[c].v.s.len ||
                           memcmp(col.bytes.data + col.offsets[k], v[c].v.s.p, v[c].v.s.len) != 0;
                    break;
                case LH_PQK_TIMESTAMP_US:
                case LH_PQK_INT64: bad += ((int64_t *)col.values)[k] != v[c].v.i64; break;
                case LH_PQK_INT32: bad += ((int32_t *)col.values)[k] != v[c].v.i32; break;
                case LH_PQK_DOUBLE: bad += ((double *)col.values)[k] != v[c].v.f64; break;
                case LH_PQK_BOOL: bad += ((uint8_t *)col.values)[k] != v[c].v.b; break;
                }
                k++;
            }
            CHECK_INT(k, col.num_values);
            if (COLS[c].kind == LH_PQK_STRING) check_keep_dict(rd, g, c, &col, &from_dict, &copied);
            if (c == 0) check_page_index(rd, g, 0, &col, o.page_index);
        }
        /* bloom + stats pruning: present values may be there, absent ones not */
        bool may;
        char present[32];
        int pn = snprintf(present, sizeof present, "v%zu", (base + 1) % 1500); /* row base+1 */
        CHECK_OK(lh_pq_reader_may_contain(rd, g, 0, present, (size_t)pn, &may, &err), &err);
        CHECK(may);
        CHECK_OK(lh_pq_reader_may_contain(rd, g, 0, "nope-x", 6, &may, &err), &err);
        CHECK(!may);
        int64_t n = (int64_t)(base + 1) * -77777;
        CHECK_OK(lh_pq_reader_may_contain(rd, g, 3, &n, 8, &may, &err), &err);
        CHECK(may);
        base += rows;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(base, NROWS);
    /* "s" has dictionary pages and, after the fallback, PLAIN ones */
    CHECK(from_dict > 0);
    CHECK(copied > 0);
    lh_pq_column_free(&col);
    lh_pq_reader_free(rd);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

static void test_codecs(void)
{
    const lh_pq_codec codecs[] = {LH_PQ_UNCOMPRESSED, LH_PQ_SNAPPY, LH_PQ_GZIP, LH_PQ_ZSTD,
                                  LH_PQ_LZ4_RAW, LH_PQ_BROTLI, LH_PQ_LZ4};
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) write_read(codecs[i]);
}

/* NROWS rows into dir/key: one append each (batch 0) or append_rows in
 * batches of the given sizes, cycled; opts small enough to cross pages,
 * dictionary fallback and both row-group limits. */
static void write_rows(lh_storage *st, const char *key, const size_t *batches, size_t nb,
                       lh_buf *bytes)
{
    lh_error err;
    lh_storage_writer *sink;
    CHECK_OK(lh_storage_writer_open(st, key, &sink, &err), &err);
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    o.codec = LH_PQ_ZSTD;
    o.row_group_rows = 1999; /* not a multiple of 64 */
    o.row_group_bytes = 9000; /* some row groups end by bytes */
    o.data_page_size = 700;
    o.dict_page_size = 3000;
    o.page_index = true;
    lh_pq_writer *w;
    CHECK_OK(lh_pq_writer_new(sink, COLS, NCOLS, &o, &w, &err), &err);
    static lh_pq_value v[NROWS * NCOLS];
    static char sbuf[NROWS][64];
    for (size_t r = 0; r < NROWS; r++) row(r, v + r * NCOLS, sbuf[r]);
    for (size_t r = 0, b = 0; r < NROWS; b++) {
        size_t k = nb ? batches[b % nb] : 1;
        if (k > NROWS - r) k = NROWS - r;
        if (nb) CHECK_OK(lh_pq_writer_append_rows(w, v + r * NCOLS, k, NULL, &err), &err);
        else CHECK_OK(lh_pq_writer_append(w, v + r * NCOLS, &err), &err);
        r += k;
    }
    CHECK_OK(lh_pq_writer_finish(w, &err), &err);
    CHECK_OK(lh_storage_writer_commit(sink, &err), &err);
    lh_storage_writer_free(sink);
    lh_pq_writer_free(w);
    lh_buf_reset(bytes);
    CHECK_OK(lh_storage_read(st, key, bytes, &err), &err);
}

/* append_rows writes the file row-at-a-time appends write, byte for byte,
 * whatever the batch sizes; an invalid row stops it after the rows before. */
static void test_append_rows(void)
{
    char *dir = lh_test_tmpdir();
    lh_error err;
    lh_storage *st;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_buf want = LH_BUF_INIT, got = LH_BUF_INIT;
    write_rows(st, "one.parquet", NULL, 0, &want);
    const size_t sizes[][4] = {{1}, {7, 64, 3}, {100, 333}, {NROWS}};
    const size_t counts[] = {1, 3, 2, 1};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        write_rows(st, "batch.parquet", sizes[i], counts[i], &got);
        CHECK(got.len == want.len && memcmp(got.data, want.data, want.len) == 0);
    }

    /* a NULL in required column t at row 130, inside the second batch */
    lh_storage_writer *sink;
    CHECK_OK(lh_storage_writer_open(st, "bad.parquet", &sink, &err), &err);
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    lh_pq_writer *w;
    CHECK_OK(lh_pq_writer_new(sink, COLS, NCOLS, &o, &w, &err), &err);
    static lh_pq_value v[200 * NCOLS];
    static char sbuf[200][64];
    for (size_t r = 0; r < 200; r++) row(r, v + r * NCOLS, sbuf[r]);
    CHECK_OK(lh_pq_writer_append_rows(w, v, 10, NULL, &err), &err);
    v[130 * NCOLS + 1].is_null = true;
    size_t done = 99;
    CHECK_INT(lh_pq_writer_append_rows(w, v + 10 * NCOLS, 190, &done, &err), LH_ERR_INVALID);
    CHECK_INT(done, 120);
    CHECK(strstr(err.msg, "row 130: NULL in required column t") != NULL);
    CHECK_OK(lh_pq_writer_finish(w, &err), &err);
    CHECK_OK(lh_storage_writer_commit(sink, &err), &err);
    lh_storage_writer_free(sink);
    CHECK_INT(lh_pq_writer_meta(w)->num_rows, 130);
    lh_pq_writer_free(w);

    lh_buf_free(&want);
    lh_buf_free(&got);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

static void test_nested_levels(void)
{
    static const lh_pq_node nodes[] = {
        {.name = "a", .num_children = 2, .repetition = LH_PQ_OPTIONAL, .converted_type = -1},
        {.name = "s", .repetition = LH_PQ_OPTIONAL, .kind = LH_PQK_STRING},
        {.name = "m", .num_children = 1, .repetition = LH_PQ_OPTIONAL,
         .converted_type = LH_PQ_CT_MAP, .logical = LH_PQ_LT_MAP},
        {.name = "key_value", .num_children = 2, .repetition = LH_PQ_REPEATED, .converted_type = -1},
        {.name = "key", .repetition = LH_PQ_REQUIRED, .kind = LH_PQK_STRING, .dictionary = true},
        {.name = "value", .repetition = LH_PQ_OPTIONAL, .kind = LH_PQK_INT64},
    };
    const char *rows[] = {"{\"a\": {\"s\": \"x\", \"m\": {\"k1\": 5, \"k2\": null}}}",
                          "{}", "{\"a\": {\"m\": {}}}", "{\"a\": {\"s\": \"y\"}}"};
    /* key leaf: (rep, def) per level entry */
    const int16_t want_rep[] = {0, 1, 0, 0, 0}, want_def[] = {3, 3, 0, 2, 1};
    const int16_t want_vdef[] = {4, 3, 0, 2, 1};
    char *dir = lh_test_tmpdir();
    lh_error err;
    lh_storage *st;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_storage_writer *sink;
    CHECK_OK(lh_storage_writer_open(st, "n.parquet", &sink, &err), &err);
    lh_pq_writer *w;
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    o.page_index = true;
    CHECK_OK(lh_pq_writer_new_nested(sink, nodes, 6, &o, &w, &err), &err);
    for (size_t i = 0; i < 4; i++) {
        json_t *j = json_loads(rows[i], 0, NULL);
        CHECK_OK(lh_pq_writer_append_json(w, j, &err), &err);
        json_decref(j);
    }
    CHECK_OK(lh_pq_writer_finish(w, &err), &err);
    CHECK_OK(lh_storage_writer_commit(sink, &err), &err);
    lh_storage_writer_free(sink);
    lh_pq_writer_free(w);
    lh_pq_reader *rd;
    CHECK_OK(lh_pq_reader_open(st, "n.parquet", &rd, &err), &err);
    int key = lh_pq_reader_find(rd, "a.m.key_value.key");
    int val = lh_pq_reader_find(rd, "a.m.key_value.value");
    CHECK(key == 1 && val == 2);
    lh_pq_column col;
    lh_pq_column_init(&col);
    CHECK_OK(lh_pq_reader_read_column(rd, 0, 1, &col, &err), &err);
    CHECK_INT(col.num_levels, 5);
    CHECK_INT(col.num_values, 2);
    for (size_t i = 0; i < 5 && col.num_levels == 5; i++) {
        CHECK_INT(col.rep_levels[i], want_rep[i]);
        CHECK_INT(col.def_levels[i], want_def[i]);
    }
    CHECK_OK(lh_pq_reader_read_column(rd, 0, 2, &col, &err), &err);
    CHECK_INT(col.num_values, 1);
    for (size_t i = 0; i < 5 && col.num_levels == 5; i++) CHECK_INT(col.def_levels[i], want_vdef[i]);
    CHECK(col.num_values == 1 && ((int64_t *)col.values)[0] == 5);
    lh_pq_column_free(&col);
    lh_pq_reader_free(rd);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* Bounds truncated for long strings carry is_*_value_exact = false: the
 * reader, which walks over the row groups at open and decodes them one by
 * one later, reads such footers, their bounds and their values. Only the
 * max is truncated (the min of each row group is short): a lone boolean
 * field, whose value is all in its field header. */
static void test_truncated_bounds(void)
{
    static const lh_pq_col_spec cols[] = {
        {.name = "k", .kind = LH_PQK_STRING, .required = true, .statistics = true},
        {.name = "n", .kind = LH_PQK_INT64, .statistics = true},
    };
    char *dir = lh_test_tmpdir();
    lh_error err;
    lh_storage *st;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_storage_writer *sink;
    CHECK_OK(lh_storage_writer_open(st, "long.parquet", &sink, &err), &err);
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    o.row_group_rows = 100;
    o.stats_truncate_len = 8;
    lh_pq_writer *w;
    CHECK_OK(lh_pq_writer_new(sink, cols, 2, &o, &w, &err), &err);
    char key[64];
    for (int r = 0; r < 450; r++) {
        lh_pq_value v[2] = {{0}};
        v[0].v.s.len = (size_t)snprintf(key, sizeof key, r % 100 ? "entity-%05d-with-a-long-tail"
                                                                  : "e-%05d", r);
        v[0].v.s.p = key;
        v[1].v.i64 = r;
        CHECK_OK(lh_pq_writer_append(w, v, &err), &err);
    }
    CHECK_OK(lh_pq_writer_finish(w, &err), &err);
    CHECK_OK(lh_storage_writer_commit(sink, &err), &err);
    lh_storage_writer_free(sink);
    lh_pq_writer_free(w);

    lh_pq_reader *rd = NULL;
    CHECK_OK(lh_pq_reader_open(st, "long.parquet", &rd, &err), &err);
    if (rd) {
        CHECK_INT(lh_pq_reader_num_row_groups(rd), 5);
        CHECK_INT(lh_pq_reader_row_group_rows(rd, 4), 50);
        lh_pq_column col;
        lh_pq_column_init(&col);
        /* last row group first: each decodes on its own */
        for (size_t g = 5; g-- > 0;) {
            const lh_pq_statistics *s = NULL;
            CHECK_OK(lh_pq_reader_stats(rd, g, 0, &s, &err), &err);
            CHECK(s && s->has_is_max_value_exact && !s->is_max_value_exact);
            CHECK(s && !s->has_is_min_value_exact);
            CHECK(s && s->max_value.len <= 8 && s->min_value.len <= 8);
            CHECK_OK(lh_pq_reader_stats(rd, g, 1, &s, &err), &err);
            int64_t min = -1;
            if (s && s->has_min_value && s->min_value.len == 8) memcpy(&min, s->min_value.data, 8);
            CHECK_INT(min, (int64_t)g * 100); /* little-endian, as this host */
            CHECK_OK(lh_pq_reader_read_column(rd, g, 0, &col, &err), &err);
            int n = snprintf(key, sizeof key, "entity-%05d-with-a-long-tail", (int)g * 100 + 7);
            CHECK(col.num_values > 7 && col.offsets[8] - col.offsets[7] == (uint64_t)n &&
                  memcmp(col.bytes.data + col.offsets[7], key, (size_t)n) == 0);
            bool may = false;
            CHECK_OK(lh_pq_reader_may_contain(rd, g, 0, key, (size_t)n, &may, &err), &err);
            CHECK(may);
        }
        lh_pq_column_free(&col);
        lh_pq_reader_free(rd);
    }
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    RUN(test_codecs);
    RUN(test_nested_levels);
    RUN(test_append_rows);
    RUN(test_truncated_bounds);
    return lh_test_report();
}
