"""cluster_plan against the live cluster: a whole plan across kinds in dependency order, reruns
with zero write requests (counted by the API server), check mode that writes nothing and says
exactly what the real run then does, a field-by-field drift report of hand edits, pruning of
owned objects only, and a bad entry among many that writes nothing."""
import uuid

import pytest
from kubernetes.client.rest import ApiException

from gpuaas_testlib import wait_until

KUEUE = "kueue.x-k8s.io/v1beta2"
PART_OF = "applyset.kubernetes.io/part-of"
NODE_CLASS = {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"}
# every resource a plan of these tests writes (write requests counted from apiserver_request_total,
# told apart from other tests' writes by the names, which all hold the test's suffix);
# the engine writes with server-side apply (verb APPLY) and DELETE only: counting just those keeps
# out the creates and updates that other tests cause at the same time (every new namespace gets a
# kube-root-ca.crt ConfigMap, POSTed by the controller manager)
RESOURCES = ["namespaces", "priorityclasses", "configmaps", "resourceflavors", "clusterqueues", "localqueues",
             "workloadpriorityclasses", "nodepools", "roles"]
ENGINE_VERBS = ("APPLY", "PATCH", "DELETE")


@pytest.fixture
def sfx():
    return uuid.uuid4().hex[:6]


class Plans:
    """Deletes, at teardown, every plan a test applied (state absent, force) and its namespaces."""

    def __init__(self, ansible, core_v1):
        self.ansible, self.core_v1 = ansible, core_v1
        self.names, self.namespaces = [], []

    def track(self, plan):
        if plan["name"] not in self.names:
            self.names.append(plan["name"])
        for ns in plan.get("namespaces") or []:
            self.namespaces.append(ns["name"])
        return plan

    def cleanup(self):
        for name in self.names:
            self.ansible.module("cluster_plan", {"name": name, "state": "absent", "force": True, "wait": False},
                                fail_ok=True)
        for ns in self.namespaces:
            try:
                self.core_v1.delete_namespace(ns)
            except ApiException:
                pass


@pytest.fixture
def plans(ansible, core_v1):
    helper = Plans(ansible, core_v1)
    yield helper
    helper.cleanup()


def get(dyn, api, kind, name, namespace=None):
    try:
        res = dyn.resources.get(api_version=api, kind=kind)
        return (res.get(name=name, namespace=namespace) if namespace else res.get(name=name)).to_dict()
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def base_plan(sfx, cluster_queues=1):
    ns = "plan-" + sfx
    cqs = [{"name": "cq%d-%s" % (i, sfx), "namespace_selector": {},
            "resource_groups": [{"covered_resources": ["cpu", "nvidia.com/gpu"], "flavors": [
                {"name": "fl-" + sfx, "resources": [{"name": "cpu", "nominal_quota": 8},
                                                    {"name": "nvidia.com/gpu", "nominal_quota": 4}]}]}]}
           for i in range(cluster_queues)]
    return {
        "name": "p-" + sfx,
        "parallel": 4,
        "namespaces": [{"name": ns, "labels": {"gpuaas.io/team": "t-" + sfx}}],
        "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "limits", "namespace": ns},
                       "data": {"max_gpus": "8"}},
                      {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                       "metadata": {"name": "submitter", "namespace": ns},
                       "rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get"]}]}],
        "priority_classes": [{"name": "pc-" + sfx, "value": 1000, "description": "plan test"}],
        "workload_priority_classes": [{"name": "wpc-" + sfx, "value": 10}],
        "resource_flavors": [{"name": "fl-" + sfx, "node_labels": {"gpuaas.io/pool": "p-" + sfx}}],
        "cluster_queues": cqs,
        "local_queues": [{"name": "lq-" + sfx, "namespace": ns, "cluster_queue": cqs[0]["name"]}],
        "nodepools": [{"name": "np-" + sfx, "node_class_ref": NODE_CLASS,
                       "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                                         "values": ["gpu-1x-l4"]}],
                       "limits": {"nvidia.com/gpu": 4}}],
    }


def refs_by_action(result):
    return sorted((r["ref"], r["action"]) for r in result["results"])


def versions(dyn, sfx, plan):
    ns = plan["namespaces"][0]["name"]
    refs = [("v1", "Namespace", ns, None), ("v1", "ConfigMap", "limits", ns),
            ("scheduling.k8s.io/v1", "PriorityClass", "pc-" + sfx, None),
            (KUEUE, "ResourceFlavor", "fl-" + sfx, None), (KUEUE, "LocalQueue", "lq-" + sfx, ns),
            ("karpenter.sh/v1", "NodePool", "np-" + sfx, None)]
    refs += [(KUEUE, "ClusterQueue", cq["name"], None) for cq in plan["cluster_queues"]]
    out = {}
    for api, kind, name, namespace in refs:
        obj = get(dyn, api, kind, name, namespace)
        out[(kind, name)] = obj["metadata"]["resourceVersion"] if obj else None
    return out


def test_plan_in_order_check_mode_matches_and_rerun_writes_nothing(ansible, write_counter, dyn, plans, sfx):
    plan = plans.track(base_plan(sfx, cluster_queues=12))

    # check mode on a cluster without the plan: the report of what would be created, nothing written
    check = ansible.module("cluster_plan", plan, check=True, diff=True)
    assert check["changed"] is True
    assert set(versions(dyn, sfx, plan).values()) == {None}, "check mode created objects"
    assert get(dyn, "v1", "ConfigMap", "gpuaas-plan-p-" + sfx, "kube-system") is None
    assert check["drift"]["counts"]["ClusterQueue"] == {"created": 12}
    assert all(o["cause"] == "missing" for o in check["drift"]["objects"])

    applied = ansible.module("cluster_plan", plan)
    assert applied["changed"] is True
    # what check mode said is exactly what the run did
    assert refs_by_action(check) == refs_by_action(applied)
    kinds_in_order = []
    for r in applied["results"]:
        if r["kind"] not in kinds_in_order:
            kinds_in_order.append(r["kind"])
    assert kinds_in_order == ["ConfigMap", "Namespace", "Role", "PriorityClass", "ResourceFlavor",
                              "WorkloadPriorityClass", "ClusterQueue", "LocalQueue", "NodePool"], kinds_in_order

    # live: owned by the plan's ApplySet, kubectl's labels; queues Active (wait: true)
    set_id = applied["applyset"]["id"]
    parent = get(dyn, "v1", "ConfigMap", "gpuaas-plan-p-" + sfx, "kube-system")
    assert parent["metadata"]["labels"]["applyset.kubernetes.io/id"] == set_id
    kinds = parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"].split(",")
    assert "ClusterQueue.kueue.x-k8s.io" in kinds and "Namespace" in kinds and "Role.rbac.authorization.k8s.io" in kinds
    ns = get(dyn, "v1", "Namespace", "plan-" + sfx)
    assert ns["metadata"]["labels"][PART_OF] == set_id and ns["metadata"]["labels"]["gpuaas.io/team"] == "t-" + sfx
    lq = get(dyn, KUEUE, "LocalQueue", "lq-" + sfx, "plan-" + sfx)
    assert lq["metadata"]["labels"][PART_OF] == set_id
    assert any(c["type"] == "Active" and c["status"] == "True" for c in lq["status"]["conditions"])
    assert get(dyn, "scheduling.k8s.io/v1", "PriorityClass", "pc-" + sfx)["value"] == 1000

    # rerun and check-mode rerun: nothing changed, no write request to any resource of the plan
    before = versions(dyn, sfx, plan)
    rerun, writes = write_counter.during(RESOURCES, lambda: ansible.module("cluster_plan", plan), mine=sfx,
                                         verbs=ENGINE_VERBS)
    assert rerun["changed"] is False and rerun["drift"]["drifted"] == 0, rerun["drift"]
    assert sum(writes.values()) == 0, writes
    again, writes = write_counter.during(RESOURCES, lambda: ansible.module("cluster_plan", plan, check=True),
                                         mine=sfx, verbs=ENGINE_VERBS)
    assert again["changed"] is False and sum(writes.values()) == 0, writes
    assert versions(dyn, sfx, plan) == before


def test_hand_edits_are_reported_field_by_field_then_corrected(ansible, dyn, plans, sfx):
    plan = plans.track(base_plan(sfx))
    ansible.module("cluster_plan", plan)
    cq_name = plan["cluster_queues"][0]["name"]
    # someone edits the cluster by hand: a quota, a namespace label, a NodePool limit
    cqs = dyn.resources.get(api_version=KUEUE, kind="ClusterQueue")
    cq = cqs.get(name=cq_name).to_dict()
    cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][1]["nominalQuota"] = "2"
    cqs.replace(body=cq)
    nss = dyn.resources.get(api_version="v1", kind="Namespace")
    nss.patch(name="plan-" + sfx, body={"metadata": {"labels": {"gpuaas.io/team": None}}},
              content_type="application/merge-patch+json")
    pools = dyn.resources.get(api_version="karpenter.sh/v1", kind="NodePool")
    pools.patch(name="np-" + sfx, body={"spec": {"limits": {"nvidia.com/gpu": "64"}}},
                content_type="application/merge-patch+json")

    report = ansible.module("cluster_plan", dict(plan, fail_on_drift=True), check=True, fail_ok=True)
    assert report.get("failed") is True and report["msg"].startswith("drift: 3 object(s)"), report["msg"]
    objects = dict((o["ref"], o) for o in report["drift"]["objects"])
    assert set(objects) == {"ClusterQueue/" + cq_name, "Namespace/plan-" + sfx, "NodePool/np-" + sfx}, objects
    assert all(o["cause"] == "changed in the cluster" for o in objects.values())
    fields = dict((f["path"], (f["before"], f["after"])) for f in objects["ClusterQueue/" + cq_name]["fields"])
    assert fields == {"spec.resourceGroups[0].flavors[0].resources[1].nominalQuota": ("2", "4")}, fields
    fields = dict((f["path"], (f["before"], f["after"])) for f in objects["Namespace/plan-" + sfx]["fields"])
    assert fields == {'metadata.labels["gpuaas.io/team"]': (None, "t-" + sfx)}, fields
    fields = dict((f["path"], (f["before"], f["after"])) for f in objects["NodePool/np-" + sfx]["fields"])
    assert fields == {'spec.limits["nvidia.com/gpu"]': ("64", "4")}, fields
    assert "    spec.resourceGroups[0].flavors[0].resources[1].nominalQuota: \"2\" -> \"4\"" in report["drift"]["lines"]
    # the report wrote nothing
    assert cqs.get(name=cq_name).to_dict()["spec"]["resourceGroups"][0]["flavors"][0]["resources"][1]["nominalQuota"] == "2"

    fixed = ansible.module("cluster_plan", plan)
    assert fixed["summary"]["updated"] == 3, fixed["summary"]
    assert cqs.get(name=cq_name).to_dict()["spec"]["resourceGroups"][0]["flavors"][0]["resources"][1]["nominalQuota"] == "4"
    assert pools.get(name="np-" + sfx).to_dict()["spec"]["limits"]["nvidia.com/gpu"] == "4"
    assert nss.get(name="plan-" + sfx).to_dict()["metadata"]["labels"]["gpuaas.io/team"] == "t-" + sfx
    clean = ansible.module("cluster_plan", dict(plan, fail_on_drift=True), check=True)
    assert clean["drift"]["drifted"] == 0


def test_prune_deletes_only_what_the_plan_owns(ansible, dyn, plans, sfx, core_v1):
    plan = plans.track(base_plan(sfx, cluster_queues=3))
    ns = "plan-" + sfx
    plan["local_queues"].append({"name": "busy-" + sfx, "namespace": ns, "cluster_queue": plan["cluster_queues"][1]["name"]})
    ansible.module("cluster_plan", plan)
    # another plan's queue, and a twin made by hand (same labels but part-of) in the same namespace
    other = plans.track({"name": "other-" + sfx, "local_queues": [
        {"name": "theirs-" + sfx, "namespace": ns, "cluster_queue": plan["cluster_queues"][0]["name"]}]})
    ansible.module("cluster_plan", other)
    # an object of one plan declared by another: refused (it would flip between them), nothing written
    grab = dict(other, local_queues=other["local_queues"] + [plan["local_queues"][0]])
    refused = ansible.module("cluster_plan", grab, fail_ok=True)
    assert refused.get("failed") is True and "belongs to another plan" in refused["msg"], refused["msg"]
    assert get(dyn, KUEUE, "LocalQueue", "lq-" + sfx, ns)["metadata"]["labels"]["gpuaas.io/plan"] == "p-" + sfx
    lqs = dyn.resources.get(api_version=KUEUE, kind="LocalQueue")
    lqs.create(namespace=ns, body={"apiVersion": KUEUE, "kind": "LocalQueue", "metadata": {
        "name": "twin-" + sfx, "namespace": ns,
        "labels": {"gpuaas.io/plan": "p-" + sfx, "app.kubernetes.io/managed-by": "gpuaas-orchestration"}},
        "spec": {"clusterQueue": plan["cluster_queues"][0]["name"]}})
    # a job waiting in busy-<sfx> (its ClusterQueue has no node for it: it stays pending or admitted)
    jobs = dyn.resources.get(api_version="batch/v1", kind="Job")
    jobs.create(namespace=ns, body={"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": "waiting", "namespace": ns, "labels": {"kueue.x-k8s.io/queue-name": "busy-" + sfx}},
        "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "c", "image": "x", "resources": {"requests": {"cpu": "1"}}}]}}}})
    wls = dyn.resources.get(api_version=KUEUE, kind="Workload")
    wait_until("the job's Workload", lambda: wls.get(namespace=ns).to_dict()["items"], 60)

    # the plan without the third ClusterQueue, the busy LocalQueue and the Role
    smaller = dict(plan, cluster_queues=[plan["cluster_queues"][0], plan["cluster_queues"][1]],
                   local_queues=[plan["local_queues"][0]], manifests=[plan["manifests"][0]], prune=True)
    refused = ansible.module("cluster_plan", smaller, fail_ok=True)
    assert refused.get("failed") is True
    assert "busy-" + sfx in refused["msg"], refused["msg"]
    assert get(dyn, KUEUE, "LocalQueue", "busy-" + sfx, ns) is not None
    assert get(dyn, KUEUE, "ClusterQueue", plan["cluster_queues"][2]["name"]) is not None, "nothing is half-applied"

    check = ansible.module("cluster_plan", dict(smaller, force=True), check=True)
    pruned = sorted(check["pruned"])
    assert pruned == sorted(["ClusterQueue/" + plan["cluster_queues"][2]["name"], "LocalQueue/%s/busy-%s" % (ns, sfx),
                             "Role/%s/submitter" % ns]), pruned
    assert get(dyn, KUEUE, "LocalQueue", "busy-" + sfx, ns) is not None
    assert all(o["cause"] == "no longer in the plan" for o in check["drift"]["objects"] if o["action"] == "deleted")

    done = ansible.module("cluster_plan", dict(smaller, force=True))
    assert sorted(done["pruned"]) == pruned
    # children first: the LocalQueue before the ClusterQueues
    deleted = [r["ref"] for r in done["results"] if r["action"] == "deleted"]
    assert deleted.index("LocalQueue/%s/busy-%s" % (ns, sfx)) < deleted.index("ClusterQueue/" + plan["cluster_queues"][2]["name"])
    assert get(dyn, KUEUE, "LocalQueue", "busy-" + sfx, ns) is None
    assert get(dyn, KUEUE, "ClusterQueue", plan["cluster_queues"][2]["name"]) is None
    assert get(dyn, "rbac.authorization.k8s.io/v1", "Role", "submitter", ns) is None
    # never touched: the hand-made twin (no part-of label) and the other plan's queue
    assert get(dyn, KUEUE, "LocalQueue", "twin-" + sfx, ns) is not None
    assert get(dyn, KUEUE, "LocalQueue", "theirs-" + sfx, ns) is not None
    # the parent no longer lists the Role kind
    parent = get(dyn, "v1", "ConfigMap", "gpuaas-plan-p-" + sfx, "kube-system")
    assert "Role.rbac.authorization.k8s.io" not in parent["metadata"]["annotations"][
        "applyset.kubernetes.io/contains-group-kinds"]
    rerun = ansible.module("cluster_plan", dict(smaller, force=True))
    assert rerun["changed"] is False and rerun["pruned"] == []
    lqs.delete(name="twin-" + sfx, namespace=ns)
    jobs.delete(name="waiting", namespace=ns, propagation_policy="Background")


def test_one_bad_entry_among_many_writes_nothing(ansible, write_counter, dyn, sfx):
    plan = base_plan(sfx, cluster_queues=30)
    plan["cluster_queues"][17]["resource_groups"][0]["flavors"][0]["resources"][1]["nominal_quota"] = "4x"
    plan["local_queues"].append({"name": "lq2-" + sfx, "namespace": "plan-" + sfx})
    res, writes = write_counter.during(RESOURCES, lambda: ansible.module("cluster_plan", plan, fail_ok=True), mine=sfx)
    assert res.get("failed") is True
    fields = [e["field"] for e in res["errors"]]
    assert "cluster_queues[17].resource_groups[0].flavors[0].resources[1].nominal_quota" in fields, fields
    assert "local_queues[1].cluster_queue" in fields, fields
    assert sum(writes.values()) == 0, writes
    assert get(dyn, "v1", "Namespace", "plan-" + sfx) is None
    assert get(dyn, KUEUE, "ClusterQueue", "cq0-" + sfx) is None


def test_a_paused_pool_stays_paused_when_the_plan_runs(ansible, write_counter, dyn, plans, sfx):
    plan = plans.track(base_plan(sfx))
    plan["nodepools"][0]["disruption"] = {"consolidation_policy": "WhenEmpty", "consolidate_after": "5m",
                                          "budgets": [{"nodes": "10%"}]}
    ansible.module("cluster_plan", plan)
    ansible.module("karpenter_disruption", {"action": "pause", "nodepool": "np-" + sfx, "reason": "maintenance"})
    pools = dyn.resources.get(api_version="karpenter.sh/v1", kind="NodePool")
    paused = pools.get(name="np-" + sfx).to_dict()["spec"]["disruption"]["budgets"]
    assert paused != [{"nodes": "10%"}], paused
    # the plan again: the pause is not drift, nothing is written, the pool stays paused
    rerun, writes = write_counter.during(["nodepools"], lambda: ansible.module("cluster_plan", plan), mine=sfx)
    assert rerun["changed"] is False and writes == {"nodepools": 0}, (rerun["drift"], writes)
    assert pools.get(name="np-" + sfx).to_dict()["spec"]["disruption"]["budgets"] == paused
    # a changed plan while paused: saved for resume, the pause kept
    plan["nodepools"][0]["disruption"]["budgets"] = [{"nodes": "2"}]
    changed = ansible.module("cluster_plan", plan)
    assert changed["summary"]["updated"] == 1
    assert pools.get(name="np-" + sfx).to_dict()["spec"]["disruption"]["budgets"] == paused
    ansible.module("karpenter_disruption", {"action": "resume", "nodepool": "np-" + sfx})
    assert pools.get(name="np-" + sfx).to_dict()["spec"]["disruption"]["budgets"] == [{"nodes": "2"}]
    final = ansible.module("cluster_plan", plan)
    assert final["changed"] is False, final["drift"]
