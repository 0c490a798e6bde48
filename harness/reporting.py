"""Machine-readable reports of a command-line run: --json PATH (a summary) and --junitxml PATH.

Every command that runs scenarios or clients describes each run as a `Case`: its name, outcome
(`passed`, `failed`, `known` for an open finding the scenario file declares, `error`), the one-line
reason, the full text, and command-specific fields (replay command, diagram, invariants). The two
writers share that list, so a CI job can publish the JUnit file and keep the JSON as an artifact.

JUnit mapping (what CI test-report tools read): `failed` -> <failure>, `error` -> <error>, `known`
-> <skipped> with the finding (as pytest reports an xfail), `passed` -> a bare <testcase>.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

OUTCOMES = ("passed", "failed", "known", "error")


@dataclasses.dataclass
class Case:
    name: str
    group: str                      # JUnit classname: the scenario or the client
    outcome: str
    message: str = ""               # one line
    details: str = ""               # the full text
    seconds: float = 0.0
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not one of {OUTCOMES}")


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="PATH", default=None, help="write a JSON summary of the runs here")
    parser.add_argument("--junitxml", metavar="PATH", default=None, help="write a JUnit XML report here")


def check(args: argparse.Namespace) -> str | None:
    """Before any run: a report path that cannot be written is bad input, not a lost run."""
    for option in ("json", "junitxml"):
        value = getattr(args, option, None)
        if value is None:
            continue
        path = Path(value)
        if path.is_dir():
            return f"--{option} {value}: is a directory; give a file path"
        parent = path.parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir() or not _writable(parent):
            return f"--{option} {value}: cannot write under {parent}; choose a writable path"
    return None


def _writable(directory: Path) -> bool:
    import os
    return os.access(directory, os.W_OK | os.X_OK)


class Recorder:
    """Collects cases as a command runs and writes the reports it was asked for, once."""

    def __init__(self, command: str, args: argparse.Namespace):
        self.command, self.args = command, args
        self.cases: list[Case] = []
        self.started = time.time()
        self._clock = time.monotonic()

    def add(self, case: Case) -> Case:
        self.cases.append(case)
        return case

    def write(self, summary: str, status: int) -> list[Path]:
        written = []
        if getattr(self.args, "json", None):
            written.append(write_json(Path(self.args.json), self.command, self.cases, summary, status,
                                      self.started, time.monotonic() - self._clock))
        if getattr(self.args, "junitxml", None):
            written.append(write_junit(Path(self.args.junitxml), self.command, self.cases,
                                       time.monotonic() - self._clock))
        return written


def counts(cases: list[Case]) -> dict[str, int]:
    return {o: sum(c.outcome == o for c in cases) for o in OUTCOMES}


def write_json(path: Path, command: str, cases: list[Case], summary: str, status: int,
               started: float, seconds: float) -> Path:
    doc = {"command": command, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
           "seconds": round(seconds, 3), "exit_status": status, "summary": summary,
           "counts": counts(cases), "cases": [_jsonable(c) for c in cases]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return path


def _jsonable(case: Case) -> dict[str, Any]:
    d = dataclasses.asdict(case)
    d["seconds"] = round(d["seconds"], 3)
    return d


def write_junit(path: Path, command: str, cases: list[Case], seconds: float) -> Path:
    n = counts(cases)
    root = ET.Element("testsuites", name=f"dualsync {command}")
    suite = ET.SubElement(root, "testsuite", name=f"dualsync {command}", tests=str(len(cases)),
                          failures=str(n["failed"]), errors=str(n["error"]), skipped=str(n["known"]),
                          time=f"{seconds:.3f}")
    for case in cases:
        el = ET.SubElement(suite, "testcase", classname=case.group, name=case.name, time=f"{case.seconds:.3f}")
        tag = {"failed": "failure", "error": "error", "known": "skipped"}.get(case.outcome)
        if tag:
            ET.SubElement(el, tag, message=case.message[:500]).text = case.details or case.message
        if case.fields:
            props = ET.SubElement(el, "properties")
            for key, value in case.fields.items():
                ET.SubElement(props, "property", name=key, value=str(value))
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def run_case(result, outcome: str, why: str, seconds: float, name: str | None = None) -> Case:
    """A harness runner.Run as a case: invariants, replay command and diagram as fields."""
    violated = [f"{result.verdicts[n].number}:{n}" for n in result.violated]
    first = next((line for line in why.splitlines() if line.strip()), "")
    return Case(name=name or f"{result.scenario.id}[{result.client}]", group=result.scenario.id,
                outcome=outcome, message=first, details=why, seconds=seconds,
                fields={"client": result.client, "violated": ", ".join(violated) or "all hold",
                        "replay": result.replay_command(), "diagram": str(result.report or ""),
                        "saved": str(result.saved or ""), "seed": result.scenario.seed})
