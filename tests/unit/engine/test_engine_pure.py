from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import WaitTimeout, SafetyError, ApiError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import (
    wait_for, describe_conditions, is_condition_true,
)

import pytest


def test_kind_paths():
    cq = KINDS["ClusterQueue"]
    assert cq.path() == "/apis/kueue.x-k8s.io/v1beta2/clusterqueues"
    assert cq.path(name="a") == "/apis/kueue.x-k8s.io/v1beta2/clusterqueues/a"
    lq = KINDS["LocalQueue"]
    assert lq.path("ns", "q") == "/apis/kueue.x-k8s.io/v1beta2/namespaces/ns/localqueues/q"
    assert lq.path() == "/apis/kueue.x-k8s.io/v1beta2/localqueues"
    assert KINDS["Pod"].path("ns", "p", "eviction") == "/api/v1/namespaces/ns/pods/p/eviction"
    assert lq.ref("q", "ns") == "LocalQueue/ns/q" and cq.ref({"metadata": {"name": "a"}}) == "ClusterQueue/a"


def test_clean_and_labels():
    obj = {"metadata": {"name": "x", "resourceVersion": "5", "uid": "u", "managedFields": [], "generation": 2,
                        "labels": {"a": "b"}}, "spec": {"x": 1}, "status": {"y": 2}}
    assert engine.clean_for_diff(obj) == {"metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {"x": 1}}
    assert engine.clean_for_diff(None) == {}
    out = engine.with_managed_labels({"metadata": {"name": "x"}}, {"gpuaas.io/plan": "p"})
    assert out["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "gpuaas-orchestration", "gpuaas.io/plan": "p"}
    assert engine.prune_none({"a": None, "b": {"c": None, "d": 1}, "e": [None, {"f": None}]}) == {"b": {"d": 1}, "e": [None, {}]}


def test_read_plan():
    cq, lq = KINDS["ClusterQueue"], KINDS["LocalQueue"]
    items = [engine.Item(cq, {"metadata": {"name": "a"}}), engine.Item(cq, {"metadata": {"name": "b"}}),
             engine.Item(lq, {"metadata": {"name": "q", "namespace": "n1"}}),
             engine.Item(KINDS["ResourceFlavor"], name="f", state="absent")]
    plan = engine.kind_items_read_plan(items)
    assert [(p[0].kind, p[1], p[2], len(p[3])) for p in plan] == [
        ("ClusterQueue", None, "list", 2), ("LocalQueue", "n1", "get", 1), ("ResourceFlavor", None, "get", 1)]
    items.append(engine.Item(lq, {"metadata": {"name": "q", "namespace": "n2"}}))
    plan = engine.kind_items_read_plan(items)
    assert plan[1][1:3] == (None, "list")


def test_item_defaults():
    it = engine.Item(KINDS["ClusterQueue"], {"metadata": {"name": "a", "namespace": "x"}, "spec": {"cohortName": None}})
    assert it.obj == {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "a"}, "spec": {}}
    assert it.namespace is None and it.ref == "ClusterQueue/a"


def test_wait_for_times_out_with_last_seen():
    clock = [0.0]
    seen = iter(range(100))

    def fake_sleep(s):
        clock[0] += s

    with pytest.raises(WaitTimeout) as exc:
        wait_for(lambda: {"status": {"conditions": [{"type": "Active", "status": "False", "reason": "FlavorNotFound",
                                                     "message": "n%d" % next(seen)}]}},
                 lambda o: is_condition_true(o, "Active"), 3, "ClusterQueue/a to be Active",
                 clock=lambda: clock[0], sleep=fake_sleep)
    msg = str(exc.value)
    assert msg.startswith("timed out after 3s waiting for ClusterQueue/a to be Active; last seen: Active=False (FlavorNotFound")
    values = iter([None, None, {"ok": 1}])
    assert wait_for(lambda: next(values), lambda v: v is not None, 10, "x", clock=lambda: clock[0], sleep=fake_sleep) == {"ok": 1}
    assert describe_conditions(None) == "object not found"


def test_error_messages():
    e = SafetyError("nominalQuota 4 is below the 8 in use", affected=["ns/wl-1", "ns/wl-2"],
                    field="spec.resourceGroups[0].flavors[0].resources[0].nominalQuota", value="4")
    assert "affected: ns/wl-1, ns/wl-2" in str(e) and "force: true" in str(e)
    a = ApiError("server-side apply", 422, "Invalid", "spec.x: Invalid value", obj="ClusterQueue/a")
    assert str(a) == "server-side apply failed for ClusterQueue/a: 422 Invalid: spec.x: Invalid value"


def test_client_retry_policy():
    from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import retry_delay as d
    assert d(ApiError("get", 503, "ServiceUnavailable", "x"), 0) == 0.5
    assert d(ApiError("get", 429, "TooManyRequests", "x", body={"details": {"retryAfterSeconds": 2}}), 0) == 2.0
    assert d(ApiError("apply", 500, "InternalError", 'failed calling webhook "x": connection refused'), 2) == 2.0
    assert d(ApiError("apply", 500, "InternalError", "something else"), 0) is None
    assert d(ApiError("apply", 422, "Invalid", "spec.x"), 0) is None
    assert d(ApiError("get", message="MaxRetryError: connection refused"), 5) == 4.0


# -- waits answered by the object in hand; check mode into a missing namespace -------------------

def _active(gen=2, observed=2, status="True"):
    return {"metadata": {"name": "q", "generation": gen},
            "status": {"conditions": [{"type": "Active", "status": status, "observedGeneration": observed}]}}


def test_satisfied_in_hand():
    from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import condition_predicate
    spec = engine.WaitSpec(condition_predicate("Active"), "Active")
    assert engine.satisfied_in_hand(spec, _active())
    assert not engine.satisfied_in_hand(spec, _active(status="False"))
    # a status written for an older generation (the spec was just changed) is not trusted
    assert not engine.satisfied_in_hand(spec, _active(gen=3, observed=2))
    assert not engine.satisfied_in_hand(spec, None)
    assert engine.status_is_current({"metadata": {}, "status": {}})
    assert not engine.status_is_current({"metadata": {"generation": 2}, "status": {"observedGeneration": 1}})


def test_missing_namespace():
    lq = engine.Item(KINDS["LocalQueue"], {"metadata": {"name": "q", "namespace": "later"}, "spec": {}})
    err = ApiError("apply", status=404, reason="NotFound", message='namespaces "later" not found',
                   body={"details": {"name": "later", "kind": "namespaces"}, "code": 404})
    assert engine.missing_namespace(err, lq) == "later"
    other = ApiError("apply", status=404, reason="NotFound", message="x", body={"details": {"kind": "clusterqueues"}})
    assert engine.missing_namespace(other, lq) is None
    cq = engine.Item(KINDS["ClusterQueue"], {"metadata": {"name": "q"}})
    assert engine.missing_namespace(err, cq) is None


def test_carry_over_keeps_live_fields_the_user_left_out():
    live = {"metadata": {"name": "q", "annotations": {"a": "1"}},
            "spec": {"resourceGroups": [{"coveredResources": ["cpu"]}], "cohortName": "old"}}
    desired = {"metadata": {"name": "q"}, "spec": {"stopPolicy": "Hold"}}
    paths = [("spec", "resourceGroups"), ("metadata", "annotations", "a"), ("spec", "missing", "deep")]
    out = engine.carry_over(desired, live, paths)
    assert out["spec"]["resourceGroups"] == [{"coveredResources": ["cpu"]}]
    assert out["metadata"]["annotations"] == {"a": "1"}
    assert "cohortName" not in out["spec"]          # only the listed paths
    assert "missing" not in out["spec"]             # nothing invented where live has nothing
    assert desired == {"metadata": {"name": "q"}, "spec": {"stopPolicy": "Hold"}}   # pure
    # a value the user gives wins over live
    given = {"spec": {"resourceGroups": []}}
    assert engine.carry_over(given, live, [("spec", "resourceGroups")])["spec"]["resourceGroups"] == []
    assert engine.carry_over(desired, None, [("spec", "resourceGroups")]) == desired
    item = engine.Item(KINDS["ClusterQueue"], {"metadata": {"name": "q"}}, preserve=[["spec", "resourceGroups"]])
    assert item.preserve == [("spec", "resourceGroups")]
