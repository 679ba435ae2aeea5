"""Crash runs: start a CLI operation (bulk import, journal import, flush,
merge, optimize, compact, vacuum, make, re-shard), kill -9 it after a random
delay, then require: `maintenance check` passes with no `unlock` (the
locks a killed writer leaves are taken over by the next one), except after
a re-shard, whose fence stays for `unlock` (killed between its commit and
config.yml it leaves the layout of the new count: unlock records the count
its commit carries); every statement of every import that exited 0 is in the
journal or the table; re-running the interrupted operation succeeds; after
a make (finished or re-run) its exports agree with the table and every
entity exported is in the first export of the diff series or in a diff
since; after a
vacuum or optimize no temp file of a killed writer is left in the table.
Every few runs a flush + merge must leave each statement exactly once.

Seeded (LH_RELIABILITY_SEED, default 1); LH_RELIABILITY_RUNS runs (default
60). Prints runs / kills / rows checked."""
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lake import Lake, entity_batch, fail  # noqa: E402

LAKE_RUNS = 40  # runs per lake
OPS = ["import", "import-journal", "flush", "merge", "optimize", "compact", "vacuum", "make",
       "shard"]
SHARD_COUNTS = (0, 4, 16)


def op_args(op, batch, shards=0):
    return {
        "import": ["entities", "import", "-i", str(batch), "--bulk-size", "97"],
        "import-journal": ["entities", "import", "--journal", "-i", str(batch)],
        "flush": ["maintenance", "flush"],
        "merge": ["maintenance", "merge"],
        "optimize": ["maintenance", "optimize", "--retention-hours", "0"],
        "compact": ["maintenance", "compact"],
        "vacuum": ["maintenance", "vacuum", "--retention-hours", "0"],
        "make": ["make"],
        "shard": ["maintenance", "shard", "--force", "--shards", str(shards)],
    }[op]


def verify_present(lake, acked):
    """Every acknowledged triple is in the journal or the table."""
    have = set(lake.journal_rows()) | set(lake.table_rows())
    missing = acked - have
    if missing:
        fail(f"{len(missing)} acknowledged statement(s) lost, e.g. {sorted(missing)[:3]}")
    return len(acked)


def verify_once(lake, acked):
    """After flush + merge: the journal is empty, each statement once."""
    code, text = lake.settle()
    if code != 0:
        fail(f"check after merge failed:\n{text}")
    rows = lake.table_rows()
    if len(rows) != len(set(rows)):
        fail("duplicate statements in the live view after merge")
    live = {(e, p, v) for (e, p, v) in rows if p != "id"}
    if acked - live:
        fail(f"{len(acked - live)} acknowledged statement(s) lost after merge")
    if lake.journal_rows():
        fail("journal not empty after flush")
    physical = lake.physical_rows()
    if physical != len(rows):
        fail(f"{physical} physical rows after merge but {len(rows)} live: duplicates kept")
    return len(rows)


def verify_exports(lake):
    """After a make: the entity export, statements CSV and statistics it
    wrote describe the table as it is, whatever make was killed in before."""
    import csv
    import io
    import json
    rows = sorted(lake.table_rows())
    ds = lake.root / lake.dataset
    text = (ds / "exports" / "statements.csv").read_text()
    exported = sorted((r["entity_id"], r["prop"], r["value"])
                      for r in csv.DictReader(io.StringIO(text)))
    if exported != rows:
        fail(f"statements.csv has {len(exported)} rows, the table {len(rows)}")
    ids = {json.loads(line)["id"] for line in (ds / "entities.ftm.json").read_text().splitlines()}
    if ids != {e for (e, _, _) in rows}:
        fail(f"entities.ftm.json has {len(ids)} entities, the table {len({e for (e, _, _) in rows})}")
    stats = json.loads((ds / "exports" / "statistics.json").read_text())
    if stats["entity_count"] != len(ids):
        fail(f"statistics.json counts {stats['entity_count']} entities, the export has {len(ids)}")
    return len(rows) + verify_diffs(lake, ids)


def verify_diffs(lake, ids):
    """No change escapes the diff series: every entity exported now was in the
    export that first recorded the series state, or is an ADD/MOD of some
    diff file since, however many makes were killed in between."""
    import json
    ds = lake.root / lake.dataset
    state = ds / "tags" / "lakehouse" / "diffs" / "entities.ftm.json-current"
    if not state.exists():
        if ids:
            fail("a finished make of a table left no diff series state")
        return 0  # no table yet: no series
    diffed = set()
    for path in (ds / "diffs" / "entities.ftm.json").glob("*.delta.json"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if entry["op"] in ("ADD", "MOD"):
                diffed.add(entry["entity"]["id"])
    baseline = getattr(lake, "diff_baseline", None)
    if baseline is None:
        lake.diff_baseline = set(ids) - diffed
        return len(ids)
    escaped = set(ids) - baseline - diffed
    if escaped:
        fail(f"{len(escaped)} exported entities in no diff since the series began, "
             f"e.g. {sorted(escaped)[:3]}")
    return len(ids)


def recover(lake, op):
    """A killed writer's locks are leased (the next writer takes them over)
    and its append marker is removed by the next maintenance: `check` passes
    at once. Only a re-shard's fence is sticky: check names the stale lock,
    and, when the run was killed after its commit, partitions of the new
    count under the old config.yml; unlock records the committed count."""
    code, text = lake.check()
    if op != "shard":
        if code != 0:
            fail(f"check after a killed {op} fails (its locks should be taken over):\n{text}")
        return False
    allowed = ("stale-lock", "not a key of", "FAIL layout:")
    found = [ln for ln in text.splitlines() if ln.startswith("FAIL ")]
    if code != 0 and (not found or any(not any(a in ln for a in allowed) for ln in found)):
        fail(f"check after kill reports more than a stale lock:\n{text}")
    if not any("stale-lock" in ln for ln in found):
        return False
    lake.run("maintenance", "unlock")
    code, text = lake.check()
    if code != 0:
        fail(f"check still fails after unlock:\n{text}")
    return True


def main():
    seed = int(os.environ.get("LH_RELIABILITY_SEED", "1"))
    runs = int(os.environ.get("LH_RELIABILITY_RUNS", "60"))
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="lh-crash-"))
    lake = Lake(tmp / "lake", pg=True)
    acked = set()  # statements of imports that exited 0, in the current lake
    total_acked = 0
    durations = {}  # op -> typical seconds, learnt from runs that finished
    kills = unlocks = checked = 0
    killed_ops = {}  # op -> kills
    lakes = 1
    for run in range(runs):
        if run and run % LAKE_RUNS == 0:
            # a fresh lake keeps each run's verification cost bounded
            shutil.rmtree(lake.root)
            lake = Lake(tmp / f"lake{run}", pg=True)
            acked = set()
            lakes += 1
        op = OPS[run % len(OPS)] if run < len(OPS) else rng.choice(OPS)
        batch = tmp / f"batch-{run}.json"
        data, triples = entity_batch(f"{seed}-{run}", rng.randrange(50, 400), rng)
        batch.write_text(data)
        args = op_args(op, batch, rng.choice(SHARD_COUNTS) if op == "shard" else 0)
        # the first run of each op finishes: it tells how long the op takes
        delay = None
        if op in durations:
            delay = rng.uniform(0.0, durations[op] * 1.1)
        start = time.monotonic()
        proc = lake.popen(*args)
        killed = False
        try:
            proc.wait(timeout=delay)
        except Exception:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed = True
        out, err = proc.communicate()
        if not killed:
            if proc.returncode != 0:
                fail(f"run {run} {op} exited {proc.returncode}: {err.decode(errors='replace')}")
            durations[op] = max(durations.get(op, 0.0), time.monotonic() - start)
            if op.startswith("import"):
                acked |= triples
                total_acked += len(triples)
        else:
            kills += 1
            killed_ops[op] = killed_ops.get(op, 0) + 1
            if recover(lake, op):
                unlocks += 1
            checked += verify_present(lake, acked)
            # the interrupted operation succeeds when re-run
            lake.run(*args)
            if op.startswith("import"):
                acked |= triples
                total_acked += len(triples)
        code, text = lake.check()
        if code != 0:
            fail(f"run {run} {op} (killed={killed}): check failed:\n{text}")
        checked += verify_present(lake, acked)
        if op == "make":
            checked += verify_exports(lake)
        if op in ("vacuum", "optimize"):
            # what killed writers left half-written went with the vacuum
            debris = [p for p in lake.table.rglob(".lh-tmp-*")]
            if debris:
                fail(f"run {run} {op}: {len(debris)} temp file(s) of interrupted writes left, "
                     f"e.g. {debris[0]}")
        if run % 8 == 7 or run == runs - 1 or run % LAKE_RUNS == LAKE_RUNS - 1:
            checked += verify_once(lake, acked)
    shutil.rmtree(tmp)
    print(f"crash: seed {seed}, {runs} runs on {lakes} lake(s), {kills} kills, {unlocks} "
          f"unlocks, {total_acked} acknowledged statements, {checked} row checks OK; kills "
          + ", ".join(f"{op} {n}" for op, n in sorted(killed_ops.items())))


if __name__ == "__main__":
    main()
