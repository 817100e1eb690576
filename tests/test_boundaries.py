"""Every threshold of the anhui-2025 pack, just below / at / just above, through the engine.

Each test builds a compliant baseline (``tests/builders.py``), moves one value to a boundary and
looks at the outcome of one rule on one subject. Date boundaries are tested on both sides.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from builders import (
    AS_OF,
    DA,
    DO,
    PERIOD_END,
    PERIOD_START,
    RT,
    SECTION,
    baseline,
    copy_rules,
    edit_pack_yaml,
    entry,
    evaluate_dict,
    findings,
    make_credit_code,
    make_vin,
    outcome,
    policy,
    reasons,
    rule_outcome,
    with_,
    with_vehicles,
)

from icv_permits.adapters.packs import load_pack
from icv_permits.core.engine.decision import Outcome, Verdict

PASS, FAIL, WARN, MISSING = Outcome.passed, Outcome.failed, Outcome.warned, Outcome.missing
NA, NE = Outcome.not_applicable, Outcome.not_evaluated
VIN = make_vin(1)



# ---------------------------------------------------------------- the baselines


@pytest.mark.parametrize("activity", [RT, DA, DO])
def test_baseline_is_compliant(activity):
    d = evaluate_dict(baseline(activity))
    assert d.verdict is Verdict.compliant, [(f.rule_id, f.reason) for f in d.findings if f.outcome in (FAIL, MISSING)]
    assert d.counts["fail"] == d.counts["missing"] == d.counts["warn"] == d.counts["not_evaluated"] == 0


@pytest.mark.parametrize("activity", [RT, DA, DO])
def test_baseline_with_five_vehicles_is_compliant(activity):
    d = evaluate_dict(with_vehicles(baseline(activity), 5))
    assert d.verdict is Verdict.compliant


def test_with_returns_a_modified_copy():
    base = baseline(DA)
    changed = with_(base, "vehicles[0].modes.instant_manual_takeover", False)
    assert base["vehicles"][0]["modes"]["instant_manual_takeover"] is True
    assert changed["vehicles"][0]["modes"]["instant_manual_takeover"] is False
    d = evaluate_dict(changed)
    assert d.verdict is Verdict.non_compliant
    assert d.failing_rule_ids() == ["VEH-04"]
    assert reasons(d, "VEH-04", VIN) == ["no_instant_takeover"]


# ---------------------------------------------------------------- EVD-01 hours or kilometres


def evd(hours, km, **more):
    base = with_(baseline(DA), "vehicles[0].prior_testing[0].hours", hours, "vehicles[0].prior_testing[0].km", km)
    return evaluate_dict(base, **more)


@pytest.mark.parametrize(
    "hours, km, expected, reason",
    [
        ("239.99", "999.99", FAIL, "below"),
        (239.99, 999.99, FAIL, "below"),  # floats, as YAML gives them
        ("0", "0", FAIL, "below"),
        ("240", "0", PASS, "ok_hours"),
        (240, 0, PASS, "ok_hours"),
        ("240.01", "0", PASS, "ok_hours"),
        ("0", "1000", PASS, "ok_km"),
        ("0", "1000.01", PASS, "ok_km"),
        ("239.99", "1000", PASS, "ok_km"),  # either suffices
        ("240", "999.99", PASS, "ok_hours"),
        ("0", "999.99", FAIL, "below"),
    ],
)
def test_evd_01_hours_or_km(hours, km, expected, reason):
    d = evd(hours, km)
    assert outcome(d, "EVD-01", VIN) is expected
    assert reasons(d, "EVD-01", VIN) == [reason]


def test_evd_01_failure_says_what_is_missing():
    (f,) = findings(evd("239.99", "999.99"), "EVD-01", VIN)
    assert f.values["need_hours"] == "0.01"
    assert f.values["need_km"] == "0.01"
    assert f.values["hours"] == "239.99" and f.values["km"] == "999.99"
    assert f.threshold.value == 240 and f.threshold.comparison.value == "ge"


def test_evd_01_hours_on_a_section_not_applied_for_do_not_count():
    base = with_(
        baseline(DA),
        "vehicles[0].prior_testing",
        [
            {"section": SECTION, "hours": 100, "km": 100, "records_submitted": True},
            {"section": "HF-GX-002", "hours": 5000, "km": 50000, "records_submitted": True},
        ],
    )
    d = evaluate_dict(base)
    assert outcome(d, "EVD-01", VIN) is FAIL
    (f,) = findings(d, "EVD-01", VIN)
    assert f.values["hours"] == "100" and f.values["km"] == "100"
    # applying for the other section as well makes them count
    d2 = evaluate_dict(with_(base, "sections", [SECTION, "HF-GX-002"]))
    assert outcome(d2, "EVD-01", VIN) is PASS


@pytest.mark.parametrize("second, expected", [("120", PASS), ("119.99", FAIL), ("120.01", PASS)])
def test_evd_01_sums_the_sections_applied_for(second, expected):
    base = with_(
        baseline(DA),
        "sections",
        [SECTION, "HF-BH-A01"],
        "vehicles[0].prior_testing",
        [
            {"section": SECTION, "hours": "120", "km": "0", "records_submitted": True},
            {"section": "HF-BH-A01", "hours": second, "km": "0", "records_submitted": True},
        ],
    )
    assert rule_outcome(base, "EVD-01", VIN) is expected


def test_evd_rules_do_not_apply_to_a_renewal_backed_by_an_earlier_demonstration_notice():
    earlier = {"number": "皖示范〔2025〕001号", "kind": "demonstration_application", "issued": "2025-06-01",
               "valid_until": "2026-11-30", "vins": [VIN], "sections": [SECTION]}
    d = evaluate_dict(with_(baseline(DA), "modifiers.renewal", True, "vehicles[0].prior_testing", [], "notices", [earlier]))
    for rid in ("EVD-01", "EVD-02", "EVD-03", "EVD-04", "EVD-05"):
        assert rid in d.rules_not_applicable
    assert "renewal_verified" in d.conditions
    assert d.verdict is Verdict.compliant
    # a claimed renewal with nothing behind it is a first application (tests/test_engine_history.py)
    d = evaluate_dict(with_(baseline(DA), "modifiers.renewal", True, "vehicles[0].prior_testing", []))
    assert "EVD-01" not in d.rules_not_applicable and d.verdict is Verdict.non_compliant


# ---------------------------------------------------------------- EVD-02 / EVD-03 incidents


def incident(kind="violation", **kw):
    return {"kind": kind, "date": "2026-05-14", "vin": VIN, "section": SECTION, **kw}


@pytest.mark.parametrize(
    "incidents, expected",
    [
        ([], PASS),
        ([incident()], FAIL),
        ([incident(), incident(date="2026-06-01")], FAIL),
        ([incident(during_road_test=False)], PASS),
        ([incident(vin=make_vin(99))], PASS),
        ([incident("accident", liability="full")], PASS),  # an accident is not a violation
    ],
)
def test_evd_02_violations(incidents, expected):
    d = evaluate_dict(with_(baseline(DA), "incidents", incidents))
    assert outcome(d, "EVD-02", VIN) is expected
    (f,) = findings(d, "EVD-02", VIN)
    assert f.observed == sum(1 for i in incidents if i["kind"] == "violation" and i["vin"] == VIN and i.get("during_road_test", True))


@pytest.mark.parametrize(
    "liabilities, expected",
    [
        ([], PASS),
        (["none"], PASS),
        (["none", "none"], PASS),
        (["minor"], FAIL),
        (["equal"], FAIL),
        (["main"], FAIL),
        (["full"], FAIL),
        (["none", "minor"], FAIL),
        ([None], MISSING),
        (["full", None], MISSING),
    ],
)
def test_evd_03_responsible_accidents(liabilities, expected):
    incs = [incident("accident", date=f"2026-05-{10 + i}") | ({"liability": lia} if lia else {}) for i, lia in enumerate(liabilities)]
    d = evaluate_dict(with_(baseline(DA), "incidents", incs))
    assert outcome(d, "EVD-03", VIN) is expected
    if expected is MISSING:
        assert any(f.field == f"incidents[{liabilities.index(None)}].liability" for f in findings(d, "EVD-03", VIN))
    else:
        (f,) = findings(d, "EVD-03", VIN)
        counted = sum(1 for lia in liabilities if lia != "none")
        assert f.observed == counted
        assert f.values["not_counted"] == len(liabilities) - counted


# ---------------------------------------------------------------- INS-01 / INS-02 / INS-03


def liability_cover(*policies):
    base = baseline(DA)
    others = [p for p in base["insurance"] if p["kind"] != "liability"]
    return with_(base, "insurance", others + list(policies))


@pytest.mark.parametrize(
    "amount, expected, reason",
    [(4_999_999, FAIL, "amount_below"), (5_000_000, PASS, "ok"), (5_000_001, PASS, "ok"), (0, FAIL, "amount_below")],
)
@pytest.mark.parametrize("kind", ["liability", "guarantee_letter"])
def test_ins_02_amount(kind, amount, expected, reason):
    d = evaluate_dict(liability_cover(policy(kind, "P-1", [VIN], amount=amount)))
    assert outcome(d, "INS-02", VIN) is expected
    assert reasons(d, "INS-02", VIN) == [reason]
    if expected is FAIL:
        (f,) = findings(d, "INS-02", VIN)
        assert f.values["shortfall"] == 5_000_000 - amount


def test_ins_02_a_small_policy_plus_a_sufficient_guarantee_letter_passes():
    d = evaluate_dict(liability_cover(policy("liability", "P-1", [VIN], amount=4_999_999),
                                      policy("guarantee_letter", "G-1", [VIN], amount=5_000_000)))
    assert outcome(d, "INS-02", VIN) is PASS


def test_ins_02_no_cover_at_all_fails():
    d = evaluate_dict(liability_cover())
    assert reasons(d, "INS-02", VIN) == ["no_liability_cover"]


def test_ins_02_amount_not_given_is_missing():
    d = evaluate_dict(liability_cover(policy("liability", "P-1", [VIN])))
    assert outcome(d, "INS-02", VIN) is MISSING


@pytest.mark.parametrize(
    "spans, expected, gaps",
    [
        ([(PERIOD_START, PERIOD_END)], PASS, None),
        ([(PERIOD_START, "2027-11-29")], FAIL, ["2027-11-30~2027-11-30"]),  # ends the day before period end
        ([("2026-12-02", PERIOD_END)], FAIL, ["2026-12-01~2026-12-01"]),  # starts a day late
        ([("2026-11-01", "2027-12-31")], PASS, None),  # wider than the period
        ([(PERIOD_START, "2027-05-31"), ("2027-06-01", PERIOD_END)], PASS, None),  # back to back
        ([("2027-06-01", PERIOD_END), (PERIOD_START, "2027-05-31")], PASS, None),  # in any order
        ([(PERIOD_START, "2027-06-15"), ("2027-06-01", PERIOD_END)], PASS, None),  # overlapping
        ([(PERIOD_START, "2027-05-30"), ("2027-06-01", PERIOD_END)], FAIL, ["2027-05-31~2027-05-31"]),  # one-day hole
        ([(PERIOD_START, "2027-02-28"), ("2027-03-01", "2027-05-30"), ("2027-06-01", PERIOD_END)], FAIL,
         ["2027-05-31~2027-05-31"]),
    ],
)
def test_ins_02_coverage_of_the_period(spans, expected, gaps):
    pols = [policy("liability", f"P-{i}", [VIN], amount=5_000_000, start=a, end=b) for i, (a, b) in enumerate(spans)]
    d = evaluate_dict(liability_cover(*pols))
    assert outcome(d, "INS-02", VIN) is expected
    if gaps:
        (f,) = findings(d, "INS-02", VIN)
        assert f.reason == "liability_gap" and f.values["gaps"] == gaps


def test_ins_02_only_qualifying_policies_cover_the_period():
    d = evaluate_dict(liability_cover(
        policy("liability", "P-1", [VIN], amount=5_000_000, end="2027-05-31"),
        policy("liability", "P-2", [VIN], amount=4_999_999, start="2027-06-01"),
    ))
    assert reasons(d, "INS-02", VIN) == ["liability_gap"]


@pytest.mark.parametrize(
    "end, expected", [(PERIOD_END, PASS), ("2027-11-29", FAIL), ("2027-12-01", PASS)]
)
def test_ins_01_compulsory_cover_to_the_last_day(end, expected):
    base = baseline(RT)
    base["insurance"][0]["valid_to"] = end
    assert rule_outcome(base, "INS-01", VIN) is expected


def test_ins_03_applies_only_when_carrying_passengers():
    d = evaluate_dict(with_(baseline(DA), "operations.carries_passengers", False))
    assert "INS-03" in d.rules_not_applicable
    d = evaluate_dict(with_(baseline(DA), "insurance", [p for p in baseline(DA)["insurance"] if p["kind"] != "seat"]))
    assert reasons(d, "INS-03", VIN) == ["no_seat_cover"]


# ---------------------------------------------------------------- parameters unset in the shipped pack


@pytest.fixture(scope="module")
def pack_with_amounts(tmp_path_factory):
    """anhui-2025 with driver.min_training_hours = 50 and insurance.min_per_seat_yuan = 100000."""
    rules = copy_rules(tmp_path_factory.mktemp("amounts"))

    def set_values(data):
        entry(data["parameters"], "id", "driver.min_training_hours")["values"][0]["value"] = 50
        entry(data["parameters"], "id", "insurance.min_per_seat_yuan")["values"][0]["value"] = 100_000

    edit_pack_yaml(rules / "national-2021" / "parameters.yaml", set_values)
    return load_pack(str(rules / "anhui-2025"))


@pytest.mark.parametrize("hours, expected", [("49.99", FAIL), ("50", PASS), ("50.01", PASS), (None, MISSING)])
def test_drv_07_training_hours_when_a_pack_sets_them(pack_with_amounts, hours, expected):
    base = with_(baseline(DA), "drivers[0].training.hours", hours)
    d = evaluate_dict(base, pack_=pack_with_amounts)
    assert outcome(d, "DRV-07", "D1") is expected
    if expected is FAIL:
        assert reasons(d, "DRV-07", "D1") == ["too_few_hours"]


def test_drv_07_hours_are_not_checked_when_the_pack_sets_none():
    assert rule_outcome(with_(baseline(DA), "drivers[0].training.hours", 1), "DRV-07", "D1") is PASS
    assert rule_outcome(with_(baseline(DA), "drivers[0].training.hours", None), "DRV-07", "D1") is PASS


@pytest.mark.parametrize("per_seat, expected", [(99_999, FAIL), (100_000, PASS), (100_001, PASS), (None, MISSING)])
def test_ins_03_per_seat_amount_when_a_pack_sets_it(pack_with_amounts, per_seat, expected):
    base = baseline(DA)
    seat = next(p for p in base["insurance"] if p["kind"] == "seat")
    seat.pop("per_seat_yuan")
    if per_seat is not None:
        seat["per_seat_yuan"] = per_seat
    d = evaluate_dict(base, pack_=pack_with_amounts)
    assert outcome(d, "INS-03", VIN) is expected


# ---------------------------------------------------------------- DOP-01 / DOP-02 / ENT-08 (operation)


@pytest.mark.parametrize("n, expected", [(1, PASS), (4, PASS), (5, PASS), (6, FAIL)])
def test_dop_02_first_operation_vehicles(n, expected):
    d = evaluate_dict(with_vehicles(baseline(DO), n))
    assert outcome(d, "DOP-02") is expected
    (f,) = findings(d, "DOP-02")
    assert f.observed == n
    if expected is FAIL:
        assert f.reason == "first_too_many"


DO_NOTICE = {"number": "皖智网运〔2026〕001号", "kind": DO, "issuer_province": "anhui",
             "issued": "2025-05-01", "valid_until": "2026-10-31"}


@pytest.mark.parametrize("n", [5, 6, 12])
def test_dop_02_not_the_first_operation_is_not_applicable(n):
    base = with_vehicles(baseline(DO), n)
    base["notices"].append(dict(DO_NOTICE))  # expired, but it is history
    d = evaluate_dict(base)
    assert outcome(d, "DOP-02") is NA
    assert reasons(d, "DOP-02") == ["not_first"]


def test_dop_02_an_operation_notice_of_another_province_does_not_make_it_not_first():
    base = with_vehicles(baseline(DO), 6)
    base["notices"].append(DO_NOTICE | {"issuer_province": "jiangsu"})
    assert rule_outcome(base, "DOP-02") is FAIL


@pytest.mark.parametrize(
    "change, expected, reason",
    [
        ({}, PASS, "ok"),
        ({"valid_until": AS_OF.isoformat()}, PASS, "ok"),  # valid through the as-of day
        ({"valid_until": "2026-11-26"}, FAIL, "no_da_notice"),
        ({"issued": "2026-11-28"}, FAIL, "no_da_notice"),
        ({"issuer_province": "shanghai"}, FAIL, "no_da_notice"),
        ({"kind": RT}, FAIL, "no_da_notice"),
        ({"sections": ["HF-GX-002"]}, PASS, "ok"),  # the sections are DOP-01a's (inferred, switchable)
    ],
)
def test_dop_01_valid_anhui_da_notice(change, expected, reason):
    base = baseline(DO)
    base["notices"][0].update(change)
    d = evaluate_dict(base)
    assert outcome(d, "DOP-01") is expected
    assert reasons(d, "DOP-01") == [reason]


@pytest.mark.parametrize(
    "change, expected, reason",
    [
        ({}, PASS, "ok"),
        ({"sections": ["HF-GX-002"]}, FAIL, "sections_not_covered"),
        ({"valid_until": "2026-11-26"}, NA, "judged_by_dop_01"),  # no DA notice: DOP-01 fails, not this
    ],
)
def test_dop_01a_the_da_notice_covers_the_sections(change, expected, reason):
    base = baseline(DO)
    base["notices"][0].update(change)
    d = evaluate_dict(base)
    assert outcome(d, "DOP-01a") is expected
    assert reasons(d, "DOP-01a") == [reason]


@pytest.mark.parametrize("valid_until, expected", [(PERIOD_END, PASS), ("2027-11-29", FAIL), ("2027-12-01", PASS)])
def test_ent_08_qualification_covers_the_period(valid_until, expected):
    d = evaluate_dict(with_(baseline(DO), "entity.operating_qualification.valid_until", valid_until))
    assert outcome(d, "ENT-08") is expected


# ---------------------------------------------------------------- SCO-02 / SCO-03 period


# The period covers its first and its last day (as notices and plates do): N months from 2026-12-01
# end on 2028-05-31 at the latest, i.e. start + N months − 1 day (month ends clamped by pendulum).
@pytest.mark.parametrize(
    "start, end, expected",
    [
        ("2026-12-01", "2028-05-31", PASS),  # exactly 18 months, end day included
        ("2026-12-01", "2028-06-01", FAIL),  # one day more
        ("2026-12-01", "2028-05-30", PASS),  # one day less
        ("2026-09-01", "2028-02-29", PASS),  # to the end of a leap February
        ("2026-09-01", "2028-03-01", FAIL),
        # no corresponding day (2028-02-31): the span ends on the month's last day (Civil Code Art. 202)
        ("2026-08-31", "2028-02-28", PASS),
        ("2026-08-31", "2028-02-29", PASS),
        ("2026-08-31", "2028-03-01", FAIL),
        ("2027-03-31", "2028-09-29", PASS),  # 2028-09-31 does not exist: the last day is 2028-09-30
        ("2027-03-31", "2028-09-30", PASS),
        ("2027-03-31", "2028-10-01", FAIL),
        ("2026-08-28", "2028-02-27", PASS),  # 2028-02-28 exists: the day before it
        ("2026-08-28", "2028-02-28", FAIL),
    ],
)
def test_sco_02_period_at_most_18_months(start, end, expected):
    base = with_(baseline(DA), "application_date", "2026-08-01", "period", {"start": start, "end": end})
    d = evaluate_dict(base)
    assert outcome(d, "SCO-02") is expected
    (f,) = findings(d, "SCO-02")
    if expected is FAIL:
        assert f.reason == "too_long"
    latest = {"2026-12-01": "2028-05-31", "2026-09-01": "2028-02-29", "2026-08-31": "2028-02-29", "2027-03-31": "2028-09-30",
              "2026-08-28": "2028-02-27"}[start]
    assert f.values["latest_end"] == latest


@pytest.mark.parametrize(
    "application_date, start, end, expected, why",
    [
        ("2026-11-20", "2026-12-01", "2026-12-01", FAIL, ["ends_before_start"]),  # end == start
        ("2026-11-20", "2026-12-01", "2026-11-30", FAIL, ["ends_before_start"]),
        ("2026-11-20", "2026-12-01", "2026-12-02", PASS, ["ok"]),
        ("2026-12-01", "2026-12-01", "2027-11-30", PASS, ["ok"]),  # starts on the application date
        ("2026-12-02", "2026-12-01", "2027-11-30", FAIL, ["starts_before_application"]),
        ("2026-12-02", "2026-12-01", "2026-12-01", FAIL, ["ends_before_start", "starts_before_application"]),
    ],
)
def test_sco_03_period_well_formed(application_date, start, end, expected, why):
    base = with_(baseline(RT), "application_date", application_date, "period", {"start": start, "end": end})
    d = evaluate_dict(base)
    assert outcome(d, "SCO-03") is expected
    assert reasons(d, "SCO-03") == why


@pytest.mark.parametrize(
    "start, end, months, days",
    [
        ("2026-12-01", "2028-05-31", 18, 0),  # the end day counts
        ("2026-12-01", "2028-06-01", 18, 1),
        ("2026-12-02", "2028-04-30", 16, 29),
        pytest.param("2026-12-02", "2028-05-31", 17, 30),
        pytest.param("2027-01-02", "2028-05-31", 16, 30),
        pytest.param("2026-11-02", "2028-05-31", 18, 30),
    ],
)
def test_sco_02_reports_months_and_days(start, end, months, days):
    (f,) = findings(evaluate_dict(with_(baseline(DA), "period", {"start": start, "end": end})), "SCO-02")
    assert (f.values["months"], f.values["days"]) == (months, days)


def test_sco_02_does_not_judge_a_reversed_period():
    d = evaluate_dict(with_(baseline(RT), "period", {"start": "2026-12-01", "end": "2026-11-30"}))
    assert findings(d, "SCO-02") == []
    assert outcome(d, "SCO-03") is FAIL


# ---------------------------------------------------------------- drivers: DRV-02 / DRV-03 / DRV-04


@pytest.mark.parametrize(
    "first_issued, as_of, expected, years",
    [
        ("2023-11-27", AS_OF, PASS, 3),  # exactly 3 years before the as-of date
        pytest.param("2023-11-28", AS_OF, FAIL, 2),  # one day less
        ("2023-11-26", AS_OF, PASS, 3),  # one day more
        ("2026-11-27", AS_OF, FAIL, 0),
        # the same three in a 31-day month, where pendulum counts right
        ("2023-12-27", date(2026, 12, 27), PASS, 3),
        ("2023-12-28", date(2026, 12, 27), FAIL, 2),
        ("2023-12-26", date(2026, 12, 27), PASS, 3),
    ],
)
def test_drv_02_years_of_driving(first_issued, as_of, expected, years):
    d = evaluate_dict(with_(baseline(DA), "drivers[0].licence.first_issued", first_issued), as_of=as_of)
    assert outcome(d, "DRV-02", "D1") is expected
    (f,) = findings(d, "DRV-02", "D1")
    assert f.observed == years
    if expected is FAIL:
        assert f.reason == "too_few_years"
        y, m, dd = map(int, first_issued.split("-"))
        assert f.values["eligible_from"] == date(y + 3, m, dd).isoformat()


def test_drv_02_passes_on_the_eligible_from_date_it_reports():
    base = with_(baseline(DA), "drivers[0].licence.first_issued", "2023-12-28")
    (f,) = findings(evaluate_dict(base, as_of=date(2026, 12, 27)), "DRV-02", "D1")
    eligible = date.fromisoformat(f.values["eligible_from"])
    assert eligible == date(2026, 12, 28)
    assert rule_outcome(base, "DRV-02", "D1", as_of=eligible) is PASS


def test_drv_02_one_day_short_fails_on_every_day_of_a_year():
    """A licence first issued 3 years before the as-of date, plus one day, is one day short — every day of 2026."""
    wrong = []
    day = date(2026, 1, 1)
    while day.year == 2026:
        issued = date(2023, day.month, day.day) if (day.month, day.day) != (2, 29) else None
        if issued is not None:
            first = issued + timedelta(days=1)
            d = evaluate_dict(with_(baseline(DA), "drivers[0].licence.first_issued", first.isoformat()), as_of=day)
            if outcome(d, "DRV-02", "D1") is not FAIL:
                wrong.append(f"{first}@{day}")
        day += timedelta(days=1)
    assert wrong == []


def test_drv_02_leap_day_licence_passes_on_its_eligible_from_date():
    base = with_(baseline(DA), "drivers[0].licence.first_issued", "2020-02-29")
    (f,) = findings(evaluate_dict(base, as_of=date(2023, 2, 27)), "DRV-02", "D1")
    assert f.reason == "too_few_years"
    eligible = date.fromisoformat(f.values["eligible_from"])  # 2023-02-28
    assert rule_outcome(base, "DRV-02", "D1", as_of=eligible) is PASS


def test_drv_02_licence_in_the_future():
    d = evaluate_dict(with_(baseline(DA), "drivers[0].licence.first_issued", "2026-11-28"))
    assert reasons(d, "DRV-02", "D1") == ["licence_in_future"]


@pytest.mark.parametrize(
    "vehicle_type, classes, expected",
    [
        ("small_car", ["C1"], PASS),
        ("small_car", ["C2"], FAIL),
        ("small_car_automatic", ["C2"], PASS),
        ("large_bus", ["C1"], FAIL),
        ("large_bus", ["A1"], PASS),
        ("small_car", ["A1"], PASS),
        ("city_bus", ["A1"], PASS),
        ("tractor", ["A2"], PASS),
        ("tractor", ["A1"], FAIL),
        ("medium_bus", ["B1"], PASS),
        ("heavy_truck", ["B2"], PASS),
        ("heavy_truck", ["B1"], FAIL),
        ("light_truck", ["B2"], PASS),
        ("special_heavy", ["C1"], FAIL),
    ],
)
def test_drv_02_licence_class_covers_the_vehicle(vehicle_type, classes, expected):
    base = with_(baseline(DA), "vehicles[0].vehicle_type", vehicle_type, "drivers[0].licence.classes", classes)
    assert rule_outcome(base, "DRV-02", "D1") is expected


@pytest.mark.parametrize(
    "first_issued, full_score, expected, window_start",
    [
        # licence 2012-06-18: the current cycle began 2026-06-18, the window on 2024-06-18
        ("2012-06-18", "2024-06-18", FAIL, "2024-06-18"),
        ("2012-06-18", "2024-06-17", PASS, "2024-06-18"),
        ("2012-06-18", "2026-11-27", FAIL, "2024-06-18"),
        ("2012-06-18", "2026-11-28", PASS, "2024-06-18"),  # after the as-of date
        # as-of date on the licence anniversary: a new cycle begins that day
        ("2012-11-27", "2024-11-27", FAIL, "2024-11-27"),
        ("2012-11-27", "2024-11-26", PASS, "2024-11-27"),
        # the day after the as-of date is the anniversary: the current cycle began a year before
        pytest.param("2012-11-28", "2023-11-28", FAIL, "2023-11-28"),
        pytest.param("2012-11-28", "2023-11-27", PASS, "2023-11-28"),
        # the same in a 31-day month (as of 2026-12-27)
        ("2012-12-28", "2023-12-28", FAIL, "2023-12-28"),
        ("2012-12-28", "2023-12-27", PASS, "2023-12-28"),
    ],
)
def test_drv_03_three_scoring_cycles(first_issued, full_score, expected, window_start):
    base = with_(baseline(DA), "drivers[0].licence.first_issued", first_issued, "drivers[0].full_score_dates", [full_score])
    as_of = date(2026, 12, 27) if first_issued.startswith("2012-12") else AS_OF
    d = evaluate_dict(base, as_of=as_of)
    assert outcome(d, "DRV-03", "D1") is expected
    (f,) = findings(d, "DRV-03", "D1")
    assert f.values["window_start"] == window_start


def test_drv_03_leap_day_licence_window_starts_on_the_leap_anniversary():
    # cycles of a licence first issued 2016-02-29, as of 2026-11-27: 2026-02-28…, 2025-02-28…, 2024-02-29…
    base = with_(baseline(DA), "drivers[0].licence.first_issued", "2016-02-29", "drivers[0].full_score_dates", ["2024-02-28"])
    d = evaluate_dict(base)
    (f,) = findings(d, "DRV-03", "D1")
    assert f.values["window_start"] == "2024-02-29"
    assert f.outcome is PASS


def test_drv_03_without_dates_is_missing():
    assert rule_outcome(with_(baseline(DA), "drivers[0].full_score_dates", None), "DRV-03", "D1") is MISSING


@pytest.mark.parametrize(
    "when, serious, expected",
    [
        ("2025-11-27", True, PASS),  # exactly one year before: outside (since < date)
        ("2025-11-28", True, FAIL),  # the day after: inside
        ("2026-11-27", True, FAIL),  # on the as-of date
        ("2026-11-28", True, PASS),  # after the as-of date
        ("2026-06-01", False, PASS),  # not serious
    ],
)
def test_drv_04_one_year_window(when, serious, expected):
    base = with_(baseline(DA), "drivers[0].serious_violations", [{"date": when, "kind": "闯红灯", "serious": serious}])
    d = evaluate_dict(base)
    assert outcome(d, "DRV-04", "D1") is expected
    for f in findings(d, "DRV-04", "D1"):
        assert f.values["since"] == "2025-11-27"


# ---------------------------------------------------------------- vehicles: VEH-01 / VEH-06 / VEH-08


@pytest.mark.parametrize(
    "category, expected, reason",
    [
        ("passenger", PASS, "ok"),
        ("commercial", PASS, "ok"),
        ("special_operation", PASS, "ok"),
        ("low_speed", FAIL, "excluded_category"),
        ("motorcycle", FAIL, "excluded_category"),
    ],
)
@pytest.mark.parametrize("activity", [RT, DA, DO])
def test_veh_01_every_category(activity, category, expected, reason):
    d = evaluate_dict(with_(baseline(activity), "vehicles[0].category", category))
    assert outcome(d, "VEH-01", VIN) is expected
    assert reasons(d, "VEH-01", VIN) == [reason]


@pytest.mark.parametrize("seconds, expected", [(89, FAIL), ("89.99", FAIL), (90, PASS), (91, PASS), (0, FAIL), (None, MISSING)])
def test_veh_06_pre_event_seconds(seconds, expected):
    d = evaluate_dict(with_(baseline(RT), "vehicles[0].data_recording.pre_event_seconds", seconds))
    fs = [f for f in findings(d, "VEH-06", VIN) if f.field.endswith("pre_event_seconds")]
    assert [f.outcome for f in fs] == [expected]
    if expected is FAIL:
        assert fs[0].reason == "pre_event_too_short"


@pytest.mark.parametrize("months, expected", [(11, FAIL), (12, PASS), (13, PASS), (None, MISSING)])
def test_veh_06_retention_months(months, expected):
    d = evaluate_dict(with_(baseline(RT), "vehicles[0].data_recording.retention_months", months))
    fs = [f for f in findings(d, "VEH-06", VIN) if f.field.endswith("retention_months")]
    assert [f.outcome for f in fs] == [expected]


@pytest.mark.parametrize(
    "activity, marking, expected",
    [
        (RT, "自动驾驶道路测试", PASS),
        (RT, "自动驾驶 道路测试", PASS),  # spaces are ignored
        (RT, "自动驾驶示范应用", FAIL),
        (DA, "自动驾驶示范应用", PASS),
        (DA, "自动驾驶道路测试", FAIL),
        (DO, "自动驾驶示范应用", PASS),
        (DO, "自动驾驶示范运营", PASS),  # anhui-2025 lists both texts for operation (no marking seen)
        (DO, "自动驾驶道路测试", FAIL),
        (DA, None, MISSING),
    ],
)
def test_veh_08_body_marking(activity, marking, expected):
    assert rule_outcome(with_(baseline(activity), "vehicles[0].body_marking", marking), "VEH-08", VIN) is expected


# ---------------------------------------------------------------- ENT-02 / ENT-07 entity


@pytest.mark.parametrize(
    "scopes, expected",
    [
        (["icv_manufacturing"], PASS),
        (["parts_manufacturing"], PASS),
        (["technology_rd"], PASS),
        (["testing_inspection"], PASS),
        (["transport_operation"], FAIL),
        (["other"], FAIL),
        (["other", "testing_inspection"], PASS),
        ([], FAIL),
        (None, MISSING),
    ],
)
def test_ent_02_business_scopes(scopes, expected):
    assert rule_outcome(with_(baseline(RT), "entity.business_scopes", scopes), "ENT-02") is expected


def consortium(operators: int, members: int = 3):
    return {
        "members": [
            {"name": f"成员{i}", "credit_code": make_credit_code(100 + i), "operating_service_capability": i < operators}
            for i in range(max(members, operators, 1))
        ],
        "operating_services_agreement": True,
        "tort_liability_agreement": True,
    }


@pytest.mark.parametrize("operators, expected", [(0, FAIL), (1, PASS), (2, PASS)])
@pytest.mark.parametrize("activity", [DA, DO])
def test_ent_07_consortium_operators(activity, operators, expected):
    d = evaluate_dict(with_(baseline(activity), "entity.consortium", consortium(operators)))
    assert outcome(d, "ENT-07") is expected
    (f,) = [f for f in findings(d, "ENT-07") if f.reason in ("ok", "too_few_operators")]
    assert f.observed == operators
    assert f.threshold.value == 1


def test_ent_07_single_entity_is_not_applicable_and_rt_is_out_of_scope():
    assert rule_outcome(baseline(DA), "ENT-07") is NA
    d = evaluate_dict(with_(baseline(RT), "entity.consortium", consortium(0)))
    assert "ENT-07" in d.rules_not_applicable


# ---------------------------------------------------------------- OPS-03 seats and load


@pytest.mark.parametrize("people, expected", [(4, PASS), (5, PASS), (6, FAIL), (0, PASS)])
def test_ops_03_seats(people, expected):
    d = evaluate_dict(with_(baseline(DA), "operations.max_people_per_vehicle", people))
    assert outcome(d, "OPS-03", VIN) is expected
    if expected is FAIL:
        (f,) = findings(d, "OPS-03", VIN)
        assert f.reason == "over_seats" and f.values["excess"] == 1


@pytest.mark.parametrize("load, expected", [(499, PASS), (500, PASS), (501, FAIL)])
def test_ops_03_load(load, expected):
    base = with_(baseline(DA), "operations.carries_goods", True, "operations.max_load_kg_per_vehicle", load,
                 "vehicles[0].approved_load_kg", 500)
    assert rule_outcome(base, "OPS-03", VIN) is expected


# ---------------------------------------------------------------- PER-01 / PER-02 notices and plates (advisory)


RT_NOTICE = {"number": "皖智网测〔2025〕012号", "kind": RT, "issuer_province": "anhui", "issued": "2025-06-10",
             "valid_until": "2026-12-09", "sections": [SECTION]}


@pytest.mark.parametrize(
    "valid_until, province, expected",
    [
        ("2026-12-09", "anhui", PASS),  # 18 months from 2025-06-10, both ends included
        ("2026-12-10", "anhui", WARN),  # one day more
        ("2026-12-08", "anhui", PASS),
        ("2027-12-31", "jiangsu", PASS),  # other provinces' notices are not judged
    ],
)
def test_per_01_notice_validity_is_advisory(valid_until, province, expected):
    base = with_(baseline(DA), "notices", [RT_NOTICE | {"valid_until": valid_until, "issuer_province": province}])
    d = evaluate_dict(base)
    assert outcome(d, "PER-01") is expected
    assert d.verdict is Verdict.compliant  # an advisory rule never changes the verdict
    if expected is WARN:
        (f,) = findings(d, "PER-01")
        assert f.reason == "notice_too_long" and f.values["latest"] == "2026-12-09"
        assert d.counts["warn"] == 1


def test_per_01_without_history_is_not_applicable():
    assert rule_outcome(baseline(DA), "PER-01") is NA


@pytest.mark.parametrize(
    "plates_valid_until, notice_valid_until, expected, why",
    [
        ("2026-12-09", "2027-06-01", PASS, ["ok"]),  # 6 months from 2026-06-10, both ends included
        ("2026-12-10", "2027-06-01", WARN, ["plates_too_long"]),
        ("2026-12-08", "2027-06-01", PASS, ["ok"]),
        ("2026-12-05", "2026-12-05", PASS, ["ok"]),  # plates end with the notice
        ("2026-12-06", "2026-12-05", WARN, ["plates_past_notice"]),  # plates past the notice
        ("2026-12-11", "2026-12-05", WARN, ["plates_past_notice", "plates_too_long"]),
    ],
)
def test_per_02_plate_validity_is_advisory(plates_valid_until, notice_valid_until, expected, why):
    notice = RT_NOTICE | {"issued": "2026-06-01", "valid_until": notice_valid_until,
                          "plates_issued": "2026-06-10", "plates_valid_until": plates_valid_until}
    d = evaluate_dict(with_(baseline(DA), "notices", [notice]))
    assert outcome(d, "PER-02") is expected
    assert reasons(d, "PER-02") == why
    assert d.verdict is Verdict.compliant


# ---------------------------------------------------------------- YRD-01 recognised provinces


@pytest.mark.parametrize(
    "province, expected",
    [("shanghai", PASS), ("jiangsu", PASS), ("zhejiang", PASS), ("anhui", FAIL), ("other", FAIL)],
)
def test_yrd_01_recognised_provinces(province, expected):
    notice = RT_NOTICE | {"issuer_province": province, "issued": "2026-06-01", "valid_until": "2027-11-30",
                          "plates_issued": "2026-06-01", "plates_valid_until": "2026-11-30"}
    base = with_(baseline(RT), "modifiers.yrd_recognition", True, "notices", [notice],
                 "materials.yrd_notice_and_plates", True)
    d = evaluate_dict(base)
    assert outcome(d, "YRD-01") is expected
    if expected is FAIL:
        assert reasons(d, "YRD-01") == ["no_yrd_plates"]


@pytest.mark.parametrize("plates_valid_until, expected", [("2026-11-27", PASS), ("2026-11-26", FAIL)])
def test_yrd_01_plates_valid_on_the_as_of_date(plates_valid_until, expected):
    notice = RT_NOTICE | {"issuer_province": "shanghai", "issued": "2026-06-01", "valid_until": "2027-11-30",
                          "plates_issued": "2026-06-01", "plates_valid_until": plates_valid_until}
    base = with_(baseline(RT), "modifiers.yrd_recognition", True, "notices", [notice])
    assert rule_outcome(base, "YRD-01") is expected


# ---------------------------------------------------------------- parameters over time


@pytest.mark.parametrize(
    "as_of, source, effective",
    [
        (date(2025, 4, 7), "NAT-2021", "2021-09-01"),  # the day before Anhui's rules are known in force
        (date(2025, 4, 8), "AH-2025", "2025-04-08"),
        (AS_OF, "AH-2025", "2025-04-08"),
        (date(2021, 9, 1), "NAT-2021", "2021-09-01"),
    ],
)
def test_evd_01_threshold_cites_the_value_in_force(as_of, source, effective):
    d = evaluate_dict(baseline(DA), as_of=as_of)
    (f,) = findings(d, "EVD-01", VIN)
    assert f.outcome is PASS
    assert f.threshold.source == source
    assert f.threshold.effective_from == effective
    assert f.threshold.value == 240
    (v,) = findings(d, "VEH-01", VIN)
    assert v.threshold.source == source


def test_a_parameter_not_yet_in_force_gives_not_evaluated():
    d = evaluate_dict(baseline(DA), as_of=date(2021, 8, 31))
    (f,) = findings(d, "EVD-01")
    assert f.outcome is NE and f.reason == "param_not_in_force"
    assert f.values["params"] == ["evidence.min_hours", "evidence.min_km", "evidence.counted_modes", "evidence.sections_applied_for_only",
                                  "evidence.road_test_notice_required", "evidence.max_average_speed_kmh"]
    assert f.values["as_of"] == "2021-08-31"


def test_plate_parameter_effective_2022_05_01():
    notice = RT_NOTICE | {"issued": "2020-06-01", "valid_until": "2021-12-01",
                          "plates_issued": "2020-06-10", "plates_valid_until": "2020-12-09"}
    base = with_(baseline(DA), "notices", [notice])
    d = evaluate_dict(base, as_of=date(2020, 1, 1))
    assert outcome(d, "PER-02") is NE
    (f,) = findings(d, "PER-02")
    assert f.values["params"] == ["plate.max_validity_months"]
    assert outcome(evaluate_dict(base, as_of=date(2022, 4, 30)), "PER-02") is NE
    assert outcome(evaluate_dict(base, as_of=date(2022, 5, 1)), "PER-02") is PASS


@pytest.mark.parametrize("as_of, expected", [(date(2025, 4, 7), NE), (date(2025, 4, 8), PASS)])
def test_anhui_only_parameter_before_its_effective_date(as_of, expected):
    d = evaluate_dict(baseline(DO), as_of=as_of)
    assert outcome(d, "DOP-02") is expected
    assert outcome(d, "MAT-03") is expected


# ---------------------------------------------------------------- extreme dates (schema-valid input)


def test_policy_ending_on_the_period_end_leaves_no_gap():
    base = baseline(DA)
    end = base["period"]["end"]
    for p in base["insurance"]:
        p["valid_to"] = end
    assert evaluate_dict(base).verdict is Verdict.compliant


@pytest.mark.parametrize(
    "path, value",
    [
        ("insurance[0].valid_to", "9999-12-31"),
        ("period.end", "9999-12-31"),
        ("period.start", "1899-12-31"),
        ("notices[0].issued", "2200-01-01"),
    ],
)
def test_dates_outside_the_accepted_years_are_bad_input(path, value):
    """Years outside 1900–2199 are typing mistakes: refused with the field named, never a crash."""
    from icv_permits.core.errors import InputError
    from icv_permits.services.precheck import parse_application

    base = with_(baseline(DA), "notices", [RT_NOTICE]) if path.startswith("notices") else baseline(DA)
    with pytest.raises(InputError) as exc:
        parse_application(with_(base, path, value))
    assert any(p.location == path for p in exc.value.problems), exc.value.render("en")
    assert "1900" in exc.value.render("en") and "2199" in exc.value.render("zh")
