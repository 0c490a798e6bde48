"""PostgREST's in-database configuration, read as v14 reads it (Config/Database.hs, queryDbSettings).

    alter role authenticator [in database d] set pgrst.db_tx_end = 'commit-allow-override';
    notify pgrst, 'reload config';

The settings are the connecting role's (`authenticator`), a database-specific one before a global
one; a setting on the database alone counts for nothing. PostgREST reads them at start-up and on
`NOTIFY pgrst, 'reload config'`. An invalid value stops it at start-up; on a reload it logs "Failed
reloading config: ..." and keeps the whole previous configuration.

So far the gateway takes `db_tx_end` from here (db_aggregates_enabled and db_plan_enabled are read
with the schema cache and per request).
"""

from __future__ import annotations

import dataclasses

# PostgREST's own list (dbSettingsNames), without the `pgrst.` prefix.
SETTING_NAMES = ("db_aggregates_enabled", "client_error_verbosity", "db_anon_role", "db_pre_config",
                 "db_extra_search_path", "db_max_rows", "db_plan_enabled", "db_pre_request",
                 "db_prepared_statements", "db_root_spec", "db_schemas", "db_tx_end", "db_hoisted_tx_settings",
                 "jwt_aud", "jwt_role_claim_key", "jwt_secret", "jwt_secret_is_base64", "jwt_cache_max_lifetime",
                 "openapi_mode", "openapi_security_active", "openapi_server_proxy_uri",
                 "server_cors_allowed_origins", "server_trace_header", "server_timing_enabled",
                 "url_use_legacy_target_names")

SETTINGS_SQL = """
with role_setting as (
  select setdatabase as database, unnest(setconfig) as setting
  from pg_catalog.pg_db_role_setting
  where setrole = quote_ident(current_user)::regrole::oid
    and setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_catalog))
), kv_settings as (
  select database, substr(setting, 1, strpos(setting, '=') - 1) as k, substr(setting, strpos(setting, '=') + 1) as v
  from role_setting
)
select distinct on (key) replace(k, 'pgrst.', '') as key, v as value
from kv_settings
where k = any(%s) and v is not null
order by key, database desc nulls last
"""

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
    """The connecting role's pgrst.* settings, names without the prefix."""
    names = [f"pgrst.{n}" for n in SETTING_NAMES]
    return dict(await (await conn.execute(SETTINGS_SQL, (names,))).fetchall())


def read_sync(conn) -> dict[str, str]:
    names = [f"pgrst.{n}" for n in SETTING_NAMES]
    return dict(conn.execute(SETTINGS_SQL, (names,)).fetchall())
