/* Configuration of the S3 backend: endpoint and addressing style, region,
 * credentials (environment, the shared ~/.aws files, then the machine's:
 * storage_s3_creds.c), retry knobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/storage_s3.h"
#include "lh/core/mem.h"

#define DEFAULT_PART_SIZE ((size_t)8 << 20)

const char *lh_s3_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

bool lh_s3_env_true(const char *name)
{
    const char *v = lh_s3_env(name);
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0);
}

static int env_int(const char *name, int dflt, int min)
{
    const char *v = lh_s3_env(name);
    if (!v) return dflt;
    int n = atoi(v);
    return n < min ? min : n;
}

/* Value of key in [section] of an AWS-style INI file (~/.aws/credentials,
 * ~/.aws/config), or NULL; key NULL: "" when the file has the section.
 * Caller frees. */
static char *ini_get(const char *path, const char *section, const char *key)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return NULL;
    char line[4096], *found = NULL;
    bool in_section = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strlen(p);
        while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t')) p[--n] = '\0';
        if (*p == '#' || *p == ';' || !*p) continue;
        if (*p == '[') {
            char *end = strchr(p, ']');
            if (end) *end = '\0';
            char *name = p + 1;
            while (*name == ' ') name++;
            size_t nl = strlen(name);
            while (nl && name[nl - 1] == ' ') name[--nl] = '\0';
            in_section = strcmp(name, section) == 0;
            if (in_section && !key) found = lh_strdup("");
            continue;
        }
        char *eq = strchr(p, '=');
        if (!in_section || !eq) continue;
        char *k_end = eq;
        while (k_end > p && (k_end[-1] == ' ' || k_end[-1] == '\t')) k_end--;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t') v++;
        if (key && (size_t)(k_end - p) == strlen(key) && strncmp(p, key, strlen(key)) == 0 && *v) found = lh_strdup(v);
    }
    fclose(f);
    return found;
}

static char *aws_file(const char *env_name, const char *name)
{
    if (lh_s3_env(env_name)) return lh_strdup(lh_s3_env(env_name));
    return lh_s3_env("HOME") ? lh_asprintf("%s/.aws/%s", lh_s3_env("HOME"), name) : NULL;
}

/* A profile AWS_PROFILE names must be in one of the shared files: the AWS
 * SDKs refuse one that is not (ProfileNotFound) rather than go on
 * anonymous or with the machine's role. */
static lh_status check_profile(lh_error *err)
{
    const char *profile = lh_s3_env("AWS_PROFILE");
    if (!profile) return LH_OK;
    char *creds = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *config = aws_file("AWS_CONFIG_FILE", "config");
    char *in_config = strcmp(profile, "default") == 0 ? lh_strdup("default")
                                                       : lh_asprintf("profile %s", profile);
    char *a = ini_get(creds, profile, NULL), *b = a ? NULL : ini_get(config, in_config, NULL);
    lh_status rc = LH_OK;
    if (!a && !b)
        rc = lh_error_set(err, LH_ERR_INVALID, "AWS_PROFILE=%s: no such profile in %s or %s",
                          profile, creds ? creds : "~/.aws/credentials",
                          config ? config : "~/.aws/config");
    free(a);
    free(b);
    free(in_config);
    free(creds);
    free(config);
    return rc;
}

/* Environment first, then the shared files of the profile (AWS_PROFILE or
 * "default"): credentials from ~/.aws/credentials, region from ~/.aws/config. */
static lh_status load_credentials(lh_s3_config *c, lh_error *err)
{
    const char *profile = lh_s3_env("AWS_PROFILE") ? lh_s3_env("AWS_PROFILE") : "default";
    const char *region = lh_s3_env("AWS_REGION");
    if (!region) region = lh_s3_env("AWS_DEFAULT_REGION");
    if (region) {
        c->region = lh_strdup(region);
    } else {
        char *path = aws_file("AWS_CONFIG_FILE", "config");
        char *section = strcmp(profile, "default") == 0 ? lh_strdup("default") : lh_asprintf("profile %s", profile);
        c->region = ini_get(path, section, "region");
        if (!c->region) c->region = lh_strdup("us-east-1");
        free(section);
        free(path);
    }
    const char *ak = lh_s3_env("AWS_ACCESS_KEY_ID"), *sk = lh_s3_env("AWS_SECRET_ACCESS_KEY");
    if (ak && !sk) return lh_error_set(err, LH_ERR_INVALID, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    if (ak) {
        c->creds.access_key = lh_strdup(ak);
        c->creds.secret_key = lh_strdup(sk);
        if (lh_s3_env("AWS_SESSION_TOKEN")) c->creds.session_token = lh_strdup(lh_s3_env("AWS_SESSION_TOKEN"));
        return LH_OK;
    }
    if (lh_s3_web_identity_configured()) {
        LH_TRY(lh_s3_creds_fetch(LH_S3_CREDS_WEB_IDENTITY, c->region, &c->creds, err));
        c->creds_source = LH_S3_CREDS_WEB_IDENTITY;
        return LH_OK;
    }
    LH_TRY(check_profile(err));
    char *path = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *section = lh_strdup(profile);
    c->creds.access_key = ini_get(path, section, "aws_access_key_id");
    if (!c->creds.access_key) {
        /* the AWS SDKs also take static keys from the profile's section of
         * the config file, after the credentials file */
        free(path);
        free(section);
        path = aws_file("AWS_CONFIG_FILE", "config");
        section = strcmp(profile, "default") == 0 ? lh_strdup("default") : lh_asprintf("profile %s", profile);
        c->creds.access_key = ini_get(path, section, "aws_access_key_id");
    }
    if (c->creds.access_key) {
        c->creds.secret_key = ini_get(path, section, "aws_secret_access_key");
        c->creds.session_token = ini_get(path, section, "aws_session_token");
    }
    lh_status rc = LH_OK;
    if (c->creds.access_key && !c->creds.secret_key)
        rc = lh_error_set(err, LH_ERR_INVALID, "%s: profile [%s] has aws_access_key_id but no aws_secret_access_key",
                          path, section);
    free(path);
    free(section);
    if (rc != LH_OK || c->creds.access_key) return rc;
    /* none found: NULL keys, anonymous */
    return lh_s3_creds_discover(&c->creds_source, &c->creds, err);
}

void lh_s3_config_set_region(lh_s3_config *c, const char *region)
{
    char *r = lh_strdup(region); /* region may be c->region itself */
    free(c->region);
    c->region = r;
    if (!c->aws_host) return;
    free(c->host);
    free(c->endpoint);
    if (strchr(c->bucket, '.')) {
        /* Dotted bucket names break the wildcard TLS certificate. */
        c->host = lh_asprintf("s3.%s.amazonaws.com", r);
        c->path_style = true;
    } else {
        c->host = lh_asprintf("%s.s3.%s.amazonaws.com", c->bucket, r);
    }
    c->endpoint = lh_asprintf("https://%s", c->host);
}

lh_status lh_s3_config_load(lh_s3_config *c, lh_error *err)
{
    LH_TRY(load_credentials(c, err));
    const char *ep = lh_s3_env("AWS_ENDPOINT_URL_S3");
    if (!ep) ep = lh_s3_env("AWS_ENDPOINT_URL");
    if (!ep) ep = lh_s3_env("AWS_ENDPOINT");
    if (ep) {
        const char *hostpart = ep;
        const char *scheme = "https";
        if (strncmp(ep, "http://", 7) == 0) {
            scheme = "http";
            hostpart = ep + 7;
        } else if (strncmp(ep, "https://", 8) == 0) {
            hostpart = ep + 8;
        } else if (strstr(ep, "://")) {
            return lh_error_set(err, LH_ERR_INVALID, "AWS_ENDPOINT_URL has an unsupported scheme: \"%s\"", ep);
        } else if (lh_s3_env_true("AWS_ALLOW_HTTP")) {
            scheme = "http";
        }
        size_t hl = strcspn(hostpart, "/?#");
        if (hl == 0) return lh_error_set(err, LH_ERR_INVALID, "AWS_ENDPOINT_URL has no host: \"%s\"", ep);
        /* requests go to the host's root: a path (a proxy's prefix) would be
         * dropped without a word, and the bucket looked for elsewhere */
        if (hostpart[hl] && strcmp(hostpart + hl, "/") != 0)
            return lh_error_set(err, LH_ERR_INVALID,
                                "AWS_ENDPOINT_URL \"%s\": a path, query or fragment after the "
                                "host is not supported", ep);
        c->host = lh_strndup(hostpart, hl);
        c->endpoint = lh_asprintf("%s://%s", scheme, c->host);
        c->path_style = !lh_s3_env_true("AWS_VIRTUAL_HOSTED_STYLE_REQUEST");
        if (!c->path_style) {
            char *vh = lh_asprintf("%s.%s", c->bucket, c->host);
            free(c->host);
            free(c->endpoint);
            c->host = vh;
            c->endpoint = lh_asprintf("%s://%s", scheme, vh);
        }
    } else {
        c->aws_host = true;
        lh_s3_config_set_region(c, c->region);
    }
    c->max_attempts = env_int("LH_S3_MAX_ATTEMPTS", 6, 1);
    c->retry_base_ms = env_int("LH_S3_RETRY_BASE_MS", 100, 1);
    c->max_keys = 1000;
    c->part_size = DEFAULT_PART_SIZE;
    return LH_OK;
}

void lh_s3_config_free(lh_s3_config *c)
{
    free(c->bucket);
    free(c->prefix);
    free(c->endpoint);
    free(c->host);
    free(c->region);
    lh_s3_creds_free(&c->creds);
}
