/* ftm-lakehouse ls | datasets */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_store.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/repository/dataset.h"
#include "lh/repository/dataset_model.h"

/* One JSON line, as the reference prints its models. */
static void print_model(json_t *model, FILE *out)
{
    char *line = json_dumps(model, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!line) lh_out_of_memory_for("a dataset model");
    fprintf(out, "%s\n", line);
    free(line);
}

/* A local lake whose directory is not there: a mistyped --uri, which
 * listed nothing and succeeded (the reference fails; an S3 bucket that is
 * not there fails its listing). An empty directory is an empty lake. */
static lh_status lake_must_exist(lh_storage *st, lh_error *err)
{
    char *root = lh_storage_local_path(st, "");
    struct stat sb;
    lh_status rc = LH_OK;
    if (root && stat(root, &sb) != 0 && errno == ENOENT)
        rc = lh_error_set(err, LH_ERR_NOT_FOUND, "no lake at %s: no such directory", root);
    free(root);
    return rc;
}

static int list(lh_cli *cli, int argc, char **argv, bool details, const char *help)
{
    /* -o FILE, as the reference's ls and datasets take it */
    const char *output;
    int u = lh_cli_parse_output(cli, argc, argv, help, "-", &output);
    if (u >= 0) return u;
    lh_error err;
    lh_storage *st;
    lh_strlist names;
    lh_strlist_init(&names);
    FILE *out = NULL;
    lh_status rc = lh_cli_storage(cli, &st, &err);
    if (rc == LH_OK) rc = lh_dataset_list(st, &names, &err);
    if (rc == LH_OK && !names.len) rc = lake_must_exist(st, &err);
    if (rc == LH_OK && !(out = lh_cli_open_out(output, &err))) rc = err.code;
    for (size_t i = 0; rc == LH_OK && i < names.len; i++) {
        if (!details) {
            fprintf(out, "%s\n", names.items[i]);
            continue;
        }
        json_t *model = NULL;
        rc = lh_dataset_model_load(st, names.items[i], &model, &err);
        if (rc == LH_OK) print_model(model, out);
        json_decref(model);
    }
    rc = lh_cli_close_out(out, output, rc, &err);
    lh_strlist_free(&names);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

int lh_cmd_ls(lh_cli *cli, int argc, char **argv)
{
    return list(cli, argc, argv, false,
                "Usage: ftm-lakehouse [--uri URI] ls [-o FILE]\n\nPrint the dataset names of the lake, "
                "one per line (-o: into FILE).\n");
}

int lh_cmd_datasets(lh_cli *cli, int argc, char **argv)
{
    return list(cli, argc, argv, true,
                "Usage: ftm-lakehouse [--uri URI] datasets [-o FILE]\n\nPrint the datasets of the lake "
                "with their configuration, one JSON object per line: the reference's dataset\n"
                "model (name, title, summary, publisher, ..., uri, shards) from each\n"
                "config.yml, defaults filled in (-o: into FILE).\n");
}

lh_status lh_cli_configure(lh_cli *cli, const char *path, bool print, lh_error *err)
{
    const char *ds;
    lh_storage *st;
    LH_TRY(lh_cli_dataset(cli, &ds, err));
    LH_TRY(lh_cli_storage(cli, &st, err));
    FILE *in = lh_cli_open_in(path, err);
    if (!in) return err->code;
    lh_buf text = LH_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) lh_buf_append(&text, chunk, n);
    lh_status rc = ferror(in) ? lh_error_errno(err, LH_ERR_IO, errno, "reading `%s`", path) : LH_OK;
    lh_cli_close(in);
    lh_pstore *ps = NULL;
    bool has_table = false;
    if (rc == LH_OK) rc = lh_cli_pstore(cli, &ps, err);
    if (rc == LH_OK) rc = lh_pstore_exists(ps, &has_table, err);
    lh_pstore_free(ps);
    json_t *model = NULL;
    if (rc == LH_OK)
        rc = lh_dataset_configure(st, ds, text.data ? text.data : "", text.len, path, has_table,
                                  lh_now_us(), &model, err);
    if (rc == LH_OK && print) print_model(model, stdout);
    json_decref(model);
    lh_buf_free(&text);
    return rc;
}

int lh_cmd_configure(lh_cli *cli, int argc, char **argv)
{
    static const char help[] =
        "Usage: ftm-lakehouse -d DATASET configure -c FILE\n"
        "\n"
        "Merge the settings of a YAML file (\"-\": standard input) into the dataset's\n"
        "config.yml, as the reference's `configure` does: each field of the\n"
        "reference's dataset model the file sets (title, summary, publisher,\n"
        "coverage, public_url_prefix, ...) replaces the stored one; name and uri\n"
        "are the dataset's own, storage and unknown keys are ignored, a value of\n"
        "a type the model refuses is named. The whole model is written back, with a snapshot\n"
        "under versions/. `shards` can only change on a dataset without a table\n"
        "(`maintenance shard` re-shards one). Prints the model (JSON).\n"
        "\n"
        "Options:\n"
        "  -c, --config FILE   The settings (YAML)\n";
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: return lh_cli_usage_error(cli, "bad option");
        }
    }
    if (optind < argc) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[optind]);
    if (!path) return lh_cli_usage_error(cli, "configure needs -c FILE");
    lh_error err;
    return lh_cli_configure(cli, path, true, &err) == LH_OK ? 0 : lh_cli_fail(cli, &err);
}
