"""The station registry against KMA's whole-network snapshots, and merging a station list.

(a) For each of the 16 whole-network one-minute snapshots in
    ``../shared/reference/obs/kma_aws_snapshots.csv`` (2024-10-24 and
    2025-08-09..19, ~700 AWS+ASOS stations each, with the position of the
    station list nearest in time), the registry ``as_of`` the snapshot's day
    is asked for every station: printed are the stations, how many the
    registry lacks, how many it places more than 1 km from the table, and the
    median / largest distance. With ``--before REF`` the same is printed for
    the ``data/stations.geojson`` of that git revision (e.g. ``main``) to show
    what the stn_inf lists changed.
(b) ``update_stations`` merging the real 2026-08-11 API Hub ``stn_inf`` AWS
    list (745 stations) into a fresh local registry: seconds and the counts.

Usage::

    python benchmarks/bench_registry.py
    python benchmarks/bench_registry.py --before main
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Geod

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kwxmap import load_stations, update_stations  # noqa: E402

SHARED = ROOT.parent / "shared" / "reference"
SNAPSHOTS = SHARED / "obs" / "kma_aws_snapshots.csv"
STN_INF_2026 = SHARED / "obs" / "raw" / "ryuken73-weather_server_stn_inf_aws_20260811.txt"
GEOD = Geod(ellps="WGS84")


def check(registry_path: Path | None, label: str) -> None:
    table = pd.read_csv(SNAPSHOTS)
    reg = load_stations("all", path=registry_path)
    print(f"\n{label}: {reg}")
    print(f"{'snapshot':<16} {'stations':>8} {'missing':>8} {'>1 km':>6} {'median m':>9} "
          f"{'max m':>9}")
    totals = [0, 0, 0]
    for (sid, tm), rows in table.groupby(["snapshot_id", "time"], sort=True):
        then = reg.as_of(tm[:10])
        dist, missing = [], 0
        for r in rows.itertuples(index=False):
            try:
                s = then.get(int(r.stn_id))
            except KeyError:
                missing += 1
                continue
            dist.append(GEOD.inv(s.lon, s.lat, r.lon, r.lat)[2])
        d = np.array(dist)
        far = int((d > 1000).sum())
        totals = [totals[0] + len(rows), totals[1] + missing, totals[2] + far]
        print(f"{sid:<16} {len(rows):>8} {missing:>8} {far:>6} {np.median(d):>9.1f} "
              f"{d.max():>9.1f}")
    print(f"{'all':<16} {totals[0]:>8} {totals[1]:>8} {totals[2]:>6}")


def merge() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = update_stations(STN_INF_2026, date="2026-08-11", cache_dir=tmp)
        seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        reg = load_stations("all", path=result.path)
        load = time.perf_counter() - t0
    print(f"\nupdate_stations({STN_INF_2026.name}): {seconds:.2f} s; {result.summary()}; "
          f"reload {load:.2f} s, {reg}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REF", help="also check data/stations.geojson at REF")
    args = parser.parse_args()
    if not SNAPSHOTS.exists():
        print(f"skipped: {SNAPSHOTS} (../shared) is absent", file=sys.stderr)
        return 0
    check(ROOT / "data" / "stations.geojson", "this checkout")
    if args.before:
        ref = f"{args.before}:data/stations.geojson"
        text = subprocess.run(["git", "-C", str(ROOT), "show", ref],
                              capture_output=True, check=True).stdout
        with tempfile.TemporaryDirectory() as tmp:
            old = Path(tmp) / "stations.geojson"
            old.write_bytes(text)
            check(old, f"data/stations.geojson at {args.before}")
    merge()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
