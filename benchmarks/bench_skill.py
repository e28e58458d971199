"""Skill benchmark: leave-one-out RMSE/MAE of every method on real KMA daily means.

Data: ``examples/data/kma_asos_daily_2020.csv`` (daily mean temperature at the
ASOS stations, 2020-08-01 .. 2020-12-26, 106 days), joined to the station
registry for coordinates and elevations.

For each day and each (method, elevation) pair (elevation None, "lapse",
"fit", and "drift" for methods taking an external drift), every station is predicted
from the others with :func:`kwxmap.cross_validate` (LOO). The reference peer
is PyKrige's ``OrdinaryKriging`` with its variogram fitted automatically
(default ``linear`` model and ``spherical``; coordinates in metres, EPSG:5179),
refitted in every fold, without elevation — what a user gets out of the box.

Scores are computed on the stations that *every* method could predict that
day (Barnes/Cressman leave far islands NaN with MetPy's ``min_neighbors=3``
inside ``5 x spacing``); the ``cover`` column gives the share each method
predicts.

Usage::

    python benchmarks/bench_skill.py              # 12 days spread over the season
    python benchmarks/bench_skill.py --days 0     # all 106 days (slow: kriging LOO)
    python benchmarks/bench_skill.py --no-kriging --days 30
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import kwxmap
from kwxmap.interpolate import DEFAULT_METHOD, METHODS

ROOT = Path(__file__).resolve().parents[1]
OBS = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"
METHOD_ORDER = ["idw", "nearest", "barnes", "cressman", "spline", "kriging"]
ELEVATIONS = [None, "lapse", "fit"]


def station_frame():
    """Stations with lon/lat/elevation: the registry, else the KMA source CSV."""
    import geopandas as gpd

    try:
        gdf = kwxmap.load_stations().to_geodataframe()
        return gdf[["station_id", "name_ko", "elevation_m", "geometry"]]
    except Exception as exc:  # registry not available: fall back to the source table
        print(f"(registry unavailable: {exc}; using scripts/sources)", file=sys.stderr)
        src = pd.read_csv(ROOT / "scripts" / "sources" / "kma_asos_stations.csv")
        return gpd.GeoDataFrame(
            {
                "station_id": src["stn_id"],
                "name_ko": src["name_ko"],
                "elevation_m": src["elevation_m"],
            },
            geometry=gpd.points_from_xy(src["lon"], src["lat"]),
            crs=4326,
        )


def pykrige_loo(gdf, model):
    """LOO predictions of PyKrige OrdinaryKriging (auto-fitted variogram per fold)."""
    from pykrige.ok import OrdinaryKriging

    pts = gdf.to_crs(5179)
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    v = pts["temperature_c"].to_numpy(float)
    pred = np.empty(len(v))
    for i in range(len(v)):
        keep = np.arange(len(v)) != i
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok = OrdinaryKriging(x[keep], y[keep], v[keep], variogram_model=model)
            zhat, _ = ok.execute("points", x[i : i + 1], y[i : i + 1])
        pred[i] = float(np.asarray(zhat).ravel()[0])
    return pred - v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=12, help="days, evenly spread (0 = all)")
    ap.add_argument("--no-kriging", action="store_true", help="skip kwxmap kriging")
    ap.add_argument("--no-pykrige", action="store_true", help="skip the PyKrige reference")
    args = ap.parse_args(argv)

    obs = pd.read_csv(OBS)
    stations = station_frame()
    days = sorted(obs["time"].unique())
    if args.days and args.days < len(days):
        days = [days[i] for i in np.linspace(0, len(days) - 1, args.days).round().astype(int)]
    methods = [m for m in METHOD_ORDER if m in METHODS]
    if args.no_kriging and "kriging" in methods:
        methods.remove("kriging")
    configs = [(m, e) for m in methods for e in ELEVATIONS]
    configs += [(m, "drift") for m in methods if METHODS[m].accepts_drift]
    peers = [] if args.no_pykrige else ["linear", "spherical"]

    rows = []
    timing: dict[str, float] = {}
    t_all = time.perf_counter()
    for day in days:
        d = obs[obs["time"] == day][["stn_id", "temp_c"]].dropna()
        d = d.rename(columns={"stn_id": "station_id", "temp_c": "temperature_c"})
        gdf = stations.merge(d, on="station_id")
        errors: dict[str, pd.Series] = {}
        for m, e in configs:
            t0 = time.perf_counter()
            rep = kwxmap.cross_validate(gdf, m, elevation=e)
            key = f"{m}/{e or 'none'}"
            timing[key] = timing.get(key, 0.0) + time.perf_counter() - t0
            errors[key] = rep.table.set_index("station_id")["error"]
        for model in peers:
            t0 = time.perf_counter()
            err = pykrige_loo(gdf, model)
            key = f"pykrige-ok-{model}/none"
            timing[key] = timing.get(key, 0.0) + time.perf_counter() - t0
            errors[key] = pd.Series(err, index=gdf["station_id"].to_numpy())
        frame = pd.DataFrame(errors)
        common = frame.notna().all(axis=1)
        for key in frame:
            e = frame.loc[common, key]
            rows.append(
                {
                    "config": key,
                    "day": day,
                    "rmse": float(np.sqrt((e**2).mean())),
                    "mae": float(e.abs().mean()),
                    "bias": float(e.mean()),
                    "cover": float(frame[key].notna().mean()),
                    "n": int(common.sum()),
                }
            )
    res = pd.DataFrame(rows)
    table = res.groupby("config").agg(
        rmse=("rmse", "mean"), mae=("mae", "mean"), bias=("bias", "mean"), cover=("cover", "min")
    )
    table["sec/day"] = [timing[k] / len(days) for k in table.index]
    idw = table.loc["idw/none", "rmse"]
    table["vs_idw"] = table["rmse"] / idw - 1.0
    peer_keys = [k for k in table.index if k.startswith("pykrige")]
    peer = table.loc[peer_keys, "rmse"].min() if peer_keys else np.nan
    table["vs_pykrige"] = table["rmse"] / peer - 1.0
    table = table.sort_values("rmse")

    n_st = res.groupby("day")["n"].first()
    print(
        f"LOO skill on {len(days)} days ({days[0]} .. {days[-1]}), {n_st.min()}-{n_st.max()} "
        f"stations scored per day (common to all methods); {time.perf_counter() - t_all:.0f} s"
    )
    with pd.option_context("display.width", 120, "display.float_format", "{:.3f}".format):
        print(table.to_string())
    full = table[(table["cover"] >= 1.0) & ~table.index.str.startswith("pykrige")]
    best = full.index[0]
    near = full[full["rmse"] <= full.loc[best, "rmse"] * 1.01]
    pick = near["sec/day"].idxmin()
    default = f"{DEFAULT_METHOD}/lapse"
    print()
    print(f"lowest mean RMSE (full coverage): {best} {full.loc[best, 'rmse']:.3f} °C")
    print(
        f"recommended default: {pick} ({full.loc[pick, 'rmse']:.3f} °C; the cheapest within 1% "
        f"of the best, {full.loc[pick, 'sec/day'] * 1000:.0f} ms per LOO)"
    )
    if peer_keys and default in table.index:
        ref = table.loc[peer_keys, "rmse"].idxmin()
        gain = 1.0 - table.loc[default, "rmse"] / peer
        print(
            f"kwxmap default {default} {table.loc[default, 'rmse']:.3f} °C vs PyKrige ({ref}) "
            f"{peer:.3f} °C: {gain:.1%} lower -> requirement >= 15%: "
            f"{'PASS' if gain >= 0.15 else 'FAIL'}"
        )
    worse = table[(table["vs_idw"] > 0) & ~table.index.str.startswith("pykrige")]
    if len(worse):
        print("worse than plain IDW: " + ", ".join(worse.index))
        print(
            "  why: nearest is piecewise constant (no gradient between stations); barnes and "
            "cressman with MetPy's defaults (radius 5 x spacing, gamma 0.25) are smoothing "
            "analyses that flatten real gradients; with elevation they beat IDW."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
