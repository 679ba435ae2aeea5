/* Health check of one dataset's statement table (`maintenance check`):
 * the Delta log replays; every live file exists with the logged size and
 * reads as a statement parquet file (or, quick, has a readable footer);
 * partition values are valid names; no
 * statement is stored twice in a merged (clean) partition; data files the
 * log does not reference are listed; lock files and append markers are
 * reported with their holder; the journal's row count; columns the table
 * lacks (a migration is owed) or this version does not know, as notes.
 *
 * Findings are lines "<kind>: <detail>". Problems make the lake unhealthy;
 * notes (orphans awaiting vacuum, locks of live writers, counts) do not. */
#ifndef LH_REPOSITORY_CHECK_H
#define LH_REPOSITORY_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"
#include "lh/storage/journal.h"

typedef struct lh_check_report {
    lh_strlist problems; /* "kind: detail", each a reason the lake is unhealthy */
    lh_strlist notes;    /* informational "kind: detail" */
    int64_t version;     /* table version, -1 when there is no table */
    size_t files;        /* live files */
    uint64_t rows;       /* rows read from the live files */
    size_t orphans;      /* data files the snapshot neither references nor removed */
    int64_t journal_rows; /* -1 when no journal was given or it failed */
} lh_check_report;

void lh_check_report_init(lh_check_report *r);
void lh_check_report_free(lh_check_report *r);
static inline bool lh_check_healthy(const lh_check_report *r) { return r->problems.len == 0; }

/* Check dataset in st; shards is the configured shard count (<= 1: "0").
 * journal may be NULL. quick: read each live file's footer only (it parses,
 * holds the statement columns, its row count is the log's numRecords)
 * instead of every row, and skip the duplicate check; rows are then the
 * footers' counts. Findings go to rep; the status is non-OK only when the
 * check itself could not run (I/O failure listing the lake). */
lh_status lh_check_dataset(lh_storage *st, const char *dataset, int shards, lh_journal *journal,
                           bool quick, lh_check_report *rep, lh_error *err);

#endif
