"""A seeded slice of benchmarks/fuzz_inputs.py: hostile inputs raise KwxmapError or parse.

Each generator contributes 120 inputs (the benchmark runs 100,000). An input
that raises anything but a ``KwxmapError`` fails, with the generator, index
and the exception's last line; one that runs past 10 s fails too (the
per-MB speed bound is the benchmark's job: timings on a shared CI runner are
too noisy for a unit test). The long-line generator is left to the benchmark:
on today's parser those inputs take seconds each.
"""

from __future__ import annotations

import importlib.util
import signal
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz_inputs.py"
_spec = importlib.util.spec_from_file_location("fuzz_inputs", BENCH)
fuzz_inputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz_inputs)

N = 120
SEED = 13


def _check(gen: str) -> list[str]:
    signal.signal(signal.SIGPROF, fuzz_inputs._alarm)
    problems = []
    for i, data in enumerate(fuzz_inputs.sample(gen, N, SEED)):
        outcome, seconds, tb = fuzz_inputs.run_one(data, 10.0, None)
        if tb is not None or outcome == "TIMEOUT":
            last = tb.strip().splitlines()[-1] if tb else f"over 10 s ({seconds:.1f} s)"
            problems.append(f"{gen} #{i} ({fuzz_inputs.size_of(data)} B): {outcome}: {last}")
    return problems


@pytest.mark.parametrize(
    "gen",
    [g for g in fuzz_inputs.SHARES if g != "long"],
)
def test_fuzz_slice_raises_only_kwxmap_errors(gen):
    problems = _check(gen)
    assert not problems, "\n".join(problems)


def test_the_slice_reads_every_real_input_and_makes_both_outcomes():
    names = [name for name, _ in fuzz_inputs.real_inputs()]
    assert "examples/widget.txt" in names and any(n.startswith("tests/fixtures/") for n in names)
    outcomes = {fuzz_inputs.run_one(d, 10.0, None)[0].split(",")[0]
                for d in fuzz_inputs.sample("mutate", 60, SEED)}
    assert "ok: parsed and joined" in outcomes  # mutations keep some real readings
    assert "ok: parse ParseError" in outcomes
