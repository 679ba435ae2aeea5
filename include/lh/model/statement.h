/* Statement: one value of one property of one entity, the row of both the
 * journal and the parquet table. Physical columns and their order follow the
 * reference ftm-lakehouse 0.9.0 (shard, ftmq's columns minus canonical_id,
 * fragment, role, deleted_at). canonical_id is not stored: it always equals
 * entity_id in a lakehouse dataset; it is kept here for statement CSV IO.
 *
 * Strings are NUL-terminated UTF-8; NULL means SQL NULL (only the nullable
 * columns: canonical_id, source, prop_type, original_value, lang, role).
 * Timestamps are microseconds since the epoch, UTC; LH_TS_NULL means NULL. */
#ifndef LH_MODEL_STATEMENT_H
#define LH_MODEL_STATEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"

#define LH_TS_NULL INT64_MIN

typedef struct lh_statement {
    const char *shard;
    const char *id;
    const char *entity_id;
    const char *canonical_id;
    const char *dataset;
    const char *bucket;
    const char *origin;
    const char *source;
    const char *schema;
    const char *prop;
    const char *prop_type;
    const char *value;
    const char *original_value;
    const char *lang;
    bool external;
    int64_t first_seen;
    int64_t last_seen;
    const char *fragment; /* "" = none, never NULL */
    const char *role;     /* who asserted it; NULL = none ("" collapses to NULL) */
    int64_t deleted_at;   /* LH_TS_NULL = live */
} lh_statement;

/* Physical column ids in table order (parquet and journal). */
typedef enum lh_stmt_col {
    LH_COL_SHARD,
    LH_COL_ID,
    LH_COL_ENTITY_ID,
    LH_COL_DATASET,
    LH_COL_BUCKET,
    LH_COL_ORIGIN,
    LH_COL_SOURCE,
    LH_COL_SCHEMA,
    LH_COL_PROP,
    LH_COL_PROP_TYPE,
    LH_COL_VALUE,
    LH_COL_ORIGINAL_VALUE,
    LH_COL_LANG,
    LH_COL_EXTERNAL,
    LH_COL_FIRST_SEEN,
    LH_COL_LAST_SEEN,
    LH_COL_FRAGMENT,
    LH_COL_ROLE,
    LH_COL_DELETED_AT,
    LH_STMT_NCOLS
} lh_stmt_col;

/* A batch of statements whose strings live in the batch's arena, or in
 * the arenas of batches it holds: the batch owns everything,
 * lh_stmt_batch_free releases it. */
typedef struct lh_stmt_batch {
    lh_statement *rows;
    size_t len;
    size_t cap;
    lh_arena arena;
    struct lh_stmt_batch **held; /* see lh_stmt_batch_hold */
    size_t num_held, held_cap;
    size_t held_bytes;
} lh_stmt_batch;

void lh_stmt_batch_init(lh_stmt_batch *b);
void lh_stmt_batch_free(lh_stmt_batch *b);
void lh_stmt_batch_clear(lh_stmt_batch *b); /* keeps capacity */
/* Deep-copy s into the batch (strings copied into the arena). */
lh_statement *lh_stmt_batch_push(lh_stmt_batch *b, const lh_statement *s);
/* Append s as is: its strings must outlive the batch's rows (see hold). */
lh_statement *lh_stmt_batch_push_shallow(lh_stmt_batch *b, const lh_statement *s);
/* Take other (heap-allocated, lh_malloc) and free it when b is cleared or
 * freed: rows pushed shallowly from other's rows stay valid as long as b's. */
void lh_stmt_batch_hold(lh_stmt_batch *b, lh_stmt_batch *other);
/* Bytes of strings the batch owns, its own and those of batches it holds. */
size_t lh_stmt_batch_bytes(const lh_stmt_batch *b);
/* Set the shard of rows [from, len) from their entity_id for a dataset with
 * `shards` shards (lh_shard_key in lh/model/keys.h). */
void lh_stmt_batch_assign_shards(lh_stmt_batch *b, size_t from, int shards);
/* The row identities of a batch being filled (id, origin, fragment, role;
 * NULL and "" roles alike), to keep one row per identity as the
 * reference's write buffer (a dict by dedupe_key) does: the last row given,
 * in the place of the first. */
typedef struct lh_stmt_index lh_stmt_index;
lh_stmt_index *lh_stmt_index_new(void);
void lh_stmt_index_free(lh_stmt_index *x);
/* Forget every identity: the batch was handed on or cleared. */
void lh_stmt_index_reset(lh_stmt_index *x);
/* Fold the rows [from, len) of b, just added, into the batch: one whose
 * identity an earlier row has replaces that row and leaves the end.
 * Rows [0, from) must be the ones folded since the last reset. Returns
 * the rows dropped. */
size_t lh_stmt_index_fold(lh_stmt_index *x, lh_stmt_batch *b, size_t from);

#endif
