"""The office's tables against the decision log (``audit reconcile``), and the triggers that keep
what the office issued as it was issued (migration 0005).

An office with submissions, a return and a corrected version, approvals, a rejection, plate
renewals and a re-application that supersedes a notice reconciles (exit 0). An insider with the
database — its triggers out of the way, as the tables' owner can — changes rows; each change is
named by reconcile (exit 4) with the message an auditor sees. With the triggers in place the
database refuses those changes itself, and a trigger dropped, disabled or replaced is reported by
``db status`` and ``audit verify`` and restored by ``db upgrade``.

Every test runs on SQLite and (with ``ICV_PERMITS_TEST_PG_URL``) PostgreSQL through the ``store``
fixture; the CLI runs in process (``test_ledger.cli``)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import DA, baseline, make_credit_code, make_vin, with_, with_vehicles
from test_ledger import ACTOR, cli, clock_at, decide, populate, rt_other_entity, submit
from test_store_roles import office_roles  # noqa: F401 - a fixture: the office's roles on the store's schema (PostgreSQL)

from icv_permits.adapters.store import db, triggers
from icv_permits.adapters.store import tables as T
from icv_permits.services import audit as ledger
from icv_permits.services import office as W
from icv_permits.services import reconcile as R

LEGACY_STORE = Path(__file__).resolve().parent / "data" / "legacy" / "office-format1.db"
OFFICE_TABLES = ("notice", "plate", "review", "submission_version", "engine_run", "notice_vehicle", "notice_driver")


# ---------------------------------------------------------------- an office at work


def period(app: dict, start: str, end: str, applied: str | None = None) -> dict:
    out = with_(app, "period", {"start": start, "end": end})
    for p in out["insurance"]:
        p["valid_from"], p["valid_to"] = start, end
    if applied:
        out["application_date"] = applied
    return out


def of_entity(app: dict, n: int, vin: int) -> dict:
    """``app`` filed by entity ``n`` for the vehicle ``make_vin(vin)``."""
    out = with_(app, "entity.credit_code", make_credit_code(n), "entity.name", f"芜湖测试智行科技有限公司{n}",
                "application_id", f"ENTITY-{n}-{app['application_id']}", "vehicles[0].vin", make_vin(vin))
    for p in out["insurance"]:
        p["vins"] = [make_vin(vin)]
    return out


def office(store, tmp_path) -> dict:
    """Submission 1 (DA) approved: notice A, its plate renewed; submission 2 (RT, another entity)
    returned, corrected as version 2 and approved: notice B; submission 3 rejected; submission 4
    approved: notice C; submission 5, a re-application of entity 1, approved: notice D supersedes A
    (A and its renewed plate now end 2027-09-30)."""
    first = submit(store, tmp_path, baseline(DA))
    a = decide(store, first.submission.id, "approve", reason="经审核同意").notice
    rt = submit(store, tmp_path, rt_other_entity())
    decide(store, rt.submission.id, "return", reason="第三者责任险保额不足，请补正")
    corrected = submit(store, tmp_path, rt_other_entity(liability=5_000_000))
    assert (corrected.submission.id, corrected.submission.version) == (rt.submission.id, 2)
    b = decide(store, rt.submission.id, "approve", reason="补正后同意").notice
    bad = submit(store, tmp_path, of_entity(baseline(DA), 3, 60))
    decide(store, bad.submission.id, "reject", reason="材料不实")
    fourth = submit(store, tmp_path, of_entity(baseline(DA), 4, 70))
    c = decide(store, fourth.submission.id, "approve", reason="经审核同意").notice
    renewed = W.renew_plates(store, a["number"], actor=ACTOR, clock=clock_at(2027, 5, 20))["renewed"]
    again = with_(period(baseline(DA), "2027-10-01", "2028-09-30", applied="2027-09-01"), "modifiers.renewal", True,
                  "application_id", "TEST-DA-RENEW")
    day = clock_at(2027, 9, 10)
    fifth = W.submit(store, write_app(tmp_path, again), actor=ACTOR, clock=day)
    d = W.decide(store, fifth.submission.id, "approve", reason="到期重新申请，同意", actor=ACTOR, clock=day).notice
    return {"rt": rt.submission.id, "rejected": bad.submission.id, "A": a, "B": b, "C": c, "D": d, "renewed": renewed[0]}


def write_app(directory: Path, app: dict) -> Path:
    from test_ledger import write_app as write

    return write(directory, app)


def notices(store) -> dict[str, T.Notice]:
    with store.read() as s:
        return {n.number: n for n in s.exec(sa.select(T.Notice)).scalars().all()}


def plates(store) -> dict[str, T.Plate]:
    with store.read() as s:
        return {p.number: p for p in s.exec(sa.select(T.Plate)).scalars().all()}


def reconcile_cli(lang: str = "en"):
    return cli("audit", "reconcile", "--lang", lang)


def reconcile_json() -> tuple[int, dict]:
    r = cli("audit", "reconcile", "--format", "json")
    return r.exit_code, json.loads(r.stdout)


@contextmanager
def as_owner(store):
    """A raw transaction with the triggers out of the way, as the tables' owner can: on SQLite
    dropped (with the ``sqlite3`` module on the file) and created again after, on PostgreSQL the
    office tables' triggers disabled and enabled again. Yields ``run(sql, **params)``."""
    if store.backend == "sqlite":
        con = sqlite3.connect(sa.engine.make_url(store.url).database, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            kept = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
            for name, _ in kept:
                con.execute(f"DROP TRIGGER {name}")
            yield lambda sql, **p: con.execute(sql, p)
            for _, sql in kept:
                con.execute(sql)
            con.execute("COMMIT")
        finally:
            con.close()
        return
    engine = sa.create_engine(store.url)
    try:
        with engine.begin() as conn:
            for table in OFFICE_TABLES:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield lambda sql, **p: conn.execute(sa.text(sql), p)
            for table in OFFICE_TABLES:
                conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    finally:
        engine.dispose()


# ---------------------------------------------------------------- a clean office agrees


def test_a_clean_office_agrees_with_its_log(store, tmp_path):
    ids = office(store, tmp_path)
    rows = notices(store)
    a, d = rows[ids["A"]["number"]], rows[ids["D"]["number"]]
    assert (a.status, a.valid_until, d.replaces_id) == ("superseded", dt.date(2027, 9, 30), a.id)
    assert plates(store)[ids["renewed"]["number"]].valid_until == dt.date(2027, 9, 30)  # was 2027-11-30

    # the review that issued D says what it superseded
    review = [r for r in ledger.iter_records(store) if r.kind == "review"][-1]
    assert review.body["superseded"] == [{"number": ids["A"]["number"], "status": "superseded", "valid_until": "2027-09-30",
                                          "plates": [{"number": ids["renewed"]["number"], "valid_until": "2027-09-30"}]}]
    assert [r.body["superseded"] for r in ledger.iter_records(store) if r.kind == "review"][:-1] == [[]] * 5

    r = reconcile_cli()
    assert r.exit_code == 0, r.output
    assert r.stdout == ("The office tables agree with the decision log: 5 submissions, 6 versions, 12 engine runs, 6 reviews, "
                        "4 notices and 5 plates checked against 25 log records.\n")
    assert "办公数据表与决策日志一致" in reconcile_cli("zh").stdout
    code, out = reconcile_json()
    assert code == 0 and out["agrees"] is True and out["differences"] == [] and out["difference_count"] == 0
    assert out["rows"] == {"submission": 5, "submission_version": 6, "engine_run": 12, "review": 6, "notice": 4, "plate": 5}
    assert out["records"] == 25


def test_reading_in_small_batches_gives_the_same_answer(store, tmp_path):
    office(store, tmp_path)
    for batch in (1, 2, 7):
        run = R.reconcile(store, batch=batch)
        assert list(run) == [] and run.summary.records == 25 and run.summary.rows["engine_run"] == 12


def test_rows_missing_that_one_record_wrote_are_each_named_whatever_the_batch(store, tmp_path):
    """One review issues a notice with three plates: all three deleted are three differences, read
    one at a time or all at once."""
    sub = submit(store, tmp_path, with_vehicles(baseline(DA), 3))
    notice = decide(store, sub.submission.id, "approve", reason="经审核同意").notice
    with as_owner(store) as run:
        run("DELETE FROM plate")
    seq = ledger.head(store)[0]
    want = [(p["number"], seq) for p in sorted(notice["plates"], key=lambda p: p["number"])]
    for batch in (1, 2, 1000):
        got = [(d.key, d.seq) for d in R.reconcile(store, batch=batch) if d.problem == "no_row"]
        assert sorted(got) == want, batch


def test_older_review_records_have_the_superseding_derived(store, tmp_path, monkeypatch):
    """Records written before reviews stated what they superseded: reconcile derives it as the
    office applies it, so a clean office still agrees, and an insider's undoing of it shows."""
    real = ledger.append

    def older(s, kind, body, now):
        if kind == "review":
            body = {k: v for k, v in body.items() if k != "superseded"}
        return real(s, kind, body, now)

    monkeypatch.setattr(W.audit, "append", older)
    ids = office(store, tmp_path)
    monkeypatch.setattr(W.audit, "append", real)
    assert all("superseded" not in r.body for r in ledger.iter_records(store) if r.kind == "review")
    r = reconcile_cli()
    assert r.exit_code == 0, r.output

    a, renewed = ids["A"]["number"], ids["renewed"]["number"]
    with as_owner(store) as run:
        run("UPDATE notice SET status = 'active', valid_until = :d WHERE number = :n", d=dt.date(2027, 11, 30), n=a)
        run("UPDATE plate SET valid_until = :d WHERE number = :n", d=dt.date(2027, 11, 30), n=renewed)
    r = reconcile_cli()
    assert r.exit_code == 4, r.output
    seq = [x for x in ledger.iter_records(store) if x.kind == "review"][-1].seq
    assert f'✗ notice {a}: valid_until is "2027-11-30" in the table, "2027-09-30" in the log (record {seq})' in r.stdout
    assert f'✗ notice {a}: status is "active" in the table, "superseded" in the log (record {seq})' in r.stdout
    assert f'✗ plate {renewed}: valid_until is "2027-11-30" in the table, "2027-09-30" in the log (record {seq})' in r.stdout


def test_a_derived_superseding_is_judged_on_the_decision_day(store, tmp_path, monkeypatch):
    """Older records: a notice still in force on the day of the decision is superseded, one that
    ended the day before is not — judged on the decision day the engine decision names, whatever the
    time the record was written (on PostgreSQL the server's)."""
    real = ledger.append
    monkeypatch.setattr(W.audit, "append", lambda s, kind, body, now: real(
        s, kind, {k: v for k, v in body.items() if k != "superseded"} if kind == "review" else body, now))

    def renewal(n: int, vin: int, day) -> tuple[dict, dict]:
        first = submit(store, tmp_path, of_entity(baseline(DA), n, vin))
        old = decide(store, first.submission.id, "approve", reason="经审核同意").notice
        again = with_(of_entity(period(baseline(DA), "2027-12-01", "2028-11-30", applied="2027-11-20"), n, vin), "modifiers.renewal", True)
        again["application_id"] += "-RENEW"
        sub = W.submit(store, write_app(tmp_path, again), actor=ACTOR, clock=day)
        return old, W.decide(store, sub.submission.id, "approve", reason="同意", actor=ACTOR, clock=day).notice

    in_force, _ = renewal(5, 80, clock_at(2027, 11, 30))  # its last day
    ended, _ = renewal(6, 90, clock_at(2027, 12, 1))  # the day after
    rows = notices(store)
    assert (rows[in_force["number"]].status, rows[in_force["number"]].valid_until) == ("superseded", dt.date(2027, 11, 30))
    assert (rows[ended["number"]].status, rows[ended["number"]].valid_until) == ("active", dt.date(2027, 11, 30))
    assert all("superseded" not in r.body for r in ledger.iter_records(store) if r.kind == "review")
    r = reconcile_cli()
    assert r.exit_code == 0, r.output


def test_the_store_of_the_old_code_reconciles(tmp_path, monkeypatch):
    """The legacy store (schema 0003, written by the old code) upgrades and agrees with its log:
    2 submissions, 2 versions, 3 engine runs, 1 review, 1 notice and 2 plates against 6 records."""
    path = tmp_path / "office.db"
    shutil.copyfile(LEGACY_STORE, path)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", f"sqlite:///{path}")
    assert cli("db", "upgrade").exit_code == 0
    r = reconcile_cli()
    assert r.exit_code == 0, r.output
    assert r.stdout == ("The office tables agree with the decision log: 2 submissions, 2 versions, 3 engine runs, 1 reviews, "
                        "1 notices and 2 plates checked against 6 log records.\n")
    assert cli("db", "status").exit_code == 0 and cli("audit", "verify").exit_code == 0


# ---------------------------------------------------------------- an insider at work


def test_an_insiders_changes_are_each_named(store, tmp_path):
    ids = office(store, tmp_path)
    recs = list(ledger.iter_records(store))
    reviews = {(r.body["submission_id"], r.body["version"]): r.seq for r in recs if r.kind == "review"}
    b, c, d = ids["B"]["number"], ids["C"]["number"], ids["D"]["number"]
    issued_b = next(r.seq for r in recs if r.kind == "review" and (r.body.get("notice") or {}).get("number") == b)
    issued_c = next(r.seq for r in recs if r.kind == "review" and (r.body.get("notice") or {}).get("number") == c)
    issued_d = next(r.seq for r in recs if r.kind == "review" and (r.body.get("notice") or {}).get("number") == d)
    plate_d = ids["D"]["plates"][0]["number"]
    plate_c = ids["C"]["plates"][0]["number"]
    with store.read() as s:
        notice_d = s.exec(sa.select(T.Notice).where(T.Notice.number == d)).scalars().one()
        notice_c = s.exec(sa.select(T.Notice).where(T.Notice.number == c)).scalars().one()

    # a rejected submission set to approved (no trigger guards a submission's state: the log does)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE submission SET state = 'approved' WHERE id = :id"), {"id": ids["rejected"]})
    with as_owner(store) as run:
        run("UPDATE notice SET valid_until = :d WHERE number = :n", d=dt.date(2030, 12, 31), n=b)
        run("UPDATE plate SET number = 'AH-TP-2027-99999' WHERE number = :n", n=plate_d)
        run("UPDATE review SET reason = '经审核同意（已核实）' WHERE submission_id = :s AND action = 'return'", s=ids["rt"])
        run("DELETE FROM plate WHERE notice_id = :i", i=notice_c.id)
        run("DELETE FROM notice_driver WHERE notice_id = :i", i=notice_c.id)
        run("DELETE FROM notice_vehicle WHERE notice_id = :i", i=notice_c.id)
        run("DELETE FROM notice WHERE id = :i", i=notice_c.id)
        run("INSERT INTO plate (number, notice_id, vehicle_id, valid_from, valid_until, renews_id, issued_at) "
            "SELECT 'AH-TP-2027-88888', notice_id, vehicle_id, valid_from, :d, NULL, issued_at FROM plate WHERE number = 'AH-TP-2027-99999'",
            d=dt.date(2030, 12, 31))

    r = reconcile_cli()
    assert r.exit_code == 4, r.output
    lines = r.stdout.splitlines()
    rejected_seq = reviews[(ids["rejected"], 1)]
    expected = [
        f'✗ submission {ids["rejected"]}: state is "approved" in the table, "rejected" in the log (record {rejected_seq})',
        f'✗ review {ids["rt"]} v1: reason is "经审核同意（已核实）" in the table, "第三者责任险保额不足，请补正" in the log (record {reviews[(ids["rt"], 1)]})',
        f'✗ notice {b}: valid_until is "2030-12-31" in the table, "2027-11-30" in the log (record {issued_b})',
        f'✗ notice {c}: in the log (record {issued_c}: kind="demonstration_application", credit_code="{make_credit_code(4)}", '
        f'submission_id={ids["C"]["submission_id"]}, issued="2026-11-27", valid_from="2026-12-01", valid_until="2027-11-30", status="active", '
        f'sections=["HF-GX-001"], configurations=["T1-L4-2025A"], vins=["{make_vin(70)}"]), but not in the table',
        f'✗ plate AH-TP-2027-99999: in the table (notice="{d}", vin="{make_vin(1)}", valid_from="2027-10-01", valid_until="2028-03-31", '
        'renews=—), but no log record wrote it',
        f'✗ plate AH-TP-2027-88888: in the table (notice="{d}", vin="{make_vin(1)}", valid_from="2027-10-01", valid_until="2030-12-31", '
        'renews=—), but no log record wrote it',
        f'✗ plate {plate_c}: in the log (record {issued_c}: notice="{c}", vin="{make_vin(70)}", valid_from="2026-12-01", '
        'valid_until="2027-05-31", renews=—), but not in the table',
        f'✗ plate {plate_d}: in the log (record {issued_d}: notice="{d}", vin="{make_vin(1)}", valid_from="2027-10-01", '
        'valid_until="2028-03-31", renews=—), but not in the table',
    ]
    assert lines[:-1] == expected, r.stdout
    assert lines[-1] == ("The office tables do NOT agree with the decision log: 8 differences (5 submissions, 6 versions, 12 engine runs, "
                         "6 reviews, 3 notices and 5 plates checked against 25 log records).")
    assert notice_d.id  # D's row is untouched: only its plate was renumbered

    zh = reconcile_cli("zh")
    assert zh.exit_code == 4
    assert f'✗ submission {ids["rejected"]}：state 在表中为 "approved"，在日志中为 "rejected"（记录 {rejected_seq}）' in zh.stdout
    assert "办公数据表与决策日志不一致：共 8 处差异" in zh.stdout

    code, out = reconcile_json()
    assert code == 4 and out["agrees"] is False and out["difference_count"] == 8 and len(out["differences"]) == 8
    assert out["differences"][0] == {"table": "submission", "key": str(ids["rejected"]), "problem": "differs", "field": "state",
                                     "table_value": "approved", "log_value": "rejected", "seq": rejected_seq, "first_seq": None}
    assert [d.to_json() for d in R.reconcile(store, batch=1)] == out["differences"]  # the same, read one row at a time
    by_problem = {(x["table"], x["key"]): x["problem"] for x in out["differences"]}
    assert by_problem[("notice", c)] == "no_row" and by_problem[("plate", "AH-TP-2027-88888")] == "no_record"
    # the log itself is intact: only reconcile sees what changed
    assert cli("audit", "verify").exit_code == 0


def test_a_revision_a_version_an_engine_run_and_a_vin_changed_are_named(store, tmp_path):
    ids = office(store, tmp_path)
    a = ids["A"]["number"]
    with as_owner(store) as run:
        run("UPDATE submission_version SET file_sha256 = :h WHERE submission_id = :s AND number = 2", h="0" * 64, s=ids["rt"])
        run("UPDATE engine_run SET verdict = 'compliant' WHERE verdict <> 'compliant'")
        run("UPDATE vehicle SET vin = :new WHERE vin = :old", new=make_vin(99), old=make_vin(70))
        run("UPDATE submission SET revision = revision + 1, current_version = 3 WHERE id = :s", s=ids["rt"])
    code, out = reconcile_json()
    assert code == 4
    found = {(x["table"], x["key"], x["field"]) for x in out["differences"]}
    assert {(x["field"], x["table_value"], x["log_value"]) for x in out["differences"] if x["table"] == "submission"} == {
        ("revision", 5, 4), ("current_version", 3, 2)}  # submitted, returned, corrected, approved
    assert ("submission_version", f"{ids['rt']} v2", "file_sha256") in found
    assert any(t == "engine_run" and f == "verdict" for t, _, f in found)
    assert ("notice", ids["C"]["number"], "vins") in found and ("plate", ids["C"]["plates"][0]["number"], "vin") in found
    assert ("notice", a, "vins") not in found


# ---------------------------------------------------------------- the database refuses


def _refused(store, sql: str, **params) -> str:
    with pytest.raises(sa.exc.DBAPIError) as e:
        with store.engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    if store.backend == "postgresql":
        assert e.value.orig.sqlstate == "42501", (sql, e.value.orig)
    return str(e.value.orig)


def test_what_was_issued_cannot_be_changed_in_place(store, tmp_path):
    ids = office(store, tmp_path)
    a, b, d = ids["A"]["number"], ids["B"]["number"], ids["D"]["number"]
    plate_b = ids["B"]["plates"][0]["number"]
    later = dt.date(2030, 12, 31)
    refused = [
        ("UPDATE notice SET valid_until = :d WHERE number = :n", {"d": later, "n": b}, "notice"),
        ("UPDATE notice SET valid_until = :d WHERE number = :n", {"d": dt.date(2027, 12, 1), "n": b}, "notice"),  # one day later
        ("UPDATE notice SET status = 'active' WHERE number = :n", {"n": a}, "notice"),  # superseded → active
        ("UPDATE notice SET status = 'revoked' WHERE number = :n", {"n": b}, "notice"),
        ("UPDATE notice SET status = 'superseded', valid_until = :d WHERE number = :n", {"d": later, "n": b}, "notice"),
        ("UPDATE notice SET number = 'AH-RT-2026-9999' WHERE number = :n", {"n": b}, "notice"),
        ("UPDATE notice SET sections = '[]' WHERE number = :n", {"n": b}, "notice"),
        ("UPDATE notice SET replaces_id = NULL WHERE number = :n", {"n": d}, "notice"),
        ("DELETE FROM notice WHERE number = :n", {"n": b}, "notice"),
        ("UPDATE plate SET number = 'AH-TP-2026-99999' WHERE number = :n", {"n": plate_b}, "plate"),
        ("UPDATE plate SET valid_until = :d WHERE number = :n", {"d": later, "n": plate_b}, "plate"),
        ("UPDATE plate SET valid_from = :d WHERE number = :n", {"d": dt.date(2026, 11, 1), "n": plate_b}, "plate"),
        ("DELETE FROM plate WHERE number = :n", {"n": plate_b}, "plate"),
        ("UPDATE review SET reason = 'changed'", {}, "review"),
        ("UPDATE review SET to_state = 'approved' WHERE action = 'reject'", {}, "review"),
        ("DELETE FROM review", {}, "review"),
        ("UPDATE submission_version SET file_sha256 = 'x'", {}, "submission_version"),
        ("DELETE FROM submission_version WHERE number = 2", {}, "submission_version"),
        ("UPDATE engine_run SET verdict = 'compliant'", {}, "engine_run"),
        ("DELETE FROM engine_run", {}, "engine_run"),
        ("UPDATE notice_vehicle SET vehicle_id = vehicle_id", {}, "notice_vehicle"),
        ("DELETE FROM notice_vehicle", {}, "notice_vehicle"),
        ("UPDATE notice_driver SET driver_id = driver_id", {}, "notice_driver"),
        ("DELETE FROM notice_driver", {}, "notice_driver"),
    ]
    if store.backend == "postgresql":
        refused += [(f"TRUNCATE {t} CASCADE", {}, t) for t in OFFICE_TABLES]
        refused += [("TRUNCATE submission CASCADE", {}, "")]  # cascades into the protected tables
    for sql, params, table in refused:
        message = _refused(store, sql, **params)
        assert "refused" in message and table in message, (sql, message)
    assert R.reconcile(store) and list(R.reconcile(store)) == []  # nothing changed

    # what the workflow itself does still passes: a notice superseded and shortened (or kept), a plate shortened
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE notice SET status = 'superseded', valid_until = :d WHERE number = :n"), {"d": dt.date(2027, 11, 30), "n": b})
        conn.execute(sa.text("UPDATE notice SET valid_until = :d WHERE number = :n"), {"d": dt.date(2027, 6, 30), "n": b})
        conn.execute(sa.text("UPDATE plate SET valid_until = :d WHERE number = :n"), {"d": dt.date(2027, 5, 31), "n": plate_b})
        conn.execute(sa.text("UPDATE plate SET valid_until = :d WHERE number = :n"), {"d": dt.date(2027, 4, 30), "n": plate_b})
    rows = notices(store)
    assert (rows[b].status, rows[b].valid_until) == ("superseded", dt.date(2027, 6, 30))
    assert plates(store)[plate_b].valid_until == dt.date(2027, 4, 30)
    # … which reconcile then names, as the log does not say it
    code, out = reconcile_json()
    assert code == 4 and {(x["key"], x["field"]) for x in out["differences"]} == {
        (b, "status"), (b, "valid_until"), (plate_b, "valid_until")}


# ---------------------------------------------------------------- the triggers watched and restored


def _drop(store, trig) -> None:
    engine = sa.create_engine(store.url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TRIGGER {trig.name}" + ("" if store.backend == "sqlite" else f" ON {trig.table}"))
    finally:
        engine.dispose()


def test_each_dropped_office_trigger_is_reported_and_restored(store, tmp_path):
    populate(store, tmp_path)
    office_triggers = [t for t in triggers.expected(store.backend) if t.guards == "office"]
    assert {t.table for t in office_triggers} == set(OFFICE_TABLES) and len(office_triggers) == 14
    for trig in office_triggers:
        _drop(store, trig)
        r = cli("db", "status", "--lang", "en")
        assert r.exit_code == 2, r.output
        assert (f"The trigger {trig.name} on {trig.table}, which keeps what the office issued as it was issued, is missing from the database: "
                "the table can be changed in place without a trace.") in r.stdout
        assert json.loads(cli("db", "status", "--format", "json").stdout)["triggers"] == [
            {"trigger": trig.name, "table": trig.table, "state": "missing", "guards": "office"}]
        r = cli("audit", "verify", "--lang", "en")
        assert r.exit_code == 4, r.output
        assert (f"Trigger {trig.name} on {trig.table}, which keeps what the office issued as it was issued, is missing: "
                "the table can be changed in place without a trace") in r.stdout
        assert "表" in cli("audit", "verify", "--lang", "zh").stdout
        r = cli("db", "upgrade", "--lang", "en")
        assert r.exit_code == 0 and (f"Restored the trigger {trig.name} on {trig.table}, which keeps what the office issued as it was issued "
                                     "(it was missing from the database).") in r.stdout, r.output
        assert cli("audit", "verify").exit_code == 0
    assert cli("db", "status").exit_code == 0
    _refused(store, "DELETE FROM notice_driver")


def test_a_disabled_or_replaced_office_trigger_is_reported_and_restored(store, tmp_path):
    engine = sa.create_engine(store.url)
    try:
        with engine.begin() as conn:
            if store.backend == "postgresql":
                conn.exec_driver_sql("ALTER TABLE notice DISABLE TRIGGER notice_in_place")
            else:
                conn.exec_driver_sql("DROP TRIGGER notice_in_place")
                conn.exec_driver_sql("CREATE TRIGGER notice_in_place BEFORE UPDATE ON notice BEGIN SELECT 1; END")
    finally:
        engine.dispose()
    state = "disabled" if store.backend == "postgresql" else "not as the migration made it"
    r = cli("audit", "verify", "--lang", "en")
    shown = "disabled" if store.backend == "postgresql" else "not as the migration made it"
    assert r.exit_code == 4 and f"Trigger notice_in_place on notice, which keeps what the office issued as it was issued, is {shown}" in r.stdout, r.output
    assert f"(it was {state})" in cli("db", "upgrade", "--lang", "en").stdout
    assert cli("audit", "verify").exit_code == 0
    if store.backend == "postgresql":  # the function replaced by one that lets everything through
        engine = sa.create_engine(store.url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE OR REPLACE FUNCTION icv_plate_in_place() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
        finally:
            engine.dispose()
        breaks = json.loads(cli("audit", "verify", "--format", "json").stdout)["breaks"]
        assert [(b["detail"]["trigger"], b["detail"]["state"]) for b in breaks] == [("plate_in_place", "altered")]
        assert "(it was not as the migration made it)" in cli("db", "upgrade", "--lang", "en").stdout
    ids = office(store, tmp_path)
    _refused(store, "UPDATE plate SET valid_until = :d WHERE number = :n", d=dt.date(2030, 1, 1), n=ids["B"]["plates"][0]["number"])
    _refused(store, "UPDATE notice SET valid_until = :d WHERE number = :n", d=dt.date(2030, 1, 1), n=ids["B"]["number"])


def _trigger_names(store) -> set[str]:
    sql = ("SELECT name FROM sqlite_master WHERE type = 'trigger'" if store.backend == "sqlite" else
           "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
           "AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())")
    with store.engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql(sql)}


def test_the_migration_goes_down_and_up_again(store, tmp_path):
    from alembic import command

    populate(store, tmp_path)
    office_names = {t.name for t in triggers.expected(store.backend) if t.guards == "office"}
    log_names = {t.name for t in triggers.expected(store.backend, office=False)}
    assert _trigger_names(store) == office_names | log_names
    cfg = db.alembic_config(store.url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert _trigger_names(store) == log_names
    with store.engine.connect() as conn:
        assert triggers.problems(conn) == []  # at 0004 the office's triggers are not expected
    assert json.loads(cli("db", "status", "--format", "json").stdout)["triggers"] == []
    with store.engine.begin() as conn:  # nor there: a plate can be deleted
        assert conn.exec_driver_sql("DELETE FROM plate").rowcount == 1
    r = cli("db", "upgrade", "--lang", "en")
    assert r.exit_code == 0 and "Restored" not in r.stdout, r.output
    assert _trigger_names(store) == office_names | log_names
    assert cli("db", "status").exit_code == 0
    _refused(store, "DELETE FROM review")


def test_a_log_that_is_not_the_offices_reconciles_without_crashing(store):
    """Records that hold none of the fields reconcile reads (as in the log's own tests): named as
    rows missing, never a crash."""
    from test_ledger import fill

    fill(store, 8)
    r = reconcile_cli()
    assert r.exit_code == 4, r.output
    assert r.stdout.splitlines()[:2] == ["✗ submission 1: in the log (record 4: —), but not in the table",
                                         "✗ submission 2: in the log (record 8: —), but not in the table"]
    assert "checked against 8 log records" in r.stdout


# ---------------------------------------------------------------- with the office's PostgreSQL roles


def test_an_office_login_cannot_reissue_and_an_auditor_reconciles(store, office_roles, tmp_path, monkeypatch):  # noqa: F811
    """An office login may UPDATE notices and plates (the workflow does), but the triggers hold it to
    superseding, and it cannot disable or drop them; what it may change that no trigger guards (a
    submission's state) an auditor's login finds with reconcile."""
    clerk_url, auditor_url, _, _ = office_roles
    ids = office(store, tmp_path)
    b, plate_b = ids["B"]["number"], ids["B"]["plates"][0]["number"]
    engine = sa.create_engine(clerk_url)
    try:
        for sql in (f"UPDATE notice SET valid_until = '2030-12-31' WHERE number = '{b}'",
                    f"UPDATE plate SET number = 'AH-TP-2026-99999' WHERE number = '{plate_b}'",
                    "ALTER TABLE notice DISABLE TRIGGER notice_in_place",
                    "DROP TRIGGER plate_in_place ON plate",
                    "CREATE OR REPLACE FUNCTION icv_notice_in_place() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"):
            with pytest.raises(sa.exc.DBAPIError) as e, engine.begin() as conn:
                conn.exec_driver_sql(sql)
            assert e.value.orig.sqlstate == "42501", (sql, e.value.orig)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE submission SET state = 'approved' WHERE id = {ids['rejected']}")
    finally:
        engine.dispose()
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", auditor_url)
    r = reconcile_cli()
    assert r.exit_code == 4, r.output
    assert r.stdout.splitlines()[0].startswith(f'✗ submission {ids["rejected"]}: state is "approved" in the table, "rejected" in the log')
    assert "1 differences" in r.stdout


# ---------------------------------------------------------------- rows no office writes: reported, not a crash


@pytest.mark.parametrize(("sql", "command", "what"), [
    ("UPDATE submission SET state = 'bogus' WHERE id = :id", ("decide", "{id}", "--reject", "--reason", "材料不实"), "state"),
    ("UPDATE submission_version SET document = '{{bad' WHERE submission_id = :id", ("queue",), "document"),
    ("UPDATE submission_version SET document = '{{}}' WHERE submission_id = :id", ("decide", "{id}", "--reject", "--reason", "材料不实"), "document"),
    ("UPDATE engine_run SET decision = '{{}}'", ("show", "{id}"), "decision"),
    ("UPDATE submission SET entity_id = 999999 WHERE id = :id", ("show", "{id}"), "entity"),
])
def test_an_office_row_no_office_writes_is_named_exit_4(store, tmp_path, sql, command, what):
    """An insider with the tables' owner rights writes what the office never writes: each command
    that reads it says which submission and what, and points to reconcile — exit 4, never 70."""
    sub_id = submit(store, tmp_path, baseline(DA)).submission.id
    try:
        with as_owner(store) as run:
            run(sql.format(), id=sub_id)
    except (sa.exc.DBAPIError, sqlite3.DatabaseError) as exc:  # a constraint of the database refuses it itself: nothing to read
        pytest.skip(f"the database refuses it: {type(exc).__name__}")
    args = [a.format(id=sub_id) for a in command]
    for lang, says in (("en", f"submission {sub_id}: its {what} is not as the office writes it"), ("zh", f"submission {sub_id}：其 {what}")):
        r = cli(*args, "--lang", lang)
        assert r.exit_code == 4, r.output
        assert says in r.output.replace(": 其", "：其"), r.output
    assert "audit reconcile" in cli(*args, "--lang", "en").output
