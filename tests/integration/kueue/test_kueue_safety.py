"""Safety: quota cuts below usage, removal of a flavor in use, deletes of queues with workloads
fail naming the workloads unless force: true."""
from kueue_helpers import make_queues, wait_admitted, wait_pending


def _cq_args(cq, flavors):
    return {"name": cq, "resource_groups": [{"flavors": [
        {"name": f, "resources": [{"name": "cpu", "nominal_quota": q}]} for f, q in flavors]}]}


def test_quota_cut_and_flavor_removal(ansible, namespace, kq, sfx):
    cq, lq, (f0, f1) = make_queues(ansible, kq, sfx, namespace, cpu=2, flavors=2)
    kq.create_job(namespace, "job-a", lq, cpu="1500m")
    wl = wait_admitted(kq, namespace, "job-a")
    wl_ref = "%s/%s" % (namespace, wl["metadata"]["name"])
    used_flavor = wl["status"]["admission"]["podSetAssignments"][0]["flavors"]["cpu"]
    assert used_flavor == f0
    before = kq.written_state("ClusterQueue", cq)

    # cut below the 1500m in use: refused in check mode and in real mode, naming the workload
    cut = _cq_args(cq, [(f0, 1), (f1, 2)])
    for check in (True, False):
        r = ansible.module("kueue_cluster_queue", cut, check=check, fail_ok=True)
        assert r.get("failed"), r
        assert "spec.resourceGroups[0].flavors[0].resources[0].nominalQuota" in r["msg"]
        assert "below the 1500m in use" in r["msg"] and wl_ref in r["msg"] and "force" in r["msg"], r["msg"]
        assert r["affected"] == [wl_ref]
    assert kq.written_state("ClusterQueue", cq) == before
    # raising a quota and cutting one nobody uses are fine
    r = ansible.module("kueue_cluster_queue", _cq_args(cq, [(f0, 3), (f1, 1)]))
    assert r["changed"]

    # removing the flavor the workload uses
    r = ansible.module("kueue_cluster_queue", _cq_args(cq, [(f1, 2)]), fail_ok=True)
    assert r.get("failed") and ("flavor %r is removed but admitted workloads use it" % f0) in r["msg"]
    assert wl_ref in r["msg"]
    assert [f["name"] for f in kq.get("ClusterQueue", cq)["spec"]["resourceGroups"][0]["flavors"]] == [f0, f1]

    # deleting a flavor a queue uses
    r = ansible.module("kueue_resource_flavor", {"name": f0, "state": "absent"}, fail_ok=True)
    assert r.get("failed") and cq in r["msg"] and wl_ref in r["msg"]
    assert kq.get("ResourceFlavor", f0) is not None

    # with force the cut goes through
    r = ansible.module("kueue_cluster_queue", dict(cut, force=True), diff=True)
    assert r["changed"]
    assert r["diff"]["after"]["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] == "1"
    assert kq.get("ClusterQueue", cq)["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] == "1"
    r = ansible.module("kueue_cluster_queue", dict(_cq_args(cq, [(f1, 2)]), force=True))
    assert r["changed"]
    assert [f["name"] for f in kq.get("ClusterQueue", cq)["spec"]["resourceGroups"][0]["flavors"]] == [f1]


def test_delete_queues_with_workloads(ansible, namespace, kq, sfx):
    cq, lq = make_queues(ansible, kq, sfx, namespace, cpu=1)[:2]
    kq.create_job(namespace, "job-a", lq, cpu=1)
    wl_a = wait_admitted(kq, namespace, "job-a")
    kq.create_job(namespace, "job-b", lq, cpu=1)
    wl_b = wait_pending(kq, namespace, "job-b")
    refs = sorted("%s/%s" % (namespace, w["metadata"]["name"]) for w in (wl_a, wl_b))

    r = ansible.module("kueue_local_queue", {"name": lq, "namespace": namespace, "state": "absent"}, fail_ok=True)
    assert r.get("failed") and "1 admitted/reserving and 1 pending" in r["msg"], r["msg"]
    assert sorted(r["affected"]) == refs
    assert kq.get("LocalQueue", lq, namespace) is not None

    for check in (True, False):
        r = ansible.module("kueue_cluster_queue", {"name": cq, "state": "absent"}, check=check, fail_ok=True)
        assert r.get("failed") and all(ref in r["msg"] for ref in refs), (check, r["msg"])
        assert sorted(r["affected"]) == refs
        live = kq.get("ClusterQueue", cq)
        assert live is not None and not live["metadata"].get("deletionTimestamp")

    r = ansible.module("kueue_local_queue", {"name": lq, "namespace": namespace, "state": "absent", "force": True})
    assert r["changed"] and r["operation"] == "deleted"
    kq.wait("LocalQueue gone", lambda: kq.get("LocalQueue", lq, namespace) is None, 20)
    r = ansible.module("kueue_cluster_queue", {"name": cq, "state": "absent", "force": True})
    assert r["changed"] and r["operation"] == "deleted"
    # Kueue keeps its finalizer while job-a still holds quota: the object is terminating
    live = kq.get("ClusterQueue", cq)
    assert live is None or live["metadata"].get("deletionTimestamp")


def test_options_not_given_keep_live_quotas(ansible, namespace, kq, sfx):
    """A call that leaves resource_groups out (say, to set a stop policy) keeps the live quotas:
    server-side apply would otherwise drop the fields this field manager applied before."""
    cq, lq = make_queues(ansible, kq, sfx, namespace, cpu=2)[:2]
    kq.create_job(namespace, "job-a", lq, cpu=1)
    wait_admitted(kq, namespace, "job-a")
    groups = kq.get("ClusterQueue", cq)["spec"]["resourceGroups"]

    r = ansible.module("kueue_cluster_queue", {"name": cq, "cohort": "c-" + sfx, "wait": True, "wait_timeout": 30},
                       diff=True)
    assert r["changed"] and r["operation"] == "updated", r
    assert r["diff"]["after"]["spec"]["resourceGroups"] == groups
    live = kq.get("ClusterQueue", cq)
    assert live["spec"]["cohortName"] == "c-" + sfx and live["spec"]["resourceGroups"] == groups
    rv = live["metadata"]["generation"]
    r = ansible.module("kueue_cluster_queue", {"name": cq, "cohort": "c-" + sfx})
    assert not r["changed"], r
    assert kq.get("ClusterQueue", cq)["metadata"]["generation"] == rv
    assert kq.get("ClusterQueue", cq)["spec"]["resourceGroups"] == groups
