"""Root conftest: the suite's pytest plugins, one per layer."""

pytest_plugins = [
    "pytester",
    "fakes.postgres.pytest_plugin",
    "fakes.supabase.pytest_plugin",
    "fakes.cloudkit.pytest_plugin",
    "harness.pytest_plugin",
]
