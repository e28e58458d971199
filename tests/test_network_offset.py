"""ASOS and AWS sites read differently: the default models the offset and honours both.

On the whole-network instants ASOS stations read 0.06-0.77 °C warmer than a
surface fitted to all stations predicts (evenings most). With every station's
network known (``join_readings`` gives a ``network`` column), kriging with the
predictors adds a 0/1 ASOS column to its drift (at least 10 stations of each
network): the surface is what an AWS site would read, and each ASOS reading is
honoured at its own site. Here a mixed field on the shipped registry where
ASOS sites read exactly 1 °C warmer than AWS sites of the same place: the
offset is found, out of sample, and every command draws one surface.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kwxmap
from kwxmap.pipeline import point_values

OFFSET_C = 1.0


def _field(n_asos: int, n_aws: int) -> pd.DataFrame:
    reg = kwxmap.load_stations().to_geodataframe()
    reg = reg[reg["active"] & ~reg.geometry.to_wkb().duplicated()].sort_values("station_id")
    asos = reg[reg["network"] == "ASOS"].iloc[::max(1, 95 // n_asos)].head(n_asos)
    aws = reg[reg["network"] == "AWS"].iloc[::max(1, 640 // n_aws)].head(n_aws)
    both = pd.concat([asos, aws])
    lat, lon = both.geometry.y.to_numpy(), both.geometry.x.to_numpy()
    temp = (27 - 1.1 * (lat - 33.5) - 0.0065 * both["elevation_m"].to_numpy()
            + 0.8 * np.sin(2 * lon) + OFFSET_C * (both["network"] == "ASOS").to_numpy())
    return pd.DataFrame({"station_id": both["station_id"].to_numpy(),
                         "temperature_c": temp.round(2)})


@pytest.fixture(scope="module")
def field() -> pd.DataFrame:
    return _field(30, 60)


def _joined(table: pd.DataFrame, network: bool = True):
    joined = kwxmap.join_readings(table)
    return joined if network else joined.drop(columns="network")


def test_the_offset_is_found_out_of_sample(field):
    """Leave-one-out at the ASOS sites: unbiased with the offset, 1 °C too cold without."""
    joined = _joined(field)
    with_net = kwxmap.cross_validate(joined).table
    without = kwxmap.cross_validate(_joined(field, network=False)).table
    is_asos = with_net["station_id"].isin(joined.loc[joined["network"] == "ASOS", "station_id"])
    assert abs(with_net.loc[is_asos, "error"].mean()) < 0.15
    assert without.loc[is_asos.to_numpy(), "error"].mean() < -0.4
    rmse = np.sqrt((with_net["error"] ** 2).mean()), np.sqrt((without["error"] ** 2).mean())
    assert rmse[0] < 0.7 * rmse[1], rmse


def test_cv_still_equals_a_refit_without_each_station(field):
    """A held-out ASOS station is predicted as an ASOS site, exactly as cv does it."""
    joined = _joined(field)
    report = kwxmap.cross_validate(joined)
    places = pd.DataFrame({"lat": joined.geometry.y, "lon": joined.geometry.x,
                           "elevation_m": joined["elevation_m"]})
    held = kwxmap.interpolate(joined, target=places, holdout=True)["temperature_c"]
    want = report.table.set_index("station_id")["predicted"].reindex(joined["station_id"])
    np.testing.assert_allclose(held.to_numpy(), want.to_numpy(), atol=1e-6)


def test_the_surface_reads_aws_sites_and_honours_asos_readings(field):
    """Away from stations the map is what an AWS site would read (the offset is not
    spread over the country); at each ASOS site the band holds its reading."""
    from kwxmap.contours import band_agreement

    snap = kwxmap.snapshot(field, tiles=None, resolution=2_000)
    no_net = kwxmap.snapshot(_joined(field, network=False), tiles=None, resolution=2_000)
    agree = [float((band_agreement(s.stations, s.bands)["off_steps"] <= 0.5).mean())
             for s in (snap, no_net)]
    assert agree[0] >= 0.9 and agree[0] >= agree[1] - 0.03, agree
    far = np.isfinite(snap.grid.values)
    diff = np.nanmean(no_net.grid.values[far] - snap.grid.values[far])
    assert 0.1 < diff < OFFSET_C  # without the column the ASOS warmth leaks into the field


def test_map_batch_zarr_and_point_agree_with_the_offset(tmp_path, field):
    """interpolate, stream_batch and point_values: one surface to 1e-6 °C."""
    import json

    xr = pytest.importorskip("xarray")
    from kwxmap.stream import stream_batch

    table = field.assign(time="2025-08-16 19:00")[["time", "station_id", "temperature_c"]]
    stream_batch(table, tmp_path / "s.zarr", resolution=20_000, region="충북",
                 dtype="float64", progress=False)
    ds = xr.open_zarr(tmp_path / "s.zarr", consolidated=False)
    vg = json.loads(ds.attrs["variogram"])
    model = vg.pop("model")
    joined = kwxmap.join_readings(table)  # sites as of the table's day, as the store has them
    grid = kwxmap.interpolate(joined, resolution=20_000, region="충북",
                              variogram_model=model, variogram_parameters=vg)
    cube = np.asarray(ds["temperature_c"].values)[0][::-1]
    ok = np.isfinite(grid.values)
    np.testing.assert_allclose(cube[ok], grid.values[ok], atol=1e-6, rtol=0)
    xx, yy = np.meshgrid(grid.x, grid.y)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(5179, 4326, always_xy=True).transform(xx[ok], yy[ok])
    pts = point_values(table, pd.DataFrame({"lat": lat, "lon": lon}),
                       variogram_model=model, variogram_parameters=vg)
    np.testing.assert_allclose(pts["temperature_c"].to_numpy(), grid.values[ok], atol=1e-6)
