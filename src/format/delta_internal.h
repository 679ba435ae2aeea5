/* Private parts of the Delta log module shared by delta_*.c. */
#ifndef LH_FORMAT_DELTA_INTERNAL_H
#define LH_FORMAT_DELTA_INTERNAL_H

#include <jansson.h>

#include "lh/format/delta.h"

/* ---- maps, files, metadata (delta_util.c) ---- */
void lh_delta_map_free(lh_delta_map *m);
void lh_delta_map_push(lh_delta_map *m, const char *key, const char *value);
void lh_delta_map_copy(lh_delta_map *dst, const lh_delta_kv *src, size_t n);
/* JSON object of string/null values (non-strings are serialized). */
lh_status lh_delta_map_from_json(json_t *obj, lh_delta_map *m, const char *what, lh_error *err);
/* Partition values "" become null, as the protocol reads them: delta-rs
 * writes null in its JSON commits but "" in its checkpoints. */
void lh_delta_pv_empty_to_null(lh_delta_map *pv);
void lh_delta_map_to_json(const lh_delta_map *m, lh_buf *out);
void lh_delta_file_free(lh_delta_file *f);
void lh_delta_metadata_free(lh_delta_metadata *m);
void lh_delta_protocol_free(lh_delta_protocol *p);
/* Parse the schemaString into m->fields. */
lh_status lh_delta_metadata_parse_schema(lh_delta_metadata *m, lh_error *err);

/* "interval 30 days" (Spark interval syntax, one unit) in ms; dflt if absent
 * or not understood. */
int64_t lh_delta_interval_ms(const char *v, int64_t dflt);

/* Hadoop's local filesystem (Spark) writes a checksum ".NAME.crc" beside
 * each file NAME and deletes both together: the length of NAME when name
 * (one path segment) is such a checksum, else 0. NAME is name + 1. */
size_t lh_delta_checksum_of(const char *name);

/* "<prefix>/<rel>" or rel for an empty prefix; caller frees. */
char *lh_delta_key(const char *prefix, const char *rel);
/* "<prefix>/_delta_log/%020d.json". */
char *lh_delta_commit_key(const char *prefix, int64_t version);

/* Decode raw add/remove path and resolve it against the table root; absolute
 * paths and URIs must point inside the table. LH_ERR_CORRUPT otherwise. */
lh_status lh_delta_resolve_path(lh_storage *st, const char *prefix, const char *raw,
                                char **out, lh_error *err);

/* ---- log listing (delta_log.c) ---- */
typedef struct lh_delta_ckpt_ref {
    int64_t version;
    int parts;          /* 1 = classic single file */
    lh_strlist keys;    /* part keys in order */
} lh_delta_ckpt_ref;

typedef struct lh_delta_listing {
    int64_t *commits; /* sorted ascending */
    size_t num_commits, cap_commits;
    lh_delta_ckpt_ref *ckpts; /* complete checkpoints, sorted ascending */
    size_t num_ckpts, cap_ckpts;
    /* the newest V2 checkpoint named by a UUID (not read here), -1 none */
    int64_t uuid_ckpt;
} lh_delta_listing;

lh_status lh_delta_list_log(lh_storage *st, const char *prefix, lh_delta_listing *l,
                            lh_error *err);
void lh_delta_listing_free(lh_delta_listing *l);

/* ---- replay state ---- */
typedef struct lh_delta_filemap {
    lh_delta_file **slots; /* open addressing by path; NULL = empty */
    size_t cap, len, used; /* used = len + DELETED slots */
} lh_delta_filemap;

struct lh_delta_snapshot {
    lh_storage *st;
    char *prefix;
    int64_t version;
    bool has_protocol, has_metadata;
    lh_delta_protocol protocol;
    lh_delta_metadata metadata;
    lh_delta_filemap live;     /* while replaying */
    lh_delta_filemap tomb;
    lh_delta_file **files;      /* sorted views built at the end */
    size_t num_files;
    lh_delta_file **tombstones;
    size_t num_tombstones;
    char *commit_info;
    int64_t timestamp;
    lh_delta_app_txn *txns; /* newest per app id */
    size_t num_txns;
    bool untracked; /* the log has domainMetadata actions (not kept) */
};

/* Apply one action (ownership of f passes to the snapshot). */
void lh_delta_apply_add(lh_delta_snapshot *s, lh_delta_file *f);
void lh_delta_apply_remove(lh_delta_snapshot *s, lh_delta_file *f);
/* Record t as its app's newest (ownership of t->app_id passes). */
void lh_delta_apply_txn(lh_delta_snapshot *s, lh_delta_app_txn *t);

/* Parse one JSON action object; fills exactly one of the out-params or none
 * (unknown/ignored actions). Strings copied. `where` names the source for errors. */
typedef struct lh_delta_action {
    enum { LH_DA_NONE, LH_DA_ADD, LH_DA_REMOVE, LH_DA_METADATA, LH_DA_PROTOCOL,
           LH_DA_COMMIT_INFO, LH_DA_TXN,
           LH_DA_UNTRACKED /* domainMetadata: state we do not keep */ } kind;
    lh_delta_file *file;
    lh_delta_app_txn txn;
    lh_delta_metadata metadata;
    lh_delta_protocol protocol;
    json_t *commit_info; /* borrowed reference into the parsed line */
} lh_delta_action;

lh_status lh_delta_parse_action(lh_storage *st, const char *prefix, json_t *obj,
                                lh_delta_action *a, const char *where, lh_error *err);
void lh_delta_action_clear(lh_delta_action *a);

/* The next line of a commit file at *pos that holds more than blanks:
 * false at the end. The line is start[0..n) without its newline; line is its
 * 1-based number (counts skipped lines too). */
bool lh_delta_next_line(const char *data, size_t len, size_t *pos, int *line,
                        const char **start, size_t *n);

/* Parse a whole commit file; calls fn for each action (fn takes ownership of
 * a->file / metadata / protocol by zeroing them). */
typedef lh_status (*lh_delta_action_fn)(void *ctx, lh_delta_action *a, lh_error *err);
lh_status lh_delta_parse_commit(lh_storage *st, const char *prefix, int64_t version,
                                const char *data, size_t len, lh_delta_action_fn fn, void *ctx,
                                lh_error *err);

/* ---- checkpoints (delta_checkpoint.c) ---- */
lh_status lh_delta_checkpoint_load(lh_delta_snapshot *s, const lh_delta_ckpt_ref *c,
                                   lh_error *err);

#endif
