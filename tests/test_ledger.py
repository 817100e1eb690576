"""The decision log: hash chain, append-only tables, tampering, replay, crashes.

Store tests run on SQLite and PostgreSQL through the ``store`` fixture (conftest.py). To simulate
an attacker the tests go around the append-only triggers exactly as the issue describes: on SQLite
by dropping the triggers with the ``sqlite3`` module on the file, on PostgreSQL by
``ALTER TABLE … DISABLE TRIGGER USER`` as the tables' owner (see :func:`bypass`). The CLI is run in
process (``typer.testing.CliRunner``) unless a real process is the point (the crash test).

The export/import and ``audit explain`` tests are in ``test_ledger_cli.py``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pendulum
import pytest
import rfc8785
import sqlalchemy as sa
import yaml
from builders import (
    DA,
    DO,
    RT,
    baseline,
    copy_rules,
    edit_pack_yaml,
    entry,
    make_credit_code,
    make_vin,
    with_,
    with_vehicles,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from icv_permits.core.canonical import canonical_json
from icv_permits.adapters.store import db
from icv_permits.adapters.store import tables as T
from icv_permits.cli import app as cli_app
from icv_permits.core.errors import InputError, LogBroken
from icv_permits.core.i18n import t
from icv_permits.services import audit as ledger
from icv_permits.services import office as W
from icv_permits.services.precheck import FixedClock

ROOT = Path(__file__).resolve().parents[1]
TZ = "Asia/Shanghai"
ACTOR = "审核员甲"
DAY = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, 0, tz=TZ))  # the builders' applications are judged on this day
_files = itertools.count(1)


# ---------------------------------------------------------------- helpers (also used by test_ledger_cli.py)


def clock_at(y: int, m: int, d: int, hh: int = 10, mi: int = 0, ss: int = 0, us: int = 0) -> FixedClock:
    return FixedClock(pendulum.datetime(y, m, d, hh, mi, ss, us, tz=TZ))


def write_app(directory: Path, app: dict[str, Any]) -> Path:
    path = directory / f"app-{next(_files):04d}.yaml"
    path.write_text(yaml.safe_dump(app, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def submit(store, directory: Path, app: dict[str, Any], clk=DAY, **kw) -> W.SubmitResult:
    return W.submit(store, write_app(directory, app), actor=ACTOR, clock=clk, **kw)


def decide(store, sub_id: int, action: str, clk=DAY, reason: str | None = None, **kw) -> W.DecideResult:
    return W.decide(store, sub_id, action, reason=reason, actor=ACTOR, clock=clk, **kw)


def rt_other_entity(liability: int = 1_000_000) -> dict[str, Any]:
    """A road test by another entity, with another vehicle; non-compliant (INS-02) by default."""
    app = with_(baseline(RT), "entity.credit_code", make_credit_code(2), "entity.name", "芜湖另一智能科技有限公司",
                "application_id", "OTHER-RT-0001", "vehicles[0].vin", make_vin(50))
    for p in app["insurance"]:
        p["vins"] = [make_vin(50)]
    app["insurance"][1]["amount_yuan"] = liability
    return app


def populate(store, directory: Path) -> dict[str, Any]:
    """Eight records: a DA submitted (1 engine, 2 submission) and approved (3 engine, 4 review);
    a non-compliant RT of another entity submitted (5, 6) and returned with a reason (7, 8)."""
    da = submit(store, directory, baseline(DA))
    approved = decide(store, da.submission.id, "approve")
    rt = submit(store, directory, rt_other_entity())
    decide(store, rt.submission.id, "return", reason="第三者责任险保额不足，请补正")
    assert ledger.head(store)[0] == 8
    return {"da": da.submission.id, "rt": rt.submission.id, "notice": approved.notice["number"]}


def fill(store, n: int = 8) -> list[ledger.Record]:
    """``n`` records written by :func:`ledger.append`, one transaction each (quicker than the
    workflow when only the chain matters)."""
    kinds = ["engine_decision", "submission", "engine_decision", "review"]
    t0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.timezone.utc)
    for i in range(n):
        kind = kinds[i % 4]
        body = {"type": kind, "submission_id": i // 4 + 1, "verdict": "compliant", "reason": "经审核同意", "claimed_actor": ACTOR,
                "note": "控制字符\u0007 und Ünïcödé 🚗"}
        with store.write() as s:
            ledger.append(s, kind, body, t0 + dt.timedelta(minutes=i, microseconds=123456 * i % 1_000_000))
    return records(store)


def records(store) -> list[ledger.Record]:
    return list(ledger.iter_records(store))


def forged_engine_body(store, rec: ledger.Record, edit) -> dict:
    """The body of engine record ``rec`` as an insider who knows the format would forge it: rebuilt
    whole (format 1) with its pack snapshot, ``edit(body)`` applied to it (the counts recounted), and
    compacted again as the office writes it (so that it holds the edited decision's digest)."""
    pack = ledger.pack_from_snapshot(store, rec.body["pack"]["revision"])
    body = ledger.expand_body(json.loads(rec.body_text), pack)
    edit(body)
    counts = body["decision"]["counts"]
    for k in counts:  # recounted, as the engine counts
        counts[k] = sum(1 for f in body["decision"]["findings"] if f["outcome"] == k)
    forged = ledger.compact_body(body, pack)
    assert forged["record_format"] == 2
    return forged


def cli(*args: object, env: dict[str, str] | None = None):
    """Run ``icv-permits *args`` in process. An exception the CLI does not turn into an exit code
    (the real entry point would print "Internal error (exit 70)") fails the test."""
    from typer.testing import CliRunner

    r = CliRunner().invoke(cli_app, [str(a) for a in args], env=env)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise AssertionError(f"uncaught {type(r.exception).__name__}: {r.exception!r} (the installed CLI exits 70)\n{r.output}")
    return r


def verify_json(*extra: object) -> tuple[int, dict]:
    r = cli("audit", "verify", "--format", "json", *extra)
    return r.exit_code, json.loads(r.stdout)


@contextmanager
def bypass(store):
    """A raw transaction on the store's database with the append-only triggers out of the way (the
    way a tampering owner would go); yields ``run(sql, **params)``. The triggers are back on after."""
    if store.backend == "sqlite":
        path = sa.engine.make_url(store.url).database
        con = sqlite3.connect(path, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name").fetchall()
            assert {n for n, _ in triggers} >= {"decision_log_no_update", "decision_log_no_delete"}
            for name, _ in triggers:
                con.execute(f"DROP TRIGGER {name}")
            try:
                yield lambda sql, **p: con.execute(sql, p)
                for _, sql in triggers:
                    con.execute(sql)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()
    else:
        engine = sa.create_engine(store.url)
        try:
            with engine.begin() as conn:
                for table in ("decision_log", "pack_snapshot", "log_head"):
                    conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                yield lambda sql, **p: conn.execute(sa.text(sql), p)
                for table in ("decision_log", "pack_snapshot", "log_head"):
                    conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        finally:
            engine.dispose()


def forged(rec: ledger.Record, **changes) -> dict:
    """The columns of ``rec`` with ``changes`` and a hash recomputed over them (a careful forger)."""
    d = {"seq": rec.seq, "decision_id": rec.decision_id, "kind": rec.kind, "recorded_at": rec.recorded_at, "actor": rec.actor,
         "body": rec.body_text, "prev_hash": rec.prev_hash}
    d.update(changes)
    d["hash"] = ledger.record_hash(d["seq"], d["decision_id"], d["kind"], d["recorded_at"], d["actor"], d["body"], d["prev_hash"])
    return d


INSERT = ("INSERT INTO decision_log (seq, decision_id, kind, recorded_at, actor, body, prev_hash, hash) "
          "SELECT :seq, :decision_id, :kind, recorded_at, :actor, :body, :prev_hash, :hash FROM decision_log WHERE seq = :time_of")


def shift_up(run, from_seq: int, last: int) -> None:
    """Renumber records ``from_seq..last`` one up (highest first: the primary key is checked per row)."""
    for seq in range(last, from_seq - 1, -1):
        run("UPDATE decision_log SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)


# ---------------------------------------------------------------- hashing


json_scalars = (st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                           max_leaves=15)
nasty_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=150, deadline=None)
@given(seq=st.integers(0, 2**53 - 1), actor=nasty_text, kind=nasty_text, decision_id=nasty_text, recorded_at=nasty_text,
       prev_hash=nasty_text, body=st.dictionaries(nasty_text, json_values, max_size=5) | json_values)
def test_record_preimage_is_rfc8785_of_the_whole_record(seq, actor, kind, decision_id, recorded_at, prev_hash, body):
    whole = {"seq": seq, "decision_id": decision_id, "kind": kind, "recorded_at": recorded_at, "actor": actor, "body": body,
             "prev_hash": prev_hash}
    body_text = canonical_json(body)
    pre = ledger.record_preimage(seq, decision_id, kind, recorded_at, actor, body_text, prev_hash)
    assert pre == rfc8785.dumps(whole)
    assert ledger.record_hash(seq, decision_id, kind, recorded_at, actor, body_text, prev_hash) == "sha256:" + hashlib.sha256(pre).hexdigest()
    # the body as the database's UTF-8 bytes hashes the same
    raw = body_text.encode("utf-8")
    assert ledger.record_preimage(seq, decision_id, kind, recorded_at, actor, raw, prev_hash) == pre
    for text_or_bytes in (body_text, raw):
        rec = ledger.Record(seq, decision_id, kind, recorded_at, actor, text_or_bytes, prev_hash, "")
        assert rec.computed_hash() == "sha256:" + hashlib.sha256(pre).hexdigest()
        if isinstance(body, dict):
            assert rec.body == json.loads(body_text)
        else:  # no writer writes a body that is not a mapping: reading one says the log was changed
            with pytest.raises(LogBroken):
                rec.body


def test_control_characters_and_unicode_in_actor_and_kind_change_the_hash():
    args = dict(seq=1, decision_id="d", kind="review", recorded_at="2026-11-27T02:00:00.000000Z", actor="审核员\u0000甲",
                body_text=canonical_json({"x": "\u2028"}), prev_hash=ledger.GENESIS)
    base = ledger.record_hash(**args)
    for field, value in (("actor", "审核员甲"), ("kind", "review\n"), ("body_text", canonical_json({"x": "\u2029"}))):
        assert ledger.record_hash(**{**args, field: value}) != base, field
    assert ledger.record_preimage(**args) == rfc8785.dumps({**{k: v for k, v in args.items() if k != "body_text"},
                                                            "body": {"x": "\u2028"}})


# ---------------------------------------------------------------- what the workflow writes


def test_an_empty_log_verifies(store):
    rep = ledger.verify(store)
    assert rep.intact and rep.checked == 0 and (rep.head_seq, rep.head_hash) == (0, ledger.GENESIS)
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 0, r.output


def test_every_action_is_logged_with_a_canonical_body_in_its_transaction(store, tmp_path):
    ids = populate(store, tmp_path)
    renewed = W.renew_plates(store, ids["notice"], actor=ACTOR, clock=clock_at(2027, 5, 20))
    recs = records(store)
    assert [r.kind for r in recs] == ["engine_decision", "submission", "engine_decision", "review",
                                      "engine_decision", "submission", "engine_decision", "review", "plates_renewed"]
    assert [r.seq for r in recs] == list(range(1, 10))
    expected_actor = sa.engine.make_url(store.url).username if store.backend == "postgresql" else getpass.getuser()
    prev = ledger.GENESIS
    for r in recs:
        assert r.prev_hash == prev and r.computed_hash() == r.hash, r.seq
        prev = r.hash
        body = r.body
        assert r.body_text == canonical_json(body)  # stored canonical
        assert ledger.record_preimage(r.seq, r.decision_id, r.kind, r.recorded_at, r.actor, r.body_text, r.prev_hash) == rfc8785.dumps(
            {"seq": r.seq, "decision_id": r.decision_id, "kind": r.kind, "recorded_at": r.recorded_at, "actor": r.actor,
             "body": body, "prev_hash": r.prev_hash})
        assert body["claimed_actor"] == ACTOR
        assert uuid.UUID(r.decision_id).version == 4
        assert r.actor == expected_actor  # who the database says acted, not the claimed name
    assert ledger.head(store) == (9, recs[-1].hash)
    if store.backend == "sqlite":
        assert recs[0].recorded_at == "2026-11-27T02:00:00.000000Z"  # the fixed clock, in UTC
    else:  # the server's clock, whatever the client's: times follow the sequence
        hour_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        assert recs[0].recorded_at > hour_ago and [r.recorded_at for r in recs] == sorted(r.recorded_at for r in recs)
    assert recs[0].body["clock"] == "2026-11-27T02:00:00.000000Z"  # the clock the engine judged with
    # the links between records
    assert recs[1].body["engine_decision"] == recs[0].decision_id
    assert recs[3].body["engine_decision"] == recs[2].decision_id and recs[3].body["action"] == "approve"
    assert recs[3].body["notice"]["number"] == ids["notice"]
    assert recs[7].body["reason"] == "第三者责任险保额不足，请补正" and recs[7].body["items"]
    assert recs[8].body["renewed"] == renewed["renewed"] and recs[8].body["notice"] == ids["notice"]
    with store.read() as s:
        runs = s.exec(sa.select(T.EngineRun).order_by(T.EngineRun.id)).scalars().all()
        snaps = s.exec(sa.select(T.PackSnapshot)).scalars().all()
    assert [r.body["engine_run_id"] for r in recs if r.kind == "engine_decision"] == [r.id for r in runs]
    snapshot = ledger.pack_from_snapshot(store, runs[0].pack_revision)
    for r, run in zip([r for r in recs if r.kind == "engine_decision"], runs):
        assert r.body["record_format"] == 2 and "decision" not in r.body  # compact: the engine run keeps the whole decision
        assert ledger.recorded_decision(r, snapshot) == json.loads(run.decision)
        assert r.body["verdict"] == run.verdict and r.body["pack"] == {"id": run.pack_id, "revision": run.pack_revision}
    assert [s.revision for s in snaps] == [runs[0].pack_revision]  # one snapshot per pack revision


def test_a_refused_action_writes_no_record(store, tmp_path):
    ids = populate(store, tmp_path)
    head = ledger.head(store)
    with pytest.raises(InputError):
        decide(store, ids["da"], "approve")  # already decided
    with pytest.raises(InputError):
        submit(store, tmp_path, rt_other_entity(), resubmits=ids["da"])  # another entity's, and not returned
    sub = submit(store, tmp_path, with_(baseline(DA), "application_id", "NEW-1")).submission.id
    head = ledger.head(store)
    with pytest.raises(InputError):
        decide(store, sub, "reject")  # no reason
    assert ledger.head(store) == head and ledger.verify(store).intact


def test_records_roll_back_with_the_action(store, tmp_path, monkeypatch):
    fill(store)
    head = ledger.head(store)
    real = ledger.append
    calls = []

    def append_then_fail(s, kind, body, now):
        rec = real(s, kind, body, now)
        calls.append(kind)
        if kind == "submission":
            raise RuntimeError("crash after the log records were written")
        return rec

    monkeypatch.setattr(ledger, "append", append_then_fail)
    with store.read() as s:
        before = s.exec(sa.select(sa.func.count()).select_from(T.SubmissionVersion)).scalar_one()
    with pytest.raises(RuntimeError):
        submit(store, tmp_path, with_(baseline(DA), "application_id", "ROLLED-BACK"))
    assert calls == ["engine_decision", "submission"]
    with store.read() as s:
        after = s.exec(sa.select(sa.func.count()).select_from(T.SubmissionVersion)).scalar_one()
    assert after == before and ledger.head(store) == head and len(records(store)) == head[0]
    assert ledger.verify(store).intact


# ---------------------------------------------------------------- append-only


def _refused(store, sql: str) -> str:
    with pytest.raises(sa.exc.DBAPIError) as e:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(sql)
    return str(e.value.orig)


def test_update_delete_and_truncate_of_the_log_are_refused(store, tmp_path):
    populate(store, tmp_path)
    before = [r.__dict__ for r in records(store)]
    statements = [
        "UPDATE decision_log SET actor = 'mallory' WHERE seq = 3",
        "UPDATE decision_log SET body = '{}'",
        "DELETE FROM decision_log WHERE seq = 8",
        "DELETE FROM decision_log",
        "UPDATE pack_snapshot SET content = '{}'",
        "DELETE FROM pack_snapshot",
    ]
    if store.backend == "postgresql":
        statements += ["TRUNCATE decision_log", "TRUNCATE pack_snapshot"]
    for sql in statements:
        message = _refused(store, sql)
        assert "append-only" in message, (sql, message)
        table = "pack_snapshot" if "pack_snapshot" in sql else "decision_log"
        assert table in message and sql.split()[0] in message, (sql, message)
    if store.backend == "postgresql":  # refused as a privilege error
        with pytest.raises(sa.exc.DBAPIError) as e, store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM decision_log")
        assert e.value.orig.sqlstate == "42501"
    assert [r.__dict__ for r in records(store)] == before
    with store.read() as s:
        assert len(s.exec(sa.select(T.PackSnapshot)).scalars().all()) == 1
    assert ledger.verify(store).intact
    # appending is still possible
    submit(store, tmp_path, with_(baseline(DA), "application_id", "AFTER"))
    assert ledger.verify(store).checked == 10


# ---------------------------------------------------------------- tampering is detected


def _edit_body(backend, recs, run):
    body = recs[3].body
    body["verdict"] = "non_compliant"
    run("UPDATE decision_log SET body = :b WHERE seq = 3", b=canonical_json(body))


def _edit_body_and_rehash(backend, recs, run):
    body = recs[4].body
    body["reason"] = "无"
    f = forged(recs[4], body=canonical_json(body))
    run("UPDATE decision_log SET body = :body, hash = :hash WHERE seq = 4", body=f["body"], hash=f["hash"])


def _edit_actor(backend, recs, run):
    run("UPDATE decision_log SET actor = 'mallory' WHERE seq = 5")


def _edit_time(backend, recs, run):
    if backend == "sqlite":
        (value,) = run("SELECT recorded_at FROM decision_log WHERE seq = 2").fetchone()
        later = dt.datetime.fromisoformat(value) + dt.timedelta(seconds=1)
        run("UPDATE decision_log SET recorded_at = :v WHERE seq = 2", v=later.strftime("%Y-%m-%d %H:%M:%S.%f"))
    else:
        run("UPDATE decision_log SET recorded_at = recorded_at + interval '1 second' WHERE seq = 2")


def _edit_kind(backend, recs, run):
    run("UPDATE decision_log SET kind = 'submission' WHERE seq = 7")


def _delete_middle(backend, recs, run):
    run("DELETE FROM decision_log WHERE seq = 4")


def _delete_middle_and_renumber(backend, recs, run):
    run("DELETE FROM decision_log WHERE seq = 4")
    for seq in range(5, 9):
        run("UPDATE decision_log SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    run("UPDATE log_head SET seq = 7")  # the head follows (its hash is still the last record's)


def _delete_tail(backend, recs, run):
    run("DELETE FROM decision_log WHERE seq = 8")


def _delete_two_at_the_tail(backend, recs, run):
    run("DELETE FROM decision_log WHERE seq >= 7")


MALLORY = canonical_json({"type": "review", "action": "approve", "claimed_actor": "mallory"})


def _insert_naive(backend, recs, run):
    shift_up(run, 4, 8)
    run(INSERT, seq=4, decision_id=str(uuid.uuid4()), kind="review", actor=recs[3].actor, body=MALLORY, prev_hash=recs[3].hash,
        hash="sha256:" + "f" * 64, time_of=3)


def _insert_forged(backend, recs, run):
    shift_up(run, 4, 8)
    f = forged(recs[3], seq=4, decision_id=str(uuid.uuid4()), kind="review", prev_hash=recs[3].hash, body=MALLORY)
    run(INSERT, **{k: f[k] for k in ("seq", "decision_id", "kind", "actor", "body", "prev_hash", "hash")}, time_of=3)


def _swap(backend, recs, run):
    run("UPDATE decision_log SET seq = -1 WHERE seq = 3")
    run("UPDATE decision_log SET seq = 3 WHERE seq = 4")
    run("UPDATE decision_log SET seq = 4 WHERE seq = -1")


def _head_altered(backend, recs, run):
    run("UPDATE log_head SET hash = :h", h="sha256:" + "1" * 64)


TAMPERING = {
    # case: (tamper, first broken seq, problem, records verified before the break)
    "edited body": (_edit_body, 3, "edited", 2),
    "edited actor": (_edit_actor, 5, "edited", 4),
    "edited timestamp": (_edit_time, 2, "edited", 1),
    "edited kind": (_edit_kind, 7, "edited", 6),
    "edited body, hash recomputed": (_edit_body_and_rehash, 5, "link", 4),
    "deleted in the middle": (_delete_middle, 5, "gap", 3),
    "deleted in the middle, the rest renumbered": (_delete_middle_and_renumber, 4, "link", 3),
    "tail cut": (_delete_tail, 8, "head", 7),
    "two cut from the tail": (_delete_two_at_the_tail, 7, "head", 6),
    "inserted, hash not recomputed": (_insert_naive, 4, "edited", 3),
    "inserted, hash recomputed": (_insert_forged, 5, "link", 4),
    "two records swapped": (_swap, 3, "link", 2),
    "head altered": (_head_altered, 8, "head", 8),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_detected_at_the_first_broken_record(store, tmp_path, case):
    tamper, seq, problem, checked = TAMPERING[case]
    fill(store)
    assert ledger.verify(store).intact
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 0 and "Chain intact: 8 records checked" in r.stdout, r.output
    before = {x.seq: x for x in records(store)}

    with bypass(store) as run:
        tamper(store.backend, before, run)

    rep = ledger.verify(store)
    assert not rep.intact
    b = rep.breaks[0]
    assert (b.seq, b.problem) == (seq, problem), rep.to_json()
    assert rep.checked == checked  # everything before the break verified
    if problem == "gap":
        assert b.detail == {"expected_seq": seq - 1, "found_seq": seq}
    if problem in ("edited", "link", "gap"):
        assert b.decision_id == ledger.find(store, str(seq)).decision_id
    code, out = verify_json()
    assert code == ledger.EXIT_BROKEN == 4
    assert out["intact"] is False and out["first_break"]["seq"] == seq and out["first_break"]["problem"] == problem
    for lang in ("en", "zh") if case == "edited body" else ("en",):
        r = cli("audit", "verify", "--lang", lang)
        assert r.exit_code == 4, r.output
        assert r.stdout.startswith(t(lang, "Chain BROKEN at record {seq} (decision {id}): {reason}", seq=seq, id=b.decision_id or "—",
                                     reason="")), r.stdout
    # what was not touched still verifies on its own
    if seq > 2:
        assert ledger.verify_records([before[i] for i in range(1, seq)]).intact


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # one real process is enough
def test_a_tampered_log_is_reported_by_the_real_command_with_exit_4(store, tmp_path):
    fill(store)
    with bypass(store) as run:
        _edit_actor(store.backend, {}, run)
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    r = subprocess.run([sys.executable, "-m", "icv_permits.cli", "audit", "verify", "--lang", "en"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 4, r.stdout + r.stderr
    assert "Chain BROKEN at record 5" in r.stdout and "Traceback" not in r.stderr


def test_a_tail_cut_with_the_head_rewritten_is_caught_only_by_expect_head(store, tmp_path):
    fill(store)
    noted = ledger.head(store)[1]
    r = cli("audit", "verify", "--expect-head", noted, "--lang", "en")
    assert r.exit_code == 0, r.output
    seven = ledger.find(store, "7")
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq = 8")
        run("UPDATE log_head SET seq = 7, hash = :h", h=seven.hash)
    assert ledger.verify(store).intact  # nothing inside the database shows it
    rep = ledger.verify(store, expect_head=noted)
    assert not rep.intact and rep.breaks[0].problem == "anchor" and rep.breaks[0].detail["expected_head"] == noted
    code, out = verify_json("--expect-head", noted)
    assert code == 4 and out["first_break"]["problem"] == "anchor"
    r = cli("audit", "verify", "--expect-head", noted, "--lang", "en")
    assert r.exit_code == 4 and noted in r.stdout, r.output
    # the head as it is now is accepted
    assert cli("audit", "verify", "--expect-head", seven.hash).exit_code == 0


def wipe(store) -> None:
    """Empty the log (as a tampering owner could), to start a case afresh."""
    with bypass(store) as run:
        run("DELETE FROM decision_log")
        run("UPDATE log_head SET seq = 0, hash = :g", g=ledger.GENESIS)


PARALLEL_SAME = [c for c in TAMPERING if c != "deleted in the middle"]


def test_parallel_verify_gives_the_same_report_as_a_single_walk(store):
    """``verify(jobs > 1)`` verifies ranges in worker processes and stitches them: for an intact
    log and for every kind of tampering the report is the one a single walk gives, whatever the
    range size (record 4 then falls at a range's start, middle or end)."""
    fill(store)
    for chunk in (2, 3, 4):
        for start in (1, 3):
            assert ledger.verify(store, jobs=2, chunk=chunk, from_seq=start).to_json() == ledger.verify(store, from_seq=start).to_json()
    for case in PARALLEL_SAME:
        tamper = TAMPERING[case][0]
        wipe(store)
        before = {r.seq: r for r in fill(store)}
        with bypass(store) as run:
            tamper(store.backend, before, run)
        single = ledger.verify(store).to_json()
        assert single["first_break"]["seq"] == TAMPERING[case][1]
        for chunk in (2, 3, 4):
            assert ledger.verify(store, jobs=2, chunk=chunk).to_json() == single, (case, chunk)


def test_parallel_verify_names_a_deleted_record_like_a_single_walk(store):
    fill(store)
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq = 4")
    single = ledger.verify(store).to_json()
    for chunk in (2, 3, 4):
        assert ledger.verify(store, jobs=2, chunk=chunk).to_json() == single, chunk


def test_parallel_verify_reports_a_whole_missing_range(store):
    fill(store)
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq IN (3, 4)")
    single = ledger.verify(store)
    assert (single.breaks[0].seq, single.breaks[0].problem, single.breaks[0].detail) == (5, "gap", {"expected_seq": 3, "found_seq": 5})
    assert ledger.verify(store, jobs=2, chunk=2).to_json() == single.to_json()


def test_the_gap_message_names_the_records_around_the_gap(store):
    fill(store)
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq = 4")
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 4 and "Chain BROKEN at record 5" in r.stdout
    assert "from 4 to 5" not in r.stdout, r.stdout


def test_a_record_appended_behind_the_head_s_back_is_named(store, tmp_path):
    fill(store)
    eight = ledger.find(store, "8")
    f = forged(eight, seq=9, decision_id=str(uuid.uuid4()), prev_hash=eight.hash)
    with bypass(store) as run:
        run(INSERT, **{k: f[k] for k in ("seq", "decision_id", "kind", "actor", "body", "prev_hash", "hash")}, time_of=8)
    rep = ledger.verify(store)
    assert not rep.intact and rep.breaks[0].problem == "head"
    assert rep.breaks[0].seq == 9, rep.to_json()  # record 8 is genuine; 9 is the one not covered by the head


def test_verify_from_a_sequence_number(store, tmp_path):
    fill(store)
    recs = {r.seq: r for r in records(store)}
    with bypass(store) as run:
        _edit_body(store.backend, recs, run)  # record 3
    for start, intact, checked in ((1, False, 2), (2, False, 1), (3, False, 0), (4, True, 5), (8, True, 1), (9, True, 0)):
        rep = ledger.verify(store, from_seq=start)
        assert (rep.intact, rep.checked) == (intact, checked), (start, rep.to_json())
        if not intact:
            assert rep.breaks[0].seq == 3
        code, out = verify_json("--from", start)
        assert code == (0 if intact else 4) and out["first_break"] == (None if intact else rep.breaks[0].__dict__), (start, out)
    r = cli("audit", "verify", "--from", "4", "--lang", "en")
    assert r.exit_code == 0 and "seq 4–8" in r.stdout, r.output
    assert cli("audit", "verify", "--from", "0").exit_code == 2  # min 1


def test_verify_from_after_a_deleted_record_reports_json(store, tmp_path):
    fill(store)
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq = 3")
    code, out = verify_json("--from", 4)
    assert code == 4 and out["first_break"]["seq"] == 3 and out["first_break"]["problem"] == "gap"


def test_verify_from_after_a_deleted_record_reports_text(store, tmp_path):
    fill(store)
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq = 3")
    r = cli("audit", "verify", "--from", "4", "--lang", "en")
    assert r.exit_code == 4 and "record 3" in r.stdout, r.output


# ---------------------------------------------------------------- replay


def do_first(n: int, ref: str) -> dict[str, Any]:
    """A first demonstration operation with ``n`` vehicles that names no notices (the records decide)."""
    return with_(with_vehicles(with_(baseline(DO), "notices", []), n), "application_id", ref)


def test_replay_with_the_current_pack_reports_exactly_the_affected_decisions(store, tmp_path, monkeypatch):
    """operation.first_max_vehicles 5 → 6: the DO with 6 vehicles becomes compliant; the other
    first operations (4/5/7 vehicles) now cite another threshold; DA, RT and a second operation
    (DOP-02 not applicable) are unchanged."""
    da = submit(store, tmp_path, baseline(DA))
    decide(store, da.submission.id, "approve")  # the DA notice on record that DOP-01 needs, in force from 2026-12-01
    later = clock_at(2026, 12, 2)
    subs = {n: submit(store, tmp_path, do_first(n, f"DO-{n}"), later) for n in (4, 5, 6, 7)}
    assert {n: s.decision.verdict.value for n, s in subs.items()} == {4: "compliant", 5: "compliant", 6: "non_compliant", 7: "non_compliant"}
    rt = submit(store, tmp_path, rt_other_entity(liability=5_000_000))
    decide(store, subs[4].submission.id, "approve", later)  # the entity's first DO notice …
    second = submit(store, tmp_path, do_first(6, "DO-SECOND"), later)  # … so this one is not the first
    dop02 = [f for f in second.decision.findings if f.rule_id == "DOP-02"]
    assert [(f.outcome.value, f.reason) for f in dop02] == [("not_applicable", "not_first")]

    engine = {r.seq: r for r in records(store) if r.kind == "engine_decision"}
    by_sub: dict[tuple[int, str], int] = {(r.body["submission_id"], r.body["purpose"]): seq for seq, r in engine.items()}
    sid = {n: s.submission.id for n, s in subs.items()}
    flips = {by_sub[(sid[6], "submit")]}
    values_only = {by_sub[(sid[n], "submit")] for n in (4, 5, 7)} | {by_sub[(sid[4], "decide")]}
    unchanged = set(engine) - flips - values_only
    assert {by_sub[(da.submission.id, "submit")], by_sub[(da.submission.id, "decide")], by_sub[(rt.submission.id, "submit")],
            by_sub[(second.submission.id, "submit")]} == unchanged

    rules = copy_rules(tmp_path)
    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml",
                   lambda d: entry(d["parameters"], "id", "operation.first_max_vehicles")["values"][0].update(value=6))
    monkeypatch.setenv("ICV_PERMITS_RULES_DIR", str(rules))
    monkeypatch.setenv("ICV_PERMITS_CACHE_DIR", str(tmp_path / "cache"))

    results = {r.seq: r for r in ledger.replay(store, pack_mode="current")}
    assert set(results) == set(engine)
    assert {s for s, r in results.items() if not r.match} == flips | values_only
    change = [{"param": "operation.first_max_vehicles",
               "recorded": {"value": 5, "effective_from": "2025-04-08", "comparison": "le"},
               "current": {"value": 6, "effective_from": "2025-04-08", "comparison": "le"}}]
    (flip,) = [results[s] for s in flips]
    assert (flip.recorded_verdict, flip.replayed_verdict) == ("non_compliant", "compliant")
    assert [(d.rule_id, d.recorded, d.replayed, d.values_changed) for d in flip.rule_diffs] == [
        ("DOP-02", ["fail:first_too_many"], ["pass:ok"], False)]
    assert flip.parameter_changes == change and flip.error is None
    for s in values_only:
        r = results[s]
        assert r.recorded_verdict == r.replayed_verdict
        assert [(d.rule_id, d.values_changed) for d in r.rule_diffs] == [("DOP-02", True)], r.to_json()
        assert r.parameter_changes == change
    for s in unchanged:
        assert results[s].match and results[s].rule_diffs == [] and results[s].parameter_changes == []

    # the same through the command line, and over several processes
    r = cli("audit", "replay", "--all", "--pack", "current", "--format", "json", "--jobs", "1")
    assert r.exit_code == 1, r.output
    assert {x["seq"]: x["match"] for x in json.loads(r.stdout)} == {s: results[s].match for s in results}
    r = cli("audit", "replay", "--all", "--pack", "current", "--lang", "en")
    assert r.exit_code == 1
    assert f"✗ seq {flip.seq} · submission {sid[6]}" in r.stdout and "recorded NON-COMPLIANT, now COMPLIANT" in r.stdout, r.stdout
    assert "DOP-02 DO-6: fail:first_too_many → pass:ok" in r.stdout
    assert "because operation.first_max_vehicles changed: value=5, effective_from=2025-04-08, comparison=le → value=6" in r.stdout
    assert f"{len(engine)} decisions replayed: {len(unchanged)} identical, {len(flips | values_only)} different." in r.stdout
    assert cli("audit", "replay", str(flip.seq), "--pack", "current").exit_code == 1
    assert cli("audit", "replay", str(min(unchanged)), "--pack", "current").exit_code == 0
    parallel = list(ledger.replay_parallel(store, pack_mode="current", jobs=2, chunk=1))
    assert [x.to_json() for x in parallel] == [results[s].to_json() for s in sorted(results)]

    # with the recorded packs nothing differs, whatever rules/ holds now
    recorded = list(ledger.replay(store))
    assert len(recorded) == len(engine) and all(x.match for x in recorded)
    assert all(x.match for x in ledger.replay_parallel(store, jobs=2, chunk=1))
    r = cli("audit", "replay", "--all", "--lang", "en")
    assert r.exit_code == 0 and f"{len(engine)} decisions replayed: {len(engine)} identical, 0 different." in r.stdout, r.output


def test_replay_names_records_and_skips_other_kinds(store, tmp_path):
    populate(store, tmp_path)
    one = ledger.find(store, "1")
    res = list(ledger.replay(store, [one.decision_id, "2", "3"]))
    assert [r.seq for r in res] == [1, 3] and all(r.match for r in res)
    assert cli("audit", "replay", "--lang", "en").exit_code == 2  # neither refs nor --all
    r = cli("audit", "replay", "no-such-decision", "--lang", "en")
    assert r.exit_code == 4, r.output


def test_replay_reports_a_decision_the_recorded_pack_no_longer_explains(store, tmp_path):
    """If the stored pack snapshot were altered, replaying with it shows the difference."""
    populate(store, tmp_path)
    (snap_rev,) = {r.body["pack"]["revision"] for r in records(store) if r.kind == "engine_decision"}
    with store.read() as s:
        content = json.loads(s.get(T.PackSnapshot, snap_rev).content)
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    assert '"value":5000000' in text
    with bypass(store) as run:
        run("UPDATE pack_snapshot SET content = :c", c=text.replace('"value":5000000', '"value":6000000'))
    res = list(ledger.replay(store))
    assert [r.seq for r in res if not r.match] == [1, 3, 5, 7]
    assert cli("audit", "replay", "--all").exit_code == 1


# ---------------------------------------------------------------- a process killed while writing


CHILD = textwrap.dedent("""
    import copy, sys, yaml
    from pathlib import Path
    import pendulum
    from icv_permits.services import office as W
    from icv_permits.services.precheck import FixedClock
    from icv_permits.adapters.store.db import open_store
    from icv_permits.core.errors import InputError

    work, start = Path(sys.argv[1]), int(sys.argv[2])
    base = yaml.safe_load((work / "base.yaml").read_text(encoding="utf-8"))
    store = open_store()
    clock = FixedClock(pendulum.datetime(2026, 11, 27, 10, tz="Asia/Shanghai"))
    for i in range(start, start + 100000):
        app = copy.deepcopy(base)
        app["application_id"] = f"KILL-{i}"
        path = work / f"k-{i}.yaml"
        path.write_text(yaml.safe_dump(app, allow_unicode=True), encoding="utf-8")
        res = W.submit(store, path, actor="loop", clock=clock)
        if i % 3 == 1:
            W.decide(store, res.submission.id, "return", reason="补正", actor="loop", clock=clock)
        print(i, flush=True)
""")


def _consistent(store) -> tuple[int, int]:
    """The log verifies, its head is its last record, and every engine run, version and review in
    the store has its record (and no record is without its row). Returns (records, engine runs)."""
    rep = ledger.verify(store)
    assert rep.intact, rep.to_json()
    recs = records(store)
    assert ledger.head(store) == ((recs[-1].seq, recs[-1].hash) if recs else (0, ledger.GENESIS))
    with store.read() as s:
        runs = s.exec(sa.select(T.EngineRun.id)).scalars().all()
        versions = s.exec(sa.select(T.SubmissionVersion.submission_id, T.SubmissionVersion.number)).all()
        reviews = s.exec(sa.select(T.Review.engine_run_id)).scalars().all()
    assert sorted(r.body["engine_run_id"] for r in recs if r.kind == "engine_decision") == sorted(runs)
    assert sorted((r.body["submission_id"], r.body["version"]) for r in recs if r.kind == "submission") == sorted(map(tuple, versions))
    by_id = {r.decision_id: r for r in recs}
    assert sorted(by_id[r.body["engine_decision"]].body["engine_run_id"] for r in recs if r.kind == "review") == sorted(reviews)
    return len(recs), len(runs)


def test_a_process_killed_while_writing_leaves_a_log_that_verifies(store, tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(baseline(DA), allow_unicode=True), encoding="utf-8")
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = dict(os.environ, ICV_PERMITS_DATABASE_URL=store.url)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    start = 0
    for _round in range(2):
        child = subprocess.Popen([sys.executable, str(script), str(tmp_path), str(start)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            first = ledger.head(store)[0]
            while ledger.head(store)[0] == first:  # wait for the child to commit something
                assert child.poll() is None, child.stderr.read()
                assert time.monotonic() < deadline, "the child wrote nothing"
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.4))
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        done = [int(x) for x in child.stdout.read().split()]
        child.stdout.close()
        child.stderr.close()
        n_records, n_runs = _consistent(store)
        assert n_records > 0, f"seed {seed}"
        start = (max(done) + 1 if done else start) + 1000  # fresh application references for the next round
    # after the crashes the log is still writable and still verifies
    submit(store, tmp_path, with_(baseline(DA), "application_id", "AFTER-CRASH"))
    _consistent(store)
    assert all(r.match for r in ledger.replay(store)), f"seed {seed}"


# ---------------------------------------------------------------- any sequence of actions (hypothesis, SQLite)


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.integers(0, 2), st.booleans()),  # entity, compliant?
        st.tuples(st.just("decide"), st.integers(0, 5), st.sampled_from(["approve", "return", "reject"]),
                  st.sampled_from([None, "理由：材料不全", "ok\n\u0000\u2028 🚗"])),
        st.tuples(st.just("resubmit"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("renew"), st.integers(0, 5), st.sampled_from([0, 160, 175])),  # days on; plates may be renewed from day 155
    ),
    min_size=1, max_size=7,
)


def _app_for(entity: int, compliant: bool, ref: str) -> dict[str, Any]:
    app = with_(baseline(DA), "entity.credit_code", make_credit_code(10 + entity), "application_id", ref, "vehicles[0].vin",
                make_vin(300 + entity))
    for p in app["insurance"]:
        p["vins"] = [make_vin(300 + entity)]
    if not compliant:
        app["insurance"][1]["amount_yuan"] = 4_999_999
    return app


EXPLICIT = [("submit", 0, False), ("decide", 0, "return", "保额不足"), ("resubmit", 0, True), ("decide", 0, "approve", None),
            ("submit", 1, False), ("decide", 1, "approve", "同意（不同意引擎）"), ("renew", 0, 160), ("renew", 1, 175),
            ("decide", 0, "reject", "已批准，不能再拒绝")]
"""Submit, return, resubmit, approve; approve against the engine; renew both notices' plates; a refused decision."""


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS)
@example(actions=EXPLICIT)
def test_any_sequence_of_actions_leaves_a_chain_that_verifies_and_replays(actions):
    with tempfile.TemporaryDirectory(prefix="icv-ledger-") as d:
        work = Path(d)
        url = f"sqlite:///{work / 'store.db'}"
        db.upgrade(url)
        store = db.open_store(url)
        try:
            subs: list[tuple[int, int, bool]] = []  # (submission id, entity, compliant)
            notices: list[str] = []
            expected = 0
            last = pendulum.datetime(2026, 11, 27, 8, tz=TZ)  # the office's clock only moves on: a renewal
            # months later is followed by actions later still (a log whose times go back fails verify)
            for step, action in enumerate(actions):
                last = max(pendulum.datetime(2026, 11, 27, 9, step, tz=TZ), last.add(seconds=1))
                clk = FixedClock(last)
                head = ledger.head(store)
                kind = action[0]
                try:
                    if kind == "submit":
                        _, entity, ok = action
                        res = submit(store, work, _app_for(entity, ok, f"H-{step}"), clk)
                        subs.append((res.submission.id, entity, ok))
                        expected += 2
                    elif kind == "decide" and subs:
                        sid = subs[action[1] % len(subs)][0]
                        res = decide(store, sid, action[2], clk, reason=action[3])
                        if res.notice:
                            notices.append(res.notice["number"])
                        expected += 2
                    elif kind == "resubmit" and subs:
                        sid, entity, _ = subs[action[1] % len(subs)]
                        submit(store, work, _app_for(entity, action[2], f"H-R-{step}"), clk, resubmits=sid)
                        expected += 2
                    elif kind == "renew" and notices:
                        day = max(pendulum.datetime(2026, 11, 27, 10, tz=TZ).add(days=action[2]), last)
                        W.renew_plates(store, notices[action[1] % len(notices)], actor=ACTOR, clock=FixedClock(day))
                        last = day
                        expected += 1
                except InputError:
                    assert ledger.head(store) == head, action  # a refused action writes nothing
            if actions == EXPLICIT:
                kinds = [r.kind for r in records(store)]
                assert kinds.count("review") == 3 and kinds.count("submission") == 3 and kinds.count("plates_renewed") == 2, kinds
            assert ledger.head(store)[0] == expected
            rep = ledger.verify(store)
            assert rep.intact and rep.checked == expected, rep.to_json()
            results = list(ledger.replay(store))
            assert len(results) == sum(1 for r in records(store) if r.kind == "engine_decision")
            assert all(r.match for r in results), [r.to_json() for r in results if not r.match]
        finally:
            db.dispose_all()


def test_a_renewal_months_on_then_a_decision_keeps_the_log_in_time_order():
    """The sequence hypothesis once drew: plates renewed 160 days on, then a decision; with the
    office's clock moving forward the log verifies."""
    test_any_sequence_of_actions_leaves_a_chain_that_verifies_and_replays.hypothesis.inner_test(
        actions=[("submit", 0, True), ("decide", 0, "approve", None), ("renew", 0, 160), ("submit", 1, True),
                 ("decide", 1, "approve", None), ("renew", 0, 0)])
