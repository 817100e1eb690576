"""What the benchmarks record about the machine and the checkout they ran on (shared by bench_store and bench_ledger)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git = {}
    try:
        git["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "icv_permits", "rules"], cwd=ROOT, capture_output=True, text=True).stdout
        git["dirty_library_files"] = [line[3:] for line in dirty.splitlines()]
    except OSError:
        pass
    mem = ""
    try:
        mem = next(line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_model": model, "memory": mem, "python": platform.python_version(),
            "platform": platform.platform(), "git": git, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


