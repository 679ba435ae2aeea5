/* Allocation policy: running out of memory is fatal. These wrappers print one
 * line to stderr and abort() instead of returning NULL, so callers never carry
 * half-built state on an allocation failure. Everything else reports errors
 * through lh_error. */
#ifndef LH_CORE_MEM_H
#define LH_CORE_MEM_H

#include <stddef.h>

void *lh_malloc(size_t n);
void *lh_calloc(size_t count, size_t size);
void *lh_realloc(void *p, size_t n);
/* Growable array helper: returns a buffer of at least need elements of size elem,
 * growing *cap geometrically. */
void *lh_grow(void *p, size_t *cap, size_t need, size_t elem);
char *lh_strdup(const char *s);
char *lh_strndup(const char *s, size_t n);
/* printf into a freshly allocated string owned by the caller. */
char *lh_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The policy's end, also for what a library allocates: the one line (what
 * failed: n bytes, or the name of what a library could not allocate), then
 * abort(). */
_Noreturn void lh_out_of_memory(size_t n);
_Noreturn void lh_out_of_memory_for(const char *what);

#endif
