"""The entity's history in the engine: a renewal must be backed by an earlier demonstration notice,
and nothing issued after the as-of date counts as history — in the pre-check (the application's
notices) and in the review (the office's records, ``workflow.submit`` on a SQLite store).
"""

from __future__ import annotations

import datetime as dt

import pytest
from builders import AS_OF, DA, DA_NOTICE, DO, SECTION, baseline, make_vin, to_app, with_, with_vehicles
from test_store_workflow import approved, clock, do_without_notices, period, revin, submit

from icv_permits.core.engine.decision import Outcome, Verdict
from icv_permits.services.precheck import check_application

EARLIER_DA = dict(DA_NOTICE, number="皖智网示〔2025〕001号", issued="2025-06-01", valid_until="2026-11-30", vins=[make_vin(1)])


def precheck(d, as_of=AS_OF):
    return check_application(to_app(d), as_of=as_of).decision


def fs(decision, rule_id, ref=None):
    """The findings of a rule (for a subject), by reason."""
    return sorted((f for f in decision.findings if f.rule_id == rule_id and (ref is None or f.subject.ref == ref)), key=lambda f: f.reason)


def renewal(d):
    return with_(d, "modifiers.renewal", True, *[x for i in range(len(d["vehicles"])) for x in (f"vehicles[{i}].prior_testing", [])])


@pytest.fixture
def sqlite_store(tmp_path, monkeypatch):
    from icv_permits.adapters.store import db

    url = f"sqlite:///{tmp_path / 'office.sqlite'}"
    db.upgrade(url)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", url)
    return db.open_store(url)


# ---------------------------------------------------------------- renewal, pre-check


def test_precheck_a_renewal_without_an_earlier_demonstration_notice_is_a_first_application():
    d = precheck(renewal(baseline(DA)))
    assert "renewal" in d.conditions and "renewal_verified" not in d.conditions
    assert d.verdict is Verdict.non_compliant
    evd01 = fs(d, "EVD-01", make_vin(1))
    assert [(f.outcome, f.reason) for f in evd01] == [(Outcome.failed, "below"), (Outcome.warned, "renewal_no_earlier_notice")]
    assert evd01[1].values["source"] == "application" and evd01[1].values["notices"] == []


def test_precheck_a_renewal_backed_by_an_earlier_da_notice_is_accepted_as_before():
    d = precheck(with_(renewal(baseline(DA)), "notices", [EARLIER_DA]))
    assert "renewal_verified" in d.conditions
    assert {"EVD-01", "EVD-02", "EVD-03", "EVD-04", "EVD-05"} <= set(d.rules_not_applicable)
    assert d.verdict is Verdict.compliant


@pytest.mark.parametrize("notice, why", [
    (dict(EARLIER_DA, kind="road_test"), "renewal_no_earlier_notice"),  # a road-test notice is not a demonstration notice
    (dict(EARLIER_DA, issuer_province="jiangsu"), "renewal_no_earlier_notice"),  # not issued in Anhui
    (dict(EARLIER_DA, vins=[make_vin(7)]), "renewal_vehicle_not_on_notice"),  # another vehicle's notice
    (dict(EARLIER_DA, issued="2026-11-28"), "renewal_no_earlier_notice"),  # issued after the as-of date
])
def test_precheck_a_renewal_needs_an_anhui_demonstration_notice_listing_the_vehicle_issued_by_as_of(notice, why):
    d = precheck(with_(renewal(baseline(DA)), "notices", [notice]))
    assert "renewal_verified" not in d.conditions
    assert [f.reason for f in fs(d, "EVD-01", make_vin(1))] == ["below", why]
    assert d.verdict is Verdict.non_compliant


def test_precheck_a_do_notice_also_backs_a_renewal_and_the_day_of_issue_is_history():
    do_notice = dict(EARLIER_DA, kind=DO, issued=AS_OF.isoformat())
    d = precheck(with_(renewal(baseline(DA)), "notices", [do_notice]))
    assert "renewal_verified" in d.conditions and d.verdict is Verdict.compliant


def test_precheck_a_renewal_judges_a_vehicle_not_on_the_earlier_notice_as_an_added_vehicle():
    d = precheck(with_(renewal(with_vehicles(baseline(DA), 2)), "notices", [EARLIER_DA]))
    assert "renewal_verified" not in d.conditions and "EVD-01" not in d.rules_not_applicable
    renewed, added = make_vin(1), make_vin(2)
    for rid in ("EVD-01", "EVD-02", "EVD-03", "EVD-04", "EVD-05"):
        assert [(f.outcome, f.reason) for f in fs(d, rid, renewed)] == [(Outcome.not_applicable, "renewed")]
        assert fs(d, rid, renewed)[0].values["notice"] == EARLIER_DA["number"]
    assert [f.reason for f in fs(d, "EVD-01", added)] == ["below", "renewal_vehicle_not_on_notice"]
    assert fs(d, "EVD-01", added)[1].values["notices"] == [EARLIER_DA["number"]]
    assert d.verdict is Verdict.non_compliant


# ---------------------------------------------------------------- renewal, review


def test_review_a_renewal_not_on_record_is_a_first_application(sqlite_store, tmp_path):
    # the file claims an earlier DA notice; the records do not have it, and the records win
    d = submit(sqlite_store, tmp_path, with_(renewal(baseline(DA)), "notices", [EARLIER_DA])).decision
    assert "renewal_verified" not in d.conditions
    evd01 = fs(d, "EVD-01", make_vin(1))
    assert [(f.outcome, f.reason) for f in evd01] == [(Outcome.failed, "below"), (Outcome.warned, "renewal_no_earlier_notice")]
    assert evd01[1].values["source"] == "records"
    assert d.verdict is Verdict.non_compliant


def test_review_a_renewal_backed_by_a_notice_on_record_is_accepted(sqlite_store, tmp_path):
    old = approved(sqlite_store, tmp_path, baseline(DA))
    again = with_(renewal(period(baseline(DA), "2027-12-01", "2028-11-30", applied="2027-11-01")), "application_id", "TEST-DA-RENEW")
    d = submit(sqlite_store, tmp_path, again, clock(2027, 11, 10)).decision
    assert "renewal_verified" in d.conditions
    assert {"EVD-01", "EVD-05"} <= set(d.rules_not_applicable)
    assert d.verdict is Verdict.compliant, [(f.rule_id, f.reason) for f in d.failures()]
    assert old["vins"] == [make_vin(1)]


# ---------------------------------------------------------------- notices issued after the as-of date


def _do8(issued: str):
    do_notice = dict(DA_NOTICE, number="皖智网运〔2026〕001号", kind=DO, issued=issued, valid_until="2028-01-01", vins=[make_vin(90)])
    return with_(with_vehicles(baseline(DO), 8), "notices", [*baseline(DO)["notices"], do_notice])


def test_precheck_a_do_notice_dated_after_as_of_does_not_make_an_operation_not_the_first():
    d = precheck(_do8("2027-01-05"))
    (f,) = fs(d, "DOP-02")
    assert (f.outcome, f.reason, f.observed) == (Outcome.failed, "first_too_many", 8)
    warn = [x for x in fs(d, "PER-01") if x.reason == "notice_in_future"]
    assert [(x.outcome, x.values["notice"], x.observed) for x in warn] == [(Outcome.warned, "皖智网运〔2026〕001号", "2027-01-05")]
    assert warn[0].field == "notices[1].issued"
    assert d.verdict is Verdict.non_compliant


@pytest.mark.parametrize("issued, first", [("2026-11-26", False), (AS_OF.isoformat(), False), ("2026-11-28", True)])
def test_precheck_the_as_of_day_bounds_history(issued, first):
    d = precheck(_do8(issued))
    assert [f.reason for f in fs(d, "DOP-02")] == (["first_too_many"] if first else ["not_first"])


def test_review_a_do_notice_on_record_issued_after_as_of_is_not_history(sqlite_store, tmp_path):
    approved(sqlite_store, tmp_path, baseline(DA))  # DA notice, in force from 2026-12-01
    first_do = approved(sqlite_store, tmp_path, with_vehicles(do_without_notices(), 5), clock(2026, 12, 10))
    eight = with_(revin(with_vehicles(do_without_notices(), 8), 200), "application_id", "TEST-DO-EIGHT")
    # judged as of 2026-12-05: the DO notice of 2026-12-10 did not exist yet
    early = submit(sqlite_store, tmp_path, eight, clock(2026, 12, 5)).decision
    assert [(f.outcome, f.reason, f.observed) for f in fs(early, "DOP-02")] == [(Outcome.failed, "first_too_many", 8)]
    assert [x.values["notice"] for x in fs(early, "PER-01") if x.reason == "notice_in_future"] == [first_do["number"]]
    # judged after it was issued: not the first operation
    later = with_(eight, "application_id", "TEST-DO-EIGHT-2")
    d = submit(sqlite_store, tmp_path, later, clock(2026, 12, 12)).decision
    assert [(f.outcome, f.reason) for f in fs(d, "DOP-02")] == [(Outcome.not_applicable, "not_first")]


def test_the_evidence_reader_ignores_a_road_test_notice_issued_after_as_of(tmp_path):
    from evidence_builders import NOTICE_NO, T0, ev_app, run_check, trip, vehicle, write_trips

    H = 3600

    d = ev_app(sections=[SECTION])
    d["notices"][0]["issued"] = "2026-12-01"  # after the as-of date 2026-11-27
    vin = d["vehicles"][0]["vin"]
    write_trips(tmp_path / "trips.csv", [trip(vin, f"T{i}", T0.replace(year=2026, month=12) + dt.timedelta(days=i), 2 * H, 30_000)
                                         for i in range(3)])
    r = run_check(d, tmp_path, as_of=dt.date(2026, 11, 27))
    assert all(b.notice is None for b in r.decision.evidence.buckets)
    assert vehicle(r.decision, vin).counted.trips == 0
    assert NOTICE_NO in [x.values["notice"] for x in fs(r.decision, "PER-01") if x.reason == "notice_in_future"]
