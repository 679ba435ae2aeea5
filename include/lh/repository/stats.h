/* Dataset statistics, the figures of ftmq's DatasetStats over the live
 * statements: entity count, entities per schema and per country (for Things
 * and Intervals), the date range. */
#ifndef LH_REPOSITORY_STATS_H
#define LH_REPOSITORY_STATS_H

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/model/model.h"
#include "lh/storage/parquet_store.h"

/* The statistics are fed entity by entity (the live statements of each, as
 * lh_pstore_query hands them out: lh_pstore_query(ps, NULL, lh_stats_add,
 * stats, err)), alone or beside an entity export, then emitted as JSON. */
typedef struct lh_stats lh_stats;
lh_stats *lh_stats_new(const lh_model *m);
/* An lh_pstore_entity_fn: ctx is the lh_stats. */
lh_status lh_stats_add(void *ctx, const lh_statement *rows, size_t n, lh_error *err);
/* Append the statistics JSON of everything added
 * (DatasetStats.model_dump(mode="json") field order; lists ordered by name). */
void lh_stats_emit(lh_stats *s, lh_buf *out);
void lh_stats_free(lh_stats *s);
/* The entities counted so far. */
int64_t lh_stats_entities(const lh_stats *s);

#endif
