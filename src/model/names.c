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
#include "lh/core/str.h"

/* rigour's cap on the code points a Levenshtein distance looks at */
#define MAX_NAME_LENGTH 384

typedef struct range {
    int32_t lo, hi;
} range;

/* The tables of code point ranges here are sorted and disjoint. */
#define NRANGES(t) (sizeof t / sizeof *t)

static const range LATIN[] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xAA, 0xAA}, {0xBA, 0xBA}, {0xC0, 0xD6}, {0xD8, 0xF6},
    {0xF8, 0x2B8}, {0x2E0, 0x2E4}, {0x1D00, 0x1D25}, {0x1D2C, 0x1D5C}, {0x1D62, 0x1D65},
    {0x1D6B, 0x1D77}, {0x1D79, 0x1DBE}, {0x1E00, 0x1EFF}, {0x2071, 0x2071}, {0x207F, 0x207F},
    {0x2090, 0x209C}, {0x212A, 0x212B}, {0x2132, 0x2132}, {0x214E, 0x214E}, {0x2160, 0x2188},
    {0x2C60, 0x2C7F}, {0xA722, 0xA787}, {0xA78B, 0xA7FF}, {0xAB30, 0xAB5A}, {0xAB5C, 0xAB64},
    {0xAB66, 0xAB69}, {0xFB00, 0xFB06}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10780, 0x10785},
    {0x10787, 0x107B0}, {0x107B2, 0x107BA}, {0x1DF00, 0x1DF1E}, {0x1DF25, 0x1DF2A},
};
static const range CYRILLIC_GREEK[] = {
    /* Cyrillic and Greek (without the Coptic letters of the Greek block) */
    {0x370, 0x373}, {0x375, 0x377}, {0x37A, 0x37D}, {0x37F, 0x37F}, {0x384, 0x384}, {0x386, 0x386},
    {0x388, 0x3E1}, {0x3F0, 0x3FF}, {0x400, 0x52F}, {0x1C80, 0x1C88}, {0x1C89, 0x1C8A},
    {0x1D26, 0x1D2A}, {0x1D2B, 0x1D2B}, {0x1D5D, 0x1D61}, {0x1D66, 0x1D6A}, {0x1D78, 0x1D78},
    {0x1DBF, 0x1DBF}, {0x1F00, 0x1FFE}, {0x2126, 0x2126}, {0x2DE0, 0x2DFF}, {0xA640, 0xA69F},
    {0xAB65, 0xAB65}, {0xFE2E, 0xFE2F}, {0x10140, 0x10174}, {0x1E030, 0x1E06D}, {0x1E08F, 0x1E08F},
};

/* What Rust's char::is_alphabetic (the Alphabetic property) and
 * char::is_uppercase (Uppercase) take beyond utf8proc's letters, letter
 * numbers and Lu, as rigour's pick_name sees them: Other_Alphabetic (vowel
 * signs, harakat, points, U+0345, the combining Latin letters U+0363..,
 * circled letters Ⓐ..ⓩ) and Other_Uppercase (Roman numerals Ⅰ..Ⅿ, circled
 * and squared capitals), plus the letters of Unicode 16 utf8proc does not
 * know yet. */
static const range OTHER_ALPHABETIC[] = {
    {0x345, 0x345}, {0x363, 0x36F}, {0x5B0, 0x5BD}, {0x5BF, 0x5BF}, {0x5C1, 0x5C2}, {0x5C4, 0x5C5},
    {0x5C7, 0x5C7}, {0x610, 0x61A}, {0x64B, 0x657}, {0x659, 0x65F}, {0x670, 0x670}, {0x6D6, 0x6DC},
    {0x6E1, 0x6E4}, {0x6E7, 0x6E8}, {0x6ED, 0x6ED}, {0x711, 0x711}, {0x730, 0x73F}, {0x7A6, 0x7B0},
    {0x816, 0x817}, {0x81B, 0x823}, {0x825, 0x827}, {0x829, 0x82C}, {0x88F, 0x88F}, {0x897, 0x897},
    {0x8D4, 0x8DF}, {0x8E3, 0x8E9}, {0x8F0, 0x903}, {0x93A, 0x93B}, {0x93E, 0x94C}, {0x94E, 0x94F},
    {0x955, 0x957}, {0x962, 0x963}, {0x981, 0x983}, {0x9BE, 0x9C4}, {0x9C7, 0x9C8}, {0x9CB, 0x9CC},
    {0x9D7, 0x9D7}, {0x9E2, 0x9E3}, {0xA01, 0xA03}, {0xA3E, 0xA42}, {0xA47, 0xA48}, {0xA4B, 0xA4C},
    {0xA51, 0xA51}, {0xA70, 0xA71}, {0xA75, 0xA75}, {0xA81, 0xA83}, {0xABE, 0xAC5}, {0xAC7, 0xAC9},
    {0xACB, 0xACC}, {0xAE2, 0xAE3}, {0xAFA, 0xAFC}, {0xB01, 0xB03}, {0xB3E, 0xB44}, {0xB47, 0xB48},
    {0xB4B, 0xB4C}, {0xB56, 0xB57}, {0xB62, 0xB63}, {0xB82, 0xB82}, {0xBBE, 0xBC2}, {0xBC6, 0xBC8},
    {0xBCA, 0xBCC}, {0xBD7, 0xBD7}, {0xC00, 0xC04}, {0xC3E, 0xC44}, {0xC46, 0xC48}, {0xC4A, 0xC4C},
    {0xC55, 0xC56}, {0xC5C, 0xC5C}, {0xC62, 0xC63}, {0xC81, 0xC83}, {0xCBE, 0xCC4}, {0xCC6, 0xCC8},
    {0xCCA, 0xCCC}, {0xCD5, 0xCD6}, {0xCDC, 0xCDC}, {0xCE2, 0xCE3}, {0xCF3, 0xCF3}, {0xD00, 0xD03},
    {0xD3E, 0xD44}, {0xD46, 0xD48}, {0xD4A, 0xD4C}, {0xD57, 0xD57}, {0xD62, 0xD63}, {0xD81, 0xD83},
    {0xDCF, 0xDD4}, {0xDD6, 0xDD6}, {0xDD8, 0xDDF}, {0xDF2, 0xDF3}, {0xE31, 0xE31}, {0xE34, 0xE3A},
    {0xE4D, 0xE4D}, {0xEB1, 0xEB1}, {0xEB4, 0xEB9}, {0xEBB, 0xEBC}, {0xECD, 0xECD}, {0xF71, 0xF83},
    {0xF8D, 0xF97}, {0xF99, 0xFBC}, {0x102B, 0x1036}, {0x1038, 0x1038}, {0x103B, 0x103E},
    {0x1056, 0x1059}, {0x105E, 0x1060}, {0x1062, 0x1064}, {0x1067, 0x106D}, {0x1071, 0x1074},
    {0x1082, 0x108D}, {0x108F, 0x108F}, {0x109A, 0x109D}, {0x1712, 0x1713}, {0x1732, 0x1733},
    {0x1752, 0x1753}, {0x1772, 0x1773}, {0x17B6, 0x17C8}, {0x1885, 0x1886}, {0x18A9, 0x18A9},
    {0x1920, 0x192B}, {0x1930, 0x1938}, {0x1A17, 0x1A1B}, {0x1A55, 0x1A5E}, {0x1A61, 0x1A74},
    {0x1ABF, 0x1AC0}, {0x1ACC, 0x1ACE}, {0x1B00, 0x1B04}, {0x1B35, 0x1B43}, {0x1B80, 0x1B82},
    {0x1BA1, 0x1BA9}, {0x1BAC, 0x1BAD}, {0x1BE7, 0x1BF1}, {0x1C24, 0x1C36}, {0x1C89, 0x1C8A},
    {0x1DD3, 0x1DF4}, {0x24B6, 0x24E9}, {0x2DE0, 0x2DFF}, {0xA674, 0xA67B}, {0xA69E, 0xA69F},
    {0xA7CB, 0xA7CF}, {0xA7D2, 0xA7D2}, {0xA7D4, 0xA7D4}, {0xA7DA, 0xA7DC}, {0xA7F1, 0xA7F1},
    {0xA802, 0xA802}, {0xA80B, 0xA80B}, {0xA823, 0xA827}, {0xA880, 0xA881}, {0xA8B4, 0xA8C3},
    {0xA8C5, 0xA8C5}, {0xA8FF, 0xA8FF}, {0xA926, 0xA92A}, {0xA947, 0xA952}, {0xA980, 0xA983},
    {0xA9B4, 0xA9BF}, {0xA9E5, 0xA9E5}, {0xAA29, 0xAA36}, {0xAA43, 0xAA43}, {0xAA4C, 0xAA4D},
    {0xAA7B, 0xAA7D}, {0xAAB0, 0xAAB0}, {0xAAB2, 0xAAB4}, {0xAAB7, 0xAAB8}, {0xAABE, 0xAABE},
    {0xAAEB, 0xAAEF}, {0xAAF5, 0xAAF5}, {0xABE3, 0xABEA}, {0xFB1E, 0xFB1E}, {0x10376, 0x1037A},
    {0x105C0, 0x105F3}, {0x10940, 0x10959}, {0x10A01, 0x10A03}, {0x10A05, 0x10A06},
    {0x10A0C, 0x10A0F}, {0x10D24, 0x10D27}, {0x10D4A, 0x10D65}, {0x10D69, 0x10D69},
    {0x10D6F, 0x10D85}, {0x10EAB, 0x10EAC}, {0x10EC2, 0x10EC7}, {0x10EFA, 0x10EFC},
    {0x11000, 0x11002}, {0x11038, 0x11045}, {0x11073, 0x11074}, {0x11080, 0x11082},
    {0x110B0, 0x110B8}, {0x110C2, 0x110C2}, {0x11100, 0x11102}, {0x11127, 0x11132},
    {0x11145, 0x11146}, {0x11180, 0x11182}, {0x111B3, 0x111BF}, {0x111CE, 0x111CF},
    {0x1122C, 0x11234}, {0x11237, 0x11237}, {0x1123E, 0x1123E}, {0x11241, 0x11241},
    {0x112DF, 0x112E8}, {0x11300, 0x11303}, {0x1133E, 0x11344}, {0x11347, 0x11348},
    {0x1134B, 0x1134C}, {0x11357, 0x11357}, {0x11362, 0x11363}, {0x11380, 0x11389},
    {0x1138B, 0x1138B}, {0x1138E, 0x1138E}, {0x11390, 0x113B5}, {0x113B7, 0x113C0},
    {0x113C2, 0x113C2}, {0x113C5, 0x113C5}, {0x113C7, 0x113CA}, {0x113CC, 0x113CD},
    {0x113D1, 0x113D1}, {0x113D3, 0x113D3}, {0x11435, 0x11441}, {0x11443, 0x11445},
    {0x114B0, 0x114C1}, {0x115AF, 0x115B5}, {0x115B8, 0x115BE}, {0x115DC, 0x115DD},
    {0x11630, 0x1163E}, {0x11640, 0x11640}, {0x116AB, 0x116B5}, {0x1171D, 0x1172A},
    {0x1182C, 0x11838}, {0x11930, 0x11935}, {0x11937, 0x11938}, {0x1193B, 0x1193C},
    {0x11940, 0x11940}, {0x11942, 0x11942}, {0x119D1, 0x119D7}, {0x119DA, 0x119DF},
    {0x119E4, 0x119E4}, {0x11A01, 0x11A0A}, {0x11A35, 0x11A39}, {0x11A3B, 0x11A3E},
    {0x11A51, 0x11A5B}, {0x11A8A, 0x11A97}, {0x11B60, 0x11B67}, {0x11BC0, 0x11BE0},
    {0x11C2F, 0x11C36}, {0x11C38, 0x11C3E}, {0x11C92, 0x11CA7}, {0x11CA9, 0x11CB6},
    {0x11D31, 0x11D36}, {0x11D3A, 0x11D3A}, {0x11D3C, 0x11D3D}, {0x11D3F, 0x11D41},
    {0x11D43, 0x11D43}, {0x11D47, 0x11D47}, {0x11D8A, 0x11D8E}, {0x11D90, 0x11D91},
    {0x11D93, 0x11D96}, {0x11DB0, 0x11DDB}, {0x11EF3, 0x11EF6}, {0x11F00, 0x11F01},
    {0x11F03, 0x11F03}, {0x11F34, 0x11F3A}, {0x11F3E, 0x11F40}, {0x13460, 0x143FA},
    {0x16100, 0x1612E}, {0x16D40, 0x16D6C}, {0x16EA0, 0x16EB8}, {0x16EBB, 0x16ED3},
    {0x16F4F, 0x16F4F}, {0x16F51, 0x16F87}, {0x16F8F, 0x16F92}, {0x16FF0, 0x16FF6},
    {0x187F8, 0x187FF}, {0x18CFF, 0x18CFF}, {0x18D09, 0x18D1E}, {0x18D80, 0x18DF2},
    {0x1BC9E, 0x1BC9E}, {0x1E000, 0x1E006}, {0x1E008, 0x1E018}, {0x1E01B, 0x1E021},
    {0x1E023, 0x1E024}, {0x1E026, 0x1E02A}, {0x1E08F, 0x1E08F}, {0x1E5D0, 0x1E5ED},
    {0x1E5F0, 0x1E5F0}, {0x1E6C0, 0x1E6DE}, {0x1E6E0, 0x1E6F5}, {0x1E6FE, 0x1E6FF},
    {0x1E947, 0x1E947}, {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
    {0x2B73A, 0x2B73F}, {0x2CEA2, 0x2CEAD}, {0x2EBF0, 0x2EE5D}, {0x323B0, 0x33479},
};
static const range OTHER_UPPERCASE[] = {
    {0x1C89, 0x1C89}, {0x2160, 0x216F}, {0x24B6, 0x24CF}, {0xA7CB, 0xA7CC}, {0xA7CE, 0xA7CE},
    {0xA7D2, 0xA7D2}, {0xA7D4, 0xA7D4}, {0xA7DA, 0xA7DA}, {0xA7DC, 0xA7DC}, {0x10D50, 0x10D65},
    {0x16EA0, 0x16EB8}, {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
};

/* c in the sorted, disjoint ranges r */
static bool in_sorted(const range *r, size_t n, int32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid].lo) hi = mid;
        else if (c > r[mid].hi) lo = mid + 1;
        else return true;
    }
    return false;
}

/* Rust's char::is_alphabetic: the Alphabetic property, letters and letter
 * numbers and Other_Alphabetic. */
static bool is_alpha(int32_t c)
{
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL:
        return true;
    default:
        return in_sorted(OTHER_ALPHABETIC, NRANGES(OTHER_ALPHABETIC), c);
    }
}

/* Rust's char::is_uppercase: the Uppercase property (Lu and Other_Uppercase;
 * a Roman numeral Ⅻ is upper case, ⅻ is not). */
static bool is_upper(int32_t c)
{
    return utf8proc_category(c) == UTF8PROC_CATEGORY_LU ||
           in_sorted(OTHER_UPPERCASE, NRANGES(OTHER_UPPERCASE), c);
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
        if (in_sorted(LATIN, NRANGES(LATIN), cps[i])) latin += 1.0;
        else if (in_sorted(CYRILLIC_GREEK, NRANGES(CYRILLIC_GREEK), cps[i]))
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

/* Myers' bit-parallel Levenshtein in Hyyro's blocks of 64 pattern code
 * points, the pattern prepared once and compared with many texts
 * (rapidfuzz's BatchComparator): a pair costs one word operation per block
 * and text character where a table costs one per cell. */
typedef struct pattern {
    size_t len, blocks;
    uint64_t *ascii;      /* [128][blocks]: where each ASCII code point is */
    int32_t *other;       /* the other code points, sorted */
    uint64_t *other_mask; /* [n_other][blocks] */
    size_t n_other;
    uint64_t *vp, *vn; /* [blocks]: the vertical deltas, per distance */
} pattern;

static int cp_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void pattern_init(pattern *p, const int32_t *a, size_t n)
{
    memset(p, 0, sizeof *p);
    p->len = n;
    p->blocks = n ? (n + 63) / 64 : 1;
    size_t nb = p->blocks;
    p->ascii = lh_calloc(128 * nb, sizeof *p->ascii);
    p->vp = lh_malloc(nb * sizeof *p->vp);
    p->vn = lh_malloc(nb * sizeof *p->vn);
    int32_t *tmp = lh_malloc((n ? n : 1) * sizeof *tmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] < 0 || a[i] >= 128) tmp[k++] = a[i];
    qsort(tmp, k, sizeof *tmp, cp_cmp);
    p->other = lh_malloc((k ? k : 1) * sizeof *p->other);
    for (size_t i = 0; i < k; i++)
        if (!p->n_other || p->other[p->n_other - 1] != tmp[i]) p->other[p->n_other++] = tmp[i];
    free(tmp);
    p->other_mask = lh_calloc((p->n_other ? p->n_other : 1) * nb, sizeof *p->other_mask);
    for (size_t i = 0; i < n; i++) {
        uint64_t bit = (uint64_t)1 << (i % 64);
        if (a[i] >= 0 && a[i] < 128) {
            p->ascii[(size_t)a[i] * nb + i / 64] |= bit;
            continue;
        }
        int32_t *at = bsearch(&a[i], p->other, p->n_other, sizeof *p->other, cp_cmp);
        p->other_mask[(size_t)(at - p->other) * nb + i / 64] |= bit;
    }
}

/* The masks of c's places in the pattern, a block each; NULL: nowhere. */
static const uint64_t *pattern_row(const pattern *p, int32_t c)
{
    if (c >= 0 && c < 128) return &p->ascii[(size_t)c * p->blocks];
    const int32_t *at = bsearch(&c, p->other, p->n_other, sizeof *p->other, cp_cmp);
    return at ? &p->other_mask[(size_t)(at - p->other) * p->blocks] : NULL;
}

static size_t pattern_distance(pattern *p, const int32_t *b, size_t bn)
{
    if (!p->len) return bn;
    size_t nb = p->blocks;
    for (size_t k = 0; k < nb; k++) {
        p->vp[k] = ~(uint64_t)0;
        p->vn[k] = 0;
    }
    uint64_t last = (uint64_t)1 << ((p->len - 1) % 64);
    size_t score = p->len;
    for (size_t j = 0; j < bn; j++) {
        const uint64_t *eq = pattern_row(p, b[j]);
        /* the horizontal deltas carried from block to block: the top row
         * grows by one per text character */
        uint64_t hp_in = 1, hn_in = 0;
        for (size_t k = 0; k < nb; k++) {
            uint64_t vp = p->vp[k], vn = p->vn[k];
            uint64_t x = (eq ? eq[k] : 0) | hn_in;
            uint64_t d0 = (((x & vp) + vp) ^ vp) | x | vn;
            uint64_t hp = vn | ~(d0 | vp);
            uint64_t hn = d0 & vp;
            if (k == nb - 1) {
                if (hp & last) score++;
                else if (hn & last) score--;
            }
            uint64_t hp_out = hp >> 63, hn_out = hn >> 63;
            hp = (hp << 1) | hp_in;
            hn = (hn << 1) | hn_in;
            p->vp[k] = hn | ~(d0 | hp);
            p->vn[k] = hp & d0;
            hp_in = hp_out;
            hn_in = hn_out;
        }
    }
    return score;
}

static void pattern_free(pattern *p)
{
    free(p->ascii);
    free(p->other);
    free(p->other_mask);
    free(p->vp);
    free(p->vn);
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
    size_t num_names, cap_names;
} form;

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
    qsort(sorted, n, sizeof *sorted, lh_str_ptr_cmp);
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
        }
        f->weight += 1.0 + nm->latin;
        bool seen = false;
        for (size_t k = 0; k < f->num_names && !seen; k++)
            seen = strcmp(names[f->names[k]].text, nm->text) == 0;
        if (!seen) {
            /* grown as needed: most forms have one spelling, a bag thousands */
            if (f->num_names == f->cap_names)
                f->names = lh_grow(f->names, &f->cap_names, f->num_names + 1, sizeof *f->names);
            f->names[f->num_names++] = i;
        }
    }
    const char *picked = NULL;
    if (latin_names == 1) {
        picked = only_latin;
    } else if (nforms) {
        /* each pair adds its similarity, weighted, to both forms' scores */
        for (size_t i = 0; i < nforms; i++) {
            pattern pat;
            pattern_init(&pat, forms[i].cps, forms[i].len);
            for (size_t j = i + 1; j < nforms; j++) {
                form *a = &forms[i], *b = &forms[j];
                size_t d = pattern_distance(&pat, b->cps, b->len);
                size_t base = a->len > b->len ? a->len : b->len;
                double sim = 1.0 - (double)d / (double)(base ? base : 1);
                a->score += sim * a->weight;
                b->score += sim * b->weight;
            }
            pattern_free(&pat);
        }
        /* rigour ranks the forms (a stable sort) and takes the first with a
         * spelling: every form has one, so the highest score, first seen */
        const form *top = &forms[0];
        for (size_t i = 1; i < nforms; i++)
            if (forms[i].score > top->score) top = &forms[i];
        picked = best_spelling(names, top)->text;
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

size_t lh_names_distance(const char *a, const char *b)
{
    size_t an, bn;
    int32_t *acps = decode(a, strlen(a), &an), *bcps = decode(b, strlen(b), &bn);
    if (an > MAX_NAME_LENGTH) an = MAX_NAME_LENGTH;
    if (bn > MAX_NAME_LENGTH) bn = MAX_NAME_LENGTH;
    pattern pat;
    pattern_init(&pat, acps, an);
    size_t d = pattern_distance(&pat, bcps, bn);
    pattern_free(&pat);
    free(acps);
    free(bcps);
    return d;
}
