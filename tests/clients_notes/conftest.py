"""A database holding the notes app's tables (apps/notes.yaml), one per worker."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def notes_database(pg_server, worker_id):
    db = pg_server.new_database(f"{worker_id}_notes", app="notes")
    yield db
    pg_server.drop_database(db)
