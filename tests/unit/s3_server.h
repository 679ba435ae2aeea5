/* Loopback S3 server for the S3 backend unit tests: starts
 * tests/interop/s3_fixture.py (moto, checking SigV4 signatures) from the
 * project .venv, points the AWS_* environment at it, and talks to its fault
 * injection and statistics endpoints. Header-only, like test.h. */
#ifndef LH_TEST_S3_SERVER_H
#define LH_TEST_S3_SERVER_H

#include <curl/curl.h>
#include <errno.h>
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


static inline char *source_dir(void)
{
    const char *td = getenv("LH_TEST_DATA"); /* <source>/tests/data */
    if (!td) return NULL;
    size_t n = strlen(td);
    if (n < 11 || strcmp(td + n - 11, "/tests/data") != 0) return NULL;
    return lh_strndup(td, n - 11);
}

static inline bool start_server(void)
{
    char *src = source_dir();
    if (!src) return false;
    char *py = lh_asprintf("%s/.venv/bin/python", src);
    char *fixture = lh_asprintf("%s/tests/interop/s3_fixture.py", src);
    char *log = lh_asprintf("%s/s3_fixture-%s.log", getenv("LH_BUILD_DIR") ? getenv("LH_BUILD_DIR") : "/tmp",
                            program_invocation_short_name);
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

static inline void stop_server(void)
{
    if (server_stdin >= 0) close(server_stdin);
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
}

static inline void setup_env(void)
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

static inline size_t sink_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    lh_buf_append(ud, p, size * nmemb);
    return size * nmemb;
}

/* Plain HTTP call to the fixture's control endpoints. */
static inline void control(const char *method, const char *path_query, lh_buf *out)
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

static inline void fault(const char *spec)
{
    char pq[256];
    snprintf(pq, sizeof pq, "/__lh_fault__?%s", spec);
    control("POST", pq, NULL);
}

static inline long stat_count(const char *method)
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

static inline lh_storage *open_s3(const char *prefix)
{
    lh_error err;
    lh_storage *s = NULL;
    char *uri = lh_asprintf("s3://" BUCKET "/%s", prefix);
    CHECK_OK(lh_storage_open(uri, &s, &err), &err);
    free(uri);
    return s;
}

/* In-progress multipart uploads under the storage root (bucket-level GET ?uploads). */
static inline int count_uploads(lh_storage *s)
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

static inline void fill(lh_buf *b, size_t n, unsigned seed)
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

/* Starts the server and sets the environment; false (after reporting) when
 * it cannot run here. Without moto the tests are skipped, unless CI or
 * LH_S3_REQUIRE asks for them. */
static inline bool s3_server_begin(void)
{
    if (start_server()) {
        setup_env();
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return true;
    }
    const char *require = getenv("LH_S3_REQUIRE");
    if (getenv("CI") || (require && *require && strcmp(require, "0") != 0)) {
        fprintf(stderr, "S3 server (moto in .venv) is required but did not start\n");
        lh_test_failed_tests++;
    } else {
        fprintf(stderr, "SKIP: no .venv with moto; S3 server tests not run\n");
    }
    stop_server();
    return false;
}

#endif
