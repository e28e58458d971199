"""The parser against expectations stated independently of its code.

- Glued tokens: every registry name that ends with another registry name
  (북강릉/강릉, 남양주/양주, ...) after a weather word the parser does not know
  is read as the longer name.
- Round trip: widget lines built from the registry, between noise lines that
  cannot hold a reading, parse back to exactly the readings written.
- Random bytes: whatever is read is really in the input.
- Decoding order (declared charset, then UTF-8, then CP949), pinned by the
  decoded text: ``é`` in UTF-8 (C3 A9) is also valid CP949, where it reads
  ``챕``, so the text read tells which codec won.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kwxmap import load_stations, parse_readings
from kwxmap.errors import KwxmapError, ParseError

ALL = load_stations("all")
#: The names and aliases parse_readings knows with registry=ALL (ASOS and AWS).
NAMES = sorted(n for n in ALL.name_index() if re.match("[가-힣]", n))
SUFFIX_PAIRS = [(a, b) for a in NAMES for b in NAMES if a != b and a.endswith(b)]
WORDS = ["맑음", "구름많음", "흐림", "비", "눈", "구름조금", "뭔가", "아무말", "날씨"]


def test_the_registry_has_names_ending_in_other_names():
    assert ("북강릉", "강릉") in SUFFIX_PAIRS
    assert len(SUFFIX_PAIRS) >= 10


@pytest.mark.parametrize(("long", "short"), SUFFIX_PAIRS)
def test_unknown_word_glued_to_a_name_that_ends_in_another_name(long, short):
    got = parse_readings(f"뭔가{long} 12.5℃", registry=ALL)
    assert got["station_name"].tolist() == [long], f"read {short!r} out of 뭔가{long}"
    assert got["condition"].tolist() == ["뭔가"]
    assert got["temperature_c"].tolist() == [12.5]


def test_known_word_glued_to_the_longer_name():
    got = parse_readings("맑음북강릉 11.0℃\n구름많음강릉 10.5℃")
    assert got["station_name"].tolist() == ["북강릉", "강릉"]
    assert got["condition"].tolist() == ["맑음", "구름많음"]


reading = st.tuples(
    st.sampled_from(WORDS),
    st.sampled_from(NAMES),
    st.integers(-300, 400).map(lambda t: t / 10),
    st.sampled_from(["℃", "°C", " ℃"]),
)
# noise without digits cannot carry a temperature, so it can never be a reading
noise = st.text(
    alphabet=st.characters(blacklist_categories=("Nd", "No", "Cs", "Zl", "Zp", "Cc")),
    max_size=40,
).map(lambda s: s.strip())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(reading, noise), min_size=1, max_size=8))
def test_widget_lines_between_noise_parse_back_exactly(rows):
    lines, expected = [], []
    for (word, name, temp, unit), junk in rows:
        if junk:
            lines.append(junk)
        lines.append(f"• {word}{name} {temp:.1f}{unit}")
        expected.append((name, temp, len(lines)))
    got = parse_readings("\n".join(lines), registry=ALL)
    read = list(zip(got["station_name"], got["temperature_c"], got["line"], strict=True))
    assert read == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_yield_only_readings_that_are_in_the_input(data):
    try:
        got = parse_readings(data, registry=ALL)
    except KwxmapError:
        return
    text = data.decode("utf-8", "replace") + data.decode("cp949", "replace")
    assert len(got) >= 1
    for name, temp in zip(got["station_name"], got["temperature_c"], strict=True):
        assert name in NAMES and name in text
        assert re.search(rf"{temp:g}|{temp:.1f}", text), (temp, text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_with_a_reading_appended_still_reads_it(junk):
    junk = re.sub(r"[\d℃°]", "", junk)
    try:
        got = parse_readings(f"{junk}\n맑음서울 3.5℃\n{junk}", on_invalid="ignore")
    except KwxmapError as exc:  # junk that makes the input unreadable as a whole
        pytest.fail(f"the reading was lost in {junk!r}: {exc}")
    assert ("서울", 3.5) in list(zip(got["station_name"], got["temperature_c"], strict=True))


# ----------------------------------------------------------------------- decoding order

CSV_CAFE = "station_id,condition,temperature_c\n108,café,3.0\n"


def test_undeclared_bytes_try_utf8_before_cp949():
    data = CSV_CAFE.encode("utf-8")
    assert data.decode("cp949") != CSV_CAFE  # valid CP949 too, with other text
    assert parse_readings(data)["condition"].tolist() == ["café"]


def test_cp949_is_the_fallback_when_utf8_fails():
    data = "station_id,condition,temperature_c\n108,맑음,3.0\n".encode("cp949")
    assert parse_readings(data)["condition"].tolist() == ["맑음"]


def test_an_explicit_encoding_overrides_the_guess():
    got = parse_readings(CSV_CAFE.encode("utf-8"), encoding="cp949")
    assert got["condition"].tolist() == ["caf챕"]


PAGE = '<html><head><meta charset="{}"></head><body><p>{}서울 3.0℃</p></body></html>'


@pytest.mark.parametrize(("declared", "codec"), [("euc-kr", "cp949"), ("utf-8", "utf-8")])
def test_the_declared_charset_decodes_the_page(declared, codec):
    got = parse_readings(PAGE.format(declared, "맑음").encode(codec))
    assert got["condition"].tolist() == ["맑음"]
    assert got["station_name"].tolist() == ["서울"]


def test_the_declared_charset_wins_over_utf8():
    page = PAGE.format("iso-8859-1", "맑음").encode("utf-8")
    # read as UTF-8 the page holds 서울 ...
    assert parse_readings(page, encoding="utf-8")["station_name"].tolist() == ["서울"]
    # ... but it declares Latin-1, which decodes every byte: mojibake, no station
    assert "서울" not in page.decode("iso-8859-1")
    with pytest.raises(ParseError, match="no readings found"):
        parse_readings(page)
