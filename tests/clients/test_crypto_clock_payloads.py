"""Encryption with key versions, the per-device clock, seeded payloads."""

import asyncio

import pytest

from dualsync.clients.clock import DeviceClock, ManualClock, as_clock
from dualsync.clients.crypto import Keychain, KeyVault, open_sealed, seal
from dualsync.clients.errors import DecryptFailed, KeyUnavailable
from dualsync.clients.payloads import PayloadFactory


def test_a_sealed_payload_opens_on_another_device_of_the_same_vault():
    vault = KeyVault("seed-1")
    payload, version = seal(Keychain(vault), "u1", "daily_logs/r1", {"steps": 5})
    assert "steps" not in payload
    assert open_sealed(Keychain(KeyVault("seed-1")), "u1", "daily_logs/r1", payload, version) == {"steps": 5}


def test_another_users_key_or_another_row_does_not_open_it():
    keychain = Keychain(KeyVault())
    payload, version = seal(keychain, "u1", "daily_logs/r1", {"steps": 5})
    with pytest.raises(DecryptFailed):
        open_sealed(keychain, "u2", "daily_logs/r1", payload, version)
    with pytest.raises(DecryptFailed):
        open_sealed(keychain, "u1", "daily_logs/r2", payload, version)


def test_a_corrupted_payload_is_a_decrypt_failure():
    keychain = Keychain(KeyVault())
    payload, version = seal(keychain, "u1", "x/1", {"a": 1})
    with pytest.raises(DecryptFailed):
        open_sealed(keychain, "u1", "x/1", "A" + payload[1:], version)
    with pytest.raises(DecryptFailed):
        open_sealed(keychain, "u1", "x/1", "not base64!", version)


def test_a_lagging_keychain_lacks_a_rotated_key_until_it_syncs():
    vault = KeyVault()
    writer, reader = Keychain(vault), Keychain(vault, lagging=True)
    assert reader.known_version("u1") == 1
    vault.rotate("u1")
    payload, version = seal(writer, "u1", "x/1", {"a": 1})
    assert version == 2
    with pytest.raises(KeyUnavailable):
        open_sealed(reader, "u1", "x/1", payload, version)
    reader.sync("u1")
    assert open_sealed(reader, "u1", "x/1", payload, version) == {"a": 1}


def test_device_clock_adds_skew_and_sleeps_on_the_base():
    base = ManualClock(1000.0)
    clock = DeviceClock(base, skew=-30)
    assert clock.now() == 970.0
    asyncio.run(clock.sleep(5))
    assert base.now() == 1005.0


def test_as_clock_accepts_a_callable_and_refuses_junk():
    assert as_clock(lambda: 42.0).now() == 42.0
    with pytest.raises(TypeError, match="clock must have now"):
        as_clock("noon")
    with pytest.raises(ValueError, match="cannot go back"):
        ManualClock().advance(-1)


def test_payloads_follow_the_seed():
    first, again, other = PayloadFactory(7), PayloadFactory(7), PayloadFactory(8)
    values = [first.fields(t) for t in ("profiles", "daily_logs", "photos")]
    assert values == [again.fields(t) for t in ("profiles", "daily_logs", "photos")]
    assert values != [other.fields(t) for t in ("profiles", "daily_logs", "photos")]
    with pytest.raises(ValueError, match="unknown record type 'workouts'"):
        first.fields("workouts")
