"""Skill benchmark: leave-one-out RMSE on every kind of real KMA field, with hand-composed peers.

Data (``../shared/reference/obs/`` beside the repository; the script exits
with a message when it is absent):

- ``asos-tavg`` / ``asos-tmin`` / ``asos-tmax``: ASOS daily mean / minimum /
  maximum, 2020-08-01 .. 12-31 (95 stations; coordinates and heights from the
  registry), every 15th day;
- ``network``: whole-network AWS + ASOS one-minute instants (686-719 stations,
  coordinates in the table), the first snapshot of each event (a night, an
  afternoon, an evening);
- ``aws2000``: AWS daily mean/min/max, Jun-Oct 2000-2001 (~380 stations), a
  4 days spread over the period;
- ``seoul``: Seoul AWS daily mean/min/max 2018-2022 (29 stations), days spread
  over the five years (12 per variable).

Folds: leave-one-out within each field (a day or an instant): a station is
predicted from the other stations *of the same field*; fields are never mixed
(split by event, never at random). Every configuration, kwxmap's and the
peers', is scored on the **same stations** of each field: all of them for
fields of up to 200 stations; on larger fields (network, aws2000) every k-th
station (k chosen for ~12, ``--cap``) plus the islands, because the peers
refit per fold and cost 1-3 s a fold at 700 stations (PyKrige, verde).
kwxmap's configurations are also scored on every station of those fields
(the "ALL stations" table). A configuration that returns no value for a
station is shown by its ``cover`` (the share of scored stations it
predicted); RMSEs are then over the stations every configuration predicted,
never silently fewer.

Development and held-out halves: fields on odd days of the month (and the
network events 2, 4, 6) were used while developing; the tables report the
other half (``--half dev`` shows the development half).

Configurations (kwxmap: :func:`kwxmap.interpolate.cv.loo_weights`, closed-form
LOO, the kriging variogram and the inversion hinge estimated once per field;
**on fields of up to 150 stations the kriging rows and ``auto`` come from
``kwxmap.cross_validate`` itself, which refits the variogram (and, for
``auto``, chooses the method again) without each station**: out of sample
exactly, as the library reports them):

- ``nearest``; ``idw+lapse``; ``spline+lapse`` (the default before this
  benchmark: smoothed thin-plate spline on values reduced with 6.5 K/km);
  ``kriging+lapse``; ``kriging+KED(z)`` (elevation as external drift);
- ``kriging+KED(pred)`` (**the library default**, ``method="kriging"``,
  ``elevation="predictors"``) and ``spline+pred``: the library's
  ``elevation="predictors"`` drift columns (elevation, coast proximity,
  terrain position; elevation alone under 60 stations);
  ``kriging+KED(pred+hinge)`` adds the inversion hinge when the profile
  plainly bends (:func:`kwxmap.predictors.fit_inversion_height`; where a
  small field bends, this row stays in closed form, the hinge and variogram
  fitted once: optimistic there);
- ``auto``: ``method="auto"`` picks, per snapshot, the candidate among
  kriging+lapse, KED(z), KED(pred) and spline+pred with the lowest LOO
  error; scored honestly: nested up to 150 stations, above that each station
  is predicted by the candidate that wins on the *other* stations;
- peers composed by hand, refitted in every fold: PyKrige
  ``OrdinaryKriging`` (default linear variogram, automatic fit) without
  elevation (out of the box) and with the values reduced by 6.5 K/km and
  restored at the held-out station (like for like); MetPy
  ``inverse_distance_to_points(kind="barnes")`` with MetPy's
  ``interpolate_to_grid`` defaults (kappa from the mean spacing, gamma 0.25,
  search radius 5 x spacing, min_neighbors 3) plus 6.5 K/km; verde
  ``Spline()`` with its defaults plus 6.5 K/km.

Usage::

    python benchmarks/bench_skill.py            # held-out half (~8 min on 2 cores)
    python benchmarks/bench_skill.py --half dev
    python benchmarks/bench_skill.py --quick    # fewer fields (2 ASOS days a variable)
    python benchmarks/bench_skill.py --half dev --no-peers --explored  # what was tried and not kept
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

import kwxmap
from kwxmap.interpolate import METHODS
from kwxmap.interpolate.cv import NESTED_MAX_STATIONS, honest_choice, loo_weights
from kwxmap.interpolate.elevation import ElevationModel
from kwxmap.predictors import Predictors, coast_distance_km, fit_inversion_height

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the repository root (as CI lays it out); KWXMAP_SHARED overrides it
OBS = Path(os.environ.get("KWXMAP_SHARED", ROOT.parent / "shared")) / "reference" / "obs"
ISLANDS = {102: "백령도", 115: "울릉도", 169: "흑산도", 303: "가거도"}
RATE = 6.5  # K/km

TO_M = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)
VARS = {"tavg": "temp_c", "tmin": "tmin_c", "tmax": "tmax_c"}


# -- fields ---------------------------------------------------------------------------
def _half(day: str) -> str:
    return "dev" if int(day[8:10]) % 2 else "held"


def _spread(items: list, count: int) -> list:
    if count >= len(items):
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def fields(quick: bool):
    """Yield ``(kind, field_id, half, frame)``; frame has station_id, lon, lat, z, value."""
    reg = kwxmap.load_stations().to_geodataframe()
    reg = pd.DataFrame(
        {
            "station_id": reg["station_id"],
            "lon": reg.geometry.x,
            "lat": reg.geometry.y,
            "z": reg["elevation_m"],
        }
    )
    asos = pd.read_csv(OBS / "kma_asos_daily_2020.csv")
    days = sorted(asos["time"].unique())[:: 30 if quick else 15]
    for var, col in VARS.items():
        for day in days:
            d = asos[asos["time"] == day][["stn_id", col]].rename(
                columns={"stn_id": "station_id", col: "value"}
            )
            yield f"asos-{var}", day, _half(day), reg.merge(d, on="station_id")

    snap = pd.read_csv(OBS / "kma_aws_snapshots.csv")
    first = snap.groupby("snapshot_id")["time"].first().sort_values()
    events: list[str] = []
    last = None
    for sid, t in first.items():
        stamp = pd.Timestamp(t)
        if last is None or stamp - last > pd.Timedelta(hours=3):
            events.append(sid)
        last = stamp
    for i, sid in enumerate(events[: 4 if quick else None]):
        d = snap[snap["snapshot_id"] == sid]
        frame = pd.DataFrame(
            {
                "station_id": d["stn_id"],
                "lon": d["lon"],
                "lat": d["lat"],
                "z": d["elev_m"],
                "value": d["temp_c"],
            }
        )
        yield "network", first[sid], "dev" if i % 2 else "held", frame

    for name, kind, count in (
        ("kma_aws_daily_2000_2001_jun_oct.csv", "aws2000", 2 if quick else 4),
        ("kma_aws_daily_seoul_2018_2022.csv", "seoul", 6 if quick else 12),
    ):
        tab = pd.read_csv(OBS / name)
        all_days = sorted(tab["time"].unique())
        for var, col in VARS.items():
            # `count` days per variable and half, spread over the period; tmin one day later
            picked = [
                day
                for half in ("dev", "held")
                for day in _spread(
                    [d for d in all_days[var == "tmin" :] if _half(d) == half], count // 2
                )
            ]
            for day in picked:
                d = tab[tab["time"] == day]
                ok = (
                    d[f"qc_{col.split('_')[0]}"].eq("ok")
                    if f"qc_{col.split('_')[0]}" in d
                    else True
                )
                d = d[ok]
                frame = pd.DataFrame(
                    {
                        "station_id": d["stn_id"],
                        "lon": d["lon"],
                        "lat": d["lat"],
                        "z": d["elev_m"],
                        "value": d[col],
                    }
                )
                yield f"{kind}-{var}", day, _half(day), frame


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Finite rows, one station per location (first kept), inside the predictor rasters."""
    f = frame.dropna(subset=["lon", "lat", "z", "value"])
    f = f[(f["value"] > -50) & f["lon"].between(124, 132) & f["lat"].between(33, 39)]
    f = f.drop_duplicates("station_id")
    f = f.assign(rx=f["lon"].round(4), ry=f["lat"].round(4)).drop_duplicates(["rx", "ry"])
    return f.drop(columns=["rx", "ry"]).reset_index(drop=True)


# -- kwxmap configurations ---------------------------------------------------------------
def _loo(method, xy, v, *, drift=None, **params):
    w = loo_weights(METHODS[method](**params), xy, v, drift=drift)
    return np.asarray(w @ v).reshape(-1), w


def _lapse(method, xy, v, z, **params):
    r = RATE * z / 1000.0
    pred, _ = _loo(method, xy, v + r, **params)
    return pred - r


#: The library default's candidates (``kwxmap.interpolate.cv.AUTO_PREDICTORS``), as rows here.
AUTO = ("kriging+lapse", "kriging+KED(z)", "kriging+KED(pred)", "spline+pred")
#: The library default (kwxmap.options.DEFAULT_METHOD, elevation "predictors"), and "auto".
DEFAULT = "kriging+KED(pred)"
AUTO_ROW = "auto"
FORMER_DEFAULT = "spline+lapse"
#: Configurations whose fit depends on the stations (the kriging variogram, auto's choice),
#: scored up to NESTED_MAX_STATIONS stations with the library's own nested leave-one-out
#: (refitted / chosen again without each station), as kwxmap.cross_validate reports them.
NESTED = {"kriging+lapse": ("kriging", "lapse"), "kriging+KED(z)": ("kriging", "drift"),
          "kriging+KED(pred)": ("kriging", "predictors"), AUTO_ROW: ("auto", "predictors")}


def explored(xy, v, z, base):
    """Configurations tried on the development half and not kept (``--explored``)."""
    dkm = coast_distance_km(xy) if base.shape[1] > 1 else None
    out = {"KED(z) k=40": _loo("kriging", xy, v, drift=z[:, None] / 1000.0, neighbors=40)[0],
           "KED(pred) k=40": _loo("kriging", xy, v, drift=base, neighbors=40)[0]}
    if dkm is not None:  # continentality, a wider coast, a lapse rate varying in space
        extra = {"cont": np.minimum(dkm, 100.0) / 100.0, "coast50": np.exp(-dkm / 50.0)}
        zk = z / 1000.0
        extra["exy"] = np.column_stack([zk * (xy[:, 0] - 1e6) / 1e6, zk * (xy[:, 1] - 1.8e6) / 1e6])
        for name, col in extra.items():
            out[f"KED(pred+{name})"] = _loo("kriging", xy, v, drift=np.column_stack([base, col]))[0]
    return out


def networks(ids: np.ndarray) -> np.ndarray | None:
    """True at ASOS stations by the registry, or None when a station is not in it."""
    import kwxmap

    reg = kwxmap.load_stations()
    if not all(int(i) in reg for i in ids):
        return None
    return np.array([reg.get(int(i)).network == "ASOS" for i in ids])


def kwxmap_configs(xy, v, z, explore=False, asos=None):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["nearest"] = _loo("nearest", xy, v)[0]
        out["idw+lapse"] = _lapse("idw", xy, v, z)
        out["spline+lapse"] = _lapse("spline", xy, v, z)
        out["kriging+lapse"] = _lapse("kriging", xy, v, z)
        out["kriging+KED(z)"] = _loo("kriging", xy, v, drift=z[:, None] / 1000.0)[0]
        # the library's elevation="predictors" columns, exactly (with the ASOS offset when
        # the field has both networks)
        model = ElevationModel("predictors").for_stations(len(v), 5179, asos=asos)
        drift = model.drift(z, xy, asos)
        out["kriging+KED(pred)"] = _loo("kriging", xy, v, drift=drift)[0]
        out["spline+pred"] = _loo("spline", xy, v, drift=drift)[0]
        # the bending profile: the inversion hinge as one more column when the data show it
        names = ElevationModel("predictors").for_stations(len(v)).columns
        h = fit_inversion_height(xy, z, v, drift[:, 1:])
        if h is not None:
            hinge = Predictors(names, inversion_m=h).matrix(xy, z)
            out["kriging+KED(pred+hinge)"] = _loo("kriging", xy, v, drift=hinge)[0]
        else:
            out["kriging+KED(pred+hinge)"] = out["kriging+KED(pred)"]
        if explore:
            out.update(explored(xy, v, z, drift))
    # the default, method="auto": the map takes the candidate with the lowest LOO error
    # over the snapshot; scored honestly, station i's prediction comes from the candidate
    # chosen on the OTHER stations (kwxmap's own rule, ties to the simpler)
    out[AUTO_ROW] = honest_choice(v, np.array([out[c] for c in AUTO]))
    return out, h


def nested(f: pd.DataFrame, v: np.ndarray, asos=None) -> dict[str, np.ndarray]:
    """The NESTED configurations by kwxmap.cross_validate itself: out of sample exactly."""
    import geopandas as gpd

    import kwxmap

    gdf = gpd.GeoDataFrame({"station_id": f["station_id"].to_numpy(), "temperature_c": v,
                            "elevation_m": f["z"].to_numpy(float)},
                           geometry=gpd.points_from_xy(f["lon"], f["lat"]), crs=4326)
    if asos is not None:
        gdf["network"] = np.where(asos, "ASOS", "AWS")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (method, elevation) in NESTED.items():
            table = kwxmap.cross_validate(gdf, method, elevation=elevation).table
            out[name] = (table.set_index("station_id")["predicted"]
                         .reindex(gdf["station_id"]).to_numpy())
    return out


# -- peers, refitted per fold -----------------------------------------------------------------
def pykrige_loo(xy, v, z, test, lapse):
    from pykrige.ok import OrdinaryKriging

    r = RATE * z / 1000.0 if lapse else np.zeros_like(v)
    u = v + r
    pred = np.full(len(v), np.nan)
    for i in test:
        keep = np.arange(len(v)) != i
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok = OrdinaryKriging(xy[keep, 0], xy[keep, 1], u[keep])
            zhat, _ = ok.execute("points", xy[i : i + 1, 0], xy[i : i + 1, 1])
        pred[i] = float(np.asarray(zhat).ravel()[0]) - r[i]
    return pred


def metpy_barnes_loo(xy, v, z, test):
    from metpy.interpolate import inverse_distance_to_points
    from metpy.interpolate.tools import calc_kappa
    from scipy.spatial import cKDTree

    r = RATE * z / 1000.0
    u = v + r
    pred = np.full(len(v), np.nan)
    for i in test:
        keep = np.arange(len(v)) != i
        pts = xy[keep]
        spacing = float(np.mean(cKDTree(pts).query(pts, k=2)[0][:, 1]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = inverse_distance_to_points(
                pts,
                u[keep],
                xy[i : i + 1],
                5 * spacing,
                gamma=0.25,
                kappa=calc_kappa(spacing),
                min_neighbors=3,
                kind="barnes",
            )
        pred[i] = float(out[0]) - r[i]
    return pred


def verde_loo(xy, v, z, test):
    import verde as vd

    r = RATE * z / 1000.0
    u = v + r
    pred = np.full(len(v), np.nan)
    for i in test:
        keep = np.arange(len(v)) != i
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sp = vd.Spline().fit((xy[keep, 0], xy[keep, 1]), u[keep])
            pred[i] = float(sp.predict((xy[i : i + 1, 0], xy[i : i + 1, 1]))[0]) - r[i]
    return pred


def test_stations(ids: np.ndarray, cap: int) -> np.ndarray:
    n = len(ids)
    if n <= 200:
        return np.arange(n)
    k = math.ceil(n / cap)
    pick = np.zeros(n, dtype=bool)
    pick[::k] = True
    pick |= np.isin(ids, list(ISLANDS))
    return np.flatnonzero(pick)


# -- main -----------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("held", "dev"), default="held")
    ap.add_argument("--quick", action="store_true", help="fewer fields")
    ap.add_argument("--cap", type=int, default=12, help="scored stations on big fields")
    ap.add_argument("--csv", help="write every error to this CSV")
    ap.add_argument("--no-peers", action="store_true", help="kwxmap configurations only")
    ap.add_argument("--kinds", nargs="*", default=(), help="only these kinds (prefixes)")
    ap.add_argument("--explored", action="store_true",
                    help="add the configurations tried and not kept (see explored())")
    args = ap.parse_args(argv)
    if not OBS.is_dir():
        print(f"skipped: {OBS} not found (the shared reference data beside the repo)")
        return 0
    peers = ["PyKrige OK (out of box)", "PyKrige OK+lapse", "MetPy Barnes+lapse"]
    peers.append("verde Spline+lapse")
    if args.no_peers:
        peers = []
    t_all = time.perf_counter()
    rows = []
    notes = []
    for kind, field, half, frame in fields(args.quick):
        if half != args.half or (args.kinds and not kind.startswith(tuple(args.kinds))):
            continue
        f = clean(frame)
        if len(f) < 10:
            continue
        x, y = TO_M.transform(f["lon"].to_numpy(), f["lat"].to_numpy())
        xy = np.column_stack([x, y])
        v = f["value"].to_numpy(float)
        z = f["z"].to_numpy(float)
        ids = f["station_id"].to_numpy()
        test = test_stations(ids, args.cap)
        t0 = time.perf_counter()
        asos = networks(ids)
        preds, hinge = kwxmap_configs(xy, v, z, explore=args.explored, asos=asos)
        if len(v) <= NESTED_MAX_STATIONS:
            preds.update(nested(f, v, asos))
            if hinge is None:  # no bend found: the row is KED(pred), scored the same way
                preds["kriging+KED(pred+hinge)"] = preds["kriging+KED(pred)"]
        t_kw = time.perf_counter() - t0
        if "PyKrige OK (out of box)" in peers:
            preds["PyKrige OK (out of box)"] = pykrige_loo(xy, v, z, test, lapse=False)
            preds["PyKrige OK+lapse"] = pykrige_loo(xy, v, z, test, lapse=True)
            preds["MetPy Barnes+lapse"] = metpy_barnes_loo(xy, v, z, test)
        if "verde Spline+lapse" in peers:
            preds["verde Spline+lapse"] = verde_loo(xy, v, z, test)
        in_test = np.zeros(len(v), dtype=bool)
        in_test[test] = True
        for name, p in preds.items():
            for j in np.flatnonzero(np.isfinite(p) | in_test):
                rows.append((kind, field, name, int(ids[j]), bool(in_test[j]), p[j] - v[j]))
        notes.append((kind, field, len(v), len(test), hinge, time.perf_counter() - t0, t_kw))
        print(
            f"  {kind} {field}: {len(v)} stations, {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    res = pd.DataFrame(rows, columns=["kind", "field", "config", "station_id", "test", "error"])
    if args.csv:
        res.to_csv(args.csv, index=False)
    report(res, notes, peers, args.half, time.perf_counter() - t_all)
    return 0


def _rmse(e: pd.Series) -> float:
    return float(np.sqrt(np.mean(np.square(e))))


def report(res: pd.DataFrame, notes, peers, half, seconds) -> None:
    ours = [c for c in res["config"].unique() if c not in peers]
    configs = ours + peers
    test = res[res["test"]]
    wide = test.set_index(["kind", "field", "station_id", "config"])["error"].unstack("config")
    wide = wide[configs]
    common = wide.notna().all(axis=1)
    cover = wide.notna().groupby(level="kind").mean()
    per_field = wide[common].groupby(level=["kind", "field"]).agg(_rmse)
    per_kind = per_field.groupby(level="kind").mean()
    n_fields = per_field.groupby(level="kind").size()
    n_st = common.groupby(level=["kind", "field"]).sum().groupby(level="kind").agg(["min", "max"])
    note = pd.DataFrame(notes, columns=["kind", "field", "n", "scored", "hinge", "sec", "kw_sec"])
    print(
        f"Leave-one-out RMSE (°C), {half} half, mean over fields per kind; every configuration "
        f"on the same stations of each field ({seconds:.0f} s)"
    )
    table = per_kind.T
    table["overall"] = table.mean(axis=1)
    with pd.option_context("display.width", 250, "display.float_format", "{:.3f}".format):
        print(table.to_string())
        print()
        info = pd.DataFrame(
            {
                "fields": n_fields,
                "stations": note.groupby("kind")["n"].agg(lambda s: f"{s.min()}-{s.max()}"),
                "scored": n_st.apply(lambda r: f"{r['min']}-{r['max']}", axis=1),
                "inversion": note.groupby("kind")["hinge"].apply(lambda s: int(s.notna().sum())),
                "kwxmap s/field": note.groupby("kind")["kw_sec"].mean(),
            }
        )
        print(info.to_string())
        low = cover[cover.lt(1.0).any(axis=1)] if len(cover) else cover
        bad = {c: float(cover[c].min()) for c in configs if cover[c].min() < 1.0}
        print(
            "coverage (share of scored stations predicted): 1.000 for every configuration"
            if not bad
            else "coverage below 1 (RMSE over the stations all predicted): "
            + ", ".join(f"{c} {v:.3f}" for c, v in bad.items())
        )
        del low
        # kwxmap configurations on every station of every field
        allst = res[res["config"].isin(ours)]
        full = allst.groupby(["kind", "field", "config"])["error"].agg(_rmse)
        full = full.groupby(["kind", "config"]).mean().unstack("kind")
        full["overall"] = full.mean(axis=1)
        print()
        print("kwxmap configurations on ALL stations of every field (islands included):")
        print(full.to_string())
        print()
        net = allst[allst["kind"] == "network"]
        if len(net):
            print("network instants, ALL stations, per field (hinge = inversion height found):")
            per = net.groupby(["field", "config"])["error"].agg(_rmse).unstack("config")
            per["hinge_m"] = note[note["kind"] == "network"].set_index("field")["hinge"]
            print(per.to_string())
            print()
        isl = res[res["station_id"].isin(list(ISLANDS)) & res["config"].isin(ours + peers)]
        if len(isl):
            print("islands: mean error (°C, predicted - observed) and RMSE over all their fields")
            agg = isl.groupby(["station_id", "config"])["error"].agg(["mean", _rmse, "size"])
            agg = agg.rename(columns={"_rmse": "rmse", "size": "n"}).reset_index()
            agg["island"] = agg["station_id"].map(ISLANDS)
            wide_i = agg.pivot_table(index="config", columns="island", values="rmse")
            print(wide_i.reindex(configs).to_string())
            print()
    for name, tab in (("scored stations", table), ("ALL stations", full)):
        gain = 1 - tab.loc[DEFAULT, "overall"] / tab.loc[FORMER_DEFAULT, "overall"]
        print(
            f"{name}: default {DEFAULT} {tab.loc[DEFAULT, 'overall']:.3f} °C overall, "
            f"{gain:.1%} below the former default {FORMER_DEFAULT} "
            f"({tab.loc[FORMER_DEFAULT, 'overall']:.3f} °C); best kwxmap configuration "
            f"{tab.loc[ours, 'overall'].idxmin()} {tab.loc[ours, 'overall'].min():.3f} °C"
        )
    kinds = table.columns != "overall"
    losses = [
        f"{p} on {k}"
        for p in peers
        for k in table.columns[kinds]
        if not table.loc[DEFAULT, k] < table.loc[p, k]
    ]
    print(
        "the default beats every peer on every kind: "
        + ("yes" if not losses else "no (" + ", ".join(losses) + ")")
    )


if __name__ == "__main__":
    sys.exit(main())
