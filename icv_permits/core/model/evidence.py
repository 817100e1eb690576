"""What the trip logs and incident records of an application add up to.

The service layer reads the evidence files (``icv_permits/adapters/evidence.py``) and hands the engine an
:class:`EvidenceSummary`; the engine stays pure. The reader only reads and classifies: it totals the
trips into :class:`TripBucket` s (vehicle × section × road-test notice × mode × speed class). Which
buckets count towards EVD-01 is the engine's decision, from the pack's parameters
(``evidence.counted_modes``, ``evidence.sections_applied_for_only``,
``evidence.road_test_notice_required``, ``evidence.max_average_speed_kmh``); what it counted is a
:class:`VehicleEvidence` per vehicle in the decision. Hours and kilometres are exact decimals computed
from whole microseconds and whole metres.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from functools import cached_property
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer, model_validator

from icv_permits.core.model.application import Incident


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exclusion(StrEnum):
    """Why a well-formed trip was not counted towards EVD-01."""

    manual_mode = "manual_mode"  # not in autonomous mode
    section_not_applied = "section_not_applied"  # on a section the application does not ask for
    no_valid_notice = "no_valid_notice"  # not inside a valid road-test notice of that vehicle
    implausible_speed = "implausible_speed"  # an average speed above evidence.max_average_speed_kmh
    overlap = "overlap"  # the part of a trip that overlaps an earlier trip of the same vehicle


class TripMode(StrEnum):
    autonomous = "autonomous"
    manual = "manual"


FASTEST_TRIPS_APART = 16
"""Per vehicle, the speed classes (whole km/h) of this many fastest trips are kept apart; all its
slower trips are in one class per bucket, labelled by the speed of the next fastest trip (see
:class:`TripBucket`)."""


def hours_of(us: int) -> Decimal:
    """Hours to 0.0001 h, rounded down: a trip a fraction of a second short of 240 h is short."""
    return (Decimal(us) / Decimal(3_600_000_000)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)


def km_of(metres: int) -> Decimal:
    return Decimal(metres) / Decimal(1000)


class BadRowReason(StrEnum):
    missing_field = "missing_field"
    bad_time = "bad_time"
    bad_number = "bad_number"
    bad_value = "bad_value"
    end_before_start = "end_before_start"
    negative_distance = "negative_distance"
    distance_too_large = "distance_too_large"  # beyond what one trip can record (the reader's bound)
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


class TripBucket(_M):
    """The trips of one vehicle that share a section, a road-test notice, a mode and a speed class,
    totalled by the reader. It decides nothing: the engine decides which buckets count.

    Time and distance are in whole microseconds and metres. A vehicle's trips that overlap in time
    are counted once across all its buckets: each moment is credited to one trip (the one at the
    lowest rate), so ``us``/``m`` of a vehicle's buckets never cover a moment twice, and what the
    other trips claim for that moment is ``overlap_us``/``overlap_m`` of their bucket.

    ``max_kmh``: no trip of the bucket averaged more than this many km/h (rounded up to a whole km/h).
    A vehicle's :data:`FASTEST_TRIPS_APART` fastest trips are classed by their own speed; all its
    slower trips share the class of the next fastest trip (so a vehicle has about one bucket per
    section, notice and mode, plus a few for its fastest trips). "A bucket counts when ``max_kmh``
    is within the limit" is therefore exact unless more than that many of the vehicle's trips exceed
    the limit; then it errs towards not counting (and EVD-05 reports the implausible trips anyway)."""

    vin: str
    section: str
    notice: str | None = None  # the road-test notice of the history the trips ran inside; None: none
    mode: TripMode
    max_kmh: int
    trips: int  # trips in the bucket
    credited_trips: int  # of them, trips credited with some time (a zero-length trip when not overlapped)
    us: int  # microseconds credited
    m: int  # metres credited
    overlap_trips: int = 0  # trips that started while an earlier trip of the vehicle was running
    overlap_us: int = 0  # claimed beyond what is credited
    overlap_m: int = 0


class VehicleEvidence(_M):
    """What the engine counted for one vehicle (in the decision's ``evidence_counted``)."""

    vin: str
    counted: Totals  # the buckets the pack counts (autonomous, sections applied for, under a notice, plausible), overlaps once
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
    """What the reader read: ``buckets`` (decision format 2), or — in records written before the
    engine counted — ``vehicles``, the per-vehicle totals the reader itself counted (decision format
    1). Exactly one of the two is present, and only that one is serialised, so a format-1 summary
    reads and writes back the same JSON as the old code wrote it."""

    files: list[EvidenceFile]
    buckets: list[TripBucket] | None = None  # by vehicle (in the order of the application), section, notice, mode, speed
    vehicles: list[VehicleEvidence] | None = None  # format 1 only: counted by the reader, in the order of the application
    incidents: list[Incident]
    bad_rows: list[BadRow]  # the first BAD_ROWS_LISTED
    bad_row_counts: dict[str, int]  # every bad row, by reason
    lenient: bool
    has_trips: bool

    @model_validator(mode="after")
    def _one_shape(self) -> EvidenceSummary:
        if (self.buckets is None) == (self.vehicles is None):
            raise ValueError("evidence has either buckets (format 2) or vehicles (format 1), not both or neither")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        data.pop("vehicles" if self.vehicles is None else "buckets", None)
        return data

    @property
    def counted_by_reader(self) -> bool:
        """Format 1: the reader decided what counted (its counting conditions, as it applied them,
        are in the totals and cannot be applied again: a pack's counting parameters do not change them)."""
        return self.vehicles is not None

    def vehicle(self, vin: str) -> VehicleEvidence | None:
        """Format 1: the totals the reader counted for ``vin`` (None: none recorded)."""
        return next((v for v in self.vehicles or () if v.vin == vin), None)

    @cached_property
    def by_vin(self) -> dict[str, list[TripBucket]]:
        """The buckets of each vehicle (not a field: built once, on first use)."""
        out: dict[str, list[TripBucket]] = {}
        for b in self.buckets or ():
            out.setdefault(b.vin, []).append(b)
        return out
