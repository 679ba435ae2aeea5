/* The documents exports of the reference, written from the entities
 * export's sweep:
 * - `exports/documents.csv`: a row per document (an entity of a Document
 *   schema other than Folder, with a contentHash) and per folder it sits
 *   in: id, checksum, name (fileName, else caption, else schema), mimetype
 *   (the first specific mimeType, else guessed from the name; mime.h),
 *   path (its folder's), size (fileSize, else 0), updated_at (last_change),
 *   public_url (its archive blob under the public URL prefix, if any);
 * - `exports/documents.crawl.csv`: the same for documents of origin crawl;
 * - `exports/parents.csv`: every folder (Folder, Package, Workbook, Email,
 *   Message) with its path, resolved through the first parent of each.
 * CSV as Python's csv module writes it (CRLF, minimal quoting). Folders
 * are held in memory (a folder tree); documents are staged in an unlinked
 * temporary file until the tree is complete. A document whose contentHash
 * is not a SHA-256 or whose fileSize is not an integer (the reference's
 * export stops there) is left out and counted. */
#ifndef LH_REPOSITORY_DOCUMENTS_H
#define LH_REPOSITORY_DOCUMENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/core/stream_codec.h"
#include "lh/model/model.h"
#include "lh/model/statement.h"
#include "lh/repository/diff.h"
#include "lh/storage/parquet_store.h"

typedef struct lh_docs lh_docs;

typedef struct lh_docs_counts {
    uint64_t documents, crawl_documents, folders;
    uint64_t skipped;   /* documents left out, see above */
    uint64_t diff_rows; /* DEL rows of the diffs */
    /* per scope (all, crawl): the documents the diff reports added,
     * modified and deleted */
    uint64_t ops[2][3];
} lh_docs_counts;

/* public_prefix: where the dataset's files are published (lh_index_prefix;
 * NULL: none);
 * version and now_us: the run's, for each scope's diff series
 * (`diffs/exports/documents.csv/{ts}.diff.csv`, and `documents.crawl.csv`;
 * see diff.h) whose rows are those of the scope's file with an op column
 * first, and a DEL row (the id only) for a tombstoned document;
 * codec: the dataset's, for every file written (they take its suffix). */
lh_status lh_docs_open(lh_storage *st, const char *dataset, const lh_model *m,
                       const char *public_prefix, int64_t version, int64_t now_us,
                       lh_stream_codec codec, lh_docs **out, lh_error *err);
/* Whether a scope's diff window is open; *since: the earliest start. */
bool lh_docs_since(const lh_docs *d, int64_t *since);
/* The tombstoned candidates (lh_pstore_deleted_since): each scope takes
 * its documents. Before the sweep. */
void lh_docs_pend(lh_docs *d, const lh_pstore_deleted_list *cands);
/* One exported entity: its live statements and JSON line (no newline). */
lh_status lh_docs_entity(lh_docs *d, const lh_statement *rows, size_t n, const char *json,
                         size_t len, lh_error *err);
/* After the sweep: resolve the folders and write the three files and the
 * diffs, each atomically, then record the diff states. */
lh_status lh_docs_commit(lh_docs *d, lh_docs_counts *counts, lh_error *err);
void lh_docs_free(lh_docs *d);

#endif
