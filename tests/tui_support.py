"""What the terminal app's tests share: the fixed office clock, running an async test, an app set
up for Pilot, waits that poll the app's own state, and the text a widget shows.

The autouse fixture that hides the user's own key file lives in ``conftest.py``; ``quick_keys`` is
imported as a fixture by the files whose walks type thousands of keys."""

from __future__ import annotations

import asyncio
import functools
import io
from pathlib import Path

import pendulum
import pytest

from icv_permits.services.precheck import FixedClock

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLOCK = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, tz="Asia/Shanghai"))


@pytest.fixture
def quick_keys(monkeypatch):
    """Pilot waits about 40 ms of idleness after every key; the walks type thousands of keys, so the
    idleness is sampled every 4 ms instead of 20 (the app is still idle when the next key comes)."""
    import textual._wait as wait

    monkeypatch.setattr(wait, "SLEEP_GRANULARITY", 0.004)
    monkeypatch.setattr(wait, "SLEEP_IDLE", 0.0002)


def sync(fn):
    """Run an async test with asyncio (no async plugin is needed)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


def make_app(**kw):
    """The app with the fixed clock and a test actor; no smooth scrolling to wait for after a Tab."""
    from icv_permits.tui.app import ICVApp

    kw.setdefault("clock", CLOCK)
    kw.setdefault("actor", "tester")
    app = ICVApp(**kw)
    app.animation_level = "none"
    return app


async def settle(pilot, app, *, checked: bool = False, tries: int = 60) -> None:
    """Wait until the debounced check has run on the latest edit (and, with ``checked``, until a
    check has run at all: an app opened on a file checks it once after start)."""
    await pilot.pause()
    for _ in range(tries):
        if app._timer is None and (app.checks or not checked):
            break
        await pilot.pause(0.05)
    await pilot.pause()


async def until(pilot, condition, tries: int = 100) -> None:
    """Wait (in the app's time) until ``condition()`` holds: a jump to another step is drawn, then
    focused, over several refreshes, more of them on a busy machine."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)


def seen(widget, width: int = 300) -> str:
    """The text a Static shows (whatever it holds: text, a table, a group of them), unwrapped."""
    from rich.console import Console

    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()
