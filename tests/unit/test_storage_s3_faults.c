/* S3 backend failure handling against the loopback server (s3_server.h):
 * retries on injected 5xx/429/409 answers and dropped connections, ambiguous
 * conditional writes, non-retryable errors, signatures the server refuses,
 * credentials from the shared AWS files, an endpoint nobody listens on. */
#include "lh/format/delta.h"
#include "s3_server.h"

static void test_retries(void)
{
    lh_storage *s = open_s3("retry");
    if (!s) return;
    lh_error err;
    lh_buf b = LH_BUF_INIT;
    long puts = stat_count("PUT");
    fault("count=2&status=503&code=SlowDown&method=PUT");
    CHECK_OK(lh_storage_write(s, "k", "v", 1, &err), &err);
    CHECK_INT(stat_count("PUT") - puts, 3);
    fault("count=1&status=500&code=InternalError&method=GET");
    fault("count=1&mode=drop&method=GET");
    CHECK_OK(lh_storage_read(s, "k", &b, &err), &err);
    CHECK_STR(b.data, "v");
    fault("count=1&status=429&code=TooManyRequests&method=HEAD");
    lh_stat st;
    CHECK_OK(lh_storage_stat(s, "k", &st, &err), &err);
    /* The conflict S3 reports when conditional writes to one key overlap. */
    fault("count=1&status=409&code=ConditionalRequestConflict&method=PUT");
    CHECK_OK(lh_storage_put_if_absent(s, "c1", "x", 1, &err), &err);
    /* Applied but unanswered, then 412 on the retry: recognised as our own write. */
    fault("count=1&mode=drop_after&method=PUT");
    CHECK_OK(lh_storage_put_if_absent(s, "c2", "mine", 4, &err), &err);
    CHECK_RC(lh_storage_put_if_absent(s, "c2", "mine", 4, &err), LH_ERR_EXISTS);
    /* A non-retryable status is not retried. */
    puts = stat_count("PUT");
    fault("count=1&status=403&code=AccessDenied&method=PUT");
    CHECK_RC(lh_storage_write(s, "k2", "v", 1, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "HTTP 403 AccessDenied") != NULL && strstr(err.msg, "retry/k2") != NULL);
    CHECK_INT(stat_count("PUT") - puts, 1);
    fault("count=1&status=403&code=AccessDenied&method=HEAD");
    bool ex;
    CHECK_RC(lh_storage_exists(s, "k", &ex, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "HTTP 403") != NULL && strstr(err.msg, "s3:ListBucket") != NULL);
    /* A 200 that is not a listing (a wrong endpoint) is an error, not "no keys". */
    fault("count=1&status=200&code=NotS3&method=GET");
    lh_strlist keys;
    lh_strlist_init(&keys);
    CHECK_RC(lh_storage_list(s, "", LH_LIST_RECURSIVE, &keys, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "not a ListBucketResult") != NULL);
    CHECK_INT(keys.len, 0);
    lh_strlist_free(&keys);
    /* A DeleteObjects answer (200) listing a failed key is that key's
     * failure, not a failed request to retry. */
    const char *two[] = {"k", "c1"};
    long posts = stat_count("POST");
    fault("count=1&mode=delete_error&code=AccessDenied&method=POST");
    CHECK_RC(lh_storage_delete_many(s, two, 2, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "retry/k: delete failed: AccessDenied") != NULL);
    CHECK(strstr(err.msg, "1 of 2 keys") != NULL);
    CHECK_INT(stat_count("POST") - posts, 1);
    /* Persistent 5xx: gives up after LH_S3_MAX_ATTEMPTS (4). */
    fault("count=4&status=503&code=SlowDown&method=GET");
    CHECK_RC(lh_storage_read(s, "k", &b, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "SlowDown") != NULL && strstr(err.msg, "after 4 attempts") != NULL);
    /* Multipart with a failing part upload. */
    lh_buf data = LH_BUF_INIT;
    fill(&data, (size_t)9 << 20, 5);
    fault("count=1&status=500&code=InternalError&method=PUT");
    fault("count=1&mode=drop&method=POST");
    CHECK_OK(lh_storage_write(s, "big", data.data, data.len, &err), &err);
    lh_buf_reset(&b);
    CHECK_OK(lh_storage_read(s, "big", &b, &err), &err);
    CHECK(b.len == data.len && memcmp(b.data, data.data, data.len) == 0);
    /* 409 on completion is not retried: the caller must start over. */
    lh_storage_writer *w = NULL;
    CHECK_OK(lh_storage_writer_open(s, "big409", &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, data.data, data.len, &err), &err);
    fault("count=1&status=409&code=ConditionalRequestConflict&method=POST");
    CHECK_RC(lh_storage_writer_commit_if_absent(w, &err), LH_ERR_CONFLICT);
    CHECK(strstr(err.msg, "ConditionalRequestConflict") != NULL);
    lh_storage_writer_free(w);
    CHECK_INT(count_uploads(s), 0);
    lh_buf_free(&data);
    lh_buf_free(&b);
    lh_storage_free(s);
}

/* The server checks signatures: a wrong secret is refused, and not retried. */
static void test_bad_signature(void)
{
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    lh_storage *s = open_s3("auth");
    setenv("AWS_SECRET_ACCESS_KEY", server_secret, 1);
    if (!s) return;
    lh_error err;
    lh_buf b = LH_BUF_INIT;
    long gets = stat_count("GET");
    CHECK_RC(lh_storage_read(s, "k", &b, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "HTTP 403 SignatureDoesNotMatch") != NULL);
    CHECK_INT(stat_count("GET") - gets, 1);
    lh_buf_free(&b);
    lh_storage_free(s);
}

/* Credentials and region from the shared files when the environment has none. */
static void test_credentials_file(void)
{
    char *dir = lh_test_tmpdir();
    char *creds = lh_asprintf("%s/credentials", dir), *conf = lh_asprintf("%s/config", dir);
    FILE *f = fopen(creds, "w");
    fprintf(f, "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
               "# comment\n[lh]\naws_access_key_id=%s\n  aws_secret_access_key = %s  \n",
            server_key_id, server_secret);
    fclose(f);
    f = fopen(conf, "w");
    fprintf(f, "[default]\nregion = eu-west-1\n[profile lh]\nregion = us-east-1\n");
    fclose(f);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_REGION");
    setenv("AWS_SHARED_CREDENTIALS_FILE", creds, 1);
    setenv("AWS_CONFIG_FILE", conf, 1);
    setenv("AWS_PROFILE", "lh", 1);
    lh_storage *s = open_s3("profile");
    lh_error err;
    if (s) {
        CHECK_STR(((lh_s3 *)s)->cfg.region, "us-east-1");
        CHECK_OK(lh_storage_write(s, "k", "v", 1, &err), &err);
        lh_storage_free(s);
    }
    unsetenv("AWS_PROFILE"); /* [default]: wrong key, eu-west-1 */
    s = open_s3("profile");
    if (s) {
        CHECK_STR(((lh_s3 *)s)->cfg.region, "eu-west-1");
        CHECK_STR(((lh_s3 *)s)->cfg.creds.access_key, "wrong");
        lh_storage_free(s);
    }
    /* keys in the config file's profile section, none in the credentials file */
    f = fopen(conf, "w");
    fprintf(f, "[profile cfg]\nregion = us-east-1\naws_access_key_id = %s\naws_secret_access_key = %s\n",
            server_key_id, server_secret);
    fclose(f);
    setenv("AWS_PROFILE", "cfg", 1);
    s = open_s3("profile");
    if (s) {
        CHECK_STR(((lh_s3 *)s)->cfg.creds.access_key, server_key_id);
        CHECK_OK(lh_storage_write(s, "k", "v", 1, &err), &err);
        lh_storage_free(s);
    }
    /* a profile in neither file is refused, as the SDKs' ProfileNotFound,
     * not taken for anonymous access */
    setenv("AWS_PROFILE", "nowhere", 1);
    lh_storage *none = NULL;
    CHECK_RC(lh_storage_open("s3://lh-test/profile", &none, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "AWS_PROFILE=nowhere: no such profile") != NULL);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
    setenv("HOME", dir, 1); /* no ~/.aws and no instance metadata: anonymous */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    s = open_s3("profile");
    if (s) {
        CHECK(((lh_s3 *)s)->cfg.creds.access_key == NULL);
        lh_buf b = LH_BUF_INIT;
        CHECK_RC(lh_storage_read(s, "k", &b, &err), LH_ERR_IO); /* moto refuses unsigned requests */
        /* and the refusal says why it most likely came */
        CHECK(strstr(err.msg, "no AWS credentials were found") != NULL);
        lh_buf_free(&b);
        lh_storage_free(s);
    }
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setup_env();
    /* a path after the endpoint's host would be dropped: refused */
    const char *endpoint = getenv("AWS_ENDPOINT_URL");
    char *with_path = lh_asprintf("%s/proxy/s3", endpoint ? endpoint : "http://127.0.0.1:9");
    setenv("AWS_ENDPOINT_URL", with_path, 1);
    CHECK_RC(lh_storage_open("s3://lh-test/profile", &none, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "a path, query or fragment after the host") != NULL);
    free(with_path);
    setup_env();
    lh_test_rmtree(dir);
    free(creds);
    free(conf);
    free(dir);
}

/* A request to the wrong region is answered with the bucket's region: the
 * storage switches over and repeats the request. */
static void test_region_redirect(void)
{
    setenv("AWS_REGION", "eu-central-1", 1);
    lh_storage *s = open_s3("region");
    setenv("AWS_REGION", "us-east-1", 1);
    if (!s) return;
    lh_error err;
    fault("count=1&status=400&code=AuthorizationHeaderMalformed&method=PUT&region=us-east-1");
    CHECK_OK(lh_storage_write(s, "k", "v", 1, &err), &err);
    CHECK_STR(((lh_s3 *)s)->cfg.region, "us-east-1");
    fault("count=1&status=301&code=PermanentRedirect&method=HEAD&region=eu-west-1");
    lh_stat st;
    CHECK_OK(lh_storage_stat(s, "k", &st, &err), &err);
    CHECK_STR(((lh_s3 *)s)->cfg.region, "eu-west-1");
    /* Only one switch a request: a server that keeps redirecting is an error. */
    fault("count=2&status=301&code=PermanentRedirect&method=GET&region=eu-north-1");
    lh_buf b = LH_BUF_INIT;
    CHECK_RC(lh_storage_read(s, "k", &b, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "HTTP 301 PermanentRedirect") != NULL);
    lh_buf_free(&b);
    lh_storage_free(s);
}

static void test_connection_refused(void)
{
    /* Nothing listens on port 1: connection errors are retried, then reported. */
    char *saved = lh_strdup(getenv("AWS_ENDPOINT_URL"));
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
    setenv("LH_S3_MAX_ATTEMPTS", "2", 1);
    lh_storage *s = open_s3("x");
    setenv("AWS_ENDPOINT_URL", saved, 1);
    setenv("LH_S3_MAX_ATTEMPTS", "4", 1);
    free(saved);
    if (!s) return;
    lh_error err;
    lh_buf b = LH_BUF_INIT;
    CHECK_RC(lh_storage_read(s, "k", &b, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "gave up after 2 attempts") != NULL);
    lh_buf_free(&b);
    lh_storage_free(s);
}


/* The credentials JSON of the metadata services, offline. */
static void test_creds_parse(void)
{
    lh_error err;
    lh_s3_creds c;
    const char *ok = "{\"Code\": \"Success\", \"AccessKeyId\": \"AK\", \"SecretAccessKey\": \"SK\", "
                     "\"Token\": \"TOK\", \"Expiration\": \"2030-01-02T03:04:05Z\"}";
    CHECK_OK(lh_s3_creds_parse(ok, strlen(ok), "x", &c, &err), &err);
    CHECK_STR(c.access_key, "AK");
    CHECK_STR(c.secret_key, "SK");
    CHECK_STR(c.session_token, "TOK");
    CHECK(c.expire_ms == 1893553445000LL);
    lh_s3_creds_free(&c);
    const char *refused = "{\"Code\": \"AssumeRoleUnauthorizedAccess\"}";
    CHECK_RC(lh_s3_creds_parse(refused, strlen(refused), "instance metadata", &c, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "instance metadata: credentials refused: AssumeRoleUnauthorizedAccess") != NULL);
    const char *partial = "{\"AccessKeyId\": \"AK\"}";
    CHECK_RC(lh_s3_creds_parse(partial, strlen(partial), "x", &c, &err), LH_ERR_CORRUPT);
    CHECK_RC(lh_s3_creds_parse("<html>", 6, "x", &c, &err), LH_ERR_CORRUPT);
}

static long creds_fetches(const char *which)
{
    return stat_count(which);
}

/* Without keys in the environment or files: the container endpoint, then
 * EC2 instance metadata, and a web identity at STS before the files (all
 * served by the fixture with the key moto checks signatures against),
 * refreshed when about to expire. */
static void test_machine_credentials(void)
{
    char *dir = lh_test_tmpdir();
    char *saved_home = lh_strdup(getenv("HOME") ? getenv("HOME") : "/");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("HOME", dir, 1); /* no ~/.aws */
    char base[64], url[128];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", server_port);
    lh_error err;
    lh_buf b = LH_BUF_INIT;

    /* instance metadata, IMDSv2 */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
    long before = creds_fetches("imds");
    lh_storage *s = open_s3("machine");
    if (s) {
        CHECK_INT(((lh_s3 *)s)->cfg.creds_source, LH_S3_CREDS_IMDS);
        CHECK_STR(((lh_s3 *)s)->cfg.creds.access_key, server_key_id);
        CHECK_OK(lh_storage_write(s, "k", "v", 1, &err), &err);
        CHECK_OK(lh_storage_read(s, "k", &b, &err), &err);
        CHECK_INT(creds_fetches("imds") - before, 1); /* fresh for an hour: fetched once */
        lh_storage_free(s);
    }
    /* about to expire: fetched again before each request */
    control("POST", "/__lh_creds__?expires_in=60", NULL);
    before = creds_fetches("imds");
    s = open_s3("machine");
    if (s) {
        lh_buf_reset(&b);
        CHECK_OK(lh_storage_read(s, "k", &b, &err), &err);
        CHECK_OK(lh_storage_read(s, "k", &b, &err), &err);
        CHECK_INT(creds_fetches("imds") - before, 3);
        lh_storage_free(s);
    }
    control("POST", "/__lh_creds__?expires_in=3600", NULL);
    /* an endpoint named explicitly must answer */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    lh_storage *bad = NULL;
    CHECK_RC(lh_storage_open("s3://" BUCKET "/machine", &bad, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "instance metadata http://127.0.0.1:1") != NULL);
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");

    /* the container endpoint comes first; its token from the environment or a file */
    snprintf(url, sizeof url, "%s/__lh_container_creds__", base);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "lh-container-auth", 1);
    before = creds_fetches("container");
    s = open_s3("machine");
    if (s) {
        CHECK_INT(((lh_s3 *)s)->cfg.creds_source, LH_S3_CREDS_CONTAINER);
        CHECK_OK(lh_storage_read(s, "k", &b, &err), &err);
        lh_storage_free(s);
    }
    CHECK_INT(creds_fetches("container") - before, 1);
    char *token_file = lh_asprintf("%s/token", dir);
    FILE *f = fopen(token_file, "w");
    fputs("lh-container-auth\n", f);
    fclose(f);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file, 1); /* wins over the variable */
    s = open_s3("machine");
    if (s) {
        CHECK_OK(lh_storage_read(s, "k", &b, &err), &err);
        lh_storage_free(s);
    }
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    CHECK_RC(lh_storage_open("s3://" BUCKET "/machine", &bad, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL && strstr(err.msg, "HTTP 403"));
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

    /* a web identity token exchanged at STS comes before the shared files */
    char *web_token = lh_asprintf("%s/web-token", dir);
    f = fopen(web_token, "w");
    fputs("lh-web-token\n", f);
    fclose(f);
    char *creds = lh_asprintf("%s/credentials", dir);
    f = fopen(creds, "w");
    fputs("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n", f);
    fclose(f);
    setenv("AWS_SHARED_CREDENTIALS_FILE", creds, 1);
    snprintf(url, sizeof url, "%s/__lh_sts__", base);
    setenv("AWS_ENDPOINT_URL_STS", url, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/lh", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", web_token, 1);
    control("POST", "/__lh_creds__?expires_in=60", NULL); /* refreshed per request */
    before = creds_fetches("sts");
    s = open_s3("machine");
    if (s) {
        CHECK_INT(((lh_s3 *)s)->cfg.creds_source, LH_S3_CREDS_WEB_IDENTITY);
        CHECK_OK(lh_storage_read(s, "k", &b, &err), &err);
        CHECK_INT(creds_fetches("sts") - before, 2);
        lh_storage_free(s);
    }
    control("POST", "/__lh_creds__?expires_in=3600", NULL);
    f = fopen(web_token, "w");
    fputs("stolen\n", f);
    fclose(f);
    CHECK_RC(lh_storage_open("s3://" BUCKET "/machine", &bad, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "AssumeRoleWithWebIdentity for arn:aws:iam::123456789012:role/lh: HTTP 403 "
                          "InvalidIdentityToken: bad token") != NULL);
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_ENDPOINT_URL_STS");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    free(web_token);
    free(creds);

    /* metadata switched off and nothing else: anonymous */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    s = open_s3("machine");
    if (s) {
        CHECK(((lh_s3 *)s)->cfg.creds.access_key == NULL);
        lh_storage_free(s);
    }
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("HOME", saved_home, 1);
    setup_env();
    lh_buf_free(&b);
    lh_test_rmtree(dir);
    free(token_file);
    free(saved_home);
    free(dir);
}


/* A request dated too far from the server's clock is refused with the
 * server's time: the storage dates requests by it from then on. */
static void test_clock_skew(void)
{
    lh_storage *s = open_s3("skew");
    if (!s) return;
    lh_error err;
    char spec[160], when[32];
    time_t ahead = time(NULL) + 3600;
    struct tm tm;
    gmtime_r(&ahead, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(spec, sizeof spec, "count=1&status=403&code=RequestTimeTooSkewed&method=PUT&server_time=%s", when);
    fault(spec);
    CHECK_OK(lh_storage_write(s, "k", "v", 1, &err), &err);
    int64_t off = ((lh_s3 *)s)->clock_offset_s;
    CHECK(off >= 3590 && off <= 3610);
    /* the same answer again, now that the clock agrees: an error, not a loop */
    fault(spec);
    lh_buf b = LH_BUF_INIT;
    CHECK_RC(lh_storage_write(s, "k2", "v", 1, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "RequestTimeTooSkewed") != NULL);
    lh_buf_free(&b);
    lh_storage_free(s);
}

/* A Delta commit whose PUT the store applied but whose every answer was
 * lost is found in the log; one the store never applied is not; when the
 * log cannot be read back either, the outcome is unknown. */
static void test_commit_outcome(void)
{
    lh_storage *s = open_s3("outcome");
    if (!s) return;
    lh_error err;
    lh_delta_field fields[] = {{"id", "string", true}};
    lh_delta_table_spec spec = {fields, 1, NULL, 0, NULL, 0, NULL, NULL};
    CHECK_OK(lh_delta_create(s, "t", &spec, NULL, &err), &err);
    const char *faults[] = {
        /* applied, then no answer the client accepts (4 attempts) */
        "count=1&mode=drop_after&method=PUT|count=3&status=503&code=SlowDown&method=PUT",
        /* never applied */
        "count=4&mode=drop&method=PUT",
        /* never applied, and the read-back fails too */
        "count=4&mode=drop&method=PUT|count=4&status=503&code=SlowDown&method=GET",
    };
    const lh_delta_outcome want[] = {LH_DELTA_COMMITTED, LH_DELTA_NOT_COMMITTED,
                                     LH_DELTA_OUTCOME_UNKNOWN};
    for (int i = 0; i < 3; i++) {
        /* read first: the commit then lists nothing before its PUT */
        lh_delta_snapshot *snap = NULL;
        CHECK_OK(lh_delta_snapshot_load(s, "t", LH_DELTA_LATEST, &snap, &err), &err);
        lh_delta_txn *t = NULL;
        CHECK_OK(lh_delta_txn_new(s, "t", snap, &t, &err), &err);
        char path[32];
        snprintf(path, sizeof path, "f%d.parquet", i);
        lh_delta_add a = {path, NULL, 0, 10, 1700000000000, true, NULL};
        CHECK_OK(lh_delta_txn_add(t, &a, &err), &err);
        char spec_buf[256];
        snprintf(spec_buf, sizeof spec_buf, "%s", faults[i]);
        for (char *f = strtok(spec_buf, "|"); f; f = strtok(NULL, "|")) fault(f);
        int64_t v = -1, landed = -2;
        CHECK_RC(lh_delta_txn_commit(t, &v, &err), LH_ERR_IO);
        CHECK_INT(lh_delta_txn_outcome(t, &landed), want[i]);
        CHECK_INT(landed, want[i] == LH_DELTA_COMMITTED ? 1 : -1);
        if (want[i] == LH_DELTA_OUTCOME_UNKNOWN) CHECK(strstr(err.msg, "is unknown") != NULL);
        lh_delta_txn_free(t);
        lh_delta_snapshot_free(snap);
    }
    int64_t latest = -1;
    CHECK_OK(lh_delta_latest_version(s, "t", &latest, &err), &err);
    CHECK_INT(latest, 1);
    lh_storage_free(s);
}

int main(void)
{
    RUN(test_creds_parse);
    if (!s3_server_begin()) return lh_test_report();
    RUN(test_retries);
    RUN(test_bad_signature);
    RUN(test_credentials_file);
    RUN(test_machine_credentials);
    RUN(test_region_redirect);
    RUN(test_clock_skew);
    RUN(test_commit_outcome);
    RUN(test_connection_refused);
    stop_server();
    return lh_test_report();
}
