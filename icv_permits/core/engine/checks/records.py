"""REC-01…03: what only the regulator's records can tell.

REC-01 and REC-02 apply when the engine is given the records (``on_record``: a submission under
review); REC-03 also judges the assignments inside one application in a pre-check.
"""

from __future__ import annotations

from icv_permits.core.model.application import Notice
from icv_permits.core.engine.core import Ctx, check

_COMPARED = ("kind", "issued", "valid_until", "vins", "sections")


def _differences(declared: Notice, recorded: Notice) -> list[str]:
    out = []
    for name in _COMPARED:
        a, b = getattr(declared, name), getattr(recorded, name)
        if isinstance(a, list):
            a, b = sorted(a), sorted(b)
        if a != b:
            out.append(name)
    return out


@check("REC-01", reasons=("not_on_record", "differs_from_record", "history_from_record"), home=True, records=True)
def rec_01(ctx: Ctx):
    s = ctx.entity_subject()
    reg = ctx.registry
    on_record = {n.number: n for n in reg.notices if n.issued <= ctx.as_of}
    found = []
    for i, n in ctx.own_notices():
        if n.issuer_province is not ctx.home:
            continue
        rec = on_record.get(n.number)
        if rec is None:
            found.append(ctx.fail(s, "not_on_record", field=f"notices[{i}]", observed=n.number))
            continue
        diff = _differences(n, rec)
        if diff:
            found.append(ctx.fail(s, "differs_from_record", field=f"notices[{i}]", observed=n.number, fields=diff,
                                  declared_until=n.valid_until, recorded_until=rec.valid_until))
    yield from found
    yield ctx.ok(s, "history_from_record", field="notices", observed=sorted(on_record))


@check("REC-02", reasons=("vin_on_other_entity_notice",), records=True)
def rec_02(ctx: Ctx):
    elsewhere: dict[str, list] = {}
    for e in ctx.registry.vins_elsewhere:
        elsewhere.setdefault(e.vin, []).append(e)
    for path, v, vs in ctx.vehicles():
        hits = elsewhere.get(v.vin, [])
        if not hits:
            yield ctx.ok(vs, field=f"{path}.vin", observed=v.vin)
        for e in hits:
            yield ctx.fail(vs, "vin_on_other_entity_notice", field=f"{path}.vin", observed=v.vin, credit_code=e.credit_code,
                           entity=e.entity_name, notice=e.notice, valid_until=e.valid_until)


@check("REC-03", params=("driver.max_vehicles",), reasons=("too_many_vehicles",))
def rec_03(ctx: Ctx):
    on_record = {d.driver_ref: set(d.vins) for d in ctx.registry.driver_loads} if ctx.registry else {}
    assigned: dict[str, set[str]] = {}
    for _path, v, _vs in ctx.vehicles():
        for ref in v.drivers:
            assigned.setdefault(ref, set()).add(v.vin)
    for path, d, ds in ctx.drivers():
        here = assigned.get(d.ref, set())
        elsewhere = on_record.get(d.ref, set()) - here
        total = len(here) + len(elsewhere)
        yield ctx.measured(ds, "driver.max_vehicles", total, field=f"{path}", reason="too_many_vehicles",
                           here=sorted(here), on_record=sorted(elsewhere))
