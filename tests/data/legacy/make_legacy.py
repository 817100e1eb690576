"""Writes the legacy fixtures of this folder by running the OLD code (decision format 1, commit
84be6d9, where the evidence reader decided the per-vehicle totals). See README.md.

    git worktree add --detach /tmp/old84 84be6d9
    python tests/data/legacy/make_legacy.py /tmp/old84

``python`` must have icv-permits' dependencies (the project's .venv does); the old code is put first
on ``PYTHONPATH``, so its ``icv_permits`` (flat layout) and its ``rules/`` are the ones that run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROAD_TEST_NOW = "2025-06-09T10:00:00+08:00"  # the road-test notice the trips run under is issued that day
DA_NOW = "2026-11-27T10:00:00+08:00"  # the demonstration application's trip logs are submitted


def road_test_of(da: dict) -> dict:
    """A road test of the same entity and vehicles, from 2025-06-09 to 2026-12-08, so that its notice
    covers the trips of ``examples/evidence/da-trips.csv``."""
    rt = {k: v for k, v in da.items() if k not in ("evidence", "notices", "modifiers", "incidents")}
    rt.update(application_id="AH-RT-2025-0042", application_date="2025-06-01", activity="road_test",
              period={"start": "2025-06-09", "end": "2026-12-08"})
    rt["vehicles"] = [{k: v for k, v in veh.items() if k not in ("prior_testing", "body_marking", "roof_sign_lamp")} for veh in da["vehicles"]]
    rt["insurance"] = [dict(p, valid_from="2025-06-09", valid_to="2026-12-08") for p in da["insurance"] if p["kind"] in ("compulsory", "liability")]
    rt["operations"] = {"carries_passengers": False, "carries_goods": False, "dangerous_goods": False,
                        "unlicensed_transport_business": False, "brake_tests_on_public_roads": False,
                        "autonomous_only_on_declared_sections": True}
    rt["materials"] = {k: True for k in ("basic_information", "safety_self_declaration", "test_zone_report",
                                         "third_party_inspection_report", "test_plan", "insurance_proofs", "driver_training_records")}
    return rt


def main(old: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="legacy-"))
    db = work / "office.db"
    env = dict(os.environ, PYTHONPATH=str(old), ICV_PERMITS_DATABASE_URL=f"sqlite:///{db}", ICV_PERMITS_DATA_DIR=str(work / "data"),
               ICV_PERMITS_ACTOR="fixture", ICV_PERMITS_LANG="en")

    def run(*args: str, now: str) -> None:
        r = subprocess.run([sys.executable, "-m", "icv_permits.cli", *args], env=dict(env, ICV_PERMITS_NOW=now), cwd=work, capture_output=True, text=True)
        print(f"$ icv-permits {' '.join(args)}  → exit {r.returncode}")
        if r.returncode not in (0,):
            sys.exit(r.stdout + r.stderr)

    probe = subprocess.run([sys.executable, "-c", "import icv_permits; print(icv_permits.__file__)"], env=env, cwd=work, capture_output=True, text=True)
    assert probe.stdout.strip().startswith(str(old)), probe.stdout + probe.stderr
    da_file = old / "examples" / "da-trip-logs.yaml"
    rt_file = work / "rt-for-trips.yaml"
    rt_file.write_text(yaml.safe_dump(road_test_of(yaml.safe_load(da_file.read_text(encoding="utf-8"))), allow_unicode=True, sort_keys=False), encoding="utf-8")

    run("db", "upgrade", now=ROAD_TEST_NOW)
    run("submit", str(rt_file), now=ROAD_TEST_NOW)  # submission 1
    run("decide", "1", "--approve", "--reason", "legacy fixture: road test approved", now=ROAD_TEST_NOW)
    run("submit", str(da_file), now=DA_NOW)  # submission 2: under review, its evidence in the old shape
    run("audit", "export", "--out", str(HERE / "log-format1.jsonl"), now=DA_NOW)
    shutil.copyfile(db, HERE / "office-format1.db")
    shutil.rmtree(work)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
