"""Peak memory of ``kwxmap.interpolate`` per method and resolution, against the estimate.

The memory guard (``kwxmap/interpolate/memory.py``) checks an estimate before
any large allocation; this script measures the real peaks (tracemalloc, which
numpy reports to) on the bundled seed readings over all of South Korea, and
prints them next to the estimate, so the constants there can be checked.

Run: ``PYTHONPATH=$PWD python benchmarks/bench_memory.py [RESOLUTION ...]``
(default 4000 1000 500 metres).

``--guard``: ``kwxmap batch`` of the bundled 106 daily means at 1 km under
``--max-memory`` limits, as separate processes (pages, ``--animate``,
``--zarr``, and ``--zarr`` of 경북 at 400 m); prints each run's peak resident
memory against its limit and exits non-zero when a peak is over 1.10 x the
limit or a run that fits fails.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import kwxmap
from kwxmap.interpolate import METHODS
from kwxmap.interpolate.memory import estimate_memory

ROOT = Path(__file__).resolve().parents[1]


PEAK = """
import resource, sys
from kwxmap.cli import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, code)
"""


def guard() -> int:
    """Peak resident memory of ``kwxmap batch`` under ``--max-memory``; 1 if over 10 %."""
    daily = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"
    print(f"{'run':9s} {'limit MiB':>9s} {'peak MiB':>8s} {'peak/limit':>10s} {'exit':>4s} "
          f"{'s':>5s}  result")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for how, extra in (("pages", []), ("animate", ["--animate"]),
                           ("zarr", ["--zarr", f"{tmp}/OUT/g.zarr"]),
                           # a province at 400 m: a large box, most of it outside the region
                           ("zarr-경북", ["--zarr", f"{tmp}/OUT/g.zarr", "--region", "경북",
                                         "--resolution", "400"])):
            for limit in (400, 600, 1024):
                out = f"{tmp}/{how}{limit}"
                args = ["batch", str(daily), "-o", out, "--resolution", "1000", "--tiles",
                        "none", "--max-memory", f"{limit}MB",
                        *(a.replace("OUT", f"{how}{limit}") for a in extra)]
                t = time.perf_counter()
                run = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True,
                                     text=True, check=False)
                seconds = time.perf_counter() - t
                peak, code = run.stdout.split() if run.stdout else ("0", "?")
                ratio = int(peak) / (limit * 2**20)
                said = run.stderr.strip().splitlines()[-1][:90] if run.stderr.strip() else ""
                over = ratio > 1.10
                bad += over or code not in ("0", "1")
                print(f"{how:9s} {limit:9d} {int(peak) / 2**20:8.0f} {ratio:10.2f} {code:>4s} "
                      f"{seconds:5.0f}  {'OVER ' if over else ''}{said}", flush=True)
    print(f"max rss of this script {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MiB")
    return 1 if bad else 0


def main() -> None:
    if sys.argv[1:] == ["--guard"]:
        raise SystemExit(guard())
    text = (ROOT / "examples" / "widget.txt").read_text(encoding="utf-8")
    stations = kwxmap.join_readings(kwxmap.parse_readings(text))
    kwxmap.interpolate(stations, resolution=20_000)  # load the registry and DEM once
    resolutions = [float(a) for a in sys.argv[1:]] or [4000.0, 1000.0, 500.0]
    print(
        f"{'method':9s} {'res m':>6s} {'cells':>9s} {'peak MB':>8s} {'B/cell':>7s} "
        f"{'estimate MB':>11s} {'s':>5s}"
    )
    for res in resolutions:
        grid = kwxmap.make_grid(resolution=res)
        for method in sorted(METHODS):
            tracemalloc.start()
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kwxmap.interpolate(stations, method, resolution=res)
            seconds = time.perf_counter() - t
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            inside = int(grid.mask.sum())
            est = estimate_memory(grid, method)
            print(
                f"{method:9s} {res:6.0f} {inside:9d} {peak / 1e6:8.1f} {peak / inside:7.0f} "
                f"{est / 1e6:11.1f} {seconds:5.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
