"""Drafts of applications, for the terminal app. Service layer: no textual import.

A draft is the application document as a plain dict (what the YAML files hold), possibly
incomplete or with wrong values. This module

- addresses a field of a draft by its path (``vehicles[0].rated_seats``, the same paths the
  loader's problems name) and reads, sets or removes it;
- validates one value against the type of its field in :class:`Application` (so a field can be
  judged as it is typed) and the whole draft (problems located by path);
- saves and opens drafts as YAML files, exports a finished application (the file ``check`` and
  ``submit`` read), and keeps drafts in the store (table ``draft``) — **without** driver ID numbers
  or phone numbers, which the store never holds (docs/store.md): reopening a draft from the store
  asks for them again;
- reads a submission's application document for the regulator's view, masked.

Messages of problems raised here that the ``input`` catalogue does not hold are in the ``tui``
catalogue (the terminal app renders a Problem through both).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from icv_permits.adapters.documents import read_document, validation_problems
from icv_permits.core.canonical import utc_timestamp
from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.model.application import Application
from icv_permits.core.model.ids import (  # PERSONAL_FIELDS: never stored in the store
    PERSONAL_FIELDS,
    mask_document,
)

_SEG = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """``vehicles[0].modes.manual`` → ``["vehicles", 0, "modes", "manual"]``."""
    out: list[str | int] = []
    for name, index in _SEG.findall(path):
        out.append(int(index) if index else name)
    return out


def format_path(parts: list[str | int]) -> str:
    text = ""
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else p)
    return text


_MISSING = object()


def get_path(doc: Any, path: str, default: Any = None) -> Any:
    cur = doc
    for p in parse_path(path):
        if isinstance(p, int):
            if not isinstance(cur, list) or p >= len(cur):
                return default
            cur = cur[p]
        else:
            if not isinstance(cur, dict) or p not in cur:
                return default
            cur = cur[p]
    return cur


def set_path(doc: dict, path: str, value: Any) -> None:
    """Set a value, creating the mappings on the way; ``None`` removes the key (and mappings left
    empty by it). List items must exist already (see :func:`add_item`)."""
    parts = parse_path(path)
    chain: list[tuple[Any, str | int]] = []
    cur: Any = doc
    for p in parts[:-1]:
        chain.append((cur, p))
        if isinstance(p, int):
            cur = cur[p]
        else:
            if not isinstance(cur.get(p), (dict, list)):
                if value is None:
                    return
                cur[p] = {}
            cur = cur[p]
    last = parts[-1]
    if value is None:
        if isinstance(cur, dict):
            cur.pop(last, None)
        for parent, key in reversed(chain):  # drop mappings left empty
            child = parent[key]
            if isinstance(child, dict) and not child and isinstance(key, str):
                parent.pop(key)
            else:
                break
        return
    cur[last] = value


def add_item(doc: dict, list_path: str, item: dict | None = None) -> int:
    """Append an item to the list at ``list_path`` (created if absent); returns its index."""
    lst = get_path(doc, list_path)
    if not isinstance(lst, list):
        lst = []
        set_path(doc, list_path, lst)
    lst.append(item if item is not None else {})
    return len(lst) - 1


def remove_item(doc: dict, list_path: str, index: int) -> None:
    lst = get_path(doc, list_path)
    if isinstance(lst, list) and 0 <= index < len(lst):
        del lst[index]


# ---------------------------------------------------------------- field types


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _bare(tp: Any) -> Any:
    tp = _strip_optional(tp)
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
        tp = _strip_optional(tp)
    return tp


def field_type(path: str) -> Any:
    """The annotation of the field at ``path`` in :class:`Application` (with its constraints)."""
    tp: Any = Application
    for p in parse_path(path):
        base = _bare(tp)
        if isinstance(p, int):
            if typing.get_origin(base) is not list:
                raise KeyError(path)
            tp = typing.get_args(base)[0]
        elif isinstance(base, type) and issubclass(base, BaseModel):
            info = base.model_fields.get(p)
            if info is None:
                raise KeyError(path)
            tp = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        elif typing.get_origin(base) is dict:
            tp = typing.get_args(base)[1]
        else:
            raise KeyError(path)
    return tp


_ADAPTERS: dict[str, TypeAdapter] = {}


def _adapter(path: str) -> TypeAdapter:
    key = re.sub(r"\[\d+\]", "[]", path)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = TypeAdapter(field_type(path))
    return _ADAPTERS[key]


def validate_value(path: str, value: Any) -> Problem | None:
    """Judge one value by its field's type alone (``None``: the field left unset, always fine here;
    whether it is required is the whole draft's business). Returns the first problem, located at
    ``path``, or ``None``."""
    if value is None:
        return None
    try:
        _adapter(path).validate_python(value)
    except ValidationError as exc:
        p = validation_problems(exc)[0]
        loc = path + (("." + p.location) if p.location and not p.location.startswith("[") else p.location)
        return Problem(loc, p.msgid, p.params, p.code)
    except KeyError:
        return Problem(path, N_("unknown field {field}; check the spelling or remove it"), {"field": path}, "unknown_field")
    return None


@dataclass
class DraftStatus:
    """A draft judged as a whole: the application when it validates, else the problems by path."""

    application: Application | None
    problems: list[Problem] = field(default_factory=list)

    def by_path(self) -> dict[str, list[Problem]]:
        out: dict[str, list[Problem]] = {}
        for p in self.problems:
            out.setdefault(p.location, []).append(p)
        return out


def validate_draft(draft: dict) -> DraftStatus:
    try:
        return DraftStatus(Application.model_validate(draft))
    except ValidationError as exc:
        return DraftStatus(None, validation_problems(exc, model=Application))
    except (TypeError, ValueError) as exc:  # not a mapping at all
        return DraftStatus(None, [Problem("", N_("expected a mapping of fields, got {kind_text}"), {"kind_text": type(exc).__name__}, "bad_root")])


# ---------------------------------------------------------------- YAML files


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date,)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def to_yaml(draft: dict) -> str:
    return yaml.safe_dump(_plain(draft), allow_unicode=True, sort_keys=False, width=100)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read (0600): drafts and applications hold ID and phone
    numbers. The mode is set on the open descriptor too, so a file left by an earlier run (or
    created by someone else with wider rights) does not keep them."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
            f.flush()
            os.fsync(fd)
    finally:
        os.close(fd)


def save_yaml(draft: dict, path: str | Path) -> Path:
    """Save a draft as it is (valid or not) as YAML, readable by its owner only (0600, also when a
    file is replaced); written to a temporary file then renamed."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        _write_private(tmp, to_yaml(draft).encode("utf-8"))
        tmp.replace(path)
    except OSError as exc:
        raise InputError([Problem(str(path), N_("cannot write the file: {reason}"), {"reason": exc.strerror or type(exc).__name__}, "write")]) from None
    return path


def open_yaml(path: str | Path) -> dict:
    """A draft or application file, parsed with the loader's limits but not validated."""
    return read_document(path)


def export(draft: dict, path: str | Path) -> Application:
    """Write a finished application: refused (``InputError``) unless the draft validates, so the
    file is one that ``check`` and ``submit`` read."""
    status = validate_draft(draft)
    if status.application is None:
        raise InputError(status.problems)
    save_yaml(draft, path)
    return status.application


# ---------------------------------------------------------------- drafts in the store


def strip_personal(draft: dict) -> tuple[dict, list[str]]:
    """A copy without ID numbers and phone numbers, and the paths removed."""
    out = copy.deepcopy(draft)
    removed: list[str] = []

    def walk(node: Any, parts: list) -> None:
        if isinstance(node, dict):
            for k in list(node):
                if k in PERSONAL_FIELDS and node[k] not in (None, ""):
                    removed.append(format_path(parts + [k]))
                    del node[k]
                else:
                    walk(node[k], parts + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, parts + [i])

    walk(out, [])
    return out, removed


@dataclass
class StoredDraft:
    name: str
    updated_at: str
    actor: str
    activity: str | None
    document: dict
    removed: list[str]


def save_to_store(store, name: str, draft: dict, *, actor: str, clock=None) -> StoredDraft:
    """Save (or replace) a named draft in the store, without personal data."""
    from sqlalchemy import select

    from icv_permits.adapters.store import tables
    from icv_permits.services.precheck import SystemClock

    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InputError([Problem("name", N_("expected text of 1 to {max} characters"), {"max": 200}, "bad_name")])
    doc, removed = strip_personal(draft)
    now = (clock or SystemClock()).now()
    now = dt.datetime.fromisoformat(now.in_timezone("UTC").isoformat())
    text = json.dumps(_plain(doc), ensure_ascii=False, sort_keys=False)
    activity = draft.get("activity") if isinstance(draft.get("activity"), str) else None
    with store.write() as s:
        row = s.exec(select(tables.Draft).where(tables.Draft.name == name)).scalars().first()
        if row is None:
            row = tables.Draft(name=name, created_at=now, updated_at=now, actor=actor[:100], activity=(activity or "")[:40],
                          document=text, removed=json.dumps(removed))
        else:
            row.updated_at, row.actor, row.activity, row.document, row.removed = now, actor[:100], (activity or "")[:40], text, json.dumps(removed)
        s.add(row)
    return StoredDraft(name, utc_timestamp(now), actor, activity, doc, removed)


def list_store_drafts(store) -> list[StoredDraft]:
    from sqlalchemy import select

    from icv_permits.adapters.store import tables

    with store.read() as s:
        rows = s.exec(select(tables.Draft).order_by(tables.Draft.updated_at.desc(), tables.Draft.name)).scalars().all()
        return [StoredDraft(r.name, utc_timestamp(r.updated_at), r.actor, r.activity or None, {}, json.loads(r.removed)) for r in rows]


def open_from_store(store, name: str) -> StoredDraft:
    from sqlalchemy import select

    from icv_permits.adapters.store import tables
    from icv_permits.adapters.store.db import NotFound

    with store.read() as s:
        r = s.exec(select(tables.Draft).where(tables.Draft.name == name)).scalars().first()
        if r is None:
            raise NotFound([Problem(name, N_("no draft of this name in the store"), {}, "no_draft")])
        return StoredDraft(r.name, utc_timestamp(r.updated_at), r.actor, r.activity or None, json.loads(r.document), json.loads(r.removed))


# ---------------------------------------------------------------- the regulator's view


def submission_document(store, sub_id: int) -> dict:
    """The application of a submission's current version as the engine judged it (pseudonymised:
    stand-in ID numbers), masked for display."""
    from sqlalchemy import select

    from icv_permits.adapters.store import tables
    from icv_permits.adapters.store.db import NotFound

    with store.read() as s:
        sub = s.get(tables.Submission, sub_id)
        if sub is None:
            raise NotFound([Problem(str(sub_id), N_("no submission {id}"), {"id": sub_id}, "no_submission")])
        v = s.exec(select(tables.SubmissionVersion).where(tables.SubmissionVersion.submission_id == sub_id,
                                                     tables.SubmissionVersion.number == sub.current_version)).scalars().first()
        return mask_document(json.loads(v.document)) if v is not None else {}
