/* TagStore: one small JSON-string object per tag (see tags.h). */
#include "lh/storage/tags.h"

#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"

struct lh_tags {
    lh_storage *st;
    char *prefix; /* "{dataset}/tags/{tenant}/" or "tags/{tenant}/" */
};

static lh_status check_segment(const char *what, const char *s, lh_error *err)
{
    if (!s || !*s || strchr(s, '/'))
        return lh_error_set(err, LH_ERR_INVALID, "tags: invalid %s \"%s\"", what, s ? s : "");
    return lh_storage_check_key(s, err);
}

lh_status lh_tags_open(lh_storage *st, const char *dataset, const char *tenant, lh_tags **out,
                       lh_error *err)
{
    *out = NULL;
    if (!tenant) tenant = LH_TAGS_TENANT;
    LH_TRY(check_segment("tenant", tenant, err));
    if (dataset && *dataset) LH_TRY(check_segment("dataset", dataset, err));
    lh_tags *t = lh_calloc(1, sizeof *t);
    t->st = st;
    t->prefix = dataset && *dataset ? lh_asprintf("%s/tags/%s/", dataset, tenant)
                                    : lh_asprintf("tags/%s/", tenant);
    *out = t;
    return LH_OK;
}

void lh_tags_free(lh_tags *t)
{
    if (!t) return;
    free(t->prefix);
    free(t);
}

char *lh_tags_key(const lh_tags *t, const char *key)
{
    return lh_asprintf("%s%s", t->prefix, key ? key : "");
}

static lh_status full_key(const lh_tags *t, const char *key, char **out, lh_error *err)
{
    *out = NULL;
    if (!key || !*key) return lh_error_set(err, LH_ERR_INVALID, "tags: empty key");
    char *k = lh_tags_key(t, key);
    lh_status rc = lh_storage_check_key(k, err);
    if (rc != LH_OK) {
        free(k);
        return lh_error_prefix(err, "tag"); /* the key may hold control characters: not echoed */
    }
    *out = k;
    return LH_OK;
}

lh_status lh_tags_set(lh_tags *t, const char *key, int64_t ts, int64_t *stored, lh_error *err)
{
    char *k;
    LH_TRY(full_key(t, key, &k, err));
    if (ts == LH_TAGS_NOW) ts = lh_now_us();
    char iso[LH_ISO_MAX];
    lh_time_format_iso_py(ts, 1, iso);
    lh_buf b = LH_BUF_INIT;
    lh_buf_append_json_str(&b, iso, strlen(iso));
    lh_status rc = lh_storage_write(t->st, k, b.data, b.len, err);
    if (rc != LH_OK) lh_error_prefix(err, "setting tag %s", k);
    else if (stored) *stored = ts;
    lh_buf_free(&b);
    free(k);
    return rc;
}

lh_status lh_tags_read(lh_tags *t, const char *key, lh_buf *value, bool *found, lh_error *err)
{
    *found = false;
    char *k;
    LH_TRY(full_key(t, key, &k, err));
    lh_status rc = lh_storage_read(t->st, k, value, err);
    if (rc == LH_OK) *found = true;
    else if (rc == LH_ERR_NOT_FOUND) rc = LH_OK;
    else lh_error_prefix(err, "reading tag %s", k);
    free(k);
    return rc;
}

lh_status lh_tags_parse(const char *data, size_t len, int64_t *ts, lh_error *err)
{
    /* A JSON string of ISO text: no escapes can occur in it. */
    size_t n = len;
    while (n && (data[n - 1] == '\n' || data[n - 1] == ' ' || data[n - 1] == '\r')) n--;
    if (n < 2 || data[0] != '"' || data[n - 1] != '"' || memchr(data + 1, '\\', n - 2))
        return lh_error_set(err, LH_ERR_CORRUPT, "value is not a JSON timestamp string");
    if (lh_time_parse_iso(data + 1, n - 2, ts, err) != LH_OK)
        return lh_error_set(err, LH_ERR_CORRUPT, "bad timestamp %.*s", (int)n, data);
    return LH_OK;
}

lh_status lh_tags_get(lh_tags *t, const char *key, int64_t *ts, bool *found, lh_error *err)
{
    *found = false;
    lh_buf b = LH_BUF_INIT;
    bool there = false;
    lh_status rc = lh_tags_read(t, key, &b, &there, err);
    if (rc == LH_OK && there) {
        rc = lh_tags_parse(b.data, b.len, ts, err);
        if (rc == LH_OK) *found = true;
        else lh_error_prefix(err, "tag %s%s", t->prefix, key);
    }
    lh_buf_free(&b);
    return rc;
}

lh_status lh_tags_is_latest(lh_tags *t, const char *key, const char *const *deps, size_t ndeps,
                            bool *latest, lh_error *err)
{
    *latest = false;
    int64_t mine, other;
    bool found;
    LH_TRY(lh_tags_get(t, key, &mine, &found, err));
    if (!found) return LH_OK;
    size_t set = 0;
    bool newer = true;
    for (size_t i = 0; i < ndeps; i++) {
        LH_TRY(lh_tags_get(t, deps[i], &other, &found, err));
        if (!found) continue;
        set++;
        if (!(mine > other)) newer = false;
    }
    *latest = set > 0 && newer;
    return LH_OK;
}

lh_status lh_tags_delete(lh_tags *t, const char *key, lh_error *err)
{
    char *k;
    LH_TRY(full_key(t, key, &k, err));
    lh_status rc = lh_storage_delete(t->st, k, err);
    free(k);
    return rc;
}

lh_status lh_tags_list(lh_tags *t, const char *prefix, lh_strlist *out, lh_error *err)
{
    size_t skip = strlen(t->prefix);
    char *p = lh_asprintf("%.*s%s%s", (int)(skip - 1), t->prefix, prefix && *prefix ? "/" : "",
                          prefix ? prefix : "");
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_storage_list(t->st, p, LH_LIST_RECURSIVE, &keys, err);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++)
        if (strlen(keys.items[i]) > skip) lh_strlist_push(out, keys.items[i] + skip);
    lh_strlist_free(&keys);
    free(p);
    return rc;
}
