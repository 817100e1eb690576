"""Benchmark of trip-log aggregation: 1,000,000 generated trip rows of 200 vehicles (not a test).

Run from the repository root::

    /work/main/.venv/bin/python bench/bench_evidence.py                  # everything (~4-5 min)
    /work/main/.venv/bin/python bench/bench_evidence.py --json out.json  # also write the figures as JSON
    /work/main/.venv/bin/python bench/bench_evidence.py --quick          # 20k/50k/100k rows, 1 run (smoke)
    /work/main/.venv/bin/python bench/bench_evidence.py --sizes 500000,1000000,2000000
    /work/main/.venv/bin/python bench/bench_evidence.py --batch-sweep 0.5,1,2,3,4   # the reader's batch size

Goal: aggregating 1,000,000 rows of 200 vehicles in <= 3 s with a peak RSS <= 200 MB,
memory bounded whatever the number of rows.

The input is made by ``bench/gen_trips.py`` (deterministic) under ``--out`` (default
``/tmp/icv-permits-bench``; files already there with the same parameters are reused): a CSV trip
log and a demonstration application with the 200 vehicles that attaches it. Each measurement runs
in its own process, started through a small go-between process that forks it and reads its
``ru_maxrss`` with ``wait4`` (on Linux ``ru_maxrss`` survives ``exec``, so a child forked from this
process would report at least this process's peak; see ``bench/bench_check.py``). For each size:

(a) ``read``       ``csv.reader`` over the file, counting rows: the floor for any CSV aggregation;
(b) ``parse``      the same, plus ``datetime.fromisoformat`` of each row's start and end;
(c) ``summarise``  ``icv_permits.adapters.evidence.summarise(app, base_dir, pack, as_of)`` after loading the
                   application and the pack (only the call is timed in process; the peak RSS is the
                   process's, including the imports);
(d) ``check``      the whole ``icv-permits check app.yaml --as-of 2026-11-27`` (console script,
                   output to /dev/null; exit code 0 = compliant is asserted).

Reported: the median (and min) over ``--runs`` runs at the main size (1,000,000 rows) and over
``--scaling-runs`` runs at the other sizes, of the time in process and of the process's wall time
(from fork to exit, measured by the go-between), and the largest peak RSS over the runs; for (a)-(c)
also the RSS before the timed part; the ratio of (c) to (a), the floor.

``--batch-sweep MB,…`` measures only (c) at 1,000,000 rows, once per batch size (megabytes of the file
per batch, set on the reader's ``_BATCH_BYTES`` in the child), the sizes alternating run by run: what
the reader's batch size trades, the time of each batch's fixed costs against the memory of one batch
held at once. Standard library only
(the children import ``icv_permits``, which reads trip logs with polars).
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
BENCH = Path(__file__).resolve().parent
AS_OF = "2026-11-27"
VEHICLES = 200
MAIN_ROWS = 1_000_000
DEFAULT_SIZES = (100_000, 1_000_000, 2_000_000)
DEFAULT_OUT = Path("/tmp/icv-permits-bench")

GOAL_SECONDS = 3.0
GOAL_RSS_MB = 200.0  # megabytes (10**6 bytes): 190.7 MiB in the unit ru_maxrss gives
GOAL_RSS_MIB = GOAL_RSS_MB * 1e6 / 2**20


# ------------------------------------------------------------------------------------ children


def _rss_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _result(**kw) -> None:
    sys.stdout.write("RESULT " + json.dumps(kw) + "\n")
    sys.stdout.flush()


def child_read(path: str) -> None:
    import csv

    before = _rss_kib()
    t0 = time.perf_counter_ns()
    rows = 0
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for _ in csv.reader(fh):
            rows += 1
    _result(seconds=(time.perf_counter_ns() - t0) / 1e9, rows=rows - 1, rss_before_kib=before)


def child_parse(path: str) -> None:
    import csv
    from datetime import datetime

    before = _rss_kib()
    fromiso = datetime.fromisoformat
    t0 = time.perf_counter_ns()
    rows = 0
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        i_start, i_end = header.index("start"), header.index("end")
        for row in reader:
            fromiso(row[i_start])
            fromiso(row[i_end])
            rows += 1
    _result(seconds=(time.perf_counter_ns() - t0) / 1e9, rows=rows, rss_before_kib=before)


def child_summarise(app_path: str, as_of: str, batch_mb: str = "") -> None:
    import datetime as dt

    from icv_permits.adapters import evidence

    if batch_mb:
        evidence._BATCH_BYTES = int(float(batch_mb) * 2**20)
    from icv_permits.adapters.packs import load_pack
    from icv_permits.core.pack import DEFAULT_PACK
    from icv_permits.services.precheck import load_application

    app = load_application(app_path)
    pack = load_pack(DEFAULT_PACK)
    before = _rss_kib()
    t0 = time.perf_counter_ns()
    s = evidence.summarise(app, Path(app_path).parent, pack, dt.date.fromisoformat(as_of))
    seconds = (time.perf_counter_ns() - t0) / 1e9
    assert s is not None and not s.bad_rows and not s.bad_row_counts, "the generated log must have no bad rows"
    # the reader only classifies (the engine counts): report the buckets it made
    by_mode: dict[str, int] = {}
    for b in s.buckets:
        by_mode[b.mode.value] = by_mode.get(b.mode.value, 0) + b.trips
    _result(seconds=seconds, rows=sum(f.rows for f in s.files if f.kind == "trips"), rss_before_kib=before,
            buckets=len(s.buckets), trips_by_mode=by_mode,
            vehicles=len({b.vin for b in s.buckets}))


CHILDREN = {"read": child_read, "parse": child_parse, "summarise": child_summarise}


# ------------------------------------------------------------------------------------ go-between

# Forks the real child from its own small address space, times it from fork to exit and reports
# its ru_maxrss (KiB on Linux). "quiet" sends the child's stdout to /dev/null.
_PROBE = r"""
import os, sys, time
quiet = sys.argv[1] == "quiet"
t0 = time.perf_counter_ns()
pid = os.fork()
if pid == 0:
    if quiet:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter_ns() - t0
sys.stdout.flush()
print("PROBE", ru.ru_maxrss, wall, flush=True)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _env() -> dict[str, str]:
    from bench_check import _child_env

    return _child_env()


def probe(argv: list[str], *, quiet: bool, expect_rc: int = 0) -> dict:
    proc = subprocess.run([sys.executable, "-S", "-c", _PROBE, "quiet" if quiet else "pass", *argv],
                          check=False, capture_output=True, text=True, env=_env(), cwd=ROOT)
    if proc.returncode != expect_rc:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode} (expected {expect_rc}):\n{proc.stderr[-3000:]}")
    out: dict = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out.update(json.loads(line[7:]))
        elif line.startswith("PROBE "):
            _, kib, wall = line.split()
            out["peak_rss_kib"] = int(kib)
            out["wall_seconds"] = int(wall) / 1e9
    if "peak_rss_kib" not in out:
        sys.exit(f"no measurement from {' '.join(argv)}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return out


def measure(name: str, argv: list[str], runs: int, *, quiet: bool = False) -> dict:
    samples = [probe(argv, quiet=quiet) for _ in range(runs)]
    walls = sorted(s["wall_seconds"] for s in samples)
    res = {
        "name": name,
        "runs": runs,
        "wall_median_s": statistics.median(walls),
        "wall_min_s": walls[0],
        "peak_rss_mib": max(s["peak_rss_kib"] for s in samples) / 1024,
        "samples": samples,
    }
    if "seconds" in samples[0]:
        secs = sorted(s["seconds"] for s in samples)
        res["median_s"], res["min_s"] = statistics.median(secs), secs[0]
        res["rss_before_mib"] = max(s["rss_before_kib"] for s in samples) / 1024
    return res


def _self_child(mode: str, *args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", mode, *args]


def bench_size(out: Path, rows: int, runs: int, skip_cli: bool, jsonl: bool) -> dict:
    sys.path.insert(0, str(BENCH))
    import gen_trips
    from bench_check import console_script

    t0 = time.perf_counter()
    meta = gen_trips.generate(out, rows, VEHICLES, jsonl=jsonl)
    gen_s = time.perf_counter() - t0
    csv_path, app_path = out / meta["csv"], out / meta["app"]
    print(f"  {rows:,} rows: {'reused' if meta['reused'] else f'generated in {gen_s:.1f} s'} {csv_path} "
          f"({meta['csv_bytes'] / 1e6:.1f} MB)", file=sys.stderr)
    probe(_self_child("read", str(csv_path)), quiet=False)  # page cache warm-up (untimed)
    res = {"rows": rows, "csv": str(csv_path), "csv_bytes": meta["csv_bytes"], "app": str(app_path), "measurements": {}}
    m = res["measurements"]
    m["read"] = measure("(a) read: csv.reader, count rows", _self_child("read", str(csv_path)), runs)
    m["parse"] = measure("(b) read + fromisoformat(start, end)", _self_child("parse", str(csv_path)), runs)
    m["summarise"] = measure("(c) summarise(app, base_dir, pack, as_of)", _self_child("summarise", str(app_path), AS_OF), runs)
    if jsonl and meta.get("app_jsonl"):
        res["jsonl_bytes"] = (out / meta["jsonl"]).stat().st_size
        m["summarise_jsonl"] = measure("(c') summarise, same rows as JSON Lines", _self_child("summarise", str(out / meta["app_jsonl"]), AS_OF), runs)
    if not skip_cli:
        m["check"] = measure(f"(d) icv-permits check … --as-of {AS_OF}", [console_script(), "check", str(app_path), "--as-of", AS_OF], runs, quiet=True)
    for key in ("read", "parse", "summarise"):
        got = m[key]["samples"][0]["rows"]
        assert got == rows, f"{key} saw {got} rows, expected {rows}"
    s0 = m["summarise"]["samples"][0]
    res["summary"] = {k: s0[k] for k in ("buckets", "trips_by_mode", "vehicles")}
    for v in m.values():
        print(f"    {v['name']}: median {v.get('median_s', v['wall_median_s']):.2f} s, peak RSS {v['peak_rss_mib']:.1f} MiB", file=sys.stderr)
    return res


# ------------------------------------------------------------------------------------ report


def report(out: dict) -> str:
    m = out["machine"]
    lines = [
        f"Machine: {m['nproc']} CPU(s), {m['cpu_model']}; Python {m['python']} ({m['implementation']}); {m['platform']}",
        f"Commit {m['git'].get('commit', '?')}"
        + (f", {len(m['git']['dirty_library_files'])} library file(s) modified" if m["git"].get("dirty_library_files") else "")
        + f"; {VEHICLES} vehicles; as of {AS_OF}; runs: {out['runs']} at {MAIN_ROWS:,} rows, {out['scaling_runs']} at other sizes",
        "",
        "| rows | file MB | measurement | runs | in-process median s (min) | process wall median s (min) | RSS before MiB | peak RSS MiB |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in out["sizes"]:
        for v in size["measurements"].values():
            inproc = f"{v['median_s']:.2f} ({v['min_s']:.2f})" if "median_s" in v else "—"
            before = f"{v['rss_before_mib']:.1f}" if "rss_before_mib" in v else "—"
            lines.append(f"| {size['rows']:,} | {size['csv_bytes'] / 1e6:.1f} | {v['name']} | {v['runs']} | {inproc} | "
                         f"{v['wall_median_s']:.2f} ({v['wall_min_s']:.2f}) | {before} | {v['peak_rss_mib']:.1f} |")
    lines.append("")
    for size in out["sizes"]:
        s = size["summary"]
        ms = size["measurements"]
        ratio = f"; summarise / read = {ms['summarise']['median_s'] / ms['read']['median_s']:.2f}" if "read" in ms and ms["read"].get("median_s") else ""
        lines.append(f"* {size['rows']:,} rows: {s['buckets']:,} trip buckets of {s['vehicles']} vehicles (trips by mode {s['trips_by_mode']}){ratio}.")
    lines.append("")
    for g, ok in out["goals"].items():
        lines.append(f"* goal {g}: {'**met**' if ok else '**missed**'}")
    if not out["goals"]:
        lines.append(f"* goals: not judged ({MAIN_ROWS:,} rows not measured)")
    la0, la1 = m["loadavg_start"], out["loadavg_end"]
    lines.append("")
    lines.append(f"Load average (1/5/15 min) at start: {la0[0]:.2f}/{la0[1]:.2f}/{la0[2]:.2f}; "
                 f"at end: {la1[0]:.2f}/{la1[1]:.2f}/{la1[2]:.2f} on {m['nproc']} CPU(s). Total {out['total_seconds']:.0f} s.")
    return "\n".join(lines)


def batch_sweep(out: Path, sizes_mb: list[str], runs: int) -> str:
    """(c) at :data:`MAIN_ROWS` rows for each batch size, alternating; a Markdown table."""
    sys.path.insert(0, str(BENCH))
    import gen_trips

    meta = gen_trips.generate(out, MAIN_ROWS, VEHICLES, jsonl=False)
    app_path = out / meta["app"]
    probe(_self_child("read", str(out / meta["csv"])), quiet=False)  # page cache warm-up (untimed)
    load0 = os.getloadavg()
    samples: dict[str, list[dict]] = {mb: [] for mb in sizes_mb}
    for _ in range(runs):
        for mb in sizes_mb:
            samples[mb].append(probe(_self_child("summarise", str(app_path), AS_OF, mb), quiet=False))
    load1 = os.getloadavg()
    lines = [f"{MAIN_ROWS:,} rows, {runs} runs per size, alternating; load average (1 min) {load0[0]:.2f} at start, {load1[0]:.2f} at end",
             "", "| batch MB | summarise median s (min) | peak RSS MiB (max) |", "|---:|---:|---:|"]
    for mb, ss in samples.items():
        secs = sorted(x["seconds"] for x in ss)
        lines.append(f"| {mb} | {statistics.median(secs):.2f} ({secs[0]:.2f}) | {max(x['peak_rss_kib'] for x in ss) / 1024:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        CHILDREN[argv[1]](*argv[2:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="row counts, comma-separated (default 100000,1000000,2000000)")
    ap.add_argument("--runs", type=int, default=3, help=f"runs per measurement at {MAIN_ROWS:,} rows (default 3)")
    ap.add_argument("--scaling-runs", type=int, default=1, help="runs per measurement at the other sizes (default 1)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder of the generated files (default {DEFAULT_OUT})")
    ap.add_argument("--jsonl", action="store_true", help="also measure summarise on a JSON Lines copy of the rows")
    ap.add_argument("--skip-cli", action="store_true", help="skip (d), the whole icv-permits check")
    ap.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    ap.add_argument("--quick", action="store_true", help="20k/50k/100k rows, 1 run each (smoke run)")
    ap.add_argument("--batch-sweep", metavar="MB,…", help="only (c) at 1,000,000 rows for each of these batch sizes (see above)")
    args = ap.parse_args(argv)
    if args.batch_sweep:
        print(batch_sweep(args.out, [x.strip() for x in args.batch_sweep.split(",") if x.strip()], args.runs))
        return 0
    if args.quick:
        args.sizes, args.runs, args.scaling_runs = "20000,50000,100000", 1, 1
    if not hasattr(os, "fork") or not hasattr(os, "wait4"):
        sys.exit("this benchmark needs os.fork and os.wait4 (Linux, macOS)")
    sys.path.insert(0, str(BENCH))
    from bench_check import machine_info

    t0 = time.perf_counter()
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    out: dict = {"machine": machine_info(), "vehicles": VEHICLES, "as_of": AS_OF, "runs": args.runs, "scaling_runs": args.scaling_runs, "sizes": []}
    for rows in sizes:
        runs = args.runs if rows == MAIN_ROWS or args.quick else args.scaling_runs
        out["sizes"].append(bench_size(args.out, rows, runs, args.skip_cli, args.jsonl and rows == MAIN_ROWS))
    out["loadavg_end"] = os.getloadavg()
    out["total_seconds"] = time.perf_counter() - t0
    main_size = next((s for s in out["sizes"] if s["rows"] == MAIN_ROWS), None)
    out["goals"] = {}
    if main_size is not None:
        ms = main_size["measurements"]
        out["goals"][f"summarise {MAIN_ROWS:,} rows median <= {GOAL_SECONDS:g} s"] = ms["summarise"]["median_s"] <= GOAL_SECONDS
        out["goals"][f"summarise peak RSS <= {GOAL_RSS_MB:g} MB ({GOAL_RSS_MIB:.1f} MiB)"] = ms["summarise"]["peak_rss_mib"] <= GOAL_RSS_MIB
        if "check" in ms:
            out["goals"][f"whole check median wall <= {GOAL_SECONDS:g} s"] = ms["check"]["wall_median_s"] <= GOAL_SECONDS
            out["goals"][f"whole check peak RSS <= {GOAL_RSS_MB:g} MB ({GOAL_RSS_MIB:.1f} MiB)"] = ms["check"]["peak_rss_mib"] <= GOAL_RSS_MIB
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
