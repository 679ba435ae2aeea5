/* lh-tags: drive the TagStore from interop tests.
 *
 *   lh-tags ROOT DATASET TENANT set KEY [ISO]     (prints the stored value)
 *   lh-tags ROOT DATASET TENANT get KEY           (ISO, or exit 4 if unset)
 *   lh-tags ROOT DATASET TENANT latest KEY DEP... (true/false)
 *   lh-tags ROOT DATASET TENANT delete KEY
 *
 * TENANT "-" = the default tenant. */
#include <stdio.h>
#include <string.h>

#include "lh/core/timeutil.h"
#include "lh/storage/tags.h"

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: lh-tags ROOT DATASET TENANT set|get|latest|delete KEY ...\n");
        return 2;
    }
    lh_error err;
    lh_storage *st = NULL;
    lh_tags *t = NULL;
    if (lh_storage_open(argv[1], &st, &err) != LH_OK ||
        lh_tags_open(st, argv[2], strcmp(argv[3], "-") ? argv[3] : NULL, &t, &err) != LH_OK) {
        fprintf(stderr, "lh-tags: %s\n", err.msg);
        lh_storage_free(st);
        return 1;
    }
    const char *cmd = argv[4], *key = argv[5];
    lh_status rc = LH_OK;
    int code = 0;
    char iso[LH_ISO_MAX];
    if (strcmp(cmd, "set") == 0) {
        int64_t ts = LH_TAGS_NOW, stored = 0;
        if (argc > 6) rc = lh_time_parse_iso(argv[6], strlen(argv[6]), &ts, &err);
        if (rc == LH_OK) rc = lh_tags_set(t, key, ts, &stored, &err);
        if (rc == LH_OK) {
            lh_time_format_iso_py(stored, 1, iso);
            puts(iso);
        }
    } else if (strcmp(cmd, "get") == 0) {
        int64_t ts;
        bool found;
        rc = lh_tags_get(t, key, &ts, &found, &err);
        if (rc == LH_OK && found) {
            lh_time_format_iso_py(ts, 1, iso);
            puts(iso);
        } else if (rc == LH_OK) {
            code = 4;
        }
    } else if (strcmp(cmd, "latest") == 0) {
        bool latest;
        rc = lh_tags_is_latest(t, key, (const char *const *)argv + 6, (size_t)(argc - 6), &latest,
                               &err);
        if (rc == LH_OK) puts(latest ? "true" : "false");
    } else if (strcmp(cmd, "delete") == 0) {
        rc = lh_tags_delete(t, key, &err);
    } else {
        fprintf(stderr, "lh-tags: unknown command %s\n", cmd);
        code = 2;
    }
    if (rc != LH_OK) {
        fprintf(stderr, "lh-tags: %s\n", err.msg);
        code = 1;
    }
    lh_tags_free(t);
    lh_storage_free(st);
    return code;
}
