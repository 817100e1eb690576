"""What an insider can do to the log without re-chaining it, and how ``audit verify`` sees it:
a pack snapshot edited with its revision kept, an append-only trigger dropped, disabled or replaced,
``recorded_at`` going backwards; and ``--expect-head`` on a log that has grown since.

Store tests run on SQLite and (with ``ICV_PERMITS_TEST_PG_URL``) PostgreSQL through the ``store``
fixture; the CLI runs in process (``test_ledger.cli``)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from test_ledger import ACTOR, bypass, cli, fill, populate, records, verify_json
from test_ledger_cli import export, fresh_sqlite

from icv_permits.adapters.packs import load_pack
from icv_permits.core.canonical import canonical_json
from icv_permits.adapters.store import db, triggers
from icv_permits.adapters.store import tables as T
from icv_permits.services import audit as ledger


def _snapshot(store) -> tuple[str, dict]:
    with store.read() as s:
        (snap,) = s.exec(sa.select(T.PackSnapshot)).scalars().all()
        return snap.revision, json.loads(snap.content)


def _write_snapshot(store, content: dict | str) -> None:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    with bypass(store) as run:
        run("UPDATE pack_snapshot SET content = :c", c=text)


def _raw(store, *statements: str) -> None:
    engine = sa.create_engine(store.url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


# ---------------------------------------------------------------- pack snapshots


def test_a_snapshot_is_stored_as_what_its_revision_hashes(store, tmp_path):
    populate(store, tmp_path)
    rev, content = _snapshot(store)
    assert content["format"] == ledger.SNAPSHOT_FORMAT and content["chain"] == ["anhui-2025", "national-2021"]
    from icv_permits.core.pack import revision_of

    assert revision_of(content["content"]) == rev == load_pack("anhui-2025").revision
    assert ledger.verify(store).intact
    assert all(r.match for r in ledger.replay(store))


def test_a_snapshot_edited_with_its_revision_kept_is_caught(store, tmp_path):
    populate(store, tmp_path)
    rev, content = _snapshot(store)
    rule = next(iter(content["content"]["rules"].values()))
    rule["title"] = {"zh": "伪造的标题", "en": "FORGED TITLE"}
    _write_snapshot(store, content)

    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 4, r.output
    assert f"Pack snapshot {rev} BROKEN: its content hashes to sha256:" in r.stdout and "the snapshot was changed" in r.stdout
    assert "The log is NOT intact." in r.stdout
    code, out = verify_json()
    assert code == 4 and [b["problem"] for b in out["breaks"]] == ["snapshot"] and out["breaks"][0]["detail"]["revision"] == rev
    assert "规则包快照" in cli("audit", "verify", "--lang", "zh").stdout

    # explain and replay say so instead of showing the forged content as genuine
    r = cli("audit", "explain", "1", "--lang", "en")
    assert r.exit_code == 4 and "Log BROKEN (exit 4):" in r.stderr and rev in r.stderr and "does not hash to its revision" in r.stderr, r.output
    assert "FORGED" not in r.output
    r = cli("audit", "replay", "3", "--lang", "en")
    assert r.exit_code == 1 and f"not replayed: the pack snapshot {rev} does not hash to its revision" in r.stdout, r.output
    assert "0 identical, 1 different" in r.stdout
    assert [x.seq for x in ledger.replay(store) if not x.match] == [1, 3, 5, 7]

    # an export of it is refused on import, nothing loaded
    path = export(tmp_path)
    url = fresh_sqlite(tmp_path)
    r = cli("audit", "import", path, "--lang", "en", env={"ICV_PERMITS_DATABASE_URL": url})
    assert r.exit_code == 4 and f"Pack snapshot {rev} BROKEN" in r.stdout, r.output
    target = db.open_store(url)
    assert records(target) == [] and ledger.head(target)[0] == 0


def test_an_export_with_a_forged_snapshot_is_refused(store, tmp_path):
    populate(store, tmp_path)
    path = export(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    snap = json.loads(lines[1])
    snap["content"]["content"]["parameters"] = json.loads(json.dumps(snap["content"]["content"]["parameters"]).replace("5000000", "6000000"))
    lines[1] = json.dumps(snap, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = cli("audit", "import", path, "--lang", "en", env={"ICV_PERMITS_DATABASE_URL": fresh_sqlite(tmp_path)})
    assert r.exit_code == 4 and "BROKEN" in r.stdout and "records imported" not in r.stdout, r.output


def test_a_snapshot_in_the_older_form_is_vouched_for_by_todays_pack_or_else_flagged(store, tmp_path):
    """A snapshot stored before revisions could be recomputed cannot be proven by verify unless it is
    exactly today's pack: it is flagged (exit 0, so an office whose rules changed since is not told its
    log is broken), and a replay shows what an edit of it would change."""
    populate(store, tmp_path)
    rev, _ = _snapshot(store)
    legacy = ledger.model_text(load_pack("anhui-2025"))
    _write_snapshot(store, legacy)
    assert ledger.verify(store).intact  # exactly today's pack of that revision
    assert all(r.match for r in ledger.replay(store))
    _write_snapshot(store, legacy.replace('"value":5000000', '"value":6000000'))
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 0, r.output
    assert f"Note: pack snapshot {rev} (anhui-2025) is stored in the older form" in r.stdout
    assert json.loads(cli("audit", "verify", "--format", "json").stdout)["warnings"][0]["problem"] == "snapshot_unproven"
    r = cli("audit", "replay", "--all", "--lang", "en")
    assert r.exit_code == 1, r.output  # the edited threshold changes the decisions judged with it


# ---------------------------------------------------------------- triggers


def test_each_dropped_trigger_is_reported_and_db_upgrade_restores_it(store, tmp_path):
    fill(store, 3)
    expected = triggers.expected(store.backend, office=False)  # the office's: tests/test_audit_reconcile.py
    for trig in expected:
        _raw(store, f"DROP TRIGGER {trig.name}" + ("" if store.backend == "sqlite" else f" ON {trig.table}"))
        r = cli("audit", "verify", "--lang", "en")
        assert r.exit_code == 4, r.output
        assert f"Append-only trigger {trig.name} on {trig.table} is missing" in r.stdout
        assert "Chain intact: 3 records checked" in r.stdout and "The log is NOT intact." in r.stdout
        r = cli("db", "status", "--lang", "en")
        assert r.exit_code == 2 and f"The append-only trigger {trig.name} on {trig.table} is missing" in r.stdout, r.output
        assert "Run `icv-permits db upgrade` to restore the triggers." in r.stdout
        assert json.loads(cli("db", "status", "--format", "json").stdout)["up_to_date"] is False
        r = cli("db", "upgrade", "--lang", "en")
        assert r.exit_code == 0 and f"Restored the append-only trigger {trig.name} on {trig.table} (it was missing from the database)." in r.stdout, r.output
        assert cli("audit", "verify").exit_code == 0
    r = cli("db", "upgrade", "--lang", "en")
    assert r.exit_code == 0 and "Restored" not in r.stdout  # idempotent
    assert cli("db", "status").exit_code == 0
    with db.open_store(store.url).engine.connect() as conn:
        assert triggers.problems(conn) == []
    # and they refuse again
    try:
        with store.write() as s:
            s.execute(sa.text("DELETE FROM decision_log"))
        raise AssertionError("the restored trigger did not refuse")
    except Exception as exc:  # noqa: BLE001
        assert "append-only" in str(exc) or "refused" in str(exc)


def test_all_triggers_dropped_at_once_are_each_named(store):
    fill(store, 2)
    _raw(store, *[f"DROP TRIGGER {t.name}" + ("" if store.backend == "sqlite" else f" ON {t.table}") for t in triggers.expected(store.backend)])
    code, out = verify_json()
    assert code == 4 and sorted(b["detail"]["trigger"] for b in out["breaks"]) == sorted(t.name for t in triggers.expected(store.backend))


def test_a_disabled_or_replaced_trigger_is_reported(store):
    fill(store, 2)
    if store.backend == "postgresql":
        _raw(store, "ALTER TABLE decision_log DISABLE TRIGGER decision_log_append_only")
        r = cli("audit", "verify", "--lang", "en")
        assert r.exit_code == 4 and "Append-only trigger decision_log_append_only on decision_log is disabled" in r.stdout, r.output
        assert "is disabled" in cli("db", "status", "--lang", "en").stdout
        assert "(it was disabled)" in cli("db", "upgrade", "--lang", "en").stdout
        assert cli("audit", "verify").exit_code == 0
        # the function replaced by one that lets everything through
        _raw(store, "CREATE OR REPLACE FUNCTION icv_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$")
        code, out = verify_json()
        assert code == 4 and {b["detail"]["state"] for b in out["breaks"]} == {"altered"} and len(out["breaks"]) == 5
    else:
        _raw(store, "DROP TRIGGER decision_log_no_update",
             "CREATE TRIGGER decision_log_no_update BEFORE UPDATE ON decision_log BEGIN SELECT 1; END")
        r = cli("audit", "verify", "--lang", "en")
        assert r.exit_code == 4 and "Append-only trigger decision_log_no_update on decision_log is not as the migration made it" in r.stdout, r.output
    assert "(it was not as the migration made it)" in cli("db", "upgrade", "--lang", "en").stdout
    assert cli("audit", "verify").exit_code == 0


# ---------------------------------------------------------------- time along the log


def test_recorded_at_going_backwards_is_a_break_naming_both_records(store):
    recs = fill(store, 4)
    # a writer whose clock is behind (on PostgreSQL the time is the server's: only the tables' owner,
    # inserting behind the head by hand, can choose it): the chain itself is sound
    at = "2026-11-27T01:00:00.000000Z"
    body = canonical_json({"type": "review", "claimed_actor": ACTOR})
    h = ledger.record_hash(5, "00000000-0000-4000-8000-000000000005", "review", at, "mallory", body, recs[3].hash)
    with store.write() as s:
        s.execute(sa.text("INSERT INTO decision_log (seq, decision_id, kind, recorded_at, actor, body, prev_hash, hash) "
                          "VALUES (5, '00000000-0000-4000-8000-000000000005', 'review', :at, 'mallory', :body, :prev, :h)"),
                  {"at": dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.timezone.utc), "body": body, "prev": recs[3].hash, "h": h})
        s.execute(sa.text("UPDATE log_head SET seq = 5, hash = :h WHERE id = 1"), {"h": h})
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 4, r.output
    assert ("Chain BROKEN at record 5" in r.stdout and "record 5 was recorded at 2026-11-27T01:00:00.000000Z, before record 4 "
            f"({recs[3].recorded_at})" in r.stdout)
    code, out = verify_json("--from", "5")  # the anchor's time is read too
    assert code == 4 and out["breaks"][0]["problem"] == "time" and out["breaks"][0]["detail"]["previous_seq"] == 4
    assert "时间倒退" in cli("audit", "verify", "--lang", "zh").stdout


def test_equal_times_are_not_a_break(store):
    fill(store, 2)
    last = records(store)[-1]
    at = dt.datetime.fromisoformat(last.recorded_at.replace("Z", "+00:00"))
    with store.write() as s:
        ledger.append(s, "review", {"type": "review"}, at)
    assert ledger.verify(store).intact


# ---------------------------------------------------------------- an anchor noted earlier


def test_expect_head_holds_on_a_log_that_has_grown(store):
    fill(store, 4)
    noted = ledger.head(store)[1]
    with store.write() as s:
        ledger.append(s, "review", {"type": "review"}, dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
    r = cli("audit", "verify", "--expect-head", noted, "--lang", "en")
    assert r.exit_code == 0, r.output
    assert cli("audit", "verify", "--from", "5", "--expect-head", noted).exit_code == 0  # the anchor itself
    assert cli("audit", "verify", "--from", "3", "--expect-head", noted).exit_code == 0
    r = cli("audit", "verify", "--expect-head", "sha256:" + "1" * 64, "--lang", "en")
    assert r.exit_code == 4 and "is not a record of the verified chain" in r.stdout, r.output


def test_expect_head_of_a_record_rewritten_is_a_break(store):
    recs = fill(store, 4)
    noted = recs[2].hash
    with bypass(store) as run:  # record 3 rewritten and everything after it re-chained by a careful forger
        from test_ledger import forged

        prev = recs[1].hash
        for rec in recs[2:]:
            f = forged(rec, body=rec.body_text.replace("经审核同意", "经审核不同意"), prev_hash=prev)
            run("UPDATE decision_log SET body = :body, prev_hash = :prev_hash, hash = :hash WHERE seq = :seq", **f)
            prev = f["hash"]
        run("UPDATE log_head SET hash = :h", h=prev)
    assert ledger.verify(store).intact  # nothing inside the database shows it
    r = cli("audit", "verify", "--expect-head", noted, "--lang", "en")
    assert r.exit_code == 4 and noted in r.stdout, r.output


# ---------------------------------------------------------------- the head and the order of records


HEAD_AND_ORDER_REFUSED = [
    "UPDATE log_head SET seq = 2, hash = (SELECT hash FROM decision_log WHERE seq = 2)",  # the tail cut, the head rewritten
    "UPDATE log_head SET seq = 0, hash = 'sha256:0000000000000000000000000000000000000000000000000000000000000000'",  # the log emptied
    "UPDATE log_head SET seq = 9",  # ahead of the log
    "DELETE FROM log_head",
    "INSERT INTO log_head (id, seq, hash) VALUES (2, 0, 'x')",
    # a record slipped in after a gap, and one that does not follow the head's hash
    "INSERT INTO decision_log (seq, decision_id, kind, recorded_at, actor, body, prev_hash, hash) "
    "SELECT 9, 'a0000000-0000-4000-8000-000000000000', kind, recorded_at, actor, body, hash, 'sha256:x' FROM decision_log WHERE seq = 4",
    "INSERT INTO decision_log (seq, decision_id, kind, recorded_at, actor, body, prev_hash, hash) "
    "SELECT 5, 'a0000000-0000-4000-8000-000000000000', kind, recorded_at, actor, body, hash, 'sha256:x' FROM decision_log WHERE seq = 3",
]


@pytest.mark.parametrize("statement", HEAD_AND_ORDER_REFUSED)
def test_the_head_moves_only_with_the_log_and_records_only_follow_it(store, statement):
    """With the triggers in place, even the tables' owner cannot cut the tail and rewrite the head,
    empty the log, or add a record anywhere but right after the head."""
    recs = fill(store, 4)
    with pytest.raises(sa.exc.DBAPIError) as e:
        _raw(store, statement)
    assert "log_head" in str(e.value.orig) or "a record must follow the head" in str(e.value.orig), e.value.orig
    assert ledger.head(store) == (4, recs[-1].hash) and [r.hash for r in records(store)] == [r.hash for r in recs]
    assert ledger.verify(store).intact


# ---------------------------------------------------------------- explain of a record that fails verification


@pytest.mark.parametrize("lang,first", [("en", "✗ Record 4 FAILS verification: its content cannot be trusted — its content does not match its hash"), ("zh", "✗ 记录 4 未通过校验，其内容不可信")])
def test_explain_warns_first_of_a_record_edited_and_exits_4(store, tmp_path, lang, first):
    """An insider's edit of a record's body (its hash left as it was): explain still shows what the
    record claims — an auditor needs to see it — but under a warning naming why it cannot be
    trusted, and with the exit code of a broken log; the records around it are not flagged."""
    populate(store, tmp_path)
    rec = next(r for r in records(store) if r.seq == 4)  # the review of the DA (explained with engine decision 3)
    assert cli("audit", "explain", "4", "--lang", lang).exit_code == 0
    body = dict(rec.body, reason="同意（后改）")
    with bypass(store) as run:
        run("UPDATE decision_log SET body = :b WHERE seq = 4", b=canonical_json(body))
    r = cli("audit", "explain", "4", "--lang", lang)
    assert r.exit_code == 4, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith(first), lines[0]
    assert "同意（后改）" in r.stdout  # what it claims, shown below the warning
    assert len([x for x in lines if x.startswith("✗")]) == 1  # the engine decision it was made on (3) holds up
    for seq in ("3", "5"):
        assert cli("audit", "explain", seq, "--lang", lang).exit_code == 0, seq


def test_explain_names_a_missing_record_before_the_one_shown(store, tmp_path):
    populate(store, tmp_path)
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq = 6")  # the submission of the RT; 7 is the engine decision it was returned on
    r = cli("audit", "explain", "7", "--lang", "en")
    assert r.exit_code == 4 and r.stdout.startswith("✗ Record 7 FAILS verification"), r.output
    assert "6" in r.stdout.splitlines()[0]
    faults = ledger.explain_faults(store, ledger.explain(store, "7"))
    assert [b.problem for b in faults[7]] == ["gap"]
    assert ledger.explain_faults(store, ledger.explain(store, "4")) == {}


def test_explain_of_an_intact_log_costs_no_walk_and_finds_nothing(store, tmp_path):
    populate(store, tmp_path)
    for seq in range(1, 9):
        assert ledger.explain_faults(store, ledger.explain(store, str(seq))) == {}, seq


# ---------------------------------------------------------------- stored values no writer makes, tables dropped


def test_a_body_that_is_not_json_is_a_broken_log_for_every_reader(store, tmp_path):
    """An insider writes a body that is not JSON (the triggers out of the way): verify names the
    record, and every command that reads bodies says the log is broken (exit 4) — none crashes."""
    populate(store, tmp_path)
    seq = next(r.seq for r in records(store) if r.kind == "engine_decision")
    with bypass(store) as run:
        run("UPDATE decision_log SET body = :b WHERE seq = :s", b="{not json", s=seq)
    code, report = verify_json()
    assert code == 4 and report["breaks"][0]["seq"] == seq
    for args in (("audit", "log"), ("audit", "replay", "--all"), ("audit", "explain", str(seq))):
        r = cli(*args, "--lang", "en")
        assert r.exit_code == 4, (args, r.output)
        assert "Log BROKEN (exit 4):" in r.output and f"record {seq}: its body is not as the office writes it" in r.output, (args, r.output)
    r = cli("audit", "log", "--lang", "zh")
    assert r.exit_code == 4 and "日志在写入后被改动" in r.output
    # reconcile compares what it can read and leaves the unreadable record to verify
    r = cli("audit", "reconcile", "--lang", "en")
    assert "Log BROKEN" not in r.output and "checked against" in r.output, r.output


def test_a_recorded_at_that_is_no_time_is_reported_not_fatal(store):
    """SQLite keeps whatever text it is given in a time column (PostgreSQL's column refuses it)."""
    if store.backend != "sqlite":
        pytest.skip("a timestamptz column cannot hold a text that is no time")
    fill(store, 3)
    with bypass(store) as run:
        run("UPDATE decision_log SET recorded_at = 'garbage' WHERE seq = 2")
    code, report = verify_json()
    assert code == 4 and report["breaks"][0]["seq"] == 2 and report["breaks"][0]["problem"] == "edited"
    r = cli("audit", "log", "--lang", "en")
    assert r.exit_code == 4 and "its recorded_at is not as the office writes it" in r.output, r.output


@pytest.mark.parametrize(("table", "command"), [
    ("submission", ("queue",)), ("submission", ("show", "1")), ("log_head", ("audit", "verify")),
    ("decision_log", ("audit", "log")), ("pack_snapshot", ("audit", "replay", "--all")),
])
def test_a_table_dropped_behind_the_migrations_back_is_named(store, tmp_path, table, command):
    populate(store, tmp_path)
    _raw(store, f"DROP TABLE {table}" + (" CASCADE" if store.backend == "postgresql" else ""))
    r = cli(*command, "--lang", "en")
    assert r.exit_code == 6, r.output
    assert "the database is not as its migrations made it" in r.output and table in r.output, r.output
    r = cli("db", "status", "--lang", "en")
    assert f"The table {table} is missing" in r.stdout, r.output
    assert "Run `icv-permits db upgrade`" not in r.stdout
    assert json.loads(cli("db", "status", "--format", "json").stdout)["tables_missing"] == [table]


@pytest.mark.parametrize("content", ["[]", "{not json", "null"])
def test_a_snapshot_that_is_no_pack_at_all_is_broken_and_its_decisions_not_replayed(store, tmp_path, content):
    populate(store, tmp_path)
    _write_snapshot(store, content)
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 4 and "BROKEN" in r.stdout and "the snapshot was changed after it was stored" in r.stdout, r.output
    r = cli("audit", "replay", "--all", "--lang", "en")
    assert r.exit_code == 1 and "not replayed: the pack snapshot" in r.stdout, r.output


def test_a_snapshot_in_the_older_form_that_is_no_pack_is_unproven_and_not_replayed(store, tmp_path):
    """A mapping that is not a pack reads as the older form, which verification cannot prove (a
    note); replaying its decisions cannot build the pack from it, and says so."""
    populate(store, tmp_path)
    _write_snapshot(store, {"meta": 1})
    r = cli("audit", "verify", "--lang", "en")
    assert "verification cannot prove it genuine" in r.stdout, r.output
    r = cli("audit", "replay", "--all", "--lang", "en")
    assert r.exit_code == 1 and "not replayed: the pack snapshot" in r.stdout, r.output


@pytest.mark.parametrize("head", ["zz", "sha256:" + "0" * 63, "SHA256:" + "0" * 64, "sha256:" + "g" * 64])
def test_an_expected_head_that_is_no_hash_is_bad_input_not_a_break(store, head):
    fill(store, 2)
    for lang, says in (("en", "--expect-head: must be a hash (sha256: and 64 lower-case hexadecimal digits)"), ("zh", "--expect-head: 必须是")):
        r = cli("audit", "verify", "--expect-head", head, "--lang", lang)
        assert r.exit_code == 2 and says in r.output and "BROKEN" not in r.output, r.output
    assert cli("audit", "verify", "--expect-head", records(store)[-1].hash).exit_code == 0
