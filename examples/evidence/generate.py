"""Writes the trip logs and incident records of the evidence examples (deterministic).

    python examples/evidence/generate.py

da-trips.csv       trips of the two vehicles of examples/da-trip-logs.yaml (CSV, mixed time zones)
da-trips.jsonl     the same trips as JSON Lines, all in UTC (same totals)
da-incidents.csv   incident records of those vehicles
bad-trips.csv      one bad row of each kind, for examples/evidence/bad-rows.yaml
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
CST = timezone(timedelta(hours=8))
V1, V2 = "LSVAU218XN2183294", "LSVAU2183N2183301"
COLS = ["vin", "trip_id", "start", "end", "distance_km", "mode", "section", "notice"]


def fmt(dt: datetime, style: int) -> str:
    if style == 0:
        return dt.isoformat()  # +08:00
    if style == 1:
        return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return dt.replace(tzinfo=None).isoformat(sep=" ")  # naive = Asia/Shanghai


def trips() -> list[dict]:
    rows: list[dict] = []
    day = datetime(2025, 7, 1, 9, 0, tzinfo=CST)
    # V1: 100 trips of 2.5 h and 11 km on the two sections applied for → 250 h, 1100 km (passes on hours)
    for i in range(100):
        start = day + timedelta(days=i * 3)
        rows.append(dict(vin=V1, trip_id=f"T1-{i:04d}", start=start, end=start + timedelta(hours=2.5),
                         distance_km="11.0", mode="autonomous", section="HF-GX-001" if i % 2 else "HF-BH-A01", notice=""))
    # V2: 73 trips of 2.5 h / 11 km and one of 0.5 h / 6.8 km, plus the counted half of an overlapping
    # trip (0.5 h / 2.2 km) → 183.5 h, 812 km: 56.5 h or 188 km still to go
    for i in range(74):
        start = day + timedelta(days=i * 3, hours=4)
        hours, km = (2.5, "11.0") if i < 73 else (0.5, "6.8")
        rows.append(dict(vin=V2, trip_id=f"T2-{i:04d}", start=start, end=start + timedelta(hours=hours),
                         distance_km=km, mode="autonomous", section="HF-GX-001" if i % 2 else "HF-BH-A01", notice="皖智网测〔2025〕012号"))
    # not counted: manual mode, a section not applied for, before the notice, an overlap
    s = datetime(2025, 8, 2, 14, 0, tzinfo=CST)
    rows.append(dict(vin=V2, trip_id="T2-M001", start=s, end=s + timedelta(hours=2), distance_km="30.5", mode="manual", section="HF-BH-A01", notice=""))
    rows.append(dict(vin=V2, trip_id="T2-M002", start=s + timedelta(days=1), end=s + timedelta(days=1, hours=1), distance_km="12", mode="manual", section="HF-GX-001", notice=""))
    rows.append(dict(vin=V2, trip_id="T2-X001", start=s + timedelta(days=2), end=s + timedelta(days=2, hours=3), distance_km="40", mode="autonomous", section="HF-JK-003", notice=""))
    b = datetime(2025, 5, 20, 10, 0, tzinfo=CST)  # before the notice was issued (2025-06-10)
    rows.append(dict(vin=V2, trip_id="T2-N001", start=b, end=b + timedelta(hours=4), distance_km="18", mode="autonomous", section="HF-BH-A01", notice=""))
    o = rows[100 + 10]["start"] + timedelta(hours=2)  # starts 30 min before V2's trip 10 ends
    rows.append(dict(vin=V2, trip_id="T2-O001", start=o, end=o + timedelta(hours=1), distance_km="4.4", mode="autonomous", section="HF-BH-A01", notice=""))
    return rows


def write_csv(path: Path, rows: list[dict], styles: bool = True) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLS)
        for i, r in enumerate(rows):
            style = i % 3 if styles else 1
            w.writerow([r["vin"], r["trip_id"], fmt(r["start"], style), fmt(r["end"], style), r["distance_km"], r["mode"], r["section"], r["notice"]])


def main() -> None:
    rows = trips()
    write_csv(HERE / "da-trips.csv", rows)
    with (HERE / "da-trips.jsonl").open("w", encoding="utf-8") as fh:
        for r in reversed(rows):  # another order, another zone: the same totals
            fh.write(json.dumps({**r, "start": fmt(r["start"], 1), "end": fmt(r["end"], 1), "distance_km": float(r["distance_km"])}, ensure_ascii=False) + "\n")
    with (HERE / "da-incidents.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["date", "vin", "section", "kind", "liability", "police_reference", "description"])
        w.writerow(["2025-09-14", V1, "HF-GX-001", "accident", "none", "合公交认字〔2025〕第0914号", "等红灯时被后车追尾"])
    bad = [
        [V1, "B-01", "2025-07-01T10:00:00+08:00", "2025-07-01T09:00:00+08:00", "5", "autonomous", "HF-GX-001", ""],  # end before start
        [V1, "B-02", "2025-07-02T10:00:00+08:00", "2025-07-02T11:00:00+08:00", "-3", "autonomous", "HF-GX-001", ""],  # negative distance
        [V1, "B-03", "2025-07-03T10:00:00+08:00", "2025-07-03T11:00:00+08:00", "400", "autonomous", "HF-GX-001", ""],  # 400 km/h
        ["LFV2A21K9P4000107", "B-04", "2025-07-04T10:00:00+08:00", "2025-07-04T11:00:00+08:00", "20", "autonomous", "HF-GX-001", ""],  # unknown VIN
        [V1, "B-05", "2025-07-05T10:00:00+08:00", "2025-07-05T11:00:00+08:00", "20", "autonomous", "XX-999", ""],  # unknown section
        [V1, "B-06", "2025-07-06T10:00:00+08:00", "2025-07-06T11:00:00+08:00", "20", "autonomous", "HF-GX-001", ""],
        [V1, "B-06", "2025-07-07T10:00:00+08:00", "2025-07-07T11:00:00+08:00", "20", "autonomous", "HF-GX-001", ""],  # duplicate ID
        [V1, "B-08", "2025-07-08 25:00", "2025-07-08T11:00:00+08:00", "20", "autonomous", "HF-GX-001", ""],  # bad time
        [V1, "B-09", "2025-07-09T10:00:00+08:00", "2025-07-09T11:00:00+08:00", "twenty", "autonomous", "HF-GX-001", ""],  # bad number
        [V1, "B-10", "2025-07-10T10:00:00+08:00", "2025-07-10T11:00:00+08:00", "20", "autonomous", "HF-GX-001", ""],  # good
    ]
    with (HERE / "bad-trips.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLS)
        w.writerows(bad)


if __name__ == "__main__":
    main()
