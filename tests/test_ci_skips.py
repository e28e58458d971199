"""Under CI=true every skip fails unless ALLOWED_SKIPS lists its reason (tests/conftest.py).

Each case runs a real pytest process on a small test folder that uses this
suite's conftest.py, with and without ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

CASES = {
    "skip_call": "import pytest\n\ndef test_a():\n    pytest.skip('no widget today')\n",
    "skipif": (
        "import pytest\n\n@pytest.mark.skipif(True, reason='ogrinfo missing')\n"
        "def test_a():\n    pass\n"
    ),
    "importorskip": (
        "import pytest\n\npytest.importorskip('kwxmap_no_such_module')\n\n"
        "def test_a():\n    pass\n"
    ),
    "fixture_skip": (
        "import pytest\n\n@pytest.fixture\ndef dem():\n    pytest.skip('no DEM')\n\n"
        "def test_a(dem):\n    pass\n"
    ),
}


def _run(folder: Path, ci: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CI": ci}
    # every file is collected even after one fails to (a module-level skip under CI is a
    # collection error, which would otherwise stop the session before the other cases)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA",
         "--continue-on-collection-errors", str(folder)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every case as its own test file, run once locally and once under CI=true."""
    folder = tmp_path_factory.mktemp("skips")
    shutil.copy(TESTS / "conftest.py", folder / "conftest.py")
    for case, text in CASES.items():
        (folder / f"test_{case}.py").write_text(text, encoding="utf-8")
    return {"local": _run(folder, ""), "ci": _run(folder, "true")}


def _outcomes(proc: subprocess.CompletedProcess) -> dict[str, str]:
    """Case name -> the first word of its line in the -rA summary (SKIPPED, FAILED...)."""
    found = {}
    for line in proc.stdout.splitlines():
        for case in CASES:
            if f"test_{case}.py" in line and line.split(" ", 1)[0].isupper():
                found.setdefault(case, line)
    return found


def test_every_case_was_collected(runs):
    assert runs["local"].returncode == 0, runs["local"].stdout
    assert f"{len(CASES)} skipped" in runs["local"].stdout.splitlines()[-1]
    assert runs["ci"].returncode != 0, runs["ci"].stdout
    assert "skipped" not in runs["ci"].stdout.splitlines()[-1]


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_kind_of_skip_fails_under_ci_and_skips_locally(runs, case):
    local, ci = _outcomes(runs["local"]), _outcomes(runs["ci"])
    assert local[case].startswith("SKIPPED"), runs["local"].stdout
    # a skip under CI is a failure (or an error, raised while collecting or in a fixture)
    assert ci[case].split(" ", 1)[0] in ("FAILED", "ERROR"), runs["ci"].stdout
    assert "skipped under CI" in ci[case]


def test_a_listed_reason_may_skip_under_ci(tmp_path):
    conftest = (TESTS / "conftest.py").read_text(encoding="utf-8")
    listed = conftest.replace(
        "ALLOWED_SKIPS: dict[str, str] = {",
        "ALLOWED_SKIPS: dict[str, str] = {\n    r'no widget today': 'a reason',",
    )
    assert listed != conftest
    (tmp_path / "conftest.py").write_text(listed, encoding="utf-8")
    (tmp_path / "test_case.py").write_text(CASES["skip_call"], encoding="utf-8")
    ci = _run(tmp_path, "true")
    assert ci.returncode == 0, ci.stdout
    assert "1 skipped" in ci.stdout
