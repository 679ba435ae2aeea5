/* ftm-lakehouse entities import | iterate | stream | delete | delete-origin */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli_import.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/model/entity.h"
#include "lh/model/equery.h"
#include "lh/model/keys.h"
#include "lh/model/stmt_io.h"
#include "lh/repository/dataset.h"
#include "lh/repository/export.h"
#include "lh/storage/journal.h"
#include "lh/storage/parquet_store.h"

static const char HELP[] =
    "Usage: ftm-lakehouse -d DATASET entities COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  import         Import FtM entities (JSON lines) as statements\n"
    "  iterate        Print entities from the statement store (live view)\n"
    "  stream         Print the exported entities.ftm.json\n"
    "  delete         Delete entities (tombstones; merge reaps them after the\n"
    "                 grace period)\n"
    "  delete-origin  Drop every statement of one origin at once\n"
    "\n"
    "Run `ftm-lakehouse entities COMMAND --help` for the options.\n";

static const char IMPORT_HELP[] =
    "Usage: ftm-lakehouse -d DATASET entities import [OPTIONS]\n"
    "\n"
    "Import FtM entities (one JSON object per line) as statements. By default\n"
    "straight into the parquet store in ONE Delta commit at the end: a bad\n"
    "line or a crash leaves the lake unchanged. With --journal the statements\n"
    "go to the journal instead (committed batch by batch; `maintenance flush`\n"
    "moves them on).\n"
    "\n"
    "Options:\n"
    "  -i, --input FILE     Input file, - for stdin (default)\n"
    "  --origin NAME        Origin for entities that carry none (default: bulk)\n"
    "  --override-origin    Use --origin even for entities that carry one\n"
    "                       (--no-override-origin: the default)\n"
    "  --role NAME          Role for entities that carry none\n"
    "  --last-seen ISO      Timestamp for entities without last_change (default: now)\n"
    "  --bulk-size N        Statements per written batch (default: 250000, or\n"
    "                       $LAKEHOUSE_MAX_BUFFER_ROWS when smaller)\n"
    "  --shards N           Shard count when this import creates the dataset\n"
    "  --journal            Write to the journal instead of the parquet store\n"
    "  --skip-unknown       Skip properties the schema does not know, as the\n"
    "                       reference does (the default; --no-skip-unknown: an error)\n"
    "  --unsafe             Accepted for the reference's scripts; input is validated anyway\n";

/* s is a decimal integer in [min, max], nothing else. */
static bool whole_number(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (!*s || *end || errno || n < min || n > max) return false;
    *out = n;
    return true;
}

int lh_cli_parse_import(lh_cli *cli, int argc, char **argv, import_opts *o, const char *help)
{
    static const struct option opts[] = {
        {"input", required_argument, 0, 'i'},     {"origin", required_argument, 0, 'O'},
        {"override-origin", no_argument, 0, 'V'}, {"role", required_argument, 0, 'R'},
        /* the reference's switch in its other form (the default) */
        {"no-override-origin", no_argument, 0, 'v'},
        {"last-seen", required_argument, 0, 'L'}, {"bulk-size", required_argument, 0, 'B'},
        {"shards", required_argument, 0, 'S'},    {"journal", no_argument, 0, 'J'},
        {"skip-unknown", no_argument, 0, 'K'},    {"unsafe", no_argument, 0, 'U'},
        {"no-skip-unknown", no_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->input = "-";
    o->ex.origin = "bulk";
    /* The reference (followthemoney's proxy) drops a property the schema
     * does not know and imports the rest: data written under another
     * model version carries such properties, and refusing the file would
     * fail an import the reference takes. */
    o->ex.flags |= LH_EXPLODE_SKIP_UNKNOWN;
    o->ex.now = o->ex.started = lh_now_us();
    /* batches of at most 250k statements bound an import's memory (~150 MB);
     * each batch is a file per partition, which merge folds together */
    o->bulk_size = (size_t)cli->settings.max_buffer_rows;
    if (o->bulk_size > 250000) o->bulk_size = 250000;
    o->shards = -1;
    int c;
    lh_error err;
    while ((c = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': o->input = optarg; break;
        /* an empty origin is the default origin, as the reference takes it */
        case 'O': o->ex.origin = *optarg ? optarg : LH_DEFAULT_ORIGIN; break;
        case 'V': o->ex.override_origin = true; break;
        case 'v': o->ex.override_origin = false; break;
        case 'R':
            /* stored in every statement: readers refuse invalid UTF-8 */
            if (!lh_utf8_valid(optarg, strlen(optarg)))
                return lh_cli_usage_error(cli, "--role: not valid UTF-8");
            o->ex.role = optarg;
            break;
        case 'L':
            if (lh_time_parse_iso(optarg, strlen(optarg), &o->ex.now, &err) != LH_OK)
                return lh_cli_usage_error(cli, "--last-seen: %s", err.msg);
            o->ex.started = o->ex.now;
            o->fixed_now = true;
            break;
        case 'B': {
            long long n;
            if (!whole_number(optarg, 1, LLONG_MAX, &n))
                return lh_cli_usage_error(cli, "bad --bulk-size `%s` (a count of statements)",
                                          optarg);
            o->bulk_size = (size_t)n;
            break;
        }
        case 'S': {
            long long n;
            if (!whole_number(optarg, 0, LH_PSTORE_MAX_RESHARD, &n))
                return lh_cli_usage_error(cli, "bad --shards `%s` (a count, 0 to %d)", optarg,
                                          LH_PSTORE_MAX_RESHARD);
            o->shards = (int)n;
            break;
        }
        case 'J': o->journal = true; break;
        case 'K': o->ex.flags |= LH_EXPLODE_SKIP_UNKNOWN; break;
        case 'k': o->ex.flags &= ~LH_EXPLODE_SKIP_UNKNOWN; break;
        /* The reference's fast path that skips validation: scripts written
         * for it pass it, and refusing it would break them. Ours has one
         * path, which validates, so it changes nothing. */
        case 'U': break;
        case 'h': fputs(help, stdout); return 0;
        default: return lh_cli_usage_error(cli, "bad option");
        }
    }
    if (optind < argc) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[optind]);
    if (o->bulk_size == 0) o->bulk_size = 1000000;
    if (lh_origin_check(o->ex.origin, &err) != LH_OK) return lh_cli_fail(cli, &err);
    return -1;
}

/* On the relay's thread: the only user of the txn or journal meanwhile. */
static lh_status sink_consume(void *ctx, lh_stmt_batch *b, lh_error *err)
{
    import_sink *s = ctx;
    return s->journal ? lh_journal_insert_batch(s->journal, b, err)
                      : lh_pstore_txn_append(s->txn, b, err);
}

lh_status lh_cli_sink_open(lh_cli *cli, bool journal, int shards, import_sink *s, lh_error *err)
{
    memset(s, 0, sizeof *s);
    s->relay = lh_relay_new(sink_consume, s, cli->settings.workers != 1);
    s->cli = cli;
    const char *ds;
    lh_storage *st;
    LH_TRY(lh_cli_dataset(cli, &ds, err));
    LH_TRY(lh_cli_storage(cli, &st, err));
    /* A new dataset is made only once rows go in: when its first journal
     * batch is written, or when the bulk path commits. Its name is checked
     * before the work, not at its end. */
    lh_dataset_config cfg;
    lh_status rc = lh_dataset_config_read(st, ds, &cfg, err);
    if (rc == LH_OK) rc = lh_dataset_check_shards(&cfg, ds, shards, err);
    if (rc == LH_OK && !cfg.exists) rc = lh_dataset_name_check(ds, err);
    s->shards = cfg.exists ? cfg.shards : shards < 0 ? 0 : shards;
    s->create = !cfg.exists;
    lh_dataset_config_free(&cfg);
    if (rc != LH_OK) return rc;
    if (journal) {
        LH_TRY(lh_cli_journal_for(cli, s->shards, &s->journal, err));
        /* refused before the input is read and the dataset made */
        return lh_journal_check_writable(s->journal, err);
    }
    LH_TRY(lh_cli_pstore_open(cli, s->shards, &s->ps, err));
    LH_TRY(lh_pstore_txn_begin(s->ps, &s->txn, err));
    s->shards = lh_pstore_txn_shards(s->txn); /* a re-shard may have run meanwhile */
    return LH_OK;
}

lh_status lh_cli_sink_write(import_sink *s, lh_stmt_batch *b, lh_error *err)
{
    size_t n = b->len;
    if (!n) return LH_OK;
    if (s->journal && s->create) {
        /* journal rows are committed batch by batch: the dataset must exist
         * before the first (made meanwhile elsewhere: its count must agree) */
        lh_dataset_config cfg;
        lh_status rc = lh_dataset_ensure(s->cli->st, s->cli->dataset, s->shards, &cfg, err);
        lh_dataset_config_free(&cfg);
        if (rc != LH_OK) return rc;
        s->create = false;
    }
    lh_status rc = lh_relay_send(s->relay, b, err);
    if (rc == LH_OK) s->rows += n;
    if (s->seen) lh_stmt_index_reset(s->seen); /* the batch is handed on */
    return rc;
}

void lh_cli_sink_fold(import_sink *s, lh_stmt_batch *b, size_t from)
{
    if (!s->seen) s->seen = lh_stmt_index_new();
    lh_stmt_index_fold(s->seen, b, from);
}

lh_status lh_cli_sink_commit(lh_cli *cli, import_sink *s, lh_error *err)
{
    LH_TRY(lh_relay_wait(s->relay, err)); /* every batch written */
    if (s->journal) return LH_OK; /* the store moves when the journal is flushed */
    if (!s->rows) return LH_OK;
    lh_dataset_config cfg;
    lh_status rc = lh_dataset_ensure(cli->st, cli->dataset, s->shards, &cfg, err);
    lh_dataset_config_free(&cfg);
    if (rc != LH_OK) return rc;
    /* stamped before the commit as well as after it: a process killed
     * between the commit and the stamp after it would leave the exports
     * fresh beside a table that moved on (make would not export the rows) */
    LH_TRY(lh_cli_tag_now(cli, "statements/last_updated", err));
    LH_TRY(lh_pstore_txn_commit(s->txn, err));
    rc = lh_cli_tag_now(cli, "statements/last_updated", err);
    /* the import stands (a full disk can refuse the stamp after the commit
     * took the last of it): said, so that it is not run again, which would
     * store every statement twice */
    if (rc != LH_OK)
        lh_error_suffix(err, "; the import itself is committed (%llu statements): do not run it "
                             "again",
                        (unsigned long long)lh_pstore_txn_rows(s->txn));
    return rc;
}

void lh_cli_sink_close(import_sink *s)
{
    lh_relay_free(s->relay); /* waits for a batch still in flight */
    lh_pstore_txn_free(s->txn);
    lh_pstore_free(s->ps);
    lh_journal_free(s->journal);
    lh_stmt_index_free(s->seen);
}

static int cmd_import(lh_cli *cli, int argc, char **argv)
{
    import_opts o;
    int u = lh_cli_parse_import(cli, argc, argv, &o, IMPORT_HELP);
    if (u >= 0) return u;
    lh_error err;
    const lh_model *m = lh_model_get(&err);
    if (!m) return lh_cli_fail(cli, &err);
    FILE *in = lh_cli_open_in(o.input, &err);
    if (!in) return lh_cli_fail(cli, &err);
    const char *ds;
    if (lh_cli_dataset(cli, &ds, &err) != LH_OK) {
        lh_cli_close(in);
        return lh_cli_fail(cli, &err);
    }
    o.ex.dataset = ds;
    lh_explode_skipped skipped = {0};
    o.ex.skipped = &skipped;
    import_sink s;
    lh_stmt_batch batch;
    lh_stmt_batch_init(&batch);
    lh_line_reader *r = lh_line_reader_new(in, strcmp(o.input, "-") ? o.input : "<stdin>");
    lh_progress prog;
    lh_progress_start(&prog, "import");
    lh_status rc = lh_cli_sink_open(cli, o.journal, o.shards, &s, &err);
    uint64_t entities = 0;
    while (rc == LH_OK) {
        const char *line;
        size_t len;
        rc = lh_line_reader_next(r, &line, &len, &err);
        if (rc != LH_OK || !line) break;
        if (!o.fixed_now) {
            /* strictly later than the entity before: no two emissions tie */
            int64_t t = lh_now_us();
            o.ex.now = t > o.ex.now ? t : o.ex.now + 1;
        }
        size_t from = batch.len;
        rc = lh_entity_explode(m, line, len, &o.ex, &batch, &err);
        if (rc != LH_OK) {
            lh_error_prefix(&err, "%s:%zu", lh_line_reader_name(r), lh_line_reader_lineno(r));
            break;
        }
        /* a statement given twice (an entity repeated in the input) is
         * one row of a batch, the later one */
        lh_cli_sink_fold(&s, &batch, from);
        entities++;
        lh_progress_add(&prog, 1);
        if (batch.len >= o.bulk_size) rc = lh_cli_sink_write(&s, &batch, &err);
    }
    if (rc == LH_OK) rc = lh_cli_sink_write(&s, &batch, &err);
    if (rc == LH_OK) rc = lh_cli_sink_commit(cli, &s, &err);
    lh_progress_done(&prog);
    lh_cli_sink_close(&s);
    lh_line_reader_free(r);
    lh_stmt_batch_free(&batch);
    lh_cli_close(in);
    if (rc != LH_OK) return lh_cli_fail(cli, &err);
    fprintf(stderr, "imported %llu entities (%llu statements) into %s\n",
            (unsigned long long)entities, (unsigned long long)s.rows,
            o.journal ? "the journal" : "the parquet store");
    /* dropped as the reference drops them, but not unsaid: a misspelt
     * property would otherwise vanish without a trace */
    if (skipped.properties)
        fprintf(stderr,
                "warning: dropped %llu propert%s the schema does not have (the first: %s); "
                "--no-skip-unknown refuses them\n",
                (unsigned long long)skipped.properties, skipped.properties == 1 ? "y" : "ies",
                skipped.first);
    return 0;
}

static const char ITERATE_HELP[] =
    "Usage: ftm-lakehouse -d DATASET entities iterate [OPTIONS]\n"
    "\n"
    "Print entities from the statement store as FtM JSON lines: the live view,\n"
    "duplicates and tombstones reconciled, with context (datasets, origin,\n"
    "first_seen, last_seen, last_change).\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE      Output file, - for stdout (default)\n"
    "  -s, --schema NAME      Only entities of this schema or its descendants\n"
    "                         (repeatable)\n"
    "  -e, --entity-id ID     Only this entity (repeatable)\n"
    "  --origin NAME          Only statements of this origin\n"
    "  --prop NAME --value V  Only entities with this property value\n"
    "  --changed-since ISO    Only entities with statements seen since\n"
    "  -q, --query PARAMS     Only entities matching the reference's filter\n"
    "                         params, e.g. 'filter:schema=Person&filter:group.\n"
    "                         countries=ru' (filter:, exclude:, empty:; gte, gt,\n"
    "                         lte, lt, like, ilike, startswith, endswith; fields\n"
    "                         schema, schemata, dataset, id, properties.NAME,\n"
    "                         group.NAME, context.COLUMN; sort=properties.NAME\n"
    "                         [:desc], limit=N, offset=N)\n"
    "  --rql QUERY            The same in the reference's nested RQL, e.g.\n"
    "                         'and(eq(schema,Person),or(eq(group.countries,de),\n"
    "                         eq(group.countries,at)))' (and, or, not, eq, ne, lt,\n"
    "                         le, gt, ge, in, out, like, ilike, contains)\n";

typedef struct filter_opts {
    lh_pstore_filter q;
    lh_equery *equery; /* -q or --rql */
    lh_strlist schemata, buckets, ids;
    const char *output;
    const char *input;
} filter_opts;

static int parse_filter(lh_cli *cli, int argc, char **argv, filter_opts *f, const char *help,
                        const lh_model *m)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},     {"schema", required_argument, 0, 's'},
        {"entity-id", required_argument, 0, 'e'},  {"origin", required_argument, 0, 'O'},
        {"prop", required_argument, 0, 'P'},       {"value", required_argument, 0, 'V'},
        {"changed-since", required_argument, 0, 'C'}, {"input", required_argument, 0, 'i'},
        {"query", required_argument, 0, 'q'},      {"rql", required_argument, 0, 'R'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    lh_pstore_filter_init(&f->q);
    lh_strlist_init(&f->schemata);
    lh_strlist_init(&f->buckets);
    lh_strlist_init(&f->ids);
    f->output = "-";
    f->input = NULL;
    f->equery = NULL;
    int c;
    lh_error err;
    const char *aleph = NULL, *rql = NULL; /* parsed after the options: both is an error */
    while ((c = getopt_long(argc, argv, "o:s:e:i:q:h", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
        case 'R':
            if (aleph || rql) return lh_cli_usage_error(cli, "use either -q or --rql, once");
            *(c == 'q' ? &aleph : &rql) = optarg;
            break;
        case 'o': f->output = optarg; break;
        case 'i': f->input = optarg; break;
        case 's': {
            const lh_schema *want = lh_model_schema(m, optarg);
            if (!want) return lh_cli_usage_error(cli, "unknown schema `%s`", optarg);
            for (size_t i = 0; i < lh_model_schema_count(m); i++) {
                const lh_schema *s = lh_model_schema_at(m, i);
                if (!lh_schema_is_a(s, optarg)) continue;
                lh_strlist_push(&f->schemata, s->name);
                /* the other buckets hold no statement of these schemata */
                const char *b = lh_schema_bucket(s);
                if (!lh_strlist_contains(&f->buckets, b)) lh_strlist_push(&f->buckets, b);
            }
            break;
        }
        case 'e': lh_strlist_push(&f->ids, optarg); break;
        case 'O': f->q.origin = *optarg ? optarg : NULL; break; /* empty: no filter, as there */
        case 'P': f->q.prop = optarg; break;
        case 'V': f->q.value = optarg; break;
        case 'C':
            if (lh_time_parse_iso(optarg, strlen(optarg), &f->q.changed_since, &err) != LH_OK)
                return lh_cli_usage_error(cli, "--changed-since: %s", err.msg);
            break;
        case 'h': fputs(help, stdout); return 0;
        default: return lh_cli_usage_error(cli, "bad option");
        }
    }
    if (optind < argc) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[optind]);
    if (f->q.value && !f->q.prop) return lh_cli_usage_error(cli, "--value needs --prop");
    if ((aleph || rql) &&
        (aleph ? lh_equery_parse : lh_equery_parse_rql)(m, aleph ? aleph : rql, &f->equery,
                                                         &err) != LH_OK)
        return lh_cli_usage_error(cli, "%s", err.msg);
    size_t nq = 0;
    const char *const *qs = f->equery ? lh_equery_schemata(f->equery, &nq) : NULL;
    if (f->schemata.len) qs = NULL; /* -s says which rows to read */
    /* What every match of the query has, for the store to skip the rest:
     * a row of one property (type) and value, else rows of its schemata.
     * The store wants all its row filters of one row: only one of them goes
     * down, and none beside --changed-since (the query's row need not be
     * a changed one); the buckets of the schemata prune either way. */
    bool one_row = f->q.changed_since == LH_TS_NULL;
    const char *prop = NULL, *type = NULL, *value = NULL;
    bool by_value = one_row && f->equery && !f->q.prop && !f->schemata.len &&
                    lh_equery_value_row(f->equery, &prop, &type, &value);
    if (by_value) {
        f->q.prop = prop;
        f->q.prop_type = type;
        f->q.value = value;
    }
    for (size_t i = 0; qs && i < nq; i++) {
        const char *b = lh_schema_bucket(lh_model_schema(m, qs[i]));
        if (!by_value && one_row) lh_strlist_push(&f->schemata, qs[i]);
        if (!lh_strlist_contains(&f->buckets, b)) lh_strlist_push(&f->buckets, b);
    }
    if (f->equery) {
        f->q.match = lh_equery_match_cb;
        f->q.match_ctx = f->equery;
    }
    if (f->schemata.len) {
        f->q.schemata = (const char *const *)f->schemata.items;
        f->q.num_schemata = f->schemata.len;
    }
    if (f->buckets.len) { /* the partitions of the wanted schemata only */
        f->q.buckets = (const char *const *)f->buckets.items;
        f->q.num_buckets = f->buckets.len;
    }
    /* ids the query names go down as -e's do (one filter: the query's
     * match still applies to what comes up) */
    size_t nids = 0;
    const char *const *qids = f->equery ? lh_equery_ids(f->equery, &nids) : NULL;
    if (!f->ids.len)
        for (size_t i = 0; i < nids; i++) lh_strlist_push(&f->ids, qids[i]);
    if (f->ids.len) {
        f->q.entity_ids = (const char *const *)f->ids.items;
        f->q.num_entity_ids = f->ids.len;
    }
    /* An entity comes whole, as the reference's query reads the table: an
     * id with rows in two buckets (stored as Thing, then as Document) is one
     * entity, not one per bucket. (Its export writes one per bucket, and so
     * does ours.) */
    f->q.whole_entities = true;
    return -1;
}

static void filter_free(filter_opts *f)
{
    lh_equery_free(f->equery);
    f->equery = NULL;
    lh_strlist_free(&f->schemata);
    lh_strlist_free(&f->buckets);
    lh_strlist_free(&f->ids);
}

static int cmd_iterate(lh_cli *cli, int argc, char **argv)
{
    lh_error err;
    const lh_model *m = lh_model_get(&err);
    if (!m) return lh_cli_fail(cli, &err);
    filter_opts f;
    int u = parse_filter(cli, argc, argv, &f, ITERATE_HELP, m);
    if (u >= 0) {
        filter_free(&f);
        return u;
    }
    lh_pstore *ps = NULL;
    lh_status rc = lh_cli_pstore(cli, &ps, &err);
    FILE *out = rc == LH_OK ? lh_cli_open_out(f.output, &err) : NULL;
    if (rc == LH_OK && !out) rc = LH_ERR_IO;
    lh_progress prog;
    lh_progress_start(&prog, "entities");
    uint64_t n = 0;
    lh_equery_order order;
    if (rc == LH_OK && f.equery && lh_equery_order_of(f.equery, &order))
        rc = lh_export_entities_ordered(ps, m, &f.q, LH_AGG_CONTEXT_ORDER, &order,
                                        (size_t)cli->settings.sort_memory_mb << 20, out,
                                        lh_progress_cb, &prog, &n, &err);
    else if (rc == LH_OK)
        rc = lh_export_entities(ps, m, &f.q, LH_AGG_CONTEXT_ORDER, NULL, NULL, out, lh_progress_cb,
                                &prog, &n, &err);
    lh_progress_done(&prog);
    rc = lh_cli_close_out(out, f.output, rc, &err);
    lh_pstore_free(ps);
    filter_free(&f);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static lh_status write_out(void *ctx, const void *data, size_t n, lh_error *err)
{
    if (fwrite(data, 1, n, ctx) != n) return lh_error_set(err, LH_ERR_IO, "writing output failed");
    return LH_OK;
}

/* The export's bytes, decompressed as the dataset's codec says (the file
 * of that codec: the one the reference reads too). */
int lh_cli_stream_key(lh_cli *cli, const char *suffix, const char *output)
{
    lh_error err;
    const char *ds;
    lh_storage *st;
    lh_stream_codec codec;
    if (lh_cli_dataset(cli, &ds, &err) != LH_OK || lh_cli_storage(cli, &st, &err) != LH_OK ||
        lh_cli_export_codec(cli, &codec, &err) != LH_OK)
        return lh_cli_fail(cli, &err);
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/%s", ds, suffix);
    lh_stream_codec_key(&key, codec);
    lh_storage_reader *r = NULL;
    lh_stream_decoder *dec = NULL;
    lh_status rc = lh_storage_reader_open(st, key.data, &r, &err);
    if (rc == LH_ERR_NOT_FOUND)
        lh_error_set(&err, LH_ERR_NOT_FOUND, "`%s` has not been exported yet: run "
                     "`ftm-lakehouse -d %s make` first", key.data, ds);
    if (rc == LH_OK) rc = lh_stream_decoder_new(codec, key.data, &dec, &err);
    FILE *out = rc == LH_OK ? lh_cli_open_out(output, &err) : NULL;
    if (rc == LH_OK && !out) rc = LH_ERR_IO;
    char *chunk = lh_malloc(1 << 20);
    uint64_t size = r ? lh_storage_reader_size(r) : 0;
    for (uint64_t off = 0; rc == LH_OK && off < size;) {
        size_t n = size - off > (1 << 20) ? (1 << 20) : (size_t)(size - off);
        rc = lh_storage_reader_pread(r, off, chunk, n, &err);
        if (rc == LH_OK) rc = lh_stream_decoder_feed(dec, chunk, n, write_out, out, &err);
        off += n;
    }
    if (rc == LH_OK) rc = lh_stream_decoder_finish(dec, &err);
    free(chunk);
    rc = lh_cli_close_out(out, output, rc, &err);
    lh_stream_decoder_free(dec);
    lh_storage_reader_free(r);
    lh_buf_free(&key);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_stream(lh_cli *cli, int argc, char **argv)
{
    static const char help[] =
        "Usage: ftm-lakehouse -d DATASET entities stream [-o FILE]\n\n"
        "Print the exported entities.ftm.json (see `maintenance export-entities`).\n";
    const char *out;
    int u = lh_cli_parse_output(cli, argc, argv, help, "-", &out);
    if (u >= 0) return u;
    return lh_cli_stream_key(cli, "entities.ftm.json", out);
}

static const char DELETE_HELP[] =
    "Usage: ftm-lakehouse -d DATASET entities delete [-e ID]... [-i FILE] [--origin O]\n"
    "                                                [--journal]\n"
    "\n"
    "Delete entities: every live statement of each, in the store and in the\n"
    "journal, is written again as a tombstone (deleted_at = now), which hides\n"
    "it from reads at once; `merge` drops tombstone and statement after\n"
    "LAKEHOUSE_GRACE_PERIOD_DAYS.\n"
    "\n"
    "Options:\n"
    "  -e, --entity-id ID   Entity to delete (repeatable)\n"
    "  -i, --input FILE     File with one entity id per line (- for stdin)\n"
    "  -O, --origin O       Only the statements of this origin\n"
    "  --journal            Write the tombstones to the journal\n";

typedef struct tomb_ctx {
    lh_stmt_batch *batch;
    int64_t now;
    const char *origin; /* NULL: any */
} tomb_ctx;

static lh_status collect_tombstones(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    tomb_ctx *t = ctx;
    for (size_t i = 0; i < n; i++) {
        if (t->origin && strcmp(rows[i].origin, t->origin) != 0) continue;
        lh_statement s = rows[i];
        s.deleted_at = t->now;
        /* the tombstone must win the dedupe against the row it shadows */
        if (s.last_seen < t->now) s.last_seen = t->now;
        if (s.first_seen > s.last_seen) s.first_seen = s.last_seen;
        lh_stmt_batch_push(t->batch, &s);
    }
    return LH_OK;
}

static lh_status collect_journal_tombstones(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    return collect_tombstones(ctx, b->rows, b->len, err);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The reference's row identity (dedupe_key: id, origin, fragment, role)
 * and the row's bucket. */
static int row_identity_cmp(const lh_statement *a, const lh_statement *b)
{
    int c;
    if ((c = strcmp(a->id, b->id))) return c;
    if ((c = strcmp(or_empty(a->bucket), or_empty(b->bucket)))) return c;
    if ((c = strcmp(a->origin, b->origin))) return c;
    if ((c = strcmp(or_empty(a->fragment), or_empty(b->fragment)))) return c;
    return strcmp(or_empty(a->role), or_empty(b->role));
}

/* Journal rows first: they were collected first and are the newer. */
static int journal_first(const void *x, const void *y)
{
    const lh_statement *const *a = x, *const *b = y;
    int c = row_identity_cmp(*a, *b);
    if (c) return c;
    return (*a > *b) - (*a < *b); /* earlier in the batch first */
}

/* One tombstone per row identity and bucket, the journal's where both have
 * one, as the reference's delete. The reference's identity leaves out the
 * bucket: a statement id does not depend on the schema, so an entity
 * stored under two schemas of different buckets (Person, then Document)
 * has rows of one identity in two partitions, and one tombstone would
 * shadow only one of them. */
static void keep_one_per_row(lh_stmt_batch *batch)
{
    size_t n = batch->len;
    if (n < 2) return;
    const lh_statement **order = lh_calloc(n, sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = &batch->rows[i];
    qsort(order, n, sizeof *order, journal_first);
    lh_stmt_batch kept;
    lh_stmt_batch_init(&kept);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || row_identity_cmp(order[i - 1], order[i]) != 0)
            lh_stmt_batch_push(&kept, order[i]);
    free(order);
    lh_stmt_batch_free(batch);
    *batch = kept;
}

/* Tombstones for the live statements of ids: the journal's (statements not
 * flushed yet), when the lake has one, then the store's. In this order a
 * flush that runs meanwhile cannot hide a row: one it committed to the store
 * after the journal was read is in the store when the store is read (the
 * other way round, it left the journal after the store was read and was in
 * neither). */
static lh_status collect_deletes(lh_cli *cli, const lh_strlist *ids, tomb_ctx *t, lh_error *err)
{
    char *uri = NULL;
    bool journal = false;
    LH_TRY(lh_cli_journal_location(cli, &uri, &journal, err));
    free(uri);
    lh_status rc = LH_OK;
    if (journal) {
        lh_journal *j = NULL;
        rc = lh_cli_journal(cli, &j, err);
        if (rc == LH_OK)
            rc = lh_journal_iterate_entities(j, (const char *const *)ids->items, ids->len,
                                             collect_journal_tombstones, t, err);
        lh_journal_free(j);
        LH_TRY(rc);
    }
    lh_pstore *ps = NULL;
    LH_TRY(lh_cli_pstore(cli, &ps, err));
    lh_pstore_filter q;
    lh_pstore_filter_init(&q);
    q.entity_ids = (const char *const *)ids->items;
    q.num_entity_ids = ids->len;
    rc = lh_pstore_query_statements(ps, &q, collect_tombstones, t, err);
    lh_pstore_free(ps);
    if (rc == LH_OK) keep_one_per_row(t->batch);
    return rc;
}

/* The ids no tombstone was written for; *first (pointing into ids) the
 * first of them in the order given. */
static size_t count_unmatched(const lh_strlist *ids, const lh_stmt_batch *tombs,
                              const char **first)
{
    const char **hit = lh_calloc(tombs->len ? tombs->len : 1, sizeof *hit);
    for (size_t i = 0; i < tombs->len; i++) hit[i] = tombs->rows[i].entity_id;
    qsort(hit, tombs->len, sizeof *hit, lh_str_ptr_cmp);
    size_t unmatched = 0;
    for (size_t i = 0; i < ids->len; i++) {
        const char *id = ids->items[i];
        if (tombs->len && bsearch(&id, hit, tombs->len, sizeof *hit, lh_str_ptr_cmp)) continue;
        if (!unmatched++) *first = id;
    }
    free(hit);
    return unmatched;
}

static int cmd_delete(lh_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"entity-id", required_argument, 0, 'e'},
                                         {"input", required_argument, 0, 'i'},
                                         {"origin", required_argument, 0, 'O'},
                                         {"journal", no_argument, 0, 'J'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    lh_strlist ids;
    lh_strlist_init(&ids);
    bool journal = false;
    const char *input = NULL, *origin = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "e:i:O:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e': lh_strlist_push(&ids, optarg); break;
        case 'i': input = optarg; break;
        case 'O': origin = optarg; break;
        case 'J': journal = true; break;
        case 'h': fputs(DELETE_HELP, stdout); lh_strlist_free(&ids); return 0;
        default: lh_strlist_free(&ids); return lh_cli_usage_error(cli, "bad option");
        }
    }
    lh_error err;
    lh_status rc = LH_OK;
    if (input) {
        FILE *in = lh_cli_open_in(input, &err);
        if (!in) rc = LH_ERR_IO;
        lh_line_reader *r = in ? lh_line_reader_new(in, input) : NULL;
        while (rc == LH_OK) {
            const char *line;
            size_t len;
            rc = lh_line_reader_next(r, &line, &len, &err);
            if (rc != LH_OK || !line) break;
            /* an id pasted with a trailing blank or a CRLF file's \r would
             * match nothing, silently */
            while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
                len--;
            while (len && (line[0] == ' ' || line[0] == '\t')) line++, len--;
            if (len) lh_strlist_push_owned(&ids, lh_strndup(line, len));
        }
        lh_line_reader_free(r);
        lh_cli_close(in);
    }
    if (rc == LH_OK && !ids.len) {
        lh_strlist_free(&ids);
        return lh_cli_usage_error(cli, "no entity ids given (-e ID or -i FILE)");
    }
    lh_stmt_batch batch;
    lh_stmt_batch_init(&batch);
    tomb_ctx t = {&batch, lh_now_us(), origin};
    if (rc == LH_OK && origin) rc = lh_name_check(origin, "origin", false, &err);
    if (rc == LH_OK) rc = collect_deletes(cli, &ids, &t, &err);
    size_t n = batch.len, unmatched = 0;
    const char *first = NULL;
    if (rc == LH_OK) unmatched = count_unmatched(&ids, &batch, &first); /* the write empties it */
    if (rc == LH_OK && n) {
        import_sink s;
        rc = lh_cli_sink_open(cli, journal, -1, &s, &err);
        if (rc == LH_OK) rc = lh_cli_sink_write(&s, &batch, &err);
        if (rc == LH_OK) rc = lh_cli_sink_commit(cli, &s, &err);
        lh_cli_sink_close(&s);
    }
    if (rc == LH_OK) {
        fprintf(stderr, "deleted %zu statement(s) of %zu entity id(s)", n, ids.len);
        if (unmatched)
            fprintf(stderr, "; %zu id(s) had no live statement%s (first: `%s`)", unmatched,
                    origin ? " of that origin" : "", first);
        fputc('\n', stderr);
    }
    lh_stmt_batch_free(&batch);
    lh_strlist_free(&ids);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static const char DELETE_ORIGIN_HELP[] =
    "Usage: ftm-lakehouse -d DATASET entities delete-origin [--] ORIGIN\n"
    "\n"
    "Drop every statement of ORIGIN from the statement store at once, with no\n"
    "grace period and no tombstones (the reference's delete_origin): the\n"
    "journal is flushed first, then the origin's files leave the table in one\n"
    "commit; `maintenance vacuum` deletes them from storage. Statements\n"
    "journalled into the origin while this runs survive: stop writers first.\n";

static int cmd_delete_origin(lh_cli *cli, int argc, char **argv)
{
    if (lh_cli_want_help(argc, argv, DELETE_ORIGIN_HELP)) return 0;
    /* `delete-origin --origin` must not drop an origin named so; an origin
     * that starts with '-' comes after `--` */
    bool dashdash = argc >= 2 && strcmp(argv[1], "--") == 0;
    if (argc != 2 + dashdash) return lh_cli_usage_error(cli, "delete-origin takes one ORIGIN");
    const char *origin = argv[dashdash ? 2 : 1];
    if (!dashdash && origin[0] == '-')
        return lh_cli_usage_error(cli, "unknown option `%s`", origin);
    lh_error err;
    /* a bad origin costs nothing: checked before the flush */
    lh_status rc = lh_name_check(origin, "origin", true, &err);
    if (rc == LH_OK) rc = lh_cli_flush_first(cli, &err);
    lh_pstore *ps = NULL;
    int64_t deleted = 0;
    if (rc == LH_OK) rc = lh_cli_pstore(cli, &ps, &err);
    /* stamped before the commit too (see lh_cli_sink_commit) */
    if (rc == LH_OK) rc = lh_cli_tag_now(cli, "statements/last_updated", &err);
    if (rc == LH_OK) rc = lh_pstore_delete_origin(ps, origin, &deleted, &err);
    if (rc == LH_OK && deleted) rc = lh_cli_tag_now(cli, "statements/last_updated", &err);
    if (rc == LH_OK)
        fprintf(stderr, "deleted %lld statement(s) of origin `%s`\n", (long long)deleted, origin);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

int lh_cmd_export_entities(lh_cli *cli, int argc, char **argv)
{
    static const char help[] =
        "Usage: ftm-lakehouse -d DATASET maintenance export-entities [-o FILE]\n\n"
        "Write every entity as FtM JSON lines to entities.ftm.json in the dataset\n"
        "(or to FILE).\n";
    const char *outpath;
    int u = lh_cli_parse_output(cli, argc, argv, help, NULL, &outpath);
    if (u >= 0) return u;
    lh_error err;
    const lh_model *m = lh_model_get(&err);
    if (!m) return lh_cli_fail(cli, &err);
    lh_pstore *ps = NULL;
    lh_fence *sweep = NULL;
    lh_status rc = lh_cli_pstore(cli, &ps, &err);
    if (rc == LH_OK) rc = lh_cli_sweep_fence(cli, &sweep, &err);
    lh_progress prog;
    lh_progress_start(&prog, "export entities");
    uint64_t n = 0;
    if (rc == LH_OK && outpath) {
        FILE *out = lh_cli_open_out(outpath, &err);
        rc = out ? lh_export_entities(ps, m, NULL, 0, NULL, NULL, out, lh_progress_cb, &prog, &n,
                                      &err)
                 : LH_ERR_IO;
        rc = lh_cli_close_out(out, outpath, rc, &err);
    } else if (rc == LH_OK) {
        rc = lh_cli_export_entities(cli, ps, m, &prog, &n, &err);
    }
    lh_progress_done(&prog);
    rc = lh_fence_release_keep(sweep, rc, &err);
    if (rc == LH_OK) fprintf(stderr, "exported %llu entities\n", (unsigned long long)n);
    lh_pstore_free(ps);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static const lh_cmd CMDS[] = {
    {"import", cmd_import, NULL, true},
    {"iterate", cmd_iterate, NULL, true},
    {"stream", cmd_stream, NULL, true},
    {"delete", cmd_delete, NULL, true},
    {"delete-origin", cmd_delete_origin, NULL, true},
    {NULL, NULL, NULL, false},
};

int lh_cmd_entities(lh_cli *cli, int argc, char **argv)
{
    return lh_cli_dispatch(cli, argv[0], HELP, CMDS, argc, argv);
}
