"""DOP-01…03 (demonstration operation), ADD-01 (adding vehicles), YRD-01 (Yangtze River Delta
recognition), PER-01/02 (validity of notices and plates).

The entity's notice history from the pack's home province (``ctx.home``, ``pack.yaml``
``home_province``) comes from the application in a pre-check, and from the regulator's records when
a submission is reviewed (``ctx.notice_entries()``: the store wins). Either way only notices issued on
or before the as-of date are history (bounded once, in ``engine/core.py``); PER-01 warns about the
ones left out.
"""

from __future__ import annotations

from datetime import date

from icv_permits.core.model.application import Notice, NoticeKind
from icv_permits.core.engine.core import Ctx, check
from icv_permits.core.engine.decision import Outcome
from icv_permits.core.engine.dates import last_day_of, whole_months


def valid_on(n: Notice, day: date) -> bool:
    return n.start <= day <= n.valid_until


def _valid_home_das(ctx: Ctx) -> list[tuple[str, Notice]]:
    return [(i, n) for i, n in ctx.notice_entries()
            if n.kind is NoticeKind.demonstration_application and n.issuer_province is ctx.home and valid_on(n, ctx.as_of)]


@check("DOP-01", reasons=("no_da_notice", "sections_not_covered"), home=True)
def dop_01(ctx: Ctx):
    """"示范应用主体可以开展示范运营": the operator is a demonstration-application entity, i.e. holds a
    valid demonstration notice of the home province. That the notice must cover the sections is
    DOP-01a (inferred, switchable); a pack without DOP-01a (every pack logged before the split)
    still judges the sections here, so that its decisions replay alike."""
    s = ctx.entity_subject()
    das = _valid_home_das(ctx)
    if not das:
        yield ctx.fail(s, "no_da_notice", field="notices")
        return
    if "DOP-01a" not in ctx.pack.rules:
        covered = {sec for _, n in das for sec in n.sections}
        beyond = [sec for sec in ctx.app.sections if sec not in covered]
        if beyond:
            yield ctx.fail(s, "sections_not_covered", field="sections", observed=beyond, notices=[n.number for _, n in das])
            return
    yield ctx.ok(s, field="notices", notices=[n.number for _, n in das])


@check("DOP-01a", reasons=("sections_not_covered", "judged_by_dop_01"), home=True)
def dop_01a(ctx: Ctx):
    """The valid demonstration notices cover every section applied for (not seen in the sources)."""
    s = ctx.entity_subject()
    das = _valid_home_das(ctx)
    if not das:
        yield ctx.na(s, "judged_by_dop_01")
        return
    covered = {sec for _, n in das for sec in n.sections}
    beyond = [sec for sec in ctx.app.sections if sec not in covered]
    if beyond:
        yield ctx.fail(s, "sections_not_covered", field="sections", observed=beyond, notices=[n.number for _, n in das])
    else:
        yield ctx.ok(s, field="sections", notices=[n.number for _, n in das])


@check("DOP-02", params=("operation.first_max_vehicles",), reasons=("first_too_many", "not_first"), home=True)
def dop_02(ctx: Ctx):
    s = ctx.application_subject()
    earlier = [n.number for n in ctx.notices if n.kind is NoticeKind.demonstration_operation and n.issuer_province is ctx.home]
    if earlier:
        yield ctx.na(s, "not_first", observed=len(ctx.app.vehicles), notices=earlier)
        return
    yield ctx.measured(s, "operation.first_max_vehicles", len(ctx.app.vehicles), field="vehicles", reason="first_too_many")


@check("DOP-03", reasons=("da_rules_applied",))
def dop_03(ctx: Ctx):
    implied = ctx.pack.meta.activity_implies.get(ctx.app.activity, [])
    yield ctx.ok(ctx.application_subject(), "da_rules_applied", observed=[a.value for a in implied])


@check("ADD-01", reasons=("no_original_notice", "original_notice_not_valid", "configuration_differs", "necessity_not_explained"))
def add_01(ctx: Ctx):
    s = ctx.application_subject()
    adding = ctx.app.adding
    if adding is None or adding.original_notice is None:
        yield ctx.missing(s, "adding.original_notice")
        return
    notice = next((n for n in ctx.notices if n.number == adding.original_notice), None)
    if notice is None:
        yield ctx.fail(s, "no_original_notice", field="adding.original_notice", observed=adding.original_notice)
        return
    bad = []
    if not valid_on(notice, ctx.as_of):
        bad.append(ctx.fail(s, "original_notice_not_valid", field="adding.original_notice", observed=notice.number, valid_until=notice.valid_until))
    for path, v, vs in ctx.vehicles():
        if v.configuration is None:
            bad.append(ctx.missing(vs, f"{path}.configuration"))
        elif v.configuration not in notice.configurations:
            bad.append(ctx.fail(vs, "configuration_differs", field=f"{path}.configuration", observed=v.configuration,
                                allowed=notice.configurations, notice=notice.number))
    if adding.necessity_explained is None:
        bad.append(ctx.missing(s, "adding.necessity_explained"))
    elif not adding.necessity_explained:
        bad.append(ctx.fail(s, "necessity_not_explained", field="adding.necessity_explained", observed=False))
    yield from bad or [ctx.ok(s, field="adding", notice=notice.number)]


def _yrd_notices(ctx: Ctx, p) -> list[Notice]:
    """Notices of a recognised YRD province whose temporary plates are valid on the as-of date."""
    return [n for n in ctx.notices
            if p.met_by(n.issuer_province.value) and n.plates_valid_until is not None and n.plates_valid_until >= ctx.as_of]


@check("YRD-01", params=("yrd.recognised_provinces",), reasons=("no_yrd_notice", "plates_not_valid", "no_yrd_plates"),
       shapes={"yrd.recognised_provinces": list[str]})
def yrd_01(ctx: Ctx):
    """What the report shows: an entity holding temporary plates issued by another YRD province or
    city is recognised. That these come with a valid road-test notice is YRD-01a (inferred,
    switchable). A pack without YRD-01a (every pack logged before the split) is judged as before —
    a valid road-test notice with valid plates — so that its decisions replay alike."""
    s = ctx.entity_subject()
    p = ctx.param("yrd.recognised_provinces")
    if "YRD-01a" in ctx.pack.rules:
        with_plates = _yrd_notices(ctx, p)
        if not with_plates:
            yield ctx.fail(s, "no_yrd_plates", field="notices", threshold=p)
        else:
            yield ctx.ok(s, field="notices", observed=[n.number for n in with_plates], threshold=p,
                         provinces=sorted({n.issuer_province.value for n in with_plates}))
        return
    notices = [n for n in ctx.notices
               if n.kind is NoticeKind.road_test and p.met_by(n.issuer_province.value) and valid_on(n, ctx.as_of)]
    if not notices:
        yield ctx.fail(s, "no_yrd_notice", field="notices", threshold=p)
        return
    with_plates = [n for n in notices if n.plates_valid_until is not None and n.plates_valid_until >= ctx.as_of]
    if not with_plates:
        yield ctx.fail(s, "plates_not_valid", field="notices", observed=[n.number for n in notices])
    else:
        yield ctx.ok(s, field="notices", observed=[n.number for n in with_plates], threshold=p,
                     provinces=sorted({n.issuer_province.value for n in with_plates}))


@check("YRD-01a", params=("yrd.recognised_provinces",), reasons=("no_yrd_notice", "judged_by_yrd_01"),
       shapes={"yrd.recognised_provinces": list[str]})
def yrd_01a(ctx: Ctx):
    """The recognised plates come with a road-test notice of the same province valid on the as-of
    date (inferred: the report is cut off after the plates)."""
    s = ctx.entity_subject()
    p = ctx.param("yrd.recognised_provinces")
    with_plates = _yrd_notices(ctx, p)
    if not with_plates:
        yield ctx.na(s, "judged_by_yrd_01")
        return
    notices = [n for n in with_plates if n.kind is NoticeKind.road_test and valid_on(n, ctx.as_of)]
    if not notices:
        yield ctx.fail(s, "no_yrd_notice", field="notices", threshold=p, observed=[n.number for n in with_plates])
    else:
        yield ctx.ok(s, field="notices", observed=[n.number for n in notices], threshold=p)


@check("DOP-04", params=("operation.prior_operation_gate",), reasons=("no_gate", "gate_months_short", "gate_not_judged"), home=True,
       shapes={"operation.prior_operation_gate": dict[str, int | float | None]}, optional=("operation.prior_operation_gate",))
def dop_04(ctx: Ctx):
    """A gate before demonstration operation, as other cities publish (months of demonstration, total
    and per-vehicle kilometres, supervised trips). Anhui's is not known: the parameter is unset
    (null) and this rule says so. Once set, the months are judged from the entity's earliest valid
    home demonstration notice; the kilometres and trips are facts no application holds, so a set
    value for them makes the rule *missing* (the decision incomplete, for a reviewer to judge) —
    never a value that silently does nothing."""
    s = ctx.entity_subject()
    gate = ctx.param("operation.prior_operation_gate").value
    if not gate:
        yield ctx.na(s, "no_gate")
        return
    months = gate.get("min_months")
    if months is not None:
        das = [n for _, n in _valid_home_das(ctx)]
        start = min((n.start for n in das), default=None)
        held = whole_months(start, ctx.as_of) if start is not None else 0
        if held < int(months):
            yield ctx.fail(s, "gate_months_short", field="notices", observed=held, minimum=int(months))
    # every other part set (the kilometres, the trips, a key this code does not know) needs a reviewer
    unjudged = {k: v for k, v in gate.items() if k != "min_months" and v is not None}
    if unjudged:
        yield ctx.finding(Outcome.missing, s, "gate_not_judged", field="notices", gate=unjudged)
    elif months is not None and held >= int(months):
        yield ctx.ok(s, field="notices", observed=held, minimum=int(months))


def latest_notice_end(start: date, pack_months: int) -> date:
    """The last day a notice (or plate) in force from ``start`` may be valid for ``pack_months``.

    Validity covers its first and last days, so 18 months from 2025-06-10 end on 2026-12-09."""
    return last_day_of(start, pack_months)


@check("PER-01", params=("notice.max_validity_months",), reasons=("notice_too_long", "no_history", "notice_in_future"), home=True)
def per_01(ctx: Ctx):
    p = ctx.param("notice.max_validity_months")
    s = ctx.entity_subject()
    future = ctx.future_notice_entries()
    for where, n in future:  # always a warning: the applicant should see why the notice is not history
        yield ctx.finding(Outcome.warned, s, "notice_in_future", field=f"{where}.issued", observed=n.issued, notice=n.number,
                          as_of=ctx.as_of)
    if not ctx.notices:
        if not future:
            yield ctx.na(s, "no_history")
        return
    bad = []
    for where, n in ctx.notice_entries():
        if n.issuer_province is not ctx.home:
            continue
        latest = latest_notice_end(n.start, int(p.value))
        if n.valid_until > latest:
            bad.append(ctx.fail(s, "notice_too_long", field=f"{where}.valid_until", observed=n.valid_until, threshold=p,
                                notice=n.number, latest=latest))
    yield from bad or [ctx.ok(s, field="notices", threshold=p)]


@check("PER-02", params=("plate.max_validity_months",), reasons=("plates_too_long", "plates_past_notice", "no_history"), home=True)
def per_02(ctx: Ctx):
    p = ctx.param("plate.max_validity_months")
    s = ctx.entity_subject()
    with_plates = [(i, n) for i, n in ctx.notice_entries() if n.plates_valid_until is not None and n.issuer_province is ctx.home]
    if not with_plates:
        yield ctx.na(s, "no_history")
        return
    bad = []
    for i, n in with_plates:
        if n.plates_valid_until > n.valid_until:
            bad.append(ctx.fail(s, "plates_past_notice", field=f"{i}.plates_valid_until", observed=n.plates_valid_until,
                                notice=n.number, notice_valid_until=n.valid_until))
        if n.plates_issued is not None:
            latest = latest_notice_end(n.plates_issued, int(p.value))
            if n.plates_valid_until > latest:
                bad.append(ctx.fail(s, "plates_too_long", field=f"{i}.plates_valid_until", observed=n.plates_valid_until,
                                    threshold=p, notice=n.number, latest=latest))
    yield from bad or [ctx.ok(s, field="notices", threshold=p)]
