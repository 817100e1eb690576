"""The packs' labels, citations and sources as the public texts support them, read through the CLI
(`icv-permits rules list --format json`): what a legal reviewer checks, rule by rule.

Also: every citation names a source entry that exists (and the entry where its quote was seen),
every source has an address or says why none is public, the comparisons agree with the
registration rules' Art. 92 (以上/以下, 不少于/不超过 include the number), and the switchable,
unset or equivalent-wording parameters behave as the packs say."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from icv_permits.adapters.packs import load_pack
from icv_permits.cli import app
from icv_permits.core.engine import evaluate
from icv_permits.core.engine.core import compare
from icv_permits.core.pack import Comparison

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
AS_OF = date(2026, 11, 27)


def rules_json(pack: str) -> dict:
    res = CliRunner().invoke(app, ["rules", "list", "--format", "json", "--pack", pack])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def anhui() -> dict:
    return rules_json("anhui-2025")


@pytest.fixture(scope="module")
def national() -> dict:
    return rules_json("national-2021")


def by_id(data: dict) -> dict[str, dict]:
    return {r["id"]: r for r in data["rules"]}


def params(data: dict) -> dict[str, dict]:
    return {p["id"]: p for p in data["parameters"]}


# ---------------------------------------------------------------- confidence per rule, as the table says

NATIONAL_CONFIDENCE = {
    "VEH-07": "national-basis", "VEH-07a": "unconfirmed",
    **{f"ENT-0{i}": "national-basis" for i in range(1, 7)}, "MAT-01": "national-basis",
    "INS-01": "confirmed", "INS-02": "national-basis", "INS-02a": "unconfirmed",
    "SCO-01": "unconfirmed", "VEH-08": "unconfirmed", "VEH-09": "unconfirmed",
    "PER-02": "confirmed",
}
ANHUI_CONFIDENCE = {
    **NATIONAL_CONFIDENCE,
    "YRD-01": "confirmed", "YRD-01a": "unconfirmed",
    "DOP-01": "confirmed", "DOP-01a": "unconfirmed", "DOP-04": "unconfirmed",
    "SCO-01": "unconfirmed", "VEH-08": "confirmed", "VEH-09": "confirmed",
}


@pytest.mark.parametrize(("rid", "confidence"), sorted(NATIONAL_CONFIDENCE.items()))
def test_national_confidence(national, rid, confidence):
    assert by_id(national)[rid]["confidence"] == confidence


@pytest.mark.parametrize(("rid", "confidence"), sorted(ANHUI_CONFIDENCE.items()))
def test_anhui_confidence(anhui, rid, confidence):
    assert by_id(anhui)[rid]["confidence"] == confidence


def test_the_split_parts_apply_where_their_core_does(anhui):
    rules = by_id(anhui)
    assert rules["INS-02"]["applies_to"]["activities"] == ["demonstration_application", "demonstration_operation"]
    assert rules["INS-02a"]["applies_to"]["activities"] == ["road_test"]
    assert rules["YRD-01a"]["applies_to"] == rules["YRD-01"]["applies_to"]
    assert rules["DOP-01a"]["applies_to"] == rules["DOP-01"]["applies_to"]
    assert rules["VEH-07a"]["applies_to"] == rules["VEH-07"]["applies_to"]
    for rid in ("VEH-07a", "INS-02a", "YRD-01a", "DOP-01a"):  # switchable: on by default, enabled: false turns it off
        assert rules[rid]["enabled"] is True
        assert "enabled: false" in rules[rid]["citation"]["note"]["en"]


def test_national_basis_includes_the_2018_text_and_says_so(anhui):
    rules = by_id(anhui)
    for rid in ("ENT-01", "ENT-02", "ENT-03", "ENT-04", "ENT-05", "ENT-06"):
        c = rules[rid]["citation"]
        assert c["source"] == "NAT-2018" and "2018" in c["note"]["en"] and "national-basis" in c["note"]["en"]
    assert "NAT-2018" in rules["MAT-01"]["citation"]["note"]["en"]
    docs = (ROOT / "docs" / "rule-packs.md").read_text(encoding="utf-8")
    assert "national-basis" in docs and "2018" in docs


# ---------------------------------------------------------------- locators and terminology


def test_registration_rules_locators(anhui):
    rules = by_id(anhui)
    per = rules["PER-02"]["citation"]
    assert per["source"] == "MVR" and per["article"] == "第四十八条"
    assert per["locator"] == {"zh": "智能网联汽车测试临时行驶车号牌", "en": "temporary plates for ICV testing"}
    assert "凭证" in per["note"]["zh"]
    ins = rules["INS-01"]["citation"]
    assert ins["source"] == "MVR" and ins["article"] == "第四十八条" and "第（二）项" in ins["locator"]["zh"]


def test_insurance_amount_is_seen_in_the_draft_for_demonstration_only(anhui):
    rules = by_id(anhui)
    assert rules["INS-02"]["citation"]["seen_in"] == "NAT-2021-DRAFT"
    assert "五百万元" in rules["INS-02"]["citation"]["quote"]
    assert "Art. 18" in rules["INS-02a"]["citation"]["note"]["en"]


def test_terms_of_the_final_text_are_shown(anhui):
    rules = by_id(anhui)
    assert "自我声明确认" in rules["PER-01"]["title"]["zh"]
    for rid in ("PER-01", "ADD-01"):
        note = rules[rid]["citation"]["note"]["zh"]
        assert "自我声明" in note and "通知书" in note
    assert "通知书" in rules["DOP-01"]["requirement"]["zh"]  # the Anhui term, as seen


def test_yrd_core_quotes_the_hefei_report(anhui):
    c = by_id(anhui)["YRD-01"]["citation"]
    assert c["seen_in"] == "HEFEI-2025" and "其他省、市核发临时行驶号牌" in c["quote"]


# ---------------------------------------------------------------- sources


@pytest.mark.parametrize("pack", ["national-2021", "anhui-2025"])
def test_every_source_has_an_address_or_says_why_not(pack):
    data = rules_json(pack)
    assert data["sources"]
    for s in data["sources"]:
        assert s["issuer"] and s["what_we_have"]["zh"] and s["what_we_have"]["en"], s["key"]
        if s["address"] is None:
            assert s["why"] and s["why"]["zh"] and s["why"]["en"], f"{s['key']}: no address and no reason"
        else:
            assert s["address"].startswith(("http://", "https://")), s["key"]


def _citations(data: dict):
    for r in data["rules"]:
        yield r["id"], r["citation"]
    for p in data["parameters"]:
        for v in p["values"]:
            yield f"{p['id']}@{v['effective_from']}", v["citation"]


@pytest.mark.parametrize("pack", ["national-2021", "anhui-2025"])
def test_every_citation_names_a_source_that_exists(pack):
    data = rules_json(pack)
    keys = {s["key"] for s in data["sources"]}
    for where, c in _citations(data):
        assert c["source"] in keys, f"{where} cites {c['source']!r}"
        if c.get("seen_in") is not None:
            assert c["seen_in"] in keys, f"{where} was seen in {c['seen_in']!r}, which is no source"


@pytest.mark.parametrize("pack", ["national-2021", "anhui-2025"])
def test_every_quote_is_traceable_to_where_it_was_read(pack):
    """A quote was read somewhere: in a report or reprint named by ``seen_in``, which has an address
    or says why none is public — never a quote from nowhere."""
    data = rules_json(pack)
    sources = {s["key"]: s for s in data["sources"]}
    for where, c in _citations(data):
        if c.get("quote"):
            assert c.get("seen_in"), f"{where}: a quote without the source it was read in"
            seen = sources[c["seen_in"]]
            assert seen["address"] or seen["why"], where


def test_the_named_sources(anhui):
    sources = {s["key"]: s for s in anhui["sources"]}
    assert {"NAT-2021", "NAT-2021-RPT", "NAT-2021-DRAFT", "NAT-2018", "MVR", "AH-2025", "AH-NEWS-SEED", "HEFEI-2025"} <= set(sources)
    assert "第九十二条" in sources["MVR"]["what_we_have"]["zh"] and "第四十八条" in sources["MVR"]["what_we_have"]["zh"]
    assert sources["HEFEI-2025"]["date"] == "2025-04-08" and sources["HEFEI-2025"]["publisher"] == "合肥在线"
    assert "seed/000_c8166205ebf78c1f.txt" in sources["AH-NEWS-SEED"]["why"]["en"]
    assert sources["NAT-2021-RPT"]["address"].startswith("https://")


def test_lint_flags_a_source_address_that_is_no_url(tmp_path):
    """An address is a web address: the schema refuses anything else (a path, a note)."""
    from icv_permits.core.pack import Source

    with pytest.raises(ValueError):
        Source.model_validate({"key": "X", "title": {"zh": "x", "en": "x"}, "issuer": "x", "address": "see the seed file",
                               "what_we_have": {"zh": "x", "en": "x"}})


# ---------------------------------------------------------------- Art. 92: 以上/以下 include the number

# the parameters whose wording in the sources is one of 不少于/不低于/以上/至少 (≥) or 不超过/以下/最长 (≤)
INCLUSIVE = {
    "driver.min_licence_years": Comparison.ge,  # 3年以上
    "evidence.min_hours": Comparison.ge,  # 不少于240小时
    "evidence.min_km": Comparison.ge,  # 不少于1000公里
    "vehicle.pre_event_seconds": Comparison.ge,  # 至少90秒
    "vehicle.retention_months": Comparison.ge,  # 不少于1年
    "insurance.min_liability_yuan": Comparison.ge,  # 不低于五百万元
    "operation.first_max_vehicles": Comparison.le,  # 不超过5辆
    "plate.max_validity_months": Comparison.le,  # 最长不超过六个月
    "notice.max_validity_months": Comparison.le,  # 不超过18个月
    "scope.max_period_months": Comparison.le,
}


@pytest.mark.parametrize(("pid", "comparison"), sorted(INCLUSIVE.items()))
def test_inclusive_wording_is_an_inclusive_comparison(anhui, pid, comparison):
    assert params(anhui)[pid]["comparison"] == comparison.value
    threshold = params(anhui)[pid]["values"][-1]["value"]
    assert compare(threshold, comparison, threshold)  # the number itself meets it


# ---------------------------------------------------------------- parameters: equivalent wording, the unset gate


def test_body_marking_lists_accepted_texts(anhui, national):
    nat = params(national)["vehicle.body_marking"]["values"][-1]
    ah = params(anhui)["vehicle.body_marking"]["values"][-1]
    assert nat["value"]["road_test"] == ["自动驾驶道路测试"] and nat["confidence"] == "unconfirmed"
    assert ah["value"]["demonstration_operation"] == ["自动驾驶示范运营", "自动驾驶示范应用"]
    assert ah["confidence"] == "unconfirmed" and "等字样" in ah["citation"]["quote"]


def test_upload_item_names_are_unconfirmed(anhui):
    assert params(anhui)["vehicle.required_upload_items"]["values"][-1]["confidence"] == "unconfirmed"


def test_the_operation_gate_is_unset_and_unconfirmed(anhui):
    gate = params(anhui)["operation.prior_operation_gate"]
    assert [v["value"] for v in gate["values"]] == [None]
    assert gate["values"][0]["confidence"] == "unconfirmed"
    assert by_id(anhui)["DOP-04"]["params"] == ["operation.prior_operation_gate"]


def _pack_with(tmp_path: Path, monkeypatch, edit) -> object:
    """A copy of both packs with anhui-2025's parameters edited by ``edit``, loaded from that copy."""
    root = tmp_path / "rules"
    shutil.copytree(RULES, root)
    path = root / "anhui-2025" / "parameters.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("ICV_PERMITS_RULES_DIR", str(root))
    return load_pack("anhui-2025")


def _example(name: str):
    from icv_permits.services.precheck import load_application

    return load_application(ROOT / "examples" / name)


def _dop04(pack) -> list:
    decision = evaluate(_example("do-compliant.yaml"), pack, AS_OF)
    return [f for f in decision.findings if f.rule_id == "DOP-04"]


def _set_gate(value):
    def edit(doc):
        p = next(p for p in doc["parameters"] if p["id"] == "operation.prior_operation_gate")
        p["values"][0]["value"] = value
    return edit


def test_unset_gate_does_not_apply():
    [f] = _dop04(load_pack("anhui-2025"))
    assert (f.outcome.value, f.reason) == ("not_applicable", "no_gate")


@pytest.mark.parametrize(("months", "outcome"), [(7, "pass"), (8, "fail")])
def test_a_gate_in_months_is_judged_from_the_demonstration_notice(tmp_path, monkeypatch, months, outcome):
    """do-compliant's demonstration notice runs from 2026-04-15: on 2026-11-27 that is 7 whole
    months — a gate of 7 is met (不少于 includes the number), 8 is not."""
    pack = _pack_with(tmp_path, monkeypatch, _set_gate({"min_months": months}))
    findings = _dop04(pack)
    assert {f.outcome.value for f in findings} == {outcome}


def test_a_gate_in_kilometres_or_trips_is_never_silent(tmp_path, monkeypatch):
    """Shanghai's gate: kilometres and supervised trips are not in any application, so the rule says
    the decision lacks them (incomplete) rather than passing quietly."""
    pack = _pack_with(tmp_path, monkeypatch, _set_gate({"min_total_km": 200000, "min_km_per_vehicle": 5000, "min_supervised_trips": 10}))
    [f] = _dop04(pack)
    assert f.outcome.value == "missing" and f.reason == "gate_not_judged"
    assert f.values["gate"] == {"min_total_km": 200000, "min_km_per_vehicle": 5000, "min_supervised_trips": 10}
    decision = evaluate(_example("do-compliant.yaml"), pack, AS_OF)
    assert decision.verdict.value == "incomplete"


def test_switching_off_an_inferred_part_leaves_the_core(tmp_path, monkeypatch):
    """A maintainer turns YRD-01a off in rules/ alone: the seen core still judges the plates."""
    root = tmp_path / "rules"
    shutil.copytree(RULES, root)
    path = root / "anhui-2025" / "rules.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  - id: YRD-01a\n", "  - id: YRD-01a\n    enabled: false\n"), encoding="utf-8")
    monkeypatch.setenv("ICV_PERMITS_RULES_DIR", str(root))
    pack = load_pack("anhui-2025")
    app_ = _example("rt-yrd-jiangsu.yaml").model_copy()
    decision = evaluate(app_, pack, AS_OF)
    outcomes = {f.rule_id: f.outcome.value for f in decision.findings if f.rule_id.startswith("YRD")}
    assert outcomes == {"YRD-01": "pass", "YRD-01a": "not_evaluated"}


# ---------------------------------------------------------------- packs logged before the split replay alike


def test_a_pack_without_the_split_parts_judges_as_before(tmp_path, monkeypatch):
    """Decisions logged with a pack that had no VEH-07a/YRD-01a/DOP-01a are replayed with that pack:
    there the core rules still judge the whole condition, as they did."""
    root = tmp_path / "rules"
    shutil.copytree(RULES, root)
    for pid, rid in (("national-2021", "VEH-07a"), ("anhui-2025", "YRD-01a"), ("anhui-2025", "DOP-01a")):
        path = root / pid / "rules.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["rules"] = [r for r in doc["rules"] if r["id"] != rid]
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("ICV_PERMITS_RULES_DIR", str(root))
    pack = load_pack("anhui-2025")
    rt = _example("rt-compliant.yaml")
    vehicles = list(rt.vehicles)
    vehicles[0] = vehicles[0].model_copy(update={"test_zone": vehicles[0].test_zone.model_copy(update={"third_party_inspection_passed": False})})
    d = evaluate(rt.model_copy(update={"vehicles": vehicles}), pack, AS_OF)
    assert {f.reason for f in d.findings if f.rule_id == "VEH-07" and f.outcome.value == "fail"} == {"no_third_party_pass"}
    do = _example("do-compliant.yaml")
    d = evaluate(do.model_copy(update={"sections": ["HF-BH-A01", "HF-GX-001"]}), pack, AS_OF)
    assert {f.reason for f in d.findings if f.rule_id == "DOP-01" and f.outcome.value == "fail"} == {"sections_not_covered"}
