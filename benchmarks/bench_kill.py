"""SIGKILL ``kwxmap map … --geojson-dir`` and ``kwxmap batch`` at random moments.

Each command alternates between two inputs, version A and version B (the
seed widget ``examples/widget.txt`` as is and 1.5 °C warmer; three and four
days of ``examples/data/kma_asos_daily_2020.csv`` with different map names),
each with its own ``--title``. Every run writes into the same destination
and is killed at a random moment of its usual duration (half the kills in
the last third of the run, where the files are written). After every kill
the destination must hold exactly one complete set: every file of version A
(each carrying A's title or A's bytes) and nothing of B, or the reverse. The
temporaries a killed run leaves must be gone once a later run reaches its
writing step: after a kill that left temporaries of its own (so the run got
that far), no temporaries of earlier runs may remain; after a final run that
completes, none at all.

Usage::

    python benchmarks/bench_kill.py [--kills 50] [--seed 1]

Prints, per command, the kills, how many found the old set and how many the
new one, how many killed runs left temporaries, and the failures (must be 0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
WIDGET = REPO / "examples" / "widget.txt"
DAILY = REPO / "examples" / "data" / "kma_asos_daily_2020.csv"
FAST = ["--method", "idw", "--resolution", "20000", "--tiles", "none"]
MANIFEST = ".kwxmap_set.json"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _inputs(work: Path) -> dict[str, dict[str, list[str]]]:
    text = WIDGET.read_text(encoding="utf-8")
    warmer = re.sub(r"(-?\d+\.\d)(?=\s*℃)", lambda m: f"{float(m.group(1)) + 1.5:.1f}", text)
    (work / "A.txt").write_text(text, encoding="utf-8")
    (work / "B.txt").write_text(warmer, encoding="utf-8")
    daily = pd.read_csv(DAILY)
    days = sorted(daily["time"].unique())
    for name, keep in (("A.csv", days[:3]), ("B.csv", days[10:14])):
        table = daily[daily["time"].isin(keep)].rename(
            columns={"stn_id": "station_id", "temp_c": "temperature_c"}
        )[["time", "station_id", "temperature_c"]]
        table.to_csv(work / name, index=False)
    dest_map, dest_batch = work / "map-out", work / "batch-out"
    return {
        "map": {
            v: ["map", str(work / f"{v}.txt"), "-o", str(dest_map / "map.html"), "--geojson-dir",
                str(dest_map), "--title", f"version-{v}", *FAST]
            for v in "AB"
        },
        "batch": {
            v: ["batch", str(work / f"{v}.csv"), "-o", str(dest_batch), "--title",
                f"version-{v}", "--netcdf", *FAST]
            for v in "AB"
        },
    }


def _digest(path: Path) -> str:
    if path.suffix == ".html":
        text = path.read_text(encoding="utf-8", errors="replace")
        marks = set(re.findall(r"version-([AB])", text))
        return "html-" + "".join(sorted(marks))
    if path.suffix == ".nc":
        import xarray as xr

        with xr.open_dataset(path) as ds:
            mean = round(float(ds["temperature_c"].mean()), 4)
            return f"nc-{ds.sizes['time']}-{mean}"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state(dest: Path) -> dict[str, str]:
    if not dest.is_dir():
        return {}
    return {
        p.name: _digest(p) for p in sorted(dest.iterdir()) if p.is_file() and p.name != MANIFEST
    }


def _leftovers(dest: Path) -> list[str]:
    folders = [dest.parent] + ([dest] if dest.is_dir() else [])
    return sorted(p.name for f in folders for p in f.iterdir() if ".kwxmap-" in p.name)


def _run(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kwxmap", *args], check=True, env=_env(),
                   capture_output=True)
    return time.perf_counter() - start


def bench(name: str, versions: dict[str, list[str]], dest: Path, kills: int,
          rng: random.Random) -> dict[str, int]:
    dest.mkdir()  # `map -o DEST/map.html` needs the folder of its HTML
    reference = {}
    for v in "AB":  # each version alone, run to completion: its complete set
        _run(versions[v])
        reference[v] = _state(dest)
    duration = _run(versions["A"])
    assert _state(dest) == reference["A"], "a completed run must give version A's set"
    current = "A"
    counts = {"kills": 0, "old set": 0, "new set": 0, "left temporaries": 0, "failures": 0}
    for i in range(kills):
        new = "B" if current == "A" else "A"
        late = rng.uniform(duration * 0.67, duration * 1.1)
        moment = rng.uniform(0, duration) if i % 2 else late
        proc = subprocess.Popen([sys.executable, "-m", "kwxmap", *versions[new]], env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts["kills"] += 1
        state = _state(dest)
        if state == reference[current]:
            counts["old set"] += 1
        elif state == reference[new]:
            counts["new set"] += 1
            current = new
        else:
            counts["failures"] += 1
            print(f"  {name} kill {i}: mixed or incomplete set: {json.dumps(state)[:300]}")
        left = _leftovers(dest)
        if left:
            counts["left temporaries"] += 1
            own = [n for n in left if f"-{proc.pid}-" in n]
            stray = [n for n in left if f"-{proc.pid}-" not in n]
            if own and stray:  # it reached its writing step, where it cleans up first
                counts["failures"] += 1
                print(f"  {name} kill {i}: temporaries of earlier runs remain: {stray}")
    _run(versions[current])  # a run that completes
    if _leftovers(dest):
        counts["failures"] += 1
        print(f"  {name}: temporaries remain after a completed run: {_leftovers(dest)}")
    if _state(dest) != reference[current]:
        counts["failures"] += 1
    print(f"{name}: {duration:.2f} s per run; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, versions in _inputs(work).items():
            dest = work / ("map-out" if name == "map" else "batch-out")
            failures += bench(name, versions, dest, args.kills, rng)["failures"]
    print(f"total failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
