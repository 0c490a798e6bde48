"""Reading a scenario file's YAML strictly: the data, where each part of it sits, and errors that
keep PyYAML's own words.

PyYAML keeps the last of two equal keys in a mapping and says nothing; a scenario file with a
second `steps:` would silently lose the first. Here a repeated key is an error at the second one.
"""

from __future__ import annotations

from typing import Any

import yaml

Position = tuple[int, int]  # 1-based line and column


class YamlProblem(ValueError):
    """A problem in the text itself: where, what (PyYAML's words) and the fix."""

    def __init__(self, position: Position | None, problem: str, fix: str):
        super().__init__(problem)
        self.position, self.problem, self.fix = position, problem, fix


def parse(text: str) -> tuple[Any, dict[tuple, Position]]:
    """(data, positions): positions maps the path of every mapping entry and sequence item
    (`("steps", 3, "advance")`) to where its value starts, or where its key starts when the value
    is a mapping or a list (so an error about a block points at the line that names it)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _problem(exc) from None
    except yaml.YAMLError as exc:  # not marked: reader errors such as a bad character
        raise YamlProblem(None, str(exc).splitlines()[0], "fix the YAML syntax") from None
    if node is None:
        return None, {}
    _refuse_duplicate_keys(node)
    try:
        data = yaml.SafeLoader(text).get_single_data()
    except yaml.MarkedYAMLError as exc:  # a tag or value the safe loader cannot build
        raise _problem(exc) from None
    positions: dict[tuple, Position] = {}
    _walk(node, (), positions)
    return data, positions


def _at(mark) -> Position:
    return mark.line + 1, mark.column + 1


def _problem(exc: yaml.MarkedYAMLError) -> YamlProblem:
    problem = (exc.problem or exc.context or "not valid YAML").strip()
    if exc.context and exc.problem:
        where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        problem += f" ({exc.context}{where})"
    mark = exc.problem_mark or exc.context_mark
    return YamlProblem(_at(mark) if mark else None, problem, "fix the YAML syntax")


def _refuse_duplicate_keys(node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is not None and name in seen:
                first = seen[name].start_mark.line + 1
                raise YamlProblem(_at(key.start_mark), f"key {name!r} appears twice (first at line {first})",
                                  "keep one: YAML would silently keep only the last")
            if name is not None:
                seen[name] = key
            _refuse_duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item)


def _walk(node: yaml.Node, path: tuple, out: dict[tuple, Position]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = path + (_key(key),)
            out[here] = _at(value.start_mark if isinstance(value, yaml.ScalarNode) else key.start_mark)
            _walk(value, here, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = _at(item.start_mark)
            _walk(item, path + (i,), out)


def _key(node: yaml.Node) -> Any:
    """The key as the data holds it (`1` for `1:`, `True` for `yes:`), for looking paths up."""
    if not isinstance(node, yaml.ScalarNode):
        return node.value
    return yaml.SafeLoader("").construct_object(node) if node.tag != "tag:yaml.org,2002:str" else node.value
