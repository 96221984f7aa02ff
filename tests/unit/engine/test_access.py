"""core/access.py: the permission a request needs, and the local preview of a write."""
import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import access


@pytest.mark.parametrize("method,path,query,want", [
    ("GET", "/api/v1/nodes", None, ("list", "nodes", None, "", None)),
    ("GET", "/api/v1/nodes/gpu-0", None, ("get", "nodes", None, "", None)),
    ("PATCH", "/api/v1/nodes/gpu-0", None, ("patch", "nodes", None, "", None)),
    ("POST", "/api/v1/namespaces/ml/pods/p-1/eviction", None, ("create", "pods", "eviction", "", "ml")),
    ("DELETE", "/api/v1/namespaces/ml/pods/p-1", None, ("delete", "pods", None, "", "ml")),
    ("PATCH", "/apis/kueue.x-k8s.io/v1beta2/clusterqueues/cq", {"dryRun": "All"},
     ("patch", "clusterqueues", None, "kueue.x-k8s.io", None)),
    ("PATCH", "/apis/kueue.x-k8s.io/v1beta2/namespaces/ml/workloads/w/status", None,
     ("patch", "workloads", "status", "kueue.x-k8s.io", "ml")),
    ("GET", "/apis/batch/v1/namespaces/ml/jobs", {"watch": True}, ("watch", "jobs", None, "batch", "ml")),
    ("GET", "/api/v1/namespaces/ml", None, ("get", "namespaces", None, "", None)),
    ("GET", "/api/v1/namespaces", None, ("list", "namespaces", None, "", None)),
    ("POST", "/apis/karpenter.sh/v1/nodeclaims", None, ("create", "nodeclaims", None, "karpenter.sh", None)),
])
def test_permission_of(method, path, query, want):
    p = access.permission_of(method, path, query)
    assert (p["verb"], p["resource"], p["subresource"], p["group"], p["namespace"]) == want


def test_describe_permission():
    p = access.permission_of("POST", "/api/v1/namespaces/ml/pods/p/eviction")
    assert access.describe_permission(p) == 'create on pods/eviction (API group "") in namespace ml'
    p = access.permission_of("PATCH", "/api/v1/nodes/n")
    assert access.describe_permission(p) == 'patch on nodes (API group "") cluster-wide'


def test_is_rbac_denial():
    assert access.is_rbac_denial('nodes "n" is forbidden: User "system:serviceaccount:a:b" cannot patch resource '
                                 '"nodes" in API group "" at the cluster scope')
    assert not access.is_rbac_denial('jobs "j" is forbidden: unable to create new content in namespace ml because '
                                     'it is being terminated')
    assert not access.is_rbac_denial(None)


def test_merge_patch():
    live = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"unschedulable": True, "taints": [1, 2]}}
    out = access.merge_patch(live, {"metadata": {"labels": {"b": None, "c": "3"}}, "spec": {"taints": [3]}})
    assert out == {"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"unschedulable": True, "taints": [3]}}
    assert live["metadata"]["labels"] == {"a": "1", "b": "2"}   # not modified in place


def test_json_patch():
    live = {"spec": {"taints": [{"key": "a"}, {"key": "b"}]}}
    out = access.json_patch(live, [{"op": "test", "path": "/spec/taints/0/key", "value": "a"},
                                   {"op": "remove", "path": "/spec/taints/0"},
                                   {"op": "add", "path": "/spec/taints/-", "value": {"key": "c"}},
                                   {"op": "add", "path": "/metadata", "value": {"x~y/z": 1}},
                                   {"op": "replace", "path": "/metadata/x~0y~1z", "value": 2}])
    assert out == {"spec": {"taints": [{"key": "b"}, {"key": "c"}]}, "metadata": {"x~y/z": 2}}
    with pytest.raises(ValueError):
        access.json_patch(live, [{"op": "test", "path": "/spec/taints/0/key", "value": "z"}])
    with pytest.raises(ValueError):
        access.json_patch(live, [{"op": "remove", "path": "/spec/nothing"}])


def test_preview_apply_removes_what_the_manager_released_and_keeps_others_fields():
    live = {
        "metadata": {"name": "cq", "labels": {"mine": "1", "theirs": "2"}, "managedFields": [
            {"manager": "gpuaas-orchestration", "operation": "Apply",
             "fieldsV1": {"f:metadata": {"f:labels": {"f:mine": {}}},
                          "f:spec": {"f:cohort": {}, "f:stopPolicy": {}, "f:resourceGroups": {}}}},
            {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {"f:fairSharing": {}}}}]},
        "spec": {"cohort": "a", "stopPolicy": "Hold", "resourceGroups": [1], "fairSharing": {"weight": "1"}},
        "status": {"x": 1},
    }
    out = access.preview_apply(live, {"metadata": {"name": "cq"}, "spec": {"cohort": "b", "resourceGroups": [2]}},
                               "gpuaas-orchestration")
    assert out["spec"] == {"cohort": "b", "resourceGroups": [2], "fairSharing": {"weight": "1"}}
    assert out["metadata"]["labels"] == {"theirs": "2"}
    assert out["status"] == {"x": 1}
    # a create: the body itself
    assert access.preview_apply(None, {"spec": {"a": 1}}, "m") == {"spec": {"a": 1}}


def test_preview_by_method():
    assert access.preview("DELETE", {"a": 1}, None, None, "m")["status"] == "Success"
    assert access.preview("POST", None, {"metadata": {"name": "x"}}, None, "m") == {"metadata": {"name": "x"}}
    assert access.preview("PATCH", {"a": 1}, {"b": 2}, "application/merge-patch+json", "m") == {"a": 1, "b": 2}
    assert access.preview("PATCH", {"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}],
                          "application/json-patch+json", "m") == {"a": [1, 2]}
