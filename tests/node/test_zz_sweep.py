from tests.node.conftest import ADAPTER, ROOT

def test_sweep(node_modules, pg_database):
    from dualsync.harness import sweep
    from dualsync.harness.scenario import load
    s = load(ROOT / "suites/scenarios/crash-at-fault-points.yaml")
    for variant in ("fixed", "legacy"):
        r = sweep.sweep(s, f"cmd:node {ADAPTER} {variant}", pg_database)
        kinds = {}
        for run in r.runs:
            key = run.label.split("@")[0] if run.label else "?"
            kinds[key] = kinds.get(key, 0) + 1
        print(variant, len(r.runs), "runs;", sum(1 for x in r.runs if x.violated), "violated;", sorted({x.label for x in r.runs})[:60])
        print(variant, [(x.label, sorted(x.violated)) for x in r.runs if x.violated])
