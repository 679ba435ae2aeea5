/* Checks of parquet reads shared by the parquet unit tests. */
#ifndef LH_TEST_PQ_CHECK_H
#define LH_TEST_PQ_CHECK_H

#include "lh/core/str.h"
#include "lh/format/pq_reader.h"
#include "test.h"

/* The page index of string leaf `leaf` in row group g, read back: present
 * as expected, its pages' row ranges tile the row group, and every value
 * lies within its page's bounds. col: the chunk, decoded (values copied,
 * not kept in a dictionary). */
static void check_page_index(lh_pq_reader *rd, size_t g, size_t leaf, const lh_pq_column *col,
                             bool want)
{
    lh_pq_column_index ci;
    lh_pq_offset_index oi;
    bool has = !want;
    lh_error err;
    CHECK_OK(lh_pq_reader_page_index(rd, g, leaf, &ci, &oi, &has, &err), &err);
    CHECK(has == want);
    if (!has) return;
    CHECK(ci.num_pages > 1 && ci.num_pages == oi.num_pages);
    size_t vi = 0, outside = 0;
    for (size_t p = 0; p < oi.num_pages; p++) {
        size_t end = p + 1 < oi.num_pages ? (size_t)oi.pages[p + 1].first_row_index
                                          : col->num_levels;
        for (size_t r = (size_t)oi.pages[p].first_row_index; r < end && r < col->num_levels; r++) {
            if (col->def_levels && col->def_levels[r] == 0) continue;
            const char *v = col->bytes.data + col->offsets[vi];
            size_t len = (size_t)(col->offsets[vi + 1] - col->offsets[vi]);
            vi++;
            outside += ci.null_pages[p] ||
                       lh_bytes_cmp(v, len, ci.min_values[p].data, ci.min_values[p].len) < 0 ||
                       lh_bytes_cmp(v, len, ci.max_values[p].data, ci.max_values[p].len) > 0;
        }
    }
    CHECK_INT(vi, col->num_values);
    CHECK_INT(outside, 0);
    lh_pq_column_index_free(&ci);
    lh_pq_offset_index_free(&oi);
}

#endif
