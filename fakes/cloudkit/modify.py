"""records/modify and records/lookup: the seven operation types, tags, atomic batches.

A request is checked whole first (shape, names, limits: any problem is a BAD_REQUEST and nothing
changes), then each operation is judged against the current state, then, unless an atomic batch
failed, the successful ones are applied in array order. One operation per record makes judging
before applying exact.
"""

from __future__ import annotations

import dataclasses

from .errors import CloudKitError, bad_request
from .records import Record, check_record_name, check_type_name, parse_fields

OP_TYPES = ("create", "update", "forceUpdate", "replace", "forceReplace", "delete", "forceDelete")
TAGGED = ("update", "replace")           # a recordChangeTag is required


@dataclasses.dataclass
class Op:
    kind: str
    name: str
    rtype: str | None
    tag: str | None
    fields: dict
    desired_keys: list | None


class ModifyOps:
    # -- records/modify ----------------------------------------------------------------------

    def records_modify(self, body: dict, device: str = "web") -> dict:
        """Returns {"records": [...]} plus "_status" when an atomic batch failed with 400."""
        zone_name, ops = self._parse_modify(body)
        top_keys = _desired(body.get("desiredKeys"))
        for op in ops:
            op.desired_keys = op.desired_keys if op.desired_keys is not None else top_keys
        zone = self.zone(zone_name)
        atomic = self._atomic(body, zone)
        verdicts = [self._judge(zone, op) for op in ops]
        if atomic and any(isinstance(v, dict) for v in verdicts):
            return self._atomic_failure(ops, verdicts)
        stamp = self.stamp(device)
        results = [v if isinstance(v, dict) else self._apply(zone, op, stamp) for op, v in zip(ops, verdicts)]
        return {"records": results}

    def _parse_modify(self, body: dict) -> tuple[str, list[Op]]:
        raw_ops = _bounded_list(body, "operations", self.container.config.max_operations,
                                "records/modify needs an 'operations' list", "operations in one request")
        zone_name = self._request_zone(body, raw_ops)
        ops = [self._parse_op(raw) for raw in raw_ops]
        names = [op.name for op in ops]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise bad_request(f"record {dup!r} appears in more than one operation; one operation per record")
        return zone_name, ops

    def _request_zone(self, body: dict, raw_ops: list) -> str:
        """The request's zone: its zoneID, else the records' common zoneID, else the default zone."""
        per_record = {self.zone_name(op["record"]["zoneID"]) for op in raw_ops
                      if isinstance(op, dict) and isinstance(op.get("record"), dict) and "zoneID" in op["record"]}
        top = self.zone_name(body.get("zoneID")) if body.get("zoneID") is not None else None
        zones = per_record | ({top} if top else set())
        if len(zones) > 1:
            raise bad_request(f"one records/modify request writes one zone, got {sorted(zones)}")
        return zones.pop() if zones else self.zone_name(None)

    def _parse_op(self, raw: object) -> Op:
        if not isinstance(raw, dict):
            raise bad_request("each operation must be an object with operationType and record")
        kind = raw.get("operationType")
        if kind not in OP_TYPES:
            raise bad_request(f"unknown operationType {str(kind)[:40]!r}; expected one of {', '.join(OP_TYPES)}")
        rec = raw.get("record")
        if not isinstance(rec, dict):
            raise bad_request(f"{kind} operation needs a 'record' object")
        name = rec.get("recordName")
        if name is None and kind == "create":
            name = self.container.new_record_name()
        check_record_name(name)
        rtype = rec.get("recordType")
        if rtype is not None or kind == "create":
            check_type_name(rtype)
        tag = rec.get("recordChangeTag")
        if tag is not None and not isinstance(tag, str):
            raise bad_request(f"recordChangeTag of {name!r} must be a string")
        desired = _desired(raw.get("desiredKeys", rec.get("desiredKeys")))
        fields = parse_fields(rec.get("fields")) if kind not in ("delete", "forceDelete") else {}
        return Op(kind, name, rtype, tag, fields, desired)

    def _atomic(self, body: dict, zone) -> bool:
        flag = body.get("atomic")
        if flag is not None and not isinstance(flag, bool):
            raise bad_request("atomic must be true or false")
        if zone.is_default:
            if flag:
                raise bad_request("atomic operations not supported in default zone")
            return False
        return True if flag is None else flag

    # -- judging one operation against the current state -------------------------------------

    def _judge(self, zone, op: Op):
        """None if the operation can apply, else its per-record error dict."""
        existing = zone.live(op.name)
        fault = self.container.record_faults.take(self.user_id, self.env, zone.name, op.name, op.kind)
        if fault is not None:
            return self._injected(op, fault, existing, zone)
        if op.kind in TAGGED and op.tag is None:
            return self._error(op, "BAD_REQUEST", f"recordChangeTag is required for {op.kind}")
        if existing is None:
            return self._judge_missing(op)
        if op.kind == "create":
            code = self.container.config.create_existing_code
            return self._conflict(op, existing, zone, code, f"record {op.name!r} already exists")
        if op.rtype is not None and op.rtype != existing.type:
            return self._error(op, "BAD_REQUEST", f"record {op.name!r} is a {existing.type}, not a {op.rtype}")
        if op.kind in ("update", "replace", "delete") and op.tag is not None and op.tag != existing.tag:
            return self._conflict(op, existing, zone, "CONFLICT",
                                  f"recordChangeTag {op.tag!r} is stale; the server has {existing.tag!r}")
        return self._schema_error(op, existing.type)

    def _injected(self, op: Op, fault, existing: Record | None, zone) -> dict:
        """A per-record fault from the control plane: its code (and retryAfter); a CONFLICT or
        EXISTS carries the server's record, as a real save conflict does."""
        if fault.code in ("CONFLICT", "EXISTS") and existing is not None:
            err = self._conflict(op, existing, zone, fault.code, fault.reason)
        else:
            err = self._error(op, fault.code, fault.reason)
        if fault.retry_after is not None:
            err["retryAfter"] = fault.retry_after
        return err

    def _judge_missing(self, op: Op):
        if op.kind in ("update", "replace"):
            return self._error(op, "NOT_FOUND", f"record {op.name!r} does not exist")
        if op.kind == "delete":
            return self._error(op, self.container.config.delete_missing_code, f"record {op.name!r} does not exist")
        if op.rtype is None and op.kind != "forceDelete":
            return self._error(op, "BAD_REQUEST", f"recordType is required to create record {op.name!r}")
        return self._schema_error(op, op.rtype)

    def _schema_error(self, op: Op, rtype: str | None):
        problem = self.container.schema_problem(self.env, rtype, op.fields) if rtype else None
        return self._error(op, "BAD_REQUEST", problem) if problem else None

    def _error(self, op: Op, code: str, reason: str) -> dict:
        return CloudKitError.item(code, reason, recordName=op.name)

    def _conflict(self, op: Op, existing: Record, zone, code: str, reason: str) -> dict:
        err = self._error(op, code, reason)
        # Not a record-shaped top level: a client that skips serverErrorCode must not mistake it for a save.
        err["serverRecord"] = existing.render(zone.zone_id())
        return err

    def _atomic_failure(self, ops: list[Op], verdicts: list) -> dict:
        results = [v if isinstance(v, dict) else self._error(
            op, "ATOMIC_ERROR", "another operation in this atomic batch failed; nothing was saved")
            for op, v in zip(ops, verdicts)]
        out = {"records": results}
        if self.container.config.atomic_failure_status != 200:
            out["_status"] = self.container.config.atomic_failure_status
        return out

    # -- applying ---------------------------------------------------------------------------

    def _apply(self, zone, op: Op, stamp: tuple) -> dict:
        existing = zone.live(op.name)
        self.undeliverable.pop((zone.name, op.name), None)   # a new save heals the record
        if op.kind in ("delete", "forceDelete"):
            if existing is not None:
                zone.tombstone(existing, stamp, self.container.new_tag())
                self.record_changed(zone, existing, "delete")
            return {"recordName": op.name, "deleted": True, "zoneID": zone.zone_id()}
        if existing is None:
            rec = Record(op.name, op.rtype, _without_nulls(op.fields), self.container.new_tag(), stamp, 0)
            zone.put(rec)
        else:
            rec = existing
            merged = dict(rec.fields) if op.kind in ("update", "forceUpdate") else {}
            merged.update(op.fields)
            rec.fields, rec.modified, rec.tag = _without_nulls(merged), stamp, self.container.new_tag()
            zone.changed(rec)
        self.container.learn_schema(self.env, rec.type, op.fields)
        self.record_changed(zone, rec, "save")
        return rec.render(zone.zone_id(), op.desired_keys)

    # -- records/lookup ---------------------------------------------------------------------

    def records_lookup(self, body: dict, device: str = "web") -> dict:
        wanted = _bounded_list(body, "records", self.container.config.max_lookup,
                               "records/lookup needs a 'records' list of {recordName}", "records in one lookup")
        names = [check_record_name(r.get("recordName") if isinstance(r, dict) else None) for r in wanted]
        desired = _desired(body.get("desiredKeys"))
        zone = self.zone(self.zone_name(body.get("zoneID")))
        return {"records": [self._lookup_one(zone, n, desired) for n in names]}

    def _lookup_one(self, zone, name: str, desired) -> dict:
        rec = zone.live(name)
        if rec is None:
            return CloudKitError.item("NOT_FOUND", f"record {name!r} does not exist", recordName=name)
        return rec.render(zone.zone_id(), desired)


def _bounded_list(body: dict, key: str, limit: int, missing: str, what: str) -> list:
    items = body.get(key)
    if not isinstance(items, list):
        raise bad_request(missing)
    if len(items) > limit:
        raise bad_request(f"too many {what} ({len(items)} > {limit}); split the batch")
    return items


def _desired(raw):
    if raw is not None and not (isinstance(raw, list) and all(isinstance(k, str) for k in raw)):
        raise bad_request("desiredKeys must be a list of field names")
    return raw


def _without_nulls(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if v[1] is not None}
