"""Tests for icv_permits.core.model.ids (VIN, unified social credit code, resident ID, masking).

The check characters are cross-checked against independent reimplementations written here in a
different form from the module's (ordinal arithmetic for the VIN transliteration, powers for the
weights, "find the character that makes the weighted sum come out right" for ISO 7064), so that a
shared mistake is unlikely.
"""

from __future__ import annotations

import datetime
import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from icv_permits.core.model.ids import (
    ID_MASK,
    LEGACY_ID_MASK,
    IdProblem,
    hidden_positions,
    mask_id_number,
    mask_phone,
    normalize_identifier,
    resident_id_check_char,
    resident_id_problems,
    uscc_check_char,
    uscc_problems,
    vin_check_digit,
    vin_problems,
)

# --------------------------------------------------------------------------------------------
# Independent reference implementations
# --------------------------------------------------------------------------------------------

VIN_CHARS = "".join(c for c in string.digits + string.ascii_uppercase if c not in "IOQ")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def ref_vin_value(char: str) -> int:
    """ISO 3779 transliteration by letter ranges: A–I → 1–9, J–R → 1–9, S–Z → 2–9."""
    if char.isdigit():
        return int(char)
    if "A" <= char <= "I":
        return ord(char) - ord("A") + 1
    if "J" <= char <= "R":
        return ord(char) - ord("J") + 1
    return ord(char) - ord("S") + 2


def ref_vin_check(vin: str) -> str:
    weights = [8, 7, 6, 5, 4, 3, 2, 10, 0] + list(range(9, 1, -1))
    remainder = sum(ref_vin_value(c) * w for c, w in zip(vin, weights, strict=True)) % 11
    return "0123456789X"[remainder]


def ref_uscc_check(first17: str) -> str:
    """MOD 31: the check value c makes Σ value × 3^(i−1) + c ≡ 0 (mod 31)."""
    total = sum(USCC_CHARS.index(ch) * pow(3, i, 31) for i, ch in enumerate(first17))
    (c,) = [c for c in range(31) if (total + c) % 31 == 0]
    return USCC_CHARS[c]


def ref_resident_check(first17: str) -> str:
    """ISO 7064 MOD 11-2: Σ a_i × 2^(18−i) over all 18 positions ≡ 1 (mod 11), X = 10."""
    total = sum(int(d) * pow(2, 18 - i, 11) for i, d in enumerate(first17, start=1))
    (c,) = [c for c in range(11) if (total + c) % 11 == 1]
    return "X" if c == 10 else str(c)


def codes(problems: list[IdProblem]) -> list[str]:
    return [p.code for p in problems]


# --------------------------------------------------------------------------------------------
# VIN
# --------------------------------------------------------------------------------------------

VALID_VINS = [
    "1M8GDM9AXKP042788",  # the textbook example, check digit X
    "11111111111111111",  # all ones: Σ weights = 89 ≡ 1 (mod 11)
    "LSVAU218XN2183294",  # checked by hand: Σ = 351 ≡ 10 (mod 11) → X
]


@pytest.mark.parametrize("vin", VALID_VINS)
def test_valid_vins(vin: str) -> None:
    assert vin_problems(vin) == []
    assert vin_check_digit(vin) == vin[8] == ref_vin_check(vin)


def test_vin_check_digit_mismatch() -> None:
    assert vin_problems("LSVAU2180N2183294") == [
        IdProblem("check_digit", {"position": 9, "found": "0", "expected": "X"})
    ]
    assert vin_problems("1M8GDM9A1KP042788") == [
        IdProblem("check_digit", {"position": 9, "found": "1", "expected": "X"})
    ]


def test_vin_letter_at_check_position_is_a_check_digit_problem() -> None:
    # A is a legal VIN character but can never be a check digit.
    assert vin_problems("1M8GDM9AAKP042788") == [
        IdProblem("check_digit", {"position": 9, "found": "A", "expected": "X"})
    ]


def test_vin_check_digit_ignores_position_9() -> None:
    assert vin_check_digit("1M8GDM9A?KP042788") == "X"


def test_vin_illegal_chars_all_reported() -> None:
    assert vin_problems("1M8GDM9AXKP04O7I8") == [
        IdProblem("illegal_char", {"position": 14, "char": "O"}),
        IdProblem("illegal_char", {"position": 16, "char": "I"}),
    ]
    assert codes(vin_problems("1m8gdm9axkp042788")) == ["illegal_char"] * 8


def test_vin_length_with_illegal_chars_and_no_check() -> None:
    assert vin_problems("1M8GDQ9AXKP04278") == [
        IdProblem("length", {"length": 16, "expected": 17}),
        IdProblem("illegal_char", {"position": 6, "char": "Q"}),
    ]
    assert vin_problems("") == [IdProblem("length", {"length": 0, "expected": 17})]
    # 18 chars whose first 17 would be valid: only the length is reported.
    assert vin_problems("1M8GDM9AXKP0427880") == [
        IdProblem("length", {"length": 18, "expected": 17})
    ]


@pytest.mark.parametrize("bad", ["1M8GDM9AXKP04278", "1M8GDM9AXKP04278I", "1M8GDM9AXKP0427888"])
def test_vin_check_digit_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        vin_check_digit(bad)


@given(st.text(alphabet=VIN_CHARS, min_size=16, max_size=16), st.sampled_from(VIN_CHARS))
def test_vin_property(body: str, other: str) -> None:
    template = body[:8] + "0" + body[8:]
    check = vin_check_digit(template)
    assert check == ref_vin_check(template)
    vin = body[:8] + check + body[8:]
    assert vin_problems(vin) == []
    assume(other != check)
    wrong = body[:8] + other + body[8:]
    assert vin_problems(wrong) == [
        IdProblem("check_digit", {"position": 9, "found": other, "expected": check})
    ]


# --------------------------------------------------------------------------------------------
# Unified social credit code
# --------------------------------------------------------------------------------------------

VALID_USCCS = [
    "91350100M000100Y43",  # commonly quoted example
    "91340100MA2RFGJQ5K",  # Hefei-style code; check character computed by the reference
]


@pytest.mark.parametrize("code", VALID_USCCS)
def test_valid_usccs(code: str) -> None:
    assert uscc_problems(code) == []
    assert uscc_check_char(code[:17]) == code[17] == ref_uscc_check(code[:17])


def test_uscc_check_char_mismatch() -> None:
    assert uscc_problems("91340100MA2RFGJQ5N") == [
        IdProblem("check_char", {"position": 18, "found": "N", "expected": "K"})
    ]


def test_uscc_check_value_31_becomes_0() -> None:
    # All zeros: Σ = 0, 31 − 0 = 31 → 0.
    assert uscc_check_char("0" * 17) == "0"
    assert uscc_problems("0" * 18) == []


def test_uscc_illegal_chars() -> None:
    # I, O, S, V and Z are not in the GB 32100 alphabet.
    assert uscc_problems("91350100MI0O100Y43") == [
        IdProblem("illegal_char", {"position": 10, "char": "I"}),
        IdProblem("illegal_char", {"position": 12, "char": "O"}),
    ]
    for letter in "IOSVZ":
        assert codes(uscc_problems("9135010" + letter + "M000100Y43")) == ["illegal_char"]


def test_uscc_length() -> None:
    assert uscc_problems("91350100M000100Y4") == [
        IdProblem("length", {"length": 17, "expected": 18})
    ]
    assert uscc_problems("91350100M000100Y4S3") == [
        IdProblem("length", {"length": 19, "expected": 18}),
        IdProblem("illegal_char", {"position": 18, "char": "S"}),
    ]


def test_uscc_division_code() -> None:
    body = "913501A0M000100Y4"
    code = body + uscc_check_char(body)
    assert uscc_problems(code) == [IdProblem("division_code", {"found": "3501A0"})]
    # Both a bad division code and a bad check character are reported.
    wrong = body + ("0" if code[-1] != "0" else "1")
    assert codes(uscc_problems(wrong)) == ["division_code", "check_char"]


def test_uscc_authority_codes_not_over_restricted() -> None:
    for authority in "123456789ANY":
        body = authority + "1350100M000100Y4"
        assert uscc_problems(body + uscc_check_char(body)) == []


@pytest.mark.parametrize("bad", ["91350100M000100Y", "91350100M000100YS", "91350100M000100Y43"])
def test_uscc_check_char_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        uscc_check_char(bad)


@given(
    st.text(alphabet=USCC_CHARS, min_size=2, max_size=2),
    st.text(alphabet=string.digits, min_size=6, max_size=6),
    st.text(alphabet=USCC_CHARS, min_size=9, max_size=9),
    st.sampled_from(USCC_CHARS),
)
def test_uscc_property(head: str, division: str, tail: str, other: str) -> None:
    first17 = head + division + tail
    check = uscc_check_char(first17)
    assert check == ref_uscc_check(first17)
    assert uscc_problems(first17 + check) == []
    assume(other != check)
    assert uscc_problems(first17 + other) == [
        IdProblem("check_char", {"position": 18, "found": other, "expected": check})
    ]


# --------------------------------------------------------------------------------------------
# Resident identity number
# --------------------------------------------------------------------------------------------

VALID_RESIDENT_IDS = [
    "11010519491231002X",  # textbook example
    "34010420000229001X",  # 29 February 2000; checked by hand: Σ = 167, 167 mod 11 = 2 → X
]


@pytest.mark.parametrize("number", VALID_RESIDENT_IDS)
def test_valid_resident_ids(number: str) -> None:
    assert resident_id_problems(number) == []
    assert resident_id_check_char(number[:17]) == number[17] == ref_resident_check(number[:17])


def test_resident_id_check_char_mismatch() -> None:
    assert resident_id_problems("110105194912310021") == [
        IdProblem("check_char", {"position": 18, "found": "1", "expected": "X"})
    ]


@pytest.mark.parametrize("birth", ["19490230", "19000229", "20231301", "19490100", "00000101"])
def test_resident_id_birth_date(birth: str) -> None:
    first17 = "110105" + birth + "002"
    number = first17 + resident_id_check_char(first17)
    assert resident_id_problems(number) == [IdProblem("birth_date", {"found": birth})]


def test_resident_id_far_future_date_is_not_checked_against_today() -> None:
    first17 = "110105" + "99991231" + "002"
    assert resident_id_problems(first17 + resident_id_check_char(first17)) == []


def test_resident_id_illegal_chars() -> None:
    # X is only allowed last; lowercase x is not allowed (normalise first).
    assert resident_id_problems("1101051949X231002x") == [
        IdProblem("illegal_char", {"position": 11, "char": "X"}),
        IdProblem("illegal_char", {"position": 18, "char": "x"}),
    ]


def test_resident_id_length() -> None:
    # A 15-digit first-generation number.
    assert resident_id_problems("110105491231002") == [
        IdProblem("length", {"length": 15, "expected": 18})
    ]
    assert resident_id_problems("11010519491231002AX") == [
        IdProblem("length", {"length": 19, "expected": 18}),
        IdProblem("illegal_char", {"position": 18, "char": "A"}),
    ]


@pytest.mark.parametrize("bad", ["1101051949123100", "11010519491231002X", "1101051949123100A"])
def test_resident_id_check_char_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        resident_id_check_char(bad)


@given(
    st.text(alphabet=string.digits, min_size=6, max_size=6),
    st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31)),
    st.text(alphabet=string.digits, min_size=3, max_size=3),
    st.sampled_from("0123456789X"),
)
def test_resident_id_property(region: str, birth: datetime.date, seq: str, other: str) -> None:
    first17 = region + f"{birth.year:04d}{birth.month:02d}{birth.day:02d}" + seq
    check = resident_id_check_char(first17)
    assert check == ref_resident_check(first17)
    assert resident_id_problems(first17 + check) == []
    assume(other != check)
    assert resident_id_problems(first17 + other) == [
        IdProblem("check_char", {"position": 18, "found": other, "expected": check})
    ]


# --------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------


def test_mask_id_number() -> None:
    masked = mask_id_number("34010419900101123X")
    assert masked == "340**************X"
    assert "19900101" not in masked and "0104" not in masked and "123" not in masked[3:]
    assert mask_id_number("110105491231002") == "110***********2"


def test_the_legacy_mask_is_kept_for_old_decisions() -> None:
    # what decisions logged with a pack that names no id_mask show, byte for byte
    assert mask_id_number("34010419900101123X", LEGACY_ID_MASK) == "340104********123X"
    assert mask_id_number("110105491231002", LEGACY_ID_MASK) == "110105*****1002"
    assert mask_id_number("1234567890", LEGACY_ID_MASK) == "********90"
    assert mask_id_number("12", LEGACY_ID_MASK) == "*2"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("12345678901", "123*******1"),  # shortest value the 3+1 rule applies to
        ("1234567890", "*********0"),
        ("123456789", "********9"),
        ("123", "**3"),
        ("12", "*2"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask_id_number_short(number: str, masked: str) -> None:
    assert mask_id_number(number) == masked


@pytest.mark.parametrize("n", range(30))
def test_hidden_positions_are_the_stars(n: int) -> None:
    value = "".join(chr(ord("A") + i % 26) for i in range(n))
    for form in (ID_MASK, LEGACY_ID_MASK):
        masked = mask_id_number(value, form)
        assert [i for i, c in enumerate(masked) if c == "*"] == list(hidden_positions(n, form))


@given(st.text(alphabet=st.characters(blacklist_characters="*"), min_size=2))
def test_mask_id_number_property(value: str) -> None:
    # A value already made of '*' (e.g. "**") cannot come out different, hence no '*' here.
    masked = mask_id_number(value)
    assert masked != value
    assert len(masked) == len(value)


def test_mask_phone() -> None:
    masked = mask_phone("13812345678")
    assert masked == "138****5678"
    assert "1234" not in masked
    assert mask_phone("+86 138-1234-5678") == "+86 1**-****-5678"
    assert mask_phone("0551-62345678") == "055*-****5678"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("12345678", "123*5678"),  # shortest value the 3+4 rule applies to
        ("1234567", "*****67"),
        ("110", "*10"),
        ("12", "*2"),
        ("tel", "***"),
        ("", ""),
    ],
)
def test_mask_phone_short(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@given(st.text(alphabet=string.digits + " -+", min_size=1))
def test_mask_phone_property(phone: str) -> None:
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    assume(any(c.isdigit() for c in phone))
    assert masked != phone


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (110105194912310021, "110105194912310021"),  # YAML gives an int
        (0, "0"),
        ("  1m8gdm9axkp042788\n", "1M8GDM9AXKP042788"),
        ("\u3000１１０１０５１９４９１２３１００２ｘ\u3000", "11010519491231002X"),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),
        ("3401 0419 9001\u3000011 23x", "34010419900101123X"),
        ("\ufeffLSVAU218XN2183294\u200b", "LSVAU218XN2183294"),
        ("ａｂｃ！～", "ABC!~"),
        ("", ""),
    ],
)
def test_normalize_identifier(value: str | int, expected: str) -> None:
    assert normalize_identifier(value) == expected


def test_normalize_identifier_then_validate() -> None:
    assert resident_id_problems(normalize_identifier("１１０１０５１９４９１２３１００２ｘ")) == []
    assert vin_problems(normalize_identifier(" 1m8gdm9axkp042788 ")) == []


@pytest.mark.parametrize("value", [1.0, None, ["1"], True, b"123"])
def test_normalize_identifier_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        normalize_identifier(value)  # type: ignore[arg-type]
