#include "lh/core/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void lh_out_of_memory_for(const char *what)
{
    fprintf(stderr, "ftm-lakehouse: out of memory allocating %s\n", what);
    abort();
}

_Noreturn void lh_out_of_memory(size_t n)
{
    char what[32];
    snprintf(what, sizeof what, "%zu bytes", n);
    lh_out_of_memory_for(what);
}

void *lh_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) lh_out_of_memory(n);
    return p;
}

void *lh_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) lh_out_of_memory(count * size);
    return p;
}

void *lh_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) lh_out_of_memory(n);
    return q;
}

void *lh_grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2) lh_out_of_memory(SIZE_MAX);
        c *= 2;
    }
    if (elem && c > SIZE_MAX / elem) lh_out_of_memory(SIZE_MAX);
    p = lh_realloc(p, c * elem);
    *cap = c;
    return p;
}

char *lh_strdup(const char *s)
{
    return lh_strndup(s, strlen(s));
}

char *lh_strndup(const char *s, size_t n)
{
    char *d = lh_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *lh_asprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    char *s = lh_malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}
