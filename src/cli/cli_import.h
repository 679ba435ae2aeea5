/* Shared by `entities import` and `statements import`. */
#ifndef LH_CLI_IMPORT_H
#define LH_CLI_IMPORT_H

#include "cli_store.h"
#include "lh/model/entity.h"
#include "lh/storage/journal.h"
#include "lh/storage/relay.h"

typedef struct import_opts {
    const char *input;
    lh_explode_opts ex;
    size_t bulk_size;
    int shards;
    bool journal;
    /* --last-seen given: every entity without last_change takes it; else
     * each takes the time it is read (first seen: when the run started),
     * as the reference stamps each entity: a later emission of a fragment
     * in one import supersedes an earlier one */
    bool fixed_now;
} import_opts;

/* Parse the import options; returns an exit code, or -1 to go on. */
int lh_cli_parse_import(lh_cli *cli, int argc, char **argv, import_opts *o, const char *help);

/* Where imported statements go: one staged parquet append (committed once)
 * or the journal (committed per batch), written on a thread of its own
 * while the next batch is parsed. */
typedef struct import_sink {
    lh_pstore *ps;
    lh_pstore_txn *txn;
    lh_journal *journal;
    lh_relay *relay; /* owns txn and journal until lh_relay_wait */
    uint64_t rows;
    int shards; /* of the dataset, or of the one this import creates */
    lh_cli *cli;
    /* journal: the dataset is made before the first batch goes in, so that
     * an import refused before that (bad input) leaves no dataset behind */
    bool create;
    /* the statement identities of the batch being filled (imports: see
     * lh_cli_sink_fold); made on first use, forgotten with each batch sent */
    lh_stmt_index *seen;
} import_sink;

lh_status lh_cli_sink_open(lh_cli *cli, bool journal, int shards, import_sink *s, lh_error *err);
/* Hand the batch over (it comes back empty); an error may be the one of
 * an earlier batch. */
lh_status lh_cli_sink_write(import_sink *s, lh_stmt_batch *b, lh_error *err);
/* Keep one row per statement identity in b, the later one, as the
 * reference's write buffer (an entity repeated in the input): rows
 * [from, len) were just added, the ones before folded since the last
 * lh_cli_sink_write. A batch is then full with bulk-size distinct rows. */
void lh_cli_sink_fold(import_sink *s, lh_stmt_batch *b, size_t from);
lh_status lh_cli_sink_commit(lh_cli *cli, import_sink *s, lh_error *err);
void lh_cli_sink_close(import_sink *s);

/* Copy `{dataset}/{suffix}` to output ("-" = stdout). */
int lh_cli_stream_key(lh_cli *cli, const char *suffix, const char *output);

#endif
