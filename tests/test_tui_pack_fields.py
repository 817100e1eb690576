"""The guided application asks what the rule pack says, and F1 names the rules the pack says.

The expectation is computed here from the pack's YAML files alone (``rules.yaml`` of the national
pack and the Anhui pack over it, ``activity_implies`` of ``pack.yaml``) and the application model's
required fields, without the library's loader or ``pack_fields``; the app's steps are compared with
it for every activity under several sets of conditions."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

pytest.importorskip("textual")

from builders import RULES, read_pack_yaml  # noqa: E402
from icv_permits.services import drafts as D  # noqa: E402
from icv_permits.core.model.application import Activity, Application  # noqa: E402
from icv_permits.adapters.packs import load_pack  # noqa: E402
from icv_permits.tui import fields as F  # noqa: E402

ACTIVITIES = [a.value for a in Activity]
CONDITION_FIELD = {
    "highway": "modifiers.highway", "night": "modifiers.night", "adding_vehicles": "modifiers.adding_vehicles",
    "yrd_recognition": "modifiers.yrd_recognition", "renewal": "modifiers.renewal",
    "carries_passengers": "operations.carries_passengers", "carries_goods": "operations.carries_goods",
    "fee_charged": "operations.fee_charged", "connected_remote_control": "vehicles[].connected_remote_control",
}
# conditions the engine derives (never set by a draft), and the field they derive from
DERIVED_CONDITION_FIELD = {"renewal_verified": "modifiers.renewal"}


# ---------------------------------------------------------------- the pack, read from its files


def _raw_rules() -> tuple[list[dict], dict[str, list[str]]]:
    national = read_pack_yaml(RULES / "national-2021" / "rules.yaml")["rules"]
    anhui = read_pack_yaml(RULES / "anhui-2025" / "rules.yaml")["rules"]
    merged = {r["id"]: dict(r) for r in national}
    for r in anhui:  # an Anhui entry replaces the fields it names
        merged[r["id"]] = {**merged.get(r["id"], {}), **r}
    implies = read_pack_yaml(RULES / "anhui-2025" / "pack.yaml").get("activity_implies", {})
    return list(merged.values()), implies


RAW, IMPLIES = _raw_rules()


def _for_activity(rule: dict, activity: str) -> bool:
    acts = {activity, *IMPLIES.get(activity, [])}
    return rule.get("enabled", True) and bool(acts & set(rule["applies_to"]["activities"]))


def _conditions_met(rule: dict, conds: set[str]) -> bool:
    a = rule["applies_to"]
    return set(a.get("requires", [])) <= conds and not set(a.get("unless", [])) & conds


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top + ".") or path.startswith(top + "[]")


def _cond_fields(rule: dict) -> set[str]:
    a = rule["applies_to"]
    fields = {**CONDITION_FIELD, **DERIVED_CONDITION_FIELD}
    return {fields[c] for c in (*a.get("requires", []), *a.get("unless", [])) if c in fields}


def _declares(rule: dict, path: str) -> bool:
    return any(_under(path, d) or _under(d, path) for d in rule.get("fields", [])) or path in _cond_fields(rule)


# ---------------------------------------------------------------- the model's required fields


def _parent(path: str) -> str:
    head = path.rsplit(".", 1)[0] if "." in path else ""
    return head[:-2] if head.endswith("[]") else head


def _inner_model(annotation):
    """The model inside ``X | None``, ``list[X]``…, or None for a plain value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _model_field(path: str):
    model, info = Application, None
    for part in path.replace("[]", "").split("."):
        info = model.model_fields[part]
        model = _inner_model(info.annotation)
    return info


def _required(path: str) -> bool:
    if path.startswith("materials."):
        return False
    return _model_field(path).is_required()


# ---------------------------------------------------------------- what the pack asks


def _expected(path: str, activity: str, conds: set[str]) -> bool:
    """Asked: declared by a rule that applies (or a condition of a rule for the activity); or
    required, or a record no rule declares, inside an object or list that is asked."""
    if _directly(path, activity, conds):
        return True
    recorded = not any(_declares(r, path) for r in RAW)
    if not (_required(path) or recorded):
        return False
    parent = _parent(path)
    return parent == "" or _container(parent, activity, conds)


def _directly(path: str, activity: str, conds: set[str]) -> bool:
    for r in RAW:
        if not _for_activity(r, activity):
            continue
        if path in _cond_fields(r):
            return True
        if _conditions_met(r, conds) and any(_under(path, d) for d in r.get("fields", [])):
            return True
    return False


def _container(path: str, activity: str, conds: set[str]) -> bool:
    for r in RAW:
        if not _for_activity(r, activity):
            continue
        if any(_under(c, path) for c in _cond_fields(r)):
            return True
        if _conditions_met(r, conds) and any(_under(d, path) or _under(path, d) for d in r.get("fields", [])):
            return True
    return _expected(path, activity, conds)


# ---------------------------------------------------------------- the app


def _tui_paths() -> list[str]:
    out = []
    for s in F.STEPS:
        out += [f.path for f in s.fields]
        for p in s.lists:
            out += list(p.field_paths())
    return list(dict.fromkeys(out))


def _draft(activity: str, conds: set[str]) -> dict:
    """A draft of the activity with the conditions on and one item in every list the app shows."""
    draft: dict = {"activity": activity}
    for s in F.STEPS:
        for p in s.lists:
            if not F.items(p, draft):
                D.set_path(draft, p.path, [{}])
    for cond, path in CONDITION_FIELD.items():
        D.set_path(draft, path.replace("[]", "[0]"), cond in conds)
    return draft


def _asked_by_app(draft: dict, pack) -> set[str]:
    return {_generic(p) for s in F.STEPS for _h, spec, p in F.rows(s, draft, pack) if spec}


def _generic(path: str) -> str:
    import re

    return re.sub(r"\[\d+\]", "[]", path)


CONDITION_SETS = [set(), set(CONDITION_FIELD)] + [{c} for c in CONDITION_FIELD]


@pytest.fixture(scope="module")
def pack():
    return load_pack("anhui-2025")


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_the_app_asks_for_each_activity_what_the_pack_says(pack, activity):
    paths = _tui_paths()
    for conds in CONDITION_SETS:
        expected = {p for p in paths if _expected(p, activity, conds)}
        assert _asked_by_app(_draft(activity, conds), pack) == expected, (activity, sorted(conds))


@pytest.mark.parametrize("activity", [*ACTIVITIES, None])
def test_f1_names_the_rules_the_pack_says_judge_the_field(pack, activity):
    draft = {} if activity is None else {"activity": activity}
    for path in _tui_paths():
        expected = [r["id"] for r in RAW
                    if (r.get("enabled", True) if activity is None else _for_activity(r, activity)) and _declares(r, path)]
        assert sorted(F.rules_for(path.replace("[]", "[0]"), draft, pack)) == sorted(expected), (activity, path)


def test_every_field_a_rule_judges_is_one_the_app_can_ask():
    declared = {d for r in RAW for d in r.get("fields", [])}
    paths = _tui_paths()
    unreachable = sorted(d for d in declared if not any(_under(p, d) or _under(d, p) for p in paths))
    assert unreachable == [], unreachable


def test_the_operating_qualification_is_asked_for_a_do_but_not_a_da(pack):
    """ENT-08 (and MAT-03's material) apply to demonstration operation only: a demonstration
    application is not asked for the operating qualification."""
    qualification = {"entity.operating_qualification.holder", "entity.operating_qualification.permit_number",
                     "entity.operating_qualification.valid_until", "materials.operating_qualification"}
    da = _asked_by_app({"activity": "demonstration_application"}, pack)
    do = _asked_by_app({"activity": "demonstration_operation"}, pack)
    assert not qualification & da
    assert qualification <= do
    assert F.rules_for("entity.operating_qualification.valid_until", {"activity": "demonstration_operation"}, pack) == ("ENT-08",)
    assert da <= do  # every DA rule applies to DO as well
