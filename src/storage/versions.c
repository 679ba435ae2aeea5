/* Versioned dataset files (versions.h). */
#include "lh/storage/versions.h"

#include "lh/core/buf.h"
#include "lh/core/hash.h"
#include "lh/core/timeutil.h"
#include "lh/storage/tags.h"

lh_status lh_versions_put(lh_storage *st, const char *dataset, const char *key,
                          const void *data, size_t n, int64_t now_us, bool *written,
                          lh_error *err)
{
    if (written) *written = false;
    lh_tags *tags = NULL;
    LH_TRY(lh_tags_open(st, dataset, NULL, &tags, err));
    char sha[LH_SHA256_HEX_LEN + 1];
    lh_sha256_hex(data, n, sha);
    lh_buf checksum_tag = LH_BUF_INIT, snapshot = LH_BUF_INIT, path = LH_BUF_INIT;
    lh_buf_printf(&checksum_tag, "%s-%s", key, sha);
    int64_t at = 0;
    bool found = false;
    lh_status rc = lh_tags_get(tags, checksum_tag.data, &at, &found, err);
    if (rc == LH_OK && !found) {
        char ts[LH_TS_COMPACT_MAX];
        lh_time_format_compact(now_us, ts);
        lh_buf_printf(&snapshot, "%s/versions/%.4s/%.2s/%s/%s", dataset, ts, ts + 4, ts, key);
        lh_buf_printf(&path, "%s/%s", dataset, key);
        rc = lh_storage_write(st, snapshot.data, data, n, err);
        if (rc == LH_OK) rc = lh_storage_write(st, path.data, data, n, err);
        if (rc == LH_OK) rc = lh_tags_set(tags, key, now_us, NULL, err);
        if (rc == LH_OK) rc = lh_tags_set(tags, checksum_tag.data, now_us, NULL, err);
        if (rc == LH_OK && written) *written = true;
    }
    lh_buf_free(&checksum_tag);
    lh_buf_free(&snapshot);
    lh_buf_free(&path);
    lh_tags_free(tags);
    return rc;
}
