"""The engine's and the model's fast paths give what the general definitions give.

Each fast path (a common case answered without the general walk) is held against an independent
statement of what the result must be, over generated values: canonical JSON against ``rfc8785``,
the days an insurance span leaves uncovered against a day-by-day count, identifier normalisation
against its character rules, the "no illegal character" patterns against a character-by-character
check, a finding's list and keyword values against the general conversion, whole years against
pendulum's addition, a parameter's judgement against the general comparison, and the policy index
against a scan.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import json
from decimal import Decimal

import pendulum
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from icv_permits.core.canonical import (
    canonical_bytes,
    canonical_json,
    digest,
    is_plain,
    plain_json_bytes,
)
from icv_permits.core.engine.checks.insurance import _policies, uncovered
from icv_permits.core.engine.core import Param, _jv_values, compare, jv
from icv_permits.core.engine.dates import plus_months
from icv_permits.core.pack import Comparison
from icv_permits.core.model import ids
from icv_permits.core.model.application import InsuranceKind, Liability

# ---------------------------------------------------------------- canonical JSON

_keys = st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=6)
_texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
_leaves = st.none() | st.booleans() | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1) | _texts
_plain_json = st.recursive(_leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_plain_json)
def test_plain_data_is_written_as_rfc8785_writes_it(data) -> None:
    assert is_plain(data)
    assert canonical_bytes(data) == rfc8785.dumps(data)
    assert canonical_json(data) == rfc8785.dumps(data).decode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _texts, min_size=1, max_size=4))
def test_control_characters_are_escaped_as_rfc8785_escapes_them(data) -> None:
    data = {k + "\x00\x1f\x7f\u2028": v + '\b\t\n\f\r"\\\x01\x1b' for k, v in data.items()}
    assert canonical_bytes(data) == rfc8785.dumps(data)


def test_what_the_fast_writer_refuses_is_written_by_the_slower_one_alike() -> None:
    deep: list = []
    for _ in range(300):  # deeper than orjson nests
        deep = [deep]
    assert plain_json_bytes(deep) == json.dumps(deep, separators=(",", ":")).encode()
    assert canonical_bytes({"a": deep}) == rfc8785.dumps({"a": deep})
    lone = "x\ud800y"  # a lone surrogate: no UTF-8 form, so no digest (the model refuses it at the field)
    with pytest.raises(UnicodeEncodeError):
        plain_json_bytes([lone])
    with pytest.raises(UnicodeEncodeError):
        digest({"a": lone})


def test_data_that_is_not_plain_goes_through_rfc8785() -> None:
    for data in ({"a": 1.5}, {"\U0001F697": 1, "\uffff": 2}):
        assert not is_plain(data)
        assert canonical_bytes(data) == rfc8785.dumps(data)
    for big in (2**53, -(2**53), 2**64):  # beyond what RFC 8785 can write: refused, never written another way
        assert not is_plain({"a": big})
        with pytest.raises(rfc8785.IntegerDomainError):
            digest({"a": big})


# ---------------------------------------------------------------- insurance cover

_days = st.integers(min_value=0, max_value=60)
_base = dt.date(2026, 1, 1)


def _d(n: int) -> dt.date:
    return _base + dt.timedelta(days=n)


@settings(max_examples=400, deadline=None)
@given(start=_days, length=_days, spans=st.lists(st.tuples(_days, _days).map(sorted), max_size=5), as_pendulum=st.booleans())
def test_uncovered_days_are_the_days_no_span_covers(start, length, spans, as_pendulum) -> None:
    end = start + length
    mk = (lambda n: pendulum.Date(_d(n).year, _d(n).month, _d(n).day)) if as_pendulum else _d
    got = uncovered(mk(start), mk(end), [(mk(a), mk(b)) for a, b in spans])
    covered = {day for a, b in spans for day in range(a, b + 1)}
    expected_days = [day for day in range(start, end + 1) if day not in covered]
    got_days = [day for a, b in got for day in range((a - _base).days, (b - _base).days + 1)]
    assert got_days == expected_days
    # maximal runs: no two gaps touch, each gap is a real span
    assert all(a <= b for a, b in got)
    assert all((later[0] - earlier[1]).days > 1 for earlier, later in itertools.pairwise(got))


# ---------------------------------------------------------------- identifiers


def _normalised_by_the_rules(text: str) -> str:
    out = []
    for ch in text:
        if ch.isspace() or ch in "\u200b\u200c\u200d\u2060\ufeff":
            continue
        if 0xFF01 <= ord(ch) <= 0xFF5E:
            ch = chr(ord(ch) - 0xFEE0)
        out.append(ch.upper() if ch.isascii() else ch)
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcXYZ019 \t\u3000\u200bＡｚ０-_中"), max_size=20))
def test_identifier_normalisation_follows_its_rules(text) -> None:
    assert ids.normalize_identifier(text) == _normalised_by_the_rules(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789XxIOQABZ-中 "), max_size=20))
def test_no_illegal_character_pattern_agrees_with_the_character_rules(text) -> None:
    vin_ok = not ids._illegal_chars(text, lambda _p, c: c in ids._VIN_VALUES)
    assert bool(ids._VIN_CHARS.fullmatch(text)) == vin_ok
    uscc_ok = not ids._illegal_chars(text, lambda _p, c: c in ids._USCC_VALUES)
    assert bool(ids._USCC_CHARS.fullmatch(text)) == uscc_ok
    last = len(text)
    rid_ok = not ids._illegal_chars(text, lambda p, c: (c.isascii() and c.isdigit()) or (c == "X" and p == last))
    assert bool(ids._RESIDENT_ID_CHARS.fullmatch(text)) == rid_ok


# ---------------------------------------------------------------- finding values


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | st.booleans() | st.integers() | _texts | st.dates() | st.decimals(allow_nan=False, allow_infinity=False, places=2), max_size=6))
def test_a_list_value_is_converted_item_by_item(items) -> None:
    expected = [x.isoformat() if isinstance(x, dt.date) else (format(x.normalize(), "f") if isinstance(x, Decimal) and x != x.to_integral_value()
                else (str(x.quantize(Decimal(1))) if isinstance(x, Decimal) else x)) for x in items]
    assert jv(items) == expected
    assert jv(tuple(items)) == expected


def _exactly_json(x) -> bool:
    t = type(x)
    if t in (str, int, bool, type(None)):
        return True
    if t is list:
        return all(_exactly_json(v) for v in x)
    if t is dict:
        return all(type(k) is str and _exactly_json(v) for k, v in x.items())
    return False


class _Seats(enum.IntEnum):
    two = 2


class _Plain(enum.Enum):
    a = "a"


_members = st.sampled_from([*InsuranceKind, *Liability, *_Seats, *_Plain])
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _texts | st.dates() | _members
    | st.decimals(allow_nan=False, allow_infinity=False, places=3),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.dictionaries(_texts | _members, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_a_finding_value_is_made_of_exact_json_types(value) -> None:
    """Enum members become their plain values, so the decision's JSON is the values as they are."""
    out = jv(value)
    assert _exactly_json(out)
    assert jv(out) == out
    assert json.loads(json.dumps(out)) == out


# ---------------------------------------------------------------- calendar years, thresholds, policies

_calendar = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 12, 31))


@settings(max_examples=400, deadline=None)
@given(day=_calendar, years=st.integers(-30, 30))
def test_whole_years_added_or_taken_are_pendulums(day, years) -> None:
    """The driver rules add and take whole years with :func:`plus_months` where pendulum's
    ``add(years=…)`` / ``subtract(years=…)`` was used: the same date, Feb 29 clamped alike."""
    p = pendulum.Date(day.year, day.month, day.day)
    expected = p.add(years=years) if years >= 0 else p.subtract(years=-years)
    assert plus_months(day, 12 * years) == dt.date(expected.year, expected.month, expected.day)


@settings(max_examples=400, deadline=None)
@given(threshold=st.integers(-10**6, 10**6) | st.decimals(min_value=-10**6, max_value=10**6, places=3),
       observed=st.integers(-10**7, 10**7) | st.decimals(min_value=-10**7, max_value=10**7, places=4) | st.booleans(),
       comparison=st.sampled_from([Comparison.ge, Comparison.gt, Comparison.le, Comparison.lt, Comparison.eq]))
def test_a_parameters_judgement_is_the_general_comparison(threshold, observed, comparison) -> None:
    """A parameter in force compares an int or a Decimal with its threshold as they are, anything
    else through its text: the same answer as :func:`compare`."""
    class _Defn:
        id = "x"
        unit = None

    _Defn.comparison = comparison
    param = Param(_Defn, type("V", (), {"value": threshold})())
    try:
        expected = compare(observed, comparison, threshold)
    except ArithmeticError as exc:  # a boolean is no number: refused alike
        with pytest.raises(type(exc)):
            param.met_by(observed)
    else:
        assert param.met_by(observed) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(InsuranceKind)), st.lists(st.sampled_from("ABC"), max_size=4)), max_size=8),
       st.sampled_from("ABCD"), st.lists(st.sampled_from(list(InsuranceKind)), min_size=1, max_size=3))
def test_the_policies_of_a_vehicle_are_those_a_scan_finds(policies, vin, kinds) -> None:
    class _Pol:
        def __init__(self, kind, vins):
            self.kind, self.vins = kind, vins

    pols = [_Pol(k, v) for k, v in policies]
    ctx = type("C", (), {"shared": {}, "app": type("A", (), {"insurance": pols})()})()
    scan = [(i, p) for i, p in enumerate(pols) if p.kind in tuple(kinds) and vin in p.vins]
    assert _policies(ctx, vin, tuple(kinds)) == scan
    assert _policies(ctx, vin, tuple(kinds)) == scan  # the index made once serves again


@given(st.dictionaries(st.text(max_size=5), _values, max_size=4))
def test_keyword_values_are_converted_only_where_needed(values) -> None:
    out = _jv_values(dict(values))
    assert out == {k: jv(v) for k, v in values.items()}
    assert _exactly_json(out)


# ---------------------------------------------------------------- check characters


def _vin_check_by_the_letter(vin: str) -> str:
    total = 0
    for position, (char, weight) in enumerate(zip(vin, ids._VIN_WEIGHTS), start=1):
        if position == ids.VIN_CHECK_POSITION:
            continue
        if char not in ids._VIN_VALUES:
            raise ValueError(f"illegal VIN character {char!r} at position {position}")
        total += ids._VIN_VALUES[char] * weight
    return "X" if total % 11 == 10 else str(total % 11)


def _uscc_check_by_the_letter(first17: str) -> str:
    total = 0
    for position, (char, weight) in enumerate(zip(first17, ids._USCC_WEIGHTS), start=1):
        if char not in ids._USCC_VALUES:
            raise ValueError(f"illegal USCC character {char!r} at position {position}")
        total += ids._USCC_VALUES[char] * weight
    return ids.USCC_ALPHABET[(31 - total % 31) % 31]


def _same_answer(fast, slow, text):
    try:
        expected = slow(text)
    except ValueError as exc:
        with pytest.raises(ValueError) as got:
            fast(text)
        assert str(got.value) == str(exc)
    else:
        assert fast(text) == expected


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789ABCHJKLMNPRSTUVWXYZIOQa中"), min_size=17, max_size=17))
def test_a_vin_check_digit_is_the_weighted_sum_character_by_character(vin) -> None:
    """Legal characters give the digit; an illegal one is named with its position — unless it
    stands at the check position itself, which weighs nothing."""
    _same_answer(ids.vin_check_digit, _vin_check_by_the_letter, vin)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789ABCDEFGHJKLMNPQRTUWXYIOSVZ中"), min_size=17, max_size=17))
def test_a_credit_code_check_character_is_the_weighted_sum_character_by_character(first17) -> None:
    _same_answer(ids.uscc_check_char, _uscc_check_by_the_letter, first17)
