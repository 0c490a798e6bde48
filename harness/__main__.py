"""python -m dualsync.harness main | kill-matrix | run FILE... | replay FILE [--inject LABEL] [--times N] | sweep FILE

main    run every scenario in suites/scenarios against legacy and coordinated on a real Postgres
        (embedded unless --postgres / DUALSYNC_POSTGRES says otherwise) and print the verdict table
run     run scenario files against one client (--client, default coordinated)
replay  run one scenario again, exactly; --times N checks that N runs give the same history
sweep   run a scenario at every fault point it passes
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from dualsync.fakes.cli import Parser
from dualsync.harness import reporting, runner, sweep
from dualsync.harness.scenario import Scenario, ScenarioError, load, load_all
from dualsync.harness.world import StepError

SCENARIOS = Path(__file__).resolve().parent.parent / "suites" / "scenarios"


class UsageError(Exception):
    """Bad input found before anything started: one line, exit 2."""


@contextlib.contextmanager
def database(spec: str):
    from dualsync.fakes.postgres import ProviderError, start_server
    try:
        server = start_server(spec)
    except ProviderError as exc:
        raise UsageError(str(exc).replace("\n", "; ")) from None
    print(server.describe(), file=sys.stderr)
    try:
        db = server.new_database("harness_cli")
        try:
            yield db
        finally:
            server.drop_database(db)
    finally:
        server.stop()


def scenario_files(paths: list[str]) -> list[Scenario]:
    """Every file loaded and validated (two sharing an id refused) before any server starts."""
    return load_all([Path(p) for p in paths] or sorted(SCENARIOS.glob("*.yaml")))


def check_args(args) -> None:
    """Everything the command line says, checked before a server starts."""
    from dualsync.fakes.postgres import spec_from_env, validate
    from dualsync.harness.scenario_checks import check_client
    try:
        args.postgres = validate(args.postgres or spec_from_env())
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "client", None) is not None:
        try:
            check_client(args.client)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if getattr(args, "times", 1) < 1:
        raise UsageError(f"--times={args.times}: give a number of runs of at least 1")
    if getattr(args, "inject", None):
        try:
            sweep.step_for(args.inject)
        except ValueError as exc:
            raise UsageError(str(exc)) from None


def cmd_main(args) -> int:
    from dualsync.harness.mainview import main_job  # the table, progress and reports live there
    return main_job(args, database, scenario_files)


def cmd_run(args) -> int:
    bad, record = 0, reporting.Recorder("run", args)
    scenarios = scenario_files(args.files)
    with database(args.postgres) as db:
        for scenario in scenarios:
            result = runner.run(scenario, args.client, db)
            ok, why = result.judgement()
            bad += not ok
            record.add(reporting.run_case(result, "passed" if ok else "failed", why, 0.0))
            print(f"{result.scenario.id} against {args.client}: "
                  f"{'as expected' if ok else 'NOT as expected'}\n{why}\n"
                  f"diagram: {result.report}\nreplay: {result.replay_command()}\n"
                  + (f"run saved as: {result.saved}\n" if result.saved else ""))
    record.write(f"{len(record.cases) - bad} of {len(record.cases)} as expected", 1 if bad else 0)
    return 1 if bad else 0


def cmd_replay(args) -> int:
    scenario = load(args.file)
    extra = [_injected(args.inject, scenario)] if args.inject else []
    prints, result = set(), None
    with database(args.postgres) as db:
        for _ in range(args.times):
            result = runner.run(scenario, args.client, db, extra=extra, label=args.inject or "")
            prints.add(repr(result.history.fingerprint()))
    ok, why = result.judgement()
    print(f"{scenario.id} against {args.client}{' with ' + args.inject if args.inject else ''}:\n{why}")
    print(f"diagram: {result.report}")
    if result.saved:
        print(f"run saved as: {result.saved}")
    if args.times > 1:
        print(f"reproduced {args.times - len(prints) + 1} of {args.times} times "
              f"({len(prints)} distinct histories)")
    verdict = "as expected" if ok else f"NOT as expected: the file expects {_wanted(result)}"
    print(verdict)
    again = f"reproduced {args.times - len(prints) + 1} of {args.times} times ({len(prints)} distinct histories)"
    record = reporting.Recorder("replay", args)
    record.add(reporting.run_case(result, "error" if len(prints) > 1 else "passed" if ok else "failed",
                                  f"{again}\n{why}" if len(prints) > 1 else why, 0.0))
    record.write(f"{verdict}; {again}" if args.times > 1 else verdict, 0 if ok and len(prints) == 1 else 1)
    return 0 if ok and len(prints) == 1 else 1


def _injected(label: str, scenario: Scenario):
    """The step a sweep label names, checked against the scenario: a label that could never
    fire would replay the plain scenario and call it the injected one."""
    from dualsync.harness.scenario import FAULT_POINTS, PATHS
    step = sweep.step_for(label)
    a = step.args
    if a["device"] not in scenario.devices:
        raise UsageError(f"--inject={label}: no device {a['device']!r} in {scenario.source} "
                         f"(devices: {', '.join(scenario.devices)})")
    paths = PATHS + ("local",) if step.op == "crash" else PATHS
    if a["path"] not in paths:
        raise UsageError(f"--inject={label}: {a['path']!r} is not a path; use one of {', '.join(paths)}")
    if step.op == "crash" and a["point"] not in FAULT_POINTS:
        raise UsageError(f"--inject={label}: {a['point']!r} is not a fault point; use one of "
                         f"{', '.join(FAULT_POINTS)}")
    return step


def _wanted(result: runner.Run) -> str:
    want = result.expected
    return f"{result.client} to pass" if want == "pass" else f"{', '.join(want)} violated by {result.client}"


def cmd_sweep(args) -> int:
    scenario = load(args.file)
    with database(args.postgres) as db:
        report = sweep.sweep(scenario, args.client, db)
    want = sweep.expectation(scenario, args.client) or "pass"
    ok, why = report.judgement(want)
    print(why)
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    if argv[:1] == ["kill-matrix"]:  # exploration lives in harness.explore; same entry point for users
        from dualsync.harness.explore.__main__ import main as explore_main
        return explore_main(argv)
    postgres = argparse.ArgumentParser(add_help=False)  # before or after the command
    postgres.add_argument("--postgres", default=argparse.SUPPRESS, help="embedded | docker | auto | "
                          "postgresql://... (default: DUALSYNC_POSTGRES, else embedded)")
    ap = Parser(prog="python -m dualsync.harness", description=__doc__, parents=[postgres],
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    sub.add_parser = _with_parents(sub.add_parser, postgres)
    p = sub.add_parser("main", help="the verdict table: every scenario against legacy and coordinated")
    p.add_argument("files", nargs="*")
    p.add_argument("--details", action="store_true", help="replay, diagram and full reason under every row")
    reporting.add_options(p)
    p = sub.add_parser("run", help="run scenario files against one client")
    p.add_argument("files", nargs="*")
    p.add_argument("--client", default="coordinated")
    reporting.add_options(p)
    p = sub.add_parser("replay", help="replay one scenario exactly")
    p.add_argument("file")
    p.add_argument("--client", default="coordinated")
    p.add_argument("--inject", default=None, help="a sweep label: crash:A:after_reply:supabase:0 ...")
    p.add_argument("--times", type=int, default=1)
    reporting.add_options(p)
    p = sub.add_parser("sweep", help="the scenario at every fault point")
    p.add_argument("file")
    p.add_argument("--client", default="coordinated")
    args = ap.parse_args(argv)
    args.postgres = getattr(args, "postgres", None)
    try:
        check_args(args)
        if (bad := reporting.check(args)) is not None:
            raise UsageError(bad)
        return {"main": cmd_main, "run": cmd_run, "replay": cmd_replay, "sweep": cmd_sweep}[args.cmd](args)
    except (ScenarioError, UsageError, StepError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _with_parents(add_parser, parent):
    def add(name, **kw):
        return add_parser(name, parents=[parent], **kw)
    return add


if __name__ == "__main__":
    from dualsync.fakes import stops  # SIGTERM/SIGINT: servers stopped, one line, 128+signal
    sys.exit(stops.run(main, sys.argv[1:]))
