"""The world benchmark script runs end to end (its figures are not checked: tests never assert
on wall time) and rejects bad arguments with one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "runs" / "benchmarks" / "world.py"


def test_benchmark_prints_one_row_per_user_count():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--users", "30", "--slots", "5"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0].split()[:2] == ["users", "cells"]
    row = out[1].split()
    assert row[0] == "30" and float(row[2].replace(",", "")) > 0 and float(row[4]) > 0


def test_benchmark_rejects_bad_arguments():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--users", "0"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --users 0: users must be 1..1000000 and slots at least 1"
    ]
