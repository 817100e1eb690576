"""The log's canonical JSON is RFC 8785, byte for byte, on the fast path and off it."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from icv_permits.core.canonical import _plain, canonical_json



scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.text(max_size=12),
                    st.floats(allow_nan=False, allow_infinity=False))
docs = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=6), kids, max_size=4)),
                    max_leaves=25)


@settings(max_examples=500)
@given(docs)
def test_canonical_text_is_rfc8785(doc):
    try:
        expected = rfc8785.dumps(doc).decode("utf-8")
    except rfc8785.CanonicalizationError:  # e.g. integers beyond ±2^53: never in a log body
        assert not _plain(doc)
        return
    assert canonical_json(doc) == expected


def test_a_real_decision_body_takes_the_fast_path():
    import datetime as dt
    from pathlib import Path

    from icv_permits.adapters.packs import load_pack
    from icv_permits.services.precheck import check_file

    r = check_file(Path(__file__).parent.parent / "examples" / "fail-first-do-6-vehicles.yaml", as_of=dt.date(2026, 11, 27))
    body = {"decision": r.decision.to_json_dict(), "pack": {"id": load_pack().id}}
    assert _plain(body)
    assert canonical_json(body) == rfc8785.dumps(body).decode("utf-8")


def test_utc_timestamp_is_fixed_width_utc_and_refuses_naive_times():
    import datetime as dt

    import pytest

    from icv_permits.core.canonical import utc_timestamp

    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert utc_timestamp(dt.datetime(2026, 11, 27, 9, 30, tzinfo=shanghai)) == "2026-11-27T01:30:00.000000Z"
    assert utc_timestamp(dt.datetime(2026, 11, 27, 1, 30, 0, 7, tzinfo=dt.timezone.utc)) == "2026-11-27T01:30:00.000007Z"
    assert utc_timestamp(None) is None
    with pytest.raises(ValueError):
        utc_timestamp(dt.datetime(2026, 11, 27))
