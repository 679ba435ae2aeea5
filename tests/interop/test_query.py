"""`entities iterate -q` against the reference's: the same filter params over
the same lakes select the same entities, sorted and sliced queries in the
same order; what ours does not take is refused naming it (exit 2)."""
import json
import sys

import pytest

from conftest import ROOT, SHARED_DATA, run, tool
from test_cli import ours

DATASETS = {"don": "donations.ftm.json", "zala": "sanctions_zala.ftm.json",
            "eu": "eu_authorities.ftm.json"}

QUERIES = [
    "filter:schema=Company",
    "filter:schema=Company&filter:schema=Person",
    "filter:schemata=LegalEntity",
    "filter:schemata=Thing&exclude:schema=Address",
    "exclude:schema=Payment",
    "filter:group.countries=de",
    "filter:group.countries=de&filter:group.countries=ru",
    "exclude:group.countries=de",
    "filter:properties.country=de&filter:schema=Company",
    "filter:schema=Payment&filter:gte:properties.date=2010",
    "filter:schema=Payment&filter:gte:properties.date=2010&filter:lt:properties.date=2011",
    "filter:gt:properties.date=2009-06&filter:lte:properties.date=2010-01-01",
    "filter:gte:group.dates=2008&filter:lt:group.dates=2009",
    # bounds hold of one row: an entity with a date >= 2020 and another one
    # < 2000 (five in zala) is not in this window
    "filter:gte:group.dates=2020&filter:lt:group.dates=2000",
    "filter:gte:group.dates=2020&filter:properties.birthDate=1961",
    "exclude:gte:properties.date=2010",
    "filter:gte:properties.amountEur=100000",
    "empty:properties.country",
    "empty:group.countries&filter:schemata=LegalEntity",
    "filter:like:properties.name=GmbH",
    "filter:ilike:properties.name=gmbh",
    "filter:startswith:properties.name=Dr",
    "filter:endswith:properties.name=AG",
    "filter:startswith:group.names=A&exclude:schema=Person",
    "filter:dataset=don",
    "filter:dataset=nope",
    "filter:properties.name=Deutsche%20Vermögensberatung%20AG",
    "filter:schema=Person&filter:properties.nationality=ru",
    "filter:schema=Person&filter:group.countries=ru",
    "filter:properties.topics=sanction",
    "filter:group.topics=sanction&exclude:properties.topics=role.pep",
    # context: the statement row's columns; in one conjunction they (and
    # dataset) hold of one row together: a name row that is "ru" (none),
    # not a name row and some "ru" row
    "filter:context.origin=bulk&filter:schema=Company",
    "filter:context.prop=name&filter:context.value=ru",
    "filter:context.prop_type=country&filter:context.value=ru",
    "filter:context.prop=name&filter:ilike:context.value=bank&filter:dataset=eu",
    "filter:gte:context.value=2020&filter:context.prop_type=date",
    "exclude:context.prop=notes",
    "filter:context.external=false&filter:schema=Payment",
    # empty on a context column: no row of the entity has a value there
    "empty:context.lang&filter:schemata=LegalEntity",
]


# the reference's `entities iterate -q` / `--rql` (cli/entities.py), every
# query in one process: its CLI would start Python once per query and dataset
REF_QUERIES = """
import json, sys
sys.path.insert(0, sys.argv[1])
import refshim  # noqa: F401
from ftm_lakehouse.cli import parse_query
from ftm_lakehouse.lake import get_lakehouse
from ftm_lakehouse.repository.factories import get_entities
lake, datasets, queries = sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
grammar, ordered = sys.argv[5], sys.argv[6] == "ordered"
out = {"ids": {}, "totals": {}}
for ds in datasets:
    repo = get_entities(ds, get_lakehouse(lake).dataset_uri(ds))
    for q in queries:
        got = [e.id for e in repo.query(parse_query(**{grammar: q}))]
        out["ids"].setdefault(ds, {})[q] = got if ordered else sorted(got)
    out["totals"][ds] = sum(1 for _ in repo.query(None))
print(json.dumps(out))
"""


def reference_ids(lake, datasets, queries, grammar="query", ordered=False) -> dict:
    """{"ids": {dataset: {query: entity ids}}, "totals": {dataset: entities}}
    from the reference; ids sorted unless ordered (then in its order)."""
    out = run([sys.executable, "-c", REF_QUERIES, ROOT / "tests" / "interop", lake,
               json.dumps(list(datasets)), json.dumps(queries), grammar,
               "ordered" if ordered else "sorted"]).stdout
    return json.loads(out.strip().splitlines()[-1])  # it logs to stdout first


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("query") / "lake"
    for ds, name in DATASETS.items():
        ours(root, ds, "entities", "import", "-i", SHARED_DATA / name)
    return root


@pytest.fixture(scope="module")
def reference(lake):
    return reference_ids(lake, DATASETS, QUERIES)["ids"]


def ids(text: str) -> list:
    return sorted(json.loads(line)["id"] for line in text.splitlines() if line)


@pytest.mark.parametrize("query", QUERIES)
def test_same_entities_as_the_reference(lake, reference, query):
    for ds in DATASETS:
        got = ids(ours(lake, ds, "entities", "iterate", "-q", query).stdout)
        want = reference[ds][query]
        assert got == want, (ds, query, len(got), len(want))


def test_reference_cli_agrees(lake, reference):
    """The in-process reference is its CLI's: one query through the CLI."""
    from conftest import ref_cli

    query = "filter:group.topics=sanction&exclude:properties.topics=role.pep"
    out = ref_cli(["--uri", lake, "-d", "zala", "entities", "iterate", "-q", query]).stdout
    assert ids(out) == reference["zala"][query] and reference["zala"][query]


def test_queries_select_something(lake):
    """The differential test means something only if the queries do select:
    most of them select some entities of some dataset, and not all."""
    selective = 0
    for query in QUERIES:
        counts = [len(ids(ours(lake, ds, "entities", "iterate", "-q", query).stdout))
                  for ds in DATASETS]
        totals = [len(ids(ours(lake, ds, "entities", "iterate").stdout)) for ds in DATASETS]
        selective += any(0 < c < t for c, t in zip(counts, totals))
    # five by design: the two empty date windows, dataset=nope, dataset=don
    # (all of don), the name row that is "ru"
    assert selective >= len(QUERIES) - 5


@pytest.mark.parametrize("query,msg", [
    ("sort=name", "sorts by properties.NAME here, not `name`"),
    ("sort=group.countries", "sorts by properties.NAME here"),
    ("sort=properties.nosuchprop", "no schema has a property `nosuchprop`"),
    ("limit=x", "`x` is not a count"),
    ("limit=-1", "`-1` is not a count"),
    ("limit=1__0", "`1__0` is not a count"),
    ("limit= ", "` ` is not a count"),
    ("offset=1&offset=2", "`offset` takes a single value"),
    ("facet=properties.country", "`facet` is not supported here"),
    ("metric:sum=properties.amountEur", "aggregations are not supported"),
    ("filter:context.first_seen=2024", "`context.first_seen` filters are not supported"),
    ("filter:context.canonical_id=x", "unknown context column `canonical_id`"),
    ("filter:gt:context.external=true", "`context.external` compares for equality only"),
    ("filter:properties.nosuchprop=x", "no schema has a property `nosuchprop`"),
    ("filter:group.nosuchgroup=x", "no property type has the group `nosuchgroup`"),
    ("filter:schema=Nope", "unknown schema `Nope`"),
    ("filter:schemata=Company&filter:schemata=Nope", "unknown schema `Nope`"),
    ("filter:gte:schemata=Company", "schemata takes names only"),
    ("empty:schema", "empty: takes a property, a group or a context column"),
    ("empty:context.external", "`context.external` compares for equality only"),
    ("filter:bogus=1", "unknown field `bogus`"),
    ("q=foo", "unknown parameter `q`"),
    ("filter:ilike:properties.name=über", "ilike takes ASCII text only"),
    # a NUL would end the value early: Alice, where the reference wants "Alice\0x"
    ("filter:properties.name=Alice%00x", "%00 (a NUL byte) in a value is not supported"),
])
def test_refusals(lake, query, msg):
    res = ours(lake, "don", "entities", "iterate", "-q", query, check=False)
    assert res.returncode == 2 and msg in res.stderr, res.stderr
    assert res.stdout == ""


# ---------------------------------------------------------------------------
# order and slice: ftmq runs a sorted or sliced query globally (entities by
# id, or by their least / greatest value of the sort property, numbers as
# DuckDB's NUMERIC, entities without one last): the same ids in the same order

ORDERED = [
    "limit=5",
    "limit=5&offset=3",
    # counts as Python's int() reads them
    "limit=+2&offset=0_1",
    "limit= 3 &offset=-0",
    "offset=140",
    "limit=0",
    "filter:schema=Company&limit=3&offset=1",
    "sort=properties.name&limit=7",
    "sort=properties.name:desc&limit=7&offset=2",
    "sort=properties.name:asc",
    "sort=properties.amountEur:desc&limit=10",
    "sort=properties.amountEur",
    "sort=properties.date&filter:schema=Payment",
    "sort=properties.country:desc&filter:schemata=LegalEntity&offset=5",
    "sort=properties.startDate&exclude:schema=Address&limit=20",
]

@pytest.fixture(scope="module")
def reference_ordered(lake):
    return reference_ids(lake, DATASETS, ORDERED, ordered=True)["ids"]


def ordered_ids(text: str) -> list:
    return [json.loads(line)["id"] for line in text.splitlines() if line]


@pytest.mark.parametrize("query", ORDERED)
def test_same_order_as_the_reference(lake, reference_ordered, query):
    for ds in DATASETS:
        got = ordered_ids(ours(lake, ds, "entities", "iterate", "-q", query).stdout)
        want = reference_ordered[ds][query]
        assert got == want, (ds, query, got[:5], want[:5])


def test_ordered_queries_mean_something(reference_ordered):
    """Some sorted query is not in id order, and slices cut."""
    don = reference_ordered["don"]
    assert don["sort=properties.amountEur"] != sorted(don["sort=properties.amountEur"])
    assert len(don["limit=5"]) == 5 and len(don["offset=140"]) > 0


NUMBERS = ["1234.5678", "1234.5675", "1234.5665", "-1234.5678", "1e3", " 12 ", "1,000",
           "12abc", "1e20", "999999999999999.999", "999999999999999.9995", "1000000000000000",
           "-0.0005", "0.00049", ".5", "5.", "+7", "inf", "nan", "0x10", "1_000", "_1", "1_",
           "1._5", "1.5_5", "", "12.3e-2", "0", "-0", "5e-4", "1e15", "123456789012345678",
           "  -3.2e+2  ", "\t7\n", "1e+", "e5", ".", "-.5", "1.2.3",
           "0000000000000000000000000001", "100000000000000000000000e-20",
           "10000000000000000e-5", "0.00000000000000000000015e20",
           "1234567890.12345678901234e5", "1e1_0", "0e1000", "0" * 300 + "5",
           "0." + "0" * 300 + "5", "1." + "9" * 300]


def test_numbers_read_as_duckdb_reads_them():
    """A numeric sort orders by TRY_CAST(value AS NUMERIC): DECIMAL(18,3)."""
    import duckdb

    out = run([tool("lh-model"), "numeric", *NUMBERS]).stdout.split("\n")
    con = duckdb.connect()
    for value, mine in zip(NUMBERS, out):
        want = con.execute("SELECT TRY_CAST(? AS NUMERIC)", [value]).fetchone()[0]
        want = None if want is None else int(want * 1000)
        assert (None if mine == "null" else int(mine)) == want, value


def test_a_big_sort_spills_and_reads_back(tmp_path):
    """Beyond LAKEHOUSE_SORT_MEMORY_MB the sort writes runs to TMPDIR and
    merges them: the same entities in the same order as in memory, the
    runs gone after; and the order is the reference's."""
    import os

    src = tmp_path / "gen.ftm.json"
    src.write_bytes(run([sys.executable, ROOT / "bench" / "gen", "--statements", "60000"],
                        text=False).stdout)
    lake = tmp_path / "lake"
    ours(lake, "g", "entities", "import", "-i", src)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    small = dict(os.environ, LAKEHOUSE_SORT_MEMORY_MB="1", TMPDIR=str(scratch))
    for query in ("sort=properties.name", "sort=properties.amount:desc&offset=100",
                  "offset=10&limit=4000"):
        spilled = ours(lake, "g", "entities", "iterate", "-q", query, env=small).stdout
        in_memory = ours(lake, "g", "entities", "iterate", "-q", query).stdout
        assert spilled == in_memory and len(spilled) > 2 << 20, query
        assert list(scratch.iterdir()) == []
    # the runs do go to TMPDIR: one that is not there fails, naming it
    nowhere = dict(small, TMPDIR=str(tmp_path / "nowhere"))
    res = ours(lake, "g", "entities", "iterate", "-q", "sort=properties.name", env=nowhere,
               check=False)
    assert res.returncode != 0 and "creating a sort run in" in res.stderr and "nowhere" in res.stderr
    want = reference_ids(lake, ["g"], ["sort=properties.name"], ordered=True)["ids"]["g"][
        "sort=properties.name"]
    got = ordered_ids(ours(lake, "g", "entities", "iterate", "-q", "sort=properties.name",
                           env=small).stdout)
    assert got == want


def test_a_match_is_the_whole_entity(tmp_path):
    """A filter selects entities, not rows: an entity with statements in two
    origins matches `context.origin=extra` by one of them and comes back
    with all of them, as from the reference (an origin pushdown once cut
    the entity to that origin's partition)."""
    from conftest import ref_cli
    from test_cli import entity_set

    def entities(text):  # the reference lists origins in read order
        return entity_set("".join(json.dumps({**e, "origin": sorted(e["origin"])}) + "\n"
                                  for e in map(json.loads, text.splitlines())))

    src = tmp_path / "three.ftm.json"
    extra = tmp_path / "extra.ftm.json"
    lines = (SHARED_DATA / "eu_authorities.ftm.json").read_text().splitlines()[:3]
    src.write_text("\n".join(lines) + "\n")
    extra.write_text("".join(json.dumps({**json.loads(line), "properties": {"notes": ["extra"]}})
                             + "\n" for line in lines[:2]))
    lake = tmp_path / "lake"
    ours(lake, "eu", "entities", "import", "-i", src)
    ours(lake, "eu", "entities", "import", "--origin", "extra", "-i", extra)
    for args in (["-q", "filter:context.origin=extra"], ["--rql", "eq(context.origin,extra)"],
                 ["-q", "filter:context.origin=extra&sort=properties.name&limit=5"]):
        mine = ours(lake, "eu", "entities", "iterate", *args).stdout
        ref = ref_cli(["--uri", lake, "-d", "eu", "entities", "iterate", *args]).stdout
        assert len(mine.splitlines()) == 2 and entities(mine) == entities(ref), args
        assert all(len(json.loads(line)["origin"]) == 2 for line in mine.splitlines())


def test_an_entity_in_two_buckets_is_one_when_ordered(tmp_path):
    """A schema change can leave an entity's rows in two buckets. A sorted or
    sliced query runs over the whole table in the reference: the entity is
    one, with all its rows (ours once listed each bucket's part apart)."""
    from conftest import ref_cli
    from test_cli import entity_set

    first, second = tmp_path / "a.ftm.json", tmp_path / "b.ftm.json"
    first.write_text('{"id":"d1","schema":"Document","properties":{"title":["Zed"]}}\n'
                     '{"id":"d2","schema":"Document","properties":{"title":["Yak"]}}\n')
    second.write_text('{"id":"d1","schema":"Thing","properties":{"name":["Alpha"]}}\n')
    lake = tmp_path / "lake"
    ours(lake, "x", "entities", "import", "-i", first)
    ours(lake, "x", "entities", "import", "-i", second)
    for query in ("limit=2", "sort=properties.name", "sort=properties.title:desc&limit=1",
                  "offset=1"):
        mine = ours(lake, "x", "entities", "iterate", "-q", query).stdout
        ref = ref_cli(["--uri", lake, "-d", "x", "entities", "iterate", "-q", query]).stdout
        assert ordered_ids(mine) == ordered_ids(ref), query
        assert entity_set(mine) == entity_set(ref), query
    # asked for by id, it is whole too: the reference reads every bucket of
    # the id's shard at once then
    for args in (["-q", "filter:id=d1"], ["-q", "filter:entity_id=d1"],
                 ["--rql", "in(id,(d1,d2))"], ["-q", "filter:id=d1&filter:properties.name=Alpha"]):
        mine = ours(lake, "x", "entities", "iterate", *args).stdout
        ref = ref_cli(["--uri", lake, "-d", "x", "entities", "iterate", *args]).stdout
        assert entity_set(mine) == entity_set(ref), args
        assert len(mine.splitlines()) == len(ref.splitlines()), args
    mine = ours(lake, "x", "entities", "iterate", "-e", "d1").stdout
    assert len(mine.splitlines()) == 1 and "Alpha" in mine and "Zed" in mine


def test_text_matches_as_duckdb_folds_and_unquotes(tmp_path):
    """ilike lowers stored text as DuckDB's lower() does (the dotted
    capital I and the Kelvin sign lower to ASCII); a query string's escape
    of bytes that are not UTF-8 reads as U+FFFD, as Python's unquote."""
    from conftest import ref_cli

    src = tmp_path / "t.ftm.json"
    src.write_text(
        '{"id":"t1","schema":"Company","properties":{"name":["\u0130STANBUL Holding"]}}\n'
        '{"id":"t2","schema":"Company","properties":{"name":["\u212aelvin Ltd"]}}\n'
        '{"id":"t3","schema":"Company","properties":{"name":["Istanbul Co"]}}\n'
        '{"id":"t4","schema":"Company","properties":{"name":["\u00c4rger GmbH"]}}\n')
    lake = tmp_path / "lake"
    ours(lake, "x", "entities", "import", "-i", src)
    for args, want in ((["-q", "filter:ilike:properties.name=istanbul"], ["t1", "t3"]),
                       (["--rql", "ilike(name,*istanbul*)"], ["t1", "t3"]),
                       (["-q", "filter:ilike:properties.name=KELVIN"], ["t2"]),
                       (["-q", "filter:like:properties.name=%C3"], []),
                       (["-q", "filter:startswith:properties.name=%C3"], []),
                       (["-q", "filter:gte:properties.name=%C3"], []),
                       (["-q", "filter:startswith:properties.name=%C3%84"], ["t4"])):
        mine = sorted(ids(ours(lake, "x", "entities", "iterate", *args).stdout))
        ref = sorted(ids(ref_cli(["--uri", lake, "-d", "x", "entities", "iterate", *args]).stdout))
        assert mine == ref == want, (args, mine, ref)


def test_changed_since_and_a_query_are_separate_tests(tmp_path):
    """--changed-since takes entities with a row seen since; -q entities
    matching the query: the row the query matches need not be a new one
    (the query's value pushed down to the store once had to be on the
    changed row)."""
    import time
    from datetime import datetime, timezone

    lake = tmp_path / "lake"
    old, new = tmp_path / "old.ftm.json", tmp_path / "new.ftm.json"
    old.write_text('{"id":"p1","schema":"Person","properties":{"name":["Alice"]}}\n'
                   '{"id":"p2","schema":"Person","properties":{"name":["Alice"]}}\n')
    new.write_text('{"id":"p1","schema":"Person","properties":{"nationality":["de"]}}\n')
    ours(lake, "x", "entities", "import", "-i", old)
    time.sleep(0.05)
    since = datetime.now(timezone.utc).isoformat()
    time.sleep(0.05)
    ours(lake, "x", "entities", "import", "-i", new)
    for q in ("filter:properties.name=Alice", "filter:schema=Person",
              "filter:schema=Person&filter:properties.name=Alice"):
        out = ours(lake, "x", "entities", "iterate", "--changed-since", since, "-q", q).stdout
        assert ordered_ids(out) == ["p1"], q


def test_empty_context_column_as_the_reference(tmp_path):
    """`empty:context.role`: entities none of whose rows has a role, as the
    reference selects them (one stored with and without a role is not)."""
    lake = tmp_path / "lake"
    for eid, role in (("e1", "x"), ("e2", None), ("e3", "y"), ("e1", None)):
        src = tmp_path / f"{eid}.json"
        src.write_text(json.dumps({"id": eid, "schema": "Person", "properties": {"name": [eid]}}))
        ours(lake, "r", "entities", "import", "-i", src, *(["--role", role] if role else []))
    queries = ["empty:context.role", "empty:context.role&filter:context.origin=bulk"]
    want = reference_ids(lake, ["r"], queries)["ids"]["r"]
    for q in queries:
        assert ids(ours(lake, "r", "entities", "iterate", "-q", q).stdout) == want[q] == ["e2"], q


def test_empty_context_fragment_as_the_reference(tmp_path):
    """`empty:context.fragment` is the reference's `fragment IS NULL` on
    every row: the stored fragment is "" when a statement has none, never
    NULL, so no entity has an empty fragment column, on a lake either side
    wrote. Ours took "" for no fragment and selected every entity without
    one. A "" elsewhere is a value too (SQL's IS NOT NULL)."""
    from conftest import ref_cli

    lake = tmp_path / "lake"
    src = tmp_path / "s.csv"
    src.write_text("entity_id,prop,schema,value,fragment\r\n"
                   "e1,name,Person,Ann,\r\ne2,name,Person,Bob,f1\r\n")
    ours(lake, "r", "statements", "import", "-i", src)
    ref_cli(["--uri", lake, "-d", "z", "entities", "import", "-i", SHARED_DATA / "eu_authorities.ftm.json"])
    queries = ["empty:context.fragment", "empty:context.fragment&filter:schema=Person"]
    want = reference_ids(lake, ["r", "z"], queries)["ids"]
    for ds in ("r", "z"):
        for q in queries:
            assert ids(ours(lake, ds, "entities", "iterate", "-q", q).stdout) == want[ds][q] == [], (ds, q)
