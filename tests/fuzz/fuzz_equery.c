/* libFuzzer target: arbitrary bytes as an `entities iterate -q` query
 * string (lh_equery_parse) and as an `--rql` one (lh_equery_parse_rql),
 * and what parses matched against a small fixed entity and described. Built with clang only (cmake/reliab_fuzz.cmake); ctest
 * fuzz_equery. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lh/model/equery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lh_statement row(const char *schema, const char *prop, const char *type, const char *v)
{
    lh_statement s = {0};
    s.id = "s";
    s.entity_id = "e1";
    s.canonical_id = "e1";
    s.dataset = "fuzz";
    s.schema = schema;
    s.prop = prop;
    s.prop_type = type;
    s.value = v;
    s.fragment = "";
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lh_error err;
    const lh_model *m = lh_model_get(&err);
    if (!m) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0'; /* a NUL inside ends the string, as argv would */
    const lh_statement rows[] = {
        row("Person", "name", "name", "Jane Doe"),
        row("Person", "birthDate", "date", "1961-02-03"),
        row("Person", "nationality", "country", "ru"),
        row("Person", "country", "country", "de"),
        row("Person", "createdAt", "date", "2025-01-01"),
    };
    lh_status (*const parsers[])(const lh_model *, const char *, lh_equery **, lh_error *) = {
        lh_equery_parse, lh_equery_parse_rql};
    for (size_t p = 0; p < 2; p++) {
        lh_equery *q = NULL;
        if (parsers[p](m, text, &q, &err) == LH_OK) {
            (void)lh_equery_match(q, rows, sizeof rows / sizeof *rows);
            (void)lh_equery_match(q, rows, 0);
            size_t n;
            (void)lh_equery_schemata(q, &n);
            const char *prop, *type, *value;
            (void)lh_equery_value_row(q, &prop, &type, &value);
            lh_buf b = LH_BUF_INIT;
            lh_equery_describe(q, &b);
            lh_buf_free(&b);
            lh_equery_order o;
            (void)lh_equery_order_of(q, &o);
        }
        lh_equery_free(q);
    }
    int64_t milli;
    (void)lh_equery_numeric(text, &milli);
    free(text);
    return 0;
}
