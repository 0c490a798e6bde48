"""The coordinator's bookkeeping without processes: a dead worker's run is handed out once more;
the live display shows each worker's examples, steps and rate and the findings so far."""

from __future__ import annotations

import io

from rich.console import Console

from dualsync.harness.campaign.coordinator import Campaign, WorkerState
from dualsync.harness.campaign.options import options
from dualsync.harness.campaign.progress import Progress


class _Proc:
    def __init__(self, alive: bool, exitcode: int | None = None):
        self.alive, self.exitcode = alive, exitcode

    def is_alive(self) -> bool:
        return self.alive


class _Say:
    def __init__(self):
        self.lines = []

    def say(self, text):
        self.lines.append(text)


def _campaign(tmp_path) -> Campaign:
    c = Campaign(options(["--client", "legacy", "--examples", "3", "--per-seed", "1",
                          "--out", str(tmp_path / "out"), "--db", str(tmp_path / "db")]))
    c.replay_pending = False
    c.state.workers = {1: WorkerState(1), 2: WorkerState(2)}
    return c


def test_a_dead_workers_run_is_handed_out_once_more(tmp_path):
    c, say = _campaign(tmp_path), _Say()
    first = c.next_task()
    c.in_flight[1] = first
    c.state.workers[1].seed = first["seed"]
    c._reap({1: _Proc(False, -9), 2: _Proc(True)}, say)
    assert c.state.workers[1].died == "signal 9" and "died (signal 9)" in say.lines[0]
    assert c.state.runs[-1]["outcome"] == "lost" and c.state.runs[-1]["seed"] == first["seed"]
    again = c.next_task()
    assert again["seed"] == first["seed"] and again["retried"]
    c.in_flight[2] = again
    c._reap({1: _Proc(False, -9), 2: _Proc(False, -9)}, say)
    assert [c.next_task()["k"], c.next_task()["k"], c.next_task()] == [1, 2, None]  # not thrice


def test_the_live_table_shows_workers_and_findings(tmp_path):
    c = _campaign(tmp_path)
    w = c.state.workers[1]
    w.examples, w.steps, w.run_examples, w.state, w.seed = 10, 200, 3, "run", 12345
    c.state.findings["legacy: no-lost-write"] = {"seen": 2, "shrunk": False}
    progress = Progress(c.state, live=True)
    progress.console = Console(file=io.StringIO(), width=120, force_terminal=True)
    progress.console.print(progress.render())
    text = progress.console.file.getvalue()
    for want in ("examples/s", "12345", "13", "200", "legacy: no-lost-write (seen 2x, shrinking)"):
        assert want in text, text
    assert "13 examples, 200 steps" in progress.line() and "1 finding(s)" in progress.line()
