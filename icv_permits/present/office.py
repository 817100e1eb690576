"""Text and JSON views of the regulator's workflow: submissions, queue, decisions, notices, entities.

Personal data never appears: drivers are shown by name and masked ID number only (the store keeps
nothing else in clear). Times are shown in Asia/Shanghai, stored in UTC.

Everything from the store — names, reasons, actors, file names, section ids — is untrusted text:
it reaches a view only as a value of a message (the ``t`` of :mod:`icv_permits.core.visible`),
through :func:`~icv_permits.core.visible.visible`, or as a cell of :func:`table` (which makes every
cell visible), so it can neither break a line nor carry an escape sequence to the terminal.
"""

from __future__ import annotations

import json
from typing import Any

import pendulum

from icv_permits.core import code_labels
from icv_permits.core.engine.decision import Decision
from icv_permits.core.i18n import N_
from icv_permits.core.labels import (
    ACTIONS,
    ACTIVITIES,
    NOTICE_STATUSES,
    STATES,
    VERDICT_WORDS,
)
from icv_permits.core.model.types import TIMEZONE
from icv_permits.core.pack import Pack
from icv_permits.core.visible import t, visible
from icv_permits.present.report import cells, render_text, verdict_text

v_ = visible



def local(ts: str | None) -> str:
    if not ts:
        return "—"
    return pendulum.parse(ts).in_timezone(TIMEZONE).format("YYYY-MM-DD HH:mm")


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cells(text))


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; every cell made visible, so that a line break or a
    control character in a name cannot add a row or move the cursor."""
    headers = [visible(h) for h in headers]
    rows = [[visible(c) for c in r] for r in rows]
    widths = [max([cells(h)] + [cells(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("─" * w for w in widths))
    for r in rows:
        lines.append("  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines) + "\n"


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def state_text(lang: str, state: str) -> str:
    """A submission's state as shown."""
    return t(lang, STATES.get(state, state))


def submitted(result, lang: str) -> str:
    sub = result.submission
    head = (t(lang, N_("Submission {id} stored as version {version}: {state}. Engine verdict: {verdict}."),
              id=sub.id, version=sub.version, state=state_text(lang, sub.state), verdict=verdict_text(lang, sub.verdict)))
    hint = t(lang, N_("Decide with: icv-permits decide {id} --approve|--return|--reject --reason TEXT --if-revision {revision}"),
             id=sub.id, revision=sub.revision)
    return head + "\n" + hint + "\n\n" + render_text(result.decision, result.pack, lang)


def queue(views: list, lang: str) -> str:
    if not views:
        return t(lang, N_("No submissions in this state.")) + "\n"
    headers = [t(lang, N_("ID")), t(lang, N_("Rev.")), t(lang, N_("State")), t(lang, N_("Activity")), t(lang, N_("Entity")),
               t(lang, N_("Vehicles")), t(lang, N_("Engine")), t(lang, N_("Updated"))]
    rows = [[str(v.id), str(v.revision), state_text(lang, v.state), t(lang, ACTIVITIES.get(v.activity, v.activity)),
             f"{v.entity_name} {v.credit_code}", str(v.vehicles), verdict_text(lang, v.verdict), local(v.updated_at)] for v in views]
    return table(headers, rows)


def submission(view, decision: Decision | None, pack: Pack | None, lang: str, verbose: bool = False) -> str:
    out = [t(lang, N_("Submission {id} · {entity} ({code}) · {activity}"), id=view.id, entity=view.entity_name,
             code=view.credit_code, activity=t(lang, ACTIVITIES.get(view.activity, view.activity))),
           t(lang, N_("State: {state} · revision {revision} · version {version} · applicant's reference {ref}"),
             state=state_text(lang, view.state), revision=view.revision, version=view.version, ref=view.application_id or "—"), ""]
    out.append(t(lang, N_("Versions")))
    for v in view.versions:
        out.append(f"  v{v['number']}  {local(v['submitted_at'])}  {v_(v['actor'])}  {v_(v['file_name'])}  sha256:{v_(v['file_sha256'][:12])}")
    out.append(t(lang, N_("Engine runs")))
    for r in view.runs:
        out.append(f"  #{r['id']}  v{r['version']}  {v_(r['purpose'])}  {local(r['run_at'])}  {t(lang, N_('as of'))} {v_(r['as_of'])}  "
                   f"{v_(verdict_text(lang, r['verdict']))}  {v_(r['pack_id'])}@{v_(r['pack_revision'][7:19])}")
    if view.reviews:
        out.append(t(lang, N_("Decisions")))
        for r in view.reviews:
            against = "  " + t(lang, N_("(against the engine)")) if r["against_engine"] else ""
            out.append(f"  {local(r['decided_at'])}  {v_(r['actor'])}  v{r['version']}  {t(lang, ACTIONS[r['action']])}{against}")
            if r["reason"]:
                out.append(f"    {t(lang, N_('Reason'))}: {v_(r['reason'])}")
            for it in r["items"]:
                out.append(item_line(it, "    "))
    for n in view.notices:
        out.append(notice_block(n, lang))
    text = "\n".join(out) + "\n"
    if decision is not None and pack is not None:
        text += "\n" + t(lang, N_("Latest engine decision")) + "\n" + render_text(decision, pack, lang, verbose=verbose)
    return text


def decided(result, lang: str) -> str:
    r = result.review
    out = [t(lang, N_("Submission {id}: {action} → {state} (revision {revision})."), id=result.submission.id,
             action=t(lang, ACTIONS[r["action"]]), state=state_text(lang, r["to_state"]), revision=result.submission.revision)]
    out.append(t(lang, N_("Engine verdict as of today: {verdict}."), verdict=verdict_text(lang, result.decision.verdict.value)))
    if r["against_engine"]:
        out.append(t(lang, N_("Decided against the engine; reason recorded: {reason}"), reason=r["reason"]))
    elif r["reason"]:
        out.append(t(lang, N_("Reason: {reason}"), reason=r["reason"]))
    if r["items"]:
        out.append(t(lang, N_("To correct before re-submitting:")))
        for it in r["items"]:
            out.append(item_line(it, "  "))
    if result.notice:
        out.append(notice_block(result.notice, lang))
    return "\n".join(out) + "\n"


def item_line(it: dict, indent: str) -> str:
    """A point to correct, of a review: rule, subject, field, reason."""
    subject = it["subject_label"] or it["subject"]
    return f"{indent}- {v_(it['rule_id'])} {v_(subject)} {v_(it['field'] or '')} ({v_(it['reason'])})".rstrip()


def notice_block(n: dict, lang: str) -> str:
    out = [t(lang, N_("Notice {number} ({kind}, {status}): issued {issued}, valid {start} – {end}"), number=n["number"],
             kind=t(lang, ACTIVITIES.get(n["kind"], n["kind"])), status=t(lang, NOTICE_STATUSES.get(n["status"], n["status"])), issued=n["issued"], start=n["valid_from"], end=n["valid_until"])]
    out.append("  " + t(lang, N_("Sections: {sections}"), sections=", ".join(n["sections"])))
    for pl in n["plates"]:
        extra = "  " + t(lang, N_("(renewal)")) if pl.get("renews") else ""
        out.append("  " + t(lang, N_("Plate {number} for {vin}: {start} – {end}"), number=pl["number"], vin=pl["vin"],
                            start=pl["valid_from"], end=pl["valid_until"]) + extra)
    return "\n".join(out)


def notices(rows: list[dict], lang: str) -> str:
    if not rows:
        return t(lang, N_("No notices match.")) + "\n"
    headers = [t(lang, N_("Notice")), t(lang, N_("Kind")), t(lang, N_("Entity")), t(lang, N_("Valid")), t(lang, N_("Days left")),
               t(lang, N_("Plates until")), t(lang, N_("Vehicles"))]
    body = [[n["number"], t(lang, ACTIVITIES.get(n["kind"], n["kind"])), f"{n['entity_name']} {n['credit_code']}",
             f"{n['valid_from']} – {n['valid_until']}", str(n["days_left"]), n.get("plates_run_until") or "—", str(len(n["vins"]))] for n in rows]
    return table(headers, body)


def renewed(result: dict, lang: str) -> str:
    out = [t(lang, N_("Plates renewed under notice {number}:"), number=result["notice"]["number"])]
    for r in result["renewed"]:
        out.append("  " + t(lang, N_("{vin}: {number} {start} – {end} (replaces {old})"), vin=r["vin"], number=r["number"],
                            start=r["valid_from"], end=r["valid_until"], old=r["renews"]))
    return "\n".join(out) + "\n"


def entity(data: dict, lang: str) -> str:
    out = [f"{v_(data['name'])} ({v_(data['credit_code'])})", t(lang, N_("On record since {when}"), when=local(data["first_seen"]))]
    out.append(t(lang, N_("First demonstration operation already approved: {yes}"),
                 yes=t(lang, N_("yes")) if data["first_operation_done"] else t(lang, N_("no"))))
    out.append("")
    out.append(t(lang, N_("Submissions")))
    for s in data["submissions"]:
        out.append(f"  {s['id']}  {v_(state_text(lang, s['state']))}  {v_(t(lang, ACTIVITIES.get(s['activity'], s['activity'])))}  v{s['version']}  "
                   f"{v_(verdict_text(lang, s['verdict']))}  {local(s['updated_at'])}")
    out.append(t(lang, N_("Notices")))
    for n in data["notices"]:
        mark = t(lang, N_("in force")) if n["in_force"] else ""
        out.append(notice_block(n, lang) + (f"  [{mark}]" if mark else ""))
    if data["drivers"]:
        out.append(t(lang, N_("Drivers on its notices")))
        for d in data["drivers"]:
            out.append(f"  {v_(d['name'])} ({v_(d['id_masked'])})")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- the application as a regulator reads it

# The words for the codes an application holds, as a regulator reads them (gettext domain
# ``report``): the applicant's own tables (``core.code_labels``), and the conditions and materials.
# A code not listed is shown as it is.
CODE_LABELS = {
    "business_scopes": code_labels.BUSINESS_SCOPES,
    "category": code_labels.VEHICLE_CATEGORIES,
    "vehicle_type": code_labels.VEHICLE_TYPES,
    "contract": code_labels.CONTRACTS,
    "insurance": code_labels.INSURANCE_KINDS,
    "liability": code_labels.LIABILITIES,
    "incident": code_labels.INCIDENT_KINDS,
    "holder": code_labels.HOLDERS,
    "province": code_labels.PROVINCES,
    "modifiers": {"highway": N_("highway sections"), "night": N_("at night"), "adding_vehicles": N_("adding vehicles"),
                  "yrd_recognition": N_("Yangtze River Delta recognition"), "renewal": N_("re-application on expiry")},
    "materials": {"basic_information": N_("basic information"), "safety_self_declaration": N_("safety self-declaration"),
                  "test_zone_report": N_("test zone report"), "third_party_inspection_report": N_("third-party inspection report"),
                  "test_plan": N_("test plan"), "insurance_proofs": N_("insurance proofs"), "driver_training_records": N_("driver training records"),
                  "road_test_records": N_("road test records"), "cybersecurity_assessment": N_("cybersecurity assessment"),
                  "demonstration_plan_review": N_("reviewed demonstration plan"), "carriage_statement": N_("carriage statement"),
                  "operating_qualification": N_("operating qualification"), "fee_scheme": N_("fee scheme"),
                  "yrd_notice_and_plates": N_("YRD notice and plates"), "added_vehicle_explanation": N_("added vehicles explanation")},
}


def _code(lang: str, table: str, code) -> str:
    if code is None or code == "":
        return "—"
    msgid = CODE_LABELS[table].get(code) if isinstance(code, str) else None
    return t(lang, msgid) if msgid else v_(str(code))


def _join(lang: str, items) -> str:
    items = [x for x in items if x]
    return ("、" if lang == "zh" else ", ").join(items) if items else "—"


def _codes(lang: str, table: str, codes) -> str:
    return _join(lang, [_code(lang, table, c) for c in codes]) if isinstance(codes, list) else _code(lang, table, codes)


def _val(lang: str, value) -> str:
    """A value of the document as shown: yes/no, numbers, lists joined, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t(lang, N_("yes")) if value else t(lang, N_("no"))
    if isinstance(value, list):
        return _join(lang, [_val(lang, x) for x in value])
    if isinstance(value, dict):
        return v_(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return v_(str(value))


def _get(doc, path: str):
    cur = doc
    for name in path.split("."):
        cur = cur.get(name) if isinstance(cur, dict) else None
    return cur


def _list(doc, path: str) -> list:
    value = _get(doc, path)
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


Row = tuple[str, str | None]
"""A row of a section: ``(label, value)``; a value of ``None`` makes the label the heading of an item
(a driver, a vehicle, a policy)."""


def application_sections(doc: dict, lang: str) -> list[tuple[str, list[Row]]]:
    """An application (as stored: personal data pseudonymised and masked) as labelled sections in
    ``lang``, in the order a regulator reads it: the application, the entity, drivers, vehicles,
    sections and period, operations, insurance, earlier notices, incidents, materials. Every value
    is made visible; codes are shown by their words in ``lang``."""
    L = lambda msgid: t(lang, msgid)  # noqa: E731
    out: list[tuple[str, list[Row]]] = []
    mods = doc.get("modifiers") if isinstance(doc.get("modifiers"), dict) else {}
    out.append((L(N_("Application")), [
        (L(N_("Activity")), t(lang, ACTIVITIES[doc["activity"]]) if doc.get("activity") in ACTIVITIES else _val(lang, doc.get("activity"))),
        (L(N_("Applicant's reference")), _val(lang, doc.get("application_id"))),
        (L(N_("Application date")), _val(lang, doc.get("application_date"))),
        (L(N_("Conditions")), _codes(lang, "modifiers", [k for k, v in mods.items() if v is True])),
    ]))
    e = doc.get("entity") if isinstance(doc.get("entity"), dict) else {}
    rows: list[Row] = [
        (L(N_("Name")), _val(lang, e.get("name"))),
        (L(N_("Credit code")), _val(lang, e.get("credit_code"))),
        (L(N_("Contact phone")), _val(lang, e.get("contact_phone"))),
        (L(N_("Independent legal person")), _val(lang, e.get("independent_legal_person"))),
        (L(N_("Registered in the PRC")), _val(lang, e.get("registered_in_prc"))),
        (L(N_("Business scopes")), _codes(lang, "business_scopes", e.get("business_scopes"))),
    ]
    if e.get("business_scope_other") is not None:  # what "other" is, in the applicant's words
        rows.append((L(N_("Other business scope (what it is)")), _val(lang, e.get("business_scope_other"))))
    caps = e.get("capabilities") if isinstance(e.get("capabilities"), dict) else {}
    for key, msgid in (("test_evaluation_procedure", N_("Test and evaluation procedure")), ("remote_monitoring", N_("Remote monitoring")),
                       ("event_recording", N_("Event recording")), ("cybersecurity", N_("Cybersecurity"))):
        if key in caps:
            rows.append((L(msgid), _val(lang, caps.get(key))))
    oq = e.get("operating_qualification")
    if isinstance(oq, dict):
        rows.append((L(N_("Operating qualification")), _join(lang, [_code(lang, "holder", oq.get("holder")), _val(lang, oq.get("permit_number")),
                                                                   t(lang, N_("valid until {day}"), day=_val(lang, oq.get("valid_until")))])))
    for i, m in enumerate(_list(doc, "entity.consortium.members"), 1):
        rows.append((t(lang, N_("Consortium member {n}"), n=i), _join(lang, [_val(lang, m.get("name")), _val(lang, m.get("credit_code"))])))
    out.append((L(N_("Entity")), rows))
    rows = []
    for d in _list(doc, "drivers"):
        rows.append((_join(lang, [_val(lang, d.get("ref")), _val(lang, d.get("name"))]), None))
        lic = d.get("licence") if isinstance(d.get("licence"), dict) else {}
        tr = d.get("training") if isinstance(d.get("training"), dict) else {}
        rows += [
            (L(N_("ID number")), _val(lang, d.get("id_number"))),
            (L(N_("Phone")), _val(lang, d.get("phone"))),
            (L(N_("Contract")), _code(lang, "contract", d.get("contract"))),
            (L(N_("Licence")), _join(lang, [_val(lang, lic.get("classes")), t(lang, N_("since {day}"), day=_val(lang, lic.get("first_issued")))])),
            (L(N_("Training")), t(lang, N_("certified: {certified} · {hours} hours"), certified=_val(lang, tr.get("certified")), hours=_val(lang, tr.get("hours")))),
            (L(N_("Violations · accidents")), f"{len(d.get('serious_violations') or [])} · {len(d.get('accidents') or [])}"),
        ]
    out.append((L(N_("Drivers")), rows))
    rows = []
    for v in _list(doc, "vehicles"):
        rows.append((_join(lang, [_val(lang, v.get("vin")), _val(lang, v.get("brand_model"))]), None))
        dr = v.get("data_recording") if isinstance(v.get("data_recording"), dict) else {}
        rows += [
            (L(N_("Category")), _join(lang, [_code(lang, "category", v.get("category")), _code(lang, "vehicle_type", v.get("vehicle_type"))])),
            (L(N_("Configuration")), _val(lang, v.get("configuration"))),
            (L(N_("Seats · load (kg)")), f"{_val(lang, v.get('rated_seats'))} · {_val(lang, v.get('approved_load_kg'))}"),
            (L(N_("Drivers")), _val(lang, v.get("drivers"))),
            (L(N_("Roof sign lamp")), _val(lang, v.get("roof_sign_lamp"))),
            (L(N_("Remote control platform")), _val(lang, v.get("connected_remote_control"))),
            (L(N_("Data kept (months)")), _val(lang, dr.get("retention_months"))),
            (L(N_("Prior testing")), _join(lang, [t(lang, N_("{section}: {hours} h, {km} km"), section=_val(lang, p.get("section")),
                                                       hours=_val(lang, p.get("hours")), km=_val(lang, p.get("km")))
                                                  for p in _list(v, "prior_testing")])),
        ]
    out.append((L(N_("Vehicles applied for")), rows))
    period = doc.get("period") if isinstance(doc.get("period"), dict) else {}
    out.append((L(N_("Sections and period")), [
        (L(N_("Sections")), _val(lang, doc.get("sections"))),
        (L(N_("Period")), f"{_val(lang, period.get('start'))} – {_val(lang, period.get('end'))}"),
    ]))
    ops = doc.get("operations") if isinstance(doc.get("operations"), dict) else {}
    if ops:
        out.append((L(N_("Operations")), [
            (L(N_("Carries passengers")), _val(lang, ops.get("carries_passengers"))),
            (L(N_("Carries goods")), _val(lang, ops.get("carries_goods"))),
            (L(N_("Most people per vehicle")), _val(lang, ops.get("max_people_per_vehicle"))),
            (L(N_("Fees charged")), _val(lang, ops.get("fee_charged"))),
        ]))
    rows = []
    for p in _list(doc, "insurance"):
        rows.append((_join(lang, [_code(lang, "insurance", p.get("kind")), _val(lang, p.get("number"))]), None))
        rows += [
            (L(N_("Insurer")), _val(lang, p.get("insurer"))),
            (L(N_("Amount (yuan)")), _val(lang, p.get("amount_yuan"))),
            (L(N_("Valid")), f"{_val(lang, p.get('valid_from'))} – {_val(lang, p.get('valid_to'))}"),
            (L(N_("VINs")), _val(lang, p.get("vins"))),
        ]
    out.append((L(N_("Insurance")), rows))
    notices_ = _list(doc, "notices")
    if notices_:
        out.append((L(N_("Earlier notices")), [
            (_val(lang, n.get("number")), _join(lang, [_code(lang, "province", n.get("issuer_province")),
                                                       t(lang, ACTIVITIES[n["kind"]]) if n.get("kind") in ACTIVITIES else _val(lang, n.get("kind")),
                                                       t(lang, N_("valid until {day}"), day=_val(lang, n.get("valid_until")))]))
            for n in notices_]))
    incidents = _list(doc, "incidents")
    if incidents:
        out.append((L(N_("Incidents")), [
            (_val(lang, i.get("date")), _join(lang, [_code(lang, "incident", i.get("kind")), _val(lang, i.get("vin")),
                                                     _code(lang, "liability", i.get("liability")) if i.get("liability") else "",
                                                     _val(lang, i.get("description"))]))
            for i in incidents]))
    mats = doc.get("materials") if isinstance(doc.get("materials"), dict) else {}
    if mats:
        out.append((L(N_("Materials")), [
            (L(N_("Provided")), _codes(lang, "materials", [k for k, v in mats.items() if v is True])),
            (L(N_("Not provided")), _codes(lang, "materials", [k for k, v in mats.items() if v is False])),
        ]))
    return out


def history_rows(events: list[dict], lang: str) -> list[tuple[str, str, str, str]]:
    """A submission's history (``services.office.submission_history``) as rows of (time, actor,
    what happened, detail) in ``lang``: a version submitted, an engine run and its verdict, a
    regulator's decision with its reason and the notice it issued, a renewal of plates."""
    rows = []
    for e in events:
        when, who = local(e["at"]), v_(e.get("actor") or "—")
        if e["kind"] == "submitted":
            rows.append((when, who, t(lang, N_("submitted version {version}"), version=e["version"]), v_(e.get("file_name") or "")))
        elif e["kind"] == "engine":
            what = N_("engine check at submission") if e["purpose"] == "submit" else N_("engine check at decision")
            rows.append((when, who, t(lang, what), t(lang, N_("verdict: {verdict}"), verdict=t(lang, VERDICT_WORDS.get(e["verdict"], e["verdict"] or "—")))))
        elif e["kind"] == "review":
            detail = []
            if e.get("reason"):
                detail.append(t(lang, N_("reason: {reason}"), reason=e["reason"]))
            if e.get("against_engine"):
                detail.append(t(lang, N_("(against the engine)")))
            if e.get("notice"):
                n = e["notice"]
                detail.append(t(lang, N_("notice {number}, valid {start} – {end}"), number=n["number"], start=n["valid_from"], end=n["valid_until"]))
            rows.append((when, who, t(lang, N_("regulator: {action}"), action=t(lang, ACTIONS.get(e["action"], e["action"]))), " · ".join(detail)))
        elif e["kind"] == "renewal":
            plates = "; ".join(t(lang, N_("{vin}: {number} until {end}"), vin=p["vin"], number=p["number"], end=p["valid_until"]) for p in e["plates"])
            rows.append((when, who, t(lang, N_("plates renewed under notice {number}"), number=e["notice"]), plates))
    return rows


def plate_lines(n: dict, lang: str) -> list[str]:
    """The plates of a notice, one line each: number, vehicle, validity."""
    return [t(lang, N_("Plate {number} for {vin}: {start} – {end}"), number=pl["number"], vin=pl["vin"], start=pl["valid_from"], end=pl["valid_until"])
            for pl in n["plates"]]
