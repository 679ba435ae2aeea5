/* ftm-lakehouse maintenance flush: journal -> parquet store. */
#include <getopt.h>
#include <stdlib.h>

#include "cli_store.h"
#include "lh/storage/journal.h"

typedef struct flush_ctx {
    lh_pstore *ps;
    lh_progress progress;
} flush_ctx;

/* Append sorts the batch in place, which the journal allows its consumer
 * (journal.h): no copy. */
static lh_status to_store(void *ctx, const lh_stmt_batch *batch, lh_error *err)
{
    flush_ctx *f = ctx;
    size_t n = batch->len;
    LH_TRY(lh_pstore_append(f->ps, (lh_stmt_batch *)batch, err));
    lh_progress_add(&f->progress, n);
    return LH_OK;
}

/* Flush the dataset's journal; *rows gets the count moved. */
lh_status lh_cli_flush(lh_cli *cli, int64_t *rows, lh_error *err)
{
    *rows = 0;
    flush_ctx f = {0};
    lh_journal *j = NULL;
    lh_status rc = lh_cli_pstore(cli, &f.ps, err);
    if (rc == LH_OK) rc = lh_cli_journal(cli, &j, err);
    lh_progress_start(&f.progress, "flush");
    lh_journal_flush_stats stats = {0};
    if (rc == LH_OK) {
        size_t batch = (size_t)cli->settings.max_buffer_rows;
        if (batch == 0 || batch > 500000) batch = 500000; /* bounds one batch in memory */
        rc = lh_journal_flush(j, batch, to_store, &f, &stats, err);
    }
    lh_progress_done(&f.progress);
    if (rc == LH_OK && stats.rows > 0) rc = lh_cli_tag_now(cli, "statements/last_updated", err);
    if (rc == LH_OK) rc = lh_cli_tag_now(cli, "journal/last_flushed", err);
    *rows = stats.rows;
    lh_journal_free(j);
    lh_pstore_free(f.ps);
    return rc;
}

int lh_cmd_flush(lh_cli *cli, int argc, char **argv)
{
    static const char help[] =
        "Usage: ftm-lakehouse -d DATASET maintenance flush\n"
        "\n"
        "Move every statement buffered in the journal into the parquet store.\n"
        "Rows leave the journal only after the store committed them: a failed\n"
        "or killed flush leaves them for the next one.\n";
    if (lh_cli_want_help(argc, argv, help)) return 0;
    if (argc > 1) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[1]);
    lh_error err;
    int64_t rows = 0;
    if (lh_cli_flush(cli, &rows, &err) != LH_OK) return lh_cli_fail(cli, &err);
    fprintf(stderr, "flushed %lld statements\n", (long long)rows);
    return 0;
}
