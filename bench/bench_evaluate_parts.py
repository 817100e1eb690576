"""Where ``evaluate`` spends its time, part by part, as multiples of validating the same application (not a test).

Run from a checkout whose ``.venv`` has it installed::

    .venv/bin/python bench/bench_evaluate_parts.py                 # bench/data/app-5x5.yaml as of 2026-11-27
    .venv/bin/python bench/bench_evaluate_parts.py --blocks 15 --reps 400 --json parts.json

Row 1 of the goals farm (``bench_goals.py``) gives ``evaluate`` ÷ ``Application.model_validate``.
This script splits the numerator, in one process, every part timed in blocks that alternate with
blocks of the validation (so the machine's load weighs on all alike; the median of the blocks is
reported):

* ``validate`` — ``Application.model_validate`` of the document (the baseline);
* ``evaluate`` — the whole call;
* ``run`` — the engine's checks over the application, compact findings sorted (``engine._run``);
* ``decision`` — the decision's models made from them (``engine._decision``), of which
  ``application digest`` (the content hash of the application) and ``counts`` (``engine._head``:
  verdict, counts, missing fields) are timed alone too;
* ``evaluate, checks free`` and ``run, checks free`` — the same calls with each check replaced by
  one that returns, at once, the findings its rule gave (the decision is asserted to be the same):
  everything but the checks' own work, allocation and freeing of the findings included;
* per rule: each applicable rule's check run alone over the application (``Ctx`` as ``_run`` makes
  it), with its number of findings (a rule repeated alone runs hotter than among the others: the
  sum is below ``evaluate`` less ``evaluate, checks free``, which is the checks' cost in place).

It reads the engine's internal functions by name; a checkout without one says so and stops. The
last lines say what the parts leave for the checks under the goal of 4 × validation. Figures, with
the machine and its load: ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "bench" / "data" / "app-5x5.yaml"
GOAL_RATIO = 4.0


def _block_ms(fn, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps * 1e3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--app", type=Path, default=APP)
    ap.add_argument("--pack", default="anhui-2025")
    ap.add_argument("--as-of", default="2026-11-27")
    ap.add_argument("--blocks", type=int, default=11, help="blocks of each part, alternating with validation (default 11)")
    ap.add_argument("--reps", type=int, default=300, help="calls per block (default 300)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    import pendulum
    import yaml

    from icv_permits.adapters.packs import load_pack
    from icv_permits.core import engine
    from icv_permits.core.model import Application

    missing = [name for name in ("_run", "_decision", "_head", "_plan", "application_digest", "conditions_of", "notice_entries_of")
               if not hasattr(engine, name)]
    if missing:
        print(f"this checkout's engine has no {', '.join(missing)}: nothing to split", file=sys.stderr)
        return 2
    from icv_permits.core.engine.core import Ctx, Subjects

    doc = yaml.safe_load(args.app.read_text(encoding="utf-8"))
    pack = load_pack(args.pack)
    as_of = _dt.date.fromisoformat(args.as_of)
    app = Application.model_validate(doc)
    run = engine._run(app, pack, as_of, None, None)
    n_findings = len(run.found)

    parts = {
        "evaluate": lambda: engine.evaluate(app, pack, as_of),
        "run": lambda: engine._run(app, pack, as_of, None, None),
        "decision": lambda: engine._decision(run),
        "application digest": lambda: engine.application_digest(app),
        "counts": lambda: engine._head(run),
    }
    def validate():
        return Application.model_validate(doc)

    # per rule: the check alone, in a context made as _run makes it
    day = pendulum.Date(as_of.year, as_of.month, as_of.day)
    home = pack.meta.home_province
    conds = engine.conditions_of(app, None, day, home)
    steps = [s for s in engine._plan(pack).steps(app.activity, conds, day) if s[3] is None]
    ctx = Ctx(app, pack, day, steps[0][0], {}, conds, None, Subjects(app, pack.id_mask), None,
              engine.notice_entries_of(app, None, day, home), {})

    def one_rule(rule, fn, params):
        def call():
            ctx.rule, ctx._params, ctx.shared = rule, params, {}  # what checks share is made once per evaluation
            return list(fn(ctx))
        return call

    rules = {rule.id: (one_rule(rule, fn, params), len(list(one_rule(rule, fn, params)()))) for rule, fn, params, _s, _a in steps}

    # the engine with checks that cost nothing: each step's check replaced by one that returns the
    # findings its rule gave (made once, above), so that everything else runs as it does
    plan = engine._plan(pack)
    key = (app.activity, conds, day)
    real_steps = plan.steps(*key)
    made = {rule.id: list(fn(ctx)) if skipped is None else None
            for rule, fn, params, skipped, _a in real_steps if not setattr(ctx, "rule", rule) and not setattr(ctx, "_params", params)}
    free_steps = [(rule, (lambda _ctx, found=made[rule.id]: found) if skipped is None else fn, params, skipped, advisory)
                  for rule, fn, params, skipped, advisory in real_steps]

    def with_steps(steps_now, fn):
        def call():
            plan._steps[key] = steps_now
            try:
                return fn()
            finally:
                plan._steps[key] = real_steps
        return call

    parts["evaluate, checks free"] = with_steps(free_steps, parts["evaluate"])
    parts["run, checks free"] = with_steps(free_steps, parts["run"])
    assert with_steps(free_steps, parts["evaluate"])() == parts["evaluate"](), "the free checks must give the same decision"

    for fn in (validate, *parts.values(), *(c for c, _ in rules.values())):  # warm-up
        for _ in range(50):
            fn()
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in ("validate", *parts)}
    rule_samples: dict[str, list[float]] = {rid: [] for rid in rules}
    for _ in range(args.blocks):
        for name, fn in parts.items():
            samples["validate"].append(_block_ms(validate, args.reps))
            samples[name].append(_block_ms(fn, args.reps))
        for rid, (fn, _n) in rules.items():
            rule_samples[rid].append(_block_ms(fn, max(args.reps // 3, 20)))
    med = {name: statistics.median(xs) for name, xs in samples.items()}
    rule_med = {rid: statistics.median(xs) for rid, xs in rule_samples.items()}
    v = med["validate"]

    load = os.getloadavg()
    print(f"`evaluate` of {args.app.name} ({args.pack}, as of {args.as_of}): {n_findings} findings of {len(rules)} rules run; "
          f"{args.blocks} blocks × {args.reps} calls each; load {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; "
          f"Python {sys.version.split()[0]}\n")
    print("| part | median ms | × validation |")
    print("|---|---:|---:|")
    for name in ("validate", *parts):
        print(f"| {name} | {med[name]:.4f} | {med[name] / v:.2f} |")
    checks = sum(rule_med.values())
    print(f"| checks, every rule alone, summed | {checks:.4f} | {checks / v:.2f} |")
    print("\n| rule | findings | median ms | µs a finding |")
    print("|---|---:|---:|---:|")
    for rid, ms in sorted(rule_med.items(), key=lambda kv: -kv[1])[:12]:
        n = rules[rid][1]
        print(f"| {rid} | {n} | {ms:.4f} | {ms * 1e3 / n:.1f} |" if n else f"| {rid} | 0 | {ms:.4f} | — |")
    budget = GOAL_RATIO * v
    around = med["evaluate, checks free"]  # everything but the checks' own work: set-up, sort, the decision, the digest
    logic = med["evaluate"] - around
    print(f"\nFor {GOAL_RATIO:g} × validation `evaluate` may take {budget:.3f} ms; it takes {med['evaluate']:.3f} "
          f"({med['evaluate'] / v:.2f} ×). With checks that cost nothing it takes {around:.3f} ms ({around / v:.2f} ×), "
          f"which leaves {budget - around:.3f} ms for the checks' own work: {(budget - around) * 1e3 / n_findings:.2f} µs a finding, "
          f"where it takes {logic:.3f} ms, {logic * 1e3 / n_findings:.2f} µs a finding.")
    if args.json:
        args.json.write_text(json.dumps({"validate_ms": v, "parts_ms": med, "rules_ms": rule_med, "findings": n_findings,
                                         "load": load, "python": sys.version.split()[0]}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
