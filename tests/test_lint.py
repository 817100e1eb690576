"""``icv-permits rules lint``: clean on the repository's packs; each way of breaking a pack is reported.

Negative tests copy ``rules/`` into a temporary folder, break it in one way, and lint the copy,
either in-process (``lint_pack(load_pack(<folder>))``) or through the CLI with
``ICV_PERMITS_RULES_DIR`` pointing at the copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from builders import REPO, copy_rules, edit_pack_yaml, entry

from icv_permits.adapters.packs import load_pack
from icv_permits.core.pack import PackError
from icv_permits.services.rules import lint, lint_pack


AS_OF_LINT = __import__("datetime").date(2026, 11, 27)


def run_cli(*args: str, rules_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_RULES_DIR", "ICV_PERMITS_DEBUG")}
    env["ICV_PERMITS_LANG"] = "en"
    if rules_dir is not None:
        env["ICV_PERMITS_RULES_DIR"] = str(rules_dir)
    return subprocess.run([sys.executable, "-m", "icv_permits.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- the shipped packs


def test_cli_lint_is_clean_on_the_repository_packs():
    proc = run_cli("rules", "lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "anhui-2025" in proc.stdout and "national-2021" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("pack_id", ["anhui-2025", "national-2021"])
def test_lint_pack_is_clean_in_process(pack_id):
    assert lint_pack(load_pack(pack_id)) == []


def test_lint_of_every_pack_finds_no_orphan_checks():
    assert lint() == {"anhui-2025": [], "national-2021": []}


# ---------------------------------------------------------------- broken copies


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path)


def anhui(rules: Path):
    return load_pack(str(rules / "anhui-2025"))


def problems(rules: Path) -> list[str]:
    return [str(p) for p in lint_pack(anhui(rules))]


def test_an_untouched_copy_is_clean(rules):
    assert problems(rules) == []


def test_a_rule_without_a_check_function(rules):
    def add_rule(data):
        data["rules"].append({
            "id": "ZZZ-99",
            "subject": "application",
            "title": {"zh": "测试规则", "en": "A test rule"},
            "requirement": {"zh": "无", "en": "none"},
            "citation": {"source": "AH-2025", "locator": "nowhere"},
            "confidence": "unconfirmed",
            "applies_to": {"activities": ["road_test"]},
            "remedy": {"zh": "无", "en": "none"},
        })

    edit_pack_yaml(rules / "anhui-2025" / "rules.yaml", add_rule)
    assert "ZZZ-99: no check function is registered for this rule" in problems(rules)


def test_a_rule_missing_a_parameter_the_code_reads(rules):
    def drop_param(data):
        entry(data["rules"], "id", "EVD-01")["params"] = ["evidence.min_hours"]

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", drop_param)
    found = problems(rules)
    assert any(p.startswith("EVD-01: the code reads [") and "'evidence.min_km'" in p
               and p.endswith("but the catalogue lists ['evidence.min_hours']") for p in found), found
    assert "evidence.min_km: no rule reads this parameter" in found


def test_an_anhui_override_can_break_the_parameter_list_too(rules):
    def override(data):
        entry(data["rules"], "id", "VEH-06")["params"] = ["vehicle.pre_event_seconds"]

    edit_pack_yaml(rules / "anhui-2025" / "rules.yaml", override)
    found = problems(rules)
    assert any(p.startswith("VEH-06: the code reads") for p in found), found


def test_a_rule_listing_a_parameter_the_pack_does_not_define(rules):
    def add_unknown(data):
        entry(data["rules"], "id", "SCO-02")["params"] = ["scope.max_period_months", "scope.no_such_thing"]

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", add_unknown)
    found = problems(rules)
    assert "SCO-02: lists parameter 'scope.no_such_thing', which the pack does not define" in found


def test_a_parameter_no_rule_reads(rules):
    def add_param(data):
        data["parameters"].append({
            "id": "evidence.unused_threshold",
            "title": {"zh": "未使用", "en": "Unused"},
            "comparison": "ge",
            "values": [{"effective_from": "2025-04-08", "value": 1,
                        "citation": {"source": "AH-2025", "locator": "test"}, "confidence": "unconfirmed"}],
        })

    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml", add_param)
    assert "evidence.unused_threshold: no rule reads this parameter" in problems(rules)


def test_a_rule_citing_an_unknown_source(rules):
    def cite(data):
        entry(data["rules"], "id", "VEH-01")["citation"] = {"source": "XX-1999", "locator": "nowhere"}

    edit_pack_yaml(rules / "anhui-2025" / "rules.yaml", cite)
    assert "VEH-01: cites unknown source 'XX-1999'" in problems(rules)


def test_a_parameter_value_citing_an_unknown_source(rules):
    def cite(data):
        entry(data["parameters"], "id", "evidence.min_hours")["values"][0]["citation"]["source"] = "XX-1999"

    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml", cite)
    assert "evidence.min_hours@2025-04-08: cites unknown source 'XX-1999'" in problems(rules)


def test_a_citation_with_neither_article_nor_locator(rules):
    def strip(data):
        entry(data["parameters"], "id", "evidence.min_km")["values"][0]["citation"] = {"source": "AH-2025"}

    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml", strip)
    assert "evidence.min_km@2025-04-08: citation gives neither an article nor a locator" in problems(rules)


def test_a_message_whose_zh_and_en_placeholders_differ(rules):
    def reword(data):
        msg = entry(data["rules"], "id", "DRV-02")["messages"]["too_few_years"]
        msg["en"] = "{observed} year(s) of driving; required {threshold}"  # lost {eligible_from}

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", reword)
    found = problems(rules)
    assert any(p.startswith("DRV-02.messages.too_few_years: zh and en use different placeholders") and "eligible_from" in p
               for p in found), found


def test_a_common_message_with_a_malformed_template(rules):
    def break_template(data):
        data["common_messages"]["missing"]["en"] = "information missing: {field_path"

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", break_template)
    found = problems(rules)
    assert any(p.startswith("common_messages.missing: malformed template") for p in found), found


def test_a_message_for_a_reason_the_code_never_emits(rules):
    def add_message(data):
        entry(data["rules"], "id", "VEH-02")["messages"]["never_emitted"] = {"zh": "从不", "en": "never"}

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", add_message)
    assert "VEH-02: message 'never_emitted' is never emitted by the code" in problems(rules)


def test_a_reason_without_a_message(rules):
    def drop_message(data):
        del entry(data["rules"], "id", "VEH-02")["messages"]["registered"]

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", drop_message)
    assert "VEH-02: no message for reason 'registered'" in problems(rules)


def test_a_records_rule_open_to_pre_checks(rules):
    def drop_requires(data):
        entry(data["rules"], "id", "REC-02")["applies_to"].pop("requires")

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", drop_requires)
    found = problems(rules)
    assert any(p.startswith("REC-02: the code reads the office's records, but applies_to does not require on_record") for p in found), found


def test_a_not_evaluated_reason_without_its_common_message(rules):
    def drop(data):
        del data["common_messages"]["no_records"]

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", drop)
    assert "common_messages.no_records: missing: the engine says with it why a rule was not evaluated" in problems(rules)


def test_a_threshold_without_a_comparison(rules):
    def drop_comparison(data):
        del entry(data["parameters"], "id", "vehicle.pre_event_seconds")["comparison"]

    edit_pack_yaml(rules / "national-2021" / "parameters.yaml", drop_comparison)
    found = problems(rules)
    assert any(p.startswith("vehicle.pre_event_seconds: a threshold needs an explicit comparison") for p in found), found


def test_an_unknown_condition_in_applies_to(rules):
    def misspell(data):
        entry(data["rules"], "id", "VEH-09")["applies_to"] = {"activities": ["road_test"], "requires": ["nigth"]}

    edit_pack_yaml(rules / "anhui-2025" / "rules.yaml", misspell)
    found = problems(rules)
    assert any(p.startswith("VEH-09: applies_to names unknown condition 'nigth'") for p in found), found


def test_an_unknown_material(rules):
    def add_material(data):
        entry(data["parameters"], "id", "materials.operation")["values"][0]["value"]["always"].append("business_licence")

    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml", add_material)
    assert "materials.operation: unknown material 'business_licence'" in problems(rules)


def test_two_values_on_the_same_date(rules):
    def duplicate(data):
        values = entry(data["parameters"], "id", "scope.max_period_months")["values"]
        values.append(dict(values[0]))

    edit_pack_yaml(rules / "national-2021" / "parameters.yaml", duplicate)
    found = [str(p) for p in lint_pack(load_pack(str(rules / "national-2021")))]
    assert "scope.max_period_months: two values share an effective date" in found


def test_a_section_that_closes_before_it_opens(rules):
    def reverse(data):
        entry(data["sections"], "id", "AQ-001")["closed"] = "2022-12-31"

    edit_pack_yaml(rules / "anhui-2025" / "sections.yaml", reverse)
    assert "section AQ-001: closes before it opens" in problems(rules)


def test_cli_lint_reports_a_broken_copy_and_exits_1(rules):
    def cite(data):
        entry(data["rules"], "id", "VEH-01")["citation"] = {"source": "XX-1999", "locator": "nowhere"}

    edit_pack_yaml(rules / "anhui-2025" / "rules.yaml", cite)
    proc = run_cli("rules", "lint", rules_dir=rules)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "VEH-01: cites unknown source 'XX-1999'" in proc.stdout
    assert "national-2021" in proc.stdout  # the other pack is still linted
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- a pack that does not load


YAML_ERROR = "rules:\n  - id: VEH-01\n    citation: {source: AH-2025, locator: [unclosed\n"


def test_a_yaml_syntax_error_is_a_pack_error(rules):
    (rules / "anhui-2025" / "rules.yaml").write_text(YAML_ERROR, encoding="utf-8")
    with pytest.raises(PackError) as exc:
        anhui(rules)
    assert "rules.yaml" in str(exc.value) and "not valid YAML" in str(exc.value)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize(
    "args",
    [
        ("rules", "lint"),
        ("rules", "lint", "--pack", "anhui-2025"),
        ("rules", "list"),
        ("rules", "show", "EVD-01"),
        ("check", "examples/da-compliant.yaml", "--as-of", "2026-11-27"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_cli_yaml_syntax_error_exits_2_without_a_traceback(rules, args):
    (rules / "anhui-2025" / "rules.yaml").write_text(YAML_ERROR, encoding="utf-8")
    proc = run_cli(*args, rules_dir=rules)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "not valid YAML" in proc.stderr


@pytest.mark.parametrize(
    "file, text, needle",
    [
        ("pack.yaml", "- just\n- a list\n", "top level must be a mapping"),
        ("parameters.yaml", "parameters:\n  - title: no id\n", "needs a 'id'"),
        ("rules.yaml", "rules:\n  - id: VEH-01\n    confidence: very-sure\n", "malformed"),
    ],
)
def test_other_malformed_packs_are_pack_errors(rules, file, text, needle):
    (rules / "anhui-2025" / file).write_text(text, encoding="utf-8")
    with pytest.raises(PackError) as exc:
        anhui(rules)
    assert needle in str(exc.value)


@pytest.mark.parametrize("param, value, needle", [
    ("driver.min_licence_years", 100000, "100000 is outside 0–200 (year)"),  # years a calendar cannot add
    ("driver.min_licence_years", 3.5, "a whole number is needed (unit: year), not 3.5"),
    ("driver.min_licence_years", "three", "a number is needed, not 'three'"),
    ("insurance.min_liability_yuan", True, "a number is needed, not True"),
    ("evidence.min_hours", -1, "-1 is outside 0–9007199254740991 (h)"),
    ("plate.renewal_window_days", 10**6, "1000000 is outside 0–73000 (day)"),
    ("evidence.sections_applied_for_only", "yes", "a switch is true or false, not 'yes'"),
    ("vehicle.allowed_categories", "passenger", "a list or a mapping is needed, not 'passenger'"),
    ("driver.licence_coverage", 5, "a list or a mapping is needed, not 5"),
    # the shape the checks read a table or a list as
    ("driver.licence_coverage", {"A1": 5}, "at ['A1']: Input should be a valid list (as DRV-02 reads it)"),
    ("vehicle.body_marking", {"road_test": ["自动驾驶道路测试"]}, "at ['demonstration_application']: Field required (as VEH-08 reads it)"),
    ("materials.road_test", {"always": "basic_information"}, "at ['always']: Input should be a valid list (as MAT-01 reads it)"),
    ("vehicle.allowed_categories", [1, 2], "at [0]: Input should be a valid string (as VEH-01 reads it)"),
    ("operation.prior_operation_gate", {"min_months": "24"}, "at ['min_months']"),
])
def test_a_parameter_value_of_the_wrong_shape_is_a_pack_error_naming_it(rules, param, value, needle):
    """A value every check reading it would fail on is refused where the pack is read (exit 2 in
    the CLI), naming the parameter and the value's date — not left to fail a check (exit 70)."""
    pack_id = "anhui-2025" if param in ("plate.renewal_window_days", "operation.prior_operation_gate") else "national-2021"
    edit_pack_yaml(rules / pack_id / "parameters.yaml", lambda d: entry(d["parameters"], "id", param)["values"][-1].update(value=value))
    with pytest.raises(PackError) as exc:
        anhui(rules)
    assert param in str(exc.value) and needle in str(exc.value), str(exc.value)
    if param == "driver.min_licence_years" and value == 100000:
        proc = run_cli("check", "examples/da-compliant.yaml", "--as-of", "2026-11-27", rules_dir=rules)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and needle in proc.stderr, (proc.returncode, proc.stderr)


def test_a_marking_may_be_one_text_per_activity(rules):
    """The shapes refuse what a check cannot read, not what it reads in another accepted form."""
    edit_pack_yaml(rules / "national-2021" / "parameters.yaml", lambda d: entry(d["parameters"], "id", "vehicle.body_marking")["values"][-1].update(
        value={"road_test": "自动驾驶道路测试", "demonstration_application": "自动驾驶示范应用", "demonstration_operation": ["自动驾驶示范运营", "自动驾驶示范应用"]}))
    assert anhui(rules).parameters["vehicle.body_marking"].values[0].value["road_test"] == "自动驾驶道路测试"


def test_a_missing_pack_file_is_a_pack_error(rules):
    (rules / "anhui-2025" / "sections.yaml").unlink()
    with pytest.raises(PackError, match="file missing"):
        anhui(rules)


@pytest.mark.parametrize("param, needle", [
    ("plate.max_validity_months", "the value from 2022-05-01 is null (not set), but PER-02 cannot judge without it"),
    ("vehicle.licence_required", "is null (not set), but DRV-02 cannot judge without it"),
])
def test_a_null_value_a_check_cannot_do_without_is_a_pack_error(rules, param, needle):
    edit_pack_yaml(rules / "national-2021" / "parameters.yaml", lambda d: entry(d["parameters"], "id", param)["values"][-1].update(value=None))
    with pytest.raises(PackError) as exc:
        anhui(rules)
    assert needle in str(exc.value), str(exc.value)


def test_a_licence_table_must_name_every_vehicle_type(rules):
    def drop_tractor(d):
        del entry(d["parameters"], "id", "vehicle.licence_required")["values"][-1]["value"]["tractor"]

    edit_pack_yaml(rules / "national-2021" / "parameters.yaml", drop_tractor)
    with pytest.raises(PackError, match=r"vehicle.licence_required: the value from .* at \['tractor'\]: Field required \(as DRV-02 reads it\)"):
        anhui(rules)


def test_any_parameter_of_any_shape_is_refused_or_judged_never_a_crash(tmp_path):
    """Every parameter of both packs, set in turn to values of other shapes: the pack is refused
    when read (a pack error), or every example is evaluated — never an exception from a check."""
    from builders import read_pack_yaml, write_pack_yaml

    from icv_permits.core.engine import evaluate
    from icv_permits.services.precheck import load_application

    apps = [load_application(p) for p in sorted((REPO / "examples").glob("*.yaml")) if p.name != "expected.yaml"][:4]
    odd = [None, "x", [1], {"a": 1}]
    n = refused = judged = 0
    for pack_id in ("national-2021", "anhui-2025"):
        base = read_pack_yaml(REPO / "rules" / pack_id / "parameters.yaml")
        for param in [p["id"] for p in base["parameters"]]:
            for value in odd:
                n += 1
                rules = copy_rules(tmp_path / str(n))
                data = read_pack_yaml(rules / pack_id / "parameters.yaml")
                entry(data["parameters"], "id", param)["values"][-1]["value"] = value
                write_pack_yaml(rules / pack_id / "parameters.yaml", data)
                try:
                    pack = load_pack(str(rules / "anhui-2025"))
                except PackError:
                    refused += 1
                    continue
                for app in apps:
                    evaluate(app, pack, AS_OF_LINT)
                judged += 1
    assert refused and judged and refused + judged == n
