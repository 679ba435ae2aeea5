/* Temporary S3 credentials: a web identity token exchanged at STS (EKS
 * service accounts: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), and, after
 * the environment and the shared files had none, the machine's: the
 * container credentials endpoint (ECS, EKS pod identity:
 * AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI, optional
 * AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]), then EC2 instance metadata
 * (IMDSv2 token, then v1; AWS_EC2_METADATA_DISABLED,
 * AWS_EC2_METADATA_SERVICE_ENDPOINT). All expire and are fetched again
 * shortly before. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/libcurl_dyn.h"
#include "core/storage_s3.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"

#define IMDS_DEFAULT "http://169.254.169.254"
#define ECS_HOST "http://169.254.170.2"

void lh_s3_creds_free(lh_s3_creds *c)
{
    free(c->access_key);
    if (c->secret_key) memset(c->secret_key, 0, strlen(c->secret_key));
    free(c->secret_key);
    free(c->session_token);
    memset(c, 0, sizeof *c);
}

static char *dup_or_null(const char *s)
{
    return s ? lh_strdup(s) : NULL;
}

void lh_s3_creds_copy(lh_s3_creds *dst, const lh_s3_creds *src)
{
    dst->access_key = dup_or_null(src->access_key);
    dst->secret_key = dup_or_null(src->secret_key);
    dst->session_token = dup_or_null(src->session_token);
    dst->expire_ms = src->expire_ms;
}

static size_t sink(char *p, size_t size, size_t nmemb, void *ud)
{
    lh_buf_append(ud, p, size * nmemb);
    return size * nmemb;
}

/* One plain HTTP request with a short timeout: metadata services answer
 * at once or not at all; a POST sends `send` (a form). *status = 0 when
 * nothing answered. */
static void http_body(const char *method, const char *url, struct curl_slist *headers,
                      const char *send, long timeout_ms, lh_buf *body, long *status, char *why,
                      size_t whylen)
{
    *status = 0;
    why[0] = '\0';
    lh_buf_reset(body);
    lh_error e;
    if (lh_libcurl_load(&e) != LH_OK) {
        snprintf(why, whylen, "%s", e.msg);
        return;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(why, whylen, "cannot create a curl handle");
        return;
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2 * timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(send ? send : ""));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, send ? send : "");
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    else snprintf(why, whylen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
    curl_easy_cleanup(h);
    lh_buf_append(body, "", 0); /* data is a C string even when nothing came */
}

/* The same without a body to send. */
static void http(const char *method, const char *url, struct curl_slist *headers,
                 long timeout_ms, lh_buf *body, long *status, char *why, size_t whylen)
{
    http_body(method, url, headers, NULL, timeout_ms, body, status, why, whylen);
}

lh_status lh_s3_creds_parse(const char *json, size_t len, const char *source, lh_s3_creds *out,
                            lh_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: the answer is not a JSON object", source);
    }
    const char *code = json_string_value(json_object_get(root, "Code"));
    const char *ak = json_string_value(json_object_get(root, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(root, "SecretAccessKey"));
    const char *tok = json_string_value(json_object_get(root, "Token"));
    const char *exp = json_string_value(json_object_get(root, "Expiration"));
    lh_status rc = LH_OK;
    int64_t exp_us = 0;
    if (code && strcmp(code, "Success") != 0)
        rc = lh_error_set(err, LH_ERR_IO, "%s: credentials refused: %s", source, code);
    else if (!ak || !*ak || !sk || !*sk)
        rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: the answer lacks AccessKeyId or SecretAccessKey",
                          source);
    else if (exp && lh_time_parse_iso(exp, strlen(exp), &exp_us, err) != LH_OK)
        rc = lh_error_prefix(err, "%s: Expiration", source);
    if (rc == LH_OK) {
        out->access_key = lh_strdup(ak);
        out->secret_key = lh_strdup(sk);
        out->session_token = tok && *tok ? lh_strdup(tok) : NULL;
        out->expire_ms = exp ? exp_us / 1000 : 0;
    }
    json_decref(root);
    return rc;
}

static lh_status container_fetch(lh_s3_creds *out, lh_error *err)
{
    const char *full = lh_s3_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *rel = lh_s3_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    char *url = full ? lh_strdup(full) : lh_asprintf("%s%s", ECS_HOST, rel);
    const char *var = full ? "AWS_CONTAINER_CREDENTIALS_FULL_URI" : "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
    char *token = NULL;
    const char *token_file = lh_s3_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    lh_status rc = LH_OK;
    if (token_file) {
        FILE *f = fopen(token_file, "r");
        char line[8192];
        if (!f || !fgets(line, sizeof line, f)) {
            rc = lh_error_set(err, LH_ERR_IO, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: cannot read it",
                              token_file);
        } else {
            line[strcspn(line, "\r\n")] = '\0';
            token = lh_strdup(line);
        }
        if (f) fclose(f);
    } else if (lh_s3_env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
        token = lh_strdup(lh_s3_env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    }
    struct curl_slist *hl = NULL;
    if (token) {
        char *h = lh_asprintf("Authorization: %s", token);
        hl = curl_slist_append(hl, h);
        free(h);
    }
    lh_buf body = LH_BUF_INIT;
    if (rc == LH_OK) {
        long status;
        char why[CURL_ERROR_SIZE];
        http("GET", url, hl, 2000, &body, &status, why, sizeof why);
        if (status && status != 200)
            rc = lh_error_set(err, LH_ERR_IO, "%s %s: HTTP %ld", var, url, status);
        else if (!status)
            rc = lh_error_set(err, LH_ERR_IO, "%s %s: %s", var, url, why);
        if (rc == LH_OK) rc = lh_s3_creds_parse(body.data, body.len, var, out, err);
    }
    lh_buf_free(&body);
    curl_slist_free_all(hl);
    free(token);
    free(url);
    return rc;
}

static lh_status imds_fetch(lh_s3_creds *out, lh_error *err)
{
    const char *ep = lh_s3_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char *base = lh_strdup(ep ? ep : IMDS_DEFAULT);
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/') base[--bl] = '\0';
    lh_buf body = LH_BUF_INIT;
    long status;
    char why[CURL_ERROR_SIZE];
    /* IMDSv2: a session token first; a service without v2 answers 403/404/405
     * and is asked without one (v1) */
    char *url = lh_asprintf("%s/latest/api/token", base);
    struct curl_slist *hl = curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    http("PUT", url, hl, 1000, &body, &status, why, sizeof why);
    curl_slist_free_all(hl);
    free(url);
    hl = NULL;
    lh_status rc = LH_OK;
    if (!status) {
        rc = lh_error_set(err, LH_ERR_IO, "instance metadata %s: %s", base, why);
        goto done;
    }
    if (status == 200) {
        char *h = lh_asprintf("X-aws-ec2-metadata-token: %s", body.data);
        hl = curl_slist_append(NULL, h);
        free(h);
    }
    url = lh_asprintf("%s/latest/meta-data/iam/security-credentials/", base);
    http("GET", url, hl, 1000, &body, &status, why, sizeof why);
    free(url);
    if (status != 200) {
        rc = status ? lh_error_set(err, LH_ERR_IO, "instance metadata %s: no IAM role (HTTP %ld)", base,
                                   status)
                    : lh_error_set(err, LH_ERR_IO, "instance metadata %s: %s", base, why);
        goto done;
    }
    char *role = lh_strndup(body.data, strcspn(body.data, "\r\n"));
    url = lh_asprintf("%s/latest/meta-data/iam/security-credentials/%s", base, role);
    http("GET", url, hl, 1000, &body, &status, why, sizeof why);
    if (status && status != 200)
        rc = lh_error_set(err, LH_ERR_IO, "instance metadata %s: role %s: HTTP %ld", base, role,
                          status);
    else if (!status)
        rc = lh_error_set(err, LH_ERR_IO, "instance metadata %s: role %s: %s", base, role, why);
    else
        rc = lh_s3_creds_parse(body.data, body.len, "instance metadata", out, err);
    free(url);
    free(role);
done:
    curl_slist_free_all(hl);
    lh_buf_free(&body);
    free(base);
    return rc;
}

bool lh_s3_web_identity_configured(void)
{
    return lh_s3_env("AWS_WEB_IDENTITY_TOKEN_FILE") && lh_s3_env("AWS_ROLE_ARN");
}

static void form_add(lh_buf *f, const char *name, const char *value)
{
    if (f->len) lh_buf_append_byte(f, '&');
    lh_buf_append_str(f, name);
    lh_buf_append_byte(f, '=');
    lh_s3_uri_encode(f, value, false);
}

/* AssumeRoleWithWebIdentity: the token file is read on every fetch (the
 * cluster rotates it); the request is unsigned, the token is the proof. */
static lh_status web_identity_fetch(const char *region, lh_s3_creds *out, lh_error *err)
{
    const char *path = lh_s3_env("AWS_WEB_IDENTITY_TOKEN_FILE");
    FILE *f = fopen(path, "r");
    if (!f) return lh_error_errno(err, LH_ERR_IO, errno, "AWS_WEB_IDENTITY_TOKEN_FILE %s", path);
    lh_buf token = LH_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) lh_buf_append(&token, chunk, n);
    fclose(f);
    while (token.len && (token.data[token.len - 1] == '\n' || token.data[token.len - 1] == '\r'))
        token.data[--token.len] = '\0';
    if (!token.len) {
        lh_buf_free(&token);
        return lh_error_set(err, LH_ERR_INVALID, "AWS_WEB_IDENTITY_TOKEN_FILE %s is empty", path);
    }
    const char *ep = lh_s3_env("AWS_ENDPOINT_URL_STS");
    char *url = ep ? lh_strdup(ep) : lh_asprintf("https://sts.%s.amazonaws.com/", region);
    char *session = lh_s3_env("AWS_ROLE_SESSION_NAME") ? lh_strdup(lh_s3_env("AWS_ROLE_SESSION_NAME"))
                                                 : lh_asprintf("ftm-lakehouse-%ld", (long)time(NULL));
    lh_buf form = LH_BUF_INIT;
    form_add(&form, "Action", "AssumeRoleWithWebIdentity");
    form_add(&form, "RoleArn", lh_s3_env("AWS_ROLE_ARN"));
    form_add(&form, "RoleSessionName", session);
    form_add(&form, "Version", "2011-06-15");
    form_add(&form, "WebIdentityToken", token.data);
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    lh_buf body = LH_BUF_INIT;
    long status;
    char why[CURL_ERROR_SIZE];
    http_body("POST", url, hl, form.data, 5000, &body, &status, why, sizeof why);
    lh_status rc = LH_OK;
    const char *cred;
    size_t clen;
    if (!status) {
        rc = lh_error_set(err, LH_ERR_IO, "STS %s: %s", url, why);
    } else if (status != 200) {
        char *code = lh_s3_xml_get(body.data, body.len, "Code");
        char *msg = lh_s3_xml_get(body.data, body.len, "Message");
        rc = lh_error_set(err, LH_ERR_IO, "STS %s: AssumeRoleWithWebIdentity for %s: HTTP %ld %s%s%s", url,
                          lh_s3_env("AWS_ROLE_ARN"), status, code ? code : "", msg ? ": " : "", msg ? msg : "");
        free(code);
        free(msg);
    } else if (!lh_s3_xml_find(body.data, body.len, "Credentials", &cred, &clen)) {
        rc = lh_error_set(err, LH_ERR_CORRUPT, "STS %s: the answer has no Credentials", url);
    } else {
        out->access_key = lh_s3_xml_get(cred, clen, "AccessKeyId");
        out->secret_key = lh_s3_xml_get(cred, clen, "SecretAccessKey");
        out->session_token = lh_s3_xml_get(cred, clen, "SessionToken");
        char *exp = lh_s3_xml_get(cred, clen, "Expiration");
        int64_t us = 0;
        if (!out->access_key || !out->secret_key || !*out->access_key || !*out->secret_key)
            rc = lh_error_set(err, LH_ERR_CORRUPT, "STS %s: the Credentials lack AccessKeyId or SecretAccessKey", url);
        else if (exp && lh_time_parse_iso(exp, strlen(exp), &us, err) != LH_OK)
            rc = lh_error_prefix(err, "STS %s: Expiration", url);
        out->expire_ms = us / 1000;
        if (out->session_token && !*out->session_token) {
            free(out->session_token);
            out->session_token = NULL;
        }
        free(exp);
        if (rc != LH_OK) lh_s3_creds_free(out);
    }
    if (token.len) memset(token.data, 0, token.len);
    lh_buf_free(&token);
    lh_buf_free(&form);
    lh_buf_free(&body);
    curl_slist_free_all(hl);
    free(session);
    free(url);
    return rc;
}

lh_status lh_s3_creds_fetch(lh_s3_creds_source source, const char *region, lh_s3_creds *out,
                            lh_error *err)
{
    memset(out, 0, sizeof *out);
    switch (source) {
    case LH_S3_CREDS_WEB_IDENTITY: return web_identity_fetch(region, out, err);
    case LH_S3_CREDS_CONTAINER: return container_fetch(out, err);
    case LH_S3_CREDS_IMDS: return imds_fetch(out, err);
    default: return lh_error_set(err, LH_ERR_INTERNAL, "no credentials source to fetch from");
    }
}

lh_status lh_s3_creds_discover(lh_s3_creds_source *source, lh_s3_creds *out, lh_error *err)
{
    *source = LH_S3_CREDS_NONE;
    memset(out, 0, sizeof *out);
    if (lh_s3_env("AWS_CONTAINER_CREDENTIALS_FULL_URI") || lh_s3_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
        /* configured explicitly: a failure is an error, not anonymity */
        LH_TRY(container_fetch(out, err));
        *source = LH_S3_CREDS_CONTAINER;
        return LH_OK;
    }
    if (lh_s3_env_true("AWS_EC2_METADATA_DISABLED")) return LH_OK;
    lh_error e;
    if (imds_fetch(out, &e) == LH_OK) {
        *source = LH_S3_CREDS_IMDS;
        return LH_OK;
    }
    /* Not on EC2, or no role there (or something else answering that
     * address): anonymous, as without any credentials. An endpoint named
     * explicitly must work. */
    if (!lh_s3_env("AWS_EC2_METADATA_SERVICE_ENDPOINT")) return LH_OK;
    *err = e;
    return e.code;
}
