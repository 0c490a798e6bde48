"""Per-device time. Nothing in the clients reads the wall clock or sleeps for real.

A device clock is the World's clock plus a skew the scenario chooses; waiting (a `retryAfter`, a
backoff) goes through `sleep`, which the World turns into an advance of virtual time. The classes
are dualsync's one clock (`dualsync.timebase`), under the names the clients' tests know.
"""

from dualsync.timebase import SkewedClock as DeviceClock, VirtualClock as ManualClock, as_clock

__all__ = ["DeviceClock", "ManualClock", "as_clock"]
