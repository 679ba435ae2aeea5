/* libFuzzer target: explode arbitrary bytes as FtM entity JSON lines, as
 * `entities import` does, then aggregate what came out back into entities.
 * Built with clang only (cmake/reliab_fuzz.cmake); ctest fuzz_entity. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lh/model/entity.h"
#include "lh/model/statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_entity(const void *a, const void *b)
{
    const lh_statement *x = a, *y = b;
    int c = strcmp(x->entity_id, y->entity_id);
    return c ? c : strcmp(x->id, y->id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lh_error err;
    const lh_model *m = lh_model_get(&err);
    if (!m) return 0;
    lh_explode_opts o = {.dataset = "fuzz", .origin = "bulk", .now = 1700000000000000LL};
    o.flags = size && (data[0] & 1) ? LH_EXPLODE_SKIP_UNKNOWN : 0;
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    /* one entity per line, like an .ftm.json file */
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        (void)lh_entity_explode(m, p, n, &o, &b, &err);
        p += n + (nl ? 1 : 0);
    }
    if (b.len) qsort(b.rows, b.len, sizeof *b.rows, by_entity);
    lh_aggregator *a = lh_aggregator_new(m, 0);
    lh_buf out = LH_BUF_INIT;
    for (size_t i = 0; i < b.len; i++) (void)lh_aggregator_add(a, &b.rows[i], &out, &err);
    (void)lh_aggregator_finish(a, &out, &err);
    lh_buf_free(&out);
    lh_aggregator_free(a);
    lh_stmt_batch_free(&b);
    return 0;
}
