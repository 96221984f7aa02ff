"""The local cluster's components really work together (issue: foundation).

Each test asserts on live objects made by the real controllers: Kueue admits a Job, Karpenter
provisions a GPU node through its KWOK provider, Kueue's visibility API reports a position.
"""
import time
import uuid

import pytest

from gpuaas_testlib import has_condition, wait_until

KUEUE = "kueue.x-k8s.io/v1beta2"


@pytest.fixture
def queue(dyn, namespace):
    """A ResourceFlavor for the A100 nodes, a ClusterQueue with 8 GPUs, a LocalQueue."""
    suffix = uuid.uuid4().hex[:6]
    rf = dyn.resources.get(api_version=KUEUE, kind="ResourceFlavor")
    cq = dyn.resources.get(api_version=KUEUE, kind="ClusterQueue")
    lq = dyn.resources.get(api_version=KUEUE, kind="LocalQueue")
    flavor, cqname = f"a100-{suffix}", f"cq-{suffix}"
    rf.create(body={"apiVersion": KUEUE, "kind": "ResourceFlavor", "metadata": {"name": flavor},
                    "spec": {"nodeLabels": {"gpuaas.io/pool": "train-a100"}}})
    cq.create(body={"apiVersion": KUEUE, "kind": "ClusterQueue", "metadata": {"name": cqname},
                    "spec": {"namespaceSelector": {},
                             "resourceGroups": [{"coveredResources": ["cpu", "nvidia.com/gpu"],
                                                 "flavors": [{"name": flavor, "resources": [
                                                     {"name": "cpu", "nominalQuota": "64"},
                                                     {"name": "nvidia.com/gpu",
                                                      "nominalQuota": "8"}]}]}]}})
    lq.create(namespace=namespace, body={"apiVersion": KUEUE, "kind": "LocalQueue",
                                         "metadata": {"name": "team", "namespace": namespace},
                                         "spec": {"clusterQueue": cqname}})
    wait_until("ClusterQueue Active", lambda: any(
        c["type"] == "Active" and c["status"] == "True"
        for c in (cq.get(name=cqname).to_dict().get("status", {}).get("conditions") or [])), 30)
    yield {"cluster_queue": cqname, "local_queue": "team", "namespace": namespace}
    lq.delete(name="team", namespace=namespace)
    cq.delete(name=cqname)
    rf.delete(name=flavor)


def gpu_job(name, namespace, gpus, queue_name="team"):
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"kueue.x-k8s.io/queue-name": queue_name}},
        "spec": {"parallelism": 1, "completions": 1, "suspend": True,
                 "template": {"spec": {
                     "restartPolicy": "Never",
                     "containers": [{"name": "train", "image": "trainer:latest", "resources": {
                         "requests": {"cpu": "1", "nvidia.com/gpu": str(gpus)},
                         "limits": {"nvidia.com/gpu": str(gpus)}}}]}}},
    }


def workload_of(dyn, namespace, job_name):
    wl = dyn.resources.get(api_version=KUEUE, kind="Workload")
    for item in wl.get(namespace=namespace).to_dict()["items"]:
        if any(o.get("name") == job_name for o in item["metadata"].get("ownerReferences", [])):
            return item
    return None


def test_job_stays_suspended_until_kueue_admits_it(dyn, queue):
    ns = queue["namespace"]
    jobs = dyn.resources.get(api_version="batch/v1", kind="Job")
    jobs.create(namespace=ns, body=gpu_job("first", ns, 8))
    jobs.create(namespace=ns, body=gpu_job("second", ns, 8))

    def admitted_first():
        wl = workload_of(dyn, ns, "first")
        return wl if has_condition(wl, "Admitted") else None

    first = wait_until("first Job's Workload Admitted", admitted_first)
    assert first["status"]["admission"]["clusterQueue"] == queue["cluster_queue"]
    wait_until("first Job unsuspended", lambda: jobs.get(name="first", namespace=ns).spec.suspend
               is False)
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    running = wait_until("first Job's pod Running on an A100 node", lambda: [
        p for p in pods.get(namespace=ns, label_selector="job-name=first").to_dict()["items"]
        if p["status"].get("phase") == "Running"])
    assert running[0]["spec"]["nodeName"].startswith("gpu-a100-")

    # The queue holds 8 GPUs: the second Job's Workload exists but is not admitted, and the
    # Job stays suspended (no pods).
    second = wait_until("second Job's Workload", lambda: workload_of(dyn, ns, "second"))
    time.sleep(2)
    second = workload_of(dyn, ns, "second")
    assert not has_condition(second, "Admitted")
    assert jobs.get(name="second", namespace=ns).spec.suspend is True
    assert pods.get(namespace=ns, label_selector="job-name=second").items == []


def test_pending_workload_position_from_visibility_api(dyn, api_client, queue):
    ns = queue["namespace"]
    jobs = dyn.resources.get(api_version="batch/v1", kind="Job")
    # One Job at a time, each only after the previous one has its Workload (and the first is
    # admitted): Kueue orders pending Workloads by their own creation time, and a Kueue that is
    # still catching up would create them in any order.
    jobs.create(namespace=ns, body=gpu_job("running", ns, 8))
    wait_until("the first Job admitted", lambda: has_condition(workload_of(dyn, ns, "running"), "Admitted"))
    for name in ("waiting-1", "waiting-2"):
        jobs.create(namespace=ns, body=gpu_job(name, ns, 8))
        wait_until("the Workload of " + name, lambda n=name: workload_of(dyn, ns, n))
        time.sleep(1.1)  # creationTimestamp has one-second resolution: no tie between the two

    def pending():
        raw = api_client.call_api(
            f"/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/{queue['cluster_queue']}"
            "/pendingworkloads", "GET", response_type="object", auth_settings=["BearerToken"],
            _return_http_data_only=True)
        items = raw.get("items", [])
        return items if len(items) == 2 else None

    items = wait_until("two pending workloads in the visibility API", pending, 60)
    by_owner = {i["metadata"]["ownerReferences"][0]["name"]: i for i in items}
    assert by_owner["waiting-1"]["positionInClusterQueue"] == 0
    assert by_owner["waiting-2"]["positionInClusterQueue"] == 1
    assert by_owner["waiting-1"]["localQueueName"] == "team"


def test_pending_gpu_pod_makes_karpenter_provision_a_ready_gpu_node(dyn, core_v1, namespace):
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    # More GPUs per pod than any static node has free with this product: only a new
    # gpu-8x-a100 node from the gpu-on-demand NodePool fits.
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "needs-gpus", "namespace": namespace},
           "spec": {"nodeSelector": {"gpuaas.io/pool": "gpu-on-demand",
                                     "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"},
                    "tolerations": [{"key": "gpuaas.io/on-demand", "operator": "Exists",
                                     "effect": "NoSchedule"}],
                    "containers": [{"name": "c", "image": "trainer:latest", "resources": {
                        "requests": {"cpu": "4", "nvidia.com/gpu": "8"},
                        "limits": {"nvidia.com/gpu": "8"}}}]}}
    pods.create(namespace=namespace, body=pod)
    claims = dyn.resources.get(api_version="karpenter.sh/v1", kind="NodeClaim")
    try:

        def bound_node():
            p = pods.get(name="needs-gpus", namespace=namespace).to_dict()
            return p["spec"].get("nodeName") if p["status"].get("phase") == "Running" else None
        node_name = wait_until("the pod Running on a Karpenter node", bound_node, 120, 1)
        node = core_v1.read_node(node_name)
        assert node.metadata.labels["karpenter.sh/nodepool"] == "gpu-on-demand"
        assert node.metadata.labels["node.kubernetes.io/instance-type"] == "gpu-8x-a100"
        assert node.status.allocatable["nvidia.com/gpu"] == "8"
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)

        def initialized_claim():
            return [c for c in claims.get().to_dict()["items"]
                    if c.get("status", {}).get("nodeName") == node_name
                    and has_condition(c, "Initialized")]
        claim = wait_until("its NodeClaim Initialized", initialized_claim, 60)
        assert claim[0]["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    finally:
        pods.delete(name="needs-gpus", namespace=namespace, grace_period_seconds=0)
        # Give the node back now rather than waiting for consolidation.
        for c in claims.get().to_dict()["items"]:
            if c["metadata"].get("labels", {}).get("karpenter.sh/nodepool") == "gpu-on-demand":
                claims.delete(name=c["metadata"]["name"])
