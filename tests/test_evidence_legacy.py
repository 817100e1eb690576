"""Records and stores written before the engine counted trip buckets (decision format 1, commit
84be6d9): the evidence reader had decided each vehicle's totals (``evidence.vehicles``). An auditor
replays and explains them, and an office decides a submission stored then
(fixtures: ``tests/data/legacy/``, made by the old code, see its README)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError
from test_ledger import cli

from icv_permits.adapters.packs import load_pack
from icv_permits.adapters.store import db
from icv_permits.core.canonical import canonical_json
from icv_permits.core.engine import evaluate
from icv_permits.core.engine.checks.evidence import COUNTING_PARAMS
from icv_permits.core.engine.decision import LEGACY_DECISION_FORMAT
from icv_permits.core.model.application import Application
from icv_permits.core.model.evidence import EvidenceSummary
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.services import audit as ledger

LEGACY = Path(__file__).resolve().parent / "data" / "legacy"
EXPORT = LEGACY / "log-format1.jsonl"
STORE = LEGACY / "office-format1.db"
DA_SEQ = 5  # the engine decision on the demonstration application with trip logs


@pytest.fixture
def imported(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'auditor.db'}"
    db.upgrade(url)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", url)
    r = cli("audit", "import", EXPORT, "--lang", "en")
    assert r.exit_code == 0, r.output
    return db.open_store(url)


def test_the_fixture_is_format_1():
    rec = json.loads(EXPORT.read_text(encoding="utf-8").splitlines()[-2])
    assert rec["seq"] == DA_SEQ and rec["kind"] == "engine_decision"
    decision = json.loads(rec["body"])["decision"] if isinstance(rec["body"], str) else rec["body"]["decision"]
    assert decision["format"] == LEGACY_DECISION_FORMAT and "evidence_counted" not in decision
    assert "vehicles" in decision["evidence"] and "buckets" not in decision["evidence"]


def test_an_export_of_the_old_code_imports_verifies_replays_and_explains(imported):
    assert cli("audit", "verify").exit_code == 0
    r = cli("audit", "replay", "--all", "--format", "json", "--jobs", "1")
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)
    assert [x["seq"] for x in results] == [1, 3, DA_SEQ] and all(x["match"] and not x["error"] for x in results)
    assert results[-1]["notes"] == [{"note": "evidence_counted_by_reader", "format": LEGACY_DECISION_FORMAT, "counting_params_changed": []}]
    text = cli("audit", "replay", "--all", "--lang", "en", "--jobs", "1")
    assert text.exit_code == 0 and "evidence counted by the evidence reader (decision format 1)" in text.stdout, text.output

    r = cli("audit", "explain", str(DA_SEQ), "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "Counted by the evidence reader (decision format 1)" in r.stdout
    assert "LSVAU218XN2183294: counted 100 trips, 250 h, 1100 km" in r.stdout
    assert "LSVAU2183N2183301: counted 1 trips, 1 h, 4.4 km" in r.stdout
    assert cli("audit", "explain", str(DA_SEQ), "--lang", "zh").exit_code == 0


def test_the_engine_reproduces_a_format_1_decision_byte_for_byte(imported):
    rec = ledger.find(imported, str(DA_SEQ))
    recorded = rec.body["decision"]
    evidence = EvidenceSummary.model_validate(recorded["evidence"])
    assert evidence.counted_by_reader and evidence.model_dump(mode="json") == recorded["evidence"]
    pack = ledger.pack_from_snapshot(imported, rec.body["pack"]["revision"])
    app = Application.model_validate(rec.body["input"])
    registry = RegistryFacts.model_validate(recorded["registry"])
    import datetime as dt

    decision = evaluate(app, pack, dt.date.fromisoformat(rec.body["as_of"]), evidence, registry)
    assert decision.format == LEGACY_DECISION_FORMAT and decision.evidence_counted is None
    assert canonical_json(decision.to_json_dict()) == canonical_json(recorded)


def test_counting_parameters_of_another_pack_do_not_recount_reader_totals(imported):
    """Today's pack has counting parameters the old one had not; the reader's totals stand, and the
    replay says why."""
    rec = ledger.find(imported, str(DA_SEQ))
    recorded_pack = ledger.pack_from_snapshot(imported, rec.body["pack"]["revision"])
    result = ledger.replay_record(rec, load_pack("anhui-2025"), "current", recorded_pack)
    assert result.error is None
    assert not [d for d in result.rule_diffs if d.rule_id in ("EVD-01", "EVD-04")]
    (note,) = result.notes
    # the old pack had evidence.max_average_speed_kmh (150, as today); the other three are new
    assert note["note"] == "evidence_counted_by_reader"
    assert set(note["counting_params_changed"]) == set(COUNTING_PARAMS) - {"evidence.max_average_speed_kmh"}


def test_a_store_of_the_old_code_upgrades_and_decides(tmp_path, monkeypatch):
    path = tmp_path / "office.db"
    shutil.copyfile(STORE, path)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("ICV_PERMITS_NOW", "2026-11-28T10:00:00+08:00")
    assert cli("db", "upgrade", "--lang", "en").exit_code == 0
    r = cli("decide", "2", "--approve", "--reason", "approved after the upgrade", "--lang", "en", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["submission"]["state"] == "approved" and out["notice"]["number"]
    decision = out["decision"]
    assert decision["format"] == LEGACY_DECISION_FORMAT and "evidence_counted" not in decision
    evd01 = {f["subject"]["ref"]: f for f in decision["findings"] if f["rule_id"] == "EVD-01" and f["reason"] != "declared_differs"}
    assert evd01["LSVAU218XN2183294"]["values"]["hours"] == "250" and evd01["LSVAU2183N2183301"]["outcome"] == "fail"
    assert cli("audit", "verify").exit_code == 0
    r = cli("audit", "replay", "--all", "--format", "json", "--jobs", "1")
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 4, r.output


def test_evidence_has_one_shape():
    base = {"files": [], "incidents": [], "bad_rows": [], "bad_row_counts": {}, "lenient": False, "has_trips": False}
    assert EvidenceSummary.model_validate(dict(base, buckets=[])).model_dump(mode="json") == dict(base, buckets=[])
    assert EvidenceSummary.model_validate(dict(base, vehicles=[])).model_dump(mode="json") == dict(base, vehicles=[])
    for bad in (base, dict(base, buckets=[], vehicles=[])):
        with pytest.raises(ValidationError):
            EvidenceSummary.model_validate(bad)
