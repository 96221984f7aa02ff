"""The reconcile core against the live cluster: exact change detection, zero writes on reruns
(counted by the API server's own ``apiserver_request_total``), results that survive a failure
half-way, and fields taken over from other field managers.

Each removal case: applied -> ``changed: true`` and the field gone from the live object; the
check-mode run before it reports the change and writes nothing (resourceVersion unchanged); the
rerun -> ``changed: false`` and no write request to that resource.
"""
import time

import pytest
from kubernetes.client.rest import ApiException

from gpuaas_testlib import wait_until

FLAVOR_TAINT = {"key": "gpuaas.io/exact", "operator": "Equal", "value": "yes", "effect": "NoSchedule"}


def _quota(cq):
    return cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]


def _rerun_writes_nothing(ansible, write_counter, resource, module, args):
    res, writes = write_counter.during([resource], lambda: ansible.module(module, args), mine=args["name"])
    assert res["changed"] is False, res
    assert res["operation"] == "unchanged"
    assert writes == {resource: 0}, "an unchanged rerun sent write requests: %s" % writes
    return res


def _removal_case(ansible, write_counter, get, resource, module, first, second):
    """first applied, then second (check mode, for real, rerun); returns (check, applied) results."""
    res = ansible.module(module, first)
    assert res["changed"] is True and res["operation"] == "created", res
    rv = get()["metadata"]["resourceVersion"]
    check = ansible.module(module, second, check=True, diff=True)
    assert check["changed"] is True and check["operation"] == "updated", check
    assert get()["metadata"]["resourceVersion"] == rv, "check mode wrote"
    # the counter sees the update (its own object's write is never taken off as another test's)
    applied, writes = write_counter.during([resource], lambda: ansible.module(module, second, diff=True),
                                           mine=second["name"], attempts=1)
    assert applied["changed"] is True and applied["operation"] == "updated", applied
    assert applied["results"][0]["reason"] == "intent changed since the last apply"
    assert writes[resource] >= 1, writes
    _rerun_writes_nothing(ansible, write_counter, resource, module, second)
    return check, applied


def test_removing_borrowing_limit_is_applied(ansible, write_counter, kq, sfx):
    name = kq.track("ClusterQueue", "exact-" + sfx)

    def groups(**extra):
        return [{"flavors": [{"name": "f-" + sfx, "resources": [dict({"name": "cpu", "nominal_quota": 8}, **extra)]}]}]
    first = {"name": name, "cohort": "co-" + sfx, "resource_groups": groups(borrowing_limit=4)}
    second = {"name": name, "cohort": "co-" + sfx, "resource_groups": groups()}
    check, applied = _removal_case(ansible, write_counter, lambda: kq.get("ClusterQueue", name), "clusterqueues",
                                   "kueue_cluster_queue", first, second)
    for res in (check, applied):
        before, after = _quota(res["diff"]["before"]), _quota(res["diff"]["after"])
        assert before["borrowingLimit"] == "4" and "borrowingLimit" not in after, res["diff"]
    assert "borrowingLimit" not in _quota(kq.get("ClusterQueue", name))
    assert _quota(kq.get("ClusterQueue", name))["nominalQuota"] == "8"


def test_removing_a_toleration_value_is_applied(ansible, write_counter, kq, sfx):
    name = kq.track("ResourceFlavor", "exact-tol-" + sfx)
    first = {"name": name, "tolerations": [FLAVOR_TAINT]}
    second = {"name": name, "tolerations": [dict((k, v) for k, v in FLAVOR_TAINT.items() if k != "value")]}
    _removal_case(ansible, write_counter, lambda: kq.get("ResourceFlavor", name), "resourceflavors",
                  "kueue_resource_flavor", first, second)
    tol = kq.get("ResourceFlavor", name)["spec"]["tolerations"]
    assert tol == [{"key": "gpuaas.io/exact", "operator": "Equal", "effect": "NoSchedule"}], tol


def test_label_that_looks_like_a_quantity_compares_as_string(ansible, write_counter, kq, sfx):
    name = kq.track("ResourceFlavor", "exact-lbl-" + sfx)
    first = {"name": name, "node_labels": {"gpuaas.io/driver": "1.10"}}
    second = {"name": name, "node_labels": {"gpuaas.io/driver": "1.1"}}
    _removal_case(ansible, write_counter, lambda: kq.get("ResourceFlavor", name), "resourceflavors",
                  "kueue_resource_flavor", first, second)
    assert kq.get("ResourceFlavor", name)["spec"]["nodeLabels"] == {"gpuaas.io/driver": "1.1"}


def test_removing_budget_reasons_on_a_nodepool_is_applied(ansible, write_counter, dyn, sfx):
    name = "exact-np-" + sfx
    api = dyn.resources.get(api_version="karpenter.sh/v1", kind="NodePool")

    def get():
        try:
            return api.get(name=name).to_dict()
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def pool(budget):
        return {"name": name, "node_class_ref": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass",
                                                 "name": "default"},
                "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                                  "values": ["gpu-1x-l4"]}],
                "limits": {"nvidia.com/gpu": 0}, "disruption": {"budgets": [budget]}}
    try:
        first = pool({"nodes": "1", "reasons": ["Drifted"]})
        second = pool({"nodes": "1"})
        res = ansible.module("karpenter_nodepool", first)
        assert res["changed"] is True, res
        # Karpenter writes the new pool meanwhile (its status, its nodepool-hash annotation), which
        # moves the resourceVersion: what check mode must not send is a real write, counted by the
        # API server, and the spec this collection wrote stays as it was
        before = get()
        check, writes = write_counter.during(["nodepools"], mine=name, action=lambda: ansible.module(
            "karpenter_nodepool", second, check=True, diff=True), dry_runs=False)
        assert check["changed"] is True, check
        assert writes == {"nodepools": 0}, "check mode wrote: %s" % writes
        after = get()
        assert (after["spec"], after["metadata"]["generation"]) == (
            before["spec"], before["metadata"]["generation"]), "check mode wrote"
        applied = ansible.module("karpenter_nodepool", second, diff=True)
        assert applied["changed"] is True, applied
        assert get()["spec"]["disruption"]["budgets"] == [{"nodes": "1"}]
        res, writes = write_counter.during(["nodepools"], lambda: ansible.module("karpenter_nodepool", second),
                                           mine=name)
        assert res["changed"] is False, res
        assert writes == {"nodepools": 0}, writes
    finally:
        if get() is not None:
            api.delete(name=name)


@pytest.fixture
def refusing_policy(dyn, sfx):
    """A ValidatingAdmissionPolicy that refuses ClusterQueues labelled ``gpuaas.io/refuse=<sfx>``:
    a real admission denial of the API server, limited to this test's objects."""
    policy_api = dyn.resources.get(api_version="admissionregistration.k8s.io/v1", kind="ValidatingAdmissionPolicy")
    binding_api = dyn.resources.get(api_version="admissionregistration.k8s.io/v1",
                                    kind="ValidatingAdmissionPolicyBinding")
    name = "gpuaas-refuse-" + sfx
    policy_api.create(body={
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {"resourceRules": [{"apiGroups": ["kueue.x-k8s.io"], "apiVersions": ["*"],
                                                         "operations": ["CREATE", "UPDATE"],
                                                         "resources": ["clusterqueues"]}]},
                 "validations": [{"expression": "!has(object.metadata.labels) || "
                                                "!('gpuaas.io/refuse' in object.metadata.labels) || "
                                                "object.metadata.labels['gpuaas.io/refuse'] != '%s'" % sfx,
                                  "message": "refused by the test policy " + name}]}})
    binding_api.create(body={
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name}, "spec": {"policyName": name, "validationActions": ["Deny"]}})
    cq_api = dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="ClusterQueue")
    probe = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue",
             "metadata": {"name": "probe-" + sfx, "labels": {"gpuaas.io/refuse": sfx}}, "spec": {}}

    def denied():
        try:
            cq_api.create(body=probe, query_params=[("dryRun", "All")])
        except ApiException as e:
            body = e.body.decode() if isinstance(e.body, bytes) else (e.body or "")
            return e.status in (400, 403, 422) and name in body
        return False
    wait_until("the admission policy %s to be in force" % name, denied, timeout=30)
    yield name
    binding_api.delete(name=name)
    policy_api.delete(name=name)


def test_plan_refused_at_third_object_reports_what_was_done(ansible, kq, sfx, refusing_policy):
    f1, f2 = kq.track("ResourceFlavor", "half-a-" + sfx), kq.track("ResourceFlavor", "half-b-" + sfx)
    cq = kq.track("ClusterQueue", "half-cq-" + sfx)
    plan = {"resource_flavors": [{"name": f1}, {"name": f2}],
            "cluster_queues": [{"name": cq, "labels": {"gpuaas.io/refuse": sfx}, "resource_groups": [
                {"flavors": [{"name": f1, "resources": [{"name": "cpu", "nominal_quota": 1}]}]}]}]}
    res = ansible.module("kueue_plan", plan, diff=True, fail_ok=True)
    assert res.get("failed") is True, res
    assert res["changed"] is True, "two objects were written before the failure: %s" % res
    assert [(r["ref"], r["action"]) for r in res["results"]] == [
        ("ResourceFlavor/" + f1, "created"), ("ResourceFlavor/" + f2, "created")], res["results"]
    assert res["failed_object"]["ref"] == "ClusterQueue/" + cq, res["failed_object"]
    assert refusing_policy in res["failed_object"]["error"]
    assert refusing_policy in res["msg"] and "ResourceFlavor/%s created" % f1 in res["msg"], res["msg"]
    assert res["api_error"]["status"] in (400, 403, 422), res["api_error"]
    assert [d["after_header"] for d in res["diff"]] == ["ResourceFlavor/%s (created)" % f1,
                                                        "ResourceFlavor/%s (created)" % f2]
    assert kq.get("ResourceFlavor", f1) and kq.get("ResourceFlavor", f2) and kq.get("ClusterQueue", cq) is None


def test_field_set_by_another_manager_is_reported(ansible, kq, sfx):
    name = kq.track("ClusterQueue", "owner-" + sfx)
    base = {"name": name, "resource_groups": [{"flavors": [{"name": "f-" + sfx, "resources": [
        {"name": "cpu", "nominal_quota": 1}]}]}]}
    ansible.module("kueue_cluster_queue", dict(base, stop_policy="None"))
    ansible.module("kueue_queue_control", {"name": name, "state": "stopped", "stop_policy": "Hold"})
    assert kq.get("ClusterQueue", name)["spec"]["stopPolicy"] == "Hold"
    rv = kq.get("ClusterQueue", name)["metadata"]["resourceVersion"]
    refused = ansible.module("kueue_cluster_queue", dict(base, stop_policy="None", force_conflicts=False),
                             fail_ok=True)
    assert refused.get("failed") is True and refused["changed"] is False, refused
    assert ".spec.stopPolicy" in refused["msg"] and "gpuaas-orchestration-queue-control" in refused["msg"], refused
    assert refused["conflicts"] == [{"field": ".spec.stopPolicy", "manager": "gpuaas-orchestration-queue-control"}]
    time.sleep(0.5)
    live = kq.get("ClusterQueue", name)
    assert live["spec"]["stopPolicy"] == "Hold" and live["metadata"]["resourceVersion"] == rv, "nothing is written"
    taken = ansible.module("kueue_cluster_queue", dict(base, stop_policy="None"))
    assert taken["changed"] is True, taken
    assert any(".spec.stopPolicy" in w and "gpuaas-orchestration-queue-control" in w
               for w in taken["api_warnings"]), taken["api_warnings"]
    assert kq.get("ClusterQueue", name)["spec"]["stopPolicy"] == "None"
