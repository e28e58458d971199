"""Years of hourly maps: throughput, peak memory and identical output of ``stream_batch``.

Input: a synthetic hourly series at the **731 real AWS+ASOS station
positions and elevations** of ``../shared/reference/obs/kma_aws_snapshots.csv``
(latest position of each station) with realistic gaps: the real snapshots
have 686-719 of them reporting, so each station has outages (a working
station fails with probability 1/1500 an hour, an outage lasts 48 h on
average) plus sporadic missing hours (0.3 %); values are a seasonal and
diurnal cycle, a south-north gradient, a 6.5 K/km lapse rate and noise.

Measured, on the national 1 km grid (``make_grid("south-korea")``):

- timestamps/s and peak memory (RSS of the process and its children,
  sampled every 20 ms) of ``stream_batch`` in one process and on a 2-worker
  LocalCluster, on a slice of ``--hours`` hours (a year at 1 km is too slow
  for a shared 2-core box: the rates are extrapolated, as printed);
- a loop of ``kwxmap.interpolate`` over ``--loop`` of those timestamps
  (time per timestamp), and the single-process speed-up over it;
- the largest difference (°C) between the three ways on the same
  timestamps: one process vs LocalCluster (every cell of the slice) and
  one process vs the ``interpolate`` loop;
- the time 30 years (262,980 hours) would take on a 64-core cluster, from
  the per-worker rate of the LocalCluster run;
- peak memory as the input grows from a month to a year (the 99 ASOS
  positions on a ``--growth-res`` grid, default 5 km, so that a year runs in
  minutes; the chunk, not the input, sets the memory).

Usage::

    python benchmarks/bench_stream.py                 # 1 km slice of 96 h + growth
    python benchmarks/bench_stream.py --hours 48 --loop 4 --skip-growth
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SNAPSHOTS = REPO.parent / "shared" / "reference" / "obs" / "kma_aws_snapshots.csv"
HOURS_30_YEARS = 30 * 8766


def stations(network: str | None = None):
    import geopandas as gpd

    snap = pd.read_csv(SNAPSHOTS, encoding="utf-8").sort_values("time")
    if network is not None:
        snap = snap[snap["network"] == network]
    last = snap.drop_duplicates("stn_id", keep="last")
    return gpd.GeoDataFrame(
        {
            "station_id": last["stn_id"].astype(int).to_numpy(),
            "elevation_m": last["elev_m"].to_numpy(float),
        },
        geometry=gpd.points_from_xy(last["lon"], last["lat"]),
        crs=4326,
    ).reset_index(drop=True)


def synthetic(st, hours: int, *, start: str = "2023-01-01", seed: int = 7) -> pd.DataFrame:
    """Long table, sorted by time, of ``hours`` hourly readings at the stations ``st``."""
    rng = np.random.default_rng(seed)
    n = len(st)
    times = pd.date_range(start, periods=hours, freq="h")
    doy = times.day_of_year.to_numpy()
    hod = times.hour.to_numpy()
    season = 12.0 - 14.0 * np.cos(2 * np.pi * (doy - 15) / 365.25)
    diurnal = 4.0 * np.sin(2 * np.pi * (hod - 9) / 24)
    lat = st.geometry.y.to_numpy()
    elev = st["elevation_m"].to_numpy()
    vals = (season + diurnal)[:, None] - 1.0 * (lat - 36.0)[None] - 0.0065 * elev[None]
    vals += rng.normal(0.0, 0.8, (hours, n))
    # outages: two-state Markov chain per station
    down = np.zeros(n, dtype=bool)
    missing = np.empty((hours, n), dtype=bool)
    for h in range(hours):
        fail = rng.random(n) < 1 / 1500
        heal = rng.random(n) < 1 / 48
        down = np.where(down, ~heal, fail)
        missing[h] = down
    missing |= rng.random((hours, n)) < 0.003
    vals[missing] = np.nan
    table = pd.DataFrame(
        {
            "time": np.repeat(times, n),
            "station_id": np.tile(st["station_id"].to_numpy(), hours),
            "temperature_c": vals.ravel().round(1),
        }
    )
    return table.dropna(subset=["temperature_c"])


def _peak_sampler(stop: threading.Event, out: list) -> None:
    import psutil

    me = psutil.Process()
    peak = 0
    while not stop.is_set():
        try:
            rss = me.memory_info().rss + sum(
                c.memory_info().rss for c in me.children(recursive=True)
            )
        except psutil.Error:
            rss = 0
        peak = max(peak, rss)
        stop.wait(0.02)
    out.append(peak)


def child(args) -> None:
    """Run one stream_batch in this (fresh) process; print timings and peak memory as JSON."""
    import geopandas as gpd

    from kwxmap.stream import stream_batch

    st = gpd.read_file(args.stations)
    stop, peak = threading.Event(), []
    sampler = threading.Thread(target=_peak_sampler, args=(stop, peak))
    sampler.start()
    t0 = time.perf_counter()
    res = stream_batch(
        args.csv,
        args.store,
        stations=st,
        resolution=args.res,
        scheduler=None if args.scheduler == "none" else args.scheduler,
        dtype="float64",
        progress=False,
    )
    seconds = time.perf_counter() - t0
    stop.set()
    sampler.join()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "setup": res.setup_seconds,
                "driver": res.driver_seconds,
                "computed": res.computed,
                "failed": len(res.failed),
                "peak_mb": peak[0] / 2**20,
            }
        )
    )


def run_child(csv: Path, store: Path, st_path: Path, res: float, scheduler: str) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--csv",
        str(csv),
        "--store",
        str(store),
        "--stations",
        str(st_path),
        "--res",
        str(res),
        "--scheduler",
        scheduler,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def cube(store: Path) -> np.ndarray:
    import zarr

    return np.asarray(zarr.open_group(str(store), mode="r")["temperature_c"][:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hours", type=int, default=96, help="1 km slice length")
    p.add_argument("--loop", type=int, default=6, help="timestamps for the interpolate loop")
    p.add_argument("--growth-res", type=float, default=5000.0)
    p.add_argument("--skip-growth", action="store_true")
    p.add_argument("--skip-slice", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--csv"), p.add_argument("--store"), p.add_argument("--stations")
    p.add_argument("--res", type=float), p.add_argument("--scheduler")
    args = p.parse_args()
    if args.child:
        return child(args)
    if not SNAPSHOTS.is_file():
        raise SystemExit(f"skipped: {SNAPSHOTS} not found (needs ../shared beside the repo)")

    tmp = Path(tempfile.mkdtemp(prefix="bench_stream_"))
    if not args.skip_slice:
        slice_1km(args, tmp)
    if not args.skip_growth:
        growth(args, tmp)


def slice_1km(args, tmp: Path) -> None:
    import kwxmap
    from kwxmap.grid import make_grid

    st = stations()
    st_path = tmp / "stations.gpkg"
    st.to_file(st_path)
    grid = make_grid("south-korea", resolution=1000.0)
    print(
        f"stations: {len(st)} (real AWS+ASOS positions); national 1 km grid "
        f"{grid.shape[0]} x {grid.shape[1]} = {grid.mask.size:,} cells, "
        f"{int(grid.mask.sum()):,} in the country; cpus {os.cpu_count()}"
    )

    table = synthetic(st, args.hours)
    per_hour = table.groupby("time").size()
    print(
        f"slice: {args.hours} h from 2023-01-01, {len(table):,} readings, "
        f"{per_hour.min()}-{per_hour.max()} stations an hour"
    )
    csv = tmp / "slice.csv"
    table.to_csv(csv, index=False)

    rows = {}
    for name, sched in (("1 process", "none"), ("LocalCluster 2 workers", "local:2")):
        rows[name] = run_child(csv, tmp / f"{sched}.zarr", st_path, 1000.0, sched)
        r = rows[name]
        r["rate"] = r["computed"] / (r["seconds"] - r["setup"])
        print(
            f"{name:24s} {r['computed']} h in {r['seconds']:6.1f} s (of which setup "
            f"{r['setup']:5.1f} s: scan, grid, DEM, store, cluster start) = {r['rate']:6.2f} "
            f"timestamps/s after setup, peak {r['peak_mb']:6.0f} MB"
        )

    times = pd.DatetimeIndex(sorted(table["time"].unique()))
    picks = np.unique(np.linspace(0, len(times) - 1, args.loop).round().astype(int))
    import zarr

    # the default (kriging + predictors) with the variogram the stream pooled and recorded
    vg = json.loads(zarr.open_group(str(tmp / "none.zarr"), mode="r").attrs.get("variogram",
                                                                                  "null"))
    kw = {} if vg is None else {"variogram_model": vg.pop("model"), "variogram_parameters": vg}
    loop_cube, t0 = [], time.perf_counter()
    for i in picks:
        at = table[table["time"] == times[i]]
        # every station of the table, NaN where it did not report (as the stream sees them)
        gdf = st.merge(at[["station_id", "temperature_c"]], on="station_id", how="left")
        loop_cube.append(kwxmap.interpolate(gdf, resolution=1000.0, **kw).values[::-1])
    per_loop = (time.perf_counter() - t0) / len(picks)
    one = rows["1 process"]
    per_stream = 1 / one["rate"]
    print(
        f"loop of kwxmap.interpolate: {per_loop:.2f} s per timestamp ({len(picks)} timestamps)"
        f"; stream_batch one process: {per_stream:.3f} s per timestamp (after setup, incl. "
        f"reading and writing) -> speed-up {per_loop / per_stream:.1f}x"
    )

    a, b = cube(tmp / "none.zarr"), cube(tmp / "local:2.zarr")
    diff_cluster = float(np.nanmax(np.abs(a - b)))
    same_nan = bool((np.isnan(a) == np.isnan(b)).all())
    diff_loop = max(
        float(np.nanmax(np.abs(a[i] - c))) for i, c in zip(picks, loop_cube, strict=True)
    )
    print(
        f"identical output: max |1 process - LocalCluster| = {diff_cluster:.2e} degC over "
        f"{a.shape[0]} x {a.shape[1]} x {a.shape[2]} cells (NaN masks equal: {same_nan}); "
        f"max |1 process - interpolate loop| = {diff_loop:.2e} degC on {len(picks)} timestamps"
    )
    if not (diff_cluster <= 1e-6 and diff_loop <= 1e-6 and same_nan):
        raise SystemExit("stream_batch disagrees with its references (above 1e-6 degC)")

    # 30 years on 64 workers: tasks spread over the workers, the driver's share
    # (reading rows, one factorisation per new missing-station pattern) does not
    task = (one["seconds"] - one["setup"] - one["driver"]) / one["computed"]
    driver = one["driver"] / one["computed"]
    tasks_h = HOURS_30_YEARS * task / 64 / 3600
    driver_h = HOURS_30_YEARS * driver / 3600
    total_h = max(tasks_h, driver_h)
    print(
        f"one process: {task:.3f} s per timestamp in tasks, {driver:.3f} s on the driver "
        f"(for {one['computed']} h); LocalCluster: "
        f"{rows['LocalCluster 2 workers']['rate']:.2f} timestamps/s after setup"
    )
    print(
        f"30 years = {HOURS_30_YEARS:,} hourly maps on 64 workers, at this shared box's "
        f"speeds: tasks {tasks_h:.1f} h, driver {driver_h:.1f} h -> ~{total_h:.1f} h "
        f"(the larger, as they overlap); storage must take "
        f"{HOURS_30_YEARS * grid.mask.size * 4 / total_h / 3600 / 2**20:.0f} MB/s "
        f"of float32 chunks; one process here: {HOURS_30_YEARS * per_stream / 86400:.1f} days"
    )


def growth(args, tmp: Path) -> None:
    # the ASOS positions: with 731 stations every hour's new missing pattern costs a
    # 734 x 734 factorisation on the driver, and a year of them is hours on this shared box
    st = stations("ASOS")
    st_path = tmp / "asos.gpkg"
    st.to_file(st_path)
    print(
        f"memory as the input grows ({len(st)} ASOS positions, {args.growth_res / 1000:g} km "
        f"grid, default chunk from the 512 MB budget, one process):"
    )
    for label, hours in (("month", 744), ("quarter", 2208), ("year", 8760)):
        big = synthetic(st, hours, seed=11)
        path = tmp / f"{label}.csv"
        big.to_csv(path, index=False)
        del big
        r = run_child(path, tmp / f"{label}.zarr", st_path, args.growth_res, "none")
        print(
            f"  {label:8s} {hours:5d} h, input {path.stat().st_size / 2**20:6.0f} MB: "
            f"peak {r['peak_mb']:6.0f} MB, {r['computed'] / r['seconds']:6.1f} timestamps/s "
            f"(whole run)"
        )


if __name__ == "__main__":
    main()
