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
#include "lh/core/stream_codec.h"
#include "lh/model/statement.h"
#include "lh/storage/parquet_store.h"

#define LH_DIFF_ENTITIES_SERIES "diffs/entities.ftm.json"

/* One diff series' window of an export run: the entities series, or a
 * documents scope. Opens when the series has a state with an older table
 * version than version (the table's at the start; -1: no table). */
typedef struct lh_diff_window lh_diff_window;
lh_status lh_diff_window_open(lh_storage *st, const char *dataset, const char *series,
                              int64_t version, int64_t now_us, lh_diff_window **out,
                              lh_error *err);
bool lh_diff_window_active(const lh_diff_window *w);
int64_t lh_diff_window_since(const lh_diff_window *w);
/* A tombstoned entity the window may report deleted; before the sweep. */
void lh_diff_window_pend(lh_diff_window *w, const char *entity_id);
/* An entity met alive (its live statements): "ADD", "MOD" or NULL (no
 * change in the window); claims the entity if pending. */
const char *lh_diff_window_op(lh_diff_window *w, const lh_statement *rows, size_t n);
/* The pending ids no entity claimed, one per call (*i from 0), then NULL. */
const char *lh_diff_window_unclaimed(lh_diff_window *w, size_t *i);
/* The run's file of the series: "{dataset}/{series}/{ts}{ext}" (caller frees). */
char *lh_diff_window_file(const lh_diff_window *w, const char *ext);
/* Record the state "{ts}:{version}": once the run's file is in place;
 * nothing without a table. *recorded may be NULL. */
lh_status lh_diff_window_record(lh_diff_window *w, bool *recorded, lh_error *err);
void lh_diff_window_free(lh_diff_window *w);

typedef struct lh_diff lh_diff;

typedef struct lh_diff_counts {
    uint64_t add, mod, del;
    bool written;  /* a diff file was written */
    bool recorded; /* the state was recorded (there is a table) */
} lh_diff_counts;

/* The entities diff of an export run starting at now_us (UTC µs) on the
 * table at version, its file compressed with codec (the dataset's).
 * LH_ERR_CORRUPT names the tag when the state does not parse. */
lh_status lh_diff_open(lh_storage *st, const char *dataset, int64_t version, int64_t now_us,
                       lh_stream_codec codec, lh_diff **out, lh_error *err);
lh_diff_window *lh_diff_window_of(lh_diff *d);
/* The candidates tombstoned in the window (lh_pstore_deleted_since). */
void lh_diff_pend(lh_diff *d, const lh_pstore_deleted_list *cands);
/* One exported entity: its live statements and its JSON line (no newline). */
lh_status lh_diff_entity(lh_diff *d, const lh_statement *rows, size_t n, const char *json,
                         size_t len, lh_error *err);
/* After the whole sweep: the DELs, the diff file (atomically), then the
 * state. */
lh_status lh_diff_commit(lh_diff *d, lh_diff_counts *counts, lh_error *err);
/* Aborts an uncommitted diff file; the state stays as it was. */
void lh_diff_free(lh_diff *d);

#endif
