"""`python -m dualsync.clients.adapter legacy|coordinated|mutant:NAME`: a reference client as an
out-of-process device speaking the device protocol (docs/device-protocol.md) on stdin/stdout."""

from __future__ import annotations

import asyncio
import sys

from dualsync.clients.catalogue import VARIANTS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = [v.name for v in VARIANTS]
    if len(argv) != 1 or argv[0] not in names:
        got = " ".join(argv) or "nothing"
        print(f"python -m dualsync.clients.adapter: got {got}; name one client: {', '.join(names)}",
              file=sys.stderr)
        return 2
    from dualsync.clients.adapter.server import Adapter
    return asyncio.run(Adapter(argv[0]).run())


if __name__ == "__main__":
    sys.exit(main())
