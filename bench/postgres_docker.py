"""Docker provider: start-to-ready (DockerProvider.start(), container creation through the first
answered query) and stop (container removed), each over repeated runs.

Without a daemon the figures are reported as skipped with the reason instead of measured.
"""

from __future__ import annotations

import time

from dualsync.bench import Figure
from dualsync.fakes.postgres.docker import DockerProvider, docker_available


def _one_run() -> tuple[float, float, str]:
    """(start-to-ready ms, stop ms, image description) for one container."""
    provider = DockerProvider()
    try:
        t0 = time.perf_counter()
        provider.start()
        ready = (time.perf_counter() - t0) * 1000
        plan = provider.plan
    finally:
        t1 = time.perf_counter()
        provider.stop()
        stopped = (time.perf_counter() - t1) * 1000
    how = "host network" if plan.host_network else "published port"
    return ready, stopped, f"{plan.image}, {how}"


def run(quick: bool) -> list[Figure]:
    ok, reason = docker_available()
    if not ok:
        note = f"skipped: {reason}"
        return [Figure("docker start-to-ready", "ms", [float("nan")], note)]
    _one_run()  # warm-up: the first container after a build pays for caches, not for the provider
    runs = [_one_run() for _ in range(3 if quick else 8)]
    image = runs[0][2]
    return [
        Figure("docker start-to-ready", "ms", [r[0] for r in runs], f"{reason}; {image}"),
        Figure("docker stop (container removed)", "ms", [r[1] for r in runs]),
    ]
