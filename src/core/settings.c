#include "lh/core/settings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"

static lh_status env_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                         lh_error *err)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return LH_OK;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return lh_error_set(err, LH_ERR_INVALID, "%s=\"%.64s\": expected an integer in [%lld, %lld]", name,
                            v, (long long)min, (long long)max);
    *out = x;
    return LH_OK;
}

lh_status lh_settings_load(lh_settings *s, lh_error *err)
{
    memset(s, 0, sizeof *s);
    const char *uri = getenv("LAKEHOUSE_URI");
    s->uri = lh_strdup(uri && *uri ? uri : "data");
    const char *j = getenv("LAKEHOUSE_JOURNAL_URI");
    s->journal_uri = j && *j ? lh_strdup(j) : NULL;
    const char *pub = getenv("LAKEHOUSE_PUBLIC_URL_PREFIX");
    s->public_url_prefix = pub && *pub ? lh_strdup(pub) : NULL;
    int64_t v;
    lh_status rc;
    if ((rc = env_int("LAKEHOUSE_GRACE_PERIOD_DAYS", 30, 0, 100000, &v, err)) != LH_OK) goto fail;
    s->grace_period_days = (int)v;
    if ((rc = env_int("LAKEHOUSE_MAX_BUFFER_ROWS", 1000000, 1, INT64_MAX, &v, err)) != LH_OK) goto fail;
    s->max_buffer_rows = v;
    if ((rc = env_int("LAKEHOUSE_LOCK_MAX_RETRIES", 10, 0, 1000, &v, err)) != LH_OK) goto fail;
    s->lock_max_retries = (int)v;
    if ((rc = env_int("LAKEHOUSE_LOCK_BACKOFF_MS", 1000, 0, 600000, &v, err)) != LH_OK) goto fail;
    s->lock_backoff_ms = (int)v;
    if ((rc = env_int("LAKEHOUSE_WORKERS", 0, 0, 64, &v, err)) != LH_OK) goto fail;
    s->workers = (int)v;
    if ((rc = env_int("LAKEHOUSE_SORT_MEMORY_MB", 64, 1, 1 << 20, &v, err)) != LH_OK) goto fail;
    s->sort_memory_mb = v;
    return LH_OK;
fail:
    lh_settings_free(s);
    return rc;
}

void lh_settings_free(lh_settings *s)
{
    free(s->uri);
    free(s->journal_uri);
    free(s->public_url_prefix);
    s->uri = NULL;
    s->journal_uri = NULL;
    s->public_url_prefix = NULL;
}
