"""PostgREST's in-database configuration, read as v14 reads it (Config/Database.hs, queryDbSettings).

    alter role authenticator [in database d] set pgrst.db_tx_end = 'commit-allow-override';
    notify pgrst, 'reload config';

The settings are the connecting role's (`authenticator`), a database-specific one before a global
one; a setting on the database alone counts for nothing. PostgREST reads them at start-up and on
`NOTIFY pgrst, 'reload config'`. An invalid value stops it at start-up; on a reload it logs "Failed
reloading config: ..." and keeps the whole previous configuration.

The settings are read with schema.DB_SETTINGS_SQL; the gateway takes `db_tx_end` from here
(db_schemas, db_extra_search_path and db_aggregates_enabled are read with the schema cache,
db_plan_enabled per request).
"""

from __future__ import annotations

import dataclasses

from .schema import DB_SETTINGS_SQL, db_settings

# db-tx-end -> (roll back every transaction, a request may override with Prefer: tx=...)
TX_END = {"commit": (False, False), "commit-allow-override": (False, True),
          "rollback": (True, False), "rollback-allow-override": (True, True)}


class ConfigError(ValueError):
    """A value PostgREST refuses; str() is its message."""


@dataclasses.dataclass(frozen=True)
class DbConfig:
    tx_rollback_all: bool = False       # db-tx-end rollback / rollback-allow-override
    tx_allow_override: bool = False     # db-tx-end *-allow-override: Prefer: tx= is applied

    @property
    def tx_end(self) -> str:
        return next(k for k, v in TX_END.items() if v == (self.tx_rollback_all, self.tx_allow_override))

    def rolls_back(self, prefer_tx: str | None) -> bool:
        """v14's optionalRollback: tx=rollback (only ever given under an override), or rollback-all
        unless tx=commit."""
        return prefer_tx == "rollback" or (self.tx_rollback_all and prefer_tx != "commit")


def parse(settings: dict[str, str], tx_end_default: str = "commit") -> DbConfig:
    """The settings (names without `pgrst.`) as PostgREST parses them: a database setting beats the
    gateway's own (`tx_end_default`, PostgREST's PGRST_DB_TX_END), and an empty one means PostgREST's
    default, commit (v14's optString drops ""); anything but the four db-tx-end values is refused
    with PostgREST's message."""
    tx_end = settings.get("db_tx_end", tx_end_default) or "commit"
    if tx_end not in TX_END:
        raise ConfigError("Invalid transaction termination. Check your configuration.")
    return DbConfig(*TX_END[tx_end])


async def read(conn) -> dict[str, str]:
    """The connecting role's pgrst.* settings, names without the prefix (schema.db_settings)."""
    return await db_settings(conn)


def read_sync(conn) -> dict[str, str]:
    return dict(conn.execute(DB_SETTINGS_SQL).fetchall())
