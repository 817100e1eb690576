"""The check registry, the context a check sees, and the comparison of values with thresholds.

A check is a small pure function registered for one rule ID::

    @check("VEH-06", params=("vehicle.pre_event_seconds",), reasons=("below",))
    def veh_06(ctx): ...

It yields findings through the context's helpers and never reads a clock, a file or the network.
Inside the engine a finding is a :class:`Found` (a named tuple: cheap to make, and several are made
and dropped for each rule, see :meth:`Ctx.all_of`); the engine turns the ones it keeps into the
decision's :class:`~icv_permits.core.engine.decision.Finding` models, or straight into the decision's
JSON, only at its boundary. ``params`` are the pack parameters it reads and ``reasons`` the reason codes it may
emit besides the common ones; ``rules lint`` proves both agree with the pack.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple

from icv_permits.core.engine.decision import Outcome, Threshold
from icv_permits.core.model.application import (
    Application,
    Driver,
    Notice,
    NoticeKind,
    Province,
    Vehicle,
)
from icv_permits.core.model.evidence import EvidenceSummary
from icv_permits.core.model.ids import IdMask, mask
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.core.pack import (
    Comparison,
    Pack,
    ParamDef,
    ParamValue,
    RuleDef,
    Subject,
)

COMMON_REASONS = frozenset({"ok", "missing"})
NOT_EVALUATED_REASONS = ("disabled", "param_not_in_force", "no_home_province", "no_records")
"""Why the engine leaves a rule not evaluated (a pack's ``common_messages`` say each in zh and en)."""


class Subj(NamedTuple):
    """A party of the application as the subject of findings (the decision's ``Subj``)."""

    kind: Subject
    ref: str  # VIN, driver ref, section id, or "" for the application / entity
    label: str  # shown to people: masked where it is personal data
    path: str  # field path in the application, e.g. "vehicles[1]"
    order: int  # position in the application, for stable grouping


class Found(NamedTuple):
    """A finding as the engine keeps it until the decision is built: the fields of the decision's
    ``Finding``, with the values already JSON-native (:func:`jv`) and the threshold still the
    :class:`Param` it comes from."""

    rule_id: str
    outcome: Outcome
    subject: Subj
    reason: str
    values: dict[str, Any]
    field: str | None
    observed: Any
    threshold: Param | None


CheckFn = Callable[["Ctx"], Iterable[Found]]

_found = tuple.__new__  # Found made as its tuple (``_found(Found, (...))``), without the named tuple's own ``__new__`` call


@dataclass(frozen=True)
class Check:
    rule_id: str
    fn: CheckFn
    params: tuple[str, ...]
    reasons: frozenset[str]
    home: bool = False  # judges notices by whether the pack's home province issued them
    records: bool = False  # reads the regulator's records (``Ctx.registry``): judged only under review
    shapes: tuple[tuple[str, Any], ...] = ()  # (parameter, the type its set values must have)
    optional: frozenset[str] = frozenset()  # parameters it judges without when null (not set)


REGISTRY: dict[str, Check] = {}


def check(rule_id: str, *, params: tuple[str, ...] = (), reasons: tuple[str, ...] = (), home: bool = False,
          records: bool = False, shapes: dict[str, Any] | None = None, optional: tuple[str, ...] = ()) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check of ``rule_id``. ``shapes``: for a parameter whose value is a
    list, a table or a mapping, the type the check reads it as; ``optional``: the parameters it
    can judge without, when the pack leaves them null (not set). A pack whose value has another
    shape, or is null where the check needs it, is refused when it is read
    (:func:`parameter_shape_problems`)."""

    def register(fn: CheckFn) -> CheckFn:
        if rule_id in REGISTRY:
            raise RuntimeError(f"two checks registered for {rule_id}")
        REGISTRY[rule_id] = Check(rule_id, fn, tuple(params), frozenset(reasons) | COMMON_REASONS, home, records,
                                  tuple((shapes or {}).items()), frozenset(optional))
        return fn

    return register


_ADAPTERS: dict[int, Any] = {}


def parameter_shape_problems(pack: Pack) -> list[str]:
    """Where a set value of a parameter does not have the shape a check of ``pack`` reads it as
    (strictly: a number is no text, a text no list): ``parameters.<id>: the value from <date>…``.
    A pack with such a value would fail that check on every application."""
    from pydantic import TypeAdapter, ValidationError

    out: list[str] = []
    for rid in pack.rules:
        chk = REGISTRY.get(rid)
        if chk is None:
            continue
        for name in chk.params:
            param = pack.parameters.get(name)
            if param is not None and name not in chk.optional:
                out += [f"parameters.{name}: the value from {v.effective_from.isoformat()} is null (not set), but {rid} cannot judge without it"
                        for v in param.values if v.value is None]
        for name, shape in chk.shapes:
            param = pack.parameters.get(name)
            if param is None:
                continue
            adapter = _ADAPTERS.get(id(shape))
            if adapter is None:
                adapter = _ADAPTERS[id(shape)] = TypeAdapter(shape)
            for v in param.values:
                if v.value is None:  # not set
                    continue
                try:
                    adapter.validate_python(v.value, strict=True)
                except ValidationError as exc:
                    err = exc.errors()[0]
                    at = (" at " + "".join(f"[{p!r}]" for p in err["loc"])) if err["loc"] else ""
                    out.append(f"parameters.{name}: the value from {v.effective_from.isoformat()}{at}: {err['msg']} (as {rid} reads it)")
    return sorted(set(out))


# ---------------------------------------------------------------- values


_NATIVE = frozenset({str, int, bool, type(None)})


def jv(value: Any) -> Any:
    """A JSON-native, deterministic form of a value for a finding: built of exactly ``str``,
    ``int``, ``bool``, ``None``, ``list`` and ``dict`` (an enum member becomes its plain value), so
    that the decision's JSON is made of a finding's values as they are."""
    if type(value) in _NATIVE:  # the common case, by exact type (most values of most findings)
        return value
    if type(value) is list:  # the next most common: a list of texts
        return [v if type(v) in _NATIVE else jv(v) for v in value]
    if isinstance(value, str):  # a str enum (its text is its value), or another subclass of str
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):  # an int enum, or another subclass of int
        return int.__int__(value)
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


def _jv_values(values: dict[str, Any]) -> dict[str, Any]:
    """:func:`jv` of each value of a finding's keyword values (most are already JSON-native: then
    the dict itself, a check's own keyword arguments)."""
    for v in values.values():
        if type(v) not in _NATIVE:
            return {k: v if type(v) in _NATIVE else jv(v) for k, v in values.items()}
    return values


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


_ORDERING = {Comparison.ge: operator.ge, Comparison.gt: operator.gt, Comparison.le: operator.le,
             Comparison.lt: operator.lt, Comparison.eq: operator.eq}


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
    def threshold_json(self) -> dict[str, Any]:
        """The threshold as it is in the decision's JSON (made once per parameter in force)."""
        return self._threshold.model_dump(mode="json")

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
        return self._judge(observed)

    @cached_property
    def _judge(self) -> Callable[[Any], bool]:
        """:func:`compare` with this threshold, its decimal worked out once (a parameter in force
        is made once per pack and as-of date)."""
        comparison, value = self.defn.comparison, self.value
        op = _ORDERING.get(comparison)
        if op is None or not isinstance(value, int | float | Decimal):
            return lambda observed: compare(observed, comparison, value)
        t = Decimal(str(value))

        def judge(observed: Any) -> bool:
            if type(observed) is int or type(observed) is Decimal:  # compared with a Decimal exactly as they are
                return op(observed, t)
            return op(Decimal(str(observed)) if isinstance(observed, int | float | Decimal) else observed, t)

        return judge


class Subjects:
    """The parties of an application as finding subjects, built once per evaluation."""

    def __init__(self, app: Application, id_form: IdMask):
        self.application = Subj(Subject.application, app.application_id or "", "", "", 0)
        self.entity = Subj(Subject.entity, app.entity.credit_code, app.entity.name, "entity", 0)
        # each driver's ID number as it may be shown (the pack's mask), made once
        self.masked_ids = [mask("id_number", d.id_number, id_form) for d in app.drivers]
        self.drivers = [
            (f"drivers[{i}]", d, Subj(Subject.driver, d.ref, f"{d.name} ({self.masked_ids[i]})", f"drivers[{i}]", i))
            for i, d in enumerate(app.drivers)
        ]
        self.vehicles = [
            (f"vehicles[{i}]", v, Subj(Subject.vehicle, v.vin, v.brand_model or "", f"vehicles[{i}]", i))
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
    def application_subject(self) -> Subj:
        return self.subjects.application

    def entity_subject(self) -> Subj:
        return self.subjects.entity

    def drivers(self) -> Iterator[tuple[str, Driver, Subj]]:
        return iter(self.subjects.drivers)

    def vehicles(self) -> Iterator[tuple[str, Vehicle, Subj]]:
        return iter(self.subjects.vehicles)

    def section_subject(self, index: int, section_id: str) -> Subj:
        sec = self.pack.sections.get(section_id)
        label = sec.name.zh if sec else ""
        return Subj(Subject.section, section_id, label, f"sections[{index}]", index)

    # findings ------------------------------------------------------------
    def finding(
        self,
        outcome: Outcome,
        subject: Subj,
        reason: str,
        *,
        field: str | None = None,
        observed: Any = None,
        threshold: Param | None = None,
        **values: Any,
    ) -> Found:
        return _found(Found, (self.rule.id, outcome, subject, reason, _jv_values(values) if values else {},
                     field, observed if type(observed) in _NATIVE else jv(observed), threshold))

    # ok, fail and missing are :meth:`finding` written out (they make most findings)
    def ok(self, subject: Subj, reason: str = "ok", *, field: str | None = None, observed: Any = None,
           threshold: Param | None = None, **values: Any) -> Found:
        return _found(Found, (self.rule.id, Outcome.passed, subject, reason, _jv_values(values) if values else {},
                     field, observed if type(observed) in _NATIVE else jv(observed), threshold))

    def fail(self, subject: Subj, reason: str, *, field: str | None = None, observed: Any = None,
             threshold: Param | None = None, **values: Any) -> Found:
        return _found(Found, (self.rule.id, Outcome.failed, subject, reason, _jv_values(values) if values else {},
                     field, observed if type(observed) in _NATIVE else jv(observed), threshold))

    def missing(self, subject: Subj, field: str) -> Found:
        return _found(Found, (self.rule.id, Outcome.missing, subject, "missing", {"field_path": jv(field)}, field, None, None))

    def na(self, subject: Subj, reason: str, **kw: Any) -> Found:
        return self.finding(Outcome.not_applicable, subject, reason, **kw)

    def measured(self, subject: Subj, param: str, observed: Any, *, field: str, reason: str, **values: Any) -> Found:
        """Compare ``observed`` with parameter ``param``: a pass (``ok``) or a fail with ``reason``."""
        p = self.param(param)
        if p.met_by(observed):
            return self.ok(subject, field=field, observed=observed, threshold=p, **values)
        return self.fail(subject, reason, field=field, observed=observed, threshold=p, **values)

    def all_of(self, results: list[Found], passed: Found) -> list[Found]:
        """The findings of several conditions of one rule: those that did not pass, or else ``passed``."""
        bad = [r for r in results if r.outcome is not Outcome.passed]
        return bad or [passed]

    def flag(self, subject: Subj, value: bool | None, field: str, reason: str, *, expected: bool = True) -> Found:
        """A yes/no fact that must be ``expected``: pass, fail with ``reason``, or missing."""
        if value is None:
            return _found(Found, (self.rule.id, Outcome.missing, subject, "missing", {"field_path": jv(field)}, field, None, None))
        if value is expected:
            return _found(Found, (self.rule.id, Outcome.passed, subject, "ok", {}, field, value if type(value) in _NATIVE else jv(value), None))
        return _found(Found, (self.rule.id, Outcome.failed, subject, reason, {}, field, value if type(value) in _NATIVE else jv(value), None))
