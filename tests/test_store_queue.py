"""The batched queue gives exactly what the one-submission view gives, for every state."""

from __future__ import annotations

import pendulum
from sqlalchemy import select

from icv_permits.adapters.store import tables as T
from icv_permits.services import office as W
from icv_permits.services.precheck import FixedClock

CLOCK = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, tz="Asia/Shanghai"))
EXAMPLES = ["examples/da-compliant.yaml", "examples/fail-first-do-6-vehicles.yaml", "examples/fail-vin-check-digit.yaml"]


def test_queue_equals_the_single_views(store):
    ids = [W.submit(store, f, actor="clerk", clock=CLOCK).submission.id for f in EXAMPLES]
    W.decide(store, ids[0], "approve", reason=None, actor="reg", clock=CLOCK)
    W.decide(store, ids[1], "return", reason="少于5辆", actor="reg", clock=CLOCK)
    W.submit(store, EXAMPLES[1], actor="clerk", clock=CLOCK, resubmits=ids[1])  # version 2, under review again
    W.decide(store, ids[2], "reject", reason="VIN", actor="reg", clock=CLOCK)
    everything = W.queue(store, states=[x.value for x in T.State])
    with store.read() as s:
        subs = s.execute(select(T.Submission).order_by(T.Submission.updated_at, T.Submission.id)).scalars().all()
        expected = [W._view(s, sub).to_json() for sub in subs]
    assert [v.to_json() for v in everything] == expected
    assert [(v.id, v.state, v.version) for v in W.queue(store)] == [(ids[1], "under_review", 2)]
    assert {v.verdict for v in everything} <= {"compliant", "non_compliant", "incomplete"}
