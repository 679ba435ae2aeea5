"""Hostile input: dataset, origin and tag names that could escape into a
path are refused with exit 3 naming the field, before anything is written
under them; a crafted Delta log whose add/remove path is absolute, climbs
with "..", or carries a URI scheme is refused with exit 5 by reads, check
and vacuum, and nothing outside the table is read or deleted (the targets
are FIFOs: opening one for reading would hang, and a timeout fails)."""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lake import Lake, entity_batch, fail  # noqa: E402

BAD_NAMES = [b"..", b".", b"a/b", b"../x", b"a\\b", b"a\x01b", b"a\x7fb", b"a\nb",
             b"x" * 300, b"\xff\xfe", b"a\xc3", b"/abs"]


def run_bytes(lake, args, timeout=60):
    env = {k.encode(): v.encode() for k, v in lake.env.items()}
    try:
        return subprocess.run([str(lake.cli).encode(), b"--uri", str(lake.root).encode(), *args],
                              env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail(f"{args!r} hung (opened a FIFO outside the table?)")


def expect_code(p, code, what, *needles):
    err = p.stderr.decode(errors="replace")
    if p.returncode != code:
        fail(f"{what}: exit {p.returncode}, expected {code}: {err}{p.stdout[-500:]!r}")
    for n in needles:
        if n not in err:
            fail(f"{what}: stderr lacks `{n}`: {err}")


def names(lake, tmp):
    rng = random.Random(3)
    data, _ = entity_batch("h", 3, rng)
    src = tmp / "e.json"
    src.write_text(data)
    n = 0
    for bad in BAD_NAMES:
        p = run_bytes(lake, [b"-d", bad, b"entities", b"import", b"-i", str(src).encode()])
        expect_code(p, 3, f"dataset {bad!r}", "dataset")
        p = run_bytes(lake, [b"-d", b"ds", b"entities", b"import", b"-i", str(src).encode(),
                             b"--origin", bad, b"--override-origin"])
        expect_code(p, 3, f"origin {bad!r}", "origin")
        if bad not in (b"a/b",):  # tag keys are paths ("statements/last_updated")
            p = run_bytes(lake, [b"-d", b"ds", b"tags", b"set", bad])
            expect_code(p, 3, f"tag {bad!r}", "tag")
        # origin inside the data
        line = json.dumps({"id": "x1", "schema": "Person", "properties": {"name": ["a"]}})
        line = line[:-1].encode() + b', "origin": "' + bad.replace(b"\\", b"\\\\").replace(
            b"\n", b"\\n").replace(b"\x01", b"\\u0001").replace(b"\x7f", b"\\u007f") + b'"}'
        (tmp / "o.json").write_bytes(line + b"\n")
        p = run_bytes(lake, [b"-d", b"ds", b"entities", b"import", b"-i",
                             str(tmp / "o.json").encode()])
        try:
            bad.decode()
            needles = ("origin",)
        except UnicodeDecodeError:
            needles = ("bad JSON",)  # the JSON parser refuses it first
        expect_code(p, 3, f"origin in data {bad!r}", *needles)
        # origin column of a statement CSV
        csv = (b"entity_id,prop,schema,value,origin\nx1,name,Person,a,\"" +
               bad.replace(b'"', b'""') + b"\"\n")
        (tmp / "o.csv").write_bytes(csv)
        p = run_bytes(lake, [b"-d", b"ds", b"statements", b"import", b"-i",
                             str(tmp / "o.csv").encode()])
        expect_code(p, 3, f"origin in CSV {bad!r}")
        n += 5
    # the refused name is shown, escaped as a JSON string (no raw control bytes)
    for bad, shown in ((b"a/b", '"a/b"'), (b"a\x01b", '"a\\u0001b"'), (b"a\\b", '"a\\\\b"'),
                       (b"..\x01", '"..\\u0001"')):
        p = run_bytes(lake, [b"-d", b"ds", b"entities", b"import", b"-i", str(src).encode(),
                             b"--origin", bad, b"--override-origin"])
        expect_code(p, 3, f"origin {bad!r} shown", f"origin {shown} contains")
        if b"\x01" in p.stderr:
            fail(f"origin {bad!r}: a raw control byte reached stderr")
        p = run_bytes(lake, [b"-d", bad, b"entities", b"iterate"])
        expect_code(p, 3, f"dataset {bad!r} shown", f"dataset {shown} contains")
        n += 2
    # nothing was created outside the lake's ds/ and nothing under a bad name
    for p in lake.root.rglob("*"):
        rel = p.relative_to(lake.root).as_posix()
        if not (rel.startswith("ds") or rel in (".lakehouse", ".journal.db")):
            fail(f"unexpected path in the lake: {rel}")
        if "origin=" in rel and "origin=bulk" not in rel:
            fail(f"unexpected partition: {rel}")
    return n


def crafted_logs(tmp):
    rng = random.Random(4)
    base = Lake(tmp / "base")
    data, _ = entity_batch("c", 20, rng)
    (tmp / "c.json").write_text(data)
    base.run("entities", "import", "-i", str(tmp / "c.json"))
    log = base.table / "_delta_log"
    add = next(json.loads(ln)["add"] for ln in (log / f"{1:020d}.json").read_text().splitlines()
               if "add" in json.loads(ln))
    outside = tmp / "outside"
    outside.mkdir()
    fifo = outside / "victim.parquet"
    os.mkfifo(fifo)
    victim = outside / "keep.parquet"
    victim.write_bytes(b"PAR1 not for you PAR1")
    paths = [str(fifo), f"file://{fifo}", "s3://bucket/victim.parquet", "http://x/y.parquet",
             "../../../outside/victim.parquet", "shard=0/../../../../outside/victim.parquet",
             "%2E%2E/%2E%2E/%2E%2E/outside/victim.parquet", "/etc/passwd",
             "_delta_log/00000000000000000000.json", "a//b.parquet", "..%2F..%2Fx.parquet"]
    n = 0
    for i, path in enumerate(paths):
        for kind in ("add", "remove"):
            case = tmp / f"log{i}{kind}"
            shutil.copytree(base.root, case)
            lk = Lake(case)
            if kind == "add":
                action = {"add": dict(add, path=path)}
            else:
                action = {"remove": {"path": path, "deletionTimestamp": 1, "dataChange": True}}
            (lk.table / "_delta_log" / f"{2:020d}.json").write_text(json.dumps(action) + "\n")
            for args in ([b"statements", b"iterate"], [b"maintenance", b"check"],
                         [b"maintenance", b"vacuum", b"--retention-hours", b"0"],
                         [b"maintenance", b"optimize", b"--retention-hours", b"0"],
                         [b"maintenance", b"compact"]):
                p = run_bytes(lk, [b"-d", b"ds", *args])
                if p.returncode != 5:
                    fail(f"{kind} path {path!r}: {args} exited {p.returncode}, expected 5: "
                         f"{p.stderr.decode(errors='replace')}{p.stdout.decode()[-500:]}")
                n += 1
            if not fifo.exists() or not victim.exists():
                fail(f"{kind} path {path!r}: a file outside the table was deleted")
            # the table's own data survived too
            if not any(lk.table.rglob("*.parquet")):
                fail(f"{kind} path {path!r}: the table's data files were deleted")
            shutil.rmtree(case)
    return n


def main():
    tmp = Path(tempfile.mkdtemp(prefix="lh-hostile-"))
    lake = Lake(tmp / "lake")
    n = names(lake, tmp)
    m = crafted_logs(tmp)
    shutil.rmtree(tmp)
    print(f"hostile: {n} bad-name commands refused (exit 3), {m} crafted-log commands "
          f"refused (exit 5), nothing outside the table touched")


if __name__ == "__main__":
    main()
