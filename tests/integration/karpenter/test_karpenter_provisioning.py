"""Pending GPU pods make Karpenter launch a node from a NodePool created by the module; the pool's
GPU limit stops provisioning beyond it; deleting a pool with nodes needs force and wait waits."""
import time

from kt_support import wait_until

MOD = "karpenter_nodepool"


def test_pending_gpu_pods_provision_until_gpu_limit(kenv, ansible, namespace):
    args = kenv.new_pool_args(
        requirements=[{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["gpu-1x-l4"]}],
        limits={"nvidia.com/gpu": "1"},
        disruption={"consolidation_policy": "WhenEmpty", "consolidate_after": "Never"},
    )
    name = args["name"]
    res = ansible.module(MOD, dict(args, wait=True, wait_timeout=60))
    assert res["changed"] is True

    # two pods of one GPU each; the pool may only hold one GPU
    kenv.gpu_pod(namespace, args, "gpu-a")
    kenv.gpu_pod(namespace, args, "gpu-b")

    nodes = wait_until(lambda: [n for n in kenv.nodes(name)
                                if n.status.allocatable and n.status.allocatable.get("nvidia.com/gpu") == "1"],
                       90, "a node of pool %s with one GPU" % name)
    assert nodes[0].metadata.labels["node.kubernetes.io/instance-type"] == "gpu-1x-l4"
    assert nodes[0].metadata.labels["gpuaas.io/kt"] == args["labels"]["gpuaas.io/kt"]
    # one pod runs there, the other stays pending: the GPU limit stops a second node
    wait_until(lambda: len([p for p in kenv.core_v1.list_namespaced_pod(namespace).items
                            if p.spec.node_name]) == 1, 60, "one pod scheduled")
    time.sleep(15)  # several provisioning rounds of Karpenter
    assert len(kenv.claims(name)) == 1, [c["metadata"]["name"] for c in kenv.claims(name)]
    pods = kenv.core_v1.list_namespaced_pod(namespace).items
    assert sorted(bool(p.spec.node_name) for p in pods) == [False, True]
    pool = kenv.pool(name)
    assert pool["status"]["resources"].get("nvidia.com/gpu") == "1"

    # karpenter_info sees the same numbers
    info = ansible.module("karpenter_info", {"nodepools": [name]})
    entry = info["nodepools"][0]
    assert entry["name"] == name and entry["nodes"] == 1 and entry["gpu_capacity"] == 1
    assert entry["limits"]["nvidia.com/gpu"]["percent"] == 100.0
    assert entry["limits"]["nvidia.com/gpu"]["remaining"] == 0
    assert [c["name"] for c in info["nodeclaims"]] == [c["metadata"]["name"] for c in kenv.claims(name)]
    assert info["nodeclaims"][0]["conditions"].get("Initialized") == "True"

    # deleting a pool that has nodes needs force; nothing is deleted without it
    res = ansible.module(MOD, {"name": name, "state": "absent"}, fail_ok=True)
    assert res.get("failed") and "force" in res["msg"] and "NodeClaim/" in res["msg"]
    assert kenv.pool(name) is not None and len(kenv.claims(name)) == 1

    kenv.core_v1.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
    res = ansible.module(MOD, {"name": name, "state": "absent", "force": True, "wait": True,
                               "wait_timeout": 120})
    assert res["changed"] is True
    assert kenv.pool(name) is None
    assert kenv.claims(name, include_deleting=True) == []
    assert kenv.nodes(name) == []
