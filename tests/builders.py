"""Builders of valid applications for tests.

``baseline(activity)`` gives a deep copy of a compliant application as a plain dict (the form an
application file takes after parsing), for road testing (RT), demonstration application (DA) or
demonstration operation (DO). ``with_(base, "vehicles[0].modes.instant_manual_takeover", False)``
returns a modified deep copy; ``evaluate_dict(d, as_of)`` validates the dict and runs the engine
with the ``anhui-2025`` pack. Identifiers are made with valid check characters by
:mod:`icv_permits.core.model.ids`.

Also here: helpers to copy the repository's ``rules/`` folder and edit its YAML, for tests of
modified packs (lint, pack revision, parameters not in the shipped pack).
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from icv_permits.adapters.packs import _PackLoader, load_pack
from icv_permits.core.engine import evaluate
from icv_permits.core.engine.decision import OUTCOME_ORDER, Decision, Finding, Outcome
from icv_permits.core.model.application import Application
from icv_permits.core.model.ids import (
    resident_id_check_char,
    uscc_check_char,
    vin_check_digit,
)
from icv_permits.core.pack import Pack

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"
AS_OF = date(2026, 11, 27)
PACK_ID = "anhui-2025"

RT = "road_test"
DA = "demonstration_application"
DO = "demonstration_operation"
ACTIVITIES = (RT, DA, DO)
SHORT = {RT: "RT", DA: "DA", DO: "DO"}

MARKING = {RT: "自动驾驶道路测试", DA: "自动驾驶示范应用", DO: "自动驾驶示范应用"}
PERIOD_START = "2026-12-01"
PERIOD_END = "2027-11-30"
SECTION = "HF-GX-001"  # open for RT, DA and DO, and at night


# ---------------------------------------------------------------- identifiers


def make_vin(n: int) -> str:
    """A valid VIN (GB 16735 check digit) for serial ``n`` (0 ≤ n < 10**6)."""
    body = f"LSVAU2180N2{n:06d}"
    assert len(body) == 17, body
    return body[:8] + vin_check_digit(body) + body[9:]


def make_credit_code(n: int) -> str:
    """A valid unified social credit code (GB 32100) for serial ``n`` (0 ≤ n < 10**7)."""
    first17 = f"91340100MA{n:07d}"
    return first17 + uscc_check_char(first17)


def make_id_number(n: int, birth: str = "19900101", division: str = "340104") -> str:
    """A valid resident identity number (GB 11643) for serial ``n`` (0 ≤ n < 1000)."""
    first17 = f"{division}{birth}{n:03d}"
    return first17 + resident_id_check_char(first17)


# ---------------------------------------------------------------- parts


def entity() -> dict[str, Any]:
    return {
        "name": "合肥测试智行科技有限公司",
        "credit_code": make_credit_code(1),
        "independent_legal_person": True,
        "registered_in_prc": True,
        "business_scopes": ["icv_manufacturing", "technology_rd"],
        "capabilities": {
            "test_evaluation_procedure": True,
            "remote_monitoring": True,
            "event_recording": True,
            "cybersecurity": True,
        },
        "contact_phone": "13812345678",
    }


def driver(ref: str = "D1", n: int = 1) -> dict[str, Any]:
    return {
        "ref": ref,
        "name": f"驾驶人{n}",
        "id_number": make_id_number(n),
        "phone": f"139{n:08d}",
        "contract": "labour",
        "licence": {"classes": ["C1"], "first_issued": "2012-06-18"},
        "full_score_dates": [],
        "serious_violations": [],
        "drink_or_drug_record": False,
        "accidents": [],
        "training": {"certified": True, "covers_plan": True, "covers_emergency": True, "hours": 60},
    }


def vehicle(vin: str, activity: str, drivers: Iterable[str] = ("D1",)) -> dict[str, Any]:
    v: dict[str, Any] = {
        "vin": vin,
        "category": "passenger",
        "vehicle_type": "small_car",
        "brand_model": "测试 T-1 Robotaxi",
        "configuration": "T1-L4-2025A",
        "rated_seats": 5,
        "previously_registered": False,
        "inspection": {"passed_except_durability": True},
        "modes": {"manual": True, "autonomous": True, "switch_prompt": True, "instant_manual_takeover": True},
        "data_recording": {
            "records_state": True,
            "online_monitoring": True,
            "realtime_upload": ["control_mode", "position", "motion_state", "perception_response"],
            "pre_event_seconds": 90,
            "retention_months": 12,
        },
        "test_zone": {"tested": True, "third_party_inspection_passed": True, "report_number": "AHTC-2025-0001"},
        "body_marking": MARKING[activity],
        "roof_sign_lamp": True,
        "connected_remote_control": False,
        "drivers": list(drivers),
        "prior_testing": [],
    }
    if activity != RT:
        v["prior_testing"] = [{"section": SECTION, "hours": 300, "km": 1200, "records_submitted": True}]
    return v


def policy(kind: str, number: str, vins: list[str], *, amount: int | None = None, start: str = PERIOD_START,
           end: str = PERIOD_END, **extra: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"kind": kind, "number": number, "insurer": "中国人保", "vins": list(vins),
                         "valid_from": start, "valid_to": end}
    if amount is not None:
        p["amount_yuan"] = amount
    p.update(extra)
    return p


MATERIALS = {
    RT: ["basic_information", "safety_self_declaration", "test_zone_report", "third_party_inspection_report",
         "test_plan", "insurance_proofs", "driver_training_records"],
    DA: ["basic_information", "road_test_records", "demonstration_plan_review", "carriage_statement", "insurance_proofs"],
}
MATERIALS[DO] = MATERIALS[DA] + ["operating_qualification"]

DA_NOTICE = {
    "number": "皖智网示〔2026〕003号",
    "kind": DA,
    "issuer_province": "anhui",
    "issued": "2026-01-10",
    "valid_until": "2027-07-09",
    "vins": [],
    "configurations": ["T1-L4-2025A"],
    "sections": [SECTION],
}


def _build(activity: str) -> dict[str, Any]:
    vin = make_vin(1)
    app: dict[str, Any] = {
        "schema_version": 1,
        "application_id": f"TEST-{SHORT[activity]}-0001",
        "application_date": "2026-11-20",
        "activity": activity,
        "modifiers": {},
        "entity": entity(),
        "drivers": [driver("D1", 1)],
        "vehicles": [vehicle(vin, activity)],
        "insurance": [
            policy("compulsory", "PDZA-0001", [vin]),
            policy("liability", "PZAA-0001", [vin], amount=5_000_000),
        ],
        "incidents": [],
        "sections": [SECTION],
        "period": {"start": PERIOD_START, "end": PERIOD_END},
        "operations": {
            "carries_passengers": False,
            "carries_goods": False,
            "dangerous_goods": False,
            "unlicensed_transport_business": False,
            "brake_tests_on_public_roads": False,
            "autonomous_only_on_declared_sections": True,
            "fee_charged": False,
        },
        "materials": {m: True for m in MATERIALS[activity]},
        "notices": [],
    }
    if activity != RT:
        app["operations"].update(carries_passengers=True, max_people_per_vehicle=4, risk_notice_to_riders=True)
        app["insurance"] += [
            policy("seat", "PDAA-0001", [vin], amount=500_000, per_seat_yuan=100_000),
            policy("personal_accident", "PEAA-0001", [vin], amount=1_000_000),
        ]
    if activity == DO:
        app["entity"]["operating_qualification"] = {"holder": "self", "permit_number": "皖交运管许可合字340100000001号",
                                                     "valid_until": "2029-12-31"}
        notice = copy.deepcopy(DA_NOTICE)
        notice["vins"] = [vin]
        app["notices"] = [notice]
    return app


_BASELINES = {a: _build(a) for a in ACTIVITIES}


def baseline(activity: str = DA) -> dict[str, Any]:
    """A deep copy of the compliant baseline for ``activity`` (``road_test``, ``demonstration_…``)."""
    return copy.deepcopy(_BASELINES[activity])


# ---------------------------------------------------------------- editing


_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def _parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for m in _TOKEN.finditer(path):
        if m.start() != pos and path[pos:m.start()] != ".":
            raise ValueError(f"bad path {path!r} at {pos}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(path) or not parts:
        raise ValueError(f"bad path {path!r}")
    return parts


DELETE = object()
"""Pass as the value to :func:`with_` to remove the key (or list item) at the path."""


def with_(base: dict[str, Any], path: str, value: Any, *more: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with ``path`` set to ``value`` (more ``path, value`` pairs may follow).

    Paths look like ``vehicles[0].modes.instant_manual_takeover`` or ``period.end``; missing
    mappings on the way are created. ``value`` :data:`DELETE` removes the key.
    """
    if len(more) % 2:
        raise TypeError("with_ takes path, value pairs")
    out = copy.deepcopy(base)
    pairs = [(path, value), *zip(more[::2], more[1::2])]
    for p, v in pairs:
        parts = _parse_path(p)
        node: Any = out
        for part in parts[:-1]:
            if isinstance(part, str) and isinstance(node, dict) and node.get(part) is None:
                node[part] = {}
            node = node[part]
        last = parts[-1]
        if v is DELETE:
            del node[last]
        else:
            node[last] = copy.deepcopy(v)
    return out


def with_vehicles(base: dict[str, Any], n: int) -> dict[str, Any]:
    """``base`` with ``n`` vehicles: copies of ``vehicles[0]`` with new VINs, insured and on its notices."""
    out = copy.deepcopy(base)
    first = out["vehicles"][0]
    out["vehicles"] = [first]
    for i in range(2, n + 1):
        v = copy.deepcopy(first)
        v["vin"] = make_vin(i)
        out["vehicles"].append(v)
    vins = [v["vin"] for v in out["vehicles"]]
    for p in out["insurance"]:
        p["vins"] = list(vins)
    for notice in out["notices"]:
        if notice.get("vins"):
            notice["vins"] = list(vins)
    return out


# ---------------------------------------------------------------- evaluating


def pack(pack_id: str = PACK_ID) -> Pack:
    return load_pack(pack_id)


def to_app(d: dict[str, Any]) -> Application:
    return Application.model_validate(d)


def evaluate_dict(d: dict[str, Any], as_of: date = AS_OF, pack_: Pack | None = None) -> Decision:
    """Validate ``d`` as an application and evaluate it with ``anhui-2025`` (or ``pack_``) on ``as_of``."""
    return evaluate(to_app(d), pack_ or load_pack(PACK_ID), as_of)


def findings(decision: Decision, rule_id: str, ref: str | None = None) -> list[Finding]:
    """The findings of ``rule_id``, for the subject ``ref`` (VIN, driver ref, section id) if given."""
    return [f for f in decision.findings if f.rule_id == rule_id and (ref is None or f.subject.ref == ref)]


def outcome(decision: Decision, rule_id: str, ref: str | None = None) -> Outcome:
    """The worst outcome of ``rule_id`` (for ``ref``): fail before missing before warn … before pass."""
    fs = findings(decision, rule_id, ref)
    assert fs, f"no finding of {rule_id} for {ref!r}: {[f.rule_id for f in decision.findings]}"
    return min((f.outcome for f in fs), key=OUTCOME_ORDER.__getitem__)


def reasons(decision: Decision, rule_id: str, ref: str | None = None) -> list[str]:
    return [f.reason for f in findings(decision, rule_id, ref)]


def rule_outcome(d: dict[str, Any], rule_id: str, ref: str | None = None, as_of: date = AS_OF) -> Outcome:
    return outcome(evaluate_dict(d, as_of), rule_id, ref)


# ---------------------------------------------------------------- packs on disk


def copy_rules(dst: Path) -> Path:
    """Copy the repository's ``rules/`` to ``dst/rules`` and return that folder."""
    target = dst / "rules"
    shutil.copytree(RULES, target)
    return target


def read_pack_yaml(path: Path) -> Any:
    """Read a pack YAML file as the pack loader does (dates stay text)."""
    with path.open("rb") as fh:
        return yaml.load(fh, Loader=_PackLoader)  # noqa: S506 - safe loader subclass


def write_pack_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edit_pack_yaml(path: Path, fn: Callable[[Any], Any]) -> None:
    """Rewrite a pack YAML file through ``fn`` (which may change its argument in place)."""
    data = read_pack_yaml(path)
    result = fn(data)
    write_pack_yaml(path, data if result is None else result)


def entry(items: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    """The entry of a pack list (rules, parameters, sources…) whose ``key`` is ``value``."""
    for item in items:
        if item.get(key) == value:
            return item
    raise KeyError(value)
