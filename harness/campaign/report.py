"""What a campaign leaves in its output directory, whatever stopped it:

  report.json   the summary (options, runs with their seeds, findings, workers, throughput)
  junit.xml     one test case per run, a failure for each run that found something new
  report.html   one self-contained page (see html.py)
  findings/     one scenario file per verdict (+ its swimlane page when it was shrunk)

`merge` joins several shards' directories into one, findings deduplicated by verdict again.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from xml.etree import ElementTree as ET

from dualsync.harness.campaign import html

VERSION = 1


def summary(state) -> dict:
    o = state.opts
    ended = state.ended or time.time()
    findings = [{k: v for k, v in f.items() if k not in ("scenario", "swimlane")}
                | {"file": str(Path(f["file"]).resolve().relative_to(o.out.resolve()))
                   if Path(f["file"]).resolve().is_relative_to(o.out.resolve()) else f["file"],
                   "swimlane": bool(f.get("swimlane"))}
                for f in state.findings.values()]
    return {
        "version": VERSION, "client": o.client, "profile": o.profile, "base_seed": o.seed,
        "per_seed": o.per_seed, "shards": [f"{o.shard[0]}/{o.shard[1]}"],
        "budget": {"seconds": o.seconds, "examples": o.examples}, "workers": o.workers,
        "database": state.db, "replayable": state.replayable, "postgres": state.postgres,
        "started": state.started, "seconds": round(ended - state.started, 2),
        "interrupted": state.interrupted,
        "examples": state.examples(), "steps": state.steps(),
        "runs": state.runs, "seeds": sorted(r["seed"] for r in state.runs if r["kind"] == "run"),
        "findings": findings, "problems": state.problems, "errors": state.errors,
        "worker_stats": [{"worker": w.wid, "examples": w.total_examples, "steps": w.steps + w.run_steps,
                          "busy_seconds": round(w.busy_seconds, 2),
                          "examples_per_second": round(w.rate(), 3), "died": w.died,
                          "replaced": w.recycled,
                          "rss_mb_after_runs": [r["rss_mb"] for r in state.runs
                                                if r["worker"] == w.wid and r.get("rss_mb") is not None]}
                         for w in state.workers.values()],
        "throughput": {f"{o.shard[0]}/{o.shard[1]}": state.samples},
    }


def write(state) -> Path:
    return write_summary(summary(state), state.opts.out)


def write_summary(s: dict, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(s, indent=1))
    junit(s).write(out / "junit.xml", encoding="utf-8", xml_declaration=True)
    (out / "report.html").write_text(html.page(s, out))
    return out / "report.html"


def junit(s: dict) -> ET.ElementTree:
    by_verdict = {f["verdict"]: f for f in s["findings"]}
    cases = []
    for r in s["runs"]:
        name = f"replay of the example database" if r["kind"] == "replay" else f"run {r['k']} seed {r['seed']}"
        case = ET.Element("testcase", classname=f"dualsync.campaign.{s['client']}", name=name,
                          time=f"{r['seconds']:.3f}")
        for v in r.get("verdicts") or []:
            f = by_verdict.get(v, {})
            fail = ET.SubElement(case, "failure", message=v, type="finding")
            fail.text = f"{f.get('explanation', '')}\n\nreplay: {f.get('replay', '')}"
        if r["outcome"] in ("error", "lost"):
            ET.SubElement(case, "error", message=r.get("error") or r["outcome"], type=r["outcome"])
        if r["outcome"] == "stopped":
            ET.SubElement(case, "system-out").text = f"stopped: {r.get('error')}"
        cases.append(case)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    suite = ET.Element("testsuite", name=f"dualsync campaign {s['client']} {','.join(s['shards'])}",
                       tests=str(len(cases)), failures=str(failures), errors=str(errors),
                       time=f"{s['seconds']:.3f}")
    props = ET.SubElement(suite, "properties")
    for k in ("client", "profile", "base_seed", "examples", "steps", "interrupted", "database"):
        ET.SubElement(props, "property", name=k, value=str(s[k]))
    suite.extend(cases)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


class MergeError(Exception):
    pass


def merge(inputs: list[Path], out: Path) -> dict:
    """Several shards' report directories as one report in `out`."""
    parts = []
    for d in inputs:
        try:
            parts.append((d, json.loads((d / "report.json").read_text())))
        except FileNotFoundError:
            raise MergeError(f"{d}: no report.json there; give campaign output directories") from None
        except json.JSONDecodeError as exc:
            raise MergeError(f"{d / 'report.json'}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not parts:
        raise MergeError("merge: give at least one campaign output directory")
    first = parts[0][1]
    for d, s in parts:
        if s.get("version") != VERSION:
            raise MergeError(f"{d / 'report.json'}: report version {s.get('version')}, expected {VERSION}")
    out.mkdir(parents=True, exist_ok=True)
    findings: dict[str, dict] = {}
    for d, s in parts:
        for f in s["findings"]:
            kept = findings.get(f["verdict"])
            if kept is None or (f["shrunk"] and not kept["shrunk"]):
                _copy_finding(d, f, out)
                findings[f["verdict"]] = {**f, "seen": f["seen"] + (kept["seen"] if kept else 0)}
            else:
                kept["seen"] += f["seen"]
    runs = [r for _, s in parts for r in s["runs"]]
    merged = {
        **first, "shards": sorted({x for _, s in parts for x in s["shards"]},
                                  key=lambda t: tuple(int(n) for n in t.split("/"))),
        "started": min(s["started"] for _, s in parts),
        "seconds": max(s["seconds"] for _, s in parts),
        "interrupted": "; ".join(s["interrupted"] for _, s in parts if s["interrupted"]) or None,
        "examples": sum(s["examples"] for _, s in parts), "steps": sum(s["steps"] for _, s in parts),
        "workers": sum(s["workers"] for _, s in parts),
        "runs": runs, "seeds": sorted(r["seed"] for r in runs if r["kind"] == "run"),
        "findings": list(findings.values()),
        "problems": [p for _, s in parts for p in s["problems"]],
        "errors": [e for _, s in parts for e in s["errors"]],
        "worker_stats": [w | {"shard": s["shards"][0]} for _, s in parts for w in s["worker_stats"]],
        "throughput": {k: v for _, s in parts for k, v in s["throughput"].items()},
        "merged_from": [str(d) for d, _ in parts],
    }
    write_summary(merged, out)
    return merged


def _copy_finding(src: Path, f: dict, out: Path) -> None:
    for suffix in (".yaml", ".html"):
        path = (src / f["file"]).with_suffix(suffix)
        if path.is_file():
            target = (out / f["file"]).with_suffix(suffix)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
