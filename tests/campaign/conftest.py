"""Campaign tests run the real command (`python -m dualsync.harness.campaign`) in a subprocess:
worker processes, each on its own database of the campaign's embedded Postgres, the example databases, the reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dualsync.fakes.net import free_port

ROOT = Path(__file__).resolve().parents[2]
# legacy fails within a few examples (DEEP-SYNC-001); the pr tier's short programs keep it quick.
FAST = ["--profile", "pr", "--shrink-seconds", "10", "--no-live"]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "dualsync.harness.campaign", *args]


def campaign(*args: str, timeout: float = 400) -> tuple[subprocess.CompletedProcess, dict | None]:
    """Run a campaign to its end; its result and its report.json (None if there is none)."""
    done = subprocess.run(command(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    out = Path(args[args.index("--out") + 1]) if "--out" in args else None
    report = out / "report.json" if out else None
    return done, (json.loads(report.read_text()) if report and report.is_file() else None)


def _shared_redis() -> str | None:
    """The server .ci/run started (DUALSYNC_TEST_REDIS), with a database number of this test's own
    (taken with INCR, so parallel workers never share one), emptied; None when there is none."""
    url = os.environ.get("DUALSYNC_TEST_REDIS")
    if not url:
        return None
    import redis
    try:
        n = redis.Redis.from_url(url, db=0).incr("dualsync-test-db") % 15 + 1
        redis.Redis.from_url(url, db=n).flushdb()
    except redis.RedisError:
        return None
    return f"{url.rstrip('/')}/{n}"


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server (Debian's): .ci/run's, or one private to the test; skipped with the
    reason when none runs."""
    shared = _shared_redis()
    if shared:
        yield shared
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None:
                    pytest.skip(f"redis-server exited at start (code {proc.returncode})")
                time.sleep(0.1)
        else:
            pytest.skip("redis-server did not answer within 10 s")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
