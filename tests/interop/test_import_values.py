"""Imports of odd input, against the Python reference CLI: the stored rows
are the reference's, row for row (every column; the timestamps pinned with
--last-seen), and input the reference refuses is refused."""
import json
from pathlib import Path

import pytest
from deltalake import DeltaTable

from conftest import ref_cli, run, tool

LAST_SEEN = "2024-01-01T00:00:00+00:00"


def ours(lake: Path, *args, check=True):
    return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "t", *args], check=check)


def rows(lake: Path):
    table = DeltaTable(str(lake / "t" / "statements")).to_pyarrow_table().to_pylist()
    return sorted(table, key=lambda r: (r["id"], r["origin"], r["fragment"], r["role"] or ""))


def lines(*entities) -> str:
    return "".join(json.dumps(e) + "\n" for e in entities)


def both(tmp_path, name, text, *args):
    src = tmp_path / name
    src.write_text(text)
    cmd = [*args, "-i", src, "--last-seen", LAST_SEEN]
    ours(tmp_path / "ours", *cmd)
    ref_cli(["--uri", tmp_path / "ref", "-d", "t", *cmd])
    return rows(tmp_path / "ours"), rows(tmp_path / "ref")


PERSON = {"id": "p1", "schema": "Person", "properties": {"name": ["A"]}}


def test_repeated_entities_stored_once(tmp_path):
    """An entity given twice (or a statement CSV row) is one row per
    statement, as the reference's write buffer keeps it: the last one,
    its timestamps included."""
    later = dict(PERSON, last_change="2023-05-05T10:00:00")
    # the same id as a Document: a statement id leaves out the schema, so
    # the name row is the Document's (bucket document), the checksum rows
    # (over the schema) are two
    doc = PERSON | {"id": "p3", "schema": "Document"}
    mine, theirs = both(tmp_path, "e.json",
                        lines(PERSON, PERSON, later, PERSON | {"id": "p2"}, PERSON | {"id": "p3"}, doc),
                        "entities", "import")
    assert len(theirs) == 7
    assert [r["bucket"] for r in theirs if r["entity_id"] == "p3" and r["prop"] == "name"] == ["document"]
    assert mine == theirs


def test_repeated_statement_rows_stored_once(tmp_path):
    csv = ("entity_id,prop,schema,value,dataset,lang,first_seen,last_seen,origin\n"
           "p1,name,Person,Alice,x,,,,\n"
           "p1,name,Person,Alice,x,,2019-01-01T00:00:00,2020-01-01T00:00:00,\n"
           "p1,name,Person,Alice,x,,,,crawl\n"
           "p1,name,Person,Bob,x,,,,\n")
    mine, theirs = both(tmp_path, "s.csv", csv, "statements", "import")
    assert len(theirs) == 3
    assert mine == theirs


@pytest.mark.parametrize("origin", ["", [""]])
def test_empty_origin_refused(tmp_path, origin):
    """The reference refuses an entity's empty origin (validate_origin);
    ours took it for none and stored the rows under the default origin."""
    src = tmp_path / "e.json"
    src.write_text(lines(PERSON | {"origin": origin}))
    ref = ref_cli(["--uri", tmp_path / "ref", "-d", "t", "entities", "import", "-i", src], check=False)
    assert ref.returncode != 0 and "origin must not be empty" in ref.stderr
    proc = ours(tmp_path / "ours", "entities", "import", "-i", src, check=False)
    assert proc.returncode == 3
    assert f"{src}:1: origin must not be empty" in proc.stderr
    assert not (tmp_path / "ours" / "t" / "statements").exists()


@pytest.mark.parametrize("key", ["origin", "fragment", "role"])
def test_null_in_context_list_refused(tmp_path, key):
    """`"origin": [null]`: the reference stores the string "None" (str()
    of the one element); ours refuses it rather than store anything else."""
    src = tmp_path / "e.json"
    src.write_text(lines(PERSON | {key: [None]}))
    proc = ours(tmp_path / "ours", "entities", "import", "-i", src, check=False)
    assert proc.returncode == 3
    assert f"{src}:1: {key}: expected a string" in proc.stderr
    # null itself, an empty list and an empty fragment or role are none
    src.write_text(lines(PERSON | {key: None}, PERSON | {"id": "p2", key: []},
                         PERSON | {"id": "p3", key: "" if key != "origin" else "o"}))
    mine, theirs = both(tmp_path, "ok.json", src.read_text(), "entities", "import")
    assert mine == theirs


@pytest.mark.parametrize("command,line,field", [
    ("entities", PERSON | {"properties": {"name": ["A", "B\u0000C"]}}, "properties.name[1]"),
    ("entities", PERSON | {"id": "p\u0000"}, "id"),
])
def test_nul_in_a_string_names_its_field(tmp_path, command, line, field):
    """A NUL character ends every C string, so a value holding one would be
    stored cut short: refused, naming the line and the field (not the JSON
    library's flag), and nothing is stored."""
    src = tmp_path / "e.json"
    src.write_text(lines(PERSON | {"id": "ok"}, line))
    proc = ours(tmp_path / "ours", command, "import", "-i", src, check=False)
    assert proc.returncode == 3, proc.stderr
    assert f"{src}:2: {field}: a NUL character (\\u0000) in a string is not allowed" in proc.stderr
    assert "JSON_ALLOW_NUL" not in proc.stderr
    assert not (tmp_path / "ours" / "t" / "statements").exists()
