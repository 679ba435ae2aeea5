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

#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/model/model.h"

typedef struct lh_docs lh_docs;

typedef struct lh_docs_counts {
    uint64_t documents, crawl_documents, folders;
    uint64_t skipped; /* documents left out, see above */
} lh_docs_counts;

/* public_prefix: where the dataset's files are published (NULL: none). */
lh_status lh_docs_open(lh_storage *st, const char *dataset, const lh_model *m,
                       const char *public_prefix, lh_docs **out, lh_error *err);
/* One exported entity: its JSON line (no newline). */
lh_status lh_docs_entity(lh_docs *d, const char *json, size_t len, lh_error *err);
/* After the sweep: resolve the folders and write the three files, each
 * atomically. */
lh_status lh_docs_commit(lh_docs *d, lh_docs_counts *counts, lh_error *err);
void lh_docs_free(lh_docs *d);

#endif
