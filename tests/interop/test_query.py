"""`entities iterate -q` against the reference's: the same filter params over
the same lakes select the same entities; what ours does not take is refused
naming it (exit 2)."""
import json
import sys

import pytest

from conftest import ROOT, SHARED_DATA, run
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
]


# the reference's `entities iterate -q` (cli/entities.py), every query in one
# process: its CLI would start Python once per query and dataset
REF_QUERIES = """
import json, sys
sys.path.insert(0, sys.argv[1])
import refshim  # noqa: F401
from ftm_lakehouse.cli import parse_query
from ftm_lakehouse.lake import get_lakehouse
from ftm_lakehouse.repository.factories import get_entities
lake, datasets, queries = sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
out = {}
for ds in datasets:
    repo = get_entities(ds, get_lakehouse(lake).dataset_uri(ds))
    out[ds] = {q: sorted(e.id for e in repo.query(parse_query(q))) for q in queries}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("query") / "lake"
    for ds, name in DATASETS.items():
        ours(root, ds, "entities", "import", "-i", SHARED_DATA / name)
    return root


@pytest.fixture(scope="module")
def reference(lake):
    out = run([sys.executable, "-c", REF_QUERIES, ROOT / "tests" / "interop", lake,
               json.dumps(list(DATASETS)), json.dumps(QUERIES)]).stdout
    return json.loads(out.strip().splitlines()[-1])  # it logs to stdout first


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

    query = QUERIES[-1]
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
    assert selective >= len(QUERIES) - 4


@pytest.mark.parametrize("query,msg", [
    ("sort=name", "`sort` is not supported here"),
    ("limit=3", "`limit` is not supported here"),
    ("metric:sum=properties.amountEur", "aggregations are not supported"),
    ("filter:context.origin=bulk", "`context.origin` filters are not supported"),
    ("filter:properties.nosuchprop=x", "no schema has a property `nosuchprop`"),
    ("filter:group.nosuchgroup=x", "no property type has the group `nosuchgroup`"),
    ("filter:schema=Nope", "unknown schema `Nope`"),
    ("filter:schemata=Company&filter:schemata=Nope", "unknown schema `Nope`"),
    ("filter:gte:schemata=Company", "schemata takes names only"),
    ("empty:schema", "empty: takes a property or a group"),
    ("filter:bogus=1", "unknown field `bogus`"),
    ("q=foo", "unknown parameter `q`"),
    ("filter:ilike:properties.name=über", "ilike takes ASCII text only"),
])
def test_refusals(lake, query, msg):
    res = ours(lake, "don", "entities", "iterate", "-q", query, check=False)
    assert res.returncode == 2 and msg in res.stderr, res.stderr
    assert res.stdout == ""
