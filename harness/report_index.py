"""index.html of a run of the main job: one row per scenario and client, whether the run went as
its file expects (green), not (red) or is an open finding (amber), the invariants it violated
and a link to its swimlane diagram."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, Iterable

from dualsync.harness.swimlane_page import INK, RED, STATUS_COLOURS, details

WORDS = {"pass": "as expected", "unexpected": "NOT as expected", "known": "open finding"}


def write(directory: str | Path, runs: Iterable[Any], *, title: str = "dualsync main: every scenario") -> Path:
    """Write directory/index.html for these runs (runner.Run, each with its report written)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    index = directory / "index.html"
    rows, counts = [], dict.fromkeys(WORDS, 0)
    for run in runs:
        status, sentence = details(run)["expectation"]
        counts[status] += 1
        fg, bg = STATUS_COLOURS[status]
        link = os.path.relpath(run.report, directory) if run.report else ""
        name = html.escape(run.scenario.id)
        cell = f'<a href="{html.escape(link)}">{name}</a>' if link else name
        rows.append(
            f'<tr class="{status}" style="background:{bg}">'
            f"<td>{cell}</td>"
            f"<td>{html.escape(run.scenario.title)}</td><td>{html.escape(run.client)}</td>"
            f'<td style="color:{fg};font-weight:bold" title="{html.escape(sentence)}" nowrap>{WORDS[status]}</td>'
            f"<td>{html.escape(', '.join(run.violated) or 'all hold')}</td></tr>")
    summary = ", ".join(f"{n} {WORDS[s]}" for s, n in counts.items() if n)
    index.write_text(f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:16px;color:{INK}}} table{{border-collapse:collapse}}
td,th{{padding:4px 10px;white-space:normal;text-align:left;border-bottom:1px solid #ddd;vertical-align:top}}
.unexpected td:first-child{{border-left:6px solid {RED}}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{len(rows)} runs: {html.escape(summary)}. Each scenario name opens its swimlane diagram.</p>
<table><tr><th>scenario</th><th>title</th><th>client</th><th>result</th><th>invariants violated</th></tr>
{chr(10).join(rows)}
</table></body></html>
""")
    return index
