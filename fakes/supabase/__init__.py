"""A Supabase-compatible gateway (PostgREST + GoTrue subset) over a real PostgreSQL.

    from dualsync.fakes.supabase import Gateway, GatewayConfig
    gw = Gateway(GatewayConfig(rest_dsn=db.authenticator.dsn(), admin_dsn=db.admin.dsn()))
    httpx.AsyncClient(transport=httpx.ASGITransport(gw.app), base_url="http://gateway")
"""

from .db import RequestInfo
from .errors import ApiError, AuthError
from .gateway import Gateway, GatewayConfig
from .tokens import DEFAULT_SECRET, api_key

__all__ = ["Gateway", "GatewayConfig", "RequestInfo", "ApiError", "AuthError", "DEFAULT_SECRET", "api_key"]
