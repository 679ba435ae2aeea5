/* CLI access to a dataset's stores: ParquetStore, journal, tags. */
#include <stdlib.h>
#include <string.h>

#include "cli_store.h"
#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/repository/dataset.h"
#include "lh/repository/dataset_model.h"
#include "lh/repository/export.h"
#include "lh/storage/journal.h"
#include "lh/storage/tags.h"

lh_status lh_cli_rewrite(lh_pstore *ps, bool merge, bool force, lh_pstore_report *rep,
                         lh_error *err)
{
    lh_progress prog;
    lh_progress_start(&prog, merge ? "merge" : "compact");
    lh_pstore_set_progress(ps, lh_progress_cb, &prog);
    lh_status rc = merge ? lh_pstore_merge(ps, force, rep, err) : lh_pstore_compact(ps, rep, err);
    lh_pstore_set_progress(ps, NULL, NULL); /* prog goes out of scope */
    lh_progress_done(&prog);
    return rc;
}

lh_status lh_cli_vacuum(lh_cli *cli, lh_pstore *ps, int hours, const char *defer,
                        size_t *deleted, size_t *debris, lh_error *err)
{
    lh_status rc = lh_pstore_vacuum(ps, hours, deleted, debris, err);
    lh_tags *t = NULL;
    if (rc == LH_ERR_BUSY && defer) {
        /* the merge is done and nothing after it needs the fence: a long
         * import or flush beside it must not fail the whole run; the mark
         * has the next run vacuum though it finds nothing to merge */
        fprintf(stderr, "%s: warning: vacuum left to the next run: %s\n", defer, err->msg);
        *deleted = *debris = 0;
        return lh_cli_tag_now(cli, LH_CLI_TAG_VACUUM_DEFERRED, err);
    }
    if (rc == LH_OK) rc = lh_cli_tags(cli, &t, err);
    if (rc == LH_OK) rc = lh_tags_delete(t, LH_CLI_TAG_VACUUM_DEFERRED, err);
    lh_tags_free(t);
    return rc;
}

lh_status lh_cli_vacuum_deferred(lh_cli *cli, bool *deferred, lh_error *err)
{
    lh_tags *t = NULL;
    int64_t ts;
    *deferred = false;
    LH_TRY(lh_cli_tags(cli, &t, err));
    lh_status rc = lh_tags_get(t, LH_CLI_TAG_VACUUM_DEFERRED, &ts, deferred, err);
    lh_tags_free(t);
    return rc;
}

lh_status lh_cli_optimize(lh_cli *cli, lh_pstore *ps, bool force, int hours, bool record,
                          const char *defer_vacuum, lh_pstore_report *rep, size_t *deleted,
                          size_t *debris, lh_error *err)
{
    lh_job *job = NULL;
    if (record)
        LH_TRY(lh_cli_job_start(cli, "OptimizeJob", json_pack("{s:i}", "retention_hours", hours),
                                &job, err));
    lh_status rc = lh_cli_rewrite(ps, true, force, rep, err);
    if (rc == LH_OK && job) {
        lh_job_add_done(job, 1);
        rc = lh_job_save(job, lh_now_us(), err);
    }
    if (rc == LH_OK) rc = lh_cli_vacuum(cli, ps, hours, defer_vacuum, deleted, debris, err);
    if (rc == LH_OK && job) lh_job_add_done(job, 1);
    rc = lh_cli_job_stop(job, rc, err);
    return rc == LH_OK ? lh_cli_tag_now(cli, "operations/optimize/last_run", err) : rc;
}

/* The dataset's config.yml as the store's layout (lh_pstore_layout). */
static lh_status config_shards(void *ctx, int *shards, lh_error *err)
{
    lh_cli *cli = ctx;
    lh_dataset_config cfg;
    LH_TRY(lh_dataset_config_read(cli->st, cli->dataset, &cfg, err));
    if (cfg.exists) *shards = cfg.shards;
    lh_dataset_config_free(&cfg);
    return LH_OK;
}

static lh_status config_set_shards(void *ctx, int shards, lh_error *err)
{
    lh_cli *cli = ctx;
    return lh_dataset_set_shards(cli->st, cli->dataset, shards, err);
}

lh_status lh_cli_pstore_open(lh_cli *cli, int shards, lh_pstore **ps, lh_error *err)
{
    const char *ds;
    lh_storage *st;
    LH_TRY(lh_cli_dataset(cli, &ds, err));
    LH_TRY(lh_cli_storage(cli, &st, err));
    lh_pstore_opts o;
    lh_pstore_opts_init(&o);
    o.shards = shards;
    o.layout = (lh_pstore_layout){config_shards, config_set_shards, cli};
    return lh_pstore_open(st, ds, &o, ps, err);
}

lh_status lh_cli_layout_state(lh_cli *cli, lh_pstore_layout_state *state, lh_error *err)
{
    lh_pstore *ps = NULL;
    lh_status rc = lh_cli_pstore(cli, &ps, err);
    if (rc == LH_OK) rc = lh_pstore_layout_repair(ps, false, state, err);
    lh_pstore_free(ps);
    return rc;
}

lh_status lh_cli_pstore(lh_cli *cli, lh_pstore **ps, lh_error *err)
{
    const char *ds;
    lh_storage *st;
    LH_TRY(lh_cli_dataset(cli, &ds, err));
    LH_TRY(lh_cli_storage(cli, &st, err));
    lh_dataset_config cfg;
    lh_status rc = lh_dataset_config_read(st, ds, &cfg, err);
    if (rc == LH_OK) rc = lh_cli_pstore_open(cli, cfg.shards, ps, err);
    lh_dataset_config_free(&cfg);
    return rc;
}

lh_status lh_cli_journal_location(lh_cli *cli, char **uri, bool *exists, lh_error *err)
{
    *uri = NULL;
    *exists = false;
    if (cli->settings.journal_uri && *cli->settings.journal_uri) {
        *uri = lh_strdup(cli->settings.journal_uri);
        *exists = true;
        return LH_OK;
    }
    lh_storage *st;
    LH_TRY(lh_cli_storage(cli, &st, err));
    char *local = lh_storage_local_path(st, ".journal.db");
    if (!local) return LH_OK;
    lh_status rc = lh_storage_exists(st, ".journal.db", exists, err);
    if (rc == LH_OK) {
        lh_buf b = LH_BUF_INIT;
        /* read as SQLAlchemy reads it (the reference too): a % would be
         * decoded and a ? start the driver's arguments */
        lh_buf_append_str(&b, "sqlite:///");
        for (const char *p = local; *p; p++) {
            if (*p == '%' || *p == '?') lh_buf_printf(&b, "%%%02X", (unsigned char)*p);
            else lh_buf_append_byte(&b, (uint8_t)*p);
        }
        *uri = lh_buf_detach(&b, NULL);
    }
    free(local);
    return rc;
}

/* The journal's URI, its directory made when it is a new local file. */
static lh_status journal_uri_to_open(lh_cli *cli, char **uri, lh_error *err)
{
    bool exists;
    LH_TRY(lh_cli_journal_location(cli, uri, &exists, err));
    if (!*uri)
        return lh_error_set(err, LH_ERR_INVALID,
                            "the lake is not on a local filesystem: set LAKEHOUSE_JOURNAL_URI "
                            "(sqlite:///path or postgresql://...)");
    if (!exists) {
        /* the lake root may not exist yet; the journal file needs its directory */
        lh_storage_write(cli->st, ".lakehouse", "ftm-lakehouse\n", 14, err);
    }
    return LH_OK;
}

lh_status lh_cli_journal(lh_cli *cli, lh_journal **j, lh_error *err)
{
    return lh_cli_journal_for(cli, -1, j, err);
}

lh_status lh_cli_journal_for(lh_cli *cli, int shards, lh_journal **j, lh_error *err)
{
    const char *ds;
    lh_storage *st;
    LH_TRY(lh_cli_dataset(cli, &ds, err));
    LH_TRY(lh_cli_storage(cli, &st, err)); /* opened lazily: this may be the first use */
    char *uri = NULL;
    LH_TRY(journal_uri_to_open(cli, &uri, err));
    /* rows get their shard on insert, so a flush hands them over shard by shard */
    lh_journal_options opts = {0};
    opts.shards = shards;
    lh_status rc = LH_OK;
    if (shards < 0) {
        lh_dataset_config cfg;
        rc = lh_dataset_config_read(st, ds, &cfg, err);
        opts.shards = cfg.shards;
        lh_dataset_config_free(&cfg);
    }
    if (rc == LH_OK) rc = lh_journal_open(uri, ds, &opts, j, err);
    /* One command is one process: rows journalled into memory would be gone
     * when it exits, after it reported them imported (or found nothing to
     * flush or delete). */
    if (rc == LH_OK && lh_journal_is_memory(*j)) {
        lh_journal_free(*j);
        *j = NULL;
        rc = lh_error_set(err, LH_ERR_INVALID,
                          "LAKEHOUSE_JOURNAL_URI=\"%s\" is an in-memory SQLite database, which "
                          "dies with each command; use a file (sqlite:///path) or postgresql://...",
                          uri);
    }
    free(uri);
    return rc;
}

lh_status lh_cli_tags(lh_cli *cli, lh_tags **t, lh_error *err)
{
    const char *ds;
    lh_storage *st;
    LH_TRY(lh_cli_dataset(cli, &ds, err));
    LH_TRY(lh_cli_storage(cli, &st, err));
    return lh_tags_open(st, ds, NULL, t, err);
}

lh_status lh_cli_sweep_fence(lh_cli *cli, lh_fence **f, lh_error *err)
{
    lh_storage *st;
    LH_TRY(lh_cli_storage(cli, &st, err));
    return lh_fence_acquire(st, cli->dataset, LH_FENCE_MERGE, -1, f, err);
}

lh_status lh_cli_tag_now(lh_cli *cli, const char *key, lh_error *err)
{
    return lh_cli_tag_at(cli, key, INT64_MIN, err);
}

lh_status lh_cli_tag_at(lh_cli *cli, const char *key, int64_t ts, lh_error *err)
{
    lh_tags *t = NULL;
    LH_TRY(lh_cli_tags(cli, &t, err));
    lh_status rc = lh_tags_set(t, key, ts, NULL, err);
    lh_tags_free(t);
    return rc;
}

lh_status lh_cli_job_start(lh_cli *cli, const char *type, json_t *fields, lh_job **job,
                           lh_error *err)
{
    const char *ds;
    lh_storage *st;
    lh_status rc = lh_cli_dataset(cli, &ds, err);
    if (rc == LH_OK) rc = lh_cli_storage(cli, &st, err);
    if (rc != LH_OK) {
        json_decref(fields);
        return rc;
    }
    return lh_job_start(st, ds, type, fields, lh_now_us(), job, err);
}

lh_status lh_cli_job_stop(lh_job *job, lh_status rc, lh_error *err)
{
    if (!job) return rc;
    lh_error jerr;
    lh_status jrc = lh_job_stop(job, rc == LH_OK ? NULL : err, lh_now_us(), &jerr);
    lh_job_free(job);
    if (rc == LH_OK && jrc != LH_OK) {
        *err = jerr;
        return jrc;
    }
    return rc;
}

void lh_cli_set_export_codec(lh_cli *cli, const json_t *model)
{
    cli->codec = lh_dataset_model_codec(model);
    cli->codec_known = true;
}

lh_status lh_cli_export_codec(lh_cli *cli, lh_stream_codec *codec, lh_error *err)
{
    if (!cli->codec_known) {
        const char *ds;
        lh_storage *st;
        LH_TRY(lh_cli_dataset(cli, &ds, err));
        LH_TRY(lh_cli_storage(cli, &st, err));
        json_t *model = NULL;
        LH_TRY(lh_dataset_model_load(st, ds, &model, err));
        lh_cli_set_export_codec(cli, model);
        json_decref(model);
    }
    *codec = cli->codec;
    return LH_OK;
}

/* Write `{dataset}/{name}` (plus the codec's suffix), then stamp the
 * freshness tag of the name (the reference keys export tags by their path,
 * without the codec). */
lh_status lh_cli_export_statements(lh_cli *cli, lh_pstore *ps, uint64_t *rows, lh_error *err)
{
    static const char name[] = "exports/statements.csv";
    lh_stream_codec codec;
    LH_TRY(lh_cli_export_codec(cli, &codec, err));
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/%s", cli->dataset, name);
    /* before the read's snapshot: a commit after it makes the export stale */
    int64_t started = lh_now_us();
    lh_status rc = lh_export_statements(ps, cli->st, key.data, codec, rows, err);
    if (rc == LH_OK) rc = lh_cli_tag_at(cli, name, started, err);
    lh_buf_free(&key);
    return rc;
}

lh_status lh_cli_export_entities(lh_cli *cli, lh_pstore *ps, const lh_model *m,
                                 lh_progress *prog, uint64_t *entities, lh_error *err)
{
    return lh_cli_export_entities_with(cli, ps, m, prog, NULL, NULL, NULL, NULL, NULL, NULL,
                                       entities, NULL, err);
}

lh_status lh_cli_export_entities_with(lh_cli *cli, lh_pstore *ps, const lh_model *m,
                                      lh_progress *prog, lh_pstore_entity_fn also,
                                      void *also_ctx, lh_diff *diff, lh_diff_counts *counts,
                                      lh_docs *docs, lh_docs_counts *doc_counts,
                                      uint64_t *entities, uint64_t *statements, lh_error *err)
{
    static const char name[] = "entities.ftm.json";
    lh_stream_codec codec;
    LH_TRY(lh_cli_export_codec(cli, &codec, err));
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/%s", cli->dataset, name);
    lh_export_entities_opts o = {.st = cli->st,
                                 .key = key.data,
                                 .codec = codec,
                                 .statements = statements,
                                 .progress = prog ? lh_progress_cb : NULL,
                                 .progress_ctx = prog,
                                 .also = also,
                                 .also_ctx = also_ctx,
                                 .diff = diff,
                                 .docs = docs};
    /* before the read's snapshot: a commit after it makes the export stale */
    int64_t started = lh_now_us();
    lh_status rc = lh_export_entities_with(ps, m, &o, entities, err);
    if (rc == LH_OK && docs) rc = lh_docs_commit(docs, doc_counts, err);
    static const char *const doc_files[] = {"exports/parents.csv", "exports/documents.csv",
                                            "exports/documents.crawl.csv"};
    for (size_t i = 0; docs && rc == LH_OK && i < 3; i++)
        rc = lh_cli_tag_at(cli, doc_files[i], started, err);
    /* the diff and its state before the freshness tag: a crash between
     * leaves the export stale, so the next run writes both again */
    if (rc == LH_OK && diff) rc = lh_diff_commit(diff, counts, err);
    if (rc == LH_OK) rc = lh_cli_tag_at(cli, name, started, err);
    lh_buf_free(&key);
    return rc;
}

lh_status lh_cli_each_dataset(lh_cli *cli, lh_status (*fn)(lh_cli *cli, void *ctx, lh_error *err),
                              void *ctx, lh_error *err)
{
    lh_storage *st;
    lh_strlist names;
    lh_strlist_init(&names);
    lh_status rc = lh_cli_storage(cli, &st, err);
    if (rc == LH_OK) rc = lh_dataset_list(st, &names, err);
    for (size_t i = 0; rc == LH_OK && i < names.len; i++) {
        cli->dataset = names.items[i];
        rc = fn(cli, ctx, err);
        if (rc != LH_OK) lh_error_prefix(err, "dataset `%s`", names.items[i]);
    }
    cli->dataset = NULL; /* names are freed below */
    lh_strlist_free(&names);
    return rc;
}
