"""The kueue_queues role applies a whole plan; a second run changes nothing; check mode writes nothing."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "kueue_queues.yml"


def changed_count(doc):
    return sum(s.get("changed", 0) for s in doc.get("stats", {}).values())


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
    assert changed_count(doc) == 5
    assert kq.cond(kq.get("ClusterQueue", cq), "Active")
    assert kq.cond(kq.get("LocalQueue", "train", namespace), "Active")
    rvs = [kq.rv("ClusterQueue", cq), kq.rv("LocalQueue", "train", namespace), kq.rv("ResourceFlavor", flavor)]

    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=plan)
    assert changed_count(doc) == 0
    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=plan, check=True)
    assert changed_count(doc) == 0
    assert rvs == [kq.rv("ClusterQueue", cq), kq.rv("LocalQueue", "train", namespace), kq.rv("ResourceFlavor", flavor)]

    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=dict(plan, kueue_queues_state="absent"))
    assert changed_count(doc) == 5
    kq.wait("plan objects gone", lambda: kq.get("ClusterQueue", cq) is None
            and kq.get("LocalQueue", "train", namespace) is None and kq.get("ResourceFlavor", flavor) is None, 30)
