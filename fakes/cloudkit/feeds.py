"""Change feeds: changes/zone, records/changes (one zone) and changes/database.

A token is a position in a change log. A page holds every key changed after that position, each
once in its latest state (deleted records as tombstones), oldest change first; `moreComing` says
another page exists and the page's token resumes right after its last entry. A client that stores
a token has "seen" everything up to it: exactly the contract whose misuse loses data.
"""

from __future__ import annotations

import random

from .errors import STATUS, CloudKitError, bad_request
from .tokens import Token

EXPIRED_REASON = ("sync token expired: client knowledge differs from server knowledge; "
                  "refetch from a nil syncToken")


class FeedOps:
    # -- tokens ---------------------------------------------------------------------------

    def zone_token(self, zone) -> str:
        return self._token("zone", zone.incarnation, zone.generation, zone.log.position)

    def database_token(self) -> str:
        return self._token("database", 0, self.generation, self.log.position)

    def _token(self, kind: str, incarnation: int, generation: int, position: int) -> str:
        now_ms = int(self.container.clock.now() * 1000)
        return self.container.codec.encode(Token(kind, self.id, incarnation, generation, position, now_ms))

    def _expired(self) -> CloudKitError:
        code = self.container.config.expired_token_code
        return CloudKitError(code, EXPIRED_REASON, status=STATUS.get(code, 400))

    def _position(self, raw, kind: str, incarnation: int, generation: int, head: int, where: str) -> int:
        """Where a client token stands; raises BAD_REQUEST (not ours) or the expired error."""
        if raw is None:
            return 0
        tok = self.container.codec.decode(raw, kind)
        if tok.database != self.id:
            raise bad_request("syncToken was issued for a different database")
        if tok.incarnation != incarnation:
            if self.container.incarnation_name(tok.incarnation) != where:
                raise bad_request(f"syncToken was issued for a different zone than {where!r}")
            raise self._expired()   # the zone was deleted and re-created since
        horizon = self.container.config.token_horizon
        too_old = horizon is not None and self.container.clock.now() * 1000 - tok.issued_ms > horizon * 1000
        if tok.generation != generation or too_old:
            raise self._expired()
        if tok.position > head:
            raise bad_request("syncToken is ahead of the server's change log")
        return tok.position

    # -- changes/zone and records/changes --------------------------------------------------

    def changes_zone(self, body: dict, device: str = "web") -> dict:
        wanted = body.get("zones")
        if not isinstance(wanted, list) or not wanted:
            raise bad_request("changes/zone needs a non-empty 'zones' list of {zoneID, syncToken?}")
        self._check_count(len(wanted), "zones")
        if not all(isinstance(z, dict) for z in wanted):
            raise bad_request("each changes/zone entry must be an object with a zoneID")
        names = [self.zone_name(z.get("zoneID"), default=None) for z in wanted]
        if len(set(names)) != len(names):
            raise bad_request("changes/zone lists a zone more than once")
        return {"zones": [self._zone_entry(body, z, n) for z, n in zip(wanted, names)]}

    def _zone_entry(self, body: dict, req: dict, name: str) -> dict:
        merged = {k: req.get(k, body.get(k)) for k in
                  ("syncToken", "resultsLimit", "desiredKeys", "desiredRecordTypes", "reverse")}
        try:
            return self.zone_changes(name, **merged)
        except CloudKitError as e:
            return CloudKitError.item(e.code, e.reason, zoneID={"zoneName": name, "ownerRecordName": self.owner})

    def records_changes(self, body: dict, device: str = "web") -> dict:
        if body.get("zoneID") is None:
            raise bad_request("records/changes needs a zoneID (custom zones only)")
        name = self.zone_name(body.get("zoneID"), default=None)
        return self.zone_changes(name, body.get("syncToken"), body.get("resultsLimit"), body.get("desiredKeys"))

    def zone_changes(self, name: str, syncToken=None, resultsLimit=None, desiredKeys=None,
                     desiredRecordTypes=None, reverse=None) -> dict:
        """One page of one zone's feed: {zoneID, syncToken, moreComing, records}."""
        zone = self.zone(name)
        if zone.is_default and not self.container.config.default_zone_changes:
            raise bad_request("change fetching is supported only in custom zones, not _defaultZone")
        if reverse:
            raise CloudKitError("NOT_IMPLEMENTED", "reverse change feeds are not implemented by this fake")
        limit = self.results_limit(resultsLimit)
        desired = _names(desiredKeys, "desiredKeys")
        types = _names(desiredRecordTypes, "desiredRecordTypes")
        start = self._position(syncToken, "zone", zone.incarnation, zone.generation, zone.log.position, name)
        accept = (lambda k: zone.records[k].type in types) if types is not None else (lambda k: True)
        keys, resume, more = zone.log.since(start, limit, accept)
        self._maybe_shuffle(keys, resume)
        token = self._token("zone", zone.incarnation, zone.generation, resume)
        return {"zoneID": zone.zone_id(), "syncToken": token, "moreComing": more,
                "records": [self._feed_record(zone, zone.records[k], desired) for k in keys]}

    def _feed_record(self, zone, rec, desired) -> dict:
        reason = self.undeliverable.get((zone.name, rec.name)) if self.undeliverable else None
        if reason is not None and not rec.deleted:
            return CloudKitError.item("INTERNAL_ERROR", reason, recordName=rec.name, zoneID=zone.zone_id())
        if rec.deleted:
            return rec.render_tombstone(zone.zone_id(), self.container.config.tombstone_record_type)
        return rec.render(zone.zone_id(), desired, feed=True)

    def _maybe_shuffle(self, keys: list, seed: int) -> None:
        if self.container.config.change_order == "shuffled":
            random.Random(seed).shuffle(keys)

    # -- changes/database -------------------------------------------------------------------

    def changes_database(self, body: dict | None = None, device: str = "web") -> dict:
        body = body or {}
        limit = self.results_limit(body.get("resultsLimit"))
        start = self._position(body.get("syncToken"), "database", 0, self.generation, self.log.position, "")
        keys, resume, more = self.log.since(start, limit)
        token = self._token("database", 0, self.generation, resume)
        return {"zones": [self._db_entry(k) for k in keys], "syncToken": token, "moreComing": more}

    def _db_entry(self, name: str) -> dict:
        zone = self.zones.get(name)
        if zone is not None:
            return {"zoneID": zone.zone_id()}
        entry = {"zoneID": {"zoneName": name, "ownerRecordName": self.owner}, "deleted": True}
        if self.deleted_zones.get(name):
            entry["purged"] = True   # deleted by the user: the client must not re-upload
        return entry


def _names(raw, what: str):
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        raise bad_request(f"{what} must be a list of names")
    return raw
