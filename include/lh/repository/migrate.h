/* Dataset migrations, as the reference's MigrateOperation: storage-layout
 * changes applied once per dataset, oldest first, each stamped by a tag
 * `migrations/{name}` when it completed, so that a run resumes at the first
 * one not stamped. Forward-only and idempotent: force runs all again. */
#ifndef LH_REPOSITORY_MIGRATE_H
#define LH_REPOSITORY_MIGRATE_H

#include <stdbool.h>

#include "lh/core/error.h"
#include "lh/core/str.h"
#include "lh/storage/parquet_store.h"
#include "lh/storage/tags.h"

/* Every migration's name (the reference's function names), oldest first. */
#define LH_MIGRATIONS 2
extern const char *const lh_migration_names[LH_MIGRATIONS];

/* Called after each migration that ran: its name and what it changed
 * (columns added, table properties set; empty when nothing was owed). */
typedef void (*lh_migrate_fn)(void *ctx, const char *name, const lh_strlist *changed);

/* How many migrations lh_migrate would run. */
lh_status lh_migrate_outstanding(lh_tags *tags, bool force, size_t *n, lh_error *err);

/* Run the migrations the dataset's tags do not stamp (all with force),
 * stamping each with the time it started once it completed. *ran counts
 * them. Stops at the first failure, which is returned. */
lh_status lh_migrate(lh_pstore *ps, lh_tags *tags, bool force, lh_migrate_fn fn, void *ctx,
                     size_t *ran, lh_error *err);

#endif
