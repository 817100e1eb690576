"""The check registry, the context a check sees, and the comparison of values with thresholds.

A check is a small pure function registered for one rule ID::

    @check("VEH-06", params=("vehicle.pre_event_seconds",), reasons=("below",))
    def veh_06(ctx): ...

It yields :class:`Finding` objects through the context's helpers and never reads a clock, a file or
the network. ``params`` are the pack parameters it reads and ``reasons`` the reason codes it may
emit besides the common ones; ``rules lint`` proves both agree with the pack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

from icv_permits.core.model.application import Application, Driver, Notice, NoticeKind, Province, Vehicle
from icv_permits.core.model.evidence import EvidenceSummary
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.core.model.ids import IdMask, mask
from icv_permits.core.pack import Comparison, Pack, ParamDef, ParamValue, RuleDef, Subject
from icv_permits.core.engine.decision import Finding, Outcome, SubjectRef, Threshold

COMMON_REASONS = frozenset({"ok", "missing"})

CheckFn = Callable[["Ctx"], Iterable[Finding]]


@dataclass(frozen=True)
class Check:
    rule_id: str
    fn: CheckFn
    params: tuple[str, ...]
    reasons: frozenset[str]
    home: bool = False  # judges notices by whether the pack's home province issued them


REGISTRY: dict[str, Check] = {}


def check(rule_id: str, *, params: tuple[str, ...] = (), reasons: tuple[str, ...] = (), home: bool = False) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        if rule_id in REGISTRY:
            raise RuntimeError(f"two checks registered for {rule_id}")
        REGISTRY[rule_id] = Check(rule_id, fn, tuple(params), frozenset(reasons) | COMMON_REASONS, home)
        return fn

    return register


# ---------------------------------------------------------------- values


def jv(value: Any) -> Any:
    """A JSON-native, deterministic form of a value for a finding."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, float):
        return format_decimal(Decimal(repr(value)))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        items = [jv(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, dict):
        return {str(k): jv(v) for k, v in value.items()}
    if hasattr(value, "value"):  # enums
        return jv(value.value)
    return str(value)


def format_decimal(value: Decimal) -> str:
    """``Decimal('240.50')`` → ``'240.5'``; ``Decimal('1E+3')`` → ``'1000'``."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def compare(observed: Any, comparison: Comparison, threshold: Any) -> bool:
    """Whether ``observed`` meets ``threshold`` under ``comparison`` (不少于 ≥, 超过 >, 不超过 ≤…)."""
    if comparison is Comparison.in_:
        return observed in threshold
    if comparison is Comparison.not_in:
        return observed not in threshold
    o = Decimal(str(observed)) if isinstance(observed, int | float | Decimal) else observed
    t = Decimal(str(threshold)) if isinstance(threshold, int | float | Decimal) else threshold
    match comparison:
        case Comparison.ge:
            return o >= t
        case Comparison.gt:
            return o > t
        case Comparison.le:
            return o <= t
        case Comparison.lt:
            return o < t
        case Comparison.eq:
            return o == t
    raise ValueError(comparison)  # pragma: no cover - exhaustive


# ---------------------------------------------------------------- the context


@dataclass(frozen=True)
class Param:
    """A parameter as in force on the as-of date."""

    defn: ParamDef
    current: ParamValue

    @property
    def value(self) -> Any:
        return self.current.value

    @cached_property
    def _threshold(self) -> Threshold:
        c = self.current
        return Threshold(
            param=self.defn.id,
            value=jv(c.value),
            comparison=self.defn.comparison,
            unit=self.defn.unit,
            effective_from=c.effective_from.isoformat(),
            source=c.citation.source,
            article=c.citation.article,
            confidence=c.confidence,
        )

    def threshold(self) -> Threshold:
        return self._threshold

    def met_by(self, observed: Any) -> bool:
        assert self.defn.comparison is not None, f"{self.defn.id} has no comparison"
        return compare(observed, self.defn.comparison, self.value)


class Subjects:
    """The parties of an application as finding subjects, built once per evaluation."""

    def __init__(self, app: Application, id_form: IdMask):
        self.application = SubjectRef(kind=Subject.application, ref=app.application_id or "", label="", path="", order=0)
        self.entity = SubjectRef(kind=Subject.entity, ref=app.entity.credit_code, label=app.entity.name, path="entity", order=0)
        self.drivers = [
            (f"drivers[{i}]", d, SubjectRef(kind=Subject.driver, ref=d.ref, label=f"{d.name} ({mask('id_number', d.id_number, id_form)})", path=f"drivers[{i}]", order=i))
            for i, d in enumerate(app.drivers)
        ]
        self.vehicles = [
            (f"vehicles[{i}]", v, SubjectRef(kind=Subject.vehicle, ref=v.vin, label=v.brand_model or "", path=f"vehicles[{i}]", order=i))
            for i, v in enumerate(app.vehicles)
        ]


def notice_entries_of(app: Application, registry: RegistryFacts | None, as_of: date | None = None,
                      home: Province | None = None) -> list[tuple[str, Notice]]:
    """The entity's notice history as ``(where it comes from, notice)``: the home province's notices
    from the regulator's records when the engine has them (the store wins), other provinces' notices
    from the application; without records, every notice of the application.

    This is the one place that bounds history by the as-of date: a notice issued after ``as_of``
    did not exist on that day and counts for nothing (see :func:`future_notice_entries`)."""
    return [(where, n) for where, n in _all_notice_entries(app, registry, home) if as_of is None or n.issued <= as_of]


def future_notice_entries(app: Application, registry: RegistryFacts | None, as_of: date,
                          home: Province | None = None) -> list[tuple[str, Notice]]:
    """The notices left out of the history because they were issued after ``as_of``."""
    return [(where, n) for where, n in _all_notice_entries(app, registry, home) if n.issued > as_of]


def _all_notice_entries(app: Application, registry: RegistryFacts | None, home: Province | None) -> list[tuple[str, Notice]]:
    if registry is None:
        return [(f"notices[{i}]", n) for i, n in enumerate(app.notices)]
    on_record = [(f"records.notices[{n.number}]", n) for n in registry.notices]
    declared = [(f"notices[{i}]", n) for i, n in enumerate(app.notices) if n.issuer_province is not home]
    return on_record + declared


def history_notices(app: Application, registry: RegistryFacts | None, as_of: date, home: Province | None) -> list[Notice]:
    """The notices the engine takes as the entity's history on ``as_of`` (what the evidence reader
    matches trips against, too)."""
    return [n for _, n in notice_entries_of(app, registry, as_of, home)]


DEMONSTRATION_NOTICES = frozenset({NoticeKind.demonstration_application, NoticeKind.demonstration_operation})


def renewal_notice(history: list[Notice], vin: str, home: Province | None) -> Notice | None:
    """The latest earlier demonstration notice (DA or DO) of the home province in ``history`` that
    lists ``vin`` (none without a home province)."""
    found = [n for n in history if n.kind in DEMONSTRATION_NOTICES and home is not None and n.issuer_province is home and vin in n.vins]
    return max(found, key=lambda n: (n.issued, n.number)) if found else None


def renewal_verified(app: Application, history: list[Notice], home: Province | None) -> bool:
    """A renewal counts only when every vehicle of it is on an earlier demonstration notice of the
    entity in its history (the application's in a pre-check, the records in a review)."""
    return app.modifiers.renewal and bool(app.vehicles) and all(renewal_notice(history, v.vin, home) is not None for v in app.vehicles)


class Ctx:
    """What one check sees: the application, the as-of date, its rule and parameters in force."""

    def __init__(
        self,
        app: Application,
        pack: Pack,
        as_of: date,
        rule: RuleDef,
        params: dict[str, Param],
        conditions: frozenset[str],
        evidence: EvidenceSummary | None = None,
        subjects: Subjects | None = None,
        registry: RegistryFacts | None = None,
        notice_entries: list[tuple[str, Notice]] | None = None,
        shared: dict[str, Any] | None = None,
    ):
        self.subjects = subjects or Subjects(app, pack.id_mask)
        self.shared = shared if shared is not None else {}  # what checks of one evaluation compute once
        self.app = app
        self.evidence = evidence
        self.registry = registry
        self._notice_entries = (notice_entries if notice_entries is not None
                                else notice_entries_of(app, registry, as_of, pack.meta.home_province))
        self.conditions = conditions
        self.pack = pack
        self.home: Province | None = pack.meta.home_province  # set for every check registered with ``home=True``
        self.as_of = as_of
        self.rule = rule
        self._params = params

    def param(self, name: str) -> Param:
        return self._params[name]

    def has_param(self, name: str) -> bool:
        """Whether the pack gives the rule parameter ``name`` (a pack snapshot recorded before the
        parameter existed does not)."""
        return name in self._params

    # the entity's notice history ------------------------------------------
    def notice_entries(self) -> list[tuple[str, Notice]]:
        """(where it comes from, notice): the home province's notices from the regulator's records
        when the engine has them (the store wins), other provinces' notices from the application."""
        return self._notice_entries

    @property
    def notices(self) -> list[Notice]:
        return [n for _, n in self._notice_entries]

    def future_notice_entries(self) -> list[tuple[str, Notice]]:
        """Notices issued after the as-of date: not history, reported so the applicant sees why."""
        return future_notice_entries(self.app, self.registry, self.as_of, self.pack.meta.home_province)

    def own_notices(self) -> list[tuple[int, Notice]]:
        """The application's own notices (index, notice) that existed on the as-of date."""
        return [(i, n) for i, n in enumerate(self.app.notices) if n.issued <= self.as_of]

    def renewed_by(self, vin: str) -> Notice | None:
        """The earlier Anhui demonstration notice (DA or DO) of the entity, in the history, that lists
        ``vin``, when the application is a renewal (``modifiers.renewal``); else ``None``."""
        if not self.app.modifiers.renewal:
            return None
        return renewal_notice(self.notices, vin, self.pack.meta.home_province)

    # subjects ------------------------------------------------------------
    def application_subject(self) -> SubjectRef:
        return self.subjects.application

    def entity_subject(self) -> SubjectRef:
        return self.subjects.entity

    def drivers(self) -> Iterator[tuple[str, Driver, SubjectRef]]:
        return iter(self.subjects.drivers)

    def vehicles(self) -> Iterator[tuple[str, Vehicle, SubjectRef]]:
        return iter(self.subjects.vehicles)

    def section_subject(self, index: int, section_id: str) -> SubjectRef:
        sec = self.pack.sections.get(section_id)
        label = sec.name.zh if sec else ""
        return SubjectRef(kind=Subject.section, ref=section_id, label=label, path=f"sections[{index}]", order=index)

    # findings ------------------------------------------------------------
    def finding(
        self,
        outcome: Outcome,
        subject: SubjectRef,
        reason: str,
        *,
        field: str | None = None,
        observed: Any = None,
        threshold: Param | None = None,
        **values: Any,
    ) -> Finding:
        return Finding(
            rule_id=self.rule.id,
            outcome=outcome,
            subject=subject,
            reason=reason,
            values={k: jv(v) for k, v in values.items()},
            field=field,
            observed=jv(observed),
            threshold=threshold.threshold() if threshold is not None else None,
        )

    def ok(self, subject: SubjectRef, reason: str = "ok", **kw: Any) -> Finding:
        return self.finding(Outcome.passed, subject, reason, **kw)

    def fail(self, subject: SubjectRef, reason: str, **kw: Any) -> Finding:
        return self.finding(Outcome.failed, subject, reason, **kw)

    def missing(self, subject: SubjectRef, field: str) -> Finding:
        return self.finding(Outcome.missing, subject, "missing", field=field, field_path=field)

    def na(self, subject: SubjectRef, reason: str, **kw: Any) -> Finding:
        return self.finding(Outcome.not_applicable, subject, reason, **kw)

    def measured(self, subject: SubjectRef, param: str, observed: Any, *, field: str, reason: str, **values: Any) -> Finding:
        """Compare ``observed`` with parameter ``param``: a pass (``ok``) or a fail with ``reason``."""
        p = self.param(param)
        if p.met_by(observed):
            return self.ok(subject, field=field, observed=observed, threshold=p, **values)
        return self.fail(subject, reason, field=field, observed=observed, threshold=p, **values)

    def all_of(self, results: list[Finding], passed: Finding) -> list[Finding]:
        """The findings of several conditions of one rule: those that did not pass, or else ``passed``."""
        bad = [r for r in results if r.outcome is not Outcome.passed]
        return bad or [passed]

    def flag(self, subject: SubjectRef, value: bool | None, field: str, reason: str, *, expected: bool = True) -> Finding:
        """A yes/no fact that must be ``expected``: pass, fail with ``reason``, or missing."""
        if value is None:
            return self.missing(subject, field)
        if value is expected:
            return self.ok(subject, field=field, observed=value)
        return self.fail(subject, reason, field=field, observed=value)
