"""Snapshots of the applicant's screen at 80×24 and 160×45, in Chinese and English: a step with a
failing rule shown under its field (VEH-09 at the roof sign lamp of a vehicle running at night),
and the review with its Problem column and the findings pane.

Update after an intended change of the layout with
``pytest tests/test_tui_snapshots_applicant.py --snapshot-update`` and look at the SVGs before
committing them."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest

pytest.importorskip("pytest_textual_snapshot")

from icv_permits.services.precheck import FixedClock
from icv_permits.tui.app import ICVApp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLOCK = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, tz="Asia/Shanghai"))
SIZES = [(80, 24), (160, 45)]
FILE = EXAMPLES / "fail-night-no-roof-lamp.json"


def _app(lang: str) -> ICVApp:
    return ICVApp(clock=CLOCK, actor="tester", lang=lang, file=FILE)


async def _ready(pilot) -> None:
    while type(pilot.app.screen).__name__ != "ApplicantScreen" or not pilot.app.checks:
        await pilot.pause(0.05)
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_vehicle_step_with_a_failing_rule_at_its_field(snap_compare, lang, size):
    async def before(pilot):
        await _ready(pilot)
        screen = pilot.app.screen
        await screen.jump_to("vehicles[0].roof_sign_lamp")  # the failing field in view, focused
        await pilot.pause(0.3)

    assert snap_compare(_app(lang), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_review_with_failing_rules(snap_compare, lang, size):
    async def before(pilot):
        await _ready(pilot)
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        table = pilot.app.screen.query_one("#review-table")
        table.move_cursor(row=pilot.app.screen.review_paths.index("vehicles[0].roof_sign_lamp"))
        await pilot.pause(0.3)

    assert snap_compare(_app(lang), terminal_size=size, run_before=before)
