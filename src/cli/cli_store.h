/* CLI access to a dataset's stores. */
#ifndef LH_CLI_STORE_H
#define LH_CLI_STORE_H

#include <jansson.h>

#include "cli.h"
#include "lh/model/model.h"
#include "lh/repository/diff.h"
#include "lh/repository/documents.h"
#include "lh/repository/jobs.h"
#include "lh/storage/fence.h"
#include "lh/storage/parquet_store.h"
#include "lh/storage/tags.h"

/* The ParquetStore of -d, with the shard count of its config.yml; appends
 * read the count again once their marker is registered, and a re-shard
 * records its count there before its fence goes (lh_pstore_layout). */
lh_status lh_cli_pstore(lh_cli *cli, lh_pstore **ps, lh_error *err);
/* The same with shards as the count until config.yml says one. */
lh_status lh_cli_pstore_open(lh_cli *cli, int shards, lh_pstore **ps, lh_error *err);
/* The -d store's layout state (lh_pstore_layout_repair), nothing repaired. */
lh_status lh_cli_layout_state(lh_cli *cli, lh_pstore_layout_state *state, lh_error *err);
/* Merge (or, merge false, compact) the store with a progress line on a
 * terminal. */
lh_status lh_cli_rewrite(lh_pstore *ps, bool merge, bool force, lh_pstore_report *rep,
                         lh_error *err);
/* The reference's OptimizeOperation: merge, then vacuum (retention hours),
 * then its tag operations/optimize/last_run; recorded as an OptimizeJob
 * when record (a partition was dirty, or the merge is forced). defer_vacuum
 * (a command name, or NULL): a vacuum refused by a busy fence (an append
 * still in flight after the retries) is left to the next run with a
 * warning under that name, not an error. */
lh_status lh_cli_optimize(lh_cli *cli, lh_pstore *ps, bool force, int hours, bool record,
                          const char *defer_vacuum, lh_pstore_report *rep, size_t *deleted,
                          size_t *debris, lh_error *err);
/* Set while a vacuum a busy fence refused is owed (ours, not the reference's). */
#define LH_CLI_TAG_VACUUM_DEFERRED "operations/vacuum/deferred"
/* lh_pstore_vacuum, deferred as lh_cli_optimize's when defer names the
 * command; a vacuum done clears the mark, one deferred sets it. */
lh_status lh_cli_vacuum(lh_cli *cli, lh_pstore *ps, int hours, const char *defer,
                        size_t *deleted, size_t *debris, lh_error *err);
/* Whether a deferred vacuum is owed. */
lh_status lh_cli_vacuum_deferred(lh_cli *cli, bool *deferred, lh_error *err);
/* Stamp a freshness tag of the dataset with the current time. */
lh_status lh_cli_tag_now(lh_cli *cli, const char *key, lh_error *err);
/* The same with the time ts (microseconds): an export stamps the time it
 * started reading, as the reference does, so a commit landing while it
 * reads leaves it stale rather than marked fresh without those rows. */
lh_status lh_cli_tag_at(lh_cli *cli, const char *key, int64_t ts, lh_error *err);

/* Where the journal of -d is: LAKEHOUSE_JOURNAL_URI, else `.journal.db` in
 * a local lake; *uri NULL (and LH_OK) for a lake elsewhere without the
 * setting. exists: there is a journal to read (a named URI counts as one:
 * only opening it can tell). */
lh_status lh_cli_journal_location(lh_cli *cli, char **uri, bool *exists, lh_error *err);
typedef struct lh_journal lh_journal;
lh_status lh_cli_journal(lh_cli *cli, lh_journal **j, lh_error *err);
/* The same, its rows keyed for shards (>= 0) rather than config.yml's
 * count: for a dataset an import is about to make. */
lh_status lh_cli_journal_for(lh_cli *cli, int shards, lh_journal **j, lh_error *err);

lh_status lh_cli_flush(lh_cli *cli, int64_t *rows, lh_error *err);
/* fn for every dataset of the lake in turn (as the -d dataset), stopping
 * at the first failure, whose message then names the dataset. */
lh_status lh_cli_each_dataset(lh_cli *cli, lh_status (*fn)(lh_cli *cli, void *ctx, lh_error *err),
                              void *ctx, lh_error *err);
/* As the reference before optimize, re-shard and dropping an origin: the
 * journal drained into the store first, when the lake has one (a lake on
 * S3 has one only when LAKEHOUSE_JOURNAL_URI names it). */
lh_status lh_cli_flush_first(lh_cli *cli, lh_error *err);
/* lh_cli_flush when the lake has a journal (*rows 0 when it has none). */
lh_status lh_cli_flush_existing(lh_cli *cli, int64_t *rows, lh_error *err);
lh_status lh_cli_tags(lh_cli *cli, lh_tags **t, lh_error *err);

/* The reference's record of an operation's run (lh/repository/jobs.h):
 * started now (fields: the type's own, taken over); stopped with the
 * operation's outcome rc, which it returns (or the record's own failure
 * when rc is LH_OK). */
lh_status lh_cli_job_start(lh_cli *cli, const char *type, json_t *fields, lh_job **job,
                           lh_error *err);
lh_status lh_cli_job_stop(lh_job *job, lh_status rc, lh_error *err);

/* The codec the dataset's config.yml asks exports to be compressed with
 * (read once per process; lh_cli_set_export_codec sets it from a model
 * already read). */
lh_status lh_cli_export_codec(lh_cli *cli, lh_stream_codec *codec, lh_error *err);
void lh_cli_set_export_codec(lh_cli *cli, const json_t *model);

/* The dataset's .LOCK-MERGE for an export's read of the whole store, as
 * the reference's ExportOperation holds it for its sweep: a merge (ours or
 * the reference's optimize, whose vacuum deletes the files it replaced at
 * once) waits until the export has read them. LH_ERR_BUSY names the
 * holder when it stays held; release with lh_fence_release. */
lh_status lh_cli_sweep_fence(lh_cli *cli, lh_fence **f, lh_error *err);

/* The dataset's exports/statements.csv and entities.ftm.json, written into
 * the lake (compressed as the dataset asks) with their freshness tags
 * stamped. prog may be NULL. */
lh_status lh_cli_export_statements(lh_cli *cli, lh_pstore *ps, uint64_t *rows, lh_error *err);
lh_status lh_cli_export_entities(lh_cli *cli, lh_pstore *ps, const lh_model *m,
                                 lh_progress *prog, uint64_t *entities, lh_error *err);
/* The same, handing each entity's statements to also as well, and each
 * entity to diff and docs (each may be NULL; see lh_export_entities_opts);
 * after the file, the documents exports and the diff are committed (their
 * counts filled), before its tag. */
lh_status lh_cli_export_entities_with(lh_cli *cli, lh_pstore *ps, const lh_model *m,
                                      lh_progress *prog, lh_pstore_entity_fn also,
                                      void *also_ctx, lh_diff *diff, lh_diff_counts *counts,
                                      lh_docs *docs, lh_docs_counts *doc_counts,
                                      uint64_t *entities, uint64_t *statements, lh_error *err);

/* `configure -c path`: merge the YAML settings at path ("-" = stdin) into
 * the dataset's config.yml (lh_dataset_configure); print: the model on
 * stdout. */
lh_status lh_cli_configure(lh_cli *cli, const char *path, bool print, lh_error *err);

int lh_cmd_flush(lh_cli *cli, int argc, char **argv);
int lh_cmd_export_entities(lh_cli *cli, int argc, char **argv);
int lh_cmd_export_statistics(lh_cli *cli, int argc, char **argv);

#endif
