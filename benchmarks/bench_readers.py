"""Readers against KMA's real files, and linear time on big inputs.

(a) Every raw file in ``../shared/reference/obs/raw/`` that holds
    temperatures is read with no options (format recognised by content) and
    compared, station/time by station/time, with the tidy table of the same
    values (``../shared/reference/obs/README.md``): the nph-aws2_min and
    ``wea`` files with ``kma_aws_snapshots.csv`` (by time), the ``kma_sfcdd``
    rows of 2020 with ``kma_asos_daily_2020.csv``, the portal ``OBS_AWS_DD``
    downloads with ``kma_aws_daily_2000_2001_jun_oct.csv`` or
    ``kma_aws_daily_seoul_2018_2022.csv``. Printed per file: the format
    detected, stations read, readings, missing codes, and mismatches (a
    station/time whose value differs, or that one side has and the other
    lacks, within the times and stations both cover; must be 0).
(b) Linear time: generated portal CSV and aws2_min files of ~5/10/50 MB, a
    1 MB single line, a line of 40,000 spaces and 20 MB HTML pages (a news
    page around one widget, and a worst case with a reading every 100
    bytes), each parsed in a fresh process: seconds, s/MB and peak memory.
(c) Whole-network snapshots (~700 AWS+ASOS stations, with the lon/lat of the
    tidy table) through ``kwxmap map``: stations read and markers on the map.

Usage::

    python benchmarks/bench_readers.py            # both parts
    python benchmarks/bench_readers.py --only a   # real files only
    python benchmarks/bench_readers.py --only p   # placed / readings per raw file
    python benchmarks/bench_readers.py --only b --sizes 5,10
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

ROOT = Path(__file__).resolve().parents[1]


def _shared() -> Path:
    """``../shared`` beside the repo (for a git worktree: beside its main checkout)."""
    here = ROOT.parent / "shared"
    if here.is_dir():
        return here
    common = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    ).stdout.strip()
    return Path(common).parent.parent / "shared" if common else here


SHARED = _shared() / "reference" / "obs"

# raw file pattern -> (tidy table, variable -> tidy column); aws2_min matches by time.
MATCHES = [
    ("*nph-aws2_min_*.txt", "kma_aws_snapshots.csv", {"tavg": "temp_c"}),
    ("*wea_*.csv", "kma_aws_snapshots.csv", {"tavg": "temp_c"}),
    (
        "safari-for-safety_data_raw_weather_weather_2020.csv",
        "kma_asos_daily_2020.csv",
        {"tavg": "temp_c", "tmin": "tmin_c", "tmax": "tmax_c"},
    ),
    (
        "ssujii-heatwave_data_OBS_AWS_DD_*.csv",
        "kma_aws_daily_2000_2001_jun_oct.csv",
        {"tavg": "temp_c", "tmin": "tmin_c", "tmax": "tmax_c"},
    ),
    (
        "younghwan6789-*OBS_AWS_DD_*.csv",
        "kma_aws_daily_seoul_2018_2022.csv",
        {"tavg": "temp_c", "tmin": "tmin_c", "tmax": "tmax_c"},
    ),
]


def _compare(readings: pd.DataFrame, tidy: pd.DataFrame, column: str) -> tuple[int, int]:
    """Mismatched station/times (value or presence) and the number compared."""
    raw = readings.dropna(subset=["temperature_c"])
    raw = raw.set_index(["station_id", "time"])["temperature_c"]
    raw.index = raw.index.set_levels(raw.index.levels[0].astype("int64"), level=0)
    ref = tidy.dropna(subset=[column]).set_index(["stn_id", "time"])[column]
    # the domain both cover: the file's stations and times
    ref = ref[
        ref.index.get_level_values(0).isin(readings["station_id"].astype("int64"))
        & ref.index.get_level_values(1).isin(readings["time"])
    ]
    raw = raw[
        raw.index.get_level_values(0).isin(tidy["stn_id"])
        & raw.index.get_level_values(1).isin(tidy["time"])
    ]
    both = raw.index.intersection(ref.index)
    differ = int((np.abs(raw[both].to_numpy() - ref[both].to_numpy()) > 0.05).sum())
    only = len(raw.index.difference(ref.index)) + len(ref.index.difference(raw.index))
    return differ + only, len(both)


def part_a() -> int:
    from kwxmap import parse_readings

    if not SHARED.is_dir():
        print(f"(a) skipped: {SHARED} is absent (the reference data sits beside the repo)")
        return 0
    tables: dict[str, pd.DataFrame] = {}
    total_bad = 0
    print("(a) raw KMA files read with no options vs the tidy tables")
    print(f"{'file':<62} {'format':<10} {'var':<5} {'stations':>8} {'readings':>9} "
          f"{'missing codes':>13} {'compared':>9} {'mismatches':>10}")
    for pattern, tidy_name, variables in MATCHES:
        if tidy_name not in tables:
            tidy = pd.read_csv(SHARED / tidy_name)
            tidy["time"] = pd.to_datetime(tidy["time"])
            tables[tidy_name] = tidy
        tidy = tables[tidy_name]
        for path in sorted((SHARED / "raw").glob(pattern)):
            for variable, column in variables.items():
                df = parse_readings(path, variable=variable) if variable != "tavg" else (
                    parse_readings(path)
                )
                bad, compared = _compare(df, tidy, column)
                total_bad += bad
                codes = int((df["missing"] == "kma_code").sum())
                note = "" if compared else "  (no station of the file is in the tidy table)"
                print(
                    f"{path.name[:62]:<62} {df.attrs['input_format']:<10} {variable:<5} "
                    f"{df['station_id'].nunique():>8} {len(df):>9} {codes:>13} "
                    f"{compared:>9} {bad:>10}{note}"
                )
    print(f"(a) total mismatches: {total_bad}")
    return total_bad


PLACED_MIN = 0.99  # of the readings that carry a value
SECONDS_PER_4MB = 3.0


def part_p() -> int:
    """Every raw file of readings, read and joined with no options: placed / readings.

    Missing codes and blanks are not readings; a file places at least 99 % of
    the rest, and reads and joins in at most 3 s per 4 MB (3 s for any file up
    to 4 MB), or this part fails.
    """
    import warnings

    from kwxmap import join_readings, parse_readings
    from kwxmap.errors import KwxmapError

    if not SHARED.is_dir():
        print(f"(p) skipped: {SHARED} is absent")
        return 0
    failures = 0
    print("(p) raw KMA files read and joined to the registry with no options")
    print(f"{'file':<62} {'format':<10} {'rows':>7} {'values':>7} {'placed':>7} "
          f"{'placed %':>8} {'s':>6} {'s/4MB':>6}  not placed")
    for path in sorted((SHARED / "raw").iterdir()):
        if path.name == "MANIFEST.csv":
            continue
        t = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                readings = parse_readings(path, on_invalid="warn")
                joined = join_readings(readings, on_unknown="ignore", on_duplicate="first")
        except KwxmapError as exc:
            if "station list" in str(exc):
                continue  # a station list (stn_inf, META): not readings
            print(f"{path.name[:62]:<62} FAILED: {exc}")
            failures += 1
            continue
        seconds = time.perf_counter() - t
        report = joined.attrs["join_report"]
        values = int(readings["temperature_c"].notna().sum())
        share = report.n_placed / values if values else 1.0
        per_4mb = seconds / (path.stat().st_size / 4e6)
        budget = SECONDS_PER_4MB * max(path.stat().st_size / 4e6, 1.0)
        bad = share < PLACED_MIN or seconds > budget
        failures += bad
        lost = {k: v for k, v in report.not_placed.items() if k != "missing value"}
        print(f"{path.name[:62]:<62} {readings.attrs['input_format']:<10} {len(readings):>7} "
              f"{values:>7} {report.n_placed:>7} {100 * share:>7.2f}% {seconds:>6.2f} "
              f"{per_4mb:>6.2f}  {lost or ''}{'  << FAIL' if bad else ''}")
    print(f"(p) files below {PLACED_MIN:.0%} placed or over {SECONDS_PER_4MB:g} s/4MB: "
          f"{failures}")
    return failures


_CHILD = """
import sys, time
from pathlib import Path
from kwxmap import parse_readings
path = Path(sys.argv[1])
t = time.perf_counter()
try:
    n = len(parse_readings(path, on_invalid="ignore"))
except Exception as exc:
    n = f"{type(exc).__name__}: {str(exc)[:70]}"
dt = time.perf_counter() - t
status = Path("/proc/self/status").read_text()
hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
print(dt, int(hwm.split()[1]) / 1024, n)  # VmHWM: this process's peak, reset by exec
"""


def _portal(mb: float) -> str:
    rng = np.random.default_rng(1)
    row_bytes = 40
    n = int(mb * 1e6 / row_bytes)
    stn = rng.integers(90, 999, n)
    temps = np.round(rng.normal(10, 8, n), 1).astype(str)
    temps[rng.random(n) < 0.01] = ""
    times = pd.date_range("2020-01-01", periods=n, freq="min").strftime("%Y-%m-%d %H:%M")
    body = "\n".join(f"{s},관측소,{t},{v}" for s, t, v in zip(stn, times, temps, strict=True))
    return "지점,지점명,일시,기온(°C)\n" + body + "\n"


_AWS2_HEAD = (
    "#START7777\n# YYMMDDHHMI   STN    WD1    WS1    WDS    WSS   WD10   WS10     TA     RE "
    "RN-15m RN-60m RN-12H RN-DAY     HM     PA     PS     TD\n"
)
_AWS2_ROW = (
    "202508092148   {:3d}  211.0    1.5  213.0    1.6  209.4    0.9 {:6.1f}    0.0    0.0"
    "    0.0    0.0    0.0   93.4 1001.2 1003.2   22.5"
)


def _aws2_min(mb: float) -> str:
    rng = np.random.default_rng(2)
    n = int(mb * 1e6 / 130)
    stn = rng.integers(90, 999, n)
    ta = np.round(rng.normal(20, 5, n), 1)
    ta[rng.random(n) < 0.01] = -99.9
    body = "\n".join(_AWS2_ROW.format(s, t) for s, t in zip(stn, ta, strict=True))
    return _AWS2_HEAD + body + "\n#7777END\n"


def _html_dense(mb: float) -> str:
    """Worst case: a reading every 100 bytes, a tag every 11."""
    item = (
        "<li><span>맑음</span><b>서울</b> <em>3.1</em>&#8451;</li>\n"
        "<p>기사 본문 문장이 이어집니다.</p>\n"
    )
    n = int(mb * 1e6 / len(item.encode()))
    return "<html><body><ul>\n" + item * n + "</ul></body></html>\n"


def _html_page(mb: float) -> str:
    """A news page: scripts, navigation and article text around one 95-station widget."""
    script = "<script>var a = {x: [1, 2, 3], y: '<div>'}; function f(){return a.x < 2;}</script>\n"
    prose = (
        '<div class="article"><p>오늘 전국은 대체로 맑겠으나 일부 지역에는 구름이 많겠습니다. '
        '<a href="/news/1234">관련 기사</a> <span class="date">2026.01.15</span></p></div>\n'
    )
    widget = "<ul>" + "".join(f"<li>맑음서울 {i % 30 - 5}.{i % 10}℃</li>" for i in range(95))
    chunk = script + prose * 8
    n = int(mb * 1e6 / len(chunk.encode()))
    return "<html><head><title>뉴스</title></head><body>" + chunk * (n // 2) + widget + (
        "</ul>" + chunk * (n - n // 2) + "</body></html>\n"
    )


def part_b(sizes: list[float]) -> None:
    cases: list[tuple[str, str, str]] = []
    for mb in sizes:
        cases.append((f"portal_tim CSV {mb:g} MB", "csv", _portal(mb)))
        cases.append((f"aws2_min disp=0 {mb:g} MB", "txt", _aws2_min(mb)))
    cases.append(("1 MB single line (x... -)", "txt", "x" * 1_000_000 + " -\n"))
    cases.append(("40,000 spaces between two words", "txt", "서울" + " " * 40_000 + "맑음\n"))
    cases.append(("1 MB line of readings", "txt", "• 맑음서울 3.1℃ " * 55_000 + "\n"))
    cases.append(("20 MB news page (95 readings)", "html", _html_page(20)))
    cases.append(("20 MB dense page (worst case)", "html", _html_dense(20)))
    print("(b) linear time: fresh process per input (peak = VmHWM, ~145 MB of it imports)")
    print(f"{'input':<36} {'MB':>6} {'seconds':>8} {'s/MB':>6} {'peak MB':>8}  result")
    with tempfile.TemporaryDirectory() as tmp:
        for label, ext, text in cases:
            path = Path(tmp) / f"input.{ext}"
            path.write_text(text, encoding="cp949" if ext == "csv" else "utf-8")
            mb = path.stat().st_size / 1e6
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(path)],
                capture_output=True, text=True, check=True, cwd=ROOT,
            ).stdout.split(maxsplit=2)
            dt, peak, result = float(out[0]), float(out[1]), out[2].strip()
            print(f"{label:<36} {mb:>6.1f} {dt:>8.2f} {dt / mb:>6.2f} {peak:>8.0f}  {result}")


def part_c() -> None:
    """A whole-network snapshot (own lon/lat) through `kwxmap map`: every station shown."""
    if not SHARED.is_dir():
        print("(c) skipped: the reference data is absent")
        return
    tidy = pd.read_csv(SHARED / "kma_aws_snapshots.csv")
    print("(c) whole-network snapshots through `kwxmap map` (own lon/lat; 5 km IDW)")
    print(f"{'snapshot':<16} {'stations':>8} {'markers':>8} {'seconds':>8}  report")
    with tempfile.TemporaryDirectory() as tmp:
        for sid in tidy["snapshot_id"].unique()[[0, -1]]:
            one = tidy[tidy["snapshot_id"] == sid]
            csv_path, html_path = Path(tmp) / f"{sid}.csv", Path(tmp) / f"{sid}.html"
            one[["stn_id", "time", "temp_c", "lon", "lat", "elev_m"]].to_csv(csv_path, index=False)
            t = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "kwxmap", "map", str(csv_path), "-o", str(html_path),
                 "--resolution", "5000", "--method", "idw"],
                capture_output=True, text=True, cwd=ROOT, check=True,
            )
            dt = time.perf_counter() - t
            markers = html_path.read_text(encoding="utf-8").count("L.circleMarker(")
            print(f"{sid:<16} {len(one):>8} {markers:>8} {dt:>8.1f}  {proc.stderr.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["a", "p", "b", "c"])
    parser.add_argument("--sizes", default="5,10,50", help="MB of the generated files")
    args = parser.parse_args()
    t = time.perf_counter()
    failed = 0
    if args.only in (None, "a"):
        failed += part_a()
    if args.only in (None, "p"):
        failed += part_p()
    if args.only in (None, "b"):
        part_b([float(s) for s in args.sizes.split(",")])
    if args.only in (None, "c"):
        part_c()
    print(f"total {time.perf_counter() - t:.1f} s")
    if failed:
        raise SystemExit(f"{failed} mismatches or failures against the references")


if __name__ == "__main__":
    main()
