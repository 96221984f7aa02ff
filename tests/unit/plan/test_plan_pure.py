"""The cluster plan's pure parts: ApplySet ids and labels, the drift report, dependency levels of
the engine, and the checks of a whole plan (every problem named by its place, nothing read)."""
import base64
import hashlib

import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorList, GpuaasError, ValidationError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan import applyset
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan import cluster
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan import drift


def test_applyset_id_is_kep_3659_format():
    got = applyset.applyset_id("gpuaas-plan-a", "kube-system")
    raw = hashlib.sha256(b"gpuaas-plan-a.kube-system.ConfigMap.").digest()
    assert got == "applyset-%s-v1" % base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert len(got) <= 63 and "=" not in got
    assert applyset.applyset_id("gpuaas-plan-b", "kube-system") != got


def test_parent_and_group_kinds():
    assert applyset.group_kind(KINDS["ClusterQueue"]) == "ClusterQueue.kueue.x-k8s.io"
    assert applyset.group_kind(KINDS["Namespace"]) == "Namespace"
    parent = applyset.render_parent("a", "kube-system", ["Namespace", "ClusterQueue.kueue.x-k8s.io", "Namespace"],
                                    ["team-a", "kube-system", None])
    ann = parent["metadata"]["annotations"]
    assert ann[applyset.GROUP_KINDS_ANNOTATION] == "ClusterQueue.kueue.x-k8s.io,Namespace"
    assert ann[applyset.NAMESPACES_ANNOTATION] == "team-a"
    assert parent["metadata"]["labels"][applyset.ID_LABEL] == applyset.applyset_id("gpuaas-plan-a", "kube-system")
    assert applyset.parse_group_kinds(" b, a,,a") == ["a", "b"]
    assert applyset.tooling_problem({"metadata": {"annotations": {applyset.TOOLING_ANNOTATION: "kubectl/v1.36"}}})
    assert applyset.tooling_problem({"metadata": {"annotations": {applyset.TOOLING_ANNOTATION: applyset.TOOLING}}}) is None


def test_field_changes_by_key_and_index():
    before = {"metadata": {"name": "q", "resourceVersion": "1", "labels": {"a": "1", "b": "2"}},
              "spec": {"groups": [{"quota": "4"}, {"quota": "1"}], "tags": ["x"]}, "status": {"x": 1}}
    after = {"metadata": {"name": "q", "resourceVersion": "2", "labels": {"a": "1"}},
             "spec": {"groups": [{"quota": "8"}, {"quota": "1"}], "tags": ["x", "y"]}}
    changes = drift.field_changes(before, after)
    assert changes == [
        {"path": 'metadata.labels.b', "before": "2", "after": None},
        {"path": "spec.groups[0].quota", "before": "4", "after": "8"},
        {"path": "spec.tags", "before": ["x"], "after": ["x", "y"]},
    ]


@pytest.mark.parametrize("entry,pruned,cause", [
    ({"action": "created", "reason": "not found"}, False, "missing"),
    ({"action": "updated", "reason": "intent changed since the last apply"}, False, "plan changed"),
    ({"action": "updated", "reason": "live object differs: spec.x"}, False, "changed in the cluster"),
    ({"action": "updated", "reason": "no intent digest of field manager m on the object"}, False,
     "not applied by this collection yet"),
    ({"action": "deleted", "reason": "state absent"}, True, "no longer in the plan"),
])
def test_causes(entry, pruned, cause):
    assert drift.cause_of(entry, pruned=pruned) == cause


def test_report_counts_and_lines():
    results = [
        {"ref": "ClusterQueue/a", "kind": "ClusterQueue", "action": "updated", "reason": "live object differs",
         "diff": {"before": {"spec": {"q": "4"}}, "after": {"spec": {"q": "8"}}}},
        {"ref": "ClusterQueue/b", "kind": "ClusterQueue", "action": "unchanged"},
        {"ref": "LocalQueue/n/x", "kind": "LocalQueue", "action": "deleted", "reason": "state absent"},
    ]
    r = drift.report(results, pruned_refs=["LocalQueue/n/x"])
    assert r["counts"] == {"ClusterQueue": {"updated": 1, "unchanged": 1}, "LocalQueue": {"deleted": 1}}
    assert r["drifted"] == 2
    assert r["lines"] == ["updated ClusterQueue/a (changed in the cluster)", '    spec.q: "4" -> "8"',
                          "deleted LocalQueue/n/x (no longer in the plan)"]


def test_levels_and_parallel_writes_keep_order():
    kind = KINDS["ClusterQueue"]
    items = [engine.Item(kind, name=n, level=lvl) for n, lvl in
             [("a", 1), ("b", 1), ("c", None), ("d", None), ("e", 2), ("f", 2), ("g", 1)]]
    assert [[i.name for i in run] for run in engine.levels_of(items)] == [["a", "b"], ["c"], ["d"], ["e", "f"], ["g"]]

    def write(it):
        if it.name == "b":
            raise GpuaasError("boom")
        return {"ref": it.name}
    out = engine.write_level(write, items[:2] + items[4:6], parallel=4)
    assert [(i.name, e is not None, err is not None) for i, e, err in out] == [
        ("a", True, False), ("b", False, True), ("e", True, False), ("f", True, False)]
    # sequentially, a failure stops the level
    out = engine.write_level(write, items[:2] + items[4:6], parallel=1)
    assert [i.name for i, e, err in out] == ["a", "b"]


def plan(**kw):
    p = dict(name="p1", state="present", applyset_namespace="kube-system", parallel=8, prune=False, force=False,
             wait=False, wait_timeout=60, manifests=[], workloads=[], capacity=[], node_taints=[])
    for d in cluster.OBJECT_DESCRIPTIONS:
        p[d.section] = []
    p.update(kw)
    return p


def test_whole_plan_in_dependency_order_with_member_labels():
    checked = cluster.check_plan(None, plan(
        local_queues=[{"name": "lq", "namespace": "team-a", "cluster_queue": "q"}],
        cluster_queues=[{"name": "q", "resource_groups": [{"flavors": [{"name": "f", "resources": [
            {"name": "nvidia.com/gpu", "nominal_quota": 8}]}]}]}],
        resource_flavors=[{"name": "f"}], namespaces=[{"name": "team-a", "labels": {"team": "a"}}],
        priority_classes=[{"name": "train", "value": 1000}],
        nodepools=[{"name": "np", "node_class_ref": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"}}]))
    assert [(e.kind.kind, e.params["name"]) for e in checked.entries] == [
        ("Namespace", "team-a"), ("PriorityClass", "train"), ("ResourceFlavor", "f"), ("ClusterQueue", "q"),
        ("LocalQueue", "lq"), ("NodePool", "np")]
    for e in checked.entries:
        labels = e.obj["metadata"]["labels"]
        assert labels[applyset.PART_OF_LABEL] == checked.set_id
        assert labels["gpuaas.io/plan"] == "p1" and labels["app.kubernetes.io/managed-by"] == "gpuaas-orchestration"
    assert checked.entries[0].obj["metadata"]["labels"]["team"] == "a"


def test_every_problem_named_by_its_place():
    with pytest.raises(ErrorList) as info:
        cluster.check_plan(None, plan(
            cluster_queues=[{"name": "ok"}, {"name": "q", "resource_groups": [{"flavors": [{"name": "f", "resources": [
                {"name": "cpu", "nominal_quota": 1}, {"name": "nvidia.com/gpu", "nominal_quota": "8x"}]}]}]}],
            priority_classes=[{"name": "p", "value": 2000000000}, {"name": "system-x", "value": 1}],
            namespaces=[{"name": "Bad_Name"}],
            nodepools=[{"name": "np", "node_class_ref": {"group": "g", "kind": "K", "name": "n"},
                        "requirements": [{"key": "k", "operator": "Gt", "values": ["x"]}]}],
            capacity=[{"nodepool": "np", "name": "g", "count": -1}],
            node_taints=[{"label_selector": "a=b", "taints": [{"key": "k", "effect": "Bogus"}]}],
            manifests=[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}]))
    fields = sorted(e.field for e in info.value.errors if isinstance(e, ValidationError))
    assert "cluster_queues[1].resource_groups[0].flavors[0].resources[1].nominal_quota" in fields, fields
    assert "priority_classes[0].value" in fields and "priority_classes[1].name" in fields, fields
    assert "namespaces[0].name" in fields, fields
    assert "nodepools[0].requirements[0].values[0]" in fields, fields
    assert "capacity[0].count" in fields, fields
    assert "manifests[0].metadata.name" in fields, fields
    assert any(f.startswith("node_taints[0]") for f in fields), fields


def test_plan_params():
    with pytest.raises(GpuaasError) as info:
        cluster.check_plan(None, plan(name="Bad Name", parallel=0))
    assert {e.field for e in info.value.errors} == {"name", "parallel"}
    with pytest.raises(ValidationError) as info:
        cluster.check_plan(None, plan(prune=True, state="absent"))
    assert info.value.field == "prune"


def test_other_owner_and_objects_being_deleted():
    mine = applyset.applyset_id("gpuaas-plan-a", "kube-system")
    assert cluster.other_owner(mine, None) is None
    assert cluster.other_owner(mine, {"metadata": {"labels": {applyset.PART_OF_LABEL: mine}}}) is None
    assert cluster.other_owner(mine, {"metadata": {"labels": {applyset.PART_OF_LABEL: "applyset-x-v1"}}}) == "applyset-x-v1"
    item = engine.Item(KINDS["ClusterQueue"], name="q")
    assert engine.being_deleted(item, {"metadata": {"name": "q"}}) == []
    errors = engine.being_deleted(item, {"metadata": {"name": "q", "deletionTimestamp": "2026-12-02T00:00:00Z",
                                                      "finalizers": ["kueue.x-k8s.io/resource-in-use"]}})
    assert len(errors) == 1 and "is being deleted" in str(errors[0]) and "resource-in-use" in str(errors[0])
    assert engine.being_deleted(engine.Item(KINDS["ClusterQueue"], name="q", state="absent"),
                                {"metadata": {"deletionTimestamp": "x"}}) == []


def test_role_argument_specs_are_generated_from_the_plan_spec():
    """roles/cluster_plan and roles/drift check a plan with exactly the module's options."""
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[3]
    proc = subprocess.run([sys.executable, str(repo / "scripts" / "role_specs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
