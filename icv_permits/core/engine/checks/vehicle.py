"""VEH-01…10: the vehicles (车辆)."""

from __future__ import annotations

from typing_extensions import TypedDict

from icv_permits.core.engine.core import Ctx, check
from icv_permits.core.model.ids import vin_problems


@check("VEH-01", params=("vehicle.allowed_categories", "vehicle.excluded_categories"), reasons=("excluded_category", "category_not_allowed"),
       shapes={"vehicle.allowed_categories": list[str], "vehicle.excluded_categories": list[str]})
def veh_01(ctx: Ctx):
    allowed = ctx.param("vehicle.allowed_categories")
    excluded = ctx.param("vehicle.excluded_categories")
    for path, v, s in ctx.vehicles():
        cat = v.category.value
        if not excluded.met_by(cat):
            yield ctx.fail(s, "excluded_category", field=f"{path}.category", observed=cat, threshold=excluded)
        elif not allowed.met_by(cat):
            yield ctx.fail(s, "category_not_allowed", field=f"{path}.category", observed=cat, threshold=allowed)
        else:
            yield ctx.ok(s, field=f"{path}.category", observed=cat, threshold=allowed)


@check("VEH-02", reasons=("registered",))
def veh_02(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        yield ctx.flag(s, v.previously_registered, f"{path}.previously_registered", "registered", expected=False)


@check("VEH-03", reasons=("inspection_not_passed", "no_safety_proof"))
def veh_03(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        ins = v.inspection
        if ins is None or ins.passed_except_durability is None:
            yield ctx.missing(s, f"{path}.inspection.passed_except_durability")
            continue
        bad = False
        if not ins.passed_except_durability:
            bad = True
            yield ctx.fail(s, "inspection_not_passed", field=f"{path}.inspection.passed_except_durability", observed=False)
        for i, item in enumerate(ins.items_not_met_due_to_ad):
            if not item.safety_proof:
                bad = True
                yield ctx.fail(s, "no_safety_proof", field=f"{path}.inspection.items_not_met_due_to_ad[{i}].safety_proof", item=item.item)
        if not bad:
            yield ctx.ok(s, field=f"{path}.inspection", exempt_items=len(ins.items_not_met_due_to_ad))


_MODE_REASONS = {
    "manual": "no_manual_mode",
    "autonomous": "no_autonomous_mode",
    "switch_prompt": "unsafe_switching",
    "instant_manual_takeover": "no_instant_takeover",
}


@check("VEH-04", reasons=tuple(_MODE_REASONS.values()))
def veh_04(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        if v.modes is None:
            yield ctx.missing(s, f"{path}.modes")
            continue
        results = [ctx.flag(s, getattr(v.modes, a), f"{path}.modes.{a}", r) for a, r in _MODE_REASONS.items()]
        yield from ctx.all_of(results, ctx.ok(s, field=f"{path}.modes"))


@check("VEH-05", params=("vehicle.required_upload_items",), reasons=("no_state_recording", "no_online_monitoring", "upload_items_missing"),
       shapes={"vehicle.required_upload_items": list[str]})
def veh_05(ctx: Ctx):
    p = ctx.param("vehicle.required_upload_items")
    for path, v, s in ctx.vehicles():
        dr = v.data_recording
        if dr is None:
            yield ctx.missing(s, f"{path}.data_recording")
            continue
        results = [
            ctx.flag(s, dr.records_state, f"{path}.data_recording.records_state", "no_state_recording"),
            ctx.flag(s, dr.online_monitoring, f"{path}.data_recording.online_monitoring", "no_online_monitoring"),
        ]
        if dr.realtime_upload is None:
            results.append(ctx.missing(s, f"{path}.data_recording.realtime_upload"))
        else:
            have = {x.value for x in dr.realtime_upload}
            lacking = [x for x in p.value if x not in have]
            if lacking:
                results.append(ctx.fail(s, "upload_items_missing", field=f"{path}.data_recording.realtime_upload", observed=sorted(have), threshold=p, lacking=lacking))
        yield from ctx.all_of(results, ctx.ok(s, field=f"{path}.data_recording.realtime_upload", threshold=p))


@check("VEH-06", params=("vehicle.pre_event_seconds", "vehicle.retention_months"), reasons=("pre_event_too_short", "retention_too_short"))
def veh_06(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        dr = v.data_recording
        for attr, param, reason in (
            ("pre_event_seconds", "vehicle.pre_event_seconds", "pre_event_too_short"),
            ("retention_months", "vehicle.retention_months", "retention_too_short"),
        ):
            value = getattr(dr, attr) if dr is not None else None
            field = f"{path}.data_recording.{attr}"
            if value is None:
                yield ctx.missing(s, field)
            else:
                yield ctx.measured(s, param, value, field=field, reason=reason)


@check("VEH-07", reasons=("no_test_zone", "no_third_party_pass"))
def veh_07(ctx: Ctx):
    """Testing in a test zone — the duty the national final is seen to state. The third-party
    inspection is its own rule, VEH-07a, which a pack may switch off; a pack without VEH-07a (every
    pack logged before the split) still judges both here, so its decisions replay alike."""
    split = "VEH-07a" in ctx.pack.rules
    for path, v, s in ctx.vehicles():
        tz = v.test_zone
        if tz is None:
            yield ctx.missing(s, f"{path}.test_zone")
            continue
        results = [ctx.flag(s, tz.tested, f"{path}.test_zone.tested", "no_test_zone")]
        if not split:
            results.append(ctx.flag(s, tz.third_party_inspection_passed, f"{path}.test_zone.third_party_inspection_passed", "no_third_party_pass"))
        yield from ctx.all_of(results, ctx.ok(s, field=f"{path}.test_zone", report=tz.report_number))


@check("VEH-07a", reasons=("no_third_party_pass",))
def veh_07a(ctx: Ctx):
    """The third-party inspection of the AD functions: not seen in any text we have (unconfirmed)."""
    for path, v, s in ctx.vehicles():
        tz = v.test_zone
        if tz is None:
            yield ctx.missing(s, f"{path}.test_zone")
            continue
        yield ctx.flag(s, tz.third_party_inspection_passed, f"{path}.test_zone.third_party_inspection_passed", "no_third_party_pass")


def accepted_markings(value: str | list[str]) -> list[str]:
    """The texts a pack accepts on the body for one activity. The sources require the text "or
    similar wording" (等字样): what counts as similar is the pack's list, not a guess of the code. A
    single text (packs before the lists) is the only one accepted."""
    return [value] if isinstance(value, str) else [str(x).replace(" ", "") for x in value]


class _Markings(TypedDict):
    """``vehicle.body_marking``: the accepted marking (a text, or several) for each activity."""

    road_test: str | list[str]
    demonstration_application: str | list[str]
    demonstration_operation: str | list[str]


@check("VEH-08", params=("vehicle.body_marking",), reasons=("wrong_marking",), shapes={"vehicle.body_marking": _Markings})
def veh_08(ctx: Ctx):
    p = ctx.param("vehicle.body_marking")
    activity = ctx.app.activity.value
    value = p.value[activity]
    accepted = accepted_markings(value)
    # a single text is shown as it always was; a list as the list (old findings replay alike)
    expected = value if isinstance(value, str) else accepted
    for path, v, s in ctx.vehicles():
        field = f"{path}.body_marking"
        if v.body_marking is None:
            yield ctx.missing(s, field)
        elif v.body_marking.replace(" ", "") not in accepted:
            yield ctx.fail(s, "wrong_marking", field=field, observed=v.body_marking, expected=expected, threshold=p)
        else:
            yield ctx.ok(s, field=field, observed=v.body_marking)


@check("VEH-09", reasons=("no_roof_lamp",))
def veh_09(ctx: Ctx):
    for path, v, s in ctx.vehicles():
        yield ctx.flag(s, v.roof_sign_lamp, f"{path}.roof_sign_lamp", "no_roof_lamp")


@check("VEH-10", reasons=("vin_length", "vin_illegal_char", "vin_check_digit", "duplicate_vin"))
def veh_10(ctx: Ctx):
    first_at: dict[str, int] = {}
    for path, v, s in ctx.vehicles():
        problems = vin_problems(v.vin)
        for p in problems:
            yield ctx.fail(s, f"vin_{p.code}", field=f"{path}.vin", observed=v.vin, **p.params)
        if v.vin in first_at:
            yield ctx.fail(s, "duplicate_vin", field=f"{path}.vin", observed=v.vin, first=f"vehicles[{first_at[v.vin]}]")
        else:
            first_at[v.vin] = s.order
            if not problems:
                yield ctx.ok(s, field=f"{path}.vin", observed=v.vin)
