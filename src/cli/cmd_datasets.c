/* ftm-lakehouse ls | datasets */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_store.h"
#include "lh/core/mem.h"
#include "lh/repository/dataset.h"
#include "lh/repository/dataset_model.h"

static int list(lh_cli *cli, int argc, char **argv, bool details, const char *help)
{
    if (lh_cli_want_help(argc, argv, help)) return 0;
    if (argc > 1) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[1]);
    lh_error err;
    lh_storage *st;
    lh_strlist names;
    lh_strlist_init(&names);
    lh_status rc = lh_cli_storage(cli, &st, &err);
    if (rc == LH_OK) rc = lh_dataset_list(st, &names, &err);
    for (size_t i = 0; rc == LH_OK && i < names.len; i++) {
        if (!details) {
            printf("%s\n", names.items[i]);
            continue;
        }
        json_t *model = NULL;
        rc = lh_dataset_model_load(st, names.items[i], &model, &err);
        if (rc == LH_OK) {
            char *line = json_dumps(model, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (!line) lh_out_of_memory_for("a dataset model");
            puts(line);
            free(line);
        }
        json_decref(model);
    }
    lh_strlist_free(&names);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

int lh_cmd_ls(lh_cli *cli, int argc, char **argv)
{
    return list(cli, argc, argv, false,
                "Usage: ftm-lakehouse [--uri URI] ls\n\nPrint the dataset names of the lake, "
                "one per line.\n");
}

int lh_cmd_datasets(lh_cli *cli, int argc, char **argv)
{
    return list(cli, argc, argv, true,
                "Usage: ftm-lakehouse [--uri URI] datasets\n\nPrint the datasets of the lake "
                "with their configuration, one JSON object per line: the reference's dataset\n"
                "model (name, title, summary, publisher, ..., uri, shards) from each\n"
                "config.yml, defaults filled in.\n");
}
