#include "lh/core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/core/str.h"

void lh_buf_init(lh_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void lh_buf_free(lh_buf *b)
{
    free(b->data);
    lh_buf_init(b);
}

void lh_buf_reset(lh_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void lh_buf_reserve(lh_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1; /* room for the terminating NUL */
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    bool fresh = !b->data;
    b->data = lh_realloc(b->data, cap);
    b->cap = cap;
    if (fresh) b->data[b->len] = '\0'; /* a C string from the start, as promised */
}

void lh_buf_append(lh_buf *b, const void *data, size_t n)
{
    lh_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void lh_buf_append_str(lh_buf *b, const char *s)
{
    lh_buf_append(b, s, strlen(s));
}

void lh_buf_append_byte(lh_buf *b, uint8_t c)
{
    lh_buf_reserve(b, 1);
    b->data[b->len++] = (char)c;
    b->data[b->len] = '\0';
}

void lh_buf_printf(lh_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        lh_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void lh_buf_append_u32le(lh_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    lh_buf_append(b, x, 4);
}

void lh_buf_append_u64le(lh_buf *b, uint64_t v)
{
    lh_buf_append_u32le(b, (uint32_t)v);
    lh_buf_append_u32le(b, (uint32_t)(v >> 32));
}

/* Copied in runs between quotes. */
void lh_buf_append_csv_quoted(lh_buf *b, const char *s)
{
    size_t n = strlen(s);
    lh_buf_reserve(b, n + 2);
    lh_buf_append_byte(b, '"');
    for (;;) {
        const char *q = memchr(s, '"', n);
        if (!q) break;
        size_t k = (size_t)(q - s) + 1;
        lh_buf_append(b, s, k); /* up to and with the quote ... */
        lh_buf_append_byte(b, '"'); /* ... doubled */
        s += k;
        n -= k;
    }
    lh_buf_append(b, s, n);
    lh_buf_append_byte(b, '"');
}

void lh_buf_append_csv_minimal(lh_buf *b, const char *s)
{
    if (s[strcspn(s, ",\"\r\n")]) lh_buf_append_csv_quoted(b, s);
    else lh_buf_append_str(b, s);
}

void lh_buf_append_json_str(lh_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    lh_buf_reserve(b, n + 2);
    lh_buf_append_byte(b, '"');
    /* s[run..i) needs no escape: copied in one go when something does */
    size_t run = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            uint32_t cp;
            size_t used = lh_utf8_decode(s + i, n - i, &cp);
            if (cp != 0xFFFD || used != 1) { /* valid UTF-8 passes through */
                i += used;
                continue;
            }
        }
        lh_buf_append(b, s + run, i - run);
        switch (c) {
        case '"': lh_buf_append(b, "\\\"", 2); break;
        case '\\': lh_buf_append(b, "\\\\", 2); break;
        case '\n': lh_buf_append(b, "\\n", 2); break;
        case '\r': lh_buf_append(b, "\\r", 2); break;
        case '\t': lh_buf_append(b, "\\t", 2); break;
        case '\b': lh_buf_append(b, "\\b", 2); break;
        case '\f': lh_buf_append(b, "\\f", 2); break;
        default:
            if (c >= 0x80) {
                lh_buf_append(b, "\xEF\xBF\xBD", 3); /* invalid byte: U+FFFD */
            } else {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                lh_buf_append(b, esc, 6);
            }
        }
        run = ++i;
    }
    lh_buf_append(b, s + run, n - run);
    lh_buf_append_byte(b, '"');
}

char *lh_buf_detach(lh_buf *b, size_t *len_out)
{
    if (!b->data) lh_buf_reserve(b, 0);
    char *d = b->data;
    if (len_out) *len_out = b->len;
    lh_buf_init(b);
    return d;
}

/* ---- arena ---- */

struct lh_arena_block {
    lh_arena_block *next;
    size_t size;
    size_t used;
    _Alignas(8) unsigned char data[];
};

void lh_arena_init(lh_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->total = 0;
}

void lh_arena_free(lh_arena *a)
{
    lh_arena_block *blk = a->head;
    while (blk) {
        lh_arena_block *next = blk->next;
        free(blk);
        blk = next;
    }
    a->head = NULL;
    a->total = 0;
}

void lh_arena_reset(lh_arena *a)
{
    if (!a->head) return;
    lh_arena_block *keep = a->head;
    while (keep->next) { /* the oldest block is the last one; keep it */
        lh_arena_block *next = keep->next;
        free(keep);
        keep = next;
    }
    keep->used = 0;
    a->head = keep;
    a->total = 0;
}

void *lh_arena_alloc(lh_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    lh_arena_block *blk = a->head;
    if (!blk || blk->size - blk->used < n) {
        size_t size = n > a->block_size ? n : a->block_size;
        blk = lh_malloc(sizeof *blk + size);
        blk->size = size;
        blk->used = 0;
        blk->next = a->head;
        a->head = blk;
    }
    void *p = blk->data + blk->used;
    blk->used += n;
    a->total += n;
    return p;
}

char *lh_arena_strndup(lh_arena *a, const char *s, size_t n)
{
    char *d = lh_arena_alloc(a, n + 1);
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *lh_arena_strdup(lh_arena *a, const char *s)
{
    return lh_arena_strndup(a, s, strlen(s));
}
