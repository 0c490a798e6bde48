"""Root conftest: the suite's pytest plugins, one per layer."""

pytest_plugins = [
    "pytester",
    "dualsync.fakes.postgres.pytest_plugin",
    "dualsync.fakes.supabase.pytest_plugin",
    "dualsync.fakes.cloudkit.pytest_plugin",
    "dualsync.harness.pytest_plugin",
]
