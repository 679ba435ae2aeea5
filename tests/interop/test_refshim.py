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
