/* S3 backend: Signature V4 vectors and the XML reader offline, then every
 * backend operation against a loopback S3 server (moto, via
 * tests/interop/s3_fixture.py) that this test starts and stops: reads,
 * ranged reads, conditional puts and a 4-process race, multipart uploads
 * and aborts, paginated listings, retries on injected faults. The server
 * verifies every SigV4 signature (moto's IAM check, see the fixture).
 * Without the project .venv (moto) the server tests are skipped, unless
 * CI or LH_S3_REQUIRE is set. */
#include <curl/curl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "core/storage_s3.h"
#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"
#include "test.h"

#define BUCKET "lh-test"

static pid_t server_pid;
static int server_stdin = -1;
static int server_port;
static char server_key_id[64], server_secret[128];

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

/* ---- the server ---- */

static char *source_dir(void)
{
    const char *td = getenv("LH_TEST_DATA"); /* <source>/tests/data */
    if (!td) return NULL;
    size_t n = strlen(td);
    if (n < 11 || strcmp(td + n - 11, "/tests/data") != 0) return NULL;
    return lh_strndup(td, n - 11);
}

static bool start_server(void)
{
    char *src = source_dir();
    if (!src) return false;
    char *py = lh_asprintf("%s/.venv/bin/python", src);
    char *fixture = lh_asprintf("%s/tests/interop/s3_fixture.py", src);
    char *log = lh_asprintf("%s/s3_fixture.log", getenv("LH_BUILD_DIR") ? getenv("LH_BUILD_DIR") : "/tmp");
    bool ok = access(py, X_OK) == 0;
    int in_pipe[2], out_pipe[2];
    if (ok && (pipe(in_pipe) != 0 || pipe(out_pipe) != 0)) ok = false;
    if (ok) {
        server_pid = fork();
        if (server_pid == 0) {
            dup2(in_pipe[0], 0);
            dup2(out_pipe[1], 1);
            FILE *f = fopen(log, "w");
            if (f) dup2(fileno(f), 2);
            close(in_pipe[1]);
            close(out_pipe[0]);
            execl(py, py, fixture, "--auth", BUCKET, "lh-other", (char *)NULL);
            _exit(127);
        }
        close(in_pipe[0]);
        close(out_pipe[1]);
        server_stdin = in_pipe[1];
        char line[256] = "";
        size_t got = 0;
        while (got < sizeof line - 1) {
            ssize_t r = read(out_pipe[0], line + got, 1);
            if (r <= 0 || line[got] == '\n') break;
            got++;
        }
        line[got] = '\0';
        close(out_pipe[0]);
        ok = sscanf(line, "%d %63s %127s", &server_port, server_key_id, server_secret) == 3 &&
             server_port > 0;
        if (!ok) fprintf(stderr, "s3 fixture did not start; see %s\n", log);
    }
    free(src);
    free(py);
    free(fixture);
    free(log);
    return ok;
}

static void stop_server(void)
{
    if (server_stdin >= 0) close(server_stdin);
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
}

static void setup_env(void)
{
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", server_port);
    setenv("AWS_ENDPOINT_URL", ep, 1);
    setenv("AWS_ACCESS_KEY_ID", server_key_id, 1);
    setenv("AWS_SECRET_ACCESS_KEY", server_secret, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_ENDPOINT_URL_S3");
    setenv("LH_S3_RETRY_BASE_MS", "5", 1);
    setenv("LH_S3_MAX_ATTEMPTS", "4", 1);
}

static size_t sink_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    lh_buf_append(ud, p, size * nmemb);
    return size * nmemb;
}

/* Plain HTTP call to the fixture's control endpoints. */
static void control(const char *method, const char *path_query, lh_buf *out)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", server_port, path_query);
    CURL *h = curl_easy_init();
    lh_buf sink = LH_BUF_INIT;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (strcmp(method, "POST") == 0) curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out ? out : &sink);
    CHECK_INT(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    lh_buf_free(&sink);
}

static void fault(const char *spec)
{
    char pq[256];
    snprintf(pq, sizeof pq, "/__lh_fault__?%s", spec);
    control("POST", pq, NULL);
}

static long stat_count(const char *method)
{
    lh_buf b = LH_BUF_INIT;
    control("GET", "/__lh_stats__", &b);
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\": ", method);
    const char *p = b.data ? strstr(b.data, pat) : NULL;
    long n = p ? atol(p + strlen(pat)) : 0;
    lh_buf_free(&b);
    return n;
}

static lh_storage *open_s3(const char *prefix)
{
    lh_error err;
    lh_storage *s = NULL;
    char *uri = lh_asprintf("s3://" BUCKET "/%s", prefix);
    CHECK_OK(lh_storage_open(uri, &s, &err), &err);
    free(uri);
    return s;
}

/* In-progress multipart uploads under the storage root (bucket-level GET ?uploads). */
static int count_uploads(lh_storage *s)
{
    lh_s3_req req = {.method = "GET", .query = "uploads="};
    lh_s3_resp resp;
    lh_s3_resp_init(&resp);
    lh_error err;
    int n = -1;
    if (lh_s3_perform((lh_s3 *)s, &req, &resp, &err) == LH_OK && resp.status == 200) {
        n = 0;
        const char *p = resp.body.data, *end = p + resp.body.len, *inner;
        size_t len;
        while ((p = lh_s3_xml_find(p, (size_t)(end - p), "Upload", &inner, &len))) n++;
    }
    lh_s3_resp_free(&resp);
    return n;
}

static void fill(lh_buf *b, size_t n, unsigned seed)
{
    lh_buf_reset(b);
    lh_buf_reserve(b, n);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b->data[i] = (char)(x >> 24);
    }
    b->len = n;
    b->data[n] = '\0';
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
        CHECK_STR(((lh_s3 *)s)->cfg.access_key, "wrong");
        lh_storage_free(s);
    }
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
    setenv("HOME", dir, 1); /* no ~/.aws: anonymous */
    s = open_s3("profile");
    if (s) {
        CHECK(((lh_s3 *)s)->cfg.access_key == NULL);
        lh_buf b = LH_BUF_INIT;
        CHECK_RC(lh_storage_read(s, "k", &b, &err), LH_ERR_IO); /* moto refuses unsigned requests */
        lh_buf_free(&b);
        lh_storage_free(s);
    }
    setup_env();
    lh_test_rmtree(dir);
    free(creds);
    free(conf);
    free(dir);
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

int main(void)
{
    RUN(test_sigv4_vectors);
    RUN(test_xml);
    RUN(test_open_uri);
    if (!start_server()) {
        const char *require = getenv("LH_S3_REQUIRE");
        if (getenv("CI") || (require && *require && strcmp(require, "0") != 0)) {
            fprintf(stderr, "S3 server (moto in .venv) is required but did not start\n");
            lh_test_failed_tests++;
        } else {
            fprintf(stderr, "SKIP: no .venv with moto; S3 server tests not run\n");
        }
        stop_server();
        return lh_test_report();
    }
    setup_env();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    RUN(test_basic);
    RUN(test_missing_bucket);
    RUN(test_reader);
    RUN(test_put_if_absent);
    RUN(test_race);
    RUN(test_multipart);
    RUN(test_list);
    RUN(test_retries);
    RUN(test_bad_signature);
    RUN(test_credentials_file);
    RUN(test_connection_refused);
    stop_server();
    return lh_test_report();
}
