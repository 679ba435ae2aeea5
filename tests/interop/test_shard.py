"""Re-shard (`maintenance shard`) against the reference: a lake re-sharded
by either side is read by the other, whole and entity by entity (lookups go
to the shard config.yml names), merged by both, and `check` finds it sound."""
import json
import os
import sys
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable

from conftest import ROOT, SHARED_DATA, ref_cli, run
from test_cli import entity_set, ours

SRC = SHARED_DATA / "eu_authorities.ftm.json"


def shards_in_config(lake: Path, ds: str) -> int:
    for line in (lake / ds / "config.yml").read_text().splitlines():
        if line.startswith("shards:"):
            return int(line.split(":", 1)[1])
    raise AssertionError("config.yml has no shards")


def partition_shards(lake: Path, ds: str) -> set:
    dt = DeltaTable(str(lake / ds / "statements"))
    return {a["partition.shard"] for a in pa.table(dt.get_add_actions(flatten=True)).to_pylist()}


def ref_lookups(lake: Path, ds: str, ids: list, tmp: Path) -> dict:
    path = tmp / "ids.txt"
    path.write_text("\n".join(ids) + "\n")
    out = run([sys.executable, ROOT / "bench" / "ref_driver.py", "--uri", lake, "-d", ds,
               "lookup", "--ids", path]).stdout
    return json.loads(out.strip().splitlines()[-1])  # the reference logs to stdout first


def our_lookups(lake: Path, ds: str, ids: list) -> int:
    args = []
    for i in ids:
        args += ["-e", i]
    return len(ours(lake, ds, "entities", "iterate", *args).stdout.splitlines())


def ids_of(text: str, step: int = 10) -> list:
    return [json.loads(line)["id"] for line in text.splitlines()[::step]]


def test_ours_resharded_read_by_reference(tmp_path):
    lake = tmp_path / "lake"
    ours(lake, "eu", "entities", "import", "-i", SRC, "--last-seen", "2025-01-01T00:00:00+00:00")
    # again, later: duplicate ids the re-shard must carry for the merge
    ours(lake, "eu", "entities", "import", "-i", SRC, "--last-seen", "2025-02-01T00:00:00+00:00")
    before = ours(lake, "eu", "entities", "iterate").stdout
    rows = DeltaTable(str(lake / "eu" / "statements")).to_pyarrow_table().num_rows
    res = ours(lake, "eu", "maintenance", "shard", "--shards", "16")
    assert f"{rows} rows in, {rows} rows out" in res.stderr
    assert shards_in_config(lake, "eu") == 16
    assert (lake / "eu" / "tags" / "lakehouse" / "operations" / "shard" / "last_run").exists()
    got = partition_shards(lake, "eu")
    assert len(got) > 8 and got <= set("0123456789abcdef")
    assert DeltaTable(str(lake / "eu" / "statements")).to_pyarrow_table().num_rows == rows
    ref = ref_cli(["--uri", lake, "-d", "eu", "entities", "iterate"]).stdout
    assert entity_set(ref) == entity_set(before)
    ids = ids_of(before)
    assert ref_lookups(lake, "eu", ids, tmp_path)["found"] == len(ids)
    assert our_lookups(lake, "eu", ids) == len(ids)
    # the reference merges our layout; ours reads its result
    ref_cli(["--uri", lake, "-d", "eu", "maintenance", "optimize"])
    assert DeltaTable(str(lake / "eu" / "statements")).to_pyarrow_table().num_rows < rows
    assert entity_set(ours(lake, "eu", "entities", "iterate").stdout) == entity_set(before)
    ours(lake, "eu", "maintenance", "check")
    # same count again: nothing to do, unless forced
    res = ours(lake, "eu", "maintenance", "shard", "--shards", "16")
    assert "already has 16 shards" in res.stderr
    res = ours(lake, "eu", "maintenance", "shard", "--shards", "16", "--force")
    assert "now has 16 shards" in res.stderr
    assert entity_set(ref_cli(["--uri", lake, "-d", "eu", "entities", "iterate"]).stdout) == \
        entity_set(before)


def test_reference_resharded_read_by_ours(tmp_path):
    lake = tmp_path / "lake"
    ref_cli(["--uri", lake, "-d", "eu", "entities", "import", "-i", SRC])
    before = ref_cli(["--uri", lake, "-d", "eu", "entities", "iterate"]).stdout
    ref_cli(["--uri", lake, "-d", "eu", "maintenance", "shard", "--shards", "4"])
    assert shards_in_config(lake, "eu") == 4
    assert partition_shards(lake, "eu") == {"0", "1", "2", "3"}
    mine = ours(lake, "eu", "entities", "iterate").stdout
    assert entity_set(mine) == entity_set(before)
    ids = ids_of(before)
    assert our_lookups(lake, "eu", ids) == len(ids)
    ours(lake, "eu", "maintenance", "check")
    # back to one shard by ours, from the reference's unsorted files
    ours(lake, "eu", "maintenance", "shard", "--shards", "0")
    assert shards_in_config(lake, "eu") == 0
    assert partition_shards(lake, "eu") == {"0"}
    assert entity_set(ref_cli(["--uri", lake, "-d", "eu", "entities", "iterate"]).stdout) == \
        entity_set(before)
    assert ref_lookups(lake, "eu", ids, tmp_path)["found"] == len(ids)
    ours(lake, "eu", "maintenance", "optimize")
    assert entity_set(ours(lake, "eu", "entities", "iterate").stdout) == entity_set(before)
    ours(lake, "eu", "maintenance", "check")


def test_shard_drains_the_journal_first(tmp_path):
    """Statements journalled under the old count land in the new layout."""
    lake = tmp_path / "lake"
    ours(lake, "eu", "entities", "import", "-i", SRC, "--shards", "4", "--journal")
    res = ours(lake, "eu", "maintenance", "shard", "--shards", "32")
    assert "moved from the journal first" in res.stderr
    assert partition_shards(lake, "eu") <= {f"{i:02x}" for i in range(32)}
    assert len(ours(lake, "eu", "entities", "iterate").stdout.splitlines()) == 151
    ours(lake, "eu", "maintenance", "check")
    # later imports take the new count from config.yml
    ours(lake, "eu", "entities", "import", "-i", SRC, "--journal")
    ours(lake, "eu", "maintenance", "flush")
    assert partition_shards(lake, "eu") <= {f"{i:02x}" for i in range(32)}
    ours(lake, "eu", "maintenance", "check")


def test_shard_usage_errors(tmp_path):
    lake = tmp_path / "lake"
    ours(lake, "eu", "entities", "import", "-i", SRC)
    for args, msg in ((["--shards", "x"], "bad --shards `x`"),
                      (["--shards", "5000"], "0 to 4096"),
                      ([], "shard needs --shards N")):
        res = ours(lake, "eu", "maintenance", "shard", *args, check=False)
        assert res.returncode == 2 and msg in res.stderr, res.stderr
    assert shards_in_config(lake, "eu") == 0
    # an import naming another count is refused on both paths, pointing at the re-shard
    for journal in ([], ["--journal"]):
        res = ours(lake, "eu", "entities", "import", "-i", SRC, "--shards", "8", *journal,
                   check=False)
        assert res.returncode != 0, res.stderr
        assert "has 0 shards (config.yml), not 8: `maintenance shard --shards 8`" in res.stderr
    assert shards_in_config(lake, "eu") == 0


def test_writers_that_waited_out_a_reshard_use_its_count(tmp_path):
    """An import or a flush that read config.yml before a re-shard and
    waited for its fence appends with the count the re-shard recorded
    (config.yml is written before the fence goes, and appends read it again
    once their marker is registered), not with the count it read first."""
    import os
    import subprocess
    import time

    from conftest import tool
    from ftm_lakehouse.helpers.shards import entity_shard

    zala = SHARED_DATA / "sanctions_zala.ftm.json"
    zala_ids = {json.loads(line)["id"] for line in zala.read_text().splitlines()}
    for flush in (False, True):
        lake = tmp_path / f"lake-{flush}"
        ours(lake, "eu", "entities", "import", "-i", SRC, "--shards", "4")
        if flush:
            ours(lake, "eu", "entities", "import", "-i", zala, "--journal")
        (lake / "eu" / ".LOCK").write_text("")  # a re-shard holds the fence
        env = {**os.environ, "LAKEHOUSE_LOCK_BACKOFF_MS": "20", "LAKEHOUSE_LOCK_MAX_RETRIES": "400"}
        cmd = ["maintenance", "flush"] if flush else ["entities", "import", "-i", str(zala)]
        proc = subprocess.Popen([str(tool("ftm-lakehouse")), "--uri", str(lake), "-d", "eu", *cmd],
                                env=env, stderr=subprocess.PIPE, text=True)
        time.sleep(2)  # it has read config.yml (4) and waits for the fence
        # the re-shard ends: its count recorded, then the fence released
        config = lake / "eu" / "config.yml"
        config.write_text(config.read_text().replace("shards: 4", "shards: 16"))
        (lake / "eu" / ".LOCK").unlink()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        rows = DeltaTable(str(lake / "eu" / "statements")).to_pyarrow_table(
            columns=["entity_id", "shard"]).to_pylist()
        new = [r for r in rows if r["entity_id"] in zala_ids]
        assert new and all(r["shard"] == entity_shard(r["entity_id"], 16) for r in new), flush


def test_unlock_completes_a_reshard_killed_before_config(tmp_path):
    """A re-shard killed between its commit and config.yml (its fence left
    held): the commit carries the new count, `check` fails naming both
    counts, `unlock` records the committed one before it lets writers on;
    lookups then find every entity. Both ways: to more and to fewer shards
    (fewer leaves every partition a valid key of the old count, so only the
    commit tells)."""
    lake = tmp_path / "lake"
    ours(lake, "eu", "entities", "import", "-i", SRC, "--shards", "4")
    whole = ours(lake, "eu", "entities", "iterate").stdout
    ids = ids_of(whole, 5)
    config = lake / "eu" / "config.yml"
    for old, new in ((4, 16), (16, 2)):
        assert shards_in_config(lake, "eu") == old
        kept = config.read_text()
        ours(lake, "eu", "maintenance", "shard", "--shards", str(new))
        config.write_text(kept)  # as if killed before it was written
        (lake / "eu" / ".LOCK").write_text("")
        check = ours(lake, "eu", "maintenance", "check", check=False)
        assert check.returncode == 5
        # as its help says: run again, it gives up on the fence, naming unlock
        env = {**os.environ, "LAKEHOUSE_LOCK_MAX_RETRIES": "1", "LAKEHOUSE_LOCK_BACKOFF_MS": "1"}
        again = ours(lake, "eu", "maintenance", "shard", "--shards", str(new), check=False, env=env)
        assert again.returncode == 4 and "maintenance unlock" in again.stderr
        usage = " ".join(ours(lake, "eu", "maintenance", "shard", "--help").stdout.split())
        assert "leaves its fence held (writers, and this command run again, give up with exit 4): " \
            "`unlock` records the committed count" in usage
        assert (f"FAIL layout: the last commit re-sharded the table to {new} shard(s) but "
                f"config.yml says {old}") in check.stdout
        res = ours(lake, "eu", "maintenance", "unlock")
        assert f"recorded {new} shard(s) in config.yml (it said {old})" in res.stderr
        assert "released the write fence" in res.stderr
        assert shards_in_config(lake, "eu") == new
        ours(lake, "eu", "maintenance", "check")
        assert our_lookups(lake, "eu", ids) == len(ids)
        assert entity_set(ours(lake, "eu", "entities", "iterate").stdout) == entity_set(whole)
    # nothing to repair: unlock says only what it did
    res = ours(lake, "eu", "maintenance", "unlock")
    assert res.stderr == "no lock was held\n"
    # its fence removed by hand instead: a re-shard to config.yml's count is
    # no no-op while the table is in another layout; it repairs
    kept = config.read_text()
    ours(lake, "eu", "maintenance", "shard", "--shards", "8")
    config.write_text(kept)
    res = ours(lake, "eu", "maintenance", "shard", "--shards", "2")
    assert "already has" not in res.stderr and "now has 2 shards" in res.stderr
    assert partition_shards(lake, "eu") <= {"0", "1"}
    ours(lake, "eu", "maintenance", "check")
    assert our_lookups(lake, "eu", ids) == len(ids)
    res = ours(lake, "eu", "maintenance", "shard", "--shards", "2")
    assert "already has 2 shards" in res.stderr


def test_reshard_of_thousands_of_origins_stays_small(tmp_path):
    """Thousands of (bucket, origin) groups cost their partitions: each
    group got a partition list as long as the table's, memory growing with
    the square of the origins (4000 origins of 8000 statements took 600 MB,
    10000 aborted out of memory)."""
    lake = tmp_path / "lake"
    src = tmp_path / "in.ftm.json"
    with open(src, "w") as fh:
        for i in range(4000):
            fh.write(json.dumps({"id": f"e{i}", "schema": "Person", "origin": f"o{i:04d}",
                                 "properties": {"name": [f"P {i}"]}}) + "\n")
    ours(lake, "wide", "entities", "import", "--shards", "1", "-i", src)
    # ASan's quarantine would hold freed memory and hide the difference
    env = dict(os.environ, ASAN_OPTIONS="quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
    from conftest import tool

    # Linux keeps the RSS high-water mark across fork and exec, so the
    # command starts from a small interpreter, not from this large harness
    # (as bench/rusage.c does)
    measure = ("import os, sys\n"
               "pid = os.fork()\n"
               "if pid == 0:\n"
               "    os.execv(sys.argv[1], sys.argv[1:])\n"
               "_, status, usage = os.wait4(pid, 0)\n"
               "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n")
    proc = run([sys.executable, "-c", measure, tool("ftm-lakehouse"), "--uri", lake, "-d", "wide",
                "maintenance", "shard", "--shards", "2"], env=env)
    code, maxrss = (int(x) for x in proc.stdout.split())
    assert code == 0, proc.stderr
    assert maxrss < 150 * 1024, f"re-shard peak RSS {maxrss} KB"
    assert shards_in_config(lake, "wide") == 2
    ours(lake, "wide", "maintenance", "check")
    assert len(ours(lake, "wide", "entities", "iterate").stdout.splitlines()) == 4000
