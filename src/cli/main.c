/* ftm-lakehouse: entry point, global options, dispatch, error reporting. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_store.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/repository/dataset.h"

static const char MAIN_HELP[] =
    "Usage: ftm-lakehouse [--uri URI] [-d DATASET] COMMAND [ARGS]...\n"
    "\n"
    "A native storage engine for FollowTheMoney data: statements in a Delta\n"
    "Lake table per dataset, a SQL journal in front of it. Lakes are\n"
    "interchangeable with the Python ftm-lakehouse.\n"
    "\n"
    "Options:\n"
    "  --uri URI        Lake root (local path, file:// or s3://); default\n"
    "                   $LAKEHOUSE_URI or ./data\n"
    "  -d, --dataset D  Dataset name\n"
    "  --dataset-uri U  Where the dataset is (path, file:// or s3://), when\n"
    "                   not at URI/DATASET; needs -d\n"
    "  --version        Show the version and exit\n"
    "  --settings       Show the settings in effect (JSON) and exit\n"
    "  -h, --help       Show this help and exit\n"
    "\n"
    "Commands:\n"
    "  ls               List dataset names\n"
    "  datasets         List datasets with their configuration (JSON lines)\n"
    "  configure        Merge settings (YAML: title, publisher, ...) into config.yml\n"
    "  make             Flush, optimize and export a dataset (skips fresh work)\n"
    "  export           Flush and export a dataset (skips fresh exports)\n"
    "  entities         import | iterate | stream | delete | delete-origin\n"
    "                   FtM entities\n"
    "  statements       import | iterate | stream | sql   statements (CSV)\n"
    "  maintenance      flush | merge | compact | vacuum | optimize | shard |\n"
    "                   migrate | check | unlock | destroy | export-statements |\n"
    "                   export-entities | export-statistics   (alias: operations)\n"
    "  tags             get | set | list | is-latest   freshness tags\n"
    "  queue            put | list | pop | ack | count   CRUD mutation queue\n"
    "\n"
    "Environment: LAKEHOUSE_URI, LAKEHOUSE_JOURNAL_URI (sqlite:///path or\n"
    "postgresql://...; default: sqlite file `.journal.db` in the lake),\n"
    "LAKEHOUSE_GRACE_PERIOD_DAYS (30), LAKEHOUSE_LOCK_MAX_RETRIES (10),\n"
    "LAKEHOUSE_MAX_BUFFER_ROWS (1000000), LAKEHOUSE_WORKERS (one per CPU),\n"
    "LAKEHOUSE_SORT_MEMORY_MB (64), LAKEHOUSE_PUBLIC_URL_PREFIX (unset). README.md\n"
    "says more.\n"
    "\n"
    "Exit status: 0 success, 1 I/O or internal error, 2 usage error, 3 bad\n"
    "input data or name, 4 write fence held (see `maintenance unlock`), 5\n"
    "stored data corrupt.\n";

int lh_cli_fail(lh_cli *cli, const lh_error *err)
{
    const char *cause = err->code == LH_ERR_IO ? lh_cli_io_cause() : NULL;
    fprintf(stderr, "ftm-lakehouse: error: %s%s%s\n", err->msg[0] ? err->msg : lh_status_name(err->code),
            cause ? ": " : "", cause ? cause : "");
    if (cli->dataset_missing) return LH_EXIT_USAGE;
    switch (err->code) {
    case LH_ERR_INVALID: return LH_EXIT_INPUT;
    case LH_ERR_BUSY: return LH_EXIT_BUSY;
    case LH_ERR_CORRUPT: return LH_EXIT_CORRUPT;
    default: return LH_EXIT_ERROR;
    }
}

int lh_cli_usage_error(lh_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli->prog ? cli->prog : "ftm-lakehouse");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry `%s --help`.\n", cli->prog ? cli->prog : "ftm-lakehouse");
    va_end(ap);
    return LH_EXIT_USAGE;
}

/* The lake, with the dataset of --dataset-uri mounted at its name. */
static lh_status open_storage(lh_cli *cli, lh_error *err)
{
    if (!cli->dataset_uri) return lh_storage_open(cli->uri, &cli->st, err);
    if (!cli->dataset) {
        cli->dataset_missing = true;
        return lh_error_set(err, LH_ERR_INVALID, "--dataset-uri needs -d DATASET");
    }
    LH_TRY(lh_name_check(cli->dataset, "dataset", false, err));
    lh_storage *lake = NULL, *ds = NULL;
    LH_TRY(lh_storage_open(cli->uri, &lake, err));
    lh_status rc = lh_storage_open(cli->dataset_uri, &ds, err);
    if (rc != LH_OK) {
        lh_storage_free(lake);
        return lh_error_prefix(err, "--dataset-uri");
    }
    return lh_storage_mount(lake, cli->dataset, ds, &cli->st, err);
}

lh_status lh_cli_storage(lh_cli *cli, lh_storage **st, lh_error *err)
{
    if (!cli->st) LH_TRY(open_storage(cli, err));
    *st = cli->st;
    return LH_OK;
}

lh_status lh_cli_dataset(lh_cli *cli, const char **name, lh_error *err)
{
    if (!cli->dataset) {
        cli->dataset_missing = true;
        return lh_error_set(err, LH_ERR_INVALID, "no dataset given: use -d DATASET");
    }
    LH_TRY(lh_name_check(cli->dataset, "dataset", false, err));
    if (!cli->dataset_checked) {
        /* A name FtM refuses is one of a dataset an older version made, or
         * none: a command must not make one (a tag, a queue item, a
         * journal table) that `ls` would never show. */
        lh_error name_err;
        if (lh_dataset_name_check(cli->dataset, &name_err) != LH_OK) {
            lh_storage *st;
            lh_dataset_config cfg;
            LH_TRY(lh_cli_storage(cli, &st, err));
            LH_TRY(lh_dataset_config_read(st, cli->dataset, &cfg, err));
            bool exists = cfg.exists;
            lh_dataset_config_free(&cfg);
            if (!exists) {
                *err = name_err;
                return lh_error_suffix(err, " (no such dataset)");
            }
        }
        cli->dataset_checked = true;
    }
    *name = cli->dataset;
    return LH_OK;
}


bool lh_cli_want_help(int argc, char **argv, const char *help)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return true;
        }
    }
    return false;
}

int lh_cli_parse_output(lh_cli *cli, int argc, char **argv, const char *help, const char *dflt,
                        const char **out)
{
    if (lh_cli_want_help(argc, argv, help)) return 0;
    *out = dflt;
    if (argc == 3 && (strcmp(argv[1], "-o") == 0 || strcmp(argv[1], "--output") == 0))
        *out = argv[2];
    else if (argc != 1)
        return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[1]);
    return -1;
}

int lh_cli_dispatch(lh_cli *cli, const char *group, const char *help, const lh_cmd *cmds,
                    int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? LH_EXIT_USAGE : LH_EXIT_OK;
    }
    for (const lh_cmd *c = cmds; c->name; c++) {
        if (strcmp(c->name, argv[1]) == 0) {
            static char prog[128];
            snprintf(prog, sizeof prog, "ftm-lakehouse %s %s", group, c->name);
            cli->prog = prog;
            if (!c->own_help && lh_cli_want_help(argc - 1, argv + 1, c->help ? c->help : help))
                return LH_EXIT_OK;
            optind = 1;
            return c->fn(cli, argc - 1, argv + 1);
        }
    }
    return lh_cli_usage_error(cli, "unknown command `%s %s`", group, argv[1]);
}

void lh_progress_start(lh_progress *p, const char *label)
{
    p->label = label;
    p->count = 0;
    p->start_us = p->last_us = lh_monotonic_us();
    p->tty = isatty(STDERR_FILENO) && !getenv("LH_NO_PROGRESS");
}

static void progress_print(lh_progress *p, int64_t now, bool final)
{
    double secs = (double)(now - p->start_us) / 1e6;
    double rate = secs > 0 ? (double)p->count / secs : 0;
    fprintf(stderr, "\r%s: %llu rows, %.0f rows/s, %.1fs elapsed%s", p->label,
            (unsigned long long)p->count, rate, secs, final ? "\n" : "   ");
    fflush(stderr);
}

void lh_progress_add(lh_progress *p, uint64_t n)
{
    p->count += n;
    if (!p->tty) return;
    int64_t now = lh_monotonic_us();
    if (now - p->last_us < 250000) return;
    p->last_us = now;
    progress_print(p, now, false);
}

void lh_progress_cb(void *ctx, uint64_t n)
{
    lh_progress_add(ctx, n);
}

void lh_progress_done(lh_progress *p)
{
    if (p->tty) progress_print(p, lh_monotonic_us(), true);
}

/* uri with the password of its user info, if any, as "***". */
static char *without_password(const char *uri)
{
    const char *auth = strstr(uri, "://");
    if (!auth) return lh_strdup(uri);
    auth += 3;
    /* the last '@' ends the user info (a password may hold one) */
    const char *at = NULL;
    for (const char *p = auth; *p && !strchr("/?#", *p); p++)
        if (*p == '@') at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon) return lh_strdup(uri);
    return lh_asprintf("%.*s***%s", (int)(colon + 1 - uri), uri, at);
}

/* --settings: what the environment and the options make of the settings,
 * and where they put the lake, the dataset and the journal (the
 * reference prints the same figures, as Python objects). */
static int print_settings(lh_cli *cli)
{
    lh_error err;
    lh_storage *st;
    const char *ds = NULL;
    if (lh_cli_storage(cli, &st, &err) != LH_OK) return lh_cli_fail(cli, &err);
    if (cli->dataset && lh_cli_dataset(cli, &ds, &err) != LH_OK) return lh_cli_fail(cli, &err);
    char *found = NULL;
    bool exists;
    if (lh_cli_journal_location(cli, &found, &exists, &err) != LH_OK)
        return lh_cli_fail(cli, &err);
    char *journal = found ? without_password(found) : NULL;
    free(found);
    const lh_settings *s = &cli->settings;
    char *dataset_uri = ds ? lh_storage_key_uri(st, ds) : NULL;
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:i, s:I, s:i, s:i, s:i, s:I, s:s, s:s?, s:s?}",
                          "uri", s->uri, "journal_uri", journal, "public_url_prefix",
                          s->public_url_prefix, "grace_period_days", s->grace_period_days,
                          "max_buffer_rows", (json_int_t)s->max_buffer_rows, "lock_max_retries",
                          s->lock_max_retries, "lock_backoff_ms", s->lock_backoff_ms, "workers",
                          s->workers, "sort_memory_mb", (json_int_t)s->sort_memory_mb, "catalog",
                          lh_storage_uri(st), "dataset", ds, "dataset_uri", dataset_uri);
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text) printf("%s\n", text);
    free(text);
    json_decref(o);
    free(dataset_uri);
    free(journal);
    return text ? 0 : LH_EXIT_ERROR;
}

static const lh_cmd TOP[] = {
    {"ls", lh_cmd_ls, NULL, false},
    {"datasets", lh_cmd_datasets, NULL, false},
    {"configure", lh_cmd_configure, NULL, false},
    {"make", lh_cmd_make, NULL, false},
    {"export", lh_cmd_export, NULL, false},
    {"entities", lh_cmd_entities, NULL, false},
    {"statements", lh_cmd_statements, NULL, false},
    {"maintenance", lh_cmd_maintenance, NULL, false},
    {"operations", lh_cmd_maintenance, NULL, false},
    {"tags", lh_cmd_tags, NULL, false},
    {"queue", lh_cmd_queue, NULL, false},
    {NULL, NULL, NULL, false},
};

int main(int argc, char **argv)
{
    /* A write past the file-size limit (ulimit -f) fails with EFBIG, named
     * with its file like any write error, where the default action of
     * SIGXFSZ killed the process without a word (the reference's Python
     * ignores it too) */
    signal(SIGXFSZ, SIG_IGN);
    /* A merge or read streams every file of a (shard, bucket) pair at once
     * and holds a file open until its last row group is read (a re-shard,
     * every new shard's file of a group): a partition of many large files
     * needs a descriptor each. The hard limit is ours to take; the soft
     * one is often 1024 where the hard one is far higher. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    lh_cli cli = {0};
    lh_error err;
    lh_error_clear(&err);
    if (lh_settings_load(&cli.settings, &err) != LH_OK) return lh_cli_fail(&cli, &err);
    cli.uri = cli.settings.uri;
    int i = 1, rc = -1;
    bool show_settings = false;
    /* global options come before the command */
    for (; rc < 0 && i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(MAIN_HELP, stdout);
            rc = 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("ftm-lakehouse (C) %s\n", LH_VERSION);
            rc = 0;
        } else if (strcmp(a, "--settings") == 0) {
            show_settings = true; /* after the options that follow it */
        } else if (strcmp(a, "--no-settings") == 0) {
            show_settings = false; /* the reference's switch in its other form */
        } else if (strcmp(a, "--no-version") == 0) {
            /* the default, as the reference takes it */
        } else if ((strcmp(a, "--uri") == 0 || strcmp(a, "-d") == 0 ||
                    strcmp(a, "--dataset") == 0) && i + 1 < argc) {
            if (a[1] == '-' && a[2] == 'u') cli.uri = argv[++i];
            else cli.dataset = argv[++i];
        } else if (strncmp(a, "--uri=", 6) == 0) {
            cli.uri = a + 6;
        } else if (strncmp(a, "--dataset=", 10) == 0) {
            cli.dataset = a + 10;
        } else if (strcmp(a, "--dataset-uri") == 0 && i + 1 < argc) {
            cli.dataset_uri = argv[++i];
        } else if (strncmp(a, "--dataset-uri=", 14) == 0) {
            cli.dataset_uri = a + 14;
        } else {
            cli.prog = "ftm-lakehouse";
            rc = lh_cli_usage_error(&cli, "unknown or incomplete option `%s`", a);
        }
    }
    if (rc >= 0) {
        /* handled by a global option */
    } else if (show_settings) {
        cli.prog = "ftm-lakehouse";
        rc = print_settings(&cli);
    } else if (i >= argc) {
        fputs(MAIN_HELP, stderr);
        rc = LH_EXIT_USAGE;
    } else {
        const lh_cmd *c = TOP;
        while (c->name && strcmp(c->name, argv[i]) != 0) c++;
        if (!c->name) {
            cli.prog = "ftm-lakehouse";
            rc = lh_cli_usage_error(&cli, "unknown command `%s`", argv[i]);
        } else {
            static char prog[64];
            snprintf(prog, sizeof prog, "ftm-lakehouse %s", c->name);
            cli.prog = prog;
            optind = 1;
            rc = c->fn(&cli, argc - i, argv + i);
        }
    }
    lh_storage_free(cli.st);
    lh_settings_free(&cli.settings);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "ftm-lakehouse: error: writing output: %s\n", strerror(errno));
        rc = LH_EXIT_ERROR;
    }
    return rc;
}
