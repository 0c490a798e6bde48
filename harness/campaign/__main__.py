"""python -m dualsync.harness.campaign --client C --budget 10m|--examples N [--workers N]
       [--shard i/N] [--seed S] [--db DIR|redis://...] [--github-db owner/repo] [--out DIR]
python -m dualsync.harness.campaign merge DIR... --out DIR

Exit codes: 0 nothing found, 1 findings (or a run broke, or a worker died), 2 bad input,
130 interrupted (the report is written either way)."""

from __future__ import annotations

import sys
from pathlib import Path

from dualsync.harness.campaign.options import BadInput, Parser, options

PROG = "python -m dualsync.harness.campaign"


def merge_main(argv: list[str]) -> int:
    from dualsync.harness.campaign import report
    ap = Parser(prog=f"{PROG} merge", description="merge shard report directories into one")
    ap.add_argument("inputs", nargs="+", type=Path)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    try:
        merged = report.merge(args.inputs, args.out)
    except report.MergeError as exc:
        raise BadInput(str(exc)) from None
    print(f"merged {len(args.inputs)} report(s): {merged['examples']} examples, "
          f"{len(merged['runs'])} runs, {len(merged['findings'])} finding(s) -> {args.out / 'report.html'}")
    return 1 if merged["findings"] else 0


def run_main(argv: list[str]) -> int:
    from dualsync.harness.campaign import coordinator
    opts = options(argv)
    state, code = coordinator.run(opts)
    print(f"report: {opts.out / 'report.html'} ({len(state.findings)} finding(s), "
          f"{state.examples()} examples)")
    return code


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["merge"]:
            return merge_main(argv[1:])
        return run_main(argv)
    except BadInput as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
