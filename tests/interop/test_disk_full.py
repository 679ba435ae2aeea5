"""A full disk, for real: a small tmpfs filled with a filler file so that a
command runs out of space at a different write each time (root only, for
the mount; skipped otherwise)."""
import os
import shutil
import subprocess

import pytest
from deltalake import DeltaTable

from conftest import SHARED_DATA, run, tool

STEP = 4096


@pytest.fixture
def tmpfs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2048k", "tmpfs", str(mnt)],
                          capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def fill(mnt, free):
    """Leave about `free` bytes of mnt free."""
    st = os.statvfs(mnt)
    n = st.f_bavail * st.f_frsize - free
    if n > 0:
        with open(mnt / "filler", "wb") as f:
            os.posix_fallocate(f.fileno(), 0, n)


def on_full_disk(tmpfs, free, command, no_space=("No space left on device",)):
    """command() with about `free` bytes left on tmpfs, the space given back
    after. None when it succeeded; else its process, which failed as a full
    disk must fail a command: exit 1, no crash, a message in no_space."""
    fill(tmpfs, free)
    try:
        proc = command()
    finally:
        (tmpfs / "filler").unlink(missing_ok=True)
    if proc.returncode == 0:
        return None
    assert proc.returncode == 1, proc.stderr
    assert "Sanitizer" not in proc.stderr
    assert any(m in proc.stderr for m in no_space), proc.stderr
    return proc


def rows(lake):
    return DeltaTable(str(lake / "ds" / "statements")).to_pyarrow_table().num_rows


def statements(lake):
    """The distinct stored statements (a merge that committed some of its
    partitions has dropped duplicate rows, no statement)."""
    t = DeltaTable(str(lake / "ds" / "statements")).to_pyarrow_table()
    cols = [t.column(c).to_pylist() for c in ("id", "origin", "value", "deleted_at")]
    return {(i, o, v, d is None) for i, o, v, d in zip(*cols)}


@pytest.mark.parametrize("place", ["journal", "lake"])
def test_flush_failing_after_its_commit_is_not_committed_twice(tmp_path, tmpfs, place):
    """A flush on a full disk can commit a segment to the table and then fail
    (SQLite needs room to drop the segment; the freshness tag is written
    after the commit): the next flush must not commit the rows again, and
    must stamp statements/last_updated. place: what is on the full disk,
    the journal alone or the whole lake (journal inside)."""
    exe = tool("ftm-lakehouse")
    stage = tmp_path / "stage"
    lake = tmpfs / "lake" if place == "lake" else tmp_path / "lake"
    journal = tmpfs / "j.db" if place == "journal" else lake / ".journal.db"
    env = dict(os.environ, LAKEHOUSE_JOURNAL_URI=f"sqlite:///{journal}", LH_NO_PROGRESS="1")
    lh = lambda *a, **kw: run([exe, "--uri", lake, "-d", "ds", *a], env=env, **kw)
    lake.mkdir()
    lh("entities", "import", "-i", SHARED_DATA / "eu_authorities.ftm.json")
    base = rows(lake)
    lh("entities", "import", "-i", SHARED_DATA / "donations.ftm.json", "--journal")
    shutil.copytree(lake, stage / "lake")
    shutil.copy2(journal, stage / "j.db")
    lh("maintenance", "flush")
    expected = rows(lake)
    assert expected > base

    failed = committed_then_failed = drop_failed = 0
    free = 0
    while True:
        for p in tmpfs.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        shutil.rmtree(lake, ignore_errors=True)
        shutil.copytree(stage / "lake", lake)
        shutil.copy2(stage / "j.db", journal)
        before = lh("tags", "get", "statements/last_updated").stdout.strip()
        proc = on_full_disk(tmpfs, free, lambda: lh("maintenance", "flush", check=False),
                            ("No space left on device", "disk is full"))
        if not proc:
            break
        failed += 1
        if "DROP TABLE" in proc.stderr:  # the segment's rows are in: said so
            assert "its rows are stored, but the segment stays" in proc.stderr, proc.stderr
            drop_failed += 1
        if rows(lake) > base:
            committed_then_failed += 1
        lh("maintenance", "flush")
        assert rows(lake) == expected, f"free={free}: {proc.stderr}"
        check = lh("maintenance", "check")
        assert "journal 0 row(s)" in check.stdout, check.stdout
        after = lh("tags", "get", "statements/last_updated").stdout.strip()
        assert after > before, f"free={free}: {proc.stderr}"
        free += STEP
        assert free < 1024 * 1024, "the flush never succeeded"
    assert rows(lake) == expected
    assert failed and committed_then_failed, (failed, committed_then_failed)


def test_full_disk_under_the_journal_is_no_corruption(tmp_path, tmpfs):
    """SQLite cannot open a WAL journal on a full disk (its index needs
    room): the error says the disk is full, and `maintenance check` ends in
    that I/O error (exit 1), not in CORRUPT (exit 5)."""
    exe = tool("ftm-lakehouse")
    lake, journal = tmp_path / "lake", tmpfs / "j.db"
    env = dict(os.environ, LAKEHOUSE_JOURNAL_URI=f"sqlite:///{journal}", LH_NO_PROGRESS="1")
    lh = lambda *a, **kw: run([exe, "--uri", lake, "-d", "ds", *a], env=env, **kw)
    lake.mkdir()
    lh("entities", "import", "-i", SHARED_DATA / "eu_authorities.ftm.json", "--journal")
    fill(tmpfs, 0)
    proc = lh("maintenance", "flush", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "No space left on device" in proc.stderr, proc.stderr
    check = lh("maintenance", "check", check=False)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "CORRUPT" not in check.stdout, check.stdout
    assert "journal not checked" in check.stderr and "No space left on device" in check.stderr, check.stderr
    (tmpfs / "filler").unlink()
    assert lh("maintenance", "check").returncode == 0
    lh("maintenance", "flush")
    check = lh("maintenance", "check")
    assert "journal 0 row(s)" in check.stdout, check.stdout


@pytest.mark.parametrize("command", [["merge"], ["compact"], ["optimize"], ["shard", "--shards", "4"]])
def test_failed_rewrite_leaves_no_orphans(tmp_path, tmpfs, command):
    """A merge, compaction or re-shard that runs out of space deletes the
    files it wrote and did not commit, rather than leaving them (in the
    space a retry needs) for vacuum; the table stays as it was."""
    exe = tool("ftm-lakehouse")
    stage, lake = tmp_path / "stage", tmpfs / "lake"
    env = dict(os.environ, LH_NO_PROGRESS="1")
    lh = lambda where, *a, **kw: run([exe, "--uri", where, "-d", "ds", *a], env=env, **kw)
    for name in ("eu_authorities", "donations", "eu_authorities"):
        lh(stage, "entities", "import", "-i", SHARED_DATA / f"{name}.ftm.json")
    base = statements(stage)
    failed = 0
    free = 0
    while True:
        shutil.rmtree(lake, ignore_errors=True)
        shutil.copytree(stage, lake)
        proc = on_full_disk(tmpfs, free, lambda: lh(lake, "maintenance", *command, check=False))
        if not proc:
            break
        failed += 1
        check = lh(lake, "maintenance", "check")
        assert " 0 orphan(s)" in check.stdout, f"free={free}: {proc.stderr}\n{check.stdout}"
        assert statements(lake) == base
        free += 2 * STEP
        assert free < 1024 * 1024, "the command never succeeded"
    assert failed


def test_export_stopped_after_index_json_is_completed_by_the_next(tmp_path):
    """An export that ran out of space after index.json was written, before
    its tags and the run's stamp (found by the full-disk sweep; here the
    state is made by removing those tags): the next export owes the last
    steps, though every export file is fresh."""
    exe = tool("ftm-lakehouse")
    lake = tmp_path / "lake"
    env = dict(os.environ, LH_NO_PROGRESS="1")
    lh = lambda *a, **kw: run([exe, "--uri", lake, "-d", "ds", *a], env=env, **kw)
    lh("entities", "import", "-i", SHARED_DATA / "eu_authorities.ftm.json")
    lh("export")
    tags = lake / "ds" / "tags" / "lakehouse"
    stamp = tags / "operations" / "export" / "last_run"
    assert stamp.exists() and (tags / "index.json").exists()
    stamp.unlink()
    (tags / "index.json").unlink()
    for p in tags.glob("index.json-*"):
        p.unlink()
    proc = lh("export")
    assert "wrote index.json" in proc.stderr or stamp.exists(), proc.stderr
    assert stamp.exists(), proc.stderr
    assert (tags / "index.json").exists(), proc.stderr
    assert lh("tags", "is-latest", "operations/export/last_run", "statements/last_updated",
              check=False).returncode == 0
    # and then nothing is owed
    proc = lh("export")
    assert "wrote index.json" not in proc.stderr, proc.stderr


def test_bulk_import_says_when_it_committed_before_failing(tmp_path, tmpfs):
    """A bulk import on a full disk fails before its commit (nothing stored)
    or, when the commit took the last of the space, at the freshness stamp
    after it: then the message says the import is committed (re-running it
    would store every statement twice)."""
    exe = tool("ftm-lakehouse")
    stage, lake = tmp_path / "stage", tmpfs / "lake"
    # batches of 500 rows: a file per batch and partition, so the commit
    # lands at many more fill levels
    env = dict(os.environ, LH_NO_PROGRESS="1", LAKEHOUSE_MAX_BUFFER_ROWS="500")
    lh = lambda where, *a, **kw: run([exe, "--uri", where, "-d", "ds", *a], env=env, **kw)
    lh(stage, "entities", "import", "-i", SHARED_DATA / "eu_authorities.ftm.json")
    base = rows(stage)
    free, committed = 0, 0
    while True:
        shutil.rmtree(lake, ignore_errors=True)
        shutil.copytree(stage, lake)
        proc = on_full_disk(tmpfs, free, lambda: lh(lake, "entities", "import", "-i",
                                                      SHARED_DATA / "donations.ftm.json", check=False))
        if not proc:
            break
        stored = rows(lake) > base
        committed += stored
        assert stored == ("import itself is committed" in proc.stderr), f"free={free}: {proc.stderr}"
        assert " 0 orphan(s)" in lh(lake, "maintenance", "check").stdout
        free += STEP
        assert free < 1024 * 1024, "the import never succeeded"
    assert committed, "no fill level failed the stamp after the commit"
