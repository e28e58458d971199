"""The one-command pipeline: ``kwxmap map``, ``kwxmap cv`` and their failure modes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

import kwxmap
from kwxmap.cli import main

ROOT = Path(__file__).resolve().parents[1]
WIDGET = ROOT / "examples" / "widget.txt"
# Coarse grids keep the suite fast; the bundled example runs at 1 km in the README.
FAST = ["--resolution", "10000", "--tiles", "none"]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_map_writes_html_and_geojson(tmp_path, capsys):
    out = tmp_path / "map.html"
    layers = tmp_path / "layers"
    layers.mkdir()
    code, _, err = run(
        ["map", str(WIDGET), "-o", str(out), "--geojson-dir", str(layers), *FAST],
        capsys,
    )
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "leaflet" in text.lower()
    # the summary line: readings placed, method, files written
    assert err.startswith("26 of 26 readings placed; method ")
    assert "method" in err
    assert str(out) in err
    for name in ("bands.geojson", "isolines.geojson", "stations.geojson"):
        info = pyogrio.read_info(layers / name)
        assert info["features"] > 0, name
    stations = gpd.read_file(layers / "stations.geojson")
    assert len(stations) == 26
    assert set(stations["station_id"]) >= {177, 259, 283, 135, 172}


def test_map_cv_prints_report_and_puts_errors_in_tooltips(tmp_path, capsys):
    out = tmp_path / "map.html"
    code, _, err = run(["map", str(WIDGET), "-o", str(out), "--cv", *FAST], capsys)
    assert code == 0, err
    assert "LOO RMSE" in err
    html = out.read_text(encoding="utf-8")
    assert html.count("교차검증 오차") == 26  # one per station tooltip (Korean by default)


def test_map_region_keeps_bands_inside_province(tmp_path, capsys):
    layers = tmp_path / "layers"
    layers.mkdir()
    out = tmp_path / "chungbuk.html"
    code, _, err = run(
        [
            "map",
            str(WIDGET),
            "-o",
            str(out),
            "--region",
            "충청북도",
            "--geojson-dir",
            str(layers),
            "--resolution",
            "2000",
            "--tiles",
            "none",
        ],
        capsys,
    )
    assert code == 0, err
    bands = gpd.read_file(layers / "bands.geojson").to_crs(5179)
    provinces = kwxmap.load_provinces().to_crs(5179)
    chungbuk = provinces.loc[provinces["name_ko"] == "충청북도"].geometry.iloc[0]
    outside = shapely.difference(shapely.union_all(bands.geometry.values), chungbuk)
    assert outside.area < 1e-6 * chungbuk.area
    covered = shapely.union_all(bands.geometry.values).area / chungbuk.area
    assert covered > 0.98
    # the stations layer shows the stations used, including neighbours outside
    stations = gpd.read_file(layers / "stations.geojson")
    assert {127, 131, 135, 221, 226} <= set(stations["station_id"])  # 충주 청주 추풍령 제천 보은


def test_cv_json(tmp_path, capsys):
    code, out, err = run(["cv", str(WIDGET), "--method", "idw", "--format", "json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["method"] == "idw"
    assert report["n"] == 26
    assert {"rmse", "mae", "bias", "stations"} <= set(report)
    assert len(report["stations"]) == 26
    assert report["rmse"] >= report["mae"] > 0


def test_cv_auto_names_the_method_it_chose(capsys):
    code, out, err = run(["cv", str(WIDGET), "--method", "auto", "--format", "json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    from kwxmap.interpolate import METHODS

    assert report["method"] in METHODS


@pytest.mark.parametrize("folds", ["²", "2x"])
def test_cv_bad_folds_is_one_error_line(folds, capsys):
    code, _, err = run(["cv", str(WIDGET), "--folds", folds], capsys)
    assert code == 1 and "Traceback" not in err
    assert err.startswith("kwxmap: error: folds must be 'loo', 'block' or a number")


# --- every way a user can get it wrong: one line on stderr, exit 1, nothing written ---


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(128, 256)) * 4)
    nobody = tmp_path / "nobody.txt"
    nobody.write_text("• 맑음아틀란티스 20.0℃\n• 흐림엘도라도 21.0℃\n• 비샹그릴라 19.5℃\n", "utf-8")
    two = tmp_path / "two.txt"
    two.write_text("• 맑음서울 20.0℃\n• 맑음부산 22.0℃\n", encoding="utf-8")
    out = str(tmp_path / "map.html")
    return {
        "missing file": (["map", str(tmp_path / "nope.txt"), "-o", out], "does not exist"),
        "empty input": (["map", str(empty), "-o", out], "no readings|empty"),
        "undecodable bytes": (["map", str(garbage), "-o", out], "decode|encoding|no readings"),
        "no known station": (["map", str(nobody), "-o", out], "unknown station|no known"),
        "fewer than 3": (["map", str(two), "-o", out], "3"),
        "unknown region": (
            ["map", str(WIDGET), "-o", out, "--region", "충청북돠"],
            "충청북도|충북",
        ),
        "bad bbox": (["map", str(WIDGET), "-o", out, "--bbox", "1,2,3"], "W,S,E,N"),
        "missing out dir": (
            ["map", str(WIDGET), "-o", str(tmp_path / "no" / "map.html")],
            "does not exist",
        ),
        "missing geojson dir": (
            ["map", str(WIDGET), "-o", out, "--geojson-dir", str(tmp_path / "no" / "nope")],
            r"its parent folder '.*/no' does not exist",
        ),
        "unwritable out dir": (["map", str(WIDGET), "-o", "/proc/kwxmap-map.html", *FAST], "/proc"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "empty input",
        "undecodable bytes",
        "no known station",
        "fewer than 3",
        "unknown region",
        "bad bbox",
        "missing out dir",
        "missing geojson dir",
        "unwritable out dir",
    ],
)
def test_map_errors_are_one_line_exit_1(case, tmp_path, capsys):
    args, pattern = _bad_inputs(tmp_path)[case]
    before = set(tmp_path.rglob("*"))
    code, out, err = run(args, capsys)
    assert code == 1, (case, err)
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if line.startswith("kwxmap: error:")]
    assert len(error_lines) == 1, err
    assert re.search(pattern, error_lines[0], flags=re.IGNORECASE), error_lines[0]
    assert set(tmp_path.rglob("*")) == before, "a failed run left files behind"


def test_failed_run_keeps_previous_map(tmp_path, capsys):
    out = tmp_path / "map.html"
    out.write_text("previous map", encoding="utf-8")
    code, _, _ = run(["map", str(WIDGET), "-o", str(out), "--region", "아틀란티스"], capsys)
    assert code == 1
    assert out.read_text(encoding="utf-8") == "previous map"


def test_usage_error_exit_2(capsys):
    code, _, err = run(["map"], capsys)
    assert code == 2
    assert "usage" in err.lower()


def test_map_from_stdin_as_subprocess(tmp_path):
    out = tmp_path / "map.html"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "map", "-", "-o", str(out), *FAST],
        input=WIDGET.read_bytes(),
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.stat().st_size > 1000
    assert "26 of 26 readings placed" in proc.stderr.decode()


def test_map_on_duplicate_policy_for_a_page_repeating_its_widget(tmp_path, capsys):
    page = tmp_path / "twice.txt"
    page.write_text(WIDGET.read_text(encoding="utf-8") * 2, encoding="utf-8")
    out = tmp_path / "map.html"
    code, _, err = run(["map", str(page), "-o", str(out), *FAST], capsys)
    assert code == 1 and not out.exists()
    # the CLI spelling of the fix, not the Python one
    assert "--on-duplicate first, last or mean" in err and "on_duplicate=" not in err
    layers = tmp_path / "layers"
    layers.mkdir()
    code, _, err = run(
        [
            "map",
            str(page),
            "-o",
            str(out),
            "--on-duplicate",
            "first",
            "--geojson-dir",
            str(layers),
            *FAST,
        ],
        capsys,
    )
    assert code == 0, err
    assert pyogrio.read_info(layers / "stations.geojson")["features"] == 26


# -- the CLI boundary: one accurate line, exit 1, nothing written ---------------------------


def _hot_widget(tmp_path: Path) -> Path:
    """The bundled widget with every reading 200 °C too warm (not °C at all)."""
    text = WIDGET.read_text(encoding="utf-8")
    hot = re.sub(r"(-?\d+(?:\.\d+)?)℃", lambda m: f"{float(m.group(1)) + 200:.1f}℃", text)
    path = tmp_path / "hot.txt"
    path.write_text(hot, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        # a value that is not °C: say so, not "all 26 station values are NaN"
        (["HOT"], r"26 of 26 temperatures are outside -50\.\.50 °C \(e\.g\. 2\d\d"),
        # before any station opened: say so, not 26 unknown names and a late error
        (["--as-of", "1900-01-01", "--network", "asos"],
         r"registry as of '1900-01-01' has no stations \(the first"),
        (["--geojson-dir", "FILE"], r"output folder '.*not-a-folder' is a file, not a folder"),
        # a negative bbox value without '=' reaches the bbox check
        (["--bbox", "-500,30,130,40"], r"region bbox bounds \(-500\.0, 30\.0"),
        (["--encoding", "rot13"], r"encoding 'rot13' is not a text encoding"),
        (["--encoding", "base64"], r"encoding 'base64' is not a text encoding"),
        (["--encoding", "undefined-enc"], r"unknown encoding 'undefined-enc'"),
        (["--max-memory", "lots"], r"memory size 'lots' is not a size"),
        (
            ["--resolution", "1000", "--method", "idw", "--max-memory", "100MB"],
            r"needs about \d+ MiB besides the \d+ MiB the run already holds, more than the "
            r"memory limit of 100 MiB",
        ),
    ],
)
def test_map_errors_are_one_accurate_line(tmp_path, capsys, extra, match):
    out = tmp_path / "map.html"
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("x", encoding="utf-8")
    source = _hot_widget(tmp_path) if extra == ["HOT"] else WIDGET
    extra = [] if extra == ["HOT"] else [str(not_a_folder) if a == "FILE" else a for a in extra]
    code, stdout, err = run(["map", str(source), "-o", str(out), *FAST, *extra], capsys)
    assert code == 1 and stdout == "" and not out.exists()
    assert err.count("\n") == 1 and err.startswith("kwxmap: error: "), err  # no warnings
    assert re.search(match, err), err
    assert "NaN" not in err


def test_memory_budget_depends_on_the_method(tmp_path, capsys):
    """IDW keeps k neighbours per cell; the spline works in chunks and fits the same budget
    (the limit bounds the process: what it holds counts)."""
    from kwxmap.interpolate.memory import estimate_memory, held_memory

    out = tmp_path / "map.html"
    grid = kwxmap.make_grid(resolution=1000)
    idw, spline = estimate_memory(grid, "idw"), estimate_memory(grid, "spline")
    assert idw - spline > 50 * 2**20
    limit = str(held_memory() + (idw + spline) // 2)
    code, _, err = run(
        [
            "map",
            str(WIDGET),
            "-o",
            str(out),
            "--tiles",
            "none",
            "--method",
            "idw",
            "--max-memory",
            limit,
        ],
        capsys,
    )
    assert code == 1 and "'idw'" in err and not out.exists()
    code, _, err = run(
        [
            "map",
            str(WIDGET),
            "-o",
            str(out),
            "--tiles",
            "none",
            "--method",
            "spline",
            "--max-memory",
            limit,
        ],
        capsys,
    )
    assert code == 0, err


def test_parse_into_a_closed_pipe_exits_quietly(tmp_path):
    """`kwxmap parse big.csv | head -1`: no BrokenPipeError traceback."""
    table = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kwxmap", "parse", str(table)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout.readline().startswith(b"station_id,")
    proc.stdout.close()  # the reader goes away, as `head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


@pytest.mark.slow
def test_out_of_memory_is_one_line(tmp_path):
    """A MemoryError (the budget raised past what the process may use) is one line, exit 1."""
    resource = pytest.importorskip("resource")

    def limit():  # 768 MiB of address space: the imports fit, a 100 m national grid does not
        resource.setrlimit(resource.RLIMIT_AS, (768 * 2**20, 768 * 2**20))

    out = tmp_path / "map.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kwxmap",
            "map",
            str(WIDGET),
            "-o",
            str(out),
            "--resolution",
            "100",
            "--method",
            "idw",
            "--max-memory",
            "1TB",
            "--tiles",
            "none",
        ],
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"},
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (
        "kwxmap: error: out of memory; use a coarser --resolution, a smaller --region or "
        "fewer timestamps\n"
    )
    assert not out.exists()


def test_map_look_options_reach_the_page(tmp_path, capsys):
    out = tmp_path / "map.html"
    args = ["map", str(WIDGET), "-o", str(out), "--cv", *FAST]
    code, _, err = run([*args, "--lang", "en", "--palette", "adaptive", "--labels", "values"],
                       capsys)
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert html.count("LOO error") == 26 and "교차검증" not in html
    assert '"values":true' in html
    adaptive = re.findall(r'"c":"(#[0-9a-f]{6})"', html)
    code, _, err = run(args, capsys)  # the default palette: fixed by °C
    assert code == 0, err
    fixed = re.findall(r'"c":"(#[0-9a-f]{6})"', out.read_text(encoding="utf-8"))
    assert len(fixed) == len(adaptive) > 2 and fixed != adaptive


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_map_static_picture_by_suffix(tmp_path, capsys, suffix):
    pytest.importorskip("matplotlib", reason="static pictures need the 'static' extra")
    out = tmp_path / f"map{suffix}"
    args = ["map", str(WIDGET), "-o", str(out), "--title", "오늘의 기온", *FAST]
    code, _, err = run(args, capsys)
    assert code == 0, err
    assert str(out) in err and sorted(p.name for p in tmp_path.iterdir()) == [out.name]
    data = out.read_bytes()
    if suffix == ".svg":
        assert "오늘의 기온" in data.decode("utf-8") and "기온 (°C)" in data.decode("utf-8")
    else:
        assert data.startswith(b"%PDF")


def test_map_bad_look_option_is_a_usage_error(capsys):
    code, _, err = run(["map", str(WIDGET), "-o", "x.html", "--palette", "rainbow"], capsys)
    assert code == 2 and "invalid choice: 'rainbow'" in err


@pytest.mark.parametrize("outside", ["dim", "hide"])
def test_map_outside_marks_or_leaves_out_stations_beyond_the_region(tmp_path, capsys, outside):
    """The stations layer of a 충북 map says which stations lie beyond the province (a
    second computation: distance to the shipped boundary), or holds only the others."""
    from kwxmap.grid import load_provinces

    layers = tmp_path / "layers"
    layers.mkdir()
    code, _, err = run(
        ["map", str(ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"), "--time",
         "2020-08-14", "--region", "충북", "--outside", outside, "-o", str(tmp_path / "m.html"),
         "--geojson-dir", str(layers), *FAST],
        capsys,
    )
    assert code == 0, err
    stations = gpd.read_file(layers / "stations.geojson").to_crs(5179)
    provinces = load_provinces()
    province = provinces[provinces["name_ko"] == "충청북도"].to_crs(5179).union_all()
    near = (stations.distance(province) <= 2000).to_numpy()
    if outside == "dim":
        assert len(stations) > 80 and 3 <= near.sum() <= 10
        assert (stations["outside_region"].astype(bool).to_numpy() == ~near).all()
    else:
        assert near.all() and 3 <= len(stations) <= 10


# --- the commands' own options by value ------------------------------------------------------


def test_cv_json_is_the_reports_dictionary_in_korean_with_two_space_indents(capsys):
    code, out, err = run(["cv", str(WIDGET), "--method", "idw", "--format", "json"], capsys)
    assert code == 0, err
    stations = kwxmap.join_readings(kwxmap.parse_readings(WIDGET.read_bytes()))
    want = kwxmap.cross_validate(stations, method="idw").to_dict()
    assert json.loads(out) == json.loads(json.dumps(want))
    assert out == json.dumps(want, ensure_ascii=False, indent=2) + "\n"


def test_point_needs_a_place_and_works_in_5179_unless_told(capsys):
    code, _, err = run(["point", str(WIDGET)], capsys)
    assert code == 2 and "one of the arguments --at --at-file is required" in err
    at = ["point", str(WIDGET), "--at", "36.6,127.5", "--method", "idw", "--format", "json"]
    code, default, _ = run(at, capsys)
    assert code == 0
    assert run([*at, "--crs", "5179"], capsys)[1] == default
    other = json.loads(run([*at, "--crs", "5186"], capsys)[1])  # other distances, 1e-5 °C
    assert 0 < abs(other[0]["temperature_c"] - json.loads(default)[0]["temperature_c"]) < 1e-4


def test_a_failed_map_leaves_no_layer_folder(tmp_path, capsys):
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("station_id,temperature_c\n400,1.0\n401,2.0\n402,3.0\n", encoding="utf-8")
    layers = tmp_path / "layers"
    code, _, err = run(["map", str(unknown), "-o", str(tmp_path / "m.html"), "--geojson-dir",
                        str(layers), "--network", "asos", *FAST], capsys)
    assert code == 1 and "no known station" in err
    assert list(tmp_path.iterdir()) == [unknown]


def test_a_command_is_required_and_sys_argv_is_read_without_the_program(capsys, monkeypatch):
    code, _, err = run([], capsys)
    assert code == 2 and "the following arguments are required: COMMAND" in err
    monkeypatch.setattr(sys, "argv", ["kwxmap", "--version"])
    assert main() == 0
    assert capsys.readouterr().out == f"kwxmap {kwxmap.__version__}\n"


@pytest.mark.parametrize(("argv", "glued"), [
    (["--bbox", "-5,1,2,3", "x"], ["--bbox=-5,1,2,3", "x"]),
    (["--levels", "-2:2:0.5", "--at", "-.5,1"], ["--levels=-2:2:0.5", "--at=-.5,1"]),
    (["--bbox", "5,1,2,3"], ["--bbox", "5,1,2,3"]),  # not negative: left as it is
    (["map", "--bbox"], ["map", "--bbox"]),  # no value to glue
    (["--title", "-5 degrees"], ["--title", "-5 degrees"]),  # only the signed options
])
def test_negative_values_are_glued_to_their_option(argv, glued):
    from kwxmap.cli import _join_signed

    assert _join_signed(argv) == glued


def test_an_interrupt_is_exit_130_in_one_line(capsys, monkeypatch):
    from kwxmap.cli import maps

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(maps, "_run_cv", interrupted)
    code, _, err = run(["cv", str(WIDGET)], capsys)
    assert (code, err) == (130, "kwxmap: error: interrupted\n")


def test_point_json_keeps_korean_names_as_written_one_space_indented(tmp_path, capsys):
    places = tmp_path / "places.csv"
    places.write_text("name,lat,lon\n서울역,37.5547,126.9706\n", encoding="utf-8")
    code, out, err = run(["point", str(WIDGET), "--at-file", str(places), "--method", "idw",
                          "--format", "json"], capsys)
    assert code == 0, err
    assert out.startswith('[\n {\n  "name":"서울역",\n  "lat":37.5547,')
    assert json.loads(out)[0]["name"] == "서울역"


def test_cv_written_to_a_file_is_what_it_prints(tmp_path, capsys):
    code, printed, _ = run(["cv", str(WIDGET), "--method", "idw"], capsys)
    assert code == 0
    report = tmp_path / "cv.txt"
    code, out, _ = run(["cv", str(WIDGET), "--method", "idw", "-o", str(report)], capsys)
    assert code == 0 and out == ""
    assert report.read_text(encoding="utf-8") == printed


def test_a_zarr_batch_refuses_before_the_work_and_writes_nothing(tmp_path, capsys, monkeypatch):
    table = tmp_path / "t.csv"
    table.write_text("time,station_id,temperature_c\n2024-01-01 01:00,108,1\n"
                     "2024-01-01 00:00,108,2\n", encoding="utf-8")  # not sorted by time
    argv = ["batch", str(table), "-o", str(tmp_path / "o"), "--zarr", str(tmp_path / "t.zarr"),
            "--netcdf"]
    code, _, err = run(argv, capsys)
    assert code == 1 and "sort the table by time" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
    monkeypatch.setitem(sys.modules, "h5netcdf", None)
    code, _, err = run(argv, capsys)
    assert code == 1 and 'pip install "kwxmap[xarray]"' in err and "NetCDF copy" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_a_parse_error_of_a_file_has_no_cache_hint_and_memory_is_one_line(tmp_path, capsys,
                                                                           monkeypatch):
    bad = tmp_path / "bad.txt"
    bad.write_text("nothing here to read\n", encoding="utf-8")
    code, _, err = run(["map", str(bad), "-o", str(tmp_path / "m.html"), *FAST], capsys)
    assert code == 1 and err.startswith("kwxmap: error: ") and "cache" not in err
    from kwxmap.cli import maps

    def out_of_memory(args):
        raise MemoryError

    monkeypatch.setattr(maps, "_run_cv", out_of_memory)
    code, _, err = run(["cv", str(WIDGET)], capsys)
    assert (code, err) == (1, "kwxmap: error: out of memory; use a coarser --resolution, a "
                              "smaller --region or fewer timestamps\n")
