"""Benchmark: draining a node with many pods, side by side in one run.

Contenders (each drains its own freshly prepared node with the same number of pods):

* ``node_drain``       gpuaas.orchestration.node_drain (parallel evictions, waits by UID)
* ``k8s_drain``        kubernetes.core.k8s_drain (sequential evictions; its own wait polls one pod
                       per ``wait_sleep``, so it is run without wait and the node is watched
                       until empty from outside, which is the most favourable setting for it)
* ``sequential_loop``  a plain Python loop: one eviction after the other, then wait until gone
* ``kubectl_drain``    ``kubectl drain`` when a kubectl binary is found (cluster bin dir or PATH)

Both Ansible modules run through ``ansible localhost -m`` so both pay the same start-up cost;
``ansible_overhead`` (a no-op module run) is measured too so it can be subtracted.
Time = from start of the tool until every original pod is gone from the node ("node empty").

Scenario ``pdb`` (``--pdb``) adds a PodDisruptionBudget ``maxUnavailable: 25%`` to the
Deployment: the eviction API answers 429 while replacements start; k8s_drain fails on the first
429, node_drain and kubectl retry.

Usage::

    .venv/bin/python bench/drain_bench.py [--pods 60] [--pdb] [--concurrency 10]

Writes bench/results/drain.json and prints a table with ratios (other / node_drain).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from benchlib import REPO, RUN_LABEL, VENV_BIN, ansible_env, cluster_kubeconfig, fake_node, find_kubectl, logger

log = logger("drain-bench")


class Bench:
    def __init__(self, kubeconfig, pods, concurrency, pdb, deployments=1, ready_delay=None):
        from kubernetes import client, config
        self.kubeconfig = kubeconfig
        self.api = config.new_client_from_config(config_file=kubeconfig, context="gpuaas-local")
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.policy = client.PolicyV1Api(self.api)
        self.pods = pods
        self.concurrency = concurrency
        self.pdb = pdb
        self.deployments = max(1, deployments)
        self.ready_delay = ready_delay
        self.run = uuid.uuid4().hex[:6]
        self.namespaces = []
        self.nodes = []
        self.env = ansible_env(kubeconfig)

    # ---------------------------------------------------------------- scenario
    def make_node(self, name, unschedulable):
        self.core.create_node(fake_node(name, self.run, self.pods + 20, unschedulable))
        self.nodes.append(name)

    def wait(self, fn, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() > deadline:
                raise RuntimeError("timed out waiting for %s" % what)
            time.sleep(0.25)

    def prepare(self, tag):
        """A namespace, a source node with ``pods`` Deployment pods, two empty target nodes."""
        ns = "bench-%s-%s" % (self.run, tag)
        self.core.create_namespace({"metadata": {"name": ns}})
        self.namespaces.append(ns)
        src = "bench-%s-%s-src" % (self.run, tag)
        targets = ["bench-%s-%s-t%d" % (self.run, tag, i) for i in range(2)]
        self.make_node(src, False)
        for t in targets:
            self.make_node(t, True)
        placement = {"nodeSelector": {RUN_LABEL: self.run},
                     "tolerations": [{"key": RUN_LABEL, "operator": "Equal", "value": self.run,
                                      "effect": "NoSchedule"}]}
        spec = {"containers": [{"name": "c", "image": "registry.invalid/app:1",
                                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                "terminationGracePeriodSeconds": 0}
        spec.update(placement)
        # nodeSelector to this round's nodes only
        spec["nodeSelector"] = {RUN_LABEL: self.run}
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [src] + targets}]}]}}}
        # replacements that take a while to become Ready (KWOK stage delay) make budgets bind
        annotations = {"gpuaas.io/ready-delay": self.ready_delay} if self.ready_delay else {}
        per = [self.pods // self.deployments + (1 if i < self.pods % self.deployments else 0)
               for i in range(self.deployments)]
        for i, replicas in enumerate(per):
            app = "web%d" % i
            self.apps.create_namespaced_deployment(ns, {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                         "template": {"metadata": {"labels": {"app": app}, "annotations": annotations},
                                      "spec": spec}}})
            if self.pdb:
                self.policy.create_namespaced_pod_disruption_budget(ns, {
                    "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": app},
                    "spec": {"maxUnavailable": "25%", "selector": {"matchLabels": {"app": app}}}})
        self.wait(lambda: len(self.ready_on(ns, src)) == self.pods, 180, "%d pods ready on %s" % (self.pods, src))
        for t in targets:
            self.core.patch_node(t, {"spec": {"unschedulable": None}})
        if self.pdb:
            self.wait(lambda: all((self.policy.read_namespaced_pod_disruption_budget("web%d" % i, ns).status.disruptions_allowed or 0) > 0
                                  for i in range(self.deployments)), 60, "PDBs synced")
        return ns, src

    def ready_on(self, ns, node):
        out = []
        for p in self.core.list_namespaced_pod(ns, field_selector="spec.nodeName=%s" % node).items:
            if p.metadata.deletion_timestamp is None and p.status.phase == "Running" and any(
                    c.type == "Ready" and c.status == "True" for c in (p.status.conditions or [])):
                out.append(p)
        return out

    def pods_on(self, ns, node):
        return self.core.list_namespaced_pod(ns, field_selector="spec.nodeName=%s" % node).items

    def wait_empty(self, ns, node, timeout=600):
        self.wait(lambda: not self.pods_on(ns, node), timeout, "node %s empty" % node)

    def cleanup(self):
        for ns in self.namespaces:
            try:
                self.core.delete_namespace(ns, grace_period_seconds=0)
            except Exception:  # noqa: BLE001
                pass
        for n in self.nodes:
            try:
                self.core.delete_node(n)
            except Exception:  # noqa: BLE001
                pass

    # ---------------------------------------------------------------- contenders
    def ansible_module(self, fqcn, args):
        cmd = [str(VENV_BIN / "ansible"), "localhost", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable, "-m", fqcn, "-a", json.dumps(args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, cwd=REPO, check=False)
        try:
            res = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError):
            return {"failed": True, "msg": (proc.stdout + proc.stderr)[-2000:]}
        return res

    def time_tool(self, name, fn, round_no=0):
        ns, src = self.prepare("%s-r%d" % (name.replace("_", "-"), round_no))
        log("%s: draining %s (%d pods)" % (name, src, self.pods))
        t0 = time.monotonic()
        ok, info = fn(src)
        t_tool = time.monotonic() - t0
        error = None
        try:
            self.wait_empty(ns, src, timeout=300 if ok else 15)
        except RuntimeError as e:
            error = str(e)
        t_empty = time.monotonic() - t0
        left = len(self.pods_on(ns, src))
        res = {"tool_seconds": round(t_tool, 2), "node_empty_seconds": round(t_empty, 2) if not error else None,
               "ok": bool(ok) and not error, "pods_left_on_node": left}
        if info:
            res["info"] = info
        if error:
            res["error"] = error
        log("%s: %s" % (name, res))
        return res

    def node_drain(self, src):
        r = self.ansible_module("gpuaas.orchestration.node_drain",
                                {"name": src, "concurrency": self.concurrency, "eviction_retry_delay": 0.5})
        return not r.get("failed"), {"evicted": len(r.get("evicted") or []), "msg": r.get("msg"),
                                     "module_duration": r.get("duration"),
                                     "eviction_requests": r.get("eviction_requests"),
                                     "phases": r.get("timings")}

    def k8s_drain(self, src):
        r = self.ansible_module("kubernetes.core.k8s_drain",
                                {"name": src, "delete_options": {"ignore_daemonsets": True}})
        return not r.get("failed"), {"msg": (r.get("msg") or r.get("result") or "")[:300]}

    def sequential_loop(self, src):
        pods = list(self.core.list_pod_for_all_namespaces(field_selector="spec.nodeName=%s" % src).items)
        self.core.patch_node(src, {"spec": {"unschedulable": True}})
        from kubernetes.client.rest import ApiException
        deadline = time.monotonic() + 300
        for p in pods:
            while True:
                try:
                    self.core.create_namespaced_pod_eviction(p.metadata.name, p.metadata.namespace, {
                        "apiVersion": "policy/v1", "kind": "Eviction",
                        "metadata": {"name": p.metadata.name, "namespace": p.metadata.namespace}})
                    break
                except ApiException as e:
                    if e.status == 404:
                        break
                    if e.status == 429 and time.monotonic() < deadline:
                        time.sleep(0.5)
                        continue
                    return False, {"msg": str(e)[:300]}
        return True, {"evicted": len(pods)}

    def kubectl_drain(self, src, kubectl):
        proc = subprocess.run([kubectl, "--kubeconfig", self.kubeconfig, "--context", "gpuaas-local", "drain", src,
                               "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=300s"],
                              capture_output=True, text=True, check=False)
        return proc.returncode == 0, {"rc": proc.returncode, "stderr_tail": proc.stderr[-300:]}

    def ansible_overhead(self):
        t0 = time.monotonic()
        self.ansible_module("ansible.builtin.ping", {})
        return round(time.monotonic() - t0, 2)


def _median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else round((values[mid - 1] + values[mid]) / 2, 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--pods", type=int, default=60)
    ap.add_argument("--deployments", type=int, default=1, help="spread the pods over this many Deployments")
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--pdb", action="store_true", help="a PodDisruptionBudget maxUnavailable 25%% per Deployment")
    ap.add_argument("--ready-delay", help="pods become Ready only after this delay (e.g. 2s): with --pdb, "
                    "budgets then hold evictions back while replacements start, as on real nodes")
    ap.add_argument("--rounds", type=int, default=1, help="repeat; the order of the tools rotates each round")
    ap.add_argument("--out", help="default bench/results/drain[_pdb][_dN].json")
    args = ap.parse_args()
    kubeconfig = cluster_kubeconfig()
    kubectl = find_kubectl()
    b = Bench(kubeconfig, args.pods, args.concurrency, args.pdb, args.deployments, args.ready_delay)
    tools = [("node_drain", b.node_drain), ("k8s_drain", b.k8s_drain), ("sequential_loop", b.sequential_loop)]
    if kubectl:
        tools.append(("kubectl_drain", lambda src: b.kubectl_drain(src, kubectl)))
    runs = dict((tool[0], []) for tool in tools)
    try:
        overhead = b.ansible_overhead()
        for rnd in range(args.rounds):
            order = tools[rnd % len(tools):] + tools[:rnd % len(tools)]
            for name, fn in order:
                runs[name].append(b.time_tool(name, fn, rnd))
    finally:
        b.cleanup()
    results = {}
    for name, rs in runs.items():
        results[name] = {
            "node_empty_seconds_median": _median([r.get("node_empty_seconds") for r in rs]),
            "tool_seconds_median": _median([r["tool_seconds"] for r in rs]),
            "ok": all(r["ok"] for r in rs), "runs": rs}
    base = results["node_drain"]["node_empty_seconds_median"]
    for name, r in results.items():
        if base and r.get("node_empty_seconds_median"):
            r["ratio_vs_node_drain"] = round(r["node_empty_seconds_median"] / base, 2)
    doc = {"benchmark": "drain", "pods": args.pods, "deployments": args.deployments,
           "concurrency": args.concurrency, "pdb": args.pdb, "ready_delay": args.ready_delay, "rounds": args.rounds,
           "ansible_overhead_seconds": overhead, "kubectl": kubectl,
           "unit": "seconds from tool start until every original pod is gone from the node (median of rounds)",
           "load_average": os.getloadavg(), "cpus": os.cpu_count(),
           "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "results": results}
    if args.out:
        out = Path(args.out)
    else:
        suffix = ("_pdb" if args.pdb else "") + ("_d%d" % args.deployments if args.deployments > 1 else "") + \
            ("_delay" if args.ready_delay else "")
        out = REPO / "bench" / "results" / ("drain%s.json" % suffix)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print("%-16s %10s %10s %8s %s" % ("tool", "returned", "empty", "ratio", "ok"))
    for name, r in results.items():
        print("%-16s %10s %10s %8s %s" % (name, r["tool_seconds_median"], r.get("node_empty_seconds_median"),
                                          r.get("ratio_vs_node_drain", "-"), r["ok"]))
    print("(medians of %d round(s)) ansible start-up overhead (both modules pay it): %ss; load average %s"
          % (args.rounds, overhead, ", ".join("%.1f" % x for x in os.getloadavg())))
    print("written: %s" % out)


if __name__ == "__main__":
    main()
