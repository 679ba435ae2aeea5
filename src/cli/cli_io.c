/* -i and -o of the commands as stdio streams: local paths (file:// URIs
 * too, as the reference's fsspec takes them) and s3:// objects; inputs
 * compressed with gzip, bzip2, xz, zstd or LZ4 frames come decompressed,
 * told by their first bytes whatever their name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "lh/core/mem.h"
#include "lh/core/stream_codec.h"

#define CHUNK (1u << 16)

/* Why the last stream of this process failed, for lh_cli_fail: a cookie
 * stream can only say EIO through stdio. */
static lh_error io_cause;
static bool io_cause_set;

const char *lh_cli_io_cause(void)
{
    return io_cause_set ? io_cause.msg : NULL;
}

static ssize_t fail(const lh_error *e)
{
    io_cause = *e;
    io_cause_set = true;
    errno = EIO;
    return -1;
}

/* The local path of an -i/-o argument. */
static const char *local_path(const char *path)
{
    return strncmp(path, "file://", 7) == 0 ? path + 7 : path;
}

static bool is_s3(const char *path)
{
    return strncmp(path, "s3://", 5) == 0;
}

/* An s3:// URI as the storage of its "directory" and the object's key. */
static lh_status s3_open(const char *uri, lh_storage **st, const char **key, lh_error *err)
{
    const char *slash = strrchr(uri + 5, '/');
    if (!slash || !slash[1] || slash == uri + 5)
        return lh_error_set(err, LH_ERR_INVALID, "not an object (s3://BUCKET/KEY)");
    char *dir = lh_strndup(uri, (size_t)(slash - uri));
    lh_status rc = lh_storage_open(dir, st, err);
    free(dir);
    *key = slash + 1;
    return rc;
}

/* Bytes sniff needs to tell every codec. */
#define MAGIC_MAX 10

static lh_stream_codec sniff(const unsigned char *p, size_t n)
{
    static const struct {
        lh_stream_codec codec;
        const char *magic;
        size_t len;
    } MAGIC[] = {
        {LH_STREAM_GZ, "\x1f\x8b", 2},
        {LH_STREAM_ZST, "\x28\xb5\x2f\xfd", 4},
        {LH_STREAM_XZ, "\xfd" "7zXZ\x00", 6},
        {LH_STREAM_LZ4, "\x04\x22\x4d\x18", 4},
    };
    for (size_t i = 0; i < sizeof MAGIC / sizeof *MAGIC; i++)
        if (n >= MAGIC[i].len && memcmp(p, MAGIC[i].magic, MAGIC[i].len) == 0)
            return MAGIC[i].codec;
    /* "BZh" alone starts plain text too (an id list, a YAML key): a bzip2
     * stream goes on with its level and the magic of its first block, or of
     * its end when it is empty */
    if (n >= MAGIC_MAX && memcmp(p, "BZh", 3) == 0 && p[3] >= '1' && p[3] <= '9' &&
        (memcmp(p + 4, "\x31\x41\x59\x26\x53\x59", 6) == 0 ||
         memcmp(p + 4, "\x17\x72\x45\x38\x50\x90", 6) == 0))
        return LH_STREAM_BZ2;
    return LH_STREAM_PLAIN;
}

/* ---- input ---- */

typedef struct in_stream {
    FILE *raw;               /* a local file or stdin; NULL: S3 */
    lh_storage *st;          /* S3 */
    lh_storage_reader *sr;
    uint64_t off;
    lh_stream_decoder *dec;  /* NULL: plain */
    bool started, eof;
    lh_buf plain;            /* bytes to hand out from plain_pos */
    size_t plain_pos;
    char *raw_buf;
    /* the first bytes of raw, read to sniff them: a pipe cannot seek back */
    unsigned char head[MAGIC_MAX];
    size_t head_len;
} in_stream;

static lh_status emit(void *ctx, const void *data, size_t n, lh_error *err)
{
    (void)err;
    lh_buf_append(&((in_stream *)ctx)->plain, data, n);
    return LH_OK;
}

static lh_status read_raw(in_stream *s, size_t *n, lh_error *err)
{
    if (s->raw) {
        size_t h = s->head_len;
        memcpy(s->raw_buf, s->head, h);
        s->head_len = 0;
        *n = h + fread(s->raw_buf + h, 1, CHUNK - h, s->raw);
        if (*n < CHUNK && ferror(s->raw))
            return lh_error_errno(err, LH_ERR_IO, errno ? errno : EIO, "read");
        return LH_OK;
    }
    uint64_t size = lh_storage_reader_size(s->sr);
    *n = size - s->off < CHUNK ? (size_t)(size - s->off) : CHUNK;
    LH_TRY(lh_storage_reader_pread(s->sr, s->off, s->raw_buf, *n, err));
    s->off += *n;
    return LH_OK;
}

/* Fill s->plain with the next bytes; none at the end. */
static lh_status refill(in_stream *s, lh_error *err)
{
    lh_buf_reset(&s->plain);
    s->plain_pos = 0;
    while (!s->eof && !s->plain.len) {
        size_t n;
        LH_TRY(read_raw(s, &n, err));
        if (!s->started) {
            s->started = true;
            lh_stream_codec c = sniff((const unsigned char *)s->raw_buf, n);
            if (c != LH_STREAM_PLAIN) LH_TRY(lh_stream_decoder_new(c, "decompressing", &s->dec, err));
        }
        if (!n) {
            s->eof = true;
            if (s->dec) LH_TRY(lh_stream_decoder_finish(s->dec, err));
        } else if (s->dec) {
            LH_TRY(lh_stream_decoder_feed(s->dec, s->raw_buf, n, emit, s, err));
        } else {
            lh_buf_append(&s->plain, s->raw_buf, n);
        }
    }
    return LH_OK;
}

static ssize_t in_read(void *cookie, char *buf, size_t size)
{
    in_stream *s = cookie;
    if (s->plain_pos == s->plain.len) {
        lh_error err;
        if (refill(s, &err) != LH_OK) return fail(&err);
    }
    size_t n = s->plain.len - s->plain_pos;
    /* empty input (stdin, a pipe, an empty gzip) never filled plain: its
     * data is still NULL, which memcpy must not be handed even for 0 bytes */
    if (!n) return 0;
    if (n > size) n = size;
    memcpy(buf, s->plain.data + s->plain_pos, n);
    s->plain_pos += n;
    return (ssize_t)n;
}

static int in_close(void *cookie)
{
    in_stream *s = cookie;
    if (s->raw && s->raw != stdin) fclose(s->raw);
    lh_storage_reader_free(s->sr);
    lh_storage_free(s->st);
    lh_stream_decoder_free(s->dec);
    lh_buf_free(&s->plain);
    free(s->raw_buf);
    free(s);
    return 0;
}

static FILE *in_cookie(in_stream *s, const char *path, lh_error *err)
{
    s->raw_buf = lh_malloc(CHUNK);
    FILE *f = fopencookie(s, "r", (cookie_io_functions_t){.read = in_read, .close = in_close});
    if (!f) {
        lh_error_errno(err, LH_ERR_IO, errno, "cannot read `%s`", path);
        in_close(s);
    }
    return f;
}

FILE *lh_cli_open_in(const char *path, lh_error *err)
{
    io_cause_set = false; /* a cause is the last stream's */
    in_stream *s;
    if (path && is_s3(path)) {
        const char *key = NULL;
        lh_storage *st = NULL;
        lh_storage_reader *sr = NULL;
        lh_status rc = s3_open(path, &st, &key, err);
        if (rc == LH_OK) rc = lh_storage_reader_open(st, key, &sr, err);
        if (rc != LH_OK) {
            lh_storage_free(st);
            lh_error_prefix(err, "cannot read `%s`", path);
            return NULL;
        }
        s = lh_calloc(1, sizeof *s);
        s->st = st;
        s->sr = sr;
        return in_cookie(s, path, err);
    }
    FILE *raw = stdin;
    if (path && strcmp(path, "-") != 0) {
        raw = fopen(local_path(path), "r");
        if (!raw) {
            lh_error_errno(err, LH_ERR_IO, errno, "cannot read `%s`", path);
            return NULL;
        }
    }
    s = lh_calloc(1, sizeof *s);
    s->raw = raw;
    if (raw != stdin) {
        /* a plain file is handed out as it is, without a copy of its
         * bytes, when it can go back to its start; a pipe named by its path
         * (/dev/stdin, <(...)) cannot: the bytes read go in front */
        s->head_len = fread(s->head, 1, sizeof s->head, raw);
        if (!ferror(raw) && sniff(s->head, s->head_len) == LH_STREAM_PLAIN &&
            fseek(raw, 0, SEEK_SET) == 0) {
            free(s);
            return raw;
        }
    }
    return in_cookie(s, path ? path : "-", err);
}

void lh_cli_close(FILE *f)
{
    if (f && f != stdout && f != stdin && f != stderr) fclose(f);
    else if (f == stdout) fflush(stdout);
}

/* ---- output ---- */

typedef struct out_stream {
    lh_storage *st;
    lh_storage_writer *w;
    FILE *f;
    bool abort; /* the command failed: store nothing */
    /* a write failed: store nothing either. stdio may not pass the failure
     * on (glibc takes a cookie's -1 for a direct write of a large block as
     * bytes written) and the command goes on; the writer then holds the
     * stream with a gap or bytes twice */
    bool failed;
    char *keep_mode_of; /* a file replaced: its path, to give the new one its mode */
    mode_t mode;
    struct out_stream *next;
} out_stream;

static out_stream *outs; /* the open ones */

static ssize_t out_write(void *cookie, const char *buf, size_t size)
{
    out_stream *o = cookie;
    if (o->failed) {
        errno = EIO;
        return -1;
    }
    lh_error err;
    if (lh_storage_writer_write(o->w, buf, size, &err) != LH_OK) {
        o->failed = true;
        return fail(&err);
    }
    return (ssize_t)size;
}

/* The object is written whole here, and only here: an output that failed
 * before leaves none. */
static int out_close(void *cookie)
{
    out_stream *o = cookie;
    for (out_stream **p = &outs; *p; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            break;
        }
    lh_error err;
    bool failed = o->failed; /* its cause is set already */
    lh_status rc = o->w && !o->abort && !failed ? lh_storage_writer_commit(o->w, &err) : LH_OK;
    lh_storage_writer_free(o->w); /* aborts an upload not committed */
    lh_storage_free(o->st);
    if (rc == LH_OK && !failed && !o->abort && o->keep_mode_of) (void)chmod(o->keep_mode_of, o->mode);
    free(o->keep_mode_of);
    free(o);
    if (failed) {
        errno = EIO;
        return -1;
    }
    return rc == LH_OK ? 0 : (int)fail(&err);
}

/* mkdir -p of the directories above path: the reference's outputs
 * (fsspec, auto_mkdir) create them, so `-o out/dir/file` works there. */
static void make_parents(const char *path)
{
    char *dir = lh_strdup(path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        /* an error shows in the fopen that follows, naming the path */
        (void)mkdir(dir, 0777);
        *p = '/';
    }
    free(dir);
}

/* An output through a storage writer: the object appears whole when the
 * command succeeds, and not at all when it fails. st is the output's. */
static FILE *storage_out(lh_storage *st, const char *key, const char *path,
                         const struct stat *replaced, lh_error *err)
{
    out_stream *o = lh_calloc(1, sizeof *o);
    o->st = st;
    if (replaced) {
        o->keep_mode_of = lh_strdup(local_path(path));
        o->mode = replaced->st_mode & 07777;
    }
    lh_status rc = lh_storage_writer_open(o->st, key, &o->w, err);
    FILE *f = NULL;
    if (rc == LH_OK) {
        f = fopencookie(o, "w", (cookie_io_functions_t){.write = out_write, .close = out_close});
        if (!f) rc = lh_error_errno(err, LH_ERR_IO, errno, "fopencookie");
    }
    if (f) {
        o->f = f;
        o->next = outs;
        outs = o;
    }
    if (rc != LH_OK) {
        lh_error_prefix(err, "cannot write `%s`", path);
        lh_storage_writer_free(o->w);
        o->w = NULL;
        out_close(o);
    }
    return f;
}

/* A regular file (new or replaced) goes through a temp file renamed into
 * place on success, so a failed command leaves the old file, not half a
 * new one; anything else (a pipe, a device, a symlink) is written in
 * place. NULL when path is not such a file: the caller opens it. */
static FILE *local_file_out(const char *local, const char *path, lh_error *err)
{
    struct stat sb;
    bool exists = lstat(local, &sb) == 0;
    if (exists && !S_ISREG(sb.st_mode)) return NULL;
    const char *slash = strrchr(local, '/');
    const char *name = slash ? slash + 1 : local;
    char *dir = slash ? lh_strndup(local, (size_t)(slash - local)) : lh_strdup(".");
    if (!*dir) {
        free(dir);
        dir = lh_strdup("/");
    }
    lh_error e;
    lh_storage *st = NULL;
    FILE *f = NULL;
    if (lh_storage_check_key(name, &e) == LH_OK && lh_storage_open(dir, &st, &e) == LH_OK)
        f = storage_out(st, name, path, exists ? &sb : NULL, err);
    free(dir);
    return f;
}

FILE *lh_cli_open_out(const char *path, lh_error *err)
{
    io_cause_set = false;
    if (!path || strcmp(path, "-") == 0) return stdout;
    lh_storage *st = NULL;
    const char *key = NULL;
    if (is_s3(path)) {
        lh_status rc = s3_open(path, &st, &key, err);
        if (rc != LH_OK) {
            lh_storage_free(st);
            lh_error_prefix(err, "cannot write `%s`", path);
            return NULL;
        }
        return storage_out(st, key, path, NULL, err);
    }
    const char *local = local_path(path);
    make_parents(local);
    FILE *f = local_file_out(local, path, err);
    if (f) return f;
    f = fopen(local, "w");
    if (!f) lh_error_errno(err, LH_ERR_IO, errno, "cannot write `%s`", path);
    return f;
}

lh_status lh_cli_close_out(FILE *f, const char *path, lh_status rc, lh_error *err)
{
    if (!f) return rc;
    for (out_stream *o = outs; o; o = o->next)
        if (o->f == f) o->abort = rc != LH_OK;
    /* buffered output fails only here on a full disk or a closed pipe */
    bool failed = f == stdout ? fflush(f) != 0 || ferror(f) : ferror(f) | (fclose(f) != 0);
    int e = errno;
    if (failed && rc == LH_OK)
        return lh_error_errno(err, LH_ERR_IO, e ? e : EIO, "writing `%s`",
                              !path || strcmp(path, "-") == 0 ? "standard output" : path);
    return rc;
}
