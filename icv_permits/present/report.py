"""Rendering a decision for people (text, markdown) and programs (JSON), in Chinese or English.

The decision itself is language-neutral: reason codes and values. Rule messages and remedies come
from the rule pack (so a pack maintainer can fix a wording), interface strings from the gettext
catalogue ``report``. Nothing here decides anything.

What the applicant wrote (names, references, values, file names) reaches the text and markdown
reports only through :mod:`icv_permits.core.visible`: as values of messages (its ``t``), and
markdown-escaped in the markdown report; the JSON report keeps the exact text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from icv_permits.core.engine.decision import Decision, Finding, Outcome, Threshold
from icv_permits.core.i18n import N_
from icv_permits.core.i18n import t as exact_t
from icv_permits.core.pack import Pack
from icv_permits.core.visible import markdown, t, visible

# ---------------------------------------------------------------- vocabulary of the interface

COMPARISON = {
    "ge": N_("at least"),
    "gt": N_("more than"),
    "le": N_("at most"),
    "lt": N_("less than"),
    "eq": N_("exactly"),
    "in": N_("one of"),
    "not_in": N_("none of"),
}
SYMBOL = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "eq": "=", "in": "∈", "not_in": "∉"}
UNITS = {
    "h": N_("h"),
    "km": N_("km"),
    "yuan": N_("yuan"),
    "month": N_("months"),
    "day": N_("days"),
    "year": N_("years"),
    "s": N_("s"),
    "vehicle": N_("vehicles"),
    "member": N_("members"),
    "case": N_("cases"),
    "cycle": N_("scoring cycles"),
    "km/h": N_("km/h"),
}
EXCLUSIONS = {
    "manual_mode": N_("manual mode"),
    "section_not_applied": N_("section not applied for"),
    "no_valid_notice": N_("no valid road-test notice"),
    "implausible_speed": N_("impossible average speed"),
    "overlap": N_("overlapping an earlier trip"),
}
BAD_ROWS = {
    "missing_field": N_("missing field"),
    "bad_time": N_("bad time"),
    "bad_number": N_("bad number"),
    "bad_value": N_("value not allowed"),
    "end_before_start": N_("ends before it starts"),
    "negative_distance": N_("negative distance"),
    "distance_too_large": N_("distance too large"),
    "impossible_speed": N_("impossible average speed"),
    "unknown_vin": N_("unknown VIN"),
    "unknown_section": N_("unknown section"),
    "duplicate_trip_id": N_("duplicate trip ID"),
    "malformed_row": N_("malformed row"),
}
VERDICTS = {
    "compliant": N_("COMPLIANT"),
    "non_compliant": N_("NON-COMPLIANT"),
    "incomplete": N_("INCOMPLETE"),
}


def verdict_text(lang: str, verdict: str | None) -> str:
    """A verdict code as shown (``—`` when there is none)."""
    return t(lang, VERDICTS[verdict]) if verdict in VERDICTS else (verdict or "—")


OUTCOMES = {
    "pass": N_("pass"),
    "fail": N_("FAIL"),
    "warn": N_("advisory"),
    "missing": N_("missing"),
    "not_applicable": N_("not applicable"),
    "not_evaluated": N_("not evaluated"),
}
CONFIDENCE = {
    "confirmed": N_("confirmed"),
    "national-basis": N_("national basis"),
    "unconfirmed": N_("unconfirmed"),
}
KINDS = {
    "application": N_("Application"),
    "entity": N_("Entity"),
    "section": N_("Section"),
    "driver": N_("Driver"),
    "vehicle": N_("Vehicle"),
}
MARK = {"pass": "✓", "fail": "✗", "warn": "!", "missing": "?", "not_applicable": "–", "not_evaluated": "·"}


def _sep(lang: str) -> str:
    return "、" if lang == "zh" else ", "


def show_value(value: Any, pack: Pack, lang: str) -> str:
    """A value as people read it: vocabulary codes translated, lists joined, booleans worded."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return t(lang, N_("yes") if value else N_("no"))
    if isinstance(value, list):
        return _sep(lang).join(show_value(v, pack, lang) for v in value) or "—"
    if isinstance(value, dict):
        return _sep(lang).join(f"{k}={show_value(v, pack, lang)}" for k, v in value.items())
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    text = str(value)
    voc = pack.vocabulary.get(text)
    return voc(lang) if voc is not None else text


def show_threshold(th: Threshold, pack: Pack, lang: str) -> str:
    """``不少于 240 小时`` / ``at least 240 h``."""
    words = t(lang, COMPARISON[th.comparison.value]) if th.comparison else ""
    unit = t(lang, UNITS[th.unit]) if th.unit in UNITS else (th.unit or "")
    return " ".join(x for x in (words, show_value(th.value, pack, lang), unit) if x)


def message(f: Finding, pack: Pack, lang: str, exact: bool = False) -> str:
    """The finding's message, rendered from its reason code and values: each value made
    :func:`~icv_permits.core.visible.visible`, unless ``exact`` (the JSON report)."""
    shown = str if exact else visible
    template = pack.message(f.rule_id, f.reason)
    values: dict[str, str] = {k: shown(show_value(v, pack, lang)) for k, v in f.values.items()}
    values["observed"] = shown(show_value(f.observed, pack, lang))
    values["threshold"] = shown(show_threshold(f.threshold, pack, lang)) if f.threshold else "—"
    values["field_path"] = shown(f.field or "—")
    if template is None:
        return f"{f.reason} {shown(json.dumps(f.values, ensure_ascii=False, sort_keys=True))}"
    try:
        return template(lang).format_map(_Defaulting(values))
    except (ValueError, IndexError):  # a malformed template in a pack: show the raw reason
        return f"{f.reason} {shown(json.dumps(f.values, ensure_ascii=False, sort_keys=True))}"


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return "—"


def remedy(f: Finding, pack: Pack, lang: str, exact: bool = False) -> str | None:
    if f.outcome not in (Outcome.failed, Outcome.warned, Outcome.missing):
        return None
    if f.outcome is Outcome.missing:
        return (exact_t if exact else t)(lang, N_("Add {field} to the application and check again."), field=f.field or "—")
    rule = pack.rules.get(f.rule_id)
    if rule is None:
        return None
    return rule.remedies.get(f.reason, rule.remedy)(lang)


def citation(rule_id: str, pack: Pack, lang: str) -> str:
    rule = pack.rules[rule_id]
    c = rule.citation
    parts = [c.source]
    if c.article:
        parts.append(article(c.article, lang))
    elif c.locator:
        parts.append(c.where(lang) or "")
    return " ".join(parts)


_ARTICLE = re.compile(r"第([零一二三四五六七八九十百]+)条")
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}


def _numeral(s: str) -> int | None:
    """A Chinese numeral below 1,000 (十二, 二十, 一百零五) as an integer."""
    total, digit = 0, None
    for ch in s:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in "十百":
            total += (digit if digit is not None else 1) * (10 if ch == "十" else 100)
            digit = None
        else:
            return None
    return total + (digit or 0)


def article(text: str, lang: str) -> str:
    """An article as the rules number it (``第二条``), and in English as ``Art. 2``; anything the
    pattern does not cover is shown as written."""
    if lang == "zh":
        return text
    m = _ARTICLE.fullmatch(text.strip())
    n = _numeral(m.group(1)) if m else None
    return f"Art. {n}" if n else text


# ---------------------------------------------------------------- grouping


def _groups(decision: Decision) -> list[tuple[str, str, list[Finding]]]:
    """Findings grouped by party (application, entity, each section, driver, vehicle) in order."""
    groups: dict[tuple, tuple[str, str, list[Finding]]] = {}
    for f in decision.findings:
        s = f.subject
        key = (s.kind.value, s.order, s.ref)
        if key not in groups:
            groups[key] = (s.kind.value, " ".join(x for x in (s.ref, s.label) if x), [])
        groups[key][2].append(f)
    return list(groups.values())


def _headline(decision: Decision, pack: Pack, lang: str) -> list[str]:
    c = decision.counts
    reg = decision.registry
    title = (t(lang, N_("icv-permits review report (re-checked against the office's records)")) if reg is not None
             else t(lang, N_("icv-permits pre-check report")))
    lines = [
        title,
        t(
            lang,
            N_("Application {id} · {activity} · as of {as_of}"),
            id=decision.application_id or "—",
            activity=show_value(decision.activity, pack, lang),
            as_of=decision.as_of,
        ),
        t(lang, N_("Rule pack {pack} (revision {revision})"), pack=decision.pack_id, revision=decision.pack_revision[:19]),
        t(
            lang,
            N_("Verdict: {verdict} — {fail} failing, {missing} missing, {warn} advisory, {passed} passed"),
            verdict=t(lang, VERDICTS[decision.verdict.value]),
            fail=c["fail"],
            missing=c["missing"],
            warn=c["warn"],
            passed=c["pass"],
        ),
    ]
    if reg is not None:
        lines.append(t(lang, N_("Notice history from the records ({n} {province} notices on record, read {when}); where the file disagrees, the records win (REC-01)."),
                       n=len(reg.notices), province=pack.home_name(lang), when=reg.read_at))
    return lines


def _evidence_lines(decision: Decision, lang: str) -> list[tuple[str, int]]:
    """``(text, indent)`` lines describing the evidence files and what they added up to."""
    ev = decision.evidence
    if ev is None:
        return []
    out: list[tuple[str, int]] = []
    for f in ev.files:
        out.append((t(lang, N_("{kind} file {path}: {rows} rows, {bad} bad · sha256:{digest}"),
                      kind=t(lang, N_("trip") if f.kind == "trips" else N_("incident")), path=f.path,
                      rows=f.rows, bad=f.bad_rows, digest=f.sha256[:16]), 2))
    if ev.counted_by_reader:
        out.append((t(lang, N_("Counted by the evidence reader (decision format 1): these totals are as recorded; a pack's counting parameters cannot change them.")), 2))
    for v in decision.counted():
        out.append((t(lang, N_("{vin}: counted {trips} trips, {hours} h, {km} km"), vin=v.vin, trips=v.counted.trips,
                      hours=_num(v.counted.hours), km=_num(v.counted.km)), 2))
        for sec in v.by_section:
            out.append((t(lang, N_("section {section}: {trips} trips, {hours} h, {km} km"), section=sec.section,
                          trips=sec.trips, hours=_num(sec.hours), km=_num(sec.km)), 6))
        for e in v.excluded:
            out.append((t(lang, N_("not counted ({reason}): {trips} trips, {hours} h, {km} km"), reason=t(lang, EXCLUSIONS[e.reason.value]),
                          trips=e.trips, hours=_num(e.hours), km=_num(e.km)), 6))
    if ev.bad_row_counts:
        total = sum(ev.bad_row_counts.values())
        counts = _sep(lang).join(f"{t(lang, BAD_ROWS[k])} {n}" for k, n in ev.bad_row_counts.items())
        out.append((t(lang, N_("{total} bad rows skipped (--lenient): {counts}"), total=total, counts=counts), 2))
        for r in ev.bad_rows[:20]:
            out.append((f"{visible(r.file)}:{r.line} {t(lang, BAD_ROWS[r.reason.value])} {visible(r.field)} {visible(r.detail)}".rstrip(), 6))
        if total > 20:
            out.append((t(lang, N_("… the JSON decision lists up to 1000 of them")), 6))
    return out


def _num(d: object) -> str:
    from icv_permits.core.engine.core import format_decimal

    return format_decimal(d) if not isinstance(d, str) else d


def _rule_line(f: Finding, pack: Pack, lang: str) -> str:
    rule = pack.rules[f.rule_id]
    return "{mark} {rid} {title} · {cite} · {conf}".format(
        mark=MARK[f.outcome.value],
        rid=visible(f.rule_id),
        title=visible(rule.title(lang)),
        cite=visible(citation(f.rule_id, pack, lang)),
        conf=t(lang, CONFIDENCE[rule.confidence.value]),
    )


def _details(f: Finding, pack: Pack, lang: str) -> list[str]:
    lines = [message(f, pack, lang)]
    if f.threshold is not None and f.observed is not None:
        th = f.threshold
        unit = t(lang, UNITS[th.unit]) if th.unit in UNITS else (th.unit or "")
        observed = show_value(f.observed, pack, lang)
        lines.append(
            t(
                lang,
                N_("observed: {observed} · required: {required}"),
                # a unit belongs to a number: a date observed against "at most 18 months" is a date
                observed=f"{observed} {unit}" if unit and _is_number(f.observed) else observed,
                required=show_threshold(th, pack, lang),
            )
        )
    if f.field and f.outcome is not Outcome.missing and f.outcome is not Outcome.passed:
        lines.append(t(lang, N_("field: {field}"), field=f.field))
    r = remedy(f, pack, lang)
    if r:
        lines.append(t(lang, N_("remedy: {remedy}"), remedy=r))
    return lines


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


_SHOWN = (Outcome.failed, Outcome.missing, Outcome.warned, Outcome.not_evaluated)


def cells(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1 for ch in text)


_TOKEN = re.compile(r"[\x21-\x7e]+|\s+|.", re.S)  # runs of printable ASCII stay whole; CJK may break anywhere


def wrap(text: str, width: int) -> list[str]:
    """Wrap ``text`` to ``width`` columns, breaking between ASCII words or between CJK characters."""
    lines: list[str] = []
    line, used = "", 0
    for tok in _TOKEN.findall(text):
        if tok.isspace():
            if line:
                line, used = line + " ", used + 1
            continue
        w = cells(tok)
        while w > width:  # a token longer than the line: fold it
            room = width - used
            cut, cw = 0, 0
            while cut < len(tok) and cw + cells(tok[cut]) <= room:
                cw += cells(tok[cut])
                cut += 1
            if cut == 0:
                lines.append(line.rstrip())
                line, used = "", 0
                continue
            lines.append((line + tok[:cut]).rstrip())
            line, used, tok = "", 0, tok[cut:]
            w = cells(tok)
        if used + w > width:
            lines.append(line.rstrip())
            line, used = "", 0
        line, used = line + tok, used + w
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def render_text(decision: Decision, pack: Pack, lang: str, width: int = 80, verbose: bool = False) -> str:
    """The report for a terminal: grouped by party, failures first, wrapped at ``width`` columns.

    Passing rules are listed by ID only, unless ``verbose`` (then every finding is shown in full)."""
    lines: list[str] = []

    def out(text: str, indent: int = 0) -> None:
        lines.extend(" " * indent + part for part in wrap(text, width - indent))

    for line in _headline(decision, pack, lang):
        out(line)
    ev_lines = _evidence_lines(decision, lang)
    if ev_lines:
        lines.append("")
        out(f"── {t(lang, N_('Evidence'))}")
        for text, indent in ev_lines:
            out(text, indent=indent)
    for kind, label, findings in _groups(decision):
        lines.append("")
        out(f"── {t(lang, KINDS[kind])} {visible(label)}".rstrip())
        shown = [f for f in findings if verbose or f.outcome in _SHOWN]
        for f in shown:
            out(_rule_line(f, pack, lang))
            for d in _details(f, pack, lang):
                out(d, indent=4)
        passed = sorted({f.rule_id for f in findings if f.outcome is Outcome.passed} - {f.rule_id for f in shown})
        if passed:
            out(t(lang, N_("✓ passed: {rules}"), rules=" ".join(passed)))
        na = sorted({f.rule_id for f in findings if f.outcome is Outcome.not_applicable})
        if na:
            out(t(lang, N_("– not applicable: {rules}"), rules=" ".join(na)))
    if pack.meta.sample_sections_note and any(f.subject.kind.value == "section" for f in decision.findings):
        lines.append("")
        out(pack.meta.sample_sections_note(lang))
    return "\n".join(lines) + "\n"


def render_markdown(decision: Decision, pack: Pack, lang: str) -> str:
    head = _headline(decision, pack, lang)
    lines = [f"# {_md(head[0])}", "", *(f"- {_md(h)}" for h in head[1:])]
    ev_lines = _evidence_lines(decision, lang)
    if ev_lines:
        lines += ["", f"## {t(lang, N_('Evidence'))}", ""]
        lines += [f"{' ' * (indent - 2)}- {_md(text)}" for text, indent in ev_lines]
    for kind, label, findings in _groups(decision):
        lines += ["", f"## {t(lang, KINDS[kind])} {_md(label)}".rstrip(), ""]
        shown = [f for f in findings if f.outcome in _SHOWN]
        for f in shown:
            lines.append(f"- **{_md(_rule_line(f, pack, lang))}**")
            lines += [f"  - {_md(d)}" for d in _details(f, pack, lang)]
        passed = sorted({f.rule_id for f in findings if f.outcome is Outcome.passed} - {f.rule_id for f in shown})
        if passed:
            lines.append(f"- {_md(t(lang, N_('✓ passed: {rules}'), rules=' '.join(passed)))}")
        na = sorted({f.rule_id for f in findings if f.outcome is Outcome.not_applicable})
        if na:
            lines.append(f"- {_md(t(lang, N_('– not applicable: {rules}'), rules=' '.join(na)))}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """A line of the markdown report: nothing in it is read as markup (:func:`~icv_permits.core.visible.markdown`)."""
    return markdown(text)


def render_json(decision: Decision, pack: Pack, lang: str) -> str:
    """The decision as JSON (``docs/decision-format.md``), each finding with its message in ``lang``."""
    data = decision.to_json_dict()
    data["lang"] = lang
    for f, fd in zip(decision.findings, data["findings"], strict=True):
        fd["message"] = message(f, pack, lang, exact=True)
        fd["remedy"] = remedy(f, pack, lang, exact=True)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def render(decision: Decision, pack: Pack, fmt: str, lang: str, verbose: bool = False) -> str:
    if fmt == "json":
        return render_json(decision, pack, lang)
    if fmt == "markdown":
        return render_markdown(decision, pack, lang)
    return render_text(decision, pack, lang, verbose=verbose)


def rule_ids(findings: Iterable[Finding]) -> list[str]:
    return sorted({f.rule_id for f in findings})
