"""The one clock: the only place the tool reads the time (Asia/Shanghai). Tests and demonstrations
inject a :class:`FixedClock`. Kept free of the model and the engine, so that anything can take a
clock without importing them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pendulum

from icv_permits.core.model.types import TIMEZONE



class Clock(Protocol):
    def now(self) -> pendulum.DateTime: ...


class SystemClock:
    """The real clock, in Asia/Shanghai."""

    def now(self) -> pendulum.DateTime:
        return pendulum.now(TIMEZONE)


@dataclass(frozen=True)
class FixedClock:
    instant: pendulum.DateTime

    def now(self) -> pendulum.DateTime:
        return self.instant
