/* Whole-file export codecs: names as the reference reads them; every codec
 * round-trips through our writer and decoder and is read by the codec's
 * own command-line tool; concatenated streams, truncation and garbage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/core/stream_codec.h"
#include "test.h"

static void test_names(void)
{
    struct {
        const char *name;
        lh_stream_codec want;
    } ok[] = {{"gz", LH_STREAM_GZ},     {"gzip", LH_STREAM_GZ},       {".gz", LH_STREAM_GZ},
              {"bz2", LH_STREAM_BZ2},   {"bzip2", LH_STREAM_BZ2},     {"bz", LH_STREAM_BZ2},
              {"xz", LH_STREAM_XZ},     {"lzma", LH_STREAM_XZ},       {".xz", LH_STREAM_XZ},
              {"zst", LH_STREAM_ZST},   {"zstd", LH_STREAM_ZST},      {"ZSTD", LH_STREAM_ZST},
              {"zstandard", LH_STREAM_ZST}, {" Zst ", LH_STREAM_ZST}, {"lz4", LH_STREAM_LZ4},
              {"lz4frame", LH_STREAM_LZ4}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        lh_stream_codec c = LH_STREAM_PLAIN;
        CHECK(lh_stream_codec_parse(ok[i].name, &c));
        CHECK_INT(c, ok[i].want);
    }
    const char *bad[] = {"", "zip", "brotli", "snappy", "gz2", "z", NULL};
    for (size_t i = 0; bad[i]; i++) {
        lh_stream_codec c;
        CHECK(!lh_stream_codec_parse(bad[i], &c));
    }
    CHECK(!lh_stream_codec_parse(NULL, &(lh_stream_codec){0}));
    CHECK_STR(lh_stream_codec_name(LH_STREAM_ZST), "zst");
    CHECK_STR(lh_stream_codec_name(LH_STREAM_GZ), "gz");
    CHECK(lh_stream_codec_name(LH_STREAM_PLAIN) == NULL);
}

/* Text that compresses, long enough for several output chunks. */
static void sample(lh_buf *b, size_t lines)
{
    for (size_t i = 0; i < lines; i++)
        lh_buf_printf(b, "{\"id\": \"e-%zu\", \"schema\": \"Person\", \"name\": [\"Name %zu\"], \"n\": %zu}\n",
                      i, i * 7919 % 100003, i * i);
}

static lh_status collect(void *ctx, const void *data, size_t n, lh_error *err)
{
    (void)err;
    lh_buf_append(ctx, data, n);
    return LH_OK;
}

/* Write plain through a codec writer in uneven pieces; read the file back. */
static void write_file(lh_storage *st, const char *key, lh_stream_codec c, const lh_buf *plain,
                       lh_buf *stored)
{
    lh_error err;
    lh_storage_writer *inner = NULL, *w = NULL;
    CHECK_OK(lh_storage_writer_open(st, key, &inner, &err), &err);
    CHECK_OK(lh_stream_writer_wrap(inner, c, &w, &err), &err);
    size_t piece = 1, off = 0;
    while (off < plain->len) {
        size_t n = plain->len - off < piece ? plain->len - off : piece;
        CHECK_OK(lh_storage_writer_write(w, plain->data + off, n, &err), &err);
        off += n;
        piece = piece * 3 + 1;
    }
    CHECK_OK(lh_storage_writer_commit(w, &err), &err);
    lh_storage_writer_free(w);
    lh_buf_reset(stored);
    CHECK_OK(lh_storage_read(st, key, stored, &err), &err);
}

static lh_status decode_all(lh_stream_codec c, const char *data, size_t n, size_t chunk,
                            lh_buf *out, lh_error *err)
{
    lh_stream_decoder *d = NULL;
    LH_TRY(lh_stream_decoder_new(c, "test file", &d, err));
    lh_status rc = LH_OK;
    for (size_t off = 0; rc == LH_OK && off < n; off += chunk)
        rc = lh_stream_decoder_feed(d, data + off, n - off < chunk ? n - off : chunk, collect, out, err);
    if (rc == LH_OK) rc = lh_stream_decoder_finish(d, err);
    lh_stream_decoder_free(d);
    return rc;
}

/* The codec's own tool reads our file back to the same bytes. */
static void check_tool(const char *dir, const char *key, lh_stream_codec c, const lh_buf *plain)
{
    static const char *const tools[] = {NULL, "gzip", "bzip2", "xz", "zstd", "lz4"};
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -dc < '%s/%s'", tools[c], dir, key);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p) return;
    lh_buf got = LH_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) lh_buf_append(&got, chunk, n);
    CHECK_INT(pclose(p), 0);
    CHECK_INT(got.len, plain->len);
    CHECK(got.len == plain->len && (!got.len || memcmp(got.data, plain->data, got.len) == 0));
    lh_buf_free(&got);
}

static void test_round_trips(void)
{
    char *dir = lh_test_tmpdir();
    lh_storage *st = NULL;
    lh_error err;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_buf plain = LH_BUF_INIT, empty = LH_BUF_INIT, stored = LH_BUF_INIT, back = LH_BUF_INIT;
    sample(&plain, 40000); /* ~3 MiB */
    for (int c = LH_STREAM_GZ; c <= LH_STREAM_LZ4; c++) {
        const char *name = lh_stream_codec_name((lh_stream_codec)c);
        char key[64];
        snprintf(key, sizeof key, "out.%s", name);
        write_file(st, key, (lh_stream_codec)c, &plain, &stored);
        CHECK(stored.len > 0 && stored.len < plain.len / 3);
        check_tool(dir, key, (lh_stream_codec)c, &plain);
        /* decoded in small and in large chunks */
        size_t chunks[] = {1, 4093, 1u << 20};
        for (size_t k = 0; k < 3; k++) {
            lh_buf_reset(&back);
            if (chunks[k] == 1 && stored.len > 200000) continue; /* byte by byte: the small file below */
            CHECK_OK(decode_all((lh_stream_codec)c, stored.data, stored.len, chunks[k], &back, &err), &err);
            CHECK(back.len == plain.len && memcmp(back.data, plain.data, plain.len) == 0);
        }
        /* two streams one after the other read as one (Python's readers do) */
        lh_buf small = LH_BUF_INIT, twice = LH_BUF_INIT;
        lh_buf_append(&small, "first line\n", 11);
        write_file(st, "small", (lh_stream_codec)c, &small, &stored);
        lh_buf_append(&twice, stored.data, stored.len);
        lh_buf_append(&twice, stored.data, stored.len);
        lh_buf_reset(&back);
        CHECK_OK(decode_all((lh_stream_codec)c, twice.data, twice.len, 1, &back, &err), &err);
        CHECK_INT(back.len, 22);
        CHECK(back.len == 22 && memcmp(back.data, "first line\nfirst line\n", 22) == 0);
        /* an empty file is one empty stream, readable by the tool */
        snprintf(key, sizeof key, "empty.%s", name);
        write_file(st, key, (lh_stream_codec)c, &empty, &stored);
        CHECK(stored.len > 0);
        check_tool(dir, key, (lh_stream_codec)c, &empty);
        /* a file cut short is an error naming it, not a shorter text */
        write_file(st, "small", (lh_stream_codec)c, &plain, &stored);
        lh_buf_reset(&back);
        CHECK_RC(decode_all((lh_stream_codec)c, stored.data, stored.len / 2, 65536, &back, &err),
                 LH_ERR_CORRUPT);
        CHECK(strstr(err.msg, "test file") != NULL);
        /* and other bytes than the codec's are refused */
        lh_buf_reset(&back);
        CHECK_RC(decode_all((lh_stream_codec)c, plain.data, 4096, 4096, &back, &err), LH_ERR_CORRUPT);
        lh_buf_free(&small);
        lh_buf_free(&twice);
    }
    /* PLAIN: the writer is the storage's own, the decoder passes bytes on */
    lh_storage_writer *inner = NULL, *w = NULL;
    CHECK_OK(lh_storage_writer_open(st, "plain", &inner, &err), &err);
    CHECK_OK(lh_stream_writer_wrap(inner, LH_STREAM_PLAIN, &w, &err), &err);
    CHECK(w == inner);
    lh_storage_writer_free(w);
    lh_buf_reset(&back);
    CHECK_OK(decode_all(LH_STREAM_PLAIN, "abc", 3, 2, &back, &err), &err);
    CHECK_INT(back.len, 3);
    /* a writer freed before commit leaves nothing */
    CHECK_OK(lh_storage_writer_open(st, "aborted.gz", &inner, &err), &err);
    CHECK_OK(lh_stream_writer_wrap(inner, LH_STREAM_GZ, &w, &err), &err);
    CHECK_OK(lh_storage_writer_write(w, "x", 1, &err), &err);
    lh_storage_writer_free(w);
    bool exists = true;
    CHECK_OK(lh_storage_exists(st, "aborted.gz", &exists, &err), &err);
    CHECK(!exists);
    lh_buf_free(&plain);
    lh_buf_free(&empty);
    lh_buf_free(&stored);
    lh_buf_free(&back);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* A stream that ends exactly as the decoder's output buffer (256 KiB)
 * fills: bzip2 must not be asked for more after its end. */
static void test_output_boundaries(void)
{
    char *dir = lh_test_tmpdir();
    lh_storage *st = NULL;
    lh_error err;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_buf plain = LH_BUF_INIT, stored = LH_BUF_INIT, back = LH_BUF_INIT;
    for (int c = LH_STREAM_GZ; c <= LH_STREAM_LZ4; c++) {
        size_t sizes[] = {262144, 262143, 262145, 2 * 262144};
        for (size_t k = 0; k < 4; k++) {
            lh_buf_reset(&plain);
            for (size_t i = 0; i < sizes[k]; i++) lh_buf_append_byte(&plain, (char)('a' + i * 7 % 26));
            write_file(st, "edge", (lh_stream_codec)c, &plain, &stored);
            size_t chunks[] = {stored.len, 4093};
            for (size_t j = 0; j < 2; j++) {
                lh_buf_reset(&back);
                CHECK_OK(decode_all((lh_stream_codec)c, stored.data, stored.len, chunks[j], &back,
                                    &err), &err);
                CHECK_INT(back.len, plain.len);
            }
        }
    }
    lh_buf_free(&plain);
    lh_buf_free(&stored);
    lh_buf_free(&back);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* Bytes after the last stream, as Python's readers take them (each case
 * checked against gzip, bz2 and lzma.open). */
static void test_trailing_bytes(void)
{
    char *dir = lh_test_tmpdir();
    lh_storage *st = NULL;
    lh_error err;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_buf line = LH_BUF_INIT, stored = LH_BUF_INIT, file = LH_BUF_INIT, back = LH_BUF_INIT;
    lh_buf_append(&line, "{\"id\":\"a\"}\n", 11);
    struct {
        lh_stream_codec c;
        const char *tail;
        size_t tail_len;
        bool ok; /* Python reads the line and stops */
    } cases[] = {
        {LH_STREAM_GZ, "\0\0\0\0\0\0\0", 7, true},   /* zero padding */
        {LH_STREAM_GZ, "junk", 4, false},
        {LH_STREAM_BZ2, "\0\0\0\0", 4, true},
        {LH_STREAM_BZ2, "junk after", 10, true},
        {LH_STREAM_XZ, "\0\0\0\0", 4, false}, /* Python: ends before the end marker */
        {LH_STREAM_XZ, "junk after", 10, true},
        {LH_STREAM_ZST, "junk after", 10, false},
        {LH_STREAM_LZ4, "junk after", 10, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file(st, "t", cases[i].c, &line, &stored);
        lh_buf_reset(&file);
        lh_buf_append(&file, stored.data, stored.len);
        lh_buf_append(&file, cases[i].tail, cases[i].tail_len);
        size_t chunks[] = {file.len, 1};
        for (size_t j = 0; j < 2; j++) {
            lh_buf_reset(&back);
            lh_status rc = decode_all(cases[i].c, file.data, file.len, chunks[j], &back, &err);
            if (cases[i].ok) {
                CHECK_OK(rc, &err);
                CHECK_INT(back.len, line.len);
            } else {
                CHECK_RC(rc, LH_ERR_CORRUPT);
            }
        }
    }
    /* junk where the first stream should start is refused by every codec */
    for (int c = LH_STREAM_GZ; c <= LH_STREAM_LZ4; c++) {
        lh_buf_reset(&back);
        CHECK_RC(decode_all((lh_stream_codec)c, "junk before", 11, 11, &back, &err),
                 LH_ERR_CORRUPT);
        CHECK(strstr(err.msg, "truncated") == NULL);
    }
    lh_buf_free(&line);
    lh_buf_free(&stored);
    lh_buf_free(&file);
    lh_buf_free(&back);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    RUN(test_names);
    RUN(test_round_trips);
    RUN(test_output_boundaries);
    RUN(test_trailing_bytes);
    return lh_test_report();
}
