"""Validation and masking of the identifiers found in ICV permit applications.

* Vehicle identification number (VIN): GB 16735-2019 / ISO 3779, with the check digit at
  position 9 that GB 16735 makes mandatory (the North-American algorithm).
* Unified social credit code (统一社会信用代码): GB 32100-2015.
* Resident identity number (公民身份号码): GB 11643-1999 (check character: ISO 7064 MOD 11-2).

The ``*_problems`` functions check the string exactly as given; run the raw value through
:func:`normalize_identifier` first. They return every problem found (an empty list means valid),
each as an :class:`IdProblem` whose ``code`` is stable and whose ``params`` hold only ints and
strings, so that a report can explain it in any language. A check character is only computed
when the length is right and every character is legal.

Everything here is pure: no I/O, standard library only.
"""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "ID_MASK",
    "LEGACY_ID_MASK",
    "IdMask",
    "IdProblem",
    "hidden_positions",
    "mask",
    "mask_document",
    "mask_id_number",
    "mask_phone",
    "normalize_identifier",
    "resident_id_check_char",
    "resident_id_problems",
    "uscc_check_char",
    "uscc_problems",
    "vin_check_digit",
    "vin_problems",
]


@dataclass(frozen=True, slots=True)
class IdProblem:
    """One problem with an identifier.

    ``code`` is one of ``length``, ``illegal_char``, ``check_digit`` (VIN), ``check_char``
    (USCC, resident ID), ``division_code`` (USCC) or ``birth_date`` (resident ID).
    ``params`` holds the JSON-able values (ints/strs) used to explain it.
    """

    code: str
    params: dict[str, int | str]


# --------------------------------------------------------------------------------------------
# VIN — GB 16735-2019 / ISO 3779
# --------------------------------------------------------------------------------------------

VIN_LENGTH = 17
VIN_CHECK_POSITION = 9  # 1-based
_VIN_DIGITS = "0123456789"
# Transliteration of letters (I, O and Q are not allowed in a VIN).
_VIN_LETTER_VALUES: dict[str, int] = {
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}  # fmt: skip
_VIN_VALUES: dict[str, int] = {d: int(d) for d in _VIN_DIGITS} | _VIN_LETTER_VALUES
VIN_ALPHABET = _VIN_DIGITS + "".join(_VIN_LETTER_VALUES)
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_WEIGHTS_BUT_CHECK = _VIN_WEIGHTS[: VIN_CHECK_POSITION - 1] + _VIN_WEIGHTS[VIN_CHECK_POSITION:]  # position 9 weighs nothing


def vin_check_digit(vin: str) -> str:
    """Return the check digit (``0``–``9`` or ``X``) expected at position 9 of ``vin``.

    GB 16735 / ISO 3779 transliteration and weights, sum mod 11, 10 written as ``X``. ``vin``
    must be 17 characters; the character at position 9 is ignored (weight 0), every other one
    must be a legal VIN character. Raises :class:`ValueError` otherwise.
    """
    if len(vin) != VIN_LENGTH:
        raise ValueError(f"a VIN has {VIN_LENGTH} characters, got {len(vin)}")
    c = VIN_CHECK_POSITION - 1
    try:
        total = sum(map(operator.mul, map(_VIN_VALUES.__getitem__, vin[:c] + vin[c + 1:]), _VIN_WEIGHTS_BUT_CHECK))
    except KeyError:
        position, char = next((i, ch) for i, ch in enumerate(vin, start=1) if i != VIN_CHECK_POSITION and ch not in _VIN_VALUES)
        raise ValueError(f"illegal VIN character {char!r} at position {position}") from None
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_problems(vin: str) -> list[IdProblem]:
    """Return the problems of a VIN (GB 16735 / ISO 3779); an empty list means valid.

    Codes: ``length`` {length, expected}, ``illegal_char`` {position, char} for each illegal
    character (digits and A–Z except I, O, Q are legal), ``check_digit`` {position, found,
    expected} when position 9 is not the computed check digit.
    """
    problems: list[IdProblem] = []
    if len(vin) != VIN_LENGTH:
        problems.append(_length(vin, VIN_LENGTH))
    if not _VIN_CHARS.fullmatch(vin):
        problems.extend(_illegal_chars(vin, lambda _position, char: char in _VIN_VALUES))
    if not problems:
        expected = vin_check_digit(vin)
        found = vin[VIN_CHECK_POSITION - 1]
        if found != expected:
            problems.append(
                IdProblem(
                    "check_digit",
                    {"position": VIN_CHECK_POSITION, "found": found, "expected": expected},
                )
            )
    return problems


# --------------------------------------------------------------------------------------------
# Unified social credit code — GB 32100-2015
# --------------------------------------------------------------------------------------------

USCC_LENGTH = 18
# The 31 characters of GB 32100 (no I, O, S, V, Z); a character's value is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES: dict[str, int] = {char: value for value, char in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_DIVISION = slice(2, 8)  # positions 3–8: administrative division code (GB/T 2260)


def uscc_check_char(first17: str) -> str:
    """Return the 18th (check) character for the first 17 characters of a USCC (GB 32100).

    Check value = 31 − (Σ value × weight mod 31), with 31 written as 0. Raises
    :class:`ValueError` unless ``first17`` is 17 characters of the GB 32100 alphabet.
    """
    if len(first17) != USCC_LENGTH - 1:
        raise ValueError(f"expected the first {USCC_LENGTH - 1} characters, got {len(first17)}")
    try:
        total = sum(map(operator.mul, map(_USCC_VALUES.__getitem__, first17), _USCC_WEIGHTS))
    except KeyError:
        position, char = next((i, ch) for i, ch in enumerate(first17, start=1) if ch not in _USCC_VALUES)
        raise ValueError(f"illegal USCC character {char!r} at position {position}") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problems(code: str) -> list[IdProblem]:
    """Return the problems of a unified social credit code (GB 32100); empty means valid.

    Codes: ``length`` {length, expected}, ``illegal_char`` {position, char},
    ``division_code`` {found} when positions 3–8 are not six digits, ``check_char``
    {position, found, expected}. The registration authority and entity type codes
    (positions 1–2) are only checked against the alphabet.
    """
    problems: list[IdProblem] = []
    if len(code) != USCC_LENGTH:
        problems.append(_length(code, USCC_LENGTH))
    if not _USCC_CHARS.fullmatch(code):
        problems.extend(_illegal_chars(code, lambda _position, char: char in _USCC_VALUES))
    if problems:
        return problems
    division = code[_USCC_DIVISION]
    if not _is_ascii_digits(division):
        problems.append(IdProblem("division_code", {"found": division}))
    expected = uscc_check_char(code[:-1])
    if code[-1] != expected:
        problems.append(
            IdProblem(
                "check_char", {"position": USCC_LENGTH, "found": code[-1], "expected": expected}
            )
        )
    return problems


# --------------------------------------------------------------------------------------------
# Resident identity number — GB 11643-1999
# --------------------------------------------------------------------------------------------

RESIDENT_ID_LENGTH = 18
_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Check character indexed by Σ mod 11 (ISO 7064 MOD 11-2).
_RESIDENT_ID_CHECKS = "10X98765432"
_RESIDENT_ID_BIRTH = slice(6, 14)  # positions 7–14: YYYYMMDD


def resident_id_check_char(first17: str) -> str:
    """Return the 18th (check) character for the first 17 digits of a resident ID (GB 11643).

    Check = (12 − Σ digit × weight mod 11) mod 11, 10 written as ``X``. Raises
    :class:`ValueError` unless ``first17`` is 17 ASCII digits.
    """
    if len(first17) != RESIDENT_ID_LENGTH - 1 or not _is_ascii_digits(first17):
        raise ValueError(f"expected {RESIDENT_ID_LENGTH - 1} digits, got {first17!r}")
    total = sum(map(operator.mul, map(int, first17), _RESIDENT_ID_WEIGHTS))
    return _RESIDENT_ID_CHECKS[total % 11]


def resident_id_problems(number: str) -> list[IdProblem]:
    """Return the problems of an 18-character resident identity number (GB 11643-1999).

    Codes: ``length`` {length, expected}, ``illegal_char`` {position, char} (digits only, except
    that the last character may be ``X``), ``birth_date`` {found} when positions 7–14 are not a
    real calendar date, ``check_char`` {position, found, expected}. The date is not compared
    with today. 15-digit first-generation numbers are reported as ``length``.
    """
    problems: list[IdProblem] = []
    last = len(number)
    if last != RESIDENT_ID_LENGTH:
        problems.append(_length(number, RESIDENT_ID_LENGTH))

    def legal(position: int, char: str) -> bool:
        return _is_ascii_digits(char) or (char == "X" and position == last)

    if not _RESIDENT_ID_CHARS.fullmatch(number):
        problems.extend(_illegal_chars(number, legal))
    if problems:
        return problems
    birth = number[_RESIDENT_ID_BIRTH]
    if not is_calendar_date(birth):
        problems.append(IdProblem("birth_date", {"found": birth}))
    expected = resident_id_check_char(number[:-1])
    if number[-1] != expected:
        problems.append(
            IdProblem(
                "check_char",
                {"position": RESIDENT_ID_LENGTH, "found": number[-1], "expected": expected},
            )
        )
    return problems


# --------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdMask:
    """How an identity number is shown: its first ``head`` and last ``tail`` characters, the rest as
    ``*``, when it has more than 10 characters; a shorter value keeps only its last ``short_tail``
    (and never all of them)."""

    head: int
    tail: int
    short_tail: int


ID_MASK = IdMask(3, 1, 1)
"""How an identity number is shown: ``340**************9``. The province and the first digit of the
city stay (a clerk tells drivers apart by them and by the name); the county, the birth date and the
sequence number are hidden, so the shown characters leave at least every birth date 1940–2009 ×
1000 sequence numbers × the county digits ÷ 11 check characters, ≥ 10⁷ numbers, to try
(``docs/personal-data.md``). A rule pack says which form its decisions use (``pack.yaml``
``id_mask``)."""

LEGACY_ID_MASK = IdMask(6, 4, 2)
"""The form of the decisions made before a pack said how to mask (``340104********1239``): a pack
that names no ``id_mask`` — every pack snapshot in an older log — still masks this way, so that
those decisions replay byte for byte. Only the region and the check character's neighbours were
hidden behind it: the birth date alone was left to guess."""


def mask_id_number(number: str, form: IdMask = ID_MASK) -> str:
    """Mask an identity number for display: ``340**************X`` (``form``: :data:`ID_MASK`).

    Keeps the first ``form.head`` and last ``form.tail`` characters when the value has more than
    10 characters; otherwise keeps only the last ``form.short_tail``, and fewer for very short
    strings, so the clear value is never returned. The length is kept.
    """
    n = len(number)
    if n > 10:
        return number[: form.head] + "*" * (n - form.head - form.tail) + number[n - form.tail :]
    return _mask_keep_tail(number, form.short_tail)


def hidden_positions(n: int, form: IdMask = ID_MASK) -> range:
    """The (0-based) positions :func:`mask_id_number` hides in a value of ``n`` characters."""
    if n > 10:
        return range(form.head, n - form.tail)
    return range(n - _tail_kept(n, form.short_tail))


def mask_phone(phone: str) -> str:
    """Mask a phone number for display: ``13812345678`` → ``138****5678``.

    Works on the digits only: keeps the first 3 and last 4 digits and masks the others in place
    (separators such as ``+``, ``-`` or spaces are kept). With fewer than 8 digits, masks all but
    the last 2 digits. A value without digits is masked entirely. The length is kept.
    """
    digit_positions = [i for i, char in enumerate(phone) if char.isdigit()]
    n = len(digit_positions)
    if n == 0:
        return "*" * len(phone)
    if n >= 8:
        masked = set(digit_positions[3:-4])
    else:
        masked = set(digit_positions[: n - _tail_kept(n)])
    return "".join("*" if i in masked else char for i, char in enumerate(phone))


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

# Invisible characters that creep in by copy and paste but are not whitespace to str.isspace().
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_FULL_WIDTH_FIRST, _FULL_WIDTH_LAST = 0xFF01, 0xFF5E
_FULL_WIDTH_OFFSET = 0xFEE0


def normalize_identifier(value: str | int) -> str:
    """Normalise an identifier as typed or as read from YAML (which may give an ``int``).

    Removes all whitespace, wherever it is (including the ideographic space U+3000) and
    zero-width characters; converts full-width ASCII forms (U+FF01–U+FF5E) to half-width;
    uppercases ASCII letters. Raises :class:`TypeError` for anything but ``str`` or ``int``
    (``bool`` included).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"an identifier must be a str or an int, not {type(value).__name__}")
    text = value if isinstance(value, str) else str(int(value))
    if text.isascii() and text.isalnum():  # the common case: nothing to remove or convert
        return text.upper()
    out: list[str] = []
    for char in text:
        if char.isspace() or char in _INVISIBLE:
            continue
        code_point = ord(char)
        if _FULL_WIDTH_FIRST <= code_point <= _FULL_WIDTH_LAST:
            char = chr(code_point - _FULL_WIDTH_OFFSET)
        if char.isascii():
            char = char.upper()
        out.append(char)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _length(value: str, expected: int) -> IdProblem:
    return IdProblem("length", {"length": len(value), "expected": expected})


# what each kind of number may hold, as one pattern: a number that matches has no illegal character
# (the common case), one that does not is looked at a character at a time
_VIN_CHARS = re.compile("[" + re.escape("".join(_VIN_VALUES)) + "]*")
_USCC_CHARS = re.compile("[" + re.escape("".join(_USCC_VALUES)) + "]*")
_RESIDENT_ID_CHARS = re.compile("[0-9]*X?")  # digits; an X only as the last character


def _illegal_chars(value: str, legal: Callable[[int, str], bool]) -> list[IdProblem]:
    """One ``illegal_char`` problem per character for which ``legal(position, char)`` fails."""
    return [
        IdProblem("illegal_char", {"position": position, "char": char})
        for position, char in enumerate(value, start=1)
        if not legal(position, char)
    ]


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def is_calendar_date(yyyymmdd: str) -> bool:
    try:
        datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


def _tail_kept(n: int, tail: int = 2) -> int:
    """How many trailing characters a short value keeps: ``tail``, but always fewer than ``n``."""
    return max(0, min(tail, n - 1))


def _mask_keep_tail(value: str, tail: int = 2) -> str:
    kept = _tail_kept(len(value), tail)
    return "*" * (len(value) - kept) + value[len(value) - kept :]


PERSONAL_FIELDS = ("id_number", "phone", "contact_phone")
"""Leaf names of the application whose values are personal data: masked wherever shown."""


def mask(field: str, value: object, id_form: IdMask = ID_MASK) -> object:
    """The one masking rule: a value of the field ``field`` (a leaf name such as ``id_number``) as it
    may be shown anywhere — masked when the field is personal, unchanged otherwise. ``id_form`` is
    how an ID number is masked: the engine passes its pack's (``Pack.id_mask``)."""
    if field not in PERSONAL_FIELDS or value is None or isinstance(value, (bool, dict, list)):
        return value
    text = str(value)
    return mask_id_number(text, id_form) if field == "id_number" else mask_phone(text)


def mask_document(doc: object) -> object:
    """A copy of a parsed document (mappings and lists) with every personal field masked by :func:`mask`."""
    if isinstance(doc, dict):
        return {k: mask(k, v) if k in PERSONAL_FIELDS else mask_document(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [mask_document(v) for v in doc]
    return doc
