"""benchmarks/bench_speed.py claims a speed-up only when kwxmap and the peer agree.

Runs the script as users do, on its smallest case (5 km grid, the spline rows),
once as is and once with ``--perturb-kwxmap`` shifting kwxmap's output by
1e-3 °C, beyond the 1e-6 tolerance.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "bench_speed.py"


def _run(*extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--only", "spline", "--repeat", "1", *extra],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )


def _table(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("case "))
    return [ln for ln in lines[start + 1:] if ln.strip()]


@pytest.mark.slow
def test_agreeing_outputs_get_a_speed_up_and_exit_0():
    proc = _run()
    assert proc.returncode == 0, proc.stderr
    rows = _table(proc.stdout)
    assert len(rows) == 2
    for row in rows:
        assert "MISMATCH" not in row
        assert row.split()[-4].endswith("x")  # the speed-up column


@pytest.mark.slow
def test_an_injected_mismatch_says_mismatch_and_exits_1():
    proc = _run("--perturb-kwxmap", "1e-3")
    assert proc.returncode == 1
    rows = _table(proc.stdout)
    assert len(rows) == 2
    for row in rows:
        assert "MISMATCH" in row and row.endswith("1.0e-03 C")
        assert not any(word.endswith("x") and word[:-1].replace(".", "").isdigit()
                       for word in row.split())
    assert "MISMATCH in 2 of 2 rows" in proc.stderr
