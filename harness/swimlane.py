"""The swimlane report: one HTML file with an SVG diagram of the interleaving a person can open.

Lanes, left to right: each device, Supabase, CloudKit, each device's disk. Time runs down. A rule
across the lanes opens each scenario step, numbered as in the file (its first step is step 1);
then one row per event, its label in full, wrapped inside its lane. The events a violated
invariant names are drawn in red. The page around it (swimlane_page.py) says what the scenario
is, what its file expects and whether the run did that.
"""

from __future__ import annotations

import html
import textwrap
from pathlib import Path
from typing import Iterable, Sequence

from dualsync.harness.checkers.ledger import Ledger, records
from dualsync.harness.checkers.verdict import Verdict
from dualsync.harness.history import AFTER_STEPS, Event, History
from dualsync.harness.swimlane_page import details, page  # noqa: F401 (details: for runner)

LANE_W, LINE_H, PAD, TOP, LEFT = 190, 13, 9, 56, 40
LABEL_CHARS = 25  # characters per label line: what fits right of the dot at 11px monospace
RED, INK, MUTED = "#c0392b", "#222", "#888"
LANE_COLOURS = {"device": "#eaf2fb", "backend": "#eef8ee", "disk": "#fbf4e6"}


def lanes(history: History) -> list[str]:
    devices = sorted({_device_of(e) for e in history if _device_of(e)})
    return devices + ["supabase", "cloudkit"] + [f"disk:{d}" for d in devices]


def _device_of(e: Event) -> str:
    if e.type == "note" or e.process in ("supabase", "cloudkit", "world"):
        return ""
    return e.device


def rows(history: History) -> list[tuple[Event, str, str, str]]:
    """(event, lane, text, target lane or "") for every event worth drawing."""
    ledger, out, last = Ledger(history), [], {}
    for e in history:
        row = _row(ledger, e, last)
        if row:
            out.append((e, *row))
    return out


def _row(ledger: Ledger, e: Event, last: dict) -> tuple[str, str, str] | None:
    v = e.value
    if e.type == "ok" and e.f in ("write", "delete"):
        what = "delete" if e.f == "delete" else f"write {v['write_id']}"
        return e.device, f"{what} {v['record_type']}/{v['record_id']}", ""
    if e.type in ("invoke", "ok", "fail", "info") and e.f not in ("write", "delete"):
        mark = {"invoke": "▶", "ok": "✓", "fail": "✗", "info": "?"}[e.type]
        path = e.process.split("/", 1)[1] if "/" in e.process else ""
        return e.device, f"{mark} {e.f} {path}".strip(), ""
    if e.type == "net" and e.f in ("reply", "hold", "hold_in_transaction", "release", "fail",
                                   "lose_reply"):
        backend = e.process.split("/", 1)[1]
        status = f" {v['status']}" if "status" in v else ""
        what = "⇄" if e.f == "reply" else e.f
        return e.device, f"{what}{status} {short_op(v.get('op', ''))}", backend
    if e.type == "commit":
        return e.process, f"commit {v.get('write_id') or '?'} {v['record_type']}/{v['record_id']}", ""
    if e.type == "persist":
        return f"disk:{e.device}", _persist_text(ledger, e, last), ""
    if e.type == "fault":
        return e.device, f"CRASH at {v.get('point')}", ""
    if e.type == "note" and e.f in ("heal", "quiescent", "corrupt", "rotate_key", "delete_zone"):
        return "", e.f, ""
    return None


def short_op(op: str) -> str:
    """"POST /database/1/<container>/development/private/records/modify" -> "POST records/modify"."""
    method, _, path = op.partition(" ")
    if "/rest/v1/" in path or "/auth/v1/" in path:
        return f"{method} {path.split('/v1/', 1)[1]}"
    return f"{method} {path.split('/private/', 1)[-1] if '/private/' in path else path}"


def _persist_text(ledger: Ledger, e: Event, last: dict) -> str:
    """"persist by cloudkit: profiles/…0001 ← gone, photos/…0002 ← B-0001.000002": every record
    whose stored value changed, and the write it now holds (or that it is gone)."""
    now, before = records(e.value["snapshot"]), last.get(e.device, {})
    last[e.device] = now
    user, changed = ledger.devices.get(e.device, ""), []
    for key in sorted(set(now) | set(before)):
        if ledger.project(key[0], now.get(key)) != ledger.project(key[0], before.get(key)):
            w = ledger.attribute((user, *key), now.get(key))
            changed.append(f"{key[0]}/…{key[1][-4:]} ← {w.write_id if w else 'gone'}")
    by = e.process.split("/", 1)[1] if "/" in e.process else ""
    return f"persist{' by ' + by if by else ''}: " + (", ".join(changed) or "no change")


def wrap(text: str) -> list[str]:
    return textwrap.wrap(text, LABEL_CHARS, break_on_hyphens=False) or [""]


def step_title(step: int, steps: Sequence[str]) -> str:
    if step >= AFTER_STEPS:
        return "quiescence: every device syncs until nothing changes"
    if step < 0:
        return "injected step"
    return f"step {step + 1}" + (f": {steps[step]}" if step < len(steps) else "")


def _opened(shown: int | None, step: int, known: int) -> list[int]:
    """The steps whose rule comes before an event of `step`, after `shown` (drawn last): every
    step of the file in between, those that recorded nothing (a hold) included."""
    if step < 0 or not known:
        return [step]
    first = 0 if shown is None or shown < 0 else shown + 1
    return list(range(first, min(step + 1, known))) + ([step] if step >= AFTER_STEPS else [])


def render(history: History, verdicts: Iterable[Verdict], *, title: str, seed: int | str = "",
           replay: str = "", steps: Sequence[str] = (), **about) -> str:
    """The page. `steps` names the file's steps ("login_sync A"); `about` is what
    swimlane_page.details gives for a run (scenario title, notes, expectation)."""
    verdicts = list(verdicts)
    blamed = {i for v in verdicts for x in v.violations for i in x.events}
    cols = lanes(history)
    width = LEFT + LANE_W * len(cols) + 20
    body, y, shown = [], TOP, None
    for e, lane, text, target in rows(history):
        if shown is None or e.step > shown:
            for s in _opened(shown, e.step, len(steps)):
                body += _rule(y + LINE_H, step_title(s, steps), width, bold=True)
                y += LINE_H + PAD
            shown = e.step
        elif e.step < shown and e.type == "invoke":  # an operation a step started and that ran later
            text += f" (from step {e.step + 1})"
        lines = [text] if not lane else wrap(text)
        body += _event(y, e, lane, text, lines, target, cols, e.index in blamed, width)
        y += LINE_H * len(lines) + PAD
    height = y + LINE_H
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="7" refY="3" orient="auto">'
           '<path d="M0,0 L7,3 L0,6 z" fill="#888"/></marker></defs>']
    svg += _lane_backgrounds(cols, height) + body + ["</svg>"]
    return page(title, seed, replay, verdicts, "\n".join(svg), **about)


def dot_x(index: int) -> int:
    """Where a lane's events sit: near its left edge, so the label has the lane's width."""
    return LEFT + LANE_W * index + 12


def _x(cols: list[str], lane: str) -> int:
    return dot_x(cols.index(lane))


def _lane_backgrounds(cols: list[str], height: int) -> list[str]:
    out = []
    for i, lane in enumerate(cols):
        kind = "disk" if lane.startswith("disk:") else "backend" if lane in ("supabase", "cloudkit") else "device"
        x = LEFT + LANE_W * i
        out.append(f'<rect class="lane" data-lane="{lane}" x="{x + 2}" y="10" width="{LANE_W - 4}" '
                   f'height="{height - 14}" fill="{LANE_COLOURS[kind]}" rx="6"/>')
        label = f"device {lane}" if kind == "device" else lane
        out.append(f'<text x="{x + LANE_W // 2}" y="32" text-anchor="middle" font-weight="bold" '
                   f'font-size="13" fill="{INK}">{html.escape(label)}</text>')
    return out


def _rule(y: int, text: str, width: int, bold: bool = False) -> list[str]:
    weight = ' font-weight="bold"' if bold else ""
    return [f'<line x1="8" y1="{y}" x2="{width - 20}" y2="{y}" stroke="{MUTED}" stroke-dasharray="4 3"/>',
            f'<text class="rule" x="{LEFT + 4}" y="{y - 3}" fill="{MUTED}"{weight}>{html.escape(text)}</text>']


def _event(y, e, lane, text, lines, target, cols, blamed, width) -> list[str]:
    colour = RED if blamed else (MUTED if e.type == "net" else INK)
    mid = y + LINE_H // 2
    if not lane:  # a World-wide note: a rule across all lanes
        return _rule(mid + 2, text, width)
    x = _x(cols, lane)
    out = []
    if target and target in cols:
        tx = _x(cols, target)
        x1, x2 = (x, tx) if e.f == "request" else (tx, x)
        out.append(f'<line x1="{x1}" y1="{mid + 8}" x2="{x2}" y2="{mid + 8}" stroke="{colour}" '
                   f'stroke-width="1" marker-end="url(#a)"/>')
    cls = "event blamed" if blamed else "event"
    weight = ' font-weight="bold"' if blamed else ""
    out.append(f'<circle cx="{x}" cy="{mid}" r="{6 if blamed else 4}" fill="{colour}"/>')
    spans = "".join(f'<tspan x="{x + 9}" dy="{0 if i == 0 else LINE_H}">{html.escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    out.append(f'<text class="{cls}" data-index="{e.index}" x="{x + 9}" y="{mid + 4}" fill="{colour}"'
               f'{weight}><title>{html.escape(e.label())}: {html.escape(text)}</title>{spans}</text>')
    return out


def write(path: str | Path, history: History, verdicts: Iterable[Verdict], **kw) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(history, verdicts, **kw))
    return path
