/* JSON parsing with errors that name what is wrong (json.h). */
#include "lh/core/json.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lh/core/buf.h"

/* The path (a.b[2]) of the first string under v that holds a NUL, into path. */
static bool find_nul(json_t *v, lh_buf *path)
{
    size_t mark = path->len;
    if (json_is_string(v)) return strlen(json_string_value(v)) != json_string_length(v);
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child) {
            lh_buf_printf(path, "%s%s", mark ? "." : "", key);
            if (find_nul(child, path)) return true;
            path->len = mark;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            lh_buf_printf(path, "[%zu]", i);
            if (find_nul(child, path)) return true;
            path->len = mark;
        }
    }
    return false;
}

json_t *lh_json_parse(const char *text, size_t n, size_t flags, lh_error *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(text, n, flags & ~(size_t)JSON_ALLOW_NUL, &jerr);
    if (v) return v;
    if (!strstr(jerr.text, "JSON_ALLOW_NUL")) {
        lh_error_set(err, LH_ERR_INVALID, "bad JSON at column %d: %s", jerr.column, jerr.text);
        return NULL;
    }
    /* read again, NULs let in, only to find the field to name */
    json_t *all = json_loadb(text, n, flags | JSON_ALLOW_NUL, NULL);
    lh_buf path = LH_BUF_INIT;
    if (all && find_nul(all, &path) && path.len)
        lh_error_set(err, LH_ERR_INVALID,
                     "%s: a NUL character (\\u0000) in a string is not allowed (column %d)",
                     path.data, jerr.column);
    else
        lh_error_set(err, LH_ERR_INVALID,
                     "bad JSON at column %d: a NUL character (\\u0000) in a string is not "
                     "allowed",
                     jerr.column);
    json_decref(all);
    lh_buf_free(&path);
    return NULL;
}
