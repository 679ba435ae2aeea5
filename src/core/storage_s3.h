/* Internal interface of the S3 backend (storage_s3*.c): AWS Signature V4,
 * the HTTP request loop with retries, the small XML reader, and test hooks.
 * Not a public header: only the S3 sources and their unit test include it.
 *
 * put-if-absent relies on the server honouring "If-None-Match: *" on
 * PutObject and CompleteMultipartUpload (AWS S3 and moto do; an S3-compatible
 * server that ignores it would let two writers both "win"). */
#ifndef LH_CORE_STORAGE_S3_H
#define LH_CORE_STORAGE_S3_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"

/* ---- Signature V4 (storage_s3_sigv4.c) ---- */

#define LH_SHA256_HEX_LEN 64

typedef struct lh_s3_header {
    const char *name;  /* lowercase */
    const char *value; /* trimmed */
} lh_s3_header;

typedef struct lh_sigv4_key {
    const char *access_key;
    const char *secret_key;
    const char *region;
    const char *service; /* "s3" */
} lh_sigv4_key;

void lh_s3_sha256_hex(const void *data, size_t n, char out[LH_SHA256_HEX_LEN + 1]);
/* RFC 3986 percent-encoding as SigV4 wants it: unreserved bytes stay, others
 * become %XX (uppercase); '/' stays only when keep_slash. Appends to out. */
void lh_s3_uri_encode(lh_buf *out, const char *s, bool keep_slash);
/* The Authorization header value for one request. headers must include every
 * header to sign (host, x-amz-date, x-amz-content-sha256, ...); any order.
 * amz_date is "YYYYMMDDTHHMMSSZ". canon_query is the sorted, encoded query. */
void lh_sigv4_authorization(const lh_sigv4_key *key, const char *method, const char *canon_uri,
                            const char *canon_query, const lh_s3_header *headers, size_t nheaders,
                            const char *payload_hash, const char *amz_date, lh_buf *out);

/* ---- XML (storage_s3_xml.c), just enough for S3 responses ---- */

/* Finds the first element <tag> (no namespace prefix) within [s, s+n). On a
 * hit sets *inner and *inner_len to its raw content and returns the position just
 * past its end tag; returns NULL if there is none. */
const char *lh_s3_xml_find(const char *s, size_t n, const char *tag, const char **inner,
                           size_t *inner_len);
/* Appends the text of raw XML content with the five named entities and
 * numeric character references decoded. false on a malformed reference. */
bool lh_s3_xml_text(const char *raw, size_t n, lh_buf *out);
/* Text of the first <tag> in [s, s+n) as a new string, NULL if absent. */
char *lh_s3_xml_get(const char *s, size_t n, const char *tag);

/* ---- the backend ---- */

/* ---- temporary credentials (storage_s3_creds.c) ---- */

typedef enum lh_s3_creds_source {
    LH_S3_CREDS_NONE,      /* static keys (or anonymous): never refreshed */
    LH_S3_CREDS_WEB_IDENTITY, /* AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN at STS */
    LH_S3_CREDS_CONTAINER, /* AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI */
    LH_S3_CREDS_IMDS,      /* EC2 instance metadata */
} lh_s3_creds_source;

typedef struct lh_s3_creds {
    char *access_key, *secret_key, *session_token;
    int64_t expire_ms; /* 0: does not expire */
} lh_s3_creds;

void lh_s3_creds_free(lh_s3_creds *c);
/* A copy of src (its strings duplicated). */
void lh_s3_creds_copy(lh_s3_creds *dst, const lh_s3_creds *src);
/* The credentials JSON both services answer (source names it in errors). */
lh_status lh_s3_creds_parse(const char *json, size_t len, const char *source, lh_s3_creds *out,
                            lh_error *err);
/* Find a source: the container endpoint when configured (its failure is an
 * error), then instance metadata unless AWS_EC2_METADATA_DISABLED (no
 * credentials from the default address: *source NONE, anonymous requests;
 * from AWS_EC2_METADATA_SERVICE_ENDPOINT: an error). */
lh_status lh_s3_creds_discover(lh_s3_creds_source *source, lh_s3_creds *out, lh_error *err);
/* Fetch from source again (region: for the STS endpoint). */
lh_status lh_s3_creds_fetch(lh_s3_creds_source source, const char *region, lh_s3_creds *out,
                            lh_error *err);
/* AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are both set (it then comes
 * before the shared files, as in the AWS SDKs). */
bool lh_s3_web_identity_configured(void);
/* An environment variable, NULL when unset or empty. */
const char *lh_s3_env(const char *name);
/* An environment variable that says yes: true, 1 or yes. */
bool lh_s3_env_true(const char *name);

typedef struct lh_s3_config {
    char *bucket;
    char *prefix;     /* root prefix inside the bucket, no leading/trailing '/', may be "" */
    char *endpoint;   /* "scheme://host[:port]", no trailing '/' */
    char *host;       /* Host header value */
    bool path_style;  /* https://endpoint/bucket/key rather than https://bucket.endpoint/key */
    bool aws_host;    /* endpoint derived from bucket and region (no custom endpoint) */
    char *region;     /* endpoint, host and region may change (bucket region redirect): read them under site_lock */
    lh_s3_creds creds; /* access_key NULL: anonymous, unsigned requests; replaced on a
                        * refresh: read under site_lock */
    lh_s3_creds_source creds_source;
    int max_attempts;  /* total tries per request (>= 1) */
    int retry_base_ms; /* first backoff; doubles per attempt, capped */
    int max_keys;      /* ListObjectsV2 page size (test hook; 1000 by default) */
    size_t part_size;  /* multipart threshold and part size */
} lh_s3_config;

/* Points an AWS-derived endpoint at region (after S3 said the bucket lives
 * there). Caller holds site_lock. */
void lh_s3_config_set_region(lh_s3_config *c, const char *region);
/* Fills everything but bucket and prefix from the environment:
 *   AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS_ENDPOINT: custom endpoint,
 *     path-style unless AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true; http:// is
 *     accepted, a bare host is https unless AWS_ALLOW_HTTP=true. Without one,
 *     https://BUCKET.s3.REGION.amazonaws.com.
 *   AWS_REGION / AWS_DEFAULT_REGION / config file region / us-east-1.
 *   AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else the
 *     AWS_PROFILE (default "default") of the shared credentials file, or of
 *     the config file ([profile NAME]), else
 *     the container credentials endpoint or instance metadata (refreshed
 *     before they expire); none: anonymous, unsigned requests.
 *   LH_S3_MAX_ATTEMPTS (6), LH_S3_RETRY_BASE_MS (100). */
lh_status lh_s3_config_load(lh_s3_config *c, lh_error *err);
void lh_s3_config_free(lh_s3_config *c);

typedef struct lh_s3 {
    lh_storage base;
    lh_s3_config cfg;
    pthread_mutex_t pool_lock; /* guards the idle curl handles */
    pthread_mutex_t site_lock; /* guards cfg.endpoint, cfg.host, cfg.region and the credentials */
    void **pool;               /* CURL * handles kept for connection reuse */
    size_t pool_len, pool_cap;
    int64_t clock_offset_s;    /* server time - local time, learnt from RequestTimeTooSkewed (atomic) */
    bool anonymous;            /* no credentials found: requests go unsigned */
} lh_s3;

typedef struct lh_s3_req {
    const char *method;    /* GET, HEAD, PUT, POST, DELETE */
    const char *key;       /* object key relative to the storage root; NULL: the bucket */
    const char *query;     /* canonical query string (sorted, encoded) or NULL */
    const void *body;      /* request body (PUT/POST) */
    size_t body_len;
    const char *range;     /* "bytes=a-b" or NULL */
    const char *if_match;  /* ETag or NULL */
    bool if_none_match;    /* send If-None-Match: * */
    const char *content_type;
    const char *content_md5; /* base64 MD5 of the body, or NULL (DeleteObjects wants it) */
} lh_s3_req;

typedef struct lh_s3_resp {
    long status;        /* HTTP status of the last attempt, 0 if none */
    lh_buf body;
    uint64_t content_length;
    bool has_length;
    int64_t last_modified_ms;
    char etag[128];
    char code[64];      /* S3 error code from the XML body, if any */
    char message[256];
    char request_id[64];
    char bucket_region[64]; /* x-amz-bucket-region, on redirects */
    int attempts;
    bool ambiguous;     /* an earlier attempt may have reached the server */
} lh_s3_resp;

void lh_s3_resp_init(lh_s3_resp *r);
void lh_s3_resp_free(lh_s3_resp *r);

/* Performs req with retries on connection errors, 5xx, 429, SlowDown and
 * 409 ConditionalRequestConflict. LH_OK when some HTTP answer came back (the
 * caller checks resp->status; error statuses have code/message filled);
 * LH_ERR_IO naming the request when the retries ran out. */
lh_status lh_s3_perform(lh_s3 *s3, const lh_s3_req *req, lh_s3_resp *resp, lh_error *err);
/* Fills err for an unexpected status: method, s3://bucket/key, HTTP status,
 * S3 code and message. Returns code. */
lh_status lh_s3_fail(lh_s3 *s3, lh_status code, const lh_s3_req *req, const lh_s3_resp *resp,
                     lh_error *err);
/* "s3://bucket/<root prefix>/<key>" for messages; caller frees. */
char *lh_s3_describe(const lh_s3 *s3, const char *key);
/* Failures listed in the content of a DeleteResult (n keys asked). */
lh_status lh_s3_delete_errors(const char *result, size_t len, size_t n, const char *bucket,
                              lh_error *err);
/* Releases the handle pool (called by the backend's free). */
void lh_s3_http_cleanup(lh_s3 *s3);

/* Opens an s3://bucket[/prefix] URI (called by lh_storage_open). */
lh_status lh_storage_open_s3(const char *uri, lh_storage **out, lh_error *err);
/* Test hook: ListObjectsV2 page size. */
void lh_s3_set_max_keys(lh_storage *s, int max_keys);

#endif
