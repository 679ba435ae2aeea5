"""Operation sequences, reference and ours on the same inputs: the
regressions a randomized differential fuzz of import / journal / delete /
merge / shard / vacuum sequences found (each shrunk to its minimal
sequence). Tables are compared row for row as delta-rs reads them."""
import json
from pathlib import Path

from deltalake import DeltaTable

from conftest import SHARED_DATA, ref_cli, run, tool

LAST_SEEN = "2025-06-01T00:00:00+00:00"


def ours(lake: Path, *args, check=True):
    return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "seq", *args], check=check)


def ref(lake: Path, *args):
    return ref_cli(["--uri", lake, "-d", "seq", *args],
                   env={"LAKEHOUSE_JOURNAL_URI": f"sqlite:///{lake}.journal.db"})


def table_rows(lake: Path):
    rows = DeltaTable(str(lake / "seq" / "statements")).to_pyarrow_table().to_pylist()
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


def test_an_entity_repeated_in_an_import_is_stored_once(tmp_path):
    """The reference's write buffer keeps one row per statement identity
    (id, origin, fragment, role), the later one: an input that repeats an
    entity (changed or not) stored every copy with ours, duplicate rows
    the reference's table does not have (live reads agreed; merge folded
    them later)."""
    lines = (SHARED_DATA / "eu_authorities.ftm.json").read_text().splitlines()[:5]
    changed = json.loads(lines[0])
    changed["first_seen"] = changed["last_seen"] = "2025-01-01T00:00:00+00:00"
    src = tmp_path / "in.ftm.json"
    src.write_text("\n".join(lines + lines[:2] + [json.dumps(changed)]) + "\n")
    a, b = tmp_path / "ours", tmp_path / "ref"
    ours(a, "entities", "import", "-i", src, "--last-seen", LAST_SEEN)
    ref(b, "entities", "import", "-i", src, "--last-seen", LAST_SEEN)
    assert table_rows(a) == table_rows(b)
    assert len(table_rows(a)) == len({(r["id"], r["origin"]) for r in map(json.loads, table_rows(a))})
    # the same through the journal and a flush
    ours(a, "entities", "import", "-i", src, "--origin", "crawl", "--journal")
    ours(a, "maintenance", "flush")
    crawl = [r for r in map(json.loads, table_rows(a)) if r["origin"] == "crawl"]
    assert len(crawl) == len({r["id"] for r in crawl}) > 0


def test_a_batch_is_full_with_bulk_size_distinct_statements(tmp_path):
    """The reference's buffer counts distinct statements against
    --bulk-size and writes a batch when it holds that many: a repeat
    within a batch is one row, across batches two (merge folds them).
    A, A, B, B, A at 4 statements a batch: [A, B] then [B, A], 8 rows."""
    def person(eid):
        return json.dumps({"id": eid, "schema": "Person", "properties": {"name": [eid.upper()]}})

    src = tmp_path / "in.ftm.json"
    src.write_text("\n".join(person(e) for e in "aabba") + "\n")
    a, b = tmp_path / "ours", tmp_path / "ref"
    ours(a, "entities", "import", "-i", src, "--bulk-size", "4", "--last-seen", LAST_SEEN)
    ref(b, "entities", "import", "-i", src, "--bulk-size", "4", "--last-seen", LAST_SEEN)
    assert table_rows(a) == table_rows(b)
    assert len(table_rows(a)) == 8
    # statements import: the same rule, a statement an item
    csv = tmp_path / "in.csv"
    rows = ["entity_id,dataset,schema,prop,value"] + \
        [f"{e},seq,Person,name,{e.upper()}" for e in "aabbcca"]
    csv.write_text("\n".join(rows) + "\n")
    ours(a, "statements", "import", "-i", csv, "--origin", "crawl", "--bulk-size", "2",
         "--last-seen", LAST_SEEN)
    ref(b, "statements", "import", "-i", csv, "--origin", "crawl", "--bulk-size", "2",
        "--last-seen", LAST_SEEN)
    assert table_rows(a) == table_rows(b)


def test_a_later_fragment_emission_in_one_import_supersedes(tmp_path):
    """Without --last-seen the reference stamps each entity when it reads
    it: the second emission of a fragment in one import is the later and
    supersedes the first. Ours stamped the whole run with one time, so the
    two tied and both stayed live."""
    lines = [json.dumps({"id": "p", "schema": "Person", "properties": {"name": [name]},
                         "fragment": "f1"}) for name in ("A", "B")]
    lines.append(json.dumps({"id": "q", "schema": "Person", "properties": {"name": ["C"]}}))
    src = tmp_path / "in.ftm.json"
    src.write_text("\n".join(lines) + "\n")
    a, b = tmp_path / "ours", tmp_path / "ref"
    ours(a, "entities", "import", "-i", src)
    ref(b, "entities", "import", "-i", src)

    def names(text):
        return {e["id"]: e["properties"]["name"] for e in map(json.loads, text.splitlines())}

    assert names(ours(a, "entities", "iterate").stdout) == {"p": ["B"], "q": ["C"]}
    assert names(ref(a, "entities", "iterate").stdout) == {"p": ["B"], "q": ["C"]}
    assert names(ours(b, "entities", "iterate").stdout) == {"p": ["B"], "q": ["C"]}

    def shape(lake):
        """first seen: one time for the run; last seen: increasing by entity"""
        rows = DeltaTable(str(lake / "seq" / "statements")).to_pyarrow_table().to_pylist()
        assert len({r["first_seen"] for r in rows}) == 1
        by_value = {r["value"]: r["last_seen"] for r in rows if r["prop"] == "name"}
        assert by_value["A"] < by_value["B"] < by_value["C"]
        assert min(r["last_seen"] for r in rows) > rows[0]["first_seen"]

    shape(a)
    shape(b)
    # the journal takes the same stamps
    c = tmp_path / "journal"
    ours(c, "entities", "import", "-i", src, "--journal")
    ours(c, "maintenance", "flush")
    assert names(ours(c, "entities", "iterate").stdout) == {"p": ["B"], "q": ["C"]}
    shape(c)
