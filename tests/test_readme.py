"""Every README block and every example script runs, as written, in a fresh clone.

The checker clones the repository this test runs from (``git clone`` of its
committed HEAD: commit before running; uncommitted edits are not seen, exactly
as a user who clones would not see them), then in the clone:

- runs every fenced ``bash``/``sh``/``python`` block of ``README.md`` top to
  bottom, each as written (shell blocks under ``bash -e -o pipefail``, so every
  line must succeed), and checks exit 0 and the files the block promises: the
  paths given to ``-o``/``--output``/``--geojson-dir`` in shell blocks and the
  path literals given to ``write_*(...)``/``.save(...)`` in Python blocks;
- runs every ``examples/*.py`` alone in its own fresh clone (so no example
  relies on another having created a folder) and checks exit 0 and the
  ``out/...`` paths its docstring promises.

A fenced block that is an illustration (a synopsis, pasted output) must carry
an HTML comment ``<!-- not-run: why -->`` on the line before its fence; any
other block that is not runnable fails the check, so nothing is skipped
silently.

Two commands are run by a cheaper equivalent, each for the reason in
:data:`CHEAPER`: ``pip install`` gets ``--no-deps --no-build-isolation`` (the
dependencies are the ones this environment already has; the build itself, the
wheel and its data files are real) into a throwaway venv that sees this
environment's packages, and ``python -m pytest`` collects the suite instead of
running it (this test is part of that suite; ``.ci/run`` runs the same
command in full).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUNNABLE = {"bash": "shell", "sh": "shell", "shell": "shell", "python": "python"}
NOT_RUN = re.compile(r"<!--\s*not-run\b:?\s*(.*?)\s*-->")

#: Commands run by a cheaper equivalent: regex -> (replacement, why).
CHEAPER: dict[str, tuple[str, str]] = {
    r"\bpip install\b(?! --no-deps)": (
        "pip install --no-deps --no-build-isolation",
        "the dependencies are already installed here and CI has no other network; "
        "the build of kwxmap itself (wheel, data files, console script) is real",
    ),
    r"\bpython -m pytest\b(?=\s*($|&&|;|\n))": (
        "python -m pytest --collect-only -q -p no:cacheprovider",
        "this test is part of the suite; .ci/run runs the same command in full",
    ),
}


@dataclass(frozen=True)
class Block:
    """A fenced block of the README: language, text, line of its fence, not-run reason."""

    lang: str
    text: str
    line: int
    not_run: str | None


def readme_blocks(text: str) -> list[Block]:
    """Split Markdown into its fenced blocks, noting a ``<!-- not-run -->`` marker."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not fence:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence[1]):
            body.append(lines[i])
            i += 1
        prev = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        marker = NOT_RUN.search(prev)
        blocks.append(
            Block(fence[2].lower(), "\n".join(body) + "\n", start + 1,
                  marker[1] or "marked not-run" if marker else None)
        )
        i += 1
    return blocks


def cheaper(command: str) -> str:
    """Apply :data:`CHEAPER` to a shell block."""
    for pattern, (replacement, _why) in CHEAPER.items():
        command = re.sub(pattern, replacement, command, flags=re.MULTILINE)
    return command


def shell_promises(command: str) -> list[str]:
    """Output paths a shell block names: ``-o X``, ``--output X``, ``--geojson-dir X``."""
    out = []
    for line in command.splitlines():
        if line.lstrip().startswith("#"):
            continue
        words = shlex.split(line, comments=True)
        for flag, value in zip(words, words[1:], strict=False):
            if flag in ("-o", "--output", "--geojson-dir"):
                out.append(value)
        out += [w.split("=", 1)[1] for w in words if w.startswith(("--output=", "--geojson-dir="))]
    return out


def python_promises(code: str) -> list[str]:
    """Path literals passed to ``write_*(...)`` or ``.save(...)`` in Python code."""
    out = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if name.startswith("write_") or name == "save":
            strings = [a.value for a in node.args if isinstance(a, ast.Constant)
                       and isinstance(a.value, str)]
            out += strings[-1:]
    return out


def example_promises(script: Path) -> list[str]:
    """The ``out/...`` paths an example's docstring says it writes."""
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
    return re.findall(r"``(out/[^`]+)``", doc)


def fresh_clone(dest: Path, source: Path = REPO) -> Path:
    """``git clone`` *source*'s HEAD into *dest*."""
    subprocess.run(["git", "clone", "--quiet", str(source), str(dest)], check=True,
                   capture_output=True, timeout=120)
    return dest


def _missing(paths: list[str], cwd: Path) -> list[str]:
    missing = []
    for p in paths:
        target = cwd / p
        if not target.exists() or (target.is_dir() and not any(target.iterdir())):
            missing.append(p)
    return missing


def _run(argv: list[str], cwd: Path, env: dict[str, str], what: str,
         promises: list[str]) -> list[str]:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-4:]
        return [f"{what}: exit {proc.returncode}: " + " | ".join(tail)]
    missing = _missing(promises, cwd)
    return [f"{what}: exit 0 but did not write {missing}"] if missing else []


def check_readme(text: str, clone: Path, env: dict[str, str], scratch: Path) -> list[str]:
    """Run every block of README *text* in *clone*; return the problems (empty: all good)."""
    problems = []
    for n, block in enumerate(readme_blocks(text)):
        where = f"README block at line {block.line}"
        if block.not_run is not None:
            continue
        kind = RUNNABLE.get(block.lang)
        if kind is None:
            problems.append(f"{where} ({block.lang or 'no language'}) is neither runnable nor "
                            "marked <!-- not-run: why --> on the line before its fence")
        elif kind == "shell":
            script = scratch / f"block{n}.sh"
            script.write_text(cheaper(block.text), encoding="utf-8")
            problems += _run(["bash", "-e", "-o", "pipefail", str(script)], clone, env, where,
                             shell_promises(block.text))
        else:
            script = scratch / f"block{n}.py"
            script.write_text(block.text, encoding="utf-8")
            problems += _run([env.get("KWXMAP_PYTHON", sys.executable), str(script)], clone,
                             env, where, python_promises(block.text))
    return problems


def check_example(script: Path, clone: Path, env: dict[str, str]) -> list[str]:
    """Run one example script from the root of *clone*, as its docstring says."""
    rel = script.relative_to(clone)
    return _run([env.get("KWXMAP_PYTHON", sys.executable), str(rel)], clone, env,
                f"python {rel}", example_promises(script))


def user_env(venv: Path | None = None, *, pythonpath: Path | None = None) -> dict[str, str]:
    """A user's environment: no PYTHONPATH (or *pythonpath*), *venv* first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["KWXMAP_PYTHON"] = str(venv / "bin" / "python")
    return env


needs_git = pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(),
    reason="needs git and a git checkout of kwxmap (the test clones it)",
)


def make_venv(venv: Path) -> Path:
    """A throwaway venv that sees the packages of the environment running the tests.

    ``--system-site-packages`` would show the *base* interpreter's packages,
    which a user's virtualenv does not share: when the suite runs inside a
    venv (as the README asks), they lack pandas, hatchling and the rest. A
    ``.pth`` file lists this environment's own site-packages instead; its
    ``.pth`` files (an editable kwxmap among them) are not read, so the clone's
    install is the kwxmap the venv imports.
    """
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                   capture_output=True, timeout=300)
    inner = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           check=True, capture_output=True, text=True).stdout.strip()
    outer = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    Path(inner, "_kwxmap_test_outer_env.pth").write_text("\n".join(outer) + "\n")
    return venv


@needs_git
@pytest.mark.slow
def test_readme_runs_top_to_bottom_in_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "kwxmap")
    venv = make_venv(tmp_path / "venv")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    text = (clone / "README.md").read_text(encoding="utf-8")
    assert [b for b in readme_blocks(text) if b.not_run is None], "no runnable README block"
    problems = check_readme(text, clone, user_env(venv), scratch)
    assert not problems, "\n".join(problems)
    # the pip line really installed this clone (not the developer's checkout)
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import kwxmap; print(kwxmap.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path,
                           env=user_env(venv))
    assert str(clone) in where.stdout or str(venv) in where.stdout, where.stdout


#: The examples the README does not run already (its test runs those in a fresh clone).
EXAMPLES = sorted(
    p.name for p in (REPO / "examples").glob("*.py")
    if not any(f"examples/{p.name}" in b.text for b in readme_blocks(
        (REPO / "README.md").read_text(encoding="utf-8")) if b.not_run is None)
)


@needs_git
@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_runs_alone_in_a_fresh_clone(tmp_path, name):
    clone = fresh_clone(tmp_path / "kwxmap")
    problems = check_example(clone / "examples" / name, clone, user_env(pythonpath=clone))
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------- the checker can fail


@needs_git
def test_checker_fails_on_a_broken_copy_of_an_example(tmp_path):
    clone = fresh_clone(tmp_path / "kwxmap")
    script = clone / "examples" / "regional_snapshot.py"
    text = script.read_text(encoding="utf-8")
    assert 'region="충북"' in text
    script.write_text(text.replace('region="충북"', 'region="충븍"'), encoding="utf-8")
    problems = check_example(script, clone, user_env(pythonpath=clone))
    assert len(problems) == 1
    assert problems[0].startswith("python examples/regional_snapshot.py: exit 1")
    assert "충븍" in problems[0]  # the KwxmapError's line, quoting the bad name


def test_checker_fails_when_an_example_does_not_write_what_it_promises(tmp_path):
    (tmp_path / "examples").mkdir()
    script = tmp_path / "examples" / "quiet.py"
    script.write_text('"""Writes ``out/quiet/map.html``."""\nprint("done")\n', encoding="utf-8")
    assert check_example(script, tmp_path, user_env()) == [
        "python examples/quiet.py: exit 0 but did not write ['out/quiet/map.html']"
    ]


def test_checker_fails_on_a_broken_or_unmarked_readme_block(tmp_path):
    readme = (
        "# x\n\n```bash\nmkdir -p layers\nfalse\necho never > reached.txt\n```\n\n"
        "```\nkwxmap map INPUT\n```\n\n"
        "<!-- not-run: an illustration -->\n```\nkwxmap batch TABLE\n```\n\n"
        "```python\nopen('made.txt', 'w').write('x')\n```\n\n"
        "```bash\necho hi  # says it writes -o\ntrue -o promised.html\n```\n"
    )
    problems = check_readme(readme, tmp_path, user_env(), tmp_path)
    assert problems == [
        "README block at line 3: exit 1: ",
        "README block at line 9 (no language) is neither runnable nor marked "
        "<!-- not-run: why --> on the line before its fence",
        "README block at line 22: exit 0 but did not write ['promised.html']",
    ]
    assert (tmp_path / "layers").is_dir() and not (tmp_path / "reached.txt").exists()
    assert (tmp_path / "made.txt").read_text() == "x"


def test_promised_outputs_are_read_from_commands_and_code():
    assert shell_promises(
        "# comment -o no.html\nkwxmap map in.txt -o map.html --geojson-dir layers\n"
        "kwxmap stations --output=st.shp\n"
    ) == ["map.html", "layers", "st.shp"]
    assert python_promises(
        'kwxmap.write_html(m, "map.html"); kwxmap.write_geojson(b, "bands.geojson")\n'
        'snap.save("out/")\nprint("x.html")\n'
    ) == ["map.html", "bands.geojson", "out/"]


def test_heavy_commands_get_their_cheaper_equivalent():
    got = cheaper('pip install . && kwxmap map x -o m.html\npip install -e ".[test]" && '
                  "python -m pytest\n")
    assert got == (
        "pip install --no-deps --no-build-isolation . && kwxmap map x -o m.html\n"
        'pip install --no-deps --no-build-isolation -e ".[test]" && '
        "python -m pytest --collect-only -q -p no:cacheprovider\n"
    )


def test_readme_links_resolve_in_the_repository():
    """Every link of the README is a web address or a file committed in the repository.

    kwxmap has no public web address yet, so the screenshots are linked by their
    repository path (they show in a clone and on a code host; the package index,
    which has no repository, shows their alt text).
    """
    text = (REPO / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)", text)
    relative = [u for u in links if not re.match(r"(https?:|mailto:|#)", u)]
    tracked = set(
        subprocess.run(
            ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    missing = [u for u in relative if u.split("#")[0] not in tracked]
    assert missing == [], f"README links to files the repository does not hold: {missing}"


# ------------------------------------------------------------- README synopsis == --help


def _help(argv: list[str]) -> str:
    """The text ``kwxmap ARGV --help`` prints, from the parser itself (public argparse API)."""
    import contextlib
    import io

    from kwxmap.cli import _build_parser

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        _build_parser().parse_args([*argv, "--help"])
    return out.getvalue()


def help_subcommands() -> list[str]:
    """Subcommand names listed by ``kwxmap --help``."""
    text = _help([])
    section = text.split("positional arguments:", 1)[1].split("options:", 1)[0]
    return re.findall(r"^ {4}([a-z][\w-]*)\b", section, flags=re.MULTILINE)


def help_options(sub: str) -> dict[frozenset[str], set[str] | None]:
    """Options of ``kwxmap SUB --help``: their aliases -> their choices (None: free value)."""
    text = _help([sub])
    found: dict[frozenset[str], set[str] | None] = {}
    for line in text.splitlines():
        if not re.match(r"^ {2}-", line):
            continue
        entry = re.split(r" {2,}", line.strip())[0]
        aliases = frozenset(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", entry))
        if aliases & {"-h", "--help"}:
            continue
        choices = re.search(r"\{([^}]*)\}", entry)
        found[aliases] = set(choices[1].split(",")) if choices else None
    return found


def readme_synopsis(text: str) -> dict[str, dict[str, set[str] | None]]:
    """The README's ``kwxmap SUB ...`` synopsis: SUB -> {option: README's choices or None}."""
    block = next(b for b in readme_blocks(text) if re.match(r"kwxmap \w", b.text))
    subs: dict[str, dict[str, set[str] | None]] = {}
    current = None
    for line in block.text.splitlines():
        head = re.match(r"^kwxmap ([\w-]+)", line)
        if head:
            current = subs.setdefault(head[1], {})
        if current is None:
            continue
        for flag, value in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)(?:[ =]([^\s\]]+))?", line):
            choices = set(value.split("|")) if value and "|" in value else None
            current[flag] = choices
    return subs


def test_readme_synopsis_lists_every_subcommand_and_option_of_the_help():
    synopsis = readme_synopsis((REPO / "README.md").read_text(encoding="utf-8"))
    subs = help_subcommands()
    assert subs, "no subcommands found in kwxmap --help"
    assert sorted(synopsis) == sorted(subs)
    problems = []
    for sub in subs:
        documented = synopsis[sub]
        options = help_options(sub)
        for aliases, choices in options.items():
            named = aliases & set(documented)
            if not named:
                problems.append(f"kwxmap {sub}: {'/'.join(sorted(aliases))} is not in the README")
                continue
            readme_choices = documented[min(named)]
            if choices is not None and readme_choices is not None and readme_choices != choices:
                problems.append(f"kwxmap {sub} {min(named)}: README says "
                                f"{'|'.join(sorted(readme_choices))}, --help says "
                                f"{'|'.join(sorted(choices))}")
        known = set().union(*options) if options else set()
        problems += [f"kwxmap {sub}: README lists {flag}, which --help does not have"
                     for flag in documented if flag not in known]
    assert not problems, "\n".join(problems)


def test_synopsis_reader_sees_options_and_choices():
    text = ("<!-- not-run: synopsis -->\n```\nkwxmap map INPUT -o map.html [--tiles osm|none]\n"
            "                [--region NAME | --bbox W,S,E,N] [--cv]\nkwxmap parse -\n```\n")
    assert readme_synopsis(text) == {
        "map": {"-o": None, "--tiles": {"osm", "none"}, "--region": None, "--bbox": None,
                "--cv": None},
        "parse": {},
    }
