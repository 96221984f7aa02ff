"""Benchmark: applying a Kueue queue plan, side by side in one run.

The plan: ResourceFlavors, ClusterQueues in 2 cohorts (two flavors per queue, cpu/memory/GPU
quotas, borrowing limit, preemption) and LocalQueues spread over namespaces. Defaults are small
(2 flavors, 2 ClusterQueues, 2 LocalQueues in 2 namespaces) so that three repetitions of all
contenders fit in about six minutes on two shared cores; the plan of the design discussion is
``--flavors 4 --cluster-queues 24 --local-queues 24 --namespaces 8``. Every object is named
``bench-<run>-...`` and labelled ``gpuaas.io/bench=<run>``; all of them (and the namespaces) are
deleted at the end.

Contenders, each starting from an empty plan (the objects deleted before it starts):

* ``collection``   the ``kueue_queues`` role through ``playbooks/kueue_queues.yml`` with the plan
                   as extra vars and the role's defaults (``kueue_queues_wait: true``), as a user runs it;
                   the role makes ONE ``kueue_plan`` call for the whole plan
* ``k8s_loop``     a playbook with ``kubernetes.core.k8s`` (``state: present``) in loops over the
                   same objects as definitions, one task per kind
* ``k8s_list``     one ``kubernetes.core.k8s`` task with the list of all definitions
* ``kubectl``      ``kubectl apply --server-side -f plan.yaml`` (``--dry-run=server`` for check)
* ``engine_bulk``  the kueue_plan module's code path (``kueue_plan.run_plan``: one ``engine.run``) in
                   a plain Python process, without Ansible: the floor of the collection
* ``cluster_plan`` one ``gpuaas.orchestration.cluster_plan`` task over the whole plan (``wait: false``,
                   as the kubectl and kubernetes.core contenders do not wait; ``--parallel`` writes
                   per dependency level)
* ``plan_engine``  cluster_plan's code path (``plan.cluster.run_cluster_plan``) in a plain Python
                   process: what the cluster plan costs without Ansible

Phases: ``create`` (first apply), ``rerun`` (the same again: nothing to change) and
``rerun_check`` (the rerun in check mode: ``--check`` / ``--dry-run=server``). Between create and
rerun the bench waits (untimed) until every ClusterQueue and LocalQueue is Active, so every
contender reruns against the same settled state.

Measured per phase: wall time and CPU time (user + system of the tool's whole process tree, far
less sensitive than wall time to other load on a shared machine); HTTP requests sent to the API
server (Python contenders through a ``sitecustomize`` that counts urllib3 requests in every process
of the run, kubectl from its ``-v=6`` request log; discovery included); the engine's own
``api_calls`` where it runs; changed objects and changed tasks as the tool reports them; and
objects actually written (resourceVersion changed, seen from outside before and after); and
write requests to the plan's resources counted by the API server itself (``apiserver_request_total``).
Times are medians over the repetitions; changed/written counts are the maximum over them.

Usage (from the repository root)::

    .venv/bin/python bench/queues_bench.py [--reps 3] [--budget 330] [--variants collection,kubectl]
    # the 1000-object cluster plan, with a Markdown table and a plot (bench/README.md):
    .venv/bin/python bench/queues_bench.py --flavors 10 --cohorts 10 --cluster-queues 480 --local-queues 500 \
        --namespaces 50 --reps 1 --budget 0 --variants cluster_plan,plan_engine,kubectl,k8s_list,collection \
        --base cluster_plan --output bench/results/plan1000.json --markdown bench/results/plan1000.md \
        --plot bench/results/plan1000.png

Writes bench/results/queues.json and prints a table with ratios collection / contender (wall and
CPU). ``--budget`` stops starting repetitions that would end past it. Exits non-zero when a
contender fails.
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchlib import WRITE_VERBS, api_request_counts, cluster_kubeconfig, find_kubectl, logger

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CONTEXT = "gpuaas-local"
BENCH_LABEL = "gpuaas.io/bench"
GROUP = "kueue.x-k8s.io"
VERSION = "v1beta2"
API_VERSION = "%s/%s" % (GROUP, VERSION)
PHASES = ("create", "rerun", "rerun_check")
VARIANTS = ("collection", "cluster_plan", "k8s_loop", "k8s_list", "kubectl", "engine_bulk", "plan_engine")
# (kind, plural, namespaced), in dependency order
KINDS = (("ResourceFlavor", "resourceflavors", False),
         ("Cohort", "cohorts", False),
         ("ClusterQueue", "clusterqueues", False),
         ("LocalQueue", "localqueues", True))

# Loaded by every Python process of an Ansible run (PYTHONPATH): counts the HTTP requests that
# urllib3 (the kubernetes client's transport) sends, one line per request in $BENCH_HTTP_LOG.
SITECUSTOMIZE = '''
import os
import sys

_LOG = os.environ.get("BENCH_HTTP_LOG")


def _patch(module):
    pool = module.HTTPConnectionPool
    orig = pool.urlopen

    def urlopen(self, method, url, *args, **kwargs):
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, ("%s %s\\n" % (method, url.split("?")[0])).encode())
        finally:
            os.close(fd)
        return orig(self, method, url, *args, **kwargs)

    pool.urlopen = urlopen


class _Finder(object):
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "urllib3.connectionpool":
            return None
        import importlib.machinery
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def patched(module):
            exec_module(module)
            _patch(module)

        spec.loader.exec_module = patched
        return spec


if _LOG:
    sys.meta_path.insert(0, _Finder())
'''

# Contender ``engine_bulk``: the same ONE engine.run that the kueue_plan module makes (the plan
# module's code path, kueue_plan.run_plan), in a plain Python process: the floor without Ansible.
ENGINE_BULK = '''
import json
import sys

sys.path.insert(0, sys.argv[1])
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import plan as kueue_plan
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import get_client

plan = json.load(open(sys.argv[2]))
client = get_client({"kubeconfig": sys.argv[3], "context": sys.argv[4]})
params = dict(name=None, state="present", prune=False, force=False, wait=True, wait_timeout=60,
              topologies=[], cohorts=[], workload_priority_classes=[], admission_checks=[],
              resource_flavors=plan["kueue_queues_flavors"], cluster_queues=plan["kueue_queues_cluster_queues"],
              local_queues=plan["kueue_queues_local_queues"])
result = kueue_plan.run_plan(client, params, check_mode=sys.argv[5] == "check")
print(json.dumps({"changed": result["changed"], "summary": result["summary"], "api_calls": result["api_calls"],
                  "timings": result["timings"]}))
'''

# Contender ``plan_engine``: cluster_plan's code path (plan.cluster.run_cluster_plan) in a plain
# Python process: what the cluster plan costs without Ansible carrying the plan to a module.
PLAN_ENGINE = '''
import json
import sys

sys.path.insert(0, sys.argv[1])
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan import cluster
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import get_client

plan = json.load(open(sys.argv[2]))["bench_plan"]
client = get_client({"kubeconfig": sys.argv[3], "context": sys.argv[4]})
params = dict(state="present", prune=False, force=False, force_conflicts=True, wait=False, wait_timeout=60,
              parallel=int(sys.argv[6]), fail_on_drift=False, applyset_namespace="kube-system",
              manifests=[], capacity=[], node_taints=[], workloads=[])
for d in cluster.OBJECT_DESCRIPTIONS:
    params[d.section] = []
params.update(plan)
result = cluster.run_cluster_plan(client, params, check_mode=sys.argv[5] == "check")
print(json.dumps({"changed": result["changed"], "summary": result["summary"], "api_calls": result["api_calls"],
                  "timings": result["timings"]}))
'''

KUBECTL_REQUEST = re.compile(r'verb="(GET|POST|PUT|PATCH|DELETE)" url="https?://[^/"]+([^?"]*)|\] (GET|POST|PUT|PATCH|DELETE) https?://[^/ ]+([^? ]*)')
COLLECTIONS = ("resourceflavors", "clusterqueues", "localqueues", "workloads", "cohorts", "namespaces", "nodes", "pods")


def classify(method, path):
    """A request as DISCOVERY, LIST, GET, POST, PATCH, ... from its method and URL path."""
    parts = [p for p in path.split("/") if p]
    if path.startswith("/openapi") or path.startswith("/version") or (parts[:1] == ["api"] and len(parts) <= 2) or \
            (parts[:1] == ["apis"] and len(parts) <= 3):
        return "DISCOVERY"
    if method == "GET" and parts and parts[-1] in COLLECTIONS:
        return "LIST"
    return method


def children_cpu():
    """CPU seconds (user + system) of all finished and waited-for child processes so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed_run(cmd, env):
    """subprocess.run with wall time and the CPU time of the whole process tree it started."""
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, check=False)
    return proc, round(time.perf_counter() - t0, 3), round(children_cpu() - cpu0, 3)


log = logger("queues-bench")


# -- the plan ------------------------------------------------------------------------------

def make_plan(prefix, run, n_flavors, n_cqs, n_namespaces, n_lqs, n_cohorts=2, cohort_objects=False):
    """The plan as options of the collection's role (snake_case), plus the namespaces it needs.
    With ``cohort_objects`` the cohorts the queues name are Cohort objects of the plan too."""
    labels = {BENCH_LABEL: run}
    cohorts = [{"name": "%s-cohort%d" % (prefix, i), "labels": dict(labels)} for i in range(n_cohorts)] \
        if cohort_objects else []
    flavors = []
    for i in range(n_flavors):
        flavors.append({
            "name": "%s-gpu%d" % (prefix, i),
            "node_labels": {"gpuaas.io/gpu-class": "class-%d" % i, "gpuaas.io/pool": "%s-pool%d" % (prefix, i)},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "labels": dict(labels),
        })
    cqs = []
    for i in range(n_cqs):
        cohort = i % n_cohorts
        # each cohort shares two flavors; the first gets the bigger quota and may borrow
        names = []
        for j in (2 * cohort, 2 * cohort + 1):
            name = flavors[j % n_flavors]["name"]
            if name not in names:
                names.append(name)
        groups = [{"covered_resources": ["cpu", "memory", "nvidia.com/gpu"], "flavors": [
            {"name": name, "resources": [
                {"name": "cpu", "nominal_quota": str(64 // (k + 1))},
                {"name": "memory", "nominal_quota": "%dGi" % (512 // (k + 1))},
                dict({"name": "nvidia.com/gpu", "nominal_quota": str(8 // (k + 1))},
                     **({"borrowing_limit": "8"} if k == 0 else {})),
            ]} for k, name in enumerate(names)]}]
        cqs.append({
            "name": "%s-cq%02d" % (prefix, i),
            "cohort": "%s-cohort%d" % (prefix, cohort),
            "namespace_selector": {},
            "queueing_strategy": "BestEffortFIFO",
            "preemption": {"reclaim_within_cohort": "Any", "within_cluster_queue": "LowerPriority"},
            "resource_groups": groups,
            "labels": dict(labels),
        })
    namespaces = ["%s-ns%d" % (prefix, i) for i in range(n_namespaces)]
    lqs = []
    for i in range(n_lqs):
        lqs.append({
            "name": "%s-lq%02d" % (prefix, i),
            "namespace": namespaces[i % n_namespaces],
            "cluster_queue": cqs[i % n_cqs]["name"],
            "labels": dict(labels),
        })
    return {"flavors": flavors, "cohorts": cohorts, "cluster_queues": cqs, "local_queues": lqs, "namespaces": namespaces}


def _meta(entry, namespaced=False):
    meta = {"name": entry["name"], "labels": dict(entry["labels"])}
    if namespaced:
        meta["namespace"] = entry["namespace"]
    return meta


def definitions(plan):
    """The same objects as Kubernetes manifests: {kind: [manifest, ...]}."""
    out = {"ResourceFlavor": [], "Cohort": [], "ClusterQueue": [], "LocalQueue": []}
    for c in plan["cohorts"]:
        out["Cohort"].append({"apiVersion": API_VERSION, "kind": "Cohort", "metadata": _meta(c), "spec": {}})
    for f in plan["flavors"]:
        out["ResourceFlavor"].append({
            "apiVersion": API_VERSION, "kind": "ResourceFlavor", "metadata": _meta(f),
            "spec": {"nodeLabels": dict(f["node_labels"]), "tolerations": [dict(t) for t in f["tolerations"]]}})
    for q in plan["cluster_queues"]:
        groups = []
        for g in q["resource_groups"]:
            flavors = []
            for fl in g["flavors"]:
                res = []
                for r in fl["resources"]:
                    item = {"name": r["name"], "nominalQuota": r["nominal_quota"]}
                    if "borrowing_limit" in r:
                        item["borrowingLimit"] = r["borrowing_limit"]
                    res.append(item)
                flavors.append({"name": fl["name"], "resources": res})
            groups.append({"coveredResources": list(g["covered_resources"]), "flavors": flavors})
        out["ClusterQueue"].append({
            "apiVersion": API_VERSION, "kind": "ClusterQueue", "metadata": _meta(q),
            "spec": {"cohortName": q["cohort"], "namespaceSelector": {}, "queueingStrategy": q["queueing_strategy"],
                     "preemption": {"reclaimWithinCohort": q["preemption"]["reclaim_within_cohort"],
                                    "withinClusterQueue": q["preemption"]["within_cluster_queue"]},
                     "resourceGroups": groups}})
    for q in plan["local_queues"]:
        out["LocalQueue"].append({
            "apiVersion": API_VERSION, "kind": "LocalQueue", "metadata": _meta(q, namespaced=True),
            "spec": {"clusterQueue": q["cluster_queue"]}})
    return out


# -- result parsing ------------------------------------------------------------------------

def _is_loop(res):
    items = res.get("results")
    return isinstance(items, list) and bool(items) and all(isinstance(i, dict) and "ansible_loop_var" in i for i in items)


def _leaf_changed(res):
    if res.get("skipped"):
        return 0
    summary = res.get("summary")
    if isinstance(summary, dict) and "created" in summary:  # kueue_plan: one task, many objects
        return summary.get("created", 0) + summary.get("updated", 0) + summary.get("deleted", 0)
    inner = res.get("result")
    if isinstance(inner, dict) and isinstance(inner.get("results"), list):  # k8s with a list of definitions
        return sum(1 for r in inner["results"] if isinstance(r, dict) and r.get("changed"))
    return 1 if res.get("changed") else 0


def summarize_playbook(doc):
    """Changed objects, changed tasks, failures and the engine's api_calls of a json-callback run."""
    changed_objects = 0
    api_calls = 0
    has_api_calls = False
    module_seconds = 0.0
    errors = []
    for play in doc.get("plays") or []:
        for task in play.get("tasks") or []:
            for res in (task.get("hosts") or {}).values():
                leaves = res["results"] if _is_loop(res) else [res]
                for leaf in leaves:
                    changed_objects += _leaf_changed(leaf)
                    if isinstance(leaf.get("api_calls"), int):
                        has_api_calls = True
                        api_calls += leaf["api_calls"]
                    timings = leaf.get("timings")
                    if isinstance(timings, dict) and isinstance(timings.get("total"), (int, float)):
                        module_seconds += timings["total"]
                    if leaf.get("failed") or leaf.get("unreachable"):
                        errors.append("%s: %s" % ((task.get("task") or {}).get("name"), leaf.get("msg")))
    stats = doc.get("stats") or {}
    changed_tasks = sum(s.get("changed", 0) for s in stats.values())
    failures = sum(s.get("failures", 0) + s.get("unreachable", 0) for s in stats.values())
    if failures and not errors:
        errors.append("%d failed tasks" % failures)
    if not stats:
        errors.append("no play ran (no stats)")
    return {"changed_objects": changed_objects, "changed_tasks": changed_tasks,
            "engine_api_calls": api_calls if has_api_calls else None,
            "engine_seconds": round(module_seconds, 3) if has_api_calls else None, "errors": errors}


def parse_json_output(text):
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON in the output")
    return json.loads(text[start:])


# -- the bench -----------------------------------------------------------------------------

class Bench:
    def __init__(self, kubeconfig, args):
        from kubernetes import client, config
        self.kubeconfig = kubeconfig
        self.api = config.new_client_from_config(config_file=kubeconfig, context=CONTEXT)
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.api_exception = client.exceptions.ApiException
        self.run = uuid.uuid4().hex[:6]
        self.prefix = "bench-%s" % self.run
        self.plan = make_plan(self.prefix, self.run, args.flavors, args.cluster_queues, args.namespaces,
                              args.local_queues, n_cohorts=args.cohorts or 2, cohort_objects=bool(args.cohorts))
        self.parallel = args.parallel
        self.defs = definitions(self.plan)
        self.expected = sum(len(v) for v in self.defs.values())
        self.kubectl = find_kubectl()
        self.work = Path(tempfile.mkdtemp(prefix="queues-bench-"))
        self.http_log = self.work / "http.log"
        self.namespaces_made = []
        self._write_files()
        self.env = dict(os.environ, K8S_AUTH_KUBECONFIG=kubeconfig, K8S_AUTH_CONTEXT=CONTEXT,
                        KUBECONFIG=kubeconfig, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1",
                        ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_RETRY_FILES_ENABLED="0",
                        PYTHONPATH=os.pathsep.join(p for p in (str(self.work / "site"), os.environ.get("PYTHONPATH")) if p),
                        BENCH_HTTP_LOG=str(self.http_log),
                        PATH="%s:%s" % (VENV_BIN, os.environ.get("PATH", "")))

    # files -----------------------------------------------------------------------------
    def _write_files(self):
        (self.work / "site").mkdir()
        (self.work / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        (self.work / "engine_bulk.py").write_text(ENGINE_BULK)
        (self.work / "plan_engine.py").write_text(PLAN_ENGINE)
        role_vars = {"kueue_queues_flavors": self.plan["flavors"], "kueue_queues_cohorts": self.plan["cohorts"],
                     "kueue_queues_cluster_queues": self.plan["cluster_queues"],
                     "kueue_queues_local_queues": self.plan["local_queues"]}
        (self.work / "role_vars.json").write_text(json.dumps(role_vars))
        plan_vars = {"bench_plan": {"name": "bench-" + self.run, "resource_flavors": self.plan["flavors"],
                                    "cohorts": self.plan["cohorts"], "cluster_queues": self.plan["cluster_queues"],
                                    "local_queues": self.plan["local_queues"]}}
        (self.work / "plan_vars.json").write_text(json.dumps(plan_vars))
        k8s_vars = {"bench_flavors": self.defs["ResourceFlavor"] + self.defs["Cohort"],
                    "bench_cluster_queues": self.defs["ClusterQueue"],
                    "bench_local_queues": self.defs["LocalQueue"]}
        (self.work / "k8s_vars.json").write_text(json.dumps(k8s_vars))
        loop_tasks = []
        for title, var in (("ResourceFlavors", "bench_flavors"), ("ClusterQueues", "bench_cluster_queues"),
                           ("LocalQueues", "bench_local_queues")):
            loop_tasks.append({"name": title, "kubernetes.core.k8s": {"state": "present", "definition": "{{ item }}"},
                               "loop": "{{ %s }}" % var, "loop_control": {"label": "{{ item.metadata.name }}"}})
        plays = {
            "k8s_loop.yml": loop_tasks,
            "k8s_list.yml": [{"name": "All objects of the plan", "kubernetes.core.k8s": {
                "state": "present", "definition": "{{ bench_flavors + bench_cluster_queues + bench_local_queues }}"}}],
            "noop.yml": [{"name": "Nothing", "ansible.builtin.meta": "noop"}],
            # one cluster_plan task over the whole plan (its ApplySet parent is one more object);
            # without waiting for Active, as kubectl and kubernetes.core do not wait either
            "cluster_plan.yml": [{"name": "The whole plan", "gpuaas.orchestration.cluster_plan": {
                "name": "{{ bench_plan.name }}", "parallel": self.parallel, "wait": False,
                "resource_flavors": "{{ bench_plan.resource_flavors }}", "cohorts": "{{ bench_plan.cohorts }}",
                "cluster_queues": "{{ bench_plan.cluster_queues }}", "local_queues": "{{ bench_plan.local_queues }}"},
                "module_defaults": None}],
        }
        for fname, tasks in plays.items():
            for t in tasks:
                t.pop("module_defaults", None)
            play = [{"name": "bench %s" % fname, "hosts": "gpu_clusters", "gather_facts": False, "tasks": tasks,
                     "module_defaults": {"group/gpuaas.orchestration.orchestration": {
                         "kubeconfig": "{{ gpuaas_kubeconfig }}", "context": "{{ gpuaas_context }}"}}}]
            (self.work / fname).write_text(json.dumps(play, indent=1))
        docs = [d for k in KINDS for d in self.defs[k[0]]]
        (self.work / "plan.yaml").write_text("".join("---\n%s\n" % json.dumps(d) for d in docs))

    # cluster helpers -----------------------------------------------------------------------
    def _list(self, plural):
        # cluster-wide for namespaced kinds too: LocalQueues live in several namespaces
        sel = "%s=%s" % (BENCH_LABEL, self.run)
        return self.custom.list_cluster_custom_object(GROUP, VERSION, plural, label_selector=sel).get("items") or []

    def live_objects(self):
        out = {}
        for kind, plural, dummy in KINDS:
            for obj in self._list(plural):
                m = obj["metadata"]
                out[(kind, m.get("namespace"), m["name"])] = obj
        return out

    def make_namespaces(self):
        for ns in self.plan["namespaces"]:
            self.core.create_namespace({"metadata": {"name": ns, "labels": {BENCH_LABEL: self.run}}})
            self.namespaces_made.append(ns)

    def clean_objects(self, timeout=120):
        """Delete every object of this run (LocalQueues, ClusterQueues, ResourceFlavors) and wait."""
        for dummy, plural, namespaced in reversed(KINDS):
            for obj in self._list(plural):
                m = obj["metadata"]
                if (m.get("labels") or {}).get(BENCH_LABEL) != self.run:
                    continue
                try:
                    if namespaced:
                        self.custom.delete_namespaced_custom_object(GROUP, VERSION, m["namespace"], plural, m["name"])
                    else:
                        self.custom.delete_cluster_custom_object(GROUP, VERSION, plural, m["name"])
                except self.api_exception as e:
                    if e.status != 404:
                        raise
        deadline = time.monotonic() + timeout
        while True:
            left = self.live_objects()
            if not left:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("objects of run %s still present after %ss: %s" % (
                    self.run, timeout, sorted("%s/%s" % (k[0], k[2]) for k in left)[:10]))
            time.sleep(0.3)

    def settle(self, timeout=90):
        """Wait until every object exists and every ClusterQueue/LocalQueue is Active."""
        deadline = time.monotonic() + timeout
        while True:
            live = self.live_objects()
            not_ready = []
            for key, obj in live.items():
                if key[0] in ("ResourceFlavor", "Cohort"):  # no Active condition
                    continue
                conds = (obj.get("status") or {}).get("conditions") or []
                if not any(c.get("type") == "Active" and c.get("status") == "True" for c in conds):
                    not_ready.append("%s/%s" % (key[0], key[2]))
            if len(live) == self.expected and not not_ready:
                return None
            if time.monotonic() > deadline:
                return "%d/%d objects present, not Active: %s" % (len(live), self.expected, not_ready[:5])
            time.sleep(0.3)

    def write_requests(self):
        """Write requests (real and dry run) to the plan's resources counted so far by the API
        server itself (``apiserver_request_total``; other writers of these resources count too)."""
        plurals = set(p for dummy, p, dummy2 in KINDS)
        out = {}
        for (verb, dummy_group, plural, subresource, dummy_dry), n in api_request_counts(self.api).items():
            if plural in plurals and not subresource and verb in WRITE_VERBS:
                out[plural] = out.get(plural, 0) + int(n)
        return out

    def versions(self):
        return dict((k, o["metadata"]["resourceVersion"]) for k, o in self.live_objects().items())

    # tools ---------------------------------------------------------------------------------
    def _http_count(self):
        if not self.http_log.exists():
            return 0, {}
        by_method = {}
        lines = self.http_log.read_text().splitlines()
        for line in lines:
            method, url = (line.split(" ", 1) + [""])[:2]
            what = classify(method, re.sub(r"^https?://[^/]+", "", url))
            by_method[what] = by_method.get(what, 0) + 1
        return len(lines), by_method

    def ansible_playbook(self, playbook, extra_vars, check):
        cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(REPO / "inventory" / "local"), str(playbook),
               "-e", "@%s" % extra_vars]
        if check:
            cmd.append("--check")
        if self.http_log.exists():
            self.http_log.unlink()
        proc, seconds, cpu = timed_run(cmd, self.env)
        requests, by_method = self._http_count()
        try:
            out = summarize_playbook(parse_json_output(proc.stdout))
        except ValueError as e:
            out = {"changed_objects": None, "changed_tasks": None, "engine_api_calls": None, "engine_seconds": None,
                   "errors": ["unreadable output (%s): %s" % (e, (proc.stderr or proc.stdout)[-600:])]}
        if proc.returncode != 0 and not out["errors"]:
            out["errors"].append("ansible-playbook exited %d: %s" % (proc.returncode, proc.stderr[-600:]))
        out.update(seconds=seconds, cpu_seconds=cpu, http_requests=requests, http_by_method=by_method)
        return out

    def run_kubectl(self, check):
        cmd = [self.kubectl, "--kubeconfig", self.kubeconfig, "--context", CONTEXT, "apply", "--server-side",
               "-f", str(self.work / "plan.yaml"), "-v=6"]
        if check:
            cmd.append("--dry-run=server")
        proc, seconds, cpu = timed_run(cmd, self.env)
        by_method = {}
        for line in proc.stderr.splitlines():
            m = KUBECTL_REQUEST.search(line)
            if m:
                what = classify(m.group(1) or m.group(3), m.group(2) or m.group(4) or "")
                by_method[what] = by_method.get(what, 0) + 1
        applied = [ln for ln in proc.stdout.splitlines() if "serverside-applied" in ln]
        errors = []
        if proc.returncode != 0:
            errors.append("kubectl exited %d: %s" % (proc.returncode, "\n".join(
                ln for ln in proc.stderr.splitlines() if not KUBECTL_REQUEST.search(ln))[-600:]))
        # kubectl's server-side apply prints "serverside-applied" for every object, changed or not:
        # it does not tell what changed (changed_objects None); objects_written says what it wrote.
        return {"seconds": seconds, "cpu_seconds": cpu, "http_requests": sum(by_method.values()), "http_by_method": by_method,
                "changed_objects": None, "kubectl_serverside_applied": len(applied), "changed_tasks": None,
                "engine_api_calls": None,
                "engine_seconds": None, "errors": errors}

    def run_engine_bulk(self, check, script="engine_bulk.py", plan_file="role_vars.json", extra=()):
        cmd = [sys.executable, str(self.work / script), str(REPO / "collections"), str(self.work / plan_file),
               self.kubeconfig, CONTEXT, "check" if check else "apply"] + list(extra)
        if self.http_log.exists():
            self.http_log.unlink()
        proc, seconds, cpu = timed_run(cmd, self.env)
        requests, by_method = self._http_count()
        out = {"seconds": seconds, "cpu_seconds": cpu, "http_requests": requests, "http_by_method": by_method,
               "changed_objects": None, "changed_tasks": None, "engine_api_calls": None, "engine_seconds": None,
               "errors": []}
        try:
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            summary = res["summary"]
            out.update(changed_objects=summary["created"] + summary["updated"] + summary["deleted"],
                       engine_api_calls=res["api_calls"], engine_seconds=res["timings"]["total"])
        except (ValueError, KeyError, IndexError):
            out["errors"].append("%s exited %d: %s" % (script, proc.returncode, (proc.stderr or proc.stdout)[-600:]))
        return out

    def apply(self, variant, check):
        if variant == "cluster_plan":
            return self.ansible_playbook(self.work / "cluster_plan.yml", self.work / "plan_vars.json", check)
        if variant == "collection":
            return self.ansible_playbook(REPO / "playbooks" / "kueue_queues.yml", self.work / "role_vars.json", check)
        if variant == "engine_bulk":
            return self.run_engine_bulk(check)
        if variant == "plan_engine":
            return self.run_engine_bulk(check, "plan_engine.py", "plan_vars.json", [str(self.parallel)])
        if variant in ("k8s_loop", "k8s_list"):
            return self.ansible_playbook(self.work / ("%s.yml" % variant), self.work / "k8s_vars.json", check)
        return self.run_kubectl(check)

    def ansible_startup(self):
        r = self.ansible_playbook(self.work / "noop.yml", self.work / "k8s_vars.json", False)
        return r["seconds"]

    # one measurement ---------------------------------------------------------------------
    def measure(self, variant):
        """Clean, create, settle, rerun, rerun in check mode: {phase: sample}."""
        self.clean_objects()
        samples = {}
        for phase in PHASES:
            before = self.versions() if phase != "create" else {}
            writes_before = self.write_requests()
            r = self.apply(variant, check=(phase == "rerun_check"))
            writes_after = self.write_requests()
            r["write_requests"] = sum(writes_after.values()) - sum(writes_before.values())
            after = self.versions()
            r["objects_written"] = sum(1 for k, rv in after.items() if before.get(k) != rv)
            if phase == "create":
                r["objects_present"] = len(after)
                if len(after) != self.expected and not r["errors"]:
                    r["errors"].append("%d of %d objects present after the apply" % (len(after), self.expected))
            if r["errors"]:
                samples[phase] = r
                return samples
            if phase == "create":
                problem = self.settle()
                if problem:
                    r["errors"].append("not settled after create: %s" % problem)
                    samples[phase] = r
                    return samples
            samples[phase] = r
        return samples

    def cleanup(self):
        try:
            self.clean_objects()
            try:
                self.core.delete_namespaced_config_map("gpuaas-plan-bench-" + self.run, "kube-system")
            except self.api_exception as e:
                if e.status != 404:
                    raise
        finally:
            for ns in self.namespaces_made:
                try:
                    self.core.delete_namespace(ns)
                except self.api_exception as e:
                    if e.status != 404:
                        log("could not delete namespace %s: %s" % (ns, e.reason))
            shutil.rmtree(str(self.work), ignore_errors=True)


# -- report --------------------------------------------------------------------------------

def _median(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    m = statistics.median(values)
    return round(m, 3) if isinstance(m, float) else m


def _max(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def aggregate(raw):
    """raw[variant] = [ {phase: sample}, ... ] -> medians per variant and phase."""
    out = {}
    for variant, reps in raw.items():
        out[variant] = {}
        for phase in PHASES:
            samples = [r[phase] for r in reps if phase in r and not r[phase]["errors"]]
            if not samples:
                out[variant][phase] = None
                continue
            out[variant][phase] = {
                "seconds": _median([s["seconds"] for s in samples]),
                "seconds_all": [s["seconds"] for s in samples],
                "cpu_seconds": _median([s["cpu_seconds"] for s in samples]),
                "cpu_seconds_all": [s["cpu_seconds"] for s in samples],
                "http_requests": _median([s["http_requests"] for s in samples]),
                "engine_api_calls": _median([s["engine_api_calls"] for s in samples]),
                "engine_seconds": _median([s["engine_seconds"] for s in samples]),
                "changed_objects": _max([s["changed_objects"] for s in samples]),
                "changed_tasks": _max([s["changed_tasks"] for s in samples]),
                "objects_written": _max([s["objects_written"] for s in samples]),
                "write_requests": _median([s.get("write_requests") for s in samples]),
                "reps": len(samples),
            }
    return out


def ratios(medians, key="seconds", base="collection"):
    """{variant: {phase: base median / variant median}} of ``key`` (wall or CPU seconds)."""
    out = {}
    for variant in medians:
        if variant == base:
            continue
        out[variant] = {}
        for phase in PHASES:
            a, b = medians.get(base, {}).get(phase), medians[variant].get(phase)
            out[variant][phase] = round(a[key] / b[key], 2) if a and b and b[key] else None
    return out


def _fmt(v, spec="%s"):
    return "-" if v is None else spec % v


def markdown(medians, base, startup, plan):
    """The results as a Markdown table: per variant and phase the wall time, base/variant, the
    CPU time and the write requests the API server counted."""
    lines = ["%d objects (%s); medians; ratio = %s / contender (below 1: %s is faster); writes = write "
             "requests counted by the API server (`apiserver_request_total`); ansible-playbook start-up %ss" % (
                 plan["objects"], ", ".join("%s %s" % (v, k.replace("_", " ")) for k, v in plan.items() if k != "objects"),
                 base, base, startup), "",
             "| variant | " + " | ".join("%s wall s | ratio | writes" % p for p in PHASES) + " |",
             "|---|" + "---|---|---|" * len(PHASES)]
    for variant, phases in medians.items():
        cells = []
        for phase in PHASES:
            m, b = phases.get(phase), (medians.get(base) or {}).get(phase)
            if m is None:
                cells += ["failed", "-", "-"]
                continue
            ratio = (b["seconds"] / m["seconds"]) if b and m["seconds"] else None
            cells += ["%.2f" % m["seconds"], _fmt(ratio, "%.2f"), _fmt(m.get("write_requests"))]
        lines.append("| %s | %s |" % (variant, " | ".join(cells)))
    return "\n".join(lines) + "\n"


def plot(medians, path, title):
    """A bar chart (PNG) of the wall time per variant and phase, write requests on the bars."""
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=True)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    variants = list(medians)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(variants))
    for i, variant in enumerate(variants):
        xs, ys, labels = [], [], []
        for j, phase in enumerate(PHASES):
            m = medians[variant].get(phase)
            if m is None:
                continue
            xs.append(j + i * width)
            ys.append(m["seconds"])
            labels.append(_fmt(m.get("write_requests")))
        bars = ax.bar(xs, ys, width, label=variant)
        for rect, label in zip(bars, labels):
            ax.annotate("%s w" % label, (rect.get_x() + rect.get_width() / 2, rect.get_height()), ha="center",
                        va="bottom", fontsize=7)
    ax.set_xticks([j + width * (len(variants) - 1) / 2 for j in range(len(PHASES))])
    ax.set_xticklabels(PHASES)
    ax.set_ylabel("wall seconds (median)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def print_table(medians, rat, rat_cpu, startup):
    head = "%-11s %-11s %7s %7s %7s %7s %5s %6s %7s %8s %7s" % (
        "variant", "phase", "wall s", "coll/x", "cpu s", "coll/x", "http", "engine", "chg obj", "chg task", "written")
    print(head)
    print("-" * len(head))
    for variant, phases in medians.items():
        for phase in PHASES:
            m = phases.get(phase)
            if m is None:
                print("%-11s %-11s %7s" % (variant, phase, "FAILED"))
                continue
            if variant == "collection":
                r_wall = r_cpu = "1.00"
            else:
                r_wall = _fmt(rat.get(variant, {}).get(phase), "%.2f")
                r_cpu = _fmt(rat_cpu.get(variant, {}).get(phase), "%.2f")
            print("%-11s %-11s %7.2f %7s %7.2f %7s %5s %6s %7s %8s %7s" % (
                variant, phase, m["seconds"], r_wall, m["cpu_seconds"], r_cpu, _fmt(m["http_requests"]),
                _fmt(m["engine_api_calls"]), _fmt(m["changed_objects"]), _fmt(m["changed_tasks"]),
                _fmt(m["objects_written"])))
    print("medians (changed/written: max over repetitions); coll/x = collection / contender (above 1: the collection is slower); cpu s = CPU time of the "
          "tool's whole process tree; http = requests to the API server (discovery included); engine = the "
          "engine's api_calls; chg = changed as the tool reports it; written = objects whose resourceVersion changed. "
          "ansible-playbook start-up (no-op play): %ss" % startup)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--budget", type=float, default=330,
                    help="seconds: start no further repetition when the run would go past this (0: no limit)")
    ap.add_argument("--flavors", type=int, default=2)
    ap.add_argument("--cluster-queues", type=int, default=2)
    ap.add_argument("--namespaces", type=int, default=2)
    ap.add_argument("--local-queues", type=int, default=2)
    ap.add_argument("--cohorts", type=int, default=0,
                    help="Cohort objects in the plan (0: the queues name 2 cohorts that are not objects)")
    ap.add_argument("--parallel", type=int, default=8, help="cluster_plan's parallel writes per dependency level")
    ap.add_argument("--base", default="collection", help="the variant the ratios of --markdown compare with")
    ap.add_argument("--markdown", help="also write the results as a Markdown table to this file")
    ap.add_argument("--plot", help="also write a bar chart (PNG) of the results to this file")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of %s" % ",".join(VARIANTS))
    ap.add_argument("--output", default=str(REPO / "bench" / "results" / "queues.json"))
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error("unknown variants: %s" % unknown)

    kubeconfig = cluster_kubeconfig()
    b = Bench(kubeconfig, args)
    if "kubectl" in variants and not b.kubectl:
        log("no kubectl binary found: skipping the kubectl variant")
        variants.remove("kubectl")
    log("run %s: %d objects (%d flavors, %d cluster queues, %d local queues in %d namespaces), %d reps, variants %s" % (
        b.run, b.expected, args.flavors, args.cluster_queues, args.local_queues, args.namespaces, args.reps,
        ",".join(variants)))
    raw = dict((v, []) for v in variants)
    failed = []
    t_start = time.monotonic()
    startup = None
    try:
        b.make_namespaces()
        startup = b.ansible_startup()
        for rep in range(args.reps):
            elapsed = time.monotonic() - t_start
            if rep and args.budget and elapsed + elapsed / rep > args.budget:
                log("stopping after %d repetitions: another one would end past the %ss budget" % (rep, args.budget))
                break
            order = variants[rep % len(variants):] + variants[:rep % len(variants)]  # rotate against drift
            for variant in order:
                samples = b.measure(variant)
                raw[variant].append(samples)
                desc = ", ".join("%s %.1fs%s" % (p, s["seconds"], " FAILED" if s["errors"] else "")
                                 for p, s in samples.items())
                log("rep %d %-11s %s" % (rep + 1, variant, desc))
                for s in samples.values():
                    for err in s["errors"]:
                        failed.append("%s: %s" % (variant, err))
                        log("  %s" % err)
    finally:
        b.cleanup()
    medians = aggregate(raw)
    rat = ratios(medians) if "collection" in medians else {}
    rat_cpu = ratios(medians, "cpu_seconds") if "collection" in medians else {}
    result = {
        "run": b.run, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "plan": {"resource_flavors": args.flavors, "cluster_queues": args.cluster_queues,
                 "cohorts": args.cohorts or 2,
                 "local_queues": args.local_queues, "namespaces": args.namespaces, "objects": b.expected},
        "reps": args.reps, "reps_done": max([len(r) for r in raw.values()] or [0]), "budget_seconds": args.budget,
        "kubectl": b.kubectl, "ansible_startup_seconds": startup,
        "medians": medians, "ratio_collection_over": rat, "cpu_ratio_collection_over": rat_cpu, "raw": raw, "failures": failed,
        "total_seconds": round(time.monotonic() - t_start, 1),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print_table(medians, rat, rat_cpu, startup)
    print("total %.0fs, results in %s" % (result["total_seconds"], args.output))
    if args.markdown:
        Path(args.markdown).write_text(markdown(medians, args.base, startup, result["plan"]))
        print("markdown table in %s" % args.markdown)
    if args.plot:
        plot(medians, args.plot, "%d objects, %s" % (b.expected, result["when"]))
        print("plot in %s" % args.plot)
    if failed:
        log("%d failures" % len(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
