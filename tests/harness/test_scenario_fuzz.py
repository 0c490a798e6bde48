"""Scenario-file fuzzing (issue 14): hypothesis mutates the shipped scenario files — drops,
duplicates, retypes and misspells keys and values — and every mutant is either accepted (a valid
scenario that saves and loads back the same) or refused with one `file:line:col: field: problem;
fix` line. Never a traceback, and never acceptance of a mistake the schema can see: a misspelled
key or name, a value of the wrong type, a repeated key. A small sample of accepted mutants runs.
"""

from __future__ import annotations

import copy
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualsync.harness import scenario as S
from dualsync.harness.checkers.verdict import INVARIANTS
from dualsync.harness.scenario_checks import known_clients

ROOT = Path(__file__).resolve().parents[2]
FILES = {f.name: f.read_text() for f in sorted((ROOT / "suites/scenarios").glob("*.yaml"))}
DATA = {name: yaml.safe_load(text) for name, text in FILES.items()}
ERROR = re.compile(r"^x\.yaml:\d+:\d+: [^\n]+: [^\n]+; [^\n]+$")

# Parts of a file whose content the schema leaves free: any text there is meant as written.
FREE_KEYS = {"fields", "notes", "title", "tags", "users", "match", "ck_error", "ck_item_error", "as"}
# Names whose misspelling the schema must catch (enumerations and references).
CHECKED_VALUES = {"device", "path", "type", "point", "fault", "op", "at", "token", "error", "user",
                  "backend", "release", "wait", "guards", "kinds", "devices", "sign_in", "sign_out",
                  "login_sync", "restart", "delete_zone", "rotate_key", "names"}
REPLACEMENTS = [None, {"zz": 1}, ["zz", 7], True, "zz", 7]


def schema_names() -> set[str]:
    names = set(S.TOP) | set(S.STEPS) | set(S.SWEEP) | set(S.DEVICE) | set(S.SWEEP_KINDS) | set(INVARIANTS)
    for _short, _required, fields in S.STEPS.values():
        names |= set(fields)
        names |= {v for rule in fields.values() if isinstance(rule, tuple) for v in rule if isinstance(v, str)}
    return names | set(known_clients()) | {"mutant:*", "pass"}


NAMES = schema_names()


def strings(data: Any) -> set[str]:
    if isinstance(data, dict):
        return {str(k) for k in data} | set().union(*(strings(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(set(), *(strings(v) for v in data))
    return {data} if isinstance(data, str) else set()


def entries(data: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, value) of every mapping entry and list item."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        out.append((path + (key,), value))
        out += entries(value, path + (key,))
    return out


def free(path: tuple) -> bool:
    """Free text, or a name the file defines rather than refers to (a device's user)."""
    return (any(p in FREE_KEYS for p in path if isinstance(p, str)) or path[:1] == ("known",) and len(path) == 2
            or path[:1] == ("devices",) and path[-1:] == ("user",))


def parent(data: Any, path: tuple) -> Any:
    for p in path[:-1]:
        data = data[p]
    return data


def misspell(word: str, rnd: random.Random) -> str:
    i = rnd.randrange(len(word))
    how = rnd.choice(["append", "drop", "swap", "double"]) if len(word) > 1 else "append"
    if how == "append":
        return word + "x"
    if how == "drop":
        return word[:i] + word[i + 1:]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    j = min(i + 1, len(word) - 1)
    return word[:i] + word[j] + word[i] + word[j + 1:] if i != j else word + "x"


def mutate(name: str, rnd: random.Random) -> tuple[str, str, bool]:
    """(mutant text, what was done, whether the schema must refuse it)."""
    data, text = copy.deepcopy(DATA[name]), FILES[name]
    kind = rnd.choice(["drop", "duplicate", "retype", "misspell_key", "misspell_value"])
    if kind == "duplicate":
        lines = text.splitlines(keepends=True)
        i = rnd.randrange(len(lines))
        top_key = re.match(r"^[a-z_]+:", lines[i]) is not None
        return "".join(lines[:i + 1] + lines[i:]), f"duplicate line {i + 1}: {lines[i].strip()}", top_key
    spots = entries(data)
    if kind == "misspell_key":
        spots = [(p, v) for p, v in spots if isinstance(p[-1], str)]
    if kind == "misspell_value":
        spots = [(p, v) for p, v in spots if isinstance(v, str) and v]
    path, value = rnd.choice(spots)
    holder, key = parent(data, path), path[-1]
    if kind == "drop":
        del holder[key]
        return yaml.safe_dump(data, sort_keys=False), f"drop {path}", False
    if kind == "retype":
        new = rnd.choice(REPLACEMENTS)
        holder[key] = new
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (value, new))
        changed = type(new) is not type(value) and not numeric
        if new is None and len(path) == 3 and path[0] == "steps" and not S.STEPS.get(path[2], (0, 1))[1]:
            changed = False  # `lose_reply:` with nothing is the bare step: every field is optional
        return yaml.safe_dump(data, sort_keys=False), f"retype {path} {value!r} -> {new!r}", changed and not free(path)
    if kind == "misspell_key":
        new_key = misspell(key, rnd)
        if new_key in holder:
            return text, "no-op", False
        holder[new_key] = holder.pop(key)
        must = not free(path[:-1]) and new_key not in NAMES | strings(DATA[name])
        return yaml.safe_dump(data, sort_keys=False), f"rename {path} -> {new_key!r}", must
    new = misspell(value, rnd)
    holder[key] = new
    named = {p for p in path if isinstance(p, str)}
    must = (bool(named & CHECKED_VALUES) and not free(path) and new not in NAMES | strings(DATA[name])
            and not (path[-1] == "id" and holder.get("type") == "photos"))
    return yaml.safe_dump(data, sort_keys=False), f"misspell {path} {value!r} -> {new!r}", must


def judge(text: str) -> S.Scenario | None:
    """The loaded scenario, or None when refused with one well-formed line; anything else fails."""
    try:
        scenario = S.loads(text, "x.yaml")
    except S.ScenarioError as exc:
        assert ERROR.match(str(exc)), f"malformed error: {exc}"
        return None
    again = S.loads(S.dumps(scenario), "x.yaml")  # what it saves is itself a valid file
    assert again.to_data() == scenario.to_data()
    return scenario


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(FILES)), seed=st.integers(0, 2**32 - 1))
def test_every_mutant_is_accepted_or_refused_in_one_line(name, seed):
    text, what, must_refuse = mutate(name, random.Random(seed))
    scenario = judge(text)
    assert not (must_refuse and scenario is not None), f"{name}: {what} was accepted silently"


@pytest.mark.parametrize("kind,words", [("duplicate", "appears twice"), ("misspell_key", ": ")])
def test_the_fuzzer_makes_mistakes_the_schema_refuses(kind, words):
    """The property has teeth: mutants it says must be refused exist and are refused."""
    refused = 0
    for seed in range(300):
        text, what, must = mutate("deep-sync-001.yaml", random.Random(seed))
        if must and what.startswith({"duplicate": "duplicate", "misspell_key": "rename"}[kind]):
            with pytest.raises(S.ScenarioError, match=words):
                S.loads(text, "x.yaml")
            refused += 1
    assert refused >= 3


def test_a_sample_of_accepted_mutants_runs(pg_database, tmp_path):
    """Accepted mutants are real scenarios: a few run to a verdict (or stop at a step with one
    line naming the file and step), under the remediated client."""
    from dualsync.harness import runner
    from dualsync.harness.world import StepError
    rnd, ran = random.Random(14), 0
    while ran < 3:
        name = rnd.choice(["clock-skew.yaml", "lost-reply-retry.yaml", "delete-then-recreate.yaml"])
        text, what, _ = mutate(name, rnd)
        scenario = judge(text)
        if scenario is None or text == FILES[name]:
            continue
        try:
            result = runner.run(scenario, "coordinated", pg_database, reports=tmp_path)
        except StepError as exc:
            assert re.match(r"^x\.yaml:\d+: step \d+ \(\w+\): ", str(exc)) and "\n" not in str(exc), what
        else:
            ok, why = result.judgement()
            assert why, what
        ran += 1
