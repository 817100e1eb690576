"""EVD-01…05: prior autonomous road testing before a demonstration (示范应用前置道路测试).

Where the application attaches trip logs, the evidence reader hands over trip buckets (vehicle ×
section × road-test notice × mode × speed class); which of them count is decided here, from the
pack's parameters: ``evidence.counted_modes``, ``evidence.sections_applied_for_only``,
``evidence.road_test_notice_required`` and ``evidence.max_average_speed_kmh``. The totals so counted
decide; a per-vehicle summary typed into the application is then only cross-checked, and a
difference is reported. Without trip logs the summary (``vehicles[].prior_testing``) is judged.

A renewal (``modifiers.renewal``) needs no prior testing for a vehicle on an earlier demonstration
notice of the entity in its history; every other vehicle of it is judged as a first application,
and EVD-01 says why its renewal was not accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from icv_permits.core.model.application import Incident, IncidentKind, NoticeKind, Vehicle
from icv_permits.core.model.evidence import (
    ExcludedTotals,
    Exclusion,
    SectionTotals,
    Totals,
    TripBucket,
    VehicleEvidence,
    hours_of,
    km_of,
)
from icv_permits.core.engine.core import DEMONSTRATION_NOTICES, Ctx, Found, Param, check, format_decimal
from icv_permits.core.engine.decision import Outcome

# the counting parameters the evidence rules judge without when null: a switch left unset is off,
# and no speed limit means none is applied
UNSET_ALLOWED = ("evidence.sections_applied_for_only", "evidence.road_test_notice_required", "evidence.max_average_speed_kmh")

COUNTING_PARAMS = (
    "evidence.counted_modes",
    "evidence.sections_applied_for_only",
    "evidence.road_test_notice_required",
    "evidence.max_average_speed_kmh",
)


@dataclass(frozen=True)
class Counting:
    """Which trip buckets count, as the pack says on the as-of date."""

    modes: frozenset[str]
    sections: frozenset[str] | None  # None: every section
    notices: dict[str, frozenset[str]] | None  # per VIN, the road-test notices trips must run inside; None: none needed
    speed: Param | None  # evidence.max_average_speed_kmh; None: no limit

    def why_not(self, b: TripBucket) -> Exclusion | None:
        """Why bucket ``b`` does not count (the first condition it fails), or None when it counts."""
        if b.mode.value not in self.modes:
            return Exclusion.manual_mode
        if self.sections is not None and b.section not in self.sections:
            return Exclusion.section_not_applied
        if self.notices is not None and (b.notice is None or b.notice not in self.notices.get(b.vin, ())):
            return Exclusion.no_valid_notice
        if self.speed is not None and self.speed.value is not None and not self.speed.met_by(b.max_kmh):
            return Exclusion.implausible_speed
        return None


def counting_of(ctx: Ctx, params: dict[str, Param] | None = None) -> Counting:
    get = (lambda n: params[n]) if params is not None else ctx.param
    notices = None
    if get("evidence.road_test_notice_required").value:
        notices = {}
        for n in ctx.notices:
            if n.kind is NoticeKind.road_test:
                for vin in n.vins:
                    notices[vin] = notices.get(vin, frozenset()) | {n.number}
    return Counting(
        modes=frozenset(get("evidence.counted_modes").value),
        sections=frozenset(ctx.app.sections) if get("evidence.sections_applied_for_only").value else None,
        notices=notices,
        speed=get("evidence.max_average_speed_kmh"),
    )


def tally(vin: str, buckets: Iterable[TripBucket], c: Counting) -> VehicleEvidence:
    """What counts of one vehicle's buckets under ``c``: totals, by section, and what is left out by reason."""
    trips = us = m = ov_trips = ov_us = ov_m = 0
    sections: dict[str, list[int]] = {}
    excluded: dict[Exclusion, list[int]] = {}
    for b in buckets:
        why = c.why_not(b)
        if why is None:
            trips += b.credited_trips
            us += b.us
            m += b.m
            ov_trips += b.overlap_trips
            ov_us += b.overlap_us
            ov_m += b.overlap_m
            sec = sections.setdefault(b.section, [0, 0, 0])
            sec[0] += b.credited_trips
            sec[1] += b.us
            sec[2] += b.m
        else:
            ex = excluded.setdefault(why, [0, 0, 0])
            ex[0] += b.trips
            ex[1] += b.us + b.overlap_us
            ex[2] += b.m + b.overlap_m
    if ov_trips or ov_us or ov_m:
        excluded[Exclusion.overlap] = [ov_trips, ov_us, ov_m]
    return VehicleEvidence(
        vin=vin,
        counted=Totals(trips=trips, hours=hours_of(us), km=km_of(m)),
        by_section=[SectionTotals(section=k, trips=v[0], hours=hours_of(v[1]), km=km_of(v[2])) for k, v in sorted(sections.items())],
        excluded=[ExcludedTotals(reason=r, trips=v[0], hours=hours_of(v[1]), km=km_of(v[2])) for r, v in sorted(excluded.items())],
        overlapping_trips=ov_trips,
    )


def declared_totals(v: Vehicle, sections: set[str]) -> tuple[Decimal, Decimal]:
    """Hours and kilometres of autonomous testing of ``v`` on ``sections``, as the application states."""
    hours = sum((p.hours for p in v.prior_testing if p.section in sections), Decimal(0))
    km = sum((p.km for p in v.prior_testing if p.section in sections), Decimal(0))
    return hours, km


def _computed(ctx: Ctx, v: Vehicle) -> VehicleEvidence | None:
    """The vehicle's counted trips (once per evaluation: EVD-01 and EVD-04 read the same parameters).

    Evidence of decision format 1 (a record or stored submission from before the engine counted)
    holds the totals the reader counted, under the conditions it applied then; they cannot be
    counted again, so they are what counts, as the engine of that time took them — and a vehicle
    without recorded totals is judged on its typed-in summary, as it was then."""
    ev = ctx.evidence
    if ev is None or not ev.has_trips:
        return None
    if ev.counted_by_reader:
        return ev.vehicle(v.vin)
    cache = ctx.shared.setdefault("evidence_counted", {})
    if v.vin not in cache:
        cache[v.vin] = tally(v.vin, ev.by_vin.get(v.vin, ()), counting_of(ctx))
    return cache[v.vin]


def _excluded(ve: VehicleEvidence) -> list[str]:
    return [f"{e.reason.value}: {e.trips} / {format_decimal(e.hours)} h / {format_decimal(e.km)} km" for e in ve.excluded]


def _renewed(ctx: Ctx, v: Vehicle, s) -> Found | None:
    """Not applicable to a vehicle whose renewal the history backs."""
    n = ctx.renewed_by(v.vin)
    return None if n is None else ctx.na(s, "renewed", notice=n.number, issued=n.issued)


def _renewal_not_accepted(ctx: Ctx, v: Vehicle, s) -> Found | None:
    """Why a vehicle of a renewal is judged as a first application: no earlier demonstration notice
    of the entity lists it (issued in Anhui on or before the as-of date)."""
    if not ctx.app.modifiers.renewal:
        return None
    earlier = [n.number for n in ctx.notices if n.kind in DEMONSTRATION_NOTICES and n.issuer_province.value == "anhui"]
    reason = "renewal_vehicle_not_on_notice" if earlier else "renewal_no_earlier_notice"
    return ctx.finding(Outcome.warned, s, reason, field="modifiers.renewal", observed=v.vin, notices=earlier, as_of=ctx.as_of,
                       source="records" if ctx.registry is not None else "application")


def _sections_applied_for_only(ctx: Ctx) -> bool:
    """``evidence.sections_applied_for_only``; always so for format-1 evidence (the reader counted
    the sections applied for only) and under a pack from before the parameter (a pack snapshot of a
    format-1 record), as the engine of that time judged."""
    ev = ctx.evidence
    if (ev is not None and ev.counted_by_reader) or not ctx.has_param("evidence.sections_applied_for_only"):
        return True
    return bool(ctx.param("evidence.sections_applied_for_only").value)


@check("EVD-01", params=("evidence.min_hours", "evidence.min_km", *COUNTING_PARAMS),
       reasons=("below", "ok_hours", "ok_km", "declared_differs", "renewed", "renewal_no_earlier_notice", "renewal_vehicle_not_on_notice"),
       shapes={"evidence.counted_modes": list[str]}, optional=UNSET_ALLOWED)
def evd_01(ctx: Ctx):
    ph, pk = ctx.param("evidence.min_hours"), ctx.param("evidence.min_km")
    only_applied = _sections_applied_for_only(ctx)
    for path, v, s in ctx.vehicles():
        applied = set(ctx.app.sections) if only_applied else {p.section for p in v.prior_testing}
        if (skip := _renewed(ctx, v, s)) is not None:
            yield skip
            continue
        if (why := _renewal_not_accepted(ctx, v, s)) is not None:
            yield why
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
    found = [(f"incidents[{i}]", x) for i, x in enumerate(ctx.app.incidents) if x.vin == vin and x.kind is kind and x.during_road_test]
    if ctx.evidence is not None:
        found += [(f"evidence.incidents[{i}]", x) for i, x in enumerate(ctx.evidence.incidents)
                  if x.vin == vin and x.kind is kind and x.during_road_test]
    return found


@check("EVD-02", params=("evidence.max_violations",), reasons=("violations", "renewed"))
def evd_02(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        if (skip := _renewed(ctx, v, s)) is not None:
            yield skip
            continue
        found = _incidents(ctx, v.vin, IncidentKind.violation)
        yield ctx.measured(s, "evidence.max_violations", len(found), field="incidents", reason="violations",
                           dates=[x.date for _, x in found], records=[w for w, _ in found])


@check("EVD-03", params=("evidence.max_responsible_accidents", "evidence.responsible_liabilities"), reasons=("responsible_accidents", "renewed"),
       shapes={"evidence.responsible_liabilities": list[str]})
def evd_03(ctx: Ctx):
    responsible = ctx.param("evidence.responsible_liabilities")
    for path, v, s in ctx.vehicles():
        if (skip := _renewed(ctx, v, s)) is not None:
            yield skip
            continue
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


@check("EVD-04", params=COUNTING_PARAMS, reasons=("beyond_tested", "renewed"), shapes={"evidence.counted_modes": list[str]}, optional=UNSET_ALLOWED)
def evd_04(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        if (skip := _renewed(ctx, v, s)) is not None:
            yield skip
            continue
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


@check("EVD-05", params=("evidence.max_average_speed_kmh",), reasons=("no_records", "records_not_submitted", "ok_trips", "implausible_speed", "renewed"),
       optional=("evidence.max_average_speed_kmh",))
def evd_05(ctx: Ctx):
    applied = set(ctx.app.sections)
    speed = ctx.param("evidence.max_average_speed_kmh")
    ev = ctx.evidence
    for path, v, s in ctx.vehicles():
        if (skip := _renewed(ctx, v, s)) is not None:
            yield skip
            continue
        if ev is not None and ev.has_trips and ev.counted_by_reader and (ve := ev.vehicle(v.vin)) is not None:
            # format 1: what the reader counted and left out is all there is (no speed classes)
            if ve.counted.trips == 0 and not ve.excluded:
                yield ctx.fail(s, "no_records", field="evidence.trips")
            else:
                yield ctx.ok(s, "ok_trips", field="evidence.trips", threshold=speed,
                             files=[f"{f.path} sha256:{f.sha256[:12]}" for f in ev.files if f.kind == "trips"],
                             trips=ve.counted.trips + sum(e.trips for e in ve.excluded if e.reason is not Exclusion.overlap))
            continue
        if ev is not None and ev.has_trips and not ev.counted_by_reader:
            buckets = ev.by_vin.get(v.vin, [])
            if not buckets:
                yield ctx.fail(s, "no_records", field="evidence.trips")
                continue
            fast = [b for b in buckets if speed.value is not None and not speed.met_by(b.max_kmh)]
            if fast:
                # an impossible average speed marks a wrong record: blocking, unless the check was asked
                # to skip bad records (--lenient), when it is a warning and the trips are not counted
                yield ctx.finding(Outcome.warned if ev.lenient else Outcome.failed, s, "implausible_speed", field="evidence.trips",
                                  observed=max(b.max_kmh for b in fast), threshold=speed, trips=sum(b.trips for b in fast),
                                  hours=hours_of(sum(b.us + b.overlap_us for b in fast)), km=km_of(sum(b.m + b.overlap_m for b in fast)))
                continue
            yield ctx.ok(s, "ok_trips", field="evidence.trips", threshold=speed,
                         files=[f"{f.path} sha256:{f.sha256[:12]}" for f in ev.files if f.kind == "trips"],
                         trips=sum(b.trips for b in buckets))
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
