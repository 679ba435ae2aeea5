"""The CLI's threaded paths under ThreadSanitizer. LH_BUILD_DIR points at a
build made with -fsanitize=thread (`scripts/build tsan ftm-lakehouse`).
Bulk imports (parser beside writer), journal flushes (two writer threads),
merges (a pool of partition workers, each with a writer thread), make
(exports on two threads) and compact run in small batches over the shared
data so that their threads overlap. A data race report makes TSan exit 66,
which fails the run, as does a wrong result: the flushed table must hold
what a bulk import holds, and make's exports must match the table."""
import csv
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lake import Lake, fail  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    """shared/data beside the checkout or an ancestor; LH_SHARED_DATA overrides."""
    if os.environ.get("LH_SHARED_DATA"):
        return Path(os.environ["LH_SHARED_DATA"])
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return ROOT.parent / "shared" / "data"


def statements(lake):
    p = lake.run("statements", "iterate")
    return sorted((r["entity_id"], r["prop"], r["value"])
                  for r in csv.DictReader(io.StringIO(p.stdout.decode())))


def tsan_starts(cli):
    """Whether the TSan runtime starts here: it refuses the high-entropy mmap
    layouts of some kernels, which running without ASLR avoids."""
    p = subprocess.run([str(cli), "--version"], capture_output=True, text=True)
    return p.returncode == 0 or "unexpected memory mapping" not in p.stderr


def main():
    cli = Lake(Path(tempfile.gettempdir())).cli
    if not tsan_starts(cli):
        if os.environ.get("LH_THREADS_NO_ASLR"):
            fail("ThreadSanitizer does not start, even without ASLR")
        os.environ["LH_THREADS_NO_ASLR"] = "1"
        os.execvp("setarch", ["setarch", platform.machine(), "-R", sys.executable, *sys.argv])
    shared = shared_data()
    files = sorted(shared.glob("*.ftm.json"))
    if not files:
        fail(f"no shared data in {shared}")
    tmp = Path(tempfile.mkdtemp(prefix="lh-threads-"))
    env = {
        # halt at the first report, with its stacks on stderr
        "TSAN_OPTIONS": "halt_on_error=1 exitcode=66 second_deadlock_stack=1",
        "LAKEHOUSE_WORKERS": "4",
        "LAKEHOUSE_MAX_BUFFER_ROWS": "200",
    }
    bulk = Lake(tmp / "bulk")
    journal = Lake(tmp / "journal")
    for lake in (bulk, journal):
        lake.env.update(env)
    for f in files:
        args = ["-i", str(f), "--origin", f.name.split(".")[0]]
        bulk.run("entities", "import", *args, "--bulk-size", "150", "--shards", "3")
        journal.run("entities", "import", *args, "--journal", "--shards", "3")
    journal.run("maintenance", "flush")
    if statements(journal) != statements(bulk):
        fail("the flushed table differs from the bulk-imported one")
    for lake in (bulk, journal):
        lake.run("maintenance", "merge")
        lake.run("entities", "import", "-i", str(files[0]), "--journal")
        lake.run("make")
        rows = statements(lake)
        exported = (lake.root / lake.dataset / "exports" / "statements.csv").read_text()
        if sorted((r["entity_id"], r["prop"], r["value"])
                  for r in csv.DictReader(io.StringIO(exported))) != rows:
            fail(f"{lake.root}: statements.csv differs from the table")
        ids = {json.loads(line)["id"]
               for line in (lake.root / lake.dataset / "entities.ftm.json").read_text().splitlines()}
        if ids != {e for (e, _, _) in rows}:
            fail(f"{lake.root}: entities.ftm.json differs from the table")
        lake.run("maintenance", "compact")
        lake.run("entities", "iterate", "-o", os.devnull)
        code, text = lake.check()
        if code != 0:
            fail(f"{lake.root}: check failed:\n{text}")
    shutil.rmtree(tmp)
    print(f"threads: {len(files)} files through bulk import, flush, merge, make and compact "
          "under ThreadSanitizer, no report")


if __name__ == "__main__":
    main()
