"""The registry: clients.make, clients.catalogue, python -m dualsync.clients --list."""

import subprocess
import sys

import httpx
import pytest

from dualsync import clients


def test_catalogue_lists_legacy_coordinated_and_at_least_twelve_described_mutants():
    entries = clients.catalogue()
    names = [n for n, _, _ in entries]
    assert names[:2] == ["legacy", "coordinated"] and len(set(names)) == len(names)
    mutants = [e for e in entries if e[0].startswith("mutant:")]
    assert len(mutants) >= 12
    assert all(description and invariant for _, description, invariant in mutants)


def test_every_mutant_differs_from_coordinated_in_its_switches():
    from dualsync.clients.catalogue import BY_NAME
    base = BY_NAME["coordinated"].behaviour
    for name, variant in BY_NAME.items():
        if name.startswith("mutant:"):
            assert variant.behaviour != base, name


def test_list_prints_one_client_a_line():
    out = subprocess.run([sys.executable, "-m", "dualsync.clients", "--list"], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert len(lines) == len(clients.catalogue())
    assert lines[0].startswith("legacy ") and any(line.startswith("mutant:force-update ") for line in lines)


def test_make_builds_a_device_with_the_declared_policy(tmp_path):
    device = clients.make("mutant:force-update", device="A", http=httpx.AsyncClient(),
                          store_path=str(tmp_path / "a.json"))
    assert device.variant == "mutant:force-update" and device.policy.order == "client_modified_at"


def test_make_refuses_an_unknown_client_or_a_missing_device(tmp_path):
    with pytest.raises(ValueError, match="unknown client 'mutant:nope'.*legacy"):
        clients.make("mutant:nope", device="A", http=httpx.AsyncClient(), store_path=str(tmp_path / "a"))
    with pytest.raises(TypeError, match="device="):
        clients.make("legacy", http=httpx.AsyncClient(), store_path=str(tmp_path / "a"))
    with pytest.raises(TypeError, match="httpx.AsyncClient"):
        clients.make("legacy", device="A", http=object(), store_path=str(tmp_path / "a"))
