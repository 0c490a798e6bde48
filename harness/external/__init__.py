"""Devices in other processes: an app's own sync code driven over the device protocol
(docs/device-protocol.md), its requests through per-device loopback ports to the Conductor."""

from dualsync.harness.external.device import ExternalDevice
from dualsync.harness.external.hello import (describe, expectation_key, is_external,
                                             missing_capabilities)
from dualsync.harness.external.process import AdapterFailure



def make_device(world, name: str, spec: dict, in_process: type):
    """The World's device `name`: in process, or for a `cmd:` client an adapter process."""
    kind = ExternalDevice if is_external(world.client_name) else in_process
    return kind(world, name, spec["user"], spec.get("skew", 0.0))


__all__ = ["make_device", "ExternalDevice", "AdapterFailure", "describe", "expectation_key", "is_external",
           "missing_capabilities"]
