"""The entities diff series of `make`/`export` against the reference's:
after a first export (which only records the series state), new entities,
changed ones and deleted ones give the same ADD/MOD/DEL entries, whichever
side wrote the lake and the state before; a failed diff write keeps the
window open; a bad state is named."""
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_DATA, ref_cli, run, tool

EU = SHARED_DATA / "eu_authorities.ftm.json"
SERIES = Path("diffs") / "entities.ftm.json"
STATE = Path("tags") / "lakehouse" / "diffs" / "entities.ftm.json-current"
TIMES = ("first_seen", "last_seen", "last_change")


def ours(lake: Path, *args, check=True, env=None):
    return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "eu", *args], check=check, env=env)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """First import: 100 entities. Second: the other 51, 10 of the first with
    a new value, and 5 of the first deleted."""
    root = tmp_path_factory.mktemp("diff-inputs")
    lines = EU.read_text().splitlines()
    first, second = root / "first.json", root / "second.json"
    first.write_text("\n".join(lines[:100]) + "\n")
    changed = []
    for line in lines[:10]:
        entity = json.loads(line)
        entity["properties"].setdefault("notes", []).append("changed")
        changed.append(json.dumps(entity))
    second.write_text("\n".join(lines[100:] + changed) + "\n")
    deleted = [json.loads(line)["id"] for line in lines[20:25]]
    ids = root / "deleted.txt"
    ids.write_text("\n".join(deleted) + "\n")
    return first, second, ids


def env_for(lake: Path) -> dict:
    return {**os.environ, "LAKEHOUSE_JOURNAL_URI": f"sqlite:///{lake}.journal.db"}


def first_step(side: str, lake: Path, first: Path):
    if side == "ours":
        ours(lake, "entities", "import", "-i", first, env=env_for(lake))
        ours(lake, "make", env=env_for(lake))
    else:
        ref_cli(["--uri", lake, "-d", "eu", "entities", "import", "-i", first], env=env_for(lake))
        ref_cli(["--uri", lake, "-d", "eu", "make"], env=env_for(lake))


def second_step(side: str, lake: Path, second: Path, ids: Path):
    env = env_for(lake)
    if side == "ours":
        ours(lake, "entities", "import", "-i", second, env=env)
        ours(lake, "entities", "delete", "-i", ids, env=env)
        ours(lake, "make", env=env)
    else:
        ref_cli(["--uri", lake, "-d", "eu", "entities", "import", "-i", second], env=env)
        run([sys.executable, ROOT / "bench" / "ref_driver.py", "--uri", lake, "-d", "eu",
             "delete", "--ids", ids], env=env)
        ref_cli(["--uri", lake, "-d", "eu", "make"], env=env)


def diff_entries(lake: Path) -> dict:
    """(op, id) -> the entity without its run-dependent timestamps."""
    files = sorted((lake / "eu" / SERIES).glob("*.delta.json"))
    assert len(files) == 1, files
    out = {}
    for line in files[0].read_text().splitlines():
        entry = json.loads(line)
        assert list(entry) == ["op", "entity"]
        entity = {k: v for k, v in entry["entity"].items() if k not in TIMES}
        entity["properties"] = {k: sorted(v) for k, v in entity.get("properties", {}).items()}
        key = (entry["op"], entity["id"])
        assert key not in out
        out[key] = entity
    return out


@pytest.mark.parametrize("sides", [("ours", "ours"), ("ref", "ref"), ("ours", "ref"),
                                   ("ref", "ours")], ids="-then-".join)
def test_same_diff(tmp_path, inputs, sides):
    """Each side reads the other's series state and writes the same diff."""
    first, second, ids = inputs
    lake = tmp_path / "lake"
    first_step(sides[0], lake, first)
    assert not (lake / "eu" / SERIES).exists()  # a first run only records the state
    state = (lake / "eu" / STATE).read_text()
    assert state.count(":") == 1 and state.split(":")[1].isdigit()
    second_step(sides[1], lake, second, ids)
    entries = diff_entries(lake)
    ops = sorted(op for op, _ in entries)
    assert ops.count("ADD") == 51 and ops.count("MOD") == 10 and ops.count("DEL") == 5
    for (op, _), entity in entries.items():
        if op == "DEL":
            assert list(entity) == ["id", "properties"] and not entity["properties"]
        if op == "MOD":
            assert "changed" in entity["properties"]["notes"]
    assert (lake / "eu" / STATE).read_text() != state
    test_same_diff.seen[sides] = entries
    if len(test_same_diff.seen) == 4:
        results = list(test_same_diff.seen.values())
        assert all(r == results[0] for r in results)


test_same_diff.seen = {}


def test_no_new_version_no_diff(tmp_path, inputs):
    """A forced export without a new table version moves the state and
    writes no diff file."""
    first, _, _ = inputs
    lake = tmp_path / "lake"
    first_step("ours", lake, first)
    state = (lake / "eu" / STATE).read_text()
    ours(lake, "export", "--force", env=env_for(lake))
    after = (lake / "eu" / STATE).read_text()
    assert after.split(":")[1] == state.split(":")[1] and after != state
    assert not (lake / "eu" / SERIES).exists()


def test_failed_diff_keeps_the_window(tmp_path, inputs):
    """A diff that cannot be written fails the export, leaves the state and
    the entities export stale; the next run writes the whole window."""
    first, second, ids = inputs
    lake = tmp_path / "lake"
    env = env_for(lake)
    first_step("ours", lake, first)
    state = (lake / "eu" / STATE).read_text()
    ours(lake, "entities", "import", "-i", second, env=env)
    ours(lake, "entities", "delete", "-i", ids, env=env)
    (lake / "eu" / "diffs").write_text("in the way")
    proc = ours(lake, "make", check=False, env=env)
    assert proc.returncode == 1 and "diffs" in proc.stderr
    assert (lake / "eu" / STATE).read_text() == state
    (lake / "eu" / "diffs").unlink()
    proc = ours(lake, "make", env=env)
    assert "diff: 51 added, 10 modified, 5 deleted entities" in proc.stderr
    assert len(diff_entries(lake)) == 66


def test_bad_state_is_named(tmp_path, inputs):
    first, _, _ = inputs
    lake = tmp_path / "lake"
    first_step("ours", lake, first)
    (lake / "eu" / STATE).write_text("yesterday:3")
    ours(lake, "entities", "import", "-i", EU, env=env_for(lake))
    proc = ours(lake, "make", check=False, env=env_for(lake))
    assert proc.returncode == 5
    assert "entities.ftm.json-current" in proc.stderr and "yesterday:3" in proc.stderr
    assert not (lake / "eu" / SERIES).exists()


def test_concurrent_exports_one_diff(tmp_path, inputs):
    """Two exports at once are serialized by .LOCK-MERGE, as the reference's
    export sweep: the window's changes land in one diff file, not once per
    run (both read the same series state, so each wrote the whole window)."""
    import subprocess
    first, second, ids = inputs
    lake = tmp_path / "lake"
    env = env_for(lake)
    first_step("ours", lake, first)
    ours(lake, "entities", "import", "-i", second, env=env)
    argv = [str(tool("ftm-lakehouse")), "--uri", str(lake), "-d", "eu", "export"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    seen = {}
    for path in (lake / "eu" / SERIES).glob("*.delta.json"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            key = (entry["op"], entry["entity"]["id"])
            seen[key] = seen.get(key, 0) + 1
    assert seen and max(seen.values()) == 1, sorted(k for k, n in seen.items() if n > 1)[:3]
    assert sorted(op for op, _ in seen).count("ADD") == 51


def test_export_waits_for_merge_fence(tmp_path, inputs):
    """An export takes .LOCK-MERGE: held by a live process (a reference
    export sweep, a merge), the export waits, then gives up naming it."""
    first, _, _ = inputs
    lake = tmp_path / "lake"
    first_step("ours", lake, first)
    lock = lake / "eu" / ".LOCK-MERGE"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename,
                                "created_at": "2026-01-01T00:00:00"}) + "\n")
    env = {**env_for(lake), "LAKEHOUSE_LOCK_MAX_RETRIES": "2", "LAKEHOUSE_LOCK_BACKOFF_MS": "10"}
    proc = ours(lake, "export", "--force", check=False, env=env)
    assert proc.returncode == 4 and ".LOCK-MERGE" in proc.stderr, proc.stderr
    # without --force, a holder that left the exports fresh makes the wait moot
    proc = ours(lake, "export", check=False, env=env)
    assert proc.returncode == 0 and "fresh" in proc.stderr, proc.stderr
    lock.unlink()
    ours(lake, "export", "--force", env=env)
