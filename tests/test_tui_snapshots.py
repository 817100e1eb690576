"""Snapshots of the terminal app at 80×24, in Chinese and English (pytest-textual-snapshot).

Update after an intended change of the layout with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the report before committing the SVGs."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest

pytest.importorskip("pytest_textual_snapshot")

from icv_permits.services.precheck import FixedClock  # noqa: E402
from icv_permits.tui import fields as F  # noqa: E402
from icv_permits.tui.app import ICVApp  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLOCK = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, tz="Asia/Shanghai"))
SIZE = (80, 24)


def _app(**kw) -> ICVApp:
    return ICVApp(clock=CLOCK, actor="tester", **kw)


async def _wait_for(pilot, screen: str) -> None:
    """A mode's screen comes after a loading screen when its code is not imported yet."""
    while type(pilot.app.screen).__name__ != screen:
        await pilot.pause(0.05)
    await pilot.pause()


async def _settle(pilot) -> None:
    await pilot.pause(0.4)
    await pilot.pause()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_mode_screen(snap_compare, lang):
    assert snap_compare(_app(lang=lang), terminal_size=SIZE)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_applicant_entity_step(snap_compare, lang):
    async def before(pilot):
        await _wait_for(pilot, "ApplicantScreen")
        await pilot.app.screen.show_step(F.STEP_IDS.index("entity"))
        await _settle(pilot)

    assert snap_compare(_app(lang=lang, file=EXAMPLES / "da-compliant.yaml"), terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_applicant_review_with_a_failure(snap_compare, lang):
    async def before(pilot):
        await _wait_for(pilot, "ApplicantScreen")
        await pilot.press("ctrl+r")
        await _settle(pilot)

    assert snap_compare(_app(lang=lang, file=EXAMPLES / "fail-vin-check-digit.yaml"), terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_regulator_entity_history(snap_compare, lang, tmp_path):
    """Chinese names, notices and plates in the regulator's entity tab (the approved example)."""
    from icv_permits.adapters.store import db
    from icv_permits.services import office as workflow

    url = f"sqlite:///{tmp_path / 'store.db'}"
    db.upgrade(url)
    store = db.open_store(url)
    sub = workflow.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK).submission
    workflow.decide(store, sub.id, "approve", reason=None, actor="reg", clock=CLOCK)

    async def before(pilot):
        await _wait_for(pilot, "RegulatorScreen")
        pilot.app.screen.load(sub.id)
        await pilot.press("f4")
        await _settle(pilot)

    try:
        assert snap_compare(_app(lang=lang, mode="regulator", store_url=url), terminal_size=SIZE, run_before=before)
    finally:
        db.dispose_all()
