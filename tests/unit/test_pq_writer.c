/* Parquet writer: Thrift compact bytes of metadata structs against known
 * wire bytes, RLE hybrid encoding, and whole files checked structurally. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/format/pq_meta.h"
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

int main(void)
{
    RUN(test_bloom_header);
    RUN(test_schema_bytes);
    RUN(test_page_header_bytes);
    return lh_test_report();
}
