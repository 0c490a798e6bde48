"""What a World does around its devices: the Conductor's decisions, the clock, disks, damage to what
backends store, key rotation with lagging keychains, a deleted zone, probes with bad credentials."""

from __future__ import annotations

from typing import Any

import httpx

from dualsync.harness.conductor import Rule
from dualsync.harness.steps import StepError


class Environment:
    """Mixed into World: the environment steps."""

    def decide(self, action: str, **params: Any) -> Rule:
        target = {k: params.pop(k) for k in ("device", "path", "match") if k in params}
        if action == "crash":
            target["match"] = params.pop("point")
        return self.conductor.add_rule(Rule(action, count=params.pop("count", 1), params=params,
                                            **target))

    def release(self, *names: str) -> None:
        try:
            self.conductor.release(*names)
        except LookupError as exc:
            raise StepError(str(exc)) from None

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.history.append("note", "world", "advance", time=self.clock.now(), seconds=seconds)

    def skew(self, device: str, seconds: float) -> None:
        self.device(device).clock.skew = float(seconds)

    def disk_fault(self, device: str, fault: str, op: str = "write") -> None:
        d = self.device(device)
        self.history.append("fault", device, f"disk:{fault}", time=self.clock.now(), op=op)
        d.client.disk_fault(fault, op)
        # A power cut: files fall back to their last durable bytes and the app's memory is gone
        # with it, so its next operation starts from disk.
        d.crashed = d.crashed or fault == "lose_unsynced"

    def corrupt(self, user: str, record_type: str, record_id: str, backend: str | None = None,
                at_rest: bool = False) -> None:
        for b in [backend] if backend else self.app.type_named(record_type).routes:
            if self.backends.corrupt(user, record_type, record_id, b, at_rest):
                self.history.append("note", "world", "corrupt", time=self.clock.now(), backend=b,
                                    record_type=record_type, record_id=record_id, at_rest=at_rest)
                self.history.commit(b, user, record_type, record_id, time=self.clock.now(),
                                    write_id=None, decryptable=False)

    def rotate_key(self, user: str, device: str | None = None) -> None:
        """A new key version for `user`. The other devices of the user keep only the old one
        until the faults heal (their keychain has not synced yet); `device` has the new one."""
        uid = self.backends.user_ids.get(user, user)
        old, new = self.keys.rotate(uid)
        self.history.append("note", "world", "rotate_key", time=self.clock.now(), user=user,
                            version=new)
        for d in self.devices.values():
            if d.user == user and d.name != device:
                d.client.lag_keys(uid, old)
                self.keys_lagging.add(d.name)
                self.history.append("note", d.name, "keychain", time=self.clock.now(), known=old)

    def _keychains_catch_up(self) -> None:
        for d in self.devices.values():
            if d.name in self.keys_lagging:
                self.keys_lagging.discard(d.name)
                d.client.catch_up_keys()
                self.history.append("note", d.name, "keychain", time=self.clock.now(), known=None)

    def delete_zone(self, user: str) -> None:
        self.backends.delete_zone(user)
        self.history.append("note", "world", "delete_zone", time=self.clock.now(), user=user)

    async def probe(self, device: str, token: str, path: str = "supabase") -> None:
        """A request with a bad credential. A probe the network lost (a fault armed for the
        device) got no answer: it is recorded as such, and isolation judges only answers."""
        from dualsync.harness.probe import probe
        try:
            status = await probe(self, self.device(device), token, path)
        except httpx.TransportError as exc:
            self.history.append("info", device, "probe", time=self.clock.now(), token=token,
                                path=path, error=self._why(exc))
            return
        self.history.append("ok", device, "probe", time=self.clock.now(), token=token, path=path,
                            status=status)
