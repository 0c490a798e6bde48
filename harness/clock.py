"""The World's one virtual clock and a device's skewed view of it (from `dualsync.timebase`)."""

from dualsync.timebase import EPOCH_2026, SkewedClock, VirtualClock

__all__ = ["EPOCH_2026", "SkewedClock", "VirtualClock"]
