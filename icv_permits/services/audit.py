"""The decision log: hash-chained, append-only, replayable.

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
import gc
import getpass
import json
import os
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session

from icv_permits.adapters.store import tables
from icv_permits.adapters.store.db import MAX_ROW_ID, Broken, NotFound, Store, row_id
from icv_permits.core.canonical import canonical_json, utc_timestamp
from icv_permits.core.engine.decision import Decision
from icv_permits.core import log_shape
from icv_permits.core.errors import InputError, LogBroken, PackError, Problem, show
from icv_permits.core.i18n import N_
from icv_permits.core.labels import RECORD_KINDS
from icv_permits.core.log import (  # noqa: F401 - the log's pure parts, re-exported
    GENESIS,
    M_NOT_WRITTEN,
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
    verify_rows,
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
        if "icv_head_seen" not in s.info:  # once per transaction: without its head the database would refuse as if forbidden
            if s.execute(text("SELECT 1 FROM log_head WHERE id = 1")).first() is None:
                raise head_missing()
            s.info["icv_head_seen"] = True
        seq, recorded_at, actor, prev, h = s.execute(
            text("SELECT seq, recorded_at, actor, prev_hash, hash FROM icv_log_append(:kind, :id, :body)"),
            {"kind": kind, "id": decision_id, "body": body_text}).one()
        return tables.DecisionLog(seq=seq, decision_id=decision_id, kind=kind, recorded_at=_parse_utc(recorded_at), actor=actor, body=body_text,
                                  prev_hash=prev, hash=h)
    row = s.execute(text("SELECT seq, hash FROM log_head WHERE id = 1")).first()
    if row is None:
        raise head_missing()
    head_seq, head_hash = row
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
            try:
                rows = s.execute(q.order_by(tables.DecisionLog.seq).limit(batch)).all()
            except ValueError:  # a stored time that is no instant: no writer makes one
                raise LogBroken([Problem(f"record {last + 1}…", M_NOT_WRITTEN, {"what": "recorded_at"}, "altered")]) from None
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
    """The head's seq and hash; ``(0, GENESIS)`` when the row is missing (:func:`head_row` tells)."""
    row = head_row(store)
    return row if row is not None else (0, GENESIS)


def head_row(store: Store) -> tuple[int, str] | None:
    """The log head's seq and hash, or ``None`` when its row is missing (deleted by someone who
    dropped the triggers): nothing can then be appended, and ``verify`` says so."""
    with store.read() as s:
        h = s.get(tables.LogHead, 1)
        return (h.seq, h.hash) if h else None


def head_missing() -> Broken:
    """Exit 4: the log's head row is missing, so no record can be appended (a submission or
    decision is refused before anything is written) and the log cannot be imported into."""
    return Broken([Problem("log_head", N_("the log's head is missing: nothing can be added to the log. Run `icv-permits audit verify` to see what "
                                          "the log still holds; `icv-permits db upgrade` puts the head back only while the log is empty "
                                          "(with records, the head they had is unknown: a head made up now would hide a cut tail)"), {}, "head_missing")])


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
    if not isinstance(data, dict):  # no form of a snapshot: neither this one nor the older (a pack's model)
        return "—"
    if data.get("format") != SNAPSHOT_FORMAT:
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
    try:
        return _built_pack(content, revision)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):  # ValueError: not JSON, or not a pack (pydantic)
        raise Broken([Problem(revision, N_("the pack snapshot {revision} cannot be read as a pack: it was changed after it was stored"),
                              {"revision": revision}, "snapshot_unreadable")]) from None


def _built_pack(content: str, revision: str) -> Pack:
    """The pack a snapshot's content holds, its revision already checked (recomputing it writes the
    whole pack as RFC 8785 JSON: tens of milliseconds)."""
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


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a walk over the log. Reading makes a tuple per row and
    keeps a batch of them alive, so the collector would run every few hundred rows and, as they
    pile into the older generations, walk every object of the process again and again (the built
    packs, the models): time spent finding no garbage, for the walks build no reference cycles.
    Reference counting still frees every row as it goes; the collector is back on afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_STORED_AT = r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"
"""SQLite keeps ``recorded_at`` as text: naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``, the form
SQLAlchemy writes. A text of that form that is a real instant (year 1000 or later: earlier years are
written by ``utc_timestamp`` with fewer digits) is turned into the text the hash covers by
replacing the space with ``T`` and appending ``Z``; any other text is read through the column's
own type, as every other reader reads it."""
_HASH_AT = r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"
"""PostgreSQL: the text ``to_char`` gives (:data:`_PG_AT`), already the form the hash covers."""
_DAY = r"[1-9][0-9]{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}"
_AT_RUNS = {False: re.compile(f"{_DAY} {_CLOCK}(?:\n{_DAY} {_CLOCK})*"), True: re.compile(f"{_DAY}T{_CLOCK}Z(?:\n{_DAY}T{_CLOCK}Z)*")}
"""A whole batch of times checked at once (one regular expression over the texts joined by
newlines): each of the plain form and plainly a real instant (no 29 February: those rows, and any
other, are checked one by one)."""
_AT_ONE = {False: re.compile(_STORED_AT), True: re.compile(_HASH_AT)}
_PG_AT = "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')::varchar"


def _hash_times(rows: list[tuple], pg: bool, read_at: Callable[[int], str]) -> list[str]:
    """``recorded_at`` of each row (its field 3, as read) as the text the hash covers: the same
    text whichever reader reads the record (``utc_timestamp`` of the column read through its type),
    and a plain one (digits, ``-``, ``:``, ``.``, ``T``, ``Z``: no JSON escaping needed). A batch
    of the usual form is done in a few calls whatever its length; a row of another form is read
    again through the column's type (``read_at``, by its seq), which fails as every reader fails on
    a text that is no instant."""
    texts = [r[3] for r in rows]
    try:
        joined = "\n".join(texts)
    except TypeError:  # a value that is not text (SQLite keeps whatever it was given)
        joined = None
    if joined is not None and _AT_RUNS[pg].fullmatch(joined):
        return texts if pg else (joined.replace(" ", "T").replace("\n", "Z\n") + "Z").split("\n")
    one = _AT_ONE[pg]
    out = []
    for row, t in zip(rows, texts):
        if type(t) is str and one.fullmatch(t):
            try:
                dt.datetime.fromisoformat(t[:-1] if pg else t)
            except ValueError:
                pass
            else:
                out.append(t if pg else t[:10] + "T" + t[11:] + "Z")
                continue
        try:
            out.append(read_at(row[0]))
        except ValueError:  # no instant at all (no writer stores one): a text no hash was made of, so the record is reported edited
            out.append(f"not a time: {t!r}")
    return out


def _log_batches(store: Store, from_seq: int, to_seq: int | None = None, batch: int = 500, prefetch: bool = False
                 ) -> Iterator[tuple[list[tuple], list[str]]]:
    """The log's rows from ``from_seq`` (to ``to_seq``) in sequence order, in batches, each with
    the ``recorded_at`` texts the hash covers (:func:`_hash_times`, one per row): the rows are the
    DB-API cursor's tuples as read — ``seq, decision_id, kind, recorded_at, actor, body, prev_hash,
    hash`` — the body as the UTF-8 bytes the database holds (SQLite ``CAST(body AS BLOB)``;
    PostgreSQL: the ``text`` column's bytes as received, never decoded), ``recorded_at`` as SQLite
    stores it or as PostgreSQL's ``to_char`` writes it. Verifying reads every byte of the log, so
    the reader is the floor that verifying can reach: no ORM rows, no ``datetime`` round trip, no
    decode and re-encode of bodies, no new tuple per row.

    With ``prefetch``, the next batch is read on a thread while this one is used. On SQLite that
    costs more than it saves: building the rows holds the interpreter lock, so the reading thread
    and the hashing one (``hashlib`` lets go of the lock for each body) hand it back and forth
    thousands of times a second; on PostgreSQL the server works in its own process meanwhile.
    On SQLite, batches of 500 rows (about 3 MB of engine decisions) stay in the processor's cache
    between reading and hashing: on the 2-core machine of ``docs/benchmarks.md`` a few per cent
    faster than 1,000 or 5,000, for verify and for the bare read-and-hash floor alike; PostgreSQL
    gains from fewer round trips (5,000 rows, read ahead)."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy.engine import Connection
    from sqlalchemy.exc import DBAPIError

    from icv_permits.adapters.store.db import altered, forbidden

    pg = store.backend == "postgresql"
    ph = "%s" if pg else "?"
    at = _PG_AT if pg else "recorded_at"
    body = "body" if pg else "CAST(body AS BLOB)"
    sql = (f"SELECT seq, decision_id, kind, {at}, actor, {body}, prev_hash, hash FROM decision_log WHERE seq > {ph}"
           + (f" AND seq <= {ph}" if to_seq is not None else "") + f" ORDER BY seq LIMIT {ph}")
    dbapi = store.engine.dialect.dbapi
    read_at = None

    def reread(seq: int) -> str:
        nonlocal read_at
        if read_at is None:
            read_at = _recorded_at_reader(store)
        return read_at(seq)

    conn_cm = nullcontext(store.engine) if isinstance(store.engine, Connection) else store.engine.connect()
    with conn_cm as conn, (ThreadPoolExecutor(1) if prefetch else nullcontext()) as reader:
        cur = conn.connection.dbapi_connection.cursor()
        if pg:
            from psycopg.adapt import Loader

            class _TextBytes(Loader):
                def load(self, data) -> bytes:
                    return bytes(data)

            cur.adapters.register_loader("text", _TextBytes)  # this cursor only; the other columns are varchar

        def fetch(last: int) -> list[tuple]:
            params = (last, to_seq, batch) if to_seq is not None else (last, batch)
            try:
                cur.execute(sql, params)
                return cur.fetchall()
            except dbapi.Error as exc:
                wrapped = DBAPIError.instance(sql, params, exc, dbapi.Error, dialect=store.engine.dialect)
                raise (forbidden(store.url, wrapped) or altered(store.url, wrapped) or wrapped) from None

        pending = None
        try:
            if reader is None:
                last = from_seq - 1
                while rows := fetch(last):
                    last = rows[-1][0]
                    yield rows, _hash_times(rows, pg, reread)
                return
            pending = reader.submit(fetch, from_seq - 1)
            while True:
                rows = pending.result()
                pending = None
                if not rows:
                    return
                pending = reader.submit(fetch, rows[-1][0])
                yield rows, _hash_times(rows, pg, reread)
        finally:
            if pending is not None:
                pending.cancel() or pending.exception()  # never two statements on one cursor at once
            cur.close()


def _log_rows(store: Store, from_seq: int, to_seq: int | None = None, batch: int = 5000) -> Iterator[list[tuple]]:
    """The log's rows from ``from_seq`` (to ``to_seq``) in sequence order, in batches, as
    :data:`icv_permits.core.log.Row` tuples: :func:`_log_batches` (the next batch read while this
    one is used) with ``recorded_at`` the text the hash covers."""
    for rows, ats in _log_batches(store, from_seq, to_seq, batch, prefetch=True):
        yield [(r[0], r[1], r[2], a, *r[4:]) for r, a in zip(rows, ats)]


def _recorded_at_reader(store: Store) -> Callable[[int], str]:
    """``recorded_at`` of one record read the ordinary way (an unusual stored text, see ``_STORED_AT``)."""

    def read(seq: int) -> str:
        with store.read() as s:
            v = s.execute(select(tables.DecisionLog.recorded_at).where(tables.DecisionLog.seq == seq)).scalar_one()
        return utc_timestamp(v if v.tzinfo is not None else v.replace(tzinfo=dt.timezone.utc))

    return read


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
    return [(r[0], r[1], r[3], r[6], r[7], record_hash(*r[:7]) == r[7]) for rows in _log_rows(store, a, b) for r in rows]


def verify(store: Store, *, from_seq: int = 1, expect_head: str | None = None, jobs: int = 1, chunk: int = 25000) -> VerifyReport:
    """Walk the chain from ``from_seq``, then check what the chain does not cover: every pack
    snapshot against its revision (:func:`snapshot_problem`) and the append-only triggers.

    With ``jobs`` > 1 and a long log, worker processes recompute the hashes of ranges of ``chunk``
    records (the costly part), and this process walks the chain over their results exactly as a
    single walk would: the same report either way."""
    row_id(from_seq, "--from", N_("no log record with sequence number {value}"), "no_record")
    if expect_head is not None and not log_shape.HASH.fullmatch(expect_head):  # bad input, not a break of the log
        raise InputError([Problem("--expect-head", N_("must be {expected_text}, not {found}"),
                                  {"expected_text": log_shape.FORM_HASH, "found": show(expect_head)}, "bad_hash")])
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
    head = head_row(store)
    hseq, hhash = head if head is not None else (None, None)
    with store.read() as s:
        max_seq = s.execute(select(func.max(tables.DecisionLog.seq))).scalar() or 0
    anchor, anchor_at = GENESIS, None
    if from_seq > 1:
        with store.read() as s:
            row = s.execute(select(tables.DecisionLog.hash, tables.DecisionLog.recorded_at).where(tables.DecisionLog.seq == from_seq - 1)).first()
        if row is None:
            return _no_anchor(store, from_seq, max_seq, head)
        anchor = row[0]
        at = row[1] if row[1].tzinfo is not None else row[1].replace(tzinfo=dt.timezone.utc)
        anchor_at = utc_timestamp(at)
    report = _walk(store, from_seq=from_seq, anchor=anchor, anchor_at=anchor_at, hseq=hseq, hhash=hhash, expect_head=expect_head, max_seq=max_seq,
                   jobs=jobs, chunk=chunk)
    if head is None:
        report.breaks.append(Break(0, None, "head_missing", {"last_seq": report.last_seq}))
    return report


def _no_anchor(store: Store, from_seq: int, max_seq: int, head: tuple[int, str] | None) -> VerifyReport:
    """``--from N`` where record N − 1 is not in the log: beyond its end (the log has fewer records,
    exit 4 saying how many — or, if the head says more, its tail was cut), or a hole in it (the
    next record found is named)."""
    before = from_seq - 1
    if max_seq < before:
        if head is not None and head[0] > max_seq:
            with store.read() as s:
                last_hash = s.execute(select(tables.DecisionLog.hash).where(tables.DecisionLog.seq == max_seq)).scalar() or GENESIS
            return VerifyReport(0, from_seq, max_seq, head[0], head[1], [Break(max_seq + 1, None, "head", {"head_seq": head[0], "head_hash": head[1],
                                                                                                        "last_seq": max_seq, "last_hash": last_hash})])
        if max_seq == 0:
            raise NotFound([Problem("--from", N_("the log is empty: there is no record {before} to start after (the highest --from is 1)"),
                                    {"before": before}, "log_shorter")])
        raise NotFound([Problem("--from", N_("the log has only {n} records: there is no record {before} to start after (the highest --from is {next})"),
                                {"n": max_seq, "before": before, "next": max_seq + 1}, "log_shorter")])
    with store.read() as s:
        found = s.execute(select(func.min(tables.DecisionLog.seq)).where(tables.DecisionLog.seq > before)).scalar()
    return VerifyReport(0, from_seq, before, head[0] if head else 0, head[1] if head else GENESIS,
                        [Break(before, None, "gap", {"expected_seq": before, "found_seq": found})])


def record_faults(store: Store, records: list[Record], report: VerifyReport | None = None, before: Record | None = None,
                  snapshots: list[Break] | None = None) -> dict[int, list[Break]]:
    """Every record of ``records`` (the log read from its first record, in order) that fails
    verification, with why — not only the first, where :func:`verify` stops: its content does not
    hash to its hash (``edited``); its ``prev_hash`` is not the hash of the record before it
    (``link``); records are missing before it (``gap``); it was recorded before the record before it
    (``time``); it stands past the log head (``head``); it is an engine decision judged with a pack
    snapshot that does not hash to its revision (``snapshot``, from ``report`` when given, else
    checked here). An auditor's list marks each of them, and explain and replay say so.

    ``before``: the record just before the first of ``records``, when they are a part of the log that
    does not start at its first record (what :func:`explain_faults` checks); ``snapshots``: the
    pack snapshots' breaks, when already known.

    Read-only; costs one hash per record (what verify costs), on records already read."""
    out: dict[int, list[Break]] = {}

    def fault(rec: Record, problem: str, **detail) -> None:
        out.setdefault(rec.seq, []).append(Break(rec.seq, rec.decision_id, problem, detail))

    head = head_row(store)
    prev_hash, prev_at, expected = (GENESIS, None, 1) if before is None else (before.hash, before.recorded_at, before.seq + 1)
    for rec in records:
        if rec.seq != expected:
            fault(rec, "gap", expected_seq=expected, found_seq=rec.seq)
        elif rec.prev_hash != prev_hash:
            fault(rec, "link")
        if rec.computed_hash() != rec.hash:
            fault(rec, "edited")
        if prev_at is not None and rec.recorded_at < prev_at:
            fault(rec, "time", seq=rec.seq, recorded_at=rec.recorded_at, previous_seq=rec.seq - 1, previous_recorded_at=prev_at)
        if head is not None and rec.seq > head[0]:
            fault(rec, "head", head_seq=head[0], last_seq=records[-1].seq)
        prev_hash, prev_at, expected = rec.hash, rec.recorded_at, rec.seq + 1
    if snapshots is None:
        snapshots = report.faults if report is not None else snapshot_breaks(store)
    forged = {b.detail["revision"]: b.detail for b in snapshots if b.problem == "snapshot"}
    if forged:
        for rec in records:
            if rec.kind != "engine_decision":
                continue
            try:
                rev = rec.body["pack"]["revision"]
            except (ValueError, KeyError, TypeError):
                continue
            if rev in forged:
                fault(rec, "snapshot", revision=rev)
    return out


def explain_faults(store: Store, parts: list[ExplainPart]) -> dict[int, list[Break]]:
    """Why each record an explanation shows fails verification, as far as it and the record before it
    show (what :func:`record_faults` finds for it: its own hash, its link to the record before it
    or a missing record before it, its time, the log head, its pack snapshot) — without walking the
    whole log, so that explaining one record costs what reading two does. Empty when every record
    shown holds up; ``audit verify`` checks the rest of the log."""
    out: dict[int, list[Break]] = {}
    snapshots: list[Break] | None = None
    seen: set[int] = set()
    for rec in (p.record for p in parts):
        if rec.seq in seen:
            continue
        seen.add(rec.seq)
        before = None
        if rec.seq > 1:
            try:
                before = find(store, str(rec.seq - 1))
            except NotFound:
                out.setdefault(rec.seq, []).append(Break(rec.seq, rec.decision_id, "gap", {"expected_seq": rec.seq - 1, "found_seq": rec.seq}))
        if rec.kind == "engine_decision" and snapshots is None:
            snapshots = snapshot_breaks(store)
        found = record_faults(store, [rec], before=before, snapshots=snapshots if rec.kind == "engine_decision" else [])
        for seq, breaks in found.items():
            # without the record before it, the walk from the first record would call every record a gap: said above, once
            out.setdefault(seq, []).extend(b for b in breaks if before is not None or rec.seq == 1 or b.problem != "gap")
    return out


def _walk(store: Store, *, from_seq: int, anchor: str, anchor_at: str | None, hseq: int | None, hhash: str | None, expect_head: str | None,
          max_seq: int, jobs: int, chunk: int) -> VerifyReport:
    kw = {"from_seq": from_seq, "anchor": anchor, "anchor_recorded_at": anchor_at, "head_seq": hseq, "head_hash": hhash, "expect_head": expect_head}
    if jobs <= 1 or max_seq - from_seq + 1 < 2 * chunk or store.url.endswith(":memory:"):
        with collector_paused():
            pg = store.backend == "postgresql"  # see _log_batches: how each backend is read fastest
            return verify_rows(_log_batches(store, from_seq, batch=5000 if pg else 500, prefetch=pg), **kw)
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
    records = iter(replay_targets(store, refs)) if refs else _engine_records(store, 1)
    yield from _replay_engine_records(store, records, pack_mode, current_pack)


def _engine_records(store: Store, from_seq: int, to_seq: int | None = None) -> Iterator[Record]:
    """The engine decisions from ``from_seq`` (to ``to_seq``), read by the log's fast reader
    (:func:`_log_rows`): a replay needs their bodies only, which it parses once each."""
    for rows in _log_rows(store, from_seq, to_seq, batch=1000):
        for row in rows:
            if row[2] == "engine_decision":
                yield Record(*row)


@contextmanager
def collector_tuned() -> Iterator[None]:
    """The cyclic garbage collector tuned for replaying: a replay builds thousands of short-lived
    objects per decision (models, findings, JSON), which set off a collection of the youngest
    generation every 700 allocations and, as survivors pile up, full collections that walk every
    object of the process — the built packs and models included, though they live as long as the
    process. The objects alive now (imports, packs: see :func:`_frozen`) are left out of every
    collection and the youngest generation is collected less often; reference cycles are still
    collected. Set back as it was afterwards."""
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    gc.set_threshold(50_000, 20, 20)
    gc.freeze()
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if not frozen_before:  # a long-lived process (the TUI) gets its objects collectable again
            gc.unfreeze()


@contextmanager
def closing_iterator(items: Iterable) -> Iterator[Iterable]:
    """``items``, closed on the way out when it is a generator (or has a ``close``)."""
    try:
        yield items
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _frozen(value):
    """``value`` (a pack just built) moved out of the collector's reach with everything alive now."""
    gc.freeze()
    return value


def _replay_engine_records(store: Store, records: Iterable[Record], pack_mode: str, current_pack: Pack | None = None) -> Iterator[ReplayResult]:
    """Replay engine-decision records in turn, each pack snapshot (and current pack) loaded once."""
    from icv_permits.adapters.packs import load_pack

    snapshots: dict[str, Pack | Broken] = {}
    currents: dict[str, Pack] = {}
    # the records' reader closed however this ends (a broken record raises): its connection and
    # transaction are given back now, not when the collector finds the reader
    with collector_tuned(), closing_iterator(records) as records:
        for rec in records:
            body = rec.body
            rev = body["pack"]["revision"]
            if rev not in snapshots:
                snapshots[rev] = _frozen(_snapshot_or_error(store, rev))
            current = None
            if pack_mode != "recorded":
                pid = body["pack"]["id"]
                if pid not in currents:
                    currents[pid] = _frozen(current_pack if current_pack is not None else load_pack(_current_pack_ref(pack_mode, pid)))
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
    """The last ``limit`` records of the log, oldest first (without its head row, the last record's
    seq stands for the head's)."""
    row = head_row(store)
    if row is None:
        with store.read() as s:
            last = s.execute(select(func.max(tables.DecisionLog.seq))).scalar() or 0
    else:
        last = row[0]
    return list(iter_records(store, max(1, last - limit + 1)))


def _replay_range(args: tuple[str, int, int, str]) -> list[ReplayResult]:
    """Worker: replay the engine decisions with from ≤ seq ≤ to, reading them itself (so the
    parent never holds the log in memory)."""
    from icv_permits.adapters.store import db

    url, a, b, mode = args
    db.forget_engines()  # connections inherited through fork belong to the parent
    gc.freeze()  # what the fork inherited is never collected here (nor its pages touched and copied)
    store = db.open_store(url, check_schema=False)
    return list(_replay_engine_records(store, _engine_records(store, a, b), mode))


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


def _misshapen(lineno: int, exc: log_shape.ShapeError) -> InputError:
    return InputError([Problem(f"line {lineno}", exc.msgid, exc.params, "bad_export")])


def _parse_utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("naive time")
    return value.astimezone(dt.timezone.utc)


def export_lines(source: TextIO | Iterable[str]) -> Iterator[tuple[int, str]]:
    """The lines of an export that are not blank, numbered from 1, each read only up to
    :data:`~icv_permits.core.log_shape.MAX_LINE` characters: a longer line is refused (exit 2) once
    that much of it has been read, never read whole. A file is read a line at a time."""
    limit = log_shape.MAX_LINE
    readline = getattr(source, "readline", None)
    it = None if readline is not None else iter(source)
    lineno = 0
    while True:
        try:
            line = readline(limit + 1) if readline is not None else next(it, "")
        except UnicodeDecodeError:
            raise _bad_line(lineno + 1, N_("the file is not UTF-8 text")) from None
        if not line:
            return
        lineno += 1
        if len(line) - line.endswith("\n") > limit:
            raise _bad_line(lineno, N_("longer than {max} characters: not a line of an export"), max=limit)
        if line.strip():
            yield lineno, line


class _Refused(Exception):
    """Raised inside the import's transaction to roll it back and return the report."""

    def __init__(self, report: VerifyReport):
        self.report = report


ShownCheck = Callable[[Record, "Decision | None", "Pack | None"], object]
"""How a record is shown (``audit log``'s line, ``audit explain``'s text): the CLI passes its views, so
that a record the import accepts is one they show; an exception refuses the record."""

_PACKS_KEPT = 4  # built pack snapshots kept at once while importing (a pack takes a few MB)
_SEQ_OF_ID = select(tables.DecisionLog.seq).where(tables.DecisionLog.decision_id == bindparam("id"))
_KIND_OF_ID = select(tables.DecisionLog.kind).where(tables.DecisionLog.decision_id == bindparam("id"))
_MOVE_HEAD = text("UPDATE log_head SET seq = :seq, hash = :hash WHERE id = 1")


class _Importer:
    """Reads an export line by line into the log, inside the caller's transaction ``s``: the header,
    the pack snapshots (each checked as ``verify`` checks it, stored), then each record — its shape,
    then its place in the chain (:func:`verify_records`, walking :meth:`records`), then its body with
    the code that reads it, then inserted behind the head. Nothing is held but the current line, the
    last few packs and what names the snapshots."""

    def __init__(self, s: Session, lines: Iterator[tuple[int, str]], shown: ShownCheck | None):
        self.s = s
        self.lines = lines
        self.shown = shown
        self.snapshot_breaks: list[Break] = []
        self.snapshot_lines: dict[str, tuple[int, str, bool]] = {}  # revision → (line, pack id, usable for the checks)
        self.packs: OrderedDict[str, Pack] = OrderedDict()
        self.line_of_last: int | None = None  # the line of the record the chain walk has last been given
        self.records_seen = 0
        self._insert = tables.DecisionLog.__table__.insert()

    # ------------------------------------------------------------ lines

    def _parse(self, lineno: int, line: str) -> dict:
        try:
            obj = log_shape.loads_bounded(line)
        except log_shape.ShapeError as exc:
            raise _misshapen(lineno, exc) from None
        if not isinstance(obj, dict):
            raise _bad_line(lineno, N_("not a JSON object"))
        return obj

    def header(self) -> tuple[int, str]:
        """The head the header (the first line) states."""
        first = next(self.lines, None)
        if first is None:
            raise _bad_line(1, N_("not an icv-permits audit export (format {found})"), found="—")
        lineno, line = first
        obj = self._parse(lineno, line)
        if obj.get("type") != "header":
            raise _bad_line(lineno, N_("not an icv-permits audit export (format {found})"), found="—")
        try:
            return log_shape.header(obj, EXPORT_FORMAT)
        except log_shape.ShapeError as exc:
            raise _misshapen(lineno, exc) from None

    def records(self) -> Iterator[Record]:
        """The records, for :func:`verify_records`. A record is checked and inserted only once the walk
        has asked for the next one — that is, once its seq, link and hash were found right."""
        for lineno, line in self.lines:
            obj = self._parse(lineno, line)
            kind = obj.get("type")
            if kind == "pack_snapshot":
                if self.records_seen:
                    raise _bad_line(lineno, N_("a pack snapshot after the records: an export lists every pack snapshot before the first record"))
                self._snapshot(lineno, obj)
                continue
            if kind == "header":
                raise _bad_line(lineno, N_("a second header: the header is the first line of an export"))
            if kind != "record":
                raise _bad_line(lineno, N_("unknown line type {found}"), found=show(kind if isinstance(kind, str) else json.dumps(kind)))
            rec, body = self._record(lineno, obj)
            self.records_seen += 1
            self.line_of_last = lineno
            yield rec
            decision, pack = self._check(lineno, rec, body)
            if self.shown is not None:
                try:
                    self.shown(rec, decision, pack)
                except Exception as exc:  # noqa: BLE001 - whatever a view cannot show is refused here, not in front of an auditor
                    raise _bad_line(lineno, N_("field {field}: the record cannot be shown by audit log or audit explain ({error})"),
                                    field="body", error=f"{type(exc).__name__}: {str(exc)[:120]}") from None
            self._store(lineno, rec)

    # ------------------------------------------------------------ pack snapshots

    def _snapshot(self, lineno: int, obj: dict) -> None:
        try:
            revision, pack_id, stored_at, content = log_shape.snapshot(obj)
        except log_shape.ShapeError as exc:
            raise _misshapen(lineno, exc) from None
        if revision in self.snapshot_lines:
            raise _bad_line(lineno, N_("pack snapshot {revision} is already on line {line}"), revision=revision, line=self.snapshot_lines[revision][0])
        content_text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        try:
            content_text.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad_line(lineno, N_("field {field} holds a character that cannot be stored (NUL, or half of a UTF-16 surrogate pair)"), field="content") from None
        usable = True
        computed = snapshot_mismatch(revision, content_text)  # once: it writes the whole pack as RFC 8785 JSON
        if computed is not None:  # not what its revision hashes: a break (exit 4), its decisions not checked against it
            self.snapshot_breaks.append(Break(0, None, "snapshot", {"revision": revision, "computed": computed, "line": lineno}))
            usable = False
        else:
            try:
                pack = _built_pack(content_text, revision)
            except Exception:  # noqa: BLE001 - PackError, pydantic's ValidationError, a field of the wrong type…: not a pack
                raise _bad_line(lineno, N_("the pack snapshot is not a rule pack")) from None
            if pack.id != pack_id:
                raise _bad_line(lineno, N_("field {field}: the pack snapshot is of pack {expected}, not {found}"), field="pack_id", expected=pack.id, found=pack_id)
            self._keep(revision, pack)
            if content.get("format") != SNAPSHOT_FORMAT:  # the older form, whose revision cannot be recomputed
                problem = snapshot_problem(revision, pack_id, content_text)
                if problem is not None:  # not today's pack of that revision: a note, as verify makes it
                    self.snapshot_breaks.append(problem)
        self.snapshot_lines[revision] = (lineno, pack_id, usable)
        existing = self.s.get(tables.PackSnapshot, revision)
        if existing is None:
            self.s.add(tables.PackSnapshot(revision=revision, pack_id=pack_id, content=content_text, stored_at=stored_at))
            self.s.flush()
        elif existing.content != content_text:
            raise _bad_line(lineno, N_("this database already holds a pack snapshot {revision} with other content"), revision=revision)

    def _keep(self, revision: str, pack: Pack) -> None:
        self.packs[revision] = pack
        self.packs.move_to_end(revision)
        while len(self.packs) > _PACKS_KEPT:
            self.packs.popitem(last=False)

    def _pack(self, revision: str) -> Pack:
        pack = self.packs.get(revision)
        if pack is None:  # read back from this transaction: it was checked when its line was read
            pack = _built_pack(self.s.get(tables.PackSnapshot, revision).content, revision)
        self._keep(revision, pack)
        return pack

    # ------------------------------------------------------------ records

    def _record(self, lineno: int, obj: dict) -> tuple[Record, dict]:
        try:
            seq, did, kind, recorded_at, actor, body, prev, h = log_shape.record(obj)
        except log_shape.ShapeError as exc:
            raise _misshapen(lineno, exc) from None
        try:
            body_text = canonical_json(body)
            body_text.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad_line(lineno, N_("field {field} holds a character that cannot be stored (NUL, or half of a UTF-16 surrogate pair)"), field="body") from None
        except (ValueError, TypeError, OverflowError):  # RFC 8785 has no form for it: a float not finite, an integer beyond ±(2^53 − 1)
            raise _bad_line(lineno, N_("field {field} holds a number that has no canonical JSON form (not finite, or a whole number beyond ±(2^53 − 1))"), field="body") from None
        return Record(seq, did, kind, recorded_at, actor, body_text, prev, h), body

    def _check(self, lineno: int, rec: Record, body: dict) -> tuple[Decision | None, Pack | None]:
        """What the chain cannot vouch for: the body in the shape its readers take it in, a decision ID
        of its own, the engine decision a submission or review names, and the decision an engine
        record holds read as ``audit explain`` and ``audit replay`` read it, with its pack snapshot."""
        try:
            log_shape.body(rec.kind, body)
        except log_shape.ShapeError as exc:
            raise _misshapen(lineno, exc) from None
        conn = self.s.connection()
        taken = conn.execute(_SEQ_OF_ID, {"id": rec.decision_id}).scalar()
        if taken is not None:
            raise _bad_line(lineno, N_("field {field}: {id} is already the decision ID of record {seq}"), field="decision_id", id=rec.decision_id, seq=taken)
        if rec.kind in ("submission", "review"):
            ref = body["engine_decision"]
            kind = conn.execute(_KIND_OF_ID, {"id": ref}).scalar()
            if kind != "engine_decision":
                raise _bad_line(lineno, N_("field {field}: {id} is no engine decision earlier in the file"), field="body.engine_decision", id=ref)
        if rec.kind != "engine_decision":
            return None, None
        revision = body["pack"]["revision"]
        known = self.snapshot_lines.get(revision)
        if known is None:
            raise _bad_line(lineno, N_("field {field}: no pack snapshot of revision {revision} comes before this record in the file"),
                            field="body.pack.revision", revision=revision)
        if not known[2]:
            return None, None  # its snapshot fails its revision: the import is refused for that (exit 4)
        if body["pack"]["id"] != known[1]:
            raise _bad_line(lineno, N_("field {field}: the pack snapshot is of pack {expected}, not {found}"), field="body.pack.id",
                            expected=known[1], found=body["pack"]["id"])
        pack = self._pack(revision)
        compact = "record_format" in body
        try:
            whole_decision = recorded_decision(rec, pack)  # as audit explain reads it
        except Broken as exc:
            try:  # rebuilt, but not to its digest: the digest is what is wrong (or the payload was changed under it)
                expand(body, pack, check=False)
                where = "body.decision_digest"
            except ExpandError:
                where = "body.deflated"
            raise _bad_line(lineno, N_("field {field}: the decision cannot be rebuilt from the record and pack snapshot {revision} ({error})"),
                            field=where, revision=revision, error=str(exc.problems[0].params.get("detail", ""))[:200]) from None
        except Exception as exc:  # noqa: BLE001 - whatever else the rebuild meets is what explain would meet: refused here
            raise _bad_line(lineno, N_("field {field}: the decision cannot be rebuilt from the record and pack snapshot {revision} ({error})"),
                            field="body", revision=revision, error=f"{type(exc).__name__}: {str(exc)[:120]}") from None
        field = "body.deflated" if compact else "body.decision"
        try:
            decision = Decision.model_validate(whole_decision)
            log_shape.decision_counts(decision)
        except log_shape.ShapeError as exc:
            raise _bad_line(lineno, N_("field {field}: the decision is not one the engine writes ({error})"), field=field,
                            error=exc.params.get("field", "")) from None
        except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, or whatever else validating meets
            raise _bad_line(lineno, N_("field {field}: the decision is not one the engine writes ({error})"), field=field,
                            error=_first_error(exc)) from None
        for i, finding in enumerate(decision.findings):
            if finding.rule_id not in pack.rules:
                raise _bad_line(lineno, N_("field {field}: the decision is not one the engine writes ({error})"), field=field,
                                error=f"findings[{i}].rule_id {show(finding.rule_id)} ∉ {revision[:19]}")
        if decision.pack_revision != revision:
            raise _bad_line(lineno, N_("field {field}: the decision is not one the engine writes ({error})"), field=field,
                            error=f"pack_revision {show(decision.pack_revision)}")
        return decision, pack

    def _store(self, lineno: int, rec: Record) -> None:
        """Insert the record behind the head and move the head to it (the triggers take nothing else);
        a refusal of the database names the line, whatever slipped past the checks."""
        conn = self.s.connection()
        try:
            conn.execute(self._insert, {"seq": rec.seq, "decision_id": rec.decision_id, "kind": rec.kind, "recorded_at": _parse_utc(rec.recorded_at),
                                        "actor": rec.actor, "body": rec.body_text, "prev_hash": rec.prev_hash, "hash": rec.hash})
            conn.execute(_MOVE_HEAD, {"seq": rec.seq, "hash": rec.hash})
        except (IntegrityError, DataError) as exc:
            first = (str(getattr(exc, "orig", exc)).strip().splitlines() or [""])[0][:200]
            raise _bad_line(lineno, N_("the database refused this record: {error_text}"), error_text=first) from None


def _first_error(exc: Exception) -> str:
    """The first problem pydantic names: where and what (English, short)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            e = errors()[0]
            return f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"[:200]
        except Exception:  # noqa: BLE001 - the message is only a detail
            pass
    return type(exc).__name__


def _empty_log(s: Session, store: Store) -> None:
    """The head locked for the import; refused unless the log is empty (and has its head)."""
    row = s.execute(select(tables.LogHead.seq).where(tables.LogHead.id == 1).with_for_update()).first()
    if row is None:
        raise head_missing()
    n = row[0]
    if n == 0 and s.execute(select(tables.DecisionLog.seq).limit(1)).first() is not None:  # records behind a head of 0: count them
        n = s.execute(select(func.count()).select_from(tables.DecisionLog)).scalar_one()
    if n:
        raise InputError([Problem(store.url, N_("the log here is not empty ({n} records): import into a fresh database"), {"n": n}, "not_empty")])


def import_jsonl(store: Store, source: TextIO | Iterable[str], *, shown: ShownCheck | None = None) -> VerifyReport:
    """Verify an export and load it into an empty log, in one transaction, a line at a time.

    Refused as bad input (exit 2, naming the line and the field; nothing written): a line longer or
    nested deeper than an export's (:mod:`~icv_permits.core.log_shape`), a header, pack snapshot or
    record not of its exact shape, a body not in the shape its kind is read in, a decision that
    ``audit explain`` and ``audit replay`` could not read with its pack snapshot, a decision ID used
    twice, a submission or review naming no earlier engine decision, and — with ``shown``, the
    views — a record they cannot show. Returned, nothing written (exit 4): a chain that does not
    verify (a repeated or missing seq among them) or a pack snapshot that fails its revision."""
    lines = export_lines(source)
    try:
        with store.write() as s:
            _empty_log(s, store)
            importer = _Importer(s, lines, shown)
            head_seq, head_hash = importer.header()
            report = verify_records(importer.records(), head_seq=head_seq, head_hash=head_hash)
            first = report.faults[0] if report.faults else None
            if first is not None and first.problem in ("edited", "link", "gap", "order") and importer.line_of_last is not None:
                first.detail["line"] = importer.line_of_last  # the walk stopped at the record it was last given
            report.breaks.extend(importer.snapshot_breaks)
            if not report.intact:
                raise _Refused(report)
    except _Refused as refused:
        return refused.report
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
    """The log's last record, and the stored hash of record ``seq`` (``None``: no such record — as
    for any ``seq`` beyond the database's INTEGER, which no query is made for)."""
    with store.read() as s:
        last = s.execute(select(func.max(tables.DecisionLog.seq))).scalar() or 0
        row = s.execute(select(tables.DecisionLog.hash).where(tables.DecisionLog.seq == seq)).first() if 1 <= seq <= MAX_ROW_ID else None
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
