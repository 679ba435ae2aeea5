#include "lh/core/hash.h"

#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <xxhash.h>

#include "lh/core/mem.h"

/* nettle, not libcrypto: hashing a statement key takes half the time
 * (no EVP dispatch; SHA-NI either way), and libcrypto's loading cost every
 * process ~0.8 ms, a tenth of a lookup. */
struct lh_sha1_ctx {
    struct sha1_ctx sha;
};

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
    struct sha1_ctx c;
    sha1_init(&c);
    sha1_update(&c, n, data);
    sha1_digest(&c, LH_SHA1_LEN, out);
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
    sha1_init(&c->sha);
    return c;
}

void lh_sha1_update(lh_sha1_ctx *c, const void *data, size_t n)
{
    sha1_update(&c->sha, n, data);
}

void lh_sha1_final_hex(lh_sha1_ctx *c, char out[LH_SHA1_HEX_LEN + 1])
{
    uint8_t raw[LH_SHA1_LEN];
    sha1_digest(&c->sha, LH_SHA1_LEN, raw); /* also resets the context */
    lh_hex_encode(raw, LH_SHA1_LEN, out);
}

void lh_sha1_free(lh_sha1_ctx *c)
{
    free(c);
}

uint64_t lh_xxh64(const void *data, size_t n, uint64_t seed)
{
    return XXH64(data, n, seed);
}

struct lh_sha256_ctx {
    struct sha256_ctx sha;
};

lh_sha256_ctx *lh_sha256_new(void)
{
    lh_sha256_ctx *c = lh_malloc(sizeof *c);
    sha256_init(&c->sha);
    return c;
}

void lh_sha256_update(lh_sha256_ctx *c, const void *data, size_t n)
{
    sha256_update(&c->sha, n, data);
}

void lh_sha256_final_hex(lh_sha256_ctx *c, char out[LH_SHA256_HEX_LEN + 1])
{
    uint8_t raw[LH_SHA256_LEN];
    sha256_digest(&c->sha, LH_SHA256_LEN, raw); /* also resets the context */
    lh_hex_encode(raw, LH_SHA256_LEN, out);
}

void lh_sha256_free(lh_sha256_ctx *c)
{
    free(c);
}

void lh_sha256_hex(const void *data, size_t n, char out[LH_SHA256_HEX_LEN + 1])
{
    lh_sha256_ctx c;
    sha256_init(&c.sha);
    sha256_update(&c.sha, n, data);
    lh_sha256_final_hex(&c, out);
}
