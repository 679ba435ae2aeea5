/* The reference's VersionStore: a dataset file (index.json,
 * exports/statistics.json, config.yml) written with a timestamped snapshot
 * beside it, `{dataset}/versions/YYYY/MM/{YYYYmmddTHHMMSSffffffZ}/{key}`,
 * and two tags: `{key}` (when it was written) and `{key}-{sha256 of the
 * content}` (what), so that unchanged content is not written again.
 *
 * Order: snapshot, file, then tags; a crash before the checksum tag only
 * writes the same content again next time. */
#ifndef LH_STORAGE_VERSIONS_H
#define LH_STORAGE_VERSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"

/* Write data as `{dataset}/{key}` with its snapshot at now_us (UTC µs),
 * unless the checksum tag says this content was written before; *written
 * (may be NULL) says which. */
lh_status lh_versions_put(lh_storage *st, const char *dataset, const char *key,
                          const void *data, size_t n, int64_t now_us, bool *written,
                          lh_error *err);

#endif
