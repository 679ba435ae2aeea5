/* Statement CSV import: RFC 4180 records (quoted fields may span lines) mapped
 * by header name, re-keyed under the target dataset as the reference's
 * `statements import` does (see lh/model/stmt_io.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/model/keys.h"
#include "lh/model/stmt_io.h"

enum { C_ENTITY, C_PROP, C_SCHEMA, C_VALUE, C_LANG, C_ORIG, C_EXT, C_FIRST, C_LAST, C_ORIGIN,
       C_FRAGMENT, C_ROLE, C_N };
static const char *const COLS[C_N] = {"entity_id", "prop",      "schema", "value",
                                      "lang",      "original_value", "external", "first_seen",
                                      "last_seen", "origin",    "fragment", "role"};

struct lh_stmt_csv_reader {
    FILE *f;
    char *name;
    size_t lineno;   /* line breaks read */
    size_t recline;  /* first line of the current record */
    lh_buf rec;      /* field bytes, NUL-separated */
    size_t *offs;    /* field start offsets into rec */
    size_t nf, capf;
    int col[C_N];    /* field index per column, -1 = absent */
    bool header;
};

lh_stmt_csv_reader *lh_stmt_csv_reader_new(FILE *f, const char *name)
{
    lh_stmt_csv_reader *r = lh_calloc(1, sizeof *r);
    r->f = f;
    r->name = lh_strdup(name ? name : "-");
    lh_buf_init(&r->rec);
    return r;
}

void lh_stmt_csv_reader_free(lh_stmt_csv_reader *r)
{
    if (!r) return;
    free(r->name);
    free(r->offs);
    lh_buf_free(&r->rec);
    free(r);
}

size_t lh_stmt_csv_reader_lineno(const lh_stmt_csv_reader *r) { return r->recline; }

static void start_field(lh_stmt_csv_reader *r)
{
    r->offs = lh_grow(r->offs, &r->capf, r->nf + 1, sizeof *r->offs);
    r->offs[r->nf++] = r->rec.len;
}

/* Next character with universal newlines ("\r\n" and "\r" read as "\n"),
 * as the reference reads CSV in text mode: a CR inside a quoted value
 * arrives as LF there too. EOF at the end. */
static int next_char(lh_stmt_csv_reader *r)
{
    int c = getc(r->f);
    if (c == '\r') {
        int d = getc(r->f);
        if (d != '\n' && d != EOF) ungetc(d, r->f);
        c = '\n';
    }
    if (c == '\n') r->lineno++;
    return c;
}

/* Read one record; *got false at end of input. */
static lh_status read_record(lh_stmt_csv_reader *r, bool *got, lh_error *err)
{
    *got = false;
    lh_buf_reset(&r->rec);
    r->nf = 0;
    int c;
    /* skip blank lines between records */
    while ((c = next_char(r)) == '\n') {}
    if (c == EOF) {
        if (ferror(r->f))
            return lh_error_errno(err, LH_ERR_IO, errno ? errno : EIO, "%s:%zu: read", r->name,
                                  r->lineno + 1);
        return LH_OK;
    }
    r->recline = r->lineno + 1;
    start_field(r);
    bool quoted = false;
    for (; c != EOF; c = next_char(r)) {
        if (quoted) {
            if (c == '"') {
                int d = next_char(r);
                if (d == '"') {
                    lh_buf_append_byte(&r->rec, '"');
                    continue;
                }
                quoted = false;
                c = d;
                if (c == EOF) break;
            } else if (c != 0) {
                lh_buf_append_byte(&r->rec, (uint8_t)c);
                continue;
            }
        }
        if (c == 0) break;
        if (c == '"') quoted = true;
        else if (c == ',') {
            lh_buf_append_byte(&r->rec, 0);
            start_field(r);
        } else if (c == '\n') break;
        else lh_buf_append_byte(&r->rec, (uint8_t)c);
    }
    if (ferror(r->f))
        return lh_error_errno(err, LH_ERR_IO, errno ? errno : EIO, "%s:%zu: read", r->name,
                              r->lineno + 1);
    /* fields end in NUL here: one inside a value would cut it short */
    if (c == 0)
        return lh_error_set(err, LH_ERR_INVALID, "%s:%zu: a NUL byte in field %zu", r->name,
                            r->lineno + 1, r->nf);
    if (quoted)
        return lh_error_set(err, LH_ERR_INVALID, "%s:%zu: unterminated quoted field", r->name,
                            r->recline);
    if (!lh_utf8_valid(r->rec.data, r->rec.len))
        return lh_error_set(err, LH_ERR_INVALID, "%s:%zu: not valid UTF-8", r->name, r->recline);
    lh_buf_append_byte(&r->rec, 0);
    *got = true;
    return LH_OK;
}

static const char *field(lh_stmt_csv_reader *r, int c)
{
    int i = r->col[c];
    if (i < 0 || (size_t)i >= r->nf) return NULL;
    const char *v = r->rec.data + r->offs[i];
    return *v ? v : NULL; /* "" reads as absent, as the reference's `or None` */
}

static lh_status read_header(lh_stmt_csv_reader *r, lh_error *err)
{
    bool got;
    LH_TRY(read_record(r, &got, err));
    if (!got) return lh_error_set(err, LH_ERR_INVALID, "%s: empty statement CSV", r->name);
    for (int c = 0; c < C_N; c++) {
        r->col[c] = -1;
        for (size_t i = 0; i < r->nf; i++)
            if (!strcmp(r->rec.data + r->offs[i], COLS[c])) r->col[c] = (int)i;
    }
    for (int c = C_ENTITY; c <= C_SCHEMA; c++)
        if (r->col[c] < 0)
            return lh_error_set(err, LH_ERR_INVALID, "%s:1: %s: missing column", r->name, COLS[c]);
    r->header = true;
    return LH_OK;
}

static lh_status parse_ts(const char *v, const char *what, int64_t *out, lh_error *err)
{
    lh_error terr;
    if (lh_time_parse_iso(v, strlen(v), out, &terr) != LH_OK)
        return lh_error_set(err, LH_ERR_INVALID, "%s: %s", what, terr.msg);
    return LH_OK;
}

static lh_status convert(const lh_model *m, lh_stmt_csv_reader *r, const lh_explode_opts *o,
                         lh_stmt_batch *batch, lh_error *err)
{
    lh_statement s = {0};
    s.entity_id = field(r, C_ENTITY);
    s.prop = field(r, C_PROP);
    s.schema = field(r, C_SCHEMA);
    /* the reference refuses a row without schema or prop (and stores one
     * without entity_id, which no reader can use: refused here too) */
    for (int c = C_ENTITY; c <= C_SCHEMA; c++)
        if (!field(r, c)) return lh_error_set(err, LH_ERR_INVALID, "%s: empty", COLS[c]);
    const lh_schema *schema = lh_model_schema(m, s.schema);
    if (!schema) return lh_error_set(err, LH_ERR_INVALID, "schema: unknown schema %s", s.schema);
    LH_TRY(lh_model_prop_type(m, s.schema, s.prop, &s.prop_type, err));
    s.value = field(r, C_VALUE) ? field(r, C_VALUE) : "";
    s.lang = lh_type_has_lang(s.prop_type) ? field(r, C_LANG) : NULL;
    s.original_value = field(r, C_ORIG);
    if (s.original_value && !strcmp(s.original_value, s.value)) s.original_value = NULL;
    const char *ext = field(r, C_EXT);
    if (ext) {
        while (*ext == ' ' || *ext == '\t') ext++;
        size_t tail = strlen(ext);
        while (tail && (ext[tail - 1] == ' ' || ext[tail - 1] == '\t')) tail--;
        s.external = (tail == 4 && !strncasecmp(ext, "true", 4)) || (tail == 1 && ext[0] == '1');
    }
    s.first_seen = s.last_seen = LH_TS_NULL;
    if (field(r, C_FIRST)) LH_TRY(parse_ts(field(r, C_FIRST), "first_seen", &s.first_seen, err));
    if (field(r, C_LAST)) LH_TRY(parse_ts(field(r, C_LAST), "last_seen", &s.last_seen, err));
    if (s.last_seen == LH_TS_NULL) s.last_seen = s.first_seen;
    if (s.first_seen == LH_TS_NULL) s.first_seen = o->now;
    if (s.last_seen == LH_TS_NULL) s.last_seen = o->now;
    if (s.first_seen > s.last_seen) s.first_seen = s.last_seen;
    s.origin = o->override_origin ? NULL : field(r, C_ORIGIN);
    if (!s.origin) s.origin = o->origin ? o->origin : LH_DEFAULT_ORIGIN;
    if (lh_origin_check(s.origin, err) != LH_OK) return lh_error_prefix(err, "origin");
    s.fragment = field(r, C_FRAGMENT) ? field(r, C_FRAGMENT) : "";
    s.role = field(r, C_ROLE) ? field(r, C_ROLE) : o->role;
    char id[LH_SHA1_HEX_LEN + 1];
    lh_statement_key(o->dataset, s.entity_id, s.prop, s.value, s.lang, s.external, id);
    s.id = id;
    s.canonical_id = s.entity_id;
    s.dataset = o->dataset;
    s.bucket = lh_schema_bucket(schema);
    s.deleted_at = LH_TS_NULL;
    lh_stmt_batch_push(batch, &s);
    return LH_OK;
}

lh_status lh_stmt_csv_next(const lh_model *m, lh_stmt_csv_reader *r, const lh_explode_opts *opts,
                           lh_stmt_batch *batch, bool *got, lh_error *err)
{
    *got = false;
    if (!opts || !opts->dataset || !*opts->dataset)
        return lh_error_set(err, LH_ERR_INVALID, "statements: no target dataset");
    if (!r->header) LH_TRY(read_header(r, err));
    bool have;
    LH_TRY(read_record(r, &have, err));
    if (!have) return LH_OK;
    lh_status rc = convert(m, r, opts, batch, err);
    if (rc != LH_OK) return lh_error_prefix(err, "%s:%zu", r->name, r->recline);
    *got = true;
    return LH_OK;
}
