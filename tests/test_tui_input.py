"""Chinese-first input in the applicant mode, driven with Textual's Pilot as a user would.

Coded values (activity, category, vehicle type, contract, licence classes, business scopes, data
items, holder, insurance and notice kinds, province, incident kind, liability, yes/no) are chosen
from lists labelled in the interface's language (Enter on the field) or typed as those labels;
sections are picked from the rule pack's register; problems name the field with its item's context
(``驾驶人 D1 · 身份证号``), never a raw document path. The last test builds a compliant
demonstration application from nothing in the Chinese interface, choosing and typing only Chinese
labels and values (and numbers, dates and identifiers)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("textual")

from test_tui import show_item, tab_to  # noqa: E402  (the walk's helpers)
from tui_support import EXAMPLES, make_app, quick_keys, settle, sync  # noqa: E402,F401  (quick_keys: a fixture)

from icv_permits.adapters.documents import read_document  # noqa: E402
from icv_permits.core import code_labels as L  # noqa: E402
from icv_permits.core.model.application import (  # noqa: E402
    Activity,
    BusinessScope,
    Contract,
    DataItem,
    Holder,
    IncidentKind,
    InsuranceKind,
    Liability,
    LicenceClass,
    NoticeKind,
    Province,
    VehicleCategory,
    VehicleType,
)
from icv_permits.services import drafts as D  # noqa: E402
from icv_permits.tui import fields as F  # noqa: E402
from icv_permits.tui.choices import ChoiceScreen  # noqa: E402
from icv_permits.tui.common import FieldInput, HelpScreen, parse_text, show_text  # noqa: E402

ENUMS = (Activity, BusinessScope, Contract, DataItem, Holder, IncidentKind, InsuranceKind, LicenceClass, Liability, NoticeKind,
         Province, VehicleCategory, VehicleType)
# every code of the model's enumerations, and the English words of yes/no: none of them may be
# what an applicant of the Chinese interface has to type
ENGLISH_CODES = {m.value.lower() for e in ENUMS for m in e if len(m.value) > 2} | {"yes", "no", "true", "false", "none", "serious", "injury"}


@pytest.fixture(autouse=True)
def _quick_keys(quick_keys):  # noqa: F811  (the fixture by its name)
    """The walks type key by key (see ``tui_support.quick_keys``)."""


def field_input(app, path: str) -> FieldInput:
    return next(w for w in app.screen.query(FieldInput) if w.path == path and w.id != "review-edit")


def problem_shown(app, path: str) -> str:
    line = app.screen.problem_lines.get(path)
    return str(line.render()) if line is not None and line.display else ""


async def press_text(pilot, app, text: str) -> None:
    """Type ``text`` key by key. Pilot cannot press punctuation outside ASCII (、，；): those keys
    are sent as a terminal sends them, a key event carrying the character."""
    from textual import events
    from textual._wait import wait_for_idle
    from textual.keys import _character_to_key

    for c in text:
        if c.isascii() or c.isalnum():
            await pilot.press("space" if c == " " else c)
        else:
            event = events.Key(_character_to_key(c), c)
            event.set_sender(app)
            app._driver.send_message(event)
            await wait_for_idle(0)


async def type_text(pilot, app, path: str, text: str) -> None:
    await tab_to(pilot, app, lambda w: isinstance(w, FieldInput) and w.path == path and w.id != "review-edit")
    await pilot.press("end", "ctrl+u")
    await press_text(pilot, app, text)


def option_texts(widget) -> list[str]:
    return [str(widget.get_option_at_index(i).prompt) if not hasattr(widget.get_option_at_index(i).prompt, "plain")
            else widget.get_option_at_index(i).prompt.plain for i in range(widget.option_count)]


async def move_to(pilot, widget, index: int) -> None:
    for _ in range(widget.option_count + 2):
        if widget.highlighted == index:
            return
        await pilot.press("down" if widget.highlighted is None or widget.highlighted < index else "up")
    raise AssertionError(f"the list never highlighted option {index}")


async def choose(pilot, app, path: str, *labels: str) -> None:
    """Tab to the field, Enter for its list, move to each label with the arrow keys (Space marks
    it on a list of several), Enter."""
    await tab_to(pilot, app, lambda w: isinstance(w, FieldInput) and w.path == path and w.id != "review-edit")
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, ChoiceScreen), path
    widget = app.screen.query_one("#choice-list")
    texts = option_texts(widget)
    for label in labels:
        index = next(i for i, text in enumerate(texts) if text == label or text.split("\n")[0].split("  ")[0] == label)
        await move_to(pilot, widget, index)
        if app.screen.multi:
            await pilot.press("space")
    await pilot.press("enter")
    await pilot.pause()
    assert not isinstance(app.screen, ChoiceScreen)


# ---------------------------------------------------------------- typed Chinese labels are read


@sync
async def test_typing_chinese_labels_into_coded_fields_stores_the_codes():
    app = make_app(mode="applicant", lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, app, "activity", "示范应用")
        await settle(pilot, app)
        assert app.draft["activity"] == "demonstration_application"
        assert problem_shown(app, "activity") == ""
        await type_text(pilot, app, "modifiers.night", "是")
        await settle(pilot, app)
        assert app.draft["modifiers"]["night"] is True
        await pilot.press("f5")  # the entity: business scopes, typed as labels with a 顿号 and a full-width comma
        await pilot.pause()
        await type_text(pilot, app, "entity.business_scopes", "智能网联汽车制造、技术研发，检验检测")
        await settle(pilot, app)
        assert app.draft["entity"]["business_scopes"] == ["icv_manufacturing", "technology_rd", "testing_inspection"]
        assert problem_shown(app, "entity.business_scopes") == ""


@pytest.mark.parametrize(("enum", "kind"), [(e, "enums" if e in (BusinessScope, LicenceClass, DataItem) else "enum") for e in ENUMS])
def test_every_label_of_every_coded_field_reads_back_as_its_code(enum, kind):
    for member in enum:
        for lang in ("zh", "en"):
            label = L.label(enum, member.value, lang)
            assert lang == "en" or label != member.value, (enum, member)  # a Chinese word, not the code
            want = [member.value] if kind == "enums" else member.value
            assert parse_text(kind, label, enum=enum) == want
            assert parse_text(kind, label.upper(), enum=enum) == want  # whatever the case
            assert show_text(kind, want, lang, enum) == label
        assert parse_text(kind, member.value, enum=enum) == ([member.value] if kind == "enums" else member.value)  # codes still read


def test_yes_no_and_not_stated_in_both_languages():
    for text, value in (("是", True), ("否", False), ("未说明", None), ("Yes", True), ("NO", False), ("not stated", None), ("", None)):
        assert parse_text("bool", text) is value
    assert show_text("bool", True, "zh") == "是" and show_text("bool", False, "en") == "no"
    # an accident's liability is typed as its label too
    assert parse_text("accidents", "2023-05-01 次要责任; 2021-09-12 主要责任 伤亡") == [
        {"date": "2023-05-01", "liability": "minor", "death_or_serious_injury": False},
        {"date": "2021-09-12", "liability": "main", "death_or_serious_injury": True}]
    assert show_text("accidents", [{"date": "2023-05-01", "liability": "minor"}], "zh") == "2023-05-01 次要责任"


@sync
async def test_placeholders_and_examples_are_in_the_interface_language():
    app = make_app(mode="applicant", lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        night = field_input(app, "modifiers.night")
        assert "例如 是" in night.placeholder and "yes" not in night.placeholder
        assert "示范应用" in field_input(app, "activity").placeholder
        assert "demonstration_application" not in field_input(app, "activity").placeholder
        placeholders = " ".join(w.placeholder for w in app.screen.query(FieldInput))
        assert not ENGLISH_CODES & set(re.findall(r"[a-z_]+", placeholders.lower()))
        await pilot.press("f2")  # and in English, the English labels
        await pilot.pause()
        assert "e.g. yes" in field_input(app, "modifiers.night").placeholder
        assert "demonstration application" in field_input(app, "activity").placeholder


# ---------------------------------------------------------------- chosen from lists


@sync
async def test_a_coded_field_is_chosen_from_a_labelled_list_and_chosen_again_to_undo():
    app = make_app(mode="applicant", lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await tab_to(pilot, app, lambda w: getattr(w, "path", None) == "activity")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert option_texts(app.screen.query_one("#choice-list")) == ["道路测试", "示范应用", "示范运营", "未说明"]
        await pilot.press("escape")  # Esc leaves the field as it was
        await pilot.pause()
        assert "activity" not in app.draft
        await choose(pilot, app, "activity", "示范运营")
        await settle(pilot, app)
        assert app.draft["activity"] == "demonstration_operation" and field_input(app, "activity").value == "示范运营"
        assert app.checks >= 1 and app.focused.path == "activity"
        await choose(pilot, app, "activity", "示范应用")  # chosen again: the other value
        await settle(pilot, app)
        assert app.draft["activity"] == "demonstration_application"
        await choose(pilot, app, "activity", "未说明")  # and "not stated" leaves it out
        await settle(pilot, app)
        assert "activity" not in app.draft
        # yes / no / not stated
        await choose(pilot, app, "modifiers.night", "是")
        await settle(pilot, app)
        assert app.draft["modifiers"]["night"] is True and field_input(app, "modifiers.night").value == "是"


@sync
async def test_several_values_are_marked_on_a_list():
    app = make_app(mode="applicant", lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        app.draft["activity"] = "demonstration_application"
        await app.screen.show_step(F.STEP_IDS.index("entity"))
        await choose(pilot, app, "entity.business_scopes", "智能网联汽车制造", "技术研发")
        await settle(pilot, app)
        assert app.draft["entity"]["business_scopes"] == ["icv_manufacturing", "technology_rd"]
        assert field_input(app, "entity.business_scopes").value == "智能网联汽车制造、技术研发"
        await choose(pilot, app, "entity.business_scopes", "技术研发")  # unmarked again
        await settle(pilot, app)
        assert app.draft["entity"]["business_scopes"] == ["icv_manufacturing"]


@sync
async def test_a_wrong_coded_value_is_explained_with_the_labels():
    app = make_app(mode="applicant", lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, app, "activity", "示范")
        await settle(pilot, app)
        shown = problem_shown(app, "activity")
        assert "道路测试" in shown and "示范应用" in shown and "示范运营" in shown, shown
        assert "road_test" not in shown and "demonstration" not in shown
        await type_text(pilot, app, "modifiers.night", "也许")
        await settle(pilot, app)
        shown = problem_shown(app, "modifiers.night")
        assert "是" in shown and "否" in shown and "true" not in shown, shown


# ---------------------------------------------------------------- sections from the register


@sync
async def test_sections_are_picked_from_the_packs_register_with_names_and_activities():
    app = make_app(mode="applicant", lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        app.draft["activity"] = "demonstration_application"
        await app.screen.show_step(F.STEP_IDS.index("scope"))
        await tab_to(pilot, app, lambda w: getattr(w, "path", None) == "sections")
        await pilot.press("enter")
        await pilot.pause()
        texts = option_texts(app.screen.query_one("#choice-list"))
        register = app.pack().sections
        assert len(texts) == len(register)
        first = next(text for text in texts if text.startswith("HF-GX-001"))
        assert "望江西路" in first and "[测试 应用 运营]" in first, first  # what it is open for, in a word each
        # those open for the draft's activity come first
        assert texts[-1].split()[0] not in {s.id for s in register.values() if "demonstration_application" in s.activities}
        # under the list, the whole description of the highlighted one
        widget = app.screen.query_one("#choice-list")
        await move_to(pilot, widget, texts.index(first))
        detail = str(app.screen.query_one("#choice-detail").render())
        assert "合肥市" in detail and "开放：道路测试、示范应用、示范运营" in detail and "含夜间" in detail, detail
        await pilot.press("escape")
        await pilot.pause()
        await choose(pilot, app, "sections", "HF-GX-001", "HF-BH-A01")
        await settle(pilot, app)
        assert app.draft["sections"] == ["HF-GX-001", "HF-BH-A01"]
        # F1 on the field lists the register too
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        helped = str(app.screen.query_one("#help-body").render())
        assert "HF-GX-001" in helped and "望江西路" in helped and "WH-A01" in helped


@sync
async def test_prior_testing_starts_each_entry_with_a_section_from_the_register():
    app = make_app(mode="applicant", lang="zh", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        app.draft["vehicles"][0]["prior_testing"] = []
        await app.screen.show_step(F.STEP_IDS.index("evidence"))
        await choose(pilot, app, "vehicles[0].prior_testing", "HF-GX-001")
        await pilot.press(*"180.5", "space", *"820.4", "space", "是")
        await settle(pilot, app)
        assert app.draft["vehicles"][0]["prior_testing"] == [{"section": "HF-GX-001", "hours": "180.5", "km": "820.4", "records_submitted": True}]


# ---------------------------------------------------------------- no raw paths


def test_path_label_names_the_item_and_the_field():
    draft = read_document(EXAMPLES / "da-compliant.yaml")
    assert F.path_label("drivers[0].id_number", draft, "zh") == "驾驶人 D1 · 身份证号"
    assert F.path_label("vehicles[0].vin", draft, "zh") == "车辆 LSVAU218XN2183294 · 车辆识别代号"
    assert F.path_label("vehicles[1].prior_testing[0].hours", draft, "en") == "Vehicle LSVAU2183N2183301 · Prior testing HF-GX-001 · Hours"
    assert F.path_label("entity.consortium.members", draft, "zh") == "联合体成员"
    assert F.path_label("entity.contact_phone", draft, "zh") == "联系电话"
    assert F.path_label("sections[1]", draft, "zh") == "路段（第 2 项）"
    assert F.path_label("drivers[5].name", draft, "en") == "Driver 6 · Name"  # not in the draft: by its place
    assert F.path_label("insurance[0].number", draft, "zh").startswith("保单 PDZA2026340100001 · ")


@sync
async def test_problems_name_the_field_with_its_item_never_a_raw_path():
    draft = read_document(EXAMPLES / "da-compliant.yaml")
    del draft["drivers"][0]["id_number"]
    draft["entity"]["consortium"] = {"members": []}
    app = make_app(mode="applicant", lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        app.draft = draft
        app.schedule_check()
        await settle(pilot, app)
        shown = "\n".join(str(o.prompt) for o in app.screen.query_one("#findings").options)  # the findings pane's entries
        assert "驾驶人 D1 · 身份证号" in shown and "联合体成员" in shown, shown
        assert "drivers[0]" not in shown and "entity.consortium" not in shown


# ---------------------------------------------------------------- from nothing to compliant, in Chinese


def demonstration_target() -> dict:
    """The compliant demonstration application of examples/ with one driver and one vehicle (and
    no optional identifiers): what the applicant builds."""
    d = read_document(EXAMPLES / "da-compliant.yaml")
    d.pop("schema_version")
    d.pop("application_id")
    d.pop("incidents")
    d["drivers"] = d["drivers"][:1]
    d["drivers"][0].pop("phone")
    d["entity"].pop("contact_phone")
    d["vehicles"] = d["vehicles"][:1]
    vehicle = d["vehicles"][0]
    vehicle["drivers"] = ["D1"]
    for key in ("brand_model", "configuration"):
        vehicle.pop(key)
    for policy in d["insurance"]:
        policy["vins"] = [vehicle["vin"]]
        policy.pop("insurer")
    d["notices"][0]["vins"] = [vehicle["vin"]]
    return d


def zh_text(spec, value) -> str:
    text = show_text(spec.kind, value, "zh", spec.enum)
    return text


async def answer(pilot, app, path: str, value, typed: list[str]) -> None:
    """Give one answer as a Chinese applicant does: from the list where there is one, else typed."""
    spec = F.field_for(path)
    if spec.kind == "bool":
        await choose(pilot, app, path, "是" if value else "否")
    elif spec.kind == "enum":
        await choose(pilot, app, path, L.label(spec.enum, value, "zh"))
    elif spec.kind == "enums":
        await choose(pilot, app, path, *[L.label(spec.enum, v, "zh") for v in value])
    elif F.SECTION_FIELDS.get(re.sub(r"\[\d+\]", "[]", path)) == "many":
        await choose(pilot, app, path, *value)
    elif spec.kind == "prior":
        for entry in value:
            await choose(pilot, app, path, entry["section"])
            rest = f"{entry['hours']} {entry['km']} {'是' if entry['records_submitted'] else '否'}"
            typed.append(rest)
            await press_text(pilot, app, rest)
    else:
        text = zh_text(spec, value)
        if spec.kind in ("texts", "violations", "accidents") and value == []:
            text = "无"
        typed.append(text)
        await type_text(pilot, app, path, text)


async def answer_form(pilot, app, target: dict, typed: list[str]) -> None:
    for inp in list(app.screen.query(FieldInput)):
        if inp.id == "review-edit":
            continue
        want = D.get_path(target, inp.path)
        if want is None or D.get_path(app.draft, inp.path) == want:
            continue
        await answer(pilot, app, inp.path, want, typed)


async def answer_step(pilot, app, target: dict, typed: list[str]) -> None:
    screen = app.screen
    for _ in range(2):  # the activity and conditions change what is asked: once more after the redraw
        await answer_form(pilot, app, target, typed)
        for part in F.step(screen.step_id).lists:
            if not F.part_asked(part, target, app.pack()):
                continue
            for i in range(len(F.items(part, target))):
                await show_item(pilot, app, part, i)
                await answer_form(pilot, app, target, typed)
        await settle(pilot, app)


@sync
async def test_a_compliant_demonstration_application_built_from_nothing_in_chinese():
    target = demonstration_target()
    typed: list[str] = []
    app = make_app(mode="applicant", lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        for index, step_id in enumerate(F.STEP_IDS[:-1]):
            await screen.show_step(index) if screen.step_index != index else None
            await answer_step(pilot, app, target, typed)
            assert screen.step_id == step_id
            await pilot.press("f5")
            await pilot.pause()
        await settle(pilot, app)
        assert app.status.problems == [], app.status.problems
        assert app.result.decision.verdict.value == "compliant", [
            (f.rule_id, f.outcome.value) for f in app.result.decision.findings if f.outcome.value in ("fail", "missing")]
        assert "符合要求" in str(app.screen.query_one("#summary").render())
    # the codes are in the draft, and none of them was typed
    assert app.draft["activity"] == "demonstration_application"
    assert app.draft["vehicles"][0]["data_recording"]["realtime_upload"] == target["vehicles"][0]["data_recording"]["realtime_upload"]
    words = {w for text in typed for w in re.findall(r"[A-Za-z_]+", text)}
    assert not {w.lower() for w in words} & ENGLISH_CODES, words
    # letters only in identifiers (VIN, credit code, policy and report numbers: capitals), no English word
    assert not [w for w in words if any(c.islower() for c in w)], words


@sync
async def test_in_the_review_a_coded_answer_is_chosen_from_its_list_too():
    app = make_app(mode="applicant", lang="zh", file=EXAMPLES / "da-compliant.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        table = app.screen.query_one("#review-table")
        assert app.screen.review_paths[table.cursor_row] == "activity"
        assert "示范应用" in str(table.get_row_at(table.cursor_row)[1])
        edit = app.screen.query_one("#review-edit")
        assert edit.value == "示范应用" and "回车" in edit.placeholder
        edit.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await move_to(pilot, app.screen.query_one("#choice-list"), 2)
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.draft["activity"] == "demonstration_operation"
        assert "示范运营" in str(table.get_row_at(table.cursor_row)[1])
