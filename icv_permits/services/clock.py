"""The clock the commands and the app inject into the services: the system clock in Asia/Shanghai,
or a fixed instant (tests, demonstrations)."""

from icv_permits.adapters.clock import Clock, FixedClock, SystemClock

__all__ = ["Clock", "FixedClock", "SystemClock"]
