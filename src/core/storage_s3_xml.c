/* A deliberately small XML reader for S3 responses (ListObjectsV2, errors,
 * multipart results). S3 bodies are flat, unnamespaced-prefix elements with
 * escaped text, so finding an element by name and decoding its text is all
 * that is needed; anything else (CDATA, comments inside values) does not occur. */
#include <stdlib.h>
#include <string.h>

#include "core/storage_s3.h"
#include "lh/core/mem.h"

/* s[0..n) starts with "<tag" followed by '>', '/', or whitespace. */
static bool opens(const char *s, size_t n, const char *tag, size_t tl)
{
    if (n < tl + 2 || s[0] != '<' || memcmp(s + 1, tag, tl) != 0) return false;
    char c = s[1 + tl];
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

const char *lh_s3_xml_find(const char *s, size_t n, const char *tag, const char **inner,
                           size_t *inner_len)
{
    size_t tl = strlen(tag);
    const char *end = s + n;
    for (const char *p = s; p < end; p++) {
        p = memchr(p, '<', (size_t)(end - p));
        if (!p) return NULL;
        if (!opens(p, (size_t)(end - p), tag, tl)) continue;
        const char *gt = memchr(p, '>', (size_t)(end - p));
        if (!gt) return NULL;
        if (gt[-1] == '/') { /* <Tag/> */
            *inner = gt + 1;
            *inner_len = 0;
            return gt + 1;
        }
        const char *body = gt + 1;
        /* Same-name nesting does not occur in S3 bodies: the first end tag closes. */
        for (const char *q = body; q < end; q++) {
            q = memchr(q, '<', (size_t)(end - q));
            if (!q) return NULL;
            if ((size_t)(end - q) >= tl + 3 && q[1] == '/' && memcmp(q + 2, tag, tl) == 0 &&
                q[2 + tl] == '>') {
                *inner = body;
                *inner_len = (size_t)(q - body);
                return q + tl + 3;
            }
        }
        return NULL;
    }
    return NULL;
}

bool lh_s3_xml_text(const char *raw, size_t n, lh_buf *out)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(raw + i, '&', n - i);
        if (!amp) {
            lh_buf_append(out, raw + i, n - i);
            break;
        }
        lh_buf_append(out, raw + i, (size_t)(amp - (raw + i)));
        i = (size_t)(amp - raw) + 1;
        const char *semi = memchr(raw + i, ';', n - i);
        if (!semi || semi - (raw + i) > 10) return false;
        size_t len = (size_t)(semi - (raw + i));
        const char *ent = raw + i;
        bool ok = false;
        if (len > 1 && ent[0] == '#') {
            char tmp[12];
            memcpy(tmp, ent + 1, len - 1);
            tmp[len - 1] = '\0';
            char *stop;
            unsigned long cp = (tmp[0] == 'x' || tmp[0] == 'X') ? strtoul(tmp + 1, &stop, 16)
                                                                 : strtoul(tmp, &stop, 10);
            if (*stop == '\0' && stop != tmp && cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
                char enc[4];
                lh_buf_append(out, enc, lh_utf8_encode((uint32_t)cp, enc));
                ok = true;
            }
        } else {
            for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
                if (strlen(named[k].name) == len && memcmp(named[k].name, ent, len) == 0) {
                    lh_buf_append_byte(out, (uint8_t)named[k].c);
                    ok = true;
                }
            }
        }
        if (!ok) return false;
        i += len + 1;
    }
    return true;
}

char *lh_s3_xml_get(const char *s, size_t n, const char *tag)
{
    const char *inner;
    size_t len;
    if (!lh_s3_xml_find(s, n, tag, &inner, &len)) return NULL;
    lh_buf b = LH_BUF_INIT;
    lh_buf_append(&b, "", 0);
    if (!lh_s3_xml_text(inner, len, &b)) {
        lh_buf_free(&b);
        return NULL;
    }
    return lh_buf_detach(&b, NULL);
}
