"""The reference ``ftm-lakehouse`` CLI with the offline delta_scan shim.

Usage: python tests/interop/ref_cli.py <ftm-lakehouse arguments>"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import refshim  # noqa: E402,F401  (installs the shim)
from ftm_lakehouse.cli import cli  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "ftm-lakehouse"
    sys.exit(cli())
