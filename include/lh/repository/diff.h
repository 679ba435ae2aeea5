/* The entities diff series of the exports, in the reference's layout and
 * the OpenSanctions delta format (https://www.opensanctions.org/docs/bulk/delta/):
 * `{dataset}/diffs/entities.ftm.json/{ts}.delta.json`, JSON lines
 * {"op":"ADD"|"MOD"|"DEL","entity":{...}} for the entities that changed
 * since the previous export, and the series state, the tag
 * `diffs/entities.ftm.json-current` = "{ts}:{table version}" (ts: the
 * start of that export, YYYYmmddTHHMMSSffffffZ).
 *
 * Within the window (since the state's ts):
 * - ADD: the entity's least first_seen is in it (all of it is new);
 * - MOD: it predates the window and gained a statement in it, or lost some
 *   to a tombstone in it and lives on;
 * - DEL: a tombstone in it and no live statement left ({"id": ...} only).
 * A first run (no state) and a run with no new table version write no file
 * and only record the state; a window without changes writes no file.
 *
 * Crash safety: the state moves only after the diff file is in place, so a
 * killed export leaves the window open and the next run covers it (a diff
 * file of the killed run, if it landed, overlaps the next one: entries are
 * idempotent). */
#ifndef LH_REPOSITORY_DIFF_H
#define LH_REPOSITORY_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/model/statement.h"
#include "lh/storage/parquet_store.h"

#define LH_DIFF_ENTITIES_SERIES "diffs/entities.ftm.json"

typedef struct lh_diff lh_diff;

typedef struct lh_diff_counts {
    uint64_t add, mod, del;
    bool written;  /* a diff file was written */
    bool recorded; /* the state was recorded (there is a table) */
} lh_diff_counts;

/* A diff run of dataset's entities export starting at now_us (UTC µs):
 * reads the state and, with a window open, the tombstoned entity ids in it
 * (one scan of the raw rows). LH_ERR_CORRUPT names the tag when the state
 * does not parse. */
lh_status lh_diff_open(lh_pstore *ps, lh_storage *st, const char *dataset, int64_t now_us,
                       lh_diff **out, lh_error *err);
/* Whether the run writes a diff (a window is open). */
bool lh_diff_active(const lh_diff *d);
/* One exported entity: its live statements and its JSON line (no newline). */
lh_status lh_diff_entity(lh_diff *d, const lh_statement *rows, size_t n, const char *json,
                         size_t len, lh_error *err);
/* After the whole sweep: the DELs, the diff file (atomically), then the
 * state. */
lh_status lh_diff_commit(lh_diff *d, lh_diff_counts *counts, lh_error *err);
/* Aborts an uncommitted diff file; the state stays as it was. */
void lh_diff_free(lh_diff *d);

#endif
