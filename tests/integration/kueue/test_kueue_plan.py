"""kueue_plan: a whole queue plan in one module run, against the live cluster.

Create (labelled, dependency order) -> rerun with no write and reads bounded by the number of kinds
(waits answered by the objects in hand) -> check mode of a modified plan writes nothing and reports
the would-be updates (a LocalQueue in a namespace that does not exist yet included) -> an invalid
entry among valid ones writes nothing and names the entry and option -> prune removes only the
objects of this plan that the plan no longer has -> absent deletes everything, children first.
"""
import copy

from kueue_helpers import wait_admitted

PLAN_LABEL = "gpuaas.io/plan"
MANAGED = ("app.kubernetes.io/managed-by", "gpuaas-orchestration")


def make_plan(sfx, namespace):
    flavors = ["kpf%d-%s" % (i, sfx) for i in range(2)]
    cohort = "kpco-" + sfx
    cqs = []
    for i in range(3):
        cqs.append({
            "name": "kpcq%d-%s" % (i, sfx),
            "cohort": cohort,
            "resource_groups": [{"covered_resources": ["cpu", "nvidia.com/gpu"], "flavors": [
                {"name": flavors[0], "resources": [{"name": "cpu", "nominal_quota": 8},
                                                   {"name": "nvidia.com/gpu", "nominal_quota": 4, "borrowing_limit": 4}]},
                {"name": flavors[1], "resources": [{"name": "cpu", "nominal_quota": "4"},
                                                   {"name": "nvidia.com/gpu", "nominal_quota": 2}]},
            ]}],
            "preemption": {"reclaim_within_cohort": "Any", "within_cluster_queue": "LowerPriority"},
        })
    return {
        "name": "kp-" + sfx,
        "wait": True,
        "wait_timeout": 30,
        "resource_flavors": [{"name": f, "node_labels": {"gpuaas.io/pool": f}} for f in flavors],
        "cohorts": [{"name": cohort}],
        "workload_priority_classes": [{"name": "kpwpc-" + sfx, "value": 100}],
        "cluster_queues": cqs,
        "local_queues": [{"name": "lq%d" % i, "namespace": namespace, "cluster_queue": cqs[i]["name"]}
                         for i in range(3)],
    }


def refs(plan):
    out = [("ResourceFlavor", f["name"], None) for f in plan["resource_flavors"]]
    out += [("Cohort", c["name"], None) for c in plan["cohorts"]]
    out += [("WorkloadPriorityClass", w["name"], None) for w in plan["workload_priority_classes"]]
    out += [("ClusterQueue", q["name"], None) for q in plan["cluster_queues"]]
    out += [("LocalQueue", q["name"], q["namespace"]) for q in plan["local_queues"]]
    return out


def track(kq, plan):
    for kind, name, ns in refs(plan):
        kq.track(kind, name, ns)


def versions(kq, plan):
    return dict(((kind, name, ns), kq.written_state(kind, name, ns)) for kind, name, ns in refs(plan))


def test_plan_create_rerun_check_invalid_prune_absent(ansible, kq, sfx, namespace):
    plan = make_plan(sfx, namespace)
    track(kq, plan)
    n = len(refs(plan))

    # 1. create: every object, in dependency order, labelled with the plan
    res = ansible.module("kueue_plan", plan)
    assert res["changed"] is True
    assert res["summary"]["created"] == n, res["summary"]
    # 5 reads, n writes, and the waits for Active polled per kind (a LIST per round), at most
    # as many requests as one GET per queue
    waited = len(plan["cluster_queues"]) + len(plan["local_queues"])
    assert res["api_calls"] <= 5 + n + waited, res["api_calls"]
    kinds = [r["kind"] for r in res["results"]]
    assert kinds == sorted(kinds, key=["ResourceFlavor", "Cohort", "WorkloadPriorityClass", "ClusterQueue",
                                       "LocalQueue"].index)
    for kind, name, ns in refs(plan):
        obj = kq.get(kind, name, ns)
        assert obj is not None, (kind, name)
        labels = obj["metadata"]["labels"]
        assert labels[PLAN_LABEL] == plan["name"] and labels[MANAGED[0]] == MANAGED[1]
    for q in plan["cluster_queues"]:
        assert kq.cond(kq.get("ClusterQueue", q["name"]), "Active")
    for q in plan["local_queues"]:
        assert kq.cond(kq.get("LocalQueue", q["name"], namespace), "Active")
    before = versions(kq, plan)

    # 2. rerun: nothing written; one read per kind (5 kinds); the queues' waits answered by the
    #    objects in hand; no Workload LIST (no quota drops)
    res = ansible.module("kueue_plan", plan)
    assert res["changed"] is False
    assert res["summary"]["unchanged"] == n
    assert res["api_calls"] <= 5, res["api_calls"]
    assert res["waits_avoided"] == len(plan["cluster_queues"]) + len(plan["local_queues"])
    assert versions(kq, plan) == before

    # 3. check mode + diff of a modified plan: the would-be updates reported, nothing written,
    #    a LocalQueue in a namespace that does not exist yet reported as "would be created"
    changed = copy.deepcopy(plan)
    changed["cluster_queues"][1]["resource_groups"][0]["flavors"][0]["resources"][0]["nominal_quota"] = 16
    missing_ns = "kp-missing-" + sfx
    changed["local_queues"].append({"name": "later", "namespace": missing_ns,
                                    "cluster_queue": plan["cluster_queues"][0]["name"]})
    res = ansible.module("kueue_plan", changed, check=True, diff=True)
    assert res["changed"] is True
    actions = dict((r["ref"], r["action"]) for r in res["results"])
    assert actions["ClusterQueue/" + plan["cluster_queues"][1]["name"]] == "updated"
    assert actions["LocalQueue/%s/later" % missing_ns] == "created"
    assert res["summary"]["updated"] == 1 and res["summary"]["created"] == 1
    assert any(missing_ns in w for w in res["api_warnings"]), res["api_warnings"]
    assert len(res["diff"]) == 2
    assert versions(kq, plan) == before
    assert kq.get("LocalQueue", "later", missing_ns) is None

    # 4. one invalid entry among many valid ones: nothing written, every problem named
    bad = copy.deepcopy(changed)
    bad["local_queues"].pop()
    bad["cluster_queues"][2]["resource_groups"][0]["flavors"][1]["resources"][1]["nominal_quota"] = "12x"
    bad["local_queues"][1]["name"] = "Not_A_Name"
    res = ansible.module("kueue_plan", bad, fail_ok=True)
    assert res.get("failed")
    msg = res["msg"]
    assert "cluster_queues[2].resource_groups[0].flavors[1].resources[1].nominal_quota" in msg, msg
    assert "ClusterQueue/" + plan["cluster_queues"][2]["name"] in msg
    assert "local_queues[1].name" in msg, msg
    assert len(res["errors"]) == 2
    assert versions(kq, plan) == before

    # 5. prune: drop cq2 and lq2 from the plan; an object of another plan and an unlabelled one stay
    other = kq.track("ClusterQueue", "kpother-" + sfx)
    unlabelled = kq.track("ClusterQueue", "kpfree-" + sfx)
    ansible.module("kueue_plan", {"name": "kp-other-" + sfx, "cluster_queues": [{"name": other}]})
    ansible.module("kueue_cluster_queue", {"name": unlabelled})
    smaller = copy.deepcopy(plan)
    smaller["prune"] = True
    gone_cq = smaller["cluster_queues"].pop()
    gone_lq = smaller["local_queues"].pop()
    res = ansible.module("kueue_plan", smaller, check=True)
    assert res["changed"] is True and sorted(res["pruned"]) == sorted(
        ["ClusterQueue/" + gone_cq["name"], "LocalQueue/%s/%s" % (namespace, gone_lq["name"])])
    assert kq.get("ClusterQueue", gone_cq["name"]) is not None
    res = ansible.module("kueue_plan", smaller)
    assert res["summary"]["deleted"] == 2 and res["summary"]["unchanged"] == n - 2
    # children first: the LocalQueue is deleted before its ClusterQueue
    deleted = [r["ref"] for r in res["results"] if r["action"] == "deleted"]
    assert deleted == ["LocalQueue/%s/%s" % (namespace, gone_lq["name"]), "ClusterQueue/" + gone_cq["name"]]
    kq.wait("pruned objects gone", lambda: kq.get("ClusterQueue", gone_cq["name"]) is None
            and kq.get("LocalQueue", gone_lq["name"], namespace) is None, 30)
    assert kq.get("ClusterQueue", other) is not None
    assert kq.get("ClusterQueue", unlabelled) is not None
    res = ansible.module("kueue_plan", smaller)
    assert res["changed"] is False and res["pruned"] == []

    # 6. absent: everything of the plan deleted, children first
    res = ansible.module("kueue_plan", dict(smaller, state="absent", prune=False))
    assert res["summary"]["deleted"] == n - 2
    assert [r["kind"] for r in res["results"]][:3] == ["LocalQueue", "LocalQueue", "ClusterQueue"]
    assert [r["kind"] for r in res["results"]][-2:] == ["ResourceFlavor", "ResourceFlavor"]
    kq.wait("plan objects gone", lambda: all(kq.get(kind, name, ns) is None for kind, name, ns in refs(smaller)), 60)
    assert kq.get("ClusterQueue", other) is not None


def test_plan_quota_cut_lists_workloads_once(ansible, kq, sfx, namespace):
    """Two queues of the plan cut their quota: the safety check lists Workloads once, not per queue;
    a cut below what an admitted workload reserves is refused with the entry named."""
    plan = make_plan(sfx, namespace)
    plan["wait"] = False
    track(kq, plan)
    ansible.module("kueue_plan", plan)
    cut = copy.deepcopy(plan)
    for i in (0, 1):
        cut["cluster_queues"][i]["resource_groups"][0]["flavors"][0]["resources"][0]["nominal_quota"] = 6
    res = ansible.module("kueue_plan", cut)
    assert res["summary"]["updated"] == 2
    # 5 kinds read + 1 Workload LIST (shared by the two cuts) + 2 writes
    assert res["api_calls"] == 5 + 1 + 2, res["api_calls"]

    # an admitted workload of cq0 reserving 2 cpu: a cut to 1 is refused, with force it goes
    kq.wait("cq0 Active", lambda: kq.cond(kq.get("ClusterQueue", plan["cluster_queues"][0]["name"]), "Active"), 30)
    kq.create_job(namespace, "j1", "lq0", cpu="2")
    wait_admitted(kq, namespace, "j1")
    cut2 = copy.deepcopy(cut)
    cut2["cluster_queues"][0]["resource_groups"][0]["flavors"][0]["resources"][0]["nominal_quota"] = 1
    res = ansible.module("kueue_plan", cut2, fail_ok=True)
    assert res.get("failed")
    assert "cluster_queues[0].resource_groups[0].flavors[0].resources[0].nominal_quota" in res["msg"], res["msg"]
    assert any("%s/" % namespace in a for a in res.get("affected", [])), res
    cut2["cluster_queues"][0]["force"] = True
    res = ansible.module("kueue_plan", cut2)
    assert res["summary"]["updated"] == 1


def test_plan_wait_timeout_names_the_queue(ansible, kq, sfx):
    """Waits of many queues are polled together (a LIST per round); the one that never becomes
    Active (its flavor does not exist) fails the run, named, with what was seen last."""
    flavor = kq.track("ResourceFlavor", "kwf-" + sfx)
    ok = kq.track("ClusterQueue", "kwok-" + sfx)
    ok2 = kq.track("ClusterQueue", "kwok2-" + sfx)
    broken = kq.track("ClusterQueue", "kwbroken-" + sfx)

    def queue(name, fl):
        return {"name": name, "resource_groups": [{"flavors": [{"name": fl, "resources": [{"name": "cpu", "nominal_quota": 1}]}]}]}

    res = ansible.module("kueue_plan", {"wait": True, "wait_timeout": 4, "resource_flavors": [{"name": flavor}],
                                        "cluster_queues": [queue(ok, flavor), queue(broken, "kwmissing-" + sfx),
                                                           queue(ok2, flavor)]}, fail_ok=True)
    assert res.get("failed")
    assert "ClusterQueue/%s to be Active" % broken in res["msg"], res["msg"]
    assert "Active=False" in res["msg"] and "FlavorNotFound" in res["msg"], res["msg"]
    assert kq.cond(kq.get("ClusterQueue", ok), "Active") and kq.cond(kq.get("ClusterQueue", ok2), "Active")
