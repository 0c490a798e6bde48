"""The notes app end to end: its own profile, its own client suite, the same World and checkers.

The scenario suites/apps/notes/notes-pending-edit-lost.yaml is run through the runner as any
scenario is: `naive` must lose A's pending edit and be reported for it, `careful` must keep every
invariant. A step the notes client cannot carry out is a StepError that says so, not a crash.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dualsync.harness import runner
from dualsync.harness.scenario import load, loads
from dualsync.harness.world import StepError

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "suites" / "apps" / "notes" / "notes-pending-edit-lost.yaml"
SUITE = "dualsync.clients.notes"


def test_naive_loses_the_pending_edit_and_the_report_says_which(notes_database, tmp_path):
    scenario = load(SCENARIO)
    result = runner.run(scenario, "naive", notes_database, reports=tmp_path, suite=SUITE)
    assert "no-lost-write" in result.violated
    lost = result.verdicts["no-lost-write"].violations[0]
    # A's third write (the offline edit) is the one named lost, and B's older edit the survivor.
    assert lost.message.startswith("write A.1.3@") and "is lost" in lost.message
    assert "holds instead write B.1.1@" in lost.message
    assert result.judgement() == (True, result.judgement()[1])  # every predicted invariant caught
    html = result.report.read_text()
    assert result.report.parent == tmp_path and "no-lost-write" in html
    history = [json.loads(line) for line in (tmp_path / "notes-pending-edit-lost-naive.history.jsonl").open()]
    commits = [e for e in history if e["type"] == "commit"]
    assert {e["process"] for e in commits} == {"supabase", "cloudkit"}
    assert all(e["value"]["decryptable"] and e["value"]["write_id"] for e in commits)  # plain rows, read by the harness
    assert result.saved is not None and load(result.saved).expect["naive"] == result.violated


def test_careful_keeps_every_invariant_on_the_suite_the_file_names(notes_database, tmp_path):
    scenario = load(SCENARIO)
    assert scenario.suite == SUITE and scenario.app == "notes"
    result = runner.run(scenario, "careful", notes_database, reports=tmp_path)  # suite from the file
    assert result.violated == [], "\n".join(v.explain() for v in result.verdicts.values() if not v.ok)
    assert result.verdicts["no-lost-write"].checked >= 8  # 2 records x (2 devices + 2 backends)
    assert result.verdicts["monotonic-read-your-writes"].checked > 0
    assert result.verdicts["backend-history"].checked > 0
    note = result.final["device:B"]["notes"]["note-packing"]
    assert note["fields"]["body"] == "passport, charger, adapter"
    for holder in ("supabase:alice", "cloudkit:alice"):
        assert result.final[holder]["notes"]["note-packing"]["write_id"] == note["write_id"]


@pytest.mark.parametrize("step, says", [
    ("- disk: {device: A, fault: io_error}", "(capability disk_faults)"),
    ("- rotate_key: alice", "no key to rotate"),
    ("- corrupt: {user: alice, type: notes, id: n-1}", "stores plaintext"),
])
def test_a_step_the_notes_client_cannot_do_is_a_step_error(notes_database, tmp_path, step, says):
    text = f"""
id: notes-cannot
app: notes
suite: {SUITE}
guards: [no-lost-write]
devices: {{A: {{user: alice}}}}
steps:
  - sign_in: A
  - write: {{device: A, type: notes, id: n-1, fields: {{body: hello}}}}
  - sync: {{device: A, path: supabase}}
  {step}
"""
    with pytest.raises(StepError) as caught:
        runner.run(loads(text, "cannot.yaml"), "careful", notes_database, reports=tmp_path)
    message = str(caught.value)
    assert message.startswith("cannot.yaml:") and "step 4 (" in message and "cannot do this" in message
    assert says in message


def test_the_harness_holds_nothing_of_the_notes_app():
    names = ("clients.notes", "notebooks", "Notebook", "org.example.notes", "trashed", "server_modified")
    found = [f"{p.relative_to(ROOT)}: {n}" for p in (ROOT / "harness").rglob("*.py")
             for n in names if n in p.read_text()]
    assert found == []


def test_the_replay_command_a_report_prints_runs_the_file_on_its_own_suite(tmp_path):
    import subprocess
    script = ROOT / "dualsync"
    wrong = subprocess.run([str(script), "py", "-m", "dualsync.harness", "replay", str(SCENARIO),
                            "--client=coordinated"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "--client=coordinated is not a client of dualsync.clients.notes; choose one of: naive, careful" in wrong.stderr
    replay = subprocess.run([str(script), "py", "-m", "dualsync.harness", "replay", str(SCENARIO),
                             "--client=naive"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "invariant 2 (no-lost-write): VIOLATED" in replay.stdout and replay.stdout.rstrip().endswith("as expected")


def test_typed_plain_fields_read_alike_on_every_holder(notes_database, tmp_path):
    """A bool is an INT64 on CloudKit and a timestamptz comes out of Postgres as a datetime; the
    harness reads each by its profile type, so the same note is the same everywhere."""
    text = f"""
id: notes-typed
app: notes
suite: {SUITE}
guards: [convergence]
devices: {{A: {{user: alice}}, B: {{user: alice}}}}
steps:
  - sign_in: A
  - sign_in: B
  - write: {{device: A, type: notes, id: n-1, fields: {{body: hi, pinned: true, edited_at: "2026-03-01T10:00:00+00:00"}}}}
  - sync: {{device: A, path: supabase}}
  - write: {{device: B, type: notes, id: n-2, fields: {{body: two, pinned: false}}}}
"""
    result = runner.run(loads(text, "typed.yaml"), "careful", notes_database, reports=None)
    assert result.violated == [], "\n".join(v.explain() for v in result.verdicts.values() if not v.ok)
    for holder in ("device:B", "supabase:alice", "cloudkit:alice"):
        assert result.final[holder]["notes"]["n-1"]["fields"] == {
            "body": "hi", "pinned": True, "edited_at": "2026-03-01T10:00:00+00:00"}, holder
        assert result.final[holder]["notes"]["n-2"]["fields"] == {"body": "two", "pinned": False}, holder


def test_a_notes_file_named_anywhere_runs_against_the_notes_clients_not_client(tmp_path):
    """pytest makes one item per client of the suite a file names, wherever the file is, and
    --client (a reference client) does not apply to it."""
    import shutil
    import subprocess
    copy = shutil.copy(SCENARIO, tmp_path / "elsewhere.yaml")
    done = subprocess.run([str(ROOT / "dualsync"), "test", "-n", "0", "-q", "--collect-only", "-p", "no:cacheprovider",
                           "--client=legacy", str(copy)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    items = [line.split("::")[-1] for line in done.stdout.splitlines() if "::" in line]
    assert items == ["notes-pending-edit-lost[naive]", "notes-pending-edit-lost[careful]"]


def test_careful_carries_deletes_and_a_re_create_through_both_backends(notes_database, tmp_path):
    text = f"""
id: notes-delete
app: notes
suite: {SUITE}
guards: [no-resurrection-no-phantom]
devices: {{A: {{user: alice}}, B: {{user: alice}}}}
steps:
  - sign_in: A
  - sign_in: B
  - write: {{device: A, type: notes, id: n-1, fields: {{body: one}}}}
  - write: {{device: A, type: notes, id: n-2, fields: {{body: two}}}}
  - sync: {{device: A, path: supabase}}
  - sync: {{device: A, path: cloudkit}}
  - login_sync: B
  - advance: 5
  - delete: {{device: B, type: notes, id: n-1}}
  - delete: {{device: B, type: notes, id: n-2}}
  - sync: {{device: B, path: cloudkit}}
  - advance: 5
  - write: {{device: B, type: notes, id: n-2, fields: {{body: two again}}}}
  - sync: {{device: B, path: supabase}}
  - sync: {{device: A, path: supabase}}
  - read: {{device: A, type: notes, id: n-1}}
"""
    result = runner.run(loads(text, "delete.yaml"), "careful", notes_database, reports=None)
    assert result.violated == [], "\n".join(v.explain() for v in result.verdicts.values() if not v.ok)
    for holder in ("device:A", "device:B", "supabase:alice", "cloudkit:alice"):
        assert result.final[holder]["notes"]["n-1"]["deleted"] is True, holder  # `trashed` on the backends
        assert result.final[holder]["notes"]["n-2"]["fields"] == {"body": "two again"}, holder
