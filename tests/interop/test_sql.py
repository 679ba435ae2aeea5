"""`statements sql` against the reference's: the same queries over the
`statement` (live) and `statement_raw` (stored rows) tables of one
un-merged lake (duplicates and tombstones in it) give the same rows; bad
SQL and writes are refused, and leave the lake as it was."""
import csv
import io
import json
import sys

import pytest

from conftest import ROOT, SHARED_DATA, ref_cli, run, tool
from test_cli import ours

DATASET = "zala"

QUERIES = [
    "SELECT count(*) FROM statement",
    "SELECT count(*) FROM statement_raw",
    "SELECT count(*) FROM statement_raw WHERE deleted_at IS NOT NULL",
    "SELECT count(DISTINCT id) FROM statement_raw",
    "SELECT schema, count(DISTINCT entity_id) FROM statement GROUP BY schema ORDER BY schema",
    "SELECT prop, count(*) FROM statement WHERE schema = 'Person' GROUP BY prop ORDER BY prop",
    "SELECT bucket, origin, shard, count(*) FROM statement_raw GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    "SELECT entity_id, value FROM statement WHERE prop = 'name' AND substr(value, 1, 1) = 'A' "
    "ORDER BY entity_id, value",
    "SELECT id, prop, value, external, lang FROM statement WHERE entity_id = '{eid}' ORDER BY id",
    "SELECT id, deleted_at IS NULL FROM statement_raw WHERE entity_id = '{deleted}' ORDER BY 1, 2",
    "SELECT count(*) FROM statement WHERE entity_id = '{deleted}'",
    "SELECT a.value, b.value FROM statement a JOIN statement b ON a.entity_id = b.entity_id "
    "WHERE a.prop = 'name' AND b.prop = 'country' AND a.schema = 'Person' ORDER BY 1, 2",
    "SELECT count(*) FROM statement WHERE canonical_id <> entity_id",
    "SELECT count(*) FROM statement WHERE dataset = 'zala' AND origin = 'update'",
    "SELECT count(*) FROM statement WHERE shard = '0' AND bucket = 'thing'",
]

# the reference's `statements sql` (cli/statements.py) without its table
# rendering: every query on one of its store's cursors
REF_SQL = """
import json, sys
sys.path.insert(0, sys.argv[1])
import refshim  # noqa: F401
from ftm_lakehouse.lake import get_lakehouse
from ftm_lakehouse.repository.factories import get_entities
lake, name, queries = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
store = get_entities(name, get_lakehouse(lake).dataset_uri(name)).statements._lake
def cell(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)
out = []
with store.cursor() as cur:
    for q in queries:
        cur.execute(q)
        out.append([[cell(v) for v in row] for row in cur.fetchall()])
print(json.dumps(out))
"""


def parse(text: str) -> list:
    """Our output: result sets (header dropped) parted by an empty line,
    every value quoted, so that an empty unquoted field is NULL."""
    results, rows, row, cur, quoted, was_quoted = [], [], [], "", False, False
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"' and text[i + 1:i + 2] == '"':
                cur += ch
                i += 1
            elif ch == '"':
                quoted = False
            else:
                cur += ch
        elif ch == '"':
            quoted = was_quoted = True
        elif ch in ",\n":
            row.append(cur if was_quoted else None)
            cur, was_quoted = "", False
            if ch == "\n":
                if row == [None]:  # an empty line: the next result set
                    results.append(rows[1:])
                    rows = []
                else:
                    rows.append(row)
                row = []
        else:
            cur += ch
        i += 1
    results.append(rows[1:])
    return results


def write_lake(tmp, writer):
    """zala in bulk, then a fifth of its entities again under origin
    `update` (changed names, the rest re-emitted); by ours through the
    journal with two entities deleted (tombstones), by the reference in
    bulk, twice. Not merged."""
    root = tmp / "lake"
    src = SHARED_DATA / "sanctions_zala.ftm.json"
    entities = [json.loads(line) for line in src.read_text().splitlines() if line]
    again = []
    for e in entities[::5]:
        e = json.loads(json.dumps(e))
        names = e.get("properties", {}).get("name")
        if names:
            names.append(names[0] + " (again)")
        again.append(json.dumps(e))
    update = tmp / "update.ftm.json"
    update.write_text("\n".join(again) + "\n")
    deleted = entities[1]["id"]
    if writer == "reference":
        ref_cli(["--uri", root, "-d", DATASET, "entities", "import", "-i", src])
        for _ in range(2):  # the second time: duplicates of the first
            ref_cli(["--uri", root, "-d", DATASET, "entities", "import", "-i", update,
                     "--origin", "update"])
        return root, entities[10]["id"], deleted
    ours(root, DATASET, "entities", "import", "-i", src)
    ours(root, DATASET, "entities", "import", "-i", update, "--journal", "--origin", "update")
    for eid in (deleted, entities[7]["id"]):
        ours(root, DATASET, "entities", "delete", "-e", eid)
    ours(root, DATASET, "maintenance", "flush")
    return root, entities[10]["id"], deleted


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return write_lake(tmp_path_factory.mktemp("sql"), "ours")


@pytest.mark.parametrize("writer", ["ours", "reference"])
def test_same_rows_as_the_reference(lake, tmp_path, writer):
    root, eid, deleted = lake if writer == "ours" else write_lake(tmp_path, writer)
    queries = [q.format(eid=eid, deleted=deleted) for q in QUERIES]
    out = run([sys.executable, "-c", REF_SQL, ROOT / "tests" / "interop", root, DATASET,
               json.dumps(queries)]).stdout
    want = json.loads(out.strip().splitlines()[-1])
    got = parse(ours(root, DATASET, "statements", "sql", "; ".join(queries)).stdout)
    assert len(got) == len(queries)
    for q, g, w in zip(queries, got, want):
        assert g == w, q
    # the differential test says something: a lake with duplicates (and,
    # ours, tombstones), rows for each filtered query
    live, raw, tombs = (int(r[0][0]) for r in got[:3])
    assert raw > live > 0 and int(got[3][0][0]) < raw and (tombs > 0) == (writer == "ours")
    assert all(got[i] for i in (5, 6, 7, 8, 9, 11))
    assert (got[10] == [["0"]]) == (writer == "ours") and got[12] == [["0"]]
    assert int(got[13][0][0]) > 0


def test_one_query_per_call_and_the_header(lake):
    root, eid, _ = lake
    out = ours(root, DATASET, "statements", "sql",
               f"SELECT prop, NULL AS missing, '' AS empty FROM statement "
               f"WHERE entity_id = '{eid}' AND prop = 'name' LIMIT 1").stdout
    header, row = out.splitlines()
    assert header == '"prop","missing","empty"'
    assert row == '"name",,""'
    # a query with no rows still names its columns
    out = ours(root, DATASET, "statements", "sql",
               "SELECT id FROM statement WHERE entity_id = 'nobody'").stdout
    assert out == '"id"\n'


def test_output_file(lake, tmp_path):
    root, _, _ = lake
    dest = tmp_path / "out.csv"
    ours(root, DATASET, "statements", "sql", "-o", dest, "SELECT count(*) AS n FROM statement")
    assert dest.read_text().splitlines()[0] == '"n"'


def test_bad_sql_and_writes_are_refused(lake):
    root, _, _ = lake
    before = ours(root, DATASET, "statements", "sql", "SELECT count(*) FROM statement_raw").stdout
    for query, message in [("SELEC 1", 'near "SELEC"'),
                           ("SELECT * FROM nope", "no such table: nope"),
                           ("DELETE FROM statement", "table statement may not be modified"),
                           ("DROP TABLE statement_raw", "table statement_raw may not be dropped"),
                           ("SELECT 1; SELECT x FROM statement", "no such column: x")]:
        proc = ours(root, DATASET, "statements", "sql", query, check=False)
        assert proc.returncode == 3, (query, proc.stderr)
        assert f"SQL: {message}" in proc.stderr, (query, proc.stderr)
    proc = ours(root, DATASET, "statements", "sql", check=False)
    assert proc.returncode == 2 and "missing QUERY" in proc.stderr
    proc = ours(root, DATASET, "statements", "sql", "SELECT 1", "SELECT 2", check=False)
    assert proc.returncode == 2 and "quote the query" in proc.stderr
    after = ours(root, DATASET, "statements", "sql", "SELECT count(*) FROM statement_raw").stdout
    assert after == before
    run([tool("ftm-lakehouse"), "--uri", root, "-d", DATASET, "maintenance", "check"])


def test_a_dataset_without_a_table(tmp_path):
    root = tmp_path / "lake"
    root.mkdir()
    out = ours(root, "empty", "statements", "sql",
               "SELECT count(*) FROM statement; SELECT count(*) FROM statement_raw").stdout
    assert out == '"count(*)"\n"0"\n\n"count(*)"\n"0"\n'


def test_a_full_disk_stops_the_query(lake):
    root, _, _ = lake
    proc = ours(root, DATASET, "statements", "sql", "-o", "/dev/full",
                "SELECT * FROM statement_raw", check=False)
    assert proc.returncode == 1 and "writing `/dev/full`: No space left" in proc.stderr


def test_push_down_keeps_sqlite_equality(lake):
    """An equality is pushed into the store only where SQLite would compare
    the same bytes: under another collation, or against a number (a column
    of numeric affinity in a join compares numerically), the store's
    bytewise filter dropped rows SQLite keeps. Each query gives what the
    same query without push-down (`|| ''`) gives."""
    root, eid, _ = lake
    upper = eid.upper()
    assert upper != eid
    pairs = [
        (f"SELECT id FROM statement WHERE entity_id = '{upper}' COLLATE NOCASE ORDER BY id",
         f"SELECT id FROM statement WHERE entity_id || '' = '{upper}' COLLATE NOCASE ORDER BY id"),
        ("SELECT count(*) FROM statement WHERE prop = 'NAME' COLLATE NOCASE",
         "SELECT count(*) FROM statement WHERE prop || '' = 'NAME' COLLATE NOCASE"),
        ("SELECT count(*) FROM statement_raw WHERE schema = 'person' COLLATE NOCASE",
         "SELECT count(*) FROM statement_raw WHERE schema || '' = 'person' COLLATE NOCASE"),
        ("SELECT count(*) FROM statement_raw WHERE schema = 'Person  ' COLLATE RTRIM",
         "SELECT count(*) FROM statement_raw WHERE schema || '' = 'Person  ' COLLATE RTRIM"),
        # shard '0' is the integer 0 in a column of INTEGER affinity
        ("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES ('00');"
         "SELECT count(*) FROM t CROSS JOIN statement s WHERE s.shard = t.x",
         "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES ('00');"
         "SELECT count(*) FROM t CROSS JOIN statement s WHERE s.shard || '' = t.x"),
    ]
    for pushed, plain in pairs:
        got = parse(ours(root, DATASET, "statements", "sql", pushed).stdout)
        want = parse(ours(root, DATASET, "statements", "sql", plain).stdout)
        assert got == want, pushed
        assert got[-1] and got[-1] != [["0"]], pushed
