"""A pack's own tests: cases that live beside the law, in ``rules/<pack>/tests/*.yaml``.

As OpenFisca's YAML tests do, each case is data a legal maintainer can write without Python: a
base application (an example file, or one defined in the test file), a minimal fragment of
changes addressed by dotted paths with list indexes (``vehicles[0].prior_testing[0].hours``), an
as-of date, and the outcome expected of each rule named (``expect: {EVD-01: fail}``), optionally
its reason codes. This module is the schema of those files and the pure part of running a case:
applying the fragment, judging the engine's decision against what was expected, and moving a
threshold by one unit (what ``rules lint`` uses to prove a case sits at each side of it). Reading
the files is the adapters' business; the tests are *not* part of the pack's content, so adding a
case never changes the pack's revision (decisions record the revision; cases do not decide).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from icv_permits.core.engine import evaluate
from icv_permits.core.engine.decision import OUTCOME_ORDER, Decision, Outcome
from icv_permits.core.model.application import Application
from icv_permits.core.model.ids import vin_check_digit
from icv_permits.core.model.types import Date
from icv_permits.core.pack import Comparison, Pack

OutcomeName = Literal["pass", "fail", "warn", "missing", "not_applicable", "not_evaluated"]
NUMERIC = (Comparison.ge, Comparison.gt, Comparison.le, Comparison.lt)
"""Comparisons that have a boundary a case can sit on either side of."""

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """``vehicles[0].modes.manual`` → ``["vehicles", 0, "modes", "manual"]``; ``ValueError`` if malformed.

    A name comes first or after a dot; an index ``[n]`` right after a name or another index."""
    parts: list[str | int] = []
    pos = 0
    for m in _TOKEN.finditer(path):
        gap = path[pos:m.start()]
        is_name = m.group(1) is not None
        expected = ("" if not parts else ".") if is_name else ""
        if gap != expected or not parts and not is_name:
            raise ValueError(f"bad path {path!r} at character {pos}")
        parts.append(m.group(1) if is_name else int(m.group(2)))
        pos = m.end()
    if pos != len(path) or not parts:
        raise ValueError(f"bad path {path!r}")
    return parts


def apply_changes(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``doc`` with each path set to its value (missing mappings on the way are
    created; ``null`` sets the field to nothing). ``ValueError`` names a path that cannot be set."""
    out = copy.deepcopy(doc)
    for path, value in changes.items():
        parts = parse_path(path)
        node: Any = out
        for part in parts[:-1]:
            if isinstance(part, str) and isinstance(node, dict) and node.get(part) is None:
                node[part] = {}
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                raise ValueError(f"{path}: {part!r} does not exist in the base") from None
        last = parts[-1]
        try:
            if isinstance(last, int) and isinstance(node, list) and last == len(node):
                node.append(copy.deepcopy(value))  # one past the end appends
            else:
                node[last] = copy.deepcopy(value)
        except (IndexError, TypeError):
            raise ValueError(f"{path}: {last!r} cannot be set in the base") from None
    return out


def with_vehicles(doc: dict[str, Any], n: int) -> dict[str, Any]:
    """``doc`` with ``n`` vehicles: copies of the first, with new valid VINs, on every policy and
    notice that lists VINs (so a case about the number of vehicles changes nothing else)."""
    out = copy.deepcopy(doc)
    first = out["vehicles"][0]
    out["vehicles"] = [first]
    for i in range(2, n + 1):
        v = copy.deepcopy(first)
        body = str(first["vin"])[:11] + f"{900000 + i:06d}"
        v["vin"] = body[:8] + vin_check_digit(body) + body[9:]
        out["vehicles"].append(v)
    vins = [v["vin"] for v in out["vehicles"]]
    for p in out.get("insurance") or []:
        p["vins"] = list(vins)
    for notice in out.get("notices") or []:
        if notice.get("vins"):
            notice["vins"] = list(vins)
    return out


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackTestCase(_M):
    name: str = Field(min_length=1)
    base: str = Field(min_length=1)  # a base of this file, or an application file (examples/…)
    as_of: Date
    vehicles: int | None = Field(default=None, ge=1, le=100)  # copies of the base's first vehicle
    changes: dict[str, Any] = {}
    expect: dict[str, OutcomeName] = Field(min_length=1)
    reasons: dict[str, list[str]] = {}  # the reason codes expected of a rule, in the decision's order

    @field_validator("changes")
    @classmethod
    def _paths(cls, v: dict[str, Any]) -> dict[str, Any]:
        for path in v:
            parse_path(path)
        return v

    @field_validator("expect", "reasons")
    @classmethod
    def _rule_ids(cls, v: dict[str, Any]) -> dict[str, Any]:
        for rid in v:
            if not re.fullmatch(r"[A-Z]{3}-\d{2}[a-z]?", rid):
                raise ValueError(f"{rid!r} is not a rule ID (e.g. EVD-01)")
        return v


class PackTestFile(_M):
    """The top of a test file; its cases are validated one by one, so an error names its case."""

    bases: dict[str, dict[str, Any]] = {}
    cases: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class Difference:
    rule: str
    expected: str
    got: str


@dataclass(frozen=True)
class CaseResult:
    file: str
    name: str
    differences: tuple[Difference, ...]

    @property
    def passed(self) -> bool:
        return not self.differences


def rule_outcome(decision: Decision, rule_id: str) -> str:
    """The worst outcome of a rule over its subjects; ``not_applicable`` when the rule is out of
    scope for the application, ``none`` when the pack gave no finding at all."""
    outs = [f.outcome for f in decision.findings if f.rule_id == rule_id]
    if outs:
        return min(outs, key=OUTCOME_ORDER.__getitem__).value
    if rule_id in decision.rules_not_applicable:
        return Outcome.not_applicable.value
    return "none"


def judge(case: PackTestCase, app: Application, pack: Pack, file: str = "") -> CaseResult:
    """Run the engine (pure: application, pack, as-of → decision) and compare with ``expect``."""
    decision = evaluate(app, pack, case.as_of)
    diffs: list[Difference] = []
    for rid, want in case.expect.items():
        got = rule_outcome(decision, rid)
        if got != want:
            diffs.append(Difference(rid, want, got))
    for rid, want_reasons in case.reasons.items():
        got_reasons = [f.reason for f in decision.findings if f.rule_id == rid]
        if got_reasons != want_reasons:
            diffs.append(Difference(rid, "reasons " + ", ".join(want_reasons), "reasons " + (", ".join(got_reasons) or "—")))
    return CaseResult(file, case.name, tuple(diffs))


def is_numeric_threshold(pack: Pack, param_id: str) -> bool:
    """A threshold with a numeric boundary in force at its latest date (an unset one has none)."""
    p = pack.parameters[param_id]
    value = p.values[-1].value
    return (p.kind == "threshold" and p.comparison in NUMERIC
            and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool))


def shifted(pack: Pack, param_id: str, step: int) -> Pack:
    """``pack`` with the latest value of ``param_id`` moved by ``step`` units (an in-memory pack for
    ``rules lint``; its revision is marked so it can never pass for the real one)."""
    p = pack.parameters[param_id]
    last = p.values[-1]
    moved = last.model_copy(update={"value": last.value + step})
    params = {**pack.parameters, param_id: p.model_copy(update={"values": [*p.values[:-1], moved]})}
    return pack.model_copy(update={"parameters": params, "revision": f"{pack.revision}+{param_id}{step:+d}"})


def latest_effective(pack: Pack, param_id: str) -> date:
    return pack.parameters[param_id].values[-1].effective_from
