"""The words for the codes an applicant chooses (activity, vehicle category and type, contract,
licence classes, business scopes, data items, holder, insurance and notice kinds, issuing province,
incident kind, liability, yes/no/not stated), defined once: one table per enumeration of the
application model, each label an English msgid of the ``report`` domain. The terminal app shows
them in its lists and reads them back when typed; reports may show them too.

Labels hold no list separator (``,``, ``，``, ``、``, ``;``), so a typed list of labels splits
unambiguously. Reading a typed value back (:func:`code_for`) accepts the code itself and the label
in either language, whatever the case and spacing."""

from __future__ import annotations

import re
from enum import StrEnum

from icv_permits.core.i18n import LANGS, N_, t
from icv_permits.core.labels import ACTIVITIES
from icv_permits.core.model.application import (
    Activity,
    BusinessScope,
    Contract,
    DataItem,
    Holder,
    IncidentKind,
    InsuranceKind,
    Liability,
    LicenceClass,
    NoticeKind,
    Province,
    VehicleCategory,
    VehicleType,
)

BUSINESS_SCOPES = {
    "icv_manufacturing": N_("ICV manufacturing"),
    "parts_manufacturing": N_("parts manufacturing"),
    "technology_rd": N_("technology R&D"),
    "testing_inspection": N_("testing and inspection"),
    "transport_operation": N_("road transport business"),
    "other": N_("other business"),
}
VEHICLE_CATEGORIES = {
    "passenger": N_("passenger vehicle"),
    "commercial": N_("commercial vehicle"),
    "special_operation": N_("special-purpose vehicle"),
    "low_speed": N_("low-speed vehicle"),
    "motorcycle": N_("motorcycle"),
}
VEHICLE_TYPES = {
    "small_car": N_("small or mini passenger car"),
    "small_car_automatic": N_("small automatic passenger car"),
    "light_truck": N_("light or mini goods vehicle"),
    "medium_bus": N_("medium bus"),
    "large_bus": N_("large bus"),
    "city_bus": N_("city bus"),
    "heavy_truck": N_("heavy or medium goods vehicle"),
    "tractor": N_("heavy or medium road train"),
    "special_light": N_("light or mini special-purpose vehicle"),
    "special_heavy": N_("heavy or medium special-purpose vehicle"),
}
LICENCE_CLASSES = {
    "A1": N_("A1 large bus"),
    "A2": N_("A2 tractor-trailer"),
    "A3": N_("A3 city bus"),
    "B1": N_("B1 medium bus"),
    "B2": N_("B2 large goods vehicle"),
    "C1": N_("C1 small car"),
    "C2": N_("C2 small automatic car"),
    "C3": N_("C3 low-speed goods vehicle"),
    "C4": N_("C4 three-wheeled vehicle"),
    "C5": N_("C5 automatic car for the disabled"),
    "C6": N_("C6 light trailer combination"),
    "D": N_("D three-wheeled motorcycle"),
    "E": N_("E two-wheeled motorcycle"),
    "F": N_("F moped"),
    "M": N_("M wheeled machinery"),
    "N": N_("N trolleybus"),
    "P": N_("P tram"),
}
CONTRACTS = {"labour": N_("employment contract"), "service": N_("service contract"), "none": N_("no contract")}
LIABILITIES = {
    "full": N_("full liability"),
    "main": N_("main liability"),
    "equal": N_("equal liability"),
    "minor": N_("minor liability"),
    "none": N_("no liability"),
}
INCIDENT_KINDS = {"violation": N_("traffic violation"), "accident": N_("traffic accident")}
INSURANCE_KINDS = {
    "compulsory": N_("compulsory traffic insurance"),
    "liability": N_("traffic accident liability insurance"),
    "guarantee_letter": N_("guarantee letter for autonomous driving accidents"),
    "seat": N_("seat insurance"),
    "personal_accident": N_("personal accident insurance"),
}
PROVINCES = {
    "anhui": N_("Anhui"),
    "shanghai": N_("Shanghai"),
    "jiangsu": N_("Jiangsu"),
    "zhejiang": N_("Zhejiang"),
    "other": N_("another province"),
}
DATA_ITEMS = {
    "control_mode": N_("control mode"),
    "position": N_("position"),
    "motion_state": N_("motion state"),
    "perception_response": N_("perception and response"),
}
ACTIVITY_SHORT = {"road_test": N_("RT"), "demonstration_application": N_("DA"), "demonstration_operation": N_("DO")}
"""An activity in a word, where a list row has room for little (the sections' register)."""
HOLDERS = {"self": N_("the entity itself"), "partner": N_("a partner")}

TABLES: dict[type[StrEnum], dict[str, str]] = {
    Activity: ACTIVITIES,
    NoticeKind: ACTIVITIES,  # an earlier notice is of one of the activities
    BusinessScope: BUSINESS_SCOPES,
    VehicleCategory: VEHICLE_CATEGORIES,
    VehicleType: VEHICLE_TYPES,
    LicenceClass: LICENCE_CLASSES,
    Contract: CONTRACTS,
    Liability: LIABILITIES,
    IncidentKind: INCIDENT_KINDS,
    InsuranceKind: INSURANCE_KINDS,
    Province: PROVINCES,
    DataItem: DATA_ITEMS,
    Holder: HOLDERS,
}
"""The labels of each enumeration the applicant chooses from, by code."""

YES, NO, NOT_STATED = N_("yes"), N_("no"), N_("not stated")
BOOLS = {True: YES, False: NO, None: NOT_STATED}
"""A yes/no answer, and the answer not given."""

_BOOL_WORDS = {
    True: {"yes", "y", "true", "1", "是", "有", "✓"},
    False: {"no", "n", "false", "0", "否", "无", "✗"},
    None: {"not stated", "未说明", "不详", "?"},
}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip()).casefold()


def label(enum: type[StrEnum], code: str, lang: str) -> str:
    """The label of ``code`` in ``lang`` (the code itself when it is not one of the enumeration's)."""
    msgid = TABLES.get(enum, {}).get(code)
    return t(lang, msgid) if msgid else str(code)


def choices(enum: type[StrEnum], lang: str) -> list[tuple[str, str]]:
    """``(code, label)`` for each value of the enumeration, in the model's order."""
    return [(m.value, label(enum, m.value, lang)) for m in enum]


def code_for(enum: type[StrEnum], text: str) -> str | None:
    """The code that ``text`` names — the code, or its label in any language, compared without
    regard to case or repeated spaces — or ``None`` when it names none."""
    want = _norm(text)
    if not want:
        return None
    table = TABLES.get(enum, {})
    for m in enum:
        if want == m.value.casefold():
            return m.value
    for m in enum:
        msgid = table.get(m.value)
        if not msgid:
            continue
        for lang in LANGS:
            said = _norm(t(lang, msgid))
            # a licence class's label starts with its code ("C1 小型汽车"): the words alone name it too
            if want == said or (said.startswith(m.value.casefold() + " ") and want == said[len(m.value) + 1:]):
                return m.value
    return None


def bool_for(text: str) -> tuple[bool, bool | None]:
    """``(True, value)`` when ``text`` is a yes, a no or a "not stated" (value ``None``) in either
    language; ``(False, None)`` when it is none of them."""
    want = _norm(text)
    for value, words in _BOOL_WORDS.items():
        if want in words or any(want == _norm(t(lang, BOOLS[value])) for lang in LANGS):
            return True, value
    return False, None
