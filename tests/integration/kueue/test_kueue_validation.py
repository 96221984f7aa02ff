"""Bad inputs are rejected before any write, with a message naming the field and the value."""
import uuid

import pytest

from kueue_helpers import Kq, run_tasks


def _cq(name, flavors, cohort=None, covered=None, **extra):
    rg = {"flavors": flavors}
    if covered:
        rg["covered_resources"] = covered
    args = {"name": name, "resource_groups": [rg]}
    if cohort:
        args["cohort"] = cohort
    args.update(extra)
    return args


def _fl(name, *resources):
    return {"name": name, "resources": [dict(zip(("name", "nominal_quota"), r[:2]), **(r[2] if len(r) > 2 else {}))
                                        for r in resources]}


# (id, module, kind, args-builder(sfx), expected substrings of msg)
CASES = [
    ("taint-effect", "kueue_resource_flavor", "ResourceFlavor",
     lambda s: {"name": "rf-" + s, "node_taints": [{"key": "nvidia.com/gpu", "effect": "NoScheduled"}]},
     ["effect", "NoScheduled"]),
    ("too-many-node-labels", "kueue_resource_flavor", "ResourceFlavor",
     lambda s: {"name": "rf-" + s, "node_labels": dict(("l%d" % i, "v") for i in range(9))},
     ["spec.nodeLabels", "at most 8"]),
    ("bad-label-key", "kueue_resource_flavor", "ResourceFlavor",
     lambda s: {"name": "rf-" + s, "node_labels": {"bad key!": "v"}},
     ["spec.nodeLabels['bad key!']", "label key"]),
    ("toleration-exists-with-value", "kueue_resource_flavor", "ResourceFlavor",
     lambda s: {"name": "rf-" + s, "tolerations": [{"key": "a", "operator": "Exists", "value": "x"}]},
     ["spec.tolerations[0].value", "must be empty when operator is Exists"]),
    ("bad-name", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("Bad_Name-" + s, [_fl("f", ("cpu", 1))]),
     ["metadata.name", "DNS-1123", "Bad_Name"]),
    ("bad-quantity", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("cq-" + s, [_fl("f", ("cpu", "12x"))]),
     ["spec.resourceGroups[0].flavors[0].resources[0].nominalQuota", "quantity", "'12x'"]),
    ("negative-quota", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("cq-" + s, [_fl("f", ("cpu", "-1"))]),
     ["nominalQuota", "must not be negative"]),
    ("borrowing-without-cohort", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("cq-" + s, [_fl("f", ("cpu", 4, {"borrowing_limit": 2}))]),
     ["spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit", "only allowed when a cohort is set"]),
    ("lending-without-cohort", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("cq-" + s, [_fl("f", ("cpu", 4, {"lending_limit": 2}))]),
     ["lendingLimit", "only allowed when a cohort is set"]),
    ("lending-above-nominal", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("cq-" + s, [_fl("f", ("cpu", 4, {"lending_limit": 5}))], cohort="c-" + s),
     ["lendingLimit", "must not be greater than nominalQuota"]),
    ("flavor-misses-covered-resource", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("cq-" + s, [_fl("f", ("cpu", 4))], covered=["cpu", "memory"]),
     ["spec.resourceGroups[0].flavors[0].resources", "missing memory"]),
    ("flavor-resource-not-covered", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("cq-" + s, [_fl("f", ("cpu", 4), ("nvidia.com/gpu", 8))], covered=["cpu"]),
     ["spec.resourceGroups[0].flavors[0].resources[1].name", "nvidia.com/gpu", "not one of the covered"]),
    ("duplicate-flavor", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("cq-" + s, [_fl("f", ("cpu", 4)), _fl("f", ("cpu", 2))]),
     ["spec.resourceGroups[0].flavors[1].name", "flavor already appears"]),
    ("fungibility-preference", "kueue_cluster_queue", "ClusterQueue",
     lambda s: _cq("cq-" + s, [_fl("f", ("cpu", 4))],
                   flavor_fungibility={"when_can_borrow": "MayStopSearch", "preference": "BorrowingOverPreemption"}),
     ["spec.flavorFungibility.preference", "TryNextFlavor"]),
    ("priority-out-of-range", "kueue_workload_priority_class", "WorkloadPriorityClass",
     lambda s: {"name": "wpc-" + s, "value": 2 ** 31}, ["value", "32-bit", "2147483648"]),
    ("hostname-not-lowest-level", "kueue_topology", "Topology",
     lambda s: {"name": "t-" + s, "levels": ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]},
     ["spec.levels[0].nodeLabel", "lowest"]),
    ("localqueue-bad-namespace", "kueue_local_queue", None,
     lambda s: {"name": "lq", "namespace": "Bad_NS", "cluster_queue": "cq-" + s},
     ["metadata.namespace", "Bad_NS"]),
]


@pytest.fixture(scope="module")
def rejected(ansible, dyn, api_client):
    """Run every bad case in one ansible-playbook process; return (results by case id, live-object getter)."""
    sfx = uuid.uuid4().hex[:6]
    built = [(c[0], c[1], c[2], c[3](sfx), c[4]) for c in CASES]
    results = run_tasks(ansible, [(b[1], b[3]) for b in built])
    kq = Kq(dyn, api_client)
    return dict((b[0], (b, r)) for b, r in zip(built, results)), kq


@pytest.mark.parametrize("case_id", [c[0] for c in CASES])
def test_rejected_before_write(rejected, case_id):
    by_id, kq = rejected
    (case, r) = by_id[case_id]
    module, kind, args, expected = case[1], case[2], case[3], case[4]
    assert r.get("failed"), r
    for text in expected:
        assert text in r["msg"], (text, r["msg"])
    if kind:
        assert kq.get(kind, args["name"]) is None


def test_all_errors_reported_together(ansible, kq, sfx):
    args = _cq("cq-" + sfx, [_fl("f", ("cpu", "12x", {"borrowing_limit": "1"}))])
    args["resource_groups"][0]["flavors"][0]["name"] = "Bad"
    r = ansible.module("kueue_cluster_queue", args, fail_ok=True)
    fields = sorted(e["field"] for e in r["errors"])
    assert fields == ["spec.resourceGroups[0].flavors[0].name",
                      "spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit",
                      "spec.resourceGroups[0].flavors[0].resources[0].nominalQuota"], r["errors"]
    assert kq.get("ClusterQueue", args["name"]) is None


def test_immutable_fields_refused_before_write(ansible, kq, sfx, namespace):
    # LocalQueue.spec.clusterQueue
    cq_a, cq_b = kq.track("ClusterQueue", "ima-" + sfx), kq.track("ClusterQueue", "imb-" + sfx)
    for cq in (cq_a, cq_b):
        ansible.module("kueue_cluster_queue", {"name": cq})
    ansible.module("kueue_local_queue", {"name": "lq", "namespace": namespace, "cluster_queue": cq_a})
    rv = kq.settled_rvs([("LocalQueue", "lq", namespace)])[0]
    for check in (True, False):
        r = ansible.module("kueue_local_queue", {"name": "lq", "namespace": namespace, "cluster_queue": cq_b},
                           check=check, fail_ok=True)
        assert r.get("failed") and "spec.clusterQueue: is immutable" in r["msg"] and cq_b in r["msg"], r["msg"]
    assert kq.rv("LocalQueue", "lq", namespace) == rv

    # ResourceFlavor.spec.topologyName (and nodeLabels while it is set)
    topo = kq.track("Topology", "imt-" + sfx)
    ansible.module("kueue_topology", {"name": topo, "levels": ["kubernetes.io/hostname"]})
    rf = kq.track("ResourceFlavor", "imrf-" + sfx)
    base = {"name": rf, "node_labels": {"gpuaas.io/pool": "train-a100"}, "topology_name": topo}
    ansible.module("kueue_resource_flavor", base)
    rv = kq.settled_rvs([("ResourceFlavor", rf)])[0]
    r = ansible.module("kueue_resource_flavor", dict(base, topology_name="other-" + sfx), fail_ok=True)
    assert r.get("failed") and "spec.topologyName: is immutable" in r["msg"], r["msg"]
    r = ansible.module("kueue_resource_flavor", dict(base, node_labels={"gpuaas.io/pool": "infer-l4"}), fail_ok=True)
    assert r.get("failed") and "spec.nodeLabels: is immutable" in r["msg"], r["msg"]
    assert kq.rv("ResourceFlavor", rf) == rv


def test_api_errors_surface_in_check_mode(ansible, kq, sfx):
    """What only the API server knows fails in check mode too (the write is a server-side dry run)."""
    r = ansible.module("kueue_local_queue", {"name": "lq", "namespace": "missing-" + sfx, "cluster_queue": "x"},
                       check=True, fail_ok=True)
    assert r.get("failed") and r["api_error"]["status"] == 404, r
    assert "missing-" + sfx in r["msg"]
