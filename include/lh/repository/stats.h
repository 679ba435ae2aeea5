/* Dataset statistics, the figures of ftmq's DatasetStats over the live
 * statements: entity count, entities per schema and per country (for Things
 * and Intervals), the date range. */
#ifndef LH_REPOSITORY_STATS_H
#define LH_REPOSITORY_STATS_H

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/model/model.h"
#include "lh/storage/parquet_store.h"

/* Compute and append the statistics JSON (DatasetStats.model_dump(mode="json")
 * field order; lists ordered by name). */
lh_status lh_stats_compute(lh_pstore *ps, const lh_model *m, lh_buf *out, lh_error *err);

#endif
