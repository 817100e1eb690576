"""The overlap sweep of the trip-log reader, held to its first definition.

The reader keeps the trips running at once in two heaps; the sweep was first written scanning every
running trip at each step, which took time growing with the square of the trips when many overlap.
The scanning version is kept here as the definition: over generated trips of one vehicle — equal
starts and ends, zero-length records, equal rates, every group — both give the same buckets,
field for field.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from icv_permits.adapters.evidence import _Sweep

class _ScanSweep:
    """The sweep as it was first written: every active trip scanned at each step (the definition the
    reader's heaps are held to). Counts one vehicle's trips (given in order of start) once where they overlap.

    Time is the union of the trips. Where several trips cover the same moment, that moment is
    credited to one of them: first by group (autonomous before manual, then on a section applied for
    before not, then under a road-test notice before none — the trip most likely to count, so that a
    trip the pack does not count never takes time from one it does), then at the lowest rate (km per
    hour) — the most cautious reading of contradictory records, and one that does not depend on how
    the trips are cut into rows. A trip overlaps when it starts while a trip of its group runs.
    Distances are in whole metres, floored per stretch of time. Only the trips active at the
    current moment are held, so memory does not grow with the number of trips; each credit goes to
    the trip's bucket (section, notice, mode, speed class).
    """

    __slots__ = ("active", "buckets", "cause", "pending", "t", "vin")

    def __init__(self, vin: str):
        self.vin = vin
        self.active: list[list] = []  # [end, start, metres, dur, trip_id, bucket, credited?, group]
        self.t = 0
        # key → [trips, credited trips, credited µs, credited m, overlapping trips, claimed µs, claimed m]
        self.buckets: dict[tuple, list[int]] = {}
        # the stretch being credited: [trip, µs, end]. A stretch is cut (and its distance floored to the
        # metre) where a trip of its trip's group or a better one starts or ends, never by a trip of a
        # worse group, so what a group is credited does not depend on the groups after it
        self.pending: list | None = None
        self.cause = 99  # the best group with an event (start or end) at ``t``

    def _count(self, a: int, b: int) -> None:
        """Count ``[a, b)`` for the best active trip: by group, then at the lowest rate."""
        if b <= a or not self.active:
            return
        best = self.active[0]
        for tr in self.active[1:]:
            if tr[7] != best[7]:
                if tr[7] < best[7]:
                    best = tr
                continue
            lhs, rhs = tr[2] * best[3], best[2] * tr[3]
            if lhs < rhs or (lhs == rhs and (tr[1], tr[4]) < (best[1], best[4])):
                best = tr
        p = self.pending
        if p is not None and p[0] is best and p[2] == a and self.cause > best[7]:
            p[1] += b - a
            p[2] = b
            return
        if p is not None:
            self._credit(p[0], p[1])
        self.pending = [best, b - a, b]

    def _flush(self) -> None:
        if self.pending is not None:
            self._credit(self.pending[0], self.pending[1])
            self.pending = None

    @staticmethod
    def _credit(tr: list, span: int) -> None:
        """Count ``span`` microseconds of trip ``tr`` at its own rate."""
        got = tr[2] if span == tr[3] else tr[2] * span // tr[3]
        b = tr[5]
        b[2] += span
        b[3] += got
        if not tr[6]:
            tr[6] = True
            b[1] += 1

    def _advance(self, until: int) -> None:
        """Count every stretch up to ``until``, dropping trips as they end."""
        while self.active:
            next_end = min(tr[0] for tr in self.active)
            if next_end > until:
                if until > self.t:
                    self._count(self.t, until)
                    self.t = until
                    self.cause = 99
                return
            self._count(self.t, next_end)
            self.t = next_end
            self.cause = min(tr[7] for tr in self.active if tr[0] == next_end)
            self.active = [tr for tr in self.active if tr[0] > next_end]
        if until > self.t:
            self.t = until
            self.cause = 99

    def add(self, trip_id: str, key: tuple, group: int, s: int, e: int, m: int) -> None:
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = [0, 0, 0, 0, 0, 0, 0]
        b[0] += 1
        b[5] += e - s
        b[6] += m
        active = self.active
        if len(active) == 1 and active[0][0] <= s and e > s:
            # the common case: the one active trip ends before this one starts; count the rest of it
            tr = active[0]
            if tr[0] > self.t:
                self._count(self.t, tr[0])
            self._flush()
            tr[0], tr[1], tr[2], tr[3], tr[4], tr[5], tr[6], tr[7] = e, s, m, e - s, trip_id, b, False, group  # reuse the list
            self.t = s
            self.cause = group
            return
        self._advance(s)
        if not self.active:
            self.t = s
        self.cause = min(self.cause, group)
        overlapped = any(tr[7] == group for tr in self.active)
        if overlapped:
            b[4] += 1
        if e == s:  # a zero-length record: nothing to count, nothing overlapped
            if not overlapped:
                b[1] += 1
            return
        self.active.append([e, s, m, e - s, trip_id, b, False, group])

    def finish(self) -> None:
        self._advance(max((tr[0] for tr in self.active), default=self.t))
        self._flush()


_trip = st.tuples(
    st.integers(0, 40),  # start
    st.integers(0, 25),  # length (0: a zero-length record)
    st.integers(0, 30),  # metres
    st.integers(0, 7),  # group
    st.sampled_from(["S1", "S2"]),  # section (a bucket key part)
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_trip, max_size=40))
def test_the_heaps_credit_what_the_scan_credits(trips):
    rows = sorted(((s, s + n, m if n else 0, g, sec, f"T{i:03d}") for i, (s, n, m, g, sec) in enumerate(trips)),
                  key=lambda r: (r[0], r[1], r[5]))  # as the reader sorts them: by start, end, trip ID
    heaps, scan = _Sweep("V"), _ScanSweep("V")
    for s, e, m, g, sec, tid in rows:
        for sweep in (heaps, scan):
            sweep.add(tid, (sec, g), g, s, e, m)
    heaps.finish()
    scan.finish()
    assert heaps.buckets == scan.buckets


def test_many_trips_running_at_once_are_counted_in_n_log_n():
    """20,000 trips of one vehicle all overlapping (the case that took 13 s): counted, and every
    microsecond credited once."""
    sweep = _Sweep("V")
    n = 20_000
    for i in range(n):
        sweep.add(f"T{i:05d}", ("S", i % 3), i % 3, i, i + 10_000 + (i * 7919) % 5000, 1000 + i % 17)
    sweep.finish()
    credited_us = sum(b[2] for b in sweep.buckets.values())
    last_end = max(i + 10_000 + (i * 7919) % 5000 for i in range(n))
    assert credited_us == last_end  # the union of the trips, from 0 on, each moment once
    assert sum(b[0] for b in sweep.buckets.values()) == n
