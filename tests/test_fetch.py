"""fetch_readings against a local KMA stand-in on 127.0.0.1 (no test touches the internet)."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kwxmap import KwxmapError
from kwxmap.errors import FetchError, InputError
from kwxmap.fetch import Fetched, fetch_readings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AWS2_MIN = (FIXTURES / "apihub_aws2_min_disp0.txt").read_bytes()
KEY = "s3cr3t+Key/=="
AWS_PATH = "/api/typ01/cgi-bin/url/nph-aws2_min"
HOURLY_PATH = "/1360000/AsosHourlyInfoService/getWthrDataList"

# One reply: status, body, headers, seconds to wait before answering, and a
# Content-Length larger than the body (a connection cut mid-reply).
Reply = tuple[int, bytes]


@dataclass
class Server:
    url: str
    replies: list = field(default_factory=list)  # replies in order; the last one repeats
    route: Callable[[str, dict], object] | None = None
    seen: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def reply_for(self, path: str, query: dict[str, str]) -> object:
        if self.route is not None:
            return self.route(path, query)
        i = min(len(self.seen) - 1, len(self.replies) - 1)
        return self.replies[i]


@pytest.fixture
def server() -> Iterator[Server]:
    state: dict[str, Server] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            srv = state["s"]
            srv.seen.append((parts.path, query, time.monotonic()))
            reply = srv.reply_for(parts.path, query)
            status, body, *extra = reply
            opts = extra[0] if extra else {}
            time.sleep(opts.get("delay", 0))
            self.send_response(status)
            self.send_header("Content-Type", opts.get("type", "text/plain; charset=utf-8"))
            self.send_header("Content-Length", str(len(body) + opts.get("short", 0)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["s"] = Server(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state["s"]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def waits() -> list[float]:
    return []


def fetch(server: Server, tmp_path: Path, waits: list[float], **kw) -> Fetched:
    args = dict(time="2026-12-01T09:00", key=KEY, base_url=server.url,
                cache_dir=tmp_path / "cache", backoff=0.01, min_interval=0, sleep=waits.append)
    args.update(kw)
    return fetch_readings(**args)


def shown(server: Server, path: str = AWS_PATH,
          query: str = "tm2=202612010900&stn=0&disp=0&help=1") -> str:
    return f"{server.url}{path}?{query}"


# --- the documented requests ----------------------------------------------------------


def test_apihub_aws2_min_request_body_and_cache(server, tmp_path, waits):
    server.replies = [(200, AWS2_MIN)]
    got = fetch(server, tmp_path, waits, source="apihub")
    assert (got.body, got.input_format, got.requests, got.cache_hits) == (
        AWS2_MIN, "aws2_min", 1, 0)
    path, query, _ = server.seen[0]
    assert path == AWS_PATH
    assert query == {"tm2": "202612010900", "stn": "0", "disp": "0", "help": "1",
                     "authKey": KEY}
    # the second call is answered by the cache: no request
    again = fetch(server, tmp_path, waits, source="apihub")
    assert (again.body, again.requests, again.cache_hits, len(server.seen)) == (
        AWS2_MIN, 0, 1, 1)
    # use_cache=False asks again
    assert fetch(server, tmp_path, waits, use_cache=False).requests == 1
    assert len(server.seen) == 2


def test_the_key_is_in_no_cache_file_name_or_content(server, tmp_path, waits):
    server.replies = [(200, AWS2_MIN)]
    fetch(server, tmp_path, waits)
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1
    for f in files:
        for form in (KEY, urllib.parse.quote(KEY, safe="")):
            assert form not in f.name and form.encode() not in f.read_bytes()


@pytest.mark.parametrize(
    ("kw", "path", "query"),
    [
        ({"network": "asos"}, "/api/typ01/url/kma_sfctm2.php",
         {"tm": "202612010900", "stn": "0", "help": "1", "authKey": KEY}),
        ({"network": "asos", "daily": True}, "/api/typ01/url/kma_sfcdd.php",
         {"tm": "20261201", "stn": "0", "help": "1", "authKey": KEY}),
        ({"time": "2026-12-01T00:00:00+00:00"}, AWS_PATH,  # UTC midnight is 09:00 KST
         {"tm2": "202612010900", "stn": "0", "disp": "0", "help": "1", "authKey": KEY}),
    ],
)
def test_apihub_endpoints(server, tmp_path, waits, kw, path, query):
    server.replies = [(200, b"#START7777\n# header\n#7777END\n")]
    fmt = fetch(server, tmp_path, waits, **kw).input_format
    assert server.seen[0][:2] == (path, query)
    assert fmt == {"/api/typ01/url/kma_sfctm2.php": "sfctm2",
                   "/api/typ01/url/kma_sfcdd.php": "sfcdd"}.get(path, "aws2_min")


def datagokr(items: list[dict], code: str = "00", msg: str = "NORMAL_SERVICE") -> bytes:
    return json.dumps({"response": {"header": {"resultCode": code, "resultMsg": msg},
                                    "body": {"dataType": "JSON", "items": {"item": items},
                                             "pageNo": 1, "numOfRows": 10,
                                             "totalCount": len(items)}}},
                      ensure_ascii=False).encode("utf-8")


def test_data_go_kr_one_request_per_station_merged(server, tmp_path, waits):
    values = {"108": "-3.2", "159": "4.1"}

    def route(path: str, query: dict) -> object:
        sid = query["stnIds"]
        if sid in values:
            return (200, datagokr([{"tm": "2026-12-01 09:00", "stnId": sid, "stnNm": "x",
                                    "ta": values[sid]}]))
        return (200, datagokr([], "03", "NO_DATA"))

    server.route = route
    got = fetch(server, tmp_path, waits, source="data-go-kr", stations=[108, 159, 201])
    assert (got.input_format, got.requests) == ("datagokr_json", 3)
    path, query, _ = server.seen[0]
    assert path == HOURLY_PATH
    assert query == {"pageNo": "1", "numOfRows": "10", "dataType": "JSON", "dataCd": "ASOS",
                     "dateCd": "HR", "startDt": "20261201", "startHh": "09",
                     "endDt": "20261201", "endHh": "09", "stnIds": "108", "serviceKey": KEY}
    items = json.loads(got.body)["response"]["body"]["items"]["item"]
    assert [(i["stnId"], i["ta"]) for i in items] == [("108", "-3.2"), ("159", "4.1")]
    # station 201's NO_DATA is not cached (its data may come later): asked again
    again = fetch(server, tmp_path, waits, source="data-go-kr", stations=[108, 159, 201])
    assert (again.cache_hits, again.requests) == (2, 1)
    assert [q["stnIds"] for _, q, _ in server.seen] == ["108", "159", "201", "201"]


def test_data_go_kr_daily_and_default_stations(server, tmp_path, waits):
    server.replies = [(200, datagokr([]))]
    fetch(server, tmp_path, waits, source="data-go-kr", daily=True, time="2020-08-01")
    paths = {p for p, _, _ in server.seen}
    assert paths == {"/1360000/AsosDalyInfoService/getWthrDataList"}
    ids = [int(q["stnIds"]) for _, q, _ in server.seen]
    assert len(ids) > 90 and 108 in ids and 239 in ids  # the ASOS stations of that day
    assert all(q["dateCd"] == "DAY" and q["startDt"] == q["endDt"] == "20200801"
               and "startHh" not in q for _, q, _ in server.seen)


def test_an_encoded_key_is_sent_as_is(server, tmp_path, waits):
    server.replies = [(200, AWS2_MIN)]
    encoded = urllib.parse.quote(KEY, safe="")  # data.go.kr's "Encoding" key
    fetch(server, tmp_path, waits, key=encoded)
    assert server.seen[0][1]["authKey"] == KEY


# --- retries, backoff and the rate limit ---------------------------------------------


def test_5xx_is_retried_with_exponential_backoff(server, tmp_path, waits):
    server.replies = [(500, b"oops"), (503, b"busy"), (200, AWS2_MIN)]
    got = fetch(server, tmp_path, waits)
    assert (got.body, got.requests, len(server.seen)) == (AWS2_MIN, 3, 3)
    assert waits == [0.01, 0.02]


def test_5xx_that_persists_is_one_line(server, tmp_path, waits):
    server.replies = [(500, b"oops")]
    with pytest.raises(FetchError) as info:
        fetch(server, tmp_path, waits, retries=2)
    assert str(info.value) == (
        f"apihub: HTTP 500 Internal Server Error after 3 tries ({shown(server)}); "
        "KMA's server is slow or down: try again later")
    assert len(server.seen) == 3 and waits == [0.01, 0.02]
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_a_slow_server_times_out_and_is_retried(server, tmp_path, waits):
    server.replies = [(200, AWS2_MIN, {"delay": 1.0}), (200, AWS2_MIN)]
    got = fetch(server, tmp_path, waits, timeout=0.3)
    assert (got.body, got.requests) == (AWS2_MIN, 2)
    server.seen.clear()
    server.replies = [(200, AWS2_MIN, {"delay": 1.0})]
    with pytest.raises(FetchError, match=r"^apihub: no answer within 0.3 s after 2 tries \("):
        fetch(server, tmp_path, waits, timeout=0.3, retries=1, use_cache=False)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ((200, AWS2_MIN[:200], {"short": 500}), "connection broken (IncompleteRead)"),
        ((200, AWS2_MIN[:200]), "truncated reply (no '#7777END' line)"),
    ],
)
def test_truncated_replies_are_retried_then_one_line(server, tmp_path, waits, reply, why):
    server.replies = [reply]
    with pytest.raises(FetchError) as info:
        fetch(server, tmp_path, waits, retries=1)
    assert str(info.value) == (f"apihub: {why} after 2 tries ({shown(server)}); "
                               "KMA's server is slow or down: try again later")
    server.replies = [reply, (200, AWS2_MIN)]
    server.seen.clear()
    assert fetch(server, tmp_path, waits).body == AWS2_MIN


def test_min_interval_between_requests(server, tmp_path):
    server.replies = [(200, datagokr([]))]
    fetch_readings("data-go-kr", time="2026-12-01T09:00", key=KEY, base_url=server.url,
                   cache_dir=tmp_path, stations=[108, 112, 119, 131], min_interval=0.15)
    arrivals = [t for _, _, t in server.seen]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert len(gaps) == 3 and min(gaps) >= 0.14


# --- errors: one clear line, never the key -------------------------------------------


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ((401, b"denied"), "apihub: HTTP 401 Unauthorized for {url}; the key was refused: "
         "check KMA_APIHUB_KEY (or --key) and that the key may use this API"),
        ((403, b"<html>no</html>"), "apihub: HTTP 403 Forbidden for {url}; the key was "
         "refused: check KMA_APIHUB_KEY (or --key) and that the key may use this API"),
        ((429, b"slow down"), "apihub: HTTP 429 Too Many Requests for {url}; too many "
         "requests (quota or rate limit): wait, or raise min_interval"),
        ((200, "<!DOCTYPE html><html><head><title>오류 페이지</title></head></html>"
          .encode(), {"type": "text/html"}), "apihub: returned an HTML page ('오류 페이지') "
         "instead of data; the key or the request is wrong, or the API Hub is down"),
        ((200, '{"result":{"status":403,"message":"유효하지 않은 인증키"}}'.encode()),
         'apihub: returned an error instead of data: {{"result": {{"status": 403, '
         '"message": "유효하지 않은 인증키"}}}}'),
    ],
)
def test_apihub_errors_are_one_line_without_retry(server, tmp_path, waits, caplog,
                                                  reply, message):
    server.replies = [reply]
    with caplog.at_level(logging.DEBUG, logger="kwxmap"), pytest.raises(FetchError) as info:
        fetch(server, tmp_path, waits)
    assert str(info.value) == message.format(url=shown(server))
    assert isinstance(info.value, KwxmapError) and "\n" not in str(info.value)
    assert len(server.seen) == 1 and waits == []
    assert KEY not in caplog.text and urllib.parse.quote(KEY, safe="") not in caplog.text
    assert "GET" in caplog.text  # the request was logged, without the key


GATEWAY = ("<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg>"
           "<returnAuthMsg>{name}</returnAuthMsg><returnReasonCode>{code}</returnReasonCode>"
           "</cmmMsgHeader></OpenAPI_ServiceResponse>")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GATEWAY.format(name="SERVICE_KEY_IS_NOT_REGISTERED_ERROR", code="30"),
         "data-go-kr: service error 30 SERVICE_KEY_IS_NOT_REGISTERED_ERROR; the service key "
         "is not registered for this service (a new key takes up to an hour to work); use "
         "the 일반 인증키 (Decoding) shown on data.go.kr"),
        (GATEWAY.format(name="LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR", code="22"),
         "data-go-kr: service error 22 LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR; the "
         "daily request quota is used up; wait until tomorrow or ask data.go.kr for more"),
        (datagokr([], "10", "INVALID_REQUEST_PARAMETER_ERROR").decode(),
         "data-go-kr: resultCode 10 INVALID_REQUEST_PARAMETER_ERROR; check the dates and "
         "station ids of the request"),
    ],
)
def test_data_go_kr_error_envelopes(server, tmp_path, waits, body, message):
    server.replies = [(200, body.encode("utf-8"))]
    with pytest.raises(FetchError) as info:
        fetch(server, tmp_path, waits, source="data-go-kr", stations=[108, 112])
    assert str(info.value) == message
    assert len(server.seen) == 1  # stops at the first error, no retry


def test_data_go_kr_malformed_json_is_retried_then_one_line(server, tmp_path, waits):
    server.replies = [(200, datagokr([{"stnId": "108", "ta": "1.0"}])[:40])]
    with pytest.raises(FetchError) as info:
        fetch(server, tmp_path, waits, source="data-go-kr", stations=[108], retries=1)
    url = shown(server, HOURLY_PATH, "pageNo=1&numOfRows=10&dataType=JSON&dataCd=ASOS&dateCd=HR"
                "&startDt=20261201&startHh=09&endDt=20261201&endHh=09&stnIds=108")
    assert str(info.value) == (f"data-go-kr: truncated or malformed JSON reply after 2 tries "
                               f"({url}); KMA's server is slow or down: try again later")


def test_key_from_the_environment_and_missing_key(server, tmp_path, waits, monkeypatch):
    server.replies = [(200, AWS2_MIN)]
    monkeypatch.setenv("KMA_APIHUB_KEY", "from-env")
    fetch(server, tmp_path, waits, key=None)
    assert server.seen[0][1]["authKey"] == "from-env"
    monkeypatch.delenv("KMA_APIHUB_KEY")
    with pytest.raises(InputError, match=r"^no apihub key: set KMA_APIHUB_KEY or pass key="):
        fetch(server, tmp_path, waits, key=None)


def test_unreachable_server_is_one_line(tmp_path, waits):
    with pytest.raises(FetchError, match=r"^apihub: cannot reach http://127.0.0.1:9/") as info:
        fetch_readings(time="2026-12-01T09:00", key=KEY, base_url="http://127.0.0.1:9",
                       cache_dir=tmp_path, retries=0, sleep=waits.append)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"source": "kma"}, r"source 'kma' is not one of 'apihub', 'data-go-kr'"),
        ({"network": "both"}, r"network 'both' is not one of 'aws', 'asos', 'all'"),
        ({"source": "data-go-kr", "network": "all"}, "data-go-kr serves ASOS stations only"),
        ({"daily": True}, "daily values are ASOS only, not network 'all'"),
        ({"time": "tomorrow"}, r"time 'tomorrow' is not a time"),
    ],
)
def test_bad_options(tmp_path, kw, match):
    args = {"time": "2026-12-01T09:00", "key": KEY, "cache_dir": tmp_path,
            "base_url": "http://127.0.0.1:9"}
    args.update(kw)
    with pytest.raises(InputError, match=match):
        fetch_readings(**args)


# --- end to end -------------------------------------------------------------------------


def test_fetched_readings_join_the_updated_registry(server, tmp_path, waits, monkeypatch):
    from kwxmap import join_readings, load_stations, update_stations

    monkeypatch.setenv("KWXMAP_CACHE_DIR", str(tmp_path / "kwx"))
    update_stations(FIXTURES / "stn_inf_aws_utf8.txt", date="2026-11-20")  # adds AWS 997
    server.replies = [(200, AWS2_MIN)]
    readings = fetch(server, tmp_path, waits).readings()
    assert readings["station_id"].tolist() == [108, 400, 997]
    assert readings["temperature_c"].tolist()[:2] == [-3.2, -4.0]
    assert readings["temperature_c"].isna().tolist()[2]  # KMA's -99.0: no observation
    joined = join_readings(readings, load_stations("all"), as_of="2026-12-01")
    placed = dict(zip(joined["station_id"], zip(joined.geometry.x, joined.geometry.y,
                                                strict=True), strict=True))
    assert placed[400] == (127.105, 37.51)  # the site of the merged list
    assert placed[997] == (127.5, 36.5)  # new in the merged list
    report = joined.attrs["join_report"]
    assert report.missing_reasons.get("kma_code") == 1, report.summary()


# --- the command line ------------------------------------------------------------------


def test_cli_fetch_writes_located_readings(server, tmp_path, capsys, monkeypatch):
    from kwxmap.cli import main

    monkeypatch.setenv("KMA_APIHUB_KEY", KEY)
    server.replies = [(200, AWS2_MIN)]
    out = tmp_path / "readings.csv"
    code = main(["fetch", "--time", "2026-12-01T09:00", "--base-url", server.url,
                 "-o", str(out)])
    _, err = capsys.readouterr()
    assert code == 0, err
    rows = out.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("station_id") or "station_id" in rows[0]
    assert len(rows) == 1 + 2  # 108 and 400; 997 is unknown to the bundled registry
    assert KEY not in err and KEY not in out.read_text(encoding="utf-8-sig")
    assert "fetched" in err and "1 requests, 0 from the cache" in err
    # errors: exit 1, one line, nothing written
    server.replies = [(401, b"no")]
    out2 = tmp_path / "again.csv"
    code = main(["fetch", "--time", "2026-12-01T10:00", "--base-url", server.url,
                 "-o", str(out2)])
    _, err = capsys.readouterr()
    assert code == 1 and not out2.exists()
    assert err.splitlines() == [f"kwxmap: error: apihub: HTTP 401 Unauthorized for {server.url}"
                                f"{AWS_PATH}?tm2=202612011000&stn=0&disp=0&help=1; the key was "
                                "refused: check KMA_APIHUB_KEY (or --key) and that the key may "
                                "use this API"]


def test_cli_map_fetch_goes_straight_to_a_map(server, tmp_path, capsys):
    from kwxmap.cli import main

    # a handful of ASOS stations spread over the country, from the bundled registry
    rows = [(108, -3.2), (105, -1.0), (133, -2.1), (143, 0.4), (156, 1.2), (159, 3.5),
            (184, 6.0), (112, -2.5), (131, -4.1), (146, -1.3)]
    lines = ["#START7777",
             "# YYMMDDHHMI   STN    WD1    WS1    WDS    WSS   WD10   WS10     TA     RE RN-15m "
             "RN-60m RN-12H RN-DAY     HM     PA     PS     TD",
             "#        KST    ID    deg    m/s    deg    m/s    deg    m/s      C      1     mm "
             "    mm     mm     mm      %    hPa    hPa     C"]
    lines += [f"202612010900 {sid:5d}    0.0    0.0    0.0    0.0    0.0    0.0 {t:6.1f}    0.0"
              "    0.0    0.0    0.0    0.0   50.0 1010.0 1020.0  -10.0" for sid, t in rows]
    server.replies = [(200, ("\n".join(lines) + "\n#7777END\n").encode())]
    html = tmp_path / "map.html"
    code = main(["map", "--fetch", "--time", "2026-12-01T09:00", "--key", KEY,
                 "--base-url", server.url, "--resolution", "10000", "-o", str(html)])
    _, err = capsys.readouterr()
    assert code == 0, err
    page = html.read_text(encoding="utf-8")
    assert "서울" in page and KEY not in page and KEY not in err
    code = main(["map", "--time", "2026-12-01T09:00", "-o", str(tmp_path / "x.html")])
    _, err = capsys.readouterr()
    assert code == 1 and "give an INPUT file or --fetch --time TIME" in err
