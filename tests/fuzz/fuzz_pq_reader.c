/* libFuzzer target: open arbitrary bytes as a parquet file, decode every
 * column chunk (copying, and leaving dictionary values in place, whose
 * bytes are then all touched), read a row range of it (pages skipped,
 * the dictionary decoded late) and ask the pruning questions. Built only with clang
 * (cmake/pq_fuzz.cmake); run by ctest (fuzz_pq_reader) or scripts/fuzz. */
#include <stddef.h>
#include <stdint.h>

#include "lh/format/pq_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lh_pq_reader *r = NULL;
    lh_error err;
    if (lh_pq_reader_open_mem(data, size, "fuzz", &r, &err) != LH_OK) return 0;
    /* small guards keep every input fast and within the RSS limit */
    lh_pq_reader_set_limits(r, 1 << 12, 1 << 20);
    lh_pq_column c, kd;
    lh_pq_column_init(&c);
    lh_pq_column_init(&kd);
    kd.keep_dict = true;
    unsigned sum = 0;
    static const uint8_t probe[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    for (size_t g = 0; g < lh_pq_reader_num_row_groups(r); g++) {
        for (size_t l = 0; l < lh_pq_reader_num_leaves(r); l++) {
            (void)lh_pq_reader_read_column(r, g, l, &c, &err);
            if (lh_pq_reader_read_column(r, g, l, &kd, &err) == LH_OK && !kd.values)
                for (size_t i = 0; i < kd.num_values; i++) {
                    size_t len;
                    const char *p = lh_pq_column_bytes(&kd, i, &len);
                    for (size_t k = 0; k < len; k++) sum += (uint8_t)p[k];
                }
            /* rows 1-2: the first page skipped when it holds one row */
            uint64_t first;
            if (lh_pq_reader_read_column_rows(r, g, l, 1, 2, &kd, &first, &err) == LH_OK &&
                !kd.values)
                for (size_t i = 0; i < kd.num_values; i++) {
                    size_t len;
                    const char *p = lh_pq_column_bytes(&kd, i, &len);
                    for (size_t k = 0; k < len; k++) sum += (uint8_t)p[k] + (unsigned)first;
                }
            bool may;
            (void)lh_pq_reader_may_contain(r, g, l, probe, 8, &may, &err);
            (void)lh_pq_reader_may_contain(r, g, l, "v1", 2, &may, &err);
            const lh_pq_statistics *st;
            if (lh_pq_reader_stats(r, g, l, &st, &err) == LH_OK && st) sum += st->has_min_value;
            lh_pq_column_index ci;
            lh_pq_offset_index oi;
            bool has = false;
            if (lh_pq_reader_page_index(r, g, l, &ci, &oi, &has, &err) == LH_OK && has) {
                sum += (unsigned)ci.num_pages + (unsigned)oi.pages[0].first_row_index;
                lh_pq_column_index_free(&ci);
                lh_pq_offset_index_free(&oi);
            }
        }
    }
    lh_pq_column_free(&c);
    lh_pq_column_free(&kd);
    lh_pq_reader_free(r);
    sink = sum; /* keeps the reads */
    return 0;
}
