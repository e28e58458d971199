"""The ``kwxmap`` command line: a thin layer over the public API.

Each subcommand has an ``_add_<name>`` function that declares its arguments
and a ``_run_<name>`` function that calls the API. ``main`` turns a
:class:`~kwxmap.errors.KwxmapError` into one line on stderr and exit code 1;
argparse usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from . import __version__
from .errors import KwxmapError, KwxmapWarning

__all__ = ["main"]

_Runner = Callable[[argparse.Namespace], int]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kwxmap",
        description="Korean weather-station readings to maps.",
    )
    parser.add_argument("--version", action="version", version=f"kwxmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def _err(message: str) -> None:
    print(f"kwxmap: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success, 1 on a kwxmap error (message on stderr), 2 on a usage error.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors 2
        return int(exc.code or 0)
    runner: _Runner = args.run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KwxmapWarning)
        try:
            code = runner(args)
        except KwxmapError as exc:
            code = 1
            _err(str(exc))
        except KeyboardInterrupt:
            code = 130
            _err("interrupted")
    for w in caught:
        if issubclass(w.category, KwxmapWarning):
            print(f"kwxmap: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return code


# --- subcommands -------------------------------------------------------------


def _add_stations(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stations", help="list or export the station registry")
    p.set_defaults(run=_run_stations)


def _run_stations(args: argparse.Namespace) -> int:
    from .stations import load_stations

    print(load_stations())
    return 0


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_stations,
]
