"""Stops: SIGTERM and SIGHUP end a process the way Ctrl-C does, so its `finally` blocks run.

Python's default for SIGTERM is to die on the spot: no `finally`, no context manager exit, so a
PostgreSQL server the process started keeps running and its data stays on tmpfs. `install()`
turns SIGINT, SIGTERM and SIGHUP into `Stopped` (a KeyboardInterrupt, so pytest, asyncio and
every `except Exception` treat it as an interruption) raised in the main thread. Starting a
server (`fakes.postgres.start_server`) installs it; entry points may install it earlier.

A stop is often delivered twice: coreutils `timeout` signals the command and then its process
group, which holds the command again. A second signal within REPEAT_S of the first is therefore
ignored, so the first one's cleanup is not itself interrupted; a later one interrupts again.

    sys.exit(stops.run(main, argv))   # one line on stderr and 128+signal instead of a traceback
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Callable

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
REPEAT_S = 3.0


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; `signum` says which."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


_state = {"first": None, "signum": None}  # monotonic time and number of the first stop


def _handle(signum: int, _frame) -> None:
    now = time.monotonic()
    if _state["first"] is not None and now - _state["first"] < REPEAT_S:
        return
    _state["first"], _state["signum"] = now, signum
    raise Stopped(signum)


def install() -> bool:
    """Route the stop signals that still have their default handling to `Stopped`.

    Handlers a program set on purpose are kept. Only the main thread may set handlers: from any
    other thread nothing changes and the answer is False."""
    if threading.current_thread() is not threading.main_thread():
        return False
    for sig in SIGNALS:
        if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(sig, _handle)
    return True


def received() -> int | None:
    """The stop signal this process received (the first), or None."""
    return _state["signum"]


def exit_code(exc: BaseException) -> int:
    """What a shell reports for a process ended by that signal: 128 + its number."""
    return 128 + (exc.signum if isinstance(exc, Stopped) else signal.SIGINT)


def run(main: Callable[..., int], *args) -> int:
    """Call main(*args) with the stops installed; an interruption ends it with one line and the
    exit code of its signal, after every `finally` on the way out has stopped what it started."""
    install()
    try:
        return main(*args)
    except KeyboardInterrupt as exc:
        name = signal.Signals(exc.signum).name if isinstance(exc, Stopped) else "SIGINT"
        print(f"interrupted by {name}: the servers this run started are stopped and their data removed",
              file=sys.stderr)
        return exit_code(exc)
