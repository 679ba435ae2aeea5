/* Floor for the import benchmarks: read FtM JSON lines, parse them, and
 * SHA-1 the key of every statement ("{dataset}.{entity_id}.{prop}.{value}",
 * plus the entity's own `id` statement) -- the work no importer can skip.
 * A minimal one-pass JSON scanner (strings unescaped, other values skipped),
 * so the floor measures hashing and I/O, not a general JSON library.
 * Not part of the product; bench/run compiles it on the fly:
 *   cc -O2 -o floor bench/floor.c -lnettle
 * Usage: floor FILE [DATASET]; prints "<statements> <entities>". */
#include <nettle/sha1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end;
    int bad;
} scan;

typedef struct {
    char *s;
    size_t len, cap;
} buf;

static unsigned long long sink; /* keeps the hashes observable */

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) abort();
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
}

static void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static void utf8(buf *b, unsigned cp)
{
    char o[4];
    size_t n;
    if (cp < 0x80) { o[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    put(b, o, n);
}

/* A JSON string at s->p, unescaped and appended to b (NULL: skipped). */
static void string(scan *s, buf *b)
{
    if (s->p >= s->end || *s->p != '"') { s->bad = 1; return; }
    s->p++;
    for (;;) {
        const char *q = s->p;
        while (q < s->end && *q != '"' && *q != '\\') q++;
        if (b) put(b, s->p, (size_t)(q - s->p));
        if (q >= s->end) { s->bad = 1; return; }
        s->p = q + 1;
        if (*q == '"') return;
        if (s->p >= s->end) { s->bad = 1; return; }
        char e = *s->p++, c = 0;
        switch (e) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case '"': case '\\': case '/': c = e; break;
        case 'u': {
            unsigned cp, lo;
            if (s->end - s->p < 4 || hex4(s->p, &cp)) { s->bad = 1; return; }
            s->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u' &&
                !hex4(s->p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                s->p += 6;
            }
            if (b) utf8(b, cp);
            continue;
        }
        default: s->bad = 1; return;
        }
        if (b) put(b, &c, 1);
    }
}

static void skip(scan *s)
{
    ws(s);
    if (s->p >= s->end) { s->bad = 1; return; }
    char c = *s->p;
    if (c == '"') { string(s, NULL); return; }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        s->p++;
        ws(s);
        if (s->p < s->end && *s->p == close) { s->p++; return; }
        while (!s->bad) {
            if (c == '{') { ws(s); string(s, NULL); ws(s); if (s->p >= s->end || *s->p++ != ':') { s->bad = 1; return; } }
            skip(s);
            ws(s);
            if (s->p >= s->end) { s->bad = 1; return; }
            if (*s->p == ',') { s->p++; continue; }
            if (*s->p++ == close) return;
            s->bad = 1;
        }
        return;
    }
    while (s->p < s->end && !strchr(",}] \t\r\n", *s->p)) s->p++; /* number, true, false, null */
}

static void hash(const buf *key)
{
    uint8_t md[SHA1_DIGEST_SIZE];
    struct sha1_ctx c;
    sha1_init(&c);
    sha1_update(&c, key->len, (const uint8_t *)key->s);
    sha1_digest(&c, sizeof md, md);
    sink += md[0];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: floor FILE [DATASET]\n");
        return 2;
    }
    const char *ds = argc > 2 ? argv[2] : "bench";
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    unsigned long long statements = 0, entities = 0;
    buf id = {0}, key = {0}, props = {0}, name = {0};
    while ((len = getline(&line, &lcap, f)) > 0) {
        scan s = {line, line + len, 0};
        const char *props_at = NULL;
        id.len = 0;
        ws(&s);
        if (s.p >= s.end || *s.p++ != '{') s.bad = 1;
        while (!s.bad) { /* top-level keys: keep id, remember where properties start */
            ws(&s);
            name.len = 0;
            string(&s, &name);
            ws(&s);
            if (s.bad || s.p >= s.end || *s.p++ != ':') { s.bad = 1; break; }
            ws(&s);
            if (name.len == 2 && !memcmp(name.s, "id", 2)) string(&s, &id);
            else {
                if (name.len == 10 && !memcmp(name.s, "properties", 10)) props_at = s.p;
                skip(&s);
            }
            ws(&s);
            if (s.p < s.end && *s.p == ',') { s.p++; continue; }
            if (s.p < s.end && *s.p == '}') break;
            s.bad = 1;
        }
        if (s.bad || !id.len) {
            fprintf(stderr, "line %llu: not an FtM entity\n", entities + 1);
            return 1;
        }
        /* prefix "{dataset}.{id}." shared by every key of the entity */
        props.len = 0;
        put(&props, ds, strlen(ds));
        put(&props, ".", 1);
        put(&props, id.s, id.len);
        put(&props, ".", 1);
        key.len = 0;
        put(&key, props.s, props.len);
        put(&key, "id.", 3);
        put(&key, id.s, id.len);
        hash(&key);
        statements++;
        if (props_at && *props_at == '{') {
            scan p = {props_at + 1, s.end, 0};
            ws(&p);
            if (p.p < p.end && *p.p == '}') p.p++, p.bad = 2;
            while (!p.bad) {
                ws(&p);
                key.len = 0;
                put(&key, props.s, props.len);
                string(&p, &key);
                put(&key, ".", 1);
                size_t stem = key.len;
                ws(&p);
                if (p.p >= p.end || *p.p++ != ':') break;
                ws(&p);
                if (p.p >= p.end || *p.p++ != '[') break;
                ws(&p);
                if (p.p < p.end && *p.p == ']') p.p++;
                else
                    while (!p.bad) {
                        ws(&p);
                        key.len = stem;
                        string(&p, &key);
                        hash(&key);
                        statements++;
                        ws(&p);
                        if (p.p < p.end && *p.p == ',') { p.p++; continue; }
                        if (p.p < p.end && *p.p++ == ']') break;
                        p.bad = 1;
                    }
                ws(&p);
                if (p.p < p.end && *p.p == ',') { p.p++; continue; }
                break;
            }
            if (p.bad == 1) {
                fprintf(stderr, "line %llu: bad properties\n", entities + 1);
                return 1;
            }
        }
        entities++;
    }
    printf("%llu %llu\n", statements, entities);
    free(line);
    free(id.s);
    free(key.s);
    free(props.s);
    free(name.s);
    fclose(f);
    return sink == 0xffffffffffffffffULL; /* never true; defeats dead-code elimination */
}
