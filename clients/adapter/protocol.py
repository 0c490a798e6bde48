"""Constants of the device protocol the Python adapter speaks (the version is the device port's)."""

from __future__ import annotations

from dualsync.clients.api import PROTOCOL_VERSION

# Error kinds a reply may carry (docs/device-protocol.md, "Commands").
ERROR_KINDS = ("protocol_version", "bad_command", "not_signed_in", "not_found", "invalid",
               "backend", "transport", "store", "internal")

CAPABILITIES = ("concurrent_commands", "virtual_time", "fault_points", "decode", "key_rotation",
                "disk_faults")
