"""The floor of verifying the decision log, shared by ``bench_goals.py`` (row 4) and
``bench_ledger.py``: what ``audit verify`` cannot avoid doing, and nothing else.

Verifying a record means reading every column its hash covers (``seq``, ``decision_id``, ``kind``,
``recorded_at``, ``actor``, ``body``, ``prev_hash``) and the stored ``hash`` it is compared with,
and running SHA-256 over them. The floor does exactly that with the bare DB-API cursor: the rows in
``seq`` order, in keyset batches of :data:`BATCH` (what verify's reader reads at a time), every
column but ``seq`` as the bytes the database holds (SQLite ``CAST(… AS BLOB)``; psycopg: a loader
that keeps each text and time column's bytes as received), each row through SHA-256 one column
after the other. No decoding, no canonical form, no chain: verify's time over this time is what the
walk costs above reading and hashing.

Standard library only (psycopg is imported by the caller's cursor).
"""

from __future__ import annotations

import hashlib

BATCH = {"sqlite": 500, "postgresql": 5000}
"""Rows per keyset batch, as verify's reader reads them on each backend (``audit._walk``); on
SQLite also the fastest batch for the floor itself (500 rows stay in the processor's cache)."""


def columns(cur, backend: str) -> list[str]:
    """The log table's columns but ``seq``, in table order (whatever this checkout's table has)."""
    if backend == "sqlite":
        return [c[1] for c in cur.execute("PRAGMA table_info(decision_log)").fetchall() if c[1] != "seq"]
    cur.execute("SELECT * FROM decision_log LIMIT 0")
    return [d[0] for d in cur.description if d[0] != "seq"]


def raw_bytes(cur) -> None:
    """psycopg: this cursor returns text, varchar and timestamptz values as the bytes received."""
    from psycopg.adapt import Loader

    class _Bytes(Loader):
        def load(self, data) -> bytes:
            return bytes(data)

    for name in ("text", "varchar", "timestamptz", "timestamp"):
        cur.adapters.register_loader(name, _Bytes)


def floor_pass(cur, backend: str, batch: int | None = None) -> int:
    """One floor pass on an open DB-API cursor; returns the number of rows read. On PostgreSQL call
    :func:`raw_bytes` on the cursor first."""
    sha = hashlib.sha256
    batch = batch or BATCH[backend]
    cols = columns(cur, backend)
    if backend == "sqlite":
        q = f"SELECT seq, {', '.join(f'CAST({c} AS BLOB)' for c in cols)} FROM decision_log WHERE seq > ? ORDER BY seq LIMIT {int(batch)}"
    else:
        q = f"SELECT seq, {', '.join(cols)} FROM decision_log WHERE seq > %s ORDER BY seq LIMIT {int(batch)}"
    last, n = 0, 0
    while True:
        cur.execute(q, (last,))
        rows = cur.fetchall()
        if not rows:
            return n
        for row in rows:
            h = sha()
            for v in row[1:]:
                if v is not None:
                    h.update(v)
            h.digest()
        n += len(rows)
        last = rows[-1][0]


def sqlite_floor_pass(path: str, batch: int | None = None) -> int:
    """:func:`floor_pass` on a SQLite file, opened read-only for the pass."""
    import sqlite3

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return floor_pass(con.cursor(), "sqlite", batch)
    finally:
        con.close()
