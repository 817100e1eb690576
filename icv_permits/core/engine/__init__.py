"""The engine: (application, pack, as-of date) → decision. Pure and deterministic.

No clock, no file, no network, no randomness: the as-of date is an argument (the caller's clock
supplies it), and the same arguments always give an equal decision that serialises to the same
bytes. This package imports neither textual nor sqlmodel (``tests/test_engine_purity.py``).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pendulum

from icv_permits import __version__
from icv_permits.core.canonical import canonical_bytes_floatless
from icv_permits.core.engine import checks as _checks  # noqa: F401  (registers the check functions)
from icv_permits.core.engine.core import (
    REGISTRY,
    parameter_shape_problems,
    Ctx,
    Found,
    Param,
    Subjects,
    history_notices,
    notice_entries_of,
    renewal_verified,
)
from icv_permits.core.engine.decision import (
    DECISION_FORMAT,
    LEGACY_DECISION_FORMAT,
    OUTCOME_ORDER,
    Decision,
    Finding,
    Outcome,
    RuleInfo,
    SubjectRef,
    Verdict,
)
from icv_permits.core.model.application import Activity, Application, Province
from icv_permits.core.model.evidence import EvidenceSummary
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.core.pack import Pack, applies

__all__ = ["Decision", "Finding", "Outcome", "Verdict", "application_digest", "conditions_of", "evaluate", "evaluate_json",
           "parameter_shape_problems"]

_KIND_ORDER = {"application": 0, "entity": 1, "section": 2, "driver": 3, "vehicle": 4}


def conditions_of(app: Application, registry: RegistryFacts | None = None, as_of: date | None = None,
                  home: Province | None = None) -> frozenset[str]:
    """The conditions a rule's ``requires``/``unless`` are matched against; ``on_record`` holds
    when the regulator's records are given (a submission under review, not a pre-check).

    ``renewal`` is what the applicant claims; ``renewal_verified`` is derived: the claim holds and
    every vehicle is on an earlier demonstration notice of the home province of the entity in its history on
    ``as_of`` (the application's notices in a pre-check, the records in a review)."""
    conds = {name for name, on in app.modifiers.model_dump().items() if on}
    if registry is not None:
        conds.add("on_record")
    if app.modifiers.renewal and as_of is not None and renewal_verified(app, history_notices(app, registry, as_of, home), home):
        conds.add("renewal_verified")
    ops = app.operations
    if ops.carries_passengers:
        conds.add("carries_passengers")
    if ops.carries_goods:
        conds.add("carries_goods")
    if ops.fee_charged:
        conds.add("fee_charged")
    if any(v.connected_remote_control for v in app.vehicles):
        conds.add("connected_remote_control")
    return frozenset(conds)


def application_digest(app: Application) -> str:
    """The content hash of the validated application (its canonical JSON; the model's schema holds
    no float and no free mapping key, see :func:`~icv_permits.core.canonical.canonical_bytes_floatless`)."""
    return "sha256:" + hashlib.sha256(canonical_bytes_floatless(app.model_dump(mode="json"))).hexdigest()


def _not_evaluated(ctx: Ctx, reason: str, **values: object) -> Found:
    return ctx.finding(Outcome.not_evaluated, ctx.application_subject(), reason, **values)


# ---------------------------------------------------------------- what is worked out once per pack


class _Plan:
    """What the engine works out once per pack object and reuses for every application: the rules
    in the pack's order with their check and catalogue facts, which rules apply to an activity
    under a set of conditions, and the parameters in force on an as-of date.

    It is keyed on the pack object itself (a pack is immutable; a changed pack is a new object)
    and on the arguments of the evaluation, never on a clock, so the engine stays pure: the same
    arguments give the same decision whether or not a plan was cached."""

    MAX_ENTRIES = 256  # as-of dates / (activity, conditions) pairs kept per pack

    def __init__(self, pack: Pack):
        self.pack = pack
        self.rules = []
        for rule in pack.rules.values():
            info = RuleInfo(id=rule.id, source=rule.citation.source, article=rule.citation.article,
                            confidence=rule.confidence, severity=rule.severity)
            self.rules.append((rule, info, info.model_dump(mode="json")))
        self._applicable: dict[tuple, tuple[list, list[str]]] = {}
        self._in_force: dict[date, dict[str, Param | None]] = {}
        self._steps: dict[tuple, list[tuple]] = {}

    def applicable(self, activity: Activity, conds: frozenset[str]) -> tuple[list, list[str]]:
        """(the rules that apply with their positions, the IDs of those that do not)."""
        key = (activity, conds)
        hit = self._applicable.get(key)
        if hit is None:
            if len(self._applicable) >= self.MAX_ENTRIES:
                self._applicable.clear()
            applied, not_applicable = [], []
            for entry in self.rules:
                if applies(entry[0], activity, conds, self.pack):
                    applied.append(entry)
                else:
                    not_applicable.append(entry[0].id)
            hit = self._applicable[key] = (applied, not_applicable)
        return hit

    def steps(self, activity: Activity, conds: frozenset[str], as_of: date) -> list[tuple]:
        """What evaluating each applicable rule takes, in order: ``(rule, check function, parameters
        in force, why it is not evaluated or None, advisory)`` — all of it known from the pack, the
        activity, the conditions and the as-of date, before any application is looked at."""
        key = (activity, conds, as_of)
        hit = self._steps.get(key)
        if hit is None:
            if len(self._steps) >= self.MAX_ENTRIES:
                self._steps.clear()
            in_force = self.in_force(as_of)
            home = self.pack.meta.home_province
            hit = []
            for rule, _info, _json in self.applicable(activity, conds)[0]:
                params = {name: in_force[name] for name in rule.params if in_force[name] is not None}
                unset = [name for name in rule.params if in_force[name] is None]
                chk = REGISTRY[rule.id]
                skipped = None
                if not rule.enabled:
                    skipped = ("disabled", {})
                elif unset:
                    skipped = ("param_not_in_force", {"params": unset, "as_of": as_of})
                elif chk.home and home is None:
                    skipped = ("no_home_province", {})
                elif chk.records and "on_record" not in conds:  # a pack whose rule does not require on_record
                    skipped = ("no_records", {})
                hit.append((rule, chk.fn, params, skipped, rule.severity == "advisory"))
            self._steps[key] = hit
        return hit

    def in_force(self, as_of: date) -> dict[str, Param | None]:
        """Every parameter of the pack as in force on ``as_of`` (``None``: not in force)."""
        hit = self._in_force.get(as_of)
        if hit is None:
            if len(self._in_force) >= self.MAX_ENTRIES:
                self._in_force.clear()
            hit = {}
            for name, defn in self.pack.parameters.items():
                current = defn.at(as_of)
                hit[name] = None if current is None else Param(defn, current)
            self._in_force[as_of] = hit
        return hit


_PLANS: dict[int, _Plan] = {}
_MAX_PLANS = 16


def _plan(pack: Pack) -> _Plan:
    plan = _PLANS.get(id(pack))
    if plan is None or plan.pack is not pack:  # the plan holds its pack, so an id is never reused while cached
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()  # (not one by one: safe when threads of a replay evaluate at once)
        plan = _PLANS[id(pack)] = _Plan(pack)
    return plan


# ---------------------------------------------------------------- evaluating


class _Run:
    """The findings of one evaluation, compact, with what both boundaries (the decision's model,
    or its JSON) need."""

    __slots__ = ("app", "applied", "as_of", "conds", "evidence", "found", "not_applicable", "pack", "registry", "shared")


_OUTCOME_RANK = {o._value_: rank for o, rank in OUTCOME_ORDER.items()}
_OUTCOME_VALUES = [o._value_ for o in Outcome]


def _run(app: Application, pack: Pack, as_of: date, evidence: EvidenceSummary | None, registry: RegistryFacts | None) -> _Run:
    as_of = pendulum.Date(as_of.year, as_of.month, as_of.day)
    home = pack.meta.home_province
    conds = conditions_of(app, registry, as_of, home)
    plan = _plan(pack)
    applied, not_applicable = plan.applicable(app.activity, conds)
    shared: dict = {}
    found: list[Found] = []
    ctx = Ctx(app, pack, as_of, applied[0][0] if applied else None, {}, conds, evidence, Subjects(app, pack.id_mask),
              registry, notice_entries_of(app, registry, as_of, home), shared)
    for rule, fn, params, skipped, advisory in plan.steps(app.activity, conds, as_of):
        ctx.rule = rule  # one context for the whole evaluation: a check runs to its end before the next
        ctx._params = params
        if skipped is not None:
            found.append(_not_evaluated(ctx, skipped[0], **skipped[1]))
            continue
        if advisory:
            for f in fn(ctx):
                found.append(f._replace(outcome=Outcome.warned) if f.outcome is Outcome.failed else f)
        else:
            found.extend(fn(ctx))
    # by subject, then outcome, then rule: the steps run in the rules' order and each appends only
    # its own rule's findings, so a stable sort keeps the rules' order within a subject and outcome
    kind_rank, outcome_rank = _KIND_ORDER, _OUTCOME_RANK
    found.sort(key=lambda f: (kind_rank[f[2][0]._value_], f[2][4], outcome_rank[f[1]._value_]))  # (subject.kind, subject.order, outcome)
    run = _Run()
    run.app, run.pack, run.as_of, run.conds, run.evidence, run.registry = app, pack, as_of, conds, evidence, registry
    run.found, run.applied, run.not_applicable, run.shared = found, applied, not_applicable, shared
    return run


def _head(run: _Run) -> tuple[dict[str, int], Verdict, list[str], bool]:
    counts = dict.fromkeys(_OUTCOME_VALUES, 0)
    missing = set()
    for _rule, outcome, _subject, _reason, _values, field, _observed, _threshold in run.found:
        value = outcome._value_
        counts[value] += 1
        if value == "missing" and field:
            missing.add(field)
    if counts["fail"]:
        verdict = Verdict.non_compliant
    elif counts["missing"]:
        verdict = Verdict.incomplete
    else:
        verdict = Verdict.compliant
    legacy = run.evidence is not None and run.evidence.counted_by_reader  # format 1: the reader counted
    return counts, verdict, sorted(missing), legacy


_new = object.__new__
_set = object.__setattr__
_FINDING_FIELDS = frozenset(Finding.model_fields)
_SUBJECT_FIELDS = frozenset(SubjectRef.model_fields)


def _made(cls: type, fields_set: frozenset[str], data: dict) -> object:
    """A model instance of already valid, already normalised field values, made without validating
    them again (as ``model_construct`` does, without its per-field work): the values here are what
    the engine itself produced, and the model would keep them unchanged."""
    m = _new(cls)
    _set(m, "__dict__", data)
    _set(m, "__pydantic_fields_set__", fields_set)
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


def _decision(run: _Run) -> Decision:
    counts, verdict, missing, legacy = _head(run)
    subjects: dict[int, SubjectRef] = {}  # by id: the subjects live as long as the run
    findings = []
    append = findings.append
    for rule_id, outcome, s, reason, values, field, observed, th in run.found:  # a Found, unpacked
        ref = subjects.get(id(s))
        if ref is None:
            ref = subjects[id(s)] = _made(SubjectRef, _SUBJECT_FIELDS,
                                      {"kind": s.kind, "ref": s.ref, "label": s.label, "path": s.path, "order": s.order})
        append(_made(Finding, _FINDING_FIELDS, {
            "rule_id": rule_id, "outcome": outcome, "subject": ref, "reason": reason, "values": values,
            "field": field, "observed": observed, "threshold": None if th is None else th.threshold(),
        }))
    app, pack = run.app, run.pack
    return Decision(
        **({"format": LEGACY_DECISION_FORMAT} if legacy else {}),
        verdict=verdict,
        as_of=run.as_of.isoformat(),
        pack_id=pack.id,
        pack_revision=pack.revision,
        pack_chain=pack.chain,
        engine_version=__version__,
        application_id=app.application_id,
        application_digest=application_digest(app),
        activity=app.activity.value,
        conditions=sorted(run.conds),
        counts=counts,
        rules=[entry[1] for entry in run.applied],
        rules_not_applicable=list(run.not_applicable),
        missing_fields=missing,
        findings=findings,
        evidence=run.evidence,
        evidence_counted=None if legacy else _counted(app, run.shared),
        registry=run.registry,
    )


def evaluate(
    app: Application,
    pack: Pack,
    as_of: date,
    evidence: EvidenceSummary | None = None,
    registry: RegistryFacts | None = None,
) -> Decision:
    """Check ``app`` against every applicable rule of ``pack`` as in force on ``as_of``.

    ``evidence`` is what the application's trip logs and incident records add up to (read by the
    service layer); without it, the per-vehicle summaries in the application are judged.
    ``registry`` is what the regulator's records say (a submission under review): the entity's
    notices of the pack's home province then come from it, and the cross-application rules apply."""
    return _decision(_run(app, pack, as_of, evidence, registry))


def evaluate_json(
    app: Application,
    pack: Pack,
    as_of: date,
    evidence: EvidenceSummary | None = None,
    registry: RegistryFacts | None = None,
    fmt: str | None = None,
) -> dict[str, Any]:
    """``evaluate(...).in_format(fmt).to_json_dict()`` (``fmt`` ``None``: the decision's own
    layout), built straight from the engine's compact findings without the decision's models: the
    path of ``audit replay``, which compares whole decisions as JSON. ``tests/test_engine_golden.py``
    holds its bytes equal to the model's. The findings of one subject share its object, and those
    of one parameter its threshold: the result is for reading (comparing, hashing, showing); a
    caller that changes a part of a finding copies it first. The evaluation's own objects are
    never shared with what it returns."""
    run = _run(app, pack, as_of, evidence, registry)
    counts, verdict, missing, legacy = _head(run)
    own = LEGACY_DECISION_FORMAT if legacy else DECISION_FORMAT
    counted = None if legacy else _counted(app, run.shared)
    fmt = own if fmt is None else fmt
    if fmt != own:  # as Decision.in_format: a layout the decision reads the same in, else its own
        if fmt == LEGACY_DECISION_FORMAT and counted is None and (evidence is None or evidence.counted_by_reader):
            legacy = True
        elif not (fmt == DECISION_FORMAT and evidence is None):
            fmt = own
    subjects: dict[int, dict] = {}
    thresholds: dict[int, dict] = {}
    findings = []
    append = findings.append
    for rule_id, outcome, s, reason, values, field, observed, th in run.found:  # a Found, unpacked
        ref = subjects.get(id(s))
        if ref is None:
            ref = subjects[id(s)] = {"kind": s.kind._value_, "ref": s.ref, "label": s.label, "path": s.path, "order": s.order}
        if th is not None:
            th_json = thresholds.get(id(th))
            if th_json is None:
                th_json = thresholds[id(th)] = dict(th.threshold_json)  # the parameter's own is kept for the next evaluation
        append({
            "rule_id": rule_id, "outcome": outcome._value_, "subject": ref, "reason": reason,
            "values": values, "field": field, "observed": observed,
            "threshold": None if th is None else th_json,
        })
    out = {
        "format": fmt,
        "verdict": verdict._value_,
        "as_of": run.as_of.isoformat(),
        "pack_id": pack.id,
        "pack_revision": pack.revision,
        "pack_chain": list(pack.chain),
        "engine_version": __version__,
        "application_id": app.application_id,
        "application_digest": application_digest(app),
        "activity": app.activity.value,
        "conditions": sorted(run.conds),
        "counts": counts,
        "rules": [dict(entry[2]) for entry in run.applied],
        "rules_not_applicable": list(run.not_applicable),
        "missing_fields": missing,
        "findings": findings,
        "evidence": None if evidence is None else evidence.model_dump(mode="json"),
        "evidence_counted": None if counted is None else [v.model_dump(mode="json") for v in counted],
        "registry": None if registry is None else registry.model_dump(mode="json"),
    }
    if fmt == LEGACY_DECISION_FORMAT:
        out.pop("evidence_counted")  # format 1 had no such key
    return out


def _counted(app: Application, shared: dict) -> list | None:
    """What the evidence rules counted per vehicle, in the order of the application (None when no
    rule counted trips: no trip logs, or the rules do not apply)."""
    cache = shared.get("evidence_counted")
    if not cache:
        return None
    return [cache[v.vin] for v in app.vehicles if v.vin in cache]
