"""Migration 0006: one submission under review per entity and application id, on SQLite and
PostgreSQL. A store written before it may hold two under review for one application; the upgrade
then stops, names them and changes nothing, rather than failing on the index or choosing one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa
from alembic import command

from icv_permits.adapters.store import db
from icv_permits.adapters.store import tables as T
from icv_permits.adapters.store.db import Conflict
from icv_permits.services import office as W
from icv_permits.services.precheck import FixedClock

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "da-compliant.yaml"
CLOCK = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, 0, tz="Asia/Shanghai"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def downgrade(url: str, revision: str) -> None:
    cfg = db.alembic_config(url)
    with db._engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def revision(url: str) -> str | None:
    return db.current_revision(db._engine(url))


def index_names(url: str) -> set[str]:
    with db._engine(url).connect() as conn:
        return {ix["name"] for ix in sa.inspect(conn).get_indexes("submission")}


def copy_submission(url: str, sub_id: int, **changes) -> int:
    """A second row like submission ``sub_id`` (as two racing imports wrote them before 0006)."""
    with db._engine(url).begin() as conn:
        row = dict(conn.execute(sa.select(T.Submission.__table__).where(T.Submission.__table__.c.id == sub_id)).mappings().one())
        row.pop("id")
        row.update(changes)
        return conn.execute(sa.insert(T.Submission.__table__).values(**row)).inserted_primary_key[0]


def set_state(url: str, sub_id: int, state: str) -> None:
    with db._engine(url).begin() as conn:
        conn.execute(sa.update(T.Submission.__table__).where(T.Submission.__table__.c.id == sub_id).values(state=state))


def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    env.update(ICV_PERMITS_DATABASE_URL=url, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "icv_permits.cli", *args], cwd=ROOT, env=env, capture_output=True, encoding="utf-8",
                          timeout=120, check=False)


def test_the_index_is_made_and_undone(db_url):
    db.upgrade(db_url)
    assert T.ONE_UNDER_REVIEW in index_names(db_url)
    downgrade(db_url, "0005")
    assert revision(db_url) == "0005"
    assert T.ONE_UNDER_REVIEW not in index_names(db_url)
    db.upgrade(db_url)
    assert revision(db_url) == db.head_revision()
    assert T.ONE_UNDER_REVIEW in index_names(db_url)


def test_the_database_refuses_a_second_submission_under_review(db_url):
    """The index, whoever writes: another row under review for the same entity and application id
    is refused; the same row decided, or under another id, or without an id, is not."""
    db.upgrade(db_url)
    sub = W.submit(db.open_store(db_url), EXAMPLE, actor="clerk", clock=CLOCK).submission
    with pytest.raises(sa.exc.IntegrityError):
        copy_submission(db_url, sub.id)
    copy_submission(db_url, sub.id, state="returned")
    copy_submission(db_url, sub.id, application_id=sub.application_id + "-2")
    copy_submission(db_url, sub.id, application_id=None)
    copy_submission(db_url, sub.id, application_id=None)


def test_upgrade_stops_on_two_submissions_under_review_for_one_application(db_url):
    """A store at 0005 holding two submissions under review for one application (and three for
    another): ``db upgrade`` exits 5 naming each application and its submissions, in English and
    in Chinese, without a traceback; the database stays at 0005 with nothing changed. Once all but
    one of each are decided, the upgrade goes through."""
    db.upgrade(db_url)
    store = db.open_store(db_url)
    first = W.submit(store, EXAMPLE, actor="clerk", clock=CLOCK).submission
    downgrade(db_url, "0005")
    second = copy_submission(db_url, first.id)
    other = [copy_submission(db_url, first.id, application_id="AH-DA-2026-ZZZZ") for _ in range(3)]
    db.dispose_all()

    with pytest.raises(Conflict) as caught:
        db.upgrade(db_url)
    problem, = caught.value.problems
    assert caught.value.exit_code == 5 and problem.code == "several_under_review"
    assert problem.params["count"] == 2
    assert problem.params["submissions"] == (f"{first.credit_code} {first.application_id}: {first.id}, {second}; "
                                             f"{first.credit_code} AH-DA-2026-ZZZZ: {', '.join(map(str, other))}")
    assert revision(db_url) == "0005"
    assert T.ONE_UNDER_REVIEW not in index_names(db_url)
    db.dispose_all()

    en = cli(db_url, "db", "upgrade", "--lang", "en")
    assert en.returncode == 5, (en.stdout, en.stderr)
    assert "Traceback" not in en.stdout + en.stderr and en.stdout == ""
    assert "Conflict (exit 5)" in en.stderr
    assert "applications with more than one submission under review: 2" in en.stderr
    assert f"{first.credit_code} {first.application_id}: {first.id}, {second}" in en.stderr
    assert "then run `icv-permits db upgrade` again" in en.stderr
    zh = cli(db_url, "db", "upgrade")
    assert zh.returncode == 5 and CJK.search(zh.stderr) and "Traceback" not in zh.stderr, zh.stderr
    assert f"{first.credit_code} {first.application_id}: {first.id}, {second}" in zh.stderr
    assert revision(db_url) == "0005"
    with db._engine(db_url).connect() as conn:
        states = conn.execute(sa.select(T.Submission.__table__.c.state)).scalars().all()
    assert states == ["under_review"] * 5

    set_state(db_url, second, "rejected")
    with pytest.raises(Conflict) as caught:
        db.upgrade(db_url)
    assert caught.value.problems[0].params["count"] == 1
    for sub_id in other[1:]:
        set_state(db_url, sub_id, "returned")
    db.dispose_all()
    ok = cli(db_url, "db", "upgrade", "--lang", "en")
    assert ok.returncode == 0, ok.stderr
    assert f"0005 → {db.head_revision()}" in ok.stdout
    assert T.ONE_UNDER_REVIEW in index_names(db_url)
