/* S3 backend: Signature V4 vectors and the XML reader offline, then every
 * backend operation against a loopback S3 server (moto, see s3_server.h)
 * that this test starts and stops: reads, ranged reads, conditional puts and
 * a 4-process race, multipart uploads and aborts, paginated listings.
 * Failure handling is in test_storage_s3_faults.c. */
#include <pthread.h>

#include "s3_server.h"

/* ---- offline ---- */

static void test_sigv4_vectors(void)
{
    /* The GET Object example of the AWS S3 SigV4 documentation. */
    lh_sigv4_key key = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
    const char *empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    lh_s3_header h[] = {{"range", "bytes=0-9"},
                        {"x-amz-date", "20130524T000000Z"},
                        {"host", "examplebucket.s3.amazonaws.com"},
                        {"x-amz-content-sha256", empty}};
    lh_buf out = LH_BUF_INIT;
    lh_sigv4_authorization(&key, "GET", "/test.txt", "", h, 4, empty, "20130524T000000Z", &out);
    CHECK_STR(out.data, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    /* Path-style PUT of an encoded key with a query; expected value from botocore. */
    char body_hash[LH_SHA256_HEX_LEN + 1];
    lh_s3_sha256_hex("hello", 5, body_hash);
    CHECK_STR(body_hash, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    lh_buf path = LH_BUF_INIT;
    lh_buf_append_str(&path, "/bkt/");
    lh_s3_uri_encode(&path, "a b/\xc3\xbc+.txt", true);
    CHECK_STR(path.data, "/bkt/a%20b/%C3%BC%2B.txt");
    lh_buf q = LH_BUF_INIT;
    lh_s3_uri_encode(&q, "x/y", false);
    CHECK_STR(q.data, "x%2Fy");
    lh_sigv4_key key2 = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "eu-west-1", "s3"};
    lh_s3_header h2[] = {{"host", "127.0.0.1:9000"},
                         {"x-amz-content-sha256", body_hash},
                         {"x-amz-date", "20240102T030405Z"}};
    lh_buf_reset(&out);
    lh_sigv4_authorization(&key2, "PUT", path.data, "partNumber=1&uploadId=x%2Fy", h2, 3, body_hash,
                           "20240102T030405Z", &out);
    CHECK(lh_str_endswith(out.data, "Signature=ab6677a68d24a68e54acbabf6b7ad005013b2b736697a019b0021c8ffb3e6f6f"));
    lh_buf_free(&out);
    lh_buf_free(&path);
    lh_buf_free(&q);
}

static void test_xml(void)
{
    const char *x = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3\"><IsTruncated>true</IsTruncated>"
                    "<Contents><Key>a&amp;b&lt;&#233;&#x263A;</Key><Size>3</Size></Contents>"
                    "<Contents><Key>c</Key></Contents><Empty/><NextContinuationToken>t=1</NextContinuationToken>"
                    "</ListBucketResult>";
    size_t n = strlen(x);
    char *v = lh_s3_xml_get(x, n, "Key");
    CHECK_STR(v, "a&b<\xc3\xa9\xe2\x98\xba");
    free(v);
    v = lh_s3_xml_get(x, n, "Empty");
    CHECK_STR(v, "");
    free(v);
    CHECK(lh_s3_xml_get(x, n, "Missing") == NULL);
    CHECK(lh_s3_xml_get(x, n, "Conten") == NULL); /* a name prefix is not a match */
    const char *p = x, *inner;
    size_t len;
    int count = 0;
    while ((p = lh_s3_xml_find(p, (size_t)(x + n - p), "Contents", &inner, &len))) count++;
    CHECK_INT(count, 2);
    v = lh_s3_xml_get(x, n, "NextContinuationToken");
    CHECK_STR(v, "t=1");
    free(v);
    lh_buf b = LH_BUF_INIT;
    CHECK(!lh_s3_xml_text("a&bogus;", 8, &b));
    CHECK(!lh_s3_xml_text("&#xD800;", 8, &b));
    CHECK(!lh_s3_xml_text("a & b", 5, &b));
    lh_buf_free(&b);
}

/* Truncated and corrupted responses never read out of bounds (ASan). */
static void test_xml_mutations(void)
{
    const char *x = "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a/&amp;b</Key>"
                    "<Size>1</Size></Contents><CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>"
                    "<Contents><Key>c&#x41;</Key></Contents></ListBucketResult>";
    size_t n = strlen(x);
    const char *tags[] = {"ListBucketResult", "Contents", "Key", "Prefix", "IsTruncated", "CommonPrefixes"};
    uint32_t seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        char *m = lh_malloc(n);
        memcpy(m, x, n);
        size_t len = n;
        seed = seed * 1103515245u + 12345u;
        if (iter % 3 == 0) len = (seed >> 8) % (n + 1);
        for (int k = 0; k < 1 + iter % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            m[(seed >> 8) % n] = "<>/&;#x "[(seed >> 20) % 8];
        }
        for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
            const char *p = m, *inner;
            size_t il;
            while (p && (p = lh_s3_xml_find(p, (size_t)(m + len - p), tags[t], &inner, &il))) {
                CHECK(inner >= m && inner + il <= m + len);
                char *v = lh_s3_xml_get(inner, il, "Key");
                free(v);
            }
        }
        free(m);
    }
}

static void test_delete_result(void)
{
    lh_error err;
    const char *ok = "<Deleted><Key>a</Key></Deleted>";
    CHECK_OK(lh_s3_delete_errors(ok, strlen(ok), 3, "bkt", &err), &err);
    const char *bad = "<Deleted><Key>a</Key></Deleted>"
                      "<Error><Key>p/x&amp;y</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                      "<Error><Key>p/z</Key><Code>InternalError</Code></Error>";
    CHECK(lh_s3_delete_errors(bad, strlen(bad), 3, "bkt", &err) == LH_ERR_IO);
    CHECK_STR(err.msg, "s3://bkt/p/x&y: delete failed: AccessDenied: Access Denied (2 of 3 keys failed)");
}

static void test_open_uri(void)
{
    lh_error err;
    lh_storage *s;
    CHECK_RC(lh_storage_open("s3://", &s, &err), LH_ERR_INVALID);
    CHECK_RC(lh_storage_open("s3://Bad_Bucket/x", &s, &err), LH_ERR_INVALID);
    CHECK_RC(lh_storage_open("s3://b/a/../c", &s, &err), LH_ERR_INVALID);
    CHECK_RC(lh_storage_open("gs://b/x", &s, &err), LH_ERR_UNSUPPORTED);
    CHECK_OK(lh_storage_open("s3://bkt//lake/x/", &s, &err), &err);
    if (s) {
        CHECK_STR(lh_storage_uri(s), "s3://bkt/lake/x");
        CHECK(lh_storage_local_path(s, "a") == NULL);
        lh_storage_free(s);
    }
    CHECK_OK(lh_storage_open("s3://bkt", &s, &err), &err);
    if (s) {
        CHECK_STR(lh_storage_uri(s), "s3://bkt");
        lh_storage_free(s);
    }
}

static lh_s3_config *config_of(lh_storage *s)
{
    return &((lh_s3 *)s)->cfg;
}

/* Endpoint, addressing style and region from the environment (no server). */
static void test_config(void)
{
    const char *vars[] = {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT", "AWS_REGION",
                          "AWS_DEFAULT_REGION", "AWS_ALLOW_HTTP", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
                          "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    lh_error err;
    lh_storage *s = NULL;
    /* AWS: virtual-hosted style, anonymous without credentials. */
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    CHECK_OK(lh_storage_open("s3://my-bucket/p", &s, &err), &err);
    if (s) {
        CHECK_STR(config_of(s)->endpoint, "https://my-bucket.s3.eu-west-1.amazonaws.com");
        CHECK(!config_of(s)->path_style);
        CHECK(config_of(s)->creds.access_key == NULL);
        lh_s3_config_set_region(config_of(s), "ap-south-1"); /* after a region redirect */
        CHECK_STR(config_of(s)->endpoint, "https://my-bucket.s3.ap-south-1.amazonaws.com");
        CHECK_STR(config_of(s)->host, "my-bucket.s3.ap-south-1.amazonaws.com");
        lh_storage_free(s);
    }
    /* Dotted bucket names go path-style (the wildcard certificate does not cover them). */
    setenv("AWS_REGION", "us-west-2", 1);
    CHECK_OK(lh_storage_open("s3://my.bucket", &s, &err), &err);
    if (s) {
        CHECK_STR(config_of(s)->endpoint, "https://s3.us-west-2.amazonaws.com");
        CHECK(config_of(s)->path_style);
        CHECK_STR(config_of(s)->region, "us-west-2");
        lh_storage_free(s);
    }
    /* Custom endpoints: path-style; a bare host is https unless AWS_ALLOW_HTTP. */
    setenv("AWS_ENDPOINT_URL", "minio.local:9000/", 1);
    CHECK_OK(lh_storage_open("s3://b", &s, &err), &err);
    if (s) {
        CHECK_STR(config_of(s)->endpoint, "https://minio.local:9000");
        CHECK_STR(config_of(s)->host, "minio.local:9000");
        CHECK(config_of(s)->path_style);
        lh_storage_free(s);
    }
    setenv("AWS_ALLOW_HTTP", "true", 1);
    CHECK_OK(lh_storage_open("s3://b", &s, &err), &err);
    if (s) {
        CHECK_STR(config_of(s)->endpoint, "http://minio.local:9000");
        lh_storage_free(s);
    }
    setenv("AWS_ENDPOINT_URL_S3", "http://s3only:1234", 1); /* the S3-specific one wins */
    setenv("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "true", 1);
    CHECK_OK(lh_storage_open("s3://b", &s, &err), &err);
    if (s) {
        CHECK_STR(config_of(s)->endpoint, "http://b.s3only:1234");
        CHECK(!config_of(s)->path_style);
        lh_storage_free(s);
    }
    setenv("AWS_ENDPOINT_URL_S3", "ftp://x", 1);
    CHECK_RC(lh_storage_open("s3://b", &s, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "ftp://x") != NULL);
    unsetenv("AWS_ENDPOINT_URL_S3");
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    CHECK_RC(lh_storage_open("s3://b", &s, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "AWS_SECRET_ACCESS_KEY") != NULL);
    setenv("AWS_SECRET_ACCESS_KEY", "SECRET", 1);
    setenv("AWS_SESSION_TOKEN", "TOKEN", 1);
    CHECK_OK(lh_storage_open("s3://b", &s, &err), &err);
    if (s) {
        CHECK_STR(config_of(s)->creds.session_token, "TOKEN");
        lh_storage_free(s);
    }
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
}

/* ---- backend operations ---- */

static void test_basic(void)
{
    lh_storage *s = open_s3("basic/root");
    if (!s) return;
    lh_error err;
    lh_buf b = LH_BUF_INIT;
    const char *keys[] = {"a.txt", "dir/sub/b.json", "sp ace/\xc3\xbc+=&?%.txt", "empty"};
    for (int i = 0; i < 4; i++) {
        const char *data = i == 3 ? "" : keys[i];
        CHECK_OK(lh_storage_write(s, keys[i], data, strlen(data), &err), &err);
        lh_buf_reset(&b);
        CHECK_OK(lh_storage_read(s, keys[i], &b, &err), &err);
        CHECK_INT(b.len, strlen(data));
        CHECK(b.len == 0 || memcmp(b.data, data, b.len) == 0);
    }
    lh_stat st;
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    CHECK_OK(lh_storage_stat(s, "dir/sub/b.json", &st, &err), &err);
    CHECK_INT(st.size, strlen("dir/sub/b.json"));
    CHECK(st.mtime_ms > now_ms - 600000 && st.mtime_ms < now_ms + 600000);
    bool ex = false;
    CHECK_OK(lh_storage_exists(s, "a.txt", &ex, &err), &err);
    CHECK(ex);
    CHECK_OK(lh_storage_exists(s, "nope", &ex, &err), &err);
    CHECK(!ex);
    CHECK_RC(lh_storage_read(s, "nope", &b, &err), LH_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "s3://" BUCKET "/basic/root/nope") != NULL);
    CHECK(strstr(err.msg, "404") != NULL && strstr(err.msg, "NoSuchKey") != NULL);
    CHECK_RC(lh_storage_stat(s, "nope", &st, &err), LH_ERR_NOT_FOUND);
    /* Overwrite is a plain PUT. */
    CHECK_OK(lh_storage_write(s, "a.txt", "v2", 2, &err), &err);
    lh_buf_reset(&b);
    CHECK_OK(lh_storage_read(s, "a.txt", &b, &err), &err);
    CHECK_STR(b.data, "v2");
    CHECK_OK(lh_storage_delete(s, "a.txt", &err), &err);
    CHECK_OK(lh_storage_delete(s, "a.txt", &err), &err); /* idempotent */
    CHECK_RC(lh_storage_read(s, "a.txt", &b, &err), LH_ERR_NOT_FOUND);
    CHECK_RC(lh_storage_read(s, "../x", &b, &err), LH_ERR_INVALID);
    /* The keys live under the root prefix, visible from a storage at the bucket root. */
    lh_storage *top = open_s3("");
    lh_buf_reset(&b);
    CHECK_OK(lh_storage_read(top, "basic/root/dir/sub/b.json", &b, &err), &err);
    CHECK_STR(b.data, "dir/sub/b.json");
    lh_storage_free(top);
    lh_buf_free(&b);
    lh_storage_free(s);
}

static void test_missing_bucket(void)
{
    lh_error err;
    lh_storage *s = NULL;
    CHECK_OK(lh_storage_open("s3://lh-no-such-bucket/p", &s, &err), &err);
    if (!s) return;
    lh_buf b = LH_BUF_INIT;
    CHECK_RC(lh_storage_read(s, "k", &b, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "NoSuchBucket") != NULL && strstr(err.msg, "s3://lh-no-such-bucket/p/k") != NULL);
    lh_strlist l;
    lh_strlist_init(&l);
    CHECK_RC(lh_storage_list(s, "", LH_LIST_RECURSIVE, &l, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "NoSuchBucket") != NULL);
    CHECK_RC(lh_storage_write(s, "k", "x", 1, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "HTTP 404") != NULL);
    lh_strlist_free(&l);
    lh_buf_free(&b);
    lh_storage_free(s);
}

static void test_reader(void)
{
    lh_storage *s = open_s3("reader");
    if (!s) return;
    lh_error err;
    lh_buf data = LH_BUF_INIT;
    fill(&data, 300000, 7);
    CHECK_OK(lh_storage_write(s, "f.parquet", data.data, data.len, &err), &err);
    lh_storage_reader *r = NULL;
    CHECK_OK(lh_storage_reader_open(s, "f.parquet", &r, &err), &err);
    if (r) {
        CHECK_INT(lh_storage_reader_size(r), 300000);
        char small[8];
        CHECK_OK(lh_storage_reader_pread(r, 300000 - 8, small, 8, &err), &err);
        CHECK(memcmp(small, data.data + 300000 - 8, 8) == 0);
        long gets = stat_count("GET");
        CHECK_OK(lh_storage_reader_pread(r, 300000 - 4000, small, 8, &err), &err); /* inside the tail window */
        CHECK(memcmp(small, data.data + 300000 - 4000, 8) == 0);
        CHECK_INT(stat_count("GET"), gets); /* served from the cached window */
        char *big = lh_malloc(200000);
        CHECK_OK(lh_storage_reader_pread(r, 1000, big, 200000, &err), &err);
        CHECK(memcmp(big, data.data + 1000, 200000) == 0);
        CHECK_OK(lh_storage_reader_pread(r, 0, big, 300000 > 200000 ? 100 : 0, &err), &err);
        CHECK(memcmp(big, data.data, 100) == 0);
        CHECK_RC(lh_storage_reader_pread(r, 299999, small, 2, &err), LH_ERR_CORRUPT);
        /* Replaced underneath the reader: the ETag check refuses mixed bytes. */
        CHECK_OK(lh_storage_write(s, "f.parquet", "tiny", 4, &err), &err);
        CHECK_RC(lh_storage_reader_pread(r, 150000, small, 8, &err), LH_ERR_CONFLICT);
        free(big);
        lh_storage_reader_free(r);
    }
    CHECK_RC(lh_storage_reader_open(s, "missing", &r, &err), LH_ERR_NOT_FOUND);
    lh_buf_free(&data);
    lh_storage_free(s);
}

static void test_put_if_absent(void)
{
    lh_storage *s = open_s3("pia");
    if (!s) return;
    lh_error err;
    lh_buf b = LH_BUF_INIT;
    CHECK_OK(lh_storage_put_if_absent(s, "_delta_log/0.json", "first", 5, &err), &err);
    CHECK_RC(lh_storage_put_if_absent(s, "_delta_log/0.json", "second", 6, &err), LH_ERR_EXISTS);
    CHECK(strstr(err.msg, "s3://" BUCKET "/pia/_delta_log/0.json") != NULL);
    CHECK_OK(lh_storage_read(s, "_delta_log/0.json", &b, &err), &err);
    CHECK_STR(b.data, "first");
    /* Streaming writer, small: single conditional PUT. */
    lh_storage_writer *w = NULL;
    CHECK_OK(lh_storage_writer_open(s, "_delta_log/0.json", &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, "third", 5, &err), &err);
    CHECK_RC(lh_storage_writer_commit_if_absent(w, &err), LH_ERR_EXISTS);
    lh_storage_writer_free(w);
    CHECK_OK(lh_storage_writer_open(s, "_delta_log/1.json", &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, "one", 3, &err), &err);
    CHECK_INT(lh_storage_writer_offset(w), 3);
    CHECK_OK(lh_storage_writer_commit_if_absent(w, &err), &err);
    lh_storage_writer_free(w);
    /* A writer freed without commit leaves nothing. */
    CHECK_OK(lh_storage_writer_open(s, "_delta_log/2.json", &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, "two", 3, &err), &err);
    lh_storage_writer_free(w);
    bool ex = true;
    CHECK_OK(lh_storage_exists(s, "_delta_log/2.json", &ex, &err), &err);
    CHECK(!ex);
    lh_buf_reset(&b);
    CHECK_OK(lh_storage_read(s, "_delta_log/0.json", &b, &err), &err);
    CHECK_STR(b.data, "first");
    lh_buf_free(&b);
    lh_storage_free(s);
}

/* Each of 4 processes tries to create the same keys; exactly one wins each. */
static void test_race(void)
{
    enum { PROCS = 4, ROUNDS = 3 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            lh_error err;
            lh_storage *s = NULL;
            int code = 0;
            if (lh_storage_open("s3://" BUCKET "/race", &s, &err) != LH_OK) _exit(100);
            for (int r = 0; r < ROUNDS; r++) {
                char key[64], body[64];
                snprintf(key, sizeof key, "log/%020d.json", r);
                snprintf(body, sizeof body, "writer %d round %d", p, r);
                lh_status rc;
                if (r % 2 == 0) {
                    rc = lh_storage_put_if_absent(s, key, body, strlen(body), &err);
                } else {
                    lh_storage_writer *w = NULL;
                    rc = lh_storage_writer_open(s, key, &w, &err);
                    if (rc == LH_OK) rc = lh_storage_writer_write(w, body, strlen(body), &err);
                    if (rc == LH_OK) rc = lh_storage_writer_commit_if_absent(w, &err);
                    lh_storage_writer_free(w);
                }
                if (rc == LH_OK) code |= 1 << r;
                else if (rc != LH_ERR_EXISTS) code |= 64;
            }
            lh_storage_free(s);
            _exit(code);
        }
    }
    int wins[ROUNDS] = {0};
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        CHECK(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        CHECK((code & ~7) == 0);
        for (int r = 0; r < ROUNDS; r++)
            if (code & (1 << r)) wins[r]++;
    }
    lh_storage *s = open_s3("race");
    if (!s) return;
    lh_error err;
    for (int r = 0; r < ROUNDS; r++) {
        CHECK_INT(wins[r], 1);
        char key[64];
        snprintf(key, sizeof key, "log/%020d.json", r);
        lh_buf b = LH_BUF_INIT;
        CHECK_OK(lh_storage_read(s, key, &b, &err), &err);
        CHECK(b.data && lh_str_startswith(b.data, "writer "));
        lh_buf_free(&b);
    }
    lh_storage_free(s);
}

static void test_multipart(void)
{
    lh_storage *s = open_s3("mpu");
    if (!s) return;
    lh_error err;
    lh_buf data = LH_BUF_INIT;
    size_t total = ((size_t)19 << 20) + 12345; /* 2 full parts and a short last one */
    fill(&data, total, 3);
    long posts = stat_count("POST");
    lh_storage_writer *w = NULL;
    CHECK_OK(lh_storage_writer_open(s, "big.bin", &w, &err), &err);
    for (size_t off = 0; off < total; off += 1000000) {
        size_t n = total - off < 1000000 ? total - off : 1000000;
        CHECK_OK(lh_storage_writer_write(w, data.data + off, n, &err), &err);
    }
    CHECK_INT(lh_storage_writer_offset(w), total);
    CHECK_INT(count_uploads(s), 1); /* in flight, not yet visible */
    bool ex = true;
    CHECK_OK(lh_storage_exists(s, "big.bin", &ex, &err), &err);
    CHECK(!ex);
    CHECK_OK(lh_storage_writer_commit(w, &err), &err);
    lh_storage_writer_free(w);
    CHECK_INT(stat_count("POST") - posts, 2); /* create + complete */
    CHECK_INT(count_uploads(s), 0);
    lh_buf back = LH_BUF_INIT;
    CHECK_OK(lh_storage_read(s, "big.bin", &back, &err), &err);
    CHECK(back.len == total && memcmp(back.data, data.data, total) == 0);

    /* One large write is still cut into 8 MiB parts: the ETag counts them. */
    CHECK_OK(lh_storage_write(s, "one-write.bin", data.data, (size_t)17 << 20, &err), &err);
    lh_s3_req head = {.method = "HEAD", .key = "one-write.bin"};
    lh_s3_resp hr;
    lh_s3_resp_init(&hr);
    CHECK_OK(lh_s3_perform((lh_s3 *)s, &head, &hr, &err), &err);
    CHECK(lh_str_endswith(hr.etag, "-3\""));
    lh_s3_resp_free(&hr);

    /* Conditional multipart completion on an existing key: EXISTS, upload aborted. */
    CHECK_OK(lh_storage_writer_open(s, "big.bin", &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, data.data, (size_t)9 << 20, &err), &err);
    CHECK_RC(lh_storage_writer_commit_if_absent(w, &err), LH_ERR_EXISTS);
    lh_storage_writer_free(w);
    CHECK_INT(count_uploads(s), 0);
    /* A new key through the conditional multipart path. */
    CHECK_OK(lh_storage_writer_open(s, "big2.bin", &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, data.data, (size_t)9 << 20, &err), &err);
    CHECK_OK(lh_storage_writer_commit_if_absent(w, &err), &err);
    lh_storage_writer_free(w);
    lh_stat st;
    CHECK_OK(lh_storage_stat(s, "big2.bin", &st, &err), &err);
    CHECK_INT(st.size, (size_t)9 << 20);
    /* Freed without commit after parts went up: the upload is aborted. */
    CHECK_OK(lh_storage_writer_open(s, "big3.bin", &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, data.data, (size_t)9 << 20, &err), &err);
    CHECK_INT(count_uploads(s), 1);
    lh_storage_writer_free(w);
    CHECK_INT(count_uploads(s), 0);
    CHECK_OK(lh_storage_exists(s, "big3.bin", &ex, &err), &err);
    CHECK(!ex);
    lh_buf_free(&back);
    lh_buf_free(&data);
    lh_storage_free(s);
}

static void check_list(lh_storage *s, const char *prefix, int flags, const char *const *want, size_t n)
{
    lh_error err;
    lh_strlist l;
    lh_strlist_init(&l);
    CHECK_OK(lh_storage_list(s, prefix, flags, &l, &err), &err);
    CHECK_INT(l.len, n);
    for (size_t i = 0; i < n && i < l.len; i++) CHECK_STR(l.items[i], want[i]);
    lh_strlist_free(&l);
}

static void test_list(void)
{
    lh_storage *s = open_s3("list/root");
    if (!s) return;
    lh_error err;
    const char *keys[] = {"a/1", "a/2", "a/b/3", "a/b/c/4", "c", "d/5", "ab"};
    for (int i = 0; i < 7; i++) CHECK_OK(lh_storage_write(s, keys[i], "x", 1, &err), &err);
    /* A neighbour that shares the string prefix of the root must not leak in. */
    lh_storage *top = open_s3("list");
    CHECK_OK(lh_storage_write(top, "rootless", "x", 1, &err), &err);
    CHECK_OK(lh_storage_write(top, "root2/x", "x", 1, &err), &err);
    lh_storage_free(top);
    for (int page = 0; page < 2; page++) {
        lh_s3_set_max_keys(s, page ? 2 : 1000);
        const char *all[] = {"a/1", "a/2", "a/b/3", "a/b/c/4", "ab", "c", "d/5"};
        check_list(s, "", LH_LIST_RECURSIVE, all, 7);
        const char *top_files[] = {"ab", "c"};
        check_list(s, "", 0, top_files, 2);
        const char *top_dirs[] = {"a/", "ab", "c", "d/"};
        check_list(s, "", LH_LIST_DIRS, top_dirs, 4);
        const char *a[] = {"a/1", "a/2", "a/b/"};
        check_list(s, "a", LH_LIST_DIRS, a, 3);
        check_list(s, "a/", LH_LIST_DIRS, a, 3);
        const char *ar[] = {"a/1", "a/2", "a/b/3", "a/b/c/4"};
        check_list(s, "a", LH_LIST_RECURSIVE, ar, 4);
        check_list(s, "missing", LH_LIST_RECURSIVE, NULL, 0);
    }
    lh_s3_set_max_keys(s, 3);
    CHECK_OK(lh_storage_delete_prefix(s, "a", &err), &err);
    const char *rest[] = {"ab", "c", "d/5"};
    check_list(s, "", LH_LIST_RECURSIVE, rest, 3);
    lh_storage_free(s);
}


/* Many keys go in DeleteObjects requests of up to 1000 (not one DELETE
 * each): keys XML must escape, absent keys, an invalid key refused first. */
static void test_delete_many(void)
{
    lh_storage *s = open_s3("many");
    if (!s) return;
    lh_error err;
    enum { N = 1205 };
    lh_strlist keys;
    lh_strlist_init(&keys);
    char key[64];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, i % 100 == 0 ? "d/a&b<c>'\"%04d \xc3\xa9" : "d/k%04d", i);
        lh_strlist_push(&keys, key);
        CHECK_OK(lh_storage_write(s, key, "x", 1, &err), &err);
    }
    CHECK_OK(lh_storage_write(s, "keep", "x", 1, &err), &err);
    lh_strlist_push(&keys, "d/never-written");
    const char *bad[] = {"d/k0001", "d/ctl\x01key"};
    CHECK(lh_storage_delete_many(s, bad, 2, &err) == LH_ERR_INVALID);
    long posts = stat_count("POST"), deletes = stat_count("DELETE");
    CHECK_OK(lh_storage_delete_many(s, (const char *const *)keys.items, keys.len, &err), &err);
    CHECK_INT(stat_count("POST") - posts, 2); /* 1000 + 206 keys */
    CHECK_INT(stat_count("DELETE") - deletes, 0);
    /* a failing request is retried like any other */
    CHECK_OK(lh_storage_write(s, "d/again", "x", 1, &err), &err);
    fault("count=1&status=503&method=POST");
    const char *again[] = {"d/again"};
    CHECK_OK(lh_storage_delete_many(s, again, 1, &err), &err);
    const char *left[] = {"keep"};
    check_list(s, "", LH_LIST_RECURSIVE, left, 1);
    /* delete_prefix goes the same way */
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "p/%d", i);
        CHECK_OK(lh_storage_write(s, key, "x", 1, &err), &err);
    }
    posts = stat_count("POST");
    CHECK_OK(lh_storage_delete_prefix(s, "p", &err), &err);
    CHECK_INT(stat_count("POST") - posts, 1);
    check_list(s, "", LH_LIST_RECURSIVE, left, 1);
    lh_strlist_free(&keys);
    lh_storage_free(s);
}

typedef struct thread_job {
    lh_storage *s;
    int id, failures;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    lh_error err;
    lh_buf b = LH_BUF_INIT;
    for (int i = 0; i < 15; i++) {
        char key[64], body[64];
        snprintf(key, sizeof key, "t%d/k%02d", j->id, i);
        snprintf(body, sizeof body, "thread %d item %d", j->id, i);
        lh_buf_reset(&b);
        if (lh_storage_write(j->s, key, body, strlen(body), &err) != LH_OK ||
            lh_storage_read(j->s, key, &b, &err) != LH_OK || strcmp(b.data, body) != 0)
            j->failures++;
    }
    lh_buf_free(&b);
    return NULL;
}

/* One storage shared by threads: the curl handle pool hands each request its own handle. */
static void test_threads(void)
{
    lh_storage *s = open_s3("threads");
    if (!s) return;
    pthread_t th[4];
    thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){s, i, 0};
        pthread_create(&th[i], NULL, thread_main, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(jobs[i].failures, 0);
    }
    lh_strlist l;
    lh_strlist_init(&l);
    lh_error err;
    CHECK_OK(lh_storage_list(s, "", LH_LIST_RECURSIVE, &l, &err), &err);
    CHECK_INT(l.len, 60);
    lh_strlist_free(&l);
    lh_storage_free(s);
}

int main(void)
{
    RUN(test_sigv4_vectors);
    RUN(test_xml);
    RUN(test_xml_mutations);
    RUN(test_delete_result);
    RUN(test_open_uri);
    RUN(test_config);
    if (!s3_server_begin()) return lh_test_report();
    RUN(test_basic);
    RUN(test_missing_bucket);
    RUN(test_reader);
    RUN(test_put_if_absent);
    RUN(test_race);
    RUN(test_multipart);
    RUN(test_list);
    RUN(test_delete_many);
    RUN(test_threads);
    stop_server();
    return lh_test_report();
}
