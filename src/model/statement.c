/* Statement batches: rows plus an arena that owns every string. */
#include "lh/model/statement.h"

#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/model/keys.h"

void lh_stmt_batch_init(lh_stmt_batch *b)
{
    b->rows = NULL;
    b->len = 0;
    b->cap = 0;
    lh_arena_init(&b->arena, 64 * 1024);
}

void lh_stmt_batch_free(lh_stmt_batch *b)
{
    free(b->rows);
    lh_arena_free(&b->arena);
    b->rows = NULL;
    b->len = b->cap = 0;
}

void lh_stmt_batch_clear(lh_stmt_batch *b)
{
    b->len = 0;
    lh_arena_reset(&b->arena);
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
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->rows = lh_realloc(b->rows, b->cap * sizeof *b->rows);
    }
    static const lh_statement none;
    const lh_statement *p = b->len ? &b->rows[b->len - 1] : &none;
    lh_statement *d = &b->rows[b->len++];
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
