"""How long what the office issues is valid: a notice (PER-01, counted as SCO-02 counts a period)
and its plates (PER-02), from the pack's parameters on the day they are issued."""

from __future__ import annotations

import datetime as dt

from icv_permits.core.engine.checks.demonstration import latest_notice_end
from icv_permits.core.engine.dates import last_day_of
from icv_permits.core.model.application import Application
from icv_permits.core.pack import Pack


def notice_validity(app: Application, p: Pack, today: dt.date, original_until: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(valid from, valid until) of a notice issued ``today`` on ``app``: the period applied for,
    starting no earlier than today, lasting at most N months from its start (PER-01, the same count
    as SCO-02), and ending no later than the notice it adds vehicles to."""
    months = int(p.parameters["notice.max_validity_months"].at(today).value)
    start = max(today, app.period.start)
    until = min(app.period.end, latest_notice_end(start, months))
    if original_until is not None:
        until = min(until, original_until)
    return start, until


def plate_validity(start: dt.date, notice_until: dt.date, p: Pack, today: dt.date) -> tuple[dt.date, dt.date]:
    """Plates from ``start``: at most N months (PER-02) and never past the notice."""
    months = int(p.parameters["plate.max_validity_months"].at(today).value)
    return start, min(notice_until, last_day_of(start, months))


def superseded_until(valid_until: dt.date, new_start: dt.date) -> dt.date:
    """When a notice superseded by one starting ``new_start`` ends: the day before, never later than
    it already did (its plates then end no later than that). The office applies it on approval;
    ``audit reconcile`` derives it the same way for review records that do not state it."""
    return min(valid_until, new_start - dt.timedelta(days=1))
