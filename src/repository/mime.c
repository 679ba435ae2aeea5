/* MIME types: Python's mimetypes guess and rigour's normalisation (mime.h). */
#include "lh/repository/mime.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "repository/data/mime_tables.h"

#define LEN(a) (sizeof a / sizeof *a)

typedef struct entry {
    char *ext, *type;
} entry;

static entry *g_types;
static size_t g_len, g_cap;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* add_type: a later entry for the same suffix replaces the earlier */
static void add_type(const char *type, const char *ext)
{
    for (size_t i = 0; i < g_len; i++)
        if (strcmp(g_types[i].ext, ext) == 0) {
            free(g_types[i].type);
            g_types[i].type = lh_strdup(type);
            return;
        }
    if (g_len == g_cap) g_types = lh_grow(g_types, &g_cap, g_len + 1, sizeof *g_types);
    g_types[g_len++] = (entry){lh_strdup(ext), lh_strdup(type)};
}

/* mimetypes' readfp: "type ext ext ...", '#' starts a comment word */
static void read_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return; /* os.path.isfile */
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *words[256];
        size_t n = 0;
        for (char *w = strtok(line, " \t\r\n\v\f"); w && n < LEN(words);
             w = strtok(NULL, " \t\r\n\v\f")) {
            if (w[0] == '#') break;
            words[n++] = w;
        }
        lh_buf ext = LH_BUF_INIT;
        for (size_t i = 1; i < n; i++) {
            lh_buf_reset(&ext);
            lh_buf_printf(&ext, ".%s", words[i]);
            add_type(words[0], ext.data);
        }
        lh_buf_free(&ext);
    }
    fclose(f);
}

static int by_ext(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->ext, ((const entry *)b)->ext);
}

static void load(void)
{
    for (size_t i = 0; i < LEN(MIME_TYPES); i++) add_type(MIME_TYPES[i][1], MIME_TYPES[i][0]);
    for (size_t i = 0; i < LEN(MIME_KNOWN_FILES); i++) read_file(MIME_KNOWN_FILES[i]);
    qsort(g_types, g_len, sizeof *g_types, by_ext);
}

static const char *pair_lookup(const char *const table[][2], size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i][0], key) == 0) return table[i][1];
    return NULL;
}

static size_t count_of(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += s[i] == c;
    return k;
}

/* [start, end) of s without surrounding white space */
static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1])) (*n)--;
}

char *lh_mime_normalize(const char *text)
{
    if (!text) return lh_strdup(LH_MIME_DEFAULT);
    const char *s = text;
    size_t n = strlen(text);
    trim(&s, &n); /* normality's stringify */
    if (!n || count_of(s, n, '/') != 1) return lh_strdup(LH_MIME_DEFAULT);
    /* EmailMessage's content type: before any ';', trimmed, lower case, or
     * text/plain when that is not type/subtype */
    const char *semi = memchr(s, ';', n);
    size_t len = semi ? (size_t)(semi - s) : n;
    trim(&s, &len);
    lh_buf name = LH_BUF_INIT;
    if (count_of(s, len, '/') != 1) {
        lh_buf_append_str(&name, "text/plain");
    } else {
        const char *slash = memchr(s, '/', len);
        const char *fam = s, *sub = slash + 1;
        size_t flen = (size_t)(slash - s), slen = len - flen - 1;
        trim(&fam, &flen);
        trim(&sub, &slen);
        if (!flen || !slen) {
            lh_buf_free(&name);
            return lh_strdup(LH_MIME_DEFAULT);
        }
        for (size_t i = 0; i < flen; i++) lh_buf_append_byte(&name, (char)tolower((unsigned char)fam[i]));
        lh_buf_append_byte(&name, '/');
        for (size_t i = 0; i < slen; i++) lh_buf_append_byte(&name, (char)tolower((unsigned char)sub[i]));
    }
    const char *replaced = pair_lookup(MIME_REPLACE, LEN(MIME_REPLACE), name.data);
    char *out = lh_strdup(replaced ? replaced : name.data);
    lh_buf_free(&name);
    return out;
}

/* posixpath.splitext of s[0..*n): *n shortened to the base, the extension
 * (with its dot) in ext */
static void splitext(const char *s, size_t *n, lh_buf *ext)
{
    lh_buf_reset(ext);
    const char *dot = NULL;
    for (size_t i = *n; i-- > 0;)
        if (s[i] == '.') {
            dot = s + i;
            break;
        }
    if (!dot) return;
    /* a dot that only leads the name is no extension */
    size_t d = (size_t)(dot - s);
    size_t k = 0;
    while (k < d && s[k] == '.') k++;
    if (k == d) return;
    lh_buf_append(ext, dot, *n - d);
    *n = d;
}

static const char *type_of(const char *ext_lower)
{
    entry key = {(char *)ext_lower, NULL};
    entry *hit = bsearch(&key, g_types, g_len, sizeof *g_types, by_ext);
    return hit ? hit->type : NULL;
}

char *lh_mime_guess(const char *name)
{
    pthread_once(&g_once, load);
    /* Path(name).name, then its last two suffixes after an "x" */
    size_t n = strlen(name);
    while (n > 1 && name[n - 1] == '/') n--;
    const char *base = name;
    for (size_t i = 0; i < n; i++)
        if (name[i] == '/') base = name + i + 1;
    size_t blen = n - (size_t)(base - name);
    lh_buf url = LH_BUF_INIT;
    lh_buf_append_byte(&url, 'x');
    if (blen && base[blen - 1] != '.') {
        while (blen && *base == '.') base++, blen--;
        const char *dots[2] = {NULL, NULL};
        for (size_t i = 0; i < blen; i++)
            if (base[i] == '.') {
                dots[0] = dots[1];
                dots[1] = base + i;
            }
        const char *from = dots[0] ? dots[0] : dots[1];
        if (from) lh_buf_append(&url, from, blen - (size_t)(from - base));
    }
    /* urllib's _splittype: "scheme:rest" when no '/' comes before the ':' */
    const char *s = url.data;
    size_t len = url.len;
    const char *colon = memchr(s, ':', len);
    if (colon && !memchr(s, '/', (size_t)(colon - s))) {
        len -= (size_t)(colon + 1 - s);
        s = colon + 1;
    }
    lh_buf ext = LH_BUF_INIT, joined = LH_BUF_INIT;
    lh_buf_append(&joined, s, len);
    size_t blen2 = joined.len;
    splitext(joined.data, &blen2, &ext);
    for (;;) { /* suffix_map: .tgz is .tar.gz */
        lh_buf lower = LH_BUF_INIT;
        for (size_t i = 0; i < ext.len; i++)
            lh_buf_append_byte(&lower, (char)tolower((unsigned char)ext.data[i]));
        const char *to = ext.len ? pair_lookup(MIME_SUFFIXES, LEN(MIME_SUFFIXES), lower.data) : NULL;
        lh_buf_free(&lower);
        if (!to) break;
        joined.len = blen2;
        lh_buf_append_str(&joined, to);
        blen2 = joined.len;
        splitext(joined.data, &blen2, &ext);
    }
    if (ext.len && pair_lookup(MIME_ENCODINGS, LEN(MIME_ENCODINGS), ext.data))
        splitext(joined.data, &blen2, &ext); /* case-sensitive, as there */
    for (size_t i = 0; i < ext.len; i++) ext.data[i] = (char)tolower((unsigned char)ext.data[i]);
    const char *type = ext.len ? type_of(ext.data) : NULL;
    char *out = lh_mime_normalize(type);
    lh_buf_free(&ext);
    lh_buf_free(&joined);
    lh_buf_free(&url);
    return out;
}

char *lh_mime_pick(const char *const *mimes, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        char *m = lh_mime_normalize(mimes[i]);
        if (strcmp(m, LH_MIME_DEFAULT) != 0) return m;
        free(m);
    }
    return lh_mime_guess(name);
}
