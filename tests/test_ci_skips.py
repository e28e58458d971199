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
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(folder)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_kind_of_skip_fails_under_ci_and_skips_locally(tmp_path, case):
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_case.py").write_text(CASES[case], encoding="utf-8")
    local = _run(tmp_path, "")
    # a module skipped whole collects no test: pytest's exit 5, not a failure
    assert local.returncode in ((5,) if case == "importorskip" else (0,)), local.stdout
    assert "1 skipped" in local.stdout
    ci = _run(tmp_path, "true")
    assert ci.returncode != 0, ci.stdout
    assert "skipped under CI" in ci.stdout
    assert "skipped" not in ci.stdout.splitlines()[-1]


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
