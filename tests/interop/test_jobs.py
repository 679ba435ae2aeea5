"""Job run records (jobs/runs/{Type}/{run_id}.json) as the reference keeps
them: the same runs for the same make, export, optimize and shard, with
the same fields and counts (ExportJob's result per artifact and diff op);
the reference's JobRepository reads ours, and runs of both sides sort
together by time; a failed run records its error."""
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT, ref_cli, run, tool
from test_documents import build, sha, write

VOLATILE = ("run_id", "started", "stopped", "took", "last_updated")
RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


def side_cli(side: str, lake: Path, *args, env=None, check=True):
    if side == "ours":
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "docs", *args], env=env,
                   check=check)
    return ref_cli(["--uri", lake, "-d", "docs", *args], env=env, check=check)


def records(lake: Path) -> dict:
    """Job type -> its records, oldest first (by run id, as the reference
    sorts them)."""
    out = {}
    for path in sorted((lake / "docs" / "jobs" / "runs").glob("*/*.json")):
        rec = json.loads(path.read_text())
        assert path.stem == rec["run_id"] and path.parent.name == rec["name"]
        out.setdefault(rec["name"], []).append(rec)
    return out


def stable(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in VOLATILE}


def workload(side: str, lake: Path, tmp: Path):
    """make; a new and a deleted document, make; optimize; re-shard."""
    env = {**os.environ, "LAKEHOUSE_JOURNAL_URI": f"sqlite:///{lake}.db"}
    build(side, lake, tmp, env=env)
    new = write(tmp / "new.json", [{"id": "doc-new", "schema": "Pages", "properties": {
        "fileName": ["new.pdf"], "contentHash": [sha(900)], "parent": ["f-sub"]}}])
    side_cli(side, lake, "entities", "import", "-i", new, env=env)
    gone = tmp / "gone.txt"
    gone.write_text("doc-3\n")
    if side == "ours":
        side_cli(side, lake, "entities", "delete", "-i", gone, env=env)
    else:
        run([sys.executable, ROOT / "bench" / "ref_driver.py", "--uri",
             lake, "-d", "docs", "delete", "--ids", gone], env=env)
    side_cli(side, lake, "make", env=env)
    side_cli(side, lake, "make", env=env)  # fresh: no runs
    side_cli(side, lake, "maintenance", "shard", "--shards", "4", env=env)


def test_same_runs(tmp_path):
    out = {}
    for side in ("ours", "ref"):
        lake = tmp_path / side
        workload(side, lake, tmp_path)
        out[side] = records(lake)
    assert sorted(out["ours"]) == sorted(out["ref"]) == ["ExportJob", "MakeJob", "OptimizeJob",
                                                         "ShardJob"]
    for name in out["ours"]:
        assert [stable(r) for r in out["ours"][name]] == [stable(r) for r in out["ref"][name]], name
    for recs in out["ours"].values():
        for rec in recs:
            assert list(rec) == list(out["ref"][rec["name"]][0])  # the reference's field order
            assert RUN_ID.match(rec["run_id"]) and TIME.match(rec["started"])
            assert TIME.match(rec["stopped"]) and rec["took"].startswith("PT")
            assert rec["running"] is False and rec["exc"] == "None"
    second = out["ours"]["ExportJob"][1]["result"]
    assert second["entities_add"] == 1 and second["documents_add"] == 1
    assert second["documents_del"] == 1 and second["entities_del"] == 1


def test_the_reference_reads_our_runs(tmp_path):
    """Its JobRepository reads our records; whichever side ran last is the
    latest run."""
    from ftm_lakehouse.operation.export import ExportJob
    from ftm_lakehouse.repository import get_jobs
    lake = tmp_path / "lake"
    build("ours", lake, tmp_path)
    for side in ("ref", "ours", "ref", "ours"):
        side_cli(side, lake, "export", "--force")
        latest = get_jobs("docs", ExportJob, str(lake / "docs")).latest()
        ids = [r["run_id"] for r in records(lake)["ExportJob"]]
        assert latest.run_id == ids[-1] and latest.stopped and not latest.running
        assert latest.result["documents"] == 19, latest.result
    ours_ids = {p.stem for p in (lake / "docs" / "jobs" / "runs" / "ExportJob").glob("*.json")}
    assert len(ours_ids) == 5  # the build's make and the four exports
    assert json.loads(ref_cli(["--uri", lake, "-d", "docs", "datasets"]).stdout.splitlines()[0])


def test_a_failed_run_records_its_error(tmp_path):
    lake = tmp_path / "lake"
    build("ours", lake, tmp_path)
    target = lake / "docs" / "exports" / "statements.csv"
    target.unlink()
    target.mkdir()  # the export cannot be put in place
    proc = side_cli("ours", lake, "export", "--force", check=False)
    assert proc.returncode != 0
    failed = records(lake)["ExportJob"][-1]
    assert failed["running"] is False and failed["stopped"]
    assert "statements.csv" in failed["exc"] and failed["done"] == 0
    shutil.rmtree(target)
    side_cli("ours", lake, "export", "--force")
    assert records(lake)["ExportJob"][-1]["exc"] == "None"
