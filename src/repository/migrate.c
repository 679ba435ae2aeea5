/* Dataset migrations (see migrate.h). */
#include "lh/repository/migrate.h"

#include "lh/core/buf.h"
#include "lh/core/timeutil.h"

typedef lh_status (*migration)(lh_pstore *ps, lh_strlist *changed, lh_error *err);

/* The role column: a store created before it gets it as a metadata-only
 * commit; its older rows read "no role". */
static lh_status add_role(lh_pstore *ps, lh_strlist *changed, lh_error *err)
{
    return lh_pstore_evolve_schema(ps, changed, err);
}

/* The table properties bounding the log, for stores created without. */
static lh_status table_properties(lh_pstore *ps, lh_strlist *changed, lh_error *err)
{
    return lh_pstore_configure_table(ps, changed, err);
}

const char *const lh_migration_names[LH_MIGRATIONS] = {
    "migrate_parquet_add_role",
    "migrate_parquet_table_properties",
};

static const migration MIGRATIONS[LH_MIGRATIONS] = {add_role, table_properties};

static lh_status is_done(lh_tags *tags, size_t i, bool *done, lh_error *err)
{
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "migrations/%s", lh_migration_names[i]);
    int64_t at = 0;
    lh_status rc = lh_tags_get(tags, key.data, &at, done, err);
    lh_buf_free(&key);
    return rc;
}

lh_status lh_migrate_outstanding(lh_tags *tags, bool force, size_t *n, lh_error *err)
{
    *n = 0;
    for (size_t i = 0; i < LH_MIGRATIONS; i++) {
        bool done = false;
        if (!force) LH_TRY(is_done(tags, i, &done, err));
        if (!done) (*n)++;
    }
    return LH_OK;
}

lh_status lh_migrate(lh_pstore *ps, lh_tags *tags, bool force, lh_migrate_fn fn, void *ctx,
                     size_t *ran, lh_error *err)
{
    *ran = 0;
    lh_status rc = LH_OK;
    for (size_t i = 0; rc == LH_OK && i < LH_MIGRATIONS; i++) {
        lh_buf key = LH_BUF_INIT;
        lh_buf_printf(&key, "migrations/%s", lh_migration_names[i]);
        bool done = false;
        if (!force) rc = is_done(tags, i, &done, err);
        if (rc == LH_OK && !done) {
            int64_t started = lh_now_us();
            lh_strlist changed;
            lh_strlist_init(&changed);
            rc = MIGRATIONS[i](ps, &changed, err);
            if (rc == LH_OK) rc = lh_tags_set(tags, key.data, started, NULL, err);
            if (rc == LH_OK) {
                (*ran)++;
                if (fn) fn(ctx, lh_migration_names[i], &changed);
            } else {
                lh_error_prefix(err, "migration %s", lh_migration_names[i]);
            }
            lh_strlist_free(&changed);
        }
        lh_buf_free(&key);
    }
    return rc;
}
