"""``audit reconcile``: do the office's tables say what the decision log says?

The log is tamper-evident (``audit verify``); the tables the office works from — submissions,
reviews, notices, plates — are not: an insider with the database can set a rejected submission to
approved or extend a notice, and every view would show it. Reconcile proves each row against the
records that wrote it:

- ``submission``: ``state`` (the last submission or review record's), ``current_version`` (the
  highest version submitted) and ``revision`` (one per submission and review record: every change
  bumps it) — the revision only when the log holds the record that created the submission;
- ``submission_version``: file name and SHA-256, the claimed actor, the application digest (the
  engine decision on submission: ``input_digest``);
- ``engine_run``: submission and version, purpose, verdict, pack id and revision, as-of date;
- ``review``: action, from and to state, reason, against the engine, what to correct, the claimed
  actor and the engine run it rests on (the review record's ``engine_decision``);
- ``notice``: kind, entity (credit code), submission, issued, valid from/until, status, sections,
  configurations, VINs — as the review that issued it says, then as superseding changed it;
- ``plate``: notice, VIN, valid from/until, the plate it renews — issued with a notice, renewed
  (``plates_renewed``), shortened when its notice was superseded.

Superseding: a review record states what its notice superseded (``superseded``: each old notice's
number, new status and ``valid_until``, and the plates shortened). Records written before it did
(no ``superseded`` key) have the effect derived exactly as the office applies it
(``services.office._issue``): with the application a re-application (``modifiers.renewal`` in the
engine decision's ``input``), every notice of the same entity and kind still ``active`` and not
ended on the decision day (the engine decision's ``as_of``), sharing a VIN and not the notice vehicles are added to,
ends the day before the new one starts (:func:`~icv_permits.core.engine.validity.superseded_until`),
and so do its plates.

Every row no record wrote, and every record whose row is missing, is a difference too. Fields a
record does not hold (an older log) are not compared.

Bounded memory: the log is streamed (:func:`icv_permits.services.audit.iter_records`), and what it
says each row must be is folded into a temporary SQLite file, not into memory; the tables are read
in batches and looked up there; differences are yielded as they are found. The log and the tables
are read in one snapshot (:meth:`Store.snapshot`), so an office working meanwhile causes no false
difference.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import aliased

from icv_permits.adapters.store import tables as T
from icv_permits.adapters.store.db import Store
from icv_permits.core.canonical import canonical_json
from icv_permits.core.errors import LogBroken
from icv_permits.core.engine.validity import superseded_until
from icv_permits.core.log import Record
from icv_permits.core.log_compact import ExpandError, input_of
from icv_permits.core.model.types import TIMEZONE
from icv_permits.core.reconcile import TABLES, Difference, Summary
from icv_permits.services import audit

EXIT_DIFFERS = 4
ZONE = ZoneInfo(TIMEZONE)

_SCHEMA = """
CREATE TABLE submission (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, seq INTEGER NOT NULL, matched INTEGER NOT NULL DEFAULT 0);
CREATE TABLE submission_version (sub INTEGER NOT NULL, number INTEGER NOT NULL, doc TEXT NOT NULL, seq INTEGER NOT NULL,
                                 matched INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (sub, number));
CREATE TABLE engine_run (id INTEGER PRIMARY KEY, decision_id TEXT, doc TEXT NOT NULL, seq INTEGER NOT NULL, matched INTEGER NOT NULL DEFAULT 0);
CREATE INDEX engine_run_decision ON engine_run (decision_id);
CREATE TABLE review (sub INTEGER NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL, seq INTEGER NOT NULL,
                     matched INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (sub, version));
CREATE TABLE notice (number TEXT PRIMARY KEY, entity TEXT, kind TEXT, doc TEXT NOT NULL, seq INTEGER NOT NULL, matched INTEGER NOT NULL DEFAULT 0);
CREATE INDEX notice_entity ON notice (entity, kind);
CREATE TABLE plate (number TEXT PRIMARY KEY, notice TEXT, doc TEXT NOT NULL, seq INTEGER NOT NULL, matched INTEGER NOT NULL DEFAULT 0);
CREATE INDEX plate_notice ON plate (notice);
"""
_KEYS = {"submission": ("id",), "submission_version": ("sub", "number"), "engine_run": ("id",), "review": ("sub", "version"),
         "notice": ("number",), "plate": ("number",)}

# the fields compared, in the order reported
FIELDS = {
    "submission": ("state", "current_version", "revision"),
    "submission_version": ("file_name", "file_sha256", "actor", "application_digest"),
    "engine_run": ("submission_id", "version", "purpose", "verdict", "pack_id", "pack_revision", "as_of"),
    "review": ("action", "from_state", "to_state", "reason", "against_engine", "items", "actor", "engine_run_id"),
    "notice": ("kind", "credit_code", "submission_id", "issued", "valid_from", "valid_until", "status", "sections", "configurations", "vins"),
    "plate": ("notice", "vin", "valid_from", "valid_until", "renews"),
}


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _input_snapshot(body: dict) -> dict | None:
    """The input snapshot of an engine decision of either record format (format 2 keeps it in
    ``deflated``); ``None`` when it cannot be read (audit verify names a damaged record)."""
    try:
        app = input_of(body)
    except (ExpandError, KeyError, TypeError):
        return None
    return app if isinstance(app, dict) else None


def _str(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _pick(body: dict, names: dict[str, str]) -> dict:
    """The fields of ``body`` that are there (a field a record does not hold is not compared)."""
    return {ours: body[theirs] for ours, theirs in names.items() if theirs in body}


def _value(v):
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _json_list(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _day(iso: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return None


class _Expected:
    """What the log says each row is, in a temporary SQLite file (``doc``: the fields as JSON;
    keys starting with ``_`` are bookkeeping, not compared)."""

    def __init__(self, folder: Path):
        self.db = sqlite3.connect(folder / "expected.db")
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-16000")  # 16 MB at most
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def get(self, table: str, key: tuple) -> tuple[dict, int, bool] | None:
        where = " AND ".join(f"{k} = ?" for k in _KEYS[table])
        row = self.db.execute(f"SELECT doc, seq, matched FROM {table} WHERE {where}", key).fetchone()
        return None if row is None else (json.loads(row[0]), row[1], bool(row[2]))

    def put(self, table: str, key: tuple, doc: dict, seq: int, **extra) -> int | None:
        """Insert a row; the seq of the record that holds it already, if one does (nothing written)."""
        old = self.get(table, key)
        if old is not None:
            return old[1]
        cols = list(_KEYS[table]) + list(extra) + ["doc", "seq"]
        self.db.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                        (*key, *extra.values(), canonical_json(doc), seq))
        return None

    def update(self, table: str, key: tuple, doc: dict, seq: int) -> None:
        where = " AND ".join(f"{k} = ?" for k in _KEYS[table])
        self.db.execute(f"UPDATE {table} SET doc = ?, seq = ? WHERE {where}", (canonical_json(doc), seq, *key))

    def match(self, table: str, key: tuple) -> None:
        where = " AND ".join(f"{k} = ?" for k in _KEYS[table])
        self.db.execute(f"UPDATE {table} SET matched = 1 WHERE {where}", key)

    def unmatched(self, table: str, batch: int) -> Iterator[tuple[tuple, dict, int]]:
        """The rows no table row matched, in record order (several rows may share a record: a
        notice's plates), ``batch`` at a time."""
        keys = _KEYS[table]
        last = (-1, -1)
        while True:
            rows = self.db.execute(f"SELECT {', '.join(keys)}, doc, seq, rowid FROM {table} WHERE matched = 0 "
                                   f"AND (seq > ? OR (seq = ? AND rowid > ?)) ORDER BY seq, rowid LIMIT ?",
                                   (last[0], last[0], last[1], batch)).fetchall()
            if not rows:
                return
            for row in rows:
                last = (row[-2], row[-1])
                yield tuple(row[:len(keys)]), json.loads(row[-3]), row[-2]


def _key_text(table: str, key: tuple) -> str:
    if table in ("submission_version", "review"):
        return f"{key[0]} v{'—' if key[1] is None else key[1]}"
    return str(key[0])


class Reconciliation:
    """Iterate to get the differences, in table order; :attr:`summary` is complete afterwards."""

    def __init__(self, store: Store, *, batch: int = 1000):
        self.store = store
        self.batch = batch
        self.summary = Summary()
        self._pending_digest: tuple[int, int, object] | None = None

    # ------------------------------------------------------------ the log

    def _fold(self, exp: _Expected, rec: Record) -> Iterator[Difference]:
        try:
            body = rec.body
        except LogBroken:
            return  # no body the office writes (not a JSON object): audit verify names it
        if rec.kind == "engine_decision":
            yield from self._engine(exp, rec, body)
        elif rec.kind == "submission":
            yield from self._submission(exp, rec, body)
        elif rec.kind == "review":
            yield from self._review(exp, rec, body)
        elif rec.kind == "plates_renewed":
            yield from self._renewed(exp, rec, body)

    def _twice(self, exp: _Expected, table: str, key: tuple, doc: dict, rec: Record, **extra) -> Iterator[Difference]:
        first = exp.put(table, key, doc, rec.seq, **extra)
        if first is not None:
            yield Difference(table, _key_text(table, key), "twice", seq=rec.seq, first_seq=first)

    def _engine(self, exp: _Expected, rec: Record, b: dict) -> Iterator[Difference]:
        run_id = _int(b.get("engine_run_id"))
        sid, version = _int(b.get("submission_id")), _int(b.get("version"))
        if b.get("purpose") == "submit" and sid is not None and version is not None and "input_digest" in b:
            self._pending_digest = (sid, version, b["input_digest"])  # the submission record follows in the same transaction
        if run_id is None:
            return
        doc = _pick(b, {"submission_id": "submission_id", "version": "version", "purpose": "purpose", "verdict": "verdict", "as_of": "as_of"})
        pack = b.get("pack")
        if isinstance(pack, dict):
            doc.update(_pick(pack, {"pack_id": "id", "pack_revision": "revision"}))
        app = _input_snapshot(b)
        if isinstance(app, dict):  # what deriving a superseding needs (records that do not state it)
            mods = app.get("modifiers") if isinstance(app.get("modifiers"), dict) else {}
            adding = app.get("adding") if isinstance(app.get("adding"), dict) else {}
            doc["_renewal"] = bool(mods.get("renewal"))
            doc["_original"] = adding.get("original_notice") if mods.get("adding_vehicles") else None
        yield from self._twice(exp, "engine_run", (run_id,), doc, rec, decision_id=rec.decision_id)

    def _bump(self, exp: _Expected, sid: int, rec: Record, *, state=None, version: int | None = None, created: bool = False) -> None:
        """One more change of submission ``sid``: its state, version and revision count."""
        cur = exp.get("submission", (sid,))
        if cur is None:
            doc = {"_changes": 1, "_created": created}
            if state is not None:
                doc["state"] = state
            if version is not None:
                doc["current_version"] = version
            exp.put("submission", (sid,), doc, rec.seq)
            return
        doc = cur[0]
        doc["_changes"] = doc.get("_changes", 0) + 1
        if state is not None:
            doc["state"] = state
        if version is not None:
            doc["current_version"] = max(version, doc.get("current_version") or 0)
        exp.update("submission", (sid,), doc, rec.seq)

    def _submission(self, exp: _Expected, rec: Record, b: dict) -> Iterator[Difference]:
        sid, version = _int(b.get("submission_id")), _int(b.get("version"))
        if sid is None:
            return
        new = b.get("new_submission") is True
        if new and exp.get("submission", (sid,)) is not None:
            yield Difference("submission", str(sid), "twice", seq=rec.seq, first_seq=exp.get("submission", (sid,))[1])
        self._bump(exp, sid, rec, state=b.get("state"), version=version, created=new)
        if version is None:
            return
        doc = _pick(b, {"file_name": "file_name", "file_sha256": "file_sha256", "actor": "claimed_actor"})
        if self._pending_digest is not None and self._pending_digest[:2] == (sid, version):
            doc["application_digest"] = self._pending_digest[2]
        self._pending_digest = None
        yield from self._twice(exp, "submission_version", (sid, version), doc, rec)

    def _review(self, exp: _Expected, rec: Record, b: dict) -> Iterator[Difference]:
        sid, version = _int(b.get("submission_id")), _int(b.get("version"))
        if sid is None:
            return
        self._bump(exp, sid, rec, state=b.get("to_state"))
        if version is not None:
            doc = _pick(b, {"action": "action", "from_state": "from_state", "to_state": "to_state", "reason": "reason",
                            "against_engine": "against_engine", "items": "items", "actor": "claimed_actor"})
            if _str(b.get("engine_decision")):
                doc["_engine_decision"] = b["engine_decision"]
            yield from self._twice(exp, "review", (sid, version), doc, rec)
        notice = b.get("notice")
        if not (isinstance(notice, dict) and _str(notice.get("number"))):
            return
        if isinstance(b.get("superseded"), list):
            for old in b["superseded"]:
                if isinstance(old, dict) and _str(old.get("number")):
                    plates = [(p["number"], p.get("valid_until")) for p in old.get("plates") or [] if isinstance(p, dict) and _str(p.get("number"))]
                    self._supersede(exp, old["number"], old.get("status"), old.get("valid_until"), plates, rec)
        else:
            self._derive(exp, rec, b, notice)
        doc = _pick(notice, {f: f for f in FIELDS["notice"]})
        if isinstance(doc.get("vins"), list):
            doc["vins"] = sorted(map(str, doc["vins"]))
        entity, kind = _str(notice.get("credit_code")), _str(notice.get("kind"))
        yield from self._twice(exp, "notice", (notice["number"],), doc, rec, entity=entity, kind=kind)
        for p in notice.get("plates") or []:
            if isinstance(p, dict) and _str(p.get("number")):
                pdoc = _pick(p, {"vin": "vin", "valid_from": "valid_from", "valid_until": "valid_until", "renews": "renews"})
                pdoc["notice"] = notice["number"]
                yield from self._twice(exp, "plate", (p["number"],), pdoc, rec, notice=notice["number"])

    def _supersede(self, exp: _Expected, number: str, status, until, plates: list[tuple[str, object]] | None, rec: Record) -> None:
        """Notice ``number`` superseded: its status and end; its plates' ends (``plates`` as the
        record states them, or — ``None`` — each cut to the notice's new end)."""
        cur = exp.get("notice", (number,))
        if cur is None:
            return  # a notice the log never issued: its row, if any, is a difference of its own
        doc = cur[0]
        doc["status"], doc["valid_until"] = status, until
        exp.update("notice", (number,), doc, rec.seq)
        if plates is None:
            rows = exp.db.execute("SELECT number, doc FROM plate WHERE notice = ?", (number,)).fetchall()
            plates = []
            for pnum, pdoc in rows:
                ends = json.loads(pdoc).get("valid_until")
                if isinstance(ends, str) and isinstance(until, str) and ends > until:
                    plates.append((pnum, until))
        for pnum, ends in plates:
            pcur = exp.get("plate", (pnum,))
            if pcur is not None:
                pcur[0]["valid_until"] = ends
                exp.update("plate", (pnum,), pcur[0], rec.seq)

    def _derive(self, exp: _Expected, rec: Record, b: dict, notice: dict) -> None:
        """What an older review's notice superseded, derived as the office applies it."""
        ref = _str(b.get("engine_decision"))
        row = exp.db.execute("SELECT doc FROM engine_run WHERE decision_id = ?", (ref,)).fetchone() if ref else None
        run = json.loads(row[0]) if row else {}
        if not run.get("_renewal"):
            return  # not a re-application (or the application is not in the log: nothing can be derived)
        today = _str(run.get("as_of")) or self._local_day(rec)  # the decision day: the engine ran as of it
        start = _day(notice.get("valid_from"))
        vins = set(notice.get("vins") or [])
        entity, kind = _str(notice.get("credit_code")), _str(notice.get("kind"))
        if start is None or entity is None or kind is None:
            return
        candidates = exp.db.execute("SELECT number, doc FROM notice WHERE entity = ? AND kind = ? ORDER BY seq", (entity, kind)).fetchall()
        for number, text in candidates:
            old = json.loads(text)
            ends = _day(old.get("valid_until"))
            if (number == notice["number"] or old.get("status") != "active" or ends is None or ends.isoformat() < today
                    or not vins & set(old.get("vins") or []) or number == run.get("_original")):
                continue
            self._supersede(exp, number, "superseded", superseded_until(ends, start).isoformat(), None, rec)

    @staticmethod
    def _local_day(rec: Record) -> str:
        """The day (Asia/Shanghai) a record was written: the decision day, where the engine decision
        does not say it (the database's clock may differ from the office's by moments, not days)."""
        return dt.datetime.fromisoformat(rec.recorded_at.replace("Z", "+00:00")).astimezone(ZONE).date().isoformat()

    def _renewed(self, exp: _Expected, rec: Record, b: dict) -> Iterator[Difference]:
        number = _str(b.get("notice"))
        for p in b.get("renewed") or []:
            if isinstance(p, dict) and _str(p.get("number")):
                doc = _pick(p, {"vin": "vin", "valid_from": "valid_from", "valid_until": "valid_until", "renews": "renews"})
                doc["notice"] = number
                yield from self._twice(exp, "plate", (p["number"],), doc, rec, notice=number)

    # ------------------------------------------------------------ the tables

    def _expected_values(self, exp: _Expected, table: str, doc: dict) -> dict:
        """The fields the log gives the row (only those it holds), in the order they are compared."""
        out = {k: v for k, v in doc.items() if not k.startswith("_")}
        if table == "submission" and doc.get("_created"):
            out["revision"] = doc.get("_changes")
        if table == "review" and doc.get("_engine_decision"):
            row = exp.db.execute("SELECT id FROM engine_run WHERE decision_id = ?", (doc["_engine_decision"],)).fetchone()
            if row is not None:
                out["engine_run_id"] = row[0]
        return {name: out[name] for name in FIELDS[table] if name in out}

    def _rows(self, s, table: str) -> Iterator[list[tuple[tuple, dict]]]:
        """The table's rows in batches of (key, fields), in id order."""
        V = T.SubmissionVersion
        if table == "submission":
            q = select(T.Submission.id, T.Submission.state, T.Submission.current_version, T.Submission.revision)
        elif table == "submission_version":
            q = select(V.id, V.submission_id, V.number, V.file_name, V.file_sha256, V.actor, V.application_digest)
        elif table == "engine_run":
            R = T.EngineRun
            q = (select(R.id, V.submission_id, V.number, R.purpose, R.verdict, R.pack_id, R.pack_revision, R.as_of)
                 .select_from(R).outerjoin(V, V.id == R.version_id))
        elif table == "review":
            R = T.Review
            q = (select(R.id, R.submission_id, V.number, R.action, R.from_state, R.to_state, R.reason, R.against_engine, R.items, R.actor,
                        R.engine_run_id).select_from(R).outerjoin(V, V.id == R.version_id))
        elif table == "notice":
            N = T.Notice
            q = (select(N.id, N.number, N.kind, T.Entity.credit_code, N.submission_id, N.issued, N.valid_from, N.valid_until, N.status,
                        N.sections, N.configurations).select_from(N).outerjoin(T.Entity, T.Entity.id == N.entity_id))
        else:
            P, Renewed = T.Plate, aliased(T.Plate)
            q = (select(P.id, P.number, T.Notice.number, T.Vehicle.vin, P.valid_from, P.valid_until, Renewed.number).select_from(P)
                 .outerjoin(T.Notice, T.Notice.id == P.notice_id).outerjoin(T.Vehicle, T.Vehicle.id == P.vehicle_id)
                 .outerjoin(Renewed, Renewed.id == P.renews_id))
        first = q.selected_columns[0]
        last = None
        while True:
            page = q if last is None else q.where(first > last)
            rows = s.execute(page.order_by(first).limit(self.batch)).all()
            if not rows:
                return
            last = rows[-1][0]
            yield self._shape(s, table, rows)

    def _shape(self, s, table: str, rows) -> list[tuple[tuple, dict]]:
        out = []
        if table == "submission":
            for id_, state, version, revision in rows:
                out.append(((id_,), {"state": state, "current_version": version, "revision": revision}))
        elif table == "submission_version":
            for _id, sid, number, name, sha, actor, digest in rows:
                out.append(((sid, number), {"file_name": name, "file_sha256": sha, "actor": actor, "application_digest": digest}))
        elif table == "engine_run":
            for id_, sid, number, purpose, verdict, pack_id, pack_rev, as_of in rows:
                out.append(((id_,), {"submission_id": sid, "version": number, "purpose": purpose, "verdict": verdict, "pack_id": pack_id,
                                     "pack_revision": pack_rev, "as_of": _value(as_of)}))
        elif table == "review":
            for _id, sid, number, action, from_state, to_state, reason, against, items, actor, run_id in rows:
                out.append(((sid, number), {"action": action, "from_state": from_state, "to_state": to_state, "reason": reason,
                                            "against_engine": against, "items": _json_list(items), "actor": actor, "engine_run_id": run_id}))
        elif table == "notice":
            vins: dict[int, list[str]] = {}
            for nid, vin in s.execute(select(T.NoticeVehicle.notice_id, T.Vehicle.vin).join(T.Vehicle, T.Vehicle.id == T.NoticeVehicle.vehicle_id)
                                      .where(T.NoticeVehicle.notice_id.in_([r[0] for r in rows]))).all():
                vins.setdefault(nid, []).append(vin)
            for id_, number, kind, code, sid, issued, start, until, status, sections, configurations in rows:
                out.append(((number,), {"kind": kind, "credit_code": code, "submission_id": sid, "issued": _value(issued), "valid_from": _value(start),
                                        "valid_until": _value(until), "status": status, "sections": _json_list(sections),
                                        "configurations": _json_list(configurations), "vins": sorted(vins.get(id_, []))}))
        else:
            for _id, number, notice, vin, start, until, renews in rows:
                out.append(((number,), {"notice": notice, "vin": vin, "valid_from": _value(start), "valid_until": _value(until), "renews": renews}))
        return out

    def _compare(self, exp: _Expected, s, table: str) -> Iterator[Difference]:
        for batch in self._rows(s, table):
            for key, values in batch:
                self.summary.rows[table] += 1
                found = exp.get(table, key) if None not in key else None
                if found is None or found[2]:
                    yield Difference(table, _key_text(table, key), "no_record", table_value=values)
                    continue
                doc, seq, _ = found
                exp.match(table, key)
                want = self._expected_values(exp, table, doc)
                for name in FIELDS[table]:
                    if name in want and want[name] != values[name]:
                        yield Difference(table, _key_text(table, key), "differs", name, values[name], want[name], seq)
        for key, doc, seq in exp.unmatched(table, self.batch):
            yield Difference(table, _key_text(table, key), "no_row", log_value=self._expected_values(exp, table, doc), seq=seq)

    # ------------------------------------------------------------ the whole

    def __iter__(self) -> Iterator[Difference]:
        with self.store.snapshot() as snap, tempfile.TemporaryDirectory(prefix="icv-reconcile-") as folder:
            exp = _Expected(Path(folder))
            try:
                for rec in audit.iter_records(snap, batch=self.batch):
                    self.summary.records += 1
                    for d in self._fold(exp, rec):
                        self.summary.differences += 1
                        yield d
                with snap.read() as s:
                    for table in TABLES:
                        for d in self._compare(exp, s, table):
                            self.summary.differences += 1
                            yield d
            finally:
                exp.close()


def reconcile(store: Store, *, batch: int = 1000) -> Reconciliation:
    """The office's tables against the decision log: iterate for the differences (none: they
    agree), then read ``.summary``."""
    return Reconciliation(store, batch=batch)
