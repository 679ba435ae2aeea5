"""Parquet throughput: lh-pq-bench (C writer + reader) next to pyarrow on
the same data, in process CPU seconds (the machine is shared; pyarrow and
DuckDB may use several threads, whose CPU time adds up) (the table the C writer produced, re-written by pyarrow with
matching options, then read back by both pyarrow and DuckDB).

    .venv/bin/python bench/pq_bench.py <build-dir> [rows] [codec]
Use a release build (scripts/build release); ASan timings are meaningless."""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq


def main():
    build = Path(sys.argv[1])
    rows = sys.argv[2] if len(sys.argv) > 2 else "1000000"
    codec = sys.argv[3] if len(sys.argv) > 3 else "SNAPPY"
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([build / "lh-pq-bench", d, rows, codec], check=True,
                             capture_output=True, text=True).stdout
        ours = json.loads(out)
        src = Path(d) / "bench.parquet"
        table = pq.read_table(src)
        t0 = time.process_time()
        pq.read_table(src)
        pa_read_ours = time.process_time() - t0
        dst = Path(d) / "pyarrow.parquet"
        t0 = time.process_time()
        pq.write_table(table, dst, compression=codec.lower(), use_dictionary=[
            c for c in table.column_names if c not in ("id", "value")],
            write_statistics=True, row_group_size=1_000_000)
        pa_write = time.process_time() - t0
        t0 = time.process_time()
        pq.read_table(dst)
        pa_read = time.process_time() - t0
        t0 = time.process_time()
        duckdb.sql(f"select count(*), max(value), max(last_seen) from read_parquet('{src}')").fetchall()
        duck_ours = time.process_time() - t0
        result = {
            "rows": int(rows), "codec": codec,
            "c_write_cpu_s": ours["write_cpu_s"], "c_read_cpu_s": ours["read_cpu_s"],
            "c_bytes": ours["bytes"],
            "pyarrow_write_cpu_s": round(pa_write, 3), "pyarrow_read_cpu_s": round(pa_read, 3),
            "pyarrow_bytes": dst.stat().st_size,
            "pyarrow_read_c_file_cpu_s": round(pa_read_ours, 3),
            "duckdb_scan_c_file_cpu_s": round(duck_ours, 3),
        }
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
