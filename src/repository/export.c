/* Exports: statements.csv (the model's lakehouse CSV dialect) and
 * entities.ftm.json (aggregated entities), streamed pair by pair. */
#include "lh/repository/export.h"

#include <errno.h>
#include <string.h>

#include "lh/model/stmt_io.h"

typedef struct sink {
    lh_storage_writer *w;
    FILE *f;
    const char *what; /* for errors: "statements", "entities" */
    lh_buf buf;
    uint64_t rows;
    lh_csv_flavor flavor; /* of statement rows */
} sink;

static lh_status drain(sink *s, lh_error *err)
{
    if (!s->buf.len) return LH_OK;
    lh_status rc = LH_OK;
    if (s->w)
        rc = lh_storage_writer_write(s->w, s->buf.data, s->buf.len, err);
    else if (fwrite(s->buf.data, 1, s->buf.len, s->f) != s->buf.len)
        rc = lh_error_errno(err, LH_ERR_IO, errno, "writing %s", s->what);
    lh_buf_reset(&s->buf);
    return rc;
}

static lh_status on_rows(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    sink *s = ctx;
    /* the reference's `statements iterate` writes a header with its first row */
    if (s->flavor == LH_CSV_STORED && !s->rows && n) lh_stmt_csv_header(&s->buf, s->flavor);
    for (size_t i = 0; i < n; i++) lh_stmt_csv_row(&s->buf, &rows[i], s->flavor);
    s->rows += n;
    return s->buf.len > (1u << 20) ? drain(s, err) : LH_OK;
}

static lh_status run(lh_pstore *ps, sink *s, lh_error *err)
{
    if (s->flavor != LH_CSV_STORED) lh_stmt_csv_header(&s->buf, s->flavor);
    lh_status rc = lh_pstore_query_statements(ps, NULL, on_rows, s, err);
    if (rc == LH_OK) rc = drain(s, err);
    return rc;
}

lh_status lh_export_statements(lh_pstore *ps, lh_storage *st, const char *key,
                               lh_stream_codec codec, uint64_t *rows, lh_error *err)
{
    sink s = {.what = "statements"};
    LH_TRY(lh_stream_writer_open(st, key, codec, &s.w, err));
    lh_status rc = run(ps, &s, err);
    if (rc == LH_OK) rc = lh_storage_writer_commit(s.w, err);
    lh_storage_writer_free(s.w);
    lh_buf_free(&s.buf);
    *rows = s.rows;
    return rc;
}

lh_status lh_export_statements_file(lh_pstore *ps, FILE *out, lh_csv_flavor flavor,
                                    uint64_t *rows, lh_error *err)
{
    sink s = {.what = "statements", .flavor = flavor};
    s.f = out;
    lh_status rc = run(ps, &s, err);
    lh_buf_free(&s.buf);
    *rows = s.rows;
    return rc;
}

typedef struct entity_sink {
    sink out;
    lh_aggregator *agg;
    const lh_export_entities_opts *o;
} entity_sink;

static lh_status on_entity(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    entity_sink *e = ctx;
    const lh_export_entities_opts *o = e->o;
    if (o->also) LH_TRY(o->also(o->also_ctx, rows, n, err));
    if (o->statements) *o->statements += n;
    size_t start = e->out.buf.len;
    for (size_t i = 0; i < n; i++) LH_TRY(lh_aggregator_add(e->agg, &rows[i], &e->out.buf, err));
    LH_TRY(lh_aggregator_finish(e->agg, &e->out.buf, err));
    size_t len = e->out.buf.len - start;
    if (len && e->out.buf.data[start + len - 1] == '\n') len--;
    /* an entity without a resolvable schema writes no line, nor a diff entry */
    if (o->diff && len) LH_TRY(lh_diff_entity(o->diff, rows, n, e->out.buf.data + start, len, err));
    if (o->docs && len) LH_TRY(lh_docs_entity(o->docs, rows, n, e->out.buf.data + start, len, err));
    e->out.rows++;
    if (o->progress) o->progress(o->progress_ctx, 1);
    return e->out.buf.len > (1u << 20) ? drain(&e->out, err) : LH_OK;
}

lh_status lh_export_entities(lh_pstore *ps, const lh_model *m, const lh_pstore_filter *q,
                             int agg_flags, lh_storage *st, const char *key, FILE *f,
                             lh_progress_fn progress, void *progress_ctx, uint64_t *entities,
                             lh_error *err)
{
    lh_export_entities_opts o = {.q = q,
                                 .agg_flags = agg_flags,
                                 .st = st,
                                 .key = key,
                                 .f = f,
                                 .progress = progress,
                                 .progress_ctx = progress_ctx};
    return lh_export_entities_with(ps, m, &o, entities, err);
}

lh_status lh_export_entities_with(lh_pstore *ps, const lh_model *m,
                                  const lh_export_entities_opts *o, uint64_t *entities,
                                  lh_error *err)
{
    entity_sink e = {.out.what = "entities", .o = o};
    e.out.f = o->f;
    *entities = 0;
    if (o->key) LH_TRY(lh_stream_writer_open(o->st, o->key, o->codec, &e.out.w, err));
    e.agg = lh_aggregator_new(m, o->agg_flags);
    lh_status rc = lh_pstore_query(ps, o->q, on_entity, &e, err);
    if (rc == LH_OK) rc = drain(&e.out, err);
    if (rc == LH_OK && e.out.w) rc = lh_storage_writer_commit(e.out.w, err);
    lh_storage_writer_free(e.out.w);
    lh_aggregator_free(e.agg);
    lh_buf_free(&e.out.buf);
    *entities = e.out.rows;
    return rc;
}
