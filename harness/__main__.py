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

from dualsync.harness import reporting, runner, sweep
from dualsync.harness.scenario import ScenarioError, load

SCENARIOS = Path(__file__).resolve().parent.parent / "suites" / "scenarios"


@contextlib.contextmanager
def database(spec: str | None):
    from dualsync.fakes.postgres import ProviderError, spec_from_env, start_server
    try:
        server = start_server(spec or spec_from_env())
    except ProviderError as exc:
        sys.exit(str(exc))
    print(server.describe(), file=sys.stderr)
    try:
        db = server.new_database("harness_cli")
        try:
            yield db
        finally:
            server.drop_database(db)
    finally:
        server.stop()


def scenario_files(paths: list[str]) -> list[Path]:
    files = [Path(p) for p in paths] or sorted(SCENARIOS.glob("*.yaml"))
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        sys.exit(f"no such scenario file: {', '.join(missing)}")
    return files


def cmd_main(args) -> int:
    from dualsync.harness.mainview import main_job  # the table, progress and reports live there
    return main_job(args, database, scenario_files)


def cmd_run(args) -> int:
    bad, record = 0, reporting.Recorder("run", args)
    with database(args.postgres) as db:
        for path in scenario_files(args.files):
            result = runner.run(load(path), args.client, db)
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
    extra = [sweep.step_for(args.inject)] if args.inject else []
    prints, result = set(), None
    with database(args.postgres) as db:
        for _ in range(args.times):
            result = runner.run(scenario, args.client, db, extra=extra, label=args.inject or "")
            prints.add(repr(result.history.fingerprint()))
    ok, why = result.judgement()
    print(f"{scenario.id} against {args.client}{' with ' + args.inject if args.inject else ''}:\n{why}")
    print(f"diagram: {result.report}")
    again = f"reproduced {args.times - len(prints) + 1} of {args.times} times ({len(prints)} distinct histories)"
    if args.times > 1:
        print(again)
    status = 0 if len(prints) == 1 else 2
    record = reporting.Recorder("replay", args)
    record.add(reporting.run_case(result, "error" if status else "passed" if ok else "failed",
                                  why if not status else f"{again}\n{why}", 0.0))
    record.write(again if args.times > 1 else ("as expected" if ok else "NOT as expected"), status)
    return status


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
    ap = argparse.ArgumentParser(prog="python -m dualsync.harness", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--postgres", default=None, help="embedded | docker | auto | postgresql://...")
    sub = ap.add_subparsers(dest="cmd", required=True)
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
    if (bad := reporting.check(args)) is not None:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    try:
        return {"main": cmd_main, "run": cmd_run, "replay": cmd_replay, "sweep": cmd_sweep}[args.cmd](args)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
