/* ftm-lakehouse make | export | maintenance export-statistics */
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cli_import.h"
#include "lh/core/timeutil.h"
#include "lh/repository/dataset.h"
#include "lh/repository/dataset_model.h"
#include "lh/repository/export.h"
#include "lh/repository/index.h"
#include "lh/repository/stats.h"
#include "lh/storage/fence.h"
#include "lh/storage/versions.h"

/* statistics.json from computed stats: to outpath, or into the lake with
 * its freshness tag at read_at, when the read they come from started (a
 * commit after it leaves them stale). */
static lh_status write_statistics(lh_cli *cli, lh_stats *stats, const char *outpath,
                                  int64_t read_at, lh_error *err)
{
    lh_buf json = LH_BUF_INIT;
    lh_stats_emit(stats, &json);
    lh_buf_append_byte(&json, '\n');
    lh_status rc = LH_OK;
    if (outpath) {
        FILE *f = lh_cli_open_out(outpath, err);
        if (!f) rc = LH_ERR_IO;
        else if (fwrite(json.data, 1, json.len, f) != json.len)
            rc = lh_error_set(err, LH_ERR_IO, "writing `%s` failed", outpath);
        rc = lh_cli_close_out(f, outpath, rc, err);
    } else {
        /* versioned as the reference's, and stamped fresh even when the
         * content (so the file) is unchanged */
        rc = lh_versions_put(cli->st, cli->dataset, "exports/statistics.json", json.data,
                             json.len, lh_now_us(), NULL, err);
        if (rc == LH_OK) rc = lh_cli_tag_at(cli, "exports/statistics.json", read_at, err);
    }
    lh_buf_free(&json);
    return rc;
}

static lh_status export_statistics(lh_cli *cli, const char *outpath, lh_error *err)
{
    const lh_model *m = lh_model_get(err);
    if (!m) return err->code;
    lh_pstore *ps = NULL;
    LH_TRY(lh_cli_pstore(cli, &ps, err));
    lh_stats *stats = lh_stats_new(m);
    int64_t read_at = lh_now_us();
    lh_status rc = lh_pstore_query(ps, NULL, lh_stats_add, stats, err);
    if (rc == LH_OK) rc = write_statistics(cli, stats, outpath, read_at, err);
    lh_stats_free(stats);
    lh_pstore_free(ps);
    return rc;
}

int lh_cmd_export_statistics(lh_cli *cli, int argc, char **argv)
{
    static const char help[] =
        "Usage: ftm-lakehouse -d DATASET maintenance export-statistics [-o FILE]\n\n"
        "Compute the dataset statistics (entity count, schemata, countries, date\n"
        "range) into exports/statistics.json (or FILE).\n";
    const char *out;
    int u = lh_cli_parse_output(cli, argc, argv, help, NULL, &out);
    if (u >= 0) return u;
    lh_error err;
    lh_fence *sweep = NULL;
    lh_status rc = lh_cli_sweep_fence(cli, &sweep, &err);
    if (rc == LH_OK) rc = export_statistics(cli, out, &err);
    rc = lh_fence_release_keep(sweep, rc, &err);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static const char HELP[] =
    "Usage: ftm-lakehouse -d DATASET make [OPTIONS]\n"
    "\n"
    "Make or update a dataset: flush the journal, optimize the statement store\n"
    "(merge + vacuum) when a partition is dirty, and regenerate the exports\n"
    "(exports/statements.csv, entities.ftm.json, exports/statistics.json)\n"
    "whose freshness tags are older than the statements. Prints the dataset's\n"
    "statistics.\n"
    "\n"
    "With entities.ftm.json come the documents exports of the reference:\n"
    "exports/documents.csv (a row per document with a contentHash and per\n"
    "folder it sits in: id, checksum, name, mimetype, path, size, updated_at,\n"
    "public_url), exports/documents.crawl.csv (those of origin crawl) and\n"
    "exports/parents.csv (every folder with its path); each documents file has\n"
    "its diff series too, diffs/exports/documents.csv/{ts}.diff.csv (and\n"
    "documents.crawl.csv): its rows with an op column first.\n"
    "\n"
    "With entities.ftm.json comes its diff since the previous export,\n"
    "diffs/entities.ftm.json/{YYYYmmddTHHMMSSffffffZ}.delta.json: JSON lines\n"
    "{\"op\": \"ADD\"|\"MOD\"|\"DEL\", \"entity\": ...} (the OpenSanctions delta\n"
    "format, as the reference writes it); the first export and one without\n"
    "new statements only record the series state\n"
    "(tags/lakehouse/diffs/entities.ftm.json-current).\n"
    "\n"
    "Last comes index.json, the dataset index the reference publishes: the\n"
    "dataset model of config.yml with the statistics and, when a public URL\n"
    "prefix is set (config.yml public_url_prefix, else\n"
    "LAKEHOUSE_PUBLIC_URL_PREFIX, `${dataset}` filled in), a resource (URL,\n"
    "sha256, size) per export file. index.json and exports/statistics.json keep\n"
    "a snapshot per content under versions/YYYY/MM/{timestamp}/.\n"
    "\n"
    "Options (each switch also as --X / --no-X, as the reference takes them):\n"
    "  -c, --config FILE  First merge these settings (YAML) into config.yml, as\n"
    "                     `configure -c FILE` does\n"
    "  --no-flush         Do not flush the journal first (with exports it is\n"
    "                     flushed anyway, as the reference's exports drain it)\n"
    "  --no-optimize      Do not merge and vacuum\n"
    "  --no-exports       Do not regenerate exports, nor merge and vacuum: flush\n"
    "                     only, as the reference's make\n"
    "  --force-optimize   Merge even clean partitions\n"
    "  --force-exports    Regenerate exports even when fresh\n";

static lh_status fresh(lh_cli *cli, const char *target, bool *is_fresh, lh_error *err)
{
    lh_tags *t = NULL;
    LH_TRY(lh_cli_tags(cli, &t, err));
    const char *deps[] = {"statements/last_updated"};
    lh_status rc = lh_tags_is_latest(t, target, deps, 1, is_fresh, err);
    lh_tags_free(t);
    return rc;
}

/* statements.csv, written on a thread of its own beside the other exports */
typedef struct csv_job {
    lh_cli *cli;
    lh_pstore *ps;
    uint64_t rows;
    lh_status rc;
    lh_error err;
} csv_job;

static void *csv_export(void *arg)
{
    csv_job *j = arg;
    j->rc = lh_cli_export_statements(j->cli, j->ps, &j->rows, &j->err);
    return NULL;
}

/* index.json missing, or the run that wrote the exports stopped before its
 * stamp (a full disk: index.json written, its tags or the stamp not): the
 * sweep's last steps are owed though every export is fresh. */
static lh_status index_missing(lh_cli *cli, bool *missing, lh_error *err)
{
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/index.json", cli->dataset);
    bool exists = false;
    lh_status rc = lh_storage_exists(cli->st, key.data, &exists, err);
    lh_buf_free(&key);
    bool stamped = false;
    if (rc == LH_OK && exists) rc = fresh(cli, "operations/export/last_run", &stamped, err);
    *missing = !exists || !stamped;
    return rc;
}

/* The diff windows of an entities export (the entities, the documents
 * scopes) and the documents exports: one table version for all, and one
 * scan for the tombstoned candidates of every open window. */
static lh_status open_diffs(lh_cli *cli, lh_pstore *ps, const lh_model *m, json_t *model,
                            int64_t started, lh_diff **diff, lh_docs **docs, lh_error *err)
{
    int64_t version = -1;
    LH_TRY(lh_pstore_version(ps, &version, err));
    lh_stream_codec codec = lh_dataset_model_codec(model);
    LH_TRY(lh_diff_open(cli->st, cli->dataset, version, started, codec, diff, err));
    char *prefix = lh_index_prefix(model, cli->dataset, cli->settings.public_url_prefix);
    lh_status rc =
        lh_docs_open(cli->st, cli->dataset, m, prefix, version, started, codec, docs, err);
    free(prefix);
    int64_t since = 0;
    bool entities = rc == LH_OK && lh_diff_window_active(lh_diff_window_of(*diff));
    if (entities) since = lh_diff_window_since(lh_diff_window_of(*diff));
    int64_t doc_since = 0;
    bool documents = rc == LH_OK && lh_docs_since(*docs, &doc_since);
    if (documents && (!entities || doc_since < since)) since = doc_since;
    if (entities || documents) {
        lh_pstore_deleted_list cands;
        rc = lh_pstore_deleted_since(ps, since, &cands, err);
        if (rc == LH_OK) {
            lh_diff_pend(*diff, &cands);
            lh_docs_pend(*docs, &cands);
        }
        lh_pstore_deleted_list_free(&cands);
    }
    return rc;
}

/* What an export wrote, as the reference's ExportJob reports it: the
 * sweep's statements and entities, each diff's ops, each documents
 * scope's documents and ops, the folders and the statistics' entities. */
static json_t *export_result(uint64_t statements, uint64_t entities, const lh_diff_counts *dc,
                             const lh_docs_counts *doc, int64_t stat_entities)
{
    static const char *const OPS[] = {"add", "mod", "del"};
    char key[64];
    json_t *r = json_object();
    json_object_set_new(r, "statements", json_integer((json_int_t)statements));
    json_object_set_new(r, "entities", json_integer((json_int_t)entities));
    const uint64_t ent_ops[3] = {dc->add, dc->mod, dc->del};
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof key, "entities_%s", OPS[k]);
        if (ent_ops[k]) json_object_set_new(r, key, json_integer((json_int_t)ent_ops[k]));
    }
    static const char *const SCOPES[] = {"documents", "crawl_documents"};
    const uint64_t totals[2] = {doc->documents, doc->crawl_documents};
    for (int s = 0; s < 2; s++) {
        if (totals[s]) json_object_set_new(r, SCOPES[s], json_integer((json_int_t)totals[s]));
        for (int k = 0; k < 3; k++) {
            snprintf(key, sizeof key, "%s_%s", SCOPES[s], OPS[k]);
            if (doc->ops[s][k]) json_object_set_new(r, key, json_integer((json_int_t)doc->ops[s][k]));
        }
    }
    json_object_set_new(r, "parents", json_integer((json_int_t)doc->folders));
    json_object_set_new(r, "statistics", json_integer(stat_entities));
    return r;
}

/* The stale exports: statements.csv (the longest) on a second thread while
 * this one writes entities.ftm.json and statistics.json; each reads the
 * store on its own. A run is recorded as the reference's ExportJob. */
static lh_status exports_locked(lh_cli *cli, lh_pstore *ps, bool force, const char *cmd,
                                lh_error *err)
{
    const lh_model *m = lh_model_get(err);
    if (!m) return err->code;
    bool csv_fresh = false, ent_fresh = false, stats_fresh = false;
    if (!force) {
        LH_TRY(fresh(cli, "exports/statements.csv", &csv_fresh, err));
        LH_TRY(fresh(cli, "entities.ftm.json", &ent_fresh, err));
        LH_TRY(fresh(cli, "exports/statistics.json", &stats_fresh, err));
    }
    bool ran = !(csv_fresh && ent_fresh && stats_fresh);
    if (!ran) LH_TRY(index_missing(cli, &ran, err));
    /* the dataset's model (config.yml): read once for the whole export */
    json_t *model = NULL;
    LH_TRY(lh_dataset_model_load(cli->st, cli->dataset, &model, err));
    lh_cli_set_export_codec(cli, model); /* before the statements.csv thread reads it */
    lh_job *job = NULL;
    lh_status rc = LH_OK;
    if (ran)
        rc = lh_cli_job_start(cli, "ExportJob",
                              json_pack("{s:b,s:n}", "make_diff", 1, "result"), &job, err);
    if (rc != LH_OK) {
        json_decref(model);
        return lh_cli_job_stop(job, rc, err);
    }
    /* the diff window ends here: what lands during the export is the next one's */
    int64_t started = lh_now_us();
    csv_job csv = {.cli = cli, .ps = ps, .rc = LH_OK};
    pthread_t th;
    bool threaded = false;
    if (!csv_fresh && cli->settings.workers != 1)
        threaded = pthread_create(&th, NULL, csv_export, &csv) == 0;
    if (!csv_fresh && !threaded) csv_export(&csv); /* one worker, or no thread to be had */
    if (!threaded && csv.rc != LH_OK) { /* ran inline: stop at its error */
        *err = csv.err;
        rc = csv.rc;
    }
    uint64_t n = 0, statements = 0;
    /* both stale: the statistics are counted from the entity export's read */
    lh_stats *stats = !ent_fresh && !stats_fresh ? lh_stats_new(m) : NULL;
    lh_diff *diff = NULL;
    lh_diff_counts dc = {0};
    lh_docs *docs = NULL;
    lh_docs_counts doc = {0};
    if (rc == LH_OK && !ent_fresh) rc = open_diffs(cli, ps, m, model, started, &diff, &docs, err);
    if (rc == LH_OK && !ent_fresh)
        rc = lh_cli_export_entities_with(cli, ps, m, NULL, stats ? lh_stats_add : NULL, stats,
                                         diff, &dc, docs, &doc, &n, &statements, err);
    lh_diff_free(diff);
    lh_docs_free(docs);
    if (rc == LH_OK && !ent_fresh) fprintf(stderr, "%s: exported %llu entities\n", cmd, (unsigned long long)n);
    if (rc == LH_OK && (doc.documents || doc.folders))
        fprintf(stderr, "%s: exported %llu documents (%llu from crawl) in %llu folders\n", cmd,
                (unsigned long long)doc.documents, (unsigned long long)doc.crawl_documents,
                (unsigned long long)doc.folders);
    if (rc == LH_OK && doc.skipped)
        fprintf(stderr,
                "%s: warning: %llu documents left out of exports/documents.csv (contentHash "
                "not a SHA-256 or fileSize not an integer)\n",
                cmd, (unsigned long long)doc.skipped);
    if (rc == LH_OK && dc.written)
        fprintf(stderr, "%s: diff: %llu added, %llu modified, %llu deleted entities\n", cmd,
                (unsigned long long)dc.add, (unsigned long long)dc.mod,
                (unsigned long long)dc.del);
    /* the sweep's counts, when this run made the sweep (an empty store:
     * none, as the reference's) */
    if (rc == LH_OK && job && stats && n)
        json_object_set_new(lh_job_fields(job), "result",
                            export_result(statements, n, &dc, &doc, lh_stats_entities(stats)));
    /* counted by the entity export's read, which started after `started` */
    if (rc == LH_OK && stats) rc = write_statistics(cli, stats, NULL, started, err);
    else if (rc == LH_OK && !stats_fresh) rc = export_statistics(cli, NULL, err);
    lh_stats_free(stats);
    if (threaded) pthread_join(th, NULL);
    if (rc == LH_OK && csv.rc != LH_OK) {
        *err = csv.err;
        rc = csv.rc;
    }
    if (rc == LH_OK && !csv_fresh)
        fprintf(stderr, "%s: exported %llu statements\n", cmd, (unsigned long long)csv.rows);
    /* as the reference's ExportOperation: index.json last, from what the
     * exports left, then the stamp */
    bool indexed = false;
    if (rc == LH_OK && ran)
        rc = lh_index_write(cli->st, cli->dataset, model, cli->settings.public_url_prefix,
                            lh_now_us(), &indexed, err);
    json_decref(model);
    if (rc == LH_OK && indexed) fprintf(stderr, "%s: wrote index.json\n", cmd);
    if (rc == LH_OK && ran) rc = lh_cli_tag_now(cli, "operations/export/last_run", err);
    if (rc == LH_OK && job) lh_job_add_done(job, 1);
    rc = lh_cli_job_stop(job, rc, err);
    if (rc == LH_OK) rc = lh_cli_tag_now(cli, "operations/make/last_run", err);
    return rc;
}

/* Whether every export is fresh and index.json there: a run that held the
 * fence meanwhile did this one's work. */
static lh_status exports_done(void *ctx, bool *done, lh_error *err)
{
    lh_cli *cli = ctx;
    static const char *const targets[] = {"exports/statements.csv", "entities.ftm.json",
                                          "exports/statistics.json"};
    *done = true;
    for (size_t i = 0; *done && i < sizeof targets / sizeof *targets; i++)
        LH_TRY(fresh(cli, targets[i], done, err));
    bool missing = false;
    if (*done) LH_TRY(index_missing(cli, &missing, err));
    if (missing) *done = false;
    return LH_OK;
}

/* The exports under .LOCK-MERGE, as the reference's export sweep holds it:
 * two runs at once would each write a diff of the same window (every
 * change twice in the series) from the same series state, and an optimize
 * (ours or the reference's, which vacuums at once) would delete the files
 * the sweep is about to read. A run that waits stops waiting once the
 * holder made the exports fresh (unless forced). */
static lh_status make_exports(lh_cli *cli, lh_pstore *ps, bool force, const char *cmd,
                              lh_error *err)
{
    lh_fence *f = NULL;
    LH_TRY(lh_fence_acquire_unless(cli->st, cli->dataset, LH_FENCE_MERGE, -1,
                                   force ? NULL : exports_done, cli, &f, err));
    if (!f) {
        fprintf(stderr, "%s: exports are fresh (written meanwhile by another run)\n", cmd);
        return LH_OK;
    }
    lh_status rc = exports_locked(cli, ps, force, cmd, err);
    return lh_fence_release_keep(f, rc, err);
}

typedef struct make_steps {
    const char *cmd; /* for messages */
    const char *config; /* -c: settings merged into config.yml first */
    bool is_make;       /* make (a MakeJob), not export */
    bool flush, optimize, exports, force_opt, force_exp;
} make_steps;

static lh_status optimize_step(lh_cli *cli, lh_pstore *ps, bool force, lh_error *err)
{
    bool needs = force, owed = false;
    if (!needs) LH_TRY(lh_pstore_needs_merge(ps, &needs, err));
    if (!needs) LH_TRY(lh_cli_vacuum_deferred(cli, &owed, err));
    if (!needs && owed) {
        /* the last run merged but a busy fence refused its vacuum */
        size_t deleted = 0, debris = 0;
        LH_TRY(lh_cli_vacuum(cli, ps, 0, "make", &deleted, &debris, err));
        fprintf(stderr, "make: statement store is optimized; vacuumed %zu file(s) the last run left\n",
                deleted + debris);
        return LH_OK;
    }
    if (!needs) {
        fprintf(stderr, "make: statement store is optimized\n");
        return LH_OK;
    }
    lh_pstore_report rep;
    size_t deleted = 0, debris = 0;
    LH_TRY(lh_cli_optimize(cli, ps, force, 0, true, "make", &rep, &deleted, &debris, err));
    if (debris)
        fprintf(stderr,
                "make: merged %zu partition(s), vacuumed %zu file(s) and %zu left by "
                "interrupted writes\n",
                rep.partitions, deleted, debris);
    else
        fprintf(stderr, "make: merged %zu partition(s), vacuumed %zu file(s)\n", rep.partitions,
                deleted);
    return LH_OK;
}

/* make and export: the steps asked for, then the dataset's statistics on
 * stdout, as the reference prints its index. */
static int run_steps(lh_cli *cli, const make_steps *m)
{
    lh_error err;
    lh_status rc = LH_OK;
    if (m->config) rc = lh_cli_configure(cli, m->config, false, &err);
    /* The exports, tags and index.json go into a dataset that exists, as
     * the reference's commands first make it (config.yml): without one,
     * `ls`, `datasets` and `flush --all` never saw what a make wrote. */
    const char *ds;
    lh_storage *st;
    if (rc == LH_OK) rc = lh_cli_dataset(cli, &ds, &err);
    if (rc == LH_OK) rc = lh_cli_storage(cli, &st, &err);
    if (rc == LH_OK) {
        lh_dataset_config cfg = {0};
        rc = lh_dataset_ensure(st, ds, -1, &cfg, &err);
        lh_dataset_config_free(&cfg);
    }
    /* The reference's optimize and export each drain the journal before
     * they read, whatever --no-flush says: exports never leave out rows
     * the journal holds (they did here, stamped fresh). */
    if (rc == LH_OK && (m->flush || m->exports)) {
        int64_t rows = 0;
        /* No journal (an S3 lake without LAKEHOUSE_JOURNAL_URI, a local one
         * never written to) holds nothing to flush, as merge and optimize
         * see it; flushing it failed the whole make on S3 (exit 3). */
        rc = lh_cli_flush_existing(cli, &rows, &err);
        if (rc == LH_OK)
            fprintf(stderr, "%s: flushed %lld journal statements\n", m->cmd, (long long)rows);
    }
    lh_pstore *ps = NULL;
    if (rc == LH_OK) rc = lh_cli_pstore(cli, &ps, &err);
    /* the reference optimizes only to export (its `--no-exports` flushes
     * only): a make meant to drain the journal must not take the merge
     * fence and vacuum (retention 0) under readers */
    if (rc == LH_OK && m->optimize && m->exports)
        rc = optimize_step(cli, ps, m->force_opt, &err);
    /* make's exports run as the reference's MakeJob around its ExportJob,
     * unless the make stamp is newer than the content */
    lh_job *job = NULL;
    bool make_fresh = false;
    if (rc == LH_OK && m->exports && m->is_make && !m->force_exp)
        rc = fresh(cli, "operations/make/last_run", &make_fresh, &err);
    if (rc == LH_OK && m->exports && m->is_make && !make_fresh)
        rc = lh_cli_job_start(cli, "MakeJob", NULL, &job, &err);
    if (rc == LH_OK && m->exports) rc = make_exports(cli, ps, m->force_exp, m->cmd, &err);
    if (rc == LH_OK && job) lh_job_add_done(job, 1);
    if (job) rc = lh_cli_job_stop(job, rc, &err);
    lh_pstore_free(ps);
    if (rc != LH_OK) return lh_cli_fail(cli, &err);
    lh_buf key = LH_BUF_INIT, json = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/exports/statistics.json", cli->dataset);
    if (lh_storage_read(cli->st, key.data, &json, &err) == LH_OK) fputs(json.data, stdout);
    lh_buf_free(&key);
    lh_buf_free(&json);
    return 0;
}

/* The switches of make and export (each takes those its table has) into
 * m, then the steps; --help prints help. */
static int parse_and_run(lh_cli *cli, int argc, char **argv, const struct option *opts,
                         const char *help, make_steps *m)
{
    int c;
    while ((c = getopt_long(argc, argv, m->cmd[0] == 'm' ? "c:h" : "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': m->config = optarg; break;
        case 'f': m->flush = true; break;
        case 'F': m->flush = false; break;
        case 'p': m->optimize = true; break;
        case 'O': m->optimize = false; break;
        case 'x': m->exports = true; break;
        case 'E': m->exports = false; break;
        case 'o': m->force_opt = true; break;
        case 'q': m->force_opt = false; break;
        case 'e': m->force_exp = true; break;
        case 'r': m->force_exp = false; break;
        case 'h': fputs(help, stdout); return 0;
        default: return lh_cli_usage_error(cli, "bad option");
        }
    }
    if (optind < argc) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[optind]);
    return run_steps(cli, m);
}

int lh_cmd_make(lh_cli *cli, int argc, char **argv)
{
    /* each switch in both forms, as the reference's CLI takes them */
    static const struct option opts[] = {
        {"flush", no_argument, 0, 'f'},          {"no-flush", no_argument, 0, 'F'},
        {"optimize", no_argument, 0, 'p'},       {"no-optimize", no_argument, 0, 'O'},
        {"exports", no_argument, 0, 'x'},        {"no-exports", no_argument, 0, 'E'},
        {"force-optimize", no_argument, 0, 'o'}, {"no-force-optimize", no_argument, 0, 'q'},
        {"force-exports", no_argument, 0, 'e'},  {"no-force-exports", no_argument, 0, 'r'},
        {"config", required_argument, 0, 'c'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    make_steps m = {.cmd = "make", .is_make = true, .flush = true, .optimize = true, .exports = true};
    return parse_and_run(cli, argc, argv, opts, HELP, &m);
}

int lh_cmd_export(lh_cli *cli, int argc, char **argv)
{
    static const char help[] =
        "Usage: ftm-lakehouse -d DATASET export [--force]\n"
        "\n"
        "Flush the journal, then write the exports whose freshness tags are older\n"
        "than the statements: exports/statements.csv, entities.ftm.json and\n"
        "exports/statistics.json (`make` without the optimize step), with the\n"
        "documents exports and the entities' diff since the previous export, then\n"
        "index.json (see `make --help`). Prints the dataset's statistics.\n"
        "\n"
        "Options:\n"
        "  --force      Write every export, fresh or not (--no-force: the default)\n";
    static const struct option opts[] = {{"force", no_argument, 0, 'e'},
                                         {"no-force", no_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    make_steps m = {.cmd = "export", .flush = true, .exports = true};
    return parse_and_run(cli, argc, argv, opts, help, &m);
}
