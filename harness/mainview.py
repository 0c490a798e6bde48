"""The main job in a terminal: the verdict table, one row printed as each run finishes.

Within 100 columns: scenario, client, as expected, the invariants that caught it. Under the table,
the runs that were not as expected get their replay command, diagram and first reason (cut to one
line); `--details` prints those three for every run, with the reason in full. The JSON and JUnit
reports (--json, --junitxml) always hold the full text. The summary line comes last.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import textwrap
import time
from typing import TextIO

WIDTH = 100
HEAD = ("scenario", "client", "as expected", "invariants violated")
SHOWN = {"passed": "yes", "failed": "NO", "known": "OPEN FINDING", "error": "ERROR"}


def width() -> int:
    return min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns)


def fit(text: str, room: int) -> str:
    return text if len(text) <= room else text[:max(room - 1, 0)] + "…"


def wrap_command(command: str, room: int, indent: str) -> str:
    """A shell command over lines ending in ` \\`, so it still pastes into a shell as one."""
    lines, line = [], ""
    for word in (shlex.quote(w) for w in shlex.split(command)):
        if line and len(line) + 1 + len(word) > room - 2:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return f" \\\n{indent}".join(lines)


def caught(violated: list[str], room: int) -> str:
    """`2:no-lost-write, 4:no-skipped-row` when it fits; else the first name and the other numbers."""
    full = ", ".join(violated) or "all hold"
    if len(full) <= room:
        return full
    short = ", ".join([violated[0], *(v.split(":")[0] for v in violated[1:])])
    return fit(short, room)


class Table:
    def __init__(self, scenario_ids: list[str], clients: list[str], out: TextIO = sys.stdout,
                 details: bool = False, total: int | None = None):
        self.out, self.details, self.cols = out, details, width()
        self.total = total if total is not None else len(scenario_ids) * len(clients)
        self.w = [min(max([len(HEAD[0]), *map(len, scenario_ids)]), 32),
                  max([len(HEAD[1]), *map(len, clients)]), len(SHOWN["known"])]
        self.w.append(max(self.cols - sum(self.w) - 2 * 3 - 8, 12))
        self.cases = []

    def header(self) -> None:
        self._line(*HEAD, counter="")

    def row(self, case) -> None:
        """A finished run (a reporting.Case); printed at once, so the table is the progress."""
        self.cases.append(case)
        violated = [v for v in case.fields.get("violated", "").split(", ") if v and v != "all hold"]
        self._line(case.group, case.fields.get("client", ""), SHOWN[case.outcome],
                   caught(violated, self.w[3]), counter=f"{len(self.cases)}/{self.total}")
        if self.details:
            self._details(case, full=True)

    def _line(self, *cells: str, counter: str) -> None:
        text = "  ".join(fit(c, w).ljust(w) for c, w in zip(cells, self.w))
        print(f"{counter:>7} {text}".rstrip(), file=self.out, flush=True)

    def _details(self, case, full: bool) -> None:
        pad = " " * 8
        if case.fields.get("replay"):
            print(f"{pad}replay: " + wrap_command(case.fields["replay"], self.cols - len(pad) - 8, pad + "  "),
                  file=self.out)
        if case.fields.get("diagram"):
            print(f"{pad}diagram: {case.fields['diagram']}", file=self.out)
        if case.outcome == "passed" and not full:
            return
        why = case.details if full else case.message
        if why and why != "every invariant holds":
            room = self.cols - len(pad) - 5
            lines = [w for para in why.splitlines() for w in (textwrap.wrap(para, room) or [""])] or [""]
            if not full:
                lines = [fit(lines[0] + (" …" if len(lines) > 1 else ""), room)]
            print(f"{pad}why: " + f"\n{pad}     ".join(lines), file=self.out)

    def finish(self, summary: str, report_hint: str) -> None:
        surprising = [c for c in self.cases if c.outcome in ("failed", "error")]
        if surprising and not self.details:
            print("\nnot as expected:", file=self.out)
            for case in surprising:
                print(f"  {case.group} against {case.fields.get('client', '')}", file=self.out)
                self._details(case, full=False)
        if not self.details:
            print(f"\n{report_hint}", file=self.out)
        print(f"\n{summary}", file=self.out, flush=True)


CLIENTS = ("legacy", "coordinated")


def main_job(args, database, scenario_files) -> int:
    """`main`: every scenario file against legacy and coordinated; exit 1 if any run surprised."""
    from dualsync.harness import report_index, reporting, runner
    scenarios = scenario_files(args.files)  # loaded and checked: a bad file stops us before any run
    record = reporting.Recorder("main", args)
    table = Table([s.id for s in scenarios], list(CLIENTS), details=getattr(args, "details", False))
    results = []
    with database(args.postgres) as db:
        table.header()
        for scenario in scenarios:
            for client in CLIENTS:
                started = time.monotonic()
                result = runner.run(scenario, client, db)
                results.append(result)
                ok, why = result.judgement()
                outcome = "passed" if ok else "known" if client in scenario.known else "failed"
                message = (f"open finding: {scenario.known[client]}" if outcome == "known"
                           else first_violation(result) or why.splitlines()[0])
                case = reporting.run_case(result, outcome, why, time.monotonic() - started)
                case.message = message
                table.row(record.add(case))
    n = reporting.counts(record.cases)
    surprises = n["failed"] + n["error"]
    summary = (f"{n['passed']} of {len(record.cases)} runs as the scenario files expect"
               + (f"; {n['known']} open finding(s) (the scenario's `known`)" if n["known"] else "")
               + (f"; {surprises} NOT as expected (see the diagrams)" if surprises else ""))
    status = 1 if surprises else 0
    written = record.write(summary, status)
    hint = ("full text: " + ", ".join(map(str, written)) if written
            else "details: --details, or the full text with --json PATH / --junitxml PATH")
    table.finish(summary, f"index of the diagrams: {report_index.write(runner.REPORTS, results)}\n{hint}")
    return status


def first_violation(result) -> str:
    """The first violation of the first invariant the scenario guards (else the first at all)."""
    named = [n for n in result.scenario.guards if n in result.violated] or result.violated
    if not named:
        return ""
    v = result.verdicts[named[0]]
    return f"invariant {v.number} ({v.invariant}): {v.violations[0].message}"
