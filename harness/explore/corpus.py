"""The regression corpus: shrunk failures as scenario files, replayed before anything new is tried.

A failure becomes a scenario in the harness's own format (`dualsync.harness.scenario`), so it is
reviewable, diffable and replayable with `python -m dualsync.harness replay`. Every client is expected to
pass it; `guards` names what the client it was found on broke. One thing the format cannot say yet is
the CloudKit page cap an exploration ran with (and the sync-token expiry that comes with it); it
is kept as the tag `ck-page:N` and honoured by `replay` here.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path
from typing import Any

from dualsync.harness.explore.machine import Failure
from dualsync.harness.explore.session import Outcome, Session
from dualsync.harness.scenario import Scenario, dumps, load

CORPUS = Path(__file__).resolve().parents[2] / "suites" / "corpus"
PAGE_TAG = "ck-page:"


def scenario_of(failure: Failure, *, found_by: str = "exploration") -> Scenario:
    digest = fingerprint(failure)
    tags = ["corpus", found_by, f"found-on:{failure.client}"] + (
        [f"{PAGE_TAG}{failure.ck_page}"] if failure.ck_page else [])
    # Every client must pass a corpus entry, the one it was found on included: replayed against
    # that client (or any with the same bug) it fails, which is what a regression corpus is for.
    # What it broke there is kept in `guards`, the title and the notes.
    expect: dict[str, Any] = {"coordinated": "pass"}
    return Scenario(id=f"corpus-{_slug(failure.client)}-{digest}", guards=list(failure.violated),
                    devices=failure.devices, steps=list(failure.steps), seed=failure.seed,
                    title=f"found by {found_by} against {failure.client}: "
                          f"{', '.join(failure.violated)}",
                    tags=tags, expect=expect, notes=_first_lines(failure.explanation))


def fingerprint(failure: Failure) -> str:
    """The same program against the same client is the same entry, whoever found it."""
    text = dumps(Scenario(id="x", guards=["convergence"], devices=failure.devices,
                          steps=failure.steps, seed=failure.seed))
    return hashlib.sha256(f"{failure.client}\n{failure.ck_page}\n{text}".encode()).hexdigest()[:10]


def save(failure: Failure, folder: Path = CORPUS, **kw: Any) -> Path:
    scenario = scenario_of(failure, **kw)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scenario.id}.yaml"
    if not path.exists():
        path.write_text(dumps(scenario))
    return path


def entries(folder: Path = CORPUS) -> list[Path]:
    return sorted(folder.glob("corpus-*.yaml"))


def ck_page(scenario: Scenario) -> int | None:
    tag = next((t for t in scenario.tags if t.startswith(PAGE_TAG)), None)
    return int(tag[len(PAGE_TAG):]) if tag else None


def replay(path: Path | str, client: str, database: Any) -> tuple[bool, Outcome, Scenario]:
    """Run one corpus entry against `client`: (as its file expects?, outcome, scenario)."""
    scenario = load(path)
    with Session(client, database, scenario.devices, seed=scenario.seed,
                 ck_page=ck_page(scenario)) as session:
        for step in scenario.steps:
            session.do(step)
        outcome = session.finish()
    want = scenario.expected_for(client) or "pass"
    ok = not outcome.violated if want == "pass" else set(want) <= set(outcome.violated)
    return ok, outcome, scenario


def replay_command(path: Path, client: str) -> str:
    from dualsync.harness.runner import launcher  # works from a plain shell, not only inside .venv
    return shlex.join(launcher("dualsync.harness.explore") + ["replay", _relative(path), f"--client={client}"])


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _first_lines(text: str, n: int = 6) -> str:
    return "\n".join(text.splitlines()[:n])
