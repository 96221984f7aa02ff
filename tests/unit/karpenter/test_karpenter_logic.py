"""Unit tests of the pure Karpenter logic (no cluster)."""
import datetime
import json

import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import logic as k

UTC = datetime.timezone.utc


def base_params(**over):
    params = {
        "name": "gpu-pool",
        "node_class_ref": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"},
        "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                          "values": ["gpu-1x-l4", "gpu-4x-l4"]}],
    }
    params.update(over)
    return params


def rejected(params):
    with pytest.raises(k.KarpenterInputError) as exc:
        k.render_nodepool(params)
    return str(exc.value)


def test_render_full_nodepool():
    obj = k.render_nodepool(base_params(
        labels={"team": "ml"}, annotations={"note": "x"},
        taints=[{"key": "gpuaas.io/test", "value": "true", "effect": "NoSchedule"}],
        startup_taints=[{"key": "gpuaas.io/init", "effect": "NoExecute"}],
        expire_after="720h", termination_grace_period="1h",
        disruption={"consolidation_policy": "WhenEmpty", "consolidate_after": "30s",
                    "budgets": [{"nodes": "10%"}, {"nodes": 0, "schedule": "0 9 * * 1-5", "duration": "8h",
                                                   "reasons": ["Drifted", "Underutilized"]}]},
        limits={"nvidia.com/gpu": 8, "cpu": "1000"}, weight=50,
    ))
    spec = obj["spec"]
    assert obj["apiVersion"] == "karpenter.sh/v1" and obj["kind"] == "NodePool"
    assert obj["metadata"]["labels"][k.MANAGED_BY_KEY] == k.MANAGED_BY_VALUE
    assert spec["template"]["metadata"] == {"labels": {"team": "ml"}, "annotations": {"note": "x"}}
    ts = spec["template"]["spec"]
    assert ts["taints"] == [{"key": "gpuaas.io/test", "value": "true", "effect": "NoSchedule"}]
    assert ts["startupTaints"] == [{"key": "gpuaas.io/init", "effect": "NoExecute"}]
    assert ts["nodeClassRef"]["kind"] == "KWOKNodeClass"
    assert ts["expireAfter"] == "720h" and ts["terminationGracePeriod"] == "1h"
    assert spec["disruption"]["budgets"][1] == {"nodes": "0", "schedule": "0 9 * * 1-5", "duration": "8h",
                                                "reasons": ["Drifted", "Underutilized"]}
    assert spec["disruption"]["consolidateAfter"] == "30s"
    assert spec["limits"] == {"nvidia.com/gpu": "8", "cpu": "1000"}
    assert spec["weight"] == 50


def test_min_values_rendered():
    obj = k.render_nodepool(base_params(requirements=[
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["a", "b"], "min_values": 2},
        {"key": "nvidia.com/gpu.count", "operator": "Gt", "values": [0]},
        {"key": "karpenter.sh/capacity-type", "operator": "Exists"}]))
    reqs = obj["spec"]["template"]["spec"]["requirements"]
    assert reqs[0]["minValues"] == 2
    assert reqs[1] == {"key": "nvidia.com/gpu.count", "operator": "Gt", "values": ["0"]}
    assert reqs[2] == {"key": "karpenter.sh/capacity-type", "operator": "Exists"}


@pytest.mark.parametrize("over, field, value", [
    ({"requirements": [{"key": "a", "operator": "Like", "values": ["x"]}]}, "requirements[0].operator", "Like"),
    ({"limits": {"nvidia.com/gpu": "8 GPUs"}}, "limits[nvidia.com/gpu]", "8 GPUs"),
    ({"disruption": {"budgets": [{"nodes": "150%"}]}}, "disruption.budgets[0].nodes", "150%"),
    ({"disruption": {"budgets": [{"nodes": "1", "schedule": "61 * * * *", "duration": "1h"}]}},
     "disruption.budgets[0].schedule", "61 * * * *"),
    ({"disruption": {"budgets": [{"nodes": "1", "schedule": "0 9 * *", "duration": "1h"}]}},
     "disruption.budgets[0].schedule", "0 9 * *"),
    ({"disruption": {"budgets": [{"nodes": "1", "schedule": "0 9 * * *"}]}},
     "disruption.budgets[0].duration", None),
    ({"disruption": {"budgets": [{"nodes": "1", "reasons": ["Expired"]}]}},
     "disruption.budgets[0].reasons", "Expired"),
    ({"weight": 0}, "weight", 0),
    ({"weight": 101}, "weight", 101),
    ({"requirements": [{"key": "a", "operator": "Gt", "values": ["x"]}]}, "requirements[0].values", None),
    ({"requirements": [{"key": "a", "operator": "In", "values": []}]}, "requirements[0].values", None),
    ({"requirements": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "requirements[0].values", None),
    ({"requirements": [{"key": "a", "operator": "In", "values": ["x"], "min_values": 2}]},
     "requirements[0].min_values", 2),
    ({"requirements": [{"key": "kubernetes.io/hostname", "operator": "Exists"}]}, "requirements[0].key", None),
    ({"requirements": [{"key": "karpenter.sh/nodepool", "operator": "Exists"}]}, "requirements[0].key", None),
    ({"taints": [{"key": "a", "effect": "NoWay"}]}, "taints[0].effect", "NoWay"),
    ({"disruption": {"consolidate_after": "5 minutes"}}, "disruption.consolidate_after", "5 minutes"),
    ({"disruption": {"consolidation_policy": "Always"}}, "disruption.consolidation_policy", "Always"),
    ({"disruption": {"budgets": [{"nodes": "1", "schedule": "@daily", "duration": "30s"}]}},
     "disruption.budgets[0].duration", "30s"),
    ({"expire_after": "1d"}, "expire_after", "1d"),
    ({"termination_grace_period": "Never"}, "termination_grace_period", "Never"),
    ({"node_class_ref": {"group": "karpenter.kwok.sh", "name": "default"}}, "node_class_ref.kind", None),
    ({"name": "Bad_Name"}, "name", "Bad_Name"),
    ({"labels": {"karpenter.sh/foo": "x"}}, "labels[karpenter.sh/foo]", None),
])
def test_bad_inputs_name_field_and_value(over, field, value):
    msg = rejected(base_params(**over))
    assert field in msg
    if value is not None:
        assert json.dumps(value) in msg or str(value) in msg


def test_all_problems_reported_together():
    msg = rejected(base_params(weight=500, limits={"cpu": "x"}))
    assert "2 errors" in msg and "weight" in msg and "limits[cpu]" in msg


@pytest.mark.parametrize("expr", ["0 9 * * 1-5", "*/15 * * * *", "@daily", "0 0 1 JAN *", "30 2 * * SUN",
                                  "0 0-23/2 * * *", "0 0 ? * MON-FRI", "5,10,15 * * * *"])
def test_cron_valid(expr):
    k.parse_cron(expr)


@pytest.mark.parametrize("expr", ["", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
                                  "* * * 13 *", "* * * * 7", "*/0 * * * *", "5-1 * * * *", "@sometimes",
                                  "a b c d e", "TZ=UTC 0 9 * * *"])
def test_cron_invalid(expr):
    with pytest.raises(ValueError):
        k.parse_cron(expr)


def test_budget_active_windows():
    budget = {"nodes": "0", "schedule": "0 9 * * 1-5", "duration": "8h"}
    monday_10 = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
    monday_18 = datetime.datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    sunday_10 = datetime.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert k.budget_active(budget, monday_10)
    assert not k.budget_active(budget, monday_18)
    assert not k.budget_active(budget, sunday_10)
    assert k.budget_active({"nodes": "10%"}, monday_18)


def test_duration_seconds():
    assert k.duration_seconds("1h30m") == 5400
    assert k.duration_seconds("Never") is None
    assert k.duration_seconds("45s") == 45


def test_quantity_value():
    assert k.quantity_value("500m") == 0.5
    assert k.quantity_value("2Gi") == 2 * 2 ** 30
    assert k.quantity_value(8) == 8
    assert k.quantity_value("x") is None


def test_immutable_node_class_ref():
    other_class = {"group": "karpenter.kwok.sh", "kind": "OtherClass", "name": "default"}
    desired = k.render_nodepool(base_params(node_class_ref=other_class))
    live = k.render_nodepool(base_params())
    problems = k.check_nodepool_immutables(desired, live)
    assert problems and "node_class_ref.kind" in problems[0] and "OtherClass" in problems[0]
    assert k.check_nodepool_immutables(live, live) == []
    assert k.check_nodepool_immutables(desired, None) == []


def nodepool(budgets, annotations=None):
    return {"metadata": {"name": "p", "annotations": annotations or {}},
            "spec": {"disruption": {"budgets": budgets}}}


def test_pause_saves_and_second_pause_keeps_saved():
    before = [{"nodes": "20%"}, {"nodes": "2", "reasons": ["Drifted"]}]
    patch, info = k.pause_budgets(nodepool(before), [{"nodes": "0"}])
    saved = json.loads(patch["metadata"]["annotations"][k.SAVED_BUDGETS_ANNOTATION])
    assert saved == before
    assert patch["spec"]["disruption"]["budgets"] == [{"nodes": "0"}]
    assert not info["already_paused"]
    paused = nodepool([{"nodes": "0"}], patch["metadata"]["annotations"])
    # second identical pause: nothing to do
    patch2, info2 = k.pause_budgets(paused, [{"nodes": "0"}])
    assert patch2 is None and info2["already_paused"] and info2["saved_budgets"] == before
    # second pause with other budgets: the budgets change, the saved ones stay
    patch3, _info = k.pause_budgets(paused, [{"nodes": "1"}])
    assert "metadata" not in patch3 and patch3["spec"]["disruption"]["budgets"] == [{"nodes": "1"}]
    # resume restores exactly
    patch4, info4 = k.resume_budgets(paused)
    assert patch4["spec"]["disruption"]["budgets"] == before and info4["was_paused"]
    assert patch4["metadata"]["annotations"][k.SAVED_BUDGETS_ANNOTATION] is None
    # resume when not paused: nothing to do
    assert k.resume_budgets(nodepool(before))[0] is None


POOL = {"metadata": {"name": "gp"},
        "spec": {"template": {"metadata": {"labels": {"team": "ml"}},
                              "spec": {"requirements": [
                                  {"key": "node.kubernetes.io/instance-type", "operator": "In",
                                   "values": ["gpu-1x-l4", "gpu-4x-l4"]},
                                  {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}],
                                  "taints": [{"key": "t", "value": "x", "effect": "NoSchedule"}],
                                  "nodeClassRef": {"group": "g", "kind": "K", "name": "n"},
                                  "expireAfter": "720h"}}}}


def test_render_nodeclaim_from_pool():
    nc = k.render_nodeclaim(POOL, "train", {"instance_types": ["gpu-4x-l4"]})
    reqs = {r["key"]: r for r in nc["spec"]["requirements"]}
    assert reqs["node.kubernetes.io/instance-type"]["values"] == ["gpu-4x-l4"]
    assert reqs["karpenter.sh/capacity-type"]["values"] == ["on-demand"]
    assert len(nc["spec"]["requirements"]) == 2
    assert nc["metadata"]["labels"][k.NODEPOOL_LABEL] == "gp"
    assert nc["metadata"]["labels"][k.CAPACITY_GROUP_LABEL] == "train"
    assert nc["metadata"]["labels"]["team"] == "ml"
    assert nc["metadata"]["annotations"][k.DO_NOT_DISRUPT] == "true"
    assert nc["spec"]["taints"] == POOL["spec"]["template"]["spec"]["taints"]
    assert nc["spec"]["nodeClassRef"] == {"group": "g", "kind": "K", "name": "n"}
    assert nc["metadata"]["generateName"] == "gp-train-"


def test_render_nodeclaim_outside_pool_rejected():
    with pytest.raises(k.KarpenterInputError) as exc:
        k.render_nodeclaim(POOL, "train", {"instance_types": ["gpu-8x-a100"]})
    assert "gpu-8x-a100" in str(exc.value)


def test_catalog_resolution():
    doc = [{"name": "gpu-1x-l4", "resources": {"nvidia.com/gpu": "1", "cpu": "8"},
            "offerings": [{"requirements": [{"key": "nvidia.com/gpu.product", "operator": "In",
                                             "values": ["NVIDIA-L4"]}]}]},
           {"name": "gpu-4x-l4", "resources": {"nvidia.com/gpu": "4"},
            "offerings": [{"requirements": [{"key": "nvidia.com/gpu.product", "operator": "In",
                                             "values": ["NVIDIA-L4"]}]}]},
           {"name": "c-4x", "resources": {"cpu": "4"}, "offerings": []}]
    cat = k.load_instance_type_catalog(doc)
    assert k.resolve_instance_types(cat, gpu_count=4, gpu_product="NVIDIA-L4") == ["gpu-4x-l4"]
    assert k.resolve_instance_types(cat, gpu_product="NVIDIA-L4") == ["gpu-1x-l4", "gpu-4x-l4"]
    assert k.resolve_instance_types(cat, gpu_count=8) == []


def claim(name, node=None, created="2026-01-01T00:00:00Z"):
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": {"nodeName": node}}


def pod(name, annotations=None, daemon=False):
    meta = {"name": name, "namespace": "ns", "annotations": annotations or {}}
    if daemon:
        meta["ownerReferences"] = [{"kind": "DaemonSet", "name": "ds"}]
    return {"metadata": meta, "status": {"phase": "Running"}}


def test_scale_down_prefers_emptiest_and_skips_do_not_disrupt():
    claims = [claim("a", "na"), claim("b", "nb"), claim("c", "nc")]
    pods = {"na": [pod("p1"), pod("p2")], "nb": [pod("ds", daemon=True)],
            "nc": [pod("keep", {k.DO_NOT_DISRUPT: "true"})]}
    victims, blocked = k.plan_scale_down(claims, pods, 1)
    assert [v["metadata"]["name"] for v in victims] == ["b"]
    assert blocked == {"c": ["ns/keep"]}
    victims, _kept = k.plan_scale_down(claims, pods, 2)
    assert [v["metadata"]["name"] for v in victims] == ["b", "a"]
    with pytest.raises(k.KarpenterInputError) as exc:
        k.plan_scale_down(claims, pods, 3)
    assert "ns/keep" in str(exc.value)
    victims, _kept = k.plan_scale_down(claims, pods, 3, force=True)
    assert len(victims) == 3
    victims, _kept = k.plan_scale_down(claims, pods, 1, preferred=["a"])
    assert [v["metadata"]["name"] for v in victims] == ["a"]
    with pytest.raises(k.KarpenterInputError):
        k.plan_scale_down(claims, pods, 1, preferred=["c"])


def test_scale_down_unlaunched_first():
    claims = [claim("a", "na"), claim("b", None)]
    victims, _kept = k.plan_scale_down(claims, {"na": []}, 1)
    assert victims[0]["metadata"]["name"] == "b"


def test_pool_summary():
    np = {"metadata": {"name": "gp", "annotations": {}},
          "spec": {"limits": {"nvidia.com/gpu": "8"}, "disruption": {"budgets": [{"nodes": "10%"}]}},
          "status": {"resources": {"nvidia.com/gpu": "4"}, "nodes": 1,
                     "conditions": [{"type": "Ready", "status": "True"}]}}
    nodes = [{"metadata": {"name": "n1", "labels": {k.NODEPOOL_LABEL: "gp"}},
              "status": {"capacity": {"nvidia.com/gpu": "4"}, "allocatable": {"nvidia.com/gpu": "4"}}},
             {"metadata": {"name": "n2", "labels": {}}, "status": {"capacity": {"nvidia.com/gpu": "8"}}}]
    out = k.pool_summary(np, nodes, [])
    assert out["nodes"] == 1 and out["gpu_capacity"] == 4 and out["gpu_allocatable"] == 4
    assert out["limits"]["nvidia.com/gpu"] == {"limit": "8", "used": 4.0, "remaining": 4.0, "percent": 50.0}
    assert out["active_budgets"] == [{"nodes": "10%"}] and not out["paused"] and out["ready"] == "True"


def test_gpu_limit_problem():
    pool = {"metadata": {"name": "gp"}, "spec": {"limits": {"nvidia.com/gpu": "8"}}}
    claims = [{"metadata": {"name": "a"}, "status": {"nodeName": "na"}},
              {"metadata": {"name": "b"}, "status": {"allocatable": {"nvidia.com/gpu": "4"}}},
              {"metadata": {"name": "c", "deletionTimestamp": "x"}, "status": {"nodeName": "nc"}}]
    nodes = {"na": {"status": {"allocatable": {"nvidia.com/gpu": "1"}}},
             "nc": {"status": {"allocatable": {"nvidia.com/gpu": "8"}}}}
    assert k.gpu_limit_problem(pool, claims, nodes, 3, 1) is None          # 1 + 4 + 3 = 8
    text = k.gpu_limit_problem(pool, claims, nodes, 1, 4)                   # 1 + 4 + 4 = 9
    assert text.startswith("count:") and "limit 8" in text and "gp" in text
    assert k.gpu_limit_problem({"metadata": {"name": "x"}, "spec": {}}, claims, nodes, 5, 8) is None


def test_gpu_limit_counts_nodeclaims_not_launched_yet():
    pool = {"metadata": {"name": "gp"}, "spec": {"limits": {"nvidia.com/gpu": "8"}}}
    # created a moment ago by an earlier run: no node, no status; its GPUs still count
    by_requirement = {"metadata": {"name": "a"}, "spec": {"requirements": [
        {"key": k.GPU_COUNT_LABEL, "operator": "In", "values": ["4"]}]}}
    by_request = {"metadata": {"name": "b"}, "spec": {"resources": {"requests": {"nvidia.com/gpu": "2"}}}}
    unknown = {"metadata": {"name": "c"}, "spec": {}}
    assert k.gpu_limit_problem(pool, [by_requirement, by_request], {}, 1, 2) is None      # 4 + 2 + 2 = 8
    assert k.gpu_limit_problem(pool, [by_requirement, by_request], {}, 1, 3) is not None  # 4 + 2 + 3 = 9
    # one of unknown size counts as the shape being added
    assert k.gpu_limit_problem(pool, [unknown], {}, 1, 4) is None                         # 4 + 4 = 8
    assert k.gpu_limit_problem(pool, [unknown], {}, 2, 4) is not None                     # 4 + 8 = 12


def test_scale_down_remove_by_node_name_and_unknown_names():
    claims = [claim("a", "na"), claim("b", "nb")]
    pods = {"na": [], "nb": [pod("keep", {k.DO_NOT_DISRUPT: "true"})]}
    victims, _kept = k.plan_scale_down(claims, pods, 1, preferred=["na"])    # a node's name
    assert [v["metadata"]["name"] for v in victims] == ["a"]
    with pytest.raises(k.KarpenterInputError) as exc:                         # protected, named by node
        k.plan_scale_down(claims, pods, 1, preferred=["nb"])
    assert "NodeClaim b" in str(exc.value) and "ns/keep" in str(exc.value)
    with pytest.raises(k.KarpenterInputError) as exc:                         # no such NodeClaim or node
        k.plan_scale_down(claims, pods, 1, preferred=["zz"])
    assert "remove: zz" in str(exc.value) and "a, b" in str(exc.value)


def test_saved_budgets_annotation_must_be_a_list():
    pool = {"metadata": {"name": "gp", "annotations": {k.SAVED_BUDGETS_ANNOTATION: "{not json"}}}
    with pytest.raises(Exception) as exc:
        k.saved_budgets(pool)
    assert "gp" in str(exc.value) and k.SAVED_BUDGETS_ANNOTATION in str(exc.value)
    pool["metadata"]["annotations"][k.SAVED_BUDGETS_ANNOTATION] = '[{"nodes":"10%"}]'
    assert k.saved_budgets(pool) == [{"nodes": "10%"}]
