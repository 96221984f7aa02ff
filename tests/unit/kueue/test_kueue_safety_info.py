"""Safety decisions and info summaries from Kueue objects (pure; objects shaped as the API returns them)."""
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import info as kinfo
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import safety as ksafe


def wl(name, ns="t", cq=None, queue="lq", flavor="f", cpu="1", reserved=True, finished=False, priority=0,
       created="2026-01-01T00:00:00Z"):
    conds = []
    if reserved:
        conds += [{"type": "QuotaReserved", "status": "True"}, {"type": "Admitted", "status": "True"}]
    if finished:
        conds.append({"type": "Finished", "status": "True"})
    obj = {"metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
           "spec": {"queueName": queue, "priority": priority}, "status": {"conditions": conds}}
    if reserved:
        obj["status"]["admission"] = {"clusterQueue": cq, "podSetAssignments": [
            {"name": "main", "flavors": {"cpu": flavor}, "resourceUsage": {"cpu": cpu}, "count": 1}]}
    return obj


def cq_obj(name, quotas, reservation=None):
    return {"metadata": {"name": name}, "spec": {"resourceGroups": [{"coveredResources": ["cpu"], "flavors": [
        {"name": f, "resources": [{"name": "cpu", "nominalQuota": q}]} for f, q in quotas]}]},
        "status": {"flavorsReservation": [{"name": f, "resources": [{"name": "cpu", "total": t}]}
                                          for f, t in (reservation or [])]}}


def test_quota_cut_below_usage():
    live = cq_obj("q", [("f", "4")], reservation=[("f", "3")])
    wls = [wl("a", cq="q", cpu="2"), wl("b", cq="q", cpu="1"), wl("c", cq="other", cpu="5"), wl("d", cq="q", finished=True)]
    errs = ksafe.cluster_queue_update_safety(cq_obj("q", [("f", "2")]), live, wls)
    assert len(errs) == 1
    e = errs[0]
    assert e.field == "spec.resourceGroups[0].flavors[0].resources[0].nominalQuota" and e.value == "2"
    assert "below the 3 in use" in str(e) and e.affected == ["t/a", "t/b"]
    assert ksafe.cluster_queue_update_safety(cq_obj("q", [("f", "3")]), live, wls) == []
    # raising is always fine, even when usage is above the new value (borrowing)
    live2 = cq_obj("q", [("f", "1")], reservation=[("f", "3")])
    assert ksafe.cluster_queue_update_safety(cq_obj("q", [("f", "2")]), live2, wls) == []


def test_flavor_removal_in_use():
    live = cq_obj("q", [("f", "4"), ("g", "4")], reservation=[("f", "1"), ("g", "0")])
    wls = [wl("a", cq="q", flavor="f")]
    errs = ksafe.cluster_queue_update_safety(cq_obj("q", [("g", "4")]), live, wls)
    assert len(errs) == 1 and "flavor 'f' is removed" in str(errs[0]) and errs[0].affected == ["t/a"]
    assert ksafe.cluster_queue_update_safety(cq_obj("q", [("f", "4")]), live, wls) == []


def test_delete_safety():
    lqs = [{"metadata": {"name": "lq", "namespace": "t"}, "spec": {"clusterQueue": "q"}}]
    wls = [wl("a", cq="q"), wl("b", reserved=False), wl("c", reserved=False, queue="other"), wl("d", cq="q", finished=True)]
    errs = ksafe.cluster_queue_delete_safety("q", {"status": {}}, wls, lqs)
    assert errs and errs[0].affected == ["t/a", "t/b"] and "1 admitted/reserving and 1 pending" in str(errs[0])
    assert ksafe.cluster_queue_delete_safety("q", None, wls, lqs) == []
    assert ksafe.cluster_queue_delete_safety("empty", {"status": {}}, wls, lqs) == []
    errs = ksafe.local_queue_delete_safety("t", "lq", {}, wls)
    assert errs[0].affected == ["t/a", "t/b"]
    assert ksafe.local_queue_delete_safety("t", "none", {}, wls) == []
    cqs = [cq_obj("q", [("f", "1")])]
    errs = ksafe.flavor_delete_safety("f", {}, cqs, wls)
    assert errs and "ClusterQueue/q" in errs[0].affected and "t/a" in errs[0].affected
    assert ksafe.flavor_delete_safety("zz", {}, cqs, wls) == []


def test_pending_positions_computed():
    lqs = [{"metadata": {"name": "lq", "namespace": "t"}, "spec": {"clusterQueue": "q"}},
           {"metadata": {"name": "lq2", "namespace": "u"}, "spec": {"clusterQueue": "q"}}]
    wls = [wl("run", cq="q"),
           wl("old", reserved=False, created="2026-01-01T00:00:01Z"),
           wl("new", reserved=False, created="2026-01-01T00:00:05Z"),
           wl("vip", ns="u", queue="lq2", reserved=False, priority=100, created="2026-01-01T00:00:09Z")]
    out = kinfo.compute_pending_positions("q", wls, lqs)
    assert [(p["name"], p["position_in_cluster_queue"], p["position_in_local_queue"]) for p in out] == [
        ("vip", 0, 0), ("old", 1, 0), ("new", 2, 1)]


def test_summaries():
    cq = cq_obj("q", [("f", "4")])
    cq["spec"]["cohortName"] = "c"
    cq["status"] = {"admittedWorkloads": 2, "reservingWorkloads": 2, "pendingWorkloads": 1,
                    "flavorsUsage": [{"name": "f", "resources": [{"name": "cpu", "total": "5", "borrowed": "1"}]}],
                    "flavorsReservation": [{"name": "f", "resources": [{"name": "cpu", "total": "5", "borrowed": "1"}]}],
                    "conditions": [{"type": "Active", "status": "True", "reason": "Ready", "message": "Can admit new workloads"}]}
    s = kinfo.summarize_cluster_queue(cq)
    assert s["active"] is True and s["active_reason"] == "Ready" and s["borrowing"] is True
    assert s["flavors"] == [{"name": "f", "resources": [{"name": "cpu", "nominal_quota": "4", "borrowing_limit": None,
                                                         "lending_limit": None, "usage": "5", "reservation": "5",
                                                         "borrowed": "1"}]}]
    assert (s["admitted_workloads"], s["reserving_workloads"], s["pending_workloads"]) == (2, 2, 1)
    lq = {"metadata": {"name": "lq", "namespace": "t"}, "spec": {"clusterQueue": "q"},
          "status": {"admittedWorkloads": 1, "flavorsUsage": [{"name": "f", "resources": [{"name": "cpu", "total": "1"}]}]}}
    s = kinfo.summarize_local_queue(lq)
    assert s["flavors"] == [{"name": "f", "resources": [{"name": "cpu", "usage": "1", "reservation": "0"}]}]
    assert s["active"] is None and s["stop_policy"] == "None"
