"""The standalone gateway (`python -m dualsync.fakes.supabase`) as a child process: started on a
free port, its URL and keys read from the lines it prints, stopped with SIGTERM (it cleans up).

    gateway = StandaloneGateway("--dsn", admin_dsn)       # any of the command's flags; --port is 0
    gateway.url, gateway.anon_key, gateway.service_key
    gateway.stop()
"""

from __future__ import annotations

import selectors
import subprocess
import sys
import tempfile

PRINTED = ("API URL", "anon key", "service_role key")


class StandaloneError(RuntimeError):
    """The gateway did not start; the message ends with what it printed."""


class StandaloneGateway:
    def __init__(self, *args: str, timeout: float = 120.0, cwd=None):
        self.stderr = tempfile.TemporaryFile(mode="w+")    # a file, not a pipe nobody reads while it runs
        self.proc = subprocess.Popen([sys.executable, "-m", "dualsync.fakes.supabase", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True, cwd=cwd)
        ready = selectors.DefaultSelector()
        ready.register(self.proc.stdout, selectors.EVENT_READ)
        # It prints its lines in one write: once the first is there, the others are buffered with it.
        lines = [self.proc.stdout.readline() for _ in PRINTED] if ready.select(timeout) else []
        ready.close()
        values = [line.split(": ", 1)[1].strip() for name, line in zip(PRINTED, lines)
                  if line.startswith(name + ": ")]
        if len(values) != len(PRINTED):
            self._end(30.0)
            self.stderr.seek(0)
            said = ("".join(lines) + self.stderr.read()).strip()
            self.stop()
            raise StandaloneError(f"the standalone gateway did not start (waited up to {timeout:g} s): "
                                  f"{said[-600:] or 'it printed nothing'}")
        self.url, self.anon_key, self.service_key = values

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM, and `grace` seconds to stop its server (and the embedded PostgreSQL it may have started)."""
        self._end(grace)
        self.proc.stdout.close()
        self.stderr.close()

    def _end(self, grace: float) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
