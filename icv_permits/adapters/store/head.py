"""The log's head row (``log_head``, one row, id 1): whether it is there, and putting it back.

Migration 0002 creates the row (seq 0, the genesis hash); every append moves it one record on and
the triggers refuse anything else, so it goes missing only when someone who can drop or disable
the triggers deletes it. Without it nothing can be appended (``services/audit.py``: ``append``
refuses, exit 4), and ``audit verify`` cannot tell whether the tail of the log was cut.

``db upgrade`` puts it back only while the log is empty: the head of an empty log is known (seq 0,
the genesis hash). Once the log holds records, the head they had is not: a head made up from the
last record left would make a log whose tail was cut look whole, so it is left missing and said so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from icv_permits.core.log import GENESIS


@dataclass(frozen=True)
class HeadState:
    """The head row was ``restored`` now (the log was empty), or is ``missing`` with ``records`` in
    the log (not restored)."""

    state: str  # restored | missing
    records: int = 0


def restore(conn: Connection) -> HeadState | None:
    """Put the head row back when it is missing and the log is empty (the log's append-only trigger
    on ``log_head`` stepped around for that one INSERT, in the caller's transaction); ``None`` when
    it is there (or the log's tables do not exist yet)."""
    if not inspect(conn).has_table("log_head"):
        return None
    if conn.execute(text("SELECT 1 FROM log_head WHERE id = 1")).first() is not None:
        return None
    records = conn.execute(text("SELECT count(*) FROM decision_log")).scalar_one()
    if records:
        return HeadState("missing", records)
    insert = text("INSERT INTO log_head (id, seq, hash) VALUES (1, 0, :hash)").bindparams(hash=GENESIS)
    if conn.dialect.name == "sqlite":
        from icv_permits.adapters.store import triggers

        refuse = next(t for t in triggers.expected("sqlite", office=False) if t.name == "log_head_no_insert")
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {refuse.name}")
        conn.execute(insert)
        conn.exec_driver_sql(refuse.sql)
    else:
        conn.exec_driver_sql("ALTER TABLE log_head DISABLE TRIGGER log_head_follows_log")
        conn.execute(insert)
        conn.exec_driver_sql("ALTER TABLE log_head ENABLE TRIGGER log_head_follows_log")
    return HeadState("restored")
