"""ENT-01…08: the applying entity (测试主体 / 示范应用主体)."""

from __future__ import annotations

from icv_permits.core.engine.core import Ctx, check
from icv_permits.core.engine.decision import Outcome
from icv_permits.core.model.application import BusinessScope
from icv_permits.core.model.ids import uscc_problems


@check("ENT-01", reasons=("not_legal_person", "not_registered_in_prc", "code_length", "code_illegal_char", "code_division_code", "code_check_char"))
def ent_01(ctx: Ctx):
    e = ctx.app.entity
    s = ctx.entity_subject()
    problems = uscc_problems(e.credit_code)
    for p in problems:
        yield ctx.fail(s, f"code_{p.code}", field="entity.credit_code", observed=e.credit_code, **p.params)
    if e.independent_legal_person is None:
        yield ctx.missing(s, "entity.independent_legal_person")
    elif not e.independent_legal_person:
        yield ctx.fail(s, "not_legal_person", field="entity.independent_legal_person", observed=False)
    if e.registered_in_prc is None:
        yield ctx.missing(s, "entity.registered_in_prc")
    elif not e.registered_in_prc:
        yield ctx.fail(s, "not_registered_in_prc", field="entity.registered_in_prc", observed=False)
    if not problems and e.independent_legal_person and e.registered_in_prc:
        yield ctx.ok(s, field="entity.credit_code", observed=e.credit_code)


@check("ENT-02", params=("entity.allowed_business_scopes",), reasons=("scope_not_allowed", "scope_other"),
       shapes={"entity.allowed_business_scopes": list[str]})
def ent_02(ctx: Ctx):
    """A scope in the pack's list passes. The rules' list ends in "等" (and the like), so ``other``
    with a description of the business is not refused but warned: a reviewer judges it. ``other``
    without a description fails as any scope outside the list does (as it always did)."""
    s = ctx.entity_subject()
    scopes = ctx.app.entity.business_scopes
    if scopes is None:
        yield ctx.missing(s, "entity.business_scopes")
        return
    p = ctx.param("entity.allowed_business_scopes")
    matching = [sc.value for sc in scopes if p.met_by(sc.value)]
    other = ctx.app.entity.business_scope_other
    if matching:
        yield ctx.ok(s, field="entity.business_scopes", observed=matching, threshold=p)
    elif BusinessScope.other in scopes and other:
        yield ctx.finding(Outcome.warned, s, "scope_other", field="entity.business_scope_other", observed=other, threshold=p)
    else:
        yield ctx.fail(s, "scope_not_allowed", field="entity.business_scopes", observed=[x.value for x in scopes], threshold=p)


def _capability(rule_id: str, attr: str, reason: str):
    @check(rule_id, reasons=(reason,))
    def capability_check(ctx: Ctx):
        yield ctx.flag(ctx.entity_subject(), getattr(ctx.app.entity.capabilities, attr), f"entity.capabilities.{attr}", reason)

    capability_check.__name__ = f"{rule_id.lower().replace('-', '_')}_{attr}"
    return capability_check


ent_03 = _capability("ENT-03", "test_evaluation_procedure", "no_test_procedure")
ent_04 = _capability("ENT-04", "remote_monitoring", "no_remote_monitoring")
ent_05 = _capability("ENT-05", "event_recording", "no_event_recording")
ent_06 = _capability("ENT-06", "cybersecurity", "no_cybersecurity")


@check(
    "ENT-07",
    params=("entity.consortium_min_operators",),
    reasons=("single_entity", "too_few_operators", "no_service_agreement", "no_liability_agreement", "member_code_invalid"),
)
def ent_07(ctx: Ctx):
    s = ctx.entity_subject()
    c = ctx.app.entity.consortium
    if c is None:
        yield ctx.na(s, "single_entity")
        return
    for i, m in enumerate(c.members):
        for p in uscc_problems(m.credit_code):
            yield ctx.fail(s, "member_code_invalid", field=f"entity.consortium.members[{i}].credit_code", observed=m.credit_code, member=m.name, problem=p.code)
    operators = sum(1 for m in c.members if m.operating_service_capability)
    yield ctx.measured(s, "entity.consortium_min_operators", operators, field="entity.consortium.members", reason="too_few_operators")
    for attr, reason in (("operating_services_agreement", "no_service_agreement"), ("tort_liability_agreement", "no_liability_agreement")):
        value = getattr(c, attr)
        if value is None:
            yield ctx.missing(s, f"entity.consortium.{attr}")
        elif not value:
            yield ctx.fail(s, reason, field=f"entity.consortium.{attr}", observed=False)


@check("ENT-08", reasons=("no_qualification", "qualification_expires"))
def ent_08(ctx: Ctx):
    s = ctx.entity_subject()
    q = ctx.app.entity.operating_qualification
    if q is None:
        yield ctx.fail(s, "no_qualification", field="entity.operating_qualification")
        return
    end = ctx.app.period.end
    if q.valid_until < end:
        yield ctx.fail(s, "qualification_expires", field="entity.operating_qualification.valid_until", observed=q.valid_until, period_end=end, holder=q.holder)
    else:
        yield ctx.ok(s, field="entity.operating_qualification", observed=q.valid_until, holder=q.holder)
