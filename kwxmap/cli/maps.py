"""The commands that make surfaces: ``map``, ``cv``, ``point``, ``batch`` (pages or ``--zarr``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .._atomic import check_writable, output_folder
from .._extras import require
from ..errors import InputError
from ..io import formula_safe
from ..options import (
    CRS_CHOICES,
)
from .options import (
    _add_fetch_options,
    _add_grid_options,
    _add_read_options,
    _add_surface_options,
    _fetched,
    _map_options,
    _numbers,
    _print,
    _read_input,
    _read_options,
    _say_placed,
    _surface_options,
)


def _add_map(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="readings to an HTML map (parse, join, interpolate, contour, render)",
        description="Make a temperature map from scraped readings.",
    )
    p.add_argument(
        "input", metavar="INPUT", nargs="?",
        help="widget text, HTML, a KMA file or table; '-' for stdin (none with --fetch)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="the map to write: .html (web map) or .png/.svg/.pdf (static picture)",
    )
    _add_surface_options(p)
    _add_grid_options(p)
    _add_read_options(p)
    p.add_argument("--fetch", action="store_true", help="fetch the readings from KMA (see fetch)")
    _add_fetch_options(p, required=False)
    p.add_argument(
        "--geojson-dir",
        metavar="DIR",
        help="also write bands.geojson, isolines.geojson and stations.geojson here "
        "(created if its parent exists)",
    )
    p.add_argument(
        "--geotiff", metavar="FILE", help="also write the grid as a Cloud-Optimized GeoTIFF"
    )
    p.add_argument("--netcdf", metavar="FILE", help="also write the grid as CF-1.8 NetCDF")
    p.add_argument(
        "--cv", action="store_true", help="print the leave-one-out report; errors in tooltips"
    )
    p.set_defaults(run=_run_map)


def _run_map(args: argparse.Namespace) -> int:
    from ..pipeline import snapshot
    from ..static import FORMATS as STATIC_FORMATS
    from ..static import find_cjk_font, render_static, save_figure

    read, surface, style = _read_options(args), _surface_options(args), _map_options(args)
    for path in (args.output, args.geotiff, args.netcdf):  # fail before the work
        if path is not None:
            check_writable(path)
    if args.geojson_dir is not None:
        output_folder(args.geojson_dir, create=False)
    if args.fetch == (args.input is not None):
        raise InputError("give an INPUT file or --fetch --time TIME, not both or neither")
    static = Path(args.output).suffix.lower() in STATIC_FORMATS
    if static:
        find_cjk_font()  # no matplotlib or no Korean font: say so before writing anything
    registry = None
    if args.fetch:
        source, read, registry = _fetched(args, read)
    else:
        source = _read_input(args.input)
    snap = snapshot(source, read=read, surface=surface, style=style, cv=args.cv,
                    registry=registry)
    figure = None
    if static:
        figure = render_static(
            snap.stations,
            snap.bands,
            snap.lines,
            title=snap.heading[0],
            time=snap.heading[1],
            **style.look,
        )
    written = snap.write(
        html=None if static else args.output,
        layers=args.geojson_dir,
        geotiff=args.geotiff,
        netcdf=args.netcdf,
    )
    if figure is not None:
        written.append(save_figure(figure, args.output))
    if snap.cv is not None:
        print(snap.cv.to_text(), file=sys.stderr)
    report = snap.report
    summary = [report.summary() if report is not None else f"{len(snap.stations)} stations"]
    summary.append(f"method {snap.options['method']}")
    if snap.cv is not None:
        summary.append(f"LOO RMSE {snap.cv.rmse:.2f} °C")
    summary.append("wrote " + ", ".join(str(p) for p in written))
    print("; ".join(summary), file=sys.stderr)
    return 0


def _add_cv(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cv",
        help="cross-validate an interpolation method on readings",
        description="Leave-one-out (or k-fold / spatial-block) cross-validation.",
    )
    p.add_argument("input", metavar="INPUT", help="widget text, HTML or table; '-' for stdin")
    _add_surface_options(p)
    _add_read_options(p)
    p.add_argument(
        "--folds", default="loo", help="'loo' (default), a number k, or 'block' (spatial blocks)"
    )
    p.add_argument(
        "--format", choices=["text", "json"], default="text",
        help="report as text (default) or JSON",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (default stdout)")
    p.set_defaults(run=_run_cv)


def _run_cv(args: argparse.Namespace) -> int:
    from ..interpolate import cross_validate
    from ..io import write_text
    from ..pipeline import load_joined

    read, surface = _read_options(args), _surface_options(args)
    if args.output is not None:
        check_writable(args.output)
    folds: str | int = int(args.folds) if args.folds.isdecimal() else args.folds
    stations = load_joined(_read_input(args.input), read, one_time=True)
    report = cross_validate(
        stations, method=surface.method, elevation=surface.elevation, folds=folds
    )
    _say_placed(stations)
    text = (
        json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
        if args.format == "json"
        else report.to_text()
    )
    if args.output is None:
        _print(text)
    else:
        write_text(text + "\n", args.output)
    return 0


def _add_point(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "point",
        help="interpolated values at places (farms, schools ...) with their uncertainty",
        description="Print the interpolated temperature at each place and its uncertainty "
        "(the method's leave-one-out RMSE on these readings).",
    )
    p.add_argument("input", metavar="INPUT", help="widget text, HTML or table; '-' for stdin")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--at", action="append", metavar="LAT,LON", help="a place in degrees; repeat for more"
    )
    where.add_argument("--at-file", metavar="CSV", help="a CSV of places with lat,lon columns")
    p.add_argument(
        "--holdout",
        action="store_true",
        help="leave out the stations at each place (checks the map where there is a station)",
    )
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    _add_surface_options(p)
    p.add_argument(
        "--crs", type=int, choices=CRS_CHOICES, default=5179, help="working CRS (default 5179)"
    )
    _add_read_options(p)
    p.set_defaults(run=_run_point)


def _places(args: argparse.Namespace) -> object:
    import pandas as pd

    from ..pipeline import load_points

    if args.at_file is not None:
        return load_points(args.at_file)
    rows = []
    for text in args.at:
        lat, lon = _numbers("--at", text, 2, "LAT,LON in degrees, e.g. 36.64,127.44")
        if abs(lat) > 90:
            raise InputError(f"--at {text!r}: latitude {lat:g} is not a latitude; give LAT,LON")
        rows.append({"lat": lat, "lon": lon})
    return pd.DataFrame(rows)


def _run_point(args: argparse.Namespace) -> int:
    from ..pipeline import point_values

    table = point_values(
        _read_input(args.input),
        _places(args),
        read=_read_options(args),
        surface=_surface_options(args),
        holdout=args.holdout,
    )
    _say_placed(table)
    if args.format == "json":
        _print(table.to_json(orient="records", force_ascii=False, indent=1))
    else:
        _print(formula_safe(table).to_csv(index=False, float_format="%.2f", lineterminator="\n"),
               end="")
    return 0


def _add_batch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="one map per timestamp of a table, plus an index page",
        description="Render every timestamp of a table (KMA portal CSV, or "
        "time,station_id,temperature_c) with weights computed once.",
    )
    p.add_argument("table", metavar="TABLE", help="a table with a time column; '-' for stdin")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUTDIR",
        help="output folder (created if its parent exists)",
    )
    _add_surface_options(p)
    _add_grid_options(p)
    _add_read_options(p, one_time=False)
    p.add_argument("--animate", action="store_true", help="one HTML with a time slider")
    p.add_argument(
        "--netcdf",
        nargs="?",
        const=True,
        default=False,
        metavar="FILE",
        help="also write the grids as CF-1.8 NetCDF: FILE, or grids.nc in OUTDIR (needs xarray)",
    )
    p.add_argument(
        "--zarr",
        metavar="DIR",
        help="also write the grids as a CF-1.8 Zarr store (needs kwxmap[zarr])",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: on when stderr is a terminal)",
    )
    _add_stream_options(p)
    p.set_defaults(run=_run_batch)


def _add_stream_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("years of hourly grids (kwxmap[scale])")
    g.add_argument(
        "--html",
        action="store_true",
        help="with --zarr: also render the maps (in memory); without --html or --animate, "
        "--zarr streams a time-sorted time,station_id,temperature_c CSV chunk by chunk and "
        "writes grids and NAME.summary.csv only",
    )
    g.add_argument("--chunk-hours", type=int, metavar="N", help="timestamps per chunk")
    g.add_argument(
        "--scheduler",
        metavar="WHERE",
        help="'local', 'local:N' (N worker processes) or tcp://HOST:PORT (a dask cluster)",
    )
    g.add_argument("--resume", action="store_true", help="continue an interrupted --zarr run")
    g.add_argument("--cv", action="store_true", help="leave-one-out RMSE per time (streaming)")


def _run_batch(args: argparse.Namespace) -> int:
    from ..series import render_batch

    if args.zarr is not None and not (args.html or args.animate):
        return _run_stream(args)
    result = render_batch(
        _read_input(args.table),
        args.output,
        read=_read_options(args),
        surface=_surface_options(args),
        style=_map_options(args),
        animate=args.animate,
        netcdf=args.netcdf,
        zarr=args.zarr or False,
        progress=sys.stderr.isatty() if args.progress is None else args.progress,
    )
    if not result.maps:
        raise InputError(f"no timestamp could be rendered: {result.summary()}")
    print(result.summary(), file=sys.stderr)
    return 0


def _run_stream(args: argparse.Namespace) -> int:
    from ..stream import stream_batch, write_netcdf_copy

    surface = _surface_options(args)
    folder = Path(args.output)
    netcdf = None
    if args.netcdf:
        netcdf = folder / "grids.nc" if args.netcdf is True else Path(args.netcdf)
        if args.netcdf is True:
            output_folder(folder, create=False)
        else:
            check_writable(netcdf)
    if netcdf is not None:  # before the work: the copy comes last
        require("h5netcdf", extra="xarray", what="the NetCDF copy (--netcdf)")
    read = _read_options(args)
    result = stream_batch(
        args.table,
        args.zarr,
        input_format=read.input_format,
        variable=read.variable,
        method=surface.method,
        elevation=surface.elevation,
        resolution=surface.resolution,
        region=surface.region,
        crs=surface.crs,
        dem=surface.dem,
        chunk_hours=args.chunk_hours,
        max_memory=surface.max_memory,
        scheduler=args.scheduler,
        resume=args.resume,
        cv=args.cv,
        progress=args.progress,
    )
    if netcdf is not None:
        if args.netcdf is True:
            output_folder(folder)
        write_netcdf_copy(args.zarr, netcdf)
    print(result.summary_line(), file=sys.stderr)
    return 1 if result.failed else 0
