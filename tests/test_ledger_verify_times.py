"""``recorded_at`` as verify's reader turns it into the text the hash covers (``_hash_times``): a
batch of stored texts at once, each text the same as every other reader of the log makes of it
(the column read through its own type, then ``utc_timestamp``), whatever the stored text is — an
unusual form, an impossible date, a year before 1000, a leap day. A row whose stored text is not
the plain form is read the ordinary way, so it is reported (or refused) as the general walk
reports it."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite as sqlite_dialect

from icv_permits.adapters.store import tables as T
from icv_permits.core.canonical import utc_timestamp
from icv_permits.core.errors import LogBroken
from icv_permits.services import audit as ledger

_DIALECT = sqlite_dialect.dialect()
_READ = T.DecisionLog.__table__.c.recorded_at.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)


def ordinary(text) -> str:
    """What every reader makes of a stored SQLite ``recorded_at``: the column's type, then the hash text."""
    return utc_timestamp(_READ(text))


DELEGATED = "read the ordinary way"


def fast(texts: list, pg: bool = False) -> list[str]:
    rows = [(i, "id", "kind", t, "actor", b"{}", "p", "h") for i, t in enumerate(texts)]
    return ledger._hash_times(rows, pg, lambda seq: DELEGATED)


def usual(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy writes a naive UTC instant to SQLite


instants = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59))


def near(text: str) -> st.SearchStrategy[str]:
    """The plain form with one character changed, dropped or added."""
    return st.integers(0, len(text)).flatmap(lambda i: st.one_of(
        st.sampled_from("0123456789 T:-.Z+x\n٣").map(lambda c: text[:i] + c + text[i + 1:]),
        st.just(text[:i] + text[i + 1:]),
        st.sampled_from("0Z ").map(lambda c: text[:i] + c + text[i:])))


stored = st.one_of(instants.map(usual), instants.map(usual).flatmap(near), st.text(max_size=30),
                   st.sampled_from(["2026-02-29 00:00:00.000000", "2028-02-29 12:00:00.000000", "2026-04-31 00:00:00.000000",
                                    "2026-11-27T02:00:00.000000", "2026-11-27 02:00:00", "2026-11-27 02:00:00.000000+08:00",
                                    "0999-11-27 02:00:00.000000", "2026-11-27 24:00:00.000000", "2026-11-27 02:00:60.000000"]))


@settings(max_examples=500, deadline=None)
@given(st.lists(stored, min_size=1, max_size=6))
@example(["2028-02-29 12:00:00.000000", "2026-11-27 02:00:00.000000"])
@example(["0999-11-27 02:00:00.000000"])
def test_each_time_is_the_text_every_reader_makes_of_it(texts):
    """Turned as a batch or one by one, each stored text gives what the column's type gives, or is
    left to the ordinary reading (which then says what it is, or refuses it as it refuses it
    everywhere): never a text of its own."""
    for got in (fast(texts), [fast([t])[0] for t in texts]):
        for text, at in zip(texts, got):
            if at == DELEGATED:
                continue
            assert at == ordinary(text), text
            assert at.isascii() and at.isprintable() and '"' not in at and "\\" not in at


@settings(max_examples=300, deadline=None)
@given(instants)
def test_the_usual_form_is_turned_without_reading_again(t):
    """The plain form of a real instant (year 1000 on) never needs a second read, leap day or not."""
    if t.year >= 1000:
        assert fast([usual(t)]) == [ordinary(usual(t))]
        assert fast([usual(t), usual(t)]) == [ordinary(usual(t))] * 2


def test_values_that_are_not_text_are_read_the_ordinary_way():
    assert fast([12345, None, b"2026-11-27 02:00:00.000000", "2026-11-27 02:00:00.000000"]) == \
        [DELEGATED, DELEGATED, DELEGATED, "2026-11-27T02:00:00.000000Z"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(instants.map(lambda t: t.replace(tzinfo=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
                 st.text(max_size=30), st.sampled_from(["0999-11-27T02:00:00.000000Z", "2026-02-30T00:00:00.000000Z"])))
def test_postgresql_times_are_kept_only_when_they_are_the_hash_text(text):
    """PostgreSQL's ``to_char`` writes the hash form; a year before 1000 (four digits there, fewer
    in ``utc_timestamp``) or anything else is read the ordinary way."""
    got = fast([text], pg=True)[0]
    if got != DELEGATED:
        assert got == text == utc_timestamp(dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.UTC))


# ---------------------------------------------------------------- through the store


def general(store) -> dict:
    """The report of the general walk over the ordinary reader (``iter_records``), head included."""
    seq, h = ledger.head(store)
    return ledger.verify_records(ledger.iter_records(store), head_seq=seq, head_hash=h).to_json()


@pytest.mark.parametrize("text,rehash", [
    ("2026-11-27T02:00:00.000000", False),  # ISO form of the same instant: the chain holds
    ("2026-11-27 02:00:00.000000+08:00", False),  # another instant: edited
    ("2026-11-27 02:00:00.000000+08:00", True),  # the insider recomputed the hashes over it: intact, as every reader has it
    ("0999-11-27 02:00:00.000000", True),  # a year before 1000, hashes recomputed over its usual text
    ("2028-02-29 02:00:00.000000", True),  # a leap day
    ("2027-02-28 02:00:00.000000", False),  # later than the next record: time goes backwards, and edited
])
def test_a_stored_time_of_another_form_is_reported_as_the_general_walk_reports_it(store, text, rehash):
    if store.backend != "sqlite":
        pytest.skip("PostgreSQL stores an instant, not its text")
    from test_ledger import bypass, fill

    recs = fill(store, 5)
    with bypass(store) as run:
        run("UPDATE decision_log SET recorded_at = :t WHERE seq = 2", t=text)
    if rehash:
        _rechain(store, 2)
    want = general(store)
    got = ledger.verify(store)
    assert {k: v for k, v in got.to_json().items() if k not in ("breaks", "warnings", "first_break")} == \
        {k: v for k, v in want.items() if k not in ("breaks", "warnings", "first_break")}
    assert got.to_json()["breaks"] == want["breaks"]
    assert got.checked == want["checked"] and len(recs) == 5


@pytest.mark.parametrize("text", ["2026-02-30 02:00:00.000000", "2026-11-27 24:00:00.000000", "2026-11-27 02:00:00.00000x"])
def test_a_stored_time_that_is_no_instant_is_refused_as_every_reader_refuses_it(store, text):
    """The shape of the usual form is not enough (the old reader took 30 February, hour 24 as text):
    the ordinary reading refuses such a text as a broken log (exit 4), and verify reports the record
    edited, even when the insider hashed the text as if it were the usual form — neither crashes."""
    if store.backend != "sqlite":
        pytest.skip("PostgreSQL stores an instant, not its text")
    from test_ledger import bypass, fill

    fill(store, 4)
    with bypass(store) as run:
        run("UPDATE decision_log SET recorded_at = :t WHERE seq = 2", t=text)
    _rechain(store, 2, at={2: text[:10] + "T" + text[11:] + "Z"})
    with pytest.raises(LogBroken):
        list(ledger.iter_records(store))
    report = ledger.verify(store)
    assert not report.intact and report.breaks[0].seq == 2 and report.breaks[0].problem == "edited"


def _rechain(store, from_seq: int, at: dict[int, str] | None = None) -> None:
    """Recompute the hashes from ``from_seq`` on (and the head) as an insider with the database
    would, each over ``recorded_at`` as every reader reads it (or as ``at`` gives it)."""
    import sqlite3

    import sqlalchemy as sa
    from test_ledger import bypass

    con = sqlite3.connect(sa.engine.make_url(store.url).database)
    rows = con.execute("SELECT seq, decision_id, kind, recorded_at, actor, body, hash FROM decision_log ORDER BY seq").fetchall()
    con.close()
    prev = ledger.GENESIS
    new = []
    for seq, did, kind, stored_at, actor, body, stored_hash in rows:
        if seq < from_seq:
            prev = stored_hash
            continue
        h = ledger.record_hash(seq, did, kind, (at or {}).get(seq) or ordinary(stored_at), actor, body, prev)
        new.append((seq, prev, h))
        prev = h
    with bypass(store) as run:
        for seq, p, h in new:
            run("UPDATE decision_log SET prev_hash = :p, hash = :h WHERE seq = :s", p=p, h=h, s=seq)
        run("UPDATE log_head SET hash = :h", h=prev)
