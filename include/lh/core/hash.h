/* Hashes: SHA-1 (statement ids, shards), SHA-256 (checksums of exported
 * files; both via nettle) and XXH64 (parquet bloom filters; via libxxhash). */
#ifndef LH_CORE_HASH_H
#define LH_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define LH_SHA1_LEN 20
#define LH_SHA1_HEX_LEN 40

void lh_sha1(const void *data, size_t n, uint8_t out[LH_SHA1_LEN]);
/* Writes 40 lowercase hex digits and a NUL (out must hold 41 bytes). */
void lh_sha1_hex(const void *data, size_t n, char out[LH_SHA1_HEX_LEN + 1]);

/* Incremental SHA-1 over several pieces without concatenating them. */
typedef struct lh_sha1_ctx lh_sha1_ctx;
lh_sha1_ctx *lh_sha1_new(void);
void lh_sha1_update(lh_sha1_ctx *c, const void *data, size_t n);
void lh_sha1_final_hex(lh_sha1_ctx *c, char out[LH_SHA1_HEX_LEN + 1]); /* resets c */
void lh_sha1_free(lh_sha1_ctx *c);

#define LH_SHA256_LEN 32
#define LH_SHA256_HEX_LEN 64

/* Incremental SHA-256: the reference's file checksums (CHECKSUM_ALGORITHM). */
typedef struct lh_sha256_ctx lh_sha256_ctx;
lh_sha256_ctx *lh_sha256_new(void);
void lh_sha256_update(lh_sha256_ctx *c, const void *data, size_t n);
void lh_sha256_final_hex(lh_sha256_ctx *c, char out[LH_SHA256_HEX_LEN + 1]); /* resets c */
void lh_sha256_free(lh_sha256_ctx *c);
void lh_sha256_hex(const void *data, size_t n, char out[LH_SHA256_HEX_LEN + 1]);

uint64_t lh_xxh64(const void *data, size_t n, uint64_t seed);

void lh_hex_encode(const uint8_t *in, size_t n, char *out); /* out: 2n+1 */

#endif
