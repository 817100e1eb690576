"""The example applications in ``examples/`` give exactly what ``examples/expected.yaml`` says.

Each example is judged as of 2026-11-27 with the default pack (anhui-2025): through the service
layer (verdict, failing rule IDs, missing fields) and through the real command line, once as text
and once as JSON (exit code, rule IDs named, verdict). Every example file must be listed in
``expected.yaml``, every identifier in an example must be valid unless the example is about a
wrong one, and each example must fail only the rules it is about.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest
import yaml

from icv_permits.core.engine.decision import Outcome
from icv_permits.core.model.application import Period
from icv_permits.core.model.ids import resident_id_problems, uscc_problems, vin_problems
from icv_permits.present import report as render
from icv_permits.services.precheck import (
    check_application,
    check_file,
    load_application,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXPECTED_FILE = EXAMPLES / "expected.yaml"
AS_OF = pendulum.Date(2026, 11, 27)
AS_OF_TEXT = "2026-11-27"

EXPECTED: dict = yaml.safe_load(EXPECTED_FILE.read_text(encoding="utf-8"))
CASES: dict[str, dict] = EXPECTED["examples"]
NAMES = sorted(CASES)

EXIT_BY_VERDICT = {"compliant": 0, "non_compliant": 1, "incomplete": 3}
# Rules about identifiers: an example whose expected failures include one may hold a wrong identifier.
ID_RULES = {"vin": "VEH-10", "credit_code": "ENT-01", "member_code": "ENT-07", "id_number": "DRV-08"}


def _run_cli(name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("ICV_PERMITS_LANG", None)
    env.pop("ICV_PERMITS_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "icv_permits.cli", "check", str(EXAMPLES / name), "--as-of", AS_OF_TEXT, *extra],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        timeout=120,
    )


# ------------------------------------------------------------------ the list itself


def test_every_example_file_is_listed_and_every_listed_file_exists():
    on_disk = {
        p.name
        for p in EXAMPLES.iterdir()
        if p.is_file() and p.suffix in (".yaml", ".yml", ".json") and p.name != EXPECTED_FILE.name
    }
    assert sorted(on_disk - set(CASES)) == [], "example files not listed in examples/expected.yaml"
    assert sorted(set(CASES) - on_disk) == [], "examples/expected.yaml lists files that do not exist"


def test_expected_file_header_and_both_formats():
    assert EXPECTED["as_of"] == AS_OF_TEXT
    assert EXPECTED["pack"] == "anhui-2025"
    assert any(n.endswith(".json") for n in CASES), "at least one example should be JSON"
    assert any(n.endswith(".yaml") for n in CASES), "at least one example should be YAML"
    verdicts = {c["verdict"] for c in CASES.values()}
    assert verdicts == {"compliant", "non_compliant", "incomplete"}
    activities = {c["activity"] for c in CASES.values()}
    assert activities == {"road_test", "demonstration_application", "demonstration_operation"}


@pytest.mark.parametrize("name", NAMES)
def test_expected_entry_is_well_formed(name):
    case = CASES[name]
    assert set(case) <= {"activity", "verdict", "exit_code", "failing_rules", "warning_rules", "missing_fields", "about", "consequences"}
    assert case["exit_code"] == EXIT_BY_VERDICT[case["verdict"]]
    assert case["failing_rules"] == sorted(set(case["failing_rules"]))
    assert case["missing_fields"] == sorted(set(case["missing_fields"]))
    assert bool(case["failing_rules"]) == (case["verdict"] == "non_compliant")
    assert bool(case["missing_fields"]) == (case["verdict"] == "incomplete")
    assert case["about"]["zh"].strip() and case["about"]["en"].strip()
    if len(case["failing_rules"]) > 1:
        assert "consequences" in case, "say why more than one rule fails"


# ------------------------------------------------------------------ the engine, through the service


@pytest.mark.parametrize("name", NAMES)
def test_example_decision(name):
    case = CASES[name]
    result = check_file(EXAMPLES / name, as_of=AS_OF)
    d = result.decision
    assert d.pack_id == EXPECTED["pack"]
    assert d.as_of == AS_OF_TEXT
    assert d.activity == case["activity"]
    assert d.verdict.value == case["verdict"], render.render(d, result.pack, "text", "en")
    assert d.failing_rule_ids() == case["failing_rules"], render.render(d, result.pack, "text", "en")
    assert d.missing_fields == case["missing_fields"], render.render(d, result.pack, "text", "en")
    assert result.exit_code == case["exit_code"]
    # Only the warnings it expects, and nothing left unevaluated: each example shows only what it is about.
    warned = sorted({f.rule_id for f in d.findings if f.outcome is Outcome.warned})
    assert warned == sorted(case.get("warning_rules", [])), warned
    assert d.counts[Outcome.not_evaluated.value] == 0


@pytest.mark.parametrize("name", NAMES)
def test_example_renders_in_every_format_and_language(name):
    result = check_file(EXAMPLES / name, as_of=AS_OF)
    for lang in ("zh", "en"):
        for fmt in ("text", "markdown", "json"):
            out = render.render(result.decision, result.pack, fmt, lang)
            assert out.strip()
            for rule_id in CASES[name]["failing_rules"]:
                assert rule_id in out, (lang, fmt, rule_id)


# ------------------------------------------------------------------ the real command line


@pytest.mark.parametrize("name", NAMES)
def test_example_cli_text(name):
    case = CASES[name]
    proc = _run_cli(name, "--lang", "zh")
    assert proc.returncode == case["exit_code"], proc.stderr
    assert proc.stderr == ""
    for rule_id in case["failing_rules"]:
        assert rule_id in proc.stdout
    if case["verdict"] == "compliant":
        assert "✗" not in proc.stdout


@pytest.mark.parametrize("name", NAMES)
def test_example_cli_json(name):
    case = CASES[name]
    proc = _run_cli(name, "--format", "json", "--lang", "en")
    assert proc.returncode == case["exit_code"], proc.stderr
    data = json.loads(proc.stdout)
    assert data["verdict"] == case["verdict"]
    assert data["as_of"] == AS_OF_TEXT
    assert data["pack_id"] == EXPECTED["pack"]
    failing = sorted({f["rule_id"] for f in data["findings"] if f["outcome"] == "fail"})
    assert failing == case["failing_rules"]
    assert data["missing_fields"] == case["missing_fields"]


# ------------------------------------------------------------------ identifiers in the examples


def _identifier_problems(name: str) -> dict[str, list[str]]:
    """Invalid identifiers of an example, by kind (vin, credit_code, member_code, id_number)."""
    app = load_application(EXAMPLES / name)
    found: dict[str, list[str]] = {k: [] for k in ID_RULES}
    vins = {v.vin for v in app.vehicles}
    vins |= {x for p in app.insurance for x in p.vins}
    vins |= {i.vin for i in app.incidents}
    vins |= {x for n in app.notices for x in n.vins}
    found["vin"] = sorted(v for v in vins if vin_problems(v))
    if uscc_problems(app.entity.credit_code):
        found["credit_code"].append(app.entity.credit_code)
    if app.entity.consortium is not None:
        found["member_code"] = [m.credit_code for m in app.entity.consortium.members if uscc_problems(m.credit_code)]
    found["id_number"] = [d.ref for d in app.drivers if resident_id_problems(d.id_number)]
    return found


@pytest.mark.parametrize("name", NAMES)
def test_identifiers_are_valid_unless_the_example_is_about_one(name):
    failing = set(CASES[name]["failing_rules"])
    for kind, bad in _identifier_problems(name).items():
        if ID_RULES[kind] in failing:
            assert bad, f"{name} is about a wrong {kind} but has none"
        else:
            assert bad == [], f"{name}: invalid {kind}: {bad}"


@pytest.mark.parametrize("name", NAMES)
def test_insurance_and_incidents_refer_to_vehicles_of_the_application(name):
    app = load_application(EXAMPLES / name)
    vins = {v.vin for v in app.vehicles}
    for p in app.insurance:
        assert set(p.vins) <= vins, (p.number, sorted(set(p.vins) - vins))
    for i in app.incidents:
        assert i.vin in vins, i.vin


def test_wrong_vin_example_says_which_digit():
    result = check_file(EXAMPLES / "fail-vin-check-digit.yaml", as_of=AS_OF)
    [f] = [f for f in result.decision.failures() if f.rule_id == "VEH-10"]
    # The problem is named either by the reason code or by a "problem" value.
    assert "check_digit" in f"{f.reason} {f.values.get('problem', '')}"
    assert (f.values["position"], f.values["found"], f.values["expected"]) == (9, "7", "0")


# ------------------------------------------------------------------ the 239 h / 999 km example


def test_prior_testing_239h_999km_says_one_hour_or_one_km_to_go():
    result = check_file(EXAMPLES / "fail-prior-testing-239h-999km.yaml", as_of=AS_OF)
    [f] = [f for f in result.decision.failures() if f.rule_id == "EVD-01"]
    assert f.subject.path == "vehicles[1]"
    assert f.values["hours"] == "239" and f.values["km"] == "999"
    assert f.values["need_hours"] == "1" and f.values["need_km"] == "1"
    assert "还需 1 小时或 1 公里" in render.message(f, result.pack, "zh")
    assert "1 h or 1 km still to go" in render.message(f, result.pack, "en")


def test_prior_testing_239h_999km_cli_messages_in_both_languages():
    for lang, text in (("zh", "还需 1 小时或 1 公里"), ("en", "1 h or 1 km still to go")):
        proc = _run_cli("fail-prior-testing-239h-999km.yaml", "--format", "json", "--lang", lang)
        assert proc.returncode == 1, proc.stderr
        data = json.loads(proc.stdout)
        messages = [f["message"] for f in data["findings"] if f["rule_id"] == "EVD-01" and f["outcome"] == "fail"]
        assert len(messages) == 1 and text in messages[0], messages


def test_da_beyond_tested_still_meets_hours():
    """EVD-04 fails while EVD-01 passes on the hours of the tested section alone."""
    result = check_file(EXAMPLES / "fail-da-beyond-tested.yaml", as_of=AS_OF)
    evd01 = [f for f in result.decision.findings if f.rule_id == "EVD-01"]
    assert [(f.outcome, f.reason) for f in evd01] == [(Outcome.passed, "ok_hours")]
    [f] = [f for f in result.decision.failures() if f.rule_id == "EVD-04"]
    assert f.observed == ["HF-GX-002"]


# ------------------------------------------------------------------ bugs found while writing the examples


def _with_period(name: str, start: pendulum.Date, end: pendulum.Date):
    app = load_application(EXAMPLES / name)
    return check_application(app.model_copy(update={"period": Period(start=start, end=end)}), as_of=AS_OF)


def test_period_of_exactly_18_months_passes():
    # 2026-12-01 to 2028-05-31, both days included, is 18 months.
    result = _with_period("fail-period-19-months.json", pendulum.Date(2026, 12, 1), pendulum.Date(2028, 5, 31))
    assert "SCO-02" not in result.decision.failing_rule_ids()


def test_period_of_18_months_and_one_day_fails():
    result = _with_period("fail-period-19-months.json", pendulum.Date(2026, 12, 1), pendulum.Date(2028, 6, 1))
    assert "SCO-02" in result.decision.failing_rule_ids()


def test_plates_valid_one_day_past_six_months_warns():
    app = load_application(EXAMPLES / "da-compliant.yaml")
    notice = app.notices[0]
    assert notice.plates_issued == pendulum.Date(2026, 6, 10)
    late = notice.model_copy(update={"valid_until": pendulum.Date(2026, 12, 10), "plates_valid_until": pendulum.Date(2026, 12, 10)})
    result = check_application(app.model_copy(update={"notices": [late]}), as_of=AS_OF)
    outcomes = {f.outcome for f in result.decision.findings if f.rule_id == "PER-02"}
    assert Outcome.warned in outcomes
