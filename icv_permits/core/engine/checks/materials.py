"""MAT-01…03: application materials (申请材料).

Which materials are required is pack data: a parameter whose value is
``{always: [material, …], when: {condition: [material, …]}}``.
"""

from __future__ import annotations

from typing_extensions import TypedDict

from icv_permits.core.engine.core import Ctx, check


class _Materials(TypedDict, total=False):
    """A materials parameter: those always required, and those a condition adds."""

    always: list[str]
    when: dict[str, list[str]]


def _materials(ctx: Ctx, param: str):
    s = ctx.application_subject()
    given = ctx.app.materials
    if given is None:
        yield ctx.missing(s, "materials")
        return
    p = ctx.param(param)
    required = list(p.value.get("always", []))
    for condition, extra in sorted(p.value.get("when", {}).items()):
        if condition in ctx.conditions:
            required.extend(m for m in extra if m not in required)
    lacking = [m for m in required if not given.get(m)]
    for m in lacking:
        yield ctx.fail(s, "not_provided", field=f"materials.{m}", material=m)
    if not lacking:
        yield ctx.ok(s, field="materials", observed=len(required), required=required)


@check("MAT-01", params=("materials.road_test",), reasons=("not_provided",), shapes={"materials.road_test": _Materials})
def mat_01(ctx: Ctx):
    yield from _materials(ctx, "materials.road_test")


@check("MAT-02", params=("materials.demonstration",), reasons=("not_provided",), shapes={"materials.demonstration": _Materials})
def mat_02(ctx: Ctx):
    yield from _materials(ctx, "materials.demonstration")


@check("MAT-03", params=("materials.operation",), reasons=("not_provided",), shapes={"materials.operation": _Materials})
def mat_03(ctx: Ctx):
    yield from _materials(ctx, "materials.operation")
