"""The column-at-a-time classification of trip rows gives what the row parser gives, row by row.

The trip-log reader classifies the rows of a batch with polars when each value is in a plain form
and hands every other row to :meth:`_TripParser.parse` (icv_permits/adapters/evidence.py). Here
rows near every edge of "plain" — time spellings, calendar edges, offsets, distances, modes, VIN and
section spellings, notice numbers, order and speed — go through both ways, and each row's outcome
(its classified values, or its bad-row reason, field and detail) must be the same.
"""

from __future__ import annotations

from collections import defaultdict

import polars as pl
import pytest
from builders import AS_OF, to_app
from evidence_builders import (
    NOT_APPLIED,
    NOTICE_NO,
    SECTION,
    SECTION2,
    ev_app,
    road_test_notice,
    vins_of,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icv_permits.adapters import evidence as ev
from icv_permits.adapters.packs import load_pack
from icv_permits.core.engine.core import history_notices
from icv_permits.core.model.application import NoticeKind

TIMES = [
    "2025-07-01T09:00:00+08:00", "2025-07-01T01:00:00Z", "2025-07-01T09:00:00", "1991-07-01T09:00:00", "1992-07-01T09:00:00",
    "2025-07-01T09:00:00-05:30", "2025-07-01T09:00:00+23:59", "2025-07-01T09:00:00+24:00", "2025-07-01T09:00:00+08:60",
    "2024-02-29T10:00:00+08:00", "2025-02-29T10:00:00+08:00", "2100-02-29T10:00:00Z", "2000-02-29T10:00:00Z",
    "2025-04-31T10:00:00Z", "2025-13-01T10:00:00Z", "2025-00-10T10:00:00Z", "2025-07-00T10:00:00Z",
    "2025-07-01T24:00:00Z", "2025-07-01T23:60:00Z", "2025-07-01T23:59:60Z", "2025-07-01T09:00:00.5+08:00",
    "2025-07-01 09:00:00+08:00", "2025-07-01t09:00:00+08:00", " 2025-07-01T09:00:00+08:00", "2025-07-01T09:00+08:00",
    "２０２５-07-01T09:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-08:00", "", "x",
]
ENDS = ["2025-07-01T11:30:00+08:00", "2025-07-01T09:00:00+08:00", "2025-07-01T08:00:00+08:00", "2025-07-01T03:30:00Z"]
DISTANCES = ["11.0", "0", "0.0", "5", "5.", ".5", "5.1234", "5.123", "0012.5", "1e3", "-1", "+3", " 3", "3 ", "١٢", "999999999.999",
             "1000000000", "99999999999999", "NaN", "inf", "", "12,5"]
MODES = ["autonomous", "manual", "auto", "AUTO", " manual", "自动驾驶", "人工", "robot", ""]


def _setup():
    d = ev_app(vehicles=2, sections=[SECTION, SECTION2])
    vins = vins_of(d)
    d["notices"] = [road_test_notice(vins, sections=[SECTION, SECTION2]), road_test_notice([vins[0]], number="皖智网测〔2025〕099号")]
    app = to_app(d)
    pack = load_pack("anhui-2025")
    history = history_notices(app, None, AS_OF, pack.meta.home_province)
    notices = defaultdict(list)
    for n in history:
        if n.kind is NoticeKind.road_test:
            for vin in n.vins:
                notices[vin].append((n.start, n.valid_until, frozenset(n.sections), n.number))
    parser = ev._TripParser({v.vin for v in app.vehicles}, pack, notices)
    return app, parser, vins


def _rows(vins: list[str]) -> list[tuple[str, ...]]:
    vin = vins[0]
    rows = []
    n = 0

    def add(**kw):
        nonlocal n
        n += 1
        r = {"vin": vin, "trip_id": f"T{n}", "start": "2025-07-01T09:00:00+08:00", "end": "2025-07-01T11:30:00+08:00",
             "distance_km": "11.0", "mode": "autonomous", "section": SECTION, "notice": ""}
        r.update(kw)
        rows.append(tuple(r[c] for c in ev._ALL_TRIP_COLUMNS))

    for s in TIMES:
        for e in ENDS:
            add(start=s, end=e)
        add(start="2025-07-01T08:00:00+08:00", end=s)
    for dist in DISTANCES:
        add(distance_km=dist)
        add(distance_km=dist, end="2025-07-01T09:00:00+08:00")
    for m in MODES:
        add(mode=m)
    for v in (vins[1], vin.lower(), f" {vin}", vin[:-1], "", "Ｌ" + vin[1:], "LSVAU2180N2999999"):
        add(vin=v)
    for sec in (SECTION2, NOT_APPLIED, f" {SECTION}", SECTION.lower(), "NOPE", ""):
        add(section=sec)
    for num in (NOTICE_NO, f" {NOTICE_NO} ", "皖智网测〔2025〕099号", "其他", "\x1c" + NOTICE_NO):
        add(notice=num)
        add(notice=num, vin=vins[1], section=SECTION2)
        add(notice=num, start="2026-12-09T23:00:00+08:00", end="2026-12-10T00:30:00+08:00")
        add(notice=num, start="2025-06-09T23:00:00+08:00", end="2025-06-10T00:30:00+08:00")
    for tid in ("", " ", "T 1", " T", "T\u3000", "行程1", "T\x1c", "~!"):
        add(trip_id=tid)
    return rows


def _by_parser(parser, cls, rows):
    out = []
    for line, rec in enumerate(rows, 2):
        try:
            trip_id, vin, s, e, m, section, auto, under = parser.parse(*rec)
        except ev._Bad as b:
            out.append(("bad", line, b.reason, b.field, b.detail))
            continue
        out.append(("ok", line, trip_id, cls.vin_code[vin], s, e, m, cls.section_code[section], bool(auto),
                    None if under is None else cls.notice_code[under]))  # the speed is derived from m, s and e later
    return out


def _by_columns(cls, rows):
    frame = pl.DataFrame({"line": pl.Series(range(2, len(rows) + 2), dtype=pl.Int64),
                          **{c: pl.Series([r[i] for r in rows], dtype=pl.String) for i, c in enumerate(ev._ALL_TRIP_COLUMNS)}})
    good, bad = cls.classify(frame, [], 0)
    out = [("ok", *r[1:]) for r in good.iter_rows()] + [("bad", *b) for b in bad]
    return sorted(out, key=lambda x: x[1])


def test_the_columns_classify_every_row_as_the_row_parser_does():
    app, parser, vins = _setup()
    cls = ev._Classifier(pl, parser, app)
    rows = _rows(vins)
    expected = _by_parser(parser, cls, rows)
    got = _by_columns(cls, rows)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g == e, (rows[e[1] - 2], g, e)
    assert sum(1 for x in expected if x[0] == "ok") > 50  # the edges include many good rows


@pytest.mark.parametrize("crlf", [False, True])
def test_a_plain_block_reads_as_the_csv_module_reads_it(tmp_path, crlf):
    """Blank lines, short and long rows, a repeated and an absent column: the same rows, line numbers
    and errors whether polars reads the block or the csv module does."""
    nl = "\r\n" if crlf else "\n"
    lines = ["vin,trip_id,start,end,distance_km,mode,section,section", "a,b,c,d,e,f,g,h", "", "   ", "a,b", "a,b,c,d,e,f,g,h,i",
             ",,,,,,,", "x,y,z,1,2,3,4,5"]
    data = (nl.join(lines) + nl).encode()
    blocks = list(ev._trip_batches(pl, _Bytes(data), "t.csv"))
    got = [(line, tuple(v)) for f, _ in blocks for line, *v in f.iter_rows()] + [(line, err) for _, odd in blocks for line, _, err in odd]
    expected = [(line, rec if rec is not None else err)
                for line, rec, err in ev._csv_rows(_Bytes(data), "t.csv", ev.TRIP_COLUMNS, ev._ALL_TRIP_COLUMNS, "utf-8-sig")]
    assert sorted(got) == sorted(expected)


def _outcome(read) -> tuple:
    """The rows ``read()`` yields, or the problems of the input error it raises."""
    try:
        return "rows", sorted(read())
    except ev.InputError as exc:
        return "error", [(p.msgid, p.params) for p in exc.problems]


def _by_batches(data: bytes) -> list:
    return [(line, tuple(v)) for f, odd in ev._trip_batches(pl, _Bytes(data), "t.csv")
            for line, *v in (*f.iter_rows(), *((line, err) for line, _, err in odd))]


def _by_csv(data: bytes) -> list:
    return [(line, rec if rec is not None else (err,))
            for line, rec, err in ev._csv_rows(_Bytes(data), "t.csv", ev.TRIP_COLUMNS, ev._ALL_TRIP_COLUMNS, "utf-8-sig")]


_LINE = st.lists(st.sampled_from(["a", "1", "T", "é", "行", ",", ",", ",", ",", " ", '"', "\r", "\x00", "\udcff"]), max_size=24).map(
    lambda xs: "".join(xs).encode("utf-8", "surrogateescape"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, max_size=12), block=st.integers(1, 48), crlf=st.booleans(), last_nl=st.booleans())
def test_a_trip_log_read_in_blocks_of_any_size_reads_as_the_csv_module_reads_it(monkeypatch, lines, block, crlf, last_nl):
    """Whatever the size of the reader's batches (:data:`_BATCH_BYTES`): the same rows, line numbers
    and errors, or the same refusal, as the csv module — a byte that is not UTF-8 named by its
    offset in the file, also where the reader hands the rest of a file to the csv module (from a
    block with a quote, a NUL or a lone carriage return)."""
    monkeypatch.setattr(ev, "_BATCH_BYTES", block)
    nl = b"\r\n" if crlf else b"\n"
    data = nl.join([b"vin,trip_id,start,end,distance_km,mode,section,notice", *lines]) + (nl if last_nl else b"")
    got, expected = _outcome(lambda: _by_batches(data)), _outcome(lambda: _by_csv(data))
    assert got == expected
    if expected[0] == "error" and expected[1][0][1].get("offset") is not None:
        bad = expected[1][0][1]["offset"]
        with pytest.raises(UnicodeDecodeError) as where:
            data.decode("utf-8")
        assert bad == where.value.start  # the first byte that is not UTF-8, counted from the file's start


def test_long_lines_across_small_blocks_read_as_the_csv_module_reads_them(monkeypatch):
    monkeypatch.setattr(ev, "_BATCH_BYTES", 16)
    rows = [",".join(f"v{i}-{j}" * (1 + (i * j) % 7) for j in range(8)) for i in range(40)]
    data = ("vin,trip_id,start,end,distance_km,mode,section,notice\n" + "\n".join(rows) + "\n\n,,\n").encode()
    got = _by_batches(data)
    assert sorted(got) == sorted(_by_csv(data))
    assert len(got) == 41


class _Bytes(ev.io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = memoryview(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), len(self.data))
        buffer[:n] = self.data[:n]
        self.data = self.data[n:]
        return n



@pytest.mark.parametrize("quoted", [False, True])
def test_a_gbk_row_deep_in_a_trip_log_is_named_by_its_offset_in_the_file(quoted):
    """A row saved in GBK (as a spreadsheet may save Chinese text) far into a file, after the fast
    path or after the csv module took over (a quoted field before it): the offset named is the
    file's, whichever 8 KiB window the text layer was decoding."""
    header = b"vin,trip_id,start,end,distance_km,mode,section,notice\n"
    good = b"LSVAM4187C2184847,t%d,2026-01-01T08:00:00+08:00,2026-01-01T09:00:00+08:00,12.5,autonomous,hefei-a,N-1\n"
    body = b"".join(good % i for i in range(300))
    if quoted:
        body = body[: len(body) // 3] + b'"LSVAM4187C2184847",tq,2026-01-01T08:00:00+08:00,2026-01-01T09:00:00+08:00,1,autonomous,hefei-a,N-1\n' + body[len(body) // 3:]
    data = header + body + "LSVAM4187C2184847,t-gbk,2026-01-01T08:00:00+08:00,2026-01-01T09:00:00+08:00,1,autonomous,合肥,N-1\n".encode("gbk") + body
    bad = data.index("合肥".encode("gbk"))
    assert bad > 3 * 8192
    kind, problems = _outcome(lambda: _by_batches(data))
    assert kind == "error" and problems == [(ev.M_NOT_UTF8, {"offset": bad})]
    assert _outcome(lambda: _by_csv(data)) == (kind, problems)
