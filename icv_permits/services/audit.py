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
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select, text
from sqlmodel import Session

from icv_permits.adapters.store import tables
from icv_permits.adapters.store.db import Broken, NotFound, Store, row_id
from icv_permits.core.canonical import canonical_json, utc_timestamp
from icv_permits.core.engine.decision import Decision
from icv_permits.core.errors import InputError, PackError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.labels import RECORD_KINDS
from icv_permits.core.log import (  # noqa: F401 - the log's pure parts, re-exported
    GENESIS,
    Break,
    Record,
    ReplayResult,
    RuleDiff,
    VerifyReport,
    diff_decisions,
    parameter_changes,
    record_hash,
    record_preimage,
    replay_record,
    verify_records,
)
from icv_permits.core.log_compact import ExpandError, compact_body, expand, expand_body, record_format  # noqa: F401 - re-exported
from icv_permits.core.pack import Pack, build_pack, revision_of
from icv_permits.core import checkpoint as checkpoints
from icv_permits.core.checkpoint import CheckpointResult

EXPORT_FORMAT = "icv-permits/audit-export/1"
SNAPSHOT_FORMAT = "icv-permits/pack-source/1"
EXIT_BROKEN = 4


# ---------------------------------------------------------------- hashing


# ---------------------------------------------------------------- writing


def db_actor(s: Session) -> str:
    """Who the database says is acting: the session user on PostgreSQL; on SQLite, which has no
    users, the operating-system account the process runs as (its user id looked up, not the
    ``LOGNAME``/``USER`` variables a caller can set — still only as trustworthy as the machine)."""
    if s.get_bind().dialect.name == "postgresql":
        info = s.connection().info  # the session user is fixed for a connection: ask once
        if "icv_session_user" not in info:
            info["icv_session_user"] = str(s.execute(text("SELECT session_user")).scalar_one())[:100]
        return info["icv_session_user"]
    return os_account()


def os_account() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name[:100]
    except (ImportError, KeyError, AttributeError):  # not POSIX, or a user id without an account
        try:
            return getpass.getuser()[:100]
        except Exception:  # noqa: BLE001 - no user name in this environment
            return "unknown"


def pack_text(pack: Pack) -> str:
    """A pack snapshot's content: what the pack was built from — its chain and merged content, whose
    :func:`~icv_permits.core.pack.revision_of` is the revision — as JSON in its own order (the order
    of its rules decides the order of findings, so keys are not sorted here). A pack that does not
    know its source is stored in the older form, the validated pack itself (:func:`model_text`)."""
    if pack.source is None:
        return model_text(pack)
    return json.dumps({"format": SNAPSHOT_FORMAT, "chain": pack.source["chain"], "content": pack.source["content"]},
                      ensure_ascii=False, separators=(",", ":"))


def model_text(pack: Pack) -> str:
    """The older form of a snapshot: the validated pack as JSON. Its revision cannot be recomputed
    from it (the revision hashes the content the pack was built from)."""
    return json.dumps(pack.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def snapshot_pack(s: Session, pack: Pack, now: dt.datetime) -> None:
    """Store the pack's content the first time its revision is used (race-free)."""
    if s.execute(select(tables.PackSnapshot.revision).where(tables.PackSnapshot.revision == pack.revision)).first() is None:
        from icv_permits.adapters.store.db import insert_missing

        insert_missing(s, tables.PackSnapshot.__table__, {"revision": pack.revision, "pack_id": pack.id, "content": pack_text(pack),
                                                     "stored_at": now}, ["revision"])


def append(s: Session, kind: str, body: dict, now: dt.datetime) -> tables.DecisionLog:
    """Append one record, in the caller's transaction; returns it (not attached to the session).

    PostgreSQL: the database appends it (``icv_log_append``, migration 0004): it locks the head,
    takes the actor from ``session_user`` and the time from its own clock, and hashes the record;
    an office role may append only this way. SQLite: the record is hashed here with the OS account
    and ``now``, inserted after the head and the head moved to it (the triggers refuse anything
    else); the transaction holds the write lock (``BEGIN IMMEDIATE``), so writers are serialised."""
    body_text = canonical_json(body)
    decision_id = str(uuid.uuid4())
    if s.get_bind().dialect.name == "postgresql":
        seq, recorded_at, actor, prev, h = s.execute(
            text("SELECT seq, recorded_at, actor, prev_hash, hash FROM icv_log_append(:kind, :id, :body)"),
            {"kind": kind, "id": decision_id, "body": body_text}).one()
        return tables.DecisionLog(seq=seq, decision_id=decision_id, kind=kind, recorded_at=_parse_utc(recorded_at), actor=actor, body=body_text,
                                  prev_hash=prev, hash=h)
    head_seq, head_hash = s.execute(text("SELECT seq, hash FROM log_head WHERE id = 1")).one()
    seq = head_seq + 1
    recorded_at = utc_timestamp(now)
    actor = db_actor(s)
    h = record_hash(seq, decision_id, kind, recorded_at, actor, body_text, head_hash)
    rec = tables.DecisionLog(seq=seq, decision_id=decision_id, kind=kind, recorded_at=now, actor=actor, body=body_text, prev_hash=head_hash, hash=h)
    s.execute(tables.DecisionLog.__table__.insert().values(seq=seq, decision_id=decision_id, kind=kind, recorded_at=now, actor=actor,
                                                           body=body_text, prev_hash=head_hash, hash=h))
    s.execute(text("UPDATE log_head SET seq = :seq, hash = :hash WHERE id = 1"), {"seq": seq, "hash": h})
    return rec


def engine_body(*, submission_id: int, version: int, purpose: str, engine_run_id: int, claimed_actor: str, clock: str,
                snapshot: dict, masked_fields: list[dict], decision: Decision, pack: Pack | None = None) -> dict:
    """The body of an ``engine_decision`` record. Given the ``pack`` the decision was made with (the
    one :func:`snapshot_pack` stores), in record format 2 (:func:`~icv_permits.core.log_compact.compact_body`:
    what the pack snapshot cannot give back, the rest rebuilt from it), unless the decision would not
    come back exactly from it; without it, or then, in format 1 (the whole decision)."""
    ev = decision.evidence
    body = {
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
    return body if pack is None else compact_body(body, pack)


# ---------------------------------------------------------------- reading


def _record(row) -> Record:
    seq, decision_id, kind, recorded_at, actor, body, prev_hash, h = row
    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=dt.timezone.utc)
    return Record(seq, decision_id, kind, utc_timestamp(recorded_at), actor, body, prev_hash, h)


_COLS = (tables.DecisionLog.seq, tables.DecisionLog.decision_id, tables.DecisionLog.kind, tables.DecisionLog.recorded_at, tables.DecisionLog.actor,
         tables.DecisionLog.body, tables.DecisionLog.prev_hash, tables.DecisionLog.hash)


def _batched(store: Store, cols: tuple, from_seq: int, to_seq: int | None, batch: int) -> Iterator[Record]:
    """Records from ``from_seq`` (to ``to_seq``) in sequence order, read ``batch`` at a time."""
    last = from_seq - 1
    with store.read() as s:
        while True:
            q = select(*cols).where(tables.DecisionLog.seq > last)
            if to_seq is not None:
                q = q.where(tables.DecisionLog.seq <= to_seq)
            rows = s.execute(q.order_by(tables.DecisionLog.seq).limit(batch)).all()
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
            q = q.where(tables.DecisionLog.seq == int(ref)) if ref.isdigit() else q.where(tables.DecisionLog.decision_id == ref.lower()[:36])
            row = s.execute(q).first()
    if row is None:
        raise NotFound([Problem(ref, N_("no log record with this decision ID or sequence number"), {}, "no_record")])
    return _record(row)


def head(store: Store) -> tuple[int, str]:
    with store.read() as s:
        h = s.get(tables.LogHead, 1)
        return (h.seq, h.hash) if h else (0, GENESIS)


def pack_from_snapshot(store: Store, revision: str) -> Pack:
    """The pack a decision used, from its snapshot. A snapshot whose content no longer hashes to its
    revision is :class:`Broken` (exit 4), never used as if it were genuine."""
    with store.read() as s:
        snap = s.get(tables.PackSnapshot, revision)
    if snap is None:
        raise NotFound([Problem(revision, N_("no snapshot of pack revision {revision} in the log"), {"revision": revision}, "no_snapshot")])
    return _pack_from_text(snap.content, revision)


def snapshot_mismatch(revision: str, content: str) -> str | None:
    """What a snapshot's content hashes to, when that is not its ``revision`` (``None``: it matches,
    or the snapshot is in the older form, see :func:`snapshot_problem`)."""
    try:
        data = json.loads(content)
    except ValueError:
        return "—"
    if not (isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT):
        return None
    try:
        computed = revision_of(data["content"])
    except Exception:  # noqa: BLE001 - content that cannot even be hashed does not match
        return "—"
    return None if computed == revision else computed


def snapshot_problem(revision: str, pack_id: str, content: str) -> Break | None:
    """A break when the snapshot cannot be shown to be the pack of its revision: its content hashes
    to another revision (``snapshot``), or — stored in the older form, from which no revision can be
    recomputed — it is not exactly today's pack of that revision (``snapshot_unproven``)."""
    computed = snapshot_mismatch(revision, content)
    if computed is not None:
        return Break(0, None, "snapshot", {"revision": revision, "computed": computed})
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT:
        return None
    try:
        from icv_permits.adapters.packs import load_pack

        today = load_pack(pack_id)
        if today.revision == revision and model_text(today) == content:
            return None
    except Exception:  # noqa: BLE001 - no such pack today: the snapshot cannot be vouched for
        pass
    return Break(0, None, "snapshot_unproven", {"revision": revision, "pack_id": pack_id})


def _pack_from_text(content: str, revision: str) -> Pack:
    computed = snapshot_mismatch(revision, content)
    if computed is not None:
        raise Broken([Problem(revision, N_("the pack snapshot {revision} does not hash to its revision (its content hashes to {computed}): it was changed after it was stored"),
                              {"revision": revision, "computed": computed}, "snapshot_forged")])
    data = json.loads(content)
    if isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT:
        return build_pack(list(data["chain"]), data["content"], f"pack snapshot {revision}", revision)
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


def _raw_records(store: Store, from_seq: int, to_seq: int | None = None, batch: int = 2000) -> Iterator[Record]:
    """Records with their body as UTF-8 bytes straight from the database (no decode/encode)."""
    from sqlalchemy import LargeBinary, cast, func

    body = (func.convert_to(tables.DecisionLog.body, "UTF8") if store.backend == "postgresql" else cast(tables.DecisionLog.body, LargeBinary))
    cols = _COLS[:5] + (body,) + _COLS[6:]
    for rec in _batched(store, cols, from_seq, to_seq, batch):
        rec.body_text = bytes(rec.body_text)
        yield rec


@dataclass
class _Checked:
    """A record reduced to what the chain walk needs, its hash already checked by a worker."""

    seq: int
    decision_id: str
    recorded_at: str
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
    return [(r.seq, r.decision_id, r.recorded_at, r.prev_hash, r.hash, r.computed_hash() == r.hash) for r in _raw_records(store, a, b)]


def verify(store: Store, *, from_seq: int = 1, expect_head: str | None = None, jobs: int = 1, chunk: int = 25000) -> VerifyReport:
    """Walk the chain from ``from_seq``, then check what the chain does not cover: every pack
    snapshot against its revision (:func:`snapshot_problem`) and the append-only triggers.

    With ``jobs`` > 1 and a long log, worker processes recompute the hashes of ranges of ``chunk``
    records (the costly part), and this process walks the chain over their results exactly as a
    single walk would: the same report either way."""
    row_id(from_seq, "--from", N_("no log record with sequence number {value}"), "no_record")
    report = _verify_chain(store, from_seq=from_seq, expect_head=expect_head, jobs=jobs, chunk=chunk)
    report.breaks.extend(snapshot_breaks(store))
    report.breaks.extend(trigger_breaks(store))
    return report


def snapshot_breaks(store: Store) -> list[Break]:
    """A break for each pack snapshot that cannot be shown to be the pack of its revision."""
    with store.read() as s:
        rows = s.execute(select(tables.PackSnapshot.revision, tables.PackSnapshot.pack_id, tables.PackSnapshot.content)
                         .order_by(tables.PackSnapshot.stored_at, tables.PackSnapshot.revision)).all()
    return [b for b in (snapshot_problem(rev, pid, content) for rev, pid, content in rows) if b is not None]


def trigger_breaks(store: Store) -> list[Break]:
    """A break for each append-only trigger that is missing, disabled or altered."""
    from icv_permits.adapters.store import db

    return [Break(0, None, "trigger", p.to_json()) for p in db.trigger_problems(store.engine)]


def _verify_chain(store: Store, *, from_seq: int, expect_head: str | None, jobs: int, chunk: int) -> VerifyReport:
    anchor, anchor_at = GENESIS, None
    if from_seq > 1:
        with store.read() as s:
            row = s.execute(select(tables.DecisionLog.hash, tables.DecisionLog.recorded_at).where(tables.DecisionLog.seq == from_seq - 1)).first()
        if row is None:
            return VerifyReport(0, from_seq, from_seq - 1, 0, GENESIS,
                                [Break(from_seq - 1, None, "gap", {"expected_seq": from_seq - 1, "found_seq": from_seq})])
        anchor = row[0]
        at = row[1] if row[1].tzinfo is not None else row[1].replace(tzinfo=dt.timezone.utc)
        anchor_at = utc_timestamp(at)
    hseq, hhash = head(store)
    with store.read() as s:
        max_seq = s.execute(select(func.max(tables.DecisionLog.seq))).scalar() or 0
    kw = {"from_seq": from_seq, "anchor": anchor, "anchor_recorded_at": anchor_at, "head_seq": hseq, "head_hash": hhash, "expect_head": expect_head}
    if jobs <= 1 or max_seq - from_seq + 1 < 2 * chunk or store.url.endswith(":memory:"):
        return verify_records(_raw_records(store, from_seq), **kw)
    from concurrent.futures import ProcessPoolExecutor

    ranges = [(store.url, a, min(a + chunk - 1, max_seq)) for a in range(from_seq, max_seq + 1, chunk)]

    def checked() -> Iterator[_Checked]:
        with ProcessPoolExecutor(jobs) as pool:
            for rows in pool.map(_hash_range, ranges):
                for row in rows:
                    yield _Checked(*row)

    return verify_records(checked(), **kw)


# ---------------------------------------------------------------- replay


def _current_pack_ref(pack_mode: str, pack_id: str) -> str:
    """``current``: today's pack of that id; otherwise ``pack_mode`` is the path of a pack folder."""
    return pack_id if pack_mode == "current" else pack_mode


def engine_record_of(store: Store, rec: Record) -> Record | None:
    """The engine decision a record stands for: an engine decision itself, or the one a submission or
    a review was made on; ``None`` for a record that holds none (plates renewed)."""
    if rec.kind == "engine_decision":
        return rec
    ref = rec.body.get("engine_decision") if isinstance(rec.body, dict) else None
    if rec.kind in ("submission", "review") and isinstance(ref, str):
        return find(store, ref)
    return None


def replay_targets(store: Store, refs: list[str]) -> list[Record]:
    """The engine decisions that the named records (decision IDs or sequence numbers) stand for, in
    the order named, each once. A name that is no record, or a record that stands for no engine
    decision, is :class:`NotFound` (exit 4) naming it: nothing named is silently left out."""
    out: dict[int, Record] = {}
    for ref in refs:
        rec = find(store, ref)
        target = engine_record_of(store, rec)
        if target is None:
            raise NotFound([Problem(ref, N_("log record {seq} ({kind_text}) holds no engine decision to replay"),
                                    {"seq": rec.seq, "kind_text": RECORD_KINDS.get(rec.kind, rec.kind)}, "nothing_to_replay")])
        out.setdefault(target.seq, target)
    return list(out.values())


def _snapshot_or_error(store: Store, revision: str) -> Pack | Broken:
    try:
        return pack_from_snapshot(store, revision)
    except Broken as exc:
        return exc


def _unreplayable(rec: Record, mode: str, revision: str, exc: Broken) -> ReplayResult:
    """A decision whose pack snapshot fails its revision: not replayed, and said so."""
    body = rec.body
    return ReplayResult(rec.seq, rec.decision_id, body.get("submission_id", 0), mode, revision, body.get("verdict", "?"), "—", False, [],
                        error=f"pack snapshot {revision} does not hash to its revision",
                        notes=[{"note": "snapshot_forged", "revision": revision, "computed": exc.problems[0].params.get("computed")}])


def _replay_one(rec: Record, mode: str, snapshot: Pack | Broken, current: Pack | None = None) -> ReplayResult:
    rev = rec.body["pack"]["revision"]
    if isinstance(snapshot, Broken):
        return _unreplayable(rec, mode, rev, snapshot)
    if mode == "recorded":
        return replay_record(rec, snapshot, "recorded")
    return replay_record(rec, current, "current", snapshot)


def replay(store: Store, refs: list[str] | None = None, *, pack_mode: str = "recorded", current_pack: Pack | None = None) -> Iterator[ReplayResult]:
    """Re-evaluate engine decisions: all of the log's, or those the named records stand for
    (:func:`replay_targets`: a submission or a review replays the engine decision it was made on).

    ``pack_mode``: ``recorded`` (the pack snapshot each decision used), ``current`` (today's pack of
    the same id) or the path of a pack folder (an edited pack, for impact analysis)."""
    records = iter(replay_targets(store, refs)) if refs else (r for r in iter_records(store) if r.kind == "engine_decision")
    yield from _replay_engine_records(store, records, pack_mode, current_pack)


def _replay_engine_records(store: Store, records: Iterable[Record], pack_mode: str, current_pack: Pack | None = None) -> Iterator[ReplayResult]:
    """Replay engine-decision records in turn, each pack snapshot (and current pack) loaded once."""
    from icv_permits.adapters.packs import load_pack

    snapshots: dict[str, Pack | Broken] = {}
    currents: dict[str, Pack] = {}
    for rec in records:
        body = rec.body
        rev = body["pack"]["revision"]
        if rev not in snapshots:
            snapshots[rev] = _snapshot_or_error(store, rev)
        current = None
        if pack_mode != "recorded":
            pid = body["pack"]["id"]
            if pid not in currents:
                currents[pid] = current_pack if current_pack is not None else load_pack(_current_pack_ref(pack_mode, pid))
            current = currents[pid]
        yield _replay_one(rec, "recorded" if pack_mode == "recorded" else "current", snapshots[rev], current)


@dataclass(frozen=True)
class ExplainPart:
    """One record of an explanation, with the decision and pack snapshot it holds (engine decisions)."""

    record: Record
    decision: Decision | None
    pack: Pack | None


def explain(store: Store, ref: str) -> list[ExplainPart]:
    """What explains a record, from what was recorded only: the record itself and, for a submission or
    a review, the engine decision it was made on, with the pack snapshot that decision used (a record
    of format 2 rebuilt with it to the whole decision, or :class:`Broken` when it does not come back
    exactly as recorded)."""
    rec = find(store, ref)
    parts = [] if rec.kind == "engine_decision" else [ExplainPart(rec, None, None)]
    target = engine_record_of(store, rec)
    if target is not None:
        pack = pack_from_snapshot(store, target.body["pack"]["revision"])
        parts.append(ExplainPart(target, Decision.model_validate(recorded_decision(target, pack)), pack))
    return parts


def recorded_decision(rec: Record, pack: Pack) -> dict:
    """The whole decision an engine record holds, rebuilt with ``pack`` (its snapshot) if it is of
    format 2; a record that does not come back as recorded is :class:`Broken` (exit 4)."""
    try:
        return expand(rec.body, pack)[1]
    except ExpandError as exc:
        raise Broken([Problem(str(rec.seq), N_("log record {seq} cannot be rebuilt as it was recorded from its compact form and pack snapshot {revision}: the record or the snapshot was changed"),
                              {"seq": rec.seq, "revision": pack.revision, "detail": str(exc)}, "record_unexpandable")]) from None


def records_tail(store: Store, limit: int) -> list[Record]:
    """The last ``limit`` records of the log, oldest first."""
    last, _ = head(store)
    return list(iter_records(store, max(1, last - limit + 1)))


def _replay_range(args: tuple[str, int, int, str]) -> list[ReplayResult]:
    """Worker: replay the engine decisions with from ≤ seq ≤ to, reading them itself (so the
    parent never holds the log in memory)."""
    from icv_permits.adapters.store import db

    url, a, b, mode = args
    db.forget_engines()  # connections inherited through fork belong to the parent
    store = db.open_store(url, check_schema=False)
    return list(_replay_engine_records(store, (r for r in iter_records(store, a, to_seq=b) if r.kind == "engine_decision"), mode))


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
        last = s.execute(select(func.max(tables.DecisionLog.seq))).scalar() or 0
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
        for snap in s.exec(select(tables.PackSnapshot).order_by(tables.PackSnapshot.stored_at, tables.PackSnapshot.revision)).scalars().all():
            out.write(json.dumps({"type": "pack_snapshot", "revision": snap.revision, "pack_id": snap.pack_id,
                                  "stored_at": utc_timestamp(snap.stored_at), "content": json.loads(snap.content)}, ensure_ascii=False) + "\n")
    n = 0
    for rec in iter_records(store):
        out.write(json.dumps(rec.to_json(), ensure_ascii=False) + "\n")
        n += 1
    return n


def export_to(store: Store, path, stdout: TextIO) -> int:
    """Export to the file ``path`` (written beside it, then moved into place, so a reader never sees
    half an export), or to ``stdout`` when ``path`` is None."""
    import os

    if path is None:
        return export_jsonl(store, stdout)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        n = export_jsonl(store, fh)
    os.replace(tmp, path)
    return n


def _bad_line(lineno: int, msgid: str, **params) -> InputError:
    return InputError([Problem(f"line {lineno}", msgid, params, "bad_export")])


def _parse_utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("naive time")
    return value.astimezone(dt.timezone.utc)


def read_export(lines: Iterable[str], snapshot_breaks: list[Break] | None = None) -> tuple[dict, list[dict], list[Record]]:
    """The header, pack snapshots and records of an export. A snapshot that cannot be shown to be
    the pack of its revision is added to ``snapshot_breaks`` (when given; otherwise it is bad input)."""
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
                snap_text = json.dumps(obj["content"], ensure_ascii=False, separators=(",", ":"))
                if snapshot_breaks is not None and snapshot_mismatch(snap_revision, snap_text) is not None:
                    snapshot_breaks.append(Break(0, None, "snapshot", {"revision": snap_revision,
                                                                       "computed": snapshot_mismatch(snap_revision, snap_text)}))
                else:
                    _pack_from_text(snap_text, snap_revision)  # a pack at all? (bad input otherwise)
                    problem = snapshot_problem(snap_revision, str(obj.get("pack_id", "")), snap_text)
                    if problem is not None and snapshot_breaks is not None:
                        snapshot_breaks.append(problem)
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
        except PackError:
            raise _bad_line(lineno, N_("the pack snapshot is not a rule pack")) from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            raise _bad_line(lineno, N_("a record lacks a field or has one of the wrong type")) from None
    if header is None:
        raise _bad_line(1, N_("not an icv-permits audit export (format {found})"), found="—")
    return header, snaps, records


def import_jsonl(store: Store, lines: Iterable[str]) -> VerifyReport:
    """Verify an export and, only if its chain is intact, load it into an empty log."""
    forged: list[Break] = []
    header, snaps, records = read_export(lines, forged)
    h = header.get("head", {})
    report = verify_records(records, head_seq=h.get("seq"), head_hash=h.get("hash"))
    report.breaks.extend(forged)  # a snapshot that fails its revision: nothing is loaded (exit 4)
    if not report.intact:
        return report
    with store.write() as s:
        current_seq = s.execute(select(tables.LogHead.seq).where(tables.LogHead.id == 1).with_for_update()).scalar_one()
        if current_seq != 0:
            raise InputError([Problem(store.url, N_("the log here is not empty ({n} records): import into a fresh database"), {"n": current_seq}, "not_empty")])
        for snap in snaps:
            if s.get(tables.PackSnapshot, snap["revision"]) is None:
                s.add(tables.PackSnapshot(revision=snap["revision"], pack_id=str(snap.get("pack_id", ""))[:100],
                                     content=json.dumps(snap["content"], ensure_ascii=False, separators=(",", ":")), stored_at=snap["stored_at_dt"]))
        s.flush()
        insert = tables.DecisionLog.__table__.insert()
        for rec in records:  # one at a time behind the head: the triggers take nothing else
            s.execute(insert.values(seq=rec.seq, decision_id=rec.decision_id, kind=rec.kind, recorded_at=_parse_utc(rec.recorded_at),
                                    actor=rec.actor, body=rec.body_text, prev_hash=rec.prev_hash, hash=rec.hash))
            s.execute(text("UPDATE log_head SET seq = :seq, hash = :hash WHERE id = 1"), {"seq": rec.seq, "hash": rec.hash})
    return report


# ---------------------------------------------------------------- checkpoints


def keygen(private_out: Path, public_out: Path | None = None) -> str:
    """Make the office signing key pair; returns its key id. The private key is refused inside the
    folder of the configured SQLite database (the key must not travel with the database)."""
    from icv_permits.adapters import signing
    from icv_permits.services.database import sqlite_folder

    key = signing.generate(private_out, public_out, database_folder=sqlite_folder())
    return checkpoints.key_id(key.public_key())


def public_key_pem(private_key_path: Path | None) -> str:
    from icv_permits.adapters import signing

    return signing.public_pem(signing.load_private(private_key_path).public_key()).decode("ascii")


def take_checkpoint(store: Store, out: Path, *, key_path: Path | None, clock, jobs: int = 1) -> tuple[VerifyReport, dict | None]:
    """Verify the chain, then sign the head it ended at with the office key and write it to ``out``
    (never overwritten). A broken chain is not signed: the report says why, and no file is written."""
    from icv_permits.adapters import signing
    from icv_permits.adapters.store.db import shown_url

    key = signing.load_private(key_path)
    report = verify(store, jobs=jobs)
    if not report.intact:
        return report, None
    if report.last_seq == 0:
        raise InputError([Problem(shown_url(store.url), N_("the log is empty: there is nothing to checkpoint"), {}, "empty_log")])
    doc = checkpoints.sign(key, seq=report.last_seq, hash=report.head_hash, time=utc_timestamp(clock.now()), database=shown_url(store.url))
    signing.write_checkpoint(out, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    return report, doc


def read_checkpoints(paths: list[Path]) -> list[checkpoints.Checkpoint]:
    """Every checkpoint file, parsed; a malformed one is bad input naming the file."""
    from icv_permits.adapters import signing

    return [checkpoints.parse(signing.read_checkpoint_text(p), str(p)) for p in paths]


def _hash_at(store: Store, seq: int) -> tuple[int, str | None]:
    with store.read() as s:
        last = s.execute(select(func.max(tables.DecisionLog.seq))).scalar() or 0
        row = s.execute(select(tables.DecisionLog.hash).where(tables.DecisionLog.seq == seq)).first()
    return last, (row[0] if row else None)


def check_checkpoints(store: Store, paths: list[Path], public_key_path: Path | None) -> list[CheckpointResult]:
    """Each checkpoint against the log: signed by the office key, and record ``seq`` still there with
    the hash it had. With an intact chain (:func:`verify`), the log has only grown since."""
    from icv_permits.adapters import signing

    public_key = signing.load_public(public_key_path)
    out = []
    for cp in read_checkpoints(paths):
        last, h = _hash_at(store, cp.seq)
        out.append(checkpoints.check(cp, public_key, last_seq=last, hash_at_seq=h))
    return out
