/* Parquet reader on hand-built files: the rare layouts common writers no
 * longer produce (legacy BIT_PACKED levels, PLAIN_DICTIONARY dictionary
 * pages, dictionary_page_offset = 0, index and unknown page types, width-0
 * indices, uncompressed V2 values in a compressed chunk) and malformed
 * chunks (second dictionary, index out of range, bad levels). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/format/pq_meta.h"
#include "lh/format/pq_reader.h"
#include "test.h"

/* def levels of the 8 rows: 1 0 1 1 0 1 1 1 (6 values) */
static const int16_t DEFS[8] = {1, 0, 1, 1, 0, 1, 1, 1};

typedef struct synth {
    lh_buf f;
    size_t chunk_start;
} synth;

static void s_begin(synth *s)
{
    lh_buf_init(&s->f);
    lh_buf_append(&s->f, "PAR1", 4);
    s->chunk_start = s->f.len;
}

static void s_page(synth *s, lh_pq_page_type type, const void *body, size_t n, int32_t usize)
{
    lh_pq_page_header h;
    lh_pq_page_header_init(&h);
    h.type = type;
    h.compressed_page_size = (int32_t)n;
    h.uncompressed_page_size = usize >= 0 ? usize : (int32_t)n;
    lh_pq_page_header_write(&h, &s->f);
    lh_buf_append(&s->f, body, n);
}

static void s_dict(synth *s, lh_pq_encoding enc, const int32_t *vals, int n)
{
    lh_pq_page_header h;
    lh_pq_page_header_init(&h);
    h.type = LH_PQ_DICTIONARY_PAGE;
    h.compressed_page_size = h.uncompressed_page_size = 4 * n;
    h.has_dictionary_page_header = true;
    h.dictionary_page_header.num_values = n;
    h.dictionary_page_header.encoding = enc;
    lh_pq_page_header_write(&h, &s->f);
    lh_buf_append(&s->f, vals, 4 * (size_t)n);
}

static void s_data_v1(synth *s, lh_pq_encoding enc, lh_pq_encoding def_enc, const void *body,
                      size_t n)
{
    lh_pq_page_header h;
    lh_pq_page_header_init(&h);
    h.type = LH_PQ_DATA_PAGE;
    h.compressed_page_size = h.uncompressed_page_size = (int32_t)n;
    h.has_data_page_header = true;
    h.data_page_header.num_values = 8;
    h.data_page_header.encoding = enc;
    h.data_page_header.definition_level_encoding = def_enc;
    h.data_page_header.repetition_level_encoding = LH_PQ_ENC_RLE;
    lh_pq_page_header_write(&h, &s->f);
    lh_buf_append(&s->f, body, n);
}

/* Footer for one OPTIONAL INT32 leaf "v", 8 rows, one chunk. */
static void s_finish(synth *s, lh_pq_codec codec, int64_t data_page_offset, bool dict_zero)
{
    size_t chunk_len = s->f.len - s->chunk_start;
    lh_pq_schema_element schema[2];
    memset(schema, 0, sizeof schema);
    schema[0].name = "schema";
    schema[0].num_children = 1;
    schema[0].converted_type = LH_PQ_CT_NONE;
    schema[0].field_id = -1;
    schema[1].name = "v";
    schema[1].has_type = true;
    schema[1].type = LH_PQ_INT32;
    schema[1].has_repetition = true;
    schema[1].repetition = LH_PQ_OPTIONAL;
    schema[1].converted_type = LH_PQ_CT_NONE;
    schema[1].field_id = -1;
    char *path[1] = {"v"};
    lh_pq_encoding encs[1] = {LH_PQ_ENC_PLAIN};
    lh_pq_column_chunk cc;
    memset(&cc, 0, sizeof cc);
    cc.has_meta_data = true;
    cc.meta_data.type = LH_PQ_INT32;
    cc.meta_data.encodings = encs;
    cc.meta_data.num_encodings = 1;
    cc.meta_data.path_in_schema = path;
    cc.meta_data.path_len = 1;
    cc.meta_data.codec = codec;
    cc.meta_data.num_values = 8;
    cc.meta_data.total_compressed_size = cc.meta_data.total_uncompressed_size = (int64_t)chunk_len;
    cc.meta_data.data_page_offset = data_page_offset ? data_page_offset : (int64_t)s->chunk_start;
    cc.meta_data.has_dictionary_page_offset = dict_zero;
    cc.meta_data.dictionary_page_offset = 0;
    lh_pq_row_group rg;
    memset(&rg, 0, sizeof rg);
    rg.columns = &cc;
    rg.num_columns = 1;
    rg.num_rows = 8;
    rg.total_byte_size = (int64_t)chunk_len;
    rg.ordinal = -1;
    lh_pq_file_meta m;
    memset(&m, 0, sizeof m);
    m.version = 1;
    m.schema = schema;
    m.num_schema = 2;
    m.num_rows = 8;
    m.row_groups = &rg;
    m.num_row_groups = 1;
    size_t at = s->f.len;
    lh_pq_file_meta_write(&m, &s->f);
    lh_buf_append_u32le(&s->f, (uint32_t)(s->f.len - at));
    lh_buf_append(&s->f, "PAR1", 4);
}

/* Read the chunk; on success compare against DEFS and want[6]. */
static lh_status s_read(synth *s, const int32_t *want, lh_error *err)
{
    lh_pq_reader *r = NULL;
    lh_status rc = lh_pq_reader_open_mem(s->f.data, s->f.len, "synth.parquet", &r, err);
    if (rc != LH_OK) return rc;
    lh_pq_column c;
    lh_pq_column_init(&c);
    rc = lh_pq_reader_read_column(r, 0, 0, &c, err);
    if (rc == LH_OK) {
        CHECK_INT(c.num_levels, 8);
        CHECK_INT(c.num_values, 6);
        for (int i = 0; i < 8 && c.num_levels == 8; i++) CHECK_INT(c.def_levels[i], DEFS[i]);
        for (int i = 0; i < 6 && c.num_values == 6; i++) CHECK_INT(((int32_t *)c.values)[i], want[i]);
    }
    lh_pq_column_free(&c);
    lh_pq_reader_free(r);
    return rc;
}

static void test_bit_packed_levels_and_skipped_pages(void)
{
    synth s;
    s_begin(&s);
    s_page(&s, LH_PQ_INDEX_PAGE, "junk!", 5, -1);
    s_page(&s, (lh_pq_page_type)7, "??", 2, -1); /* unknown page type */
    uint8_t body[1 + 24];
    body[0] = 0xB7; /* MSB-first 1 0 1 1 0 1 1 1 */
    static const int32_t vals[6] = {5, -6, 7, 8, 9, 2147483647};
    memcpy(body + 1, vals, sizeof vals);
    s_data_v1(&s, LH_PQ_ENC_PLAIN, LH_PQ_ENC_BIT_PACKED, body, sizeof body);
    s_finish(&s, LH_PQ_UNCOMPRESSED, 0, false);
    lh_error err;
    CHECK_OK(s_read(&s, vals, &err), &err);
    lh_buf_free(&s.f);
}

/* RLE def levels (length-prefixed, one bit-packed group) */
static const uint8_t RLE_DEFS[6] = {2, 0, 0, 0, 0x03, 0xED};

static void dict_file(synth *s, int second_dict, const uint8_t *idx, size_t nidx, bool dict_zero)
{
    s_begin(s);
    static const int32_t dict[2] = {10, 20};
    s_dict(s, LH_PQ_ENC_PLAIN_DICTIONARY, dict, 2);
    if (second_dict) s_dict(s, LH_PQ_ENC_PLAIN, dict, 2);
    uint8_t body[64];
    memcpy(body, RLE_DEFS, sizeof RLE_DEFS);
    memcpy(body + sizeof RLE_DEFS, idx, nidx);
    s_data_v1(s, LH_PQ_ENC_PLAIN_DICTIONARY, LH_PQ_ENC_RLE, body, sizeof RLE_DEFS + nidx);
    s_finish(s, LH_PQ_UNCOMPRESSED, 0, dict_zero);
}

static void test_dictionary_variants(void)
{
    lh_error err;
    synth s;
    /* width 1, bit-packed indices 0 1 1 0 1 0 */
    static const uint8_t idx[] = {0x01, 0x03, 0x16};
    static const int32_t want[6] = {10, 20, 20, 10, 20, 10};
    dict_file(&s, 0, idx, sizeof idx, true);
    CHECK_OK(s_read(&s, want, &err), &err);
    lh_buf_free(&s.f);
    /* width 0: one RLE run of 6 with no value bytes */
    static const uint8_t idx0[] = {0x00, 0x0C};
    static const int32_t want0[6] = {10, 10, 10, 10, 10, 10};
    dict_file(&s, 0, idx0, sizeof idx0, false);
    CHECK_OK(s_read(&s, want0, &err), &err);
    lh_buf_free(&s.f);
    /* a second dictionary page */
    dict_file(&s, 1, idx, sizeof idx, false);
    CHECK_RC(s_read(&s, want, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "synth.parquet: row group 0, column v, page 1: second dictionary") != NULL);
    lh_buf_free(&s.f);
    /* index 2 of a 2-entry dictionary (width 2, RLE run of 6 x 2) */
    static const uint8_t bad[] = {0x02, 0x0C, 0x02};
    dict_file(&s, 0, bad, sizeof bad, false);
    CHECK_RC(s_read(&s, want, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "out of range") != NULL);
    lh_buf_free(&s.f);
    /* indices cut short */
    static const uint8_t cut[] = {0x01, 0x05};
    dict_file(&s, 0, cut, sizeof cut, false);
    CHECK_RC(s_read(&s, want, &err), LH_ERR_CORRUPT);
    lh_buf_free(&s.f);
}

static void test_bad_levels(void)
{
    lh_error err;
    synth s;
    /* def level 2 in a max-def-1 column: RLE run of 8 twos (width 1 cannot
     * hold it, so the run value itself is rejected) */
    s_begin(&s);
    static const uint8_t body[] = {2, 0, 0, 0, 0x10, 0x02};
    s_data_v1(&s, LH_PQ_ENC_PLAIN, LH_PQ_ENC_RLE, body, sizeof body);
    s_finish(&s, LH_PQ_UNCOMPRESSED, 0, false);
    CHECK_RC(s_read(&s, NULL, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "definition levels") != NULL);
    lh_buf_free(&s.f);
    /* level section longer than the page */
    s_begin(&s);
    static const uint8_t body2[] = {200, 0, 0, 0, 0x10, 0x01};
    s_data_v1(&s, LH_PQ_ENC_PLAIN, LH_PQ_ENC_RLE, body2, sizeof body2);
    s_finish(&s, LH_PQ_UNCOMPRESSED, 0, false);
    CHECK_RC(s_read(&s, NULL, &err), LH_ERR_CORRUPT);
    lh_buf_free(&s.f);
    /* unsupported level encoding */
    s_begin(&s);
    s_data_v1(&s, LH_PQ_ENC_PLAIN, LH_PQ_ENC_DELTA_BINARY_PACKED, body2, sizeof body2);
    s_finish(&s, LH_PQ_UNCOMPRESSED, 0, false);
    CHECK_RC(s_read(&s, NULL, &err), LH_ERR_UNSUPPORTED);
    lh_buf_free(&s.f);
    /* fewer values in the pages than the chunk claims */
    s_begin(&s);
    s_finish(&s, LH_PQ_UNCOMPRESSED, 0, false);
    CHECK_RC(s_read(&s, NULL, &err), LH_ERR_CORRUPT);
    lh_buf_free(&s.f);
}

/* V2 page, is_compressed = false inside a SNAPPY chunk: values are raw. */
static void test_v2_uncompressed_values(void)
{
    synth s;
    s_begin(&s);
    static const int32_t vals[6] = {1, 2, 3, 4, 5, 6};
    uint8_t body[2 + 24];
    body[0] = 0x03; /* def levels, no length prefix in V2 */
    body[1] = 0xED;
    memcpy(body + 2, vals, sizeof vals);
    lh_pq_page_header h;
    lh_pq_page_header_init(&h);
    h.type = LH_PQ_DATA_PAGE_V2;
    h.compressed_page_size = h.uncompressed_page_size = sizeof body;
    h.has_data_page_header_v2 = true;
    h.data_page_header_v2.num_values = 8;
    h.data_page_header_v2.num_nulls = 2;
    h.data_page_header_v2.num_rows = 8;
    h.data_page_header_v2.encoding = LH_PQ_ENC_PLAIN;
    h.data_page_header_v2.definition_levels_byte_length = 2;
    h.data_page_header_v2.is_compressed = false;
    lh_pq_page_header_write(&h, &s.f);
    lh_buf_append(&s.f, body, sizeof body);
    s_finish(&s, LH_PQ_SNAPPY, 0, false);
    lh_error err;
    CHECK_OK(s_read(&s, vals, &err), &err);
    lh_buf_free(&s.f);
}

int main(void)
{
    RUN(test_bit_packed_levels_and_skipped_pages);
    RUN(test_dictionary_variants);
    RUN(test_bad_levels);
    RUN(test_v2_uncompressed_values);
    return lh_test_report();
}
