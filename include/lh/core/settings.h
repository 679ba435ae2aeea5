/* Settings from LAKEHOUSE_* environment variables (any case) and, beneath
 * them, the working directory's .env file, as the reference reads them,
 * with the reference's defaults. */
#ifndef LH_CORE_SETTINGS_H
#define LH_CORE_SETTINGS_H

#include <stdint.h>
#include "lh/core/error.h"

typedef struct lh_settings {
    char *uri;               /* LAKEHOUSE_URI, default "data" */
    char *journal_uri;       /* LAKEHOUSE_JOURNAL_URI, default NULL = sqlite file in the lake */
    char *public_url_prefix; /* LAKEHOUSE_PUBLIC_URL_PREFIX, default NULL: where the exports are
                              * published (`${dataset}` is the dataset), for index.json */
    int grace_period_days;   /* LAKEHOUSE_GRACE_PERIOD_DAYS, default 30 */
    int64_t max_buffer_rows; /* LAKEHOUSE_MAX_BUFFER_ROWS, default 1,000,000 */
    int lock_max_retries;    /* LAKEHOUSE_LOCK_MAX_RETRIES, default 10 (reference 0.9.0) */
    int lock_backoff_ms;     /* LAKEHOUSE_LOCK_BACKOFF_MS, default 1000: the n-th retry waits
                              * n times this long */
    int workers;             /* LAKEHOUSE_WORKERS: threads for merge/compact, default 0 = one per
                              * online CPU; 1 = no threads at all */
    int64_t sort_memory_mb;  /* LAKEHOUSE_SORT_MEMORY_MB, default 64: a sorted or sliced query's
                              * entities in memory before sorted runs go to TMPDIR */
} lh_settings;

/* Fill s from the environment and .env; LH_ERR_INVALID names a malformed variable.
 * Free with lh_settings_free. */
lh_status lh_settings_load(lh_settings *s, lh_error *err);
void lh_settings_free(lh_settings *s);

#endif
