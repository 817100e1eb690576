"""Two regulators at once: optimistic revision checks, illegal transitions and unique counters under
real concurrency, on SQLite and PostgreSQL (the ``store`` fixture of ``conftest.py``).

Threads share one process and one engine per URL, as two TUI sessions would; one test races two
real ``icv-permits decide`` processes. A :class:`threading.Barrier` lines the racers up so that
both have read the same revision before either decides. The clock is fixed (``FixedClock``).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pendulum
import pytest
import yaml
from sqlalchemy import func, select

from icv_permits.adapters.documents import read_document
from icv_permits.adapters.store import tables as T
from icv_permits.adapters.store.db import Conflict
from icv_permits.core.model.ids import (
    resident_id_check_char,
    uscc_check_char,
    vin_check_digit,
)
from icv_permits.adapters.store import records
from icv_permits.services import office as W
from icv_permits.services.precheck import FixedClock

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "da-compliant.yaml"
NOW = pendulum.datetime(2026, 11, 27, 10, 0, 0, tz="Asia/Shanghai")
NOW_ISO = "2026-11-27T10:00:00+08:00"
CLOCK = FixedClock(NOW)
BARRIER_TIMEOUT = 60


# ---------------------------------------------------------------- helpers


def backend_of(store) -> str:
    return store.backend  # "sqlite" or "postgresql"


def xfail_on_postgresql(request, store, reason: str) -> None:
    if backend_of(store) == "postgresql":
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def rendezvous_on_postgresql(store, monkeypatch, owner, name: str, parties: int, timeout: float = 5.0) -> None:
    """On PostgreSQL, hold each racer's first call of ``owner.name`` until all ``parties`` racers
    are inside their transactions at that point, so the interleaving under test happens every run
    and not only by chance. (Not on SQLite: ``BEGIN IMMEDIATE`` lets one writer in at a time, so
    the others could never arrive.) A racer that is kept out, e.g. by a lock taken earlier in a
    fixed version, only delays the others by ``timeout``."""
    if backend_of(store) != "postgresql":
        return
    real = getattr(owner, name)
    barrier = threading.Barrier(parties, timeout=timeout)
    arrived: set[int] = set()

    def wrapper(*a, **kw):
        me = threading.get_ident()
        if me not in arrived:
            arrived.add(me)
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return real(*a, **kw)

    monkeypatch.setattr(owner, name, wrapper)


def count(store, table, *where) -> int:
    with store.read() as s:
        q = select(func.count()).select_from(table)
        for w in where:
            q = q.where(w)
        return s.exec(q).scalar_one()


def submission_row(store, sub_id: int) -> T.Submission:
    with store.read() as s:
        return s.exec(select(T.Submission).where(T.Submission.id == sub_id)).scalars().one()


def race(*calls):
    """Run each zero-argument callable in its own thread, released together by a barrier that
    each callable must wait on (it receives it). Returns each one's result or exception."""
    barrier = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT)
    results: list[object] = [None] * len(calls)

    def go(i):
        try:
            results[i] = calls[i](barrier)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc

    threads = [threading.Thread(target=go, args=(i,), name=f"racer-{i}") for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
        assert not t.is_alive(), "a racer hung"
    return results


def slow_engine(monkeypatch, seconds: float = 0.25) -> None:
    """Make the engine run inside ``decide``'s write transaction take a while, so that the second
    racer arrives while the first still holds the row (PostgreSQL) or the write lock (SQLite)."""
    real = W.evaluate

    def evaluate(*a, **kw):
        time.sleep(seconds)
        return real(*a, **kw)

    monkeypatch.setattr(W, "evaluate", evaluate)


def submit_example(store, path: Path = EXAMPLE) -> int:
    r = W.submit(store, path, actor="clerk", clock=CLOCK)
    assert r.submission.state == "under_review"
    assert r.decision.verdict.value == "compliant", "the example must be compliant on the fixed day"
    return r.submission.id


def distinct_application(i: int, *, same_entity: bool = False) -> dict:
    """examples/da-compliant.yaml with its own application id and VINs; its own entity and drivers
    too unless ``same_entity``. Check characters are valid."""
    app = copy.deepcopy(read_document(EXAMPLE))
    app["application_id"] = f"AH-DA-2026-C{i:04d}"
    if not same_entity:
        first17 = f"91340100MA{9_000_000 + i:07d}"
        app["entity"]["credit_code"] = first17 + uscc_check_char(first17)
        app["entity"]["name"] = f"合肥并发测试{i}科技有限公司"
        app["entity"]["contact_phone"] = f"138{i:08d}"
        for j, d in enumerate(app["drivers"]):
            body = f"3401041986{(i % 12) + 1:02d}{j + 1:02d}{100 + i:03d}"
            d["id_number"] = body + resident_id_check_char(body)
            if d.get("phone"):
                d["phone"] = f"139{2 * i + j:08d}"
    vins = []
    for j in range(len(app["vehicles"])):
        body = f"LSVAU2180N2{700_000 + 2 * i + j:06d}"
        vins.append(body[:8] + vin_check_digit(body) + body[9:])
    for v, vin in zip(app["vehicles"], vins):
        v["vin"] = vin
    for policy in app["insurance"]:
        policy["vins"] = list(vins)
    for incident in app["incidents"]:
        incident["vin"] = vins[0]
    app["notices"] = []  # an earlier Anhui notice is taken from the records anyway (REC-01)
    return app


def write_apps(tmp_path: Path, n: int, *, same_entity: bool = False, start: int = 0) -> list[Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        p = tmp_path / f"app-{i:02d}.yaml"
        p.write_text(yaml.safe_dump(distinct_application(i, same_entity=same_entity), allow_unicode=True, sort_keys=False), encoding="utf-8")
        paths.append(p)
    return paths


def all_numbers(store) -> tuple[list[str], list[str]]:
    with store.read() as s:
        notices = s.exec(select(T.Notice.number)).scalars().all()
        plates = s.exec(select(T.Plate.number)).scalars().all()
    return list(notices), list(plates)


# ---------------------------------------------------------------- one submission, two regulators


@pytest.mark.parametrize("actions", [("approve", "approve"), ("approve", "return")], ids=["approve-approve", "approve-return"])
def test_same_revision_exactly_one_decision_wins(store, monkeypatch, actions):
    sub_id = submit_example(store)
    slow_engine(monkeypatch)
    seen: dict[int, int] = {}

    def regulator(i: int, action: str):
        def call(barrier):
            view, _ = W.show(store, sub_id)
            seen[i] = view.revision
            barrier.wait()  # both have read revision N before either decides
            return W.decide(store, sub_id, action, reason="材料不全，请补正" if action != "approve" else None,
                            actor=f"regulator-{i}", clock=CLOCK, expected_revision=view.revision)
        return call

    results = race(*(regulator(i, a) for i, a in enumerate(actions)))

    n = seen[0]
    assert seen == {0: n, 1: n}
    winners = [(i, r) for i, r in enumerate(results) if isinstance(r, W.DecideResult)]
    losers = [(i, r) for i, r in enumerate(results) if not isinstance(r, W.DecideResult)]
    assert len(winners) == 1 and len(losers) == 1, results
    (wi, won), (_, lost) = winners[0], losers[0]
    assert isinstance(lost, Conflict), repr(lost)
    assert lost.exit_code == 5
    assert [p.code for p in lost.problems] == ["stale_revision"]

    row = submission_row(store, sub_id)
    assert row.revision == n + 1
    assert won.submission.revision == n + 1
    expected_state = {"approve": "approved", "return": "returned"}[actions[wi]]
    assert row.state == expected_state
    assert count(store, T.Review, T.Review.submission_id == sub_id) == 1
    notices = count(store, T.Notice, T.Notice.submission_id == sub_id)
    assert notices <= 1
    assert notices == (1 if actions[wi] == "approve" else 0)
    with store.read() as s:
        review = s.exec(select(T.Review).where(T.Review.submission_id == sub_id)).scalars().one()
        purposes = s.exec(select(T.EngineRun.purpose).join(T.SubmissionVersion, T.SubmissionVersion.id == T.EngineRun.version_id)
                          .where(T.SubmissionVersion.submission_id == sub_id).order_by(T.EngineRun.id)).scalars().all()
    assert review.actor == f"regulator-{wi}"
    assert review.action == actions[wi]
    assert purposes == ["submit", "decide"], "the loser's engine run must not be kept"


def test_approve_and_reject_without_revision_one_wins_other_is_illegal(store, monkeypatch):
    sub_id = submit_example(store)
    slow_engine(monkeypatch)

    def approve(barrier):
        barrier.wait()
        return W.decide(store, sub_id, "approve", reason=None, actor="regulator-approve", clock=CLOCK)

    def reject(barrier):
        barrier.wait()
        return W.decide(store, sub_id, "reject", reason="不符合示范条件", actor="regulator-reject", clock=CLOCK)

    results = race(approve, reject)
    winners = [r for r in results if isinstance(r, W.DecideResult)]
    losers = [r for r in results if not isinstance(r, W.DecideResult)]
    assert len(winners) == 1 and len(losers) == 1, results
    lost = losers[0]
    assert isinstance(lost, Conflict), repr(lost)
    assert lost.exit_code == 5
    assert [p.code for p in lost.problems] == ["illegal_transition"]

    won = winners[0]
    action = won.review["action"]
    row = submission_row(store, sub_id)
    assert row.state == {"approve": "approved", "reject": "rejected"}[action]
    assert row.revision == 2
    assert count(store, T.Review, T.Review.submission_id == sub_id) == 1
    assert count(store, T.Notice, T.Notice.submission_id == sub_id) == (1 if action == "approve" else 0)
    assert count(store, T.Plate) == (2 if action == "approve" else 0)
    # nothing lost: the winner's decision is what show reports
    view, _ = W.show(store, sub_id)
    assert [r["action"] for r in view.reviews] == [action]
    assert view.reviews[0]["actor"] == f"regulator-{action}"


def test_two_cli_processes_same_revision(store):
    """Two real ``icv-permits decide`` processes, both at --if-revision 1: one exits 0, one 5."""
    sub_id = submit_example(store)
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    env.update(ICV_PERMITS_DATABASE_URL=store.url, ICV_PERMITS_NOW=NOW_ISO, PYTHONIOENCODING="utf-8")
    commands = [
        ["decide", str(sub_id), "--approve", "--if-revision", "1", "--actor", "regulator-a", "--format", "json", "--lang", "en"],
        ["decide", str(sub_id), "--return", "--reason", "补充保险单", "--if-revision", "1", "--actor", "regulator-b", "--format", "json", "--lang", "en"],
    ]

    def process(args):
        def call(barrier):
            barrier.wait()
            return subprocess.run([sys.executable, "-m", "icv_permits.cli", *args], cwd=ROOT, env=env, capture_output=True,
                                  encoding="utf-8", timeout=120)
        return call

    results = race(*(process(c) for c in commands))
    for r in results:
        assert isinstance(r, subprocess.CompletedProcess), repr(r)
        assert "Traceback" not in r.stdout + r.stderr, r.stderr
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 5], [(r.returncode, r.stderr) for r in results]
    won = next(r for r in results if r.returncode == 0)
    lost = next(r for r in results if r.returncode == 5)
    assert "Conflict (exit 5)" in lost.stderr
    assert lost.stdout == ""
    data = json.loads(won.stdout)
    assert data["submission"]["revision"] == 2
    row = submission_row(store, sub_id)
    assert row.revision == 2
    assert row.state == data["submission"]["state"] == data["review"]["to_state"]
    assert count(store, T.Review, T.Review.submission_id == sub_id) == 1
    assert count(store, T.Notice, T.Notice.submission_id == sub_id) == (1 if data["review"]["action"] == "approve" else 0)


# ---------------------------------------------------------------- many submissions at once


def submitter(store, p: Path):
    def call(barrier):
        barrier.wait()
        return W.submit(store, p, actor=f"clerk-{p.stem}", clock=CLOCK)
    return call


def approver(store, sub_id: int):
    def call(barrier):
        barrier.wait()
        return W.decide(store, sub_id, "approve", reason=None, actor=f"regulator-{sub_id}", clock=CLOCK)
    return call


def assert_all_submitted(store, results, n: int) -> list[int]:
    errors = [r for r in results if not isinstance(r, W.SubmitResult)]
    assert not errors, errors
    ids = [r.submission.id for r in results]
    assert len(set(ids)) == n
    assert all(r.new_submission and r.submission.revision == 1 and r.submission.state == "under_review" for r in results)
    assert all(r.decision.verdict.value == "compliant" for r in results)
    return ids


def test_concurrent_submits_of_different_files_on_a_fresh_store(request, store, tmp_path, monkeypatch):
    """Ten applicants submit at once to a store that has recorded nothing yet."""
    rendezvous_on_postgresql(store, monkeypatch, W.audit, "snapshot_pack", 10)
    paths = write_apps(tmp_path, 10)
    ids = assert_all_submitted(store, race(*(submitter(store, p) for p in paths)), 10)
    assert count(store, T.Submission) == 10
    assert count(store, T.SubmissionVersion) == 10
    assert count(store, T.Entity) == 10
    assert sorted(v.id for v in W.queue(store)) == sorted(ids)


def test_concurrent_submits_and_approvals_take_distinct_consecutive_numbers(store, tmp_path):
    """With the store in use (one application submitted and approved before), ten applicants submit
    at once, then ten regulators approve at once: every submission stored with its own id, every
    notice and plate number distinct and consecutive (the counters are taken under a lock)."""
    first = W.submit(store, write_apps(tmp_path / "earlier", 1, start=50)[0], actor="clerk", clock=CLOCK).submission.id
    W.decide(store, first, "approve", reason=None, actor="regulator-0", clock=CLOCK)

    paths = write_apps(tmp_path, 10)
    ids = assert_all_submitted(store, race(*(submitter(store, p) for p in paths)), 10)
    assert first not in ids
    assert count(store, T.Submission) == 11
    assert count(store, T.SubmissionVersion) == 11
    assert {v.application_id for v in W.queue(store)} == {f"AH-DA-2026-C{i:04d}" for i in range(10)}

    decided = race(*(approver(store, i) for i in ids))
    errors = [r for r in decided if not isinstance(r, W.DecideResult)]
    assert not errors, errors
    notices, plates = all_numbers(store)
    assert sorted(notices) == [f"AH-DA-2026-{k:04d}" for k in range(1, 12)]
    assert sorted(plates) == [f"AH-TP-2026-{k:05d}" for k in range(1, 23)]
    by_sub = {r.submission.id: r.notice["number"] for r in decided}
    assert len(set(by_sub.values())) == 10
    assert count(store, T.Submission, T.Submission.state == "approved") == 11
    assert count(store, T.Review) == 11


def test_concurrent_first_approvals_take_distinct_numbers(request, store, tmp_path, monkeypatch):
    """Approvals racing on a store that has issued nothing yet this year (the counters do not exist)."""
    ids = [W.submit(store, p, actor="clerk", clock=CLOCK).submission.id for p in write_apps(tmp_path, 4)]
    rendezvous_on_postgresql(store, monkeypatch, records, "_next", 4)
    decided = race(*(approver(store, i) for i in ids))
    errors = [r for r in decided if not isinstance(r, W.DecideResult)]
    assert not errors, errors
    notices, plates = all_numbers(store)
    assert sorted(notices) == [f"AH-DA-2026-{k:04d}" for k in range(1, 5)]
    assert sorted(plates) == [f"AH-TP-2026-{k:05d}" for k in range(1, 9)]


def test_concurrent_submits_from_one_new_entity(request, store, tmp_path, monkeypatch):
    """One applicant (not yet on record) sends several applications at once, sharing its drivers."""
    # the pack snapshot exists (someone else submitted earlier), so only the parties can race
    W.submit(store, write_apps(tmp_path / "other", 1, start=50)[0], actor="clerk", clock=CLOCK)
    paths = write_apps(tmp_path, 4, same_entity=True)
    rendezvous_on_postgresql(store, monkeypatch, records, "upsert_parties", 4)
    assert_all_submitted(store, race(*(submitter(store, p) for p in paths)), 4)
    assert count(store, T.Entity) == 2
    assert count(store, T.Driver) == 4


# ---------------------------------------------------------------- other writers of one record


def test_two_renewals_of_one_notice_renew_once(store, monkeypatch):
    """Two regulators renew the same notice's plates at once: one renews, the other is told there
    is nothing left to renew; no vehicle gets two new plates."""
    sub_id = submit_example(store)
    notice = W.decide(store, sub_id, "approve", reason=None, actor="regulator-0", clock=CLOCK).notice["number"]
    later = FixedClock(pendulum.datetime(2027, 5, 10, 10, tz="Asia/Shanghai"))

    def renew(i):
        def call(barrier):
            barrier.wait()
            return W.renew_plates(store, notice, actor=f"regulator-{i}", clock=later)
        return call

    results = race(renew(1), renew(2))
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if not isinstance(r, dict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], Conflict) and [p.code for p in lost[0].problems] == ["nothing_to_renew"], repr(lost[0])
    assert len(won[0]["renewed"]) == 2
    assert count(store, T.Plate) == 4
    with store.read() as s:
        renewals = s.exec(select(T.Plate.renews_id).where(T.Plate.renews_id.is_not(None))).scalars().all()
    assert len(renewals) == len(set(renewals)) == 2


def test_two_corrections_of_one_returned_submission(store, tmp_path):
    """Two clerks file a corrected version of the same returned submission at once: one becomes
    version 2, the other is refused with a conflict; there is no version 3."""
    sub_id = submit_example(store)
    W.decide(store, sub_id, "return", reason="请补正", actor="regulator-0", clock=CLOCK)
    returned = submission_row(store, sub_id)
    assert (returned.state, returned.revision) == ("returned", 2)
    doc = read_document(EXAMPLE)
    paths = []
    for i in range(2):
        doc["entity"]["name"] = f"合肥星途智行科技有限公司{i}"
        p = tmp_path / f"correction-{i}.yaml"
        p.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        paths.append(p)

    def correct(p):
        def call(barrier):
            barrier.wait()
            return W.submit(store, p, actor=f"clerk-{p.stem}", clock=CLOCK, resubmits=sub_id)
        return call

    results = race(*(correct(p) for p in paths))
    won = [r for r in results if isinstance(r, W.SubmitResult)]
    lost = [r for r in results if not isinstance(r, W.SubmitResult)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], Conflict) and lost[0].exit_code == 5, repr(lost[0])
    assert won[0].new_submission is False and won[0].submission.id == sub_id
    row = submission_row(store, sub_id)
    assert (row.state, row.revision, row.current_version) == ("under_review", 3, 2)
    assert count(store, T.SubmissionVersion, T.SubmissionVersion.submission_id == sub_id) == 2


# ---------------------------------------------------------------- one application, one submission under review


def copies_of_one_application(tmp_path: Path, n: int, i: int = 0) -> list[Path]:
    """``n`` files of the same application (same entity, same ``application_id``), as several
    clerks would each import the copy they were sent."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(distinct_application(i), allow_unicode=True, sort_keys=False)
    paths = []
    for k in range(n):
        p = tmp_path / f"copy-{k:02d}.yaml"
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths


def log_kinds(store) -> list[str]:
    with store.read() as s:
        return list(s.exec(select(T.DecisionLog.kind).order_by(T.DecisionLog.seq)).scalars().all())


@pytest.mark.parametrize("earlier", ["another_application", "the_same_rejected", "the_same_approved"])
def test_concurrent_submits_of_one_application_make_one_submission_under_review(store, tmp_path, monkeypatch, earlier):
    """Six clerks import the same application (same entity, same application id, none under review)
    at once: exactly one becomes a submission under review; the five others are refused as already
    under review (exit 5) and leave nothing behind — no new submission, version, engine run or log
    record. The entity, its vehicles and drivers are on record already (from an earlier submission:
    of another application, or of this one, decided), so nothing else makes the racers wait for
    each other. On PostgreSQL every racer is held inside its transaction where it looks for the
    application's submissions, so without the entity's lock all six would find none."""
    paths = copies_of_one_application(tmp_path, 6)
    doc = read_document(paths[0])
    if earlier == "another_application":
        doc["application_id"] += "-EARLIER"
    first = tmp_path / "earlier.yaml"
    first.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    before = submit_example(store, first)
    if earlier != "another_application":
        W.decide(store, before, "reject" if earlier == "the_same_rejected" else "approve",
                 reason="不予批准" if earlier == "the_same_rejected" else None, actor="regulator-0", clock=CLOCK)
    kinds_before = log_kinds(store)
    rendezvous_on_postgresql(store, monkeypatch, W, "_target_submission", 6)
    results = race(*(submitter(store, p) for p in paths))

    won = [r for r in results if isinstance(r, W.SubmitResult)]
    lost = [r for r in results if not isinstance(r, W.SubmitResult)]
    assert len(won) == 1 and len(lost) == 5, results
    assert won[0].new_submission and won[0].submission.state == "under_review" and won[0].submission.revision == 1
    for exc in lost:
        assert isinstance(exc, Conflict) and exc.exit_code == 5, repr(exc)
        assert [p.code for p in exc.problems] == ["already_under_review"], exc.problems
        assert exc.problems[0].params == {"ref": "AH-DA-2026-C0000", "id": won[0].submission.id}
    assert count(store, T.Submission) == 2
    assert count(store, T.Submission, T.Submission.application_id == "AH-DA-2026-C0000", T.Submission.state == "under_review") == 1
    assert count(store, T.SubmissionVersion) == 2
    assert count(store, T.EngineRun, T.EngineRun.purpose == "submit") == 2
    assert log_kinds(store) == kinds_before + ["engine_decision", "submission"]
    assert won[0].submission.id in [v.id for v in W.queue(store)]


def test_concurrent_submits_of_a_returned_application_make_one_new_version(store, tmp_path, monkeypatch):
    """The application was returned; six clerks import its corrected file at once: one becomes
    version 2 of the returned submission, the others find it under review again (exit 5)."""
    paths = copies_of_one_application(tmp_path, 6)
    sub_id = W.submit(store, paths[0], actor="clerk", clock=CLOCK).submission.id
    W.decide(store, sub_id, "return", reason="请补正", actor="regulator-0", clock=CLOCK)
    rendezvous_on_postgresql(store, monkeypatch, W, "_target_submission", 6)
    results = race(*(submitter(store, p) for p in paths))

    won = [r for r in results if isinstance(r, W.SubmitResult)]
    lost = [r for r in results if not isinstance(r, W.SubmitResult)]
    assert len(won) == 1 and len(lost) == 5, results
    assert won[0].new_submission is False and won[0].submission.id == sub_id and won[0].submission.version == 2
    for exc in lost:
        assert isinstance(exc, Conflict) and exc.exit_code == 5, repr(exc)
        assert [p.code for p in exc.problems] == ["already_under_review"], exc.problems
    row = submission_row(store, sub_id)
    assert (row.state, row.revision, row.current_version) == ("under_review", 3, 2)
    assert count(store, T.Submission) == 1
    assert count(store, T.SubmissionVersion) == 2


def test_the_unique_index_refuses_a_second_submission_under_review(store, tmp_path, monkeypatch):
    """Behind the lock, the database itself keeps one submission under review per entity and
    application id (migration 0006): even when the look-up is skipped, the second insert is refused
    as the same conflict (exit 5), not an internal error, and nothing of it is kept."""
    paths = copies_of_one_application(tmp_path, 2)
    first = W.submit(store, paths[0], actor="clerk", clock=CLOCK).submission.id
    monkeypatch.setattr(W, "_target_submission", lambda *a, **kw: (None, True))
    with pytest.raises(Conflict) as caught:
        W.submit(store, paths[1], actor="clerk", clock=CLOCK)
    assert caught.value.exit_code == 5
    assert [p.code for p in caught.value.problems] == ["already_under_review"]
    assert caught.value.problems[0].params == {"ref": "AH-DA-2026-C0000", "id": first}
    assert count(store, T.Submission) == 1
    assert count(store, T.SubmissionVersion) == 1
    assert log_kinds(store) == ["engine_decision", "submission"]


def test_without_the_lock_the_unique_index_still_refuses_concurrent_submits(store, tmp_path, monkeypatch):
    """The index alone, under real concurrency: with the entity's lock taken away, six racers all
    find no submission under review (PostgreSQL: held there until all six have looked); the
    database lets one insert through and refuses the others, which are told it is already under
    review (exit 5) — never an internal error — and keep nothing."""
    paths = copies_of_one_application(tmp_path, 6)
    doc = read_document(paths[0])
    doc["application_id"] += "-EARLIER"
    (tmp_path / "earlier.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    submit_example(store, tmp_path / "earlier.yaml")
    monkeypatch.setattr(records, "lock_parties", lambda *a, **kw: None)
    rendezvous_on_postgresql(store, monkeypatch, W, "_target_submission", 6)
    results = race(*(submitter(store, p) for p in paths))

    won = [r for r in results if isinstance(r, W.SubmitResult)]
    lost = [r for r in results if not isinstance(r, W.SubmitResult)]
    assert len(won) == 1 and len(lost) == 5, results
    for exc in lost:
        assert isinstance(exc, Conflict) and exc.exit_code == 5, repr(exc)
        assert [p.code for p in exc.problems] == ["already_under_review"], exc.problems
        assert exc.problems[0].params == {"ref": "AH-DA-2026-C0000", "id": won[0].submission.id}
    assert count(store, T.Submission) == 2
    assert count(store, T.SubmissionVersion) == 2
    assert log_kinds(store) == ["engine_decision", "submission"] * 2


def test_the_unique_index_allows_what_the_workflow_allows(store, tmp_path):
    """The index holds only submissions under review with an application id: a decided application
    may be submitted again, and files without an application id never clash."""
    paths = copies_of_one_application(tmp_path, 2)
    first = W.submit(store, paths[0], actor="clerk", clock=CLOCK).submission.id
    W.decide(store, first, "reject", reason="不予批准", actor="regulator-0", clock=CLOCK)
    again = W.submit(store, paths[1], actor="clerk", clock=CLOCK)
    assert again.new_submission and again.submission.id != first
    doc = distinct_application(7)
    doc.pop("application_id")
    no_id = tmp_path / "no-id.yaml"
    no_id.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    ids = {W.submit(store, no_id, actor="clerk", clock=CLOCK).submission.id for _ in range(2)}
    assert len(ids) == 2
    assert count(store, T.Submission, T.Submission.state == "under_review") == 3


def test_a_correction_cannot_join_an_application_already_under_review(store, tmp_path):
    """A returned submission corrected with the application id of another submission of the entity
    that is under review would make two under review: refused (exit 5), nothing written."""
    a, b = write_apps(tmp_path, 2, same_entity=True)
    sub_a = W.submit(store, a, actor="clerk", clock=CLOCK).submission.id
    sub_b = W.submit(store, b, actor="clerk", clock=CLOCK).submission.id
    W.decide(store, sub_b, "return", reason="请补正", actor="regulator-0", clock=CLOCK)
    with pytest.raises(Conflict) as caught:
        W.submit(store, a, actor="clerk", clock=CLOCK, resubmits=sub_b)
    assert [p.code for p in caught.value.problems] == ["already_under_review"]
    assert caught.value.problems[0].params == {"ref": "AH-DA-2026-C0000", "id": sub_a}
    assert (submission_row(store, sub_b).state, submission_row(store, sub_b).current_version) == ("returned", 1)
    assert count(store, T.SubmissionVersion) == 2


def test_concurrent_cli_submits_of_one_application(store, tmp_path):
    """Six real ``icv-permits submit`` processes with the same application at once (its entity and
    parties on record from another application): one exits 0, five exit 5 naming the submission
    under review; no traceback."""
    paths = copies_of_one_application(tmp_path, 6)
    doc = read_document(paths[0])
    doc["application_id"] += "-EARLIER"
    (tmp_path / "earlier.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    submit_example(store, tmp_path / "earlier.yaml")
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    env.update(ICV_PERMITS_DATABASE_URL=store.url, ICV_PERMITS_NOW=NOW_ISO, PYTHONIOENCODING="utf-8")

    def process(p):
        def call(barrier):
            barrier.wait()
            return subprocess.run([sys.executable, "-m", "icv_permits.cli", "submit", str(p), "--actor", f"clerk-{p.stem}",
                                   "--format", "json", "--lang", "en"], cwd=ROOT, env=env, capture_output=True, encoding="utf-8", timeout=170,
                                  check=False)
        return call

    results = race(*(process(p) for p in paths))
    for r in results:
        assert isinstance(r, subprocess.CompletedProcess), repr(r)
        assert "Traceback" not in r.stdout + r.stderr, r.stderr
    assert sorted(r.returncode for r in results) == [0, 5, 5, 5, 5, 5], [(r.returncode, r.stderr) for r in results]
    won = json.loads(next(r for r in results if r.returncode == 0).stdout)
    sub_id = won["submission"]["id"]
    for r in results:
        if r.returncode == 5:
            assert "Conflict (exit 5)" in r.stderr and r.stdout == ""
            assert f"application AH-DA-2026-C0000 is already under review as submission {sub_id}" in r.stderr, r.stderr
    assert count(store, T.Submission) == 2
    assert count(store, T.SubmissionVersion) == 2


# ---------------------------------------------------------------- one vehicle, one entity's notice


def applications_sharing_vehicles(tmp_path: Path, n: int) -> list[Path]:
    """``n`` applications of ``n`` different entities that all name the same vehicles (those of
    the first)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    vins = [v["vin"] for v in distinct_application(0)["vehicles"]]
    paths = []
    for i in range(n):
        app = distinct_application(i)
        for v, vin in zip(app["vehicles"], vins):
            v["vin"] = vin
        for policy in app["insurance"]:
            policy["vins"] = list(vins)
        for incident in app["incidents"]:
            incident["vin"] = vins[0]
        p = tmp_path / f"shared-{i:02d}.yaml"
        p.write_text(yaml.safe_dump(app, allow_unicode=True, sort_keys=False), encoding="utf-8")
        paths.append(p)
    return paths


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_approvals_of_one_vehicle_for_several_entities(store, tmp_path, monkeypatch, round_):
    """Six entities' applications name the same vehicles; all are under review (each compliant when
    submitted: no notice yet) and six regulators approve them at once, without a reason. Exactly
    one is approved; each other decision runs the engine after that one committed, finds the
    vehicles on another entity's active notice (REC-02) and is refused because approving against
    the engine needs a reason (exit 2), writing nothing. No VIN ends up on two entities' active
    notices. On PostgreSQL every racer is held inside its transaction where it reads the records,
    so without the vehicles' locks all six would read them before any approval committed."""
    ids = [submit_example(store, p) for p in applications_sharing_vehicles(tmp_path, 6)]
    rendezvous_on_postgresql(store, monkeypatch, records, "registry_facts", 6)
    results = race(*(approver(store, i) for i in ids))

    won = [r for r in results if isinstance(r, W.DecideResult)]
    lost = [r for r in results if not isinstance(r, W.DecideResult)]
    assert len(won) == 1 and len(lost) == 5, results
    for exc in lost:
        assert type(exc).__name__ == "InputError" and exc.exit_code == 2, repr(exc)
        assert [p.code for p in exc.problems] == ["reason_required"], exc.problems
        assert exc.problems[0].location == "--reason" and exc.problems[0].params == {"verdict_text": "non-compliant"}
    assert W.vin_conflicts(store, clock=CLOCK) == []
    assert count(store, T.Notice) == 1
    assert count(store, T.Submission, T.Submission.state == "approved") == 1
    assert count(store, T.Submission, T.Submission.state == "under_review") == 5
    assert count(store, T.Review) == 1
    assert count(store, T.EngineRun, T.EngineRun.purpose == "decide") == 1
    # each loser, decided again, now sees why
    loser = next(i for i in ids if i != won[0].submission.id)
    again = W.decide(store, loser, "reject", reason="车辆已在其他主体的有效通知书上", actor="regulator-x", clock=CLOCK)
    assert again.decision.verdict.value == "non_compliant"
    assert "REC-02" in again.decision.failing_rule_ids()
