/* Statement batches: rows plus an arena that owns every string. */
#include "lh/model/statement.h"

#include <stdlib.h>
#include <string.h>

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
