"""Numbers an application or a command may hold: integers up to 2^53 − 1 (what every JSON reader and
the log's RFC 8785 form hold exactly), hours and kilometres below 10^12 with at most 6 decimal
places, ids and sequence numbers within the database's INTEGER range. Beyond them: exit 2 naming
the field (an application) or exit 4 "no such …" (an id), before the engine or any query runs —
never an overflow inside."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from test_ledger import cli

from icv_permits.adapters.store.db import MAX_ROW_ID
from icv_permits.core.model.application import Application
from icv_permits.core.model.types import MAX_SAFE_INTEGER, QUANTITY_LIMIT

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "da-compliant.yaml"


def _example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


EXAMPLE_DOC = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: dict, raw: dict[str, str] | None = None) -> Path:
    """The document as YAML; ``raw`` replaces a placeholder string with YAML text as typed (so that
    numbers reach the reader as written, not as Python turned them)."""
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    for placeholder, typed in (raw or {}).items():
        text = text.replace(f"'{placeholder}'", typed).replace(f": {placeholder}\n", f": {typed}\n")
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _hours(tmp_path: Path, typed: str) -> Path:
    doc = _example()
    doc["vehicles"][0]["prior_testing"][0]["hours"] = "HOURS"
    return _write(tmp_path, doc, {"HOURS": typed})


@pytest.mark.parametrize("typed", ["'999999999999.999999'", "180.5", "0", "180.500000000", "1.5e3"])
def test_hours_within_the_bounds_are_judged(tmp_path, typed):
    r = cli("check", _hours(tmp_path, typed), "--as-of", "2026-11-27", "--lang", "en")
    assert r.exit_code in (0, 1), r.output


@pytest.mark.parametrize(("typed", "message"), [
    ("1000000000000", "must be less than 1,000,000,000,000"),
    ("1e28", "must be less than 1,000,000,000,000"),
    ("1e400", "must be less than 1,000,000,000,000"),
    (".inf", "is not a decimal number"),
    ("0.0000001", "at most 6 digits after the decimal point"),
    ("'1E-30'", "at most 6 digits after the decimal point"),
])
def test_hours_beyond_the_bounds_are_refused_naming_the_field(tmp_path, typed, message):
    r = cli("check", _hours(tmp_path, typed), "--as-of", "2026-11-27", "--lang", "en")
    assert r.exit_code == 2, r.output
    assert "vehicles[0].prior_testing[0].hours" in r.output and message in r.output and "Traceback" not in r.output


def _yuan(tmp_path: Path, amount: int) -> Path:
    doc = _example()
    doc["insurance"][0]["amount_yuan"] = "AMOUNT"
    return _write(tmp_path, doc, {"AMOUNT": str(amount)})


def test_an_amount_of_2_53_minus_1_is_judged_and_logged(store, tmp_path):
    path = _yuan(tmp_path, MAX_SAFE_INTEGER)
    assert cli("check", path, "--as-of", "2026-11-27").exit_code in (0, 1)
    r = cli("submit", path, "--lang", "en")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("amount", [MAX_SAFE_INTEGER + 1, MAX_SAFE_INTEGER + 2, 10**30])
def test_an_amount_beyond_2_53_is_refused_by_check_and_submit_alike(store, tmp_path, amount):
    path = _yuan(tmp_path, amount)
    for command in (("check", path, "--as-of", "2026-11-27"), ("submit", path)):
        r = cli(*command, "--lang", "zh")
        assert r.exit_code == 2, r.output
        assert "insurance[0].amount_yuan" in r.output and str(MAX_SAFE_INTEGER) in r.output
    assert cli("queue", "--format", "json").stdout.strip() in ("[]", "")


@settings(max_examples=60, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=0, max_value=Decimal(10) ** 14))
def test_a_quantity_is_accepted_exactly_when_within_the_bounds(value):
    doc = copy.deepcopy(EXAMPLE_DOC)
    doc["vehicles"][0]["prior_testing"][0]["hours"] = str(value)
    within = value < QUANTITY_LIMIT and value == value.quantize(Decimal("0.000001"))
    try:
        Application.model_validate(doc)
        accepted = True
    except ValidationError as exc:
        assert all("hours" in str(e["loc"]) for e in exc.errors()), exc
        accepted = False
    assert accepted == within, value


@pytest.mark.parametrize("number", [MAX_ROW_ID, MAX_ROW_ID + 1, 99999999999999999999])
def test_ids_beyond_any_row_are_not_found_before_any_query(store, tmp_path, number):
    for command, words in ((("show", number), "no submission with this number"),
                           (("decide", number, "--approve"), "no submission with this number"),
                           (("submit", EXAMPLE, "--resubmits", number), "no submission with this number"),
                           (("audit", "verify", "--from", number), f"no log record with sequence number {number}")):
        r = cli(*command, "--lang", "en")
        assert r.exit_code == 4, (command, r.output)
        assert "Traceback" not in r.output and "Internal error" not in r.output
        assert words in r.output or (number == MAX_ROW_ID and command[0] == "audit"), r.output  # a possible seq: the walk says it is missing
    assert json.loads(cli("queue", "--format", "json").stdout or "[]") == []


# ---------------------------------------------------------------- how many items, how many problems


def _arrays(schema: dict) -> list[tuple[str, dict]]:
    """Every array of a JSON Schema (with its ``$defs``), by where it is."""
    found: list[tuple[str, dict]] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "array":
                found.append((where, node))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "")
    return found


def test_every_list_of_an_application_is_bounded():
    from icv_permits.core.model.types import MAX_ITEMS

    arrays = _arrays(Application.model_json_schema())
    assert len(arrays) >= 20  # the walk sees the model's lists
    unbounded = [where for where, node in arrays if not isinstance(node.get("maxItems"), int) or node["maxItems"] > MAX_ITEMS]
    assert not unbounded, unbounded


@pytest.mark.parametrize(("path", "item"), [
    ("sections", "WH-JJ-001"),
    ("incidents", None),
    ("notices", None),
    ("drivers.0.full_score_dates", "2020-01-01"),
])
def test_a_list_holds_max_items_and_not_one_more(path, item):
    from icv_permits.core.model.types import MAX_ITEMS

    doc = _example()
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target = doc
    for p in parents:
        target = target[p]
    one = item if item is not None else copy.deepcopy(target[last][0]) if target.get(last) else None
    if one is None:
        pytest.skip(f"the example has no {path} to copy")
    target[last] = [one] * MAX_ITEMS
    try:
        Application.model_validate(doc)
    except ValidationError as exc:  # judged content may fail other checks, but never for the length
        assert all(e["type"] != "too_long" for e in exc.errors()), exc
    target[last] = [one] * (MAX_ITEMS + 1)
    with pytest.raises(ValidationError) as exc:
        Application.model_validate(doc)
    assert [e["type"] for e in exc.value.errors()] == ["too_long"]
    assert exc.value.errors()[0]["loc"] == tuple(int(p) if p.isdigit() else p for p in path.split("."))


@pytest.mark.parametrize(("unknown", "listed", "more"), [(99, 99, None), (100, 100, None), (101, 100, 1), (5000, 100, 4900)])
def test_the_problems_of_a_document_are_listed_up_to_a_hundred(unknown, listed, more):
    from icv_permits.adapters.documents import MAX_PROBLEMS, validation_problems

    assert MAX_PROBLEMS == 100
    doc = _example() | {f"zz{i}": 1 for i in range(unknown)}
    with pytest.raises(ValidationError) as exc:
        Application.model_validate(doc)
    problems = validation_problems(exc.value, model=Application)
    named = [p for p in problems if p.code != "more_problems"]
    assert len(named) == listed and all(p.location.startswith("zz") for p in named)
    tail = [p for p in problems if p.code == "more_problems"]
    if more is None:
        assert not tail
    else:
        assert problems[-1] is tail[0] and tail[0].params == {"more": more, "total": unknown}
