/* Entity filters in the reference CLI's two grammars, `-q` (ftmq's Aleph
 * params, `filter:schema=Person&filter:group.countries=ru`) and `--rql`
 * (pyrql's RQL, `and(eq(schema,Person),or(eq(group.countries,de),
 * eq(group.countries,at)))`), parsed into ftmq's filter tree and evaluated
 * on one entity's statements as ftmq evaluates it over a statement table:
 *
 * - `filter:FIELD=V` (a key given twice: any of its values), `exclude:...`
 *   (no row matches: entities without the field are kept), `empty:FIELD`
 *   (no row of that property or group), and `filter:OP:FIELD=V` with OP
 *   gte, gt, lte, lt (byte-wise, as strings), like / ilike (contains;
 *   ilike folds ASCII case), startswith, endswith.
 * - FIELD: `schema` (a row of that schema), `schemata` (a row whose schema
 *   is it or a non-abstract descendant), `dataset`, `id` / `_id` /
 *   `entity_id`, `canonical_id`, `properties.NAME` (a row of that property
 *   with a matching value), `group.NAME` (a row of the group's property
 *   type with a matching value).
 * - Leaves AND; bounds (gte/gt/lte/lt) on one property or group hold of
 *   one row together, every other leaf of some row of its own.
 * - RQL adds or(), not(), `(a|b)`, ne / out (some row of the field with
 *   another value; on schema and schemata: no row of them), in / out over
 *   an array `(a,b)`, contains (= like), `*` dropped from like values;
 *   values converted as pyrql converts them (`007` reads 7, `true` True),
 *   bare field names read as properties.
 *
 * - `-q` also takes ftmq's order and slice: `sort=properties.NAME[:desc]`
 *   (by the entity's least value of the property, its greatest when
 *   descending, numbers of number properties as DuckDB casts them;
 *   entities without one last, ties by id), `limit=N`, `offset=N`
 *   (without sort: by entity id).
 *
 * - `context.NAME`: a column of the statement row (origin, lang, fragment,
 *   source, role, original_value, value, prop, prop_type, schema, dataset,
 *   bucket, shard, id, entity_id; external as a boolean); a NULL column
 *   matches nothing. In one conjunction the leaves on the row's own
 *   columns (these and dataset) hold of one row together, unless a field
 *   has several leaves that are not all bounds.
 *
 * Refused, naming what: facets, metrics, select, aggregations, the
 * timestamp columns, `year`, sort by anything but a property, null
 * values, typed values other than string:, number:, boolean:, and any
 * other key or operator. Values are percent-decoded. */
#ifndef LH_MODEL_EQUERY_H
#define LH_MODEL_EQUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/model/model.h"
#include "lh/model/statement.h"

typedef struct lh_equery lh_equery;

/* LH_ERR_INVALID naming the parameter when text is not understood. */
lh_status lh_equery_parse(const lh_model *m, const char *text, lh_equery **out, lh_error *err);
/* The same for RQL text; empty text (or a top-level `and()`) filters
 * nothing. */
lh_status lh_equery_parse_rql(const lh_model *m, const char *text, lh_equery **out,
                              lh_error *err);
void lh_equery_free(lh_equery *q);

/* The filter tree as JSON in the shape of ftmq's Expr.to_dict (children in
 * byte order of their JSON), `null` when there is none. */
void lh_equery_describe(const lh_equery *q, lh_buf *out);

/* Whether the entity of rows (its live statements) matches. */
bool lh_equery_match(const lh_equery *q, const lh_statement *rows, size_t n);
/* The same as an lh_pstore_filter match callback (ctx is the query). */
bool lh_equery_match_cb(const void *ctx, const lh_statement *rows, size_t n);

/* The order and slice of a query's matches. */
typedef struct lh_equery_order {
    const char *sort_prop; /* NULL: by entity id */
    bool descending;
    bool numeric;          /* sort_prop is a number property */
    int64_t limit;         /* -1: none */
    int64_t offset;
} lh_equery_order;

/* The query's order and slice; false when it has neither (matches come in
 * the store's order). */
bool lh_equery_order_of(const lh_equery *q, lh_equery_order *out);

/* DuckDB's TRY_CAST(v AS NUMERIC), a DECIMAL(18,3), as thousandths
 * (rounded half away from zero); false when v is not such a number. */
bool lh_equery_numeric(const char *v, int64_t *milli);

/* Schema names every matching entity has a row of (a positive schema or
 * schemata leaf), for a store to read only their rows' partitions; NULL
 * when the query does not restrict schemata. */
const char *const *lh_equery_schemata(const lh_equery *q, size_t *n);
/* The entity ids every match is one of (a positive id or entity_id leaf
 * of the top-level conjunction), NULL when the query names none: a store
 * reads just their shards, and each whole. */
const char *const *lh_equery_ids(const lh_equery *q, size_t *n);
/* A row every matching entity has: of property *prop (or of property type
 * *prop_type; the other is NULL) with value *value, from the first positive
 * leaf equal to one value of a property or group; false when there is
 * none. A store can decode only the entities with such a row. */
bool lh_equery_value_row(const lh_equery *q, const char **prop, const char **prop_type,
                         const char **value);

#endif
