"""DRV-01…08: drivers and safety officers (驾驶人 / 安全员)."""

from __future__ import annotations

from datetime import date

from typing_extensions import TypedDict

from icv_permits.core.engine.core import Ctx, check
from icv_permits.core.engine.dates import plus_months, whole_years
from icv_permits.core.model.application import Contract, Driver, Liability, VehicleType
from icv_permits.core.model.ids import resident_id_problems


@check("DRV-01", reasons=("no_contract",))
def drv_01(ctx: Ctx):
    for path, d, s in ctx.drivers():
        if d.contract is None:
            yield ctx.missing(s, f"{path}.contract")
        elif d.contract is Contract.none:
            yield ctx.fail(s, "no_contract", field=f"{path}.contract", observed=d.contract)
        else:
            yield ctx.ok(s, field=f"{path}.contract", observed=d.contract)


# ``vehicle.licence_required``: the licence class each vehicle type needs — every type, or a vehicle
# of a missing one could not be judged
_LICENCE_REQUIRED = TypedDict("_LICENCE_REQUIRED", {t.value: str for t in VehicleType})  # type: ignore[misc]


def _assigned_vehicles(ctx: Ctx, d: Driver):
    """The vehicles a driver drives: those naming the driver, or every vehicle if none does."""
    named = [(i, v) for i, v in enumerate(ctx.app.vehicles) if d.ref in v.drivers]
    return named or list(enumerate(ctx.app.vehicles))


@check(
    "DRV-02",
    params=("driver.min_licence_years", "driver.licence_coverage", "vehicle.licence_required"),
    reasons=("class_not_covered", "too_few_years", "licence_in_future"),
    shapes={"driver.licence_coverage": dict[str, list[str]], "vehicle.licence_required": _LICENCE_REQUIRED},
)
def drv_02(ctx: Ctx):
    coverage: dict[str, list[str]] = ctx.param("driver.licence_coverage").value
    required_by_type: dict[str, str] = ctx.param("vehicle.licence_required").value
    for path, d, s in ctx.drivers():
        if d.licence is None:
            yield ctx.missing(s, f"{path}.licence")
            continue
        held = [c.value for c in d.licence.classes]
        covered = set(held)
        for c in held:
            covered.update(coverage.get(c, []))
        all_ok = True
        for i, v in _assigned_vehicles(ctx, d):
            if v.vehicle_type is None:
                yield ctx.missing(s, f"vehicles[{i}].vehicle_type")
                all_ok = False
                continue
            needed = required_by_type[v.vehicle_type.value]
            if needed not in covered:
                all_ok = False
                yield ctx.fail(
                    s, "class_not_covered", field=f"{path}.licence.classes", observed=held,
                    vin=v.vin, vehicle_type=v.vehicle_type, required_class=needed,
                )
        if d.licence.first_issued > ctx.as_of:
            yield ctx.fail(s, "licence_in_future", field=f"{path}.licence.first_issued", observed=d.licence.first_issued)
            continue
        years = whole_years(d.licence.first_issued, ctx.as_of)
        p = ctx.param("driver.min_licence_years")
        if p.met_by(years):
            if all_ok:
                yield ctx.ok(s, field=f"{path}.licence", observed=years, threshold=p, classes=held)
        else:
            eligible = plus_months(d.licence.first_issued, 12 * int(p.value))
            yield ctx.fail(s, "too_few_years", field=f"{path}.licence.first_issued", observed=years, threshold=p,
                           first_issued=d.licence.first_issued, eligible_from=eligible)


def _window_start(first_issued: date, as_of: date, cycles: int) -> date:
    """Start of the ``cycles`` most recent scoring cycles (记分周期: 12 months from each anniversary
    of the licence's first issue), the current one included."""
    current = whole_years(first_issued, as_of)
    return plus_months(first_issued, 12 * max(current - (cycles - 1), 0))


@check("DRV-03", params=("driver.full_score_lookback_cycles",), reasons=("full_score",))
def drv_03(ctx: Ctx):
    n = int(ctx.param("driver.full_score_lookback_cycles").value)
    for path, d, s in ctx.drivers():
        if d.licence is None:
            yield ctx.missing(s, f"{path}.licence")
            continue
        if d.full_score_dates is None:
            yield ctx.missing(s, f"{path}.full_score_dates")
            continue
        window_start = _window_start(d.licence.first_issued, ctx.as_of, n)
        hits = sorted(x for x in d.full_score_dates if window_start <= x <= ctx.as_of)
        if hits:
            yield ctx.fail(s, "full_score", field=f"{path}.full_score_dates", observed=hits, cycles=n, window_start=window_start,
                           threshold=ctx.param("driver.full_score_lookback_cycles"))
        else:
            yield ctx.ok(s, field=f"{path}.full_score_dates", observed=0, cycles=n, window_start=window_start)


@check("DRV-04", params=("driver.serious_violation_lookback_years",), reasons=("serious_violation",))
def drv_04(ctx: Ctx):
    p = ctx.param("driver.serious_violation_lookback_years")
    since = plus_months(ctx.as_of, -12 * int(p.value))
    for path, d, s in ctx.drivers():
        if d.serious_violations is None:
            yield ctx.missing(s, f"{path}.serious_violations")
            continue
        recent = [v for v in d.serious_violations if v.serious and since < v.date <= ctx.as_of]
        for v in recent:
            yield ctx.fail(s, "serious_violation", field=f"{path}.serious_violations", observed=v.date, kind=v.kind, since=since, threshold=p)
        if not recent:
            yield ctx.ok(s, field=f"{path}.serious_violations", observed=0, since=since)


@check("DRV-05", reasons=("drink_or_drug",))
def drv_05(ctx: Ctx):
    for path, d, s in ctx.drivers():
        yield ctx.flag(s, d.drink_or_drug_record, f"{path}.drink_or_drug_record", "drink_or_drug", expected=False)


@check("DRV-06", reasons=("responsible_serious_accident",))
def drv_06(ctx: Ctx):
    for path, d, s in ctx.drivers():
        if d.accidents is None:
            yield ctx.missing(s, f"{path}.accidents")
            continue
        bad = [a for a in d.accidents if a.death_or_serious_injury and a.liability is not Liability.none]
        for a in bad:
            yield ctx.fail(s, "responsible_serious_accident", field=f"{path}.accidents", observed=a.date, liability=a.liability)
        if not bad:
            yield ctx.ok(s, field=f"{path}.accidents", observed=0)


@check("DRV-07", params=("driver.min_training_hours",), reasons=("not_certified", "no_plan_training", "no_emergency_training", "too_few_hours"),
       optional=("driver.min_training_hours",))
def drv_07(ctx: Ctx):
    p = ctx.param("driver.min_training_hours")
    for path, d, s in ctx.drivers():
        t = d.training
        if t is None:
            yield ctx.missing(s, f"{path}.training")
            continue
        results = [
            ctx.flag(s, t.certified, f"{path}.training.certified", "not_certified"),
            ctx.flag(s, t.covers_plan, f"{path}.training.covers_plan", "no_plan_training"),
            ctx.flag(s, t.covers_emergency, f"{path}.training.covers_emergency", "no_emergency_training"),
        ]
        if p.value is not None:
            if t.hours is None:
                results.append(ctx.missing(s, f"{path}.training.hours"))
            else:
                results.append(ctx.measured(s, "driver.min_training_hours", t.hours, field=f"{path}.training.hours", reason="too_few_hours"))
        yield from ctx.all_of(results, ctx.ok(s, field=f"{path}.training", observed=t.hours))


@check("DRV-08", reasons=("id_length", "id_illegal_char", "id_birth_date", "id_check_char", "duplicate_id_number"))
def drv_08(ctx: Ctx):
    seen: dict[str, str] = {}
    masked = ctx.subjects.masked_ids  # the number is personal data: shown masked (the pack's mask)
    for path, d, s in ctx.drivers():
        problems = resident_id_problems(d.id_number)
        for p in problems:
            # only the position is shown, never a character from the number
            params = {k: v for k, v in p.params.items() if k in ("position", "length", "expected")}
            yield ctx.fail(s, f"id_{p.code}", field=f"{path}.id_number", observed=masked[s.order], **params)
        if d.id_number in seen:
            yield ctx.fail(s, "duplicate_id_number", field=f"{path}.id_number", observed=masked[s.order], other=seen[d.id_number])
        seen.setdefault(d.id_number, d.ref)
        if not problems:
            yield ctx.ok(s, field=f"{path}.id_number", observed=masked[s.order])
