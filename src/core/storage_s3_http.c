/* HTTP side of the S3 backend: one signed request through libcurl, retried
 * with exponential backoff and jitter on the failures S3 documents as
 * transient (connection errors, 5xx, 429/SlowDown, 409
 * ConditionalRequestConflict). Curl handles are pooled per storage so
 * keep-alive connections are reused; a handle is used by one thread at a time. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/libcurl_dyn.h"
#include "core/storage_s3.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"

#define BACKOFF_CAP_MS 5000
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

void lh_s3_resp_init(lh_s3_resp *r)
{
    memset(r, 0, sizeof *r);
    lh_buf_init(&r->body);
}

void lh_s3_resp_free(lh_s3_resp *r)
{
    lh_buf_free(&r->body);
}

static void resp_reset(lh_s3_resp *r)
{
    lh_buf_reset(&r->body);
    r->status = 0;
    r->content_length = 0;
    r->has_length = false;
    r->last_modified_ms = 0;
    r->etag[0] = r->code[0] = r->message[0] = r->request_id[0] = r->bucket_region[0] = '\0';
}

/* ---- handle pool ---- */

static CURL *handle_get(lh_s3 *s3)
{
    lh_error e;
    if (lh_libcurl_load(&e) != LH_OK) return NULL; /* opening the storage said why */
    CURL *h = NULL;
    pthread_mutex_lock(&s3->pool_lock);
    if (s3->pool_len) h = s3->pool[--s3->pool_len];
    pthread_mutex_unlock(&s3->pool_lock);
    if (h) {
        curl_easy_reset(h); /* keeps the connection cache */
        return h;
    }
    return curl_easy_init();
}

static void handle_put(lh_s3 *s3, CURL *h)
{
    pthread_mutex_lock(&s3->pool_lock);
    s3->pool = lh_grow(s3->pool, &s3->pool_cap, s3->pool_len + 1, sizeof *s3->pool);
    s3->pool[s3->pool_len++] = h;
    pthread_mutex_unlock(&s3->pool_lock);
}

void lh_s3_http_cleanup(lh_s3 *s3)
{
    for (size_t i = 0; i < s3->pool_len; i++) curl_easy_cleanup(s3->pool[i]);
    free(s3->pool);
    s3->pool = NULL;
    s3->pool_len = s3->pool_cap = 0;
}

/* ---- callbacks ---- */

typedef struct upload_state {
    const char *data;
    size_t len, pos;
} upload_state;

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud)
{
    upload_state *u = ud;
    size_t n = size * nmemb;
    if (n > u->len - u->pos) n = u->len - u->pos;
    memcpy(dst, u->data + u->pos, n);
    u->pos += n;
    return n;
}

static size_t write_cb(char *src, size_t size, size_t nmemb, void *ud)
{
    lh_buf_append(&((lh_s3_resp *)ud)->body, src, size * nmemb);
    return size * nmemb;
}

static void copy_trimmed(char *dst, size_t cap, const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' ')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
    lh_s3_resp *r = ud;
    size_t n = size * nmemb;
    const char *colon = memchr(line, ':', n);
    if (!colon) return n;
    size_t name_len = (size_t)(colon - line);
    const char *val = colon + 1;
    size_t val_len = n - name_len - 1;
    char tmp[256];
#define IS(h) (name_len == strlen(h) && strncasecmp(line, h, name_len) == 0)
    if (IS("content-length")) {
        copy_trimmed(tmp, sizeof tmp, val, val_len);
        r->content_length = strtoull(tmp, NULL, 10);
        r->has_length = true;
    } else if (IS("etag")) {
        copy_trimmed(r->etag, sizeof r->etag, val, val_len);
    } else if (IS("last-modified")) {
        copy_trimmed(tmp, sizeof tmp, val, val_len);
        time_t t = curl_getdate(tmp, NULL);
        if (t != -1) r->last_modified_ms = (int64_t)t * 1000;
    } else if (IS("x-amz-request-id")) {
        copy_trimmed(r->request_id, sizeof r->request_id, val, val_len);
    } else if (IS("x-amz-bucket-region")) {
        copy_trimmed(r->bucket_region, sizeof r->bucket_region, val, val_len);
    }
#undef IS
    return n;
}

/* ---- request building ---- */

char *lh_s3_describe(const lh_s3 *s3, const char *key)
{
    const char *p = s3->cfg.prefix;
    if (!key) return lh_asprintf("s3://%s%s%s", s3->cfg.bucket, *p ? "/" : "", p);
    return lh_asprintf("s3://%s/%s%s%s", s3->cfg.bucket, p, *p ? "/" : "", key);
}

/* Canonical (already encoded) path of the request. */
static void build_path(const lh_s3 *s3, const char *key, lh_buf *path)
{
    if (s3->cfg.path_style) {
        lh_buf_append_byte(path, '/');
        lh_s3_uri_encode(path, s3->cfg.bucket, false);
    }
    if (!key) {
        if (!s3->cfg.path_style) lh_buf_append_byte(path, '/');
        return;
    }
    lh_buf_append_byte(path, '/');
    if (*s3->cfg.prefix) {
        lh_s3_uri_encode(path, s3->cfg.prefix, true);
        lh_buf_append_byte(path, '/');
    }
    lh_s3_uri_encode(path, key, true);
}

static void add_header(struct curl_slist **list, const char *name, const char *value)
{
    char *line = lh_asprintf("%s: %s", name, value);
    *list = curl_slist_append(*list, line);
    free(line);
}

static bool retryable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_PEER_FAILED_VERIFICATION:
        return false;
    default:
        return true;
    }
}

/* 409 ConditionalRequestConflict is retried for PutObject only: S3 asks to
 * redo the whole multipart upload after one on CompleteMultipartUpload, which
 * a streaming writer cannot; that surfaces as LH_ERR_CONFLICT instead. */
static bool retryable_status(const lh_s3_req *req, const lh_s3_resp *r)
{
    if (r->status >= 500 || r->status == 429) return true;
    if (strcmp(r->code, "SlowDown") == 0 || strcmp(r->code, "RequestTimeout") == 0 ||
        strcmp(r->code, "InternalError") == 0)
        return true;
    return r->status == 409 && strcmp(r->code, "ConditionalRequestConflict") == 0 &&
           strcmp(req->method, "PUT") == 0;
}

/* S3 refuses a signature dated more than 15 minutes off its clock, and
 * says its own time: requests are dated by the server's clock from then
 * on. True when the offset changed, so the request is worth repeating. */
static bool learn_clock(lh_s3 *s3, const lh_s3_resp *resp)
{
    if (resp->status != 403 || strcmp(resp->code, "RequestTimeTooSkewed") != 0) return false;
    char *server = lh_s3_xml_get(resp->body.data, resp->body.len, "ServerTime");
    int64_t us = 0;
    bool ok = server && lh_time_parse_iso(server, strlen(server), &us, NULL) == LH_OK;
    free(server);
    if (!ok) return false;
    int64_t offset = us / 1000000 - (int64_t)time(NULL);
    int64_t known = __atomic_load_n(&s3->clock_offset_s, __ATOMIC_RELAXED);
    /* S3 allows 15 minutes: an offset we already use (give or take the
     * seconds the answer took) will not fix this request */
    if (offset > known - 60 && offset < known + 60) return false;
    __atomic_store_n(&s3->clock_offset_s, offset, __ATOMIC_RELAXED);
    return true;
}

/* Error code and message from an XML error body (also used for the 200
 * responses with an <Error> body that CompleteMultipartUpload may return). */
static void parse_error_body(lh_s3_resp *r)
{
    const char *inner;
    size_t len;
    if (!r->body.len || !lh_s3_xml_find(r->body.data, r->body.len, "Error", &inner, &len)) return;
    char *code = lh_s3_xml_get(inner, len, "Code");
    char *msg = lh_s3_xml_get(inner, len, "Message");
    if (code) copy_trimmed(r->code, sizeof r->code, code, strlen(code));
    if (msg) copy_trimmed(r->message, sizeof r->message, msg, strlen(msg));
    free(code);
    free(msg);
}

/* Whether the document element of an XML body is <Error>. Only then is a
 * 200 a failure: a DeleteObjects result lists the keys it could not delete
 * as <Error> elements inside <DeleteResult>, which the caller reports. */
static bool root_is_error(const lh_buf *body)
{
    const char *p = body->data, *end = body->data + body->len;
    while (p && p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
        if (end - p < 2 || *p != '<') return false;
        if (p[1] != '?' && p[1] != '!') break; /* an element */
        p = memchr(p, '>', (size_t)(end - p)); /* skip the declaration, a comment */
        if (p) p++;
    }
    if (!p || end - p < 7 || memcmp(p, "<Error", 6) != 0) return false;
    return p[6] == '>' || p[6] == ' ' || p[6] == '\t' || p[6] == '\r' || p[6] == '\n';
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static long backoff_ms(const lh_s3 *s3, int attempt)
{
    long base = s3->cfg.retry_base_ms;
    long ms = base;
    for (int i = 1; i < attempt && ms < BACKOFF_CAP_MS; i++) ms *= 2;
    if (ms > BACKOFF_CAP_MS) ms = BACKOFF_CAP_MS;
    unsigned int r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = (unsigned int)attempt * 2654435761u;
    return ms / 2 + (long)(r % (unsigned int)(ms / 2 + 1)); /* "equal jitter" */
}

/* Where requests go and with which credentials: a copy taken per attempt,
 * as a region redirect or a credentials refresh may change them
 * concurrently. */
typedef struct site {
    char *endpoint, *host, *region;
    lh_s3_creds creds;
} site;

/* Fetched again this long before they expire (the services hand out new
 * ones from 15 minutes before). */
#define CREDS_EARLY_MS (5 * 60 * 1000)

/* Temporary credentials close to expiry are replaced. Caller holds
 * site_lock. A failed fetch keeps the old ones: the request may still
 * pass, or fail naming S3's refusal. */
static void creds_refresh(lh_s3 *s3)
{
    lh_s3_config *c = &s3->cfg;
    if (c->creds_source == LH_S3_CREDS_NONE || !c->creds.expire_ms) return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (now_ms < c->creds.expire_ms - CREDS_EARLY_MS) return;
    lh_s3_creds t;
    lh_error e;
    if (lh_s3_creds_fetch(c->creds_source, c->region, &t, &e) != LH_OK) return;
    lh_s3_creds_free(&c->creds);
    c->creds = t;
}

static void site_get(lh_s3 *s3, site *st)
{
    pthread_mutex_lock(&s3->site_lock);
    creds_refresh(s3);
    st->endpoint = lh_strdup(s3->cfg.endpoint);
    st->host = lh_strdup(s3->cfg.host);
    st->region = lh_strdup(s3->cfg.region);
    lh_s3_creds_copy(&st->creds, &s3->cfg.creds);
    pthread_mutex_unlock(&s3->site_lock);
}

static void site_free(site *st)
{
    free(st->endpoint);
    free(st->host);
    free(st->region);
    lh_s3_creds_free(&st->creds);
}

/* S3 names the bucket's region when a request went to the wrong one
 * (301 PermanentRedirect, 400 AuthorizationHeaderMalformed, ...). Switches
 * the storage over; true if the request should be sent again. */
static bool follow_region(lh_s3 *s3, const site *st, const lh_s3_resp *resp)
{
    if (!resp->bucket_region[0] || strcmp(resp->bucket_region, st->region) == 0) return false;
    if (resp->status != 301 && resp->status != 307 && resp->status != 400 && resp->status != 403) return false;
    pthread_mutex_lock(&s3->site_lock);
    lh_s3_config_set_region(&s3->cfg, resp->bucket_region);
    pthread_mutex_unlock(&s3->site_lock);
    return true;
}

static CURLcode perform_once(lh_s3 *s3, CURL *h, const lh_s3_req *req, const site *st, const char *url,
                             const char *canon_path, const char *payload_hash, lh_s3_resp *resp)
{
    char amz_date[17];
    time_t now = time(NULL) + (time_t)__atomic_load_n(&s3->clock_offset_s, __ATOMIC_RELAXED);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);

    lh_s3_header signed_h[4];
    size_t ns = 0;
    signed_h[ns++] = (lh_s3_header){"host", st->host};
    signed_h[ns++] = (lh_s3_header){"x-amz-content-sha256", payload_hash};
    signed_h[ns++] = (lh_s3_header){"x-amz-date", amz_date};
    if (st->creds.session_token)
        signed_h[ns++] = (lh_s3_header){"x-amz-security-token", st->creds.session_token};

    struct curl_slist *hl = NULL;
    add_header(&hl, "Host", st->host);
    add_header(&hl, "x-amz-content-sha256", payload_hash);
    add_header(&hl, "x-amz-date", amz_date);
    if (st->creds.session_token) add_header(&hl, "x-amz-security-token", st->creds.session_token);
    if (st->creds.access_key) {
        lh_sigv4_key key = {st->creds.access_key, st->creds.secret_key, st->region, "s3"};
        lh_buf auth = LH_BUF_INIT;
        lh_sigv4_authorization(&key, req->method, canon_path, req->query, signed_h, ns, payload_hash,
                               amz_date, &auth);
        add_header(&hl, "Authorization", auth.data);
        lh_buf_free(&auth);
    }
    if (req->range) add_header(&hl, "Range", req->range);
    if (req->if_match) add_header(&hl, "If-Match", req->if_match);
    if (req->if_none_match) add_header(&hl, "If-None-Match", "*");
    if (req->content_md5) add_header(&hl, "Content-MD5", req->content_md5);
    add_header(&hl, "Content-Type", req->content_type ? req->content_type : "application/octet-stream");
    hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */

    upload_state up = {req->body, req->body_len, 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* Abort a stalled transfer: under 1 byte/s for 60 s. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(h, CURLOPT_READDATA, &up);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(hl);
    return rc;
}

lh_status lh_s3_perform(lh_s3 *s3, const lh_s3_req *req, lh_s3_resp *resp, lh_error *err)
{
    lh_buf path = LH_BUF_INIT;
    build_path(s3, req->key, &path);
    const char *q = req->query && *req->query ? req->query : NULL;
    char payload_hash[LH_SHA256_HEX_LEN + 1];
    if (req->body_len) lh_s3_sha256_hex(req->body, req->body_len, payload_hash);
    else memcpy(payload_hash, EMPTY_SHA256, sizeof payload_hash);

    CURL *h = handle_get(s3);
    lh_status st = LH_OK;
    bool redirected = false, reclocked = false;
    char curl_msg[CURL_ERROR_SIZE];
    for (int attempt = 1;; attempt++) {
        resp_reset(resp);
        resp->attempts = attempt;
        site where;
        site_get(s3, &where);
        char *url = lh_asprintf("%s%s%s%s", where.endpoint, path.data, q ? "?" : "", q ? q : "");
        bool retry = false, again_now = false;
        if (!h) {
            st = lh_error_set(err, LH_ERR_IO, "S3 %s %s: cannot create a curl handle", req->method, url);
        } else {
            curl_msg[0] = '\0';
            curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
            CURLcode rc = perform_once(s3, h, req, &where, url, path.data, payload_hash, resp);
            curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
            if (rc == CURLE_OK) {
                if (resp->status >= 300 || (strcmp(req->method, "POST") == 0 && root_is_error(&resp->body)))
                    parse_error_body(resp);
                /* A 200 that is an <Error> (CompleteMultipartUpload) is a failure. */
                if (resp->status == 200 && resp->code[0]) resp->status = 500;
                if (!redirected && follow_region(s3, &where, resp)) {
                    redirected = again_now = true;
                } else if (!reclocked && learn_clock(s3, resp)) {
                    reclocked = again_now = true;
                } else if (retryable_status(req, resp)) {
                    if (attempt >= s3->cfg.max_attempts) {
                        char *what = lh_s3_describe(s3, req->key);
                        st = lh_error_set(err, LH_ERR_IO, "S3 %s %s: HTTP %ld %s%s%s (gave up after %d attempts)",
                                          req->method, what, resp->status, resp->code,
                                          resp->message[0] ? ": " : "", resp->message, attempt);
                        free(what);
                    } else {
                        retry = true;
                        /* A 5xx may have come after the server applied the request. */
                        if (resp->status != 409 && resp->status != 429 && strcmp(resp->code, "SlowDown") != 0)
                            resp->ambiguous = true;
                    }
                }
            } else if (!retryable_curl(rc) || attempt >= s3->cfg.max_attempts) {
                char *what = lh_s3_describe(s3, req->key);
                st = lh_error_set(err, LH_ERR_IO, "S3 %s %s (%s): %s (gave up after %d attempts)", req->method,
                                  what, url, curl_msg[0] ? curl_msg : curl_easy_strerror(rc), attempt);
                free(what);
            } else {
                retry = true;
                /* Connection errors other than "could not connect" may have
                 * reached the server. */
                if (rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST) resp->ambiguous = true;
                /* The connection is suspect: start fresh. */
                curl_easy_cleanup(h);
                h = curl_easy_init();
            }
        }
        free(url);
        site_free(&where);
        if (again_now) continue;
        if (!retry) break;
        sleep_ms(backoff_ms(s3, attempt));
    }
    if (h) handle_put(s3, h);
    lh_buf_free(&path);
    return st;
}

lh_status lh_s3_fail(lh_s3 *s3, lh_status code, const lh_s3_req *req, const lh_s3_resp *resp,
                     lh_error *err)
{
    char *what = lh_s3_describe(s3, req->key);
    char rid[96] = "";
    if (resp->request_id[0]) snprintf(rid, sizeof rid, " (request id %s)", resp->request_id);
    /* anonymous access is what public buckets want; anywhere else a
     * refusal most likely means credentials that were not found */
    const char *hint = s3->anonymous && (resp->status == 401 || resp->status == 403)
                           ? " (no AWS credentials were found, so the request went unsigned: set "
                             "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
                           : "";
    lh_status rc = lh_error_set(err, code, "S3 %s %s: HTTP %ld%s%s%s%s%s%s", req->method, what,
                                resp->status, resp->code[0] ? " " : "", resp->code,
                                resp->message[0] ? ": " : "", resp->message, rid, hint);
    free(what);
    return rc;
}
