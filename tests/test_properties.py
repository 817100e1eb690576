"""Properties of the engine and the renderers over generated, schema-valid applications (hypothesis).

The strategy ``applications()`` builds application dicts the schema accepts: any activity and
modifiers, 1–6 vehicles and 1–5 drivers, every category and vehicle type, facts that may be
missing (None), prior testing as 2-place decimals, insurance amounts around the 5,000,000 yuan
threshold and date ranges, incidents, sections from the register and unknown ones, periods,
notices, and identifiers that are sometimes invalid. Dates stay between 2000 and 2035 (the extreme
calendar dates are in ``test_boundaries.py``).
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from decimal import Decimal
from itertools import product

import rfc8785
from builders import (
    AS_OF,
    DA,
    DO,
    SECTION,
    baseline,
    evaluate_dict,
    findings,
    make_vin,
    to_app,
    with_vehicles,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icv_permits.adapters.packs import load_pack
from icv_permits.core.engine import evaluate
from icv_permits.core.engine.decision import Outcome, Verdict
from icv_permits.core.model.application import (
    Activity,
    BusinessScope,
    Contract,
    DataItem,
    IncidentKind,
    InsuranceKind,
    Liability,
    Material,
    NoticeKind,
    Province,
    VehicleCategory,
    VehicleType,
)
from icv_permits.core.model.ids import (
    resident_id_check_char,
    uscc_check_char,
    vin_check_digit,
)
from icv_permits.present.report import (
    message,
    render_json,
    render_markdown,
    render_text,
)

PACK = load_pack("anhui-2025")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

REGISTER = sorted(PACK.sections)
UNKNOWN_SECTIONS = ["XX-000", "HF-GX-999", "SH-PD-001"]
ALL_SECTIONS = REGISTER + UNKNOWN_SECTIONS

# Generation is kept cheap (the whole file runs in about half a minute): free text is drawn from a
# list (it never holds braces, so a leftover "{" in a rendered message can only come from a
# template), and sub-objects whose fields vary together are drawn whole from lists of variants.
TEXT = st.sampled_from(["王磊", "陈静", "测试车辆 A", "Robotaxi R3", "闯红灯", "x", "合肥某科技有限公司", "Hefei (test) Co."])


def iso(d: date) -> str:
    return d.isoformat()


def days_between(lo: date, hi: date):
    return st.integers(0, (hi - lo).days).map(lambda n: lo + timedelta(days=n))


DATES = days_between(date(2000, 1, 1), date(2035, 12, 31))
NEAR = days_between(date(2024, 1, 1), date(2029, 12, 31))


def maybe(strategy):
    return st.none() | strategy


opt_bool = st.sampled_from([True, False, None])
decimals = st.integers(0, 200_000).map(lambda n: Decimal(n).scaleb(-2))  # 0.00 … 2000.00
boundary_decimals = st.sampled_from([Decimal("239.99"), Decimal("240"), Decimal("240.01"), Decimal("999.99"),
                                     Decimal("1000"), Decimal("0")])
TRI = (True, False, None)


def variants(keys, *choices):
    return [dict(zip(keys, combo, strict=True)) for combo in product(*choices)]


MODES = [None] + variants(("manual", "autonomous", "switch_prompt", "instant_manual_takeover"), TRI, TRI, TRI, TRI)
UPLOADS = [None, [], [x.value for x in DataItem], [x.value for x in DataItem][:3], ["position", "control_mode"]]
RECORDING = [None] + variants(
    ("records_state", "online_monitoring", "realtime_upload", "pre_event_seconds", "retention_months"),
    TRI, TRI, UPLOADS, (None, Decimal(89), Decimal(90), Decimal(91), Decimal("120.5")), (None, Decimal(11), Decimal(12), Decimal(13)),
)
INSPECTION = [None, {"passed_except_durability": None}] + variants(
    ("passed_except_durability", "items_not_met_due_to_ad"),
    (True, False),
    ([], [{"item": "制动", "safety_proof": True}], [{"item": "转向", "safety_proof": False}, {"item": "灯光", "safety_proof": True}]),
)
TEST_ZONE = [None] + variants(("tested", "third_party_inspection_passed", "report_number"), TRI, TRI, (None, "AHTC-1"))
TRAINING = [None] + variants(("certified", "covers_plan", "covers_emergency", "hours"), TRI, TRI, TRI,
                             (None, Decimal("49.99"), Decimal(50), Decimal(60)))
CLASSES = [["C1"], ["C2"], ["A1"], ["A2"], ["B1"], ["B2"], ["A3"], ["C1", "D"], ["A1", "A2"], ["M"], ["B2", "C1"]]
MARKINGS = [None, "自动驾驶道路测试", "自动驾驶示范应用", "自动驾驶 示范应用", "测试车"]
CAPABILITIES = variants(("test_evaluation_procedure", "remote_monitoring", "event_recording", "cybersecurity"), TRI, TRI, TRI, TRI)
OPERATIONS = variants(
    ("carries_passengers", "carries_goods", "passengers_are_test_staff_only", "goods_are_ballast_only", "fee_charged"),
    (True, False), (True, False), TRI, TRI, (True, False),
)
PROHIBITIONS = variants(
    ("dangerous_goods", "unlicensed_transport_business", "brake_tests_on_public_roads", "risk_notice_to_riders",
     "autonomous_only_on_declared_sections"),
    (False, None, True), (False, None, True), (False, None, True), (True, None, False), (True, None, False),
)
MODIFIERS = variants(("highway", "night", "adding_vehicles", "yrd_recognition", "renewal"), *[(False, True)] * 5)
LIABILITIES = [x.value for x in Liability]

# ---------------------------------------------------------------- identifiers


phones = st.integers(min_value=10**9, max_value=10**10 - 1).map(lambda n: f"1{n}")
# Strategies are built once here, not inside the composites: building them per draw costs more than drawing.
VIN_KIND = st.sampled_from(["valid"] * 6 + ["check", "short", "illegal"])
CODE_KIND = st.sampled_from(["valid"] * 5 + ["check", "short"])
ID_KIND = st.sampled_from(["valid"] * 5 + ["check", "fifteen", "birth", "letter"])
CODE_SERIAL = st.integers(0, 10**7 - 1)
DIVISION = st.integers(1000, 9999)
BIRTH = days_between(date(1950, 1, 1), date(2005, 12, 31))
FIRST_ISSUED = days_between(date(1990, 1, 1), date(2028, 12, 31))
MAYBE_PHONE = maybe(phones)
MAYBE_CONTRACT = maybe(st.sampled_from([c.value for c in Contract]))
FEW = st.integers(0, 5)
CLASSES_ = st.sampled_from(CLASSES)
FULL_SCORES = maybe(st.lists(DATES.map(iso), max_size=2))
VIOLATIONS = maybe(st.lists(st.fixed_dictionaries({"date": NEAR.map(iso), "kind": TEXT, "serious": st.booleans()}), max_size=2))
ACCIDENTS = maybe(st.lists(st.fixed_dictionaries({
    "date": DATES.map(iso), "liability": st.sampled_from(LIABILITIES), "death_or_serious_injury": st.booleans(),
}), max_size=2))
TRAINING_ = st.sampled_from(TRAINING)
CATEGORY = st.sampled_from([c.value for c in VehicleCategory])
VTYPE = maybe(st.sampled_from([t.value for t in VehicleType]))
MAYBE_TEXT = maybe(TEXT)
CONFIG = st.sampled_from([None, "CFG-A", "CFG-B"])
SEATS = maybe(st.integers(0, 60))
LOAD = maybe(st.integers(0, 5000))
INSPECTION_ = st.sampled_from(INSPECTION)
MODES_ = st.sampled_from(MODES)
RECORDING_ = st.sampled_from(RECORDING)
TEST_ZONE_ = st.sampled_from(TEST_ZONE)
MARKINGS_ = st.sampled_from(MARKINGS)
BOOL = st.booleans()


@st.composite
def vins(draw, serial: int):
    """A VIN: usually valid (unique per serial), sometimes with a wrong check digit, length or character."""
    body = f"LSVAU2180N2{serial:06d}"
    valid = body[:8] + vin_check_digit(body) + body[9:]
    kind = draw(VIN_KIND)
    if kind == "valid":
        return valid
    if kind == "check":
        return valid[:8] + ("X" if valid[8] != "X" else "0") + valid[9:]
    if kind == "short":
        return valid[:16]
    return valid[:3] + "I" + valid[4:]


@st.composite
def credit_codes(draw):
    n = draw(CODE_SERIAL)
    first17 = f"91340100MA{n:07d}"
    valid = first17 + uscc_check_char(first17)
    kind = draw(CODE_KIND)
    if kind == "valid":
        return valid
    if kind == "check":
        return first17 + ("0" if valid[-1] != "0" else "1")
    return valid[:15]


@st.composite
def id_numbers(draw, serial: int):
    """A resident ID: usually valid, sometimes wrong; always ≥ 15 characters so it cannot occur by chance."""
    birth = draw(BIRTH).strftime("%Y%m%d")
    first17 = f"34{draw(DIVISION)}{birth}{serial:03d}"
    valid = first17 + resident_id_check_char(first17)
    kind = draw(ID_KIND)
    if kind == "valid":
        return valid
    if kind == "check":
        return first17 + ("0" if valid[-1] != "0" else "1")
    if kind == "fifteen":
        return valid[:6] + valid[8:14] + f"{serial:03d}"
    if kind == "birth":
        bad = first17[:10] + "13" + first17[12:]
        return bad + resident_id_check_char(bad)
    return valid[:10] + "A" + valid[11:]



# ---------------------------------------------------------------- parts


@st.composite
def drivers(draw, n: int):
    out = []
    for i in range(n):
        d = {"ref": f"D{i + 1}", "name": draw(TEXT), "id_number": draw(id_numbers(i + 1)),
             "phone": draw(MAYBE_PHONE), "contract": draw(MAYBE_CONTRACT)}
        if draw(FEW):
            d["licence"] = {"classes": draw(CLASSES_), "first_issued": iso(draw(FIRST_ISSUED))}
        d["full_score_dates"] = draw(FULL_SCORES)
        d["serious_violations"] = draw(VIOLATIONS)
        d["drink_or_drug_record"] = draw(opt_bool)
        d["accidents"] = draw(ACCIDENTS)
        d["training"] = draw(TRAINING_)
        out.append(d)
    return out


prior_entry = st.fixed_dictionaries({
    "section": st.sampled_from(ALL_SECTIONS),
    "hours": decimals | boundary_decimals,
    "km": decimals | boundary_decimals,
    "records_submitted": opt_bool,
})


PRIOR = st.lists(prior_entry, max_size=3)


@st.composite
def vehicles(draw, n: int, driver_refs):
    refs = st.lists(st.sampled_from(driver_refs), unique=True, max_size=len(driver_refs))
    out = []
    for i in range(n):
        out.append({
            "vin": draw(vins(i + 1)),
            "category": draw(CATEGORY),
            "vehicle_type": draw(VTYPE),
            "brand_model": draw(MAYBE_TEXT),
            "configuration": draw(CONFIG),
            "rated_seats": draw(SEATS),
            "approved_load_kg": draw(LOAD),
            "previously_registered": draw(opt_bool),
            "inspection": draw(INSPECTION_),
            "modes": draw(MODES_),
            "data_recording": draw(RECORDING_),
            "test_zone": draw(TEST_ZONE_),
            "body_marking": draw(MARKINGS_),
            "roof_sign_lamp": draw(opt_bool),
            "connected_remote_control": draw(BOOL),
            "drivers": draw(refs),
            "prior_testing": draw(PRIOR),
        })
    return out


AMOUNTS = st.sampled_from([None, 4_999_999, 5_000_000, 5_000_001, 1_000_000, 10_000_000]) | st.integers(0, 20_000_000)
N_POLICIES = st.integers(0, 5)
INS_KIND = st.sampled_from([k.value for k in InsuranceKind])
SHIFT = st.sampled_from([0, 0, 1, -1, 30, -30, None])  # days off the period's start or end; None: any date
PER_SEAT = st.sampled_from([None, 50_000, 100_000])


@st.composite
def policies(draw, all_vins, period_start: date, period_end: date):
    insured = st.lists(st.sampled_from(all_vins + ["LSVAU2180N2999999"]), min_size=1, max_size=4, unique=True)
    out = []
    for i in range(draw(N_POLICIES)):
        a, b = draw(SHIFT), draw(SHIFT)
        p = {
            "kind": draw(INS_KIND),
            "number": f"P-{i}",
            # mostly the vehicles of the application, sometimes one that is not in it
            "vins": draw(insured),
            # mostly around the requested period, sometimes a day short or anywhere
            "valid_from": iso(period_start + timedelta(days=a) if a is not None else draw(NEAR)),
            "valid_to": iso(period_end - timedelta(days=b) if b is not None else draw(NEAR)),
            "amount_yuan": draw(AMOUNTS),
            "per_seat_yuan": draw(PER_SEAT),
        }
        out.append({k: v for k, v in p.items() if v is not None})
    return out


N_NOTICES = st.integers(0, 3)
N_INCIDENTS = st.integers(0, 3)
NOTICE_KIND = st.sampled_from([k.value for k in NoticeKind])
PROVINCE = st.sampled_from([p.value for p in Province])
VALIDITY = st.integers(-10, 700)
CONFIGS = st.sampled_from([[], ["CFG-A"], ["CFG-A", "CFG-B"]])
NOTICE_SECTIONS = st.lists(st.sampled_from(ALL_SECTIONS), max_size=3, unique=True)
PLATES_AFTER = st.integers(0, 60)
PLATES_VALIDITY = st.integers(-5, 250)


@st.composite
def notices(draw, all_vins):
    listed = st.lists(st.sampled_from(all_vins), max_size=3, unique=True)
    out = []
    for i in range(draw(N_NOTICES)):
        issued = draw(NEAR)
        n = {
            "number": f"N-{i}",
            "kind": draw(NOTICE_KIND),
            "issuer_province": draw(PROVINCE),
            "issued": iso(issued),
            "valid_until": iso(issued + timedelta(days=draw(VALIDITY))),
            "vins": draw(listed),
            "configurations": draw(CONFIGS),
            "sections": draw(NOTICE_SECTIONS),
        }
        if draw(BOOL):
            plates = issued + timedelta(days=draw(PLATES_AFTER))
            n["plates_issued"] = iso(plates)
            n["plates_valid_until"] = iso(plates + timedelta(days=draw(PLATES_VALIDITY)))
        out.append(n)
    return out


ACTIVITY = st.sampled_from([a.value for a in Activity])
SECTIONS = st.lists(st.sampled_from(ALL_SECTIONS), min_size=1, max_size=4)
N_DRIVERS = st.integers(1, 5)
N_VEHICLES = st.integers(1, 6)
APPLICATION_DATE = days_between(date(2025, 1, 1), date(2027, 6, 30))
START_AFTER = st.integers(-5, 60)
LENGTH = st.sampled_from([0, 1, 365, 547, 548, 549]) | st.integers(-5, 700)
SCOPES = maybe(st.lists(st.sampled_from([b.value for b in BusinessScope]), max_size=3))
CAPABILITIES_ = st.sampled_from(CAPABILITIES)
QUARTER = st.integers(0, 3)
MEMBERS = st.integers(1, 3)
HOLDER = st.sampled_from(["self", "partner"])
OPERATIONS_ = st.sampled_from(OPERATIONS)
PROHIBITIONS_ = st.sampled_from(PROHIBITIONS)
APP_ID = st.sampled_from([None, "APP-1", "AH-DA-2026-0107"])
MODIFIERS_ = st.sampled_from(MODIFIERS)
MATERIALS = maybe(st.dictionaries(st.sampled_from([m.value for m in Material]), BOOL))
ORIGINAL = st.sampled_from([None, "N-0", "N-1", "N-9"])
INCIDENT_KIND = st.sampled_from([k.value for k in IncidentKind])
MAYBE_LIABILITY = st.sampled_from([None, *LIABILITIES])
MAYBE_SECTION = st.sampled_from([None, *ALL_SECTIONS])


@st.composite
def applications(draw):
    """A schema-valid application dict."""
    activity = draw(ACTIVITY)
    sections = draw(SECTIONS)
    ds = draw(drivers(draw(N_DRIVERS)))
    vs = draw(vehicles(draw(N_VEHICLES), [d["ref"] for d in ds]))
    all_vins = [v["vin"] for v in vs]
    application_date = draw(APPLICATION_DATE)
    start = application_date + timedelta(days=draw(START_AFTER))
    end = start + timedelta(days=draw(LENGTH))
    entity = {
        "name": draw(TEXT),
        "credit_code": draw(credit_codes()),
        "independent_legal_person": draw(opt_bool),
        "registered_in_prc": draw(opt_bool),
        "business_scopes": draw(SCOPES),
        "capabilities": draw(CAPABILITIES_),
        "contact_phone": draw(MAYBE_PHONE),
    }
    if draw(QUARTER) == 0:
        entity["consortium"] = {
            "members": [{"name": draw(TEXT), "credit_code": draw(credit_codes()), "operating_service_capability": draw(BOOL)}
                        for _ in range(draw(MEMBERS))],
            "operating_services_agreement": draw(opt_bool),
            "tort_liability_agreement": draw(opt_bool),
        }
    if draw(BOOL):
        entity["operating_qualification"] = {"holder": draw(HOLDER), "permit_number": "许可-1", "valid_until": iso(draw(NEAR))}
    operations = draw(OPERATIONS_) | draw(PROHIBITIONS_)
    operations["max_people_per_vehicle"] = draw(SEATS)
    operations["max_load_kg_per_vehicle"] = draw(LOAD)
    incidents = []
    for _ in range(draw(N_INCIDENTS)):
        incidents.append({
            "kind": draw(INCIDENT_KIND),
            "date": iso(draw(NEAR)),
            "vin": all_vins[draw(st.integers(0, len(all_vins) - 1))],
            "during_road_test": draw(BOOL),
            "liability": draw(MAYBE_LIABILITY),
            "section": draw(MAYBE_SECTION),
        })
    app = {
        "application_id": draw(APP_ID),
        "application_date": iso(application_date),
        "activity": activity,
        "modifiers": draw(MODIFIERS_),
        "entity": entity,
        "drivers": ds,
        "vehicles": vs,
        "insurance": draw(policies(all_vins, start, end)),
        "incidents": incidents,
        "sections": sections,
        "period": {"start": iso(start), "end": iso(end)},
        "operations": operations,
        "materials": draw(MATERIALS),
        "notices": draw(notices(all_vins)),
    }
    if draw(BOOL):
        app["adding"] = {"original_notice": draw(ORIGINAL), "necessity_explained": draw(opt_bool)}
    return app


AS_OFS = st.sampled_from([AS_OF, date(2025, 4, 7), date(2025, 4, 8)]) | st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))


def decide(d, as_of=AS_OF):
    return evaluate(to_app(d), PACK, as_of)


# ---------------------------------------------------------------- properties


@SETTINGS
@given(applications(), AS_OFS)
def test_engine_never_raises_and_every_reason_renders(d, as_of):
    decision = decide(d, as_of)  # schema-valid by construction: to_app() must not raise either
    assert decision.findings
    for f in decision.findings:
        assert PACK.message(f.rule_id, f.reason) is not None, (f.rule_id, f.reason)
        for lang in ("zh", "en"):
            text = message(f, PACK, lang)
            assert "{" not in text and "}" not in text, (f.rule_id, f.reason, lang, text)


LANG = st.sampled_from(["zh", "en"])


@SETTINGS
@given(applications(), AS_OFS, LANG)
def test_evaluation_is_deterministic(d, as_of, lang):
    first = evaluate(to_app(d), PACK, as_of)
    second = evaluate(to_app(copy.deepcopy(d)), PACK, as_of)
    assert first == second
    assert render_json(first, PACK, lang).encode() == render_json(second, PACK, lang).encode()
    a, b = first.to_json_dict(), second.to_json_dict()
    assert rfc8785.dumps(a) == rfc8785.dumps(b)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@SETTINGS
@given(applications(), AS_OFS)
def test_verdict_is_consistent_with_the_findings(d, as_of):
    decision = decide(d, as_of)
    outcomes = {f.outcome for f in decision.findings}
    assert (decision.verdict is Verdict.non_compliant) == (Outcome.failed in outcomes)
    assert (decision.verdict is Verdict.incomplete) == (Outcome.failed not in outcomes and Outcome.missing in outcomes)
    assert (decision.verdict is Verdict.compliant) == (not outcomes & {Outcome.failed, Outcome.missing})
    assert sum(decision.counts.values()) == len(decision.findings)
    for o in Outcome:
        assert decision.counts[o.value] == sum(1 for f in decision.findings if f.outcome is o)
    applied = {r.id for r in decision.rules}
    assert {f.rule_id for f in decision.findings} <= applied
    assert applied.isdisjoint(decision.rules_not_applicable)
    assert applied | set(decision.rules_not_applicable) == set(PACK.rules)


_KINDS = ["application", "entity", "section", "driver", "vehicle"]
_OUTCOMES_SHOWN = [Outcome.failed, Outcome.missing, Outcome.warned, Outcome.not_evaluated, Outcome.passed, Outcome.not_applicable]


@SETTINGS
@given(applications(), AS_OFS)
def test_findings_are_grouped_by_subject_then_outcome_then_rule(d, as_of):
    """The order ``docs/decision-format.md`` gives: by subject (application, entity, sections,
    drivers, vehicles, each in application order), failures first within a subject, then the
    other outcomes, and within one outcome in the order of the decision's ``rules``."""
    decision = decide(d, as_of)
    rule_pos = {r.id: i for i, r in enumerate(decision.rules)}
    keys = [(_KINDS.index(f.subject.kind.value), f.subject.order, _OUTCOMES_SHOWN.index(f.outcome), rule_pos[f.rule_id])
            for f in decision.findings]
    assert keys == sorted(keys)


@st.composite
def increases(draw, d):
    """(vehicle index, prior_testing index or None, extra hours, extra km)."""
    i = draw(st.integers(0, len(d["vehicles"]) - 1))
    pts = d["vehicles"][i]["prior_testing"]
    j = draw(st.integers(0, len(pts) - 1)) if pts else None
    return i, j, draw(decimals), draw(decimals)


@SETTINGS
@given(st.data())
def test_more_prior_testing_never_hurts(data):
    d = data.draw(applications())
    as_of = data.draw(AS_OFS)
    i, j, dh, dk = data.draw(increases(d))
    more = copy.deepcopy(d)
    pts = more["vehicles"][i]["prior_testing"]
    if j is None:
        pts.append({"section": more["sections"][0], "hours": dh, "km": dk, "records_submitted": True})
    else:
        pts[j]["hours"] = Decimal(pts[j]["hours"]) + dh
        pts[j]["km"] = Decimal(pts[j]["km"]) + dk
    before, after = decide(d, as_of), decide(more, as_of)
    vin = d["vehicles"][i]["vin"]
    was = [f.outcome for f in before.findings if f.rule_id == "EVD-01" and f.subject.order == i]
    now = [f.outcome for f in after.findings if f.rule_id == "EVD-01" and f.subject.order == i]
    if was == [Outcome.passed]:
        assert now == [Outcome.passed], vin
    if before.verdict is Verdict.compliant:
        assert after.verdict is Verdict.compliant
    if before.verdict is not Verdict.non_compliant:
        assert after.verdict is not Verdict.non_compliant


FAILING = st.integers(2, 6).flatmap(lambda n: st.tuples(st.just(n), st.permutations(range(n)), st.integers(2, n)))


@SETTINGS
@given(FAILING, st.sampled_from([DA, DO]))
def test_every_failing_vehicle_is_reported(n_order_k, activity):
    n, order, k = n_order_k
    failing = set(order[:k])
    base = with_vehicles(baseline(activity), n)
    if activity == DO and n > 5:  # not a first operation, so DOP-02 does not fail
        base["notices"].append({"number": "DO-0", "kind": DO, "issued": "2025-05-01", "valid_until": "2026-10-31"})
    for i in failing:
        base["vehicles"][i]["prior_testing"] = [{"section": SECTION, "hours": "239.99", "km": "999.99", "records_submitted": True}]
    decision = evaluate_dict(base)
    failed = {f.subject.ref for f in findings(decision, "EVD-01") if f.outcome is Outcome.failed}
    assert failed == {make_vin(i + 1) for i in failing}
    assert decision.failing_rule_ids() == ["EVD-01"]
    assert decision.counts["fail"] == len(failing)


def test_two_independent_vehicles_both_failing_are_both_reported():
    base = with_vehicles(baseline(DA), 2)
    base["vehicles"][0]["prior_testing"][0].update(hours="100", km="10")
    base["vehicles"][1]["prior_testing"][0].update(hours="239.99", km="999.99")
    decision = evaluate_dict(base)
    assert [(f.subject.ref, f.reason) for f in decision.failures()] == [(make_vin(1), "below"), (make_vin(2), "below")]


@SETTINGS
@given(applications(), AS_OFS, LANG)
def test_personal_data_never_appears_in_reports(d, as_of, lang):
    app = to_app(d)
    decision = evaluate(app, PACK, as_of)
    secrets = [x for drv in app.drivers for x in (drv.id_number, drv.phone) if x]
    for render in (render_text, render_json, render_markdown):
        out = render(decision, PACK, lang)
        flat = out.replace("\n", "")  # a number split by wrapping must not show either
        for secret in secrets:
            assert secret not in out, (render.__name__, lang)
            assert secret not in flat, (render.__name__, lang)


def test_personal_data_masked_in_both_languages_for_a_known_application():
    base = with_vehicles(baseline(DA), 2)
    base["drivers"][0]["id_number"] = base["drivers"][0]["id_number"][:-1] + "0"  # bad check digit: DRV-08 fails
    decision = evaluate_dict(base)
    assert "DRV-08" in decision.failing_rule_ids()
    app = to_app(base)
    for lang in ("zh", "en"):
        for render in (render_text, render_json, render_markdown):
            out = render(decision, PACK, lang)
            assert app.drivers[0].id_number not in out and app.drivers[0].phone not in out
            masked = app.drivers[0].id_number[:3] + "**************" + app.drivers[0].id_number[-1:]
            assert masked in out.replace("\\*", "*")  # the masked form is shown (markdown escapes the stars)
