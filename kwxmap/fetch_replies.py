"""What a KMA server's reply says: data, an error to report in one line, or a retry.

Used by :func:`~kwxmap.fetch.fetch_readings` on every reply before it is
parsed or cached: an HTML page, a JSON error, data.go.kr's gateway and
``resultCode`` errors each become one :class:`~kwxmap.errors.FetchError`
line (text from the server cleaned by :func:`server_text`); a truncated
reply is :class:`Transient` (retried, never cached).
"""

from __future__ import annotations

import json
import re
import unicodedata

from .errors import FetchError

__all__ = ["Transient", "apihub_has_data", "datagokr_has_data", "datagokr_items",
           "server_text"]

_GATEWAY_CODES = {
    "1": "APPLICATION_ERROR", "4": "HTTP_ERROR", "12": "NO_OPENAPI_SERVICE_ERROR",
    "20": "SERVICE_ACCESS_DENIED_ERROR", "22": "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR",
    "30": "SERVICE_KEY_IS_NOT_REGISTERED_ERROR", "31": "DEADLINE_HAS_EXPIRED_ERROR",
    "32": "UNREGISTERED_IP_ERROR", "99": "UNKNOWN_ERROR",
}
_FIXES = {
    "20": "apply for this service (활용신청) on data.go.kr",
    "22": "the daily request quota is used up; wait until tomorrow or ask data.go.kr for more",
    "30": "the service key is not registered for this service (a new key takes up to an hour "
          "to work); use the 일반 인증키 (Decoding) shown on data.go.kr",
    "31": "the key's period of use has ended; extend it on data.go.kr",
    "32": "the key is bound to other IP addresses; add this one on data.go.kr",
}


def server_text(text: str, limit: int = 160) -> str:
    r"""Return text a server sent as one short line: no control characters, cut to ``limit``.

    Examples
    --------
    >>> server_text("bad\x1b[31m key\r\nline two\u202e" + "x" * 300)[:30]
    'bad[31m key line twoxxxxxxxxxx'
    >>> len(server_text("y" * 1000))
    160
    """
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text[: limit * 4]
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    line = " ".join(kept.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Transient(Exception):
    """A failure worth retrying: timeout, 5xx, a broken or truncated reply."""


def _html_title(body: bytes) -> str | None:
    head = body[:2048].decode("utf-8", "replace")
    if not re.search(r"<!doctype html|<html", head, re.IGNORECASE):
        return None
    m = re.search(r"<title[^<>]{0,200}>([^<]{0,400})", head, re.IGNORECASE)
    return server_text(m.group(1)) if m else ""


def apihub_has_data(body: bytes) -> bool:
    """Raise for an error reply; return whether the reply holds data lines."""
    title = _html_title(body)
    if title is not None:
        raise FetchError(f"apihub: returned an HTML page ({title!r}) instead of data; the key "
                         "or the request is wrong, or the API Hub is down")
    text = body.decode("utf-8", "replace").strip()  # the client caps its size
    if text.startswith("{"):
        try:
            message = json.dumps(json.loads(text[:65536]), ensure_ascii=False)
        except (ValueError, RecursionError):
            message = text
        raise FetchError(f"apihub: returned an error instead of data: {server_text(message)}")
    if "#7777END" not in text[-200:]:
        raise Transient("truncated reply (no '#7777END' line)")
    return any(line.strip() and not line.startswith("#") for line in text.splitlines())


def _gateway_error(body: bytes) -> FetchError | None:
    text = body[:65536].decode("utf-8", "replace")
    if "<OpenAPI_ServiceResponse" not in text[:500]:
        return None
    code = (re.search(r"<returnReasonCode>\s{0,40}(\d{1,6})", text) or [None, "?"])[1]
    auth = server_text((re.search(r"<returnAuthMsg>([^<]{0,400})", text) or [None, ""])[1])
    code = str(int(code)) if code.isdigit() else code
    name = auth or _GATEWAY_CODES.get(code, "SERVICE ERROR")
    fix = _FIXES.get(code, "check the service key and the request")
    return FetchError(f"data-go-kr: service error {code} {name}; {fix}")


def datagokr_items(body: bytes) -> list[dict]:
    """Return the items of a data.go.kr JSON reply (``[]`` for NO_DATA); raise for an error."""
    error = _gateway_error(body)
    if error is not None:
        raise error
    title = _html_title(body)
    if title is not None:
        raise FetchError(f"data-go-kr: returned an HTML page ({title!r}) instead of data; "
                         "check the service key and the request")
    try:
        data = json.loads(body.decode("utf-8"), parse_int=str)
        header = data["response"]["header"]
        code = server_text(str(header.get("resultCode", "")), 12)
        message = server_text(str(header.get("resultMsg", "")))
        items = (data["response"].get("body") or {}).get("items") or {}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise Transient("truncated or malformed JSON reply") from None
    if code in ("03", "3"):  # NO_DATA: nothing for this station and time
        return []
    if code not in ("00", "0"):
        fix = _FIXES.get(str(int(code)) if code.isdigit() else code,
                         "check the dates and station ids of the request")
        raise FetchError(f"data-go-kr: resultCode {code} {message}; {fix}")
    item = items.get("item", []) if isinstance(items, dict) else []
    item = [item] if isinstance(item, dict) else item
    return [i for i in item if isinstance(i, dict)] if isinstance(item, list) else []


def datagokr_has_data(body: bytes) -> bool:
    """Raise for an error reply; return whether it holds items (NO_DATA is not cached)."""
    return bool(datagokr_items(body))
