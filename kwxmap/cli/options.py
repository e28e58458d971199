"""Options the commands share: reading, surface, grid, map look, fetching; and stdout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError, OutputError
from ..labels import LABELS, LANGS
from ..options import (
    CRS_CHOICES,
    DEFAULT_ELEVATION,
    DEFAULT_METHOD,
    ELEVATIONS,
    ON_DUPLICATE,
    ON_UNKNOWN,
    OUTSIDE,
    TILES,
    MapOptions,
    ReadOptions,
    SurfaceOptions,
    method_choices,
)
from ..palette import DEFAULT_PALETTE, PALETTES
from ..readers import INPUT_FORMATS, VARIABLES


def _err(message: str) -> None:
    print(f"kwxmap: error: {message}", file=sys.stderr)


def _read_input(name: str) -> bytes | Path:
    """Return stdin's bytes for ``-``, else the path after checking it exists."""
    if name == "-":
        return sys.stdin.buffer.read()
    path = Path(name)
    if not path.exists():
        raise InputError(f"input file {name!r} does not exist")
    if path.is_dir():
        raise InputError(f"input {name!r} is a folder; give a file")
    return path


def _add_read_options(p: argparse.ArgumentParser, *, one_time: bool = True) -> None:
    """How to read the input: encoding, stations, time, unknown or repeated stations.

    ``one_time`` adds ``--time`` (not for a batch, which maps every time).
    """
    p.add_argument(
        "--network", choices=["all", "asos", "aws"], default=None,
        help="the stations names and ids resolve to: all (default), asos or aws "
        "(with --fetch: default all for apihub, asos for data-go-kr)",
    )
    if one_time:
        p.add_argument(
            "--time", metavar="TIME",
            help="the time to use from readings of several, in KST (or with Z or an offset), "
            "e.g. 2026-12-01T09:00; with --fetch: the time to fetch",
        )
    p.add_argument(
        "--encoding", metavar="ENC", help="input encoding (default: declared, UTF-8, then CP949)"
    )
    p.add_argument(
        "--on-unknown",
        choices=ON_UNKNOWN,
        default="warn",
        help="station names the registry does not know: fail, warn and leave out (default), "
        "or leave out",
    )
    p.add_argument(
        "--on-duplicate",
        choices=ON_DUPLICATE,
        default="raise",
        help="a station read twice (e.g. a page repeating its widget): fail (default) or "
        "keep the first, last or mean reading",
    )
    p.add_argument("--as-of", metavar="DATE", help="use the station registry of YYYY-MM-DD")
    p.add_argument(
        "--input-format",
        metavar="NAME",
        choices=INPUT_FORMATS,
        help="read the input as this format (default: recognised by content): "
        + ", ".join(INPUT_FORMATS),
    )
    p.add_argument(
        "--variable",
        choices=VARIABLES,
        default="tavg",
        help="temperature of a daily input: mean (default), minimum or maximum",
    )


def _read_options(args: argparse.Namespace) -> ReadOptions:
    """Return the reading options; lenient where the library is strict.

    Malformed lines are warned about and skipped, implausible values blanked
    with a warning.
    """
    return ReadOptions(
        encoding=args.encoding,
        on_unknown=args.on_unknown,
        on_invalid="warn",
        on_implausible="nan",
        on_duplicate=args.on_duplicate,
        as_of=args.as_of,
        input_format=args.input_format,
        variable=args.variable,
        network=args.network or "all",
        time=None if getattr(args, "fetch", False) else getattr(args, "time", None),
    )


def _add_surface_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``map``, ``cv``, ``point`` and ``batch``: how to make the surface."""
    p.add_argument(
        "--method",
        default=DEFAULT_METHOD,
        choices=method_choices(),
        help="interpolation method, the same for every command, or 'auto' to pick per field by "
        f"leave-one-out (default {DEFAULT_METHOD})",
    )
    p.add_argument(
        "--elevation",
        choices=ELEVATIONS,
        default=DEFAULT_ELEVATION,
        help="elevation correction: the best the method takes (predictors for auto, kriging "
        "and spline, else lapse), fixed lapse rate, rate fitted per snapshot, elevation as "
        "drift, elevation + coast + terrain as drift, or none (default "
        f"{DEFAULT_ELEVATION})",
    )
    p.add_argument(
        "--dem",
        metavar="PATH",
        help="a finer DEM GeoTIFF, or copernicus-90 for the Copernicus GLO-90 tiles "
        "(downloaded once into the user cache folder); needs kwxmap[raster]",
    )


def _add_grid_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``map`` and ``batch``: the grid, region, levels and look."""
    p.add_argument(
        "--resolution", type=float, default=1000.0, help="grid cell size in metres (default 1000)"
    )
    p.add_argument(
        "--crs", type=int, choices=CRS_CHOICES, default=5179, help="grid CRS (default 5179)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--region",
        default="south-korea",
        help="south-korea (default) or a province: 충청북도, 충북, Chungcheongbuk-do …",
    )
    where.add_argument("--bbox", metavar="W,S,E,N", help="lon/lat bounding box")
    p.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="most memory the run may use (its peak), e.g. 4GB (default half the RAM); "
        "a batch runs in chunks to fit",
    )
    p.add_argument("--levels", help="isotherm levels: 'a,b,c' or 'start:stop:step' (°C)")
    p.add_argument("--title", help="map title")
    p.add_argument("--tiles", choices=TILES, default="osm", help="base map (default osm)")
    p.add_argument(
        "--palette",
        choices=PALETTES,
        default=DEFAULT_PALETTE,
        help="band colours: fixed by °C, the same on every map (default), or spread over "
        "this map's range",
    )
    p.add_argument("--lang", choices=LANGS, default="ko", help="map interface language (ko)")
    p.add_argument(
        "--labels", choices=LABELS, default="none", help="write station readings on the map"
    )
    p.add_argument(
        "--outside", choices=OUTSIDE, default="dim",
        help="stations beyond --region/--bbox (they still shape the edge): drawn faint "
        "(default), left out, or shown like the others",
    )


def _numbers(option: str, text: str, n: int | None, what: str) -> tuple[float, ...]:
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        parts = ()
    if not parts or (n is not None and len(parts) != n):
        raise InputError(f"{option} must be {what}, got {text!r}")
    return parts


def _surface_options(args: argparse.Namespace) -> SurfaceOptions:
    region: object = getattr(args, "region", "south-korea")
    if getattr(args, "bbox", None) is not None:
        region = _numbers("--bbox", args.bbox, 4, "four numbers W,S,E,N in degrees")
    return SurfaceOptions(
        method=args.method,
        elevation=args.elevation,
        resolution=getattr(args, "resolution", 1000.0),
        region=region,
        crs=getattr(args, "crs", 5179),
        dem=args.dem,
        max_memory=getattr(args, "max_memory", None),
    )


def _map_options(args: argparse.Namespace) -> MapOptions:
    levels: str | tuple[float, ...] | None = args.levels
    if levels is not None and ":" not in levels:
        levels = _numbers("--levels", levels, None, "'a,b,c' or 'start:stop:step' in °C")
    return MapOptions(
        levels=levels,
        title=args.title,
        tiles=args.tiles,
        palette=args.palette,
        lang=args.lang,
        labels=args.labels,
        outside=args.outside,
    )


def _add_fetch_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    """Where and what to fetch: shared by ``fetch`` and ``map --fetch``.

    ``map`` has ``--time`` and ``--network`` among its read options already.
    """
    from ..fetch import KEY_ENV, MAX_BYTES, MAX_SECONDS, NETWORKS, SOURCES

    p.add_argument("--source", choices=list(SOURCES), default="apihub",
                   help="KMA API Hub (default) or 공공데이터포털 data.go.kr (ASOS only)")
    if required:
        p.add_argument("--time", required=True, metavar="TIME",
                       help="observation time in KST, e.g. 2026-12-01T09:00 (the day, with "
                       "--daily)")
        p.add_argument("--network", choices=NETWORKS,
                       help="stations (default: all for apihub, asos for data-go-kr)")
    p.add_argument("--daily", action="store_true", help="daily values (ASOS)")
    p.add_argument("--key", help="API key (default: $" + " / $".join(KEY_ENV.values())
                   + "; a key on the command line shows in the process list)")
    p.add_argument("--base-url", metavar="URL", help="another server (default: KMA's)")
    p.add_argument("--no-cache", action="store_true",
                   help="ask the server even when the reply is cached")
    p.add_argument("--fetch-seconds", type=float, default=MAX_SECONDS, metavar="S",
                   help=f"longest one request may take, all included (default {MAX_SECONDS:g})")
    p.add_argument("--fetch-max-mb", type=float, default=MAX_BYTES / 2**20, metavar="MB",
                   help=f"largest reply accepted, MiB (default {MAX_BYTES // 2**20})")


def _fetched(args: argparse.Namespace, read: ReadOptions) -> tuple[bytes, ReadOptions, Any]:
    """Fetch what the options ask for; return the body, how to read it, and the registry.

    The registry holds ASOS and AWS stations: API Hub replies cover both.
    """
    from dataclasses import replace

    from ..fetch import fetch_readings
    from ..stations import load_stations

    if args.time is None:
        raise InputError("--fetch needs --time TIME, e.g. --time 2026-12-01T09:00")
    got = fetch_readings(
        args.source, time=args.time, network=args.network, daily=args.daily, key=args.key,
        base_url=args.base_url, use_cache=not args.no_cache,
        max_seconds=args.fetch_seconds, max_bytes=int(args.fetch_max_mb * 2**20),
    )
    args.from_cache = got.cache_hits > 0
    print(f"fetched {len(got.body)} bytes from {args.source} ({got.requests} requests, "
          f"{got.cache_hits} from the cache)", file=sys.stderr)
    return (got.body, replace(read, input_format=got.input_format,
                              as_of=read.as_of or args.time[:10]),
            load_stations(args.network or "all"))


def _say_placed(frame: Any) -> None:
    """Print what the join placed (``N of M readings placed``...) to stderr."""
    report = frame.attrs.get("join_report")
    if report is not None:
        print(report.summary(), file=sys.stderr)


def _print(text: str, *, end: str = "\n") -> None:
    try:
        sys.stdout.write(text + end)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:  # a full disk or a closed terminal behind stdout
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None
