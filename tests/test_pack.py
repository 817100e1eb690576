"""Rule packs: loading, inheritance (anhui-2025 extends national-2021), dated parameters, revision,
and the ``rules list`` / ``rules show`` commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date

import pytest
from builders import REPO, RULES, copy_rules, edit_pack_yaml, entry

from icv_permits.adapters.packs import load_pack, pack_content
from icv_permits.core.pack import revision_of

ANHUI_ONLY = {"ENT-08", "SCO-04", "MAT-03", "DOP-01", "DOP-01a", "DOP-02", "DOP-03", "DOP-04", "YRD-01", "YRD-01a"}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_RULES_DIR", "ICV_PERMITS_DEBUG")}
    return subprocess.run([sys.executable, "-m", "icv_permits.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def anhui():
    return load_pack("anhui-2025")


@pytest.fixture(scope="module")
def national():
    return load_pack("national-2021")


# ---------------------------------------------------------------- revision


def test_revision_is_stable_across_loads(anhui):
    chain, content = pack_content("anhui-2025")
    assert chain == ["anhui-2025", "national-2021"]
    assert revision_of(content) == anhui.revision
    assert revision_of(pack_content("anhui-2025")[1]) == anhui.revision
    assert anhui.revision.startswith("sha256:") and len(anhui.revision) == len("sha256:") + 64


def test_revision_does_not_depend_on_where_the_pack_lives(tmp_path, anhui):
    rules = copy_rules(tmp_path)
    assert load_pack(str(rules / "anhui-2025")).revision == anhui.revision
    assert load_pack("anhui-2025", root=rules).revision == anhui.revision


def test_revision_ignores_comments_and_layout(tmp_path, anhui):
    rules = copy_rules(tmp_path)
    path = rules / "anhui-2025" / "parameters.yaml"
    path.write_text("# a new comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_pack(str(rules / "anhui-2025")).revision == anhui.revision


def test_revision_changes_when_one_parameter_value_changes(tmp_path, anhui, national):
    rules = copy_rules(tmp_path)

    def raise_hours(data):
        entry(data["parameters"], "id", "evidence.min_hours")["values"][0]["value"] = 241

    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml", raise_hours)
    changed = load_pack(str(rules / "anhui-2025"))
    assert changed.revision != anhui.revision
    assert changed.parameters["evidence.min_hours"].at(date(2026, 11, 27)).value == 241
    # the national pack, untouched, keeps its revision
    assert load_pack(str(rules / "national-2021")).revision == national.revision


def test_revision_of_a_parent_change_reaches_the_child(tmp_path, anhui):
    rules = copy_rules(tmp_path)

    def shorten(data):
        entry(data["parameters"], "id", "scope.max_period_months")["values"][0]["value"] = 12

    edit_pack_yaml(rules / "national-2021" / "parameters.yaml", shorten)
    assert load_pack(str(rules / "anhui-2025")).revision != anhui.revision


def test_the_revision_is_in_every_decision(anhui):
    from builders import baseline, evaluate_dict

    d = evaluate_dict(baseline())
    assert d.pack_revision == anhui.revision and d.pack_chain == ["anhui-2025", "national-2021"]


# ---------------------------------------------------------------- inheritance


def test_anhui_extends_national(anhui, national):
    assert anhui.meta.extends == "national-2021"
    assert anhui.chain == ["anhui-2025", "national-2021"] and national.chain == ["national-2021"]
    assert "DRV-01" in anhui.rules and "DRV-01" in national.rules
    assert anhui.rules["DRV-01"] == national.rules["DRV-01"]
    assert "ENT-08" in anhui.rules and "ENT-08" not in national.rules
    assert set(anhui.rules) - set(national.rules) == ANHUI_ONLY
    assert set(national.rules) <= set(anhui.rules)
    assert set(national.sources) <= set(anhui.sources)
    assert "AH-2025" in anhui.sources
    assert national.sections == {} and len(anhui.sections) >= 1


def test_anhui_override_replaces_only_citation_and_confidence(anhui, national):
    ours, theirs = anhui.rules["VEH-01"], national.rules["VEH-01"]
    assert theirs.citation.source == "NAT-2021" and theirs.confidence.value == "national-basis"
    assert ours.citation.source == "AH-2025" and ours.confidence.value == "confirmed"
    assert ours.title == theirs.title and ours.title.en == "Vehicle category"
    for field in ("requirement", "applies_to", "subject", "severity", "params", "messages", "remedy", "enabled"):
        assert getattr(ours, field) == getattr(theirs, field), field


def test_every_overridden_rule_keeps_its_national_text(anhui, national):
    raw = {r["id"] for r in (pack_content("anhui-2025")[1]["rules"].values())}
    assert raw == set(anhui.rules)
    national_raw = pack_content("national-2021")[1]["rules"]
    anhui_raw = pack_content("anhui-2025")[1]["rules"]
    for rid in set(national.rules) & set(anhui.rules):  # as written, before {home_province} is filled in
        assert anhui_raw[rid]["title"] == national_raw[rid]["title"], rid
        assert anhui_raw[rid].get("messages") == national_raw[rid].get("messages"), rid


def test_activity_implication_is_declared_by_anhui(anhui, national):
    assert anhui.meta.activity_implies == {"demonstration_operation": ["demonstration_application"]}
    assert national.meta.activity_implies == {}


# ---------------------------------------------------------------- dated parameters


def test_dated_values_are_merged_by_date(anhui, national):
    merged = anhui.parameters["evidence.min_hours"].values
    assert [(v.effective_from.isoformat(), v.citation.source, v.value) for v in merged] == [
        ("2021-09-01", "NAT-2021", 240),
        ("2025-04-08", "AH-2025", 240),
    ]
    assert [v.citation.source for v in national.parameters["evidence.min_hours"].values] == ["NAT-2021"]
    # the child keeps the national definition (title, unit, comparison)
    assert anhui.parameters["evidence.min_hours"].title == national.parameters["evidence.min_hours"].title
    assert anhui.parameters["evidence.min_hours"].comparison.value == "ge"
    # a parameter only the nation sets is inherited as is
    assert anhui.parameters["plate.max_validity_months"] == national.parameters["plate.max_validity_months"]
    # a parameter only Anhui sets exists only there
    assert "operation.first_max_vehicles" in anhui.parameters and "operation.first_max_vehicles" not in national.parameters


def test_every_parameter_has_its_values_in_date_order(anhui, national):
    for pack in (anhui, national):
        for p in pack.parameters.values():
            dates = [v.effective_from for v in p.values]
            assert dates == sorted(dates) and len(set(dates)) == len(dates), p.id


@pytest.mark.parametrize(
    "as_of, source",
    [(date(2021, 8, 31), None), (date(2021, 9, 1), "NAT-2021"), (date(2025, 4, 7), "NAT-2021"),
     (date(2025, 4, 8), "AH-2025"), (date(2030, 1, 1), "AH-2025")],
)
def test_the_value_in_force_on_a_date(anhui, as_of, source):
    current = anhui.parameters["evidence.min_km"].at(as_of)
    assert (current.citation.source if current else None) == source


def test_a_child_value_on_the_same_date_wins(tmp_path):
    rules = copy_rules(tmp_path)

    def same_day(data):
        entry(data["parameters"], "id", "evidence.min_hours")["values"].append({
            "effective_from": "2021-09-01", "value": 300,
            "citation": {"source": "AH-2025", "locator": "test"}, "confidence": "unconfirmed",
        })

    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml", same_day)
    values = load_pack(str(rules / "anhui-2025")).parameters["evidence.min_hours"].values
    assert [(v.effective_from.isoformat(), v.value, v.citation.source) for v in values] == [
        ("2021-09-01", 300, "AH-2025"),
        ("2025-04-08", 240, "AH-2025"),
    ]


def test_a_child_value_listed_out_of_order_is_sorted(tmp_path):
    rules = copy_rules(tmp_path)

    def earlier(data):
        entry(data["parameters"], "id", "evidence.min_km")["values"].append({
            "effective_from": "2023-01-01", "value": 800,
            "citation": {"source": "AH-2025", "locator": "test"}, "confidence": "unconfirmed",
        })

    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml", earlier)
    p = load_pack(str(rules / "anhui-2025")).parameters["evidence.min_km"]
    assert [v.effective_from.isoformat() for v in p.values] == ["2021-09-01", "2023-01-01", "2025-04-08"]
    assert p.at(date(2024, 6, 1)).value == 800


# ---------------------------------------------------------------- the CLI views


def test_rules_show_prints_both_dated_values_with_their_sources():
    proc = run_cli("rules", "show", "EVD-01", "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for param in ("evidence.min_hours", "evidence.min_km"):
        assert f"Parameter {param}" in out
    lines = [line for line in out.splitlines() if line.strip().startswith("from ")]
    assert any("2021-09-01" in line and "240" in line and "NAT-2021" in line for line in lines), lines
    assert any("2025-04-08" in line and "240" in line and "AH-2025" in line for line in lines), lines
    assert any("2021-09-01" in line and "1000" in line and "NAT-2021" in line for line in lines), lines
    assert any("2025-04-08" in line and "1000" in line and "AH-2025" in line for line in lines), lines


def test_rules_show_accepts_a_lower_case_id_and_rejects_an_unknown_one():
    assert run_cli("rules", "show", "evd-01", "--lang", "en").returncode == 0
    proc = run_cli("rules", "show", "ZZZ-99", "--lang", "en")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_rules_list_json_has_62_rules_for_anhui(anhui):
    proc = run_cli("rules", "list", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["pack_id"] == "anhui-2025"
    assert data["pack_revision"] == anhui.revision
    assert data["chain"] == ["anhui-2025", "national-2021"]
    ids = [r["id"] for r in data["rules"]]
    assert len(ids) == 62 and len(set(ids)) == 62
    assert {"DRV-01", "ENT-08", "EVD-01", "DOP-02"} <= set(ids)
    evd = next(p for p in data["parameters"] if p["id"] == "evidence.min_hours")
    assert [v["citation"]["source"] for v in evd["values"]] == ["NAT-2021", "AH-2025"]


def test_rules_list_json_for_the_national_pack():
    proc = run_cli("rules", "list", "--format", "json", "--pack", "national-2021")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["rules"]) == 62 - len(ANHUI_ONLY)
    assert not ANHUI_ONLY & {r["id"] for r in data["rules"]}


def test_rules_list_with_an_unknown_pack_exits_2():
    proc = run_cli("rules", "list", "--pack", "no-such-pack")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_a_pack_can_be_loaded_by_its_folder(tmp_path, anhui):
    target = tmp_path / "packs"
    shutil.copytree(RULES, target)
    loaded = load_pack(str(target / "anhui-2025"))
    assert loaded.rules.keys() == anhui.rules.keys()
    assert loaded.chain == ["anhui-2025", "national-2021"]  # the parent is found next to it
