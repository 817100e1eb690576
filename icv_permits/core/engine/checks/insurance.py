"""INS-01…03: insurance and guarantee letters (保险、保函), valid over the whole requested period."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from icv_permits.core.engine.core import Ctx, check
from icv_permits.core.model.application import Insurance, InsuranceKind


def uncovered(start: date, end: date, spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """The days of ``[start, end]`` (inclusive) that no span ``[a, b]`` (inclusive) covers."""
    # counted in day numbers (ordinals): the dates may be pendulum's, whose arithmetic is slow
    gaps: list[tuple[int, int]] = []
    first, last = start.toordinal(), end.toordinal()
    cursor = first
    for a, b in sorted((a.toordinal(), b.toordinal()) for a, b in spans):
        if b < cursor:
            continue
        if a > cursor:
            gaps.append((cursor, min(a - 1, last)))
        cursor = max(cursor, b + 1)
        if cursor > last:
            break
    if cursor <= last:
        gaps.append((cursor, last))
    return [(date.fromordinal(a), date.fromordinal(b)) for a, b in gaps]


def _policies(ctx: Ctx, vin: str, kinds: tuple[InsuranceKind, ...]) -> list[tuple[int, Insurance]]:
    """The policies (index, policy) of ``kinds`` that name ``vin``, in the application's order."""
    by_vin = ctx.shared.get("insurance_by_vin")
    if by_vin is None:  # once per evaluation: every insurance rule looks up every vehicle
        by_vin = ctx.shared["insurance_by_vin"] = {}
        for i, p in enumerate(ctx.app.insurance):
            for v in dict.fromkeys(p.vins):  # a VIN named twice in one policy: the policy once
                by_vin.setdefault(v, []).append((i, p))
    return [(i, p) for i, p in by_vin.get(vin, ()) if p.kind in kinds]


def _gap_values(gaps: list[tuple[date, date]]) -> list[str]:
    return [f"{a.isoformat()}~{b.isoformat()}" for a, b in gaps]


@check("INS-01", reasons=("no_compulsory", "compulsory_gap"))
def ins_01(ctx: Ctx):
    period = ctx.app.period
    for path, v, s in ctx.vehicles():
        pols = _policies(ctx, v.vin, (InsuranceKind.compulsory,))
        if not pols:
            yield ctx.fail(s, "no_compulsory", field="insurance")
            continue
        gaps = uncovered(period.start, period.end, [(p.valid_from, p.valid_to) for _, p in pols])
        if gaps:
            yield ctx.fail(s, "compulsory_gap", field="insurance", gaps=_gap_values(gaps), policies=[p.number for _, p in pols])
        else:
            yield ctx.ok(s, field="insurance", policies=[p.number for _, p in pols])


def ins_02(ctx: Ctx):
    """Liability insurance or a guarantee letter of at least the pack's amount. Registered twice:
    INS-02 for demonstration (where the draft states the amount) and INS-02a for road tests (where
    no text we have states it), so that each carries its own confidence and can be switched off."""
    p = ctx.param("insurance.min_liability_yuan")
    period = ctx.app.period
    for path, v, s in ctx.vehicles():
        pols = _policies(ctx, v.vin, (InsuranceKind.liability, InsuranceKind.guarantee_letter))
        if not pols:
            yield ctx.fail(s, "no_liability_cover", field="insurance", threshold=p)
            continue
        lacking_amount = [i for i, pol in pols if pol.amount_yuan is None]
        for i in lacking_amount:
            yield ctx.missing(s, f"insurance[{i}].amount_yuan")
        if lacking_amount:
            continue
        qualifying = [(i, pol) for i, pol in pols if p.met_by(pol.amount_yuan)]
        if not qualifying:
            best_i, best = max(pols, key=lambda ip: (ip[1].amount_yuan, -ip[0]))
            yield ctx.fail(s, "amount_below", field=f"insurance[{best_i}].amount_yuan", observed=best.amount_yuan, threshold=p,
                           shortfall=int(p.value) - (best.amount_yuan or 0), number=best.number, kind=best.kind)
            continue
        gaps = uncovered(period.start, period.end, [(pol.valid_from, pol.valid_to) for _, pol in qualifying])
        if gaps:
            yield ctx.fail(s, "liability_gap", field="insurance", threshold=p, gaps=_gap_values(gaps), policies=[pol.number for _, pol in qualifying])
        else:
            yield ctx.ok(s, field="insurance", observed=min(pol.amount_yuan or 0 for _, pol in qualifying), threshold=p,
                         policies=[pol.number for _, pol in qualifying])


for _rid in ("INS-02", "INS-02a"):
    check(_rid, params=("insurance.min_liability_yuan",), reasons=("no_liability_cover", "amount_below", "liability_gap"))(ins_02)


@check("INS-03", params=("insurance.min_per_seat_yuan",), reasons=("no_seat_cover", "no_accident_cover", "cover_gap", "per_seat_below"),
       optional=("insurance.min_per_seat_yuan",))
def ins_03(ctx: Ctx):
    p = ctx.param("insurance.min_per_seat_yuan")
    period = ctx.app.period
    for path, v, s in ctx.vehicles():
        bad = []
        for kind, reason in ((InsuranceKind.seat, "no_seat_cover"), (InsuranceKind.personal_accident, "no_accident_cover")):
            pols = _policies(ctx, v.vin, (kind,))
            if not pols:
                bad.append(ctx.fail(s, reason, field="insurance"))
                continue
            gaps = uncovered(period.start, period.end, [(pol.valid_from, pol.valid_to) for _, pol in pols])
            if gaps:
                bad.append(ctx.fail(s, "cover_gap", field="insurance", kind=kind, gaps=_gap_values(gaps)))
            if kind is InsuranceKind.seat and p.value is not None:
                for i, pol in pols:
                    if pol.per_seat_yuan is None:
                        bad.append(ctx.missing(s, f"insurance[{i}].per_seat_yuan"))
                    elif not p.met_by(pol.per_seat_yuan):
                        bad.append(ctx.fail(s, "per_seat_below", field=f"insurance[{i}].per_seat_yuan", observed=pol.per_seat_yuan, threshold=p))
        yield from bad or [ctx.ok(s, field="insurance")]
