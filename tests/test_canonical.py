"""The application digest is SHA-256 over RFC 8785 canonical JSON, whichever encoder computes it."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import types
import typing
from pathlib import Path

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel
from test_properties import applications

from icv_permits.core.canonical import canonical_bytes_floatless
from icv_permits.core.engine import application_digest
from icv_permits.core.model.application import Application
from icv_permits.services.precheck import load_application

EXAMPLES = sorted(p for p in (Path(__file__).resolve().parent.parent / "examples").rglob("*") if p.suffix in (".yaml", ".json") and p.name != "expected.yaml")


def _rfc8785_digest(app) -> str:
    return "sha256:" + hashlib.sha256(rfc8785.dumps(app.model_dump(mode="json"))).hexdigest()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_digest_equals_rfc8785_for_every_example(path: Path) -> None:
    app = load_application(path)
    assert application_digest(app) == _rfc8785_digest(app)


def test_digest_equals_rfc8785_with_awkward_text() -> None:
    app = load_application(EXAMPLES[0])
    tricky = app.model_copy(update={"application_id": "A-\u2028-\u00e9-\U0001F697"})
    name = app.entity.model_copy(update={"name": 'quote " backslash \\ tab \t bell \x07 中文 😀'})
    app = tricky.model_copy(update={"entity": name})
    assert application_digest(app) == _rfc8785_digest(app)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=applications())
def test_digest_equals_rfc8785_for_generated_applications(d) -> None:
    app = Application.model_validate(d)
    assert application_digest(app) == _rfc8785_digest(app)


# ---------------------------------------------------------------- the schema the digest relies on

# serializers of the application's models that have been read: each changes only which keys appear
VETTED_SERIALIZERS = {("Entity", "_omit_unset_other")}


def _json_shape_problems(tp, where: str, seen: set) -> list[str]:
    """What in the JSON form of a value of type ``tp`` could be a float, an unbounded kind of
    value or a mapping key above U+FFFF (:func:`~icv_permits.core.canonical.canonical_bytes_floatless`
    relies on there being none): a walk of the annotations."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _json_shape_problems(args[0], where, seen)
    if origin in (typing.Union, types.UnionType) or origin in (list, tuple, set, frozenset):
        return [p for a in args if a is not Ellipsis for p in _json_shape_problems(a, where, seen)]
    if origin is dict:
        key, value = args
        keys_ok = isinstance(key, type) and issubclass(key, enum.Enum) and all(
            isinstance(m.value, str) and all(ord(c) <= 0xFFFF for c in m.value) for m in key)
        return ([] if keys_ok else [f"{where}: mapping keys of {key!r}"]) + _json_shape_problems(value, where + "[]", seen)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return []
        seen.add(tp)
        out = []
        decorators = tp.__pydantic_decorators__
        for name in [*decorators.model_serializers, *decorators.field_serializers]:
            if (tp.__name__, name) not in VETTED_SERIALIZERS:
                out.append(f"{where}: serializer {tp.__name__}.{name} not read")
        if tp.__pydantic_computed_fields__:
            out.append(f"{where}: computed fields of {tp.__name__}")
        for name, field in tp.model_fields.items():
            out += _json_shape_problems(field.annotation, f"{where}.{name}", seen)
        return out
    if tp is type(None) or tp in (bool, int, str, decimal.Decimal, dt.date, dt.datetime):  # Decimal and dates: text in JSON
        return []
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [] if all(isinstance(m.value, str | int) and not isinstance(m.value, bool) for m in tp) else [f"{where}: enum {tp.__name__}"]
    if isinstance(tp, type) and issubclass(tp, str | int) and not issubclass(tp, float):
        return []
    return [f"{where}: {tp!r}"]


def test_the_application_schema_holds_no_float_and_no_free_mapping_key() -> None:
    """The application digest writes the model's JSON form with orjson and no walk of its objects:
    sound only while no field can hold a float (or a type whose JSON form is unknown) and every
    mapping is keyed by an enumeration of text values."""
    assert _json_shape_problems(Application, "application", set()) == []


def test_the_schema_walk_finds_what_would_break_the_digest() -> None:
    class Bad(BaseModel):
        ratio: float
        extra: dict[str, int]
        anything: typing.Any
        nested: list[typing.Annotated[float | None, "x"]] | None = None

    problems = _json_shape_problems(Bad, "bad", set())
    assert [p.split(":")[0] for p in problems] == ["bad.ratio", "bad.extra", "bad.anything", "bad.nested"]


@pytest.mark.parametrize("value", [2**53 - 1, 2**53, -(2**53), 10**30])
def test_an_integer_at_or_beyond_the_safe_range_is_written_as_rfc8785_writes_it_or_refused(value: int) -> None:
    data = {"n": value, "b": [value, "中文"]}
    try:
        expected = rfc8785.dumps(data)
    except rfc8785.IntegerDomainError:
        with pytest.raises(rfc8785.IntegerDomainError):
            canonical_bytes_floatless(data)
    else:
        assert canonical_bytes_floatless(data) == expected
