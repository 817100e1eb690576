"""What the trip logs and incident records of an application add up to (issue #3).

The service layer reads the evidence files (``icv_permits/adapters/evidence.py``) and hands the engine an
:class:`EvidenceSummary`; the engine stays pure. Hours and kilometres are exact decimals computed
from whole seconds and whole metres.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from icv_permits.core.model.application import Incident


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exclusion(StrEnum):
    """Why a well-formed trip was not counted towards EVD-01."""

    manual_mode = "manual_mode"  # not in autonomous mode
    section_not_applied = "section_not_applied"  # on a section the application does not ask for
    no_valid_notice = "no_valid_notice"  # not inside a valid road-test notice of that vehicle
    overlap = "overlap"  # the part of a trip that overlaps an earlier trip of the same vehicle


class BadRowReason(StrEnum):
    missing_field = "missing_field"
    bad_time = "bad_time"
    bad_number = "bad_number"
    bad_value = "bad_value"
    end_before_start = "end_before_start"
    negative_distance = "negative_distance"
    impossible_speed = "impossible_speed"
    unknown_vin = "unknown_vin"
    unknown_section = "unknown_section"
    duplicate_trip_id = "duplicate_trip_id"
    malformed_row = "malformed_row"


class BadRow(_M):
    file: str
    line: int
    reason: BadRowReason
    field: str = ""
    detail: str = ""  # the offending value (at most 40 characters), or what it clashes with


class Totals(_M):
    trips: int = 0
    hours: Decimal = Decimal(0)
    km: Decimal = Decimal(0)


class SectionTotals(Totals):
    section: str


class ExcludedTotals(Totals):
    reason: Exclusion


class VehicleEvidence(_M):
    vin: str
    counted: Totals  # autonomous, on sections applied for, under a valid notice, overlaps once
    by_section: list[SectionTotals]
    excluded: list[ExcludedTotals]
    overlapping_trips: int = 0  # trips that overlapped an earlier trip of the vehicle


class EvidenceFile(_M):
    path: str  # as written in the application (relative to it)
    kind: str  # "trips" or "incidents"
    sha256: str
    bytes: int
    rows: int
    bad_rows: int


BAD_ROWS_LISTED = 1000
"""At most this many bad rows are listed one by one; beyond it they are counted by reason."""


class EvidenceSummary(_M):
    files: list[EvidenceFile]
    vehicles: list[VehicleEvidence]
    incidents: list[Incident]
    bad_rows: list[BadRow]  # the first BAD_ROWS_LISTED
    bad_row_counts: dict[str, int]  # every bad row, by reason
    lenient: bool
    has_trips: bool

    def vehicle(self, vin: str) -> VehicleEvidence | None:
        return next((v for v in self.vehicles if v.vin == vin), None)
