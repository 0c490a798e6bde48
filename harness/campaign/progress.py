"""Live progress with rich: per worker its state, seed, examples, steps and examples per second;
the campaign's totals and findings so far. Where stderr is not a terminal (CI logs), a plain line
every PLAIN_EVERY seconds instead, and every finding or problem as it comes."""

from __future__ import annotations

import time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

PLAIN_EVERY = 15.0


class Progress:
    def __init__(self, state, live: bool | None):
        self.state = state
        self.console = Console(stderr=True, soft_wrap=True)
        self.live_on = self.console.is_terminal if live is None else live
        self.live: Live | None = None
        self.last_plain = time.monotonic()

    def __enter__(self) -> "Progress":
        o = self.state.opts
        budget = (f"{o.seconds:.0f}s" if o.seconds else "") + (f"{o.examples} examples" if o.examples else "")
        self.console.print(f"campaign: {o.client} at {o.profile}, shard {o.shard[0]}/{o.shard[1]}, "
                           f"{o.workers} worker(s), budget {budget}, base seed {o.seed}; "
                           f"examples in {self.state.db} ({self.state.replayable} to replay first); "
                           f"report in {o.out}", highlight=False)
        for p in self.state.problems:
            self.console.print(p, highlight=False)
        if self.live_on:
            self.live = Live(self.render(), console=self.console, refresh_per_second=2,
                             transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.update(self.render())
            self.live.__exit__(*exc)
            self.live = None
        self.console.print(self.line(), highlight=False)

    def say(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)

    def refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.render())
        elif time.monotonic() - self.last_plain >= PLAIN_EVERY:
            self.last_plain = time.monotonic()
            self.console.print(self.line(), highlight=False)

    def line(self) -> str:
        s = self.state
        elapsed = time.time() - s.started
        return (f"{elapsed:.0f}s: {s.examples()} examples, {s.steps()} steps, "
                f"{s.examples() / max(elapsed, 1e-9):.2f} examples/s over "
                f"{sum(1 for w in s.workers.values() if not w.died)} worker(s), "
                f"{len(s.runs)} runs, {len(s.findings)} finding(s)")

    def render(self) -> Group:
        t = Table(title=None, expand=False)
        for col in ("worker", "state", "seed", "examples", "steps", "examples/s"):
            t.add_column(col, justify="right" if col not in ("state",) else "left")
        for w in self.state.workers.values():
            t.add_row(str(w.wid), w.died and f"died ({w.died})" or w.state,
                      "" if w.seed is None else str(w.seed)[:10], str(w.total_examples),
                      str(w.steps + w.run_steps), f"{w.rate():.2f}")
        found = Text("\n".join(f"  {v} (seen {f['seen']}x{'' if f['shrunk'] else ', shrinking'})"
                               for v, f in self.state.findings.items()) or "  none yet")
        return Group(t, Text(self.line()), Text("findings:"), found)
