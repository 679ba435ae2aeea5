/* libFuzzer target: read arbitrary bytes as a statement CSV, as
 * `statements import` does, record by record to the end or the first
 * error. Built with clang only (cmake/reliab_fuzz.cmake); ctest fuzz_stmt_csv. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lh/model/stmt_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lh_error err;
    const lh_model *m = lh_model_get(&err);
    if (!m || !size) return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) return 0;
    lh_explode_opts o = {.dataset = "fuzz", .origin = "bulk", .now = 1700000000000000LL};
    lh_stmt_csv_reader *r = lh_stmt_csv_reader_new(f, "fuzz.csv");
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    bool got = true;
    for (int i = 0; got && i < 100000; i++) {
        if (lh_stmt_csv_next(m, r, &o, &b, &got, &err) != LH_OK) break;
        (void)lh_stmt_csv_reader_lineno(r);
        if (b.len > 4096) lh_stmt_batch_clear(&b);
    }
    lh_stmt_batch_free(&b);
    lh_stmt_csv_reader_free(r);
    fclose(f);
    return 0;
}
