"""What the environment says about who acts and what time it is: the only place the office reads
``ICV_PERMITS_ACTOR`` and ``ICV_PERMITS_NOW``."""

from __future__ import annotations

import getpass
import os

import pendulum

from icv_permits.adapters.clock import Clock, FixedClock, SystemClock
from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.model.types import TIMEZONE

ACTOR_ENV = "ICV_PERMITS_ACTOR"
NOW_ENV = "ICV_PERMITS_NOW"
TEST_CLOCK_ENV = "ICV_PERMITS_TEST_CLOCK"


def default_actor(claimed: str | None = None) -> str:
    """Who acts: the name given (``--actor``), else ``ICV_PERMITS_ACTOR``, else the login name; at
    most 100 characters."""
    if claimed and claimed.strip():
        return claimed.strip()[:100]
    if os.environ.get(ACTOR_ENV):
        return os.environ[ACTOR_ENV].strip()[:100]
    try:
        return getpass.getuser()[:100]
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "unknown"


def clock_from_env() -> Clock:
    """The system clock, or a fixed instant from ``ICV_PERMITS_NOW`` (ISO 8601; recorded with every
    decision). A fixed clock is for tests and demonstrations only: it is honoured when
    ``ICV_PERMITS_TEST_CLOCK=1`` says so explicitly, and refused otherwise (exit 2) — an office's
    decisions are judged and logged at the time the system says, never at a time the client sets."""
    text = os.environ.get(NOW_ENV)
    if not text:
        return SystemClock()
    if os.environ.get(TEST_CLOCK_ENV) != "1":
        raise InputError([Problem(NOW_ENV, N_("a fixed clock is for tests and demonstrations only: set {flag}=1 to use it, or unset {env}"),
                                  {"flag": TEST_CLOCK_ENV, "env": NOW_ENV}, "fixed_clock_refused")])
    try:
        instant = pendulum.parse(text, tz=TIMEZONE)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        raise InputError([Problem(NOW_ENV, N_("not a valid date and time (ISO 8601): {value}"), {"value": text[:40]}, "bad_now")]) from None
    if not isinstance(instant, pendulum.DateTime):
        instant = pendulum.datetime(instant.year, instant.month, instant.day, tz=TIMEZONE)
    return FixedClock(instant)
