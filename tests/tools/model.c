/* lh-model: driver for the model interop tests.
 *   lh-model schemata              every schema as one JSON line (resolved)
 *   lh-model types                 property type names, one a line
 *   lh-model keys SHARDS...        stdin: JSON lines [dataset, entity_id, prop,
 *                                  value, lang|null, external]; stdout: JSON
 *                                  lines {"id": ..., "shards": [...]}
 *   lh-model explode [--dataset D] [--origin O] [--override-origin]
 *                    [--role R] [--now ISO] [--skip-unknown] FILE
 *                                  FtM JSON lines -> statement JSON lines
 *   lh-model aggregate [--context-order] FILE
 *                                  statement JSON lines (sorted by
 *                                  entity_id here) -> entity JSON lines
 *   lh-model csv lakehouse|ftm FILE  statement JSON lines -> statement CSV
 *   lh-model import-csv [explode options] FILE  statement CSV -> JSON lines
 *   lh-model query aleph|rql TEXT  the parsed filter tree as JSON (ftmq's
 *                                  Expr.to_dict shape); exit 2 if refused
 *   lh-model numeric VALUE...      each as DuckDB's NUMERIC in thousandths,
 *                                  or null, one a line
 * LAKEHOUSE_FTM_MODEL selects another model, as in the library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lh/core/buf.h"
#include "lh/model/equery.h"
#include "lh/model/keys.h"
#include "lh/model/model.h"
#include "lh/model/stmt_io.h"
#include "lh/core/timeutil.h"

static void put_names(lh_buf *b, const lh_schema **list, size_t n)
{
    lh_buf_append_byte(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) lh_buf_append_byte(b, ',');
        lh_buf_append_json_str(b, list[i]->name, strlen(list[i]->name));
    }
    lh_buf_append_byte(b, ']');
}

static void put_strs(lh_buf *b, const char **list, size_t n)
{
    lh_buf_append_byte(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) lh_buf_append_byte(b, ',');
        lh_buf_append_json_str(b, list[i], strlen(list[i]));
    }
    lh_buf_append_byte(b, ']');
}

static void put_str_or_null(lh_buf *b, const char *s)
{
    if (s) lh_buf_append_json_str(b, s, strlen(s));
    else lh_buf_append_str(b, "null");
}

static int cmd_schemata(const lh_model *m)
{
    lh_buf b = LH_BUF_INIT;
    for (size_t i = 0; i < lh_model_schema_count(m); i++) {
        const lh_schema *s = lh_model_schema_at(m, i);
        lh_buf_reset(&b);
        lh_buf_printf(&b, "{\"name\":");
        put_str_or_null(&b, s->name);
        lh_buf_printf(&b, ",\"label\":");
        put_str_or_null(&b, s->label);
        lh_buf_printf(&b, ",\"plural\":");
        put_str_or_null(&b, s->plural);
        lh_buf_printf(&b, ",\"abstract\":%s,\"matchable\":%s,\"hidden\":%s,\"generated\":%s,"
                      "\"deprecated\":%s,\"bucket\":\"%s\",\"extends\":",
                      s->abstract ? "true" : "false", s->matchable ? "true" : "false",
                      s->hidden ? "true" : "false", s->generated ? "true" : "false",
                      s->deprecated ? "true" : "false", lh_schema_bucket(s));
        put_names(&b, s->extends, s->n_extends);
        lh_buf_append_str(&b, ",\"schemata\":");
        put_names(&b, s->schemata, s->n_schemata);
        lh_buf_append_str(&b, ",\"descendants\":");
        put_names(&b, s->descendants, s->n_descendants);
        lh_buf_append_str(&b, ",\"caption\":");
        put_strs(&b, s->caption, s->n_caption);
        lh_buf_append_str(&b, ",\"featured\":");
        put_strs(&b, s->featured, s->n_featured);
        lh_buf_append_str(&b, ",\"required\":");
        put_strs(&b, s->required, s->n_required);
        lh_buf_append_str(&b, ",\"properties\":{");
        for (size_t j = 0; j < s->n_props; j++) {
            const lh_prop *p = s->props[j];
            if (j) lh_buf_append_byte(&b, ',');
            put_str_or_null(&b, p->name);
            lh_buf_append_str(&b, ":{\"qname\":");
            put_str_or_null(&b, p->qname);
            lh_buf_append_str(&b, ",\"type\":");
            put_str_or_null(&b, p->type);
            lh_buf_append_str(&b, ",\"range\":");
            put_str_or_null(&b, p->range ? p->range->name : NULL);
            lh_buf_append_str(&b, ",\"reverse\":");
            put_str_or_null(&b, p->reverse);
            lh_buf_append_str(&b, ",\"label\":");
            put_str_or_null(&b, p->label);
            lh_buf_printf(&b, ",\"max_length\":%d,\"stub\":%s,\"matchable\":%s,\"hidden\":%s,"
                          "\"deprecated\":%s}",
                          p->max_length, p->stub ? "true" : "false",
                          p->matchable ? "true" : "false", p->hidden ? "true" : "false",
                          p->deprecated ? "true" : "false");
        }
        lh_buf_append_str(&b, "}}\n");
        fwrite(b.data, 1, b.len, stdout);
    }
    lh_buf_free(&b);
    return 0;
}

static int cmd_keys(int argc, char **argv)
{
    char line[1 << 16];
    int nshards = argc;
    while (fgets(line, sizeof line, stdin)) {
        json_error_t jerr;
        json_t *row = json_loads(line, 0, &jerr);
        if (!json_is_array(row) || json_array_size(row) != 6) {
            fprintf(stderr, "lh-model keys: bad input line: %s\n", jerr.text);
            json_decref(row);
            return 1;
        }
        const char *lang = json_string_value(json_array_get(row, 4));
        char id[LH_SHA1_HEX_LEN + 1];
        const char *entity_id = json_string_value(json_array_get(row, 1));
        lh_statement_key(json_string_value(json_array_get(row, 0)), entity_id,
                         json_string_value(json_array_get(row, 2)),
                         json_string_value(json_array_get(row, 3)), lang,
                         json_is_true(json_array_get(row, 5)), id);
        printf("{\"id\":\"%s\",\"shards\":[", id);
        for (int i = 0; i < nshards; i++) {
            char shard[LH_SHARD_MAX];
            lh_shard_key(entity_id, atoi(argv[i]), shard);
            printf("%s\"%s\"", i ? "," : "", shard);
        }
        printf("]}\n");
        json_decref(row);
    }
    return 0;
}

static int fail(const lh_error *err)
{
    fprintf(stderr, "lh-model: [%s] %s\n", lh_status_name(err->code), err->msg);
    return 1;
}

static FILE *open_in(const char *path)
{
    if (!strcmp(path, "-")) return stdin;
    FILE *f = fopen(path, "rb");
    if (!f) perror(path);
    return f;
}

static int cmd_explode(const lh_model *m, int argc, char **argv)
{
    lh_explode_opts o = {.dataset = "default", .origin = LH_BULK_ORIGIN, .now = lh_now_us()};
    const char *path = "-";
    lh_error err;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dataset") && i + 1 < argc) o.dataset = argv[++i];
        else if (!strcmp(argv[i], "--origin") && i + 1 < argc) o.origin = argv[++i];
        else if (!strcmp(argv[i], "--role") && i + 1 < argc) o.role = argv[++i];
        else if (!strcmp(argv[i], "--override-origin")) o.override_origin = true;
        else if (!strcmp(argv[i], "--skip-unknown")) o.flags |= LH_EXPLODE_SKIP_UNKNOWN;
        else if (!strcmp(argv[i], "--now") && i + 1 < argc) {
            i++;
            if (lh_time_parse_iso(argv[i], strlen(argv[i]), &o.now, &err) != LH_OK) return fail(&err);
        } else path = argv[i];
    }
    FILE *f = open_in(path);
    if (!f) return 1;
    lh_line_reader *r = lh_line_reader_new(f, path);
    lh_stmt_batch batch;
    lh_stmt_batch_init(&batch);
    lh_status rc = lh_entities_explode_lines(m, r, &o, &batch, &err);
    lh_buf out = LH_BUF_INIT;
    for (size_t i = 0; i < batch.len; i++) lh_stmt_write_json(&out, &batch.rows[i]);
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    lh_buf_free(&out);
    lh_stmt_batch_free(&batch);
    lh_line_reader_free(r);
    if (f != stdin) fclose(f);
    return rc == LH_OK ? 0 : fail(&err);
}

static int cmd_import_csv(const lh_model *m, int argc, char **argv)
{
    lh_explode_opts o = {.dataset = "default", .origin = LH_BULK_ORIGIN, .now = lh_now_us()};
    const char *path = "-";
    lh_error err;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dataset") && i + 1 < argc) o.dataset = argv[++i];
        else if (!strcmp(argv[i], "--origin") && i + 1 < argc) o.origin = argv[++i];
        else if (!strcmp(argv[i], "--role") && i + 1 < argc) o.role = argv[++i];
        else if (!strcmp(argv[i], "--override-origin")) o.override_origin = true;
        else if (!strcmp(argv[i], "--now") && i + 1 < argc) {
            i++;
            if (lh_time_parse_iso(argv[i], strlen(argv[i]), &o.now, &err) != LH_OK) return fail(&err);
        } else path = argv[i];
    }
    FILE *f = open_in(path);
    if (!f) return 1;
    lh_stmt_csv_reader *r = lh_stmt_csv_reader_new(f, path);
    lh_stmt_batch batch;
    lh_stmt_batch_init(&batch);
    lh_buf out = LH_BUF_INIT;
    bool got = true;
    lh_status rc = LH_OK;
    while (rc == LH_OK && got) {
        lh_stmt_batch_clear(&batch);
        rc = lh_stmt_csv_next(m, r, &o, &batch, &got, &err);
        for (size_t i = 0; i < batch.len; i++) lh_stmt_write_json(&out, &batch.rows[i]);
    }
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    lh_buf_free(&out);
    lh_stmt_batch_free(&batch);
    lh_stmt_csv_reader_free(r);
    if (f != stdin) fclose(f);
    return rc == LH_OK ? 0 : fail(&err);
}

static int read_statements(const char *path, lh_stmt_batch *batch, lh_error *err)
{
    FILE *f = open_in(path);
    if (!f) return 1;
    lh_line_reader *r = lh_line_reader_new(f, path);
    const char *line;
    size_t len;
    lh_status rc;
    while ((rc = lh_line_reader_next(r, &line, &len, err)) == LH_OK && line) {
        rc = lh_stmt_parse_json(line, len, batch, err);
        if (rc != LH_OK) {
            lh_error_prefix(err, "%s:%zu", path, lh_line_reader_lineno(r));
            break;
        }
    }
    lh_line_reader_free(r);
    if (f != stdin) fclose(f);
    return rc == LH_OK ? 0 : fail(err);
}

static int cmp_entity(const void *a, const void *b)
{
    const lh_statement *x = a, *y = b;
    return strcmp(x->entity_id, y->entity_id); /* order inside an entity is irrelevant */
}

static int cmd_aggregate(const lh_model *m, int argc, char **argv)
{
    int flags = 0;
    const char *path = "-";
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--context-order")) flags |= LH_AGG_CONTEXT_ORDER;
        else path = argv[i];
    }
    lh_error err;
    lh_stmt_batch batch;
    lh_stmt_batch_init(&batch);
    if (read_statements(path, &batch, &err)) {
        lh_stmt_batch_free(&batch);
        return 1;
    }
    qsort(batch.rows, batch.len, sizeof *batch.rows, cmp_entity);
    lh_aggregator *a = lh_aggregator_new(m, flags);
    lh_buf out = LH_BUF_INIT;
    lh_status rc = LH_OK;
    for (size_t i = 0; i < batch.len && rc == LH_OK; i++)
        rc = lh_aggregator_add(a, &batch.rows[i], &out, &err);
    if (rc == LH_OK) rc = lh_aggregator_finish(a, &out, &err);
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    lh_buf_free(&out);
    lh_aggregator_free(a);
    lh_stmt_batch_free(&batch);
    return rc == LH_OK ? 0 : fail(&err);
}

static int cmd_csv(int argc, char **argv)
{
    if (argc < 1) return 2;
    lh_csv_flavor flavor = !strcmp(argv[0], "ftm") ? LH_CSV_FTM : LH_CSV_LAKEHOUSE;
    lh_error err;
    lh_stmt_batch batch;
    lh_stmt_batch_init(&batch);
    if (read_statements(argc > 1 ? argv[1] : "-", &batch, &err)) {
        lh_stmt_batch_free(&batch);
        return 1;
    }
    lh_buf out = LH_BUF_INIT;
    lh_stmt_csv_header(&out, flavor);
    for (size_t i = 0; i < batch.len; i++) lh_stmt_csv_row(&out, &batch.rows[i], flavor);
    fwrite(out.data, 1, out.len, stdout);
    lh_buf_free(&out);
    lh_stmt_batch_free(&batch);
    return 0;
}

static int cmd_query(const lh_model *m, int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[0], "aleph") && strcmp(argv[0], "rql"))) {
        fprintf(stderr, "usage: lh-model query aleph|rql TEXT\n");
        return 2;
    }
    lh_error err;
    lh_equery *q = NULL;
    if ((strcmp(argv[0], "rql") ? lh_equery_parse : lh_equery_parse_rql)(m, argv[1], &q, &err) !=
        LH_OK) {
        fprintf(stderr, "lh-model: %s\n", err.msg);
        return 2;
    }
    lh_buf out = LH_BUF_INIT;
    lh_equery_describe(q, &out);
    printf("%s\n", out.data);
    lh_buf_free(&out);
    lh_equery_free(q);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lh-model schemata|keys SHARDS...\n");
        return 2;
    }
    lh_error err;
    lh_error_clear(&err);
    const lh_model *m = lh_model_get(&err);
    if (!m) {
        fprintf(stderr, "lh-model: %s\n", err.msg);
        return 1;
    }
    if (!strcmp(argv[1], "schemata")) return cmd_schemata(m);
    if (!strcmp(argv[1], "types")) {
        for (size_t i = 0; i < lh_model_type_count(m); i++) printf("%s\n", lh_model_type_at(m, i));
        return 0;
    }
    if (!strcmp(argv[1], "keys")) return cmd_keys(argc - 2, argv + 2);
    if (!strcmp(argv[1], "explode")) return cmd_explode(m, argc - 2, argv + 2);
    if (!strcmp(argv[1], "aggregate")) return cmd_aggregate(m, argc - 2, argv + 2);
    if (!strcmp(argv[1], "csv")) return cmd_csv(argc - 2, argv + 2);
    if (!strcmp(argv[1], "import-csv")) return cmd_import_csv(m, argc - 2, argv + 2);
    if (!strcmp(argv[1], "query")) return cmd_query(m, argc - 2, argv + 2);
    if (!strcmp(argv[1], "numeric")) {
        for (int i = 2; i < argc; i++) {
            int64_t x;
            if (lh_equery_numeric(argv[i], &x)) printf("%lld\n", (long long)x);
            else printf("null\n");
        }
        return 0;
    }
    fprintf(stderr, "lh-model: unknown command %s\n", argv[1]);
    return 2;
}
