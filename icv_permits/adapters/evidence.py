"""Reading trip logs and incident records, and adding up the prior testing they prove.

This is service-layer code: it reads files and classifies what it reads; it decides nothing. Each
well-formed trip is classified by vehicle, section, the road-test notice of the history it ran inside
(or none), mode and speed class, and totalled into a
:class:`~icv_permits.core.model.evidence.TripBucket`; the pure engine decides which buckets count
(EVD-01…05, from the pack's parameters). A row is bad only when it cannot be read or classified.

Memory stays bounded whatever the number of rows: rows are streamed, and the few facts needed
across rows (duplicate trip IDs, the time order of each vehicle's trips) are kept in SQLite's own
anonymous temporary database, not in Python lists. See ``docs/evidence.md`` for the formats and the
counting rules.

The paths come from the application, that is from whoever wrote it, and this code may run in an
office next to its key and its database: a path is read only when it names a regular file inside
the application's folder (:class:`_Folder`), and every refusal reads the same, so that the message
never tells whether some file exists elsewhere.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import operator
import os
import sqlite3
import stat
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from icv_permits.core.errors import InputError, Problem, show
from icv_permits.core.i18n import N_
from icv_permits.core.model.application import Application, Incident, Notice, NoticeKind
from icv_permits.core.model.evidence import (
    BAD_ROWS_LISTED,
    BadRow,
    BadRowReason,
    EvidenceFile,
    EvidenceSummary,
    FASTEST_TRIPS_APART,
    TripBucket,
    TripMode,
)
from icv_permits.core.model.ids import normalize_identifier
from icv_permits.core.model.types import TIMEZONE
from icv_permits.core.engine.core import history_notices
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


def parse_metres(text: str) -> int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _Bad(BadRowReason.bad_number, "distance_km", show(text)) from None
    if not value.is_finite():
        raise _Bad(BadRowReason.bad_number, "distance_km", show(text))
    if value < 0:
        raise _Bad(BadRowReason.negative_distance, "distance_km", show(text))
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


def _rows(src: _Read, name: str, required: tuple[str, ...], columns: tuple[str, ...]) -> Iterator[tuple[int, tuple[str, ...] | None, str]]:
    """``(line, values, error)`` for each data row of a CSV or JSON Lines file: ``values`` holds
    the row's ``columns`` in that order ("" where a column is absent), or is ``None`` with the
    reason the row cannot be read. A CSV header must name every ``required`` column."""
    fh = io.TextIOWrapper(io.BufferedReader(src, 1 << 20), encoding="utf-8-sig", newline="")
    try:
        if Path(name).suffix.lower() in (".jsonl", ".ndjson", ".json"):
            seen = False
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                seen = True
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    yield line_no, None, f"JSON: {exc.msg}"
                    continue
                if not isinstance(obj, dict):
                    yield line_no, None, "not a JSON object"
                    continue
                yield line_no, tuple("" if (v := obj.get(c)) is None else str(v) for c in columns), ""
            if not seen:
                raise InputError([Problem(name, N_("the evidence file is empty"), {}, "empty")])
            return
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise InputError([Problem(name, N_("the evidence file is empty"), {}, "empty")])
        cols = [h.strip().lower() for h in header]
        missing = [c for c in required if c not in cols]
        if missing:
            raise InputError([Problem(name, N_("the header lacks the columns: {columns}"), {"columns": ", ".join(missing)}, "header")])
        width = len(cols)
        last = {c: i for i, c in enumerate(cols)}  # a repeated column name: the last one counts
        pad = any(c not in last for c in columns)  # absent columns read an "" appended to the row
        pick = operator.itemgetter(*(last.get(c, width) for c in columns))
        for row in reader:
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield reader.line_num, None, f"{len(row)} columns, the header has {width}"
                continue
            if width == 1 and not row[0].strip():
                continue
            if pad:
                row.append("")
            yield reader.line_num, pick(row), ""
    except UnicodeDecodeError as exc:
        raise InputError([Problem(name, N_("the evidence file is not UTF-8 (byte offset {offset})"), {"offset": exc.start}, "encoding")]) from None
    except csv.Error as exc:
        raise InputError([Problem(name, N_("the CSV cannot be read: {reason}"), {"reason": str(exc)}, "csv")]) from None
    except OSError as exc:  # a read error of a file already found inside the folder (EIO)
        raise InputError([Problem(name, N_("cannot read the evidence file: {reason}"), {"reason": exc.strerror or str(exc)}, "unreadable")]) from None
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


def _read_trips(folder: _Folder, trips: list[str], parser: _TripParser, bad: _Collector, app: Application) -> tuple[list[EvidenceFile], list[TripBucket]]:
    """Read the trip logs and total them into buckets.

    The rows are kept in SQLite's anonymous temporary database (``sqlite3.connect("")``): SQLite
    keeps it in memory up to the cache size and then spills it to a file it unlinks as soon as it
    has created it (and so for its sort files, ``temp_store=FILE``), so no file is left behind
    however the process ends — even killed while it reads."""
    files: list[EvidenceFile] = []
    db = sqlite3.connect("")
    try:
        db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000; PRAGMA temp_store=FILE;"
            "CREATE TABLE t (id INTEGER PRIMARY KEY, file INTEGER, line INTEGER, trip_id TEXT, vin TEXT,"
            " s INTEGER, e INTEGER, m INTEGER, section TEXT, auto INTEGER, notice TEXT, kmh INTEGER);"
        )
        insert = "INSERT INTO t (file,line,trip_id,vin,s,e,m,section,auto,notice,kmh) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
        parse = parser.parse
        for file_no, rel in enumerate(trips):
            with folder.open(rel, f"evidence.trips[{file_no}]") as src:
                rows = 0
                bad_before = sum(bad.counts.values())
                batch: list[tuple[Any, ...]] = []
                for line, rec, err in _rows(src, rel, TRIP_COLUMNS, _ALL_TRIP_COLUMNS):
                    rows += 1
                    if rec is None:
                        bad.add(rel, line, BadRowReason.malformed_row, "", err)
                        continue
                    try:
                        batch.append((file_no, line, *parse(*rec)))
                    except _Bad as b:
                        bad.add(rel, line, b.reason, b.field, b.detail)
                        continue
                    if len(batch) >= 20000:
                        db.executemany(insert, batch)
                        batch.clear()
                if batch:
                    db.executemany(insert, batch)
                digest, size = src.finish()
            files.append(EvidenceFile(path=rel, kind="trips", sha256=digest, bytes=size, rows=rows, bad_rows=sum(bad.counts.values()) - bad_before))

        # duplicate trip IDs: the first occurrence counts, every later one is a bad row
        db.execute("CREATE INDEX t_trip ON t (trip_id, id)")
        dup_counts: dict[int, int] = defaultdict(int)
        for file_no, line, trip_id, f_file, f_line in db.execute(
            "SELECT t.file, t.line, t.trip_id, f.file, f.line FROM t JOIN "
            "(SELECT trip_id, MIN(id) AS first FROM t GROUP BY trip_id HAVING COUNT(*) > 1) d ON t.trip_id = d.trip_id "
            "JOIN t AS f ON f.id = d.first WHERE t.id != d.first ORDER BY t.id"
        ):
            dup_counts[file_no] += 1
            bad.add(trips[file_no], line, BadRowReason.duplicate_trip_id, "trip_id", f"{show(trip_id)} ({trips[f_file]}:{f_line})")
        if dup_counts:
            db.execute("DELETE FROM t WHERE id NOT IN (SELECT MIN(id) FROM t GROUP BY trip_id)")
            files = [f.model_copy(update={"bad_rows": f.bad_rows + dup_counts.get(i, 0)}) for i, f in enumerate(files)]
        return files, _buckets(db, [v.vin for v in app.vehicles], set(app.sections))
    finally:
        db.close()


_ALL_TRIP_COLUMNS = (*TRIP_COLUMNS, "notice")
_VIN_CACHE_MAX = 10_000


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
            st = datetime.fromisoformat(start)
        except ValueError:
            raise _Bad(BadRowReason.bad_time, "start", show(raw_start)) from None
        try:
            en = datetime.fromisoformat(end)
        except ValueError:
            raise _Bad(BadRowReason.bad_time, "end", show(raw_end)) from None
        if st.tzinfo is None:
            st = st.replace(tzinfo=SHANGHAI)
        if en.tzinfo is None:
            en = en.replace(tzinfo=SHANGHAI)
        a, dot, b = dist.partition(".")
        if a.isascii() and a.isdigit() and (not dot or (len(b) <= 3 and b.isascii() and b.isdigit())):
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
        kmh = -(-metres * 3_600_000 // duration) if metres else 0
        # the road-test notice of the vehicle whose period covers the trip's days, that lists its
        # section (when it lists sections) and is the one the row names (when it names one)
        under = None
        number = number.strip()
        for lo, hi, sections, num in self.windows.get(vin, ()):
            if (not number or num == number) and lo <= s_us and e_us < hi and (not sections or section in sections):
                under = num
                break
        return trip_id, vin, s_us, e_us, metres, section, 1 if mode else 0, under, kmh


def _speed_cutoffs(db: sqlite3.Connection) -> dict[str, int]:
    """Per vehicle with more than FASTEST_TRIPS_APART trips: the speed class of its next fastest
    trip, which labels the one class of all its slower trips."""
    return dict(db.execute(
        "SELECT vin, kmh FROM (SELECT vin, kmh, ROW_NUMBER() OVER (PARTITION BY vin ORDER BY kmh DESC) AS r FROM t) WHERE r = ?",
        (FASTEST_TRIPS_APART + 1,)))


def _buckets(db: sqlite3.Connection, vins: list[str], applied: set[str]) -> list[TripBucket]:
    cutoffs = _speed_cutoffs(db)
    sweeps: dict[str, _Sweep] = {}
    sweep: _Sweep | None = None
    cut = 0
    for vin, trip_id, section, auto, notice, kmh, s, e, m in db.execute(
            "SELECT vin, trip_id, section, auto, notice, kmh, s, e, m FROM t ORDER BY vin, s, e, trip_id"):
        if sweep is None or sweep.vin != vin:
            if sweep is not None:
                sweep.finish()
            sweep = sweeps[vin] = _Sweep(vin)
            cut = cutoffs.get(vin, 0)
        group = (0 if auto else 4) + (0 if section in applied else 2) + (0 if notice else 1)
        sweep.add(trip_id, (section, notice or "", auto, kmh if kmh > cut else cut), group, s, e, m)
    if sweep is not None:
        sweep.finish()
    out = []
    for vin in vins:
        sw = sweeps.get(vin)
        if sw is None:
            continue
        for (section, notice, auto, kmh), b in sorted(sw.buckets.items()):
            out.append(TripBucket(vin=vin, section=section, notice=notice or None, mode=TripMode.autonomous if auto else TripMode.manual,
                                  max_kmh=kmh, trips=b[0], credited_trips=b[1], us=b[2], m=b[3], overlap_trips=b[4],
                                  overlap_us=b[5] - b[2], overlap_m=b[6] - b[3]))
    return out


class _Sweep:
    """Counts one vehicle's trips (given in order of start) once where they overlap.

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

    __slots__ = ("vin", "active", "t", "buckets", "pending", "cause")

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
