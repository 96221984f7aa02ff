"""Unit tests of NodeClaims and capacity groups: the NodeClaim description, shapes, the GPU limit
check with Decimal quantities, scale-down planning, summaries."""
import re
from decimal import Decimal

import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ErrorCollector,
    SafetyError,
    ValidationError,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import capacity as c
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.info import pool_summary
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import nodeclaim as nc
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodepool import NODEPOOL_LABEL

POOL = {"metadata": {"name": "gp", "uid": "u-1"},
        "spec": {"template": {"metadata": {"labels": {"team": "ml"}},
                              "spec": {"requirements": [
                                  {"key": "node.kubernetes.io/instance-type", "operator": "In",
                                   "values": ["gpu-1x-l4", "gpu-4x-l4"]},
                                  {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                                  {"key": "nvidia.com/gpu.count", "operator": "Gte", "values": ["1"]}],
                                  "taints": [{"key": "t", "value": "x", "effect": "NoSchedule"}],
                                  "nodeClassRef": {"group": "g", "kind": "K", "name": "n"},
                                  "expireAfter": "720h"}}}}


def test_render_nodeclaim_from_pool():
    claim = nc.render_nodeclaim(POOL, "train", {"instance_types": ["gpu-4x-l4"], "requirements": {
        "nvidia.com/gpu.count": "4"}}, "gp-train-abcde", labels={"x": "y"})
    reqs = {r["key"]: r for r in claim["spec"]["requirements"]}
    assert reqs["node.kubernetes.io/instance-type"]["values"] == ["gpu-4x-l4"]
    assert reqs["karpenter.sh/capacity-type"]["values"] == ["on-demand"]
    assert reqs["nvidia.com/gpu.count"] == {"key": "nvidia.com/gpu.count", "operator": "In", "values": ["4"]}
    assert len(claim["spec"]["requirements"]) == 3
    meta = claim["metadata"]
    assert meta["name"] == "gp-train-abcde" and "generateName" not in meta
    assert meta["labels"][NODEPOOL_LABEL] == "gp" and meta["labels"][nc.CAPACITY_GROUP_LABEL] == "train"
    assert meta["labels"]["team"] == "ml" and meta["labels"]["x"] == "y"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "gpuaas-orchestration"
    assert meta["annotations"][nc.DO_NOT_DISRUPT] == "true"
    assert meta["ownerReferences"] == [{"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "name": "gp",
                                        "uid": "u-1", "blockOwnerDeletion": True}]
    assert claim["spec"]["taints"] == POOL["spec"]["template"]["spec"]["taints"]
    assert claim["spec"]["nodeClassRef"] == {"group": "g", "kind": "K", "name": "n"}
    assert claim["spec"]["expireAfter"] == "720h"
    assert nc.DESCRIPTION.validate(claim) == []
    unprotected = nc.render_nodeclaim(POOL, "train", {"instance_types": ["gpu-4x-l4"]}, "n", protect=False)
    assert "annotations" not in unprotected["metadata"]


def test_nodeclaim_description():
    d = nc.DESCRIPTION
    assert d.kind.kind == "NodeClaim" and ("spec", "resources", "requests", "*") in d.quantity_paths
    predicate, what = d.ready
    assert what == "Initialized" and not predicate(None)
    assert predicate({"status": {"conditions": [{"type": "Initialized", "status": "True"}]}})
    claim = nc.render_nodeclaim(POOL, "train", {"instance_types": ["gpu-1x-l4"], "requirements": {}}, "gp-train-abcde")
    assert claim["metadata"]["name"] == "gp-train-abcde"
    assert d.immutable(claim, None) == [] and d.immutable(claim, claim) == []
    other = nc.render_nodeclaim(POOL, "train", {"instance_types": ["gpu-4x-l4"]}, "gp-train-abcde")
    errors = d.immutable(claim, other)
    assert [e.field for e in errors] == ["spec.requirements"] and "is immutable" in errors[0].problem


def test_nodeclaim_validation_names_field_value_problem():
    claim = nc.render_nodeclaim(POOL, "Bad_Group", {"instance_types": ["gpu-4x-l4"]}, "gp-Bad_Group-abcde")
    claim["spec"]["resources"] = {"requests": {"nvidia.com/gpu": "four"}}
    errors = {e.field: e for e in nc.DESCRIPTION.validate(claim)}
    assert errors["metadata.name"].value == "gp-Bad_Group-abcde" and "DNS-1123" in errors["metadata.name"].problem
    assert errors["spec.resources.requests['nvidia.com/gpu']"].value == "four"


def test_shape_outside_pool_is_a_validation_error():
    errors = nc.shape_errors(POOL, {"instance_types": ["gpu-8x-a100"]})
    assert len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert errors[0].field == "instance_types" and errors[0].value == ["gpu-8x-a100"]
    assert "does not allow gpu-8x-a100" in errors[0].problem
    errors = nc.shape_errors(POOL, {"requirements": {"nvidia.com/gpu.count": "0"}})
    assert errors[0].field == "shape['nvidia.com/gpu.count']" and "Gte" in errors[0].problem
    assert nc.shape_errors(POOL, {"instance_types": ["gpu-1x-l4"]}) == []


@pytest.mark.parametrize("op, values, value, allowed", [
    ("In", ["a"], "a", True), ("NotIn", ["a"], "a", False), ("Exists", [], "x", True),
    ("DoesNotExist", [], "x", False), ("Gt", ["3"], "4", True), ("Lt", ["3"], "3", False),
    ("Gte", ["3"], "3", True), ("Lte", ["3"], "4", False), ("Gt", ["3"], "x", False),
])
def test_requirement_allows(op, values, value, allowed):
    assert nc.requirement_allows({"key": "k", "operator": op, "values": values}, value) is allowed


def test_deterministic_names_lowest_free_numbers():
    assert nc.claim_name("gp", "train", 3) == "gp-train-3"
    assert nc.free_names("gp", "train", (), 2) == ["gp-train-1", "gp-train-2"]
    # taken: live ones, one being deleted (still holds its name), one of an earlier version
    taken = {"gp-train-1", "gp-train-3", "gp-train-abcde"}
    assert nc.free_names("gp", "train", taken, 3) == ["gp-train-2", "gp-train-4", "gp-train-5"]
    assert nc.free_names("gp", "train", taken, 0) == []
    # the same view gives the same names: two racing runs try the same ones
    assert nc.free_names("gp", "train", set(taken), 2) == nc.free_names("gp", "train", list(taken), 2)
    for name in nc.free_names("gp", "train", taken, 3):
        assert re.match(r"^gp-train-[1-9][0-9]*$", name)
        claim_obj = nc.render_nodeclaim(POOL, "train", {"instance_types": ["gpu-4x-l4"]}, name)
        assert nc.DESCRIPTION.validate(claim_obj) == []


def test_claim_ready():
    init = {"status": {"conditions": [{"type": "Initialized", "status": "True"}],
                       "allocatable": {"nvidia.com/gpu": "4"}}}
    node4 = {"status": {"allocatable": {"nvidia.com/gpu": "4"}}}
    node2 = {"status": {"allocatable": {"nvidia.com/gpu": "2"}}}
    assert nc.claim_ready(init, node4, want_gpus=True)
    assert not nc.claim_ready(init, node2, want_gpus=False)
    assert not nc.claim_ready(init, None, want_gpus=False)
    assert nc.claim_ready({"status": init["status"]["conditions"] and {"conditions": init["status"]["conditions"]}},
                          {"status": {}}, want_gpus=False)
    assert not nc.claim_ready({"status": {}}, node4, want_gpus=True)
    assert nc.allocatable_gpus(node4) == Decimal(4) and nc.allocatable_gpus({"status": {}}) is None


def test_catalog_resolution():
    doc = [{"name": "gpu-1x-l4", "resources": {"nvidia.com/gpu": "1", "cpu": "8"},
            "offerings": [{"requirements": [{"key": "nvidia.com/gpu.product", "operator": "In",
                                             "values": ["NVIDIA-L4"]}]}]},
           {"name": "gpu-4x-l4", "resources": {"nvidia.com/gpu": "4"},
            "offerings": [{"requirements": [{"key": "nvidia.com/gpu.product", "operator": "In",
                                             "values": ["NVIDIA-L4"]}]}]},
           {"Name": "c-4x", "Resources": {"cpu": "4"}, "Offerings": []}]
    cat = c.load_instance_type_catalog(doc)
    assert cat[1]["gpu_count"] == 4 and cat[2]["gpu_count"] == 0 and cat[2]["name"] == "c-4x"
    assert c.resolve_instance_types(cat, gpu_count=4, gpu_product="NVIDIA-L4") == ["gpu-4x-l4"]
    assert c.resolve_instance_types(cat, gpu_product="NVIDIA-L4") == ["gpu-1x-l4", "gpu-4x-l4"]
    assert c.resolve_instance_types(cat, gpu_count=8) == []


def test_resolve_shape_errors_carry_field_value_problem():
    catalog = [{"name": "gpu-4x-l4", "gpu_count": 4, "gpu_product": "NVIDIA-L4"}]
    errs = ErrorCollector()
    shape = c.resolve_shape(errs, {"gpu_count": 4}, catalog)
    assert not errs.errors and shape["instance_types"] == ["gpu-4x-l4"] and shape["gpus_per_node"] == 4
    c.resolve_shape(errs, {"gpu_count": 3}, catalog)
    c.resolve_shape(errs, {"instance_types": ["bad type!"], "gpu_product": "x y"}, None)
    c.resolve_shape(errs, {}, None)
    got = [(e.field, e.value) for e in errs.errors]
    assert got == [("gpu_count", 3), ("gpu_product", "x y"), ("instance_types[0]", "bad type!"),
                   ("instance_types", None)]
    assert "no instance type offers 3 GPUs" in errs.errors[0].problem


def claim(name, node=None, created="2026-01-01T00:00:00Z"):
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": {"nodeName": node}}


def pod(name, annotations=None, daemon=False, phase="Running"):
    meta = {"name": name, "namespace": "ns", "annotations": annotations or {}}
    if daemon:
        meta["ownerReferences"] = [{"kind": "DaemonSet", "name": "ds"}]
    return {"metadata": meta, "status": {"phase": phase}}


def test_scale_down_prefers_emptiest_and_skips_do_not_disrupt():
    claims = [claim("a", "na"), claim("b", "nb"), claim("c", "nc")]
    pods = {"na": [pod("p1"), pod("p2")], "nb": [pod("ds", daemon=True)],
            "nc": [pod("keep", {nc.DO_NOT_DISRUPT: "true"})]}
    victims, blocked = c.plan_scale_down(claims, pods, 1)
    assert [v["metadata"]["name"] for v in victims] == ["b"]
    assert blocked == {"c": ["ns/keep"]}
    victims, _kept = c.plan_scale_down(claims, pods, 2)
    assert [v["metadata"]["name"] for v in victims] == ["b", "a"]
    with pytest.raises(SafetyError) as exc:
        c.plan_scale_down(claims, pods, 3)
    assert exc.value.field == "count" and exc.value.affected == ["ns/keep"] and "force" in str(exc.value)
    victims, _kept = c.plan_scale_down(claims, pods, 3, force=True)
    assert len(victims) == 3
    victims, _kept = c.plan_scale_down(claims, pods, 1, preferred=["a"])
    assert [v["metadata"]["name"] for v in victims] == ["a"]
    with pytest.raises(SafetyError):
        c.plan_scale_down(claims, pods, 1, preferred=["c"])


def test_scale_down_unlaunched_first():
    claims = [claim("a", "na"), claim("b", None)]
    victims, _kept = c.plan_scale_down(claims, {"na": []}, 1)
    assert victims[0]["metadata"]["name"] == "b"


def test_scale_down_remove_by_node_name_and_unknown_names():
    claims = [claim("a", "na"), claim("b", "nb")]
    pods = {"na": [], "nb": [pod("keep", {nc.DO_NOT_DISRUPT: "true"})]}
    victims, _kept = c.plan_scale_down(claims, pods, 1, preferred=["na"])    # a node's name
    assert [v["metadata"]["name"] for v in victims] == ["a"]
    with pytest.raises(SafetyError) as exc:                                   # protected, named by node
        c.plan_scale_down(claims, pods, 1, preferred=["nb"])
    assert exc.value.field == "remove" and exc.value.value == "nb"
    assert "NodeClaim b" in str(exc.value) and "ns/keep" in str(exc.value)
    with pytest.raises(ValidationError) as exc:                               # no such NodeClaim or node
        c.plan_scale_down(claims, pods, 1, preferred=["zz"])
    assert exc.value.field == "remove" and exc.value.value == ["zz"] and "(it has: a, b)" in exc.value.problem


def gpu_limit_error(nodepool, claims, nodes_by_name, adding, gpus_per_node):
    """``limits_error`` for the pool's ``nvidia.com/gpu`` limit alone, ``gpus_per_node`` GPUs each."""
    if not gpus_per_node:
        return None
    limits = (nodepool.get("spec") or {}).get("limits") or {}
    pool = dict(nodepool, spec={"limits": dict((k, val) for k, val in limits.items() if k == nc.GPU_RESOURCE)})
    return c.limits_error(pool, claims, nodes_by_name, adding, {nc.GPU_RESOURCE: Decimal(gpus_per_node)})


def test_gpu_limit_error():
    pool = {"metadata": {"name": "gp"}, "spec": {"limits": {"nvidia.com/gpu": "8"}}}
    claims = [{"metadata": {"name": "a"}, "status": {"nodeName": "na"}},
              {"metadata": {"name": "b"}, "status": {"allocatable": {"nvidia.com/gpu": "4"}}},
              {"metadata": {"name": "c", "deletionTimestamp": "x"}, "status": {"nodeName": "nc"}}]
    nodes = {"na": {"status": {"allocatable": {"nvidia.com/gpu": "1"}}},
             "nc": {"status": {"allocatable": {"nvidia.com/gpu": "8"}}}}
    assert gpu_limit_error(pool, claims, nodes, 3, 1) is None          # 1 + 4 + 3 = 8
    err = gpu_limit_error(pool, claims, nodes, 1, 4)                   # 1 + 4 + 4 = 9
    assert isinstance(err, SafetyError) and err.field == "count" and err.affected == ["NodePool/gp"]
    assert "limit 8" in str(err) and "has 5 of its" in str(err) and "force" in str(err)
    assert gpu_limit_error({"metadata": {"name": "x"}, "spec": {}}, claims, nodes, 5, 8) is None


def test_gpu_limit_in_decimal_quantities():
    pool = {"metadata": {"name": "gp"}, "spec": {"limits": {"nvidia.com/gpu": "8k"}}}
    claims = [{"metadata": {"name": "a"}, "status": {"allocatable": {"nvidia.com/gpu": "7999"}}}]
    assert gpu_limit_error(pool, claims, {}, 1, 1) is None
    assert gpu_limit_error(pool, claims, {}, 2, 1) is not None


def test_gpu_limit_counts_nodeclaims_not_launched_yet():
    pool = {"metadata": {"name": "gp"}, "spec": {"limits": {"nvidia.com/gpu": "8"}}}
    # created a moment ago by an earlier run: no node, no status; its GPUs still count
    by_requirement = {"metadata": {"name": "a"}, "spec": {"requirements": [
        {"key": nc.GPU_COUNT_LABEL, "operator": "In", "values": ["4"]}]}}
    by_request = {"metadata": {"name": "b"}, "spec": {"resources": {"requests": {"nvidia.com/gpu": "2"}}}}
    unknown = {"metadata": {"name": "c"}, "spec": {}}
    assert gpu_limit_error(pool, [by_requirement, by_request], {}, 1, 2) is None      # 4 + 2 + 2 = 8
    assert gpu_limit_error(pool, [by_requirement, by_request], {}, 1, 3) is not None  # 4 + 2 + 3 = 9
    # one of unknown size counts as the shape being added
    assert gpu_limit_error(pool, [unknown], {}, 1, 4) is None                         # 4 + 4 = 8
    assert gpu_limit_error(pool, [unknown], {}, 2, 4) is not None                     # 4 + 8 = 12


# the local cluster's KWOK instance types (tests/cluster/cluster.py), as the provider file has them
FILE = [{"name": name, "resources": {"cpu": cpu, "memory": mem, "pods": "110", "nvidia.com/gpu": str(gpus)},
         "offerings": [{"Requirements": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": [product]},
                                         {"key": "nvidia.com/gpu.count", "operator": "In", "values": [str(gpus)]}]}]}
        for name, gpus, product, cpu, mem in [("gpu-1x-l4", 1, "NVIDIA-L4", "8", "32Gi"),
                                              ("gpu-4x-l4", 4, "NVIDIA-L4", "48", "192Gi"),
                                              ("gpu-8x-a100", 8, "NVIDIA-A100-SXM4-80GB", "96", "1152Gi")]]


def file_shape(**params):
    errs = ErrorCollector()
    shape = c.resolve_shape(errs, params, c.load_instance_type_catalog(FILE))
    assert not errs.errors, errs.errors
    return shape


def limited_pool(**limits):
    return {"metadata": {"name": "gp"}, "spec": {"limits": limits}}


def test_catalog_keeps_every_resource():
    cat = c.load_instance_type_catalog(FILE)
    assert cat[1]["resources"] == {"cpu": "48", "memory": "192Gi", "pods": "110", "nvidia.com/gpu": "4"}
    assert cat[1]["gpu_count"] == 4 and cat[1]["gpu_product"] == "NVIDIA-L4"


def test_shape_resources_from_the_file_the_largest_instance_type():
    shape = file_shape(gpu_product="NVIDIA-L4")                    # gpu-1x-l4 or gpu-4x-l4
    per_node, unknown = c.shape_resources(shape, ["cpu", "memory", "nvidia.com/gpu", "pods", "example.com/fpga"])
    assert unknown == {}
    assert per_node == {"cpu": Decimal(48), "memory": Decimal(192 * 2 ** 30), "nvidia.com/gpu": Decimal(4),
                        "pods": Decimal(110), "example.com/fpga": Decimal(0)}    # the file lists all it has
    per_node, unknown = c.shape_resources(file_shape(gpu_count=1), ["cpu", "nvidia.com/gpu"])
    assert per_node == {"cpu": Decimal(8), "nvidia.com/gpu": Decimal(1)} and unknown == {}


def test_shape_resources_unknown_without_catalog_or_live_node():
    errs = ErrorCollector()
    shape = c.resolve_shape(errs, {"instance_types": ["gpu-4x-l4"]}, None)
    per_node, unknown = c.shape_resources(shape, ["cpu", "nvidia.com/gpu"])
    assert per_node == {} and unknown == {"cpu": ["gpu-4x-l4"], "nvidia.com/gpu": ["gpu-4x-l4"]}
    # gpu_count says the GPUs (the NodeClaim requires that count), not the cpu
    shape = c.resolve_shape(errs, {"instance_types": ["gpu-4x-l4"], "gpu_count": 4}, None)
    per_node, unknown = c.shape_resources(shape, ["cpu", "nvidia.com/gpu"])
    assert per_node == {"nvidia.com/gpu": Decimal(4)} and unknown == {"cpu": ["gpu-4x-l4"]}
    # no instance types at all (gpu_count without a catalog): nothing but the GPUs is known
    shape = c.resolve_shape(errs, {"gpu_count": 4}, None)
    assert c.shape_resources(shape, ["memory"]) == ({}, {"memory": []})
    assert not errs.errors


def test_shape_resources_from_option_catalog_and_live_nodes():
    catalog = [{"name": "gpu-4x-l4", "gpu_count": 4, "gpu_product": None},
               {"name": "gpu-1x-l4", "gpu_count": None, "gpu_product": None}]
    errs = ErrorCollector()
    shape = c.resolve_shape(errs, {"instance_types": ["gpu-4x-l4", "gpu-1x-l4"]}, catalog)
    per_node, unknown = c.shape_resources(shape, ["nvidia.com/gpu", "cpu"])
    assert per_node == {} and unknown == {"nvidia.com/gpu": ["gpu-1x-l4"], "cpu": ["gpu-4x-l4", "gpu-1x-l4"]}
    live = [{"metadata": {"labels": {nc.INSTANCE_TYPE_LABEL: "gpu-1x-l4"}},
             "status": {"capacity": {"cpu": "8", "memory": "32Gi"}, "allocatable": {"nvidia.com/gpu": "1"}}},
            {"metadata": {"labels": {nc.INSTANCE_TYPE_LABEL: "gpu-4x-l4"}},
             "status": {"capacity": {"cpu": "48"}}},
            {"metadata": {"labels": {nc.INSTANCE_TYPE_LABEL: "gpu-4x-l4"}}, "status": {}}]   # not registered
    per_node, unknown = c.shape_resources(shape, ["nvidia.com/gpu", "cpu"], live=live)
    assert per_node == {"nvidia.com/gpu": Decimal(4), "cpu": Decimal(48)} and unknown == {}
    # a live NodeClaim of the type says what the provider says (KWOK nodes report a made-up capacity)
    kwok_node = {"kind": "Node", "metadata": {"labels": {nc.INSTANCE_TYPE_LABEL: "gpu-1x-l4"}},
                 "status": {"capacity": {"cpu": "32", "memory": "256Gi"},
                            "allocatable": {"cpu": "7900m", "nvidia.com/gpu": "1"}}}
    its_claim = {"kind": "NodeClaim", "metadata": {"labels": {nc.INSTANCE_TYPE_LABEL: "gpu-1x-l4"}},
                 "status": {"capacity": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"}}}
    shape = c.resolve_shape(errs, {"instance_types": ["gpu-1x-l4"]}, None)
    assert c.shape_resources(shape, ["cpu"], live=[kwok_node])[0] == {"cpu": Decimal(32)}
    assert c.shape_resources(shape, ["cpu", "memory"], live=[kwok_node, its_claim])[0] == {
        "cpu": Decimal(8), "memory": Decimal(32 * 2 ** 30)}


def test_unknown_resources_are_refused_naming_the_option():
    pool = limited_pool(**{"nvidia.com/gpu": "16", "memory": "1Ti"})
    errors = c.unknown_resource_errors(pool, {"nvidia.com/gpu": ["gpu-8x-a100"], "memory": ["gpu-8x-a100"]},
                                       {"instance_types": ["gpu-8x-a100"]})
    assert [e.field for e in errors] == ["instance_types_file", "gpu_count"]
    assert all(isinstance(e, ValidationError) for e in errors)
    gpu = errors[1].problem
    assert "NodePool gp has a nvidia.com/gpu limit of 16" in gpu and "gpu-8x-a100" in gpu
    assert "give gpu_count" in gpu and "instance_types_file" in gpu and "force" in gpu
    assert "(got" not in str(errors[1])
    assert "memory of each instance type" in errors[0].problem
    assert c.unknown_resource_errors(pool, {}, {"instance_types": ["x"]}) == []


def test_limits_error_checks_cpu_and_memory_as_quantities():
    pool = limited_pool(cpu="100", memory="400Gi", **{"nvidia.com/gpu": "100"})
    per_node, unknown = c.shape_resources(file_shape(gpu_count=4), pool["spec"]["limits"])
    assert not unknown
    running = {"metadata": {"name": "a"}, "status": {"nodeName": "na"}}
    nodes = {"na": {"status": {"capacity": {"cpu": "48", "memory": "196608Mi"},
                               "allocatable": {"cpu": "47500m", "nvidia.com/gpu": "4"}}}}
    assert c.limits_error(pool, [running], nodes, 0, per_node) is None
    assert c.limits_error(pool, [running], nodes, 1, per_node) is None           # 96 cpu, 384Gi
    err = c.limits_error(pool, [running], nodes, 2, per_node)                     # 144 cpu, 576Gi
    assert isinstance(err, SafetyError) and err.field == "count" and err.affected == ["NodePool/gp"]
    text = str(err)
    assert "2 more NodeClaims of 48 cpu each need 96 cpu but NodePool gp has 48 of its cpu limit 100 in use" in text
    assert "(144 > 100)" in text
    assert "each need 384Gi memory but NodePool gp has 192Gi of its memory limit 400Gi in use (576Gi > 400Gi)" in text
    assert "nvidia.com/gpu" not in text and "force" in text
    # a memory limit in another spelling of the same quantity
    pool = limited_pool(memory="0.375Ti")
    assert c.limits_error(pool, [running], nodes, 1, per_node) is None           # 384Gi == 0.375Ti
    assert c.limits_error(limited_pool(memory="383Gi"), [running], nodes, 1, per_node) is not None


def test_limits_error_counts_unlaunched_claims_by_their_instance_types():
    catalog = c.load_instance_type_catalog(FILE)
    pool = limited_pool(cpu="100")
    # made by Karpenter a moment ago: its pods request little, its instance type is big
    karpenters = {"metadata": {"name": "k"}, "spec": {
        "resources": {"requests": {"cpu": "100m"}},
        "requirements": [{"key": nc.INSTANCE_TYPE_LABEL, "operator": "In", "values": ["gpu-1x-l4", "gpu-8x-a100"]}]}}
    deleting = {"metadata": {"name": "d", "deletionTimestamp": "x"}, "status": {"capacity": {"cpu": "96"}}}
    per_node = {"cpu": Decimal(8)}
    assert c.pool_usage([karpenters, deleting], {}, "cpu", Decimal(8), catalog) == Decimal(96)
    err = c.limits_error(pool, [karpenters, deleting], {}, 1, per_node, catalog)           # 96 + 8 = 104
    assert err is not None and "has 96 of its cpu limit 100 in use" in str(err)
    # without a catalog the request is all that is known of it (a lower bound)
    assert c.pool_usage([karpenters], {}, "cpu", Decimal(8)) == Decimal("0.1")
    # launched, not registered yet: its own status counts
    launched = {"metadata": {"name": "l"}, "status": {"capacity": {"cpu": "48"}}}
    assert c.pool_usage([launched], {}, "cpu", Decimal(8), catalog) == Decimal(48)
    # launched as an instance type the catalog knows: the catalog's capacity (its status may
    # list only allocatable)
    as_4x = {"metadata": {"name": "x", "labels": {nc.INSTANCE_TYPE_LABEL: "gpu-4x-l4"}},
             "status": {"allocatable": {"cpu": "47900m"}}}
    assert c.pool_usage([as_4x], {}, "cpu", Decimal(8), catalog) == Decimal(48)
    assert c.pool_usage([as_4x], {}, "cpu", Decimal(8)) == Decimal("47.9")
    # a launched NodeClaim's own capacity counts before its node's (KWOK nodes: a made-up capacity)
    registered = {"metadata": {"name": "r"}, "status": {"nodeName": "nr", "capacity": {"cpu": "8"}}}
    assert c.pool_usage([registered], {"nr": {"status": {"capacity": {"cpu": "32"}}}}, "cpu", Decimal(8)) == 8
    # a registered node without the resource has none of it
    assert c.pool_usage([{"metadata": {"name": "n"}, "status": {"nodeName": "nn"}}],
                        {"nn": {"status": {"capacity": {"cpu": "8"}}}}, "nvidia.com/gpu", Decimal(4)) == 0


def test_show_quantity():
    assert c.show_quantity("memory", Decimal(192 * 2 ** 30)) == "192Gi"
    assert c.show_quantity("cpu", Decimal(96)) == "96" and c.show_quantity("cpu", Decimal("0.5")) == "500m"
    assert c.show_quantity("nvidia.com/gpu", Decimal(1000)) == "1000" and c.show_quantity("cpu", None) == "?"


def test_nodeclaim_summary():
    claim_obj = {"metadata": {"name": "a", "labels": {NODEPOOL_LABEL: "gp", nc.INSTANCE_TYPE_LABEL: "t"}},
                 "status": {"nodeName": "na", "conditions": [{"type": "Initialized", "status": "True"}]}}
    node = {"metadata": {"labels": {nc.GPU_PRODUCT_LABEL: "NVIDIA-L4"}},
            "status": {"allocatable": {"nvidia.com/gpu": "4"}}}
    out = c.nodeclaim_summary(claim_obj, node)
    assert out["gpu_capacity"] == 4 and out["gpu_allocatable"] == 4 and out["initialized"]
    assert out["gpu_product"] == "NVIDIA-L4" and out["instance_type"] == "t" and out["nodepool"] == "gp"
    assert isinstance(out["gpu_capacity"], int)


def test_pool_summary():
    pool = {"metadata": {"name": "gp", "annotations": {}},
            "spec": {"limits": {"nvidia.com/gpu": "8", "memory": "1Gi"},
                     "disruption": {"budgets": [{"nodes": "10%"}]}},
            "status": {"resources": {"nvidia.com/gpu": "4", "memory": "512Mi"}, "nodes": 1,
                       "conditions": [{"type": "Ready", "status": "True"}]}}
    nodes = [{"metadata": {"name": "n1", "labels": {NODEPOOL_LABEL: "gp"}},
              "status": {"capacity": {"nvidia.com/gpu": "4"}, "allocatable": {"nvidia.com/gpu": "4"}}},
             {"metadata": {"name": "n2", "labels": {}}, "status": {"capacity": {"nvidia.com/gpu": "8"}}}]
    out = pool_summary(pool, nodes, [])
    assert out["nodes"] == 1 and out["gpu_capacity"] == 4 and out["gpu_allocatable"] == 4
    assert out["limits"]["nvidia.com/gpu"] == {"limit": "8", "used": 4, "remaining": 4, "percent": 50.0}
    assert out["limits"]["memory"] == {"limit": "1Gi", "used": 2 ** 29, "remaining": 2 ** 29, "percent": 50.0}
    assert all(type(v) in (int, float, str) for v in out["limits"]["nvidia.com/gpu"].values())
    assert out["active_budgets"] == [{"nodes": "10%"}] and not out["paused"] and out["ready"] == "True"
