"""Trip logs and incident records: what they add up to, what is excluded and why, bad rows,
--lenient, replayability (SHA-256), the cross-check with typed-in summaries, the report, and the
temporary SQLite file.

Every test builds its application (``evidence_builders.ev_app``: the DA baseline with a road-test
notice and without typed-in ``prior_testing``) and its evidence files in ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from builders import AS_OF, SECTION, findings, make_vin, outcome
from evidence_builders import (
    COLS,
    CST,
    NOT_APPLIED,
    NOTICE_NO,
    SECTION2,
    STYLES,
    T0,
    Trip,
    ev_app,
    excluded,
    hours_trips,
    incident,
    moved,
    road_test_notice,
    run_check,
    run_summary,
    trip,
    trip_record,
    vehicle,
    vins_of,
    without_files,
    write_csv,
    write_incidents,
    write_jsonl,
    write_trips,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icv_permits.core.engine.decision import Outcome
from icv_permits.core.errors import InputError
from icv_permits.core.i18n import t
from icv_permits.present.report import EXCLUSIONS, render

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "da-trip-logs.yaml"
AS_OF_TEXT = AS_OF.isoformat()
CJK = re.compile(r"[\u4e00-\u9fff]")
H = 3600
D = Decimal


def cli(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m icv_permits.cli *args`` as a subprocess, ICV_PERMITS_LANG unset."""
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    env["PYTHONIOENCODING"] = "utf-8"
    r = subprocess.run([sys.executable, "-m", "icv_permits.cli", *map(str, args)], cwd=cwd, env=env,
                       capture_output=True, encoding="utf-8", errors="replace", timeout=120)
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r


def write_app(d: dict[str, Any], folder: Path, name: str = "app.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def squash(text: str) -> str:
    """Whitespace runs as one space: undoes the wrapping of the text report."""
    return re.sub(r"\s+", " ", text)


def evd01(result, vin: str):
    fs = [f for f in findings(result.decision, "EVD-01", vin) if f.reason != "declared_differs"]
    assert len(fs) == 1, fs
    return fs[0]


# ====================================================================== 1. boundaries


def _exact(vin: str, seconds: list[int], metres: list[int]) -> list[Trip]:
    return [trip(vin, f"B{i:03d}", T0 + timedelta(days=i), s, m) for i, (s, m) in enumerate(zip(seconds, metres, strict=True))]


def _split_metres(total: int, n: int) -> list[int]:
    each = total // n
    return [each] * (n - 1) + [total - each * (n - 1)]


BOUNDARY_CASES = {
    # name: (seconds of each trip, metres of each trip, hours, km, outcome, reason)
    "239.99 h and 999.99 km fails": ([10 * H - 36] + [10 * H] * 23, _split_metres(999_990, 24), "239.99", "999.99", Outcome.failed, "below"),
    "exactly 240 h, 999.999 km passes on hours": ([10 * H] * 24, _split_metres(999_999, 24), "240", "999.999", Outcome.passed, "ok_hours"),
    "exactly 1000 km, 239.99 h passes on km": ([10 * H - 36] + [10 * H] * 23, _split_metres(1_000_000, 24), "239.99", "1000", Outcome.passed, "ok_km"),
    "exactly 1000 km in 100 h passes on km": ([10 * H] * 10, [100_000] * 10, "100", "1000", Outcome.passed, "ok_km"),
    "240 h and 1000 km passes": ([10 * H] * 24, _split_metres(1_000_000, 24), "240", "1000", Outcome.passed, "ok_hours"),
    "239.9997 h and 999.999 km fails": ([10 * H - 1] + [10 * H] * 23, _split_metres(999_999, 24), "239.9997", "999.999", Outcome.failed, "below"),
}


@pytest.mark.parametrize("case", list(BOUNDARY_CASES), ids=list(BOUNDARY_CASES))
def test_evd01_boundaries(tmp_path, case):
    seconds, metres, hours, km, expected, reason = BOUNDARY_CASES[case]
    d = ev_app()
    vin = vins_of(d)[0]
    assert sum(metres) == int(D(km) * 1000)
    write_trips(tmp_path / "trips.csv", _exact(vin, seconds, metres))
    r = run_check(d, tmp_path)
    v = vehicle(r.decision, vin)
    assert v.counted.hours == D(hours) and v.counted.km == D(km)
    assert v.counted.trips == len(seconds) and v.excluded == [] and v.overlapping_trips == 0
    f = evd01(r, vin)
    assert (f.outcome, f.reason) == (expected, reason)
    assert f.field == "evidence.trips" and f.values["source"] == "trips"
    if expected is Outcome.failed and hours == "239.99":
        assert f.values["need_hours"] == "0.01" and f.values["need_km"] == "0.01"


def test_evd01_either_figure_suffices_per_vehicle(tmp_path):
    d = ev_app(vehicles=3)
    v1, v2, v3 = vins_of(d)
    trips = (hours_trips(v1, 24, 10, 1000, prefix="A")  # 240 h, 24 km
             + hours_trips(v2, 10, 2, 100_000, prefix="B")  # 20 h, 1000 km
             + hours_trips(v3, 23, 10, 43_000, prefix="C"))  # 230 h, 989 km
    write_trips(tmp_path / "trips.csv", trips)
    r = run_check(d, tmp_path)
    assert [(evd01(r, v).outcome, evd01(r, v).reason) for v in (v1, v2, v3)] == [
        (Outcome.passed, "ok_hours"), (Outcome.passed, "ok_km"), (Outcome.failed, "below")]
    assert evd01(r, v3).values["need_hours"] == "10" and evd01(r, v3).values["need_km"] == "11"


def test_evd01_a_fraction_of_a_second_short_of_240_h_fails(tmp_path):
    d = ev_app()
    vin = vins_of(d)[0]
    trips = hours_trips(vin, 24, 10, 1000)
    trips[0] = moved(trips[0], end=trips[0].end - timedelta(milliseconds=100))
    write_trips(tmp_path / "trips.csv", trips)
    r = run_check(d, tmp_path)
    assert vehicle(r.decision, vin).counted.hours < 240
    assert evd01(r, vin).outcome is Outcome.failed


def test_evd01_gap_still_to_go_is_never_zero_when_failing(tmp_path):
    d = ev_app()
    vin = vins_of(d)[0]
    trips = hours_trips(vin, 24, 10, 1000)
    trips[0] = moved(trips[0], end=trips[0].end - timedelta(seconds=10))  # 239.99722… h
    write_trips(tmp_path / "trips.csv", trips)
    r = run_check(d, tmp_path)
    f = evd01(r, vin)
    assert f.outcome is Outcome.failed
    assert f.values["need_hours"] == "0.01"


# ====================================================================== 2. overlaps


def _one_vehicle(tmp_path, specs: list[tuple[float, float, int]], **app_kw) -> tuple[Any, str]:
    """Trips of one vehicle from ``(start hour, end hour, metres)`` after T0; returns (vehicle evidence, vin)."""
    d = ev_app(**app_kw)
    vin = vins_of(d)[0]
    trips = [Trip(vin, f"O{i}", T0 + timedelta(hours=a), T0 + timedelta(hours=b), m) for i, (a, b, m) in enumerate(specs)]
    write_trips(tmp_path / "trips.csv", trips)
    return vehicle(run_summary(d, tmp_path), vin), vin


OVERLAP_CASES = {
    # name: (trips as (start h, end h, metres), counted hours, counted km, overlapping trips, overlap exclusion or None)
    "identical": ([(0, 2, 20_000), (0, 2, 20_000)], "2", "20", 1, (1, "2", "20")),
    "nested": ([(0, 4, 40_000), (1, 2, 30_000)], "4", "40", 1, (1, "1", "30")),
    "nested, listed first": ([(1, 2, 30_000), (0, 4, 40_000)], "4", "40", 1, (1, "1", "30")),
    "touching": ([(0, 2, 20_000), (2, 4, 30_000)], "4", "50", 0, None),
    "chained": ([(0, 2, 20_000), (1, 3, 20_000), (2.5, 4, 15_000)], "4", "40", 2, (2, "1.5", "15")),
    "partial, prorated by time": ([(0, 2, 20_000), (1, 3, 30_000)], "3", "35", 1, (1, "1", "15")),
    "disjoint": ([(0, 1, 10_000), (5, 6, 10_000)], "2", "20", 0, None),
}


@pytest.mark.parametrize("case", list(OVERLAP_CASES), ids=list(OVERLAP_CASES))
def test_overlapping_trips_count_once(tmp_path, case):
    specs, hours, km, n_overlapping, overlap = OVERLAP_CASES[case]
    v, _ = _one_vehicle(tmp_path, specs)
    assert (v.counted.hours, v.counted.km) == (D(hours), D(km))
    assert v.overlapping_trips == n_overlapping
    ex = excluded(v)
    if overlap is None:
        assert "overlap" not in ex
    else:
        assert ex["overlap"] == (overlap[0], D(overlap[1]), D(overlap[2]))
    # what is counted and what is excluded as overlap add up to the whole of the trips
    total_km = sum(D(m) for _, _, m in specs) / 1000
    total_h = sum(D(str(b)) - D(str(a)) for a, b, _ in specs)
    assert v.counted.km + ex.get("overlap", (0, 0, 0))[2] == total_km
    assert v.counted.hours + ex.get("overlap", (0, 0, 0))[1] == total_h


def test_overlap_prorates_km_to_whole_metres_without_losing_any(tmp_path):
    # 10 km/h for 0–2 h and 3.33 km/h for 1–4 h: the shared hour counts at the lower rate
    v, _ = _one_vehicle(tmp_path, [(0, 2, 20_000), (1, 4, 10_000)])
    assert v.counted.hours == 4
    ov = excluded(v)["overlap"]
    assert v.counted.km == D("19.999")  # 10 + 3.333 + 6.666, each stretch floored to the metre
    assert v.counted.km + ov[2] == 30  # not a metre lost or invented
    assert v.counted.km * 1000 == int(v.counted.km * 1000)


def test_trips_of_different_vehicles_never_overlap(tmp_path):
    d = ev_app(vehicles=2)
    v1, v2 = vins_of(d)
    write_trips(tmp_path / "trips.csv", [trip(v1, "A", T0, 2 * H, 20_000), trip(v2, "B", T0, 2 * H, 20_000)])
    s = run_summary(d, tmp_path)
    for vin in (v1, v2):
        v = vehicle(s, vin)
        assert (v.counted.hours, v.counted.km, v.overlapping_trips, v.excluded) == (2, 20, 0, [])


def test_overlap_is_reported_in_the_finding_and_the_report(tmp_path):
    d = ev_app()
    vin = vins_of(d)[0]
    write_trips(tmp_path / "trips.csv", [trip(vin, "A", T0, 2 * H, 20_000), trip(vin, "B", T0 + timedelta(hours=1), 2 * H, 30_000)])
    r = run_check(d, tmp_path)
    f = evd01(r, vin)
    assert f.values["overlapping_trips"] == 1
    assert f.values["excluded"] == ["overlap: 1 / 1 h / 15 km"]
    for lang in ("en", "zh"):
        text = squash(render(r.decision, r.pack, "text", lang))
        assert t(lang, EXCLUSIONS["overlap"]) in text


# ====================================================================== 3. exclusions


def _single(tmp_path, tr: Trip, **app_kw):
    d = ev_app(**app_kw)
    write_trips(tmp_path / "trips.csv", [moved(tr, vin=vins_of(d)[0])])
    return vehicle(run_summary(d, tmp_path), vins_of(d)[0])


OTHER_NOTICE = "皖智网测〔2099〕999号"
EXCLUSION_CASES = {
    # name: (trip, app keyword arguments, reason or None when counted)
    "counted": (trip("", "X", T0, 2 * H, 30_000), {}, None),
    "counted, naming its notice": (trip("", "X", T0, 2 * H, 30_000, notice=NOTICE_NO), {}, None),
    "manual": (trip("", "X", T0, 2 * H, 30_000, mode="manual"), {}, "manual_mode"),
    "manual (人工驾驶)": (trip("", "X", T0, 2 * H, 30_000, mode="人工驾驶"), {}, "manual_mode"),
    "autonomous (自动驾驶)": (trip("", "X", T0, 2 * H, 30_000, mode="自动驾驶"), {}, None),
    "manual beats not applied": (trip("", "X", T0, 2 * H, 30_000, mode="manual", section=NOT_APPLIED), {}, "manual_mode"),
    "section not applied for": (trip("", "X", T0, 2 * H, 30_000, section=NOT_APPLIED), {}, "section_not_applied"),
    "before the notice was issued": (trip("", "X", datetime(2025, 6, 9, 8, tzinfo=CST), 2 * H, 30_000), {}, "no_valid_notice"),
    "on the issue day": (trip("", "X", datetime(2025, 6, 10, 0, tzinfo=CST), 2 * H, 30_000), {}, None),
    "across midnight into the issue day": (trip("", "X", datetime(2025, 6, 9, 23, tzinfo=CST), 2 * H, 30_000), {}, "no_valid_notice"),
    "after valid_until": (
        trip("", "X", datetime(2026, 1, 1, 8, tzinfo=CST), 2 * H, 30_000),
        {"notices": [road_test_notice([make_vin(1)], until="2025-12-31")]}, "no_valid_notice"),
    "on the valid_until day": (
        trip("", "X", datetime(2025, 12, 31, 21, tzinfo=CST), 2 * H, 30_000),
        {"notices": [road_test_notice([make_vin(1)], until="2025-12-31")]}, None),
    "across midnight after valid_until": (
        trip("", "X", datetime(2025, 12, 31, 23, tzinfo=CST), 2 * H, 30_000),
        {"notices": [road_test_notice([make_vin(1)], until="2025-12-31")]}, "no_valid_notice"),
    "on a section the notice does not list": (
        trip("", "X", T0, 2 * H, 30_000, section=SECTION2),
        {"notices": [road_test_notice([make_vin(1)], sections=[SECTION])]}, "no_valid_notice"),
    "a notice without sections covers every section": (
        trip("", "X", T0, 2 * H, 30_000, section=SECTION2),
        {"notices": [road_test_notice([make_vin(1)], sections=[])]}, None),
    "naming a notice number that does not exist": (trip("", "X", T0, 2 * H, 30_000, notice=OTHER_NOTICE), {}, "no_valid_notice"),
    "the notice is another vehicle's": (
        trip("", "X", T0, 2 * H, 30_000), {"notices": [road_test_notice([make_vin(7)])]}, "no_valid_notice"),
    "a demonstration notice is not a road-test notice": (
        trip("", "X", T0, 2 * H, 30_000),
        {"notices": [{**road_test_notice([make_vin(1)]), "kind": "demonstration_application"}]}, "no_valid_notice"),
    "no notices at all": (trip("", "X", T0, 2 * H, 30_000), {"notices": []}, "no_valid_notice"),
    "named notice among several": (
        trip("", "X", T0, 2 * H, 30_000, notice=OTHER_NOTICE, section=SECTION2),
        {"notices": [road_test_notice([make_vin(1)], sections=[SECTION]),
                     road_test_notice([make_vin(1)], number=OTHER_NOTICE, sections=[SECTION2])]}, None),
    "named notice does not list the section, another one would": (
        trip("", "X", T0, 2 * H, 30_000, notice=NOTICE_NO, section=SECTION2),
        {"notices": [road_test_notice([make_vin(1)], sections=[SECTION]),
                     road_test_notice([make_vin(1)], number=OTHER_NOTICE, sections=[SECTION2])]}, "no_valid_notice"),
}


@pytest.mark.parametrize("case", list(EXCLUSION_CASES), ids=list(EXCLUSION_CASES))
def test_each_exclusion(tmp_path, case):
    tr, app_kw, reason = EXCLUSION_CASES[case]
    v = _single(tmp_path, tr, **app_kw)
    if reason is None:
        assert (v.counted.trips, v.counted.hours, v.counted.km) == (1, 2, 30)
        assert v.excluded == []
    else:
        assert (v.counted.trips, v.counted.hours, v.counted.km) == (0, 0, 0)
        assert excluded(v) == {reason: (1, D(2), D(30))}


def test_exclusions_listed_with_reason_trips_hours_and_km(tmp_path):
    d = ev_app(notices=[road_test_notice([make_vin(1)], sections=[SECTION], until="2025-12-31")])
    vin = vins_of(d)[0]
    day = lambda n: T0 + timedelta(days=n)  # noqa: E731
    trips = [
        trip(vin, "C1", day(0), 3 * H, 30_000),
        trip(vin, "C2", day(1), 2 * H, 20_000, notice=NOTICE_NO),
        trip(vin, "M1", day(2), 1 * H, 11_000, mode="manual"),
        trip(vin, "M2", day(3), 2 * H, 12_500, mode="人工"),
        trip(vin, "S1", day(4), 4 * H, 40_000, section=NOT_APPLIED),
        trip(vin, "N1", datetime(2025, 5, 20, 10, tzinfo=CST), 4 * H, 18_000),  # before the notice
        trip(vin, "N2", datetime(2026, 1, 3, 10, tzinfo=CST), 1 * H, 5_000),  # after valid_until
        trip(vin, "N3", day(5), 1 * H, 7_000, section=SECTION2),  # applied for, but not on the notice
        trip(vin, "N4", day(6), 1 * H, 9_000, notice=OTHER_NOTICE),  # no such notice
        trip(vin, "O1", day(0) + timedelta(hours=2), 2 * H, 10_000),  # overlaps C1 by 1 h
    ]
    write_trips(tmp_path / "trips.csv", trips, style="mixed")
    r = run_check(d, tmp_path)
    v = vehicle(r.decision, vin)
    # O1 (5 km/h) overlaps the last hour of C1 (10 km/h): that hour counts at 5 km/h
    assert (v.counted.trips, v.counted.hours, v.counted.km) == (3, D(6), D(50))
    assert excluded(v) == {
        "manual_mode": (2, D(3), D("23.5")),
        "section_not_applied": (1, D(4), D(40)),
        "no_valid_notice": (4, D(7), D(39)),
        "overlap": (1, D(1), D(10)),
    }
    assert [e.reason.value for e in v.excluded] == sorted(excluded(v))  # a stable order
    assert [(s.section, s.trips, s.hours, s.km) for s in v.by_section] == [(SECTION, 3, D(6), D(50))]
    f = evd01(r, vin)
    assert f.values["excluded"] == ["manual_mode: 2 / 3 h / 23.5 km", "no_valid_notice: 4 / 7 h / 39 km",
                                    "overlap: 1 / 1 h / 10 km", "section_not_applied: 1 / 4 h / 40 km"]
    evd05 = findings(r.decision, "EVD-05", vin)
    assert [x.reason for x in evd05] == ["ok_trips"] and evd05[0].values["trips"] == 10
    for lang in ("zh", "en"):
        text = squash(render(r.decision, r.pack, "text", lang))
        for reason in excluded(v):  # every reason of this file (implausible_speed: tests/test_evidence_buckets.py)
            assert t(lang, EXCLUSIONS[reason]) in text, (lang, reason)


def test_a_vehicle_with_only_excluded_trips_fails_evd01_and_evd04_but_has_records(tmp_path):
    d = ev_app(sections=[SECTION])
    vin = vins_of(d)[0]
    write_trips(tmp_path / "trips.csv", hours_trips(vin, 30, 10, 50_000, mode="manual"))
    r = run_check(d, tmp_path)
    assert evd01(r, vin).outcome is Outcome.failed
    assert D(evd01(r, vin).values["hours"]) == 0 and evd01(r, vin).values["need_hours"] == "240"
    assert outcome(r.decision, "EVD-04", vin) is Outcome.failed
    assert outcome(r.decision, "EVD-05", vin) is Outcome.passed


def test_a_vehicle_without_any_trip_fails_evd05_no_records(tmp_path):
    d = ev_app(vehicles=2, sections=[SECTION])
    v1, v2 = vins_of(d)
    write_trips(tmp_path / "trips.csv", hours_trips(v1, 24, 10, 50_000))
    r = run_check(d, tmp_path)
    assert outcome(r.decision, "EVD-01", v1) is Outcome.passed
    assert outcome(r.decision, "EVD-04", v1) is Outcome.passed
    assert [(f.outcome, f.reason) for f in findings(r.decision, "EVD-05", v2)] == [(Outcome.failed, "no_records")]
    assert outcome(r.decision, "EVD-01", v2) is Outcome.failed


# ====================================================================== 4. time zones


def _tz_trips(vin: str) -> list[Trip]:
    return [
        trip(vin, "Z1", datetime(2025, 6, 10, 0, 30, tzinfo=CST), 2 * H, 30_000),  # on the issue day, 00:30 Shanghai
        trip(vin, "Z2", datetime(2025, 6, 9, 23, 30, tzinfo=CST), 1 * H, 10_000),  # the day before in Shanghai
        trip(vin, "Z3", datetime(2025, 7, 1, 23, 0, tzinfo=CST), 3 * H, 45_678),  # across midnight
        trip(vin, "Z4", datetime(2025, 7, 2, 1, 0, tzinfo=CST), 1 * H + 1, 1),  # overlaps Z3
        trip(vin, "Z5", datetime(2025, 8, 1, 7, 59, 59, tzinfo=CST), 4567, 3_210, section=SECTION2),
    ]


def test_offsets_utc_and_naive_times_give_identical_totals(tmp_path):
    d = ev_app()
    vin = vins_of(d)[0]
    results = []
    for style in (*STYLES, "mixed"):
        folder = tmp_path / style
        folder.mkdir()
        write_trips(folder / "trips.csv", _tz_trips(vin), style=style)
        results.append(without_files(run_summary(d, folder)))
    assert all(r == results[0] for r in results[1:])
    v = results[0]["vehicles"][0]
    # Z4 (1 m in an hour) overlaps Z3's last hour: that hour counts at Z4's lower rate, so Z3's
    # 15.226 km of it and Z4's 1 m are not counted (the most cautious reading of the two records)
    assert v["excluded"] == [{"trips": 1, "hours": D("1.0000"), "km": D(10), "reason": "no_valid_notice"},
                             {"trips": 1, "hours": D("1.0000"), "km": D("15.227"), "reason": "overlap"}]
    assert v["overlapping_trips"] == 1


@pytest.mark.parametrize(("start", "end", "counted"), [
    ("2025-06-10T00:30:00", "2025-06-10T01:30:00", True),  # naive = Shanghai: on the issue day
    ("2025-06-10 00:30:00", "2025-06-10 01:30:00", True),  # a space instead of T
    ("2025-06-09T16:30:00Z", "2025-06-09T17:30:00Z", True),  # 00:30 on 06-10 in Shanghai
    ("2025-06-09T16:30:00+00:00", "2025-06-09T17:30:00+00:00", True),
    ("2025-06-10T00:30:00+08:00", "2025-06-10T01:30:00+08:00", True),
    ("2025-06-09T15:30:00Z", "2025-06-09T16:30:00Z", False),  # 23:30 on 06-09 in Shanghai
    ("2025-06-09T23:30:00", "2025-06-10T00:30:00", False),  # naive, starts the day before
    ("2025-06-10T00:30:00+09:00", "2025-06-10T01:30:00+09:00", False),  # 23:30 on 06-09 in Shanghai
    ("2025-06-09T20:30:00-04:00", "2025-06-09T21:30:00-04:00", True),  # 08:30 on 06-10 in Shanghai
])
def test_naive_times_are_shanghai_time(tmp_path, start, end, counted):
    d = ev_app()
    vin = vins_of(d)[0]
    write_csv(tmp_path / "trips.csv", COLS, [[vin, "TZ", start, end, "10", "autonomous", SECTION, ""]])
    v = vehicle(run_summary(d, tmp_path), vin)
    assert (v.counted.hours, v.counted.km) == ((1, 10) if counted else (0, 0))
    assert excluded(v) == ({} if counted else {"no_valid_notice": (1, D(1), D(10))})


# ====================================================================== 5. CSV and JSON Lines


def test_csv_and_jsonl_of_the_same_trips_give_identical_summaries(tmp_path):
    d = ev_app(vehicles=2)
    v1, v2 = vins_of(d)
    trips = (hours_trips(v1, 30, 3, 12_345, prefix="A") + _tz_trips(v2)
             + [trip(v2, "M", T0, 2 * H, 5, mode="manual"), trip(v1, "S", T0, H, 7, section=NOT_APPLIED)]
             + [trip(v1, "O", T0 + timedelta(hours=1), 3 * H, 9_999)])
    (tmp_path / "csv").mkdir()
    (tmp_path / "jsonl").mkdir()
    write_trips(tmp_path / "csv" / "trips.csv", trips, style="mixed")
    write_trips(tmp_path / "jsonl" / "trips.jsonl", list(reversed(trips)), style="utc")
    a = run_summary(d, tmp_path / "csv")
    b = run_summary(ev_app(("trips.jsonl",), vehicles=2), tmp_path / "jsonl")
    assert without_files(a) == without_files(b)
    assert [f.rows for f in a.files] == [f.rows for f in b.files] == [len(trips)]


def test_jsonl_numbers_and_nulls(tmp_path):
    """In JSON Lines the distance may be a number and the notice null or absent."""
    d = ev_app(("trips.jsonl",))
    vin = vins_of(d)[0]
    rec = trip_record(trip(vin, "J1", T0, 2 * H, 0))
    write_jsonl(tmp_path / "trips.jsonl", [
        {**rec, "trip_id": "J1", "distance_km": 12.5, "notice": None},
        {k: v for k, v in {**rec, "trip_id": "J2", "start": "2025-07-02T08:00:00+08:00", "end": "2025-07-02T10:00:00+08:00",
                           "distance_km": 7}.items() if k != "notice"},
    ])
    v = vehicle(run_summary(d, tmp_path), vin)
    assert (v.counted.trips, v.counted.hours, v.counted.km) == (2, 4, D("19.5"))


def test_example_csv_and_jsonl_agree(tmp_path):
    shutil.copytree(ROOT / "examples" / "evidence", tmp_path / "evidence")
    d = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    a = run_summary(d, tmp_path)
    d["evidence"]["trips"] = ["evidence/da-trips.jsonl"]
    b = run_summary(d, tmp_path)
    assert without_files(a) == without_files(b)


# ====================================================================== 6. properties

V1, V2 = make_vin(1), make_vin(2)
BASE = datetime(2025, 7, 1, 0, 0, tzinfo=CST)
PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def trip_lists(draw, *, disjoint: bool = False, min_size: int = 1, max_size: int = 20) -> list[Trip]:
    """Good trips of two vehicles inside the notice, on applied and other sections, mostly autonomous;
    overlapping freely, or (``disjoint``) one after another per vehicle (touching allowed)."""
    n = draw(st.integers(min_size, max_size))
    window = draw(st.sampled_from([6 * H, 3 * 86400, 60 * 86400]))
    cursor = {V1: 0, V2: 0}
    out = []
    for i in range(n):
        vin = draw(st.sampled_from([V1, V2]))
        dur = draw(st.integers(0, 12 * H))
        if disjoint:
            offset = cursor[vin] + draw(st.sampled_from([0, 0, 1, 3600, 86400]))
            cursor[vin] = offset + dur
        else:
            offset = draw(st.integers(0, window))
        speed = draw(st.integers(0, 100))  # km/h
        metres = dur * speed * 1000 // 3600
        mode = draw(st.sampled_from(["autonomous"] * 4 + ["manual"]))
        section = draw(st.sampled_from([SECTION, SECTION, SECTION2, NOT_APPLIED]))
        notice = draw(st.sampled_from(["", NOTICE_NO]))
        out.append(trip(vin, f"P{i:03d}", BASE + timedelta(seconds=offset), dur, metres, mode=mode, section=section, notice=notice))
    return out


def _summary_of(trips: list[Trip], *, fmt: str = "csv", style: str = "offset"):
    with tempfile.TemporaryDirectory(prefix="icv-evidence-test-") as tmp:
        name = f"trips.{fmt}"
        write_trips(Path(tmp) / name, trips, style=style)
        return run_summary(ev_app((name,), vehicles=2), Path(tmp))


def _totals(s) -> dict[str, Any]:
    """Hours and km per vehicle: counted, by section, and excluded by reason (trip counts left out)."""
    return {
        v.vin: (v.counted.hours, v.counted.km, {x.section: (x.hours, x.km) for x in v.by_section if x.hours or x.km},
                {e.reason.value: (e.hours, e.km) for e in v.excluded if e.hours or e.km})
        for v in s.vehicles
    }


@PROPS
@given(st.data())
def test_property_row_order_never_changes_anything(data):
    trips = data.draw(trip_lists())
    shuffled = data.draw(st.permutations(trips))
    fmt = data.draw(st.sampled_from(["csv", "jsonl"]))
    style = data.draw(st.sampled_from([*STYLES, "mixed"]))
    assert without_files(_summary_of(trips)) == without_files(_summary_of(shuffled, fmt=fmt, style=style))


def _split(trips: list[Trip], data) -> list[Trip]:
    candidates = [i for i, x in enumerate(trips) if x.seconds >= 2]
    if not candidates:
        return trips
    i = data.draw(st.sampled_from(candidates))
    x = trips[i]
    k = data.draw(st.integers(1, x.seconds - 1))
    m1 = x.metres * k // x.seconds
    mid = x.start + timedelta(seconds=k)
    a = moved(x, trip_id=x.trip_id + "a", end=mid, metres=m1)
    b = moved(x, trip_id=x.trip_id + "b", start=mid, metres=x.metres - m1)
    assert a.metres + b.metres == x.metres
    return trips[:i] + [a, b] + trips[i + 1:]


@PROPS
@given(st.data())
def test_property_splitting_a_trip_never_changes_the_totals(data):
    trips = data.draw(trip_lists(disjoint=True))
    split = _split(trips, data)
    assert _totals(_summary_of(trips)) == _totals(_summary_of(split))


@PROPS
@given(st.data())
def test_property_splitting_an_overlapping_trip_never_changes_the_hours(data):
    """With overlaps the hours are the union of the intervals, however the trips are cut."""
    trips = data.draw(trip_lists())
    split = _split(trips, data)
    before, after = _summary_of(trips), _summary_of(split)
    assert [v.counted.hours for v in before.vehicles] == [v.counted.hours for v in after.vehicles]


def test_splitting_a_trip_that_another_overlaps_keeps_the_km(tmp_path):
    d = ev_app()
    vin = vins_of(d)[0]
    long_ = trip(vin, "X", T0, 20 * H, 20_000)  # 1 km/h for 20 h
    inner = trip(vin, "Y", T0 + timedelta(hours=5), 5 * H, 100_000)  # 20 km/h, inside it
    pieces = [trip(vin, "Xa", T0, 7 * H, 7_000), trip(vin, "Xb", T0 + timedelta(hours=7), 13 * H, 13_000)]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_trips(tmp_path / "a" / "trips.csv", [long_, inner])
    write_trips(tmp_path / "b" / "trips.csv", [*pieces, inner])
    a, b = vehicle(run_summary(d, tmp_path / "a"), vin), vehicle(run_summary(d, tmp_path / "b"), vin)
    assert a.counted.hours == b.counted.hours == 20
    assert a.counted.km == b.counted.km


@PROPS
@given(st.data())
def test_property_a_manual_trip_never_changes_what_is_counted(data):
    trips = data.draw(trip_lists(min_size=0))
    vin = data.draw(st.sampled_from([V1, V2]))
    start = BASE + timedelta(seconds=data.draw(st.integers(0, 3 * 86400)))
    dur = data.draw(st.integers(0, 12 * H))
    metres = dur * data.draw(st.integers(0, 100)) * 1000 // 3600
    section = data.draw(st.sampled_from([SECTION, SECTION2, NOT_APPLIED]))
    extra = trip(vin, "MANUAL-X", start, dur, metres, mode="manual", section=section)
    pos = data.draw(st.integers(0, len(trips)))
    before = _summary_of(trips)
    after = _summary_of(trips[:pos] + [extra] + trips[pos:])
    for b, a in zip(before.vehicles, after.vehicles, strict=True):
        assert (a.counted, a.by_section, a.overlapping_trips) == (b.counted, b.by_section, b.overlapping_trips)
        eb, ea = excluded(b), excluded(a)
        manual_b = eb.pop("manual_mode", (0, D(0), D(0)))
        manual_a = ea.pop("manual_mode", (0, D(0), D(0)))
        assert ea == eb
        if a.vin == vin:
            assert manual_a[0] == manual_b[0] + 1
            assert abs(manual_a[1] - manual_b[1] - D(dur) / 3600) <= D("0.0001")  # hours are rounded to 0.0001
            assert manual_a[2] - manual_b[2] == D(metres) / 1000
        else:
            assert manual_a == manual_b


# ====================================================================== 7. bad rows

GOOD = "2025-07-{:02d}T{:02d}:00:00+08:00"


def _row(vin, tid, day, h0=8, h1=9, km="20", mode="autonomous", section=SECTION, notice=""):
    return [vin, tid, GOOD.format(day, h0), GOOD.format(day, h1), km, mode, section, notice]


def _bad_files(tmp_path: Path, vin: str) -> list[tuple[str, int, str]]:
    """trips.csv and trips2.jsonl with every kind of bad row; returns the expected (file, line, reason)."""
    rows = [
        _row(vin, "G1", 1),  # line 2: good, 1 h 20 km
        [vin, "B-END", GOOD.format(2, 10), GOOD.format(2, 9), "5", "autonomous", SECTION, ""],  # 3
        _row(vin, "B-NEG", 3, km="-3"),  # 4
        _row(vin, "B-SPD", 4, km="150.001"),  # 5: just above 150 km/h: not a bad row; EVD-05 judges it
        _row(vin, "G-150", 5, km="150"),  # 6: exactly 150 km/h is fine
        _row(make_vin(999), "B-VIN", 6),  # 7: a valid VIN, not of this application
        _row(vin, "B-SEC", 7, section="XX-999"),  # 8
        _row(vin, "G1", 8, h1=13, km="50"),  # 9: duplicate trip ID: the first one counts
        [vin, "B-TIME", "2025-07-08 25:00", GOOD.format(8, 9), "20", "autonomous", SECTION, ""],  # 10
        _row(vin, "B-NUM", 9, km="twenty"),  # 11
        _row("", "B-MISS", 10),  # 12: missing VIN
        [vin, "B-COLS", GOOD.format(11, 8), GOOD.format(11, 9), "20", "autonomous"],  # 13: too few columns
        _row(vin, "B-MODE", 12, mode="remote"),  # 14
        _row(vin, "B-ZERO", 13, h1=8, km="0.001"),  # 15: a distance in no time
        _row(vin, "G2", 14),  # 16: good
        _row(vin, "B-NAN", 15, km="NaN"),  # 17
        [vin, "B-TIME2", GOOD.format(16, 8), "yesterday", "20", "autonomous", SECTION, ""],  # 18
    ]
    write_csv(tmp_path / "trips.csv", COLS, rows)
    good = dict(zip(COLS, _row(vin, "G3", 20), strict=True))
    lines = [
        json.dumps({**good, "trip_id": "G2"}),  # 1: duplicate of trips.csv line 16, across files
        json.dumps(good),  # 2: good
        "{oops",  # 3: not JSON
        json.dumps({k: v for k, v in good.items() if k != "section"} | {"trip_id": "B-KEY"}),  # 4: no section
        json.dumps([1, 2, 3]),  # 5: not an object
        "",  # blank lines are skipped
        json.dumps({**good, "trip_id": "B-INF", "distance_km": "Infinity"}),  # 7
    ]
    (tmp_path / "trips2.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [
        ("trips.csv", 3, "end_before_start"), ("trips.csv", 4, "negative_distance"),
        ("trips.csv", 7, "unknown_vin"), ("trips.csv", 8, "unknown_section"), ("trips.csv", 9, "duplicate_trip_id"),
        ("trips.csv", 10, "bad_time"), ("trips.csv", 11, "bad_number"), ("trips.csv", 12, "missing_field"),
        ("trips.csv", 13, "malformed_row"), ("trips.csv", 14, "bad_value"), ("trips.csv", 15, "impossible_speed"),
        ("trips.csv", 17, "bad_number"), ("trips.csv", 18, "bad_time"),
        ("trips2.jsonl", 1, "duplicate_trip_id"), ("trips2.jsonl", 3, "malformed_row"), ("trips2.jsonl", 4, "missing_field"),
        ("trips2.jsonl", 5, "malformed_row"), ("trips2.jsonl", 7, "bad_number"),
    ]


def _bad_app() -> dict[str, Any]:
    return ev_app(("trips.csv", "trips2.jsonl"), sections=[SECTION])


def test_every_bad_row_is_an_input_error_with_file_and_line(tmp_path):
    d = _bad_app()
    expected = _bad_files(tmp_path, vins_of(d)[0])
    with pytest.raises(InputError) as exc:
        run_check(d, tmp_path)
    problems = exc.value.problems
    rows = [(p.location, p.params["line"], p.code) for p in problems if "line" in p.params]
    assert sorted(rows) == sorted(expected)
    assert problems[-1].code == "bad_rows" and problems[-1].params == {"total": len(expected)}
    assert len(problems) == len(expected) + 1
    dup = next(p for p in problems if p.location == "trips.csv" and p.params["line"] == 9)
    assert dup.params["field"] == "trip_id" and "trips.csv:2" in dup.params["detail"]
    dup2 = next(p for p in problems if p.location == "trips2.jsonl" and p.params["line"] == 1)
    assert "trips.csv:16" in dup2.params["detail"]
    speed = next(p for p in problems if p.location == "trips.csv" and p.params["line"] == 15)
    assert "∞" in speed.params["detail"]  # a distance in no time; a finite speed is the engine's to judge
    for lang, line_word in (("en", "line {}"), ("zh", "第 {} 行")):
        text = exc.value.render(lang).splitlines()
        assert len(text) == len(expected) + 1
        for file, line, _ in expected:
            assert any(x.startswith(f"{file}: ") and line_word.format(line) in x for x in text), (lang, file, line)
        if lang == "zh":
            assert all(CJK.search(x) for x in text)


def test_bad_rows_cli_exits_2_and_prints_all_of_them(tmp_path):
    d = _bad_app()
    expected = _bad_files(tmp_path, vins_of(d)[0])
    app = write_app(d, tmp_path)
    for lang, line_word in (("en", "line {}"), ("zh", "第 {} 行")):
        r = cli("check", app, "--as-of", AS_OF_TEXT, "--lang", lang)
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stdout == ""
        for file, line, _ in expected:
            assert f"{file}: {line_word.format(line)}" in r.stderr, (lang, file, line)
        assert str(len(expected)) in r.stderr.splitlines()[-1]


def test_bad_rows_lenient_skips_and_lists_them(tmp_path):
    d = _bad_app()
    vin = vins_of(d)[0]
    expected = _bad_files(tmp_path, vin)
    r = run_check(d, tmp_path, lenient=True)
    ev = r.decision.evidence
    assert ev.lenient is True
    assert sorted((b.file, b.line, b.reason.value) for b in ev.bad_rows) == sorted(expected)
    assert [(b.file, b.line) for b in ev.bad_rows] == sorted((b.file, b.line) for b in ev.bad_rows)
    counts: dict[str, int] = {}
    for _, _, reason in expected:
        counts[reason] = counts.get(reason, 0) + 1
    assert ev.bad_row_counts == counts
    assert [(f.path, f.kind, f.rows, f.bad_rows) for f in ev.files] == [("trips.csv", "trips", 17, 13), ("trips2.jsonl", "trips", 6, 5)]
    v = vehicle(r.decision, vin)  # G1 (the first, not the duplicate), G-150, G2, G3
    assert (v.counted.trips, v.counted.hours, v.counted.km) == (4, D(4), D(210))
    # the report lists them too
    text = render(r.decision, r.pack, "text", "en")
    assert "18 bad rows skipped (--lenient)" in squash(text)
    # B-SPD (150.001 km/h) is read, not counted, and EVD-05 warns about it (lenient)
    assert excluded(vehicle(r.decision, vin))["implausible_speed"] == (1, D(1), D("150.001"))
    assert [(f.outcome.value, f.reason, f.observed) for f in findings(r.decision, "EVD-05", vin)] == [("warn", "implausible_speed", 151)]
    assert "trips.csv:9 " in text and "trips2.jsonl:1 " in text


def test_bad_rows_lenient_cli(tmp_path):
    d = _bad_app()
    expected = _bad_files(tmp_path, vins_of(d)[0])
    app = write_app(d, tmp_path)
    r = cli("check", app, "--as-of", AS_OF_TEXT, "--lenient", "--format", "json")
    assert r.returncode == 1, r.stderr  # 4 h and 210 km: EVD-01 fails, but the check ran
    ev = json.loads(r.stdout)["evidence"]
    assert sorted((b["file"], b["line"], b["reason"]) for b in ev["bad_rows"]) == sorted(expected)
    assert sum(ev["bad_row_counts"].values()) == len(expected)
    assert [f["bad_rows"] for f in ev["files"]] == [13, 5]
    r = cli("check", app, "--as-of", AS_OF_TEXT, "--lenient", "--lang", "zh")
    assert r.returncode == 1 and "已跳过错误行 18 行" in squash(r.stdout)


def test_a_header_lacking_a_column_is_bad_input_even_lenient(tmp_path):
    d = ev_app()
    vin = vins_of(d)[0]
    cols = [c for c in COLS if c != "distance_km"]
    write_csv(tmp_path / "trips.csv", cols, [[vin, "T1", GOOD.format(1, 8), GOOD.format(1, 9), "autonomous", SECTION, ""]])
    for lenient in (False, True):
        with pytest.raises(InputError) as exc:
            run_check(d, tmp_path, lenient=lenient)
        assert exc.value.codes == ["header"]
        assert exc.value.problems[0].location == "trips.csv" and "distance_km" in exc.value.render("en")


def test_csv_header_is_case_insensitive_in_any_order_and_notice_optional(tmp_path):
    d = ev_app()
    vin = vins_of(d)[0]
    cols = ["Section", " MODE", "Distance_KM", "End", "Start", "Trip_ID", "VIN"]
    row = dict(zip(COLS, _row(vin, "T1", 1, km="12.5"), strict=True))
    path = write_csv(tmp_path / "trips.csv", cols, [[row[c.strip().lower()] for c in cols]])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # with a BOM
    v = vehicle(run_summary(d, tmp_path), vin)
    assert (v.counted.trips, v.counted.hours, v.counted.km) == (1, 1, D("12.5"))


def test_more_than_1000_bad_rows(tmp_path):
    d = ev_app(sections=[SECTION])
    vin = vins_of(d)[0]
    n = 1005
    rows = [_row(vin, f"N{i}", 1 + i % 28, km="-1") for i in range(n)] + [_row(vin, "OK", 1, h0=20, h1=21)]
    write_csv(tmp_path / "trips.csv", COLS, rows)
    with pytest.raises(InputError) as exc:
        run_check(d, tmp_path)
    problems = exc.value.problems
    listed = [p for p in problems if "line" in p.params]
    assert len(listed) == 1000
    assert [p.params["line"] for p in listed] == list(range(2, 1002))
    assert len(problems) == 1002
    more, total = problems[-2], problems[-1]
    assert more.params == {"more": n - 1000, "counts": f"negative_distance {n}"}
    assert total.params == {"total": n}
    en = exc.value.render("en").splitlines()
    assert en[-2] == f"5 more bad rows not listed; all bad rows by reason: negative_distance {n}"
    assert str(n) in en[-1]
    ev = run_check(d, tmp_path, lenient=True).decision.evidence
    assert len(ev.bad_rows) == 1000 and ev.bad_row_counts == {"negative_distance": n}
    assert (ev.files[0].rows, ev.files[0].bad_rows) == (n + 1, n)
    assert vehicle(run_check(d, tmp_path, lenient=True).decision, vin).counted.trips == 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_distance_at_and_beyond_what_one_trip_can_record(tmp_path, fmt):
    """A trip records less than 100,000,000 km (the reader's bound, which keeps every total an exact
    64-bit integer): just below it the row is read — in the form the vectorised reader takes
    (digits) and in the forms it leaves to the row parser (an exponent, a fourth decimal) alike —
    at it and far beyond it (an exponent, 5,000 digits) the row is bad, named, never a crash."""
    d = ev_app(sections=[SECTION])
    vin = vins_of(d)[0]
    read = ["99999999", "99999999.999", "9.9999999999E7", "99999999.9999"]
    bad = ["100000000", "100000000.0", "1E8", "1e16", "99999999999999999", "1e309", "9" * 5000]
    rows = [_row(vin, f"R{i}", 1, h0=i, h1=i + 1, km=km) for i, km in enumerate(read)]
    rows += [_row(vin, f"B{i}", 2 + i, km=km) for i, km in enumerate(bad)]
    name = f"trips.{fmt}"
    if fmt == "csv":
        write_csv(tmp_path / name, COLS, rows)
    else:
        write_jsonl(tmp_path / name, [dict(zip(COLS, r, strict=True)) for r in rows])
    d["evidence"]["trips"] = [name]
    with pytest.raises(InputError) as exc:
        run_check(d, tmp_path)
    listed = [(p.params["line"], p.code) for p in exc.value.problems if "line" in p.params]
    first = 2 if fmt == "csv" else 1
    assert listed == [(first + len(read) + i, "distance_too_large") for i in range(len(bad))]
    en = exc.value.render("en")
    assert "100,000,000 km or more" in en and "Traceback" not in en
    assert "100,000,000 公里" in exc.value.render("zh")
    ev = run_check(d, tmp_path, lenient=True).decision.evidence
    assert ev.bad_row_counts == {"distance_too_large": len(bad)}
    v = vehicle(run_check(d, tmp_path, lenient=True).decision, vin)
    (x,) = v.excluded  # read, and for the engine an impossible speed
    assert (x.reason.value, x.trips) == ("implausible_speed", len(read))
    assert x.km == D("99999999") + 3 * D("99999999.999")  # each to the metre, down


@pytest.mark.parametrize(("start", "read"), [
    ("2025-07-01T08:00:00+08:00", True), ("2025-07-01 08:00:00", True), ("2025-07-01T08:00", True), ("2025-07-01T00:00:00.250Z", True),
    ("20250701T080000", False), ("2025-W27-2T08:00:00", False), ("2025-07-01", False), ("2025-182T08:00", False),
])
def test_a_trip_time_is_a_date_and_a_time(tmp_path, start, read):
    """A start (or end) begins with ``YYYY-MM-DD`` and a time; the compact, week and ordinal forms
    Python's reader also takes, and a date alone, are bad times — as an incident's date takes the
    one form ``YYYY-MM-DD``."""
    d = ev_app(sections=[SECTION])
    vin = vins_of(d)[0]
    end = "2025-07-02T09:00:00+08:00"
    write_csv(tmp_path / "trips.csv", COLS, [[vin, "T1", start, end, "20", "autonomous", SECTION, ""],
                                             [vin, "T2", end, start, "20", "autonomous", SECTION, ""]])
    if read:
        with pytest.raises(InputError) as exc:  # T2 ends before it starts: its end was read as a time
            run_check(d, tmp_path)
        assert [(p.params["line"], p.code) for p in exc.value.problems if "line" in p.params] == [(3, "end_before_start")]
    else:
        with pytest.raises(InputError) as exc:
            run_check(d, tmp_path)
        assert [(p.params["line"], p.code, p.params["field"]) for p in exc.value.problems if "line" in p.params] == [
            (2, "bad_time", "start"), (3, "bad_time", "end")]


def test_hostile_json_lines_are_bad_rows(tmp_path):
    """A line nested past any parser's depth, a lone surrogate, an integer beyond 64 bits: each its
    line's malformed row, the rest of the file read."""
    d = ev_app(sections=[SECTION])
    vin = vins_of(d)[0]
    good = dict(zip(COLS, _row(vin, "G1", 1), strict=True))
    lines = [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({**good, "trip_id": "S"}).replace('"S"', '"\\ud800"'),
        json.dumps({**good, "trip_id": "N"}).replace('"20"', "9" * 5000),
        json.dumps(good),
    ]
    assert "\\ud800" in lines[1] and "9" * 5000 in lines[2]
    (tmp_path / "trips.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    d["evidence"]["trips"] = ["trips.jsonl"]
    with pytest.raises(InputError) as exc:
        run_check(d, tmp_path)
    assert [(p.params["line"], p.code) for p in exc.value.problems if "line" in p.params] == [
        (1, "malformed_row"), (2, "malformed_row"), (3, "malformed_row")]
    assert vehicle(run_check(d, tmp_path, lenient=True).decision, vin).counted.trips == 1


# ====================================================================== 8. incidents

INCIDENT_COLS_PLUS = ["date", "vin", "section", "kind", "liability", "police_reference", "description", "during_road_test"]


def _passing_trips(tmp_path, d) -> None:
    write_trips(tmp_path / "trips.csv", [t for vin in vins_of(d) for t in hours_trips(vin, 24, 10, 50_000, prefix=vin[-4:])])


@pytest.mark.parametrize(("kind", "liability", "rule", "fails"), [
    ("accident", "minor", "EVD-03", True),
    ("accident", "full", "EVD-03", True),
    ("accident", "equal", "EVD-03", True),
    ("accident", "none", "EVD-03", False),
    ("violation", "", "EVD-02", True),
])
def test_incident_file(tmp_path, kind, liability, rule, fails):
    d = ev_app(incidents=("incidents.csv",), sections=[SECTION])
    vin = vins_of(d)[0]
    _passing_trips(tmp_path, d)
    write_incidents(tmp_path / "incidents.csv", [incident(vin, kind, liability)])
    r = run_check(d, tmp_path)
    assert r.decision.evidence.incidents[0].vin == vin
    fs = findings(r.decision, rule, vin)
    assert len(fs) == 1
    if fails:
        assert fs[0].outcome is Outcome.failed
        assert fs[0].values["records"] == ["evidence.incidents[0]"]
        assert r.exit_code == 1
    else:
        assert fs[0].outcome is Outcome.passed
        assert fs[0].values["not_counted"] == 1
        assert r.exit_code == 0, [(f.rule_id, f.outcome) for f in r.decision.failures()]


def test_incident_of_another_vehicle_and_not_during_road_test(tmp_path):
    d = ev_app(incidents=("incidents.csv",), vehicles=2, sections=[SECTION])
    v1, v2 = vins_of(d)
    _passing_trips(tmp_path, d)
    rows = [incident(v2, "accident", "main"), {**incident(v1, "violation"), "during_road_test": "false"}]
    path = tmp_path / "incidents.csv"
    cols = [*INCIDENT_COLS_PLUS]
    write_csv(path, cols, [[r.get(c, "") for c in cols] for r in rows])
    r = run_check(d, tmp_path)
    assert outcome(r.decision, "EVD-03", v1) is Outcome.passed
    assert outcome(r.decision, "EVD-02", v1) is Outcome.passed
    f = findings(r.decision, "EVD-03", v2)[0]
    assert f.outcome is Outcome.failed and f.values["records"] == ["evidence.incidents[0]"]


def test_incidents_in_the_file_and_in_the_application_are_judged_together(tmp_path):
    d = ev_app(incidents=("incidents.csv",), sections=[SECTION])
    vin = vins_of(d)[0]
    d["incidents"] = [{"kind": "violation", "date": "2025-08-01", "vin": vin}]
    _passing_trips(tmp_path, d)
    write_incidents(tmp_path / "incidents.csv", [incident(vin, "violation"), incident(vin, "accident", "none")])
    r = run_check(d, tmp_path)
    f = findings(r.decision, "EVD-02", vin)[0]
    assert f.outcome is Outcome.failed and f.values["records"] == ["incidents[0]", "evidence.incidents[0]"]


@pytest.mark.parametrize(("row", "reason", "field"), [
    ({"vin": make_vin(999)}, "unknown_vin", "vin"),
    ({"liability": "half"}, "bad_value", "liability"),
    ({"kind": "collision"}, "bad_value", "kind"),
    ({"date": "2025-13-40"}, "bad_value", "date"),
    ({"date": ""}, "missing_field", "date"),
    ({"section": "XX-999"}, "unknown_section", "section"),
])
def test_bad_incident_rows(tmp_path, row, reason, field):
    d = ev_app(incidents=("incidents.csv",), sections=[SECTION])
    vin = vins_of(d)[0]
    _passing_trips(tmp_path, d)
    write_incidents(tmp_path / "incidents.csv", [incident(vin, "accident", "none"), {**incident(vin, "accident", "minor"), **row}])
    with pytest.raises(InputError) as exc:
        run_check(d, tmp_path)
    p = exc.value.problems[0]
    assert (p.location, p.params["line"], p.code, p.params["field"]) == ("incidents.csv", 3, reason, field)
    r = run_check(d, tmp_path, lenient=True)
    ev = r.decision.evidence
    assert [(b.file, b.line, b.reason.value) for b in ev.bad_rows] == [("incidents.csv", 3, reason)]
    assert [(f.kind, f.rows, f.bad_rows) for f in ev.files] == [("trips", 24, 0), ("incidents", 2, 1)]
    assert len(ev.incidents) == 1
    assert outcome(r.decision, "EVD-03", vin) is Outcome.passed  # the bad (minor) row was skipped


def test_bad_rows_of_trip_and_incident_files_are_all_listed_together(tmp_path):
    d = ev_app(incidents=("incidents.csv",), sections=[SECTION])
    vin = vins_of(d)[0]
    write_csv(tmp_path / "trips.csv", COLS, [_row(vin, "T1", 1), _row(vin, "T2", 2, km="x")])
    write_incidents(tmp_path / "incidents.csv", [incident(vin, "accident", "half"), incident(make_vin(999), "violation")])
    with pytest.raises(InputError) as exc:
        run_check(d, tmp_path)
    assert [(p.location, p.params.get("line"), p.code) for p in exc.value.problems] == [
        ("incidents.csv", 2, "bad_value"), ("incidents.csv", 3, "unknown_vin"), ("trips.csv", 3, "bad_number"), ("", None, "bad_rows")]


def test_vins_in_the_files_are_normalised(tmp_path):
    d = ev_app(incidents=("incidents.csv",), sections=[SECTION])
    vin = vins_of(d)[0]
    sloppy = " " + vin[:8].lower() + " " + vin[8:] + " "
    write_csv(tmp_path / "trips.csv", COLS, [_row(sloppy, "T1", 1)])
    write_incidents(tmp_path / "incidents.csv", [incident(sloppy, "violation")])
    r = run_check(d, tmp_path)
    assert vehicle(r.decision, vin).counted.trips == 1
    assert findings(r.decision, "EVD-02", vin)[0].values["records"] == ["evidence.incidents[0]"]


def test_incidents_only_evidence_judges_evd01_on_the_declared_summary(tmp_path):
    d = ev_app((), ("incidents.csv",), sections=[SECTION], prior_testing=True)
    vin = vins_of(d)[0]
    write_incidents(tmp_path / "incidents.csv", [incident(vin, "accident", "none")])
    r = run_check(d, tmp_path)
    assert r.decision.evidence.has_trips is False
    f = evd01(r, vin)
    assert f.outcome is Outcome.passed and f.values["source"] == "declared"


# ====================================================================== 9. replayability


def test_decision_records_each_file_digest_size_and_rows(tmp_path):
    d = ev_app(("logs/trips.csv", "logs/more.jsonl"), ("logs/incidents.csv",), sections=[SECTION])
    vin = vins_of(d)[0]
    (tmp_path / "logs").mkdir()
    trips = hours_trips(vin, 25, 10, 10_000)
    write_trips(tmp_path / "logs" / "trips.csv", trips[:20])
    write_trips(tmp_path / "logs" / "more.jsonl", trips[20:], style="utc")
    write_incidents(tmp_path / "logs" / "incidents.csv", [incident(vin, "accident", "none")])
    r = run_check(d, tmp_path)
    files = r.decision.evidence.files
    assert [(f.path, f.kind, f.rows, f.bad_rows) for f in files] == [
        ("logs/trips.csv", "trips", 20, 0), ("logs/more.jsonl", "trips", 5, 0), ("logs/incidents.csv", "incidents", 1, 0)]
    for f in files:
        data = (tmp_path / f.path).read_bytes()
        assert f.sha256 == hashlib.sha256(data).hexdigest()
        assert f.bytes == len(data)
    # one byte changed: another digest
    path = tmp_path / "logs" / "trips.csv"
    data = bytearray(path.read_bytes())
    i = data.index(b"10,autonomous")
    data[i + 1] = ord("1")  # 10 km → 11 km
    path.write_bytes(bytes(data))
    files2 = run_check(d, tmp_path).decision.evidence.files
    assert files2[0].sha256 == hashlib.sha256(bytes(data)).hexdigest() != files[0].sha256
    assert files2[0].bytes == files[0].bytes
    assert files2[1:] == files[1:]


def test_json_output_includes_the_evidence_files(tmp_path):
    d = ev_app(sections=[SECTION])
    vin = vins_of(d)[0]
    write_trips(tmp_path / "trips.csv", hours_trips(vin, 24, 10, 10_000))
    app = write_app(d, tmp_path)
    r = cli("check", app, "--as-of", AS_OF_TEXT, "--format", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    data = (tmp_path / "trips.csv").read_bytes()
    assert out["evidence"]["files"] == [{"path": "trips.csv", "kind": "trips", "sha256": hashlib.sha256(data).hexdigest(),
                                         "bytes": len(data), "rows": 24, "bad_rows": 0}]
    assert out["evidence_counted"][0]["counted"] == {"trips": 24, "hours": "240.0000", "km": "240"}
    # the reader's buckets: one vehicle, one section, the notice, autonomous, 1 km/h
    assert [(b["section"], b["notice"], b["mode"], b["max_kmh"], b["trips"]) for b in out["evidence"]["buckets"]] == [
        (SECTION, NOTICE_NO, "autonomous", 1, 24)]
    # the text report names the start of the digest
    text = cli("check", app, "--as-of", AS_OF_TEXT, "--lang", "en").stdout
    assert f"sha256:{hashlib.sha256(data).hexdigest()[:16]}" in text


# ====================================================================== 10. typed-in summary vs logs


def _declared(d: dict[str, Any], entries: list[tuple[str, str, str]]) -> dict[str, Any]:
    d["vehicles"][0]["prior_testing"] = [{"section": s, "hours": h, "km": k, "records_submitted": True} for s, h, k in entries]
    return d


@pytest.mark.parametrize(("declared", "trips", "outcome_", "reason", "differs"), [
    # typed-in 300 h / 1200 km, logs 100 h / 500 km: the logs decide (fail), and the difference is reported
    ([(SECTION, "300", "1200")], (10, 10, 50_000), Outcome.failed, "below", ("300", "1200", "100", "500", "200", "700")),
    # typed-in 100 h / 500 km (would fail), logs 250 h: the logs decide (pass)
    ([(SECTION, "100", "500")], (25, 10, 20_000), Outcome.passed, "ok_hours", ("100", "500", "250", "500", "-150", "0")),
    # the same figures: no warning
    ([(SECTION, "250", "500")], (25, 10, 20_000), Outcome.passed, "ok_hours", None),
    # a typed-in section not applied for is left out of the comparison
    ([(SECTION, "250", "500"), (NOT_APPLIED, "99", "99")], (25, 10, 20_000), Outcome.passed, "ok_hours", None),
])
def test_computed_figure_wins_over_the_typed_in_summary(tmp_path, declared, trips, outcome_, reason, differs):
    d = _declared(ev_app(sections=[SECTION], prior_testing=True), declared)
    vin = vins_of(d)[0]
    n, hours, metres = trips
    write_trips(tmp_path / "trips.csv", hours_trips(vin, n, hours, metres))
    r = run_check(d, tmp_path)
    f = evd01(r, vin)
    assert (f.outcome, f.reason, f.values["source"]) == (outcome_, reason, "trips")
    warns = [x for x in findings(r.decision, "EVD-01", vin) if x.reason == "declared_differs"]
    if differs is None:
        assert warns == []
        return
    assert len(warns) == 1 and warns[0].outcome is Outcome.warned and warns[0].field == "vehicles[0].prior_testing"
    v = warns[0].values
    got = tuple(v[k] for k in ("declared_hours", "declared_km", "hours", "km", "diff_hours", "diff_km"))
    assert tuple(D(x) for x in got) == tuple(D(x) for x in differs)
    en = squash(render(r.decision, r.pack, "text", "en"))
    assert "the computed figures decide" in en


# ====================================================================== 11. report text


def test_example_report_says_what_is_still_to_go():
    outs = {(lang, fmt): cli("check", EXAMPLE, "--as-of", AS_OF_TEXT, "--lang", lang, "--format", fmt)
            for lang in ("zh", "en") for fmt in ("text", "markdown")}
    for (lang, fmt), r in outs.items():
        assert r.returncode == 1, r.stderr
        text = squash(r.stdout) if fmt == "text" else r.stdout
        assert ("还需 56.5 小时或 188 公里" if lang == "zh" else "56.5 h or 188 km still to go") in text, (lang, fmt)
        for reason in sorted(set(EXCLUSIONS) - {"implausible_speed"}):  # the example has no implausible trip
            assert t(lang, EXCLUSIONS[reason]) in text, (lang, fmt, reason)
    en = squash(outs["en", "text"].stdout)
    assert "LSVAU2183N2183301: counted 75 trips, 183.5 h, 812 km" in en
    assert "not counted (manual mode): 2 trips, 3 h, 42.5 km" in en
    assert "LSVAU218XN2183294: counted 100 trips, 250 h, 1100 km" in en
    zh = squash(outs["zh", "text"].stdout)
    assert "LSVAU2183N2183301：计入 75 条行程，183.5 小时，812 公里" in zh


def test_example_json_decision():
    r = cli("check", EXAMPLE, "--as-of", AS_OF_TEXT, "--format", "json", "--lang", "en")
    out = json.loads(r.stdout)
    fails = [f for f in out["findings"] if f["rule_id"] == "EVD-01" and f["outcome"] == "fail"]
    assert len(fails) == 1
    assert fails[0]["values"]["need_hours"] == "56.5" and fails[0]["values"]["need_km"] == "188"
    assert "56.5 h or 188 km still to go" in fails[0]["message"]


# ====================================================================== 12. evidence files that cannot be read


FILE_CASES = {
    "missing": lambda p: None,
    "a directory": lambda p: p.mkdir(),
    "not UTF-8": lambda p: p.write_bytes(",".join(COLS).encode() + "\nLSVAU2189N2000001,测试,x,y,1,manual,HF-GX-001,\n".encode("gbk")),
    "empty CSV": lambda p: p.write_bytes(b""),
}


@pytest.mark.parametrize("case", list(FILE_CASES), ids=list(FILE_CASES))
@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "lenient"])
def test_unreadable_evidence_file_exits_2_naming_it(tmp_path, case, lenient):
    d = ev_app(("logs/trips.csv",))
    (tmp_path / "logs").mkdir()
    FILE_CASES[case](tmp_path / "logs" / "trips.csv")
    app = write_app(d, tmp_path)
    r = cli("check", app, "--as-of", AS_OF_TEXT, "--lang", "en", *(["--lenient"] if lenient else []))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert "logs/trips.csv" in r.stderr
    with pytest.raises(InputError) as exc:
        run_check(d, tmp_path, lenient=lenient)
    # a path that is not read names the field (the one message of test_evidence_confinement.py);
    # a file that is read but cannot be understood names the file
    assert exc.value.problems[0].location == {"missing": "evidence.trips[0]", "a directory": "evidence.trips[0]"}.get(case, "logs/trips.csv")
    assert exc.value.codes[0] == {"missing": "not_evidence", "a directory": "not_evidence", "not UTF-8": "encoding",
                                  "empty CSV": "empty"}[case]


def test_missing_incident_file_exits_2(tmp_path):
    d = ev_app(incidents=("incidents.csv",))
    write_trips(tmp_path / "trips.csv", hours_trips(vins_of(d)[0], 2, 1, 1))
    with pytest.raises(InputError) as exc:
        run_check(d, tmp_path)
    assert exc.value.problems[0].location == "evidence.incidents[0]" and exc.value.codes == ["not_evidence"]


@pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["zero bytes", "blank lines"])
def test_empty_jsonl_trip_file_is_bad_input(tmp_path, content):
    d = ev_app(("trips.jsonl",))
    (tmp_path / "trips.jsonl").write_bytes(content)
    with pytest.raises(InputError) as exc:
        run_check(d, tmp_path)
    assert exc.value.problems[0].location == "trips.jsonl"


# ====================================================================== 13. the temporary SQLite file
# The rows are kept in SQLite's anonymous temporary database, which leaves no file behind however the
# check ends (normally, with bad input, or killed): tests/test_evidence_confinement.py.
