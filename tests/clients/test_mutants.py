"""Every mutant differs from `coordinated` on some input: each scenario below runs once with
`coordinated` and once with the mutant (as two users of the same backends) and the observable
outcome must differ, with `coordinated` giving the right answer. No mutant is equivalent."""

import pytest

from dualsync.clients import catalogue
from tests.clients import mutant_scenarios, mutant_scenarios_15, mutant_scenarios_late  # noqa: F401 (they register)
from tests.clients.mutant_registry import SCENARIOS
from tests.clients.support import run


MUTANTS = [name.removeprefix("mutant:") for name, _, _ in catalogue() if name.startswith("mutant:")]


def test_every_mutant_has_a_scenario_and_there_are_at_least_twelve():
    assert len(MUTANTS) >= 12
    assert sorted(MUTANTS) == sorted(SCENARIOS)


@pytest.mark.parametrize("mutant", MUTANTS)
def test_mutant_differs_from_coordinated(rig, mutant):
    fn, correct = SCENARIOS[mutant]
    assert run(fn(rig, "coordinated", "c")) == correct
    assert run(fn(rig, f"mutant:{mutant}", "m")) != correct
