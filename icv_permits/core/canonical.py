"""The canonical forms: one canonical JSON, one content digest, one UTC timestamp.

Canonical JSON is RFC 8785 (JCS). For the data this tool hashes — strings, integers within ±2^53,
booleans, nulls, lists and objects whose keys hold no character above U+FFFF — ``json.dumps`` with
sorted keys and no spaces writes exactly the RFC 8785 bytes, several times faster than the general
implementation; anything else (a float, a huge integer, an astral-plane key) goes through
``rfc8785``. ``tests/test_canonical.py`` holds the two equal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, overload

import rfc8785


def _plain(data: Any) -> bool:
    """Whether ``json.dumps`` with sorted keys writes exactly the RFC 8785 form of ``data``: no
    floats (number formatting differs), integers within ±2^53, and keys that sort the same by code
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
            if abs(x) > 2**53:
                return False
        else:
            return False
    return True


def is_plain(data: Any) -> bool:
    """Whether ``data`` is plain: ``json.dumps`` with sorted keys and no spaces writes its RFC 8785 form."""
    return _plain(data)


def canonical_json(data: Any) -> str:
    """RFC 8785 canonical JSON of ``data``, as text."""
    if _plain(data):
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return rfc8785.dumps(data).decode("utf-8")


def digest(data: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``data``: a content hash."""
    return "sha256:" + hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


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
