"""Which field of the form each finding of a check is about, so that it is shown there.

A finding names its subject (the driver, vehicle or section: ``subject.path`` such as
``vehicles[1]``) and, most often, the field it judged (``field``: ``vehicles[1].roof_sign_lamp``,
or an object or list such as ``drivers[0].training`` or ``materials``). The rule declares the fields
it judges (``fields:`` of the pack, see ``icv_permits/core/pack_fields.py``). From these, a finding
is placed on the fields of the form, in this order of preference:

1. the fields under the finding's field that its rule declares (for a missing fact, those of them
   not answered yet): ``materials`` → the materials the rule asks for that are not stated;
2. the nearest field holding the finding's field: ``sections[1]`` → ``sections``;
3. the fields the rule declares, in the subject's item when it has one there;
4. the first field under the finding's field.

The mapping is computed once per check (a dictionary path → findings), so the lines under the
fields and the review's Problem column are read from it without asking the pack again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from icv_permits.core import pack_fields
from icv_permits.services import drafts

from . import fields

if TYPE_CHECKING:
    from icv_permits.core.pack import Pack

ORDER = {"fail": 0, "missing": 1, "warn": 2}


def shown_paths(draft: dict, pack: Pack) -> list[str]:
    """Every field the form asks for this draft, every item of every list, in the steps' order."""
    out: list[str] = []
    seen: set[str] = set()
    for step in fields.STEPS:
        for _h, spec, path in fields.rows(step, draft, pack):
            if spec is not None and path not in seen:
                seen.add(path)
                out.append(path)
    return out


def _under(path: str, node: str) -> bool:
    return path == node or path.startswith((node + ".", node + "["))


_LAST = re.compile(r"(\.[^.\[\]]+|\[\d+\])$")


def _ancestors(path: str):
    while True:
        shorter = _LAST.sub("", path)
        if shorter == path or not shorter:
            return
        path = shorter
        yield path


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def finding_paths(finding, pack: Pack, paths: list[str], path_set: set[str], draft: dict) -> list[str]:
    """The fields of the form a finding is shown at (``[]``: none; it is shown in the findings
    pane only)."""
    rule = pack.rules.get(finding.rule_id)
    declared = list(rule.fields) if rule is not None else []
    target = finding.field or finding.subject.path or ""
    under = [p for p in paths if _under(p, target)] if target else []
    named = [p for p in under if any(pack_fields.covers(d, pack_fields.generic(p)) for d in declared)]
    if named:
        if str(finding.outcome) == "missing":
            empty = [p for p in named if _empty(drafts.get_path(draft, p))]
            return empty or named
        return named
    for up in _ancestors(target) if target else ():
        if up in path_set:
            return [up]
    by_rule = [p for p in paths if any(pack_fields.covers(d, pack_fields.generic(p)) for d in declared)]
    item = finding.subject.path or ""
    if item and "[" in item:
        own = [p for p in by_rule if _under(p, item)]
        if own:
            return own
    if by_rule and not under:
        return by_rule
    return under[:1] or by_rule


@dataclass
class Placed:
    """The findings of a check that need attention, in the pane's order, and where each is shown."""

    findings: list = field(default_factory=list)  # failures first, then missing, then advisory
    paths: list[list[str]] = field(default_factory=list)  # per finding: its fields
    by_path: dict[str, list[int]] = field(default_factory=dict)  # field → indices in findings


def place(result, draft: dict, pack: Pack) -> Placed:
    out = Placed()
    if result is None:
        return out
    paths = shown_paths(draft, pack)
    path_set = set(paths)
    ordered = sorted((f for f in result.decision.findings if str(f.outcome) in ORDER), key=lambda f: ORDER[str(f.outcome)])
    for i, f in enumerate(ordered):
        where = finding_paths(f, result.pack, paths, path_set, draft)
        out.findings.append(f)
        out.paths.append(where)
        for p in where:
            out.by_path.setdefault(p, []).append(i)
    return out


def step_of(path: str) -> tuple[int, str | None, int | None] | None:
    """Where a field is asked: (step index, list path, item index) — ``None`` when no step asks it."""
    generic = pack_fields.generic(path)
    m = re.match(r"^(.*?)\[(\d+)\]", path)
    for i, s in enumerate(fields.STEPS):
        if any(f.path == generic for f in s.fields):
            return i, None, None
        for part in s.lists:
            if generic in part.field_paths() and m:
                return i, part.path, int(m.group(2))
    return None
