"""``kwxmap stations``: list and export the registry from the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest

from kwxmap import __version__
from kwxmap.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_table_on_stdout(capsys):
    code, out, err = run(capsys, "stations", "--network", "asos")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "name", "name_en"]
    assert len(lines) == 1 + 105 + 1
    assert lines[-1] == "105 stations, 97 active"
    row = next(line for line in lines if line.split()[0] == "135")
    assert "추풍령" in row and "Chupungnyeong" in row and "충청북도" in row


def test_table_filters(capsys):
    out = run(capsys, "stations", "--active-only")[1]
    assert out.splitlines()[-1] == "743 stations, 743 active"
    out = run(capsys, "stations", "--network", "asos", "--active-only")[1]
    assert out.splitlines()[-1] == "97 stations, 97 active"
    out = run(capsys, "stations", "--network", "all")[1]
    assert out.splitlines()[-1].startswith("788 stations")
    out = run(capsys, "stations", "--as-of", "2016-01-01")[1]
    assert "홍성(예)" in out


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "fgb", "shp", "csv"])
def test_export_each_format(capsys, tmp_path, ext):
    path = tmp_path / f"x.{ext}"
    code, out, err = run(capsys, "stations", "-o", str(path), "--active-only", "--network", "asos")
    assert code == 0 and out == ""
    assert err.strip() == f"wrote 97 stations to {path}"
    assert pyogrio.read_info(path)["features"] == 97
    kwargs = {"X_POSSIBLE_NAMES": "lon", "Y_POSSIBLE_NAMES": "lat"} if ext == "csv" else {}
    names = pyogrio.read_dataframe(path, **kwargs)["name_ko"].tolist()
    assert "추풍령" in names and "홍성" in names and "관악산" not in names


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo not installed")
@pytest.mark.parametrize("ext", ["geojson", "gpkg", "fgb", "shp", "csv"])
def test_ogrinfo_opens_each_export(capsys, tmp_path, ext):
    """The files open in GDAL's own command-line tool, as QGIS would open them."""
    path = tmp_path / f"x.{ext}"
    assert run(capsys, "stations", "-o", str(path), "--active-only", "--network", "asos")[0] == 0
    csv = ["-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat"] if ext == "csv" else []
    proc = subprocess.run(
        ["ogrinfo", "-ro", "-al", *csv, str(path)],
        capture_output=True, text=True, encoding="utf-8", check=True,
    )
    assert "Feature Count: 97" in proc.stdout
    assert "name_ko (String) = 추풍령" in proc.stdout
    assert "name_ko (String) = 홍성" in proc.stdout
    assert "POINT (127.9946 36.2203)" in proc.stdout  # 추풍령, exactly as KMA lists it


def test_export_options(capsys, tmp_path):
    path = tmp_path / "x.dat"
    code, _, _ = run(capsys, "stations", "-o", str(path), "--format", "fgb", "--crs", "5186",
                     "--network", "aws")
    assert code == 0
    info = pyogrio.read_info(path)
    assert info["crs"] == "EPSG:5186" and info["features"] > 600
    path = tmp_path / "all.gpkg"
    assert run(capsys, "stations", "-o", str(path), "--network", "all")[0] == 0
    assert pyogrio.read_info(path)["features"] == 788


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["stations", "-o", "{tmp}/x.txt"], 1, "cannot tell the format of"),
        (["stations", "-o", "{tmp}/x.geojson", "--crs", "5179"], 1, "GeoJSON is written in"),
        (["stations", "-o", "{tmp}/missing/x.gpkg"], 1, "does not exist"),
        (["stations", "--format", "csv"], 2, "--format needs -o FILE"),
        (["stations", "--as-of", "someday"], 2, "--as-of: date 'someday' is not a date"),
        (["stations", "--network", "foo"], 2, "invalid choice: 'foo'"),
        (["stations", "--crs", "3857"], 2, "invalid choice: '3857'"),
        (["stations", "--format", "kml", "-o", "{tmp}/x.kml"], 2, "invalid choice: 'kml'"),
    ],
)
def test_errors_are_one_line_without_traceback(capsys, tmp_path, argv, code, message):
    argv = [a.format(tmp=tmp_path) for a in argv]
    got, out, err = run(capsys, *argv)
    assert got == code and out == ""
    assert message in err and "Traceback" not in err
    if code == 1:
        assert err.count("\n") == 1 and err.startswith("kwxmap: error: ")
    assert list(tmp_path.iterdir()) == []  # nothing written, no debris


def test_help(capsys):
    code, out, _ = run(capsys, "stations", "--help")
    assert code == 0 and "--active-only" in out and "--crs" in out


def test_subprocess(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    path = tmp_path / "s.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "stations", "-o", str(path), "--active-only",
         "--network", "asos"],
        capture_output=True, text=True, encoding="utf-8", env=env, cwd=tmp_path, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert pyogrio.read_info(path)["features"] == 97
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "stations", "-o", str(tmp_path / "x.txt")],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=60,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("kwxmap: error: cannot tell the format")
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"kwxmap {__version__}"


FIXTURES = ROOT / "tests" / "fixtures"


def test_update_merges_a_station_list_into_the_local_registry(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KWXMAP_CACHE_DIR", str(tmp_path))
    code, out, err = run(capsys, "stations", "--update", str(FIXTURES / "stn_inf_aws_utf8.txt"),
                         "--date", "2026-11-20")
    assert code == 0 and out == ""
    local = tmp_path / "stations.geojson"
    assert err == (f"merged {FIXTURES / 'stn_inf_aws_utf8.txt'} into {local}: "
                   "1 new, 1 moved, 1 renamed, 1 unchanged; kwxmap uses it from now on "
                   "(delete it to go back to the bundled registry)\n")
    _, out, err = run(capsys, "stations", "--network", "aws")
    assert err == (f"stations from your local registry {local} (kwxmap stations --update; "
                   "delete it for the bundled one)\n")
    row = next(line for line in out.splitlines() if line.split()[0] == "997")
    assert "가온" in row and "127.5000" in row
    # a file that is not a station list: exit 1, one line, nothing written
    bad = tmp_path / "page.html"
    bad.write_text("<html><title>x</title></html>", encoding="utf-8")
    before = (tmp_path / "stations.geojson").read_bytes()
    code, out, err = run(capsys, "stations", "--update", str(bad))
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"kwxmap: error: {str(bad)!r}: not a KMA station list")
    assert (tmp_path / "stations.geojson").read_bytes() == before


def test_update_as_a_subprocess(tmp_path):
    env = {**os.environ, "KWXMAP_CACHE_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "stations", "--update",
         str(FIXTURES / "portal_meta_cp949.csv")],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert ": 1 new, 1 moved, 0 renamed, 0 unchanged;" in proc.stderr
    assert (tmp_path / "stations.geojson").is_file()
