"""cluster_plan's non-object steps and failures: node taints by selector, a failure half-way that
keeps what was done, and the role's argument spec rejecting a bad plan before any task runs."""
import uuid

import pytest
from kubernetes.client.rest import ApiException

KUEUE = "kueue.x-k8s.io/v1beta2"


@pytest.fixture
def sfx():
    return uuid.uuid4().hex[:6]


@pytest.fixture
def test_node(core_v1, sfx):
    """A Node object of this test only (no kubelet behind it: nothing schedules onto it)."""
    name = "plan-node-" + sfx
    core_v1.create_node({"metadata": {"name": name, "labels": {"gpuaas.io/plan-test": sfx}}})
    yield name
    try:
        core_v1.delete_node(name)
    except ApiException:
        pass


def taints_of(core_v1, name):
    return [(t.key, t.value, t.effect) for t in (core_v1.read_node(name).spec.taints or [])]


def test_node_taints_by_selector_applied_idempotent_and_removed_with_the_plan(ansible, core_v1, sfx, test_node):
    plan = {"name": "taints-" + sfx, "node_taints": [{
        "label_selector": "gpuaas.io/plan-test=" + sfx,
        "taints": [{"key": "gpuaas.io/reserved", "value": "training", "effect": "NoSchedule"}]}]}
    check = ansible.module("cluster_plan", plan, check=True)
    assert check["changed"] is True and taints_of(core_v1, test_node) == []
    nodes = [o for o in check["drift"]["objects"] if o["ref"].startswith("Node/")]
    after = [{"key": "gpuaas.io/reserved", "value": "training", "effect": "NoSchedule"}]
    assert nodes == [{"ref": "Node/" + test_node, "action": "updated", "cause": "taints differ",
                      "fields": [{"path": "spec.taints", "before": [], "after": after}]}]
    applied = ansible.module("cluster_plan", plan)
    assert applied["changed"] is True and [n["name"] for n in applied["node_taints"] if n["changed"]] == [test_node]
    assert ("gpuaas.io/reserved", "training", "NoSchedule") in taints_of(core_v1, test_node)
    rerun = ansible.module("cluster_plan", plan)
    assert rerun["changed"] is False and rerun["drift"]["drifted"] == 0
    gone = ansible.module("cluster_plan", dict(plan, state="absent"))
    assert gone["changed"] is True and taints_of(core_v1, test_node) == []


def test_a_failure_half_way_keeps_what_was_done(ansible, dyn, sfx):
    # the ClusterQueue is written; the workload's namespace does not exist: the run stops there
    plan = {"name": "half-" + sfx, "wait": False,
            "cluster_queues": [{"name": "half-" + sfx, "resource_groups": [{"flavors": [
                {"name": "f-" + sfx, "resources": [{"name": "cpu", "nominal_quota": 1}]}]}]}],
            "workloads": [{"apiVersion": "batch/v1", "kind": "Job", "metadata": {
                "name": "j", "namespace": "no-such-ns-" + sfx, "labels": {"kueue.x-k8s.io/queue-name": "q"}},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}]}
    try:
        res = ansible.module("cluster_plan", plan, fail_ok=True)
        assert res.get("failed") is True and res["changed"] is True
        assert res["failed_stage"] == "workloads", res
        assert res["failed_object"]["ref"] == "Job/no-such-ns-%s/j" % sfx
        assert ("ClusterQueue/half-" + sfx, "created") in [(r["ref"], r["action"]) for r in res["results"]]
        assert "already done before the failure" in res["msg"]
        cq = dyn.resources.get(api_version=KUEUE, kind="ClusterQueue").get(name="half-" + sfx)
        assert cq.metadata.labels["gpuaas.io/plan"] == "half-" + sfx
    finally:
        ansible.module("cluster_plan", {"name": "half-" + sfx, "state": "absent", "force": True}, fail_ok=True)


def test_the_role_rejects_a_bad_plan_before_any_task(ansible, sfx):
    bad = {"name": "bad-" + sfx, "cluster_queues": [{"name": "q", "resource_grups": []}],
           "namespaces": [{"labels": {"a": "b"}}]}
    rc, doc = ansible.playbook("playbooks/site.yml", extra_vars={"gpuaas_plan": bad}, fail_ok=True)
    assert rc != 0
    tasks = [t for p in doc["plays"] for t in p["tasks"]]
    failed = [t for t in tasks if any(h.get("failed") for h in t["hosts"].values())]
    assert len(failed) == 1 and "Validating arguments against arg spec" in failed[0]["task"]["name"], \
        [t["task"]["name"] for t in tasks]
    msg = str(list(failed[0]["hosts"].values())[0].get("msg"))
    assert "resource_grups" in msg and "name" in msg, msg
    assert not [t for t in tasks if t["task"]["name"].endswith("Apply the plan of the cluster")]
