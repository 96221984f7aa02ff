"""The kueue_queues role applies a whole plan; a second run changes nothing; check mode writes nothing."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "kueue_queues.yml"


def changed_count(doc):
    return sum(s.get("changed", 0) for s in doc.get("stats", {}).values())


def plan_result(doc):
    """The result of the role's single kueue_plan task."""
    found = [h for p in doc["plays"] for t in p["tasks"] for h in t["hosts"].values()
             if isinstance(h.get("summary"), dict)]
    assert len(found) == 1, "the role must call kueue_plan exactly once"
    return found[0]


def changed_objects(doc):
    s = plan_result(doc)["summary"]
    return s["created"] + s["updated"] + s["deleted"]


def test_queue_plan(ansible, kq, sfx, namespace):
    flavor, cohort, cq, wpc = "pf-" + sfx, "pco-" + sfx, "pcq-" + sfx, "pwpc-" + sfx
    for kind, name in (("ResourceFlavor", flavor), ("Cohort", cohort), ("WorkloadPriorityClass", wpc),
                       ("ClusterQueue", cq)):
        kq.track(kind, name)
    plan = {
        "kueue_queues_flavors": [{"name": flavor, "node_labels": {"gpuaas.io/pool": "train-a100"}}],
        "kueue_queues_cohorts": [{"name": cohort}],
        "kueue_queues_priority_classes": [{"name": wpc, "value": 100}],
        "kueue_queues_cluster_queues": [{"name": cq, "cohort": cohort, "resource_groups": [
            {"flavors": [{"name": flavor, "resources": [{"name": "nvidia.com/gpu", "nominal_quota": 8,
                                                         "borrowing_limit": 4}]}]}]}],
        "kueue_queues_local_queues": [{"name": "train", "namespace": namespace, "cluster_queue": cq}],
    }
    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=plan)
    assert changed_count(doc) == 1
    assert changed_objects(doc) == 5
    assert kq.cond(kq.get("ClusterQueue", cq), "Active")
    assert kq.cond(kq.get("LocalQueue", "train", namespace), "Active")
    refs = [("ClusterQueue", cq), ("LocalQueue", "train", namespace), ("ResourceFlavor", flavor)]
    rvs = kq.settled_rvs(refs)

    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=plan)
    assert changed_count(doc) == 0
    assert plan_result(doc)["summary"]["unchanged"] == 5
    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=plan, check=True)
    assert changed_count(doc) == 0
    assert rvs == [kq.rv(*ref) for ref in refs]

    # check mode with a LocalQueue in a namespace an earlier task would create: "would be created"
    later = dict(plan, kueue_queues_local_queues=plan["kueue_queues_local_queues"] + [
        {"name": "train", "namespace": "later-" + sfx, "cluster_queue": cq}])
    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=later, check=True)
    assert rc == 0 and plan_result(doc)["summary"]["created"] == 1
    assert kq.get("LocalQueue", "train", "later-" + sfx) is None

    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=dict(plan, kueue_queues_state="absent"))
    assert changed_objects(doc) == 5
    assert [r["kind"] for r in plan_result(doc)["results"]] == [
        "LocalQueue", "ClusterQueue", "WorkloadPriorityClass", "Cohort", "ResourceFlavor"]
    kq.wait("plan objects gone", lambda: kq.get("ClusterQueue", cq) is None
            and kq.get("LocalQueue", "train", namespace) is None and kq.get("ResourceFlavor", flavor) is None, 30)
