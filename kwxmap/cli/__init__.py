"""The ``kwxmap`` command line: a thin layer over the public API.

Each subcommand has an ``_add_<name>`` function that declares its arguments
and a ``_run_<name>`` function that calls the API: :mod:`.maps` (``map``,
``cv``, ``point``, ``batch``), :mod:`.data` (``stations``, ``parse``,
``fetch``), with the option groups they share in :mod:`.options`. ``main`` turns a
:class:`~kwxmap.errors.KwxmapError` into one line on stderr and exit code 1;
argparse usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence

from .. import __version__
from ..errors import KwxmapError, KwxmapWarning, ParseError
from .data import _add_fetch, _add_parse, _add_stations
from .maps import _add_batch, _add_cv, _add_map, _add_point
from .options import _err

__all__ = ["main"]

_Runner = Callable[[argparse.Namespace], int]

#: Options whose value may start with '-' (a negative number): ``--bbox -500,…``.
_SIGNED_VALUES = ("--bbox", "--levels", "--at")


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


def _join_signed(argv: Sequence[str]) -> list[str]:
    """Glue ``--bbox -5,…`` into ``--bbox=-5,…`` so argparse does not take it for an option."""
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        if args[i] in _SIGNED_VALUES and i + 1 < len(args) and re.match(r"-[\d.]", args[i + 1]):
            out.append(f"{args[i]}={args[i + 1]}")
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


def _cli_spelling(message: str) -> str:
    """Say ``--on-duplicate first`` where a library message says ``on_duplicate='first'``."""

    def option(m: re.Match[str]) -> str:
        return f"--{m.group(1).replace('_', '-')} " + m.group(2).replace("'", "")

    return re.sub(
        r"\b(on_unknown|on_duplicate|as_of|encoding|method|elevation|dem)="
        r"('[^']*'(?:(?:, | or )'[^']*')*)",
        option,
        message,
    )


def _quiet_stdout() -> None:
    """Send the rest of stdout to /dev/null: its reader has gone (``| head``)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success (also when stdout's reader has gone), 1 on a kwxmap
        error or when memory runs out (one line on stderr, after the
        warnings that led to it), 2 on a usage error, 130 when interrupted.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(_join_signed(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors 2
        return int(exc.code or 0)
    runner: _Runner = args.run
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KwxmapWarning)
        try:
            code = runner(args)
        except KwxmapError as exc:
            code, error = 1, _cli_spelling(str(exc))
            if getattr(args, "from_cache", False) and isinstance(exc, ParseError):
                error += " (the reply came from the cache: --no-cache asks the server again)"
        except MemoryError:
            code, error = (
                1,
                (
                    "out of memory; use a coarser --resolution, a smaller --region or fewer "
                    "timestamps"
                ),
            )
        except BrokenPipeError:
            _quiet_stdout()
            code = 0
        except KeyboardInterrupt:
            code, error = 130, "interrupted"
    for w in caught:
        if issubclass(w.category, KwxmapWarning):
            print(f"kwxmap: warning: {_cli_spelling(str(w.message))}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if error is not None:
        _err(error)
    return code


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_stations,
    _add_parse,
    _add_fetch,
    _add_cv,
    _add_map,
    _add_point,
    _add_batch,
]
