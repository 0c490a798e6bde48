"""The REST operations: each parses its request, builds one statement and runs it in one transaction.

`Operations` is bound to a gateway (config, schema cache, pools, control plane); `app.py` routes to
it. Names follow PostgREST's documented operations.
"""

from __future__ import annotations

import dataclasses

from starlette.requests import Request
from starlette.responses import Response

from . import media, rest, rpc, statements
from .errors import ApiError, invalid_json, not_implemented
from .errors import singular as singular_error

# Preference-Applied per operation, as v14's responsePreferences filters them (timezone: always).
PREFER_FOR_READ = ("count", "handling")
PREFER_FOR_WRITE = ("resolution", "missing", "return", "count", "handling")      # POST
PREFER_FOR_UPDATE = ("missing", "return", "count", "handling", "max-affected")
PREFER_FOR_DELETE = ("return", "count", "handling", "max-affected")
PREFER_FOR_PUT = ("return", "count", "handling")


class Operations:
    def __init__(self, gateway):
        self.gw = gateway

    # ---- tables ----------------------------------------------------------------------------

    async def _parse(self, request: Request, table_name: str, ctx):
        """What every table operation reads first: the table (in the request's schema), Accept, query
        string and Prefer."""
        table = await self.gw.table(table_name, schema=ctx.schema)
        chosen = await self.negotiated(request, ctx)
        p = rest.parse_params(request.query_params.multi_items())
        await self.gw.refuse_aggregates(p.select)
        p.plan = await self.gw.embed_plan(table.name, table, p.select, p.nested, p.order)
        return table, chosen, p, await self.preferences(request, ctx)

    async def negotiated(self, request: Request, ctx=None):
        """Accept -> the reply's media type (a plan one puts the EXPLAIN on `ctx`); where none is built
        in but the database defines a custom media type handler for one that was asked for, a loud
        501 (the gateway does not run them)."""
        accept = request.headers.get("accept")
        try:
            chosen = rest.negotiated(request, media.wants_plan(accept) and await self.gw.plan_enabled())
        except ApiError as exc:
            offered = [media.decode(t) for t in media.accept_order(request.headers.get("accept", ""))]
            names = [f"{main}/{sub}" for main, sub, _ in offered if sub]
            if names and await self.gw.media_handler_exists(names):
                raise not_implemented(f"custom media type handlers (Accept: {request.headers.get('accept')})") from exc
            raise
        if chosen.kind == "plan" and ctx is not None:
            ctx.plan = chosen
        return chosen

    async def preferences(self, request: Request, ctx=None) -> dict:
        """Prefer; a `timezone=` PostgreSQL knows becomes the transaction's TimeZone; the database's
        db-tx-end and `tx=` (when it allows an override) decide how the transaction ends."""
        headers = request.headers.getlist("prefer")
        zones = await self.gw.timezones() if any("timezone=" in h for h in headers) else frozenset()
        config = await self.gw.in_db_config()
        prefs = rest.parse_prefer(headers, zones, allow_tx=config.tx_allow_override)
        if ctx is not None:
            ctx.timezone = prefs.get("timezone")
            ctx.rollback = config.rolls_back(prefs.get("tx"))
        return prefs

    async def _body(self, request: Request):
        return rest.read_body(await self.gw.read_limited(request), request.headers.get("content-type", ""))

    async def read_rows(self, request: Request, ctx, table_name: str) -> Response:
        table, chosen, p, prefs = await self._parse(request, table_name, ctx)
        limit, offset = self._range(request, p)
        head = request.method == "HEAD"
        count, max_rows = prefs.get("count"), self.gw.config.max_rows
        shape = statements.Shape(p.select, p.filters, p.order, limit, offset, count in ("exact", "estimated"),
                                 body=not head, plan=p.plan, **rest.media_fields(chosen),
                                 count_limit=max_rows + 1 if count == "estimated" and max_rows else None)
        explain = statements.count_plan(table, shape) if count in ("planned", "estimated") else None
        rows, total, _, body = await self.gw.execute(ctx, "read", table.name, self.gw.statements.read(table, shape),
                                                     read_only=True, check=self._single_check(chosen.singular),
                                                     explain=explain)
        planned = ctx.response.get("plan_rows")
        if count == "planned":
            total = planned
        elif count == "estimated" and planned is not None and (max_rows is None or total > max_rows):
            total = max(total, planned)         # v14: the planner's guess only past max-rows
        status = rest.read_status(offset, rows, total)
        headers = {"Content-Range": rest.content_range(offset, rows, total),
                   "Content-Location": rest.content_location(table.name, request.query_params.multi_items()),
                   **rest.applied(prefs, PREFER_FOR_READ)}
        return rest.respond(status, None if head else body, headers, chosen, typed=True)

    def _range(self, request: Request, p: rest.Params, methods: tuple[str, ...] = ("GET", "HEAD")
               ) -> tuple[int | None, int]:
        """limit/offset, narrowed by a Range header on `methods` (PostgREST reads it on GET and HEAD of a
        table, on GET only of a function), and max-rows when nothing limits the read."""
        limit, offset = p.limit, p.offset
        header = request.headers.get("range") if request.method in methods else None
        parsed = rest.grammar.parse_range_header(header) if header else None
        if parsed:
            offset = offset + parsed[0]
            if parsed[1] is not None:
                limit = parsed[1] if limit is None else min(limit, parsed[1])
        if limit is None and self.gw.config.max_rows:
            limit = self.gw.config.max_rows
        return limit, offset

    async def insert_rows(self, request: Request, ctx, table_name: str) -> Response:
        table, chosen, p, prefs = await self._parse(request, table_name, ctx)
        body = await self._body(request)
        if body is None:
            raise invalid_json()
        rows, columns = rest.payload_rows(body, p.columns)
        table = await self.gw.table(table_name, columns, ctx.schema)
        rest.check_columns(table, columns)
        conflict = p.on_conflict or list(table.primary_key)
        resolution = prefs.get("resolution") if conflict else None
        returning = prefs.get("return", "minimal")
        stmt = self._insert_statement(table, columns, rows, p, prefs, chosen, resolution, conflict)
        count, _, inserted, out = await self.gw.execute(ctx, "upsert" if resolution else "insert", table.name, stmt,
                                                        read_only=False, check=self._write_check(chosen.singular, prefs))
        status = 200 if resolution == "merge-duplicates" and count and not inserted else 201
        headers = {"Content-Range": f"*/{count if rest.counts(prefs) else '*'}"}
        headers.update(rest.applied(prefs, PREFER_FOR_WRITE if resolution else PREFER_FOR_WRITE[1:]))
        if returning == "headers-only":
            headers.update(rest.location(table, out))
        return rest.respond(status, out if returning == "representation" else None, headers, chosen)

    def _insert_statement(self, table, columns, rows, p, prefs, chosen, resolution, conflict):
        missing_default = prefs.get("missing") == "default"
        shape = self._write_shape(p, prefs, chosen, prefs.get("return", "minimal"), table)
        return self.gw.statements.insert(table, columns, rows, shape, resolution=resolution, conflict=conflict,
                                 missing_default=missing_default)

    def _write_shape(self, p, prefs, chosen, returning, table) -> statements.Shape:
        select = p.select
        if returning == "headers-only":
            select = [rest.grammar.SelectItem(rest.grammar.Field(k)) for k in table.primary_key]
        fields = rest.media_fields(chosen) if returning == "representation" else {"singular": chosen.singular}
        return statements.Shape(select, p.filters, p.order, p.limit, 0, False,
                                body=returning in ("representation", "headers-only"),
                                plan=p.plan if returning == "representation" else None, **fields)

    async def update_rows(self, request: Request, ctx, table_name: str) -> Response:
        table, chosen, p, prefs = await self._parse(request, table_name, ctx)
        body = await self._body(request)
        if not isinstance(body, dict):
            raise invalid_json()
        columns = [c for c in (p.columns or list(body))]
        table = await self.gw.table(table_name, columns, ctx.schema)
        rest.check_columns(table, columns)
        self._safe_update(p, "UPDATE")
        returning = prefs.get("return", "minimal")
        shape = self._write_shape(p, prefs, chosen, returning, table)
        if not columns:
            return rest.respond(200 if returning == "representation" else 204,
                                "[]" if returning == "representation" else None,
                                {"Content-Range": "*/*", **rest.applied(prefs, PREFER_FOR_UPDATE)})
        stmt = self.gw.statements.update(table, columns, {k: body[k] for k in columns if k in body}, shape,
                                 missing_default=prefs.get("missing") == "default")
        count, _, _, out = await self.gw.execute(ctx, "update", table.name, stmt, read_only=False,
                                                 check=self._write_check(chosen.singular, prefs))
        return self._changed(count, out, prefs, returning, chosen, PREFER_FOR_UPDATE)

    async def delete_rows(self, request: Request, ctx, table_name: str) -> Response:
        table, chosen, p, prefs = await self._parse(request, table_name, ctx)
        self._safe_update(p, "DELETE")
        returning = prefs.get("return", "minimal")
        shape = self._write_shape(p, prefs, chosen, returning, table)
        count, _, _, out = await self.gw.execute(ctx, "delete", table.name, self.gw.statements.delete(table, shape),
                                                 read_only=False, check=self._write_check(chosen.singular, prefs))
        return self._changed(count, out, prefs, returning, chosen, PREFER_FOR_DELETE, ranged=False)

    async def put_row(self, request: Request, ctx, table_name: str) -> Response:
        """PUT: a single-row upsert addressed by its whole primary key."""
        table, chosen, p, prefs = await self._parse(request, table_name, ctx)
        if p.limit is not None or p.offset:
            raise ApiError(400, "PGRST114", "limit/offset querystring parameters are not allowed for PUT")
        keys = self._put_keys(table, p)
        body = await self._body(request)
        rows = [body] if isinstance(body, dict) else body
        if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
            raise invalid_json()
        row = rows[0]
        table = await self.gw.table(table_name, list(row), ctx.schema)
        rest.check_columns(table, list(row))
        if any(k not in row or str(row[k]) != v for k, v in keys.items()):
            raise ApiError(400, "PGRST115", "Payload values do not match URL in primary key column(s)")
        returning = prefs.get("return", "minimal")
        shape = self._write_shape(dataclasses.replace(p, filters=[]), prefs, chosen, returning, table)
        stmt = self.gw.statements.insert(table, list(row), [row], shape, resolution="merge-duplicates",
                                 conflict=list(table.primary_key),
                                 missing_default=prefs.get("missing") == "default")
        count, _, inserted, out = await self.gw.execute(ctx, "upsert", table.name, stmt, read_only=False,
                                                        check=self._write_check(chosen.singular, prefs))
        if returning != "representation":
            return rest.respond(204, None, rest.applied(prefs, PREFER_FOR_PUT))
        return rest.respond(201 if inserted else 200, out, rest.applied(prefs, PREFER_FOR_PUT), chosen)

    @staticmethod
    def _put_keys(table, p: rest.Params) -> dict[str, str]:
        conditions = [f for f in p.filters if isinstance(f, rest.grammar.Condition)]
        keys = {c.field.name: c.value for c in conditions if c.op == "eq" and not c.negated and not c.field.path}
        if len(conditions) != len(p.filters) or len(keys) != len(p.filters) or set(keys) != set(table.primary_key) \
                or not table.primary_key:
            raise ApiError(405, "PGRST105", "Filters must include all and only primary key columns with 'eq' operators")
        return keys

    def _changed(self, count, out, prefs, returning, chosen, used, ranged: bool = True) -> Response:
        """PATCH and DELETE replies; v14 gives PATCH `0-(n-1)/total` and DELETE always `*/total`."""
        total = str(count) if rest.counts(prefs) else "*"
        headers = {"Content-Range": f"0-{count - 1}/{total}" if count and ranged else f"*/{total}"}
        headers.update(rest.applied(prefs, used))
        if returning == "representation":
            return rest.respond(200, out, headers, chosen)
        return rest.respond(204, None, headers)

    @staticmethod
    def _safe_update(p: rest.Params, verb: str) -> None:
        """pg-safeupdate, which Supabase loads for `authenticator`: no WHERE clause, no write."""
        if not p.filters:
            raise ApiError(400, "21000", f"{verb} requires a WHERE clause")

    @staticmethod
    def _single_check(singular: bool):
        def check(row):
            if singular and row[0] != 1:
                raise singular_error(row[0])
        return check

    @staticmethod
    def _write_check(singular: bool, prefs: dict):
        limit = int(prefs["max-affected"]) if prefs.get("handling") == "strict" and "max-affected" in prefs else None

        def check(row):
            if singular and row[0] != 1:
                raise singular_error(row[0])
            if limit is not None and row[0] > limit:
                raise ApiError(400, "PGRST124", "Query result exceeds max-affected preference constraint",
                               f"The query affects {row[0]} rows")
        return check

    async def describe_table(self, request: Request, ctx, table_name: str) -> Response:
        """OPTIONS: the methods the relation takes, as v14's RelInfoPlan lists them."""
        table = await self.gw.table(table_name, schema=ctx.schema)
        allow = "OPTIONS,GET,HEAD" + (",POST" + (",PUT" if table.primary_key else "") + ",PATCH,DELETE"
                                      if table.insertable else "")
        return info_response(allow)

    async def describe_function(self, request: Request, ctx, name: str) -> Response:
        """OPTIONS on /rpc/<fn>: the function is found as a GET would find it (its query-string
        arguments; PGRST202/203 otherwise); POST only for a volatile one (v14's RoutineInfoPlan)."""
        function = await self.gw.function(rpc.read_get(name, request.url.query).lookup, ctx.schema)
        allow = "OPTIONS,POST" if function.volatile else "OPTIONS,GET,HEAD,POST"
        return info_response(allow)

    # ---- functions -------------------------------------------------------------------------

    async def call_function(self, request: Request, ctx, name: str) -> Response:
        if request.method not in ("GET", "HEAD", "POST"):
            raise ApiError(405, "PGRST101", f"Cannot use the {request.method} method on RPC")
        chosen = await self.negotiated(request, ctx)
        singular = chosen.singular
        raw_query = request.url.query
        if request.method == "POST":
            body = await self.gw.read_limited(request)
            call = rpc.read_post(name, raw_query, body, request.headers.get("content-type", ""))
        else:
            call = rpc.read_get(name, raw_query)
        function = await self.gw.function(call.lookup, ctx.schema)
        p = rest.parse_params(call.query)
        prefs = await self.preferences(request, ctx)
        rpc.check_max_affected(prefs, function)
        await self.gw.refuse_aggregates(p.select)
        plan = await self._function_embeds(function, p, ctx.schema)
        limit, offset = self._range(request, p, ("GET",))
        shape = statements.Shape(p.select, p.filters, p.order, limit, offset, rest.counts(prefs),
                                 body=request.method != "HEAD", plan=plan, **rest.media_fields(chosen))
        stmt = statements.call(function, rpc.arguments(function, call), shape)
        read_only = request.method != "POST" or not function.volatile
        check = self._write_check(singular and function.returns_set, prefs)
        rows, total, _, out = await self.gw.execute(ctx, "rpc", name, stmt, read_only=read_only, check=check)
        strict = prefs.get("handling") == "strict"
        rows = 1 if function.returns_single else rows       # a value (or its null) is one row, as in PostgREST
        status, content_range = rpc.content_range(offset, rows, total)
        headers = {"Content-Range": content_range,
                   **rest.applied(prefs, ("count", "handling", "max-affected") if strict else ("count", "handling"))}
        if function.returns_void:
            return rest.respond(204, None, headers)
        return rest.respond(status, "" if request.method == "HEAD" else out, headers, chosen)

    async def _function_embeds(self, function, p: rest.Params, schema: str | None):
        """Embeds on a function's result: its rows are the returned table's, embedded from there."""
        named = rest.embeds(p) + [path[0] for path, _, _ in p.nested] + [t.relation for t in p.order if t.relation]
        aggregated = rest.grammar.aggregates_in(p.select)
        if not named and not aggregated:
            return None
        name = function.return_type.rsplit(".", 1)[-1].strip('"')
        table = (await self.gw.catalog()).of(schema).tables.get(name) if function.returns_composite else None
        if table is None and not named:
            raise not_implemented("aggregate functions over a function that returns no table's rows")
        if table is None:
            raise ApiError(400, "PGRST200", f"Could not find a relationship between '{function.name}' and "
                           f"'{named[0]}' in the schema cache",
                           f"The function {function.schema}.{function.name} does not return the rows of a table "
                           "or view, so nothing can be embedded on its result.")
        return await self.gw.embed_plan(name, table, p.select, p.nested, p.order)


def info_response(allow: str) -> Response:
    """An OPTIONS answer as v14's respondInfo gives it: no body, Allow, any origin."""
    return Response(status_code=200, headers={"Access-Control-Allow-Origin": "*", "Allow": allow})
