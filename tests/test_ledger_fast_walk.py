"""The fast walk of verify (``verify_rows``: rows as the store's reader gives them, an intact run in
one tight loop) reports exactly what the general walk (``verify_records``) reports, for an intact
log and for every kind of damage, wherever it is and however the rows are batched."""

from __future__ import annotations

import itertools

import pytest

from icv_permits.core.log import (
    GENESIS,
    Record,
    record_hash,
    verify_records,
    verify_rows,
)


def chain(n: int, *, actor: str = "auditor") -> list[Record]:
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        body = '{"n":' + str(seq) + ',"text":"审核 \\"quoted\\" \\\\ line"}'
        at = f"2026-11-27T02:00:{seq:02d}.{seq * 7919 % 1_000_000:06d}Z"
        did = f"00000000-0000-4000-8000-{seq:012d}"
        kind = "review" if seq % 3 else "engine_decision"
        h = record_hash(seq, did, kind, at, actor, body, prev)
        out.append(Record(seq, did, kind, at, actor, body, prev, h))
        prev = h
    return out


def rows_of(records: list[Record], size: int) -> list[list[tuple]]:
    rows = [(r.seq, r.decision_id, r.kind, r.recorded_at, r.actor, r.body_text.encode("utf-8") if isinstance(r.body_text, str) else r.body_text,
             r.prev_hash, r.hash) for r in records]
    return [(rows[i:i + size], [r[3] for r in rows[i:i + size]]) for i in range(0, len(rows), size)] or [([], [])]


def same(records: list[Record], **kw) -> dict:
    want = verify_records(list(records), **kw)
    for size in (1, 3, 7, 100):
        got = verify_rows(rows_of(records, size), **kw)
        assert got.to_json() == want.to_json(), (size, kw)
        assert (got.checked, got.first_seq, got.last_seq) == (want.checked, want.first_seq, want.last_seq)
    return want.to_json()


def replace(rec: Record, **changes) -> Record:
    return Record(**{**rec.__dict__, **changes})


N = 12


def damaged() -> list[tuple[str, list[Record]]]:
    out = []
    for i in (0, 1, 5, N - 1):
        base = chain(N)
        out.append((f"edited body {i}", base[:i] + [replace(base[i], body_text=base[i].body_text.replace("审核", "审查"))] + base[i + 1:]))
        out.append((f"edited actor {i}", base[:i] + [replace(base[i], actor="mallory")] + base[i + 1:]))
        out.append((f"edited kind {i}", base[:i] + [replace(base[i], kind="submission")] + base[i + 1:]))
        out.append((f"edited time {i}", base[:i] + [replace(base[i], recorded_at="2026-11-27T02:00:59.000000Z")] + base[i + 1:]))
        out.append((f"quote in id {i}", base[:i] + [replace(base[i], decision_id='x"y')] + base[i + 1:]))
        out.append((f"link {i}", base[:i] + [replace(base[i], prev_hash="sha256:" + "1" * 64)] + base[i + 1:]))
        out.append((f"removed {i}", base[:i] + base[i + 1:]))
        out.append((f"cut after {i}", base[:i + 1]))
        if i + 1 < N:
            out.append((f"swapped {i}", base[:i] + [base[i + 1], base[i]] + base[i + 2:]))
        out.append((f"wrong type {i}", base[:i] + [replace(base[i], decision_id=12345)] + base[i + 1:]))
        out.append((f"hash of another kind {i}", base[:i] + [replace(base[i], hash=None)] + base[i + 1:]))
    # time going backwards with hashes recomputed (a chain otherwise intact)
    recs, prev = [], GENESIS
    for r in chain(N):
        at = "2026-11-27T01:00:00.000000Z" if r.seq == 6 else r.recorded_at
        h = record_hash(r.seq, r.decision_id, r.kind, at, r.actor, r.body_text, prev)
        recs.append(replace(r, recorded_at=at, prev_hash=prev, hash=h))
        prev = h
    out.append(("time backwards, rechained", recs))
    return out


def test_an_intact_log_and_an_empty_one():
    assert same(chain(N))["intact"]
    assert same([])["intact"]


@pytest.mark.parametrize("name,records", damaged(), ids=[d[0] for d in damaged()])
def test_every_damage_reported_as_the_general_walk_does(name, records):
    base = chain(N)
    same(records)
    same(records, head_seq=N, head_hash=base[-1].hash)
    same(records, head_seq=N - 3, head_hash=base[N - 4].hash)
    for k in (0, 4, N - 1):
        same(records, head_seq=N, head_hash=base[-1].hash, expect_head=base[k].hash)
    same(records, expect_head="sha256:" + "2" * 64)


@pytest.mark.parametrize("from_seq", [2, 5, N])
def test_from_a_record_with_its_anchor(from_seq):
    base = chain(N)
    anchor = base[from_seq - 2]
    tail = base[from_seq - 1:]
    kw = {"from_seq": from_seq, "anchor": anchor.hash, "anchor_recorded_at": anchor.recorded_at, "head_seq": N, "head_hash": base[-1].hash}
    for expect in (None, anchor.hash, base[0].hash, base[-1].hash):
        same(tail, **kw, expect_head=expect)
    # an anchor that itself needs escaping, or that the first record does not follow
    same(tail, **{**kw, "anchor": 'sha256:"odd"'})
    same(tail, **{**kw, "anchor_recorded_at": "2027-01-01T00:00:00.000000Z"})


def test_an_actor_or_kind_that_needs_escaping():
    recs = chain(N, actor='Ann "the auditor" \\ 审计')
    assert same(recs)["intact"]


def test_actors_changing_from_row_to_row_and_ids_that_need_escaping():
    """The prefix of each actor and the kind are made again whenever they change; a batch with a
    decision ID that JSON escapes is walked by the general walk, the batches around it by the fast one."""
    out, prev = [], GENESIS
    for seq in range(1, N + 1):
        actor = ["auditor", 'Ann "A"', "auditor", "审计 \\ x"][seq % 4 if seq > 4 else 0]
        did = f"00000000-0000-4000-8000-{seq:012d}" if seq != 7 else "id with \"quote\" and \u0001"
        at = f"2026-11-27T02:00:{seq:02d}.000000Z"
        h = record_hash(seq, did, "review", at, actor, "{}", prev)
        out.append(Record(seq, did, "review", at, actor, "{}", prev, h))
        prev = h
    assert same(out)["intact"]
    assert same(out, head_seq=N, head_hash=out[-1].hash, expect_head=out[8].hash)["intact"]
    broken = out[:9] + [replace(out[9], actor="Ann \"A\"")] + out[10:]  # another actor's prefix, unchanged hash
    assert not same(broken)["intact"]


def test_records_past_the_head_are_named():
    base = chain(N)
    for head in itertools.islice(range(1, N), 0, None, 4):
        same(base, head_seq=head, head_hash=base[head - 1].hash)


# ---------------------------------------------------------------- through the store's reader


def test_the_store_reader_gives_every_record_as_the_general_reader_does(store):
    """``_log_rows`` (bodies as stored bytes, ``recorded_at`` made by the database) holds the same
    records as ``iter_records``: the same texts, the same hashes, on both backends."""
    from test_ledger import fill

    from icv_permits.services import audit as ledger

    recs = fill(store, 9)
    rows = [r for batch in ledger._log_rows(store, 1, batch=4) for r in batch]
    assert [(r[0], r[1], r[2], r[3], r[4], r[5].decode("utf-8"), r[6], r[7]) for r in rows] == \
        [(r.seq, r.decision_id, r.kind, r.recorded_at, r.actor, r.body_text, r.prev_hash, r.hash) for r in recs]
    assert [r[0] for batch in ledger._log_rows(store, 3, to_seq=5, batch=2) for r in batch] == [3, 4, 5]
    for prefetch in (False, True):  # verify's reader, in its own thread or reading ahead: the same rows, the same times
        got = [(r[0], at, r[5].decode("utf-8"), r[7]) for rows, ats in ledger._log_batches(store, 1, batch=4, prefetch=prefetch)
               for r, at in zip(rows, ats, strict=True)]
        assert got == [(r.seq, r.recorded_at, r.body_text, r.hash) for r in recs]
    assert ledger.verify(store).intact and ledger.verify(store).checked == 9


def test_an_unusual_stored_time_is_read_as_every_reader_reads_it(store):
    """SQLite keeps ``recorded_at`` as text: one stored in another form SQLAlchemy reads (no
    microseconds) is read through the column's type, as before — the chain still holds when the
    instant is the same, and a changed instant is an edited record."""
    if store.backend != "sqlite":
        pytest.skip("PostgreSQL stores an instant, not its text")
    from test_ledger import bypass, fill

    from icv_permits.services import audit as ledger

    recs = fill(store, 4)
    assert recs[0].recorded_at == "2026-11-27T02:00:00.000000Z"
    with bypass(store) as run:
        run("UPDATE decision_log SET recorded_at = '2026-11-27 02:00:00' WHERE seq = 1")
    report = ledger.verify(store)
    assert report.intact and report.checked == 4
    with bypass(store) as run:
        run("UPDATE decision_log SET recorded_at = '2026-11-27 02:00:01' WHERE seq = 1")
    report = ledger.verify(store)
    assert [(b.seq, b.problem) for b in report.faults] == [(1, "edited")]
