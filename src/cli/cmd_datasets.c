/* ftm-lakehouse ls | datasets */
#include <stdio.h>
#include <string.h>

#include "cli_store.h"
#include "lh/repository/dataset.h"

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
        lh_dataset_config cfg;
        rc = lh_dataset_config_read(st, names.items[i], &cfg, &err);
        if (rc == LH_OK) {
            lh_buf line = LH_BUF_INIT;
            lh_buf_append_str(&line, "{\"name\": ");
            lh_buf_append_json_str(&line, names.items[i], strlen(names.items[i]));
            lh_buf_printf(&line, ", \"shards\": %d}\n", cfg.shards);
            fputs(line.data, stdout);
            lh_buf_free(&line);
        }
        lh_dataset_config_free(&cfg);
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
                "with their configuration, one JSON object per line.\n");
}
