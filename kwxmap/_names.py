"""Hangul station names: normalisation, jamo similarity and romanization.

KMA pages print the same station in several ways (``홍성(예)``, ``홍성``,
``강진군``, ``강진``, ``Gangjin-gun``). This module turns a printed name into
the keys the registry indexes, scores how close two names are at the jamo
level (so a one-letter typo inside a syllable still counts as close), and
romanizes Hangul with the Revised Romanization of Korean for stations whose
source lists no English name.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "canonical",
    "closest",
    "is_hangul",
    "jamo",
    "name_keys",
    "romanize",
    "similarity",
    "strip_parenthetical",
    "strip_suffix",
]

# Parenthesised status markers KMA appends to a name: 예 = trial period
# (예비관측), 기 = 기상대 site, 감 = 감시 (GAW), 레 = radar, 과 = 과학관.
_MARKERS = frozenset({"예", "기", "감", "레", "과"})
_DROP = re.compile(r"[\s\-‐‑–—'’`.·・_\u200b\u200c\u200d\u2060\ufeff\u00ad]+")  # with invisibles
_PAREN = re.compile(r"\(([^()]*)\)")
_BRACKETS = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")", "<": "(", ">": ")"})
_SUFFIXES = ("시", "군")
_ROMAN_SUFFIX = re.compile(r"-(si|gun)$", re.IGNORECASE)


def canonical(name: str) -> str:
    """Return the comparison key of a printed name.

    NFKC (full-width letters, digits and parentheses become ASCII), case
    folding, other brackets read as parentheses, and whitespace, hyphens,
    apostrophes, dots and invisible characters (zero-width space, soft
    hyphen) removed.

    Examples
    --------
    >>> canonical(" 홍성 （예） ")
    '홍성(예)'
    >>> canonical("Gangjin-gun")
    'gangjingun'
    """
    text = unicodedata.normalize("NFKC", name).casefold().translate(_BRACKETS)
    return _DROP.sub("", text)


def strip_parenthetical(key: str) -> tuple[str, list[str]]:
    """Split a canonical key into the part outside parentheses and the insides.

    Examples
    --------
    >>> strip_parenthetical("진도(첨찰산)")
    ('진도', ['첨찰산'])
    >>> strip_parenthetical("서울")
    ('서울', [])
    """
    inside = _PAREN.findall(key)
    return _PAREN.sub("", key).strip("()"), inside


def strip_suffix(key: str) -> str | None:
    """Drop an administrative ``시``/``군`` (or ``-si``/``-gun``) suffix.

    Returns None when the name has no such suffix or too little would be
    left (a one-syllable place name).

    Examples
    --------
    >>> strip_suffix("강진군")
    '강진'
    >>> strip_suffix("Gyeongju-si")
    'Gyeongju'
    >>> strip_suffix("광주") is None
    True
    """
    if _ROMAN_SUFFIX.search(key):
        return _ROMAN_SUFFIX.sub("", key)
    if len(key) >= 3 and key.endswith(_SUFFIXES) and is_hangul(key):
        return key[:-1]
    return None


def name_keys(name: str) -> list[tuple[str, int]]:
    """Return the lookup keys of a printed name, each with its strength.

    Strength 0 is the canonical form of the name itself; 1 drops a
    parenthesised status marker (``홍성(예)`` → ``홍성``); 2 is any other
    derived form (the part before or inside other parentheses, the name
    without its ``시``/``군`` suffix).

    Examples
    --------
    >>> name_keys("진도(첨찰산)")
    [('진도(첨찰산)', 0), ('진도첨찰산', 2), ('진도', 2), ('첨찰산', 2)]
    >>> name_keys("홍성(예)")
    [('홍성(예)', 0), ('홍성', 1)]
    >>> name_keys("Gangjin-gun")
    [('gangjingun', 0), ('gangjin', 2)]
    """
    key = canonical(name)
    keys: dict[str, int] = {key: 0}

    def add(k: str, strength: int) -> None:
        if k and k not in keys:
            keys[k] = strength

    base, inside = strip_parenthetical(key)
    if inside:
        marker_only = all(part in _MARKERS for part in inside)
        if not marker_only:
            add(base + "".join(inside), 2)
        add(base, 1 if marker_only else 2)
        for part in inside:
            if part not in _MARKERS and len(part) >= 2:
                add(part, 2)
    for k in (base, *(p for p in inside if p not in _MARKERS)):
        short = strip_suffix(k)
        if short:
            add(short, 2)
    raw_short = strip_suffix(unicodedata.normalize("NFKC", name).strip())
    if raw_short and not is_hangul(raw_short):
        add(canonical(raw_short), 2)
    return list(keys.items())


def is_hangul(text: str) -> bool:
    """Return True when ``text`` contains at least one Hangul syllable.

    Examples
    --------
    >>> is_hangul("추풍령"), is_hangul("Seoul")
    (True, False)
    """
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def jamo(text: str) -> str:
    """Decompose Hangul syllables into their jamo (Unicode NFD).

    Examples
    --------
    >>> len(jamo("령")), len(jamo("녕"))
    (3, 3)
    """
    return unicodedata.normalize("NFD", text)


def similarity(a: str, b: str) -> float:
    """Return a 0..1 similarity of two names, compared jamo by jamo.

    Examples
    --------
    >>> similarity("추풍녕", "추풍령") > similarity("추풍녕", "추자도")
    True
    """
    return difflib.SequenceMatcher(None, jamo(canonical(a)), jamo(canonical(b))).ratio()


def closest(query: str, names: Iterable[str], n: int = 5, cutoff: float = 0.5) -> list[str]:
    """Return up to ``n`` of ``names`` closest to ``query``, best first.

    Ties keep the order of ``names``.

    Examples
    --------
    >>> closest("추풍녕", ["서울", "추풍령", "추자도"], n=1)
    ['추풍령']
    """
    scored = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            continue
        seen.add(name)
        score = similarity(query, name)
        if score >= cutoff:
            scored.append((-score, i, name))
    scored.sort()
    return [name for _, _, name in scored[:n]]


# --- Revised Romanization of Korean ------------------------------------------

_INITIAL = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch",
            "k", "t", "p", "h"]
_VOWEL = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
          "wo", "we", "wi", "yu", "eu", "ui", "i"]
# Final consonant index (0 = none) -> the sound it has before a consonant or at the end.
_FINAL = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m",
          "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t"]
# Final consonant index -> the initial it becomes before a vowel (liaison).
_LIAISON = {1: "g", 2: "kk", 4: "n", 7: "d", 8: "r", 16: "m", 17: "b", 19: "s", 20: "ss",
            22: "j", 23: "ch", 24: "k", 25: "t", 26: "p"}


def _syllables(word: str) -> list[tuple[int, int, int] | str]:
    out: list[tuple[int, int, int] | str] = []
    for ch in word:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out.append((code // 588, (code % 588) // 28, code % 28))
        else:
            out.append(ch)
    return out


def _romanize_word(word: str) -> str:
    syl = _syllables(word)
    parts: list[str] = []
    for i, s in enumerate(syl):
        if isinstance(s, str):
            parts.append(s)
            continue
        ini, vow, fin = s
        prev = syl[i - 1] if i > 0 else None
        nxt = syl[i + 1] if i + 1 < len(syl) else None
        # initial, adjusted by the previous syllable's final
        onset = _INITIAL[ini]
        if isinstance(prev, tuple) and prev[2]:
            pfin = _FINAL[prev[2]]
            if ini == 11 and prev[2] in _LIAISON:  # ㅇ: the final moves over
                onset = _LIAISON[prev[2]]
            elif ini == 5:  # ㄹ
                onset = "l" if pfin in ("l", "n") else "n"
            elif ini == 2 and pfin == "l":  # ㄹ+ㄴ reads ll
                onset = "l"
        elif i == 0 and ini == 5:
            onset = "r"
        coda = ""
        if fin:
            coda = _FINAL[fin]
            if isinstance(nxt, tuple):
                nini = nxt[0]
                if nini == 11 and fin in _LIAISON:
                    coda = ""
                elif nini in (2, 6):  # ㄴ ㅁ: nasalisation
                    coda = {"k": "ng", "t": "n", "p": "m"}.get(coda, coda)
                elif nini == 5:  # ㄹ
                    coda = {"k": "ng", "t": "n", "p": "m"}.get(coda, coda)
                    if coda == "n":
                        coda = "l"
        parts.append(onset + _VOWEL[vow] + coda)
    return "".join(parts)


def romanize(name: str) -> str:
    """Romanize a Hangul place name (Revised Romanization, simplified).

    Sound changes between syllables (liaison, nasalisation, ``ㄹ``
    assimilation) are applied; an administrative ``시``/``군`` suffix is set
    off with a hyphen, as KMA does (``Gochang-gun``). Text outside Hangul is
    kept.

    Examples
    --------
    >>> romanize("추풍령"), romanize("대관령"), romanize("고창군")
    ('Chupungnyeong', 'Daegwallyeong', 'Gochang-gun')
    >>> romanize("진도(첨찰산)")
    'Jindo(Cheomchalsan)'
    """
    out = []
    for chunk in re.split(r"([()\s])", name):
        if not chunk or not is_hangul(chunk):
            out.append(chunk)
            continue
        suffix = ""
        if len(chunk) >= 3 and chunk.endswith(_SUFFIXES):
            suffix = "-" + _romanize_word(chunk[-1])
            chunk = chunk[:-1]
        word = _romanize_word(chunk)
        out.append(word[:1].upper() + word[1:] + suffix)
    return "".join(out)
