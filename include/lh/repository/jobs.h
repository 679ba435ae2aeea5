/* Job run records as the reference keeps them: one JSON document per run
 * at `{dataset}/jobs/runs/{Type}/{run_id}.json` (MakeJob, ExportJob,
 * OptimizeJob, ShardJob, MigrateJob), written when the run starts and
 * again when it stops, with the reference's fields (run_id in its uuid
 * layout, so runs of both sides sort together by time; started, stopped,
 * last_updated, pending, done, errors, running, exc, took, dataset, the
 * type's own fields, name). The reference's JobRepository reads them. */
#ifndef LH_REPOSITORY_JOBS_H
#define LH_REPOSITORY_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"

typedef struct lh_job lh_job;

/* Start a run of type ("ExportJob") at now_us; its record is written now,
 * running. fields: the type's own fields in the reference's order (an
 * object, taken over; NULL: none). */
lh_status lh_job_start(lh_storage *st, const char *dataset, const char *type, json_t *fields,
                       int64_t now_us, lh_job **out, lh_error *err);

/* The type's own fields, to change before the next save or stop. */
json_t *lh_job_fields(lh_job *j);
void lh_job_add_done(lh_job *j, int64_t n);
void lh_job_set_pending(lh_job *j, int64_t n);

/* Write the record as it stands, last_updated now. */
lh_status lh_job_save(lh_job *j, int64_t now_us, lh_error *err);

/* The run ended at now_us: failure (NULL: it succeeded) becomes exc, as
 * the reference records the exception's text ("None" otherwise). */
lh_status lh_job_stop(lh_job *j, const lh_error *failure, int64_t now_us, lh_error *err);

void lh_job_free(lh_job *j);

/* A duration as pydantic writes a timedelta ("PT1M5.25S", "PT0S"). */
void lh_job_format_duration(int64_t us, char *out, size_t n);

#endif
