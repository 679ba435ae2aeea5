/* libFuzzer target: replay a crafted Delta log. The input is split at lines
 * "===" into commits 0, 1, ... (at most 8) written to a scratch table, then
 * loaded; every live file and tombstone is walked. Paths must never escape
 * the table (the loader refuses them), so nothing outside is touched.
 * Built with clang only (cmake/reliab_fuzz.cmake); ctest fuzz_delta_log. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lh/format/delta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[256];
static lh_storage *st;

static void cleanup(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/t/_delta_log", root);
    rmdir(path);
    snprintf(path, sizeof path, "%s/t", root);
    rmdir(path);
    rmdir(root);
    lh_storage_free(st);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/lh-fuzz-delta-%ld", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    char path[512];
    mkdir(root, 0777);
    snprintf(path, sizeof path, "%s/t", root);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/t/_delta_log", root);
    mkdir(path, 0777);
    lh_error err;
    if (lh_storage_open(root, &st, &err) != LH_OK) abort();
    atexit(cleanup);
}

static void write_commit(int v, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/t/_delta_log/%020d.json", root, v);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fwrite(p, 1, n, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!st) setup();
    int commits = 0;
    const uint8_t *p = data, *end = data + size;
    while (commits < 8) {
        const uint8_t *sep = NULL;
        for (const uint8_t *q = p; q + 4 <= end; q++)
            if (memcmp(q, "\n===", 4) == 0) {
                sep = q;
                break;
            }
        write_commit(commits++, p, (size_t)((sep ? sep + 1 : end) - p));
        if (!sep) break;
        p = sep + 4;
        if (p < end && *p == '\n') p++;
    }
    lh_delta_snapshot *s = NULL;
    lh_error err;
    if (lh_delta_snapshot_load(st, "t", LH_DELTA_LATEST, &s, &err) == LH_OK) {
        (void)lh_delta_snapshot_metadata(s);
        (void)lh_delta_snapshot_commit_info(s);
        (void)lh_delta_snapshot_config(s, "delta.checkpointInterval", "100");
        for (size_t i = 0; i < lh_delta_snapshot_num_files(s); i++) {
            const lh_delta_file *f = lh_delta_snapshot_file(s, i);
            lh_error kerr;
            /* a live path must be a safe key inside the table */
            if (lh_storage_check_key(f->path, &kerr) != LH_OK ||
                strncmp(f->path, "_delta_log/", 11) == 0)
                abort();
            (void)lh_delta_snapshot_find(s, f->path);
        }
        for (size_t i = 0; i < lh_delta_snapshot_num_tombstones(s); i++)
            (void)lh_delta_snapshot_tombstone(s, i);
        lh_delta_snapshot_free(s);
    }
    /* next input starts from an empty log */
    for (int v = 0; v < commits; v++) {
        char path[512];
        snprintf(path, sizeof path, "%s/t/_delta_log/%020d.json", root, v);
        unlink(path);
    }
    return 0;
}
