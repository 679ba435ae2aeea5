/* AWS Signature Version 4 for S3 requests: canonical request, string to sign,
 * derived signing key, Authorization header (HMAC-SHA256 via nettle). */
#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

#include "core/storage_s3.h"
#include "lh/core/hash.h"
#include "lh/core/mem.h"

void lh_s3_sha256_hex(const void *data, size_t n, char out[LH_SHA256_HEX_LEN + 1])
{
    uint8_t md[SHA256_DIGEST_SIZE];
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, n, data);
    sha256_digest(&c, sizeof md, md);
    lh_hex_encode(md, sizeof md, out);
}

static void hmac(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
    struct hmac_sha256_ctx c;
    hmac_sha256_set_key(&c, key_len, key); /* key read here: out may alias it */
    hmac_sha256_update(&c, strlen(msg), (const uint8_t *)msg);
    hmac_sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

void lh_s3_uri_encode(lh_buf *out, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            lh_buf_append_byte(out, *p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            lh_buf_append(out, esc, 3);
        }
    }
}

static int header_cmp(const void *a, const void *b)
{
    return strcmp(((const lh_s3_header *)a)->name, ((const lh_s3_header *)b)->name);
}

void lh_sigv4_authorization(const lh_sigv4_key *key, const char *method, const char *canon_uri,
                            const char *canon_query, const lh_s3_header *headers, size_t nheaders,
                            const char *payload_hash, const char *amz_date, lh_buf *out)
{
    lh_s3_header *sorted = lh_malloc((nheaders ? nheaders : 1) * sizeof *sorted);
    memcpy(sorted, headers, nheaders * sizeof *sorted);
    qsort(sorted, nheaders, sizeof *sorted, header_cmp);

    lh_buf signed_names = LH_BUF_INIT;
    lh_buf canon = LH_BUF_INIT;
    lh_buf_printf(&canon, "%s\n%s\n%s\n", method, canon_uri, canon_query ? canon_query : "");
    for (size_t i = 0; i < nheaders; i++) {
        lh_buf_printf(&canon, "%s:%s\n", sorted[i].name, sorted[i].value);
        if (i) lh_buf_append_byte(&signed_names, ';');
        lh_buf_append_str(&signed_names, sorted[i].name);
    }
    lh_buf_printf(&canon, "\n%s\n%s", signed_names.data ? signed_names.data : "", payload_hash);
    free(sorted);

    char date[9];
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    char *scope = lh_asprintf("%s/%s/%s/aws4_request", date, key->region, key->service);
    char canon_hash[LH_SHA256_HEX_LEN + 1];
    lh_s3_sha256_hex(canon.data, canon.len, canon_hash);
    char *to_sign = lh_asprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, canon_hash);

    /* Signing key: HMAC chain over date, region, service, "aws4_request". */
    char *secret = lh_asprintf("AWS4%s", key->secret_key);
    unsigned char k[32], sig[32];
    hmac(secret, strlen(secret), date, k);
    hmac(k, 32, key->region, k);
    hmac(k, 32, key->service, k);
    hmac(k, 32, "aws4_request", k);
    hmac(k, 32, to_sign, sig);
    char sig_hex[65];
    lh_hex_encode(sig, 32, sig_hex);

    lh_buf_printf(out, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                  key->access_key, scope, signed_names.data ? signed_names.data : "", sig_hex);
    memset(secret, 0, strlen(secret));
    free(secret);
    free(to_sign);
    free(scope);
    lh_buf_free(&canon);
    lh_buf_free(&signed_names);
}
