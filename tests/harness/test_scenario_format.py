"""The scenario format: load, validate with errors that name file/line/field/fix, save round trip."""

from __future__ import annotations

import re

import pytest

from dualsync.harness import scenario as S

GOOD = """\
id: T-1
title: two devices race a login
guards: [no-lost-write]
tags: [finding]
seed: 3
devices:
  A: {user: alice}
  B: {user: alice, skew: -30}
steps:
  - sign_in: A
  - write: {device: A, type: daily_logs, id: 7f1c0d4e-0000-4000-8000-000000000001, fields: {steps: 1}}
  - hold: {path: supabase, as: s1, at: reply}
  - login_sync: {device: B, wait: false}
  - fail: {path: cloudkit, ck_error: THROTTLED, retry_after: 30}
  - crash: {device: A, point: mid_persist}
  - release: [s1]
  - advance: 31
  - settle
expect: {coordinated: pass, legacy: [no-lost-write]}
"""


def test_load_reads_every_part():
    s = S.loads(GOOD, "t.yaml")
    assert (s.id, s.seed, s.devices["B"]["skew"]) == ("T-1", 3, -30.0)
    assert [st.op for st in s.steps][:3] == ["sign_in", "write", "hold"]
    assert s.steps[6].args == {"names": ["s1"]} and s.steps[0].line == 10
    assert s.expected_for("legacy") == ["no-lost-write"] and s.expected_for("mutant:x") is None


def test_save_then_load_is_the_same_scenario(tmp_path):
    s = S.loads(GOOD, "t.yaml")
    back = S.load(S.save(s, tmp_path / "t.yaml"))
    assert back.to_data() == s.to_data()


@pytest.mark.parametrize("edit,where,words", [
    (("guards: [no-lost-write]", "guards: [no-lost-wrte]"), "t.yaml:3: guards.0", "unknown invariant"),
    (("{device: A, type: daily_logs", "{device: Z, type: daily_logs"), "t.yaml:11: steps.1.write.device",
     "declare it under devices"),
    (("  - settle", "  - teleport: A"), "t.yaml:18: steps.8", "use one of"),
    (("retry_after: 30}", "retry_after: soon}"), "t.yaml:14: steps.4.fail.retry_after", "expected int"),
    (("point: mid_persist", "point: mid_air"), "t.yaml:15: steps.5.crash.point", "use one of before_send"),
    (("legacy: [no-lost-write]", "legacy: maybe"), "t.yaml:19: expect.legacy", "write `pass`"),
    (("seed: 3\n", "seed: 3\nflavour: x\n"), "t.yaml:6: flavour", "unknown field"),
    (("  A: {user: alice}", "  A: {name: alice}"), "t.yaml:7: devices.A", "needs a user"),
])
def test_bad_input_names_file_line_field_and_fix(edit, where, words):
    with pytest.raises(S.ScenarioError) as err:
        S.loads(GOOD.replace(*edit), "t.yaml")
    file_line, field = where.split(": ")
    assert re.match(rf"{re.escape(file_line)}:\d+: {re.escape(field)}: ", str(err.value)), str(err.value)
    assert words in str(err.value)


def test_broken_yaml_is_reported_with_its_line():
    with pytest.raises(S.ScenarioError, match=r"t.yaml:3:1: yaml: expected the node content"):
        S.loads("id: x\nsteps: [\n", "t.yaml")
