"""Fuzz the parser and the join with generated hostile inputs.

Every input goes through ``kwxmap.parse_readings`` and, when that returns
readings, ``kwxmap.join_readings``. Anything other than a result or a
``KwxmapError`` is a bug (a user or a scraped page caused a traceback); so is
an input slower than 1 s per MB. The generators (seeded, reproducible):

- ``bytes``: random bytes; ``text``: random Unicode (Hangul, ASCII, digits,
  ``℃``/``°C``, NULs, BOMs, controls, surrogate-free);
- ``mutate``: byte mutations (flips, inserts, deletes, duplicated chunks,
  splices of two inputs, truncation, NULs, BOMs) of every real input found
  by glob under ``tests/fixtures/`` and ``examples/`` (new formats are picked
  up as fixtures arrive);
- ``lines``: line-level mutations of the real inputs (duplicated, dropped,
  shuffled lines; numbers replaced by huge, negative, NaN or 5,000-digit ones);
- ``encodings``: the real inputs re-encoded line by line in mixed codecs, with
  BOMs and ``<meta charset>`` declarations that are wrong, unknown or hostile
  (``rot13``, ``base64``, ``undefined``, ``utf-7``);
- ``html``: deep nesting, unclosed tags, scripts, comments and ``<pre>``;
- ``table``: CSV tables with hostile cells (``time`` of ``-1``, ids of
  thousands of digits, ``inf``, ``1e308``);
- ``long``: one long line (runs of spaces, ``x``*n + `` -``, digits, bullets)
  of 1k-50k characters — the backtracking cases;
- ``tags``: markup that never closes, 1k-200k characters: ``<`` followed by
  spaces or letters, ``< /`` + spaces, long unclosed tags and tag names,
  repeated ``<meta``, ``<?xml encoding=`` + spaces, unclosed comments and
  scripts, alone or after ``<html>``;
- ``cases``: the shapes that once escaped as non-``KwxmapError``: JSON
  integers of thousands of digits, CR-only portal CSVs, a numeric
  ``resultCode``, ids such as ``9²``, lone surrogates, rows wider than their
  header.

Times are this process's CPU seconds (``time.process_time``), so a busy
shared machine does not make inputs look slow. Each input has a CPU-time limit
(``--timeout``, ``ITIMER_PROF``; the regex engine checks signals, so a stalled
match is interrupted) and counts as TIMEOUT past it.

Usage::

    python benchmarks/fuzz_inputs.py                  # 100,000 inputs, seed 0
    python benchmarks/fuzz_inputs.py -n 2000 --seed 3
    python benchmarks/fuzz_inputs.py --big            # the 1 MB line and the 20 MB page

Exit status 1 when any input raised something other than a KwxmapError, timed
out, or took more than 1 s per MB (inputs under 64 KiB are held to 64 ms).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import random
import resource
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import kwxmap
from kwxmap.errors import KwxmapError

REPO = Path(__file__).resolve().parent.parent
#: Seconds per MB an input may take (the issue's bound), and the floor for small inputs.
S_PER_MB = 1.0
FLOOR_BYTES = 64 * 1024

Input = bytes | str


def real_inputs() -> list[tuple[str, bytes]]:
    """Every real input in the repository: fixtures (any format) and examples."""
    paths = sorted(p for p in (REPO / "tests" / "fixtures").glob("**/*") if p.is_file())
    paths += [REPO / "examples" / "widget.txt"]
    data = REPO / "examples" / "data" / "kma_asos_daily_2020.csv"
    out = [(str(p.relative_to(REPO)), p.read_bytes()) for p in paths if p.is_file()]
    if data.is_file():  # a slice of the daily table: a real CSV of a few days
        lines = data.read_bytes().splitlines(keepends=True)
        out.append((str(data.relative_to(REPO)) + "[:300]", b"".join(lines[:300])))
    return out


HANGUL = "맑음흐림구름많음조금비눈소나기서울북강릉강릉홍성(예)제주고산부산대구광주대전"
ALPHABET = (
    HANGUL + "abcxyzXYZ0123456789 \t\n\r.,-+:;/()[]<>&\"'=`$\\℃°C•·※△▲\x00\ufeff\u200b\x85"
    "\u2028\uffff"
)
CHARSETS = ["utf-8", "euc-kr", "cp949", "ks_c_5601-1987", "iso-8859-1", "utf-16", "utf-7",
            "rot13", "base64", "undefined", "x-user-defined", "", "hz", "unicode", "cp037"]
BOMS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b""]


class Fuzzer:
    """Seeded generators of hostile inputs."""

    def __init__(self, seed: int, reals: list[tuple[str, bytes]]):
        self.rng = random.Random(seed)
        self.reals = [b for _, b in reals]

    def real(self) -> bytes:
        return self.rng.choice(self.reals)

    def gen_bytes(self) -> Input:
        n = int(self.rng.expovariate(1 / 200))
        return self.rng.randbytes(min(n, 20_000))

    def gen_text(self) -> Input:
        n = int(self.rng.expovariate(1 / 150))
        return "".join(self.rng.choice(ALPHABET) for _ in range(min(n, 5000)))

    def gen_mutate(self) -> Input:
        b = bytearray(self.real())
        for _ in range(self.rng.randint(1, 8)):
            op = self.rng.randrange(8)
            i = self.rng.randrange(len(b) + 1)
            if op == 0 and b:
                b[min(i, len(b) - 1)] ^= 1 << self.rng.randrange(8)
            elif op == 1:
                b[i:i] = self.rng.randbytes(self.rng.randint(1, 8))
            elif op == 2:
                del b[i:i + self.rng.randint(1, 16)]
            elif op == 3:
                j = self.rng.randrange(len(b) + 1)
                b[i:i] = b[min(i, j):max(i, j)][:4096]
            elif op == 4:
                b[i:] = self.real()[self.rng.randrange(64):]
            elif op == 5:
                del b[i:]
            elif op == 6:
                b[i:i] = b"\x00" * self.rng.randint(1, 4)
            else:
                b[0:0] = self.rng.choice(BOMS)
        return bytes(b)

    def _number(self) -> str:
        return self.rng.choice([
            "-1", "1e308", "-1e308", "nan", "inf", "-0", "9" * self.rng.randint(20, 5000),
            "0x1F", "1,5", "٣٤", "12.3.4", "−5.0", "", "200.0", "-273.2",
        ])

    def gen_lines(self) -> Input:
        text = self.real().decode("utf-8", "replace") if self.rng.random() < 0.5 else \
            self.real().decode("cp949", "replace")
        lines = text.splitlines()
        for _ in range(self.rng.randint(1, 6)):
            op = self.rng.randrange(5)
            if not lines:
                break
            i = self.rng.randrange(len(lines))
            if op == 0:
                lines.insert(i, lines[i])
            elif op == 1:
                del lines[i]
            elif op == 2:
                self.rng.shuffle(lines)
            else:
                import re

                lines[i] = re.sub(r"-?\d+(\.\d+)?", lambda _m: self._number(), lines[i], count=1)
        return "\n".join(lines)

    def gen_encodings(self) -> Input:
        text = self.real().decode("utf-8", "replace")
        out = [self.rng.choice(BOMS)]
        charset = self.rng.choice(CHARSETS)
        if self.rng.random() < 0.7:
            out.append(f'<html><head><meta charset="{charset}"></head><body><pre>'.encode())
        for line in text.splitlines():
            codec = self.rng.choice(["utf-8", "cp949", "utf-16-le", "latin-1", "utf-8"])
            out.append(line.encode(codec, "replace") + b"\n")
        return b"".join(out)

    def gen_html(self) -> Input:
        depth = int(self.rng.expovariate(1 / 300))
        tag = self.rng.choice(["div", "span", "table", "b", "p", "li", "pre", "td"])
        body = self.real().decode("utf-8", "replace")
        parts = [f"<{tag}>" * depth]
        if self.rng.random() < 0.5:
            parts.append("<script>var x = '맑음서울 3.0℃';</script><!-- 맑음부산 4.0℃ -->")
        parts.append(f"<pre>{body}</pre>" if self.rng.random() < 0.5 else body)
        if self.rng.random() < 0.5:
            parts.append(f"</{tag}>" * depth)
        page = "<html><body>" + "".join(parts)
        return page.encode() if self.rng.random() < 0.5 else page

    def gen_table(self) -> Input:
        rows = ["time,station_id,temperature_c"]
        for _ in range(self.rng.randint(1, 12)):
            t = self.rng.choice(["2020-08-01", "-1", "0", "99999999999", "2020-13-45", "",
                                 "1900-01-01T00:00", "nan", "2020-08-01 25:61"])
            sid = self.rng.choice(["108", "159", "0", "-5", "1" * self.rng.randint(10, 5000),
                                   "1e3", "서울", ""])
            rows.append(f"{t},{sid},{self._number()}")
        return "\n".join(rows)

    def gen_long(self) -> Input:
        n = self.rng.randint(1_000, 50_000)
        kind = self.rng.randrange(6)
        if kind == 0:
            return "맑음" + " " * n + "서울 3.0℃"
        if kind == 1:
            return "x" * n + " -"
        if kind == 2:
            return "1" * n + "℃"
        if kind == 3:
            return "• " * (n // 2) + "맑음서울 3.0℃"
        if kind == 4:
            return ("맑음서울 " * (n // 5)) + "3.0℃"
        return " -" * (n // 2) + "x"

    def gen_tags(self) -> Input:
        n = int(self.rng.uniform(1_000, 200_000))
        shapes = ["<" + " " * n, "<" + "a" * n, "< /" + " " * n, "<div " + "x=1 " * (n // 4),
                  "<" + "b" * n + " x", "<meta " * (n // 6), '<meta charset="' + " " * n,
                  "<?xml encoding=" + " " * n, "<!--" + "-" * n,
                  "<script>" + "</script " * (n // 9), "<td a=b " * (n // 8),
                  "<img alt=" + "=" * n, "<" * n]
        text = self.rng.choice(shapes)
        if self.rng.random() < 0.5:
            text = "<html><body><p>" + text
        if self.rng.random() < 0.3:
            text += "\n• 맑음서울 3.0℃"
        return text.encode() if self.rng.random() < 0.3 else text

    def gen_cases(self) -> Input:
        digits = "1" * self.rng.randint(4_300, 20_000)
        kind = self.rng.randrange(7)
        if kind == 0:
            return ('{"response": {"header": {"resultCode": "00"}, "body": {"items": {"item": '
                    f'[{{"tm": "2024-01-15 06:00", "stnId": {digits}, "ta": {digits}}}]}}}}}}}}')
        if kind == 1:
            return ("지점,지점명,일시,기온(°C)\r108,서울,2024-01-15 06:00,-5.2\r"
                    "159,부산,2024-01-15 06:00,1.0\r")
        if kind == 2:
            return '{"response": {"header": {"resultCode": 0, "resultMsg": "x"}}}'
        if kind == 3:
            return "station_id,temperature_c\n9²,3.0\n١٠٨,4.0\n"
        if kind == 4:
            return "• 맑음서울 3.0℃ \ud800 • 흐림부산\udfff 4.0℃"
        if kind == 5:
            commas = "," * self.rng.randint(10, 100_000)
            return "지점,지점명,일시,기온(°C)\n108,서울,2024-01-15 06:00,-5.2" + commas + "\n"
        return "station_id,time,temperature_c\n108,2024-01-15T06:00Z,3.0\n108," + digits + ",1\n"


#: Generator name -> share of the inputs.
SHARES = {"bytes": 0.15, "text": 0.15, "mutate": 0.25, "lines": 0.15, "encodings": 0.1,
          "html": 0.08, "table": 0.1, "long": 0.002, "tags": 0.01, "cases": 0.01}


def sample(gen: str, n: int, seed: int) -> list[Input]:
    """*n* inputs of one generator (reproducible from *seed*)."""
    fz = Fuzzer(seed, real_inputs())
    make = getattr(fz, f"gen_{gen}")
    return [make() for _ in range(n)]


class Timeout(Exception):
    """An input ran past its time limit."""


def _alarm(signum, frame):
    raise Timeout


def run_one(data: Input, timeout: float, registry) -> tuple[str, float, str | None]:
    """Parse (and join) one input; return (outcome, seconds, traceback or None)."""
    signal.setitimer(signal.ITIMER_PROF, timeout)
    t0 = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            readings = kwxmap.parse_readings(data)
            try:
                kwxmap.join_readings(readings, registry)
                outcome = "ok: parsed and joined"
            except KwxmapError as exc:
                outcome = f"ok: parsed, join {type(exc).__name__}"
    except Timeout:
        return "TIMEOUT", time.process_time() - t0, None
    except KwxmapError as exc:
        outcome = f"ok: parse {type(exc).__name__}"
    except BaseException as exc:  # noqa: BLE001 - the point is to catch anything else
        signal.setitimer(signal.ITIMER_PROF, 0)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return f"OTHER {type(exc).__name__}", time.process_time() - t0, traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    return outcome, time.process_time() - t0, None


def size_of(data: Input) -> int:
    return len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)


def too_slow(seconds: float, size: int) -> bool:
    return seconds > S_PER_MB * max(size, FLOOR_BYTES) / 1e6


def fuzz(n: int, seed: int, timeout: float, save: Path | None,
         report: Callable[[str], None] = print) -> dict:
    """Run *n* generated inputs; print and return the tallies."""
    signal.signal(signal.SIGPROF, _alarm)
    reals = real_inputs()
    fz = Fuzzer(seed, reals)
    gens = {name: getattr(fz, f"gen_{name}") for name in SHARES}
    names, weights = zip(*SHARES.items(), strict=True)
    registry = kwxmap.load_stations()
    outcomes: collections.Counter[str] = collections.Counter()
    by_gen: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    others: list[tuple[str, str, str]] = []
    slow: list[tuple[float, int, str, str]] = []
    over: list[tuple[float, int, str, str]] = []  # every input past the bound
    total_bytes, total_s, n_slow = 0, 0.0, 0
    t_start = time.perf_counter()
    report(f"fuzz: {n} inputs, seed {seed}, time limit {timeout:g} s each; real inputs: "
           + ", ".join(name for name, _ in reals))
    for i in range(n):
        gen = fz.rng.choices(names, weights)[0]
        data = gens[gen]()
        outcome, seconds, tb = run_one(data, timeout, registry)
        size = size_of(data)
        total_bytes += size
        total_s += seconds
        outcomes[outcome] += 1
        by_gen[gen][outcome.split(":")[0]] += 1
        digest = hashlib.sha1(data if isinstance(data, bytes) else data.encode("utf-8",
                              "surrogatepass")).hexdigest()[:10]
        tag = f"#{i} {gen} {size} B sha1 {digest}"
        slow.append((seconds, size, tag, outcome))
        if len(slow) > 200:
            slow.sort(reverse=True)
            del slow[20:]
        if tb is None and (outcome == "TIMEOUT" or too_slow(seconds, size)):
            over.append((seconds, size, tag, outcome))
        if tb is not None or outcome == "TIMEOUT" or too_slow(seconds, size):
            n_slow += tb is None
            if tb is not None:
                others.append((tag, outcome, tb.strip().splitlines()[-1]))
            if save is not None and (tb is not None or outcome == "TIMEOUT"):
                save.mkdir(parents=True, exist_ok=True)
                raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
                (save / f"{gen}-{i}-{digest}.bin").write_bytes(raw)
        if (i + 1) % 10_000 == 0:
            wall = time.perf_counter() - t_start
            report(f"  {i + 1} inputs, {wall:.0f} s wall, {total_s:.0f} s CPU")
    slow.sort(reverse=True)
    wall = time.perf_counter() - t_start
    report(f"\n{n} inputs, {total_bytes / 1e6:.1f} MB in {wall:.0f} s wall, {total_s:.0f} s CPU "
           f"({total_s / max(total_bytes / 1e6, 1e-9):.2f} CPU s/MB over all inputs)")
    report("outcomes:")
    for outcome, count in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        report(f"  {count:7d}  {outcome}")
    report("by generator (ok / OTHER / TIMEOUT):")
    for gen in names:
        c = by_gen[gen]
        report(f"  {gen:<10} {sum(c.values()):7d} inputs: {c['ok']:7d} ok, "
               f"{sum(v for k, v in c.items() if k.startswith('OTHER')):5d} other, "
               f"{c['TIMEOUT']:5d} timeout")
    n_other = sum(v for k, v in outcomes.items() if k.startswith("OTHER"))
    report(f"exceptions other than KwxmapError: {n_other}")
    for tag, outcome, last in others[:20]:
        report(f"  {tag}: {outcome}: {last}")
    report("slowest inputs:")
    for seconds, size, tag, outcome in slow[:10]:
        flag = "  TOO SLOW" if too_slow(seconds, size) or outcome == "TIMEOUT" else ""
        report(f"  {seconds:8.3f} s  {seconds / max(size, 1) * 1e6:9.2f} s/MB  {tag}: "
               f"{outcome}{flag}")
    for seconds, size, tag, outcome in over[:20]:
        report(f"  over the bound: {seconds:.3f} s, {size} B  {tag}: {outcome}")
    big_over = sum(size > FLOOR_BYTES for _, size, _, _ in over)
    report(f"inputs over {S_PER_MB:g} s/MB (or timed out): {n_slow} "
           f"({big_over} above {FLOOR_BYTES // 1024} KiB; smaller ones are held to "
           f"{S_PER_MB * FLOOR_BYTES / 1e3:.0f} ms)")
    return {"n": n, "outcomes": outcomes, "other": n_other, "slow": n_slow,
            "timeouts": outcomes["TIMEOUT"]}


def big(report: Callable[[str], None] = print) -> int:
    """Parse a 1 MB single line and a 20 MB page: time and peak memory of each."""
    line = ("맑음서울 3.0℃ " * 60_000)[: 1_000_000 // 3]
    page = ("<html><body>" + "<div><p>뉴스 본문입니다. 오늘의 날씨</p></div>\n" * 300_000
            + "<pre>• 맑음서울 3.0℃\n• 흐림부산 5.5℃</pre></body></html>").encode("utf-8")
    bad = 0
    for name, data, limit in (("1 MB single line", line, 60.0), ("20 MB page", page, 120.0)):
        size = size_of(data)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        outcome, seconds, tb = run_one(data, limit, None)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ok = tb is None and outcome != "TIMEOUT" and not too_slow(seconds, size)
        bad += not ok
        report(f"  {name}: {size / 1e6:.1f} MB, {outcome}, {seconds:.2f} s "
               f"({seconds / (size / 1e6):.2f} s/MB), peak RSS {peak:.0f} MB "
               f"(+{peak - before:.0f} MB){'' if ok else '  FAILS the 1 s/MB bound'}")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=100_000, help="number of inputs (default 100000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per input (default 5)")
    p.add_argument("--save", type=Path, default=None, help="folder for failing inputs")
    p.add_argument("--big", action="store_true", help="only the 1 MB line and the 20 MB page")
    args = p.parse_args(argv)
    signal.signal(signal.SIGPROF, _alarm)
    if args.big:
        return big()
    result = fuzz(args.n, args.seed, args.timeout, args.save)
    return 1 if result["other"] or result["slow"] else 0


if __name__ == "__main__":
    sys.exit(main())
