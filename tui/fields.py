"""The guided application's presentation: steps, their fields, labels, kinds and examples.

Each :class:`Field` names a path in the application document (relative to the list item for the
fields of a list), its label, how it is typed (``kind``) and an example value. Which fields an
activity asks for, and which rules judge a field (shown by F1), is not kept here: it comes from the
rule pack, from the ``fields:`` its rules declare (``icv_permits/core/pack_fields.py``). Nothing here
judges a value: the model and the rule pack do.

Kinds: ``text``, ``date``, ``int``, ``decimal``, ``bool`` (yes / no / not stated), ``enum``
(``choices``), ``enums`` and ``texts`` (comma-separated lists; ``-`` for an empty list),
``prior`` (prior testing: ``SECTION HOURS KM y|n`` entries separated by ``;``), ``violations``
(``DATE KIND [serious]`` entries separated by ``;``, ``none`` for none on record) and ``accidents``
(``DATE LIABILITY [injury]`` entries, ``none`` for none on record). Empty always means "not stated".

The items of a list (drivers, vehicles, policies, incidents, consortium members…) are asked one at
a time: :func:`rows` shows the selected item of each list, so a form has the same size however
many vehicles an application has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from icv_permits.core import pack_fields
from icv_permits.core.i18n import N_
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
    Material,
    NoticeKind,
    Province,
    VehicleCategory,
    VehicleType,
)

if TYPE_CHECKING:
    from icv_permits.core.pack import Pack


def activity_of(draft: dict) -> Activity | None:
    """The draft's activity (``None`` when not chosen or not one: then what every activity asks)."""
    return pack_fields.activity_from(draft.get("activity"))


def asked(draft: dict, pack: Pack) -> frozenset[str]:
    """The paths (``[]`` for list items) the pack asks for this draft's activity and conditions."""
    return pack_fields.asked_paths(pack, activity_of(draft), pack_fields.draft_conditions(draft))


def rules_for(path: str, draft: dict, pack: Pack) -> tuple[str, ...]:
    """The rules that judge a field, for F1: those of the pack declaring it that apply to the
    draft's activity (every activity's, while none is chosen)."""
    return pack_fields.rules_judging(pack, path, activity_of(draft))


@dataclass(frozen=True)
class Field:
    """One answer of a step. ``choices`` is given as the model's enumeration (its codes are kept in
    ``choices``, the enumeration in ``enum``: its labels, from :mod:`icv_permits.core.code_labels`,
    are what the applicant sees and may type). ``example`` is a code for coded fields: it is shown
    as its label."""

    path: str
    label: str  # msgid, domain "tui"
    kind: str = "text"
    choices: tuple[str, ...] | type = ()
    example: str = ""
    personal: bool = False  # masked unless being edited
    enum: type | None = None

    def __post_init__(self) -> None:
        if isinstance(self.choices, type):
            object.__setattr__(self, "enum", self.choices)
            object.__setattr__(self, "choices", tuple(m.value for m in self.choices))


@dataclass(frozen=True)
class ListPart:
    """The fields of each item of a list (drivers, vehicles…)."""

    path: str
    item_label: str  # msgid with {n}
    fields: tuple[Field, ...]
    addable: bool = True

    def field_paths(self) -> tuple[str, ...]:
        return tuple(f"{self.path}[].{f.path}" for f in self.fields)


@dataclass(frozen=True)
class Step:
    id: str
    title: str  # msgid
    fields: tuple[Field, ...] = ()
    lists: tuple[ListPart, ...] = ()


B = "bool"


STEPS: tuple[Step, ...] = (
    Step("activity", N_("Activity"), (
        Field("activity", N_("Activity"), "enum", Activity, example="demonstration_application"),
        Field("application_id", N_("Application number"), example="AH-DA-2026-0107"),
        Field("application_date", N_("Application date"), "date", example="2026-11-20"),
        Field("modifiers.highway", N_("Highway sections"), B, example="no"),
        Field("modifiers.night", N_("At night"), B, example="yes"),
        Field("modifiers.adding_vehicles", N_("Adding vehicles of a tested configuration"), B, example="no"),
        Field("modifiers.yrd_recognition", N_("Yangtze River Delta mutual recognition"), B, example="no"),
        Field("modifiers.renewal", N_("Re-application on expiry"), B, example="no"),
    )),
    Step("entity", N_("Entity"), (
        Field("entity.name", N_("Name"), example="合肥星途智行科技有限公司"),
        Field("entity.credit_code", N_("Unified social credit code"), example="91340100MA2RFGJQ5K"),
        Field("entity.independent_legal_person", N_("Independent legal person"), B, example="yes"),
        Field("entity.registered_in_prc", N_("Registered in the PRC"), B, example="yes"),
        Field("entity.business_scopes", N_("Business scopes"), "enums", BusinessScope, example="icv_manufacturing, technology_rd"),
        Field("entity.business_scope_other", N_("Other business scope (what it is)"), example="自动驾驶出行服务平台运营"),
        Field("entity.capabilities.test_evaluation_procedure", N_("Test and evaluation procedure"), B, example="yes"),
        Field("entity.capabilities.remote_monitoring", N_("Remote real-time monitoring"), B, example="yes"),
        Field("entity.capabilities.event_recording", N_("Event recording, analysis and reconstruction"), B, example="yes"),
        Field("entity.capabilities.cybersecurity", N_("Vehicle and platform cybersecurity"), B, example="yes"),
        Field("entity.contact_phone", N_("Contact phone"), personal=True, example="13812345678"),
        Field("entity.operating_qualification.holder", N_("Operating qualification held by"), "enum", Holder, example="self"),
        Field("entity.operating_qualification.permit_number", N_("Operating permit number"), example="皖交运管许可合字340100001号"),
        Field("entity.operating_qualification.valid_until", N_("Operating permit valid until"), "date", example="2029-06-30"),
        Field("entity.consortium.operating_services_agreement", N_("Consortium: operating services agreement"), B, example="yes"),
        Field("entity.consortium.tort_liability_agreement", N_("Consortium: tort liability agreement"), B, example="yes"),
    ), lists=(ListPart("entity.consortium.members", N_("Consortium member {n}"), (
        Field("name", N_("Name"), example="合肥公交集团有限公司"),
        Field("credit_code", N_("Unified social credit code"), example="91340100148975315P"),
        Field("operating_service_capability", N_("Can provide the operating services"), B, example="yes"),
    )),)),
    Step("drivers", N_("Drivers"), lists=(ListPart("drivers", N_("Driver {n}"), (
        Field("ref", N_("Reference"), example="D1"),
        Field("name", N_("Name"), example="王磊"),
        Field("id_number", N_("ID number"), personal=True, example="340104199001011239"),
        Field("phone", N_("Phone"), personal=True, example="13955512345"),
        Field("contract", N_("Contract"), "enum", Contract, example="labour"),
        Field("licence.classes", N_("Licence classes"), "enums", LicenceClass, example="C1"),
        Field("licence.first_issued", N_("Licence first issued"), "date", example="2012-06-18"),
        Field("full_score_dates", N_("Dates of a 12-point full score"), "texts", example="-"),
        Field("serious_violations", N_("Traffic violations"), "violations", example="2024-03-02 超速50%以上 serious"),
        Field("drink_or_drug_record", N_("Drink or drug driving record"), B, example="no"),
        Field("accidents", N_("Accidents"), "accidents", example="2023-05-01 minor; 2021-09-12 main injury"),
        Field("training.certified", N_("Training certified"), B, example="yes"),
        Field("training.covers_plan", N_("Training covers the plan"), B, example="yes"),
        Field("training.covers_emergency", N_("Training covers emergencies"), B, example="yes"),
        Field("training.hours", N_("Training hours"), "decimal", example="60"),
    )),)),
    Step("vehicles", N_("Vehicles"), lists=(ListPart("vehicles", N_("Vehicle {n}"), (
        Field("vin", N_("VIN"), example="LSVAU218XN2183294"),
        Field("category", N_("Category"), "enum", VehicleCategory, example="passenger"),
        Field("vehicle_type", N_("Vehicle type"), "enum", VehicleType, example="small_car"),
        Field("brand_model", N_("Brand and model"), example="星途 XT-R3 Robotaxi"),
        Field("configuration", N_("Configuration"), example="XT-R3-L4-2025A"),
        Field("rated_seats", N_("Rated seats"), "int", example="5"),
        Field("approved_load_kg", N_("Approved load (kg)"), "int", example="1495"),
        Field("previously_registered", N_("Previously registered"), B, example="no"),
        Field("inspection.passed_except_durability", N_("Inspection passed (except durability)"), B, example="yes"),
        Field("modes.manual", N_("Manual mode"), B, example="yes"),
        Field("modes.autonomous", N_("Autonomous mode"), B, example="yes"),
        Field("modes.switch_prompt", N_("Mode switch with prompt"), B, example="yes"),
        Field("modes.instant_manual_takeover", N_("Instant manual takeover"), B, example="yes"),
        Field("data_recording.records_state", N_("Records the vehicle state"), B, example="yes"),
        Field("data_recording.online_monitoring", N_("Online monitoring"), B, example="yes"),
        Field("data_recording.realtime_upload", N_("Uploaded in real time"), "enums", DataItem,
              example="control_mode, position, motion_state, perception_response"),
        Field("data_recording.pre_event_seconds", N_("Seconds kept before an event"), "decimal", example="90"),
        Field("data_recording.retention_months", N_("Months data are kept"), "decimal", example="12"),
        Field("test_zone.tested", N_("Tested in a test zone"), B, example="yes"),
        Field("test_zone.third_party_inspection_passed", N_("Third-party inspection passed"), B, example="yes"),
        Field("test_zone.report_number", N_("Test zone report number"), example="AHTC-2025-0931"),
        Field("body_marking", N_("Body marking"), example="自动驾驶示范应用"),
        Field("roof_sign_lamp", N_("Roof sign lamp"), B, example="yes"),
        Field("connected_remote_control", N_("Connected to a remote control platform"), B, example="yes"),
        Field("drivers", N_("Drivers (refs)"), "texts", example="D1, D2"),
    )),)),
    Step("evidence", N_("Evidence"), (
        Field("evidence.trips", N_("Trip log files"), "texts", example="evidence/trips.csv"),
        Field("evidence.incidents", N_("Incident record files"), "texts", example="evidence/incidents.csv"),
    ), lists=(
        ListPart("vehicles", N_("Vehicle {n}"), (
            Field("prior_testing", N_("Prior testing (section hours km y/n; …)"), "prior",
                  example="HF-GX-001 180.5 820.4 y; HF-BH-A01 75 310.2 y"),
        ), addable=False),
        ListPart("notices", N_("Earlier notice {n}"), (
            Field("number", N_("Notice number"), example="皖智网测〔2025〕012号"),
            Field("kind", N_("Kind"), "enum", NoticeKind, example="road_test"),
            Field("issuer_province", N_("Issuing province"), "enum", Province, example="jiangsu"),
            Field("issued", N_("Issued"), "date", example="2025-06-10"),
            Field("valid_from", N_("In force from (when later than issued)"), "date", example="2025-06-15"),
            Field("valid_until", N_("Valid until"), "date", example="2026-12-09"),
            Field("vins", N_("VINs"), "texts", example="LSVAU218XN2183294"),
            Field("configurations", N_("Configurations"), "texts", example="XT-R3-L4-2025A"),
            Field("sections", N_("Sections"), "texts", example="HF-GX-001"),
            Field("plates_issued", N_("Plates issued"), "date", example="2025-06-10"),
            Field("plates_valid_until", N_("Plates valid until"), "date", example="2026-12-09"),
        )),
        ListPart("incidents", N_("Incident {n}"), (
            Field("kind", N_("Kind"), "enum", IncidentKind, example="violation"),
            Field("date", N_("Date"), "date", example="2026-03-14"),
            Field("vin", N_("VIN"), example="LSVAU218XN2183294"),
            Field("section", N_("Section"), example="HF-GX-001"),
            Field("liability", N_("Liability (accidents)"), "enum", Liability, example="none"),
            Field("police_reference", N_("Police reference"), example="合公交认字〔2026〕0312号"),
            Field("during_road_test", N_("During the road test"), B, example="yes"),
            Field("description", N_("Description"), example="占用公交车道"),
        )),
    )),
    Step("scope", N_("Sections and period"), (
        Field("sections", N_("Sections"), "texts", example="HF-GX-001, HF-BH-A01"),
        Field("period.start", N_("Period start"), "date", example="2026-12-01"),
        Field("period.end", N_("Period end"), "date", example="2027-11-30"),
    )),
    Step("plan", N_("Plan"), (
        Field("operations.carries_passengers", N_("Carries passengers"), B, example="yes"),
        Field("operations.carries_goods", N_("Carries goods"), B, example="no"),
        Field("operations.passengers_are_test_staff_only", N_("Only test staff on board"), B, example="yes"),
        Field("operations.goods_are_ballast_only", N_("Only ballast carried"), B, example="yes"),
        Field("operations.max_people_per_vehicle", N_("Most people per vehicle"), "int", example="4"),
        Field("operations.max_load_kg_per_vehicle", N_("Most load per vehicle (kg)"), "int", example="800"),
        Field("operations.dangerous_goods", N_("Dangerous goods"), B, example="no"),
        Field("operations.unlicensed_transport_business", N_("Unlicensed transport business"), B, example="no"),
        Field("operations.brake_tests_on_public_roads", N_("Brake tests on public roads"), B, example="no"),
        Field("operations.risk_notice_to_riders", N_("Riders told of the risks"), B, example="yes"),
        Field("operations.autonomous_only_on_declared_sections", N_("Autonomous only on the sections applied for"), B, example="yes"),
        Field("operations.fee_charged", N_("Fees charged"), B, example="no"),
        Field("adding.original_notice", N_("Original notice (adding vehicles)"), example="皖智网示〔2026〕003号"),
        Field("adding.necessity_explained", N_("Necessity explained"), B, example="yes"),
    )),
    Step("insurance", N_("Insurance"), lists=(ListPart("insurance", N_("Policy {n}"), (
        Field("kind", N_("Kind"), "enum", InsuranceKind, example="liability"),
        Field("number", N_("Policy number"), example="PZAA2026340100077"),
        Field("insurer", N_("Insurer"), example="中国人保"),
        Field("vins", N_("VINs"), "texts", example="LSVAU218XN2183294"),
        Field("amount_yuan", N_("Amount (yuan)"), "int", example="5000000"),
        Field("per_seat_yuan", N_("Per seat (yuan)"), "int", example="100000"),
        Field("valid_from", N_("Valid from"), "date", example="2026-12-01"),
        Field("valid_to", N_("Valid to"), "date", example="2027-11-30"),
    )),)),
    Step("materials", N_("Materials"), tuple(
        Field(f"materials.{m.value}", f"material:{m.value}", B, example="yes") for m in Material
    )),
)

SECTION_FIELDS = {
    "sections": "many",
    "notices[].sections": "many",
    "incidents[].section": "one",
    "vehicles[].prior_testing": "entry",
}
"""The fields that name open road sections, picked from the pack's register (``many``: a list of
IDs; ``one``: one ID; ``entry``: the ID begins a prior-testing entry)."""

SUB_ENUMS = {"drivers[].accidents[].liability": Liability}
"""Coded parts of an entry typed on one line (their problems are said with labels too)."""

REVIEW = "review"
STEP_IDS = tuple(s.id for s in STEPS) + (REVIEW,)
STEP_TITLE = {s.id: s.title for s in STEPS} | {REVIEW: N_("Review")}

MATERIAL_LABELS = {
    "basic_information": N_("Basic information of entity, drivers, vehicles"),
    "safety_self_declaration": N_("Safety self-declaration"),
    "test_zone_report": N_("Test zone report"),
    "third_party_inspection_report": N_("Third-party inspection report"),
    "test_plan": N_("Test plan"),
    "insurance_proofs": N_("Insurance proofs"),
    "driver_training_records": N_("Driver training records"),
    "road_test_records": N_("Road test records"),
    "cybersecurity_assessment": N_("Cybersecurity assessment"),
    "demonstration_plan_review": N_("Reviewed demonstration plan"),
    "carriage_statement": N_("Carriage statement"),
    "operating_qualification": N_("Operating qualification"),
    "fee_scheme": N_("Fee scheme"),
    "yrd_notice_and_plates": N_("YRD notice and plates"),
    "added_vehicle_explanation": N_("Added vehicles explanation"),
}


def step(step_id: str) -> Step:
    return next(s for s in STEPS if s.id == step_id)


def items(part: ListPart, draft: dict) -> list:
    """The items of a list of the draft (``[]`` when absent or not a list)."""
    cur = draft
    for name in part.path.split("."):
        cur = cur.get(name) if isinstance(cur, dict) else None
    return cur if isinstance(cur, list) else []


def part_asked(part: ListPart, draft: dict, pack: Pack) -> bool:
    """Whether any field of a list's items is asked for this draft."""
    wanted = asked(draft, pack)
    return any(p in wanted for p in part.field_paths())


def rows(step_: Step, draft: dict, pack: Pack, selected: dict[str, int] | None = None) -> list[tuple[str | None, Field | None, str]]:
    """The rows of a step for this draft: ``(header, None, item path)`` before each list item and
    ``(None, field, absolute path)`` for each field the pack asks. With ``selected`` (list path →
    index), only the selected item of each list is shown (the form); without it, every item (the
    review)."""
    wanted = asked(draft, pack)
    out: list[tuple[str | None, Field | None, str]] = []
    for f in step_.fields:
        if f.path in wanted:
            out.append((None, f, f.path))
    for part in step_.lists:
        if not any(p in wanted for p in part.field_paths()):
            continue
        n = len(items(part, draft))
        shown = range(n)
        if selected is not None and n:
            shown = [max(0, min(selected.get(part.path, 0), n - 1))]
        for i in shown:
            out.append((part.item_label, None, f"{part.path}[{i}]"))
            for f, generic in zip(part.fields, part.field_paths(), strict=True):
                if generic in wanted:
                    out.append((None, f, f"{part.path}[{i}].{f.path}"))
    return out


def field_for(path: str) -> Field | None:
    """The field spec of an absolute path (list indices ignored)."""
    generic = pack_fields.generic(path)
    for s in STEPS:
        for f in s.fields:
            if f.path == generic:
                return f
        for part in s.lists:
            for f in part.fields:
                if f"{part.path}[].{f.path}" == generic:
                    return f
    return None


def item_name(list_path: str, index: int, draft: dict, lang: str) -> str:
    """"Driver D1", "Vehicle LSVAU218XN2183294": an item of a list as :func:`path_label` names it
    (by its own answer; by its position while that is not given), for the item header and F7."""
    return path_label(f"{list_path}[{index}]", draft, lang)


# ---------------------------------------------------------------- a document path as the applicant reads it

GROUPS = {
    "": N_("The application"),
    "modifiers": N_("Conditions"),
    "entity": N_("Entity"),
    "entity.capabilities": N_("Capabilities"),
    "entity.consortium": N_("Consortium"),
    "entity.consortium.members": N_("Consortium members"),
    "entity.operating_qualification": N_("Operating qualification"),
    "drivers": N_("Drivers"),
    "drivers[].licence": N_("Driving licence"),
    "drivers[].training": N_("Training"),
    "drivers[].serious_violations[].date": N_("Date"),
    "drivers[].serious_violations[].kind": N_("Violation"),
    "drivers[].serious_violations[].serious": N_("Serious"),
    "drivers[].accidents[].date": N_("Date"),
    "drivers[].accidents[].liability": N_("Liability"),
    "drivers[].accidents[].death_or_serious_injury": N_("Death or serious injury"),
    "vehicles": N_("Vehicles"),
    "vehicles[].inspection": N_("Inspection"),
    "vehicles[].inspection.items_not_met_due_to_ad": N_("Items not met because of autonomous driving"),
    "vehicles[].modes": N_("Driving modes"),
    "vehicles[].data_recording": N_("Data recording"),
    "vehicles[].test_zone": N_("Test zone"),
    "vehicles[].prior_testing": N_("Prior testing"),
    "vehicles[].prior_testing[].section": N_("Section"),
    "vehicles[].prior_testing[].hours": N_("Hours"),
    "vehicles[].prior_testing[].km": N_("Kilometres"),
    "vehicles[].prior_testing[].records_submitted": N_("Records submitted"),
    "insurance": N_("Insurance"),
    "incidents": N_("Incidents"),
    "notices": N_("Earlier notices"),
    "period": N_("Period"),
    "operations": N_("Plan"),
    "adding": N_("Adding vehicles"),
    "evidence": N_("Evidence"),
    "materials": N_("Materials"),
}
"""Labels of the parts of the document that are not fields of a step (groups, the parts of an
entry typed on one line): a problem located there is named by them."""

ITEMS = {
    # list → (its item's label with {n}, the key naming an item)
    "entity.consortium.members": (N_("Consortium member {n}"), "name"),
    "drivers": (N_("Driver {n}"), "ref"),
    "drivers[].serious_violations": (N_("Violation {n}"), "date"),
    "drivers[].accidents": (N_("Accident {n}"), "date"),
    "vehicles": (N_("Vehicle {n}"), "vin"),
    "vehicles[].prior_testing": (N_("Prior testing {n}"), "section"),
    "vehicles[].inspection.items_not_met_due_to_ad": (N_("Item {n}"), "item"),
    "insurance": (N_("Policy {n}"), "number"),
    "notices": (N_("Earlier notice {n}"), "number"),
    "incidents": (N_("Incident {n}"), None),
}
"""How an item of a list is named where a problem is shown: by what identifies it to the applicant
(a driver's ref, a vehicle's VIN, a policy's number…) or, when that is not filled in, by its
position (1 for the first)."""


def _item_name(value, key: str | None, index: int) -> str:
    from icv_permits.core.visible import visible

    name = value.get(key) if key and isinstance(value, dict) else None
    if name is not None and not isinstance(name, (bool, dict, list)) and str(name).strip():
        text = visible(str(name).strip())
        return text if len(text) <= 32 else text[:31] + "…"
    return str(index + 1)


_DOC_PATH = re.compile(r"[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*")


def path_label(path: str, draft: dict | None, lang: str) -> str:
    """A document path (``drivers[0].id_number``, ``entity.consortium.members``,
    ``vehicles[1].prior_testing[0].hours``) as the applicant reads it: each list item it goes
    through named by what identifies it in the draft (``驾驶人 D1``, ``车辆 LSVAU218XN2183294``),
    then the field's label, joined by `` · `` — in ``lang``. What the form does not know (a
    misspelt key) keeps its own name after the nearest part that is known. Shared by the form,
    the review and the findings, so a problem is named the same way everywhere."""
    from icv_permits.core.visible import visible
    from icv_permits.services.drafts import format_path, parse_path

    from .common import t

    if not _DOC_PATH.fullmatch(path or ""):
        return visible(path) if path else t(lang, GROUPS[""])  # a file, an option: not a document path
    parts = parse_path(path)
    if not parts:
        return t(lang, GROUPS[""])
    shown: list[str] = []
    generic: list[str | int] = []  # the path with "[]" for the indices seen so far
    node = draft
    start = 0  # where the part after the last item begins
    for i, part in enumerate(parts):
        if isinstance(part, int):
            list_generic = pack_fields.generic(format_path(generic))
            node = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
            generic.append(0)
            if list_generic in ITEMS:
                label, key = ITEMS[list_generic]
                shown.append(t(lang, label, n=_item_name(node, key, part)))
                start = i + 1
            else:  # an entry of a list of values (sections, data items, VINs…)
                owner = _label_of(pack_fields.generic(format_path(generic[:-1])), lang) or visible(str(parts[i - 1]))
                shown.append(t(lang, "{field} (entry {n})", field=owner, n=part + 1))
                start = i + 1
        else:
            node = node.get(part) if isinstance(node, dict) else None
            generic.append(part)
    if start < len(parts):
        full = pack_fields.generic(format_path(generic))
        label = _label_of(full, lang)
        if label is None:
            # the nearest known part, then the rest as it is named in the document
            label = ""
            for cut in range(len(generic) - 1, start - 1, -1):
                known = _label_of(pack_fields.generic(format_path(generic[:cut])), lang) if cut else None
                if known is not None and cut > start:
                    rest = ".".join(visible(str(p)) for p in parts[cut:])
                    label = f"{known} · {rest}"
                    break
            if not label:
                label = ".".join(visible(str(p)) for p in parts[start:])
        shown.append(label)
    return " · ".join(shown)


def _label_of(generic_path: str, lang: str) -> str | None:
    from .common import field_label, t

    spec = field_for(generic_path)
    if spec is not None:
        return field_label(spec, lang)
    if generic_path in GROUPS:
        return t(lang, GROUPS[generic_path])
    if generic_path.startswith("materials."):
        key = generic_path.split(".", 1)[1]
        if key in MATERIAL_LABELS:
            return t(lang, MATERIAL_LABELS[key])
    return None
