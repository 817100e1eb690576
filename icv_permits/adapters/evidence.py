"""Reading trip logs and incident records, and adding up the prior testing they prove.

This is service-layer code: it reads files and classifies what it reads; it decides nothing. Each
well-formed trip is classified by vehicle, section, the road-test notice of the history it ran inside
(or none), mode and speed class, and totalled into a
:class:`~icv_permits.core.model.evidence.TripBucket`; the pure engine decides which buckets count
(EVD-01…05, from the pack's parameters). A row is bad only when it cannot be read or classified.

Trip logs are read in batches of a few megabytes and classified a column at a time with polars
(imported only when a trip log is read); what is kept across batches is about 50 bytes a trip
(codes, integers and the trip ID), enough to find duplicate trip IDs and the time order of each
vehicle's trips; nothing is written to disk. Rows that are not plainly well-formed are classified
row by row by :meth:`_TripParser.parse`, the one definition of a row's meaning and of every bad-row
message. See ``docs/evidence.md`` for the formats and the counting rules.

The paths come from the application, that is from whoever wrote it, and this code may run in an
office next to its key and its database: a path is read only when it names a regular file inside
the application's folder (:class:`_Folder`), and every refusal reads the same, so that the message
never tells whether some file exists elsewhere.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import operator
import os
import re
import stat
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo

import orjson
from pydantic import ValidationError

from icv_permits.core.engine.core import history_notices
from icv_permits.core.errors import InputError, Problem, show
from icv_permits.core.i18n import N_
from icv_permits.core.model.application import Application, Incident, Notice, NoticeKind
from icv_permits.core.model.evidence import (
    BAD_ROWS_LISTED,
    FASTEST_TRIPS_APART,
    BadRow,
    BadRowReason,
    EvidenceFile,
    EvidenceSummary,
    TripBucket,
    TripMode,
)
from icv_permits.core.model.ids import normalize_identifier
from icv_permits.core.model.types import TIMEZONE
from icv_permits.core.pack import Pack

SHANGHAI = ZoneInfo(TIMEZONE)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
TRIP_COLUMNS = ("vin", "trip_id", "start", "end", "distance_km", "mode", "section")
OPTIONAL_TRIP_COLUMNS = ("notice",)
INCIDENT_COLUMNS = ("date", "vin", "kind")
INCIDENT_FIELDS = (*INCIDENT_COLUMNS, "section", "liability", "police_reference", "description", "during_road_test")
MODES = {"autonomous": True, "auto": True, "自动驾驶": True, "manual": False, "人工": False, "人工驾驶": False}

BAD_ROW_MESSAGES = {
    BadRowReason.missing_field: N_("line {line}: {field} is missing"),
    BadRowReason.bad_time: N_("line {line}: {field} is not a date and time (ISO 8601, e.g. 2026-05-14T08:30:00+08:00): {detail}"),
    BadRowReason.bad_number: N_("line {line}: {field} is not a number: {detail}"),
    BadRowReason.bad_value: N_("line {line}: {field} has a value that is not allowed: {detail}"),
    BadRowReason.end_before_start: N_("line {line}: the trip ends before it starts ({detail})"),
    BadRowReason.negative_distance: N_("line {line}: the distance is negative: {detail}"),
    BadRowReason.distance_too_large: N_("line {line}: the distance is 100,000,000 km or more, beyond what one trip can record: {detail}"),
    BadRowReason.impossible_speed: N_("line {line}: impossible average speed: {detail}"),
    BadRowReason.unknown_vin: N_("line {line}: VIN {detail} is not a vehicle of this application"),
    BadRowReason.unknown_section: N_("line {line}: section {detail} is not in the register of open sections"),
    BadRowReason.duplicate_trip_id: N_("line {line}: trip ID {detail} appears more than once"),
    BadRowReason.malformed_row: N_("line {line}: the row cannot be read: {detail}"),
}


class _Bad(Exception):
    def __init__(self, reason: BadRowReason, field: str = "", detail: str = ""):
        self.reason, self.field, self.detail = reason, field, detail


def _micros(dt: datetime) -> int:
    return (dt - EPOCH) // US


#: The distance one trip may record, in km: below 100,000,000 (eight digits before the point; the
#: Sun is 150 million km away). A bound of what the reader can hold, not a judgement of what is
#: plausible (the engine judges speeds): a trip's metres, its speed in km/h and every total stay
#: exact 64-bit integers. (The row's message says the figure: keep them together.)
MAX_TRIP_KM = 10**8


def parse_metres(text: str) -> int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _Bad(BadRowReason.bad_number, "distance_km", show(text)) from None
    if not value.is_finite():
        raise _Bad(BadRowReason.bad_number, "distance_km", show(text))
    if value < 0:
        raise _Bad(BadRowReason.negative_distance, "distance_km", show(text))
    if value >= MAX_TRIP_KM:
        raise _Bad(BadRowReason.distance_too_large, "distance_km", show(text))
    return int((value * 1000).to_integral_value(ROUND_DOWN))  # to the metre, down: never more than recorded


# ---------------------------------------------------------------- files


#: The largest evidence file read, in bytes (about twenty million trip rows): a file that grows
#: while it is read, or one far beyond any fleet's records, is refused rather than read for hours.
MAX_EVIDENCE_BYTES = 2 * 1024**3

M_NOT_EVIDENCE = N_("cannot be read as evidence ({path}): only regular files inside the application's folder are read")
M_NO_FOLDER = N_("cannot be read as evidence ({path}): the application was not read from a file in a folder, so it has no evidence files; save it as a file next to them")
M_TOO_LARGE = N_("the evidence file is larger than {limit} bytes")

# POSIX only: where a folder cannot be walked with openat and O_NOFOLLOW, no evidence file is read
_WALKS = (os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd and os.readlink in os.supports_dir_fd
          and all(hasattr(os, f) for f in ("O_DIRECTORY", "O_NOFOLLOW", "O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC")))
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
# O_NONBLOCK: a FIFO swapped in after the look must not block the open; O_NOCTTY: nor a terminal
# become the process's controlling terminal
_FILE_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0))
_MAX_LINKS = 40  # as the kernel's own limit on symbolic links in one lookup
_PSEUDO = ("/proc", "/sys", "/dev")


class _Refused(Exception):
    """A path that is not read; why is not said (see :data:`M_NOT_EVIDENCE`)."""


def _pseudo_devices() -> frozenset[int]:
    """The devices of /proc, /sys and /dev where they are file systems of their own: a "regular
    file" there (``/proc/self/environ``) is the process's memory or the kernel's, never evidence."""
    try:
        root = os.stat("/").st_dev
    except OSError:
        root = None
    devs = set()
    for p in _PSEUDO:
        try:
            dev = os.stat(p).st_dev
        except OSError:
            continue
        if dev != root:
            devs.add(dev)
    return frozenset(devs)


class _Folder:
    """The application's folder, held open as a directory descriptor, and the one way evidence is
    opened: :meth:`open` walks the path one component at a time with ``openat`` relative to the
    descriptor of the folder reached so far, never following a symbolic link in the kernel.

    Why a walk and not a check then an open: whatever is checked is the descriptor that is read,
    so a file or folder swapped for a symbolic link between a check and an open cannot lead out.
    ``openat2(RESOLVE_BENEATH)`` would do the same in one call, but Python does not expose it and it
    is Linux-only (5.6+); the walk needs only POSIX ``openat``/``fstatat``/``readlinkat``.

    The rules: the path is relative; ``..`` never climbs above the folder; a symbolic link is
    followed only when its target is relative, and that target is walked by the same rules from the
    link's folder (so a link may point to another file inside the folder, never out of it, and no
    more than 40 links are followed); the last component must be a regular file (looked at without
    opening it, so that a device or a FIFO is never opened, then opened with ``O_NOFOLLOW`` and
    checked again on the descriptor: same file, still regular, not on /proc, /sys or /dev).
    """

    def __init__(self, base: Path | None) -> None:
        self.fd: int | None = None
        self.pseudo = _pseudo_devices()
        if base is None or not _WALKS:
            return
        try:
            fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except (OSError, ValueError):
            return
        if os.fstat(fd).st_dev in self.pseudo:  # an application read as /dev/stdin, /proc/self/fd/0…
            os.close(fd)
            return
        self.fd = fd

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def open(self, rel: str, field: str) -> _Read:
        """The evidence file ``rel`` (as the application writes it) for reading; ``field`` names
        the application's field in the message when it is refused."""
        if self.fd is None:
            raise InputError([Problem(field, M_NO_FOLDER, {"path": show(rel, 200)}, "no_folder")])
        try:
            fd = self._walk(rel)
        except _Refused:
            raise InputError([Problem(field, M_NOT_EVIDENCE, {"path": show(rel, 200)}, "not_evidence")]) from None
        if os.fstat(fd).st_size > MAX_EVIDENCE_BYTES:  # inside the folder: saying so tells nothing
            os.close(fd)
            raise InputError([Problem(rel, M_TOO_LARGE, {"limit": f"{MAX_EVIDENCE_BYTES:,}"}, "too_large")])
        return _Read(fd, rel)

    def _walk(self, rel: str) -> int:
        assert self.fd is not None
        if not rel or rel.startswith("/") or "\0" in rel:
            raise _Refused
        parts = rel.split("/")
        parts.reverse()  # a stack: the next component last
        dirs = [self.fd]  # the folders walked through, from the application's folder down
        links = 0
        try:
            while parts:
                name = parts.pop()
                if name in ("", "."):
                    continue
                if name == "..":
                    if len(dirs) == 1:
                        raise _Refused
                    os.close(dirs.pop())
                    continue
                st = os.stat(name, dir_fd=dirs[-1], follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    target = os.readlink(name, dir_fd=dirs[-1])
                    links += 1
                    if links > _MAX_LINKS or not target or target.startswith("/"):
                        raise _Refused
                    parts.extend(reversed(target.split("/")))
                    continue
                if not parts:
                    return self._open_file(dirs[-1], name, st)
                if not stat.S_ISDIR(st.st_mode):
                    raise _Refused
                dirs.append(os.open(name, _DIR_FLAGS, dir_fd=dirs[-1]))
            raise _Refused  # the path names a folder ("logs/", "logs/..")
        except (OSError, ValueError):
            raise _Refused from None
        finally:
            for fd in dirs[1:]:
                os.close(fd)

    def _open_file(self, dir_fd: int, name: str, seen: os.stat_result) -> int:
        if not stat.S_ISREG(seen.st_mode):
            raise _Refused
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        try:
            st = os.fstat(fd)
            if (not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino)
                    or st.st_dev in self.pseudo):
                raise _Refused
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd


class _Read(io.RawIOBase):
    """An open evidence file whose bytes are hashed and counted as the parser reads them: the
    digest recorded is of exactly the bytes that were classified (no second read that could see
    another file), and a file growing past :data:`MAX_EVIDENCE_BYTES` while it is read is refused."""

    def __init__(self, fd: int, rel: str) -> None:
        super().__init__()
        self.raw = io.FileIO(fd, "rb", closefd=True)
        self.rel = rel
        self.hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self.raw.readinto(buffer)
        if n:
            self.size += n
            if self.size > MAX_EVIDENCE_BYTES:
                raise InputError([Problem(self.rel, M_TOO_LARGE, {"limit": f"{MAX_EVIDENCE_BYTES:,}"}, "too_large")])
            self.hash.update(memoryview(buffer)[:n])
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()

    def finish(self) -> tuple[str, int]:
        """Read what the parser left (nothing, normally) and return the digest and the size."""
        buf = bytearray(1 << 16)
        while self.readinto(buf):
            pass
        return self.hash.hexdigest(), self.size


class _Counted(io.BufferedReader):
    """A buffered reader that counts the bytes it hands to the text layer, so that a byte that is
    not UTF-8 is named by its offset in the file (the text layer's error counts from the start of
    the window it was decoding)."""

    def __init__(self, raw: io.RawIOBase, base: int = 0) -> None:
        super().__init__(raw, 1 << 20)
        self.given = base  # the file's offset of the next byte handed out

    def read1(self, size: int = -1) -> bytes:
        out = super().read1(size)
        self.given += len(out)
        return out

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.given += len(out)
        return out

    def offset(self, exc: UnicodeDecodeError) -> int:
        """The file offset of the byte ``exc`` names: the decoder's input (the bytes of a character
        cut by the window's start, then the window) ends at the last byte handed out."""
        return self.given - len(exc.object) + exc.start


def _rows(src: _Read, name: str, required: tuple[str, ...], columns: tuple[str, ...]) -> Iterator[tuple[int, tuple[str, ...] | None, str]]:
    """``(line, values, error)`` for each data row of a CSV or JSON Lines file: ``values`` holds
    the row's ``columns`` in that order ("" where a column is absent), or is ``None`` with the
    reason the row cannot be read. A CSV header must name every ``required`` column."""
    if Path(name).suffix.lower() not in (".jsonl", ".ndjson", ".json"):
        yield from _csv_rows(src, name, required, columns, "utf-8-sig")
        return
    buffered = _Counted(src)
    fh = io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")
    try:
        seen = False
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            seen = True
            try:  # orjson: no recursion to exhaust (it stops at a depth of 1024), no lone surrogate, no integer beyond 64 bits
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield line_no, None, f"JSON: {exc.msg}"
                continue
            if not isinstance(obj, dict):
                yield line_no, None, "not a JSON object"
                continue
            yield line_no, tuple("" if (v := obj.get(c)) is None else str(v) for c in columns), ""
        if not seen:
            raise InputError([Problem(name, N_("the evidence file is empty"), {}, "empty")])
    except UnicodeDecodeError as exc:
        raise InputError([Problem(name, M_NOT_UTF8, {"offset": buffered.offset(exc)}, "encoding")]) from None
    except OSError as exc:  # a read error of a file already found inside the folder (EIO)
        raise InputError([Problem(name, M_UNREADABLE, {"reason": exc.strerror or str(exc)}, "unreadable")]) from None
    finally:
        fh.detach().detach()  # not closed: the caller reads the digest, then closes it


M_NOT_UTF8 = N_("the evidence file is not UTF-8 text: the byte at byte offset {offset} cannot be decoded; save the file as UTF-8 "
                "(files saved as GBK/GB 2312 often cause this)")
M_UNREADABLE = N_("cannot read the evidence file: {reason}")


def _header(name: str, header: list[str], required: tuple[str, ...], columns: tuple[str, ...]) -> tuple[int, tuple[int, ...]]:
    """The width of a CSV header and where each of ``columns`` is (the width itself where absent)."""
    cols = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in cols]
    if missing:
        raise InputError([Problem(name, N_("the header lacks the columns: {columns}"), {"columns": ", ".join(missing)}, "header")])
    width = len(cols)
    last = {c: i for i, c in enumerate(cols)}  # a repeated column name: the last one counts
    return width, tuple(last.get(c, width) for c in columns)  # absent columns read an "" appended to the row


def _csv_rows(raw: io.RawIOBase, name: str, required: tuple[str, ...], columns: tuple[str, ...], encoding: str, *,
              header: tuple[int, tuple[int, ...]] | None = None, line_base: int = 0,
              byte_base: int = 0) -> Iterator[tuple[int, tuple[str, ...] | None, str]]:
    """:func:`_rows` of a CSV file, from the start (``header`` None) or from line ``line_base`` + 1
    with the header already read, ``raw`` starting at the file's offset ``byte_base``."""
    buffered = _Counted(raw, byte_base)
    fh = io.TextIOWrapper(buffered, encoding=encoding, newline="")
    try:
        reader = csv.reader(fh)
        if header is None:
            first = next(reader, None)
            if first is None:
                raise InputError([Problem(name, N_("the evidence file is empty"), {}, "empty")])
            header = _header(name, first, required, columns)
        width, idx = header
        pad = width in idx
        pick = operator.itemgetter(*idx)
        for row in reader:
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield line_base + reader.line_num, None, f"{len(row)} columns, the header has {width}"
                continue
            if width == 1 and not row[0].strip():
                continue
            if pad:
                row.append("")
            yield line_base + reader.line_num, pick(row), ""
    except UnicodeDecodeError as exc:
        raise InputError([Problem(name, M_NOT_UTF8, {"offset": buffered.offset(exc)}, "encoding")]) from None
    except csv.Error as exc:
        raise InputError([Problem(name, N_("the CSV cannot be read: {reason}"), {"reason": str(exc)}, "csv")]) from None
    except OSError as exc:  # a read error of a file already found inside the folder (EIO)
        raise InputError([Problem(name, M_UNREADABLE, {"reason": exc.strerror or str(exc)}, "unreadable")]) from None
    finally:
        fh.detach().detach()  # not closed: the caller reads the digest, then closes it


# ---------------------------------------------------------------- aggregation


class _Collector:
    def __init__(self) -> None:
        self.listed: list[BadRow] = []
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, file: str, line: int, reason: BadRowReason, field: str = "", detail: str = "") -> None:
        self.counts[reason.value] += 1
        if len(self.listed) < BAD_ROWS_LISTED:
            self.listed.append(BadRow(file=file, line=line, reason=reason, field=field, detail=detail))


def summarise(
    app: Application, base_dir: Path | None, pack: Pack, as_of: date, *, lenient: bool = False, history: list[Notice] | None = None
) -> EvidenceSummary | None:
    """Read the application's evidence files and total the trips into buckets.

    ``base_dir`` is the application's folder (that of its file); the files are read only inside it
    (:class:`_Folder`). ``None`` means the application has no folder (it was not read from a file):
    then no evidence file is read and each one named is bad input.

    Trips are matched against the road-test notices in ``history`` (default: the history the engine
    takes from the application on ``as_of``; a regulator's review passes the one from the records).

    Raises :class:`InputError` listing the bad rows (file, line, reason) unless ``lenient``, in
    which case bad rows are skipped and listed in the summary.
    """
    ev = app.evidence
    if ev is None or (not ev.trips and not ev.incidents):
        return None
    bad = _Collector()
    vins = {v.vin for v in app.vehicles}
    if history is None:
        history = history_notices(app, None, as_of, pack.meta.home_province)
    notices: dict[str, list[tuple[date, date, frozenset[str], str]]] = defaultdict(list)
    for n in history:
        if n.kind is NoticeKind.road_test:
            for vin in n.vins:
                notices[vin].append((n.start, n.valid_until, frozenset(n.sections), n.number))

    parser = _TripParser(vins, pack, notices)
    with _Folder(base_dir) as folder:
        files, buckets = _read_trips(folder, ev.trips, parser, bad, app)
        incidents: list[Incident] = []
        for file_no, rel in enumerate(ev.incidents):
            with folder.open(rel, f"evidence.incidents[{file_no}]") as src:
                rows = 0
                bad_before = sum(bad.counts.values())
                for line, rec, err in _rows(src, rel, INCIDENT_COLUMNS, INCIDENT_FIELDS):
                    rows += 1
                    if rec is None:
                        bad.add(rel, line, BadRowReason.malformed_row, "", err)
                        continue
                    try:
                        incidents.append(_incident(dict(zip(INCIDENT_FIELDS, rec, strict=True)), vins, pack))
                    except _Bad as b:
                        bad.add(rel, line, b.reason, b.field, b.detail)
                digest, size = src.finish()
            files.append(EvidenceFile(path=rel, kind="incidents", sha256=digest, bytes=size, rows=rows, bad_rows=sum(bad.counts.values()) - bad_before))

    if bad.counts and not lenient:
        raise InputError(_bad_row_problems(bad))
    return EvidenceSummary(
        files=files,
        buckets=buckets,
        incidents=incidents,
        bad_rows=sorted(bad.listed, key=lambda r: (r.file, r.line)),
        bad_row_counts=dict(sorted(bad.counts.items())),
        lenient=lenient,
        has_trips=bool(ev.trips),
    )


_ALL_TRIP_COLUMNS = (*TRIP_COLUMNS, "notice")
_VIN_CACHE_MAX = 10_000


#: A trip's start and end begin with a date and a time (``2025-07-01T09:00`` or with a space); what
#: follows (seconds, a fraction, an offset) is read as ISO 8601. Not a date alone, nor the other
#: forms ``datetime.fromisoformat`` reads (``20250701T090000``, a week ``2025-W27-2T09:00``): the
#: incident files' dates take the one form ``YYYY-MM-DD`` too.
_DATE_AND_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")


def _day_start_us(d: date) -> int:
    return _micros(datetime(d.year, d.month, d.day, tzinfo=SHANGHAI))


class _TripParser:
    """:func:`_trip` for many rows: VINs normalised once per spelling, notice windows as integers
    (microseconds), no time-zone conversion per row. It classifies; it applies no pack parameter."""

    def __init__(self, vins: set[str], pack: Pack, notices) -> None:
        self.vins, self.sections = vins, pack.sections
        self.vin_cache: dict[str, str] = {}
        # a trip is under a notice if its first Shanghai day is >= issued and its last <= valid_until:
        # s >= 00:00 of the issue day and e < 00:00 of the day after valid_until (Shanghai time)
        self.windows: dict[str, list[tuple[int, int, frozenset[str], str]]] = {}
        for vin, lst in notices.items():
            self.windows[vin] = [(_day_start_us(issued), _day_start_us(until + timedelta(days=1)) if until < date.max else 2**63,
                                  sections, num) for issued, until, sections, num in lst]

    def parse(self, vin_raw: str, trip_id: str, start: str, end: str, dist: str, mode_raw: str, section: str, number: str) -> tuple[Any, ...]:
        raw_start, raw_end, raw_dist, raw_mode = start, end, dist, mode_raw  # error details show the values as written
        trip_id, start, end, dist, mode_raw, section = trip_id.strip(), start.strip(), end.strip(), dist.strip(), mode_raw.strip(), section.strip()
        vin = self.vin_cache.get(vin_raw)
        if vin is None:
            if not vin_raw.strip():
                raise _Bad(BadRowReason.missing_field, "vin")
            vin = normalize_identifier(vin_raw)
            if len(self.vin_cache) < _VIN_CACHE_MAX:
                self.vin_cache[vin_raw] = vin
        if not (trip_id and start and end and dist and mode_raw and section):
            for col, v in zip(TRIP_COLUMNS[1:], (trip_id, start, end, dist, mode_raw, section), strict=True):
                if not v:
                    raise _Bad(BadRowReason.missing_field, col)
        try:
            if not _DATE_AND_TIME.match(start):
                raise ValueError(start)
            st = datetime.fromisoformat(start)
        except ValueError:
            raise _Bad(BadRowReason.bad_time, "start", show(raw_start)) from None
        try:
            if not _DATE_AND_TIME.match(end):
                raise ValueError(end)
            en = datetime.fromisoformat(end)
        except ValueError:
            raise _Bad(BadRowReason.bad_time, "end", show(raw_end)) from None
        if st.tzinfo is None:
            st = st.replace(tzinfo=SHANGHAI)
        if en.tzinfo is None:
            en = en.replace(tzinfo=SHANGHAI)
        a, dot, b = dist.partition(".")
        if len(a) <= 8 and a.isascii() and a.isdigit() and (not dot or (len(b) <= 3 and b.isascii() and b.isdigit())):
            metres = int(a) * 1000 + (int(b.ljust(3, "0")) if b else 0)
        else:
            metres = parse_metres(raw_dist)
        mode = MODES.get(mode_raw.lower())
        if mode is None:
            raise _Bad(BadRowReason.bad_value, "mode", show(raw_mode))
        s_us, e_us = (st - EPOCH) // US, (en - EPOCH) // US
        if e_us < s_us:
            raise _Bad(BadRowReason.end_before_start, "end", f"{start} → {end}")
        duration = e_us - s_us
        if metres and duration == 0:  # a distance in no time: no speed limit could admit it
            raise _Bad(BadRowReason.impossible_speed, "distance_km", "∞ km/h")
        if vin not in self.vins:
            raise _Bad(BadRowReason.unknown_vin, "vin", show(vin))
        if section not in self.sections:
            raise _Bad(BadRowReason.unknown_section, "section", show(section))
        # the average speed, rounded up to a whole km/h: km/h = metres * 3.6e6 / µs
        # the road-test notice of the vehicle whose period covers the trip's days, that lists its
        # section (when it lists sections) and is the one the row names (when it names one)
        under = None
        number = number.strip()
        for lo, hi, sections, num in self.windows.get(vin, ()):
            if (not number or num == number) and lo <= s_us and e_us < hi and (not sections or section in sections):
                under = num
                break
        return trip_id, vin, s_us, e_us, metres, section, 1 if mode else 0, under


#: Bytes of a CSV trip log per batch of the reader (a technical tuning: no result depends on it).
#: Each batch has fixed costs (a dozen polars calls, whatever the rows), and what one batch holds
#: while it is classified (its bytes, its columns as strings, their pieces) adds to the peak. Measured
#: on a million rows of 200 vehicles (``bench/bench_evidence.py --batch-sweep``): below 2 MiB the
#: time grows fast (half a megabyte: about 40 % slower), above it the peak grows by about 8 MiB
#: per MiB of batch while the time gains little (3 MiB: about 7 % faster, 8 MiB more at the peak).
_BATCH_BYTES = 2 << 20
#: Rows per batch where the csv module reads (JSON Lines, or a CSV file from its first quote, NUL or
#: lone carriage return on): about three times the rows of a 2 MiB batch of the generated trip log
#: (not part of the sweep above, whose file is read by polars throughout).
_BATCH_ROWS = 50_000
_FIELD_LIMIT = csv.field_size_limit()
_INT64 = 2**63


def _read_trips(folder: _Folder, trips: list[str], parser: _TripParser, bad: _Collector, app: Application) -> tuple[list[EvidenceFile], list[TripBucket]]:
    """Read the trip logs and total them into buckets.

    The files are read in batches of a few megabytes and classified a column at a time by polars
    (imported here, so that a ``check`` without trip logs never pays for it); a row that the
    vectorised tests do not recognise as plainly well-formed goes through :meth:`_TripParser.parse`,
    the one definition of what a row means, so every bad row is named exactly as that parser names
    it. What is kept across batches is a handful of compact columns per trip (codes for the VIN,
    section and notice, four integers and the trip ID: about 50 bytes a trip), then sorted once per
    vehicle to find duplicates and overlaps."""
    pl = _import_polars()
    cls = _Classifier(pl, parser, app)
    files: list[EvidenceFile] = []
    parts: list[Any] = []
    for file_no, rel in enumerate(trips):
        with folder.open(rel, f"evidence.trips[{file_no}]") as src:
            rows = 0
            bad_before = sum(bad.counts.values())
            for frame, odd in _trip_batches(pl, src, rel):
                rows += frame.height + len(odd)
                good, bad_rows = cls.classify(frame, odd, file_no)
                for line, reason, field, detail in bad_rows:
                    bad.add(rel, line, reason, field, detail)
                if good.height:
                    parts.append(good)
            digest, size = src.finish()
        files.append(EvidenceFile(path=rel, kind="trips", sha256=digest, bytes=size, rows=rows, bad_rows=sum(bad.counts.values()) - bad_before))
    t = pl.concat(parts, rechunk=False) if parts else cls.empty()  # in the order of files and lines
    del parts
    # duplicate trip IDs: the first occurrence (by file, then line) counts, every later one is a bad row
    first = _first_occurrences(pl, t.get_column("trip_id"))
    if first is not None:
        dups = t.filter(~first).select("file", "line", "trip_id")
        firsts = t.filter(first & pl.col("trip_id").is_in(dups.get_column("trip_id").implode())).select(
            "trip_id", pl.col("file").alias("f_file"), pl.col("line").alias("f_line"))
        dup_counts: dict[int, int] = defaultdict(int)
        for file_no, line, trip_id, f_file, f_line in dups.join(firsts, on="trip_id", how="left", maintain_order="left").iter_rows():
            dup_counts[file_no] += 1
            bad.add(trips[file_no], line, BadRowReason.duplicate_trip_id, "trip_id", f"{show(trip_id)} ({trips[f_file]}:{f_line})")
        t = t.filter(first)
        files = [f.model_copy(update={"bad_rows": f.bad_rows + dup_counts.get(i, 0)}) for i, f in enumerate(files)]
    del first
    holder = [t.drop("file", "line")]  # handed over: _buckets drops each column once it has a sorted copy
    del t
    return files, _buckets(pl, holder, cls, [v.vin for v in app.vehicles], set(app.sections))


def _first_occurrences(pl, ids):
    """Which of ``ids`` is the first of its value, or None when every one is (no duplicate).

    Through 64-bit hashes. Whether any repeats is seen on the sorted hashes, an eighth of the range
    of hash values at a time: with the hashes, that holds 10 bytes a trip where a hash set of all of
    them would hold about four times as much, at the peak of the whole read. Only when one repeats are
    the first occurrences found, the strings compared where hashes repeat."""
    h = ids.hash(seed=0)
    step = 1 << 61
    for lo in range(0, 1 << 64, step):
        s = h.filter((h >= lo) & (h <= lo + step - 1)).sort()
        if s.len() > 1 and (s.slice(1) == s.slice(0, s.len() - 1)).any():
            break
    else:
        return None
    del s
    first = h.is_first_distinct()
    maybe = h.is_duplicated()
    idx = maybe.arg_true()
    exact = ids.gather(idx).is_first_distinct()
    return first.scatter(idx, exact)


def _import_polars():
    """polars, with its allocator told to give freed pages back at once (when nobody chose
    otherwise): a trip log is read in batches, and the pages of finished batches would otherwise
    stay in the process for seconds, adding a batch's worth of memory per batch to the peak."""
    if "polars" not in sys.modules:
        os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
    import polars

    return polars


class _Prefixed(io.RawIOBase):
    """Bytes already taken from an evidence file, then the rest of it: what the ``csv`` module
    reads when the reader leaves the fast path in the middle of a file."""

    def __init__(self, head: bytes, src: _Read) -> None:
        super().__init__()
        self.head, self.src = memoryview(head), src

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        return self.src.readinto(buffer)


def _trip_batches(pl, src: _Read, name: str):
    """``(frame, odd)`` batches of a trip log: ``frame`` has a ``line`` column and the eight
    :data:`_ALL_TRIP_COLUMNS` as strings, one row per data row as the ``csv`` module would read it;
    ``odd`` lists ``(line, values or None, error)`` of the rows that are not in ``frame`` (rows that
    cannot be read), as :func:`_rows` gives them.

    A CSV file is split into lines by bytes as long as what is read has no quote, no NUL and no
    carriage return other than in CRLF: then a line is a row and a comma a field separator, exactly
    as for ``csv``. From the first block that has one (or is not UTF-8), the rest of the file goes
    through :func:`_csv_rows`, the ``csv`` module, with the line numbers carried on. JSON Lines go
    through :func:`_rows` and are batched."""
    if Path(name).suffix.lower() in (".jsonl", ".ndjson", ".json"):
        yield from _batched(pl, _rows(src, name, TRIP_COLUMNS, _ALL_TRIP_COLUMNS))
        return
    try:
        head = src.read(_BATCH_BYTES) or b""
        bom = head.startswith(b"\xef\xbb\xbf")
        nl = head.find(b"\n")
        while nl < 0:
            more = src.read(_BATCH_BYTES)
            if not more:
                break
            head += more
            nl = head.find(b"\n")
        header_bytes = head[3 if bom else 0:] if nl < 0 else head[3 if bom else 0:nl + 1]
        if not _plain(header_bytes):
            yield from _batched(pl, _csv_rows(_Prefixed(head, src), name, TRIP_COLUMNS, _ALL_TRIP_COLUMNS, "utf-8-sig"))
            return
        try:
            header_text = header_bytes.decode("utf-8")
        except UnicodeDecodeError:
            yield from _batched(pl, _csv_rows(_Prefixed(head, src), name, TRIP_COLUMNS, _ALL_TRIP_COLUMNS, "utf-8-sig"))
            return
        if not header_text:
            raise InputError([Problem(name, N_("the evidence file is empty"), {}, "empty")])
        header_line = header_text.rstrip("\n").removesuffix("\r")
        header = header_line.split(",") if header_line else []
        width, idx = _header(name, header, TRIP_COLUMNS, _ALL_TRIP_COLUMNS)
        line_no = 1
        # the bytes read and not yet given out: each read fills ``block``, appended to ``rest``, and a
        # batch is copied out of it once (a new block of a batch's size per batch, not one per step)
        rest = bytearray(b"" if nl < 0 else head[nl + 1:])
        block = bytearray(_BATCH_BYTES)
        at = len(head) - len(rest)  # the offset in the file of ``rest``
        eof = nl < 0
        del head
        while True:
            if not eof and len(rest) < _BATCH_BYTES:
                if n := src.readinto(block):
                    rest += memoryview(block)[:n]
                    continue
                eof = True
            cut = len(rest) if eof else rest.rfind(b"\n") + 1
            if cut == 0:  # a line longer than a block: read on
                if n := src.readinto(block):
                    rest += memoryview(block)[:n]
                    continue
                eof, cut = True, len(rest)
            with memoryview(rest) as whole, whole[:cut] as part:
                chunk = bytes(part)
            del rest[:cut]
            if not chunk:
                return
            batch = None
            newlines = chunk.count(b"\n")
            if _plain(chunk):
                batch = _read_block(pl, chunk, newlines, line_no, width, idx)
                if batch is None:
                    try:
                        text = chunk.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise InputError([Problem(name, M_NOT_UTF8, {"offset": at + exc.start}, "encoding")]) from None
                    batch = _split_lines(pl, text, line_no, width, idx)
            if batch is None:
                yield from _batched(pl, _csv_rows(_Prefixed(chunk + rest, src), name, TRIP_COLUMNS, _ALL_TRIP_COLUMNS, "utf-8",
                                                  header=(width, idx), line_base=line_no, byte_base=at))
                return
            yield batch
            line_no += newlines
            at += len(chunk)
            if eof and not rest:
                return
    except OSError as exc:
        raise InputError([Problem(name, N_("cannot read the evidence file: {reason}"), {"reason": exc.strerror or str(exc)}, "unreadable")]) from None


def _plain(chunk: bytes) -> bool:
    """Lines of ``chunk`` are rows and commas separate fields, for ``csv`` as for a plain split."""
    return b'"' not in chunk and b"\0" not in chunk and (b"\r" not in chunk or chunk.count(b"\r") == chunk.count(b"\r\n"))


def _read_block(pl, chunk: bytes, newlines: int, line_no: int, width: int, idx: tuple[int, ...]):
    """A plain block (see :func:`_plain`) of whole lines read by polars' CSV reader, when each of
    its lines has exactly ``width`` fields and it is UTF-8; else None (and :func:`_split_lines`
    reads it). Commas are counted first: as many as ``width - 1`` per line, no line left out, no
    field missing, then no line has more or fewer. ``newlines``: how many line feeds ``chunk`` has."""
    lines = newlines + (not chunk.endswith(b"\n"))
    if chunk.count(b",") != (width - 1) * lines:
        return None
    names = [f"c{i}" for i in range(width)]
    try:
        df = pl.read_csv(chunk, has_header=False, separator=",", quote_char=None, comment_prefix=None, schema=dict.fromkeys(names, pl.String),
                         empty_string_is_null=False, encoding="utf8", raise_if_empty=False, truncate_ragged_lines=False)
    except Exception:  # noqa: BLE001 - whatever polars refuses, the slower exact path reads
        return None
    if df.height != lines or df.null_count().sum_horizontal().item() or (
            df.height and df.select(pl.max_horizontal(pl.all().str.len_bytes().max())).item() > _FIELD_LIMIT):
        return None
    frame = df.select(pl.int_range(line_no + 1, line_no + 1 + df.height, dtype=pl.Int64).alias("line"),
                      *[(pl.col(names[i]) if i < width else pl.lit("", dtype=pl.String)).alias(c) for c, i in zip(_ALL_TRIP_COLUMNS, idx, strict=True)])
    return frame, []


def _split_lines(pl, text: str, line_no: int, width: int, idx: tuple[int, ...]):
    """One block of whole lines (after line ``line_no``) as a batch (see :func:`_trip_batches`)."""
    lines = pl.Series("l", [text]).str.split("\n").explode()
    if text.endswith("\n"):
        lines = lines.head(-1)
    lines = lines.str.strip_suffix("\r")
    if lines.str.len_chars().max() > _FIELD_LIMIT:  # csv refuses a field longer than that: let it
        return None
    df = pl.DataFrame({"l": lines}).with_columns(
        line=pl.int_range(line_no + 1, line_no + 1 + lines.len(), dtype=pl.Int64),
        f=pl.col("l").str.split(","))
    df = df.with_columns(n=pl.when(pl.col("l") == "").then(0).otherwise(pl.col("f").list.len()))
    regular = df.filter(pl.col("n") == width)
    odd: list[tuple[int, tuple[str, ...] | None, str]] = []
    if regular.height != df.height:
        for line, text_line in df.filter(pl.col("n") != width).select("line", "l").iter_rows():
            row = text_line.split(",") if text_line else []
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            odd.append((line, None, f"{len(row)} columns, the header has {width}"))
    frame = regular.select(
        "line", *[(pl.col("f").list.get(i) if i < width else pl.lit("", dtype=pl.String)).alias(c)
                  for c, i in zip(_ALL_TRIP_COLUMNS, idx, strict=True)])
    return frame, odd


def _batched(pl, rows):
    """Batches (see :func:`_trip_batches`) of the ``(line, values, error)`` that :func:`_rows` yields."""
    lines: list[int] = []
    cols: list[list[str]] = [[] for _ in _ALL_TRIP_COLUMNS]
    odd: list[tuple[int, tuple[str, ...] | None, str]] = []

    def batch():
        frame = pl.DataFrame({"line": pl.Series(lines, dtype=pl.Int64),
                              **{c: pl.Series(v, dtype=pl.String) for c, v in zip(_ALL_TRIP_COLUMNS, cols, strict=True)}})
        return frame, odd

    for line, rec, err in rows:
        if rec is None:
            odd.append((line, None, err))
        else:
            lines.append(line)
            for col, v in zip(cols, rec, strict=True):
                col.append(v)
        if len(lines) + len(odd) >= _BATCH_ROWS:
            yield batch()
            lines, cols, odd = [], [[] for _ in _ALL_TRIP_COLUMNS], []
    if lines or odd:
        yield batch()


# a time in the plain form, each field in its range; the day in its month is left to polars' parser
_TIME = (r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
         r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$")


class _Classifier:
    """Classifies a batch of trip rows a column at a time, with the same results as
    :meth:`_TripParser.parse` row by row: a row takes the vectorised path only when each of its
    values is in a form whose meaning is plain (a known VIN as written, printable ASCII trip ID,
    ``YYYY-MM-DDTHH:MM:SS`` with ``Z``, an offset or none (Shanghai time, from 1992 on, when it has
    no DST), a distance of at most nine digits and three decimals, a mode and a section written as
    listed, the notice column empty or a notice number of the history); every other row, and every
    row the checks of order or speed would refuse, is given to the parser, which names what is wrong."""

    def __init__(self, pl, parser: _TripParser, app: Application) -> None:
        self.pl, self.parser = pl, parser
        self.vins: list[str] = list(dict.fromkeys(v.vin for v in app.vehicles))
        self.vin_code = {v: i for i, v in enumerate(self.vins)}
        self.sections: list[str] = sorted(parser.sections)
        self.section_code = {s: i for i, s in enumerate(self.sections)}
        nums = sorted({num for lst in parser.windows.values() for *_, num in lst})
        self.notices: list[str] = nums
        self.notice_code = {n: i for i, n in enumerate(nums)}
        self.raw_vin: dict[str, int | None] = {}
        # the windows as tables, one per rank k (a vehicle's k-th window): vin, lo, hi, notice code,
        # whether it lists no section; and the (vin, section) pairs each lists, as vin << 16 | section
        self.windows: list[tuple[Any, list[int]]] = []
        ranks: dict[int, list[tuple[int, int, int, int, bool]]] = defaultdict(list)
        pairs: dict[int, list[int]] = defaultdict(list)
        for vin, lst in parser.windows.items():
            if vin not in self.vin_code:
                continue
            code = self.vin_code[vin]
            for k, (lo, hi, sections, num) in enumerate(lst):
                ranks[k].append((code, lo, min(hi, _INT64 - 1), self.notice_code[num], not sections))
                pairs[k].extend(code << 16 | self.section_code[sec] for sec in sections if sec in self.section_code)
        for k in sorted(ranks):
            table = pl.DataFrame(ranks[k], schema={"vin": pl.UInt16, "lo": pl.Int64, "hi": pl.Int64, "w_notice": pl.UInt16, "w_any": pl.Boolean},
                                 orient="row")
            self.windows.append((table, pairs[k]))
        self.schema = {"file": pl.UInt16, "line": pl.UInt32, "trip_id": pl.String, "vin": pl.UInt16, "s": pl.Int64, "e": pl.Int64,
                       "m": pl.Int64, "section": pl.UInt16, "auto": pl.Boolean, "notice": pl.UInt16}

    def empty(self):
        return self.pl.DataFrame(schema=self.schema)

    def _vin_codes(self, raws) -> dict[str, int | None]:
        for raw in raws:
            if raw not in self.raw_vin and len(self.raw_vin) < _VIN_CACHE_MAX:
                vin = normalize_identifier(raw) if raw.strip() else ""
                self.raw_vin[raw] = self.vin_code.get(vin) if vin == raw else None
        return self.raw_vin

    def _micros(self, f, col: str):
        """``f`` with the column ``col`` as microseconds since the epoch when it is a time in the
        plain form, else null. :data:`_TIME` checks the form and the range of each field; polars'
        parser reads the date and time (null where the day is not in its month, as 2025-02-29), and
        the offset is subtracted (none: Shanghai time, from 1992 on, when it has no DST). The pieces
        are made columns first: polars evaluates each use of an expression again."""
        pl = self.pl
        c = pl.col(col)
        parts = f.select(c.str.contains(_TIME).alias("ok"),
                         c.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us", strict=False, cache=False)
                         .cast(pl.Int64).alias("local"),
                         *(c.str.slice(a, n).cast(pl.Int32, strict=False).alias(k) for k, a, n in (("y", 0, 4), ("tz_h", 20, 2), ("tz_m", 23, 2))),
                         c.str.slice(19, 1).alias("tz"))
        y, tz, tz_h, tz_m = (pl.col(k) for k in ("y", "tz", "tz_h", "tz_m"))
        off = (pl.when(tz == "").then(pl.when(y >= 1992).then(8 * 3600).otherwise(None))
               .when(tz == "Z").then(0)
               .otherwise((tz_h * 3600 + tz_m * 60) * pl.when(tz == "-").then(-1).otherwise(1)))
        ok = pl.col("ok") & (y >= 1900) & (y <= 9998)
        us = parts.select(pl.when(ok).then(pl.col("local") - off.cast(pl.Int64) * 1_000_000).otherwise(None).alias(col))
        return f.with_columns(us.to_series().alias(col[0]))

    def classify(self, frame, odd: list, file_no: int):
        """``(trips, bad)``: the batch's well-formed trips as columns (see :attr:`schema`), and its
        bad rows ``(line, reason, field, detail)`` in the order of their lines."""
        pl = self.pl
        bad: list[tuple[int, BadRowReason, str, str]] = [(line, BadRowReason.malformed_row, "", err) for line, _, err in odd]
        if not frame.height:
            return self.empty(), bad
        codes = self._vin_codes(frame.get_column("vin").unique().to_list())
        good_raw = {raw: c for raw, c in codes.items() if c is not None}
        known = [n for n in self.notices if n and n == n.strip()]
        f = frame.with_columns(
            vin_c=pl.col("vin").replace_strict(good_raw, default=None, return_dtype=pl.UInt16) if good_raw else pl.lit(None, dtype=pl.UInt16),
            dm=pl.col("distance_km").str.extract_groups(r"^([0-9]{1,8})(?:\.([0-9]{1,3}))?$"),  # below MAX_TRIP_KM
            auto=pl.col("mode").replace_strict({k: v for k, v in MODES.items()}, default=None, return_dtype=pl.Boolean),
            sec_c=pl.col("section").replace_strict(self.section_code, default=None, return_dtype=pl.UInt16),
        )
        f = self._micros(self._micros(f, "start"), "end").with_columns(
            m=pl.col("dm").struct.field("1").cast(pl.Int64) * 1000
            + pl.col("dm").struct.field("2").str.pad_end(3, "0").cast(pl.Int64).fill_null(0),
        ).with_columns(
            fast=pl.col("vin_c").is_not_null() & pl.col("s").is_not_null() & pl.col("e").is_not_null()
            & pl.col("m").is_not_null() & pl.col("auto").is_not_null() & pl.col("sec_c").is_not_null()
            & pl.col("trip_id").str.contains(r"^[!-~](?:[ -~]*[!-~])?$")
            & ((pl.col("notice") == "") | pl.col("notice").is_in(known))
            & (pl.col("e") >= pl.col("s")) & ((pl.col("m") == 0) | (pl.col("e") > pl.col("s"))),
        )
        fast = f.filter(pl.col("fast")).select(
            pl.lit(file_no, dtype=pl.UInt16).alias("file"), pl.col("line").cast(pl.UInt32), "trip_id", pl.col("vin_c").alias("vin"), "s", "e", "m",
            pl.col("sec_c").alias("section"), "auto", pl.col("notice").alias("number"))
        fast = self._under(fast)
        parts = [fast]
        if fast.height != frame.height:
            slow = f.filter(~pl.col("fast")).select("line", *_ALL_TRIP_COLUMNS)
            cols: dict[str, list] = {c: [] for c in self.schema}
            parse = self.parser.parse
            for line, *rec in slow.iter_rows():
                try:
                    trip_id, vin, s, e, m, section, auto, under = parse(*rec)
                except _Bad as b:
                    bad.append((line, b.reason, b.field, b.detail))
                    continue
                for c, v in zip(self.schema, (file_no, line, trip_id, self.vin_code[vin], s, e, m, self.section_code[section],
                                              bool(auto), None if under is None else self.notice_code[under]), strict=True):
                    cols[c].append(v)
            if cols["line"]:
                parts.append(pl.DataFrame(cols, schema=self.schema))
        bad.sort(key=operator.itemgetter(0))
        return (pl.concat(parts).sort("line") if len(parts) > 1 else fast), bad

    def _under(self, fast):
        """Adds the ``notice`` column: the road-test notice the trip ran under (see :meth:`_TripParser.parse`):
        the first of the vehicle's windows, in order, that admits it."""
        pl = self.pl
        code = {n: i for n, i in self.notice_code.items() if n}
        f = fast.with_columns(notice=pl.lit(None, dtype=pl.UInt16),
                              num=pl.col("number").replace_strict(code, default=None, return_dtype=pl.UInt16) if code else pl.lit(None, dtype=pl.UInt16),
                              pair=pl.col("vin").cast(pl.Int64) * 65536 + pl.col("section").cast(pl.Int64))
        for table, pairs in self.windows:
            f = f.join(table, on="vin", how="left", maintain_order="left").with_columns(
                notice=pl.col("notice").fill_null(
                    pl.when((pl.col("lo") <= pl.col("s")) & (pl.col("e") < pl.col("hi"))
                            & (pl.col("w_any") | (pl.col("pair").is_in(pairs) if pairs else pl.lit(False)))
                            & ((pl.col("number") == "") | (pl.col("num") == pl.col("w_notice")))).then(pl.col("w_notice")))
            ).drop("lo", "hi", "w_notice", "w_any")
        return f.select(*self.schema)


def _buckets(pl, holder: list, cls: _Classifier, vins: list[str], applied: set[str]) -> list[TripBucket]:
    """The buckets of each vehicle's trips (the frame in ``holder``, one row per trip, without
    duplicates; taken out of it, so that its columns are freed as they are sorted).

    A trip that overlaps no other trip of its vehicle (it starts when or after every earlier trip
    has ended, and ends when or before the next starts) is credited whole: its bucket is totalled a
    column at a time. The others, usually a few per cent, go through :class:`_Sweep` in order of
    start, exactly as all trips did: a sweep never carries anything across an instant at which no
    trip runs, so leaving out the trips alone in their time changes nothing it credits."""
    t = holder.pop()
    per_vin: dict[int, dict[tuple, list[int]]] = defaultdict(dict)
    # a share of the vehicles at a time: what sorting and grouping hold is that share's
    parts = max(1, min(_BUCKET_PARTS, len(cls.vins)))
    for k in range(parts):
        part = t.filter(pl.col("vin") % parts == k) if parts > 1 else t
        if part.height:
            _part_buckets(pl, part, cls, applied, per_vin)
        del part
    del t
    vin_names = cls.vins
    out = []
    for vin in vins:
        code = cls.vin_code.get(vin)
        if code not in per_vin:
            continue
        for (section, notice, auto, kmh), b in sorted(per_vin[code].items()):
            out.append(TripBucket(vin=vin_names[code], section=section, notice=notice or None, mode=TripMode.autonomous if auto else TripMode.manual,
                                  max_kmh=kmh, trips=b[0], credited_trips=b[1], us=b[2], m=b[3], overlap_trips=b[4],
                                  overlap_us=b[5] - b[2], overlap_m=b[6] - b[3]))
    return out


_BUCKET_PARTS = 16


def _part_buckets(pl, t, cls: _Classifier, applied: set[str], per_vin: dict[int, dict[tuple, list[int]]]) -> None:
    """Adds to ``per_vin`` the buckets of the trips ``t`` (all those of the vehicles in it)."""
    sections, notices = cls.sections, cls.notices
    # the average speed, rounded up to a whole km/h (the speed class of docs/evidence.md): derived here from m, s and e, not kept
    dur = pl.col("e") - pl.col("s")
    t = t.with_columns(kmh=pl.when(pl.col("m") > 0).then((pl.col("m").cast(pl.Int128) * 3_600_000 + dur - 1) // dur).otherwise(0).cast(pl.Int64))
    n = FASTEST_TRIPS_APART  # a vehicle's slower trips share the speed class of its next fastest
    cut = dict(t.group_by("vin").agg(pl.len().alias("n"), pl.col("kmh").top_k(n + 1).min().alias("cut"))
               .filter(pl.col("n") > n).select("vin", "cut").iter_rows())
    t = t.with_columns(pl.max_horizontal("kmh", pl.col("vin").replace_strict(cut, default=0, return_dtype=pl.Int64)).alias("kmh"))
    # by vehicle and time (and by trip ID where that matters: below, for the trips that overlap)
    t = t.sort("vin", "s", "e")
    prev_end = pl.when(pl.col("vin") == pl.col("vin").shift(1)).then(pl.col("e").cum_max().over("vin").shift(1))
    next_start = pl.when(pl.col("vin") == pl.col("vin").shift(-1)).then(pl.col("s").shift(-1))
    t = t.with_columns(alone=(prev_end.is_null() | (pl.col("s") >= prev_end)) & (next_start.is_null() | (pl.col("e") <= next_start)))
    a = pl.col("alone")
    alone = (t.group_by("vin", "section", "notice", "auto", "kmh")
             .agg(a.sum().alias("n"), pl.when(a).then(pl.col("e") - pl.col("s")).sum().alias("us"), pl.when(a).then(pl.col("m").cast(pl.Int128)).sum().alias("m"))
             .filter(pl.col("n") > 0))
    for vin, section, notice, auto, kmh, k, us, m in alone.iter_rows():
        per_vin[vin][(sections[section], "" if notice is None else notices[notice], 1 if auto else 0, kmh)] = [k, k, us, m, 0, us, m]
    rest = t.filter(~a).select("vin", "trip_id", "section", "auto", "notice", "kmh", "s", "e", "m").sort("vin", "s", "e", "trip_id")
    del t
    sweep: _Sweep | None = None
    for vin, trip_id, section, auto, notice, kmh, s, e, m in rest.iter_rows():
        if sweep is None or sweep.vin != vin:
            if sweep is not None:
                sweep.finish()
                _merge(per_vin[sweep.vin], sweep.buckets)
            sweep = _Sweep(vin)
        sec = sections[section]
        num = "" if notice is None else notices[notice]
        group = (0 if auto else 4) + (0 if sec in applied else 2) + (0 if num else 1)
        sweep.add(trip_id, (sec, num, 1 if auto else 0, kmh), group, s, e, m)
    if sweep is not None:
        sweep.finish()
        _merge(per_vin[sweep.vin], sweep.buckets)


def _merge(into: dict[tuple, list[int]], more: dict[tuple, list[int]]) -> None:
    for key, b in more.items():
        a = into.get(key)
        if a is None:
            into[key] = b
        else:
            for i, v in enumerate(b):
                a[i] += v


class _Sweep:
    """Counts one vehicle's trips (given in order of start) once where they overlap.

    Time is the union of the trips. Where several trips cover the same moment, that moment is
    credited to one of them: first by group (autonomous before manual, then on a section applied for
    before not, then under a road-test notice before none — the trip most likely to count, so that a
    trip the pack does not count never takes time from one it does), then at the lowest rate (km per
    hour) — the most cautious reading of contradictory records, and one that does not depend on how
    the trips are cut into rows — then by start and trip ID. A trip overlaps when it starts while a
    trip of its group runs. Distances are in whole metres, floored per stretch of time. Only the
    trips active at the current moment are held, so memory does not grow with the number of trips;
    they are held in two heaps (by end, and by the order above), so that a file of many trips that
    all overlap costs ``n log n``, not ``n`` times the trips running at once. Each credit goes to the
    trip's bucket (section, notice, mode, speed class).
    """

    __slots__ = ("buckets", "by_end", "by_order", "cause", "groups", "n_active", "pending", "t", "vin")

    def __init__(self, vin: str):
        self.vin = vin
        # a trip: [end, start, metres, dur, trip_id, bucket, credited?, group, active?]
        self.by_end: list[tuple] = []  # (end, start, trip_id, trip): the active trips, the first to end on top
        self.by_order: list[tuple] = []  # (group, rate, start, trip_id, trip): the best on top; ended ones left until they surface
        self.n_active = 0
        self.groups = [0] * 8  # active trips per group
        self.t = 0
        # key → [trips, credited trips, credited µs, credited m, overlapping trips, claimed µs, claimed m]
        self.buckets: dict[tuple, list[int]] = {}
        # the stretch being credited: [trip, µs, end]. A stretch is cut (and its distance floored to the
        # metre) where a trip of its trip's group or a better one starts or ends, never by a trip of a
        # worse group, so what a group is credited does not depend on the groups after it
        self.pending: list | None = None
        self.cause = 99  # the best group with an event (start or end) at ``t``

    def _best(self) -> list:
        """The active trip credited now: by group, then at the lowest rate, then by start and trip ID."""
        heap = self.by_order
        while not heap[0][4][8]:
            heapq.heappop(heap)
        return heap[0][4]

    def _count(self, a: int, b: int) -> None:
        """Count ``[a, b)`` for the best active trip."""
        if b <= a or not self.n_active:
            return
        best = self._best()
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

    def _end_first(self) -> list:
        """Takes the trip that ends first out of the active ones."""
        tr = heapq.heappop(self.by_end)[3]
        tr[8] = False
        self.n_active -= 1
        self.groups[tr[7]] -= 1
        return tr

    def _advance(self, until: int) -> None:
        """Count every stretch up to ``until``, dropping trips as they end."""
        while self.n_active:
            next_end = self.by_end[0][0]
            if next_end > until:
                if until > self.t:
                    self._count(self.t, until)
                    self.t = until
                    self.cause = 99
                return
            self._count(self.t, next_end)
            self.t = next_end
            cause = 99
            while self.n_active and self.by_end[0][0] == next_end:
                cause = min(cause, self._end_first()[7])
            self.cause = cause
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
        if self.n_active == 1 and self.by_end[0][0] <= s and e > s:
            # the common case: the one active trip ends before this one starts; count the rest of it
            end = self.by_end[0][0]
            if end > self.t:
                self._count(self.t, end)
            self._flush()
            self._end_first()
            self.by_order.clear()  # no trip is active: every entry left is of an ended one
            self._start([e, s, m, e - s, trip_id, b, False, group, True])
            self.t = s
            self.cause = group
            return
        self._advance(s)
        if not self.n_active:
            self.t = s
        self.cause = min(self.cause, group)
        overlapped = self.groups[group] > 0
        if overlapped:
            b[4] += 1
        if e == s:  # a zero-length record: nothing to count, nothing overlapped
            if not overlapped:
                b[1] += 1
            return
        self._start([e, s, m, e - s, trip_id, b, False, group, True])

    def _start(self, tr: list) -> None:
        e, s, m, dur, trip_id, _b, _c, group, _a = tr
        heapq.heappush(self.by_end, (e, s, trip_id, tr))
        heapq.heappush(self.by_order, (group, Fraction(m, dur), s, trip_id, tr))  # dur > 0: zero-length trips are not held
        self.n_active += 1
        self.groups[group] += 1

    def finish(self) -> None:
        self._advance(max((x[0] for x in self.by_end), default=self.t))
        self._flush()


def _incident(rec: dict[str, str], vins: set[str], pack: Pack) -> Incident:
    for col in INCIDENT_COLUMNS:
        if not rec.get(col, "").strip():
            raise _Bad(BadRowReason.missing_field, col)
    data = {k: v.strip() for k, v in rec.items() if v is not None and v.strip() and k in Incident.model_fields}
    try:
        inc = Incident.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise _Bad(BadRowReason.bad_value, field, show(data.get(field, ""))) from None
    if inc.vin not in vins:
        raise _Bad(BadRowReason.unknown_vin, "vin", show(inc.vin))
    if inc.section is not None and inc.section not in pack.sections:
        raise _Bad(BadRowReason.unknown_section, "section", show(inc.section))
    return inc


def _bad_row_problems(bad: _Collector) -> list[Problem]:
    problems = [
        Problem(r.file, BAD_ROW_MESSAGES[r.reason], {"line": r.line, "field": r.field, "detail": r.detail}, r.reason.value)
        for r in sorted(bad.listed, key=lambda r: (r.file, r.line))
    ]
    total = sum(bad.counts.values())
    if total > len(bad.listed):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(bad.counts.items()))
        problems.append(Problem("", N_("{more} more bad rows not listed; all bad rows by reason: {counts}"), {"more": total - len(bad.listed), "counts": counts}, "bad_rows"))
    problems.append(Problem("", N_("{total} bad rows in the evidence; fix them, or use --lenient to skip them and list them in the decision"), {"total": total}, "bad_rows"))
    return problems
