"""The page around a swimlane diagram: what the scenario is (its id, title and notes), what its
file expects of this client and whether the run did that (green as expected, red not, amber an
open finding), each violated invariant with its messages (each once), the seed and the replay
command. Plain HTML that prints."""

from __future__ import annotations

import html
from typing import Any

from dualsync.harness.checkers.verdict import Verdict

RED, GREEN, AMBER, INK = "#c0392b", "#1e7e34", "#a66300", "#222"
STATUS_COLOURS = {"pass": (GREEN, "#e8f5e9"), "unexpected": (RED, "#fdecea"), "known": (AMBER, "#fff4e0")}


def details(run: Any) -> dict[str, Any]:
    """What the page says about a harness run (a runner.Run): steps, title, notes, expectation."""
    scenario, client = run.scenario, run.client
    want = run.expected
    ok, _why = run.judgement()
    wanted = "every invariant to hold" if want == "pass" else "violations of " + ", ".join(want)
    got = f"violated {', '.join(run.violated)}" if run.violated else "held every invariant"
    if ok:
        status = "pass"
        text = (f"As expected: every invariant holds, as the scenario file expects of {client}."
                if want == "pass" else
                f"As expected: {client} violates {', '.join(want)}, as the scenario file says it does.")
    elif client in scenario.known:
        status = "known"
        text = (f"Open finding: the scenario file expects {wanted}; {client} {got}. "
                f"The file lists it as known: {scenario.known[client]}")
    else:
        status = "unexpected"
        text = f"NOT as expected: the scenario file expects {wanted}; {client} {got}."
    return {"steps": [step_text(s) for s in scenario.steps], "subtitle": scenario.title,
            "notes": scenario.notes, "expectation": (status, text)}


def step_text(step: Any) -> str:
    """"login_sync A (wait false, as login)": the op, its device, its other arguments in short."""
    args = dict(step.args)
    head = [step.op] + ([str(args.pop("device"))] if isinstance(args.get("device"), str) else [])
    if list(args) in (["names"], ["name"]):  # release / wait: the names are the argument
        head.append(_short(args.pop(next(iter(args)))))
    rest = [f"{k} {_short(v)}" for k, v in args.items()]
    return " ".join(head) + (f" ({', '.join(rest)})" if rest else "")


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ", ".join(_short(v) for v in value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:  # a UUID
        return "…" + value[-4:]
    return text if len(text) <= 40 else text[:39] + "…"


def page(title: str, seed, replay: str, verdicts: list[Verdict], svg: str, *, subtitle: str = "",
         notes: str = "", expectation: tuple[str, str] | None = None) -> str:
    bad = [v for v in verdicts if not v.ok]
    items = "".join(f"<li><b>invariant {v.number} ({html.escape(v.invariant)})</b><ul>"
                    + "".join(f"<li>{html.escape(m)}</li>" for m in _once(x.message for x in v.violations))
                    + "</ul></li>" for v in bad)
    verdict_list = (f'<ul class="violations">{items}</ul>' if bad
                    else '<p class="holds">every invariant holds</p>')
    banner = ""
    if expectation:
        status, text = expectation
        fg, bg = STATUS_COLOURS[status]
        banner = (f'<p class="expectation {status}" style="color:{fg};background:{bg};border-left:6px solid {fg}">'
                  f"{html.escape(text)}</p>")
    about = (f'<p class="scenario-title">{html.escape(subtitle)}</p>' if subtitle else "") + (
        f'<p class="notes">{html.escape(notes)}</p>' if notes else "")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:16px;color:{INK}}} code{{background:#f4f4f4;padding:2px 4px}}
.scenario-title{{font-size:1.15em;font-weight:bold;margin:4px 0}} .notes{{max-width:60em;margin:4px 0 10px}}
.expectation{{padding:8px 12px;font-weight:bold;max-width:70em}}
.violations li{{margin:4px 0}} .violations{{color:{RED}}} .holds{{color:{GREEN};font-weight:bold}}
@media print{{svg{{max-width:100%;height:auto}}}}</style></head>
<body><h1>{html.escape(title)}</h1>
{about}{banner}
<p>seed <code>{html.escape(str(seed))}</code> · replay: <code>{html.escape(replay)}</code></p>
{verdict_list}
{svg}
</body></html>
"""


def _once(messages) -> list[str]:
    """Each message once, in order; one a checker found several times says how many."""
    counts: dict[str, int] = {}
    for m in messages:
        counts[m] = counts.get(m, 0) + 1
    return [m + (f" ({n} times)" if n > 1 else "") for m, n in counts.items()]
