"""kueue_workload_info against the live cluster: Kueue-managed batch/v1 Jobs asking for A100 GPUs
(the KWOK nodes gpu-a100-0/1) in a ClusterQueue of 2 GPUs. The first Job (2 pods, 1 GPU each) is
admitted and runs; the second (1 GPU) does not fit and waits at the head of the ClusterQueue, with
its position from Kueue's visibility API. The module's answer is compared with the live objects,
read with the kubernetes client; the queue, cluster_queue, name (job or Workload name) and phase
filters, and check mode, are exercised in one ansible-playbook run."""
from kueue_helpers import run_tasks  # sys.path: conftest.py

POOL = "train-a100"


def gpu_job(kq, namespace, name, queue, pods, priority_class=None):
    labels = {"kueue.x-k8s.io/queue-name": queue}
    if priority_class:
        labels["kueue.x-k8s.io/priority-class"] = priority_class
    gpu = {"cpu": "100m", "nvidia.com/gpu": "1"}
    body = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"parallelism": pods, "completions": pods, "suspend": True, "backoffLimit": 0,
                 "template": {"spec": {
                     "restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "train", "image": "trainer:latest",
                                     "resources": {"requests": dict(gpu), "limits": dict(gpu)}}]}}},
    }
    if namespace not in kq.namespaces:
        kq.namespaces.append(namespace)  # kq deletes the namespace's Jobs at teardown
    kq.batch.create_namespaced_job(namespace, body)


def test_workload_info_live(ansible, namespace, kq, sfx):
    flavor = kq.track("ResourceFlavor", "a100-" + sfx)
    cq = kq.track("ClusterQueue", "wl-" + sfx)
    wpc = kq.track("WorkloadPriorityClass", "wl-high-" + sfx)
    for r in run_tasks(ansible, [
        ("kueue_resource_flavor", {"name": flavor, "node_labels": {"gpuaas.io/pool": POOL}}),
        ("kueue_workload_priority_class", {"name": wpc, "value": 100}),
        ("kueue_cluster_queue", {"name": cq, "resource_groups": [{"flavors": [{"name": flavor, "resources": [
            {"name": "cpu", "nominal_quota": 4}, {"name": "nvidia.com/gpu", "nominal_quota": 2}]}]}],
            "wait": True, "wait_timeout": 30}),
        ("kueue_local_queue", {"name": "lq-a", "namespace": namespace, "cluster_queue": cq,
                               "wait": True, "wait_timeout": 30}),
        ("kueue_local_queue", {"name": "lq-b", "namespace": namespace, "cluster_queue": cq,
                               "wait": True, "wait_timeout": 30}),
    ]):
        assert not r.get("failed"), r.get("msg")

    train, waits = "train-" + sfx, "waits-" + sfx
    gpu_job(kq, namespace, train, "lq-a", pods=2, priority_class=wpc)

    def running():
        wl = kq.workload_of(namespace, train)
        pods = kq.running_pods(namespace, train)
        return wl if kq.cond(wl, "Admitted") and len(pods) == 2 and all(p.spec.node_name for p in pods) else None

    wl_train = kq.wait("%s admitted with 2 pods running" % train, running, 30)
    gpu_job(kq, namespace, waits, "lq-b", pods=1)

    def pending():
        # Kueue tried and said no: the QuotaReserved condition is there, False
        wl = kq.workload_of(namespace, waits)
        tried = wl is not None and any(c["type"] == "QuotaReserved" for c in (wl.get("status") or {}).get("conditions") or [])
        return wl if tried and not kq.cond(wl, "QuotaReserved") else None

    wl_waits = kq.wait("%s's Workload pending" % waits, pending, 20)
    live_nodes = sorted((p.metadata.name, p.spec.node_name) for p in kq.running_pods(namespace, train))

    everything, by_queue, by_job, by_wl_name, checked, pending_only, of_cq, not_there = run_tasks(ansible, [
        ("kueue_workload_info", {"namespace": namespace}),
        ("kueue_workload_info", {"namespace": namespace, "queue": "lq-b"}),
        ("kueue_workload_info", {"name": train}),
        ("kueue_workload_info", {"name": wl_waits["metadata"]["name"], "pods": False}),
        ("kueue_workload_info", {"namespace": namespace}, {"check": True}),
        ("kueue_workload_info", {"namespace": namespace, "phase": ["Pending"], "pods": False}),
        ("kueue_workload_info", {"cluster_queue": cq, "phase": ["Running", "Pending"]}),
        ("kueue_workload_info", {"namespace": namespace, "queue": "lq-b", "name": train}),
    ])
    for r in (everything, by_queue, by_job, by_wl_name, checked, pending_only, of_cq, not_there):
        assert not r.get("failed"), r.get("msg")
        assert r["changed"] is False

    # every Workload of the namespace, as the live objects show them
    got = dict((w["job"]["name"], w) for w in everything["workloads"])
    assert set(got) == {train, waits}
    assert everything["counts"]["Running"] == 1 and everything["counts"]["Pending"] == 1
    assert sum(everything["counts"].values()) == 2
    assert everything["position_source"] == "visibility-api", everything.get("visibility_error")

    t = got[train]
    assert t["name"] == wl_train["metadata"]["name"] and t["namespace"] == namespace
    assert t["job"] == {"kind": "Job", "name": train}
    assert t["phase"] == "Running"  # admitted, and both pods run (waited for above)
    assert t["queue"] == "lq-a" and t["cluster_queue"] == cq
    assert t["priority_class"] == wpc and t["priority"] == 100 and t["active"] is True and t["gates"] == []
    assert [(a["pod_set"], a["count"], a["flavors"]) for a in t["admission"]] == [
        (wl_train["status"]["admission"]["podSetAssignments"][0]["name"], 2,
         {"cpu": flavor, "nvidia.com/gpu": flavor})]
    assert t["admission"][0]["resource_usage"]["nvidia.com/gpu"] == "2"
    assert sorted((p["name"], p["node"]) for p in t["pods"]) == live_nodes
    assert all(node.startswith("gpu-a100-") for dummy, node in live_nodes)
    assert t["pods_running"] == 2 and t["pods_expected"] == 2
    assert t["position"] is None and t["evicted"] is None and t["finished"] is None
    assert {"QuotaReserved", "Admitted"} <= set(c["type"] for c in t["conditions"] if c["status"] == "True")
    assert t["created"] == wl_train["metadata"]["creationTimestamp"] and 0 <= t["age_seconds"] < 300

    w = got[waits]
    assert w["phase"] == "Pending" and w["queue"] == "lq-b"
    assert w["cluster_queue"] == cq  # from its LocalQueue: it is not admitted
    assert w["admission"] == [] and w["pods"] == [] and w["pods_running"] == 0
    assert w["position"] == {"cluster_queue": cq, "in_cluster_queue": 0, "in_local_queue": 0,
                             "pending_in_cluster_queue": 1}
    assert w["position_text"] == "position 1 of 1 in ClusterQueue %s" % cq
    assert w["priority"] == 0 and w["priority_class"] is None

    # filters
    assert [x["job"]["name"] for x in by_queue["workloads"]] == [waits]
    assert [x["name"] for x in by_job["workloads"]] == [t["name"]]  # by job name, across all namespaces
    assert by_job["workloads"][0]["pods"] and by_job["position_source"] == "none"
    assert [x["job"]["name"] for x in by_wl_name["workloads"]] == [waits]  # by Workload name
    assert "pods" not in by_wl_name["workloads"][0] and by_wl_name["workloads"][0]["position"]["in_cluster_queue"] == 0
    assert [x["job"]["name"] for x in pending_only["workloads"]] == [waits]
    assert pending_only["counts"]["Pending"] == 1 and pending_only["counts"]["Running"] == 0
    assert sorted(x["job"]["name"] for x in of_cq["workloads"]) == sorted([train, waits])
    assert not_there["workloads"] == [] and sum(not_there["counts"].values()) == 0

    # check mode: the same answer (a read-only module runs in full in check mode)
    assert [(x["name"], x["phase"], x["position"]) for x in checked["workloads"]] == [
        (x["name"], x["phase"], x["position"]) for x in everything["workloads"]]
    assert checked["counts"] == everything["counts"]
