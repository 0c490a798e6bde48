"""Constants of the device protocol shared by the Python adapter and the harness."""

from __future__ import annotations

PROTOCOL_VERSION = 1

# Error kinds a reply may carry (docs/device-protocol.md, "Commands").
ERROR_KINDS = ("protocol_version", "bad_command", "not_signed_in", "not_found", "invalid",
               "backend", "transport", "store", "internal")

CAPABILITIES = ("concurrent_commands", "virtual_time", "fault_points", "decode", "key_rotation",
                "disk_faults")
