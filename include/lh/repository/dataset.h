/* Datasets of a lake: config.yml (shards set at creation, changed by a
 * re-shard), listing. A dataset lives at `{lake}/{name}/`. */
#ifndef LH_REPOSITORY_DATASET_H
#define LH_REPOSITORY_DATASET_H

#include <stdbool.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"

/* Names are checked with lh_name_check (core/str.h). */

typedef struct lh_dataset_config {
    char *name;
    int shards; /* 0 = single shard */
    bool exists; /* config.yml was found */
} lh_dataset_config;

/* Read `{name}/config.yml`; a missing file gives defaults (exists=false). */
lh_status lh_dataset_config_read(lh_storage *st, const char *name, lh_dataset_config *cfg,
                                 lh_error *err);
/* A name the reference takes for a new dataset (FtM's dataset names, not
 * `catalog` or `default`); LH_ERR_INVALID naming the rule. */
lh_status lh_dataset_name_check(const char *name, lh_error *err);
/* LH_ERR_CONFLICT naming both counts when cfg exists with another shard
 * count than shards (< 0: any). */
lh_status lh_dataset_check_shards(const lh_dataset_config *cfg, const char *name, int shards,
                                  lh_error *err);
/* Create `{name}/config.yml` if absent (a re-shard changes its count).
 * When it exists with another shard count, lh_dataset_check_shards's
 * LH_ERR_CONFLICT. */
lh_status lh_dataset_ensure(lh_storage *st, const char *name, int shards,
                            lh_dataset_config *cfg, lh_error *err);
/* Set the shard count in `{name}/config.yml` (after a re-shard: the file
 * declares the layout to every reader and writer). Other settings are kept,
 * re-emitted by libyaml (comments are not kept); written atomically. */
lh_status lh_dataset_set_shards(lh_storage *st, const char *name, int shards, lh_error *err);
void lh_dataset_config_free(lh_dataset_config *cfg);

/* Names of the datasets in the lake (directories with config.yml or a
 * statements table), sorted. */
lh_status lh_dataset_list(lh_storage *st, lh_strlist *out, lh_error *err);

#endif
