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

from icv_permits.core.engine.decision import Decision
from icv_permits.core.i18n import N_
from icv_permits.core.labels import ACTIONS, ACTIVITIES, NOTICE_STATUSES, STATES
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
