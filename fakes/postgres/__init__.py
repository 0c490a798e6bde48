"""A real PostgreSQL with the Supabase-shaped schema, from whichever provider the machine offers.

    server = start_server("embedded")        # or "docker", "auto", "postgresql://..."
    db = server.new_database("w0")           # a clone of the schema template
    ...
    server.drop_database(db); server.stop()
"""

from __future__ import annotations

import dataclasses
import json

import psycopg

from .. import stops
from . import database
from .base import ConnInfo, ProviderError, server_version
from .database import Database
from .select import make_provider, spec_from_env, validate

__all__ = ["Server", "start_server", "Database", "ConnInfo", "ProviderError", "spec_from_env", "validate"]


@dataclasses.dataclass
class Server:
    """A started server, prepared once: schema template built, `authenticator` able to log in.

    Plain data (it crosses to pytest-xdist workers as JSON); only the process that started it holds
    the provider and may stop it.
    """

    provider_name: str
    admin: ConnInfo
    authenticator: ConnInfo
    version: str
    template: str
    detail: str = ""
    provider: object = dataclasses.field(default=None, repr=False, compare=False)
    _admin_conn: psycopg.Connection | None = dataclasses.field(default=None, repr=False, compare=False)

    def admin_connection(self) -> psycopg.Connection:
        if self._admin_conn is None or self._admin_conn.closed:
            self._admin_conn = psycopg.connect(self.admin.dsn(), autocommit=True)
        return self._admin_conn

    def new_database(self, label: str) -> Database:
        return database.clone(self.admin_connection(), self.admin, self.authenticator, self.template, label,
                              self.provider_name)

    def drop_database(self, db: Database) -> None:
        database.drop(self.admin_connection(), db)

    def stop(self) -> None:
        if self._admin_conn is not None:
            self._admin_conn.close()
        if self.provider is not None:
            self.provider.stop()

    def to_json(self) -> str:
        # asdict would deep-copy the live provider and connection: send the plain fields only
        data = dataclasses.asdict(dataclasses.replace(self, provider=None, _admin_conn=None))
        data.pop("provider"), data.pop("_admin_conn")
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> "Server":
        data = json.loads(text)
        data["admin"], data["authenticator"] = ConnInfo(**data["admin"]), ConnInfo(**data["authenticator"])
        return cls(**data)

    def describe(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"postgres: provider={self.provider_name}{detail} version={self.version} dsn={self.admin.redacted()}"


def start_server(spec: str | None = None, extra_sql=()) -> Server:
    """Start (or connect to) a server and prepare it; on any failure nothing is left running.

    From here on SIGTERM and SIGHUP interrupt this process as Ctrl-C does (`fakes.stops`), so the
    `finally` that stops the server runs whichever of them ends the run."""
    stops.install()
    provider = make_provider(spec or spec_from_env())
    info = provider.start()
    try:
        template = database.ensure_template(info, extra_sql)
        return Server(provider.name, info, database.authenticator_login(info), server_version(info), template,
                      getattr(provider, "detail", ""), provider)
    except BaseException:
        provider.stop()
        raise
