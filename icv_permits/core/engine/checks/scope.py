"""SCO-01…04: sections, areas and the requested period (路段、区域、时间)."""

from __future__ import annotations

from datetime import date

from icv_permits.core.engine.core import Ctx, check
from icv_permits.core.engine.dates import last_day_of, months_and_days
from icv_permits.core.pack import SectionKind


@check("SCO-01", reasons=("unknown_section", "not_open_yet", "closed", "not_open_for_activity", "not_open_at_night", "duplicate_section"))
def sco_01(ctx: Ctx):
    app = ctx.app
    night = app.modifiers.night
    seen: set[str] = set()
    for i, sid in enumerate(app.sections):
        s = ctx.section_subject(i, sid)
        field = f"sections[{i}]"
        if sid in seen:
            yield ctx.fail(s, "duplicate_section", field=field, observed=sid)
            continue
        seen.add(sid)
        sec = ctx.pack.sections.get(sid)
        if sec is None:
            yield ctx.fail(s, "unknown_section", field=field, observed=sid)
            continue
        bad = []
        if sec.opened > app.period.start:
            bad.append(ctx.fail(s, "not_open_yet", field=field, observed=sid, opened=sec.opened, start=app.period.start))
        if sec.closed is not None and sec.closed <= app.period.end:
            bad.append(ctx.fail(s, "closed", field=field, observed=sid, closed=sec.closed))
        if app.activity not in sec.activities:
            bad.append(ctx.fail(s, "not_open_for_activity", field=field, observed=sid, activity=app.activity, open_for=sec.activities))
        if night and not sec.night:
            bad.append(ctx.fail(s, "not_open_at_night", field=field, observed=sid))
        yield from bad or [ctx.ok(s, field=field, observed=sid, kind=sec.kind, city=sec.city.zh)]


@check("SCO-02", params=("scope.max_period_months",), reasons=("too_long",))
def sco_02(ctx: Ctx):
    p = ctx.param("scope.max_period_months")
    period = ctx.app.period
    s = ctx.application_subject()
    if period.end < period.start:
        return  # SCO-03 reports it
    # the period covers its end day: N months from 2026-12-01 end on 2028-05-31 at the latest
    limit = last_day_of(period.start, int(p.value))
    months, days = months_and_days(period.start, date.fromordinal(period.end.toordinal() + 1))
    if period.end <= limit:
        yield ctx.ok(s, field="period", observed=months, threshold=p, months=months, days=days, latest_end=limit)
    else:
        yield ctx.fail(s, "too_long", field="period.end", observed=months, threshold=p, months=months, days=days, latest_end=limit)


@check("SCO-03", reasons=("ends_before_start", "starts_before_application"))
def sco_03(ctx: Ctx):
    app = ctx.app
    s = ctx.application_subject()
    bad = []
    if app.period.end <= app.period.start:
        bad.append(ctx.fail(s, "ends_before_start", field="period.end", start=app.period.start, end=app.period.end))
    if app.period.start < app.application_date:
        bad.append(ctx.fail(s, "starts_before_application", field="period.start", start=app.period.start, application_date=app.application_date))
    yield from bad or [ctx.ok(s, field="period", start=app.period.start, end=app.period.end)]


@check("SCO-04", reasons=("no_highway_section", "highway_without_modifier", "highway_not_open", "no_highway"))
def sco_04(ctx: Ctx):
    app = ctx.app
    s = ctx.application_subject()
    highway_ids = [sid for sid in app.sections if (sec := ctx.pack.sections.get(sid)) is not None and sec.kind is SectionKind.highway]
    if app.modifiers.highway:
        if not highway_ids:
            yield ctx.fail(s, "no_highway_section", field="sections")
            return
        closed_to_activity = [sid for sid in highway_ids if app.activity not in ctx.pack.sections[sid].activities]
        if closed_to_activity:
            yield ctx.fail(s, "highway_not_open", field="sections", observed=closed_to_activity, activity=app.activity)
        else:
            yield ctx.ok(s, field="sections", observed=highway_ids)
    elif highway_ids:
        yield ctx.fail(s, "highway_without_modifier", field="modifiers.highway", observed=highway_ids)
    else:
        yield ctx.na(s, "no_highway", observed=[])
