"""Keys that reach the app in a terminal multiplexer, a key bar that hides none of them, and F1 help
that speaks of the mode it is pressed in."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from test_tui import CLOCK, make_app, sync  # noqa: E402

from icv_permits.tui.common import ALL_KEYS, APP_KEYS, KeyBar, key_of  # noqa: E402
from icv_permits.tui.common import HelpScreen  # noqa: E402

# the prefix keys of tmux (Ctrl+B) and GNU screen (Ctrl+A): inside either they never reach the app;
# Ctrl+S / Ctrl+Q are safe (the app's raw mode turns flow control off, and tmux passes them)
PREFIXES = {"ctrl+a", "ctrl+b"}


@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda k: k.id)
def test_no_default_key_is_a_multiplexer_prefix(key):
    assert not set(key.key.split(",")) & PREFIXES


@sync
async def test_back_and_next_reach_the_app_with_their_keys():
    """F4 goes back a step and F5 forward (Ctrl+N too): keys a tmux or screen session passes on."""
    app = make_app(mode="applicant", lang="zh")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("f5")
        await pilot.pause()
        assert screen.step_index == 1
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.step_index == 2
        await pilot.press("f4")
        await pilot.pause()
        assert screen.step_index == 1


@pytest.mark.parametrize("mode", ["applicant", "regulator", "auditor"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@sync
async def test_the_key_bar_shows_every_key_at_80_columns(mode, lang, tmp_path):
    """At 80 columns the key bar wraps onto more lines rather than hide save, open, export or the
    language key; a key and its label stay together."""
    app = make_app(mode=mode, lang=lang, store_url=f"sqlite:///{tmp_path / 'k.db'}")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        text = bar.text
        plain = text.plain
        from rich.cells import cell_len

        lines = plain.split("\n")
        assert len(lines) <= bar.size.height <= 3, (lines, bar.size.height)
        assert all(cell_len(line) <= bar.size.width for line in lines), lines
        keys = [key_of(app, k.id).upper().replace("CTRL+", "^") for k in APP_KEYS + app.screen.KEYS]
        for key in keys:
            assert key in plain, (key, plain)
        for line in lines:  # a key is never cut from its label at the end of a line
            assert not line.rstrip().endswith(tuple(keys)), line


@pytest.mark.parametrize("mode, own, foreign", [
    ("regulator", ["Approve", "Return", "Reject"], ["No field is focused", "Add item"]),
    ("auditor", ["Verify", "Replay", "Explain"], ["No field is focused", "Add item", "Approve"]),
])
@sync
async def test_help_speaks_of_the_mode_it_is_pressed_in(mode, own, foreign, tmp_path):
    app = make_app(mode=mode, lang="en", store_url=f"sqlite:///{tmp_path / 'h.db'}")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.pause()
        app.set_focus(None)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.body.plain
        for word in own:
            assert word in body, (word, body[:800])
        for word in foreign:
            assert word not in body, (word, body[:800])


@sync
async def test_help_on_the_mode_choice_explains_the_modes():
    app = make_app(lang="zh", clock=CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        body = app.screen.body.plain
        assert "申请人" in body and "监管" in body and "审计" in body
        assert "No field is focused" not in body and "未选中字段" not in body
        await pilot.press("f2")  # the same help in English
        await pilot.pause()
        assert "Auditor" in app.screen.body.plain


@sync
async def test_the_mode_choice_answers_the_arrow_keys():
    app = make_app(lang="zh", clock=CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.focused.id == "mode-applicant"
        await pilot.press("down")
        assert app.focused.id == "mode-regulator"
        await pilot.press("down", "up", "up")
        assert app.focused.id == "mode-applicant"
