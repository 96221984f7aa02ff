"""karpenter_capacity against the live Karpenter: N NodeClaims of a shape, idempotent in count,
replacement of a lost one, graceful scale down that spares do-not-disrupt pods."""
import os

from kt_support import wait_until

MOD = "karpenter_capacity"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
INSTANCE_TYPES_FILE = os.path.join(os.environ.get("GPUAAS_CLUSTER_DIR") or os.path.join(REPO, ".cluster"),
                                   "instance-types.json")


def shape():
    """4x L4 nodes, resolved from the provider's instance types file when there is one (else the
    GPUs per node are given: the pool's GPU limit must be checkable)."""
    if os.path.exists(INSTANCE_TYPES_FILE):
        return {"gpu_count": 4, "gpu_product": "NVIDIA-L4", "instance_types_file": INSTANCE_TYPES_FILE}
    return {"instance_types": ["gpu-4x-l4"], "gpu_count": 4}


def names(claims):
    return sorted(c["metadata"]["name"] for c in claims)


def test_capacity_ensure_rerun_replace_scale_down(kenv, ansible, namespace):
    # a pool that consolidates empty nodes quickly: the capacity must survive it (do-not-disrupt)
    pool_args = kenv.new_pool_args(disruption={"consolidation_policy": "WhenEmpty", "consolidate_after": "5s"},
                                   limits={"nvidia.com/gpu": "8"})
    pool = pool_args["name"]
    ansible.module("karpenter_nodepool", dict(pool_args, wait=True, wait_timeout=60))
    args = dict(shape(), nodepool=pool, name="train", count=2, wait_timeout=150)

    # check mode creates nothing
    res = ansible.module(MOD, args, check=True, diff=True)
    assert res["changed"] is True and len(res["created"]) == 2
    assert res["diff"]["before"] == {"nodeclaims": []}
    assert kenv.claims(pool) == []

    # ensure 2: exactly two NodeClaims, both Initialized, GPUs allocatable
    res = ansible.module(MOD, args)
    assert res["changed"] is True and len(res["created"]) == 2
    claims = kenv.claims(pool)
    assert names(claims) == sorted(res["created"])
    for c in claims:
        assert any(x["type"] == "Initialized" and x["status"] == "True" for x in c["status"]["conditions"])
        node = kenv.core_v1.read_node(c["status"]["nodeName"])
        assert node.status.allocatable["nvidia.com/gpu"] == "4"
        assert node.metadata.labels["node.kubernetes.io/instance-type"] == "gpu-4x-l4"
        assert node.metadata.labels["karpenter.sh/nodepool"] == pool
        assert node.metadata.annotations.get("karpenter.sh/do-not-disrupt") == "true"
    assert sorted(res["nodes"]) == sorted(c["status"]["nodeName"] for c in claims)
    assert all(nc["gpu_allocatable"] == 4 and nc["instance_type"] == "gpu-4x-l4" and nc["initialized"]
               for nc in res["nodeclaims"])
    first = names(claims)

    # again: nothing new (and the empty nodes were not consolidated away meanwhile)
    res = ansible.module(MOD, args)
    assert res["changed"] is False and res["created"] == [] and res["deleted"] == []
    assert names(kenv.claims(pool)) == first

    # a third 4-GPU node would pass the pool's GPU limit of 8: refused before any write
    res = ansible.module(MOD, dict(args, count=3), fail_ok=True)
    assert res.get("failed") and "limit 8" in res["msg"] and "count" in res["msg"]
    assert names(kenv.claims(pool)) == first

    # karpenter_info sums the pool's GPUs
    info = ansible.module("karpenter_info", {"nodepools": [pool]})
    assert info["nodepools"][0]["gpu_capacity"] == 8 and info["nodepools"][0]["nodes"] == 2
    assert sorted(c["name"] for c in info["nodeclaims"]) == first
    assert all(c["capacity_group"] == "train" for c in info["nodeclaims"])

    # deterministic names: <pool>-<group>-<n>, the lowest free numbers
    assert first == ["%s-train-1" % pool, "%s-train-2" % pool]

    # one disappears: a rerun creates exactly one (under the lowest free name: the lost one's once
    # it is gone, the next one while it is still being deleted)
    lost_uid = [c for c in claims if c["metadata"]["name"] == first[0]][0]["metadata"]["uid"]
    kenv.nc_api.delete(name=first[0])
    res = ansible.module(MOD, args)
    assert res["changed"] is True and len(res["created"]) == 1 and res["deleted"] == []
    assert res["created_by_others"] == [] and res["created"][0] in ("%s-train-1" % pool, "%s-train-3" % pool)
    live_now = kenv.claims(pool)
    now = names(live_now)
    assert len(now) == 2 and first[1] in now and res["created"][0] in now
    assert lost_uid not in [c["metadata"]["uid"] for c in live_now]

    # a do-not-disrupt pod on the new node; scale to 1 must remove the other one, gracefully
    keep = res["created"][0]
    keep_node = [c for c in kenv.claims(pool) if c["metadata"]["name"] == keep][0]["status"]["nodeName"]
    taint = pool_args["taints"][0]
    kenv.core_v1.create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "critical", "annotations": {"karpenter.sh/do-not-disrupt": "true"}},
        "spec": {"nodeName": keep_node, "terminationGracePeriodSeconds": 0,
                 "tolerations": [{"key": taint["key"], "operator": "Exists"}],
                 "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}})
    res = ansible.module(MOD, dict(args, count=1), check=True)
    assert res["changed"] is True and res["deleted"] == [first[1]]
    assert names(kenv.claims(pool)) == sorted([keep, first[1]])
    res = ansible.module(MOD, dict(args, count=1))
    assert res["changed"] is True and res["deleted"] == [first[1]] and res["created"] == []
    assert res["blocked"] == {keep: ["%s/critical" % namespace]}
    assert names(kenv.claims(pool, include_deleting=True)) == [keep]
    removed_node = [c for c in claims if c["metadata"]["name"] == first[1]][0]["status"]["nodeName"]
    assert not [n for n in kenv.nodes(pool) if n.metadata.name == removed_node]

    # scaling to 0 would hit the do-not-disrupt pod: refused before any delete
    res = ansible.module(MOD, dict(args, count=0), fail_ok=True)
    assert res.get("failed") and "%s/critical" % namespace in res["msg"] and "force" in res["msg"]
    assert names(kenv.claims(pool)) == [keep]

    # once the pod is gone, scale to 0 works and waits until the NodeClaim is gone
    kenv.core_v1.delete_namespaced_pod("critical", namespace, grace_period_seconds=0)
    wait_until(lambda: not kenv.core_v1.list_namespaced_pod(namespace).items, 30, "pod critical gone")
    res = ansible.module(MOD, dict(args, count=0))
    assert res["changed"] is True and res["deleted"] == [keep]
    assert kenv.claims(pool, include_deleting=True) == []
