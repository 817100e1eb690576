"""The engine: (application, pack, as-of date) → decision. Pure and deterministic.

No clock, no file, no network, no randomness: the as-of date is an argument (the caller's clock
supplies it), and the same arguments always give an equal decision that serialises to the same
bytes. This package imports neither textual nor sqlmodel (``tests/test_engine_purity.py``).
"""

from __future__ import annotations

from datetime import date

import pendulum

from icv_permits import __version__
from icv_permits.core.model.application import Application, Province
from icv_permits.core.model.evidence import EvidenceSummary
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.core.pack import Pack, applies
from icv_permits.core.engine import checks as _checks  # noqa: F401  (registers the check functions)
from icv_permits.core.canonical import digest
from icv_permits.core.engine.core import REGISTRY, Ctx, Param, Subjects, history_notices, notice_entries_of, renewal_verified
from icv_permits.core.engine.decision import LEGACY_DECISION_FORMAT, OUTCOME_ORDER, Decision, Finding, Outcome, RuleInfo, Verdict

__all__ = ["evaluate", "conditions_of", "application_digest", "Decision", "Finding", "Outcome", "Verdict"]

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
    """The content hash of the validated application (its canonical JSON)."""
    return digest(app.model_dump(mode="json"))


def _not_evaluated(ctx: Ctx, reason: str, **values: object) -> Finding:
    return ctx.finding(Outcome.not_evaluated, ctx.application_subject(), reason, **values)


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
    as_of = pendulum.Date(as_of.year, as_of.month, as_of.day)
    conds = conditions_of(app, registry, as_of, pack.meta.home_province)
    subjects = Subjects(app, pack.id_mask)
    notices = notice_entries_of(app, registry, as_of, pack.meta.home_province)
    in_force: dict[str, Param | None] = {}
    shared: dict = {}
    findings: list[Finding] = []
    applied: list[RuleInfo] = []
    not_applicable: list[str] = []
    for rule in pack.rules.values():
        if not applies(rule, app.activity, conds, pack):
            not_applicable.append(rule.id)
            continue
        applied.append(
            RuleInfo(
                id=rule.id,
                source=rule.citation.source,
                article=rule.citation.article,
                confidence=rule.confidence,
                severity=rule.severity,
            )
        )
        params: dict[str, Param] = {}
        unset = []
        for name in rule.params:
            if name not in in_force:
                current = pack.parameters[name].at(as_of)
                in_force[name] = None if current is None else Param(pack.parameters[name], current)
            param = in_force[name]
            if param is None:
                unset.append(name)
            else:
                params[name] = param
        ctx = Ctx(app, pack, as_of, rule, params, conds, evidence, subjects, registry, notices, shared)
        if not rule.enabled:
            findings.append(_not_evaluated(ctx, "disabled"))
            continue
        if unset:
            findings.append(_not_evaluated(ctx, "param_not_in_force", params=unset, as_of=as_of))
            continue
        if REGISTRY[rule.id].home and pack.meta.home_province is None:
            findings.append(_not_evaluated(ctx, "no_home_province"))
            continue
        for f in REGISTRY[rule.id].fn(ctx):
            if f.outcome is Outcome.failed and rule.severity == "advisory":
                f = f.model_copy(update={"outcome": Outcome.warned})
            findings.append(f)

    rule_pos = {r.id: i for i, r in enumerate(applied)}
    findings.sort(
        key=lambda f: (
            _KIND_ORDER[f.subject.kind.value],
            f.subject.order,
            OUTCOME_ORDER[f.outcome],
            rule_pos[f.rule_id],
        )
    )
    counts = {o.value: 0 for o in Outcome}
    for f in findings:
        counts[f.outcome.value] += 1
    if counts[Outcome.failed.value]:
        verdict = Verdict.non_compliant
    elif counts[Outcome.missing.value]:
        verdict = Verdict.incomplete
    else:
        verdict = Verdict.compliant
    missing = sorted({f.field for f in findings if f.outcome is Outcome.missing and f.field})
    legacy = evidence is not None and evidence.counted_by_reader  # format 1: the reader counted
    return Decision(
        **({"format": LEGACY_DECISION_FORMAT} if legacy else {}),
        verdict=verdict,
        as_of=as_of.isoformat(),
        pack_id=pack.id,
        pack_revision=pack.revision,
        pack_chain=pack.chain,
        engine_version=__version__,
        application_id=app.application_id,
        application_digest=application_digest(app),
        activity=app.activity.value,
        conditions=sorted(conds),
        counts=counts,
        rules=applied,
        rules_not_applicable=not_applicable,
        missing_fields=missing,
        findings=findings,
        evidence=evidence,
        evidence_counted=None if legacy else _counted(app, shared),
        registry=registry,
    )


def _counted(app: Application, shared: dict) -> list | None:
    """What the evidence rules counted per vehicle, in the order of the application (None when no
    rule counted trips: no trip logs, or the rules do not apply)."""
    cache = shared.get("evidence_counted")
    if not cache:
        return None
    return [cache[v.vin] for v in app.vehicles if v.vin in cache]
