"""The decision log (issue #5): hash-chained, append-only, replayable.

Every engine decision and every human action of the workflow is one record, written in the same
database transaction as the action itself (``append`` is called inside ``Store.write()``), so a
committed action always has its record and a rolled-back one never does.

A record is ``{seq, decision_id, kind, recorded_at, actor, body, prev_hash, hash}``:

- ``body`` is RFC 8785 canonical JSON (what happened: the pseudonymised input snapshot and which
  fields were masked, pack ID and revision, as-of date, clock value, the evidence digests, the
  per-rule outcomes with reason codes and values, verdict, engine version…);
- ``hash`` is ``sha256:`` + SHA-256 of the RFC 8785 canonical JSON of the record without ``hash``
  (``body`` embedded as the JSON value it is); ``prev_hash`` is the hash of record ``seq − 1``
  (64 zeros before the first). Changing, deleting, inserting or reordering records breaks the chain
  at the first record touched; ``log_head`` holds the last seq and hash, so cutting the tail shows
  too (unless the head is rewritten as well — then only an anchor noted earlier, ``--expect-head``,
  shows it).
- ``actor`` is who the database says acted: the session user on PostgreSQL, the operating-system
  user on SQLite. The name given with ``--actor`` is recorded in the body as ``claimed_actor``.

Packs used by logged decisions are stored whole (``pack_snapshot``) so that a replay evaluates with
exactly the recorded rules and parameters, whatever ``rules/`` holds today.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TextIO

from sqlalchemy import func, select, text
from sqlmodel import Session

from icv_permits.adapters.store import tables as T
from icv_permits.adapters.store.db import NotFound, Store
from icv_permits.core.canonical import canonical_json, utc_timestamp
from icv_permits.core.engine import evaluate
from icv_permits.core.engine.checks.evidence import COUNTING_PARAMS
from icv_permits.core.engine.decision import DECISION_FORMAT, Decision
from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.model.application import Application
from icv_permits.core.model.evidence import EvidenceSummary
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.core.pack import Pack

GENESIS = "sha256:" + "0" * 64
EXPORT_FORMAT = "icv-permits/audit-export/1"
EXIT_BROKEN = 4


# ---------------------------------------------------------------- hashing


def _c(value: str) -> str:
    """RFC 8785 form of a string. For strings it is exactly ``json.dumps(…, ensure_ascii=False)``:
    the same minimal escapes (``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``, other controls as lower-case
    ``\\u00xx``) and nothing else escaped; ``tests/test_ledger.py`` checks it against ``rfc8785``."""
    return json.dumps(value, ensure_ascii=False)


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


# ---------------------------------------------------------------- writing


def db_actor(s: Session) -> str:
    """Who the database says is acting: the session user on PostgreSQL, the OS user on SQLite."""
    if s.get_bind().dialect.name == "postgresql":
        info = s.connection().info  # the session user is fixed for a connection: ask once
        if "icv_session_user" not in info:
            info["icv_session_user"] = str(s.execute(text("SELECT session_user")).scalar_one())[:100]
        return info["icv_session_user"]
    try:
        return getpass.getuser()[:100]
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "unknown"


def pack_text(pack: Pack) -> str:
    """A pack as JSON in its own order (the order of its rules decides the order of findings, so
    keys are not sorted here)."""
    return json.dumps(pack.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def snapshot_pack(s: Session, pack: Pack, now: dt.datetime) -> None:
    """Store the pack's content the first time its revision is used (race-free)."""
    if s.execute(select(T.PackSnapshot.revision).where(T.PackSnapshot.revision == pack.revision)).first() is None:
        from icv_permits.adapters.store.db import insert_missing

        insert_missing(s, T.PackSnapshot.__table__, {"revision": pack.revision, "pack_id": pack.id, "content": pack_text(pack),
                                                     "stored_at": now}, ["revision"])


def append(s: Session, kind: str, body: dict, now: dt.datetime) -> T.DecisionLog:
    """Append one record, in the caller's transaction. The head row is locked (PostgreSQL) or the
    transaction holds the write lock (SQLite ``BEGIN IMMEDIATE``), so writers are serialised."""
    head = s.exec(select(T.LogHead).where(T.LogHead.id == 1).with_for_update()).scalars().one()
    body_text = canonical_json(body)
    seq = head.seq + 1
    decision_id = str(uuid.uuid4())
    recorded_at = utc_timestamp(now)
    actor = db_actor(s)
    h = record_hash(seq, decision_id, kind, recorded_at, actor, body_text, head.hash)
    rec = T.DecisionLog(seq=seq, decision_id=decision_id, kind=kind, recorded_at=now, actor=actor, body=body_text, prev_hash=head.hash, hash=h)
    s.add(rec)
    head.seq, head.hash = seq, h
    s.flush()
    return rec


def engine_body(*, submission_id: int, version: int, purpose: str, engine_run_id: int, claimed_actor: str, clock: str,
                snapshot: dict, masked_fields: list[dict], decision: Decision) -> dict:
    ev = decision.evidence
    return {
        "type": "engine_decision",
        "submission_id": submission_id,
        "version": version,
        "purpose": purpose,
        "engine_run_id": engine_run_id,
        "claimed_actor": claimed_actor,
        "clock": clock,
        "as_of": decision.as_of,
        "pack": {"id": decision.pack_id, "revision": decision.pack_revision},
        "engine_version": decision.engine_version,
        "input": snapshot,
        "masked_fields": masked_fields,
        "input_digest": decision.application_digest,
        "evidence_digests": [{"path": f.path, "sha256": f.sha256, "bytes": f.bytes} for f in ev.files] if ev else [],
        "verdict": decision.verdict.value,
        "decision": decision.to_json_dict(),
    }


# ---------------------------------------------------------------- reading


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
        return json.loads(self.body_text)  # parsed once per record

    def computed_hash(self) -> str:
        return record_hash(self.seq, self.decision_id, self.kind, self.recorded_at, self.actor, self.body_text, self.prev_hash)

    def to_json(self) -> dict:
        return {"type": "record", "seq": self.seq, "decision_id": self.decision_id, "kind": self.kind, "recorded_at": self.recorded_at,
                "actor": self.actor, "body": self.body, "prev_hash": self.prev_hash, "hash": self.hash}


def _record(row) -> Record:
    seq, decision_id, kind, recorded_at, actor, body, prev_hash, h = row
    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=dt.timezone.utc)
    return Record(seq, decision_id, kind, utc_timestamp(recorded_at), actor, body, prev_hash, h)


_COLS = (T.DecisionLog.seq, T.DecisionLog.decision_id, T.DecisionLog.kind, T.DecisionLog.recorded_at, T.DecisionLog.actor,
         T.DecisionLog.body, T.DecisionLog.prev_hash, T.DecisionLog.hash)


def _batched(store: Store, cols: tuple, from_seq: int, to_seq: int | None, batch: int) -> Iterator[Record]:
    """Records from ``from_seq`` (to ``to_seq``) in sequence order, read ``batch`` at a time."""
    last = from_seq - 1
    with store.read() as s:
        while True:
            q = select(*cols).where(T.DecisionLog.seq > last)
            if to_seq is not None:
                q = q.where(T.DecisionLog.seq <= to_seq)
            rows = s.execute(q.order_by(T.DecisionLog.seq).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                rec = _record(row)
                last = rec.seq
                yield rec


def iter_records(store: Store, from_seq: int = 1, batch: int = 2000, to_seq: int | None = None) -> Iterator[Record]:
    """Records in sequence order, read in batches (bounded memory)."""
    return _batched(store, _COLS, from_seq, to_seq, batch)


def find(store: Store, ref: str) -> Record:
    """A record by decision ID (UUID) or by sequence number."""
    ref = ref.strip()
    row = None
    if not ref.isdigit() or int(ref) < 2**31:  # a larger number cannot be a sequence number
        with store.read() as s:
            q = select(*_COLS)
            q = q.where(T.DecisionLog.seq == int(ref)) if ref.isdigit() else q.where(T.DecisionLog.decision_id == ref.lower()[:36])
            row = s.execute(q).first()
    if row is None:
        raise NotFound([Problem(ref, N_("no log record with this decision ID or sequence number"), {}, "no_record")])
    return _record(row)


def head(store: Store) -> tuple[int, str]:
    with store.read() as s:
        h = s.get(T.LogHead, 1)
        return (h.seq, h.hash) if h else (0, GENESIS)


def pack_from_snapshot(store: Store, revision: str) -> Pack:
    with store.read() as s:
        snap = s.get(T.PackSnapshot, revision)
    if snap is None:
        raise NotFound([Problem(revision, N_("no snapshot of pack revision {revision} in the log"), {"revision": revision}, "no_snapshot")])
    return _pack_from_text(snap.content, revision)


def _pack_from_text(content: str, revision: str) -> Pack:
    data = json.loads(content)
    meta = data.get("meta") if isinstance(data, dict) else None
    if isinstance(meta, dict) and "home_province" not in meta:
        # a snapshot stored before packs named their home province: the engine then always took
        # Anhui's notices as the home history, so the snapshot is replayed that way
        meta["home_province"] = "anhui"
        meta.setdefault("provinces", {"anhui": {"zh": "安徽", "en": "Anhui"}})
    pack = Pack.model_validate(data)
    if pack.revision != revision:
        raise InputError([Problem(revision, N_("the pack snapshot is damaged: it names revision {found}"), {"found": pack.revision}, "bad_snapshot")])
    return pack


# ---------------------------------------------------------------- verify


@dataclass
class Break:
    seq: int
    decision_id: str | None
    problem: str  # edited | link | gap | head | anchor | order
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
        return not self.breaks

    def to_json(self) -> dict:
        return {"intact": self.intact, "checked": self.checked, "first_seq": self.first_seq, "last_seq": self.last_seq,
                "head": {"seq": self.head_seq, "hash": self.head_hash},
                "first_break": None if self.intact else self.breaks[0].__dict__}


def verify_records(records: Iterable[Record], *, from_seq: int = 1, anchor: str | None = None,
                   head_seq: int | None = None, head_hash: str | None = None, expect_head: str | None = None) -> VerifyReport:
    """Walk the chain; stop at the first break. ``anchor`` is the hash of record ``from_seq − 1``
    (``GENESIS`` from the start)."""
    prev = anchor if anchor is not None else GENESIS
    expected_seq = from_seq
    checked = 0
    last = from_seq - 1
    breaks: list[Break] = []
    beyond_head: tuple[int, str] | None = None
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
        prev = rec.hash
        last = rec.seq
        expected_seq += 1
        checked += 1
    if not breaks:
        breaks = _tail_breaks(last, prev, head_seq, head_hash, expect_head)
        if breaks and breaks[0].problem == "head" and beyond_head is not None:
            breaks[0].seq, breaks[0].decision_id = beyond_head  # a record past the head: name it
    return VerifyReport(checked, from_seq, last, head_seq if head_seq is not None else last, head_hash or prev, breaks)


def _tail_breaks(last: int, last_hash: str, head_seq: int | None, head_hash: str | None, expect_head: str | None) -> list[Break]:
    """After an intact walk: does the log head, and the anchor noted earlier, agree with the end?"""
    if head_seq is not None and (head_seq != last or head_hash != last_hash):
        return [Break(last + 1 if head_seq > last else head_seq, None, "head",
                      {"head_seq": head_seq, "head_hash": head_hash, "last_seq": last, "last_hash": last_hash})]
    if expect_head is not None and expect_head != last_hash:
        return [Break(last, None, "anchor", {"expected_head": expect_head, "last_hash": last_hash})]
    return []


def _raw_records(store: Store, from_seq: int, to_seq: int | None = None, batch: int = 2000) -> Iterator[Record]:
    """Records with their body as UTF-8 bytes straight from the database (no decode/encode)."""
    from sqlalchemy import LargeBinary, cast, func

    body = (func.convert_to(T.DecisionLog.body, "UTF8") if store.backend == "postgresql" else cast(T.DecisionLog.body, LargeBinary))
    cols = _COLS[:5] + (body,) + _COLS[6:]
    for rec in _batched(store, cols, from_seq, to_seq, batch):
        rec.body_text = bytes(rec.body_text)
        yield rec


@dataclass
class _Checked:
    """A record reduced to what the chain walk needs, its hash already checked by a worker."""

    seq: int
    decision_id: str
    prev_hash: str
    hash: str
    hash_ok: bool

    def computed_hash(self) -> str:
        return self.hash if self.hash_ok else ""


def _hash_range(args: tuple[str, int, int]) -> list[tuple[int, str, str, str, bool]]:
    """Worker: recompute the hash of every record with from ≤ seq ≤ to (whatever is there)."""
    from icv_permits.adapters.store import db

    url, a, b = args
    db.forget_engines()  # connections inherited through fork belong to the parent
    store = db.open_store(url, check_schema=False)
    return [(r.seq, r.decision_id, r.prev_hash, r.hash, r.computed_hash() == r.hash) for r in _raw_records(store, a, b)]


def verify(store: Store, *, from_seq: int = 1, expect_head: str | None = None, jobs: int = 1, chunk: int = 25000) -> VerifyReport:
    """Walk the chain from ``from_seq``. With ``jobs`` > 1 and a long log, worker processes
    recompute the hashes of ranges of ``chunk`` records (the costly part), and this process walks
    the chain over their results exactly as a single walk would: the same report either way."""
    anchor = GENESIS
    if from_seq > 1:
        with store.read() as s:
            row = s.execute(select(T.DecisionLog.hash).where(T.DecisionLog.seq == from_seq - 1)).first()
        if row is None:
            return VerifyReport(0, from_seq, from_seq - 1, 0, GENESIS,
                                [Break(from_seq - 1, None, "gap", {"expected_seq": from_seq - 1, "found_seq": from_seq})])
        anchor = row[0]
    hseq, hhash = head(store)
    with store.read() as s:
        max_seq = s.execute(select(func.max(T.DecisionLog.seq))).scalar() or 0
    if jobs <= 1 or max_seq - from_seq + 1 < 2 * chunk or store.url.endswith(":memory:"):
        records: Iterable = _raw_records(store, from_seq)
        return verify_records(records, from_seq=from_seq, anchor=anchor, head_seq=hseq, head_hash=hhash, expect_head=expect_head)
    from concurrent.futures import ProcessPoolExecutor

    ranges = [(store.url, a, min(a + chunk - 1, max_seq)) for a in range(from_seq, max_seq + 1, chunk)]

    def checked() -> Iterator[_Checked]:
        with ProcessPoolExecutor(jobs) as pool:
            for rows in pool.map(_hash_range, ranges):
                for row in rows:
                    yield _Checked(*row)

    return verify_records(checked(), from_seq=from_seq, anchor=anchor, head_seq=hseq, head_hash=hhash, expect_head=expect_head)


# ---------------------------------------------------------------- replay


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


def diff_decisions(recorded: dict, replayed: dict) -> list[RuleDiff]:
    a, b = _findings_by_rule(recorded), _findings_by_rule(replayed)
    diffs = []
    for key in sorted(set(a) | set(b)):
        fa, fb = a.get(key, []), b.get(key, [])
        if fa == fb:
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


def replay_record(rec: Record, pack: Pack, mode: str, recorded_pack: Pack | None = None) -> ReplayResult:
    body = rec.body
    recorded = body["decision"]
    try:
        app = Application.model_validate(body["input"])
        evidence = EvidenceSummary.model_validate(recorded["evidence"]) if recorded.get("evidence") else None
        registry = RegistryFacts.model_validate(recorded["registry"]) if recorded.get("registry") else None
        as_of = dt.date.fromisoformat(body["as_of"])
        # the layout the record was written in: a decision without trip buckets reads the same in
        # format 1 and 2, so a record of format 1 is compared in its own layout
        replayed = evaluate(app, pack, as_of, evidence, registry).in_format(recorded.get("format", DECISION_FORMAT)).to_json_dict()
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
    match = replayed == recorded
    changes = parameter_changes(recorded_pack, pack, as_of) if (mode == "current" and recorded_pack is not None and not match) else []
    return ReplayResult(rec.seq, rec.decision_id, body["submission_id"], mode, pack.revision, recorded["verdict"], replayed["verdict"],
                        match, [] if match else diff_decisions(recorded, replayed), changes, notes=notes)


def _current_pack_ref(pack_mode: str, pack_id: str) -> str:
    """``current``: today's pack of that id; otherwise ``pack_mode`` is the path of a pack folder."""
    return pack_id if pack_mode == "current" else pack_mode


def replay(store: Store, refs: list[str] | None = None, *, pack_mode: str = "recorded", current_pack: Pack | None = None) -> Iterator[ReplayResult]:
    """Re-evaluate engine decisions (all, or the given decision IDs / sequence numbers).

    ``pack_mode``: ``recorded`` (the pack snapshot each decision used), ``current`` (today's pack of
    the same id) or the path of a pack folder (an edited pack, for impact analysis)."""
    from icv_permits.adapters.packs import load_pack

    records = (find(store, r) for r in refs) if refs else (r for r in iter_records(store) if r.kind == "engine_decision")
    snapshots: dict[str, Pack] = {}
    currents: dict[str, Pack] = {}
    for rec in records:
        if rec.kind != "engine_decision":
            continue
        body = rec.body
        rev = body["pack"]["revision"]
        if rev not in snapshots:
            snapshots[rev] = pack_from_snapshot(store, rev)
        if pack_mode == "recorded":
            yield replay_record(rec, snapshots[rev], "recorded")
        else:
            pid = body["pack"]["id"]
            if pid not in currents:
                currents[pid] = current_pack if current_pack is not None else load_pack(_current_pack_ref(pack_mode, pid))
            yield replay_record(rec, currents[pid], "current", snapshots[rev])


def _replay_range(args: tuple[str, int, int, str]) -> list[ReplayResult]:
    """Worker: replay the engine decisions with from ≤ seq ≤ to, reading them itself (so the
    parent never holds the log in memory)."""
    from icv_permits.adapters.packs import load_pack
    from icv_permits.adapters.store import db

    url, a, b, mode = args
    db.forget_engines()  # connections inherited through fork belong to the parent
    store = db.open_store(url, check_schema=False)
    snapshots: dict[str, Pack] = {}
    currents: dict[str, Pack] = {}
    out = []
    for rec in iter_records(store, a, to_seq=b):
        if rec.kind != "engine_decision":
            continue
        body = rec.body
        rev = body["pack"]["revision"]
        if rev not in snapshots:
            snapshots[rev] = pack_from_snapshot(store, rev)
        if mode == "recorded":
            out.append(replay_record(rec, snapshots[rev], "recorded"))
        else:
            pid = body["pack"]["id"]
            if pid not in currents:
                currents[pid] = load_pack(_current_pack_ref(mode, pid))
            out.append(replay_record(rec, currents[pid], "current", snapshots[rev]))
    return out


def replay_parallel(store: Store, refs: list[str] | None = None, *, pack_mode: str = "recorded", jobs: int | None = None,
                    chunk: int = 2000) -> Iterator[ReplayResult]:
    """:func:`replay` over ``jobs`` processes (default: every core), results in log order. Each
    worker reads and replays its own range of sequence numbers; named decisions replay here."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    jobs = jobs or os.cpu_count() or 1
    last, _ = head(store)
    if refs or jobs <= 1 or last < 2 * chunk or store.url.endswith(":memory:"):
        yield from replay(store, refs, pack_mode=pack_mode)
        return
    with store.read() as s:
        last = s.execute(select(func.max(T.DecisionLog.seq))).scalar() or 0
    ranges = [(store.url, a, min(a + chunk - 1, last), pack_mode) for a in range(1, last + 1, chunk)]
    with ProcessPoolExecutor(jobs) as pool:
        for results in pool.map(_replay_range, ranges):
            yield from results


# ---------------------------------------------------------------- export / import


def export_jsonl(store: Store, out: TextIO) -> int:
    """Write the whole log as JSON Lines: a header, the pack snapshots, then the records in order."""
    hseq, hhash = head(store)
    out.write(json.dumps({"type": "header", "format": EXPORT_FORMAT, "head": {"seq": hseq, "hash": hhash}}, ensure_ascii=False) + "\n")
    with store.read() as s:
        for snap in s.exec(select(T.PackSnapshot).order_by(T.PackSnapshot.stored_at, T.PackSnapshot.revision)).scalars().all():
            out.write(json.dumps({"type": "pack_snapshot", "revision": snap.revision, "pack_id": snap.pack_id,
                                  "stored_at": utc_timestamp(snap.stored_at), "content": json.loads(snap.content)}, ensure_ascii=False) + "\n")
    n = 0
    for rec in iter_records(store):
        out.write(json.dumps(rec.to_json(), ensure_ascii=False) + "\n")
        n += 1
    return n


def _bad_line(lineno: int, msgid: str, **params) -> InputError:
    return InputError([Problem(f"line {lineno}", msgid, params, "bad_export")])


def _parse_utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("naive time")
    return value.astimezone(dt.timezone.utc)


def read_export(lines: Iterable[str]) -> tuple[dict, list[dict], list[Record]]:
    header = None
    snaps: list[dict] = []
    records: list[Record] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise _bad_line(lineno, N_("not a JSON object")) from None
        if not isinstance(obj, dict):
            raise _bad_line(lineno, N_("not a JSON object"))
        kind = obj.get("type")
        try:
            if kind == "header":
                if obj.get("format") != EXPORT_FORMAT:
                    raise _bad_line(lineno, N_("not an icv-permits audit export (format {found})"), found=str(obj.get("format"))[:60])
                h = obj.get("head")
                if not (isinstance(h, dict) and isinstance(h.get("seq"), int) and not isinstance(h.get("seq"), bool) and isinstance(h.get("hash"), str)):
                    raise _bad_line(lineno, N_("a record lacks a field or has one of the wrong type"))
                header = obj
            elif kind == "pack_snapshot":
                snap_revision = str(obj["revision"])
                _pack_from_text(json.dumps(obj["content"], ensure_ascii=False), snap_revision)
                obj["stored_at_dt"] = _parse_utc(obj["stored_at"])
                snaps.append(obj)
            elif kind == "record":
                rec = Record(int(obj["seq"]), str(obj["decision_id"]), str(obj["kind"]), str(obj["recorded_at"]), str(obj["actor"]),
                             canonical_json(obj["body"]), str(obj["prev_hash"]), str(obj["hash"]))
                if utc_timestamp(_parse_utc(rec.recorded_at)) != rec.recorded_at:
                    raise _bad_line(lineno, N_("recorded_at must be UTC written as YYYY-MM-DDTHH:MM:SS.ffffffZ, not {found}"), found=rec.recorded_at[:40])
                records.append(rec)
            else:
                raise _bad_line(lineno, N_("unknown line type {found}"), found=str(kind)[:40])
        except InputError as exc:
            if exc.problems[0].location == f"line {lineno}":
                raise
            raise _bad_line(lineno, N_("the pack snapshot is not a rule pack")) from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            raise _bad_line(lineno, N_("a record lacks a field or has one of the wrong type")) from None
    if header is None:
        raise _bad_line(1, N_("not an icv-permits audit export (format {found})"), found="—")
    return header, snaps, records


def import_jsonl(store: Store, lines: Iterable[str]) -> VerifyReport:
    """Verify an export and, only if its chain is intact, load it into an empty log."""
    header, snaps, records = read_export(lines)
    h = header.get("head", {})
    report = verify_records(records, head_seq=h.get("seq"), head_hash=h.get("hash"))
    if not report.intact:
        return report
    with store.write() as s:
        current = s.exec(select(T.LogHead).where(T.LogHead.id == 1).with_for_update()).scalars().one()
        if current.seq != 0:
            raise InputError([Problem(store.url, N_("the log here is not empty ({n} records): import into a fresh database"), {"n": current.seq}, "not_empty")])
        for snap in snaps:
            if s.get(T.PackSnapshot, snap["revision"]) is None:
                s.add(T.PackSnapshot(revision=snap["revision"], pack_id=str(snap.get("pack_id", ""))[:100],
                                     content=json.dumps(snap["content"], ensure_ascii=False, separators=(",", ":")), stored_at=snap["stored_at_dt"]))
        for rec in records:
            s.add(T.DecisionLog(seq=rec.seq, decision_id=rec.decision_id, kind=rec.kind,
                                recorded_at=_parse_utc(rec.recorded_at), actor=rec.actor,
                                body=rec.body_text, prev_hash=rec.prev_hash, hash=rec.hash))
        if records:
            current.seq, current.hash = records[-1].seq, records[-1].hash
    return report
