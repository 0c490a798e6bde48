#!/usr/bin/env bash
# The PR tier, the steps ci/github/dualsync-pr.yml runs:  ci/pr.sh [STAGE...]  (default: all, in order)
#
#   contracts   the Supabase and CloudKit contract suites against the fakes
#   scenarios   every scenario file (and its fault-point sweep) against the client under test
#   corpus      the shrunk failures exploration found earlier, replayed
#   properties  hypothesis exploration of multi-device programs at the `pr` profile
#   meta        the kill matrix: the pr tier must kill every mutant, by the invariant it predicts
#
# Each stage writes $REPORTS/<stage>.xml (JUnit); meta also writes meta.json. Every stage runs even
# when an earlier one failed; the exit status is 1 if any failed, 2 for a bad stage name.
# Runs the dualsync that $PYTHON imports: by default this checkout's .venv (set up by ./dualsync), or,
# outside a checkout, python3 with dualsync installed (pip install dualsync).
# Environment: DUALSYNC_POSTGRES (embedded | docker | auto | DSN), DUALSYNC_CLIENT, PYTHON,
#   REPORTS (default reports/ci), PYTEST_WORKERS (default 2).
set -uo pipefail

STAGES=(contracts scenarios corpus properties meta)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPORTS="${REPORTS:-reports/ci}"
WORKERS="${PYTEST_WORKERS:-2}"

say() { echo "ci/pr.sh: $*" >&2; }

case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
esac
for stage in "$@"; do
  case " ${STAGES[*]} " in
    *" $stage "*) ;;
    *) say "unknown stage '$stage'; choose from: ${STAGES[*]}"; exit 2 ;;
  esac
done
[ $# -gt 0 ] || set -- "${STAGES[@]}"

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$HERE/../dualsync" ] && [ -f "$HERE/../pyproject.toml" ]; then
    "$HERE/../dualsync" py -c '' || exit 2                       # create or refresh .venv
    PYTHON="$HERE/../.venv/bin/python"
  else
    PYTHON=python3
  fi
fi
SRC="$("$PYTHON" -c 'import pathlib, dualsync.suites as s; print(pathlib.Path(s.__file__).resolve().parent.parent)')" \
  || { say "$PYTHON cannot import dualsync; install it (pip install dualsync) or set PYTHON"; exit 2; }
mkdir -p "$REPORTS"

pytest_stage() {  # $1 stage, rest: paths under the installed package
  local stage="$1"; shift
  # consider_namespace_packages: test modules import as dualsync.<folder>..., never as a top-level
  # `clients` or `contracts` that would shadow the project's own packages.
  "$PYTHON" -m pytest -q -p no:cacheprovider -o consider_namespace_packages=true --rootdir "$PWD" \
    -n "$WORKERS" --junitxml "$REPORTS/$stage.xml" -o junit_suite_name="dualsync $stage" "$@"
}

run_stage() {
  case "$1" in
    contracts)  pytest_stage contracts "$SRC/contracts" ;;
    scenarios)  pytest_stage scenarios "$SRC/suites/scenarios" ;;
    corpus)     pytest_stage corpus "$SRC/suites/corpus" ;;
    properties) DUALSYNC_PROFILE=pr pytest_stage properties "$SRC/suites/properties" ;;
    meta)       "$PYTHON" -m dualsync.harness.cli kill-matrix --junitxml "$REPORTS/meta.xml" --json "$REPORTS/meta.json" ;;
  esac
}

failed=()
for stage in "$@"; do
  say "== $stage"
  start=$SECONDS
  if run_stage "$stage"; then
    say "== $stage passed ($((SECONDS - start)) s)"
  else
    say "== $stage FAILED ($((SECONDS - start)) s)"
    failed+=("$stage")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  say "failed: ${failed[*]} (JUnit reports in $REPORTS/)"
  exit 1
fi
say "all passed: $* (JUnit reports in $REPORTS/)"
