"""EVD-01…05: prior autonomous road testing before a demonstration (示范应用前置道路测试).

For now each vehicle declares a per-section summary (``vehicles[].prior_testing``); only the
sections applied for count. Computing these totals from trip logs is issue #3.
"""

from __future__ import annotations

from decimal import Decimal

from ...model.application import IncidentKind, Vehicle
from ..core import Ctx, check, format_decimal


def tested_totals(v: Vehicle, sections: set[str]) -> tuple[Decimal, Decimal]:
    """Hours and kilometres of autonomous testing of ``v`` on ``sections``."""
    hours = sum((p.hours for p in v.prior_testing if p.section in sections), Decimal(0))
    km = sum((p.km for p in v.prior_testing if p.section in sections), Decimal(0))
    return hours, km


@check("EVD-01", params=("evidence.min_hours", "evidence.min_km"), reasons=("below", "ok_hours", "ok_km"))
def evd_01(ctx: Ctx):
    ph, pk = ctx.param("evidence.min_hours"), ctx.param("evidence.min_km")
    applied = set(ctx.app.sections)
    for path, v, s in ctx.vehicles():
        hours, km = tested_totals(v, applied)
        field = f"{path}.prior_testing"
        if ph.met_by(hours):
            yield ctx.ok(s, "ok_hours", field=field, observed=hours, threshold=ph, hours=hours, km=km)
        elif pk.met_by(km):
            yield ctx.ok(s, "ok_km", field=field, observed=km, threshold=pk, hours=hours, km=km)
        else:
            need_h = Decimal(str(ph.value)) - hours
            need_k = Decimal(str(pk.value)) - km
            yield ctx.fail(s, "below", field=field, observed=hours, threshold=ph, hours=hours, km=km,
                           min_hours=ph.value, min_km=pk.value,
                           need_hours=format_decimal(need_h.quantize(Decimal("0.01"))),
                           need_km=format_decimal(need_k.quantize(Decimal("0.01"))))


def _incidents(ctx: Ctx, vin: str, kind: IncidentKind):
    return [(i, x) for i, x in enumerate(ctx.app.incidents) if x.vin == vin and x.kind is kind and x.during_road_test]


@check("EVD-02", params=("evidence.max_violations",), reasons=("violations",))
def evd_02(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        found = _incidents(ctx, v.vin, IncidentKind.violation)
        yield ctx.measured(s, "evidence.max_violations", len(found), field="incidents", reason="violations",
                           dates=[x.date for _, x in found], records=[f"incidents[{i}]" for i, _ in found])


@check("EVD-03", params=("evidence.max_responsible_accidents", "evidence.responsible_liabilities"), reasons=("responsible_accidents",))
def evd_03(ctx: Ctx):
    responsible = ctx.param("evidence.responsible_liabilities")
    for path, v, s in ctx.vehicles():
        found = _incidents(ctx, v.vin, IncidentKind.accident)
        undetermined = [(i, x) for i, x in found if x.liability is None]
        for i, _ in undetermined:
            yield ctx.missing(s, f"incidents[{i}].liability")
        if undetermined:
            continue
        counted = [(i, x) for i, x in found if responsible.met_by(x.liability.value)]
        yield ctx.measured(s, "evidence.max_responsible_accidents", len(counted), field="incidents", reason="responsible_accidents",
                           dates=[x.date for _, x in counted], liabilities=[x.liability for _, x in counted],
                           records=[f"incidents[{i}]" for i, _ in counted], not_counted=len(found) - len(counted))


@check("EVD-04", reasons=("beyond_tested",))
def evd_04(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        tested = {p.section for p in v.prior_testing if p.hours > 0 or p.km > 0}
        beyond = [sec for sec in ctx.app.sections if sec not in tested]
        if beyond:
            yield ctx.fail(s, "beyond_tested", field="sections", observed=beyond, tested=sorted(tested))
        else:
            yield ctx.ok(s, field="sections", observed=list(ctx.app.sections))


@check("EVD-05", reasons=("no_records", "records_not_submitted"))
def evd_05(ctx: Ctx):
    applied = set(ctx.app.sections)
    for path, v, s in ctx.vehicles():
        entries = [(i, p) for i, p in enumerate(v.prior_testing) if p.section in applied]
        if not entries:
            yield ctx.fail(s, "no_records", field=f"{path}.prior_testing")
            continue
        bad = []
        for i, p in entries:
            field = f"{path}.prior_testing[{i}].records_submitted"
            if p.records_submitted is None:
                bad.append(ctx.missing(s, field))
            elif not p.records_submitted:
                bad.append(ctx.fail(s, "records_not_submitted", field=field, section=p.section))
        yield from bad or [ctx.ok(s, field=f"{path}.prior_testing", sections=sorted(p.section for _, p in entries))]
