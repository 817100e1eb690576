"""Field types shared by the application model: dates, money, quantities, identifiers.

Dates are parsed strictly from ISO 8601 ``YYYY-MM-DD`` strings (YAML timestamps are not resolved by
the loader, so every date reaches us as text) and held as :class:`pendulum.Date`. Money is an
integer number of yuan; hours and kilometres are :class:`~decimal.Decimal`, never float.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import pendulum
from pydantic import AfterValidator, BeforeValidator, Field

TIMEZONE = "Asia/Shanghai"
"""The time zone of the rules' days: a day is a day in Shanghai."""
from icv_permits.core.errors import kind_of
from icv_permits.core.i18n import N_
from icv_permits.core.model.ids import normalize_identifier

DATE_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
"""A date as the tool takes it: ``YYYY-MM-DD`` in ASCII digits."""


def _parse_date(value: Any) -> pendulum.Date:
    if isinstance(value, _dt.datetime):
        raise ValueError(N_("expected a date (YYYY-MM-DD), not a date and time"), {})
    if isinstance(value, _dt.date):
        return _in_range(value)
    if not isinstance(value, str):
        raise ValueError(N_("expected a date written as YYYY-MM-DD, got {kind_text}"), {"kind_text": kind_of(value)})
    text = value.strip()
    if not DATE_TEXT.match(text):
        raise ValueError(N_("expected a date written as YYYY-MM-DD, got “{value}”"), {"value": text[:40]})
    try:
        d = _dt.date.fromisoformat(text)
    except ValueError:  # e.g. 2026-02-30
        raise ValueError(N_("“{value}” is not a real calendar date"), {"value": text}) from None
    return _in_range(d)


MIN_YEAR, MAX_YEAR = 1900, 2199


def _in_range(d: _dt.date) -> pendulum.Date:
    """Dates outside 1900–2199 are typing mistakes here (and would overflow date arithmetic)."""
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise ValueError(
            N_("{value} is outside the years this tool accepts ({min}–{max})"),
            {"value": d.isoformat(), "min": MIN_YEAR, "max": MAX_YEAR},
        )
    return pendulum.Date(d.year, d.month, d.day)


Date = Annotated[
    _dt.date,
    BeforeValidator(_parse_date),
    Field(json_schema_extra={"format": "date", "type": "string"}),
]
"""A calendar date, ``YYYY-MM-DD``; held as ``pendulum.Date`` (a ``date``: written back as
``YYYY-MM-DD`` by pydantic's own serializer, with no call into Python per date)."""


NUL_MESSAGE = N_("must not contain the NUL character (\\x00): it is not text, and no database stores it")


def storable(value: str) -> str:
    """Text holds no NUL: PostgreSQL cannot store one in text or JSON, and it is never typed."""
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE, {})
    return value


def _to_identifier(value: Any) -> str:
    try:
        return normalize_identifier(value)
    except TypeError:
        raise ValueError(N_("expected text, got {kind_text}"), {"kind_text": kind_of(value)}) from None


Identifier = Annotated[str, BeforeValidator(_to_identifier), Field(min_length=1, max_length=64), AfterValidator(storable)]
"""An identifier (VIN, credit code, ID number): text, normalised (half-width, upper case, trimmed).

Its content (length, alphabet, check character) is judged by the rules ENT-01, DRV-08 and VEH-10,
so that a wrong check digit is reported as a failing requirement with the expected character."""

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer an application may hold: every JSON reader (and RFC 8785, which the log's
canonical form follows) represents numbers as IEEE doubles, exact only up to here."""

QUANTITY_LIMIT = Decimal(10) ** 12
QUANTITY_PLACES = 6
"""Hours and kilometres are below 10¹² with at most 6 decimal places: far beyond any real figure, and
small enough that arithmetic on them is exact and quick (``1e28`` or 10⁻³⁰ is refused as input)."""

Yuan = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER, strict=True, description="an amount of money in whole yuan (元)")]
Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
"""A non-negative whole number (kilograms, people)."""


def _non_negative(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError(N_("must be a finite number"), {})
    if value < 0:
        raise ValueError(N_("must not be negative"), {})
    if value >= QUANTITY_LIMIT:
        raise ValueError(N_("must be less than {limit}"), {"limit": f"{QUANTITY_LIMIT:,f}".split(".")[0]})
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -QUANTITY_PLACES and value != value.quantize(Decimal(1).scaleb(-QUANTITY_PLACES)):
        raise ValueError(N_("at most {places} digits after the decimal point"), {"places": QUANTITY_PLACES})
    return value


Quantity = Annotated[Decimal, AfterValidator(_non_negative), Field(allow_inf_nan=False)]
"""A non-negative decimal quantity (hours, kilometres)."""

MAX_ITEMS = 1000
"""The most items a list of an application holds, but for vehicles and drivers (500 each): far
beyond any real application (sections, notices, policies, incidents, dates, VINs of a notice …),
and a bound that refuses a 2 MiB file of a million items at its length, in microseconds, rather than
judging and reporting each of them."""

T = TypeVar("T")
Items = Annotated[list[T], Field(max_length=MAX_ITEMS)]
"""A list of an application: at most :data:`MAX_ITEMS` items."""

Text = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(storable)]
Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s]+$"), AfterValidator(storable)]
Phone = Annotated[str, Field(max_length=32), AfterValidator(storable)]
