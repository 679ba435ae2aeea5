/* Dataset write fence: lock files taken with put-if-absent plus append
 * markers (see fence.h for the protocol). */
#include "lh/storage/fence.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/settings.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/core/uuid.h"

struct lh_fence {
    lh_storage *st;
    char *key;
    lh_storage_lease *lease; /* NULL: sticky, or storage without leases */
};

static const char *kind_suffix(lh_fence_kind kind)
{
    switch (kind) {
    case LH_FENCE_LOCK: return ".LOCK";
    case LH_FENCE_MERGE: return ".LOCK-MERGE";
    case LH_FENCE_APPEND: return ".LOCK-APPENDS";
    }
    return ".LOCK";
}

static char *key_for(const char *dataset, const char *name)
{
    lh_buf b = LH_BUF_INIT;
    lh_buf_printf(&b, "%s/%s", dataset, name);
    return lh_buf_detach(&b, NULL);
}

/* The running kernel's boot id: processes that share it share flock(2)
 * locks, whatever their host names (containers); "" when unknown. */
static void kernel_boot_id(char out[64])
{
    out[0] = '\0';
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (!f) return;
    if (!fgets(out, 64, f)) out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

/* leased: the lock says so, with its kernel, and only then may a waiter on
 * that kernel take it over once the lease is gone (a lock of the reference
 * or of a sticky holder, unleased, looks abandoned to the storage). */
static void holder_json(lh_buf *out, const char *boot_id)
{
    char host[256] = "";
    char ts[LH_ISO_MAX];
    gethostname(host, sizeof host - 1);
    lh_time_format_iso(lh_now_us(), ts);
    lh_buf_printf(out, "{\"pid\": %ld, \"host\": ", (long)getpid());
    lh_buf_append_json_str(out, host, strlen(host));
    lh_buf_printf(out, ", \"created_at\": \"%s\", \"tool\": \"ftm-lakehouse-c\"", ts);
    if (boot_id) {
        lh_buf_printf(out, ", \"lease\": true, \"boot_id\": ");
        lh_buf_append_json_str(out, boot_id, strlen(boot_id));
    }
    lh_buf_printf(out, "}\n");
}

static void backoff_sleep(int attempt)
{
    long ms = 1000;
    lh_settings s;
    lh_error e;
    if (lh_settings_load(&s, &e) == LH_OK) { /* the CLI refused bad settings already */
        ms = s.lock_backoff_ms;
        lh_settings_free(&s);
    }
    long total = ms * attempt;
    struct timespec ts = {total / 1000, (total % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int resolve_retries(int max_retries)
{
    if (max_retries >= 0) return max_retries;
    lh_settings s;
    lh_error e;
    int n = 10;
    if (lh_settings_load(&s, &e) == LH_OK) {
        n = s.lock_max_retries;
        lh_settings_free(&s);
    }
    return n;
}

/* Who a lock's content names as its holder. */
static void describe_holder(const lh_buf *data, char *out, size_t outlen)
{
    snprintf(out, outlen, "an unknown holder");
    if (!data->len) return;
    json_t *j = json_loadb(data->data, data->len, 0, NULL);
    if (json_is_object(j)) {
        json_int_t pid = json_integer_value(json_object_get(j, "pid"));
        const char *host = json_string_value(json_object_get(j, "host"));
        const char *at = json_string_value(json_object_get(j, "created_at"));
        snprintf(out, outlen, "pid %lld on host %s since %s", (long long)pid, host ? host : "?",
                 at ? at : "?");
    } else {
        /* the Python reference touches the file with a timestamp or nothing */
        snprintf(out, outlen, "another writer (%.64s)", data->data);
    }
    json_decref(j);
}

void lh_fence_describe(lh_storage *st, const char *key, char *out, size_t outlen)
{
    lh_buf data = LH_BUF_INIT;
    lh_error e;
    if (lh_storage_read(st, key, &data, &e) != LH_OK) lh_buf_reset(&data);
    describe_holder(&data, out, outlen);
    lh_buf_free(&data);
}

bool lh_fence_holder_dead(const char *data, size_t len)
{
    json_t *j = json_loadb(data, len, 0, NULL);
    bool dead = false;
    if (json_is_object(j)) {
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        const char *h = json_string_value(json_object_get(j, "host"));
        json_int_t pid = json_integer_value(json_object_get(j, "pid"));
        if (h && strcmp(h, host) == 0 && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            dead = true;
    }
    json_decref(j);
    return dead;
}

static lh_fence *fence_new(lh_storage *st, char *key, lh_storage_lease *lease)
{
    lh_fence *f = lh_malloc(sizeof *f);
    f->st = st;
    f->key = key;
    f->lease = lease;
    return f;
}

bool lh_fence_leased_here(const char *data, size_t len)
{
    json_t *j = json_loadb(data, len, 0, NULL);
    char boot_id[64];
    kernel_boot_id(boot_id);
    const char *b = json_string_value(json_object_get(j, "boot_id"));
    bool here = json_is_true(json_object_get(j, "lease")) && b && *boot_id &&
                strcmp(b, boot_id) == 0;
    json_decref(j);
    return here;
}

/* Remove key when it is a leased lock whose holder died (kill -9, a crash):
 * true when it went, so the caller can take it at once. Failures leave it,
 * and the caller waits as for a live holder. */
static bool break_abandoned(lh_storage *st, const char *key)
{
    lh_buf data = LH_BUF_INIT;
    lh_error e;
    bool broken = false;
    if (lh_storage_read(st, key, &data, &e) == LH_OK && lh_fence_leased_here(data.data, data.len))
        lh_storage_lease_abandoned(st, key, data.data, data.len, true, &broken, &e);
    lh_buf_free(&data);
    return broken;
}

/* One put-if-absent of the lock; *leased turns false (and body is written
 * again without the lease) where the file system refuses locks. */
static lh_status put_lock(lh_storage *st, const char *key, bool *leased, lh_buf *body,
                          lh_storage_lease **lease, lh_error *err)
{
    if (*leased) {
        lh_status rc = lh_storage_put_if_absent_leased(st, key, body->data, body->len, lease, err);
        if (rc != LH_ERR_UNSUPPORTED) return rc;
        *leased = false;
        lh_buf_reset(body);
        holder_json(body, NULL);
    }
    return lh_storage_put_if_absent(st, key, body->data, body->len, err);
}

static lh_status busy_error(lh_storage *st, const char *key, int retries, lh_error *err)
{
    const char *slash = strchr(key, '/');
    int dslen = slash ? (int)(slash - key) : (int)strlen(key);
    /* read once: the holder named and the lease judged are the same lock */
    lh_buf data = LH_BUF_INIT;
    lh_error e;
    bool read = lh_storage_read(st, key, &data, &e) == LH_OK;
    if (!read) lh_buf_reset(&data);
    char who[512];
    describe_holder(&data, who, sizeof who);
    bool leased = read && lh_fence_leased_here(data.data, data.len);
    lh_buf_free(&data);
    if (leased) /* not taken over: its holder is alive */
        return lh_error_set(err, LH_ERR_BUSY,
                            "write fence busy: `%s` is held by %s, which is still running "
                            "(gave up after %d retries)",
                            key, who, retries);
    return lh_error_set(err, LH_ERR_BUSY,
                        "write fence busy: `%s` is held by %s (gave up after %d retries); "
                        "if that process is gone, release it with "
                        "`ftm-lakehouse -d %.*s maintenance unlock`",
                        key, who, retries, dslen, key);
}

static lh_status take_lock(lh_storage *st, char *key, lh_fence_life life, int retries,
                           lh_fence_moot_fn moot, void *ctx, lh_fence **out, lh_error *err)
{
    char boot_id[64];
    kernel_boot_id(boot_id);
    bool leased = life == LH_FENCE_LEASED && lh_storage_can_lease(st, key) && *boot_id;
    lh_buf body = LH_BUF_INIT;
    holder_json(&body, leased ? boot_id : NULL);
    lh_storage_lease *lease = NULL;
    lh_status rc = LH_OK;
    for (int attempt = 0;; attempt++) {
        rc = put_lock(st, key, &leased, &body, &lease, err);
        if (rc == LH_ERR_EXISTS && break_abandoned(st, key))
            rc = put_lock(st, key, &leased, &body, &lease, err);
        if (rc != LH_OK && rc != LH_ERR_EXISTS && !leased) {
            /* The put can fail after the lock became visible (fsync of the
             * directory after link): a lock we do not know we hold would
             * stay until `unlock`. Take it back if it is ours. Not a leased
             * one: the storage removed it under its lease, and once that
             * went a waiter may have taken the key over, whose lock this
             * read-then-delete would remove (left, it is taken over). */
            bool ours = false;
            lh_error ignore;
            if (lh_storage_holds(st, key, body.data, body.len, &ours, &ignore) == LH_OK && ours)
                lh_storage_delete(st, key, &ignore);
        }
        if (rc != LH_ERR_EXISTS) break;
        if (attempt >= retries) {
            rc = busy_error(st, key, retries, err);
            break;
        }
        backoff_sleep(attempt + 1);
        /* The holder may have done what we wanted the lock for; a caller
         * holding an append marker must not wait on, as maintenance that
         * took .LOCK meanwhile would wait for that marker in turn. */
        bool done = false;
        if (moot && (rc = moot(ctx, &done, err)) != LH_OK) break;
        if (done) {
            rc = LH_OK;
            free(key);
            key = NULL;
            break;
        }
    }
    lh_buf_free(&body);
    if (rc != LH_OK || !key) lh_storage_lease_free(lease);
    if (rc != LH_OK) {
        free(key);
        return rc;
    }
    *out = key ? fence_new(st, key, lease) : NULL;
    return LH_OK;
}

static lh_status lock_exists(lh_storage *st, const char *dataset, bool *held, lh_error *err)
{
    char *key = key_for(dataset, ".LOCK");
    lh_status rc = lh_storage_exists(st, key, held, err);
    free(key);
    return rc;
}

static lh_status enter_append(lh_storage *st, const char *dataset, int retries,
                              lh_fence **out, lh_error *err)
{
    lh_uuid u;
    char us[LH_UUID_STR_LEN + 1];
    LH_TRY(lh_uuid7_new(&u, err));
    lh_uuid_format(&u, us);
    lh_buf name = LH_BUF_INIT;
    lh_buf_printf(&name, ".LOCK-APPENDS/%s", us);
    char *key = key_for(dataset, name.data);
    lh_buf_free(&name);
    lh_buf body = LH_BUF_INIT;
    holder_json(&body, NULL);
    lh_status rc = LH_OK;
    for (int attempt = 0;; attempt++) {
        rc = lh_storage_write(st, key, body.data, body.len, err);
        if (rc != LH_OK) break;
        bool held = false;
        rc = lock_exists(st, dataset, &held, err);
        if (rc == LH_OK && held) {
            /* maintenance that died holding it drains nothing any more */
            char *lock = key_for(dataset, ".LOCK");
            if (break_abandoned(st, lock)) rc = lock_exists(st, dataset, &held, err);
            free(lock);
        }
        if (rc != LH_OK || !held) break;
        /* maintenance holds .LOCK: step aside so it can drain, then retry */
        lh_error ignore;
        lh_storage_delete(st, key, &ignore);
        if (attempt >= retries) {
            char *lock = key_for(dataset, ".LOCK");
            rc = busy_error(st, lock, retries, err);
            free(lock);
            break;
        }
        backoff_sleep(attempt + 1);
    }
    lh_buf_free(&body);
    if (rc != LH_OK) {
        lh_error ignore;
        lh_storage_delete(st, key, &ignore);
        free(key);
        return rc;
    }
    *out = fence_new(st, key, NULL);
    return LH_OK;
}

lh_status lh_fence_acquire_life(lh_storage *st, const char *dataset, lh_fence_kind kind,
                                lh_fence_life life, int max_retries, lh_fence **out,
                                lh_error *err)
{
    *out = NULL;
    int retries = resolve_retries(max_retries);
    if (kind == LH_FENCE_APPEND) return enter_append(st, dataset, retries, out, err);
    return take_lock(st, key_for(dataset, kind_suffix(kind)), life, retries, NULL, NULL, out,
                     err);
}

lh_status lh_fence_acquire(lh_storage *st, const char *dataset, lh_fence_kind kind,
                           int max_retries, lh_fence **out, lh_error *err)
{
    return lh_fence_acquire_life(st, dataset, kind, LH_FENCE_LEASED, max_retries, out, err);
}

lh_status lh_fence_acquire_unless(lh_storage *st, const char *dataset, lh_fence_kind kind,
                                  int max_retries, lh_fence_moot_fn moot, void *ctx,
                                  lh_fence **out, lh_error *err)
{
    *out = NULL;
    if (kind == LH_FENCE_APPEND)
        return lh_error_set(err, LH_ERR_INVALID, "append markers are not waited for");
    return take_lock(st, key_for(dataset, kind_suffix(kind)), LH_FENCE_LEASED,
                     resolve_retries(max_retries), moot, ctx, out, err);
}

/* Live append markers (dead processes' markers on this host are removed). */
static lh_status live_markers(lh_storage *st, const char *dataset, size_t *count,
                              lh_error *err)
{
    char *prefix = key_for(dataset, ".LOCK-APPENDS");
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_storage_list(st, prefix, 0, &keys, err);
    *count = 0;
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        lh_buf data = LH_BUF_INIT;
        lh_error e;
        lh_status r = lh_storage_read(st, keys.items[i], &data, &e);
        if (r == LH_OK && lh_fence_holder_dead(data.data, data.len))
            lh_storage_delete(st, keys.items[i], &e);
        else if (r != LH_ERR_NOT_FOUND) /* gone meanwhile: that append finished */
            (*count)++;
        lh_buf_free(&data);
    }
    lh_strlist_free(&keys);
    free(prefix);
    return rc;
}

lh_status lh_fence_acquire_exclusive(lh_storage *st, const char *dataset, lh_fence_life life,
                                     int max_retries, lh_fence **out, lh_error *err)
{
    int retries = resolve_retries(max_retries);
    lh_fence *f = NULL;
    LH_TRY(lh_fence_acquire_life(st, dataset, LH_FENCE_LOCK, life, retries, &f, err));
    for (int attempt = 0;; attempt++) {
        size_t n = 0;
        lh_status rc = live_markers(st, dataset, &n, err);
        if (rc == LH_OK && n == 0) break;
        if (rc == LH_OK && attempt >= retries)
            rc = lh_error_set(err, LH_ERR_BUSY,
                              "write fence busy: %zu append(s) still in flight in "
                              "`%s/.LOCK-APPENDS/` after %d retries",
                              n, dataset, retries);
        if (rc != LH_OK) {
            lh_error ignore;
            lh_fence_release(f, &ignore);
            return rc;
        }
        backoff_sleep(attempt + 1);
    }
    *out = f;
    return LH_OK;
}

lh_status lh_fence_release(lh_fence *f, lh_error *err)
{
    if (!f) return LH_OK;
    /* the lock goes before its lease: a waiter that took the lease over in
     * between would find the lock still ours and remove it, then take it,
     * and this delete would remove the waiter's */
    lh_status rc = lh_storage_delete(f->st, f->key, err);
    lh_storage_lease_free(f->lease);
    free(f->key);
    free(f);
    return rc;
}

lh_status lh_fence_release_keep(lh_fence *f, lh_status rc, lh_error *err)
{
    lh_error e2;
    lh_status rel = lh_fence_release(f, &e2);
    if (rc == LH_OK && rel != LH_OK) {
        *err = e2;
        return rel;
    }
    return rc;
}

void lh_fence_keep(lh_fence *f)
{
    if (!f) return;
    lh_storage_lease_free(f->lease);
    free(f->key);
    free(f);
}

lh_status lh_fence_unlock(lh_storage *st, const char *dataset, bool *released, lh_error *err)
{
    *released = false;
    /* The append markers first, while .LOCK still holds appends back: once
     * it goes, an append waiting on it (a sticky re-shard's fence is
     * released with writers waiting) writes a live marker, which deleting
     * afterwards would hide from the next maintenance. */
    char *prefix = key_for(dataset, ".LOCK-APPENDS");
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_storage_list(st, prefix, 0, &keys, err);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        rc = lh_storage_delete(st, keys.items[i], err);
        *released = true;
    }
    lh_strlist_free(&keys);
    free(prefix);
    const char *names[] = {".LOCK-MERGE", ".LOCK"};
    for (size_t i = 0; rc == LH_OK && i < 2; i++) {
        char *key = key_for(dataset, names[i]);
        bool exists = false;
        rc = lh_storage_exists(st, key, &exists, err);
        if (rc == LH_OK && exists) {
            rc = lh_storage_delete(st, key, err);
            *released = true;
        }
        free(key);
    }
    return rc;
}
