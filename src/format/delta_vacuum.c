/* VACUUM (full mode): delete files under the table root that the latest
 * snapshot no longer references and that are older than the retention. */
#include <stdlib.h>
#include <string.h>

#include "format/delta_internal.h"
#include "lh/core/mem.h"

/* Hidden segments ("_x", ".x") are skipped, except partition directories
 * ("col=value", where the column name may start with '_'). */
static bool is_hidden(const char *rel, const lh_strlist *part_cols)
{
    const char *seg = rel;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len && (seg[0] == '_' || seg[0] == '.')) {
            bool partition_dir = false;
            if (end) {
                for (size_t i = 0; i < part_cols->len && !partition_dir; i++) {
                    size_t cn = strlen(part_cols->items[i]);
                    partition_dir = cn < len && strncmp(seg, part_cols->items[i], cn) == 0 && seg[cn] == '=';
                }
            }
            if (!partition_dir) return true;
        }
        if (!end) return false;
        seg = end + 1;
    }
}

/* "dir/NAME" for a Hadoop checksum "dir/.NAME.crc" of a visible file (it
 * is vacuumed as NAME would be), else NULL. */
static char *checksum_target(const char *rel, const lh_strlist *part_cols)
{
    const char *slash = strrchr(rel, '/');
    const char *name = slash ? slash + 1 : rel;
    size_t n = lh_delta_checksum_of(name);
    if (!n) return NULL;
    char *target = lh_asprintf("%.*s%.*s", (int)(name - rel), rel, (int)n, name + 1);
    if (is_hidden(target, part_cols)) {
        free(target);
        return NULL;
    }
    return target;
}

static bool tombstone_protected(const lh_delta_snapshot *s, const char *rel, int64_t cutoff)
{
    size_t lo = 0, hi = s->num_tombstones;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->tombstones[mid]->path, rel);
        if (c == 0) return s->tombstones[mid]->deletion_timestamp > cutoff;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

lh_status lh_delta_vacuum(lh_storage *st, const char *prefix, int64_t retention_ms,
                          int64_t now_ms, bool dry_run, lh_strlist *out, size_t *count,
                          lh_error *err)
{
    if (count) *count = 0;
    if (retention_ms < 0) return lh_error_set(err, LH_ERR_INVALID, "negative vacuum retention");
    lh_delta_snapshot *s;
    LH_TRY(lh_delta_snapshot_load(st, prefix, LH_DELTA_LATEST, &s, err));
    /* As the protocol asks of every vacuum (vacuumProtocolCheck makes it a
     * must): a writer feature unknown here may reference files this
     * listing would take for unreferenced (deletion vectors, say). */
    lh_status ok = lh_delta_check_writable(s, prefix, err);
    if (ok != LH_OK) {
        lh_delta_snapshot_free(s);
        return lh_error_prefix(err, "vacuum");
    }
    int64_t cutoff = now_ms - retention_ms;
    char *root = lh_delta_key(prefix, "");
    size_t rn = strlen(root);
    lh_strlist keys, doomed; /* doomed: unreferenced keys, deleted at the end */
    lh_strlist_init(&keys);
    lh_strlist_init(&doomed);
    lh_status rc = lh_storage_list(st, root, LH_LIST_RECURSIVE, &keys, err);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        const char *key = keys.items[i];
        if (key[strlen(key) - 1] == '/') continue;
        const char *rel = key + rn;
        char *checksum_of = NULL;
        if (is_hidden(rel, &s->metadata.partition_columns)) {
            checksum_of = checksum_target(rel, &s->metadata.partition_columns);
            if (!checksum_of) continue;
            rel = checksum_of;
        }
        bool keep = lh_delta_snapshot_find(s, rel) || tombstone_protected(s, rel, cutoff);
        free(checksum_of);
        if (keep) continue;
        lh_stat fst;
        rc = lh_storage_stat(st, key, &fst, err);
        if (rc == LH_ERR_NOT_FOUND) { /* deleted concurrently */
            rc = LH_OK;
            continue;
        }
        if (rc != LH_OK) break;
        if (fst.mtime_ms >= cutoff) continue;
        lh_strlist_push(&doomed, key);
    }
    /* one call: backends that delete many keys a request (S3) batch them */
    if (rc == LH_OK && !dry_run && doomed.len)
        rc = lh_storage_delete_many(st, (const char *const *)doomed.items, doomed.len, err);
    for (size_t k = 0; rc == LH_OK && k < doomed.len; k++) {
        if (out) lh_strlist_push(out, doomed.items[k] + rn);
        if (count) (*count)++;
    }
    lh_strlist_free(&doomed);
    lh_strlist_free(&keys);
    free(root);
    lh_delta_snapshot_free(s);
    return rc;
}
