"""kueue_workload_info's assembly (pure; objects shaped as the API returns them), its read plan
(which LISTs and visibility requests it makes, with a recording stand-in for the client), and its
documentation against its argument spec."""
import importlib

import yaml

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.workloads import info as winfo
from ansible_collections.gpuaas.orchestration.plugins.module_utils.workloads import state

NOW = 1767225600  # 2026-01-01T00:00:00Z


def workload(name, ns="t", job=None, queue="lq", cq=None, admitted=False, reserved=None, finished=None,
             pods=1, flavor="a100", gpus="1", active=None, gates=None, priority=0, pclass=None,
             created="2025-12-31T23:59:00Z", labels=None, kind="Job"):
    job = job or name
    conds = []
    reserved = admitted if reserved is None else reserved
    if reserved:
        conds.append({"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved"})
    if admitted:
        conds.append({"type": "Admitted", "status": "True", "reason": "Admitted"})
    if finished:
        conds.append({"type": "Finished", "status": "True", "reason": finished, "message": "done"})
    spec = {"queueName": queue, "priority": priority,
            "podSets": [{"name": "main", "count": pods, "template": {"spec": {"containers": []}}}]}
    if pclass:
        spec["priorityClassRef"] = {"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass", "name": pclass}
    if active is not None:
        spec["active"] = active
    meta = {"name": "job-%s-abcde" % job if name is None else name, "namespace": ns, "creationTimestamp": created,
            "labels": labels or {}, "uid": "uid-" + (name or job),
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": kind, "name": job, "uid": "juid-" + job,
                                 "controller": True}]}
    if gates:
        meta["annotations"] = {state.GATE_ANNOTATION: ",".join(gates)}
    obj = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": meta, "spec": spec,
           "status": {"conditions": conds}}
    if reserved:
        obj["status"]["admission"] = {"clusterQueue": cq, "podSetAssignments": [
            {"name": "main", "count": pods, "flavors": {"nvidia.com/gpu": flavor}, "resourceUsage": {"nvidia.com/gpu": gpus}}]}
    return obj


def pod(name, job, ns="t", node="gpu-a100-0", phase="Running", label=state.pod_selector("Job", "x").split("=")[0],
        extra_labels=None):
    labels = {label: job, "job-name": job}
    labels.update(extra_labels or {})
    return {"metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if phase == "Running" else "False"}]}}


def lq(name, ns, cq):
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"clusterQueue": cq}}


def by_name(result):
    return dict((w["name"], w) for w in result["workloads"])


# -- pure pieces ----------------------------------------------------------------------------------

def test_name_filter_matches_workload_or_job_name():
    a = workload("job-train-1a2b3", job="train")
    b = workload("job-eval-9z8y7", job="eval")
    assert winfo.select([a, b], name="train") == [a]
    assert winfo.select([a, b], name="job-eval-9z8y7") == [b]
    assert winfo.select([a, b], name="job-train") == []
    assert winfo.select([a, b], queue="lq") == [a, b]
    assert winfo.select([a, workload("w", queue="other")], queue="other")[0]["metadata"]["name"] == "w"


def test_cluster_queue_from_admission_else_local_queue():
    lq_map = winfo.local_queue_map([lq("lq", "t", "cq-a"), lq("lq", "u", "cq-b")])
    assert winfo.cluster_queue_of(workload("a", admitted=True, cq="cq-x"), lq_map) == "cq-x"
    assert winfo.cluster_queue_of(workload("p"), lq_map) == "cq-a"
    assert winfo.cluster_queue_of(workload("p", ns="u"), lq_map) == "cq-b"
    assert winfo.cluster_queue_of(workload("p", ns="v"), lq_map) is None
    assert winfo.needs_local_queues([workload("a", admitted=True, cq="c")]) is False
    assert winfo.needs_local_queues([workload("a", admitted=True, cq="c"), workload("p")]) is True


def test_pods_matched_by_job_labels_and_namespace():
    wls = [workload("wa", job="a"), workload("wb", job="b"), workload("wc", job="a", ns="other"),
           workload("js", job="set", kind="JobSet"), workload("rs", job="r", kind="RayCluster")]
    pods = [pod("a-1", "a"), pod("a-0", "a"), pod("b-0", "b"), pod("a-x", "a", ns="other"),
            pod("set-w-0-0", "set-w-0", extra_labels={"jobset.sigs.k8s.io/jobset-name": "set"}),
            pod("r-0", "r")]
    got = winfo.pods_by_workload(wls, pods)
    names = dict((k, [p["metadata"]["name"] for p in v]) for k, v in got.items())
    assert names == {("t", "wa"): ["a-0", "a-1"], ("t", "wb"): ["b-0"], ("other", "wc"): ["a-x"],
                     ("t", "js"): ["set-w-0-0"], ("t", "rs"): []}


def test_positions_to_the_dict_position_text_reads():
    items = [{"name": "p0", "namespace": "t", "local_queue": "lq", "priority": 0,
              "position_in_cluster_queue": 0, "position_in_local_queue": 0},
             {"name": "p1", "namespace": "u", "local_queue": "lq", "priority": 0,
              "position_in_cluster_queue": 1, "position_in_local_queue": 0}]
    pos = state.positions_of("cq", items)
    assert pos[("u", "p1")] == {"cluster_queue": "cq", "in_cluster_queue": 1, "in_local_queue": 0,
                                "pending_in_cluster_queue": 2}
    assert state.position_text(pos[("u", "p1")]) == "position 2 of 2 in ClusterQueue cq"


def test_assemble_phases_counts_pods_positions():
    wls = [
        workload("run", admitted=True, cq="cq", pods=2, pclass="high", priority=100),
        workload("adm", admitted=True, cq="cq", pods=2),
        workload("wait", created="2025-12-31T23:50:00Z"),
        workload("gated", gates=["example.com/ok"]),
        workload("off", active=False),
        workload("done", admitted=True, cq="cq", finished="Succeeded"),
    ]
    pods = winfo.pods_by_workload(wls, [pod("run-0", "run"), pod("run-1", "run", node="gpu-a100-1"),
                                        pod("adm-0", "adm"), pod("adm-1", "adm", node=None, phase="Pending")])
    positions = {("t", "wait"): {"cluster_queue": "cq", "in_cluster_queue": 0, "in_local_queue": 0,
                                 "pending_in_cluster_queue": 1},
                 # a stale entry for an admitted workload is not shown
                 ("t", "run"): {"cluster_queue": "cq", "in_cluster_queue": 3, "in_local_queue": 0,
                                "pending_in_cluster_queue": 4}}
    r = winfo.assemble(wls, local_queues=[lq("lq", "t", "cq")], pods=pods, positions=positions, now=NOW)
    w = by_name(r)
    assert [x["name"] for x in r["workloads"]] == sorted(w)
    assert dict((n, x["phase"]) for n, x in w.items()) == {
        "run": "Running", "adm": "Admitted", "wait": "Pending", "gated": "Gated", "off": "Inactive", "done": "Succeeded"}
    assert r["counts"] == {"Submitted": 0, "Gated": 1, "Inactive": 1, "Pending": 1, "QuotaReserved": 0,
                           "Admitted": 1, "Running": 1, "Succeeded": 1, "Failed": 0}
    run = w["run"]
    assert run["queue"] == "lq" and run["cluster_queue"] == "cq" and run["job"] == {"kind": "Job", "name": "run"}
    assert run["priority_class"] == "high" and run["priority"] == 100 and run["active"] is True
    assert run["admission"] == [{"pod_set": "main", "count": 2, "flavors": {"nvidia.com/gpu": "a100"},
                                 "resource_usage": {"nvidia.com/gpu": "1"}}]
    assert [(p["name"], p["node"], p["ready"]) for p in run["pods"]] == [("run-0", "gpu-a100-0", True),
                                                                         ("run-1", "gpu-a100-1", True)]
    assert run["pods_running"] == 2 and run["pods_expected"] == 2
    assert run["position"] is None and run["position_text"] is None
    assert [c["type"] for c in run["conditions"]] == ["QuotaReserved", "Admitted"]
    assert w["adm"]["pods_running"] == 1
    wait = w["wait"]
    assert wait["cluster_queue"] == "cq"  # from its LocalQueue: not admitted
    assert wait["position"]["in_cluster_queue"] == 0
    assert wait["position_text"] == "position 1 of 1 in ClusterQueue cq"
    assert wait["admission"] == [] and wait["pods"] == [] and wait["age_seconds"] == 600
    assert w["gated"]["gates"] == ["example.com/ok"] and w["off"]["active"] is False
    assert w["done"]["finished"]["succeeded"] is True


def test_assemble_filters_and_without_pods():
    wls = [workload("run", admitted=True, cq="cq"), workload("wait"), workload("elsewhere", queue="lq2")]
    lqs = [lq("lq", "t", "cq"), lq("lq2", "t", "cq2")]
    pods = winfo.pods_by_workload(wls, [pod("run-0", "run")])
    r = winfo.assemble(wls, local_queues=lqs, pods=pods, phases=["Running"], include_pods=False, now=NOW)
    assert [w["name"] for w in r["workloads"]] == ["run"]
    assert "pods" not in r["workloads"][0] and "pods_running" not in r["workloads"][0]
    assert r["counts"]["Running"] == 1 and r["counts"]["Pending"] == 0
    r = winfo.assemble(wls, local_queues=lqs, pods=None, cluster_queue="cq2", now=NOW)
    assert [w["name"] for w in r["workloads"]] == ["elsewhere"]
    # pods not read: an admitted workload cannot be told Running
    r = winfo.assemble(wls, local_queues=lqs, pods=None, include_pods=False, now=NOW)
    assert by_name(r)["run"]["phase"] == "Admitted"
    assert winfo.pending_cluster_queues(wls, winfo.local_queue_map(lqs)) == ["cq", "cq2"]


# -- the read plan ---------------------------------------------------------------------------------

class Recorder(object):
    """Stands in for core.client.Client: serves lists of objects and records each request."""

    def __init__(self, workloads=(), local_queues=(), pods=(), visibility=None):
        self.objects = {"Workload": list(workloads), "LocalQueue": list(local_queues), "Pod": list(pods)}
        self.visibility = visibility  # {cq: [items]} or an ApiError
        self.calls = []

    def list(self, kind, namespace=None, label_selector=None, field_selector=None):
        self.calls.append(("LIST", kind.kind, namespace, label_selector))
        items = [o for o in self.objects[kind.kind] if namespace is None or o["metadata"]["namespace"] == namespace]
        if label_selector:
            for term in label_selector.split(","):
                k, dummy, v = term.partition("=")
                items = [o for o in items if k in (o["metadata"].get("labels") or {})
                         and (not v or o["metadata"]["labels"][k] == v)]
        return items

    def request(self, method, path, query=None, **kwargs):
        self.calls.append((method, path))
        if isinstance(self.visibility, ApiError):
            raise self.visibility
        cq = path.split("/")[-2]
        return {"items": [{"metadata": {"name": n, "namespace": ns}, "localQueueName": q, "priority": 0,
                           "positionInClusterQueue": i, "positionInLocalQueue": j}
                          for (ns, n, q, i, j) in self.visibility.get(cq, [])]}


def test_reads_one_list_per_kind_and_namespace_and_one_visibility_get_per_cluster_queue():
    wls = [workload("run", admitted=True, cq="cq"), workload("wait"), workload("w2", ns="u"),
           workload("done", ns="v", admitted=True, cq="cq3", finished="Failed")]
    c = Recorder(wls, [lq("lq", "t", "cq"), lq("lq", "u", "cq2"), lq("lq", "v", "cq3")],
                 [pod("run-0", "run"), pod("stray", "other", ns="u")],
                 visibility={"cq": [("t", "wait", "lq", 0, 0)], "cq2": [("x", "first", "lq", 0, 0), ("u", "w2", "lq", 1, 0)]})
    r = winfo.workload_info(c, now=NOW)
    assert c.calls == [
        ("LIST", "Workload", None, None),
        ("LIST", "LocalQueue", None, None),
        ("LIST", "Pod", "t", winfo.JOB_POD_LABEL), ("LIST", "Pod", "u", winfo.JOB_POD_LABEL),
        ("LIST", "Pod", "v", winfo.JOB_POD_LABEL),
        ("GET", "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/cq/pendingworkloads"),
        ("GET", "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/cq2/pendingworkloads"),
    ]
    w = by_name(r)
    assert w["run"]["phase"] == "Running" and w["run"]["pods"][0]["node"] == "gpu-a100-0"
    assert w["w2"]["position"] == {"cluster_queue": "cq2", "in_cluster_queue": 1, "in_local_queue": 0,
                                   "pending_in_cluster_queue": 2}
    assert w["done"]["phase"] == "Failed" and r["position_source"] == "visibility-api"
    assert "warnings" not in r and "visibility_error" not in r


def test_admitted_only_needs_no_local_queues_nor_visibility():
    c = Recorder([workload("run", admitted=True, cq="cq")], pods=[pod("run-0", "run")])
    r = winfo.workload_info(c, namespace="t", pods=False, now=NOW)
    assert c.calls == [("LIST", "Workload", "t", None)]
    assert r["workloads"][0]["phase"] == "Admitted" and r["position_source"] == "none"
    # a phase filter naming Running reads the pods to tell, and returns none
    c.calls = []
    r = winfo.workload_info(c, namespace="t", pods=False, phases=["Running"], now=NOW)
    assert c.calls == [("LIST", "Workload", "t", None), ("LIST", "Pod", "t", winfo.JOB_POD_LABEL)]
    assert [w["name"] for w in r["workloads"]] == ["run"] and "pods" not in r["workloads"][0]


def test_filters_at_the_edge():
    wls = [workload("a", labels={"team": "nlp"}), workload("b", queue="lq2"), workload("job-c-1", job="c")]
    c = Recorder(wls, [lq("lq", "t", "cq"), lq("lq2", "t", "cq2")], visibility={})
    r = winfo.workload_info(c, label_selector="team=nlp", pods=False, now=NOW)
    assert [w["name"] for w in r["workloads"]] == ["a"] and c.calls[0] == ("LIST", "Workload", None, "team=nlp")
    assert [w["name"] for w in winfo.workload_info(c, queue="lq2", pods=False)["workloads"]] == ["b"]
    assert [w["name"] for w in winfo.workload_info(c, cluster_queue="cq2", pods=False)["workloads"]] == ["b"]
    assert [w["name"] for w in winfo.workload_info(c, name="c", pods=False)["workloads"]] == ["job-c-1"]
    c.calls = []
    r = winfo.workload_info(c, name="nothing")
    assert r["workloads"] == [] and r["counts"]["Pending"] == 0
    assert c.calls == [("LIST", "Workload", None, None)]  # nothing selected: nothing more to read


def test_positions_computed_when_the_visibility_api_is_not_served():
    wls = [workload("first", ns="u", created="2025-12-31T23:00:00Z"), workload("mine", created="2025-12-31T23:30:00Z"),
           workload("urgent", ns="u", priority=10, created="2025-12-31T23:40:00Z")]
    err = ApiError("get pending workloads (visibility API)", status=503, reason="Service Unavailable",
                   message="the server is currently unable to handle the request")
    c = Recorder(wls, [lq("lq", "t", "cq"), lq("lq", "u", "cq")], visibility=err)
    r = winfo.workload_info(c, namespace="t", now=NOW)
    assert r["position_source"] == "computed" and "unable to handle" in r["visibility_error"]
    assert len(r["warnings"]) == 1 and "computed" in r["warnings"][0]
    assert [w["name"] for w in r["workloads"]] == ["mine"]
    # over every namespace of the ClusterQueue: the higher priority first, then the older
    assert r["workloads"][0]["position"] == {"cluster_queue": "cq", "in_cluster_queue": 2, "in_local_queue": 0,
                                             "pending_in_cluster_queue": 3}
    assert ("LIST", "Workload", None, None) in c.calls and ("LIST", "LocalQueue", None, None) in c.calls


# -- documentation ---------------------------------------------------------------------------------

def test_docs_match_argument_spec():
    mod = importlib.import_module("ansible_collections.gpuaas.orchestration.plugins.modules.kueue_workload_info")
    doc = yaml.safe_load(mod.DOCUMENTATION)
    yaml.safe_load(mod.EXAMPLES)
    ret = yaml.safe_load(mod.RETURN)
    spec = mod.argument_spec()
    assert doc["module"] == "kueue_workload_info"
    assert set(doc["options"]) == set(spec)
    for key, s in spec.items():
        d = doc["options"][key]
        assert d.get("type", "str") == s.get("type", "str"), key
        assert d.get("default") == s.get("default"), key
        assert d.get("choices") == s.get("choices"), key
        assert d.get("elements") == s.get("elements"), key
    assert list(spec["phase"]["choices"]) == [p for p in state.PHASES if p != "Submitted"]
    assert set(ret) == {"workloads", "counts", "position_source", "visibility_error"}
    summary_keys = set(winfo.assemble([workload("w", admitted=True, cq="c")], pods={}, now=NOW)["workloads"][0])
    assert set(ret["workloads"]["contains"]) == summary_keys
