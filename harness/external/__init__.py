"""Devices in other processes: an app's own sync code driven over the device protocol
(docs/device-protocol.md), its requests through per-device loopback ports to the Conductor."""

from dualsync.harness.external.device import ExternalDevice
from dualsync.harness.external.hello import (describe, expectation_key, is_external,
                                             missing_capabilities)
from dualsync.harness.external.process import AdapterFailure



def make_device(world, name: str, spec: dict, in_process: type):
    """The World's device `name`: in process, or for a `cmd:` client an adapter process."""
    if is_external(world.client_name):
        return ExternalDevice(world, name, spec["user"], spec.get("skew", 0.0))
    return in_process(world, name, spec["user"], spec.get("skew", 0.0), spec.get("page_size"))


__all__ = ["make_device", "ExternalDevice", "AdapterFailure", "describe", "expectation_key", "is_external",
           "missing_capabilities"]
