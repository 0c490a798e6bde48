"""Gateway unit and integration tests. The fixtures come from fakes.supabase.pytest_plugin (imported
here until the root conftest registers the plugin)."""

from fakes.supabase.pytest_plugin import (supabase_client, supabase_gateway, supabase_loop,  # noqa: F401
                                          supabase_server, supabase_session_gateway, supabase_session_server)
