/* Line reader, statement JSON lines and statement CSV (see lh/model/stmt_io.h). */
#include "lh/model/stmt_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lh/core/json.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"

struct lh_line_reader {
    FILE *f;
    char *name;
    char *line;
    size_t cap;
    size_t lineno;
};

lh_line_reader *lh_line_reader_new(FILE *f, const char *name)
{
    lh_line_reader *r = lh_calloc(1, sizeof *r);
    r->f = f;
    r->name = lh_strdup(name ? name : "-");
    return r;
}

void lh_line_reader_free(lh_line_reader *r)
{
    if (!r) return;
    free(r->line);
    free(r->name);
    free(r);
}

size_t lh_line_reader_lineno(const lh_line_reader *r) { return r->lineno; }
const char *lh_line_reader_name(const lh_line_reader *r) { return r->name; }

lh_status lh_line_reader_next(lh_line_reader *r, const char **line, size_t *len, lh_error *err)
{
    *line = NULL;
    *len = 0;
    for (;;) {
        errno = 0;
        ssize_t got = getline(&r->line, &r->cap, r->f);
        /* a read that failed inside a line may still hand out its start */
        if (ferror(r->f))
            return lh_error_errno(err, LH_ERR_IO, errno ? errno : EIO, "%s:%zu: read",
                                  r->name, r->lineno + 1);
        if (got < 0) return LH_OK;
        r->lineno++;
        size_t n = (size_t)got;
        while (n && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r')) n--;
        size_t i = 0;
        while (i < n && (r->line[i] == ' ' || r->line[i] == '\t')) i++;
        if (i == n) continue;
        r->line[n] = '\0';
        *line = r->line;
        *len = n;
        return LH_OK;
    }
}

lh_status lh_entities_explode_lines(const lh_model *m, lh_line_reader *r,
                                    const lh_explode_opts *opts, lh_stmt_batch *batch,
                                    lh_error *err)
{
    const char *line;
    size_t len;
    for (;;) {
        LH_TRY(lh_line_reader_next(r, &line, &len, err));
        if (!line) return LH_OK;
        lh_status rc = lh_entity_explode(m, line, len, opts, batch, err);
        if (rc != LH_OK) return lh_error_prefix(err, "%s:%zu", r->name, r->lineno);
    }
}

/* ---- JSON lines ---- */

static void put_key(lh_buf *out, const char *key, bool *first)
{
    lh_buf_append_str(out, *first ? "{\"" : ",\"");
    lh_buf_append_str(out, key);
    lh_buf_append_str(out, "\":");
    *first = false;
}

static void put_sv(lh_buf *out, const char *key, const char *v, bool *first)
{
    put_key(out, key, first);
    if (v) lh_buf_append_json_str(out, v, strlen(v));
    else lh_buf_append_str(out, "null");
}

static void put_tv(lh_buf *out, const char *key, int64_t ts, bool *first)
{
    put_key(out, key, first);
    if (ts == LH_TS_NULL) {
        lh_buf_append_str(out, "null");
        return;
    }
    char iso[LH_ISO_MAX];
    lh_time_format_iso_py(ts, 1, iso);
    lh_buf_printf(out, "\"%s\"", iso);
}

void lh_stmt_write_json(lh_buf *out, const lh_statement *s)
{
    bool first = true;
    if (s->shard) put_sv(out, "shard", s->shard, &first);
    put_sv(out, "id", s->id, &first);
    put_sv(out, "entity_id", s->entity_id, &first);
    put_sv(out, "dataset", s->dataset, &first);
    put_sv(out, "bucket", s->bucket, &first);
    put_sv(out, "origin", s->origin, &first);
    put_sv(out, "source", s->source, &first);
    put_sv(out, "schema", s->schema, &first);
    put_sv(out, "prop", s->prop, &first);
    put_sv(out, "prop_type", s->prop_type, &first);
    put_sv(out, "value", s->value, &first);
    put_sv(out, "original_value", s->original_value, &first);
    put_sv(out, "lang", s->lang, &first);
    put_key(out, "external", &first);
    lh_buf_append_str(out, s->external ? "true" : "false");
    put_tv(out, "first_seen", s->first_seen, &first);
    put_tv(out, "last_seen", s->last_seen, &first);
    put_sv(out, "fragment", s->fragment ? s->fragment : "", &first);
    put_sv(out, "role", s->role, &first);
    put_tv(out, "deleted_at", s->deleted_at, &first);
    lh_buf_append_str(out, "}\n");
}

static lh_status get_s(json_t *o, const char *key, bool required, const char **out, lh_error *err)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required) return lh_error_set(err, LH_ERR_INVALID, "%s: missing", key);
        return LH_OK;
    }
    if (!json_is_string(v)) return lh_error_set(err, LH_ERR_INVALID, "%s: expected a string", key);
    *out = json_string_value(v);
    return LH_OK;
}

static lh_status get_t(json_t *o, const char *key, int64_t *out, lh_error *err)
{
    const char *s;
    *out = LH_TS_NULL;
    LH_TRY(get_s(o, key, false, &s, err));
    if (!s || !*s) return LH_OK;
    lh_error terr;
    if (lh_time_parse_iso(s, strlen(s), out, &terr) != LH_OK)
        return lh_error_set(err, LH_ERR_INVALID, "%s: %s", key, terr.msg);
    return LH_OK;
}

static lh_status parse_stmt(json_t *o, lh_stmt_batch *batch, lh_error *err)
{
    lh_statement s = {0};
    LH_TRY(get_s(o, "shard", false, &s.shard, err));
    LH_TRY(get_s(o, "id", true, &s.id, err));
    LH_TRY(get_s(o, "entity_id", true, &s.entity_id, err));
    LH_TRY(get_s(o, "canonical_id", false, &s.canonical_id, err));
    LH_TRY(get_s(o, "dataset", true, &s.dataset, err));
    LH_TRY(get_s(o, "bucket", false, &s.bucket, err));
    LH_TRY(get_s(o, "origin", false, &s.origin, err));
    LH_TRY(get_s(o, "source", false, &s.source, err));
    LH_TRY(get_s(o, "schema", true, &s.schema, err));
    LH_TRY(get_s(o, "prop", true, &s.prop, err));
    LH_TRY(get_s(o, "prop_type", false, &s.prop_type, err));
    LH_TRY(get_s(o, "value", true, &s.value, err));
    LH_TRY(get_s(o, "original_value", false, &s.original_value, err));
    LH_TRY(get_s(o, "lang", false, &s.lang, err));
    json_t *ext = json_object_get(o, "external");
    if (ext && !json_is_boolean(ext) && !json_is_null(ext))
        return lh_error_set(err, LH_ERR_INVALID, "external: expected a boolean");
    s.external = json_is_true(ext);
    LH_TRY(get_t(o, "first_seen", &s.first_seen, err));
    LH_TRY(get_t(o, "last_seen", &s.last_seen, err));
    LH_TRY(get_s(o, "fragment", false, &s.fragment, err));
    LH_TRY(get_s(o, "role", false, &s.role, err));
    LH_TRY(get_t(o, "deleted_at", &s.deleted_at, err));
    if (!s.canonical_id) s.canonical_id = s.entity_id;
    lh_stmt_batch_push(batch, &s);
    return LH_OK;
}

lh_status lh_stmt_parse_json(const char *text, size_t n, lh_stmt_batch *batch, lh_error *err)
{
    json_t *o = lh_json_parse(text, n, 0, err);
    if (!o) return LH_ERR_INVALID;
    lh_status rc = json_is_object(o) ? parse_stmt(o, batch, err)
                                     : lh_error_set(err, LH_ERR_INVALID, "expected a JSON object");
    json_decref(o);
    return rc;
}

/* ---- CSV ---- */

/* The CSV columns of a statement, in the order a flavour writes them. */
typedef enum csv_col {
    C_ID, C_ENTITY_ID, C_CANONICAL_ID, C_PROP, C_PROP_TYPE, C_SCHEMA, C_VALUE,
    C_ORIGINAL_VALUE, C_DATASET, C_ORIGIN, C_LANG, C_EXTERNAL, C_FIRST_SEEN, C_LAST_SEEN,
    C_FRAGMENT, C_ROLE, C_SHARD, C_BUCKET, C_SOURCE, C_DELETED_AT, C_COUNT
} csv_col;

static const char *const COL_NAMES[C_COUNT] = {
    "id", "entity_id", "canonical_id", "prop", "prop_type", "schema", "value",
    "original_value", "dataset", "origin", "lang", "external", "first_seen", "last_seen",
    "fragment", "role", "shard", "bucket", "source", "deleted_at"};
static const csv_col LAKEHOUSE_COLS[] = {
    C_ID, C_ENTITY_ID, C_CANONICAL_ID, C_PROP, C_PROP_TYPE, C_SCHEMA, C_VALUE, C_ORIGINAL_VALUE,
    C_DATASET, C_ORIGIN, C_LANG, C_EXTERNAL, C_FIRST_SEEN, C_LAST_SEEN, C_FRAGMENT, C_ROLE};
static const csv_col FTM_COLS[] = {
    C_CANONICAL_ID, C_ENTITY_ID, C_PROP, C_PROP_TYPE, C_SCHEMA, C_VALUE, C_DATASET,
    C_ORIGIN, C_LANG, C_ORIGINAL_VALUE, C_EXTERNAL, C_FIRST_SEEN, C_LAST_SEEN, C_ID};

static const csv_col STORED_COLS[] = {
    C_SHARD, C_ID, C_ENTITY_ID, C_DATASET, C_BUCKET, C_ORIGIN, C_SOURCE, C_SCHEMA, C_PROP,
    C_PROP_TYPE, C_VALUE, C_ORIGINAL_VALUE, C_LANG, C_EXTERNAL, C_FIRST_SEEN, C_LAST_SEEN,
    C_FRAGMENT, C_ROLE, C_DELETED_AT};

#define NCOLS(a) (sizeof a / sizeof *a)

static void flavor_cols(lh_csv_flavor flavor, const csv_col **cols, size_t *n)
{
    switch (flavor) {
    case LH_CSV_FTM: *cols = FTM_COLS; *n = NCOLS(FTM_COLS); return;
    case LH_CSV_STORED: *cols = STORED_COLS; *n = NCOLS(STORED_COLS); return;
    case LH_CSV_LAKEHOUSE: break;
    }
    *cols = LAKEHOUSE_COLS;
    *n = NCOLS(LAKEHOUSE_COLS);
}

static const char *line_end(lh_csv_flavor flavor)
{
    return flavor == LH_CSV_STORED ? "\r\n" : "\n";
}

void lh_stmt_csv_header(lh_buf *out, lh_csv_flavor flavor)
{
    const csv_col *cols;
    size_t n;
    flavor_cols(flavor, &cols, &n);
    for (size_t i = 0; i < n; i++) {
        if (i) lh_buf_append_byte(out, ',');
        if (flavor == LH_CSV_STORED) lh_buf_append_str(out, COL_NAMES[cols[i]]);
        else lh_buf_append_csv_quoted(out, COL_NAMES[cols[i]]);
    }
    lh_buf_append_str(out, line_end(flavor));
}

static void csv_field(lh_buf *out, const lh_statement *s, csv_col col, lh_csv_flavor flavor)
{
    const char *v = NULL;
    char iso[LH_ISO_MAX];
    switch (col) {
    case C_EXTERNAL:
        /* followthemoney spells booleans with rigour's bool_text: "t"/"f". */
        if (flavor == LH_CSV_FTM) lh_buf_append_csv_quoted(out, s->external ? "t" : "f");
        else if (flavor == LH_CSV_STORED) lh_buf_append_str(out, s->external ? "True" : "False");
        else lh_buf_append_str(out, s->external ? "true" : "false");
        return;
    case C_FIRST_SEEN:
    case C_LAST_SEEN:
    case C_DELETED_AT: {
        int64_t ts = col == C_FIRST_SEEN  ? s->first_seen
                     : col == C_LAST_SEEN ? s->last_seen
                                          : s->deleted_at;
        if (ts != LH_TS_NULL) {
            lh_time_format_iso_py(ts, 1, iso);
            v = iso;
        }
        break;
    }
    case C_ID: v = s->id; break;
    case C_ENTITY_ID: v = s->entity_id; break;
    case C_CANONICAL_ID: v = s->canonical_id ? s->canonical_id : s->entity_id; break;
    case C_PROP: v = s->prop; break;
    case C_PROP_TYPE: v = s->prop_type; break;
    case C_SCHEMA: v = s->schema; break;
    case C_VALUE: v = s->value; break;
    case C_ORIGINAL_VALUE: v = s->original_value; break;
    case C_DATASET: v = s->dataset; break;
    case C_ORIGIN: v = s->origin; break;
    case C_LANG: v = s->lang; break;
    case C_FRAGMENT: v = s->fragment ? s->fragment : ""; break;
    case C_ROLE: v = s->role; break;
    case C_SHARD: v = s->shard; break;
    case C_BUCKET: v = s->bucket; break;
    case C_SOURCE: v = s->source; break;
    case C_COUNT: break;
    }
    if (v && flavor == LH_CSV_STORED) lh_buf_append_csv_minimal(out, v);
    else if (v) lh_buf_append_csv_quoted(out, v);
    else if (flavor == LH_CSV_FTM) lh_buf_append_str(out, "\"\"");
}

void lh_stmt_csv_row(lh_buf *out, const lh_statement *s, lh_csv_flavor flavor)
{
    const csv_col *cols;
    size_t n;
    flavor_cols(flavor, &cols, &n);
    for (size_t i = 0; i < n; i++) {
        if (i) lh_buf_append_byte(out, ',');
        csv_field(out, s, cols[i], flavor);
    }
    lh_buf_append_str(out, line_end(flavor));
}
