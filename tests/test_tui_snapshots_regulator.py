"""Snapshots of the regulator's submission view after a decision, at 80×24 and 160×45, in Chinese
and English: the application in labelled sections, the findings, the decision row, and the result
panel above the key bar naming the notice and plates issued.

Update after an intended change of the layout with
``pytest tests/test_tui_snapshots_regulator.py --snapshot-update`` and look at the SVGs."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest

pytest.importorskip("pytest_textual_snapshot")

from icv_permits.services.precheck import FixedClock  # noqa: E402
from icv_permits.tui.app import ICVApp  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLOCK = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, tz="Asia/Shanghai"))


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_regulator_submission_after_an_approval(snap_compare, lang, size, tmp_path):
    from icv_permits.adapters.store import db
    from icv_permits.services import office as workflow

    url = f"sqlite:///{tmp_path / 'store.db'}"
    db.upgrade(url)
    store = db.open_store(url)
    workflow.submit(store, EXAMPLES / "da-compliant.yaml", actor="applicant", clock=CLOCK)

    async def before(pilot):
        while type(pilot.app.screen).__name__ != "RegulatorScreen":
            await pilot.pause(0.05)
        await pilot.pause()
        await pilot.press("enter")  # the first submission of the queue
        await pilot.pause()
        await pilot.press("ctrl+y", "enter")  # approve, confirmed
        await pilot.pause(0.3)
        await pilot.pause()

    try:
        app = ICVApp(clock=CLOCK, actor="tester", mode="regulator", lang=lang, store_url=url)
        assert snap_compare(app, terminal_size=size, run_before=before)
    finally:
        db.dispose_all()
