"""The applicant's screen as its users meet it: findings at their fields, a findings pane that leads
to them, item names (driver ref, VIN) wherever a list item is meant, no silent loss of work, the
focus where typing goes, and a layout that uses the terminal's size.

Driven with Pilot keystrokes where the behaviour is about keys or focus; assertions read what the
user sees (rendered widgets, the focused widget, files on disk)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

pytest.importorskip("textual")

from icv_permits.services import drafts as D
from icv_permits.tui import fields as F
from icv_permits.tui.app import ICVApp
from icv_permits.tui.applicant import ChoiceScreen, PromptScreen
from icv_permits.tui.common import FieldInput

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIVE = ROOT / "bench" / "data" / "app-5x5.yaml"
import tui_support as support  # noqa: E402
from tui_support import CLOCK, sync, until  # noqa: E402,F401


def make_app(**kw) -> ICVApp:
    return support.make_app(**{"mode": "applicant", **kw})


async def settle(pilot, app: ICVApp) -> None:
    await support.settle(pilot, app, checked=True)


def text_of(widget) -> str:
    return str(widget.render())


def title(app) -> str:
    return text_of(app.screen.query_one("#title"))


def line_under(app, path: str) -> str:
    return text_of(app.screen.problem_lines[path])


def review_cell(app, path: str, column: int) -> str:
    table = app.screen.query_one("#review-table")
    return str(table.get_cell(path, table.ordered_columns[column].key))


def pane_entries(app) -> list[str]:
    return [str(o.prompt) for o in app.screen.query_one("#findings").options]


async def to_step(pilot, app, step_id: str) -> None:
    """F5 / F4 until the step is shown (as a user moves)."""
    screen = app.screen
    target = F.STEP_IDS.index(step_id)
    while screen.step_index != target:
        await pilot.press("f5" if screen.step_index < target else "f4")
        await pilot.pause()


# ---------------------------------------------------------------- findings at their fields


@sync
async def test_a_failing_rule_is_shown_under_its_field_and_in_the_review():
    app = make_app(lang="zh", file=EXAMPLES / "fail-night-no-roof-lamp.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await to_step(pilot, app, "vehicles")
        await settle(pilot, app)
        assert "VEH-09" in line_under(app, "vehicles[0].roof_sign_lamp")
        assert "夜间运行但未安装车顶标识灯具" in line_under(app, "vehicles[0].roof_sign_lamp")
        assert line_under(app, "vehicles[0].vin") == ""  # only where the rule judges
        await to_step(pilot, app, "scope")
        assert "SCO-01" in line_under(app, "sections")  # a section's finding at the sections field
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "VEH-09" in review_cell(app, "vehicles[0].roof_sign_lamp", 2)
        assert "SCO-01" in review_cell(app, "sections", 2)
        assert review_cell(app, "vehicles[0].vin", 2) == ""


@sync
async def test_missing_facts_are_shown_at_the_fields_not_stated():
    app = make_app(lang="en", file=EXAMPLES / "incomplete-missing-facts.yaml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await to_step(pilot, app, "vehicles")
        assert "VEH-06" in line_under(app, "vehicles[0].data_recording.retention_months")
        await to_step(pilot, app, "materials")
        stated = [p for p in app.screen.problem_lines if D.get_path(app.draft, p) is not None]
        unstated = [p for p in app.screen.problem_lines if "MAT-01" in line_under(app, p)]
        assert unstated and not set(unstated) & set(stated)


@sync
async def test_a_check_on_five_vehicles_updates_the_lines_without_redrawing_the_form():
    app = make_app(lang="en", file=FIVE)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await to_step(pilot, app, "vehicles")
        await settle(pilot, app)
        before = {w.path: w for w in app.screen.query(FieldInput)}
        checks = app.checks
        app.screen.focus_path("vehicles[0].roof_sign_lamp")
        await pilot.press("end", "ctrl+u", "n", "o")
        await settle(pilot, app)
        assert app.checks > checks
        after = {w.path: w for w in app.screen.query(FieldInput)}
        assert all(after[p] is before[p] for p in before)  # the same widgets: nothing redrawn
        night = app.draft["modifiers"].get("night")
        if night:
            assert "VEH-09" in line_under(app, "vehicles[0].roof_sign_lamp")


# ---------------------------------------------------------------- the findings pane leads to the field


@sync
async def test_enter_on_a_finding_goes_to_its_field_on_its_step_with_its_item():
    app = make_app(lang="en", file=EXAMPLES / "fail-prior-testing-239h-999km.yaml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        entries = pane_entries(app)
        index = next(i for i, e in enumerate(entries) if "EVD-01" in e)
        vin = app.draft["vehicles"][1]["vin"]
        assert f"Vehicle {vin}" in entries[index]  # the finding names its vehicle by VIN
        await pilot.press("tab", "tab")  # table → edit → findings
        assert app.focused.id == "findings"
        await pilot.press(*["down"] * (index + 1), "enter")
        await until(pilot, lambda: getattr(app.focused, "path", None) == "vehicles[1].prior_testing")
        assert app.screen.step_id == "evidence"
        assert app.screen.item_index["vehicles"] == 1
        assert app.focused.path == "vehicles[1].prior_testing"
        assert vin in text_of(app.screen.query_one(".item-header"))  # "Vehicle <VIN>", not "Vehicle 2"


@sync
async def test_a_click_on_a_finding_goes_to_its_field():
    app = make_app(lang="zh", file=EXAMPLES / "fail-night-no-roof-lamp.json")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        pane = app.screen.query_one("#findings")
        index = next(i for i, e in enumerate(pane_entries(app)) if "VEH-09" in e)
        pane.highlighted = index
        await pilot.pause()
        pane.action_select()
        await until(pilot, lambda: getattr(app.focused, "path", None) == "vehicles[0].roof_sign_lamp")
        assert app.screen.step_id == "vehicles" and app.focused.path == "vehicles[0].roof_sign_lamp"


@sync
async def test_review_rows_and_problems_name_the_item_not_a_path():
    app = make_app(lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+r")
        await pilot.pause()
        ref = app.draft["drivers"][0]["ref"]
        vin = app.draft["vehicles"][1]["vin"]
        assert review_cell(app, "drivers[0].id_number", 0) == f"Driver {ref} · ID number"
        assert review_cell(app, "vehicles[1].roof_sign_lamp", 0) == f"Vehicle {vin} · Roof sign lamp"
        labels = [review_cell(app, p, 0) for p in app.screen.review_paths]
        assert labels.count("ID number") == 0  # never a bare label of a list item
        # an incomplete draft: the pane names fields as people do, not drivers[0].id_number
        del app.draft["drivers"][0]["id_number"]
        app.schedule_check()
        await settle(pilot, app)
        shown = "\n".join(pane_entries(app))
        assert f"Driver {ref} · ID number" in shown and "drivers[0]" not in shown


# ---------------------------------------------------------------- no silent loss


@sync
async def test_the_title_marks_a_modified_draft_until_it_is_saved(tmp_path):
    src = tmp_path / "d.yaml"
    D.save_yaml(D.open_yaml(EXAMPLES / "da-compliant.yaml"), src)
    app = make_app(lang="en", file=src)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert "modified" not in title(app)
        await pilot.press("tab")  # activity → application number (an answer that changes nothing asked)
        assert app.focused.path == "application_id"
        await pilot.press("end", "x")
        await pilot.pause()
        assert "● modified" in title(app)
        await pilot.press("backspace")  # typed back: no change
        await pilot.pause()
        assert "modified" not in title(app)
        await pilot.press("x", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("enter")  # the file it was opened from
        await pilot.pause()
        assert "modified" not in title(app)
        assert D.open_yaml(src)["application_id"].endswith("x")


@sync
async def test_ctrl_q_with_unsaved_changes_asks_and_cancel_keeps_the_app(tmp_path):
    app = make_app(lang="zh", file=EXAMPLES / "da-compliant.yaml")
    exits: list[int] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.exit = lambda *a, **k: exits.append(1)
        await settle(pilot, app)
        await pilot.press("end", "x", "ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        shown = text_of(app.screen.query_one("#choice-question"))
        assert "未保存" in shown
        labels = [str(b.label) for b in app.screen.query("Button")]
        assert labels == ["保存", "放弃修改", "取消"]
        await pilot.press("escape")
        await pilot.pause()
        assert exits == [] and type(app.screen).__name__ == "ApplicantScreen"
        await pilot.press("ctrl+q", "tab", "enter")  # Save → Discard
        await pilot.pause()
        assert exits == [1]


@sync
async def test_ctrl_q_saves_first_when_asked(tmp_path):
    app = make_app(lang="en", file=EXAMPLES / "da-compliant.yaml")
    exits: list[int] = []
    out = tmp_path / "kept.yaml"
    async with app.run_test(size=(80, 24)) as pilot:
        app.exit = lambda *a, **k: exits.append(1)
        await settle(pilot, app)
        await pilot.press("end", "x", "ctrl+q")
        await pilot.pause()
        await pilot.press("enter")  # Save (the default)
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("#prompt-input").value = str(out)
        await pilot.press("enter")
        await pilot.pause()
        assert exits == [1] and D.open_yaml(out)["activity"].endswith("x")
        assert stat.S_IMODE(out.stat().st_mode) == 0o600


@sync
async def test_ctrl_q_without_changes_quits_at_once():
    app = make_app(lang="en", file=EXAMPLES / "da-compliant.yaml")
    exits: list[int] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.exit = lambda *a, **k: exits.append(1)
        await settle(pilot, app)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert exits == [1]


@sync
async def test_modes_and_open_ask_before_unsaved_changes_are_lost():
    app = make_app(lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("end", "x", "f3")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "ApplicantScreen" and app.draft["activity"].endswith("x")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("tab", "enter")  # discard: then the open prompt
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        assert not app.draft["activity"].endswith("x")  # back to the file as opened


@sync
async def test_f7_asks_before_removing_an_item():
    app = make_app(lang="zh", file=FIVE)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await to_step(pilot, app, "vehicles")
        vins = [v["vin"] for v in app.draft["vehicles"]]
        await pilot.press("f7")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert vins[0] in text_of(app.screen.query_one("#choice-question"))  # names the vehicle by VIN
        await pilot.press("enter")  # Cancel is the default
        await pilot.pause()
        assert [v["vin"] for v in app.draft["vehicles"]] == vins
        await pilot.press("f7")
        await pilot.pause()
        await pilot.press("shift+tab", "enter")  # Remove
        await pilot.pause()
        assert [v["vin"] for v in app.draft["vehicles"]] == vins[1:]


@sync
async def test_enter_on_a_review_row_puts_the_cursor_after_the_value():
    app = make_app(lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+r")
        await pilot.pause()
        row = app.screen.review_paths.index("application_id")
        await pilot.press(*["down"] * row, "enter")
        await pilot.pause()
        assert app.focused.id == "review-edit"
        old = app.draft["application_id"]
        await pilot.press("9")
        await pilot.pause()
        assert app.draft["application_id"] == old + "9"  # added to, not replaced


@sync
async def test_a_key_typed_right_after_enter_on_a_review_row_lands_after_the_value():
    """In a terminal the keys come together: Down, Enter and the next character before the app has
    moved the focus. The character goes after the answer of the row chosen, not inside it (a cursor
    left where the first row's shorter answer ended put "9" inside a date: 20269-11-22)."""
    app = make_app(lang="zh", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+r")
        await pilot.pause()
        row = app.screen.review_paths.index("application_date")
        old = app.draft["application_date"]
        await pilot.press(*["down"] * row, "enter", "9")  # no pause between the keys
        await settle(pilot, app)
        assert str(app.draft["application_date"]) == f"{old}9"


def test_drafts_and_applications_are_written_owner_only(tmp_path):
    doc = D.open_yaml(EXAMPLES / "da-compliant.yaml")
    new = D.save_yaml(doc, tmp_path / "new.yaml")
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    old = tmp_path / "old.yaml"
    old.write_text("x: 1\n", encoding="utf-8")
    old.chmod(0o644)
    D.save_yaml(doc, old)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600 and D.open_yaml(old) == doc
    stale = tmp_path / "out.yaml.tmp"  # a temporary file left world-readable by an earlier run
    stale.write_text("", encoding="utf-8")
    stale.chmod(0o666)
    out = tmp_path / "out.yaml"
    D.export(doc, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


# ---------------------------------------------------------------- focus


@sync
async def test_the_focus_is_on_the_first_field_after_start_and_each_move():
    app = make_app(lang="en")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert app.focused.path == "activity"
        await pilot.press("d", "e", "m", "o")  # typing lands in the field
        assert app.draft.get("activity") == "demo"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.step_id == "entity" and app.focused.path == "entity.name"
        await pilot.press("f5")
        await pilot.pause()
        assert app.screen.step_id == "drivers" and app.focused.id == "add-drivers"  # no driver yet: Add
        await pilot.press("f4")
        await pilot.pause()
        assert app.focused.path == "entity.name"
        await pilot.click("#step-scope")
        await pilot.pause()
        assert app.screen.step_id == "scope" and app.focused.path == "sections"


@sync
async def test_a_palette_jump_puts_the_focus_on_the_first_field():
    app = make_app(lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Go to step: Plan")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.screen.step_id == "plan"
        assert getattr(app.focused, "path", "").startswith("operations.")


@sync
async def test_home_and_end_move_to_the_first_and_last_review_row():
    app = make_app(lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+r")
        await pilot.pause()
        table = app.screen.query_one("#review-table")
        assert app.focused is table
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("home")
        assert table.cursor_row == 0


# ---------------------------------------------------------------- layout


@sync
async def test_the_findings_pane_and_the_review_columns_grow_with_the_terminal():
    heights, widths = {}, {}
    for size in ((80, 24), (160, 45)):
        app = make_app(lang="en", file=EXAMPLES / "fail-night-no-roof-lamp.json")
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            await pilot.press("ctrl+r")
            await settle(pilot, app)
            heights[size] = app.screen.query_one("#findings-box").size.height
            table = app.screen.query_one("#review-table")
            widths[size] = [c.width for c in table.ordered_columns]
    assert heights[(160, 45)] >= 15 > heights[(80, 24)] >= 5
    assert widths[(160, 45)][0] > 40 and widths[(160, 45)][1] > 30 and widths[(160, 45)][2] > 40  # not 20 each
    assert sum(widths[(160, 45)]) > 2 * sum(widths[(80, 24)]) - 20


@sync
async def test_labels_never_run_into_values():
    app = make_app(lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await to_step(pilot, app, "entity")
        await pilot.pause()
        for row in app.screen.query(".field-row"):
            label, value = row.query_one(".field-label"), row.query_one(FieldInput)
            assert label.content_region.right < value.region.x  # at least one blank cell between
            shown = " ".join(line.strip() for line in str(label.render()).splitlines())
            assert "…" not in shown and len(shown) >= len(str(label.render()).replace("\n", " ").strip())
        code = next(r for r in app.screen.query(".field-row") if r.query_one(FieldInput).path == "entity.credit_code")
        assert "Unified social credit code" in " ".join(str(code.query_one(".field-label").render()).split())


@sync
async def test_f2_keeps_the_focus_on_the_field_being_typed():
    app = make_app(lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press("tab")
        assert app.focused.path == "entity.credit_code"
        await pilot.press("f2")
        await pilot.pause()
        assert app.focused.path == "entity.credit_code"
        await pilot.press("end", "9")
        assert app.draft["entity"]["credit_code"].endswith("9")


@sync
async def test_the_first_key_after_a_move_adds_to_the_answer_rather_than_replacing_it():
    app = make_app(lang="zh", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        name = app.draft["entity"]["name"]
        await pilot.press("ctrl+n", "x")
        await pilot.pause()
        assert app.focused.path == "entity.name" and app.draft["entity"]["name"] == name + "x"


@sync
async def test_f1_in_the_review_explains_the_screen_and_its_keys():
    app = make_app(lang="zh", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+r", "f1")
        await pilot.pause()
        body = text_of(app.screen.query_one("#help-body"))
        assert "在下方结果列表中的某项按回车可跳转到对应字段" in body and "applicant.remove" in body


@sync
async def test_a_draft_opened_with_ctrl_o_has_the_focus_on_its_first_field(tmp_path):
    app = make_app(lang="en")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = str(EXAMPLES / "da-compliant.yaml")
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.focused.path == "activity" and "modified" not in title(app)
        assert "da-compliant.yaml" in title(app)
