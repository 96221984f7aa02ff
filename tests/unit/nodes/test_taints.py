"""Unit tests of the pure taint arithmetic (plugins/module_utils/taints.py)."""
import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes import taints as T
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ErrorList,
    GpuaasError,
    ValidationError,
)

GPU = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
MAINT = {"key": "maintenance", "value": "", "effect": "NoExecute"}
SPOT = {"key": "spot", "value": "true", "effect": "PreferNoSchedule"}


def req(taints, state="present"):
    return T.validate_taints(taints, state)


# ------------------------------------------------------------------ validation

@pytest.mark.parametrize("taint,field", [
    ({"key": "a", "effect": "NoScheduled"}, "taints[0].effect"),
    ({"key": "a", "effect": "noschedule"}, "taints[0].effect"),
    ({"key": "a"}, "taints[0].effect"),
    ({"key": "", "effect": "NoSchedule"}, "taints[0].key"),
    ({"key": "a/b/c", "effect": "NoSchedule"}, "taints[0].key"),
    ({"key": "Example.com/x", "effect": "NoSchedule"}, "taints[0].key"),
    ({"key": "-bad", "effect": "NoSchedule"}, "taints[0].key"),
    ({"key": "x" * 64, "effect": "NoSchedule"}, "taints[0].key"),
    ({"key": "a", "value": "has space", "effect": "NoSchedule"}, "taints[0].value"),
    ({"key": "a", "value": "v" * 64, "effect": "NoSchedule"}, "taints[0].value"),
    ({"key": "a", "value": True, "effect": "NoSchedule"}, "taints[0].value"),
    ({"key": "a", "effect": "NoSchedule", "operator": "Exists"}, "taints[0]"),
    ("a=b:NoSchedule", "taints[0]"),
])
def test_invalid_taint_names_field(taint, field):
    with pytest.raises(ValidationError) as ei:
        req([taint])
    assert ei.value.field == field
    assert field in str(ei.value)


def test_duplicate_key_effect_rejected():
    with pytest.raises(ValidationError) as ei:
        req([GPU, dict(GPU, value="other")])
    assert "duplicate" in str(ei.value)
    assert ei.value.field == "taints[1]"


def test_same_key_other_effect_is_fine():
    out = req([GPU, dict(GPU, effect="NoExecute")])
    assert len(out) == 2


def test_all_errors_reported_together():
    with pytest.raises(ErrorList) as ei:
        req([{"key": "a", "effect": "Bad"}, {"key": "", "effect": "NoSchedule"}])
    fields = [e.field for e in ei.value.errors]
    assert fields == ["taints[0].effect", "taints[1].key"]


def test_empty_list_only_for_replace():
    with pytest.raises(GpuaasError):
        req([], "present")
    with pytest.raises(GpuaasError):
        req([], "absent")
    assert req([], "replace") == []


def test_absent_allows_missing_effect_but_not_bad_effect():
    assert req([{"key": "maintenance"}], "absent") == [{"key": "maintenance", "value": "", "effect": None}]
    with pytest.raises(ValidationError):
        req([{"key": "maintenance", "effect": "Never"}], "absent")


def test_bad_state():
    with pytest.raises(ValidationError) as ei:
        req([GPU], "merge")
    assert ei.value.field == "state"


def test_value_defaults_to_empty_string():
    assert req([{"key": "k", "effect": "NoSchedule"}]) == [{"key": "k", "value": "", "effect": "NoSchedule"}]


# ------------------------------------------------------------------ arithmetic

def test_present_adds_missing_and_keeps_existing():
    cur = [dict(MAINT, timeAdded="2026-01-01T00:00:00Z")]
    out = T.compute_taints(cur, req([GPU]), "present")
    assert out[0]["timeAdded"] == "2026-01-01T00:00:00Z"
    assert T.taints_equal(out, [MAINT, GPU])


def test_present_overwrites_value_of_same_key_and_effect():
    out = T.compute_taints([GPU], req([dict(GPU, value="absent")]), "present")
    assert out == [{"key": "nvidia.com/gpu", "value": "absent", "effect": "NoSchedule"}]


def test_present_is_idempotent():
    cur = [GPU, SPOT]
    out = T.compute_taints(cur, req([SPOT]), "present")
    assert T.taints_equal(out, cur)


def test_absent_by_key_and_effect_and_by_key_only():
    cur = [GPU, dict(GPU, effect="NoExecute"), SPOT]
    out = T.compute_taints(cur, req([{"key": "nvidia.com/gpu", "effect": "NoExecute"}], "absent"), "absent")
    assert T.taints_equal(out, [GPU, SPOT])
    out = T.compute_taints(cur, req([{"key": "nvidia.com/gpu"}], "absent"), "absent")
    assert T.taints_equal(out, [SPOT])


def test_absent_of_missing_taint_changes_nothing():
    out = T.compute_taints([GPU], req([MAINT], "absent"), "absent")
    assert T.taints_equal(out, [GPU])


def test_replace_removes_extras_even_when_all_requested_exist():
    cur = [GPU, MAINT, SPOT]
    out = T.compute_taints(cur, req([GPU], "replace"), "replace")
    assert T.taints_equal(out, [GPU])
    assert not T.taints_equal(out, cur)


def test_replace_with_same_set_in_other_order_is_no_change():
    cur = [GPU, MAINT]
    out = T.compute_taints(cur, req([MAINT, GPU], "replace"), "replace")
    assert T.taints_equal(out, cur)


def test_replace_keeps_time_added_of_unchanged_taints():
    cur = [dict(MAINT, timeAdded="2026-01-01T00:00:00Z")]
    out = T.compute_taints(cur, req([MAINT, GPU], "replace"), "replace")
    assert out[0].get("timeAdded") == "2026-01-01T00:00:00Z"
    assert "timeAdded" not in out[1]


def test_replace_empty_removes_all():
    assert T.compute_taints([GPU, MAINT], req([], "replace"), "replace") == []


def test_value_change_counts_in_changes():
    added, removed = T.taint_changes([GPU], [dict(GPU, value="x")])
    assert added == [{"key": "nvidia.com/gpu", "effect": "NoSchedule", "value": "x"}]
    assert removed == [{"key": "nvidia.com/gpu", "effect": "NoSchedule", "value": "present"}]


def test_for_api_omits_empty_value_and_keeps_time_added():
    out = T.for_api([dict(MAINT, timeAdded="t"), GPU])
    assert out == [{"key": "maintenance", "effect": "NoExecute", "timeAdded": "t"},
                   {"key": "nvidia.com/gpu", "effect": "NoSchedule", "value": "present"}]


def test_replace_keeps_controller_and_startup_taints_unless_named():
    from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.taints import is_controller_taint
    current = [{"key": "karpenter.sh/disrupted", "effect": "NoSchedule"},
               {"key": "karpenter.sh/unregistered", "effect": "NoExecute"},
               {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
               {"key": "nvidia.com/gpu-driver-not-ready", "effect": "NoSchedule"},
               {"key": "ToBeDeletedByClusterAutoscaler", "value": "1", "effect": "NoSchedule"},
               {"key": "team", "value": "a", "effect": "NoSchedule"}]
    want = T.validate_taints([{"key": "gpuaas.io/pool", "value": "x", "effect": "NoSchedule"}], "replace")
    out = T.compute_taints(current, want, "replace", startup_keys={"nvidia.com/gpu-driver-not-ready"})
    assert sorted(t["key"] for t in out) == sorted([
        "karpenter.sh/disrupted", "karpenter.sh/unregistered", "node.kubernetes.io/not-ready",
        "nvidia.com/gpu-driver-not-ready", "ToBeDeletedByClusterAutoscaler", "gpuaas.io/pool"])
    # without the NodePool's startup keys, the driver taint is the user's and goes
    out = T.compute_taints(current, want, "replace")
    assert "nvidia.com/gpu-driver-not-ready" not in [t["key"] for t in out]
    # named with another effect: the listed one replaces it
    named = T.validate_taints([{"key": "karpenter.sh/disrupted", "effect": "NoExecute"}], "replace")
    out = T.compute_taints(current, named, "replace")
    assert [t for t in out if t["key"] == "karpenter.sh/disrupted"] == [
        {"key": "karpenter.sh/disrupted", "value": "", "effect": "NoExecute"}]
    assert is_controller_taint("node.cloudprovider.kubernetes.io/uninitialized")
    assert not is_controller_taint("gpuaas.io/maintenance")
