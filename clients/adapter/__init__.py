"""The reference clients as an out-of-process device: `python -m dualsync.clients.adapter NAME`.

It speaks the device protocol (docs/device-protocol.md) on stdin/stdout, so the harness drives a
reference client exactly as it drives an app written in another language.
"""

from dualsync.clients.adapter.protocol import ERROR_KINDS, PROTOCOL_VERSION

__all__ = ["PROTOCOL_VERSION", "ERROR_KINDS"]
