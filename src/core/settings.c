#include "lh/core/settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lh/core/mem.h"

extern char **environ;

/* The `.env` file of the working directory: the reference's settings
 * (pydantic-settings) read it beneath the environment, so a project's
 * .env chooses the same lake for both CLIs. Lines are KEY=VALUE, with an
 * optional `export `, '#' comments, and values in single quotes (as
 * written), double quotes (\n, \t, \", \\ escapes) or bare (up to a
 * ` #` comment, trimmed), as python-dotenv reads them; in each ${VAR}
 * and ${VAR:-default} are filled from the lines before, then the
 * environment, else empty (python-dotenv interpolates quoted values too:
 * a public URL prefix's `${dataset}` cannot come from .env there, and
 * does not here). Malformed lines are skipped, as there. */
typedef struct dotenv {
    char **keys, **values;
    size_t n;
} dotenv;

static void dotenv_add(dotenv *d, const char *key, size_t klen, char *value)
{
    d->keys = lh_realloc(d->keys, (d->n + 1) * sizeof *d->keys);
    d->values = lh_realloc(d->values, (d->n + 1) * sizeof *d->values);
    d->keys[d->n] = lh_strndup(key, klen);
    d->values[d->n] = value;
    d->n++;
}

/* v with ${NAME} and ${NAME:-default} filled in from d, then the
 * environment; v is freed. */
static char *dotenv_expand(const dotenv *d, char *v)
{
    if (!strstr(v, "${")) return v;
    size_t cap = strlen(v) + 1, len = 0;
    char *out = lh_malloc(cap);
    for (const char *p = v; *p;) {
        const char *end = p[0] == '$' && p[1] == '{' ? strchr(p + 2, '}') : NULL;
        const char *sub = NULL;
        size_t sublen = 0;
        if (end) {
            const char *name = p + 2, *dflt = NULL;
            const char *colon = memchr(name, ':', (size_t)(end - name));
            size_t nlen = (size_t)((colon ? colon : end) - name);
            if (colon && colon[1] == '-') dflt = colon + 2;
            else if (colon) end = NULL; /* not the syntax: kept as written */
            if (end) {
                for (size_t i = d->n; i-- > 0 && !sub;)
                    if (strlen(d->keys[i]) == nlen && strncmp(d->keys[i], name, nlen) == 0)
                        sub = d->values[i];
                if (!sub) {
                    char *key = lh_strndup(name, nlen);
                    sub = getenv(key);
                    free(key);
                }
                /* a set but empty VAR stays empty, as python-dotenv fills it */
                if (sub) sublen = strlen(sub);
                else if (dflt) sub = dflt, sublen = (size_t)(end - dflt);
                else sub = "", sublen = 0;
            }
        }
        if (!end) sub = p, sublen = 1;
        if (len + sublen + 1 > cap) out = lh_realloc(out, cap = 2 * (len + sublen + 1));
        memcpy(out + len, sub, sublen);
        len += sublen;
        p = end ? end + 1 : p + 1;
    }
    out[len] = 0;
    free(v);
    return out;
}

/* The value starting at p (after '='), unquoted; NULL when malformed. */
static char *dotenv_value(const dotenv *d, const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    size_t len = strlen(p);
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
    if (*p == '\'' || *p == '"') {
        char q = *p++;
        char *out = lh_malloc(len + 1), *o = out;
        for (; *p && *p != q; p++) {
            if (q == '"' && *p == '\\' && p[1]) {
                p++;
                *o++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
            } else if (q == '\'' && *p == '\\' && (p[1] == '\'' || p[1] == '\\')) {
                *o++ = *++p;
            } else {
                *o++ = *p;
            }
        }
        *o = 0;
        int closed = *p == q;
        if (closed) p++;
        while (*p == ' ' || *p == '\t') p++;
        /* unterminated, or more than a comment after the closing quote */
        if (!closed || (*p && *p != '#' && *p != '\n' && *p != '\r')) {
            free(out);
            return NULL;
        }
        return dotenv_expand(d, out);
    }
    /* bare: a comment starts at " #" */
    size_t end = 0;
    while (end < len && !(p[end] == '#' && end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t')))
        end++;
    while (end && (p[end - 1] == ' ' || p[end - 1] == '\t')) end--;
    return dotenv_expand(d, lh_strndup(p, end));
}

static void dotenv_read(dotenv *d)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(".env", "r");
    if (!f) return; /* none (or unreadable): the environment alone, as there */
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, "export ", 7) == 0) p += 7;
        while (*p == ' ' || *p == '\t') p++;
        const char *key = p;
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-') p++;
        size_t klen = (size_t)(p - key);
        while (*p == ' ' || *p == '\t') p++;
        if (!klen || *p != '=') continue; /* a comment, a blank or a malformed line */
        char *value = dotenv_value(d, p + 1);
        if (value) dotenv_add(d, key, klen, value);
    }
    free(line);
    fclose(f);
}

static void dotenv_free(dotenv *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->keys[i]);
        free(d->values[i]);
    }
    free(d->keys);
    free(d->values);
}

/* A setting as the reference looks it up: the environment (the exact
 * name first, then any case of it: pydantic-settings matches names
 * case-insensitively), then .env (the last line naming it); NULL when
 * none has it. */
static const char *setting(const dotenv *d, const char *name)
{
    const char *v = getenv(name);
    if (v) return v;
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (strncasecmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
    for (size_t i = d->n; i-- > 0;)
        if (strcasecmp(d->keys[i], name) == 0) return d->values[i];
    return NULL;
}

static lh_status env_int(const dotenv *d, const char *name, int64_t def, int64_t min,
                         int64_t max, int64_t *out, lh_error *err)
{
    const char *v = setting(d, name);
    if (!v || !*v) {
        *out = def;
        return LH_OK;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return lh_error_set(err, LH_ERR_INVALID, "%s=\"%.64s\": expected an integer in [%lld, %lld]", name,
                            v, (long long)min, (long long)max);
    *out = x;
    return LH_OK;
}

lh_status lh_settings_load(lh_settings *s, lh_error *err)
{
    memset(s, 0, sizeof *s);
    dotenv d;
    dotenv_read(&d);
    const char *uri = setting(&d, "LAKEHOUSE_URI");
    s->uri = lh_strdup(uri && *uri ? uri : "data");
    const char *j = setting(&d, "LAKEHOUSE_JOURNAL_URI");
    s->journal_uri = j && *j ? lh_strdup(j) : NULL;
    const char *pub = setting(&d, "LAKEHOUSE_PUBLIC_URL_PREFIX");
    s->public_url_prefix = pub && *pub ? lh_strdup(pub) : NULL;
    int64_t v;
    lh_status rc;
    if ((rc = env_int(&d, "LAKEHOUSE_GRACE_PERIOD_DAYS", 30, 0, 100000, &v, err)) != LH_OK) goto fail;
    s->grace_period_days = (int)v;
    if ((rc = env_int(&d, "LAKEHOUSE_MAX_BUFFER_ROWS", 1000000, 1, INT64_MAX, &v, err)) != LH_OK) goto fail;
    s->max_buffer_rows = v;
    if ((rc = env_int(&d, "LAKEHOUSE_LOCK_MAX_RETRIES", 10, 0, 1000, &v, err)) != LH_OK) goto fail;
    s->lock_max_retries = (int)v;
    if ((rc = env_int(&d, "LAKEHOUSE_LOCK_BACKOFF_MS", 1000, 0, 600000, &v, err)) != LH_OK) goto fail;
    s->lock_backoff_ms = (int)v;
    if ((rc = env_int(&d, "LAKEHOUSE_WORKERS", 0, 0, 64, &v, err)) != LH_OK) goto fail;
    s->workers = (int)v;
    if ((rc = env_int(&d, "LAKEHOUSE_SORT_MEMORY_MB", 64, 1, 1 << 20, &v, err)) != LH_OK) goto fail;
    s->sort_memory_mb = v;
    dotenv_free(&d);
    return LH_OK;
fail:
    dotenv_free(&d);
    lh_settings_free(s);
    return rc;
}

void lh_settings_free(lh_settings *s)
{
    free(s->uri);
    free(s->journal_uri);
    free(s->public_url_prefix);
    s->uri = NULL;
    s->journal_uri = NULL;
    s->public_url_prefix = NULL;
}
