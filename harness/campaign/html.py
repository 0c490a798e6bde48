"""The campaign's HTML report: one self-contained page (no scripts, no external files). Findings
with their swimlane diagrams (the SVG harness.swimlane draws) and replay commands, throughput over
time as an inline SVG chart, the runs, and anything that went wrong on the way."""

from __future__ import annotations

import html
import time
from pathlib import Path

CHART_W, CHART_H, PAD = 640, 200, 40
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
MAX_RUN_ROWS = 500


def _e(x) -> str:
    return html.escape(str(x))


def swimlane_svg(out: Path, f: dict) -> str:
    """The diagram of a finding from its swimlane page next to its scenario file."""
    page = out / Path(f["file"]).with_suffix(".html")
    if not f.get("swimlane") or not page.is_file():
        return ('<p class="nodiagram">no diagram: the finding was not shrunk before the campaign '
                'stopped; replay its file to draw it</p>')
    text = page.read_text()
    start, end = text.find("<svg"), text.rfind("</svg>")
    return text[start:end + 6] if start >= 0 and end > start else "<p>diagram unreadable</p>"


def throughput_svg(series: dict[str, list[list[float]]]) -> str:
    """Examples per second over time, one line per shard (rates between successive samples,
    smoothed over a few samples)."""
    lines, peak, longest = {}, 0.1, 1.0
    for name, samples in series.items():
        pts = []
        for i in range(1, len(samples)):
            j = max(0, i - 5)
            dt = samples[i][0] - samples[j][0]
            if dt > 0:
                pts.append((samples[i][0], (samples[i][1] - samples[j][1]) / dt))
        lines[name] = pts
        if pts:
            peak = max(peak, max(r for _, r in pts))
            longest = max(longest, pts[-1][0])
    x = lambda t: PAD + (CHART_W - 2 * PAD) * t / longest  # noqa: E731
    y = lambda r: CHART_H - PAD + -(CHART_H - 2 * PAD) * r / (peak * 1.1)  # noqa: E731
    svg = [f'<svg class="throughput" xmlns="http://www.w3.org/2000/svg" width="{CHART_W}" '
           f'height="{CHART_H}" font-family="sans-serif" font-size="11">',
           f'<line x1="{PAD}" y1="{CHART_H - PAD}" x2="{CHART_W - PAD}" y2="{CHART_H - PAD}" stroke="#444"/>',
           f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{CHART_H - PAD}" stroke="#444"/>',
           f'<text x="{CHART_W / 2}" y="{CHART_H - 8}" text-anchor="middle">seconds ({longest:.0f} s)</text>',
           f'<text x="4" y="{PAD - 8}">examples/s (peak {peak:.2f})</text>']
    for n, (name, pts) in enumerate(sorted(lines.items())):
        colour = COLOURS[n % len(COLOURS)]
        if pts:
            path = " ".join(f"{x(t):.1f},{y(r):.1f}" for t, r in pts)
            svg.append(f'<polyline class="rate" data-shard="{_e(name)}" fill="none" stroke="{colour}" '
                       f'stroke-width="2" points="{path}"/>')
        svg.append(f'<text x="{CHART_W - PAD - 60}" y="{PAD + 14 * n}" fill="{colour}">shard {_e(name)}</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def _finding(out: Path, f: dict) -> str:
    state = "shrunk" if f["shrunk"] else "not shrunk (the campaign stopped first)"
    return f"""<section class="finding">
<h3>{_e(f['verdict'])}</h3>
<p>{_e(f['how'])} · {state} · {f['steps']} steps · seen {f['seen']}× · first after {f['first_seen']} s
 · scenario <code>{_e(f['file'])}</code></p>
<p>replay: <code class="replay">{_e(f['replay'])}</code></p>
<pre>{_e(f['explanation'])}</pre>
<div class="diagram">{swimlane_svg(out, f)}</div>
</section>"""


def _memory(values) -> str:
    return f"{values[0]:.0f} → {values[-1]:.0f} (max {max(values):.0f})" if values else ""


def page(s: dict, out: Path) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s["started"]))
    budget = s["budget"]
    findings = "\n".join(_finding(out, f) for f in s["findings"]) or "<p>no findings</p>"
    runs = "".join(
        f"<tr class='{_e(r['outcome'])}'><td>{_e(r['k'])}</td><td>{_e(r['seed'])}</td>"
        f"<td>{r['worker']}</td><td>{r['examples']}</td><td>{r['steps']}</td>"
        f"<td>{r['seconds']:.1f}</td><td>{_e(r['outcome'])}</td>"
        f"<td>{_e(', '.join(r.get('verdicts') or []) or r.get('error') or '')}</td></tr>"
        for r in s["runs"][:MAX_RUN_ROWS])
    more = (f"<p>… and {len(s['runs']) - MAX_RUN_ROWS} more runs in report.json</p>"
            if len(s["runs"]) > MAX_RUN_ROWS else "")
    workers = "".join(f"<tr><td>{_e(w.get('shard', ''))}</td><td>{w['worker']}</td><td>{w['examples']}</td>"
                      f"<td>{w['steps']}</td><td>{w['examples_per_second']:.2f}</td>"
                      f"<td>{w.get('replaced', 0)}</td><td>{_memory(w.get('rss_mb_after_runs'))}</td>"
                      f"<td>{_e(w['died'] or '')}</td></tr>" for w in s["worker_stats"])
    trouble = "".join(f"<li>{_e(p)}</li>" for p in s["problems"] + s["errors"])
    status = (f"<p class='interrupted'>{_e(s['interrupted'])}: the report holds what was found "
              "until then</p>" if s["interrupted"] else "")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>dualsync campaign: {_e(s['client'])}</title>
<style>body{{font-family:sans-serif;margin:16px;color:#222}} code{{background:#f4f4f4;padding:2px 4px}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 6px;font-size:12px}}
tr.finding td{{color:#c00}} tr.error td,tr.lost td{{color:#a50}} .interrupted{{color:#a50;font-weight:bold}}
section.finding{{border-top:2px solid #c00;margin-top:16px}} pre{{white-space:pre-wrap;font-size:12px}}
.diagram{{overflow-x:auto}}</style></head>
<body><h1>dualsync campaign: {_e(s['client'])} at {_e(s['profile'])}</h1>
{status}
<p>started {started} · {s['seconds']:.0f} s · shards {_e(', '.join(s['shards']))} · {s['workers']} worker(s)
 · budget {_e(budget['seconds'] and f"{budget['seconds']:.0f} s" or f"{budget['examples']} examples")}
 · base seed {s['base_seed']}, {s['per_seed']} examples per seed
 · example database: {_e(s['database'])} ({s['replayable']} replayed first)</p>
<p class="totals"><b>{s['examples']}</b> examples, <b>{s['steps']}</b> steps, <b>{len(s['runs'])}</b> runs,
 <b>{len(s['findings'])}</b> finding(s)</p>
{f"<h2>Problems</h2><ul>{trouble}</ul>" if trouble else ""}
<h2>Throughput</h2>
{throughput_svg(s['throughput'])}
<h2>Findings</h2>
{findings}
<h2>Workers</h2>
<table><tr><th>shard</th><th>worker</th><th>examples</th><th>steps</th><th>examples/s</th><th>replaced</th><th>memory (MB, first run → last)</th><th>died</th></tr>
{workers}</table>
<h2>Runs</h2>
<table><tr><th>run</th><th>seed</th><th>worker</th><th>examples</th><th>steps</th><th>s</th><th>outcome</th><th>what</th></tr>
{runs}</table>{more}
</body></html>
"""
