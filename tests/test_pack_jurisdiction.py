"""The home province is pack data: ``pack.yaml`` ``home_province`` and the names in ``provinces``.

A pack for another province (here a small pack for Jiangsu that extends national-2021, made in a
copy of ``rules/``) judges that province's notices as the entity's home history, its texts and
reports never mention Anhui, and the office records the notices it issues as issued by it. The
national pack sets no home province: the rules that need one are not evaluated, and the office
refuses it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pendulum
import pytest
import yaml

from builders import DA, RT, SECTION, baseline, copy_rules, edit_pack_yaml, entry, make_vin, with_
from icv_permits.services import office as W
from icv_permits.core.engine import evaluate
from icv_permits.core.engine.decision import Outcome
from icv_permits.core.errors import PackError
from icv_permits.core.model.application import Application
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.adapters.packs import load_pack
from icv_permits.present.report import render
from icv_permits.present.rules import rule_detail
from icv_permits.services.precheck import FixedClock

REPO = Path(__file__).resolve().parent.parent
AS_OF = pendulum.Date(2026, 11, 27)
ANHUI = ("anhui", "安徽", "皖")
JS_SECTION = "NJ-TEST-001"


def _write(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def js_pack_dir(tmp_path_factory) -> Path:
    """A copy of ``rules/`` with ``jiangsu-test``: national-2021 with Jiangsu as home province."""
    rules = copy_rules(tmp_path_factory.mktemp("rules"))
    folder = rules / "jiangsu-test"
    folder.mkdir()
    _write(folder / "pack.yaml", {
        "id": "jiangsu-test", "version": "0.1", "extends": "national-2021",
        "title": {"zh": "江苏测试规则包", "en": "Jiangsu test pack"},
        "description": {"zh": "测试用", "en": "for tests"},
        "jurisdiction": {"zh": "江苏省", "en": "Jiangsu Province"},
        "home_province": "jiangsu",
        "numbering": {"prefix": "JS", "notice": {"road_test": "{prefix}-RT-{year}-{seq:04d}",
                                                  "demonstration_application": "{prefix}-DA-{year}-{seq:04d}",
                                                  "demonstration_operation": "{prefix}-DO-{year}-{seq:04d}"},
                      "plate": "{prefix}-TP-{year}-{seq:05d}"},
        "sample_sections_note": {"zh": "示例路段", "en": "sample sections"},
    })
    _write(folder / "sources.yaml", {"sources": [{"key": "ICVP-OFFICE", "title": {"zh": "办理惯例", "en": "office practice"},
                                                  "issuer": "icv-permits", "what_we_have": {"zh": "本工具设定", "en": "set by this tool"}}]})
    _write(folder / "rules.yaml", {"rules": []})
    _write(folder / "parameters.yaml", {"parameters": [{
        "id": "plate.renewal_window_days", "title": {"zh": "换领天数", "en": "renewal window"}, "unit": "day", "kind": "window",
        "values": [{"effective_from": "2021-09-01", "value": 30, "citation": {"source": "ICVP-OFFICE", "locator": "本工具设定"},
                    "confidence": "unconfirmed"}]}]})
    _write(folder / "sections.yaml", {"sections": [{
        "id": JS_SECTION, "name": {"zh": "南京测试路段", "en": "Nanjing test road"}, "city": {"zh": "南京", "en": "Nanjing"},
        "kind": "urban_road", "activities": ["road_test", "demonstration_application", "demonstration_operation"],
        "night": True, "opened": "2024-01-01"}]})
    return folder


def _neutral(app: dict[str, Any]) -> dict[str, Any]:
    """``app`` on the Jiangsu section, with an entity, drivers and numbers that name no province."""
    out = with_(app, "entity.name", "南京测试智行科技有限公司", "application_id", "JS-TEST-0001", "sections", [JS_SECTION])
    for v in out["vehicles"]:
        for p in v.get("prior_testing", []):
            p["section"] = JS_SECTION
    for n in out["notices"]:
        n["sections"] = [JS_SECTION if s == SECTION else s for s in n.get("sections", [])]
    if out["entity"].get("operating_qualification"):
        out["entity"]["operating_qualification"]["permit_number"] = "TEST-PERMIT-1"
    return out


def _notice(number: str, province: str, **kw: Any) -> dict[str, Any]:
    return {"number": number, "kind": RT, "issuer_province": province, "issued": "2025-01-10", "valid_until": "2026-12-31",
            "vins": [make_vin(1)], "sections": [JS_SECTION], "plates_issued": "2025-01-10", "plates_valid_until": "2025-07-09", **kw}


def _history_app() -> dict[str, Any]:
    """A road test listing a Jiangsu notice valid 2 years (too long: PER-01) and an equally long
    notice of Shanghai (not home history here, so not judged by PER-01)."""
    return with_(_neutral(baseline(RT)), "notices", [_notice("JS-RT-2025-0007", "jiangsu"), _notice("SH-RT-2025-0001", "shanghai")])


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("ICV_PERMITS_LANG", None)
    return subprocess.run([sys.executable, "-m", "icv_permits.cli", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)


def test_the_shipped_packs_name_their_home_province():
    assert load_pack("anhui-2025").meta.home_province.value == "anhui"
    national = load_pack("national-2021")
    assert national.meta.home_province is None and national.meta.numbering is None
    assert national.home_name("zh") == "本省" and national.home_name("en") == "the home province"
    assert "{home_province}" not in national.rules["REC-01"].requirement.zh


def test_a_notice_of_the_packs_home_province_is_home_history(js_pack_dir):
    js = load_pack(str(js_pack_dir))
    assert js.meta.home_province.value == "jiangsu" and js.chain == ["jiangsu-test", "national-2021"]
    app = Application.model_validate(_history_app())
    d = evaluate(app, js, AS_OF)
    per = [f for f in d.findings if f.rule_id == "PER-01"]
    assert [(f.outcome, f.reason, f.values["notice"]) for f in per] == [(Outcome.warned, "notice_too_long", "JS-RT-2025-0007")]
    # under the Anhui pack the same Jiangsu notice is another province's: PER-01 does not judge it
    ah = evaluate(app, load_pack("anhui-2025"), AS_OF)
    assert [f.reason for f in ah.findings if f.rule_id == "PER-01"] == ["ok"]


def test_the_national_pack_without_a_home_province_does_not_evaluate_home_rules():
    app = Application.model_validate(_history_app())
    national = load_pack("national-2021")
    d = evaluate(app, national, AS_OF)
    got = {f.rule_id: (f.outcome, f.reason) for f in d.findings if f.rule_id in ("PER-01", "PER-02")}
    assert got == {"PER-01": (Outcome.not_evaluated, "no_home_province"), "PER-02": (Outcome.not_evaluated, "no_home_province")}
    text = render(d, national, "text", "en")
    assert "sets no home province" in text and "home_province" in text
    assert "规则包未设定本省" in render(d, national, "text", "zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_no_report_of_another_province_mentions_anhui(js_pack_dir, tmp_path, lang, fmt):
    path = tmp_path / "app.yaml"
    _write(path, _history_app())
    r = _cli("check", str(path), "--pack", str(js_pack_dir), "--as-of", AS_OF.isoformat(), "--format", fmt, "--lang", lang)
    assert r.returncode in (0, 1, 3), r.stderr
    assert "PER-01" in r.stdout and "JS-RT-2025-0007" in r.stdout
    low = r.stdout.lower()
    assert not [w for w in ANHUI if w in low], [line for line in r.stdout.splitlines() if any(w in line.lower() for w in ANHUI)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rule_texts_name_the_packs_home_province(js_pack_dir, lang):
    js = load_pack(str(js_pack_dir))
    for rule in js.rules.values():
        for text in (rule.title, rule.requirement, rule.remedy, *rule.messages.values(), *rule.remedies.values()):
            assert not [w for w in ANHUI if w in text(lang).lower()], (rule.id, text(lang))
    shown = rule_detail(js, "REC-01", lang)
    assert ("江苏" if lang == "zh" else "Jiangsu") in shown
    assert "安徽" in load_pack("anhui-2025").rules["REC-01"].requirement.zh


def test_the_office_records_its_notices_as_issued_by_its_province(js_pack_dir, store, tmp_path):
    js = load_pack(str(js_pack_dir))
    clk = FixedClock(pendulum.datetime(2026, 11, 27, 10, tz="Asia/Shanghai"))
    first = tmp_path / "first.yaml"
    _write(first, _neutral(with_(baseline(DA), "notices", [])))
    sub = W.submit(store, first, actor="审核员", clock=clk, pack=js)
    res = W.decide(store, sub.submission.id, "approve", reason="同意", actor="审核员", clock=clk, pack=js)
    assert res.notice["number"] == "JS-DA-2026-0001"
    assert [p["number"] for p in res.notice["plates"]] == ["JS-TP-2026-00001"]
    # a second application of the entity: the notice on record is a Jiangsu notice, home history
    second = tmp_path / "second.yaml"
    _write(second, with_(_neutral(with_(baseline(RT), "notices", [])), "application_id", "JS-TEST-0002"))
    later = FixedClock(pendulum.datetime(2026, 12, 2, 10, tz="Asia/Shanghai"))
    sub2 = W.submit(store, second, actor="审核员", clock=later, pack=js)
    reg = sub2.decision.registry
    assert [(n.number, n.issuer_province.value) for n in reg.notices] == [("JS-DA-2026-0001", "jiangsu")]
    rec = [f for f in sub2.decision.findings if f.rule_id == "REC-01"]
    assert [(f.reason, f.observed) for f in rec] == [("history_from_record", ["JS-DA-2026-0001"])]
    assert [f.reason for f in sub2.decision.findings if f.rule_id == "PER-01"] == ["ok"]
    for lang in ("zh", "en"):
        text = render(sub2.decision, js, "text", lang)
        assert ("江苏通知书 1 份" if lang == "zh" else "1 Jiangsu notices on record") in text
        assert not [w for w in ANHUI if w in text.lower()]


def test_the_office_refuses_a_pack_without_a_home_province(store, tmp_path):
    path = tmp_path / "app.yaml"
    _write(path, baseline(DA))
    with pytest.raises(PackError) as e:
        W.submit(store, path, actor="审核员", pack="national-2021")
    assert "home_province" in str(e.value) and "numbering" in str(e.value)
    assert "national-2021" in e.value.render("zh") and "未设定" in e.value.render("zh")


def test_a_child_pack_inherits_the_home_province_and_numbering(tmp_path):
    rules = copy_rules(tmp_path)
    city = rules / "hefei-test"
    city.mkdir()
    _write(city / "pack.yaml", {"id": "hefei-test", "version": "0.1", "extends": "anhui-2025",
                                "title": {"zh": "合肥", "en": "Hefei"}, "description": {"zh": "测试", "en": "test"},
                                "jurisdiction": {"zh": "合肥市", "en": "Hefei"},
                                "provinces": {"anhui": {"zh": "安徽省", "en": "Anhui Province"}}})
    for name in ("sources", "rules", "parameters", "sections"):
        _write(city / f"{name}.yaml", {})
    p = load_pack(str(city))
    assert p.meta.home_province.value == "anhui" and p.meta.numbering.prefix == "AH"
    assert p.home_name("en") == "Anhui Province" and p.meta.provinces["jiangsu"].zh == "江苏"  # merged by province
    assert "Anhui Province notices" in p.rules["REC-01"].requirement.en


def test_home_province_must_be_named_and_not_other(tmp_path):
    rules = copy_rules(tmp_path)
    edit_pack_yaml(rules / "anhui-2025" / "pack.yaml", lambda d: {**d, "home_province": "other"})
    with pytest.raises(PackError, match="home_province"):
        load_pack(str(rules / "anhui-2025"))
    edit_pack_yaml(rules / "anhui-2025" / "pack.yaml", lambda d: {**d, "home_province": "anhui"})
    edit_pack_yaml(rules / "national-2021" / "pack.yaml", lambda d: {k: v for k, v in d.items() if k != "provinces"})
    with pytest.raises(PackError, match="no zh/en name under provinces"):
        load_pack(str(rules / "anhui-2025"))


def test_the_revision_covers_the_home_province(tmp_path):
    rules = copy_rules(tmp_path)
    before = load_pack("anhui-2025").revision
    edit_pack_yaml(rules / "national-2021" / "pack.yaml",
                   lambda d: {**d, "provinces": {**d["provinces"], "anhui": {"zh": "安徽省", "en": "Anhui Province"}}})
    after = load_pack(str(rules / "anhui-2025"))
    assert after.revision != before and "安徽省" in after.rules["REC-01"].requirement.zh


def test_a_pack_snapshot_from_before_home_provinces_replays_with_anhui():
    import json

    from icv_permits.services.audit import _pack_from_text, model_text

    pack = load_pack("anhui-2025")
    data = json.loads(model_text(pack))  # the older form of a snapshot: the validated pack
    for key in ("home_province", "provinces", "numbering"):
        del data["meta"][key]
    old = _pack_from_text(json.dumps(data, ensure_ascii=False), pack.revision)
    assert old.meta.home_province.value == "anhui" and old.home_name("zh") == "安徽"
    app = Application.model_validate(with_(baseline(RT), "notices", [_notice("AH-RT-2025-0001", "anhui", sections=[SECTION])]))
    assert evaluate(app, old, AS_OF).to_json_dict()["findings"] == evaluate(app, pack, AS_OF).to_json_dict()["findings"]


def test_a_records_rule_a_pack_lets_apply_to_a_pre_check_is_not_evaluated_not_a_crash(tmp_path):
    """REC-01 and REC-02 read the office's records. A maintainer who drops ``requires: [on_record]``
    from their applicability makes them apply to a pre-check too, where there are no records: they
    are then *not evaluated*, saying why (zh/en), instead of failing the whole check."""
    rules = copy_rules(tmp_path)

    def open_to_pre_checks(data):
        for rid in ("REC-01", "REC-02"):
            entry(data["rules"], "id", rid)["applies_to"].pop("requires")

    edit_pack_yaml(rules / "national-2021" / "rules.yaml", open_to_pre_checks)
    pack = load_pack(str(rules / "anhui-2025"))
    app = Application.model_validate(baseline(DA))
    d = evaluate(app, pack, AS_OF)
    got = {f.rule_id: (f.outcome, f.reason) for f in d.findings if f.rule_id in ("REC-01", "REC-02")}
    assert got == {"REC-01": (Outcome.not_evaluated, "no_records"), "REC-02": (Outcome.not_evaluated, "no_records")}
    assert "applies only when a submission is reviewed" in " ".join(render(d, pack, "text", "en").split())  # (lines wrapped)
    assert "仅在审核提交时适用" in "".join(render(d, pack, "text", "zh").split())
    # under review (records given) the same pack judges them
    registry = RegistryFacts(database="sqlite 0003", read_at="2026-11-27T02:00:00.000000Z", notices=[], vins_elsewhere=[], driver_loads=[])
    reviewed = evaluate(app, pack, AS_OF, registry=registry)
    assert {f.rule_id: f.outcome for f in reviewed.findings if f.rule_id in ("REC-01", "REC-02")} == {"REC-01": Outcome.passed, "REC-02": Outcome.passed}
