"""python -m dualsync.fakes.cloudkit --port N [--container ID] [--api-token T] [--web-auth-token W] [--user U]

Serves the fake on loopback, prints the base URL, container, API token and one web auth token
(for --user), then runs until interrupted. Point a client's database host at the base URL.
"""

from __future__ import annotations

import json
import sys
import threading

from ..cli import Parser, check_free, port
from .clock import WallClock
from .model import CloudKit, Session
from .server import LoopbackServer


def main(argv: list[str]) -> int:
    ap = Parser(prog="python -m dualsync.fakes.cloudkit", description=__doc__.splitlines()[2])
    ap.add_argument("--port", type=port, default=0, help="port on 127.0.0.1 (default: a free one)")
    ap.add_argument("--container", default="iCloud.com.example.fit", help="container id (starts with iCloud.)")
    ap.add_argument("--api-token", default="fake-ck-api-token", help="the ckAPIToken clients must send")
    ap.add_argument("--web-auth-token", default=None, help="register this ckWebAuthToken for --user")
    ap.add_argument("--user", default="user1", help="user id the printed web auth token signs in")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    check_free(ap, "127.0.0.1", args.port)
    try:
        ck = CloudKit(args.container, api_token=args.api_token, clock=WallClock(), seed=args.seed)
    except ValueError as e:
        ap.error(str(e))
    token = _web_token(ck, args.user, args.web_auth_token)
    try:
        server = LoopbackServer(ck, args.port or None).start()
    except RuntimeError as e:
        ap.error(str(e))
    print(json.dumps({"baseURL": server.base_url, "container": ck.container_id, "apiToken": args.api_token,
                      "webAuthToken": token, "user": args.user, "control": server.base_url + "/_control/"}),
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


def _web_token(ck: CloudKit, user: str, chosen: str | None) -> str:
    if chosen is None:
        return ck.mint_web_auth_token(user)
    # A test-chosen token: registered as-is, never expiring, so a client can be configured ahead.
    ck.sessions[chosen] = Session(user, "web-cli", None)
    return chosen


if __name__ == "__main__":
    from dualsync.fakes import stops  # SIGTERM/SIGINT: servers stopped, one line, 128+signal
    sys.exit(stops.run(main, sys.argv[1:]))
