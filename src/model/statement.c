/* Statement batches: rows plus an arena that owns every string. */
#include "lh/model/statement.h"

#include <stdlib.h>
#include <string.h>

#include "lh/core/hash.h"
#include "lh/core/mem.h"
#include "lh/model/keys.h"

void lh_stmt_batch_init(lh_stmt_batch *b)
{
    memset(b, 0, sizeof *b);
    lh_arena_init(&b->arena, 64 * 1024);
}

static void release_held(lh_stmt_batch *b)
{
    for (size_t i = 0; i < b->num_held; i++) {
        lh_stmt_batch_free(b->held[i]);
        free(b->held[i]);
    }
    b->num_held = 0;
    b->held_bytes = 0;
}

void lh_stmt_batch_free(lh_stmt_batch *b)
{
    release_held(b);
    free(b->held);
    free(b->rows);
    lh_arena_free(&b->arena);
    b->held = NULL;
    b->held_cap = 0;
    b->rows = NULL;
    b->len = b->cap = 0;
}

void lh_stmt_batch_clear(lh_stmt_batch *b)
{
    b->len = 0;
    lh_arena_reset(&b->arena);
    release_held(b);
}

void lh_stmt_batch_hold(lh_stmt_batch *b, lh_stmt_batch *other)
{
    /* only its strings are needed */
    free(other->rows);
    other->rows = NULL;
    other->len = other->cap = 0;
    b->held = lh_grow(b->held, &b->held_cap, b->num_held + 1, sizeof *b->held);
    b->held[b->num_held++] = other;
    b->held_bytes += lh_stmt_batch_bytes(other);
}

size_t lh_stmt_batch_bytes(const lh_stmt_batch *b)
{
    return b->arena.total + b->held_bytes;
}

static lh_statement *next_row(lh_stmt_batch *b)
{
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->rows = lh_realloc(b->rows, b->cap * sizeof *b->rows);
    }
    return &b->rows[b->len++];
}

lh_statement *lh_stmt_batch_push_shallow(lh_stmt_batch *b, const lh_statement *s)
{
    lh_statement *d = next_row(b);
    *d = *s;
    return d;
}

static const char *dup_or_null(lh_arena *a, const char *s)
{
    return s ? lh_arena_strdup(a, s) : NULL;
}

/* s copied into the arena, or prev (the same field of the batch's previous
 * row) when equal: rows of one entity repeat most fields, and sharing them
 * saves the copy and the memory (strings of a batch are never modified). */
static const char *dup_like(lh_arena *a, const char *s, const char *prev)
{
    if (!s) return NULL;
    if (prev && (prev == s || strcmp(prev, s) == 0)) return prev;
    return lh_arena_strdup(a, s);
}

lh_statement *lh_stmt_batch_push(lh_stmt_batch *b, const lh_statement *s)
{
    static const lh_statement none;
    lh_statement *d = next_row(b);
    const lh_statement *p = b->len > 1 ? &b->rows[b->len - 2] : &none;
    *d = *s;
    d->shard = dup_like(&b->arena, s->shard, p->shard);
    d->id = dup_or_null(&b->arena, s->id);
    d->entity_id = dup_like(&b->arena, s->entity_id, p->entity_id);
    d->canonical_id = dup_like(&b->arena, s->canonical_id, p->canonical_id);
    d->dataset = dup_like(&b->arena, s->dataset, p->dataset);
    d->bucket = dup_like(&b->arena, s->bucket, p->bucket);
    d->origin = dup_like(&b->arena, s->origin, p->origin);
    d->source = dup_like(&b->arena, s->source, p->source);
    d->schema = dup_like(&b->arena, s->schema, p->schema);
    d->prop = dup_like(&b->arena, s->prop, p->prop);
    d->prop_type = dup_like(&b->arena, s->prop_type, p->prop_type);
    d->value = dup_or_null(&b->arena, s->value);
    d->original_value = dup_or_null(&b->arena, s->original_value);
    d->lang = dup_like(&b->arena, s->lang, p->lang);
    d->fragment = s->fragment ? dup_like(&b->arena, s->fragment, p->fragment) : "";
    d->role = (s->role && *s->role) ? dup_like(&b->arena, s->role, p->role) : NULL;
    return d;
}

void lh_stmt_batch_assign_shards(lh_stmt_batch *b, size_t from, int shards)
{
    char key[LH_SHARD_MAX];
    const char *prev_entity = NULL, *prev_shard = NULL;
    for (size_t i = from; i < b->len; i++) {
        lh_statement *s = &b->rows[i];
        /* rows of one entity come together: hash each entity once */
        if (!prev_entity || strcmp(prev_entity, s->entity_id) != 0) {
            lh_shard_key(s->entity_id, shards, key);
            prev_shard = lh_arena_strdup(&b->arena, key);
            prev_entity = s->entity_id;
        }
        s->shard = prev_shard;
    }
}

static const char *role_key(const char *role)
{
    return role ? role : "";
}

static int identity_cmp(const lh_statement *a, const lh_statement *b)
{
    int c;
    if ((c = strcmp(a->id, b->id))) return c;
    if ((c = strcmp(a->origin, b->origin))) return c;
    if ((c = strcmp(a->fragment, b->fragment))) return c;
    return strcmp(role_key(a->role), role_key(b->role));
}

/* An open-addressing table of the batch's row identities: slot k holds
 * a row's place + 1 (0: free) and its identity hash. */
struct lh_stmt_index {
    size_t *place;
    uint64_t *hash;
    size_t cap, used; /* cap: a power of two, at most half used */
};

lh_stmt_index *lh_stmt_index_new(void)
{
    return lh_calloc(1, sizeof(lh_stmt_index));
}

void lh_stmt_index_free(lh_stmt_index *x)
{
    if (!x) return;
    free(x->place);
    free(x->hash);
    free(x);
}

void lh_stmt_index_reset(lh_stmt_index *x)
{
    if (x->cap) memset(x->place, 0, x->cap * sizeof *x->place);
    x->used = 0;
}

static uint64_t identity_hash(const lh_statement *s)
{
    /* the fields with their NULs: "ab" + "c" and "a" + "bc" differ */
    const char *parts[] = {s->id, s->origin, s->fragment, role_key(s->role)};
    uint64_t h = 0;
    for (size_t i = 0; i < 4; i++) h = lh_xxh64(parts[i], strlen(parts[i]) + 1, h);
    return h;
}

static void index_put(lh_stmt_index *x, uint64_t h, size_t place)
{
    size_t k = (size_t)h & (x->cap - 1);
    while (x->place[k]) k = (k + 1) & (x->cap - 1);
    x->place[k] = place + 1;
    x->hash[k] = h;
    x->used++;
}

static void index_grow(lh_stmt_index *x)
{
    size_t old_cap = x->cap;
    size_t *old_place = x->place;
    uint64_t *old_hash = x->hash;
    x->cap = old_cap ? old_cap * 2 : 1024;
    x->place = lh_calloc(x->cap, sizeof *x->place);
    x->hash = lh_calloc(x->cap, sizeof *x->hash);
    x->used = 0;
    for (size_t k = 0; k < old_cap; k++)
        if (old_place[k]) index_put(x, old_hash[k], old_place[k] - 1);
    free(old_place);
    free(old_hash);
}

size_t lh_stmt_index_fold(lh_stmt_index *x, lh_stmt_batch *b, size_t from)
{
    size_t kept = from;
    for (size_t i = from; i < b->len; i++) {
        const lh_statement *s = &b->rows[i];
        uint64_t h = identity_hash(s);
        size_t found = 0;
        if (x->cap) {
            for (size_t k = (size_t)h & (x->cap - 1); x->place[k]; k = (k + 1) & (x->cap - 1))
                if (x->hash[k] == h && identity_cmp(&b->rows[x->place[k] - 1], s) == 0) {
                    found = x->place[k];
                    break;
                }
        }
        if (found) {
            b->rows[found - 1] = *s; /* the later row, in the first one's place */
            continue;
        }
        if (2 * (x->used + 1) > x->cap) index_grow(x);
        b->rows[kept] = *s;
        index_put(x, h, kept++);
    }
    size_t dropped = b->len - kept;
    b->len = kept;
    return dropped;
}
