"""The regulator's mode, driven with Pilot as a regulator would: what each decision did (or why it
was refused) shown above the key bar, a confirm step, the application as labelled sections with its
history, the queue's activity column, F1's introduction, and the layout at 80×24 and 160×45.

Every test runs on SQLite and, when ICV_PERMITS_TEST_PG_URL is set, on PostgreSQL (the ``store``
fixture)."""

from __future__ import annotations


import pendulum
import pytest

pytest.importorskip("textual")


from icv_permits.core.errors import InputError  # noqa: E402
from icv_permits.services import office as workflow  # noqa: E402
from icv_permits.services.precheck import FixedClock  # noqa: E402
from icv_permits.tui.app import ICVApp  # noqa: E402
from icv_permits.tui.common import HelpScreen, KeyBar  # noqa: E402
from icv_permits.tui.regulator import ConfirmDecision, RegulatorScreen  # noqa: E402

import tui_support as support  # noqa: E402
from tui_support import CLOCK, EXAMPLES, sync  # noqa: E402,F401
SIZES = [(80, 24), (160, 45)]


def make_app(store, lang: str = "en", clock=CLOCK) -> ICVApp:
    return support.make_app(clock=clock, actor="reg-wang", mode="regulator", lang=lang, store_url=store.url)


def seen(widget, width: int = 400) -> str:
    return support.seen(widget, width)


async def start(pilot) -> RegulatorScreen:
    while not isinstance(pilot.app.screen, RegulatorScreen):
        await pilot.pause(0.05)
    await pilot.pause()
    return pilot.app.screen


async def open_row(pilot, screen: RegulatorScreen, row: int) -> None:
    """Arrow down to a row of the queue (focused at start) and press Enter."""
    assert screen.app.focused is screen.query_one("#queue")
    await pilot.press(*["down"] * row, "enter")
    await pilot.pause()


def result(screen) -> str:
    return seen(screen.query_one("#result"))


def panel_is_seen(screen) -> None:
    """The result panel is drawn on the screen, whole, above the key bar (not under it)."""
    box, bar = screen.query_one("#result-box"), screen.query_one(KeyBar)
    assert box.display and box.region.height >= 2
    assert box.region.bottom <= bar.region.y
    assert box.region.right <= screen.size.width


def submit(store, name: str = "da-compliant.yaml"):
    return workflow.submit(store, EXAMPLES / name, actor="applicant-li", clock=CLOCK).submission


# ---------------------------------------------------------------- outcomes and refusals


@pytest.mark.parametrize("lang,words,option", [("en", "reason field", "--reason"), ("zh", "理由栏", "--reason")])
@sync
async def test_approving_against_the_engine_without_a_reason_is_refused_in_red_above_the_key_bar(store, lang, words, option):
    sub = submit(store, "fail-vin-check-digit.yaml")
    app = make_app(store, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDecision)  # nothing to confirm: it cannot be done
        shown = result(screen)
        assert words in shown and option not in shown and str(sub.id) in shown
        assert screen.query_one("#result-box").has_class("-refused")
        panel_is_seen(screen)
        assert app.focused is screen.query_one("#reason")  # where the reason goes
        assert workflow.show(store, sub.id)[0].state == "under_review"


@sync
async def test_the_services_refusal_is_worded_for_the_app_not_the_command_line(store):
    """The service names ``--reason`` (the CLI's option); the app says the reason field instead, in
    both languages, and the CLI's own wording is unchanged."""
    sub = submit(store, "fail-vin-check-digit.yaml")
    with pytest.raises(InputError) as caught:
        workflow.decide(store, sub.id, "approve", reason=None, actor="x", clock=CLOCK)
    assert "--reason" in caught.value.problems[0].message("en")
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        for lang, words in (("en", "reason field"), ("zh", "理由栏")):
            text = screen.problem_text(caught.value, lang)
            assert words in text and "--reason" not in text


@sync
async def test_a_colleagues_decision_first_is_a_red_refusal_and_the_submission_reloads_at_its_new_revision(store):
    sub = submit(store)
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        assert screen.revision == 1
        # a colleague returns it meanwhile
        workflow.decide(store, sub.id, "return", reason="insurance proof missing", actor="reg-zhao", clock=CLOCK)
        await pilot.press("ctrl+y", "enter")  # approve, confirmed
        await pilot.pause()
        shown = result(screen)
        assert "colleague changed submission" in shown and "revision 2" in shown and "returned for correction" in shown
        assert "reg-zhao" in shown  # who did it
        assert screen.query_one("#result-box").has_class("-refused")
        panel_is_seen(screen)
        # reloaded at once: no F5 needed
        assert screen.revision == 2
        head = seen(screen.query_one("#application")).splitlines()[0]
        assert "revision 2" in head and "returned for correction" in head
        view = workflow.show(store, sub.id)[0]
        assert view.state == "returned" and len(view.reviews) == 1  # nothing written by the refused approval


@pytest.mark.parametrize("size", SIZES)
@sync
async def test_an_approval_shows_the_notice_its_validity_and_every_plate(store, size):
    sub = submit(store)
    app = make_app(store)
    async with app.run_test(size=size) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        await pilot.press("ctrl+y", "enter")
        await pilot.pause()
        notice = workflow.show(store, sub.id)[0].notices[0]
        shown = result(screen)
        assert f"Notice {notice['number']} issued, valid {notice['valid_from']} – {notice['valid_until']}" in shown
        for pl in notice["plates"]:
            assert pl["number"] in shown and pl["vin"] in shown
        assert screen.query_one("#result-box").has_class("-ok")
        panel_is_seen(screen)


@sync
async def test_a_plate_renewal_shows_every_vehicle_renewed(store):
    sub = submit(store)
    decided = workflow.decide(store, sub.id, "approve", reason=None, actor="reg", clock=CLOCK)
    assert len(decided.notice["plates"]) == 2
    plates_until = min(pl["valid_until"] for pl in decided.notice["plates"])
    near_end = FixedClock(pendulum.parse(plates_until, tz="Asia/Shanghai").subtract(days=10))
    app = make_app(store, "zh", clock=near_end)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await pilot.press("ctrl+l")
        await pilot.pause()
        shown = result(screen)
        renewed = [pl for pl in workflow.list_notices(store, clock=near_end)[0]["plates"] if pl["renews"]]
        assert len(renewed) == 2
        for pl in renewed:
            assert pl["vin"] in shown and pl["number"] in shown
        assert "2 辆车" in shown and decided.notice["number"] in shown
        panel_is_seen(screen)


@sync
async def test_the_outcome_follows_the_language(store):
    submit(store)
    app = make_app(store, "zh")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        await pilot.press("ctrl+y", "enter")
        await pilot.pause()
        assert "已签发通知书" in result(screen)
        await pilot.press("f2")
        await pilot.pause()
        assert "issued, valid" in result(screen) and "已签发" not in result(screen)


# ---------------------------------------------------------------- the confirm step


@sync
async def test_approve_asks_first_and_escape_or_n_cancels(store):
    sub = submit(store)
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        for cancel in ("escape", "n"):
            await pilot.press("ctrl+y")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmDecision)
            body = seen(app.screen.query_one("#confirm-body"))
            assert f"Approve submission {sub.id}?" in body and "合肥星途智行科技有限公司" in body and "91340100MA2RFGJQ5K" in body
            assert "issues the notice" in body
            await pilot.press(cancel)
            await pilot.pause()
            assert app.screen is screen and "nothing was decided" in result(screen)
            assert workflow.show(store, sub.id)[0].state == "under_review"


@pytest.mark.parametrize("key,action,confirm,state", [("ctrl+g", "Reject", "y", "rejected"), ("ctrl+t", "Return", "enter", "returned")])
@sync
async def test_reject_and_return_ask_first_saying_the_reason(store, key, action, confirm, state):
    sub = submit(store, "fail-vin-check-digit.yaml")
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        screen.query_one("#reason").focus()
        await pilot.press(*"VIN check digit")
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDecision)
        body = seen(app.screen.query_one("#confirm-body"))
        assert f"{action} submission {sub.id}?" in body and "VIN check digit" in body
        assert workflow.show(store, sub.id)[0].state == "under_review"  # nothing yet
        await pilot.press(confirm)
        await pilot.pause()
        view = workflow.show(store, sub.id)[0]
        assert view.state == state and view.reviews[-1]["reason"] == "VIN check digit" and view.reviews[-1]["actor"] == "reg-wang"
        assert app.screen is screen and str(sub.id) in result(screen)


@sync
async def test_the_confirm_dialog_is_in_chinese(store):
    submit(store)
    app = make_app(store, "zh")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        await pilot.press("ctrl+y")
        await pilot.pause()
        body = seen(app.screen.query_one("#confirm-body"))
        assert "批准申请" in body and "主体：" in body and "理由：" in body
        assert "确认" in str(app.screen.query_one("#confirm").label)


# ---------------------------------------------------------------- the submission as labelled sections, its history


@pytest.mark.parametrize("lang,labels,codes", [
    ("zh", ["主体", "统一社会信用代码", "驾驶人", "申请车辆", "保险", "路段与期限", "交强险", "乘用车辆", "劳动合同"],
     ["credit_code", "business_scopes", "compulsory", "passenger", "labour", "small_car", "车辆数"]),
    ("en", ["Entity", "Credit code", "Drivers", "Vehicles applied for", "Insurance", "Sections and period", "compulsory traffic insurance",
            "passenger vehicle", "employment contract"],
     ["credit_code", "business_scopes", "small_car", "roof_sign_lamp"]),
])
@sync
async def test_the_submission_is_shown_as_labelled_sections_in_the_language(store, lang, labels, codes):
    submit(store)
    app = make_app(store, lang)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        shown = seen(screen.query_one("#application"))
        for label in labels:
            assert label in shown, label
        for code in codes:
            assert code not in shown, code
        assert "合肥星途智行科技有限公司" in shown and "HF-GX-001" in shown and "2026-12-01 – 2027-11-30" in shown
        assert "340104199001011239" not in shown and "13955512345" not in shown and "********" in shown  # personal data masked


@sync
async def test_the_history_lists_each_step_with_time_actor_action_and_reason(store):
    sub = submit(store)
    workflow.decide(store, sub.id, "return", reason="补充保险凭证", actor="reg-zhao", clock=CLOCK)
    submit(store)  # the correction: version 2
    app = make_app(store)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        await pilot.press("ctrl+y", "enter")
        await pilot.pause()
        history = seen(screen.query_one("#history"))
        order = ["submitted version 1", "engine check at submission", "regulator: return for correction", "reason: 补充保险凭证",
                 "submitted version 2", "regulator: approve", "notice AH-DA-"]
        at = [history.index(x) for x in order]
        assert at == sorted(at)
        assert "applicant-li" in history and "reg-zhao" in history and "reg-wang" in history
        assert "2026-11-27 10:00" in history  # the time, in Asia/Shanghai


@sync
async def test_the_history_shows_a_plate_renewal_with_its_actor(store):
    sub = submit(store)
    decided = workflow.decide(store, sub.id, "approve", reason=None, actor="reg", clock=CLOCK)
    near_end = FixedClock(pendulum.parse(min(pl["valid_until"] for pl in decided.notice["plates"]), tz="Asia/Shanghai").subtract(days=10))
    workflow.renew_plates(store, decided.notice["number"], actor="reg-sun", clock=near_end)
    events = workflow.submission_history(store, sub.id)
    assert [e["kind"] for e in events] == ["submitted", "engine", "engine", "review", "renewal"]
    assert events[-1]["actor"] == "reg-sun" and len(events[-1]["plates"]) == 2
    app = make_app(store, "zh", clock=near_end)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await start(pilot)
        screen.load(sub.id)
        await pilot.pause()
        history = seen(screen.query_one("#history"))
        assert f"通知书 {decided.notice['number']} 临时号牌续期" in history and "reg-sun" in history


# ---------------------------------------------------------------- the queue, F1, layout


@pytest.mark.parametrize("lang,words", [("zh", ["示范应用", "道路测试"]), ("en", ["demonstration application", "road test"])])
@sync
async def test_the_queue_has_an_activity_column(store, lang, words):
    submit(store)
    submit(store, "rt-compliant.yaml")
    app = make_app(store, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        table = screen.query_one("#queue")
        headers = [str(c.label) for c in table.columns.values()]
        assert ("申请类型" if lang == "zh" else "Activity") in headers
        col = headers.index("申请类型" if lang == "zh" else "Activity")
        assert [str(table.get_row_at(i)[col]) for i in range(table.row_count)] == words


@pytest.mark.parametrize("lang,words", [("en", ["Tabs", "Deciding", "reason field", "Ctrl+Y", "Esc or N"]),
                                        ("zh", ["标签页", "作出决定", "理由栏", "CTRL+Y"])])
@sync
async def test_f1_explains_the_regulators_screen(store, lang, words):
    app = make_app(store, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = seen(app.screen.query_one("#help-body"))
        for w in words:
            assert w.lower() in body.lower(), w
        assert "No field is focused" not in body and "regulator.approve" in body


@pytest.mark.parametrize("size", SIZES)
@sync
async def test_nothing_important_is_clipped(store, size):
    """The decision row (reason and the three buttons), the result panel and the key bar all fit."""
    submit(store, "fail-vin-check-digit.yaml")
    app = make_app(store, "zh")
    async with app.run_test(size=size) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        await pilot.press("ctrl+t")  # refused: no reason
        await pilot.pause()
        panel_is_seen(screen)
        width, height = size
        for wid in ("#reason", "#approve", "#return", "#reject"):
            r = screen.query_one(wid).region
            assert r.width > 0 and r.right <= width and r.bottom <= screen.query_one("#result-box").region.y, wid
        assert screen.query_one("#reason").region.width >= 20
        assert screen.query_one("#app-box").region.height >= (8 if height == 24 else 25)
        assert screen.query_one(KeyBar).region.bottom == height


@sync
async def test_deciding_again_on_a_decided_submission_is_refused_at_once(store):
    sub = submit(store)
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        await pilot.press("ctrl+y", "enter")
        await pilot.pause()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDecision)
        shown = result(screen)
        assert f"submission {sub.id} is approved" in shown and screen.query_one("#result-box").has_class("-refused")
        assert workflow.show(store, sub.id)[0].state == "approved"


@sync
async def test_the_decision_buttons_fit_their_labels_after_f2(store):
    submit(store)
    app = make_app(store, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await open_row(pilot, screen, 0)
        await pilot.press("f2")
        await pilot.pause()
        for bid, word in (("approve", "批准"), ("return", "退回补正"), ("reject", "不予批准")):
            button = screen.query_one(f"#{bid}")
            assert str(button.label) == word and button.region.width >= len(word) * 2 + 2, bid


@pytest.mark.parametrize("lang,label", [("zh", "其他经营范围（说明）"), ("en", "Other business scope (what it is)")])
def test_the_other_business_scope_is_shown_in_the_applicants_words(lang, label):
    """An entity whose scope is "other" says what it is: the regulator reads it beside the scopes."""
    from icv_permits.present.office import application_sections

    doc = {"activity": "road_test", "entity": {"name": "甲", "business_scopes": ["other"], "business_scope_other": "自动驾驶出行服务平台运营\x1b[2J"}}
    (rows,) = [rows for title, rows in application_sections(doc, lang) if title in ("主体", "Entity")]
    shown = dict(rows)
    assert shown[label] == "自动驾驶出行服务平台运营\\x1b[2J"  # made visible: no escape sequence reaches the screen
    without = {"activity": "road_test", "entity": {"name": "甲", "business_scopes": ["icv_manufacturing"]}}
    (rows,) = [rows for title, rows in application_sections(without, lang) if title in ("主体", "Entity")]
    assert label not in dict(rows)
