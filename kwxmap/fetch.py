"""Fetch readings from KMA: the API Hub and the 공공데이터포털 open API.

:func:`fetch_readings` builds the documented request, retries transient
failures with exponential backoff, keeps a minimum interval between
requests, caches every successful response on disk by request, and turns
HTTP, authentication, quota and API errors into one :class:`FetchError`
line. It returns the raw body with the reader name that reads it
(:meth:`Fetched.readings` hands both to :func:`kwxmap.parse_readings`).

Requests (``time`` in KST, ``YYYYMMDDHHMI``):

``source="apihub"`` — KMA API Hub (https://apihub.kma.go.kr, 인증키 ``authKey``;
the typ01 URL pattern ``/api/typ01/url/{endpoint}?authKey=…`` and
``/api/typ01/cgi-bin/url/nph-aws2_min`` as listed in the API Hub's
지상관측 menu):

- ``network="aws"`` or ``"all"``: ``/api/typ01/cgi-bin/url/nph-aws2_min?tm2=
  {time}&stn=0&disp=0&help=1`` — one-minute data of every AWS site, ASOS
  sites included (reader ``aws2_min``);
- ``network="asos"``: ``/api/typ01/url/kma_sfctm2.php?tm={time}&stn=0&help=1``
  — ASOS hourly (reader ``sfctm2``);
- ``daily=True`` (ASOS): ``/api/typ01/url/kma_sfcdd.php?tm={YYYYMMDD}&stn=0
  &help=1`` (reader ``sfcdd``).

``source="data-go-kr"`` — 공공데이터포털 기상청 지상(종관, ASOS) 시간자료/일자료
조회서비스 (``serviceKey``; ASOS only, one station per request):
``https://apis.data.go.kr/1360000/AsosHourlyInfoService/getWthrDataList?
dataType=JSON&dataCd=ASOS&dateCd=HR&startDt={YYYYMMDD}&startHh={HH}&endDt=…
&endHh=…&stnIds={id}&numOfRows=10&pageNo=1`` and ``AsosDalyInfoService/
getWthrDataList`` with ``dateCd=DAY`` (daily). Each station's reply is
merged into one ``response.body.items.item[]`` JSON body (reader
``datagokr_json``). The gateway's error envelope (``OpenAPI_ServiceResponse``
with ``returnReasonCode``: 22 ``LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_
ERROR``, 30 ``SERVICE_KEY_IS_NOT_REGISTERED_ERROR``, …) and a ``resultCode``
other than ``00`` (``03`` no data is skipped) become a FetchError.

The key comes from ``KMA_APIHUB_KEY`` or ``DATA_GO_KR_KEY`` unless given. It
is sent only in the request: it is never logged, never in an error message,
never part of a cache file's name or content.

Every request is bounded: ``timeout`` seconds of silence (30), ``max_seconds``
for the whole request, headers included (120), and ``max_bytes`` of body
(64 MiB; a whole-network reply is about 100 KB). A reply over a limit, a
malformed status line, a header line over 64 KiB or more than 100 headers is
one :class:`~kwxmap.errors.FetchError` line. Text a server sends back (an HTML
title, a JSON error, ``returnAuthMsg``) is cut to one line of at most 160
characters with control characters removed, and the key masked. Only replies
that hold data are cached; a cached reply that no longer passes the checks is
dropped and asked for again.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import http.client
import json
import logging
import os
import socket
import ssl
import threading
import time as _time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._data import user_cache_dir
from .errors import FetchError, InputError
from .fetch_replies import (
    Transient,
    apihub_has_data,
    datagokr_has_data,
    datagokr_items,
    server_text,
)
from .kmatime import KST
from .readers import parse_readings

__all__ = ["KEY_ENV", "MAX_BYTES", "MAX_SECONDS", "SOURCES", "Fetched", "fetch_readings",
           "server_text"]

#: Where each source is, and which environment variable holds its key.
SOURCES = {
    "apihub": "https://apihub.kma.go.kr",
    "data-go-kr": "https://apis.data.go.kr",
}
KEY_ENV = {"apihub": "KMA_APIHUB_KEY", "data-go-kr": "DATA_GO_KR_KEY"}
NETWORKS = ("aws", "asos", "all")

_log = logging.getLogger("kwxmap")
_TRANSIENT_HTTP = (500, 502, 503, 504)
@dataclass(frozen=True)
class Fetched:
    """A fetched response.

    Attributes
    ----------
    body
        The response body as KMA sent it (data.go.kr: one JSON body holding
        the items of every station's reply).
    input_format
        The reader that reads it (``aws2_min``, ``sfctm2``, ``sfcdd``,
        ``datagokr_json``).
    requests
        HTTP requests made (retries included); 0 when all came from the cache.
    cache_hits
        Requests answered from the cache.
    """

    body: bytes
    input_format: str
    requests: int
    cache_hits: int

    def readings(self, **kwargs: Any) -> Any:
        """Return ``parse_readings(body, input_format=...)`` (keyword arguments pass on)."""
        return parse_readings(self.body, input_format=self.input_format, **kwargs)


#: Defaults of the request limits (documented in :func:`fetch_readings`).
MAX_BYTES = 64 * 2**20
MAX_SECONDS = 120.0
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class _Client:
    """One call's requests: limits, retries, backoff, the rate limit and the cache."""

    key: str
    source: str
    cache: Path
    read_cache: bool
    timeout: float
    retries: int
    backoff: float
    min_interval: float
    sleep: Callable[[float], None]
    max_bytes: int = MAX_BYTES
    max_seconds: float = MAX_SECONDS
    requests: int = 0
    cache_hits: int = 0
    _last: float | None = None

    def redact(self, text: str) -> str:
        forms = {self.key, urllib.parse.quote(self.key, safe=""), urllib.parse.quote(self.key),
                 urllib.parse.quote_plus(self.key), self.key.replace("+", " ")}
        if "%" in self.key:
            forms.add(urllib.parse.unquote(self.key))
        for form in sorted(forms, key=len, reverse=True):
            if len(form) >= 4:
                text = text.replace(form, "***")
        return text

    def get(self, url: str, params: dict[str, str], key_param: str,
            check: Callable[[bytes], bool]) -> bytes:
        """Return the body of one request, from the cache when it holds a good reply.

        ``check`` raises on a reply that is an error and returns whether the
        reply holds data (only those are cached).
        """
        query = urllib.parse.urlencode(params)
        shown = f"{url}?{query}"
        digest = hashlib.sha256(shown.encode("utf-8")).hexdigest()[:32]
        cache_file = self.cache / f"{self.source}-{digest}.body"
        if self.read_cache and cache_file.is_file():
            body = cache_file.read_bytes()
            try:
                if check(body):
                    self.cache_hits += 1
                    _log.debug("kwxmap fetch: cached %s", shown)
                    return body
            except (FetchError, Transient):
                pass
            _log.info("kwxmap fetch: the cached reply for %s is bad; asking again", shown)
            cache_file.unlink(missing_ok=True)
        key = self.key if "%" in self.key else urllib.parse.quote(self.key, safe="")
        full = f"{shown}&{key_param}={key}"
        attempt = 0
        while True:
            self._wait()
            self.requests += 1
            _log.debug("kwxmap fetch: GET %s (key hidden)", shown)
            try:
                body = self._once(full, shown)
                keep = check(body)
            except Transient as exc:
                if attempt >= self.retries:
                    tries = "1 try" if attempt == 0 else f"{attempt + 1} tries"
                    raise FetchError(self.redact(
                        f"{self.source}: {exc} after {tries} ({shown}); "
                        "KMA's server is slow or down: try again later")) from None
                delay = self.backoff * 2 ** attempt
                _log.info("kwxmap fetch: %s; retrying in %.1f s", self.redact(str(exc)), delay)
                self.sleep(delay)
                attempt += 1
                continue
            except FetchError as exc:
                raise FetchError(self.redact(str(exc))) from None
            break
        if keep:
            self._store(cache_file, body)
        return body

    def _store(self, cache_file: Path, body: bytes) -> None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            tmp.write_bytes(body)
            tmp.replace(cache_file)
        except OSError as exc:  # a read-only cache only costs the next request
            _log.warning("kwxmap fetch: cannot cache the reply in %s: %s", self.cache, exc)

    def _wait(self) -> None:
        now = _time.monotonic()
        if self._last is not None and now - self._last < self.min_interval:
            self.sleep(self.min_interval - (now - self._last))
        self._last = _time.monotonic()

    def _once(self, full: str, shown: str) -> bytes:
        """One GET, following up to three http(s) redirects; the body of a 2xx reply."""
        url = full
        for _ in range(4):
            status, reason, location, body = self._exchange(url, shown)
            if status in _REDIRECTS and location:
                target = urllib.parse.urljoin(url, location)
                if urllib.parse.urlsplit(target).scheme not in ("http", "https"):
                    raise FetchError(f"{self.source}: {shown} redirected to a "
                                     f"{urllib.parse.urlsplit(target).scheme or 'relative'} "
                                     "address; only http(s) is followed")
                url = target
                continue
            if status in _TRANSIENT_HTTP:
                raise Transient(f"HTTP {status} {server_text(reason, 60)}")
            if status >= 300:
                raise FetchError(_http_message(self.source, status, server_text(reason, 60),
                                               shown))
            return body
        raise FetchError(f"{self.source}: {shown} redirected more than 3 times")

    def _exchange(self, url: str, shown: str) -> tuple[int, str, str, bytes]:
        """Send one request; return status, reason, Location and body, within the limits."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"{self.source}: cannot reach {shown}: not an http(s) address; "
                             "check --base-url")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout,
                context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port,
                                                    timeout=self.timeout)
        expired = threading.Event()

        def cut() -> None:  # the whole request took too long: end it wherever it waits
            expired.set()
            sock = connection.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        watchdog = threading.Timer(self.max_seconds, cut)
        watchdog.daemon = True
        watchdog.start()
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            connection.request("GET", target, headers={"User-Agent": "kwxmap"})
            response = connection.getresponse()
            location = response.getheader("Location", "") or ""
            length = response.getheader("Content-Length", "") or ""
            if length.strip().isdigit() and int(length) > self.max_bytes:
                raise FetchError(f"{self.source}: the reply to {shown} announces "
                                 f"{int(length):,} bytes, {self._over}")
            chunks, size = [], 0
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"{self.source}: the reply to {shown} is {self._over}")
                chunks.append(chunk)
            if expired.is_set():
                raise TimeoutError
            if response.length:  # the connection closed before Content-Length bytes came
                raise Transient("connection broken (IncompleteRead)")
            return response.status, response.reason or "", location, b"".join(chunks)
        except (FetchError, Transient):
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise self._failure(exc, shown, expired.is_set()) from None
        finally:
            watchdog.cancel()
            connection.close()

    @property
    def _over(self) -> str:
        return (f"over the {self.max_bytes:,}-byte limit (max_bytes); is --base-url a KMA "
                "server?")

    def _failure(self, exc: BaseException, shown: str, expired: bool) -> Exception:
        """Return the error (retried or final) for a request that failed with ``exc``."""
        if expired:
            return FetchError(f"{self.source}: no complete reply within {self.max_seconds:g} s "
                              f"({shown}); the server is too slow (max_seconds)")
        if isinstance(exc, TimeoutError):
            return Transient(f"no answer within {self.timeout:g} s")
        if isinstance(exc, ConnectionRefusedError):
            return FetchError(f"{self.source}: cannot reach {shown}: connection refused; "
                              "check the network or --base-url")
        if isinstance(exc, (http.client.IncompleteRead, http.client.RemoteDisconnected,
                            ConnectionError)):
            return Transient(f"connection broken ({type(exc).__name__})")
        if isinstance(exc, http.client.HTTPException):  # bad status line, huge/many headers
            return FetchError(f"{self.source}: a malformed HTTP reply from {shown} "
                              f"({type(exc).__name__}: {server_text(str(exc), 80)})")
        if isinstance(exc, ssl.SSLError):
            return FetchError(f"{self.source}: cannot reach {shown}: TLS error "
                              f"({server_text(str(exc), 80)})")
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return FetchError(f"{self.source}: cannot reach {shown}: {server_text(why, 80)}; "
                          "check the network or --base-url")


def _http_message(source: str, code: int, reason: str, shown: str) -> str:
    env = KEY_ENV[source]
    if code in (401, 403):
        fix = f"the key was refused: check {env} (or --key) and that the key may use this API"
    elif code == 429:
        fix = "too many requests (quota or rate limit): wait, or raise min_interval"
    elif code == 404:
        fix = "the endpoint does not exist: check --base-url"
    else:
        fix = "the request was refused"
    return f"{source}: HTTP {code} {reason} for {shown}; {fix}"


def _kst(time: str | _dt.datetime) -> _dt.datetime:
    if isinstance(time, str):
        try:
            value = _dt.datetime.fromisoformat(time.strip())
        except ValueError:
            raise InputError(f"time {time!r} is not a time; give e.g. '2026-12-01T09:00' "
                             "(KST unless it has a zone)") from None
    elif isinstance(time, _dt.datetime):
        value = time
    else:
        raise InputError(f"time {time!r} is not a time; give e.g. '2026-12-01T09:00'")
    return value.replace(tzinfo=KST) if value.tzinfo is None else value.astimezone(KST)


def fetch_readings(
    source: str = "apihub",
    *,
    time: str | _dt.datetime,
    network: str | None = None,
    daily: bool = False,
    key: str | None = None,
    base_url: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    stations: Sequence[int] | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    min_interval: float = 0.2,
    sleep: Callable[[float], None] = _time.sleep,
    max_bytes: int = MAX_BYTES,
    max_seconds: float = MAX_SECONDS,
) -> Fetched:
    """Fetch the readings of one time from KMA.

    Parameters
    ----------
    source
        ``"apihub"`` (KMA API Hub) or ``"data-go-kr"`` (공공데이터포털).
    time
        The observation time, KST unless it carries a zone
        (``"2026-12-01T09:00"``). The day, for ``daily``.
    network
        ``"aws"``, ``"asos"`` or ``"all"``; default ``"all"`` for the API Hub
        (``nph-aws2_min`` holds every station) and ``"asos"`` for data.go.kr,
        which serves ASOS only.
    daily
        Daily values (``kma_sfcdd`` / ``AsosDalyInfoService``; ASOS only).
    key
        The API key; ``$KMA_APIHUB_KEY`` / ``$DATA_GO_KR_KEY`` when None.
    base_url
        Another server (a mirror, or a local test server); :data:`SOURCES` when None.
    cache_dir
        Where responses are cached; ``fetch/`` in the kwxmap cache folder
        (:func:`kwxmap._data.user_cache_dir`) when None.
    use_cache
        False: always ask the server (the answer still refreshes the cache).
        The cache file name is a hash of the request without the key.
    stations
        data.go.kr station ids (one request each); the ASOS stations
        observing at ``time`` when None.
    timeout, retries, backoff
        Seconds of silence before a request counts as timed out; how often a
        timeout, a 5xx reply, a broken connection or a truncated body is
        retried, after ``backoff``, ``2*backoff``, ``4*backoff`` … seconds.
    min_interval
        Seconds at least between two requests.
    sleep
        The function that waits (tests pass a recorder).
    max_bytes
        The largest body accepted (64 MiB); a larger one, announced or sent,
        is a FetchError.
    max_seconds
        The longest one request may take, from connecting to the last byte
        (120 s); a server that drips its reply is cut off there (not retried).

    Returns
    -------
    Fetched
        The body, its reader name, and how many requests it took.

    Raises
    ------
    InputError
        Unknown source or network, a bad time, no key.
    FetchError
        The server refused or failed (one line, the key never in it).

    Examples
    --------
    >>> fetch_readings("data-go-kr", time="2026-12-01T09:00", network="aws", key="k")
    Traceback (most recent call last):
    ...
    kwxmap.errors.InputError: data-go-kr serves ASOS stations only, not network 'aws'; use source='apihub' for AWS
    """  # noqa: E501
    if source not in SOURCES:
        raise InputError(f"source {source!r} is not one of {', '.join(map(repr, SOURCES))}")
    network = network or ("all" if source == "apihub" else "asos")
    if network not in NETWORKS:
        raise InputError(f"network {network!r} is not one of {', '.join(map(repr, NETWORKS))}")
    if source == "data-go-kr" and network != "asos":
        raise InputError(f"data-go-kr serves ASOS stations only, not network {network!r}; "
                         "use source='apihub' for AWS")
    if daily and network != "asos":
        raise InputError(f"daily values are ASOS only, not network {network!r}; "
                         "pass network='asos'")
    when = _kst(time)
    key = key if key is not None else os.environ.get(KEY_ENV[source], "")
    if not key.strip():
        raise InputError(f"no {source} key: set {KEY_ENV[source]} or pass key= (--key)")
    if cache_dir is None:
        cache_dir = user_cache_dir() / "fetch"
    if max_bytes <= 0 or max_seconds <= 0 or timeout <= 0:
        raise InputError(f"max_bytes={max_bytes!r}, max_seconds={max_seconds!r} and "
                         f"timeout={timeout!r} must be positive")
    client = _Client(key=key.strip(), source=source, cache=Path(cache_dir),
                     read_cache=use_cache, timeout=timeout, retries=retries,
                     backoff=backoff, min_interval=min_interval, sleep=sleep,
                     max_bytes=int(max_bytes), max_seconds=float(max_seconds))
    base = (base_url or SOURCES[source]).rstrip("/")
    if source == "apihub":
        body, fmt = _apihub(client, base, when, network, daily)
    else:
        body, fmt = _datagokr(client, base, when, daily, stations)
    return Fetched(body, fmt, client.requests, client.cache_hits)


def _apihub(client: _Client, base: str, when: _dt.datetime, network: str,
            daily: bool) -> tuple[bytes, str]:
    if daily:
        url, params, fmt = (f"{base}/api/typ01/url/kma_sfcdd.php",
                            {"tm": when.strftime("%Y%m%d"), "stn": "0", "help": "1"}, "sfcdd")
    elif network == "asos":
        url, params, fmt = (f"{base}/api/typ01/url/kma_sfctm2.php",
                            {"tm": when.strftime("%Y%m%d%H%M"), "stn": "0", "help": "1"},
                            "sfctm2")
    else:
        url, params, fmt = (f"{base}/api/typ01/cgi-bin/url/nph-aws2_min",
                            {"tm2": when.strftime("%Y%m%d%H%M"), "stn": "0", "disp": "0",
                             "help": "1"}, "aws2_min")
    return client.get(url, params, "authKey", apihub_has_data), fmt


def _datagokr(client: _Client, base: str, when: _dt.datetime, daily: bool,
              stations: Sequence[int] | None) -> tuple[bytes, str]:
    if stations is None:
        from .stations import load_stations

        stations = load_stations("asos").as_of(when.date()).ids
    service = "AsosDalyInfoService" if daily else "AsosHourlyInfoService"
    url = f"{base}/1360000/{service}/getWthrDataList"
    day = when.strftime("%Y%m%d")
    items: list[dict] = []
    for sid in stations:
        params = {"pageNo": "1", "numOfRows": "10", "dataType": "JSON", "dataCd": "ASOS",
                  "dateCd": "DAY" if daily else "HR", "startDt": day}
        if not daily:
            params |= {"startHh": when.strftime("%H"), "endDt": day,
                       "endHh": when.strftime("%H")}
        else:
            params["endDt"] = day
        params["stnIds"] = str(int(sid))
        body = client.get(url, params, "serviceKey", datagokr_has_data)
        items += datagokr_items(body)
    merged = {"response": {"header": {"resultCode": "00", "resultMsg": "NORMAL_SERVICE"},
                           "body": {"dataType": "JSON", "items": {"item": items},
                                    "pageNo": 1, "numOfRows": len(items),
                                    "totalCount": len(items)}}}
    return json.dumps(merged, ensure_ascii=False).encode("utf-8"), "datagokr_json"
