"""Builders for evidence tests: applications with trip logs and incident records.

``ev_app()`` is the DA baseline of :mod:`builders` with the typed-in ``prior_testing`` removed, a
road-test notice (:data:`NOTICE_NO`, 2025-06-10 … 2026-12-09, sections :data:`SECTION` and
:data:`SECTION2`) and ``evidence: {trips: [...], incidents: [...]}``. ``Trip`` is one trip record;
``write_trips`` writes trips as CSV or JSON Lines with times in one of three spellings (offset
``+08:00``, UTC ``Z``, naive Asia/Shanghai). ``run_check`` / ``run_summary`` check an application
against files in a folder.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from builders import AS_OF, DA, SECTION, baseline, to_app, with_vehicles

from icv_permits.core.engine.checks.evidence import COUNTING_PARAMS, Counting, tally
from icv_permits.core.engine.core import Param
from icv_permits.core.engine.decision import Decision
from icv_permits.adapters.evidence import summarise
from icv_permits.core.model.evidence import EvidenceSummary, VehicleEvidence
from icv_permits.adapters.packs import load_pack
from icv_permits.services.precheck import CheckResult, check_application

CST = timezone(timedelta(hours=8))
UTC = timezone.utc
SECTION2 = "HF-BH-A01"  # applied for (by default) and open for DA
NOT_APPLIED = "HF-GX-002"  # in the register, open for DA, not applied for
NOTICE_NO = "皖智网测〔2025〕012号"
NOTICE_ISSUED = "2025-06-10"
NOTICE_UNTIL = "2026-12-09"
COLS = ["vin", "trip_id", "start", "end", "distance_km", "mode", "section", "notice"]
INCIDENT_COLS = ["date", "vin", "section", "kind", "liability", "police_reference", "description"]
STYLES = ("offset", "utc", "naive")
T0 = datetime(2025, 7, 1, 8, 0, tzinfo=CST)  # well inside the notice


def km_text(metres: int) -> str:
    """Whole metres as an exact decimal number of kilometres: 1234 → ``"1.234"``."""
    return format(Decimal(metres) / 1000, "f")


@dataclass(frozen=True)
class Trip:
    vin: str
    trip_id: str
    start: datetime  # aware
    end: datetime  # aware
    metres: int
    mode: str = "autonomous"
    section: str = SECTION
    notice: str = ""

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def trip(vin: str, trip_id: str, start: datetime, seconds: int, metres: int, **kw: Any) -> Trip:
    return Trip(vin, trip_id, start, start + timedelta(seconds=seconds), metres, **kw)


def hours_trips(vin: str, n: int, hours: int, metres: int, *, prefix: str = "T", start: datetime = T0, **kw: Any) -> list[Trip]:
    """``n`` trips of ``hours`` h and ``metres`` m each, one a day from ``start``."""
    return [trip(vin, f"{prefix}{i:04d}", start + timedelta(days=i), hours * 3600, metres, **kw) for i in range(n)]


def fmt_time(dt: datetime, style: str) -> str:
    if style == "offset":
        return dt.astimezone(CST).isoformat()
    if style == "utc":
        return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if style == "naive":
        return dt.astimezone(CST).replace(tzinfo=None).isoformat()
    raise ValueError(style)


def trip_record(t: Trip, style: str = "offset") -> dict[str, str]:
    return {
        "vin": t.vin,
        "trip_id": t.trip_id,
        "start": fmt_time(t.start, style),
        "end": fmt_time(t.end, style),
        "distance_km": km_text(t.metres),
        "mode": t.mode,
        "section": t.section,
        "notice": t.notice,
    }


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def write_jsonl(path: Path, objects: list[Any]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for obj in objects:
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return path


def write_trips(path: Path, trips: list[Trip], style: str = "offset") -> Path:
    """CSV (``.csv``) or JSON Lines (``.jsonl``) by the suffix of ``path``; ``style`` may also be
    ``"mixed"`` (row i in ``STYLES[i % 3]``)."""
    recs = [trip_record(t, STYLES[i % 3] if style == "mixed" else style) for i, t in enumerate(trips)]
    if path.suffix == ".jsonl":
        return write_jsonl(path, recs)
    return write_csv(path, COLS, [[r[c] for c in COLS] for r in recs])


def incident(vin: str, kind: str = "accident", liability: str = "", on: str = "2025-09-14", section: str = SECTION,
             police_reference: str = "合公交认字〔2025〕第0914号", description: str = "") -> dict[str, str]:
    return {"date": on, "vin": vin, "section": section, "kind": kind, "liability": liability,
            "police_reference": police_reference, "description": description}


def write_incidents(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_csv(path, INCIDENT_COLS, [[r.get(c, "") for c in INCIDENT_COLS] for r in rows])


def road_test_notice(vins: list[str], *, number: str = NOTICE_NO, issued: str = NOTICE_ISSUED, until: str = NOTICE_UNTIL,
                     sections: list[str] | None = None) -> dict[str, Any]:
    return {
        "number": number,
        "kind": "road_test",
        "issuer_province": "anhui",
        "issued": issued,
        "valid_until": until,
        "vins": list(vins),
        "configurations": ["T1-L4-2025A"],
        "sections": [SECTION, SECTION2] if sections is None else list(sections),
    }


def ev_app(trips: list[str] | tuple[str, ...] = ("trips.csv",), incidents: list[str] | tuple[str, ...] = (), *,
           vehicles: int = 1, sections: list[str] | None = None, notices: list[dict[str, Any]] | None = None,
           prior_testing: bool = False) -> dict[str, Any]:
    """A DA application whose prior testing is proved by the evidence files ``trips`` / ``incidents``."""
    d = baseline(DA)
    d["sections"] = [SECTION, SECTION2] if sections is None else list(sections)
    if not prior_testing:
        for v in d["vehicles"]:
            v["prior_testing"] = []
    d["notices"] = [road_test_notice([d["vehicles"][0]["vin"]])]
    d = with_vehicles(d, vehicles)
    if notices is not None:
        d["notices"] = notices
    d["evidence"] = {"trips": list(trips), "incidents": list(incidents)}
    return d


def vins_of(d: dict[str, Any]) -> list[str]:
    return [v["vin"] for v in d["vehicles"]]


def run_check(d: dict[str, Any], base: Path, *, as_of: date = AS_OF, lenient: bool = False) -> CheckResult:
    return check_application(to_app(d), as_of=as_of, base_dir=base, lenient=lenient)


_PACK = None


class Counted:
    """An evidence summary together with what the engine counts of its trip buckets under the pack's
    parameters on ``as_of`` (``.vehicles``, one :class:`VehicleEvidence` per vehicle of the
    application); every other attribute is the summary's."""

    def __init__(self, summary: EvidenceSummary, app, pack, as_of: date):
        self.summary = summary
        param = {name: Param(pack.parameters[name], pack.parameters[name].at(as_of)) for name in COUNTING_PARAMS}
        # the reader attributes trips only to road-test notices of the history that list the vehicle
        notices = {}
        for b in summary.buckets:
            if b.notice is not None:
                notices.setdefault(b.vin, set()).add(b.notice)
        c = Counting(modes=frozenset(param["evidence.counted_modes"].value),
                     sections=frozenset(app.sections) if param["evidence.sections_applied_for_only"].value else None,
                     notices={k: frozenset(v) for k, v in notices.items()} if param["evidence.road_test_notice_required"].value else None,
                     speed=param["evidence.max_average_speed_kmh"])
        self.vehicles = [tally(v.vin, summary.by_vin.get(v.vin, ()), c) for v in app.vehicles] if summary.has_trips else []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.summary, name)

    def vehicle(self, vin: str) -> VehicleEvidence | None:
        return next((v for v in self.vehicles if v.vin == vin), None)


def run_summary(d: dict[str, Any], base: Path, *, as_of: date = AS_OF, lenient: bool = False) -> Counted:
    """Only the evidence reading and counting (no rule evaluation): quick, for properties."""
    global _PACK
    if _PACK is None:
        _PACK = load_pack("anhui-2025")
    app = to_app(d)
    s = summarise(app, base, _PACK, as_of, lenient=lenient)
    assert s is not None
    return Counted(s, app, _PACK, as_of)


def vehicle(s: Counted | Decision, vin: str) -> VehicleEvidence:
    """A vehicle's counted totals, from :func:`run_summary` or from a decision (``evidence_counted``)."""
    if isinstance(s, Decision):
        v = next((x for x in s.evidence_counted or [] if x.vin == vin), None)
    else:
        v = s.vehicle(vin)
    assert v is not None, vin
    return v


def excluded(v: VehicleEvidence) -> dict[str, tuple[int, Decimal, Decimal]]:
    """``{reason: (trips, hours, km)}``."""
    return {e.reason.value: (e.trips, e.hours, e.km) for e in v.excluded}


def without_files(s: EvidenceSummary | Counted) -> dict[str, Any]:
    """The summary as data, without its ``files`` (which differ in name, digest and size)."""
    if isinstance(s, Counted):
        return {**s.summary.model_dump(exclude={"files"}), "vehicles": [v.model_dump() for v in s.vehicles]}
    return s.model_dump(exclude={"files"})


def moved(t: Trip, **kw: Any) -> Trip:
    return replace(t, **kw)
