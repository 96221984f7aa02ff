"""kueue_queue_info reports what the live objects show, including pending positions."""
import time

from kueue_helpers import make_queues, wait_admitted, wait_pending


def test_info_matches_live_objects(ansible, namespace, kq, sfx):
    cq, lq, (flavor,) = make_queues(ansible, kq, sfx, namespace, cpu=1)
    kq.create_job(namespace, "job-a", lq, cpu=1)
    wl_a = wait_admitted(kq, namespace, "job-a")
    kq.create_job(namespace, "job-b", lq, cpu=1)
    wl_b = wait_pending(kq, namespace, "job-b")
    time.sleep(1.1)  # creation timestamps have a 1s resolution: make the FIFO order unambiguous
    kq.create_job(namespace, "job-c", lq, cpu="500m")
    wl_c = wait_pending(kq, namespace, "job-c")

    def cq_counts():
        o = kq.get("ClusterQueue", cq)
        st = o.get("status") or {}
        return o if st.get("pendingWorkloads") == 2 and st.get("admittedWorkloads") == 1 else None

    def lq_counts():
        o = kq.get("LocalQueue", lq, namespace)
        return o if (o.get("status") or {}).get("pendingWorkloads") == 2 else None

    live = kq.wait("ClusterQueue status counts", cq_counts, 20)
    live_lq = kq.wait("LocalQueue status counts", lq_counts, 20)

    r = ansible.module("kueue_queue_info", {"name": [cq]})
    assert not r["changed"]
    assert [q["name"] for q in r["cluster_queues"]] == [cq]
    info = r["cluster_queues"][0]
    st = live["status"]
    assert info["admitted_workloads"] == st["admittedWorkloads"] == 1
    assert info["pending_workloads"] == st["pendingWorkloads"] == 2
    assert info["reserving_workloads"] == st["reservingWorkloads"]
    assert info["active"] is True and info["stop_policy"] == "None" and info["borrowing"] is False
    res = info["flavors"][0]["resources"][0]
    assert info["flavors"][0]["name"] == flavor and res["name"] == "cpu" and res["nominal_quota"] == "1"
    assert res["usage"] == st["flavorsUsage"][0]["resources"][0]["total"] == "1"
    assert res["reservation"] == st["flavorsReservation"][0]["resources"][0]["total"] == "1"

    # pending positions (visibility API or computed, said which)
    # the local cluster serves the visibility API; without it the module computes positions (unit-tested)
    assert r["pending_source"] == "visibility-api", r.get("visibility_error")
    pending = dict((p["name"], p) for p in info["pending"])
    assert set(pending) == {wl_b["metadata"]["name"], wl_c["metadata"]["name"]}
    assert pending[wl_b["metadata"]["name"]]["position_in_cluster_queue"] == 0
    assert pending[wl_c["metadata"]["name"]]["position_in_cluster_queue"] == 1
    assert pending[wl_c["metadata"]["name"]]["position_in_local_queue"] == 1
    assert pending[wl_b["metadata"]["name"]]["local_queue"] == lq

    lqs = [q for q in r["local_queues"] if q["namespace"] == namespace]
    assert len(lqs) == 1
    lqi = lqs[0]
    assert lqi["cluster_queue"] == cq and lqi["active"] is True
    assert lqi["admitted_workloads"] == live_lq["status"]["admittedWorkloads"] == 1
    assert lqi["pending_workloads"] == 2
    assert [p["name"] for p in lqi["pending"]] == [wl_b["metadata"]["name"], wl_c["metadata"]["name"]]
    assert wl_a["metadata"]["name"] not in [p["name"] for p in lqi["pending"]]

    # filters: by namespace only this namespace's queues; by cohort nothing (the queue has none)
    r = ansible.module("kueue_queue_info", {"namespace": namespace, "pending_workloads": False})
    assert [q["name"] for q in r["local_queues"]] == [lq] and r["pending_source"] == "none"
    r = ansible.module("kueue_queue_info", {"cohort": "no-such-" + sfx})
    assert r["cluster_queues"] == [] and r["local_queues"] == []
