/* ftm-lakehouse tags get | set | list | is-latest */
#include <stdlib.h>
#include <string.h>

#include "cli_store.h"
#include "lh/core/timeutil.h"

static const char HELP[] =
    "Usage: ftm-lakehouse -d DATASET tags COMMAND [ARGS]\n"
    "\n"
    "Freshness tags: timestamps at {dataset}/tags/lakehouse/{key}.\n"
    "\n"
    "Commands:\n"
    "  list [PREFIX]             Print tag keys and their times\n"
    "  get KEY                   Print the tag's time (exit 1 if unset)\n"
    "  set KEY [ISO]             Set the tag to ISO (default: now)\n"
    "  is-latest KEY DEP...      Exit 0 if KEY is newer than every set DEP\n";

static int with_tags(lh_cli *cli, lh_tags **t)
{
    lh_error err;
    if (lh_cli_tags(cli, t, &err) != LH_OK) return lh_cli_fail(cli, &err);
    return -1;
}

/* Print the tag's time, or a tag that holds no time (a diff series'
 * "ts:version", statistics: tags the exports keep) as stored, on one line;
 * with_key: after its key and a tab. *found = false when it is not set. */
static lh_status show_tag(lh_tags *t, const char *key, bool with_key, bool *found, lh_error *err)
{
    lh_buf raw = LH_BUF_INIT;
    lh_status rc = lh_tags_read(t, key, &raw, found, err);
    if (rc != LH_OK || !*found) {
        lh_buf_free(&raw);
        return rc;
    }
    int64_t us = 0;
    lh_error not_time;
    char iso[LH_ISO_MAX];
    const char *text = iso;
    int len = -1;
    if (lh_tags_parse(raw.data, raw.len, &us, &not_time) == LH_OK) {
        lh_time_format_iso_py(us, 1, iso);
        len = (int)strlen(iso);
    } else {
        for (size_t k = 0; k < raw.len; k++)
            if (raw.data[k] == '\n' || raw.data[k] == '\r' || raw.data[k] == '\t') raw.data[k] = ' ';
        while (raw.len && raw.data[raw.len - 1] == ' ') raw.len--;
        text = raw.data ? raw.data : "";
        len = (int)raw.len;
    }
    printf("%s%s%.*s\n", with_key ? key : "", with_key ? "\t" : "", len, text);
    lh_buf_free(&raw);
    return LH_OK;
}

static int cmd_list(lh_cli *cli, int argc, char **argv)
{
    if (argc > 2) return lh_cli_usage_error(cli, "too many arguments");
    lh_tags *t;
    int u = with_tags(cli, &t);
    if (u >= 0) return u;
    lh_error err;
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_tags_list(t, argc == 2 ? argv[1] : "", &keys, &err);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        bool found;
        rc = show_tag(t, keys.items[i], true, &found, &err);
    }
    lh_strlist_free(&keys);
    lh_tags_free(t);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_get(lh_cli *cli, int argc, char **argv)
{
    if (argc != 2) return lh_cli_usage_error(cli, "expected KEY");
    lh_tags *t;
    int u = with_tags(cli, &t);
    if (u >= 0) return u;
    lh_error err;
    bool found = false;
    lh_status rc = show_tag(t, argv[1], false, &found, &err);
    lh_tags_free(t);
    if (rc != LH_OK) return lh_cli_fail(cli, &err);
    if (!found) {
        fprintf(stderr, "tag `%s` is not set\n", argv[1]);
        return 1;
    }
    return 0;
}

static int cmd_set(lh_cli *cli, int argc, char **argv)
{
    if (argc < 2 || argc > 3) return lh_cli_usage_error(cli, "expected KEY [ISO]");
    lh_error err;
    int64_t us = INT64_MIN;
    if (argc == 3 && lh_time_parse_iso(argv[2], strlen(argv[2]), &us, &err) != LH_OK)
        return lh_cli_usage_error(cli, "%s", err.msg);
    lh_tags *t;
    int u = with_tags(cli, &t);
    if (u >= 0) return u;
    lh_status rc = lh_tags_set(t, argv[1], us, NULL, &err);
    lh_tags_free(t);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_is_latest(lh_cli *cli, int argc, char **argv)
{
    if (argc < 3) return lh_cli_usage_error(cli, "expected KEY DEP...");
    lh_tags *t;
    int u = with_tags(cli, &t);
    if (u >= 0) return u;
    lh_error err;
    bool latest = false;
    lh_status rc = lh_tags_is_latest(t, argv[1], (const char *const *)argv + 2,
                                     (size_t)argc - 2, &latest, &err);
    lh_tags_free(t);
    if (rc != LH_OK) return lh_cli_fail(cli, &err);
    printf("%s\n", latest ? "true" : "false");
    return latest ? 0 : 1;
}

static const lh_cmd CMDS[] = {
    {"list", cmd_list, NULL, false},
    {"get", cmd_get, NULL, false},
    {"set", cmd_set, NULL, false},
    {"is-latest", cmd_is_latest, NULL, false},
    {NULL, NULL, NULL, false},
};

int lh_cmd_tags(lh_cli *cli, int argc, char **argv)
{
    return lh_cli_dispatch(cli, argv[0], HELP, CMDS, argc, argv);
}
