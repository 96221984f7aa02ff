"""Unit tests of the NodePool description: render, Karpenter's validation rules on the shared
stack (every error a ValidationError with field, value and problem), immutable fields."""
import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector, ValidationError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import nodepool as np
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodepool import DESCRIPTION

NOT_GIVEN = object()


def base_params(**over):
    params = {
        "name": "gpu-pool",
        "node_class_ref": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"},
        "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                          "values": ["gpu-1x-l4", "gpu-4x-l4"]}],
    }
    params.update(over)
    return params


def errors_of(params):
    errors = DESCRIPTION.validate(DESCRIPTION.render(params))
    assert all(isinstance(e, ValidationError) for e in errors)
    return errors


def one_error(params, field):
    errors = [e for e in errors_of(params) if e.field == field]
    assert len(errors) == 1, [str(e) for e in errors_of(params)]
    return errors[0]


def test_description():
    assert DESCRIPTION.kind.kind == "NodePool" and DESCRIPTION.section == "nodepools" and DESCRIPTION.rank == 70
    assert ("spec", "limits", "*") in DESCRIPTION.quantity_paths
    assert ("metadata", "annotations", "gpuaas.io/paused-disruption-budgets") in DESCRIPTION.preserve
    predicate, what = DESCRIPTION.ready
    assert what == "Ready"
    assert predicate({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert not predicate({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}) and not predicate(None)
    spec = DESCRIPTION.argument_spec()
    assert {"name", "requirements", "limits", "state", "force", "wait"} <= set(spec)


def test_render_full_nodepool():
    obj = np.render_nodepool(base_params(
        labels={"team": "ml", "n": 3}, annotations={"note": "x"},
        taints=[{"key": "gpuaas.io/test", "value": "true", "effect": "NoSchedule"}],
        startup_taints=[{"key": "gpuaas.io/init", "value": None, "effect": "NoExecute"}],
        expire_after="720h", termination_grace_period="1h",
        disruption={"consolidation_policy": "WhenEmpty", "consolidate_after": "30s",
                    "budgets": [{"nodes": "10%"}, {"nodes": 0, "schedule": "0 9 * * 1-5", "duration": "8h",
                                                   "reasons": ["Drifted", "Underutilized"]}]},
        limits={"nvidia.com/gpu": 8, "cpu": "1000"}, weight=50,
    ))
    assert DESCRIPTION.validate(obj) == []
    spec = obj["spec"]
    assert obj["apiVersion"] == "karpenter.sh/v1" and obj["kind"] == "NodePool"
    assert obj["metadata"]["labels"][engine.MANAGED_BY_LABEL] == engine.MANAGED_BY
    assert spec["template"]["metadata"] == {"labels": {"team": "ml", "n": "3"}, "annotations": {"note": "x"}}
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


def test_consolidate_after_defaults_once_disruption_is_given():
    obj = np.render_nodepool(base_params(disruption={"consolidation_policy": "WhenEmpty", "budgets": None}))
    assert obj["spec"]["disruption"] == {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "0s"}
    assert "disruption" not in np.render_nodepool(base_params())["spec"]


def test_min_values_rendered():
    obj = np.render_nodepool(base_params(requirements=[
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["a", "b"], "min_values": 2},
        {"key": "nvidia.com/gpu.count", "operator": "Gt", "values": [0]},
        {"key": "karpenter.sh/capacity-type", "operator": "Exists", "values": None, "min_values": None}]))
    reqs = obj["spec"]["template"]["spec"]["requirements"]
    assert reqs[0]["minValues"] == 2
    assert reqs[1] == {"key": "nvidia.com/gpu.count", "operator": "Gt", "values": ["0"]}
    assert reqs[2] == {"key": "karpenter.sh/capacity-type", "operator": "Exists"}
    assert DESCRIPTION.validate(obj) == []


REQ = "spec.template.spec.requirements[0]"
BUDGET = "spec.disruption.budgets[0]"


@pytest.mark.parametrize("over, field, value, problem", [
    ({"requirements": [{"key": "a", "operator": "Like", "values": ["x"]}]}, REQ + ".operator", "Like", "must be one of"),
    ({"limits": {"nvidia.com/gpu": "8 GPUs"}}, "spec.limits['nvidia.com/gpu']", "8 GPUs", "Kubernetes quantity"),
    ({"limits": {"nvidia.com/gpu": "-8"}}, "spec.limits['nvidia.com/gpu']", "-8", "must not be negative"),
    ({"limits": {"nvidia.com/gpu": True}}, "spec.limits['nvidia.com/gpu']", True, "Kubernetes quantity"),
    ({"disruption": {"budgets": [{"nodes": "150%"}]}}, BUDGET + ".nodes", "150%", "between 0% and 100%"),
    ({"disruption": {"budgets": [{"nodes": "many"}]}}, BUDGET + ".nodes", "many", "node count"),
    ({"disruption": {"budgets": [{"nodes": "-1"}]}}, BUDGET + ".nodes", "-1", "node count"),
    ({"disruption": {"budgets": [{"nodes": "1", "schedule": "61 * * * *", "duration": "1h"}]}},
     BUDGET + ".schedule", "61 * * * *", "minute field '61': 61 is out of range 0-59"),
    ({"disruption": {"budgets": [{"nodes": "1", "schedule": "0 9 * *", "duration": "1h"}]}},
     BUDGET + ".schedule", "0 9 * *", "needs 5 fields"),
    ({"disruption": {"budgets": [{"nodes": "1", "schedule": "0 9 * * *"}]}},
     BUDGET + ".duration", None, "is required when schedule is set"),
    ({"disruption": {"budgets": [{"nodes": "1", "duration": "1h"}]}},
     BUDGET + ".schedule", None, "is required when duration is set"),
    ({"disruption": {"budgets": [{"nodes": "1", "reasons": ["Expired"]}]}},
     BUDGET + ".reasons[0]", "Expired", "must be one of Underutilized, Empty, Drifted"),
    ({"disruption": {"budgets": [{"nodes": "1", "reasons": ["Empty", "Empty"]}]}},
     BUDGET + ".reasons[1]", "Empty", "duplicate"),
    ({"weight": 0}, "spec.weight", 0, "from 1 to 100"),
    ({"weight": 101}, "spec.weight", 101, "from 1 to 100"),
    ({"requirements": [{"key": "a", "operator": "Gt", "values": ["x"]}]}, REQ + ".values[0]", "x", "integer"),
    ({"requirements": [{"key": "a", "operator": "Gte", "values": ["x"]}]}, REQ + ".values[0]", "x", "integer"),
    ({"requirements": [{"key": "a", "operator": "Lte", "values": ["1", "2"]}]}, REQ + ".values", ["1", "2"],
     "exactly one value"),
    ({"requirements": [{"key": "a", "operator": "Lt", "values": ["-1"]}]}, REQ + ".values[0]", "-1", "non-negative"),
    ({"requirements": [{"key": "a", "operator": "In", "values": []}]}, REQ + ".values", [], "must not be empty"),
    ({"requirements": [{"key": "a", "operator": "In", "values": ["a b"]}]}, REQ + ".values[0]", "a b", "label value"),
    ({"requirements": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, REQ + ".values", ["x"], "must be empty"),
    ({"requirements": [{"key": "a", "operator": "In", "values": ["x"], "min_values": 2}]},
     REQ + ".minValues", 2, "needs at least 2 values but 1 given"),
    ({"requirements": [{"key": "a", "operator": "Exists", "min_values": 51}]}, REQ + ".minValues", 51, "1 to 50"),
    ({"requirements": [{"key": "kubernetes.io/hostname", "operator": "Exists"}]}, REQ + ".key",
     "kubernetes.io/hostname", "restricted by Karpenter"),
    ({"requirements": [{"key": "karpenter.sh/nodepool", "operator": "Exists"}]}, REQ + ".key",
     "karpenter.sh/nodepool", "restricted by Karpenter"),
    ({"requirements": [{"key": "bad key!", "operator": "Exists"}]}, REQ + ".key", "bad key!", "name part"),
    ({"taints": [{"key": "a", "effect": "NoWay"}]}, "spec.template.spec.taints[0].effect", "NoWay", "must be one of"),
    ({"startup_taints": [{"key": "a", "value": "x y", "effect": "NoSchedule"}]},
     "spec.template.spec.startupTaints[0].value", "x y", "alphanumerics"),
    ({"disruption": {"consolidate_after": "5 minutes"}}, "spec.disruption.consolidateAfter", "5 minutes", "duration"),
    ({"disruption": {"consolidation_policy": "Always"}}, "spec.disruption.consolidationPolicy", "Always",
     "must be one of WhenEmpty"),
    ({"disruption": {"budgets": [{"nodes": "1", "schedule": "@daily", "duration": "30s"}]}},
     BUDGET + ".duration", "30s", "hours and/or minutes"),
    ({"expire_after": "1d"}, "spec.template.spec.expireAfter", "1d", "duration"),
    ({"expire_after": "1.5h"}, "spec.template.spec.expireAfter", "1.5h", "duration"),
    ({"termination_grace_period": "Never"}, "spec.template.spec.terminationGracePeriod", "Never", "duration"),
    ({"node_class_ref": {"group": "karpenter.kwok.sh", "name": "default"}}, "spec.template.spec.nodeClassRef.kind",
     None, "is required"),
    ({"node_class_ref": {"group": "karpenter.kwok.sh/v1", "kind": "K", "name": "d"}},
     "spec.template.spec.nodeClassRef.group", "karpenter.kwok.sh/v1", "without version"),
    ({"node_class_ref": None}, "spec.template.spec.nodeClassRef", None, "must be a mapping"),
    ({"name": "Bad_Name"}, "metadata.name", "Bad_Name", "DNS-1123 subdomain"),
    ({"labels": {"karpenter.sh/foo": "x"}}, "spec.template.metadata.labels['karpenter.sh/foo']", "karpenter.sh/foo",
     "restricted by Karpenter"),
    ({"labels": {"team": "a b"}}, "spec.template.metadata.labels['team']", "a b", "label value"),
])
def test_bad_inputs_name_field_value_and_problem(over, field, value, problem):
    err = one_error(base_params(**over), field)
    assert err.value == value
    assert problem in err.problem
    assert err.field in str(err) and problem in str(err)


def test_capacity_type_label_is_not_restricted():
    assert errors_of(base_params(labels={"karpenter.sh/capacity-type": "spot"})) == []
    assert errors_of(base_params(requirements=[{"key": "karpenter.sh/capacity-type", "operator": "In",
                                                "values": ["on-demand"]}])) == []


def test_all_problems_reported_together():
    errs = ErrorCollector()
    errs.extend(errors_of(base_params(weight=500, limits={"cpu": "x"})))
    with pytest.raises(Exception) as exc:
        errs.raise_if_any()
    msg = str(exc.value)
    assert "2 errors" in msg and "spec.weight" in msg and "spec.limits['cpu']" in msg
    assert [e["field"] for e in exc.value.to_result()["errors"]] == ["spec.limits['cpu']", "spec.weight"]


def test_pause_budgets_use_the_same_rules():
    errs = ErrorCollector()
    assert not np.check_budgets(errs, "budgets", np.render_budgets([{"nodes": "101%"}, {"nodes": 2}]))
    assert [(e.field, e.value) for e in errs.errors] == [("budgets[0].nodes", "101%")]


def test_immutable_node_class_ref():
    other_class = {"group": "karpenter.kwok.sh", "kind": "OtherClass", "name": "default"}
    desired = np.render_nodepool(base_params(node_class_ref=other_class))
    live = np.render_nodepool(base_params())
    errors = DESCRIPTION.immutable(desired, live)
    assert len(errors) == 1
    assert errors[0].field == "spec.template.spec.nodeClassRef.kind" and errors[0].value == "OtherClass"
    assert "is immutable" in errors[0].problem and "KWOKNodeClass" in errors[0].problem
    assert DESCRIPTION.immutable(live, live) == []
    assert DESCRIPTION.immutable(desired, None) == []


class FakeClient(object):
    def __init__(self, objects):
        self.objects = objects

    def list(self, kind, label_selector=None, **_kw):
        key, _sep, value = label_selector.partition("=")
        return [o for o in self.objects.get(kind.kind, [])
                if (o["metadata"].get("labels") or {}).get(key) == value]


def test_delete_safety_names_nodeclaims_and_nodes():
    member = {"metadata": {"name": "c1", "labels": {np.NODEPOOL_LABEL: "gp"}}}
    node = {"metadata": {"name": "n1", "labels": {np.NODEPOOL_LABEL: "gp"}}}
    ctx = type("Ctx", (), {"client": FakeClient({"NodeClaim": [member], "Node": [node]})})()
    errors = DESCRIPTION.delete_safety("gp", None, {}, ctx)
    assert len(errors) == 1 and errors[0].affected == ["NodeClaim/c1", "Node/n1"]
    assert DESCRIPTION.delete_safety("other", None, {}, ctx) == []
    item = DESCRIPTION.item({"state": "absent", "name": "gp", "force": True}, None, ctx=ctx)
    assert item.precheck({"metadata": {"name": "gp"}}) == []
    item = DESCRIPTION.item({"state": "absent", "name": "gp"}, None, ctx=ctx)
    assert len(item.precheck({"metadata": {"name": "gp"}})) == 1
