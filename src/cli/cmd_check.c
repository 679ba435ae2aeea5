/* ftm-lakehouse maintenance check: verify a dataset, one line per finding.
 * Exit 0 when healthy, 5 when anything is wrong. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_store.h"
#include "cmd_check.h"
#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/repository/check.h"
#include "lh/repository/dataset.h"
#include "lh/storage/journal.h"

static const char HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance check [--quick]\n"
    "\n"
    "Verify the dataset without changing it: the Delta log replays, every file\n"
    "it references exists with the logged size and reads as statements,\n"
    "partition values are valid, merged partitions hold each statement once,\n"
    "no lock is left by a dead process, config.yml has the last re-shard's\n"
    "count. Lists unreferenced (orphan) data files, held locks and the\n"
    "journal's row count.\n"
    "\n"
    "  --quick   read each file's footer only (it parses, has the statement\n"
    "            columns and the logged row count), not its rows; no\n"
    "            duplicate check. Seconds instead of a full read on big lakes.\n"
    "\n"
    "Output: one line per finding, `FAIL <kind>: ...` or `note <kind>: ...`,\n"
    "then a summary. Exit 0 when healthy, 5 otherwise; 1 when the journal\n"
    "could not be opened to count it (a full disk, a server down).\n";

/* The journal when one exists; never creates one. A journal that does not
 * open for another reason than its content (a full disk: SQLite needs room
 * for its WAL index; a database server down) is not a corrupt one: *unchecked
 * gets the error, and check ends in it (exit 1) rather than in CORRUPT. */
static lh_journal *open_journal(lh_cli *cli, const char *ds, lh_check_report *rep,
                                lh_error *unchecked)
{
    char *uri = NULL;
    bool exists = false;
    lh_journal *j = NULL;
    lh_error e;
    /* a configured SQLite file that is not there is no journal: checking
     * must not make one */
    lh_journal_options opts = {.existing = true};
    lh_status rc = lh_cli_journal_location(cli, &uri, &exists, &e);
    if (rc == LH_OK && exists) rc = lh_journal_open(uri, ds, &opts, &j, &e);
    if (rc == LH_ERR_CORRUPT)
        lh_strlist_push_owned(&rep->problems, lh_asprintf("journal: cannot open: %s", e.msg));
    else if (rc != LH_OK && rc != LH_ERR_NOT_FOUND)
        *unchecked = e;
    if (rc != LH_OK) j = NULL;
    free(uri);
    return j;
}

/* A re-shard that committed but did not record its count (killed). */
static void check_layout(lh_cli *cli, lh_check_report *rep)
{
    lh_pstore_layout_state layout;
    lh_error e;
    if (lh_cli_layout_state(cli, &layout, &e) != LH_OK)
        lh_strlist_push_owned(&rep->problems, lh_asprintf("layout: %s", e.msg));
    else if (layout.differs)
        lh_strlist_push_owned(
            &rep->problems,
            lh_asprintf("layout: the last commit re-sharded the table to %d shard(s) but "
                        "config.yml says %d (a re-shard stopped before it recorded its count): "
                        "run `maintenance unlock`",
                        layout.committed, layout.recorded));
}

int lh_cmd_check(lh_cli *cli, int argc, char **argv)
{
    if (lh_cli_want_help(argc, argv, HELP)) return 0;
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (argc > 1 + quick) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[1 + quick]);
    lh_error err;
    const char *ds;
    lh_storage *st;
    if (lh_cli_dataset(cli, &ds, &err) != LH_OK || lh_cli_storage(cli, &st, &err) != LH_OK)
        return lh_cli_fail(cli, &err);
    lh_dataset_config cfg;
    if (lh_dataset_config_read(st, ds, &cfg, &err) != LH_OK) {
        lh_dataset_config_free(&cfg);
        return lh_cli_fail(cli, &err);
    }
    lh_check_report rep;
    lh_check_report_init(&rep);
    lh_error unchecked = {0};
    lh_journal *j = open_journal(cli, ds, &rep, &unchecked);
    lh_status rc = lh_check_dataset(st, ds, cfg.shards, j, quick, &rep, &err);
    lh_journal_free(j);
    if (rc == LH_OK) check_layout(cli, &rep);
    lh_dataset_config_free(&cfg);
    int exit_code = 0;
    if (rc != LH_OK) {
        exit_code = lh_cli_fail(cli, &err);
    } else {
        for (size_t i = 0; i < rep.problems.len; i++) printf("FAIL %s\n", rep.problems.items[i]);
        for (size_t i = 0; i < rep.notes.len; i++) printf("note %s\n", rep.notes.items[i]);
        /* a lock its dead holder left blocks writers but harms no data */
        bool only_locked = rep.problems.len > 0;
        for (size_t i = 0; i < rep.problems.len; i++)
            if (strncmp(rep.problems.items[i], "stale-lock:", 11) != 0) only_locked = false;
        printf("%s: dataset %s, version %lld, %zu file(s), %llu row(s), %zu orphan(s), ",
               lh_check_healthy(&rep) ? "healthy" : only_locked ? "LOCKED" : "CORRUPT", ds,
               (long long)rep.version,
               rep.files, (unsigned long long)rep.rows, rep.orphans);
        if (rep.journal_rows >= 0) printf("journal %lld row(s)\n", (long long)rep.journal_rows);
        else printf("no journal\n");
        exit_code = lh_check_healthy(&rep) ? LH_EXIT_OK : LH_EXIT_CORRUPT;
        if (exit_code == LH_EXIT_OK && unchecked.code != LH_OK) {
            lh_error_prefix(&unchecked, "journal not checked");
            exit_code = lh_cli_fail(cli, &unchecked);
        }
    }
    lh_check_report_free(&rep);
    return exit_code;
}
