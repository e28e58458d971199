"""Mutation score of the core modules: seed small bugs, see whether the tests notice.

A small AST mutator (mutmut 3 needs its own project layout and copies the
tree; this runs in place of it on a shared 2-core machine): for each mutation
point of a module — an arithmetic or comparison operator swapped, a number
changed, a boolean flipped, ``and``/``or`` swapped, a ``not`` dropped, a
keyword argument's constant changed — the module's source is rewritten with
that one change (``ast.unparse``) and the tests that reach the change run
against it (``pytest -x``, in a forked child that imports the mutant instead
of the file on disk, so nothing in the working tree is touched). A mutant is
*killed* when a test fails, *survives* when all pass, and counts as killed
on a timeout too (an infinite loop is noticed).

Test selection (the approach of mutmut 3): the module's test files run once
under coverage.py, each test in its own dynamic context (its pytest node id),
which maps every line of the module to the tests that execute it, and records
each test's duration. A mutant then runs only the tests that execute a line
of the mutated node (``lineno..end_lineno``), fastest first. A node whose
lines run at import time (module constants, default arguments, decorators,
class bodies) runs the tests that can see it: those that run a line reading a
name its module-level statement binds (in any kwxmap module, following the
module-level names computed from it), those that run the changed function's
body, and those whose test function names it; when that finds nothing, the
module's whole selection. A node that no test executes is a survivor *not
covered*, without running anything. Tests that fail on the unmutated module
are left out (and named). The maps are cached in ``.mutation-cache/``, keyed
by the test files and every kwxmap source (modules with the same test files
share one coverage run).

Mutants listed in :data:`EQUIVALENT` (module, line, description) behave
exactly like the original; each carries its reason and is left out of the
score.

With ``--max-mutants N`` each module runs a seeded sample of N of its
mutation points (all of them when it has fewer), so its score is an
*estimate* from that sample; the output says so, with the sample size.
``--sample MODULE=N`` gives one module another sample size.

After tests are added, ``--keep-kills LOG`` reruns a sample without running
again the mutants an earlier output (LOG, same kwxmap sources and sample)
shows killed: a new test can only kill more, so only the survivors, the not
covered and the newly marked equivalents change. The output says which kills
were kept.

Usage::

    python benchmarks/bench_mutation.py --module variogram --max-mutants 40
    python benchmarks/bench_mutation.py --max-mutants 40   # every module, sampled
    python benchmarks/bench_mutation.py            # every point of every module (hours)
    python benchmarks/bench_mutation.py --max-mutants 30 --keep-kills first.log
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import importlib.abc
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".mutation-cache"

_READER_TESTS = [
    "tests/test_readers_formats.py",
    "tests/test_parse_known.py",
    "tests/test_parse.py",
    "tests/test_station_lists.py",
]
_INTERP_TESTS = ["tests/test_interpolate.py", "tests/test_peers_metpy.py"]

#: module key -> (import name, source file, test files that cover it).
#: tests/test_fuzz.py is left out: it only checks that hostile inputs raise a
#: KwxmapError (no expected values) and takes minutes per run.
MODULES: dict[str, tuple[str, str, list[str]]] = {
    "readers": ("kwxmap.readers", "kwxmap/readers/__init__.py", _READER_TESTS),
    "r._common": ("kwxmap.readers._common", "kwxmap/readers/_common.py", _READER_TESTS),
    "r._source": ("kwxmap.readers._source", "kwxmap/readers/_source.py", _READER_TESTS),
    "r.widget": ("kwxmap.readers.widget", "kwxmap/readers/widget.py", _READER_TESTS),
    "r.table": ("kwxmap.readers.table", "kwxmap/readers/table.py", _READER_TESTS),
    "r.typ01": ("kwxmap.readers.typ01", "kwxmap/readers/typ01.py", _READER_TESTS),
    "r.portal": ("kwxmap.readers.portal", "kwxmap/readers/portal.py", _READER_TESTS),
    "r.datagokr": ("kwxmap.readers.datagokr", "kwxmap/readers/datagokr.py", _READER_TESTS),
    "r.stations": (
        "kwxmap.readers.station_lists",
        "kwxmap/readers/station_lists.py",
        ["tests/test_station_lists.py", "tests/test_readers_formats.py"],
    ),
    "join": (
        "kwxmap.join",
        "kwxmap/join.py",
        ["tests/test_join.py", "tests/test_join_own_place.py", "tests/test_join_cases.py"],
    ),
    "variogram": (
        "kwxmap.interpolate.variogram",
        "kwxmap/interpolate/variogram.py",
        ["tests/test_variogram_known.py", "tests/test_kriging.py"],
    ),
    "kriging": (
        "kwxmap.interpolate.kriging",
        "kwxmap/interpolate/kriging.py",
        ["tests/test_kriging.py", "tests/test_variogram_known.py", "tests/test_cv_known.py"],
    ),
    "spline": (
        "kwxmap.interpolate.spline",
        "kwxmap/interpolate/spline.py",
        _INTERP_TESTS + ["tests/test_cv_known.py"],
    ),
    "barnes": ("kwxmap.interpolate.barnes", "kwxmap/interpolate/barnes.py", _INTERP_TESTS),
    "cv": (
        "kwxmap.interpolate.cv",
        "kwxmap/interpolate/cv.py",
        ["tests/test_cv_known.py", "tests/test_cv.py"],
    ),
    "elevation": (
        "kwxmap.interpolate.elevation",
        "kwxmap/interpolate/elevation.py",
        _INTERP_TESTS + ["tests/test_cv.py", "tests/test_predictors.py"],
    ),
    "contours": ("kwxmap.contours", "kwxmap/contours.py", ["tests/test_contours.py"]),
    "io.vector": ("kwxmap.io.vector", "kwxmap/io/vector.py",
                  ["tests/test_io.py", "tests/test_gis_clients.py"]),
    "io.raster": ("kwxmap.io.raster", "kwxmap/io/raster.py",
                  ["tests/test_io.py", "tests/test_cf_time.py"]),
    "io.sets": ("kwxmap.io.sets", "kwxmap/io/sets.py",
                ["tests/test_io.py", "tests/test_commit.py", "tests/test_output_safety.py"]),
    "commit": ("kwxmap._commit", "kwxmap/_commit.py",
               ["tests/test_commit.py", "tests/test_io.py"]),
    "palette": ("kwxmap.palette", "kwxmap/palette.py",
                ["tests/test_palette.py", "tests/test_render_known.py"]),
    "labels": ("kwxmap.labels", "kwxmap/labels.py",
               ["tests/test_labels.py", "tests/test_render.py", "tests/test_render_known.py",
                "tests/test_static.py"]),
    "scene": ("kwxmap.scene", "kwxmap/scene.py",
              ["tests/test_render.py", "tests/test_render_known.py", "tests/test_static.py"]),
    "render": ("kwxmap.render", "kwxmap/render.py",
               ["tests/test_render.py", "tests/test_render_known.py"]),
    "page_geometry": ("kwxmap.page_geometry", "kwxmap/page_geometry.py",
                      ["tests/test_page_geometry.py", "tests/test_render.py",
                       "tests/test_render_known.py"]),
    "grid": ("kwxmap.grid", "kwxmap/grid.py", ["tests/test_grid.py", "tests/test_io.py"]),
    "regions": ("kwxmap.regions", "kwxmap/regions.py", ["tests/test_grid.py"]),
    "dem": ("kwxmap.dem", "kwxmap/dem.py", ["tests/test_dem.py"]),
    "stations": ("kwxmap.stations", "kwxmap/stations.py",
                 ["tests/test_stations.py", "tests/test_cli_stations.py"]),
    "station": ("kwxmap.station", "kwxmap/station.py",
                ["tests/test_stations.py", "tests/test_join_cases.py",
                 "tests/test_time_and_network.py"]),
    "station_file": ("kwxmap.station_file", "kwxmap/station_file.py",
                     ["tests/test_stations.py", "tests/test_cli_stations.py"]),
    "engine": ("kwxmap.interpolate.engine", "kwxmap/interpolate/engine.py",
               ["tests/test_batch.py", "tests/test_stream.py"]),
    "batch": ("kwxmap.interpolate.batch", "kwxmap/interpolate/batch.py",
              ["tests/test_batch.py"]),
    "memory": ("kwxmap.interpolate.memory", "kwxmap/interpolate/memory.py",
               ["tests/test_memory.py", "tests/test_batch.py", "tests/test_pipeline.py",
                "tests/test_cli_map.py"]),
    "series": ("kwxmap.series", "kwxmap/series.py",
               ["tests/test_series.py", "tests/test_pipeline.py", "tests/test_batch.py"]),
    "pipeline": ("kwxmap.pipeline", "kwxmap/pipeline.py",
                 ["tests/test_pipeline.py", "tests/test_cli_map.py", "tests/test_io.py",
                  "tests/test_point.py", "tests/test_cf_time.py"]),
    "stream": ("kwxmap.stream.batch", "kwxmap/stream/batch.py",
               ["tests/test_stream.py", "tests/test_network_offset.py"]),
    "stream.tasks": ("kwxmap.stream.tasks", "kwxmap/stream/tasks.py", ["tests/test_stream.py"]),
    # the commands run in this process (main) in these files; the tests that run them in a
    # child process cannot see a mutant
    "cli": ("kwxmap.cli", "kwxmap/cli/__init__.py",
            ["tests/test_cli_map.py", "tests/test_cli_stations.py", "tests/test_io.py",
             "tests/test_fetch.py", "tests/test_fetch_hostile.py"]),
    "cli.maps": ("kwxmap.cli.maps", "kwxmap/cli/maps.py",
                 ["tests/test_cli_map.py", "tests/test_point.py", "tests/test_stream.py",
                  "tests/test_io.py", "tests/test_cf_time.py", "tests/test_pipeline.py"]),
}

# each module's own doctests run with its test files, as they do in the suite
MODULES = {key: (name, rel, [*tests, rel]) for key, (name, rel, tests) in MODULES.items()}

_GHOST = (
    "the ghost column/row repeats the edge values: wherever it lies outside the grid "
    "(positive projected coordinates keep it outside), no contour inside the region moves"
)

_SAME_LENGTH = "zip(strict=) over sequences built from one frame: always the same length"
_MEASURED = ("a measured constant moved by one byte per cell, well inside the margin "
             "bench_memory.py --guard checks it with (peaks at 0.56-0.94 of the limit)")
_IN_FLIGHT = ("how many chunks are in flight at once: every chunk is computed and written "
              "the same (test_killed_cluster_batch_resumes_to_the_uninterrupted_output)")
_CACHE_SIZE = ("how many leave-one-out weight matrices stay cached (and which goes first): "
               "a pattern not cached is computed again, the same")
_MASKED = "the value under a null is masked in the layer: no reader ever sees it"
_HEAD_WINDOW = ("how much of the text the header is looked for in: a header line of 64 KiB "
                "is not one either way")
_ONE_CACHED = "the size of a cache of one value: the same value either way"

#: (module key, the mutated line's text (stripped), description) -> why the mutant is
#: equivalent to the original. Keyed by text, not line number, so edits elsewhere in a
#: module do not detach a reason from its line.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("join", "assert r.lon is not None and r.lat is not None", "And -> Or"): "an assert "
    "that holds either way: a reading is placed by its own coordinates only when it has "
    "both lon and lat",
    (
        "variogram",
        "for f in (0.25, 0.5, 1.0)",
        "1.0 -> 2.0",
    ): "a start of the multi-start fit; the best start "
    "reaches the same minimum (test_automatic_fit_reaches_the_minimum_of_cressies_criterion)",
    (
        "variogram",
        "[max(gmax - gam.min(), 1e-3 * gmax), f * max_lag, min(gam.min(), gmax) * 0.5]",
        "0.001 -> 0.002",
    ): "floor of a starting psill, clipped into the bounds; the optimiser moves away from it",
    (
        "variogram",
        "std[~(std > 0)] = np.nan  # constant rows carry no spatial information",
        "Gt -> GtE",
    ): "a constant row has std 0 either way: (z - mean) / 0 is "
    "0/0 = NaN, which the estimator already drops as not finite",
    (
        "variogram",
        "scale0 = max(gmax - gam.min(), 1e-3 * gmax) / max(lags.max(), 1.0) ** e",
        "0.001 -> 0.002",
    ): "floor of a starting scale (power model); the optimiser moves away from it",
    (
        "kriging",
        "alpha = scipy.linalg.lu_solve(self._lu, rhs, check_finite=False)",
        "False -> True",
    ): "lu_solve(check_finite=) only validates: the values "
    "are checked finite just above and a fitted system's LU is finite",
    (
        "kriging",
        "eye = np.eye(self._lu[0].shape[0])",
        "0 -> 1",
    ): "self._lu[0] is the square LU factor: shape[0] == shape[1]",
    (
        "kriging",
        "rhs = np.zeros((self._lu[0].shape[0], t))",
        "0 -> 1",
    ): "self._lu[0] is the square LU factor: shape[0] == shape[1]",
    (
        "variogram",
        "for f in (0.25, 0.5, 1.0)",
        "0.5 -> 1.0",
    ): "the starting nugget of the multi-start fit; the "
    "fits reach the criterion's minimum (test_a_fit_of_an_exact_model_recovers_its_parameters, "
    "test_automatic_fit_reaches_the_minimum_of_cressies_criterion)",
    (
        "kriging",
        'blas_heavy = not self._local and ("var" in want or "weights" in want)',
        "In -> NotIn",
    ): "blas_heavy only sets the chunk size; every chunking gives the same numbers",
    (
        "r._common",
        'values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype="float64", copy=True)',
        "True -> False",
    ): "to_numpy(copy=) of pd.to_numeric's fresh result, "
    "which is only read (np.where makes the returned array)",
    (
        "r._common",
        'usable = stamps.where(stamps.str.fullmatch(_TIMELIKE).fillna(False), "")',
        "False -> True",
    ): "fillna after str.fullmatch on stamps that are all str "
    "(fillna('').astype(str) above): there is no NA to fill",
    (
        "r._common",
        "for i in np.flatnonzero(bad)[:1000]",
        "1000 -> 1001",
    ): "how many invalid rows keep their text: messages quote "
    "the first one and warnings the first 20; the count stays exact (1500 rows: 1500)",
    (
        "r._common",
        "if bad.sum() > len(invalid):  # keep the count right without holding every row",
        "Gt -> GtE",
    ): "when equal, bad.sum() - len(invalid) = 0 placeholders are added",
    (
        "spline",
        "if np.linalg.matrix_rank(poly, tol=1e-9) < m:",
        "1e-09 -> 2e-09",
    ): "rank tolerance on [1, x, y, drift] of centred, "
    "unit-scaled columns: a singular value between 1e-9 and 2e-9 is not a real layout",
    (
        "spline",
        "self.lu_ = scipy.linalg.lu_factor(lhs, check_finite=False)",
        "False -> True",
    ): "lu_factor(check_finite=) only validates; the matrix is "
    "built from checked-finite, scaled coordinates and drift",
    (
        "spline",
        "coef = scipy.linalg.lu_solve(self.lu_, rhs, check_finite=False)",
        "False -> True",
    ): "lu_solve(check_finite=) only validates: finite values "
    "and a factor that passed the LinAlgWarning check",
    (
        "spline",
        "step = max(1, _CHUNK // n)",
        "1 -> 2",
    ): "the chunk of targets per step: every chunking gives the same numbers",
    (
        "spline",
        "eye = np.zeros((self.lu_[0].shape[0], n))",
        "0 -> 1",
    ): "lu_[0] is square and lu_[1] (the pivots) has its length: all three give n + m",
    (
        "kriging",
        "rhs = np.zeros((u, k + p, 1))",
        "1 -> 2",
    ): "a second, zero right-hand side is solved alongside and "
    "dropped (_solve_stack keeps [..., 0])",
    (
        "barnes",
        "dist, _ = cKDTree(xy).query(xy, k=2)",
        "2 -> 3",
    ): "query(k=3) instead of k=2: column 1 is still each station's nearest other station",
    (
        "barnes",
        "self.dense_ = bool(np.mean(seen) > _DENSE_SHARE * len(self.xy_))",
        "Gt -> GtE",
    ): "only picks the dense or the KD-tree path, which give the "
    "same weights (test_barnes_leave_one_out_leaves_out_itself_in_every_chunk runs both)",
    (
        "r._source",
        'if not getattr(info, "_is_text_encoding", True) or info.name == "undefined":',
        "True -> False",
    ): "the getattr default: every codecs.CodecInfo has _is_text_encoding (a class attribute)",
    (
        "r._source",
        'if "\\n" not in source and "\\r" not in source and 0 < len(source) < 4096:',
        "And -> Or",
    ): "a text with a newline then goes to Path.is_file(), "
    "which is False (or raises, caught) unless a file has that multi-line name",
    (
        "r._source",
        'if "\\n" not in source and "\\r" not in source and 0 < len(source) < 4096:',
        "Lt -> LtE",
    ): "either bound of 0 < len(source) < 4096: '' is Path('.'), "
    "a folder (is_file() False, the empty text is read), and a 4096-character name is past "
    "PATH_MAX (4096 bytes with its NUL): is_file() raises ENAMETOOLONG, caught",
    (
        "r._source",
        'if "\\n" not in source and "\\r" not in source and 0 < len(source) < 4096:',
        "4096 -> 4097",
    ): "a 4096-character name is past PATH_MAX: is_file() "
    "raises ENAMETOOLONG, caught, and the string is read as text either way",
    (
        "elevation",
        "w = np.where(u <= 1.0, 1.0, 1.0 / np.maximum(u, 1e-12))",
        "LtE -> Lt",
    ): "Huber weights at u == 1: 1.0 either way (1 / max(u, ..))",
    (
        "contours",
        "hi = max(math.ceil(vmax / step) * step, lo + step)",
        "Add -> Sub",
    ): "lo + step = ceil(vmin/step)*step never exceeds "
    "ceil(vmax/step)*step (vmin <= vmax), so max() takes the first either way",
    (
        "contours",
        "x = np.concatenate([[2 * x[0] - x[1]], x, [2 * x[-1] - x[-2]]])",
        "Mult -> Div",
    ): _GHOST,
    (
        "contours",
        "x = np.concatenate([[2 * x[0] - x[1]], x, [2 * x[-1] - x[-2]]])",
        "Sub -> Add",
    ): _GHOST,
    (
        "contours",
        "y = np.concatenate([[2 * y[0] - y[1]], y, [2 * y[-1] - y[-2]]])",
        "1 -> 2",
    ): _GHOST,
    ("contours", "x = np.concatenate([[2 * x[0] - x[1]], x, [2 * x[-1] - x[-2]]])", "2 -> 3"):
    _GHOST,
    ("contours", "y = np.concatenate([[2 * y[0] - y[1]], y, [2 * y[-1] - y[-2]]])",
     "Sub -> Add"): _GHOST,
    ("contours", '"label": [band_label(lo, up) for lo, up in zip(lowers, uppers, strict=True)],',
     "True -> False"): _SAME_LENGTH,
    ("contours", "st = stations.to_crs(4326)", "4326 -> 4327"): "EPSG:4327 is WGS 84 in 3-D: "
    "the same longitudes and latitudes",
    (
        "contours",
        "nested = shapely.get_type_id(parts) >= 4  # multi-part geometry or collection",
        "4 -> 5",
    ): "type id 4 is MultiPoint: flattened or not, its points are "
    "neither Polygon nor LineString, so _flat_parts drops them either way",
    (
        "r.portal",
        "_CHUNK = 200_000  # rows per chunk",
        "200000 -> 200001",
    ): "the read_csv chunk size: every chunking gives the same rows",
    (
        "r.portal",
        'line = head.lstrip("\\ufeff").split("\\n", 1)[0].rstrip("\\r")',
        "1 -> 2",
    ): "split('\\n', 2)[0] is split('\\n', 1)[0]: the first line",
    (
        "r.portal",
        'fmt = "%Y-%m-%d %H:%M" if columns is _TIM else "%Y-%m-%d"',
        "Is -> IsNot",
    ): "the strftime format is only a fast path: parse_times' "
    "general parser reads both portal time forms the same",
    (
        "r.portal",
        "frame = pd.concat([r.frame for r in results], ignore_index=True)",
        "True -> False",
    ): "pd.concat(ignore_index=): readers._frame resets the index of every reader's frame",
    (
        "r.portal",
        'if (stations == "").any():  # blank lines',
        "Eq -> NotEq",
    ): "chunk[stations != ''] is a no-op when no station is "
    "blank: running it always changes nothing",
    (
        "io",
        "shutil.rmtree(tmpdir, ignore_errors=True)",
        "True -> False",
    ): "rmtree of the file's temporary dir after os.replace moved "
    "its only file out: an empty dir, whose removal does not fail",
    (
        "io",
        "if y.size > 1 and y[0] < y[-1]:",
        "And -> Or",
    ): "a Grid's y is ascending (its contract): with more than one row "
    "both flip, and flipping one row changes nothing",
    (
        "elevation",
        "w = np.where(u <= 1.0, 1.0, 1.0 / np.maximum(u, 1e-12))",
        "1e-12 -> 2e-12",
    ): "the floor in 1 / max(u, 1e-12) only acts where "
    "u <= 1e-12, and there np.where takes the weight 1",
    (
        "elevation",
        "if np.allclose(new, coef, rtol=0, atol=1e-10):",
        "1e-10 -> 2e-10",
    ): "the IRLS stop tolerance: one more step moves the "
    "coefficients by under 2e-10 (the Huber test holds the rate to 1e-6)",
    (
        "io",
        "enc[name].update(zlib=True, complevel=4)",
        "4 -> 5",
    ): "the zlib level changes the NetCDF file's bytes, not the values read back",
    (
        "r.datagokr",
        "texts=[json.dumps(dict(i), ensure_ascii=False)[:200] for i in items],",
        "200 -> 201",
    ): "an item's text is kept to 200 characters but messages "
    "quote it through show(), which keeps 60",
    (
        "r.stations",
        "return names, i + 1",
        "1 -> 2",
    ): "the line after a '# STN ...' header is its '#  ID ...' "
    "units line, skipped anyway; without it the header lacks STN_ID and the list is refused",
    (
        "r.stations",
        "columns = list(zip(*rows, strict=True))",
        "True -> False",
    ): "zip(strict=) over rows built as 8-tuples: never unequal lengths",
    (
        "r.stations",
        "for name, values, dtype in zip(COLUMNS, columns, dtypes, strict=True)})",
        "True -> False",
    ): "zip(strict=) of COLUMNS, the columns and dtypes: eight each",
    (
        "cv",
        "label = label.reshape(-1)",
        "1 -> 2",
    ): "label.reshape(-2): numpy reads any negative size as 'infer', the same as reshape(-1)",
    (
        "cv",
        "return np.asarray(w @ st.values).reshape(-1)",
        "1 -> 2",
    ): "reshape(-2) is reshape(-1) (any negative size is 'infer')",
    (
        "cv",
        "pred = np.asarray(w @ st.values).reshape(-1)",
        "1 -> 2",
    ): "reshape(-2) is reshape(-1) (any negative size is 'infer')",
    (
        "kriging",
        "return sets, inv_heads.reshape(-1)[run_id]",
        "1 -> 2",
    ): "reshape(-2) is reshape(-1) (any negative size is 'infer')",
    (
        "cv",
        "return pred + np.asarray(rate) / 1000.0 * (np.asarray(w @ z).reshape(-1) - z)",
        "1 -> 2",
    ): "reshape(-2) is reshape(-1) (any negative size is 'infer')",
    (
        "join",
        'when = f" at {group[\'time\'].iloc[0]}" if has_time else ""',
        "0 -> 1",
    ): "group['time'].iloc[1]: time is a key of the duplicate group, "
    "so every row of the group has the same time",
    (
        "variogram",
        "slope0 = max(gmax - gam.min(), 1e-3 * gmax) / max(lags.max() - lags.min(), max_lag / 10)",
        "Sub -> Add",
    ): "the starting slope of the linear fit; the fit reaches the "
    "criterion's minimum from it (test_a_fit_of_an_exact_model_recovers_its_parameters)",
    (
        "variogram",
        "for e in (0.5, 1.0, 1.5):",
        "1.0 -> 2.0",
    ): "one of the three starting exponents of the power fit; "
    "the best start reaches the minimum (test_a_fit_of_an_exact_model_recovers_its_parameters)",
    (
        "variogram",
        "scale0 = max(gmax - gam.min(), 1e-3 * gmax) / max(lags.max(), 1.0) ** e",
        "Sub -> Add",
    ): "the starting scale of the power fit; the fit moves "
    "away from it (test_a_fit_of_an_exact_model_recovers_its_parameters)",
    (
        "kriging",
        "alpha = scipy.linalg.lu_solve(self._lu, rhs, check_finite=False)  # (n + p, T)",
        "False -> True",
    ): "lu_solve(check_finite=) only validates: finite values "
    "(checked in fit) and a fitted system's finite LU",
    (
        "elevation",
        "p = (p - p.mean(axis=0)) / 1e5",
        "Div -> Mult",
    ): "centring/scaling the x, y columns is an affine change "
    "of regressors: the least-squares residuals and the elevation coefficient stay the same",
    (
        "elevation",
        "p = (p - p.mean(axis=0)) / 1e5",
        "Sub -> Add",
    ): "centring/scaling the x, y columns is an affine change "
    "of regressors: the least-squares residuals and the elevation coefficient stay the same",
    (
        "spline",
        "self.scale_ = span if span > 0 else 1.0",
        "0 -> 1",
    ): "scale_ only conditions the system (smoothing is divided by "
    "scale_**2): scale 1 for a layout under 2 m gives the same spline (scipy agrees)",
    (
        "elevation",
        "if scale <= 1e-12:",
        "LtE -> Lt",
    ): "the IRLS stop on a perfect fit: its MAD scale is 0 or ~1e-15, never exactly 1e-12",
    (
        "elevation",
        "if scale <= 1e-12:",
        "1e-12 -> 2e-12",
    ): "the IRLS stop on a perfect fit: its MAD scale is 0 "
    "or ~1e-15, never between 1e-12 and 2e-12",
    (
        "r.typ01",
        'return "%Y%m%d%H%M" if self.time_digits == 12 else "%Y%m%d"',
        "12 -> 13",
    ): "the strftime format is only a fast path: stamps it misses "
    "are re-read by parse_times' general parser, which reads YYYYmmddHHMM the same",
    (
        "join",
        "return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))",
        "1.0 -> 2.0",
    ): "min(1.0, sqrt(a)) only guards asin against rounding; "
    "sqrt(a) is exactly 1.0 at the antipode of every registry station, never above",
    (
        "join",
        "if km > MOVED_KM:",
        "Gt -> GtE",
    ): "a place exactly MOVED_KM (1.000... km) from the registry "
    "site: haversine of float degrees never lands on 1.0 exactly",
    (
        "join",
        'glines, group["station_name"], group["temperature_c"], strict=True',
        "True -> False",
    ): "zip(strict=) over three columns of the same group: always the same length",
    ("labels", 'for level, geom in zip(metric["level"], metric.geometry, strict=True)',
     "True -> False"): "zip(strict=) over a column and the geometry of one frame: always the "
    "same length",
    ("labels", "idx = [i for i, e in enumerate(edges) if abs(e / unit - round(e / unit)) "
     "< 1e-6]", "1e-06 -> 2e-06"): "a tolerance for float error in e / unit: an edge of a "
    "uniform legend is a multiple of the unit to ~1e-12, or at least 0.01 / unit away from one",
    ("labels", "count = max(1, int(length // step))", "FloorDiv -> Div"): "length and step "
    "are positive: int() truncates the quotient exactly as // floors it",
    ("render", "scene.legend_colors, scene.legend_lowers, scene.legend_uppers, strict=True",
     "True -> False"): _SAME_LENGTH,
    ("render", 'for v, g in zip(frame.lines["level"], geoms, strict=True)', "True -> False"):
    _SAME_LENGTH,
    ("render", "strict=True,", "True -> False"): _SAME_LENGTH,
    ("scene", "colors[i] if np.isfinite(v) else _NO_DATA_COLOR for i, v in zip(idx, values, "
     "strict=True)", "True -> False"): _SAME_LENGTH,
    ("render", 'text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), '
     "allow_nan=False)", "False -> True"): "no NaN reaches the payload (a missing reading is "
    "None and grey, test_missing_reading_gets_a_grey_marker): allow_nan only chooses how a "
    "NaN would fail",
    ("render", "@functools.lru_cache(maxsize=1)", "1 -> 2"): _ONE_CACHED,
    ("dem", "@lru_cache(maxsize=1)", "1 -> 2"): _ONE_CACHED,
    ("render", 'if "</script" in js.lower() or "</style" in css.lower():  # pragma: no cover - '
     "asset check", "Or -> And"): "a check of the shipped assets, which hold neither text: "
    "neither branch is ever taken",
    ("scene", "inner = [(t, full.rgba_floats_tuple(t)) for t in index if vmin < t < vmax]",
     "Lt -> LtE"): "a stop at t == vmin or vmax repeats the end stop with the same colour",
    ("scene", "return gdf if gdf.crs.to_epsg() == 4326 else gdf.to_crs(4326)", "4326 -> 4327"):
    "EPSG:4327 is WGS 84 in 3-D: a frame already in 4326 is converted to the same lon/lat",
    ("io.raster", "lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(",
     "4326 -> 4327"): "EPSG:4327 is WGS 84 in 3-D: the same longitudes and latitudes",
    ("io.raster", "if n is None or value is None or np.ndim(value) > 1:", "1 -> 2"): "a 2-D "
    "value is skipped either way: np.broadcast_to to (n,) raises and the loop continues",
    ("io.raster", "enc[name].update(zlib=True, complevel=4)", "4 -> 5"): "a compression level: "
    "the values read back are the same (test_cf_files_hold_every_value_place_time_and_count)",
    ("memory", "BYTES_PER_CELL_TIME = 8 + 8 + 1", "1 -> 2"): _MEASURED,
    ("memory", "DRAW_BYTES_PER_BOX_CELL = 192", "192 -> 193"): _MEASURED,
    ("engine", "kernels = 2 if spline else 1", "2 -> 3"): "a third kernel slot of zeros that "
    "no product reads: the spline's two kernels are a_all[0] and a_all[1]",
    ("engine", "step = max(256, _BLOCK_ELEMENTS // max(n, t))", "256 -> 257"): "the least "
    "block of cells: blocks only split the cells; each cell's value is the same",
    ("batch", "meta=np.empty((0, 0, 0), dtype=out_dtype),", "0 -> 1"): "dask's meta "
    "tells the array type and dtype only; its shape is not read",
    ("batch", "flat = out.reshape(len(v), -1)", "1 -> 2"): "numpy reads any negative size "
    "as 'the rest': reshape(n, -2) is reshape(n, -1)",
    ("batch", "None, 0, grid.crs, None if asos is None else asos[used])", "0 -> 1"): "the "
    "count of missing readings only feeds interpolate()'s attributes; the batch's auto path "
    "counts its own (n_stations)",
    ("batch", 'f"{int((~keep).sum())} station(s) more than {STATION_BUFFER_M / 1000:.0f} km '
     'from "', "1000 -> 1001"): "200 000 / 1001 is 199.8, printed as 200 km all the same",
    ("pipeline", "lonlat = shown.geometry.to_crs(4326)", "4326 -> 4327"): "EPSG:4327 is "
    "WGS 84 in 3-D: the same longitudes and latitudes",
    ("grid", "if i1 <= i0 or j1 <= j0:", "LtE -> Lt"): "where i1 == i0 (or j1 == j0) the "
    "part's slice of cells is empty: skipping it or testing no cell changes nothing",
    ("stream", "_CSV_ROWS = 200_000", "200000 -> 200001"): "rows per pandas read of the "
    "table: the chunks of readings are cut from what is read, by time",
    ("stream", "moved = [a.station_id for a, s in zip(then, known, strict=True)",
     "True -> False"): _SAME_LENGTH,
    ("stream", 'for t, n in zip(frame.index[no_map], frame["n_stations"][no_map], strict=True)',
     "True -> False"): _SAME_LENGTH,
    ("stream", "check_method(method, allow_auto=False)", "False -> True"): "'auto' is refused "
    "just above with the stream's own message; every other method is checked the same",
    ("stream", "window = 2 * executor.workers", "2 -> 3"): _IN_FLIGHT,
    ("stream", "window = 2 * executor.workers", "Mult -> Div"): _IN_FLIGHT,
    ("stream", "while len(pending) >= window:", "GtE -> Gt"): _IN_FLIGHT,
    ("stream.tasks", "_PATTERN_CACHE_BYTES = 256 * 2**20", "20 -> 21"): _CACHE_SIZE,
    ("stream.tasks", "if len(self.cache) > max(4, _PATTERN_CACHE_BYTES // max(w.nbytes, 1)):",
     "4 -> 5"): _CACHE_SIZE,
    ("stream.tasks", "if len(self.cache) > max(4, _PATTERN_CACHE_BYTES // max(w.nbytes, 1)):",
     "FloorDiv -> Div"): _CACHE_SIZE,
    ("stream.tasks", "if len(self.cache) > max(4, _PATTERN_CACHE_BYTES // max(w.nbytes, 1)):",
     "1 -> 2"): _CACHE_SIZE,
    ("stream.tasks", "self.cache.popitem(last=False)", "False -> True"): _CACHE_SIZE,
    ("stream.tasks", "@dataclasses.dataclass(frozen=True)", "True -> False"): "nothing assigns "
    "to the chunk's shared data or its work once made: frozen only forbids it",
    ("stream.tasks", "return cube.reshape(cube.shape[0], -1)", "1 -> 2"): "numpy reads any "
    "negative size as 'the rest': reshape(n, -2) is reshape(n, -1)",
    ("stream.tasks", "threads_per_worker=1,", "1 -> 2"): "threads inside a worker: each task "
    "computes the same chunk the same way",
    ("stream.tasks", "return self.client.scatter(obj, broadcast=True)", "True -> False"): "the "
    "shared data is sent to every worker up front or fetched by each when first needed: the "
    "same data",
    ("stream.tasks", "return self.client.submit(fn, *args, pure=False)", "False -> True"): "pure "
    "lets dask reuse a task with the same arguments; no two chunks have the same",
    ("labels", "idx = list(range(0, n, k))", "0 -> 1"): "edge 0 is labelled whatever the "
    "candidates are: it is the legend's first end",
    ("labels", "kept = np.empty((64, 2))  # kept label places (the first n rows), grown by "
     "doubling", "64 -> 65"): "the starting capacity of a buffer that grows: the same places",
    ("dem", "pts = np.asarray(xy, dtype=float).reshape(-1, 2)", "1 -> 2"): "numpy reads any "
    "negative size as 'the rest': reshape(-2, 2) is reshape(-1, 2)",
    ("io.vector", "values = col.fillna(False).to_numpy(dtype=bool)", "False -> True"): _MASKED,
    ("io.vector", 'return col.fillna(0).to_numpy(dtype="int64"), mask', "0 -> 1"): _MASKED,
    ("io.vector", "return len(present) > 0 and all(", "Gt -> GtE"): "a column with no value at "
    "all: every cell is null, written as text or as a date, and read back null",
    ("station", "@dataclass(frozen=True)", "True -> False"): "nothing assigns to a station or "
    "a period once made (replace() makes new ones): frozen only forbids it",
    ("station", "history: tuple[SitePeriod, ...] = field(default=(), repr=False, compare=False)",
     "False -> True"): "whether the history is printed or compared: no code compares two "
    "stations or reads their repr",
    ("commit", "_AT_FDCWD = -100", "100 -> 101"): "every path given to renameat2 is "
    "absolute, so the directory descriptor is never read",
    ("regions", "@lru_cache(maxsize=1)", "1 -> 2"): _ONE_CACHED,
    ("regions", 'for name_ko, code, geom in zip(table["name"], table["code"], table.geometry, '
     "strict=True):", "True -> False"): _SAME_LENGTH,
    ("regions", "if geom.is_empty or geom.area <= 0:", "0 -> 1"): "the region is in the "
    "grid's metres by then: a region under 1 m² is smaller than any cell either way",
    ("join", "if km <= MOVED_KM:", "LtE -> Lt"): "a place exactly MOVED_KM (1.000... km) "
    "from the site: haversine of float degrees never lands on 1.0 exactly",
    ("join", "strict=True,", "True -> False"): _SAME_LENGTH,
    ("stream", "if max_memory is not None and not chunk_hours and kept > hours:", "Gt -> GtE"):
    "inside 'kept != hours': kept == hours never reaches it",
    ("scene", "i: int, frame: Any, value: str, *, alone: bool = False", "False -> True"): "the "
    "default is never used: map_scene always says whether a frame is alone",
    ("r.table", 'if {"x", "y"} <= set(frame.columns) and not {"lon", "lat"} <= '
     "set(frame.columns):", "LtE -> Lt"): "a table always has more columns than x and y (or "
    "lon and lat): a station and a temperature, so subset and proper subset agree",
    ("r.table", "sniffed = _sniff(text[:65536])", "65536 -> 65537"): _HEAD_WINDOW,
    ("r.table", "header = next(csv.reader([_first_line(text[:65536])], delimiter=sep))",
     "65536 -> 65537"): _HEAD_WINDOW,
    ("io.vector", "text = [None if m else v.isoformat() for v, m in zip(col, missing, "
     "strict=True)]", "True -> False"): _SAME_LENGTH,
    ("io.vector", "for c, t in zip(list(frame.columns), types, strict=True):", "True -> False"):
    _SAME_LENGTH,
    ("io.vector", "if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):",
     "NotEq -> Eq"): "a column of numbers checked for formulas: no number is a string that "
    "starts like one, so nothing changes",
    ("station", "if p.start is not None and iso < p.start:", "Lt -> LtE"): "on the start day "
    "itself both branches give the start day",
    ("cli.maps", "zarr=args.zarr or False,", "Or -> And"): "args.zarr is None or a path "
    "here: None and False are both no store to render_batch",
    ("palette", "dh = np.where(c1p * c2p == 0, 0.0, dh)", "0.0 -> 1.0"): "where c1p * c2p "
    "is 0, dHp = 2 sqrt(c1p c2p) sin(dh / 2) is 0 whatever dh is",
    (
        "palette",
        "np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, "
        "(hsum - 360) / 2)",
        "Sub -> Add",
    ): "moves the mean hue by 360 degrees: T's cosines are periodic, and the rotation "
    "term's exp(-((h - 275) / 25)^2) is below 1e-5 at both angles of this branch "
    "(|h - 275| > 85), a change under 1e-6 in the difference",
    ("palette", "arc = np.concatenate([[0.0], np.cumsum(steps)])", "0.0 -> 1.0"): "only "
    "positions before the first dense step (0.1 of 212.8 units, p < 5e-4) move, by less "
    "than 0.1 colour-difference unit: below the 8-bit rounding of the colours written",
    ("commit", "if len(steps) <= 1 or not dests:", "Or -> And"): "a journal around one "
    "rename: the same single rename, the same outcome whenever the run is killed",
    ("commit", "if not isinstance(pid, int) or pid <= 0:", "0 -> 1"): "pid 1 is init, never "
    "a kwxmap run that left a journal",
    ("station_file", "@functools.lru_cache(maxsize=8)", "8 -> 9"): "how many registry "
    "files stay cached: the same stations are read either way",
    ("page_geometry", "PRECISION = 10_000", "10000 -> 10001"): "the page carries its own "
    "precision (payload q) and decodes with it: 1/10 001 degree instead of 1/10 000",
}

_SWAP_BIN = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.Mult,
}
_SWAP_CMP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


@dataclass(frozen=True)
class Mutant:
    """One change: where it is and what it does."""

    index: int
    line: int
    end_line: int
    description: str


def _docstring_nodes(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            out.add(id(body[0].value))
    return out


def mutation_points(tree: ast.AST) -> list[tuple[ast.AST, str, object]]:
    """Every (node, description, replacement-maker) in *tree*, in source order."""
    skip = _docstring_nodes(tree)
    points: list[tuple[ast.AST, str, object]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _SWAP_BIN:
            new = _SWAP_BIN[type(node.op)]
            points.append((node, f"{type(node.op).__name__} -> {new.__name__}", ("op", new)))
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in _SWAP_CMP:
                    new = _SWAP_CMP[type(op)]
                    points.append((node, f"{type(op).__name__} -> {new.__name__}", ("cmp", k, new)))
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            points.append((node, f"{type(node.op).__name__} -> {new.__name__}", ("op", new)))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            points.append((node, "drop not", ("unnot",)))
        elif isinstance(node, ast.Constant) and id(node) not in skip:
            v = node.value
            if isinstance(v, bool):
                points.append((node, f"{v} -> {not v}", ("const", not v)))
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                new = v + 1 if v in (0, -1) else v * 2 if isinstance(v, float) else v + 1
                points.append((node, f"{v!r} -> {new!r}", ("const", new)))
    points.sort(key=lambda p: (getattr(p[0], "lineno", 0), getattr(p[0], "col_offset", 0), p[1]))
    return points


def mutate(source: str, index: int) -> tuple[str, Mutant]:
    """Return the source with mutation *index* applied, and its description."""
    tree = ast.parse(source)
    node, desc, how = mutation_points(tree)[index]
    line = getattr(node, "lineno", 0)
    end_line = getattr(node, "end_lineno", None) or line
    if how[0] == "op":
        node.op = how[1]()
    elif how[0] == "cmp":
        node.ops[how[1]] = how[2]()
    elif how[0] == "unnot":
        node.op = ast.UAdd()  # +x keeps the operand; truthiness no longer negated
        node.operand = ast.Call(ast.Name("bool", ast.Load()), [copy.deepcopy(node.operand)], [])
    else:
        node.value = how[1]
    ast.fix_missing_locations(tree)
    return ast.unparse(tree), Mutant(index, line, end_line, desc)


class _Mutated(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serve one module's mutated source in place of its file."""

    def __init__(self, name: str, source: str, path: str):
        self.name, self.source, self.path = name, source, path
        self.package = os.path.basename(path) == "__init__.py"

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        spec = importlib.util.spec_from_loader(
            fullname, self, origin=self.path, is_package=self.package
        )
        if self.package:
            spec.submodule_search_locations = [os.path.dirname(self.path)]
        spec.has_location = True
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = self.path
        exec(compile(self.source, self.path, "exec"), module.__dict__)


_PYTEST_ARGS = [
    "-q",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:randomly",
    "--no-header",
    "-o",
    "addopts=",
    "--doctest-modules",  # a module's own examples are tests of it (the suite runs them)
    "--rootdir",
    str(REPO),
]


def _wait(pid: int, timeout: float) -> int | None:
    """Exit code of child *pid*, or None after killing it at *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.05)


class _ContextPerTest:
    """pytest plugin: one coverage context per test (setup, call, teardown)."""

    def __init__(self, cov):
        self.cov = cov
        self.durations: dict[str, float] = {}
        self.failed: set[str] = set()

    def pytest_runtest_protocol(self, item, nextitem):
        self.cov.switch_context(item.nodeid)

    def pytest_runtest_logreport(self, report):
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        if report.failed:
            self.failed.add(report.nodeid)


def _coverage_run(tests: list[str]) -> dict:
    """Run *tests* once under coverage (every kwxmap file), one context per test.

    Returns ``{"contexts": {file: {line: [contexts]}}, "durations": {node id: s},
    "failed": [node ids]}``, cached in ``.mutation-cache/`` by the content of
    the test files and of every kwxmap source (modules sharing test files share
    one run).
    """
    h = hashlib.sha256()
    for f in [
        *tests,
        "tests/conftest.py",
        *sorted(str(q.relative_to(REPO)) for q in (REPO / "kwxmap").rglob("*.py")),
    ]:
        h.update(f.encode() + b"\0" + (REPO / f).read_bytes())
    cached = CACHE / f"coverage-{h.hexdigest()[:20]}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data_file, out = os.path.join(tmp, "cov"), os.path.join(tmp, "out.json")
        pid = os.fork()
        if pid == 0:  # child: import kwxmap under coverage, run every test
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                import coverage
                import pytest

                cov = coverage.Coverage(data_file=data_file, include=[str(REPO / "kwxmap" / "*")])
                cov.start()
                plugin = _ContextPerTest(cov)
                pytest.main([*_PYTEST_ARGS, *[str(REPO / t) for t in tests]], plugins=[plugin])
                cov.stop()
                cov.save()
                Path(out).write_text(
                    json.dumps({"durations": plugin.durations, "failed": sorted(plugin.failed)})
                )
                os._exit(0)
            except BaseException:  # noqa: BLE001
                import traceback

                with open(os.path.join(tmp, "err"), "w") as f:
                    traceback.print_exc(file=f)
                os._exit(2)
        code = _wait(pid, 3600)
        if code != 0 or not os.path.exists(out):
            err = Path(tmp, "err")
            raise RuntimeError(
                f"the coverage run of {tests} failed ({err.read_text() if err.exists() else code})"
            )
        import coverage

        data = coverage.CoverageData(data_file)
        data.read()
        result = json.loads(Path(out).read_text())
        result["contexts"] = {
            os.path.relpath(f, REPO): {
                str(ln): sorted(c) for ln, c in data.contexts_by_lineno(f).items()
            }
            for f in data.measured_files()
        }
    cached.write_text(json.dumps(result))
    return result


def coverage_map(key: str) -> dict:
    """Line -> tests for module *key*: ``{"lines", "import", "durations", "failed"}``.

    ``lines`` maps a line to the node ids of the tests that execute it;
    ``import`` lists the lines run outside any test (at import or collection).
    """
    _, rel, tests = MODULES[key]
    run = _coverage_run(tests)
    by_line = run["contexts"].get(rel, {})
    return {
        "lines": {ln: [c for c in ctxs if c] for ln, ctxs in by_line.items()},
        "import": sorted(int(ln) for ln, ctxs in by_line.items() if "" in ctxs),
        "durations": run["durations"],
        "failed": run["failed"],
        "run": run,
    }


def _bound(stmt: ast.stmt) -> set[str]:
    """Names a module-level statement binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets = (
        stmt.targets
        if isinstance(stmt, ast.Assign)
        else [stmt.target]
        if isinstance(stmt, (ast.AnnAssign, ast.AugAssign))
        else []
    )
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _uses(tree: ast.Module) -> list[tuple[str, int, ast.stmt]]:
    """(name, line, enclosing module-level statement) of every name read in *tree*."""
    out = []
    for stmt in tree.body:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                out.append((n.id, n.lineno, stmt))
            elif isinstance(n, ast.Attribute):
                out.append((n.attr, n.lineno, stmt))
    return out


_SOURCES: dict[str, tuple[ast.Module, list]] = {}


def _kwxmap_uses() -> dict[str, tuple[ast.Module, list]]:
    if not _SOURCES:
        for f in sorted((REPO / "kwxmap").rglob("*.py")):
            tree = ast.parse(f.read_text(encoding="utf-8"))
            _SOURCES[str(f.relative_to(REPO))] = (tree, _uses(tree))
    return _SOURCES


def _import_time_tests(rel: str, tree: ast.Module, m: Mutant, run: dict) -> set[str] | None:
    """Tests that can see a change made at import time, or None for "any test".

    The module-level statement holding the mutant binds names (a constant, a
    function whose default or decorator changed, a class); a test can only
    notice the change by running a line that reads one of those names (in any
    kwxmap module, names bound from them followed to a fixpoint), by running
    the body of the changed function, or by naming one in the test file.
    """
    top = next(
        (st for st in tree.body if st.lineno <= m.line <= (st.end_lineno or st.lineno)), None
    )
    if top is None or not isinstance(
        top,
        (
            ast.Assign,
            ast.AnnAssign,
            ast.AugAssign,
            ast.FunctionDef,
            ast.AsyncFunctionDef,
            ast.ClassDef,
        ),
    ):
        return None

    def tests_of(file: str, lines) -> set[str]:
        ctx = run["contexts"].get(file, {})
        return {c for ln in lines for c in ctx.get(str(ln), ()) if c}

    def body_lines(st: ast.stmt):
        body = getattr(st, "body", None)
        return range(body[0].lineno, (st.end_lineno or st.lineno) + 1) if body else ()

    ids = tests_of(rel, body_lines(top)) if not isinstance(top, ast.ClassDef) else set()
    names = _bound(top)
    sources = _kwxmap_uses()
    grew = True
    while grew:  # module-level statements computed from the names at import time
        grew = False
        for _, (_, uses) in sources.items():
            for name, _, st in uses:
                if (
                    name in names
                    and not isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and not _bound(st) <= names
                ):
                    names |= _bound(st)
                    grew = True
    for file, (_, uses) in sources.items():
        for name, line, st in uses:
            if name in names:
                ids |= tests_of(file, [line])
                if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    ids |= tests_of(file, body_lines(st)) if not tests_of(file, [line]) else set()
    for test_file in {t.split("::")[0] for t in run["durations"]}:
        text = (REPO / test_file).read_text(encoding="utf-8")
        ttree = ast.parse(text)
        for fn in ast.walk(ttree):
            if isinstance(fn, (ast.FunctionDef, ast.ClassDef)) and any(
                isinstance(n, (ast.Name, ast.Attribute))
                and (getattr(n, "id", None) or getattr(n, "attr", None)) in names
                for n in ast.walk(fn)
            ):
                ids |= {
                    t
                    for t in run["durations"]
                    if t.split("::")[0] == test_file and t.split("::")[1].split("[")[0] == fn.name
                }
    return ids or None


def select_tests(
    cmap: dict, m: Mutant, rel: str = "", tree: ast.Module | None = None
) -> tuple[list[str], bool]:
    """Node ids that execute a line of mutant *m*, fastest first; and whether import-time."""
    span = range(m.line, m.end_line + 1)
    failed = set(cmap["failed"])
    durations = cmap["durations"]
    if any(ln in cmap["import"] for ln in span):
        ids = _import_time_tests(rel, tree, m, cmap["run"]) if tree is not None else None
        if ids is None:
            ids = set(durations)
        at_import = True
    else:
        ids = {t for ln in span for t in cmap["lines"].get(str(ln), ())}
        at_import = False
    ids -= failed
    return sorted(ids, key=lambda t: (durations.get(t, 0.0), t)), at_import


def run_tests(name: str, source: str, path: str, node_ids: list[str], timeout: float) -> str:
    """Run *node_ids* (``pytest -x``) in a forked child that imports *source* as *name*."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            sys.meta_path.insert(0, _Mutated(name, source, path))
            # imported now, so that collecting the module's doctests finds the mutant in
            # sys.modules instead of loading the file on disk under the same name
            importlib.import_module(name)
            import pytest

            code = pytest.main(["-x", *_PYTEST_ARGS, *[str(REPO / t) for t in node_ids]])
            os._exit(0 if code == 0 else 1)
        except BaseException:  # noqa: BLE001
            os._exit(2)
    code = _wait(pid, timeout)
    if code is None:
        return "killed (timeout)"
    return "survived" if code == 0 else "killed"


def earlier_kills(logs: list[str]) -> dict[str, dict[int, str]]:
    """Mutants killed in earlier outputs of this script: module -> {index: description}.

    Read from the per-mutant lines (``  #12   line 40    9 -> 10   killed (...)``)
    under each module's header line.
    """
    import re

    header = re.compile(r"^(\S+): \d+ mutation points")
    row = re.compile(r"^  #(\d+)\s+line (\d+)\s+(.+?)\s+killed")
    out: dict[str, dict[int, str]] = {}
    for log in logs:
        key = None
        for text in Path(log).read_text(encoding="utf-8").splitlines():
            if h := header.match(text):
                key = h.group(1)
            elif key and (r := row.match(text)):
                out.setdefault(key, {})[int(r.group(1))] = f"{r.group(2)}:{r.group(3)}"
    return out


def run_module(
    key: str,
    max_mutants: int | None,
    seed: int,
    timeout: float,
    only: list[int] | None = None,
    kept: dict[int, str] | None = None,
) -> dict:
    name, rel, tests = MODULES[key]
    path = str(REPO / rel)
    source = Path(path).read_text(encoding="utf-8")
    lines = source.splitlines()
    n_points = len(mutation_points(ast.parse(source)))
    indices = list(range(n_points))
    if max_mutants is not None and max_mutants < n_points:
        indices = sorted(random.Random(seed).sample(indices, max_mutants))
    if only:
        indices = sorted(set(only) & set(range(n_points)))
    tree = ast.parse(source)
    t0 = time.perf_counter()
    cmap = coverage_map(key)
    sample = (
        f"only #{', #'.join(map(str, indices))}"
        if only
        else f"a seeded sample of {len(indices)} (seed {seed}): score is an estimate"
        if len(indices) < n_points
        else "all of them"
    )
    print(
        f"{key}: {n_points} mutation points, running {sample}; "
        f"{len(cmap['durations'])} tests in {', '.join(Path(t).name for t in tests)} "
        f"(coverage map {time.perf_counter() - t0:.0f} s)",
        flush=True,
    )
    if cmap["failed"]:
        print(f"  left out, failing on the original: {', '.join(cmap['failed'])}", flush=True)
    killed, survivors, uncovered, equivalent = 0, [], [], []
    for i in indices:
        mutated, m = mutate(source, i)
        reason = EQUIVALENT.get((key, lines[m.line - 1].strip(), m.description))
        if reason:
            equivalent.append((m, reason))
            continue
        if kept and kept.get(m.index) == f"{m.line}:{m.description}":
            killed += 1
            print(
                f"  #{m.index:<4} line {m.line:<5} {m.description:<28} killed "
                "(in an earlier run; tests were only added since)",
                flush=True,
            )
            continue
        node_ids, at_import = select_tests(cmap, m, rel, tree)
        if not node_ids:
            uncovered.append(m)
            print(f"  #{m.index:<4} line {m.line:<5} {m.description:<28} not covered", flush=True)
            continue
        budget = min(timeout, 30.0 + 5.0 * sum(cmap["durations"].get(t, 0.0) for t in node_ids))
        t1 = time.perf_counter()
        outcome = run_tests(name, mutated, path, node_ids, budget)
        print(
            f"  #{m.index:<4} line {m.line:<5} {m.description:<28} {outcome} "
            f"({len(node_ids)} tests{', import-time' if at_import else ''}, "
            f"{time.perf_counter() - t1:.1f} s)",
            flush=True,
        )
        if outcome.startswith("killed"):
            killed += 1
        else:
            survivors.append(m)
    scored = killed + len(survivors) + len(uncovered)
    score = killed / scored if scored else float("nan")
    return {
        "key": key,
        "points": n_points,
        "run": len(indices),
        "killed": killed,
        "survivors": survivors,
        "uncovered": uncovered,
        "equivalent": equivalent,
        "score": score,
        "sampled": len(indices) < n_points,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--module",
        action="append",
        choices=list(MODULES),
        help="module(s) to mutate (default: all)",
    )
    p.add_argument(
        "--max-mutants",
        type=int,
        default=None,
        help="run at most N mutants per module, a seeded sample",
    )
    p.add_argument(
        "--sample",
        metavar="MODULE=N",
        action="append",
        default=[],
        help="a different --max-mutants for one module (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--keep-kills",
        metavar="LOG",
        action="append",
        default=[],
        help="an earlier output of this script (same kwxmap sources): its killed "
        "mutants count as killed without running again; for a rerun after adding "
        "tests (a new test cannot revive a killed mutant)",
    )
    p.add_argument(
        "--index",
        type=int,
        action="append",
        help="run only mutant #N (repeatable; to check a new test kills it)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="at most this many seconds per mutant (the budget is 30 s + 5 x the "
        "selected tests' time on the original)",
    )
    args = p.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads and fork do not mix
    os.chdir(REPO)
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))
    # heavy third-party imports once, before forking (the children share them);
    # nothing from kwxmap, which each child imports with its mutant
    import coverage  # noqa: F401
    import geopandas  # noqa: F401
    import hypothesis  # noqa: F401
    import pytest  # noqa: F401
    import scipy.optimize  # noqa: F401
    import scipy.sparse  # noqa: F401
    import scipy.spatial  # noqa: F401

    for extra in (
        "folium",
        "bs4",
        "contourpy",
        "pyogrio",
        "pyproj",
        "scipy.linalg",
        "scipy.ndimage",
        "scipy.interpolate",
    ):
        try:
            importlib.import_module(extra)
        except ImportError:
            pass

    keys = args.module or list(MODULES)
    print(
        f"bench_mutation: {len(keys)} module(s); "
        + (
            f"a seeded sample of at most {args.max_mutants} mutants per module "
            f"(seed {args.seed}{'; ' + ', '.join(args.sample) if args.sample else ''}): "
            "scores of sampled modules are estimates"
            if args.max_mutants is not None
            else "every mutation point"
        ),
        flush=True,
    )
    kills = earlier_kills(args.keep_kills)
    if kills:
        print(
            f"kills kept from {', '.join(args.keep_kills)}: "
            f"{sum(len(v) for v in kills.values())} mutants",
            flush=True,
        )
    sizes = {k: args.max_mutants for k in keys}
    for item in args.sample:
        k, _, n = item.partition("=")
        if k not in MODULES or not n.isdigit():
            p.error(f"--sample {item!r}: give MODULE=N with a module of {', '.join(MODULES)}")
        sizes[k] = int(n)
    results = [
        run_module(k, sizes[k], args.seed, args.timeout, args.index, kills.get(k)) for k in keys
    ]
    print()
    if args.max_mutants is not None or args.sample:
        print(
            f"Scores from seeded samples (seed {args.seed}, at most {args.max_mutants} "
            f"mutants per module{'; ' + ', '.join(args.sample) if args.sample else ''}; "
            "'run' is the sample size; * = estimate from a sample)."
        )
    print(
        f"{'module':<11} {'points':>6} {'run':>5} {'killed':>7} {'survived':>9} "
        f"{'not-cov':>8} {'equiv':>6} {'score':>7}"
    )
    tot = dict.fromkeys(("points", "run", "killed", "survived", "uncovered", "equiv"), 0)
    for r in results:
        row = {
            "points": r["points"],
            "run": r["run"],
            "killed": r["killed"],
            "survived": len(r["survivors"]),
            "uncovered": len(r["uncovered"]),
            "equiv": len(r["equivalent"]),
        }
        for k, v in row.items():
            tot[k] += v
        print(
            f"{r['key']:<11} {row['points']:6d} {row['run']:5d} {row['killed']:7d} "
            f"{row['survived']:9d} {row['uncovered']:8d} {row['equiv']:6d} "
            f"{r['score']:7.1%}{' *' if r['sampled'] else ''}"
        )
    scored = tot["killed"] + tot["survived"] + tot["uncovered"]
    print(
        f"{'total':<11} {tot['points']:6d} {tot['run']:5d} {tot['killed']:7d} "
        f"{tot['survived']:9d} {tot['uncovered']:8d} {tot['equiv']:6d} "
        f"{tot['killed'] / scored if scored else float('nan'):7.1%}"
    )
    for r in results:
        for m in r["survivors"]:
            print(f"survivor {r['key']} #{m.index} line {m.line}: {m.description}")
        for m in r["uncovered"]:
            print(f"survivor {r['key']} #{m.index} line {m.line}: {m.description} (not covered)")
        for m, why in r["equivalent"]:
            print(f"equivalent {r['key']} #{m.index} line {m.line}: {m.description} ({why})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
