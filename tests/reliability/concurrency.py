"""Concurrency: bulk importers, a journal importer and a flusher run beside
merge / compact / vacuum; a command refused because the fence is busy
(exit 4) is simply not acknowledged. Afterwards (flush, merge) every
acknowledged statement is present exactly once and `check` passes.
Then a real maintenance process is killed while it holds .LOCK: `check`
notes the lock its dead holder left, and the next writer takes it over
at once (the lock is leased), no `unlock` needed.

Then the same run again while imports, flushes and maintenance are
SIGKILLed at random: `check` passes with no `unlock`, and nothing
acknowledged is lost.

LH_RELIABILITY_ROUNDS batches per importer (default 4)."""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lake import Lake, entity_batch, fail  # noqa: E402


class Shared:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = set()
        self.busy = 0
        self.ops = 0
        self.errors = []
        self.importers_done = 0
        self.running = []  # writer processes the killer may SIGKILL
        self.killed = 0
        self.killed_maintenance = 0  # of them, merges, compactions, vacuums


def attempt(lake, sh, args, killable=False):
    """Run once; True on success, False when busy (exit 4) or killed by the
    killer thread; other failures are recorded."""
    proc = lake.popen(*args)
    if killable:
        with sh.lock:
            sh.running.append(proc)
    out, err = proc.communicate(timeout=600)
    with sh.lock:
        if killable:
            sh.running.remove(proc)
        sh.ops += 1
        if proc.returncode == -9:
            sh.killed += 1
            sh.killed_maintenance += args[0] == "maintenance" and args[1] != "flush"
            return False
    p = subprocess.CompletedProcess(args, proc.returncode, out, err)
    with sh.lock:
        if p.returncode == 4:
            sh.busy += 1
            return False
        if p.returncode != 0:
            sh.errors.append(f"{' '.join(args)} exited {p.returncode}: "
                             f"{p.stderr.decode(errors='replace')[-1500:]}")
            return False
    return True


def importer(lake, sh, tmp, name, rounds, journal, seed):
    rng = random.Random(seed)
    for r in range(rounds):
        data, triples = entity_batch(f"{name}-{r}", rng.randrange(100, 600), rng)
        src = tmp / f"{name}-{r}.json"
        src.write_text(data)
        args = ["entities", "import", "-i", str(src), "--bulk-size", "211"]
        if journal:
            args.append("--journal")
        if attempt(lake, sh, args, killable=sh.kill):
            with sh.lock:
                sh.acked |= triples
    with sh.lock:
        sh.importers_done += 1


def looper(lake, sh, n_importers, commands):
    i = 0
    while True:
        with sh.lock:
            if sh.importers_done >= n_importers or sh.errors:
                return
        cmd = commands[i % len(commands)]
        attempt(lake, sh, cmd, killable=sh.kill)
        i += 1


def killer(sh, n_importers, seed):
    """SIGKILL a random in-flight import, flush or maintenance now and then
    (the locks maintenance leaves are taken over by the next writer)."""
    rng = random.Random(seed)
    while True:
        time.sleep(rng.uniform(0.05, 0.6))
        with sh.lock:
            if sh.importers_done >= n_importers or sh.errors:
                return
            if sh.running:
                rng.choice(sh.running).kill()


def abandoned_lock(lake, tmp):
    """Kill a vacuum while it holds .LOCK (waiting for a live append marker):
    the next writer takes the lock over."""
    ds = lake.root / lake.dataset
    markers = ds / ".LOCK-APPENDS"
    markers.mkdir(exist_ok=True)
    marker = markers / "live-test-marker"
    marker.write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename,
                                  "created_at": "2026-01-01T00:00:00", "tool": "test"}) + "\n")
    proc = lake.popen("maintenance", "vacuum", "--retention-hours", "0")
    deadline = time.monotonic() + 60
    while not (ds / ".LOCK").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            fail(f"vacuum never took .LOCK (exit {proc.poll()}): {proc.stderr.read()!r}")
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    pid = proc.pid
    marker.unlink()
    code, text = lake.check()
    if code != 0 or f"pid {pid}" not in text or "the next writer takes it over" not in text:
        fail(f"check beside the .LOCK of a killed vacuum: exit {code}: {text}")
    rng = random.Random(9)
    data, triples = entity_batch("after-kill", 20, rng)
    (tmp / "after.json").write_text(data)
    env_retries = dict(lake.env)
    lake.env["LAKEHOUSE_LOCK_MAX_RETRIES"] = "0"  # no waiting: taken over at once
    lake.run("entities", "import", "-i", str(tmp / "after.json"))
    lake.run("maintenance", "vacuum", "--retention-hours", "0")
    lake.env = env_retries
    if (ds / ".LOCK").exists():
        fail("the killed vacuum's .LOCK is still there after the writers that took it over")
    code, text = lake.check()
    if code != 0:
        fail(f"check after the take-over: {text}")
    return triples


def phase(tmp, rounds, seed, kill):
    """One concurrent run on a fresh lake; kill: SIGKILL imports and flushes
    at random. Returns (lake, shared state, live rows, seconds)."""
    tmp.mkdir()
    lake = Lake(tmp / "lake", pg=True)
    lake.run("entities", "import", "--shards", "4", "-i", "/dev/null")
    sh = Shared()
    sh.kill = kill
    importers = [
        threading.Thread(target=importer, args=(lake, sh, tmp, "bulk1", rounds, False, seed)),
        threading.Thread(target=importer, args=(lake, sh, tmp, "bulk2", rounds, False, seed + 1)),
        threading.Thread(target=importer, args=(lake, sh, tmp, "jrnl1", rounds, True, seed + 2)),
        threading.Thread(target=importer, args=(lake, sh, tmp, "jrnl2", rounds, True, seed + 3)),
    ]
    n = len(importers)
    loops = [
        threading.Thread(target=looper, args=(lake, sh, n, [["maintenance", "flush"]])),
        threading.Thread(target=looper, args=(lake, sh, n, [
            ["maintenance", "merge"], ["maintenance", "compact"],
            ["maintenance", "vacuum", "--retention-hours", "0"],
            ["maintenance", "optimize", "--retention-hours", "0"]])),
    ]
    if kill:
        loops.append(threading.Thread(target=killer, args=(sh, n, seed)))
    start = time.monotonic()
    for t in importers + loops:
        t.start()
    for t in importers + loops:
        t.join()
    if sh.errors:
        fail("\n".join(sh.errors))
    code, text = lake.check()
    if code != 0:
        # what killed writers left (locks, append markers) blocks nobody
        fail(f"check after the concurrent run: {text}")
    code, text = lake.settle()
    if code != 0:
        fail(f"check after the final merge: {text}")
    rows = lake.table_rows()
    live = set(rows)
    if len(rows) != len(live):
        fail("duplicate statements in the live view")
    missing = sh.acked - live
    if missing:
        fail(f"{len(missing)} acknowledged statement(s) lost, e.g. {sorted(missing)[:3]}")
    if lake.physical_rows() != len(rows):
        fail(f"{lake.physical_rows()} physical rows but {len(rows)} live after merge")
    if lake.journal_rows():
        fail("journal not empty after the final flush")
    return lake, sh, rows, time.monotonic() - start


def main():
    rounds = int(os.environ.get("LH_RELIABILITY_ROUNDS", "4"))
    seed = int(os.environ.get("LH_RELIABILITY_SEED", "1"))
    tmp = Path(tempfile.mkdtemp(prefix="lh-conc-"))
    lake, sh, rows, secs = phase(tmp / "plain", rounds, seed, False)
    print(f"concurrency: {sh.ops} commands ({sh.busy} busy), {len(sh.acked)} acknowledged "
          f"statements present exactly once ({len(rows)} rows) in {secs:.0f}s")
    triples = abandoned_lock(lake, tmp)
    if triples - set(lake.table_rows()):
        fail("rows imported after the take-over are missing")
    print("concurrency: the .LOCK of a killed vacuum noted by check, taken over by the "
          "next writers")
    lake, sh, rows, secs = phase(tmp / "kills", rounds, seed + 100, True)
    print(f"concurrency with kills: {sh.ops} commands ({sh.busy} busy, {sh.killed} killed, "
          f"{sh.killed_maintenance} of them maintenance), "
          f"{len(sh.acked)} acknowledged statements present exactly once ({len(rows)} rows) "
          f"in {secs:.0f}s")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
