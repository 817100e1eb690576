"""The trip-log reader's overlap sweep, with many trips running at once (not a test).

Run from a checkout with its ``.venv``::

    .venv/bin/python bench/bench_overlap.py                  # 1,000 … 20,000 trips of one vehicle
    .venv/bin/python bench/bench_overlap.py --sizes 5000,50000,100000 --no-scan

Side by side in one process, over the same trips: the reader's sweep (``_Sweep``: the running trips
in two heaps) and the sweep as it was first written, scanning every running trip at each step (kept
in ``tests/test_evidence_sweep.py`` as the definition the heaps are held to). The trips are those of
the hostile file that made the scanning sweep quadratic: trip ``i`` starts at ``i`` µs and runs
10,000–15,000 µs, so about 12,500 trips run at once. Both must credit the same buckets; the figures
are seconds per call and the ratio. Figures: ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def trips(n: int) -> list[tuple]:
    return [(f"T{i:06d}", ("S", i % 3), i % 3, i, i + 10_000 + (i * 7919) % 5000, 1000 + i % 17) for i in range(n)]


def run(cls, rows: list[tuple]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    sweep = cls("V")
    for trip_id, key, group, s, e, m in rows:
        sweep.add(trip_id, key, group, s, e, m)
    sweep.finish()
    return time.perf_counter() - t0, sweep.buckets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000,20000")
    ap.add_argument("--no-scan", action="store_true", help="time the heaps only (the scan takes minutes beyond 20,000)")
    args = ap.parse_args(argv)

    from icv_permits.adapters.evidence import _Sweep

    scan = None
    if not args.no_scan:
        from test_evidence_sweep import _ScanSweep as scan

    load = os.getloadavg()
    print(f"load {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; Python {sys.version.split()[0]}\n")
    print("| trips of one vehicle | heaps, s | scan, s | scan ÷ heaps |")
    print("|---:|---:|---:|---:|")
    for n in (int(x) for x in args.sizes.split(",")):
        rows = trips(n)
        heaps_s, heaps_b = run(_Sweep, rows)
        if scan is None:
            print(f"| {n:,} | {heaps_s:.3f} | — | — |")
            continue
        scan_s, scan_b = run(scan, rows)
        assert heaps_b == scan_b, "the two sweeps credited different buckets"
        print(f"| {n:,} | {heaps_s:.3f} | {scan_s:.3f} | {scan_s / heaps_s:.0f} × |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
