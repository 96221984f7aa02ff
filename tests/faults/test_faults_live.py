"""Faults survived, against the live cluster: Kueue's webhook down, Karpenter down, the API server
stopped and started again while a plan applies and while a drain runs.

Each test says what the task did under the fault (retried through it, or failed with a clear
error and what was already done), then that a rerun converges and that nothing is left behind
(no duplicate NodeClaims, no Workload left deactivated, no node cordoned beyond `on_failure`).
"""
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

from gpuaas_testlib import NotYet, wait_until

REPO = Path(__file__).resolve().parent.parent.parent
VENV_BIN = Path(sys.executable).parent
KUEUE_V = "kueue.x-k8s.io/v1beta2"


def start_module(cluster, name, args):
    """Run one module ad hoc in the background (``finish`` collects its result)."""
    cmd = [str(VENV_BIN / "ansible"), "localhost", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
           "-m", f"gpuaas.orchestration.{name}", "-a", json.dumps(args)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env(), cwd=REPO)


def finish(proc, timeout=600):
    out, err = proc.communicate(timeout=timeout)
    doc = json.loads(out)
    return doc["plays"][0]["tasks"][0]["hosts"]["localhost"]


def names_of(dyn, api_version, kind, prefix, namespace=None):
    items = dyn.resources.get(api_version=api_version, kind=kind).get(namespace=namespace).items
    return sorted(o.metadata.name for o in items if o.metadata.name.startswith(prefix))


def kueue_admits(dyn):
    rf = {"apiVersion": KUEUE_V, "kind": "ResourceFlavor", "metadata": {"name": "fault-probe"}}
    try:
        dyn.resources.get(api_version=KUEUE_V, kind="ResourceFlavor").create(body=rf, query_params=[("dryRun", "All")])
        return True
    except Exception:  # noqa: BLE001 - the webhook not answering yet
        return False


def plan_args(prefix, n):
    return {"name": prefix, "resource_flavors": [{"name": "%s-f%d" % (prefix, i)} for i in range(n)],
            "cohorts": [{"name": prefix}],
            "cluster_queues": [{"name": "%s-q%d" % (prefix, i), "cohort": prefix, "resource_groups": [{
                "covered_resources": ["cpu"],
                "flavors": [{"name": "%s-f%d" % (prefix, i), "resources": [{"name": "cpu", "nominal_quota": 4}]}]}]}
                for i in range(n)]}


def delete_plan_objects(dyn, prefix):
    for kind in ("ClusterQueue", "Cohort", "ResourceFlavor"):
        for n in names_of(dyn, KUEUE_V, kind, prefix):
            try:
                dyn.resources.get(api_version=KUEUE_V, kind=kind).delete(name=n)
            except Exception:  # noqa: BLE001
                pass


def test_kueue_webhook_down_fails_naming_the_webhook_and_writes_nothing(cluster, ansible, components, dyn):
    prefix = "flt-wh-" + uuid.uuid4().hex[:5]
    components.stop("kueue")
    try:
        t0 = time.monotonic()
        r = ansible.module("kueue_plan", plan_args(prefix, 3), fail_ok=True)
        took = time.monotonic() - t0
        assert r.get("failed"), r
        assert "admission webhook" in r["msg"] and "did not answer" in r["msg"], r["msg"]
        assert r["webhook"].endswith(".kb.io") or "kueue" in r["webhook"], r["webhook"]
        assert "Traceback" not in json.dumps(r)
        # nothing half-applied: not one of the plan's objects exists
        for kind in ("ResourceFlavor", "Cohort", "ClusterQueue"):
            assert names_of(dyn, KUEUE_V, kind, prefix) == [], kind
        # a typed module the same way
        r = ansible.module("kueue_cohort", {"name": prefix + "-typed"}, fail_ok=True)
        assert r.get("failed") and r.get("webhook"), r
        assert names_of(dyn, KUEUE_V, "Cohort", prefix) == []
    finally:
        components.start("kueue")
    wait_until("Kueue's webhooks admit again", lambda: kueue_admits(dyn), 90, interval=1)
    try:
        r = ansible.module("kueue_plan", plan_args(prefix, 3))
        assert r["changed"] and r["summary"]["created"] == 7, r["summary"]
        assert ansible.module("kueue_plan", plan_args(prefix, 3))["changed"] is False
    finally:
        delete_plan_objects(dyn, prefix)
    print("kueue webhook down: plan failed after %.1fs (bounded retries), 0 objects written" % took)


def test_karpenter_down_capacity_wait_times_out_saying_what_it_saw(cluster, ansible, components, dyn):
    pool = "flt-kp-" + uuid.uuid4().hex[:5]
    ansible.module("karpenter_nodepool", {
        "name": pool, "node_class_ref": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"},
        "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["gpu-1x-l4"]}],
        "limits": {"nvidia.com/gpu": 4}})
    args = {"name": "g", "nodepool": pool, "instance_types": ["gpu-1x-l4"], "gpu_count": 1, "count": 1,
            "wait": True, "wait_timeout": 15}
    claims = dyn.resources.get(api_version="karpenter.sh/v1", kind="NodeClaim")
    try:
        components.stop("karpenter")
        try:
            r = ansible.module("karpenter_capacity", args, fail_ok=True)
            assert r.get("failed"), r
            assert "timed out after 15s" in r["msg"] and "last seen" in r["msg"], r["msg"]
            assert pool in r["msg"]
            created = r.get("created") or (r.get("capacity") or {}).get("created")
            assert created, json.dumps(r)[:3000]
            assert names_of(dyn, "karpenter.sh/v1", "NodeClaim", pool) == sorted(created or []) and len(created) == 1, r
        finally:
            components.start("karpenter")
        # the rerun converges on the NodeClaim the first run made: no duplicate
        r = ansible.module("karpenter_capacity", dict(args, wait_timeout=180))
        assert r["created"] == [] and len(names_of(dyn, "karpenter.sh/v1", "NodeClaim", pool)) == 1, r
    finally:
        ansible.module("karpenter_capacity", dict(args, count=0, wait=False), fail_ok=True)
        wait_until("the pool's NodeClaims gone", lambda: not names_of(dyn, "karpenter.sh/v1", "NodeClaim", pool), 120)
        try:
            dyn.resources.get(api_version="karpenter.sh/v1", kind="NodePool").delete(name=pool)
        except Exception:  # noqa: BLE001
            pass
    del claims


def test_api_server_restarted_while_a_plan_applies(cluster, ansible, components, dyn):
    prefix = "flt-api-" + uuid.uuid4().hex[:5]
    proc = start_module(cluster, "kueue_plan", plan_args(prefix, 40))
    try:
        # stop the API server once the plan has written some of its objects
        wait_until("the plan's first objects", lambda: len(names_of(dyn, KUEUE_V, "ResourceFlavor", prefix)) >= 5,
                   120, interval=0.2)
        components.stop("kube-apiserver")
        time.sleep(2)
        components.start("kube-apiserver")
        r = finish(proc)
        # an API server away for less than 30 s: the plan's requests retry through it
        assert not r.get("failed"), r["msg"]
        assert r["summary"]["created"] == 81, r["summary"]
        outcome = "retried through it"
        # the rerun converges: every object, and then nothing more to do
        wait_until("Kueue's webhooks admit again", lambda: kueue_admits(dyn), 90, interval=1)
        r = ansible.module("kueue_plan", plan_args(prefix, 40))
        assert len(names_of(dyn, KUEUE_V, "ResourceFlavor", prefix)) == 40
        assert len(names_of(dyn, KUEUE_V, "ClusterQueue", prefix)) == 40
        assert ansible.module("kueue_plan", plan_args(prefix, 40))["changed"] is False
        print("API server restart during a 81-object plan: " + outcome)
    finally:
        if proc.poll() is None:
            proc.kill()
        delete_plan_objects(dyn, prefix)


def test_api_server_restarted_while_a_drain_runs(cluster, ansible, components, dyn, core_v1):
    from kubernetes import client
    suffix = uuid.uuid4().hex[:5]
    node = "flt-node-" + suffix
    ns = "flt-" + suffix
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core_v1.create_node(client.V1Node(metadata=client.V1ObjectMeta(
        name=node, labels={"kubernetes.io/hostname": node, "gpuaas.io/fault": suffix},
        annotations={"kwok.x-k8s.io/node": "fake"})))
    apps = client.AppsV1Api(core_v1.api_client)
    labels = {"app": "flt-" + suffix}
    apps.create_namespaced_replica_set(ns, client.V1ReplicaSet(
        metadata=client.V1ObjectMeta(name="rs"),
        spec=client.V1ReplicaSetSpec(replicas=3, selector=client.V1LabelSelector(match_labels=labels),
                                     template=client.V1PodTemplateSpec(
                                         metadata=client.V1ObjectMeta(labels=labels),
                                         spec=client.V1PodSpec(node_selector={"gpuaas.io/fault": suffix},
                                                               containers=[client.V1Container(name="c", image="x")])))))
    policy = client.PolicyV1Api(core_v1.api_client)
    # the budget lets one pod go; the replacement cannot start (the node is cordoned), so the drain
    # keeps retrying the other evictions - and the API server goes away meanwhile
    policy.create_namespaced_pod_disruption_budget(ns, client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name="pdb"),
        spec=client.V1PodDisruptionBudgetSpec(min_available=2, selector=client.V1LabelSelector(match_labels=labels))))
    try:
        wait_until("3 pods running on the node", lambda: sum(
            1 for p in core_v1.list_namespaced_pod(ns).items if p.status.phase == "Running") == 3, 90)
        proc = start_module(cluster, "node_drain", {"name": node, "eviction_timeout": 40, "eviction_retry_delay": 1,
                                                    "on_failure": "uncordon"})
        wait_until("the node cordoned", lambda: core_v1.read_node(node).spec.unschedulable, 60, interval=0.2)
        time.sleep(3)
        components.stop("kube-apiserver")
        time.sleep(2)
        components.start("kube-apiserver")
        r = finish(proc)
        assert "Traceback" not in json.dumps(r)
        # the budget still holds two pods: the drain cannot have finished; it fails clearly and,
        # as on_failure says, leaves the node uncordoned
        assert r.get("failed"), r
        # the evictions retried through the restart (a refused connection was never sent): what
        # stops the drain is the budget, not the restart
        assert "PodDisruptionBudget pdb" in r["msg"] and "Connection refused" not in r["msg"], r["msg"]
        print("drain with the API server restarted: " + r["msg"][:400])
        wait_until("the node uncordoned (on_failure: uncordon)",
                   lambda: not core_v1.read_node(node).spec.unschedulable, 30)
        # with the budget relaxed, a rerun converges: the node drained
        policy.delete_namespaced_pod_disruption_budget("pdb", ns)
        r = ansible.module("node_drain", {"name": node, "eviction_timeout": 60})
        assert core_v1.read_node(node).spec.unschedulable is True
        left = [p.metadata.name for p in core_v1.list_namespaced_pod(ns).items
                if p.spec.node_name == node and not p.metadata.deletion_timestamp]
        assert left == [], left
    finally:
        try:
            core_v1.delete_namespace(ns)
            core_v1.delete_node(node)
        except Exception:  # noqa: BLE001
            pass


def test_api_server_restarted_while_a_kueue_aware_drain_requeues_a_job(cluster, ansible, components, dyn, core_v1,
                                                                       namespace):
    """The drain deactivates the job's Workload (to requeue it whole), then the API server goes
    away: the Workload must not be left deactivated - the drain reactivates it, or its rerun does."""
    sys.path.insert(0, str(REPO / "tests" / "integration" / "nodes"))
    from nodehelpers import FakeNodes, KueueQueue, admitted
    nodes = FakeNodes(core_v1, uuid.uuid4().hex[:6])
    queue = None
    try:
        a = nodes.create(1, gpus=4)[0]
        (b,) = nodes.create(1, gpus=4, unschedulable=True)
        queue = KueueQueue(dyn, namespace, nodes.run)
        queue.submit("train", nodes.placement())

        def running(where):
            """True when the job is admitted and both pods run on a node where(node) accepts."""
            wl = queue.workload_of("train")
            pods = [(p.metadata.name, p.spec.node_name, p.status.phase)
                    for p in core_v1.list_namespaced_pod(namespace, label_selector="app=train").items]
            if admitted(wl) and sum(1 for _pod, n, ph in pods if n and where(n) and ph == "Running") == 2:
                return True
            conds = {c["type"]: c["status"] for c in ((wl or {}).get("status") or {}).get("conditions") or []}
            job = queue.job_api.get(name="train", namespace=namespace).to_dict()
            return NotYet("workload %s conditions %s, pods %s; job suspend %s rv %s conditions %s" % (
                (wl or {}).get("metadata", {}).get("name"), conds, pods, job["spec"].get("suspend"),
                job["metadata"]["resourceVersion"], (job.get("status") or {}).get("conditions")))

        # the previous test restarted the API server: the controllers' watches may still be
        # reconnecting, so the bound is generous and a timeout says which part did not happen
        wait_until("the job admitted and running on %s" % a, lambda: running(lambda n: n == a), 180)
        nodes.set_unschedulable(b, False)   # where the requeued job goes
        proc = start_module(cluster, "node_drain", {"name": a, "kueue_aware": True, "wait_timeout": 120})
        wait_until("the Workload deactivated by the drain",
                   lambda: (queue.workload_of("train") or {}).get("spec", {}).get("active", True) is False, 60,
                   interval=0.1)
        components.stop("kube-apiserver")
        time.sleep(2)
        components.start("kube-apiserver")
        r = finish(proc)
        assert "Traceback" not in json.dumps(r)
        if r.get("failed"):
            outcome = "failed: " + r["msg"][:200]
            r = ansible.module("node_drain", {"name": a, "kueue_aware": True, "wait_timeout": 120})
        else:
            outcome = "retried through it"
        wl = queue.workload_of("train")
        assert wl["spec"].get("active", True) is True, wl["spec"]
        (req,) = r["requeued_workloads"]
        assert req["reactivated"] is True
        wait_until("the job admitted again, off the drained node", lambda: running(lambda n: n != a), 120)
        print("API server restart during a Kueue-aware drain: " + outcome)
    finally:
        if queue is not None:
            queue.cleanup()
        nodes.cleanup()
