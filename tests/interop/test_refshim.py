"""The offline delta_scan shim gives the reference the same view of a table
as deltalake's own reader, before and after rows are removed."""
import json

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake

from conftest import SHARED_DATA, ref_cli


def test_reference_roundtrip_through_shim(tmp_path):
    env = {"LAKEHOUSE_URI": str(tmp_path / "lake"), "LAKEHOUSE_JOURNAL_URI": f"sqlite:///{tmp_path}/j.db"}
    src = SHARED_DATA / "sanctions_zala.ftm.json"
    ref_cli(["-d", "zala", "entities", "import", "-i", src], env=env)
    out = ref_cli(["-d", "zala", "entities", "iterate"], env=env).stdout
    ids = sorted(json.loads(line)["id"] for line in out.splitlines())
    expected = sorted(json.loads(line)["id"] for line in src.read_text().splitlines() if line.strip())
    assert ids == expected


def test_shim_matches_deltalake_after_overwrite(tmp_path):
    import duckdb

    import refshim

    uri = str(tmp_path / "t")
    data = pa.table({"p": ["a", "a", "b"], "v": ["1", "2", "3"]})
    write_deltalake(uri, data, partition_by=["p"])
    write_deltalake(uri, pa.table({"p": ["a"], "v": ["9"]}), partition_by=["p"], mode="overwrite",
                    predicate="p = 'a'")
    expected = DeltaTable(uri).to_pyarrow_table().sort_by([("p", "ascending"), ("v", "ascending")])
    got = duckdb.sql(f"SELECT p, v FROM {refshim.snapshot_scan_sql(uri)} ORDER BY p, v").to_arrow_table()
    assert got.column("v").to_pylist() == ["9", "3"]
    assert pc.all(pc.equal(got.column("v"), expected.column("v"))).as_py()


def test_shim_reads_percent_encoded_partitions(tmp_path):
    """An origin such as `a b` or `%41` lives in a directory delta-rs
    percent-encodes (`origin=a%20b/`, logged as `origin=a%2520b/`): the
    reference reads it as delta_scan would."""
    lake = tmp_path / "lake"
    src = tmp_path / "one.json"
    lines = (SHARED_DATA / "eu_authorities.ftm.json").read_text().splitlines()
    for n, origin in enumerate(["a b", "%41", "x=y", "\u00fcn", " lead"]):
        src.write_text(lines[n] + "\n")
        ref_cli(["--uri", lake, "-d", "odd", "entities", "import", "-i", src, "--origin", origin])
    out = ref_cli(["--uri", lake, "-d", "odd", "entities", "iterate"]).stdout
    origins = sorted(o for line in out.splitlines() for o in json.loads(line)["origin"])
    assert origins == sorted([" lead", "%41", "a b", "x=y", "\u00fcn"])
