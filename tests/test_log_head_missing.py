"""The log's head row (``log_head``) deleted by someone who stepped around the triggers, and
``audit verify --from`` beyond the end of the log.

Without its head nothing can be appended: ``submit`` and ``decide`` refuse before writing anything
(exit 4, "the log's head is missing"), ``audit verify`` says the head is missing (not that record 1
is broken), ``audit import`` refuses to load into such a database, and ``db upgrade`` puts the head
back only while the log is empty — with records the head they had is unknown, and a head made up
from the last record left would hide a cut tail.

Store tests run on SQLite and (with ``ICV_PERMITS_TEST_PG_URL``) PostgreSQL through the ``store``
fixture; the CLI runs in process (``test_ledger.cli``)."""

from __future__ import annotations

import sqlalchemy as sa
from builders import DA, baseline
from test_ledger import (
    ACTOR,
    bypass,
    cli,
    fill,
    populate,
    records,
    rt_other_entity,
    submit,
    verify_json,
    write_app,
)
from test_ledger_cli import export, fresh_sqlite

from icv_permits.adapters.store import db
from icv_permits.adapters.store import tables as T
from icv_permits.services import audit as ledger


def _delete_head(store) -> None:
    with bypass(store) as run:
        run("DELETE FROM log_head")


def _counts(store) -> dict[str, int]:
    with store.read() as s:
        return {t.__tablename__: s.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in (T.DecisionLog, T.LogHead, T.Submission, T.SubmissionVersion, T.EngineRun, T.Review, T.Notice, T.Plate)}


# ---------------------------------------------------------------- submit and decide


def test_submit_and_decide_refuse_without_the_head_and_write_nothing(store, tmp_path):
    under_review = submit(store, tmp_path, baseline(DA)).submission.id
    _delete_head(store)
    before = _counts(store)
    assert before["log_head"] == 0 and before["decision_log"] == 2

    path = write_app(tmp_path, rt_other_entity())
    for lang, words in (("en", "the log's head is missing"), ("zh", "日志链头")):
        r = cli("submit", path, "--actor", ACTOR, "--lang", lang)
        assert r.exit_code == 4, r.output
        assert words in r.stderr and "audit verify" in r.stderr and "db upgrade" in r.stderr, r.stderr
        assert "NoResultFound" not in r.output and "Traceback" not in r.output
    r = cli("submit", path, "--actor", ACTOR, "--lang", "en")
    assert r.stderr.startswith("Log BROKEN (exit 4):\nlog_head: the log's head is missing: nothing can be added to the log."), r.stderr

    r = cli("decide", under_review, "--approve", "--actor", ACTOR, "--lang", "en")
    assert r.exit_code == 4 and "the log's head is missing" in r.stderr, r.output
    assert _counts(store) == before  # nothing written: no submission, run, review or record


def test_audit_verify_says_the_head_is_missing_not_that_record_1_is_broken(store, tmp_path):
    populate(store, tmp_path)
    _delete_head(store)
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 4, r.output
    assert "The log's head (table log_head) is missing: the 8 records verified cannot be checked against a cut tail" in r.stdout, r.stdout
    assert "Chain BROKEN" not in r.stdout and "record 1" not in r.stdout
    assert "The log is NOT intact." in r.stdout
    assert "日志链头" in cli("audit", "verify", "--lang", "zh").stdout
    code, out = verify_json()
    assert code == 4 and [b["problem"] for b in out["breaks"]] == ["head_missing"] and out["breaks"][0]["detail"] == {"last_seq": 8}
    assert out["checked"] == 8

    # the records themselves are still listed and explained
    r = cli("audit", "log", "--limit", "3", "--lang", "en")
    assert r.exit_code == 0 and [line.split()[0] for line in r.stdout.splitlines()[2:]] == ["6", "7", "8"], r.stdout
    assert cli("audit", "explain", "4", "--lang", "en").exit_code == 0


def test_an_empty_log_without_its_head_is_named_too(store):
    _delete_head(store)
    code, out = verify_json()
    assert code == 4 and [b["problem"] for b in out["breaks"]] == ["head_missing"] and out["checked"] == 0


# ---------------------------------------------------------------- db upgrade


def test_db_upgrade_restores_the_head_of_an_empty_log(store, tmp_path):
    _delete_head(store)
    r = cli("db", "upgrade", "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "Restored the log's head (table log_head), which was missing: the log is empty" in r.stdout, r.stdout
    assert "Restored the append-only trigger" not in r.stdout  # the trigger stepped around was put back as it was
    assert ledger.head_row(store) == (0, ledger.GENESIS)
    assert ledger.verify(store).intact
    # and the office works again, on a chain that starts at genesis
    assert cli("submit", write_app(tmp_path, baseline(DA)), "--actor", ACTOR, "--lang", "en").exit_code == 0
    assert ledger.verify(store).intact and ledger.head(store)[0] == 2
    # a second upgrade has nothing to do
    assert "log_head" not in cli("db", "upgrade", "--lang", "en").output


def test_db_upgrade_leaves_the_head_missing_when_the_log_has_records(store, tmp_path):
    fill(store, 4)
    _delete_head(store)
    for lang, words in (("en", "The log's head (table log_head) is missing and the log holds 4 records: NOT restored"), ("zh", "日志链头")):
        r = cli("db", "upgrade", "--lang", lang)
        assert r.exit_code == 0, r.output
        assert words in r.stderr and "Restored the log's head" not in r.output, r.output
    assert ledger.head_row(store) is None
    assert cli("audit", "verify").exit_code == 4
    assert db.trigger_problems(store.engine) == []  # the triggers are all in place


# ---------------------------------------------------------------- import


def test_import_into_a_database_without_the_head_is_refused(store, tmp_path, monkeypatch):
    source = db.open_store(fresh_sqlite(tmp_path, "source.db"))
    populate(source, tmp_path)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", source.url)
    path = export(tmp_path)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", store.url)
    _delete_head(store)
    r = cli("audit", "import", path, "--lang", "en")
    assert r.exit_code == 4 and "the log's head is missing" in r.stderr, r.output
    assert records(store) == [] and ledger.head_row(store) is None
    cli("db", "upgrade")
    assert cli("audit", "import", path).exit_code == 0 and len(records(store)) == 8


# ---------------------------------------------------------------- verify --from beyond the end


def test_verify_from_beyond_the_end_says_how_many_records_the_log_has(store, tmp_path):
    for lang, words in (("en", "--from: the log is empty: there is no record 1 to start after (the highest --from is 1)"), ("zh", "日志是空的")):
        r = cli("audit", "verify", "--from", "2", "--lang", lang)
        assert r.exit_code == 4, r.output
        assert words in r.stderr and "missing" not in r.stderr, r.stderr
    assert cli("audit", "verify", "--from", "1").exit_code == 0
    fill(store, 3)
    r = cli("audit", "verify", "--from", "9", "--lang", "en")
    assert r.exit_code == 4, r.output
    assert r.stderr == "Not found (exit 4):\n--from: the log has only 3 records: there is no record 8 to start after (the highest --from is 4)\n", r.stderr
    assert "只有 3 条记录" in cli("audit", "verify", "--from", "9", "--lang", "zh").stderr
    # the next record to be written: nothing new to verify, and that is intact
    r = cli("audit", "verify", "--from", "4", "--lang", "en")
    assert r.exit_code == 0 and "Chain intact: 0 records checked" in r.stdout, r.output
    assert cli("audit", "verify", "--from", "3").exit_code == 0


def test_verify_from_beyond_a_cut_tail_names_the_cut(store, tmp_path):
    fill(store, 5)
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq > 2")
    code, out = verify_json("--from", "5")
    assert code == 4 and out["first_break"]["problem"] == "head" and out["first_break"]["seq"] == 3, out
    assert out["first_break"]["detail"]["head_seq"] == 5 and out["first_break"]["detail"]["last_seq"] == 2
    r = cli("audit", "verify", "--from", "5", "--lang", "en")
    assert "the log head says seq 5 but the last record is 2" in r.stdout, r.output


def test_verify_from_after_a_hole_names_the_next_record_found(store, tmp_path):
    fill(store, 6)
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq IN (3, 4)")
    code, out = verify_json("--from", "5")
    assert code == 4 and out["first_break"]["problem"] == "gap", out
    assert out["first_break"]["detail"] == {"expected_seq": 4, "found_seq": 5}
