"""roles/maintenance_window through playbooks/maintenance_window.yml, live, on fake GPU nodes.

One window over 6 GPU nodes with admitted Kueue jobs and a Deployment under a PodDisruptionBudget,
sampled while it runs; a failure in batch 2 and the resume; the lock; the pre-flight.
"""
import json
import threading
import time
from pathlib import Path

from nodehelpers import KueueQueue, admitted, bare_pod, deployment, is_ready, pods_of, wait_until

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "maintenance_window.yml"
FAIL_HOOK = Path(__file__).resolve().parent / "window_node_tasks.yml"
NODEPOOL_API = ("karpenter.sh/v1", "NodePool")


def playbook_changed_count(doc):
    return sum(s.get("changed", 0) for s in doc.get("stats", {}).values())


def _nodepool(dyn, name):
    api = dyn.resources.get(api_version=NODEPOOL_API[0], kind=NODEPOOL_API[1])
    api.create(body={"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": name}, "spec": {
        "template": {"spec": {"nodeClassRef": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"},
                              "requirements": [{"key": "gpuaas.io/never", "operator": "In", "values": [name]}]}},
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "30s",
                       "budgets": [{"nodes": "20%", "reasons": ["Empty"]}, {"nodes": "1"}]}}})
    return api


class ReadySampler:
    """Counts ready pods of a selector every 0.1 s while the window runs; keeps the minimum."""

    def __init__(self, core_v1, namespace, selector):
        self.core_v1, self.namespace, self.selector = core_v1, namespace, selector
        self.minimum = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            ready = len([p for p in pods_of(self.core_v1, self.namespace, self.selector) if is_ready(p)])
            self.minimum = ready if self.minimum is None else min(self.minimum, ready)
            self.samples += 1
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _window_vars(name, nodes, tmp_path, **extra):
    out = {"maintenance_window_name": name, "maintenance_window_nodes": nodes,
           "maintenance_window_batch_size": "2", "maintenance_window_report_path": str(tmp_path / "report"),
           "maintenance_window_ready_timeout": 60,
           "maintenance_window_drain": {"eviction_timeout": 120, "wait_timeout": 120, "eviction_retry_delay": 0.5}}
    out.update(extra)
    return out


def _lease(dyn, name):
    api = dyn.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
    try:
        return api.get(name="gpuaas-maintenance-%s" % name, namespace="kube-system").to_dict()
    except Exception:  # noqa: BLE001
        return None


def _cleanup_window(core_v1, dyn, name):
    for fn in (lambda: core_v1.delete_namespaced_config_map("gpuaas-maintenance-%s" % name, "kube-system"),
               lambda: dyn.resources.get(api_version="coordination.k8s.io/v1", kind="Lease").delete(
                   name="gpuaas-maintenance-%s" % name, namespace="kube-system")):
        try:
            fn()
        except Exception:  # noqa: BLE001
            pass


def test_window_over_six_gpu_nodes(ansible, core_v1, dyn, namespace, fake_nodes, tmp_path):
    run = fake_nodes.run
    pool = "t-pool-%s" % run
    name = "t-win-%s" % run
    pool_api = _nodepool(dyn, pool)
    nodes = fake_nodes.create(6, gpus=8, extra_labels={"karpenter.sh/nodepool": pool})
    q = KueueQueue(dyn, namespace, run, gpus=48)
    try:
        budgets_before = pool_api.get(name=pool).to_dict()["spec"]["disruption"]["budgets"]
        dyn.resources.get(api_version="apps/v1", kind="Deployment").create(
            namespace=namespace, body=deployment("svc", 6, fake_nodes.placement()))
        dyn.resources.get(api_version="policy/v1", kind="PodDisruptionBudget").create(namespace=namespace, body={
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "svc"},
            "spec": {"minAvailable": 5, "selector": {"matchLabels": {"app": "svc"}}}})
        q.submit("train-a", fake_nodes.placement(), pods=2, gpus=4)
        q.submit("train-b", fake_nodes.placement(), pods=2, gpus=4)
        wait_until(lambda: all(admitted(q.workload_of(j)) for j in ("train-a", "train-b")), 60, what="jobs admitted")
        wait_until(lambda: len([p for p in pods_of(core_v1, namespace, "app in (svc, train-a, train-b)") if is_ready(p)]) == 10,
                   90, what="10 ready pods")
        uids_before = {j: q.workload_of(j)["metadata"]["uid"] for j in ("train-a", "train-b")}

        # check mode first: writes nothing (resourceVersions of the nodes and the pool unchanged)
        rv = {n: fake_nodes.node(n).metadata.resource_version for n in nodes}
        pool_rv = pool_api.get(name=pool).metadata.resourceVersion
        rc, doc = ansible.playbook(PLAYBOOK, check=True, extra_vars=_window_vars(name, nodes, tmp_path,
                                                                                 maintenance_window_hold_queues=True))
        assert rc == 0
        assert {n: fake_nodes.node(n).metadata.resource_version for n in nodes} == rv
        assert pool_api.get(name=pool).metadata.resourceVersion == pool_rv
        assert _lease(dyn, name) is None

        with ReadySampler(core_v1, namespace, "app=svc") as sampler:
            rc, doc = ansible.playbook(PLAYBOOK, extra_vars=_window_vars(
                name, nodes, tmp_path, maintenance_window_hold_queues=True,
                maintenance_window_node_tasks=str(FAIL_HOOK), fail_on_node="none"))
        assert rc == 0
        assert sampler.samples > 20 and sampler.minimum >= 5, (sampler.samples, sampler.minimum)
        for n in nodes:
            node = fake_nodes.node(n)
            assert not node.spec.unschedulable, n
            assert "gpuaas.io/cordoned-by" not in (node.metadata.annotations or {})
        # every job requeued, admitted again, the same Workload
        wait_until(lambda: all(admitted(q.workload_of(j)) for j in ("train-a", "train-b")), 90, what="jobs admitted again")
        assert {j: q.workload_of(j)["metadata"]["uid"] for j in ("train-a", "train-b")} == uids_before
        # budgets and stop policy exactly as before
        live_pool = pool_api.get(name=pool).to_dict()
        assert live_pool["spec"]["disruption"]["budgets"] == budgets_before
        assert not any(k.startswith("gpuaas.io/paus") for k in (live_pool["metadata"].get("annotations") or {}))
        cq = q.cq_api.get(name=q.cq).to_dict()
        assert cq["spec"].get("stopPolicy", "None") == "None"
        assert _lease(dyn, name) is None  # released
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["status"] == "succeeded"
        assert [b["nodes"] for b in report["batches"]] == [nodes[0:2], nodes[2:4], nodes[4:6]]
        assert all(b["state"] == "done" for b in report["batches"])
        per_node = {n: r for b in report["batches"] for n, r in b["node_results"].items()}
        assert all(r["outcome"] == "done" for r in per_node.values())
        assert sum(r["pods_evicted"] for r in per_node.values()) >= 6
        requeued = {w for b in report["batches"] for w in b["drain"]["requeued_workloads"]}
        assert {w.split("/")[1] for w in requeued} >= {q.workload_of(j)["metadata"]["name"] for j in ("train-a", "train-b")}
        assert report["nodepools"][pool]["paused_before"] is False
        assert report["restored"]["nodepools"] == [pool] and report["restored"]["cluster_queues"] == [q.cq]
        md = (tmp_path / "report.md").read_text()
        assert "Outcome: **succeeded**" in md and nodes[5] in md

        # a second run of the same window: done, zero changes
        rc, doc = ansible.playbook(PLAYBOOK, extra_vars=_window_vars(name, nodes, tmp_path))
        assert rc == 0 and playbook_changed_count(doc) == 0
    finally:
        q.cleanup()
        pool_api.delete(name=pool)
        _cleanup_window(core_v1, dyn, name)


def test_failure_in_batch_two_then_resume(ansible, core_v1, dyn, namespace, fake_nodes, tmp_path):
    run = fake_nodes.run
    name = "t-win-%s" % run
    nodes = fake_nodes.create(6, gpus=8)
    record = tmp_path / "maintained.txt"
    try:
        dyn.resources.get(api_version="apps/v1", kind="Deployment").create(
            namespace=namespace, body=deployment("svc", 3, fake_nodes.placement()))
        wait_until(lambda: len([p for p in pods_of(core_v1, namespace, "app=svc") if is_ready(p)]) == 3, 60,
                   what="3 ready pods")
        hook_vars = {"maintenance_window_node_tasks": str(FAIL_HOOK), "hook_record": str(record)}
        rc, doc = ansible.playbook(PLAYBOOK, fail_ok=True, extra_vars=_window_vars(
            name, nodes, tmp_path, fail_on_node=nodes[2], **hook_vars))
        assert rc != 0
        text = json.dumps(doc)
        assert "failed in batch 2" in text and nodes[2] in text
        # the documented safe state: batch 1 back in service, batch 2 cordoned, batch 3 untouched
        assert [bool(fake_nodes.node(n).spec.unschedulable) for n in nodes] == [False, False, True, True, False, False]
        assert _lease(dyn, name) is None  # the lock is released
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["status"] == "failed"
        assert [b["state"] for b in report["batches"]] == ["done", "failed", "pending"]
        assert nodes[2] in report["batches"][1]["error"]

        record.write_text("")
        rc, doc = ansible.playbook(PLAYBOOK, extra_vars=_window_vars(name, nodes, tmp_path, fail_on_node="none",
                                                                     **hook_vars))
        assert rc == 0
        assert record.read_text().split() == nodes[2:]  # batch 1 was not maintained again
        assert not any(fake_nodes.node(n).spec.unschedulable for n in nodes)
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["status"] == "succeeded" and len(report["runs"]) == 2 and report["runs"][1]["resumed"]
        assert all(b["state"] == "done" for b in report["batches"])
    finally:
        _cleanup_window(core_v1, dyn, name)


def test_lock_refused_while_held_and_expired_lock_taken_over(ansible, core_v1, dyn, fake_nodes, tmp_path):
    name = "t-win-%s" % fake_nodes.run
    nodes = fake_nodes.create(2)
    lease_api = dyn.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    lease_api.create(namespace="kube-system", body={
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "gpuaas-maintenance-%s" % name},
        "spec": {"holderIdentity": "awx-job-4711", "leaseDurationSeconds": 600, "acquireTime": now, "renewTime": now}})
    try:
        rc, doc = ansible.playbook(PLAYBOOK, fail_ok=True, extra_vars=_window_vars(name, nodes, tmp_path))
        assert rc != 0 and "locked by awx-job-4711" in json.dumps(doc)
        assert not any(fake_nodes.node(n).spec.unschedulable for n in nodes)  # nothing touched
        assert _lease(dyn, name)["spec"]["holderIdentity"] == "awx-job-4711"  # not released by the refused run
        # the holder died long ago: its lease expired, the next window takes it over
        old = "2026-01-01T00:00:00.000000Z"
        lease_api.patch(name="gpuaas-maintenance-%s" % name, namespace="kube-system",
                        body={"spec": {"renewTime": old, "acquireTime": old, "leaseDurationSeconds": 60}},
                        content_type="application/merge-patch+json")
        rc, doc = ansible.playbook(PLAYBOOK, extra_vars=_window_vars(name, nodes, tmp_path,
                                                                     maintenance_window_holder="awx-job-4712"))
        assert rc == 0 and "took over the expired lock of awx-job-4711" in json.dumps(doc)
        assert _lease(dyn, name) is None
    finally:
        _cleanup_window(core_v1, dyn, name)


def test_preflight_names_the_blocking_budget_before_anything_is_cordoned(ansible, core_v1, dyn, namespace,
                                                                         fake_nodes, tmp_path):
    name = "t-win-%s" % fake_nodes.run
    nodes = fake_nodes.create(2)
    try:
        dyn.resources.get(api_version="apps/v1", kind="Deployment").create(
            namespace=namespace, body=deployment("db", 2, fake_nodes.placement()))
        dyn.resources.get(api_version="policy/v1", kind="PodDisruptionBudget").create(namespace=namespace, body={
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db-strict"},
            "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "db"}}}})
        wait_until(lambda: len([p for p in pods_of(core_v1, namespace, "app=db") if is_ready(p)]) == 2, 60,
                   what="2 ready pods")
        rc, doc = ansible.playbook(PLAYBOOK, fail_ok=True, extra_vars=_window_vars(name, nodes, tmp_path))
        assert rc != 0
        text = json.dumps(doc)
        assert "pre-flight" in text and "db-strict" in text
        assert not any(fake_nodes.node(n).spec.unschedulable for n in nodes)
        assert _lease(dyn, name) is None
    finally:
        _cleanup_window(core_v1, dyn, name)


def test_undrainable_node_is_quarantined_and_the_window_goes_on(ansible, core_v1, dyn, namespace, fake_nodes,
                                                                tmp_path):
    name = "t-win-%s" % fake_nodes.run
    nodes = fake_nodes.create(3)
    try:
        core_v1.create_namespaced_pod(namespace, bare_pod("pinned", nodes[1], fake_nodes.placement()))
        wait_until(lambda: [p for p in pods_of(core_v1, namespace, "app=pinned") if is_ready(p)], 60, what="pinned ready")
        rc, doc = ansible.playbook(PLAYBOOK, extra_vars=_window_vars(name, nodes, tmp_path,
                                                                     maintenance_window_batch_size="1",
                                                                     maintenance_window_undrainable="quarantine"))
        assert rc == 0
        quarantined = fake_nodes.node(nodes[1])
        assert quarantined.spec.unschedulable
        assert quarantined.metadata.labels.get("gpuaas.io/quarantined") == "true"
        assert "no controller" in quarantined.metadata.annotations["gpuaas.io/quarantine-reason"]
        assert not fake_nodes.node(nodes[0]).spec.unschedulable and not fake_nodes.node(nodes[2]).spec.unschedulable
        report = json.loads((tmp_path / "report.json").read_text())
        outcome = {n: r["outcome"] for b in report["batches"] for n, r in b["node_results"].items()}
        assert outcome == {nodes[0]: "done", nodes[1]: "quarantined", nodes[2]: "done"}
    finally:
        _cleanup_window(core_v1, dyn, name)


def test_time_window_refuses_to_begin_and_stops_new_batches(ansible, core_v1, dyn, fake_nodes, tmp_path):
    name = "t-win-%s" % fake_nodes.run
    nodes = fake_nodes.create(2)
    today = time.strftime("%a", time.gmtime())
    other_days = [d for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun") if d != today]
    common = {"name": name, "holder": "job-1", "nodes": nodes}
    try:
        r = ansible.module("maintenance_window", dict(common, action="begin", schedule={
            "days": other_days, "start": "00:00", "end": "23:59"}), fail_ok=True)
        assert r["failed"] and "outside the allowed window" in r["msg"]
        assert _lease(dyn, name) is None  # nothing written
        # open now; then the window closes (as if time passed): the next batch does not start
        r = ansible.module("maintenance_window", dict(common, action="begin", batch_size="1",
                                                      schedule={"start": "00:00", "end": "00:00"}))
        assert r["todo"][0]["nodes"] == [nodes[0]] and r["lock"]["verdict"] == "create"
        cm = core_v1.read_namespaced_config_map("gpuaas-maintenance-%s" % name, "kube-system")
        rec = json.loads(cm.data["record.json"])
        rec["settings"]["schedule"] = {"days": other_days, "start": "00:00", "end": "23:59", "timezone": "UTC"}
        core_v1.patch_namespaced_config_map(cm.metadata.name, "kube-system", {"data": {"record.json": json.dumps(rec)}})
        r = ansible.module("maintenance_window", dict(common, action="checkpoint", event="started", batch=1))
        assert r["stopped"] is True and r["window_open"] is False
        assert r["batches"][0]["state"] == "pending"
        r = ansible.module("maintenance_window", dict(common, action="end", report_path=str(tmp_path / "r")))
        assert r["outcome"] == "stopped" and r["status"] == "stopped" and r["released"] is True
        # someone else cannot end or checkpoint it
        r = ansible.module("maintenance_window", dict(common, action="begin", holder="job-2"))
        assert r["resumed"] is True
        r = ansible.module("maintenance_window", dict(common, action="checkpoint", holder="job-3"), fail_ok=True)
        assert r["failed"] and "job-2" in r["msg"]
    finally:
        _cleanup_window(core_v1, dyn, name)
