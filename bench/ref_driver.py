"""Operations of the Python reference that its CLI does not offer, through its
Python API (with the offline delta_scan shim of tests/interop/refshim.py):

    python bench/ref_driver.py --uri LAKE -d DATASET journal-import -i FILE
    python bench/ref_driver.py --uri LAKE -d DATASET delete --ids FILE [--limit N] [--origin O]
    python bench/ref_driver.py --uri LAKE -d DATASET lookup --ids FILE
    python bench/ref_driver.py --uri LAKE -d DATASET stats

Each prints one JSON object on stdout: counts, and for `lookup` the
per-lookup latencies measured in-process (interpreter start excluded).
The journal is LAKEHOUSE_JOURNAL_URI, as for the reference CLI.
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "interop"))

import refshim  # noqa: E402,F401  (installs the shim)
from ftm_lakehouse.catalog import ensure_dataset  # noqa: E402
from ftm_lakehouse.lake import get_lakehouse  # noqa: E402
from ftm_lakehouse.repository.factories import get_entities  # noqa: E402
from ftmq.io import smart_read_proxies  # noqa: E402


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True)
    ap.add_argument("-d", "--dataset", required=True)
    sub = ap.add_subparsers(dest="op", required=True)
    imp = sub.add_parser("journal-import")
    imp.add_argument("-i", dest="input", required=True)
    imp.add_argument("--origin", default=None)
    for name in ("delete", "lookup"):
        p = sub.add_parser(name)
        p.add_argument("--ids", required=True)
        p.add_argument("--limit", type=int, default=0)
        if name == "delete":
            p.add_argument("--origin", default=None)
    sub.add_parser("stats")
    args = ap.parse_args()

    # resolve the dataset as the CLI does for `--uri LAKE -d DATASET`
    uri = get_lakehouse(args.uri).dataset_uri(args.dataset)
    ensure_dataset(args.dataset, uri)
    repo = get_entities(args.dataset, uri)
    if args.op == "journal-import":
        n = 0
        with repo.writer(origin=args.origin) as writer:
            for proxy in smart_read_proxies(args.input):
                writer.add_entity(proxy)
                n += 1
        print(json.dumps({"entities": n}))
    elif args.op in ("delete", "lookup"):
        ids = Path(args.ids).read_text().split()
        if args.limit:
            ids = ids[: args.limit]
        if args.op == "delete":
            n = sum(repo.delete_entity(i, args.origin) for i in ids)
            print(json.dumps({"entities": len(ids), "tombstones": n}))
        else:
            times, cpus, found = [], [], 0
            for i in ids:
                t, c = time.perf_counter(), time.process_time()
                found += repo.get(i) is not None
                times.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
            print(json.dumps({"lookups": len(ids), "found": found, "p50": percentile(times, 0.5),
                              "p99": percentile(times, 0.99), "cpu_p50": percentile(cpus, 0.5),
                              "total": sum(times)}))
    elif args.op == "stats":
        stats = repo.stats()
        print(json.dumps({"entities": stats.entity_count if hasattr(stats, "entity_count") else None,
                          "stats": json.loads(stats.model_dump_json())}, default=str))


if __name__ == "__main__":
    main()
