"""The exhaustive enumerator: the independence relation it prunes by, and that it finds
DEEP-SYNC-001 in the login scope on legacy and nothing on coordinated."""

from dualsync.harness.explore import exhaustive
from dualsync.harness.explore.exhaustive import independent


def test_only_releases_of_different_devices_to_different_backends_commute():
    a = ("A", "supabase", "GET /rest/v1/profiles", 0)
    assert independent(a, ("B", "cloudkit", "POST /x", 0))
    assert not independent(a, ("B", "supabase", "POST /x", 0))   # one backend's state
    assert not independent(a, ("A", "cloudkit", "POST /x", 0))   # one device's store


def test_login_scope_finds_deep_sync_001_on_legacy_within_a_few_schedules(pg_database):
    report = exhaustive.explore(exhaustive.SCOPES["login"], "legacy", pg_database, max_schedules=2)
    assert report.schedules == 2 and not report.complete
    assert report.failing and "no-lost-write" in report.failing[0][1].violated


def test_login_scope_is_clean_on_coordinated_over_the_whole_bound(pg_database):
    report = exhaustive.explore(exhaustive.SCOPES["login"], "coordinated", pg_database)
    assert report.complete and report.schedules >= 1
    assert report.clean, report.failing[0][1].explain()
