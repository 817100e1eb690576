"""Generate a large trip log and the demonstration application that attaches it (for the trip-log benchmark).

    /work/main/.venv/bin/python bench/gen_trips.py                       # 1,000,000 rows, 200 vehicles, /tmp
    /work/main/.venv/bin/python bench/gen_trips.py --rows 100000 --jsonl # also a JSON Lines copy
    /work/main/.venv/bin/python bench/gen_trips.py --out bench/data/big  # elsewhere (do not commit it)

Writes into ``--out`` (default ``/tmp/icv-permits-bench``):

``trips-<V>v-<N>.csv``     N trip rows of V vehicles (columns of ``examples/evidence/da-trips.csv``)
``trips-<V>v-<N>.jsonl``   the same rows as JSON Lines (``--jsonl``)
``app-<V>v-<N>.yaml``      a demonstration application (from ``examples/da-trip-logs.yaml``) with the
                           V vehicles, attaching the CSV (``app-<V>v-<N>-jsonl.yaml`` attaches the JSONL)
``trips-<V>v-<N>.meta.json`` the parameters and the expected counts, to reuse the files safely

Deterministic: the same options give the same bytes (``random.Random(--seed)``). Memory is
constant: rows are written as they are made (row i is trip i // V of vehicle i % V, so the file is
in roughly chronological order across the fleet, as an export of a fleet's logs would be).

What the rows look like (the proportions are drawn, so they hold approximately):

* VINs with valid GB 16735 check digits (:func:`icv_permits.core.model.ids.vin_check_digit`);
* about 90 % autonomous, 10 % manual;
* about 92 % on the three sections the application asks for (HF-GX-001, HF-BH-A01, WH-JJ-001,
  open for demonstrations and at night), the rest on other sections of the ``anhui-2025`` register;
* about 1.5 % of trips start before the previous trip of the same vehicle ends (overlaps);
* start and end with a ``+08:00`` offset, whole seconds, between 2025-06-11 and 2026-11-15, i.e.
  inside the vehicles' road-test notice (issued 2025-06-10, valid until 2026-12-09), which lists
  every VIN and every section used; about 30 % of rows name that notice in the ``notice`` column;
* trips of 5 min to 4 h (shorter when there are more trips per vehicle), 12–55 km/h on average,
  distances with 1 to 3 decimals; trip IDs ``T<vehicle>-<n>``, all distinct.

No row is bad: ``icv-permits check`` accepts the file without ``--lenient``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from icv_permits.adapters.documents import read_document
from icv_permits.core.model.ids import vin_check_digit

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "examples" / "da-trip-logs.yaml"
DEFAULT_OUT = Path("/tmp/icv-permits-bench")
GENERATOR_VERSION = 1  # bump when the output changes, so that cached files are regenerated

CST = timezone(timedelta(hours=8))
WINDOW_START = datetime(2025, 6, 11, 0, 0, tzinfo=CST)
WINDOW_END = datetime(2026, 11, 15, 0, 0, tzinfo=CST)
NOTICE = "皖智网测〔2025〕012号"
APPLIED = ("HF-GX-001", "HF-BH-A01", "WH-JJ-001")
APPLIED_WEIGHTS = (0.45, 0.35, 0.20)
OTHER = ("HF-GX-002", "HF-JK-003", "WH-A01", "CZ-001", "HW-G3-HF-WH")  # in the register, not applied for
COLS = ["vin", "trip_id", "start", "end", "distance_km", "mode", "section", "notice"]

P_AUTONOMOUS = 0.90
P_APPLIED = 0.92
P_OVERLAP = 0.015
P_NOTICE = 0.30


def make_vin(serial: int) -> str:
    body = f"LSVAU2180N2{serial:06d}"  # WMI LSV, VDS AU218, check digit, year N, plant 2, serial
    return body[:8] + vin_check_digit(body) + body[9:]


def vins(n: int) -> list[str]:
    return [make_vin(300001 + i) for i in range(n)]


def names(rows: int, vehicles: int) -> dict[str, str]:
    stem = f"{vehicles}v-{rows}"
    return {"csv": f"trips-{stem}.csv", "jsonl": f"trips-{stem}.jsonl", "meta": f"trips-{stem}.meta.json",
            "app": f"app-{stem}.yaml", "app_jsonl": f"app-{stem}-jsonl.yaml"}


def generate_rows(rows: int, vehicles: int, seed: int):
    """Yield ``rows`` trip rows as lists of strings, in the order of ``COLS``; also counts them."""
    rng = random.Random(seed)
    rand, choices = rng.random, rng.choices
    vin_list = vins(vehicles)
    per_vehicle = math.ceil(rows / vehicles)
    t0 = int(WINDOW_START.timestamp())
    span = int(WINDOW_END.timestamp()) - t0
    slot = span / per_vehicle  # seconds between the starts of a vehicle's trips
    max_dur = min(4 * 3600, 0.85 * slot)
    min_dur = min(300, max_dur / 2)
    prev_end = [0] * vehicles
    fromts = datetime.fromtimestamp
    for i in range(rows):
        v, k = i % vehicles, i // vehicles
        start = t0 + int(k * slot + v * slot / vehicles + rand() * 0.1 * slot)
        dur = int(min_dur + (max_dur - min_dur) * (0.25 + 0.6 * rand()))
        if k and rand() < P_OVERLAP:  # starts before the vehicle's previous trip ends
            start = prev_end[v] - max(60, int(dur * (0.05 + 0.45 * rand())))
        end = start + dur
        prev_end[v] = max(prev_end[v], end)
        km = dur / 3600 * (12 + 43 * rand())
        decimals = 1 + int(rand() * 3)
        mode = "autonomous" if rand() < P_AUTONOMOUS else "manual"
        section = choices(APPLIED, APPLIED_WEIGHTS)[0] if rand() < P_APPLIED else OTHER[int(rand() * len(OTHER))]
        notice = NOTICE if rand() < P_NOTICE else ""
        yield [vin_list[v], f"T{v + 1:03d}-{k:06d}", fromts(start, CST).isoformat(), fromts(end, CST).isoformat(),
               f"{km:.{decimals}f}", mode, section, notice]


def write_trips(out: Path, rows: int, vehicles: int, seed: int, jsonl: bool) -> dict:
    n = names(rows, vehicles)
    csv_path = out / n["csv"]
    jsonl_fh = (out / n["jsonl"]).open("w", encoding="utf-8") if jsonl else None
    counts = {"rows": 0, "autonomous": 0, "applied_sections": 0}
    with csv_path.open("w", encoding="utf-8", newline="") as fh:
        # csv.writer would quote nothing here (no commas, quotes or newlines in any field): join is
        # the same bytes and twice as fast
        fh.write(",".join(COLS) + "\n")
        buf: list[str] = []
        for row in generate_rows(rows, vehicles, seed):
            buf.append(",".join(row))
            counts["rows"] += 1
            counts["autonomous"] += row[5] == "autonomous"
            counts["applied_sections"] += row[6] in APPLIED
            if jsonl_fh is not None:
                rec = dict(zip(COLS, row))
                rec["distance_km"] = float(rec["distance_km"])  # a JSON number, as exports write it
                jsonl_fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if len(buf) >= 10000:
                fh.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            fh.write("\n".join(buf) + "\n")
    if jsonl_fh is not None:
        jsonl_fh.close()
    return counts


def build_app(vehicles: int, trips_file: str) -> dict:
    app = read_document(SOURCE)
    app["application_id"] = f"AH-DA-2026-BENCH-{vehicles}V"
    template = app["vehicles"][1]  # no typed-in prior_testing: the trip logs decide EVD-01
    vin_list = vins(vehicles)
    out = []
    for i, vin in enumerate(vin_list):
        v = copy.deepcopy(template)
        v["vin"] = vin
        v["test_zone"]["report_number"] = f"AHTC-2025-{1001 + i:04d}"
        v.pop("prior_testing", None)
        out.append(v)
    app["vehicles"] = out
    for policy in app["insurance"]:
        policy["vins"] = list(vin_list)
    app["sections"] = list(APPLIED)
    app["evidence"] = {"trips": [trips_file], "incidents": []}
    notice = app["notices"][0]
    assert notice["number"] == NOTICE and notice["kind"] == "road_test"
    notice["vins"] = list(vin_list)
    notice["sections"] = [*APPLIED, *OTHER]
    return app


def render_app(app: dict, rows: int, vehicles: int, seed: int) -> str:
    header = (
        f"# GENERATED by bench/gen_trips.py --rows {rows} --vehicles {vehicles} --seed {seed}: do not edit by hand.\n"
        "# A demonstration application whose prior testing is proved by a large generated trip log\n"
        "# (bench/bench_evidence.py). Names, numbers and identifiers are invented; check digits are valid.\n"
    )
    return header + yaml.safe_dump(app, allow_unicode=True, sort_keys=False, width=120, default_flow_style=None)


def generate(out: Path, rows: int, vehicles: int = 200, seed: int = 2026, jsonl: bool = False, force: bool = False) -> dict:
    """Write (or reuse, if already there with the same parameters) the files; return their meta data."""
    out.mkdir(parents=True, exist_ok=True)
    n = names(rows, vehicles)
    meta_path = out / n["meta"]
    wanted = {"generator_version": GENERATOR_VERSION, "rows": rows, "vehicles": vehicles, "seed": seed}
    if not force and meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        files_there = (out / n["csv"]).is_file() and (out / n["app"]).is_file() and (not jsonl or (out / n["jsonl"]).is_file())
        if files_there and all(meta.get(k) == v for k, v in wanted.items()) and (out / n["csv"]).stat().st_size == meta.get("csv_bytes"):
            meta["reused"] = True
            return meta
    meta_path.unlink(missing_ok=True)
    counts = write_trips(out, rows, vehicles, seed, jsonl)
    (out / n["app"]).write_text(render_app(build_app(vehicles, n["csv"]), rows, vehicles, seed), encoding="utf-8")
    if jsonl:
        (out / n["app_jsonl"]).write_text(render_app(build_app(vehicles, n["jsonl"]), rows, vehicles, seed), encoding="utf-8")
    meta = {**wanted, **counts, "csv": n["csv"], "csv_bytes": (out / n["csv"]).stat().st_size, "app": n["app"],
            "jsonl": n["jsonl"] if jsonl else None, "app_jsonl": n["app_jsonl"] if jsonl else None}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    meta["reused"] = False
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="trip rows (default 1,000,000)")
    ap.add_argument("--vehicles", type=int, default=200, help="vehicles (default 200)")
    ap.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--jsonl", action="store_true", help="also write the rows as JSON Lines, and an application attaching them")
    ap.add_argument("--force", action="store_true", help="regenerate even if matching files are there")
    args = ap.parse_args(argv)
    if args.rows < 1 or not 1 <= args.vehicles <= 999:
        ap.error("--rows must be ≥ 1 and --vehicles between 1 and 999")
    meta = generate(args.out, args.rows, args.vehicles, args.seed, args.jsonl, args.force)
    verb = "reused" if meta["reused"] else "wrote"
    print(f"{verb} {args.out / meta['csv']} ({meta['rows']:,} rows, {meta['csv_bytes'] / 1e6:.1f} MB; "
          f"{meta['autonomous'] / meta['rows']:.1%} autonomous, {meta['applied_sections'] / meta['rows']:.1%} on applied sections)")
    print(f"{verb} {args.out / meta['app']}")
    if meta.get("jsonl"):
        print(f"{verb} {args.out / meta['jsonl']} and {args.out / meta['app_jsonl']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
