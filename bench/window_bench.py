"""Benchmark: a maintenance window over 20 nodes x 20 pods under binding budgets, side by side in one run.

Scenario (the same, freshly made, for each contender): ``--nodes`` window nodes, each carrying
the ``--pods`` pods of one Deployment of its own, with a PodDisruptionBudget ``maxUnavailable:
25%`` on it, and replacement pods that become Ready only ``--ready-delay`` after they start (a KWOK
stage), so the budgets bind: a node's pods can only go a quarter at a time, and the next quarter
only once the replacements of the last are Ready. Replacements go to ``--spares`` spare nodes
outside the window.

Contenders (each takes every window node out of service and back, as a maintenance loop does):

* ``window``           playbooks/maintenance_window.yml, batches of ``--batch`` nodes (no node task file)
* ``kubectl_loop``     ``kubectl drain`` then ``kubectl uncordon``, node after node
* ``k8s_drain_loop``   a playbook looping kubernetes.core.k8s_drain over the nodes (retried with
                       ``until`` because k8s_drain fails on the first 429), then uncordon

The floor: no drain that respects the budgets can finish faster than, per batch, the budget rounds
its nodes need (``pods / (25% of pods)`` = 4 here) times the ready delay: floor = batches x rounds x
ready delay (for one round per batch it is the issue's "batches x the longest time a replacement
needs to become ready").

Requests are counted from the API server's ``apiserver_request_total`` (writes to pods, the eviction
subresource, nodes; and all reads), before and after each contender.

Usage::

    .venv/bin/python bench/window_bench.py [--nodes 20] [--pods 20] [--batch 5] [--ready-delay 5s]

Writes bench/results/window.json and prints a table with ratios (other / window).
"""
import argparse
import json
import os
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from benchlib import REPO, RUN_LABEL, VENV_BIN, ansible_env, api_request_counts, cluster_kubeconfig, fake_node, \
    find_kubectl, logger

log = logger("window-bench")


def parse_seconds(text):
    m = re.match(r"^(\d+(?:\.\d+)?)(ms|s|m)?$", text)
    value, unit = float(m.group(1)), m.group(2) or "s"
    return value / 1000.0 if unit == "ms" else value * 60 if unit == "m" else value


class Bench:
    def __init__(self, kubeconfig, args):
        from kubernetes import client, config
        self.kubeconfig = kubeconfig
        self.api = config.new_client_from_config(config_file=kubeconfig, context="gpuaas-local")
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.policy = client.PolicyV1Api(self.api)
        self.args = args
        self.run = uuid.uuid4().hex[:6]
        self.namespaces, self.nodes = [], []
        self.env = ansible_env(kubeconfig)

    # ---------------------------------------------------------------- scenario
    def make_node(self, name, unschedulable, pods):
        self.core.create_node(fake_node(name, self.run, pods, unschedulable))
        self.nodes.append(name)

    def wait(self, fn, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() > deadline:
                raise RuntimeError("timed out waiting for %s" % what)
            time.sleep(0.5)

    def prepare(self, tag):
        a = self.args
        ns = "wbench-%s-%s" % (self.run, tag)
        self.core.create_namespace({"metadata": {"name": ns}})
        self.namespaces.append(ns)
        window = ["wb-%s-%s-w%02d" % (self.run, tag, i) for i in range(a.nodes)]
        spares = ["wb-%s-%s-s%d" % (self.run, tag, i) for i in range(a.spares)]
        for n in window:
            self.make_node(n, False, a.pods + 10)
        for n in spares:  # cordoned until every Deployment sits on its own node
            self.make_node(n, True, a.nodes * a.pods // max(1, a.spares) + 20)
        for i, node in enumerate(window):
            app = "app%02d" % i
            spec = {"containers": [{"name": "c", "image": "registry.invalid/app:1",
                                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                    "terminationGracePeriodSeconds": 0,
                    "tolerations": [{"key": RUN_LABEL, "operator": "Equal", "value": self.run, "effect": "NoSchedule"}],
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [
                            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node] + spares}]}]}}}}
            self.apps.create_namespaced_deployment(ns, {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app},
                "spec": {"replicas": a.pods, "selector": {"matchLabels": {"app": app}},
                         "template": {"metadata": {"labels": {"app": app},
                                                   "annotations": {"gpuaas.io/ready-delay": a.ready_delay}},
                                      "spec": spec}}})
            self.policy.create_namespaced_pod_disruption_budget(ns, {
                "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": app},
                "spec": {"maxUnavailable": "25%", "selector": {"matchLabels": {"app": app}}}})
        total = a.nodes * a.pods
        self.wait(lambda: len(self.ready(ns)) == total, 300, "%d pods ready" % total)
        for n in spares:
            self.core.patch_node(n, {"spec": {"unschedulable": None}})
        allowed = max(1, a.pods // 4)
        self.wait(lambda: all((p.status.disruptions_allowed or 0) >= allowed
                              for p in self.policy.list_namespaced_pod_disruption_budget(ns).items), 120, "PDBs synced")
        return ns, window

    def ready(self, ns):
        return [p for p in self.core.list_namespaced_pod(ns).items
                if p.metadata.deletion_timestamp is None and p.status.phase == "Running"
                and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))]

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

    def requests(self):
        """``{(verb, resource, subresource): count}`` from the API server's apiserver_request_total."""
        out = {}
        for (verb, dummy_group, resource, subresource, dummy_dry), n in api_request_counts(self.api).items():
            out[(verb, resource, subresource or "")] = out.get((verb, resource, subresource or ""), 0) + n
        return out

    @staticmethod
    def request_delta(before, after):
        d = dict((k, int(after.get(k, 0) - before.get(k, 0))) for k in after)
        evictions = sum(v for (verb, res, sub), v in d.items() if res == "pods" and sub == "eviction" and verb == "POST")
        node_writes = sum(v for (verb, res, sub), v in d.items() if res == "nodes" and not sub and verb in ("PATCH", "PUT"))
        reads = sum(v for (verb, res, sub), v in d.items() if verb in ("GET", "LIST"))
        return {"eviction_posts": evictions, "node_writes": node_writes, "reads": reads}

    # ---------------------------------------------------------------- contenders
    def playbook(self, path, extra):
        cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(REPO / "inventory" / "local"), str(path),
               "-e", json.dumps(extra)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, cwd=REPO, check=False)
        return proc.returncode == 0, {"rc": proc.returncode, "tail": "" if proc.returncode == 0 else proc.stdout[-1500:]}

    def window(self, nodes):
        return self.playbook(REPO / "playbooks" / "maintenance_window.yml", {
            "maintenance_window_name": "wb-%s-%d" % (self.run, int(time.time())),
            "maintenance_window_nodes": nodes, "maintenance_window_batch_size": str(self.args.batch),
            "maintenance_window_pause_disruption": False, "maintenance_window_ready_timeout": 120,
            "maintenance_window_drain": {"eviction_retry_delay": 0.5, "concurrency": 20,
                                         "eviction_timeout": 900, "wait_timeout": 900}})

    def kubectl_loop(self, nodes, kubectl):
        for n in nodes:
            base = [kubectl, "--kubeconfig", self.kubeconfig, "--context", "gpuaas-local"]
            proc = subprocess.run(base + ["drain", n, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=900s"],
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                return False, {"node": n, "stderr_tail": proc.stderr[-300:]}
            subprocess.run(base + ["uncordon", n], capture_output=True, text=True, check=True)
        return True, {}

    def k8s_drain_loop(self, nodes):
        book = Path(tempfile.mkdtemp()) / "k8s_drain_loop.yml"
        book.write_text("""
- hosts: gpu_clusters
  gather_facts: false
  tasks:
    - name: Drain each node (k8s_drain fails on the first 429, so retry it)
      kubernetes.core.k8s_drain:
        name: "{{ item }}"
        kubeconfig: "{{ gpuaas_kubeconfig }}"
        context: "{{ gpuaas_context }}"
        delete_options: {ignore_daemonsets: true, delete_emptydir_data: true, wait_timeout: 900}
      register: drained
      until: drained is succeeded
      retries: 900
      delay: 1
      loop: "{{ bench_nodes }}"
    - name: Uncordon
      kubernetes.core.k8s_drain:
        name: "{{ item }}"
        state: uncordon
        kubeconfig: "{{ gpuaas_kubeconfig }}"
        context: "{{ gpuaas_context }}"
      loop: "{{ bench_nodes }}"
""")
        # one node at a time, as the kubectl loop: drain, then uncordon, node after node
        ok, info = True, {}
        for n in nodes:
            ok, info = self.playbook(book, {"bench_nodes": [n]})
            if not ok:
                return ok, dict(info, node=n)
        return ok, info

    def time_it(self, name, fn):
        ns, nodes = self.prepare({"window": "win", "kubectl_loop": "kubectl", "k8s_drain_loop": "k8sdrain"}[name])
        log("%s: %d nodes x %d pods, budgets 25%%, ready delay %s" % (name, len(nodes), self.args.pods, self.args.ready_delay))
        before = self.requests()
        t0 = time.monotonic()
        ok, info = fn(nodes)
        seconds = time.monotonic() - t0
        after = self.requests()
        still_cordoned = [n for n in nodes if self.core.read_node(n).spec.unschedulable]
        left = sum(len(self.core.list_namespaced_pod(ns, field_selector="spec.nodeName=%s" % n).items) for n in nodes)
        res = {"seconds": round(seconds, 1), "ok": bool(ok) and not still_cordoned, "pods_left_on_window_nodes": left,
               "nodes_left_cordoned": len(still_cordoned), "requests": self.request_delta(before, after)}
        if info:
            res["info"] = info
        log("%s: %s" % (name, res))
        self.core.delete_namespace(ns, grace_period_seconds=0)
        return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--pods", type=int, default=20)
    ap.add_argument("--batch", type=int, default=5)
    ap.add_argument("--spares", type=int, default=5)
    ap.add_argument("--ready-delay", default="5s")
    ap.add_argument("--only", default="window,kubectl_loop,k8s_drain_loop")
    args = ap.parse_args()
    kubeconfig = os.environ.get("GPUAAS_KUBECONFIG") or cluster_kubeconfig()
    b = Bench(kubeconfig, args)
    kubectl = find_kubectl()
    contenders = {"window": b.window, "k8s_drain_loop": b.k8s_drain_loop}
    if kubectl:
        contenders["kubectl_loop"] = lambda nodes: b.kubectl_loop(nodes, kubectl)
    results = {}
    try:
        for name in args.only.split(","):
            if name in contenders:
                results[name] = b.time_it(name, contenders[name])
    finally:
        b.cleanup()
    delay = parse_seconds(args.ready_delay)
    batches = -(-args.nodes // args.batch)
    rounds = -(-args.pods // max(1, args.pods // 4))
    floor = batches * rounds * delay
    doc = {"scenario": {"nodes": args.nodes, "pods_per_node": args.pods, "batch": args.batch,
                        "budget": "maxUnavailable 25% per node's Deployment", "ready_delay": args.ready_delay,
                        "floor_seconds": floor, "floor": "batches (%d) x budget rounds per batch (%d) x ready delay (%ss)" % (
                            batches, rounds, delay)},
           "results": results, "date": time.strftime("%Y-%m-%d")}
    w = results.get("window", {}).get("seconds")
    if w:
        doc["ratios"] = dict(("%s/window" % k, round(v["seconds"] / w, 2)) for k, v in results.items() if k != "window")
        doc["ratios"]["window/floor"] = round(w / floor, 2)
    out = REPO / "bench" / "results" / "window.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print("%-16s %9s %6s %9s %9s %7s" % ("contender", "seconds", "ok", "evictions", "node_wr", "reads"))
    for k, v in results.items():
        r = v["requests"]
        print("%-16s %9.1f %6s %9d %9d %7d" % (k, v["seconds"], v["ok"], r["eviction_posts"], r["node_writes"], r["reads"]))
    print("floor %.1fs (%s); ratios %s" % (floor, doc["scenario"]["floor"], doc.get("ratios")))


if __name__ == "__main__":
    main()
