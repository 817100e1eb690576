"""What ``audit reconcile`` reports: each difference between the office's tables and the decision
log, and the counts of what was compared. Pure data; the comparison itself reads the store
(:mod:`icv_permits.services.reconcile`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TABLES = ("submission", "submission_version", "engine_run", "review", "notice", "plate")
"""The office tables reconciled, in the order they are compared and reported."""

PROBLEMS = ("differs", "no_record", "no_row", "twice")
"""``differs``: a field of a row is not what the log says; ``no_record``: a row that no log record
wrote; ``no_row``: a record whose row is not in the table; ``twice``: two records for one row."""


@dataclass(frozen=True)
class Difference:
    """One difference. ``key`` is the row's key as table and log share it (a submission's number,
    ``"3 v2"`` for version 2 of submission 3 and its review, an engine run's number, a notice's or a
    plate's number). For ``differs``, ``field`` is the column and the two values are the table's and
    the log's; for ``no_record`` ``table_value`` holds the row, for ``no_row`` ``log_value`` what
    the log says it was. ``seq`` is the record that says it (``first_seq``: the earlier of two)."""

    table: str
    key: str
    problem: str
    field: str | None = None
    table_value: Any = None
    log_value: Any = None
    seq: int | None = None
    first_seq: int | None = None

    def to_json(self) -> dict:
        return {"table": self.table, "key": self.key, "problem": self.problem, "field": self.field, "table_value": self.table_value,
                "log_value": self.log_value, "seq": self.seq, "first_seq": self.first_seq}


@dataclass
class Summary:
    """What was compared: log records read, rows of each table, and how many differences."""

    records: int = 0
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    differences: int = 0

    @property
    def agrees(self) -> bool:
        return self.differences == 0

    def to_json(self) -> dict:
        return {"agrees": self.agrees, "records": self.records, "rows": dict(self.rows), "difference_count": self.differences}
