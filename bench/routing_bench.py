"""Benchmark: updating the weights of an HTTPRoute rule, side by side in one run.

Every contender manages its own route (same rules, same InferencePool backends) in one namespace,
and on every route another team has added a rule of its own (``theirs``) before the contenders
run, the way it happens on shared gateways. Phases:

* ``create``  the route with rule ``chat`` (pools v1 90, v2 10), then the foreign rule is added
              from outside (untimed);
* ``rerun``   the same again: nothing to change;
* ``update``  the weights to 75 / 25;
* ``rerun_check`` the update again in check mode (``--check`` / ``--dry-run=server``).

Contenders:

* ``http_route``    ``gpuaas.orchestration.http_route`` (``ansible localhost -m``)
* ``k8s``           ``kubernetes.core.k8s`` with the route's definition (``state: present``, the
                    default client-side merge)
* ``k8s_ssa``       ``kubernetes.core.k8s`` with ``apply: true, server_side_apply: {field_manager: bench,
                    force_conflicts: true}`` (without it the apply fails on the foreign rule: 409)
* ``kubectl``       ``kubectl apply --server-side -f route.yaml``

Measured per phase: wall seconds; write requests to ``httproutes`` counted by the API server
(``apiserver_request_total``, dry runs included); whether the tool reported a change; and, after
``update``, whether the foreign rule is still on the route and whether the weights are 75 / 25.
Not a test: nothing here asserts. Writes bench/results/routing.json and prints a table.

Usage::

    .venv/bin/python bench/routing_bench.py [--reps 3] [--variants http_route,kubectl]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchlib import WRITE_VERBS, ansible_env, api_request_counts, cluster_kubeconfig, find_kubectl, logger

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
VARIANTS = ("http_route", "k8s", "k8s_ssa", "kubectl")
PHASES = ("create", "rerun", "update", "rerun_check")
POOL_GROUP = "inference.networking.k8s.io"
log = logger("routing_bench")


def route_definition(name, ns, w1, w2):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": [{"name": "inference-gateway"}],
                     "rules": [{"name": "chat", "matches": [{"path": {"type": "PathPrefix", "value": "/v1/chat"}}],
                                "backendRefs": [{"group": POOL_GROUP, "kind": "InferencePool", "name": "v1", "weight": w1},
                                                {"group": POOL_GROUP, "kind": "InferencePool", "name": "v2", "weight": w2}]}]}}


def http_route_args(name, ns, w1, w2):
    return {"name": name, "namespace": ns, "parent_refs": [{"name": "inference-gateway"}],
            "rules": [{"name": "chat", "matches": [{"path": {"type": "PathPrefix", "value": "/v1/chat"}}],
                       "backend_refs": [{"kind": "InferencePool", "name": "v1", "weight": w1},
                                        {"kind": "InferencePool", "name": "v2", "weight": w2}]}]}


def run_ansible(env, module, args, check):
    cmd = [str(VENV_BIN / "ansible"), "localhost", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-m", module, "-a", json.dumps(args)] + (["--check"] if check else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO), check=False)
    try:
        res = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        return False, "no JSON: %s %s" % (proc.stdout[-300:], proc.stderr[-300:])
    if res.get("failed"):
        return False, res.get("msg")
    return bool(res.get("changed")), None


def run_contender(variant, env, kubectl, name, ns, w1, w2, check):
    if variant == "http_route":
        return run_ansible(env, "gpuaas.orchestration.http_route", http_route_args(name, ns, w1, w2), check)
    if variant == "k8s":
        return run_ansible(env, "kubernetes.core.k8s", {"definition": route_definition(name, ns, w1, w2)}, check)
    if variant == "k8s_ssa":
        return run_ansible(env, "kubernetes.core.k8s", {"definition": route_definition(name, ns, w1, w2), "apply": True,
                                                        "server_side_apply": {"field_manager": "bench", "force_conflicts": True}}, check)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(route_definition(name, ns, w1, w2), f)
    cmd = [kubectl, "apply", "--server-side", "--field-manager=bench-kubectl", "--force-conflicts", "-f", f.name]
    if check:
        cmd.append("--dry-run=server")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    os.unlink(f.name)
    if proc.returncode:
        return False, proc.stderr.strip()[-300:]
    return "unchanged" not in proc.stdout, None


def route_writes(api_client):
    counts = api_request_counts(api_client)
    return int(sum(n for (verb, dummy_group, resource, sub, dummy_dry), n in counts.items()
                   if resource == "httproutes" and verb in WRITE_VERBS and not sub))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--output", default=str(REPO / "bench" / "results" / "routing.json"))
    opts = ap.parse_args()
    variants = [v for v in opts.variants.split(",") if v]
    kubeconfig = cluster_kubeconfig()
    env = ansible_env(kubeconfig)
    kubectl = find_kubectl()
    if "kubectl" in variants and not kubectl:
        log("no kubectl: leaving it out")
        variants.remove("kubectl")
    from kubernetes import config
    from kubernetes.dynamic import DynamicClient
    api_client = config.new_client_from_config(config_file=kubeconfig, context="gpuaas-local")
    dyn = DynamicClient(api_client)
    routes = dyn.resources.get(api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute")
    pools = dyn.resources.get(api_version="inference.networking.k8s.io/v1", kind="InferencePool")
    core = dyn.resources.get(api_version="v1", kind="Namespace")
    run = uuid.uuid4().hex[:6]
    ns = "bench-routing-" + run
    core.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    samples = []
    try:
        for pool in ("v1", "v2"):
            pools.create(namespace=ns, body={"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool",
                                             "metadata": {"name": pool},
                                             "spec": {"selector": {"matchLabels": {"app": pool}},
                                                      "targetPorts": [{"number": 8000}],
                                                      "endpointPickerRef": {"name": pool + "-epp", "port": {"number": 9002}}}})
        for rep in range(opts.reps):
            order = variants[rep % len(variants):] + variants[:rep % len(variants)]
            for variant in order:
                name = "r-%s-%d" % (variant.replace("_", "-"), rep)
                for phase in PHASES:
                    w1, w2 = (90, 10) if phase in ("create", "rerun") else (75, 25)
                    before = route_writes(api_client)
                    start = time.monotonic()
                    changed, error = run_contender(variant, env, kubectl, name, ns, w1, w2, phase == "rerun_check")
                    seconds = time.monotonic() - start
                    writes = route_writes(api_client) - before
                    sample = {"variant": variant, "rep": rep, "phase": phase, "seconds": round(seconds, 3),
                              "writes": writes, "changed": changed, "error": error}
                    if phase == "create":
                        live = routes.get(name=name, namespace=ns).to_dict()
                        rules = live["spec"]["rules"] + [{
                            "name": "theirs", "matches": [{"path": {"type": "PathPrefix", "value": "/theirs"}}],
                            "backendRefs": [{"group": POOL_GROUP, "kind": "InferencePool", "name": "v1"}]}]
                        routes.patch(name=name, namespace=ns, body={"spec": {"rules": rules}},
                                     content_type="application/merge-patch+json")
                    if phase == "update":
                        live = routes.get(name=name, namespace=ns).to_dict()
                        rule_names = [r.get("name") for r in live["spec"]["rules"]]
                        chat = [r for r in live["spec"]["rules"] if r.get("name") == "chat"]
                        sample["foreign_rule_kept"] = "theirs" in rule_names
                        sample["weights_ok"] = bool(chat) and [b.get("weight") for b in chat[0]["backendRefs"]] == [75, 25]
                    samples.append(sample)
                    tail = " ERROR %s" % error if error else ""
                    log("%s rep %d %s: %.2fs writes=%d changed=%s%s" % (variant, rep, phase, seconds, writes, changed, tail))
    finally:
        core.delete(name=ns)
    summary = {}
    for variant in variants:
        for phase in PHASES:
            rows = [s for s in samples if s["variant"] == variant and s["phase"] == phase]
            summary.setdefault(variant, {})[phase] = {
                "seconds": round(statistics.median(s["seconds"] for s in rows), 3),
                "writes_max": max(s["writes"] for s in rows), "changed_any": any(s["changed"] for s in rows),
                "errors": [s["error"] for s in rows if s["error"]],
                "foreign_rule_kept": all(s.get("foreign_rule_kept", True) for s in rows),
                "weights_ok": all(s.get("weights_ok", True) for s in rows)}
    base = summary.get("http_route")
    print("%-11s %-12s %8s %8s %7s %8s %13s %8s" % ("variant", "phase", "wall s", "x/coll", "writes", "changed",
                                                    "foreign kept", "weights"))
    for variant in variants:
        for phase in PHASES:
            s = summary[variant][phase]
            ratio = s["seconds"] / base[phase]["seconds"] if base else float("nan")
            print("%-11s %-12s %8.2f %8.2f %7d %8s %13s %8s" % (
                variant, phase, s["seconds"], ratio, s["writes_max"], s["changed_any"],
                s["foreign_rule_kept"] if phase == "update" else "", s["weights_ok"] if phase == "update" else ""))
    load = os.getloadavg()
    Path(opts.output).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.output).write_text(json.dumps({"run": run, "reps": opts.reps, "load_average": load, "summary": summary,
                                             "samples": samples, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                                            indent=1, sort_keys=True))
    failed = [s for s in samples if s["error"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
