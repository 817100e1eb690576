"""The evidence reader classifies, the engine decides: trip buckets, the counting parameters
(``evidence.counted_modes``, ``evidence.sections_applied_for_only``,
``evidence.road_test_notice_required``, ``evidence.max_average_speed_kmh``) at and around their
thresholds, the replay of a logged decision under an edited pack folder, and properties of buckets.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from builders import to_app
from evidence_builders import NOT_APPLIED, NOTICE_NO, SECTION, SECTION2, T0, ev_app, excluded, trip, vehicle, write_trips
from hypothesis import given
from hypothesis import strategies as st
from test_evidence import PROPS, V1, V2, _summary_of, trip_lists, write_app
from test_ledger import DAY, cli

from icv_permits.services import office as W
from icv_permits.core.engine.decision import Outcome, Verdict
from icv_permits.core.model.evidence import FASTEST_TRIPS_APART, hours_of, km_of
from icv_permits.adapters.packs import load_pack
from icv_permits.services.precheck import check_application

H = 3600
D = Decimal
ROOT = Path(__file__).resolve().parents[1]


def edited_pack(folder: Path, **values) -> Path:
    """A copy of rules/ in ``folder`` whose national parameters take ``values`` (id → value); the
    anhui-2025 folder of the copy."""
    rules = folder / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "national-2021" / "parameters.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for p in data["parameters"]:
        if p["id"] in values:
            p["values"][-1]["value"] = values.pop(p["id"])
    assert not values, values
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return rules / "anhui-2025"


def check(d, folder: Path, pack="anhui-2025", lenient=False):
    return check_application(to_app(d), pack=pack if isinstance(pack, str) else load_pack(str(pack)), as_of=DAY.now().date(),
                             base_dir=folder, lenient=lenient)


def reasons(decision, rule_id, vin):
    return sorted((f.outcome.value, f.reason) for f in decision.findings if f.rule_id == rule_id and f.subject.ref == vin)


# ---------------------------------------------------------------- what the reader classifies


def test_the_reader_totals_trips_into_buckets_and_counts_nothing(tmp_path):
    d = ev_app(sections=[SECTION])
    vin = d["vehicles"][0]["vin"]
    write_trips(tmp_path / "trips.csv", [
        trip(vin, "A", T0, 2 * H, 60_000),  # 30 km/h, autonomous, under the notice
        trip(vin, "M", T0.replace(day=2), H, 40_000, mode="manual"),  # 40 km/h manual
        trip(vin, "S", T0.replace(day=3), H, 20_000, section=NOT_APPLIED),  # another section
        trip(vin, "N", T0.replace(year=2027), H, 10_000),  # after the notice
    ])
    r = check(d, tmp_path)
    got = [(b.section, b.notice, b.mode.value, b.max_kmh, b.trips, b.us, b.m) for b in r.decision.evidence.buckets]
    assert sorted(got, key=str) == sorted([
        (SECTION, NOTICE_NO, "autonomous", 30, 1, 2 * H * 10**6, 60_000),
        (SECTION, NOTICE_NO, "manual", 40, 1, H * 10**6, 40_000),
        (NOT_APPLIED, None, "autonomous", 20, 1, H * 10**6, 20_000),  # the notice does not list that section
        (SECTION, None, "autonomous", 10, 1, H * 10**6, 10_000),
    ], key=str)
    v = vehicle(r.decision, vin)
    assert (v.counted.trips, v.counted.hours, v.counted.km) == (1, 2, 60)
    assert excluded(v) == {"manual_mode": (1, D(1), D(40)), "section_not_applied": (1, D(1), D(20)), "no_valid_notice": (1, D(1), D(10))}
    assert r.decision.evidence_counted == [v]


# ---------------------------------------------------------------- evidence.max_average_speed_kmh


@pytest.mark.parametrize("metres, kmh_class, counts", [
    (149_999, 150, True),   # just below 150 km/h
    (150_000, 150, True),   # exactly 150 km/h: 不超过 150
    (150_001, 151, False),  # just above
])
def test_max_average_speed_at_just_below_and_above(tmp_path, metres, kmh_class, counts):
    d = ev_app(sections=[SECTION])
    vin = d["vehicles"][0]["vin"]
    write_trips(tmp_path / "trips.csv", [trip(vin, "T", T0, H, metres)])
    r = check(d, tmp_path)
    (b,) = r.decision.evidence.buckets
    assert b.max_kmh == kmh_class
    v = vehicle(r.decision, vin)
    assert v.counted.trips == (1 if counts else 0)
    evd05 = reasons(r.decision, "EVD-05", vin)
    assert evd05 == ([("pass", "ok_trips")] if counts else [("fail", "implausible_speed")])
    if not counts:
        assert excluded(v) == {"implausible_speed": (1, D(1), km_of(metres))}
        # lenient: the trip is still not counted, and EVD-05 only warns
        r = check(d, tmp_path, lenient=True)
        assert reasons(r.decision, "EVD-05", vin) == [("warn", "implausible_speed")]


@pytest.mark.parametrize("limit, counted", [(119, 0), (120, 1), (121, 1)])
def test_the_engine_applies_the_pack_s_speed_limit(tmp_path, limit, counted):
    d = ev_app(sections=[SECTION])
    vin = d["vehicles"][0]["vin"]
    write_trips(tmp_path / "trips.csv", [trip(vin, "T", T0, H, 120_000)])
    pack = edited_pack(tmp_path / "pack", **{"evidence.max_average_speed_kmh": limit})
    r = check(d, tmp_path, pack=pack)
    assert vehicle(r.decision, vin).counted.trips == counted
    (f,) = [f for f in r.decision.findings if f.rule_id == "EVD-05"]
    assert f.threshold.value == limit and f.threshold.param == "evidence.max_average_speed_kmh"


def test_the_fastest_trips_of_a_vehicle_are_classed_apart_the_rest_together(tmp_path):
    d = ev_app(sections=[SECTION])
    vin = d["vehicles"][0]["vin"]
    n = FASTEST_TRIPS_APART + 5
    trips = [trip(vin, f"T{i:02d}", T0.replace(day=1 + i), H, (10 + i) * 1000) for i in range(n)]  # 10…30 km/h
    write_trips(tmp_path / "trips.csv", trips)
    r = check(d, tmp_path)
    classes = sorted(b.max_kmh for b in r.decision.evidence.buckets)
    # the 16 fastest (15…30 km/h) are apart; the 5 slower ones (10…14) share the class of the next
    # fastest, 14 km/h
    assert classes == list(range(14, 31))
    assert next(b for b in r.decision.evidence.buckets if b.max_kmh == 14).trips == 5
    # exact unless more than 16 trips exceed the limit (13 km/h: 17 do; then the shared class does
    # not count, the cautious side, and EVD-05 reports the implausible trips)
    for limit, counted in ((13, 0), (14, 5), (15, 6), (29, n - 1), (30, n)):
        pack = edited_pack(tmp_path / f"p{limit}", **{"evidence.max_average_speed_kmh": limit})
        assert vehicle(check(d, tmp_path, pack=pack).decision, vin).counted.trips == counted, limit


# ---------------------------------------------------------------- the counting conditions


def _mixed(tmp_path):
    d = ev_app(sections=[SECTION])
    vin = d["vehicles"][0]["vin"]
    write_trips(tmp_path / "trips.csv", [
        trip(vin, "A", T0, 10 * H, 100_000),
        trip(vin, "M", T0.replace(day=2), 10 * H, 100_000, mode="manual"),
        trip(vin, "S", T0.replace(day=3), 10 * H, 100_000, section=SECTION2),  # on the notice, not applied for
        trip(vin, "N", T0.replace(year=2027), 10 * H, 100_000),
    ])
    return d, vin


@pytest.mark.parametrize("param, value, hours", [
    ("evidence.counted_modes", ["autonomous"], 10),
    ("evidence.counted_modes", ["autonomous", "manual"], 20),
    ("evidence.counted_modes", [], 0),
    ("evidence.sections_applied_for_only", True, 10),
    ("evidence.sections_applied_for_only", False, 20),
    ("evidence.road_test_notice_required", True, 10),
    ("evidence.road_test_notice_required", False, 20),
])
def test_each_counting_condition_on_and_off(tmp_path, param, value, hours):
    d, vin = _mixed(tmp_path)
    r = check(d, tmp_path, pack=edited_pack(tmp_path / "pack", **{param: value}))
    assert vehicle(r.decision, vin).counted.hours == hours
    (f,) = [f for f in r.decision.findings if f.rule_id == "EVD-01" and f.subject.ref == vin]
    assert f.values["hours"] == str(hours)


def test_a_switch_must_be_true_or_false(tmp_path):
    from icv_permits.core.errors import PackError

    with pytest.raises(PackError, match="evidence.road_test_notice_required: Value error, the value from .*: a switch is true or false, not 'yes'"):
        load_pack(str(edited_pack(tmp_path, **{"evidence.road_test_notice_required": "yes"})))


# ---------------------------------------------------------------- replay under an edited pack folder


def test_audit_replay_with_an_edited_pack_folder_changes_evd_findings_and_names_the_parameter(tmp_path, monkeypatch):
    from icv_permits.adapters.store import db

    url = f"sqlite:///{tmp_path / 'office.sqlite'}"
    db.upgrade(url)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", url)
    store = db.open_store(url)
    d = ev_app(sections=[SECTION])
    d["notices"][0]["issuer_province"] = "jiangsu"  # in a review, Anhui notices come from the records; this one from the file
    vin = d["vehicles"][0]["vin"]
    # 12 autonomous and 12 manual trips of 10 h and 50 km (5 km/h): 120 h and 600 km count
    write_trips(tmp_path / "trips.csv", [trip(vin, f"A{i}", T0.replace(day=1 + i), 10 * H, 50_000) for i in range(12)]
                + [trip(vin, f"M{i}", T0.replace(month=8, day=1 + i), 10 * H, 50_000, mode="manual") for i in range(12)])
    sub = W.submit(store, write_app(d, tmp_path), actor="审核员甲", clock=DAY)
    assert [f.reason for f in sub.decision.findings if f.rule_id == "EVD-01"] == ["below"]

    def replay(folder: Path) -> dict:
        r = cli("audit", "replay", "--all", "--pack", str(folder), "--format", "json", "--jobs", "1")
        assert r.exit_code == 1, r.output  # the decision differs
        (res,) = json.loads(r.output)
        return res

    slow = replay(edited_pack(tmp_path / "slow", **{"evidence.max_average_speed_kmh": 4}))
    diffs = {(x["rule_id"], x["subject"]): (x["recorded"], x["replayed"]) for x in slow["rule_diffs"]}
    assert diffs[("EVD-05", vin)] == (["pass:ok_trips"], ["fail:implausible_speed"])
    assert diffs[("EVD-01", vin)][0] == diffs[("EVD-01", vin)][1] == ["fail:below"]  # its values changed: nothing counts
    assert [c["param"] for c in slow["parameter_changes"] if "param" in c] == ["evidence.max_average_speed_kmh"]

    manual = replay(edited_pack(tmp_path / "manual", **{"evidence.counted_modes": ["autonomous", "manual"]}))
    diffs = {(x["rule_id"], x["subject"]): (x["recorded"], x["replayed"]) for x in manual["rule_diffs"]}
    assert diffs[("EVD-01", vin)] == (["fail:below"], ["pass:ok_hours"])
    assert (manual["recorded_verdict"], manual["replayed_verdict"]) == ("non_compliant", "compliant")
    assert [c["param"] for c in manual["parameter_changes"] if "param" in c] == ["evidence.counted_modes"]
    text = cli("audit", "replay", "--all", "--pack", str(tmp_path / "manual" / "rules" / "anhui-2025"), "--lang", "en", "--jobs", "1")
    assert "evidence.counted_modes" in text.output
    # the recorded pack still gives the recorded decision
    assert cli("audit", "replay", "--all", "--jobs", "1").exit_code == 0


def test_audit_replay_refuses_a_folder_that_is_not_a_pack(tmp_path):
    r = cli("audit", "replay", "--all", "--pack", str(tmp_path))
    assert r.exit_code == 2


# ---------------------------------------------------------------- properties


def _per_trip(trips, vin, applied=frozenset({SECTION, "HF-BH-A01"})):
    """The counted totals trip by trip, for trips that never overlap: autonomous, on a section
    applied for, inside the notice (all generated trips are), at most 150 km/h."""
    us = m = n = 0
    for t in trips:
        dur = int((t.end - t.start).total_seconds() * 10**6)
        if t.vin != vin or t.mode != "autonomous" or t.section not in applied:
            continue
        if t.metres and -(-t.metres * 3_600_000 // dur) > 150:
            continue
        us, m, n = us + dur, m + t.metres, n + 1
    return n, hours_of(us), km_of(m)


@PROPS
@given(trip_lists(disjoint=True, max_size=12))
def test_property_bucket_totals_equal_the_per_trip_totals_for_the_default_parameters(trips):
    s = _summary_of(trips)
    for vin in (V1, V2):
        v = vehicle(s, vin)
        assert (v.counted.trips, v.counted.hours, v.counted.km) == _per_trip(trips, vin)


@PROPS
@given(trip_lists(max_size=15), st.sampled_from(["csv", "jsonl"]))
def test_property_buckets_hold_every_microsecond_and_metre_once(trips, fmt):
    """Credited plus claimed-beyond is exactly what the trips record, whatever overlaps."""
    s = _summary_of(trips, fmt=fmt)
    for vin in (V1, V2):
        mine = [t for t in trips if t.vin == vin]
        bs = s.by_vin.get(vin, [])
        assert sum(b.trips for b in bs) == len(mine)
        assert sum(b.us + b.overlap_us for b in bs) == sum(int((t.end - t.start).total_seconds() * 10**6) for t in mine)
        assert sum(b.m + b.overlap_m for b in bs) == sum(t.metres for t in mine)
        # the credited time is the union of the trips' time
        spans = sorted((t.start, t.end) for t in mine)
        union, end = 0, None
        for a, b in spans:
            if end is None or a > end:
                union += (b - a).total_seconds()
                end = b
            elif b > end:
                union += (b - end).total_seconds()
                end = b
        assert sum(b.us for b in bs) == int(union * 10**6)


def test_a_verdict_does_not_change_for_the_example_with_trip_logs():
    r = check_application(to_app(yaml.safe_load((ROOT / "examples" / "da-trip-logs.yaml").read_text(encoding="utf-8"))),
                          as_of=DAY.now().date(), base_dir=ROOT / "examples")
    assert r.decision.verdict is Verdict.non_compliant
    assert {f.rule_id for f in r.decision.findings if f.outcome is Outcome.failed} == {"EVD-01"}
