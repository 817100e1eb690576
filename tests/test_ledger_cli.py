"""The decision log's commands: ``audit export|import|explain|log``.

Run in process through ``typer.testing.CliRunner`` (see ``test_ledger.cli``): an exception the
command does not turn into an exit code fails the test — the installed command would print
"Internal error (exit 70)". Helpers are shared with ``test_ledger.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import DA, baseline
from test_ledger import (
    ACTOR,
    DAY,
    ROOT,
    cli,
    clock_at,
    decide,
    populate,
    records,
    submit,
)

from icv_permits.core.canonical import canonical_json
from icv_permits.adapters.documents import read_document
from icv_permits.adapters.store import db
from icv_permits.adapters.store import tables as T
from icv_permits.core.i18n import t
from icv_permits.core.model.ids import mask_id_number
from icv_permits.present.audit import MASKING
from icv_permits.core.labels import ACTIONS
from icv_permits.present.report import VERDICTS
from icv_permits.services import audit as ledger
from icv_permits.services import office as W

EXAMPLE = ROOT / "examples" / "da-compliant.yaml"


def fresh_sqlite(directory: Path, name: str = "target.db") -> str:
    url = f"sqlite:///{directory / name}"
    db.upgrade(url)
    return url


def snapshots(store) -> list[tuple]:
    with store.read() as s:
        rows = s.exec(sa.select(T.PackSnapshot).order_by(T.PackSnapshot.revision)).scalars().all()
        return [(r.revision, r.pack_id, json.loads(r.content), r.stored_at) for r in rows]


def export(directory: Path, name: str = "log.jsonl") -> Path:
    out = directory / name
    r = cli("audit", "export", "--out", out, "--lang", "en")
    assert r.exit_code == 0, r.output
    return out


def is_empty(store) -> bool:
    with store.read() as s:
        return (ledger.head(store) == (0, ledger.GENESIS) and s.exec(sa.select(sa.func.count()).select_from(T.DecisionLog)).scalar_one() == 0
                and s.exec(sa.select(sa.func.count()).select_from(T.PackSnapshot)).scalar_one() == 0)


# ---------------------------------------------------------------- export → import


def test_export_then_import_into_a_fresh_database_preserves_the_log(store, tmp_path, monkeypatch):
    populate(store, tmp_path)
    path = export(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header == {"type": "header", "format": ledger.EXPORT_FORMAT, "head": {"seq": 8, "hash": ledger.head(store)[1]}}
    assert [json.loads(x)["type"] for x in lines[1:]] == ["pack_snapshot"] + ["record"] * 8
    assert not (tmp_path / "log.jsonl.part").exists()

    target_url = fresh_sqlite(tmp_path)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", target_url)
    r = cli("audit", "import", path, "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "Chain intact: 8 records checked" in r.stdout and "8 records imported." in r.stdout
    target = db.open_store(target_url)
    assert [x.__dict__ for x in records(target)] == [x.__dict__ for x in records(store)]
    assert ledger.head(target) == ledger.head(store)
    assert snapshots(target) == snapshots(store)
    assert cli("audit", "verify").exit_code == 0
    assert all(x.match for x in ledger.replay(target)) and len(list(ledger.replay(target))) == 4
    # exported again, the same bytes
    assert export(tmp_path, "again.jsonl").read_bytes() == path.read_bytes()
    # and the copy keeps growing on its own chain … no: importing again into it is refused
    r = cli("audit", "import", path, "--lang", "en")
    assert r.exit_code == 2 and "not empty (8 records)" in r.stderr, r.output
    assert [x.hash for x in records(target)] == [x.hash for x in records(store)]


def test_import_into_this_backend_from_an_export_of_another_database(store, tmp_path, monkeypatch):
    source_url = fresh_sqlite(tmp_path, "source.db")
    source = db.open_store(source_url)
    populate(source, tmp_path)
    W.renew_plates(source, ledger.find(source, "4").body["notice"]["number"], actor=ACTOR, clock=clock_at(2027, 5, 20))
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", source_url)
    path = export(tmp_path)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", store.url)
    r = cli("audit", "import", path, "--lang", "zh")
    assert r.exit_code == 0, r.output
    assert [x.__dict__ for x in records(store)] == [x.__dict__ for x in records(source)]
    assert snapshots(store) == snapshots(source)
    assert ledger.verify(store).intact and ledger.verify(store).checked == 9
    assert all(x.match for x in ledger.replay(store))
    # the imported log goes on: a new action (after the renewal: times only go forward) chains onto the imported head
    submit(store, tmp_path, baseline(DA), clock_at(2027, 5, 21))
    rep = ledger.verify(store)
    assert rep.checked == 11 and records(store)[9].prev_hash == records(source)[-1].hash
    if store.backend == "sqlite":
        assert rep.intact
    else:  # PostgreSQL records its own time, which is before the test's clock of 2027: the chain holds, the time is flagged
        assert [(b.seq, b.problem) for b in rep.breaks] == [(10, "time")]


def test_an_empty_log_exports_and_imports(store, tmp_path, monkeypatch):
    path = export(tmp_path)
    assert [json.loads(x)["type"] for x in path.read_text(encoding="utf-8").splitlines()] == ["header"]
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", fresh_sqlite(tmp_path))
    r = cli("audit", "import", path, "--lang", "en")
    assert r.exit_code == 0 and "0 records imported." in r.stdout, r.output


def _record_lines(lines: list[str]) -> list[int]:
    return [i for i, x in enumerate(lines) if json.loads(x)["type"] == "record"]


def _edit_body(lines):
    i = _record_lines(lines)[3]  # seq 4, the approval
    rec = json.loads(lines[i])
    rec["body"]["reason"] = "已批准（改）"
    lines[i] = json.dumps(rec, ensure_ascii=False)
    return 4


def _edit_actor(lines):
    i = _record_lines(lines)[1]
    rec = json.loads(lines[i])
    rec["actor"] = "mallory"
    lines[i] = json.dumps(rec, ensure_ascii=False)
    return 2


def _drop_middle(lines):
    del lines[_record_lines(lines)[4]]
    return 6  # the gap shows at the next record


def _drop_tail(lines):
    del lines[_record_lines(lines)[-1]]
    return 8  # the header's head shows it


def _swap(lines):
    a, b = _record_lines(lines)[2:4]
    ra, rb = json.loads(lines[a]), json.loads(lines[b])
    ra["seq"], rb["seq"] = rb["seq"], ra["seq"]
    lines[a], lines[b] = json.dumps(rb, ensure_ascii=False), json.dumps(ra, ensure_ascii=False)
    return 3


def _only_reordered_lines(lines):
    a, b = _record_lines(lines)[2:4]
    lines[a], lines[b] = lines[b], lines[a]
    return 4  # record 4 where 3 was expected


EXPORT_TAMPERING = {"body edited": _edit_body, "actor edited": _edit_actor, "record dropped": _drop_middle, "tail dropped": _drop_tail,
                    "seq swapped": _swap, "lines reordered": _only_reordered_lines}


def test_importing_a_tampered_export_exits_4_and_writes_nothing(store, tmp_path, monkeypatch):
    source_url = fresh_sqlite(tmp_path, "source.db")
    populate(db.open_store(source_url), tmp_path)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", source_url)
    original = export(tmp_path).read_text(encoding="utf-8").splitlines()
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", store.url)
    for case, tamper in EXPORT_TAMPERING.items():
        lines = list(original)
        seq = tamper(lines)
        path = tmp_path / f"tampered-{len(case)}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        r = cli("audit", "import", path, "--lang", "en")
        assert r.exit_code == 4, (case, r.output)
        assert f"Chain BROKEN at record {seq} " in r.stdout, (case, r.stdout)
        assert "imported" not in r.stdout, case
        assert is_empty(store), case
    # the untouched export still imports
    path = tmp_path / "original.jsonl"
    path.write_text("\n".join(original) + "\n", encoding="utf-8")
    assert cli("audit", "import", path).exit_code == 0
    assert ledger.verify(store).checked == 8


def test_importing_into_a_log_that_is_not_empty_is_refused(store, tmp_path, monkeypatch):
    populate(store, tmp_path)
    before = [x.__dict__ for x in records(store)]
    target_url = fresh_sqlite(tmp_path, "other.db")
    target = db.open_store(target_url)
    submit(target, tmp_path, baseline(DA))
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", target_url)
    path = export(tmp_path)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", store.url)
    for lang in ("en", "zh"):
        r = cli("audit", "import", path, "--lang", lang)
        assert r.exit_code == 2, r.output
        assert "Traceback" not in r.output
    assert "not empty (8 records)" in cli("audit", "import", path, "--lang", "en").stderr
    assert [x.__dict__ for x in records(store)] == before and ledger.verify(store).intact


# ---------------------------------------------------------------- malformed exports


@pytest.fixture(scope="module")
def good_export(tmp_path_factory) -> list[str]:
    """The lines of a real export (4 records, one pack snapshot)."""
    directory = tmp_path_factory.mktemp("export")
    url = fresh_sqlite(directory, "source.db")
    s = db.open_store(url)
    res = submit(s, directory, baseline(DA))
    decide(s, res.submission.id, "approve")
    out = directory / "log.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        ledger.export_jsonl(s, fh)
    db.dispose_all()
    return out.read_text(encoding="utf-8").splitlines()


def _set(lines: list[str], index: int, **changes) -> list[str]:
    obj = json.loads(lines[index])
    for k, v in changes.items():
        if v is _DROP:
            obj.pop(k)
        else:
            obj[k] = v
    return lines[:index] + [json.dumps(obj, ensure_ascii=False)] + lines[index + 1:]


_DROP = object()

MALFORMED = {
    # case: (make the file's lines from the good ones, or bytes; the line number the message names or None)
    "not JSON": (lambda ls: ls[:2] + [ls[2][:40]] + ls[3:], "line 3"),
    "a JSON array": (lambda ls: ls[:2] + ["[1, 2]"] + ls[3:], "line 3"),
    "a JSON string": (lambda ls: ls + ['"record"'], "line 7"),
    "unknown line type": (lambda ls: ls + ['{"type": "weird"}'], "line 7"),
    "no header": (lambda ls: ls[1:], "line 1"),
    "empty file": (lambda ls: [], "line 1"),
    "another format": (lambda ls: _set(ls, 0, format="something/2"), "line 1"),
    "record without a hash": (lambda ls: _set(ls, 3, hash=_DROP), "line 4"),
    "record seq not a number": (lambda ls: _set(ls, 2, seq="one"), "line 3"),
    "record seq null": (lambda ls: _set(ls, 2, seq=None), "line 3"),
    "record body with NaN": (lambda ls: ls[:2] + [ls[2].replace('"body": {', '"body": {"x": NaN, ', 1)] + ls[3:], "line 3"),
    "not UTF-8": (lambda ls: (ls[0] + "\n").encode() + b"\xff\xfe\xfa\n", None),
    "header head not an object": (lambda ls: _set(ls, 0, head="sha256:abc"),
                                  "line 1"),
    "header head seq not a number": (lambda ls: _set(ls, 0, head={"seq": "four", "hash": "x"}),
                                     "line 1"),
    "pack snapshot without revision": (lambda ls: _set(ls, 1, revision=_DROP),
                                       "line 2"),
    "pack snapshot content not a pack": (lambda ls: _set(ls, 1, content={"meta": 1}),
                                         "line 2"),
    "pack snapshot stored_at not a date": (lambda ls: _set(ls, 1, stored_at="yesterday"),
                                           "line 2"),
}


def _malformed_params():
    for case, (make, expect) in MALFORMED.items():
        if isinstance(expect, pytest.MarkDecorator):
            yield pytest.param(case, make, None, marks=expect, id=case)
        else:
            yield pytest.param(case, make, expect, id=case)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case,make,where", list(_malformed_params()))
def test_a_malformed_export_exits_2_without_a_traceback(store, tmp_path, good_export, case, make, where):
    content = make(list(good_export))
    path = tmp_path / "bad.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text("\n".join(content) + ("\n" if content else ""), encoding="utf-8")
    for lang in ("en", "zh"):
        r = cli("audit", "import", path, "--lang", lang)
        assert r.exit_code == 2, (case, r.output)
        assert "Traceback" not in r.output and r.stdout == "", r.output
        assert r.stderr.startswith(t(lang, "Bad input (exit 2):")), r.stderr
        if where:
            assert where in r.stderr, r.stderr
    assert is_empty(store)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_unreadable_export_file_exits_2(store, tmp_path):
    r = cli("audit", "import", tmp_path / "missing.jsonl", "--lang", "en")
    assert r.exit_code == 2 and "cannot read the file" in r.stderr, r.output
    assert cli("audit", "export", "--format", "csv", "--lang", "en").exit_code == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_export_that_imports_also_verifies_afterwards(store, tmp_path, good_export):
    lines = list(good_export)
    prev = ledger.GENESIS
    out = [lines[0], lines[1]]
    for line in lines[2:]:
        rec = json.loads(line)
        rec["recorded_at"] = rec["recorded_at"].replace("T02:00:00.000000Z", "T10:00:00+08:00")  # the same instant
        rec["prev_hash"] = prev
        rec["hash"] = ledger.record_hash(rec["seq"], rec["decision_id"], rec["kind"], rec["recorded_at"], rec["actor"],
                                         canonical_json(rec["body"]), prev)
        prev = rec["hash"]
        out.append(json.dumps(rec, ensure_ascii=False))
    out[0] = json.dumps({"type": "header", "format": ledger.EXPORT_FORMAT, "head": {"seq": 4, "hash": prev}})
    path = tmp_path / "offset.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    r = cli("audit", "import", path, "--lang", "en")
    if r.exit_code != 0:  # refusing it is fine too
        assert r.exit_code in (2, 4) and is_empty(store)
        return
    v = cli("audit", "verify", "--lang", "en")
    assert v.exit_code == 0, v.stdout


# ---------------------------------------------------------------- explain


DRIVER_SECRETS = ("340104199001011239", "13955512345", "340202198805120025")


@pytest.fixture
def explained(store, tmp_path):
    """The example application (two drivers with real-looking ID and phone numbers) submitted and
    approved: records 1 (engine, submit), 2 (submission), 3 (engine, decide), 4 (review)."""
    doc = read_document(EXAMPLE)
    assert [d["id_number"] for d in doc["drivers"]] == [DRIVER_SECRETS[0], DRIVER_SECRETS[2]]
    res = W.submit(store, EXAMPLE, actor=ACTOR, clock=DAY)
    decide(store, res.submission.id, "approve", reason="材料齐全，同意")
    return store, doc


def _no_secrets(text: str, doc: dict) -> None:
    for secret in DRIVER_SECRETS + (doc["entity"]["contact_phone"],):
        assert secret not in text, secret
    for d in doc["drivers"]:
        assert mask_id_number(d["id_number"]) in text


def test_explain_an_engine_decision(explained):
    for lang in ("zh", "en"):
        _explain_engine_decision(*explained, lang)


def _explain_engine_decision(store, doc, lang):
    rec = ledger.find(store, "1")
    assert rec.kind == "engine_decision"
    outs = [cli("audit", "explain", ref, "--lang", lang) for ref in ("1", rec.decision_id, rec.decision_id.upper(), " 1 ")]
    for r in outs:
        assert r.exit_code == 0, r.output
        assert r.stdout == outs[0].stdout
    text = outs[0].stdout
    body = rec.body
    assert rec.decision_id in text and rec.hash in text
    assert t(lang, VERDICTS[body["verdict"]]) in text and body["verdict"] == "compliant"
    assert body["pack"]["revision"][:19] in text and "anhui-2025" in text
    masked = {m["path"]: m["method"] for m in body["masked_fields"]}
    assert masked == {"drivers[0].id_number": "stand_in", "drivers[0].phone": "mask", "drivers[1].id_number": "stand_in",
                      "entity.contact_phone": "mask"}
    for path, method in masked.items():
        assert f"{path} ({t(lang, MASKING[method])})" in text
    assert ACTOR in text  # the claimed actor
    _no_secrets(text, doc)
    # the snapshot the log keeps is pseudonymised too
    stored = json.dumps(body, ensure_ascii=False)
    for secret in DRIVER_SECRETS:
        assert secret not in stored


def test_explain_a_review_shows_it_and_its_engine_decision(explained):
    for lang in ("zh", "en"):
        _explain_review(*explained, lang)


def _explain_review(store, doc, lang):
    review, engine = ledger.find(store, "4"), ledger.find(store, "3")
    assert (review.kind, engine.kind) == ("review", "engine_decision")
    by_seq = cli("audit", "explain", "4", "--lang", lang)
    by_id = cli("audit", "explain", review.decision_id, "--lang", lang)
    assert by_seq.exit_code == by_id.exit_code == 0, by_seq.output
    assert by_seq.stdout == by_id.stdout
    text = by_seq.stdout
    assert review.decision_id in text and engine.decision_id in text
    assert t(lang, ACTIONS["approve"]) in text and "材料齐全，同意" in text
    assert review.body["notice"]["number"] in text
    assert t(lang, VERDICTS["compliant"]) in text and engine.body["pack"]["revision"][:19] in text
    assert f"drivers[0].id_number ({t(lang, MASKING['stand_in'])})" in text
    assert text.index(review.decision_id) < text.index(engine.body["pack"]["revision"][:19])  # the review first
    _no_secrets(text, doc)


def test_explain_other_kinds_and_unknown_references(explained):
    store, _ = explained
    r = cli("audit", "explain", "2", "--lang", "en")
    assert r.exit_code == 0 and ledger.find(store, "2").decision_id in r.stdout and "submission" in r.stdout, r.output
    for ref in ("99", "0", "00000000-0000-4000-8000-000000000000", "not-an-id"):
        r = cli("audit", "explain", ref, "--lang", "en")
        assert r.exit_code == 4, (ref, r.output)
        assert "no log record" in r.stderr, r.stderr


def test_explain_a_huge_sequence_number_is_not_found(explained):
    for ref in ("3000000000", "99999999999999999999"):
        for command in ("explain", "replay"):
            r = cli("audit", command, ref, "--lang", "en")
            assert r.exit_code == 4 and "no log record" in r.stderr, (command, ref, r.output)


# ---------------------------------------------------------------- log


def test_audit_log_lists_the_latest_records(store, tmp_path):
    r = cli("audit", "log", "--lang", "en")
    assert r.exit_code == 0 and "The log is empty." in r.stdout
    populate(store, tmp_path)
    r = cli("audit", "log", "--limit", "3", "--format", "json")
    assert r.exit_code == 0
    shown = json.loads(r.stdout)
    assert [x["seq"] for x in shown] == [6, 7, 8]
    assert shown == [x.to_json() for x in records(store)[5:]]
    r = cli("audit", "log", "--lang", "zh")
    assert r.exit_code == 0 and all(x.decision_id[:8] in r.stdout for x in records(store))
