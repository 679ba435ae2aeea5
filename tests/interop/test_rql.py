"""`entities iterate --rql` against the reference's RQL path (ftmq
`Query.from_rql`, pyrql's grammar): the same RQL text parses to the same
filter tree, selects the same entities over the same lakes, and what neither
side takes is refused; what only ours refuses is refused naming the thing.

The parse is compared tree against tree: `lh-model query rql TEXT` prints
ours in the shape of ftmq's `Expr.to_dict()`, and the reference's is
`Query.from_rql(TEXT).q.to_dict()` computed here, in-process. The selection
is compared as `test_query.py` compares `-q`: the reference's entity ids per
query over a lake our CLI imported, all computed in one Python process."""
import json

import pytest
from ftmq import Query

from conftest import ref_cli, run, tool
from test_cli import ours
from test_query import DATASETS, ids, lake, reference_ids  # noqa: F401 (lake: a fixture)
from test_query import QUERIES as ALEPH_QUERIES

# pyrql calls pyparsing's deprecated camelCase API on every parse
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")



# ---------------------------------------------------------------------------
# the parse: `lh-model query rql` against `Query.from_rql(...).q.to_dict()`

def canonical(tree):
    """ftmq orders children by their hash, ours in any order: sort every
    children list by the sorted-key JSON of each child, recursively. Leaves
    are compared as they are (an `in` value list is sorted by both)."""
    if tree is None or "leaf" in tree:
        return tree
    out = dict(tree)
    for key in ("and", "or"):
        if key in out:
            out[key] = sorted((canonical(c) for c in out[key]),
                              key=lambda c: json.dumps(c, sort_keys=True))
    return out


def ref_tree(kind: str, text: str):
    query = Query.from_rql(text) if kind == "rql" else Query.from_string(text)
    return None if query.q is None else query.q.to_dict()


def our_tree(kind: str, text: str):
    out = run([tool("lh-model"), "query", kind, text]).stdout
    lines = [line for line in out.split("\n") if line]
    assert len(lines) == 1, out  # one JSON line
    return json.loads(lines[0])


PARSE = [
    # call syntax, every RQL comparison; `ne` is ftmq's `not`, `out` its
    # `not_in`, `contains` its `like`
    "eq(name,Jane)",
    "ne(name,Jane)",
    "lt(date,2010)",
    "le(date,2010-06)",
    "gt(amountEur,1000)",
    "ge(date,2009-06-01)",
    "in(country,(de,ru))",
    "out(country,(de,ru))",
    "like(name,GmbH)",
    "ilike(name,gmbh)",
    "contains(name,AG)",
    # infix `a=b` and FIQL `a=op=b`
    "name=Jane",
    "name=eq=Jane",
    "name=ne=Jane",
    "date=ge=2010",
    "date=lt=2011",
    "country=in=(de,ru)",
    "country=out=(de,ru)",
    "name=like=*GmbH*",
    "name=ilike=*gmbh*",
    "name=contains=AG",
    # `&`, the top-level `,` (also AND) and parenthesised `|` groups
    "name=Jane&country=de",
    "name=Jane,country=de",
    "name=Jane&country=de,schema=Person",
    "(name=Jane)",
    "(name=Jane|country=de)",
    "(name=Jane|country=de)&schema=Person",
    "(name=Jane|country=de),(name=Max|country=fr)",
    "((name=Jane|country=de)|schema=Person)",
    # named connectives; a one-child group is that child
    "and(eq(name,Jane),eq(country,de))",
    "or(eq(name,Jane),eq(country,de))",
    "and(eq(name,Jane))",
    "or(eq(name,Jane))",
    "not(eq(name,Jane))",
    "and(or(eq(name,Jane),eq(country,de)),not(eq(schema,Person)))",
    "not(or(eq(name,Jane),eq(country,de)))",
    "or(not(eq(name,Jane)),eq(country,de))",
    "or(not(and(eq(name,Jane),eq(country,de))),eq(schema,Person))",
    # double negation cancels, a third one stays
    "not(not(eq(name,Jane)))",
    "not(not(not(eq(name,Jane))))",
    "not(not(or(eq(name,Jane),eq(country,de))))",
    # same-connector groups are spliced in, duplicate children dropped (an OR
    # keeps its single-leaf ANDs as children: ftmq's own shape)
    "and(and(eq(name,a),eq(country,de)),eq(schema,Person))",
    "or(or(eq(name,a),eq(name,b)),eq(name,c))",
    "or(and(eq(name,a),eq(country,de)),eq(name,b))",
    "and(eq(name,a),eq(name,a))",
    "or(eq(name,a),eq(name,a))",
    "and(not(eq(name,a)),not(eq(name,a)))",
    "and(eq(name,a),or(eq(name,a)))",
    "and(eq(name,a),not(not(eq(name,a))))",
    "or(eq(name,a),or(eq(name,a),eq(name,b)))",
    "and(or(eq(name,a),eq(name,b)),or(eq(name,b),eq(name,a)))",
    # bounds that co-refer (one value inside the window) parse as plain
    # leaves; the co-reference is the evaluator's (see SELECT)
    "and(ge(date,2010),lt(date,2011))",
    "date=ge=2010&date=lt=2011",
    "not(and(ge(date,2010),lt(date,2011)))",
    "and(ge(group.dates,2020),lt(group.dates,2000))",
    "and(gt(date,2010),ge(date,2010),le(date,2012))",
    "and(ge(date,2010),eq(date,2010-05-01))",
    "and(ge(date,2010),ge(date,2010))",
    "or(ge(date,2010),lt(date,2000))",
    # arrays: `in(f,a)` is a one-value set; values deduplicated and sorted,
    # converted as any value (7, 1000.0, True) before being stringified
    "in(name,a)",
    "in(name,(a))",
    "in(name,(b,a,b))",
    "in(name,(007,1e3,true))",
    "in(name,(a%2Cb,c))",
    "in(id,(x,y))",
    "in(schema,(Company,Person))",
    "out(schema,(Payment,Address))",
    "in(schemata,(LegalEntity,Address))",
    "out(schemata,Interval)",
    # numbers pyrql converts, then ftmq's str(): Python's int / float repr
    "eq(name,007)",
    "eq(name,00)",
    "eq(name,-007)",
    "eq(name,1.50)",
    "eq(name,0.10)",
    "eq(name,1e3)",
    "eq(name,1E3)",
    "eq(name,1e+3)",
    "eq(name,.5)",
    "eq(name,-.5)",
    "eq(name,5.)",
    "eq(name,5.e1)",
    "eq(name,+49)",
    "eq(name,-5)",
    "eq(name,-0)",
    "eq(name,-0.0)",
    "eq(name,1e15)",
    "eq(name,1e16)",
    "eq(name,1e22)",
    "eq(name,1.5e-7)",
    "eq(name,1e-4)",
    "eq(name,0.00001)",
    "eq(name,123456789.123456789)",
    "eq(name,123456789012345678901234)",
    "eq(name,1e400)",
    "eq(name,1e-400)",
    # ... and what stays a string: the longer of the number and string
    # matches wins, so a trailing space inside a call keeps "7 " a string
    "eq(name,7 )",
    "eq(name,1 2)",
    "eq(name,007x)",
    "eq(name,0x10)",
    "eq(name,1_000)",
    "eq(name,1e)",
    "eq(name,1.2.3)",
    "eq(name,- 5)",
    "eq(name,2010-01-01)",
    "eq(name,inf)",
    "eq(name,nan)",
    # pyparsing skips whitespace before a token, not inside one
    "eq(name, x)",
    "eq(name,x )",
    # true / false become Python bools, str()ed "True" / "False"
    "eq(name,true)",
    "eq(name,false)",
    "eq(name,trueish)",
    # typed values ours takes; a prefix whose value does not parse as that
    # type is no typed value but the plain string, prefix and all
    "eq(name,string:007)",
    "eq(name,string:true)",
    "eq(name,string:a b)",
    "eq(name,number:1)",
    "eq(name,number:007)",
    "eq(name,number:x)",
    "eq(name,boolean:true)",
    "eq(name,boolean:false)",
    "eq(name,boolean:x)",
    "eq(name,string)",
    # percent escapes, decoded one byte at a time: a multi-byte UTF-8 escape
    # becomes one U+FFFD per byte ("M\ufffd\ufffdller"); escapes in a field
    "eq(name,a%20b)",
    "eq(name,50%25)",
    "eq(name,%28x%29)",
    "eq(name,M%C3%BCller)",
    "eq(na%6De,Jane)",
    # raw non-ASCII is a plain string character
    "eq(name,Müller)",
    "eq(name,Москва)",
    # the other unreserved / reserved characters; `*` is dropped from
    # like / ilike / contains values only
    "eq(name,a~b._-:c)",
    "eq(name,@!$)",
    "eq(name,a*b)",
    "like(name,a*b)",
    "like(name,*)",
    "contains(name,*GmbH*)",
    "ilike(name,*gmbh)",
    # fields: meta names and their Aleph aliases, prefixed and bare
    # properties (a bare `topics` is the property), groups
    "eq(schema,Company)",
    "ne(schema,Payment)",
    "like(schema,Comp*)",
    "eq(schemata,LegalEntity)",
    "ne(schemata,LegalEntity)",
    "eq(dataset,don)",
    "eq(datasets,don)",
    "eq(collection_id,don)",
    "eq(collections,don)",
    "eq(id,x)",
    "eq(_id,x)",
    "ne(id,x)",
    "eq(entity_id,x)",
    "eq(canonical_id,x)",
    "eq(properties.name,x)",
    "eq(properties.topics,sanction)",
    "eq(topics,sanction)",
    "eq(group.topics,sanction)",
    "eq(group.countries,de)",
    "eq(country,de)",
    "ge(properties.amountEur,500000)",
    # a top-level empty `and()` is no filter at all (ftmq: q is None)
    "and()",
    # context columns (ftmq's C family); external's values stay text here
    "eq(context.origin,bulk)",
    "and(eq(context.prop,name),eq(dataset,x),ge(context.value,A))",
    "in(context.external,(true,0))",
    "not(eq(context.lang,eng))",
]


@pytest.mark.parametrize("text", PARSE)
def test_parse_as_ftmq(text):
    assert canonical(our_tree("rql", text)) == canonical(ref_tree("rql", text))


@pytest.mark.parametrize("text", ALEPH_QUERIES)
def test_aleph_parse_as_ftmq(text):
    """`lh-model query aleph` is `Query.from_string` over the `-q` queries of
    test_query.py (those select the same entities; here the trees agree)."""
    assert canonical(our_tree("aleph", text)) == canonical(ref_tree("aleph", text))


# ---------------------------------------------------------------------------
# refusals

# both refuse: ftmq raises (QueryError, pyrql's RQLSyntaxError, or a plain
# IndexError / AttributeError / ValueError from a malformed tree)
BOTH_REFUSE = [
    # pyrql syntax errors: a parenthesised group takes `|` only, a top-level
    # `|` needs parentheses, `/ " # =` are no value characters, `()` no array
    "(name=Jane&country=de)",
    "name=Jane|country=de",
    "eq(x,a/b)",
    'eq(name,"x")',
    "eq(name,a#b)",
    "eq(name,a=b)",
    "eq(name,%zz)",
    "in(name,())",
    "eq(name,x)&",
    "&eq(name,x)",
    "eq(name,x),",
    "eq(name,x",
    "eq(name,x))",
    "a",
    " ",
    # a keyword or typed value that matched is not given back: `true-x` is
    # `true` followed by junk, not the string "true-x"
    "eq(name,true-x)",
    "eq(name,false.x)",
    "eq(name,number:1x)",
    # operators ftmq has no filter for (sort and limit are RQL, not ftmq)
    "sort(+name)",
    "and(eq(name,x),sort(-date))",
    "limit(10)",
    "limit(10,5)",
    "foo(name,x)",
    "name=foo=x",
    # an aggregation or projection anywhere but at the top level
    "or(sum(properties.amountEur),eq(name,x))",
    "not(select(properties.name))",
    # arity
    "eq(name)",
    "eq()",
    "not()",
    # fields: a number or bool is no field name; `countries` is a group only
    "eq(nosuchprop,x)",
    "eq(properties.nosuchprop,x)",
    "eq(group.nosuchgroup,x)",
    "eq(countries,de)",
    "eq(1,x)",
    "eq(true,x)",
    # schemata
    "eq(schema,Nope)",
    "ne(schema,Nope)",
    "in(schema,(Company,Nope))",
    "in(schemata,(LegalEntity,Nope))",
    "lt(schemata,Company)",
    "like(schemata,Comp)",
    # a list where one value is wanted
    "eq(name,(a,b))",
    "like(name,(a,b))",
    # empty groups, but for a top-level `and()`
    "or()",
    "and(or())",
    "not(and())",
    "and(eq(name,x),and())",
    "(name=x|or())",
    # dateutil refuses the date (ours refuses `date:` as such)
    "eq(date,date:2020-13-01)",
]

# refused by ours only; the reference's answer in the comment
OURS_REFUSE = [
    # ftmq: timestamp columns compared with text DuckDB casts in the
    # session's time zone
    ("ge(context.first_seen,2020-01-01)", "context.first_seen"),
    ("and(eq(schema,Company),le(context.last_seen,2030))", "context.last_seen"),
    # ftmq: KeyError 'Y' (`year` resolves to a ref of no filter family)
    ("eq(year,2010)", "year"),
    ("ge(year,2010)", "year"),
    # ftmq: aggregations beside the filter, which `iterate` ignores (all
    # entities), and a projection `iterate` applies to the properties
    ("sum(properties.amountEur)", "sum"),
    ("min(properties.amountEur)", "min"),
    ("max(properties.amountEur)", "max"),
    ("mean(properties.amountEur)", "mean"),
    ("count(id)", "count"),
    ("aggregate(properties.country,sum(properties.amountEur))", "aggregate"),
    ("and(eq(schema,Payment),sum(properties.amountEur))", "sum"),
    ("select(properties.name)", "select"),
    ("and(eq(schema,Company),select(properties.name))", "select"),
    # ftmq: str() of the Python value: "2010-01-01", "2010-01-01 00:00:00",
    # "1970-01-01 00:00:00+00:00", a hyphenated uuid, "1.50"
    ("eq(date,date:2010-01-01)", "date:"),
    ("eq(date,datetime:2010-01-01T00:00:00)", "datetime:"),
    ("eq(date,epoch:0)", "epoch:"),
    ("eq(id,uuid:12345678123456781234567812345678)", "uuid:"),
    ("eq(amountEur,decimal:1.50)", "decimal:"),
    # ftmq: a None value (`IS NULL` in SQL), or the string "None" in a list
    ("eq(name,null)", "null"),
    ("in(name,(a,null))", "null"),
    # ftmq: reads the first two arguments and drops the rest unread, a
    # nested array as its Python str()
    ("in(schema,Person,Company)", "takes a field and a value"),
    ("eq(name,x,y)", "takes a field and a value"),
    ("not(eq(name,x),eq(country,de))", "not() takes one operator"),
    ("in(name,(a,(b,c)))", "the array takes plain values only"),
    # ftmq: a `__op` suffix in the field name is a comparator (`ge` here)
    ("eq(date__gte,2020)", "no schema has a property `date__gte`"),
    # ftmq: Python's / DuckDB's Unicode lower()
    ("ilike(name,*müller*)", "ilike"),
    ("ilike(name,M%C3%BCller)", "ilike"),
]


def assert_refused(res):
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert res.stdout == ""
    assert res.stderr.startswith("ftm-lakehouse entities iterate: rql"), res.stderr


@pytest.mark.parametrize("text", BOTH_REFUSE)
def test_both_refuse(lake, text):
    with pytest.raises(Exception):
        Query.from_rql(text)
    res = run([tool("lh-model"), "query", "rql", text], check=False)
    assert res.returncode == 2 and res.stdout == "" and res.stderr, (res.returncode, res.stdout)
    assert_refused(ours(lake, "don", "entities", "iterate", "--rql", text, check=False))


@pytest.mark.parametrize("text,thing", OURS_REFUSE)
def test_ours_refuses_naming_it(lake, text, thing):
    res = run([tool("lh-model"), "query", "rql", text], check=False)
    assert res.returncode == 2 and res.stdout == "", (res.returncode, res.stdout)
    res = ours(lake, "don", "entities", "iterate", "--rql", text, check=False)
    assert_refused(res)
    assert thing in res.stderr, res.stderr


@pytest.mark.parametrize("q,rql", [
    ("filter:schema=Company", "eq(schema,Company)"),
    # decided before either is parsed, as the reference's parse_query does
    # (which raises a ValueError its CLI does not catch: a traceback, exit 1)
    ("nonsense", "eq(name,x"),
])
def test_q_and_rql_together_is_a_usage_error(lake, q, rql):
    res = ours(lake, "don", "entities", "iterate", "-q", q, "--rql", rql, check=False)
    assert res.returncode == 2 and res.stdout == ""
    assert "either -q or --rql" in res.stderr, res.stderr


# ---------------------------------------------------------------------------
# the selection: the same entities as the reference's `entities iterate --rql`

SELECT = [
    "eq(schema,Company)",
    "schema=Company,country=de",
    # `in` on schemata (is-a, descendants included), and `out`
    "in(schemata,(LegalEntity,Address))",
    "out(schemata,Interval)",
    "(country=gb|country=cy)",
    # OR across fields, across a meta field and a property
    "or(eq(country,ru),eq(topics,sanction))",
    "or(eq(schema,Person),ilike(name,*bank*))",
    # NOT of an OR: neither; entities without a country are in
    "not(or(eq(country,de),eq(schema,Payment)))",
    # bounds co-refer: one date inside the window; its NOT is "no date in
    # the window" (entities without a date are in), not "a date outside it"
    "date=ge=2009&date=lt=2010",
    "and(eq(schema,Payment),not(and(ge(date,2009),lt(date,2010))))",
    "and(eq(schemata,Interval),not(and(ge(group.dates,2020),lt(group.dates,2024))))",
    "or(and(ge(startDate,2023),lt(startDate,2024)),ge(endDate,2030))",
    # a date >= 2020 and another one < 2000 on one entity: not in the window
    "and(ge(group.dates,2020),lt(group.dates,2000))",
    # ne / out on a property: SOME value of it differs (an entity with de
    # and gb is in), so `ru & ne ru` is the entities with ru and another one
    "ne(country,de)",
    "and(eq(country,ru),ne(country,ru))",
    "out(country,(de,ru))",
    "and(eq(group.topics,sanction),ne(topics,sanction))",
    # ne / out on schema: no row of that schema
    "ne(schema,Payment)",
    "out(schema,(Payment,Address))",
    # like / contains are substring matches, `*` dropped; `like(name,*)` is
    # "has a name"; `_` (and `%`) match themselves, not any character: no
    # name contains "s_a" (as a wildcard it would add 2 zala, 22 eu entities)
    "like(name,*GmbH*)",
    "contains(name,AG)",
    "like(name,*)",
    "or(like(name,s_a),eq(schema,Company))",
    "and(eq(schema,Company),eq(country,de))&like(name,*AG)",
    "name=like=Agency&jurisdiction=eu",
    # values are compared as strings: "50001" >= "500000", so 139
    # payments where 9 are numerically; and 1e5 is "100000.0", no amount
    "ge(amountEur,500000)",
    "in(amountEur,(100000,1e5))",
    "and(eq(schema,Person),eq(nationality,ru))",
    "(legalForm=ec_dg|legalForm=executive_agency)",
    "eq(name,Deutsche Vermögensberatung AG)",
    "not(not(eq(schema,Sanction)))",
    # meta fields: the dataset (ne: a statement in another one), the ids
    "ne(dataset,zala)",
    "in(id,(eu-authorities-a29wp,NK-2Tbri3s6GgNtAwsSXh4qpL))",
    "ne(id,eu-authorities-a29wp)",
    "eq(entity_id,NK-2Tbri3s6GgNtAwsSXh4qpL)",
    # context columns: one row in a conjunction, any rows across an or
    "and(eq(context.prop,country),eq(context.value,ru))",
    "or(eq(context.prop,country),eq(context.value,ru))",
    "and(eq(context.prop,name),not(eq(context.prop,notes)))",
    "and(in(context.prop_type,(country,date)),ge(context.value,2020))",
    "and(in(context.external,(false,0)),eq(schema,Company))",
    "and(eq(context.origin,bulk),eq(context.prop,notes))",
    # a NULL column matches nothing, `ne` included (no lang is set here)
    "or(ne(context.lang,eng),eq(schema,Company))",
]

@pytest.fixture(scope="module")
def reference(lake):
    return reference_ids(lake, DATASETS, SELECT, grammar="rql")


@pytest.mark.parametrize("query", SELECT)
def test_same_entities_as_the_reference(lake, reference, query):
    for ds in DATASETS:
        got = ids(ours(lake, ds, "entities", "iterate", "--rql", query).stdout)
        want = reference["ids"][ds][query]
        assert got == want, (ds, query, len(got), len(want))


def test_queries_select_something(reference):
    """The differential test means something only if the queries do select:
    most of them select some entities of some dataset, and not all."""
    totals = reference["totals"]
    selective = sum(
        any(0 < len(reference["ids"][ds][q]) < totals[ds] for ds in DATASETS)
        for q in SELECT)
    assert selective >= len(SELECT) - 3


def test_reference_cli_agrees(lake, reference):
    """The in-process reference is its CLI's: one query through the CLI."""
    query = "or(eq(country,ru),eq(topics,sanction))"
    out = ref_cli(["--uri", lake, "-d", "zala", "entities", "iterate", "--rql", query]).stdout
    assert ids(out) == reference["ids"]["zala"][query] and reference["ids"]["zala"][query]


def test_errors_name_the_term(lake):
    """An error names the term it is about, not the rest of the query (a
    typed value once ran to the end of the text)."""
    res = ours(lake, "don", "entities", "iterate", "--rql", "and(string:abc,eq(name,x))",
               check=False)
    assert res.returncode == 2 and "`string:abc`: an operator is expected" in res.stderr, res.stderr
    res = ours(lake, "don", "entities", "iterate", "--rql", "eq(nosuch,x)", check=False)
    assert "rql: `eq(nosuch,x)`: no schema has a property `nosuch`" in res.stderr, res.stderr
