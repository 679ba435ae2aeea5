/* Storage backend: a flat key space under a root URI. Keys are relative,
 * '/'-separated paths ("ds/entities/statements/_delta_log/00000000000000000000.json").
 * Every key is validated before it reaches the backend: no empty segment, no
 * "." or "..", no leading '/', no NUL, no backslash, valid UTF-8.
 *
 * Backends: local filesystem ("file:///abs", "/abs", "relative/dir") and S3
 * ("s3://bucket[/prefix]"; AWS_* configuration, see src/core/storage_s3.h). */
#ifndef LH_CORE_STORAGE_H
#define LH_CORE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/core/str.h"

typedef struct lh_storage lh_storage;
typedef struct lh_storage_writer lh_storage_writer;
typedef struct lh_storage_reader lh_storage_reader;
typedef struct lh_storage_lease lh_storage_lease;

typedef struct lh_stat {
    uint64_t size;
    int64_t mtime_ms; /* modification time, ms since epoch */
} lh_stat;

/* Open the backend for uri. The root need not exist yet (it is created on
 * the first write). */
lh_status lh_storage_open(const char *uri, lh_storage **out, lh_error *err);
void lh_storage_free(lh_storage *s);
/* The URI the storage was opened with, normalised ("file:///abs/path"). */
const char *lh_storage_uri(const lh_storage *s);
/* Local filesystem path of key (NULL for non-local backends); caller frees. */
char *lh_storage_local_path(const lh_storage *s, const char *key);
/* The URI of key ("" = the storage's own); caller frees. */
char *lh_storage_key_uri(const lh_storage *s, const char *key);

/* A storage serving the keys under mount (one segment: "name" and
 * "name/...") from inner, as keys without that prefix, and every other key
 * from outer: a dataset kept outside its lake. Takes both storages, also
 * on failure; its URI is outer's. */
lh_status lh_storage_mount(lh_storage *outer, const char *mount, lh_storage *inner,
                           lh_storage **out, lh_error *err);

/* Validate a key (see above); LH_ERR_INVALID names the offending part. */
lh_status lh_storage_check_key(const char *key, lh_error *err);

/* Whole-object read into out (appended). LH_ERR_NOT_FOUND if absent. */
lh_status lh_storage_read(lh_storage *s, const char *key, lh_buf *out, lh_error *err);
lh_status lh_storage_stat(lh_storage *s, const char *key, lh_stat *st, lh_error *err);
/* LH_OK with *exists set; errors only on real I/O failure. */
lh_status lh_storage_exists(lh_storage *s, const char *key, bool *exists, lh_error *err);
/* Whether key holds exactly data[0..n): after a write that reported a
 * failure, tells our own bytes in place from none or another writer's.
 * LH_ERR_NOT_FOUND when key is absent; other failures are the read's. */
lh_status lh_storage_holds(lh_storage *s, const char *key, const void *data, size_t n,
                           bool *same, lh_error *err);

/* Random-access reader (parquet footers, row groups). */
lh_status lh_storage_reader_open(lh_storage *s, const char *key, lh_storage_reader **out,
                                 lh_error *err);
uint64_t lh_storage_reader_size(const lh_storage_reader *r);
/* Read exactly n bytes at off into dst; LH_ERR_CORRUPT on short read. */
lh_status lh_storage_reader_pread(lh_storage_reader *r, uint64_t off, void *dst, size_t n,
                                  lh_error *err);
void lh_storage_reader_free(lh_storage_reader *r);

/* Atomic whole-object write: temp file, fsync, rename, fsync directory. */
lh_status lh_storage_write(lh_storage *s, const char *key, const void *data, size_t n,
                           lh_error *err);
/* Create key only if it does not exist (link(2) on local; conditional PUT on
 * S3). The content is durable before it becomes visible. LH_ERR_EXISTS if the
 * key already exists, without touching it. */
lh_status lh_storage_put_if_absent(lh_storage *s, const char *key, const void *data,
                                   size_t n, lh_error *err);

/* Leases (optional: local files have them, S3 has not). A leased object is
 * tied to its creator's open handle, which the kernel drops when the
 * creator dies, even by SIGKILL: a waiter can tell an abandoned lock from
 * a held one without trusting pids, host names or clocks. */
bool lh_storage_can_lease(const lh_storage *s, const char *key);
/* put_if_absent, with *lease held until lh_storage_lease_free.
 * LH_ERR_UNSUPPORTED where the backend has no leases. */
lh_status lh_storage_put_if_absent_leased(lh_storage *s, const char *key, const void *data,
                                          size_t n, lh_storage_lease **lease, lh_error *err);
/* Drop the lease; the object stays. NULL is a no-op. */
void lh_storage_lease_free(lh_storage_lease *lease);
/* Whether key, holding exactly data[0..n), has lost its lease (its creator
 * is gone); with remove, delete it then, at most one caller succeeding
 * however many race. *abandoned is false when the lease is held, the key
 * is absent or holds other bytes, or the backend has no leases. Only for
 * keys known to be created leased: any other object looks abandoned. */
lh_status lh_storage_lease_abandoned(lh_storage *s, const char *key, const void *data, size_t n,
                                     bool remove, bool *abandoned, lh_error *err);

/* Streaming write: bytes go to a temp object; commit makes them durable and
 * visible under key atomically; abort (or free without commit) discards. */
lh_status lh_storage_writer_open(lh_storage *s, const char *key, lh_storage_writer **out,
                                 lh_error *err);
lh_status lh_storage_writer_write(lh_storage_writer *w, const void *data, size_t n,
                                  lh_error *err);
uint64_t lh_storage_writer_offset(const lh_storage_writer *w);
lh_status lh_storage_writer_commit(lh_storage_writer *w, lh_error *err);
/* Like commit, but fails with LH_ERR_EXISTS if key appeared meanwhile. */
lh_status lh_storage_writer_commit_if_absent(lh_storage_writer *w, lh_error *err);
void lh_storage_writer_free(lh_storage_writer *w); /* aborts if not committed */

/* Delete one key; deleting an absent key is LH_OK (idempotent). */
lh_status lh_storage_delete(lh_storage *s, const char *key, lh_error *err);
/* Delete keys[0..n); absent keys are fine. Backends that can delete many
 * keys in one request (S3 DeleteObjects: 1000 a request) do; on a failure
 * some keys may be gone and others not, and err names a key left. */
lh_status lh_storage_delete_many(lh_storage *s, const char *const *keys, size_t n,
                                 lh_error *err);
/* Delete every key under prefix (a "directory"). */
lh_status lh_storage_delete_prefix(lh_storage *s, const char *prefix, lh_error *err);

/* Remove what interrupted writes left under prefix ("" = root, recursive)
 * and began before cutoff_ms (ms since epoch): temp files of local writes,
 * incomplete multipart uploads on S3. Neither is ever listed nor read, but
 * both take space. Only for callers that know no writer is active under
 * prefix (they hold its write fence). *removed counts what went; with
 * dry_run nothing goes and *removed counts what would. */
lh_status lh_storage_remove_debris(lh_storage *s, const char *prefix, int64_t cutoff_ms,
                                   bool dry_run, size_t *removed, lh_error *err);

typedef enum lh_list_flags {
    LH_LIST_RECURSIVE = 1, /* descend into sub-"directories" */
    LH_LIST_DIRS = 2,      /* non-recursive only: also report immediate sub-prefixes (with trailing '/') */
} lh_list_flags;

/* Keys under prefix ("" = root), appended to out as full keys, sorted
 * byte-wise. Temp files of in-flight writes are never listed. A missing
 * prefix lists nothing. */
lh_status lh_storage_list(lh_storage *s, const char *prefix, int flags, lh_strlist *out,
                          lh_error *err);

/* Backend vtable, for backend implementations only. */
typedef struct lh_storage_ops {
    const char *scheme;
    void (*free)(lh_storage *s);
    char *(*local_path)(const lh_storage *s, const char *key);
    /* Optional (NULL: the storage's URI, a slash, the key). */
    char *(*key_uri)(const lh_storage *s, const char *key);
    /* Optional (NULL: whether put_if_absent_leased is there). */
    bool (*can_lease)(const lh_storage *s, const char *key);
    lh_status (*read)(lh_storage *s, const char *key, lh_buf *out, lh_error *err);
    lh_status (*stat)(lh_storage *s, const char *key, lh_stat *st, lh_error *err);
    lh_status (*reader_open)(lh_storage *s, const char *key, lh_storage_reader **out,
                             lh_error *err);
    lh_status (*writer_open)(lh_storage *s, const char *key, lh_storage_writer **out,
                             lh_error *err);
    lh_status (*put_if_absent)(lh_storage *s, const char *key, const void *data, size_t n,
                               lh_error *err);
    lh_status (*del)(lh_storage *s, const char *key, lh_error *err);
    /* Optional pair (NULL: no leases); see lh_storage_put_if_absent_leased. */
    lh_status (*put_if_absent_leased)(lh_storage *s, const char *key, const void *data,
                                      size_t n, lh_storage_lease **lease, lh_error *err);
    lh_status (*lease_abandoned)(lh_storage *s, const char *key, const void *data, size_t n,
                                 bool remove, bool *abandoned, lh_error *err);
    /* Optional (NULL: one del a key); keys already checked. */
    lh_status (*del_many)(lh_storage *s, const char *const *keys, size_t n, lh_error *err);
    lh_status (*list)(lh_storage *s, const char *prefix, int flags, lh_strlist *out,
                      lh_error *err);
    /* Optional (NULL: a backend whose writes leave nothing behind). */
    lh_status (*remove_debris)(lh_storage *s, const char *prefix, int64_t cutoff_ms,
                               bool dry_run, size_t *removed, lh_error *err);
} lh_storage_ops;

struct lh_storage {
    const lh_storage_ops *ops;
    char *uri;
};

struct lh_storage_reader {
    lh_status (*pread)(lh_storage_reader *r, uint64_t off, void *dst, size_t n, lh_error *err);
    void (*free)(lh_storage_reader *r);
    uint64_t size;
    char *key;
};

struct lh_storage_lease {
    void (*free)(lh_storage_lease *lease);
};

struct lh_storage_writer {
    lh_status (*write)(lh_storage_writer *w, const void *data, size_t n, lh_error *err);
    lh_status (*commit)(lh_storage_writer *w, bool if_absent, lh_error *err);
    void (*abort)(lh_storage_writer *w);
    uint64_t offset;
    bool done;
    char *key;
};

/* Fault injection for tests (reliability suite): when set, the Nth fsync from
 * now (1-based) fails with the given errno. 0 disables. Process-wide. */
void lh_storage_fault_fsync(int nth, int errnum);

#endif
