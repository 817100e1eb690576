"""What a line of a decision-log export must be before anything of it is believed: bounded JSON, the
exact shape of a header, a pack snapshot and a record, within what the database's columns hold, and
each kind of record's body in the shape the log's readers take it in.

An export comes from outside the office (a copy, a backup, a file handed to an auditor), so its
lines are read as hostile. A re-chained export — bodies changed, every hash recomputed — verifies as
an intact chain; only its shape can refuse it. What the shape holds to is what the readers of the
log rely on without checking again: ``audit log`` (``present/audit.py``: ``log_table`` and
``summary``), ``audit explain`` (``present/audit.py``: ``explain``; ``services/audit.py``:
``explain``, ``engine_record_of``, ``recorded_decision``) and ``audit replay`` (``core/log.py``:
``replay_record``; ``services/audit.py``: ``_replay_engine_records``). The decision an
engine-decision record holds is checked by the code that reads it (``services/audit.py``, with the
pack snapshot: the rebuild of record format 2, ``Decision.model_validate``).

Bounds, checked before the text is parsed (so that a hostile line cannot exhaust the stack or the
memory of a reader):

- :data:`MAX_LINE` characters on a line;
- :data:`MAX_DEPTH` levels of nested arrays and objects (:func:`nesting_depth`, a scan of the
  brackets outside strings). The deepest line an export of this version writes is about 10 levels
  deep (a pack snapshot); Python's parser and the canonical JSON writer recurse, and a body
  10,000 levels deep would end them with ``RecursionError``.

Every problem is a :class:`ShapeError` naming the field (``seq``, ``body.pack.revision``…) with
a message of the ``input`` domain; the caller names the line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from itertools import accumulate
from typing import Any

from icv_permits.core.errors import (
    KIND_BOOL,
    KIND_LIST,
    KIND_MAPPING,
    KIND_STRING,
    kind_of,
    show,
)
from icv_permits.core.i18n import N_
from icv_permits.core.model.types import MAX_YEAR, MIN_YEAR

MAX_LINE = 8 * 2**20
"""Characters on one line of an export. A pack snapshot, the longest line an export of this version
writes, is about 110,000 characters; a record of format 1 with a large application about 75,000."""

MAX_DEPTH = 64
"""Levels of nested arrays and objects on one line (a line of this version's exports has at most
about 10)."""

MAX_ROW_ID = 2**31 - 1  # the database's INTEGER (``adapters.store.db.MAX_ROW_ID``)

# the widths of the log's columns (``adapters/store/tables.py``): a longer text is refused here,
# before PostgreSQL would refuse it (DataError)
DECISION_ID_CHARS = 36
KIND_CHARS = 30
ACTOR_CHARS = 100
HASH_CHARS = 71
REVISION_CHARS = 80
PACK_ID_CHARS = 100

RECORD_KINDS = ("engine_decision", "submission", "review", "plates_renewed")
VERDICTS = ("compliant", "non_compliant", "incomplete")
PURPOSES = ("submit", "decide")
ACTIONS = ("approve", "return", "reject")
OUTCOME_COUNTS = ("pass", "fail", "warn", "missing")  # the counts a report's headline shows

RECORD_FIELDS = ("type", "seq", "decision_id", "kind", "recorded_at", "actor", "body", "prev_hash", "hash")
HEADER_FIELDS = ("type", "format", "head")
SNAPSHOT_FIELDS = ("type", "revision", "pack_id", "stored_at", "content")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HASH = re.compile(r"sha256:[0-9a-f]{64}")
"""A record's hash as the log writes it (and a checkpoint, and ``--expect-head``)."""
_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PACK_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")  # a pack's id names a folder: no separator, no leading dot

# kinds of value and forms of text, as the messages name them (``*_text`` parameters)
FORM_DECISION_ID = N_("a decision ID (a UUID in lower case)")
FORM_HASH = N_("a hash (sha256: and 64 lower-case hexadecimal digits)")
FORM_UTC = N_("a UTC time written YYYY-MM-DDTHH:MM:SS.ffffffZ")
FORM_TIME = N_("a time with its offset from UTC")
FORM_DATE = N_("a date written YYYY-MM-DD")
FORM_PACK_ID = N_("a pack id (lower-case letters, digits, '.', '_' and '-')")
FORM_TEXT_OR_NULL = N_("text or null")
FORM_MAPPING_OR_NULL = N_("a mapping or null")


class ShapeError(ValueError):
    """A line that is not what an export holds: ``field`` (empty for the line as a whole), a msgid of
    the ``input`` domain and its values."""

    def __init__(self, field: str, msgid: str, /, **params: str | int):
        super().__init__(f"{field}: {msgid}")
        self.field = field
        self.msgid = msgid
        self.params = params


# ---------------------------------------------------------------- bounded JSON

_ESCAPE = re.compile(r"\\.", re.S)
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in the JSON ``text`` (brackets inside strings do not count).

    Linear in the length of ``text`` whatever it holds: escape pairs are removed first (in JSON a
    backslash only ever starts one, inside a string), then strings — which then hold no quote — then
    everything but brackets; the running sum of the brackets left is the depth. Text that is not
    JSON gets a number too (the parser then refuses it)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _no_constant(name: str) -> Any:
    raise ShapeError("", N_("holds {value}, which is not a number JSON can exchange"), value=name)


def loads_bounded(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)`` once :func:`nesting_depth` is within ``max_depth``; NaN and Infinity (which
    Python's parser would take) are refused. :class:`ShapeError` for the line as a whole."""
    depth = nesting_depth(text)
    if depth > max_depth:
        raise ShapeError("", N_("nested {depth} levels deep, more than the {max} an export may hold"), depth=depth, max=max_depth)
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:  # not reached within max_depth; kept so that no parser limit escapes
        raise ShapeError("", N_("nested {depth} levels deep, more than the {max} an export may hold"), depth=depth, max=max_depth) from None
    except ValueError as exc:
        if isinstance(exc, ShapeError):
            raise
        raise ShapeError("", N_("not a JSON object")) from None


# ---------------------------------------------------------------- fields


def _path(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def _storable(value: str, field: str) -> str:
    """``value`` if a database can store it: no NUL (PostgreSQL refuses it in text) and no half of a
    surrogate pair (no UTF-8 encodes it)."""
    if "\x00" in value:
        raise ShapeError(field, N_("field {field} holds a character that cannot be stored (NUL, or half of a UTF-16 surrogate pair)"), field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ShapeError(field, N_("field {field} holds a character that cannot be stored (NUL, or half of a UTF-16 surrogate pair)"), field=field) from None
    return value


def _wrong_type(field: str, expected: str, value: Any) -> ShapeError:
    return ShapeError(field, N_("field {field} must be {expected_text}, not {found_text}"), field=field, expected_text=expected,
                      found_text=kind_of(value))


def _get(obj: dict, key: str, prefix: str) -> Any:
    if key not in obj:
        field = _path(prefix, key)
        raise ShapeError(field, N_("field {field} is missing"), field=field)
    return obj[key]


def _exact_keys(obj: dict, keys: tuple[str, ...], prefix: str = "") -> None:
    for key in keys:
        _get(obj, key, prefix)
    for key in obj:
        if key not in keys:
            field = _path(prefix, show(key))
            raise ShapeError(field, N_("field {field} is not a field of this line"), field=field)


def text(obj: dict, key: str, prefix: str = "", *, max_chars: int | None = None, optional: bool = False, null: bool = False) -> str | None:
    """``obj[key]``, text of at most ``max_chars`` characters (``null``: or null; ``optional``: or
    absent, then ``None``)."""
    field = _path(prefix, key)
    if optional and key not in obj:
        return None
    value = _get(obj, key, prefix)
    if value is None and null:
        return None
    if not isinstance(value, str):
        raise _wrong_type(field, FORM_TEXT_OR_NULL if null else KIND_STRING, value)
    if max_chars is not None and len(value) > max_chars:
        raise ShapeError(field, N_("field {field} is longer than {max} characters ({n})"), field=field, max=max_chars, n=len(value))
    return _storable(value, field)


def whole(obj: dict, key: str, prefix: str = "", *, lo: int = 1, hi: int = MAX_ROW_ID, optional: bool = False) -> int | None:
    """``obj[key]``, a JSON integer from ``lo`` to ``hi`` — not a float (``1.0``, ``1e3``), a string
    or a boolean, which are refused rather than converted."""
    field = _path(prefix, key)
    if optional and key not in obj:
        return None
    value = _get(obj, key, prefix)
    if type(value) is not int or not lo <= value <= hi:
        raise ShapeError(field, N_("field {field} must be a whole number from {min} to {max}, not {found}"), field=field, min=lo, max=hi,
                         found=show(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)))
    return value


def flag(obj: dict, key: str, prefix: str = "", *, optional: bool = False) -> bool | None:
    field = _path(prefix, key)
    if optional and key not in obj:
        return None
    value = _get(obj, key, prefix)
    if not isinstance(value, bool):
        raise _wrong_type(field, KIND_BOOL, value)
    return value


def mapping(obj: dict, key: str, prefix: str = "", *, optional: bool = False, null: bool = False) -> dict | None:
    field = _path(prefix, key)
    if optional and key not in obj:
        return None
    value = _get(obj, key, prefix)
    if value is None and null:
        return None
    if not isinstance(value, dict):
        raise _wrong_type(field, FORM_MAPPING_OR_NULL if null else KIND_MAPPING, value)
    return value


def items(obj: dict, key: str, prefix: str = "", *, optional: bool = False) -> list | None:
    field = _path(prefix, key)
    if optional and key not in obj:
        return None
    value = _get(obj, key, prefix)
    if not isinstance(value, list):
        raise _wrong_type(field, KIND_LIST, value)
    return value


def one_of(obj: dict, key: str, allowed: tuple[str, ...], prefix: str = "") -> str:
    field = _path(prefix, key)
    value = text(obj, key, prefix, max_chars=100)
    if value not in allowed:
        raise ShapeError(field, N_("field {field} must be one of {allowed}, not {found}"), field=field, allowed=", ".join(allowed), found=show(value))
    return value


def form(obj: dict, key: str, pattern: re.Pattern, expected: str, prefix: str = "", *, max_chars: int = 100, optional: bool = False) -> str | None:
    """``obj[key]``, text matching ``pattern`` whole (``expected`` names the form)."""
    field = _path(prefix, key)
    value = text(obj, key, prefix, optional=optional)
    if value is None:
        return None
    if len(value) > max_chars or not pattern.fullmatch(value):
        raise ShapeError(field, N_("field {field} must be {expected_text}, not {found}"), field=field, expected_text=expected, found=show(value))
    return value


def day(obj: dict, key: str, prefix: str = "") -> str:
    value = form(obj, key, _DATE, FORM_DATE, prefix)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        field = _path(prefix, key)
        raise ShapeError(field, N_("field {field} must be {expected_text}, not {found}"), field=field, expected_text=FORM_DATE, found=show(value)) from None
    return value


M_YEARS = N_("field {field} must be a time within the years {min}–{max}, not {found}")


def _in_years(value: dt.datetime, field: str, found: str) -> dt.datetime:
    """``value`` if its year is one the tool takes (:data:`~icv_permits.core.model.types.MIN_YEAR`
    to ``MAX_YEAR``, as for every date): the databases store no year before 1 nor after 9999 alike
    (a year 1 came back as ``1-01-01``, so the record's hash no longer matched what was imported)."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ShapeError(field, M_YEARS, field=field, min=MIN_YEAR, max=MAX_YEAR, found=show(found))
    return value


def utc_time(obj: dict, key: str, prefix: str = "") -> dt.datetime:
    """``obj[key]`` as the log writes instants (``2026-11-27T02:00:00.000000Z``), as an aware datetime."""
    value = form(obj, key, _UTC, FORM_UTC, prefix)
    field = _path(prefix, key)
    try:
        parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise ShapeError(field, N_("field {field} must be {expected_text}, not {found}"), field=field, expected_text=FORM_UTC, found=show(value)) from None
    return _in_years(parsed, field, value)


def any_time(obj: dict, key: str, prefix: str = "") -> dt.datetime:
    """``obj[key]``, an ISO 8601 time with its offset (a pack snapshot's ``stored_at``), in UTC."""
    field = _path(prefix, key)
    value = text(obj, key, prefix, max_chars=40)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ShapeError(field, N_("field {field} must be {expected_text}, not {found}"), field=field, expected_text=FORM_TIME, found=show(value))
    try:
        return _in_years(parsed.astimezone(dt.timezone.utc), field, value)
    except OverflowError:  # a time at the very edge of the calendar
        raise ShapeError(field, N_("field {field} must be {expected_text}, not {found}"), field=field, expected_text=FORM_TIME, found=show(value)) from None


def decision_id(obj: dict, key: str, prefix: str = "") -> str:
    return form(obj, key, _UUID, FORM_DECISION_ID, prefix, max_chars=DECISION_ID_CHARS)


def hash_text(obj: dict, key: str, prefix: str = "") -> str:
    return form(obj, key, HASH, FORM_HASH, prefix, max_chars=HASH_CHARS)


def pack_id(obj: dict, key: str, prefix: str = "") -> str:
    return form(obj, key, _PACK_ID, FORM_PACK_ID, prefix, max_chars=PACK_ID_CHARS)


# ---------------------------------------------------------------- lines


def header(obj: dict, export_format: str) -> tuple[int, str]:
    """The head (seq, hash) a header states."""
    found = obj.get("format")
    if found != export_format:
        raise ShapeError("format", N_("not an icv-permits audit export (format {found})"), found=show(found if found is not None else "—", 60))
    _exact_keys(obj, HEADER_FIELDS)
    head = mapping(obj, "head")
    _exact_keys(head, ("seq", "hash"), "head")
    seq = whole(head, "seq", "head", lo=0)
    return seq, hash_text(head, "hash", "head")


def snapshot(obj: dict) -> tuple[str, str, dt.datetime, dict]:
    """A pack snapshot line: (revision, pack id, stored at, content)."""
    _exact_keys(obj, SNAPSHOT_FIELDS)
    revision = hash_text(obj, "revision")
    pid = pack_id(obj, "pack_id")
    stored_at = any_time(obj, "stored_at")
    content = mapping(obj, "content")
    return revision, pid, stored_at, content


def record(obj: dict) -> tuple[int, str, str, str, str, dict, str, str]:
    """A record line: (seq, decision ID, kind, recorded at, actor, body, prev_hash, hash), each of the
    exact type and within its column; the body an object of the shape its kind needs
    (:func:`body`)."""
    _exact_keys(obj, RECORD_FIELDS)
    seq = whole(obj, "seq")
    did = decision_id(obj, "decision_id")
    kind = one_of(obj, "kind", RECORD_KINDS)
    utc_time(obj, "recorded_at")
    actor = text(obj, "actor", max_chars=ACTOR_CHARS)
    prev = hash_text(obj, "prev_hash")
    h = hash_text(obj, "hash")
    body = mapping(obj, "body")
    return seq, did, kind, obj["recorded_at"], actor, body, prev, h


# ---------------------------------------------------------------- bodies


def body(kind: str, b: dict) -> None:
    """The body of a record of ``kind`` holds what the log's readers take from it, each of the type
    they take it as (keys no reader uses are left as they are: an older or newer record may hold
    others)."""
    found = b.get("type")
    if found != kind:
        raise ShapeError("body.type", N_("field {field} must be one of {allowed}, not {found}"), field="body.type", allowed=kind,
                         found=show(found if isinstance(found, str) else json.dumps(found, ensure_ascii=False)))
    text(b, "claimed_actor", "body")
    if kind == "engine_decision":
        _engine(b)
    elif kind == "submission":
        _submission(b)
    elif kind == "review":
        _review(b)
    else:
        _plates_renewed(b)


def _engine(b: dict) -> None:
    p = "body"
    whole(b, "submission_id", p)
    whole(b, "version", p)
    whole(b, "engine_run_id", p)
    one_of(b, "purpose", PURPOSES, p)
    one_of(b, "verdict", VERDICTS, p)
    day(b, "as_of", p)
    text(b, "clock", p)
    text(b, "engine_version", p)
    text(b, "input_digest", p)
    pack = mapping(b, "pack", p)
    pack_id(pack, "id", "body.pack")
    hash_text(pack, "revision", "body.pack")
    for i, m in enumerate(items(b, "masked_fields", p)):
        field = f"body.masked_fields[{i}]"
        if not isinstance(m, dict):
            raise _wrong_type(field, KIND_MAPPING, m)
        text(m, "path", field)
        text(m, "method", field)
    for i, e in enumerate(items(b, "evidence_digests", p)):
        field = f"body.evidence_digests[{i}]"
        if not isinstance(e, dict):
            raise _wrong_type(field, KIND_MAPPING, e)
        text(e, "path", field)
        text(e, "sha256", field)
        whole(e, "bytes", field, lo=0, hi=2**53 - 1)
    if "record_format" in b:
        whole(b, "record_format", p, lo=2, hi=2)
        text(b, "deflated", p)
        hash_text(b, "decision_digest", p)
    else:
        mapping(b, "input", p)
        mapping(b, "decision", p)


def _submission(b: dict) -> None:
    p = "body"
    whole(b, "submission_id", p)
    whole(b, "version", p)
    text(b, "file_name", p)
    text(b, "file_sha256", p, optional=True)
    text(b, "state", p, optional=True)
    flag(b, "new_submission", p, optional=True)
    decision_id(b, "engine_decision", p)


def _review(b: dict) -> None:
    p = "body"
    whole(b, "submission_id", p)
    whole(b, "version", p)
    one_of(b, "action", ACTIONS, p)
    text(b, "from_state", p)
    text(b, "to_state", p)
    text(b, "reason", p, null=True)
    flag(b, "against_engine", p)
    items(b, "items", p, optional=True)
    items(b, "superseded", p, optional=True)
    decision_id(b, "engine_decision", p)
    notice = mapping(b, "notice", p, null=True)
    if notice is not None:
        for key in ("number", "valid_from", "valid_until"):
            text(notice, key, "body.notice")
        items(notice, "plates", "body.notice")


def _plates_renewed(b: dict) -> None:
    p = "body"
    text(b, "notice", p)
    for i, r in enumerate(items(b, "renewed", p)):
        if not isinstance(r, dict):
            raise _wrong_type(f"body.renewed[{i}]", KIND_MAPPING, r)
    pack = mapping(b, "pack", p, optional=True)
    if pack is not None:
        pack_id(pack, "id", "body.pack")
        hash_text(pack, "revision", "body.pack")
    text(b, "clock", p, optional=True)


def decision_counts(decision: Any) -> None:
    """The counts a report's headline shows are all there (``Decision`` takes any mapping)."""
    counts = decision.counts
    for key in OUTCOME_COUNTS:
        if key not in counts:
            field = f"decision.counts.{key}"
            raise ShapeError(field, N_("field {field} is missing"), field=field)

