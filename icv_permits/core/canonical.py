"""The canonical forms: one canonical JSON, one content digest, one UTC timestamp.

Canonical JSON is RFC 8785 (JCS). For the data this tool hashes — strings, integers within ±(2^53 − 1),
booleans, nulls, lists and objects whose keys hold no character above U+FFFF ("plain" data, see
:func:`is_plain`) — a JSON writer that sorts keys by code point, writes no spaces, escapes only
``"``, ``\\`` and the control characters (``\\b \\t \\n \\f \\r``, else ``\\u00xx``) and leaves
every other character as it is writes exactly the RFC 8785 bytes. ``orjson`` (with sorted keys) is
such a writer and about ten times faster than ``json.dumps``, which is one too and writes what
``orjson`` refuses (nesting deeper than 254, text that is not UTF-8); anything that is not plain (a
float, a huge integer, an astral-plane key) goes through ``rfc8785``. ``tests/test_canonical.py``
holds the three equal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, overload

import orjson
import rfc8785


_MAX_SAFE = 2**53 - 1  # RFC 8785 (I-JSON) integers: ±(2^53 − 1)


def _plain(data: Any) -> bool:
    """Whether ``json.dumps`` with sorted keys writes exactly the RFC 8785 form of ``data``: no
    floats (number formatting differs), integers within ±(2^53 − 1), and keys that sort the same by code
    point as by UTF-16 code unit (no character above U+FFFF)."""
    stack = [data]
    pop, extend = stack.pop, stack.extend
    while stack:
        x = pop()
        t = type(x)
        if t is str or t is bool or x is None:  # the common cases first, by exact type (a hot loop)
            continue
        if isinstance(x, dict):
            for k in x:
                if not isinstance(k, str) or (not k.isascii() and any(ord(c) > 0xFFFF for c in k)):
                    return False
            extend(x.values())
        elif isinstance(x, list):
            extend(x)
        elif isinstance(x, (bool, str)):
            continue
        elif isinstance(x, int):
            if abs(x) > _MAX_SAFE:
                return False
        else:
            return False
    return True


def is_plain(data: Any) -> bool:
    """Whether ``data`` is plain: ``json.dumps`` with sorted keys and no spaces writes its RFC 8785 form."""
    return _plain(data)


def plain_json_bytes(data: Any) -> bytes:
    """The RFC 8785 form of plain data (:func:`is_plain` holds; not checked here), as UTF-8."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: deeper than orjson nests, a lone surrogate, a key of a str subclass
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def canonical_bytes(data: Any) -> bytes:
    """RFC 8785 canonical JSON of ``data``, as UTF-8."""
    if _plain(data):
        return plain_json_bytes(data)
    return rfc8785.dumps(data)


def canonical_bytes_floatless(data: Any) -> bytes:
    """:func:`canonical_bytes` of data that holds, by its schema, no float and no mapping key above
    U+FFFF — the JSON form of an application (``tests/test_canonical.py`` proves it of the model's
    schema): such data is plain unless an integer lies beyond ±(2^53 − 1), which orjson refuses
    here (as it refuses a key that is not text, or text that is not UTF-8); what it refuses goes the
    way of :func:`canonical_bytes`. No walk of the objects: a large application is written at
    orjson's speed."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)
    except TypeError:
        return canonical_bytes(data)


def canonical_json(data: Any) -> str:
    """RFC 8785 canonical JSON of ``data``, as text."""
    return canonical_bytes(data).decode("utf-8")


def digest(data: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``data``: a content hash."""
    return "sha256:" + hashlib.sha256(canonical_bytes(data)).hexdigest()


@overload
def utc_timestamp(t: dt.datetime) -> str: ...
@overload
def utc_timestamp(t: None) -> None: ...
def utc_timestamp(t: dt.datetime | None) -> str | None:
    """An aware instant as UTC text with microseconds: ``2026-11-27T01:02:03.000000Z`` (``None``
    stays ``None``). Fixed width, so the texts sort as the instants do."""
    if t is None:
        return None
    if t.tzinfo is None:
        raise ValueError("utc_timestamp needs an aware datetime")
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
