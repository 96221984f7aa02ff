import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ErrorCollector, ErrorList, ValidationError,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v


def collect(fn, *args, **kw):
    errs = ErrorCollector()
    fn(errs, *args, **kw)
    return errs.errors


def test_names():
    assert v.dns1123_subdomain_problem("a.b-c") is None
    assert v.dns1123_subdomain_problem("A") is not None
    assert v.dns1123_subdomain_problem("a" * 254) is not None
    assert v.dns1123_label_problem("a.b") is not None
    assert v.dns1123_label_problem("-a") is not None
    errs = collect(v.check_name, "metadata.name", "Bad_Name")
    assert str(errs[0]).startswith("metadata.name: must be a DNS-1123 subdomain")
    assert "(got 'Bad_Name')" in str(errs[0])


@pytest.mark.parametrize("key,ok", [
    ("gpuaas.io/pool", True), ("pool", True), ("a/b/c", False), ("/x", False), ("Bad_Prefix/x", False),
    ("x/", False), ("nvidia.com/gpu.product", True), ("-x", False), ("a" * 64, False),
])
def test_qualified_name(key, ok):
    assert (v.qualified_name_problem(key) is None) == ok


def test_label_values():
    assert v.label_value_problem("") is None
    assert v.label_value_problem("NVIDIA-A100-SXM4-80GB") is None
    assert v.label_value_problem("a b") is not None
    assert v.label_value_problem(3) is not None
    errs = collect(v.check_labels, "spec.nodeLabels", {"ok": "v", "bad key!": "v", "k": "bad value!"})
    fields = [e.field for e in errs]
    assert "spec.nodeLabels['bad key!']" in fields and "spec.nodeLabels['k']" in fields


def test_taints():
    assert collect(v.check_taints, "t", [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]) == []
    errs = collect(v.check_taints, "spec.nodeTaints", [{"key": "a", "effect": "NoScheduled"}])
    assert errs[0].field == "spec.nodeTaints[0].effect" and errs[0].value == "NoScheduled"
    assert "NoSchedule, PreferNoSchedule, NoExecute" in errs[0].problem
    errs = collect(v.check_taints, "t", [{"key": "a", "effect": "NoSchedule"}] * 9, max_items=8)
    assert any("at most 8" in e.problem for e in errs)
    errs = collect(v.check_taints, "t", [{"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}])
    assert errs and errs[0].problem == "duplicate entry"


def test_tolerations():
    ok = [{"key": "a", "operator": "Exists"}, {"operator": "Exists"},
          {"key": "a", "value": "b", "effect": "NoExecute", "tolerationSeconds": 30}]
    assert collect(v.check_tolerations, "t", ok) == []
    bad = [{"key": "", "operator": "Equal"}, {"key": "a", "operator": "Exists", "value": "x"},
           {"key": "a", "operator": "Maybe"}, {"key": "a", "effect": "NoSchedule", "tolerationSeconds": 3}]
    errs = collect(v.check_tolerations, "t", bad)
    fields = sorted(e.field for e in errs)
    assert fields == ["t[0].key", "t[1].value", "t[2].operator", "t[3].tolerationSeconds"]


def test_selectors():
    assert collect(v.check_label_selector, "s", {}) == []
    good = {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "x", "operator": "In", "values": ["1"]}]}
    assert collect(v.check_label_selector, "s", good) == []
    bad = {"matchExpressions": [{"key": "x", "operator": "In"},
                                {"key": "y", "operator": "Exists", "values": ["1"]},
                                {"key": "z", "operator": "Gt", "values": ["1"]}]}
    errs = collect(v.check_label_selector, "s", bad)
    assert [e.field for e in errs] == ["s.matchExpressions[0].values", "s.matchExpressions[1].values",
                                       "s.matchExpressions[2].operator"]
    assert collect(v.check_node_selector_requirement, "r", {"key": "k", "operator": "Gt", "values": ["4"]},
                   operators=v.NODE_SELECTOR_OPERATORS) == []
    errs = collect(v.check_node_selector_requirement, "r", {"key": "k", "operator": "Lt", "values": ["x"]},
                   operators=v.NODE_SELECTOR_OPERATORS)
    assert errs[0].field == "r.values[0]"


@pytest.mark.parametrize("text,seconds", [("0", 0), ("30s", 30), ("1h30m", 5400), ("1.5h", 5400), ("100ms", 0.1),
                                          ("2h45m10s", 9910), ("-5s", -5)])
def test_duration(text, seconds):
    assert v.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "5", "1d", "h", "1h 30m", 30, None])
def test_duration_rejects(bad):
    assert v.duration_problem(bad) is not None


def test_quantity_and_resources():
    errs = collect(v.check_quantity, "q", "-1")
    assert errs[0].problem == "must not be negative"
    errs = collect(v.check_resources, "limits", {"nvidia.com/gpu": "12x", "cpu": 4})
    assert len(errs) == 1 and errs[0].field == "limits['nvidia.com/gpu']"


def test_collector_prefix_and_raise():
    errs = ErrorCollector()
    with errs.prefix("spec"):
        with errs.prefix("resourceGroups[0]"):
            errs.add("flavors[1].resources[0].nominalQuota", "12x", "must be a Kubernetes quantity")
        errs.check(True, "x", 1, "never")
    assert str(errs.errors[0]) == ("spec.resourceGroups[0].flavors[1].resources[0].nominalQuota: "
                                   "must be a Kubernetes quantity (got '12x')")
    with pytest.raises(ValidationError):
        errs.raise_if_any()
    errs.add("b", 2, "bad")
    with pytest.raises(ErrorList) as exc:
        errs.raise_if_any()
    assert len(exc.value.errors) == 2
    assert exc.value.to_result()["errors"][1] == {"field": "b", "problem": "bad", "value": 2}


def test_errors_name_their_object():
    e = ValidationError("spec.x", "1", "bad").for_object("ClusterQueue/a")
    assert str(e) == "ClusterQueue/a: spec.x: bad (got '1')"
    assert e.to_dict() == {"field": "spec.x", "value": "1", "problem": "bad", "object": "ClusterQueue/a"}
    errs = ErrorCollector()
    with errs.prefix("items[0]"):
        errs.add_error(e)
    assert str(errs.errors[0]) == "ClusterQueue/a: items[0].spec.x: bad (got '1')"
