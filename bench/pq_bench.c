/* lh-pq-bench <dir> [rows] [codec]: write a statement-like table (19
 * columns: 15 strings, 3 timestamps incl. a nullable one, a bool) with the
 * parquet writer, then read every column back with the reader; prints
 * {"rows", "bytes", "write_cpu_s", "read_cpu_s", "gen_cpu_s"} as JSON
 * (process CPU seconds; data generation is measured apart and subtracted). The file stays in
 * <dir>/bench.parquet for bench/pq_bench.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lh/core/storage.h"
#include "lh/format/pq_codec.h"
#include "lh/format/pq_reader.h"
#include "lh/format/pq_writer.h"

#define NC 19

static double now(void)
{
    struct timespec ts;
    /* CPU time: the machine is shared, wall time would mostly measure load. */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what, const lh_error *err)
{
    fprintf(stderr, "lh-pq-bench: %s: %s\n", what, err->msg);
    return 1;
}

/* Row r of the synthetic statement table (x: generator state). */
static void gen_row(long r, uint64_t *x, char buf[NC][96], lh_pq_value *v)
{
    static const char *schemata[] = {"Person", "Company", "Organization", "LegalEntity", "Address"};
    static const char *props[] = {"name", "country", "birthDate", "alias", "address", "idNumber"};
    memset(v, 0, NC * sizeof *v);
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    long ent = r / 8;
    int n[NC] = {0};
    n[0] = snprintf(buf[0], 96, "%02lx", (unsigned long)(ent * 2654435761u) & 0xff);
    n[1] = snprintf(buf[1], 96, "%016llx%016llx", (unsigned long long)*x, (unsigned long long)(*x * 31));
    n[2] = snprintf(buf[2], 96, "ent-%08lx-%ld", (unsigned long)(ent * 2654435761u), ent);
    n[3] = snprintf(buf[3], 96, "bench_dataset");
    n[4] = snprintf(buf[4], 96, "default");
    n[5] = snprintf(buf[5], 96, "import");
    n[6] = snprintf(buf[6], 96, "src");
    n[7] = snprintf(buf[7], 96, "%s", schemata[ent % 5]);
    n[8] = snprintf(buf[8], 96, "%s", props[r % 6]);
    n[9] = snprintf(buf[9], 96, "%s", props[r % 6]);
    n[10] = snprintf(buf[10], 96, "Value %llu of some entity property", (unsigned long long)(*x % 1000003));
    n[11] = snprintf(buf[11], 96, "Value %llu", (unsigned long long)(*x % 1000003));
    n[12] = snprintf(buf[12], 96, "%s", (*x >> 20) % 3 ? "eng" : "deu");
    n[13] = 0;
    n[14] = snprintf(buf[14], 96, "admin");
    for (int c = 0; c < 15; c++) {
        v[c].v.s.p = buf[c];
        v[c].v.s.len = (size_t)n[c];
    }
    v[11].is_null = *x % 4 != 0;
    v[12].is_null = *x % 5 == 0;
    v[14].is_null = *x % 7 != 0;
    v[15].v.b = *x % 3 == 0;
    v[16].v.i64 = 1700000000000000LL + ent * 1000;
    v[17].v.i64 = 1700000000000000LL + ent * 1000 + (int64_t)(*x % 100000);
    v[18].is_null = *x % 50 != 0;
    v[18].v.i64 = 1710000000000000LL + r;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lh-pq-bench <dir> [rows] [codec]\n");
        return 2;
    }
    long rows = argc > 2 ? atol(argv[2]) : 1000000;
    lh_pq_writer_opts o;
    lh_pq_writer_opts_init(&o);
    if (argc > 3)
        for (int c = 0; c <= 7; c++)
            if (lh_pq_codec_name((lh_pq_codec)c) && !strcmp(argv[3], lh_pq_codec_name((lh_pq_codec)c)))
                o.codec = (lh_pq_codec)c;
    static const char *names[NC] = {"shard", "id", "entity_id", "dataset", "bucket", "origin",
                                    "source", "schema", "prop", "prop_type", "value",
                                    "original_value", "lang", "fragment", "role", "external",
                                    "first_seen", "last_seen", "deleted_at"};
    lh_pq_col_spec cols[NC];
    memset(cols, 0, sizeof cols);
    for (int c = 0; c < NC; c++) {
        cols[c].name = names[c];
        cols[c].kind = c < 15 ? LH_PQK_STRING : c == 15 ? LH_PQK_BOOL : LH_PQK_TIMESTAMP_US;
        cols[c].dictionary = c != 1 && c != 10; /* ids and values are high-cardinality */
        cols[c].statistics = true;
        cols[c].required = c == 15 || c == 16 || c == 17;
    }
    cols[2].bloom_filter = true;
    /* Generation alone, to subtract from the write time. */
    double g0 = now();
    {
        char buf[NC][96];
        lh_pq_value v[NC];
        uint64_t x = 88172645463325252ull;
        for (long r = 0; r < rows; r++) gen_row(r, &x, buf, v);
    }
    double gen_s = now() - g0;
    lh_error err;
    lh_storage *st;
    if (lh_storage_open(argv[1], &st, &err)) return die("open", &err);
    lh_storage_writer *sink;
    if (lh_storage_writer_open(st, "bench.parquet", &sink, &err)) return die("open", &err);
    lh_pq_writer *w;
    double t0 = now();
    if (lh_pq_writer_new(sink, cols, NC, &o, &w, &err)) return die("writer", &err);
    char buf[NC][96];
    lh_pq_value v[NC];
    uint64_t x = 88172645463325252ull;
    for (long r = 0; r < rows; r++) {
        gen_row(r, &x, buf, v);
        if (lh_pq_writer_append(w, v, &err)) return die("append", &err);
    }
    if (lh_pq_writer_finish(w, &err)) return die("finish", &err);
    if (lh_storage_writer_commit(sink, &err)) return die("commit", &err);
    double t1 = now();
    uint64_t bytes = lh_storage_writer_offset(sink);
    lh_storage_writer_free(sink);
    lh_pq_writer_free(w);

    double t2 = now();
    lh_pq_reader *rd;
    if (lh_pq_reader_open(st, "bench.parquet", &rd, &err)) return die("reader", &err);
    lh_pq_column col;
    lh_pq_column_init(&col);
    size_t levels = 0;
    for (size_t g = 0; g < lh_pq_reader_num_row_groups(rd); g++)
        for (size_t c = 0; c < lh_pq_reader_num_leaves(rd); c++) {
            if (lh_pq_reader_read_column(rd, g, c, &col, &err)) return die("read", &err);
            levels += col.num_levels;
        }
    double t3 = now();
    lh_pq_column_free(&col);
    lh_pq_reader_free(rd);
    lh_storage_free(st);
    if (levels != (size_t)rows * NC) {
        fprintf(stderr, "lh-pq-bench: read %zu levels, expected %ld\n", levels, rows * NC);
        return 1;
    }
    printf("{\"rows\": %ld, \"bytes\": %llu, \"codec\": \"%s\", \"write_cpu_s\": %.3f, \"read_cpu_s\": %.3f, \"gen_cpu_s\": %.3f}\n",
           rows, (unsigned long long)bytes, lh_pq_codec_name(o.codec), t1 - t0 - gen_s, t3 - t2, gen_s);
    return 0;
}
