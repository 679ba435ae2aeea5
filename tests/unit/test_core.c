/* Core utilities: error, buffers, arena, UTF-8, hashes, UUIDv7, time,
 * settings, and the local storage backend including its failure paths. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lh/core/buf.h"
#include "lh/core/dynlib.h"
#include "lh/core/hash.h"
#include "lh/core/json.h"
#include "lh/core/mem.h"
#include "lh/core/settings.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/core/yaml.h"
#include "lh/core/uuid.h"
#include "test.h"

static void test_error(void)
{
    lh_error err;
    lh_error_clear(&err);
    CHECK_INT(err.code, LH_OK);
    CHECK_INT(lh_error_set(&err, LH_ERR_INVALID, "line %d: bad", 3), LH_ERR_INVALID);
    CHECK_STR(err.msg, "line 3: bad");
    lh_error_prefix(&err, "file %s", "x.json");
    CHECK_STR(err.msg, "file x.json: line 3: bad");
    lh_error_errno(&err, LH_ERR_IO, ENOENT, "open %s", "f");
    CHECK_STR(err.msg, "open f: No such file or directory");
    CHECK_INT(err.sys_errno, ENOENT);
    CHECK_STR(lh_status_name(LH_ERR_BUSY), "busy");
    CHECK_INT(lh_error_set(NULL, LH_ERR_IO, "dropped"), LH_ERR_IO);
}

static void test_buf(void)
{
    lh_buf b = LH_BUF_INIT;
    /* a C string from its first allocation: an empty buffer detached, or
     * one only reserved, reads as "" (fuzz_equery found it unterminated) */
    char *empty = lh_buf_detach(&b, NULL);
    CHECK_STR(empty, "");
    free(empty);
    lh_buf_reserve(&b, 10);
    CHECK_STR(b.data, "");
    lh_buf_free(&b);
    lh_buf_init(&b);
    lh_buf_append_str(&b, "abc");
    lh_buf_printf(&b, "-%d-", 42);
    CHECK_STR(b.data, "abc-42-");
    CHECK_INT(b.len, 7);
    lh_buf_reset(&b);
    CHECK_INT(b.len, 0);
    lh_buf_append_json_str(&b, "a\"b\\c\n\x01\xc3\xa9\xff", 10);
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\"");
    lh_buf_reset(&b);
    /* runs of multi-byte text between escapes, a bad byte inside, a
     * control character last */
    lh_buf_append_json_str(&b, "\xd0\xb6\xe4\xb8\xad\"x\xff\xd1\x8f\\\x1f", 12);
    CHECK_STR(b.data, "\"\xd0\xb6\xe4\xb8\xad\\\"x\xef\xbf\xbd\xd1\x8f\\\\\\u001f\"");
    lh_buf_reset(&b);
    lh_buf_append_u32le(&b, 0x01020304);
    CHECK(memcmp(b.data, "\x04\x03\x02\x01", 4) == 0);
    for (int i = 0; i < 100000; i++) lh_buf_append_byte(&b, 'x');
    CHECK_INT(b.len, 100004);
    size_t len;
    char *d = lh_buf_detach(&b, &len);
    CHECK_INT(len, 100004);
    CHECK(b.data == NULL);
    free(d);
    lh_buf_free(&b);
}

static void test_arena(void)
{
    lh_arena a;
    lh_arena_init(&a, 64);
    char *s = lh_arena_strdup(&a, "hello");
    char *big = lh_arena_alloc(&a, 1000); /* larger than a block */
    memset(big, 1, 1000);
    CHECK_STR(s, "hello");
    CHECK(((uintptr_t)big & 7) == 0);
    lh_arena_reset(&a);
    CHECK_INT(a.total, 0);
    CHECK_STR(lh_arena_strndup(&a, "abcdef", 3), "abc");
    lh_arena_free(&a);
}

static void test_utf8(void)
{
    CHECK(lh_utf8_valid("h\xc3\xa9llo \xe4\xb8\xad \xf0\x9f\x98\x80", 15));
    CHECK(!lh_utf8_valid("\xc0\xaf", 2));         /* overlong */
    CHECK(!lh_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    /* as Python's decode("utf-8", "replace"): one U+FFFD per maximal
     * ill-formed subsequence */
    struct {
        const char *in, *want;
    } repl[] = {{"a\xc3", "a\xef\xbf\xbd"},
                {"\xe2\x84!", "\xef\xbf\xbd!"},
                {"\xf0\x80", "\xef\xbf\xbd\xef\xbf\xbd"},
                {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
                {"\xc3\xa4\xff\xc3\xa4", "\xc3\xa4\xef\xbf\xbd\xc3\xa4"},
                {"ok", "ok"}};
    for (size_t i = 0; i < sizeof repl / sizeof *repl; i++) {
        lh_buf b = LH_BUF_INIT;
        lh_utf8_append_replaced(&b, repl[i].in, strlen(repl[i].in));
        CHECK_STR(b.data, repl[i].want);
        lh_buf_free(&b);
    }
    CHECK(!lh_utf8_valid("\xe4\xb8", 2));         /* truncated */
    CHECK(!lh_utf8_valid("\xf5\x80\x80\x80", 4)); /* > U+10FFFF */
    CHECK_INT(lh_utf8_len("h\xc3\xa9\xe4\xb8\xad", 6), 3);
    char out[4];
    CHECK_INT(lh_utf8_encode(0x1F600, out), 4);
    CHECK(memcmp(out, "\xf0\x9f\x98\x80", 4) == 0);
    CHECK(lh_bytes_cmp("ab", 2, "abc", 3) < 0);
    CHECK(lh_bytes_cmp("\xc3\xa9", 2, "z", 1) > 0); /* byte order, not collation */
    lh_strlist l;
    lh_strlist_init(&l);
    lh_strlist_push(&l, "b");
    lh_strlist_push(&l, "a");
    lh_strlist_sort(&l);
    CHECK_STR(l.items[0], "a");
    CHECK(lh_strlist_contains(&l, "b"));
    lh_strlist_free(&l);
}

static void test_hash(void)
{
    char hex[41];
    lh_sha1_hex("abc", 3, hex);
    CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    lh_sha1_hex("", 0, hex);
    CHECK_STR(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    lh_sha1_ctx *c = lh_sha1_new();
    lh_sha1_update(c, "a", 1);
    lh_sha1_update(c, "bc", 2);
    lh_sha1_final_hex(c, hex);
    CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    lh_sha1_update(c, "abc", 3); /* reusable after final */
    lh_sha1_final_hex(c, hex);
    CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    lh_sha1_free(c);
    CHECK(lh_xxh64("", 0, 0) == 17241709254077376921ULL);
}

static void test_uuid(void)
{
    lh_error err;
    lh_uuid prev, cur;
    char a[37], b[37];
    CHECK_OK(lh_uuid7_new(&prev, &err), &err);
    int monotonic = 1;
    for (int i = 0; i < 20000; i++) {
        CHECK_OK(lh_uuid7_new(&cur, &err), &err);
        lh_uuid_format(&prev, a);
        lh_uuid_format(&cur, b);
        if (strcmp(a, b) >= 0) monotonic = 0;
        prev = cur;
    }
    CHECK(monotonic);
    CHECK(b[14] == '7');
    CHECK(strchr("89ab", b[19]) != NULL);
    int64_t ms = lh_uuid7_ms(&cur), now = lh_now_us() / 1000;
    CHECK(ms <= now + 1000 && ms >= now - 60000);
    lh_uuid parsed;
    CHECK_OK(lh_uuid_parse(b, &parsed, &err), &err);
    CHECK(memcmp(parsed.b, cur.b, 16) == 0);
    CHECK_RC(lh_uuid_parse("not-a-uuid", &parsed, &err), LH_ERR_INVALID);
    CHECK_OK(lh_uuid4_new(&cur, &err), &err);
    lh_uuid_format(&cur, a);
    CHECK(a[14] == '4');
    /* the draft layout: Python's uuid_extensions.uuid7(ns=...) gives these
     * first 23 characters (the rest is random) */
    static const struct {
        int64_t ns;
        const char *head;
    } draft[] = {{1764680000123456789LL, "0692ee14-01f9-7add-8000"},
                 {1, "00000000-0000-7000-8000"},
                 {16000000000LL, "00000001-0000-7000-8000"},
                 {1700000000999999999LL, "06553f10-0fff-7fff-8000"},
                 {1700000000999999999LL, "06553f10-0fff-7fff-8001"}}; /* same tick: counted */
    for (size_t i = 0; i < sizeof draft / sizeof *draft; i++) {
        CHECK_OK(lh_uuid7_draft_new(draft[i].ns, &cur, &err), &err);
        lh_uuid_format(&cur, a);
        CHECK(strncmp(a, draft[i].head, 23) == 0);
    }
}

static void test_time(void)
{
    lh_error err;
    int64_t us;
    char out[LH_ISO_MAX];
    CHECK_OK(lh_time_parse_iso("2024-05-01T12:34:56.123456", 26, &us, &err), &err);
    CHECK_INT(us, 1714566896123456LL);
    lh_time_format_iso(us, out);
    CHECK_STR(out, "2024-05-01T12:34:56.123456");
    CHECK_OK(lh_time_parse_iso("2024-05-01T14:34:56.123456+02:00", 32, &us, &err), &err);
    CHECK_INT(us, 1714566896123456LL);
    CHECK_OK(lh_time_parse_iso("2024-05-01", 10, &us, &err), &err);
    CHECK_INT(us, 1714521600000000LL);
    CHECK_OK(lh_time_parse_iso("1969-12-31T23:59:59.5Z", 22, &us, &err), &err);
    CHECK_INT(us, -500000);
    lh_time_format_iso(-500000, out);
    CHECK_STR(out, "1969-12-31T23:59:59.500000");
    lh_time_format_iso_py(1714566896000000LL, 1, out);
    CHECK_STR(out, "2024-05-01T12:34:56+00:00");
    CHECK_RC(lh_time_parse_iso("2024-13-01", 10, &us, &err), LH_ERR_INVALID);
    /* only real days and times, as Python's fromisoformat */
    const char *unreal[] = {"2020-02-30", "2021-02-29T12:00:00", "2023-04-31",
                            "2020-01-01T23:59:60", "0000-01-01T00:00:00",
                            "2020-01-01T00:00:00+24:00", "2020-01-01T00:00:00-25:00", NULL};
    for (size_t i = 0; unreal[i]; i++)
        CHECK_RC(lh_time_parse_iso(unreal[i], strlen(unreal[i]), &us, &err), LH_ERR_INVALID);
    const char *real[] = {"2020-02-29", "2000-02-29", "0001-01-01", "9999-12-31T23:59:59",
                          "2020-01-01T00:00:00+23:59", NULL};
    for (size_t i = 0; real[i]; i++)
        CHECK_OK(lh_time_parse_iso(real[i], strlen(real[i]), &us, &err), &err);
    CHECK_RC(lh_time_parse_iso("1900-02-29", 10, &us, &err), LH_ERR_INVALID);
    CHECK_RC(lh_time_parse_iso("yesterday", 9, &us, &err), LH_ERR_INVALID);
    CHECK_RC(lh_time_parse_iso("2024-05-01T12:34:56junk", 23, &us, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "junk") != NULL);
    int64_t y;
    unsigned m, d;
    lh_civil_from_days(lh_days_from_civil(2000, 2, 29), &y, &m, &d);
    CHECK(y == 2000 && m == 2 && d == 29);
    /* digits written by hand agree with gmtime + printf, from year 1 to
     * 9999, with and without a fraction; years outside take printf's path */
    int bad = 0;
    for (int64_t secs = -62135596800LL; secs < 253402300800LL; secs += 7919LL * 86400 + 3607) {
        for (int with_frac = 0; with_frac < 2; with_frac++) {
            int64_t frac = with_frac ? (secs & 0xfffff) % 999999 + 1 : 0;
            int64_t t = secs * 1000000 + frac;
            time_t tt = (time_t)secs;
            struct tm tm;
            gmtime_r(&tt, &tm);
            char want[64];
            int k = snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
            if (with_frac)
                k += snprintf(want + k, sizeof want - (size_t)k, ".%06lld", (long long)frac);
            snprintf(want + k, sizeof want - (size_t)k, "+00:00");
            lh_time_format_iso_py(t, 1, out);
            bad += strcmp(out, want) != 0;
        }
    }
    CHECK_INT(bad, 0);
    lh_time_format_iso_py(-62135596800LL * 1000000 - 86400LL * 1000000, 0, out); /* year 0 */
    CHECK_STR(out, "0000-12-31T00:00:00");
    lh_time_format_iso_py(253402300800LL * 1000000, 0, out); /* year 10000 */
    CHECK_STR(out, "10000-01-01T00:00:00");
    /* the reference's file-name form, strftime "%Y%m%dT%H%M%S%fZ" */
    char compact[LH_TS_COMPACT_MAX];
    lh_time_format_compact(1714566896000042LL, compact);
    CHECK_STR(compact, "20240501T123456000042Z");
    CHECK_OK(lh_time_parse_compact(compact, strlen(compact), &us, &err), &err);
    CHECK_INT(us, 1714566896000042LL);
    CHECK_OK(lh_time_parse_compact("20240501T1234565Z", 17, &us, &err), &err);
    CHECK_INT(us, 1714566896500000LL);
    CHECK_RC(lh_time_parse_compact("20240501T123456Z", 16, &us, &err), LH_ERR_INVALID);
    CHECK_RC(lh_time_parse_compact("2024-05-01T12:34", 16, &us, &err), LH_ERR_INVALID);
    CHECK_RC(lh_time_parse_compact("20241301T123456000000Z", 22, &us, &err), LH_ERR_INVALID);
    CHECK_RC(lh_time_parse_compact("20240501T123456000000", 21, &us, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "20240501T123456000000") != NULL);
}

static void test_yaml(void)
{
    lh_error err;
    json_t *v = NULL;
    const char *doc = "a: 1\nb: '1'\nc: yes\nd: Off\ne: ~\nf:\ng: 1.5\nh: 1e5\ni: 0x1f\n"
                      "j: 012\nk: 2024-01-01\nl: [x, 'y', 3]\nm: {n: true}\no: 1_000\np: .5\n";
    CHECK_OK(lh_yaml_load(doc, strlen(doc), "t.yml", &v, &err), &err);
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR(text, "{\"a\":1,\"b\":\"1\",\"c\":true,\"d\":false,\"e\":null,\"f\":null,"
                    "\"g\":1.5,\"h\":\"1e5\",\"i\":31,\"j\":10,\"k\":\"2024-01-01\","
                    "\"l\":[\"x\",\"y\",3],\"m\":{\"n\":true},\"o\":1000,\"p\":0.5}");
    free(text);
    json_decref(v);
    CHECK_OK(lh_yaml_load("", 0, "t.yml", &v, &err), &err);
    CHECK(json_is_null(v));
    json_decref(v);
    const char *bad = "a: 1\nb: [unclosed\n";
    CHECK_RC(lh_yaml_load(bad, strlen(bad), "t.yml", &v, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "t.yml:") != NULL);
    CHECK(v == NULL);
    /* one document, as PyYAML's safe_load: a second is an error */
    const char *two = "a: 1\n---\na: 2\n";
    CHECK_RC(lh_yaml_load(two, strlen(two), "t.yml", &v, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "t.yml:2: expected a single document") != NULL);
    CHECK(v == NULL);
    const char *marked = "---\na: 1\n...\n";
    CHECK_OK(lh_yaml_load(marked, strlen(marked), "t.yml", &v, &err), &err);
    CHECK(json_is_object(v));
    json_decref(v);
    const char *alias = "a: &x 1\nb: *x\n";
    CHECK_RC(lh_yaml_load(alias, strlen(alias), "t.yml", &v, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "t.yml:1: anchors") != NULL);
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    CHECK_RC(lh_yaml_load(deep, sizeof deep, "t.yml", &v, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "nested too deeply") != NULL);
    /* dumped and read back: text that would resolve to something else is quoted */
    const char *tricky = "{\"z\":[\"3\",\"yes\",\"2020-01-01\",\"\",\"a: b\",\"null\",\"1:30\",\"-1\","
                         "\".5\",\"~\",\"#x\",\"- y\",\"line\\nbreak\",\"\u00e9t\u00e9\"],"
                         "\"a\":{\"n\":1,\"f\":2.5,\"t\":true,\"0\":null}}";
    json_t *in = json_loads(tricky, 0, NULL);
    CHECK(in != NULL);
    lh_buf yml = LH_BUF_INIT;
    CHECK_OK(lh_yaml_dump(in, &yml, &err), &err);
    CHECK(strncmp(yml.data, "a:\n", 3) == 0); /* keys sorted */
    CHECK_OK(lh_yaml_load(yml.data, yml.len, "dump", &v, &err), &err);
    CHECK(json_equal(in, v));
    json_decref(v);
    json_decref(in);
    lh_buf_free(&yml);
}

static void test_settings(void)
{
    lh_error err;
    lh_settings s;
    unsetenv("LAKEHOUSE_URI");
    setenv("LAKEHOUSE_GRACE_PERIOD_DAYS", "7", 1);
    CHECK_OK(lh_settings_load(&s, &err), &err);
    CHECK_STR(s.uri, "data");
    CHECK_INT(s.grace_period_days, 7);
    CHECK_INT(s.max_buffer_rows, 1000000);
    CHECK(s.journal_uri == NULL);
    lh_settings_free(&s);
    setenv("LAKEHOUSE_LOCK_MAX_RETRIES", "many", 1);
    CHECK_RC(lh_settings_load(&s, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "LAKEHOUSE_LOCK_MAX_RETRIES") != NULL);
    unsetenv("LAKEHOUSE_LOCK_MAX_RETRIES");
    unsetenv("LAKEHOUSE_GRACE_PERIOD_DAYS");
    CHECK_OK(lh_settings_load(&s, &err), &err);
    CHECK_INT(s.workers, 0); /* one per CPU */
    lh_settings_free(&s);
    setenv("LAKEHOUSE_WORKERS", "3", 1);
    CHECK_OK(lh_settings_load(&s, &err), &err);
    CHECK_INT(s.workers, 3);
    lh_settings_free(&s);
    setenv("LAKEHOUSE_WORKERS", "-1", 1);
    CHECK_RC(lh_settings_load(&s, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "LAKEHOUSE_WORKERS=\"-1\"") != NULL);
    unsetenv("LAKEHOUSE_WORKERS");
    CHECK_OK(lh_settings_load(&s, &err), &err);
    CHECK(s.sort_memory_mb == 64);
    lh_settings_free(&s);
    setenv("LAKEHOUSE_SORT_MEMORY_MB", "0", 1);
    CHECK_RC(lh_settings_load(&s, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "LAKEHOUSE_SORT_MEMORY_MB=\"0\"") != NULL);
    unsetenv("LAKEHOUSE_SORT_MEMORY_MB");

    /* .env in the working directory, beneath the environment, as the
     * reference's pydantic-settings (python-dotenv) reads it */
    char dir[] = "/tmp/lh-dotenv-XXXXXX", cwd[4096];
    CHECK(mkdtemp(dir) != NULL);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    FILE *f = fopen(".env", "w");
    CHECK(f != NULL);
    fputs("# comment\n"
          "export LAKEHOUSE_URI = 'it\\'s' \n"
          "LAKEHOUSE_URI='q'junk\n" /* malformed: skipped */
          "lakehouse_journal_uri=\"sqlite:///a b\\\"c\\n\"  # note\n"
          "LAKEHOUSE_PUBLIC_URL_PREFIX=https://x/#frag #comment\n"
          "LAKEHOUSE_GRACE_PERIOD_DAYS=5\n"
          "LAKEHOUSE_GRACE_PERIOD_DAYS=${LH_TEST_DAYS:-6}\n"
          "LH_EMPTY=\n"
          "LAKEHOUSE_PUBLIC_URL_PREFIX=x${LH_EMPTY:-dflt}${nope y\n"
          "broken line\n"
          "LAKEHOUSE_LOCK_MAX_RETRIES='unterminated\n",
          f);
    fclose(f);
    CHECK_OK(lh_settings_load(&s, &err), &err);
    CHECK_STR(s.uri, "it's");
    CHECK_STR(s.journal_uri, "sqlite:///a b\"c\n");
    CHECK_STR(s.public_url_prefix, "x${nope y"); /* an empty VAR is no default's */
    CHECK_INT(s.grace_period_days, 6); /* the last line; ${..:-default} */
    CHECK_INT(s.lock_max_retries, 10);
    lh_settings_free(&s);
    setenv("LH_TEST_DAYS", "8", 1);
    setenv("lakehouse_uri", "lower", 1); /* the environment first, any case */
    CHECK_OK(lh_settings_load(&s, &err), &err);
    CHECK_STR(s.uri, "lower");
    CHECK_INT(s.grace_period_days, 8);
    lh_settings_free(&s);
    unsetenv("lakehouse_uri");
    unsetenv("LH_TEST_DAYS");
    CHECK(unlink(".env") == 0);
    CHECK(chdir(cwd) == 0);
    CHECK(rmdir(dir) == 0);
}

static void test_keys(void)
{
    lh_error err;
    CHECK_OK(lh_storage_check_key("a/b/c.json", &err), &err);
    CHECK_OK(lh_storage_check_key("ds/.LOCK", &err), &err);
    const char *bad[] = {"", "/abs", "a//b", "a/../b", "..", "a/./b", "a\\b", "a\nb", "a/", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_RC(lh_storage_check_key(bad[i], &err), LH_ERR_INVALID);
}

/* An interrupted streaming write (a process gone before commit) leaves its
 * temp file; lh_storage_remove_debris takes it once it is older than the
 * cutoff, and nothing else: not committed keys, not links. */
static void test_storage_debris(void)
{
    char *dir = lh_test_tmpdir();
    char *root = lh_asprintf("%s/lake", dir);
    lh_error err;
    lh_storage *s;
    CHECK_OK(lh_storage_open(root, &s, &err), &err);
    CHECK_OK(lh_storage_write(s, "t/keep/real.parquet", "data", 4, &err), &err);
    pid_t pid = fork();
    if (pid == 0) {
        lh_storage *cs;
        lh_storage_writer *w;
        if (lh_storage_open(root, &cs, &err) != LH_OK ||
            lh_storage_writer_open(cs, "t/part=1/dead.parquet", &w, &err) != LH_OK ||
            lh_storage_writer_write(w, "half a file", 11, &err) != LH_OK)
            _exit(1);
        _exit(0); /* killed mid-write: no commit, no abort */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* a link named like a temp file, pointing outside: never touched */
    char *outside = lh_asprintf("%s/outside.txt", dir);
    FILE *f = fopen(outside, "w");
    if (f) fclose(f);
    char *link = lh_asprintf("%s/t/keep/.lh-tmp-link", root);
    CHECK(symlink(outside, link) == 0);

    lh_strlist keys;
    lh_strlist_init(&keys);
    CHECK_OK(lh_storage_list(s, "t", LH_LIST_RECURSIVE, &keys, &err), &err);
    CHECK_INT(keys.len, 1); /* temp files are never listed */
    lh_strlist_free(&keys);
    size_t removed = 99;
    int64_t now = lh_now_us() / 1000;
    CHECK_OK(lh_storage_remove_debris(s, "t", now - 3600000, false, &removed, &err), &err);
    CHECK_INT(removed, 0); /* younger than the cutoff */
    char *part_dir = lh_asprintf("%s/t/part=1", root);
    struct stat st;
    CHECK(stat(part_dir, &st) == 0);
    CHECK_OK(lh_storage_remove_debris(s, "t", now + 60000, true, &removed, &err), &err);
    CHECK_INT(removed, 1); /* dry run: counted, kept */
    CHECK(stat(part_dir, &st) == 0);
    CHECK_OK(lh_storage_remove_debris(s, "t", now + 60000, false, &removed, &err), &err);
    CHECK_INT(removed, 1);
    CHECK(stat(part_dir, &st) != 0 && errno == ENOENT); /* held only debris */
    CHECK(lstat(link, &st) == 0 && access(outside, F_OK) == 0);
    lh_buf b = LH_BUF_INIT;
    CHECK_OK(lh_storage_read(s, "t/keep/real.parquet", &b, &err), &err);
    CHECK_INT(b.len, 4);
    lh_buf_free(&b);
    CHECK_OK(lh_storage_remove_debris(s, "nothing/here", INT64_MAX, false, &removed, &err), &err);
    CHECK_INT(removed, 0);
    CHECK_RC(lh_storage_remove_debris(s, "../up", INT64_MAX, false, &removed, &err), LH_ERR_INVALID);
    free(part_dir);
    free(link);
    free(outside);
    lh_storage_free(s);
    lh_test_rmtree(dir);
    free(root);
    free(dir);
}

/* A dataset mounted from elsewhere: its keys go there (stripped of the
 * mount), every other key to the lake; listings name full keys. */
static void test_storage_mount(void)
{
    char *dir = lh_test_tmpdir();
    char *lake_root = lh_asprintf("%s/lake", dir), *away_root = lh_asprintf("%s/away/ds", dir);
    lh_error err;
    lh_storage *lake, *away, *s;
    CHECK_OK(lh_storage_open(lake_root, &lake, &err), &err);
    CHECK_OK(lh_storage_open(away_root, &away, &err), &err);
    CHECK_OK(lh_storage_mount(lake, "ds", away, &s, &err), &err);
    CHECK_OK(lh_storage_write(s, "ds/t/a.json", "a", 1, &err), &err);
    CHECK_OK(lh_storage_put_if_absent(s, "ds/.LOCK", "l", 1, &err), &err);
    CHECK_RC(lh_storage_put_if_absent(s, "ds/.LOCK", "l", 1, &err), LH_ERR_EXISTS);
    CHECK_OK(lh_storage_write(s, "dsx/b.json", "b", 1, &err), &err); /* not the mount */
    CHECK_OK(lh_storage_write(s, ".journal.db", "j", 1, &err), &err);
    char *p = lh_asprintf("%s/t/a.json", away_root);
    CHECK(access(p, F_OK) == 0);
    free(p);
    p = lh_asprintf("%s/dsx/b.json", lake_root);
    CHECK(access(p, F_OK) == 0);
    free(p);
    p = lh_asprintf("%s/ds", lake_root);
    CHECK(access(p, F_OK) != 0);
    free(p);
    lh_strlist keys;
    lh_strlist_init(&keys);
    CHECK_OK(lh_storage_list(s, "ds", LH_LIST_RECURSIVE, &keys, &err), &err);
    CHECK_INT(keys.len, 2);
    if (keys.len == 2) {
        CHECK_STR(keys.items[0], "ds/.LOCK");
        CHECK_STR(keys.items[1], "ds/t/a.json");
    }
    lh_strlist_free(&keys);
    lh_strlist_init(&keys);
    CHECK_OK(lh_storage_list(s, "ds/t/", 0, &keys, &err), &err);
    CHECK(keys.len == 1 && strcmp(keys.items[0], "ds/t/a.json") == 0);
    lh_strlist_free(&keys);
    lh_storage_reader *r;
    CHECK_OK(lh_storage_reader_open(s, "ds/t/a.json", &r, &err), &err);
    CHECK_STR(r->key, "ds/t/a.json"); /* messages name the caller's key */
    lh_storage_reader_free(r);
    char *uri = lh_storage_key_uri(s, "ds");
    char *want = lh_asprintf("file://%s", away_root);
    CHECK_STR(uri, want);
    free(uri);
    free(want);
    uri = lh_storage_key_uri(s, "dsx");
    want = lh_asprintf("file://%s/dsx", lake_root);
    CHECK_STR(uri, want);
    free(uri);
    free(want);
    CHECK_STR(lh_storage_uri(s), lh_storage_uri(lake));
    CHECK(lh_storage_can_lease(s, "ds/.LOCK"));
    const char *doomed[] = {"ds/t/a.json", "dsx/b.json", "ds/.LOCK"};
    CHECK_OK(lh_storage_delete_many(s, doomed, 3, &err), &err);
    bool ex = true;
    CHECK_OK(lh_storage_exists(s, "ds/t/a.json", &ex, &err), &err);
    CHECK(!ex);
    CHECK_OK(lh_storage_exists(s, "dsx/b.json", &ex, &err), &err);
    CHECK(!ex);
    CHECK_OK(lh_storage_exists(s, ".journal.db", &ex, &err), &err);
    CHECK(ex);
    lh_storage_free(s);
    /* a mount point of more than one segment is refused, both storages freed */
    CHECK_OK(lh_storage_open(lake_root, &lake, &err), &err);
    CHECK_OK(lh_storage_open(away_root, &away, &err), &err);
    CHECK_RC(lh_storage_mount(lake, "a/b", away, &s, &err), LH_ERR_INVALID);
    CHECK(s == NULL);
    lh_test_rmtree(dir);
    free(lake_root);
    free(away_root);
    free(dir);
}

static void test_storage_local(void)
{
    char *dir = lh_test_tmpdir();
    char *root = lh_asprintf("%s/lake", dir);
    lh_error err;
    lh_storage *s;
    CHECK_OK(lh_storage_open(root, &s, &err), &err);
    lh_buf b = LH_BUF_INIT;
    CHECK_RC(lh_storage_read(s, "missing.txt", &b, &err), LH_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "missing.txt") != NULL);
    bool exists = true;
    CHECK_OK(lh_storage_exists(s, "missing.txt", &exists, &err), &err);
    CHECK(!exists);

    CHECK_OK(lh_storage_write(s, "ds/a/one.txt", "hello", 5, &err), &err);
    CHECK_OK(lh_storage_read(s, "ds/a/one.txt", &b, &err), &err);
    CHECK_STR(b.data, "hello");
    CHECK_OK(lh_storage_write(s, "ds/a/one.txt", "bye", 3, &err), &err); /* overwrite */
    lh_buf_reset(&b);
    CHECK_OK(lh_storage_read(s, "ds/a/one.txt", &b, &err), &err);
    CHECK_STR(b.data, "bye");
    lh_stat st;
    CHECK_OK(lh_storage_stat(s, "ds/a/one.txt", &st, &err), &err);
    CHECK_INT(st.size, 3);
    CHECK(st.mtime_ms > 0);

    CHECK_OK(lh_storage_put_if_absent(s, "ds/log/0.json", "v0", 2, &err), &err);
    CHECK_RC(lh_storage_put_if_absent(s, "ds/log/0.json", "XX", 2, &err), LH_ERR_EXISTS);
    lh_buf_reset(&b);
    CHECK_OK(lh_storage_read(s, "ds/log/0.json", &b, &err), &err);
    CHECK_STR(b.data, "v0"); /* the loser did not overwrite */

    /* streaming writer: nothing visible before commit, abort leaves nothing */
    lh_storage_writer *w;
    CHECK_OK(lh_storage_writer_open(s, "ds/big.bin", &w, &err), &err);
    char chunk[4096];
    memset(chunk, 'z', sizeof chunk);
    for (int i = 0; i < 600; i++) CHECK_OK(lh_storage_writer_write(w, chunk, sizeof chunk, &err), &err);
    CHECK_OK(lh_storage_exists(s, "ds/big.bin", &exists, &err), &err);
    CHECK(!exists);
    CHECK_INT(lh_storage_writer_offset(w), 600 * 4096);
    CHECK_OK(lh_storage_writer_commit(w, &err), &err);
    lh_storage_writer_free(w);
    CHECK_OK(lh_storage_stat(s, "ds/big.bin", &st, &err), &err);
    CHECK_INT(st.size, 600 * 4096);
    CHECK_OK(lh_storage_writer_open(s, "ds/aborted.bin", &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, "x", 1, &err), &err);
    lh_storage_writer_free(w);
    CHECK_OK(lh_storage_writer_open(s, "ds/log/0.json", &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, "x", 1, &err), &err);
    CHECK_RC(lh_storage_writer_commit_if_absent(w, &err), LH_ERR_EXISTS);
    lh_storage_writer_free(w);

    /* reader */
    lh_storage_reader *r;
    CHECK_OK(lh_storage_reader_open(s, "ds/big.bin", &r, &err), &err);
    CHECK_INT(lh_storage_reader_size(r), 600 * 4096);
    char tail[10];
    CHECK_OK(lh_storage_reader_pread(r, 600 * 4096 - 10, tail, 10, &err), &err);
    CHECK(tail[9] == 'z');
    CHECK_RC(lh_storage_reader_pread(r, 600 * 4096 - 5, tail, 10, &err), LH_ERR_CORRUPT);
    lh_storage_reader_free(r);
    CHECK_RC(lh_storage_reader_open(s, "ds/nope", &r, &err), LH_ERR_NOT_FOUND);

    /* listing: sorted, recursive, no temp files, dirs on request */
    lh_strlist keys;
    lh_strlist_init(&keys);
    CHECK_OK(lh_storage_list(s, "ds", LH_LIST_RECURSIVE, &keys, &err), &err);
    CHECK_INT(keys.len, 3);
    if (keys.len == 3) {
        CHECK_STR(keys.items[0], "ds/a/one.txt");
        CHECK_STR(keys.items[1], "ds/big.bin");
        CHECK_STR(keys.items[2], "ds/log/0.json");
    }
    lh_strlist_free(&keys);
    CHECK_OK(lh_storage_list(s, "ds/", LH_LIST_DIRS, &keys, &err), &err);
    CHECK_INT(keys.len, 3);
    if (keys.len == 3) {
        CHECK_STR(keys.items[0], "ds/a/");
        CHECK_STR(keys.items[1], "ds/big.bin");
        CHECK_STR(keys.items[2], "ds/log/");
    }
    lh_strlist_free(&keys);
    CHECK_OK(lh_storage_list(s, "nothing/here", LH_LIST_RECURSIVE, &keys, &err), &err);
    CHECK_INT(keys.len, 0);
    CHECK_RC(lh_storage_list(s, "../etc", LH_LIST_RECURSIVE, &keys, &err), LH_ERR_INVALID);
    CHECK_RC(lh_storage_write(s, "../escape", "x", 1, &err), LH_ERR_INVALID);

    CHECK_OK(lh_storage_delete(s, "ds/big.bin", &err), &err);
    CHECK_OK(lh_storage_delete(s, "ds/big.bin", &err), &err); /* idempotent */
    CHECK_OK(lh_storage_delete_prefix(s, "ds", &err), &err);
    CHECK_OK(lh_storage_list(s, "", LH_LIST_RECURSIVE, &keys, &err), &err);
    CHECK_INT(keys.len, 0);
    lh_strlist_free(&keys);

    char *p = lh_storage_local_path(s, "x/y");
    CHECK(p && lh_str_endswith(p, "/lake/x/y"));
    free(p);
    lh_buf_free(&b);
    lh_storage_free(s);
    lh_test_rmtree(dir);
    free(root);
    free(dir);
}

static void test_storage_failures(void)
{
    lh_error err;
    lh_storage *s;
    char *dir = lh_test_tmpdir();
    /* A file where a directory is needed: ENOTDIR surfaces as a clear error. */
    CHECK_OK(lh_storage_open(dir, &s, &err), &err);
    CHECK_OK(lh_storage_write(s, "file", "x", 1, &err), &err);
    CHECK_RC(lh_storage_write(s, "file/child", "x", 1, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "file") != NULL);
    /* Injected fsync failure (e.g. ENOSPC on flush): the write fails, the old
     * content stays, and no temp file is left behind. */
    CHECK_OK(lh_storage_write(s, "keep", "old", 3, &err), &err);
    lh_storage_fault_fsync(1, ENOSPC);
    CHECK_RC(lh_storage_write(s, "keep", "new", 3, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "No space left") != NULL);
    lh_buf b = LH_BUF_INIT;
    CHECK_OK(lh_storage_read(s, "keep", &b, &err), &err);
    CHECK_STR(b.data, "old");
    lh_buf_free(&b);
    lh_strlist keys;
    lh_strlist_init(&keys);
    CHECK_OK(lh_storage_list(s, "", LH_LIST_RECURSIVE, &keys, &err), &err);
    CHECK_INT(keys.len, 2);
    lh_strlist_free(&keys);
    lh_storage_free(s);

    /* Permission denied: a read-only directory (as root, which bypasses mode
     * bits, /proc refuses file creation instead). */
    const char *ro_root;
    char *ro = NULL;
    if (geteuid() != 0) {
        ro = lh_asprintf("%s/ro", dir);
        mkdir(ro, 0555);
        ro_root = ro;
    } else {
        ro_root = "/proc/lh-test-denied";
    }
    CHECK_OK(lh_storage_open(ro_root, &s, &err), &err);
    CHECK_RC(lh_storage_write(s, "x", "x", 1, &err), LH_ERR_IO);
    CHECK(err.sys_errno != 0);
    lh_storage_free(s);
    free(ro);

    CHECK_RC(lh_storage_open("ftp://host/x", &s, &err), LH_ERR_UNSUPPORTED);
    CHECK_RC(lh_storage_open("file://relative", &s, &err), LH_ERR_INVALID);
    lh_test_rmtree(dir);
    free(dir);
}

/* Two processes race put-if-absent on the same keys: exactly one wins each. */
static void test_put_if_absent_race(void)
{
    char *dir = lh_test_tmpdir();
    enum { KEYS = 200, PROCS = 4 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            lh_error err;
            lh_storage *s;
            if (lh_storage_open(dir, &s, &err) != LH_OK) _exit(3);
            int wins = 0;
            for (int k = 0; k < KEYS; k++) {
                char key[64], val[16];
                snprintf(key, sizeof key, "log/%020d.json", k);
                snprintf(val, sizeof val, "p%d", p);
                lh_status rc = lh_storage_put_if_absent(s, key, val, strlen(val), &err);
                if (rc == LH_OK) wins++;
                else if (rc != LH_ERR_EXISTS) _exit(4);
            }
            lh_storage_free(s);
            /* report wins through the exit code's file, keeping exit 0 clean */
            char path[4200];
            snprintf(path, sizeof path, "%s/wins-%d", dir, p);
            FILE *f = fopen(path, "w");
            if (f) {
                fprintf(f, "%d", wins);
                fclose(f);
            }
            _exit(0);
        }
    }
    int total = 0;
    for (int p = 0; p < PROCS; p++) {
        int status;
        waitpid(pids[p], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        char path[4200];
        snprintf(path, sizeof path, "%s/wins-%d", dir, p);
        FILE *f = fopen(path, "r");
        int wins = 0;
        if (f) {
            if (fscanf(f, "%d", &wins) != 1) wins = 0;
            fclose(f);
        }
        total += wins;
    }
    CHECK_INT(total, KEYS);
    lh_test_rmtree(dir);
    free(dir);
}

static int loaded_calls;

static lh_status count_loaded(lh_error *err)
{
    (void)err;
    loaded_calls++;
    return LH_OK;
}

typedef struct zstd_api {
    unsigned (*version)(void);
    unsigned (*is_error)(size_t);
} zstd_api;

/* Libraries loaded on use: found symbols fill the API struct, a missing
 * library or symbol is a clear error naming the feature, the library and
 * the symbol, and leaves the struct as it was; a library loaded once keeps
 * its first outcome. */
/* A NUL in a string is refused naming its field; other errors keep
 * jansson's words; what parses is returned whole. */
static void test_json_parse(void)
{
    lh_error err;
    const char *ok = "{\"a\": [1, \"x\"]}";
    json_t *v = lh_json_parse(ok, strlen(ok), 0, &err);
    CHECK(v && json_array_size(json_object_get(v, "a")) == 2);
    json_decref(v);
    const char *nul = "{\"a\": {\"b\": [\"x\", \"y\\u0000z\"]}}";
    CHECK(!lh_json_parse(nul, strlen(nul), 0, &err));
    CHECK_INT(err.code, LH_ERR_INVALID);
    CHECK_STR(err.msg, "a.b[1]: a NUL character (\\u0000) in a string is not allowed (column 28)");
    /* even when the caller asks for NULs */
    CHECK(!lh_json_parse(nul, strlen(nul), JSON_ALLOW_NUL, &err));
    const char *bad = "{\"a\": }";
    CHECK(!lh_json_parse(bad, strlen(bad), 0, &err));
    CHECK(strstr(err.msg, "bad JSON at column 7: unexpected token") == err.msg);
}

static void test_dynlib(void)
{
    lh_error err;
    const char *const names[] = {"ZSTD_versionNumber", "ZSTD_isError"};
    zstd_api api = {0};
    CHECK_OK(lh_dynlib_load("libzstd.so.1", "a test", names, 2, &api, sizeof api, &err), &err);
    CHECK(api.version() >= 10000);
    CHECK(api.is_error((size_t)-1) && !api.is_error(0));
    zstd_api none = {0};
    CHECK_INT(lh_dynlib_load("libnot-there.so.7", "the frobnicator", names, 2, &none,
                             sizeof none, &err), LH_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "the frobnicator needs libnot-there.so.7") != NULL);
    const char *const bad[] = {"ZSTD_isError", "ZSTD_noSuchThing"};
    CHECK_INT(lh_dynlib_load("libzstd.so.1", "a test", bad, 2, &none, sizeof none, &err),
              LH_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "ZSTD_noSuchThing") != NULL);
    CHECK(none.version == NULL && none.is_error == NULL); /* nothing half-loaded */
    /* an API struct of another size than the names is refused */
    CHECK_INT(lh_dynlib_load("libzstd.so.1", "a test", names, 1, &none, sizeof none, &err),
              LH_ERR_INTERNAL);

    lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    zstd_api slots = {0};
    for (int i = 0; i < 3; i++)
        CHECK_OK(lh_dynlib_load_once(&once, "libzstd.so.1", "a test", names, 2, &slots,
                                     sizeof slots, count_loaded, &err), &err);
    CHECK_INT(loaded_calls, 1);
    CHECK(slots.version == api.version);
    lh_dynlib_once missing = LH_DYNLIB_ONCE_INIT;
    for (int i = 0; i < 2; i++) {
        lh_error_clear(&err);
        CHECK_INT(lh_dynlib_load_once(&missing, "libnot-there.so.7", "the frobnicator", names,
                                      2, &none, sizeof none, count_loaded, &err),
                  LH_ERR_UNSUPPORTED);
        CHECK(strstr(err.msg, "libnot-there.so.7") != NULL);
    }
    CHECK_INT(loaded_calls, 1);
    lh_dynlib_once no_callback = LH_DYNLIB_ONCE_INIT;
    zstd_api plain = {0};
    CHECK_OK(lh_dynlib_load_once(&no_callback, "libzstd.so.1", "a test", names, 2, &plain,
                                 sizeof plain, NULL, &err), &err);
    CHECK(plain.is_error == api.is_error);
}

/* Running out of memory ends the process with one line naming what could
 * not be allocated (a library's context, or n bytes), then abort(). */
static void check_oom_line(int which, const char *want)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        if (which) lh_out_of_memory_for("a zstd compression context");
        lh_out_of_memory(4096);
    }
    close(fds[1]);
    char line[256] = {0};
    ssize_t got = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(got > 0);
    CHECK_STR(line, want);
}

static void test_out_of_memory(void)
{
    check_oom_line(1, "ftm-lakehouse: out of memory allocating a zstd compression context\n");
    check_oom_line(0, "ftm-lakehouse: out of memory allocating 4096 bytes\n");
}

int main(void)
{
    RUN(test_out_of_memory);
    RUN(test_error);
    RUN(test_buf);
    RUN(test_arena);
    RUN(test_utf8);
    RUN(test_hash);
    RUN(test_uuid);
    RUN(test_time);
    RUN(test_yaml);
    RUN(test_settings);
    RUN(test_keys);
    RUN(test_storage_local);
    RUN(test_storage_debris);
    RUN(test_storage_mount);
    RUN(test_storage_failures);
    RUN(test_put_if_absent_race);
    RUN(test_json_parse);
    RUN(test_dynlib);
    return lh_test_report();
}
