/* UTF-8 aware string helpers. */
#ifndef LH_CORE_STR_H
#define LH_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/error.h"

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool lh_utf8_valid(const char *s, size_t n);
/* Append s[0..n) to b as Python's bytes.decode("utf-8", "replace") reads
 * it: each maximal ill-formed subsequence becomes one U+FFFD. */
struct lh_buf;
void lh_utf8_append_replaced(struct lh_buf *b, const char *s, size_t n);
/* Number of code points in well-formed UTF-8 s[0..n). */
size_t lh_utf8_len(const char *s, size_t n);
/* Decode one code point at s (n bytes available); returns bytes consumed
 * (>= 1) and stores the code point, or U+FFFD with 1 for a bad sequence. */
size_t lh_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Encode cp into out (>= 4 bytes); returns bytes written. */
size_t lh_utf8_encode(uint32_t cp, char *out);

/* The value of hex digit c, -1 when c is none. */
int lh_hex_value(char c);
/* Append s[0..n) to b with each %XX decoded, as Python's unquote decodes
 * bytes: an escape not followed by two hex digits stays as it is, `+`
 * too. */
void lh_percent_unquote(struct lh_buf *b, const char *s, size_t n);

bool lh_str_startswith(const char *s, const char *prefix);
bool lh_str_endswith(const char *s, const char *suffix);
/* Byte-wise comparison of (a, an) and (b, bn), as parquet orders strings. */
int lh_bytes_cmp(const char *a, size_t an, const char *b, size_t bn);

/* A caller-supplied path component (dataset, origin, tag tenant) as the
 * reference's safe_name checks it: non-empty, valid UTF-8, at most
 * LH_NAME_MAX characters, no "." or "..", no '/', '\\' or control
 * characters; with no_quotes also no quotes (the reference interpolates
 * origins into SQL). field names the value in the LH_ERR_INVALID message. */
#define LH_NAME_MAX 255
lh_status lh_name_check(const char *value, const char *field, bool no_quotes, lh_error *err);

/* A growable list of owned C strings. */
typedef struct lh_strlist {
    char **items;
    size_t len;
    size_t cap;
} lh_strlist;

void lh_strlist_init(lh_strlist *l);
void lh_strlist_free(lh_strlist *l);
void lh_strlist_push(lh_strlist *l, const char *s);      /* copies s */
void lh_strlist_push_owned(lh_strlist *l, char *s);      /* takes s */
void lh_strlist_sort(lh_strlist *l);                     /* byte-wise */
/* strcmp of two `const char *` elements: qsort and bsearch over string arrays. */
int lh_str_ptr_cmp(const void *a, const void *b);
void lh_strlist_uniq(lh_strlist *l);                     /* sorted: drop repeats */
bool lh_strlist_contains(const lh_strlist *l, const char *s);

#endif
