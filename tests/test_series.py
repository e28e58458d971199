"""render_batch's own rules by value: the summary line, chunks, frame sizes, progress, refusals.

The held memory is pinned where a number depends on it, so chunk counts are
worked from the documented budget (:mod:`kwxmap.interpolate.memory`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import kwxmap
from kwxmap import series
from kwxmap.errors import InputError
from kwxmap.grid import make_grid
from kwxmap.interpolate import memory
from kwxmap.interpolate.memory import chunk_times
from kwxmap.options import SurfaceOptions
from kwxmap.series import BatchResult

DAILY = Path(__file__).resolve().parents[1] / "examples" / "data" / "kma_asos_daily_2020.csv"
MIB = 2**20


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> Path:
    daily = pd.read_csv(DAILY)
    keep = sorted(daily["time"].unique())[:3]
    table = daily[daily["time"].isin(keep)].rename(
        columns={"stn_id": "station_id", "temp_c": "temperature_c"})
    path = tmp_path_factory.mktemp("days") / "days.csv"
    table[["time", "station_id", "temperature_c"]].to_csv(path, index=False)
    return path


def test_the_summary_line_counts_in_words():
    one = BatchResult(Path("o"), maps=[Path("o/a.html")], seconds=2.0)
    assert one.summary() == "1 map, 0 failed, 2.00 s per map"
    two = BatchResult(Path("o"), maps=[Path("a"), Path("b")], failed=[("t", "why")],
                      seconds=1.0, placed="9 of 9 readings placed", index=Path("o/index.html"),
                      netcdf=Path("o/grids.nc"), zarr=Path("o/g.zarr"))
    assert two.summary() == ("9 of 9 readings placed; 2 maps, 1 failed, 0.50 s per map; "
                             "skipped t: why; index o/index.html; netcdf o/grids.nc; "
                             "zarr o/g.zarr")
    frames = BatchResult(Path("o"), maps=[Path("o/animation.html")], frames=1, seconds=3.0)
    assert frames.summary() == "1 frame, 0 failed, 3.00 s per frame"
    assert BatchResult(Path("o")).summary() == "0 maps, 0 failed"


def test_an_animation_gets_half_the_chunk_a_page_per_map_gets(monkeypatch):
    monkeypatch.setattr(memory, "held_memory", lambda: 150 * MIB)
    surface = SurfaceOptions(method="idw", resolution=5000.0, max_memory=400 * MIB)
    grid = make_grid("south-korea", resolution=5000.0)
    pages = chunk_times(grid, "idw", n_times=10**6, max_memory=400 * MIB)
    frames = chunk_times(grid, "idw", n_times=10**6, max_memory=400 * MIB, share=0.5)
    assert 2 * frames in (pages, pages - 1) and frames > 1
    n = pages  # one chunk of pages; an animation's frames need two or three
    assert series._time_chunks(surface, {}, n, animate=True) == [
        (lo, min(lo + frames, n)) for lo in range(0, n, frames)]
    assert series._time_chunks(surface, {}, n, animate=False) == [(0, n)]


def test_a_frame_is_counted_by_its_coordinates():
    bands = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])
    lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1), (2, 0)])])
    assert series._frame_bytes(bands, lines) == (10 + 3) * 16 * 3
    assert series._frame_bytes(None, bands.iloc[:0], lines) == 3 * 16 * 3


def test_progress_is_printed_only_when_asked(days, tmp_path, capsys):
    kwxmap.render_batch(days, tmp_path / "quiet", method="idw", resolution=40000, tiles=None)
    assert capsys.readouterr().err == ""
    kwxmap.render_batch(days, tmp_path / "loud", method="idw", resolution=40000, tiles=None,
                        progress=True)
    err = capsys.readouterr().err
    stamps = sorted(pd.read_csv(days)["time"].unique())
    assert err.split("\r")[1:] == [f"[{i + 1}/3] {day} 00:00" for i, day in enumerate(stamps)
                                   ][:2] + [f"[3/3] {stamps[2]} 00:00\n"]


def test_grids_files_need_one_chunk_and_their_extra(days, tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "held_memory", lambda: 150 * MIB)
    grid = make_grid("south-korea", resolution=5000.0)
    # a limit that leaves room for exactly two timestamps per chunk: two chunks for three
    per_time = memory.BYTES_PER_CELL_TIME * grid.mask.size
    need = (150 * MIB + memory.estimate_memory(grid, "idw")
            + memory.DRAW_BYTES_PER_BOX_CELL * grid.mask.size + 2 * per_time)
    kw = dict(method="idw", resolution=5000.0, tiles=None, max_memory=need)
    assert series._time_chunks(SurfaceOptions(method="idw", resolution=5000.0,
                                              max_memory=need), {}, 3, animate=False) == [
        (0, 2), (2, 3)]
    for extra in ({"netcdf": True}, {"zarr": True}):
        with pytest.raises(InputError, match=r"the grids of all 3 timestamps do not fit"):
            kwxmap.render_batch(days, tmp_path / "out", **kw, **extra)
    assert not (tmp_path / "out").exists()
    result = kwxmap.render_batch(days, tmp_path / "out", **kw)  # pages alone: in two chunks
    assert len(result.maps) == 3 and result.grid is None
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(ImportError, match=r'pip install "kwxmap\[xarray\]"'):
        kwxmap.render_batch(days, tmp_path / "z", method="idw", resolution=40000, tiles=None,
                            zarr=True)
    assert not (tmp_path / "z").exists()
    # the missing extra is said before any work: before the table is even read
    with pytest.raises(ImportError, match=r'pip install "kwxmap\[xarray\]"'):
        kwxmap.render_batch(tmp_path / "no-such-table.csv", tmp_path / "z", zarr=True)


def test_an_animation_is_refused_when_its_frames_outgrow_what_the_grids_leave(
        days, tmp_path, monkeypatch):
    """The frames may hold the limit less the held memory and the grids' estimate."""
    held = 150 * MIB
    monkeypatch.setattr(memory, "held_memory", lambda: held)
    monkeypatch.setattr(series, "held_memory", lambda: held)
    grid = make_grid("south-korea", resolution=20000.0)
    grids = memory.estimate_memory(grid, "idw", n_times=3)
    draw = memory.DRAW_BYTES_PER_BOX_CELL * grid.mask.size
    kw = dict(method="idw", resolution=20000.0, tiles=None, animate=True)
    roomy = kwxmap.render_batch(days, tmp_path / "a", **kw,
                                max_memory=held + grids + draw + 64 * MIB)
    assert roomy.frames == 3
    # the frames of three maps at 20 km: tens of kB; a limit 1 kB over the grids' refuses
    with pytest.raises(kwxmap.OutputError, match=r"its frames reached it at frame 1\)"):
        kwxmap.render_batch(days, tmp_path / "b", **kw, max_memory=held + grids + draw + 1024)
