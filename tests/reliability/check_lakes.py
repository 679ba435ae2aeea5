"""`maintenance check` on deliberately broken lakes: each breakage is named
(exit 5), a healthy lake and harmless leftovers (orphans) pass (exit 0)."""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lake import Lake, entity_batch, fail  # noqa: E402


def log_files(lake):
    return sorted((lake.table / "_delta_log").glob("*.json"))


def live_adds(lake):
    """add actions of the newest commit that still hold (merge wrote them)."""
    adds = {}
    for f in log_files(lake):
        for line in f.read_text().splitlines():
            a = json.loads(line)
            if "add" in a:
                adds[a["add"]["path"]] = a["add"]
            elif "remove" in a:
                adds.pop(a["remove"]["path"], None)
    return adds


def write_commit(lake, actions):
    v = len(log_files(lake))
    path = lake.table / "_delta_log" / f"{v:020d}.json"
    path.write_text("".join(json.dumps(a) + "\n" for a in actions))


def expect(lake, code, *needles, quick=False):
    got, text = lake.check(*(["--quick"] if quick else []))
    if got != code:
        fail(f"{lake.root.name}: check exited {got}, expected {code}:\n{text}")
    for n in needles:
        if n not in text:
            fail(f"{lake.root.name}: check output lacks `{n}`:\n{text}")
    return text


def pa_concat_sorted(table, extra):
    """table plus extra rows, in merge order (entity_id, fragment, role, prop, id)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    both = pa.concat_tables([table, extra])
    keys = [(k, "ascending", "at_end") for k in ("entity_id", "fragment", "role", "prop", "id")]
    return both.take(pc.sort_indices(both, keys))


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def main():
    tmp = Path(tempfile.mkdtemp(prefix="lh-check-"))
    rng = random.Random(1)
    base = Lake(tmp / "base")
    data, _ = entity_batch("a", 40, rng)
    (tmp / "a.json").write_text(data)
    base.run("entities", "import", "-i", str(tmp / "a.json"))
    data, _ = entity_batch("b", 40, rng)
    (tmp / "b.json").write_text(data)
    base.run("entities", "import", "--journal", "-i", str(tmp / "b.json"))
    base.run("maintenance", "merge")
    expect(base, 0, "healthy", "journal 120 row(s)", " 120 row(s)")
    expect(base, 0, "healthy", " 120 row(s)", quick=True)  # rows counted from the footers

    def case(name):
        shutil.copytree(base.root, tmp / name)
        return Lake(tmp / name)

    cases = 0
    # 0. unmerged partitions of several files (a's rows again) are healthy
    lk = case("unmerged")
    lk.run("entities", "import", "-i", str(tmp / "a.json"))
    expect(lk, 0, "healthy")
    expect(lk, 0, "healthy", quick=True)
    cases += 1

    # 1. a referenced file deleted
    lk = case("deleted")
    victim = sorted(lk.table.rglob("merged-*.parquet"))[0]
    victim.unlink()
    expect(lk, 5, "FAIL missing-file", victim.name, "CORRUPT")
    cases += 1

    # 2. a referenced file truncated, and one overwritten with garbage of the same size
    lk = case("truncated")
    victim = sorted(lk.table.rglob("merged-*.parquet"))[0]
    size = victim.stat().st_size
    with open(victim, "r+b") as f:
        f.truncate(size // 2)
    expect(lk, 5, "FAIL size-mismatch", victim.name, f"the log says {size}")
    expect(lk, 5, "FAIL size-mismatch", victim.name, quick=True)
    cases += 1
    lk = case("garbage")
    victim = sorted(lk.table.rglob("merged-*.parquet"))[0]
    victim.write_bytes(b"\x00" * victim.stat().st_size)
    expect(lk, 5, "FAIL bad-parquet", victim.name)
    expect(lk, 5, "FAIL bad-parquet", victim.name, quick=True)  # no footer
    cases += 1
    # a data page broken, the footer intact: only the full check reads it
    lk = case("badpage")
    victim = sorted(lk.table.rglob("merged-*.parquet"))[0]
    raw = bytearray(victim.read_bytes())
    raw[4:64] = b"\xff" * 60  # just past the magic: the first page header
    victim.write_bytes(bytes(raw))
    expect(lk, 5, "FAIL bad-parquet", victim.name)
    expect(lk, 0, "healthy", quick=True)
    cases += 1
    # the log's numRecords disagrees with the footer
    lk = case("rowcount")
    adds = live_adds(lk)
    path, add = sorted(adds.items())[0]
    stats = json.loads(add["stats"])
    stats["numRecords"] += 1
    write_commit(lk, [{"remove": {"path": path, "deletionTimestamp": 0, "dataChange": False}},
                      {"add": dict(add, stats=json.dumps(stats))}])
    expect(lk, 5, "FAIL row-count-mismatch", quick=True)
    cases += 1

    # 3. a bogus line in the log
    lk = case("boguslog")
    write_commit(lk, [])
    log_files(lk)[-1].write_text('{"add": {"path": \n')
    expect(lk, 5, "FAIL delta-log")
    cases += 1

    # 4. a lock and an append marker of a process that is gone
    lk = case("stalelock")
    pid = dead_pid()
    holder = json.dumps({"pid": pid, "host": os.uname().nodename,
                         "created_at": "2026-01-01T00:00:00", "tool": "test"})
    (lk.root / "ds" / ".LOCK").write_text(holder + "\n")
    (lk.root / "ds" / ".LOCK-APPENDS").mkdir()
    (lk.root / "ds" / ".LOCK-APPENDS" / "m1").write_text(holder + "\n")
    # the lock blocks every writer (not leased: as an older version's or a
    # re-shard's); the marker nobody (maintenance removes it)
    expect(lk, 5, "FAIL stale-lock", "ds/.LOCK`", f"pid {pid}", "maintenance unlock",
           "note lock: `ds/.LOCK-APPENDS/m1` was left by", "the next maintenance removes it",
           "LOCKED: dataset ds")  # not CORRUPT: the data is whole
    lk.run("maintenance", "unlock")
    expect(lk, 0, "healthy")
    # a lock of a live process is reported, not a failure
    holder = json.dumps({"pid": os.getpid(), "host": os.uname().nodename,
                         "created_at": "2026-01-01T00:00:00", "tool": "test"})
    (lk.root / "ds" / ".LOCK-MERGE").write_text(holder + "\n")
    expect(lk, 0, "note lock", f"pid {os.getpid()}")
    cases += 1

    # 5b. one merged file that holds a statement twice, one out of entity
    # order: the full check streams the file and finds both
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    def rewrite_merged(lk, name, transform):
        path, add = sorted(live_adds(lk).items())[0]
        table = transform(pq.read_table(lk.table / path, partitioning=None))
        new_path = path.rsplit("/", 1)[0] + f"/merged-{name}.zstd.parquet"
        pq.write_table(table, lk.table / new_path, compression="zstd")
        stats = json.loads(add["stats"])
        stats["numRecords"] = table.num_rows
        write_commit(lk, [{"remove": {"path": path, "deletionTimestamp": 0, "dataChange": False}},
                          {"add": dict(add, path=new_path, size=(lk.table / new_path).stat().st_size,
                                       stats=json.dumps(stats))}])

    lk = case("dupe1file")
    rewrite_merged(lk, "dupe", lambda t: pa_concat_sorted(t, t.slice(len(t) // 2, 1)))
    expect(lk, 5, "FAIL duplicate-statement")
    expect(lk, 0, "healthy", quick=True)
    cases += 1
    lk = case("unsorted")
    rewrite_merged(lk, "unsorted", lambda t: t.take(pc.sort_indices(t, [("entity_id", "descending")])))
    expect(lk, 5, "FAIL unsorted-file", "entity order")
    cases += 1

    # 5. a merged file committed twice under two names: duplicate statements
    lk = case("dupes")
    adds = live_adds(lk)
    path, add = sorted(adds.items())[0]
    src = lk.table / path
    dup_path = path.replace("merged-", "merged-0000dup-")
    shutil.copy(src, lk.table / dup_path)
    write_commit(lk, [{"add": dict(add, path=dup_path)}])
    expect(lk, 5, "FAIL duplicate-statement")
    cases += 1

    # 6. a partition value that is no safe name
    lk = case("badpart")
    path, add = sorted(live_adds(lk).items())[0]
    pv = dict(add["partitionValues"], origin="../x")
    write_commit(lk, [{"add": dict(add, path=path.replace("merged-", "merged-1-"),
                                   partitionValues=pv)}])
    shutil.copy(lk.table / path, lk.table / path.replace("merged-", "merged-1-"))
    expect(lk, 5, "FAIL partition")
    cases += 1

    # 7. orphans (a killed writer's file) are listed but healthy
    lk = case("orphan")
    path = sorted(live_adds(lk))[0]
    orphan = Path(path).parent / "part-00000-orphan-c000.zstd.parquet"
    shutil.copy(lk.table / path, lk.table / orphan)
    # (the merge's replaced file, kept until vacuum, is no orphan)
    expect(lk, 0, "note orphan", str(orphan), "1 orphan(s)",
           "note replaced: 1 file(s) the log removed, kept until vacuum")
    cases += 1

    # 8. a killed writer's temp file: a note, healthy; vacuum takes it
    lk = case("debris")
    path = sorted(live_adds(lk))[0]
    temp = lk.table / Path(path).parent / ".lh-tmp-4242-00000000deadbeef"
    temp.write_bytes(b"PAR1 half a file")
    expect(lk, 0, "note debris: 1 temp file")
    lk.run("maintenance", "vacuum", "--retention-hours", "0")
    if temp.exists():
        fail("vacuum left a killed writer's temp file")
    code, text = lk.check()
    if code != 0 or "debris" in text:
        fail(f"check after vacuum still names debris:\n{text}")
    # a killed export's temp files elsewhere in the dataset: named by check,
    # taken by vacuum once a minute old (a fresh one may be a live writer's:
    # configure, tags)
    old = lk.root / "ds" / "exports" / ".lh-tmp-4243-00000000deadbeef"
    fresh = lk.root / "ds" / ".lh-tmp-4244-00000000deadbeef"
    old.parent.mkdir(exist_ok=True)
    old.write_bytes(b"id,entity_id\n" * 1000)
    fresh.write_bytes(b"{}")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    expect(lk, 0, "note debris: 2 temp file")
    lk.run("maintenance", "vacuum", "--retention-hours", "0")
    if old.exists() or not fresh.exists():
        fail(f"vacuum: an hour-old temp file of the dataset {'left' if old.exists() else 'kept'}, "
             f"a fresh one {'kept' if fresh.exists() else 'removed'}")
    fresh.unlink()
    # with a retention of an hour, the table's temp files older than that go
    # (in the one dataset-wide pass), younger ones stay
    temp.write_bytes(b"PAR1 half a file")
    young = temp.parent / ".lh-tmp-4245-00000000deadbeef"
    young.write_bytes(b"PAR1 half a file")
    os.utime(temp, (hours_ago, hours_ago))
    lk.run("maintenance", "vacuum", "--retention-hours", "1")
    if temp.exists() or not young.exists():
        fail(f"vacuum --retention-hours 1: a 2-hour-old table temp file "
             f"{'left' if temp.exists() else 'removed'}, a fresh one "
             f"{'kept' if young.exists() else 'removed'}")
    young.unlink()
    # make's vacuum reports the temp files apart from the replaced files
    temp.write_bytes(b"PAR1 half a file")
    made = lk.run("make", "--force-optimize").stderr.decode()
    if temp.exists() or "and 1 left by interrupted writes" not in made:
        fail(f"make's vacuum: temp file {'left' if temp.exists() else 'not reported'}:\n{made}")
    cases += 1

    # shard keys are lowercase hex of the count's width: 16 shards give 0..f
    # (once refused as decimal); under a config of 32 the same one-digit
    # keys are not keys (32 shards are 00..1f)
    lk = Lake(tmp / "hexshards")
    lk.run("entities", "import", "--shards", "16", "-i", str(tmp / "a.json"))
    keys = {p.name for p in lk.table.glob("shard=*")}
    if not keys & {f"shard={c}" for c in "abcdef"}:
        fail(f"40 entities in 16 shards took no shard a..f: {sorted(keys)}")
    expect(lk, 0, "healthy")
    config = lk.root / lk.dataset / "config.yml"
    config.write_text(config.read_text().replace("shards: 16", "shards: 32"))
    expect(lk, 5, "FAIL partition:", "not a key of 32 shard(s) (0..1f)")
    cases += 1

    shutil.rmtree(tmp)
    print(f"check_lakes: {cases} broken-lake cases OK")


if __name__ == "__main__":
    main()
