#include "lh/core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"

size_t lh_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n == 0) {
        *cp = 0xFFFD;
        return 1;
    }
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; }
    else goto bad;
    if (n < len) goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) goto bad;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0xFFFD;
    return 1;
}

/* Offset of the first ill-formed byte of s[i..n), or n. */
static size_t next_ill_formed(const char *s, size_t n, size_t i)
{
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t used = lh_utf8_decode(s + i, n - i, &cp);
        if (cp == 0xFFFD && used == 1) return i;
        i += used;
    }
    return n;
}

bool lh_utf8_valid(const char *s, size_t n)
{
    return next_ill_formed(s, n, 0) == n;
}

/* Bytes of s[0..n) that start a well-formed sequence but end too early or
 * go wrong: the lead and the continuation bytes its ranges allow (Unicode's
 * "maximal subpart"); 1 for a byte that cannot lead. */
static size_t ill_formed_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
    size_t k = 1;
    for (; k < len && k < n; k++) {
        unsigned char lo = 0x80, hi = 0xBF;
        if (k == 1) {
            if (c == 0xE0) lo = 0xA0;
            else if (c == 0xED) hi = 0x9F;
            else if (c == 0xF0) lo = 0x90;
            else if (c == 0xF4) hi = 0x8F;
        }
        if (s[k] < lo || s[k] > hi) break;
    }
    return k;
}

void lh_utf8_append_replaced(lh_buf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i; (i = next_ill_formed(s, n, run)) < n;) {
        lh_buf_append(b, s + run, i - run);
        lh_buf_append(b, "\xEF\xBF\xBD", 3);
        run = i + ill_formed_len((const unsigned char *)s + i, n - i);
    }
    lh_buf_append(b, s + run, n - run);
}

size_t lh_utf8_len(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) count++;
    return count;
}

size_t lh_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int lh_hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void lh_percent_unquote(lh_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = lh_hex_value(s[i + 1])) >= 0 &&
            (lo = lh_hex_value(s[i + 2])) >= 0) {
            lh_buf_append_byte(b, (uint8_t)(hi * 16 + lo));
            i += 2;
        } else {
            lh_buf_append_byte(b, (uint8_t)s[i]);
        }
    }
}

bool lh_str_startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool lh_str_endswith(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int lh_bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

void lh_strlist_init(lh_strlist *l)
{
    l->items = NULL;
    l->len = 0;
    l->cap = 0;
}

void lh_strlist_free(lh_strlist *l)
{
    for (size_t i = 0; i < l->len; i++) free(l->items[i]);
    free(l->items);
    lh_strlist_init(l);
}

void lh_strlist_push_owned(lh_strlist *l, char *s)
{
    l->items = lh_grow(l->items, &l->cap, l->len + 1, sizeof *l->items);
    l->items[l->len++] = s;
}

void lh_strlist_push(lh_strlist *l, const char *s)
{
    lh_strlist_push_owned(l, lh_strdup(s));
}

int lh_str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void lh_strlist_sort(lh_strlist *l)
{
    if (l->len > 1) qsort(l->items, l->len, sizeof *l->items, lh_str_ptr_cmp);
}

bool lh_strlist_contains(const lh_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i], s) == 0) return true;
    return false;
}

/* The refusal of a name: the name shown as a JSON string (escaped, so a
 * control character never reaches the terminal raw), then why. */
static lh_status refuse(lh_error *err, const char *field, const char *value, size_t n,
                        const char *why)
{
    lh_buf shown = LH_BUF_INIT;
    lh_buf_append_json_str(&shown, value, n);
    lh_status rc = lh_error_set(err, LH_ERR_INVALID, "%s %s %s", field, shown.data, why);
    lh_buf_free(&shown);
    return rc;
}

lh_status lh_name_check(const char *value, const char *field, bool no_quotes, lh_error *err)
{
    if (!value || !*value) return lh_error_set(err, LH_ERR_INVALID, "%s must not be empty", field);
    size_t n = strlen(value);
    if (!lh_utf8_valid(value, n))
        return lh_error_set(err, LH_ERR_INVALID, "%s is not valid UTF-8", field);
    if (lh_utf8_len(value, n) > LH_NAME_MAX)
        return lh_error_set(err, LH_ERR_INVALID, "%s too long (%zu > %d characters)", field,
                            lh_utf8_len(value, n), LH_NAME_MAX);
    if (strcmp(value, ".") == 0 || strstr(value, ".."))
        return refuse(err, field, value, n, "contains a path traversal sequence");
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\') {
            char why[128];
            snprintf(why, sizeof why,
                     "contains a forbidden character (0x%02x at byte %zu: path separator or "
                     "control character)",
                     *p, (size_t)(p - (const unsigned char *)value));
            return refuse(err, field, value, n, why);
        }
        if (no_quotes && (*p == '\'' || *p == '"'))
            return refuse(err, field, value, n, "contains a quote character");
    }
    return LH_OK;
}

void lh_strlist_uniq(lh_strlist *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->len; i++) {
        if (n && strcmp(l->items[n - 1], l->items[i]) == 0) {
            free(l->items[i]);
            continue;
        }
        l->items[n++] = l->items[i];
    }
    l->len = n;
}
