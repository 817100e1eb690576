"""``icv-permits rules test`` and the threshold check of ``rules lint``: the packs' own cases
(``rules/<pack>/tests/*.yaml``) pass; a threshold edited without its case makes them fail; a
malformed test file is bad input (exit 2) naming the file, the case and the field.

Negative tests copy ``rules/`` (and ``examples/``, which the cases take as bases) into a temporary
folder, edit the copy and run the CLI with ``ICV_PERMITS_RULES_DIR`` pointing at it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from builders import REPO, copy_rules, edit_pack_yaml, entry

from icv_permits.adapters.packs import load_pack
from icv_permits.core.pack_tests import apply_changes, parse_path, shifted
from icv_permits.services.rules import coverage_gaps, run_tests

PACKS = ("anhui-2025", "national-2021")


def run_cli(*args: str, rules_dir: Path | None = None, lang: str = "en") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_RULES_DIR", "ICV_PERMITS_DEBUG")}
    env["ICV_PERMITS_LANG"] = lang
    env["ICV_PERMITS_CACHE_DIR"] = "off"
    if rules_dir is not None:
        env["ICV_PERMITS_RULES_DIR"] = str(rules_dir)
    return subprocess.run([sys.executable, "-m", "icv_permits.cli", *args], check=False, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    return copy_rules(tmp_path)


# ---------------------------------------------------------------- the shipped cases


def test_every_case_of_both_packs_passes():
    proc = run_cli("rules", "test")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout
    for pid in PACKS:
        assert f"rules/{pid}/tests/thresholds.yaml: EVD-01 240 h exactly suffices" in proc.stdout
    assert "anhui-2025: 44 of 44 case(s) pass" in proc.stdout


def test_each_pack_runs_only_its_own_cases_against_itself():
    results = run_tests("anhui-2025")
    assert set(results) == {"anhui-2025"}
    assert {r.file for r in results["anhui-2025"]} == {"rules/anhui-2025/tests/thresholds.yaml", "rules/anhui-2025/tests/labels.yaml"}
    assert all(r.passed for r in results["anhui-2025"])
    national = run_tests("national-2021")["national-2021"]
    assert not any(r.name.startswith("DOP-02") for r in national)  # Anhui's rule, not in the national pack


def test_the_output_is_chinese_with_lang_zh():
    proc = run_cli("rules", "test", "--pack", "national-2021", lang="zh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "通过  rules/national-2021/tests/thresholds.yaml" in proc.stdout
    assert "national-2021：23 个用例中 23 个通过" in proc.stdout


@pytest.mark.parametrize(
    "pid, rule, param",
    [
        ("anhui-2025", "EVD-01", "evidence.min_hours"),
        ("anhui-2025", "EVD-01", "evidence.min_km"),
        ("anhui-2025", "DRV-02", "driver.min_licence_years"),
        ("anhui-2025", "INS-02", "insurance.min_liability_yuan"),
        ("anhui-2025", "SCO-02", "scope.max_period_months"),
        ("anhui-2025", "DOP-02", "operation.first_max_vehicles"),
        ("anhui-2025", "PER-01", "notice.max_validity_months"),
        ("anhui-2025", "PER-02", "plate.max_validity_months"),
        ("national-2021", "EVD-01", "evidence.min_hours"),
        ("national-2021", "INS-02", "insurance.min_liability_yuan"),
        ("national-2021", "SCO-02", "scope.max_period_months"),
    ],
)
def test_the_cases_pin_each_side_of_these_thresholds(pid, rule, param):
    gaps = {(g.rule, g.param) for g in coverage_gaps(pid)}
    assert (rule, param) not in gaps


def test_moving_a_threshold_one_unit_makes_a_case_fail():
    pack = load_pack("anhui-2025")
    assert shifted(pack, "evidence.min_hours", 1).parameters["evidence.min_hours"].values[-1].value == 241
    assert shifted(pack, "evidence.min_hours", 1).revision != pack.revision
    assert pack.parameters["evidence.min_hours"].values[-1].value == 240  # the loaded pack is untouched


# ---------------------------------------------------------------- a threshold edited without its case


def _set_min_hours(value):
    def edit(data):
        entry(data["parameters"], "id", "evidence.min_hours")["values"][-1]["value"] = value
    return edit


def test_a_threshold_edited_without_its_case_fails_rules_test(rules_copy):
    edit_pack_yaml(rules_copy / "anhui-2025" / "parameters.yaml", _set_min_hours(250))
    proc = run_cli("rules", "test", "--pack", "anhui-2025", rules_dir=rules_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL  rules/anhui-2025/tests/thresholds.yaml: EVD-01 240 h exactly suffices" in proc.stdout
    assert "EVD-01: expected pass, got fail" in proc.stdout
    # the national pack, whose value did not change, still passes
    assert run_cli("rules", "test", "--pack", "national-2021", rules_dir=rules_copy).returncode == 0


def test_a_threshold_edited_without_its_case_is_named_by_rules_lint(rules_copy):
    before = run_cli("rules", "lint", "--pack", "anhui-2025", rules_dir=rules_copy)
    assert "evidence.min_hours" not in before.stdout
    edit_pack_yaml(rules_copy / "anhui-2025" / "parameters.yaml", _set_min_hours(250))
    proc = run_cli("rules", "lint", "--pack", "anhui-2025", "--strict", rules_dir=rules_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ("EVD-01: parameter evidence.min_hours = 250: no pack test case of EVD-01 changes its outcome "
            "when the value is moved to 251") in proc.stdout
    # without --strict the same gap is a warning: lint's exit stays that of the other checks
    proc = run_cli("rules", "lint", "--pack", "anhui-2025", rules_dir=rules_copy)
    assert proc.returncode == 0 and "warning" in proc.stdout and "evidence.min_hours = 250" in proc.stdout


def test_the_case_changed_with_the_threshold_passes_again(rules_copy):
    """What a maintainer does: change the value, and the case beside it, without Python."""
    edit_pack_yaml(rules_copy / "anhui-2025" / "parameters.yaml", _set_min_hours(250))
    path = rules_copy / "anhui-2025" / "tests" / "thresholds.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('hours: "240", km: "0"', 'hours: "250", km: "0"').replace('hours: "239.99", km: "999.99"', 'hours: "249.99", km: "999.99"')
    path.write_text(text, encoding="utf-8")
    proc = run_cli("rules", "test", "--pack", "anhui-2025", rules_dir=rules_copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {(g.rule, g.param) for g in coverage_gaps(str(rules_copy / "anhui-2025"))} & {("EVD-01", "evidence.min_hours")} == set()


def test_the_tests_are_not_part_of_the_revision(rules_copy):
    with_tests = load_pack(str(rules_copy / "anhui-2025")).revision
    assert with_tests == load_pack("anhui-2025").revision
    shutil.rmtree(rules_copy / "anhui-2025" / "tests")
    from icv_permits.adapters.packs import _load_cached

    _load_cached.cache_clear()
    assert load_pack(str(rules_copy / "anhui-2025")).revision == with_tests


# ---------------------------------------------------------------- malformed test files: exit 2


BAD = [
    ("cases: []\n", "cases"),
    ("cases:\n  - name: odd\n    base: examples/da-compliant.yaml\n    as_of: 2026-11-27\n    expect: {EVD-01: maybe}\n",
     "case “odd”: expect.EVD-01"),
    ("cases:\n  - name: no date\n    base: examples/da-compliant.yaml\n    expect: {EVD-01: pass}\n", "case “no date”: as_of"),
    ("cases:\n  - name: typo\n    base: examples/da-compliant.yaml\n    as_of: 2026-11-27\n    expcet: {EVD-01: pass}\n",
     "case “typo”: expcet"),
    ("cases:\n  - name: unknown rule\n    base: examples/da-compliant.yaml\n    as_of: 2026-11-27\n    expect: {XYZ-99: pass}\n",
     "case “unknown rule”: expect: rule XYZ-99 is not in pack anhui-2025"),
    ("cases:\n  - name: no base\n    base: examples/nothing.yaml\n    as_of: 2026-11-27\n    expect: {EVD-01: pass}\n",
     "case “no base”: base: examples/nothing.yaml is neither"),
    ("cases:\n  - name: bad path\n    base: examples/da-compliant.yaml\n    as_of: 2026-11-27\n    changes:\n      vehicles[9].vin: X\n    expect: {EVD-01: pass}\n",
     "case “bad path”: changes: cannot be applied"),
    ("cases:\n  - name: bad value\n    base: examples/da-compliant.yaml\n    as_of: 2026-11-27\n    changes:\n      vehicles[0].rated_seats: many\n    expect: {EVD-01: pass}\n",
     "case “bad value”: vehicles[0].rated_seats"),
    ("cases: [\n", "not valid YAML"),
    (("cases:\n  - {name: twice, base: examples/da-compliant.yaml, as_of: 2026-11-27, expect: {EVD-01: pass}}\n"
      "  - {name: twice, base: examples/da-compliant.yaml, as_of: 2026-11-27, expect: {EVD-01: fail}}\n"),
     "cases[1].name: the case name “twice” appears twice"),
]


@pytest.mark.parametrize("text, names", BAD)
def test_a_malformed_test_file_exits_2_naming_file_case_and_field(rules_copy, text, names):
    (rules_copy / "anhui-2025" / "tests" / "broken.yaml").write_text(text, encoding="utf-8")
    proc = run_cli("rules", "test", "--pack", "anhui-2025", rules_dir=rules_copy)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "broken.yaml" in out and names in out, out
    assert "Traceback" not in out


# ---------------------------------------------------------------- changes: dotted paths with list indexes


def test_paths_and_changes():
    assert parse_path("vehicles[0].prior_testing[1].hours") == ["vehicles", 0, "prior_testing", 1, "hours"]
    for bad in ("", "[0]", "a..b", "a[x]", "a.[0]b"):
        with pytest.raises(ValueError):
            parse_path(bad)
    base = {"a": [{"b": 1}], "c": None}
    out = apply_changes(base, {"a[0].b": 2, "c.d": 3, "a[1]": {"b": 4}})
    assert out == {"a": [{"b": 2}, {"b": 4}], "c": {"d": 3}}
    assert base == {"a": [{"b": 1}], "c": None}  # the base is not changed
    with pytest.raises(ValueError, match="a\\[5\\]"):
        apply_changes(base, {"a[5].b": 1})


def test_a_base_defined_in_the_test_file(rules_copy):
    import textwrap

    example = (REPO / "examples" / "da-compliant.yaml").read_text(encoding="utf-8")
    text = ("bases:\n  mine:\n" + textwrap.indent(example, "    ")
            + "cases:\n  - name: own base\n    base: mine\n    as_of: 2026-11-27\n    changes:\n"
              "      insurance[1].amount_yuan: 4999999\n    expect: {INS-02: fail, EVD-01: pass}\n")
    tests = rules_copy / "anhui-2025" / "tests"
    for f in tests.glob("*.yaml"):
        f.unlink()
    (tests / "own.yaml").write_text(text, encoding="utf-8")
    proc = run_cli("rules", "test", "--pack", "anhui-2025", rules_dir=rules_copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pass  rules/anhui-2025/tests/own.yaml: own base" in proc.stdout


def test_a_pack_without_tests_says_so(rules_copy):
    shutil.rmtree(rules_copy / "national-2021" / "tests")
    proc = run_cli("rules", "test", "--pack", "national-2021", rules_dir=rules_copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "national-2021: no test cases" in proc.stdout
