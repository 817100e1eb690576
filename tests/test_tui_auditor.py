"""The auditor's screen, driven with Textual's Pilot as an auditor would use it: a log tampered with
by an insider (the append-only triggers out of the way, bodies and actors updated in place), every
record that fails verification marked as soon as the screen opens, explain and replay of such a
record saying so before anything it holds, replay of the whole log, marks, the time and actor
columns, labels in the language, the layout at 80×24 and 160×45, and F1.

Store tests run on SQLite and (with ``ICV_PERMITS_TEST_PG_URL``) PostgreSQL through the ``store``
fixture."""

from __future__ import annotations


import pendulum
import pytest

pytest.importorskip("textual")

from rich.cells import cell_len
from test_ledger import bypass, forged_engine_body
from textual.widgets import Button, DataTable

from icv_permits.core.canonical import canonical_json
from icv_permits.services import audit as ledger
from icv_permits.services import office as workflow
from icv_permits.tui.auditor import AuditorScreen
from icv_permits.tui.common import HelpScreen

from tui_support import CLOCK, EXAMPLES, make_app, sync  # noqa: E402,F401


async def opened(pilot) -> AuditorScreen:
    """The auditor's screen once it is up (a loading screen may come first)."""
    for _ in range(200):
        if isinstance(pilot.app.screen, AuditorScreen):
            break
        await pilot.pause(0.05)
    await pilot.pause()
    return pilot.app.screen


def office_log(store) -> dict:
    """Eight records: a DA submitted (1 engine, 2 submission) and approved (3 engine, 4 review); an RT
    submitted (5, 6) and returned with a reason (7, 8)."""
    r1 = workflow.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK)
    workflow.decide(store, r1.submission.id, "approve", reason=None, actor="reg", clock=CLOCK)
    r2 = workflow.submit(store, EXAMPLES / "rt-compliant.yaml", actor="applicant", clock=CLOCK)
    workflow.decide(store, r2.submission.id, "return", reason="第三者责任险保额不足，请补正", actor="reg", clock=CLOCK)
    records = ledger.records_tail(store, 100)
    assert [r.kind for r in records] == ["engine_decision", "submission", "engine_decision", "review"] * 2
    return {r.seq: r for r in records}


def insider_tampers(store, records: dict) -> None:
    """What an insider with the table owner's rights does: triggers out of the way, the return of the
    RT (record 8) rewritten as an approval without a reason, and the actor of the DA's approval
    (record 4) changed — neither re-chained."""
    body = dict(records[8].body)
    body.update(action="approve", reason=None, to_state="approved")
    with bypass(store) as run:
        run("UPDATE decision_log SET body = :b WHERE seq = 8", b=canonical_json(body))
        run("UPDATE decision_log SET actor = 'mallory' WHERE seq = 4")


def out_text(screen) -> str:
    return str(screen.query_one("#audit-out").render())


def out_lines(screen) -> list[str]:
    return [line for line in out_text(screen).splitlines() if line.strip()]


def row_text(screen, seq: int) -> list[str]:
    return [str(c) for c in screen.query_one("#log", DataTable).get_row(str(seq))]


def row_styles(screen, seq: int) -> list[str]:
    return [str(c.style) for c in screen.query_one("#log", DataTable).get_row(str(seq))]


async def go_to(pilot, screen, seq: int) -> None:
    """Move the cursor to record ``seq`` with the arrow keys, from the top (Home)."""
    await pilot.press("home")
    for _ in range([r.seq for r in screen.records].index(seq)):
        await pilot.press("down")
    await pilot.pause()
    assert screen.selected().seq == seq


# ---------------------------------------------------------------- records that fail verification


@sync
async def test_every_record_that_fails_verification_is_marked_when_the_screen_opens(store):
    insider_tampers(store, office_log(store))
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await opened(pilot)
        # no key pressed: the log was verified on opening
        for seq in (4, 8):
            assert row_text(screen, seq)[0].startswith("✗"), row_text(screen, seq)
            assert all("red" in s for s in row_styles(screen, seq))
        for seq in (1, 2, 3, 5, 6, 7):
            assert not row_text(screen, seq)[0].startswith("✗") and not any("red" in s for s in row_styles(screen, seq))
        assert "2 failing verification" in str(screen.query_one("#title").render())
        out = out_text(screen)
        assert "Chain BROKEN at record 4" in out and "2 records fail verification (marked ✗ in red): 4, 8" in out
        # Ctrl+V verifies again: the same marks, the cursor on the first broken record
        await pilot.press("end", "ctrl+v")
        await pilot.pause()
        assert screen.selected().seq == 4 and row_text(screen, 8)[0].startswith("✗")


@sync
async def test_explain_of_a_forged_record_says_first_in_red_that_it_cannot_be_trusted(store):
    insider_tampers(store, office_log(store))
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await opened(pilot)
        await go_to(pilot, screen, 8)
        await pilot.press("ctrl+x")
        await pilot.pause()
        lines = out_lines(screen)
        assert lines[0].startswith("✗ Record 8 FAILS verification: its content cannot be trusted")
        assert "its content does not match its hash: the record was changed" in lines[0]
        rendered = screen.query_one("#audit-out").render()
        first = rendered.plain.index("✗ Record 8")
        assert any("red" in str(span.style) and span.start <= first < span.end for span in rendered.spans)
        # what the record now claims comes after, said to be no genuine decision
        assert "shown for the investigation only — not what was decided" in lines[1]
        assert lines.index(next(x for x in lines if "approved (under review → approved)" in x)) > 1
        # a genuine record is explained as before, without the warning
        await go_to(pilot, screen, 6)
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert out_lines(screen)[0].startswith("Log record 6") and "FAILS" not in out_text(screen)
        # in Chinese too
        await go_to(pilot, screen, 4)
        await pilot.press("ctrl+x", "f2")
        await pilot.pause()
        assert out_lines(screen)[0].startswith("✗ 记录 4 未通过校验，其内容不可信")


@sync
async def test_explain_of_a_decision_judged_with_a_forged_pack_snapshot_names_the_snapshot(store):
    office_log(store)
    with bypass(store) as run:
        run("UPDATE pack_snapshot SET content = replace(content, '5000000', '6000000')")
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await opened(pilot)
        assert {seq for seq in (1, 3, 5, 7) if row_text(screen, seq)[0].startswith("✗")} == {1, 3, 5, 7}
        await go_to(pilot, screen, 4)  # a genuine review made on a forged engine decision
        await pilot.press("ctrl+x")
        await pilot.pause()
        lines = out_lines(screen)
        assert lines[0].startswith("✗ Record 3 FAILS verification") and "pack snapshot" in lines[0]


@sync
async def test_replay_of_a_forged_record_says_so_first_then_the_count_then_the_differences(store):
    records = office_log(store)
    altered = records[3]

    def fail_veh_10(body):
        next(f for f in body["decision"]["findings"] if f["rule_id"] == "VEH-10")["outcome"] = "fail"

    body = forged_engine_body(store, altered, fail_veh_10)
    with bypass(store) as run:
        run("UPDATE decision_log SET body = :body WHERE seq = 3", body=canonical_json(body))
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await opened(pilot)
        await go_to(pilot, screen, 4)  # the review replays the engine decision it was made on: record 3
        await pilot.press("ctrl+y")
        await pilot.pause()
        lines = out_lines(screen)
        assert lines[0].startswith("✗ Record 3 FAILS verification") and "cannot be trusted" in lines[0]
        assert lines[1] == "1 decisions replayed: 0 identical, 1 different."
        assert lines[2].startswith("✗ seq 3")


# ---------------------------------------------------------------- replay all, marks


@sync
async def test_replay_all_by_key_and_by_button_counts_first_and_lists_the_different_ones_first(store):
    records = office_log(store)

    def fail_veh_10(body):
        next(f for f in body["decision"]["findings"] if f["rule_id"] == "VEH-10")["outcome"] = "fail"

    body = forged_engine_body(store, records[7], fail_veh_10)
    with bypass(store) as run:
        run("UPDATE decision_log SET body = :body WHERE seq = 7", body=canonical_json(body))
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await pilot.press("f7")
        await pilot.pause()
        lines = out_lines(screen)
        assert lines[0].startswith("✗ Record 7 FAILS verification")
        assert lines[1] == "4 decisions replayed: 3 identical, 1 different."
        assert lines[2].startswith("✗ seq 7") and any("VEH-10" in x for x in lines[3:])
        assert lines[-1] == "Identical: seq 1, 3, 5"
        screen.query_one("#audit-out").update("")
        await pilot.click("#replay-all")
        await pilot.pause()
        assert "4 decisions replayed: 3 identical, 1 different." in out_text(screen)
        assert "F7 Replay all" in str(screen.query_one("KeyBar").render()).replace("\xa0", " ")


@sync
async def test_mark_all_and_unmark_all_with_the_count_in_the_title(store):
    office_log(store)
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        title = lambda: str(screen.query_one("#title").render())
        await pilot.press("f8")
        await pilot.pause()
        assert "8 marked" in title() and all("●" in row_text(screen, seq)[0] for seq in range(1, 9))
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert out_lines(screen)[0] == "4 decisions replayed: 4 identical, 0 different."
        await pilot.press("space")  # one unmarked
        await pilot.pause()
        assert "7 marked" in title()
        await pilot.press("f9")
        await pilot.pause()
        assert "marked" not in title() and not any("●" in row_text(screen, seq)[0] for seq in range(1, 9))


# ---------------------------------------------------------------- columns and labels


@sync
async def test_the_log_shows_local_time_and_actor_and_labels_in_the_language(store):
    office_log(store)
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await opened(pilot)
        table = screen.query_one("#log", DataTable)
        assert [str(c.label) for c in table.ordered_columns] == ["Seq", "Recorded", "Kind", "Actor", "Submission", "What", "Decision ID"]
        rec = screen.records[3]
        row = row_text(screen, 4)
        local = pendulum.parse(rec.recorded_at).in_timezone("Asia/Shanghai").format("YYYY-MM-DD HH:mm")
        assert row[1] == local
        assert row[3] == (rec.actor if rec.actor == "reg" else f"{rec.actor}/reg")
        assert row[2] == "regulator's decision" and row[5] == "approved"
        assert row_text(screen, 8)[5] == "returned for correction (against the engine)"
        await pilot.press("f2")
        await pilot.pause()
        assert [str(c.label) for c in table.ordered_columns][:4] == ["序号", "记录时间", "种类", "操作者"]
        assert row_text(screen, 4)[5] == "已批准" and row_text(screen, 8)[5].startswith("已退回补正")


# ---------------------------------------------------------------- layout


@pytest.mark.parametrize("lang", ["zh", "en"])
@sync
async def test_at_80x24_nothing_is_cut_and_at_160x45_the_output_uses_the_space(store, lang):
    insider_tampers(store, office_log(store))
    heights = {}
    for size in ((80, 24), (160, 45)):
        app = make_app(mode="auditor", lang=lang, store_url=store.url)
        async with app.run_test(size=size) as pilot:
            screen = await opened(pilot)
            await pilot.pause()
            table = screen.query_one("#log", DataTable)
            # every column in view: no horizontal scrolling hides the decision or its ID
            assert table.virtual_size.width <= table.size.width, (table.virtual_size, table.size)
            assert [str(c.label) for c in table.ordered_columns][-2:] == (["内容", "决策编号"] if lang == "zh" else ["What", "Decision ID"])
            assert all(c.width >= 8 for c in table.ordered_columns[-2:])
            for button in screen.query(Button):
                assert button.region.right <= size[0] and button.region.width >= cell_len(str(button.label)), (button.id, button.region)
            heights[size] = screen.query_one("#audit-out-box").size.height
            await pilot.press("f7")
            await pilot.pause()
    assert heights[(80, 24)] >= 8 and heights[(160, 45)] >= 25, heights


# ---------------------------------------------------------------- help


@pytest.mark.parametrize("lang", ["zh", "en"])
@sync
async def test_f1_explains_the_auditors_screen_and_keys(store, lang):
    office_log(store)
    app = make_app(mode="auditor", lang=lang, store_url=store.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.body.plain
        if lang == "en":
            assert "The log is verified when this screen opens" in body
            for line in ("F7: replay every engine decision", "F8: mark every record", "F9: unmark all", "Ctrl+X: explain",
                         "Ctrl+V: verify the whole chain", "SPACE: mark or unmark", "F6: replay with the pack"):
                assert line in body, line
        else:
            assert "打开本界面时即校验日志" in body and "F7：重放日志中的全部引擎决定" in body


@sync
async def test_a_record_changed_after_the_screen_opened_is_caught_when_explained(store):
    office_log(store)
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await opened(pilot)
        assert "Chain intact" in out_text(screen) and not screen.faults
        with bypass(store) as run:  # while the auditor looks
            run("UPDATE decision_log SET actor = 'mallory' WHERE seq = 6")
        await go_to(pilot, screen, 6)
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert out_lines(screen)[0].startswith("✗ Record 6 FAILS verification")
        assert row_text(screen, 6)[0].startswith("✗") and "1 failing verification" in str(screen.query_one("#title").render())


@sync
async def test_a_body_that_is_not_json_is_shown_unreadable_and_replayed_and_explained_without_a_crash(store):
    """An insider writes a body that is not JSON: the screen opens with the record marked, its
    submission shown as —, and replaying and explaining it say the log is broken."""
    records = office_log(store)
    with bypass(store) as run:
        run("UPDATE decision_log SET body = '{not json' WHERE seq = 3")
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await opened(pilot)
        row = row_text(screen, 3)
        assert row[0].startswith("✗") and "—" in row and "(unreadable)" in row, row
        await go_to(pilot, screen, 3)
        for key in ("ctrl+y", "ctrl+x"):
            await pilot.press(key)
            await pilot.pause()
            assert "record 3: its body is not as the office writes it" in out_text(screen), (key, out_text(screen))
        assert records[4].body["engine_decision"] == records[3].decision_id  # the others read as ever
