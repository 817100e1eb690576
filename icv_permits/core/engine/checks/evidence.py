"""EVD-01…05: prior autonomous road testing before a demonstration (示范应用前置道路测试).

Where the application attaches trip logs, the totals computed from them (``ctx.evidence``) decide;
a per-vehicle summary typed into the application is then only cross-checked, and a difference is
reported. Without trip logs the summary (``vehicles[].prior_testing``) is judged. Only sections
applied for count.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from icv_permits.core.engine.core import Ctx, check, format_decimal
from icv_permits.core.engine.decision import Outcome
from icv_permits.core.model.application import Incident, IncidentKind, Vehicle
from icv_permits.core.model.evidence import VehicleEvidence


def declared_totals(v: Vehicle, sections: set[str]) -> tuple[Decimal, Decimal]:
    """Hours and kilometres of autonomous testing of ``v`` on ``sections``, as the application states."""
    hours = sum((p.hours for p in v.prior_testing if p.section in sections), Decimal(0))
    km = sum((p.km for p in v.prior_testing if p.section in sections), Decimal(0))
    return hours, km


def _computed(ctx: Ctx, v: Vehicle) -> VehicleEvidence | None:
    ev = ctx.evidence
    return ev.vehicle(v.vin) if ev is not None and ev.has_trips else None


def _excluded(ve: VehicleEvidence) -> list[str]:
    return [f"{e.reason.value}: {e.trips} / {format_decimal(e.hours)} h / {format_decimal(e.km)} km" for e in ve.excluded]


@check("EVD-01", params=("evidence.min_hours", "evidence.min_km"), reasons=("below", "ok_hours", "ok_km", "declared_differs"))
def evd_01(ctx: Ctx):
    ph, pk = ctx.param("evidence.min_hours"), ctx.param("evidence.min_km")
    applied = set(ctx.app.sections)
    for path, v, s in ctx.vehicles():
        ve = _computed(ctx, v)
        field = f"{path}.prior_testing"
        extra: dict = {}
        if ve is not None:
            hours, km = ve.counted.hours, ve.counted.km
            field = "evidence.trips"
            extra = {"source": "trips", "trips": ve.counted.trips, "excluded": _excluded(ve), "overlapping_trips": ve.overlapping_trips}
            if v.prior_testing:
                dh, dk = declared_totals(v, applied)
                if dh != hours or dk != km:
                    yield ctx.finding(Outcome.warned, s, "declared_differs", field=f"{path}.prior_testing",
                                      declared_hours=dh, declared_km=dk, hours=hours, km=km,
                                      diff_hours=dh - hours, diff_km=dk - km)
        else:
            hours, km = declared_totals(v, applied)
            extra = {"source": "declared"}
        if ph.met_by(hours):
            yield ctx.ok(s, "ok_hours", field=field, observed=hours, threshold=ph, hours=hours, km=km, **extra)
        elif pk.met_by(km):
            yield ctx.ok(s, "ok_km", field=field, observed=km, threshold=pk, hours=hours, km=km, **extra)
        else:
            need_h = Decimal(str(ph.value)) - hours
            need_k = Decimal(str(pk.value)) - km
            yield ctx.fail(s, "below", field=field, observed=hours, threshold=ph, hours=hours, km=km,
                           min_hours=ph.value, min_km=pk.value,
                           need_hours=format_decimal(need_h.quantize(Decimal("0.01"), rounding=ROUND_CEILING)),
                           need_km=format_decimal(need_k.quantize(Decimal("0.01"), rounding=ROUND_CEILING)), **extra)


def _incidents(ctx: Ctx, vin: str, kind: IncidentKind) -> list[tuple[str, Incident]]:
    """The vehicle's incidents during road testing, from the application and the incident files."""
    found = [(f"incidents[{i}]", x) for i, x in enumerate(ctx.app.incidents)]
    if ctx.evidence is not None:
        found += [(f"evidence.incidents[{i}]", x) for i, x in enumerate(ctx.evidence.incidents)]
    return [(where, x) for where, x in found if x.vin == vin and x.kind is kind and x.during_road_test]


@check("EVD-02", params=("evidence.max_violations",), reasons=("violations",))
def evd_02(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        found = _incidents(ctx, v.vin, IncidentKind.violation)
        yield ctx.measured(s, "evidence.max_violations", len(found), field="incidents", reason="violations",
                           dates=[x.date for _, x in found], records=[w for w, _ in found])


@check("EVD-03", params=("evidence.max_responsible_accidents", "evidence.responsible_liabilities"), reasons=("responsible_accidents",))
def evd_03(ctx: Ctx):
    responsible = ctx.param("evidence.responsible_liabilities")
    for path, v, s in ctx.vehicles():
        found = _incidents(ctx, v.vin, IncidentKind.accident)
        undetermined = [(w, x) for w, x in found if x.liability is None]
        for w, _ in undetermined:
            yield ctx.missing(s, f"{w}.liability")
        if undetermined:
            continue
        counted = [(w, x) for w, x in found if responsible.met_by(x.liability.value)]
        yield ctx.measured(s, "evidence.max_responsible_accidents", len(counted), field="incidents", reason="responsible_accidents",
                           dates=[x.date for _, x in counted], liabilities=[x.liability for _, x in counted],
                           records=[w for w, _ in counted], not_counted=len(found) - len(counted))


@check("EVD-04", reasons=("beyond_tested",))
def evd_04(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        ve = _computed(ctx, v)
        if ve is not None:
            tested = {t.section for t in ve.by_section if t.hours > 0 or t.km > 0}
        else:
            tested = {p.section for p in v.prior_testing if p.hours > 0 or p.km > 0}
        beyond = [sec for sec in ctx.app.sections if sec not in tested]
        if beyond:
            yield ctx.fail(s, "beyond_tested", field="sections", observed=beyond, tested=sorted(tested))
        else:
            yield ctx.ok(s, field="sections", observed=list(ctx.app.sections))


@check("EVD-05", params=("evidence.max_average_speed_kmh",), reasons=("no_records", "records_not_submitted", "ok_trips"))
def evd_05(ctx: Ctx):
    applied = set(ctx.app.sections)
    speed = ctx.param("evidence.max_average_speed_kmh")
    for path, v, s in ctx.vehicles():
        ve = _computed(ctx, v)
        if ve is not None:
            if ve.counted.trips == 0 and not ve.excluded:
                yield ctx.fail(s, "no_records", field="evidence.trips")
            else:
                ev = ctx.evidence
                yield ctx.ok(s, "ok_trips", field="evidence.trips", threshold=speed,
                             files=[f"{f.path} sha256:{f.sha256[:12]}" for f in ev.files if f.kind == "trips"],
                             trips=ve.counted.trips + sum(e.trips for e in ve.excluded if e.reason.value != "overlap"))
            continue
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
