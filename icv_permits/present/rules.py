"""Views of a rule pack for ``rules list`` and ``rules show`` (no rule logic here).

A pack may come from any folder (``--pack``): its texts are shown through
:mod:`icv_permits.core.visible` like any other text from outside.
"""

from __future__ import annotations

from typing import Any

from icv_permits.core.i18n import N_
from icv_permits.core.pack import Pack
from icv_permits.core.visible import t, visible
from icv_permits.present.report import (
    COMPARISON,
    CONFIDENCE,
    SYMBOL,
    article,
    show_value,
)


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


# ---------------------------------------------------------------- one page per rule


def _source_facts(src: Any) -> dict[str, Any]:
    """A source entry's JSON, whatever fields the pack schema gives it (publisher or issuer, date,
    effective date, address or url and why none is public)."""
    return src.model_dump(mode="json") if src is not None else {}


def _note(obj: Any, lang: str) -> str | None:
    """A rule's note(s) on its confidence, in ``lang`` (a text, a list of texts, or nothing)."""
    out = []
    for name in ("notes", "note", "why"):
        v = getattr(obj, name, None)
        for item in v if isinstance(v, list) else [v]:
            if item is None:
                continue
            out.append(item(lang) if callable(item) else str(item))
    return " ".join(out) or None


def _squeeze(text: str) -> str:
    """A line built of optional parts without the double spaces an empty part leaves."""
    import re

    return re.sub(r"(?<=\S) {2,}(?=\S)", " ", text)


def _citation_line(c: Any, lang: str) -> str:
    where = article(c.article, lang) if c.article else ""
    loc = c.where(lang) or ""
    return " ".join(x for x in (c.source, where, loc) if x)


def page_json(page: Any) -> dict[str, Any]:
    """A rule page as JSON (``rules show --format json``): the rule's catalogue entry, its source,
    its parameters with their dated values, its reasons and messages, code, cases and tests."""
    pack, r = page.pack, page.rule
    return {
        "pack_id": pack.id,
        "pack_revision": pack.revision,
        "rule": r.model_dump(mode="json"),
        "source": _source_facts(pack.sources.get(r.citation.source)) or None,
        "parameters": [pack.parameters[n].model_dump(mode="json") for n in r.params if n in pack.parameters],
        "parameter_sources": {v.citation.source: _source_facts(pack.sources.get(v.citation.source)) or None
                              for n in r.params if n in pack.parameters for v in pack.parameters[n].values},
        "reasons": {reason: (m.model_dump(mode="json") if (m := pack.message(r.id, reason)) else None) for reason in page.reasons},
        "code": page.code.to_json() if page.code else None,
        "pack_cases": None if page.pack_cases is None else [{"file": f, "name": n, "expect": e} for f, n, e in page.pack_cases],
        "project_tests": None if page.project_tests is None else [x.to_json() for x in page.project_tests],
    }


def _page_parts(page: Any, lang: str, md: bool) -> list[tuple[str, list[str]]]:
    """The page as (heading, lines) sections; each value escaped for the medium (``md``: markdown)."""
    from icv_permits.core.visible import markdown

    esc = markdown if md else visible
    pack, r = page.pack, page.rule
    c = r.citation
    src = pack.sources.get(c.source)
    facts = _source_facts(src)

    def L(msgid: str, **kw: Any) -> str:
        return t(lang, msgid, **{k: esc(v) for k, v in kw.items()})

    head = [
        L(N_("Title (zh): {title}"), title=r.title("zh")),
        L(N_("Title (en): {title}"), title=r.title("en")),
        L(N_("Pack: {pack} (revision {revision})"), pack=pack.id, revision=pack.revision[:19]),
        L(N_("Requirement: {text}"), text=r.requirement(lang)),
        L(N_("Applies to: {activities}"), activities=show_value([a.value for a in r.applies_to.activities], pack, lang)),
    ]
    if r.applies_to.requires:
        head.append(L(N_("Only when: {conditions}"), conditions=", ".join(r.applies_to.requires)))
    if r.applies_to.unless:
        head.append(L(N_("Not when: {conditions}"), conditions=", ".join(r.applies_to.unless)))
    head.append(t(lang, N_("Severity: {severity}"), severity=t(lang, N_("blocking")) if r.severity.value == "blocking" else t(lang, N_("advisory"))))
    head.append(t(lang, N_("Confidence: {confidence}"), confidence=t(lang, CONFIDENCE[r.confidence.value])))
    why = _note(r, lang) or (c.note(lang) if c.note else None)
    if why:
        head.append(L(N_("Why: {note}"), note=why))
    if not r.enabled:
        head.append(t(lang, N_("Switched off in this pack.")))
    head.append(L(N_("Remedy: {remedy}"), remedy=r.remedy(lang)))

    law = [L(N_("Source: {source} {title}"), source=c.source, title=src.title(lang) if src else "—")]
    if c.article:
        law.append(L(N_("Article: {article}"), article=article(c.article, lang)))
    if c.locator:
        law.append(L(N_("Seen in: {locator}"), locator=c.where(lang)))
    law.append(L(N_("Quoted: “{quote}”"), quote=c.quote) if c.quote else t(lang, N_("Quoted: — (no words of the source are quoted)")))
    if c.note:
        law.append(L(N_("Note: {note}"), note=c.note(lang)))
    publisher = facts.get("publisher") or facts.get("issuer")
    if publisher:
        law.append(L(N_("Publisher: {publisher}"), publisher=publisher))
    if facts.get("date"):
        law.append(L(N_("Dated: {date}"), date=facts["date"]))
    if facts.get("effective"):
        law.append(L(N_("In force from: {date}"), date=facts["effective"]))
    address = facts.get("address") or facts.get("url")
    if address:
        law.append(t(lang, N_("Address: {address}"), address=f"<{visible(address)}>" if md else visible(address)))
    else:
        why_none = facts.get("why") or facts.get("address_note")
        why_none = why_none.get(lang) if isinstance(why_none, dict) else why_none
        law.append(L(N_("Address: none public ({why})"), why=why_none or "—"))
    if src:
        law.append(L(N_("What we have of the source: {what}"), what=src.what_we_have(lang)))

    params: list[str] = []
    for name in r.params:
        p = pack.parameters.get(name)
        if p is None:
            params.append(L(N_("Parameter {id}: not defined in this pack"), id=name))
            continue
        params.append(L(N_("Parameter {id}: {title}"), id=name, title=p.title(lang)))
        for v in p.values:
            cmp = f"{t(lang, COMPARISON[p.comparison.value])} ({SYMBOL[p.comparison.value]})" if p.comparison else ""
            vsrc = pack.sources.get(v.citation.source)
            params.append("  " + ("- " if md else "") + _squeeze(L(
                N_("from {date}: {comparison} {value} {unit} ({confidence}); cited: {citation}{quote}"),
                date=v.effective_from.isoformat(), comparison=cmp, value=show_value(v.value, pack, lang), unit=p.unit or "",
                confidence=t(lang, CONFIDENCE[v.confidence.value]),
                citation=_citation_line(v.citation, lang) + (f" — {vsrc.title(lang)}" if vsrc else ""),
                quote=f" “{v.citation.quote}”" if v.citation.quote else "")))
    if not params:
        params.append(t(lang, N_("It reads no parameter.")))

    reasons = []
    for reason in page.reasons:
        m = pack.message(r.id, reason)
        reasons.append(L(N_("{reason}: {zh} / {en}"), reason=reason, zh=m.zh if m else "—", en=m.en if m else "—"))

    code = []
    if page.code is None:
        code.append(t(lang, N_("No check function is registered for this rule.")))
    else:
        loc = f"{page.code.file}:{page.code.line}"
        if md:
            loc = f"[{loc}](../../../{page.code.file}#L{page.code.line})"
        code.append(t(lang, N_("Check: {function} in {location}"), function=f"{page.code.module}:{page.code.function}", location=loc))

    cases = [L(N_("{file}: {name} → {expect}"), file=f, name=n, expect=e) for f, n, e in page.pack_cases or ()]
    if page.pack_cases is None:
        cases.append(t(lang, N_("The pack's test files cannot be read; `icv-permits rules test` names the problem.")))
    elif not cases:
        cases.append(t(lang, N_("No case of the pack's tests expects an outcome of this rule.")))

    tests = []
    if page.project_tests is None:
        tests.append(t(lang, N_("The project's tests folder is not here (an installed package): not searched.")))
    else:
        for x in page.project_tests:
            where = f"{x.file}::{x.name}" if x.name else x.file
            if md:
                where = f"[{where}](../../../{x.file}#L{x.line})"
            tests.append(t(lang, N_("{test} (line {line})"), test=where, line=x.line))
        if not tests:
            tests.append(t(lang, N_("No project test names this rule.")))

    return [
        ("", head),
        (t(lang, N_("Law")), law),
        (t(lang, N_("Parameters over time")), params),
        (t(lang, N_("Reason codes and messages")), reasons),
        (t(lang, N_("Code")), code),
        (t(lang, N_("Pack test cases")), cases),
        (t(lang, N_("Project tests")), tests),
    ]


def rule_page_text(page: Any, lang: str) -> str:
    """``rules show``: the rule's page as text."""
    lines = [f"{visible(page.rule.id)} {visible(page.rule.title(lang))}"]
    for heading, body in _page_parts(page, lang, md=False):
        if heading:
            lines += ["", heading]
            lines += ["  " + b for b in body]
        else:
            lines += body
    return "\n".join(lines) + "\n"


def rule_page_markdown(page: Any, lang: str) -> str:
    """A generated ``docs/rules/<pack>/<ID>.md``: the same page as Markdown (deterministic)."""
    from icv_permits.core.visible import markdown

    back = t(lang, N_("All rules"))
    lines = [f"# {markdown(page.rule.id)} {markdown(page.rule.title(lang))}", "",
             t(lang, N_("Generated by `icv-permits rules docs`; do not edit (edit the pack, then regenerate).")), "",
             f"[{back}](../README.md)", ""]
    for heading, body in _page_parts(page, lang, md=True):
        if heading:
            lines += [f"## {heading}", ""]
            lines += [b if b.startswith("  - ") else f"- {b}" for b in body]
        else:
            lines += [f"- {b}" for b in body]
        lines.append("")
    return "\n".join(lines)


def rules_index_markdown(pages_by_pack: dict[str, list[Any]], lang: str) -> str:
    """``docs/rules/README.md``: every rule of every pack, each linked to its page."""
    from icv_permits.core.visible import markdown

    title = t(lang, N_("Rules, one page each"))
    lines = [f"# {title}", "",
             t(lang, N_("Generated by `icv-permits rules docs`; do not edit (edit the pack, then regenerate).")), ""]
    for pack_id in sorted(pages_by_pack):
        pages = pages_by_pack[pack_id]
        if not pages:
            continue
        pack = pages[0].pack
        lines += [f"## {markdown(pack.id)} — {markdown(pack.meta.title(lang))}", "",
                  t(lang, N_("Revision {revision}"), revision=pack.revision), "",
                  "| " + " | ".join(t(lang, h) for h in (N_("Rule"), N_("Title"), N_("Confidence"), N_("Severity"), N_("Source"))) + " |",
                  "| --- | --- | --- | --- | --- |"]
        for p in pages:
            r = p.rule
            sev = t(lang, N_("blocking")) if r.severity.value == "blocking" else t(lang, N_("advisory"))
            off = " (" + t(lang, N_("off")) + ")" if not r.enabled else ""
            lines.append(f"| [{markdown(r.id)}]({pack.id}/{r.id}.md) | {markdown(r.title(lang))}{off} | {t(lang, CONFIDENCE[r.confidence.value])} | "
                         f"{sev} | {markdown(_citation_line(r.citation, lang))} |")
        lines.append("")
    return "\n".join(lines)


def rules_docs(pages_by_pack: dict[str, list[Any]], lang: str) -> dict[str, str]:
    """Every generated file, ``{relative path: text}``: an index and one page per rule and pack."""
    files = {"README.md": rules_index_markdown(pages_by_pack, lang)}
    for pack_id, pages in pages_by_pack.items():
        for p in pages:
            files[f"{pack_id}/{p.rule.id}.md"] = rule_page_markdown(p, lang)
    return files


# ---------------------------------------------------------------- rules diff


def diff_json(d: Any) -> dict[str, Any]:
    return d.to_json()


def _short(value: Any) -> str:
    """A changed value on one line: JSON for anything not text, cut at 200 characters."""
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return visible(text if len(text) <= 200 else text[:199] + "…")


def _changes(lines: list[str], changes: Any, lang: str, indent: str = "    ") -> None:
    for c in changes:
        lines.append(indent + t(lang, N_("{field}: {before} → {after}"), field=c.field, before=_short(c.before), after=_short(c.after)))


def _value_citation(v: dict[str, Any] | None) -> str:
    if not v:
        return "—"
    c = v.get("citation") or {}
    loc = c.get("locator")
    loc = loc.get("en") if isinstance(loc, dict) else loc
    return " ".join(str(x) for x in (c.get("source"), c.get("article"), loc) if x)


def diff_text(d: Any, lang: str) -> str:
    """``rules diff`` as text: a heading per part of the pack, each entry added, removed or changed
    with the fields that changed (before → after); each dated parameter value with its citation."""
    lines = [t(lang, N_("Pack A: {pack} (revision {revision})"), pack=d.a_id, revision=d.a_revision),
             t(lang, N_("Pack B: {pack} (revision {revision})"), pack=d.b_id, revision=d.b_revision)]
    if d.identical:
        lines.append(t(lang, N_("The packs are identical.")))
        return "\n".join(lines) + "\n"
    if d.meta:
        lines += ["", t(lang, N_("Pack (pack.yaml) changed:"))]
        _changes(lines, d.meta, lang, "  ")
    if d.rules:
        lines += ["", t(lang, N_("Rules:"))]
        for rid, r in d.rules.added.items():
            lines.append("  " + t(lang, N_("added {id}: {title}"), id=rid, title=(r.get("title") or {}).get(lang, "")))
        for rid, r in d.rules.removed.items():
            lines.append("  " + t(lang, N_("removed {id}: {title}"), id=rid, title=(r.get("title") or {}).get(lang, "")))
        for rid, ch in d.rules.changed.items():
            lines.append("  " + t(lang, N_("changed {id}:"), id=rid))
            _changes(lines, ch, lang)
    p = d.parameters
    if p:
        lines += ["", t(lang, N_("Parameters:"))]
        for pid in p.added:
            lines.append("  " + t(lang, N_("added {id}"), id=pid))
            for v in p.added[pid].get("values", []):
                lines.append("    " + t(lang, N_("from {date}: {value} — cited: {citation}"), date=v["effective_from"], value=_short(v.get("value")),
                                        citation=_value_citation(v)))
        for pid in p.removed:
            lines.append("  " + t(lang, N_("removed {id}"), id=pid))
        for pid in p.changed:
            lines.append("  " + t(lang, N_("changed {id}:"), id=pid))
            _changes(lines, p.fields.get(pid, ()), lang)
            for v in p.values.get(pid, ()):
                if v.change == "added":
                    lines.append("    " + t(lang, N_("value from {date} added: {value} — cited: {citation}"), date=v.effective_from,
                                            value=_short(v.after.get("value")), citation=_value_citation(v.after)))
                elif v.change == "removed":
                    lines.append("    " + t(lang, N_("value from {date} removed: {value} — cited: {citation}"), date=v.effective_from,
                                            value=_short(v.before.get("value")), citation=_value_citation(v.before)))
                else:
                    lines.append("    " + t(lang, N_("value from {date} changed — cited before: {before}; after: {after}"), date=v.effective_from,
                                            before=_value_citation(v.before), after=_value_citation(v.after)))
                    _changes(lines, v.fields, lang, "      ")
    for heading, part in ((N_("Sources:"), d.sources), (N_("Sections:"), d.sections),
                          (N_("Common messages:"), d.common_messages), (N_("Vocabulary:"), d.vocabulary)):
        if not part:
            continue
        lines += ["", t(lang, heading)]
        for key in part.added:
            lines.append("  " + t(lang, N_("added {id}"), id=key))
        for key in part.removed:
            lines.append("  " + t(lang, N_("removed {id}"), id=key))
        for key, ch in part.changed.items():
            lines.append("  " + t(lang, N_("changed {id}:"), id=key))
            _changes(lines, ch, lang)
    return "\n".join(lines) + "\n"
