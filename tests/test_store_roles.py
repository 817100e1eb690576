"""The office's PostgreSQL roles: the owner migrates, office logins append to the log only through
the database's own function (actor and time from the server), auditors only read; a refusal is
exit 7 with the database's reason. On SQLite, ``db status`` says what cannot be guaranteed.

The roles are set up as an administrator would: ``icv-permits db roles`` piped into ``psql``."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_ledger import ACTOR, cli, populate, records

from icv_permits.adapters.store import db, roles
from icv_permits.services import audit as ledger

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "da-compliant.yaml"


def _schema(url: str) -> str:
    return sa.engine.make_url(url).query["options"].split("=", 1)[1]


def _login_url(store_url: str, user: str, password: str) -> str:
    u = sa.engine.make_url(store_url)
    return u.set(username=user, password=password).render_as_string(hide_password=False)


@pytest.fixture
def office_roles(store, monkeypatch):
    """The roles set up on the store's schema, the store re-upgraded (grants), and two logins: a
    clerk in icv_office (a Chinese name: the actor is whatever the server calls the session) and an
    auditor in icv_auditor. Yields (clerk URL, auditor URL, clerk name, auditor name)."""
    if store.backend != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    admin_url = os.environ["ICV_PERMITS_TEST_PG_URL"]
    schema = _schema(store.url)
    r = cli("db", "roles", "--schema", schema)
    assert r.exit_code == 0 and "CREATE ROLE icv_office NOLOGIN" in r.stdout and "GRANT" in r.stdout
    psql_url = sa.engine.make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    run = subprocess.run(["psql", psql_url, "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"], input=r.stdout, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    grants = cli("db", "roles", "--schema", schema, "--grants").stdout
    assert f'GRANT EXECUTE ON FUNCTION "{schema}".icv_log_append(text, text, text) TO icv_office;' in grants
    assert "decision_log" not in grants.replace("icv_log_append", "")  # nothing granted on the log itself but reading (ALL TABLES)
    up = cli("db", "upgrade", "--lang", "en")
    assert up.exit_code == 0 and "Granted the roles icv_office, icv_auditor their rights on the tables." in up.stdout, up.output
    suffix = uuid.uuid4().hex[:8]
    clerk, auditor, pw = f"科员_{suffix}", f"icv_audit_{suffix}", f"pw-{suffix}"
    admin = sa.create_engine(admin_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE \"{clerk}\" LOGIN PASSWORD '{pw}' IN ROLE {roles.OFFICE}")
        conn.exec_driver_sql(f"CREATE ROLE {auditor} LOGIN PASSWORD '{pw}' IN ROLE {roles.AUDITOR}")
    try:
        yield _login_url(store.url, clerk, pw), _login_url(store.url, auditor, pw), clerk, auditor
    finally:
        db.dispose_all()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS \"{clerk}\"")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {auditor}")
        admin.dispose()


def _as(monkeypatch, url: str) -> None:
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", url)


def test_an_office_login_works_and_the_server_names_the_actor_and_the_time(store, office_roles, monkeypatch):
    clerk_url, _, clerk, _ = office_roles
    _as(monkeypatch, clerk_url)
    monkeypatch.setenv("ICV_PERMITS_NOW", "2026-11-27T10:00:00+08:00")  # the client's clock: judged with, not recorded as the time
    r = cli("db", "status", "--lang", "en")
    assert r.exit_code == 0 and f"Connected as {clerk}: an office login" in r.stdout, r.output
    r = cli("submit", str(EXAMPLE), "--actor", "局长", "--format", "json")
    assert r.exit_code == 0, r.output
    sub_id = json.loads(r.stdout)["submission"]["id"]
    r = cli("decide", str(sub_id), "--approve", "--actor", "局长")
    assert r.exit_code == 0, r.output
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    recs = records(db.open_store(clerk_url))
    assert [x.kind for x in recs] == ["engine_decision", "submission", "engine_decision", "review"]
    assert {x.actor for x in recs} == {clerk}  # the login, not the name claimed
    assert {x.body["claimed_actor"] for x in recs} == {"局长"}
    assert all(x.recorded_at >= before.strftime("%Y-%m-%dT%H:%M:%S") for x in recs)  # the server's time, not 2026-11-27
    assert recs[0].body["clock"] == "2026-11-27T02:00:00.000000Z"
    # the hashes the database computed are the ones verify computes
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 0 and "Chain intact: 4 records checked" in r.stdout, r.output


STATEMENTS_REFUSED = [
    "INSERT INTO decision_log SELECT seq + 100, '{id}', kind, recorded_at, 'director', body, hash, 'sha256:x' FROM decision_log WHERE seq = 1",
    "UPDATE decision_log SET actor = 'director' WHERE seq = 1",
    "DELETE FROM decision_log WHERE seq = 1",
    "UPDATE log_head SET seq = 1",
    "DELETE FROM log_head",
    "ALTER TABLE decision_log DISABLE TRIGGER USER",
    "DROP TRIGGER decision_log_in_order ON decision_log",
    "CREATE OR REPLACE FUNCTION icv_log_append(p_kind text, p_decision_id text, p_body text) RETURNS TABLE (seq integer) LANGUAGE sql AS $$ SELECT 1 $$",
    "DELETE FROM notice",
    "DELETE FROM review",
    "UPDATE review SET reason = 'x'",
]


@pytest.mark.parametrize("statement", STATEMENTS_REFUSED)
def test_an_office_login_cannot_touch_the_log_but_through_the_function(store, office_roles, tmp_path, monkeypatch, statement):
    clerk_url, _, _, _ = office_roles
    populate(store, tmp_path)
    n = len(records(store))
    engine = sa.create_engine(clerk_url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as e, engine.begin() as conn:
            conn.exec_driver_sql(statement.replace("{id}", str(uuid.uuid4())))
        assert e.value.orig.sqlstate == "42501", (statement, e.value.orig)
    finally:
        engine.dispose()
    assert len(records(store)) == n and ledger.verify(store).intact


def test_the_append_function_takes_no_actor_or_time_from_the_caller(store, office_roles, tmp_path):
    """A clerk calling the function by hand with a body claiming the director: the record says who
    really appended it, and when; the chain stays whole."""
    clerk_url, _, clerk, _ = office_roles
    populate(store, tmp_path)
    engine = sa.create_engine(clerk_url)
    try:
        with engine.begin() as conn:
            row = conn.execute(sa.text("SELECT * FROM icv_log_append('review', :id, :body)"),
                               {"id": str(uuid.uuid4()), "body": '{"claimed_actor":"局长","type":"review"}'}).one()
        with pytest.raises(sa.exc.DBAPIError) as e, engine.begin() as conn:
            conn.execute(sa.text("SELECT * FROM icv_log_append('review', :id, '[1]')"), {"id": str(uuid.uuid4())})
        assert "JSON object" in str(e.value.orig)
    finally:
        engine.dispose()
    last = records(store)[-1]
    assert (last.seq, last.actor, last.hash) == (row.seq, clerk, row.hash) and last.body["claimed_actor"] == "局长"
    assert ledger.verify(store).intact


def test_an_auditor_reads_and_verifies_and_is_refused_any_write_with_exit_7(store, office_roles, tmp_path, monkeypatch):
    _, auditor_url, _, auditor = office_roles
    populate(store, tmp_path)
    _as(monkeypatch, auditor_url)
    assert cli("audit", "verify").exit_code == 0
    assert cli("audit", "replay", "--all").exit_code == 0
    assert cli("queue").exit_code == 0
    r = cli("db", "status", "--lang", "en")
    assert f"Connected as {auditor}: an auditor login: it can only read." in r.stdout, r.output
    for lang, words in (("en", "the database refused this to role"), ("zh", "数据库拒绝了角色")):
        r = cli("submit", str(EXAMPLE), "--lang", lang)
        assert r.exit_code == 7, r.output
        assert words in r.output and auditor in r.output and "permission denied" in r.output and "Traceback" not in r.output
    r = cli("db", "upgrade", "--lang", "en")
    assert r.exit_code == 7 and "Traceback" not in r.output, r.output


def test_db_status_as_the_owner_says_daily_work_belongs_to_office_logins(store, office_roles, monkeypatch):
    r = cli("db", "status", "--lang", "en")  # the fixture's connection: the tables' owner
    assert r.exit_code == 0
    assert "This session owns the log's tables: it could disable the triggers." in r.stdout, r.output
    assert "not set up" not in r.stdout
    out = json.loads(cli("db", "status", "--format", "json").stdout)
    assert out["role"]["kind"] in ("owner", "superuser") and out["role"]["roles_set_up"] is True and "pg_owner_session" in out["guarantees"]


def test_db_status_without_roles_says_everyone_shares_one_role(store, monkeypatch):
    if store.backend != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    with db.open_store(store.url).engine.connect() as conn:
        set_up = roles.existing(conn) == {roles.OFFICE, roles.AUDITOR}
    r = cli("db", "status", "--lang", "en")
    if not set_up:  # another test of this run may have created the cluster's roles already
        assert "The roles icv_office and icv_auditor are not set up" in r.stdout, r.output


def test_db_status_on_sqlite_says_what_sqlite_cannot_guarantee(store):
    if store.backend != "sqlite":
        pytest.skip("SQLite's limits")
    r = cli("db", "status", "--lang", "en")
    assert r.exit_code == 0
    assert "What this database cannot guarantee:" in r.stdout
    assert "SQLite cannot protect the log from whoever can write the database file" in r.stdout
    assert "the actor recorded is the operating-system account" in r.stdout
    r = cli("db", "status", "--lang", "zh")
    assert "SQLite 无法" in r.stdout, r.stdout
    out = json.loads(cli("db", "status", "--format", "json").stdout)
    assert out["guarantees"] == ["sqlite_file_writer", "sqlite_actor_os", "sqlite_time_client"] and out["role"] is None


def test_the_sqlite_actor_is_the_os_account_not_the_environment(store, tmp_path, monkeypatch):
    if store.backend != "sqlite":
        pytest.skip("SQLite's actor")
    monkeypatch.setenv("LOGNAME", "anyone")
    monkeypatch.setenv("USER", "anyone")
    populate(store, tmp_path)
    import pwd

    assert {r.actor for r in records(store)} == {pwd.getpwuid(os.getuid()).pw_name}
    assert ACTOR != "anyone"
