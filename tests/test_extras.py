"""Outputs that need an extra, asked for without it: one line naming the extra, nothing written.

Each case runs the real command in a fresh interpreter in which the extra's
module cannot be imported (``sys.modules[name] = None``: what Python does
for a package that is not installed), as after ``pip install kwxmap``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"
RUN = "import sys; sys.modules[sys.argv[1]] = None; from kwxmap.cli import main; " \
      "sys.exit(main(sys.argv[2:]))"
FAST = ["--resolution", "40000", "--method", "idw"]


def _daily(tmp_path: Path) -> Path:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "in" / "daily.csv"
    path.parent.mkdir()
    keep = [ln for ln in lines[1:] if ",2020-08-0" in ln and ln.split(",")[2] < "2020-08-04"]
    path.write_text(lines[0] + "\n" + "\n".join(keep) + "\n", encoding="utf-8")
    return path


CASES = [
    ("xarray", "map", ["--netcdf", "{out}/m.nc"], "xarray"),
    ("h5netcdf", "map", ["--netcdf", "{out}/m.nc"], "xarray"),
    ("rasterio", "map", ["--geotiff", "{out}/m.tif"], "raster"),
    ("h5netcdf", "batch", ["--netcdf"], "xarray"),
    ("zarr", "batch", ["--zarr", "{out}/s.zarr"], "scale"),
    ("dask", "batch", ["--zarr", "{out}/s.zarr"], "scale"),
    ("h5netcdf", "batch", ["--zarr", "{out}/s.zarr", "--netcdf"], "xarray"),
    ("matplotlib", "map", [], "static"),
]


@pytest.mark.parametrize("module, command, extra_args, extra", CASES)
def test_a_missing_extra_is_one_line_naming_it(tmp_path, module, command, extra_args, extra):
    daily = _daily(tmp_path)
    out = tmp_path / "out"
    if command == "map":
        target = ["--time", "2020-08-02", "-o",
                  str(out / ("m.png" if module == "matplotlib" else "m.html"))]
    else:
        target = ["-o", str(out)]
    out.mkdir()
    args = [command, str(daily), *target, *FAST, *(a.format(out=out) for a in extra_args)]
    proc = subprocess.run([sys.executable, "-c", RUN, module, *args], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("kwxmap: error: ") and f"needs {module};" in lines[0]
    assert f'pip install "kwxmap[{extra}]"' in lines[0]
    assert list(out.iterdir()) == []  # nothing written
