/* ftm-lakehouse maintenance ...: merge, compact, shard, vacuum, optimize,
 * unlock, destroy, flush and the exports. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_store.h"
#include "cmd_check.h"
#include "lh/core/timeutil.h"
#include "lh/repository/dataset.h"
#include "lh/repository/export.h"
#include "lh/repository/migrate.h"

static const char HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  flush [--all]       Move journal statements into the parquet store\n"
    "                      (--all: of every dataset, without -d)\n"
    "  merge [--force]     Rewrite dirty partitions: one row per statement id,\n"
    "                      first_seen folded, tombstones past the grace period\n"
    "                      dropped (--force: clean partitions too)\n"
    "  compact             Bin-pack partitions with several files, rows unchanged\n"
    "  vacuum [--retention-hours N]\n"
    "                      Delete data files the log no longer references, and\n"
    "                      what killed writers left (temp files, S3 uploads)\n"
    "  optimize [--retention-hours N] [--force]\n"
    "                      flush the journal, merge, then vacuum\n"
    "  shard --shards N [--force]\n"
    "                      Rewrite the store onto N entity-id hash shards (0/1:\n"
    "                      one), then set N in config.yml; run with writers\n"
    "                      stopped, then optimize (--force: also when config.yml\n"
    "                      already says N)\n"
    "  migrate [--all] [--force]\n"
    "                      Apply the storage migrations a dataset has not had\n"
    "                      (a store an older version wrote); writers stopped\n"
    "  unlock              Release a write fence left by a crashed writer (and\n"
    "                      record an interrupted re-shard's count)\n"
    "  check               Verify the dataset; exit 5 naming what is wrong\n"
    "  destroy --yes       Delete the statement table\n"
    "  export-statements [-o FILE]   statements.csv (default: exports/statements.csv)\n"
    "  export-entities [-o FILE]     entities.ftm.json (default: in the dataset)\n"
    "  export-statistics [-o FILE]   statistics.json (default: exports/statistics.json)\n";

static const char MERGE_HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance merge [--force]\n"
    "\n"
    "Rewrite each partition that has more than merge output (appends, flushes)\n"
    "as one sorted file: one row per statement id (the latest last_seen wins,\n"
    "first_seen folds to the earliest), a fragment's older rows superseded,\n"
    "tombstones older than LAKEHOUSE_GRACE_PERIOD_DAYS dropped. One Delta commit\n"
    "per batch of partitions, then a checkpoint; replaced files stay on disk\n"
    "until `vacuum`. --force: rewrite clean partitions too. Takes the merge\n"
    "fence (.LOCK-MERGE; imports and flushes go on beside it); the journal is\n"
    "not flushed (`optimize` does that).\n";

static const char COMPACT_HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance compact\n"
    "\n"
    "Bin-pack each partition with several files into one, every row kept as\n"
    "it is (no dedupe: that is `merge`). Replaced files stay until `vacuum`.\n";

static const char VACUUM_HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance vacuum [--retention-hours N]\n"
    "\n"
    "Delete data files the Delta log no longer references and that were\n"
    "removed more than N hours ago (default 0: all of them, as the reference),\n"
    "and what killed writers left behind in the dataset (temp files, open S3\n"
    "uploads; outside the table once a minute old).\n"
    "Readers of an older version lose its files: keep N above your longest read.\n";

static const char OPTIMIZE_HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance optimize [--retention-hours N] [--force]\n"
    "\n"
    "The reference's optimize: flush the journal, `merge` when a partition is\n"
    "dirty (--force: every partition), checkpoint, then `vacuum` with\n"
    "--retention-hours N (default 0). The run is stamped in the tags.\n";

static const char SHARD_HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance shard --shards N [--force]\n"
    "\n"
    "Flush the journal, rewrite the statement table onto N entity-id hash\n"
    "shards (0 or 1: one) in one Delta commit, then record N in config.yml.\n"
    "Run with writers stopped, then `optimize`. Nothing happens when\n"
    "config.yml already says N, unless --force. A run killed between the\n"
    "commit and config.yml leaves its fence held (writers, and this command\n"
    "run again, give up with exit 4): `unlock` records the committed count,\n"
    "then releases the fence.\n";

static const char UNLOCK_HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance unlock\n"
    "\n"
    "Release the write fence (.LOCK, .LOCK-MERGE, append markers) a crashed\n"
    "writer left, and record the shard count an interrupted re-shard\n"
    "committed. Only when no writer of the dataset is running: a live\n"
    "writer's fence is released too. On a local lake a crashed writer's\n"
    "locks are leased and the next writer takes them over by itself; this\n"
    "is for S3, locks the reference left, and a re-shard's fence.\n";

static const char DESTROY_HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance destroy --yes\n"
    "\n"
    "Delete the dataset's statement table: its Delta log and every data file.\n"
    "The journal, tags, exports and config.yml stay.\n";

static const char EXPORT_STATEMENTS_HELP[] =
    "Usage: ftm-lakehouse -d DATASET maintenance export-statements [-o FILE]\n"
    "\n"
    "Write every live statement as CSV (the reference's statements.csv\n"
    "columns) to FILE (\"-\": standard output), by default to\n"
    "exports/statements.csv in the dataset. The journal is not flushed.\n";

/* `--NAME N` (a count up to max, INT_MAX: any) and, when force is not
 * NULL, `--force` and `--no-force` (the reference's switches come in both
 * forms, and scripts pass the default explicitly); -1 when parsed, else
 * the exit code. */
static int parse_count(lh_cli *cli, int argc, char **argv, const char *name, int max,
                       int *count, bool *force)
{
    const struct option opts[] = {{name, required_argument, 0, 'n'},
                                  {"force", no_argument, 0, 'f'},
                                  {"no-force", no_argument, 0, 'F'},
                                  {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n') {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || !*optarg || v < 0 || v > max) {
                if (max == INT_MAX) return lh_cli_usage_error(cli, "bad --%s `%s`", name, optarg);
                return lh_cli_usage_error(cli, "bad --%s `%s` (a count, 0 to %d)", name, optarg,
                                          max);
            }
            *count = (int)v;
        } else if ((c == 'f' || c == 'F') && force) {
            *force = c == 'f';
        } else {
            return lh_cli_usage_error(cli, "bad option");
        }
    }
    if (optind < argc) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[optind]);
    return -1;
}

/* `--force` and `--no-force` when force is not NULL, else no option at
 * all; -1 when parsed, else the exit code. */
static int parse_force(lh_cli *cli, int argc, char **argv, bool *force)
{
    const struct option opts[] = {{"force", no_argument, 0, 'f'},
                                  {"no-force", no_argument, 0, 'F'},
                                  {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((c == 'f' || c == 'F') && force) *force = c == 'f';
        else return lh_cli_usage_error(cli, "bad option");
    }
    if (optind < argc) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[optind]);
    return -1;
}

static int parse_retention(lh_cli *cli, int argc, char **argv, int *hours, bool *force)
{
    return parse_count(cli, argc, argv, "retention-hours", INT_MAX, hours, force);
}

static void print_report(const char *what, const lh_pstore_report *r)
{
    fprintf(stderr, "%s: %zu partition(s) rewritten, %zu skipped, %zu file(s) removed, "
                    "%zu added, %llu rows in, %llu rows out\n",
            what, r->partitions, r->skipped, r->files_removed, r->files_added,
            (unsigned long long)r->rows_in, (unsigned long long)r->rows_out);
    if (r->checkpoint_version >= 0)
        fprintf(stderr, "%s: checkpoint at version %lld\n", what, (long long)r->checkpoint_version);
    else if (r->checkpoint_error.code != LH_OK)
        fprintf(stderr, "%s: warning: no checkpoint written (readers replay the log): %s\n", what,
                r->checkpoint_error.msg);
}

static int cmd_merge(lh_cli *cli, int argc, char **argv)
{
    bool force = false;
    int u = parse_force(cli, argc, argv, &force);
    if (u >= 0) return u;
    lh_error err;
    lh_pstore *ps = NULL;
    lh_pstore_report rep;
    lh_status rc = lh_cli_pstore(cli, &ps, &err);
    if (rc == LH_OK) rc = lh_cli_rewrite(ps, true, force, &rep, &err);
    if (rc == LH_OK) print_report("merge", &rep);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_compact(lh_cli *cli, int argc, char **argv)
{
    int u = parse_force(cli, argc, argv, NULL);
    if (u >= 0) return u;
    lh_error err;
    lh_pstore *ps = NULL;
    lh_pstore_report rep;
    lh_status rc = lh_cli_pstore(cli, &ps, &err);
    if (rc == LH_OK) rc = lh_cli_rewrite(ps, false, false, &rep, &err);
    if (rc == LH_OK) print_report("compact", &rep);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int vacuum_or_optimize(lh_cli *cli, int argc, char **argv, bool merge)
{
    int hours = 0;
    bool force = false;
    int u = parse_retention(cli, argc, argv, &hours, merge ? &force : NULL);
    if (u >= 0) return u;
    lh_error err;
    lh_pstore *ps = NULL;
    lh_pstore_report rep;
    size_t deleted = 0, debris = 0;
    lh_status rc = merge ? lh_cli_flush_first(cli, &err) : LH_OK;
    if (rc == LH_OK) rc = lh_cli_pstore(cli, &ps, &err);
    /* as the reference's OptimizeOperation: a run when a partition is dirty
     * (or forced) is recorded */
    bool needs = force;
    if (rc == LH_OK && merge && !needs) rc = lh_pstore_needs_merge(ps, &needs, &err);
    if (rc == LH_OK && merge) {
        rc = lh_cli_optimize(cli, ps, force, hours, needs, NULL, &rep, &deleted, &debris, &err);
        if (rc == LH_OK) print_report("merge", &rep);
    } else if (rc == LH_OK) {
        rc = lh_cli_vacuum(cli, ps, hours, NULL, &deleted, &debris, &err);
    }
    if (rc == LH_OK && debris)
        fprintf(stderr, "vacuum: %zu file(s) deleted, %zu left by interrupted writes removed\n",
                deleted, debris);
    else if (rc == LH_OK)
        fprintf(stderr, "vacuum: %zu file(s) deleted\n", deleted);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_vacuum(lh_cli *cli, int argc, char **argv)
{
    return vacuum_or_optimize(cli, argc, argv, false);
}

static int cmd_optimize(lh_cli *cli, int argc, char **argv)
{
    return vacuum_or_optimize(cli, argc, argv, true);
}

static int parse_shards(lh_cli *cli, int argc, char **argv, int *shards, bool *force)
{
    int u = parse_count(cli, argc, argv, "shards", LH_PSTORE_MAX_RESHARD, shards, force);
    if (u < 0 && *shards < 0) return lh_cli_usage_error(cli, "shard needs --shards N");
    return u;
}

/* Whether the table's last re-shard committed another count than
 * config.yml's (a re-shard stopped in between); errors count as "maybe". */
static bool layout_differs(lh_cli *cli)
{
    lh_pstore_layout_state layout;
    lh_error e;
    return lh_cli_layout_state(cli, &layout, &e) != LH_OK || layout.differs;
}

/* As the reference's ShardOperation: the journal drained, the store
 * rewritten, then config.yml, which declares the layout to every other
 * process. A run killed between the two leaves the old count there and its
 * fence held: `unlock` records the count the commit carries, and running
 * the re-shard again repairs too (the rewrite is one commit). */
static int cmd_shard(lh_cli *cli, int argc, char **argv)
{
    int shards = -1;
    bool force = false;
    int u = parse_shards(cli, argc, argv, &shards, &force);
    if (u >= 0) return u;
    lh_error err;
    const char *ds = NULL;
    lh_storage *st = NULL;
    lh_dataset_config cfg = {0};
    lh_status rc = lh_cli_dataset(cli, &ds, &err);
    if (rc == LH_OK) rc = lh_cli_storage(cli, &st, &err);
    if (rc == LH_OK) rc = lh_dataset_config_read(st, ds, &cfg, &err);
    bool fresh = rc == LH_OK && cfg.exists && cfg.shards == shards;
    lh_dataset_config_free(&cfg);
    if (fresh) fresh = !layout_differs(cli); /* config.yml alone may be stale */
    if (fresh && !force) {
        fprintf(stderr, "shard: `%s` already has %d shards (config.yml); --force rewrites the "
                        "store anyway\n", ds, shards);
        return 0;
    }
    if (rc == LH_OK) rc = lh_cli_flush_first(cli, &err);
    lh_pstore *ps = NULL;
    lh_pstore_report rep;
    if (rc == LH_OK) rc = lh_cli_pstore(cli, &ps, &err);
    lh_job *job = NULL;
    if (rc == LH_OK)
        rc = lh_cli_job_start(cli, "ShardJob", json_pack("{s:i}", "shards", shards), &job, &err);
    if (rc == LH_OK) {
        lh_progress prog;
        lh_progress_start(&prog, "shard");
        lh_pstore_set_progress(ps, lh_progress_cb, &prog);
        rc = lh_pstore_reshard(ps, shards, &rep, &err);
        lh_pstore_set_progress(ps, NULL, NULL);
        lh_progress_done(&prog);
    }
    /* the store rewritten, then config.yml (under the fence): the
     * reference's two steps */
    if (rc == LH_OK) lh_job_add_done(job, 2);
    if (job) rc = lh_cli_job_stop(job, rc, &err);
    if (rc == LH_OK) print_report("shard", &rep);
    if (rc == LH_OK) rc = lh_cli_tag_now(cli, "operations/shard/last_run", &err);
    if (rc == LH_OK)
        fprintf(stderr, "shard: `%s` now has %d shards; run `maintenance optimize` to merge\n",
                ds, shards);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_unlock(lh_cli *cli, int argc, char **argv)
{
    if (argc > 1) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[1]);
    lh_error err;
    lh_pstore *ps = NULL;
    bool released = false;
    lh_status rc = lh_cli_pstore(cli, &ps, &err);
    /* before the fence goes: writers waiting on it must see the count */
    lh_pstore_layout_state layout;
    if (rc == LH_OK) rc = lh_pstore_layout_repair(ps, true, &layout, &err);
    if (rc == LH_OK && layout.differs)
        fprintf(stderr,
                "recorded %d shard(s) in config.yml (it said %d): the last re-shard committed "
                "the table in that layout but stopped before it recorded the count\n",
                layout.committed, layout.recorded);
    if (rc == LH_OK) rc = lh_pstore_unlock(ps, &released, &err);
    if (rc == LH_OK)
        fprintf(stderr, "%s\n", released ? "released the write fence" : "no lock was held");
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_destroy(lh_cli *cli, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--yes") != 0)
        return lh_cli_usage_error(cli, "destroy deletes every statement: confirm with --yes");
    lh_error err;
    lh_pstore *ps = NULL;
    lh_status rc = lh_cli_pstore(cli, &ps, &err);
    if (rc == LH_OK) rc = lh_pstore_destroy(ps, &err);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int parse_out(lh_cli *cli, int argc, char **argv, const char **out)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'o') *out = optarg;
        else return lh_cli_usage_error(cli, "bad option");
    }
    if (optind < argc) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[optind]);
    return -1;
}

static int cmd_export_statements(lh_cli *cli, int argc, char **argv)
{
    const char *out = NULL;
    int u = parse_out(cli, argc, argv, &out);
    if (u >= 0) return u;
    lh_error err;
    lh_pstore *ps = NULL;
    uint64_t rows = 0;
    lh_fence *sweep = NULL;
    lh_status rc = lh_cli_pstore(cli, &ps, &err);
    if (rc == LH_OK) rc = lh_cli_sweep_fence(cli, &sweep, &err);
    if (rc == LH_OK && out) {
        FILE *f = lh_cli_open_out(out, &err);
        rc = f ? lh_export_statements_file(ps, f, LH_CSV_LAKEHOUSE, &rows, &err) : LH_ERR_IO;
        rc = lh_cli_close_out(f, out, rc, &err);
    } else if (rc == LH_OK) {
        rc = lh_cli_export_statements(cli, ps, &rows, &err);
    }
    rc = lh_fence_release_keep(sweep, rc, &err);
    if (rc == LH_OK) fprintf(stderr, "exported %llu statements\n", (unsigned long long)rows);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

typedef struct migration_run {
    const char *dataset;
    lh_job *job;
    size_t pending;
} migration_run;

static void print_migration(void *ctx, const char *name, const lh_strlist *changed)
{
    migration_run *r = ctx;
    const char *dataset = r->dataset;
    if (r->job) {
        lh_job_set_pending(r->job, (int64_t)--r->pending);
        lh_job_add_done(r->job, 1);
    }
    fprintf(stderr, "%s: migration %s:", dataset, name);
    if (!changed->len) fputs(" nothing owed", stderr);
    for (size_t i = 0; i < changed->len; i++)
        fprintf(stderr, "%s %s", i ? "," : "", changed->items[i]);
    fputc('\n', stderr);
}

static lh_status migrate_dataset(lh_cli *cli, void *ctx, lh_error *err)
{
    bool force = *(bool *)ctx;
    int64_t started = lh_now_us();
    lh_pstore *ps = NULL;
    lh_tags *tags = NULL;
    size_t ran = 0;
    migration_run mr = {cli->dataset, NULL, 0};
    lh_status rc = lh_cli_pstore(cli, &ps, err);
    if (rc == LH_OK) rc = lh_cli_tags(cli, &tags, err);
    /* a run with migrations outstanding is recorded as the reference's MigrateJob */
    if (rc == LH_OK) rc = lh_migrate_outstanding(tags, force, &mr.pending, err);
    if (rc == LH_OK && mr.pending) rc = lh_cli_job_start(cli, "MigrateJob", NULL, &mr.job, err);
    if (rc == LH_OK && mr.job) {
        lh_job_set_pending(mr.job, (int64_t)mr.pending);
        rc = lh_job_save(mr.job, lh_now_us(), err);
    }
    if (rc == LH_OK) rc = lh_migrate(ps, tags, force, print_migration, &mr, &ran, err);
    if (rc == LH_OK && mr.job) rc = lh_job_save(mr.job, lh_now_us(), err);
    if (mr.job) rc = lh_cli_job_stop(mr.job, rc, err);
    /* as the reference: a dataset with nothing outstanding is not touched */
    if (rc == LH_OK && ran)
        rc = lh_tags_set(tags, "operations/migrate/last_run", started, NULL, err);
    if (rc == LH_OK && !ran) fprintf(stderr, "%s: no migration outstanding\n", cli->dataset);
    lh_tags_free(tags);
    lh_pstore_free(ps);
    return rc;
}

static int cmd_migrate(lh_cli *cli, int argc, char **argv)
{
    static const char help[] =
        "Usage: ftm-lakehouse -d DATASET maintenance migrate [--force]\n"
        "       ftm-lakehouse maintenance migrate --all [--force]\n"
        "\n"
        "Apply the storage migrations the dataset has not had, oldest first, as\n"
        "the reference's migrate: a statement table an older version created\n"
        "gets the columns it lacks (role) and the table properties bounding its\n"
        "log (then a checkpoint, and the expired log dropped). Each migration is\n"
        "stamped with a tag migrations/NAME when done; --force runs them all\n"
        "again (they are idempotent). --all: every dataset of the lake (not\n"
        "with -d). Run with writers stopped: migrations take the write fence.\n";
    if (lh_cli_want_help(argc, argv, help)) return 0;
    /* --force in both forms, as the reference takes it; --all has one */
    static const struct option opts[] = {{"all", no_argument, 0, 'a'},
                                          {"force", no_argument, 0, 'f'},
                                          {"no-force", no_argument, 0, 'F'},
                                          {0, 0, 0, 0}};
    bool all = false, force = false;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'a') all = true;
        else if (c == 'f' || c == 'F') force = c == 'f';
        else return lh_cli_usage_error(cli, "bad option");
    }
    if (optind < argc) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[optind]);
    if (all && cli->dataset)
        return lh_cli_usage_error(cli, "use either -d DATASET or --all, not both");
    if (!all && !cli->dataset) return lh_cli_usage_error(cli, "no dataset (-d DATASET or --all)");
    lh_error err;
    lh_status rc = all ? lh_cli_each_dataset(cli, migrate_dataset, &force, &err)
                       : migrate_dataset(cli, &force, &err);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static const lh_cmd CMDS[] = {
    {"flush", lh_cmd_flush, NULL, true},
    {"merge", cmd_merge, MERGE_HELP, false},
    {"compact", cmd_compact, COMPACT_HELP, false},
    {"shard", cmd_shard, SHARD_HELP, false},
    {"vacuum", cmd_vacuum, VACUUM_HELP, false},
    {"optimize", cmd_optimize, OPTIMIZE_HELP, false},
    {"migrate", cmd_migrate, NULL, true},
    {"unlock", cmd_unlock, UNLOCK_HELP, false},
    {"check", lh_cmd_check, NULL, true},
    {"destroy", cmd_destroy, DESTROY_HELP, false},
    {"export-statements", cmd_export_statements, EXPORT_STATEMENTS_HELP, false},
    {"export-entities", lh_cmd_export_entities, NULL, true},
    {"export-statistics", lh_cmd_export_statistics, NULL, true},
    {NULL, NULL, NULL, false},
};

int lh_cmd_maintenance(lh_cli *cli, int argc, char **argv)
{
    return lh_cli_dispatch(cli, argv[0], HELP, CMDS, argc, argv);
}
