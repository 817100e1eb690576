"""Parallel replay (workers read their own ranges) gives exactly the sequential results."""

import pendulum

from icv_permits.services import audit as L
from icv_permits.services import office as W
from icv_permits.services.precheck import FixedClock


def test_parallel_replay_equals_sequential(store):
    clock = FixedClock(pendulum.datetime(2026,11,27,10,0,tz="Asia/Shanghai"))
    r = W.submit(store, "examples/fail-first-do-6-vehicles.yaml", actor="a", clock=clock)
    for i in range(3):
        W.decide(store, r.submission.id, "return", reason="x", actor="b", clock=clock)
        W.submit(store, "examples/fail-first-do-6-vehicles.yaml", actor="a", clock=clock)
    seq = [x.to_json() for x in L.replay(store)]
    par = [x.to_json() for x in L.replay_parallel(store, jobs=2, chunk=3)]
    assert seq == par and len(seq) == 7 and all(x["match"] for x in seq)
    cur = [x.to_json() for x in L.replay_parallel(store, jobs=2, chunk=3, pack_mode="current")]
    assert cur == [x.to_json() for x in L.replay(store, pack_mode="current")]
