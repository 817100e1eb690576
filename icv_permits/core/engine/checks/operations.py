"""OPS-01…06: operations declared in the plan (拟开展的活动)."""

from __future__ import annotations

from icv_permits.core.engine.core import Ctx, check


@check("OPS-01", reasons=("brake_tests",))
def ops_01(ctx: Ctx):
    yield ctx.flag(ctx.application_subject(), ctx.app.operations.brake_tests_on_public_roads,
                   "operations.brake_tests_on_public_roads", "brake_tests", expected=False)


@check("OPS-02", reasons=("non_staff_passengers", "real_cargo", "nothing_carried"))
def ops_02(ctx: Ctx):
    ops = ctx.app.operations
    s = ctx.application_subject()
    if not ops.carries_passengers and not ops.carries_goods:
        yield ctx.ok(s, "nothing_carried", field="operations")
        return
    if ops.carries_passengers:
        yield ctx.flag(s, ops.passengers_are_test_staff_only, "operations.passengers_are_test_staff_only", "non_staff_passengers")
    if ops.carries_goods:
        yield ctx.flag(s, ops.goods_are_ballast_only, "operations.goods_are_ballast_only", "real_cargo")


@check("OPS-03", reasons=("over_seats", "over_load", "nothing_carried"))
def ops_03(ctx: Ctx):
    ops = ctx.app.operations
    if not ops.carries_passengers and not ops.carries_goods:
        yield ctx.ok(ctx.application_subject(), "nothing_carried", field="operations")
        return
    for path, v, s in ctx.vehicles():
        bad, done = [], []
        for carried, declared, dfield, rated, rfield, reason in (
            (ops.carries_passengers, ops.max_people_per_vehicle, "operations.max_people_per_vehicle", v.rated_seats, f"{path}.rated_seats", "over_seats"),
            (ops.carries_goods, ops.max_load_kg_per_vehicle, "operations.max_load_kg_per_vehicle", v.approved_load_kg, f"{path}.approved_load_kg", "over_load"),
        ):
            if not carried:
                continue
            if declared is None:
                bad.append(ctx.missing(s, dfield))
            elif rated is None:
                bad.append(ctx.missing(s, rfield))
            elif declared > rated:
                bad.append(ctx.fail(s, reason, field=dfield, observed=declared, rated=rated, excess=declared - rated))
            else:
                done.append(ctx.ok(s, field=dfield, observed=declared, rated=rated))
        yield from bad or done


@check("OPS-04", reasons=("dangerous_goods", "unlicensed_transport"))
def ops_04(ctx: Ctx):
    ops = ctx.app.operations
    s = ctx.application_subject()
    results = [
        ctx.flag(s, ops.dangerous_goods, "operations.dangerous_goods", "dangerous_goods", expected=False),
        ctx.flag(s, ops.unlicensed_transport_business, "operations.unlicensed_transport_business", "unlicensed_transport", expected=False),
    ]
    yield from ctx.all_of(results, ctx.ok(s, field="operations"))


@check("OPS-05", reasons=("no_risk_notice", "nothing_carried"))
def ops_05(ctx: Ctx):
    ops = ctx.app.operations
    s = ctx.application_subject()
    if not ops.carries_passengers and not ops.carries_goods:
        yield ctx.na(s, "nothing_carried")
        return
    yield ctx.flag(s, ops.risk_notice_to_riders, "operations.risk_notice_to_riders", "no_risk_notice")


@check("OPS-06", reasons=("autonomous_off_sections",))
def ops_06(ctx: Ctx):
    yield ctx.flag(ctx.application_subject(), ctx.app.operations.autonomous_only_on_declared_sections,
                   "operations.autonomous_only_on_declared_sections", "autonomous_off_sections")
