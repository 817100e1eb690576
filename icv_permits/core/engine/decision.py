"""What the engine decides: language-neutral findings with reason codes and values.

The JSON form of :class:`Decision` is documented in ``docs/decision-format.md``; its ``format``
field names the version. Every value is JSON-native (decimals as strings, dates as ISO text), so the
same decision always serialises to the same bytes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from icv_permits.core.model.evidence import EvidenceSummary, VehicleEvidence
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.core.pack import Comparison, Confidence, Severity, Subject

DECISION_FORMAT = "icv-permits/decision/2"
LEGACY_DECISION_FORMAT = "icv-permits/decision/1"
"""The layout before the engine counted trip buckets: ``evidence.vehicles`` held the totals the
evidence reader had counted, and there was no ``evidence_counted``. The engine still writes it for
such evidence (a record or stored submission of that time): its totals are what counted."""


class Verdict(StrEnum):
    compliant = "compliant"
    non_compliant = "non_compliant"
    incomplete = "incomplete"


class Outcome(StrEnum):
    passed = "pass"
    failed = "fail"  # a blocking rule failed
    warned = "warn"  # an advisory rule failed: shown, does not change the verdict
    missing = "missing"  # the rule lacks information it needs
    not_applicable = "not_applicable"  # in scope, but not for this subject (e.g. ENT-07 without a consortium)
    not_evaluated = "not_evaluated"  # disabled in the pack, or its parameter not in force on the as-of date


OUTCOME_ORDER = {
    Outcome.failed: 0,
    Outcome.missing: 1,
    Outcome.warned: 2,
    Outcome.not_evaluated: 3,
    Outcome.passed: 4,
    Outcome.not_applicable: 5,
}


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubjectRef(_M):
    kind: Subject
    ref: str  # VIN, driver ref, section id, or "" for the application / entity
    label: str = ""  # shown to people: masked where it is personal data
    path: str = ""  # field path in the application, e.g. "vehicles[1]"
    order: int = 0  # position in the application, for stable grouping


class Threshold(_M):
    param: str
    value: Any
    comparison: Comparison | None = None
    unit: str | None = None
    effective_from: str
    source: str
    article: str | None = None
    confidence: Confidence


class Finding(_M):
    rule_id: str
    outcome: Outcome
    subject: SubjectRef
    reason: str
    values: dict[str, Any] = {}
    field: str | None = None  # the application field this finding is about
    observed: Any = None
    threshold: Threshold | None = None


class RuleInfo(_M):
    """The catalogue facts of a rule that a report shows next to its findings."""

    id: str
    source: str
    article: str | None
    confidence: Confidence
    severity: Severity


class Decision(_M):
    format: Literal["icv-permits/decision/2", "icv-permits/decision/1"] = DECISION_FORMAT
    verdict: Verdict
    as_of: str
    pack_id: str
    pack_revision: str
    pack_chain: list[str]
    engine_version: str
    application_id: str | None
    application_digest: str
    activity: str
    conditions: list[str]
    counts: dict[str, int]
    rules: list[RuleInfo]
    rules_not_applicable: list[str]
    missing_fields: list[str]
    findings: list[Finding]
    evidence: EvidenceSummary | None = None  # what the evidence files added up to, with their SHA-256
    evidence_counted: list[VehicleEvidence] | None = None  # what the engine counted of the trip buckets, per vehicle
    registry: RegistryFacts | None = None  # what the regulator's records said (submissions under review)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        if self.format == LEGACY_DECISION_FORMAT:
            data.pop("evidence_counted", None)  # format 1 had no such key
        return data

    def counted(self) -> list[VehicleEvidence]:
        """Per vehicle, the totals EVD-01 and EVD-04 judged: what the engine counted, or in format 1
        what the reader had counted."""
        if self.evidence is not None and self.evidence.counted_by_reader:
            return list(self.evidence.vehicles or [])
        return list(self.evidence_counted or [])

    def in_format(self, fmt: str) -> Decision:
        """The same decision in layout ``fmt``. A decision without trip buckets reads the same in
        both layouts (format 2 only added ``evidence_counted`` and the buckets); one with buckets
        has no format-1 form and is returned as it is."""
        if fmt == self.format:
            return self
        if fmt == LEGACY_DECISION_FORMAT and self.evidence_counted is None and (self.evidence is None or self.evidence.counted_by_reader):
            return self.model_copy(update={"format": fmt})
        if fmt == DECISION_FORMAT and self.evidence is None:
            return self.model_copy(update={"format": fmt})
        return self

    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.failed]

    def failing_rule_ids(self) -> list[str]:
        return sorted({f.rule_id for f in self.findings if f.outcome is Outcome.failed})

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
