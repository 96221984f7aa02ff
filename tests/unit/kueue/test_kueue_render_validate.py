"""Rendering and validation of Kueue objects (pure)."""
import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import admission_check as kind_ac
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import catalog
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import cluster_queue as kind_cq
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import cohort as kind_cohort
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import local_queue as kind_lq
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import resource_flavor as kind_rf
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import topology as kind_topo
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import workload_priority_class as kind_wpc
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import common as kc


def fields(errors):
    return [e.field for e in errors]


def test_render_resource_flavor():
    obj = kind_rf.render_resource_flavor({
        "name": "a100", "node_labels": {"gpuaas.io/pool": "train-a100"},
        "node_taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
        "tolerations": [{"key": "x", "operator": "Exists", "effect": "NoExecute", "toleration_seconds": 30}],
        "topology_name": None, "labels": {"a": "b"}})
    assert obj == {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor",
        "metadata": {"name": "a100", "labels": {"a": "b"}},
        "spec": {"nodeLabels": {"gpuaas.io/pool": "train-a100"},
                 "nodeTaints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                 "tolerations": [{"key": "x", "operator": "Exists", "value": None, "effect": "NoExecute",
                                  "tolerationSeconds": 30}]}}
    assert kind_rf.validate_resource_flavor(obj) == []


def test_render_resource_groups_orders_and_derives_covered():
    groups = kc.render_resource_groups([{"flavors": [
        {"name": "a", "resources": [{"name": "cpu", "nominal_quota": 4},
                                    {"name": "nvidia.com/gpu", "nominal_quota": 8, "borrowing_limit": 2}]},
        {"name": "b", "resources": [{"name": "nvidia.com/gpu", "nominal_quota": "4"}, {"name": "cpu", "nominal_quota": "2"}]},
    ]}])
    assert groups[0]["coveredResources"] == ["cpu", "nvidia.com/gpu"]
    assert [r["name"] for r in groups[0]["flavors"][1]["resources"]] == ["cpu", "nvidia.com/gpu"]
    assert groups[0]["flavors"][0]["resources"][0] == {"name": "cpu", "nominalQuota": "4", "borrowingLimit": None,
                                                       "lendingLimit": None}
    assert groups[0]["flavors"][0]["resources"][1]["borrowingLimit"] == "2"


def cq(groups, **extra):
    p = {"name": "q", "resource_groups": groups}
    p.update(extra)
    from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.engine import prune_none
    return prune_none(kind_cq.render_cluster_queue(p))


def g(*flavors, covered=None):
    out = {"flavors": [{"name": n, "resources": [dict(name=r[0], nominal_quota=r[1], **(r[2] if len(r) > 2 else {}))
                                                 for r in res]} for n, res in flavors]}
    if covered:
        out["covered_resources"] = covered
    return out


def test_cluster_queue_valid():
    obj = cq([g(("a", [("cpu", 4, {"borrowing_limit": 1, "lending_limit": "2"})]))], cohort="c",
             preemption={"reclaim_within_cohort": "Any", "borrow_within_cohort": {"policy": "LowerPriority"}},
             flavor_fungibility={"when_can_borrow": "TryNextFlavor", "when_can_preempt": "TryNextFlavor",
                                 "preference": "BorrowingOverPreemption"},
             namespace_selector={"matchLabels": {"team": "a"}}, stop_policy="Hold",
             admission_checks=[{"name": "check", "on_flavors": ["a"]}])
    assert kind_cq.validate_cluster_queue(obj) == []
    assert obj["spec"]["cohortName"] == "c"
    assert obj["spec"]["admissionChecksStrategy"] == {"admissionChecks": [{"name": "check", "onFlavors": ["a"]}]}


@pytest.mark.parametrize("groups,extra,field,problem", [
    ([g(("a", [("cpu", "12x")]))], {}, "spec.resourceGroups[0].flavors[0].resources[0].nominalQuota", "quantity"),
    ([g(("a", [("cpu", "-1")]))], {}, "spec.resourceGroups[0].flavors[0].resources[0].nominalQuota", "negative"),
    ([g(("a", [("cpu", 1, {"borrowing_limit": 1})]))], {}, "spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit", "cohort"),
    ([g(("a", [("cpu", 1, {"lending_limit": 1})]))], {}, "spec.resourceGroups[0].flavors[0].resources[0].lendingLimit", "cohort"),
    ([g(("a", [("cpu", 1, {"lending_limit": 2})]))], {"cohort": "c"}, "spec.resourceGroups[0].flavors[0].resources[0].lendingLimit", "greater"),
    ([g(("a", [("cpu", 1)]), covered=["cpu", "memory"])], {}, "spec.resourceGroups[0].flavors[0].resources", "missing memory"),
    ([g(("a", [("cpu", 1), ("gpu", 1)]), covered=["cpu"])], {}, "spec.resourceGroups[0].flavors[0].resources[1].name", "covered"),
    ([g(("a", [("cpu", 1)])), g(("a", [("memory", 1)]))], {}, "spec.resourceGroups[1].flavors[0].name", "already appears"),
    ([g(("a", [("cpu", 1)])), g(("b", [("cpu", 1)]))], {}, "spec.resourceGroups[1].coveredResources[0]", "one group only"),
    ([g(("Bad", [("cpu", 1)]))], {}, "spec.resourceGroups[0].flavors[0].name", "DNS-1123"),
    ([g(("a", [("cpu", 1)]))], {"cohort": "Bad Cohort"}, "spec.cohortName", "DNS-1123"),
    ([g(("a", [("cpu", 1)]))], {"queueing_strategy": "LIFO"}, "spec.queueingStrategy", "one of"),
    ([g(("a", [("cpu", 1)]))], {"namespace_selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
     "spec.namespaceSelector.matchExpressions[0].values", "must not be empty"),
    ([g(("a", [("cpu", 1)]))], {"preemption": {"reclaim_within_cohort": "Never", "borrow_within_cohort": {"policy": "LowerPriority"}}},
     "spec.preemption.borrowWithinCohort.policy", "Never"),
    ([g(("a", [("cpu", 1)]))], {"admission_checks": [{"name": "c", "on_flavors": ["zz"]}]},
     "spec.admissionChecksStrategy.admissionChecks[0].onFlavors[0]", "flavors of this queue"),
    ([g(("a", [("cpu", 1)]))], {"fair_sharing": {"weight": "heavy"}}, "spec.fairSharing.weight", "quantity"),
])
def test_cluster_queue_invalid(groups, extra, field, problem):
    errors = kind_cq.validate_cluster_queue(cq(groups, **extra))
    assert field in fields(errors), [str(e) for e in errors]
    assert any(problem in e.problem for e in errors if e.field == field), [str(e) for e in errors]


def test_too_many_resource_groups():
    groups = [g(("f%d" % i, [("r%d" % i, 1)])) for i in range(17)]
    assert "spec.resourceGroups" in fields(kind_cq.validate_cluster_queue(cq(groups)))


def test_resource_flavor_limits():
    obj = kind_rf.render_resource_flavor({"name": "f", "node_labels": dict(("k%d" % i, "v") for i in range(9)),
                                          "node_taints": [{"key": "t%d" % i, "effect": "NoSchedule"} for i in range(9)],
                                          "tolerations": [{"key": "t%d" % i, "operator": "Exists"} for i in range(9)]})
    msgs = [str(e) for e in kind_rf.validate_resource_flavor(obj)]
    assert any(m.startswith("spec.nodeLabels: must have at most 8 labels") for m in msgs)
    assert any(m.startswith("spec.nodeTaints: must have at most 8 items") for m in msgs)
    assert any(m.startswith("spec.tolerations: must have at most 8 items") for m in msgs)
    obj = kind_rf.render_resource_flavor({"name": "f", "topology_name": "t"})
    assert fields(kind_rf.validate_resource_flavor(obj)) == ["spec.nodeLabels"]


def test_local_queue_cohort_wpc_ac_topology():
    lq = kind_lq.render_local_queue({"name": "q", "namespace": "ns", "cluster_queue": None})
    assert fields(kind_lq.validate_local_queue(lq)) == ["spec.clusterQueue"]
    lq = kind_lq.render_local_queue({"name": "q", "namespace": "ns", "cluster_queue": "cq", "stop_policy": "Hold",
                                     "fair_sharing": {"weight": 2}})
    assert lq["spec"] == {"clusterQueue": "cq", "stopPolicy": "Hold", "fairSharing": {"weight": "2"}}
    assert kind_lq.validate_local_queue(lq) == []
    co = kind_cohort.render_cohort({"name": "c", "parent": "c", "resource_groups": [g(("a", [("cpu", 1, {"lending_limit": 1})]))]})
    assert fields(kind_cohort.validate_cohort(co)) == ["spec.parentName"]
    co = kind_cohort.render_cohort({"name": "c", "resource_groups": [g(("a", [("cpu", 1, {"lending_limit": 1})]))]})
    errs = kind_cohort.validate_cohort(co)
    assert fields(errs) == ["spec.resourceGroups[0].flavors[0].resources[0].lendingLimit"] and "parent" in errs[0].problem
    w = kind_wpc.render_workload_priority_class({"name": "p", "value": 10, "description": "d"})
    assert w == {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass",
                 "metadata": {"name": "p"}, "value": 10, "description": "d"}
    assert kind_wpc.validate_workload_priority_class(w) == []
    assert fields(kind_wpc.validate_workload_priority_class(dict(w, value=True))) == ["value"]
    ac = kind_ac.render_admission_check({"name": "a", "controller_name": "x/y",
                                         "parameters": {"api_group": "Bad Group", "kind": "K", "name": "n"}})
    assert fields(kind_ac.validate_admission_check(ac)) == ["spec.parameters.apiGroup"]
    t = kind_topo.render_topology({"name": "t", "levels": ["a/b", "a/b", "kubernetes.io/hostname"]})
    assert fields(kind_topo.validate_topology(t)) == ["spec.levels[1].nodeLabel"]
    assert fields(kind_topo.validate_topology(kind_topo.render_topology({"name": "t", "levels": []}))) == ["spec.levels"]


def test_immutable_errors():
    live = {"spec": {"clusterQueue": "a"}}
    errs = catalog.immutable_errors(kc.LOCAL_QUEUE, {"spec": {"clusterQueue": "b"}}, live)
    assert str(errs[0]).startswith("spec.clusterQueue: is immutable (live value 'a')")
    assert catalog.immutable_errors(kc.LOCAL_QUEUE, {"spec": {"clusterQueue": "a"}}, live) == []
    assert catalog.immutable_errors(kc.LOCAL_QUEUE, {"spec": {"clusterQueue": "b"}}, None) == []
    live = {"spec": {"topologyName": "t", "nodeLabels": {"a": "1"}}}
    errs = catalog.immutable_errors(kc.RESOURCE_FLAVOR, {"spec": {"topologyName": "u", "nodeLabels": {"a": "2"}}}, live)
    assert fields(errs) == ["spec.topologyName", "spec.nodeLabels"]
    assert catalog.immutable_errors(kc.RESOURCE_FLAVOR, {"spec": {"nodeLabels": {"a": "2"}}}, {"spec": {"nodeLabels": {"a": "1"}}}) == []
    assert fields(catalog.immutable_errors(kc.ADMISSION_CHECK, {"spec": {"controllerName": "b"}},
                                           {"spec": {"controllerName": "a"}})) == ["spec.controllerName"]
