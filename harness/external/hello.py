"""What an adapter says about itself, asked once per command (synchronously, before any World
exists), and which scenario steps need which of its capabilities."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
from typing import Any

from dualsync.clients.adapter.protocol import PROTOCOL_VERSION
from dualsync.harness.external.process import AdapterFailure, argv_of, launch_timeout

PREFIX = "cmd:"


def is_external(client: str) -> bool:
    return client.startswith(PREFIX)


def command_of(client: str) -> str:
    return client[len(PREFIX):].strip()


@functools.lru_cache(maxsize=None)
def describe(command: str) -> dict[str, Any]:
    """The adapter's `hello` answer; AdapterFailure (one report) when it cannot give one."""
    try:
        argv = argv_of(command)
    except ValueError as exc:
        raise AdapterFailure(f"--client=cmd:{command}: not a command line ({exc})") from None
    if not argv:
        raise AdapterFailure("--client=cmd: names no command; give one, e.g. "
                             "cmd:\"python -m dualsync.clients.adapter coordinated\"")
    hello = json.dumps({"id": 1, "cmd": "hello", "args": {"protocols": [PROTOCOL_VERSION]}})
    bye = json.dumps({"id": 2, "cmd": "shutdown", "args": {}})
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, text=True)
    except OSError as exc:
        raise AdapterFailure(f"adapter {command!r} cannot start ({exc.strerror or exc}); "
                             "check the command in --client=cmd:...") from None
    try:
        out, err = proc.communicate(hello + "\n" + bye + "\n", timeout=launch_timeout())
    except subprocess.TimeoutExpired:
        _killpg(proc)
        out, err = proc.communicate()
        raise _bad(command, f"gave no answer to hello in {launch_timeout():g} s", hello, out, err)
    finally:
        _killpg(proc)
    first = (out or "").splitlines()[0] if out else ""
    try:
        reply = json.loads(first)
    except ValueError:
        raise _bad(command, "answered hello with a line that is not JSON", hello, out, err) from None
    if not isinstance(reply, dict) or reply.get("id") != 1:
        raise _bad(command, "did not answer hello with a reply to it", hello, out, err)
    if not reply.get("ok"):
        error = reply.get("error") or {}
        raise _bad(command, f"refused hello: {error.get('kind')}: {error.get('message')}", hello, out, err)
    value = reply.get("value") or {}
    if value.get("protocol") != PROTOCOL_VERSION:
        raise _bad(command, f"speaks protocol {value.get('protocol')!r}; this harness speaks "
                   f"{PROTOCOL_VERSION}", hello, out, err)
    if not isinstance(value.get("policy"), dict) or "order" not in value["policy"]:
        raise _bad(command, "declared no resolution policy (policy.order) in its hello", hello, out, err)
    value.setdefault("capabilities", [])
    value.setdefault("fault_points", [])
    return value


def expectation_key(client: str) -> str:
    """Whose expectations in a scenario file judge this client: an adapter names a reference
    client in `expect_as` (default: the remediated `coordinated`)."""
    if not is_external(client):
        return client
    return describe(command_of(client)).get("expect_as") or "coordinated"


NETWORK_POINTS = ("before_send", "after_reply")  # the harness can crash any adapter at its proxy


def missing_capabilities(scenario: Any, client: str) -> list[str]:
    """Why this scenario cannot run against this adapter (empty: it can)."""
    if not is_external(client):
        return []
    info = describe(command_of(client))
    have, points = set(info["capabilities"]), set(info["fault_points"]) | set(NETWORK_POINTS)
    need: dict[str, str] = {}
    if any(spec.get("skew") for spec in scenario.devices.values()):
        need["virtual_time"] = "a device clock is skewed"
    for step in scenario.steps:
        a = step.args
        if step.op in ("advance", "skew") or "retry_after" in a:
            need.setdefault("virtual_time", f"step {step.op} moves time")
        elif step.op == "disk":
            need.setdefault("disk_faults", "a disk fault is injected")
        elif step.op == "rotate_key":
            need.setdefault("key_rotation", "a key is rotated")
        elif step.op == "crash" and a.get("point") not in points:
            need.setdefault("fault_points", f"a crash at fault point {a.get('point')!r}")
        if a.get("wait") is False:
            need.setdefault("concurrent_commands", f"{step.op} runs while others are pending")
    return [f"{cap} ({why})" for cap, why in need.items() if cap not in have]


def _bad(command: str, why: str, sent: str, out: str, err: str) -> AdapterFailure:
    lines = [f"adapter {command!r} {why}", "  last exchanges:", f"    -> {sent}"]
    lines += [f"    <- {x[:160]}" for x in (out or "").splitlines()[:3]]
    tail = (err or "").strip().splitlines()[-4:]
    if tail:
        lines += ["  its stderr ends with:"] + [f"    {x[:200]}" for x in tail]
    return AdapterFailure("\n".join(lines))


def _killpg(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
