"""ID and phone numbers typed into free text: found and masked before anything is stored or shown.

The fields that *are* personal numbers (``drivers[].id_number``, ``phone``, ``contact_phone``) are
handled by :mod:`icv_permits.core.model.ids` and the store's pseudonymisation. This module handles
the same numbers where they do not belong but are typed anyway: in an incident's description, in a
regulator's written reason, in a name, in a value put into the wrong field and echoed by an error
message. Each number found is replaced by the masked form :func:`~icv_permits.core.model.ids.mask_id_number`
or :func:`~icv_permits.core.model.ids.mask_phone` gives it, so one masking rule holds everywhere.

What counts as a number (after full-width characters are read as half-width, ``０-９`` as ``0-9``):

- a resident ID number (GB 11643): 18 characters, the last a digit or ``X``/``x``, or the old
  15-digit form; groups may be separated by one space or hyphen (``110105 19491231 002X``). Its
  first two digits must be a province code and its birth date a real date (1900–2099 for 18
  characters); an 18-character number must also carry the right check character — *strictly*,
  which keeps police and file references built from a division code and a date from being taken
  for IDs (one in eleven still is). Error messages scan *loosely*: a wrong check character is
  masked too, unless the number is then a valid unified social credit code;
- a mainland mobile number ``1[3-9]x xxxx xxxx`` (11 digits), with ``+86``/``0086``/``(+86)``/``86``
  before it and a space or hyphen between the groups if written so;
- a landline with its area code (``010``, ``02x`` or ``0[3-9]xx``), in parentheses or not, then a
  local number of 7 or 8 digits starting 2–9 (``0551-6512 3456``, ``(010)87654321``).

Conservative by design: a number must stand alone — not touch an ASCII letter or digit on either
side — so VINs, credit codes, policy and hash strings, and longer digit runs are never cut into;
a number next to a currency sign or unit (``¥``, ``元``, ``万``…) or to a decimal point and more
digits is an amount; dates (``2026-01-05``, ``20260105``), plate numbers and the
office's notice numbers do not have these shapes. A number glued to letters (``tel13812345678``) is
therefore *not* masked: the price of never corrupting an identifier.

Pure: no I/O, standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from icv_permits.core.model.ids import (
    is_calendar_date,
    mask_id_number,
    mask_phone,
    resident_id_check_char,
    uscc_check_char,
)

__all__ = [
    "FREE_TEXT_FIELDS",
    "KEPT_TEXT_FIELDS",
    "MASKED_IN_TEXT",
    "Found",
    "find_numbers",
    "mask_free_text",
    "mask_text",
    "mask_value",
]

MASKED_IN_TEXT = "masked_in_text"
"""The ``method`` recorded in a submission's list of changed fields for free text that was masked."""

# ---------------------------------------------------------------- normalisation (one character for one)

_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # full-width ASCII forms → ASCII
_TABLE |= {0x3000: " ", 0x00A0: " ", 0x2007: " ", 0x202F: " "}
_TABLE |= {cp: "-" for cp in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212)}


def _normalise(text: str) -> str:
    """``text`` with full-width digits, letters and signs as ASCII, odd spaces and dashes plain;
    the same length, so a position in it is a position in ``text``."""
    return text.translate(_TABLE)


# ---------------------------------------------------------------- patterns

_SEP = r"[ -]"
_BEFORE = r"(?<![0-9A-Za-z])"
_AFTER = r"(?![0-9A-Za-z])"
_ID18 = re.compile(_BEFORE + rf"[1-9]\d{{5}}{_SEP}?(?:19|20)\d{{6}}{_SEP}?\d{{3}}[0-9Xx]" + _AFTER, re.ASCII)
_ID15 = re.compile(_BEFORE + rf"[1-9]\d{{5}}{_SEP}?\d{{6}}{_SEP}?\d{{3}}" + _AFTER, re.ASCII)
_MOBILE = re.compile(
    _BEFORE + rf"(?P<prefix>(?:\+|00)86{_SEP}?|\(\+?86\){_SEP}?|86)?(?P<national>1[3-9]\d{_SEP}?\d{{4}}{_SEP}?\d{{4}})" + _AFTER,
    re.ASCII,
)
_AREA = r"(?:010|02\d|0[3-9]\d\d)"
_LANDLINE = re.compile(_BEFORE + rf"(?:\({_AREA}\)|{_AREA}){_SEP}?[2-9]\d{{2,3}}{_SEP}?\d{{4}}" + _AFTER, re.ASCII)
# "(+86)" and "(010)" begin with a parenthesis, not a digit: the look-behind above still applies

# GB/T 2260 province-level codes: the first two digits of every resident ID number
_PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                        50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91})
_UNITS_AFTER = re.compile(r"\s*(?:元|圆|块|角|万|亿|千|百|yuan|cny|rmb)", re.IGNORECASE)
_UNITS_BEFORE = re.compile(r"(?:[¥￥$€£]|cny|rmb)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Found:
    """One number found in a text: ``text[start:end]`` is it as written; ``masked`` replaces it."""

    start: int
    end: int
    kind: str  # "id_number", "mobile" or "landline"
    masked: str


def _compact(s: str) -> str:
    return s.replace(" ", "").replace("-", "").upper()


def _is_amount(norm: str, start: int, end: int) -> bool:
    """Part of a figure: a currency sign or unit beside it, or digits after a decimal point."""
    before, after = norm[:start], norm[end:]
    return bool(_UNITS_AFTER.match(after) or _UNITS_BEFORE.search(before[-8:])
                or re.match(r"\.\d", after) or re.search(r"\d\.$", before))


def _id_number(number: str, *, strict: bool) -> bool:
    if int(number[:2]) not in _PROVINCES:
        return False
    if len(number) == 15:
        return is_calendar_date("19" + number[6:12])
    if not is_calendar_date(number[6:14]):
        return False
    check = resident_id_check_char(number[:17])
    if number[17] == check:
        return True
    if strict:
        return False
    return uscc_check_char(number[:17]) != number[17]  # a valid credit code is not a mistyped ID


def _candidates(norm: str, strict: bool) -> list[Found]:
    found: list[Found] = []
    for pattern in (_ID18, _ID15):
        for m in pattern.finditer(norm):
            number = _compact(m.group())
            if _id_number(number, strict=strict):
                found.append(Found(m.start(), m.end(), "id_number", mask_id_number(number)))
    for m in _MOBILE.finditer(norm):
        prefix = m.group("prefix") or ""
        found.append(Found(m.start(), m.end(), "mobile", prefix + mask_phone(m.group("national"))))
    for m in _LANDLINE.finditer(norm):
        found.append(Found(m.start(), m.end(), "landline", mask_phone(m.group())))
    return [f for f in found if not _is_amount(norm, f.start, f.end)]


def find_numbers(text: str, *, strict: bool = True) -> list[Found]:
    """Every ID or phone number in ``text``, in order, none overlapping (the longest wins where
    two readings overlap). ``strict=False`` also takes an 18-character ID number whose check
    character is wrong (for error messages, where masking too much costs nothing)."""
    norm = _normalise(text)
    chosen: list[Found] = []
    for f in sorted(_candidates(norm, strict), key=lambda f: (f.start, f.start - f.end)):
        if not chosen or f.start >= chosen[-1].end:
            chosen.append(f)
    return chosen


def _mask_once(text: str, strict: bool) -> str:
    out, at = [], 0
    for f in find_numbers(text, strict=strict):
        out.append(text[at:f.start])
        out.append(f.masked)
        at = f.end
    out.append(text[at:])
    return "".join(out)


def mask_text(text: str, *, strict: bool = True) -> str:
    """``text`` with every ID and phone number in it masked; text without one comes back as it is.

    Masking again changes nothing (the result is scanned until it is stable): a masked number has
    ``*`` where its digits were and is never found again."""
    for _ in range(4):
        masked = _mask_once(text, strict)
        if masked == text:
            break
        text = masked
    return text


def mask_value(value: object, *, strict: bool = False) -> object:
    """A value echoed back to the user (an error message's parameter): text masked by
    :func:`mask_text`, a whole number masked as its decimal digits when they are an ID or phone
    number (``13812345678`` read from YAML as an integer), anything else unchanged. Loose by
    default: in a message, a mistyped ID number is masked as well."""
    if isinstance(value, str):
        return mask_text(value, strict=strict)
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        masked = mask_text(text, strict=strict)
        return value if masked == text else masked
    return value


# ---------------------------------------------------------------- the application's free text

FREE_TEXT_FIELDS: tuple[str, ...] = (
    "entity.name",
    "entity.business_scope_other",
    "entity.consortium.members[].name",
    "drivers[].name",
    "drivers[].serious_violations[].kind",
    "vehicles[].brand_model",
    "vehicles[].inspection.items_not_met_due_to_ad[].item",
    "insurance[].insurer",
    "incidents[].description",
)
"""Text an applicant writes in words — names and descriptions — whose numbers are masked before
the office stores the application (``[]`` stands for every item of a list). A name is personal
data by nature but is needed to do the work: only numbers inside it are masked."""

KEPT_TEXT_FIELDS: dict[str, str] = {
    "application_id": "the applicant's reference, matched across versions",
    "entity.credit_code": "identifier, judged by ENT-01",
    "entity.consortium.members[].credit_code": "identifier, judged by ENT-01",
    "entity.contact_phone": "a phone number field: masked whole by the store",
    "entity.operating_qualification.permit_number": "document number, looked up by the regulator",
    "drivers[].ref": "reference inside the application",
    "drivers[].id_number": "an ID number field: replaced by a stand-in by the store",
    "drivers[].phone": "a phone number field: masked whole by the store",
    "vehicles[].vin": "identifier, judged by VEH-10",
    "vehicles[].configuration": "configuration identifier, compared by ADD-01",
    "vehicles[].test_zone.report_number": "document number, looked up by the regulator",
    "vehicles[].body_marking": "compared by VEH-08 with the pack's wording",
    "vehicles[].drivers[]": "reference inside the application",
    "vehicles[].prior_testing[].section": "section id of the pack",
    "insurance[].number": "policy number, looked up by the regulator",
    "insurance[].vins[]": "identifier",
    "incidents[].vin": "identifier",
    "incidents[].section": "section id of the pack",
    "incidents[].police_reference": "police document number, looked up by the regulator; often built from a division code and a date",
    "sections[]": "section id of the pack",
    "notices[].number": "notice number, matched against the office's records",
    "notices[].vins[]": "identifier",
    "notices[].configurations[]": "configuration identifier, compared by ADD-01",
    "notices[].sections[]": "section id of the pack",
    "adding.original_notice": "notice number, matched against the office's records",
    "evidence.trips[]": "file path, read when the application is submitted",
    "evidence.incidents[]": "file path, read when the application is submitted",
}
"""Every other text field of the application, and why its numbers are kept as written: each is
an identifier, a reference or a document number that something matches, compares or looks up
(tests check that every text field of the model is in one of the two lists)."""


def _walk(node: object, parts: list[str], path: str, out: list[dict]) -> None:
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not isinstance(node, dict) or node.get(key) is None:
        return
    value = node[key]
    here = f"{path}.{key}" if path else key
    items = list(enumerate(value)) if many and isinstance(value, list) else [(None, value)] if not many else []
    for i, item in items:
        where = here if i is None else f"{here}[{i}]"
        if rest:
            _walk(item, rest, where, out)
            continue
        if isinstance(item, str):
            masked = mask_text(item)
            if masked != item:
                if i is None:
                    node[key] = masked
                else:
                    value[i] = masked
                out.append({"path": where, "method": MASKED_IN_TEXT})


def mask_free_text(doc: dict) -> list[dict]:
    """Mask the ID and phone numbers in the free-text fields (:data:`FREE_TEXT_FIELDS`) of an
    application document (its JSON form, a dict), **in place**. Returns which fields were changed,
    as ``{"path": "incidents[0].description", "method": "masked_in_text"}``, so that the list of
    changed fields the store keeps shows an auditor where the text differs from the file."""
    out: list[dict] = []
    for field in FREE_TEXT_FIELDS:
        _walk(doc, field.split("."), "", out)
    return out
