/* Statement and entity text IO: a streaming line reader for FtM JSON lines
 * (line numbers for errors), statements as JSON lines, and the two statement
 * CSV dialects of the reference.
 *
 * Timestamps are written as Python's isoformat() of an aware UTC datetime
 * ("2024-05-01T12:00:00+00:00", ".ffffff" only when non-zero), the form the
 * reference's exports carry. */
#ifndef LH_MODEL_STMT_IO_H
#define LH_MODEL_STMT_IO_H

#include <stdbool.h>
#include <stdio.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/model/entity.h"
#include "lh/model/statement.h"

/* ---- line reader ---- */
typedef struct lh_line_reader lh_line_reader;
/* Reads f (not closed); name is used in error messages. */
lh_line_reader *lh_line_reader_new(FILE *f, const char *name);
void lh_line_reader_free(lh_line_reader *r);
/* Next line without its "\n" (or "\r\n"); *line is NULL at end of input.
 * Valid until the next call. Blank lines are skipped. */
lh_status lh_line_reader_next(lh_line_reader *r, const char **line, size_t *len, lh_error *err);
size_t lh_line_reader_lineno(const lh_line_reader *r); /* 1-based, of the last line */
const char *lh_line_reader_name(const lh_line_reader *r);

/* Explode every entity line of r into batch; on a bad line the error reads
 * "name:line: field: what" and the batch holds only the complete entities
 * before it. */
lh_status lh_entities_explode_lines(const lh_model *m, lh_line_reader *r,
                                    const lh_explode_opts *opts, lh_stmt_batch *batch,
                                    lh_error *err);

/* ---- statements as JSON lines ---- */
/* One object per statement, the physical columns in table order (shard
 * omitted when NULL), NULL as null, timestamps as ISO text; ends with "\n". */
void lh_stmt_write_json(lh_buf *out, const lh_statement *s);
/* Parse one such line (shard/role/fragment/deleted_at optional) into batch. */
lh_status lh_stmt_parse_json(const char *text, size_t n, lh_stmt_batch *batch, lh_error *err);

/* ---- statement CSV ---- */
typedef enum lh_csv_flavor {
    /* ftm-lakehouse exports/statements.csv: id, entity_id, canonical_id, prop,
     * prop_type, schema, value, original_value, dataset, origin, lang,
     * external, first_seen, last_seen, fragment, role; strings quoted, NULL
     * empty, external bare true/false (pyarrow's CSV writer). */
    LH_CSV_LAKEHOUSE,
    /* followthemoney's statement CSV: canonical_id, entity_id, prop,
     * prop_type, schema, value, dataset, origin, lang, original_value,
     * external, first_seen, last_seen, id; every field quoted. */
    LH_CSV_FTM,
    /* The stored columns in table order, as the reference's `statements
     * iterate` prints them (Python's csv writer): shard, id, entity_id,
     * dataset, bucket, origin, source, schema, prop, prop_type, value,
     * original_value, lang, external, first_seen, last_seen, fragment,
     * role, deleted_at; quoted only where needed, NULL empty, external
     * True/False, timestamps isoformat() with +00:00, lines end in CRLF. */
    LH_CSV_STORED,
} lh_csv_flavor;

void lh_stmt_csv_header(lh_buf *out, lh_csv_flavor flavor);
void lh_stmt_csv_row(lh_buf *out, const lh_statement *s, lh_csv_flavor flavor);

/* Statement CSV import (either dialect; columns found by header name;
 * entity_id, prop and schema columns required), as the reference's
 * `statements import`: the id is re-derived under opts->dataset (a carried
 * id and dataset are ignored), prop_type comes from the model (unknown
 * schema/prop is an error), lang is dropped for non-linguistic types, empty
 * fields read as absent, external is "true"/"1", last_seen defaults to
 * first_seen, both to opts->now, first_seen is clamped to last_seen, origin
 * defaults to opts->origin (forced with override_origin), role to opts->role.
 * Rows without entity_id, prop or schema are skipped. Newlines are
 * universal ("\r\n" and "\r" read as "\n", inside quoted values too), as
 * the reference reads CSV in text mode. */
typedef struct lh_stmt_csv_reader lh_stmt_csv_reader;
lh_stmt_csv_reader *lh_stmt_csv_reader_new(FILE *f, const char *name);
void lh_stmt_csv_reader_free(lh_stmt_csv_reader *r);
/* Append the next statement to batch (*got true), or *got false at the end.
 * Errors read "name:line: field: what"; nothing is appended then. */
lh_status lh_stmt_csv_next(const lh_model *m, lh_stmt_csv_reader *r, const lh_explode_opts *opts,
                           lh_stmt_batch *batch, bool *got, lh_error *err);
size_t lh_stmt_csv_reader_lineno(const lh_stmt_csv_reader *r); /* first line of the last record */

#endif
