"""The property tier has teeth: it fails on legacy (the shipped app) and names the invariant; the
kill matrix reads the catalogue's predictions as invariant names. (`coordinated` passing is the
suite itself: suites/properties.)"""

from dualsync import clients
from dualsync.harness.checkers.verdict import INVARIANTS
from dualsync.harness.explore import killmatrix
from dualsync.harness.explore.profiles import explore


def test_pr_tier_fails_on_legacy(pg_database):
    result = explore("legacy", pg_database, "pr", shrink=False)
    assert result.failure is not None, f"{result.examples} examples found nothing on legacy"
    assert "no-lost-write" in result.caught or "monotonic-read-your-writes" in result.caught


def test_every_catalogue_prediction_names_an_invariant():
    predicted = [killmatrix.slug(p) for _n, _d, p in clients.catalogue()]
    assert all(p is None or p in INVARIANTS for p in predicted)
    assert predicted.count(None) == 1  # only coordinated predicts nothing


def test_summary_counts_only_clients_that_should_die():
    from dualsync.harness.explore.profiles import Result
    from dualsync.harness.explore.machine import Failure
    dead = Result("legacy", "pr", 3, 1.0, Failure("legacy", {}, [], 0, None, ["no-lost-write"], ""))
    alive = Result("coordinated", "pr", 25, 9.0, None)
    rows = [killmatrix.Row("legacy", "no-lost-write", dead), killmatrix.Row("coordinated", None, alive)]
    assert killmatrix.summary(rows).endswith("killed 1/1\nkilled by the predicted invariant 1/1")
    assert all(r.ok for r in rows)
