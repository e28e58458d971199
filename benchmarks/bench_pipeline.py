"""End-to-end cost of the commands users run: wall time and peak memory.

Runs, as separate processes under ``/usr/bin/time -v`` (so start-up and
imports count, as they do for a user)::

    kwxmap map examples/widget.txt -o map.html --geojson-dir DIR   (national 1 km)
    kwxmap map examples/widget.txt -o map.html --region 충청북도
    kwxmap batch <one month of daily means> -o DIR --netcdf           (per-map time)

and prints a table. Targets: ``map`` on the bundled widget in <= 2 s wall and
<= 400 MB peak resident memory.

Usage::

    python benchmarks/bench_pipeline.py [--repeat 3] [--month 2020-08]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
WIDGET = ROOT / "examples" / "widget.txt"
DAILY = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"


def timed(args: list[str]) -> tuple[float, float, str]:
    """Run ``python -m kwxmap ARGS`` under /usr/bin/time; return (s, MB, stderr)."""
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "kwxmap", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(args)}\n{proc.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    assert wall and rss, proc.stderr
    h, m, s = (float(g) if g else 0.0 for g in wall.groups())
    return h * 3600 + m * 60 + s, int(rss.group(1)) / 1024, proc.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--month", default="2020-08")
    opts = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        raise SystemExit("needs GNU time: apt-get install time")
    tmp = Path(tempfile.mkdtemp(prefix="kwxmap-bench-"))
    try:
        rows = []
        layers = tmp / "layers"
        layers.mkdir()
        cases = {
            "map, national 1 km, tiles none": [
                "map", str(WIDGET), "-o", str(tmp / "a.html"), "--geojson-dir", str(layers),
                "--tiles", "none",
            ],
            "map, national 1 km, former default": [
                "map", str(WIDGET), "-o", str(tmp / "c.html"), "--tiles", "none",
                "--method", "spline", "--elevation", "lapse",
            ],
            "map, 충청북도 500 m": [
                "map", str(WIDGET), "-o", str(tmp / "b.html"), "--region", "충청북도",
                "--resolution", "500",
            ],
        }
        for name, args in cases.items():
            runs = [timed(args) for _ in range(opts.repeat)]
            best = min(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            rows.append((name, best, peak))
        html_kb = (tmp / "a.html").stat().st_size / 1024
        bands_kb = (layers / "bands.geojson").stat().st_size / 1024

        daily = pd.read_csv(DAILY)
        month = daily[daily["time"].str.startswith(opts.month)]
        table = month.rename(columns={"stn_id": "station_id", "temp_c": "temperature_c"})
        csv = tmp / "month.csv"
        table[["time", "station_id", "temperature_c"]].to_csv(csv, index=False)
        n_days = month["time"].nunique()
        out = tmp / "batch"
        wall, peak, err = timed(["batch", str(csv), "-o", str(out), "--netcdf", "--tiles", "none"])
        maps = len(list(out.glob("2*.html")))

        print(f"{'case':40s} {'wall s':>8s} {'peak MB':>8s}")
        for name, best, peak_mb in rows:
            print(f"{name:40s} {best:8.2f} {peak_mb:8.0f}")
        print(f"{'batch ' + opts.month + f' ({n_days} days)':40s} {wall:8.2f} {peak:8.0f}")
        print()
        print(f"national map: HTML {html_kb:.0f} KB, bands.geojson {bands_kb:.0f} KB")
        print(f"batch: {maps} maps + grids.nc, {wall / max(maps, 1):.2f} s per map (whole run)")
        print("summary line:", err.strip().splitlines()[0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
