/* Growable byte buffer. The buffer owns data; lh_buf_free releases it.
 * data is always NUL-terminated (not counted in len) so it can be used as a
 * C string when it holds text. */
#ifndef LH_CORE_BUF_H
#define LH_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct lh_buf {
    char *data;
    size_t len;
    size_t cap;
} lh_buf;

#define LH_BUF_INIT {NULL, 0, 0}

void lh_buf_init(lh_buf *b);
void lh_buf_free(lh_buf *b);
void lh_buf_reset(lh_buf *b);            /* len = 0, keeps capacity */
void lh_buf_reserve(lh_buf *b, size_t extra);
void lh_buf_append(lh_buf *b, const void *data, size_t n);
void lh_buf_append_str(lh_buf *b, const char *s);
void lh_buf_append_byte(lh_buf *b, uint8_t c);
void lh_buf_printf(lh_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lh_buf_append_u32le(lh_buf *b, uint32_t v);
void lh_buf_append_u64le(lh_buf *b, uint64_t v);
/* Append s as a JSON string literal (quotes included), escaping per RFC 8259;
 * invalid UTF-8 bytes are replaced with U+FFFD. */
void lh_buf_append_json_str(lh_buf *b, const char *s, size_t n);
/* Append s as a CSV field in double quotes, inner quotes doubled. */
void lh_buf_append_csv_quoted(lh_buf *b, const char *s);
/* s as Python's csv writer gives it (QUOTE_MINIMAL): quoted only when it
 * holds a comma, a quote, CR or LF. */
void lh_buf_append_csv_minimal(lh_buf *b, const char *s);
/* Hand the data to the caller (who frees it with free()) and reset b. */
char *lh_buf_detach(lh_buf *b, size_t *len_out);

/* Bump arena for many small allocations freed together (e.g. one batch). */
typedef struct lh_arena_block lh_arena_block;
typedef struct lh_arena {
    lh_arena_block *head;
    size_t block_size;
    size_t total; /* bytes handed out, for memory accounting */
} lh_arena;

void lh_arena_init(lh_arena *a, size_t block_size);
void lh_arena_free(lh_arena *a);
void lh_arena_reset(lh_arena *a); /* frees all but the first block */
void *lh_arena_alloc(lh_arena *a, size_t n); /* 8-byte aligned */
char *lh_arena_strndup(lh_arena *a, const char *s, size_t n);
char *lh_arena_strdup(lh_arena *a, const char *s);

#endif
