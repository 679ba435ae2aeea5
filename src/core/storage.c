/* Backend-independent part of the storage layer: URI dispatch, key
 * validation, and the thin wrappers that validate before delegating. */
#include "lh/core/storage.h"

#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"

lh_status lh_storage_open_local(const char *uri, lh_storage **out, lh_error *err);
lh_status lh_storage_open_s3(const char *uri, lh_storage **out, lh_error *err);

lh_status lh_storage_open(const char *uri, lh_storage **out, lh_error *err)
{
    *out = NULL;
    if (!uri || !*uri) return lh_error_set(err, LH_ERR_INVALID, "empty storage URI");
    const char *colon = strstr(uri, "://");
    if (!colon || strncmp(uri, "file://", 7) == 0) return lh_storage_open_local(uri, out, err);
    if (strncmp(uri, "s3://", 5) == 0) return lh_storage_open_s3(uri, out, err);
    return lh_error_set(err, LH_ERR_UNSUPPORTED, "storage URI scheme not supported: \"%.*s\"",
                        (int)(colon - uri), uri);
}

void lh_storage_free(lh_storage *s)
{
    if (s) s->ops->free(s);
}

const char *lh_storage_uri(const lh_storage *s)
{
    return s->uri;
}

char *lh_storage_local_path(const lh_storage *s, const char *key)
{
    return s->ops->local_path ? s->ops->local_path(s, key) : NULL;
}

char *lh_storage_key_uri(const lh_storage *s, const char *key)
{
    if (s->ops->key_uri) return s->ops->key_uri(s, key);
    size_t n = strlen(s->uri);
    bool slash = n && s->uri[n - 1] == '/';
    if (!key || !*key) return slash ? lh_strndup(s->uri, n - 1) : lh_strdup(s->uri);
    return lh_asprintf("%s%s%s", s->uri, slash ? "" : "/", key);
}

lh_status lh_storage_check_key(const char *key, lh_error *err)
{
    if (!key) return lh_error_set(err, LH_ERR_INVALID, "storage key is NULL");
    size_t n = strlen(key);
    if (n == 0) return lh_error_set(err, LH_ERR_INVALID, "storage key is empty");
    if (n > 4096) return lh_error_set(err, LH_ERR_INVALID, "storage key longer than 4096 bytes");
    if (!lh_utf8_valid(key, n))
        return lh_error_set(err, LH_ERR_INVALID, "storage key is not valid UTF-8: \"%.200s\"", key);
    if (key[0] == '/') return lh_error_set(err, LH_ERR_INVALID, "storage key is absolute: \"%.200s\"", key);
    const char *seg = key;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0)
            return lh_error_set(err, LH_ERR_INVALID, "storage key has an empty segment: \"%.200s\"", key);
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return lh_error_set(err, LH_ERR_INVALID, "storage key has a '.' or '..' segment: \"%.200s\"", key);
        if (len > 255)
            return lh_error_set(err, LH_ERR_INVALID, "storage key segment longer than 255 bytes: \"%.200s\"", key);
        if (!end) break;
        seg = end + 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == '\\' || c < 0x20 || c == 0x7f)
            /* only the part before it is echoed: a control character would reach the terminal */
            return lh_error_set(err, LH_ERR_INVALID,
                                "storage key has a control character or backslash (0x%02x) after \"%.*s\"",
                                c, (int)(i < 200 ? i : 200), key);
    }
    return LH_OK;
}

/* A prefix may be "" (the root) or end with '/'. */
static lh_status check_prefix(const char *prefix, lh_error *err)
{
    if (!prefix || !*prefix) return LH_OK;
    size_t n = strlen(prefix);
    if (prefix[n - 1] != '/') return lh_storage_check_key(prefix, err);
    char *trimmed = lh_strndup(prefix, n - 1);
    lh_status rc = lh_storage_check_key(trimmed, err);
    free(trimmed);
    return rc;
}

lh_status lh_storage_read(lh_storage *s, const char *key, lh_buf *out, lh_error *err)
{
    LH_TRY(lh_storage_check_key(key, err));
    return s->ops->read(s, key, out, err);
}

lh_status lh_storage_stat(lh_storage *s, const char *key, lh_stat *st, lh_error *err)
{
    LH_TRY(lh_storage_check_key(key, err));
    return s->ops->stat(s, key, st, err);
}

lh_status lh_storage_holds(lh_storage *s, const char *key, const void *data, size_t n,
                           bool *same, lh_error *err)
{
    *same = false;
    lh_buf found = LH_BUF_INIT;
    lh_status rc = lh_storage_read(s, key, &found, err);
    if (rc == LH_OK) *same = found.len == n && (!n || memcmp(found.data, data, n) == 0);
    lh_buf_free(&found);
    return rc;
}

lh_status lh_storage_exists(lh_storage *s, const char *key, bool *exists, lh_error *err)
{
    lh_stat st;
    lh_error tmp;
    lh_error_clear(&tmp);
    lh_status rc = lh_storage_stat(s, key, &st, &tmp);
    if (rc == LH_OK) {
        *exists = true;
        return LH_OK;
    }
    if (rc == LH_ERR_NOT_FOUND) {
        *exists = false;
        return LH_OK;
    }
    if (err) *err = tmp;
    return rc;
}

lh_status lh_storage_reader_open(lh_storage *s, const char *key, lh_storage_reader **out,
                                 lh_error *err)
{
    *out = NULL;
    LH_TRY(lh_storage_check_key(key, err));
    return s->ops->reader_open(s, key, out, err);
}

uint64_t lh_storage_reader_size(const lh_storage_reader *r)
{
    return r->size;
}

lh_status lh_storage_reader_pread(lh_storage_reader *r, uint64_t off, void *dst, size_t n,
                                  lh_error *err)
{
    if (off > r->size || n > r->size - off)
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: read of %zu bytes at offset %llu past end (%llu bytes)",
                            r->key, n, (unsigned long long)off, (unsigned long long)r->size);
    if (n == 0) return LH_OK;
    return r->pread(r, off, dst, n, err);
}

void lh_storage_reader_free(lh_storage_reader *r)
{
    if (r) r->free(r);
}

lh_status lh_storage_writer_open(lh_storage *s, const char *key, lh_storage_writer **out,
                                 lh_error *err)
{
    *out = NULL;
    LH_TRY(lh_storage_check_key(key, err));
    return s->ops->writer_open(s, key, out, err);
}

lh_status lh_storage_writer_write(lh_storage_writer *w, const void *data, size_t n, lh_error *err)
{
    if (w->done) return lh_error_set(err, LH_ERR_INTERNAL, "%s: write after commit", w->key);
    LH_TRY(w->write(w, data, n, err));
    w->offset += n;
    return LH_OK;
}

uint64_t lh_storage_writer_offset(const lh_storage_writer *w)
{
    return w->offset;
}

lh_status lh_storage_writer_commit(lh_storage_writer *w, lh_error *err)
{
    if (w->done) return lh_error_set(err, LH_ERR_INTERNAL, "%s: committed twice", w->key);
    lh_status rc = w->commit(w, false, err);
    w->done = true;
    return rc;
}

lh_status lh_storage_writer_commit_if_absent(lh_storage_writer *w, lh_error *err)
{
    if (w->done) return lh_error_set(err, LH_ERR_INTERNAL, "%s: committed twice", w->key);
    lh_status rc = w->commit(w, true, err);
    w->done = true;
    return rc;
}

void lh_storage_writer_free(lh_storage_writer *w)
{
    if (w) w->abort(w); /* abort frees; after commit it only releases memory */
}

lh_status lh_storage_write(lh_storage *s, const char *key, const void *data, size_t n,
                           lh_error *err)
{
    lh_storage_writer *w;
    LH_TRY(lh_storage_writer_open(s, key, &w, err));
    lh_status rc = lh_storage_writer_write(w, data, n, err);
    if (rc == LH_OK) rc = lh_storage_writer_commit(w, err);
    lh_storage_writer_free(w);
    return rc;
}

lh_status lh_storage_put_if_absent(lh_storage *s, const char *key, const void *data, size_t n,
                                   lh_error *err)
{
    LH_TRY(lh_storage_check_key(key, err));
    return s->ops->put_if_absent(s, key, data, n, err);
}

bool lh_storage_can_lease(const lh_storage *s, const char *key)
{
    if (s->ops->can_lease) return s->ops->can_lease(s, key);
    return s->ops->put_if_absent_leased != NULL;
}

lh_status lh_storage_put_if_absent_leased(lh_storage *s, const char *key, const void *data,
                                          size_t n, lh_storage_lease **lease, lh_error *err)
{
    *lease = NULL;
    LH_TRY(lh_storage_check_key(key, err));
    if (!s->ops->put_if_absent_leased)
        return lh_error_set(err, LH_ERR_UNSUPPORTED, "%s storage has no leases", s->ops->scheme);
    return s->ops->put_if_absent_leased(s, key, data, n, lease, err);
}

void lh_storage_lease_free(lh_storage_lease *lease)
{
    if (lease) lease->free(lease);
}

lh_status lh_storage_lease_abandoned(lh_storage *s, const char *key, const void *data, size_t n,
                                     bool remove, bool *abandoned, lh_error *err)
{
    *abandoned = false;
    LH_TRY(lh_storage_check_key(key, err));
    if (!s->ops->lease_abandoned) return LH_OK;
    return s->ops->lease_abandoned(s, key, data, n, remove, abandoned, err);
}

lh_status lh_storage_delete(lh_storage *s, const char *key, lh_error *err)
{
    LH_TRY(lh_storage_check_key(key, err));
    return s->ops->del(s, key, err);
}

lh_status lh_storage_delete_many(lh_storage *s, const char *const *keys, size_t n,
                                 lh_error *err)
{
    for (size_t i = 0; i < n; i++) LH_TRY(lh_storage_check_key(keys[i], err));
    if (s->ops->del_many) return s->ops->del_many(s, keys, n, err);
    for (size_t i = 0; i < n; i++) LH_TRY(s->ops->del(s, keys[i], err));
    return LH_OK;
}

lh_status lh_storage_delete_prefix(lh_storage *s, const char *prefix, lh_error *err)
{
    LH_TRY(check_prefix(prefix, err));
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = s->ops->list(s, prefix ? prefix : "", LH_LIST_RECURSIVE, &keys, err);
    if (rc == LH_OK)
        rc = lh_storage_delete_many(s, (const char *const *)keys.items, keys.len, err);
    lh_strlist_free(&keys);
    return rc;
}

lh_status lh_storage_remove_debris(lh_storage *s, const char *prefix, int64_t cutoff_ms,
                                   bool dry_run, size_t *removed, lh_error *err)
{
    *removed = 0;
    LH_TRY(check_prefix(prefix, err));
    if (!s->ops->remove_debris) return LH_OK;
    return s->ops->remove_debris(s, prefix ? prefix : "", cutoff_ms, dry_run, removed, err);
}

lh_status lh_storage_list(lh_storage *s, const char *prefix, int flags, lh_strlist *out,
                          lh_error *err)
{
    LH_TRY(check_prefix(prefix, err));
    size_t first = out->len;
    LH_TRY(s->ops->list(s, prefix ? prefix : "", flags, out, err));
    if (out->len - first > 1) {
        lh_strlist tail = {out->items + first, out->len - first, 0};
        lh_strlist_sort(&tail);
    }
    return LH_OK;
}
