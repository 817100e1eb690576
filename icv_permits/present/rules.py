"""Views of a rule pack for ``rules list`` and ``rules show`` (no rule logic here).

A pack may come from any folder (``--pack``): its texts are shown through
:mod:`icv_permits.core.visible` like any other text from outside.
"""

from __future__ import annotations

from typing import Any

from icv_permits.core.i18n import N_
from icv_permits.core.visible import t, visible
from icv_permits.core.pack import Pack
from icv_permits.present.report import COMPARISON, CONFIDENCE, SYMBOL, article, show_value


def rules_json(pack: Pack) -> dict[str, Any]:
    return {
        "pack_id": pack.id,
        "pack_revision": pack.revision,
        "chain": pack.chain,
        "rules": [r.model_dump(mode="json") for r in pack.rules.values()],
        "parameters": [p.model_dump(mode="json") for p in pack.parameters.values()],
        "sections": [s.model_dump(mode="json") for s in pack.sections.values()],
        "sources": [s.model_dump(mode="json") for s in pack.sources.values()],
    }


def _acts(pack: Pack, acts: list, lang: str) -> str:
    short = {"road_test": "RT", "demonstration_application": "DA", "demonstration_operation": "DO"}
    return ",".join(short[a.value] for a in acts)


def rules_table(pack: Pack, lang: str) -> str:
    lines = [t(lang, N_("Rule pack {pack} (revision {revision}), {n} rules"), pack=pack.id, revision=pack.revision[:19], n=len(pack.rules))]
    for r in pack.rules.values():
        flags = "" if r.enabled else " [" + t(lang, N_("off")) + "]"
        cond = ""
        if r.applies_to.requires:
            cond += " +" + "+".join(map(visible, r.applies_to.requires))
        if r.applies_to.unless:
            cond += " -" + "-".join(map(visible, r.applies_to.unless))
        lines.append(
            f"{visible(r.id):<7} {_acts(pack, r.applies_to.activities, lang):<8} {t(lang, CONFIDENCE[r.confidence.value]):<14} "
            f"{r.severity.value[0].upper()} {visible(r.title(lang))}{cond}{flags}"
        )
    return "\n".join(lines) + "\n"


def rule_detail(pack: Pack, rid: str, lang: str) -> str:
    r = pack.rules[rid]
    c = r.citation
    src = pack.sources.get(c.source)
    lines = [
        f"{visible(r.id)} {visible(r.title(lang))}",
        "",
        visible(r.requirement(lang)),
        "",
        t(lang, N_("Citation: {source} {article}"), source=src.title(lang) if src else c.source, article=article(c.article, lang) if c.article else "").rstrip(),
    ]
    if c.locator:
        lines.append(t(lang, N_("Seen in: {locator}"), locator=c.where(lang)))
    if c.quote:
        lines.append(t(lang, N_("Quoted: “{quote}”"), quote=c.quote))
    if c.note:
        lines.append(t(lang, N_("Note: {note}"), note=c.note(lang)))
    if src:
        lines.append(t(lang, N_("What we have of the source: {what}"), what=src.what_we_have(lang)))
    lines += [
        t(lang, N_("Confidence: {confidence}"), confidence=t(lang, CONFIDENCE[r.confidence.value])),
        t(lang, N_("Severity: {severity}"), severity=t(lang, N_("blocking")) if r.severity.value == "blocking" else t(lang, N_("advisory"))),
        t(lang, N_("Applies to: {activities}"), activities=show_value([a.value for a in r.applies_to.activities], pack, lang)),
    ]
    if r.applies_to.requires:
        lines.append(t(lang, N_("Only when: {conditions}"), conditions=", ".join(r.applies_to.requires)))
    if r.applies_to.unless:
        lines.append(t(lang, N_("Not when: {conditions}"), conditions=", ".join(r.applies_to.unless)))
    if not r.enabled:
        lines.append(t(lang, N_("Switched off in this pack.")))
    lines.append(t(lang, N_("Remedy: {remedy}"), remedy=r.remedy(lang)))
    for name in r.params:
        p = pack.parameters[name]
        lines += ["", t(lang, N_("Parameter {id}: {title}"), id=name, title=p.title(lang))]
        for v in p.values:
            cmp = f"{t(lang, COMPARISON[p.comparison.value])} ({SYMBOL[p.comparison.value]})" if p.comparison else ""
            lines.append(
                "  "
                + t(
                    lang,
                    N_("from {date}: {comparison} {value} {unit} — {source} {where} ({confidence})"),
                    date=v.effective_from.isoformat(),
                    comparison=cmp,
                    value=show_value(v.value, pack, lang),
                    unit=p.unit or "",
                    source=v.citation.source,
                    where=article(v.citation.article, lang) if v.citation.article else v.citation.where(lang) or "",
                    confidence=t(lang, CONFIDENCE[v.confidence.value]),
                )
            )
    return "\n".join(lines) + "\n"
