"""App profiles: which data an app syncs through which backend, as data (see docs/app-profiles.md).

`load("fitme")` reads a shipped profile by name, `load("path/to/app.yaml")` a team's own. The
case-study app, `fitme`, is the default everywhere a profile is not named.
"""

from __future__ import annotations

import functools
from pathlib import Path

from .model import BACKENDS, FIELD_TYPES, App, Envelope, RecordType
from .reading import AppError, loads

HERE = Path(__file__).parent
DEFAULT = "fitme"


def shipped() -> dict[str, Path]:
    """The profiles that come with dualsync, by name."""
    return {p.stem: p for p in sorted(HERE.glob("*.yaml"))}


def resolve(name_or_path: str | Path) -> Path:
    """The file of a profile given by shipped name or by path; AppError naming both when neither."""
    text = str(name_or_path)
    if text in shipped():
        return shipped()[text]
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path.resolve()
    raise AppError(text, None, "app", f"no shipped app profile named {text!r} and no such file",
                   f"use one of {', '.join(shipped())} or the path of a profile file")


@functools.lru_cache(maxsize=32)
def _load(path: Path) -> App:
    from .reading import load as read
    return read(path)


def load(name_or_path: str | Path | App | None = None) -> App:
    if isinstance(name_or_path, App):
        return name_or_path
    return _load(resolve(name_or_path or DEFAULT))


__all__ = ["App", "AppError", "BACKENDS", "DEFAULT", "Envelope", "FIELD_TYPES", "RecordType", "load",
           "loads", "resolve", "shipped"]
