"""``audit replay N`` and ``audit explain N`` answer the same from the command line and from the
auditor's screen: both call the one service (:func:`icv_permits.services.audit.replay` and
:func:`~icv_permits.services.audit.explain`) and the one view, for engine decisions, submissions and
reviews (resolved to the engine decision they were made on), a record that holds no engine decision
and a record that does not exist (exit 4, never a silent 0)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("textual")

from test_ledger import cli  # noqa: E402  (in-process CLI runner)
from test_tui import CLOCK, EXAMPLES, make_app, sync  # noqa: E402

from icv_permits.services import audit, office  # noqa: E402


def _office(store):
    sub = office.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK)
    office.decide(store, sub.submission.id, "approve", reason=None, actor="reg", clock=CLOCK)
    records = list(audit.iter_records(store))
    by_kind = {}
    for r in records:
        by_kind.setdefault(r.kind, []).append(r)
    return by_kind


async def _app_output(store, seq: int, key: str) -> str:
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.query_one("#log").move_cursor(row=[r.seq for r in screen.records].index(seq))
        await pilot.press(key)
        await pilot.pause()
        return str(screen.query_one("#audit-out").render())


def _words(text: str) -> str:
    return " ".join(text.split())  # the app's panel wraps lines; compare the words


@pytest.mark.parametrize("kind", ["engine_decision", "submission", "review"])
@sync
async def test_replay_gives_the_same_answer_from_the_cli_and_the_app(store, kind):
    rec = _office(store)[kind][-1]
    r = cli("audit", "replay", str(rec.seq), "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "1 decisions replayed: 1 identical, 0 different." in r.stdout
    as_json = cli("audit", "replay", str(rec.seq), "--format", "json")
    # a submission or a review replays the engine decision it was made on
    assert [x["seq"] for x in json.loads(as_json.stdout)] == [audit.engine_record_of(store, rec).seq]
    shown = await _app_output(store, rec.seq, "ctrl+y")
    assert _words(shown) == _words(r.stdout)


@pytest.mark.parametrize("kind", ["engine_decision", "review"])
@sync
async def test_explain_gives_the_same_answer_from_the_cli_and_the_app(store, kind):
    rec = _office(store)[kind][-1]
    r = cli("audit", "explain", str(rec.seq), "--lang", "en")
    assert r.exit_code == 0, r.output
    assert f"Log record {rec.seq}" in r.stdout
    if kind == "review":  # the review, then the engine decision it was made on
        assert f"Log record {audit.engine_record_of(store, rec).seq}" in r.stdout
    shown = await _app_output(store, rec.seq, "ctrl+x")
    assert _words(shown) == _words(r.stdout)


def test_a_missing_record_is_not_found_in_both_commands(store):
    _office(store)
    for command in ("replay", "explain"):
        r = cli("audit", command, "999", "--lang", "en")
        assert r.exit_code == 4, (command, r.output)
        assert "no log record with this decision ID or sequence number" in r.output
    with pytest.raises(audit.NotFound):
        list(audit.replay(store, ["999"]))
    with pytest.raises(audit.NotFound):
        audit.explain(store, "999")


@sync
async def test_a_record_without_an_engine_decision_replays_nothing_and_says_so(store):
    """Plates renewed hold no engine decision: exit 4 from the CLI, and the same words in the app."""
    by_kind = _office(store)
    notice = office.list_notices(store, clock=CLOCK)[0]["number"]
    later = CLOCK.instant.add(months=5, days=20)
    from icv_permits.services.clock import FixedClock

    office.renew_plates(store, notice, actor="reg", clock=FixedClock(later))
    renewed = [r for r in audit.iter_records(store) if r.kind == "plates_renewed"][-1]
    r = cli("audit", "replay", str(renewed.seq), "--lang", "en")
    assert r.exit_code == 4, r.output
    message = f"log record {renewed.seq} (plates renewed) holds no engine decision to replay"
    assert message in r.output
    shown = await _app_output(store, renewed.seq, "ctrl+y")
    assert message in _words(shown)
    # naming it beside a replayable record does not hide it either
    r = cli("audit", "replay", str(by_kind["engine_decision"][0].seq), str(renewed.seq), "--lang", "en")
    assert r.exit_code == 4


def test_replaying_an_empty_log_is_not_success(store):
    r = cli("audit", "replay", "--all", "--lang", "en")
    assert r.exit_code == 4, r.output
    assert "The log holds no engine decision to replay." in r.output
