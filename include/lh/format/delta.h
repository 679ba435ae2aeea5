/* Delta Lake transaction log (protocol reader 1 / writer 2 subset) on the
 * storage backend: create tables, replay the log (JSON commits and V1
 * checkpoints) into snapshots at any version, build and commit transactions
 * with optimistic concurrency (put-if-absent of the next version, conflict
 * checks against the winners, bounded retries), checkpoints and vacuum.
 *
 * A table lives under a key prefix of a storage ("ds/entities/statements");
 * its log is "<prefix>/_delta_log/". Generic: no knowledge of FtM.
 *
 * Paths: the log stores add.path URI-encoded; this API always gives and takes
 * the decoded path relative to the table root (the storage key suffix), and
 * keeps the log's exact string in raw_path so removes echo it byte for byte.
 * Partition values always come from the log, never from directory names. */
#ifndef LH_FORMAT_DELTA_H
#define LH_FORMAT_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"

#define LH_DELTA_LATEST (-1)   /* version argument: newest version */
#define LH_DELTA_MAX_RETRIES 15 /* commit attempts before LH_ERR_CONFLICT */
#define LH_DELTA_MAX_RETRIES_APPEND 200 /* same for blind appends (never conflict) */
#define LH_DELTA_CHECKPOINT_INTERVAL 100

/* String map entry (partitionValues, configuration). value NULL = JSON null. */
typedef struct lh_delta_kv {
    const char *key;
    const char *value;
} lh_delta_kv;

/* Owned string map; entries in log order. */
typedef struct lh_delta_map {
    lh_delta_kv *items; /* key/value strings owned by the map */
    size_t len;
} lh_delta_map;

/* Value of key; *found (may be NULL) tells absent from JSON null. */
const char *lh_delta_map_get(const lh_delta_map *m, const char *key, bool *found);

/* One column of the table schema. type is the Delta primitive name
 * ("string", "timestamp", "boolean", "long", "integer", "double", "date",
 * "binary", "decimal(p,s)") or, for nested types, their compact JSON. */
typedef struct lh_delta_field {
    const char *name;
    const char *type;
    bool nullable;
} lh_delta_field;

typedef struct lh_delta_protocol {
    int min_reader_version;
    int min_writer_version;
    lh_strlist reader_features;
    lh_strlist writer_features;
} lh_delta_protocol;

typedef struct lh_delta_metadata {
    char *id;
    char *name;        /* NULL if absent/null */
    char *description; /* NULL if absent/null */
    char *schema_string;
    lh_delta_field *fields; /* parsed from schema_string; strings owned */
    size_t num_fields;
    lh_strlist partition_columns;
    lh_delta_map configuration;
    int64_t created_time; /* ms; -1 if absent */
} lh_delta_metadata;

/* The schema field named name, or NULL. */
const lh_delta_field *lh_delta_metadata_field(const lh_delta_metadata *m, const char *name);

/* A live file (add) or a tombstone (remove) of a snapshot. */
typedef struct lh_delta_file {
    char *path;     /* decoded, relative to the table root (storage key suffix) */
    char *raw_path; /* exactly as in the log (URI-encoded) */
    lh_delta_map partition_values;
    int64_t size;              /* bytes; -1 if absent (removes) */
    int64_t modification_time; /* ms; adds */
    int64_t deletion_timestamp; /* ms; removes, -1 if absent */
    bool data_change;
    char *stats;     /* JSON text or NULL */
    int64_t version; /* commit that added (or removed) it; checkpoint version if from one */
    lh_delta_map tags; /* an add's tags (other writers' annotations), kept for checkpoints */
} lh_delta_file;

/* ---------------------------------------------------------------- reading */

/* True when the table has a log (any commit or checkpoint). */
lh_status lh_delta_exists(lh_storage *st, const char *prefix, bool *exists, lh_error *err);
/* Newest version (from the log listing); LH_ERR_NOT_FOUND if no table. */
lh_status lh_delta_latest_version(lh_storage *st, const char *prefix, int64_t *version,
                                  lh_error *err);

typedef struct lh_delta_snapshot lh_delta_snapshot;

/* Replay the log up to version (LH_DELTA_LATEST = newest): newest complete
 * checkpoint <= version, then the JSON commits after it. LH_ERR_NOT_FOUND if
 * the table or the version does not exist; LH_ERR_CORRUPT names the commit
 * version and line (or checkpoint) of malformed or unsafe actions;
 * LH_ERR_UNSUPPORTED for protocol features this reader lacks. */
lh_status lh_delta_snapshot_load(lh_storage *st, const char *prefix, int64_t version,
                                 lh_delta_snapshot **out, lh_error *err);
void lh_delta_snapshot_free(lh_delta_snapshot *s);

int64_t lh_delta_snapshot_version(const lh_delta_snapshot *s);
const char *lh_delta_snapshot_prefix(const lh_delta_snapshot *s);
const lh_delta_protocol *lh_delta_snapshot_protocol(const lh_delta_snapshot *s);
const lh_delta_metadata *lh_delta_snapshot_metadata(const lh_delta_snapshot *s);
/* Live files, sorted by path. */
size_t lh_delta_snapshot_num_files(const lh_delta_snapshot *s);
const lh_delta_file *lh_delta_snapshot_file(const lh_delta_snapshot *s, size_t i);
/* Live file by decoded path, or NULL. */
const lh_delta_file *lh_delta_snapshot_find(const lh_delta_snapshot *s, const char *path);
/* Tombstones (removes not re-added), sorted by path. */
size_t lh_delta_snapshot_num_tombstones(const lh_delta_snapshot *s);
const lh_delta_file *lh_delta_snapshot_tombstone(const lh_delta_snapshot *s, size_t i);
/* commitInfo of the snapshot's own commit as compact JSON, or NULL. */
const char *lh_delta_snapshot_commit_info(const lh_delta_snapshot *s);
/* The string operationParameters[key] of commit version's commitInfo
 * (copied; NULL when it has none). Reads that one commit file, its
 * commitInfo line only: LH_ERR_NOT_FOUND when it is gone (log cleanup). */
lh_status lh_delta_commit_param(lh_storage *st, const char *prefix, int64_t version,
                                const char *key, char **value, lh_error *err);
/* The same, with commitInfo.timestamp (ms; -1 when absent) into *timestamp. */
lh_status lh_delta_commit_param_ts(lh_storage *st, const char *prefix, int64_t version,
                                   const char *key, char **value, int64_t *timestamp,
                                   lh_error *err);
/* Timestamp (ms) of the snapshot's commit: commitInfo.timestamp, else -1. */
int64_t lh_delta_snapshot_timestamp(const lh_delta_snapshot *s);
/* An application's transaction identifier (the log's txn actions, e.g. a
 * streaming writer's progress): the newest version recorded for app_id. */
typedef struct lh_delta_app_txn {
    char *app_id;
    int64_t version;
    int64_t last_updated; /* ms; -1 when absent */
} lh_delta_app_txn;
size_t lh_delta_snapshot_num_app_txns(const lh_delta_snapshot *s);
/* In the order the apps first appear in the log. */
const lh_delta_app_txn *lh_delta_snapshot_app_txn(const lh_delta_snapshot *s, size_t i);
/* Configuration value with a default ("delta.checkpointInterval", ...). */
const char *lh_delta_snapshot_config(const lh_delta_snapshot *s, const char *key,
                                     const char *dflt);

/* ------------------------------------------------------------ paths, stats */

typedef enum lh_delta_escape {
    /* delta-rs: every byte but ASCII letters, digits and "-._~" is %XX */
    LH_DELTA_ESCAPE_DELTARS = 0,
    /* Spark/Hive: controls, the quote and # % apostrophe * slash : = ? backslash { [ ] ^ */
    LH_DELTA_ESCAPE_HIVE = 1,
} lh_delta_escape;

/* Append the partition directory "c1=v1/c2=v2" for the values (in the given
 * order; NULL or empty value -> __HIVE_DEFAULT_PARTITION__) to out. */
void lh_delta_partition_dir(const lh_delta_kv *values, size_t n, lh_delta_escape style,
                            lh_buf *out);
/* URI-encode a relative path for add.path (Hadoop style; '/' kept; also '+'
 * and non-ASCII encoded), and the inverse (decodes only %XX, never '+'). */
void lh_delta_path_encode(const char *path, lh_buf *out);
lh_status lh_delta_path_decode(const char *raw, lh_buf *out, lh_error *err);

/* Per-column statistics for add.stats. */
typedef enum lh_delta_stat_kind {
    LH_DELTA_STAT_STRING,
    LH_DELTA_STAT_TIMESTAMP_US, /* formatted "2024-08-19T09:56:41.123Z" (ms, like delta-rs) */
    LH_DELTA_STAT_BOOL,
    LH_DELTA_STAT_LONG,
    LH_DELTA_STAT_DOUBLE,
} lh_delta_stat_kind;

typedef struct lh_delta_stat_value {
    const char *s; /* STRING: NUL-terminated UTF-8 */
    int64_t i;     /* LONG, TIMESTAMP_US */
    bool b;
    double d;
} lh_delta_stat_value;

typedef struct lh_delta_col_stats {
    const char *name;
    lh_delta_stat_kind kind;
    bool has_min_max; /* false: column omitted from minValues/maxValues */
    lh_delta_stat_value min, max;
    int64_t null_count;
} lh_delta_col_stats;

/* String bounds are cut to this many bytes like delta-rs (parquet-rs): min =
 * the UTF-8-safe prefix, max = the prefix with its last character
 * incremented (or omitted when none fits). */
#define LH_DELTA_STATS_STRING_PREFIX 64

/* {"numRecords":N,"minValues":{...},"maxValues":{...},"nullCount":{...}} */
void lh_delta_stats_json(int64_t num_records, const lh_delta_col_stats *cols, size_t n,
                         lh_buf *out);
/* numRecords of a file's stats JSON; -1 when the file has no stats or
 * they do not say. */
int64_t lh_delta_file_num_records(const lh_delta_file *f);

/* ----------------------------------------------------------- transactions */

typedef struct lh_delta_table_spec {
    const lh_delta_field *fields;
    size_t num_fields;
    const char *const *partition_columns;
    size_t num_partition_columns;
    const lh_delta_kv *configuration;
    size_t num_configuration;
    const char *name;        /* NULL ok */
    const char *description; /* NULL ok */
} lh_delta_table_spec;

typedef struct lh_delta_add {
    const char *path; /* decoded, relative to the table root */
    const lh_delta_kv *partition_values;
    size_t num_partition_values;
    int64_t size;
    int64_t modification_time; /* ms */
    bool data_change;
    const char *stats; /* JSON or NULL */
} lh_delta_add;

typedef struct lh_delta_txn lh_delta_txn;

/* LH_ERR_UNSUPPORTED, naming what, when this writer cannot write to the
 * table of snapshot read (a newer writer protocol, its features, column
 * invariants). */
lh_status lh_delta_check_writable(const lh_delta_snapshot *read, const char *prefix, lh_error *err);

/* Start a transaction that read snapshot `read` (NULL: the table is created
 * by this transaction if metadata is set, else a blind append at whatever
 * version is newest when committing). read must outlive the txn. */
lh_status lh_delta_txn_new(lh_storage *st, const char *prefix, const lh_delta_snapshot *read,
                           lh_delta_txn **out, lh_error *err);
void lh_delta_txn_free(lh_delta_txn *t);

/* New table (read == NULL): protocol (1,2) and metaData with a fresh uuid4. */
lh_status lh_delta_txn_set_metadata(lh_delta_txn *t, const lh_delta_table_spec *spec,
                                    lh_error *err);
/* Change the metadata of the table read (as delta-rs's ADD COLUMN and SET
 * TBLPROPERTIES): schemaString replaced (NULL: kept), configuration entries
 * set (added or replaced); id, name, description, partition columns and
 * createdTime kept. A concurrent add anywhere is then a conflict. */
lh_status lh_delta_txn_update_metadata(lh_delta_txn *t, const char *schema_string,
                                       const lh_delta_kv *set, size_t n, lh_error *err);
/* schema_string with fields appended (metadata {}), as compact JSON into
 * out; LH_ERR_INVALID when the table has one of them already. */
lh_status lh_delta_schema_add_fields(const char *schema_string, const lh_delta_field *fields,
                                     size_t n, lh_buf *out, lh_error *err);
lh_status lh_delta_txn_add(lh_delta_txn *t, const lh_delta_add *a, lh_error *err);
/* Remove a live file of the read snapshot (deletion_timestamp ms; 0 = now). */
lh_status lh_delta_txn_remove(lh_delta_txn *t, const lh_delta_file *f, bool data_change,
                              int64_t deletion_timestamp, lh_error *err);
/* Declare that the txn read (replaces) the partition matching all of values
 * (a subset of the partition columns; NULL value = null partition): a
 * concurrent add into it is a conflict. n = 0 means the whole table. */
void lh_delta_txn_read_partition(lh_delta_txn *t, const lh_delta_kv *values, size_t n);
/* commitInfo: operation ("WRITE", "DELETE", "OPTIMIZE", "CREATE TABLE") and
 * operationParameters (string values; copied). */
void lh_delta_txn_set_operation(lh_delta_txn *t, const char *operation,
                                const lh_delta_kv *params, size_t n);
/* Extra commitInfo key with a raw JSON value (copied), e.g. operationMetrics. */
void lh_delta_txn_set_info_json(lh_delta_txn *t, const char *key, const char *json);

/* Write the commit as version read+1 with put-if-absent; on a lost race read
 * the winners, check conflicts and retry (up to LH_DELTA_MAX_RETRIES with a
 * small randomized backoff; blind appends up to LH_DELTA_MAX_RETRIES_APPEND).
 * LH_ERR_CONFLICT also when the attempts run out. *version gets the committed version.
 * LH_ERR_CONFLICT names the winning version and the reason; LH_ERR_EXISTS when
 * creating a table that already exists. After a successful commit a
 * checkpoint is written when (version + 1) % delta.checkpointInterval == 0
 * (its failure does not fail the commit); the interval comes from the read
 * snapshot or the new table's configuration, else the default 100. */
lh_status lh_delta_txn_commit(lh_delta_txn *t, int64_t *version, lh_error *err);

/* What a commit attempt left in the log. A failed commit is not always an
 * absent one: the commit file can be in place when the storage reports an
 * error after it (a failing fsync of the log directory, a lost reply), and
 * then every file it adds is referenced. A caller deletes the files it
 * staged only when the outcome is LH_DELTA_NOT_COMMITTED. */
typedef enum lh_delta_outcome {
    LH_DELTA_NOT_COMMITTED = 0, /* no attempt yet, or none landed */
    LH_DELTA_COMMITTED,         /* in the log at *version (the commit may still have failed) */
    LH_DELTA_OUTCOME_UNKNOWN    /* the log could not be read back after a failure */
} lh_delta_outcome;
lh_delta_outcome lh_delta_txn_outcome(const lh_delta_txn *t, int64_t *version);

/* Convenience: create an empty table (operation "CREATE TABLE"). */
lh_status lh_delta_create(lh_storage *st, const char *prefix, const lh_delta_table_spec *spec,
                          int64_t *version, lh_error *err);

/* ------------------------------------------------- checkpoints and vacuum */

/* Write <version>.checkpoint.parquet for snapshot s (protocol, metaData,
 * txn identifiers not past delta.setTransactionRetentionDuration, live adds
 * with their tags, unexpired tombstones) and update _last_checkpoint (never
 * backwards). LH_ERR_UNSUPPORTED for tables with reader/writer features or
 * with domainMetadata actions, which this module does not carry. */
lh_status lh_delta_checkpoint_write(lh_storage *st, const lh_delta_snapshot *s, lh_error *err);

/* Metadata cleanup: delete commit and checkpoint files whose storage mtime
 * is older than now_ms - retention_ms, of versions below the newest
 * checkpoint that is itself that old (first re-read and checked), as Spark
 * and delta-rs: every younger version stays reconstructible. Time travel to
 * the deleted versions ends.
 * Also run after each automatic checkpoint unless
 * delta.enableExpiredLogCleanup is "false", with delta.logRetentionDuration
 * (default 30 days), as delta-rs does. */
lh_status lh_delta_cleanup_log(lh_storage *st, const char *prefix, int64_t retention_ms,
                               int64_t now_ms, size_t *deleted, lh_error *err);

/* Delete the whole log of the table at prefix so that a process killed
 * after any delete leaves the table as it was or no table: a checkpoint of
 * the newest version first (unless there is one), then every other log
 * file, that checkpoint last. Without one (a table this module cannot
 * checkpoint, or a log that no longer replays) in version order, oldest
 * first: what remains then fails to replay rather than replaying an older
 * version. Files below _delta_log/ (sidecars) are left to the caller. */
lh_status lh_delta_delete_log(lh_storage *st, const char *prefix, lh_error *err);

/* A checkpoint at s's version, then the metadata cleanup with the table's
 * delta.logRetentionDuration, as delta-rs's create_checkpoint +
 * cleanup_metadata (explicit: delta.enableExpiredLogCleanup, which turns off
 * the cleanup after every checkpointInterval-th commit, does not apply).
 * *deleted (may be NULL) counts the log files deleted. */
lh_status lh_delta_checkpoint_and_cleanup(lh_storage *st, const lh_delta_snapshot *s,
                                          size_t *deleted, lh_error *err);

/* Delete data files under the table that the latest snapshot does not
 * reference (not live, not a tombstone younger than the retention) and whose
 * storage mtime is older than now_ms - retention_ms. Never touches
 * _delta_log or hidden ("_", ".") directories/files. Deleted (or, with
 * dry_run, deletable) paths relative to the table go to out (may be NULL). */
lh_status lh_delta_vacuum(lh_storage *st, const char *prefix, int64_t retention_ms,
                          int64_t now_ms, bool dry_run, lh_strlist *out, size_t *count,
                          lh_error *err);

#endif
