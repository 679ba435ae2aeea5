"""bench/run completes without our CLI (every step n/a), measures the floors,
and replaces its BENCHMARKS.md section in place on a second run."""
import subprocess
import sys

from conftest import ROOT

RUN = ROOT / "bench" / "run"


def bench(tmp_path, out, statements):
    subprocess.run([sys.executable, RUN, "--statements", str(statements), "--only", "ours",
                    "--ours", str(tmp_path / "missing-binary"), "--lookups", "5", "--deletes", "3",
                    "--work", str(tmp_path / "work"), "--out", str(out)],
                   check=True, capture_output=True)
    return out.read_text()


def test_run_without_our_cli(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    text = bench(tmp_path, out, 400)
    assert text.startswith("# Benchmarks")
    assert "<!-- bench:400 -->" in text and "<!-- /bench:400 -->" in text
    assert "| import, bulk path (`entities import`) | — |" in text  # reference side not run
    assert "missing-binary not built: every step n/a" in text
    assert "- C (one-pass JSON scan + nettle SHA-1, bench/floor.c): " in text and "k/s statements" in text
    assert not (tmp_path / "work").exists()

    out.write_text(text + "\nkept by hand\n")
    again = bench(tmp_path, out, 400)
    assert again.count("<!-- bench:400 -->") == 1 and "kept by hand" in again
    both = bench(tmp_path, out, 300)
    assert "<!-- bench:400 -->" in both and "<!-- bench:300 -->" in both
