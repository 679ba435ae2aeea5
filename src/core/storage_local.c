/* Local filesystem backend. Durability protocol for every write: data goes to
 * a temp file in the target directory, is fsync'ed, then renamed (or linked,
 * for put-if-absent) into place, and the directory is fsync'ed, so a crash at
 * any point leaves either the old state or the complete new object. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lh/core/mem.h"
#include "lh/core/storage.h"

#define TMP_PREFIX ".lh-tmp-"
#define WRITE_BUF (1 << 20)

typedef struct local_storage {
    lh_storage base;
    char *root; /* absolute path, no trailing '/' (except "/") */
} local_storage;

/* ---- fault injection ---- */

static atomic_int fault_countdown;
static atomic_int fault_errno;

void lh_storage_fault_fsync(int nth, int errnum)
{
    atomic_store(&fault_errno, errnum);
    atomic_store(&fault_countdown, nth);
}

static int do_fsync(int fd)
{
    int n = atomic_load(&fault_countdown);
    if (n > 0) {
        if (atomic_fetch_sub(&fault_countdown, 1) == 1) {
            errno = atomic_load(&fault_errno);
            return -1;
        }
    }
    return fsync(fd);
}

/* ---- helpers ---- */

static char *join(const local_storage *ls, const char *key)
{
    if (!key || !*key) return lh_strdup(ls->root);
    return lh_asprintf("%s/%s", strcmp(ls->root, "/") == 0 ? "" : ls->root, key);
}

static lh_status fsync_dir(const char *dir, lh_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return lh_error_errno(err, LH_ERR_IO, errno, "open directory %s", dir);
    int rc = do_fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0) return lh_error_errno(err, LH_ERR_IO, e, "fsync directory %s", dir);
    return LH_OK;
}

static char *dirname_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return lh_strdup(".");
    if (slash == path) return lh_strdup("/");
    return lh_strndup(path, (size_t)(slash - path));
}

/* mkdir -p; each directory created is made durable in its parent. */
static lh_status mkdirs(const char *dir, lh_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return LH_OK;
        return lh_error_set(err, LH_ERR_IO, "%s exists and is not a directory", dir);
    }
    char *parent = dirname_of(dir);
    lh_status rc = LH_OK;
    if (strcmp(parent, dir) != 0) rc = mkdirs(parent, err);
    if (rc == LH_OK) {
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            rc = lh_error_errno(err, LH_ERR_IO, errno, "create directory %s", dir);
        else
            rc = fsync_dir(parent, err);
    }
    free(parent);
    return rc;
}

static lh_status map_open_errno(int e, const char *path, const char *what, lh_error *err)
{
    if (e == ENOENT || e == ENOTDIR)
        return lh_error_set(err, LH_ERR_NOT_FOUND, "%s: no such file", path);
    return lh_error_errno(err, LH_ERR_IO, e, "%s %s", what, path);
}

static lh_status write_all(int fd, const void *data, size_t n, const char *path, lh_error *err)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return lh_error_errno(err, LH_ERR_IO, errno, "write %s", path);
        }
        p += w;
        n -= (size_t)w;
    }
    return LH_OK;
}

static lh_status open_temp(const char *dir, char **tmp_path, int *fd_out, lh_error *err)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r ^= (uint64_t)getpid() << 20;
    char *path = lh_asprintf("%s/" TMP_PREFIX "%d-%016llx", dir, (int)getpid(), (unsigned long long)r);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        lh_status rc = lh_error_errno(err, LH_ERR_IO, errno, "create %s", path);
        free(path);
        return rc;
    }
    *tmp_path = path;
    *fd_out = fd;
    return LH_OK;
}

/* ---- streaming writer ---- */

typedef struct local_writer {
    lh_storage_writer base;
    char *path;
    char *tmp;
    int fd;
    lh_buf pending;
} local_writer;

static lh_status lw_flush(local_writer *w, lh_error *err)
{
    if (!w->pending.len) return LH_OK;
    lh_status rc = write_all(w->fd, w->pending.data, w->pending.len, w->tmp, err);
    lh_buf_reset(&w->pending);
    return rc;
}

static lh_status lw_write(lh_storage_writer *base, const void *data, size_t n, lh_error *err)
{
    local_writer *w = (local_writer *)base;
    if (w->pending.len + n > WRITE_BUF) {
        LH_TRY(lw_flush(w, err));
        if (n >= WRITE_BUF) return write_all(w->fd, data, n, w->tmp, err);
    }
    lh_buf_append(&w->pending, data, n);
    return LH_OK;
}

static lh_status lw_commit(lh_storage_writer *base, bool if_absent, lh_error *err)
{
    local_writer *w = (local_writer *)base;
    LH_TRY(lw_flush(w, err));
    if (do_fsync(w->fd) != 0) return lh_error_errno(err, LH_ERR_IO, errno, "fsync %s", w->tmp);
    if (close(w->fd) != 0) {
        w->fd = -1;
        return lh_error_errno(err, LH_ERR_IO, errno, "close %s", w->tmp);
    }
    w->fd = -1;
    if (if_absent) {
        /* link(2) fails with EEXIST atomically: the put-if-absent primitive. */
        if (link(w->tmp, w->path) != 0) {
            int e = errno;
            if (e == EEXIST) return lh_error_set(err, LH_ERR_EXISTS, "%s already exists", w->path);
            return lh_error_errno(err, LH_ERR_IO, e, "link %s", w->path);
        }
        unlink(w->tmp);
    } else if (rename(w->tmp, w->path) != 0) {
        return lh_error_errno(err, LH_ERR_IO, errno, "rename %s to %s", w->tmp, w->path);
    }
    free(w->tmp);
    w->tmp = NULL;
    char *dir = dirname_of(w->path);
    lh_status rc = fsync_dir(dir, err);
    free(dir);
    return rc;
}

static void lw_abort(lh_storage_writer *base)
{
    local_writer *w = (local_writer *)base;
    if (w->fd >= 0) close(w->fd);
    if (w->tmp) unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w->base.key);
    lh_buf_free(&w->pending);
    free(w);
}

static lh_status local_writer_open(lh_storage *s, const char *key, lh_storage_writer **out,
                                   lh_error *err)
{
    local_storage *ls = (local_storage *)s;
    char *path = join(ls, key);
    char *dir = dirname_of(path);
    char *tmp = NULL;
    int fd = -1;
    lh_status rc = LH_OK;
    /* A concurrent delete prunes empty directories (prune_empty_dirs), so
     * the one just made can vanish before the temp file lands in it: make
     * it again. */
    for (int attempt = 0; attempt < 16; attempt++) {
        rc = mkdirs(dir, err);
        if (rc == LH_OK) rc = open_temp(dir, &tmp, &fd, err);
        if (rc == LH_OK || !err || err->sys_errno != ENOENT) break;
    }
    free(dir);
    if (rc != LH_OK) {
        free(path);
        return rc;
    }
    local_writer *w = lh_calloc(1, sizeof *w);
    w->base.write = lw_write;
    w->base.commit = lw_commit;
    w->base.abort = lw_abort;
    w->base.key = lh_strdup(key);
    w->path = path;
    w->tmp = tmp;
    w->fd = fd;
    lh_buf_init(&w->pending);
    *out = &w->base;
    return LH_OK;
}

static lh_status local_put_if_absent(lh_storage *s, const char *key, const void *data, size_t n,
                                     lh_error *err)
{
    lh_storage_writer *w;
    LH_TRY(local_writer_open(s, key, &w, err));
    lh_status rc = lw_write(w, data, n, err);
    if (rc == LH_OK) rc = lw_commit(w, true, err);
    lw_abort(w);
    return rc;
}

/* ---- leases: flock(2) on the object's inode ---- */

typedef struct local_lease {
    lh_storage_lease base;
    int fd; /* holds the flock; closing it drops the lease */
} local_lease;

static void local_lease_free(lh_storage_lease *base)
{
    local_lease *l = (local_lease *)base;
    close(l->fd);
    free(l);
}

/* File systems without flock (some FUSE mounts) say so with these. */
static bool flock_unsupported(int e)
{
    return e == ENOLCK || e == EINVAL || e == EOPNOTSUPP || e == ENOSYS;
}

/* Whether path names fd's inode (not one put there since). */
static bool names_inode(const char *path, int fd)
{
    struct stat mine, named;
    return fstat(fd, &mine) == 0 && stat(path, &named) == 0 && mine.st_dev == named.st_dev &&
           mine.st_ino == named.st_ino;
}

/* The flock is taken on the temp file before link(2) names it key, so no
 * waiter ever finds the key unleased while its creator lives; a duplicate
 * of the descriptor keeps it once the writer closes its own. */
static lh_status local_put_if_absent_leased(lh_storage *s, const char *key, const void *data,
                                            size_t n, lh_storage_lease **lease, lh_error *err)
{
    lh_storage_writer *w;
    LH_TRY(local_writer_open(s, key, &w, err));
    local_writer *lw = (local_writer *)w;
    lh_status rc = LH_OK;
    int held = -1;
    if (flock(lw->fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        rc = flock_unsupported(e) ? lh_error_set(err, LH_ERR_UNSUPPORTED, "no flock on %s", lw->tmp)
                                  : lh_error_errno(err, LH_ERR_IO, e, "lock %s", lw->tmp);
    } else if ((held = fcntl(lw->fd, F_DUPFD_CLOEXEC, 3)) < 0) {
        /* (3 and up: a process started with stdout closed must not find
         * its output going into the lock) */
        rc = lh_error_errno(err, LH_ERR_IO, errno, "duplicate the descriptor of %s", lw->tmp);
    }
    if (rc == LH_OK) rc = lw_write(w, data, n, err);
    if (rc == LH_OK) rc = lw_commit(w, true, err);
    if (rc != LH_OK && held >= 0 && !lw->tmp) {
        /* Linked (the temp is gone), then failed (the directory's fsync):
         * the key names our inode, which only we can remove while we hold
         * its flock. Remove it before the lease goes: after, a waiter may
         * take the key over and make its own, and a caller's cleanup that
         * reads the key and then deletes it would remove that live lock. */
        if (names_inode(lw->path, held)) unlink(lw->path);
    }
    lw_abort(w);
    if (rc != LH_OK) {
        if (held >= 0) close(held);
        return rc;
    }
    local_lease *l = lh_malloc(sizeof *l);
    l->base.free = local_lease_free;
    l->fd = held;
    *lease = &l->base;
    return LH_OK;
}

static bool fd_holds(int fd, const void *data, size_t n)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size != n) return false;
    char *found = lh_malloc(n ? n : 1);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, found + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    bool same = got == n && memcmp(found, data, n) == 0;
    free(found);
    return same;
}

/* Whoever holds the flock of the key's inode is its creator or the one
 * caller removing it: while we hold it, the key can only change by its
 * creator's release, which fstat against stat tells. */
static lh_status local_lease_abandoned(lh_storage *s, const char *key, const void *data, size_t n,
                                       bool remove, bool *abandoned, lh_error *err)
{
    local_storage *ls = (local_storage *)s;
    char *path = join(ls, key);
    lh_status rc = LH_OK;
    /* For writing where we may: NFS emulates flock(2) with fcntl(2) locks,
     * whose exclusive lock needs a descriptor open for writing (EBADF on a
     * read-only one, and the lease could never be asked). Read-only where
     * the file or the mount refuses writing, as before. */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR) rc = lh_error_errno(err, LH_ERR_IO, errno, "open %s", path);
        free(path);
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && !flock_unsupported(errno))
            rc = lh_error_errno(err, LH_ERR_IO, errno, "lock %s", path);
    } else if (fd_holds(fd, data, n) && names_inode(path, fd)) {
        if (remove && unlink(path) != 0) {
            rc = lh_error_errno(err, LH_ERR_IO, errno, "delete %s", path);
        } else {
            *abandoned = true;
            if (remove) {
                char *dir = dirname_of(path);
                rc = fsync_dir(dir, err);
                free(dir);
            }
        }
    }
    close(fd);
    free(path);
    return rc;
}

/* ---- reads ---- */

typedef struct local_reader {
    lh_storage_reader base;
    int fd;
} local_reader;

static lh_status lr_pread(lh_storage_reader *base, uint64_t off, void *dst, size_t n, lh_error *err)
{
    local_reader *r = (local_reader *)base;
    char *p = dst;
    while (n) {
        ssize_t got = pread(r->fd, p, n, (off_t)off);
        if (got < 0) {
            if (errno == EINTR) continue;
            return lh_error_errno(err, LH_ERR_IO, errno, "read %s", r->base.key);
        }
        if (got == 0) return lh_error_set(err, LH_ERR_CORRUPT, "%s: unexpected end of file", r->base.key);
        p += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return LH_OK;
}

static void lr_free(lh_storage_reader *base)
{
    local_reader *r = (local_reader *)base;
    close(r->fd);
    free(r->base.key);
    free(r);
}

static lh_status local_reader_open(lh_storage *s, const char *key, lh_storage_reader **out,
                                   lh_error *err)
{
    local_storage *ls = (local_storage *)s;
    char *path = join(ls, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lh_status rc = map_open_errno(errno, path, "open", err);
        free(path);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        lh_status rc = S_ISDIR(st.st_mode) ? lh_error_set(err, LH_ERR_NOT_FOUND, "%s is a directory", path)
                                           : lh_error_errno(err, LH_ERR_IO, errno, "stat %s", path);
        close(fd);
        free(path);
        return rc;
    }
    free(path);
    local_reader *r = lh_calloc(1, sizeof *r);
    r->base.pread = lr_pread;
    r->base.free = lr_free;
    r->base.size = (uint64_t)st.st_size;
    r->base.key = lh_strdup(key);
    r->fd = fd;
    *out = &r->base;
    return LH_OK;
}

static lh_status local_read(lh_storage *s, const char *key, lh_buf *out, lh_error *err)
{
    lh_storage_reader *r;
    LH_TRY(local_reader_open(s, key, &r, err));
    size_t n = (size_t)r->size;
    lh_buf_reserve(out, n);
    lh_status rc = n ? lr_pread(r, 0, out->data + out->len, n, err) : LH_OK;
    if (rc == LH_OK) {
        out->len += n;
        out->data[out->len] = '\0';
    }
    lr_free(r);
    return rc;
}

static int64_t mtime_ms(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000 + sb->st_mtim.tv_nsec / 1000000;
}

static lh_status local_stat(lh_storage *s, const char *key, lh_stat *st, lh_error *err)
{
    local_storage *ls = (local_storage *)s;
    char *path = join(ls, key);
    struct stat sb;
    lh_status rc = LH_OK;
    if (stat(path, &sb) != 0) rc = map_open_errno(errno, path, "stat", err);
    else if (S_ISDIR(sb.st_mode)) rc = lh_error_set(err, LH_ERR_NOT_FOUND, "%s is a directory", path);
    else {
        st->size = (uint64_t)sb.st_size;
        st->mtime_ms = mtime_ms(&sb);
    }
    free(path);
    return rc;
}

/* Remove now-empty parent directories up to the root, so deleting every key
 * of a prefix leaves no skeleton behind. Best effort: failures are ignored. */
static void prune_empty_dirs(const local_storage *ls, const char *path)
{
    char *dir = dirname_of(path);
    while (strlen(dir) > strlen(ls->root) && rmdir(dir) == 0) {
        char *up = dirname_of(dir);
        free(dir);
        dir = up;
    }
    free(dir);
}

static lh_status local_delete(lh_storage *s, const char *key, lh_error *err)
{
    local_storage *ls = (local_storage *)s;
    char *path = join(ls, key);
    lh_status rc = LH_OK;
    if (unlink(path) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) rc = lh_error_errno(err, LH_ERR_IO, errno, "delete %s", path);
    } else {
        char *dir = dirname_of(path);
        rc = fsync_dir(dir, err);
        free(dir);
        prune_empty_dirs(ls, path);
    }
    free(path);
    return rc;
}

/* *d: fs_dir opened for reading, or NULL when it does not exist. */
static lh_status open_dir(const char *fs_dir, DIR **d, lh_error *err)
{
    *d = opendir(fs_dir);
    if (*d || errno == ENOENT || errno == ENOTDIR) return LH_OK;
    return lh_error_errno(err, LH_ERR_IO, errno, "list %s", fs_dir);
}

/* The next entry other than "." and "..", or NULL. */
static struct dirent *next_entry(DIR *d)
{
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) break;
    return e;
}

static bool is_temp(const char *name)
{
    return strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
}

static lh_status list_dir(const char *fs_dir, const char *key_prefix, int flags, lh_strlist *out,
                          lh_error *err)
{
    DIR *d;
    LH_TRY(open_dir(fs_dir, &d, err));
    if (!d) return LH_OK;
    lh_status rc = LH_OK;
    struct dirent *e;
    while (rc == LH_OK && (e = next_entry(d)) != NULL) {
        if (is_temp(e->d_name)) continue;
        char *child = lh_asprintf("%s/%s", fs_dir, e->d_name);
        char *key = lh_asprintf("%s%s", key_prefix, e->d_name);
        bool is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
            struct stat st;
            is_dir = stat(child, &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir) {
            if (flags & LH_LIST_RECURSIVE) {
                char *sub = lh_asprintf("%s/", key);
                rc = list_dir(child, sub, flags, out, err);
                free(sub);
            } else if (flags & LH_LIST_DIRS) {
                lh_strlist_push_owned(out, lh_asprintf("%s/", key));
            }
            free(key);
        } else {
            lh_strlist_push_owned(out, key);
        }
        free(child);
    }
    closedir(d);
    return rc;
}

static lh_status local_list(lh_storage *s, const char *prefix, int flags, lh_strlist *out, lh_error *err)
{
    local_storage *ls = (local_storage *)s;
    size_t n = strlen(prefix);
    char *key_prefix = n && prefix[n - 1] != '/' ? lh_asprintf("%s/", prefix) : lh_strdup(prefix);
    char *dir = n ? join(ls, key_prefix) : lh_strdup(ls->root);
    size_t dn = strlen(dir);
    if (dn > 1 && dir[dn - 1] == '/') dir[dn - 1] = '\0';
    lh_status rc = list_dir(dir, key_prefix, flags, out, err);
    free(dir);
    free(key_prefix);
    return rc;
}

/* Temp files (TMP_PREFIX) below fs_dir older than cutoff_ms. Links are
 * neither followed nor removed: only regular files this backend named. */
static lh_status debris_dir(const char *fs_dir, int64_t cutoff_ms, bool dry_run, size_t *removed,
                            lh_error *err)
{
    DIR *d;
    LH_TRY(open_dir(fs_dir, &d, err));
    if (!d) return LH_OK;
    lh_status rc = LH_OK;
    struct dirent *e;
    while (rc == LH_OK && (e = next_entry(d)) != NULL) {
        char *child = lh_asprintf("%s/%s", fs_dir, e->d_name);
        struct stat st;
        if (lstat(child, &st) != 0) {
            if (errno != ENOENT) rc = lh_error_errno(err, LH_ERR_IO, errno, "stat %s", child);
        } else if (S_ISDIR(st.st_mode)) {
            size_t before = *removed;
            rc = debris_dir(child, cutoff_ms, dry_run, removed, err);
            /* a directory that held only debris goes too, as after deletes */
            if (rc == LH_OK && !dry_run && *removed > before) (void)rmdir(child);
        } else if (S_ISREG(st.st_mode) && is_temp(e->d_name) &&
                   mtime_ms(&st) < cutoff_ms) {
            if (dry_run || unlink(child) == 0) (*removed)++;
            else if (errno != ENOENT) rc = lh_error_errno(err, LH_ERR_IO, errno, "delete %s", child);
        }
        free(child);
    }
    closedir(d);
    return rc;
}

static lh_status local_remove_debris(lh_storage *s, const char *prefix, int64_t cutoff_ms,
                                     bool dry_run, size_t *removed, lh_error *err)
{
    local_storage *ls = (local_storage *)s;
    char *dir = *prefix ? join(ls, prefix) : lh_strdup(ls->root);
    lh_status rc = debris_dir(dir, cutoff_ms, dry_run, removed, err);
    free(dir);
    return rc;
}

static char *local_local_path(const lh_storage *s, const char *key)
{
    return join((const local_storage *)s, key);
}

static void local_free(lh_storage *s)
{
    local_storage *ls = (local_storage *)s;
    free(ls->root);
    free(ls->base.uri);
    free(ls);
}

static const lh_storage_ops local_ops = {
    .scheme = "file",
    .free = local_free,
    .local_path = local_local_path,
    .read = local_read,
    .stat = local_stat,
    .reader_open = local_reader_open,
    .writer_open = local_writer_open,
    .put_if_absent = local_put_if_absent,
    .put_if_absent_leased = local_put_if_absent_leased,
    .lease_abandoned = local_lease_abandoned,
    .del = local_delete,
    .list = local_list,
    .remove_debris = local_remove_debris,
};

lh_status lh_storage_open_local(const char *uri, lh_storage **out, lh_error *err)
{
    const char *path = uri;
    if (strncmp(uri, "file://", 7) == 0) {
        path = uri + 7;
        if (path[0] != '/')
            return lh_error_set(err, LH_ERR_INVALID, "file URI must be absolute (file:///path): \"%s\"", uri);
    }
    char *abs;
    if (path[0] == '/') {
        abs = lh_strdup(path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) return lh_error_errno(err, LH_ERR_IO, errno, "getcwd");
        abs = lh_asprintf("%s/%s", cwd, path);
    }
    size_t n = strlen(abs);
    while (n > 1 && abs[n - 1] == '/') abs[--n] = '\0';
    local_storage *ls = lh_calloc(1, sizeof *ls);
    ls->base.ops = &local_ops;
    ls->root = abs;
    ls->base.uri = lh_asprintf("file://%s", abs);
    *out = &ls->base;
    return LH_OK;
}
