/* Model layer: the embedded model, lookups through inheritance, common
 * schema, keys, and the runtime override (JSON file, YAML folder) including
 * its failure paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lh/core/mem.h"
#include "lh/model/countries.h"
#include "lh/model/keys.h"
#include "lh/model/model.h"
#include "lh/model/names.h"
#include "lh/model/statement.h"
#include "model/model_internal.h"
#include "test.h"

static const lh_model *M;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_embedded(void)
{
    CHECK(lh_model_schema_count(M) > 60);
    const lh_schema *person = lh_model_schema(M, "Person");
    CHECK(person != NULL);
    CHECK(!person->abstract);
    CHECK(lh_model_schema(M, "Thing")->abstract);
    CHECK(lh_schema_is_a(person, "LegalEntity"));
    CHECK(lh_schema_is_a(person, "Thing"));
    CHECK(lh_schema_is_a(person, "Person"));
    CHECK(!lh_schema_is_a(person, "Company"));
    CHECK(lh_model_schema(M, "Nope") == NULL);
    const lh_prop *name = lh_schema_prop(person, "name");
    CHECK(name != NULL);
    CHECK_STR(name->type, "name");
    CHECK_STR(name->qname, "Thing:name");
    CHECK_STR(name->schema->name, "Thing");
    CHECK(lh_schema_prop(person, "nope") == NULL);
    const lh_prop *owner = lh_schema_prop(lh_model_schema(M, "Ownership"), "owner");
    CHECK_STR(owner->range->name, "LegalEntity");
    CHECK_STR(owner->reverse, "ownershipOwner");
    const lh_prop *rev = lh_schema_prop(person, "ownershipOwner");
    CHECK(rev && rev->stub);
    CHECK_INT(person->n_caption > 0, 1);
    CHECK_STR(person->caption[0], "name");
    const lh_schema *le = lh_model_schema(M, "LegalEntity");
    bool has_person = false;
    for (size_t i = 0; i < le->n_descendants; i++)
        has_person |= !strcmp(le->descendants[i]->name, "Person");
    CHECK(has_person);
}

static void test_prop_type(void)
{
    lh_error err;
    const char *t;
    CHECK_OK(lh_model_prop_type(M, "Person", "birthDate", &t, &err), &err);
    CHECK_STR(t, "date");
    CHECK_OK(lh_model_prop_type(M, "Nope", "id", &t, &err), &err);
    CHECK_STR(t, "id");
    CHECK_RC(lh_model_prop_type(M, "Nope", "name", &t, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "Nope") != NULL);
    CHECK_RC(lh_model_prop_type(M, "Person", "nope", &t, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "Person:nope") != NULL);
}

static void test_common_schema(void)
{
    lh_error err;
    const lh_schema *out;
    const lh_schema *person = lh_model_schema(M, "Person"), *le = lh_model_schema(M, "LegalEntity");
    const lh_schema *company = lh_model_schema(M, "Company");
    CHECK_OK(lh_model_common_schema(M, person, le, &out, &err), &err);
    CHECK(out == person);
    CHECK_OK(lh_model_common_schema(M, le, person, &out, &err), &err);
    CHECK(out == person);
    CHECK_RC(lh_model_common_schema(M, person, company, &out, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "Person") && strstr(err.msg, "Company"));
    CHECK(lh_model_merge_schema(M, person, company) == le);
    CHECK(lh_model_merge_schema(M, person, le) == person);
}

static void test_keys(void)
{
    char id[41], shard[LH_SHARD_MAX];
    lh_statement_key("ds", "e1", "name", "Alice", NULL, false, id);
    CHECK_STR(id, "86f3348b87206314dc869c82117fe107f6b386e4");
    lh_statement_key("ds", "e1", "name", "Alice", "eng", true, id);
    CHECK_STR(id, "5b2d435daaca29a853a0589531f84fce9c770f05");
    const int counts[] = {0, 1, 8, 32, 4096};
    const char *want[] = {"0", "0", "6", "1e", "d3e"};
    for (int i = 0; i < 5; i++) {
        lh_shard_key("e1", counts[i], shard);
        CHECK_STR(shard, want[i]);
    }
    CHECK_INT(lh_shard_width(16), 1);
    CHECK_INT(lh_shard_width(17), 2);
    CHECK_INT(lh_shard_width(256), 2);
    CHECK_INT(lh_shard_width(4096), 3);
    CHECK_STR(lh_schema_bucket(lh_model_schema(M, "Pages")), "document");
    CHECK_STR(lh_schema_bucket(lh_model_schema(M, "Page")), "page");
    CHECK_STR(lh_schema_bucket(lh_model_schema(M, "Mention")), "mention");
    CHECK_STR(lh_schema_bucket(lh_model_schema(M, "Ownership")), "interval");
    CHECK_STR(lh_schema_bucket(lh_model_schema(M, "Person")), "thing");
    CHECK(!lh_type_has_lang("date"));
    CHECK(lh_type_has_lang("name"));
}

/* A pushed row owns copies of its strings; a field equal to the previous
 * row's shares that row's copy, a different one (even a prefix) does not. */
static void test_batch_push(void)
{
    char e1[] = "entity-1", e2[] = "entity-1", ds[] = "ds", ds2[] = "dsx";
    lh_statement a = {.id = "s1", .entity_id = e1, .dataset = ds, .bucket = "thing",
                      .origin = "o", .schema = "Person", .prop = "name", .value = "Ann",
                      .fragment = ""};
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_stmt_batch_push(&b, &a);
    a.id = "s2";
    a.entity_id = e2;   /* equal bytes, another buffer */
    a.dataset = ds2;    /* ds is a prefix of it */
    a.value = "Ann";
    lh_stmt_batch_push(&b, &a);
    e1[0] = e2[0] = 'X'; /* the batch keeps its own copies */
    ds[0] = ds2[0] = 'X';
    CHECK_STR(b.rows[0].entity_id, "entity-1");
    CHECK_STR(b.rows[1].entity_id, "entity-1");
    CHECK(b.rows[0].entity_id == b.rows[1].entity_id);
    CHECK(b.rows[0].schema == b.rows[1].schema);
    CHECK_STR(b.rows[0].dataset, "ds");
    CHECK_STR(b.rows[1].dataset, "dsx");
    CHECK_STR(b.rows[1].id, "s2");
    CHECK(b.rows[0].canonical_id == NULL && b.rows[1].canonical_id == NULL);
    CHECK_STR(b.rows[1].fragment, "");
    lh_stmt_batch_free(&b);
}

/* Shallow rows point into a batch the receiving batch holds: they stay
 * valid until it is cleared, which frees the held batch (ASan checks), and
 * its bytes count as the receiver's. */
static void test_batch_hold(void)
{
    lh_statement a = {.id = "s1", .entity_id = "e", .dataset = "ds", .bucket = "thing",
                      .origin = "o", .schema = "Person", .prop = "name", .value = "Ann",
                      .fragment = ""};
    lh_stmt_batch *src = lh_malloc(sizeof *src);
    lh_stmt_batch_init(src);
    lh_stmt_batch_push(src, &a);
    lh_stmt_batch dst;
    lh_stmt_batch_init(&dst);
    size_t own = lh_stmt_batch_bytes(&dst);
    lh_stmt_batch_push_shallow(&dst, &src->rows[0]);
    CHECK(dst.rows[0].value == src->rows[0].value);
    size_t held = lh_stmt_batch_bytes(src);
    CHECK(held > 0);
    lh_stmt_batch_hold(&dst, src);
    CHECK_INT(lh_stmt_batch_bytes(&dst), own + held);
    CHECK_STR(dst.rows[0].value, "Ann");
    lh_stmt_batch_clear(&dst);
    CHECK_INT(dst.num_held, 0);
    CHECK_INT(lh_stmt_batch_bytes(&dst), own);
    /* held again, then freed with the batch */
    src = lh_malloc(sizeof *src);
    lh_stmt_batch_init(src);
    lh_stmt_batch_push(src, &a);
    lh_stmt_batch_push_shallow(&dst, &src->rows[0]);
    lh_stmt_batch_hold(&dst, src);
    CHECK_STR(dst.rows[0].id, "s1");
    lh_stmt_batch_free(&dst);
}

static void test_yaml_override(void)
{
    char *dir = lh_test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/things.yaml", dir);
    write_file(path,
               "Thing:\n  abstract: true\n  label: Thing\n  caption: [name]\n"
               "  properties:\n    name:\n      label: Name\n      type: name\n"
               "Pet:\n  extends: [Thing]\n  label: \"Pet\"\n  properties:\n"
               "    owner:\n      label: Owner\n      type: entity\n      range: Human\n"
               "      reverse:\n        name: pets\n        label: Pets\n"
               "Human:\n  extends:\n    - Thing\n  properties:\n    age:\n      type: number\n");
    lh_error err;
    lh_model *m = NULL;
    CHECK_OK(lh_model_load(dir, &m, &err), &err);
    if (m) {
        CHECK_INT(lh_model_schema_count(m), 3);
        const lh_schema *pet = lh_model_schema(m, "Pet");
        CHECK(lh_schema_is_a(pet, "Thing"));
        CHECK_STR(lh_schema_prop(pet, "name")->type, "name");
        const lh_prop *pets = lh_schema_prop(lh_model_schema(m, "Human"), "pets");
        CHECK(pets && pets->stub);
        CHECK(pets && pets->range == pet);
        CHECK(lh_model_schema(m, "Thing")->abstract);
        CHECK(lh_schema_prop(lh_model_schema(m, "Human"), "name")->matchable); /* type default */
        lh_model_free(m);
    }
    /* failure paths: unknown extends, unknown type, bad YAML, missing path */
    write_file(path, "Pet:\n  extends: [Nope]\n");
    CHECK_RC(lh_model_load(dir, &m, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "Nope") != NULL);
    write_file(path, "Pet:\n  properties:\n    x:\n      type: wat\n");
    CHECK_RC(lh_model_load(dir, &m, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "Pet:x") && strstr(err.msg, "wat"));
    write_file(path, "Pet: [unclosed\n");
    CHECK_RC(lh_model_load(dir, &m, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "things.yaml") != NULL);
    write_file(path, "A:\n  extends: [B]\nB:\n  extends: [A]\n");
    CHECK_RC(lh_model_load(dir, &m, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "circular") != NULL);
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK_RC(lh_model_load(path, &m, &err), LH_ERR_NOT_FOUND);
    CHECK(m == NULL);
    lh_test_rmtree(dir);
    free(dir);
}

static void test_json_override(void)
{
    lh_error err;
    lh_model *m = NULL;
    const char *bad = "{\"schemata\": {\"A\": {\"properties\": {}}}";
    CHECK_RC(lh_model_load_json(bad, strlen(bad), "x.json", &m, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "x.json:") != NULL);
    const char *notypes = "{\"schemata\": {}}";
    CHECK_RC(lh_model_load_json(notypes, strlen(notypes), "x.json", &m, &err), LH_ERR_INVALID);
    const char *caption = "{\"types\": {\"name\": {}}, \"schemata\": {\"A\": {\"caption\": [\"n\"]}}}";
    CHECK_RC(lh_model_load_json(caption, strlen(caption), "x.json", &m, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "caption") != NULL);
    const char *ok = "{\"types\": {\"name\": {\"matchable\": true}}, \"schemata\": {\"A\": "
                     "{\"caption\": [\"n\"], \"properties\": {\"n\": {\"type\": \"name\"}}}}}";
    CHECK_OK(lh_model_load_json(ok, strlen(ok), "x.json", &m, &err), &err);
    CHECK(m && !lh_schema_prop(lh_model_schema(m, "A"), "n")->matchable);
    lh_model_free(m);
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_schema_ref(const lh_schema *a, const lh_schema *b)
{
    return (!a && !b) || (a && b && strcmp(a->name, b->name) == 0);
}

static int schema_list_diff(const lh_schema *const *a, size_t na, const lh_schema *const *b,
                            size_t nb)
{
    int bad = na != nb;
    for (size_t i = 0; i < na && i < nb; i++) bad += !same_schema_ref(a[i], b[i]);
    return bad;
}

static int str_list_diff(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    int bad = na != nb;
    for (size_t i = 0; i < na && i < nb; i++) bad += !same_str(a[i], b[i]);
    return bad;
}

/* The builtin model (static data written at build time) is the model the
 * builder makes from the embedded JSON, field by field. */
static void test_builtin_matches_json(void)
{
    lh_error err;
    const lh_model *got = lh_model_get(&err);
    lh_model *want = NULL;
    CHECK_OK(lh_model_load_embedded(&want, &err), &err);
    CHECK(got && want && got != want);
    if (!got || !want) return;
    CHECK_STR(lh_model_version(got), lh_model_version(want));
    CHECK_INT(lh_model_type_count(got), lh_model_type_count(want));
    for (size_t i = 0; i < lh_model_type_count(want); i++)
        CHECK_STR(lh_model_type_at(got, i), lh_model_type_at(want, i));
    CHECK_INT(lh_model_schema_count(got), lh_model_schema_count(want));
    int bad = 0;
    size_t props = 0;
    for (size_t i = 0; i < lh_model_schema_count(want); i++) {
        const lh_schema *a = lh_model_schema_at(got, i), *b = lh_model_schema_at(want, i);
        bad += !same_str(a->name, b->name) || !same_str(a->label, b->label) ||
               !same_str(a->plural, b->plural) || a->abstract != b->abstract ||
               a->matchable != b->matchable || a->hidden != b->hidden ||
               a->generated != b->generated || a->deprecated != b->deprecated;
        bad += schema_list_diff(a->extends, a->n_extends, b->extends, b->n_extends);
        bad += schema_list_diff(a->schemata, a->n_schemata, b->schemata, b->n_schemata);
        bad += schema_list_diff(a->descendants, a->n_descendants, b->descendants,
                                b->n_descendants);
        bad += str_list_diff(a->caption, a->n_caption, b->caption, b->n_caption);
        bad += str_list_diff(a->featured, a->n_featured, b->featured, b->n_featured);
        bad += str_list_diff(a->required, a->n_required, b->required, b->n_required);
        bad += a->n_props != b->n_props;
        for (size_t k = 0; k < a->n_props && k < b->n_props; k++, props++) {
            const lh_prop *p = a->props[k], *q = b->props[k];
            bad += !same_str(p->name, q->name) || !same_str(p->qname, q->qname) ||
                   !same_str(p->label, q->label) || !same_str(p->type, q->type) ||
                   !same_schema_ref(p->schema, q->schema) || !same_schema_ref(p->range, q->range) ||
                   !same_str(p->reverse, q->reverse) || p->max_length != q->max_length ||
                   p->stub != q->stub || p->matchable != q->matchable || p->hidden != q->hidden ||
                   p->deprecated != q->deprecated;
            /* a property is one object, shared by the schemata that inherit it */
            const lh_prop *own = lh_schema_prop(p->schema, p->name);
            bad += own != p;
        }
    }
    CHECK_INT(bad, 0);
    CHECK(props > 1000);
    /* derived lookups work on it */
    const lh_schema *person = lh_model_schema(got, "Person");
    CHECK(person && lh_schema_is_a(person, "LegalEntity"));
    const char *type = NULL;
    CHECK_OK(lh_model_prop_type(got, "Person", "nationality", &type, &err), &err);
    CHECK_STR(type, "country");
    lh_model_free(want);
}

/* Labels as ftmq's get_country_name gives them: rigour's identifiers
 * (other codes, alpha-3, Wikidata ids), cleaned as rigour cleans them. */
static void test_country_names(void)
{
    CHECK_STR(lh_country_name("de"), "Germany");
    CHECK_STR(lh_country_name("UK"), "United Kingdom");
    CHECK_STR(lh_country_name(" deu "), "Germany");
    CHECK_STR(lh_country_name("Q183"), "Germany");
    CHECK_STR(lh_country_name("su"), "Soviet Union");
    CHECK_STR(lh_country_name("sh_ac"), "Ascension Island");
    CHECK(lh_country_name("xx") == NULL);
    CHECK(lh_country_name("") == NULL);
    /* the model's own codes, for config.yml, are unchanged */
    CHECK_STR(lh_country_code("Germany"), "de");
    CHECK(lh_country_code("deu") == NULL);
}

/* The table the bit-parallel distance must agree with, cell by cell. */
static size_t table_distance(const unsigned *a, size_t an, const unsigned *b, size_t bn)
{
    size_t *row = malloc((bn + 1) * sizeof *row);
    for (size_t j = 0; j <= bn; j++) row[j] = j;
    for (size_t i = 1; i <= an; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[bn];
    free(row);
    return d;
}

static size_t encode_utf8(const unsigned *cps, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = cps[i];
        if (c < 0x80) {
            out[k++] = (char)c;
        } else if (c < 0x800) {
            out[k++] = (char)(0xC0 | c >> 6);
            out[k++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[k++] = (char)(0xE0 | c >> 12);
            out[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[k++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[k] = 0;
    return k;
}

/* Names of every length up to rigour's cap and past it (one to seven
 * blocks of 64), edited copies of each other over small alphabets mixing
 * ASCII and other scripts, so that both matches and edits are common. */
static void test_names_distance(void)
{
    static const unsigned alpha[] = {'a', 'b', 'c', ' ', 0xE9, 0x436, 0x3B1, 0x4E2D};
    unsigned seed = 12345;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7FFF)
    unsigned a[450], b[450];
    char as[450 * 3 + 1], bs[450 * 3 + 1];
    size_t checked = 0;
    for (int round = 0; round < 600; round++) {
        size_t an = round < 450 ? (size_t)round : RND() % 450;
        size_t nalpha = 2 + RND() % 7;
        for (size_t i = 0; i < an; i++) a[i] = alpha[RND() % nalpha];
        /* b: a edited, or unrelated */
        size_t bn = 0;
        if (RND() % 4) {
            for (size_t i = 0; i < an && bn < 440; i++) {
                unsigned r = RND() % 20;
                if (r == 0) continue;                               /* deleted */
                if (r == 1) b[bn++] = alpha[RND() % nalpha];       /* inserted */
                b[bn++] = r == 2 ? alpha[RND() % nalpha] : a[i];   /* substituted */
            }
        } else {
            bn = RND() % 450;
            for (size_t i = 0; i < bn; i++) b[i] = alpha[RND() % nalpha];
        }
        encode_utf8(a, an, as);
        encode_utf8(b, bn, bs);
        size_t capa = an > 384 ? 384 : an, capb = bn > 384 ? 384 : bn;
        size_t want = table_distance(a, capa, b, capb);
        size_t got = lh_names_distance(as, bs);
        if (got != want) {
            fprintf(stderr, "round %d: lengths %zu and %zu: %zu, the table %zu\n", round, an, bn,
                    got, want);
            CHECK(got == want);
            break;
        }
        CHECK_INT(lh_names_distance(bs, as), want); /* symmetric */
        checked++;
    }
#undef RND
    CHECK_INT(checked, 600);
    CHECK_INT(lh_names_distance("", ""), 0);
    CHECK_INT(lh_names_distance("", "abc"), 3);
    CHECK_INT(lh_names_distance("kitten", "sitting"), 3);
    CHECK_INT(lh_names_distance("Müller", "Mueller"), 2);
}

int main(void)
{
    lh_error err;
    M = lh_model_get(&err);
    if (!M) {
        fprintf(stderr, "model: %s\n", err.msg);
        return 1;
    }
    CHECK(lh_model_get(NULL) == M);
    RUN(test_embedded);
    RUN(test_builtin_matches_json);
    RUN(test_prop_type);
    RUN(test_common_schema);
    RUN(test_keys);
    RUN(test_batch_push);
    RUN(test_batch_hold);
    RUN(test_yaml_override);
    RUN(test_json_override);
    RUN(test_country_names);
    RUN(test_names_distance);
    return lh_test_report();
}
