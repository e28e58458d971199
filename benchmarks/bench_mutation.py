"""Mutation score of the core modules: seed small bugs, see whether the tests notice.

A small AST mutator (mutmut 3 needs its own project layout and copies the
tree; this runs in place of it on a shared 2-core machine): for each mutation
point of a module — an arithmetic or comparison operator swapped, a number
changed, a boolean flipped, ``and``/``or`` swapped, a ``not`` dropped, a
keyword argument's constant changed — the module's source is rewritten with
that one change (``ast.unparse``) and the module's test files run against it
(``pytest -x``, in a forked child that imports the mutant instead of the
file on disk, so nothing in the working tree is touched). A mutant is
*killed* when a test fails, *survives* when all pass, and counts as killed
on a timeout too (an infinite loop is noticed).

Mutants listed in :data:`EQUIVALENT` (module, line, description) behave
exactly like the original; each carries its reason and is left out of the
score.

Usage::

    python benchmarks/bench_mutation.py --module variogram --max-mutants 40
    python benchmarks/bench_mutation.py            # every module in MODULES (long)
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.abc
import importlib.util
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: module key -> (import name, source file, test files that cover it)
MODULES: dict[str, tuple[str, str, list[str]]] = {
    "variogram": ("kwxmap.interpolate.variogram", "kwxmap/interpolate/variogram.py",
                  ["tests/test_variogram_known.py", "tests/test_kriging.py"]),
    "kriging": ("kwxmap.interpolate.kriging", "kwxmap/interpolate/kriging.py",
                ["tests/test_kriging.py"]),
    "contours": ("kwxmap.contours", "kwxmap/contours.py", ["tests/test_contours.py"]),
    "barnes": ("kwxmap.interpolate.barnes", "kwxmap/interpolate/barnes.py",
               ["tests/test_peers_metpy.py", "tests/test_interpolate.py"]),
    "spline": ("kwxmap.interpolate.spline", "kwxmap/interpolate/spline.py",
               ["tests/test_interpolate.py"]),
    "cv": ("kwxmap.interpolate.cv", "kwxmap/interpolate/cv.py",
           ["tests/test_cv_known.py", "tests/test_cv.py"]),
    "elevation": ("kwxmap.interpolate.elevation", "kwxmap/interpolate/elevation.py",
                  ["tests/test_interpolate.py"]),
    "join": ("kwxmap.join", "kwxmap/join.py", ["tests/test_join.py"]),
    "parse": ("kwxmap.parse", "kwxmap/parse.py",
              ["tests/test_parse_known.py", "tests/test_parse.py"]),
}

#: (module key, line, description) -> why the mutant is equivalent to the original.
EQUIVALENT: dict[tuple[str, int, str], str] = {
    ("variogram", 490, "1.0 -> 2.0"): "a start of the multi-start fit; the best start "
    "reaches the same minimum (test_automatic_fit_reaches_the_minimum_of_cressies_criterion)",
    ("variogram", 489, "0.001 -> 0.002"): "floor of a starting psill, clipped into the bounds; "
    "the optimiser moves away from it",
    ("variogram", 389, "Gt -> GtE"): "a constant row has std 0 either way: (z - mean) / 0 is "
    "0/0 = NaN, which the estimator already drops as not finite",
    ("variogram", 500, "0.001 -> 0.002"): "floor of a starting scale (power model); the "
    "optimiser moves away from it",
}

_SWAP_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
             ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.Mult}
_SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
             ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
             ast.In: ast.NotIn, ast.NotIn: ast.In}


@dataclass(frozen=True)
class Mutant:
    """One change: where it is and what it does."""

    index: int
    line: int
    description: str


def _docstring_nodes(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
            body[0].value, ast.Constant
        ) and isinstance(body[0].value.value, str):
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
                    points.append((node, f"{type(op).__name__} -> {new.__name__}",
                                   ("cmp", k, new)))
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
    points.sort(key=lambda p: (getattr(p[0], "lineno", 0), getattr(p[0], "col_offset", 0),
                               p[1]))
    return points


def mutate(source: str, index: int) -> tuple[str, Mutant]:
    """Return the source with mutation *index* applied, and its description."""
    tree = ast.parse(source)
    node, desc, how = mutation_points(tree)[index]
    line = getattr(node, "lineno", 0)
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
    return ast.unparse(tree), Mutant(index, line, desc)


class _Mutated(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serve one module's mutated source in place of its file."""

    def __init__(self, name: str, source: str, path: str):
        self.name, self.source, self.path = name, source, path

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=self.path)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = self.path
        exec(compile(self.source, self.path, "exec"), module.__dict__)


def run_tests(name: str, source: str, path: str, tests: list[str], timeout: float) -> str:
    """Run *tests* in a forked child that imports *source* as module *name*."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            sys.meta_path.insert(0, _Mutated(name, source, path))
            import pytest

            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                                "--no-header", "-o", "addopts=", *tests])
            os._exit(0 if code == 0 else 1)
        except BaseException:  # noqa: BLE001
            os._exit(2)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return "survived" if code == 0 else "killed"
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return "killed (timeout)"
        time.sleep(0.05)


def run_module(key: str, max_mutants: int | None, seed: int, timeout: float) -> dict:
    name, rel, tests = MODULES[key]
    path = str(REPO / rel)
    source = Path(path).read_text(encoding="utf-8")
    n_points = len(mutation_points(ast.parse(source)))
    indices = list(range(n_points))
    if max_mutants is not None and max_mutants < n_points:
        indices = sorted(random.Random(seed).sample(indices, max_mutants))
    tests = [str(REPO / t) for t in tests if (REPO / t).exists()]
    base = run_tests(name, source, path, tests, timeout * 3)
    if base != "survived":
        print(f"{key}: the tests fail on the unmutated module; fix them first")
        return {"key": key, "error": True}
    print(f"{key}: {n_points} mutation points, running {len(indices)} "
          f"with {', '.join(Path(t).name for t in tests)}", flush=True)
    killed, survivors, equivalent = 0, [], []
    for i in indices:
        mutated, m = mutate(source, i)
        reason = EQUIVALENT.get((key, m.line, m.description))
        if reason:
            equivalent.append((m, reason))
            continue
        t0 = time.perf_counter()
        outcome = run_tests(name, mutated, path, tests, timeout)
        print(f"  #{m.index:<4} line {m.line:<5} {m.description:<28} {outcome} "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)
        if outcome.startswith("killed"):
            killed += 1
        else:
            survivors.append(m)
    scored = killed + len(survivors)
    score = killed / scored if scored else float("nan")
    return {"key": key, "points": n_points, "run": len(indices), "killed": killed,
            "survivors": survivors, "equivalent": equivalent, "score": score}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--module", action="append", choices=sorted(MODULES),
                   help="module(s) to mutate (default: all)")
    p.add_argument("--max-mutants", type=int, default=None,
                   help="run at most N mutants per module, a seeded sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant")
    args = p.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads and fork do not mix
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))
    # heavy imports once, before forking (the children share them)
    import geopandas  # noqa: F401
    import pytest  # noqa: F401
    import scipy.optimize  # noqa: F401

    results = [run_module(k, args.max_mutants, args.seed, args.timeout)
               for k in (args.module or list(MODULES))]
    print()
    print(f"{'module':<11} {'points':>6} {'run':>5} {'killed':>7} {'survived':>9} "
          f"{'equiv':>6} {'score':>7}")
    for r in results:
        if r.get("error"):
            print(f"{r['key']:<11} tests fail on the original module")
            continue
        print(f"{r['key']:<11} {r['points']:6d} {r['run']:5d} {r['killed']:7d} "
              f"{len(r['survivors']):9d} {len(r['equivalent']):6d} {r['score']:7.1%}")
    for r in results:
        for m in r.get("survivors", []):
            print(f"survivor {r['key']} #{m.index} line {m.line}: {m.description}")
        for m, why in r.get("equivalent", []):
            print(f"equivalent {r['key']} #{m.index} line {m.line}: {m.description} ({why})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
