/* TagStore: freshness timestamps at {dataset}/tags/{tenant}/{key}, the layout
 * and value format of the Python reference (ftm_lakehouse TagStore over an
 * anystore store): the value is a JSON string holding Python's isoformat()
 * of an aware UTC datetime, e.g. "2026-11-30T04:30:22.571799+00:00" (no
 * fraction when it is zero, no trailing newline). The tenant defaults to
 * "lakehouse". Keys are '/'-separated ("statements/last_updated",
 * "exports/statements.csv"); each segment is validated like a storage key.
 *
 * A value without a zone offset (the reference writes one when handed a
 * naive datetime) is read as UTC. */
#ifndef LH_STORAGE_TAGS_H
#define LH_STORAGE_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"

#define LH_TAGS_TENANT "lakehouse"

/* Well-known tag keys (the reference's core/conventions/tag.py). */
#define LH_TAG_JOURNAL_UPDATED "journal/last_updated"
#define LH_TAG_JOURNAL_FLUSHED "journal/last_flushed"
#define LH_TAG_STATEMENTS_UPDATED "statements/last_updated"
#define LH_TAG_STATEMENTS_OPTIMIZED "statements/last_optimized"
#define LH_TAG_ARCHIVE_UPDATED "archive/last_updated"

typedef struct lh_tags lh_tags;

/* Tags of dataset (NULL or "" = at the storage root) for tenant (NULL =
 * LH_TAGS_TENANT). The storage is borrowed and must outlive the store. */
lh_status lh_tags_open(lh_storage *st, const char *dataset, const char *tenant, lh_tags **out,
                       lh_error *err);
void lh_tags_free(lh_tags *t);

/* Set key to ts (µs since epoch, UTC; LH_TAGS_NOW = the current time);
 * *stored (may be NULL) gets the value written. Atomic replace. */
#define LH_TAGS_NOW INT64_MIN
lh_status lh_tags_set(lh_tags *t, const char *key, int64_t ts, int64_t *stored, lh_error *err);

/* *found = false (and LH_OK) when the tag does not exist. LH_ERR_CORRUPT
 * names the key when the value is not a JSON ISO-8601 string. */
lh_status lh_tags_get(lh_tags *t, const char *key, int64_t *ts, bool *found, lh_error *err);

/* The stored value of key as it is (appended to value): tags the exports
 * keep hold other JSON than a timestamp (a diff series' "ts:version",
 * statistics). *found = false when the tag does not exist. */
lh_status lh_tags_read(lh_tags *t, const char *key, lh_buf *value, bool *found, lh_error *err);
/* The time of a stored value data[0..len) (lh_tags_get's reading);
 * LH_ERR_CORRUPT when it is not a JSON ISO-8601 string. */
lh_status lh_tags_parse(const char *data, size_t len, int64_t *ts, lh_error *err);

/* The reference's is_latest: false when key is unset or no dependency is
 * set; else true iff key is strictly newer than every dependency that is set. */
lh_status lh_tags_is_latest(lh_tags *t, const char *key, const char *const *deps, size_t ndeps,
                            bool *latest, lh_error *err);

/* Remove a tag (absent is fine). */
lh_status lh_tags_delete(lh_tags *t, const char *key, lh_error *err);

/* Tag keys under prefix ("" = all), sorted. */
lh_status lh_tags_list(lh_tags *t, const char *prefix, lh_strlist *out, lh_error *err);

/* Storage key of a tag ("ds/tags/lakehouse/statements/last_updated"); caller frees. */
char *lh_tags_key(const lh_tags *t, const char *key);

#endif
