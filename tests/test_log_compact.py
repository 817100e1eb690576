"""Compact engine-decision records (record format 2, ``core/log_compact.py``): what they keep, how the
rest comes back from the pack snapshot, and that an auditor sees exactly what a record of format 1
(the whole decision) of the same decision shows — ``audit explain`` in both languages, the decision's
JSON, ``audit replay`` — for every example and ``bench/data/app-5x5.yaml``; logs holding both
formats verify, replay and export byte for byte; a changed record or snapshot is never shown as
recorded.

Store tests run on SQLite and PostgreSQL (the ``store`` fixture); the format-1 copy of a log is a
SQLite file made from its export (each engine record's body rebuilt whole, the chain recomputed)."""

from __future__ import annotations

import base64
import copy
import json
import statistics
import zlib
from datetime import date
from pathlib import Path

import pendulum
import pytest
import yaml
from builders import DA, baseline, copy_rules, edit_pack_yaml, entry, to_app
from hypothesis import given
from hypothesis import strategies as st
from test_ledger import ACTOR, bypass, cli, forged_engine_body, records, submit
from test_ledger_cli import export, fresh_sqlite
from test_properties import SETTINGS, applications

from icv_permits.adapters.packs import load_pack
from icv_permits.adapters.store import db
from icv_permits.core import log_compact as LC
from icv_permits.core.canonical import canonical_json, digest, is_plain
from icv_permits.core.engine import evaluate
from icv_permits.core.model.registry import DriverLoad, RegistryFacts, VinElsewhere
from icv_permits.present.report import render_json
from icv_permits.services import audit as ledger
from icv_permits.services import office as W
from icv_permits.services.precheck import FixedClock

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
APP_5X5 = ROOT / "bench" / "data" / "app-5x5.yaml"
PACK = load_pack("anhui-2025")
CLOCK = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, 0, tz="Asia/Shanghai"))  # the examples' as-of day
EXAMPLE_FILES = sorted(yaml.safe_load((EXAMPLES / "expected.yaml").read_text(encoding="utf-8"))["examples"])


# ---------------------------------------------------------------- helpers


def body_of(decision, snapshot: dict | None = None, masked: list | None = None) -> dict:
    """A format-1 engine body of ``decision`` (as the office writes it before compaction)."""
    return ledger.engine_body(submission_id=1, version=1, purpose="submit", engine_run_id=1, claimed_actor=ACTOR,
                              clock="2026-11-27T02:00:00.000000Z", snapshot=snapshot, masked_fields=masked or [], decision=decision)


def app_body(d: dict, registry: RegistryFacts | None = None, pack=PACK, as_of: date = date(2026, 11, 27)) -> dict:
    app = to_app(d)
    return body_of(evaluate(app, pack, as_of, None, registry), app.model_dump(mode="json"))


def payload(body: dict) -> dict:
    return LC.unseal(body["deflated"])


def resealed(body: dict, edit) -> dict:
    """``body`` with its deflated part edited (its decision digest left as it was)."""
    out = copy.deepcopy(body)
    p = payload(out)
    edit(p)
    out["deflated"] = LC.seal(p)
    return out


def format_1_copy(store, directory: Path) -> db.Store:
    """A fresh SQLite store whose log holds the same records as ``store``'s, each engine decision
    written whole (format 1) as the code before record format 2 wrote it, the chain recomputed."""
    lines = export(directory, "compact.jsonl").read_text(encoding="utf-8").splitlines()
    prev = ledger.GENESIS
    out = []
    for line in lines:
        obj = json.loads(line)
        if obj["type"] == "record":
            if obj["kind"] == "engine_decision" and "record_format" in obj["body"]:
                whole = ledger.expand_body(obj["body"], ledger.pack_from_snapshot(store, obj["body"]["pack"]["revision"]))
                assert "record_format" not in whole and set(whole) == set(obj["body"]) - {"record_format", "deflated", "decision_digest"} | {"input", "decision"}
                obj["body"] = whole
            obj["prev_hash"] = prev
            obj["hash"] = prev = ledger.record_hash(obj["seq"], obj["decision_id"], obj["kind"], obj["recorded_at"], obj["actor"],
                                                    canonical_json(obj["body"]), prev)
        out.append(obj)
    out[0]["head"]["hash"] = prev
    url = fresh_sqlite(directory, "format1.db")
    target = db.open_store(url)
    assert ledger.import_jsonl(target, [json.dumps(o, ensure_ascii=False) for o in out]).intact
    return target


def cli_on(store, *args):
    r = cli(*args, env={"ICV_PERMITS_DATABASE_URL": store.url})
    return r


def hashes_named(text: str, stores) -> str:
    """``text`` with every record hash of the stores named by its sequence number (a record's hash
    is the hash of its bytes, which differ between the formats by design)."""
    for s in stores:
        for r in records(s):
            text = text.replace(r.hash, f"<hash of {r.seq}>")
    return text


def submit_and_decide_everything(store, tmp_path) -> None:
    """Every example and app-5x5 submitted, then each decided: approved when the engine finds it
    compliant, else returned with a reason."""
    subs = [W.submit(store, EXAMPLES / name, actor=ACTOR, clock=CLOCK) for name in EXAMPLE_FILES]
    subs.append(W.submit(store, APP_5X5, actor=ACTOR, clock=CLOCK))
    for r in subs:
        compliant = r.decision.verdict.value == "compliant"
        W.decide(store, r.submission.id, "approve" if compliant else "return", reason=None if compliant else "请补正", actor=ACTOR, clock=CLOCK)


# ---------------------------------------------------------------- the same decision in both formats


def test_explain_replay_and_the_decision_are_the_same_in_both_formats_for_every_example(store, tmp_path):
    submit_and_decide_everything(store, tmp_path)
    engine = [r for r in records(store) if r.kind == "engine_decision"]
    assert len(engine) == 2 * (len(EXAMPLE_FILES) + 1)
    assert all(r.body["record_format"] == 2 for r in engine)  # none fell back to the whole decision
    assert {r.body["verdict"] for r in engine} == {"compliant", "non_compliant", "incomplete"}
    old = format_1_copy(store, tmp_path)
    assert [r.kind for r in records(old)] == [r.kind for r in records(store)]
    assert all("record_format" not in r.body for r in records(old))
    both = (store, old)
    others = [next(r for r in records(store) if r.kind == kind) for kind in ("submission", "review")]  # explained with their engine decision
    for rec in engine + others:
        for lang in ("en", "zh"):
            new_text, old_text = (cli_on(s, "audit", "explain", rec.seq, "--lang", lang) for s in both)
            assert new_text.exit_code == old_text.exit_code == 0, new_text.output + old_text.output
            assert hashes_named(new_text.stdout, both) == hashes_named(old_text.stdout, both), (rec.seq, lang)
        if rec.kind == "engine_decision":
            (new_part,), (old_part,) = ledger.explain(store, str(rec.seq)), ledger.explain(old, str(rec.seq))
            assert new_part.decision == old_part.decision and new_part.pack == old_part.pack
            assert canonical_json(new_part.decision.to_json_dict()) == canonical_json(old_part.decision.to_json_dict())
            for lang in ("en", "zh"):
                assert render_json(new_part.decision, new_part.pack, lang) == render_json(old_part.decision, old_part.pack, lang)
    # replay: the same results, every decision identical to its record
    new_replay, old_replay = (cli_on(s, "audit", "replay", "--all", "--format", "json", "--jobs", "1") for s in both)
    assert new_replay.exit_code == old_replay.exit_code == 0, new_replay.output
    assert json.loads(new_replay.stdout) == json.loads(old_replay.stdout)
    assert len(json.loads(new_replay.stdout)) == len(engine) and all(x["match"] for x in json.loads(new_replay.stdout))
    for lang in ("en", "zh"):
        assert cli_on(store, "audit", "replay", "--all", "--lang", lang).stdout == cli_on(old, "audit", "replay", "--all", "--lang", lang).stdout


def test_the_median_app_5x5_record_is_under_10_kb(store, tmp_path):
    r = W.submit(store, APP_5X5, actor=ACTOR, clock=CLOCK)
    W.decide(store, r.submission.id, "approve", reason=None, actor=ACTOR, clock=CLOCK)
    engine = [x for x in records(store) if x.kind == "engine_decision"]
    sizes = [len(x.body_text.encode("utf-8")) for x in engine]
    assert len(sizes) == 2 and statistics.median(sizes) < 10_000, sizes
    pack = ledger.pack_from_snapshot(store, engine[0].body["pack"]["revision"])
    whole = [len(canonical_json(ledger.expand_body(x.body, pack)).encode("utf-8")) for x in engine]
    assert min(whole) > 60_000  # the same decisions written whole


def test_the_engine_run_keeps_the_whole_decision(store, tmp_path):
    import sqlalchemy as sa

    from icv_permits.adapters.store import tables as T

    r = submit(store, tmp_path, baseline(DA))
    with store.read() as s:
        run = s.exec(sa.select(T.EngineRun)).scalars().one()
    (rec,) = [x for x in records(store) if x.kind == "engine_decision"]
    assert json.loads(run.decision) == r.decision.to_json_dict()
    assert ledger.recorded_decision(rec, ledger.pack_from_snapshot(store, run.pack_revision)) == r.decision.to_json_dict()
    assert rec.body["decision_digest"] == digest(r.decision.to_json_dict())


# ---------------------------------------------------------------- logs of both formats


def test_a_log_of_both_formats_verifies_replays_explains_and_exports_byte_for_byte(store, tmp_path, monkeypatch):
    submit(store, tmp_path, baseline(DA))
    old = format_1_copy(store, tmp_path)
    # the office goes on writing on the copy: compact records after whole ones
    # a day after the last record (on PostgreSQL the database's clock stamps records, not the test's)
    last = pendulum.parse(records(old)[-1].recorded_at)
    later = FixedClock(max(last.add(days=1), pendulum.datetime(2026, 11, 28, 10, 0, 0, tz="Asia/Shanghai")))
    sub = W.submit(old, EXAMPLES / "rt-compliant.yaml", actor=ACTOR, clock=later)
    ok = sub.decision.verdict.value == "compliant"
    W.decide(old, sub.submission.id, "approve" if ok else "return", reason=None if ok else "请补正", actor=ACTOR, clock=later)
    kinds = [(r.kind, ledger.record_format(r.body)) for r in records(old)]
    assert kinds == [("engine_decision", 1), ("submission", 1), ("engine_decision", 2), ("submission", 1), ("engine_decision", 2), ("review", 1)]
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", old.url)
    assert cli("audit", "verify").exit_code == 0
    r = cli("audit", "replay", "--all", "--lang", "en", "--jobs", "1")
    assert r.exit_code == 0 and "3 decisions replayed: 3 identical, 0 different." in r.stdout, r.output
    for seq in (1, 3, 5, 6):
        assert cli("audit", "explain", seq, "--lang", "en").exit_code == 0
    path = export(tmp_path, "mixed.jsonl")
    copy_url = fresh_sqlite(tmp_path, "again.db")
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", copy_url)
    assert cli("audit", "import", path, "--lang", "en").exit_code == 0
    assert [x.__dict__ for x in records(db.open_store(copy_url))] == [x.__dict__ for x in records(old)]
    assert export(tmp_path, "again.jsonl").read_bytes() == path.read_bytes()
    assert cli("audit", "replay", "--all", "--jobs", "1").exit_code == 0


def test_a_store_of_the_old_code_decides_in_format_2_a_decision_of_format_1(tmp_path, monkeypatch):
    """The legacy store (decision format 1: evidence counted by the reader) decided today: the new
    record is compact, its decision of format 1 comes back whole, and explain shows what the whole
    record would."""
    import shutil

    from test_evidence_legacy import STORE

    path = tmp_path / "office.db"
    shutil.copyfile(STORE, path)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("ICV_PERMITS_NOW", "2026-11-28T10:00:00+08:00")
    assert cli("db", "upgrade", "--lang", "en").exit_code == 0
    assert cli("decide", "2", "--approve", "--reason", "approved after the upgrade", "--lang", "en").exit_code == 0
    store = db.open_store(f"sqlite:///{path}")
    rec = [r for r in records(store) if r.kind == "engine_decision"][-1]
    assert rec.body["record_format"] == 2
    assert [ledger.record_format(r.body) for r in records(store) if r.kind == "engine_decision"] == [1, 1, 1, 2]
    decision = ledger.recorded_decision(rec, ledger.pack_from_snapshot(store, rec.body["pack"]["revision"]))
    assert decision["format"] == "icv-permits/decision/1" and "evidence_counted" not in decision and "vehicles" in decision["evidence"]
    old = format_1_copy(store, tmp_path)
    for lang in ("en", "zh"):
        texts = [cli_on(s, "audit", "explain", rec.seq, "--lang", lang) for s in (store, old)]
        assert texts[0].exit_code == texts[1].exit_code == 0
        assert hashes_named(texts[0].stdout, (store, old)) == hashes_named(texts[1].stdout, (store, old))
    r = cli("audit", "replay", "--all", "--format", "json", "--jobs", "1")
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 4 and all(x["match"] for x in json.loads(r.stdout)), r.output


# ---------------------------------------------------------------- a changed record or snapshot


def _rewrite(store, seq: int, body: dict) -> None:
    with bypass(store) as run:
        run("UPDATE decision_log SET body = :body WHERE seq = :seq", body=canonical_json(body), seq=seq)


def test_a_compact_record_edited_without_its_digest_is_not_shown_as_recorded(store, tmp_path, monkeypatch):
    submit(store, tmp_path, baseline(DA))
    (rec,) = [r for r in records(store) if r.kind == "engine_decision"]

    def fail_first_pass(p):
        e = next(e for e in p["outcomes"]["entries"] if e[1] == "pass")
        e[1] = "fail"

    _rewrite(store, rec.seq, resealed(rec.body, fail_first_pass))
    r = cli("audit", "explain", rec.seq, "--lang", "en")
    assert r.exit_code == 4, r.output
    assert f"log record {rec.seq} cannot be rebuilt as it was recorded from its compact form and pack snapshot" in r.output
    r = cli("audit", "replay", str(rec.seq), "--lang", "en")
    assert r.exit_code == 1 and "could not be replayed: ExpandError: the decision rebuilt from the record and its pack snapshot does not have the recorded decision digest" in r.stdout, r.output
    assert cli("audit", "verify").exit_code == 4  # and the chain names it
    r = cli("audit", "explain", rec.seq, "--lang", "zh")
    assert r.exit_code == 4 and f"日志记录 {rec.seq} 无法由其紧凑形式和规则包快照" in r.output, r.output


@pytest.mark.parametrize("kind", ["float", "bool"])
def test_a_compact_record_whose_value_equals_in_python_is_judged_by_its_canonical_json(store, tmp_path, kind):
    """Replay compares the rebuilt decision byte for byte before it believes it. A 1 written back
    as ``true`` compares equal in Python but is another JSON value: the record no longer has its
    digest and is reported. A whole number written back as ``2.0`` is the same JSON number (RFC
    8785 writes it ``2``): the strict reading finds the recorded digest and the decision identical."""
    submit(store, tmp_path, baseline(DA))
    (rec,) = [r for r in records(store) if r.kind == "engine_decision"]
    wanted = (lambda v: type(v) is int and v > 1) if kind == "float" else (lambda v: v == 1 and type(v) is int)
    entries = payload(rec.body)["outcomes"]["entries"]
    assert any(len(e) > 4 and wanted(e[4]) for e in entries), "the decision has no such observed value"

    def retype(p):
        e = next(e for e in p["outcomes"]["entries"] if len(e) > 4 and wanted(e[4]))
        e[4] = float(e[4]) if kind == "float" else True

    edited = resealed(rec.body, retype)
    assert LC._expand(edited, LC.unseal(edited["deflated"]), PACK) == LC._expand(rec.body, payload(rec.body), PACK)  # equal to Python
    assert LC.rebuilt_unchecked(edited, PACK)[1] == LC.rebuilt_unchecked(rec.body, PACK)[1]
    _rewrite(store, rec.seq, edited)
    r = cli("audit", "replay", str(rec.seq), "--lang", "en")
    if kind == "bool":
        assert r.exit_code == 1 and "does not have the recorded decision digest" in r.stdout, r.output
    else:
        assert r.exit_code == 0 and "1 identical" in r.stdout, r.output


def test_a_compact_record_nested_too_deeply_is_refused_by_replay_not_replayed(store, tmp_path):
    """Replay reads a record of format 2 the lean way first (no nesting measured before parsing);
    a payload nested beyond what an export may hold is still refused — by the strict read, with
    the reason — and neither shown as identical nor crashing the replay."""
    submit(store, tmp_path, baseline(DA))
    (rec,) = [r for r in records(store) if r.kind == "engine_decision"]

    def nest(p):
        deep: list = []
        for _ in range(LC.MAX_DEPTH + 10):
            deep = [deep]
        p["outcomes"]["conditions"] = deep

    _rewrite(store, rec.seq, resealed(rec.body, nest))
    r = cli("audit", "replay", str(rec.seq), "--lang", "en")
    assert r.exit_code == 1 and "could not be replayed: ExpandError: the deflated part of the record cannot be read" in r.stdout, r.output


def test_a_consistently_forged_compact_record_shows_the_rule_that_differs(store, tmp_path, monkeypatch):
    submit(store, tmp_path, baseline(DA))
    (rec,) = [r for r in records(store) if r.kind == "engine_decision"]

    def fail_veh_10(body):
        f = next(f for f in body["decision"]["findings"] if f["rule_id"] == "VEH-10")
        f["outcome"] = "fail"

    forged = forged_engine_body(store, rec, fail_veh_10)
    assert forged["record_format"] == 2
    _rewrite(store, rec.seq, forged)
    r = cli("audit", "replay", str(rec.seq), "--lang", "en")
    assert r.exit_code == 1 and "VEH-10" in r.stdout and "fail:" in r.stdout, r.output


def test_a_consistently_forged_record_with_true_for_1_is_not_identical(store, tmp_path):
    """An insider forges a record whose one observed 1 reads ``true``, with the digest recomputed:
    equal in Python, another decision in JSON. Replay names the rule whose finding differs."""
    submit(store, tmp_path, baseline(DA))
    (rec,) = [r for r in records(store) if r.kind == "engine_decision"]
    forged_rule = []

    def one_to_true(body):
        f = next(f for f in body["decision"]["findings"] if type(f["observed"]) is int and f["observed"] == 1)
        f["observed"] = True
        forged_rule.append(f["rule_id"])

    _rewrite(store, rec.seq, forged_engine_body(store, rec, one_to_true))
    r = cli("audit", "replay", str(rec.seq), "--lang", "en", "--format", "json")
    assert r.exit_code == 1, r.output
    (res,) = json.loads(r.stdout)
    assert not res["match"] and not res["error"] and [d["rule_id"] for d in res["rule_diffs"]] == forged_rule, res


def test_a_snapshot_whose_citation_was_edited_does_not_rebuild_a_compact_record(store, tmp_path):
    """An older-form snapshot (not provable by verify) edited in a parameter's citation: a record of
    format 2 takes that citation from it, so it no longer comes back with its digest — explain
    refuses it (exit 4) and replay reports it, rather than showing the edited citation as recorded."""
    submit(store, tmp_path, baseline(DA))
    text = ledger.model_text(load_pack("anhui-2025"))
    assert '"article":null' in text
    with bypass(store) as run:
        run("UPDATE pack_snapshot SET content = :c", c=text.replace('"article":null', '"article":"第九十九条"', 1))
    r = cli("audit", "explain", "1", "--lang", "en")
    assert r.exit_code == 4 and "cannot be rebuilt as it was recorded" in r.output, r.output
    r = cli("audit", "replay", "1", "--lang", "en")
    assert r.exit_code == 1 and "could not be replayed" in r.stdout, r.output


# ---------------------------------------------------------------- replay with another pack


def test_replay_of_compact_records_with_an_edited_pack_folder_names_the_rules_and_the_parameter(store, tmp_path, monkeypatch):
    submit(store, tmp_path, baseline(DA))
    rules = copy_rules(tmp_path / "rules")
    edit_pack_yaml(rules / "national-2021" / "parameters.yaml",
                   lambda p: entry(p["parameters"], "id", "insurance.min_liability_yuan")["values"][-1].update(value=9_000_000) or p)
    r = cli("audit", "replay", "--all", "--pack", rules / "anhui-2025", "--format", "json", "--jobs", "1")
    assert r.exit_code == 1, r.output
    (res,) = json.loads(r.stdout)
    assert res["recorded_verdict"] == "compliant" and res["replayed_verdict"] == "non_compliant" and not res["error"]
    assert {d["rule_id"] for d in res["rule_diffs"]} == {"INS-02"}
    assert [c["param"] for c in res["parameter_changes"] if "param" in c] == ["insurance.min_liability_yuan"]
    text = cli("audit", "replay", "--all", "--pack", rules / "anhui-2025", "--lang", "en", "--jobs", "1").stdout
    assert "because insurance.min_liability_yuan changed: value=5000000" in text and "value=9000000" in text


# ---------------------------------------------------------------- the pure parts


@SETTINGS
@given(applications(), st.booleans())
def test_expand_gives_back_what_compact_was_given(d, on_record):
    """For any application (judged as a pre-check or on record), the compact record rebuilds the
    whole body it was made from — the same canonical JSON — with nothing left to format 1."""
    app = to_app(d)
    registry = None
    if on_record:
        vins = [v.vin for v in app.vehicles]
        registry = RegistryFacts(database="sqlite 0003", read_at="2026-11-27T02:00:00.000000Z", notices=[],
                                 vins_elsewhere=[VinElsewhere(vin=vins[0], credit_code="91340100MA0000001X", entity_name="某公司",
                                                              notice="皖智网示〔2026〕001号", valid_until="2027-05-31")],
                                 driver_loads=[DriverLoad(driver_ref=app.drivers[0].ref, vins=sorted(vins))])
    body = body_of(evaluate(app, PACK, date(2026, 11, 27), None, registry), app.model_dump(mode="json"))
    compact = LC.compact_body(body, PACK)
    assert compact["record_format"] == 2
    assert canonical_json(LC.expand_body(compact, PACK)) == canonical_json(body)
    assert len(canonical_json(compact)) < len(canonical_json(body))


def test_compact_keeps_what_no_pack_gives_back():
    body = app_body(baseline(DA))
    compact = LC.compact_body(body, PACK)
    p = payload(compact)
    assert p["input"] == body["input"] == LC.input_of(compact) == LC.input_of(body)
    out = p["outcomes"]
    decision = body["decision"]
    assert out["format"] == decision["format"] and out["conditions"] == decision["conditions"]
    assert out["rules_not_applicable"] == decision["rules_not_applicable"]
    used = {f["threshold"]["param"]: f["threshold"]["value"] for f in decision["findings"] if f["threshold"]}
    assert out["params"] == used
    # each finding: its subject's kind, ref and order, rule, outcome, reason, values, field, observed, parameter
    rebuilt = [(out["subjects"][i][:3], out["entries"][e]) for i, es in out["findings"] for e in es]
    assert len(rebuilt) == len(decision["findings"])
    for (subject, e), f in zip(rebuilt, decision["findings"]):
        assert subject == [f["subject"]["kind"], f["subject"]["ref"], f["subject"]["order"]]
        assert e[:3] == [f["rule_id"], f["outcome"], f["reason"]]
    # what the pack gives back is not kept: no threshold's citation, no rule catalogue
    text = canonical_json(p)
    assert '"confidence"' not in text and '"severity"' not in text and '"effective_from"' not in text
    # the clear part: every key of format 1 but the decision and the input
    assert set(compact) == set(body) - {"decision", "input"} | {"record_format", "decision_digest", "deflated"}
    assert all(compact[k] == body[k] for k in body if k not in ("decision", "input"))


def test_a_label_or_path_the_input_does_not_give_is_kept():
    body = app_body(baseline(DA))
    edited = copy.deepcopy(body)
    for f in edited["decision"]["findings"]:
        if f["subject"]["kind"] == "entity":
            f["subject"]["label"] = "另一名称"
        if f["subject"]["kind"] == "vehicle":
            f["subject"]["path"] = "vehicles[7]"
    compact = LC.compact_body(edited, PACK)
    assert compact["record_format"] == 2
    subjects = payload(compact)["outcomes"]["subjects"]
    assert next(s for s in subjects if s[0] == "entity")[3:] == ["另一名称"]
    assert next(s for s in subjects if s[0] == "vehicle")[4:] == ["vehicles[7]"]
    assert canonical_json(LC.expand_body(compact, PACK)) == canonical_json(edited)


def test_values_that_are_not_plain_json_come_back_too():
    """A float in a finding (the engine writes none: decimals are text): the digest is then taken by
    RFC 8785 itself, and the round trip is exact all the same."""
    body = app_body(baseline(DA))
    odd = copy.deepcopy(body)
    odd["decision"]["findings"][0]["values"] = {"ratio": 1.5, "tiny": 1e-7}
    compact = LC.compact_body(odd, PACK)
    assert compact["record_format"] == 2
    assert canonical_json(LC.expand_body(compact, PACK)) == canonical_json(odd)


def test_a_decision_without_a_compact_form_is_written_whole():
    body = app_body(baseline(DA))
    other = load_pack("national-2021")
    assert LC.compact_body(body, other) is body  # not the pack the decision names
    odd = copy.deepcopy(body)
    odd["decision"]["findings"][0]["field"] = "@odd"  # a field the compact form could not tell from a relative one
    assert LC.compact_body(odd, PACK) is odd
    split = copy.deepcopy(body)  # a subject's findings not in one run
    fs = split["decision"]["findings"]
    fs.append(copy.deepcopy(fs[0]))
    assert LC.compact_body(split, PACK) is split
    drifted = copy.deepcopy(body)  # a threshold the pack does not give back (another citation)
    next(f for f in drifted["decision"]["findings"] if f["threshold"])["threshold"]["article"] = "第九十九条"
    assert LC.compact_body(drifted, PACK) is drifted
    assert ledger.engine_body(**{k: v for k, v in _kwargs(body).items()}, pack=None) == body


def _kwargs(body: dict) -> dict:
    from icv_permits.core.engine.decision import Decision

    return {"submission_id": body["submission_id"], "version": body["version"], "purpose": body["purpose"], "engine_run_id": body["engine_run_id"],
            "claimed_actor": body["claimed_actor"], "clock": body["clock"], "snapshot": body["input"], "masked_fields": body["masked_fields"],
            "decision": Decision.model_validate(body["decision"])}


def test_expand_refuses_what_does_not_come_back_as_recorded():
    body = app_body(baseline(DA))
    compact = LC.compact_body(body, PACK)
    assert LC.expand_decision(body, PACK) is body["decision"]  # format 1: as it is, whatever pack
    with pytest.raises(LC.ExpandError, match="cannot be rebuilt with pack revision"):
        LC.expand(compact, load_pack("national-2021"))
    for odd in (3, "2", True, None, 2.0):
        with pytest.raises(LC.ExpandError, match="unknown record format"):
            LC.expand({**compact, "record_format": odd}, PACK)
    for broken in ({k: v for k, v in compact.items() if k != "pack"}, {k: v for k, v in compact.items() if k != "deflated"},
                   {**compact, "pack": "anhui-2025"}, {k: v for k, v in compact.items() if k != "as_of"}):
        with pytest.raises(LC.ExpandError):
            LC.expand(broken, PACK)
    with pytest.raises(LC.ExpandError, match="decision digest"):
        LC.expand({**compact, "decision_digest": digest({})}, PACK)
    assert LC.expand_decision({**compact, "decision_digest": digest({})}, PACK, check=False) == body["decision"]
    with pytest.raises(LC.ExpandError, match="malformed"):
        LC.expand(resealed(compact, lambda p: p["outcomes"]["findings"].append([99, [0]])), PACK)

    def unknown_param(p):
        out = p["outcomes"]
        name = next(iter(out["params"]))
        out["params"]["scope.no_such_parameter"] = out["params"].pop(name)
        for e in out["entries"]:
            if len(e) > 5 and e[5] == name:
                e[5] = "scope.no_such_parameter"

    with pytest.raises(LC.ExpandError, match="no value of parameter scope.no_such_parameter"):
        LC.expand(resealed(compact, unknown_param), PACK)


@pytest.mark.parametrize("text", [
    "not base64!",
    base64.b64encode(b"not zlib").decode(),
    base64.b64encode(zlib.compress(b"[1, 2]")).decode(),  # JSON, but no input and outcomes
    base64.b64encode(zlib.compress(b'{"input": {}, "outcomes": {}}')[:-4]).decode(),  # truncated
    base64.b64encode(zlib.compress(b"{" + b" " * (LC.MAX_INFLATED + 10) + b"}")).decode(),  # inflates beyond the limit
    None,
])
def test_unseal_refuses_anything_but_a_sealed_payload(text):
    with pytest.raises(LC.ExpandError):
        LC.unseal(text)


def test_seal_and_unseal():
    p = {"input": {"名称": "合肥", "n": 1}, "outcomes": {"entries": [["VEH-10", "pass", "ok"]]}}
    assert LC.unseal(LC.seal(p)) == p
    assert zlib.decompress(base64.b64decode(LC.seal(p))).decode("utf-8") == canonical_json(p)


def _sealed_text(text: bytes) -> str:
    return base64.b64encode(zlib.compress(text)).decode()


@pytest.mark.parametrize(("text", "plain"), [
    (b'{"input":{"id_number":"3401041990010112345678"},"outcomes":{}}', True),  # digits in a string: not a number
    (b'{"input":{"n":900719925474099},"outcomes":{}}', True),  # 15 digits: within 2^53 - 1
    (b'{"input":{"n":9007199254740992},"outcomes":{}}', False),
    (b'{"input":{"n": \n -9007199254740992},"outcomes":{}}', False),  # after whitespace (a text not written by seal)
    (b'{"input":{"n":[1,12345678901234567]},"outcomes":{}}', False),
    (b'{"input":{"r":1.5},"outcomes":{}}', False),
    (b'{"input":{"r":1e3},"outcomes":{}}', False),
    ('{"input":{"\U0001F697":1},"outcomes":{}}'.encode(), False),
])
def test_unseal_tells_plain_payloads_from_its_text(text, plain):
    """What the payload's text shows decides whether a rebuilt decision is written without a scan:
    only a payload that is plain data may say so (a wrong "not plain" costs a scan, nothing more)."""
    payload, said = LC._unseal(_sealed_text(text))
    assert said is plain
    if said:
        assert is_plain(payload)
