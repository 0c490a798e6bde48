"""Units: the change log (latest state once, paging, compaction) and the opaque tokens."""

from __future__ import annotations

import pytest

from dualsync.fakes.cloudkit.changelog import ChangeLog
from dualsync.fakes.cloudkit.errors import CloudKitError
from dualsync.fakes.cloudkit.tokens import Token, TokenCodec


def test_a_key_changed_twice_is_read_once_at_its_latest_position():
    log = ChangeLog()
    for k in "abca":
        log.touch(k)
    keys, resume, more = log.since(0, 10)
    assert keys == ["b", "c", "a"] and resume == 4 and more is False


def test_paging_resumes_after_the_last_returned_key():
    log = ChangeLog()
    for k in "abcde":
        log.touch(k)
    keys, resume, more = log.since(0, 2)
    assert (keys, resume, more) == (["a", "b"], 2, True)
    log.touch("a")                      # changes between pages move a key to the head
    keys, resume, more = log.since(resume, 10)
    assert (keys, more) == (["c", "d", "e", "a"], False) and resume == log.position


def test_an_exact_page_boundary_reports_no_more():
    log = ChangeLog()
    for k in "ab":
        log.touch(k)
    assert log.since(0, 2) == (["a", "b"], 2, False)


def test_filtered_keys_advance_the_final_token():
    log = ChangeLog()
    for k in ["x1", "y1", "x2", "y2"]:
        log.touch(k)
    keys, resume, more = log.since(0, 5, accept=lambda k: k.startswith("x"))
    assert keys == ["x1", "x2"] and resume == 4 and not more


def test_compaction_keeps_every_live_entry():
    log = ChangeLog()
    for i in range(2000):
        log.touch(f"k{i % 7}")
    assert len(log._pos) < 200
    keys, _, _ = log.since(0, 100)
    assert sorted(keys) == sorted(f"k{i}" for i in range(7))
    assert log.since(1993, 100)[0] == [f"k{i % 7}" for i in range(1993, 2000)]


def test_tokens_round_trip_and_look_opaque():
    codec = TokenCodec(b"k" * 16)
    tok = Token("zone", 3, 7, 0, 42, 1000)
    text = codec.encode(tok)
    assert codec.decode(text, "zone") == tok
    neighbour = codec.encode(Token("zone", 3, 7, 0, 43, 1000))
    same = sum(a == b for a, b in zip(text, neighbour))
    assert same < len(text) // 3, f"tokens for positions 42 and 43 share {same} characters: {text} {neighbour}"


@pytest.mark.parametrize("bad", ["", "x", "not base64!!", "A" * 300, 17, None])
def test_garbage_tokens_are_bad_requests(bad):
    with pytest.raises(CloudKitError) as e:
        TokenCodec(b"k" * 16).decode(bad, "zone")
    assert e.value.code == "BAD_REQUEST"


def test_tampered_foreign_and_wrong_kind_tokens_are_rejected():
    codec = TokenCodec(b"k" * 16)
    text = codec.encode(Token("zone", 1, 1, 0, 5, 0))
    flipped = text[:-3] + ("A" if text[-3] != "A" else "B") + text[-2:]
    for bad, kind in ((flipped, "zone"), (text, "database"), (TokenCodec(b"j" * 16).encode(Token("zone", 1, 1, 0, 5, 0)), "zone")):
        with pytest.raises(CloudKitError) as e:
            codec.decode(bad, kind)
        assert e.value.code == "BAD_REQUEST"
