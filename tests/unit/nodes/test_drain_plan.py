"""Unit tests of the pure drain planning (plugins/module_utils/drain.py)."""
import json

import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes import drain as D


def pod(name, ns="ns", owner=None, phase="Running", volumes=None, annotations=None, labels=None,
        deleting=False, uid=None, node="n1"):
    md = {"name": name, "namespace": ns, "uid": uid or "uid-" + name,
          "annotations": annotations or {}, "labels": labels or {}}
    if owner:
        kind, oname = owner.split("/")
        api = {"ReplicaSet": "apps/v1", "DaemonSet": "apps/v1", "StatefulSet": "apps/v1",
               "Job": "batch/v1"}.get(kind, "example.com/v1")
        md["ownerReferences"] = [{"apiVersion": api, "kind": kind, "name": oname,
                                  "uid": "uid-" + oname, "controller": True}]
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": md, "spec": {"nodeName": node, "volumes": volumes or []},
            "status": {"phase": phase}}


EMPTYDIR = [{"name": "scratch", "emptyDir": {}}]
CONFIGMAP = [{"name": "cfg", "configMap": {"name": "x"}}]


def classify(p, **opts):
    return D.classify_pod(p, opts)


def test_replicaset_pod_is_evicted():
    assert classify(pod("a", owner="ReplicaSet/rs")) == ("evict", None)


def test_daemonset_pod_skipped_when_ignored_else_error():
    p = pod("ds-1", owner="DaemonSet/ds")
    assert classify(p) == ("skip", D.SKIP_DAEMONSET)  # ignore_daemonsets defaults to true
    assert classify(p, ignore_daemonsets=False) == ("error", D.ERR_DAEMONSET)


def test_daemonset_of_other_api_group_is_not_daemonset():
    p = pod("x", owner="DaemonSet/ds")
    p["metadata"]["ownerReferences"][0]["apiVersion"] = "apps.kruise.io/v1alpha1"
    assert classify(p, ignore_daemonsets=False) == ("evict", None)


def test_orphaned_daemonset_pod_needs_force():
    p = pod("ds-1", owner="DaemonSet/gone")

    def gone(ns, name):
        return False

    assert D.classify_pod(p, {}, gone)[0] == "error"
    assert "gone" in D.classify_pod(p, {}, gone)[1]
    assert D.classify_pod(p, {"force": True}, gone) == ("evict", D.WARN_ORPHAN_DAEMONSET)


def test_finished_daemonset_pod_is_removed():
    assert classify(pod("ds-1", owner="DaemonSet/ds", phase="Succeeded"), ignore_daemonsets=False) == ("evict", None)


def test_mirror_pod_always_skipped():
    p = pod("static", annotations={D.MIRROR_ANNOTATION: "abc"})
    assert classify(p) == ("skip", D.SKIP_MIRROR)
    assert classify(p, force=True) == ("skip", D.SKIP_MIRROR)


def test_emptydir_needs_delete_emptydir_data():
    p = pod("db", owner="ReplicaSet/rs", volumes=EMPTYDIR)
    assert classify(p) == ("error", D.ERR_EMPTYDIR)
    assert classify(p, force=True) == ("error", D.ERR_EMPTYDIR)  # force does not cover emptyDir
    assert classify(p, delete_emptydir_data=True) == ("evict", D.WARN_EMPTYDIR)


def test_other_volumes_are_not_local_storage():
    assert classify(pod("a", owner="ReplicaSet/rs", volumes=CONFIGMAP)) == ("evict", None)


def test_unmanaged_needs_force():
    p = pod("bare")
    assert classify(p) == ("error", D.ERR_UNMANAGED)
    assert classify(p, force=True) == ("evict", D.WARN_UNMANAGED)


def test_owner_reference_without_controller_is_unmanaged():
    p = pod("bare", owner="ReplicaSet/rs")
    p["metadata"]["ownerReferences"][0]["controller"] = False
    assert classify(p) == ("error", D.ERR_UNMANAGED)


def test_unmanaged_with_emptydir_needs_both():
    p = pod("bare", volumes=EMPTYDIR)
    assert classify(p, force=True) == ("error", D.ERR_EMPTYDIR)
    assert classify(p, delete_emptydir_data=True) == ("error", D.ERR_UNMANAGED)
    assert classify(p, force=True, delete_emptydir_data=True)[0] == "evict"


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_finished_pods_are_removed_without_flags(phase):
    assert classify(pod("bare", phase=phase, volumes=EMPTYDIR)) == ("evict", None)


def test_do_not_disrupt_blocks_unless_forced():
    p = pod("train", owner="Job/j", annotations={D.DO_NOT_DISRUPT_ANNOTATION: "true"})
    assert classify(p) == ("error", D.ERR_DO_NOT_DISRUPT)
    assert classify(p, force=True) == ("evict", D.WARN_DO_NOT_DISRUPT)
    p2 = pod("train", owner="Job/j", annotations={D.DO_NOT_DISRUPT_ANNOTATION: "false"})
    assert classify(p2) == ("evict", None)


def test_terminating_pod_is_waited_for_not_evicted():
    assert classify(pod("a", owner="ReplicaSet/rs", deleting=True)) == ("wait", D.SKIP_TERMINATING)


def test_plan_groups_and_messages():
    pods = [pod("web-1", owner="ReplicaSet/web"), pod("ds", owner="DaemonSet/d"),
            pod("bare"), pod("db", owner="StatefulSet/db", volumes=EMPTYDIR),
            pod("static", annotations={D.MIRROR_ANNOTATION: "x"})]
    plan = D.plan_drain(pods, {}, node="n1")
    assert [D.pod_key(p) for p in plan.evict] == ["ns/web-1"]
    assert sorted((s["name"], s["reason"]) for s in plan.skipped) == [
        ("ds", D.SKIP_DAEMONSET), ("static", D.SKIP_MIRROR)]
    assert sorted(e["name"] for e in plan.errors) == ["bare", "db"]
    msg = plan.error_message()
    assert "ns/bare" in msg and "ns/db" in msg and "force" in msg and "delete_emptydir_data" in msg
    assert all(s["node"] == "n1" for s in plan.skipped)


def test_plan_with_force_and_emptydir_evicts_all_but_skips():
    pods = [pod("web-1", owner="ReplicaSet/web"), pod("bare"),
            pod("db", owner="StatefulSet/db", volumes=EMPTYDIR)]
    plan = D.plan_drain(pods, {"force": True, "delete_emptydir_data": True})
    assert sorted(D.pod_key(p) for p in plan.evict) == ["ns/bare", "ns/db", "ns/web-1"]
    assert not plan.errors
    assert sorted(w["name"] for w in plan.warnings) == ["bare", "db"]


# ------------------------------------------------------------------ selectors and budgets

def test_selector_matches():
    labels = {"app": "web", "tier": "fe"}
    assert D.selector_matches({}, labels)
    assert not D.selector_matches(None, labels)
    assert D.selector_matches({"matchLabels": {"app": "web"}}, labels)
    assert not D.selector_matches({"matchLabels": {"app": "db"}}, labels)
    assert D.selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]}, labels)
    assert not D.selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["fe"]}]}, labels)
    assert D.selector_matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert not D.selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)
    assert not D.selector_matches({"matchExpressions": [{"key": "x", "operator": "Gt", "values": ["1"]}]}, labels)


def test_budgets_for_pod_same_namespace_only():
    p = pod("web-1", labels={"app": "web"})
    pdbs = [
        {"metadata": {"name": "web-pdb", "namespace": "ns"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}},
        {"metadata": {"name": "other-ns", "namespace": "x"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}},
        {"metadata": {"name": "db-pdb", "namespace": "ns"}, "spec": {"selector": {"matchLabels": {"app": "db"}}}},
        {"metadata": {"name": "all", "namespace": "ns"}, "spec": {"selector": {}}},
        {"metadata": {"name": "none", "namespace": "ns"}, "spec": {}},
    ]
    assert D.budgets_for_pod(p, pdbs) == ["all", "web-pdb"]


def test_parse_eviction_429():
    body = json.dumps({
        "kind": "Status", "status": "Failure", "reason": "TooManyRequests", "code": 429,
        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "details": {"causes": [{"reason": "DisruptionBudget",
                                "message": "The disruption budget web-pdb needs 3 healthy pods and has 3 currently"}]}})
    msg, budgets = D.parse_eviction_error(body)
    assert budgets == ["web-pdb"]
    assert "needs 3 healthy pods" in msg
    msg, budgets = D.parse_eviction_error(b"not json")
    assert msg == "not json" and budgets == []


# ------------------------------------------------------------------ kueue

def wl(name, owner_uid, admitted=True):
    st = {}
    if admitted:
        st = {"admission": {"clusterQueue": "cq"},
              "conditions": [{"type": "QuotaReserved", "status": "True"},
                             {"type": "Admitted", "status": "True"}]}
    return {"metadata": {"name": name, "namespace": "ns", "uid": "wl-" + name,
                         "ownerReferences": [{"kind": "Job", "name": "j", "uid": owner_uid}]},
            "status": st}


def test_workload_for_job_pod_and_jobset_chain():
    w1 = wl("job-j", "uid-j")
    w2 = wl("jobset-js", "uid-js")
    idx = D.workload_index([w1, w2])
    assert D.workload_for_pod(pod("j-abc", owner="Job/j"), idx) is w1
    # pod -> Job j2 -> JobSet js
    parents = {"uid-j2": {"kind": "JobSet", "name": "js", "uid": "uid-js", "controller": True}}
    assert D.workload_for_pod(pod("j2-abc", owner="Job/j2"), idx, parents) is w2
    assert D.workload_for_pod(pod("web", owner="ReplicaSet/web"), idx) is None
    # plain pod integration: the workload is owned by the pod itself
    w3 = wl("pod-p", "uid-p")
    assert D.workload_for_pod(pod("p"), D.workload_index([w3])) is w3


def test_workload_admission_states():
    assert D.workload_admitted(wl("a", "u"))
    assert not D.workload_admitted(wl("a", "u", admitted=False))
    assert D.workload_released(wl("a", "u", admitted=False))
    assert not D.workload_released(wl("a", "u"))
    ref = D.workload_ref(wl("a", "u"))
    assert ref["cluster_queue"] == "cq" and ref["owner"] == "Job/j"
