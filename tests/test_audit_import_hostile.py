"""``audit import`` of hostile exports: every one an orderly refusal (exit 2 naming the line and the
field, or 4 for a broken chain), never an exception (exit 70), and nothing written.

The exports are made from a real one (nine records of the four kinds, one pack snapshot) and changed
as someone who knows the format would change them — most with every hash recomputed (re-chained),
so that only the shape of what they hold can refuse them. Whatever a changed export still imports
is then read by ``audit log``, ``audit replay`` and ``audit explain``, which must answer 0, 1 or 4.

Store tests run on SQLite and (with ``ICV_PERMITS_TEST_PG_URL``) PostgreSQL through the ``store``
fixture; one store takes every refused export in turn (a refusal leaves it as it was: that is
checked after each), the CLI runs in process (``test_ledger.cli``). Large inputs are made here."""

from __future__ import annotations

import base64
import copy
import json
import uuid
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_ledger import ACTOR, bypass, cli, clock_at, populate
from test_ledger_cli import fresh_sqlite

from icv_permits.adapters.store import db
from icv_permits.adapters.store import tables as T
from icv_permits.cli.audit import shown_check
from icv_permits.core import log_compact as LC
from icv_permits.core import log_shape
from icv_permits.core.canonical import canonical_json
from icv_permits.core.errors import InputError, PackError
from icv_permits.core.i18n import t
from icv_permits.present import audit as views
from icv_permits.services import audit as ledger
from icv_permits.services import office as W
from icv_permits.services import reconcile

# lines of the source export: 1 header, 2 the pack snapshot, then record seq n on line n + 2:
# 1 engine (submit, DA) 2 submission 3 engine (decide) 4 review (approve, notice) 5 engine (RT)
# 6 submission 7 engine 8 review (return, no notice) 9 plates renewed
ENGINE, SUBMISSION, REVIEW, REVIEW_NO_NOTICE, RENEWED = 3, 2, 4, 8, 9


def line_of(seq: int) -> int:
    return seq + 2


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> dict:
    """The parsed lines of a real export and its pack (built once for the module)."""
    directory = tmp_path_factory.mktemp("hostile-source")
    store = db.open_store(fresh_sqlite(directory, "source.db"))
    populate(store, directory)
    W.renew_plates(store, ledger.find(store, "4").body["notice"]["number"], actor=ACTOR, clock=clock_at(2027, 5, 20))
    path = directory / "log.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        ledger.export_jsonl(store, fh)
    objs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    pack = ledger.pack_from_snapshot(store, objs[1]["revision"])
    db.dispose_all()
    assert [o["kind"] for o in objs[2:]] == ["engine_decision", "submission", "engine_decision", "review",
                                              "engine_decision", "submission", "engine_decision", "review", "plates_renewed"]
    return {"objs": objs, "pack": pack}


# ---------------------------------------------------------------- making exports


def editable(objs: list[dict]) -> list[dict]:
    """A copy of an export's lines to change the records of: the pack snapshot (110 kB) is shared,
    not copied."""
    return [o if o.get("type") == "pack_snapshot" else copy.deepcopy(o) for o in objs]


def rechained(objs: list[dict]) -> list[dict]:
    """``objs`` with every record's prev_hash and hash recomputed and the header's head moved to the
    last record: an export that verifies, whatever its records hold."""
    prev, last = ledger.GENESIS, 0
    for o in objs:
        if o.get("type") == "record":
            o["prev_hash"] = prev
            o["hash"] = prev = ledger.record_hash(o["seq"], o["decision_id"], o["kind"], o["recorded_at"], o["actor"], canonical_json(o["body"]), prev)
            last = o["seq"]
    objs[0]["head"] = {"seq": last, "hash": prev}
    return objs


def dump(objs: list[dict]) -> str:
    return "".join(json.dumps(o) + "\n" for o in objs)  # ASCII escapes: a lone surrogate can be written too


def record(objs: list[dict], seq: int) -> dict:
    return objs[seq + 1]


def on_record(seq: int, edit, chain: bool = True):
    """An export whose record ``seq`` is changed by ``edit(record)`` (re-chained unless ``chain`` is false)."""
    def make(src: dict) -> str:
        objs = editable(src["objs"])
        edit(record(objs, seq))
        return dump(rechained(objs) if chain else objs)
    return make


def on_body(seq: int, edit):
    return on_record(seq, lambda r: edit(r["body"]))


def on_lines(edit):
    """An export whose list of lines (parsed) is changed by ``edit(objs)``, then re-chained."""
    def make(src: dict) -> str:
        objs = copy.deepcopy(src["objs"])
        edit(objs)
        return dump(rechained(objs))
    return make


def as_format_1(body: dict, pack) -> dict:
    """An engine body of record format 2 written whole (format 1), as the code before it wrote it."""
    whole = ledger.expand_body(body, pack)
    body.clear()
    body.update(whole)
    return body


def on_decision(edit):
    """Record 3 written whole (format 1), its decision changed by ``edit(decision)``, re-chained."""
    def make(src: dict) -> str:
        objs = editable(src["objs"])
        edit(as_format_1(record(objs, ENGINE)["body"], src["pack"])["decision"])
        return dump(rechained(objs))
    return make


def forged_payload(body: dict, pack, edit) -> None:
    """Record format 2 forged by someone who knows it: the deflated part changed by ``edit(payload)``
    and the decision digest recomputed over what it rebuilds to (when it rebuilds at all)."""
    p = LC.unseal(body["deflated"])
    edit(p)
    body["deflated"] = LC.seal(p)
    try:
        body["decision_digest"] = LC._digest(LC._expand(body, p, pack), p["outcomes"])
    except Exception:  # noqa: BLE001 - a payload that does not even rebuild keeps the old digest
        pass


def on_payload(edit):
    def make(src: dict) -> str:
        objs = editable(src["objs"])
        forged_payload(record(objs, ENGINE)["body"], src["pack"], edit)
        return dump(rechained(objs))
    return make


def deep(n: int) -> str:
    return "[" * n + "]" * n


def deep_payload(src: dict) -> str:
    """Record 3's deflated part inflating to JSON nested 10,000 deep (its digest cannot be made)."""
    objs = copy.deepcopy(src["objs"])
    text = '{"input":{},"outcomes":{"conditions":' + deep(10_000) + "}}"
    record(objs, ENGINE)["body"]["deflated"] = base64.b64encode(zlib.compress(text.encode())).decode()
    return dump(rechained(objs))


def raw_replace(seq: int, old: str, new: str):
    """Record ``seq``'s line with ``old`` replaced by ``new`` in its text (what json.dumps cannot write)."""
    def make(src: dict) -> str:
        lines = dump(src["objs"]).splitlines()
        i = line_of(seq) - 1
        assert old in lines[i]
        lines[i] = lines[i].replace(old, new, 1)
        return "\n".join(lines) + "\n"
    return make


def duplicated_line(seq: int):
    def make(src: dict) -> str:
        lines = dump(src["objs"]).splitlines()
        i = line_of(seq) - 1
        return "\n".join(lines[:i + 1] + [lines[i]] + lines[i + 1:]) + "\n"
    return make


def set_path(obj, path: tuple, value) -> None:
    for key in path[:-1]:
        obj = obj[key]
    if value is _DROP:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


_DROP = object()
OTHER_REVISION = "sha256:" + "ab" * 32
UPPER_ID = "DEEE2445-071B-4114-A1D4-B8F2BA3BF8F5"

# case: (the export, exit code, the line named, what the message says)
CASES = {
    # a record's own fields, each of its exact type and within its column
    "seq 1.5": (on_record(1, lambda r: r.update(seq=1.5)), 2, 3, "field seq must be a whole number from 1 to 2147483647, not 1.5"),
    "seq as text": (on_record(1, lambda r: r.update(seq="1")), 2, 3, "field seq must be a whole number from 1 to 2147483647, not '1'"),
    "seq true": (on_record(1, lambda r: r.update(seq=True)), 2, 3, "field seq must be a whole number from 1 to 2147483647, not true"),
    "seq 1e3": (raw_replace(1, '"seq": 1,', '"seq": 1e3,'), 2, 3, "field seq must be a whole number from 1 to 2147483647, not 1000.0"),
    "seq beyond INTEGER": (on_record(1, lambda r: r.update(seq=2**31)), 2, 3, "field seq must be a whole number from 1 to 2147483647, not 2147483648"),
    "seq 0": (on_record(1, lambda r: r.update(seq=0)), 2, 3, "field seq must be a whole number from 1 to 2147483647, not 0"),
    "unknown kind": (on_record(2, lambda r: r.update(kind="weird")), 2, 4, "field kind must be one of engine_decision, submission, review, plates_renewed, not weird"),
    "kind longer than its column": (on_record(2, lambda r: r.update(kind="k" * 31)), 2, 4, "field kind must be one of"),
    "decision id of 400 characters": (on_record(2, lambda r: r.update(decision_id="x" * 400)), 2, 4, "field decision_id must be a decision ID (a UUID in lower case), not xxxx"),
    "decision id in upper case": (on_record(1, lambda r: r.update(decision_id=UPPER_ID)), 2, 3, "field decision_id must be a decision ID (a UUID in lower case)"),
    "actor of 101 characters": (on_record(2, lambda r: r.update(actor="a" * 101)), 2, 4, "field actor is longer than 100 characters (101)"),
    "actor with NUL": (on_record(2, lambda r: r.update(actor="a\x00b")), 2, 4, "field actor holds a character that cannot be stored"),
    "body with a lone surrogate": (on_record(2, lambda r: (r["body"].update(note="\ud800"), r.update(hash="sha256:" + "0" * 64)), chain=False), 2, 4,
                                   "field body holds a character that cannot be stored"),
    "a field no record has": (on_record(2, lambda r: r.update(note="x")), 2, 4, "field note is not a field of this line"),
    "record without its hash": (on_record(2, lambda r: r.pop("hash"), chain=False), 2, 4, "field hash is missing"),
    "prev_hash not a hash": (on_record(2, lambda r: r.update(prev_hash="abc"), chain=False), 2, 4, "field prev_hash must be a hash (sha256: and 64 lower-case hexadecimal digits), not abc"),
    "recorded_at with an offset": (on_record(2, lambda r: r.update(recorded_at="2026-11-27T10:00:00.000000+08:00")), 2, 4,
                                   "field recorded_at must be a UTC time written YYYY-MM-DDTHH:MM:SS.ffffffZ"),
    "recorded_at not a day": (on_record(2, lambda r: r.update(recorded_at="2026-02-30T10:00:00.000000Z")), 2, 4, "field recorded_at must be a UTC time"),
    # a year 1 was imported "intact" and then failed verify (stored back as 1-01-01) and crashed audit log (exit 70)
    "recorded_at in year 1": (on_record(2, lambda r: r.update(recorded_at="0001-01-01T00:00:00.000000Z")), 2, 4,
                              "field recorded_at must be a time within the years 1900–2199, not 0001-01-01T00:00:00.000000Z"),
    "recorded_at in year 9999": (on_record(2, lambda r: r.update(recorded_at="9999-12-31T23:59:59.999999Z")), 2, 4,
                                 "field recorded_at must be a time within the years 1900–2199"),
    "recorded_at in 1899, the year before the bound": (on_record(2, lambda r: r.update(recorded_at="1899-12-31T23:59:59.999999Z")), 2, 4,
                                                       "field recorded_at must be a time within the years 1900–2199"),
    "body a list": (on_record(2, lambda r: r.update(body=[1, 2])), 2, 4, "field body must be a mapping, not a list"),
    "a number without canonical form": (on_record(2, lambda r: r["body"].update(big=2**60), chain=False), 2, 4,
                                        "field body holds a number that has no canonical JSON form"),
    "a number of 2^53, one beyond what RFC 8785 writes": (on_record(2, lambda r: r["body"].update(big=-(2**53)), chain=False), 2, 4,
                                                          "field body holds a number that has no canonical JSON form"),
    "NaN": (raw_replace(2, '"body": {', '"body": {"x": NaN, '), 2, 4, "holds NaN, which is not a number JSON can exchange"),
    # duplicates
    "decision id of an earlier record": (on_lines(lambda objs: record(objs, 2).update(decision_id=record(objs, 1)["decision_id"])), 2, 4,
                                         "is already the decision ID of record 1"),
    "a record twice (seq repeated)": (duplicated_line(4), 4, 7, "Chain BROKEN at record 4"),
    # bodies in the shape their readers take them in
    "body of another type": (on_body(2, lambda b: b.update(type="review")), 2, 4, "field body.type must be one of submission, not review"),
    "engine: pack missing": (on_body(ENGINE, lambda b: b.pop("pack")), 2, 5, "field body.pack is missing"),
    "engine: pack id a path": (on_body(ENGINE, lambda b: b["pack"].update(id="/tmp/evil")), 2, 5, "field body.pack.id must be a pack id"),
    "engine: pack of another id": (on_body(ENGINE, lambda b: b["pack"].update(id="national-2021")), 2, 5,
                                   "field body.pack.id: the pack snapshot is of pack anhui-2025, not national-2021"),
    "engine: no snapshot of its revision": (on_body(ENGINE, lambda b: b["pack"].update(revision=OTHER_REVISION)), 2, 5,
                                            f"field body.pack.revision: no pack snapshot of revision {OTHER_REVISION} comes before this record"),
    "engine: verdict unknown": (on_body(ENGINE, lambda b: b.update(verdict="approved")), 2, 5,
                                "field body.verdict must be one of compliant, non_compliant, incomplete, not approved"),
    "engine: submission id as text": (on_body(ENGINE, lambda b: b.update(submission_id="1")), 2, 5, "field body.submission_id must be a whole number"),
    "engine: purpose a list": (on_body(ENGINE, lambda b: b.update(purpose=["submit"])), 2, 5, "field body.purpose must be text, not a list"),
    "engine: masked fields a mapping": (on_body(ENGINE, lambda b: b.update(masked_fields={"a": 1})), 2, 5, "field body.masked_fields must be a list, not a mapping"),
    "engine: evidence digest without bytes": (on_body(ENGINE, lambda b: b.update(evidence_digests=[{"path": "a", "sha256": "b"}])), 2, 5,
                                              "field body.evidence_digests[0].bytes is missing"),
    "engine: as of not a date": (on_body(ENGINE, lambda b: b.update(as_of="2026-13-01")), 2, 5, "field body.as_of must be a date written YYYY-MM-DD"),
    "engine: record format 3": (on_body(ENGINE, lambda b: b.update(record_format=3)), 2, 5, "field body.record_format must be a whole number from 2 to 2, not 3"),
    "engine: wrong decision digest": (on_body(ENGINE, lambda b: b.update(decision_digest="sha256:" + "1" * 64)), 2, 5,
                                      "field body.decision_digest: the decision cannot be rebuilt from the record and pack snapshot"),
    "engine: payload not deflated": (on_body(ENGINE, lambda b: b.update(deflated="not base64!")), 2, 5, "field body.deflated: the decision cannot be rebuilt"),
    "engine: payload nested 10,000 deep": (deep_payload, 2, 5, "field body.deflated: the decision cannot be rebuilt"),
    "engine: payload with a finding of no subject": (on_payload(lambda p: p["outcomes"]["findings"].append([99, [0]])), 2, 5, "field body.deflated"),
    "engine: payload conditions a number": (on_payload(lambda p: p["outcomes"].update(conditions=5)), 2, 5, "field body.deflated"),
    "engine: payload of another decision format": (on_payload(lambda p: p["outcomes"].update(format="weird")), 2, 5,
                                                   "field body.deflated: the decision is not one the engine writes (format:"),
    "engine: payload names a rule the pack lacks": (on_payload(lambda p: p["outcomes"]["entries"][0].__setitem__(0, "NOPE-99")), 2, 5,
                                                    "field body.deflated: the decision is not one the engine writes (findings[0].rule_id NOPE-99"),
    "engine: payload activity a number": (on_payload(lambda p: p["input"].update(activity=5)), 2, 5, "field body.deflated: the decision is not one the engine writes (activity:"),
    "engine format 1: decision without verdict": (on_decision(lambda d: d.pop("verdict")), 2, 5, "field body.decision: the decision is not one the engine writes (verdict: Field required)"),
    "engine format 1: counts without fail": (on_decision(lambda d: d["counts"].pop("fail")), 2, 5, "field body.decision: the decision is not one the engine writes (decision.counts.fail)"),
    "engine format 1: findings a mapping": (on_decision(lambda d: d.update(findings={})), 2, 5, "field body.decision: the decision is not one the engine writes (findings:"),
    "engine format 1: a rule the pack lacks": (on_decision(lambda d: d["findings"][0].update(rule_id="NOPE-99")), 2, 5, "(findings[0].rule_id NOPE-99"),
    "engine format 1: bad-row counts of an unknown reason": (on_decision(lambda d: d.update(evidence={"files": [], "buckets": [], "incidents": [], "bad_rows": [],
                                                                                               "bad_row_counts": {"weird": 1}, "lenient": True, "has_trips": False})), 2, 5,
                                                            "field body: the record cannot be shown by audit log or audit explain (KeyError"),
    "engine format 1: input missing": (on_body(ENGINE, lambda b: (b.pop("record_format"), b.pop("deflated"), b.pop("decision_digest"), b.update(decision={}))), 2, 5,
                                       "field body.input is missing"),
    "submission: names a submission": (on_lines(lambda objs: record(objs, 6)["body"].update(engine_decision=record(objs, 2)["decision_id"])), 2, 8,
                                       "is no engine decision earlier in the file"),
    "submission: names a sequence number": (on_body(SUBMISSION, lambda b: b.update(engine_decision="1")), 2, 4,
                                            "field body.engine_decision must be a decision ID (a UUID in lower case), not 1"),
    "submission: names a later record": (on_lines(lambda objs: record(objs, 2)["body"].update(engine_decision=record(objs, 3)["decision_id"])), 2, 4,
                                         "is no engine decision earlier in the file"),
    "submission: version a float": (on_body(SUBMISSION, lambda b: b.update(version=1.0)), 2, 4, "field body.version must be a whole number from 1 to 2147483647, not 1.0"),
    "review: action unknown": (on_body(REVIEW, lambda b: b.update(action="weird")), 2, 6, "field body.action must be one of approve, return, reject, not weird"),
    "review: notice as text": (on_body(REVIEW, lambda b: b.update(notice="AH-1")), 2, 6, "field body.notice must be a mapping or null, not text"),
    "review: notice without plates": (on_body(REVIEW, lambda b: b["notice"].pop("plates")), 2, 6, "field body.notice.plates is missing"),
    "review: against_engine as text": (on_body(REVIEW, lambda b: b.update(against_engine="no")), 2, 6, "field body.against_engine must be true/false, not text"),
    "review: from_state a mapping": (on_body(REVIEW_NO_NOTICE, lambda b: b.update(from_state={})), 2, 10, "field body.from_state must be text, not a mapping"),
    "plates renewed: notice a mapping": (on_body(RENEWED, lambda b: b.update(notice={"number": "x"})), 2, 11, "field body.notice must be text, not a mapping"),
    "plates renewed: renewed a number": (on_body(RENEWED, lambda b: b.update(renewed=3)), 2, 11, "field body.renewed must be a list, not a whole number"),
    # lines
    "a body 10,000 deep": (raw_replace(2, '"body": {', '"body": {"x": ' + deep(10_000) + ", "), 2, 4, "nested 10002 levels deep, more than the 64 an export may hold"),
    "a line longer than any export's": (lambda src: dump(src["objs"][:2]) + '{"type": "record", "x": "' + "x" * log_shape.MAX_LINE + '"}\n', 2, 3,
                                        f"longer than {log_shape.MAX_LINE} characters: not a line of an export"),
    "header not first": (lambda src: dump(src["objs"][1:2] + src["objs"][:1] + src["objs"][2:]), 2, 1, "not an icv-permits audit export"),
    "a second header": (on_lines(lambda objs: objs.insert(5, copy.deepcopy(objs[0]))), 2, 6, "a second header: the header is the first line of an export"),
    "header head seq 1.5": (lambda src: dump([{**src["objs"][0], "head": {"seq": 1.5, "hash": src["objs"][0]["head"]["hash"]}}] + src["objs"][1:]),
                            2, 1, "field head.seq must be a whole number from 0 to 2147483647, not 1.5"),
    "header with a field more": (lambda src: dump([{**src["objs"][0], "note": 1}] + src["objs"][1:]), 2, 1, "field note is not a field of this line"),
    "snapshot after a record": (on_lines(lambda objs: objs.insert(4, copy.deepcopy(objs[1]))), 2, 5, "a pack snapshot after the records"),
    "snapshot twice": (on_lines(lambda objs: objs.insert(2, copy.deepcopy(objs[1]))), 2, 3, "is already on line 2"),
    "snapshot pack id a path": (on_lines(lambda objs: objs[1].update(pack_id="../../etc")), 2, 2, "field pack_id must be a pack id"),
    "snapshot of another pack id": (on_lines(lambda objs: objs[1].update(pack_id="national-2021")), 2, 2, "field pack_id: the pack snapshot is of pack anhui-2025, not national-2021"),
    "snapshot revision of 200 characters": (on_lines(lambda objs: objs[1].update(revision="r" * 200)), 2, 2, "field revision must be a hash"),
    "snapshot content a list": (on_lines(lambda objs: objs[1].update(content=[])), 2, 2, "field content must be a mapping, not a list"),
    "unknown line type": (on_lines(lambda objs: objs.append({"type": ["record"]})), 2, 12, 'unknown line type ["record"]'),
}

def state(store) -> tuple:
    """What an import could change: the rows of the log, its pack snapshots and its head."""
    with store.read() as s:
        counts = tuple(s.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() for table in (T.DecisionLog, T.PackSnapshot, T.LogHead))
    return counts, ledger.head_row(store)


EMPTY = ((0, 0, 1), (0, ledger.GENESIS))


def _import(path: Path, lang: str = "en"):
    return cli("audit", "import", path, "--lang", lang)


def test_every_hostile_export_is_refused_naming_the_line_and_the_field(store, tmp_path, source):
    assert state(store) == EMPTY
    wrong = []
    for case, (make, code, line, words) in CASES.items():
        path = tmp_path / "hostile.jsonl"
        path.write_text(make(source), encoding="utf-8")
        r = _import(path)
        out = r.stderr if code == 2 else r.stdout
        named = any((x.startswith(f"line {line}: ") or code == 4) and words in x for x in out.splitlines())
        if r.exit_code != code or not named:
            wrong.append(f"{case}: exit {r.exit_code} (expected {code}), line {line} {words!r} not in {(r.stdout + r.stderr)[-400:]!r}")
        elif code == 2 and not (r.stderr.startswith("Bad input (exit 2):\n") and r.stdout == ""):
            wrong.append(f"{case}: {r.output!r}")
        elif code == 4 and f"The first break is on line {line} of the file; nothing was loaded." not in r.stdout:
            wrong.append(f"{case}: no line named in {r.stdout!r}")
        if state(store) != EMPTY:
            wrong.append(f"{case}: the store changed: {state(store)}")
            break
    assert not wrong, "\n".join(wrong)
    # and the genuine export still imports into that same store
    path = tmp_path / "genuine.jsonl"
    path.write_text(dump(source["objs"]), encoding="utf-8")
    r = _import(path)
    assert r.exit_code == 0 and "9 records imported." in r.stdout, r.output
    assert state(store)[0] == (9, 1, 1)


@pytest.mark.parametrize("case,zh", [
    ("seq 1.5", "line 3: 字段 seq 必须是 1 到 2147483647 之间的整数，而不是 1.5"),
    ("recorded_at in year 1", "line 4: 字段 recorded_at 应为 1900–2199 年之间的时间"),
    ("a body 10,000 deep", "line 4: 嵌套 10002 层，超过导出文件允许的 64 层"),
    ("actor of 101 characters", "line 4: 字段 actor 超过 100 个字符（101）"),
    ("decision id of an earlier record", "line 4: 字段 decision_id："),
    ("engine: pack missing", "line 5: 缺少字段 body.pack"),
    ("review: notice as text", "line 6: 字段 body.notice 必须是映射（键值对）或 null，而不是文本"),
])
def test_refusals_in_chinese(store, tmp_path, source, case, zh):
    make = CASES[case][0]
    path = tmp_path / "hostile.jsonl"
    path.write_text(make(source), encoding="utf-8")
    r = _import(path, "zh")
    assert r.exit_code == 2 and r.stderr.startswith(t("zh", "Bad input (exit 2):") + "\n") and zh in r.stderr, r.stderr
    assert state(store) == EMPTY


def test_a_refusal_on_the_last_line_leaves_the_store_as_it_was(store, tmp_path, source):
    """Eight records were loaded (inside the transaction) before the ninth is refused: none stays."""
    path = tmp_path / "late.jsonl"
    path.write_text(on_body(RENEWED, lambda b: b.update(notice=None))(source), encoding="utf-8")
    r = _import(path)
    assert r.exit_code == 2 and "line 11: field body.notice must be text, not null (an empty value)" in r.stderr, r.output
    assert state(store) == EMPTY
    # a broken chain at the end: the same
    path.write_text(on_record(RENEWED, lambda r: r.update(actor="mallory"), chain=False)(source), encoding="utf-8")
    r = _import(path)
    assert r.exit_code == 4 and "Chain BROKEN at record 9" in r.stdout and "line 11 of the file" in r.stdout, r.output
    assert state(store) == EMPTY


# ---------------------------------------------------------------- streaming


class _Source:
    """A file-like source that fails the test if anything asks for more than a line's bound at once, or
    reads on after the line that was refused."""

    def __init__(self, lines: list[str], stop_after: int):
        self.lines = iter(lines)
        self.read = 0
        self.stop_after = stop_after

    def readline(self, size: int = -1) -> str:
        assert 0 < size <= log_shape.MAX_LINE + 1, size
        assert self.read < self.stop_after, "read on after the refused line"
        self.read += 1
        return next(self.lines, "")


def test_import_reads_a_line_at_a_time_and_stops_at_the_refused_line(store, source):
    lines = [x + "\n" for x in on_body(SUBMISSION, lambda b: b.update(version="1"))(source).splitlines()]
    src = _Source(lines, stop_after=4)
    with pytest.raises(Exception) as refused:
        ledger.import_jsonl(store, src)
    assert refused.value.problems[0].location == "line 4" and src.read == 4
    assert state(store) == EMPTY


def test_a_large_export_imports(store, tmp_path, source):
    """Two thousand records (about 6 MB), made here: imported, verified, the last one explained."""
    objs = copy.deepcopy(source["objs"][:2])
    template = source["objs"][2:10]
    seq = 0
    for cycle in range(250):
        engine_id = None
        for r in template:
            r = copy.deepcopy(r)
            seq += 1
            r["seq"] = seq
            r["body"]["submission_id"] = 2 * cycle + 1 + (seq - 1) % 8 // 4
            if r["kind"] == "engine_decision":
                r["body"]["engine_run_id"] = seq
                r["decision_id"] = engine_id = str(uuid.uuid4())
            else:
                r["decision_id"] = str(uuid.uuid4())
                r["body"]["engine_decision"] = engine_id
            objs.append(r)
    path = tmp_path / "large.jsonl"
    path.write_text(dump(rechained(objs)), encoding="utf-8")
    assert path.stat().st_size > 5_000_000
    r = _import(path)
    assert r.exit_code == 0 and "2000 records imported." in r.stdout, r.output
    assert cli("audit", "verify").exit_code == 0
    assert cli("audit", "explain", "2000").exit_code == 0


# ---------------------------------------------------------------- what imports can be read


BAD_VALUES = [None, True, 1.5, "x", [], {"a": 1}, _DROP]  # null, a boolean, a float, text, a list, a mapping, missing
NESTED_VALUES = [None, [], _DROP]  # for keys inside a body's mappings and lists (fewer: the readers go there less)


def _values(path: tuple) -> list:
    return BAD_VALUES if len(path) == 1 else NESTED_VALUES


def _paths(body: dict, prefix: tuple = (), depth: int = 2):
    """The keys of ``body`` (and of the mappings in it, ``depth`` levels down; a list's first item)."""
    for key, value in body.items():
        if key in ("deflated", "decision_digest", "input"):
            continue  # the compact payload and the input are changed below, with the digest kept right
        yield prefix + (key,)
        if depth > 1 and isinstance(value, dict):
            yield from _paths(value, prefix + (key,), depth - 1)
        elif depth > 1 and isinstance(value, list) and value and isinstance(value[0], dict):
            yield from _paths(value[0], prefix + (key, 0), depth - 1)


TARGETS = {"engine decision": 1, "submission": SUBMISSION, "review": REVIEW, "plates renewed": RENEWED, "whole decision": ENGINE,
           "compact payload": ENGINE}


def _mutations(src: dict, target: str):
    """(name, export text maker) for every key of ``target`` set to each of :data:`BAD_VALUES`,
    re-chained: a body's keys; a whole decision's (record 3 written in format 1); a payload of
    record format 2 forged with its digest recomputed."""
    objs = src["objs"]
    seq = TARGETS[target]
    if target == "whole decision":
        whole = as_format_1(copy.deepcopy(record(objs, ENGINE)["body"]), src["pack"])["decision"]
        for path in _paths(whole):
            for value in _values(path):
                yield f"decision{list(path)} = {value!r}", on_decision(lambda d, p=path, v=value: set_path(d, p, v))
    elif target == "compact payload":
        payload = LC.unseal(record(objs, ENGINE)["body"]["deflated"])
        for path in [("input", k) for k in payload["input"]] + [("outcomes", k) for k in payload["outcomes"]]:
            for value in NESTED_VALUES:
                yield f"payload{list(path)} = {value!r}", on_payload(lambda p, q=path, v=value: set_path(p, q, v))
    else:
        for path in _paths(record(objs, seq)["body"]):
            for value in _values(path):
                yield f"record {seq} body{list(path)} = {value!r}", on_body(seq, lambda b, p=path, v=value: set_path(b, p, v))


def _reset(store) -> None:
    with bypass(store) as run:
        run("DELETE FROM decision_log")
        run("DELETE FROM pack_snapshot")
        run("UPDATE log_head SET seq = 0, hash = :h", h=ledger.GENESIS)


def _exit(read) -> int:
    """The exit code the CLI gives what ``read()`` does (its ``errors()``: bad input 2, not found or
    broken 4, a bad pack 2); any other exception is what the installed CLI reports as exit 70, and
    is raised."""
    try:
        read()
    except InputError as exc:
        return exc.exit_code
    except PackError:
        return 2
    return 0


def _read_everything(store, seq: int, current: bool) -> list[tuple[str, int]]:
    """What an auditor runs on an imported copy, called as the commands call it (the services and the
    views, in both languages): each with the exit code it comes to."""
    def log(lang: str):
        recs = ledger.records_tail(store, 20)
        views.log_table(recs, lang)
        json.dumps([r.to_json() for r in recs], ensure_ascii=False)

    def explain():
        parts = ledger.explain(store, str(seq))
        for lang in ("en", "zh"):
            views.explanation(parts, lang)

    def replay(mode: str):
        results = list(ledger.replay(store, [str(seq)], pack_mode=mode))
        for lang in ("en", "zh"):
            views.replay_text(results, lang)
        json.dumps([r.to_json() for r in results], ensure_ascii=False)

    def reconciled():
        run = reconcile.reconcile(store)
        for d in run:
            views.difference_line(d, "en")
        views.reconcile_summary(run.summary, "en")

    reads = [("log en", lambda: log("en")), ("log zh", lambda: log("zh")), ("explain", explain), ("replay", lambda: replay("recorded")),
             ("reconcile", reconciled)]
    if current:
        reads.append(("replay --pack current", lambda: replay("current")))
    out = []
    for name, read in reads:
        try:
            out.append((name, _exit(read)))
        except Exception as exc:  # noqa: BLE001 - the installed CLI's exit 70: collected, the test fails
            out.append((name, f"{type(exc).__name__}: {str(exc)[:200]}"))
    return out


@pytest.mark.parametrize("target", list(TARGETS))
def test_whatever_imports_can_be_listed_replayed_and_explained(store, tmp_path, source, target):
    """Every key of a body of each kind, of a whole decision and of a forged compact payload set to
    a value of each other type (or dropped), the chain recomputed: refused (2, or 4) with the store
    left as it was, or imported — and then what ``audit log``, ``replay``, ``explain`` and
    ``reconcile`` do answers 0, 1 or 4, never an exception. The import and the reads are called as
    the commands call them (the CLI's own runs are ``test_the_commands_read_what_imports``)."""
    shown = shown_check("en")
    seq = TARGETS[target]
    imported, refused, wrong = [], 0, []
    for name, make in _mutations(source, target):
        try:
            code = 0 if ledger.import_jsonl(store, make(source).splitlines(), shown=shown).intact else 4
        except InputError as exc:
            code = exc.exit_code
        if code != 0:
            refused += 1
            if code not in (2, 4) or state(store) != EMPTY:
                wrong.append(f"{name}: exit {code}, store {state(store)}")
            continue
        imported.append(name)
        for read, result in _read_everything(store, seq, target == "engine decision"):
            if result not in (0, 1, 4):
                wrong.append(f"{name}: {read}: {result}")
        _reset(store)
    assert not wrong, "\n".join(wrong[:20])
    assert refused > 10 and imported, (refused, imported)


def test_the_commands_read_what_imports(store, tmp_path, source):
    """Changes the import lets through (the VINs of a review's notice as text, the insurance of a compact
    record's input snapshot null): the commands themselves answer 0, 1 or 4."""
    for make, seq in ((on_body(REVIEW, lambda b: b["notice"].update(vins="x", sections=None)), REVIEW),
                      (on_payload(lambda p: p["input"].update(insurance=None)), ENGINE)):
        path = tmp_path / "accepted.jsonl"
        path.write_text(make(source), encoding="utf-8")
        r = _import(path)
        assert r.exit_code == 0, r.output
        for args in (("audit", "log"), ("audit", "log", "--format", "json"), ("audit", "explain", seq), ("audit", "replay", seq),
                     ("audit", "replay", "--all", "--jobs", "1"), ("audit", "replay", "--all", "--jobs", "1", "--pack", "current"),
                     ("audit", "verify"), ("audit", "reconcile")):
            for lang in ("en", "zh"):
                assert cli(*args, "--lang", lang).exit_code in (0, 1, 4), args
        _reset(store)
