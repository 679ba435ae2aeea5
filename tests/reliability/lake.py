"""Shared helpers of the reliability scripts: run the CLI on a scratch lake,
generate entity batches whose statements are known, read back what the
journal and the table hold. Standard library only."""
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def build_dir() -> Path:
    env = os.environ.get("LH_BUILD_DIR")
    return Path(env) if env else ROOT / "build" / "asan"


def cli_path() -> Path:
    p = build_dir() / "ftm-lakehouse"
    if not p.exists():
        sys.exit(f"{p} is not built; run scripts/build asan")
    return p


# Fast lock retries: the scripts provoke contention on purpose.
BASE_ENV = {
    "LAKEHOUSE_LOCK_BACKOFF_MS": "20",
    "LAKEHOUSE_LOCK_MAX_RETRIES": "30",
    "LH_NO_PROGRESS": "1",
    # flushes in many small batches: both of flush's writer threads work,
    # and a kill lands between their files
    "LAKEHOUSE_MAX_BUFFER_ROWS": "128",
    # a killed ASan process must not spend seconds writing a report
    "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "detect_leaks=1"),
}


class Lake:
    def __init__(self, root: Path, dataset: str = "ds", pg: bool = False):
        self.root = Path(root)
        self.dataset = dataset
        self.cli = cli_path()
        self.env = dict(os.environ, **BASE_ENV)
        self.env.pop("LAKEHOUSE_URI", None)
        self.env.pop("LAKEHOUSE_JOURNAL_URI", None)
        # LH_RELIABILITY_PG: a PostgreSQL journal (tests/interop/pg.py serves
        # one); each lake gets its own dataset name there
        self.pg = os.environ.get("LH_RELIABILITY_PG") if pg else None
        if self.pg:
            self.dataset = f"{dataset}_{os.getpid()}_{abs(hash(str(root))) % 10**8}"
            self.env["LAKEHOUSE_JOURNAL_URI"] = self.pg

    def argv(self, *args, dataset=None):
        return [str(self.cli), "--uri", str(self.root), "-d",
                dataset if dataset is not None else self.dataset, *args]

    def popen(self, *args, **kw):
        return subprocess.Popen(self.argv(*args), env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, **kw)

    def run(self, *args, dataset=None, check=True, timeout=300):
        p = subprocess.run(self.argv(*args, dataset=dataset), env=self.env,
                           capture_output=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, args))} exited {p.returncode}:\n"
                                 f"{p.stderr.decode(errors='replace')}"
                                 f"{p.stdout.decode(errors='replace')[-2000:]}")
        return p

    def settle(self):
        """Flush the journal and force a merge, then `maintenance check`:
        (exit code, text), as check()."""
        self.run("maintenance", "flush")
        self.run("maintenance", "merge", "--force")
        return self.check()

    def check(self, *flags):
        """`maintenance check [flags]`: (exit code, stdout text)."""
        p = self.run("maintenance", "check", *flags, check=False)
        return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")

    @property
    def table(self) -> Path:
        return self.root / self.dataset / "statements"

    def table_rows(self):
        """Live (entity_id, prop, value) of the table via `statements iterate`."""
        import csv
        import io
        p = self.run("statements", "iterate")
        rows = list(csv.DictReader(io.StringIO(p.stdout.decode())))
        return [(r["entity_id"], r["prop"], r["value"]) for r in rows]

    def journal_rows(self):
        """(entity_id, prop, value) of every journal row (all segments)."""
        if self.pg:
            import psycopg2
            con = psycopg2.connect(self.pg)
            try:
                cur = con.cursor()
                cur.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s",
                            (f"journal_{self.dataset}%",))
                out = []
                for (n,) in cur.fetchall():
                    cur.execute(f'SELECT entity_id, prop, value FROM "{n}"')
                    out += cur.fetchall()
                return out
            finally:
                con.close()
        db = self.root / ".journal.db"
        if not db.exists():
            return []
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
        try:
            names = [n for (n,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE ?",
                (f"journal_{self.dataset}%",))]
            out = []
            for n in names:
                out += con.execute(f'SELECT entity_id, prop, value FROM "{n}"').fetchall()
            return out
        finally:
            con.close()

    def physical_rows(self) -> int:
        """Rows in the live files, as `maintenance check` counts them."""
        code, text = self.check()
        for line in text.splitlines():
            if " row(s), " in line and "dataset" in line:
                return int(line.split(" file(s), ")[1].split(" row(s)")[0])
        raise AssertionError(f"no summary in check output:\n{text}")


def entity_batch(tag: str, n: int, rng: random.Random):
    """n Person entities with ids unique to tag; returns (jsonl text, the
    (entity_id, prop, value) triples an import must store)."""
    lines, triples = [], set()
    for i in range(n):
        eid = f"rel-{tag}-{i}"
        name = f"Person {tag} {i} {rng.randrange(10**6)}"
        notes = f"note {rng.randrange(10**9)}"
        lines.append(json.dumps({"id": eid, "schema": "Person",
                                 "properties": {"name": [name], "notes": [notes]}}))
        triples |= {(eid, "name", name), (eid, "notes", notes)}
    return "\n".join(lines) + "\n", triples


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)
