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
            trip_id, vin, s, e, m, section, auto, under, _kmh = parser.parse(*rec)
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

