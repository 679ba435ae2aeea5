/* Exports of a dataset: `exports/statements.csv` in the reference's column
 * order and quoting (readable by the Python ftm-lakehouse `statements
 * import`) and `entities.ftm.json`. */
#ifndef LH_REPOSITORY_EXPORT_H
#define LH_REPOSITORY_EXPORT_H

#include <stdio.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/core/stream_codec.h"
#include "lh/model/entity.h"
#include "lh/model/equery.h"
#include "lh/model/statement.h"
#include "lh/model/stmt_io.h"
#include "lh/repository/diff.h"
#include "lh/repository/documents.h"
#include "lh/storage/parquet_store.h"

/* Stream the live statements to key in the lake (atomic: temp + rename),
 * compressed with codec (the key then takes its suffix); *rows gets the
 * count. */
lh_status lh_export_statements(lh_pstore *ps, lh_storage *st, const char *key,
                               lh_stream_codec codec, uint64_t *rows, lh_error *err);
/* Same, to a stdio stream, in flavor (LH_CSV_STORED: a header only with
 * the first row, as the reference's `statements iterate`). */
lh_status lh_export_statements_file(lh_pstore *ps, FILE *out, lh_csv_flavor flavor,
                                    uint64_t *rows, lh_error *err);

/* Progress callback: n more items done. */
typedef void (*lh_progress_fn)(void *ctx, uint64_t n);

/* Aggregate the entities matching q (NULL = all) into FtM JSON lines, to key
 * in st (atomically) or, when key is NULL, to f. agg_flags: LH_AGG_*. */
lh_status lh_export_entities(lh_pstore *ps, const lh_model *m, const lh_pstore_filter *q,
                             int agg_flags, lh_storage *st, const char *key, FILE *f,
                             lh_progress_fn progress, void *progress_ctx, uint64_t *entities,
                             lh_error *err);
/* What lh_export_entities_with writes and who else sees the entities. */
typedef struct lh_export_entities_opts {
    const lh_pstore_filter *q; /* NULL = all */
    int agg_flags;             /* LH_AGG_* */
    lh_storage *st;            /* with key: the lake file (atomically) */
    const char *key;
    lh_stream_codec codec;     /* with key: compressed so (the key takes its suffix) */
    FILE *f;                   /* without key */
    lh_progress_fn progress;   /* may be NULL */
    void *progress_ctx;
    /* each entity's statements, before they are aggregated: a second
     * consumer without a second read (NULL = none) */
    lh_pstore_entity_fn also;
    void *also_ctx;
    /* each entity with its JSON line (NULL = none); the caller commits it
     * once the export is in place */
    lh_diff *diff;
    /* each entity's JSON line, for the documents exports (NULL = none);
     * the caller commits them */
    lh_docs *docs;
    /* the statements of the entities exported (NULL: not counted) */
    uint64_t *statements;
} lh_export_entities_opts;

lh_status lh_export_entities_with(lh_pstore *ps, const lh_model *m,
                                  const lh_export_entities_opts *o, uint64_t *entities,
                                  lh_error *err);

/* The entities matching q aggregated to f in order's order and slice (as
 * ftmq orders a sorted or sliced query); *entities gets the number
 * written. Memory is bounded: beyond memory_budget bytes of entities,
 * sorted runs go to unlinked files in TMPDIR (default /tmp). */
lh_status lh_export_entities_ordered(lh_pstore *ps, const lh_model *m, const lh_pstore_filter *q,
                                     int agg_flags, const lh_equery_order *order,
                                     size_t memory_budget, FILE *f, lh_progress_fn progress,
                                     void *progress_ctx, uint64_t *entities, lh_error *err);

#endif
