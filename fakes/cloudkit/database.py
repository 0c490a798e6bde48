"""One user's private database: zones, the database change log, and the zone operations.

Operation methods are named after the Web Services operations and take the request body as a
dict, the same shape the wire layer receives, so in-process callers and HTTP callers exercise one
code path. Record operations live in modify.py, query.py and feeds.py to keep each module small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .changelog import ChangeLog
from .errors import CloudKitError, bad_request
from .feeds import FeedOps
from .modify import ModifyOps
from .query import QueryOps
from .records import check_record_name
from .zone import DEFAULT_ZONE, Zone

if TYPE_CHECKING:
    from .model import CloudKit


class Database(ModifyOps, QueryOps, FeedOps):
    def __init__(self, container: "CloudKit", db_id: int, env: str, owner: str, user_id: str = ""):
        self.container = container
        self.id = db_id
        self.env = env
        self.owner = owner          # the userRecordName clients see
        self.user_id = user_id      # the harness's name for the user
        self.zones: dict[str, Zone] = {}
        self.deleted_zones: dict[str, bool] = {}   # zone name -> deleted by the user (purged)
        self.log = ChangeLog()                     # database feed: which zones changed
        self.generation = 0
        self.undeliverable: dict[tuple[str, str], str] = {}   # (zone, record) -> reason
        self._add_zone(DEFAULT_ZONE)

    # -- helpers shared by the operation modules -------------------------------------------

    def stamp(self, device: str) -> tuple:
        return (int(self.container.clock.now() * 1000), self.owner, device)

    def zone_name(self, raw: object, *, default: str | None = DEFAULT_ZONE) -> str:
        """Parse a zoneID dict; a zone owned by someone else is not in this database."""
        if raw is None and default is not None:
            return default
        if not isinstance(raw, dict):
            raise bad_request("zoneID must be an object like {\"zoneName\": \"...\"}")
        name = raw.get("zoneName")
        if name != DEFAULT_ZONE:
            check_record_name(name, "zoneName")
        owner = raw.get("ownerRecordName")
        if owner not in (None, self.owner, "__defaultOwner__"):
            raise CloudKitError("ZONE_NOT_FOUND", f"zone {name!r} of owner {str(owner)[:40]!r} is not in this database")
        return name

    def zone(self, name: str) -> Zone:
        zone = self.zones.get(name)
        if zone is None:
            raise CloudKitError("ZONE_NOT_FOUND", self._missing_reason(name))
        return zone

    def _missing_reason(self, name: str) -> str:
        if self.deleted_zones.get(name):
            return f"zone {name!r} was deleted by the user"
        return f"zone {name!r} does not exist"

    def zone_error(self, name: str) -> dict:
        return CloudKitError.item("ZONE_NOT_FOUND", self._missing_reason(name),
                                  zoneID={"zoneName": name, "ownerRecordName": self.owner})

    def record_changed(self, zone: Zone, rec=None, kind: str = "save") -> None:
        self.log.touch(zone.name)
        if rec is not None and self.container.commit_listeners:
            self.container.notify({"kind": kind, "user": self.user_id, "env": self.env, "zone": zone.name,
                                   "recordName": rec.name, "recordType": rec.type, "recordChangeTag": rec.tag,
                                   "device": rec.modified[2], "timestamp": rec.modified[0]})

    def dump(self) -> dict:
        return {name: {r.name: {"recordType": r.type, "recordChangeTag": r.tag,
                                "fields": {k: v for k, (_, v) in r.fields.items()},
                                "modified": r.modified[0], "deviceID": r.modified[2]}
                       for r in zone.records.values() if not r.deleted}
                for name, zone in self.zones.items()}

    def _add_zone(self, name: str) -> Zone:
        zone = Zone(name, self.owner, self.container.next_incarnation(name))
        self.zones[name] = zone
        self.deleted_zones.pop(name, None)
        self.log.touch(name)
        self._zone_event("zone_create", name)
        return zone

    def _remove_zone(self, name: str, *, by_user: bool) -> None:
        del self.zones[name]
        self.deleted_zones[name] = by_user
        self.log.touch(name)
        self._zone_event("zone_delete_by_user" if by_user else "zone_delete", name)

    def _zone_event(self, kind: str, name: str) -> None:
        if self.container.commit_listeners:
            self.container.notify({"kind": kind, "user": self.user_id, "env": self.env, "zone": name,
                                   "timestamp": int(self.container.clock.now() * 1000)})

    def render_zone(self, zone: Zone) -> dict:
        return {"zoneID": zone.zone_id(), "syncToken": self.zone_token(zone),
                "atomic": not zone.is_default}

    # -- zones/list, zones/lookup, zones/modify ----------------------------------------------

    def zones_list(self, body: dict | None = None, device: str = "web") -> dict:
        return {"zones": [self.render_zone(z) for z in self.zones.values()]}

    def zones_lookup(self, body: dict, device: str = "web") -> dict:
        wanted = body.get("zones")
        if not isinstance(wanted, list) or not wanted:
            raise bad_request("zones/lookup needs a non-empty 'zones' list of zoneIDs")
        self._check_count(len(wanted), "zones")
        out = []
        for raw in wanted:
            name = self.zone_name(raw, default=None)
            zone = self.zones.get(name)
            out.append(self.render_zone(zone) if zone else self.zone_error(name))
        return {"zones": out}

    def zones_modify(self, body: dict, device: str = "web") -> dict:
        ops = body.get("operations")
        if not isinstance(ops, list) or not ops:
            raise bad_request("zones/modify needs a non-empty 'operations' list")
        self._check_count(len(ops), "operations")
        parsed = [self._parse_zone_op(op) for op in ops]
        names = [name for _, name in parsed]
        if len(set(names)) != len(names):
            raise bad_request("zones/modify allows one operation per zone")
        return {"zones": [self._apply_zone_op(kind, name) for kind, name in parsed]}

    def _check_count(self, n: int, what: str) -> None:
        limit = self.container.config.max_zones_per_request
        if n > limit:
            raise bad_request(f"too many {what} in one request ({n} > {limit})")

    def _parse_zone_op(self, op: object) -> tuple[str, str]:
        if not isinstance(op, dict) or op.get("operationType") not in ("create", "delete"):
            raise bad_request("each zones/modify operation needs operationType 'create' or 'delete'")
        zone = op.get("zone")
        if not isinstance(zone, dict):
            raise bad_request("each zones/modify operation needs a 'zone' object with a zoneID")
        name = self.zone_name(zone.get("zoneID"), default=None)
        if name == DEFAULT_ZONE:
            raise bad_request("the default zone cannot be created or deleted")
        return op["operationType"], name

    def _apply_zone_op(self, kind: str, name: str) -> dict:
        zone = self.zones.get(name)
        if kind == "create":
            # Saving an existing zone is an upsert natively; it keeps its records and tokens.
            return self.render_zone(zone or self._add_zone(name))
        if zone is None:
            return self.zone_error(name)
        self._remove_zone(name, by_user=False)
        return {"zoneID": zone.zone_id(), "deleted": True}

    # -- faults a test injects on the model ---------------------------------------------------

    def user_delete_zone(self, name: str) -> None:
        """The user deleted the zone's data in Settings: the zone and its records are gone."""
        if name == DEFAULT_ZONE or name not in self.zones:
            raise ValueError(f"no custom zone {name!r} to delete in {self.owner}'s database")
        self._remove_zone(name, by_user=True)

    def mark_undeliverable(self, zone: str, record: str, reason: str = "record could not be materialised") -> None:
        """Change feeds report this record as an error in its slot (as native CloudKit does for a
        record that fails post-processing) while the token still moves past it."""
        if self.zone(zone).live(record) is None:
            raise ValueError(f"no live record {record!r} in zone {zone!r} of {self.owner}'s database")
        self.undeliverable[(zone, record)] = reason

    def expire_sync_tokens(self, zone: str | None = None) -> None:
        """Make every token issued so far (for one zone, or all zones and the database) expire."""
        zones = [self.zone(zone)] if zone else list(self.zones.values())
        for z in zones:
            z.generation += 1
        if zone is None:
            self.generation += 1

    def records_count(self) -> int:
        return sum(z.live_count() for z in self.zones.values())
