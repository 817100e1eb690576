"""The terminal app, driven with Textual's Pilot: applicant, regulator, auditor, comfort.

The applicant walks fill most of the draft through the drafts library and type one step key by
key: Tab moves to each field, the answer is typed character by character, Enter on "Add" starts a
new list item and F8/F9 move between the items of a list; then Ctrl+R shows the review."""

from __future__ import annotations

import copy
from pathlib import Path

import pendulum
import pytest

pytest.importorskip("textual")

from test_ledger import bypass, forged_engine_body  # noqa: E402  (the tests' own tampering helpers)

from icv_permits.core.canonical import canonical_json
from icv_permits.adapters.documents import read_document  # noqa: E402
from icv_permits.services import audit as ledger
from icv_permits.services import drafts as D  # noqa: E402
from icv_permits.services import office as workflow  # noqa: E402
from icv_permits.services.precheck import FixedClock  # noqa: E402
from icv_permits.tui import fields as F  # noqa: E402
from icv_permits.tui.app import ICVApp, ModeScreen  # noqa: E402
from icv_permits.tui.applicant import ApplicantScreen  # noqa: E402
from icv_permits.tui.common import FieldInput, HelpScreen, show_text  # noqa: E402
from icv_permits.tui.auditor import AuditorScreen
from icv_permits.tui.regulator import RegulatorScreen  # noqa: E402

from tui_support import CLOCK, EXAMPLES, make_app, quick_keys, seen, settle, sync  # noqa: E402,F401  (quick_keys: a fixture)


@pytest.fixture(autouse=True)
def _quick_keys(quick_keys):  # noqa: F811  (the fixture by its name)
    """Every walk here types key by key (see ``tui_support.quick_keys``)."""


async def tab_to(pilot, app: ICVApp, wanted, limit: int = 400) -> None:
    """Move the focus with Tab (as a user does) until ``wanted(focused)`` holds."""
    for _ in range(limit):
        if app.focused is not None and wanted(app.focused):
            return
        await pilot.press("tab")
    raise AssertionError("Tab never reached the widget")


async def type_into(pilot, app: ICVApp, path: str, text: str) -> None:
    """Tab to the field's input, clear it and type the text key by key."""
    await tab_to(pilot, app, lambda w: isinstance(w, FieldInput) and w.path == path and w.id != "review-edit")
    await pilot.press("end", "ctrl+u")
    await pilot.press(*[c if c != " " else "space" for c in text])


async def fill_form(pilot, app: ICVApp, target: dict) -> None:
    """Type the target's value into every field the form shows that does not hold it yet."""
    fields = [(inp.path, inp.kind) for inp in app.screen.query(FieldInput) if inp.id != "review-edit"]
    for path, kind in fields:
        text = show_text(kind, D.get_path(target, path))
        if text and text != show_text(kind, D.get_path(app.draft, path)):
            await type_into(pilot, app, path, text)


async def show_item(pilot, app: ICVApp, part: F.ListPart, index: int) -> None:
    """Show item ``index`` of a list on the form: Tab to the Add button and press Enter for a new
    one, or Tab to one of the list's fields and press F8/F9 (previous/next item)."""
    screen = app.screen
    while len(F.items(part, app.draft)) <= index:
        assert part.addable, part.path
        button_id = "add-" + screen.part_wid(part.path)
        await tab_to(pilot, app, lambda w: w.id == button_id)
        await pilot.press("enter")
        await pilot.pause()
    while screen.item_index.get(part.path, 0) != index:
        await tab_to(pilot, app, lambda w: isinstance(w, FieldInput) and w.path.startswith(part.path + "["))
        await pilot.press("f9" if screen.item_index.get(part.path, 0) < index else "f8")
        await pilot.pause()


async def fill_step(pilot, app: ICVApp, target: dict) -> None:
    """Type the step's answers; the activity and modifiers change what is asked, so the step is
    filled again once the pause after typing has redrawn it."""
    screen = app.screen
    for _ in range(2):
        await fill_form(pilot, app, target)
        for part in F.step(screen.step_id).lists:
            if not F.part_asked(part, target, app.pack()):
                continue
            for i in range(len(F.items(part, target))):
                await show_item(pilot, app, part, i)
                await fill_form(pilot, app, target)
        await settle(pilot, app)


def findings_shown(app: ICVApp) -> str:
    """The findings pane as shown: its verdict line and each entry of its list."""
    screen = app.screen
    pane = screen.query_one("#findings")
    return "\n".join([str(screen.query_one("#findings-head").render())] + [str(o.prompt) for o in pane.options])


# ---------------------------------------------------------------- applicant


async def load_all_but(pilot, app: ICVApp, target: dict, typed: str) -> None:
    """Fill the draft through the drafts library with everything of the target except ``typed``
    (a top-level key), which the test then types in."""
    for key, value in target.items():
        if key != typed:
            D.set_path(app.draft, key, copy.deepcopy(value))
    app.schedule_check()
    await settle(pilot, app)


async def go_to_step(pilot, app: ICVApp, step_id: str) -> None:
    """Ctrl+N / F4 to a step."""
    screen = app.screen
    while screen.step_id != step_id:
        await pilot.press("ctrl+n" if F.STEP_IDS.index(step_id) > screen.step_index else "f4")
        await pilot.pause()


@sync
async def test_walk_to_a_compliant_result():
    """The drivers typed key by key (two of them: Enter on Add, F8/F9 between them) complete a
    draft that the library filled otherwise; the review shows it compliant."""
    target = read_document(EXAMPLES / "da-compliant.yaml")
    app = make_app(mode="applicant", lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert app.status.application is None  # an empty draft does not validate
        await load_all_but(pilot, app, target, "drivers")
        assert app.status.application is None  # no drivers yet (and the vehicles name D1, D2)
        await go_to_step(pilot, app, "drivers")
        await fill_step(pilot, app, target)
        screen = app.screen
        assert len(app.draft["drivers"]) == 2 and screen.item_index["drivers"] == 1
        await tab_to(pilot, app, lambda w: isinstance(w, FieldInput) and w.path.startswith("drivers[1]."))
        await pilot.press("f8")
        await pilot.pause()
        assert screen.item_index["drivers"] == 0
        assert screen.query_one("#f-drivers_0__name", FieldInput).value == target["drivers"][0]["name"]
        assert app.focused.path.startswith("drivers[0].")  # the focus stays on the same field
        await pilot.press("f9")
        await pilot.pause()
        assert screen.item_index["drivers"] == 1
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        assert app.screen.step_id == F.REVIEW
        assert app.result is not None, [p.render("en") for p in app.status.problems]
        assert app.result.decision.verdict.value == "compliant"
        assert "Verdict: COMPLIANT" in findings_shown(app)
        # the answers typed are the application: the same check as the CLI's
        for i, driver in enumerate(target["drivers"]):
            for _h, spec, path in F.rows(F.step("drivers"), app.draft, app.pack()):
                if spec is not None and path.startswith(f"drivers[{i}]."):
                    assert show_text(spec.kind, D.get_path(app.draft, path)) == show_text(spec.kind, D.get_path(target, path)), path
        assert app.draft["drivers"][0]["id_number"] == "340104199001011239"


@sync
async def test_walk_to_a_failing_result_shows_rule_article_confidence_and_remedy():
    # the van's accident with minor responsibility is typed in as an incident record (EVD-03); the
    # rest of the application is filled through the drafts library
    target = read_document(EXAMPLES / "fail-responsible-accident.yaml")
    app = make_app(mode="applicant", lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await load_all_but(pilot, app, target, "incidents")
        assert app.result is not None, [p.render("en") for p in app.status.problems]
        assert "EVD-03" not in failing(app)  # not without the incident
        await go_to_step(pilot, app, "evidence")
        incidents = next(p for p in F.step("evidence").lists if p.path == "incidents")
        await show_item(pilot, app, incidents, 0)  # Tab to "Add: Incident", Enter
        await fill_form(pilot, app, target)  # the incident's fields, typed (the rest holds the target already)
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        assert app.result is not None, [p.render("en") for p in app.status.problems]
        assert app.result.decision.verdict.value == "non_compliant"
        typed = [(i["kind"], str(i["date"]), i["vin"], i["liability"]) for i in app.draft["incidents"]]
        assert typed == [(i["kind"], str(i["date"]), i["vin"], i["liability"]) for i in target["incidents"]]
        assert failing(app) == ["EVD-03"]
        shown = findings_shown(app)
        assert "NON-COMPLIANT" in shown and "✗ EVD-03" in shown
        pack = app.pack()
        assert pack.rules["EVD-03"].citation.source in shown  # the citation
        assert "confirmed" in shown  # the confidence
        assert "minor responsibility" in shown  # by how much: the record that fails
        assert "→\u00a0" in shown  # a remedy (a no-break space keeps the arrow with it)


def failing(app: ICVApp) -> list[str]:
    return sorted({f.rule_id for f in app.result.decision.findings if f.outcome.value == "fail"})


@sync
async def test_driver_violations_and_accidents_are_typed_as_records():
    app = make_app(mode="applicant", lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await screen.show_step(F.STEP_IDS.index("drivers"))
        await type_into(pilot, app, "drivers[0].serious_violations", "2026-06-01 超速50%以上 serious")  # within the 1-year lookback
        await settle(pilot, app)
        assert app.draft["drivers"][0]["serious_violations"] == [{"date": "2026-06-01", "kind": "超速50%以上", "serious": True}]
        assert failing(app) == ["DRV-04"]
        # an entry that cannot be read is kept as typed and explained under the field
        await type_into(pilot, app, "drivers[0].serious_violations", "2025-06-01")
        await pilot.pause()
        line = screen.problem_lines["drivers[0].serious_violations"]
        assert line.display and "DATE KIND serious" in str(line.render())
        await type_into(pilot, app, "drivers[0].serious_violations", "none")
        await type_into(pilot, app, "drivers[0].accidents", "2024-01-05 main injury")
        await settle(pilot, app)
        assert not screen.problem_lines["drivers[0].serious_violations"].display
        assert failing(app) == ["DRV-06"]
        await type_into(pilot, app, "drivers[0].accidents", "2024-01-05 none injury")  # not responsible
        await settle(pilot, app)
        assert app.result.decision.verdict.value == "compliant"


@sync
async def test_one_list_item_at_a_time_with_keys_to_move_add_and_remove():
    app = make_app(mode="applicant", lang="en", file=Path(__file__).resolve().parent.parent / "bench" / "data" / "app-5x5.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await screen.show_step(F.STEP_IDS.index("vehicles"))
        shown = {inp.path.split(".")[0] for inp in screen.query(FieldInput) if inp.path.startswith("vehicles[")}
        assert shown == {"vehicles[0]"}
        assert "(1 of 5)" in str(screen.query_one(".item-header").render())
        await type_into(pilot, app, "vehicles[0].rated_seats", "5")
        await pilot.press("f9", "f9")
        await pilot.pause()
        assert screen.item_index["vehicles"] == 2
        assert app.focused.path == "vehicles[2].rated_seats"  # the same field of the next item
        vin = app.draft["vehicles"][3]["vin"]
        await pilot.press("f7")  # removes the vehicle shown, once confirmed
        await pilot.pause()
        await pilot.press("shift+tab", "enter")  # from Cancel (the default) to Remove
        await pilot.pause()
        assert len(app.draft["vehicles"]) == 4 and app.draft["vehicles"][2]["vin"] == vin
        await pilot.press("f8")
        await pilot.pause()
        assert screen.item_index["vehicles"] == 0
        await tab_to(pilot, app, lambda w: w.id == "add-vehicles")
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.draft["vehicles"]) == 5 and screen.item_index["vehicles"] == 4
        assert app.focused.path == "vehicles[4].vin"


@sync
async def test_consortium_members_are_edited_in_the_app():
    app = make_app(mode="applicant", lang="zh", file=EXAMPLES / "do-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await screen.show_step(F.STEP_IDS.index("entity"))
        await settle(pilot, app)
        assert app.result.decision.verdict.value == "compliant"
        header = str(screen.query_one(".item-header").render())
        assert "联合体成员 " + app.draft["entity"]["consortium"]["members"][0]["name"] in header  # named, not numbered
        await tab_to(pilot, app, lambda w: getattr(w, "path", "") == "entity.consortium.members[0].name")
        await pilot.press("f9")
        await pilot.pause()
        assert app.focused.path == "entity.consortium.members[1].name"
        await type_into(pilot, app, "entity.consortium.members[1].operating_service_capability", "否")
        await settle(pilot, app)
        assert app.draft["entity"]["consortium"]["members"][1]["operating_service_capability"] is False
        assert failing(app) == ["ENT-07"]  # no member can run the operating services
        await tab_to(pilot, app, lambda w: w.id == "add-entity_consortium_members")
        await pilot.press("enter")
        await pilot.pause()
        await type_into(pilot, app, "entity.consortium.members[2].name", "合肥畅行出行服务有限公司")
        await type_into(pilot, app, "entity.consortium.members[2].credit_code", "91340100MA8NQ5HT2A")
        await type_into(pilot, app, "entity.consortium.members[2].operating_service_capability", "是")
        await settle(pilot, app)
        assert app.result.decision.verdict.value == "compliant"


@sync
async def test_only_what_the_activity_needs_is_asked():
    app = make_app(mode="applicant", lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await fill_step(pilot, app, {"activity": "road_test"})
        await pilot.press("ctrl+n", "ctrl+n")
        await pilot.pause()
        # entity step: no operating qualification for a road test
        await screen.show_step(F.STEP_IDS.index("entity"))
        paths = {i.path for i in screen.query(FieldInput)}
        assert "entity.credit_code" in paths and "entity.operating_qualification.holder" not in paths
        await screen.show_step(F.STEP_IDS.index("plan"))
        paths = {i.path for i in screen.query(FieldInput)}
        assert "operations.goods_are_ballast_only" in paths and "operations.fee_charged" not in paths
        assert "adding.original_notice" not in paths
        # a demonstration asks the other way round
        app.draft["activity"] = "demonstration_operation"
        app.draft["modifiers"] = {"adding_vehicles": True}
        await screen.show_step(F.STEP_IDS.index("plan"))
        paths = {i.path for i in screen.query(FieldInput)}
        assert "operations.fee_charged" in paths and "operations.goods_are_ballast_only" not in paths
        assert "adding.original_notice" in paths


@sync
async def test_a_bad_value_is_explained_under_its_field_and_nothing_is_lost_going_back():
    app = make_app(mode="applicant", lang="zh", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await screen.show_step(F.STEP_IDS.index("vehicles"))
        seats = screen.query_one("#f-vehicles_0__rated_seats", FieldInput)
        seats.focus()
        seats.value = "三百"
        await pilot.pause()
        problem = screen.query_one("#f-vehicles_0__rated_seats-p")
        assert problem.display and "整数" in str(problem.render())  # typed text is not a whole number
        seats.value = "300"
        await settle(pilot, app)
        assert "200" in str(problem.render())  # at most 200 seats
        assert app.result is None and app.status.application is None  # no findings from an invalid draft
        await pilot.press("ctrl+n")
        await pilot.press("f4")
        await pilot.pause()
        assert screen.query_one("#f-vehicles_0__rated_seats", FieldInput).value == "300"  # kept as typed
        seats = screen.query_one("#f-vehicles_0__rated_seats", FieldInput)
        seats.focus()
        seats.value = "5"
        await settle(pilot, app)
        assert not screen.query_one("#f-vehicles_0__rated_seats-p").display
        assert app.result.decision.verdict.value == "compliant"


@sync
async def test_review_hub_edits_in_place_and_findings_follow():
    app = make_app(mode="applicant", lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        screen = app.screen
        table = screen.query_one("#review-table")
        row = screen.review_paths.index("vehicles[0].vin")
        table.move_cursor(row=row)
        await pilot.pause()
        edit = screen.query_one("#review-edit", FieldInput)
        assert edit.path == "vehicles[0].vin"
        edit.focus()
        edit.value = "LSVAU2180N2183294"  # a wrong check digit
        await settle(pilot, app)
        assert app.result.decision.verdict.value == "non_compliant"
        assert "✗ VEH-10" in findings_shown(app)
        assert str(table.get_cell("vehicles[0].vin", table.ordered_columns[1].key)) == "LSVAU2180N2183294"


@sync
async def test_personal_data_is_masked_unless_being_edited():
    app = make_app(mode="applicant", lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await screen.show_step(F.STEP_IDS.index("drivers"))
        idn = screen.query_one("#f-drivers_0__id_number", FieldInput)
        assert idn.value == "340**************9"
        idn.focus()
        await pilot.pause()
        assert idn.value == "340104199001011239"
        screen.query_one("#f-drivers_0__name", FieldInput).focus()
        await pilot.pause()
        assert idn.value == "340**************9"
        assert app.draft["drivers"][0]["id_number"] == "340104199001011239"  # the mask is never saved
        await pilot.press("ctrl+r")
        await pilot.pause()
        table = screen.query_one("#review-table")
        assert str(table.get_cell("drivers[0].id_number", table.ordered_columns[1].key)) == "340**************9"
        assert str(table.get_cell("drivers[0].phone", table.ordered_columns[1].key)) == "139****2345"


@sync
async def test_drafts_are_saved_opened_and_exported(tmp_path, store):
    app = make_app(mode="applicant", lang="en", store_url=store.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await fill_step(pilot, app, {"activity": "road_test", "application_id": "RT-DRAFT-1"})
        draft_file = tmp_path / "draft.yaml"
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = str(draft_file)
        await pilot.press("enter")
        await pilot.pause()
        assert read_document(draft_file) == {"activity": "road_test", "application_id": "RT-DRAFT-1"}
        # an incomplete draft is not exported: the problems are shown, no file written
        await pilot.press("ctrl+e")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = str(tmp_path / "out.yaml")
        await pilot.press("enter")
        await pilot.pause()
        assert not (tmp_path / "out.yaml").exists()
        # the whole example, saved to the store without personal data, opened again
        app.draft = read_document(EXAMPLES / "da-compliant.yaml")
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = "store:hefei"
        await pilot.press("enter")
        await pilot.pause()
        stored = D.open_from_store(store, "hefei")
        assert "id_number" not in stored.document["drivers"][0] and "drivers[0].id_number" in stored.removed
        # export of the finished application: what check and submit read
        await pilot.press("ctrl+e")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = str(tmp_path / "out.yaml")
        await pilot.press("enter")
        await pilot.pause()
        from icv_permits.services.precheck import check_file

        assert check_file(tmp_path / "out.yaml", as_of=CLOCK.now().date()).decision.verdict.value == "compliant"
        assert app.open_draft("store:hefei")
        assert app.draft["drivers"][0].get("id_number") is None


@sync
async def test_a_bad_file_is_an_error_message_not_a_crash(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("activity: road_test\nactivity: road_test\n", encoding="utf-8")
    app = make_app(mode="applicant", lang="en", file=bad)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ApplicantScreen)
        assert app.draft == {}
        assert any("twice" in str(n.message) for n in app._notifications)


# ---------------------------------------------------------------- comfort


@sync
async def test_f1_shows_rule_citation_and_example_for_the_focused_field():
    app = make_app(mode="applicant", lang="zh", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await screen.show_step(F.STEP_IDS.index("vehicles"))
        screen.query_one("#f-vehicles_0__vin", FieldInput).focus()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.body.plain
        assert "VEH-10" in body and app.pack().rules["VEH-10"].requirement("zh") in body
        assert "依据：GB-16735" in body and "示例：LSVAU218XN2183294" in body
        assert "app.help" in body  # the binding ids
        await pilot.press("escape")
        assert isinstance(app.screen, ApplicantScreen)


@sync
async def test_keys_are_remapped_from_the_config_file(tmp_path, monkeypatch):
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\n"app.help" = "f12"\n"applicant.next" = "f10"\n"no.such" = "f8"\n'
                    '"applicant.back" = "ctrl+shift+nonsense key!!"\n"applicant.save" = "s"\n"applicant.open" = "f6"\n',
                    encoding="utf-8")
    monkeypatch.setenv("ICV_PERMITS_KEYS", str(keys))
    app = make_app(mode="applicant", lang="en")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        told = " ".join(str(n.message) for n in app._notifications)
        assert "no.such" in told
        assert "applicant.back" in told and "nonsense" in told  # not a key: refused, the default kept
        assert "applicant.save" in told  # a bare letter would take "s" away from typing
        assert "applicant.add / applicant.open" in told  # F6 would do two things
        await pilot.press("f10")
        await pilot.pause()
        assert app.screen.step_id == "entity"
        await pilot.press("f12")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "f12" in app.screen.body.plain


@sync
async def test_language_switches_at_run_time_without_losing_the_draft():
    app = make_app(mode="applicant", lang="zh", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert "申请人" in str(app.screen.query_one("#title").render())
        await pilot.press("f2")
        await pilot.pause()
        assert "Applicant" in str(app.screen.query_one("#title").render())
        assert app.draft["application_id"] == "AH-DA-2026-0107"
        await pilot.press("f1", "f2")  # the help follows the language too
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and "按键" in app.screen.body.plain


@sync
async def test_a_mode_whose_code_is_not_loaded_yet_shows_a_first_screen_at_once(monkeypatch):
    """A new process has not imported the applicant's screen (the model and the engine): the app
    first draws a screen saying what it opens, then the mode's screen (docs/benchmarks.md)."""
    import sys

    monkeypatch.delitem(sys.modules, "icv_permits.tui.applicant")
    app = make_app(mode="applicant", lang="zh", file=EXAMPLES / "da-compliant.yaml")
    pushed: list[str] = []
    push = app.push_screen

    def recording(screen, *args, **kwargs):
        pushed.append(type(screen).__name__)
        return push(screen, *args, **kwargs)

    app.push_screen = recording
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(300):  # pushed, then drawn (ending the test between the two tore it down mid-mount)
            if type(app.screen).__name__ == "ApplicantScreen" and app.screen.shown_signature:
                break
            await pilot.pause(0.01)
        assert pushed == ["LoadingScreen", "ApplicantScreen"]
        assert app.draft["application_id"] == "AH-DA-2026-0107"  # the file opened on the way


@sync
async def test_command_palette_switches_mode():
    app = make_app(lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, ModeScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Mode: auditor")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, AuditorScreen)


@sync
async def test_command_palette_offers_the_screens_own_commands_and_f1_toggles_help():
    app = make_app(mode="applicant", lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")  # F1 again closes the help
        await pilot.pause()
        assert isinstance(app.screen, ApplicantScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Save the draft")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "PromptScreen"  # the applicant's save, from the palette
        await pilot.press("escape")
        await pilot.press("f2")  # 中文: Textual's own palette commands too
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "退出" in titles and "主题" in titles and "Quit" not in titles


@sync
async def test_odd_input_is_a_message_never_a_crash(tmp_path):
    """Found in review: a 5,000-digit number, an activity typed as a list, a list where a mapping
    is expected, F7 on the review, a multi-line paste into a list field."""
    from textual import events

    odd = tmp_path / "odd.yaml"
    odd.write_text("activity: [road_test]\nentity: {consortium: [1, 2]}\n", encoding="utf-8")
    app = make_app(mode="applicant", lang="en", file=odd)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = app.screen
        await screen.show_step(F.STEP_IDS.index("entity"))  # the common fields are asked
        assert "entity.credit_code" in {i.path for i in screen.query(FieldInput)}
        app.draft["activity"] = "demonstration_application"
        await screen.show_step(F.STEP_IDS.index("entity"))
        await tab_to(pilot, app, lambda w: getattr(w, "path", "") == "entity.name")
        await pilot.press("f6")  # entity.consortium is a list here: told, not a crash
        await pilot.pause()
        assert any("not a list" in str(n.message) for n in app._notifications)
    app = make_app(mode="applicant", lang="en", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = app.screen
        await screen.show_step(F.STEP_IDS.index("vehicles"))
        seats = screen.query_one("#f-vehicles_0__rated_seats", FieldInput)
        seats.focus()
        seats.value = "9" * 5000
        await settle(pilot, app)
        assert screen.problem_lines["vehicles[0].rated_seats"].display
        seats.value = "5"
        await screen.show_step(F.STEP_IDS.index("scope"))
        sections = screen.query_one("#f-sections", FieldInput)
        sections.focus()
        sections.value = ""
        sections.post_message(events.Paste("HF-GX-001\nHF-BH-A01\n"))
        await settle(pilot, app)
        assert app.draft["sections"] == ["HF-GX-001", "HF-BH-A01"]
        await pilot.press("ctrl+r")
        await pilot.pause()
        n = len(app.draft["vehicles"])
        await pilot.press("f7")  # on the review: told to remove on the item's step
        await pilot.pause()
        assert len(app.draft["vehicles"]) == n
        assert app.result.decision.verdict.value == "compliant"


@sync
async def test_a_phone_number_in_a_problem_is_masked(tmp_path):
    doc = (EXAMPLES / "da-compliant.yaml").read_text(encoding="utf-8").replace('phone: "13955512345"', "phone: 13955512345")
    assert "phone: 13955512345" in doc
    file = tmp_path / "unquoted-phone.yaml"
    file.write_text(doc, encoding="utf-8")
    app = make_app(mode="applicant", lang="zh", file=file)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        table = app.screen.query_one("#review-table")
        problem = str(table.get_cell("drivers[0].phone", table.ordered_columns[2].key))
        assert "139****2345" in problem and "13955512345" not in problem
        assert "13955512345" not in findings_shown(app)


# ---------------------------------------------------------------- regulator


@sync
async def test_regulator_decides_with_a_reason(store):
    workflow.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK)
    workflow.submit(store, EXAMPLES / "rt-compliant.yaml", actor="applicant", clock=CLOCK)
    app = make_app(mode="regulator", lang="en", store_url=store.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RegulatorScreen)
        assert screen.query_one("#queue").row_count == 2
        screen.query_one("#queue").focus()
        await pilot.press("enter")
        await pilot.pause()
        sub = screen.selected
        assert "Verdict:" in str(screen.query_one("#sub-findings").render())
        assert "********" in seen(screen.query_one("#application"))  # ID numbers masked
        # returning needs a reason: refused and shown, nothing written
        await pilot.press("ctrl+t")
        await pilot.pause()
        refused = seen(screen.query_one("#result"))
        assert "reason" in refused.lower() and "--reason" not in refused  # no option name
        assert workflow.show(store, sub)[0].state == "under_review"
        screen.query_one("#reason").value = "补充保险凭证"
        await pilot.press("ctrl+t", "enter")  # then confirmed
        await pilot.pause()
        view = workflow.show(store, sub)[0]
        assert view.state == "returned" and view.reviews[-1]["reason"] == "补充保险凭证"
        assert "returned" in seen(screen.query_one("#result"))
        assert screen.query_one("#queue").row_count == 1


@sync
async def test_regulator_approves_and_sees_the_notice(store):
    res = workflow.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK)
    app = make_app(mode="regulator", lang="zh", store_url=store.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.load(res.submission.id)
        await pilot.press("ctrl+y", "enter")  # approve, confirmed
        await pilot.pause()
        view = workflow.show(store, res.submission.id)[0]
        assert view.state == "approved" and view.notices
        assert view.notices[0]["number"] in seen(app.screen.query_one("#result"))


@sync
async def test_regulator_renews_plates_and_reads_an_entitys_history(store):
    """Plates renew only inside the 30 days before they end; the entity's history lists its
    submissions, notices with plates, and drivers masked — in either language."""
    res = workflow.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK)
    decided = workflow.decide(store, res.submission.id, "approve", reason=None, actor="reg", clock=CLOCK)
    number, plates_until = decided.notice["number"], min(pl["valid_until"] for pl in decided.notice["plates"])
    near_end = FixedClock(pendulum.parse(plates_until, tz="Asia/Shanghai").subtract(days=10))
    app = make_app(mode="regulator", lang="en", store_url=store.url, clock=near_end)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert [n["number"] for n in screen.notice_rows] == [number]  # plates end within 30 days
        await pilot.press("ctrl+l")
        await pilot.pause()
        shown = seen(screen.query_one("#result"))
        assert f"renewed under notice {number}" in shown
        plates = workflow.list_notices(store, clock=near_end)[0]["plates"]
        assert len(plates) == 2 * len(decided.notice["plates"])
        assert all(pl["valid_until"] <= decided.notice["valid_until"] for pl in plates)  # never past the notice
        # renewed, the notice no longer expires within 30 days: it leaves the list, nothing more to renew
        assert screen.notice_rows == [] and f"renewed under notice {number}" in seen(screen.query_one("#result"))
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert "No notice is highlighted" in seen(screen.query_one("#result"))
        assert len(workflow.list_notices(store, clock=near_end)[0]["plates"]) == len(plates)
        # F4: the entity of the notice just renewed
        await pilot.press("f4")
        await pilot.pause()
        history = str(screen.query_one("#entity").render())
        assert screen.query_one("#tabs").active == "tab-entity"
        assert decided.notice["credit_code"] in history and number in history and "(renewal)" in history
        assert "340**************9" in history and "340104199001011239" not in history  # drivers masked
        await pilot.press("f2")  # 中文
        await pilot.pause()
        zh = str(screen.query_one("#entity").render())
        assert "首次记录于" in zh and "[有效]" in zh
        # a code typed in that is not on record
        code = screen.query_one("#credit-code")
        code.focus()
        code.value = "91340100MA2RFGJQ5X"
        await pilot.press("enter")
        await pilot.pause()
        assert "91340100MA2RFGJQ5X" in str(screen.query_one("#entity").render())


# ---------------------------------------------------------------- auditor


def _tamper(store, seq: int) -> None:
    """Change a logged actor behind the log's back (triggers out of the way, as the table's owner)."""
    with bypass(store) as run:
        run("UPDATE decision_log SET actor = 'mallory' WHERE seq = :seq", seq=seq)


@sync
async def test_auditor_finds_a_tampered_log_and_highlights_the_first_break(store):
    r1 = workflow.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK)
    workflow.submit(store, EXAMPLES / "rt-compliant.yaml", actor="applicant", clock=CLOCK)
    workflow.decide(store, r1.submission.id, "approve", reason=None, actor="reg", clock=CLOCK)
    n = ledger.head(store)[0]
    assert n >= 5
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("ctrl+v")
        await pilot.pause()
        assert "Chain intact" in str(screen.query_one("#audit-out").render())
        _tamper(store, 3)
        await pilot.press("ctrl+v")
        await pilot.pause()
        out = str(screen.query_one("#audit-out").render())
        assert "BROKEN at record 3" in out
        table = screen.query_one("#log")
        assert table.cursor_row == 2  # the first broken record is selected…
        assert "red" in str(table.get_row_at(2)[0].style)  # …and highlighted
        assert "red" not in str(table.get_row_at(1)[0].style)


@sync
async def test_auditor_replays_and_explains_in_both_languages(store):
    workflow.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK)
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        first = next(i for i, r in enumerate(screen.records) if r.kind == "engine_decision")
        screen.query_one("#log").move_cursor(row=first)
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert "1 decisions replayed: 1 identical, 0 different." in str(screen.query_one("#audit-out").render())
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert "Log record" in str(screen.query_one("#audit-out").render())
        await pilot.press("f2")
        await pilot.pause()
        assert "日志记录" in str(screen.query_one("#audit-out").render())


@sync
async def test_auditor_replays_a_marked_selection_and_sees_the_differences(store):
    """Space marks records; Ctrl+Y replays the marked ones (a review through its engine decision);
    a decision whose recorded outcome was altered shows the rule that differs."""
    r1 = workflow.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK)
    workflow.submit(store, EXAMPLES / "rt-compliant.yaml", actor="applicant", clock=CLOCK)
    workflow.decide(store, r1.submission.id, "approve", reason=None, actor="reg", clock=CLOCK)
    records = list(ledger.iter_records(store))
    engine = [r for r in records if r.kind == "engine_decision"]
    review = next(r for r in records if r.kind == "review")
    altered = engine[1]

    def fail_veh_10(body):  # the second decision's first VEH-10 outcome recorded as failed
        finding = next(f for f in body["decision"]["findings"] if f["rule_id"] == "VEH-10")
        assert finding["outcome"] == "pass"
        finding["outcome"] = "fail"

    body = forged_engine_body(store, altered, fail_veh_10)
    with bypass(store) as run:
        run("UPDATE decision_log SET body = :body WHERE seq = :seq", body=canonical_json(body), seq=altered.seq)
    app = make_app(mode="auditor", lang="en", store_url=store.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#log")
        for rec in (review, altered):
            table.move_cursor(row=[r.seq for r in screen.records].index(rec.seq))
            await pilot.press("space")
        await pilot.pause()
        assert screen.marked == {review.seq, altered.seq}
        assert str(table.get_row(str(altered.seq))[0]).startswith("● ")
        assert "2 marked" in str(screen.query_one("#title").render())
        await pilot.press("ctrl+y")
        await pilot.pause()
        out = str(screen.query_one("#audit-out").render())
        assert "2 decisions replayed: 1 identical, 1 different." in out
        assert f"✗ seq {altered.seq}" in out and "VEH-10" in out
        # unmarked, the highlighted record alone; with the current pack (the same pack here: identical)
        await pilot.press("space")
        await pilot.press("f6")
        await pilot.pause()
        assert "current pack" in str(screen.query_one("#title").render())
        table.move_cursor(row=[r.seq for r in screen.records].index(engine[0].seq))
        table.move_cursor(row=[r.seq for r in screen.records].index(review.seq))
        await pilot.press("space", "ctrl+y")
        await pilot.pause()
        assert "1 decisions replayed: 1 identical, 0 different." in str(screen.query_one("#audit-out").render())


@sync
async def test_regulator_without_a_store_shows_the_problem(tmp_path):
    app = make_app(mode="regulator", lang="en", store_url=f"sqlite:///{tmp_path / 'none.db'}")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, RegulatorScreen)
        assert any("db upgrade" in str(n.message) for n in app._notifications)
