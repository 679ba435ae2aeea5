/* A storage that serves one key prefix from another storage: a dataset kept
 * outside its lake (`--dataset-uri`). Keys are routed, nothing is copied;
 * the callers above see one key space, as when the dataset is a directory
 * of the lake. */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/core/storage.h"

typedef struct mount_storage {
    lh_storage base;
    lh_storage *outer, *inner;
    char *mount; /* the prefix the inner storage serves, without a slash */
    size_t mount_len;
} mount_storage;

/* The storage that holds key, and the key there: the mount's own prefix
 * (with or without its slash) is the inner storage's root "". */
static lh_storage *route(const lh_storage *s, const char *key, const char **rest)
{
    const mount_storage *m = (const mount_storage *)s;
    if (strncmp(key, m->mount, m->mount_len) == 0 &&
        (key[m->mount_len] == 0 || key[m->mount_len] == '/')) {
        *rest = key + m->mount_len + (key[m->mount_len] == '/');
        return m->inner;
    }
    *rest = key;
    return m->outer;
}

static void mount_free(lh_storage *s)
{
    mount_storage *m = (mount_storage *)s;
    lh_storage_free(m->outer);
    lh_storage_free(m->inner);
    free(m->mount);
    free(m->base.uri);
    free(m);
}

static char *mount_local_path(const lh_storage *s, const char *key)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    return t->ops->local_path ? t->ops->local_path(t, k) : NULL;
}

static char *mount_key_uri(const lh_storage *s, const char *key)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    return lh_storage_key_uri(t, k);
}

static bool mount_can_lease(const lh_storage *s, const char *key)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    return lh_storage_can_lease(t, k);
}

static lh_status mount_read(lh_storage *s, const char *key, lh_buf *out, lh_error *err)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    return t->ops->read(t, k, out, err);
}

static lh_status mount_stat(lh_storage *s, const char *key, lh_stat *st, lh_error *err)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    return t->ops->stat(t, k, st, err);
}

/* Readers and writers name the key the caller gave, for its messages. */
static void rename_key(char **slot, const char *key)
{
    free(*slot);
    *slot = lh_strdup(key);
}

static lh_status mount_reader_open(lh_storage *s, const char *key, lh_storage_reader **out,
                                   lh_error *err)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    LH_TRY(t->ops->reader_open(t, k, out, err));
    rename_key(&(*out)->key, key);
    return LH_OK;
}

static lh_status mount_writer_open(lh_storage *s, const char *key, lh_storage_writer **out,
                                   lh_error *err)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    LH_TRY(t->ops->writer_open(t, k, out, err));
    rename_key(&(*out)->key, key);
    return LH_OK;
}

static lh_status mount_put_if_absent(lh_storage *s, const char *key, const void *data, size_t n,
                                     lh_error *err)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    return t->ops->put_if_absent(t, k, data, n, err);
}

static lh_status mount_put_if_absent_leased(lh_storage *s, const char *key, const void *data,
                                            size_t n, lh_storage_lease **lease, lh_error *err)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    return lh_storage_put_if_absent_leased(t, k, data, n, lease, err);
}

static lh_status mount_lease_abandoned(lh_storage *s, const char *key, const void *data, size_t n,
                                       bool remove, bool *abandoned, lh_error *err)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    return lh_storage_lease_abandoned(t, k, data, n, remove, abandoned, err);
}

static lh_status mount_del(lh_storage *s, const char *key, lh_error *err)
{
    const char *k;
    lh_storage *t = route(s, key, &k);
    return t->ops->del(t, k, err);
}

/* Each side's keys in one batch (S3 deletes a thousand a request). */
static lh_status mount_del_many(lh_storage *s, const char *const *keys, size_t n, lh_error *err)
{
    mount_storage *m = (mount_storage *)s;
    const char **in = lh_calloc(n ? n : 1, sizeof *in), **out = lh_calloc(n ? n : 1, sizeof *out);
    size_t nin = 0, nout = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k;
        if (route(s, keys[i], &k) == m->inner) in[nin++] = k;
        else out[nout++] = k;
    }
    lh_status rc = nin ? lh_storage_delete_many(m->inner, in, nin, err) : LH_OK;
    if (rc == LH_OK && nout) rc = lh_storage_delete_many(m->outer, out, nout, err);
    free(in);
    free(out);
    return rc;
}

static lh_status mount_list(lh_storage *s, const char *prefix, int flags, lh_strlist *out,
                            lh_error *err)
{
    mount_storage *m = (mount_storage *)s;
    const char *k;
    lh_storage *t = route(s, prefix, &k);
    if (t == m->outer) return t->ops->list(t, k, flags, out, err);
    size_t first = out->len;
    LH_TRY(t->ops->list(t, k, flags, out, err));
    for (size_t i = first; i < out->len; i++) {
        char *full = lh_asprintf("%s/%s", m->mount, out->items[i]);
        free(out->items[i]);
        out->items[i] = full;
    }
    return LH_OK;
}

static lh_status mount_remove_debris(lh_storage *s, const char *prefix, int64_t cutoff_ms,
                                     bool dry_run, size_t *removed, lh_error *err)
{
    const char *k;
    lh_storage *t = route(s, prefix, &k);
    if (!t->ops->remove_debris) return LH_OK;
    return t->ops->remove_debris(t, k, cutoff_ms, dry_run, removed, err);
}

static const lh_storage_ops mount_ops = {
    .scheme = "mount",
    .free = mount_free,
    .local_path = mount_local_path,
    .key_uri = mount_key_uri,
    .can_lease = mount_can_lease,
    .read = mount_read,
    .stat = mount_stat,
    .reader_open = mount_reader_open,
    .writer_open = mount_writer_open,
    .put_if_absent = mount_put_if_absent,
    .put_if_absent_leased = mount_put_if_absent_leased,
    .lease_abandoned = mount_lease_abandoned,
    .del = mount_del,
    .del_many = mount_del_many,
    .list = mount_list,
    .remove_debris = mount_remove_debris,
};

lh_status lh_storage_mount(lh_storage *outer, const char *mount, lh_storage *inner,
                           lh_storage **out, lh_error *err)
{
    *out = NULL;
    lh_status rc = lh_storage_check_key(mount, err);
    if (rc == LH_OK && strchr(mount, '/'))
        rc = lh_error_set(err, LH_ERR_INVALID, "mount point \"%s\" is not one segment", mount);
    if (rc != LH_OK) {
        lh_storage_free(outer);
        lh_storage_free(inner);
        return rc;
    }
    mount_storage *m = lh_calloc(1, sizeof *m);
    m->base.ops = &mount_ops;
    m->base.uri = lh_strdup(lh_storage_uri(outer));
    m->outer = outer;
    m->inner = inner;
    m->mount = lh_strdup(mount);
    m->mount_len = strlen(mount);
    *out = &m->base;
    return LH_OK;
}
