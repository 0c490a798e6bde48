"""A faithful CloudKit Web Services fake: state model, wire layer, control plane. See README.md."""

from .clock import VirtualClock, WallClock
from .config import Config
from .errors import CloudKitError
from .model import CloudKit

__all__ = ["CloudKit", "CloudKitError", "Config", "VirtualClock", "WallClock"]
