"""What changed between two rule packs: the review a maintainer does before a new pack revision.

Pure: two built :class:`~icv_permits.core.pack.Pack` objects in, a :class:`PackDiff` out. Nothing
here knows which fields a rule has: every entry is compared field by field over its JSON form
(nested mappings flattened to dotted paths such as ``citation.locator.zh``), so a field a pack
schema gains later is compared too, without a change here. A parameter's dated values are compared
by their effective date, each with the citation it carries, so a reviewer sees which dated value
moved and on what authority.

``rules diff`` renders this (``present/rules.py``); ``audit replay --pack`` then shows what the
changes do to decisions already made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from icv_permits.core.pack import Pack


@dataclass(frozen=True)
class FieldChange:
    field: str  # dotted path inside the entry (``confidence``, ``citation.locator.zh``)
    before: Any  # JSON value; None when the field was absent
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class ValueChange:
    """One dated value of a parameter: added, removed or changed (``fields``), with both sides."""

    effective_from: str
    change: str  # added | removed | changed
    before: dict[str, Any] | None  # the dated value as JSON (value, citation, confidence)
    after: dict[str, Any] | None
    fields: tuple[FieldChange, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"effective_from": self.effective_from, "change": self.change, "before": self.before, "after": self.after,
                "fields": [f.to_json() for f in self.fields]}


@dataclass(frozen=True)
class EntryDiff:
    """The entries of one part of a pack (rules, sources…) added, removed and changed, by key."""

    added: dict[str, Any] = field(default_factory=dict)  # key → the entry as JSON
    removed: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, tuple[FieldChange, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed,
                "changed": {k: [c.to_json() for c in v] for k, v in self.changed.items()}}


@dataclass(frozen=True)
class ParamDiff:
    added: dict[str, Any] = field(default_factory=dict)
    removed: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, tuple[FieldChange, ...]] = field(default_factory=dict)  # title, unit, kind, comparison
    values: dict[str, tuple[ValueChange, ...]] = field(default_factory=dict)  # parameter → its dated values changed

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.fields or self.values)

    @property
    def changed(self) -> list[str]:
        return sorted(set(self.fields) | set(self.values))

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed,
                "changed": {k: {"fields": [c.to_json() for c in self.fields.get(k, ())],
                                "values": [v.to_json() for v in self.values.get(k, ())]} for k in self.changed}}


PARTS = ("meta", "rules", "parameters", "sources", "sections", "common_messages", "vocabulary")


@dataclass(frozen=True)
class PackDiff:
    a_id: str
    a_revision: str
    b_id: str
    b_revision: str
    meta: tuple[FieldChange, ...]
    rules: EntryDiff
    parameters: ParamDiff
    sources: EntryDiff
    sections: EntryDiff
    common_messages: EntryDiff
    vocabulary: EntryDiff

    @property
    def identical(self) -> bool:
        return not (self.meta or self.rules or self.parameters or self.sources or self.sections or self.common_messages or self.vocabulary)

    def to_json(self) -> dict[str, Any]:
        return {
            "a": {"pack_id": self.a_id, "revision": self.a_revision},
            "b": {"pack_id": self.b_id, "revision": self.b_revision},
            "identical": self.identical,
            "meta": [c.to_json() for c in self.meta],
            "rules": self.rules.to_json(),
            "parameters": self.parameters.to_json(),
            "sources": self.sources.to_json(),
            "sections": self.sections.to_json(),
            "common_messages": self.common_messages.to_json(),
            "vocabulary": self.vocabulary.to_json(),
        }


_ABSENT = object()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON value as ``{dotted path: leaf}``: mappings are walked, lists and scalars are leaves
    (a list is compared whole: a reordered list of activities is a change worth seeing)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k in sorted(value, key=str):
            out.update(flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def field_changes(before: Any, after: Any) -> tuple[FieldChange, ...]:
    a, b = flatten(before), flatten(after)
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, _ABSENT), b.get(key, _ABSENT)
        if _ABSENT in (va, vb) and (va if vb is _ABSENT else vb) in (None, {}, []):
            continue  # a mapping that became null or empty: its leaves' changes say it already
        if va != vb:
            out.append(FieldChange(key, None if va is _ABSENT else va, None if vb is _ABSENT else vb))
    return tuple(out)


def _dump(obj: Any) -> Any:
    return obj.model_dump(mode="json", exclude_defaults=False) if hasattr(obj, "model_dump") else obj


def diff_entries(a: dict[str, Any], b: dict[str, Any]) -> EntryDiff:
    ja = {k: _dump(v) for k, v in a.items()}
    jb = {k: _dump(v) for k, v in b.items()}
    changed = {}
    for key in sorted(set(ja) & set(jb)):
        ch = field_changes(ja[key], jb[key])
        if ch:
            changed[key] = ch
    return EntryDiff(added={k: jb[k] for k in sorted(set(jb) - set(ja))}, removed={k: ja[k] for k in sorted(set(ja) - set(jb))}, changed=changed)


def diff_parameters(a: Pack, b: Pack) -> ParamDiff:
    ja = {k: v.model_dump(mode="json") for k, v in a.parameters.items()}
    jb = {k: v.model_dump(mode="json") for k, v in b.parameters.items()}
    fields: dict[str, tuple[FieldChange, ...]] = {}
    values: dict[str, tuple[ValueChange, ...]] = {}
    for pid in sorted(set(ja) & set(jb)):
        pa, pb = ja[pid], jb[pid]
        ch = field_changes({k: v for k, v in pa.items() if k != "values"}, {k: v for k, v in pb.items() if k != "values"})
        if ch:
            fields[pid] = ch
        va = {v["effective_from"]: v for v in pa["values"]}
        vb = {v["effective_from"]: v for v in pb["values"]}
        vch = []
        for d in sorted(set(va) | set(vb)):
            if d not in vb:
                vch.append(ValueChange(d, "removed", va[d], None))
            elif d not in va:
                vch.append(ValueChange(d, "added", None, vb[d]))
            else:
                fc = field_changes(va[d], vb[d])
                if fc:
                    vch.append(ValueChange(d, "changed", va[d], vb[d], fc))
        if vch:
            values[pid] = tuple(vch)
    return ParamDiff(added={k: jb[k] for k in sorted(set(jb) - set(ja))}, removed={k: ja[k] for k in sorted(set(ja) - set(jb))},
                     fields=fields, values=values)


def diff_packs(a: Pack, b: Pack) -> PackDiff:
    """Everything that differs between pack ``a`` (before) and pack ``b`` (after)."""
    meta_a = {k: v for k, v in a.meta.model_dump(mode="json").items()}
    meta_b = {k: v for k, v in b.meta.model_dump(mode="json").items()}
    return PackDiff(
        a.id, a.revision, b.id, b.revision,
        meta=field_changes(meta_a, meta_b),
        rules=diff_entries(a.rules, b.rules),
        parameters=diff_parameters(a, b),
        sources=diff_entries(a.sources, b.sources),
        sections=diff_entries(a.sections, b.sections),
        common_messages=diff_entries(a.common_messages, b.common_messages),
        vocabulary=diff_entries(a.vocabulary, b.vocabulary),
    )
