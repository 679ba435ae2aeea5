/* Private to the journal: the backend vtable (SQLite, PostgreSQL) and the
 * helpers both backends share. */
#ifndef LH_STORAGE_JOURNAL_IMPL_H
#define LH_STORAGE_JOURNAL_IMPL_H

#include "lh/core/buf.h"
#include "lh/core/str.h"
#include "lh/storage/journal.h"

/* Statement columns in the reference JOURNAL_SCHEMA order, then our shard. */
enum {
    JCOL_ID, JCOL_ENTITY_ID, JCOL_DATASET, JCOL_BUCKET, JCOL_ORIGIN, JCOL_SOURCE,
    JCOL_SCHEMA, JCOL_PROP, JCOL_PROP_TYPE, JCOL_VALUE, JCOL_ORIGINAL_VALUE, JCOL_LANG,
    JCOL_EXTERNAL, JCOL_FIRST_SEEN, JCOL_LAST_SEEN, JCOL_FRAGMENT, JCOL_ROLE,
    JCOL_DELETED_AT, JCOL_SHARD, JCOL_COUNT
};
extern const char *const lh_journal_col_names[JCOL_COUNT];
/* "\"id\", \"entity_id\", ..., \"shard\"" */
extern const char lh_journal_col_list[];

typedef struct lh_journal_ops {
    lh_status (*insert)(lh_journal *j, const lh_statement *rows, size_t n, lh_error *err);
    /* Segment table names, sorted byte-wise (oldest first). */
    lh_status (*segments)(lh_journal *j, lh_strlist *out, lh_error *err);
    /* Rename the live table to seg and recreate it, atomically, if it has rows. */
    lh_status (*rotate)(lh_journal *j, const char *seg, bool *rotated, lh_error *err);
    /* Stream table's rows to fn; entity_ids (a JSON array of strings; NULL:
     * every row) limits to those entities' live rows, filtered in the
     * database; ordered sorts by shard, entity_id, id. */
    lh_status (*scan)(lh_journal *j, const char *table, const char *entity_ids, bool ordered,
                      size_t batch_size, lh_journal_consumer fn, void *ctx,
                      lh_journal_flush_stats *stats, lh_error *err);
    lh_status (*drop)(lh_journal *j, const char *table, lh_error *err);
    /* Optional: the error an insert would give, before any is tried (the
     * live table made if it can be). */
    lh_status (*writable)(lh_journal *j, lh_error *err);
    /* Optional: a name for a segment whose own name the server cut (its
     * rotation stamp gone), unique while the segment exists; *out malloc'd. */
    lh_status (*segment_key)(lh_journal *j, const char *segment, char **out, lh_error *err);
    lh_status (*count)(lh_journal *j, const char *table, int64_t *out, lh_error *err);
    lh_status (*delete_live)(lh_journal *j, lh_error *err);
    /* Optional (NULL on postgres): one read snapshot for a count/iterate. */
    lh_status (*read_begin)(lh_journal *j, lh_error *err);
    void (*read_end)(lh_journal *j);
    /* The dataset's flush lock (blocking); dies with the process. */
    lh_status (*lock)(lh_journal *j, lh_error *err);
    void (*unlock)(lh_journal *j);
    void (*free)(lh_journal *j);
} lh_journal_ops;

struct lh_journal {
    const lh_journal_ops *ops;
    char *dataset;
    char *table;      /* journal_{dataset} */
    char *seg_prefix; /* journal_{dataset}-seg- */
    int busy_ms;
    bool relaxed_sync;
    int shards;
    bool postgres;
    bool memory; /* SQLite ":memory:": the rows die with the handle */
    bool existing; /* SQLite: a missing file is LH_ERR_NOT_FOUND, not made */
    bool busy; /* inside flush/iterate: the consumer must not reuse this handle */
};

/* Backend constructors: fill *out (a struct embedding lh_journal first). */
lh_status lh_journal_sqlite_open(const char *path, lh_journal **out, lh_journal *proto,
                                 lh_error *err);
lh_status lh_journal_pg_open(const char *conninfo, lh_journal **out, lh_journal *proto,
                             lh_error *err);

/* Copy the header fields of proto into j (which takes their ownership). */
void lh_journal_init_base(lh_journal *j, const lh_journal_ops *ops, lh_journal *proto);
void lh_journal_free_base(lh_journal *j);

/* Append "quoted" identifier (names are validated to contain no quote). */
void lh_journal_quote(lh_buf *b, const char *ident);

/* Column values as text (NULL = SQL NULL) with the timestamps as µs, the
 * shape both backends read rows in; pushes one row into batch. */
typedef struct lh_journal_rowtext {
    const char *v[JCOL_COUNT];
    bool external;
    int64_t first_seen, last_seen, deleted_at;
} lh_journal_rowtext;
void lh_journal_push_row(lh_stmt_batch *batch, const lh_journal_rowtext *r);

/* CREATE TABLE of a journal table: the reference's journal_table as
 * SQLAlchemy renders it, with ts_type for its timestamps (the one thing the
 * dialects render differently). */
void lh_journal_create_sql(lh_buf *b, const char *table, bool if_not_exists, const char *ts_type);

/* Hand a scan's batch to fn and count it; the batch is empty afterwards. */
lh_status lh_journal_hand_over(lh_stmt_batch *batch, lh_journal_consumer fn, void *ctx,
                               lh_journal_flush_stats *stats, lh_error *err);

/* LH_ERR_INVALID when a required column of rows[i] is NULL. */
lh_status lh_journal_check_row(const lh_statement *s, size_t i, lh_error *err);

#endif
