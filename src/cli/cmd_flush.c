/* ftm-lakehouse maintenance flush: journal -> parquet store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_store.h"
#include "lh/repository/dataset.h"
#include "lh/storage/journal.h"
#include "lh/storage/relay.h"

/* Batches are sorted and written on two threads in turn: the writing of a
 * batch costs more than reading it from the journal, so one writer would
 * leave a core idle. */
#define WRITERS 2

typedef struct flush_ctx {
    lh_pstore *ps;
    lh_pstore_txn *txn; /* begun with the first batch; appended to by the relays' threads */
    lh_relay *relay[WRITERS];
    size_t next; /* the relay the next batch goes to */
    lh_progress progress;
    lh_cli *cli;
    uint64_t tagged; /* rows committed when statements/last_updated was last set */
} flush_ctx;

/* On the relay's thread: the batch is sorted into one file per partition. */
static lh_status write_batch(void *ctx, lh_stmt_batch *batch, lh_error *err)
{
    flush_ctx *f = ctx;
    return lh_pstore_txn_append(f->txn, batch, err);
}

/* The journal reads the next batch while the relay writes this one; it
 * takes the rows by swapping, which the journal allows its consumer. */
static lh_status to_store(void *ctx, const lh_stmt_batch *batch, lh_error *err)
{
    flush_ctx *f = ctx;
    size_t n = batch->len;
    if (!f->txn) LH_TRY(lh_pstore_txn_begin(f->ps, &f->txn, err)); /* relays idle */
    LH_TRY(lh_relay_send(f->relay[f->next], (lh_stmt_batch *)batch, err));
    f->next = (f->next + 1) % WRITERS;
    lh_progress_add(&f->progress, n);
    return LH_OK;
}

/* The commit parameter naming the journal segment a flush commit holds. */
#define SEGMENT_PARAM "lakehouse.journalSegment"
/* How far before a segment's rotation (its name's second) the commits are
 * searched: clocks of the machines sharing a lake may disagree. */
#define SEGMENT_CLOCK_SLACK_MS (10 * 60 * 1000)

/* Commit the segment's files before the journal drops the segment; the
 * commit names the segment, so a flush that committed it but could not drop
 * it (a full disk) is known to the next one, which does not commit the
 * rows again. */
static lh_status segment_done(void *ctx, const char *segment, lh_error *err)
{
    flush_ctx *f = ctx;
    for (size_t i = 0; i < WRITERS; i++) LH_TRY(lh_relay_wait(f->relay[i], err));
    if (!f->txn) return LH_OK;
    lh_pstore_txn_set_param(f->txn, SEGMENT_PARAM, segment);
    LH_TRY(lh_pstore_txn_commit(f->txn, err));
    /* stamped before the journal drops the segment: a kill in between
     * leaves the rows for the next flush, which stamps again */
    uint64_t n = lh_pstore_txn_rows(f->txn);
    if (n == f->tagged) return LH_OK;
    f->tagged = n;
    return lh_cli_tag_now(f->cli, "statements/last_updated", err);
}

/* A segment an earlier flush left: is it in the table already? Its commit
 * came after its rotation. */
static lh_status segment_stored(void *ctx, const char *segment, int64_t rotated_us, bool *done,
                                lh_error *err)
{
    flush_ctx *f = ctx;
    LH_TRY(lh_pstore_find_commit_param(f->ps, SEGMENT_PARAM, segment,
                                       rotated_us / 1000 - SEGMENT_CLOCK_SLACK_MS, done, err));
    /* the stamp that flush may not have set (it failed right after the
     * commit), before the segment goes */
    return *done ? lh_cli_tag_now(f->cli, "statements/last_updated", err) : LH_OK;
}

/* Flush the dataset's journal; *rows gets the count moved. Segments are read
 * in storage order (no sort in the database) and written like a bulk import:
 * each batch sorted into one file per partition, one commit per segment. */
lh_status lh_cli_flush(lh_cli *cli, int64_t *rows, lh_error *err)
{
    *rows = 0;
    flush_ctx f = {0};
    f.cli = cli;
    lh_journal *j = NULL;
    lh_status rc = lh_cli_pstore(cli, &f.ps, err);
    if (rc == LH_OK) rc = lh_cli_journal(cli, &j, err);
    for (size_t i = 0; i < WRITERS; i++)
        f.relay[i] = lh_relay_new(write_batch, &f, cli->settings.workers != 1);
    lh_progress_start(&f.progress, "flush");
    lh_journal_flush_stats stats = {0};
    if (rc == LH_OK) {
        lh_journal_flush_opts o = {
            .unordered = true, .segment_done = segment_done, .segment_stored = segment_stored};
        o.batch_size = (size_t)cli->settings.max_buffer_rows;
        /* three batches are in memory (one read, two written): 250k rows
         * keep a flush near 300 MiB, the files per partition few for merge */
        if (o.batch_size == 0 || o.batch_size > 250000) o.batch_size = 250000;
        rc = lh_journal_flush_with(j, &o, to_store, &f, &stats, err);
    }
    lh_progress_done(&f.progress);
    /* waits for batches still in flight (after an error) */
    for (size_t i = 0; i < WRITERS; i++) lh_relay_free(f.relay[i]);
    lh_pstore_txn_free(f.txn); /* deletes files staged but not committed */
    *rows = stats.rows;
    lh_journal_free(j);
    lh_pstore_free(f.ps);
    return rc;
}

lh_status lh_cli_flush_existing(lh_cli *cli, int64_t *rows, lh_error *err)
{
    char *uri = NULL;
    bool exists = false;
    *rows = 0;
    LH_TRY(lh_cli_journal_location(cli, &uri, &exists, err));
    free(uri);
    return exists ? lh_cli_flush(cli, rows, err) : LH_OK;
}

lh_status lh_cli_flush_first(lh_cli *cli, lh_error *err)
{
    int64_t flushed = 0;
    LH_TRY(lh_cli_flush_existing(cli, &flushed, err));
    if (flushed)
        fprintf(stderr, "flush: %lld statement(s) moved from the journal first\n",
                (long long)flushed);
    return LH_OK;
}

static lh_status flush_one(lh_cli *cli, void *ctx, lh_error *err)
{
    int64_t rows = 0;
    lh_status rc = lh_cli_flush(cli, &rows, err);
    if (rc == LH_OK) fprintf(stderr, "%s: flushed %lld statements\n", cli->dataset, (long long)rows);
    *(int64_t *)ctx += rows;
    return rc;
}

int lh_cmd_flush(lh_cli *cli, int argc, char **argv)
{
    static const char help[] =
        "Usage: ftm-lakehouse -d DATASET maintenance flush\n"
        "       ftm-lakehouse maintenance flush --all\n"
        "\n"
        "Move every statement buffered in the journal into the parquet store.\n"
        "Rows leave the journal only after the store committed them: a failed\n"
        "or killed flush leaves them for the next one. --all: every dataset of\n"
        "the lake in turn (not with -d); it stops at the first that fails.\n";
    if (lh_cli_want_help(argc, argv, help)) return 0;
    bool all = argc == 2 && strcmp(argv[1], "--all") == 0;
    if (argc > 1 && !all) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[1]);
    if (all && cli->dataset)
        return lh_cli_usage_error(cli, "use either -d DATASET or --all, not both");
    lh_error err;
    if (!all) {
        int64_t rows = 0;
        if (lh_cli_flush(cli, &rows, &err) != LH_OK) return lh_cli_fail(cli, &err);
        fprintf(stderr, "flushed %lld statements\n", (long long)rows);
        return 0;
    }
    int64_t total = 0;
    if (lh_cli_each_dataset(cli, flush_one, &total, &err) != LH_OK) return lh_cli_fail(cli, &err);
    fprintf(stderr, "flushed %lld statements in total\n", (long long)total);
    return 0;
}
