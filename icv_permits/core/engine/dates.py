"""Calendar arithmetic the rules share: whole years and months as the law counts them.

``start + N years`` and ``start + N months`` use pendulum's calendar addition, which clamps to the
end of a shorter month (2020-02-29 + 3 years = 2023-02-28). "N whole years have passed" is defined
by the same addition, so a rule's verdict and the date it reports (e.g. "eligible from") always
agree. (pendulum's own ``Interval.in_years()``/``in_months()`` disagree with its addition near
30-day months and February, so they are not used.)
"""

from __future__ import annotations

from datetime import date

import pendulum


def as_pendulum(d: date) -> pendulum.Date:
    return d if isinstance(d, pendulum.Date) else pendulum.Date(d.year, d.month, d.day)


def whole_years(start: date, end: date) -> int:
    """The largest n ≥ 0 with ``start + n years ≤ end`` (0 when ``end`` is before ``start``)."""
    s, e = as_pendulum(start), as_pendulum(end)
    n = e.year - s.year
    while n > 0 and s.add(years=n) > e:
        n -= 1
    return max(n, 0)


def whole_months(start: date, end: date) -> int:
    """The largest n ≥ 0 with ``start + n months ≤ end``."""
    s, e = as_pendulum(start), as_pendulum(end)
    n = (e.year - s.year) * 12 + e.month - s.month
    while n > 0 and s.add(months=n) > e:
        n -= 1
    return max(n, 0)


def months_and_days(start: date, end: date) -> tuple[int, int]:
    """Whole months from ``start`` to ``end``, then the days left over."""
    m = whole_months(start, end)
    rest = (as_pendulum(end) - as_pendulum(start).add(months=m)).in_days()
    return m, rest


def last_day_of(start: date, months: int) -> pendulum.Date:
    """The last day of a span of ``months`` months that starts on (and includes) ``start``:
    18 months from 2026-12-01 end on 2028-05-31 — the day before the corresponding day.

    Where the end month has no corresponding day, the span ends on that month's last day (as the
    Civil Code, Art. 202, ends a period "没有对应日的，月末日为期间的最后一日"): 6 months from
    2026-08-31, -30 or -29 end on 2027-02-28; from 2026-08-28 on 2027-02-27."""
    s = as_pendulum(start)
    end = s.add(months=months)  # pendulum clamps to the end of a shorter month
    return end if end.day < s.day else end.subtract(days=1)
