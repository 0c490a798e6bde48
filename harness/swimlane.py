"""The swimlane report: one HTML file with an SVG diagram of the interleaving a person can open.

Lanes, left to right: each device, Supabase, CloudKit, each device's disk. Time runs down, one row
per event. The events a violated invariant names are drawn in red, and the violations are listed
above the diagram with the seed and the command that replays the run.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Iterable

from dualsync.harness.checkers.ledger import Ledger, records
from dualsync.harness.checkers.verdict import Verdict
from dualsync.harness.history import Event, History

LANE_W, ROW_H, TOP, LEFT = 190, 22, 56, 40
LABEL_CHARS = 25  # what fits in a lane at 11px monospace
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
    now, before = records(e.value["snapshot"]), last.get(e.device, {})
    last[e.device] = now
    user, changed = ledger.devices.get(e.device, ""), []
    for key in sorted(set(now) | set(before)):
        if ledger.project(key[0], now.get(key)) != ledger.project(key[0], before.get(key)):
            w = ledger.attribute((user, *key), now.get(key))
            changed.append(f"…{key[1][-4:]}←{w.write_id if w else 'gone'}")
    by = e.process.split("/", 1)[1] if "/" in e.process else ""
    return f"persist{'/' + by[:2] if by else ''} " + (", ".join(changed[:2]) or "no change")


def render(history: History, verdicts: Iterable[Verdict], *, title: str, seed: int | str = "",
           replay: str = "") -> str:
    verdicts = list(verdicts)
    blamed = {i for v in verdicts for x in v.violations for i in x.events}
    cols = lanes(history)
    drawn = rows(history)
    width = LEFT + LANE_W * len(cols) + 20
    height = TOP + ROW_H * (len(drawn) + 1)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="7" refY="3" orient="auto">'
           '<path d="M0,0 L7,3 L0,6 z" fill="#888"/></marker></defs>']
    svg += _lane_backgrounds(cols, height)
    for n, (e, lane, text, target) in enumerate(drawn):
        svg += _event(n, e, lane, text, target, cols, e.index in blamed, width)
    svg.append("</svg>")
    return _page(title, seed, replay, verdicts, "\n".join(svg))


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


def _event(n, e, lane, text, target, cols, blamed, width) -> list[str]:
    y = TOP + ROW_H * n + ROW_H // 2
    colour = RED if blamed else (MUTED if e.type == "net" else INK)
    step = f"{e.step}" if e.step >= 0 else ""
    out = [f'<text x="8" y="{y + 4}" fill="{MUTED}">{step}</text>']
    if not lane:  # a World-wide note: a rule across all lanes
        out.append(f'<line x1="{LEFT}" y1="{y}" x2="{width - 20}" y2="{y}" stroke="{MUTED}" '
                   f'stroke-dasharray="4 3"/><text x="{LEFT + 4}" y="{y - 3}" fill="{MUTED}">'
                   f'{html.escape(text)}</text>')
        return out
    x = _x(cols, lane)
    if target and target in cols:
        tx = _x(cols, target)
        x1, x2 = (x, tx) if e.f == "request" else (tx, x)
        out.append(f'<line x1="{x1}" y1="{y + 5}" x2="{x2}" y2="{y + 5}" stroke="{colour}" '
                   f'stroke-width="1" marker-end="url(#a)"/>')
    cls = "event blamed" if blamed else "event"
    weight = ' font-weight="bold"' if blamed else ""
    out.append(f'<circle cx="{x}" cy="{y}" r="{6 if blamed else 4}" fill="{colour}"/>')
    out.append(f'<text class="{cls}" data-index="{e.index}" x="{x + 9}" y="{y + 4}" fill="{colour}"'
               f'{weight}><title>{html.escape(e.label())}: {html.escape(text)}</title>'
               f'{html.escape(text[:LABEL_CHARS])}</text>')
    return out


def _page(title: str, seed, replay: str, verdicts: list[Verdict], svg: str) -> str:
    bad = [v for v in verdicts if not v.ok]
    items = "".join(f"<li><b>invariant {v.number} ({html.escape(v.invariant)})</b><ul>"
                    + "".join(f"<li>{html.escape(x.message)}</li>" for x in v.violations)
                    + "</ul></li>" for v in bad) or "<li>every invariant holds</li>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:16px;color:{INK}}} code{{background:#f4f4f4;padding:2px 4px}}
.violations li{{margin:4px 0}} .violations{{color:{RED}}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>seed <code>{html.escape(str(seed))}</code> · replay: <code>{html.escape(replay)}</code></p>
<ul class="violations">{items}</ul>
{svg}
</body></html>
"""


def write(path: str | Path, history: History, verdicts: Iterable[Verdict], **kw) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(history, verdicts, **kw))
    return path
