"""Which application fields a rule pack asks for, from the ``fields:`` its rules declare.

Each rule of a pack may list the application fields it judges (``fields:`` in ``rules.yaml``), as
paths in the application document with ``[]`` for the items of a list: ``vehicles[].roof_sign_lamp``,
``entity.operating_qualification`` (a path naming an object or a list covers everything beneath
it). From these declarations, the pack's ``applies_to`` and the application model, this module
says which fields an application of a given activity is asked for, and which rules judge a field.
The guided application (``tui/``) asks exactly this; ``rules lint`` checks that every declared
path exists in the model.

A field is asked when

* an enabled rule that applies to the activity (with the pack's ``activity_implies``) and to the
  draft's conditions declares it; or
* it names a condition (``requires``/``unless``) of an enabled rule that applies to the activity:
  the answer decides whether that rule applies (``modifiers.night`` for VEH-09); or
* the model requires it (a field without a default, under objects and lists that are required or
  asked themselves: an entity's name, an insurance policy's number once policies are asked); or
* no rule of the pack declares it at all (a record the rules do not judge, such as the application
  number or a contact phone) and the object or list holding it is asked.

Pure: no file, clock or environment; imports only the pack schema and the application model.
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel

from icv_permits.core.model.application import Activity, Application, Modifiers
from icv_permits.core.pack import Pack, RuleDef, applies

ROOT = ""

CONDITION_FIELDS: dict[str, str] = {
    **{name: f"modifiers.{name}" for name in Modifiers.model_fields},
    "carries_passengers": "operations.carries_passengers",
    "carries_goods": "operations.carries_goods",
    "fee_charged": "operations.fee_charged",
    "connected_remote_control": "vehicles[].connected_remote_control",
    # renewal_verified: the claim (modifiers.renewal) backed by an earlier notice; the engine decides it
    # from the history, so a draft never has it and the fields it would spare are always asked
    "renewal_verified": "modifiers.renewal",
    # on_record: the regulator's records are given (a submission under review); no field holds it
}
"""The application field behind each condition a rule's ``requires``/``unless`` may name."""


@dataclass(frozen=True)
class Node:
    """A place in the application document: a field, an object or a list (its items' fields are
    ``list[].name``)."""

    path: str
    parent: str  # ROOT for a top-level field
    required: bool  # required in its parent (no default)


def _unwrap(annotation) -> tuple[object, bool]:
    """(the type inside ``X | None`` / ``Annotated[X, …]`` / ``list[X]``, whether it was a list)."""
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, is_list
            annotation = args[0]
        elif origin is list:
            annotation, is_list = typing.get_args(annotation)[0], True
        else:
            return annotation, is_list


def _walk(model: type[BaseModel], prefix: str, parent: str, out: dict[str, Node]) -> None:
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        out[path] = Node(path, parent, info.is_required())
        inner, is_list = _unwrap(info.annotation)
        child = f"{path}[]" if is_list else path
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            _walk(inner, child, path, out)
        elif typing.get_origin(inner) is dict:
            key = typing.get_args(inner)[0]
            if isinstance(key, type) and issubclass(key, enum.Enum):  # materials: one field per member
                for member in key:
                    out[f"{child}.{member.value}"] = Node(f"{child}.{member.value}", path, False)


@lru_cache(maxsize=1)
def model_nodes() -> dict[str, Node]:
    """Every field, object and list of the application model, by path (``[]`` for list items)."""
    out: dict[str, Node] = {}
    _walk(Application, ROOT, ROOT, out)
    return out


def generic(path: str) -> str:
    """``vehicles[2].vin`` → ``vehicles[].vin``."""
    import re

    return re.sub(r"\[\d+\]", "[]", path)


def path_exists(path: str) -> bool:
    return path in model_nodes()


def _under(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + ".") or path.startswith(ancestor + "[]")


def covers(declared: str, path: str) -> bool:
    """Whether a declared path covers a field: the same path, one beneath it, or one above it
    (a field that holds what the rule judges, such as a list of records typed as one answer)."""
    return _under(path, declared) or _under(declared, path)


def condition_fields(rule: RuleDef) -> list[str]:
    return [CONDITION_FIELDS[c] for c in (*rule.applies_to.requires, *rule.applies_to.unless) if c in CONDITION_FIELDS]


def for_activity(rule: RuleDef, activity: Activity, pack: Pack) -> bool:
    """Whether a rule applies to ``activity`` under some conditions (its own ``requires`` met, none
    of its ``unless``)."""
    return applies(rule, activity, frozenset(rule.applies_to.requires) - set(rule.applies_to.unless), pack)


def draft_conditions(draft: dict) -> frozenset[str]:
    """The conditions of a draft (a dict that may not validate yet), as ``engine.conditions_of``
    computes them for an application; ``on_record`` never holds for an applicant's draft."""
    conds: set[str] = set()
    mods = draft.get("modifiers")
    if isinstance(mods, dict):
        conds |= {name for name in Modifiers.model_fields if mods.get(name) is True}
    ops = draft.get("operations")
    if isinstance(ops, dict):
        conds |= {name for name in ("carries_passengers", "carries_goods", "fee_charged") if ops.get(name) is True}
    vehicles = draft.get("vehicles")
    if isinstance(vehicles, list) and any(isinstance(v, dict) and v.get("connected_remote_control") is True for v in vehicles):
        conds.add("connected_remote_control")
    return frozenset(conds)


def activity_from(value: object) -> Activity | None:
    try:
        return Activity(value) if isinstance(value, str) else None
    except ValueError:
        return None


def rules_judging(pack: Pack, path: str, activity: Activity | None = None) -> tuple[str, ...]:
    """The enabled rules that declare a field (or name it as a condition), in pack order; with an
    activity, only those that apply to it under some conditions."""
    path = generic(path)
    out = []
    for rule in pack.rules.values():
        if not rule.enabled or (activity is not None and not for_activity(rule, activity, pack)):
            continue
        if any(covers(d, path) for d in rule.fields) or path in condition_fields(rule):
            out.append(rule.id)
    return tuple(out)


_ASKED: dict[tuple[str, Activity | None, frozenset[str]], frozenset[str]] = {}


def asked_paths(pack: Pack, activity: Activity | None, conditions: frozenset[str] = frozenset()) -> frozenset[str]:
    """The paths (fields, objects and lists, ``[]`` for list items) an application of ``activity``
    with ``conditions`` is asked for. Without an activity, what every activity is asked for."""
    key = (pack.revision, activity, conditions)
    if key not in _ASKED:
        if activity is None:
            each = [asked_paths(pack, a, conditions) for a in Activity]
            _ASKED[key] = frozenset.intersection(*each)
        else:
            _ASKED[key] = _asked(pack, activity, conditions)
    return _ASKED[key]


def _asked(pack: Pack, activity: Activity, conditions: frozenset[str]) -> frozenset[str]:
    nodes = model_nodes()
    declared_anywhere = [d for r in pack.rules.values() for d in (*r.fields, *condition_fields(r))]
    direct: set[str] = set()
    for rule in pack.rules.values():
        if not rule.enabled or not for_activity(rule, activity, pack):
            continue
        direct.update(condition_fields(rule))
        if applies(rule, activity, conditions, pack):
            direct.update(p for p in nodes if any(_under(p, d) for d in rule.fields))
    asked = set(direct)
    for p in direct:  # the objects and lists holding an asked field are asked
        parent = nodes[p].parent
        while parent:
            asked.add(parent)
            parent = nodes[parent].parent
    for p, node in nodes.items():  # parents come before their fields
        if p in asked:
            continue
        if node.parent == ROOT or node.parent in asked:
            record = not any(covers(d, p) for d in declared_anywhere)
            if node.required or record:
                asked.add(p)
    return frozenset(asked)
