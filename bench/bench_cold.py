"""Cold start of ``icv-permits check`` beside its baseline, and beside another checkout (not a test).

Run from the repository root::

    .venv/bin/python bench/bench_cold.py                         # this checkout, 15 rounds
    .venv/bin/python bench/bench_cold.py --before /work/before   # also another checkout (its own .venv)
    .venv/bin/python bench/bench_cold.py --rounds 30 --json out.json
    .venv/bin/python bench/bench_cold.py --phases                # where the time goes, per phase

Each round runs, one after the other in a new process each: the baseline
``python -c "import pydantic, yaml"`` (the libraries any reading of an application loads), then
``icv-permits check bench/data/app-5x5.yaml --as-of 2026-11-27`` of each checkout (its console
script, output to /dev/null), so that a change of load on a shared machine touches all of them
alike. Reported: the median and min wall time of each, its CPU time (user + system of the child),
and the ratios of the medians to the baseline and between the checkouts. Goal: a median
<= 250 ms on an idle machine. Standard library only.

``--phases``: each round also runs the check inside a child that times its phases (median over the
rounds, each checkout): importing ``icv_permits.cli`` (typer and what every command shares),
registering the command groups (the one the command line names; where a checkout registers them on
import, that time is in the first phase), building the click command, the check's own imports (the
engine, the models, the report), and running it (reading, evaluating, printing). What is left of
the wall time is the interpreter's start and exit. ``python -X importtime`` shows the imports one by
one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "bench" / "data" / "app-5x5.yaml"
AS_OF = "2026-11-27"
GOAL_MS = 250.0


def run(argv: list[str]) -> tuple[float, float, int]:
    r0 = os.times()
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    r1 = os.times()
    return wall, (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system), p.returncode


PHASES = r"""
import contextlib, io, json, sys, time
clk = time.perf_counter
argv = sys.argv[1:]
t = [clk()]
import icv_permits.cli as cli
t.append(clk())
if hasattr(cli, "_register"):
    cli._register(cli._groups_for(argv))
t.append(clk())
import typer.main
typer.main.get_command(getattr(cli, "root", None) or cli.app)
t.append(clk())
import icv_permits.present.report, icv_permits.services.precheck
t.append(clk())
sys.argv = ["icv-permits", *argv]
code = 0
try:
    with contextlib.redirect_stdout(io.StringIO()):
        cli.main()
except SystemExit as exc:
    code = exc.code
t.append(clk())
print(json.dumps({"phases": [b - a for a, b in zip(t, t[1:])], "code": code}))
"""
PHASE_NAMES = ("import icv_permits.cli", "register the groups", "build the click command", "the check's imports", "run the check")


def phases(python: Path, tree: Path, rounds: int) -> list[float]:
    """Median seconds of each of :data:`PHASE_NAMES` over ``rounds`` children of ``python`` (run in
    ``tree``, the checkout whose ``icv_permits`` it imports)."""
    runs = []
    for _ in range(rounds):
        r = subprocess.run([str(python), "-c", PHASES, "check", str(APP), "--as-of", AS_OF], capture_output=True, text=True, check=False,
                           cwd=tree)
        runs.append(json.loads(r.stdout.strip().splitlines()[-1])["phases"])
    return [statistics.median(r[i] for r in runs) for i in range(len(PHASE_NAMES))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15, help="rounds (default 15)")
    ap.add_argument("--before", type=Path, help="another checkout with its own .venv, measured alongside")
    ap.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    ap.add_argument("--phases", action="store_true", help="also time the phases of a check in process (see above)")
    args = ap.parse_args(argv)
    python = Path(sys.executable)
    cmds = {"baseline": [str(python), "-c", "import pydantic, yaml"]}
    if args.before:
        cmds["before"] = [str(args.before / ".venv" / "bin" / "icv-permits"), "check", str(APP), "--as-of", AS_OF]
    cmds["after" if args.before else "check"] = [str(python.parent / "icv-permits"), "check", str(APP), "--as-of", AS_OF]
    for argv_ in cmds.values():  # warm the page cache and the bytecode (untimed)
        run(argv_)
    load0 = os.getloadavg()
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    codes: dict[str, set[int]] = {k: set() for k in cmds}
    for _ in range(args.rounds):
        for name, argv_ in cmds.items():
            wall, cpu, rc = run(argv_)
            walls[name].append(wall)
            cpus[name].append(cpu)
            codes[name].add(rc)
    load1 = os.getloadavg()
    out = {"rounds": args.rounds, "loadavg_start": load0, "loadavg_end": load1, "nproc": os.cpu_count(), "results": {}}
    base = statistics.median(walls["baseline"])
    base_cpu = statistics.median(cpus["baseline"])
    print(f"{args.rounds} rounds; load average (1/5/15 min) {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f} at start, "
          f"{load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f} at end, {os.cpu_count()} CPU(s)\n")
    print("| run | wall median ms (min) | CPU median ms | × baseline (wall) | × baseline (CPU) | exit codes |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in cmds:
        med, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        out["results"][name] = {"wall_median_ms": med * 1e3, "wall_min_ms": min(walls[name]) * 1e3, "cpu_median_ms": cpu * 1e3,
                                "ratio_to_baseline": med / base, "cpu_ratio_to_baseline": cpu / base_cpu, "exit_codes": sorted(codes[name])}
        print(f"| {name} | {med * 1e3:.0f} ({min(walls[name]) * 1e3:.0f}) | {cpu * 1e3:.0f} | {med / base:.2f} | {cpu / base_cpu:.2f} | "
              f"{sorted(codes[name])} |")
    if args.before:
        b, a = out["results"]["before"], out["results"]["after"]
        out["after_over_before"] = a["wall_median_ms"] / b["wall_median_ms"]
        print(f"\nafter / before: wall {out['after_over_before']:.2f}, CPU {a['cpu_median_ms'] / b['cpu_median_ms']:.2f}")
    mine = out["results"]["after" if args.before else "check"]
    print(f"goal median <= {GOAL_MS:g} ms (on an idle machine): {'met' if mine['wall_median_ms'] <= GOAL_MS else 'missed'} "
          f"at this load")
    if args.phases:
        trees = {"before": (args.before / ".venv" / "bin" / "python", args.before.resolve())} if args.before else {}
        trees["after" if args.before else "check"] = (python, ROOT)
        out["phases_ms"] = {name: [x * 1e3 for x in phases(py, tree, args.rounds)] for name, (py, tree) in trees.items()}
        print("\n| phase (in process, median ms) | " + " | ".join(out["phases_ms"]) + " |")
        print("| --- |" + " --- |" * len(out["phases_ms"]))
        for i, ph in enumerate(PHASE_NAMES):
            print(f"| {ph} | " + " | ".join(f"{v[i]:.1f}" for v in out["phases_ms"].values()) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
