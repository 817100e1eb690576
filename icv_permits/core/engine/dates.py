"""Calendar arithmetic the rules share: whole years and months as the law counts them.

``start + N years`` and ``start + N months`` use pendulum's calendar addition, which clamps to the
end of a shorter month (2020-02-29 + 3 years = 2023-02-28). "N whole years have passed" is defined
by the same addition, so a rule's verdict and the date it reports (e.g. "eligible from") always
agree. (pendulum's own ``Interval.in_years()``/``in_months()`` disagree with its addition near
30-day months and February, so they are not used.) The addition is written out here
(:func:`plus_months`, the same clamping as pendulum's ``add``): the engine counts years for every
driver and vehicle of every application, and pendulum's general ``add`` is several times slower.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date

import pendulum


def as_pendulum(d: date) -> pendulum.Date:
    return d if isinstance(d, pendulum.Date) else pendulum.Date(d.year, d.month, d.day)


def plus_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months, clamped to the end of a shorter month: the date
    pendulum's ``add(months=…)`` (and ``add(years=n)`` for ``months=12n``) gives, as a plain date."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month, day = d.year + y, m + 1, d.day
    if day > 28:
        day = min(day, monthrange(year, month)[1])
    return date(year, month, day)


def whole_years(start: date, end: date) -> int:
    """The largest n ≥ 0 with ``start + n years ≤ end`` (0 when ``end`` is before ``start``)."""
    e = date(end.year, end.month, end.day)
    n = e.year - start.year
    while n > 0 and plus_months(start, 12 * n) > e:
        n -= 1
    return max(n, 0)


def whole_months(start: date, end: date) -> int:
    """The largest n ≥ 0 with ``start + n months ≤ end``."""
    e = date(end.year, end.month, end.day)
    n = (e.year - start.year) * 12 + e.month - start.month
    while n > 0 and plus_months(start, n) > e:
        n -= 1
    return max(n, 0)


def months_and_days(start: date, end: date) -> tuple[int, int]:
    """Whole months from ``start`` to ``end``, then the days left over."""
    m = whole_months(start, end)
    return m, end.toordinal() - plus_months(start, m).toordinal()


def last_day_of(start: date, months: int) -> pendulum.Date:
    """The last day of a span of ``months`` months that starts on (and includes) ``start``:
    18 months from 2026-12-01 end on 2028-05-31 — the day before the corresponding day.

    Where the end month has no corresponding day, the span ends on that month's last day (as the
    Civil Code, Art. 202, ends a period "没有对应日的，月末日为期间的最后一日"): 6 months from
    2026-08-31, -30 or -29 end on 2027-02-28; from 2026-08-28 on 2027-02-27."""
    end = plus_months(start, months)  # clamped to the end of a shorter month
    if end.day >= start.day:
        end = date.fromordinal(end.toordinal() - 1)
    return pendulum.Date(end.year, end.month, end.day)
