/* rigour's pick_name (names/pick.rs), which followthemoney's caption runs
 * on an entity's names: the same ranking, over utf8proc's case folding
 * and character classes. Scripts are told by code point ranges: only
 * Latin, Cyrillic and Greek matter to the ranking. */
#include "lh/model/names.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "lh/core/mem.h"

/* rigour's cap on the code points a Levenshtein distance looks at */
#define MAX_NAME_LENGTH 384

typedef struct range {
    int32_t lo, hi;
} range;

static const range LATIN[] = {
    {0x41, 0x5A},     {0x61, 0x7A},     {0xAA, 0xAA},     {0xBA, 0xBA},     {0xC0, 0xD6},
    {0xD8, 0xF6},     {0xF8, 0x2B8},    {0x2E0, 0x2E4},   {0x1D00, 0x1D25}, {0x1D2C, 0x1D5C},
    {0x1D62, 0x1D65}, {0x1D6B, 0x1D77}, {0x1D79, 0x1DBE}, {0x1E00, 0x1EFF}, {0x2071, 0x2071},
    {0x207F, 0x207F}, {0x2090, 0x209C}, {0x212A, 0x212B}, {0x2132, 0x2132}, {0x214E, 0x214E},
    {0x2160, 0x2188}, {0x2C60, 0x2C7F}, {0xA722, 0xA787}, {0xA78B, 0xA7FF}, {0xAB30, 0xAB5A},
    {0xAB5C, 0xAB64}, {0xFB00, 0xFB06}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A},
};
static const range CYRILLIC_GREEK[] = {
    /* Cyrillic */
    {0x400, 0x52F},   {0x1C80, 0x1C88}, {0x1D2B, 0x1D2B}, {0x1D78, 0x1D78}, {0x2DE0, 0x2DFF},
    {0xA640, 0xA69F}, {0xFE2E, 0xFE2F},
    /* Greek (without the Coptic letters of its block) */
    {0x370, 0x373},   {0x375, 0x377},   {0x37A, 0x37D},   {0x37F, 0x37F},   {0x384, 0x384},
    {0x386, 0x386},   {0x388, 0x3E1},   {0x3F0, 0x3FF},   {0x1D26, 0x1D2A}, {0x1D5D, 0x1D61},
    {0x1D66, 0x1D6A}, {0x1DBF, 0x1DBF}, {0x1F00, 0x1FFE}, {0x2126, 0x2126}, {0xAB65, 0xAB65},
};

static bool in_ranges(const range *r, size_t n, int32_t c)
{
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].lo && c <= r[i].hi) return true;
    return false;
}

/* Rust's char::is_alphabetic, as letters and letter numbers. */
static bool is_alpha(int32_t c)
{
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL:
        return true;
    default:
        return false;
    }
}

static bool is_upper(int32_t c)
{
    return utf8proc_category(c) == UTF8PROC_CATEGORY_LU;
}

static bool is_space(int32_t c)
{
    return (c >= 0x9 && c <= 0xD) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* The code points of s (invalid bytes as U+FFFD, one each). */
static int32_t *decode(const char *s, size_t n, size_t *len)
{
    int32_t *cps = lh_malloc((n ? n : 1) * sizeof *cps);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t got = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                                (utf8proc_ssize_t)(n - i), &c);
        if (got <= 0) {
            c = 0xFFFD;
            got = 1;
        }
        cps[k++] = c;
        i += (size_t)got;
    }
    *len = k;
    return cps;
}

/* Latin letters count 1, Cyrillic and Greek 0.3, others 0, per letter. */
static double latin_share(const int32_t *cps, size_t n)
{
    double latin = 0;
    size_t alpha = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_alpha(cps[i])) continue;
        alpha++;
        if (in_ranges(LATIN, sizeof LATIN / sizeof *LATIN, cps[i])) latin += 1.0;
        else if (in_ranges(CYRILLIC_GREEK, sizeof CYRILLIC_GREEK / sizeof *CYRILLIC_GREEK, cps[i]))
            latin += 0.3;
    }
    return alpha ? latin / (double)alpha : 0.0;
}

/* Per character: 1, plus 2 for a word that does not start upper case,
 * plus 1 for an upper-case letter inside a word; lower is better. */
static double case_errors(const int32_t *cps, size_t n)
{
    double errors = 0;
    bool new_word = true;
    for (size_t i = 0; i < n; i++) {
        errors += 1;
        if (!is_alpha(cps[i])) {
            new_word = true;
            continue;
        }
        if (new_word) {
            if (!is_upper(cps[i])) errors += 2;
            new_word = false;
        } else if (is_upper(cps[i])) {
            errors += 1;
        }
    }
    return n ? errors / (double)n : 0.0;
}

static size_t levenshtein(const int32_t *a, size_t an, const int32_t *b, size_t bn, size_t *row)
{
    for (size_t j = 0; j <= bn; j++) row[j] = j;
    for (size_t i = 1; i <= an; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[bn];
}

typedef struct name {
    const char *text;
    int32_t *cps;
    size_t len;
    double latin;
} name;

typedef struct form {
    char *key; /* case-folded, trimmed */
    int32_t *cps;
    size_t len; /* at most MAX_NAME_LENGTH */
    double weight, score;
    size_t *names; /* indices of its distinct spellings */
    size_t num_names;
} form;

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Form a before b: the higher score, then the first seen (a stable sort). */
static int rank_cmp(const void *a, const void *b)
{
    const form *x = *(const form *const *)a, *y = *(const form *const *)b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Among a form's spellings: the most Latin, fewest case errors, shortest,
 * byte-wise first. */
static const name *best_spelling(const name *names, const form *f)
{
    const name *best = NULL;
    double best_errors = 0;
    for (size_t k = 0; k < f->num_names; k++) {
        const name *c = &names[f->names[k]];
        double errors = case_errors(c->cps, c->len);
        if (best) {
            if (c->latin != best->latin) {
                if (c->latin < best->latin) continue;
            } else if (errors != best_errors) {
                if (errors > best_errors) continue;
            } else if (c->len != best->len) {
                if (c->len > best->len) continue;
            } else if (strcmp(c->text, best->text) >= 0) {
                continue;
            }
        }
        best = c;
        best_errors = errors;
    }
    return best;
}

/* The case-folded form of a name, blanks around it trimmed. */
static char *fold(const name *nm)
{
    size_t lo = 0, hi = nm->len;
    while (lo < hi && is_space(nm->cps[lo])) lo++;
    while (hi > lo && is_space(nm->cps[hi - 1])) hi--;
    if (lo == hi) return NULL;
    utf8proc_uint8_t *utf = lh_malloc((hi - lo) * 4 + 1);
    size_t n = 0;
    for (size_t i = lo; i < hi; i++) n += (size_t)utf8proc_encode_char(nm->cps[i], utf + n);
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t r = utf8proc_map(utf, (utf8proc_ssize_t)n, &out, UTF8PROC_CASEFOLD);
    if (r < 0) { /* not valid Unicode after all: the bytes themselves */
        utf[n] = 0;
        return (char *)utf;
    }
    free(utf);
    return (char *)out;
}

const char *lh_pick_name(const char *const *in, size_t n)
{
    if (!n) return NULL;
    const char **sorted = lh_malloc(n * sizeof *sorted);
    memcpy(sorted, in, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, str_cmp);
    name *names = lh_calloc(n, sizeof *names);
    form *forms = lh_calloc(n, sizeof *forms);
    size_t nforms = 0, latin_names = 0;
    const char *only_latin = NULL;
    for (size_t i = 0; i < n; i++) {
        name *nm = &names[i];
        nm->text = sorted[i];
        nm->cps = decode(nm->text, strlen(nm->text), &nm->len);
        nm->latin = latin_share(nm->cps, nm->len);
        char *key = fold(nm);
        if (!key) continue;
        if (nm->latin > 0.85) {
            latin_names++;
            only_latin = nm->text;
        }
        form *f = NULL;
        for (size_t k = 0; k < nforms && !f; k++)
            if (strcmp(forms[k].key, key) == 0) f = &forms[k];
        if (f) {
            free(key);
        } else {
            f = &forms[nforms++];
            f->key = key;
            f->cps = decode(key, strlen(key), &f->len);
            if (f->len > MAX_NAME_LENGTH) f->len = MAX_NAME_LENGTH;
            f->names = lh_malloc(n * sizeof *f->names);
        }
        f->weight += 1.0 + nm->latin;
        bool seen = false;
        for (size_t k = 0; k < f->num_names && !seen; k++)
            seen = strcmp(names[f->names[k]].text, nm->text) == 0;
        if (!seen) f->names[f->num_names++] = i;
    }
    const char *picked = NULL;
    if (latin_names == 1) {
        picked = only_latin;
    } else if (nforms) {
        /* each pair adds its similarity, weighted, to both forms' scores */
        size_t *row = lh_malloc((MAX_NAME_LENGTH + 1) * sizeof *row);
        for (size_t i = 0; i < nforms; i++)
            for (size_t j = i + 1; j < nforms; j++) {
                form *a = &forms[i], *b = &forms[j];
                size_t d = levenshtein(a->cps, a->len, b->cps, b->len, row);
                size_t base = a->len > b->len ? a->len : b->len;
                double sim = 1.0 - (double)d / (double)(base ? base : 1);
                a->score += sim * a->weight;
                b->score += sim * b->weight;
            }
        free(row);
        form **ranked = lh_malloc(nforms * sizeof *ranked);
        for (size_t i = 0; i < nforms; i++) ranked[i] = &forms[i];
        qsort(ranked, nforms, sizeof *ranked, rank_cmp);
        picked = best_spelling(names, ranked[0])->text;
        free(ranked);
    }
    for (size_t i = 0; i < nforms; i++) {
        free(forms[i].key);
        free(forms[i].cps);
        free(forms[i].names);
    }
    for (size_t i = 0; i < n; i++) free(names[i].cps);
    free(forms);
    free(names);
    free(sorted);
    return picked; /* one of the caller's pointers */
}
