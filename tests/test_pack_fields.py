"""The ``fields:`` a rule declares: paths of the application model, checked by ``rules lint``, and
what an activity is asked for (``icv_permits/core/pack_fields.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import copy_rules, edit_pack_yaml, entry
from icv_permits.core import pack_fields
from icv_permits.core.engine import conditions_of
from icv_permits.services.rules import lint_pack
from icv_permits.services import drafts as D
from icv_permits.adapters.documents import read_document
from icv_permits.core.model.application import Activity
from icv_permits.adapters.packs import load_pack

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_model_paths_name_fields_objects_lists_and_materials():
    assert pack_fields.path_exists("vehicles[].roof_sign_lamp")
    assert pack_fields.path_exists("entity.operating_qualification")
    assert pack_fields.path_exists("entity.consortium.members[].credit_code")
    assert pack_fields.path_exists("materials.fee_scheme")
    assert not pack_fields.path_exists("vehicles[].roof_lamp")
    assert not pack_fields.path_exists("vehicles.vin")  # a list's items are vehicles[]
    nodes = pack_fields.model_nodes()
    assert nodes["drivers[].ref"].parent == "drivers" and nodes["drivers[].ref"].required
    assert not nodes["insurance"].required and nodes["insurance[].number"].required


@pytest.mark.parametrize("pack_id", ["anhui-2025", "national-2021"])
def test_every_rule_that_judges_the_application_declares_its_fields(pack_id):
    pack = load_pack(pack_id)
    bare = sorted(rid for rid, r in pack.rules.items() if not r.fields)
    assert bare == (["DOP-03"] if pack_id == "anhui-2025" else [])  # DOP-03 only reports that DA rules apply


def test_lint_reports_a_declared_field_the_model_does_not_have(tmp_path):
    rules = copy_rules(tmp_path)

    def misspell(data):
        entry(data["rules"], "id", "VEH-09")["fields"] = ["vehicles[].roof_lamp"]

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", misspell)
    found = [str(p) for p in lint_pack(load_pack(str(rules / "anhui-2025")))]
    assert any(p.startswith("VEH-09: fields names 'vehicles[].roof_lamp', which is not a field") for p in found), found


def test_lint_reports_a_material_the_parameter_lists_but_the_rule_does_not_declare(tmp_path):
    rules = copy_rules(tmp_path)

    def drop(data):
        rule = entry(data["rules"], "id", "MAT-03")
        rule["fields"] = [f for f in rule["fields"] if f != "materials.fee_scheme"]

    edit_pack_yaml(rules / "anhui-2025" / "rules.yaml", drop)
    found = [str(p) for p in lint_pack(load_pack(str(rules / "anhui-2025")))]
    assert "MAT-03: parameter materials.operation lists material 'fee_scheme' but fields does not name materials.fee_scheme" in found


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml") if p.name != "expected.yaml"))
def test_a_drafts_conditions_are_the_engines(name):
    doc = read_document(EXAMPLES / name)
    app = D.validate_draft(doc).application
    assert app is not None
    assert pack_fields.draft_conditions(doc) == conditions_of(app)


def test_without_an_activity_what_every_activity_is_asked():
    pack = load_pack("anhui-2025")
    every = pack_fields.asked_paths(pack, None)
    assert every == frozenset.intersection(*(pack_fields.asked_paths(pack, a) for a in Activity))
    assert "entity.credit_code" in every and "entity.operating_qualification" not in every


def test_a_condition_field_is_asked_and_the_rule_behind_it_follows_the_answer():
    pack = load_pack("anhui-2025")
    rt = Activity.road_test
    assert "modifiers.night" in pack_fields.asked_paths(pack, rt)  # VEH-09 requires night: the answer decides
    assert "vehicles[].roof_sign_lamp" not in pack_fields.asked_paths(pack, rt)
    assert "vehicles[].roof_sign_lamp" in pack_fields.asked_paths(pack, rt, frozenset({"night"}))
    assert pack_fields.rules_judging(pack, "vehicles[3].roof_sign_lamp", rt) == ("VEH-09",)
