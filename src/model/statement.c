/* Statement batches: rows plus an arena that owns every string. */
#include "lh/model/statement.h"

#include <stdlib.h>
#include <string.h>

#include "lh/core/hash.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
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

/* An open-addressing table of the batch's row identities, a slot per
 * 8 bytes (the table is a cache miss per row at best: two arrays were two):
 * the row's place + 1 (0: free) and 32 bits of its identity hash. */
typedef struct index_slot {
    uint32_t place;
    uint32_t tag;
} index_slot;

struct lh_stmt_index {
    index_slot *slots;
    size_t cap, used; /* cap: a power of two, at most half used */
};

lh_stmt_index *lh_stmt_index_new(void)
{
    return lh_calloc(1, sizeof(lh_stmt_index));
}

void lh_stmt_index_free(lh_stmt_index *x)
{
    if (!x) return;
    free(x->slots);
    free(x);
}

void lh_stmt_index_reset(lh_stmt_index *x)
{
    if (x->cap) memset(x->slots, 0, x->cap * sizeof *x->slots);
    x->used = 0;
}

/* Rows of one identity share their id, so the id alone is the hash; a
 * statement id is a SHA-1 in hex, whose first 16 digits are one already
 * (other ids are hashed). */
static uint64_t identity_hash(const lh_statement *s)
{
    uint64_t h = 0;
    for (int i = 0; i < 16; i++) {
        int d = lh_hex_value(s->id[i]);
        if (d < 0) return lh_xxh64(s->id, strlen(s->id), 0);
        h = h << 4 | (uint64_t)d;
    }
    return h;
}

static void index_put(lh_stmt_index *x, uint64_t h, size_t place)
{
    size_t k = (size_t)h & (x->cap - 1);
    while (x->slots[k].place) k = (k + 1) & (x->cap - 1);
    x->slots[k] = (index_slot){(uint32_t)(place + 1), (uint32_t)(h >> 32)};
    x->used++;
}

static void index_grow(lh_stmt_index *x, const lh_stmt_batch *b)
{
    size_t old_cap = x->cap;
    index_slot *old = x->slots;
    x->cap = old_cap ? old_cap * 2 : 1024;
    x->slots = lh_calloc(x->cap, sizeof *x->slots);
    x->used = 0;
    for (size_t k = 0; k < old_cap; k++)
        if (old[k].place)
            index_put(x, identity_hash(&b->rows[old[k].place - 1]), old[k].place - 1);
    free(old);
}

/* Rows hashed ahead of their lookups: the table is far larger than the
 * caches, and a slot's load a miss; prefetched together, an entity's
 * misses overlap instead of following one another. */
#define FOLD_AHEAD 16

size_t lh_stmt_index_fold(lh_stmt_index *x, lh_stmt_batch *b, size_t from)
{
    size_t kept = from;
    uint64_t ahead[FOLD_AHEAD];
    for (size_t i = from; i < b->len; i++) {
        size_t lane = (i - from) % FOLD_AHEAD;
        if (lane == 0) {
            for (size_t j = 0; j < FOLD_AHEAD && i + j < b->len; j++) {
                ahead[j] = identity_hash(&b->rows[i + j]);
                if (x->cap) __builtin_prefetch(&x->slots[(size_t)ahead[j] & (x->cap - 1)]);
            }
        }
        const lh_statement *s = &b->rows[i];
        uint64_t h = ahead[lane];
        uint32_t tag = (uint32_t)(h >> 32);
        size_t found = 0;
        if (x->cap) {
            for (size_t k = (size_t)h & (x->cap - 1); x->slots[k].place; k = (k + 1) & (x->cap - 1))
                if (x->slots[k].tag == tag && identity_cmp(&b->rows[x->slots[k].place - 1], s) == 0) {
                    found = x->slots[k].place;
                    break;
                }
        }
        if (found) {
            b->rows[found - 1] = *s; /* the later row, in the first one's place */
            continue;
        }
        if (kept != i) b->rows[kept] = *s;
        /* places past 32 bits (a batch of four billion rows) go unindexed */
        if (kept < UINT32_MAX - 1) {
            if (2 * (x->used + 1) > x->cap) index_grow(x, b);
            index_put(x, h, kept);
        }
        kept++;
    }
    size_t dropped = b->len - kept;
    b->len = kept;
    return dropped;
}
