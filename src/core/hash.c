#include "lh/core/hash.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "lh/core/mem.h"

struct lh_sha1_ctx {
    EVP_MD_CTX *md;
};

static EVP_MD *g_sha1;
static pthread_once_t g_sha1_once = PTHREAD_ONCE_INIT;

static void sha1_fetch(void)
{
    g_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
}

/* Fetched once: handing OpenSSL 3 the legacy EVP_sha1() makes every digest
 * init look the algorithm up again in the provider store, under a lock,
 * which cost more than hashing a statement key. */
static const EVP_MD *sha1_md(void)
{
    pthread_once(&g_sha1_once, sha1_fetch);
    return g_sha1 ? g_sha1 : EVP_sha1();
}

void lh_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void lh_sha1(const void *data, size_t n, uint8_t out[LH_SHA1_LEN])
{
    unsigned int len = 0;
    if (!EVP_Digest(data, n, out, &len, sha1_md(), NULL)) {
        fprintf(stderr, "ftm-lakehouse: libcrypto SHA-1 failed\n");
        abort();
    }
}

void lh_sha1_hex(const void *data, size_t n, char out[LH_SHA1_HEX_LEN + 1])
{
    uint8_t raw[LH_SHA1_LEN];
    lh_sha1(data, n, raw);
    lh_hex_encode(raw, LH_SHA1_LEN, out);
}

lh_sha1_ctx *lh_sha1_new(void)
{
    lh_sha1_ctx *c = lh_malloc(sizeof *c);
    c->md = EVP_MD_CTX_new();
    if (!c->md || !EVP_DigestInit_ex(c->md, sha1_md(), NULL)) {
        fprintf(stderr, "ftm-lakehouse: libcrypto SHA-1 init failed\n");
        abort();
    }
    return c;
}

void lh_sha1_update(lh_sha1_ctx *c, const void *data, size_t n)
{
    EVP_DigestUpdate(c->md, data, n);
}

void lh_sha1_final_hex(lh_sha1_ctx *c, char out[LH_SHA1_HEX_LEN + 1])
{
    uint8_t raw[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(c->md, raw, &len);
    lh_hex_encode(raw, LH_SHA1_LEN, out);
    EVP_DigestInit_ex(c->md, sha1_md(), NULL);
}

void lh_sha1_free(lh_sha1_ctx *c)
{
    if (!c) return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

uint64_t lh_xxh64(const void *data, size_t n, uint64_t seed)
{
    return XXH64(data, n, seed);
}
