"""Change detection (core/compare.py): one test per case of the reconcile core's contract."""
import copy

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import compare
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import cluster_queue, resource_flavor

MANAGER = "gpuaas-orchestration"
QUOTAS = cluster_queue.DESCRIPTION.quantity_paths


def applied(desired, defaults=None):
    """The live object after ``desired`` was applied: the intent digest, plus server defaults."""
    live = compare.with_intent(desired, MANAGER, compare.intent_digest(desired, QUOTAS))
    live["metadata"].update(resourceVersion="7", uid="u", managedFields=[{"manager": MANAGER}])
    for path, value in (defaults or {}).items():
        node = live
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return live


def reason(desired, live, paths=()):
    return compare.change_reason(desired, live, MANAGER, paths)


def cq(resources, **spec):
    obj = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "q"},
           "spec": dict(cohortName="c", resourceGroups=[{"coveredResources": ["cpu"], "flavors": [
               {"name": "f", "resources": resources}]}], **spec)}
    return obj


def test_unchanged_rerun_needs_no_write():
    desired = cq([{"name": "cpu", "nominalQuota": "8", "borrowingLimit": "4"}])
    assert reason(desired, applied(desired), QUOTAS) is None


def test_removed_field_inside_a_list_item_is_a_change():
    before = cq([{"name": "cpu", "nominalQuota": "8", "borrowingLimit": "4"}])
    after = cq([{"name": "cpu", "nominalQuota": "8"}])
    # the live object still holds everything ``after`` asks for: only the intent shows the removal
    assert compare.differences(after, applied(before), QUOTAS) == []
    assert reason(after, applied(before), QUOTAS) == "intent changed since the last apply"


def test_removed_map_key_is_a_change():
    before = {"metadata": {"name": "f"}, "spec": {"nodeLabels": {"a": "1", "b": "2"}}}
    after = {"metadata": {"name": "f"}, "spec": {"nodeLabels": {"a": "1"}}}
    assert reason(after, applied(before)) == "intent changed since the last apply"


def test_removed_list_item_is_a_change():
    before = {"metadata": {"name": "f"}, "spec": {"tolerations": [{"key": "a", "operator": "Exists"},
                                                                  {"key": "b", "operator": "Exists"}]}}
    after = copy.deepcopy(before)
    after["spec"]["tolerations"].pop()
    assert reason(after, applied(before)) == "intent changed since the last apply"


def test_removed_toleration_value_inside_atomic_list_is_a_change():
    before = {"metadata": {"name": "f"}, "spec": {"tolerations": [{"key": "a", "operator": "Equal", "value": "x"}]}}
    after = {"metadata": {"name": "f"}, "spec": {"tolerations": [{"key": "a", "operator": "Equal"}]}}
    assert reason(after, applied(before)) is not None


def test_reordered_list_is_a_change_where_order_matters():
    before = {"metadata": {"name": "t"}, "spec": {"levels": [{"nodeLabel": "a"}, {"nodeLabel": "b"}]}}
    after = {"metadata": {"name": "t"}, "spec": {"levels": [{"nodeLabel": "b"}, {"nodeLabel": "a"}]}}
    assert reason(after, applied(before)) == "intent changed since the last apply"
    # and a live object reordered by someone else is drift
    live = applied(after)
    live["spec"]["levels"].reverse()
    assert reason(after, live).startswith("live object differs: spec.levels[0].nodeLabel")


def test_strings_that_look_like_quantities_compare_as_strings():
    before = {"metadata": {"name": "f"}, "spec": {"nodeLabels": {"ver": "1.10"}}}
    after = {"metadata": {"name": "f"}, "spec": {"nodeLabels": {"ver": "1.1"}}}
    assert reason(after, applied(before), resource_flavor.DESCRIPTION.quantity_paths) is not None
    # even when the digest matches, a live label changed by someone else is drift
    live = applied(after)
    live["spec"]["nodeLabels"]["ver"] = "1.10"
    assert compare.differences(after, live) == [(("spec", "nodeLabels", "ver"), "1.1", "1.10")]


def test_quantities_spelled_differently_are_the_same_intent():
    first = cq([{"name": "cpu", "nominalQuota": "1500m"}])
    again = cq([{"name": "cpu", "nominalQuota": "1.5"}])
    assert compare.intent_digest(first, QUOTAS) == compare.intent_digest(again, QUOTAS)
    assert reason(again, applied(first), QUOTAS) is None
    # but not where the value is not a quantity
    assert compare.intent_digest({"spec": {"x": "1500m"}}, QUOTAS) != compare.intent_digest({"spec": {"x": "1.5"}}, QUOTAS)
    assert compare.intent_digest(cq([{"name": "cpu", "nominalQuota": "2"}]), QUOTAS) != compare.intent_digest(first, QUOTAS)


def test_intent_other_than_the_applied_object():
    """Values a module carries over from live (a paused pool's budgets) are not intent: with the
    digest of the rendered object, the object as applied compares with live only."""
    rendered = {"metadata": {"name": "p"}, "spec": {"budgets": [{"nodes": "10%"}]}}
    paused = {"metadata": {"name": "p"}, "spec": {"budgets": [{"nodes": "0"}]}}
    live = compare.with_intent(paused, MANAGER, compare.intent_digest(rendered))
    assert compare.change_reason(paused, live, MANAGER, digest=compare.intent_digest(rendered)) is None
    assert compare.change_reason(paused, live, MANAGER) == "intent changed since the last apply"


def test_quantity_fields_compare_as_quantities():
    desired = cq([{"name": "cpu", "nominalQuota": "500m"}])
    live = applied(desired)
    # a webhook rewrote the canonical form: not a change
    live["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] = "0.5"
    assert reason(desired, live, QUOTAS) is None
    live["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] = "1"
    assert "nominalQuota" in reason(desired, live, QUOTAS)
    # the same value at a path that is not a quantity compares exactly
    assert compare.differences({"spec": {"name": "500m"}}, {"spec": {"name": "0.5"}}, QUOTAS)


def test_server_filled_defaults_are_not_a_change():
    desired = cq([{"name": "cpu", "nominalQuota": "8"}])
    live = applied(desired, {("spec", "queueingStrategy"): "BestEffortFIFO",
                             ("spec", "flavorFungibility"): {"whenCanBorrow": "MayStopSearch"}})
    live["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["lendingLimit"] = "8"
    live["status"] = {"conditions": []}
    assert reason(desired, live, QUOTAS) is None
    # empty maps and lists the server drops
    desired["spec"]["namespaceSelector"] = {}
    assert compare.differences(desired, live, QUOTAS) == []


def test_value_removed_by_someone_else_is_drift():
    desired = cq([{"name": "cpu", "nominalQuota": "8", "borrowingLimit": "4"}])
    live = applied(desired)
    del live["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["borrowingLimit"]
    assert "borrowingLimit" in reason(desired, live, QUOTAS)


def test_types_compare_exactly():
    assert compare.differences({"a": True}, {"a": "True"})
    assert compare.differences({"a": 1}, {"a": "1"})
    assert not compare.differences({"a": 1}, {"a": 1.0})
    assert compare.differences({"a": [1, 2]}, {"a": [1]})


def test_object_without_digest_is_written_once():
    desired = {"metadata": {"name": "f"}, "spec": {"nodeLabels": {"a": "1"}}}
    live = copy.deepcopy(desired)
    assert reason(desired, live).startswith("no intent digest")
    assert reason(desired, None) == "not found"


def test_digest_ignores_server_metadata_and_is_hidden_from_diffs():
    desired = {"metadata": {"name": "f", "annotations": {"x": "1"}}, "spec": {}}
    live = applied(desired)
    assert compare.intent_digest(desired) == compare.intent_digest(live)
    assert engine.clean_for_diff(live)["metadata"] == {"name": "f", "annotations": {"x": "1"}}
    assert compare.intent_annotation(MANAGER) == "applied-intent.gpuaas.io/gpuaas-orchestration"


def test_path_patterns():
    assert compare.path_matches(("spec", "limits", "cpu"), ("spec", "limits", "*"))
    assert not compare.path_matches(("spec", "limits"), ("spec", "limits", "*"))
    assert compare.format_path(("spec", "nodeLabels", "a/b", 0)) == 'spec.nodeLabels["a/b"][0]'
