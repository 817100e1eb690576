"""The decision log's pure parts: how a record is hashed and chained, what a verification and a
replay report, and the replay of one engine decision (the engine run again on what was recorded).

Reading and writing the log is the store's business (:mod:`icv_permits.services.audit`); nothing
here touches a database, a file or the clock."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from json.encoder import encode_basestring as _encode_str

from icv_permits.core.canonical import canonical_bytes, plain_json_bytes
from icv_permits.core.engine import evaluate_json
from icv_permits.core.engine.checks.evidence import COUNTING_PARAMS
from icv_permits.core.engine.decision import DECISION_FORMAT
from icv_permits.core.errors import LogBroken, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.log_compact import RECORD_FORMAT, expand, rebuilt_unchecked
from icv_permits.core.model.application import Application
from icv_permits.core.model.evidence import EvidenceSummary
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.core.pack import Pack

GENESIS = "sha256:" + "0" * 64


def _c(value: str) -> str:
    """RFC 8785 form of a string. For strings it is exactly ``json.dumps(…, ensure_ascii=False)``:
    the same minimal escapes (``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``, other controls as lower-case
    ``\\u00xx``) and nothing else escaped; ``tests/test_ledger.py`` checks it against ``rfc8785``.
    ``json.encoder.encode_basestring`` is what ``json.dumps`` calls for a lone string; called
    directly it skips building a ``JSONEncoder`` per call (``ensure_ascii=False`` is not the
    default, so ``json.dumps`` builds one), a fifth of what verifying a log cost."""
    return _encode_str(value) if type(value) is str else json.dumps(value, ensure_ascii=False)


def _parts(seq: int, decision_id: str, kind: str, recorded_at: str, actor: str, prev_hash: str) -> tuple[bytes, bytes]:
    head = '{"actor":' + _c(actor) + ',"body":'
    tail = (',"decision_id":' + _c(decision_id) + ',"kind":' + _c(kind) + ',"prev_hash":' + _c(prev_hash)
            + ',"recorded_at":' + _c(recorded_at) + ',"seq":' + str(int(seq)) + "}")
    return head.encode("utf-8"), tail.encode("utf-8")


def record_preimage(seq: int, decision_id: str, kind: str, recorded_at: str, actor: str, body_text: str | bytes, prev_hash: str) -> bytes:
    """RFC 8785 bytes of ``{actor, body, decision_id, kind, prev_hash, recorded_at, seq}`` (keys in
    RFC 8785 order), given the body already canonical. Built piecewise so that verifying does not
    re-canonicalise every body; ``tests/test_ledger.py`` proves it equals ``rfc8785.dumps`` of the
    whole record."""
    head, tail = _parts(seq, decision_id, kind, recorded_at, actor, prev_hash)
    body = body_text if isinstance(body_text, bytes) else body_text.encode("utf-8")
    return head + body + tail


def record_hash(seq: int, decision_id: str, kind: str, recorded_at: str, actor: str, body_text: str | bytes, prev_hash: str) -> str:
    head, tail = _parts(seq, decision_id, kind, recorded_at, actor, prev_hash)
    h = hashlib.sha256(head)
    h.update(body_text if isinstance(body_text, bytes) else body_text.encode("utf-8"))
    h.update(tail)
    return "sha256:" + h.hexdigest()


M_NOT_WRITTEN = N_("its {what} is not as the office writes it: the log was changed after it was written; `icv-permits audit verify` names the break")


@dataclass
class Record:
    seq: int
    decision_id: str
    kind: str
    recorded_at: str
    actor: str
    body_text: str
    prev_hash: str
    hash: str

    @cached_property
    def body(self) -> dict:
        """The body, parsed once per record. A body that is not a JSON object was not written by
        the office (every writer writes one): :class:`~icv_permits.core.errors.LogBroken`."""
        try:
            body = json.loads(self.body_text)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            raise LogBroken([Problem(f"record {self.seq}", M_NOT_WRITTEN, {"what": "body"}, "altered")])
        return body

    def computed_hash(self) -> str:
        return record_hash(self.seq, self.decision_id, self.kind, self.recorded_at, self.actor, self.body_text, self.prev_hash)

    def to_json(self) -> dict:
        return {"type": "record", "seq": self.seq, "decision_id": self.decision_id, "kind": self.kind, "recorded_at": self.recorded_at,
                "actor": self.actor, "body": self.body, "prev_hash": self.prev_hash, "hash": self.hash}


WARNINGS = frozenset({"snapshot_unproven"})
"""Findings that verification cannot settle: a pack snapshot stored in the older form, before its
revision could be recomputed, that is not today's pack of that revision. Reported, not a break:
replaying its decisions shows whether they still come out as recorded."""


@dataclass
class Break:
    seq: int
    decision_id: str | None
    problem: str  # edited | link | gap | head | anchor | order | time | snapshot | trigger
    detail: dict = field(default_factory=dict)


@dataclass
class VerifyReport:
    checked: int
    first_seq: int
    last_seq: int
    head_seq: int
    head_hash: str
    breaks: list[Break]

    @property
    def intact(self) -> bool:
        return not self.faults

    @property
    def faults(self) -> list[Break]:
        """What breaks the log (exit 4)."""
        return [b for b in self.breaks if b.problem not in WARNINGS]

    @property
    def warnings(self) -> list[Break]:
        """What verification cannot prove either way (reported, exit 0)."""
        return [b for b in self.breaks if b.problem in WARNINGS]

    def to_json(self) -> dict:
        return {"intact": self.intact, "checked": self.checked, "first_seq": self.first_seq, "last_seq": self.last_seq,
                "head": {"seq": self.head_seq, "hash": self.head_hash},
                "first_break": None if self.intact else self.faults[0].__dict__, "breaks": [b.__dict__ for b in self.faults],
                "warnings": [b.__dict__ for b in self.warnings]}


def verify_records(records: Iterable[Record], *, from_seq: int = 1, anchor: str | None = None, anchor_recorded_at: str | None = None,
                   head_seq: int | None = None, head_hash: str | None = None, expect_head: str | None = None) -> VerifyReport:
    """Walk the chain; stop at the first break. ``anchor`` is the hash of record ``from_seq − 1``
    (``GENESIS`` from the start) and ``anchor_recorded_at`` its time.

    Besides the chain, each record's ``recorded_at`` must not be earlier than its predecessor's (the
    first such pair is reported as ``time``; the walk goes on). ``expect_head`` is a hash noted
    earlier: the record that had it must still be in the chain verified here (the anchor or a record
    walked), wherever the log has grown since."""
    prev = anchor if anchor is not None else GENESIS
    prev_at = anchor_recorded_at
    expected_seq = from_seq
    checked = 0
    last = from_seq - 1
    breaks: list[Break] = []
    time_break: Break | None = None
    beyond_head: tuple[int, str] | None = None
    seen_expected = expect_head is not None and expect_head == prev and from_seq > 1
    for rec in records:
        if head_seq is not None and rec.seq == head_seq + 1:
            beyond_head = (rec.seq, rec.decision_id)
        if rec.seq != expected_seq:
            kind = "gap" if rec.seq > expected_seq else "order"
            breaks.append(Break(rec.seq, rec.decision_id, kind, {"expected_seq": expected_seq, "found_seq": rec.seq}))
            break
        if rec.prev_hash != prev:
            breaks.append(Break(rec.seq, rec.decision_id, "link", {"prev_hash": rec.prev_hash, "previous_record_hash": prev}))
            break
        if rec.computed_hash() != rec.hash:
            breaks.append(Break(rec.seq, rec.decision_id, "edited", {"stored_hash": rec.hash}))
            break
        # recorded_at is always written YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC), so text order is time order
        at = getattr(rec, "recorded_at", None)
        if time_break is None and at is not None and prev_at is not None and at < prev_at:
            time_break = Break(rec.seq, rec.decision_id, "time", {"seq": rec.seq, "recorded_at": at,
                                                                  "previous_seq": rec.seq - 1, "previous_recorded_at": prev_at})
        prev_at = at if at is not None else prev_at
        if expect_head is not None and rec.hash == expect_head:
            seen_expected = True
        prev = rec.hash
        last = rec.seq
        expected_seq += 1
        checked += 1
    if not breaks:
        breaks = _tail_breaks(last, prev, head_seq, head_hash)
        if breaks and breaks[0].problem == "head" and beyond_head is not None:
            breaks[0].seq, breaks[0].decision_id = beyond_head  # a record past the head: name it
    if time_break is not None:
        breaks.append(time_break)
    if expect_head is not None and not seen_expected:
        breaks.append(Break(last, None, "anchor", {"expected_head": expect_head, "last_hash": prev}))
    return VerifyReport(checked, from_seq, last, head_seq if head_seq is not None else last, head_hash or prev, breaks)


Row = tuple  # (seq, decision_id, kind, recorded_at, actor, body as UTF-8 bytes, prev_hash, hash)
"""A record as the store's fast reader gives it: the body the bytes stored (never decoded, never
re-serialised); ``recorded_at`` as read, its text for the hash given beside the rows (:data:`Batch`)."""

Batch = tuple  # (list[Row], list[str]): rows as read, and each row's recorded_at as the text the hash covers
"""Rows as read and, one per row, their ``recorded_at`` as the UTC text the hash covers (the
store turns what it holds into that text a batch at a time: no new tuple per row)."""


def _plain(texts: list) -> bool:
    """Every text is a ``str`` that JSON writes as it is between its quotes (no ``"``, no ``\\``,
    no control character): a whole batch checked in a few calls."""
    try:
        joined = "".join(texts)
    except TypeError:
        return False
    return '"' not in joined and "\\" not in joined and joined.isprintable()


def verify_rows(batches: Iterable[Batch], *, from_seq: int = 1, anchor: str | None = None, anchor_recorded_at: str | None = None,
                head_seq: int | None = None, head_hash: str | None = None, expect_head: str | None = None) -> VerifyReport:
    """:func:`verify_records` over rows (:data:`Batch`\\ es as read), the same report.

    An intact log is a long run of records that each follow the one before: this walks that run in
    one tight loop — the hash of each record computed from its stored body bytes with only the
    short fields around it serialised (the ``{"actor":…,"body":`` prefix and the kind again only
    when they change from the row before; the decision IDs and times of a batch checked at once to
    need no escaping), no object per record.
    At the first record that is not plainly in order (a gap, a broken link, an edited record, time
    going backwards, a record past the head, a decision ID or time that needs escaping), the rest is handed to
    :func:`verify_records` from there, anchored on the last record that was in order: the breaks,
    their details and the counts are what a walk by :func:`verify_records` alone gives."""
    sha256 = hashlib.sha256
    enc = _encode_str
    prev = anchor if anchor is not None else GENESIS
    prev_at = anchor_recorded_at
    expected = from_seq
    beyond = head_seq + 1 if head_seq is not None else -1
    seen = expect_head is not None and expect_head == prev and from_seq > 1  # the anchor itself, as verify_records has it
    last_actor = last_kind = object()  # equal to no value read: the first row sets head and k
    head, k = b"", ""
    rest: list[Row] = []
    rest_at: list[str] = []
    it = iter(batches)
    # prev_hash, decision_id and recorded_at are written unescaped below: prev_hash equals the hash
    # before it, which is the anchor (when it needs no escaping) or a hash just computed here
    # ("sha256:" + hex digits); the decision IDs and times of each batch are checked first
    plain_anchor = type(prev) is str and enc(prev) == '"' + prev + '"'
    for rows, ats in it if plain_anchor else ():
        if not (_plain(ats) and _plain([r[1] for r in rows])):
            rest, rest_at = rows, ats
            break
        for i, (row, at) in enumerate(zip(rows, ats)):
            try:
                seq, did, kind, _, actor, body, prev_hash, stored = row
                if seq != expected or seq == beyond or prev_hash != prev or (prev_at is not None and at < prev_at):
                    rest, rest_at = rows[i:], ats[i:]
                    break
                if actor != last_actor:  # the same actor as the row before, mostly: no lookup
                    head = ('{"actor":' + enc(actor) + ',"body":').encode("utf-8")
                    last_actor = actor
                if kind != last_kind:
                    k = ',"kind":' + enc(kind) + ',"prev_hash":"'
                    last_kind = kind
                h = sha256(head)
                h.update(body)
                h.update(f',"decision_id":"{did}"{k}{prev_hash}","recorded_at":"{at}","seq":{seq}}}'.encode())
            except (TypeError, ValueError):  # a value of an unexpected type or text: the general walk says what it is
                rest, rest_at = rows[i:], ats[i:]
                break
            if "sha256:" + h.hexdigest() != stored:
                rest, rest_at = rows[i:], ats[i:]
                break
            if stored == expect_head:
                seen = True
            prev = stored
            prev_at = at
            expected += 1
        else:
            continue
        break
    walked = expected - from_seq

    def remaining() -> Iterable[Record]:
        for r, at in zip(rest, rest_at):
            yield Record(r[0], r[1], r[2], at, r[4], r[5], r[6], r[7])
        for rows, ats in it:
            for r, at in zip(rows, ats):
                yield Record(r[0], r[1], r[2], at, r[4], r[5], r[6], r[7])

    if walked == 0:
        return verify_records(remaining(), from_seq=from_seq, anchor=anchor, anchor_recorded_at=anchor_recorded_at, head_seq=head_seq,
                              head_hash=head_hash, expect_head=expect_head)
    report = verify_records(remaining(), from_seq=expected, anchor=prev, anchor_recorded_at=prev_at, head_seq=head_seq, head_hash=head_hash,
                            expect_head=None if seen else expect_head)
    report.checked += walked
    report.first_seq = from_seq
    return report


def _tail_breaks(last: int, last_hash: str, head_seq: int | None, head_hash: str | None) -> list[Break]:
    """After an intact walk: does the log head agree with the end?"""
    if head_seq is not None and (head_seq != last or head_hash != last_hash):
        return [Break(last + 1 if head_seq > last else head_seq, None, "head",
                      {"head_seq": head_seq, "head_hash": head_hash, "last_seq": last, "last_hash": last_hash})]
    return []


@dataclass
class RuleDiff:
    rule_id: str
    subject: str
    recorded: list[str]  # outcome:reason of each finding, recorded
    replayed: list[str]
    values_changed: bool = False


@dataclass
class ReplayResult:
    seq: int
    decision_id: str
    submission_id: int
    pack_mode: str
    pack_revision: str
    recorded_verdict: str
    replayed_verdict: str
    match: bool
    rule_diffs: list[RuleDiff]
    parameter_changes: list[dict] = field(default_factory=list)
    error: str | None = None
    notes: list[dict] = field(default_factory=list)  # what a reader of the result must know, e.g. evidence counted by the reader

    def to_json(self) -> dict:
        d = self.__dict__.copy()
        d["rule_diffs"] = [r.__dict__ for r in self.rule_diffs]
        return d


def _findings_by_rule(decision: dict) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for f in decision["findings"]:
        out.setdefault((f["rule_id"], f["subject"]["ref"]), []).append(f)
    return out


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same JSON: equal in Python (which also holds 1, 1.0 and
    ``true`` equal) and with the same canonical form (where ``1`` and ``1.0`` are one number, and
    ``true`` is not a number)."""
    if a != b:
        return False
    if plain_json_bytes(a) == plain_json_bytes(b):
        return True
    try:
        return canonical_bytes(a) == canonical_bytes(b)
    except ValueError:  # a value RFC 8785 cannot write: not a decision the log could have recorded
        return False


def diff_decisions(recorded: dict, replayed: dict) -> list[RuleDiff]:
    a, b = _findings_by_rule(recorded), _findings_by_rule(replayed)
    diffs = []
    for key in sorted(set(a) | set(b)):
        fa, fb = a.get(key, []), b.get(key, [])
        if same_json(fa, fb):
            continue
        sa = [f"{f['outcome']}:{f['reason']}" for f in fa]
        sb = [f"{f['outcome']}:{f['reason']}" for f in fb]
        diffs.append(RuleDiff(key[0], key[1], sa, sb, values_changed=sa == sb))
    return diffs


def parameter_changes(old: Pack, new: Pack, as_of: dt.date) -> list[dict]:
    """Parameters whose value in force on ``as_of`` differs between two packs (the "why")."""
    out = []
    for pid in sorted(set(old.parameters) | set(new.parameters)):
        po, pn = old.parameters.get(pid), new.parameters.get(pid)
        vo = po.at(as_of) if po else None
        vn = pn.at(as_of) if pn else None
        a = (vo.value, vo.effective_from.isoformat(), po.comparison) if vo else None
        b = (vn.value, vn.effective_from.isoformat(), pn.comparison) if vn else None
        if a != b:
            out.append({"param": pid, "recorded": None if a is None else {"value": a[0], "effective_from": a[1], "comparison": a[2]},
                        "current": None if b is None else {"value": b[0], "effective_from": b[1], "comparison": b[2]}})
    for rid in sorted(set(old.rules) | set(new.rules)):
        ro, rn = old.rules.get(rid), new.rules.get(rid)
        if ro is None or rn is None or (ro.enabled, ro.severity, ro.applies_to) != (rn.enabled, rn.severity, rn.applies_to):
            out.append({"rule": rid, "recorded": None if ro is None else {"enabled": ro.enabled, "severity": ro.severity.value},
                        "current": None if rn is None else {"enabled": rn.enabled, "severity": rn.severity.value}})
    return out


def _replay_by_digest(rec: Record, pack: Pack) -> ReplayResult | None:
    """A record of format 2 replayed with the pack snapshot it names, the lean way: the record is
    read without the scans a reader of untrusted text makes first, and its rebuilt decision is not
    hashed; instead the decision made again must equal the rebuilt one and have the recorded
    decision digest (so the rebuilt one has it too: the record is as it was written). ``None`` —
    any difference or failure — leaves the record to the strict path, which reads it again,
    checks the rebuilt decision against the digest, and reports and names what differs."""
    body = rec.body
    try:
        snapshot, recorded = rebuilt_unchecked(body, pack)
        app = Application.model_validate(snapshot)
        evidence = EvidenceSummary.model_validate(recorded["evidence"]) if recorded.get("evidence") else None
        registry = RegistryFacts.model_validate(recorded["registry"]) if recorded.get("registry") else None
        replayed = evaluate_json(app, pack, dt.date.fromisoformat(body["as_of"]), evidence, registry, recorded.get("format", DECISION_FORMAT))
        # byte for byte, not ``==`` (which holds 1, 1.0 and true equal): the record's outcomes
        # rebuild to exactly the decision made again, whose bytes have the recorded digest (bytes
        # of data that is not plain are not its RFC 8785 form: no digest to match, the strict way)
        made = plain_json_bytes(replayed)
        if made != plain_json_bytes(recorded) or "sha256:" + hashlib.sha256(made).hexdigest() != body["decision_digest"]:
            return None
    except Exception:  # noqa: BLE001 - whatever this path cannot do, the strict path does (and reports)
        return None
    notes = []
    if evidence is not None and evidence.counted_by_reader:
        notes.append({"note": "evidence_counted_by_reader", "format": recorded.get("format"), "counting_params_changed": []})
    return ReplayResult(rec.seq, rec.decision_id, body["submission_id"], "recorded", pack.revision, recorded["verdict"], replayed["verdict"],
                        True, [], [], notes=notes)


def replay_record(rec: Record, pack: Pack, mode: str, recorded_pack: Pack | None = None) -> ReplayResult:
    """Evaluate the recorded input again with ``pack`` and compare the whole decision with the one
    recorded. ``recorded_pack`` is the snapshot of the pack the record names (``pack`` itself in
    ``recorded`` mode): a record of format 2 is rebuilt with it to its whole decision first
    (:func:`~icv_permits.core.log_compact.expand`), and compared as a record of format 1 —
    the same comparison, the same per-rule differences and parameter changes, whichever form the
    record is in; the pack another mode replays with cannot rebuild it."""
    body = rec.body
    if mode == "recorded" and body.get("record_format") == RECORD_FORMAT:
        quick = _replay_by_digest(rec, pack)
        if quick is not None:
            return quick
    try:
        snapshot, recorded = expand(body, recorded_pack if recorded_pack is not None else pack)
        app = Application.model_validate(snapshot)
        evidence = EvidenceSummary.model_validate(recorded["evidence"]) if recorded.get("evidence") else None
        registry = RegistryFacts.model_validate(recorded["registry"]) if recorded.get("registry") else None
        as_of = dt.date.fromisoformat(body["as_of"])
        # the layout the record was written in: a decision without trip buckets reads the same in
        # format 1 and 2, so a record of format 1 is compared in its own layout
        replayed = evaluate_json(app, pack, as_of, evidence, registry, recorded.get("format", DECISION_FORMAT))
    except Exception as exc:  # noqa: BLE001 - a record that cannot be replayed is reported, not fatal
        return ReplayResult(rec.seq, rec.decision_id, body.get("submission_id", 0), mode, pack.revision, body.get("verdict", "?"), "—",
                            False, [], error=f"{type(exc).__name__}: {str(exc)[:300]}")
    notes = []
    if evidence is not None and evidence.counted_by_reader:
        # the reader counted these totals under the old format; no pack parameter can count them again
        changed = [c["param"] for c in (parameter_changes(recorded_pack, pack, as_of) if mode == "current" and recorded_pack is not None else [])
                   if c.get("param") in COUNTING_PARAMS]
        notes.append({"note": "evidence_counted_by_reader", "format": recorded.get("format"), "counting_params_changed": changed})
    if mode == "current":
        # compare what matters to the applicant: the pack's revision and the engine version are expected to differ
        for k in ("pack_revision", "pack_chain", "engine_version"):
            replayed[k] = recorded.get(k)
    match = same_json(replayed, recorded)
    changes = parameter_changes(recorded_pack, pack, as_of) if (mode == "current" and recorded_pack is not None and not match) else []
    return ReplayResult(rec.seq, rec.decision_id, body["submission_id"], mode, pack.revision, recorded["verdict"], replayed["verdict"],
                        match, [] if match else diff_decisions(recorded, replayed), changes, notes=notes)
