"""Strict YAML for files people write: a duplicate key is an error, and every node keeps its line.

PyYAML's safe loader lets a second `key:` silently replace the first; a test tool must not, so
mappings are built here with the duplicate refused. `load` returns plain Python data plus a map
from each node's path (a tuple of keys and indexes) to its 1-based line, so a checker can name the
line of the value it refuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class DocumentError(ValueError):
    """A file that cannot be used as written: `file:line: where: problem; fix`."""

    def __init__(self, source: str, line: int | None, where: str, problem: str, fix: str = ""):
        self.source, self.line, self.where, self.problem, self.fix = source, line, where, problem, fix
        at = f"{source}:{line}" if line else source
        super().__init__(f"{at}: {where}: {problem}" + (f"; {fix}" if fix else ""))


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key]}); a second "
                "occurrence would silently replace the first: merge them or remove one",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _lines(node: yaml.Node, path: tuple, out: dict[tuple, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            _lines(v, path + (key,), out)
            out[path + (key,)] = k.start_mark.line + 1  # a value is reported at its key's line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, path + (i,), out)


def loads(text: str, source: str = "<string>") -> tuple[Any, dict[tuple, int]]:
    """(data, lines) of a YAML document; DocumentError on bad syntax or a duplicate key."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise DocumentError(source, mark.line + 1 if mark else None, "yaml", problem,
                            "fix the YAML at that line") from None
    except yaml.YAMLError as exc:
        raise DocumentError(source, None, "yaml", str(exc).splitlines()[0]) from None
    lines: dict[tuple, int] = {}
    if node is not None:
        _lines(node, (), lines)
    return data, lines


def load(path: str | Path) -> tuple[Any, dict[tuple, int]]:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise DocumentError(str(path), None, "file", exc.strerror or str(exc),
                            "give the path of an existing file") from None
    return loads(text, str(path))
