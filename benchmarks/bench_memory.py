"""Peak memory of ``kwxmap.interpolate`` per method and resolution, against the estimate.

The memory guard (``kwxmap/interpolate/memory.py``) checks an estimate before
any large allocation; this script measures the real peaks (tracemalloc, which
numpy reports to) on the bundled seed readings over all of South Korea, and
prints them next to the estimate, so the constants there can be checked.

Run: ``PYTHONPATH=$PWD python benchmarks/bench_memory.py [RESOLUTION ...]``
(default 4000 1000 500 metres).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import kwxmap
from kwxmap.interpolate import METHODS
from kwxmap.interpolate.memory import estimate_memory

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
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
