"""Tests for kwxmap.parse: widget text, HTML, bytes and tables to readings."""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kwxmap import KwxmapWarning, ParseError, load_stations, parse_readings
from kwxmap.errors import InputError
from kwxmap.parse import split_station_token, weather_words

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLE = FIXTURES / "widget_article.txt"
WINTER_HTML = FIXTURES / "widget_winter_euckr.html"
PORTAL_CSV = FIXTURES / "kma_portal_hourly_cp949.csv"
ROOT = Path(__file__).resolve().parents[1]

REGISTRY = load_stations()
NAMES = REGISTRY.name_index()
HANGUL_NAMES = sorted(n for n in NAMES if re.fullmatch(r"[가-힣()]+", n))
WORDS = weather_words()

# The widget lines of the article fixture, read independently of the parser.
_WIDGET_LINE = re.compile(r"^\s*• (구름많음|구름조금|맑음)(\S+) (-?\d+\.\d)℃$")


def widget_lines(path: Path = ARTICLE) -> list[tuple[int, str, str, float]]:
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _WIDGET_LINE.match(line)
        if m:
            out.append((i, m[1], m[2], float(m[3])))
    return out


def cols(df: pd.DataFrame) -> list[tuple[str, str, float]]:
    return list(zip(df["station_name"], df["condition"], df["temperature_c"], strict=True))


# --- the seed-shaped page --------------------------------------------------------------


def test_article_has_exactly_the_26_widget_readings():
    expected = widget_lines()
    assert len(expected) == 26
    df = parse_readings(ARTICLE)
    assert list(df.columns) == [
        "station_name", "condition", "condition_en", "temperature_c", "line", "missing"
    ]
    assert len(df) == 26
    assert df["line"].tolist() == [e[0] for e in expected]
    assert df["condition"].tolist() == [e[1] for e in expected]
    assert df["station_name"].tolist() == [e[2] for e in expected]
    assert df["temperature_c"].tolist() == [e[3] for e in expected]
    assert df["temperature_c"].dtype == np.float64
    assert set(df["condition_en"]) == {WORDS["맑음"], WORDS["구름조금"], WORDS["구름많음"]}


def test_article_named_examples():
    df = parse_readings(ARTICLE).set_index("station_name")
    assert df.loc["홍성(예)", "condition"] == "맑음"
    assert df.loc["홍성(예)", "temperature_c"] == 23.7
    assert df.loc["강진군", "temperature_c"] == 22.8
    assert df.loc["고산", "condition"] == "구름조금"
    assert df.loc["고산", "temperature_c"] == 18.1


def test_article_prose_and_decoys_are_not_readings():
    df = parse_readings(ARTICLE)
    text = ARTICLE.read_text(encoding="utf-8").splitlines()
    widget = {e[0] for e in widget_lines()}
    assert set(df["line"]) == widget
    # the decoy lines exist in the fixture and mention temperatures
    decoys = [i for i, line in enumerate(text, 1) if "℃" in line and i not in widget]
    assert len(decoys) >= 3
    seoul = df[df["station_name"] == "서울"]
    assert seoul["temperature_c"].tolist() == [24.5]  # not the "서울 25℃" of the prose
    assert 3.5 not in df["temperature_c"].tolist()  # rainfall without a unit


@pytest.mark.parametrize(
    "line",
    [
        "이날 서울 25℃ 안팎의 포근한 날씨였다.",
        "오늘 서울 25℃",
        "낮 최고기온은 대구 28℃, 광주 26℃로 예년보다 높았다.",
        "서울 25℃까지 올랐다",
        "서울 25℃ 안팎의 날씨",
        "대구 28℃, 광주 26℃ 안팎으로 높았다",
        "내일 아침 최저기온은 -10℃까지 내려가겠다",
        "서울 24.5",
        "최고 30℃ 최저 20℃",
        "현재기온 25℃",
        "기온(℃)",
        "(단위: ℃)",
        "체감온도 27.5℃ 습도 60%",
        "2016.10.27 16:37:56",
        "기상청 제공",
    ],
)
def test_prose_lines_are_noise(line):
    text = f"{line}\n• 맑음부산 20.0℃"
    df = parse_readings(text)
    assert cols(df) == [("부산", "맑음", 20.0)]


def test_unknown_name_in_a_list_item_is_a_reading_for_the_join_to_report():
    df = parse_readings("• 추풍녕 20.1℃\n최고 30℃")
    assert cols(df) == [("추풍녕", "", 20.1)]
    with pytest.raises(ParseError, match="line 1"):
        parse_readings("• 추풍녕 2a.1℃")
    with pytest.raises(ParseError, match="no readings found"):
        parse_readings("최고 3a℃ 최저 20℃")  # not a reading, so not an invalid one


def test_a_bare_name_and_temperature_line_is_a_reading():
    # Decision (documented): a line made only of "서울 25℃" is a widget reading
    # without a weather word; the same words inside a sentence are prose.
    df = parse_readings("서울 25℃")
    assert cols(df) == [("서울", "", 25.0)]


# --- splitting glued tokens ------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("맑음북강릉", ("맑음", "북강릉")),
        ("맑음강릉", ("맑음", "강릉")),
        ("맑음홍성(예)", ("맑음", "홍성(예)")),
        ("흐림세종(예)", ("흐림", "세종(예)")),
        ("진눈깨비진도(첨찰산)", ("진눈깨비", "진도(첨찰산)")),
        ("강한눈계속대관령", ("강한눈계속", "대관령")),
        ("비 또는 눈 서울", ("비 또는 눈", "서울")),
        ("구름많음 서울", ("구름많음", "서울")),
        ("서울 맑음", ("맑음", "서울")),
        ("서울", ("", "서울")),
        ("흐리고눈서울", ("흐리고눈", "서울")),  # unknown word, glued: kept as printed
        ("맑음뉴욕", ("맑음", "뉴욕")),  # known word, unknown station
        ("뉴욕", ("", "뉴욕")),
        ("오늘 서울", None),  # an unknown word apart from the name is prose
        ("낮 최고기온은 서울", None),
        ("", None),
        ("24.5", None),
    ],
)
def test_split_station_token(token, expected):
    assert split_station_token(token, NAMES) == expected


@pytest.mark.parametrize("network", ["asos", "all"])
def test_every_word_glued_to_every_name_splits_back(network):
    # The longest-suffix rule must never swallow part of a weather word.
    index = load_stations(network).name_index()
    names = sorted(n for n in index if re.fullmatch(r"[가-힣()]+", n))
    keys = {w.replace(" ", "") for w in WORDS}
    for word in sorted(keys):
        for name in names:
            assert split_station_token(word + name, index) == (word, name), (word, name)


def test_unknown_condition_keeps_printed_word_without_label():
    df = parse_readings("• 흐리고눈서울 -1.0℃\n• 강한눈계속대관령 -9.0℃")
    assert df["condition"].tolist() == ["흐리고눈", "강한눈계속"]
    assert df["condition_en"].tolist() == ["", "heavy continuous snow"]


def test_weather_word_variants_have_labels():
    for word in ["약한비단속", "강한눈계속", "비/눈", "눈/비", "진눈깨비", "박무", "연무", "황사",
                 "안개", "안개엷어짐", "부분안개", "비 또는 눈", "소낙눈/약", "뇌우,우박"]:
        assert WORDS[word], word
    df = parse_readings("눈/비서울 0.3℃\n비 또는 눈 부산 2.0℃\n부분안개청주 1.0℃")
    assert df["condition_en"].tolist() == [WORDS["눈/비"], WORDS["비 또는 눈"], "patchy fog"]


# --- formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("• 맑음서울 24.5℃", 24.5),
        ("• 맑음서울 24.5°C", 24.5),
        ("• 맑음서울 24.5 °C", 24.5),
        ("• 맑음서울 24.5° C", 24.5),
        ("• 맑음서울 24.5ºC", 24.5),
        ("• 맑음서울 24.5&#8451;", 24.5),
        ("• 맑음서울 24.5 ℃", 24.5),
        ("• 맑음서울24.5℃", 24.5),
        ("• 맑음서울 -3.4℃", -3.4),
        ("• 맑음서울 −3.4℃", -3.4),  # U+2212
        ("• 맑음서울 –3.4℃", -3.4),  # en dash
        ("• 맑음서울 ‐3.4℃", -3.4),  # U+2010 hyphen
        ("• 맑음서울 ‒3.4℃", -3.4),  # U+2012 figure dash
        ("• 맑음서울 25.℃", 25.0),
        ("• 맑음서울 .5℃", 0.5),
        ("• 맑음서울-3.4℃", -3.4),
        ("• 맑음서울 - 3.4℃", -3.4),
        ("• 맑음서울 +3.4℃", 3.4),
        ("• 맑음서울 3℃", 3.0),
        ("• 맑음서울 0℃", 0.0),
        ("• 맑음서울 -0.0℃", 0.0),
        ("· 맑음서울 24.5℃", 24.5),
        ("- 맑음서울 24.5℃", 24.5),
        ("* 맑음서울 24.5℃", 24.5),
        ("▶맑음서울 24.5℃", 24.5),
        ("맑음서울 24.5℃", 24.5),
        ("\t맑음서울\t24.5℃\t", 24.5),
        ("맑음 서울 24.5℃", 24.5),
        ("맑음\u00a0서울\u00a024.5℃", 24.5),
        ("맑음서울 ２４.５℃", 24.5),  # full-width digits
        ("• 맑음서울 -℃", math.nan),
        ("• 맑음서울 --℃", math.nan),
        ("• 맑음서울 ―℃", math.nan),
        ("• 맑음서울 -", math.nan),
        ("• 맑음서울 ―", math.nan),
    ],
)
def test_reading_formats(line, value):
    df = parse_readings(f"날씨\n{line}\n기상청 제공")
    assert df["station_name"].tolist() == ["서울"]
    assert df["condition"].tolist() == ["맑음"]
    assert df["line"].tolist() == [2]
    got = df["temperature_c"].iloc[0]
    assert (math.isnan(got) and math.isnan(value)) or got == value


@pytest.mark.parametrize(
    "text", ["• 맑음서울 -0.0℃", "• 맑음서울 −0℃", "station_id,temperature_c\n108,-0.0\n"]
)
def test_minus_zero_is_plain_zero(text):
    value = parse_readings(text)["temperature_c"].iloc[0]
    assert value == 0.0 and math.copysign(1.0, value) == 1.0


def test_placeholder_without_unit_needs_a_known_station():
    with pytest.raises(ParseError, match="no readings found"):
        parse_readings("목차 -\n참고 --")


def test_everything_on_one_line_equals_one_per_line():
    per_line = parse_readings(ARTICLE)
    one = " ".join(
        f"• {c}{n} {t}℃" for _, c, n, t in widget_lines()
    )
    df = parse_readings(f"오늘의 날씨 {one} 기상청 제공\n")
    assert cols(df) == cols(per_line)
    assert set(df["line"]) == {1}


@pytest.mark.parametrize("bullet", ["•", "·", "-", "*", "▶", "|", "→"])
def test_one_line_with_a_header_and_any_bullet(bullet):
    df = parse_readings(f"오늘의 날씨 {bullet} 맑음서울 1.0℃ {bullet} 흐림부산 -2.0℃ 기상청 제공")
    assert cols(df) == [("서울", "맑음", 1.0), ("부산", "흐림", -2.0)]


def test_several_readings_per_line_with_separators():
    df = parse_readings("맑음서울 1.0℃ | 흐림부산 2.0°C / 눈대관령 -3.0℃, 비광주 4℃")
    assert cols(df) == [("서울", "맑음", 1.0), ("부산", "흐림", 2.0),
                        ("대관령", "눈", -3.0), ("광주", "비", 4.0)]


def test_crlf_and_cr_line_numbers():
    df = parse_readings("머리말\r\n• 맑음서울 1.0℃\r\n\r\n• 흐림부산 2.0℃\r")
    assert df["line"].tolist() == [2, 4]


# --- HTML --------------------------------------------------------------------------------

WINTER_EXPECTED = [
    ("북춘천", "흐림", -3.4),
    ("북강릉", "눈", -3.2),
    ("대관령", "강한눈계속", -12.4),
    ("서울", "비/눈", 0.5),
    ("진도(첨찰산)", "진눈깨비", 1.0),
    ("세종(예)", "흐림", -1.5),
    ("청주", "박무", -0.3),
    ("부산", "연무", 3.0),
    ("춘천", "안개엷어짐", -7.8),
    ("목포", "약한비단속", 2.4),
    ("철원", "맑음", math.nan),
    ("광주", "황사", 4.2),
]


def same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x[:2] == y[:2]
        assert (math.isnan(x[2]) and math.isnan(y[2])) or x[2] == y[2]


def test_html_euckr_page_with_meta_charset():
    data = WINTER_HTML.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the fixture really is EUC-KR
    df = parse_readings(data)
    same(cols(df), WINTER_EXPECTED)
    # decoys in <title>, <style>, <script>, comments, <noscript>, <template>, prose
    for decoy in (11.1, 99.9, 88.8, 77.7, 66.6, 55.5, 44.4, -10.0):
        assert decoy not in df["temperature_c"].tolist()
    assert df["station_name"].tolist().count("서울") == 1


def test_html_line_is_the_source_line_of_the_reading():
    df = parse_readings(WINTER_HTML)
    source = WINTER_HTML.read_bytes().decode("cp949").splitlines()
    for name, line in zip(df["station_name"], df["line"], strict=True):
        assert source[line - 1].lstrip().startswith("<li>"), (name, line)
        assert name in re.sub(r"<[^>]+>", "", source[line - 1])


def test_html_same_as_utf8_text_and_without_declaration():
    text = WINTER_HTML.read_bytes().decode("cp949")
    same(cols(parse_readings(text)), WINTER_EXPECTED)
    undeclared = text.replace("; charset=euc-kr", "").encode("cp949")
    same(cols(parse_readings(undeclared)), WINTER_EXPECTED)
    same(cols(parse_readings(text.encode("utf-8"))), WINTER_EXPECTED)
    lying = text.replace("euc-kr", "utf-8").encode("cp949")  # declared wrongly
    same(cols(parse_readings(lying)), WINTER_EXPECTED)


def test_markup_inside_one_reading_and_script_decoy():
    page = (
        "<html><body><script>var s='맑음서울 88.8℃';</script>"
        "<ul><li><span>흐림</span><strong>북춘천</strong> <em>-3.4</em>℃</li>"
        "<li>맑음<i>서울</i><br>1.0℃</li></ul></body></html>"
    )
    df = parse_readings(page)
    # <br> ends a line: "맑음서울" and "1.0℃" are no longer one reading
    assert cols(df) == [("북춘천", "흐림", -3.4)]


def test_pretty_printed_html_reads_like_a_browser():
    page = """<html><body>
<ul class="weather">
  <li>
    <span>흐림</span><strong>북춘천</strong>
    <em>-3.4</em>℃
  </li>
  <li><img src="icon/snow.png" alt="눈"> 대관령
      -9.5℃</li>
  <li><img src="ad.png" alt="광고">서울 1.0℃</li>
</ul>
<table>
  <tr><th>지점</th><th>날씨</th><th>기온</th></tr>
  <tr><td>부산</td><td>맑음</td><td>5.2℃</td></tr>
  <tr><td>맑음광주</td><td>2.0℃</td></tr>
</table>
<pre>
맑음대구 3.0℃
흐림울산 4.0℃
</pre>
</body></html>"""
    df = parse_readings(page)
    assert cols(df) == [
        ("북춘천", "흐림", -3.4), ("대관령", "눈", -9.5), ("서울", "", 1.0),
        ("부산", "맑음", 5.2), ("광주", "맑음", 2.0), ("대구", "맑음", 3.0), ("울산", "흐림", 4.0),
    ]
    source = page.splitlines()
    for name, cond, line in zip(df["station_name"], df["condition"], df["line"], strict=True):
        assert (cond or name) in source[line - 1], (name, line)  # where the reading starts


def test_text_with_stray_inline_tags_keeps_its_lines():
    text = "오늘 <b>전국</b> 날씨\n• 맑음서울 1.0℃\n• <b>흐림</b>부산 2.0℃\n기상청 제공"
    df = parse_readings(text)
    assert cols(df) == [("서울", "맑음", 1.0), ("부산", "흐림", 2.0)]
    assert df["line"].tolist() == [2, 3]


def test_html_fragment_and_entities():
    df = parse_readings("<p>흐림&nbsp;서울&nbsp;&minus;2.0&#8451;</p><p>맑음부산 3&deg;C</p>")
    assert cols(df) == [("서울", "흐림", -2.0), ("부산", "맑음", 3.0)]


def test_hostile_markup_never_crashes():
    page = (
        "<div><img src=x onerror=alert(1)><a href='javascript:alert(1)'>x</a>"
        "<li>맑음서울 1.0℃</li><svg><script>맑음부산 9℃</script></svg>"
        "<![CDATA[ 맑음대구 9℃ ]]><? 맑음광주 9℃ ?><!-- <li>맑음울산 9℃</li> --></div>"
    )
    assert cols(parse_readings(page)) == [("서울", "맑음", 1.0)]


# --- bytes and encodings ----------------------------------------------------------------


def test_euckr_bytes_without_markup():
    text = ARTICLE.read_text(encoding="utf-8")
    data = text.replace("•", "·").encode("euc-kr")
    df = parse_readings(data)
    assert len(df) == 26
    assert parse_readings(data, encoding="euc-kr").equals(df)
    assert parse_readings(data, encoding="cp949").equals(df)


def test_utf8_bom_and_utf16():
    text = "• 맑음서울 1.0℃\n"
    assert cols(parse_readings(b"\xef\xbb\xbf" + text.encode("utf-8"))) == [("서울", "맑음", 1.0)]
    assert cols(parse_readings(text.encode("utf-16"))) == [("서울", "맑음", 1.0)]


@pytest.mark.parametrize(("declared", "codec"), [("utf-16", "utf-8"), ("UTF-16LE", "cp949")])
def test_meta_charset_utf16_on_ascii_compatible_bytes_is_ignored(declared, codec):
    # the meta tag was read as ASCII, so the page is not UTF-16 (browsers read it as UTF-8)
    page = f'<html><head><meta charset="{declared}"></head><body><p>맑음서울 1.0℃</p></body></html>'
    assert cols(parse_readings(page.encode(codec))) == [("서울", "맑음", 1.0)]


def test_undecodable_bytes_name_the_encodings_tried():
    with pytest.raises(ParseError, match=r"tried utf-8, cp949.*encoding="):
        parse_readings(b"\x80\x80 \xff\xff\xff")


def test_encoding_override_errors():
    data = "· 맑음서울 1.0℃".encode("cp949")
    with pytest.raises(ParseError, match=r"not valid 'utf-8'"):
        parse_readings(data, encoding="utf-8")
    with pytest.raises(ParseError, match=r"unknown encoding 'klingon'"):
        parse_readings(data, encoding="klingon")


# --- sources ------------------------------------------------------------------------------


def test_sources_path_str_path_and_file_objects(tmp_path):
    expected = cols(parse_readings(ARTICLE))
    assert cols(parse_readings(str(ARTICLE))) == expected
    with ARTICLE.open(encoding="utf-8") as fh:
        assert cols(parse_readings(fh)) == expected
    with ARTICLE.open("rb") as fh:
        assert cols(parse_readings(fh)) == expected
    assert cols(parse_readings(io.BytesIO(ARTICLE.read_bytes()))) == expected
    assert cols(parse_readings(bytearray(ARTICLE.read_bytes()))) == expected


def test_text_file_object_with_the_wrong_encoding_is_a_parse_error(tmp_path):
    path = tmp_path / "cp949.txt"
    path.write_bytes("맑음서울 1.0℃\n".encode("cp949"))
    with path.open(encoding="utf-8") as fh:
        with pytest.raises(ParseError, match=r"binary mode \('rb'\)"):
            parse_readings(fh)
    with path.open("rb") as fh:
        assert cols(parse_readings(fh)) == [("서울", "맑음", 1.0)]


def test_path_vs_text_rule(tmp_path):
    # a one-line string naming no file is text; a Path that does not exist is an error
    with pytest.raises(ParseError, match=r"'nowhere\.txt' was read as text"):
        parse_readings("nowhere.txt")
    with pytest.raises(InputError, match="does not exist"):
        parse_readings(tmp_path / "nowhere.txt")
    with pytest.raises(InputError, match="is a folder"):
        parse_readings(tmp_path)
    # a file whose name looks like a reading is still text when it does not exist
    assert cols(parse_readings("맑음서울 1.0℃")) == [("서울", "맑음", 1.0)]


def test_wrong_source_type():
    with pytest.raises(TypeError, match="not int"):
        parse_readings(12)  # type: ignore[arg-type]


# --- invalid lines ---------------------------------------------------------------------------

BAD_LINES = [
    ("• 맑음서울 2a.5℃", "'2a.5' is not a number"),
    ("• 맑음서울 24..5℃", "'24..5' is not a number"),
    ("• 맑음서울 ℃", "no temperature"),
    ("• 맑음서울 75℉", "Fahrenheit"),
    ("• 맑음서울 75°F", "Fahrenheit"),
    ("• 맑음서울 1e3℃", "'1e3' is not a number"),
    ("• 맑음서울 1234℃", "'1234' is not a number"),
]


@pytest.mark.parametrize(("line", "why"), BAD_LINES)
def test_invalid_line_raises_with_line_number_and_text(line, why):
    with pytest.raises(ParseError, match=r"line 2: .*" + re.escape(why)) as info:
        parse_readings(f"• 흐림부산 1.0℃\n{line}\n")
    assert repr(line.strip()) in str(info.value)
    assert "on_invalid='warn'" in str(info.value)


def test_invalid_line_text_is_truncated():
    line = "• 맑음서울 2a.5℃ " + "• 맑음부산 1.0℃ " * 20
    with pytest.raises(ParseError) as info:
        parse_readings(line)
    assert "…" in str(info.value)
    assert len(str(info.value)) < 250


def test_on_invalid_warn_keeps_the_rest():
    with pytest.warns(KwxmapWarning, match=r"line 2: .*'2a\.5'") as record:
        df = parse_readings("• 흐림부산 1.0℃\n• 맑음서울 2a.5℃\n• 맑음대구 3.0℃",
                            on_invalid="warn")
    assert cols(df) == [("부산", "흐림", 1.0), ("대구", "맑음", 3.0)]
    assert all(Path(w.filename) == Path(__file__) for w in record)  # stacklevel=2


def test_on_invalid_ignore_is_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = parse_readings("• 맑음서울 2a.5℃\n• 맑음대구 3.0℃", on_invalid="ignore")
    assert cols(df) == [("대구", "맑음", 3.0)]


def test_only_invalid_lines_is_still_an_error():
    with pytest.raises(ParseError, match=r"no readings found .*1 invalid line"):
        parse_readings("• 맑음서울 2a.5℃", on_invalid="ignore")


def test_invalid_lines_are_counted_in_the_messages():
    bad = "• 맑음서울 2a.5℃"
    with pytest.raises(ParseError, match=r"line 2: .*\(and 2 more\); fix the input"):
        parse_readings("\n".join(["• 흐림부산 1.0℃", bad, bad, bad]))
    with pytest.raises(ParseError, match=r"line 2: .*\(and 1 more\); fix the input"):
        parse_readings("\n".join(["• 흐림부산 1.0℃", bad, bad]))
    with pytest.raises(ParseError) as one:
        parse_readings("\n".join(["• 흐림부산 1.0℃", bad]))
    assert "more)" not in str(one.value)
    with pytest.raises(ParseError, match=r"\(1 invalid line skipped\)"):
        parse_readings(bad, on_invalid="ignore")
    with pytest.raises(ParseError, match=r"\(2 invalid lines skipped\)"):
        parse_readings(f"{bad}\n{bad}", on_invalid="ignore")


@pytest.mark.parametrize(("n_bad", "rest"), [(20, None), (21, "skipped 1 more invalid lines"),
                                             (23, "skipped 3 more invalid lines")])
def test_on_invalid_warn_names_20_lines_then_counts_the_rest(n_bad, rest):
    text = "\n".join(["• 흐림부산 1.0℃"] + ["• 맑음서울 2a.5℃"] * n_bad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = parse_readings(text, on_invalid="warn")
    messages = [str(w.message) for w in caught]
    assert len(df) == 1
    assert sum(m.startswith("skipped invalid line") for m in messages) == 20
    assert [m for m in messages if "more invalid" in m] == ([rest] if rest else [])


def test_an_error_page_title_is_quoted_up_to_80_characters():
    title = "서비스 점검 안내 " + "x" * 100
    with pytest.raises(ParseError) as info:
        parse_readings(f"<html><head><title> {title} </title></head><body></body></html>")
    assert f"titled {title[:80]!r}; is it an error page" in str(info.value)


def test_a_dataframe_is_read_only_as_a_table():
    df = pd.DataFrame({"station_name": ["서울"], "temperature_c": [3.5]})
    assert parse_readings(df, input_format="table")["temperature_c"].tolist() == [3.5]
    assert parse_readings(df).attrs["input_format"] == "table"
    with pytest.raises(InputError, match="input_format='widget' reads text; a DataFrame"):
        parse_readings(df, input_format="widget")


def test_the_reader_table_is_immutable():
    import dataclasses

    from kwxmap.readers import READERS

    with pytest.raises(dataclasses.FrozenInstanceError):
        READERS[0].name = "other"


@pytest.mark.parametrize("text", ["", "   \n\n", "기상청 제공", "<html><body></body></html>",
                                  "<script>맑음서울 1℃</script>"])
def test_no_readings_is_a_parse_error(text):
    with pytest.raises(ParseError, match="no readings found"):
        parse_readings(text)


def test_on_invalid_is_validated():
    with pytest.raises(ValueError, match=r"on_invalid='skip' is not one of 'raise', 'warn', "
                                         r"'ignore'"):
        parse_readings("맑음서울 1℃", on_invalid="skip")


# --- tables ---------------------------------------------------------------------------------


def test_kma_portal_export_cp949():
    df = parse_readings(PORTAL_CSV)
    rows = list(csv.reader(io.StringIO(PORTAL_CSV.read_bytes().decode("cp949"))))
    assert len(df) == len(rows) - 1
    assert df["station_id"].dtype == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(df["time"])
    assert df["station_id"].tolist() == [int(r[0]) for r in rows[1:]]
    assert df["station_name"].tolist() == [r[1] for r in rows[1:]]
    assert df["time"].tolist() == [pd.Timestamp(r[2]) for r in rows[1:]]
    assert df["line"].tolist() == list(range(2, len(rows) + 1))
    for value, r in zip(df["temperature_c"], rows[1:], strict=True):
        assert (math.isnan(value) and r[3] == "") or value == float(r[3])


def test_plain_csv_with_names_and_conditions():
    text = "station_name,temperature_c,condition\n서울,1.5,맑음\n홍성(예),-2,진눈깨비\n부산,,\n"
    df = parse_readings(text)
    assert cols(df)[:2] == [("서울", "맑음", 1.5), ("홍성(예)", "진눈깨비", -2.0)]
    assert math.isnan(df["temperature_c"].iloc[2])
    assert df["condition_en"].tolist() == [WORDS["맑음"], "sleet", ""]
    assert "station_id" not in df.columns and "time" not in df.columns


def test_csv_with_ids_only_and_hostile_names_kept():
    text = "time,station_id,temperature_c\n2024-01-15T06:00,108,-5.0\n2024-01-15T06:00,159,2\n"
    df = parse_readings(text)
    assert df["station_id"].tolist() == [108, 159]
    assert df["station_name"].tolist() == ["", ""]
    hostile = '<script>alert("x")</script>'
    quoted = hostile.replace('"', '""')
    df = parse_readings(f'station_name,temperature_c\n"{quoted}",1\n')
    assert df["station_name"].tolist() == [hostile]


def test_daily_statistics_shape_from_examples():
    path = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"
    df = parse_readings(path)
    raw = pd.read_csv(path, encoding="utf-8")
    assert len(df) == len(raw)
    assert df["station_id"].tolist() == raw["stn_id"].tolist()
    np.testing.assert_array_equal(df["temperature_c"].to_numpy(), raw["temp_c"].to_numpy())
    assert (df["time"] == pd.to_datetime(raw["time"])).all()


@pytest.mark.parametrize(
    ("cell", "value"),
    [("25.0℃", 25.0), ("25.0 °C", 25.0), ("-3.5°C", -3.5), ("２５.５", 25.5), ("−0.5", -0.5)],
)
def test_table_temperature_cells_read_like_widget_values(cell, value):
    df = parse_readings(f"station_name,temperature_c\n서울,{cell}\n")
    assert df["temperature_c"].tolist() == [value]


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ("서울,abc", "temperature 'abc' is not a number"),
        ("서울,℃", "no temperature before the unit"),
        ("서울,77℉", "temperature '77℉' is not a number"),
        (",1.0", "no station id or name"),
    ],
)
def test_invalid_table_rows(row, why):
    text = f"station_name,temperature_c\n부산,1.0\n{row}\n"
    with pytest.raises(ParseError, match=r"line 3: " + re.escape(why)):
        parse_readings(text)
    with pytest.warns(KwxmapWarning, match="line 3"):
        df = parse_readings(text, on_invalid="warn")
    assert df["station_name"].tolist() == ["부산"]


def test_unreadable_table_is_a_parse_error():
    huge = "x" * 200_000
    with pytest.raises(ParseError, match="line 2: cannot read the table"):
        parse_readings(f'station_name,temperature_c\n"{huge}",1\n')


def test_invalid_table_id_and_time():
    with pytest.raises(ParseError, match=r"line 2: station id 'x1'"):
        parse_readings("station_id,temperature_c\nx1,1.0\n")
    with pytest.raises(ParseError, match=r"line 3: time 'yesterday' is not a date"):
        parse_readings("time,station_id,temperature_c\n2024-01-01,108,1\nyesterday,108,2\n")


@pytest.mark.parametrize(
    "stamps",
    [
        ["2024-01-01 00:00+09:00", "2024-01-01 01:00+09:00"],  # one zone
        ["2024-01-01 00:00+09:00", "2024-01-01 01:00"],  # a zone and none
        ["2024-01-01T00:00+09:00", "2023-12-31T16:00Z"],  # two zones
    ],
)
def test_table_times_with_a_zone_are_naive_kst(stamps):
    rows = "".join(f"108,{i},{t}\n" for i, t in enumerate(stamps))
    df = parse_readings(f"station_id,temperature_c,time\n{rows}")
    assert df["time"].dt.tz is None
    assert df["time"].tolist() == [
        pd.Timestamp("2024-01-01 00:00"),
        pd.Timestamp("2024-01-01 01:00"),
    ]


def test_table_bad_time_beside_a_zoned_one_is_an_invalid_row():
    text = "station_id,temperature_c,time\n108,1,2024-01-01T00:00Z\n105,2,2024-13-01\n"
    with pytest.raises(ParseError, match=r"line 3: time '2024-13-01' is not a date"):
        parse_readings(text)
    with pytest.warns(KwxmapWarning, match="line 3"):
        df = parse_readings(text, on_invalid="warn")
    assert df["time"].tolist() == [pd.Timestamp("2024-01-01 09:00")]


@pytest.mark.parametrize(
    ("sid", "why"),
    [
        ("99999999999999999999999", "station id '99999999999999999999999' is too large"),
        ("1e20", "station id '1e20' is too large"),
        ("9" * 5000, "station id '" + "9" * 29 + "…' is too large"),
        ("²", "station id '²' is not a number"),
        ("1_08", "station id '1_08' is not a number"),  # float() would read 108
    ],
)
def test_table_station_id_out_of_range_is_an_invalid_row(sid, why):
    text = f"station_id,temperature_c\n108,1.0\n{sid},2.0\n"
    with pytest.raises(ParseError, match=r"line 3: " + re.escape(why)):
        parse_readings(text)
    with pytest.warns(KwxmapWarning, match="line 3"):
        df = parse_readings(text, on_invalid="warn")
    assert df["station_id"].tolist() == [108]


# --- properties -------------------------------------------------------------------------------

READING_BITS = st.sampled_from(
    ["맑음", "서울", "북강릉", "홍성(예)", "℃", "°C", "-", "−", "3", ".", "5", " ", "\n", "\t",
     "•", "<li>", "</li>", "<script>", "<br>", "&#8451;", "station_name,temperature_c\n", ",",
     "(", ")", "눈/비", "<meta charset=euc-kr>", "\r"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.lists(READING_BITS | st.text(max_size=3)).map("".join)))
def test_any_text_gives_readings_or_parse_error(text):
    try:
        df = parse_readings(text, registry=REGISTRY)
    except ParseError:
        return
    assert list(df.columns[:5]) == ["station_name", "condition", "condition_en",
                                   "temperature_c", "line"]
    assert len(df) > 0
    assert (df["line"] >= 1).all()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(),
    st.lists(READING_BITS).map(lambda parts: "".join(parts).encode("cp949", "replace")),
))
def test_any_bytes_give_readings_or_parse_error(data):
    try:
        parse_readings(data, registry=REGISTRY)
    except ParseError:
        pass


TEMPS = st.decimals(min_value=-45, max_value=45, places=1, allow_nan=False).map(float)
CONDITIONS = st.sampled_from(["", *sorted(WORDS)])
READINGS = st.lists(st.tuples(st.sampled_from(HANGUL_NAMES), CONDITIONS, TEMPS),
                    min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(
    READINGS,
    st.sampled_from(["℃", "°C", " ℃", "° C", "&#8451;", "ºC"]),
    st.sampled_from(["• ", "· ", "- ", "", "▶ ", "\t"]),
    st.sampled_from(["", " "]),
    st.sampled_from(["\n", " ", "\r\n", "</li>\n<li>", " | "]),
    st.sampled_from(["-", "−"]),
)
def test_round_trip_rendered_widget(readings, unit, bullet, gap, sep, minus):
    def fmt(t):
        text = f"{abs(t):.1f}"
        return minus + text if t < 0 else text

    body = sep.join(
        f"{bullet}{cond}{gap if cond else ''}{name} {fmt(t)}{unit}"
        for name, cond, t in readings
    )
    if "<li>" in sep:
        body = f"<ul><li>{body}</li></ul>"
    df = parse_readings(f"오늘의 날씨\n{body}\n기상청 제공", registry=REGISTRY)
    assert cols(df) == [(n, c, t) for n, c, t in readings]


def test_a_station_name_ending_in_a_digit_is_read():
    """KMA's AWS lists name a site '양주1'; the token's digit is not part of the value
    (found by test_widget_lines_between_noise_parse_back_exactly)."""
    got = parse_readings("• 맑음양주1 0.0℃\n• 흐림서울 -3.5℃")
    assert got[["condition", "station_name", "temperature_c"]].values.tolist() == [
        ["맑음", "양주1", 0.0], ["흐림", "서울", -3.5]]


def _read(text: str) -> list[tuple[str, float, int]]:
    got = parse_readings(text)
    return list(zip(got["station_name"], got["temperature_c"], got["line"], strict=True))


def test_html_entities_in_plain_text_lines_are_decoded():
    assert _read("• 맑음서울&nbsp;24.5&#8451;\n• 흐림부산 1.0℃") == [("서울", 24.5, 1),
                                                                  ("부산", 1.0, 2)]


def test_unclosed_table_cells_are_still_separate_cells():
    page = "<html><body><table><tr><td>맑음서울<td>24.5℃<tr><td>흐림부산<td>1.0℃</table>"
    assert [r[:2] for r in _read(page)] == [("서울", 24.5), ("부산", 1.0)]


def test_inline_tags_add_no_space_the_text_reads_as_a_browser_shows_it():
    page = ("<html><body><p>맑음서울 2<b>4.5</b>℃</p><p>흐림<span>부산</span> 1.<i>0</i>℃</p>"
            "</body></html>")
    assert [r[:2] for r in _read(page)] == [("서울", 24.5), ("부산", 1.0)]


def test_line_breaks_are_hard_inside_pre_and_soft_after_it():
    # after </pre>, a paragraph's line break is only a space: one reading
    page = "<html><body><pre>맑음서울 1.0℃\n흐림부산 2.0℃</pre><p>맑음대구\n3.0℃</p></body></html>"
    assert _read(page) == [("서울", 1.0, 1), ("부산", 2.0, 2), ("대구", 3.0, 2)]
    # a textarea inside the pre closes; the pre's breaks stay hard (one line each)
    page = ("<html><body><pre>맑음서울 1.0℃\n<textarea>흐림부산 2.0℃</textarea>\n"
            "맑음대구 3.0℃\n맑음광주 4.0℃</pre></body></html>")
    assert _read(page) == [("서울", 1.0, 1), ("부산", 2.0, 2), ("대구", 3.0, 3), ("광주", 4.0, 4)]


@pytest.mark.parametrize(("times", "dates"), [
    (["2020-08-01", "2020-08-01"], True),
    (["20200801", " 20200802 "], True),
    (["2020-08-01", "2020-08-01 00:00"], False),  # one instant: not a file of days
    (["2020-08-01 00:00", "2020-08-01 00:00"], False),
    (["2020-08-01T09:00+09:00", "2020-08-01T09:00+09:00"], False),
])
def test_a_table_of_dates_alone_is_read_as_days(times, dates):
    rows = "".join(f"{t},{sid},20.5\n" for t, sid in zip(times, (108, 133), strict=True))
    frame = parse_readings(f"time,station_id,temperature_c\n{rows}")
    assert bool(frame.attrs.get("dates")) is dates


@pytest.mark.parametrize(("sid", "want"), [
    ("9" * 18, 10**18 - 1),  # the most digits a table id may have
    ("0.0", 0), ("108.0", 108), ("12345.0", 12345), ("1e3", 1000),
    ("9" * 19, "too large"), ("-1.0", "is not a number"), ("1.5", "is not a number"),
])
def test_table_station_ids_by_their_digits(sid, want):
    text = f"station_id,temperature_c\n{sid},1.0\n108,2.0\n"
    if isinstance(want, int):
        assert parse_readings(text)["station_id"].tolist() == [want, 108]
    else:
        with pytest.raises(ParseError, match=want):
            parse_readings(text)


def test_a_table_without_times_is_not_a_table_of_days_and_a_missing_variable_is_named():
    assert "dates" not in parse_readings("station_id,temperature_c\n108,1.0\n").attrs
    with pytest.raises(InputError, match=r"^variable='tmin': the table has no tmin column "
                                          r"\(one of tmin_c, tmin, temp_min_c\.\.\.\); its "
                                          r"columns are \['station_id', 'temperature_c'\]$"):
        parse_readings("station_id,temperature_c\n108,1.0\n", variable="tmin")
