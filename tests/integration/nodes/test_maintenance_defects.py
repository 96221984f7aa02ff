"""Three defects of wave 1 that a maintenance window depends on, each tested live.

1. node_maintenance with on_failure=uncordon left the batch cordoned (the role cordons in a task
   of its own, so the drain never counted those nodes as its own).
2. A Kueue-aware drain reactivated a Workload that someone else had deactivated.
3. node_taints state=replace removed taints that controllers own (karpenter.sh/disrupted, ...).
"""
from pathlib import Path

from nodehelpers import KueueQueue, admitted, bare_pod, deployment, is_ready, pods_of, wait_until

REPO = Path(__file__).resolve().parents[3]
CORDONED_BY = "gpuaas.io/cordoned-by"


def test_maintenance_on_failure_uncordon_uncordons_the_batch(ansible, core_v1, dyn, namespace, fake_nodes):
    n1, n2, n3 = fake_nodes.create(3)
    fake_nodes.set_unschedulable(n3, True)  # a person cordoned n3 before the window: not ours
    dyn.resources.get(api_version="apps/v1", kind="Deployment").create(
        namespace=namespace, body=deployment("svc", 2, fake_nodes.placement()))
    core_v1.create_namespaced_pod(namespace, bare_pod("pinned", n2, fake_nodes.placement()))
    wait_until(lambda: len([p for p in pods_of(core_v1, namespace, "app=svc") if is_ready(p)]) == 2, 60,
               what="2 ready pods")
    rc, doc = ansible.playbook(REPO / "playbooks" / "node_maintenance.yml", fail_ok=True, extra_vars={
        "node_maintenance_nodes": [n1, n2, n3], "node_maintenance_batch_size": 3,
        "node_maintenance_drain": {"on_failure": "uncordon", "eviction_timeout": 5, "wait_timeout": 30}})
    assert rc != 0 and "pinned" in str(doc)
    # the batch the role cordoned is schedulable again, without the collection's mark
    for n in (n1, n2):
        node = fake_nodes.node(n)
        assert not node.spec.unschedulable, n
        assert CORDONED_BY not in (node.metadata.annotations or {}), n
    assert fake_nodes.node(n3).spec.unschedulable  # the person's cordon stays


def _hold_jobs_running(dyn, name):
    """A ValidatingAdmissionPolicy that refuses to suspend Jobs labelled gpuaas.io/test-hold: Kueue
    then cannot stop a deactivated Workload's job, which stays admitted with its pods running: the
    state in which the old drain took the Workload in hand and switched it on again."""
    vap = dyn.resources.get(api_version="admissionregistration.k8s.io/v1", kind="ValidatingAdmissionPolicy")
    vapb = dyn.resources.get(api_version="admissionregistration.k8s.io/v1", kind="ValidatingAdmissionPolicyBinding")
    vap.create(body={"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                     "metadata": {"name": name}, "spec": {
                         "failurePolicy": "Fail",
                         "matchConstraints": {"resourceRules": [{"apiGroups": ["batch"], "apiVersions": ["v1"],
                                                                 "operations": ["UPDATE"], "resources": ["jobs"]}]},
                         "matchConditions": [{"name": "held", "expression":
                                              "has(object.metadata.labels) && 'gpuaas.io/test-hold' in object.metadata.labels"}],
                         "validations": [{"expression": "!(has(object.spec.suspend) && object.spec.suspend)",
                                          "message": "the test holds this job running"}]}})
    vapb.create(body={"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
                      "metadata": {"name": name}, "spec": {"policyName": name, "validationActions": ["Deny"]}})

    def remove():
        for api in (vapb, vap):
            try:
                api.delete(name=name)
            except Exception:  # noqa: BLE001
                pass
    return remove


def test_kueue_drain_leaves_a_workload_deactivated_by_someone_else(ansible, core_v1, dyn, namespace, fake_nodes):
    a, = fake_nodes.create(1, gpus=8)
    b, = fake_nodes.create(1, gpus=8, unschedulable=True)
    q = KueueQueue(dyn, namespace, fake_nodes.run)
    release = None
    try:
        q.submit("keep-off", fake_nodes.placement())
        q.submit("requeue", fake_nodes.placement())
        wait_until(lambda: all(admitted(q.workload_of(j)) for j in ("keep-off", "requeue")), 60,
                   what="both workloads admitted")
        wait_until(lambda: len([p for p in pods_of(core_v1, namespace, "app in (keep-off, requeue)") if is_ready(p)]) == 4,
                   60, what="4 running pods")
        release = _hold_jobs_running(dyn, "t-hold-%s" % fake_nodes.run)
        q.job_api.patch(name="keep-off", namespace=namespace, body={"metadata": {"labels": {"gpuaas.io/test-hold": "1"}}},
                        content_type="application/merge-patch+json")

        def refused():
            try:
                q.job_api.patch(name="keep-off", namespace=namespace, body={"spec": {"suspend": True}},
                                content_type="application/merge-patch+json", query_params=[("dryRun", "All")])
                return False
            except Exception as e:  # noqa: BLE001
                return "holds this job" in str(e)
        wait_until(refused, 30, what="the hold policy in force")
        wl = q.workload_of("keep-off")
        q.wl_api.patch(name=wl["metadata"]["name"], namespace=namespace, body={"spec": {"active": False}},
                       content_type="application/merge-patch+json")
        wait_until(lambda: any(c["type"] == "Evicted" and c["status"] == "True"
                               for c in q.workload_of("keep-off")["status"].get("conditions") or []),
                   30, what="keep-off evicted by Kueue")
        assert admitted(q.workload_of("keep-off"))  # deactivated by someone else, still admitted
        fake_nodes.set_unschedulable(b, False)

        r = ansible.module("node_drain", {"name": a, "kueue_aware": True, "wait_timeout": 90})
        assert [w["name"] for w in r["requeued_workloads"]] == [q.workload_of("requeue")["metadata"]["name"]]
        assert [w["name"] for w in r["left_deactivated"]] == [wl["metadata"]["name"]]
        assert q.workload_of("keep-off")["spec"]["active"] is False  # still off
        wait_until(lambda: admitted(q.workload_of("requeue")), 60, what="requeue admitted again")
        live = q.workload_of("requeue")
        assert live["spec"].get("active", True) is True
        assert "gpuaas.io/deactivated-by" not in (live["metadata"].get("labels") or {})
    finally:
        if release is not None:
            release()
        q.cleanup()


def test_replace_keeps_controller_taints_unless_named(ansible, core_v1, fake_nodes):
    n, = fake_nodes.create(1)
    core_v1.patch_node(n, {"spec": {"taints": [
        {"key": "karpenter.sh/disrupted", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"},
        {"key": "team", "value": "old", "effect": "NoSchedule"}]}})
    wanted = [{"key": "gpuaas.io/reserved", "value": "training", "effect": "NoSchedule"}]
    r = ansible.module("node_taints", {"name": n, "state": "replace", "taints": wanted})
    assert r["changed"]
    live = sorted((t.key, t.effect) for t in fake_nodes.node(n).spec.taints)
    assert live == [("gpuaas.io/reserved", "NoSchedule"), ("karpenter.sh/disrupted", "NoSchedule"),
                    ("node.kubernetes.io/out-of-service", "NoExecute")]
    assert sorted(t["key"] for t in r["nodes"][0]["kept_controller_taints"]) == [
        "karpenter.sh/disrupted", "node.kubernetes.io/out-of-service"]
    assert [t["key"] for t in r["nodes"][0]["removed"]] == ["team"]
    r = ansible.module("node_taints", {"name": n, "state": "replace", "taints": wanted})
    assert not r["changed"]
    # named: a controller taint listed with replace is what the user says
    r = ansible.module("node_taints", {"name": n, "state": "replace", "taints": wanted + [
        {"key": "karpenter.sh/disrupted", "effect": "NoExecute"}]})
    live = sorted((t.key, t.effect) for t in fake_nodes.node(n).spec.taints)
    assert ("karpenter.sh/disrupted", "NoExecute") in live and ("karpenter.sh/disrupted", "NoSchedule") not in live
    # and absent removes it
    ansible.module("node_taints", {"name": n, "state": "absent", "taints": [{"key": "karpenter.sh/disrupted"}]})
    assert "karpenter.sh/disrupted" not in [t.key for t in fake_nodes.node(n).spec.taints]
