"""Speed of kwxmap's interpolation against the peer libraries, side by side in one run.

Every row runs kwxmap and its peer on the same inputs, checks that they give
the same numbers (max |difference|), and prints the times and the speed-up:

- ordinary kriging, global: ``Kriging`` vs PyKrige ``OrdinaryKriging`` (default
  ``backend="vectorized"``), same variogram, every cell of the national 1 km
  grid's bounding box (392k cells) — prediction only, and prediction +
  kriging variance (PyKrige always computes both);
- local kriging (``neighbors=k``) vs PyKrige's C backend with
  ``n_closest_points=k``;
- Barnes and Cressman vs MetPy ``inverse_distance_to_grid``;
- thin-plate spline vs scipy ``RBFInterpolator(kernel="thin_plate_spline")``;
- the same with the ~700 active ASOS+AWS stations;
- peak memory (VmHWM of a fresh process) of ``kwxmap.interpolate`` on the
  national 250 m grid (1.6M cells in the country);
- ``interpolate_many`` over 744 hourly timestamps (a month, some hours with
  stations missing) vs a loop of PyKrige calls;
- leave-one-out of every method on the ~700 stations in closed form
  (:func:`kwxmap.interpolate.cv.loo_weights`) vs refitting per fold with the
  variogram/penalty held fixed (``--only loo``).

Values are synthetic but realistic, at the real station locations: a
south-north gradient, a 6.5 K/km lapse rate with the stations' elevations, a
smooth wave and noise (fixed seed).

Usage::

    python benchmarks/bench_speed.py            # everything (a few minutes)
    python benchmarks/bench_speed.py --quick    # 5 km grids, 200 timestamps
    python benchmarks/bench_speed.py --only kriging,local,batch

A speed-up is printed only for rows whose outputs agree within
:data:`TOLERANCE` (1e-6 °C, or °C² for variances); any other row says
MISMATCH and the script exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import kwxmap
from kwxmap.grid import make_grid
from kwxmap.interpolate import METHODS, interpolate_many

SEED = 20261125
VARIOGRAM = {"psill": 6.0, "range": 180_000.0, "nugget": 0.1}
SECTIONS = ("kriging", "local", "barnes", "spline", "dense", "memory", "batch", "loo")

#: Largest max|kwxmap - peer| (°C, or °C² for variances) for which a speed-up is
#: reported; beyond it the row says MISMATCH and the script exits 1.
TOLERANCE = 1e-6
#: Added to every kwxmap output before the comparison (``--perturb-kwxmap``).
PERTURB = 0.0

rows: list[dict[str, Any]] = []


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def max_diff(a: Any, b: Any) -> float:
    """Max |a - b| over cells finite in both; inf when they differ in which are finite.

    ``a`` is kwxmap's output; ``--perturb-kwxmap`` shifts it first.
    """
    a = np.asarray(a, dtype=float).ravel() + PERTURB
    b = np.asarray(b, dtype=float).ravel()
    both = np.isfinite(a) & np.isfinite(b)
    if (np.isfinite(a) != np.isfinite(b)).any():
        return float("inf")
    return float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0


def add(
    case: str,
    ours: float,
    peer: str,
    theirs: float,
    target: str,
    diff: tuple[float, str],
    note: str = "",
) -> None:
    """Record a row; its speed-up counts only when the outputs agree within TOLERANCE."""
    value, unit = diff
    agree = bool(value <= TOLERANCE)
    rows.append(
        {
            "case": case,
            "kwxmap_s": ours,
            "peer": peer,
            "peer_s": theirs,
            "speedup": theirs / ours if ours > 0 and agree else float("nan"),
            "agree": agree,
            "target": target,
            "diff": f"{value:.1e} {unit}",
            "note": note,
        }
    )
    r = rows[-1]
    ratio = f"x{r['speedup']:6.1f}" if agree else "MISMATCH"
    print(
        f"  {case:<44} {ours:8.3f} s  {peer:<26} {theirs:8.3f} s  "
        f"{ratio:>8}  {target:<6} {r['diff']} {note}",
        flush=True,
    )


def print_table() -> int:
    """Print the summary table; return 1 when any row's outputs disagree, else 0."""
    print()
    print(f"outputs must agree within {TOLERANCE:g} (C or C2) for a speed-up to be shown")
    print(f"{'case':<58} {'kwxmap':>9} {'peer':>9} {'speed-up':>9}  target  max|diff|")
    for r in rows:
        ratio = f"{r['speedup']:8.1f}x" if r["agree"] else " MISMATCH"
        print(
            f"{r['case'][:58]:<58} {r['kwxmap_s']:8.3f}s {r['peer_s']:8.3f}s "
            f"{ratio}  {r['target']:<6}  {r['diff']}"
        )
    bad = [r["case"] for r in rows if not r["agree"]]
    if bad:
        print(f"MISMATCH in {len(bad)} of {len(rows)} rows: kwxmap and the peer disagree "
              f"beyond {TOLERANCE:g}; no speed-up is claimed for them", file=sys.stderr)
        return 1
    return 0


def stations(network: str) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """Active stations of a network: GeoDataFrame, xy (EPSG:5179), elevation, values."""
    gdf = kwxmap.load_stations(network).to_geodataframe()
    gdf = gdf[gdf["active"] & gdf["elevation_m"].notna()].reset_index(drop=True)
    proj = gdf.to_crs(5179)
    # one station per location (an AWS can share an ASOS site): keep the first
    key = np.round(np.column_stack([proj.geometry.x, proj.geometry.y]))
    first = ~pd.DataFrame(key).duplicated().to_numpy()
    gdf, proj = gdf[first].reset_index(drop=True), proj[first].reset_index(drop=True)
    xy = np.column_stack([proj.geometry.x, proj.geometry.y])
    elev = gdf["elevation_m"].to_numpy(dtype=float)
    rng = np.random.default_rng(SEED)
    values = (
        16.0
        - 9e-6 * (xy[:, 1] - 1_750_000.0)
        - 0.0065 * elev
        + 1.5 * np.sin(xy[:, 0] / 90_000.0) * np.cos(xy[:, 1] / 120_000.0)
        + rng.normal(0.0, 0.3, len(elev))
    )
    return gdf.assign(temperature_c=values), xy, elev, values


def bench_kriging(xy, values, gx, gy, repeat, label):
    from pykrige.ok import OrdinaryKriging

    gxx, gyy = np.meshgrid(gx, gy)
    cells = np.column_stack([gxx.ravel(), gyy.ravel()])
    n = len(values)
    model = METHODS["kriging"](variogram_parameters=VARIOGRAM)

    def ours_pred():
        return model.fit(xy, values).predict(cells)

    def ours_both():
        return model.fit(xy, values).predict_with_variance(cells)

    chunk = None if n < 200 else 20_000

    def theirs():
        ok = OrdinaryKriging(
            xy[:, 0],
            xy[:, 1],
            values,
            variogram_model="exponential",
            variogram_parameters=VARIOGRAM,
            coordinates_type="euclidean",
        )
        if chunk is None:
            z, s = ok.execute("grid", gx, gy)
            return np.asarray(z).ravel(), np.asarray(s).ravel()
        zs, ss = [], []
        for i in range(0, len(cells), chunk):
            z, s = ok.execute("points", cells[i : i + chunk, 0], cells[i : i + chunk, 1])
            zs.append(np.asarray(z))
            ss.append(np.asarray(s))
        return np.concatenate(zs), np.concatenate(ss)

    t_pred, pred = best_of(ours_pred, repeat)
    t_both, (pred2, var) = best_of(ours_both, repeat)
    t_pk, (z, s) = best_of(theirs, 1)
    note = "(PyKrige in 20k-point chunks: one call needs > 8 GB)" if chunk else ""
    cells_txt = f"{len(cells) / 1000:.0f}k cells"
    add(
        f"OK global {label}, {cells_txt}, prediction",
        t_pred,
        "PyKrige vectorized",
        t_pk,
        ">=15x",
        (max_diff(pred, z), "C"),
        note,
    )
    add(
        f"OK global {label}, {cells_txt}, pred + variance",
        t_both,
        "PyKrige vectorized",
        t_pk,
        "",
        (max(max_diff(pred2, z), max_diff(var, s)), "C/C2"),
        note,
    )


def bench_local(xy, values, gx, gy, repeat, label, ks=(10, 20)):
    from pykrige.ok import OrdinaryKriging

    gxx, gyy = np.meshgrid(gx, gy)
    cells = np.column_stack([gxx.ravel(), gyy.ravel()])
    for k in ks:
        model = METHODS["kriging"](variogram_parameters=VARIOGRAM, neighbors=k)

        def ours(model=model):
            return model.fit(xy, values).predict_with_variance(cells)

        def theirs(k=k):
            ok = OrdinaryKriging(
                xy[:, 0],
                xy[:, 1],
                values,
                variogram_model="exponential",
                variogram_parameters=VARIOGRAM,
            )
            z, s = ok.execute("grid", gx, gy, backend="C", n_closest_points=k)
            return np.asarray(z).ravel(), np.asarray(s).ravel()

        t_ours, (p, v) = best_of(ours, repeat)
        t_pk, (z, s) = best_of(theirs, 1)
        add(
            f"OK local k={k} {label}, pred + variance",
            t_ours,
            "PyKrige C n_closest",
            t_pk,
            ">1x",
            (max(max_diff(p, z), max_diff(v, s)), "C/C2"),
        )


def bench_barnes(xy, values, gx, gy, repeat, label):
    from metpy.interpolate import inverse_distance_to_grid

    gxx, gyy = np.meshgrid(gx, gy)
    cells = np.column_stack([gxx.ravel(), gyy.ravel()])
    for kind in ("barnes", "cressman"):
        if kind not in METHODS:
            print(f"  {kind}: not implemented yet (skipped)")
            continue
        model = METHODS[kind]()

        def ours(model=model):
            return model.fit(xy, values).predict(cells)

        t_ours, pred = best_of(ours, repeat)
        r = float(model.search_radius_)
        extra: dict[str, Any] = {}
        if kind == "barnes":
            extra = {"kappa": float(model.kappa_), "gamma": float(model.gamma)}
        min_n = int(model.min_neighbors)

        def theirs(kind=kind, r=r, extra=extra, min_n=min_n):
            return inverse_distance_to_grid(
                xy[:, 0], xy[:, 1], values, gxx, gyy, r, min_neighbors=min_n, kind=kind, **extra
            )

        t_mp, z = best_of(theirs, 1)
        add(
            f"{kind} {label}, {len(cells) / 1000:.0f}k cells",
            t_ours,
            "MetPy inverse_distance",
            t_mp,
            ">=20x",
            (max_diff(pred, z), "C"),
        )


def bench_spline(xy, values, gx, gy, repeat, label):
    from scipy.interpolate import RBFInterpolator

    if "spline" not in METHODS:
        print("  spline: not implemented yet (skipped)")
        return
    gxx, gyy = np.meshgrid(gx, gy)
    cells = np.column_stack([gxx.ravel(), gyy.ravel()])
    default = float(METHODS["spline"]().smoothing)
    for smoothing in sorted({default, 0.0}, reverse=True):
        model = METHODS["spline"](smoothing=smoothing)

        def ours(model=model):
            return model.fit(xy, values).predict(cells)

        def theirs(smoothing=smoothing):
            return RBFInterpolator(xy, values, kernel="thin_plate_spline", smoothing=smoothing)(
                cells
            )

        t_ours, pred = best_of(ours, repeat)
        t_sc, z = best_of(theirs, max(1, repeat // 2))
        add(
            f"spline smoothing={smoothing:g} {label}, {len(cells) / 1000:.0f}k cells",
            t_ours,
            "scipy RBFInterpolator",
            t_sc,
            ">=2x",
            (max_diff(pred, z), "C"),
        )


MEMORY_SCRIPT = r"""
import json, sys, time, warnings
import numpy as np
import kwxmap
sys.path.insert(0, {here!r})
from bench_speed import stations, VARIOGRAM

def hwm_mb():  # peak resident set of this process (VmHWM; not inherited from the parent)
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024

gdf = stations("asos")[0]
method = {method!r}
params = {{"variogram_parameters": VARIOGRAM}} if method == "kriging" else {{}}
before = hwm_mb()
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    g = kwxmap.interpolate(gdf, method, resolution={res}, elevation="lapse", **params)
seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds, "peak_mb": hwm_mb(), "before_mb": before,
                  "cells": int(g.mask.sum()), "shape": list(g.shape)}}))
"""


def bench_memory(res: float, methods: list[str]):
    here = os.path.dirname(os.path.abspath(__file__))
    for method in methods:
        if method not in METHODS:
            continue
        code = MEMORY_SCRIPT.format(here=here, method=method, res=res)
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:  # a crash is a failure of the benchmark, not a note
            print(f"  memory {method}: failed\n{proc.stderr[-2000:]}")
            add(f"memory {method}", float("nan"), "(crashed)", float("nan"), "",
                (float("inf"), "C"))
            continue
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        ok = "ok" if info["peak_mb"] <= 2048 else "OVER"
        print(
            f"  interpolate({method!r}, resolution={res:.0f}, elevation='lapse'): "
            f"{info['cells'] / 1e6:.2f}M cells of {info['shape'][0]}x{info['shape'][1]}, "
            f"{info['seconds']:.2f} s, peak RSS {info['peak_mb']:.0f} MB "
            f"(after imports+stations {info['before_mb']:.0f} MB) <= 2048 MB: {ok}",
            flush=True,
        )


def bench_batch(gdf, xy, elev, res: float, n_times: int, repeat: int):
    from pykrige.ok import OrdinaryKriging

    rng = np.random.default_rng(SEED + 1)
    base = gdf["temperature_c"].to_numpy()
    hours = np.arange(n_times)
    diurnal = 4.0 * np.sin(2 * np.pi * (hours - 9) / 24.0)
    values = (
        base[None, :]
        + diurnal[:, None]
        + 0.02 * hours[:, None] / 24.0
        + rng.normal(0.0, 0.4, (n_times, len(base)))
    )
    gaps = rng.choice(n_times, n_times // 20, replace=False)  # 5% of hours lose 1-3 stations
    for t in gaps:
        values[t, rng.choice(len(base), rng.integers(1, 4), replace=False)] = np.nan
    grid = make_grid("south-korea", resolution=res)
    cells = grid.cell_xy()

    def ours():
        return interpolate_many(
            gdf,
            values,
            method="kriging",
            resolution=res,
            elevation=None,  # PyKrige gets the raw values too
            variogram_parameters=VARIOGRAM,
        )

    def theirs():
        out = np.empty((n_times, len(cells)))
        for t in range(n_times):
            ok_ = np.isfinite(values[t])
            ok = OrdinaryKriging(
                xy[ok_, 0],
                xy[ok_, 1],
                values[t, ok_],
                variogram_model="exponential",
                variogram_parameters=VARIOGRAM,
            )
            out[t] = np.asarray(ok.execute("points", cells[:, 0], cells[:, 1])[0])
        return out

    t_ours, ds = best_of(ours, repeat)
    t_pk, z = best_of(theirs, 1)
    cube = ds.values[:, grid.mask]
    n_pat = len({tuple(np.isfinite(v)) for v in values})
    add(
        f"interpolate_many kriging {n_times} h, {len(cells) / 1000:.0f}k cells ({n_pat} patterns)",
        t_ours,
        "PyKrige loop",
        t_pk,
        ">=60x",
        (max_diff(cube, z), "C"),
        f"({res / 1000:g} km national grid)",
    )


def bench_loo(xy, elev, values, label, folds=20):
    """Closed-form leave-one-out per method vs refitting per fold (variogram/penalty held).

    The refit time is measured on ``folds`` evenly spaced stations and scaled to
    all N (marked "est."); max|diff| compares the two on those stations.
    """
    from kwxmap.interpolate.cv import loo_weights
    from kwxmap.predictors import Predictors

    drift = Predictors().matrix(xy, elev)
    n = len(values)
    sample = np.linspace(0, n - 1, folds).round().astype(int)
    cases = [
        ("nearest", {}, None),
        ("idw", {}, None),
        ("barnes", {}, None),
        ("cressman", {}, None),
        ("spline", {}, None),
        ("spline", {}, drift),
        ("kriging", {}, None),
        ("kriging", {}, drift),
    ]
    for name, params, d in cases:
        est = METHODS[name](**params)

        def ours(est=est, d=d):
            return np.asarray(loo_weights(est, xy, values, drift=d) @ values).reshape(-1)

        t_ours, fast = best_of(ours, 1)
        fixed = est.fit(xy, values, drift=d)
        fixed = fixed.frozen() if not fixed.linear else fixed
        if name in ("barnes", "cressman"):  # spacing and radius of the full set, as in LOO
            fixed = METHODS[name](**fixed.get_params())
            fixed.fit(xy, values)
            keep_kw = {"search_radius": fixed.search_radius_}
            if name == "barnes":
                keep_kw["kappa"] = fixed.kappa_
            fixed = METHODS[name](**{**fixed.get_params(), **keep_kw})
        slow = np.empty(len(sample))
        refit = _independent_refit(name, fixed, d)
        t0 = time.perf_counter()
        for j, i in enumerate(sample):
            keep = np.arange(n) != i
            if refit is not None:  # a peer library, refitted without station i
                slow[j] = refit(xy[keep], values[keep], xy[i : i + 1])
                continue
            m = METHODS[name](**fixed.get_params())
            m.fit(xy[keep], values[keep], drift=None if d is None else d[keep])
            slow[j] = m.predict(xy[i : i + 1], drift=None if d is None else d[i : i + 1])[0]
        t_refit = (time.perf_counter() - t0) * n / len(sample)
        diff = max_diff(fast[sample], slow)
        tag = f"{name}{' + predictors' if d is not None else ''}"
        peer = ("PyKrige refit per fold (est.)" if name == "kriging" and refit is not None
                else "scipy RBF refit per fold (est.)" if refit is not None
                else "kwxmap refit per fold (est.)")
        add(f"LOO {tag}, {label}", t_ours, peer, t_refit, "<=2s", (diff, "C"))


def _independent_refit(name: str, fixed: Any, drift: Any) -> Any:
    """A peer's refit for the closed form to be checked against, or None (kwxmap's own).

    Ordinary kriging: PyKrige with the variogram the closed form holds fixed;
    the thin-plate spline: scipy's ``RBFInterpolator`` with the same smoothing.
    The other methods (and drift) are checked against kwxmap's own refit.
    """
    if drift is not None:
        return None
    if name == "kriging":
        from pykrige.ok import OrdinaryKriging

        vg = fixed.get_params()["variogram_parameters"]  # the variogram held fixed

        def krige(xy, v, at):
            ok = OrdinaryKriging(xy[:, 0], xy[:, 1], v, variogram_model=vg.model,
                                 variogram_parameters=vg.as_dict(),
                                 coordinates_type="euclidean")
            return float(np.asarray(ok.execute("points", at[:, 0], at[:, 1])[0])[0])

        return krige
    if name == "spline":
        from scipy.interpolate import RBFInterpolator

        def rbf(xy, v, at):
            f = RBFInterpolator(xy, v, kernel="thin_plate_spline", smoothing=fixed.smoothing)
            return float(f(at)[0])

        return rbf
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="5 km grids, 200 timestamps")
    p.add_argument("--only", default=",".join(SECTIONS), help=f"comma list of {SECTIONS}")
    p.add_argument("--repeat", type=int, default=3, help="best of N for kwxmap (default 3)")
    p.add_argument("--batch-resolution", type=float, default=None, help="metres (default 2000)")
    p.add_argument("--perturb-kwxmap", type=float, default=0.0, metavar="DELTA",
                   help="add DELTA to every kwxmap output before comparing (checks the "
                        "MISMATCH guard; the script must then exit 1)")
    args = p.parse_args(argv)
    global PERTURB
    PERTURB = args.perturb_kwxmap
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    res = 5000.0 if args.quick else 1000.0
    n_times = 200 if args.quick else 744
    batch_res = args.batch_resolution or (10_000.0 if args.quick else 2000.0)

    import metpy
    import pykrige
    import scipy

    print("kwxmap speed benchmark")
    print(
        f"  python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pykrige {pykrige.__version__}, metpy {metpy.__version__}; {os.cpu_count()} CPUs; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    grid = make_grid("south-korea", resolution=res)
    gx, gy = grid.x, grid.y
    print(
        f"  national grid {res:g} m: bounding box {len(gy)} x {len(gx)} = "
        f"{len(gx) * len(gy) / 1000:.0f}k cells (all computed); "
        f"kwxmap best of {args.repeat}, peers one run"
    )
    asos, xy, elev, values = stations("asos")
    print(f"  {len(values)} active ASOS stations; exponential variogram {VARIOGRAM}")
    if "kriging" in only:
        bench_kriging(xy, values, gx, gy, args.repeat, "97 ASOS")
    if "local" in only:
        bench_local(xy, values, gx, gy, args.repeat, "97 ASOS")
    if "barnes" in only:
        bench_barnes(xy, values, gx, gy, args.repeat, "97 ASOS")
    if "spline" in only:
        bench_spline(xy, values, gx, gy, args.repeat, "97 ASOS")
    if "dense" in only:
        _, xy2, _, values2 = stations("all")
        label = f"{len(values2)} ASOS+AWS"
        print(f"  {label} active stations")
        bench_kriging(xy2, values2, gx, gy, args.repeat, label)
        bench_local(xy2, values2, gx, gy, args.repeat, label, ks=(10,))
        bench_barnes(xy2, values2, gx, gy, args.repeat, label)
        bench_spline(xy2, values2, gx, gy, args.repeat, label)
    if "memory" in only:
        bench_memory(1000.0 if args.quick else 250.0, ["kriging", "spline", "idw"])
    if "batch" in only:
        bench_batch(asos, xy, elev, batch_res, n_times, args.repeat)
    if "loo" in only:
        _, xy3, elev3, values3 = stations("all")
        bench_loo(xy3, elev3, values3, f"{len(values3)} ASOS+AWS")
    return print_table()


if __name__ == "__main__":
    sys.exit(main())
