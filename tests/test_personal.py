"""Stand-in ID numbers judge exactly like the originals and never reveal them (store/personal.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icv_permits.adapters.store.personal import Keys, Scrypt
from icv_permits.core.model.ids import (
    hidden_positions,
    mask_id_number,
    resident_id_check_char,
    resident_id_problems,
)

# the properties hold whatever the derivation's cost: a cheap one keeps these hundreds of examples quick
FAST = Scrypt(n=2**4, r=1, p=1)
KEYS = Keys(b"l" * 32, FAST)
OTHER = Keys(b"L" * 32, FAST)


def _problems(n: str):
    return [(p.code, p.params) for p in resident_id_problems(n)]


def valid_id(area: str, birth: dt.date, seq: int) -> str:
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + resident_id_check_char(first17)


areas = st.sampled_from(["340104", "340202", "110101", "310115", "440305"])
births = st.dates(min_value=dt.date(1940, 1, 1), max_value=dt.date(2008, 12, 31))
seqs = st.integers(0, 999)


@settings(max_examples=300)
@given(areas, births, seqs)
def test_a_valid_number_gets_a_different_valid_number_with_the_same_mask(area, birth, seq):
    n = valid_id(area, birth, seq)
    s = KEYS.stand_in(n)
    assert s != n
    assert mask_id_number(s) == mask_id_number(n)
    assert _problems(s) == _problems(n) == []


@settings(max_examples=300)
@given(areas, births, seqs, st.sampled_from("0123456789X"))
def test_a_wrong_check_character_is_reported_with_the_same_values(area, birth, seq, last):
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    n = first17 + last
    s = KEYS.stand_in(n)
    assert _problems(s) == _problems(n)
    assert mask_id_number(s) == mask_id_number(n)
    if _problems(n):
        assert s != n  # the hidden birth date is replaced even when the check character is wrong


def _codes_and_values(n: str):
    """DRV-08's problems as it reports them: the codes with the position, length and expected
    character (never a character of the number: not the birth digits of ``birth_date``, nor the
    ``char`` of ``illegal_char``, nor the ``found`` of ``check_char``)."""
    return [(p.code, {k: v for k, v in p.params.items() if k in ("position", "length", "expected")}) for p in resident_id_problems(n)]


@settings(max_examples=300)
@given(st.text(alphabet="0123456789X*a-中", min_size=1, max_size=24))
def test_any_string_keeps_its_problems_and_mask(n):
    s = KEYS.stand_in(n)
    assert len(s) == len(n)
    assert _codes_and_values(s) == _codes_and_values(n)
    assert mask_id_number(s) == mask_id_number(n)
    assert s != n  # something is always hidden, and it is replaced
    for i in hidden_positions(len(n)):
        if i == len(n) - 1:
            continue  # a single character: a digit or X may become the other
        # digits by digits; a letter or anything else by a letter (illegal either way)
        assert s[i].isdigit() == (n[i].isascii() and n[i].isdigit()), (n, s)
        assert s[i].isdigit() or ("A" <= s[i] <= "Z")


@settings(max_examples=200)
@given(areas, births, births, seqs)
def test_equal_numbers_give_equal_stand_ins_and_different_numbers_usually_differ(area, b1, b2, seq):
    a, b = valid_id(area, b1, seq), valid_id(area, b2, seq)
    assert KEYS.stand_in(a) == KEYS.stand_in(a)
    if a != b:
        # the same mask, different birth dates: a salt resolves the rare collision (personal.pseudonymise)
        assert KEYS.stand_in(a) != KEYS.stand_in(b) or KEYS.stand_in(a, 1) != KEYS.stand_in(b)


def test_the_stand_in_depends_on_the_key():
    n = valid_id("340104", dt.date(1990, 1, 1), 123)
    assert KEYS.stand_in(n) != OTHER.stand_in(n)
    assert KEYS.id_lookup(n) != OTHER.id_lookup(n)


@pytest.mark.parametrize("n", ["340104199013011230", "340104199013450012", "34010419900230001X", "340104000000000000"])
def test_an_impossible_birth_date_gets_another_impossible_one(n):
    s = KEYS.stand_in(n)
    assert s != n and s[6:14] != n[6:14]
    assert [p.code for p in resident_id_problems(s)] == [p.code for p in resident_id_problems(n)]
    assert _codes_and_values(s) == _codes_and_values(n)
    assert mask_id_number(s) == mask_id_number(n)


def test_lookup_normalises_the_number():
    n = valid_id("340104", dt.date(1990, 1, 1), 12)
    assert KEYS.id_lookup(n) == KEYS.id_lookup(" " + n.lower() + " ")


@pytest.mark.parametrize("text", ["", "short", "!" * 44])
def test_a_bad_key_is_bad_input(monkeypatch, text):
    from icv_permits.core.errors import InputError

    monkeypatch.setenv("ICV_PERMITS_SECRET_KEY", text or "x")
    with pytest.raises(InputError) as exc:
        Keys.load()
    assert exc.value.codes == ["bad_key"]


def test_pseudonymise_masks_phones_and_records_what_it_changed():
    import json
    from pathlib import Path

    from icv_permits.adapters.store.personal import pseudonymise
    from icv_permits.services.precheck import load_application

    app = load_application(Path(__file__).parent.parent / "examples" / "da-compliant.yaml")
    judged, doc, changed = pseudonymise(app, KEYS)
    text = json.dumps(doc, ensure_ascii=False)
    for d in app.drivers:
        assert d.id_number not in text
        if d.phone:
            assert d.phone not in text
    assert {c["path"] for c in changed} >= {f"drivers[{i}].id_number" for i in range(len(app.drivers))}
    assert [mask_id_number(d.id_number) for d in judged.drivers] == [mask_id_number(d.id_number) for d in app.drivers]
