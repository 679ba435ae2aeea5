/* ftm-lakehouse statements import | iterate | stream | sql */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli_import.h"
#include "lh/core/buf.h"
#include "lh/model/stmt_io.h"
#include "lh/repository/export.h"
#include "lh/storage/stmt_sql.h"

static const char HELP[] =
    "Usage: ftm-lakehouse -d DATASET statements COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  import    Import statements from CSV (ftm-lakehouse or followthemoney columns)\n"
    "  iterate   Print the live statements as CSV (the stored columns)\n"
    "  stream    Print the exported exports/statements.csv\n"
    "  sql       Run SQL on the statement tables, results as CSV\n";

static const char IMPORT_HELP[] =
    "Usage: ftm-lakehouse -d DATASET statements import [OPTIONS]\n"
    "\n"
    "Import statements from CSV (the header names the columns; the\n"
    "ftm-lakehouse and followthemoney statement CSV layouts are both read).\n"
    "Ids are re-derived under the target dataset. Into the parquet store in\n"
    "one commit at the end (a bad row leaves the lake unchanged), or with\n"
    "--journal into the journal.\n"
    "\n"
    "Options:\n"
    "  -i, --input FILE     Input file, - for stdin (default)\n"
    "  --origin NAME        Origin for rows that carry none (default: bulk)\n"
    "  --override-origin    Use --origin even for rows that carry one\n"
    "                       (--no-override-origin: the default)\n"
    "  --role NAME          Role for rows that carry none\n"
    "  --last-seen ISO      Timestamp for rows without one (default: now)\n"
    "  --bulk-size N        Statements per written batch\n"
    "  --shards N           Shard count when this import creates the dataset\n"
    "  --journal            Write to the journal instead of the parquet store\n"
    "  --unsafe             Accepted for the reference's scripts; input is validated anyway\n";

static int cmd_import(lh_cli *cli, int argc, char **argv)
{
    import_opts o;
    int u = lh_cli_parse_import(cli, argc, argv, &o, IMPORT_HELP);
    if (u >= 0) return u;
    lh_error err;
    const lh_model *m = lh_model_get(&err);
    const char *ds;
    if (!m || lh_cli_dataset(cli, &ds, &err) != LH_OK) return lh_cli_fail(cli, &err);
    o.ex.dataset = ds;
    FILE *in = lh_cli_open_in(o.input, &err);
    if (!in) return lh_cli_fail(cli, &err);
    lh_stmt_csv_reader *r = lh_stmt_csv_reader_new(in, strcmp(o.input, "-") ? o.input : "<stdin>");
    lh_stmt_batch batch;
    lh_stmt_batch_init(&batch);
    import_sink s;
    lh_progress prog;
    lh_progress_start(&prog, "import");
    lh_status rc = lh_cli_sink_open(cli, o.journal, o.shards, &s, &err);
    while (rc == LH_OK) {
        bool got = false;
        size_t from = batch.len;
        rc = lh_stmt_csv_next(m, r, &o.ex, &batch, &got, &err);
        if (rc != LH_OK || !got) break;
        lh_cli_sink_fold(&s, &batch, from); /* one row per statement identity */
        lh_progress_add(&prog, 1);
        if (batch.len >= o.bulk_size) rc = lh_cli_sink_write(&s, &batch, &err);
    }
    if (rc == LH_OK) rc = lh_cli_sink_write(&s, &batch, &err);
    if (rc == LH_OK) rc = lh_cli_sink_commit(cli, &s, &err);
    lh_progress_done(&prog);
    lh_cli_sink_close(&s);
    lh_stmt_csv_reader_free(r);
    lh_stmt_batch_free(&batch);
    lh_cli_close(in);
    if (rc != LH_OK) return lh_cli_fail(cli, &err);
    fprintf(stderr, "imported %llu statements into %s\n", (unsigned long long)s.rows,
            o.journal ? "the journal" : "the parquet store");
    return 0;
}

static int cmd_iterate(lh_cli *cli, int argc, char **argv)
{
    const char *output;
    int u = lh_cli_parse_output(cli, argc, argv,
                                "Usage: ftm-lakehouse -d DATASET statements iterate [-o FILE]\n\n"
                                "Print the live statements as CSV, entity by entity: the stored\n"
                                "columns (shard ... deleted_at) as the reference prints them,\n"
                                "nothing for an empty dataset. `statements stream` and\n"
                                "`maintenance export-statements` give the exported\n"
                                "statements.csv layout.\n",
                                "-", &output);
    if (u >= 0) return u;
    lh_error err;
    lh_pstore *ps = NULL;
    uint64_t rows = 0;
    lh_status rc = lh_cli_pstore(cli, &ps, &err);
    FILE *out = rc == LH_OK ? lh_cli_open_out(output, &err) : NULL;
    if (rc == LH_OK && !out) rc = LH_ERR_IO;
    if (rc == LH_OK) rc = lh_export_statements_file(ps, out, LH_CSV_STORED, &rows, &err);
    rc = lh_cli_close_out(out, output, rc, &err);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_stream(lh_cli *cli, int argc, char **argv)
{
    const char *output;
    int u = lh_cli_parse_output(cli, argc, argv,
                                "Usage: ftm-lakehouse -d DATASET statements stream [-o FILE]\n\n"
                                "Print the exported exports/statements.csv.\n",
                                "-", &output);
    if (u >= 0) return u;
    return lh_cli_stream_key(cli, "exports/statements.csv", output);
}

static const char SQL_HELP[] =
    "Usage: ftm-lakehouse -d DATASET statements sql [-o FILE] QUERY\n"
    "\n"
    "Run SQL (SQLite's dialect) on two read-only tables of the dataset, both\n"
    "at the table version the run starts from:\n"
    "  statement      the live statements (deduped, no tombstones), with\n"
    "                 canonical_id (= entity_id) as the last column\n"
    "  statement_raw  every stored row, duplicates and tombstones included\n"
    "Timestamps are ISO text (UTC), `external` 0 or 1. Equality on entity_id,\n"
    "prop, schema, dataset, origin, bucket or shard narrows what is read.\n"
    "Each statement of QUERY that returns columns prints its header and rows\n"
    "as CSV; results of several are separated by an empty line.\n"
    "\n"
    "  ftm-lakehouse -d DS statements sql \"SELECT prop, count(*) FROM statement GROUP BY prop\"\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE    Write the results to FILE (default: stdout)\n";

typedef struct sql_out {
    FILE *f;
    const char *path;
    lh_buf line;
} sql_out;

static lh_status print_sql_row(void *ctx, size_t stmt, uint64_t row, int ncols,
                               const char *const *names, const char *const *values,
                               lh_error *err)
{
    (void)row;
    sql_out *o = ctx;
    lh_buf_reset(&o->line);
    if (!values && stmt > 0) lh_buf_append_byte(&o->line, '\n');
    for (int i = 0; i < ncols; i++) {
        if (i) lh_buf_append_byte(&o->line, ',');
        const char *v = values ? values[i] : names[i];
        if (v) lh_buf_append_csv_quoted(&o->line, v);
    }
    lh_buf_append_byte(&o->line, '\n');
    if (fwrite(o->line.data, 1, o->line.len, o->f) != o->line.len) /* a full disk: stop */
        return lh_error_errno(err, LH_ERR_IO, errno, "writing `%s`",
                              strcmp(o->path, "-") ? o->path : "<stdout>");
    return LH_OK;
}

static int cmd_sql(lh_cli *cli, int argc, char **argv)
{
    if (lh_cli_want_help(argc, argv, SQL_HELP)) return 0;
    const char *output = "-", *query = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc)
            output = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1])
            return lh_cli_usage_error(cli, "unknown option `%s`", argv[i]);
        else if (!query)
            query = argv[i];
        else
            return lh_cli_usage_error(cli, "unexpected argument `%s` (quote the query)", argv[i]);
    }
    if (!query) return lh_cli_usage_error(cli, "missing QUERY");
    lh_error err;
    lh_pstore *ps = NULL;
    lh_status rc = lh_cli_pstore(cli, &ps, &err);
    sql_out o = {NULL, output, LH_BUF_INIT};
    if (rc == LH_OK) o.f = lh_cli_open_out(output, &err);
    if (rc == LH_OK && !o.f) rc = LH_ERR_IO;
    if (rc == LH_OK) rc = lh_stmt_sql_run(ps, query, print_sql_row, &o, &err);
    rc = lh_cli_close_out(o.f, output, rc, &err);
    lh_buf_free(&o.line);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static const lh_cmd CMDS[] = {
    {"import", cmd_import, NULL, true},
    {"iterate", cmd_iterate, NULL, true},
    {"stream", cmd_stream, NULL, true},
    {"sql", cmd_sql, NULL, true},
    {NULL, NULL, NULL, false},
};

int lh_cmd_statements(lh_cli *cli, int argc, char **argv)
{
    return lh_cli_dispatch(cli, argv[0], HELP, CMDS, argc, argv);
}
