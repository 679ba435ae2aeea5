/* S3-compatible backend for "s3://bucket[/prefix]" URIs. Objects appear
 * atomically on S3, so a whole-object PUT (or a completed multipart upload)
 * is the commit; put-if-absent is a conditional PUT (If-None-Match: *).
 * Configuration: storage_s3_config.c; signed requests and retries:
 * storage_s3_http.c. */
#include <nettle/base64.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/libcurl_dyn.h"
#include "core/storage_s3.h"
#include "lh/core/hash.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"

#define READ_WINDOW ((size_t)64 << 10)
#define MD5_LEN 16

/* ---- helpers ---- */

static void md5(const void *data, size_t n, unsigned char out[MD5_LEN])
{
    struct md5_ctx c;
    md5_init(&c);
    md5_update(&c, n, data);
    md5_digest(&c, MD5_LEN, out);
}

/* Does the stored object's ETag equal want (quoted or not)? Used to settle a
 * conditional write whose earlier attempt may have succeeded unseen. */
static bool etag_matches(lh_s3 *s3, const char *key, const char *want)
{
    lh_s3_req req = {.method = "HEAD", .key = key};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    bool same = false;
    if (lh_s3_perform(s3, &req, &resp, NULL) == LH_OK && resp.status == 200) {
        const char *e = resp.etag;
        size_t n = strlen(e);
        if (n >= 2 && e[0] == '"' && e[n - 1] == '"') e++, n -= 2;
        same = n == strlen(want) && strncasecmp(e, want, n) == 0;
    }
    lh_s3_resp_free(&resp);
    return same;
}

static void query_add(lh_buf *q, const char *name, const char *value)
{
    if (q->len) lh_buf_append_byte(q, '&');
    lh_s3_uri_encode(q, name, false);
    lh_buf_append_byte(q, '=');
    lh_s3_uri_encode(q, value, false);
}

/* ---- read side ---- */

static lh_status s3_read(lh_storage *s, const char *key, lh_buf *out, lh_error *err)
{
    lh_s3 *s3 = (lh_s3 *)s;
    lh_s3_req req = {.method = "GET", .key = key};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = lh_s3_perform(s3, &req, &resp, err);
    if (rc == LH_OK) {
        if (resp.status == 200) lh_buf_append(out, resp.body.data, resp.body.len);
        else if (resp.status == 404 && strcmp(resp.code, "NoSuchBucket") != 0) rc = lh_s3_fail(s3, LH_ERR_NOT_FOUND, &req, &resp, err);
        else rc = lh_s3_fail(s3, LH_ERR_IO, &req, &resp, err);
    }
    lh_s3_resp_free(&resp);
    return rc;
}

static lh_status head(lh_s3 *s3, const char *key, lh_s3_resp *resp, lh_error *err)
{
    lh_s3_req req = {.method = "HEAD", .key = key};
    LH_TRY(lh_s3_perform(s3, &req, resp, err));
    if (resp->status == 200) return LH_OK;
    lh_s3_fail(s3, resp->status == 404 ? LH_ERR_NOT_FOUND : LH_ERR_IO, &req, resp, err);
    /* HEAD answers have no body, so say what a bare 403 usually means. */
    if (resp->status == 403 && err && strlen(err->msg) + 80 < sizeof err->msg)
        strcat(err->msg, " (S3 answers 403, not 404, for a missing key without s3:ListBucket)");
    return resp->status == 404 ? LH_ERR_NOT_FOUND : LH_ERR_IO;
}

static lh_status s3_stat(lh_storage *s, const char *key, lh_stat *st, lh_error *err)
{
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = head((lh_s3 *)s, key, &resp, err);
    if (rc == LH_OK) {
        st->size = resp.content_length;
        st->mtime_ms = resp.last_modified_ms;
    }
    lh_s3_resp_free(&resp);
    return rc;
}

typedef struct s3_reader {
    lh_storage_reader base;
    lh_s3 *s3;
    char etag[128];
    lh_buf cache; /* bytes [cache_off, cache_off + cache.len) */
    uint64_t cache_off;
} s3_reader;

static lh_status get_range(s3_reader *r, uint64_t off, uint64_t end, lh_buf *out, lh_error *err)
{
    char range[64];
    snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off, (unsigned long long)end - 1);
    lh_s3_req req = {.method = "GET", .key = r->base.key, .range = range,
                     .if_match = r->etag[0] ? r->etag : NULL};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = lh_s3_perform(r->s3, &req, &resp, err);
    if (rc == LH_OK) {
        if (resp.status == 206 || (resp.status == 200 && off == 0 && end == r->base.size)) {
            if (resp.body.len != end - off) {
                char *what = lh_s3_describe(r->s3, r->base.key);
                rc = lh_error_set(err, LH_ERR_CORRUPT, "S3 GET %s range %s: got %zu bytes", what, range, resp.body.len);
                free(what);
            } else {
                lh_buf_reset(out);
                lh_buf_append(out, resp.body.data, resp.body.len);
            }
        } else if (resp.status == 412) {
            rc = lh_s3_fail(r->s3, LH_ERR_CONFLICT, &req, &resp, err);
            lh_error_prefix(err, "object changed while being read");
        } else {
            rc = lh_s3_fail(r->s3, resp.status == 404 ? LH_ERR_NOT_FOUND : LH_ERR_IO, &req, &resp, err);
        }
    }
    lh_s3_resp_free(&resp);
    return rc;
}

static lh_status s3_pread(lh_storage_reader *base, uint64_t off, void *dst, size_t n, lh_error *err)
{
    s3_reader *r = (s3_reader *)base;
    uint64_t size = base->size;
    if (off >= r->cache_off && off + n <= r->cache_off + r->cache.len) {
        memcpy(dst, r->cache.data + (off - r->cache_off), n);
        return LH_OK;
    }
    if (n >= READ_WINDOW) {
        lh_buf tmp = LH_BUF_INIT;
        lh_status rc = get_range(r, off, off + n, &tmp, err);
        if (rc == LH_OK) memcpy(dst, tmp.data, n);
        lh_buf_free(&tmp);
        return rc;
    }
    /* Small reads (parquet footer, page headers) fetch a window, so the
     * footer length and the footer itself come in one request. */
    uint64_t start = off, end = off + READ_WINDOW;
    if (end > size) {
        end = size;
        start = size > READ_WINDOW ? size - READ_WINDOW : 0;
        if (start > off) start = off;
    }
    LH_TRY(get_range(r, start, end, &r->cache, err));
    r->cache_off = start;
    memcpy(dst, r->cache.data + (off - start), n);
    return LH_OK;
}

static void s3_reader_free(lh_storage_reader *base)
{
    s3_reader *r = (s3_reader *)base;
    lh_buf_free(&r->cache);
    free(base->key);
    free(r);
}

static lh_status s3_reader_open(lh_storage *s, const char *key, lh_storage_reader **out, lh_error *err)
{
    lh_s3 *s3 = (lh_s3 *)s;
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = head(s3, key, &resp, err);
    if (rc == LH_OK) {
        s3_reader *r = lh_calloc(1, sizeof *r);
        r->base.pread = s3_pread;
        r->base.free = s3_reader_free;
        r->base.size = resp.content_length;
        r->base.key = lh_strdup(key);
        r->s3 = s3;
        snprintf(r->etag, sizeof r->etag, "%s", resp.etag);
        lh_buf_init(&r->cache);
        *out = &r->base;
    }
    lh_s3_resp_free(&resp);
    return rc;
}

/* ---- write side ---- */

/* Single PUT; if_absent maps 412 to LH_ERR_EXISTS. */
static lh_status put_object(lh_s3 *s3, const char *key, const void *data, size_t n, bool if_absent,
                            lh_error *err)
{
    lh_s3_req req = {.method = "PUT", .key = key, .body = data, .body_len = n, .if_none_match = if_absent};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = lh_s3_perform(s3, &req, &resp, err);
    if (rc == LH_OK && resp.status / 100 != 2) {
        if (resp.status == 412 && if_absent) {
            unsigned char digest[MD5_LEN];
            char hex[2 * MD5_LEN + 1];
            md5(data, n, digest);
            lh_hex_encode(digest, MD5_LEN, hex);
            /* Our own earlier attempt may have landed before a retry. */
            if (!(resp.ambiguous && etag_matches(s3, key, hex))) {
                char *what = lh_s3_describe(s3, key);
                rc = lh_error_set(err, LH_ERR_EXISTS, "%s already exists (conditional PUT: HTTP 412)", what);
                free(what);
            }
        } else {
            rc = lh_s3_fail(s3, LH_ERR_IO, &req, &resp, err);
        }
    }
    lh_s3_resp_free(&resp);
    return rc;
}

static lh_status s3_put_if_absent(lh_storage *s, const char *key, const void *data, size_t n, lh_error *err)
{
    return put_object((lh_s3 *)s, key, data, n, true, err);
}

typedef struct s3_writer {
    lh_storage_writer base;
    lh_s3 *s3;
    lh_buf buf;
    char *upload_id; /* multipart upload in progress */
    lh_strlist etags;
    lh_buf part_md5s; /* MD5 of each part, for the multipart ETag */
} s3_writer;

static lh_status mpu_start(s3_writer *w, lh_error *err)
{
    lh_s3_req req = {.method = "POST", .key = w->base.key, .query = "uploads="};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = lh_s3_perform(w->s3, &req, &resp, err);
    if (rc == LH_OK) {
        if (resp.status == 200) w->upload_id = lh_s3_xml_get(resp.body.data, resp.body.len, "UploadId");
        if (resp.status != 200) rc = lh_s3_fail(w->s3, LH_ERR_IO, &req, &resp, err);
        else if (!w->upload_id || !*w->upload_id) rc = lh_s3_fail(w->s3, LH_ERR_CORRUPT, &req, &resp, err);
    }
    lh_s3_resp_free(&resp);
    return rc;
}

static lh_status mpu_upload_part(s3_writer *w, lh_error *err)
{
    if (!w->upload_id) LH_TRY(mpu_start(w, err));
    lh_buf q = LH_BUF_INIT;
    char num[16];
    snprintf(num, sizeof num, "%zu", w->etags.len + 1);
    query_add(&q, "partNumber", num);
    query_add(&q, "uploadId", w->upload_id);
    lh_s3_req req = {.method = "PUT", .key = w->base.key, .query = q.data, .body = w->buf.data,
                     .body_len = w->buf.len};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = lh_s3_perform(w->s3, &req, &resp, err);
    if (rc == LH_OK) {
        if (resp.status / 100 != 2 || !resp.etag[0]) {
            rc = lh_s3_fail(w->s3, LH_ERR_IO, &req, &resp, err);
        } else {
            lh_strlist_push(&w->etags, resp.etag);
            unsigned char digest[MD5_LEN];
            md5(w->buf.data, w->buf.len, digest);
            lh_buf_append(&w->part_md5s, digest, MD5_LEN);
            lh_buf_reset(&w->buf);
        }
    }
    lh_s3_resp_free(&resp);
    lh_buf_free(&q);
    return rc;
}

static void mpu_abort(s3_writer *w)
{
    if (!w->upload_id) return;
    lh_buf q = LH_BUF_INIT;
    query_add(&q, "uploadId", w->upload_id);
    lh_s3_req req = {.method = "DELETE", .key = w->base.key, .query = q.data};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    (void)lh_s3_perform(w->s3, &req, &resp, NULL); /* best effort; lifecycle rules clean up the rest */
    lh_s3_resp_free(&resp);
    lh_buf_free(&q);
    free(w->upload_id);
    w->upload_id = NULL;
}

static lh_status mpu_complete(s3_writer *w, bool if_absent, lh_error *err)
{
    lh_buf body = LH_BUF_INIT;
    lh_buf_append_str(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < w->etags.len; i++) {
        lh_buf_printf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        for (const char *p = w->etags.items[i]; *p; p++) {
            if (*p == '"') lh_buf_append_str(&body, "&quot;");
            else if (*p == '&') lh_buf_append_str(&body, "&amp;");
            else if (*p == '<') lh_buf_append_str(&body, "&lt;");
            else lh_buf_append_byte(&body, (uint8_t)*p);
        }
        lh_buf_append_str(&body, "</ETag></Part>");
    }
    lh_buf_append_str(&body, "</CompleteMultipartUpload>");
    lh_buf q = LH_BUF_INIT;
    query_add(&q, "uploadId", w->upload_id);
    lh_s3_req req = {.method = "POST", .key = w->base.key, .query = q.data, .body = body.data,
                     .body_len = body.len, .if_none_match = if_absent, .content_type = "application/xml"};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = lh_s3_perform(w->s3, &req, &resp, err);
    if (rc == LH_OK && resp.status / 100 != 2) {
        /* The multipart ETag: MD5 of the part MD5s, "-" part count. */
        unsigned char digest[MD5_LEN];
        char want[2 * MD5_LEN + 16];
        md5(w->part_md5s.data, w->part_md5s.len, digest);
        lh_hex_encode(digest, MD5_LEN, want);
        snprintf(want + 2 * MD5_LEN, sizeof want - 2 * MD5_LEN, "-%zu", w->etags.len);
        bool ours = resp.ambiguous && (resp.status == 412 || resp.status == 404) &&
                    etag_matches(w->s3, w->base.key, want);
        if (ours) {
            rc = LH_OK;
        } else if (resp.status == 412 && if_absent) {
            char *what = lh_s3_describe(w->s3, w->base.key);
            rc = lh_error_set(err, LH_ERR_EXISTS, "%s already exists (conditional multipart completion: HTTP 412)", what);
            free(what);
        } else if (resp.status == 409) {
            rc = lh_s3_fail(w->s3, LH_ERR_CONFLICT, &req, &resp, err);
        } else {
            rc = lh_s3_fail(w->s3, LH_ERR_IO, &req, &resp, err);
        }
    }
    if (rc == LH_OK) {
        free(w->upload_id); /* completed: nothing to abort */
        w->upload_id = NULL;
    }
    lh_s3_resp_free(&resp);
    lh_buf_free(&q);
    lh_buf_free(&body);
    return rc;
}

static size_t part_threshold(const s3_writer *w)
{
    /* Grow parts as the upload gets long: S3 allows 10,000 parts. */
    return w->s3->cfg.part_size << (w->etags.len / 1000);
}

static lh_status s3_writer_write(lh_storage_writer *base, const void *data, size_t n, lh_error *err)
{
    s3_writer *w = (s3_writer *)base;
    const char *p = data;
    while (n) {
        /* Fill the part buffer exactly, so parts have the planned size even
         * when one write is larger than a part. */
        size_t room = part_threshold(w) - w->buf.len;
        size_t take = n < room ? n : room;
        lh_buf_append(&w->buf, p, take);
        p += take;
        n -= take;
        if (w->buf.len >= part_threshold(w)) LH_TRY(mpu_upload_part(w, err));
    }
    return LH_OK;
}

static lh_status s3_writer_commit(lh_storage_writer *base, bool if_absent, lh_error *err)
{
    s3_writer *w = (s3_writer *)base;
    if (!w->upload_id) return put_object(w->s3, base->key, w->buf.data, w->buf.len, if_absent, err);
    lh_status rc = LH_OK;
    if (w->buf.len) rc = mpu_upload_part(w, err);
    if (rc == LH_OK) rc = mpu_complete(w, if_absent, err);
    if (rc != LH_OK) mpu_abort(w);
    return rc;
}

static void s3_writer_abort(lh_storage_writer *base)
{
    s3_writer *w = (s3_writer *)base;
    mpu_abort(w);
    lh_buf_free(&w->buf);
    lh_buf_free(&w->part_md5s);
    lh_strlist_free(&w->etags);
    free(base->key);
    free(w);
}

static lh_status s3_writer_open(lh_storage *s, const char *key, lh_storage_writer **out, lh_error *err)
{
    s3_writer *w = lh_calloc(1, sizeof *w);
    w->base.write = s3_writer_write;
    w->base.commit = s3_writer_commit;
    w->base.abort = s3_writer_abort;
    w->base.key = lh_strdup(key);
    w->s3 = (lh_s3 *)s;
    lh_buf_init(&w->buf);
    lh_buf_init(&w->part_md5s);
    lh_strlist_init(&w->etags);
    *out = &w->base;
    return LH_OK;
}

static lh_status s3_delete(lh_storage *s, const char *key, lh_error *err)
{
    lh_s3 *s3 = (lh_s3 *)s;
    lh_s3_req req = {.method = "DELETE", .key = key};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = lh_s3_perform(s3, &req, &resp, err);
    if (rc == LH_OK && resp.status / 100 != 2 &&
        !(resp.status == 404 && strcmp(resp.code, "NoSuchBucket") != 0))
        rc = lh_s3_fail(s3, LH_ERR_IO, &req, &resp, err);
    lh_s3_resp_free(&resp);
    return rc;
}

/* Keys per DeleteObjects request: the S3 maximum. */
#define DELETE_BATCH 1000

/* Keys have no control characters (lh_storage_check_key): escaping the
 * five markup characters is all XML 1.0 needs. */
static void xml_escape(lh_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': lh_buf_append_str(b, "&amp;"); break;
        case '<': lh_buf_append_str(b, "&lt;"); break;
        case '>': lh_buf_append_str(b, "&gt;"); break;
        case '"': lh_buf_append_str(b, "&quot;"); break;
        case '\'': lh_buf_append_str(b, "&apos;"); break;
        default: lh_buf_append_byte(b, *s);
        }
    }
}

/* The Error entries of a quiet DeleteResult body: LH_OK when there is
 * none, else an error naming the first key left and how many failed. */
lh_status lh_s3_delete_errors(const char *result, size_t len, size_t n, const char *bucket,
                              lh_error *err)
{
    const char *inner, *e;
    size_t ilen, elen, failed = 0;
    if (!lh_s3_xml_find(result, len, "Error", &inner, &ilen)) return LH_OK;
    for (const char *p = result, *end = result + len;
         (p = lh_s3_xml_find(p, (size_t)(end - p), "Error", &e, &elen));)
        failed++;
    char *key = lh_s3_xml_get(inner, ilen, "Key");
    char *code = lh_s3_xml_get(inner, ilen, "Code");
    char *msg = lh_s3_xml_get(inner, ilen, "Message");
    lh_status rc = lh_error_set(err, LH_ERR_IO, "s3://%s/%s: delete failed: %s%s%s (%zu of %zu keys failed)",
                                bucket, key ? key : "?", code ? code : "error", msg ? ": " : "",
                                msg ? msg : "", failed, n);
    free(key);
    free(code);
    free(msg);
    return rc;
}

/* One DeleteObjects request (quiet: the answer lists only failures). */
static lh_status delete_objects(lh_s3 *s3, const char *const *keys, size_t n, lh_error *err)
{
    const char *root = s3->cfg.prefix;
    lh_buf body = LH_BUF_INIT;
    lh_buf_append_str(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                             "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        lh_buf_append_str(&body, "<Object><Key>");
        if (*root) {
            xml_escape(&body, root);
            lh_buf_append_byte(&body, '/');
        }
        xml_escape(&body, keys[i]);
        lh_buf_append_str(&body, "</Key></Object>");
    }
    lh_buf_append_str(&body, "</Delete>");
    unsigned char digest[MD5_LEN];
    md5(body.data, body.len, digest);
    char b64[BASE64_ENCODE_RAW_LENGTH(MD5_LEN) + 1];
    base64_encode_raw(b64, MD5_LEN, digest);
    b64[BASE64_ENCODE_RAW_LENGTH(MD5_LEN)] = '\0';
    lh_s3_req req = {.method = "POST", .key = NULL, .query = "delete=", .body = body.data,
                     .body_len = body.len, .content_type = "application/xml", .content_md5 = b64};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = lh_s3_perform(s3, &req, &resp, err);
    const char *inner;
    size_t len;
    if (rc == LH_OK && resp.status != 200) {
        rc = lh_s3_fail(s3, LH_ERR_IO, &req, &resp, err);
        lh_error_prefix(err, "deleting %zu object(s)", n);
    } else if (rc == LH_OK &&
               !lh_s3_xml_find(resp.body.data, resp.body.len, "DeleteResult", &inner, &len)) {
        rc = lh_s3_fail(s3, LH_ERR_CORRUPT, &req, &resp, err);
        lh_error_prefix(err, "deleting %zu object(s): the answer is not a DeleteResult", n);
    } else if (rc == LH_OK) {
        rc = lh_s3_delete_errors(inner, len, n, s3->cfg.bucket, err);
    }
    lh_s3_resp_free(&resp);
    lh_buf_free(&body);
    return rc;
}

static lh_status s3_delete_many(lh_storage *s, const char *const *keys, size_t n, lh_error *err)
{
    lh_s3 *s3 = (lh_s3 *)s;
    const char **batch = lh_malloc((n < DELETE_BATCH ? n : DELETE_BATCH) * sizeof *batch + 1);
    size_t len = 0;
    lh_status rc = LH_OK;
    for (size_t i = 0; rc == LH_OK && i <= n; i++) {
        if (len && (i == n || len == DELETE_BATCH)) {
            rc = delete_objects(s3, batch, len, err);
            len = 0;
        }
        if (rc != LH_OK || i == n) break;
        batch[len++] = keys[i];
    }
    free(batch);
    return rc;
}

/* ---- listing ---- */

/* Appends key (full S3 key) relative to the storage root, if it is one of ours. */
static void push_rel(const lh_s3 *s3, const char *full, size_t root_len, lh_strlist *out)
{
    if (strlen(full) <= root_len) return;
    const char *rel = full + root_len;
    size_t n = strlen(rel);
    bool dir = rel[n - 1] == '/';
    char *trimmed = dir ? lh_strndup(rel, n - 1) : NULL;
    /* Keys our API cannot address (empty segments, "..") are not listed. */
    if (lh_storage_check_key(dir ? trimmed : rel, NULL) == LH_OK) lh_strlist_push(out, rel);
    free(trimmed);
    (void)s3;
}

/* The S3 key prefix of the storage prefix `prefix` (a "directory": ends in
 * '/' unless empty); *root_len: the length of the storage root's part of
 * every full key. Caller frees. */
static char *full_dir_prefix(const lh_s3 *s3, const char *prefix, size_t *root_len)
{
    const char *root = s3->cfg.prefix;
    size_t pn = strlen(prefix);
    *root_len = strlen(root) + (*root ? 1 : 0);
    return lh_asprintf("%s%s%s%s", root, *root ? "/" : "", prefix,
                       pn && prefix[pn - 1] != '/' ? "/" : "");
}

static lh_status s3_list(lh_storage *s, const char *prefix, int flags, lh_strlist *out, lh_error *err)
{
    lh_s3 *s3 = (lh_s3 *)s;
    size_t root_len;
    char *full_prefix = full_dir_prefix(s3, prefix, &root_len);
    bool recursive = flags & LH_LIST_RECURSIVE;
    char *token = NULL;
    char max_keys[16];
    snprintf(max_keys, sizeof max_keys, "%d", s3->cfg.max_keys);
    lh_status rc = LH_OK;
    for (;;) {
        lh_buf q = LH_BUF_INIT; /* parameters in canonical (sorted) order */
        if (token) query_add(&q, "continuation-token", token);
        if (!recursive) query_add(&q, "delimiter", "/");
        query_add(&q, "list-type", "2");
        query_add(&q, "max-keys", max_keys);
        query_add(&q, "prefix", full_prefix);
        lh_s3_req req = {.method = "GET", .key = NULL, .query = q.data};
        lh_s3_resp resp;
        lh_s3_resp_init(&resp);
        rc = lh_s3_perform(s3, &req, &resp, err);
        if (rc == LH_OK && resp.status != 200) {
            rc = lh_s3_fail(s3, LH_ERR_IO, &req, &resp, err);
            lh_error_prefix(err, "listing \"%s\"", full_prefix);
        }
        char *prev = token;
        token = NULL;
        bool truncated = false;
        const char *lr;
        size_t lr_len;
        if (rc == LH_OK && !lh_s3_xml_find(resp.body.data, resp.body.len, "ListBucketResult", &lr, &lr_len)) {
            /* Not S3 (a web page from a wrong endpoint?): never read as "empty". */
            rc = lh_s3_fail(s3, LH_ERR_CORRUPT, &req, &resp, err);
            lh_error_prefix(err, "listing \"%s\": the answer is not a ListBucketResult", full_prefix);
        }
        if (rc == LH_OK) {
            const char *p = resp.body.data, *end = resp.body.data + resp.body.len, *inner;
            size_t len;
            while (p && (p = lh_s3_xml_find(p, (size_t)(end - p), "Contents", &inner, &len))) {
                char *key = lh_s3_xml_get(inner, len, "Key");
                if (key && key[0] && key[strlen(key) - 1] != '/') push_rel(s3, key, root_len, out);
                free(key);
            }
            p = resp.body.data;
            while ((flags & LH_LIST_DIRS) && !recursive && p &&
                   (p = lh_s3_xml_find(p, (size_t)(end - p), "CommonPrefixes", &inner, &len))) {
                char *dir = lh_s3_xml_get(inner, len, "Prefix");
                if (dir) push_rel(s3, dir, root_len, out);
                free(dir);
            }
            char *trunc = lh_s3_xml_get(resp.body.data, resp.body.len, "IsTruncated");
            truncated = trunc && strcmp(trunc, "true") == 0;
            free(trunc);
            if (truncated) {
                token = lh_s3_xml_get(resp.body.data, resp.body.len, "NextContinuationToken");
                if (!token || !*token || (prev && strcmp(prev, token) == 0)) {
                    rc = lh_s3_fail(s3, LH_ERR_CORRUPT, &req, &resp, err);
                    lh_error_prefix(err, "truncated listing without a new continuation token");
                }
            }
        }
        free(prev);
        lh_s3_resp_free(&resp);
        lh_buf_free(&q);
        if (rc != LH_OK || !truncated) break;
    }
    free(token);
    free(full_prefix);
    return rc;
}

/* ---- debris: incomplete multipart uploads ---- */

/* Abort one upload; key is the full S3 key. */
static lh_status abort_upload(lh_s3 *s3, const char *full_key, size_t root_len,
                              const char *upload_id, lh_error *err)
{
    lh_buf q = LH_BUF_INIT;
    query_add(&q, "uploadId", upload_id);
    lh_s3_req req = {.method = "DELETE", .key = full_key + root_len, .query = q.data};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_status rc = lh_s3_perform(s3, &req, &resp, err);
    /* 404 NoSuchUpload: completed or aborted meanwhile */
    if (rc == LH_OK && resp.status != 204 && resp.status != 200 && resp.status != 404)
        rc = lh_s3_fail(s3, LH_ERR_IO, &req, &resp, err);
    lh_s3_resp_free(&resp);
    lh_buf_free(&q);
    return rc;
}

/* The uploads of one ListMultipartUploads page begun before cutoff_ms. */
static lh_status abort_page(lh_s3 *s3, const lh_buf *body, size_t root_len, int64_t cutoff_ms,
                            bool dry_run, size_t *removed, lh_error *err)
{
    const char *p = body->data, *end = body->data + body->len, *inner;
    size_t len;
    lh_status rc = LH_OK;
    while (rc == LH_OK && p && (p = lh_s3_xml_find(p, (size_t)(end - p), "Upload", &inner, &len))) {
        char *key = lh_s3_xml_get(inner, len, "Key");
        char *id = lh_s3_xml_get(inner, len, "UploadId");
        char *initiated = lh_s3_xml_get(inner, len, "Initiated");
        int64_t us = 0;
        lh_error ignore;
        /* an upload of unknown age is left alone */
        bool old = initiated &&
                   lh_time_parse_iso(initiated, strlen(initiated), &us, &ignore) == LH_OK &&
                   us / 1000 < cutoff_ms;
        if (old && key && id && *id && strlen(key) > root_len) {
            if (!dry_run) rc = abort_upload(s3, key, root_len, id, err);
            if (rc == LH_OK) (*removed)++;
        }
        free(key);
        free(id);
        free(initiated);
    }
    return rc;
}

static lh_status s3_remove_debris(lh_storage *s, const char *prefix, int64_t cutoff_ms,
                                  bool dry_run, size_t *removed, lh_error *err)
{
    lh_s3 *s3 = (lh_s3 *)s;
    size_t root_len;
    char *full_prefix = full_dir_prefix(s3, prefix, &root_len);
    char *key_marker = NULL, *id_marker = NULL;
    lh_status rc = LH_OK;
    for (;;) {
        lh_buf q = LH_BUF_INIT; /* parameters in canonical (sorted) order */
        if (key_marker) query_add(&q, "key-marker", key_marker);
        query_add(&q, "prefix", full_prefix);
        if (id_marker) query_add(&q, "upload-id-marker", id_marker);
        query_add(&q, "uploads", "");
        lh_s3_req req = {.method = "GET", .key = NULL, .query = q.data};
        lh_s3_resp resp;
        lh_s3_resp_init(&resp);
        rc = lh_s3_perform(s3, &req, &resp, err);
        const char *lr;
        size_t lr_len;
        if (rc == LH_OK && resp.status != 200) rc = lh_s3_fail(s3, LH_ERR_IO, &req, &resp, err);
        else if (rc == LH_OK && !lh_s3_xml_find(resp.body.data, resp.body.len,
                                                "ListMultipartUploadsResult", &lr, &lr_len))
            rc = lh_s3_fail(s3, LH_ERR_CORRUPT, &req, &resp, err);
        if (rc != LH_OK) lh_error_prefix(err, "listing the uploads under \"%s\"", full_prefix);
        if (rc == LH_OK)
            rc = abort_page(s3, &resp.body, root_len, cutoff_ms, dry_run, removed, err);
        bool truncated = false;
        if (rc == LH_OK) {
            char *trunc = lh_s3_xml_get(resp.body.data, resp.body.len, "IsTruncated");
            truncated = trunc && strcmp(trunc, "true") == 0;
            free(trunc);
        }
        if (truncated) {
            char *nk = lh_s3_xml_get(resp.body.data, resp.body.len, "NextKeyMarker");
            char *ni = lh_s3_xml_get(resp.body.data, resp.body.len, "NextUploadIdMarker");
            bool moved = nk && *nk && !(key_marker && strcmp(nk, key_marker) == 0 && ni &&
                                        id_marker && strcmp(ni, id_marker) == 0);
            free(key_marker);
            free(id_marker);
            key_marker = nk;
            id_marker = ni;
            if (!moved) {
                rc = lh_s3_fail(s3, LH_ERR_CORRUPT, &req, &resp, err);
                lh_error_prefix(err, "truncated upload listing without new markers");
            }
        }
        lh_s3_resp_free(&resp);
        lh_buf_free(&q);
        if (rc != LH_OK || !truncated) break;
    }
    free(key_marker);
    free(id_marker);
    free(full_prefix);
    return rc;
}

/* ---- open/free ---- */

static void s3_free(lh_storage *s)
{
    lh_s3 *s3 = (lh_s3 *)s;
    lh_s3_http_cleanup(s3);
    pthread_mutex_destroy(&s3->pool_lock);
    pthread_mutex_destroy(&s3->site_lock);
    lh_s3_config_free(&s3->cfg);
    free(s3->base.uri);
    free(s3);
}

static const lh_storage_ops s3_ops = {
    .scheme = "s3",
    .free = s3_free,
    .local_path = NULL,
    .read = s3_read,
    .stat = s3_stat,
    .reader_open = s3_reader_open,
    .writer_open = s3_writer_open,
    .put_if_absent = s3_put_if_absent,
    .del = s3_delete,
    .del_many = s3_delete_many,
    .list = s3_list,
    .remove_debris = s3_remove_debris,
};

lh_status lh_storage_open_s3(const char *uri, lh_storage **out, lh_error *err)
{
    *out = NULL;
    LH_TRY(lh_libcurl_load(err));
    if (strncmp(uri, "s3://", 5) != 0) return lh_error_set(err, LH_ERR_INVALID, "not an s3:// URI: \"%s\"", uri);
    const char *b = uri + 5;
    size_t bl = strcspn(b, "/");
    if (bl == 0 || bl > 63) return lh_error_set(err, LH_ERR_INVALID, "S3 URI has no valid bucket: \"%s\"", uri);
    for (size_t i = 0; i < bl; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
            return lh_error_set(err, LH_ERR_INVALID, "S3 bucket name has an invalid character: \"%s\"", uri);
    }
    const char *p = b + bl;
    while (*p == '/') p++;
    size_t plen = strlen(p);
    while (plen && p[plen - 1] == '/') plen--;
    char *prefix = lh_strndup(p, plen);
    if (plen && lh_storage_check_key(prefix, err) != LH_OK) {
        free(prefix);
        return lh_error_prefix(err, "S3 URI prefix");
    }
    lh_s3 *s3 = lh_calloc(1, sizeof *s3);
    s3->cfg.bucket = lh_strndup(b, bl);
    s3->cfg.prefix = prefix;
    pthread_mutex_init(&s3->pool_lock, NULL);
    pthread_mutex_init(&s3->site_lock, NULL);
    s3->base.ops = &s3_ops;
    s3->base.uri = lh_asprintf("s3://%s%s%s", s3->cfg.bucket, plen ? "/" : "", prefix);
    lh_status rc = lh_s3_config_load(&s3->cfg, err);
    if (rc != LH_OK) {
        s3_free(&s3->base);
        return rc;
    }
    s3->anonymous = !s3->cfg.creds.access_key && s3->cfg.creds_source == LH_S3_CREDS_NONE;
    *out = &s3->base;
    return LH_OK;
}

void lh_s3_set_max_keys(lh_storage *s, int max_keys)
{
    if (s && s->ops == &s3_ops && max_keys > 0) ((lh_s3 *)s)->cfg.max_keys = max_keys;
}
