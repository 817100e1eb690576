"""Snapshots of the auditor's view of a broken chain at 80×24 and 160×45, in Chinese and English
(pytest-textual-snapshot): a log an insider tampered with (triggers out of the way, a regulator's
return rewritten as an approval, the actor of another decision changed), after Ctrl+V, with the
first broken record highlighted and explained (Ctrl+X).

Decision IDs and the acting account are fixed while the log is written, so that its hashes are the
same on every machine. Update with ``--snapshot-update`` and look at the SVGs before committing."""

from __future__ import annotations

import itertools
import types
import uuid

import pytest

pytest.importorskip("pytest_textual_snapshot")

from test_tui_auditor import CLOCK, insider_tampers, office_log

from icv_permits.adapters.store import db
from icv_permits.services import audit as ledger
from icv_permits.tui.app import ICVApp


@pytest.fixture
def broken_log(tmp_path, monkeypatch):
    counter = itertools.count(1)
    monkeypatch.setattr(ledger, "uuid", types.SimpleNamespace(uuid4=lambda: uuid.uuid5(uuid.NAMESPACE_URL, f"icv-permits-log-{next(counter)}")))
    monkeypatch.setattr(ledger, "db_actor", lambda s: "office")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    db.upgrade(url)
    store = db.open_store(url)
    insider_tampers(store, office_log(store))
    yield url
    db.dispose_all()


async def _wait_for(pilot, screen: str) -> None:
    while type(pilot.app.screen).__name__ != screen:
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_auditor_broken_chain_verified_and_explained(snap_compare, broken_log, lang, size):
    async def before(pilot):
        await _wait_for(pilot, "AuditorScreen")
        await pilot.press("ctrl+v")  # the first broken record highlighted
        await pilot.press("ctrl+x")  # and explained
        await pilot.pause(0.3)
        await pilot.pause()

    app = ICVApp(clock=CLOCK, actor="tester", lang=lang, mode="auditor", store_url=broken_log)
    assert snap_compare(app, terminal_size=size, run_before=before)
