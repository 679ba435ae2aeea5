/* lh-s3: drive the storage layer (any backend, built for S3) from the
 * interop tests.
 *
 *   lh-s3 put URI KEY FILE             streaming writer, 1 MiB writes
 *   lh-s3 put-if-absent URI KEY FILE   exit 3 if KEY exists
 *   lh-s3 get URI KEY                  object bytes on stdout
 *   lh-s3 pread URI KEY OFF N          N bytes at OFF on stdout (reader)
 *   lh-s3 stat URI KEY                 "size mtime_ms"
 *   lh-s3 list URI PREFIX [r|d]        keys, one a line (r: recursive, d: with dirs)
 *   lh-s3 rm URI KEY
 *   lh-s3 rm-prefix URI PREFIX
 *   lh-s3 copy SRC_URI DST_URI         every key of SRC to DST (streamed)
 * Exit 0 on success; 3 for LH_ERR_EXISTS; 4 for LH_ERR_NOT_FOUND; otherwise
 * 1 with "<status>: <message>" on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"

#define CHUNK (1 << 20)

static int fail(lh_status rc, const lh_error *err)
{
    fprintf(stderr, "%s: %s\n", lh_status_name(rc), err->msg);
    return rc == LH_ERR_EXISTS ? 3 : rc == LH_ERR_NOT_FOUND ? 4 : 1;
}

static lh_status put_file(lh_storage *s, const char *key, const char *path, bool if_absent, lh_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return lh_error_set(err, LH_ERR_IO, "cannot open %s", path);
    lh_storage_writer *w;
    lh_status rc = lh_storage_writer_open(s, key, &w, err);
    if (rc != LH_OK) {
        fclose(f);
        return rc;
    }
    char *buf = malloc(CHUNK);
    size_t n;
    while (rc == LH_OK && (n = fread(buf, 1, CHUNK, f)) > 0) rc = lh_storage_writer_write(w, buf, n, err);
    if (rc == LH_OK && ferror(f)) rc = lh_error_set(err, LH_ERR_IO, "read error on %s", path);
    if (rc == LH_OK) rc = if_absent ? lh_storage_writer_commit_if_absent(w, err) : lh_storage_writer_commit(w, err);
    lh_storage_writer_free(w);
    free(buf);
    fclose(f);
    return rc;
}

static lh_status copy_all(lh_storage *src, lh_storage *dst, lh_error *err)
{
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_storage_list(src, "", LH_LIST_RECURSIVE, &keys, err);
    char *buf = malloc(CHUNK);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        lh_storage_reader *r;
        rc = lh_storage_reader_open(src, keys.items[i], &r, err);
        if (rc != LH_OK) break;
        lh_storage_writer *w;
        rc = lh_storage_writer_open(dst, keys.items[i], &w, err);
        uint64_t size = lh_storage_reader_size(r);
        for (uint64_t off = 0; rc == LH_OK && off < size; off += CHUNK) {
            size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
            rc = lh_storage_reader_pread(r, off, buf, n, err);
            if (rc == LH_OK) rc = lh_storage_writer_write(w, buf, n, err);
        }
        if (rc == LH_OK) rc = lh_storage_writer_commit(w, err);
        if (w) lh_storage_writer_free(w);
        lh_storage_reader_free(r);
    }
    free(buf);
    lh_strlist_free(&keys);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: lh-s3 CMD URI ...\n");
        return 2;
    }
    const char *cmd = argv[1];
    lh_error err;
    lh_error_clear(&err);
    lh_storage *s;
    lh_status rc = lh_storage_open(argv[2], &s, &err);
    if (rc != LH_OK) return fail(rc, &err);
    int ret = 0;
    lh_buf b = LH_BUF_INIT;
    if ((strcmp(cmd, "put") == 0 || strcmp(cmd, "put-if-absent") == 0) && argc == 5) {
        rc = put_file(s, argv[3], argv[4], cmd[3] == '-', &err);
    } else if (strcmp(cmd, "get") == 0 && argc == 4) {
        rc = lh_storage_read(s, argv[3], &b, &err);
        if (rc == LH_OK) fwrite(b.data, 1, b.len, stdout);
    } else if (strcmp(cmd, "pread") == 0 && argc == 6) {
        lh_storage_reader *r;
        rc = lh_storage_reader_open(s, argv[3], &r, &err);
        if (rc == LH_OK) {
            size_t n = strtoull(argv[5], NULL, 10);
            lh_buf_reserve(&b, n);
            rc = lh_storage_reader_pread(r, strtoull(argv[4], NULL, 10), b.data, n, &err);
            if (rc == LH_OK) fwrite(b.data, 1, n, stdout);
            lh_storage_reader_free(r);
        }
    } else if (strcmp(cmd, "stat") == 0 && argc == 4) {
        lh_stat st;
        rc = lh_storage_stat(s, argv[3], &st, &err);
        if (rc == LH_OK) printf("%llu %lld\n", (unsigned long long)st.size, (long long)st.mtime_ms);
    } else if (strcmp(cmd, "list") == 0 && (argc == 4 || argc == 5)) {
        int flags = argc == 5 ? (strchr(argv[4], 'r') ? LH_LIST_RECURSIVE : 0) | (strchr(argv[4], 'd') ? LH_LIST_DIRS : 0) : 0;
        lh_strlist keys;
        lh_strlist_init(&keys);
        rc = lh_storage_list(s, argv[3], flags, &keys, &err);
        for (size_t i = 0; rc == LH_OK && i < keys.len; i++) printf("%s\n", keys.items[i]);
        lh_strlist_free(&keys);
    } else if (strcmp(cmd, "rm") == 0 && argc == 4) {
        rc = lh_storage_delete(s, argv[3], &err);
    } else if (strcmp(cmd, "rm-prefix") == 0 && argc == 4) {
        rc = lh_storage_delete_prefix(s, argv[3], &err);
    } else if (strcmp(cmd, "copy") == 0 && argc == 4) {
        lh_storage *dst;
        rc = lh_storage_open(argv[3], &dst, &err);
        if (rc == LH_OK) {
            rc = copy_all(s, dst, &err);
            lh_storage_free(dst);
        }
    } else {
        fprintf(stderr, "lh-s3: bad command or arguments: %s\n", cmd);
        ret = 2;
    }
    if (rc != LH_OK) ret = fail(rc, &err);
    lh_buf_free(&b);
    lh_storage_free(s);
    return ret;
}
