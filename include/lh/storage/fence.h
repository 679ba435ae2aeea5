/* The dataset write fence, compatible with the Python reference's lock files:
 *
 *   {dataset}/.LOCK          exclusive maintenance (vacuum, compact, destroy);
 *                            appends back off while it exists
 *   {dataset}/.LOCK-MERGE    merge / export sweep (appends ignore it)
 *   {dataset}/.LOCK-APPENDS/ one marker per in-flight append
 *
 * Unlike the reference (check-then-touch), locks are taken with
 * put-if-absent, so two processes can never both hold one. Appends and
 * maintenance follow a flag protocol: an append first writes its marker and
 * only then checks .LOCK; maintenance first takes .LOCK and only then waits
 * for the markers to drain. Whichever comes second sees the other.
 *
 * Lock files hold a JSON line naming the holder (pid, host, time) so a busy
 * error can say who holds it; markers of dead processes on this host are
 * reaped. Where the storage has leases (local files), a lock is leased:
 * once its holder dies, even by kill -9, the next writer on its machine
 * takes it over instead of waiting for `maintenance unlock` (the
 * reference's lock files, which carry no lease, are never taken over). A sticky lock stays for
 * `unlock`, which completes what its holder left half done (a re-shard). Acquisition retries are bounded: attempt n sleeps n * backoff
 * (LAKEHOUSE_LOCK_BACKOFF_MS, default 1000), about N^2/2 backoffs in all. */
#ifndef LH_STORAGE_FENCE_H
#define LH_STORAGE_FENCE_H

#include <stdbool.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"

typedef struct lh_fence lh_fence;

typedef enum lh_fence_kind {
    LH_FENCE_LOCK,   /* .LOCK */
    LH_FENCE_MERGE,  /* .LOCK-MERGE */
    LH_FENCE_APPEND, /* a marker in .LOCK-APPENDS/ (shared between appends) */
} lh_fence_kind;

/* What becomes of a lock whose holder dies without releasing it. */
typedef enum lh_fence_life {
    LH_FENCE_LEASED, /* taken over by the next writer, where the storage can tell */
    LH_FENCE_STICKY, /* held until `maintenance unlock` */
} lh_fence_life;

/* Acquire a fence of kind on dataset; max_retries < 0 uses the settings'
 * default. LH_ERR_BUSY names the lock key and its holder. Leased (an
 * append marker is neither: a dead process's marker on this host is
 * reaped). */
lh_status lh_fence_acquire(lh_storage *st, const char *dataset, lh_fence_kind kind,
                           int max_retries, lh_fence **out, lh_error *err);
/* lh_fence_acquire with the lock's life chosen. */
lh_status lh_fence_acquire_life(lh_storage *st, const char *dataset, lh_fence_kind kind,
                                lh_fence_life life, int max_retries, lh_fence **out,
                                lh_error *err);

/* Asked between the attempts of lh_fence_acquire_unless: *moot true when
 * the lock is no longer needed (its holder did the work meanwhile). */
typedef lh_status (*lh_fence_moot_fn)(void *ctx, bool *moot, lh_error *err);

/* lh_fence_acquire for .LOCK or .LOCK-MERGE that stops waiting once moot
 * says so: LH_OK with *out NULL. For a holder of an append marker, which
 * must not wait for .LOCK as long as maintenance may (that waits for the
 * marker): a first import creating the table. */
lh_status lh_fence_acquire_unless(lh_storage *st, const char *dataset, lh_fence_kind kind,
                                  int max_retries, lh_fence_moot_fn moot, void *ctx,
                                  lh_fence **out, lh_error *err);

/* .LOCK then wait until no append marker remains: exclusive maintenance. */
lh_status lh_fence_acquire_exclusive(lh_storage *st, const char *dataset, lh_fence_life life,
                                     int max_retries, lh_fence **out, lh_error *err);

/* Release (delete the lock file or marker) and free. NULL is a no-op. */
lh_status lh_fence_release(lh_fence *f, lh_error *err);
/* Release f after work that ended with rc: rc and err stay when the work
 * failed; a failed release is the result when it succeeded. */
lh_status lh_fence_release_keep(lh_fence *f, lh_status rc, lh_error *err);

/* Free the handle but leave the lock file held, as a crashed holder would:
 * for a sticky holder that stopped halfway and wants `unlock` to complete
 * it (a leased lock left so is taken over by the next writer). */
void lh_fence_keep(lh_fence *f);

/* Forcibly remove .LOCK, .LOCK-MERGE and the append markers after a crash;
 * *released tells whether anything was held. */
lh_status lh_fence_unlock(lh_storage *st, const char *dataset, bool *released,
                          lh_error *err);

/* Whether a lock file's data names its holder as a process of this host
 * that is gone (no holder recorded, as the reference's: false). */
bool lh_fence_holder_dead(const char *data, size_t len);

/* Whether a lock file's data says it is leased by a process of the running
 * kernel (its boot id; containers on one kernel share it): only then may
 * its lease be asked. A file system shared between machines may keep
 * flock(2) locks per machine (FUSE mounts, NFS with local locks), where
 * another machine's live lease would look dropped. */
bool lh_fence_leased_here(const char *data, size_t len);

/* Describe the holder of key ("pid 12 on host x since ..."), or "unknown". */
void lh_fence_describe(lh_storage *st, const char *key, char *out, size_t outlen);

#endif
