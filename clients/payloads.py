"""Realistic record values for the fitness app, from faker, decided by a seed."""

from __future__ import annotations

import random
from typing import Any, Callable

from faker import Faker


def _profile(f: Faker, r: random.Random) -> dict[str, Any]:
    return {"display_name": f.name(), "birth_year": r.randint(1950, 2008),
            "height_cm": r.randint(150, 200), "goal": r.choice(["lose", "maintain", "gain"])}


def _daily_log(f: Faker, r: random.Random) -> dict[str, Any]:
    return {"date": f.date_this_year().isoformat(), "calories": r.randint(1200, 3500),
            "steps": r.randint(500, 25000), "weight_kg": round(r.uniform(50, 110), 1), "note": f.sentence()}


def _weekly_snapshot(f: Faker, r: random.Random) -> dict[str, Any]:
    return {"week": f"{r.randint(2025, 2026)}-W{r.randint(1, 52):02d}", "avg_weight_kg": round(r.uniform(50, 110), 1),
            "workouts": r.randint(0, 10), "summary": f.sentence()}


def _cardio_session(f: Faker, r: random.Random) -> dict[str, Any]:
    return {"kind": r.choice(["run", "ride", "row", "swim"]), "started_at": f.date_time_this_year().isoformat(),
            "minutes": r.randint(10, 120), "distance_km": round(r.uniform(1, 60), 2), "avg_hr": r.randint(100, 180)}


def _photo(f: Faker, r: random.Random) -> dict[str, Any]:
    return {"file_name": f.file_name(extension="heic"), "taken_at": f.date_time_this_year().isoformat(),
            "width": r.choice([3024, 4032]), "height": r.choice([3024, 4032]), "caption": f.sentence(nb_words=4)}


MAKERS: dict[str, Callable[[Faker, random.Random], dict[str, Any]]] = {
    "profiles": _profile, "daily_logs": _daily_log, "weekly_snapshots": _weekly_snapshot,
    "cardio_sessions": _cardio_session, "photos": _photo,
}


class PayloadFactory:
    """Same seed, same sequence of values."""

    def __init__(self, seed: int | str):
        self._faker = Faker()
        self._faker.seed_instance(seed)
        self._random = random.Random(f"payloads:{seed}")

    def fields(self, record_type: str) -> dict[str, Any]:
        if record_type not in MAKERS:
            raise ValueError(f"unknown record type {record_type!r}: use one of {sorted(MAKERS)}")
        return MAKERS[record_type](self._faker, self._random)
