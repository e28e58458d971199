"""fetch_readings against hostile servers on 127.0.0.1: every reply is bounded, one line, keyless.

Each server is a raw socket that reads the request and then answers with
whatever the test scripts (an endless body, a 2 GB Content-Length, one byte
every 0.2 s, a malformed status line, huge or too many headers, error text
that carries the key and terminal escapes). Every server stops by itself:
its loops are bounded in count and time.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kwxmap.errors import FetchError
from kwxmap.fetch import fetch_readings, server_text

KEY = "s3cr3t+Key/=="
FIXTURES = Path(__file__).resolve().parent / "fixtures"
AWS2_MIN = (FIXTURES / "apihub_aws2_min_disp0.txt").read_bytes()

Script = Callable[[socket.socket], None]


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def raw_server() -> Iterator[Callable[[Script], str]]:
    scripts: list[Script] = []
    requests: list[bytes] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            requests.append(_read_request(self.request))
            try:
                scripts[min(len(requests), len(scripts)) - 1](self.request)
            except OSError:  # the client hung up: the point of most tests
                pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def start(*script: Script) -> str:
        scripts.extend(script)
        return f"http://127.0.0.1:{server.server_address[1]}"

    start.requests = requests  # type: ignore[attr-defined]
    yield start
    server.shutdown()
    server.server_close()


def _fetch(url: str, tmp_path: Path, **kw):
    args = dict(time="2026-12-01T09:00", key=KEY, base_url=url, cache_dir=tmp_path / "cache",
                backoff=0.01, min_interval=0, sleep=lambda s: None, retries=1, timeout=5)
    args.update(kw)
    return fetch_readings(**args)


def _headers(status: str = "200 OK", **extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: text/plain; charset=utf-8",
             *[f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _one_line_without_key(message: str) -> None:
    assert "\n" not in message and "\r" not in message
    assert KEY not in message and "s3cr3t" not in message
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in message)
    assert len(message) < 600


# --- limits ------------------------------------------------------------------------------


def endless(sock: socket.socket) -> None:
    sock.sendall(_headers())  # no Content-Length: the body runs until the connection closes
    block = b"#" * 65536
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sock.sendall(block)


def test_an_endless_body_stops_at_max_bytes_with_bounded_memory(raw_server, tmp_path):
    url = raw_server(endless)
    limit = 8 * 2**20
    tracemalloc.start()
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        _fetch(url, tmp_path, max_bytes=limit)
    elapsed = time.monotonic() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert str(info.value).startswith(f"apihub: the reply to {url}/api/typ01/cgi-bin/url/"
                                      "nph-aws2_min?tm2=202612010900")
    assert "is over the 8,388,608-byte limit (max_bytes)" in str(info.value)
    assert elapsed < 10 and peak < 3 * limit, (elapsed, peak)
    _one_line_without_key(str(info.value))
    assert len(raw_server.requests) == 1  # not retried


def test_the_default_limit_stops_an_endless_body(raw_server, tmp_path):
    url = raw_server(endless)
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"over the 67,108,864-byte limit"):
        _fetch(url, tmp_path)
    assert time.monotonic() - start < 20


def test_a_2_gb_content_length_is_refused_before_reading(raw_server, tmp_path):
    def huge(sock: socket.socket) -> None:
        sock.sendall(_headers(Content_Length=str(2 * 2**30)) + b"#" * 1000)
        time.sleep(2)

    url = raw_server(huge)
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"announces 2,147,483,648 bytes, over the 67,108,864"):
        _fetch(url, tmp_path)
    assert time.monotonic() - start < 2


def test_a_dripping_server_is_cut_off_at_max_seconds(raw_server, tmp_path):
    def drip(sock: socket.socket) -> None:
        sock.sendall(_headers(Content_Length=str(len(AWS2_MIN))))
        for byte in AWS2_MIN[:200]:  # one byte every 0.2 s: never silent for `timeout`
            sock.sendall(bytes([byte]))
            time.sleep(0.2)

    url = raw_server(drip)
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        _fetch(url, tmp_path, max_seconds=2, timeout=1)
    elapsed = time.monotonic() - start
    assert str(info.value).startswith("apihub: no complete reply within 2 s (")
    assert str(info.value).endswith("; the server is too slow (max_seconds)")
    assert 1.9 < elapsed < 4, elapsed
    assert len(raw_server.requests) == 1


def test_headers_dripped_slowly_are_cut_off_too(raw_server, tmp_path):
    def drip_headers(sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\n")
        for i in range(100):
            sock.sendall(f"X-Slow-{i}: 1\r\n".encode())
            time.sleep(0.2)

    url = raw_server(drip_headers)
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"^apihub: no complete reply within 1.5 s"):
        _fetch(url, tmp_path, max_seconds=1.5, timeout=1)
    assert time.monotonic() - start < 3.5


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (b"HTTP/1.1 abc\r\n\r\n", "BadStatusLine"),
        (b"SMTP ready\r\n\r\n", "BadStatusLine"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", "LineTooLong"),
        (b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n",
         "HTTPException"),
    ],
    ids=["bad_status", "not_http", "header_over_64k", "101_headers"],
)
def test_protocol_errors_are_one_line(raw_server, tmp_path, reply, kind):
    url = raw_server(lambda sock: sock.sendall(reply))
    with pytest.raises(FetchError) as info:
        _fetch(url, tmp_path)
    message = str(info.value)
    assert message.startswith(f"apihub: a malformed HTTP reply from {url}/api/typ01/")
    assert f"({kind}: " in message
    _one_line_without_key(message)


# --- what servers say ----------------------------------------------------------------------


def _reply(body: bytes) -> Script:
    return lambda sock: sock.sendall(_headers(Content_Length=str(len(body))) + body)


@pytest.mark.parametrize("form", ["raw", "quoted", "plus"])
@pytest.mark.parametrize("where", ["html", "json", "gateway"])
def test_server_text_is_one_clean_line_with_the_key_masked(raw_server, tmp_path, form, where):
    import urllib.parse

    shown = {"raw": KEY, "quoted": urllib.parse.quote(KEY, safe=""),
             "plus": urllib.parse.quote_plus(KEY)}[form]
    noise = f"\x1b[31mkey {shown} refused\x1b[0m\r\n\u202eline two\x07 " + "x" * 100_000
    if where == "html":
        body = f"<!DOCTYPE html><html><head><title>{noise[:300]}</title></head></html>".encode()
    elif where == "json":
        body = json.dumps({"result": {"status": 403, "message": noise}}).encode()
    else:
        body = (f"<OpenAPI_ServiceResponse><cmmMsgHeader><returnAuthMsg>{noise}</returnAuthMsg>"
                "<returnReasonCode>30</returnReasonCode></cmmMsgHeader>"
                "</OpenAPI_ServiceResponse>").encode()
    url = raw_server(_reply(body))
    with pytest.raises(FetchError) as info:
        if where == "gateway":
            _fetch(url, tmp_path, source="data-go-kr", stations=[108])
        else:
            _fetch(url, tmp_path)
    message = str(info.value)
    _one_line_without_key(message)
    assert "key *** refused" in message
    assert "[31m" in message or where == "html"  # the escape's printable rest, not ESC


def test_server_text_keeps_printable_text():
    assert server_text("유효하지 않은\t인증키\n(30)") == "유효하지 않은 인증키 (30)"
    assert server_text("a" * 200).endswith("…") and len(server_text("a" * 200)) == 160


# --- the cache -----------------------------------------------------------------------------

EMPTY_AWS = b"#START7777\n# YYMMDDHHMI STN TA\n#7777END\n"


def test_a_reply_without_data_is_not_cached(raw_server, tmp_path):
    url = raw_server(_reply(EMPTY_AWS), _reply(AWS2_MIN))
    first = _fetch(url, tmp_path)
    assert (first.body, first.requests) == (EMPTY_AWS, 1)
    assert not list((tmp_path / "cache").glob("*.body"))
    second = _fetch(url, tmp_path)
    assert (second.body, second.requests, second.cache_hits) == (AWS2_MIN, 1, 0)
    third = _fetch(url, tmp_path)
    assert (third.body, third.requests, third.cache_hits) == (AWS2_MIN, 0, 1)


def test_a_bad_cached_reply_is_dropped_and_asked_again(raw_server, tmp_path):
    url = raw_server(_reply(AWS2_MIN))
    _fetch(url, tmp_path)
    (cached,) = (tmp_path / "cache").glob("*.body")
    cached.write_bytes(b"<!DOCTYPE html><html><title>Service Unavailable</title></html>")
    again = _fetch(url, tmp_path)
    assert (again.body, again.requests, again.cache_hits) == (AWS2_MIN, 1, 0)
    assert cached.read_bytes() == AWS2_MIN
    assert len(raw_server.requests) == 2


def test_a_cached_reply_that_does_not_read_names_no_cache(raw_server, tmp_path, capsys,
                                                          monkeypatch):
    from kwxmap.cli import main

    broken = AWS2_MIN.replace(b"#START7777", b"#START7777\n# garbage header only", 1)
    broken = b"\n".join(line for line in broken.split(b"\n")
                        if line.startswith(b"#")) + b"\n202612010900 x\n#7777END\n"
    url = raw_server(_reply(broken))
    monkeypatch.setenv("KWXMAP_CACHE_DIR", str(tmp_path / "cache"))
    args = ["fetch", "--time", "2026-12-01T09:00", "--key", KEY, "--base-url", url]
    codes = [main(args), main(args)]  # the second reads the cached reply
    _, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("kwxmap: error")]
    assert codes == [1, 1], err
    assert "--no-cache" not in lines[0]
    assert lines[1].endswith("(the reply came from the cache: --no-cache asks the server again)")


# --- text from a server reaches the map as text --------------------------------------------


HOSTILE_NAMES = ["{{ 6*7 }}", "{% raw %}", "{{ lipsum.__globals__ }}"]


def test_map_fetch_draws_server_text_literally_also_from_the_cache(raw_server, tmp_path,
                                                                   monkeypatch):
    """A data.go.kr reply's station names, through ``map --fetch`` and then its cache."""
    import re

    from kwxmap.cli import main
    from kwxmap.render import escape

    temps = {108: -3.2, 105: -1.0, 133: -2.1, 143: 0.4, 156: 1.2, 159: 3.5, 184: 6.0,
             112: -2.5, 131: -4.1, 146: -1.3}

    current = {"name": "MARKERTEXT"}

    def answer(sock: socket.socket) -> None:
        sid = int(re.search(rb"stnIds=(\d+)", raw_server.requests[-1])[1])
        items = ([{"tm": "2026-12-01 09:00", "stnId": str(sid), "stnNm": current["name"],
                   "ta": str(temps[sid])}] if sid in temps else [])
        body = json.dumps({"response": {"header": {"resultCode": "00" if items else "03"},
                                        "body": {"items": {"item": items}}}}).encode()
        _reply(body)(sock)

    url = raw_server(answer)
    monkeypatch.setitem(fetch_readings.__kwdefaults__, "min_interval", 0.0)
    pages = {}
    for name in ("MARKERTEXT", *HOSTILE_NAMES):
        current["name"] = name
        monkeypatch.setenv("KWXMAP_CACHE_DIR", str(tmp_path / f"cache-{len(pages)}"))
        out = tmp_path / f"map{len(pages)}.html"
        args = ["map", "--fetch", "--source", "data-go-kr", "--time", "2026-12-01T09:00",
                "--key", KEY, "--base-url", url, "--resolution", "20000", "--tiles", "none",
                "-o", str(out)]
        assert main(args) == 0
        first = re.sub(r"_[0-9a-f]{32}", "", out.read_text(encoding="utf-8"))
        current["name"] = "not asked: the names come from the cache"
        assert main(args) == 0
        assert re.sub(r"_[0-9a-f]{32}", "", out.read_text(encoding="utf-8")) == first
        pages[name] = first
    assert pages["MARKERTEXT"].count("MARKERTEXT") == len(temps)
    for payload in HOSTILE_NAMES:
        assert pages[payload] == pages["MARKERTEXT"].replace("MARKERTEXT", escape(payload)), (
            payload)
