/* FtM entities <-> statements.
 *
 * Explode: one FtM entity JSON object (one line of an .ftm.json file) becomes
 * the statements `ftm-lakehouse entities import` writes for it: one per
 * distinct (property, value), re-keyed under the target dataset, plus the
 * "id" checksum statement (sha1 of the schema name and the sorted statement
 * ids). As the reference import does:
 *  - the entity id and every entity-typed value lose a namespace signature
 *    (the part after the last '.'), are trimmed and must match FtM's entity
 *    id pattern; an invalid entity id is an error, invalid references are
 *    dropped, a reference to the entity itself is an error;
 *  - other values are taken as they are (no type cleaning); every property
 *    must be a list of strings (the reference fails on anything else), empty
 *    strings are dropped, repeated values count once;
 *  - first_seen = last_seen = the entity's last_change if present, else
 *    opts->now (the entity's own first_seen/last_seen are ignored);
 *  - origin: opts->origin if override_origin, else the entity's single
 *    "origin" value, else opts->origin; fragment and role likewise from the
 *    entity's single "fragment"/"role" values (role falls back to opts->role).
 * Malformed input is LH_ERR_INVALID naming the field ("properties.name: ..."),
 * and then nothing is appended to the batch.
 *
 * Aggregate: statements of consecutive entities (sorted by entity_id) fold
 * into one FtM entity JSON line each, byte-identical to the lines of the
 * reference's entities.ftm.json export: keys id, caption, schema,
 * properties (sorted names, sorted values), referents, datasets, origin,
 * role, first_seen, last_seen, last_change; compact JSON, UTF-8 unescaped. */
#ifndef LH_MODEL_ENTITY_H
#define LH_MODEL_ENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/model/model.h"
#include "lh/model/statement.h"

enum {
    /* Skip properties the schema does not know, as the reference does
     * silently; without it they are an error. */
    LH_EXPLODE_SKIP_UNKNOWN = 1,
};

/* What an explode dropped under LH_EXPLODE_SKIP_UNKNOWN, to be told. */
typedef struct lh_explode_skipped {
    uint64_t properties; /* unknown properties dropped (each with its values) */
    char first[160];     /* the first one dropped, as Schema.property */
} lh_explode_skipped;

typedef struct lh_explode_opts {
    const char *dataset;  /* target dataset: stamped on and hashed into every row */
    const char *origin;   /* default origin (LH_BULK_ORIGIN for an import) */
    bool override_origin; /* force origin over the entity's own */
    const char *role;     /* default role, or NULL */
    int64_t now;          /* µs UTC: timestamp for entities without last_change */
    int64_t started;      /* µs UTC: their first_seen, when not `now` (0: `now`) */
    int flags;            /* LH_EXPLODE_* */
    lh_explode_skipped *skipped; /* counts what SKIP_UNKNOWN drops, or NULL */
} lh_explode_opts;

/* Explode the JSON object text[0..n) into batch (appended; shard left NULL,
 * canonical_id = entity_id, bucket/prop_type from the model). */
lh_status lh_entity_explode(const lh_model *m, const char *text, size_t n,
                            const lh_explode_opts *opts, lh_stmt_batch *batch, lh_error *err);

/* Validate an origin as the reference does: lh_name_check (core/str.h) with
 * quotes forbidden. */
lh_status lh_origin_check(const char *origin, lh_error *err);

enum {
    /* What `entities iterate` prints (followthemoney StatementEntity.to_dict):
     * keys id, caption, schema, referents, datasets, origin, first_seen,
     * last_seen, last_change, properties; no role; caption from the caption
     * property's statement with the smallest id. Differences that remain:
     * the reference prints values in set order (ours stay sorted). A
     * name-typed caption property with several statements is captioned as
     * rigour's pick_lang_name picks (English statements first, then those
     * of no or a preferred language; lh_pick_name). */
    LH_AGG_CONTEXT_ORDER = 1,
};

typedef struct lh_aggregator lh_aggregator;

lh_aggregator *lh_aggregator_new(const lh_model *m, int flags);
void lh_aggregator_free(lh_aggregator *a);
/* Feed one statement (tombstones must be filtered out by the caller). When
 * s starts a new entity, the previous entity's line ("{...}\n") is appended
 * to out. LH_ERR_INVALID for statements out of entity order is not detected:
 * unsorted input yields one line per run of equal entity_id. */
lh_status lh_aggregator_add(lh_aggregator *a, const lh_statement *s, lh_buf *out,
                            lh_error *err);
/* Emit the last entity, if any; the aggregator can then be reused. */
lh_status lh_aggregator_finish(lh_aggregator *a, lh_buf *out, lh_error *err);
/* Entities emitted so far. */
size_t lh_aggregator_count(const lh_aggregator *a);

#endif
