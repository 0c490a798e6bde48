"""python -m dualsync.harness.explore kill-matrix | exhaustive | hunt | replay | explore

kill-matrix  the `pr` tier against every client; ends with `killed K/N` and
             `killed by the predicted invariant P/N`
exhaustive   every release order of a small scope (--scope, --client); prints the schedule count
hunt         examples and seconds until random exploration finds DEEP-SYNC-001/002/003 on legacy;
             --tally counts how many distinct programs cause each finding instead
replay       run corpus files against a client
explore      run the machine at a profile against a client; --save keeps the shrunk failure
"""

from __future__ import annotations

import argparse
import json
import sys

from dualsync.harness.servers import database


def cmd_kill_matrix(args) -> int:
    from dualsync.harness.explore import killmatrix
    print(killmatrix.header(), flush=True)
    with database(args.postgres) as db:
        rows = killmatrix.run(db, args.clients or None, args.profile, with_corpus=not args.no_corpus,
                              on_row=lambda row: print(killmatrix.line(row), flush=True))
    print(killmatrix.summary(rows))
    status = 0 if all(r.ok for r in rows) else 1
    from dualsync.harness import reporting
    record = reporting.Recorder("kill-matrix", args)
    for row in rows:
        record.add(reporting.Case(name=row.client, group="kill-matrix", outcome="passed" if row.ok else "failed",
                                  message=" ".join(killmatrix.line(row).split()), seconds=row.result.seconds,
                                  fields={"killed": row.killed, "caught": ", ".join(row.result.caught),
                                          "first_kill": row.stage, "predicted": row.predicted or ""}))
    record.write(killmatrix.summary(rows), status)
    return status


def cmd_exhaustive(args) -> int:
    from dualsync.harness.explore import exhaustive
    bad = 0
    with database(args.postgres) as db:
        for name in args.scope or list(exhaustive.SCOPES):
            scope = exhaustive.SCOPES[name]
            for client in args.client:
                r = exhaustive.explore(scope, client, db, args.max_schedules)
                bound = "whole bound" if r.complete else f"budget of {args.max_schedules} reached"
                print(f"{scope.describe()} | {client}: {r.schedules} schedules ({r.pruned} equivalent "
                      f"pruned, {bound}) in {r.seconds:.1f}s, {r.schedules / r.seconds:.2f}/s: "
                      + (f"{len(r.failing)} failing schedules; violated {', '.join(r.violated)}"
                         if r.violated else "clean"))
                if r.failing:
                    print(f"  e.g. releasing {_labels(r.failing[0][0])}")
                bad += client == "coordinated" and not r.clean  # a bug found on legacy is the point
    return 1 if bad else 0


def _labels(path) -> str:
    return " > ".join(f"{d}/{b}:{op.split('/')[-1]}" for d, b, op, _n in path)


def cmd_hunt(args) -> int:
    """Each finding over the seeds asked for: the hunt (examples and seconds to the first
    detection, then medians), or with --tally the distinct programs each seed's run produced."""
    from dualsync.harness.explore import hunt
    run, line, total = ((hunt.tally, _tally_line, _tally_total) if args.tally
                        else (hunt.hunt_one, _detection_line, _medians_line))
    bad = 0
    with database(args.postgres) as db:
        for finding in args.finding or list(hunt.FINDINGS):
            rows = []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                rows.append(run(finding, seed, db, args.client, args.max_examples))
                print(f"{finding} seed {seed}: {line(rows[-1])}", flush=True)
            summary, ok = total(rows)
            print(f"{finding} on {args.client}: {summary}", flush=True)
            bad += not ok
    return 1 if bad else 0


def _detection_line(d) -> str:
    return ((f"{d.examples} examples, {d.seconds:.1f}s" if d.examples else "not found")
            + ("" if d.replayed else " (NONDETERMINISTIC: hypothesis's replay of that example did "
                                     "not fail the same way)"))


def _medians_line(rows) -> tuple[str, bool]:
    from dualsync.harness.explore import hunt
    medians = hunt.medians(rows)
    return json.dumps(medians), medians["median_examples"] is not None and all(r.replayed for r in rows)


def _tally_line(t) -> str:
    return f"{t.examples} examples, {t.programs} distinct programs it causes, {t.seconds:.1f}s"


def _tally_total(rows) -> tuple[str, bool]:
    examples, programs = sum(t.examples for t in rows), sum(t.programs for t in rows)
    seconds = sum(t.seconds for t in rows)
    return (f"{programs} programs in {examples} examples ({100 * programs / max(examples, 1):.2f}%), "
            + (f"one per {seconds / programs:.0f}s" if programs else f"none in {seconds:.0f}s")), True


def cmd_replay(args) -> int:
    from dualsync.harness.explore import corpus
    bad = 0
    with database(args.postgres) as db:
        for path in args.files or corpus.entries():
            ok, outcome, scenario = corpus.replay(path, args.client, db)
            bad += not ok
            print(f"{scenario.id} against {args.client}: {'as expected' if ok else 'NOT as expected'}"
                  f"\n{outcome.explain()}")
    return 1 if bad else 0


def cmd_explore(args) -> int:
    from dualsync.harness.explore import corpus
    from dualsync.harness.explore.profiles import explore
    with database(args.postgres) as db:
        r = explore(args.client, db, args.profile, seed=args.seed, shrink=not args.no_shrink,
                    shrink_seconds=args.shrink_seconds, determinism=args.determinism)
    print(f"{args.client} at {args.profile}: {r.examples} examples in {r.seconds:.1f}s")
    if r.failure is None:
        return 0
    print(r.failure.explanation)
    if args.save:
        path = corpus.save(r.failure, found_by=f"explore-{args.profile}")
        print(f"saved {path}\nreplay: {corpus.replay_command(path, args.client)}")
    return 1


def main(argv: list[str]) -> int:
    from dualsync.fakes.cli import Parser  # one-line errors, exit 2
    ap = Parser(prog="python -m dualsync.harness.explore", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--postgres", default=None, help="embedded | docker | auto | postgresql://...")
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    p = sub.add_parser("kill-matrix")
    p.add_argument("clients", nargs="*", help="default: every client in the catalogue")
    p.add_argument("--profile", default="pr")
    p.add_argument("--no-corpus", action="store_true", help="fresh exploration only (no corpus, no scenario files)")
    from dualsync.harness import reporting
    reporting.add_options(p)
    p = sub.add_parser("exhaustive")
    p.add_argument("--scope", action="append", help="default: every scope")
    p.add_argument("--client", action="append", default=None)
    p.add_argument("--max-schedules", type=int, default=2000)
    p = sub.add_parser("hunt")
    p.add_argument("--finding", action="append", help="DEEP-SYNC-001 | -002 | -003 (default all)")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--client", default="legacy")
    p.add_argument("--max-examples", type=int, default=None, help="default: the hunt profile's")
    p.add_argument("--tally", action="store_true",
                   help="never stop at a detection: count the distinct programs each finding causes")
    p = sub.add_parser("replay")
    p.add_argument("files", nargs="*")
    p.add_argument("--client", default="coordinated")
    p = sub.add_parser("explore")
    p.add_argument("--client", default="coordinated")
    p.add_argument("--profile", default="nightly")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--no-shrink", action="store_true")
    p.add_argument("--save", action="store_true")
    p.add_argument("--shrink-seconds", type=int, default=None, help="cap hypothesis's shrinking")
    p.add_argument("--determinism", type=int, default=None, metavar="N",
                   help="run every failing example and every N-th passing one twice and compare the "
                        "histories (default: the profile's; 0: never)")
    args = ap.parse_args(argv)
    from dualsync.harness import reporting
    if (bad := reporting.check(args)) is not None:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    if args.cmd == "exhaustive" and not args.client:
        args.client = ["legacy", "coordinated"]
    return {"kill-matrix": cmd_kill_matrix, "exhaustive": cmd_exhaustive, "hunt": cmd_hunt,
            "replay": cmd_replay, "explore": cmd_explore}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
