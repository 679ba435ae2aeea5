/* `{dataset}/index.json`, the reference's dataset index, written after the
 * exports: the dataset model (dataset_model.h) with the figures of
 * exports/statistics.json (entity_count, thing_count, stats) and, when a
 * public URL prefix is configured (config.yml `public_url_prefix`, else
 * LAKEHOUSE_PUBLIC_URL_PREFIX with `${dataset}` filled in), one resource
 * per export file (name, url, sha256 checksum, timestamp, MIME type, size);
 * cleaned as the reference cleans it, compact JSON, written through the
 * versions store (versions.h). */
#ifndef LH_REPOSITORY_INDEX_H
#define LH_REPOSITORY_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/core/storage.h"

/* Where the dataset's files are published, by its model (dataset_model.h):
 * its public_url_prefix, else setting (LAKEHOUSE_PUBLIC_URL_PREFIX) with
 * `${dataset}` filled in; trailing slashes dropped. NULL when neither
 * (caller frees). */
char *lh_index_prefix(json_t *model, const char *dataset, const char *setting);

/* The index's bytes from the dataset's model (not changed) into out
 * (appended). setting: LAKEHOUSE_PUBLIC_URL_PREFIX (may be NULL). */
lh_status lh_index_build(lh_storage *st, const char *dataset, const json_t *model,
                         const char *setting, lh_buf *out, lh_error *err);
/* Build and write it at now_us; *written (may be NULL): false when the
 * content is unchanged since the last write. */
lh_status lh_index_write(lh_storage *st, const char *dataset, const json_t *model,
                         const char *setting, int64_t now_us, bool *written, lh_error *err);

#endif
