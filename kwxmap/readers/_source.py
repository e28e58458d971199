"""Any accepted source (text, bytes, path, file object) to text.

Bytes decode by the declared charset (``<meta charset>``, ``<?xml encoding>``),
then UTF-8 (with or without BOM), then CP949 (EUC-KR's superset, which KMA's
portal CSV downloads and typ01 ``wea`` files use). Only text codecs are
accepted: ``rot13``, ``base64`` or ``undefined`` are a :class:`ParseError`,
whether passed as ``encoding=`` or declared by a page.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

from ..errors import InputError, ParseError

__all__ = ["PATHLIKE_SUFFIX", "source_text"]

# Bounded repeats only: a head of "<meta" x 1,600 or of 8,000 spaces is one short scan.
_META_CHARSET = re.compile(
    rb"""<meta\b[^<>]{0,512}?charset\s{0,16}=\s{0,16}["']?\s{0,16}([A-Za-z0-9_.:\-]{1,40})""",
    re.IGNORECASE,
)
_XML_ENCODING = re.compile(
    rb"""<\?xml[^<>]{0,512}?encoding\s{0,16}=\s{0,16}["']([A-Za-z0-9_.\-]{1,40})"""
)
# Korean pages that say EUC-KR are really CP949 (its superset), as browsers assume.
_KOREAN_ALIASES = {"euc_kr", "ks_c_5601_1987", "ksc5601", "ks_c_5601", "korean", "cp949"}


def _codec(name: str) -> str | None:
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        return None
    # rot13, base64, hex ... are codecs but not text encodings; "undefined" always fails.
    if not getattr(info, "_is_text_encoding", True) or info.name == "undefined":
        return None
    canonical = info.name
    key = name.lower().replace("-", "_")
    if key in _KOREAN_ALIASES or canonical in ("euc_kr", "cp949"):
        return "cp949"
    return canonical


def _declared_charset(data: bytes) -> str | None:
    head = data[:8192]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return match.group(1).decode("ascii") if match else None


def _decode(data: bytes, encoding: str | None) -> str:
    """Decode input bytes: ``encoding``, else the declared charset, else UTF-8, else CP949."""
    if encoding is not None:
        codec = _codec(encoding)
        if codec is None:
            raise ParseError(
                f"unknown encoding {encoding!r}; pass a Python text codec such as "
                "'utf-8' or 'cp949'"
            )
        try:
            return data.decode(codec).removeprefix("\ufeff")
        except UnicodeError as exc:
            where = f": {exc.reason} at byte {exc.start}" if hasattr(exc, "start") else ""
            raise ParseError(
                f"input is not valid {encoding!r}{where}; "
                "check the encoding (Korean pages are usually 'utf-8' or 'cp949')"
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = []
        declared = _codec(_declared_charset(data) or "")
        # A declaration found by reading the bytes as ASCII cannot be true of
        # UTF-16/32; browsers read such a page as UTF-8, and so does kwxmap.
        if declared is not None and not declared.startswith(("utf-16", "utf-32")):
            candidates.append(declared)
        candidates += ["utf-8", "cp949"]
    tried: list[str] = []
    for codec in candidates:
        if codec in tried:
            continue
        tried.append(codec)
        try:
            return data.decode(codec).removeprefix("\ufeff")
        except (UnicodeError, LookupError):
            continue
    raise ParseError(
        f"cannot decode {len(data)} bytes of input (tried {', '.join(tried)}); "
        "pass encoding='...' with the page's encoding"
    )


def _read_path(path: Path, encoding: str | None) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"input file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"input {str(path)!r} is a folder; give a file") from None
    except OSError as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return _decode(data, encoding)


PATHLIKE_SUFFIX = re.compile(r"^[^\n]{1,255}\.(txt|html?|csv|tsv|xml|text)$", re.IGNORECASE)


def source_text(source: object, encoding: str | None) -> str:
    """Return the text of any accepted source (see :func:`parse_readings`)."""
    if isinstance(source, os.PathLike):
        return _read_path(Path(source), encoding)
    if isinstance(source, str):
        if "\n" not in source and "\r" not in source and 0 < len(source) < 4096:
            try:
                is_file = Path(source).is_file()
            except (OSError, ValueError):  # names the OS cannot represent
                is_file = False
            if is_file:
                return _read_path(Path(source), encoding)
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(bytes(source), encoding)
    read = getattr(source, "read", None)
    if callable(read):
        try:
            data = read()
        except UnicodeDecodeError as exc:  # a text-mode file opened with the wrong encoding
            raise ParseError(
                f"cannot read the file object as {exc.encoding!r}: {exc.reason} at byte "
                f"{exc.start}; open it in binary mode ('rb') so kwxmap detects the encoding"
            ) from None
        if isinstance(data, str):
            return data
        if isinstance(data, (bytes, bytearray)):
            return _decode(bytes(data), encoding)
        raise TypeError(f"file object returned {type(data).__name__} from read()")
    raise TypeError(
        "parse_readings() takes text, bytes, a path or a file object, "
        f"not {type(source).__name__}"
    )

