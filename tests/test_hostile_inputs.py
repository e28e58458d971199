"""Inputs that once ended in a traceback or gigabytes of memory: each is one KwxmapError or read.

Every case is a shape a file or a server can really send; the test checks the
exact outcome (the values read, or the error's first words and the line it
names), and, for the wide row, the memory it took.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kwxmap import KwxmapError, parse_readings
from kwxmap.errors import ParseError

PORTAL_HEAD = "지점,지점명,일시,기온(°C)"


def test_a_json_integer_of_thousands_of_digits_is_read_as_text():
    """Python refuses int() past 4,300 digits; the reply's integers stay text."""
    huge = "1" * 5000
    text = json.dumps({"response": {"header": {"resultCode": "00"}, "body": {"items": {"item": [
        {"tm": "2024-01-15 06:00", "stnId": 108, "ta": -5.2},
    ]}}}})
    frame = parse_readings(text)
    assert frame[["station_id", "temperature_c"]].values.tolist() == [[108, -5.2]]
    with pytest.raises(ParseError, match="^line 1: station id is not a KMA station number"):
        parse_readings(text.replace('"stnId": 108', f'"stnId": {huge}'))


@pytest.mark.parametrize("code", ["0", '"00"', '"0"'])
def test_a_numeric_result_code_is_read(code):
    text = ('{"response": {"header": {"resultCode": ' + code + '}, "body": {"items": {"item": '
            '[{"tm": "2024-01-15 06:00", "stnId": "108", "ta": "3.5"}]}}}}')
    assert parse_readings(text)["temperature_c"].tolist() == [3.5]


def test_a_numeric_error_code_is_one_error_line():
    text = '{"response": {"header": {"resultCode": 3, "resultMsg": "NO_DATA"}}}'
    with pytest.raises(ParseError, match=r"^data.go.kr returned resultCode '3' \('NO_DATA'\)"):
        parse_readings(text)


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"], ids=["cr", "crlf", "lf"])
def test_portal_csv_with_any_newline_reads_the_same(newline):
    rows = [PORTAL_HEAD, "108,서울,2024-01-15 06:00,-5.2", "159,부산,2024-01-15 06:00,1.0"]
    frame = parse_readings(newline.join(rows) + newline)
    assert frame.attrs["input_format"] == "portal_tim"
    assert frame[["station_id", "temperature_c"]].values.tolist() == [[108, -5.2], [159, 1.0]]
    assert frame["line"].tolist() == [2, 3]


@pytest.mark.parametrize("sid", ["9²", "\ud800", "10８x"])
def test_station_ids_that_are_not_numbers_name_their_line(sid):
    with pytest.raises(ParseError, match=r"^line 3: station id"):
        parse_readings(f"station_id,temperature_c\n108,3.0\n{sid},4.0\n")


def test_lone_surrogates_in_widget_text_are_read_around():
    frame = parse_readings("• 맑음서울 3.0℃\n\ud800 • 흐림부산 4.0℃ \udfff")
    assert frame[["station_name", "temperature_c"]].values.tolist() == [["서울", 3.0],
                                                                        ["부산", 4.0]]


@pytest.mark.parametrize("where", [0, 1500])
def test_a_portal_row_wider_than_its_header_is_an_error_before_it_is_widened(where):
    code = f"""
import resource, kwxmap
rows = [f"108,서울,2024-01-{{1 + i % 28:02d}} {{i % 24:02d}}:00,{{i % 30}}.0" for i in range(3000)]
rows.insert({where}, "108,서울,2024-01-15 06:00,-5.2" + "," * 100_000)
text = "{PORTAL_HEAD}\\n" + "\\n".join(rows) + "\\n"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    kwxmap.parse_readings(text)
    print("read")
except kwxmap.KwxmapError as exc:
    print(exc)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    message, grown_mb = run.stdout.strip().splitlines()
    assert message == (f"line {where + 2}: 100004 cells where the portal_tim header has 4; "
                       "is it one portal download, unchanged?")
    assert int(grown_mb) < 100, run.stdout


def test_a_full_stdout_is_one_line(tmp_path):
    source = tmp_path / "t.csv"
    source.write_text("station_id,temperature_c\n108,3.0\n159,4.0\n", encoding="utf-8")
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "kwxmap", "parse", str(source)],
                             stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "kwxmap: error: cannot write to standard output: No space left on device")
    assert "Traceback" not in run.stderr


def test_every_case_is_a_kwxmap_error_or_readings():
    """The fuzzer's ``cases`` shapes, each once: nothing escapes as another exception."""
    cases = [
        '{"response": {"header": {"resultCode": 0}}, "body": 1' + "1" * 5000 + "}",
        PORTAL_HEAD + "\r" + "108,서울,2024-01-15 06:00," + "9" * 5000 + "\r",
        "station_id,time,temperature_c\n108,2024-01-15T06:00Z,3.0\n108," + "1" * 5000 + ",1\n",
    ]
    outcomes = []
    for text in cases:
        try:
            outcomes.append(len(parse_readings(text)))
        except KwxmapError as exc:  # anything else fails the test
            outcomes.append(type(exc).__name__)
    assert outcomes == ["ParseError", "ParseError", "ParseError"]
